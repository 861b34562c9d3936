//! `embedpack build` on bad input: one clear error with a hint, a non-zero
//! exit, and nothing written; and what a good build leaves out.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::*;

fn build(script: impl AsRef<std::ffi::OsStr>, out: &Path, extra: &[&str]) -> Output {
    embedpack()
        .arg("build")
        .arg(script)
        .arg("--venv")
        .arg(venv())
        .arg("-o")
        .arg(out)
        .args(extra)
        .output()
        .unwrap()
}

fn assert_failed(output: &Output, expected: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{err}");
    assert!(err.lines().any(|l| l.starts_with("error: ")), "{err}");
    assert!(err.contains("\nhint: "), "no hint in:\n{err}");
    for text in expected {
        assert!(err.contains(text), "`{text}` not in:\n{err}");
    }
}

/// A build script in a fresh folder, with `body` after the FFI set-up.
fn script(dir: &Path, body: &str) -> PathBuf {
    let path = dir.join("build_plugin.py");
    std::fs::write(
        &path,
        format!("import cffi\nffibuilder = cffi.FFI()\n{body}\n"),
    )
    .unwrap();
    path
}

const EMBEDDING: &str = r#"
ffibuilder.embedding_api("int twice(int);")
ffibuilder.embedding_init_code("""
from plugin import ffi
@ffi.def_extern()
def twice(x):
    return 2 * x
""")
"#;

#[test]
fn no_venv_found_says_what_was_tried() {
    let dir = workdir("cli-no-venv");
    let path = script(&dir, EMBEDDING);
    let out = dir.join("out");
    let output = embedpack()
        .arg("build")
        .arg(&path)
        .arg("-o")
        .arg(&out)
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    assert_failed(
        &output,
        &[
            "no virtualenv found",
            ".venv beside the build script",
            "--venv",
        ],
    );
    assert!(!out.exists());
}

#[test]
fn script_without_an_embedding_ffi() {
    let dir = workdir("cli-no-ffi");
    let path = script(&dir, "other = cffi.FFI()\nother.cdef('int f(int);')");
    let out = dir.join("out");
    assert_failed(
        &build(&path, &out, &[]),
        &["defines no FFI object with an `embedding_api()`", "`other`"],
    );
    assert!(!out.exists());
}

#[test]
fn script_with_two_embedding_ffis_asks_for_a_name() {
    let dir = workdir("cli-two-ffi");
    let body = format!("{EMBEDDING}\nsecond = cffi.FFI()\nsecond.embedding_api('int g(int);')");
    let path = script(&dir, &body);
    assert_failed(
        &build(&path, &dir.join("out"), &[]),
        &["several embedding FFI objects", "`ffibuilder`", "`second`"],
    );
}

#[test]
fn script_that_raises_shows_its_traceback() {
    let dir = workdir("cli-raises");
    let path = script(&dir, "raise RuntimeError('the build script broke')");
    let out = dir.join("out");
    assert_failed(
        &build(&path, &out, &[]),
        &[
            "failed",
            "Traceback",
            "RuntimeError: the build script broke",
        ],
    );
    assert!(!out.exists());
}

#[test]
fn c_that_does_not_compile_shows_the_compiler_error() {
    let dir = workdir("cli-bad-c");
    let body = format!("{EMBEDDING}\nffibuilder.set_source('plugin', 'int broken(void) {{ return undeclared_name; }}')");
    let path = script(&dir, &body);
    let out = dir.join("out");
    assert_failed(
        &build(&path, &out, &[]),
        &["does not compile", "undeclared_name"],
    );
    assert!(!out.exists());
}

