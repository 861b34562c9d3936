//! `embedpack build` bundles every kind of environment: venvs made by
//! `python -m venv`, virtualenv and uv, a venv on Debian's python3.11
//! (static executable, libpython in the multiarch folder), a venv that
//! includes the system site-packages, and editable installs, which travel
//! as their sources; and a venv on each pyenv CPython from 3.8 to 3.13.
//! tests/run.sh makes each venv once (see `support::named_venv`); these
//! tests only read them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;

/// What every sentinel bundle must answer 1 to: nothing from outside got
/// in, and markupsafe's C extension loaded from the bundle.
const STARTS: [&str; 2] = ["checks.isolated()", "checks.speedups()"];

/// Builds the sentinel plugin from `venv` into a fresh folder `name`.
fn build(venv: &Path, name: &str) -> (PathBuf, Output) {
    let out = workdir(name).join("sentinel");
    let output = run_ok(&mut sentinel_command(venv, &out));
    (out, output)
}

/// Runs `expressions` through the dlopen() host from `/`; each must print 1.
fn assert_answers_one(bundle: &Path, expressions: &[&str]) {
    let output = run_ok(
        Command::new(run_plugin_host())
            .current_dir("/")
            .arg(bundle.join("libsentinel.so"))
            .args(expressions),
    );
    assert_eq!(
        stdout(&output),
        "1\n".repeat(expressions.len()),
        "{expressions:?}\nstderr:\n{}",
        stderr(&output)
    );
}

/// Copies the bundle and the host into a bare root (no Python, no venv,
/// no source tree) and runs `expressions` there; each must print 1.
fn assert_answers_one_in_a_bare_chroot(bundle: &Path, root_name: &str, expressions: &[&str]) {
    let root = bare_root(root_name);
    std::fs::create_dir_all(root.join("opt")).unwrap();
    copy_tree(bundle, &root.join("opt/sentinel"));
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    let output = run_ok(
        Command::new("/usr/sbin/chroot")
            .env_clear()
            .arg(&root)
            .args(["/host", "/opt/sentinel/libsentinel.so"])
            .args(expressions),
    );
    assert_eq!(
        stdout(&output),
        "1\n".repeat(expressions.len()),
        "{expressions:?}\nstderr:\n{}",
        stderr(&output)
    );
}

/// Every file under `dir`, relative to it.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().to_path_buf())
        .collect()
}

fn manifest(bundle: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap()
}

/// The shared sentinel bundle is built from the main test venv, made by
/// `python -m venv`.
#[test]
fn python_m_venv_on_pyenv() {
    assert_answers_one(sentinel_bundle(), &STARTS);
}

#[test]
fn virtualenv_venv_runs_in_a_bare_chroot() {
    let venv = named_venv("virtualenv");
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    assert!(cfg.contains("base-executable"), "not a virtualenv:\n{cfg}");
    let (bundle, _) = build(&venv, "env-virtualenv");
    // virtualenv's `pip-<version>.virtualenv` markers go with pip.
    let site = files_under(&bundle.join("site-packages"));
    assert!(
        !site
            .iter()
            .any(|f| f.to_string_lossy().ends_with(".virtualenv")),
        "{site:?}"
    );
    assert_answers_one(&bundle, &STARTS);
    assert_answers_one_in_a_bare_chroot(&bundle, "chroot-virtualenv", &STARTS);
}

#[test]
fn uv_venv_without_pip_runs_in_a_bare_chroot() {
    let venv = named_venv("uv");
    let cfg = std::fs::read_to_string(venv.join("pyvenv.cfg")).unwrap();
    assert!(
        cfg.contains("uv = ") && !cfg.contains("\nversion ="),
        "not a uv venv:\n{cfg}"
    );
    assert!(!venv.join("bin/pip").exists(), "uv venvs have no pip");
    let (bundle, _) = build(&venv, "env-uv");
    assert_answers_one(&bundle, &STARTS);
    assert_answers_one_in_a_bare_chroot(&bundle, "chroot-uv", &STARTS);
}

