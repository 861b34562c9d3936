//! The soak, short: fresh processes whose 16 threads all make their first
//! call into a bundle at the same instant (tests/hosts/soak.c), so that
//! the bundle's Python starts while every one of them asks for it; half
//! through a host that dlopen()s the bundle, half through one linked to it
//! at build time; for the CPython and the PyPy bundle.  Every process must
//! give each thread its own answer, quietly, within a time bound: a hung
//! one is killed and fails the test.  tests/bench/soak.sh is the long run,
//! a few hundred processes per bundle and host (figures in BENCHMARKS.md).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::pypy::pypy_bundle;
use crate::support::*;

const THREADS: usize = 16;
/// Fresh processes per bundle, every other one through each host.
const PROCESSES: usize = 16;
/// Longer than a start-up takes on a busy machine by far: past it, a
/// process counts as hung.
const LIMIT: Duration = Duration::from_secs(60);

/// tests/hosts/soak.c, dlopen()ing the plugin it is given; compiled once.
fn dlopen_host() -> &'static Path {
    static HOST: OnceLock<PathBuf> = OnceLock::new();
    HOST.get_or_init(|| host("soak", &[]))
}

/// tests/hosts/soak.c linked to `bundle`'s plugin at build time (its
/// header, `-lsentinel`, an rpath to the bundle).
fn linked_soak_host(bundle: &Path) -> PathBuf {
    let include = format!("-I{}", bundle.join("include").display());
    let libdir = format!("-L{}", bundle.display());
    let rpath = format!("-Wl,-rpath,{}", bundle.display());
    host(
        "soak",
        &["-DSOAK_LINKED", &include, &libdir, "-lsentinel", &rpath],
    )
}

/// How one process ended.
enum Outcome {
    Passed,
    Failed(String),
    Hung(String),
}

/// Runs `command` from `/` without LD_LIBRARY_PATH or PYTHON* variables,
/// its output in `dir` (files, so that a hung process cannot block the
/// test); kills it after LIMIT.
fn run_bounded(command: &mut Command, dir: &Path) -> Outcome {
    let output = dir.join("output.txt");
    let file = File::create(&output).unwrap();
    let mut child = as_bare_host(command)
        .stdout(file.try_clone().unwrap())
        .stderr(file)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let start = Instant::now();
    let status: Option<ExitStatus> = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let printed = String::from_utf8_lossy(&std::fs::read(&output).unwrap()).into_owned();
    match status {
        None => Outcome::Hung(format!(
            "{command:?} hung for {LIMIT:?}; printed:\n{printed}"
        )),
        Some(status) if status.success() && printed == format!("ok: {THREADS} threads\n") => {
            Outcome::Passed
        }
        Some(status) => Outcome::Failed(format!("{command:?} ended with {status}:\n{printed}")),
    }
}

/// PROCESSES fresh processes on `bundle`, each under LIMIT, up to the first
/// hang; fails the test unless all of them passed, naming the first
/// failure and the hang.
fn soak(name: &str, bundle: &Path) {
    let dir = workdir(name);
    let linked = linked_soak_host(bundle);
    let plugin = bundle.join("libsentinel.so");
    let (mut failed, mut hung) = (Vec::new(), Vec::new());
    for index in 0..PROCESSES {
        let mut command = if index % 2 == 0 {
            let mut command = Command::new(dlopen_host());
            command.arg(THREADS.to_string()).arg(&plugin);
            command
        } else {
            let mut command = Command::new(&linked);
            command.arg(THREADS.to_string());
            command
        };
        match run_bounded(&mut command, &dir) {
            Outcome::Passed => {}
            Outcome::Failed(why) => failed.push(why),
            Outcome::Hung(why) => {
                // One is enough: the next would keep the suite waiting too.
                hung.push(why);
                break;
            }
        }
    }
    assert!(
        failed.is_empty() && hung.is_empty(),
        "{} of {PROCESSES} processes failed and {} hung (the soak stops at a hang); \
         the first of each:\n{}\n{}",
        failed.len(),
        hung.len(),
        failed.first().map_or("", String::as_str),
        hung.first().map_or("", String::as_str)
    );
}

#[test]
fn cpython_bundle_sixteen_threads_first_call_at_once_in_fresh_processes() {
    soak("soak-cpython", sentinel_bundle());
}

#[test]
fn pypy_bundle_sixteen_threads_first_call_at_once_in_fresh_processes() {
    soak("soak-pypy", pypy_bundle());
}
