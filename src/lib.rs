//! embedpack: turn a CFFI embedding library into a folder that any C
//! program can load from anywhere, with its own Python inside.
//!
//! The pipeline, one module each, after `project` (the folder a build
//! script belongs to): resolve (find the Python environment) → build
//! (compile the plugin with the bootstrap, or prepare a library compiled
//! elsewhere for `pack`) → collect (plan the bundle's files) → link (vendor
//! shared libraries, patch ELF files) → write (publish the bundle
//! atomically) → verify (check a bundle against its manifest). Beside them:
//! `backend`, one per Python implementation, which the stages ask whatever
//! differs between CPython and PyPy; `bundle`, the bundle contract (layout,
//! manifest, formats); `elf`, the one module that reads and edits ELF
//! files; `inspect`, which describes a library or a bundle; `scratch`, the
//! temporary folders a build works in; `generate`, the completion scripts
//! and man page made from the command line; `fuzzing`, the entry points of
//! the fuzz targets; `summary`, what `build --json` and `pack --json`
//! print; `log`, what a person reads on stderr, progress bars included.

pub mod build;
pub mod collect;
pub mod link;
pub mod loader;
pub mod project;
pub mod resolve;
pub mod verify;
pub mod write;

pub mod backend;
pub mod bundle;
pub mod cli;
mod commands;
pub mod elf;
mod error;
#[cfg(any(test, fuzzing))]
pub mod fuzzing;
mod generate;
pub mod inspect;
pub mod log;
mod options;
pub mod plan;
pub mod scratch;
mod summary;

pub use commands::run;
pub use error::{fail, report, Hint};
