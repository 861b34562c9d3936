//! What the host's environment can change in a bundle: every variable
//! CPython and PyPy document as read at start-up, files a Python would
//! pick up from the working directory and from `~/.local`, and
//! `LD_LIBRARY_PATH` offering libraries of the bundle's names.  Each row
//! of the tables below is a row of the README's "What the environment
//! can change", by its case name: the variables it sets, an expression
//! the bundle evaluates, and the value that expression must have.
//!
//! Every process runs with the trap files of `lay_out` in place, so the
//! file rows need no variable; several rows share one process, and a
//! process must print nothing on stderr (verbose imports, allocator
//! statistics, locale warnings would).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::pypy::pypy_bundle;
use crate::support::*;

/// One way the environment could reach a bundle.
struct Row {
    /// The README's name for the case.
    case: &'static str,
    /// Variables set for it; `{evil}`, `{home}` and `{libs}` stand for
    /// the folders of `lay_out`.
    env: &'static [(&'static str, &'static str)],
    /// Evaluated by the bundle (with `sys` and the app's `checks`).
    expression: &'static str,
    expected: i64,
}

const fn row(
    case: &'static str,
    env: &'static [(&'static str, &'static str)],
    expression: &'static str,
    expected: i64,
) -> Row {
    Row {
        case,
        env,
        expression,
        expected,
    }
}

/// The trap files' rows, the same for both interpreters: nothing of the
/// working directory or of `~/.local` runs or shadows a module, and no
/// library of `LD_LIBRARY_PATH` replaces the bundle's.
#[rustfmt::skip]
const FILES: &[Row] = &[
    row("cwd sitecustomize.py", &[], "checks.injected('cwd sitecustomize.py')", 0),
    row("cwd usercustomize.py", &[], "checks.injected('cwd usercustomize.py')", 0),
    row("cwd .pth", &[], "checks.injected('cwd .pth')", 0),
    row("cwd json.py", &[], JSON_FROM_CWD, 1),
    row("~/.local sitecustomize.py", &[], "checks.injected('~/.local sitecustomize.py')", 0),
    row("~/.local usercustomize.py", &[], "checks.injected('~/.local usercustomize.py')", 0),
    row("~/.local .pth", &[], "checks.injected('~/.local .pth')", 0),
    row("~/.local json.py", &[], JSON_FROM_HOME, 1),
    row("LD_LIBRARY_PATH", &[("LD_LIBRARY_PATH", "{libs}")], OWN_LIBRARIES, 1),
];

const JSON_FROM_CWD: &str =
    "not checks.injected('cwd json.py') and checks.inside(__import__('json').__file__)";
const JSON_FROM_HOME: &str =
    "not checks.injected('~/.local json.py') and checks.inside(__import__('json').__file__)";
/// Loads extension modules that need vendored libraries, then asks
/// whether anything was mapped from the `LD_LIBRARY_PATH` folder.
const OWN_LIBRARIES: &str = "checks.maps_from('{libs}') == 0 and __import__('ctypes') \
    and __import__('sqlite3') and __import__('ssl') and __import__('lzma') \
    and checks.maps_from('{libs}') == 0";
const PATH_IGNORED: &str = "not checks.injected('PYTHONPATH sitecustomize.py') \
    and checks.inside(__import__('json').__file__) \
    and not any(p.startswith('{evil}') for p in sys.path)";
const HOME_IGNORED: &str =
    "checks.inside(sys.prefix + '/x') and checks.inside(sys.modules['encodings'].__file__)";
const USER_BASE_IGNORED: &str =
    "checks.injected('PYTHONUSERBASE usercustomize.py') + checks.injected('PYTHONUSERBASE .pth')";
/// sys.executable is the bundle's, no venv around the variable's file
/// got in, and child processes still get the host's value.
const EXECUTABLE_IGNORED: &str = "checks.inside(sys.executable) \
    and checks.inside(sys.prefix + '/x') and not checks.injected('PYTHONEXECUTABLE .pth') \
    and __import__('os').environ['PYTHONEXECUTABLE'] == '{evil}/venv/bin/python'";
