//! Collect: plan every file of the bundle — the plugin, the interpreter's
//! runtime library and standard library, the venv's site-packages, the
//! user's app modules — as a sorted list of entries, without touching the output.  The plan can
//! be printed (`--dry-run`), tested and diffed.

mod app;
mod bytecode;
mod dev_files;
mod dist_info;
mod site;
mod stdlib;

pub use bytecode::add as add_bytecode;
pub use site::normalize_name;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::Plugin;
pub use crate::plan::{human_size, Entry, Plan, Source};
use crate::resolve::Environment;

/// What the user asked to keep or leave out.
pub struct Options {
    pub apps: Vec<PathBuf>,
    pub keep_stdlib: Vec<String>,
    /// Modules of the standard library to leave out (`--exclude-stdlib`).
    pub exclude_stdlib: Vec<String>,
    pub keep_build_tools: bool,
    /// Keep the folders named `tests` inside site-packages' packages.
    pub keep_tests: bool,
    /// Distributions to leave out of site-packages (`--exclude`).
    pub exclude: Vec<String>,
}

/// What collecting found: the plan, and what it left out.
pub struct Collected {
    pub plan: Plan,
    pub left_out: LeftOut,
}

/// What collecting left out.
#[derive(Debug, Default)]
pub struct LeftOut {
    /// The standard library's parts (`--keep-stdlib NAME` keeps one).
    pub stdlib: Vec<String>,
    /// The standard library's modules left out as asked (`--exclude-stdlib`).
    pub stdlib_excluded: Vec<String>,
    /// The top-level folders of site-packages whose test suites were left
    /// out (`--keep-tests`).
    pub tests: Vec<String>,
}

pub fn plan(plugin: &Plugin, env: &Environment, options: &Options) -> Result<Collected> {
    let layout = &plugin.layout;
    let mut files = Files::default();
    files.add(&layout.embedded, plugin.library.clone(), 0o755)?;
    if let Some(shim) = &plugin.shim {
        files.add(&layout.plugin, shim.clone(), 0o755)?;
    }
    if let Some(header) = &plugin.header {
        files.add_text(&layout.header, header);
        dev_files::collect(&mut files, layout, &plugin.module, &env.info.version_text());
    }
    if let Some((dest, bootstrap)) = &plugin.bootstrap {
        files.add(dest, bootstrap.clone(), 0o755)?;
    }
    files.add_file(&layout.libdir.join(env.runtime_name()), &env.runtime)?;
    let parts = env.backend.stdlib(&env.info, &layout.home);
    let stdlib = stdlib::collect(
        &mut files,
        &parts,
        &options.keep_stdlib,
        &options.exclude_stdlib,
    )?;
    let selection = site::Selection {
        keep_build_tools: options.keep_build_tools,
        keep_tests: options.keep_tests,
        exclude: &options.exclude,
    };
    let tests = site::collect(&mut files, env, layout, &selection)?;
    dist_info::normalize(&mut files, &layout.site)?;
    app::collect(&mut files, layout, &options.apps)?;
    let mut plan = files.into_plan(&env.python, &env.runtime);
    stdlib::zip(&mut plan, &layout.home);
    Ok(Collected {
        plan,
        left_out: LeftOut {
            stdlib,
            stdlib_excluded: options.exclude_stdlib.clone(),
            tests,
        },
    })
}

/// The plan under construction; a later entry for the same destination
/// replaces an earlier one.
#[derive(Default)]
pub struct Files {
    entries: BTreeMap<PathBuf, Entry>,
}

impl Files {
    pub fn add_file(&mut self, dest: &Path, source: &Path) -> Result<()> {
        let meta = std::fs::metadata(source)
            .with_context(|| format!("cannot read `{}`", source.display()))?;
        let mode = if meta.permissions().mode() & 0o111 != 0 {
            0o755
        } else {
            0o644
        };
        self.insert(Entry {
            dest: dest.to_path_buf(),
            source: Source::File(source.to_path_buf()),
            mode,
            size: meta.len(),
        });
        Ok(())
    }

    pub fn add_text(&mut self, dest: &Path, text: &str) {
        self.insert(Entry {
            dest: dest.to_path_buf(),
            size: text.len() as u64,
            source: Source::text(text),
            mode: 0o644,
        });
    }

    /// Adds `source` at `dest` with `mode`: for bytes made while
    /// planning, and for the plugin, whatever it is made from.
    pub fn add(&mut self, dest: &Path, source: Source, mode: u32) -> Result<()> {
        let size = size_of(&source)?;
        self.insert(Entry {
            dest: dest.to_path_buf(),
            source,
            mode,
            size,
        });
        Ok(())
    }

    pub fn contains(&self, dest: &Path) -> bool {
        self.entries.contains_key(dest)
    }

