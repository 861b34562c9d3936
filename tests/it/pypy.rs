//! PyPy bundles: `embedpack build` and `embedpack pack` with a PyPy venv
//! (tests/run.sh makes `venv-pypy`, with tests/requirements-pypy.txt, and
//! hands in `pypy3` as `EMBEDPACK_TEST_PYPY`).  The plugin is
//! tests/fixtures/pypy, the sentinel's PyPy twin; its checks ask PyPy
//! what CPython's sentinel asks of CPython, as far as PyPy can tell.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::bundle_runs::{assert_atexit_functions_run, assert_unchanged, ATEXIT_REGISTER};
use crate::support::*;

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

/// What `expression` (with `sys` and `sysconfig` imported) is in
/// `EMBEDPACK_TEST_PYPY`.
fn pypy_config(expression: &str) -> String {
    let code = format!("import sys, sysconfig; print({expression})");
    let output = run_ok(Command::new(pypy()).args(["-I", "-c", &code]));
    stdout(&output).trim().to_string()
}

fn build_pypy_plugin(venv: &Path, out: &Path, options: &[&str]) {
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
            .arg(out)
            .args(options),
    );
}

/// The PyPy plugin, built once per run from `venv-pypy`.
pub(crate) fn pypy_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("pypy-bundle").join("sentinel");
        build_pypy_plugin(&pypy_venv(), &out, &[]);
        out
    })
}

#[test]
fn pypy_bundle_starts_moved_without_its_venv_under_hostile_environment() {
    let dir = workdir("pypy-moved");
    let own_venv = dir.join("venv");
    copy_tree(&pypy_venv(), &own_venv);
    let built = dir.join("built");
    build_pypy_plugin(&own_venv, &built, &[]);
    std::fs::rename(&own_venv, dir.join("venv-renamed-away")).unwrap();
    let moved = dir.join("a path with space/bundle");
    std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
    std::fs::rename(&built, &moved).unwrap();
    assert!(moved.join("lib/libpypy3.9-c.so").is_file());
    assert!(moved.join("lib/pypy3.9/site.py").is_file());
    assert!(!moved.join("pyvenv.cfg").exists() && !moved.join("lib/pyvenv.cfg").exists());
    let evil = set_traps(&dir, &dir.join("cwd"), "pypy3.9");
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
    set_traps(&root, &root.join("work"), "pypy3.9");
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

/// `--no-stdlib-sources` under PyPy: the files by which PyPy finds its
/// home keep their sources, so it finds the bundle's, on a bare machine.
#[test]
fn pypy_bundle_without_stdlib_sources_runs_in_a_bare_chroot() {
    let root = bare_root("pypy-sourceless");
    let bundle = root.join("opt/sentinel");
    build_pypy_plugin(&pypy_venv(), &bundle, &["--no-stdlib-sources"]);
    assert!(bundle.join("lib/pypy3.9/json/decoder.pyc").is_file());
    assert!(!bundle.join("lib/pypy3.9/json/decoder.py").exists());
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    let output = run_ok(
        Command::new("/usr/sbin/chroot")
            .env_clear()
            .arg(&root)
            .args([
                "/host",
                "/opt/sentinel/libsentinel.so",
                "checks.isolated()",
                "checks.markupsafe()",
                "__import__('decimal').__file__.endswith('/decimal.pyc')",
            ]),
    );
    assert_eq!(stdout(&output), "1\n1\n1\n", "stderr:\n{}", stderr(&output));
}

/// PyPy imports its standard library from files only: `--zip-stdlib`
/// is refused, and nothing is written.
#[test]
fn zipped_stdlib_is_refused_for_pypy() {
    let out = workdir("pypy-zip-stdlib").join("sentinel");
    let fixture = repo().join("tests/fixtures/pypy");
    let output = embedpack()
        .arg("build")
        .arg(fixture.join("build_pypy.py"))
        .arg("--venv")
        .arg(pypy_venv())
        .arg("-o")
        .arg(&out)
        .arg("--zip-stdlib")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("--zip-stdlib: PyPy finds its standard library only as files"),
        "{err}"
    );
    assert!(
        err.contains("hint: leave out --zip-stdlib for this venv"),
        "{err}"
    );
    assert!(!out.exists());
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

/// The PyPy plugin compiled by hand, as CFFI's documentation shows for
/// CPython (`gcc -shared -fPIC x.c -I<PyPy's include> -lpypy3.9-c`), once.
fn hand_built_pypy_plugin() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let dir = workdir("pypy-hand-built");
        let script = repo().join("tests/fixtures/pypy/build_pypy.py");
        let code = format!(
            "import runpy; runpy.run_path({:?})['ffibuilder'].emit_c_code('sentinel.c')",
            script.display().to_string()
        );
        run_ok(Command::new(pypy()).args(["-c", &code]).current_dir(&dir));
        let include = pypy_config("sysconfig.get_path('include')");
        let (major, minor) = (
            pypy_config("sys.version_info[0]"),
            pypy_config("sys.version_info[1]"),
        );
        let bin = std::fs::canonicalize(pypy()).unwrap();
        let library = dir.join("libsentinel.so");
        run_ok(
            Command::new("cc")
                .args(["-shared", "-fPIC", "-O2", "sentinel.c", "-o"])
                .arg(&library)
                .arg(format!("-I{include}"))
                // PyPy's own builds keep libpypy beside the executable.
                .arg(format!("-L{}", bin.parent().unwrap().display()))
                .arg(format!("-lpypy{major}.{minor}-c"))
                .current_dir(&dir),
        );
        library
    })
}

