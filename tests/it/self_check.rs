//! `--self-check`: the library shim of such a bundle checks the files
//! loaded with the plugin (itself, the plugin, the runtime library and
//! every file of `lib/`) against MANIFEST.json before it loads any of
//! them, and refuses to start, naming the file, when one differs —
//! without taking the host down.  Also the two pieces of C it is made of
//! (stubs/self_check/), against Rust's SHA-256 and serde_json's JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

/// The sentinel bundle built with `--self-check`, and what `--json` said.
struct Checked {
    bundle: PathBuf,
    summary: Value,
}

fn checked() -> &'static Checked {
    static CHECKED: OnceLock<Checked> = OnceLock::new();
    CHECKED.get_or_init(|| {
        let bundle = workdir("self-check-bundle").join("sentinel");
        let mut command = sentinel_command(&venv(), &bundle);
        let output = run_ok(command.args(["--self-check", "--json"]));
        let summary = serde_json::from_slice(&output.stdout).unwrap();
        Checked { bundle, summary }
    })
}

fn manifest(bundle: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap()
}

/// What MANIFEST.json says `path`'s SHA-256 is.
fn listed_sha256(bundle: &Path, path: &str) -> String {
    let manifest = manifest(bundle);
    let files = manifest["files"].as_array().unwrap();
    let file = files.iter().find(|f| f["path"] == path);
    let file = file.unwrap_or_else(|| panic!("MANIFEST.json does not list {path}"));
    file["sha256"].as_str().unwrap().to_string()
}

fn sha256_of(file: &Path) -> String {
    format!("{:x}", Sha256::digest(std::fs::read(file).unwrap()))
}

/// A vendored library of `bundle`: a file directly in `lib/` that is not
/// the runtime library, as its manifest lists them.
fn a_vendored_library(bundle: &Path) -> String {
    let manifest = manifest(bundle);
    let runtime = format!("lib/{}", manifest["python"]["libpython"].as_str().unwrap());
    let files = manifest["files"].as_array().unwrap();
    let vendored = files
        .iter()
        .filter_map(|f| f["path"].as_str())
        .find(|p| p.starts_with("lib/") && !p[4..].contains('/') && *p != runtime);
    vendored
        .expect("the bundle vendors no library, so no test changes one")
        .to_string()
}

/// A copy of `bundle` in a fresh folder of its own, with one byte of
/// `file` (relative to it) flipped at `at(its bytes)`.
fn changed_copy(bundle: &Path, case: &str, file: &str, at: fn(&[u8]) -> usize) -> PathBuf {
    let copy = workdir(&format!("self-check-{case}")).join("bundle");
    copy_tree(bundle, &copy);
    let path = copy.join(file);
    let mut bytes = std::fs::read(&path).unwrap();
    let i = at(&bytes);
    bytes[i] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    copy
}

fn middle(bytes: &[u8]) -> usize {
    bytes.len() / 2
}

/// A byte of the compiler's note in `.comment`, which no code reads:
/// the shim changed there still runs, and must refuse.
fn in_comment(bytes: &[u8]) -> usize {
    let note = b"GCC: (";
    let at = bytes.windows(note.len()).position(|w| w == note);
    at.expect("the shim has no GCC note") + note.len()
}

/// The dlopen() host calling `evaluate("6*7")` and `evaluate("1")` of
/// the shim of `bundle`, from another folder, traced with strace: its
/// output, and every file of the bundle it opened with the flags given.
fn call(bundle: &Path) -> (Output, Vec<String>) {
    let dir = workdir(&format!(
        "self-check-call-{}",
        bundle
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
    ));
    let trace = dir.join("trace");
    let output = Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-e",
            "signal=none",
            "-e",
            "trace=open,openat",
            "-o",
        ])
        .arg(&trace)
        .arg(run_plugin_host())
        .arg(bundle.join("libsentinel.so"))
        .args(["6*7", "1"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let top = format!("\"{}/", bundle.display());
    let opened = std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .filter(|l| l.contains(&top) && !l.contains(" = -1 "))
        .map(|l| l.split_once(&top).unwrap().1.replace("\", ", " "))
        .collect();
    (output, opened)
}

/// The files of the bundle that the loader opened (the self-check opens
/// them with O_NONBLOCK), but for the shim, which the host asked for.
fn loaded(opened: &[String]) -> Vec<&String> {
    opened
        .iter()
        .filter(|l| !l.contains("O_NONBLOCK") && !l.starts_with("libsentinel.so "))
        .collect()
}

/// `bundle` does not start, says why (`problem`) once on stderr, loads
/// nothing, and leaves the host running: the dlopen() host gets 0 from
/// each call, and a host linked to it sees `sentinel_init()` fail with
/// the reason.
fn assert_refuses(bundle: &Path, problem: &str) {
    assert_refuses_dlopen(bundle, problem);
    let output = Command::new(linked_sentinel_host(bundle))
        .arg("6*7")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "sentinel_init failed: {problem}; nothing of the bundle"
        )),
        "{err}"
    );
}

