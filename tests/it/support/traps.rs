//! A hostile start-up environment: trap files that end the process if an
//! interpreter imports them, and the variables that would point it there.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Lays out the trap files under `root` and returns its `evil` folder:
/// modules that shadow `json` and `site`-time hooks there, a user site
/// directory (`lib/<stdlib>/site-packages`, `stdlib` being `python3.11`
/// or `pypy3.9`) with `usercustomize` and a `.pth` file, and a `json.py`
/// in the working directory `cwd`.
pub fn set_traps(root: &Path, cwd: &Path, stdlib: &str) -> PathBuf {
    let trap = "raise SystemExit('a PYTHON* trap was imported')\n";
    let evil = root.join("evil");
    let user_site = evil.join("lib").join(stdlib).join("site-packages");
    std::fs::create_dir_all(&user_site).unwrap();
    std::fs::create_dir_all(cwd).unwrap();
    for path in [
        evil.join("json.py"),
        evil.join("sitecustomize.py"),
        user_site.join("usercustomize.py"),
        user_site.join("json.py"),
        cwd.join("json.py"),
    ] {
        std::fs::write(path, trap).unwrap();
    }
    std::fs::write(user_site.join("evil.pth"), "import sys; sys.exit(3)\n").unwrap();
    evil
}

/// `command` with nothing but the hostile variables, all pointing at
/// `evil` (as the host sees it: `/evil` inside a chroot).
pub fn trapped<'a>(command: &'a mut Command, evil: &Path) -> &'a mut Command {
    command
        .env_clear()
        .env("PYTHONPATH", evil)
        .env("PYTHONHOME", evil)
        .env("PYTHONSTARTUP", evil.join("json.py"))
        .env("PYTHONUSERBASE", evil)
        .env("PYTHONNOUSERSITE", "")
        .env("PYTHONSAFEPATH", "")
        .env("HOME", evil)
}