#[test]
fn hand_built_pypy_library_is_packed_and_runs_moved_in_a_bare_chroot() {
    let root = bare_root("pypy-pack-chroot");
    let out = workdir("pypy-pack").join("sentinel");
    run_ok(
        embedpack()
            .arg("pack")
            .arg(hand_built_pypy_plugin())
            .arg("--venv")
            .arg(pypy_venv())
            .arg("--app")
            .arg(repo().join("tests/fixtures/pypy/app"))
            .arg("-o")
            .arg(&out)
            .arg("-q"),
    );
    run_ok(embedpack().arg("verify").arg(&out));
    let bundle = root.join("opt/packed plugins/sentinel");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    copy_tree(&out, &bundle);
    std::fs::remove_dir_all(&out).unwrap();
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    set_traps(&root, &root.join("work"), "pypy3.9");
    let mut command = Command::new("/usr/sbin/chroot");
    trapped(&mut command, Path::new("/evil")).arg(&root).args([
        "/host",
        "/opt/packed plugins/sentinel/libsentinel.so",
        "--chdir",
        "/work",
        "--threads",
        "8",
        "checks.isolated()",
        "checks.markupsafe()",
        "6*7",
    ]);
    let output = run_ok(&mut command);
    assert_eq!(
        stdout(&output),
        "1 (8 threads)\n1\n42\n",
        "stderr:\n{}",
        stderr(&output)
    );
    assert_unchanged(&bundle);
}

#[test]
fn inspect_tells_pypy_libraries_and_bundles() {
    let library = hand_built_pypy_plugin();
    let output = run_ok(embedpack().arg("inspect").arg(library).arg("--json"));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["cffi_embedding"], true, "{json}");
    assert_eq!(json["module"], "sentinel", "{json}");
    assert_eq!(json["libpython"]["implementation"], "pypy", "{json}");
    assert_eq!(json["libpython"]["python"], "3.9", "{json}");
    let text = stdout(&run_ok(embedpack().arg("inspect").arg(library)));
    assert!(
        text.contains("Python:   pypy 3.9 (needs `libpypy3.9-c.so`)"),
        "{text}"
    );
    let text = stdout(&run_ok(embedpack().arg("inspect").arg(pypy_bundle())));
    assert!(text.contains("Python:   pypy 3.9."), "{text}");
    assert!(
        !text.contains("libpypy"),
        "libpypy is no vendored library:\n{text}"
    );
}

/// examples/hello built from the PyPy venv as it comes (no markupsafe),
/// once.
fn pypy_hello() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| hello_bundle("pypy-hello", &named_venv("pypy")))
}

