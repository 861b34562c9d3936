//! `embedpack pack`: CFFI embedding libraries compiled elsewhere — by
//! hand as CFFI's documentation shows, with GNU ld or lld, or by
//! `ffibuilder.compile()` — bundled without being compiled again; and
//! `embedpack inspect` on known inputs.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// Writes the C source CFFI generates for `tests/fixtures/<fixture>`'s
/// build script (as `<module>.c`) into `dir`, with the venv's Python.
fn emit_c(fixture: &str, script: &str, dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let code = "import sys, runpy\n\
                ns = runpy.run_path(sys.argv[1])\n\
                ffi = ns['ffibuilder']\n\
                ffi.emit_c_code(sys.argv[2])\n";
    let c = dir.join("plugin.c");
    run_ok(
        Command::new(venv().join("bin/python"))
            .args(["-c", code])
            .arg(repo().join("tests/fixtures").join(fixture).join(script))
            .arg(&c),
    );
    c
}

/// `gcc -shared -fPIC plugin.c -lpython3.X`, CFFI's documented recipe,
/// with `linker` (`bfd` or `lld`) and the headers and libpython of `python`.
fn hand_build(c: &Path, out: &Path, linker: &str, python: &Python) -> PathBuf {
    run_ok(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-O2"])
            .arg(format!("-fuse-ld={linker}"))
            .arg(format!("-I{}", python.include.display()))
            .arg(c)
            .arg("-o")
            .arg(out)
            .arg(format!("-L{}", python.libdir.display()))
            .arg(format!("-lpython{}", python.ldversion)),
    );
    out.to_path_buf()
}

/// The sentinel plugin's C source, emitted once.
fn sentinel_c() -> &'static Path {
    static C: OnceLock<PathBuf> = OnceLock::new();
    C.get_or_init(|| {
        emit_c(
            "sentinel",
            "build_sentinel.py",
            &workdir("pack-sentinel-src"),
        )
    })
}

/// The sentinel plugin compiled by hand with GNU ld for the venv's Python
/// (`EMBEDPACK_TEST_PYTHON`), once; never changed.
pub(crate) fn hand_built_sentinel() -> &'static Path {
    static LIBRARY: OnceLock<PathBuf> = OnceLock::new();
    LIBRARY.get_or_init(|| {
        let out = workdir("pack-sentinel-library").join("libsentinel.so");
        hand_build(sentinel_c(), &out, "bfd", python())
    })
}

fn pack(library: &Path, out: &Path, app: Option<&Path>) -> std::process::Output {
    let mut command = embedpack();
    command
        .arg("pack")
        .arg(library)
        .arg("--venv")
        .arg(venv())
        .arg("-o")
        .arg(out)
        .arg("-q");
    if let Some(app) = app {
        command.arg("--app").arg(app);
    }
    command.output().unwrap()
}

/// The hand-built sentinel plugin, packed once.
fn packed_sentinel() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("pack-sentinel").join("bundle");
        let output = pack(
            hand_built_sentinel(),
            &out,
            Some(&repo().join("tests/fixtures/sentinel/app")),
        );
        assert!(output.status.success(), "{}", stderr(&output));
        out
    })
}

