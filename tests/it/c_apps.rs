//! C applications use bundles the way they use any library: through the
//! generated header, pkg-config or CMake, with warnings as errors; the
//! real sqlite3 shell loads a Python SQL function; several bundles share
//! one process, and those that cannot say why.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// Warnings a C application's build commonly turns into errors.
const STRICT: &[&str] = &["-Wall", "-Wextra", "-Werror"];

fn build(script: &str, venv: &Path, app: Option<&str>, out: &Path) {
    build_with(script, venv, app, out, &[]);
}

fn build_with(script: &str, venv: &Path, app: Option<&str>, out: &Path, extra: &[&str]) {
    let mut command = embedpack();
    command
        .arg("build")
        .arg(repo().join(script))
        .arg("--venv")
        .arg(venv)
        .arg("-o")
        .arg(out);
    if let Some(app) = app {
        command.arg("--app").arg(repo().join(app));
    }
    run_ok(command.args(extra));
}

/// examples/hello built from the second venv, then moved away from where
/// it was built: what a host finds through pkg-config and CMake must
/// follow the bundle.
fn hello_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = workdir("c-apps-hello");
        let built = dir.join("built/hello");
        build(
            "examples/hello/build_hello.py",
            &named_venv("venv-second"),
            Some("examples/hello/app"),
            &built,
        );
        let moved = dir.join("moved/hello");
        std::fs::create_dir_all(moved.parent().unwrap()).unwrap();
        std::fs::rename(&built, &moved).unwrap();
        std::fs::remove_dir_all(dir.join("built")).unwrap();
        moved
    })
}

/// `pkg-config ARGS` for the bundle whose .pc folder is `pc_dir`.
fn pkg_config(pc_dir: &Path, args: &[&str]) -> Vec<String> {
    let output = run_ok(
        Command::new("pkg-config")
            .env("PKG_CONFIG_PATH", pc_dir)
            .env_remove("PKG_CONFIG_LIBDIR")
            .args(args),
    );
    stdout(&output)
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

/// Compiles `source` with `compiler` and the .pc file's flags, with no
/// LD_LIBRARY_PATH or LIBRARY_PATH to help; returns the program and the
/// linker's `--verbose` output.
fn compile_with_pkg_config(
    compiler: &str,
    language: &str,
    source: &Path,
    bundle: &Path,
    module: &str,
    out: &Path,
) -> String {
    let flags = pkg_config(
        &bundle.join("lib/pkgconfig"),
        &["--cflags", "--libs", module],
    );
    let output = run_ok(
        Command::new(compiler)
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LIBRARY_PATH")
            .args(STRICT)
            .args(["-x", language])
            .arg(source)
            .args(["-x", "none", "-o"])
            .arg(out)
            .args(&flags)
            .arg("-Wl,--verbose"),
    );
    stdout(&output)
}

fn run_from_root(program: &Path) -> std::process::Output {
    run_ok(
        Command::new(program)
            .current_dir("/")
            .env_remove("LD_LIBRARY_PATH"),
    )
}

/// The name of the libpython in a bundle's lib/.
fn bundled_libpython(bundle: &Path) -> String {
    std::fs::read_dir(bundle.join("lib"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|name| name.starts_with("libpython"))
        .expect("no libpython in the bundle")
}

#[test]
fn pkg_config_links_a_strict_c_host_that_runs_from_anywhere() {
    let bundle = hello_bundle();
    let cflags = pkg_config(&bundle.join("lib/pkgconfig"), &["--cflags", "hello"]);
    assert!(
        cflags
            .iter()
            .any(|f| f.starts_with(&format!("-I{}/", bundle.display()))),
        "the flags do not follow the moved bundle: {cflags:?}"
    );
    let host = workdir("c-apps-pkg-config").join("hello-host");
    let linker = compile_with_pkg_config(
        "cc",
        "c",
        &repo().join("examples/hello/host.c"),
        bundle,
        "hello",
        &host,
    );
    // The host links the bundle's shim, which needs only the C library:
    // the linker never reaches for a libpython, the bundle's or Debian's.
    assert!(
        linker.contains(&format!("{}/libhello.so", bundle.display()))
            || linker.contains("/libhello.so"),
        "the linker did not take the bundle's libhello.so:\n{linker}"
    );
    let libpython = bundled_libpython(bundle);
    assert!(
        !linker.contains(&format!("found {libpython} at ")),
        "the linker looked for {libpython}:\n{linker}"
    );
    let output = run_from_root(&host);
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));
}