/// The dlopen() host's part of `assert_refuses`, alone for a bundle with
/// no header to link a host with (a packed library's).
fn assert_refuses_dlopen(bundle: &Path, problem: &str) {
    let (output, opened) = call(bundle);
    let err = stderr(&output);
    assert!(output.status.success(), "{err}");
    assert_eq!(stdout(&output), "0\n0\n", "stderr:\n{err}");
    let expected = format!(
        "embedpack: the Python bundle {}/libsentinel.so cannot start: {problem}; nothing of the \
         bundle was loaded: copy it again from where it was built, or build it again \
         (`embedpack verify {}` lists what changed).\n",
        bundle.display(),
        bundle.display()
    );
    assert_eq!(err, expected);
    assert!(loaded(&opened).is_empty(), "loaded: {opened:#?}");
}

/// The problem the self-check names for a changed `file` of `bundle`.
fn changed(bundle: &Path, file: &str) -> String {
    format!(
        "{file} has changed since the bundle was built (its SHA-256 is {}, MANIFEST.json says {})",
        sha256_of(&bundle.join(file)),
        listed_sha256(bundle, file)
    )
}

#[test]
fn self_checking_bundle_starts_and_answers_when_nothing_changed() {
    let Checked { bundle, summary } = checked();
    let (output, opened) = call(bundle);
    assert_eq!(stdout(&output), "42\n1\n", "stderr:\n{}", stderr(&output));
    assert_eq!(stderr(&output), "");
    // It read the manifest and every file it checks before the loader
    // loaded them, and itself after the host had loaded it.
    let runtime = format!(
        "lib/{}",
        manifest(bundle)["python"]["libpython"].as_str().unwrap()
    );
    let vendored = a_vendored_library(bundle);
    for file in [
        "MANIFEST.json",
        "libsentinel.python.so",
        &runtime,
        &vendored,
    ] {
        let first = opened
            .iter()
            .position(|l| l.starts_with(&format!("{file} ")));
        let first = first.unwrap_or_else(|| panic!("{file} never opened: {opened:#?}"));
        assert!(opened[first].contains("O_NONBLOCK"), "{opened:#?}");
    }
    assert!(
        opened
            .iter()
            .any(|l| l.starts_with("libsentinel.so ") && l.contains("O_NONBLOCK")),
        "{opened:#?}"
    );
    assert!(!loaded(&opened).is_empty(), "{opened:#?}");

    let linked = linked_sentinel_host(bundle);
    let output = run_ok(
        Command::new(linked)
            .arg("6*7")
            .current_dir(workdir("self-check-linked")),
    );
    assert_eq!(stdout(&output), "42\n", "stderr:\n{}", stderr(&output));

    assert_eq!(manifest(bundle)["self_check"], true);
    assert_eq!(summary["self_check"], true);
    let inspected = run_ok(embedpack().arg("inspect").arg(bundle));
    assert!(
        stdout(&inspected).contains("  self-check: its library shim checks"),
        "{}",
        stdout(&inspected)
    );
    run_ok(embedpack().arg("verify").arg(bundle));
}

#[test]
fn changed_vendored_library_stops_the_bundle_before_anything_loads() {
    let file = a_vendored_library(&checked().bundle);
    let bundle = changed_copy(&checked().bundle, "vendored", &file, middle);
    assert_refuses(&bundle, &changed(&bundle, &file));
}

