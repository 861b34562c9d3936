//! A cache of compiled bytecode shared between builds, so that building
//! again from the same inputs compiles nothing.
//!
//! What is cached is the whole answer of one run of the bytecode compiler
//! (`bytecode.rs`): the bytes of a `.pyc` can depend on what the same
//! process compiled before it, so only the same sources, in the same
//! order, in one run, give the same bytes again. An answer is keyed by
//! the compiler's own text, the interpreter (its real path, and the size
//! and time of it and of its runtime library) and, for each source, the
//! SHA-256 of its bytes and its path in the bundle. An entry is written
//! to a temporary name and renamed into place when complete, so builds
//! running at once never read a half-written one; it ends with the
//! SHA-256 of what precedes it, checked before use, and a damaged entry
//! is removed and compiled again.
//!
//! The cache lives in `$EMBEDPACK_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/embedpack`, else `~/.cache/embedpack`; `--no-cache`
//! turns it off.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// The cache folder the environment names, if any.
pub fn default_dir() -> Option<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    from("EMBEDPACK_CACHE_DIR")
        .or_else(|| from("XDG_CACHE_HOME").map(|d| d.join("embedpack")))
        .or_else(|| from("HOME").map(|d| d.join(".cache/embedpack")))
}

/// The key of one run's answer: what decides its bytes.
pub fn key(compiler: &str, python: &Path, jobs: &[(&Path, &Path)]) -> Result<String> {
    let mut hash = Sha256::new();
    hash.update(b"embedpack bytecode 1\0");
    hash.update(compiler.as_bytes());
    let python = python
        .canonicalize()
        .with_context(|| format!("cannot find `{}`", python.display()))?;
    hash.update(python.as_os_str().as_bytes());
    for file in interpreter_files(&python) {
        if let Ok(meta) = std::fs::metadata(&file) {
            hash.update(meta.size().to_le_bytes());
            hash.update(meta.mtime().to_le_bytes());
            hash.update(meta.mtime_nsec().to_le_bytes());
        }
    }
    for (source, module) in jobs {
        let mut file =
            File::open(source).with_context(|| format!("cannot read `{}`", source.display()))?;
        let mut content = Sha256::new();
        std::io::copy(&mut file, &mut content)
            .with_context(|| format!("cannot read `{}`", source.display()))?;
        hash.update(content.finalize());
        hash.update((module.as_os_str().len() as u64).to_le_bytes());
        hash.update(module.as_os_str().as_bytes());
    }
    Ok(format!("{:x}", hash.finalize()))
}

/// The interpreter and the runtime libraries beside it (`lib/` of its
/// installation), whose rebuild changes what it compiles.
fn interpreter_files(python: &Path) -> Vec<PathBuf> {
    let mut files = vec![python.to_path_buf()];
    let lib = python
        .parent()
        .and_then(Path::parent)
        .map(|p| p.join("lib"));
    if let Some(Ok(entries)) = lib.map(std::fs::read_dir) {
        let mut libs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy())
                    .unwrap_or_default();
                (name.starts_with("libpython") || name.starts_with("libpypy"))
                    && name.contains(".so")
            })
            .collect();
        libs.sort();
        files.extend(libs);
    }
    files
}

/// A complete, checked answer in the cache: its bytes without the
/// trailing hash, to be read as the compiler's answer. A damaged entry
/// is removed.
pub fn open(dir: &Path, key: &str) -> Option<impl Read> {
    let path = dir.join(key);
    let length = std::fs::metadata(&path).ok()?.len().checked_sub(32)?;
    let mut reader = BufReader::new(File::open(&path).ok()?);
    let mut hash = Sha256::new();
    let copied = std::io::copy(&mut (&mut reader).take(length), &mut hash).ok()?;
    let mut stored = [0u8; 32];
    if copied != length
        || reader.read_exact(&mut stored).is_err()
        || stored[..] != hash.finalize()[..]
    {
        let _ = std::fs::remove_file(&path);
        return None;
    }
    let file = File::open(&path).ok()?;
    Some(BufReader::new(file).take(length))
}

/// An answer being written into the cache as it is read from the
/// compiler; `finish` publishes it.
pub struct Entry {
    out: BufWriter<File>,
    hash: Sha256,
    temporary: PathBuf,
    path: PathBuf,
}

impl Entry {
    /// A new entry for `key`, or `None` when the cache cannot be written
    /// (the build then goes on without it).
    pub fn create(dir: &Path, key: &str) -> Option<Entry> {
        std::fs::create_dir_all(dir).ok()?;
        let temporary = dir.join(format!(".{key}.{}.partial", std::process::id()));
        let file = File::create(&temporary).ok()?;
        Some(Entry {
            out: BufWriter::new(file),
            hash: Sha256::new(),
            temporary,
            path: dir.join(key),
        })
    }

    pub fn add(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.hash.update(bytes);
        self.out.write_all(bytes)
    }

    /// Ends the entry with its hash and puts it in place.
    pub fn finish(mut self) -> std::io::Result<()> {
        let hash = std::mem::take(&mut self.hash).finalize();
        self.out.write_all(&hash)?;
        self.out.flush()?;
        std::fs::rename(&self.temporary, &self.path)
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.temporary);
    }
}
