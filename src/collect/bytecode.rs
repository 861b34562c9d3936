//! Bytecode: every `.py` file of the plan compiled by the bundle's own
//! interpreter into an unchecked hash-based `.pyc` (PEP 552) beside it.
//! Such files do not depend on file times, record only in-bundle paths,
//! and spare the plugin from compiling every module at each start (the
//! bundle is read-only: Python writes no bytecode into it).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::{Files, Plan, Source};

const COMPILER: &str = include_str!("bytecode.py");

/// The compiled files, kept in a temporary folder until written.
pub struct Bytecode {
    _dir: tempfile::TempDir,
    /// Sources that did not compile (they are bundled without bytecode).
    pub skipped: Vec<String>,
}

/// Compiles every `.py` entry of `plan` with `python` and adds the `.pyc`
/// files to the plan.
pub fn compile(plan: &mut Plan, python: &Path) -> Result<Bytecode> {
    let dir = tempfile::Builder::new()
        .prefix("embedpack-pyc-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let files: Vec<(PathBuf, String)> = plan
        .entries
        .iter()
        .filter(|e| e.dest.extension().is_some_and(|x| x == "py"))
        .filter_map(|e| match &e.source {
            Source::File(path) => Some((path.clone(), e.dest.to_string_lossy().into_owned())),
            Source::Text(_) => None,
        })
        .collect();
    let request = serde_json::json!({ "out": dir.path(), "files": files });
    let mut child = Command::new(python)
        .args(["-I", "-B", "-c", COMPILER])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run `{}`", python.display()))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(request.to_string().as_bytes())
            .context("cannot send the bytecode compiler its files")?;
    }
    let output = child
        .wait_with_output()
        .with_context(|| format!("cannot run `{}`", python.display()))?;
    if !output.status.success() {
        anyhow::bail!(
            "compiling bytecode failed: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let skipped = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let mut added = Files::from(std::mem::take(plan));
    for item in WalkDir::new(dir.path()).sort_by_file_name() {
        let item = item.with_context(|| format!("cannot read `{}`", dir.path().display()))?;
        if item.file_type().is_file() {
            let dest = item.path().strip_prefix(dir.path()).unwrap_or(item.path());
            added.add_file(dest, item.path())?;
        }
    }
    *plan = added.into_plan();
    Ok(Bytecode { _dir: dir, skipped })
}
