//! PyPy bundles: `embedpack build` and `embedpack pack` with a PyPy venv
//! (tests/run.sh makes `venv-pypy`, with tests/requirements-pypy.txt, and
//! hands in `pypy3` as `EMBEDPACK_TEST_PYPY`).  The plugin is
//! tests/fixtures/pypy, the sentinel's PyPy twin; its checks ask PyPy
//! what CPython's sentinel asks of CPython, as far as PyPy can tell.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::bundle_runs::assert_unchanged;
use crate::support::*;

/// A trap that ends the process if any of the hostile settings reached
/// PyPy: modules on `PYTHONPATH`, `PYTHONHOME` or the working directory,
/// a `PYTHONSTARTUP` file, a user site directory with a .pth file and
/// `usercustomize`.
fn set_traps(root: &Path, cwd: &Path) -> PathBuf {
    let trap = "raise SystemExit('a PYTHON* trap was imported')\n";
    let evil = root.join("evil");
    let user_site = evil.join("lib/pypy3.9/site-packages");
    std::fs::create_dir_all(&user_site).unwrap();
    std::fs::create_dir_all(cwd).unwrap();
    for path in [
        evil.join("json.py"),
        evil.join("sitecustomize.py"),
        user_site.join("usercustomize.py"),
        user_site.join("json.py"),
        cwd.join("json.py"),
    ] {
        std::fs::write(path, trap).unwrap();
    }
    std::fs::write(user_site.join("evil.pth"), "import sys; sys.exit(3)\n").unwrap();
    evil
}

/// `command` with nothing but the hostile variables, all pointing at
/// `evil` (as the host sees it).
fn trapped<'a>(command: &'a mut Command, evil: &Path) -> &'a mut Command {
    command
        .env_clear()
        .env("PYTHONPATH", evil)
        .env("PYTHONHOME", evil)
        .env("PYTHONSTARTUP", evil.join("json.py"))
        .env("PYTHONUSERBASE", evil)
        .env("HOME", evil)
}

fn pypy_venv() -> PathBuf {
    named_venv("venv-pypy")
}

/// `EMBEDPACK_TEST_PYPY`: the pypy3 the PyPy venvs were made with.
fn pypy() -> PathBuf {
    let path = std::env::var("EMBEDPACK_TEST_PYPY").unwrap_or_default();
    assert!(
        !path.is_empty(),
        "`EMBEDPACK_TEST_PYPY` is not set: run the tests with `bash tests/run.sh`"
    );
    PathBuf::from(path)
}

/// `sysconfig.get_config_var(name)` (or, for `include`, the include
/// path) of `EMBEDPACK_TEST_PYPY`.
fn pypy_config(expression: &str) -> String {
    let code = format!("import sysconfig; print({expression})");
    let output = run_ok(Command::new(pypy()).args(["-I", "-c", &code]));
    stdout(&output).trim().to_string()
}

fn build_pypy_plugin(venv: &Path, out: &Path) {
    let fixture = repo().join("tests/fixtures/pypy");
    run_ok(
        embedpack()
            .arg("build")
            .arg(fixture.join("build_pypy.py"))
            .arg("--venv")
            .arg(venv)
            .arg("--app")
            .arg(fixture.join("app"))
            .arg("-o")
            .arg(out),
    );
}

/// The PyPy plugin, built once per run from `venv-pypy`.
fn pypy_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("pypy-bundle").join("sentinel");
        build_pypy_plugin(&pypy_venv(), &out);
        out
    })
}

#[test]
fn pypy_bundle_starts_moved_without_its_venv_under_hostile_environment() {
    let dir = workdir("pypy-moved");
    let own_venv = dir.join("venv");
    copy_tree(&pypy_venv(), &own_venv);
    let built = dir.join("built");
    build_pypy_plugin(&own_venv, &built);
    std::fs::rename(&own_venv, dir.join("venv-renamed-away")).unwrap();
    let moved = dir.join("a path with space/bundle");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&built, &moved).unwrap();
    assert!(moved.join("lib/libpypy3.9-c.so").is_file());
    assert!(moved.join("lib/pypy3.9/site.py").is_file());
    assert!(!moved.join("pyvenv.cfg").exists() && !moved.join("lib/pyvenv.cfg").exists());
    let evil = set_traps(&dir, &dir.join("cwd"));
    let mut command = Command::new(run_plugin_host());
    trapped(&mut command, &evil)
        .current_dir(dir.join("cwd"))
        .arg(moved.join("libsentinel.so"))
        .args([
            "checks.isolated()",
            "checks.markupsafe()",
            "checks.inside(sys.prefix + '/x')",
            &format!("checks.user_base() == {:?}", evil.display().to_string()),
            &format!("checks.write_unicode_name({:?})", dir.display().to_string()),
            "6*7",
        ]);
    // No locale variable at all: PyPy would take the C locale and
    // encode file names as ASCII; the bootstrap starts it with C.UTF-8.
    let output = run_ok(&mut command);
    assert!(dir.join("données-✓.txt").is_file());
    assert_eq!(
        stdout(&output),
        "1\n1\n1\n1\n9\n42\n",
        "stderr:\n{}",
        stderr(&output)
    );
    assert_unchanged(&moved);
}

/// A bare machine has no locale files: there PyPy stays in the C locale
/// and cannot encode non-ASCII file names (unlike CPython's UTF-8 mode),
/// so this test writes none.
#[test]
fn pypy_bundle_in_a_bare_chroot_with_eight_threads() {
    let root = bare_root("pypy-chroot");
    let bundle = root.join("opt/my plugins/sentinel");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    copy_tree(pypy_bundle(), &bundle);
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    set_traps(&root, &root.join("work"));
    let mut command = Command::new("/usr/sbin/chroot");
    trapped(&mut command, Path::new("/evil")).arg(&root).args([
        "/host",
        "/opt/my plugins/sentinel/libsentinel.so",
        "--chdir",
        "/work",
        "--threads",
        "8",
        "checks.isolated()",
        "checks.markupsafe()",
        "checks.say('printed from PyPy')",
    ]);
    let output = run_ok(&mut command);
    let out = stdout(&output);
    let (python, host): (Vec<&str>, Vec<&str>) = out.lines().partition(|l| l.contains("PyPy"));
    assert_eq!(
        python,
        ["printed from PyPy"],
        "stdout:\n{out}\nstderr:\n{}",
        stderr(&output)
    );
    assert_eq!(
        host,
        ["1 (8 threads)", "1", "1"],
        "stderr:\n{}",
        stderr(&output)
    );
    assert_unchanged(&bundle);
}

#[test]
fn pypy_bundle_verifies_and_debug_names_its_home() {
    let bundle = pypy_bundle();
    run_ok(embedpack().arg("verify").arg(bundle));
    let output = run_ok(
        Command::new(run_plugin_host())
            .env("EMBEDPACK_DEBUG", "1")
            .arg(bundle.join("libsentinel.so"))
            .arg("1"),
    );
    let err = stderr(&output);
    assert!(
        err.contains(&format!("embedpack: sys.prefix {}", bundle.display())),
        "{err}"
    );
    assert!(err.contains("(started PyPy)"), "{err}");
}
