//! Reproducible bundles: the same inputs give the same bytes wherever the
//! project and the venv sit, whatever the file times, umask and time
//! zone — their SBOM too; `embedpack verify` accepts them and names every
//! tampered file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use sha2::Digest;

use crate::support::*;

/// A second venv made separately with the same pins, by another
/// installer: uv, whose `INSTALLER` and `RECORD` differ from pip's.
fn twin_venv() -> PathBuf {
    named_venv("uv")
}

/// Copies the sentinel fixture to `dir`, stamping every file with `date`.
fn project_copy(dir: &Path, date: &str) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    copy_tree(
        &repo().join("tests/fixtures/sentinel"),
        &dir.join("project"),
    );
    run_ok(
        Command::new("find")
            .arg(dir)
            .args(["-exec", "touch", "-h", "-d", date, "{}", "+"]),
    );
    dir.join("project")
}

/// Builds the project at `project` with `venv` into `out`, under `umask`
/// and time zone `tz`, from a working directory of its own.
fn build_with(project: &Path, venv: &Path, out: &Path, umask: &str, tz: &str) {
    let script = format!(
        "umask {umask} && exec \"$0\" build \"$1/build_sentinel.py\" --venv \"$2\" --app \"$1/app\" -o \"$3\" -q --no-cache"
    );
    run_ok(
        Command::new("sh")
            .args(["-c", &script])
            .arg(env!("CARGO_BIN_EXE_embedpack"))
            .arg(project)
            .arg(venv)
            .arg(out)
            .env("TZ", tz)
            .env_remove("SOURCE_DATE_EPOCH")
            .current_dir(project.parent().unwrap()),
    );
}

/// Two builds of the same project from different places: (first, second)
/// output folders, each holding `sentinel`, `sentinel.zip` and
/// `sentinel.tar.gz`.
fn twin_builds() -> &'static (PathBuf, PathBuf) {
    static BUILDS: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    BUILDS.get_or_init(|| {
        let dir = workdir("reproducible");
        let first = project_copy(&dir.join("first"), "2001-02-03 04:05:06");
        let second = project_copy(&dir.join("second/nested deeper"), "2023-12-31 23:59:58");
        let (out1, out2) = (dir.join("out1"), dir.join("out2"));
        for name in ["sentinel", "sentinel.zip", "sentinel.tar.gz"] {
            build_with(&first, &venv(), &out1.join(name), "022", "UTC");
            build_with(
                &second,
                &twin_venv(),
                &out2.join(name),
                "077",
                "Asia/Kolkata",
            );
        }
        (out1, out2)
    })
}

#[test]
fn same_inputs_from_two_places_give_identical_archives() {
    let (first, second) = twin_builds();
    for name in ["sentinel.zip", "sentinel.tar.gz"] {
        let a = std::fs::read(first.join(name)).unwrap();
        let b = std::fs::read(second.join(name)).unwrap();
        assert!(a == b, "{name} differs between the two builds");
    }
    let manifest =
        |dir: &Path| std::fs::read_to_string(dir.join("sentinel/MANIFEST.json")).unwrap();
    assert_eq!(manifest(first), manifest(second));
    let sbom = |dir: &Path| std::fs::read(dir.join("sentinel/sbom.cdx.json")).unwrap();
    assert!(
        sbom(first) == sbom(second),
        "sbom.cdx.json differs between the two builds"
    );
}

#[test]
fn manifest_names_no_build_machine_path_and_lists_what_ships() {
    let (first, _) = twin_builds();
    let text = std::fs::read_to_string(first.join("sentinel/MANIFEST.json")).unwrap();
    // The project, temporary folders, the home folder and the folder of
    // the venv's Python.
    let mut private = vec![
        repo().display().to_string(),
        "/tmp/".to_string(),
        format!("{}/", python().base_prefix.display()),
    ];
    private.extend(std::env::var("HOME").map(|home| format!("{home}/")));
    for private in private {
        assert!(!text.contains(&private), "the manifest holds `{private}`");
    }
    let manifest: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        manifest["python"]["version"].as_str().unwrap()[..5],
        *"3.11."
    );
    let cc = stdout(&run_ok(Command::new("cc").arg("--version")));
    assert_eq!(
        manifest["compiler"].as_str().unwrap(),
        cc.lines().next().unwrap().trim()
    );
    let distributions = manifest["distributions"].to_string().to_lowercase();
    assert!(
        distributions.contains("\"name\":\"markupsafe\",\"version\":\"3.0.2\""),
        "{distributions}"
    );
    assert!(
        distributions.contains("\"name\":\"cffi\",\"version\":\"2.0.0\""),
        "{distributions}"
    );
    let file = &manifest["files"].as_array().unwrap()[0];
    assert!(
        file["sha256"].as_str().unwrap().len() == 64
            && file["mode"].is_number()
            && file["size"].is_number()
    );
}

