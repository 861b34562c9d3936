//! embedpack's integration tests, one crate: they run the real binary on
//! the venvs, interpreters and tools tests/run.sh prepares (run them with
//! `bash tests/run.sh`).  What several tests need — the sentinel bundle,
//! compiled host programs, what the interpreters report — is built or
//! asked once per run in `support` and shared.  One module per area.

mod support;

mod atomic;
mod bad_inputs;
mod bundle_runs;
mod c_apps;
mod cffi_suite;
mod cli;
mod closure;
mod debuginfo;
mod elf_writer;
mod environments;
mod examples;
mod generated;
mod injection;
mod names;
mod pack;
mod project;
mod pypy;
mod reproducible;
mod sbom;
mod self_check;
mod soak;
mod starting;
mod stripped;
mod summary;
mod wheel;