/// The partial fixture's bundle: its embedding_api() uses CFFI's own syntax.
fn partial_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("c-apps-partial").join("partial");
        build(
            "tests/fixtures/partial/build_partial.py",
            &venv(),
            None,
            &out,
        );
        out
    })
}

#[test]
fn header_of_cffi_only_syntax_serves_strict_c_and_cpp_hosts() {
    let bundle = partial_bundle();
    let header = std::fs::read_to_string(bundle.join("include/partial.h")).unwrap();
    assert!(
        header.contains("typedef struct point_t point_t;"),
        "{header}"
    );
    assert!(
        header.contains("/* left out: `#define SCALE ...`"),
        "{header}"
    );
    assert!(header.contains("\nextern int table[];\n"), "{header}");
    let dir = workdir("c-apps-partial-hosts");
    let source = repo().join("tests/fixtures/partial/host.c");
    for (compiler, language) in [("cc", "c"), ("g++", "c++")] {
        let host = dir.join(format!("host-{language}"));
        compile_with_pkg_config(compiler, language, &source, bundle, "partial", &host);
        let output = run_from_root(&host);
        assert_eq!(
            stdout(&output),
            "123\n1 0\n30 3 hello from C\n0\n",
            "{language} host, stderr:\n{}",
            stderr(&output)
        );
    }
}

#[test]
fn header_that_cannot_compile_stops_the_build() {
    let dir = workdir("c-apps-bad-header");
    let script = dir.join("build_bad.py");
    std::fs::write(
        &script,
        "import cffi\n\
         ffibuilder = cffi.FFI()\n\
         ffibuilder.cdef('typedef struct { int x; } point_t;')\n\
         ffibuilder.embedding_api('int norm(point_t *p);')\n\
         ffibuilder.set_source('badheader', 'typedef struct { int x; } point_t;')\n\
         ffibuilder.embedding_init_code('')\n",
    )
    .unwrap();
    let output = embedpack()
        .arg("build")
        .arg(&script)
        .arg("--venv")
        .arg(venv())
        .arg("-o")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(!dir.join("out").exists());
    assert!(
        err.contains(
            "error: the header `include/badheader.h` made from `embedding_api()` does not compile"
        ),
        "{err}"
    );
    assert!(err.contains("point_t"), "{err}");
    assert!(err.contains("\nhint: "), "{err}");
}

#[test]
fn cmake_package_builds_a_strict_cpp_host() {
    let bundle = hello_bundle();
    let build_dir = workdir("c-apps-cmake").join("build");
    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("examples/cmake-host/run.sh"))
            .env("BUNDLE", bundle)
            .env("BUILD", &build_dir)
            .env_remove("LD_LIBRARY_PATH"),
    );
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));
    let cache = std::fs::read_to_string(build_dir.join("CMakeCache.txt")).unwrap();
    assert!(
        cache.contains(&format!(
            "hello_DIR:PATH={}/lib/cmake/hello",
            bundle.display()
        )),
        "CMake did not find the package in the moved bundle"
    );
}

