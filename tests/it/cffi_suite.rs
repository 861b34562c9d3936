//! CFFI's own embedding tests (`testing/embedding` in CFFI's source
//! distribution, extracted by tests/run.sh into target/test-env/cffi-src),
//! run through embedpack: each build script becomes a bundle, each C test
//! program is compiled against the bundle(s) and run from `/`, and its
//! output is checked the way CFFI's test_*.py check it.
//!
//! CFFI's files are read from the extracted sdist at test time; only the
//! expected outputs are written here.  Differences from CFFI's harness:
//!
//! * CFFI's test runs the program in the build directory with
//!   LD_LIBRARY_PATH and PYTHONPATH pointing at its build and its cffi
//!   checkout.  Here the program finds each plugin through its own RPATH,
//!   and each plugin finds libpython and cffi in its bundle, so the
//!   program runs from `/` with none of these variables set.
//! * CFFI links the `.so` files by path; here they are linked with
//!   `-L bundle -l<module>`, as a user of a bundle would.
//!
//! test_performance.py's programs only time calls: they are a benchmark,
//! tests/bench/cffi_perf.sh, not tests.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::support;

/// How long one run of a test program may take before it counts as hung.
const RUN_TIMEOUT: Duration = Duration::from_secs(60);

/// `testing/embedding` of CFFI's extracted source distribution.
fn cffi_dir() -> PathBuf {
    support::test_env("cffi-src/testing/embedding", "test_basic.py")
}

/// The bundle that embedpack makes from CFFI's `<name>.py` build script,
/// built once per run (concurrent tests wait for the same build;
/// different plugins build in parallel).
fn bundle(name: &'static str) -> PathBuf {
    type Cells = Mutex<HashMap<&'static str, Arc<OnceLock<PathBuf>>>>;
    static BUNDLES: OnceLock<Cells> = OnceLock::new();
    let cell = BUNDLES
        .get_or_init(Default::default)
        .lock()
        .unwrap()
        .entry(name)
        .or_default()
        .clone();
    cell.get_or_init(|| build_bundle(name)).clone()
}

fn build_bundle(name: &str) -> PathBuf {
    let dir = support::workdir(&format!("cffi-plugin-{name}"));
    // Like CFFI's prepare_module(), run a copy of the script, so that
    // nothing is ever written beside the extracted sources.
    let script = dir.join(format!("{name}.py"));
    std::fs::copy(cffi_dir().join(format!("{name}.py")), &script).unwrap();
    let out = dir.join("bundle");
    support::run_ok(
        support::embedpack()
            .arg("build")
            .arg(&script)
            .arg("--venv")
            .arg(support::venv())
            .arg("-o")
            .arg(&out),
    );
    let module = module(name);
    for part in [
        format!("lib{module}.so"),
        format!("include/{module}.h"),
        "lib/libpython3.11.so.1.0".to_string(),
    ] {
        assert!(
            out.join(&part).is_file(),
            "bundle `{}` has no {part}",
            out.display()
        );
    }
    out
}

/// CFFI's test scripts all call `set_source("_<name>_cffi", ...)`.
fn module(name: &str) -> String {
    format!("_{name}_cffi")
}

