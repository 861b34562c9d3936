//! What the integration tests share: what tests/run.sh prepared (the test
//! venvs, in `prepared`) and the interpreters it hands in (`python`); what
//! several modules build once per run (`built`: the sentinel bundle, the C
//! hosts); bare chroot roots (`chroot`); hostile environments (`traps`); and
//! running commands.

mod built;
mod chroot;
mod prepared;
mod python;
mod traps;

pub use built::*;
pub use chroot::*;
pub use prepared::*;
pub use python::*;
pub use traps::*;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository's top folder.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fresh folder for one test under cargo's target/tmp.
pub fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The binary under test, caching bytecode in the tests' own folder.
pub fn embedpack() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_embedpack"));
    command.env("EMBEDPACK_CACHE_DIR", bytecode_cache());
    command
}

/// The bytecode cache of the tests' builds.
pub fn bytecode_cache() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bytecode-cache")
}

/// Runs a command and returns its output, failing the test with both
/// streams when it does not exit 0.
pub fn run_ok(command: &mut Command) -> Output {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed with {}\nstdout:\n{}\nstderr:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// `command` as a host with nothing set up for Python: run from `/`,
/// without `LD_LIBRARY_PATH`, `PYTHONPATH`, `PYTHONHOME` or
/// `EMBEDPACK_DEBUG`, reading nothing on stdin.
pub fn as_bare_host(command: &mut Command) -> &mut Command {
    command
        .current_dir("/")
        .env_remove("LD_LIBRARY_PATH")
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .env_remove("EMBEDPACK_DEBUG")
        .stdin(std::process::Stdio::null())
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Copies a directory tree, keeping modes (cp -a).
pub fn copy_tree(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

/// Every ELF file under `bundle`, relative to it.
pub fn elf_files(bundle: &Path) -> Vec<String> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(bundle) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        if bytes.starts_with(b"\x7fELF") {
            let relative = entry.path().strip_prefix(bundle).unwrap();
            files.push(relative.to_string_lossy().into_owned());
        }
    }
    files.sort();
    files
}
