//! The standard library, as the interpreter's backend describes it: its
//! folders (the library itself, its extension modules), less the
//! parts an embedded interpreter does not use — test suites, GUIs,
//! installers and the like — unless `--keep-stdlib PART` keeps one —
//! and less the modules `--exclude-stdlib MODULE` names.
//! Bytecode from the build machine and site directories are never taken.
//! Asked (`--zip-stdlib`), all but its extension modules and its licence
//! go into one zip, which CPython imports from as it would from files.

use std::collections::BTreeSet;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use anyhow::Result;
use walkdir::WalkDir;

use super::{is_noise_dir, is_noise_file, walk_error, Entry, Files, Plan, Source};
use crate::backend::{Part, Stdlib, Tree};
use crate::bundle::Home;
use crate::fail;

/// What to leave out of the standard library, and what of it was found.
struct Leave<'a> {
    parts: Vec<&'a Part>,
    modules: &'a [String],
    found_parts: BTreeSet<&'static str>,
    found_modules: BTreeSet<String>,
}

/// Adds `stdlib` to `files`, less its optional parts not in `keep` and
/// the top-level modules in `exclude`; the names of those parts of which
/// something was found and left out.  An excluded module that is not
/// there is an error.
pub fn collect(
    files: &mut Files,
    stdlib: &Stdlib,
    keep: &[String],
    exclude: &[String],
) -> Result<Vec<String>> {
    let mut leave = Leave {
        parts: stdlib
            .optional
            .iter()
            .filter(|part| !keep.iter().any(|k| k == part.name))
            .collect(),
        modules: exclude,
        found_parts: BTreeSet::new(),
        found_modules: BTreeSet::new(),
    };
    for tree in &stdlib.trees {
        collect_tree(files, tree, &mut leave)?;
    }
    if let Some(missing) = exclude.iter().find(|m| !leave.found_modules.contains(*m)) {
        return Err(fail(
            format!("`--exclude-stdlib {missing}` names no module of the standard library"),
            "name a top-level module, package or extension module as `import` takes it \
             (`_ssl`, `sqlite3`)",
        ));
    }
    let found = leave.found_parts;
    Ok(leave
        .parts
        .iter()
        .filter(|part| found.contains(part.name))
        .map(|part| part.name.to_string())
        .collect())
}

/// Moves the standard library's files of `plan` into the zip of `home`,
/// if it has one, their paths relative to the standard library's folder;
/// its extension modules stay files, which the dynamic loader needs, and
/// so does its licence, where the SBOM says it is.
pub fn zip(plan: &mut Plan, home: &Home) {
    let Some(zip) = &home.zip else {
        return;
    };
    let zipped = |e: &Entry| {
        let licence = e.dest.parent() == Some(home.stdlib.as_path())
            && e.dest
                .file_name()
                .is_some_and(|n| n.as_bytes().starts_with(b"LICENSE"));
        e.dest.starts_with(&home.stdlib)
            && !home
                .extensions
                .as_ref()
                .is_some_and(|x| e.dest.starts_with(x))
            && e.dest.extension().is_none_or(|x| x != "so")
            && !licence
    };
    let (mut members, rest): (Vec<Entry>, Vec<Entry>) = std::mem::take(&mut plan.entries)
        .into_iter()
        .partition(zipped);
    for member in &mut members {
        member.dest = member
            .dest
            .strip_prefix(&home.stdlib)
            .unwrap_or(&member.dest)
            .to_path_buf();
    }
    plan.entries = rest;
    plan.insert(Entry {
        dest: zip.clone(),
        size: members.iter().map(|m| m.size).sum(),
        source: Source::Zip(members),
        mode: 0o644,
    });
}

