//! The `embedpack` command: parse the command line, run it, report.

use std::process::ExitCode;

use clap::Parser;

/// Exit status when the tool could not do what was asked (usage errors
/// exit with 2, as clap does).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    let cli = embedpack::cli::Cli::parse();
    match embedpack::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprint!("{}", embedpack::report(&err));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}