const PYPY_EXECUTABLE_IGNORED: &str = "sys.executable != '{evil}/venv/bin/python' \
    and checks.inside(sys.prefix + '/x') and not checks.injected('PYTHONEXECUTABLE .pth')";
const NO_WARNING_FILTERS: &str = "len(sys.warnoptions) \
    + len([f for f in __import__('warnings').filters if f[0] == 'error'])";
const STDOUT_UTF8: &str = "__import__('codecs').lookup(sys.stdout.encoding).name == 'utf-8'";
const FS_UTF8: &str = "sys.getfilesystemencoding() == 'utf-8'";
const ASYNCIO_DEBUG: &str = "__import__('asyncio').new_event_loop().get_debug()";
const PERF_TRAMPOLINE: &str = "getattr(sys, 'is_stack_trampoline_active', lambda: False)()";
const GIL_ENABLED: &str = "getattr(sys, '_is_gil_enabled', lambda: True)()";
const NO_REFS_FILE: &str = "not __import__('os').path.exists('{evil}/refs')";
const NO_HISTORY: &str = "not __import__('os').path.exists('{evil}/history')";
const C_LOCALE_KEPT: &str = "__import__('os').environ['LC_CTYPE'] == 'C' and sys.flags.utf8_mode";
const FROZEN_OS: &str = "sys.modules['os'].__loader__.__name__ == 'FrozenImporter'";

