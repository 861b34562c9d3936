//! Distribution packaging strips every ELF file it ships (Debian's
//! dh_strip, rpmbuild's brp-strip, `install -s`): a bundle whose every ELF
//! file went through `strip --strip-debug`, `strip --strip-unneeded`, or
//! `objcopy --only-keep-debug` + `strip` + `objcopy --add-gnu-debuglink`
//! still runs its host, binutils has nothing to complain about in the
//! files our writer made, and `embedpack verify` names each stripped file
//! as changed (exit 1) instead of failing on it.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use crate::support::*;

#[derive(Clone, Copy, Debug)]
enum Strip {
    Debug,
    Unneeded,
    /// The debug information into a file of its own, linked back.
    SeparateDebug,
}

impl Strip {
    fn name(self) -> &'static str {
        match self {
            Strip::Debug => "strip-debug",
            Strip::Unneeded => "strip-unneeded",
            Strip::SeparateDebug => "separate-debug",
        }
    }

    /// Strips `file` in place; each tool must succeed.  Returns what they
    /// printed, which must be nothing: binutils warns when it has to move
    /// a section (`section .dynstr lma 0x5badd0 adjusted to 0x5bbd70`).
    fn apply(self, file: &Path) -> String {
        let debug = std::path::PathBuf::from(format!("{}.debug", file.display()));
        let tool = |name: &str, args: &[&str], file: &Path| {
            let mut command = Command::new(name);
            command.args(args).arg(file);
            command
        };
        let steps = match self {
            Strip::Debug => vec![tool("strip", &["--strip-debug"], file)],
            Strip::Unneeded => vec![tool("strip", &["--strip-unneeded"], file)],
            Strip::SeparateDebug => {
                let mut keep = tool("objcopy", &["--only-keep-debug"], file);
                keep.arg(&debug);
                let link = format!("--add-gnu-debuglink={}", debug.display());
                // Debian's libraries carry a link already: it is replaced.
                let relink = ["--remove-section=.gnu_debuglink", &link];
                vec![
                    keep,
                    tool("strip", &["--strip-debug"], file),
                    tool("objcopy", &relink, file),
                ]
            }
        };
        let mut complaints = String::new();
        for mut step in steps {
            complaints += &stderr(&run_ok(&mut step));
        }
        let _ = std::fs::remove_file(debug);
        complaints
    }
}

/// A copy of the sentinel bundle with every ELF file stripped; returns
/// the copy, the files whose bytes the stripping changed, and what the
/// tools printed.
fn stripped_bundle(strip: Strip) -> (std::path::PathBuf, BTreeSet<String>, String) {
    let bundle = workdir(&format!("stripped-{}", strip.name())).join("sentinel");
    copy_tree(sentinel_bundle(), &bundle);
    let mut changed = BTreeSet::new();
    let mut complaints = String::new();
    for relative in elf_files(&bundle) {
        let path = bundle.join(&relative);
        let before = std::fs::read(&path).unwrap();
        complaints += &strip.apply(&path);
        if std::fs::read(&path).unwrap() != before {
            changed.insert(relative);
        }
    }
    (bundle, changed, complaints)
}

fn stripped_bundle_runs_and_verify_names_the_stripped_files(strip: Strip) {
    let (bundle, changed, complaints) = stripped_bundle(strip);
    for file in ["libsentinel.so", "lib/libpython3.11.so.1.0"] {
        assert!(changed.contains(file), "{strip:?} left {file} as it was");
    }

    let output = Command::new(run_plugin_host())
        .current_dir("/")
        .arg(bundle.join("libsentinel.so"))
        .args(["checks.isolated()", "checks.speedups()", "6*7"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{strip:?}: the host fails with {}; binutils said:\n{complaints}",
        output.status
    );
    assert_eq!(
        stdout(&output),
        "1\n1\n42\n",
        "{strip:?}, stderr:\n{}",
        stderr(&output)
    );
    assert_eq!(complaints, "", "{strip:?}");

    let verified = embedpack().arg("verify").arg(&bundle).output().unwrap();
    let (out, err) = (stdout(&verified), stderr(&verified));
    assert_eq!(verified.status.code(), Some(1), "{out}{err}");
    assert!(!err.contains("panicked"), "{err}");
    let named: BTreeSet<String> = out
        .lines()
        .chain(err.lines())
        .filter_map(|l| l.split_once(": changed: "))
        .map(|(path, _)| path.to_string())
        .collect();
    assert_eq!(named, changed, "{out}{err}");
    assert!(!out.contains(": unresolved: "), "{out}");
}

#[test]
fn bundle_stripped_of_debug_information_runs() {
    stripped_bundle_runs_and_verify_names_the_stripped_files(Strip::Debug);
}

#[test]
fn bundle_stripped_of_unneeded_symbols_runs() {
    stripped_bundle_runs_and_verify_names_the_stripped_files(Strip::Unneeded);
}

#[test]
fn bundle_with_debug_information_in_separate_files_runs() {
    stripped_bundle_runs_and_verify_names_the_stripped_files(Strip::SeparateDebug);
}
