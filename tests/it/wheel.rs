//! embedpack as a wheel: `bash packaging/wheel.sh DIR` (maturin, handed in
//! by tests/run.sh as `EMBEDPACK_TEST_MATURIN`) builds it once per run;
//! pip installs it into a fresh venv, whose `bin/embedpack` builds the
//! hello example that a C host then runs.  The wheel is tagged for the
//! newest glibc its binary needs, and the same tree gives the same wheel.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// `EMBEDPACK_TEST_MATURIN`: the maturin tests/run.sh installed.
fn maturin() -> PathBuf {
    let path = std::env::var("EMBEDPACK_TEST_MATURIN").unwrap_or_default();
    assert!(
        !path.is_empty(),
        "`EMBEDPACK_TEST_MATURIN` is not set: run the tests with `bash tests/run.sh`"
    );
    PathBuf::from(path)
}

/// Runs packaging/wheel.sh into `dir` and returns the wheel it printed.
fn build_wheel(dir: &Path) -> PathBuf {
    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("packaging/wheel.sh"))
            .arg(dir)
            .env("MATURIN", maturin())
            .env_remove("SOURCE_DATE_EPOCH"),
    );
    let wheel = PathBuf::from(stdout(&output).trim());
    assert!(
        wheel.is_file() && wheel.parent() == Some(dir),
        "packaging/wheel.sh printed `{}`, not a wheel in `{}`",
        wheel.display(),
        dir.display()
    );
    wheel
}

/// The wheel of this tree, built once per run.
fn wheel() -> &'static Path {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL.get_or_init(|| build_wheel(&workdir("wheel-built")))
}

/// The newest `GLIBC_2.N` symbol version the ELF file `path` needs: `N`.
fn newest_glibc(path: &Path) -> u32 {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let verneed = elf.verneed.as_ref().expect("a binary with version needs");
    verneed
        .iter()
        .flat_map(|need| need.iter().collect::<Vec<_>>())
        .filter_map(|aux| elf.dynstrtab.get_at(aux.vna_name))
        .filter_map(|name| name.strip_prefix("GLIBC_2."))
        .map(|rest| rest.split('.').next().unwrap().parse::<u32>().unwrap())
        .max()
        .expect("a binary that needs glibc 2")
}

#[test]
fn pip_installs_the_wheel_and_its_embedpack_builds_a_bundle_that_runs() {
    let dir = workdir("wheel-installed");
    let venv = dir.join("venv");
    run_ok(
        Command::new(&python().path)
            .arg("-m")
            .arg("venv")
            .arg(&venv),
    );
    run_ok(
        Command::new(venv.join("bin/pip"))
            .args(["install", "-q", "--no-index", "--disable-pip-version-check"])
            .arg(wheel()),
    );
    let installed = venv.join("bin/embedpack");

    // The binary pip put in bin/, tagged for the glibc it needs.
    let name = wheel().file_name().unwrap().to_string_lossy().into_owned();
    let tag = format!(
        "manylinux_2_{}_{}",
        newest_glibc(&installed),
        std::env::consts::ARCH
    );
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(name, format!("embedpack-{version}-py3-none-{tag}.whl"));

    // It carries its C stubs and Python helpers: nothing of it names the
    // checkout it was built in.
    let bytes = std::fs::read(&installed).unwrap();
    let checkout = repo();
    let checkout = checkout.as_os_str().as_bytes();
    assert!(
        !bytes.windows(checkout.len()).any(|w| w == checkout),
        "`{}` names the checkout `{}`",
        installed.display(),
        repo().display()
    );

    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("examples/hello/run.sh"))
            .env("EMBEDPACK", &installed)
            .env("VENV", crate::support::venv())
            .env("OUT", dir.join("hello"))
            .current_dir(&dir),
    );
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn the_same_tree_gives_the_same_wheel() {
    let first = std::fs::read(wheel()).unwrap();
    // Zip entries are dated to 2 s: a build dated by the clock would differ.
    std::thread::sleep(std::time::Duration::from_secs(2));
    let again = build_wheel(&workdir("wheel-again"));
    assert!(
        std::fs::read(&again).unwrap() == first,
        "`{}` differs from `{}`",
        again.display(),
        wheel().display()
    );
}
