//! The corpus of bad inputs: each case makes its inputs in a folder of
//! its own, runs the real `embedpack` there once, and compares the whole
//! transcript — exit status, stdout, stderr — with its snapshot in
//! `snapshots/`, with the case's folder, the test venvs, the checkout and
//! what differs between Pythons filtered.  Every case also holds to what
//! the README promises for bad input: exit status 1, no panic, exactly one
//! `error:` line and it names the file, a `hint:` line, the case's folder
//! exactly as it was (nothing written where the output was to go, an
//! output that was there unchanged) and nothing left in the temporary
//! directory the run was given (`TMPDIR`, where scratch folders go).
//!
//! A changed message fails its case; after reading the new transcript,
//! accept it with `INSTA_UPDATE=always bash tests/run.sh --test it
//! bad_inputs::` (or `cargo insta review`).  One module per kind of input.

mod archives;
mod elf;
mod files;
mod outputs;
mod scripts;
mod venvs;

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

use crate::support::*;

/// The exit status the README gives for a command that could not do
/// what was asked.
const EXIT_FAILURE: i32 = 1;

/// A good CFFI embedding build script: every case that runs `build`
/// starts from it.
const PLUGIN_SCRIPT: &str = r#"import cffi
ffibuilder = cffi.FFI()
ffibuilder.embedding_api("int twice(int);")
ffibuilder.set_source("plugin", "")
ffibuilder.embedding_init_code("""
from plugin import ffi
@ffi.def_extern()
def twice(x):
    return 2 * x
""")
"#;

/// One bad input: a fresh folder the command runs in, holding the
/// inputs, and the empty folder it gets as its temporary directory.
pub struct Case {
    name: &'static str,
    dir: PathBuf,
    tmp: PathBuf,
}

impl Case {
    /// A case in a fresh folder under cargo's target/tmp.
    pub fn new(name: &'static str) -> Case {
        Case::at(name, workdir(&format!("bad-input-{name}")))
    }

    /// A case in the folder `dir`, which exists and is empty.
    pub fn at(name: &'static str, dir: PathBuf) -> Case {
        let tmp = dir.join("tmp");
        std::fs::create_dir(&tmp).unwrap();
        // Sticky and writable by all, as /tmp: a case may run as nobody.
        std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o1777)).unwrap();
        Case { name, dir, tmp }
    }

    pub fn path(&self, relative: &str) -> PathBuf {
        self.dir.join(relative)
    }

    /// Writes `text` to `relative` (making its folders); returns its path.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `plugin_build.py`, the good build script.
    pub fn script(&self) -> PathBuf {
        self.write("plugin_build.py", PLUGIN_SCRIPT)
    }

    /// `embedpack ARGS...`, run from the case's folder with its
    /// temporary directory.
    pub fn embedpack(&self, args: &[&str]) -> Command {
        let mut command = embedpack();
        self.prepare(&mut command);
        command.args(args);
        command
    }

    /// Runs `command` from the case's folder with its temporary directory.
    pub fn prepare(&self, command: &mut Command) {
        command
            .current_dir(&self.dir)
            .env("TMPDIR", &self.tmp)
            .env_remove("VIRTUAL_ENV");
    }

    /// `embedpack build SCRIPT --venv <the test venv> ARGS...`.
    pub fn build(&self, script: &str, args: &[&str]) -> Command {
        let mut command = self.embedpack(&["build", script, "--venv"]);
        command.arg(venv()).args(args);
        command
    }

    /// `embedpack pack LIBRARY --venv <the test venv> -o out`.
    pub fn pack(&self, library: &str) -> Command {
        let mut command = self.embedpack(&["pack", library, "--venv"]);
        command.arg(venv()).args(["-o", "out"]);
        command
    }

    /// Runs `command` and checks what every bad input must give: the
    /// documented exit status, no panic, one `error:` line naming
    /// `names`, a `hint:` line, the case's folder unchanged and the
    /// temporary directory empty; then compares the transcript with the
    /// case's snapshot.
    pub fn refused(&self, mut command: Command, names: &str) {
        let before = Tree::of(&self.dir);
        let output = command
            .output()
            .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
        let transcript = transcript(&command, &output);
        let err = stderr(&output);
        assert!(!err.contains("panicked at"), "{transcript}");
        assert_eq!(output.status.code(), Some(EXIT_FAILURE), "{transcript}");
        let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "not one `error:` line:\n{transcript}");
        assert!(
            errors[0].contains(names),
            "the error does not name `{names}`:\n{transcript}"
        );
        assert!(
            err.lines().any(|l| l.starts_with("hint: ")),
            "no hint:\n{transcript}"
        );
        before.assert_same(&Tree::of(&self.dir));
        let left: Vec<_> = std::fs::read_dir(&self.tmp)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "left in TMPDIR: {left:?}\n{transcript}");
        let mut settings = insta::Settings::clone_current();
        for (pattern, replacement) in self.filters() {
            settings.add_filter(&pattern, replacement);
        }
        settings.bind(|| insta::assert_snapshot!(self.name, transcript));
    }

    /// What changes from one machine or run to the next, replaced by a
    /// name in brackets; the most specific paths first.
    fn filters(&self) -> Vec<(String, String)> {
        let test_env = repo().join("target/test-env");
        let mut paths = vec![(self.dir.clone(), "[CASE]")];
        if let Ok(real) = self.dir.canonicalize() {
            paths.push((real, "[CASE]"));
        }
        paths.push((test_env.clone(), "[TEST_ENV]"));
        if let Ok(real) = test_env.canonicalize() {
            paths.push((real, "[TEST_ENV]"));
        }
        paths.push((repo(), "[REPO]"));
        let mut filters: Vec<(String, String)> = paths
            .into_iter()
            .map(|(path, name)| (regex_escape(&path.display().to_string()), name.into()))
            .collect();
        for (pattern, replacement) in [
            // The interpreter line every command that finds a venv prints.
            (r"Python \d+\.\d+\.\d+", "Python [VERSION]"),
            (r"\(`[^`]*libpython[^`]*`\)", "(`[LIBPYTHON]`)"),
            (r"python3\.\d+", "python3.[MINOR]"),
            (
                r"site-packages: \d+ files, [\d.]+ \w+",
                "site-packages: [N] files, [SIZE]",
            ),
            // Staging outputs carry the process id; the file a full disk
            // stops at depends on the sizes of the Python's libraries.
            (r"\.embedpack-staging-\d+", ".embedpack-staging-[PID]"),
            (r"(\.embedpack-staging-\[PID\])/[^`]+", "$1/[FILE]"),
            // Python 3.11+ underlines the failing call; other versions do not.
            (r"(?m)^ *[\^~]+ *\n", ""),
        ] {
            filters.push((pattern.into(), replacement.into()));
        }
        filters
    }
}

