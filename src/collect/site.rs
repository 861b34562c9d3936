//! The venv's site-packages, less the build tools (pip, setuptools,
//! wheel) unless asked.  Each distribution's `RECORD` says which files are
//! its own; files no distribution owns are carried as they are.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::{is_noise_dir, is_noise_file, Files};
use crate::layout::Layout;
use crate::resolve::Environment;

/// Distributions that build and install, but never run in a bundle.
const BUILD_TOOLS: &[&str] = &["pip", "setuptools", "wheel"];

pub fn collect(
    files: &mut Files,
    env: &Environment,
    layout: &Layout,
    keep_build_tools: bool,
) -> Result<()> {
    let mut seen = BTreeSet::new();
    for dir in &env.info.site_dirs {
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("cannot read `{}`", dir.display()))?;
        if !seen.insert(canonical) {
            continue; // lib64 -> lib
        }
        let left_out = if keep_build_tools {
            BTreeSet::new()
        } else {
            build_tool_files(dir)?
        };
        let walker = WalkDir::new(dir)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        for item in walker.filter_entry(|e| !is_noise_dir(&e.file_name().to_string_lossy())) {
            let item =
                item.with_context(|| format!("cannot read site-packages at `{}`", dir.display()))?;
            let relative = item.path().strip_prefix(dir).unwrap_or(item.path());
            if item.file_type().is_file()
                && !is_noise_file(&item.file_name().to_string_lossy())
                && !left_out.contains(relative)
            {
                files.add_file(&layout.site.join(relative), item.path())?;
            }
        }
    }
    Ok(())
}

/// Every file that pip, setuptools or wheel installed into `site_dir`.
fn build_tool_files(site_dir: &Path) -> Result<BTreeSet<PathBuf>> {
    let mut owned = BTreeSet::new();
    let entries = std::fs::read_dir(site_dir)
        .with_context(|| format!("cannot read `{}`", site_dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read `{}`", site_dir.display()))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".dist-info") else {
            continue;
        };
        if !BUILD_TOOLS.contains(&distribution_name(stem).as_str()) {
            continue;
        }
        let record = entry.path().join("RECORD");
        let text = std::fs::read_to_string(&record)
            .with_context(|| format!("cannot read `{}`", record.display()))?;
        owned.extend(record_paths(&text).map(PathBuf::from));
        owned.insert(PathBuf::from(&name).join("RECORD"));
    }
    Ok(owned)
}

/// The normalized distribution name of a `name-version.dist-info` stem.
pub fn distribution_name(stem: &str) -> String {
    let name = stem.split_once('-').map_or(stem, |(name, _)| name);
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The paths listed in a `RECORD` (CSV: path, hash, size).
pub fn record_paths(text: &str) -> impl Iterator<Item = String> + '_ {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(first_csv_field)
}

fn first_csv_field(line: &str) -> String {
    let Some(quoted) = line.strip_prefix('"') else {
        return line.split(',').next().unwrap_or_default().to_string();
    };
    let mut field = String::new();
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, chars.peek()) {
            ('"', Some('"')) => {
                field.push('"');
                chars.next();
            }
            ('"', _) => break,
            _ => field.push(c),
        }
    }
    field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_record_paths_including_quoted_ones() {
        let record = "pip/__init__.py,sha256=abc,123\n\"odd,name.py\",sha256=x,1\n\"say \"\"hi\"\".py\",,\n\n";
        let paths: Vec<String> = record_paths(record).collect();
        assert_eq!(paths, ["pip/__init__.py", "odd,name.py", "say \"hi\".py"]);
    }

    #[test]
    fn normalizes_distribution_names() {
        assert_eq!(distribution_name("setuptools-69.0.2"), "setuptools");
        assert_eq!(distribution_name("Zope.Interface-6.1"), "zope-interface");
        assert_eq!(
            distribution_name("typing_extensions-4.9.0"),
            "typing-extensions"
        );
    }
}
