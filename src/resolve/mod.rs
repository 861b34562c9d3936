//! Resolve: find the Python environment to bundle, ask its interpreter,
//! once, everything the later stages need to know about it, and find the
//! runtime library it runs on (its backend says how).

pub(crate) mod pyvenv;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::backend::{self, Backend, Interpreter};
use crate::fail;

/// A virtualenv and what its interpreter said about itself.
pub struct Environment {
    pub venv: PathBuf,
    pub python: PathBuf,
    pub info: Interpreter,
    /// The backend of its Python implementation.
    pub backend: &'static dyn Backend,
    /// The shared runtime library the base interpreter was built with.
    pub runtime: PathBuf,
}

impl Environment {
    /// The runtime library's file name, which is also its SONAME.
    pub fn runtime_name(&self) -> String {
        self.runtime
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned()
    }
}

/// Finds the venv (the `explicit` one, with where it was given:
/// `--venv`; else `$VIRTUAL_ENV`, else `.venv` in one of the `nearby`
/// folders, each with how to name it: `beside the build script`) and
/// probes it.
pub fn resolve(explicit: Option<(&Path, &str)>, nearby: &[(&Path, &str)]) -> Result<Environment> {
    let venv = find_venv(explicit, nearby)?;
    let (python, made_with) = venv_python(&venv)?;
    let info = backend::probe(&python)?;
    let backend = backend::of(&info.kind).ok_or_else(|| {
        fail(
            format!(
                "`{}` runs {} {}; embedpack builds for CPython 3.8+ and PyPy 3.9+",
                venv.display(),
                info.kind.name(),
                info.version_text()
            ),
            "create the venv with a CPython 3.8+ or PyPy 3.9+ interpreter",
        )
    })?;
    backend.check(&venv, &info)?;
    check_made_with(&venv, made_with, &info)?;
    let runtime = backend.find_runtime(&venv, &info)?;
    Ok(Environment {
        venv,
        python,
        info,
        backend,
        runtime,
    })
}

fn find_venv(explicit: Option<(&Path, &str)>, nearby: &[(&Path, &str)]) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let candidates: Vec<(PathBuf, String)> = match explicit {
        Some((dir, origin)) => vec![(dir.to_path_buf(), origin.to_string())],
        None => std::env::var_os("VIRTUAL_ENV")
            .map(|v| (PathBuf::from(v), "$VIRTUAL_ENV".to_string()))
            .into_iter()
            .chain(
                nearby
                    .iter()
                    .map(|(dir, what)| (dir.join(".venv"), format!(".venv {what}"))),
            )
            .collect(),
    };
    for (dir, origin) in candidates {
        if dir.join("pyvenv.cfg").is_file() {
            return std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve `{}`", dir.display()));
        }
        if explicit.is_some() && dir.is_dir() {
            return Err(fail(
                format!(
                    "`{}` ({origin}) is not a virtualenv: it has no `pyvenv.cfg`",
                    dir.display()
                ),
                "pass the folder `python3 -m venv` made (it holds `pyvenv.cfg` and `bin/python`), \
                 or create one there with `python3 -m venv`",
            ));
        }
        tried.push(format!("`{}` ({origin})", dir.display()));
    }
    Err(fail(
        format!("no virtualenv found; tried {}", tried.join(", ")),
        "create one with `python3 -m venv .venv && .venv/bin/pip install cffi`, or pass --venv DIR",
    ))
}

/// The venv's interpreter, and the major.minor version its `pyvenv.cfg`
/// says it was made with.
fn venv_python(venv: &Path) -> Result<(PathBuf, Option<(u32, u32)>)> {
    let cfg_path = venv.join("pyvenv.cfg");
    let text = std::fs::read_to_string(&cfg_path)
        .with_context(|| format!("cannot read `{}`", cfg_path.display()))?;
    let cfg = pyvenv::parse(&text);
    if let Some(home) = cfg.get("home") {
        if !Path::new(home).is_dir() {
            return Err(fail(
                format!(
                    "the base Python of `{}` is gone: `{home}` does not exist",
                    venv.display()
                ),
                "recreate the venv with an installed Python",
            ));
        }
    }
    let python = ["python3", "python"]
        .iter()
        .map(|name| venv.join("bin").join(name))
        .find(|path| path.symlink_metadata().is_ok())
        .ok_or_else(|| {
            fail(
                format!("`{}` has no bin/python3", venv.display()),
                "the venv is broken or was moved; recreate it",
            )
        })?;
    if !python.exists() {
        let target = link_end(&python);
        return Err(fail(
            format!(
                "`{}` is a broken symbolic link: `{}` does not exist",
                python.display(),
                target.display()
            ),
            "the Python the venv was made with is gone or moved; recreate the venv with an installed Python",
        ));
    }
    Ok((python, pyvenv::made_with(&cfg)))
}

/// Where a chain of symbolic links from `link` ends (the first path that
/// is not a link), as far as 40 links.
fn link_end(link: &Path) -> PathBuf {
    let mut path = link.to_path_buf();
    for _ in 0..40 {
        match std::fs::read_link(&path) {
            Ok(target) => path = path.parent().unwrap_or(Path::new("/")).join(target),
            Err(_) => break,
        }
    }
    path
}

/// A venv whose base Python was replaced by another major.minor version
/// (its `home` upgraded in place) has its distributions in a site
/// directory the new interpreter does not read.
fn check_made_with(venv: &Path, made_with: Option<(u32, u32)>, info: &Interpreter) -> Result<()> {
    match made_with {
        Some((major, minor)) if (major, minor) != (info.version.0, info.version.1) => Err(fail(
            format!(
                "`{}` was made with Python {major}.{minor}, but its interpreter now runs {}",
                venv.display(),
                info.version_text()
            ),
            "its base Python was replaced; recreate the venv",
        )),
        _ => Ok(()),
    }
}