#[test]
fn archives_hold_one_top_folder_with_normalized_entries() {
    let (first, _) = twin_builds();
    let listing = run_ok(
        Command::new("tar")
            .arg("-tvzf")
            .arg(first.join("sentinel.tar.gz")),
    );
    for line in stdout(&listing).lines() {
        assert!(
            line.contains(" root/root ") || line.contains(" 0/0 "),
            "owner not normalized: {line}"
        );
        assert!(line.contains(" 1980-01-01 "), "time not normalized: {line}");
        let name = line.split_whitespace().last().unwrap();
        assert!(
            name.starts_with("sentinel/"),
            "{name} is outside the top folder"
        );
        assert!(
            line.starts_with("-rw-r--r--") || line.starts_with("-rwxr-xr-x"),
            "{line}"
        );
    }
    let unzip = run_ok(
        Command::new(&python().path)
            .args([
                "-c",
                "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
            ])
            .arg(first.join("sentinel.zip")),
    );
    assert!(stdout(&unzip).lines().all(|n| n.starts_with("sentinel/")));
    assert!(stdout(&unzip).contains("sentinel/libsentinel.so\n"));
}

#[test]
fn bundle_carries_hash_based_bytecode_with_bundle_paths() {
    let (first, _) = twin_builds();
    let pyc = first.join("sentinel/app/sentinel_app/__pycache__/checks.cpython-311.pyc");
    let bytes = std::fs::read(&pyc).unwrap();
    // PEP 552 flags word: 0b01 = hash-based, unchecked.
    assert_eq!(u32::from_le_bytes(bytes[4..8].try_into().unwrap()), 0b01);
    let text = String::from_utf8_lossy(&bytes);
    assert!(
        text.contains("app/sentinel_app/checks.py")
            && !text.contains(&repo().display().to_string())
    );
}

#[test]
fn source_date_epoch_sets_every_timestamp() {
    let dir = workdir("sde");
    let out = dir.join("s.tar.gz");
    let fixture = repo().join("tests/fixtures/sentinel");
    run_ok(
        embedpack()
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .arg("build")
            .arg(fixture.join("build_sentinel.py"))
            .args([
                "--venv".as_ref(),
                venv().as_os_str(),
                "--app".as_ref(),
                fixture.join("app").as_os_str(),
            ])
            .args(["--no-bytecode", "-q", "-o"])
            .arg(&out),
    );
    let listing = run_ok(
        Command::new("tar")
            .args(["--full-time", "-tvzf"])
            .arg(&out)
            .env("TZ", "UTC"),
    );
    assert!(
        stdout(&listing)
            .lines()
            .all(|l| l.contains(" 2023-11-14 22:13:20 ")),
        "{}",
        stdout(&listing)
    );
    assert!(
        !stdout(&listing).contains(".pyc"),
        "--no-bytecode still compiled bytecode"
    );
    let sbom = run_ok(
        Command::new("tar")
            .arg("-xzOf")
            .arg(&out)
            .arg("s/sbom.cdx.json"),
    );
    let sbom: serde_json::Value = serde_json::from_slice(&sbom.stdout).unwrap();
    assert_eq!(sbom["metadata"]["timestamp"], "2023-11-14T22:13:20Z");
}

fn verify(bundle: &Path) -> std::process::Output {
    embedpack().arg("verify").arg(bundle).output().unwrap()
}

#[test]
fn verify_accepts_both_builds_in_every_format() {
    let (first, second) = twin_builds();
    for dir in [first, second] {
        for name in ["sentinel", "sentinel.zip", "sentinel.tar.gz"] {
            let output = verify(&dir.join(name));
            assert!(
                output.status.success(),
                "{name}: {}{}",
                stdout(&output),
                stderr(&output)
            );
            assert!(stdout(&output).contains("files match the manifest"));
        }
    }
}