/// The CPython bundle: an isolated configuration reads no `PYTHON*`
/// variable (and the bootstrap hides `PYTHONEXECUTABLE`, which CPython
/// reads regardless), so every row is "no effect".
#[rustfmt::skip]
const CPYTHON: &[Row] = &[
    row("PYTHONPATH", &[("PYTHONPATH", "{evil}")], PATH_IGNORED, 1),
    row("PYTHONHOME", &[("PYTHONHOME", "{evil}")], HOME_IGNORED, 1),
    row("PYTHONSTARTUP", &[("PYTHONSTARTUP", "{evil}/startup.py")], "checks.injected('PYTHONSTARTUP')", 0),
    row("PYTHONUSERBASE", &[("PYTHONUSERBASE", "{evil}")], USER_BASE_IGNORED, 0),
    row("PYTHONNOUSERSITE", &[("PYTHONNOUSERSITE", "1")], "sys.flags.no_user_site", 1),
    row("PYTHONSAFEPATH", &[("PYTHONSAFEPATH", "1")], "sys.flags.safe_path and '' not in sys.path", 1),
    row("PYTHONINSPECT", &[("PYTHONINSPECT", "1")], "sys.flags.inspect", 0),
    row("PYTHONWARNINGS", &[("PYTHONWARNINGS", "error")], NO_WARNING_FILTERS, 0),
    row("PYTHONIOENCODING", &[("PYTHONIOENCODING", "latin-1")], STDOUT_UTF8, 1),
    row("PYTHONPLATLIBDIR", &[("PYTHONPLATLIBDIR", "evil")], "sys.platlibdir == 'lib'", 1),
    row("PYTHONBREAKPOINT", &[("PYTHONBREAKPOINT", "os.getpid")], "checks.breakpoint_uses_pdb()", 1),
    row("PYTHONDEVMODE", &[("PYTHONDEVMODE", "1")], "sys.flags.dev_mode", 0),
    row("PYTHONMALLOC", &[("PYTHONMALLOC", "no-such-allocator")], "1", 1),
    row("PYTHONDONTWRITEBYTECODE", &[("PYTHONDONTWRITEBYTECODE", "1")], "sys.dont_write_bytecode", 1),
    row("PYTHONPYCACHEPREFIX", &[("PYTHONPYCACHEPREFIX", "{evil}/cache")], "sys.pycache_prefix is None", 1),
    row("PYTHONOPTIMIZE", &[("PYTHONOPTIMIZE", "2")], "sys.flags.optimize", 0),
    row("PYTHONDEBUG", &[("PYTHONDEBUG", "1")], "sys.flags.debug", 0),
    row("PYTHONVERBOSE", &[("PYTHONVERBOSE", "1")], "sys.flags.verbose", 0),
    row("PYTHONCASEOK", &[("PYTHONCASEOK", "1")], "checks.can_import('JSON')", 0),
    row("PYTHONHASHSEED", &[("PYTHONHASHSEED", "0")], "sys.flags.hash_randomization", 1),
    row("PYTHONUNBUFFERED", &[("PYTHONUNBUFFERED", "1")], "sys.stdout.write_through", 0),
    row("PYTHONFAULTHANDLER", &[("PYTHONFAULTHANDLER", "1")], "__import__('faulthandler').is_enabled()", 0),
    row("PYTHONTRACEMALLOC", &[("PYTHONTRACEMALLOC", "1")], "__import__('tracemalloc').is_tracing()", 0),
    row("PYTHONPROFILEIMPORTTIME", &[("PYTHONPROFILEIMPORTTIME", "1")], "checks.can_import('email.mime.text')", 1),
    row("PYTHONASYNCIODEBUG", &[("PYTHONASYNCIODEBUG", "1")], ASYNCIO_DEBUG, 0),
    row("PYTHONMALLOCSTATS", &[("PYTHONMALLOCSTATS", "1")], "1", 1),
    row("PYTHONCOERCECLOCALE", &[("PYTHONCOERCECLOCALE", "warn"), ("LC_CTYPE", "C")], C_LOCALE_KEPT, 1),
    row("PYTHONUTF8", &[("PYTHONUTF8", "0")], "sys.flags.utf8_mode", 1),
    row("PYTHONINTMAXSTRDIGITS", &[("PYTHONINTMAXSTRDIGITS", "640")], "sys.get_int_max_str_digits()", 4300),
    row("PYTHONNODEBUGRANGES", &[("PYTHONNODEBUGRANGES", "1")], "checks.debug_ranges()", 1),
    row("PYTHONWARNDEFAULTENCODING", &[("PYTHONWARNDEFAULTENCODING", "1")], "sys.flags.warn_default_encoding", 0),
    row("PYTHONTHREADDEBUG", &[("PYTHONTHREADDEBUG", "1")], "1", 1),
    row("PYTHONDUMPREFS", &[("PYTHONDUMPREFS", "1")], "1", 1),
    row("PYTHONDUMPREFSFILE", &[("PYTHONDUMPREFSFILE", "{evil}/refs")], NO_REFS_FILE, 1),
    row("PYTHON_PRESITE", &[("PYTHON_PRESITE", "this")], "1", 1),
    row("PYTHONLEGACYWINDOWSFSENCODING", &[("PYTHONLEGACYWINDOWSFSENCODING", "1")], FS_UTF8, 1),
    row("PYTHONLEGACYWINDOWSSTDIO", &[("PYTHONLEGACYWINDOWSSTDIO", "1")], STDOUT_UTF8, 1),
    row("PYTHONEXECUTABLE", &[("PYTHONEXECUTABLE", "{evil}/venv/bin/python")], EXECUTABLE_IGNORED, 1),
    row("PYTHONPERFSUPPORT", &[("PYTHONPERFSUPPORT", "1")], PERF_TRAMPOLINE, 0),
    row("PYTHON_PERF_JIT_SUPPORT", &[("PYTHON_PERF_JIT_SUPPORT", "1")], PERF_TRAMPOLINE, 0),
    row("PYTHON_CPU_COUNT", &[("PYTHON_CPU_COUNT", "977")], "__import__('os').cpu_count() != 977", 1),
    row("PYTHON_FROZEN_MODULES", &[("PYTHON_FROZEN_MODULES", "off")], FROZEN_OS, 1),
    row("PYTHON_GIL", &[("PYTHON_GIL", "0")], GIL_ENABLED, 1),
    row("PYTHON_COLORS", &[("PYTHON_COLORS", "1")], "1", 1),
    row("PYTHON_BASIC_REPL", &[("PYTHON_BASIC_REPL", "1")], "1", 1),
    row("PYTHON_HISTORY", &[("PYTHON_HISTORY", "{evil}/history")], NO_HISTORY, 1),
];

