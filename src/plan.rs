//! The plan: every file of a bundle, as plain data computed before any
//! file is written.  Each entry says where its bytes come from — a file,
//! bytes in memory, bytecode compiled from a source, or a copy of an ELF
//! file stripped of its debug information and with edits — and the write
//! stage makes them while hashing.  So
//! the plan can be printed (`--dry-run`), tested and diffed without
//! compiling or patching anything; a dry run's plan names the libraries
//! it would compile, by what their link would record.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

use crate::bundle::sbom::Draft;
use crate::elf::{Edits, ElfInfo, PathKind};

/// Where one file of the bundle comes from.
#[derive(Debug, Clone)]
pub enum Source {
    /// A file on this machine, copied as it is.
    File(PathBuf),
    /// Bytes made while planning (a compiled plugin, a header).
    Bytes(Vec<u8>),
    /// The bytecode of a Python source on this machine, compiled by the
    /// plan's interpreter; `module` is the source's path in the bundle,
    /// which the bytecode records as its file name.  Bytecode that
    /// `replaces` its source (`--no-stdlib-sources`) is a `.pyc` where the
    /// source would be, and the source is written there instead when it
    /// does not compile.
    Bytecode {
        source: PathBuf,
        module: PathBuf,
        replaces: bool,
    },
    /// An ELF file with edits.
    Patched { base: Box<Source>, edits: Edits },
    /// An ELF file without its debug information (`strip --strip-debug`),
    /// which goes to the file `debug`, if any, outside the bundle.
    Stripped {
        base: Box<Source>,
        debug: Option<PathBuf>,
    },
    /// A library a dry run would compile (and so cannot be written):
    /// what it is compiled from, and what its link would record.
    Unbuilt { from: String, info: ElfInfo },
    /// A zip of `members` (their paths relative to its root), as Python's
    /// `zipimport` reads it: the standard library's `--zip-stdlib`.
    Zip(Vec<Entry>),
    /// The bill of materials, finished with the hashes of the files
    /// written before it (the write stage writes it after every other
    /// entry, whatever its place in the plan).
    Sbom(Box<Draft>),
}

/// One file of the bundle.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The path inside the bundle.
    pub dest: PathBuf,
    pub source: Source,
    /// 0o755 or 0o644.
    pub mode: u32,
    /// Its size; for bytecode and patched files, the size of what it is
    /// made from (the file itself is made when written).
    pub size: u64,
}

/// Every file of the bundle, sorted by destination.
#[derive(Debug, Default)]
pub struct Plan {
    pub entries: Vec<Entry>,
    /// The interpreter that compiles the plan's bytecode.
    pub python: PathBuf,
    /// The runtime library that interpreter runs on.
    pub runtime: PathBuf,
}

impl Source {
    pub fn text(text: &str) -> Source {
        Source::Bytes(text.as_bytes().to_vec())
    }

    /// The file on this machine the bytes come from, if any.
    pub fn file(&self) -> Option<&Path> {
        match self {
            Source::File(path) => Some(path),
            Source::Patched { base, .. } | Source::Stripped { base, .. } => base.file(),
            Source::Bytes(_)
            | Source::Bytecode { .. }
            | Source::Unbuilt { .. }
            | Source::Zip(_)
            | Source::Sbom(_) => None,
        }
    }

    /// Whether its bytes lose their debug information.
    pub fn is_stripped(&self) -> bool {
        match self {
            Source::Stripped { .. } => true,
            Source::Patched { base, .. } => base.is_stripped(),
            _ => false,
        }
    }

    /// What `--dry-run` says of it.
    fn describe(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Bytes(_) => "(generated)".to_string(),
            Source::Bytecode { source, .. } => format!("bytecode of {}", source.display()),
            Source::Patched { base, edits } => format!("{}, {}", base.describe(), describe(edits)),
            Source::Stripped { base, debug: None } => format!("{}, stripped", base.describe()),
            Source::Stripped {
                base,
                debug: Some(debug),
            } => format!(
                "{}, stripped (debug information to {})",
                base.describe(),
                debug.display()
            ),
            Source::Unbuilt { from, .. } => from.clone(),
            Source::Zip(members) => {
                format!("(generated: a zip of the {} files below)", members.len())
            }
            Source::Sbom(draft) => format!(
                "(generated: CycloneDX SBOM of {} components, with the hashes of the files)",
                draft.bom.components.len()
            ),
        }
    }
}

