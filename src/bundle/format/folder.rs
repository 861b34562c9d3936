//! A bundle as a plain folder: files written with their normalized mode
//! and one timestamp, read back by walking the folder.  A folder without
//! a manifest is refused before anything in it is read.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
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

    fn create(&self, path: &Path, _top: &str, mtime: u64) -> Result<Box<dyn Sink>> {
        std::fs::create_dir(path).with_context(|| format!("cannot create `{}`", path.display()))?;
        Ok(Box::new(FolderSink {
            root: path.to_path_buf(),
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

struct FolderSink {
    root: PathBuf,
    mtime: u64,
}

impl Sink for FolderSink {
    fn add(&mut self, path: &Path, mode: u32, data: &mut dyn Read) -> Result<()> {
        let dest = self.root.join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let mut file = create_file(&dest)?;
        std::io::copy(data, &mut file)
            .with_context(|| format!("cannot write `{}`", dest.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of `{}`", dest.display()))?;
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(self.mtime))
            .with_context(|| format!("cannot set the time of `{}`", dest.display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}
