//! Write: stream the plan into a staging output beside the real one — a
//! folder, a `.zip` or a `.tar.gz` — hashing each file as it is written,
//! add the manifest last, then put the staging output in place with one
//! rename.  A failed or interrupted run leaves the previous output as it
//! was; its leftovers are removed by the next run.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::bundle::{format, Format, Layout, Manifest, ManifestFile};
use crate::collect::{Plan, Source};
use crate::{fail, Hint};

const STAGING_MARK: &str = ".embedpack-staging-";
const RETIRED_MARK: &str = ".embedpack-old-";
/// Every file's time when SOURCE_DATE_EPOCH is not set: 1980-01-01, the
/// earliest a zip can hold.
pub const DEFAULT_MTIME: u64 = 315_532_800;

/// Where and how to write a bundle.
pub struct Output {
    pub path: PathBuf,
    /// Replace `path` even if it is not a bundle embedpack wrote.
    pub force: bool,
    /// Every file's modification time, in Unix seconds.
    pub mtime: u64,
}

/// Writes `plan` to `out`; returns the manifest written.
pub fn write(
    plan: &Plan,
    layout: &Layout,
    mut manifest: Manifest,
    out: &Output,
) -> Result<Manifest> {
    let format = format::of(&out.path);
    let (parent, name) = split_output(&out.path)?;
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    remove_leftovers(&parent, &name);
    check_replaceable(&out.path, out.force)?;
    let staging = parent.join(format!("{name}{STAGING_MARK}{}", std::process::id()));
    let top = format::top_folder(&out.path);
    let result = fill(
        plan,
        layout,
        &mut manifest,
        format,
        &staging,
        &top,
        out.mtime,
    )
    .and_then(|()| publish(&staging, &out.path, &parent, &name));
    if let Err(err) = result {
        remove(&staging);
        let hint = if is_disk_full(&err) {
            "free space on that disk, or write the bundle elsewhere with -o"
        } else {
            "the previous output, if any, is unchanged"
        };
        return Err(err
            .context(Hint(hint.into()))
            .context(format!("cannot write the bundle `{}`", out.path.display())));
    }
    Ok(manifest)
}

fn is_disk_full(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .and_then(|e| e.raw_os_error())
            == Some(libc::ENOSPC)
    })
}

fn split_output(out: &Path) -> Result<(PathBuf, String)> {
    let absolute =
        std::path::absolute(out).with_context(|| format!("cannot resolve `{}`", out.display()))?;
    let name = absolute
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    match (absolute.parent(), name) {
        (Some(parent), Some(name)) => Ok((parent.to_path_buf(), name)),
        _ => Err(fail(
            format!("`{}` cannot be an output", out.display()),
            format!("pass {}", format::output_forms()),
        )),
    }
}

fn remove(path: &Path) {
    let _ = if path.is_dir() {
        std::fs::remove_dir_all(path)
    } else {
        std::fs::remove_file(path)
    };
}

/// Staging and retired outputs of runs that were interrupted.
fn remove_leftovers(parent: &Path, name: &str) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(rest) = file_name.strip_prefix(name) else {
            continue;
        };
        let pid = rest
            .strip_prefix(STAGING_MARK)
            .or_else(|| rest.strip_prefix(RETIRED_MARK));
        let alive = |pid: &str| Path::new("/proc").join(pid).exists();
        if pid.is_some_and(|pid| pid.parse::<u32>().is_ok() && !alive(pid)) {
            remove(&entry.path());
        }
    }
}

fn check_replaceable(out: &Path, force: bool) -> Result<()> {
    if std::fs::symlink_metadata(out).is_err() || force {
        return Ok(());
    }
    if Manifest::read(out).is_ok() {
        return Ok(());
    }
    Err(fail(
        format!(
            "`{}` exists and is not a bundle embedpack wrote; refusing to replace it",
            out.display()
        ),
        "choose another -o, or pass --force to replace it",
    ))
}

fn fill(
    plan: &Plan,
    layout: &Layout,
    manifest: &mut Manifest,
    format: &dyn Format,
    staging: &Path,
    top: &str,
    mtime: u64,
) -> Result<()> {
    let mut sink = format.create(staging, top, mtime)?;
    for entry in &plan.entries {
        let mut reader = Hashing::new(open(&entry.source)?);
        sink.add(&entry.dest, entry.mode, &mut reader)?;
        let (size, sha256) = reader.finish();
        manifest.files.push(ManifestFile {
            path: entry.dest.to_string_lossy().into_owned(),
            size,
            mode: entry.mode,
            sha256,
        });
    }
    let text = manifest.to_json();
    sink.add(&layout.manifest, 0o644, &mut text.as_bytes())?;
    sink.finish()
}

fn open(source: &Source) -> Result<Box<dyn Read + '_>> {
    Ok(match source {
        Source::File(path) => {
            Box::new(File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?)
        }
        Source::Text(text) => Box::new(text.as_bytes()),
    })
}

/// A reader that hashes and counts what passes through it.
struct Hashing<R> {
    inner: R,
    hasher: Sha256,
    size: u64,
}

impl<R: Read> Hashing<R> {
    fn new(inner: R) -> Self {
        Hashing {
            inner,
            hasher: Sha256::new(),
            size: 0,
        }
    }

    fn finish(self) -> (u64, String) {
        (self.size, format!("{:x}", self.hasher.finalize()))
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
}

/// Puts `staging` at `out`.  A file replaces the old one in one rename; a
/// folder is exchanged with the old one atomically, so that either the
/// old or the new bundle is there at every instant.
fn publish(staging: &Path, out: &Path, parent: &Path, name: &str) -> Result<()> {
    let existing = std::fs::symlink_metadata(out).ok();
    if staging.is_file() || existing.is_none() {
        if existing.is_some_and(|m| m.is_dir()) {
            std::fs::remove_dir_all(out)
                .with_context(|| format!("cannot replace `{}`", out.display()))?;
        }
        return std::fs::rename(staging, out)
            .with_context(|| format!("cannot move the bundle to `{}`", out.display()));
    }
    exchange(staging, out).with_context(|| format!("cannot replace `{}`", out.display()))?;
    let retired = parent.join(format!("{name}{RETIRED_MARK}{}", std::process::id()));
    std::fs::rename(staging, &retired)
        .with_context(|| format!("cannot move `{}` aside", staging.display()))?;
    remove(&retired);
    Ok(())
}

fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| CString::new(p.as_os_str().as_bytes()).map_err(std::io::Error::other);
    let (a, b) = (c(a)?, c(b)?);
    // SAFETY: both are valid NUL-terminated paths; renameat2 only reads them.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            a.as_ptr(),
            libc::AT_FDCWD,
            b.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