/// examples/hello built from `venv`, for tests with two bundles.
fn hello_bundle(name: &str, venv: &Path) -> PathBuf {
    let out = workdir(name).join("hello");
    run_ok(
        embedpack()
            .arg("build")
            .arg(repo().join("examples/hello/build_hello.py"))
            .arg("--venv")
            .arg(venv)
            .arg("--app")
            .arg(repo().join("examples/hello/app"))
            .arg("-o")
            .arg(&out)
            .arg("-q"),
    );
    out
}

#[test]
fn two_pypy_bundles_share_one_pypy_each_with_its_paths() {
    // hello from the PyPy venv without markupsafe: the sentinel's own
    // markupsafe must be importable once hello started PyPy.
    let hello = pypy_hello();
    let sentinel = pypy_bundle();
    let output = run_ok(
        Command::new(two_plugins_host())
            .arg(hello.join("libhello.so"))
            .arg(sentinel.join("libsentinel.so"))
            .arg("checks.markupsafe()")
            .arg(format!("sys.prefix == {:?}", hello.display().to_string()))
            .arg(format!(
                "sys.path[-1] == {:?}",
                sentinel.join("site-packages").display().to_string()
            ))
            .arg(format!(
                "__import__('greeting').__file__.startswith('{}/')",
                hello.join("app").display()
            )),
    );
    assert_eq!(
        stdout(&output),
        "42\n1\n1\n1\n1\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn pypy_bundle_in_a_process_that_runs_cpython_says_so_and_returns_0() {
    let hello = hello_bundle("pypy-after-cpython", &venv());
    let output = run_ok(
        Command::new(two_plugins_host())
            .arg(hello.join("libhello.so"))
            .arg(pypy_bundle().join("libsentinel.so"))
            .arg("6*7"),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "42\n0\n", "stderr:\n{err}");
    let expected = format!(
        "embedpack: the Python bundle {} cannot start: it was built for PyPy, \
         but this process already runs CPython {}",
        pypy_bundle().join("libsentinel.so").display(),
        python().version_string()
    );
    assert!(err.contains(&expected), "{err}");
}

/// CFFI's own embedding programs (`testing/embedding`, as
/// tests/it/cffi_suite.rs runs them on CPython) built through embedpack
/// from the PyPy venv, each linked to its bundles and run from `/`.
/// `perf-test` is a benchmark, as on CPython; the unicode plugin, whose
/// test is about stderr, runs in cffi_suite.rs on CPython only.
#[test]
fn cffi_embedding_programs_under_pypy() {
    let cffi = test_env("cffi-src/testing/embedding", "test_basic.py");
    let dir = workdir("pypy-cffi");
    let bundle = |name: &str| -> PathBuf {
        let script = dir.join(format!("{name}.py"));
        std::fs::copy(cffi.join(format!("{name}.py")), &script).unwrap();
        let out = dir.join(format!("bundle-{name}"));
        if !out.exists() {
            run_ok(
                embedpack()
                    .arg("build")
                    .arg(&script)
                    .arg("--venv")
                    .arg(named_venv("pypy"))
                    .arg("-o")
                    .arg(&out)
                    .arg("-q"),
            );
        }
        out
    };
    let program = |name: &str, plugins: &[&str], defines: &[&str]| -> String {
        let exe = dir.join(format!("{name}{}", defines.len()));
        let mut cc = Command::new("cc");
        cc.arg("-pthread").arg("-o").arg(&exe);
        cc.args(defines.iter().map(|d| format!("-D{d}")));
        cc.arg(cffi.join(format!("{name}.c")));
        for plugin in plugins {
            let out = bundle(plugin);
            cc.arg("-I").arg(out.join("include")).arg("-L").arg(&out);
            cc.arg(format!("-l_{plugin}_cffi"));
            cc.arg(format!("-Wl,-rpath,{}", out.display()));
        }
        run_ok(&mut cc);
        let output = run_ok(Command::new(&exe).current_dir("/"));
        let err = stderr(&output);
        if !plugins.contains(&"initerror") {
            assert_eq!(err, "", "{name} wrote to stderr");
        }
        stdout(&output)
    };
    assert_eq!(
        program("add1-test", &["add1"], &[]),
        "preparing...\nadding 40 and 2\nadding 100 and -5\ngot: 42 95\n"
    );
    assert_eq!(
        program("add2-test", &["add1", "add2"], &[]),
        "preparing...\nadding 40 and 2\nprepADD2\nadding 100 and -5 and -20\ngot: 42 75\n"
    );
    assert_eq!(
        program("add1-test", &["initerror"], &[]),
        "got: 0 0\n",
        "the init code raises: every call returns 0"
    );
    assert_eq!(
        program("thread1-test", &["add1"], &[]),
        format!(
            "starting\npreparing...\n{}done\n",
            "adding 40 and 2\n".repeat(10)
        )
    );
    // Two plugins start in two threads at once; add1's init is slow.
    let out = program("thread2-test", &["add1", "add2"], &[]);
    let mut lines: Vec<&str> = out.lines().collect();
    lines.sort();
    assert_eq!(
        lines.iter().filter(|l| l.contains("adding")).count(),
        2,
        "{out}"
    );
    assert!(
        out.starts_with("starting\n") && out.ends_with("done\n"),
        "{out}"
    );
    assert!(
        out.contains("prepADD2") && out.contains("preparing"),
        "{out}"
    );
    let out = program("thread2-test", &["add1", "add2"], &["T2TEST_AGAIN_ADD1=1"]);
    assert!(out.contains("adding -1 and -1\n"), "{out}");
    for _ in 0..20 {
        let out = program("thread3-test", &["add2", "add3"], &[]);
        assert_eq!(
            out.matches("adding 40 and 2 and 100\n").count(),
            10,
            "{out}"
        );
        assert_eq!(
            out.matches("adding 1000, 200, 30, 4\n").count(),
            10,
            "{out}"
        );
    }
    assert_eq!(program("tlocal-test", &["tlocal"], &[]), "done\n");
    assert_eq!(program("empty-test", &["empty"], &[]), "OK\n");
    assert_eq!(
        program("add_recursive-test", &["add_recursive"], &[]),
        "preparing REC\nsome_callback(400)\nadding 400 and 9\n<<< 409 >>>\n\
         adding 40 and 2\nadding 100 and -5\ngot: 42 95\n"
    );
}

#[test]
fn damaged_pypy_bundle_names_itself_and_returns_0() {
    let dir = workdir("pypy-damaged");
    let bundle = dir.join("sentinel");
    copy_tree(pypy_bundle(), &bundle);
    std::fs::remove_file(bundle.join("lib/pypy3.9/os.py")).unwrap();
    let output = run_ok(
        Command::new(run_plugin_host())
            .arg(bundle.join("libsentinel.so"))
            .args(["6*7", "6*7"]),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "0\n0\n", "stderr:\n{err}");
    let expected = format!(
        "embedpack: the Python bundle {} cannot start: {} is missing",
        bundle.join("libsentinel.so").display(),
        bundle.join("lib/pypy3.9/os.py").display()
    );
    assert_eq!(err.matches(&expected).count(), 1, "{err}");

    // A host linked at build time can ask before calling anything.
    let linked = linked_sentinel_host(&bundle);
    let output = Command::new(linked).arg("6*7").output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    let missing = format!("{} is missing", bundle.join("lib/pypy3.9/os.py").display());
    assert!(
        err.contains(&format!("sentinel_init failed: {missing}"))
            || err.contains("sentinel_init failed: ") && err.contains(&missing),
        "{err}"
    );
}

/// A host linked at build time to the PyPy bundle, through its header
/// and its pkg-config file, and a C++ host built by CMake from its
/// package, each run from `/`.
#[test]
fn pypy_bundle_serves_hosts_linked_through_pkg_config_and_cmake() {
    let bundle = pypy_hello();
    let dir = workdir("pypy-c-apps");
    let output = run_ok(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", bundle.join("lib/pkgconfig"))
            .env_remove("PKG_CONFIG_LIBDIR")
            .args(["--cflags", "--libs", "hello"]),
    );
    let flags: Vec<String> = stdout(&output)
        .split_whitespace()
        .map(String::from)
        .collect();
    let program = dir.join("hello-host");
    run_ok(
        Command::new("cc")
            .args(["-Wall", "-Wextra", "-Werror", "-std=c99", "-pedantic"])
            .arg(repo().join("examples/hello/host.c"))
            .arg("-o")
            .arg(&program)
            .args(&flags)
            .env_remove("LIBRARY_PATH"),
    );
    let output = run_ok(
        Command::new(&program)
            .current_dir("/")
            .env_remove("LD_LIBRARY_PATH"),
    );
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));

    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("examples/cmake-host/run.sh"))
            .env("BUNDLE", bundle)
            .env("BUILD", dir.join("cmake-build"))
            .env_remove("LD_LIBRARY_PATH"),
    );
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));
}

