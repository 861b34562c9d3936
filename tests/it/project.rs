//! Projects laid out for setuptools (tests/fixtures/setuptools): the
//! script `cffi_modules` names runs from the project's folder, as `pip
//! wheel .` runs it, so its relative `set_source()` paths and imports work.

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::*;

/// The setuptools-shaped fixture project: `setup.py` naming
/// `build_tools/plugin_build.py:ffibuilder`, which compiles `csrc/helper.c`
/// with `include_dirs=["csrc"]`; its app in `src/`.
fn fixture() -> PathBuf {
    repo().join("tests/fixtures/setuptools")
}

/// Runs the bundle's `libshapes.so` in the dlopen host: the helper's C
/// (3x + 1) and the app both answer.
fn assert_runs(bundle: &std::path::Path) {
    let output = run_ok(
        Command::new(run_plugin_host())
            .arg(bundle.join("libshapes.so"))
            .args(["lib.helper_scale(7)", "area(2, 3)"]),
    );
    assert_eq!(stdout(&output), "22\n6\n", "stderr:\n{}", stderr(&output));
}

fn build_in(dir: &std::path::Path, args: &[&str]) -> Output {
    embedpack()
        .current_dir(dir)
        .arg("build")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn setuptools_project_script_runs_from_the_project_root() {
    let out = workdir("project-setuptools").join("shapes");
    let output = build_in(
        &fixture(),
        &[
            "build_tools/plugin_build.py:ffibuilder",
            "--venv",
            venv().to_str().unwrap(),
            "--app",
            "src",
            "-o",
            out.to_str().unwrap(),
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_runs(&out);
}

#[test]
fn without_a_venv_both_the_script_folder_and_the_project_root_are_tried() {
    let out = workdir("project-no-venv").join("shapes");
    let output = embedpack()
        .current_dir(fixture())
        .args(["build", "build_tools/plugin_build.py", "-o"])
        .arg(&out)
        .env_remove("VIRTUAL_ENV")
        .output()
        .unwrap();
    let err = stderr(&output);
    assert_eq!(output.status.code(), Some(1), "{err}");
    assert!(
        err.contains("/build_tools/.venv` (.venv beside the build script)"),
        "{err}"
    );
    assert!(
        err.contains("/setuptools/.venv` (.venv at the project root)"),
        "{err}"
    );
    assert!(!out.exists());
}
