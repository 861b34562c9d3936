//! Debug information: the default bundle's ELF files carry none, and
//! still run; `--debug-dir` writes it beside the bundle as files named by
//! build-id, which readelf and gdb read and match to the bundle's files,
//! and leaves the bundle as the default build makes it; `--no-strip`
//! keeps it in; a missing objcopy is named, with a hint.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::support::*;

/// `readelf -SW file`.
fn sections(file: &Path) -> String {
    stdout(&run_ok(Command::new("readelf").arg("-SW").arg(file)))
}

/// The names of the `.debug_*` sections of `file`.
fn debug_sections(file: &Path) -> Vec<String> {
    sections(file)
        .split_whitespace()
        .filter(|word| word.starts_with(".debug_"))
        .map(String::from)
        .collect()
}

/// The build-id of `file`, from `readelf -n`.
fn build_id(file: &Path) -> Option<String> {
    let notes = stdout(&run_ok(Command::new("readelf").arg("-n").arg(file)));
    let line = notes
        .lines()
        .find_map(|l| l.trim().strip_prefix("Build ID: "))?;
    Some(line.trim().to_string())
}

/// Where gdb looks in `debug` for the debug file of `file`:
/// `.build-id/xx/yyyy.debug` for build-id `xxyyyy`.
fn debug_file(debug: &Path, file: &Path) -> PathBuf {
    let id = build_id(file).unwrap_or_else(|| panic!("{} has no build-id", file.display()));
    debug
        .join(".build-id")
        .join(&id[..2])
        .join(format!("{}.debug", &id[2..]))
}

/// The sentinel bundle built with `--no-strip`, once.
fn unstripped_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("debuginfo-no-strip").join("sentinel");
        run_ok(sentinel_command(&venv(), &out).arg("--no-strip"));
        out
    })
}

/// The sentinel bundle built with `--debug-dir`, once: the bundle, then
/// the debug folder.
fn split_bundle() -> &'static (PathBuf, PathBuf) {
    static BUNDLE: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let dir = workdir("debuginfo-split");
        let (out, debug) = (dir.join("sentinel"), dir.join("debug"));
        run_ok(
            sentinel_command(&venv(), &out)
                .arg("--debug-dir")
                .arg(&debug),
        );
        (out, debug)
    })
}

/// The ELF files of `bundle` that carry `.debug_*` sections, with them.
fn files_with_debug_sections(bundle: &Path) -> BTreeMap<String, Vec<String>> {
    elf_files(bundle)
        .into_iter()
        .map(|file| {
            let found = debug_sections(&bundle.join(&file));
            (file, found)
        })
        .filter(|(_, found)| !found.is_empty())
        .collect()
}

#[test]
fn default_bundle_carries_no_debug_information_and_runs() {
    let bundle = sentinel_bundle();
    assert_eq!(files_with_debug_sections(bundle), BTreeMap::new());
    for file in files_with_debug_sections(unstripped_bundle()).keys() {
        assert!(
            sections(&bundle.join(file)).contains(" .symtab "),
            "{file} lost its symbols"
        );
    }
    let output = Command::new(run_plugin_host())
        .current_dir("/")
        .arg(bundle.join("libsentinel.so"))
        .args(["checks.isolated()", "checks.speedups()", "6*7"])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "1\n1\n42\n", "{}", stderr(&output));
}

#[test]
fn no_strip_keeps_the_debug_information() {
    let with_debug = files_with_debug_sections(unstripped_bundle());
    for file in [
        "lib/libpython3.11.so.1.0",
        "python/lib/python3.11/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so",
    ] {
        assert!(with_debug.contains_key(file), "{file}: {with_debug:?}");
    }
    let output = Command::new(run_plugin_host())
        .current_dir("/")
        .arg(unstripped_bundle().join("libsentinel.so"))
        .args(["checks.speedups()", "6*7"])
        .output()
        .unwrap();
    assert_eq!(stdout(&output), "1\n42\n", "{}", stderr(&output));
}