#[test]
fn packed_library_runs_in_a_bare_chroot_from_an_unknown_path() {
    let root = bare_root("pack-chroot");
    let bundle = root.join("srv/never built here/sentinel");
    std::fs::create_dir_all(bundle.parent().unwrap()).unwrap();
    copy_tree(packed_sentinel(), &bundle);
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    let output = run_ok(
        Command::new("/usr/sbin/chroot")
            .env_clear()
            .env("PYTHONPATH", "/evil")
            .env("PYTHONHOME", "/evil")
            .arg(&root)
            .args([
                "/host",
                "/srv/never built here/sentinel/libsentinel.so",
                "--threads",
                "8",
            ])
            .args(["checks.isolated()", "checks.speedups()", "6*7"]),
    );
    assert_eq!(
        stdout(&output),
        "1 (8 threads)\n1\n42\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn packed_library_linked_at_build_time() {
    let bundle = packed_sentinel();
    let dir = workdir("pack-linked");
    let source = "#include <stdio.h>\nint evaluate(const char *);\n\
                  int main(void) { printf(\"%d\\n\", evaluate(\"checks.speedups() + 1\")); return 0; }\n";
    let host = linked_host(&dir, source, bundle, "sentinel");
    let output = run_ok(
        Command::new(host)
            .current_dir("/")
            .env("LD_LIBRARY_PATH", "/usr/lib/x86_64-linux-gnu"),
    );
    assert_eq!(stdout(&output), "2\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn lld_linked_library_and_a_second_bundle_in_one_process() {
    let dir = workdir("pack-lld");
    let c = emit_c("../../examples/hello", "build_hello.py", &dir.join("src"));
    let library = hand_build(&c, &dir.join("libhello.so"), "lld", python());
    let out = dir.join("hello");
    let output = pack(&library, &out, Some(&repo().join("examples/hello/app")));
    assert!(output.status.success(), "{}", stderr(&output));
    let host = two_plugins_host();
    let output = run_ok(
        Command::new(host)
            .current_dir("/")
            .arg(out.join("libhello.so"))
            .arg(packed_sentinel().join("libsentinel.so"))
            .args([
                "checks.inside(sys.modules['sentinel_app'].__file__)",
                "checks.inside(sys.modules['greeting'].__file__)",
            ]),
    );
    assert_eq!(
        stdout(&output),
        "42\n1\n0\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn library_made_by_ffibuilder_compile() {
    let dir = workdir("pack-compiled");
    let fixture = repo().join("tests/fixtures/sentinel");
    copy_tree(
        &fixture.join("build_sentinel.py"),
        &dir.join("build_sentinel.py"),
    );
    let code = "import runpy\nns = runpy.run_path('build_sentinel.py')\nprint(ns['ffibuilder'].compile(target='*'))\n";
    let output = run_ok(
        Command::new(venv().join("bin/python"))
            .args(["-c", code])
            .current_dir(&dir),
    );
    let built = PathBuf::from(stdout(&output).trim());
    assert_eq!(
        built.file_name().unwrap(),
        "sentinel.cpython-311-x86_64-linux-gnu.so"
    );
    let out = dir.join("bundle");
    let output = pack(&built, &out, Some(&fixture.join("app")));
    assert!(output.status.success(), "{}", stderr(&output));
    let output = run_ok(
        Command::new(run_plugin_host())
            .current_dir("/")
            .arg(out.join("sentinel.cpython-311-x86_64-linux-gnu.so"))
            .args(["checks.isolated()", "checks.speedups()"]),
    );
    assert_eq!(stdout(&output), "1\n1\n", "stderr:\n{}", stderr(&output));
}

fn assert_refused(output: &std::process::Output, expected: &str) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(expected) && err.contains("\nhint: "),
        "`{expected}` not in:\n{err}"
    );
}

#[test]
fn pack_refuses_what_it_cannot_bundle() {
    let dir = workdir("pack-errors");
    let text = dir.join("notes.so");
    std::fs::write(&text, "not a library").unwrap();
    assert_refused(&pack(&text, &dir.join("a"), None), "is not an ELF file");

    let mut arm = std::fs::read(packed_sentinel().join("libsentinel.so")).unwrap();
    arm[18..20].copy_from_slice(&183u16.to_le_bytes()); // e_machine = EM_AARCH64
    std::fs::write(dir.join("arm.so"), arm).unwrap();
    assert_refused(
        &pack(&dir.join("arm.so"), &dir.join("b"), None),
        "not an x86-64 ELF file",
    );

    let truncated = dir.join("truncated.so");
    std::fs::copy(hand_built_sentinel(), &truncated).unwrap();
    run_ok(
        Command::new("truncate")
            .args(["-s", "3000"])
            .arg(&truncated),
    );
    let output = pack(&truncated, &dir.join("t"), None);
    assert_refused(
        &output,
        "is not a complete ELF file: it is truncated or corrupt",
    );
    assert!(stderr(&output).contains("hint: the file is damaged"));
    assert!(!stderr(&output).contains("too big"), "{}", stderr(&output));

    assert_refused(
        &pack(&dir, &dir.join("e"), None),
        "is a directory, not a library",
    );

    let plain = dir.join("libplain.so");
    std::fs::write(dir.join("plain.c"), "int plain(void) { return 1; }\n").unwrap();
    run_ok(
        Command::new("gcc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&plain)
            .arg(dir.join("plain.c")),
    );
    assert_refused(
        &pack(&plain, &dir.join("c"), None),
        "is not a CFFI embedding library",
    );

    let for_312 = hand_build(
        sentinel_c(),
        &dir.join("libsentinel.so"),
        "bfd",
        newest_cpython(3, 12),
    );
    let output = pack(&for_312, &dir.join("d"), None);
    assert_refused(&output, "was built for Python 3.12");
    assert!(
        stderr(&output).contains("runs Python 3.11"),
        "{}",
        stderr(&output)
    );
    assert_refused(
        &pack(
            &packed_sentinel().join("libsentinel.so"),
            &dir.join("e"),
            None,
        ),
        "is the library shim of an embedpack bundle, which loads `libsentinel.python.so`",
    );
    for out in ["a", "b", "c", "d", "e"] {
        assert!(!dir.join(out).exists(), "{out} was written");
    }
}

#[test]
fn inspect_explains_which_libpython_a_plain_library_would_get() {
    let library = hand_built_sentinel();
    let output = run_ok(
        embedpack()
            .arg("inspect")
            .arg(library)
            .arg("--venv")
            .arg(venv())
            .env_remove("LD_LIBRARY_PATH"),
    );
    let text = stdout(&output);
    for expected in [
        "NEEDED:   libpython3.11.so.1.0, libc.so.6",
        "RPATH:    (none)",
        "CFFI embedding library: yes, module `sentinel`",
        "exports:  PyInit_sentinel, evaluate",
        "the loader would load `/lib/x86_64-linux-gnu/libpython3.11.so.1.0` for it here",
        &format!(
            "warning: the venv's Python uses `{}`",
            python().libpython().display()
        ),
    ] {
        assert!(text.contains(expected), "`{expected}` not in:\n{text}");
    }
    let output = run_ok(
        embedpack()
            .arg("inspect")
            .arg("--json")
            .arg(library)
            .arg("--venv")
            .arg(venv())
            .env_remove("LD_LIBRARY_PATH"),
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["kind"], "library");
    assert_eq!(json["module"], "sentinel");
    assert_eq!(json["cffi_embedding"], true);
    assert_eq!(
        json["needed"],
        serde_json::json!(["libpython3.11.so.1.0", "libc.so.6"])
    );
    assert_eq!(json["libpython"]["python"], "3.11");
    assert_eq!(
        json["libpython"]["loader_picks"],
        "/lib/x86_64-linux-gnu/libpython3.11.so.1.0"
    );
    assert_eq!(json["libpython"]["mismatch"], true);
}

#[test]
fn inspect_a_packed_library_and_its_bundle() {
    let bundle = packed_sentinel();
    let output = run_ok(
        embedpack()
            .args(["inspect", "--json"])
            .arg(bundle.join("libsentinel.python.so")),
    );
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["soname"], "libsentinel.python.so");
    assert_eq!(json["shim_for"], serde_json::Value::Null);
    assert_eq!(json["rpath"], "$ORIGIN/lib");
    assert_eq!(json["nodelete"], true);
    let bootstrap = json["needed"][0].as_str().unwrap();
    assert!(
        bootstrap.starts_with("libembedpack-") && bundle.join("lib").join(bootstrap).is_file(),
        "{json}"
    );

    let output = run_ok(
        embedpack()
            .arg("inspect")
            .arg(bundle.join("libsentinel.so")),
    );
    assert!(
        stdout(&output)
            .contains("embedpack's library shim: it loads `libsentinel.python.so` from the folder"),
        "{}",
        stdout(&output)
    );

    let output = run_ok(embedpack().args(["inspect", "--json"]).arg(bundle));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["kind"], "bundle");
    assert_eq!(json["module"], "sentinel");
    assert_eq!(
        json["python"]["version"],
        python().version_string().as_str()
    );
    let dists = json["distributions"].to_string().to_lowercase();
    assert!(
        dists.contains("markupsafe") && dists.contains("cffi"),
        "{dists}"
    );
    assert!(
        json["vendored"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v.as_str().unwrap().starts_with("libffi-")),
        "{json}"
    );
    assert!(
        json["requires"]["glibc"]
            .as_str()
            .unwrap()
            .starts_with("2."),
        "{json}"
    );
    let text = stdout(&run_ok(embedpack().arg("inspect").arg(bundle)));
    assert!(
        text.contains("embedpack bundle of `sentinel`") && text.contains("runs on:  glibc 2."),
        "{text}"
    );
    let verified = embedpack().arg("verify").arg(bundle).output().unwrap();
    assert!(
        verified.status.success(),
        "{}{}",
        stdout(&verified),
        stderr(&verified)
    );
}