/// Debian links its python3.11 statically and ships libpython in the
/// multiarch folder (its `LIBDIR`, /usr/lib/x86_64-linux-gnu); the bundle
/// must carry that one, which is the same build as Debian's interpreter
/// (its `sys.version`), not pyenv's libpython3.11 of another micro version.
#[test]
fn debian_python_venv_carries_its_multiarch_libpython_and_runs_in_a_bare_chroot() {
    let debian = run_ok(Command::new(&debian_python().path).args([
        "-I",
        "-c",
        "import sys; print(repr(sys.version), end='')",
    ]));
    let version = stdout(&debian);
    let libpython = debian_python().libpython().display().to_string();
    let (bundle, output) = build(&named_venv("debian"), "env-debian");
    assert!(
        stderr(&output).contains(&libpython),
        "`{libpython}` not in:\n{}",
        stderr(&output)
    );
    assert!(bundle.join("lib/libpython3.11.so.1.0").is_file());
    let python = &manifest(&bundle)["python"];
    assert_eq!(python["libpython"], "libpython3.11.so.1.0", "{python}");
    let same_build = format!("sys.version == {version}");
    let expressions = [STARTS[0], STARTS[1], same_build.as_str()];
    assert_answers_one(&bundle, &expressions);
    assert_answers_one_in_a_bare_chroot(&bundle, "chroot-debian", &expressions);
}

/// With include-system-site-packages, the base's dist-packages are carried
/// (six, from apt), but what the venv installs shadows them: cffi 2.0's
/// `_cffi_backend` wins over Debian's 1.15, and Debian's pip and
/// setuptools, build tools, stay out.
#[test]
fn system_site_packages_are_carried_behind_the_venvs_own() {
    let (bundle, output) = build(&named_venv("system-site"), "env-system-site");
    let site = bundle.join("site-packages");
    for left_out in ["pip", "setuptools", "distutils-precedence.pth"] {
        assert!(!site.join(left_out).exists(), "{left_out} was carried");
    }
    assert!(site.join("six.py").is_file());
    assert_answers_one(
        &bundle,
        &[
            STARTS[0],
            STARTS[1],
            "checks.inside(__import__('six').__file__)",
            "__import__('_cffi_backend').__version__ == '2.0.0'",
            "__import__('cffi').__version__ == '2.0.0'",
        ],
    );
    // Carrying a whole system site-packages is no small thing: say its size.
    let log = stderr(&output);
    assert!(log.contains("site-packages: "), "no size line:\n{log}");
}

/// The editable venv's sources, as run.sh copied them.
fn editable_sources() -> PathBuf {
    repo().join("target/test-env/editable-src")
}

/// Editable installs travel as their sources: a bundle must not point
/// to the build machine's source tree, so it runs where that tree does
/// not exist.
#[test]
fn editable_installs_are_carried_as_their_sources() {
    let (bundle, _) = build(&named_venv("editable"), "env-editable");
    let site = bundle.join("site-packages");
    let carried = files_under(&site);
    for expected in [
        "finderpkg/__init__.py",
        "finderpkg/data/answer.txt",
        "compatpkg/__init__.py",
        "compatpkg/core.py",
        "loosemod.py",
        "unowned.py",
    ] {
        assert!(
            site.join(expected).is_file(),
            "{expected} is missing: {carried:?}"
        );
    }
    for file in &carried {
        let name = file.to_string_lossy();
        assert!(
            !name.contains("__editable__")
                && !name.ends_with(".pth")
                && !name.contains("egg-info")
                && !name.ends_with("pyproject.toml")
                && !name.ends_with("README.txt"),
            "{name} was carried"
        );
    }
    let sources = editable_sources().to_string_lossy().into_owned();
    for file in files_under(&bundle) {
        let bytes = std::fs::read(bundle.join(&file)).unwrap();
        assert!(
            !bytes
                .windows(sources.len())
                .any(|w| w == sources.as_bytes()),
            "{} names the source tree `{sources}`",
            file.display()
        );
    }
    let expressions = [
        STARTS[0],
        STARTS[1],
        "checks.inside(__import__('finderpkg').__file__) and __import__('finderpkg').answer() == 42",
        "checks.inside(__import__('compatpkg').__file__) and __import__('compatpkg').answer() == 7",
        "checks.inside(__import__('loosemod').__file__) and __import__('loosemod').VALUE == 5",
        "__import__('unowned').VALUE == 3",
        "not [p for p in sys.path if 'editable-src' in p]",
    ];
    assert_answers_one(&bundle, &expressions);
    // The bare root holds no source tree at all: the bundle works with
    // its sources moved away.
    assert_answers_one_in_a_bare_chroot(&bundle, "chroot-editable", &expressions);
}

