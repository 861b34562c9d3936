//! The environment's site-packages: every site directory its interpreter
//! reads — the venv's own, then, with `include-system-site-packages =
//! true`, the base interpreter's — merged into the bundle's one
//! `site-packages` in `sys.path` order, so what the venv shadows stays
//! shadowed: a file the bundle already holds is not replaced, and a
//! distribution installed in an earlier directory is left out of later
//! ones.  The build tools (pip, setuptools, wheel) are left out unless
//! asked, and so is each `--exclude`d distribution, by the files its
//! metadata says it owns (see `dists`), and every package's test suite: a
//! folder named `tests` below a top-level folder, which only a test
//! runner imports (pandas' is a third of its files).  Files that no
//! distribution owns are carried as they are; `.pth` files and editable
//! installs as `editable` says.

mod dists;
mod editable;

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::{is_noise_dir, is_noise_file, walk_error, Files};
use crate::bundle::Layout;
use crate::fail;
use crate::resolve::Environment;

pub use dists::{normalize as normalize_name, record_paths};

/// Distributions that build and install, but never run in a bundle.
const BUILD_TOOLS: &[&str] = &["pip", "setuptools", "wheel"];

/// What to leave out of site-packages.
pub struct Selection<'a> {
    pub keep_build_tools: bool,
    pub keep_tests: bool,
    /// Distribution names, as the user typed them.
    pub exclude: &'a [String],
}

/// Collects site-packages into `files`: the top-level folders whose test
/// suites were left out, sorted.
pub fn collect(
    files: &mut Files,
    env: &Environment,
    layout: &Layout,
    selection: &Selection,
) -> Result<Vec<String>> {
    let excluded: BTreeSet<String> = selection
        .exclude
        .iter()
        .map(|n| dists::normalize(n))
        .collect();
    let mut installed = BTreeSet::new();
    let mut seen_dirs = BTreeSet::new();
    let mut tests = (!selection.keep_tests).then(BTreeSet::new);
    for dir in &env.info.site_dirs {
        let canonical = dir
            .canonicalize()
            .with_context(|| format!("cannot read `{}`", dir.display()))?;
        if !seen_dirs.insert(canonical) {
            continue; // lib64 -> lib
        }
        let dists = dists::read(dir)?;
        let left_out: Vec<&dists::Distribution> = dists
            .iter()
            .filter(|d| {
                excluded.contains(&d.name)
                    || installed.contains(&d.name)
                    || (!selection.keep_build_tools && BUILD_TOOLS.contains(&d.name.as_str()))
            })
            .collect();
        installed.extend(dists.iter().map(|d| d.name.clone()));
        let dir = SiteDir {
            path: dir,
            dists: &dists,
            left_out: &left_out,
        };
        collect_dir(files, env, &dir, &layout.site, tests.as_mut())?;
    }
    if let Some(unknown) = excluded.iter().find(|name| !installed.contains(*name)) {
        let names: Vec<&str> = installed.iter().map(String::as_str).collect();
        return Err(fail(
            format!(
                "`--exclude {unknown}` names no distribution installed in `{}`",
                env.venv.display()
            ),
            format!("installed: {}", names.join(", ")),
        ));
    }
    Ok(tests.unwrap_or_default().into_iter().collect())
}

/// A site directory, the distributions it holds and those left out.
struct SiteDir<'a> {
    path: &'a Path,
    dists: &'a [dists::Distribution],
    left_out: &'a [&'a dists::Distribution],
}

/// Whether the walk's `item` is a package's test suite, to be left out.
fn is_test_suite(item: &walkdir::DirEntry) -> bool {
    item.depth() >= 2 && item.file_type().is_dir() && item.file_name() == "tests"
}