#[test]
fn changed_libpython_stops_the_bundle_before_anything_loads() {
    let manifest = manifest(&checked().bundle);
    let file = format!("lib/{}", manifest["python"]["libpython"].as_str().unwrap());
    let bundle = changed_copy(&checked().bundle, "libpython", &file, middle);
    assert_refuses(&bundle, &changed(&bundle, &file));
}

#[test]
fn changed_plugin_stops_the_bundle_before_anything_loads() {
    let file = "libsentinel.python.so";
    let bundle = changed_copy(&checked().bundle, "plugin", file, middle);
    assert_refuses(&bundle, &changed(&bundle, file));
}

#[test]
fn changed_shim_refuses_to_load_the_plugin() {
    let file = "libsentinel.so";
    let bundle = changed_copy(&checked().bundle, "shim", file, in_comment);
    assert_refuses(&bundle, &changed(&bundle, file));
}

/// The loader searches `lib/` before the system's folders, so a library
/// put there would be loaded in place of the system's.
#[test]
fn library_added_to_lib_stops_the_bundle() {
    let bundle = workdir("self-check-added").join("bundle");
    copy_tree(&checked().bundle, &bundle);
    let vendored = a_vendored_library(&bundle);
    std::fs::copy(bundle.join(&vendored), bundle.join("lib/libc.so.6")).unwrap();
    // A folder in lib/ is not searched, and is not refused.
    std::fs::create_dir(bundle.join("lib/more")).unwrap();
    assert_refuses(
        &bundle,
        "lib/libc.so.6 is not in MANIFEST.json: it was put there after the bundle was built, \
         and the loader could load it",
    );
}

#[test]
fn missing_or_damaged_manifest_stops_the_bundle() {
    let bundle = workdir("self-check-manifest").join("bundle");
    copy_tree(&checked().bundle, &bundle);
    let text = std::fs::read_to_string(bundle.join("MANIFEST.json")).unwrap();
    std::fs::write(bundle.join("MANIFEST.json"), &text[..text.len() / 2]).unwrap();
    let (output, _) = call(&bundle);
    let err = stderr(&output);
    assert_eq!(stdout(&output), "0\n0\n", "{err}");
    assert!(
        err.contains("cannot start: its MANIFEST.json is not as embedpack writes it: "),
        "{err}"
    );
    std::fs::remove_file(bundle.join("MANIFEST.json")).unwrap();
    assert_refuses(
        &bundle,
        "it was built to check itself against MANIFEST.json, which cannot be read \
         (No such file or directory)",
    );
}

#[test]
fn missing_vendored_library_stops_the_bundle() {
    let bundle = workdir("self-check-missing").join("bundle");
    copy_tree(&checked().bundle, &bundle);
    let vendored = a_vendored_library(&bundle);
    std::fs::remove_file(bundle.join(&vendored)).unwrap();
    assert_refuses(
        &bundle,
        &format!("{vendored} is missing (MANIFEST.json lists it)"),
    );
}

/// Without the flag the shim reads no manifest (it is compiled from the
/// same source as before, without the self-check), and the manifest has
/// no `self_check` key: such bundles are as they were.
#[test]
fn without_the_flag_the_shim_reads_no_manifest() {
    let bundle = sentinel_bundle();
    let (output, opened) = call(bundle);
    assert_eq!(stdout(&output), "42\n1\n", "stderr:\n{}", stderr(&output));
    assert!(
        !opened.iter().any(|l| l.starts_with("MANIFEST.json ")),
        "{opened:#?}"
    );
    // (opendir() opens folders with O_NONBLOCK too.)
    let read = |l: &&String| l.contains("O_NONBLOCK") && !l.contains("O_DIRECTORY");
    assert!(!opened.iter().any(|l| read(&l)), "{opened:#?}");
    assert_eq!(manifest(bundle).get("self_check"), None);
    let shim = std::fs::read(bundle.join("libsentinel.so")).unwrap();
    assert!(!shim.windows(13).any(|w| w == b"MANIFEST.json"));
}

#[test]
fn dry_run_says_the_shim_checks_the_bundle() {
    let out = workdir("self-check-dry-run").join("out");
    let mut command = sentinel_command(&venv(), &out);
    let output = run_ok(command.args(["--dry-run", "--self-check"]));
    assert!(
        stdout(&output).contains(
            "  libsentinel.so  <- embedpack's library shim, compiled, checking the bundle \
             against MANIFEST.json at start-up"
        ),
        "{}",
        stdout(&output)
    );
}

