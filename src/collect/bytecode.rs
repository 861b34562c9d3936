//! Bytecode: for every `.py` file of the plan, an unchecked hash-based
//! `.pyc` (PEP 552) beside it, in `__pycache__` under the interpreter's
//! cache tag.  Only planned here; the write stage compiles them with the
//! bundle's own interpreter.  Such files do not depend on file times,
//! record only in-bundle paths, and spare the plugin from compiling every
//! module at each start (the bundle is read-only: Python writes no
//! bytecode into it).

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::{Entry, Plan, Source};

/// Adds a bytecode entry for every `.py` file of `plan`; none when the
/// interpreter has no cache tag (it does not use bytecode files).
pub fn add(plan: &mut Plan, cache_tag: Option<&str>) {
    let Some(tag) = cache_tag else {
        return;
    };
    let added: Vec<Entry> = plan
        .entries
        .iter()
        .filter(|e| e.dest.extension().is_some_and(|x| x == "py"))
        .filter_map(|e| {
            let Source::File(source) = &e.source else {
                return None;
            };
            Some(Entry {
                dest: cached(&e.dest, tag)?,
                source: Source::Bytecode {
                    source: source.clone(),
                    module: e.dest.clone(),
                },
                mode: 0o644,
                size: e.size,
            })
        })
        .collect();
    plan.entries.extend(added);
    plan.entries.sort_by(|a, b| a.dest.cmp(&b.dest));
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
