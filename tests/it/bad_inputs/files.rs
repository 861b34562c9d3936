//! `embedpack build --app src` given an app root holding what cannot be
//! bundled: a dangling symbolic link, a symbolic link loop, a FIFO, and a
//! folder the user running embedpack cannot read (run as `nobody` through
//! `setpriv`).

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::Command;

use super::Case;
use crate::support::*;

/// An app root `src` holding the package `pkg`.
fn app(case: &Case) {
    case.script();
    case.write("src/pkg/__init__.py", "");
}

fn build(case: &Case) -> Command {
    case.build("plugin_build.py", &["--app", "src", "-o", "out"])
}

#[test]
fn dangling_symlink() {
    let case = Case::new("app-dangling-symlink");
    app(&case);
    std::os::unix::fs::symlink("gone.py", case.path("src/pkg/helper.py")).unwrap();
    case.refused(build(&case), "src/pkg/helper.py");
}

#[test]
fn symlink_loop() {
    let case = Case::new("app-symlink-loop");
    app(&case);
    std::os::unix::fs::symlink("..", case.path("src/pkg/again")).unwrap();
    case.refused(build(&case), "src/pkg/again");
}

#[test]
fn fifo() {
    let case = Case::new("app-fifo");
    app(&case);
    run_ok(Command::new("mkfifo").arg(case.path("src/pkg/pipe.py")));
    case.refused(build(&case), "src/pkg/pipe.py");
}

/// Removes a case's folder outside target/tmp when the case ends.
struct Removed(PathBuf);

impl Drop for Removed {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The user `nobody` runs a copy of embedpack, with a copy of the Debian
/// venv (whose Python is in /usr/bin), in a folder under the temporary
/// directory: the checkout and pyenv's Pythons may be out of its reach.
/// `src/pkg/secret` is root's, mode 0700.
#[test]
fn unreadable_folder() {
    let dir = std::env::temp_dir().join(format!("bad-input-unreadable-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir(&dir).unwrap();
    let _removed = Removed(dir.clone());
    let mode = |path: &std::path::Path, mode| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    mode(&dir, 0o755);
    let case = Case::at("app-unreadable-folder", dir);
    std::fs::create_dir(case.path("bin")).unwrap();
    let binary = case.path("bin/embedpack");
    std::fs::copy(env!("CARGO_BIN_EXE_embedpack"), &binary).unwrap();
    mode(&binary, 0o755);
    copy_tree(&named_venv("debian"), &case.path("venv"));
    app(&case);
    case.write("src/pkg/secret/data.py", "KEY = 1\n");
    mode(&case.path("src/pkg/secret"), 0o700);
    let mut command = Command::new("setpriv");
    case.prepare(&mut command);
    command
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&binary)
        .args(["build", "plugin_build.py", "--venv", "venv"])
        .args(["--app", "src", "-o", "out"]);
    case.refused(command, "src/pkg/secret");
}
