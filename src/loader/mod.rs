//! The one model of the dynamic loader: where ld.so looks for a library
//! named in `DT_NEEDED`, in its order — the requesting object's `DT_RPATH`
//! and its loaders' (unless the object has a `DT_RUNPATH`),
//! `LD_LIBRARY_PATH`, the object's `DT_RUNPATH`, then the system's
//! directories (`/etc/ld.so.conf` and the defaults; ld.so reads them from
//! its cache) — and what the target machine is assumed to have
//! (`allowlist`).  `$ORIGIN` is the requesting file's directory; a file of
//! the bundle has two: where it was read from, and where it goes in the
//! bundle.  The link stage, `verify` and `inspect` all ask here.

pub mod allowlist;

use std::path::{Component, Path, PathBuf};

use crate::elf;

/// One object asking for a library.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub rpath: Option<&'a str>,
    pub runpath: Option<&'a str>,
    /// `$ORIGIN` on this machine: the folder of the file read, if any.
    pub host_dir: Option<&'a Path>,
    /// `$ORIGIN` in the bundle, for a file of the bundle.
    pub bundle_dir: Option<&'a Path>,
}

/// A `DT_RPATH` up an object's loading chain, with the folder its
/// `$ORIGIN` stands for on this machine.
pub type Inherited = (PathBuf, String);

/// The directories ld.so searches, in its order, for a library that
/// `object` needs; `loaders` are the `DT_RPATH`s of the objects that led
/// to it, nearest first, and `system` this machine's directories (none,
/// to ask what the bundle alone provides).
pub fn search_order(
    object: &Requester,
    loaders: &[Inherited],
    system: Option<&System>,
) -> Vec<Dir> {
    let own = |path: Option<&str>| match path {
        Some(path) => expand(path, object.host_dir, object.bundle_dir),
        None => Vec::new(),
    };
    let host = |d: &PathBuf| Dir {
        host: Some(d.clone()),
        bundle: None,
    };
    let mut dirs = Vec::new();
    if object.runpath.is_none() {
        dirs.extend(own(object.rpath));
        for (origin, rpath) in loaders {
            dirs.extend(expand(rpath, Some(origin), None));
        }
    }
    if let Some(system) = system {
        dirs.extend(system.ld_library_path.iter().map(host));
    }
    dirs.extend(own(object.runpath));
    if let Some(system) = system {
        dirs.extend(system.dirs.iter().map(host));
    }
    dirs
}

/// ld.so's built-in directories on x86-64 Debian and most distributions.
const DEFAULT_DIRS: &[&str] = &[
    "/lib/x86_64-linux-gnu",
    "/usr/lib/x86_64-linux-gnu",
    "/lib64",
    "/usr/lib64",
    "/lib",
    "/usr/lib",
];
const LD_SO_CONF: &str = "/etc/ld.so.conf";
/// `include` lines nested deeper than this are ignored.
const MAX_INCLUDE_DEPTH: usize = 8;

/// The directories of this machine, searched after an object's own paths.
pub struct System {
    pub ld_library_path: Vec<PathBuf>,
    pub dirs: Vec<PathBuf>,
}

impl System {
    pub fn from_host() -> System {
        let ld_library_path = std::env::var("LD_LIBRARY_PATH")
            .unwrap_or_default()
            .split([':', ';'])
            .filter(|d| d.starts_with('/'))
            .map(PathBuf::from)
            .collect();
        let mut dirs = Vec::new();
        read_conf(Path::new(LD_SO_CONF), 0, &mut dirs);
        dirs.extend(DEFAULT_DIRS.iter().map(PathBuf::from));
        let mut seen = std::collections::HashSet::new();
        dirs.retain(|d| seen.insert(d.clone()));
        System {
            ld_library_path,
            dirs,
        }
    }
}

/// Appends the directories `/etc/ld.so.conf` names, following `include`.
fn read_conf(path: &Path, depth: usize, dirs: &mut Vec<PathBuf>) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return;
    };
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        if let Some(pattern) = line.strip_prefix("include") {
            if depth < MAX_INCLUDE_DEPTH {
                for file in glob(path.parent().unwrap_or(Path::new("/")), pattern.trim()) {
                    read_conf(&file, depth + 1, dirs);
                }
            }
        } else if line.starts_with('/') {
            // An old syntax allows `DIR=TYPE`.
            dirs.push(PathBuf::from(line.split('=').next().unwrap_or(line)));
        }
    }
}

/// The files matching `pattern`, which may hold `*` in its last
/// component only (as ld.so.conf files do), sorted.
fn glob(base: &Path, pattern: &str) -> Vec<PathBuf> {
    let pattern = base.join(pattern);
    let (Some(dir), Some(name)) = (pattern.parent(), pattern.file_name()) else {
        return Vec::new();
    };
    let name = name.to_string_lossy();
    let Some((prefix, suffix)) = name.split_once('*') else {
        return vec![pattern.clone()];
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.len() >= prefix.len() + suffix.len() && n.starts_with(prefix) && n.ends_with(suffix)
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    files
}

/// One directory ld.so would search: on this machine, and, for a file
/// of the bundle with an `$ORIGIN` path, inside the bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dir {
    pub host: Option<PathBuf>,
    pub bundle: Option<PathBuf>,
}