/// Each file that `--no-strip` leaves with debug information has, in the
/// debug folder, `.build-id/xx/yyyy.debug` of its build-id, holding its
/// `.debug_*` sections and nothing else, readable by readelf; and the
/// bundle is the default build's, file for file.
#[test]
fn debug_dir_holds_the_debug_information_by_build_id() {
    let (bundle, debug) = split_bundle();
    let manifest = |b: &Path| std::fs::read_to_string(b.join("MANIFEST.json")).unwrap();
    assert_eq!(manifest(bundle), manifest(sentinel_bundle()));

    let expected = files_with_debug_sections(unstripped_bundle());
    assert!(expected.len() > 50, "{expected:?}");
    let mut debug_files = Vec::new();
    for (file, sections) in &expected {
        let path = debug_file(debug, &bundle.join(file));
        assert!(path.is_file(), "no {} for {file}", path.display());
        assert_eq!(build_id(&path), build_id(&bundle.join(file)), "{file}");
        assert_eq!(&debug_sections(&path), sections, "{file}");
        assert!(!holds_code(&path), "{file}: code in its debug file");
        debug_files.push(path);
    }
    let mut found: Vec<PathBuf> = walkdir::WalkDir::new(debug)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    found.sort();
    debug_files.sort();
    assert_eq!(found, debug_files, "other files in the debug folder");

    let libpython = debug_file(debug, &bundle.join("lib/libpython3.11.so.1.0"));
    let dump = run_ok(
        Command::new("readelf")
            .args(["--debug-dump=info", "--dwarf-depth=1"])
            .arg(&libpython),
    );
    assert!(
        stdout(&dump).contains("DW_AT_name") && stdout(&dump).contains("pythonrun.c"),
        "readelf finds no compilation unit"
    );
}

/// Whether `file`'s `.text` holds bytes: `--only-keep-debug` leaves it
/// as `NOBITS`.
fn holds_code(file: &Path) -> bool {
    sections(file)
        .lines()
        .any(|l| l.contains(" .text ") && l.contains("PROGBITS"))
}

/// gdb, told only the debug folder, finds the source line of a libpython
/// function in the bundle's stripped copy; without it, it finds none.
#[test]
fn gdb_finds_the_debug_files_by_build_id() {
    let (bundle, debug) = split_bundle();
    let libpython = bundle.join("lib/libpython3.11.so.1.0");
    let gdb = |directory: &Path| {
        let output = run_ok(
            Command::new("gdb")
                .args(["-nx", "-batch", "-ex"])
                .arg(format!("set debug-file-directory {}", directory.display()))
                .arg("-ex")
                .arg(format!("file {}", libpython.display()))
                .args(["-ex", "info line PyRun_SimpleString"]),
        );
        stdout(&output) + &stderr(&output)
    };
    let found = gdb(debug);
    assert!(found.contains("\"Python/pythonrun.c\""), "{found}");
    let empty = workdir("debuginfo-gdb-empty");
    let without = gdb(&empty);
    assert!(!without.contains("pythonrun.c"), "{without}");
}

#[test]
fn debug_dir_inside_the_bundle_is_refused() {
    let dir = workdir("debuginfo-inside");
    let out = dir.join("sentinel");
    let output = sentinel_command(&venv(), &out)
        .arg("--debug-dir")
        .arg(out.join("debug"))
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(err.contains("lies inside the output"), "{err}");
    assert!(
        err.contains("\nhint: choose a --debug-dir outside"),
        "{err}"
    );
    assert!(!out.exists());
}

/// With an `objcopy` that does not work first on PATH, the build stops
/// before writing, names the tool and says what to do.
#[test]
fn missing_objcopy_is_named_with_a_hint() {
    let dir = workdir("debuginfo-no-objcopy");
    let tools = dir.join("tools");
    std::fs::create_dir_all(&tools).unwrap();
    let objcopy = tools.join("objcopy");
    std::fs::write(&objcopy, "#!/bin/sh\nexit 127\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&objcopy, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        tools.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dir.join("sentinel");
    let output = sentinel_command(&venv(), &out)
        .env("PATH", path)
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("error: cannot run `objcopy` (GNU binutils)"),
        "{err}"
    );
    assert!(err.contains("\nhint: install binutils"), "{err}");
    assert!(err.contains("--no-strip"), "{err}");
    assert!(!out.exists());
}
