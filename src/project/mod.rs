//! The project a build script belongs to, as setuptools sees it: the
//! nearest folder at or above the script holding `pyproject.toml`,
//! `setup.py` or `setup.cfg` (else the script's own folder).  The script
//! runs from there, and the relative paths it gives `set_source()`
//! (`sources`, `include_dirs`, `library_dirs`, `extra_objects`) are read
//! from there, as `pip wheel .` reads them.

use std::path::{Path, PathBuf};

/// The files that make a folder a Python project's top folder.
pub const MARKERS: [&str; 3] = ["pyproject.toml", "setup.py", "setup.cfg"];

/// The nearest folder from `start` up that holds one of [`MARKERS`].
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| MARKERS.iter().any(|marker| dir.join(marker).is_file()))
        .map(Path::to_path_buf)
}

/// The folder the build script in `script_dir` runs from: its project's
/// top folder, else its own.
pub fn root_of_script(script_dir: &Path) -> PathBuf {
    find_root(script_dir).unwrap_or_else(|| script_dir.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_folder_with_a_project_file_is_the_root() {
        let top = tempfile::tempdir().unwrap();
        let script_dir = top.path().join("project/build_tools");
        std::fs::create_dir_all(&script_dir).unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
        for marker in MARKERS {
            let file = top.path().join("project").join(marker);
            std::fs::write(&file, "").unwrap();
            assert_eq!(root_of_script(&script_dir), top.path().join("project"));
            std::fs::remove_file(&file).unwrap();
        }
        // A folder named like a marker is not one.
        std::fs::create_dir(top.path().join("project/setup.py")).unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
        std::fs::write(script_dir.join("setup.cfg"), "").unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
    }
}