/// One site directory: its files, then what its `.pth` files add, as
/// `site.addsitedir()` puts them on `sys.path`.  Unless `tests` is None,
/// test suites are left out and their top-level folders added to it.
fn collect_dir(
    files: &mut Files,
    env: &Environment,
    dir: &SiteDir,
    site: &Path,
    tests: Option<&mut BTreeSet<String>>,
) -> Result<()> {
    let SiteDir {
        path: dir,
        dists,
        left_out,
    } = *dir;
    let mut pth_files = Vec::new();
    let mut suites = BTreeSet::new();
    let walker = WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let what = format!("site-packages `{}`", dir.display());
    let keep = |e: &walkdir::DirEntry| {
        if is_noise_dir(&e.file_name().to_string_lossy()) {
            return false;
        }
        if tests.is_some() && is_test_suite(e) {
            let relative = e.path().strip_prefix(dir).unwrap_or(e.path());
            suites.extend(relative.iter().next().map(Path::new).map(Path::to_path_buf));
            return false;
        }
        true
    };
    for item in walker.filter_entry(keep) {
        let item = item.map_err(|e| walk_error(e, &what))?;
        super::check_regular(&item, &what)?;
        let relative = item.path().strip_prefix(dir).unwrap_or(item.path());
        let name = item.file_name().to_string_lossy();
        if !item.file_type().is_file()
            || is_noise_file(&name)
            || left_out.iter().any(|d| d.owns(relative))
            || env.info.editable_finders.contains_key(item.path())
        {
            continue;
        }
        if item.depth() == 1 && name.ends_with(".pth") {
            pth_files.push(relative.to_path_buf());
        } else if item.depth() == 1 && name.ends_with(".egg-link") {
            // `setup.py develop`'s pointer to its source tree, which is
            // carried through easy-install.pth instead.
        } else {
            files.add_unless_taken(&site.join(relative), item.path())?;
        }
    }
    // Only the suites of packages the bundle holds are worth naming: a
    // left-out distribution's are not.
    if let Some(tests) = tests {
        let held = suites
            .iter()
            .filter(|top| files.holds_below(&site.join(top)));
        tests.extend(held.map(|top| top.to_string_lossy().into_owned()));
    }
    for relative in &pth_files {
        let pth = editable::Pth {
            site_dir: dir,
            relative,
            owner: dists.iter().find(|d| d.owns(relative)),
        };
        editable::carry(files, &pth, &env.info.editable_finders, site)?;
    }
    Ok(())
}

impl Files {
    /// Adds `source` at `dest` unless a site directory earlier on
    /// `sys.path` already put a file there.
    fn add_unless_taken(&mut self, dest: &Path, source: &Path) -> Result<()> {
        if self.contains(dest) {
            return Ok(());
        }
        self.add_file(dest, source)
    }