/// The PyPy bundle: PyPy has no isolated mode, but its embedding start
/// reads almost no variable; where a row differs from CPython's (a
/// variable PyPy reads when it is used, or a default of PyPy's own), the
/// README says why.
#[rustfmt::skip]
const PYPY: &[Row] = &[
    row("PYTHONPATH", &[("PYTHONPATH", "{evil}")], PATH_IGNORED, 1),
    row("PYTHONHOME", &[("PYTHONHOME", "{evil}")], HOME_IGNORED, 1),
    row("PYTHONSTARTUP", &[("PYTHONSTARTUP", "{evil}/startup.py")], "checks.injected('PYTHONSTARTUP')", 0),
    row("PYTHONUSERBASE", &[("PYTHONUSERBASE", "{evil}")], USER_BASE_IGNORED, 0),
    row("PYTHONNOUSERSITE", &[("PYTHONNOUSERSITE", "1")], "sys.flags.no_user_site", 0),
    row("PYTHONSAFEPATH", &[("PYTHONSAFEPATH", "1")], "'' not in sys.path and checks.isolated()", 1),
    row("PYTHONINSPECT", &[("PYTHONINSPECT", "1")], "sys.flags.inspect", 0),
    row("PYTHONWARNINGS", &[("PYTHONWARNINGS", "error")], NO_WARNING_FILTERS, 0),
    row("PYTHONIOENCODING", &[("PYTHONIOENCODING", "latin-1")], STDOUT_UTF8, 1),
    row("PYTHONPLATLIBDIR", &[("PYTHONPLATLIBDIR", "evil")], "getattr(sys, 'platlibdir', 'lib') == 'lib'", 1),
    row("PYTHONBREAKPOINT", &[("PYTHONBREAKPOINT", "os.getpid")], "checks.breakpoint_uses_pdb()", 0),
    row("PYTHONDEVMODE", &[("PYTHONDEVMODE", "1")], "sys.flags.dev_mode", 0),
    row("PYTHONMALLOC", &[("PYTHONMALLOC", "no-such-allocator")], "1", 1),
    row("PYTHONDONTWRITEBYTECODE", &[("PYTHONDONTWRITEBYTECODE", "1")], "sys.dont_write_bytecode", 1),
    row("PYTHONPYCACHEPREFIX", &[("PYTHONPYCACHEPREFIX", "{evil}/cache")], "getattr(sys, 'pycache_prefix', None) is None", 1),
    row("PYTHONOPTIMIZE", &[("PYTHONOPTIMIZE", "2")], "sys.flags.optimize", 0),
    row("PYTHONDEBUG", &[("PYTHONDEBUG", "1")], "sys.flags.debug", 0),
    row("PYTHONVERBOSE", &[("PYTHONVERBOSE", "1")], "sys.flags.verbose", 0),
    row("PYTHONCASEOK", &[("PYTHONCASEOK", "1")], "checks.can_import('JSON')", 0),
    row("PYTHONHASHSEED", &[("PYTHONHASHSEED", "random")], "sys.flags.hash_randomization", 0),
    row("PYTHONUNBUFFERED", &[("PYTHONUNBUFFERED", "1")], "sys.stdout.write_through", 1),
    row("PYTHONFAULTHANDLER", &[("PYTHONFAULTHANDLER", "1")], "__import__('faulthandler').is_enabled()", 0),
    row("PYTHONTRACEMALLOC", &[("PYTHONTRACEMALLOC", "1")], "checks.can_import('tracemalloc')", 0),
    row("PYTHONPROFILEIMPORTTIME", &[("PYTHONPROFILEIMPORTTIME", "1")], "checks.can_import('email.mime.text')", 1),
    row("PYTHONASYNCIODEBUG", &[("PYTHONASYNCIODEBUG", "1")], ASYNCIO_DEBUG, 1),
    row("PYTHONMALLOCSTATS", &[("PYTHONMALLOCSTATS", "1")], "1", 1),
    row("PYTHONCOERCECLOCALE", &[("PYTHONCOERCECLOCALE", "0"), ("LC_CTYPE", "C")], FS_UTF8, 1),
    row("PYTHONUTF8", &[("PYTHONUTF8", "0")], FS_UTF8, 1),
    row("PYTHONINTMAXSTRDIGITS", &[("PYTHONINTMAXSTRDIGITS", "640")], "sys.get_int_max_str_digits()", 4300),
    row("PYTHONNODEBUGRANGES", &[("PYTHONNODEBUGRANGES", "1")], "1", 1),
    row("PYTHONWARNDEFAULTENCODING", &[("PYTHONWARNDEFAULTENCODING", "1")], "getattr(sys.flags, 'warn_default_encoding', 0)", 0),
    row("PYTHONTHREADDEBUG", &[("PYTHONTHREADDEBUG", "1")], "1", 1),
    row("PYTHONDUMPREFS", &[("PYTHONDUMPREFS", "1")], "1", 1),
    row("PYTHONDUMPREFSFILE", &[("PYTHONDUMPREFSFILE", "{evil}/refs")], NO_REFS_FILE, 1),
    row("PYTHON_PRESITE", &[("PYTHON_PRESITE", "this")], "1", 1),
    row("PYTHONLEGACYWINDOWSFSENCODING", &[("PYTHONLEGACYWINDOWSFSENCODING", "1")], FS_UTF8, 1),
    row("PYTHONLEGACYWINDOWSSTDIO", &[("PYTHONLEGACYWINDOWSSTDIO", "1")], STDOUT_UTF8, 1),
    row("PYTHONEXECUTABLE", &[("PYTHONEXECUTABLE", "{evil}/venv/bin/python")], PYPY_EXECUTABLE_IGNORED, 1),
    row("PYTHONPERFSUPPORT", &[("PYTHONPERFSUPPORT", "1")], PERF_TRAMPOLINE, 0),
    row("PYTHON_PERF_JIT_SUPPORT", &[("PYTHON_PERF_JIT_SUPPORT", "1")], PERF_TRAMPOLINE, 0),
    row("PYTHON_CPU_COUNT", &[("PYTHON_CPU_COUNT", "977")], "__import__('os').cpu_count() != 977", 1),
    row("PYTHON_FROZEN_MODULES", &[("PYTHON_FROZEN_MODULES", "off")], "1", 1),
    row("PYTHON_GIL", &[("PYTHON_GIL", "0")], GIL_ENABLED, 1),
    row("PYTHON_COLORS", &[("PYTHON_COLORS", "1")], "1", 1),
    row("PYTHON_BASIC_REPL", &[("PYTHON_BASIC_REPL", "1")], "1", 1),
    row("PYTHON_HISTORY", &[("PYTHON_HISTORY", "{evil}/history")], NO_HISTORY, 1),
];

