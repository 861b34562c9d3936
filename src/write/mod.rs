//! Write: stream the plan into a staging output beside the real one — a
//! folder, a `.zip` or a `.tar.gz` — making each file (copied, stripped,
//! patched, compiled to bytecode) and hashing it as it is written, add the
//! bill of materials (`sbom`) with those hashes, and the manifest last,
//! then put the staging output in place with one rename.  A failed or
//! interrupted run leaves the previous output as it was; its leftovers are
//! removed by the next run.

mod bytecode;
mod bytecode_cache;
mod sbom;
mod strip;

pub use bytecode_cache::default_dir as bytecode_cache_dir;
pub use sbom::add as add_sbom;

use std::fs::File;
use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::build::Plugin;
use crate::bundle::{
    format, Distribution, Layout, Manifest, ManifestFile, PythonInfo, Requires, Sink,
};
use crate::link::Report;
use crate::log::{Log, Progress};
use crate::plan::{Entry, Plan, Source};
use crate::resolve::Environment;
use crate::{elf, fail, Hint};

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
    /// The bytecode cache, unless turned off (`bytecode_cache.rs`).
    pub bytecode_cache: Option<PathBuf>,
}

/// What was written.
pub struct Written {
    pub manifest: Manifest,
    /// Python sources that do not compile with the bundle's interpreter:
    /// they are bundled without bytecode.
    pub no_bytecode: Vec<PathBuf>,
}

/// The manifest of the bundle of `plugin`, before its files are listed;
/// `compiler` is how the C compiler that built it names itself.
pub fn manifest(
    plugin: &Plugin,
    env: &Environment,
    plan: &Plan,
    linked: &Report,
    compiler: &str,
) -> Manifest {
    let python = PythonInfo {
        implementation: env.info.kind.name().to_string(),
        version: env.info.version_text(),
        soabi: env.info.soabi.clone(),
        runtime: env.runtime_name(),
    };
    let distributions = plan
        .distributions(&plugin.layout.site)
        .into_iter()
        .map(|(name, version)| Distribution { name, version })
        .collect();
    let requires = Requires {
        versions: linked.versions.clone(),
        host_libs: linked.host_libs.clone(),
    };
    let mut manifest = Manifest::new(&plugin.module, python, compiler, distributions, requires);
    manifest.self_check = plugin.self_check;
    manifest
}

/// Writes `plan` to `out`, counting files on a progress bar.
pub fn write(
    plan: &Plan,
    layout: &Layout,
    manifest: Manifest,
    out: &Output,
    log: Log,
) -> Result<Written> {
    if plan.strips() {
        strip::check_objcopy()?;
    }
    let format = format::of(&out.path);
    let (parent, name) = split_output(&out.path)?;
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create `{}`", parent.display()))
        .map_err(|err| with_hint(err, &out.path))?;
    remove_leftovers(&parent, &name);
    check_replaceable(&out.path, out.force)?;
    let staging = parent.join(format!("{name}{STAGING_MARK}{}", std::process::id()));
    let top = format::top_folder(&out.path);
    let mut written = Written {
        manifest,
        no_bytecode: Vec::new(),
    };
    let progress = log.progress(plan.entries.len(), "Writing");
    let result = format
        .create(&staging, &top, out.mtime, Some(&out.path))
        .and_then(|sink| fill(plan, layout, &mut written, sink, out, &progress))
        .and_then(|()| publish(&staging, &out.path, &parent, &name));
    drop(progress);
    if let Err(err) = result {
        remove(&staging);
        return Err(with_hint(err, &out.path));
    }
    Ok(written)
}

