//! A bundle as a plain folder: files written with their normalized mode
//! and one timestamp, read back by walking the folder.  A folder without
//! a manifest is refused before anything in it is read.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::{create_file, names, Format, Refused, Sink, Visit};
use crate::bundle::MANIFEST;
use crate::fail;

pub struct Folder;

impl Format for Folder {
    fn name(&self) -> &'static str {
        "folder"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &[]
    }

    fn create(
        &self,
        path: &Path,
        _top: &str,
        mtime: u64,
        previous: Option<&Path>,
    ) -> Result<Box<dyn Sink>> {
        std::fs::create_dir(path).with_context(|| format!("cannot create `{}`", path.display()))?;
        let previous = previous.filter(|p| std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir()));
        Ok(Box::new(FolderSink {
            root: path.to_path_buf(),
            previous: previous.map(Path::to_path_buf),
            mtime,
        }))
    }

    fn each_file(&self, root: &Path, visit: &mut Visit) -> Result<()> {
        check_bundle(root)?;
        for item in WalkDir::new(root).sort_by_file_name().min_depth(1) {
            let item = item.with_context(|| format!("cannot read `{}`", root.display()))?;
            let relative = item.path().strip_prefix(root).unwrap_or(item.path());
            if item.file_type().is_symlink() {
                return Err(Refused::new(
                    relative,
                    "is a symbolic link; a bundle holds none",
                ))
                .with_context(|| format!("refusing `{}`", root.display()));
            }
            if !item.file_type().is_file() {
                continue;
            }
            let meta = item
                .metadata()
                .with_context(|| format!("cannot read `{}`", item.path().display()))?;
            let mut file = File::open(item.path())
                .with_context(|| format!("cannot read `{}`", item.path().display()))?;
            visit(relative, meta.permissions().mode() & 0o7777, &mut file)?;
        }
        Ok(())
    }

    fn read_one(&self, root: &Path, name: &str) -> Result<Option<Vec<u8>>> {
        check_bundle(root)?;
        let path = root.join(name);
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
        }
    }
}

/// Refuses what is not a folder holding a manifest.
fn check_bundle(root: &Path) -> Result<()> {
    let hint = || format!("give the {} that embedpack build or pack wrote", names());
    if !root.is_dir() {
        return Err(fail(
            format!("`{}` is not a bundle {}", root.display(), names()),
            hint(),
        ));
    }
    if !root.join(MANIFEST).is_file() {
        return Err(fail(
            format!(
                "`{}` has no {MANIFEST}: it is not a bundle embedpack wrote",
                root.display()
            ),
            hint(),
        ));
    }
    Ok(())
}

/// Writes files under `root`. A file whose bytes, mode and time are those
/// of the same file in the `previous` bundle (a folder it replaces) is
/// that file, linked rather than written again: a re-pack then writes
/// only what changed, and removing the previous bundle frees only that
/// (on some disks, freeing is what takes longest). The previous bundle
/// stays as it was until the new one takes its place, and once it is
/// removed no file of the new one is shared with anything.
struct FolderSink {
    root: PathBuf,
    previous: Option<PathBuf>,
    mtime: u64,
}

/// How many bytes are compared at a time.
const CHUNK: usize = 64 * 1024;

impl FolderSink {
    /// The previous bundle's file at `path`, if it can be shared: a
    /// regular file with `mode` and this bundle's time, linked nowhere
    /// else.
    fn reusable(&self, path: &Path, mode: u32) -> Option<(PathBuf, File)> {
        let old = self.previous.as_ref()?.join(path);
        let file = File::open(&old).ok()?;
        let meta = file.metadata().ok()?;
        let mtime = meta.modified().ok()?;
        let shareable = meta.is_file()
            && meta.nlink() == 1
            && meta.permissions().mode() & 0o7777 == mode
            && mtime == SystemTime::UNIX_EPOCH + Duration::from_secs(self.mtime);
        shareable.then_some((old, file))
    }
}

/// Reads `data` against `old`, a chunk at a time, until they differ or
/// end: how many bytes were the same, the chunk of `data` that was not
/// (read, so not to be lost), and whether both ended there.
fn compare(old: &mut File, data: &mut dyn Read) -> std::io::Result<(u64, Vec<u8>, bool)> {
    let mut new = vec![0; CHUNK];
    let mut was = vec![0; CHUNK];
    let mut same = 0;
    loop {
        let n = read_full(data, &mut new)?;
        let m = read_full(old, &mut was[..n.max(1)])?;
        if n == 0 {
            return Ok((same, Vec::new(), m == 0));
        }
        if m != n || was[..n] != new[..n] {
            new.truncate(n);
            return Ok((same, new, false));
        }
        same += n as u64;
    }
}

/// Fills `buf` from `from` unless it ends first: how many bytes it read.
fn read_full(from: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match from.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

impl Sink for FolderSink {
    fn add(&mut self, path: &Path, mode: u32, _size: u64, data: &mut dyn Read) -> Result<()> {
        let dest = self.root.join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let mut prefix: Box<dyn Read> = Box::new(std::io::empty());
        if let Some((old, mut file)) = self.reusable(path, mode) {
            let (same, differing, both_ended) = compare(&mut file, data)
                .with_context(|| format!("cannot write `{}`", dest.display()))?;
            if both_ended && std::fs::hard_link(&old, &dest).is_ok() {
                return Ok(());
            }
            // What compared equal is read again from the old file, then
            // what of `data` did not.
            file.seek(SeekFrom::Start(0))
                .with_context(|| format!("cannot read `{}`", old.display()))?;
            prefix = Box::new(file.take(same).chain(std::io::Cursor::new(differing)));
        }
        let mut out = create_file(&dest)?;
        std::io::copy(&mut prefix.chain(data), &mut out)
            .with_context(|| format!("cannot write `{}`", dest.display()))?;
        out.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of `{}`", dest.display()))?;
        out.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(self.mtime))
            .with_context(|| format!("cannot set the time of `{}`", dest.display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