#[test]
fn named_ffi_object_and_sys_exit_in_the_script() {
    let dir = workdir("cli-named");
    let body =
        format!("{EMBEDDING}\nffibuilder.set_source('pkg.plugin', '')\nimport sys\nsys.exit(0)");
    let path = script(&dir, &body);
    let out = dir.join("out");
    let arg = format!("{}:ffibuilder", path.display());
    let output = build(&arg, &out, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    // <module> is the last dotted component of the set_source name.
    assert!(out.join("libplugin.so").is_file(), "{}", stderr(&output));
    assert!(out.join("include/plugin.h").is_file());
}

#[test]
fn dry_run_prints_the_plan_and_writes_nothing() {
    let out = workdir("cli-dry-run").join("out");
    let output =
        run_ok(sentinel_command(&venv(), &out).args(["--dry-run", "--keep-stdlib", "tkinter"]));
    let plan = stdout(&output);
    for expected in [
        "libsentinel.so  <- ",
        "include/sentinel.h  <- (generated)",
        "lib/libpython3.11.so.1.0  <- ",
        "app/sentinel_app/checks.py  <- ",
        "site-packages/markupsafe/_speedups.",
        "python/lib/python3.11/lib-dynload/",
        "python/lib/python3.11/tkinter/__init__.py",
        "sbom.cdx.json  <- (generated: CycloneDX SBOM of ",
        " total (",
    ] {
        assert!(plan.contains(expected), "`{expected}` not in the plan");
    }
    assert!(!out.exists());
}

/// Line editing, curses and NIS are left out with the libraries only
/// they need, and the build says so; `--keep-stdlib` brings each back
/// with its libraries.
#[test]
fn terminal_and_deprecated_parts_are_left_out_with_their_libraries() {
    let out = workdir("cli-left-out").join("out");
    let planned = |keep: &[&str]| {
        let mut command = sentinel_command(&venv(), &out);
        command.arg("--dry-run");
        for part in keep {
            command.args(["--keep-stdlib", part]);
        }
        let output = run_ok(&mut command);
        (stdout(&output), stderr(&output))
    };
    let bundled = |plan: &str, file: &str| {
        plan.lines()
            .any(|l| l.split("  <- ").next().unwrap_or("").contains(file))
    };
    let parts = [
        ("lib-dynload/readline.", "lib/libreadline-"),
        ("lib-dynload/_curses.", "lib/libncursesw-"),
        ("lib-dynload/nis.", "lib/libnsl-"),
        ("lib-dynload/nis.", "lib/libkrb5-"),
        ("lib-dynload/_crypt.", "lib/libcrypt-"),
        ("pydoc_data/topics.py", "pydoc_data/topics.py"),
    ];
    let (plan, log) = planned(&[]);
    for (module, library) in parts {
        assert!(!bundled(&plan, module), "{module} is bundled");
        assert!(!bundled(&plan, library), "{library} is bundled");
    }
    assert!(
        log.contains("standard library: left out test, idlelib, ")
            && log.contains(", readline, curses, nis, crypt; keep one with --keep-stdlib NAME"),
        "{log}"
    );
    let (plan, _) = planned(&["readline", "curses", "nis", "crypt", "pydoc_data"]);
    for (module, library) in parts {
        assert!(bundled(&plan, module), "{module} is not kept");
        assert!(bundled(&plan, library), "{library} is not kept");
    }
    assert!(!out.exists());
}

/// What `--dry-run` plans for the project's own files (the plugin, its
/// C packaging files, the app and its bytecode, the runtime library with
/// its edits), compared with tests/it/snapshots/dry_run_sentinel.txt;
/// sizes are left out, the checkout and the interpreter's folder filtered.
/// Traced with strace, the dry run (and every program it runs) creates,
/// renames and removes no file anywhere.  Set
/// `EMBEDPACK_UPDATE_SNAPSHOTS=1` to rewrite the snapshot.
#[test]
fn dry_run_plan_matches_its_snapshot_and_creates_no_file() {
    let dir = workdir("cli-dry-run-snapshot");
    let out = dir.join("out");
    let trace = dir.join("trace");
    let mut command = sentinel_command(&venv(), &out);
    command.arg("--dry-run");
    let mut traced = std::process::Command::new("strace");
    traced
        .args(["-f", "-qq", "-e", "signal=none", "-o"])
        .arg(&trace)
        .args([
            "-e",
            "trace=creat,open,openat,mkdir,mkdirat,rename,renameat,renameat2",
        ])
        .args([
            "-e",
            "trace=unlink,unlinkat,link,linkat,symlink,symlinkat,truncate",
        ])
        .arg(command.get_program())
        .args(command.get_args());
    let output = run_ok(&mut traced);
    let trace = std::fs::read_to_string(&trace).unwrap();
    let changes: Vec<&str> = trace
        .lines()
        .filter(|l| !l.contains(" = -1 "))
        .filter(|l| {
            let opens = l.contains("open");
            !opens || l.contains("O_CREAT") || l.contains("O_TRUNC")
        })
        .filter(|l| !l.contains("\"/dev/null\""))
        .collect();
    assert!(
        changes.is_empty(),
        "the dry run changed files:\n{}",
        changes.join("\n")
    );
    assert!(!out.exists());
    let checkout = repo().display().to_string();
    let mut plan = String::new();
    for line in stdout(&output).lines() {
        let Some((dest, source)) = line.split_once("  <- ") else {
            continue;
        };
        let dest = dest.split_whitespace().last().unwrap_or_default();
        let own = [
            "app/",
            "include/",
            "lib/cmake/",
            "lib/pkgconfig/",
            "lib/libpython",
            "libsentinel",
        ];
        if !own.iter().any(|p| dest.starts_with(p)) {
            continue;
        }
        let (file, edits) = source.split_once(", ").unwrap_or((source, ""));
        let what = ["bytecode of ", "compiled from "]
            .into_iter()
            .find(|w| file.starts_with(w))
            .unwrap_or("");
        let path = &file[what.len()..];
        let path = match path.strip_prefix(&checkout) {
            Some(rest) => format!("<repo>{rest}"),
            None if path.starts_with('/') => {
                let name = Path::new(path).file_name().unwrap().to_string_lossy();
                format!("<python>/{name}")
            }
            None => path.to_string(),
        };
        let file = format!("{what}{path}");
        plan += &format!(
            "{dest} <- {file}{}{edits}\n",
            if edits.is_empty() { "" } else { ", " }
        );
    }
    let snapshot = repo().join("tests/it/snapshots/dry_run_sentinel.txt");
    if std::env::var_os("EMBEDPACK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &plan).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot).unwrap_or_default();
    assert_eq!(
        plan,
        expected,
        "the plan differs from {}",
        snapshot.display()
    );
}

#[test]
fn bundle_leaves_out_tests_gui_build_tools_and_static_libpython() {
    let bundle = sentinel_bundle();
    let stdlib = bundle.join("python/lib/python3.11");
    assert!(stdlib.join("json/__init__.py").is_file());
    for left_out in [
        "test",
        "idlelib",
        "tkinter",
        "turtledemo",
        "ensurepip",
        "lib2to3",
        "unittest/test",
    ] {
        assert!(!stdlib.join(left_out).exists(), "{left_out} was bundled");
    }
    let names: Vec<String> = std::fs::read_dir(&stdlib)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("config-")),
        "config-* was bundled"
    );
    let site = bundle.join("site-packages");
    assert!(site.join("cffi/__init__.py").is_file());
    for left_out in ["pip", "setuptools", "_distutils_hack", "pkg_resources"] {
        assert!(!site.join(left_out).exists(), "{left_out} was bundled");
    }
    // Bytecode is compiled for the bundle (hash-based, PEP 552), never
    // taken from the build machine's timestamp-based caches.
    for entry in walkdir::WalkDir::new(bundle) {
        let path = entry.unwrap().into_path();
        if path.extension().is_some_and(|x| x == "pyc") {
            let bytes = std::fs::read(&path).unwrap();
            let flags = u32::from_le_bytes(bytes[4..8].try_into().unwrap());
            assert_eq!(
                flags,
                0b01,
                "{} is not an unchecked hash-based pyc",
                path.display()
            );
        }
    }
}

