//! `MANIFEST.json`: what a bundle holds — every file with its size, mode
//! and sha256 — and what it was made from, without any path of the
//! machine that made it.  File names are bytes; `name` says how one that
//! is not UTF-8 is written.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use super::{format, name, MANIFEST};
use crate::fail;

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
    /// Built with `--self-check`: its library shim checks the files it
    /// loads against this manifest first.  Written only when true, so
    /// that other bundles' manifests stay as they were.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub self_check: bool,
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

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PythonInfo {
    pub implementation: String,
    pub version: String,
    pub soabi: Option<String>,
    /// The file name of the interpreter's runtime library in `lib/` (the
    /// key keeps the name the first manifests gave it).
    #[serde(rename = "libpython")]
    pub runtime: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "FileEntry", into = "FileEntry")]
pub struct ManifestFile {
    /// The exact name, relative to the bundle's top.
    pub path: PathBuf,
    pub size: u64,
    pub mode: u32,
    pub sha256: String,
}

/// A file as the JSON spells it: its name escaped when it is not UTF-8.
#[derive(Serialize, Deserialize)]
struct FileEntry {
    path: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    escaped: bool,
    size: u64,
    mode: u32,
    sha256: String,
}

impl From<ManifestFile> for FileEntry {
    fn from(file: ManifestFile) -> FileEntry {
        let (path, escaped) = name::escape(&file.path);
        FileEntry {
            path,
            escaped,
            size: file.size,
            mode: file.mode,
            sha256: file.sha256,
        }
    }
}

impl TryFrom<FileEntry> for ManifestFile {
    type Error = anyhow::Error;

    fn try_from(entry: FileEntry) -> Result<ManifestFile> {
        Ok(ManifestFile {
            path: name::unescape(&entry.path, entry.escaped)?,
            size: entry.size,
            mode: entry.mode,
            sha256: entry.sha256,
        })
    }
}

impl Manifest {
    /// A manifest of no files yet: the write stage lists them as it
    /// writes them.
    pub fn new(
        module: &str,
        python: PythonInfo,
        compiler: &str,
        distributions: Vec<Distribution>,
        requires: Requires,
    ) -> Manifest {
        Manifest {
            embedpack: env!("CARGO_PKG_VERSION").to_string(),
            module: module.to_string(),
            python,
            compiler: compiler.to_string(),
            distributions,
            requires,
            self_check: false,
            files: Vec::new(),
        }
    }

    /// The manifest of the bundle at `bundle`, in any format.
    pub fn read(bundle: &Path) -> Result<Manifest> {
        let format = format::of(bundle);
        let bytes = format.read_one(bundle, MANIFEST)?.ok_or_else(|| {
            fail(
                format!(
                    "`{}` has no {MANIFEST}: it is not a bundle embedpack wrote",
                    bundle.display()
                ),
                format!(
                    "give the {} that embedpack build or pack wrote",
                    format::names()
                ),
            )
        })?;
        Manifest::parse(&bytes, bundle)
    }

    /// Reads the text of the manifest of the bundle at `bundle`.
    pub fn parse(bytes: &[u8], bundle: &Path) -> Result<Manifest> {
        serde_json::from_slice(bytes).with_context(|| {
            format!(
                "the {MANIFEST} of `{}` is not an embedpack manifest",
                bundle.display()
            )
        })
    }

    /// Lists `file` in its place in the order of paths.
    pub fn add_file(&mut self, file: ManifestFile) {
        let at = self.files.partition_point(|f| f.path < file.path);
        self.files.insert(at, file);
    }

    pub fn to_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).expect("a manifest always serializes");
        text.push('\n');
        text
    }
}