/// A failure to write the bundle at `out`, with what to do about its
/// cause; the previous output is unchanged whatever the cause.
fn with_hint(err: anyhow::Error, out: &Path) -> anyhow::Error {
    // The first system error, and whether what failed was reading an
    // input (its context says so) rather than writing the bundle.
    let causes: Vec<_> = err.chain().collect();
    let failed = causes.iter().enumerate().find_map(|(i, cause)| {
        let errno = cause.downcast_ref::<std::io::Error>()?.raw_os_error()?;
        let context = if i > 0 {
            causes[i - 1].to_string()
        } else {
            String::new()
        };
        Some((errno, context))
    });
    let failed = failed.map(|(errno, context)| (errno, context.starts_with("cannot read")));
    let temporary = !failed.is_some_and(|(_, read)| read)
        && causes
            .iter()
            .any(|cause| cause.to_string().starts_with(TEMPORARY_FAILED));
    let what = match failed {
        _ if temporary => "free space in that folder, or set TMPDIR to a folder with room",
        Some((libc::EACCES | libc::EPERM, true)) => {
            "make that file readable for this user, or leave it out of the inputs"
        }
        Some((_, true)) => "fix the cause above and run again",
        Some((libc::ENOSPC, _)) => "free space on that disk, or write the bundle elsewhere with -o",
        Some((libc::EROFS, _)) => {
            "that file system is mounted read-only: write the bundle elsewhere with -o"
        }
        Some((libc::EACCES | libc::EPERM, _)) => {
            "make that folder writable for this user, or write the bundle elsewhere with -o"
        }
        _ => "fix the cause above and run again",
    };
    let hint = format!("{what}; the previous output, if any, is unchanged");
    err.context(Hint(hint))
        .context(format!("cannot write the bundle `{}`", out.display()))
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
    written: &mut Written,
    mut sink: Box<dyn Sink>,
    out: &Output,
    progress: &Progress,
) -> Result<()> {
    let mtime = out.mtime;
    let mut compiling = Compiling {
        plan,
        cache: out.bytecode_cache.as_deref(),
        compilers: None,
    };
    let mut sboms = Vec::new();
    for entry in &plan.entries {
        progress.inc();
        let (dest, data, size) = match &entry.source {
            Source::Sbom(draft) => {
                sboms.push((entry, draft));
                continue;
            }
            Source::Zip(members) => {
                let zip = zipped(members, &entry.dest, mtime, &mut compiling, written)?;
                let (data, size) = made(Made::File(zip))?;
                (entry.dest.clone(), data, size)
            }
            _ => match file_of(entry, &mut compiling, written)? {
                Some(file) => file,
                None => continue,
            },
        };
        let mut reader = Hashing::new(Exact::new(data, size, &dest));
        sink.add(&dest, entry.mode, size, &mut reader)?;
        let (size, sha256) = reader.finish();
        written.manifest.add_file(ManifestFile {
            path: dest,
            size,
            mode: entry.mode,
            sha256,
        });
    }
    for (entry, draft) in sboms {
        let text = draft.finish(&written.manifest.files, mtime);
        let mut reader = Hashing::new(text.as_bytes());
        sink.add(&entry.dest, entry.mode, text.len() as u64, &mut reader)?;
        let (size, sha256) = reader.finish();
        written.manifest.add_file(ManifestFile {
            path: entry.dest.clone(),
            size,
            mode: entry.mode,
            sha256,
        });
    }
    let text = written.manifest.to_json();
    sink.add(
        &layout.manifest,
        0o644,
        text.len() as u64,
        &mut text.as_bytes(),
    )?;
    sink.finish()
}

/// A file ready to be written: where, its bytes and their size.
type Ready = (PathBuf, Box<dyn Read>, u64);

/// What `entry` (neither a zip nor the SBOM) is written as; `None` for
/// bytecode of a source that does not compile, unless it replaces its
/// source, which is then written in its place.
fn file_of(
    entry: &Entry,
    compiling: &mut Compiling,
    written: &mut Written,
) -> Result<Option<Ready>> {
    let Source::Bytecode {
        source,
        module,
        replaces,
    } = &entry.source
    else {
        let (data, size) = made(make(&entry.source)?)?;
        return Ok(Some((entry.dest.clone(), data, size)));
    };
    if let Some(pyc) = compiling.next()? {
        let size = pyc.len() as u64;
        return Ok(Some((
            entry.dest.clone(),
            Box::new(std::io::Cursor::new(pyc)),
            size,
        )));
    }
    written.no_bytecode.push(module.clone());
    if !replaces {
        return Ok(None);
    }
    let (data, size) = made(make(&Source::File(source.clone()))?)?;
    Ok(Some((entry.dest.with_extension("py"), data, size)))
}

