//! Resolve: find the Python environment to bundle and ask its interpreter,
//! once, everything the later stages need to know about it.

mod libpython;
mod pyvenv;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::bundle::Home;
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
    /// The site directories, in `sys.path` order: the venv's own first,
    /// then (with `include-system-site-packages = true`) the base's.
    pub site_dirs: Vec<PathBuf>,
    /// setuptools' editable finder modules in the site dirs, each with its
    /// `MAPPING` (top-level name -> source path), None when unreadable.
    #[serde(default)]
    pub editable_finders: BTreeMap<PathBuf, Option<BTreeMap<String, PathBuf>>>,
    pub cffi: Option<String>,
}

impl Interpreter {
    /// `pythonX.Y`, the name of the standard library's folder.
    pub fn stdlib_name(&self) -> String {
        format!("python{}.{}", self.version.0, self.version.1)
    }

    /// Where this interpreter's home goes in a bundle.
    pub fn home(&self) -> Home {
        let prefix = PathBuf::from("python");
        let stdlib = prefix.join("lib").join(self.stdlib_name());
        Home {
            extensions: Some(stdlib.join("lib-dynload")),
            stdlib,
            prefix,
        }
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
    let (python, made_with) = venv_python(&venv)?;
    let info = probe(&python)?;
    check_supported(&venv, &info)?;
    check_made_with(&venv, made_with, &info)?;
    let libpython = libpython::find(&venv, &info)?;
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
        .find(|path| path.exists())
        .ok_or_else(|| {
            fail(
                format!("`{}` has no bin/python3", venv.display()),
                "the venv is broken or was moved; recreate it",
            )
        })?;
    Ok((python, pyvenv::made_with(&cfg)))
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