/// A plugin that exports variables has no shim, and nothing else runs
/// before the loader loads libpython and the vendored libraries.
#[test]
fn plugin_without_a_shim_refuses_the_flag() {
    let out = workdir("self-check-variables").join("out");
    let output = embedpack()
        .arg("build")
        .arg(repo().join("tests/fixtures/partial/build_partial.py"))
        .arg("--venv")
        .arg(venv())
        .arg("-o")
        .arg(&out)
        .arg("--self-check")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains(
            "error: `--self-check` needs embedpack's library shim, and `libpartial.so` has none: \
             it exports variables"
        ),
        "{err}"
    );
    assert!(
        err.contains("\nhint: build without `--self-check`"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn packed_library_checks_its_bootstrap_library() {
    let bundle = workdir("self-check-pack").join("sentinel");
    run_ok(
        embedpack()
            .arg("pack")
            .arg(crate::pack::hand_built_sentinel())
            .arg("--venv")
            .arg(venv())
            .arg("--app")
            .arg(repo().join("tests/fixtures/sentinel/app"))
            .arg("-o")
            .arg(&bundle)
            .args(["-q", "--self-check"]),
    );
    let (output, _) = call(&bundle);
    assert_eq!(stdout(&output), "42\n1\n", "stderr:\n{}", stderr(&output));
    let manifest = manifest(&bundle);
    let files = manifest["files"].as_array().unwrap();
    let bootstrap = files
        .iter()
        .filter_map(|f| f["path"].as_str())
        .find(|p| p.starts_with("lib/libembedpack-"))
        .expect("the packed bundle has no bootstrap library")
        .to_string();
    let changed_bundle = changed_copy(&bundle, "pack-bootstrap", &bootstrap, middle);
    assert_refuses_dlopen(&changed_bundle, &changed(&changed_bundle, &bootstrap));
}

#[test]
fn pypy_bundle_checks_libpypy() {
    let bundle = workdir("self-check-pypy").join("sentinel");
    let fixture = repo().join("tests/fixtures/pypy");
    run_ok(
        embedpack()
            .arg("build")
            .arg(fixture.join("build_pypy.py"))
            .arg("--venv")
            .arg(named_venv("venv-pypy"))
            .arg("--app")
            .arg(fixture.join("app"))
            .arg("-o")
            .arg(&bundle)
            .args(["-q", "--self-check"]),
    );
    let (output, _) = call(&bundle);
    assert_eq!(stdout(&output), "42\n1\n", "stderr:\n{}", stderr(&output));
    let manifest = manifest(&bundle);
    let file = format!("lib/{}", manifest["python"]["libpython"].as_str().unwrap());
    assert!(file.contains("libpypy"), "{file}");
    let changed_bundle = changed_copy(&bundle, "pypy-libpypy", &file, middle);
    assert_refuses(&changed_bundle, &changed(&changed_bundle, &file));
}

/// tests/fixtures/self_check/`name`.c compiled with `stubs`
/// (stubs/self_check/*.c) and `defines`, as `variant`.
fn c_tool(name: &str, stubs: &[&str], defines: &[&str], variant: &str) -> PathBuf {
    let out = workdir(&format!("self-check-tool-{name}-{variant}")).join(name);
    let dir = repo().join("stubs/self_check");
    run_ok(
        Command::new("cc")
            .args(["-Wall", "-Wextra", "-Werror", "-O2", "-o"])
            .arg(&out)
            .arg(format!("-I{}", dir.display()))
            .args(defines)
            .arg(
                repo()
                    .join("tests/fixtures/self_check")
                    .join(format!("{name}.c")),
            )
            .args(stubs.iter().map(|s| dir.join(format!("{s}.c")))),
    );
    out
}

/// Bytes that do not repeat with any short period.
fn bytes(size: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_u32;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            (state >> 24) as u8
        })
        .collect()
}

