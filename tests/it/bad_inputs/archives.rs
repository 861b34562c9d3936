//! `embedpack verify ARCHIVE` given archives, made by GNU tar, holding an
//! entry that would land outside the bundle: a `..` path, an absolute
//! path, a symbolic link.  Each is the one problem reported, and nothing
//! is unpacked anywhere.

use std::process::Command;

use super::Case;
use crate::support::*;

/// `bundle/MANIFEST.json`, the real one of the sentinel bundle, and
/// `outside.txt` beside the folder.
fn inputs(case: &Case) {
    let manifest = std::fs::read_to_string(sentinel_bundle().join("MANIFEST.json")).unwrap();
    case.write("bundle/MANIFEST.json", &manifest);
    case.write("outside.txt", "not part of the bundle\n");
}

/// `tar -czf ARCHIVE ARGS...`, from the case's folder; `-P` keeps `..`
/// and absolute names as they are given.
fn tar(case: &Case, archive: &str, args: &[&str]) {
    run_ok(
        Command::new("tar")
            .current_dir(&case.dir)
            .args(["-czPf", archive])
            .args(args),
    );
}

#[test]
fn archive_with_a_dotdot_entry() {
    let case = Case::new("verify-dotdot-entry");
    inputs(&case);
    tar(
        &case,
        "bundle.tar.gz",
        &["bundle/MANIFEST.json", "bundle/../outside.txt"],
    );
    case.refused(
        case.embedpack(&["verify", "bundle.tar.gz"]),
        "bundle.tar.gz",
    );
}

#[test]
fn archive_with_an_absolute_entry() {
    let case = Case::new("verify-absolute-entry");
    inputs(&case);
    let outside = case.path("outside.txt");
    let outside = outside.to_str().unwrap();
    tar(&case, "bundle.tar.gz", &["bundle/MANIFEST.json", outside]);
    case.refused(
        case.embedpack(&["verify", "bundle.tar.gz"]),
        "bundle.tar.gz",
    );
}

#[test]
fn archive_with_a_link_entry() {
    let case = Case::new("verify-link-entry");
    inputs(&case);
    std::os::unix::fs::symlink("/etc/passwd", case.path("bundle/passwd")).unwrap();
    tar(&case, "bundle.tar.gz", &["bundle"]);
    case.refused(
        case.embedpack(&["verify", "bundle.tar.gz"]),
        "bundle.tar.gz",
    );
}