/// A dry run of `pack` plans the same files the real one writes, its
/// bootstrap library among them, without compiling it (or anything else)
/// and without a temporary file.
#[test]
fn pack_dry_run_plans_what_pack_writes() {
    let dir = workdir("pack-dry-run");
    let tmp = dir.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let out = dir.join("out");
    let output = run_ok(
        embedpack()
            .arg("pack")
            .arg(hand_built_sentinel())
            .arg("--venv")
            .arg(venv())
            .arg("--app")
            .arg(repo().join("tests/fixtures/sentinel/app"))
            .arg("-o")
            .arg(&out)
            .arg("--dry-run")
            .env("TMPDIR", &tmp),
    );
    assert!(!out.exists());
    assert_eq!(std::fs::read_dir(&tmp).unwrap().count(), 0);
    let plan = stdout(&output);
    let planned: std::collections::BTreeSet<String> = plan
        .lines()
        .filter_map(|l| l.split_once("  <- "))
        .map(|(dest, _)| dest.split_whitespace().last().unwrap().to_string())
        .collect();
    let manifest = std::fs::read_to_string(packed_sentinel().join("MANIFEST.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let written: std::collections::BTreeSet<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(planned, written);
    let bootstrap = plan
        .lines()
        .find(|l| l.contains("lib/libembedpack-"))
        .unwrap_or_else(|| panic!("no bootstrap library in:\n{plan}"));
    assert!(bootstrap.trim_start().starts_with("?  "), "{bootstrap}");
}

#[test]
fn packed_plugin_reached_through_an_install_symlink_starts_in_a_bare_root() {
    let printed = run_through_install_symlink(
        "symlink-pack",
        packed_sentinel(),
        "libsentinel.so",
        &["checks.isolated()", "checks.speedups()", "6*7"],
    );
    assert_eq!(printed, ["1\n1\n42\n", "1\n1\n42\n"]);
}

#[test]
fn pack_json_agrees_with_the_manifest_even_with_quiet() {
    let out = workdir("pack-json").join("bundle");
    let output = run_ok(
        embedpack()
            .arg("pack")
            .arg(hand_built_sentinel())
            .arg("--venv")
            .arg(venv())
            .arg("-o")
            .arg(&out)
            .args(["--json", "-q"]),
    );
    let text = stdout(&output);
    let summary: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
    crate::summary::assert_matches_manifest(&summary, &out);
    assert_eq!(stderr(&output), "", "-q printed on stderr");
}
