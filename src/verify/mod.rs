//! Verify: re-read a bundle (a folder or an archive) and compare every
//! file with its manifest: a changed byte, a changed mode, a missing file
//! and an extra file are each reported by name, and so is an ELF file
//! whose dependency would not be found on the target machine.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::bundle::{format, name, Manifest, MANIFEST};
use crate::elf::ElfInfo;
use crate::loader::{self, allowlist, Requester};

/// One thing wrong with a bundle.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// The file's name, spelled as the manifest spells it.
    pub path: String,
    /// `changed`, `mode`, `missing`, `extra`, `unresolved`, or `unsafe`:
    /// an entry that is a link or would land outside the bundle, after
    /// which nothing else is checked.
    pub problem: &'static str,
    pub detail: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub bundle: String,
    pub ok: bool,
    pub files: usize,
    pub problems: Vec<Problem>,
}

struct Found {
    /// The bytes read, at most one more than the manifest's size.
    size: u64,
    /// Whether the file holds more bytes than the manifest says (only
    /// one more was read).
    longer: bool,
    mode: u32,
    sha256: String,
    /// What an ELF file needs, and where it looks.
    elf: Option<ElfInfo>,
}

/// Compares the bundle at `bundle` with its manifest.
///
/// The manifest is read first, so that no file is read further than one
/// byte past the size the manifest gives it, and a file it does not list
/// is not read at all: an archive entry that inflates to gigabytes costs
/// no more memory or time than the file it stands for.
pub fn verify(bundle: &Path) -> Result<Report> {
    match compare_all(bundle) {
        Err(err) => match err.downcast_ref::<format::Refused>() {
            Some(refused) => Ok(Report {
                bundle: bundle.display().to_string(),
                ok: false,
                files: 0,
                problems: vec![Problem {
                    path: refused.entry.clone(),
                    problem: "unsafe",
                    detail: format!("{}; nothing else was checked", refused.why),
                }],
            }),
            None => Err(err),
        },
        ok => ok,
    }
}

fn compare_all(bundle: &Path) -> Result<Report> {
    let manifest = Manifest::read(bundle)?;
    let sizes: BTreeMap<&Path, u64> = manifest
        .files
        .iter()
        .map(|f| (f.path.as_path(), f.size))
        .collect();
    let mut found = BTreeMap::new();
    format::of(bundle).each_file(bundle, &mut |path, mode, data| {
        if path == Path::new(MANIFEST) {
            return Ok(());
        }
        let Some(&size) = sizes.get(path) else {
            found.insert(path.to_path_buf(), Found::unlisted(mode));
            return Ok(());
        };
        let mut bytes = Vec::new();
        data.take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .with_context(|| format!("cannot read `{}`", name::display(path)))?;
        found.insert(path.to_path_buf(), Found::of(&bytes, size, mode));
        Ok(())
    })?;
    let mut problems = unresolved(&manifest, &found);
    problems.extend(compare(&manifest, &mut found));
    Ok(Report {
        bundle: bundle.display().to_string(),
        ok: problems.is_empty(),
        files: manifest.files.len(),
        problems,
    })
}

impl Found {
    fn of(bytes: &[u8], listed_size: u64, mode: u32) -> Found {
        let elf = if bytes.starts_with(b"\x7fELF") {
            crate::elf::read(bytes).ok().flatten()
        } else {
            None
        };
        Found {
            size: bytes.len() as u64,
            longer: bytes.len() as u64 > listed_size,
            mode,
            sha256: format!("{:x}", Sha256::digest(bytes)),
            elf,
        }
    }

    /// A file the manifest does not list: extra, whatever it holds.
    fn unlisted(mode: u32) -> Found {
        Found {
            size: 0,
            longer: false,
            mode,
            sha256: String::new(),
            elf: None,
        }
    }
}

/// Every dependency of every ELF file must resolve through the file's own
/// search path inside the bundle, or be a system library of the
/// allow-list, or one the host provides (`--host-lib`, in the manifest).
fn unresolved(manifest: &Manifest, found: &BTreeMap<PathBuf, Found>) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (path, file) in found {
        let Some(elf) = &file.elf else { continue };
        let requester = Requester {
            rpath: elf.rpath.as_deref(),
            runpath: elf.runpath.as_deref(),
            host_dir: None,
            bundle_dir: Some(path.parent().unwrap_or(Path::new(""))),
        };
        // Each file must find what it needs through its own search path.
        let dirs: Vec<_> = loader::search_order(&requester, &[], None)
            .into_iter()
            .filter_map(|d| d.bundle)
            .collect();
        for needed in &elf.needed {
            let inside = dirs.iter().any(|d| found.contains_key(&d.join(needed)));
            if !(inside
                || allowlist::is_system(needed)
                || manifest.requires.host_libs.contains(needed))
            {
                problems.push(Problem {
                    path: name::display(path),
                    problem: "unresolved",
                    detail: format!(
                        "needs `{needed}`, which is neither in the bundle on its search path nor \
                         a system library nor one the host provides"
                    ),
                });
            }
        }
    }
    problems
}

fn compare(manifest: &Manifest, found: &mut BTreeMap<PathBuf, Found>) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |path: &Path, problem, detail: String| {
        problems.push(Problem {
            path: name::display(path),
            problem,
            detail,
        })
    };
    for file in &manifest.files {
        let Some(actual) = found.remove(&file.path) else {
            problem(
                &file.path,
                "missing",
                "listed in the manifest, not in the bundle".into(),
            );
            continue;
        };
        if actual.longer {
            problem(
                &file.path,
                "changed",
                format!(
                    "more than {} bytes, manifest says {} ({} bytes)",
                    file.size, file.sha256, file.size
                ),
            );
        } else if actual.sha256 != file.sha256 || actual.size != file.size {
            problem(
                &file.path,
                "changed",
                format!(
                    "sha256 {} ({} bytes), manifest says {} ({} bytes)",
                    actual.sha256, actual.size, file.sha256, file.size
                ),
            );
        }
        if actual.mode != file.mode {
            problem(
                &file.path,
                "mode",
                format!("mode {:o}, manifest says {:o}", actual.mode, file.mode),
            );
        }
    }
    for path in found.keys() {
        problem(path, "extra", "in the bundle, not in the manifest".into());
    }
    problems
}

impl Report {
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for p in &self.problems {
            out += &format!("{}: {}: {}\n", p.path, p.problem, p.detail);
        }
        if self.ok {
            out += &format!(
                "`{}`: all {} files match the manifest\n",
                self.bundle, self.files
            );
        } else {
            out += &format!(
                "`{}`: {} in {}\n",
                self.bundle,
                counted(self.problems.len(), "problem"),
                counted(self.files, "file")
            );
        }
        out
    }
}

/// `1 file`, `2 files`.
fn counted(n: usize, noun: &str) -> String {
    format!("{n} {noun}{}", if n == 1 { "" } else { "s" })
}
