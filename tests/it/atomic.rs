//! A failed or interrupted build leaves the previous bundle exactly as it
//! was — a full disk, Ctrl-C, `kill -9` — and the next run removes what
//! the interrupted one left behind.

use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::*;

fn build_command(out: &Path, extra: &[&str]) -> Command {
    let mut command = sentinel_command(&venv(), out);
    command.args(extra);
    command
}

fn manifest_of(bundle: &Path) -> String {
    std::fs::read_to_string(bundle.join("MANIFEST.json")).unwrap()
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".embedpack-"))
        .collect()
}

fn assert_verifies(bundle: &Path) {
    let output = embedpack().arg("verify").arg(bundle).output().unwrap();
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
}

/// Unmounts the small filesystem even when the test fails.
struct Mount(std::path::PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn full_disk_keeps_the_previous_bundle() {
    let dir = workdir("full-disk");
    let mount = Mount(dir.join("small"));
    std::fs::create_dir_all(&mount.0).unwrap();
    run_ok(
        Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=200m", "tmpfs"])
            .arg(&mount.0),
    );
    let out = mount.0.join("bundle");
    // The first bundle fits; then the disk is made 10 MiB larger than
    // what it holds, so that the second (with bytecode, and another time
    // on every file, so that it shares none) cannot fit beside it.
    run_ok(&mut build_command(&out, &["--no-bytecode", "-q"]));
    let used = stdout(&run_ok(
        Command::new("df")
            .args(["--output=used", "-B1"])
            .arg(&mount.0),
    ))
    .lines()
    .last()
    .and_then(|l| l.trim().parse::<u64>().ok())
    .unwrap();
    run_ok(
        Command::new("mount")
            .args(["-o", &format!("remount,size={}", used + (10 << 20))])
            .arg(&mount.0),
    );
    let before = manifest_of(&out);
    let output = build_command(&out, &[])
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let err = stderr(&output);
    assert!(
        err.contains("error: cannot write") && err.contains("No space left on device"),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error: ")).count(),
        1,
        "{err}"
    );
    assert_eq!(manifest_of(&out), before);
    assert_verifies(&out);
    assert!(leftovers(&mount.0).is_empty(), "{:?}", leftovers(&mount.0));
}

/// Sends `signal` to a build while it writes files into its staging
/// folder.  Writing takes a fraction of a second, so an attempt whose
/// build finished first is made again.
fn interrupt_while_writing(signal: &str) {
    let dir = workdir(&format!("signal-{signal}"));
    let out = dir.join("bundle");
    run_ok(&mut build_command(&out, &["--no-bytecode", "-q"]));
    // A build that finished before the signal replaced the bundle: the
    // bundle to keep is the one there before the attempt that was cut.
    let mut before = None;
    for _ in 0..5 {
        let current = manifest_of(&out);
        if try_interrupt(&dir, &out, signal) {
            before = Some(current);
            break;
        }
    }
    let before = before.expect("no build could be interrupted while writing");
    assert_eq!(manifest_of(&out), before, "the previous bundle changed");
    assert_verifies(&out);
    // The next run cleans up what the interrupted one left.
    run_ok(&mut build_command(&out, &["--no-bytecode", "-q"]));
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    assert_verifies(&out);
}

/// One attempt: whether the signal reached the build mid-write.
fn try_interrupt(dir: &Path, out: &Path, signal: &str) -> bool {
    let mut command = build_command(out, &["-q"]);
    // A shell that starts the tests in the background, without job
    // control, leaves SIGINT ignored, and children inherit that: give the
    // build the default disposition a Ctrl-C at a terminal meets.
    // SAFETY: signal() is async-signal-safe, as pre_exec requires.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    // Mid-write: the staging folder exists and already holds files.
    let writing = |dir: &Path| {
        leftovers(dir)
            .iter()
            .any(|name| dir.join(name).join("lib").exists())
    };
    while !writing(dir) {
        if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let killed = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(child.id().to_string())
        .status()
        .unwrap()
        .success();
    let status = child.wait().unwrap();
    killed && !status.success()
}

#[test]
fn ctrl_c_while_writing_keeps_the_previous_bundle() {
    interrupt_while_writing("INT");
}

#[test]
fn kill_9_while_writing_keeps_the_previous_bundle() {
    interrupt_while_writing("KILL");
}

#[test]
fn archive_replaces_only_an_archive_embedpack_wrote() {
    let dir = workdir("archive-replace");
    let out = dir.join("bundle.zip");
    std::fs::write(&out, "not a bundle").unwrap();
    let output = build_command(&out, &["--no-bytecode", "-q"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("is not a bundle embedpack wrote"),
        "{}",
        stderr(&output)
    );
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "not a bundle");
    run_ok(&mut build_command(
        &out,
        &["--no-bytecode", "-q", "--force"],
    ));
    assert_verifies(&out);
    run_ok(&mut build_command(&out, &["--no-bytecode", "-q"]));
    assert_verifies(&out);
    assert!(leftovers(&dir).is_empty());
}

/// The scratch folders in `temp`.
fn scratch_folders(temp: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(temp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("embedpack-"))
        .collect();
    names.sort();
    names
}

/// `kill -9` while the build script runs leaves its scratch folder in
/// the temporary directory; the next run removes it, and leaves alone a
/// folder whose lock a live process holds (`flock`) and one with no lock
/// file (not one of ours).
#[test]
fn kill_9_during_the_build_leaves_scratch_that_the_next_run_removes() {
    let dir = workdir("scratch-leftovers");
    let temp = dir.join("tmp");
    std::fs::create_dir_all(temp.join("embedpack-build-unlocked")).unwrap();
    let held = temp.join("embedpack-build-held");
    std::fs::create_dir_all(&held).unwrap();
    let mut holder = Command::new("flock")
        .arg(held.join(".embedpack-lock"))
        .args(["sleep", "600"])
        .spawn()
        .unwrap();
    let out = dir.join("bundle");
    let mut child = build_command(&out, &["-q"])
        .env("TMPDIR", &temp)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    // The build script has run once the scratch folder holds its C source.
    let started = || {
        scratch_folders(&temp)
            .iter()
            .any(|n| n.starts_with("embedpack-build-") && temp.join(n).join("sentinel.c").exists())
    };
    while !started() {
        assert!(child.try_wait().unwrap().is_none(), "the build ended first");
        assert!(Instant::now() < deadline, "no scratch folder appeared");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let left = scratch_folders(&temp);
    assert_eq!(left.len(), 3, "{left:?}");
    run_ok(build_command(&out, &["--no-bytecode", "-q"]).env("TMPDIR", &temp));
    let left = scratch_folders(&temp);
    holder.kill().unwrap();
    holder.wait().unwrap();
    assert_eq!(left, ["embedpack-build-held", "embedpack-build-unlocked"]);
    assert_verifies(&out);
}

#[test]
fn a_repack_shares_the_files_that_did_not_change_and_writes_the_others() {
    use std::os::unix::fs::MetadataExt;
    let dir = workdir("repack-shares");
    let out = dir.join("bundle");
    run_ok(&mut build_command(&out, &["-q"]));
    let manifest: serde_json::Value = serde_json::from_str(&manifest_of(&out)).unwrap();
    let sources: Vec<String> = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .filter(|p| p.ends_with(".py"))
        .collect();
    let (kept, damaged) = (out.join(&sources[0]), out.join(&sources[1]));
    let inode = |path: &Path| std::fs::metadata(path).unwrap().ino();
    let (kept_inode, damaged_inode) = (inode(&kept), inode(&damaged));
    // A byte changed in the previous bundle, its time put back: only its
    // bytes tell it from the file the plan makes.
    let time = std::fs::metadata(&damaged).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&damaged).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&damaged, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&damaged)
        .unwrap()
        .set_modified(time)
        .unwrap();

    run_ok(&mut build_command(&out, &["-q"]));
    assert_eq!(inode(&kept), kept_inode, "an unchanged file is shared");
    assert_eq!(std::fs::metadata(&kept).unwrap().nlink(), 1);
    assert_ne!(inode(&damaged), damaged_inode, "a changed file is written");
    assert_ne!(std::fs::read(&damaged).unwrap(), bytes);
    assert_verifies(&out);
    assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
}