/// The PyPy plugin built as `.zip` and `.tar.gz` from two copies of its
/// project, in other places, with two copies of its venv: the same bytes,
/// and `verify` accepts them.
#[test]
fn pypy_archives_are_reproducible_and_verify() {
    let dir = workdir("pypy-reproducible");
    let mut outputs = Vec::new();
    for place in ["first", "second/nested deeper"] {
        let root = dir.join(place);
        std::fs::create_dir_all(&root).unwrap();
        let project = root.join("project");
        copy_tree(&repo().join("tests/fixtures/pypy"), &project);
        let venv = root.join("venv");
        copy_tree(&pypy_venv(), &venv);
        let out = root.join("out");
        for name in ["sentinel.zip", "sentinel.tar.gz"] {
            run_ok(
                embedpack()
                    .arg("build")
                    .arg(project.join("build_pypy.py"))
                    .arg("--venv")
                    .arg(&venv)
                    .arg("--app")
                    .arg(project.join("app"))
                    .arg("-o")
                    .arg(out.join(name))
                    .arg("-q")
                    // Each compiles its own bytecode: the cache would hand
                    // the second build the first one's.
                    .arg("--no-cache")
                    .env_remove("SOURCE_DATE_EPOCH"),
            );
        }
        outputs.push(out);
    }
    for name in ["sentinel.zip", "sentinel.tar.gz"] {
        let first = std::fs::read(outputs[0].join(name)).unwrap();
        let second = std::fs::read(outputs[1].join(name)).unwrap();
        assert!(first == second, "{name} differs between the two builds");
        run_ok(embedpack().arg("verify").arg(outputs[0].join(name)));
    }
}

