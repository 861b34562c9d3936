//! What tests of several modules build from the tree and then only read,
//! built once per run (concurrent tests wait for the same build): the
//! sentinel bundle and the C host programs.  Tests copy a bundle before
//! changing it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{embedpack, repo, run_ok, venv, workdir};

/// The sentinel test plugin (tests/fixtures/sentinel), built once per
/// run from the shared venv.
pub fn sentinel_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("sentinel-bundle").join("sentinel");
        build_sentinel(&venv(), &out);
        out
    })
}

pub fn build_sentinel(venv: &Path, out: &Path) {
    run_ok(&mut sentinel_command(venv, out));
}

/// The `embedpack build` command of the sentinel plugin, for tests that
/// add options or expect it to fail.
pub fn sentinel_command(venv: &Path, out: &Path) -> Command {
    let fixture = repo().join("tests/fixtures/sentinel");
    let mut command = embedpack();
    command
        .arg("build")
        .arg(fixture.join("build_sentinel.py"))
        .arg("--venv")
        .arg(venv)
        .arg("--app")
        .arg(fixture.join("app"))
        .arg("-o")
        .arg(out);
    command
}

/// Compiles tests/hosts/<name>.c (with `extra` arguments) into target/tmp.
/// Each call gets a file of its own: tests run in parallel.
pub fn host(name: &str, extra: &[&str]) -> PathBuf {
    static BUILT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let count = BUILT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("host-{name}-{}-{count}", std::process::id()));
    run_ok(
        Command::new("cc")
            .arg("-Wall")
            .arg("-Werror")
            .arg("-o")
            .arg(&out)
            .arg(repo().join("tests/hosts").join(format!("{name}.c")))
            .args(extra)
            .args(["-ldl", "-pthread"]),
    );
    out
}

/// A C program `source`, written to `dir/main.c` and linked at build
/// time to `bundle/lib<library>.so` (with the bundle's `include/` and an
/// rpath to it), compiled with `-Wall -Werror`; returns `dir/main`.
pub fn linked_host(dir: &Path, source: &str, bundle: &Path, library: &str) -> PathBuf {
    let main = dir.join("main");
    std::fs::write(dir.join("main.c"), source).unwrap();
    run_ok(
        Command::new("cc")
            .args(["-Wall", "-Werror", "-o"])
            .arg(&main)
            .arg(dir.join("main.c"))
            .arg(format!("-I{}", bundle.join("include").display()))
            .arg(format!("-L{}", bundle.display()))
            .arg(format!("-l{library}"))
            .arg(format!("-Wl,-rpath,{}", bundle.display())),
    );
    main
}

/// tests/hosts/linked.c linked at build time to the sentinel plugin of
/// `bundle` (its header, `-lsentinel`, an RPATH to the bundle).
pub fn linked_sentinel_host(bundle: &Path) -> PathBuf {
    let include = format!("-I{}", bundle.join("include").display());
    let libdir = format!("-L{}", bundle.display());
    let rpath = format!("-Wl,-rpath,{}", bundle.display());
    host("linked", &[&include, &libdir, "-lsentinel", &rpath])
}

/// The dlopen(RTLD_LOCAL) host (tests/hosts/run_plugin.c), compiled once.
pub fn run_plugin_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| host("run_plugin", &[]))
}

/// The host that loads two plugins (tests/hosts/two_plugins.c), compiled
/// once.
pub fn two_plugins_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| host("two_plugins", &[]))
}

/// tests/fixtures/elf/load.c, which dlopen()s libraries and calls a
/// symbol of each, compiled once.
pub fn elf_loader() -> &'static Path {
    static LOADER: OnceLock<PathBuf> = OnceLock::new();
    LOADER.get_or_init(|| {
        let out = workdir("elf-loader").join("load");
        run_ok(
            Command::new("cc")
                .args(["-Wall", "-Werror", "-o"])
                .arg(&out)
                .arg(repo().join("tests/fixtures/elf/load.c"))
                .arg("-ldl"),
        );
        out
    })
}