fn describe(edits: &Edits) -> String {
    let mut parts = Vec::new();
    if let Some(path) = &edits.search_path {
        let kind = match path.kind {
            PathKind::Rpath => "RPATH",
            PathKind::Runpath => "RUNPATH",
        };
        parts.push(format!("{kind} {}", path.value));
    }
    for (old, new) in &edits.replace_needed {
        parts.push(format!("NEEDED {old} -> {new}"));
    }
    if let Some(soname) = &edits.soname {
        parts.push(format!("SONAME {soname}"));
    }
    if edits.nodelete {
        parts.push("NODELETE".to_string());
    }
    for (old, new) in &edits.rename_imports {
        parts.push(format!("import {old} -> {new}"));
    }
    format!("patched: {}", parts.join(", "))
}

impl Plan {
    /// Adds `entry` in its place in the order, replacing one of the
    /// same destination.
    pub fn insert(&mut self, entry: Entry) {
        match self.entries.binary_search_by(|e| e.dest.cmp(&entry.dest)) {
            Ok(i) => self.entries[i] = entry,
            Err(i) => self.entries.insert(i, entry),
        }
    }

    /// The distributions under `site`, from their `<name>-<version>.dist-info`
    /// folders.
    pub fn distributions(&self, site: &Path) -> Vec<(String, String)> {
        let mut found: Vec<(String, String)> = self
            .entries
            .iter()
            .filter_map(|e| e.dest.strip_prefix(site).ok()?.components().next())
            .filter_map(|c| c.as_os_str().to_str()?.strip_suffix(".dist-info"))
            .filter_map(|stem| stem.split_once('-'))
            .map(|(name, version)| (name.to_string(), version.to_string()))
            .collect();
        found.dedup();
        found
    }

    /// How many files, and how many bytes, the plan puts under `dir`.
    pub fn size_under(&self, dir: &Path) -> (usize, u64) {
        self.entries
            .iter()
            .filter(|e| e.dest.starts_with(dir))
            .fold((0, 0), |(count, size), e| (count + 1, size + e.size))
    }

    /// Whether some entry is stripped of its debug information.
    pub fn strips(&self) -> bool {
        self.entries.iter().any(|e| e.source.is_stripped())
    }

    pub fn total_size(&self) -> u64 {
        self.entries.iter().map(|e| e.size).sum()
    }

    /// One line per entry, then the size of each top-level part.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        let mut parts: BTreeMap<String, (usize, u64)> = BTreeMap::new();
        for entry in &self.entries {
            line(&mut out, entry, &entry.dest);
            if let Source::Zip(members) = &entry.source {
                for member in members {
                    line(&mut out, member, &entry.dest.join(&member.dest));
                }
            }
            let top = entry
                .dest
                .components()
                .next()
                .map(|c| c.as_os_str().to_string_lossy().into_owned());
            let part = parts.entry(top.unwrap_or_default()).or_default();
            part.0 += 1;
            part.1 += entry.size;
        }
        out += "\n";
        for (name, (count, size)) in &parts {
            let _ = writeln!(out, "{:>11}  {name} ({count} files)", human_size(*size));
        }
        let _ = writeln!(
            out,
            "{:>11}  total ({} files; ~ marks files made when written, with the size of \
             what they are made from; ? what a build compiles, not counted)",
            human_size(self.total_size()),
            self.entries.len()
        );
        out
    }
}

/// One line of `Plan::describe`: the size of `entry`, `dest` and where
/// it comes from.
fn line(out: &mut String, entry: &Entry, dest: &Path) {
    let size = match entry.source {
        Source::Bytecode { .. }
        | Source::Patched { .. }
        | Source::Stripped { .. }
        | Source::Zip(_)
        | Source::Sbom(_) => {
            format!("~{}", human_size(entry.size))
        }
        Source::Unbuilt { .. } => "?".to_string(),
        Source::File(_) | Source::Bytes(_) => human_size(entry.size),
    };
    let _ = writeln!(
        out,
        "{size:>11}  {}  <- {}",
        dest.display(),
        entry.source.describe()
    );
}

pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