fn collect_tree(files: &mut Files, tree: &Tree, leave: &mut Leave) -> Result<()> {
    let mut walker = WalkDir::new(&tree.source)
        .follow_links(true)
        .sort_by_file_name();
    if tree.modules_only {
        walker = walker.min_depth(1).max_depth(1);
    }
    let mut found_dirs = BTreeSet::new();
    let mut found_modules = BTreeSet::new();
    let kept = |e: &walkdir::DirEntry| {
        if e.depth() == 0 || !e.file_type().is_dir() {
            return true;
        }
        if !keeps_dir(e.path(), tree) {
            return false;
        }
        if let Some(module) = excluded(e, leave.modules) {
            found_modules.insert(module.clone());
            return false;
        }
        match part_of_dir(e.path(), tree, &leave.parts) {
            Some(part) => {
                found_dirs.insert(part.name);
                false
            }
            None => true,
        }
    };
    let what = format!("the standard library `{}`", tree.source.display());
    for item in walker.into_iter().filter_entry(kept) {
        let item = item.map_err(|e| walk_error(e, &what))?;
        super::check_regular(&item, &what)?;
        let name = item.file_name().to_string_lossy();
        let module = name.ends_with(".so");
        if !item.file_type().is_file() || is_noise_file(&name) || (tree.modules_only && !module) {
            continue;
        }
        if let Some(excluded) = excluded(&item, leave.modules) {
            leave.found_modules.insert(excluded.clone());
            continue;
        }
        if let Some(part) = leave
            .parts
            .iter()
            .find(|p| module && is_module_of(p, &name))
        {
            leave.found_parts.insert(part.name);
            continue;
        }
        let relative = item
            .path()
            .strip_prefix(&tree.source)
            .unwrap_or(item.path());
        files.add_file(&tree.dest.join(relative), item.path())?;
    }
    leave.found_parts.extend(found_dirs);
    leave.found_modules.extend(found_modules);
    Ok(())
}

/// The module of `modules` that `entry`, at the top of its tree, is: its
/// package folder, its `.py` file or its extension module.
fn excluded<'a>(entry: &walkdir::DirEntry, modules: &'a [String]) -> Option<&'a String> {
    if entry.depth() != 1 {
        return None;
    }
    let name = entry.file_name().to_string_lossy();
    let (stem, suffix) = name.split_once('.').unwrap_or((&name, ""));
    let is_module = match entry.file_type().is_dir() {
        true => suffix.is_empty(),
        false => suffix == "py" || suffix == "so" || suffix.ends_with(".so"),
    };
    modules.iter().find(|m| is_module && m.as_str() == stem)
}

/// Whether the folder at `path` of `tree` may be bundled: it is neither
/// skipped, nor noise, nor a site directory.
fn keeps_dir(path: &Path, tree: &Tree) -> bool {
    if tree.skip.iter().any(|s| s == path) {
        return false;
    }
    let name = dir_name(path);
    if is_noise_dir(&name) {
        return false;
    }
    let top_level = path.parent() == Some(tree.source.as_path());
    !(top_level && matches!(name.as_str(), "site-packages" | "dist-packages"))
}

/// The part left out that the folder at `path` of `tree` belongs to.
fn part_of_dir<'a>(path: &Path, tree: &Tree, left_out: &[&'a Part]) -> Option<&'a Part> {
    let name = dir_name(path);
    let top_level = path.parent() == Some(tree.source.as_path());
    left_out.iter().copied().find(|part| {
        (top_level && part.folders.iter().any(|f| matches(f, &name)))
            || part.nested.contains(&name.as_str())
    })
}

fn dir_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn is_module_of(part: &Part, file_name: &str) -> bool {
    part.modules.iter().any(|m| file_name.starts_with(m))
}

