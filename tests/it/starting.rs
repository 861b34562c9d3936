//! How a bundle starts: in a process where Python already runs, next to
//! another bundle, from C compiled with the script's `set_source()`
//! arguments — and how it fails without taking the host down.

use std::path::Path;
use std::process::Command;

use crate::support::*;

fn ctypes_call(python: &Python, bundle: &Path) -> std::process::Output {
    let code = "import ctypes, sys\n\
                lib = ctypes.CDLL(sys.argv[1])\n\
                lib.evaluate.argtypes = [ctypes.c_char_p]\n\
                print(lib.evaluate(b'6*7'))\n\
                print(lib.evaluate(b'checks.inside(sys.modules[\"sentinel_app\"].__file__)'))\n\
                print(sys.path[-1] == sys.argv[2])\n";
    run_ok(
        Command::new(&python.path)
            .args(["-I", "-c", code])
            .arg(bundle.join("libsentinel.so"))
            .arg(bundle.join("site-packages")),
    )
}

#[test]
fn python_process_loads_the_bundle_with_ctypes() {
    let output = ctypes_call(python(), sentinel_bundle());
    assert_eq!(
        stdout(&output),
        "42\n1\nTrue\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn debian_python_process_loads_a_pyenv_bundle() {
    // Same major.minor, another build: the bundle's paths are appended to
    // the running interpreter's.
    let output = ctypes_call(debian_python(), sentinel_bundle());
    assert_eq!(
        stdout(&output),
        "42\n1\nTrue\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn two_bundles_in_one_process() {
    let dir = workdir("two-bundles");
    let hello = dir.join("hello");
    run_ok(
        embedpack()
            .arg("build")
            .arg(repo().join("examples/hello/build_hello.py"))
            .arg("--venv")
            .arg(venv())
            .arg("--app")
            .arg(repo().join("examples/hello/app"))
            .arg("-o")
            .arg(&hello),
    );
    let host = two_plugins_host();
    let output = run_ok(
        Command::new(host)
            .arg(hello.join("libhello.so"))
            .arg(sentinel_bundle().join("libsentinel.so"))
            .args([
                "checks.inside(sys.modules['sentinel_app'].__file__)",
                "checks.inside(sys.modules['greeting'].__file__)",
            ]),
    );
    // Python was started by hello; sentinel's app still comes from its own bundle.
    assert_eq!(
        stdout(&output),
        "42\n1\n0\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn bundle_without_its_stdlib_spares_the_host() {
    let dir = workdir("no-stdlib");
    let bundle = dir.join("broken bundle");
    copy_tree(sentinel_bundle(), &bundle);
    std::fs::remove_dir_all(bundle.join("python/lib/python3.11")).unwrap();
    let output = Command::new(run_plugin_host())
        .arg(bundle.join("libsentinel.so"))
        .args(["6*7", "1"])
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(
        output.status.code(),
        Some(0),
        "the host did not survive:\n{err}"
    );
    assert_eq!(stdout(&output), "0\n0\n");
    let paragraph = format!(
        "embedpack: the Python bundle {} cannot start: ",
        bundle.join("libsentinel.so").display()
    );
    assert_eq!(err.matches(&paragraph).count(), 1, "{err}");
    assert!(
        err.contains("python/lib/python3.11/os.py is missing"),
        "{err}"
    );

    // A host can ask before calling anything.
    let linked = linked_sentinel_host(&bundle);
    let output = Command::new(linked).arg("1").output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("sentinel_init failed: "),
        "{}",
        stderr(&output)
    );
    assert!(
        stderr(&output).contains("os.py is missing"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn set_source_arguments_are_honored_from_the_scripts_folder() {
    let dir = workdir("native");
    let fixture = repo().join("tests/fixtures/native");
    let out = dir.join("native");
    run_ok(
        embedpack()
            .current_dir(&dir)
            .arg("build")
            .arg(fixture.join("build_native.py"))
            .arg("--venv")
            .arg(venv())
            .arg("--app")
            .arg(fixture.join("helper.py"))
            .arg("-o")
            .arg(&out),
    );
    let source = "#include <stdio.h>\n#include \"native.h\"\nint main(void) { printf(\"%d\\n\", compute(10)); return 0; }\n";
    let host = linked_host(&dir, source, &out, "native");
    // 3 * 10 + 4 from the C side (FACTOR, OFFSET), + sqrt(81) through libm.
    let output = run_ok(Command::new(host).current_dir("/"));
    assert_eq!(stdout(&output), "43\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn library_from_set_source_library_dirs_travels_with_the_bundle() {
    let dir = workdir("library-dirs");
    let native = dir.join("native");
    std::fs::create_dir_all(&native).unwrap();
    std::fs::write(
        native.join("triple.c"),
        "int triple(int x) { return 3 * x; }\n",
    )
    .unwrap();
    run_ok(
        Command::new("cc")
            .args(["-shared", "-fPIC", "-Wl,-soname,libtriple.so.1", "-o"])
            .arg(native.join("libtriple.so.1"))
            .arg(native.join("triple.c")),
    );
    std::os::unix::fs::symlink("libtriple.so.1", native.join("libtriple.so")).unwrap();
    let script = r#"import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("int compute(int x);")
ffibuilder.cdef("int triple(int);")
ffibuilder.set_source("triple_plugin", "int triple(int);", libraries=["triple"], library_dirs=["native"])
ffibuilder.embedding_init_code("""
from triple_plugin import ffi, lib
@ffi.def_extern()
def compute(x):
    return lib.triple(x)
""")
"#;
    std::fs::write(dir.join("build_triple.py"), script).unwrap();
    let out = dir.join("out");
    run_ok(
        embedpack()
            .current_dir("/")
            .arg("build")
            .arg(dir.join("build_triple.py"))
            .arg("--venv")
            .arg(venv())
            .arg("-o")
            .arg(&out)
            .arg("-q"),
    );
    std::fs::rename(&native, dir.join("native-gone")).unwrap();
    let source = "#include <stdio.h>\n#include \"triple_plugin.h\"\n\
                  int main(void) { printf(\"%d\\n\", compute(14)); return 0; }\n";
    let host = linked_host(&dir, source, &out, "triple_plugin");
    let output = run_ok(Command::new(host).current_dir("/"));
    assert_eq!(stdout(&output), "42\n", "stderr:\n{}", stderr(&output));
}

/// Without the plugin itself, the shim hosts load says so once, naming
/// the bundle; its functions return 0 and `<module>_init()` fails with
/// the reason.
#[test]
fn bundle_without_its_embedded_plugin_spares_the_host() {
    let dir = workdir("no-embedded-plugin");
    let bundle = dir.join("sentinel");
    copy_tree(sentinel_bundle(), &bundle);
    std::fs::remove_file(bundle.join("libsentinel.python.so")).unwrap();
    let output = run_ok(
        Command::new(run_plugin_host())
            .arg(bundle.join("libsentinel.so"))
            .args(["6*7", "1"]),
    );
    let err = stderr(&output);
    assert_eq!(stdout(&output), "0\n0\n", "stderr:\n{err}");
    let expected = format!(
        "embedpack: the Python bundle {} cannot start: {}: cannot open shared object file",
        bundle.join("libsentinel.so").display(),
        bundle.join("libsentinel.python.so").display()
    );
    assert_eq!(err.matches(&expected).count(), 1, "{err}");
    assert!(
        err.contains(&format!("`embedpack verify {}`", bundle.display())),
        "{err}"
    );

    let linked = linked_sentinel_host(&bundle);
    let output = Command::new(linked).arg("1").output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("sentinel_init failed: ") && err.contains("cannot open shared object file"),
        "{err}"
    );
}