#[test]
fn refuses_to_replace_a_folder_it_did_not_write() {
    let dir = workdir("cli-replace");
    let out = dir.join("precious");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("notes.txt"), "keep me").unwrap();
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    assert_failed(
        &build(&path, &out, &[]),
        &["is not a bundle embedpack wrote", "--force"],
    );
    assert_eq!(
        std::fs::read_to_string(out.join("notes.txt")).unwrap(),
        "keep me"
    );
    // A bundle it wrote is replaced as a whole; --force replaces anything.
    let forced = build(&path, &out, &["--force"]);
    assert!(forced.status.success(), "{}", stderr(&forced));
    assert!(!out.join("notes.txt").exists());
    std::fs::write(out.join("extra.txt"), "stale").unwrap();
    let replaced = build(&path, &out, &[]);
    assert!(replaced.status.success(), "{}", stderr(&replaced));
    assert!(out.join("libplugin.so").is_file() && !out.join("extra.txt").exists());
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().contains(".embedpack-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn help_shows_an_example() {
    let output = run_ok(embedpack().args(["build", "--help"]));
    assert!(stdout(&output).contains("embedpack build plugin_build.py --app src"));
}

#[test]
fn app_roots_are_merged_but_may_not_clash() {
    let dir = workdir("cli-app-clash");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    for root in ["one", "two"] {
        std::fs::create_dir_all(dir.join(root).join("shared")).unwrap();
        std::fs::write(dir.join(root).join("shared/__init__.py"), "").unwrap();
    }
    std::fs::write(dir.join("one/only_one.py"), "").unwrap();
    let out = dir.join("out");
    let clash = build(
        &path,
        &out,
        &[
            "--app",
            dir.join("one").to_str().unwrap(),
            "--app",
            dir.join("two").to_str().unwrap(),
        ],
    );
    assert_failed(&clash, &["`shared` is provided by both", "one`", "two`"]);
    assert!(!out.exists());
    std::fs::remove_dir_all(dir.join("two/shared")).unwrap();
    std::fs::write(dir.join("two/only_two.py"), "").unwrap();
    std::fs::create_dir_all(dir.join("two/.git")).unwrap();
    std::fs::write(dir.join("two/.git/config"), "").unwrap();
    let merged = build(
        &path,
        &out,
        &[
            "--app",
            dir.join("one").to_str().unwrap(),
            "--app",
            dir.join("two").to_str().unwrap(),
        ],
    );
    assert!(merged.status.success(), "{}", stderr(&merged));
    assert!(out.join("app/only_one.py").is_file() && out.join("app/only_two.py").is_file());
    assert!(out.join("app/shared/__init__.py").is_file());
    assert!(!out.join("app/.git").exists());
}

