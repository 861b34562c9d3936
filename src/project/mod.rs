//! The project a build script belongs to, as setuptools sees it: the
//! nearest folder at or above the script holding `setup.py`, `setup.cfg`
//! or a `pyproject.toml` of a project setuptools builds (or that has a
//! `[tool.embedpack]` table), else the script's own folder.  A project
//! another backend builds (maturin, hatchling) runs no `cffi_modules`: a
//! build script inside it is not read from its root.  The script
//! runs from there, and the relative paths it gives `set_source()`
//! (`sources`, `include_dirs`, `library_dirs`, `extra_objects`) are read
//! from there, as `pip wheel .` reads them.  Its `pyproject.toml` may give
//! embedpack's options in `[tool.embedpack]` (`config`); the build script,
//! when neither the command line nor that table names one, is the one
//! `cffi_modules` names (`cffi_modules`).

mod cffi_modules;
pub mod config;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

pub use config::Config;

use crate::fail;

/// A project: its root and what its `pyproject.toml` tells embedpack.
pub struct Project {
    pub root: PathBuf,
    /// `[tool.embedpack]`; the default when there is none.
    pub config: Config,
}

impl Project {
    /// The project whose top folder is `root`, its `pyproject.toml` read.
    pub fn open(root: PathBuf) -> Result<Project> {
        let file = root.join("pyproject.toml");
        let config = match file.is_file() {
            true => {
                let text = std::fs::read_to_string(&file)
                    .with_context(|| format!("cannot read `{}`", file.display()))?;
                config::parse(&text, &shown(&file))?
            }
            false => Config::default(),
        };
        Ok(Project { root, config })
    }

    /// The project the working directory is in (`embedpack build` with no
    /// build script).
    pub fn here() -> Result<Project> {
        let cwd = std::env::current_dir().context("cannot read the working directory")?;
        let root = find_root(&cwd).ok_or_else(|| {
            fail(
                format!(
                    "no build script given, and no {} in `{}` or above",
                    MARKERS.join(", "),
                    cwd.display()
                ),
                "give it: `embedpack build plugin_build.py`, or run embedpack in a project \
                 whose pyproject.toml names it (`script` in [tool.embedpack])",
            )
        })?;
        Project::open(root)
    }

    /// Its `pyproject.toml`, as messages show it.
    pub fn file(&self) -> String {
        shown(&self.root.join("pyproject.toml"))
    }

    /// `path` as `[tool.embedpack]` gives it: relative to the root.
    pub fn path(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }

    /// `BUILD_SCRIPT[:NAME]` with its path from the root: `script` in
    /// `[tool.embedpack]`, else the one entry of `cffi_modules`.
    pub fn script(&self) -> Result<String> {
        let entry = match &self.config.script {
            Some(script) => script.clone(),
            None => self.cffi_module()?,
        };
        Ok(self.path(Path::new(&entry)).display().to_string())
    }

    fn cffi_module(&self) -> Result<String> {
        let mut entries = cffi_modules::find(&self.root)?;
        let mut seen = std::collections::BTreeSet::new();
        entries.retain(|(_, entry)| seen.insert(entry.clone()));
        let pyproject = self.file();
        match entries.as_slice() {
            [(_, entry)] => Ok(entry.clone()),
            [] => Err(fail(
                format!(
                    "no build script given: `{pyproject}` has no `script` in [tool.embedpack], \
                     and no cffi_modules are listed in setup.py, setup.cfg or pyproject.toml \
                     of `{}`",
                    shown(&self.root)
                ),
                "give it: `embedpack build plugin_build.py`, or `script = \"PATH[:NAME]\"` \
                 in [tool.embedpack]",
            )),
            several => Err(fail(
                format!(
                    "no build script given, and the project lists several cffi_modules: {}",
                    several
                        .iter()
                        .map(|(file, entry)| format!("`{entry}` ({file})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                format!(
                    "choose one: `embedpack build {}`, or `script` in [tool.embedpack] of \
                     `{pyproject}`",
                    several[0].1
                ),
            )),
        }
    }
}

/// The files that make a folder a Python project's top folder.
pub const MARKERS: [&str; 3] = ["pyproject.toml", "setup.py", "setup.cfg"];

/// The nearest folder from `start` up that is a project's root.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| is_root(dir))
        .map(Path::to_path_buf)
}

/// Whether `dir` holds `setup.py`, `setup.cfg`, or a `pyproject.toml`
/// with `[tool.embedpack]` or built by setuptools (the default of a
/// `pyproject.toml` that names no backend).  One that does not parse
/// counts, so that reading it says what is wrong.
fn is_root(dir: &Path) -> bool {
    if ["setup.py", "setup.cfg"]
        .iter()
        .any(|m| dir.join(m).is_file())
    {
        return true;
    }
    let file = dir.join("pyproject.toml");
    if !file.is_file() {
        return false;
    }
    let Ok(table) = std::fs::read_to_string(&file)
        .map_err(|_| ())
        .and_then(|text| text.parse::<toml::Table>().map_err(|_| ()))
    else {
        return true;
    };
    let embedpack = table
        .get("tool")
        .and_then(|tool| tool.get("embedpack"))
        .is_some();
    let backend = table
        .get("build-system")
        .and_then(|system| system.get("build-backend"))
        .and_then(|backend| backend.as_str());
    embedpack || backend.is_none_or(|b| b.starts_with("setuptools"))
}

/// The folder the build script in `script_dir` runs from: its project's
/// top folder, else its own.
pub fn root_of_script(script_dir: &Path) -> PathBuf {
    find_root(script_dir).unwrap_or_else(|| script_dir.to_path_buf())
}

/// `path` as messages show it: relative to the working directory when
/// it lies inside it.
pub fn shown(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_default();
    match path.strip_prefix(&cwd) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
        Ok(relative) => relative.display().to_string(),
        Err(_) => path.display().to_string(),
    }
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
        // A project another backend builds is not one, unless it has
        // [tool.embedpack].
        let pyproject = top.path().join("project/pyproject.toml");
        std::fs::write(&pyproject, "[build-system]\nbuild-backend = \"maturin\"\n").unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
        std::fs::write(
            &pyproject,
            "[build-system]\nbuild-backend = \"hatchling.build\"\n[tool.embedpack]\n",
        )
        .unwrap();
        assert_eq!(root_of_script(&script_dir), top.path().join("project"));
        std::fs::remove_file(&pyproject).unwrap();
        // A folder named like a marker is not one.
        std::fs::create_dir(top.path().join("project/setup.py")).unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
        std::fs::write(script_dir.join("setup.cfg"), "").unwrap();
        assert_eq!(root_of_script(&script_dir), script_dir);
    }
}