#[test]
fn sqlite3_shell_loads_a_python_sql_function_with_its_own_sqlite() {
    // As examples/sqlite-udf/run.sh builds it.
    let bundle = workdir("c-apps-sqlite").join("pyudf");
    build_with(
        "examples/sqlite-udf/build_pyudf.py",
        &venv(),
        Some("examples/sqlite-udf/app"),
        &bundle,
        &["--host-lib", "libsqlite3.so.0"],
    );
    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("examples/sqlite-udf/run.sh"))
            .env("BUNDLE", &bundle)
            .env("LD_DEBUG", "files"),
    );
    assert_eq!(
        stdout(&output),
        "&lt;b&gt;Fish &amp; Chips&lt;/b&gt;|CHECK MARK, EURO SIGN\n",
        "stderr:\n{}",
        stderr(&output)
    );
    // The extension reaches SQLite through the shell's sqlite3_api: it
    // does not link libsqlite3, the bundle holds none (Python's own sqlite3
    // module would use the host's), and the process loads no other copy.
    let dynamic = stdout(&run_ok(
        Command::new("readelf")
            .arg("-d")
            .arg(bundle.join("libpyudf.so")),
    ));
    let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
    assert!(!needed.is_empty(), "{dynamic}");
    assert!(!needed.iter().any(|l| l.contains("sqlite")), "{needed:?}");
    let loaded: Vec<String> = stderr(&output)
        .lines()
        .filter_map(|l| {
            Some(
                l.split_once("file=")?
                    .1
                    .split_whitespace()
                    .next()?
                    .to_string(),
            )
        })
        .filter(|file| {
            file.rsplit('/')
                .next()
                .unwrap_or(file)
                .starts_with("libsqlite3")
        })
        .collect();
    assert!(
        loaded.iter().any(|f| f == "libsqlite3.so.0"),
        "the shell's libsqlite3 was not seen loading: {loaded:?}"
    );
    assert!(
        loaded.iter().all(|f| f == "libsqlite3.so.0"),
        "another SQLite was loaded: {loaded:?}"
    );
    for entry in walkdir::WalkDir::new(&bundle) {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.starts_with("libsqlite3"), "the bundle holds {name}");
    }
}

#[test]
fn bundles_from_two_venvs_share_one_python_and_report_a_version_clash() {
    let hello = hello_bundle();
    let sentinel = sentinel_bundle();
    let hello_site = hello.join("site-packages");
    let sentinel_site = sentinel.join("site-packages");
    let host = two_plugins_host();
    // hello (second venv) starts Python; sentinel (first venv) joins it.
    let output = run_ok(
        Command::new(host)
            .arg(hello.join("libhello.so"))
            .arg(sentinel.join("libsentinel.so"))
            .arg("checks.speedups()")
            .arg(format!(
                "__import__('idna').__file__.startswith('{}/')",
                hello_site.display()
            ))
            .arg(format!(
                "__import__('greeting').__file__.startswith('{}/')",
                hello.join("app").display()
            ))
            .arg(format!(
                "sys.path.index('{}') < sys.path.index('{}') == len(sys.path) - 1",
                hello_site.display(),
                sentinel_site.display()
            )),
    );
    let err = stderr(&output);
    // sentinel's markupsafe (only in the first venv) and hello's idna
    // (only in the second) are both importable, in one interpreter.
    assert_eq!(stdout(&output), "42\n1\n1\n1\n1\n", "stderr:\n{err}");
    let pycparser = std::fs::read_dir(&sentinel_site)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find_map(|n| {
            Some(
                n.strip_prefix("pycparser-")?
                    .strip_suffix(".dist-info")?
                    .to_string(),
            )
        })
        .expect("no pycparser in the sentinel bundle");
    assert_ne!(pycparser, "2.22");
    assert_eq!(err.matches("embedpack: warning:").count(), 1, "{err}");
    assert!(
        err.contains(&format!(
            "the bundle {} joins a Python whose sys.path already holds other versions",
            sentinel.display()
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "  pycparser 2.22 from {} (the bundle has {pycparser} in {})\n",
            hello_site.display(),
            sentinel_site.display()
        )),
        "{err}"
    );
    assert!(
        !err.contains("cffi "),
        "cffi is the same version in both:\n{err}"
    );
}