/// Rows evaluated by one host process.
const ROWS_PER_PROCESS: usize = 6;

/// The folders of a hostile environment, made by `lay_out`.
struct Places {
    /// Where `PYTHON*` variables point: a `sitecustomize` and a `json`
    /// module, a start-up file and a user base with its site directory.
    evil: PathBuf,
    /// The host's working directory, with site hooks and a `json`.
    cwd: PathBuf,
    /// `HOME`, with a user site directory in `.local`.
    home: PathBuf,
    /// The `LD_LIBRARY_PATH` folder: libraries named as the bundle's.
    libs: PathBuf,
}

impl Places {
    fn fill(&self, text: &str) -> String {
        text.replace("{evil}", &self.evil.display().to_string())
            .replace("{home}", &self.home.display().to_string())
            .replace("{libs}", &self.libs.display().to_string())
    }
}

/// A Python line that records that the file holding it ran.
fn marker(name: &str) -> String {
    format!("import builtins; builtins.__dict__.setdefault('_injected', []).append({name:?})\n")
}

/// Trap files in `root`, each recording its case name when it runs;
/// `stdlib` names the user site directory (`python3.11`, `pypy3.9`).
fn lay_out(root: &Path, stdlib: &str) -> Places {
    let places = Places {
        evil: root.join("evil"),
        cwd: root.join("cwd"),
        home: root.join("home"),
        libs: root.join("libs"),
    };
    let site = |base: &Path| base.join("lib").join(stdlib).join("site-packages");
    let user_base = site(&places.evil);
    let local = site(&places.home.join(".local"));
    let mut files = vec![
        (places.evil.join("startup.py"), "PYTHONSTARTUP".to_string()),
        (
            places.evil.join("sitecustomize.py"),
            "PYTHONPATH sitecustomize.py".into(),
        ),
        (places.evil.join("json.py"), "PYTHONPATH json.py".into()),
        (
            user_base.join("usercustomize.py"),
            "PYTHONUSERBASE usercustomize.py".into(),
        ),
        (user_base.join("injected.pth"), "PYTHONUSERBASE .pth".into()),
        (
            site(&places.evil.join("venv")).join("injected.pth"),
            "PYTHONEXECUTABLE .pth".into(),
        ),
    ];
    for (folder, name) in [(&places.cwd, "cwd"), (&local, "~/.local")] {
        for file in ["sitecustomize.py", "usercustomize.py", "json.py"] {
            files.push((folder.join(file), format!("{name} {file}")));
        }
        files.push((folder.join("injected.pth"), format!("{name} .pth")));
    }
    for (path, name) in files {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, marker(&name)).unwrap();
    }
    // A venv around `PYTHONEXECUTABLE`, whose site-packages a Python
    // that took the variable would add.
    std::fs::write(places.evil.join("venv/pyvenv.cfg"), "home = /usr/bin\n").unwrap();
    std::fs::create_dir_all(&places.libs).unwrap();
    places
}