/// `--exclude` leaves a distribution out by its metadata: an editable one
/// (its .pth, hence its sources) and a regular one (every file its
/// RECORD lists), named as pip shows them or not.
#[test]
fn exclude_leaves_distributions_out() {
    let out = workdir("env-exclude").join("sentinel");
    run_ok(sentinel_command(&named_venv("editable"), &out).args([
        "--exclude",
        "compatpkg",
        "--exclude",
        "PyCParser",
    ]));
    let site = out.join("site-packages");
    let carried = files_under(&site);
    for file in &carried {
        let name = file.to_string_lossy();
        assert!(
            !name.contains("compatpkg") && !name.contains("pycparser"),
            "{name} was carried"
        );
    }
    assert!(site.join("finderpkg/__init__.py").is_file(), "{carried:?}");
    assert!(site.join("cffi/__init__.py").is_file(), "{carried:?}");
    assert_answers_one(
        &out,
        &[
            STARTS[0],
            STARTS[1],
            "__import__('importlib.util').util.find_spec('compatpkg') is None",
            "__import__('importlib.util').util.find_spec('pycparser') is None",
            "__import__('finderpkg').answer() == 42",
        ],
    );
}

/// A package's test suite, its folder named `tests`, is left out and
/// named, in the log and in `--json`; `--keep-tests` keeps it.
#[test]
fn test_suites_of_packages_are_left_out_unless_kept() {
    let venv = named_venv("editable");
    let out = workdir("env-tests").join("sentinel");
    let output = run_ok(sentinel_command(&venv, &out).arg("--json"));
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    // pip's vendored packages have suites too, but pip is left out whole.
    assert_eq!(summary["tests_left_out"], serde_json::json!(["testedpkg"]));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("left out the test suites of testedpkg; keep them with --keep-tests"),
        "{stderr}"
    );
    let site = out.join("site-packages");
    assert!(site.join("testedpkg/__init__.py").is_file());
    assert!(!site.join("testedpkg/tests").exists());
    assert_answers_one(
        &out,
        &[
            "__import__('testedpkg').answer() == 42",
            "__import__('importlib.util').util.find_spec('testedpkg.tests') is None",
        ],
    );
    let kept = workdir("env-tests-kept").join("sentinel");
    let plan = run_ok(sentinel_command(&venv, &kept).args(["--keep-tests", "--dry-run"]));
    let plan = String::from_utf8_lossy(&plan.stdout);
    assert!(
        plan.contains("site-packages/testedpkg/tests/test_answer.py"),
        "{plan}"
    );
}

