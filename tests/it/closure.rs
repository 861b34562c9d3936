//! The shared-library closure: a bundle needs nothing from the machine
//! but the system allow-list.  A plugin using numpy, lxml and the
//! standard library's ssl, sqlite3, lzma, bz2 and ctypes runs in a bare
//! chroot, also with `LD_LIBRARY_PATH` pointing at wrong libraries with
//! the right names; `--host-lib` and `--include-lib` do what they say; a
//! library found nowhere is an error naming the file that needs it.

use embedpack::elf;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use crate::support::*;

/// What each expression of the closure plugin answers when it works.
const CHECKS: &[(&str, &str)] = &[
    ("checks.numpy_inverse()", "3"),
    ("checks.lxml_xslt()", "6"),
    ("checks.ssl_and_hashlib()", "1"),
    ("checks.sqlite()", "6"),
    ("checks.compression()", "2"),
    ("checks.ctypes_callback()", "42"),
    ("checks.modules_inside()", "1"),
];

fn expected_output() -> String {
    CHECKS
        .iter()
        .map(|(_, answer)| format!("{answer}\n"))
        .collect()
}

fn fixture(path: &str) -> PathBuf {
    repo().join("tests/fixtures").join(path)
}

/// The closure plugin (tests/fixtures/closure), built once.
fn closure_bundle() -> &'static Path {
    static BUNDLE: OnceLock<PathBuf> = OnceLock::new();
    BUNDLE.get_or_init(|| {
        let out = workdir("closure-bundle").join("closure");
        let output = run_ok(
            embedpack()
                .arg("build")
                .arg(fixture("closure/build_closure.py"))
                .arg("--venv")
                .arg(named_venv("venv-closure"))
                .arg("--app")
                .arg(fixture("closure/app"))
                .arg("-o")
                .arg(&out),
        );
        assert!(
            stderr(&output).contains("Runs on: glibc 2."),
            "{}",
            stderr(&output)
        );
        out
    })
}

fn cc(out: &Path, sources: &[PathBuf], extra: &[&str]) {
    run_ok(
        Command::new("cc")
            .args(["-O1", "-fPIC", "-o"])
            .arg(out)
            .args(sources)
            .args(extra),
    );
}

/// A wrong library for each name, in `dir`: loading any of them makes
/// the process exit 99.
fn wrong_libraries(dir: &Path, names: &BTreeSet<String>) {
    std::fs::create_dir_all(dir).unwrap();
    for name in names {
        let soname = format!("-Wl,-soname,{name}");
        let define = format!("-DWRONG_NAME=\"{name}\"");
        cc(
            &dir.join(name),
            &[fixture("closure/wrong.c")],
            &["-shared", &soname, &define],
        );
    }
}