#[test]
fn bundle_for_another_python_says_so_and_spares_the_host() {
    let python312 = named_venv("venv-py312");
    let dir = workdir("c-apps-other-python");
    let hello312 = dir.join("hello312");
    build(
        "examples/hello/build_hello.py",
        &python312,
        Some("examples/hello/app"),
        &hello312,
    );
    let sentinel = sentinel_bundle();
    let expected = format!(
        "embedpack: the Python bundle {} cannot start: it was built for CPython 3.11, \
         but this process already runs Python 3.12.",
        sentinel.join("libsentinel.so").display()
    );

    // Both loaded before either starts: the 3.11 bundle is bound to its
    // own libpython while 3.12 runs.  Each call fails; the paragraph is
    // said once.
    let output = run_ok(
        Command::new(two_plugins_host())
            .arg(hello312.join("libhello.so"))
            .arg(sentinel.join("libsentinel.so"))
            .args(["6*7", "1", "2"]),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "42\n0\n0\n0\n", "stderr:\n{err}");
    assert_eq!(err.matches(&expected).count(), 1, "{err}");

    // A Python 3.12 process: the bundle's calls reach that Python.
    let code = "import ctypes, sys\n\
                lib = ctypes.CDLL(sys.argv[1])\n\
                lib.evaluate.argtypes = [ctypes.c_char_p]\n\
                print(lib.evaluate(b'6*7'), lib.evaluate(b'1'))\n";
    let output = run_ok(
        Command::new(python312.join("bin/python"))
            .args(["-I", "-c", code])
            .arg(sentinel.join("libsentinel.so")),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "0 0\n", "stderr:\n{err}");
    assert_eq!(err.matches(&expected).count(), 1, "{err}");
}

/// A module named `_plugin` (CFFI's private module beside a package
/// `plugin`) and one named `plugin`: one C program includes both headers
/// and calls both bundles' start-up functions, compiled by clang with
/// `-Wreserved-identifier` as an error — no name it gets starts with `_`
/// at file scope, and the two include guards differ.
#[test]
fn private_and_public_module_names_coexist_in_one_program() {
    let dir = workdir("c-apps-private-module");
    for (module, function) in [("plugin", "twice"), ("_plugin", "thrice")] {
        let script = dir.join(format!("build{module}.py"));
        std::fs::write(
            &script,
            format!(
                "import cffi\n\
                 ffibuilder = cffi.FFI()\n\
                 ffibuilder.embedding_api('int {function}(int);')\n\
                 ffibuilder.set_source('{module}', '')\n\
                 ffibuilder.embedding_init_code('''\n\
                 from {module} import ffi\n\
                 @ffi.def_extern()\n\
                 def {function}(x):\n\
                 \x20   return x * {}\n\
                 ''')\n",
                if function == "twice" { 2 } else { 3 }
            ),
        )
        .unwrap();
        build_with(
            script.to_str().unwrap(),
            &venv(),
            None,
            &dir.join(module),
            &["--no-bytecode", "-q"],
        );
    }
    let header = std::fs::read_to_string(dir.join("_plugin/include/_plugin.h")).unwrap();
    assert!(
        header.contains("int embedpack_plugin_init(void);"),
        "{header}"
    );
    let main = dir.join("main.c");
    std::fs::write(
        &main,
        "#include <stdio.h>\n\
         #include \"plugin.h\"\n\
         #include \"_plugin.h\"\n\
         int main(void)\n\
         {\n\
         \x20   if (plugin_init() != 0 || embedpack_plugin_init() != 0)\n\
         \x20       return 1;\n\
         \x20   printf(\"%d %d\\n\", twice(21), thrice(14));\n\
         \x20   return 0;\n\
         }\n",
    )
    .unwrap();
    let program = dir.join("main");
    let mut command = Command::new("clang");
    command
        .args(["-Wall", "-Wextra", "-Wreserved-identifier", "-Werror", "-o"])
        .arg(&program)
        .arg(&main);
    for module in ["plugin", "_plugin"] {
        let bundle = dir.join(module);
        command
            .arg(format!("-I{}", bundle.join("include").display()))
            .arg(bundle.join(format!("lib{module}.so")))
            .arg(format!("-Wl,-rpath,{}", bundle.display()));
    }
    run_ok(&mut command);
    let output = run_ok(&mut Command::new(&program));
    assert_eq!(stdout(&output), "42 42\n", "{}", stderr(&output));
}
