//! The examples run as the README says they do.

use std::process::Command;

use crate::support::*;

#[test]
fn hello_example_prints_42_and_95() {
    let dir = workdir("example-hello");
    let output = run_ok(
        Command::new("bash")
            .arg(repo().join("examples/hello/run.sh"))
            .env("EMBEDPACK", env!("CARGO_BIN_EXE_embedpack"))
            .env("VENV", venv())
            .env("OUT", dir.join("hello")),
    );
    assert_eq!(stdout(&output), "42\n95\n", "stderr:\n{}", stderr(&output));
}
