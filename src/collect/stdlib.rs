//! The standard library and its extension modules (`lib-dynload`), less
//! the parts an embedded interpreter does not use: test suites, the IDLE
//! and Tk GUIs, `ensurepip`, `lib2to3`, and `config-*` with its static
//! libpython.  `--keep-stdlib PART` keeps one of them.

use std::path::Path;

use anyhow::Result;
use walkdir::WalkDir;

use super::{is_noise_dir, is_noise_file, walk_error, Files};
use crate::bundle::Layout;
use crate::resolve::Environment;

/// Top-level parts left out by default, by the name `--keep-stdlib` takes.
pub const OPTIONAL_PARTS: &[&str] = &[
    "test",
    "idlelib",
    "tkinter",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "config",
];

/// Extension modules that exist only for CPython's own tests or for Tk.
const DYNLOAD_TEST_PREFIXES: &[&str] = &[
    "_test",
    "_ctypes_test",
    "_xxtestfuzz",
    "xxlimited",
    "_tkinter",
];

pub fn collect(
    files: &mut Files,
    env: &Environment,
    layout: &Layout,
    keep: &[String],
) -> Result<()> {
    let stdlib = &env.info.stdlib;
    let dynload = env
        .info
        .dynload
        .clone()
        .unwrap_or_else(|| stdlib.join("lib-dynload"));
    let dynload_dest = layout
        .home
        .extensions
        .clone()
        .unwrap_or_else(|| layout.home.stdlib.join("lib-dynload"));
    let walker = WalkDir::new(stdlib)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    let kept = |e: &walkdir::DirEntry| {
        e.depth() == 0 || !e.file_type().is_dir() || keeps_dir(e.path(), stdlib, &dynload, keep)
    };
    for item in walker.filter_entry(kept) {
        let item = item
            .map_err(|e| walk_error(e, &format!("the standard library `{}`", stdlib.display())))?;
        if item.file_type().is_file() && !is_noise_file(&item.file_name().to_string_lossy()) {
            let relative = item.path().strip_prefix(stdlib).unwrap_or(item.path());
            files.add_file(&layout.home.stdlib.join(relative), item.path())?;
        }
    }
    for item in WalkDir::new(&dynload)
        .follow_links(true)
        .sort_by_file_name()
        .min_depth(1)
        .max_depth(1)
    {
        let item = item.map_err(|e| walk_error(e, &format!("`{}`", dynload.display())))?;
        let name = item.file_name().to_string_lossy();
        let test_only = DYNLOAD_TEST_PREFIXES.iter().any(|p| name.starts_with(p));
        let kept = name.starts_with("_tkinter") && keep.iter().any(|k| k == "tkinter");
        if item.file_type().is_file() && name.ends_with(".so") && (!test_only || kept) {
            files.add_file(&dynload_dest.join(item.file_name()), item.path())?;
        }
    }
    Ok(())
}

/// Whether the folder at `path` of the standard library is bundled.
fn keeps_dir(path: &Path, stdlib: &Path, dynload: &Path, keep: &[String]) -> bool {
    if path == dynload {
        return false; // collected on its own
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if is_noise_dir(&name) {
        return false;
    }
    let top_level = path.parent() == Some(stdlib);
    let part = if top_level && name.starts_with("config-") {
        "config"
    } else {
        name.as_str()
    };
    if top_level && matches!(part, "site-packages" | "dist-packages") {
        return false;
    }
    let optional = (top_level && OPTIONAL_PARTS.contains(&part))
        || matches!(part, "test" | "tests" | "idle_test");
    !optional || keep.iter().any(|k| k == part)
}
