//! The shared libpython a venv's base interpreter was built with: its
//! `INSTSONAME` in `LIBDIR`, or in `LIBDIR/MULTIARCH`.  pyenv puts it in
//! its own `lib/`; Debian links `/usr/bin/python3.X` statically but ships
//! `libpython3.X.so.1.0` in `/usr/lib/x86_64-linux-gnu`, which is both its
//! `LIBDIR` and the multiarch folder.  The library found must be the
//! interpreter's own major.minor version, by its file name and its ELF
//! `SONAME`: another one would load, then fail on the first import of an
//! extension module.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::backend::Interpreter;
use crate::{elf, fail};

/// Finds the libpython of `info`, the interpreter of `venv`.
pub fn find(venv: &Path, info: &Interpreter) -> Result<PathBuf> {
    let no_shared = || {
        fail(
            format!(
                "the base Python of `{}` has no shared libpython",
                venv.display()
            ),
            "embedding needs a Python built with --enable-shared (pyenv: \
             PYTHON_CONFIGURE_OPTS=--enable-shared; Debian: apt install libpython3.X)",
        )
    };
    let (Some(soname), Some(libdir)) = (&info.instsoname, &info.libdir) else {
        return Err(no_shared());
    };
    if !info.enable_shared || !soname.contains(".so") {
        return Err(no_shared());
    }
    let path = candidates(libdir, info.multiarch.as_deref(), soname)
        .into_iter()
        .find(|path| path.is_file())
        .ok_or_else(no_shared)?;
    check_version(&path, info)?;
    Ok(path)
}

/// Where `soname` may be: `libdir`, then its multiarch subfolder.
fn candidates(libdir: &Path, multiarch: Option<&str>, soname: &str) -> Vec<PathBuf> {
    let mut dirs = vec![libdir.to_path_buf()];
    if let Some(multiarch) = multiarch.filter(|m| !m.is_empty()) {
        dirs.push(libdir.join(multiarch));
    }
    dirs.iter().map(|dir| dir.join(soname)).collect()
}

/// Fails unless the file name and the `SONAME` of the library at `path`
/// both name the interpreter's major.minor version.
fn check_version(path: &Path, info: &Interpreter) -> Result<()> {
    let (major, minor, _) = info.version;
    let not_a_library = |e: anyhow::Error| {
        fail(
            format!("`{}` is not a shared library: {e:#}", path.display()),
            "reinstall the base Python's shared library",
        )
    };
    let library = elf::read_file(path)
        .map_err(not_a_library)?
        .ok_or_else(|| not_a_library(anyhow::anyhow!("no dynamic section")))?;
    let soname = library.soname.as_deref();
    let file_name = path.file_name().unwrap_or_default().to_string_lossy();
    let names = [Some(file_name.as_ref()), soname];
    for name in names.into_iter().flatten() {
        match version_of(name) {
            Some(found) if found == (major, minor) => {}
            found => {
                let is = found.map_or("no libpython".to_string(), |(a, b)| {
                    format!("libpython{a}.{b}")
                });
                return Err(fail(
                    format!(
                        "`{}` (SONAME `{}`) is {is}, but the venv's Python is {}",
                        path.display(),
                        soname.unwrap_or("none"),
                        info.version_text()
                    ),
                    format!(
                        "the base Python's LIBDIR holds another Python's library; \
                         reinstall Python {major}.{minor} with its shared libpython"
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// The major.minor in a name like `libpython3.11.so.1.0` or
/// `libpython3.13t.so`.
pub fn version_of(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("libpython")?;
    let (major, rest) = rest.split_once('.')?;
    let digits = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    let minor = &rest[..digits];
    if minor.is_empty() {
        return None;
    }
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn interpreter(libdir: &Path, multiarch: Option<&str>, soname: &str) -> Interpreter {
        let json = serde_json::json!({
            "implementation": "cpython",
            "version": [3, 11, 2],
            "cache_tag": "cpython-311",
            "soabi": null,
            "stdlib": "/usr/lib/python3.11",
            "include": "/usr/include/python3.11",
            "libdir": libdir,
            "multiarch": multiarch,
            "instsoname": soname,
            "enable_shared": true,
            "dynload": null,
            "site_dirs": [],
            "cffi": "2.0.0",
        });
        serde_json::from_value(json).unwrap()
    }

    /// A real shared library (this machine's libc) under another name.
    fn fake_library(path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let libc = ["/lib/x86_64-linux-gnu/libc.so.6", "/lib64/libc.so.6"]
            .into_iter()
            .find(|p| Path::new(p).is_file())
            .unwrap();
        std::fs::copy(libc, path).unwrap();
    }

    #[test]
    fn reads_major_minor_from_library_names() {
        assert_eq!(version_of("libpython3.11.so.1.0"), Some((3, 11)));
        assert_eq!(version_of("libpython3.13t.so"), Some((3, 13)));
        assert_eq!(version_of("libpython3.9d.so.1.0"), Some((3, 9)));
        assert_eq!(version_of("libpython3.so"), None);
        assert_eq!(version_of("libc.so.6"), None);
    }

    #[test]
    fn looks_in_libdir_then_its_multiarch_folder() {
        let dir = tempfile::tempdir().unwrap();
        let found = candidates(dir.path(), Some("x86_64-linux-gnu"), "libpython3.11.so.1.0");
        assert_eq!(
            found,
            [
                dir.path().join("libpython3.11.so.1.0"),
                dir.path().join("x86_64-linux-gnu/libpython3.11.so.1.0")
            ]
        );
    }

    #[test]
    fn a_library_that_is_not_this_python_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let soname = "libpython3.11.so.1.0";
        fake_library(&dir.path().join("x86_64-linux-gnu").join(soname));
        let info = interpreter(dir.path(), Some("x86_64-linux-gnu"), soname);
        // Found in the multiarch folder, but its SONAME is libc's.
        let err = format!("{:#}", find(Path::new("/v"), &info).unwrap_err());
        assert!(err.contains("SONAME `libc.so.6`) is no libpython"), "{err}");
        assert!(err.contains("Python is 3.11.2"), "{err}");
    }

    #[test]
    fn a_python_without_libpython_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut info = interpreter(dir.path(), None, "libpython3.11.so.1.0");
        let err = format!("{:#}", find(Path::new("/v"), &info).unwrap_err());
        assert!(err.contains("has no shared libpython"), "{err}");
        info.instsoname = Some("libpython3.11.a".into());
        let err = format!("{:#}", find(Path::new("/v"), &info).unwrap_err());
        assert!(err.contains("has no shared libpython"), "{err}");
    }

    #[test]
    fn debian_python_finds_its_multiarch_libpython() {
        let debian = Path::new("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0");
        if !debian.is_file() {
            return; // tests/run.sh installs libpython3.11; `cargo test --lib` may run without
        }
        let info = interpreter(
            Path::new("/usr/lib"),
            Some("x86_64-linux-gnu"),
            "libpython3.11.so.1.0",
        );
        assert_eq!(find(Path::new("/v"), &info).unwrap(), debian);
        let mut newer = info;
        newer.version = (3, 12, 1);
        let err = format!("{:#}", find(Path::new("/v"), &newer).unwrap_err());
        assert!(
            err.contains("is libpython3.11, but the venv's Python is 3.12.1"),
            "{err}"
        );
    }
}
