//! The user's own modules (`--app`): a directory is a source root whose
//! contents go into `app/`, merged with the other roots; a `.py` file is
//! one module.  Version-control folders, venvs and caches are never copied
//! (the output cannot lie inside a root), and two roots may not provide the same name.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::Result;
use walkdir::WalkDir;

use super::{check_regular, is_noise_dir, is_noise_file, special_kind, walk_error, Files};
use crate::bundle::Layout;
use crate::fail;

pub fn collect(files: &mut Files, layout: &Layout, roots: &[PathBuf]) -> Result<()> {
    let mut providers: BTreeMap<OsString, &Path> = BTreeMap::new();
    for root in roots {
        for relative in root_files(root)? {
            let top = relative.components().next();
            let top = top.map_or(&[][..], |c| c.as_os_str().as_bytes());
            let name = top.strip_suffix(b".py").unwrap_or(top);
            let name = OsString::from(std::ffi::OsStr::from_bytes(name));
            let provider = *providers.entry(name.clone()).or_insert(root);
            if provider != root {
                return Err(fail(
                    format!(
                        "`{}` is provided by both `{}` and `{}`",
                        Path::new(&name).display(),
                        provider.display(),
                        root.display()
                    ),
                    "app roots are merged into one folder; rename one or drop one --app",
                ));
            }
            let source = if root.is_file() {
                root.clone()
            } else {
                root.join(&relative)
            };
            files.add_file(&layout.app.join(&relative), &source)?;
        }
    }
    Ok(())
}

/// The files of one app root, relative to it (for a `.py` file: its name).
fn root_files(root: &Path) -> Result<Vec<PathBuf>> {
    if root.is_file() {
        return Ok(vec![PathBuf::from(root.file_name().unwrap_or_default())]);
    }
    let kind = std::fs::metadata(root).ok().map(|m| m.file_type());
    if let Some(kind) = kind.and_then(special_kind) {
        return Err(fail(
            format!("app path `{}` is {kind}", root.display()),
            "--app takes a source directory or a .py file",
        ));
    }
    if !root.is_dir() {
        return Err(fail(
            format!("app path `{}` does not exist", root.display()),
            "--app takes a source directory or a .py file",
        ));
    }
    let skipped = |e: &walkdir::DirEntry| {
        e.depth() > 0
            && e.file_type().is_dir()
            && (is_noise_dir(&e.file_name().to_string_lossy())
                || e.path().join("pyvenv.cfg").exists())
    };
    let what = format!("the app root `{}`", root.display());
    let mut files = Vec::new();
    for item in WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| !skipped(e))
    {
        let item = item.map_err(|e| walk_error(e, &what))?;
        check_regular(&item, &what)?;
        if item.file_type().is_file() && !is_noise_file(&item.file_name().to_string_lossy()) {
            files.push(
                item.path()
                    .strip_prefix(root)
                    .unwrap_or(item.path())
                    .to_path_buf(),
            );
        }
    }
    Ok(files)
}
