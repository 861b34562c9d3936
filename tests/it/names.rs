//! File names are bytes: an app whose names are not UTF-8 — two of them
//! differing only in such bytes — and a module whose name is not ASCII are
//! bundled with their exact names in every format, with and without
//! bytecode; the manifest tells the two apart, `verify` checks them, and
//! the bundled interpreter imports them.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::*;

/// `name` on this machine: a file name of any bytes.
fn bytes_name(name: &[u8]) -> &Path {
    Path::new(OsStr::from_bytes(name))
}

/// The sentinel's app with `odd\xff.py` (X = 1), `odd\xfe.py` (X = 2) and
/// `modülé.py` beside its package.
fn odd_app(dir: &Path) -> PathBuf {
    let app = dir.join("app");
    std::fs::create_dir_all(&app).unwrap();
    copy_tree(
        &repo().join("tests/fixtures/sentinel/app/sentinel_app"),
        &app,
    );
    std::fs::write(app.join(bytes_name(b"odd\xff.py")), "X = 1\n").unwrap();
    std::fs::write(app.join(bytes_name(b"odd\xfe.py")), "X = 2\n").unwrap();
    std::fs::write(app.join("modülé.py"), "NAME = 'ü'\n").unwrap();
    app
}

/// Builds the sentinel plugin with `app` as its app root.
fn build_odd(app: &Path, out: &Path, extra: &[&str]) {
    let fixture = repo().join("tests/fixtures/sentinel");
    run_ok(
        embedpack()
            .arg("build")
            .arg(fixture.join("build_sentinel.py"))
            .arg("--venv")
            .arg(venv())
            .arg("--app")
            .arg(app)
            .arg("-o")
            .arg(out)
            .arg("-q")
            .args(extra),
    );
}

fn verify(bundle: &Path) -> std::process::Output {
    embedpack()
        .arg("verify")
        .arg("--json")
        .arg(bundle)
        .output()
        .unwrap()
}

fn manifest_paths(bundle: &Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(bundle.join("MANIFEST.json")).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                f["escaped"].as_bool().unwrap_or(false),
            )
        })
        .collect()
}

/// What the bundle's interpreter says, one line per expression.
fn ask(bundle: &Path, expressions: &[&str]) -> String {
    stdout(&run_ok(
        Command::new(run_plugin_host())
            .arg(bundle.join("libsentinel.so"))
            .args(expressions),
    ))
}

const IMPORTS: &[&str] = &[
    "__import__('modülé').NAME == 'ü'",
    "__import__('importlib').import_module('odd\\udcff').X == 1",
    "__import__('importlib').import_module('odd\\udcfe').X == 2",
];

#[test]
fn names_that_are_not_utf8_build_verify_and_import() {
    let dir = workdir("names-odd");
    let app = odd_app(&dir);
    for (name, extra) in [("bytecode", &[][..]), ("plain", &["--no-bytecode"][..])] {
        let bundle = dir.join(name);
        build_odd(&app, &bundle, extra);
        let output = verify(&bundle);
        assert!(output.status.success(), "{}", stdout(&output));
        let paths = manifest_paths(&bundle);
        for odd in ["app/odd\\xff.py", "app/odd\\xfe.py"] {
            assert!(
                paths.contains(&(odd.to_string(), true)),
                "{odd} in {paths:?}"
            );
        }
        assert!(paths.contains(&("app/modülé.py".to_string(), false)));
        let (major, minor, _) = python().version;
        for odd in ["xff", "xfe"] {
            let pyc = format!("app/__pycache__/odd\\{odd}.cpython-{major}{minor}.pyc");
            let listed = paths.contains(&(pyc.clone(), true));
            assert_eq!(listed, name == "bytecode", "{pyc}");
        }
        assert!(bundle.join(bytes_name(b"app/odd\xff.py")).is_file());
        assert_eq!(ask(&bundle, IMPORTS), "1\n1\n1\n");
        // With bytecode, the odd module's is where the interpreter looks.
        let cached = "__import__('os').path.isfile(\
                      __import__('importlib').import_module('odd\\udcff').__cached__)";
        let expected = if name == "bytecode" { "1\n" } else { "0\n" };
        assert_eq!(ask(&bundle, &[cached]), expected);
    }
}

#[test]
fn verify_notices_a_change_to_an_odd_named_file() {
    let dir = workdir("names-changed");
    let app = odd_app(&dir);
    let bundle = dir.join("bundle");
    build_odd(&app, &bundle, &["--no-bytecode"]);
    std::fs::write(bundle.join(bytes_name(b"app/odd\xff.py")), "X = 3\n").unwrap();
    let output = verify(&bundle);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let problems: Vec<(&str, &str)> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["path"].as_str().unwrap(), p["problem"].as_str().unwrap()))
        .collect();
    assert_eq!(problems, [("app/odd\\xff.py", "changed")]);
}

#[test]
fn archives_keep_names_that_are_not_utf8() {
    let dir = workdir("names-archives");
    let app = odd_app(&dir);
    for name in ["odd.zip", "odd.tar.gz"] {
        let archive = dir.join(name);
        build_odd(&app, &archive, &["--no-bytecode"]);
        let output = verify(&archive);
        assert!(output.status.success(), "{name}: {}", stdout(&output));
    }
    // GNU tar restores the exact names, and the unpacked folder verifies.
    let unpacked = dir.join("unpacked");
    std::fs::create_dir_all(&unpacked).unwrap();
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(dir.join("odd.tar.gz"))
            .arg("-C")
            .arg(&unpacked),
    );
    let folder = unpacked.join("odd");
    assert!(folder.join(bytes_name(b"app/odd\xfe.py")).is_file());
    let output = verify(&folder);
    assert!(output.status.success(), "{}", stdout(&output));
    assert_eq!(ask(&folder, IMPORTS), "1\n1\n1\n");
    // The zip's entries carry the exact bytes (zipinfo lists them raw).
    let listing = run_ok(Command::new("zipinfo").arg("-1").arg(dir.join("odd.zip")));
    let names: Vec<&[u8]> = listing.stdout.split(|b| *b == b'\n').collect();
    assert!(names.contains(&&b"odd/app/odd\xff.py"[..]));
    assert!(names.contains(&&b"odd/app/odd\xfe.py"[..]));
    assert!(names.contains(&"odd/app/modülé.py".as_bytes()));
}
