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

/// A copy of the fixture project in a fresh folder, with `pyproject`
/// as its pyproject.toml (`{venv}` replaced by the shared venv's path).
fn project_copy(name: &str, pyproject: &str) -> PathBuf {
    let root = workdir(name).join("shapes");
    copy_tree(&fixture(), &root);
    let text = pyproject.replace("{venv}", venv().to_str().unwrap());
    std::fs::write(root.join("pyproject.toml"), text).unwrap();
    root
}

/// How many `.pyc` files the bundle holds.
fn bytecode_files(bundle: &std::path::Path) -> usize {
    walkdir::WalkDir::new(bundle)
        .into_iter()
        .filter(|e| e.as_ref().unwrap().path().extension() == Some("pyc".as_ref()))
        .count()
}

fn assert_failed(output: &Output, expected: &[&str]) {
    let err = stderr(output);
    assert_eq!(output.status.code(), Some(1), "stderr:\n{err}");
    for text in expected {
        assert!(err.contains(text), "`{text}` not in:\n{err}");
    }
}

const CONFIGURED: &str = r#"
[project]
name = "shapes"

[tool.embedpack]
venv = "{venv}"
app = ["src"]
output = "dist/configured"
bytecode = false
"#;

/// No `script` key: the build script is the one setup.py's
/// `cffi_modules` names; every path is read from the project's root,
/// wherever in the project embedpack runs.
#[test]
fn configured_project_builds_with_no_arguments_from_its_root_and_below() {
    let root = project_copy("project-configured", CONFIGURED);
    let out = root.join("dist/configured");
    for cwd in [root.clone(), root.join("src/shapes_app")] {
        let _ = std::fs::remove_dir_all(&out);
        let output = build_in(&cwd, &[]);
        assert!(output.status.success(), "{}", stderr(&output));
        assert_runs(&out);
        assert_eq!(
            bytecode_files(&out),
            0,
            "`bytecode = false` was not honored"
        );
        assert!(!root.join("src/shapes_app/dist").exists());
    }
}

#[test]
fn the_command_line_overrides_the_project() {
    let pyproject = CONFIGURED.replace("{venv}", "/no/such/venv") + "exclude = [\"markupsafe\"]\n";
    let root = project_copy("project-override", &pyproject);
    let out = root.parent().unwrap().join("elsewhere");
    let output = build_in(
        &root,
        &[
            "--venv",
            venv().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--bytecode",
            "--exclude",
            "pycparser",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_runs(&out);
    assert!(
        !root.join("dist").exists(),
        "the configured output was written"
    );
    assert!(
        bytecode_files(&out) > 0,
        "--bytecode did not override the file"
    );
    let site = out.join("site-packages");
    assert!(
        site.join("markupsafe").is_dir(),
        "the file's exclude was not replaced"
    );
    assert!(
        !site.join("pycparser").exists(),
        "--exclude was not honored"
    );
}

#[test]
fn an_unknown_key_is_refused_with_the_closest_known_one() {
    let pyproject = CONFIGURED.to_string() + "host_libs = [\"libsqlite3.so.0\"]\n";
    let root = project_copy("project-unknown-key", &pyproject);
    assert_failed(
        &build_in(&root, &[]),
        &[
            "error: `pyproject.toml`: unknown key `host_libs` in [tool.embedpack]",
            "\nhint: did you mean `host-libs`?",
        ],
    );
    assert!(!root.join("dist").exists());
}

/// With two `cffi_modules`, the project must say which one; `script`
/// in [tool.embedpack] does.
#[test]
fn several_cffi_modules_need_a_script_key() {
    let root = project_copy("project-several", CONFIGURED);
    let setup = std::fs::read_to_string(root.join("setup.py")).unwrap();
    let two = setup.replace(
        "cffi_modules=[\"build_tools/plugin_build.py:ffibuilder\"]",
        "cffi_modules=[\n        \"build_tools/plugin_build.py:ffibuilder\",\n        \"build_tools/other.py:ffi\",\n    ]",
    );
    assert_ne!(setup, two);
    std::fs::write(root.join("setup.py"), two).unwrap();
    assert_failed(
        &build_in(&root, &[]),
        &[
            "several cffi_modules: `build_tools/plugin_build.py:ffibuilder` (setup.py), \
             `build_tools/other.py:ffi` (setup.py)",
            "\nhint: choose one: `embedpack build build_tools/plugin_build.py:ffibuilder`, \
             or `script` in [tool.embedpack]",
        ],
    );
    let chosen = CONFIGURED.replace("{venv}", venv().to_str().unwrap())
        + "script = \"build_tools/plugin_build.py:ffibuilder\"\n";
    std::fs::write(root.join("pyproject.toml"), chosen).unwrap();
    let output = build_in(&root, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_runs(&root.join("dist/configured"));
}

#[test]
fn no_script_and_no_cffi_modules_is_an_error() {
    let root = project_copy("project-no-script", CONFIGURED);
    std::fs::remove_file(root.join("setup.py")).unwrap();
    assert_failed(
        &build_in(&root.join("src"), &[]),
        &[
            "/shapes/pyproject.toml` has no `script` in [tool.embedpack], and no \
             cffi_modules are listed in setup.py, setup.cfg or pyproject.toml of `",
            "\nhint: give it: `embedpack build plugin_build.py`",
        ],
    );
    let outside = workdir("project-outside");
    assert_failed(
        &build_in(&outside, &[]),
        &["error: no build script given, and no pyproject.toml, setup.py, setup.cfg in"],
    );
}
