//! embedpack: turn a CFFI embedding library into a folder that any C
//! program can load from anywhere, with its own Python inside.
//!
//! The pipeline, one module each: resolve (find the Python environment) →
//! build (compile the plugin with the bootstrap, or prepare a library
//! compiled elsewhere for `pack`) → collect (plan the bundle's files) →
//! link (vendor shared libraries, patch ELF files) → write (publish the
//! bundle atomically) → verify (check a bundle against its manifest).

mod build;
mod cli;
mod collect;
mod commands;
mod inspect;
mod layout;
mod link;
mod resolve;
mod verify;
mod write;

use std::process::ExitCode;

use clap::Parser;

/// Exit status when the tool could not do what was asked (usage errors
/// exit with 2, as clap does).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let log = cli::Log::new(cli.verbose, cli.quiet);
    match commands::run(cli.command, log) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let hint = hint_of(&err);
            eprintln!("error: {}", chain(&err, hint.as_deref()));
            if let Some(hint) = hint {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// The hint attached anywhere to the error: as its root cause or as a
/// context layer.
fn hint_of(err: &anyhow::Error) -> Option<String> {
    err.downcast_ref::<Hint>()
        .or_else(|| err.chain().find_map(|e| e.downcast_ref::<Hint>()))
        .map(|hint| hint.0.clone())
}

/// The error and its causes on one line, the hint left out.
fn chain(err: &anyhow::Error, hint: Option<&str>) -> String {
    err.chain()
        .map(|e| e.to_string())
        .filter(|text| Some(text.as_str()) != hint)
        .collect::<Vec<_>>()
        .join(": ")
}

/// What the user can do about an error, printed on its own `hint:` line.
/// Attach it as the root cause: `Err(anyhow!(Hint(..)).context(message))`.
#[derive(Debug)]
pub struct Hint(pub String);

impl std::fmt::Display for Hint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Hint {}

/// An error with a hint: `fail(message, hint)`.
pub fn fail(message: impl std::fmt::Display, hint: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(Hint(hint.into())).context(message.to_string())
}
