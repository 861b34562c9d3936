//! A bundle built by `embedpack build` starts its own Python wherever it
//! is copied: moved away from its venv, into a path with a space, on a
//! bare machine, under hostile PYTHON* variables, from many threads, and
//! whether the host dlopen()s it or was linked to it.

use std::path::Path;
use std::process::Command;

use crate::support::*;

/// Every file the manifest lists is unchanged and nothing was added:
/// running the bundle must not write into it (no new `.pyc` files).
pub(crate) fn assert_unchanged(bundle: &Path) {
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    let listed: std::collections::BTreeSet<String> = files
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    for entry in walkdir::WalkDir::new(bundle) {
        let entry = entry.unwrap();
        let relative = entry
            .path()
            .strip_prefix(bundle)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if entry.file_type().is_file() && relative != "MANIFEST.json" {
            assert!(
                listed.contains(&relative),
                "unexpected file in the bundle: {relative}"
            );
        }
    }
    for file in files {
        let path = bundle.join(file["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let digest = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(&bytes));
        assert_eq!(
            digest,
            file["sha256"].as_str().unwrap(),
            "{} changed",
            path.display()
        );
    }
}

#[test]
fn moved_bundle_starts_without_its_venv_under_hostile_environment() {
    let dir = workdir("moved");
    let own_venv = dir.join("venv");
    copy_tree(&venv(), &own_venv);
    let built = dir.join("built");
    build_sentinel(&own_venv, &built);
    std::fs::rename(&own_venv, dir.join("venv-renamed-away")).unwrap();
    let moved = dir.join("a path with space/bundle");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&built, &moved).unwrap();
    let evil = set_traps(&dir, &dir.join("cwd"), "python3.11");
    let mut command = Command::new(run_plugin_host());
    trapped(&mut command, &evil)
        .current_dir(dir.join("cwd"))
        .arg(moved.join("libsentinel.so"))
        .args([
            "checks.isolated()",
            "checks.speedups()",
            "checks.inside(sys.prefix + '/x')",
        ]);
    let output = run_ok(&mut command);
    assert_eq!(stdout(&output), "1\n1\n1\n", "stderr:\n{}", stderr(&output));
    assert_unchanged(&moved);
}

#[test]
fn bare_chroot_from_a_path_with_a_space_with_eight_threads() {
    let root = bare_root("chroot");
    let bundle = root.join("opt/my plugins/sentinel");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    copy_tree(sentinel_bundle(), &bundle);
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    set_traps(&root, &root.join("work"), "python3.11");
    let mut command = Command::new("/usr/sbin/chroot");
    trapped(&mut command, Path::new("/evil")).arg(&root).args([
        "/host",
        "/opt/my plugins/sentinel/libsentinel.so",
        "--chdir",
        "/work",
        "--threads",
        "8",
        "checks.isolated()",
        "checks.speedups()",
        "checks.write_unicode_name('/tmp')",
        "checks.say('printed from Python')",
    ]);
    let output = run_ok(&mut command);
    // print() output goes through a pipe here: Python's buffer is flushed
    // at exit, before C's own stdio buffer, so only the lines are compared.
    let out = stdout(&output);
    let (python, host): (Vec<&str>, Vec<&str>) = out.lines().partition(|l| l.contains("Python"));
    assert_eq!(
        python,
        ["printed from Python"],
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    assert_eq!(
        host,
        ["1 (8 threads)", "1", "9", "1"],
        "stderr:\n{}",
        stderr(&output)
    );
    assert!(root.join("tmp/données-✓.txt").is_file());
    assert_unchanged(&bundle);
}

#[test]
fn relative_dlopen_then_chdir_before_the_first_call() {
    let output = run_ok(
        Command::new(run_plugin_host())
            .current_dir(sentinel_bundle())
            .args([
                "./libsentinel.so",
                "--chdir",
                "/",
                "checks.isolated()",
                "6*7",
            ]),
    );
    assert_eq!(stdout(&output), "1\n42\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn host_linked_at_build_time() {
    let bundle = sentinel_bundle();
    let host = linked_sentinel_host(bundle);
    let output = run_ok(
        Command::new(host)
            .current_dir("/")
            .args(["checks.isolated()", "checks.speedups()"]),
    );
    assert_eq!(stdout(&output), "1\n1\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn debug_variable_prints_home_and_sys_path() {
    let output = run_ok(
        Command::new(run_plugin_host())
            .env("EMBEDPACK_DEBUG", "1")
            .arg(sentinel_bundle().join("libsentinel.so"))
            .arg("1"),
    );
    let err = stderr(&output);
    let home = sentinel_bundle().join("python");
    assert!(
        err.contains(&format!("embedpack: sys.prefix {}", home.display())),
        "{err}"
    );
    assert!(err.contains("embedpack: sys.path ["), "{err}");
}

/// ld.so takes `$ORIGIN` from the path a library was opened by: through
/// an install-style symlink the plugin itself could not find `lib/`, so
/// hosts load a shim that finds its real path (stubs/shim.c).
#[test]
fn plugin_reached_through_an_install_symlink_starts_in_a_bare_root() {
    let printed = run_through_install_symlink(
        "symlink-build",
        sentinel_bundle(),
        "libsentinel.so",
        &["checks.isolated()", "checks.speedups()", "6*7"],
    );
    assert_eq!(printed, ["1\n1\n42\n", "1\n1\n42\n"]);
}

/// What the atexit tests evaluate in a bundle: three functions
/// registered, the second raising, then a line printed.
pub const ATEXIT_REGISTER: [&str; 4] = [
    "__import__('atexit').register(checks.say, 'registered first') is not None",
    "__import__('atexit').register(lambda: 1 / 0) is not None",
    "__import__('atexit').register(checks.say, 'registered last') is not None",
    "checks.say('before exit')",
];

/// Runs `ATEXIT_REGISTER` in the plugin `library` from the dlopen host,
/// checks what was printed, in order, and returns the host's stderr.
pub fn assert_atexit_functions_run(library: &Path) -> String {
    let output = run_ok(
        Command::new(run_plugin_host())
            .arg(library)
            .args(ATEXIT_REGISTER),
    );
    let out = stdout(&output);
    let printed: Vec<&str> = out.lines().filter(|l| !l.starts_with('1')).collect();
    assert_eq!(
        printed,
        ["before exit", "registered last", "registered first"],
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    stderr(&output)
}

/// Functions the init code or the app registers with `atexit` run when
/// the host exits, last registered first, as at a Python program's exit;
/// one that raises is reported and the others still run; what they print
/// is flushed.  In a Python host, whose own exit runs them, they run once.
#[test]
fn atexit_functions_run_when_the_host_exits() {
    let register = ATEXIT_REGISTER;
    let err = assert_atexit_functions_run(&sentinel_bundle().join("libsentinel.so"));
    assert!(err.contains("ZeroDivisionError"), "{err}");

    let code = "import ctypes, sys\n\
                lib = ctypes.CDLL(sys.argv[1])\n\
                lib.evaluate.argtypes = [ctypes.c_char_p]\n\
                for expression in sys.argv[2:]:\n\
                \x20   lib.evaluate(expression.encode())\n";
    let output = run_ok(
        Command::new(&python().path)
            .args(["-I", "-c", code])
            .arg(sentinel_bundle().join("libsentinel.so"))
            .args(&register[..1]),
    );
    assert_eq!(stdout(&output), "registered first\n", "{}", stderr(&output));
}
