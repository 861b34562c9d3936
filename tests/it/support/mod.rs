//! What the integration tests share: the test venv made by tests/run.sh,
//! the embedpack binary, bundles built once per run, compiled
//! host programs, and bare chroot roots.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// The repository's top folder.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A venv on pyenv's python3 with tests/requirements.txt installed.
pub fn venv() -> PathBuf {
    let venv = repo().join("target/test-env/venv");
    assert!(
        venv.join(".ready").is_file(),
        "the test venv `{}` is missing: run the tests with `bash tests/run.sh`",
        venv.display()
    );
    venv
}

/// A venv tests/run.sh made under target/test-env: `virtualenv`, `uv`
/// (both on pyenv's python3), `debian` (on /usr/bin/python3.11),
/// `system-site` (the same, with include-system-site-packages) or
/// `editable` (with editable installs); each holds tests/requirements.txt.
pub fn named_venv(name: &str) -> PathBuf {
    let venv = repo().join("target/test-env").join(name);
    assert!(
        venv.join(".ready").is_file(),
        "the test venv `{}` is missing: run the tests with `bash tests/run.sh`",
        venv.display()
    );
    venv
}

/// A fresh folder for one test under cargo's target/tmp.
pub fn workdir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn embedpack() -> Command {
    Command::new(env!("CARGO_BIN_EXE_embedpack"))
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

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The sentinel test plugin (tests/fixtures/sentinel), built once per
/// run from the shared venv.  Tests copy it before changing it.
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

/// The dlopen(RTLD_LOCAL) host, compiled once per run.
pub fn run_plugin_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| host("run_plugin", &[]))
}

/// Copies a directory tree, keeping modes (cp -a).
pub fn copy_tree(from: &Path, to: &Path) {
    run_ok(Command::new("cp").arg("-a").arg(from).arg(to));
}

/// The system libraries a bundle may assume on the target machine
/// (the manylinux allow-list), plus the dynamic loader.
pub const ALLOW_LIST: &[&str] = &[
    "libc.so.6",
    "libm.so.6",
    "libmvec.so.1",
    "libdl.so.2",
    "librt.so.1",
    "libpthread.so.0",
    "libutil.so.1",
    "libnsl.so.1",
    "libresolv.so.2",
    "libanl.so.1",
    "libgcc_s.so.1",
    "libstdc++.so.6",
    "libatomic.so.1",
    "libz.so.1",
    "libexpat.so.1",
    "libX11.so.6",
    "libXext.so.6",
    "libXrender.so.1",
    "libICE.so.6",
    "libSM.so.6",
    "libGL.so.1",
    "libgobject-2.0.so.0",
    "libgthread-2.0.so.0",
    "libglib-2.0.so.0",
];

/// A bare machine: a folder holding only the allow-listed system
/// libraries that exist here, the loader, and an empty /tmp.  Tests copy
/// their host and bundle into it and run them with `chroot`.
pub fn bare_root(name: &str) -> PathBuf {
    let root = workdir(name);
    let libdir = root.join("lib/x86_64-linux-gnu");
    std::fs::create_dir_all(&libdir).unwrap();
    std::fs::create_dir_all(root.join("lib64")).unwrap();
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    for lib in ALLOW_LIST {
        let system = Path::new("/lib/x86_64-linux-gnu").join(lib);
        if system.exists() {
            std::fs::copy(&system, libdir.join(lib)).unwrap();
        }
    }
    std::fs::copy(
        "/lib64/ld-linux-x86-64.so.2",
        root.join("lib64/ld-linux-x86-64.so.2"),
    )
    .unwrap();
    root
}
