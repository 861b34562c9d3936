//! Scratch folders: where a build runs the user's script and compiles,
//! in the temporary directory.  Each is removed when its run ends; one
//! that a crash, a Ctrl-C or `kill -9` left behind is removed by a later
//! run.  A folder is known to be abandoned by its lock file: its run holds
//! an exclusive `flock` on it from before the folder gets its name to its
//! end, and the kernel releases the lock when the process dies, however it
//! dies.  A folder without such a lock file is never touched.

use std::fs::File;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// Every scratch folder's name starts with this.
const PREFIX: &str = "embedpack-";
/// A scratch folder being made, before it is locked and named.
const NEW_PREFIX: &str = ".embedpack-new-";
/// The lock file inside each scratch folder.
const LOCK: &str = ".embedpack-lock";

/// A scratch folder, removed when dropped.
#[derive(Debug)]
pub struct Scratch {
    path: PathBuf,
    /// Holds the lock while the folder is in use.
    _lock: File,
}

impl Scratch {
    /// A new folder `embedpack-<what>-XXXXXX` in the temporary directory,
    /// after removing the abandoned ones there.
    pub fn new(what: &str) -> Result<Scratch> {
        let temp = std::env::temp_dir();
        remove_abandoned(&temp);
        let new = tempfile::Builder::new()
            .prefix(NEW_PREFIX)
            .tempdir_in(&temp)
            .with_context(|| {
                format!(
                    "cannot create a temporary directory in `{}`",
                    temp.display()
                )
            })?;
        let lock = File::create(new.path().join(LOCK))
            .with_context(|| format!("cannot create `{}`", new.path().join(LOCK).display()))?;
        flock(&lock, libc::LOCK_EX).context("cannot lock a temporary directory")?;
        let suffix = new.path().file_name().unwrap_or_default().to_string_lossy();
        let suffix = suffix.trim_start_matches(NEW_PREFIX);
        let path = temp.join(format!("{PREFIX}{what}-{suffix}"));
        std::fs::rename(new.path(), &path)
            .with_context(|| format!("cannot create `{}`", path.display()))?;
        // Renamed: the old path is gone, and dropping `new` finds nothing.
        Ok(Scratch { path, _lock: lock })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Removes every scratch folder in `temp` whose lock no process holds.
fn remove_abandoned(temp: &Path) {
    let Ok(entries) = std::fs::read_dir(temp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !(name.starts_with(PREFIX) || name.starts_with(NEW_PREFIX)) {
            continue;
        }
        let dir = entry.path();
        if is_abandoned(&dir) {
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}

/// Whether `dir` is a scratch folder whose run has ended: it holds a lock
/// file that can be locked now.  (The lock taken here goes with the file.)
fn is_abandoned(dir: &Path) -> bool {
    let is_dir = std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir());
    let Ok(lock) = File::open(dir.join(LOCK)) else {
        return false;
    };
    is_dir && flock(&lock, libc::LOCK_EX | libc::LOCK_NB).is_ok()
}

fn flock(file: &File, operation: libc::c_int) -> std::io::Result<()> {
    // SAFETY: the descriptor is open for as long as `file` lives.
    if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_folders_whose_lock_is_free_are_abandoned() {
        let temp = tempfile::tempdir().unwrap();
        let make = |name: &str, lock: bool| {
            let dir = temp.path().join(name);
            std::fs::create_dir(&dir).unwrap();
            lock.then(|| File::create(dir.join(LOCK)).unwrap())
        };
        let held = make("embedpack-build-held", true).unwrap();
        flock(&held, libc::LOCK_EX).unwrap();
        drop(make("embedpack-build-dead", true));
        drop(make("embedpack-build-unlocked-old", false));
        drop(make("other-dead", true));
        remove_abandoned(temp.path());
        let mut left: Vec<String> = std::fs::read_dir(temp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "embedpack-build-held",
                "embedpack-build-unlocked-old",
                "other-dead"
            ]
        );
    }
}
