//! Collect: plan every file of the bundle — the plugin, the interpreter's
//! runtime library and standard library, the venv's site-packages, the
//! user's app modules — as a sorted list of entries, without touching the output.  The plan can
//! be printed (`--dry-run`), tested and diffed.

mod app;
mod bytecode;
mod dev_files;
mod dist_info;
mod site;
mod stdlib;

pub use bytecode::compile as compile_bytecode;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::Plugin;
use crate::resolve::Environment;

/// Where one file of the bundle comes from.
#[derive(Debug)]
pub enum Source {
    File(PathBuf),
    Text(String),
}

/// One file of the bundle.
#[derive(Debug)]
pub struct Entry {
    /// The path inside the bundle.
    pub dest: PathBuf,
    pub source: Source,
    /// 0o755 or 0o644.
    pub mode: u32,
    pub size: u64,
}

/// Every file of the bundle, sorted by destination.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
}

/// What the user asked to keep or leave out.
pub struct Options {
    pub apps: Vec<PathBuf>,
    pub keep_stdlib: Vec<String>,
    pub keep_build_tools: bool,
    /// Distributions to leave out of site-packages (`--exclude`).
    pub exclude: Vec<String>,
}

pub fn plan(plugin: &Plugin, env: &Environment, options: &Options) -> Result<Plan> {
    let layout = &plugin.layout;
    let mut files = Files::default();
    files.add_file(&layout.plugin, &plugin.library)?;
    if let Some(header) = &plugin.header {
        files.add_text(&layout.header, header.clone());
        dev_files::collect(&mut files, layout, &plugin.module, &env.info.version_text());
    }
    if let Some((dest, source)) = &plugin.bootstrap {
        files.add_file(dest, source)?;
    }
    files.add_file(&layout.libdir.join(env.runtime_name()), &env.runtime)?;
    let stdlib = env.backend.stdlib(&env.info, &layout.home);
    stdlib::collect(&mut files, &stdlib, &options.keep_stdlib)?;
    let selection = site::Selection {
        keep_build_tools: options.keep_build_tools,
        exclude: &options.exclude,
    };
    site::collect(&mut files, env, layout, &selection)?;
    dist_info::normalize(&mut files, &layout.site)?;
    app::collect(&mut files, layout, &options.apps)?;
    Ok(files.into_plan())
}

/// The plan under construction; a later entry for the same destination
/// replaces an earlier one.
#[derive(Default)]
pub struct Files {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Files {
    pub fn add_file(&mut self, dest: &Path, source: &Path) -> Result<()> {
        let meta = std::fs::metadata(source)
            .with_context(|| format!("cannot read `{}`", source.display()))?;
        let mode = if meta.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        self.insert(Entry {
            dest: dest.to_path_buf(),
            source: Source::File(source.to_path_buf()),
            mode,
            size: meta.len(),
        });
        Ok(())
    }

    pub fn add_text(&mut self, dest: &Path, text: String) {
        self.insert(Entry {
            dest: dest.to_path_buf(),
            size: text.len() as u64,
            source: Source::Text(text),
            mode: 0o644,
        });
    }

    pub fn contains(&self, dest: &Path) -> bool {
        self.entries.contains_key(dest)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Keeps only the entries whose destination `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.entries.retain(|dest, _| keep(dest));
    }

    fn insert(&mut self, entry: Entry) {
        self.entries.insert(entry.dest.clone(), entry);
    }

    fn into_plan(self) -> Plan {
        Plan {
            entries: self.entries.into_values().collect(),
        }
    }
}

impl From<Plan> for Files {
    fn from(plan: Plan) -> Files {
        Files {
            entries: plan
                .entries
                .into_iter()
                .map(|e| (e.dest.clone(), e))
                .collect(),
        }
    }
}

/// A walker's error as the user should read it: a broken symbolic link
/// is named as such; anything else names the file and `what` was read.
pub fn walk_error(err: walkdir::Error, what: &str) -> anyhow::Error {
    let path = err.path().map(Path::to_path_buf);
    let broken_link = path.as_ref().is_some_and(|p| {
        p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
            && !p.exists()
    });
    match path {
        Some(path) if broken_link => crate::fail(
            format!("`{}` (in {what}) is a broken symbolic link", path.display()),
            "remove it, or point it at a file that exists",
        ),
        Some(path) => {
            let cause = err
                .into_io_error()
                .map_or("unreadable".to_string(), |e| e.to_string());
            anyhow::anyhow!("cannot read `{}` (in {what}): {cause}", path.display())
        }
        None => anyhow::anyhow!("cannot read {what}: {err}"),
    }
}

/// Directories never copied from anywhere.
pub fn is_noise_dir(name: &str) -> bool {
    matches!(
        name,
        "__pycache__" | ".git" | ".hg" | ".svn" | ".mypy_cache" | ".pytest_cache" | ".tox"
    )
}

/// Files never copied from anywhere: bytecode is either left out or
/// compiled reproducibly, never taken from a build machine's cache.
pub fn is_noise_file(name: &str) -> bool {
    name.ends_with(".pyc") || name.ends_with(".pyo")
}

impl Plan {
    /// The distributions under `site`, from their `<name>-<version>.dist-info`
    /// folders.
    pub fn distributions(&self, site: &Path) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .entries
            .iter()
            .filter_map(|e| e.dest.strip_prefix(site).ok()?.components().next())
            .filter_map(|c| c.as_os_str().to_str()?.strip_suffix(".dist-info"))
            .filter_map(|stem| stem.split_once('-'))
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .collect();
        found.dedup();
        found
    }

    /// How many files, and how many bytes, the plan puts under `dir`.
    pub fn size_under(&self, dir: &Path) -> (usize, u64) {
        self.entries
            .iter()
            .filter(|e| e.dest.starts_with(dir))
            .fold((0, 0), |(count, size), e| (count + 1, size + e.size))
    }

    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// One line per entry, then the size of each top-level part.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut parts: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for entry in &self.entries {
            let from = match &entry.source {
                Source::File(path) => path.display().to_string(),
                Source::Text(_) => "(generated)".to_string(),
            };
            out += &format!(
                "{:>10}  {}  <- {}\n",
                human_size(entry.size),
                entry.dest.display(),
                from
            );
            let top = entry
                .dest
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            let part = parts.entry(top.unwrap_or_default()).or_default();
            part.0 += 1;
            part.1 += entry.size;
        }
        out += "\n";
        for (name, (count, size)) in &parts {
            out += &format!("{:>10}  {name} ({count} files)\n", human_size(*size));
        }
        out += &format!(
            "{:>10}  total ({} files)\n",
            human_size(self.total_size()),
            self.entries.len()
        );
        out
    }
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