#[test]
fn verify_names_every_tampered_file() {
    let dir = workdir("tampered");
    let bundle = dir.join("bundle");
    copy_tree(&twin_builds().0.join("sentinel"), &bundle);
    let flipped = bundle.join("app/sentinel_app/checks.py");
    let mut bytes = std::fs::read(&flipped).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&flipped, bytes).unwrap();
    std::fs::remove_file(bundle.join("site-packages/markupsafe/__init__.py")).unwrap();
    std::fs::write(bundle.join("app/extra.py"), "").unwrap();
    run_ok(
        Command::new("chmod")
            .arg("755")
            .arg(bundle.join("include/sentinel.h")),
    );
    let output = verify(&bundle);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    for expected in [
        "app/sentinel_app/checks.py: changed",
        "site-packages/markupsafe/__init__.py: missing",
        "app/extra.py: extra",
        "include/sentinel.h: mode",
    ] {
        assert!(report.contains(expected), "`{expected}` not in:\n{report}");
    }
    let json = run_ok_or_fail_json(&bundle);
    assert_eq!(json["ok"], false);
    assert_eq!(json["problems"].as_array().unwrap().len(), 4, "{json}");
}

fn run_ok_or_fail_json(bundle: &Path) -> serde_json::Value {
    let output = embedpack()
        .args(["verify", "--json"])
        .arg(bundle)
        .output()
        .unwrap();
    serde_json::from_slice(&output.stdout).unwrap()
}

#[test]
fn verify_refuses_archive_entries_that_escape() {
    let dir = workdir("escape");
    let archive = dir.join("evil.tar.gz");
    let make = "import io, sys, tarfile\n\
                with tarfile.open(sys.argv[1], 'w:gz') as t:\n\
                \x20   for name in ('evil/MANIFEST.json', 'evil/../../escaped.txt'):\n\
                \x20       data = b'{}'\n\
                \x20       info = tarfile.TarInfo(name); info.size = len(data)\n\
                \x20       t.addfile(info, io.BytesIO(data))\n";
    run_ok(
        Command::new(&python().path)
            .args(["-c", make])
            .arg(&archive),
    );
    let output = verify(&archive);
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("would not stay inside the bundle"), "{err}");
    assert!(err.contains("\nhint: do not unpack it"), "{err}");
    assert!(
        stdout(&output).contains("would be written outside the bundle"),
        "{}",
        stdout(&output)
    );
    // Tools get their answer on stdout.
    let json = run_ok_or_fail_json(&archive);
    assert_eq!(json["ok"], false, "{json}");
    assert_eq!(json["problems"][0]["problem"], "unsafe", "{json}");
    assert_eq!(json["problems"][0]["path"], "evil/../../escaped.txt");
    assert!(!dir.parent().unwrap().join("escaped.txt").exists());
    // And when verify cannot answer at all.
    let json = run_ok_or_fail_json(&dir.join("nothing-here"));
    assert_eq!(json["ok"], false, "{json}");
    assert!(json["hint"].is_string(), "{json}");
}

/// An archive whose entry inflates to far more than the manifest says
/// its file holds: verify reads one byte past the listed size and stops,
/// so a compression bomb costs neither memory nor time. Run with less
/// address space than the entry would fill.
#[test]
fn verify_reads_no_entry_past_its_listed_size() {
    let dir = workdir("bomb");
    let make = "import io, json, sys, tarfile, zipfile\n\
                out, top = sys.argv[1], 'bomb'\n\
                manifest = json.dumps({'embedpack': '0.1.0', 'module': 'bomb',\n\
                \x20   'python': {'implementation': 'cpython', 'version': '3.11.7',\n\
                \x20              'soabi': None, 'libpython': 'libpython3.11.so.1.0'},\n\
                \x20   'compiler': 'cc', 'distributions': [],\n\
                \x20   'files': [{'path': 'zeros', 'size': 5, 'mode': 420, 'sha256': '0' * 64}]}).encode()\n\
                chunk, chunks = bytes(1 << 20), 640\n\
                with zipfile.ZipFile(out + '.zip', 'w', zipfile.ZIP_DEFLATED, compresslevel=1) as z:\n\
                \x20   z.writestr(top + '/MANIFEST.json', manifest)\n\
                \x20   with z.open(top + '/zeros', 'w', force_zip64=True) as f:\n\
                \x20       for _ in range(chunks): f.write(chunk)\n\
                with tarfile.open(out + '.tar.gz', 'w:gz', compresslevel=1) as t:\n\
                \x20   info = tarfile.TarInfo(top + '/MANIFEST.json'); info.size = len(manifest)\n\
                \x20   t.addfile(info, io.BytesIO(manifest))\n\
                \x20   info = tarfile.TarInfo(top + '/zeros'); info.size = len(chunk) * chunks\n\
                \x20   t.addfile(info, open('/dev/zero', 'rb'))\n";
    run_ok(
        Command::new(&python().path)
            .args(["-c", make])
            .arg(dir.join("bomb")),
    );
    for archive in ["bomb.zip", "bomb.tar.gz"] {
        let output = Command::new("prlimit")
            .arg(format!("--as={}", 256 << 20))
            .arg(env!("CARGO_BIN_EXE_embedpack"))
            .args(["verify", "--json"])
            .arg(dir.join(archive))
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(1),
            "{archive}: {}",
            stderr(&output)
        );
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        assert_eq!(json["problems"][0]["path"], "zeros", "{json}");
        assert_eq!(json["problems"][0]["problem"], "changed", "{json}");
        let detail = json["problems"][0]["detail"].as_str().unwrap();
        assert!(detail.starts_with("more than 5 bytes"), "{detail}");
    }
}

