//! `MANIFEST.json`: what a bundle holds — every file with its size, mode
//! and sha256 — and what it was made from, without any path of the
//! machine that made it.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    /// The embedpack version that wrote the bundle.
    pub embedpack: String,
    pub module: String,
    pub python: PythonInfo,
    /// The C compiler that built the plugin, as it names itself.
    pub compiler: String,
    /// The distributions in `site-packages/`.
    pub distributions: Vec<Distribution>,
    /// What the bundle needs from the machine it runs on.
    #[serde(default)]
    pub requires: Requires,
    pub files: Vec<ManifestFile>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Distribution {
    pub name: String,
    pub version: String,
}

/// What the bundle needs from the machine it runs on, as the link stage
/// found it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Requires {
    /// The newest symbol version any file needs from each system library
    /// family (`glibc`, `libstdc++`, `cxxabi`, `libgcc_s`): the oldest
    /// system the bundle runs on.
    pub versions: BTreeMap<String, String>,
    /// Libraries the host process provides (`--host-lib`), never bundled.
    pub host_libs: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct PythonInfo {
    pub implementation: String,
    pub version: String,
    pub soabi: Option<String>,
    pub libpython: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub size: u64,
    pub mode: u32,
    pub sha256: String,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Manifest> {
        let text =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        serde_json::from_slice(&text)
            .with_context(|| format!("`{}` is not an embedpack manifest", path.display()))
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest always serializes");
        text.push('\n');
        text
    }
}