/// `pattern` is a name, or a prefix followed by `*`.
fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == pattern,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn folder_patterns() {
        assert!(matches("config-*", "config-3.11-x86_64-linux-gnu"));
        assert!(!matches("config-*", "configparser.py"));
        assert!(matches("test", "test"));
        assert!(!matches("test", "tests"));
    }

    #[test]
    fn only_the_parts_found_and_not_kept_are_reported_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path();
        for file in [
            "os.py",
            "idlelib/run.py",
            "pydoc_data/topics.py",
            "_curses.cpython-311.so",
        ] {
            std::fs::create_dir_all(lib.join(file).parent().unwrap()).unwrap();
            std::fs::write(lib.join(file), b"").unwrap();
        }
        const PARTS: &[Part] = &[
            Part::folder("idlelib", &["idlelib"]),
            Part::folder("tkinter", &["tkinter"]),
            Part::folder("pydoc_data", &["pydoc_data"]),
            Part::module("curses", &["_curses"]),
        ];
        let stdlib = Stdlib {
            trees: vec![Tree {
                source: lib.to_path_buf(),
                dest: PathBuf::from("python/lib"),
                modules_only: false,
                skip: Vec::new(),
            }],
            optional: PARTS,
        };
        let mut files = Files::default();
        let left_out = collect(&mut files, &stdlib, &["pydoc_data".to_string()], &[]).unwrap();
        assert_eq!(left_out, ["idlelib", "curses"]);
        let bundled: Vec<_> = files
            .entries
            .keys()
            .map(|p| p.display().to_string())
            .collect();
        assert_eq!(
            bundled,
            ["python/lib/os.py", "python/lib/pydoc_data/topics.py"]
        );
    }

    #[test]
    fn excluded_modules_leave_with_their_files_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let lib = dir.path().join("lib");
        let dynload = dir.path().join("lib-dynload");
        for file in [
            "lib/ssl.py",
            "lib/sslhelp.py",
            "lib/sqlite3/__init__.py",
            "lib/sqlite3/dump.py",
            "lib/json/ssl.py",
            "lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so",
            "lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
            "lib-dynload/_hashlib.abi3.so",
        ] {
            std::fs::create_dir_all(dir.path().join(file).parent().unwrap()).unwrap();
            std::fs::write(dir.path().join(file), b"").unwrap();
        }
        let tree = |source: &Path, dest: &str, modules_only| Tree {
            source: source.to_path_buf(),
            dest: PathBuf::from(dest),
            modules_only,
            skip: Vec::new(),
        };
        let stdlib = Stdlib {
            trees: vec![
                tree(&lib, "lib", false),
                tree(&dynload, "lib/lib-dynload", true),
            ],
            optional: &[],
        };
        let planned = |exclude: &[&str]| {
            let exclude: Vec<String> = exclude.iter().map(|m| m.to_string()).collect();
            let mut files = Files::default();
            collect(&mut files, &stdlib, &[], &exclude).map(|_| {
                let dests = files.entries.keys().map(|p| p.display().to_string());
                dests.collect::<Vec<_>>()
            })
        };
        assert_eq!(
            planned(&["ssl", "sqlite3", "_ssl", "_hashlib"]).unwrap(),
            [
                "lib/json/ssl.py",
                "lib/lib-dynload/_sqlite3.cpython-311-x86_64-linux-gnu.so",
                "lib/sslhelp.py",
            ]
        );
        let err = planned(&["_ssl", "json.ssl"]).unwrap_err();
        assert!(
            crate::error::report(&err)
                .contains("`--exclude-stdlib json.ssl` names no module of the standard library"),
            "{err:#}"
        );
    }

    #[test]
    fn zipped_standard_library_keeps_its_extension_modules_as_files() {
        let file = |dest: &str| Entry {
            dest: PathBuf::from(dest),
            source: Source::File(PathBuf::from("/src").join(dest)),
            mode: 0o644,
            size: 10,
        };
        let mut plan = Plan {
            entries: [
                "lib/python3.11/LICENSE.txt",
                "lib/python3.11/json/LICENSE",
                "lib/python3.11/json/__init__.py",
                "lib/python3.11/lib-dynload/_json.cpython-311.so",
                "lib/python3.11/os.py",
                "lib/python3.11/wsgiref.tar",
                "lib/python3.11/xx.cpython-311.so",
                "site-packages/pkg.py",
            ]
            .into_iter()
            .map(file)
            .collect(),
            ..Plan::default()
        };
        let home = Home {
            prefix: PathBuf::from("lib"),
            stdlib: PathBuf::from("lib/python3.11"),
            extensions: Some(PathBuf::from("lib/python3.11/lib-dynload")),
            zip: None,
            required: vec![PathBuf::from("lib/python3.11/os.py")],
        }
        .zipped(PathBuf::from("lib/python311.zip"));
        assert_eq!(
            home.required,
            [
                PathBuf::from("lib/python311.zip"),
                PathBuf::from("lib/python3.11/lib-dynload")
            ]
        );
        zip(&mut plan, &home);
        let dests: Vec<_> = plan
            .entries
            .iter()
            .map(|e| e.dest.to_str().unwrap())
            .collect();
        assert_eq!(
            dests,
            [
                "lib/python3.11/LICENSE.txt",
                "lib/python3.11/lib-dynload/_json.cpython-311.so",
                "lib/python3.11/xx.cpython-311.so",
                "lib/python311.zip",
                "site-packages/pkg.py",
            ]
        );
        let zipped = &plan.entries[3];
        let Source::Zip(members) = &zipped.source else {
            panic!("not a zip: {:?}", zipped.source);
        };
        let names: Vec<_> = members.iter().map(|m| m.dest.to_str().unwrap()).collect();
        assert_eq!(
            names,
            ["json/LICENSE", "json/__init__.py", "os.py", "wsgiref.tar"]
        );
        assert_eq!(zipped.size, 40);
    }
}
