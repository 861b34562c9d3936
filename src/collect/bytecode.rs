//! Bytecode: for every `.py` file of the plan, an unchecked hash-based
//! `.pyc` (PEP 552) beside it, in `__pycache__` under the interpreter's
//! cache tag.  Only planned here; the write stage compiles them with the
//! bundle's own interpreter.  Such files do not depend on file times,
//! record only in-bundle paths, and spare the plugin from compiling every
//! module at each start (the bundle is read-only: Python writes no
//! bytecode into it).  In a standard library asked to be sourceless
//! (`--no-stdlib-sources`), the `.pyc` takes its source's place instead,
//! where the import system's sourceless loader finds it; the files an
//! interpreter looks for to find its home keep their sources.  In a
//! zipped standard library (`--zip-stdlib`) each `.pyc` is beside its
//! source, where `zipimport` looks (never in `__pycache__`), or in its
//! place when sourceless.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::{Entry, Plan, Source};
use crate::bundle::Home;

/// Adds a bytecode entry for every `.py` file of `plan`, which replaces
/// the source in the standard library of `sourceless`; none when the
/// interpreter has no cache tag (it does not use bytecode files).
pub fn add(plan: &mut Plan, cache_tag: Option<&str>, sourceless: Option<&Home>) {
    let Some(tag) = cache_tag else {
        return;
    };
    let mut added = Vec::new();
    for entry in &mut plan.entries {
        if let Source::Zip(members) = &mut entry.source {
            add_zipped(members, &entry.dest, sourceless.is_some());
            entry.size = members.iter().map(|m| m.size).sum();
            continue;
        }
        let Source::File(source) = &entry.source else {
            continue;
        };
        if !is_python(&entry.dest) {
            continue;
        }
        let replaces = sourceless.is_some_and(|home| {
            entry.dest.starts_with(&home.stdlib) && !home.required.contains(&entry.dest)
        });
        let bytecode = Source::Bytecode {
            source: source.clone(),
            module: entry.dest.clone(),
            replaces,
        };
        if replaces {
            entry.dest.set_extension("pyc");
            entry.source = bytecode;
            entry.mode = 0o644;
        } else if let Some(dest) = cached(&entry.dest, tag) {
            let (mode, size) = (0o644, entry.size);
            added.push(Entry {
                dest,
                source: bytecode,
                mode,
                size,
            });
        }
    }
    plan.entries.extend(added);
    plan.entries.sort_by(|a, b| a.dest.cmp(&b.dest));
}

/// Adds bytecode beside each Python source of the zip at `zip`, or in
/// its place when `sourceless`.
fn add_zipped(members: &mut Vec<Entry>, zip: &Path, sourceless: bool) {
    let mut added = Vec::new();
    for member in members.iter_mut() {
        let Source::File(source) = &member.source else {
            continue;
        };
        if !is_python(&member.dest) {
            continue;
        }
        let bytecode = Source::Bytecode {
            source: source.clone(),
            module: zip.join(&member.dest),
            replaces: sourceless,
        };
        let dest = member.dest.with_extension("pyc");
        if sourceless {
            member.dest = dest;
            member.source = bytecode;
            member.mode = 0o644;
        } else {
            let size = member.size;
            added.push(Entry {
                dest,
                source: bytecode,
                mode: 0o644,
                size,
            });
        }
    }
    members.extend(added);
    members.sort_by(|a, b| a.dest.cmp(&b.dest));
}

fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "py")
}

