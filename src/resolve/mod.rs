//! Resolve: find the Python environment to bundle and ask its interpreter,
//! once, everything the later stages need to know about it.

mod pyvenv;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::fail;

const PROBE: &str = include_str!("probe.py");

/// A virtualenv and what its interpreter said about itself.
#[derive(Debug)]
pub struct Environment {
    pub venv: PathBuf,
    pub python: PathBuf,
    pub info: Interpreter,
    /// The shared libpython the base interpreter was built with.
    pub libpython: PathBuf,
}

/// The probe's answer (see probe.py).
#[derive(Debug, Deserialize)]
pub struct Interpreter {
    pub implementation: String,
    pub version: (u32, u32, u32),
    pub soabi: Option<String>,
    pub stdlib: PathBuf,
    pub include: PathBuf,
    pub libdir: Option<PathBuf>,
    pub multiarch: Option<String>,
    pub instsoname: Option<String>,
    pub enable_shared: bool,
    pub dynload: Option<PathBuf>,
    pub site_dirs: Vec<PathBuf>,
    pub cffi: Option<String>,
}

impl Interpreter {
    /// `pythonX.Y`, the name of the standard library's folder.
    pub fn stdlib_name(&self) -> String {
        format!("python{}.{}", self.version.0, self.version.1)
    }

    pub fn version_text(&self) -> String {
        let (major, minor, micro) = self.version;
        format!("{major}.{minor}.{micro}")
    }
}

/// Finds the venv (`--venv`, else `$VIRTUAL_ENV`, else `.venv` beside the
/// build script) and probes it.
pub fn resolve(explicit: Option<&Path>, script_dir: &Path) -> Result<Environment> {
    let venv = find_venv(explicit, script_dir)?;
    let python = venv_python(&venv)?;
    let info = probe(&python)?;
    check_supported(&venv, &info)?;
    let libpython = find_libpython(&venv, &info)?;
    Ok(Environment {
        venv,
        python,
        info,
        libpython,
    })
}

fn find_venv(explicit: Option<&Path>, script_dir: &Path) -> Result<PathBuf> {
    let mut tried = Vec::new();
    let candidates: Vec<(PathBuf, &str)> = match explicit {
        Some(dir) => vec![(dir.to_path_buf(), "--venv")],
        None => std::env::var_os("VIRTUAL_ENV")
            .map(|v| (PathBuf::from(v), "$VIRTUAL_ENV"))
            .into_iter()
            .chain([(script_dir.join(".venv"), ".venv beside the build script")])
            .collect(),
    };
    for (dir, origin) in candidates {
        if dir.join("pyvenv.cfg").is_file() {
            return std::path::absolute(&dir)
                .with_context(|| format!("cannot resolve `{}`", dir.display()));
        }
        tried.push(format!("`{}` ({origin})", dir.display()));
    }
    Err(fail(
        format!("no virtualenv found; tried {}", tried.join(", ")),
        "create one with `python3 -m venv .venv && .venv/bin/pip install cffi`, or pass --venv DIR",
    ))
}

fn venv_python(venv: &Path) -> Result<PathBuf> {
    let cfg_path = venv.join("pyvenv.cfg");
    let text = std::fs::read_to_string(&cfg_path)
        .with_context(|| format!("cannot read `{}`", cfg_path.display()))?;
    if let Some(home) = pyvenv::parse(&text).get("home") {
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
    ["python3", "python"]
        .iter()
        .map(|name| venv.join("bin").join(name))
        .find(|path| path.exists())
        .ok_or_else(|| {
            fail(
                format!("`{}` has no bin/python3", venv.display()),
                "the venv is broken or was moved; recreate it",
            )
        })
}

fn probe(python: &Path) -> Result<Interpreter> {
    let output = Command::new(python)
        .args(["-I", "-B", "-c", PROBE])
        .output()
        .with_context(|| format!("cannot run `{}`", python.display()))?;
    if !output.status.success() {
        return Err(fail(
            format!(
                "`{}` failed to describe itself ({}): {}",
                python.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            "the venv's interpreter is broken or its base Python was removed; recreate the venv",
        ));
    }
    serde_json::from_slice(&output.stdout)
        .with_context(|| format!("cannot read what `{}` said about itself", python.display()))
}

fn check_supported(venv: &Path, info: &Interpreter) -> Result<()> {
    if info.implementation != "cpython" || info.version.0 != 3 || info.version.1 < 8 {
        return Err(fail(
            format!(
                "`{}` runs {} {}; embedpack builds for CPython 3.8 or newer",
                venv.display(),
                info.implementation,
                info.version_text()
            ),
            "create the venv with a CPython 3.8+ interpreter",
        ));
    }
    if info.cffi.is_none() {
        return Err(fail(
            format!("`{}` has no cffi installed", venv.display()),
            format!("run `{}/bin/pip install cffi`", venv.display()),
        ));
    }
    Ok(())
}

/// The libpython to bundle: `INSTSONAME` in `LIBDIR` (or its multiarch
/// subfolder, as on Debian).
fn find_libpython(venv: &Path, info: &Interpreter) -> Result<PathBuf> {
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
    let mut dirs = vec![libdir.clone()];
    if let Some(multiarch) = &info.multiarch {
        dirs.push(libdir.join(multiarch));
    }
    dirs.iter()
        .map(|dir| dir.join(soname))
        .find(|path| path.is_file())
        .ok_or_else(no_shared)
}