/// The sentinel plugin bundled from a venv on pyenv's newest CPython
/// 3.`minor` (tests/requirements-versions.txt), as it comes and with its
/// standard library zipped and sourceless (the import system's loaders
/// for both changed from version to version): each verifies and answers
/// from a bare machine, on that version.
fn bundles_run_in_a_bare_chroot_on_cpython_3(minor: u32) {
    let python = newest_cpython(3, minor);
    let venv = named_venv(&format!("venv-cpython-{}", python.version_string()));
    let version = format!("__import__('sys').version_info[:3] == {:?}", python.version);
    for (name, options, json) in [
        ("files", &[][..], "/json/__init__.py"),
        (
            "zipped",
            &["--zip-stdlib", "--no-stdlib-sources"][..],
            ".zip/json/__init__.pyc",
        ),
    ] {
        let name = format!("cpython-3.{minor}-{name}");
        let out = workdir(&format!("env-{name}")).join("sentinel");
        run_ok(sentinel_command(&venv, &out).args(options));
        run_ok(embedpack().arg("verify").arg(&out));
        let json = format!("__import__('json').__file__.endswith('{json}')");
        let expressions = [STARTS[0], STARTS[1], &version, &json];
        assert_answers_one_in_a_bare_chroot(&out, &format!("chroot-{name}"), &expressions);
    }
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_8() {
    bundles_run_in_a_bare_chroot_on_cpython_3(8);
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_9() {
    bundles_run_in_a_bare_chroot_on_cpython_3(9);
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_10() {
    bundles_run_in_a_bare_chroot_on_cpython_3(10);
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_11() {
    bundles_run_in_a_bare_chroot_on_cpython_3(11);
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_12() {
    bundles_run_in_a_bare_chroot_on_cpython_3(12);
}

#[test]
fn bundles_run_in_a_bare_chroot_on_cpython_3_13() {
    bundles_run_in_a_bare_chroot_on_cpython_3(13);
}

/// `--no-stdlib-sources`: the standard library is bytecode alone, each
/// `.pyc` where its source was, but for the files the bootstrap checks
/// for; site-packages keeps its sources.  The bundle verifies and runs on
/// a bare machine.
#[test]
fn stdlib_without_sources_runs_in_a_bare_chroot() {
    let out = workdir("env-sourceless").join("sentinel");
    run_ok(sentinel_command(&venv(), &out).arg("--no-stdlib-sources"));
    let (major, minor, _) = python().version;
    let stdlib = out.join(format!("python/lib/python{major}.{minor}"));
    let mut sources: Vec<PathBuf> = files_under(&stdlib)
        .into_iter()
        .filter(|f| f.extension().is_some_and(|x| x == "py"))
        .collect();
    sources.sort();
    assert_eq!(
        sources,
        [Path::new("encodings/__init__.py"), Path::new("os.py")]
    );
    assert!(stdlib.join("json/decoder.pyc").is_file());
    assert!(!stdlib.join("json/__pycache__").exists());
    assert!(out.join("site-packages/cffi/__init__.py").is_file());
    run_ok(embedpack().arg("verify").arg(&out));
    let expressions = [
        STARTS[0],
        STARTS[1],
        "__import__('decimal').__file__.endswith('/decimal.pyc')",
        "__import__('json').loads('[7]') == [7]",
    ];
    assert_answers_one_in_a_bare_chroot(&out, "chroot-sourceless", &expressions);
}

/// `--zip-stdlib`: the standard library's modules and data are one zip,
/// their bytecode beside their sources inside it, imported from there;
/// its extension modules and its licence stay files.  `inspect` still finds the sources,
/// and with `--no-stdlib-sources` too the zip holds bytecode alone.  Both
/// verify and run on a bare machine.
#[test]
fn zipped_stdlib_runs_in_a_bare_chroot_with_and_without_sources() {
    let (major, minor, _) = python().version;
    let zip_name = format!("python{major}{minor}.zip");
    for (name, options, expressions) in [
        (
            "zipped",
            &["--zip-stdlib"][..],
            [
                "__import__('json').__file__.endswith('.zip/json/__init__.pyc')",
                "__import__('inspect').getsource(__import__('json').dumps).startswith('def dumps(')",
            ],
        ),
        (
            "zipped-sourceless",
            &["--zip-stdlib", "--no-stdlib-sources"][..],
            [
                "__import__('json').__file__.endswith('.zip/json/__init__.pyc')",
                "__import__('decimal').__file__.endswith('.zip/decimal.pyc')",
            ],
        ),
    ] {
        let out = workdir(&format!("env-{name}")).join("sentinel");
        let planned = run_ok(sentinel_command(&venv(), &out).args(options).arg("--dry-run"));
        let planned = stdout(&planned);
        let zip_line = format!("python/lib/{zip_name}  <- (generated: a zip of the ");
        let member = |file: &str| format!("python/lib/{zip_name}/json/{file}  <- ");
        assert!(planned.contains(&zip_line), "{name}:\n{planned}");
        assert!(planned.contains(&member("decoder.pyc")), "{name}");
        assert_eq!(planned.contains(&member("decoder.py")), name == "zipped");
        run_ok(sentinel_command(&venv(), &out).args(options));
        let lib = out.join("python/lib");
        let stdlib = lib.join(format!("python{major}.{minor}"));
        assert!(lib.join(&zip_name).is_file(), "{name}: no {zip_name}");
        let files: Vec<PathBuf> = files_under(&stdlib);
        assert!(
            files
                .iter()
                .all(|f| f.starts_with("lib-dynload") || f == Path::new("LICENSE.txt")),
            "{name}: files beside the zip: {files:?}"
        );
        assert!(files.iter().any(|f| f.extension().is_some_and(|x| x == "so")));
        let listing = run_ok(
            Command::new(&python().path)
                .arg("-c")
                .arg("import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))")
                .arg(lib.join(&zip_name)),
        );
        let members = stdout(&listing);
        let members: Vec<&str> = members.lines().collect();
        assert!(members.contains(&"json/decoder.pyc"), "{name}");
        assert_eq!(
            members.contains(&"json/decoder.py"),
            name == "zipped",
            "{name}: the source of json/decoder"
        );
        assert!(!members.iter().any(|m| m.contains("__pycache__")), "{name}");
        run_ok(embedpack().arg("verify").arg(&out));
        let mut all = vec![STARTS[0], STARTS[1], "__import__('json').loads('[7]') == [7]"];
        all.extend(expressions);
        assert_answers_one_in_a_bare_chroot(&out, &format!("chroot-{name}"), &all);
    }
}

/// `--exclude-stdlib`: the modules named leave, with the libraries only
/// they needed (OpenSSL's, SQLite), and the build says so; `hashlib`
/// keeps its built-in algorithms, and the bundle verifies and runs on a
/// bare machine.
#[test]
fn excluded_stdlib_modules_leave_with_their_libraries() {
    let out = workdir("env-exclude-stdlib").join("sentinel");
    let excluded = ["_ssl", "_hashlib", "_sqlite3"];
    let exclude = excluded.iter().flat_map(|m| ["--exclude-stdlib", m]);
    let libraries = ["lib/libssl", "lib/libcrypto", "lib/libsqlite3"];
    let planned = run_ok(sentinel_command(&venv(), &out).arg("--dry-run"));
    let planned = stdout(&planned);
    for library in libraries {
        assert!(
            planned.contains(library),
            "{library} is not planned without --exclude-stdlib"
        );
    }
    let output = run_ok(sentinel_command(&venv(), &out).args(exclude).arg("--json"));
    assert!(
        stderr(&output).contains(
            "standard library: left out _ssl, _hashlib, _sqlite3, as --exclude-stdlib asks"
        ),
        "{}",
        stderr(&output)
    );
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(summary["stdlib_excluded"], serde_json::json!(excluded));
    let bundled = files_under(&out);
    for library in libraries {
        assert!(
            !bundled
                .iter()
                .any(|f| f.to_string_lossy().starts_with(library)),
            "{library}"
        );
    }
    for module in excluded {
        assert!(
            !bundled.iter().any(|f| f
                .file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{module}."))),
            "{module} is bundled"
        );
    }
    assert!(bundled.iter().any(|f| f.ends_with("sqlite3/__init__.py")));
    run_ok(embedpack().arg("verify").arg(&out));
    let expressions = [
        STARTS[0],
        "__import__('importlib.util').util.find_spec('_ssl') is None",
        "__import__('hashlib').sha256(b'').hexdigest().startswith('e3b0c442')",
        "'sha256' in __import__('hashlib').algorithms_available",
    ];
    assert_answers_one_in_a_bare_chroot(&out, "chroot-exclude-stdlib", &expressions);
}

/// An `--exclude-stdlib` of a module the standard library does not hold,
/// or of one Python imports at start-up, fails before anything is written.
#[test]
fn exclude_stdlib_of_a_missing_or_start_up_module_fails() {
    let out = workdir("env-exclude-stdlib-bad").join("sentinel");
    for (module, expected, hint) in [
        (
            "no_such_module",
            "`--exclude-stdlib no_such_module` names no module of the standard library",
            "hint: name a top-level module, package or extension module",
        ),
        (
            "encodings",
            "`--exclude-stdlib encodings`: CPython imports it at start-up",
            "hint: leave it in the bundle",
        ),
    ] {
        let output = sentinel_command(&venv(), &out)
            .args(["--exclude-stdlib", module])
            .output()
            .unwrap();
        let err = stderr(&output);
        assert_eq!(output.status.code(), Some(1), "{err}");
        assert!(err.contains(expected) && err.contains(hint), "{err}");
        assert!(!out.exists());
    }
}

#[test]
fn exclude_of_a_distribution_that_is_not_installed_fails() {
    let out = workdir("env-exclude-unknown").join("sentinel");
    let output = sentinel_command(&named_venv("uv"), &out)
        .args(["--exclude", "no-such-dist"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("`--exclude no-such-dist` names no distribution installed in"),
        "{err}"
    );
    assert!(
        err.contains("hint: installed: cffi, markupsafe, pycparser"),
        "{err}"
    );
    assert!(!out.exists());
}
