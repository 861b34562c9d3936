//! A cache of compiled bytecode shared between builds, so that building
//! again from the same inputs compiles nothing.
//!
//! What is cached is the whole answer of one run of the bytecode compiler
//! (`bytecode.rs`): the bytes of a `.pyc` can depend on what the same
//! process compiled before it, so only the same sources, in the same
//! order, in one run, give the same bytes again. An answer is keyed by
//! the compiler's own text, the interpreter (its real path, and the size
//! and time of it and of its runtime library) and, for each source, the
//! SHA-256 of its bytes and its path in the bundle; it is kept only when
//! the compiler says it read those same bytes (a source edited during the
//! build would otherwise leave bytecode of its new text under the key of
//! its old one). An entry is written
//! to a temporary name and renamed into place when complete, so builds
//! running at once never read a half-written one; it ends with the
//! SHA-256 of what precedes it, checked before use, and a damaged entry
//! is removed and compiled again.
//!
//! The cache lives in `$EMBEDPACK_CACHE_DIR`, else
//! `$XDG_CACHE_HOME/embedpack`, else `~/.cache/embedpack`, created for
//! this user alone; a folder another user owns or may write to is not
//! used, as its entries could be anyone's bytecode. `--no-cache` turns it
//! off.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
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
pub struct Key {
    /// The hex SHA-256 of them all, the entry's file name.
    name: String,
    /// The SHA-256 of each source, in order, as it was when keyed: an
    /// answer is kept only when the compiler read these same bytes.
    sources: Vec<[u8; 32]>,
}

/// The key of a run of `python` (running on the runtime library
/// `runtime`) on `jobs`.
pub fn key(compiler: &str, python: &Path, runtime: &Path, jobs: &[(&Path, &Path)]) -> Result<Key> {
    let mut hash = Sha256::new();
    hash.update(b"embedpack bytecode 2\0");
    hash.update(compiler.as_bytes());
    let python = python
        .canonicalize()
        .with_context(|| format!("cannot find `{}`", python.display()))?;
    hash.update(python.as_os_str().as_bytes());
    for file in [python.as_path(), runtime] {
        let meta =
            std::fs::metadata(file).with_context(|| format!("cannot read `{}`", file.display()))?;
        hash.update(meta.size().to_le_bytes());
        hash.update(meta.mtime().to_le_bytes());
        hash.update(meta.mtime_nsec().to_le_bytes());
    }
    let mut sources = Vec::with_capacity(jobs.len());
    for (source, module) in jobs {
        let mut file =
            File::open(source).with_context(|| format!("cannot read `{}`", source.display()))?;
        let mut content = Sha256::new();
        std::io::copy(&mut file, &mut content)
            .with_context(|| format!("cannot read `{}`", source.display()))?;
        let content: [u8; 32] = content.finalize().into();
        hash.update(content);
        hash.update((module.as_os_str().len() as u64).to_le_bytes());
        hash.update(module.as_os_str().as_bytes());
        sources.push(content);
    }
    Ok(Key {
        name: format!("{:x}", hash.finalize()),
        sources,
    })
}

/// The cache folder `dir`, created when missing, if it is safe to trust:
/// a folder of this user that no one else can write to (an entry is
/// bytecode every later bundle ships).
fn trusted(dir: &Path) -> Option<&Path> {
    use std::os::unix::fs::DirBuilderExt;
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir);
    let meta = std::fs::symlink_metadata(dir).ok()?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    (meta.is_dir() && meta.uid() == me && meta.mode() & 0o022 == 0).then_some(dir)
}

/// A complete, checked answer in the cache: its bytes without the
/// trailing hash, to be read as the compiler's answer. A damaged entry
/// is removed.
pub fn open(dir: &Path, key: &Key) -> Option<impl Read> {
    let path = trusted(dir)?.join(&key.name);
    let mut reader = BufReader::new(File::open(&path).ok()?);
    let length = reader.get_ref().metadata().ok()?.len().checked_sub(32)?;
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
    reader.seek(SeekFrom::Start(0)).ok()?;
    Some(reader.take(length))
}