/// The directories of one search path string (`a:$ORIGIN/b`), with
/// `$ORIGIN` expanded against `source_dir` on this machine and against
/// `bundle_dir` in the bundle.  Entries ld.so would resolve against the
/// working directory, or with other `$` tokens, are left out.
fn expand(path: &str, source_dir: Option<&Path>, bundle_dir: Option<&Path>) -> Vec<Dir> {
    let mut dirs = Vec::new();
    for entry in path.split([':', ';']).filter(|e| !e.is_empty()) {
        let entry = entry.replace("${ORIGIN}", "$ORIGIN");
        if let Some(rest) = entry.strip_prefix("$ORIGIN") {
            if rest.contains('$') || !(rest.is_empty() || rest.starts_with('/')) {
                continue;
            }
            let rest = rest.trim_start_matches('/');
            dirs.push(Dir {
                host: source_dir.map(|d| d.join(rest)),
                bundle: bundle_dir.and_then(|b| normalize(&b.join(rest))),
            });
        } else if entry.starts_with('/') && !entry.contains('$') {
            dirs.push(Dir {
                host: Some(PathBuf::from(entry)),
                bundle: None,
            });
        }
    }
    dirs
}

/// `path` (relative to the bundle's top) with `.` and `..` resolved;
/// `None` when it leaves the bundle.
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(c) => out.push(c),
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Whether `path` is a library ld.so would accept here: a 64-bit x86-64
/// ELF file (ld.so skips files of another class or machine).
pub fn is_loadable(path: &Path) -> bool {
    use std::io::Read;
    let mut header = [0u8; 64];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok()
        && elf::is_supported(&header)
}

/// `$ORIGIN`-relative spelling of `to` as seen from `from` (both
/// directories relative to the bundle's top).
pub fn origin_relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to: Vec<_> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = vec!["..".to_string(); from.len() - common];
    parts.extend(
        to[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    if parts.is_empty() {
        "$ORIGIN".to_string()
    } else {
        format!("$ORIGIN/{}", parts.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_expands_on_the_host_and_in_the_bundle() {
        let dirs = expand(
            "$ORIGIN/../numpy.libs:/opt/x:${ORIGIN}:relative:$LIB/x",
            Some(Path::new("/venv/site-packages/numpy/core")),
            Some(Path::new("site-packages/numpy/core")),
        );
        assert_eq!(
            dirs,
            [
                Dir {
                    host: Some("/venv/site-packages/numpy/core/../numpy.libs".into()),
                    bundle: Some("site-packages/numpy/numpy.libs".into()),
                },
                Dir {
                    host: Some("/opt/x".into()),
                    bundle: None,
                },
                Dir {
                    host: Some("/venv/site-packages/numpy/core/".into()),
                    bundle: Some("site-packages/numpy/core".into()),
                },
            ]
        );
    }

    #[test]
    fn origin_paths_that_leave_the_bundle_are_not_in_it() {
        let dirs = expand(
            "$ORIGIN/../../..",
            Some(Path::new("/a/b")),
            Some(Path::new("x/y")),
        );
        assert_eq!(dirs[0].bundle, None);
    }

    #[test]
    fn relative_spelling_between_bundle_directories() {
        let lib = Path::new("lib");
        assert_eq!(origin_relative(Path::new(""), lib), "$ORIGIN/lib");
        assert_eq!(origin_relative(lib, lib), "$ORIGIN");
        assert_eq!(
            origin_relative(Path::new("python/lib/python3.11/lib-dynload"), lib),
            "$ORIGIN/../../../../lib"
        );
        assert_eq!(
            origin_relative(
                Path::new("site-packages/numpy/core"),
                Path::new("site-packages/numpy.libs")
            ),
            "$ORIGIN/../../numpy.libs"
        );
    }

    #[test]
    fn ld_so_conf_includes_are_followed() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("ld.so.conf");
        let confd = dir.path().join("ld.so.conf.d");
        std::fs::create_dir(&confd).unwrap();
        std::fs::write(
            &conf,
            "# comment\ninclude ld.so.conf.d/*.conf\n/opt/first\n",
        )
        .unwrap();
        std::fs::write(confd.join("b.conf"), "/opt/b # trailing\n").unwrap();
        std::fs::write(confd.join("a.conf"), "/opt/a\nrelative\n").unwrap();
        std::fs::write(confd.join("ignored.txt"), "/opt/ignored\n").unwrap();
        let mut dirs = Vec::new();
        read_conf(&conf, 0, &mut dirs);
        assert_eq!(
            dirs,
            [
                PathBuf::from("/opt/a"),
                "/opt/b".into(),
                "/opt/first".into()
            ]
        );
    }
}