/// The zip of `members`, to be written at `dest`, in a temporary file at
/// its start.
fn zipped(
    members: &[Entry],
    dest: &Path,
    mtime: u64,
    compiling: &mut Compiling,
    written: &mut Written,
) -> Result<File> {
    let mut file = temporary()?;
    let copy = file.try_clone().context(TEMPORARY_FAILED)?;
    let in_temporary = || {
        let folder = std::env::temp_dir();
        format!(
            "{TEMPORARY_FAILED} in `{}`, for `{}`",
            folder.display(),
            dest.display()
        )
    };
    let mut zip = format::zip_into(copy, dest, mtime);
    for member in members {
        let Some((name, data, size)) = file_of(member, compiling, written)? else {
            continue;
        };
        let mut data = Exact::new(data, size, &name);
        zip.add(&name, member.mode, size, &mut data)
            .with_context(in_temporary)?;
    }
    zip.finish().with_context(in_temporary)?;
    file.rewind().context("cannot read a temporary file")?;
    Ok(file)
}

/// The plan's bytecode compilers, started at the first bytecode entry
/// written.
struct Compiling<'a> {
    plan: &'a Plan,
    cache: Option<&'a Path>,
    compilers: Option<bytecode::Compilers>,
}

impl Compiling<'_> {
    /// The `.pyc` of the next bytecode entry in plan order, or `None` when
    /// its source does not compile.
    fn next(&mut self) -> Result<Option<Vec<u8>>> {
        let compilers = match &mut self.compilers {
            Some(compilers) => compilers,
            None => {
                let mut jobs = Vec::new();
                bytecode_jobs(&self.plan.entries, &mut jobs);
                let (python, runtime) = (&self.plan.python, &self.plan.runtime);
                let started = bytecode::Compilers::start(python, runtime, &jobs, self.cache)?;
                self.compilers.insert(started)
            }
        };
        compilers.next()
    }
}

/// `(source, module)` of every bytecode entry of `entries`, those of a
/// zip's members in their place, in the order they are written.
fn bytecode_jobs<'a>(entries: &'a [Entry], jobs: &mut Vec<(&'a Path, &'a Path)>) {
    for entry in entries {
        match &entry.source {
            Source::Bytecode { source, module, .. } => jobs.push((source, module)),
            Source::Zip(members) => bytecode_jobs(members, jobs),
            _ => {}
        }
    }
}

/// A source ready to be written: bytes, or a file at its start (the input
/// itself, or a stripped or patched copy in a temporary file).
enum Made {
    Bytes(Vec<u8>),
    File(File),
}

/// A made source as a reader, and its size.
fn made(made: Made) -> Result<(Box<dyn Read>, u64)> {
    Ok(match made {
        Made::Bytes(bytes) => {
            let size = bytes.len() as u64;
            (Box::new(std::io::Cursor::new(bytes)), size)
        }
        Made::File(file) => {
            let size = file
                .metadata()
                .context("cannot read a temporary file")?
                .len();
            (Box::new(file), size)
        }
    })
}

fn make(source: &Source) -> Result<Made> {
    match source {
        Source::Bytes(bytes) => Ok(Made::Bytes(bytes.clone())),
        Source::Patched { base, edits } => {
            let mut file = as_temporary(base)?;
            elf::patch_temporary(&file, edits)
                .and_then(|()| file.rewind().context("cannot read a temporary file"))
                .with_context(|| format!("cannot patch {}", what(base)))?;
            Ok(Made::File(file))
        }
        Source::Stripped { base, debug } => match base.as_ref() {
            Source::File(path) => strip::strip_file(path, debug.as_deref()),
            base => strip::strip(&as_temporary(base)?, debug.as_deref()),
        }
        .map(Made::File)
        .with_context(|| format!("cannot strip {}", what(base))),
        Source::File(path) => File::open(path)
            .map(Made::File)
            .with_context(|| format!("cannot read `{}`", path.display())),
        Source::Bytecode { source, .. } => {
            anyhow::bail!("bytecode of `{}` is made in plan order", source.display())
        }
        Source::Unbuilt { from, .. } => anyhow::bail!("a dry run's plan cannot be written: {from}"),
        Source::Sbom(_) => anyhow::bail!("the SBOM is made after the other files"),
        Source::Zip(_) => anyhow::bail!("a zip is made from its members"),
    }
}

