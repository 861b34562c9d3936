//! What embedpack generates from its command line for shells and `man`,
//! and how `--help` sets the global options apart.

use std::path::Path;
use std::process::Command;

use crate::support::*;

const COMMANDS: [&str; 5] = ["build", "pack", "verify", "inspect", "completions"];

#[test]
fn bash_completion_parses_and_completes_every_command() {
    let output = run_ok(embedpack().args(["completions", "bash"]));
    let script = stdout(&output);
    let dir = workdir("generated-bash");
    let path = dir.join("embedpack.bash");
    std::fs::write(&path, &script).unwrap();
    run_ok(Command::new("bash").arg("-n").arg(&path));
    for command in COMMANDS {
        assert!(script.contains(command), "`{command}` not in:\n{script}");
    }
    assert!(script.contains("--keep-stdlib"), "{script}");
    assert!(
        !script.contains("embedpack__man"),
        "the hidden `man` is completed:\n{script}"
    );
}

#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let output = run_ok(embedpack().args(["completions", shell]));
        let script = stdout(&output);
        assert!(script.contains("embedpack"), "{shell}:\n{script}");
        assert!(script.contains("dry-run"), "{shell}:\n{script}");
    }
    let output = embedpack().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
}

#[test]
fn man_pages_are_valid_roff_and_document_each_command() {
    let dir = workdir("generated-man");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/man.sh");
    let output = run_ok(
        Command::new("bash")
            .arg(script)
            .arg(&dir)
            .env("EMBEDPACK", env!("CARGO_BIN_EXE_embedpack")),
    );
    let printed: Vec<String> = stdout(&output).lines().map(String::from).collect();
    let mut pages = vec!["embedpack.1".to_string()];
    pages.extend(COMMANDS.iter().map(|c| format!("embedpack-{c}.1")));
    let expected: Vec<String> = pages
        .iter()
        .map(|p| dir.join(p).display().to_string())
        .collect();
    assert_eq!(printed, expected);
    for page in &expected {
        // -z: parse and format, print nothing; -ww: every warning.
        let output = run_ok(
            Command::new("groff")
                .args(["-man", "-Tutf8", "-z", "-ww"])
                .arg(page),
        );
        assert_eq!(stderr(&output), "", "groff warns about `{page}`");
    }
    let build = run_ok(
        Command::new("groff")
            .args(["-man", "-Tutf8", "-P-c", "-P-b", "-P-u"])
            .arg(dir.join("embedpack-build.1")),
    );
    let text = stdout(&build);
    for option in ["--venv", "--no-bytecode", "--host-lib", "--verbose"] {
        assert!(text.contains(option), "`{option}` not in:\n{text}");
    }
}

#[test]
fn help_shows_the_global_options_apart() {
    for command in [&["--help"][..], &["build", "--help"], &["verify", "--help"]] {
        let help = stdout(&run_ok(embedpack().args(command)));
        let (own, global) = help
            .split_once("\nGlobal options:\n")
            .unwrap_or_else(|| panic!("no `Global options:` heading in:\n{help}"));
        let global = global.split("\n\n").next().unwrap();
        assert!(
            global.contains("--verbose") && global.contains("--quiet"),
            "{help}"
        );
        assert!(
            !own.contains("--quiet") && !own.contains("--verbose"),
            "{help}"
        );
    }
}