    fn add_text_unless_taken(&mut self, dest: &Path, text: &str) {
        if !self.contains(dest) {
            self.add_text(dest, text);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{self, Interpreter, Kind};
    use crate::collect::Source;
    use std::path::PathBuf;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    /// A venv site dir and a base site dir (include-system-site-packages),
    /// with an editable finder, a `.pth` naming a project folder, a build
    /// tool, and a distribution in both.
    fn environment(root: &Path) -> Environment {
        let venv = root.join("venv/lib/python3.11/site-packages");
        let base = root.join("usr/lib/python3/dist-packages");
        let ext = "_cffi_backend.cpython-311-x86_64-linux-gnu.so";
        for (path, text) in [
            ("cffi/__init__.py", "venv"),
            (ext, "venv"),
            (
                "cffi-2.0.0.dist-info/RECORD",
                &format!("cffi/__init__.py,,\n{ext},,\n"),
            ),
            ("pip/__init__.py", ""),
            (
                "pip-23.0.dist-info/RECORD",
                "pip/__init__.py,,\n../../../bin/pip,,\n",
            ),
            ("pip-23.0.virtualenv", ""),
            ("extra.py", ""),
            ("Extra-1.0.dist-info/RECORD", "extra.py,,\n"),
            ("unowned.py", ""),
            (
                "__editable__.demo-1.0.pth",
                "import __editable___demo_1_0_finder; __editable___demo_1_0_finder.install()\n",
            ),
            ("__editable___demo_1_0_finder.py", "MAPPING = {}\n"),
            (
                "demo-1.0.dist-info/RECORD",
                "__editable__.demo-1.0.pth,,\n__editable___demo_1_0_finder.py,,\n",
            ),
            (
                "project.pth",
                &format!("# a project\n{}\n", root.join("proj").display()),
            ),
        ] {
            write(&venv.join(path), text);
        }
        for (path, text) in [
            ("cffi/__init__.py", "base"),
            ("cffi/old.py", "base"),
            (ext, "base"),
            (
                "cffi-1.15.1.egg-info/top_level.txt",
                "_cffi_backend\ncffi\n",
            ),
            ("six.py", "base"),
            ("six-1.16.0.egg-info/top_level.txt", "six\n"),
            ("setuptools/__init__.py", ""),
            ("setuptools-66.1.1.egg-info/top_level.txt", "setuptools\n"),
            ("distutils-precedence.pth", "import os\n"),
        ] {
            write(&base.join(path), text);
        }
        for path in [
            "src/demo/__init__.py",
            "src/demo/data/answer.txt",
            "proj/projmod.py",
            "proj/pkg/__init__.py",
            "proj/setup.py",
        ] {
            write(&root.join(path), "");
        }
        let finder = venv.join("__editable___demo_1_0_finder.py");
        let info: Interpreter = serde_json::from_value(serde_json::json!({
            "implementation": "cpython",
            "version": [3, 11, 2],
            "cache_tag": "cpython-311",
            "soabi": null,
            "stdlib": "/usr/lib/python3.11",
            "include": "/usr/include/python3.11",
            "libdir": null,
            "multiarch": null,
            "instsoname": null,
            "enable_shared": true,
            "dynload": null,
            "site_dirs": [venv, base],
            "editable_finders": {finder.to_str().unwrap(): {"demo": root.join("src/demo")}},
            "cffi": "2.0.0",
        }))
        .unwrap();
        Environment {
            venv: root.join("venv"),
            python: root.join("venv/bin/python3"),
            info,
            backend: backend::of(&Kind::CPython).unwrap(),
            runtime: PathBuf::new(),
        }
    }

    /// Planned files: (destination, what they are made from).
    type Planned = Vec<(String, String)>;

    fn plan(env: &Environment, exclude: &[&str]) -> Result<Planned> {
        let exclude: Vec<String> = exclude.iter().map(|s| s.to_string()).collect();
        let selection = Selection {
            keep_build_tools: false,
            keep_tests: false,
            exclude: &exclude,
        };
        Ok(plan_with(env, &selection)?.0)
    }

    /// The planned files (destination, where from), and the folders whose
    /// test suites were left out.
    fn plan_with(env: &Environment, selection: &Selection) -> Result<(Planned, Vec<String>)> {
        let layout = Layout::new("demo", env.backend.home(&env.info));
        let mut files = Files::default();
        let tests = collect(&mut files, env, &layout, selection)?;
        let planned = files
            .iter()
            .map(|e| {
                let from = match &e.source {
                    Source::File(path) => std::fs::read_to_string(path).unwrap_or_default(),
                    Source::Bytes(bytes) => format!("text: {}", String::from_utf8_lossy(bytes)),
                    other => panic!("unexpected source {other:?}"),
                };
                (e.dest.to_string_lossy().into_owned(), from)
            })
            .collect();
        Ok((planned, tests))
    }

    #[test]
    fn merges_site_dirs_in_path_order_and_carries_editable_sources() {
        let root = tempfile::tempdir().unwrap();
        let env = environment(root.path());
        let planned = plan(&env, &["EXTRA"]).unwrap();
        let dests: Vec<&str> = planned.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(
            dests,
            [
                "site-packages/_cffi_backend.cpython-311-x86_64-linux-gnu.so",
                "site-packages/cffi/__init__.py",
                "site-packages/cffi-2.0.0.dist-info/RECORD",
                "site-packages/demo/__init__.py",
                "site-packages/demo/data/answer.txt",
                "site-packages/demo-1.0.dist-info/RECORD",
                "site-packages/pkg/__init__.py",
                "site-packages/projmod.py",
                "site-packages/six-1.16.0.egg-info/top_level.txt",
                "site-packages/six.py",
                "site-packages/unowned.py",
            ]
        );
        // The venv's cffi shadows the base's, file by file and as a whole.
        for (dest, from) in &planned {
            if dest.contains("cffi/__init__") || dest.contains("_cffi_backend") {
                assert_eq!(from, "venv", "{dest}");
            }
        }
    }

    #[test]
    fn excluding_what_is_not_installed_fails() {
        let root = tempfile::tempdir().unwrap();
        let env = environment(root.path());
        let err = format!("{:#}", plan(&env, &["six", "nope"]).unwrap_err());
        assert!(
            err.contains("`--exclude nope` names no distribution installed in"),
            "{err}"
        );
        assert!(
            err.contains("installed: cffi, demo, extra, pip, setuptools, six"),
            "{err}"
        );
    }

    #[test]
    fn test_suites_inside_packages_are_left_out_unless_kept() {
        let root = tempfile::tempdir().unwrap();
        let env = environment(root.path());
        let venv = root.path().join("venv/lib/python3.11/site-packages");
        for path in [
            "big/tests/__init__.py",
            "big/tests/data/x.csv",
            "big/core/tests/test_core.py",
            "big/core/testing.py",
            "tests/__init__.py",
            "pip/_vendor/lib/tests/test_lib.py",
        ] {
            write(&venv.join(path), "");
        }
        let planned = |keep_tests| {
            let selection = Selection {
                keep_build_tools: false,
                keep_tests,
                exclude: &[],
            };
            let (files, tests) = plan_with(&env, &selection).unwrap();
            let ours: Vec<String> = files
                .into_iter()
                .map(|(dest, _)| dest)
                .filter(|d| d.contains("big/") || d.contains("tests/"))
                .collect();
            (ours, tests)
        };
        // A top-level `tests` is not inside a package: it is kept.  pip is
        // left out whole, so its suites are not named.
        assert_eq!(
            planned(false),
            (
                vec![
                    "site-packages/big/core/testing.py".to_string(),
                    "site-packages/tests/__init__.py".to_string(),
                ],
                vec!["big".to_string()]
            )
        );
        let (kept, none) = planned(true);
        assert_eq!(kept.len(), 6, "{kept:?}");
        assert!(none.is_empty());
    }
}
