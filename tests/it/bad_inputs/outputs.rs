//! `embedpack build -o OUT` where the bundle cannot go: inside an input,
//! over a file embedpack did not write, on a read-only file system (over
//! a good bundle written before, which stays as it was), on a full disk.

use super::{Case, Mount};
use crate::support::*;

#[test]
fn output_inside_an_input() {
    let case = Case::new("output-inside-an-input");
    case.script();
    case.write("src/helper.py", "");
    let command = case.build("plugin_build.py", &["--app", "src", "-o", "src/dist"]);
    case.refused(command, "src/dist");
}

#[test]
fn output_is_a_file() {
    let case = Case::new("output-is-a-file");
    case.script();
    case.write("notes.txt", "not a bundle\n");
    let command = case.build("plugin_build.py", &["-o", "notes.txt"]);
    case.refused(command, "notes.txt");
}

/// The sentinel bundle is copied to `ro/bundle`, and `ro` bind-mounted
/// read-only over itself.
#[test]
fn output_on_a_read_only_file_system() {
    let case = Case::new("output-read-only");
    case.script();
    let ro = case.path("ro");
    std::fs::create_dir(&ro).unwrap();
    copy_tree(sentinel_bundle(), &ro.join("bundle"));
    let ro_path = ro.to_str().unwrap();
    let _mount = Mount::new(ro.clone(), &["--bind", ro_path]);
    run_ok(std::process::Command::new("mount").args(["-o", "remount,bind,ro", ro_path]));
    let command = case.build("plugin_build.py", &["-o", "ro/bundle"]);
    case.refused(command, "ro/bundle");
}

#[test]
fn output_on_a_full_disk() {
    let case = Case::new("output-full-disk");
    case.script();
    let _mount = Mount::new(
        case.path("small"),
        &["-t", "tmpfs", "-o", "size=2m", "tmpfs"],
    );
    let command = case.build("plugin_build.py", &["-o", "small/out"]);
    case.refused(command, "small/out");
}