#[test]
fn verify_names_an_elf_dependency_the_bundle_lost() {
    let dir = workdir("lost-library");
    let bundle = dir.join("bundle");
    copy_tree(&twin_builds().0.join("sentinel"), &bundle);
    let libssl = std::fs::read_dir(bundle.join("lib"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("libssl-")
        })
        .expect("the closure vendors libssl for the ssl module");
    let soname = libssl.file_name().unwrap().to_string_lossy().into_owned();
    std::fs::remove_file(&libssl).unwrap();
    let output = verify(&bundle);
    assert_eq!(output.status.code(), Some(1));
    let report = stdout(&output);
    assert!(
        report.contains(&format!("lib/{soname}: missing")),
        "{report}"
    );
    let unresolved = report
        .lines()
        .find(|l| l.contains(": unresolved: ") && l.contains(&format!("needs `{soname}`")))
        .unwrap_or_else(|| panic!("no unresolved dependency reported:\n{report}"));
    assert!(
        unresolved.starts_with("python/lib/python3.11/lib-dynload/_ssl."),
        "{unresolved}"
    );
}

/// The bytecode cache: a build that fills it and one that reads it give
/// the bytes a build without it gives; an entry is used as it stands (one
/// changed byte of a valid entry shows in one `.pyc` of the bundle), and
/// a damaged one is compiled again and replaced.
#[test]
fn bytecode_cache_gives_what_compiling_gives() {
    let dir = workdir("bytecode-cache");
    let cache = dir.join("cache");
    let build = |out: &str, cached: bool| -> serde_json::Value {
        let mut command = sentinel_command(&venv(), &dir.join(out));
        command.env("EMBEDPACK_CACHE_DIR", &cache).arg("-q");
        if !cached {
            command.arg("--no-cache");
        }
        run_ok(&mut command);
        let text = std::fs::read(dir.join(out).join("MANIFEST.json")).unwrap();
        serde_json::from_slice(&text).unwrap()
    };
    let fresh = build("fresh", false);
    assert!(!cache.exists(), "--no-cache wrote a cache");
    assert_eq!(build("filling", true), fresh);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(&cache)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    assert_eq!(entries.len(), 4, "one entry per compiler run: {entries:?}");
    assert_eq!(build("hit", true), fresh);

    // A valid entry with one byte changed: the last byte of its last .pyc.
    let entry = &entries[0];
    let stored = std::fs::read(entry).unwrap();
    let mut content = stored[..stored.len() - 32].to_vec();
    *content.last_mut().unwrap() ^= 0x20;
    let trailer = sha2::Sha256::digest(&content);
    std::fs::write(entry, [content.as_slice(), trailer.as_slice()].concat()).unwrap();
    let tampered = build("tampered", true);
    let differing: Vec<_> = fresh["files"]
        .as_array()
        .unwrap()
        .iter()
        .zip(tampered["files"].as_array().unwrap())
        .filter(|(a, b)| a != b)
        .map(|(a, _)| a["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        differing.len() == 1 && differing[0].ends_with(".pyc"),
        "{differing:?}"
    );

    // The same entry damaged: not used, compiled again, put right.
    let mut damaged = std::fs::read(entry).unwrap();
    damaged[10] ^= 1;
    std::fs::write(entry, &damaged).unwrap();
    assert_eq!(build("damaged", true), fresh);
    assert_eq!(std::fs::read(entry).unwrap(), stored);
}