/// The file names in a folder of the bundle.
fn names_in(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Runs the dlopen host in `root` on the plugin at `plugin` (inside the
/// root), with only `env` in the environment.
fn in_chroot(root: &Path, plugin: &str, env: &[(&str, &str)], args: &[&str]) -> Output {
    std::fs::copy(run_plugin_host(), root.join("host")).unwrap();
    let mut command = Command::new("/usr/sbin/chroot");
    command.env_clear().envs(env.iter().copied());
    command.arg(root).arg("/host").arg(plugin).args(args);
    command.output().unwrap()
}

/// A bare root holding a copy of `bundle` at /opt/NAME.
fn root_with(name: &str, bundle: &Path) -> PathBuf {
    let root = bare_root(name);
    std::fs::create_dir_all(root.join("opt")).unwrap();
    copy_tree(bundle, &root.join("opt"));
    root
}

/// scipy's wheel puts libgfortran and the libquadmath it needs in
/// scipy.libs/; libgfortran has no search path of its own and finds
/// libquadmath only through the DT_RPATH of the extension module that
/// loads it.  Once refused as "found nowhere on this machine"; now
/// bundled, with numpy and pandas, and run in a bare chroot by eight
/// threads making the first call at once.
#[test]
fn scipy_libs_are_found_through_the_loading_chain() {
    let out = workdir("closure-scipy").join("sci");
    run_ok(
        embedpack()
            .arg("build")
            .arg(fixture("scipy/build_sci.py"))
            .arg("--venv")
            .arg(named_venv("venv-scientific"))
            .arg("--app")
            .arg(fixture("scipy/app"))
            .arg("--no-bytecode")
            .arg("-o")
            .arg(&out),
    );
    run_ok(embedpack().arg("verify").arg(&out));
    let root = root_with("closure-scipy-chroot", &out);
    let output = in_chroot(
        &root,
        "/opt/sci/libsci.so",
        &[],
        &["--threads", "8", "answer()", "frame()"],
    );
    assert_eq!(
        stdout(&output),
        "42 (8 threads)\n42\n",
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn numpy_lxml_and_stdlib_modules_run_in_a_bare_chroot() {
    let bundle = closure_bundle();
    let root = root_with("closure-chroot", bundle);
    for absent in [
        "libssl.so.3",
        "libsqlite3.so.0",
        "libffi.so.8",
        "liblzma.so.5",
    ] {
        assert!(!root.join("lib/x86_64-linux-gnu").join(absent).exists());
    }
    let expressions: Vec<&str> = CHECKS.iter().map(|(e, _)| *e).collect();
    let output = in_chroot(&root, "/opt/closure/libclosure.so", &[], &expressions);
    assert_eq!(
        stdout(&output),
        expected_output(),
        "stderr:\n{}",
        stderr(&output)
    );
}

#[test]
fn wrong_libraries_on_ld_library_path_are_never_loaded() {
    let bundle = closure_bundle();
    let mut names: BTreeSet<String> = [
        "libpython3.11.so.1.0",
        "libsqlite3.so.0",
        "libssl.so.3",
        "libcrypto.so.3",
        "libffi.so.8",
        "liblzma.so.5",
        "libbz2.so.1.0",
    ]
    .iter()
    .map(|n| n.to_string())
    .collect();
    // The very names the bundle's own files have, too.
    names.extend(
        names_in(&bundle.join("lib"))
            .into_iter()
            .filter(|n| n.contains(".so")),
    );
    names.extend(names_in(&bundle.join("site-packages/numpy.libs")));
    let root = root_with("closure-wrong-libs", bundle);
    wrong_libraries(&root.join("wrong"), &names);
    let expressions: Vec<&str> = CHECKS.iter().map(|(e, _)| *e).collect();
    let env = [("LD_LIBRARY_PATH", "/wrong")];
    let output = in_chroot(&root, "/opt/closure/libclosure.so", &env, &expressions);
    assert_eq!(
        stdout(&output),
        expected_output(),
        "stderr:\n{}",
        stderr(&output)
    );

    // On this machine, where every library exists: nothing but the bundle
    // and the allow-list is mapped.
    let wrong = workdir("closure-wrong-here");
    wrong_libraries(&wrong, &names);
    let mut allowed: Vec<&str> = ALLOW_LIST.to_vec();
    allowed.push("ld-linux-x86-64.so.2");
    let foreign = format!("checks.foreign_libraries('{}')", allowed.join(","));
    let output = run_ok(
        Command::new(run_plugin_host())
            .env("LD_LIBRARY_PATH", &wrong)
            .arg(bundle.join("libclosure.so"))
            .args(["checks.sqlite()", "checks.numpy_inverse()", &foreign]),
    );
    assert_eq!(stdout(&output), "6\n3\n0\n", "stderr:\n{}", stderr(&output));
}

/// Every ELF file of a bundle: path relative to it, and what it reads as.
fn elf_files(bundle: &Path) -> Vec<(PathBuf, elf::ElfInfo)> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(bundle) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() || !elf::is_elf(entry.path()).unwrap() {
            continue;
        }
        if let Some(info) = elf::read_file(entry.path()).unwrap() {
            let relative = entry.path().strip_prefix(bundle).unwrap().to_path_buf();
            files.push((relative, info));
        }
    }
    files
}

#[test]
fn every_elf_file_finds_its_libraries_inside_the_bundle() {
    let bundle = closure_bundle();
    let files = elf_files(bundle);
    let lib = names_in(&bundle.join("lib"));
    let wheel_libs = names_in(&bundle.join("site-packages/numpy.libs"));
    assert!(!wheel_libs.is_empty());
    // A wheel's own libraries stay where the wheel put them.
    assert!(
        wheel_libs.iter().all(|n| !lib.contains(n)),
        "{wheel_libs:?}"
    );
    for vendored in [
        "libssl-",
        "libcrypto-",
        "libsqlite3-",
        "libffi-",
        "liblzma-",
        "libbz2-",
    ] {
        assert!(
            lib.iter().any(|n| n.starts_with(vendored)),
            "no {vendored}* in lib/: {lib:?}"
        );
    }
    assert!(!lib.contains("libssl.so.3") && lib.contains("libpython3.11.so.1.0"));
    let mut needs_glibc = Vec::new();
    for (path, info) in &files {
        assert_eq!(info.runpath, None, "{} keeps a RUNPATH", path.display());
        let rpath = info
            .rpath
            .clone()
            .unwrap_or_else(|| panic!("{} has no RPATH", path.display()));
        let dir = bundle.join(path).parent().unwrap().to_path_buf();
        let dirs: Vec<PathBuf> = rpath
            .split(':')
            .map(|d| {
                let rest = d.strip_prefix("$ORIGIN").unwrap_or_else(|| {
                    panic!("{}: `{d}` is not relative to $ORIGIN", path.display())
                });
                dir.join(rest.trim_start_matches('/'))
            })
            .collect();
        assert!(
            dirs.iter()
                .any(|d| d.canonicalize().unwrap() == bundle.join("lib").canonicalize().unwrap()),
            "{}: {rpath} does not name lib/",
            path.display()
        );
        for needed in &info.needed {
            let system = ALLOW_LIST.contains(&needed.as_str()) || needed.starts_with("ld-linux");
            assert!(
                system || dirs.iter().any(|d| d.join(needed).is_file()),
                "{} needs {needed}, found in none of {rpath}",
                path.display()
            );
        }
        for need in &info.version_needs {
            for version in &need.versions {
                if let Some(number) = version.strip_prefix("GLIBC_") {
                    let parts: Option<Vec<u32>> =
                        number.split('.').map(|p| p.parse().ok()).collect();
                    needs_glibc.extend(parts);
                }
            }
        }
    }
    let newest = needs_glibc.into_iter().max().unwrap();
    let newest: Vec<String> = newest.iter().map(u32::to_string).collect();
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(manifest["requires"]["versions"]["glibc"], newest.join("."));
    assert_eq!(manifest["requires"]["host_libs"], serde_json::json!([]));
}

/// The sentinel plugin built with `extra` arguments.
fn sentinel_with(name: &str, extra: &[&std::ffi::OsStr]) -> (PathBuf, Output) {
    let out = workdir(name).join("sentinel");
    let output = sentinel_command(&venv(), &out)
        .args(extra)
        .output()
        .unwrap();
    (out, output)
}

#[test]
fn missing_library_is_an_error_naming_the_file_that_needs_it() {
    let natives = workdir("closure-missing-src").join("natives");
    std::fs::create_dir_all(&natives).unwrap();
    let dep = natives.join("libchainc.so.1");
    cc(
        &dep,
        &[fixture("elf/chain_c.c")],
        &["-shared", "-Wl,-soname,libchainc.so.1"],
    );
    let user = natives.join("libneedy.so");
    cc(
        &user,
        &[fixture("elf/chain_b.c"), dep.clone()],
        &["-shared"],
    );
    std::fs::remove_file(&dep).unwrap();
    let (out, output) = sentinel_with(
        "closure-missing",
        &["--app".as_ref(), natives.parent().unwrap().as_os_str()],
    );
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("`app/natives/libneedy.so` needs `libchainc.so.1`"),
        "{err}"
    );
    assert!(
        err.contains("hint: ") && err.contains("--host-lib libchainc.so.1"),
        "{err}"
    );
    assert!(!out.exists());
}

#[test]
fn host_lib_is_left_to_the_host_and_recorded_in_the_manifest() {
    let (bundle, output) = sentinel_with(
        "closure-host-lib",
        &["--host-lib".as_ref(), "libsqlite3.so.0".as_ref()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("The host must provide: libsqlite3.so.0"));
    let lib = names_in(&bundle.join("lib"));
    assert!(!lib.iter().any(|n| n.starts_with("libsqlite3")), "{lib:?}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle.join("MANIFEST.json")).unwrap()).unwrap();
    assert_eq!(
        manifest["requires"]["host_libs"],
        serde_json::json!(["libsqlite3.so.0"])
    );
    let sqlite = "__import__('sqlite3').connect(':memory:').execute('select 6*7').fetchone()[0]";
    let root = root_with("closure-host-lib-root", &bundle);
    let output = in_chroot(&root, "/opt/sentinel/libsentinel.so", &[], &[sqlite]);
    assert_eq!(
        stdout(&output),
        "-1\n",
        "sqlite3 imported without its library"
    );
    assert!(
        stderr(&output).contains("libsqlite3.so.0"),
        "{}",
        stderr(&output)
    );
    // The host provides it: here, the machine's own copy.
    let system = Path::new("/lib/x86_64-linux-gnu/libsqlite3.so.0");
    std::fs::copy(system, root.join("lib/x86_64-linux-gnu/libsqlite3.so.0")).unwrap();
    let output = in_chroot(&root, "/opt/sentinel/libsentinel.so", &[], &[sqlite]);
    assert_eq!(stdout(&output), "42\n", "stderr:\n{}", stderr(&output));
    // verify accepts the recorded host library, and only because it is recorded.
    let verified = embedpack().arg("verify").arg(&bundle).output().unwrap();
    assert!(verified.status.success(), "{}", stdout(&verified));
    let mut manifest = manifest;
    manifest["requires"]["host_libs"] = serde_json::json!([]);
    let text = serde_json::to_string_pretty(&manifest).unwrap();
    std::fs::write(bundle.join("MANIFEST.json"), text).unwrap();
    let unverified = embedpack().arg("verify").arg(&bundle).output().unwrap();
    assert!(
        stdout(&unverified).contains("needs `libsqlite3.so.0`"),
        "{}",
        stdout(&unverified)
    );
}

#[test]
fn verify_accepts_the_numpy_and_lxml_bundle() {
    let output = embedpack()
        .arg("verify")
        .arg(closure_bundle())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}

#[test]
fn include_lib_is_found_by_ctypes_and_cffi_dlopen() {
    let dir = workdir("closure-include-src");
    let greetdep = dir.join("libgreetdep.so.1");
    cc(
        &greetdep,
        &[fixture("closure/greetdep.c")],
        &["-shared", "-Wl,-soname,libgreetdep.so.1"],
    );
    let greet = dir.join("libgreet.so.1");
    cc(
        &greet,
        &[fixture("closure/greet.c"), greetdep.clone()],
        &["-shared", "-Wl,-soname,libgreet.so.1", "-Wl,-rpath,$ORIGIN"],
    );
    let (bundle, output) = sentinel_with(
        "closure-include-lib",
        &["--include-lib".as_ref(), greet.as_os_str()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let lib = names_in(&bundle.join("lib"));
    assert!(lib.contains("libgreet.so.1"), "{lib:?}");
    assert!(lib.iter().any(|n| n.starts_with("libgreetdep-")), "{lib:?}");

    let root = root_with("closure-include-lib-root", &bundle);
    let names = ["libgreet.so.1", "libgreetdep.so.1"]
        .map(String::from)
        .into();
    wrong_libraries(&root.join("wrong"), &names);
    let by_ctypes = "__import__('ctypes').CDLL('libgreet.so.1').greet()";
    let by_cffi = "(lambda f: f.cdef('int greet(void);') or f.dlopen('libgreet.so.1').greet())\
                   (__import__('cffi').FFI())";
    let env = [("LD_LIBRARY_PATH", "/wrong")];
    let output = in_chroot(
        &root,
        "/opt/sentinel/libsentinel.so",
        &env,
        &[by_ctypes, by_cffi],
    );
    assert_eq!(stdout(&output), "42\n42\n", "stderr:\n{}", stderr(&output));
}

#[test]
fn same_soname_from_two_places_is_vendored_twice() {
    let src = workdir("closure-two-places-src");
    let natives = src.join("natives");
    let map = format!("-Wl,--version-script={}", fixture("elf/dep.map").display());
    for (place, value) in [("one", "7"), ("two", "8")] {
        // `libdep.so.1` is a symlink to the real file, as installed.
        let dir = src.join(place);
        std::fs::create_dir_all(&dir).unwrap();
        let real = dir.join("libdep.so.1.0.0");
        let define = format!("-DDEP_VALUE={value}");
        cc(
            &real,
            &[fixture("elf/dep.c")],
            &["-shared", "-Wl,-soname,libdep.so.1", &map, &define],
        );
        std::os::unix::fs::symlink("libdep.so.1.0.0", dir.join("libdep.so.1")).unwrap();
        std::fs::create_dir_all(natives.join(place)).unwrap();
        let user = natives.join(place).join("libuser.so");
        let rpath = format!("-Wl,-rpath,{}", dir.display());
        cc(
            &user,
            &[fixture("elf/user.c"), real.clone()],
            &["-shared", &rpath],
        );
    }
    let (bundle, output) = sentinel_with(
        "closure-two-places",
        &["--app".as_ref(), natives.as_os_str()],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let deps: Vec<String> = names_in(&bundle.join("lib"))
        .into_iter()
        .filter(|n| n.starts_with("libdep-"))
        .collect();
    assert_eq!(deps.len(), 2, "{deps:?}");
    let output = run_ok(
        Command::new(elf_loader())
            .arg(bundle.join("app/one/libuser.so"))
            .arg("user_value")
            .arg(bundle.join("app/two/libuser.so"))
            .arg("user_value"),
    );
    assert_eq!(stdout(&output), "42\n48\n");
}