/// Fills `places.libs` with a library of each name the bundle's `lib/`
/// holds, and of the name each vendored library had before embedpack
/// hashed it (`libffi.so.8` for `libffi-983e72b7.so.8`): `replacement`
/// where given (for libpython), else an empty library.
fn offer_libraries(places: &Places, bundle: &Path, replacement: Option<(&str, &Path)>) {
    let empty = places.libs.join("empty.c");
    std::fs::write(&empty, "int embedpack_injection_dummy;\n").unwrap();
    let dummy = places.libs.join("dummy.so");
    run_ok(
        Command::new("cc")
            .args(["-shared", "-fPIC", "-o"])
            .arg(&dummy)
            .arg(&empty),
    );
    for entry in std::fs::read_dir(bundle.join("lib")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.contains(".so") {
            continue;
        }
        let mut names = vec![name.clone()];
        if let Some((stem, rest)) = name.split_once(".so") {
            if let Some((plain, _hash)) = stem.rsplit_once('-') {
                names.push(format!("{plain}.so{rest}"));
            }
        }
        for name in names {
            let source = match replacement {
                Some((own, other)) if own == name => other,
                _ => dummy.as_path(),
            };
            std::fs::copy(source, places.libs.join(&name)).unwrap();
        }
    }
}

/// Runs `rows` against `bundle`'s `libsentinel.so`, a few per process;
/// returns a line for every row that failed.
fn failing_rows(interpreter: &str, bundle: &Path, places: &Places, rows: &[Row]) -> Vec<String> {
    let mut failures = Vec::new();
    for chunk in rows.chunks(ROWS_PER_PROCESS) {
        let mut command = Command::new(run_plugin_host());
        command
            .env_clear()
            .env("HOME", &places.home)
            .current_dir(&places.cwd)
            .arg(bundle.join("libsentinel.so"));
        for row in chunk {
            for (name, value) in row.env {
                command.env(name, places.fill(value));
            }
            command.arg(places.fill(row.expression));
        }
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let cases: Vec<&str> = chunk.iter().map(|row| row.case).collect();
        if !output.status.success() || !output.stderr.is_empty() {
            failures.push(format!(
                "{interpreter}, one of {cases:?}: exit {}, stderr:\n{}",
                output.status,
                stderr(&output)
            ));
            continue;
        }
        let printed = stdout(&output);
        let values: Vec<&str> = printed.lines().collect();
        for (index, row) in chunk.iter().enumerate() {
            let value = values.get(index).copied().unwrap_or("nothing");
            if value != row.expected.to_string() {
                failures.push(format!(
                    "{interpreter} {}: `{}` is {value}, not {}",
                    row.case,
                    places.fill(row.expression),
                    row.expected
                ));
            }
        }
    }
    failures
}

