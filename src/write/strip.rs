//! Stripping an ELF file while the bundle is written: binutils' `objcopy
//! --strip-debug` makes the bundle's copy, and `--only-keep-debug` the
//! debug file kept outside the bundle, when one is asked for.  objcopy
//! reads and writes files, not pipes: it reads a file on disk where it
//! is, and writes into an unnamed temporary file (`temporary`, named
//! `/proc/self/fd/N` for it), which is never held in memory here and
//! vanishes when closed, even when embedpack is killed halfway.
//! objcopy's output depends only on its input, so the bundle stays
//! reproducible.

use std::fs::File;
use std::io::{Read, Seek};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context, Result};

use super::temporary;
use crate::fail;

const OBJCOPY: &str = "objcopy";

/// Fails, with a hint, when objcopy cannot be run.
pub fn check_objcopy() -> Result<()> {
    match Command::new(OBJCOPY).arg("--version").output() {
        Ok(output) if output.status.success() => Ok(()),
        _ => Err(fail(
            format!("cannot run `{OBJCOPY}` (GNU binutils), which strips debug information"),
            "install binutils (`apt install binutils`), or pass --no-strip to keep \
             debug information in the bundle",
        )),
    }
}

/// The file at `path` without its debug information, in a temporary
/// file at its start; that information is written to `debug` first, if
/// given.
pub fn strip_file(path: &Path, debug: Option<&Path>) -> Result<File> {
    let input = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    strip(&input, debug)
}

/// The file `input` without its debug information, as [`strip_file`].
pub fn strip(input: &File, debug: Option<&Path>) -> Result<File> {
    if let Some(debug) = debug {
        let mut kept = Vec::new();
        let mut file = objcopy("--only-keep-debug", input)?;
        file.read_to_end(&mut kept)
            .context("cannot read objcopy's output")?;
        save(debug, &kept)?;
    }
    objcopy("--strip-debug", input)
}

/// What `objcopy <option> input output` writes.
fn objcopy(option: &str, input: &File) -> Result<File> {
    let mut output = temporary()?;
    let fds = [input.as_raw_fd(), output.as_raw_fd()];
    let mut command = Command::new(OBJCOPY);
    command.arg(option);
    command.args(fds.map(|fd| format!("/proc/self/fd/{fd}")));
    // SAFETY: between fork and exec, only fcntl runs, which is
    // async-signal-safe; it lets objcopy inherit the two files.
    unsafe {
        command.pre_exec(move || {
            for fd in fds {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let result = command
        .output()
        .with_context(|| format!("cannot run `{OBJCOPY}`"))?;
    if !result.status.success() {
        bail!(
            "`{OBJCOPY} {option}` failed ({}): {}",
            result.status,
            String::from_utf8_lossy(&result.stderr).trim()
        );
    }
    output.rewind().context("cannot read objcopy's output")?;
    Ok(output)
}

/// Writes `bytes` to `path` through a file beside it and a rename, so a
/// debug file is whole or absent; one already there with these bytes
/// (another bundle of the same build) is left as it is.
fn save(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    let parent = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))?;
    let mut partial = path.as_os_str().to_owned();
    partial.push(format!(".partial-{}", std::process::id()));
    let partial = std::path::PathBuf::from(partial);
    let result = std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, path))
        .with_context(|| format!("cannot write `{}`", path.display()));
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result
}
