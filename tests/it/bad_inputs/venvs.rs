//! `embedpack build --venv DIR` given a broken venv, each made by
//! `python -m venv --without-pip` and then broken as machines break them:
//! its `pyvenv.cfg` deleted, its base Python's folder gone, its
//! interpreter link left dangling while that folder stays.

use std::process::Command;

use super::Case;
use crate::support::*;

/// `python -m venv --without-pip venv` in the case's folder.
fn make_venv(case: &Case) {
    run_ok(
        Command::new(&python().path)
            .args(["-m", "venv", "--without-pip"])
            .arg(case.path("venv")),
    );
}

fn build(case: &Case) -> Command {
    case.script();
    case.embedpack(&["build", "plugin_build.py", "--venv", "venv", "-o", "out"])
}

#[test]
fn venv_without_pyvenv_cfg() {
    let case = Case::new("venv-without-pyvenv-cfg");
    make_venv(&case);
    std::fs::remove_file(case.path("venv/pyvenv.cfg")).unwrap();
    case.refused(build(&case), "`venv`");
}

#[test]
fn venv_whose_home_does_not_exist() {
    let case = Case::new("venv-home-gone");
    make_venv(&case);
    let cfg = case.path("venv/pyvenv.cfg");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let gone = case.path("uninstalled/bin");
    let text: String = text
        .lines()
        .map(|line| match line.starts_with("home") {
            true => format!("home = {}\n", gone.display()),
            false => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&cfg, text).unwrap();
    case.refused(build(&case), "uninstalled/bin");
}

/// Every `bin/python*` replaced by links to an interpreter that is gone,
/// as when a Python is uninstalled from a folder that stays (`home`).
#[test]
fn venv_with_a_dangling_python() {
    let case = Case::new("venv-dangling-python");
    make_venv(&case);
    for entry in std::fs::read_dir(case.path("venv/bin")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with("python")
        {
            std::fs::remove_file(path).unwrap();
        }
    }
    let gone = case.path("uninstalled/python3");
    std::os::unix::fs::symlink(&gone, case.path("venv/bin/python3")).unwrap();
    std::os::unix::fs::symlink("python3", case.path("venv/bin/python")).unwrap();
    case.refused(build(&case), "venv/bin/python3");
}
