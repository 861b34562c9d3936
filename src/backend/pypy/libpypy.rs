//! libpypy, the shared library a PyPy interpreter runs on:
//! `libpypy3.X-c.so` (sysconfig's `LDLIBRARY`).  PyPy's own builds keep it
//! beside the executable (which has `RUNPATH $ORIGIN/`); Debian puts it in
//! the multiarch folder.  It has no `SONAME`, so a plugin links it by name
//! (`-l:libpypy3.X-c.so`): linked by path, its `DT_NEEDED` would be the
//! build machine's path.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::backend::Interpreter;
use crate::fail;

/// Finds the libpypy of `info`, the interpreter of `venv`.
pub fn find(venv: &Path, info: &Interpreter) -> Result<PathBuf> {
    let (major, minor, _) = info.version;
    let name = info
        .ldlibrary
        .clone()
        .filter(|n| version_of(n) == Some((major, minor)))
        .unwrap_or_else(|| format!("libpypy{major}.{minor}-c.so"));
    let executable = std::fs::canonicalize(venv.join("bin/python")).ok();
    let mut dirs: Vec<PathBuf> = executable
        .as_deref()
        .and_then(Path::parent)
        .map(|bin| vec![bin.to_path_buf(), bin.join("../lib")])
        .unwrap_or_default();
    if let Some(libdir) = &info.libdir {
        dirs.push(libdir.clone());
    }
    if let Some(multiarch) = info.multiarch.as_deref().filter(|m| !m.is_empty()) {
        for root in ["/usr/lib", "/lib"] {
            dirs.push(Path::new(root).join(multiarch));
        }
    }
    dirs.push(PathBuf::from("/usr/lib"));
    dirs.iter()
        .map(|dir| dir.join(&name))
        .find(|path| path.is_file())
        .ok_or_else(|| {
            fail(
                format!(
                    "the PyPy of `{}` has no `{name}` in {}",
                    venv.display(),
                    dirs.iter()
                        .map(|d| format!("`{}`", d.display()))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "embedding needs PyPy's shared library (Debian: apt install pypy3 pypy3-dev)",
            )
        })
}

/// The Python major.minor in a name like `libpypy3.9-c.so`.
pub fn version_of(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("libpypy")?;
    let (version, _) = rest.split_once("-c.so")?;
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// How the plugin links libpypy: by its file name, from its folder.
pub fn link_args(runtime: &Path) -> Vec<String> {
    let dir = runtime.parent().unwrap_or(Path::new("."));
    let name = runtime.file_name().unwrap_or_default().to_string_lossy();
    vec![format!("-L{}", dir.display()), format!("-l:{name}")]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_major_minor_from_library_names() {
        assert_eq!(version_of("libpypy3.9-c.so"), Some((3, 9)));
        assert_eq!(version_of("libpypy3.10-c.so"), Some((3, 10)));
        assert_eq!(version_of("libpypy3-c.so"), None);
        assert_eq!(version_of("libpython3.9.so.1.0"), None);
    }

    #[test]
    fn links_by_file_name() {
        let args = link_args(Path::new("/usr/lib/x86_64-linux-gnu/libpypy3.9-c.so"));
        assert_eq!(args, ["-L/usr/lib/x86_64-linux-gnu", "-l:libpypy3.9-c.so"]);
    }
}
