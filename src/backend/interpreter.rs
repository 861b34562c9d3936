//! What an interpreter says about itself: `probe.py`, run once with
//! `python -I -B`, answers in JSON, read into `Interpreter`.  Its
//! implementation is a `Kind`, the key to its backend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::fail;

const PROBE: &str = include_str!("probe.py");

/// A Python implementation, as `sys.implementation.name` names it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum Kind {
    CPython,
    PyPy,
    Other(String),
}

impl From<String> for Kind {
    fn from(name: String) -> Kind {
        match name.as_str() {
            "cpython" => Kind::CPython,
            "pypy" => Kind::PyPy,
            _ => Kind::Other(name),
        }
    }
}

impl Kind {
    /// `sys.implementation.name`.
    pub fn name(&self) -> &str {
        match self {
            Kind::CPython => "cpython",
            Kind::PyPy => "pypy",
            Kind::Other(name) => name,
        }
    }
}

/// The probe's answer (see probe.py).
#[derive(Debug, Deserialize)]
pub struct Interpreter {
    #[serde(rename = "implementation")]
    pub kind: Kind,
    pub version: (u32, u32, u32),
    pub soabi: Option<String>,
    /// `sys.implementation.cache_tag`: the tag in bytecode file names.
    pub cache_tag: Option<String>,
    pub stdlib: PathBuf,
    pub include: PathBuf,
    pub libdir: Option<PathBuf>,
    pub multiarch: Option<String>,
    pub instsoname: Option<String>,
    /// sysconfig's `LDLIBRARY`: PyPy's shared library is named only here.
    #[serde(default)]
    pub ldlibrary: Option<String>,
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
    /// The top-level modules imported when the interpreter starts, before
    /// any code of its own runs (`site` and what it imports among them).
    #[serde(default)]
    pub startup_modules: Vec<String>,
}

impl Interpreter {
    pub fn version_text(&self) -> String {
        let (major, minor, micro) = self.version;
        format!("{major}.{minor}.{micro}")
    }
}

/// Runs the probe with `python`.
pub fn probe(python: &Path) -> Result<Interpreter> {
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
