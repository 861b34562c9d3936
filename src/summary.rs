//! What `build --json` and `pack --json` print on stdout: one JSON object
//! describing the bundle written — where, in which format, how many files
//! and bytes (as MANIFEST.json lists them), the libraries vendored, what
//! it needs from the machine it runs on, the warnings given — or, when
//! the command failed, the error and its hint.  Its keys are a contract
//! (README, "Output for tools"): new keys may come, none changes meaning.

use std::path::Path;

use serde::Serialize;

use crate::bundle::{format, name, Requires};
use crate::collect::LeftOut;
use crate::link::Report;
use crate::write::Written;

#[derive(Debug, Serialize)]
pub struct Summary {
    /// Always `true`: a failure prints `Failure` instead.
    pub ok: bool,
    /// The bundle's absolute path.
    pub output: String,
    /// `folder`, `zip` or `tar.gz`.
    pub format: String,
    pub module: String,
    /// The files MANIFEST.json lists, and the sum of their sizes.
    pub files: usize,
    pub bytes: u64,
    pub vendored: Vec<Vendored>,
    /// As MANIFEST.json's `requires`: `versions.glibc` is the oldest
    /// glibc the bundle runs on.
    pub requires: Requires,
    /// Python modules bundled without bytecode (they do not compile with
    /// the bundle's Python), by their path in the bundle.
    pub no_bytecode: Vec<String>,
    /// The parts of the standard library left out (`--keep-stdlib NAME`
    /// keeps one).
    pub stdlib_left_out: Vec<String>,
    /// The modules of the standard library left out as `--exclude-stdlib`
    /// asked.
    pub stdlib_excluded: Vec<String>,
    /// The top-level folders of site-packages whose test suites were left
    /// out (`--keep-tests` keeps them).
    pub tests_left_out: Vec<String>,
    /// Every warning given, also those `-q` kept off stderr.
    pub warnings: Vec<String>,
    /// Built with `--self-check`, as MANIFEST.json's `self_check` says.
    pub self_check: bool,
}

/// A library the link stage copied into the bundle.
#[derive(Debug, Serialize)]
pub struct Vendored {
    /// Its path in the bundle (`lib/libffi.so.8`).
    pub path: String,
    /// Where it was copied from.
    pub from: String,
}

/// What a failed `--json` command prints.
#[derive(Debug, Serialize)]
pub struct Failure {
    pub ok: bool,
    pub error: String,
    pub hint: Option<String>,
}

impl Summary {
    pub fn new(
        output: &Path,
        written: &Written,
        linked: &Report,
        left_out: LeftOut,
        warnings: Vec<String>,
    ) -> Summary {
        let manifest = &written.manifest;
        let output = std::path::absolute(output).unwrap_or_else(|_| output.to_path_buf());
        Summary {
            ok: true,
            output: output.display().to_string(),
            format: format::of(&output)
                .name()
                .trim_start_matches('.')
                .to_string(),
            module: manifest.module.clone(),
            files: manifest.files.len(),
            bytes: manifest.files.iter().map(|f| f.size).sum(),
            vendored: linked
                .vendored
                .iter()
                .map(|(path, from)| Vendored {
                    path: name::display(path),
                    from: from.display().to_string(),
                })
                .collect(),
            requires: manifest.requires.clone(),
            no_bytecode: written
                .no_bytecode
                .iter()
                .map(|m| name::display(m))
                .collect(),
            stdlib_left_out: left_out.stdlib,
            stdlib_excluded: left_out.stdlib_excluded,
            tests_left_out: left_out.tests,
            warnings,
            self_check: manifest.self_check,
        }
    }
}

impl Failure {
    pub fn new(err: &anyhow::Error) -> Failure {
        Failure {
            ok: false,
            error: crate::error::message(err),
            hint: crate::error::hint_of(err),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::bundle::{Manifest, ManifestFile, PythonInfo};

    fn file(path: &str, size: u64) -> ManifestFile {
        ManifestFile {
            path: PathBuf::from(path),
            size,
            mode: 0o644,
            sha256: "0".repeat(64),
        }
    }

    #[test]
    fn the_summary_keeps_its_keys_in_order_and_counts_the_manifest() {
        let python = PythonInfo {
            implementation: "cpython".into(),
            version: "3.11.7".into(),
            soabi: None,
            runtime: "libpython3.11.so.1.0".into(),
        };
        let requires = Requires {
            versions: [("glibc".to_string(), "2.34".to_string())].into(),
            host_libs: vec!["libsqlite3.so.0".into()],
        };
        let mut manifest = Manifest::new("plugin", python, "cc", Vec::new(), requires);
        manifest.files = vec![file("libplugin.so", 100), file("lib/libffi-1.so.8", 20)];
        let written = Written {
            manifest,
            no_bytecode: vec![PathBuf::from("site-packages/bad.py")],
        };
        let report = Report {
            vendored: vec![("lib/libffi-1.so.8".into(), "/usr/lib/libffi.so.8".into())],
            ..Report::default()
        };
        let warnings = vec!["something odd".to_string()];
        let summary = Summary::new(
            Path::new("/out/plugin.tar.gz"),
            &written,
            &report,
            LeftOut {
                stdlib: vec!["test".to_string()],
                stdlib_excluded: vec!["_ssl".to_string()],
                tests: vec!["numpy".to_string()],
            },
            warnings,
        );
        let json = serde_json::to_string_pretty(&summary).unwrap();
        assert_eq!(
            json,
            r#"{
  "ok": true,
  "output": "/out/plugin.tar.gz",
  "format": "tar.gz",
  "module": "plugin",
  "files": 2,
  "bytes": 120,
  "vendored": [
    {
      "path": "lib/libffi-1.so.8",
      "from": "/usr/lib/libffi.so.8"
    }
  ],
  "requires": {
    "versions": {
      "glibc": "2.34"
    },
    "host_libs": [
      "libsqlite3.so.0"
    ]
  },
  "no_bytecode": [
    "site-packages/bad.py"
  ],
  "stdlib_left_out": [
    "test"
  ],
  "stdlib_excluded": [
    "_ssl"
  ],
  "tests_left_out": [
    "numpy"
  ],
  "warnings": [
    "something odd"
  ],
  "self_check": false
}"#
        );
    }

    #[test]
    fn a_failure_names_its_error_and_hint_apart() {
        let err = crate::fail("`x` is missing", "create it").context("cannot build");
        let json = serde_json::to_value(Failure::new(&err)).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"ok": false, "error": "cannot build: `x` is missing", "hint": "create it"})
        );
    }
}