/// Compiles CFFI's `<program>.c` into a fresh directory, linked to the
/// bundles of the given build scripts in that order, as CFFI's
/// `compile(name, modules, threads=..., defines=...)` does.
fn compile(
    test: &str,
    program: &str,
    plugins: &[&'static str],
    threads: bool,
    defines: &[(&str, &str)],
) -> PathBuf {
    let bundles: Vec<(PathBuf, String)> = plugins
        .iter()
        .map(|name| (bundle(name), module(name)))
        .collect();
    let dir = support::workdir(&format!("cffi-{test}"));
    let exe = dir.join(program);
    let mut cc = Command::new("cc");
    cc.arg("-g").arg("-o").arg(&exe);
    if threads {
        cc.arg("-pthread");
    }
    for (name, value) in defines {
        cc.arg(format!("-D{name}={value}"));
    }
    // Compiled in place: its `#include "thread-test.h"` is found beside it.
    cc.arg(cffi_dir().join(format!("{program}.c")));
    for (bundle, module) in &bundles {
        cc.arg("-I").arg(bundle.join("include"));
        cc.arg("-L").arg(bundle);
        cc.arg(format!("-l{module}"));
        cc.arg(format!("-Wl,-rpath,{}", bundle.display()));
    }
    support::run_ok(&mut cc);
    exe
}

/// What one run of a test program printed.
struct Run {
    stdout: String,
    stderr: String,
}

/// Runs a compiled test program from `/`, without the variables CFFI's
/// harness sets; fails the test unless it exits 0 within RUN_TIMEOUT
/// (CFFI's execute() fails on a non-zero exit too).
fn execute(exe: &Path) -> Run {
    let dir = exe.parent().unwrap();
    let stdout_path = dir.join("stdout.txt");
    let stderr_path = dir.join("stderr.txt");
    // Files rather than pipes, so that a hung program cannot block us;
    // like a pipe, a file makes Python's stdout block-buffered.
    let mut child = support::as_bare_host(&mut Command::new(exe))
        .stdout(File::create(&stdout_path).unwrap())
        .stderr(File::create(&stderr_path).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", exe.display()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{}` did not finish within {RUN_TIMEOUT:?}\nstdout:\n{}\nstderr:\n{}",
                exe.display(),
                std::fs::read_to_string(&stdout_path).unwrap_or_default(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let run = Run {
        stdout: String::from_utf8_lossy(&std::fs::read(&stdout_path).unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&std::fs::read(&stderr_path).unwrap()).into_owned(),
    };
    assert!(
        status.success(),
        "`{}` failed with {status}\nstdout:\n{}\nstderr:\n{}",
        exe.display(),
        run.stdout,
        run.stderr
    );
    run
}

/// Asserts the exact stdout of a run, showing stderr when it differs.
fn assert_stdout(run: &Run, expected: &str) {
    assert_eq!(
        run.stdout, expected,
        "unexpected stdout; stderr was:\n{}",
        run.stderr
    );
}

/// A plugin that starts and runs well prints nothing on stderr: no
/// message from embedpack's bootstrap, CFFI or Python.  (CFFI's harness
/// leaves stderr alone; this is stricter.)
fn assert_quiet(run: &Run) {
    assert_eq!(
        run.stderr, "",
        "unexpected stderr; stdout was:\n{}",
        run.stdout
    );
}

/// The exact stdout, and nothing on stderr.
fn assert_output(run: &Run, expected: &str) {
    assert_stdout(run, expected);
    assert_quiet(run);
}

/// CFFI's `_take_out`: removes the first occurrence of `content`, which
/// must be there.
fn take_out(text: &str, content: &str, run: &Run) -> String {
    let i = text.find(content).unwrap_or_else(|| {
        panic!(
            "{content:?} is missing from the output (left: {text:?})\nfull stdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        )
    });
    format!("{}{}", &text[..i], &text[i + content.len()..])
}

// ---------------------------------------------------------------------
// test_basic.py

/// test_basic.py `test_empty`: a plugin with an empty `embedding_api("")`
/// whose own C function, defined in `set_source()` without
/// `CFFI_DLLEXPORT`, starts Python with `cffi_start_python()`.  The user's
/// C keeps its default visibility, so empty-test.c links to it as it
/// would to CFFI's own build.
#[test]
fn cffi_basic_empty() {
    let exe = compile("test_empty", "empty-test", &["empty"], false, &[]);
    let run = execute(&exe);
    assert_output(&run, "OK\n");
}

/// test_basic.py `test_basic`: add1-test.c calls add1() twice; the first
/// call runs the init code, which prints "preparing...".
#[test]
fn cffi_basic_add1() {
    let exe = compile("test_basic", "add1-test", &["add1"], false, &[]);
    let run = execute(&exe);
    assert_output(
        &run,
        "preparing...\nadding 40 and 2\nadding 100 and -5\ngot: 42 95\n",
    );
}

/// test_basic.py `test_two_modules`: two plugins (two bundles) in one
/// process; the second joins the Python that the first started.
#[test]
fn cffi_basic_two_modules() {
    let exe = compile(
        "test_two_modules",
        "add2-test",
        &["add1", "add2"],
        false,
        &[],
    );
    let run = execute(&exe);
    assert_output(
        &run,
        "preparing...\nadding 40 and 2\nprepADD2\nadding 100 and -5 and -20\ngot: 42 75\n",
    );
}

/// test_basic.py `test_init_time_error`: the init code raises KeyError;
/// every call then returns 0 and the program goes on.  CFFI's test only
/// checks stdout ("plus lots of info to stderr"); the traceback and CFFI's
/// message naming the module must reach stderr too.
#[test]
fn cffi_basic_init_time_error() {
    let exe = compile(
        "test_init_time_error",
        "add1-test",
        &["initerror"],
        false,
        &[],
    );
    let run = execute(&exe);
    assert_stdout(&run, "got: 0 0\n");
    for text in [
        "Failed to initialize the Python-CFFI embedding logic",
        "KeyError",
        "From: _initerror_cffi",
        "function _initerror_cffi.add1() called, but initialization code failed.  Returning 0.",
    ] {
        assert!(
            run.stderr.contains(text),
            "stderr lacks {text:?}:\n{}",
            run.stderr
        );
    }
    // The bundle itself started: the failure is the init code's, not ours.
    assert!(!run.stderr.contains("embedpack:"), "{}", run.stderr);
}

/// test_basic.py `test_embedding_with_unicode`: init code with non-ASCII
/// characters (and no `def_extern`, so add1 returns 0).
#[test]
fn cffi_basic_embedding_with_unicode() {
    let exe = compile(
        "test_embedding_with_unicode",
        "add1-test",
        &["withunicode"],
        false,
        &[],
    );
    let run = execute(&exe);
    assert_stdout(&run, "255\n4660\n65244\ngot: 0 0\n");
    // add1 has no @ffi.def_extern(): CFFI says so on each call, and
    // nothing else may appear on stderr.
    let message = "extern \"Python\": function _withunicode_cffi.add1() called, \
                   but no code was attached to it yet with @ffi.def_extern().  Returning 0.\n";
    assert_eq!(run.stderr, message.repeat(2), "unexpected stderr");
}

// ---------------------------------------------------------------------
// test_thread.py

/// test_thread.py `test_first_calls_in_parallel`: ten threads make the
/// first call at once; the init code must run once, and all wait for it.
#[test]
fn cffi_thread_first_calls_in_parallel() {
    let exe = compile(
        "test_first_calls_in_parallel",
        "thread1-test",
        &["add1"],
        true,
        &[],
    );
    let expected = format!(
        "starting\npreparing...\n{}done\n",
        "adding 40 and 2\n".repeat(10)
    );
    for _ in 0..20 {
        let run = execute(&exe);
        assert_output(&run, &expected);
    }
}

/// test_thread.py `test_init_different_modules_in_different_threads`:
/// two plugins start in two threads at once; add2's init must not wait
/// for add1's (slow) init, so at least the third dot of add1's
/// "preparing..." comes after everything add2 prints.
#[test]
fn cffi_thread_init_different_modules_in_different_threads() {
    let exe = compile(
        "test_init_different_modules_in_different_threads",
        "thread2-test",
        &["add1", "add2"],
        true,
        &[],
    );
    for _ in 0..3 {
        let run = execute(&exe);
        let mut output = take_out(&run.stdout, "preparing", &run);
        output = take_out(&output, ".", &run);
        output = take_out(&output, ".", &run);
        assert_eq!(
            output, "starting\nprepADD2\nadding 1000 and 200 and 30\n.\nadding 40 and 2\ndone\n",
            "full stdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        assert_quiet(&run);
    }
}

/// test_thread.py `test_alt_issue`: as above, but the second thread calls
/// add1 before add2, so add2's init starts only after add1's ended.
#[test]
fn cffi_thread_alt_issue() {
    let exe = compile(
        "test_alt_issue",
        "thread2-test",
        &["add1", "add2"],
        true,
        &[("T2TEST_AGAIN_ADD1", "1")],
    );
    let run = execute(&exe);
    let output = take_out(&run.stdout, "adding 40 and 2\n", &run);
    assert_eq!(
        output,
        "starting\npreparing...\nadding -1 and -1\nprepADD2\nadding 1000 and 200 and 30\ndone\n",
        "full stdout:\n{}\nstderr:\n{}",
        run.stdout,
        run.stderr
    );
    assert_quiet(&run);
}

/// test_thread.py `test_load_in_parallel_more`: twenty threads make the
/// first calls into two plugins at once, many times over.
#[test]
fn cffi_thread_load_in_parallel_more() {
    let exe = compile(
        "test_load_in_parallel_more",
        "thread3-test",
        &["add2", "add3"],
        true,
        &[],
    );
    for _ in 0..150 {
        let run = execute(&exe);
        let mut output = run.stdout.clone();
        for _ in 0..10 {
            output = take_out(&output, "adding 40 and 2 and 100\n", &run);
            output = take_out(&output, "adding 1000, 200, 30, 4\n", &run);
        }
        assert_eq!(
            output, "starting\nprepADD2\ndone\n",
            "full stdout:\n{}\nstderr:\n{}",
            run.stdout, run.stderr
        );
        assert_quiet(&run);
    }
}

// ---------------------------------------------------------------------
// test_tlocal.py

/// test_tlocal.py `test_thread_local`: Python thread-locals seen from ten
/// C threads; tlocal-test.c asserts the values itself.
#[test]
fn cffi_tlocal_thread_local() {
    let exe = compile("test_thread_local", "tlocal-test", &["tlocal"], true, &[]);
    for _ in 0..10 {
        let run = execute(&exe);
        assert_output(&run, "done\n");
    }
}

// ---------------------------------------------------------------------
// test_recursive.py

/// test_recursive.py `test_recursive`: the init code calls back into C
/// (an exported global function pointer, `CFFI_DLLEXPORT` in set_source),
/// which calls the plugin's own add_rec() while its init is still running.
#[test]
fn cffi_recursive() {
    let exe = compile(
        "test_recursive",
        "add_recursive-test",
        &["add_recursive"],
        false,
        &[],
    );
    let run = execute(&exe);
    assert_output(
        &run,
        "preparing REC\nsome_callback(400)\nadding 400 and 9\n<<< 409 >>>\n\
         adding 40 and 2\nadding 100 and -5\ngot: 42 95\n",
    );
}