/// Every length around the padding's edges (55 and 56 bytes in the last
/// block, a whole block), fed in pieces that fill the block in every way.
/// Both ways: with the SHA extensions where this processor has them, and
/// without.
#[test]
fn sha256_in_c_agrees_with_rust_at_every_padding_edge() {
    let stubs = ["sha256", "sha256_x86"];
    let tools = [
        c_tool("sha256sum", &stubs, &[], "default"),
        c_tool(
            "sha256sum",
            &stubs,
            &["-DEMBEDPACK_SHA256_PORTABLE"],
            "portable",
        ),
    ];
    let dir = workdir("self-check-sha256");
    let sizes: Vec<usize> = (0..=200)
        .chain([1000, 4095, 4096, 4097, 1_000_003])
        .collect();
    let files: Vec<PathBuf> = sizes
        .iter()
        .map(|&size| {
            let file = dir.join(format!("{size}"));
            std::fs::write(&file, bytes(size)).unwrap();
            file
        })
        .collect();
    let expected: String = sizes
        .iter()
        .map(|&size| format!("{:x}\n", Sha256::digest(bytes(size))))
        .collect();
    for (tool, chunk) in tools
        .iter()
        .flat_map(|t| ["1", "7", "63", "64", "65", "4096"].map(|c| (t, c)))
    {
        let output = run_ok(Command::new(tool).arg(chunk).args(&files));
        assert_eq!(
            stdout(&output),
            expected,
            "{}, pieces of {chunk} bytes",
            tool.display()
        );
    }
}

/// The C reader lists the same files as serde_json, and reads JSON's
/// escapes and embedpack's own for names that are not UTF-8.
#[test]
fn manifest_reader_in_c_reads_what_embedpack_writes() {
    let tool = c_tool("manifest_files", &["manifest"], &[], "default");
    let bundle = &checked().bundle;
    let output = run_ok(Command::new(&tool).arg(bundle.join("MANIFEST.json")));
    let files = manifest(bundle)["files"].as_array().unwrap().clone();
    let expected: String = files
        .iter()
        .map(|f| {
            format!(
                "{} {}\n",
                f["path"].as_str().unwrap(),
                f["sha256"].as_str().unwrap()
            )
        })
        .collect();
    assert!(expected.is_ascii() && !expected.contains('\\'));
    assert_eq!(stdout(&output), expected);

    let dir = workdir("self-check-manifest-reader");
    let tricky = r#"{"embedpack": "0.1.0", "python": {"x": [1, -2.5e3, true, false, null,
        {"files": [{"path": "nested", "sha256": "no"}]}]},
     "files": [
      {"size": 1, "path": "caf\u00e9/\ud83d\ude00 \"q\" \\ \/ \t", "mode": 420, "sha256": "aa"},
      {"path": "bin\\xff\\\\ary", "escaped": true, "sha256": "bb", "extra": {"a": [[]]}},
      {"sha256": "cc", "escaped": false, "path": "plain\\xffnot-escaped"}
     ],
     "after": "ignored"}
"#;
    std::fs::write(dir.join("tricky.json"), tricky).unwrap();
    let output = run_ok(Command::new(&tool).arg(dir.join("tricky.json")));
    assert_eq!(
        stdout(&output),
        "caf\\xc3\\xa9/\\xf0\\x9f\\x98\\x80 \"q\" \\x5c / \\x09 aa\n\
         bin\\xff\\x5cary bb\n\
         plain\\x5cxffnot-escaped cc\n"
    );

    for (case, text, problem) in [
        ("cut", &tricky[..200], "a string does not end"),
        (
            "no-hash",
            r#"{"files": [{"path": "a"}]}"#,
            "has no `path` or no `sha256`",
        ),
        (
            "bad-escape",
            r#"{"files": [{"path": "a\\q", "escaped": true, "sha256": "b"}]}"#,
            "no escape",
        ),
        ("no-files", r#"{"module": "x"}"#, "it has no `files`"),
        (
            "trailing",
            r#"{"files": []} {"#,
            "more text follows the manifest",
        ),
        (
            "lone-surrogate",
            r#"{"files": [{"path": "\udc00", "sha256": "b"}]}"#,
            "not a character",
        ),
    ] {
        let file = dir.join(format!("{case}.json"));
        std::fs::write(&file, text).unwrap();
        let output = Command::new(&tool).arg(&file).output().unwrap();
        assert_eq!(output.status.code(), Some(1), "{case}: {}", stdout(&output));
        assert!(
            stdout(&output).starts_with("error: ") && stdout(&output).contains(problem),
            "{case}: {}",
            stdout(&output)
        );
    }
}