/// An answer being written into the cache as it is read from the
/// compiler; `finish` publishes it.
pub struct Entry {
    out: BufWriter<File>,
    hash: Sha256,
    /// The SHA-256 of each source the compiler must read, in order.
    sources: std::vec::IntoIter<[u8; 32]>,
    /// Whether the compiler read a source other than the one keyed (it
    /// changed while the build ran): the entry is then not published.
    spoiled: bool,
    temporary: PathBuf,
    path: PathBuf,
}

impl Entry {
    /// A new entry for `key`, or `None` when the cache cannot be written
    /// (the build then goes on without it).
    pub fn create(dir: &Path, key: Key) -> Option<Entry> {
        use std::os::unix::fs::OpenOptionsExt;
        let dir = trusted(dir)?;
        let temporary = dir.join(format!(".{}.{}.partial", key.name, std::process::id()));
        let _ = std::fs::remove_file(&temporary);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temporary)
            .ok()?;
        Some(Entry {
            out: BufWriter::new(file),
            hash: Sha256::new(),
            sources: key.sources.into_iter(),
            spoiled: false,
            temporary,
            path: dir.join(key.name),
        })
    }

    /// Adds the answer for the next source, `pyc` (`None`: it does not
    /// compile), made from a source whose bytes had the SHA-256 `read`.
    pub fn add(&mut self, read: &[u8; 32], pyc: Option<&[u8]>) -> std::io::Result<()> {
        self.spoiled |= self.sources.next().as_ref() != Some(read);
        let length = pyc.map_or(-1, |pyc| pyc.len() as i64);
        for bytes in [&length.to_le_bytes()[..], pyc.unwrap_or_default()] {
            self.hash.update(bytes);
            self.out.write_all(bytes)?;
        }
        Ok(())
    }

    /// Ends the entry with its hash and puts it in place, unless a source
    /// changed while it was compiled.
    pub fn finish(mut self) -> std::io::Result<()> {
        if self.spoiled {
            return Ok(());
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn key(name: &str, sources: &[&[u8]]) -> Key {
        Key {
            name: name.to_string(),
            sources: sources.iter().map(|s| Sha256::digest(s).into()).collect(),
        }
    }

    /// Stores, under the key `k` of `keyed`, the answer `pyc` compiled
    /// from `read`.
    fn store(dir: &Path, keyed: &[u8], read: &[u8]) {
        let mut entry = Entry::create(dir, key("k", &[keyed])).unwrap();
        entry
            .add(&Sha256::digest(read).into(), Some(b"pyc"))
            .unwrap();
        entry.finish().unwrap();
    }

    fn answer(dir: &Path, name: &str) -> Option<Vec<u8>> {
        let mut bytes = Vec::new();
        open(dir, &key(name, &[]))?.read_to_end(&mut bytes).unwrap();
        Some(bytes)
    }

    #[test]
    fn an_entry_reads_back_as_it_was_added() {
        let dir = tempfile::tempdir().unwrap();
        let mut entry = Entry::create(dir.path(), key("k", &[b"a", b"b"])).unwrap();
        entry
            .add(&Sha256::digest(b"a").into(), Some(b"pyc"))
            .unwrap();
        entry.add(&Sha256::digest(b"b").into(), None).unwrap();
        entry.finish().unwrap();
        let mut expected = 3i64.to_le_bytes().to_vec();
        expected.extend_from_slice(b"pyc");
        expected.extend_from_slice(&(-1i64).to_le_bytes());
        assert_eq!(answer(dir.path(), "k"), Some(expected));
    }

    #[test]
    fn an_entry_whose_source_changed_while_compiled_is_not_kept() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), b"old text", b"new text");
        assert_eq!(answer(dir.path(), "k"), None);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn a_damaged_entry_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), b"a", b"a");
        let path = dir.path().join("k");
        let mut bytes = std::fs::read(&path).unwrap();
        bytes[8] ^= 1;
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(answer(dir.path(), "k"), None);
        assert!(!path.exists());
    }

    #[test]
    fn a_folder_others_may_write_to_is_not_used() {
        let dir = tempfile::tempdir().unwrap();
        store(dir.path(), b"a", b"a");
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        assert_eq!(answer(dir.path(), "k"), None);
        assert!(Entry::create(dir.path(), key("j", &[])).is_none());
    }

    #[test]
    fn a_missing_folder_is_made_for_this_user_alone() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("a/cache");
        assert!(Entry::create(&cache, key("k", &[])).is_some());
        let mode = std::fs::metadata(&cache).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
