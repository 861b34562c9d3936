//! The `embedpack` command: parse the command line, run it, report.

use std::process::ExitCode;

use clap::Parser;

/// Exit status when the tool could not do what was asked (usage errors
/// exit with 2, as clap does).
const EXIT_FAILURE: u8 = 1;

fn main() -> ExitCode {
    keep_large_buffers_apart();
    let cli = embedpack::cli::Cli::parse();
    match embedpack::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprint!("{}", embedpack::report(&err));
            ExitCode::from(EXIT_FAILURE)
        }
    }
}

/// Gives every buffer of 256 KiB or more (a file being read or patched)
/// its own mapping, returned when freed. By default glibc raises that
/// threshold to the largest buffer freed so far, after which the next
/// files' buffers come from the heap and stay resident once freed: a pack
/// then held twice the memory it used.
fn keep_large_buffers_apart() {
    // SAFETY: mallopt only sets an allocator parameter; called before any
    // other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
    }
}