/// How a message names the file made from `base`.
fn what(base: &Source) -> String {
    base.file()
        .map_or("the plugin".to_string(), |p| format!("`{}`", p.display()))
}

/// `source` in a temporary file of its own, at its start: a copy when it
/// is an input, which a patch must not change.
fn as_temporary(source: &Source) -> Result<File> {
    let mut copy = match source {
        Source::File(path) => {
            let mut file = temporary()?;
            let mut input =
                File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
            std::io::copy(&mut input, &mut file)
                .with_context(|| format!("{TEMPORARY_FAILED}: a copy of `{}`", path.display()))?;
            file
        }
        other => match make(other)? {
            Made::File(file) => return Ok(file),
            Made::Bytes(bytes) => {
                let mut file = temporary()?;
                file.write_all(&bytes).context(TEMPORARY_FAILED)?;
                file
            }
        },
    };
    copy.rewind().context("cannot read a temporary file")?;
    Ok(copy)
}

/// How the context of a failure to make or write a temporary file starts.
const TEMPORARY_FAILED: &str = "cannot write a temporary file";

/// A new unnamed file in the temporary directory: it is never held in
/// memory, and it vanishes when closed, even when embedpack is killed.
fn temporary() -> Result<File> {
    tempfile::tempfile()
        .with_context(|| format!("{TEMPORARY_FAILED} in `{}`", std::env::temp_dir().display()))
}

/// A reader of exactly `size` bytes: a file that grows or shrinks while it
/// is written into the bundle fails, rather than being written half.
struct Exact<'a, R> {
    inner: R,
    left: u64,
    name: &'a Path,
}

impl<'a, R: Read> Exact<'a, R> {
    fn new(inner: R, size: u64, name: &'a Path) -> Self {
        Exact {
            inner,
            left: size,
            name,
        }
    }

    fn changed(&self) -> std::io::Error {
        std::io::Error::other(format!(
            "the source of `{}` changed size while it was read",
            self.name.display()
        ))
    }
}

impl<R: Read> Read for Exact<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        if self.left == 0 {
            // One byte more than promised means the source grew.
            return match self.inner.read(&mut [0])? {
                0 => Ok(0),
                _ => Err(self.changed()),
            };
        }
        let most = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        let n = self.inner.read(&mut buf[..most])?;
        if n == 0 {
            return Err(self.changed());
        }
        self.left -= n as u64;
        Ok(n)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The message for `errno` under `contexts`, innermost first.
    fn hint_for(errno: i32, contexts: &[&str]) -> String {
        let mut err = anyhow::Error::new(std::io::Error::from_raw_os_error(errno));
        for context in contexts {
            err = err.context(context.to_string());
        }
        format!("{:#}", with_hint(err, Path::new("out")))
    }

    #[test]
    fn a_failed_write_is_told_what_to_do_about_its_cause() {
        let full = hint_for(libc::ENOSPC, &["cannot write `out/x`"]);
        assert!(full.contains("free space on that disk"), "{full}");
        let denied = hint_for(libc::EACCES, &["cannot create `out`"]);
        assert!(denied.contains("make that folder writable"), "{denied}");
    }

    #[test]
    fn an_input_that_cannot_be_read_is_not_blamed_on_the_output() {
        let hint = hint_for(libc::EACCES, &["cannot read `venv/lib/x.py`"]);
        assert!(hint.contains("make that file readable"), "{hint}");
        assert!(!hint.contains("writable"), "{hint}");
    }

    #[test]
    fn a_full_temporary_folder_is_told_apart_from_a_full_bundle_disk() {
        let zip = "cannot write `json/x.pyc` into `python/lib/python311.zip`";
        let temporary = "cannot write a temporary file in `/tmp`, for `python/lib/python311.zip`";
        let full = hint_for(libc::ENOSPC, &[zip, temporary]);
        assert!(full.contains("set TMPDIR"), "{full}");
        let unreadable = hint_for(libc::EACCES, &["cannot read `/src/x.py`", zip, temporary]);
        assert!(
            unreadable.contains("make that file readable"),
            "{unreadable}"
        );
    }
}
