//! Write: copy the plan into a staging folder beside the output, hashing
//! each file as it is written, add the manifest last, then swap the
//! staging folder into place in one rename.  A failed or interrupted run
//! leaves the previous bundle as it was; its leftovers are removed by the
//! next run.

mod manifest;

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

pub use manifest::{Manifest, ManifestFile, PythonInfo};

use crate::collect::{Plan, Source};
use crate::fail;
use crate::layout::Layout;

const STAGING_MARK: &str = ".embedpack-staging-";
const RETIRED_MARK: &str = ".embedpack-old-";

/// Writes `plan` as the bundle folder `out`; returns the manifest written.
pub fn write_dir(
    plan: &Plan,
    layout: &Layout,
    mut manifest: Manifest,
    out: &Path,
    force: bool,
) -> Result<Manifest> {
    let (parent, name) = split_output(out)?;
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    remove_leftovers(&parent, &name);
    check_replaceable(out, layout, force)?;
    let staging = parent.join(format!("{name}{STAGING_MARK}{}", std::process::id()));
    let result = fill(plan, layout, &mut manifest, &staging)
        .and_then(|()| publish(&staging, out, &parent, &name));
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&staging);
    }
    result.map(|()| manifest)
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
            format!("`{}` cannot be an output folder", out.display()),
            "pass -o DIR",
        )),
    }
}

/// Staging and retired folders of runs that were interrupted.
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
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

fn check_replaceable(out: &Path, layout: &Layout, force: bool) -> Result<()> {
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    let is_bundle = meta.is_dir() && Manifest::read(&out.join(&layout.manifest)).is_ok();
    if is_bundle || force {
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

fn fill(plan: &Plan, layout: &Layout, manifest: &mut Manifest, staging: &Path) -> Result<()> {
    std::fs::create_dir(staging)
        .with_context(|| format!("cannot create `{}`", staging.display()))?;
    for entry in &plan.entries {
        let dest = staging.join(&entry.dest);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let (size, sha256) = copy_hashing(&entry.source, &dest)?;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(entry.mode))
            .with_context(|| format!("cannot set the mode of `{}`", dest.display()))?;
        manifest.files.push(ManifestFile {
            path: entry.dest.to_string_lossy().into_owned(),
            size,
            mode: entry.mode,
            sha256,
        });
    }
    let path = staging.join(&layout.manifest);
    std::fs::write(&path, manifest.to_json())
        .with_context(|| format!("cannot write `{}`", path.display()))
}

fn copy_hashing(source: &Source, dest: &Path) -> Result<(u64, String)> {
    let mut out =
        File::create(dest).with_context(|| format!("cannot create `{}`", dest.display()))?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut write = |chunk: &[u8]| -> Result<()> {
        hasher.update(chunk);
        size += chunk.len() as u64;
        out.write_all(chunk)
            .with_context(|| format!("cannot write `{}`", dest.display()))
    };
    match source {
        Source::Text(text) => write(text.as_bytes())?,
        Source::File(path) => {
            let mut input =
                File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            let mut buffer = vec![0u8; 1 << 16];
            loop {
                let n = input
                    .read(&mut buffer)
                    .with_context(|| format!("cannot read `{}`", path.display()))?;
                if n == 0 {
                    break;
                }
                write(&buffer[..n])?;
            }
        }
    }
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// Puts `staging` at `out`: an atomic exchange when `out` exists, so that
/// either the old or the new bundle is there at every instant.
fn publish(staging: &Path, out: &Path, parent: &Path, name: &str) -> Result<()> {
    if std::fs::symlink_metadata(out).is_err() {
        return std::fs::rename(staging, out)
            .with_context(|| format!("cannot move the bundle to `{}`", out.display()));
    }
    exchange(staging, out).with_context(|| format!("cannot replace `{}`", out.display()))?;
    let retired = parent.join(format!("{name}{RETIRED_MARK}{}", std::process::id()));
    std::fs::rename(staging, &retired)
        .with_context(|| format!("cannot move `{}` aside", staging.display()))?;
    let removal = if retired.is_dir() {
        std::fs::remove_dir_all(&retired)
    } else {
        std::fs::remove_file(&retired)
    };
    removal.with_context(|| {
        format!(
            "cannot remove the previous bundle at `{}`",
            retired.display()
        )
    })
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