#[test]
fn output_inside_an_input_is_refused() {
    let dir = workdir("cli-out-inside");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    let inside_app = dir.join("src/dist/plugin");
    let output = build(
        &path,
        &inside_app,
        &["--app", dir.join("src").to_str().unwrap()],
    );
    assert_failed(&output, &["lies inside an app root"]);
    assert!(!inside_app.exists());
    let inside_venv = venv().join("plugin-out");
    assert_failed(&build(&path, &inside_venv, &[]), &["lies inside the venv"]);
    assert!(!inside_venv.exists());
}

/// A PyPy venv as `pypy3 -m venv` makes it (no cffi distribution: cffi
/// is built into PyPy) is bundled like a CPython one.  This replaces the
/// test that PyPy venvs were refused; no other Python implementation is
/// installed here to be refused instead.
#[test]
fn pypy_venv_as_it_comes_is_bundled() {
    let dir = workdir("cli-pypy");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    let out = dir.join("out");
    run_ok(
        embedpack()
            .arg("build")
            .arg(&path)
            .arg("--venv")
            .arg(named_venv("pypy"))
            .arg("-o")
            .arg(&out),
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(manifest["python"]["implementation"], "pypy", "{manifest}");
    assert!(out.join("lib/libpypy3.9-c.so").is_file());
    run_ok(embedpack().arg("verify").arg(&out));
}

#[test]
fn broken_symlink_in_an_app_root_is_named() {
    let dir = workdir("cli-broken-link");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::os::unix::fs::symlink(dir.join("gone.py"), dir.join("src/helper.py")).unwrap();
    let out = dir.join("out");
    let output = build(&path, &out, &["--app", dir.join("src").to_str().unwrap()]);
    assert_failed(
        &output,
        &[
            "src/helper.py` (in the app root",
            "is a broken symbolic link",
        ],
    );
    assert!(!out.exists());
}

/// A FIFO, a socket and a device node in an app root, each made by the
/// real tool, are named with what they are; so is an `--app` that is one.
#[test]
fn files_that_are_not_files_in_an_app_root_are_named() {
    let dir = workdir("cli-special-files");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    let out = dir.join("out");
    type Make = fn(&Path);
    let kinds: [(&str, &str, Make); 3] = [
        ("pipe.py", "is a FIFO (named pipe)", |p| {
            run_ok(std::process::Command::new("mkfifo").arg(p));
        }),
        ("server.sock", "is a socket", |p| {
            std::mem::forget(std::os::unix::net::UnixListener::bind(p).unwrap());
        }),
        ("null", "is a character device", |p| {
            run_ok(
                std::process::Command::new("mknod")
                    .arg(p)
                    .args(["c", "1", "3"]),
            );
        }),
    ];
    for (name, expected, make) in kinds {
        let src = dir.join(format!("src-{name}"));
        std::fs::create_dir_all(src.join("pkg")).unwrap();
        std::fs::write(src.join("pkg/__init__.py"), "").unwrap();
        make(&src.join("pkg").join(name));
        let output = build(&path, &out, &["--app", src.to_str().unwrap()]);
        let named = format!("pkg/{name}` (in the app root");
        assert_failed(&output, &[&named, expected, "not a regular file"]);
        assert!(!out.exists());
    }
    let fifo = dir.join("module.py");
    run_ok(std::process::Command::new("mkfifo").arg(&fifo));
    let output = build(&path, &out, &["--app", fifo.to_str().unwrap()]);
    assert_failed(&output, &["module.py` is a FIFO (named pipe)"]);
}

#[test]
fn symlink_loop_in_an_app_root_is_named() {
    let dir = workdir("cli-link-loop");
    let path = script(
        &dir,
        &format!("{EMBEDDING}\nffibuilder.set_source('plugin', '')"),
    );
    std::fs::create_dir_all(dir.join("src/pkg")).unwrap();
    std::os::unix::fs::symlink("..", dir.join("src/pkg/again")).unwrap();
    let out = dir.join("out");
    let output = build(&path, &out, &["--app", dir.join("src").to_str().unwrap()]);
    assert_failed(
        &output,
        &[
            "src/pkg/again` (in the app root",
            "is a symbolic link loop",
            "remove the link",
        ],
    );
    assert!(!stderr(&output).contains("unreadable"));
    assert!(!out.exists());
}

#[test]
fn script_with_a_syntax_error_shows_only_its_own_line() {
    let dir = workdir("cli-syntax-error");
    let path = script(&dir, "x = (\n");
    let output = build(&path, &dir.join("out"), &[]);
    assert_failed(
        &output,
        &[
            "build_plugin.py\", line 3",
            "SyntaxError: '(' was never closed",
        ],
    );
    let err = stderr(&output);
    assert!(!err.contains("harness"), "{err}");
    assert!(!err.contains("Traceback"), "{err}");
}

/// A venv made with `python -m venv --without-pip` (the only venv made
/// here: every shared one has cffi and pip or uv's installer) has no
/// `bin/pip` to run.
#[test]
fn venv_without_pip_gets_a_hint_it_can_follow() {
    let dir = workdir("cli-without-pip");
    let bare = dir.join("bare");
    run_ok(
        std::process::Command::new(&python().path)
            .args(["-m", "venv", "--without-pip"])
            .arg(&bare),
    );
    assert!(!bare.join("bin/pip").exists());
    let path = script(&dir, EMBEDDING);
    let output = embedpack()
        .arg("build")
        .arg(&path)
        .arg("--venv")
        .arg(&bare)
        .arg("-o")
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_failed(&output, &["has no cffi installed", "-m ensurepip"]);
    assert!(
        !stderr(&output).contains("bin/pip install"),
        "{}",
        stderr(&output)
    );
}

/// A reader that stops early (`embedpack build --dry-run | head -1`) is
/// not an error: the plan, longer than a pipe holds, ends there quietly.
#[test]
fn dry_run_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let out = workdir("cli-dry-run-head").join("out");
    let mut child = sentinel_command(&venv(), &out)
        .arg("--dry-run")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("  <- "), "{first}");
    let output = child.wait_with_output().unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(0), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("error:"),
        "{err}"
    );
}
