//! The user's own modules (`--app`): a directory is a source root whose
//! contents go into `app/`; a `.py` file is one module.  Version-control
//! folders, venvs, caches and the output itself are never copied.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use walkdir::WalkDir;

use super::{is_noise_dir, is_noise_file, Files};
use crate::fail;
use crate::layout::Layout;

pub fn collect(files: &mut Files, layout: &Layout, roots: &[PathBuf], output: &Path) -> Result<()> {
    for root in roots {
        if root.is_file() {
            let name = root.file_name().unwrap_or_default();
            files.add_file(&layout.app.join(name), root)?;
            continue;
        }
        if !root.is_dir() {
            return Err(fail(
                format!("app path `{}` does not exist", root.display()),
                "--app takes a source directory or a .py file",
            ));
        }
        let walker = WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name()
            .into_iter();
        let skipped = |e: &walkdir::DirEntry| {
            e.depth() > 0
                && e.file_type().is_dir()
                && (is_noise_dir(&e.file_name().to_string_lossy())
                    || e.path().join("pyvenv.cfg").exists()
                    || same_file(e.path(), output))
        };
        for item in walker.filter_entry(|e| !skipped(e)) {
            let item =
                item.with_context(|| format!("cannot read app root `{}`", root.display()))?;
            if item.file_type().is_file() && !is_noise_file(&item.file_name().to_string_lossy()) {
                let relative = item.path().strip_prefix(root).unwrap_or(item.path());
                files.add_file(&layout.app.join(relative), item.path())?;
            }
        }
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