/// A command's whole transcript, as the snapshots hold it: the command
/// line (embedpack by its name), the exit status, stdout and stderr.
fn transcript(command: &Command, output: &Output) -> String {
    let program = Path::new(command.get_program());
    let mut line = match program == Path::new(env!("CARGO_BIN_EXE_embedpack")) {
        true => "embedpack".to_string(),
        false => program.display().to_string(),
    };
    for arg in command.get_args() {
        line += &format!(" {}", arg.to_string_lossy());
    }
    let status = match output.status.code() {
        Some(code) => code.to_string(),
        None => format!("{} (no exit code)", output.status),
    };
    format!(
        "$ {line}\nexit status: {status}\n----- stdout -----\n{}----- stderr -----\n{}",
        stdout(output),
        stderr(output)
    )
}

fn regex_escape(text: &str) -> String {
    let mut escaped = String::new();
    for c in text.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

/// Every entry under a folder, links not followed: its kind and mode,
/// and a regular file's size and sha256 or a link's target.
#[derive(Debug, PartialEq, Eq)]
struct Tree(BTreeMap<PathBuf, String>);

impl Tree {
    fn of(dir: &Path) -> Tree {
        let mut entries = BTreeMap::new();
        for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
            let entry = entry.unwrap();
            let meta = entry.path().symlink_metadata().unwrap();
            let kind = meta.file_type();
            let what = if kind.is_file() {
                let bytes = std::fs::read(entry.path()).unwrap();
                format!("file {} {:x}", bytes.len(), Sha256::digest(&bytes))
            } else if kind.is_symlink() {
                format!(
                    "link {}",
                    std::fs::read_link(entry.path()).unwrap().display()
                )
            } else if kind.is_dir() {
                "folder".to_string()
            } else {
                "special".to_string()
            };
            let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            entries.insert(relative, format!("{what} {:o}", meta.mode()));
        }
        Tree(entries)
    }

    fn assert_same(&self, after: &Tree) {
        let changed: Vec<_> = self
            .0
            .iter()
            .filter(|(path, what)| after.0.get(*path) != Some(what))
            .map(|(path, _)| format!("changed or removed: {}", path.display()))
            .chain(
                after
                    .0
                    .keys()
                    .filter(|path| !self.0.contains_key(*path))
                    .map(|path| format!("created: {}", path.display())),
            )
            .collect();
        assert!(changed.is_empty(), "{}", changed.join("\n"));
    }
}

/// Unmounts a file system mounted for a case, even when the case fails.
pub struct Mount(PathBuf);

impl Mount {
    /// Mounts with `mount ARGS... DIR`, making DIR.
    pub fn new(dir: PathBuf, args: &[&str]) -> Mount {
        std::fs::create_dir_all(&dir).unwrap();
        run_ok(Command::new("mount").args(args).arg(&dir));
        Mount(dir)
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}