#[test]
fn cpython_bundle_in_a_process_that_runs_pypy_says_so_and_returns_0() {
    let hello = pypy_hello();
    let output = run_ok(
        Command::new(two_plugins_host())
            .arg(hello.join("libhello.so"))
            .arg(sentinel_bundle().join("libsentinel.so"))
            .arg("6*7"),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "42\n0\n", "stderr:\n{err}");
    let expected = format!(
        "embedpack: the Python bundle {} cannot start: it was built for CPython {}, \
         but this process already runs PyPy",
        sentinel_bundle().join("libsentinel.so").display(),
        format_args!("{}.{}", python().version.0, python().version.1)
    );
    assert_eq!(err.matches(&expected).count(), 1, "{err}");
}

/// As on CPython (bundle_runs.rs): `atexit` functions run when the host
/// exits, last registered first, a failing one reported; in a PyPy host,
/// whose own exit runs them, once.
#[test]
fn pypy_atexit_functions_run_when_the_host_exits() {
    let register = ATEXIT_REGISTER;
    let err = assert_atexit_functions_run(&pypy_bundle().join("libsentinel.so"));
    assert_eq!(err.matches("ZeroDivisionError").count(), 1, "{err}");

    let code = "import ctypes, sys\n\
                lib = ctypes.CDLL(sys.argv[1])\n\
                lib.evaluate.argtypes = [ctypes.c_char_p]\n\
                lib.evaluate(sys.argv[2].encode())\n";
    let output = run_ok(
        Command::new(pypy_venv().join("bin/python"))
            .args(["-c", code])
            .arg(pypy_bundle().join("libsentinel.so"))
            .arg(register[0]),
    );
    assert_eq!(stdout(&output), "registered first\n", "{}", stderr(&output));
}