/// Runs the interpreter's own rows and the file rows, failing with every
/// row that failed.
fn assert_rows(interpreter: &str, bundle: &Path, places: &Places, rows: &[Row]) {
    let failures = [
        failing_rows(interpreter, bundle, places, rows),
        failing_rows(interpreter, bundle, places, FILES),
    ]
    .concat();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Another minor version's libpython, for a same-named impostor.
fn other_libpython(own: (u32, u32, u32)) -> PathBuf {
    cpythons()
        .iter()
        .find(|p| (p.version.0, p.version.1) != (own.0, own.1))
        .unwrap_or_else(|| {
            panic!(
                "`EMBEDPACK_TEST_CPYTHONS` holds no CPython but {own:?}: run `bash tests/run.sh`"
            )
        })
        .libpython()
}

#[test]
fn cpython_bundle_ignores_what_the_environment_offers() {
    let (major, minor, micro) = python().version;
    let places = lay_out(
        &workdir("injection-cpython"),
        &format!("python{major}.{minor}"),
    );
    let own = format!("libpython{major}.{minor}.so.1.0");
    let other = other_libpython((major, minor, micro));
    offer_libraries(&places, sentinel_bundle(), Some((&own, &other)));
    assert_rows("cpython", sentinel_bundle(), &places, CPYTHON);
}

#[test]
fn pypy_bundle_ignores_what_the_environment_offers_but_two_debug_variables() {
    let places = lay_out(&workdir("injection-pypy"), "pypy3.9");
    offer_libraries(&places, pypy_bundle(), None);
    assert_rows("pypy", pypy_bundle(), &places, PYPY);
}

/// Each README row of "What the environment can change" names a case
/// of both tables, and each case is in the README.
#[test]
fn readme_table_lists_every_case() {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let section = readme
        .split("## What the environment can change")
        .nth(1)
        .expect("README.md has a section `What the environment can change`");
    let section = section.split("\n## ").next().unwrap();
    for row in CPYTHON.iter().chain(PYPY).chain(FILES) {
        assert!(
            section.contains(&format!("| `{}` |", row.case)),
            "README.md's table has no row `{}`",
            row.case
        );
    }
    let cases: std::collections::BTreeSet<&str> = CPYTHON
        .iter()
        .chain(PYPY)
        .chain(FILES)
        .map(|row| row.case)
        .collect();
    for line in section.lines().filter(|line| line.starts_with("| `")) {
        let case = line.trim_start_matches("| `").split('`').next().unwrap();
        assert!(
            cases.contains(case),
            "README.md's row `{case}` is tested nowhere"
        );
    }
}