    /// Whether any file lies below the folder `dir`.
    pub fn holds_below(&self, dir: &Path) -> bool {
        let mut after = self
            .entries
            .range::<Path, _>((std::ops::Bound::Excluded(dir), std::ops::Bound::Unbounded));
        after.next().is_some_and(|(dest, _)| dest.starts_with(dir))
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Keeps only the entries whose destination `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&Path) -> bool) {
        self.entries.retain(|dest, _| keep(dest));
    }

    fn insert(&mut self, entry: Entry) {
        self.entries.insert(entry.dest.clone(), entry);
    }

    fn into_plan(self, python: &Path, runtime: &Path) -> Plan {
        Plan {
            entries: self.entries.into_values().collect(),
            python: python.to_path_buf(),
            runtime: runtime.to_path_buf(),
        }
    }
}

/// A walker's error as the user should read it: a broken symbolic link
/// and a link to a folder that holds it are named as such; anything else
/// names the file and `what` was read, with a hint when it is unreadable.
pub fn walk_error(err: walkdir::Error, what: &str) -> anyhow::Error {
    let path = err.path().map(Path::to_path_buf);
    let broken_link = path.as_ref().is_some_and(|p| {
        p.symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
            && !p.exists()
    });
    if let (Some(path), Some(ancestor)) = (&path, err.loop_ancestor()) {
        return crate::fail(
            format!(
                "`{}` (in {what}) is a symbolic link loop: it leads back to `{}`, a folder \
                 that holds it",
                path.display(),
                ancestor.display()
            ),
            "remove the link, or point it at a folder outside the one that holds it",
        );
    }
    match path {
        Some(path) if broken_link => crate::fail(
            format!("`{}` (in {what}) is a broken symbolic link", path.display()),
            "remove it, or point it at a file that exists",
        ),
        Some(path) => {
            let cause = err.into_io_error();
            let message = format!(
                "cannot read `{}` (in {what}): {}",
                path.display(),
                cause
                    .as_ref()
                    .map_or("unreadable".to_string(), |e| e.to_string())
            );
            match cause.map(|e| e.kind()) {
                Some(std::io::ErrorKind::PermissionDenied) => crate::fail(
                    message,
                    format!(
                        "make it readable for the user running embedpack (as its owner: `chmod -R a+rX {}`)",
                        path.display()
                    ),
                ),
                _ => anyhow::anyhow!(message),
            }
        }
        None => anyhow::anyhow!("cannot read {what}: {err}"),
    }
}

/// What a file of kind `kind` is when it is neither a regular file, a
/// folder nor a link: a FIFO, a socket or a device node.
pub fn special_kind(kind: std::fs::FileType) -> Option<&'static str> {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_fifo() {
        Some("a FIFO (named pipe)")
    } else if kind.is_socket() {
        Some("a socket")
    } else if kind.is_block_device() {
        Some("a block device")
    } else if kind.is_char_device() {
        Some("a character device")
    } else {
        None
    }
}

/// Refuses a walked file that is a FIFO, a socket or a device node: it
/// has no contents to bundle, and leaving it out would hide that.
pub fn check_regular(item: &walkdir::DirEntry, what: &str) -> Result<()> {
    match special_kind(item.file_type()) {
        None => Ok(()),
        Some(kind) => Err(crate::fail(
            format!(
                "`{}` (in {what}) is {kind}, not a regular file",
                item.path().display()
            ),
            "a bundle holds only regular files: remove it, or move it out of there",
        )),
    }
}

/// Directories never copied from anywhere.
pub fn is_noise_dir(name: &str) -> bool {
    matches!(
        name,
        "__pycache__" | ".git" | ".hg" | ".svn" | ".mypy_cache" | ".pytest_cache" | ".tox"
    )
}

/// Files never copied from anywhere: bytecode is either left out or
/// compiled reproducibly, never taken from a build machine's cache.
pub fn is_noise_file(name: &str) -> bool {
    name.ends_with(".pyc") || name.ends_with(".pyo")
}

/// The size of what `source` is made from (nothing, for a library a dry
/// run does not compile).
fn size_of(source: &Source) -> Result<u64> {
    Ok(match source {
        Source::Bytes(bytes) => bytes.len() as u64,
        Source::Unbuilt { .. } => 0,
        Source::Sbom(draft) => draft.planned_size(),
        Source::Zip(members) => members.iter().map(|m| m.size).sum(),
        Source::Patched { base, .. } | Source::Stripped { base, .. } => size_of(base)?,
        Source::File(path) | Source::Bytecode { source: path, .. } => std::fs::metadata(path)
            .with_context(|| format!("cannot read `{}`", path.display()))?
            .len(),
    })
}
