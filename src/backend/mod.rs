//! One backend per Python implementation.  What differs between CPython
//! and PyPy — how the interpreter describes itself, how its runtime
//! library is named and found, where its home goes in a bundle, what of
//! its standard library is left out, the bootstrap's C and the edits to
//! CFFI's generated C, the imports `pack` hooks — is each backend's to
//! say; the stages ask and never compare implementation names.

mod cpython;
mod interpreter;
mod pypy;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use interpreter::{probe, Interpreter, Kind};

use crate::bundle::Home;

/// What the stages ask of a Python implementation.
pub trait Backend: Sync {
    /// The implementation this backend is for.
    fn kind(&self) -> Kind;
    /// Refuses an interpreter this backend cannot bundle, saying why.
    fn check(&self, venv: &Path, info: &Interpreter) -> Result<()>;
    /// The shared runtime library the interpreter of `venv` runs on,
    /// checked to be its own version.
    fn find_runtime(&self, venv: &Path, info: &Interpreter) -> Result<PathBuf>;
    /// The Python major.minor a runtime library named `name` (in a
    /// `DT_NEEDED` entry) is for, when it is one of this implementation's.
    fn runtime_version(&self, name: &str) -> Option<(u32, u32)>;
    /// Whether `-l<library>` (as cffi fills in `set_source(libraries=)`)
    /// names this interpreter's runtime, which the plugin links by path.
    fn links_runtime(&self, library: &str) -> bool;
    /// The linker arguments that link a plugin (or a packed plugin's
    /// bootstrap) to the runtime library at `runtime`, so that its
    /// `DT_NEEDED` entry names the library, not a path of this machine.
    fn link_runtime(&self, runtime: &Path) -> Vec<String>;
    /// Where the interpreter's home goes in a bundle.
    fn home(&self, info: &Interpreter) -> Home;
    /// Where in `home` a zip of the standard library goes (the bootstrap
    /// puts it on `sys.path`), named as the interpreter names its own;
    /// `None` when it imports its standard library only from files.
    fn stdlib_zip(&self, info: &Interpreter, home: &Home) -> Option<PathBuf>;
    /// What of the standard library a bundle holds.
    fn stdlib(&self, info: &Interpreter, home: &Home) -> Stdlib;
    /// The bootstrap's C and how it is hooked into a plugin.
    fn bootstrap(&self) -> &'static Bootstrap;
    /// What a software bill of materials calls the implementation — its
    /// display name, and its licence as an SPDX expression.
    fn sbom_identity(&self) -> (&'static str, &'static str);
}

/// The backend of `kind`, or why there is none.
pub fn of(kind: &Kind) -> Option<&'static dyn Backend> {
    match kind {
        Kind::CPython => Some(&cpython::CPython),
        Kind::PyPy => Some(&pypy::PyPy),
        Kind::Other(_) => None,
    }
}

/// Every backend, for questions about a file of unknown origin (which
/// Python does this library need?).
pub fn all() -> impl Iterator<Item = &'static dyn Backend> {
    [Kind::CPython, Kind::PyPy]
        .into_iter()
        .filter_map(|k| of(&k))
}

/// The standard library as a bundle holds it: folders copied from this
/// machine, less the parts left out unless kept.
#[derive(Debug, Clone)]
pub struct Stdlib {
    pub trees: Vec<Tree>,
    /// The parts left out by default, each kept by `--keep-stdlib NAME`.
    pub optional: &'static [Part],
}

/// One folder of the standard library.
#[derive(Debug, Clone)]
pub struct Tree {
    /// On this machine.
    pub source: PathBuf,
    /// In the bundle.
    pub dest: PathBuf,
    /// Only its extension modules (files ending in `.so`), not below it.
    pub modules_only: bool,
    /// Folders below it that are collected as trees of their own, or not
    /// at all.
    pub skip: Vec<PathBuf>,
}

/// A part of the standard library a plugin rarely needs.
#[derive(Debug, Clone, Copy)]
pub struct Part {
    /// The name `--keep-stdlib` takes.
    pub name: &'static str,
    /// Top-level folders it is made of; a trailing `*` matches any end.
    pub folders: &'static [&'static str],
    /// Folder names it is made of at any depth.
    pub nested: &'static [&'static str],
    /// Extension modules it is made of, by the start of their names.
    pub modules: &'static [&'static str],
}

impl Part {
    /// A part made of top-level folders only.
    pub const fn folder(name: &'static str, folders: &'static [&'static str]) -> Part {
        Part {
            name,
            folders,
            nested: &[],
            modules: &[],
        }
    }

    /// A part made of extension modules only.
    pub const fn module(name: &'static str, modules: &'static [&'static str]) -> Part {
        Part {
            name,
            folders: &[],
            nested: &[],
            modules,
        }
    }
}

/// The bootstrap: C sources written beside each other and compiled with
/// the plugin (`build`) or into a library of their own (`pack`).
#[derive(Debug)]
pub struct Bootstrap {
    /// `(file name, text)` of every file.
    pub files: &'static [(&'static str, &'static str)],
    /// Compiled into a plugin that `build` makes.
    pub plugin_sources: &'static [&'static str],
    /// Compiled into the bootstrap library of a packed plugin.
    pub pack_sources: &'static [&'static str],
    /// Edits to CFFI's generated C (anchor/replacement pairs).
    pub cffi_edits: &'static str,
    /// The imports of a packed library that its bootstrap library takes
    /// over, in the order of its `EMBEDPACK_HOOK_*` macros.
    pub hooked_imports: &'static [&'static str],
}

/// What every bootstrap shares, in `stubs/`.
pub const SHARED_STUBS: &[(&str, &str)] = &[
    ("embedpack.h", include_str!("../../stubs/embedpack.h")),
    ("bootstrap.h", include_str!("../../stubs/bootstrap.h")),
    ("bootstrap.c", include_str!("../../stubs/bootstrap.c")),
    ("plugin.c", include_str!("../../stubs/plugin.c")),
];
