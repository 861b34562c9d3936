//! The distributions installed in one site directory, and which of its
//! files each one owns: what a `.dist-info`'s `RECORD` lists; for an
//! `.egg-info`, its `installed-files.txt`, else (as Debian's packages,
//! which list no files) its `top_level.txt` names.  A distribution also
//! owns its metadata folder and virtualenv's `<name>-<version>.virtualenv`
//! marker beside it.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use anyhow::{Context, Result};

/// Files that belong to a distribution listing no files, by its name.
const UNLISTED: &[(&str, &str)] = &[("setuptools", "distutils-precedence.pth")];

/// One distribution installed in a site directory.
#[derive(Debug)]
pub struct Distribution {
    /// The normalized name (`typing-extensions`).
    pub name: String,
    /// Its `.dist-info` or `.egg-info`, relative to the site directory.
    pub metadata: PathBuf,
    /// The names in its `top_level.txt`, if it has one.
    pub top_level: Vec<String>,
    owned: Owned,
}

#[derive(Debug)]
enum Owned {
    /// Paths relative to the site directory.
    Files(BTreeSet<PathBuf>),
    /// Everything under these top-level names.
    TopLevel(Vec<String>),
}

impl Distribution {
    /// Whether `relative` (a path under the site directory) is this
    /// distribution's.
    pub fn owns(&self, relative: &Path) -> bool {
        if relative.starts_with(&self.metadata) || relative == self.marker() {
            return true;
        }
        match &self.owned {
            Owned::Files(files) => files.contains(relative),
            Owned::TopLevel(names) => {
                let Some(Component::Normal(first)) = relative.components().next() else {
                    return false;
                };
                let first = first.to_string_lossy();
                let top = |name: &String| name.split('/').next().unwrap_or_default().to_string();
                names.iter().any(|name| provides(&top(name), &first))
                    || UNLISTED
                        .iter()
                        .any(|(dist, file)| *dist == self.name && relative == Path::new(file))
            }
        }
    }

    /// virtualenv's empty `<name>-<version>.virtualenv` marker.
    fn marker(&self) -> PathBuf {
        self.metadata.with_extension("virtualenv")
    }
}

/// Whether the top-level entry `entry` of a site directory is the module
/// or package `name`: `name/`, `name.py`, or an extension `name.*.so`.
pub fn provides(name: &str, entry: &str) -> bool {
    entry == name
        || entry
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix('.'))
            .is_some_and(|rest| rest == "py" || rest == "so" || rest.ends_with(".so"))
}

/// Every distribution in `site_dir`, sorted by metadata name.
pub fn read(site_dir: &Path) -> Result<Vec<Distribution>> {
    let mut found = Vec::new();
    let entries = std::fs::read_dir(site_dir)
        .with_context(|| format!("cannot read `{}`", site_dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot read `{}`", site_dir.display()))?;
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let stem = file_name
            .strip_suffix(".dist-info")
            .or_else(|| file_name.strip_suffix(".egg-info"));
        if let Some(stem) = stem {
            found.push(read_one(&entry.path(), &file_name, stem)?);
        }
    }
    found.sort_by(|a, b| a.metadata.cmp(&b.metadata));
    Ok(found)
}

fn read_one(path: &Path, file_name: &str, stem: &str) -> Result<Distribution> {
    let read_list = |name: &str| -> Result<Option<String>> {
        let list = path.join(name);
        if !list.is_file() {
            return Ok(None);
        }
        std::fs::read_to_string(&list)
            .map(Some)
            .with_context(|| format!("cannot read `{}`", list.display()))
    };
    let top_level: Vec<String> = read_list("top_level.txt")?
        .unwrap_or_default()
        .lines()
        .map(|l| l.trim().replace('\\', "/"))
        .filter(|l| !l.is_empty())
        .collect();
    let metadata = PathBuf::from(file_name);
    let owned = if let Some(record) = read_list("RECORD")? {
        Owned::Files(record_paths(&record).filter_map(|p| inside(&p)).collect())
    } else if let Some(installed) = read_list("installed-files.txt")? {
        // Relative to the .egg-info folder.
        let files = installed
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter_map(|l| inside(&format!("{file_name}/{}", l.trim())))
            .collect();
        Owned::Files(files)
    } else {
        Owned::TopLevel(top_level.clone())
    };
    Ok(Distribution {
        name: distribution_name(stem),
        metadata,
        top_level,
        owned,
    })
}

/// `path` made lexically normal, when it stays inside the site directory
/// (a `RECORD` also lists scripts as `../../../bin/pip`).
fn inside(path: &str) -> Option<PathBuf> {
    let mut normal = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => normal.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !normal.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(normal)
}

/// The normalized distribution name of a `name-version.dist-info` stem.
pub fn distribution_name(stem: &str) -> String {
    normalize(stem.split_once('-').map_or(stem, |(name, _)| name))
}

/// A distribution name as PEP 503 compares them: lower case, each run of
/// `-`, `_` and `.` made one `-`.
pub fn normalize(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
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
        assert_eq!(distribution_name("cryptography"), "cryptography");
        assert_eq!(normalize("Foo__Bar.-baz"), "foo-bar-baz");
    }

    #[test]
    fn top_level_names_provide_packages_modules_and_extensions() {
        assert!(provides("six", "six.py"));
        assert!(provides("yaml", "yaml"));
        assert!(provides("_yaml", "_yaml.cpython-311-x86_64-linux-gnu.so"));
        assert!(!provides("six", "sixty.py"));
        assert!(!provides("yaml", "yaml-6.0.dist-info"));
        assert!(!provides("apt", "apt_pkg.cpython-311-x86_64-linux-gnu.so"));
    }

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn owned_files_come_from_record_installed_files_or_top_level() {
        let site = tempfile::tempdir().unwrap();
        let site = site.path();
        write(
            &site.join("pip-23.0.dist-info/RECORD"),
            "../../../bin/pip,,\npip/__init__.py,sha256=x,1\npip-23.0.dist-info/RECORD,,\n",
        );
        write(
            &site.join("Legacy-1.0.egg-info/installed-files.txt"),
            "../legacy.py\nPKG-INFO\n",
        );
        write(&site.join("six-1.16.0.egg-info/top_level.txt"), "six\n");
        write(
            &site.join("setuptools-66.1.1.egg-info/top_level.txt"),
            "_distutils_hack\npkg_resources\nsetuptools\n",
        );
        let dists = read(site).unwrap();
        let names: Vec<&str> = dists.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["legacy", "pip", "setuptools", "six"]);
        let owner = |path: &str| {
            dists
                .iter()
                .filter(|d| d.owns(Path::new(path)))
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(owner("pip/__init__.py"), ["pip"]);
        assert_eq!(owner("pip/_vendor/unlisted.py"), Vec::<&str>::new());
        assert_eq!(owner("pip-23.0.dist-info/WHEEL"), ["pip"]);
        assert_eq!(owner("pip-23.0.virtualenv"), ["pip"]);
        assert_eq!(owner("legacy.py"), ["legacy"]);
        assert_eq!(owner("Legacy-1.0.egg-info/PKG-INFO"), ["legacy"]);
        assert_eq!(owner("six.py"), ["six"]);
        assert_eq!(owner("setuptools/dist.py"), ["setuptools"]);
        assert_eq!(owner("distutils-precedence.pth"), ["setuptools"]);
        assert_eq!(owner("unowned.py"), Vec::<&str>::new());
    }
}