/// `a/b.py` → `a/__pycache__/b.<tag>.pyc`, as `importlib.util.cache_from_source`;
/// file names are bytes, and so is the stem.
fn cached(module: &Path, tag: &str) -> Option<PathBuf> {
    let mut name = module.file_stem()?.as_bytes().to_vec();
    name.extend_from_slice(format!(".{tag}.pyc").as_bytes());
    let dir = module.parent().unwrap_or(Path::new(""));
    Some(dir.join("__pycache__").join(OsString::from_vec(name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The module name and `replaces` of a bytecode entry.
    fn compiled(entry: &Entry) -> Option<(&str, bool)> {
        match &entry.source {
            Source::Bytecode {
                module, replaces, ..
            } => Some((module.to_str().unwrap(), *replaces)),
            _ => None,
        }
    }

    #[test]
    fn sourceless_bytecode_takes_the_place_of_its_source() {
        let file = |dest: &str, mode| Entry {
            dest: PathBuf::from(dest),
            source: Source::File(PathBuf::from("/src").join(dest)),
            mode,
            size: 1,
        };
        let mut plan = Plan {
            entries: vec![
                file("lib/python3.11/os.py", 0o755),
                file("lib/python3.11/site.py", 0o644),
                file("lib/python3.11/json/__init__.py", 0o644),
                file("lib/python3.11/json/data.txt", 0o644),
                file("site-packages/pkg.py", 0o644),
            ],
            ..Plan::default()
        };
        let home = Home {
            prefix: PathBuf::from("lib"),
            stdlib: PathBuf::from("lib/python3.11"),
            extensions: None,
            zip: None,
            required: vec![PathBuf::from("lib/python3.11/site.py")],
        };
        add(&mut plan, Some("cpython-311"), Some(&home));
        let planned: Vec<_> = plan
            .entries
            .iter()
            .map(|e| (e.dest.to_str().unwrap(), e.mode, compiled(e)))
            .collect();
        assert_eq!(
            planned,
            [
                (
                    "lib/python3.11/__pycache__/site.cpython-311.pyc",
                    0o644,
                    Some(("lib/python3.11/site.py", false))
                ),
                (
                    "lib/python3.11/json/__init__.pyc",
                    0o644,
                    Some(("lib/python3.11/json/__init__.py", true))
                ),
                ("lib/python3.11/json/data.txt", 0o644, None),
                (
                    "lib/python3.11/os.pyc",
                    0o644,
                    Some(("lib/python3.11/os.py", true))
                ),
                ("lib/python3.11/site.py", 0o644, None),
                (
                    "site-packages/__pycache__/pkg.cpython-311.pyc",
                    0o644,
                    Some(("site-packages/pkg.py", false))
                ),
                ("site-packages/pkg.py", 0o644, None),
            ]
        );
    }

    #[test]
    fn zipped_bytecode_lies_beside_its_source_or_in_its_place() {
        let member = |dest: &str| Entry {
            dest: PathBuf::from(dest),
            source: Source::File(PathBuf::from("/src").join(dest)),
            mode: 0o644,
            size: 1,
        };
        for sourceless in [false, true] {
            let mut members = vec![member("json/__init__.py"), member("json/data.txt")];
            add_zipped(&mut members, Path::new("lib/python311.zip"), sourceless);
            let planned: Vec<(&str, Option<(&str, bool)>)> = members
                .iter()
                .map(|e| (e.dest.to_str().unwrap(), compiled(e)))
                .collect();
            let pyc = (
                "json/__init__.pyc",
                Some(("lib/python311.zip/json/__init__.py", sourceless)),
            );
            let expected = match sourceless {
                false => vec![("json/__init__.py", None), pyc, ("json/data.txt", None)],
                true => vec![pyc, ("json/data.txt", None)],
            };
            assert_eq!(planned, expected, "sourceless: {sourceless}");
        }
    }

    #[test]
    fn bytecode_goes_where_importlib_looks() {
        assert_eq!(
            cached(Path::new("app/pkg/mod.py"), "cpython-311"),
            Some(PathBuf::from("app/pkg/__pycache__/mod.cpython-311.pyc"))
        );
        assert_eq!(
            cached(Path::new("top.py"), "pypy39"),
            Some(PathBuf::from("__pycache__/top.pypy39.pyc"))
        );
        let odd = OsString::from_vec(b"app/odd\xff.py".to_vec());
        assert_eq!(
            cached(Path::new(&odd), "cpython-311"),
            Some(PathBuf::from(OsString::from_vec(
                b"app/__pycache__/odd\xff.cpython-311.pyc".to_vec()
            )))
        );
    }
}
