//! `build --json`: one JSON object on stdout that agrees with the
//! bundle's MANIFEST.json, or the error and its hint; the human log on
//! stderr only, and no progress bar there when stderr is not a terminal.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

/// The whole of stdout, which must be one JSON object.
fn json_of(output: &std::process::Output) -> Value {
    let text = stdout(output);
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("stdout is not one JSON value ({e}):\n{text}"))
}

/// Progress bars redraw with `\r` and terminal escapes.
fn assert_no_progress(stderr: &str) {
    assert!(
        !stderr.contains('\r') && !stderr.contains('\x1b'),
        "progress drawn on a pipe:\n{stderr:?}"
    );
}

/// What `--json` says against what the bundle's manifest lists.
pub fn assert_matches_manifest(summary: &Value, bundle: &Path) {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    let files = manifest["files"].as_array().unwrap();
    assert_eq!(summary["ok"], true, "{summary:#}");
    assert_eq!(summary["output"], bundle.display().to_string());
    assert_eq!(summary["format"], "folder");
    assert_eq!(summary["module"], manifest["module"]);
    assert_eq!(summary["files"], files.len(), "{summary:#}");
    let bytes: u64 = files.iter().map(|f| f["size"].as_u64().unwrap()).sum();
    assert_eq!(summary["bytes"], bytes, "{summary:#}");
    assert_eq!(summary["requires"], manifest["requires"], "{summary:#}");
    assert!(
        summary["requires"]["versions"]["glibc"].is_string(),
        "{summary:#}"
    );
    let vendored = summary["vendored"].as_array().unwrap();
    assert!(
        !vendored.is_empty(),
        "the runtime library is vendored: {summary:#}"
    );
    for library in vendored {
        let path = library["path"].as_str().unwrap();
        assert!(path.starts_with("lib/"), "{summary:#}");
        assert!(
            files.iter().any(|f| f["path"] == path),
            "`{path}` not in the manifest"
        );
        assert!(
            Path::new(library["from"].as_str().unwrap()).is_absolute(),
            "{summary:#}"
        );
    }
    assert!(summary["warnings"].is_array(), "{summary:#}");
    assert!(summary["no_bytecode"].is_array(), "{summary:#}");
}

#[test]
fn build_json_agrees_with_the_manifest_and_keeps_the_log_on_stderr() {
    let out = workdir("summary-build").join("bundle");
    let output = run_ok(sentinel_command(&venv(), &out).arg("--json"));
    let summary = json_of(&output);
    assert_matches_manifest(&summary, &out);
    let err = stderr(&output);
    assert!(err.contains("Wrote `"), "the human log left stderr:\n{err}");
    assert_no_progress(&err);
}

#[test]
fn build_json_failure_is_told_on_stdout_with_its_hint() {
    let dir = workdir("summary-failure");
    let output = embedpack()
        .arg("build")
        .arg(dir.join("missing.py"))
        .arg("--venv")
        .arg(venv())
        .arg("-o")
        .arg(dir.join("out"))
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let answer = json_of(&output);
    assert_eq!(answer["ok"], false, "{answer:#}");
    assert!(
        answer["error"].as_str().unwrap().contains("missing.py"),
        "{answer:#}"
    );
    let hint = answer["hint"].as_str().unwrap();
    assert!(
        stderr(&output).contains(&format!("hint: {hint}")),
        "{}",
        stderr(&output)
    );
    assert!(!dir.join("out").exists());
}

#[test]
fn json_and_dry_run_do_not_go_together() {
    let dir = workdir("summary-dry-run");
    let output = sentinel_command(&venv(), &dir.join("out"))
        .args(["--json", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(stdout(&output), "");
}

/// `script` gives the command a terminal: there collecting and linking
/// show a spinner and writing a bar, unless `-q` or `--json` asks for
/// quiet.
#[test]
fn progress_bar_only_on_a_terminal() {
    let dir = workdir("summary-progress");
    let on_tty = |extra: &str| {
        let command = format!(
            "{} build {} --venv {} --app {} -o {} {extra}",
            env!("CARGO_BIN_EXE_embedpack"),
            repo()
                .join("tests/fixtures/sentinel/build_sentinel.py")
                .display(),
            venv().display(),
            repo().join("tests/fixtures/sentinel/app").display(),
            dir.join("bundle").display(),
        );
        let output = run_ok(
            std::process::Command::new("script")
                .args(["-qefc", &command, "/dev/null"])
                .env("TERM", "xterm"),
        );
        stdout(&output)
    };
    let shown = on_tty("");
    for step in ["Collecting", "Linking"] {
        assert!(
            shown.contains(step),
            "no `{step}` spinner on a terminal:\n{shown:?}"
        );
    }
    assert!(
        shown.contains("Writing") && shown.contains('\r'),
        "no bar on a terminal:\n{shown:?}"
    );
    assert!(shown.contains("Wrote `"), "{shown}");
    let quiet = on_tty("-q");
    assert!(
        !quiet.contains("Writing") && !quiet.contains("Linking"),
        "a bar with -q:\n{quiet:?}"
    );
    let json = on_tty("--json");
    assert!(
        !json.contains("Writing") && !json.contains("Collecting"),
        "a bar with --json:\n{json:?}"
    );
    let plain = run_ok(&mut sentinel_command(&venv(), &dir.join("bundle")));
    assert_no_progress(&stderr(&plain));
}
