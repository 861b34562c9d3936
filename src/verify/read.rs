//! Reading a bundle back, as a folder or as the archive it was written
//! to.  Archive entries that would land outside the bundle (`..`,
//! absolute paths) and links of any kind are refused: a bundle holds only
//! regular files and folders.

use std::fs::File;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path};

use anyhow::{bail, Context, Result};
use walkdir::WalkDir;

use crate::write::Format;

/// Calls `visit(path, mode, data)` for every regular file of the bundle at
/// `bundle`; `path` is relative to the bundle's top folder.
pub fn each_file(
    bundle: &Path,
    visit: &mut dyn FnMut(&str, u32, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    match Format::of(bundle) {
        Format::Dir => each_in_dir(bundle, visit),
        Format::Zip => each_in_zip(bundle, visit),
        Format::TarGz => each_in_tar(bundle, visit),
    }
}

fn each_in_dir(
    root: &Path,
    visit: &mut dyn FnMut(&str, u32, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    if !root.is_dir() {
        return Err(crate::fail(
            format!(
                "`{}` is not a bundle folder, `.zip` or `.tar.gz`",
                root.display()
            ),
            "give the folder or archive that embedpack build or pack wrote",
        ));
    }
    if !root.join("MANIFEST.json").is_file() {
        return Err(crate::fail(
            format!(
                "`{}` has no MANIFEST.json: it is not a bundle embedpack wrote",
                root.display()
            ),
            "give the folder or archive that embedpack build or pack wrote",
        ));
    }
    for item in WalkDir::new(root).sort_by_file_name().min_depth(1) {
        let item = item.with_context(|| format!("cannot read `{}`", root.display()))?;
        let relative = item
            .path()
            .strip_prefix(root)
            .unwrap_or(item.path())
            .to_string_lossy()
            .into_owned();
        if item.file_type().is_symlink() {
            bail!(
                "`{}` is a symbolic link; a bundle holds none",
                item.path().display()
            );
        }
        if item.file_type().is_file() {
            let meta = item
                .metadata()
                .with_context(|| format!("cannot read `{}`", item.path().display()))?;
            let mut file = File::open(item.path())
                .with_context(|| format!("cannot read `{}`", item.path().display()))?;
            visit(&relative, meta.permissions().mode() & 0o7777, &mut file)?;
        }
    }
    Ok(())
}

fn each_in_zip(
    path: &Path,
    visit: &mut dyn FnMut(&str, u32, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut zip = zip::ZipArchive::new(file)
        .with_context(|| format!("`{}` is not a zip archive", path.display()))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = entry.name().to_string();
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            bail!("`{}` holds a link, `{name}`; refusing it", path.display());
        }
        let relative =
            inside_top(&name).with_context(|| format!("refusing `{}`", path.display()))?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o7777;
        visit(&relative, mode, &mut entry)?;
    }
    Ok(())
}

fn each_in_tar(
    path: &Path,
    visit: &mut dyn FnMut(&str, u32, &mut dyn Read) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
    let entries = archive
        .entries()
        .with_context(|| format!("`{}` is not a .tar.gz archive", path.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = entry
            .path()
            .with_context(|| format!("cannot read `{}`", path.display()))?
            .to_string_lossy()
            .into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            _ => bail!(
                "`{}` holds `{name}`, which is not a regular file; refusing it",
                path.display()
            ),
        }
        let relative =
            inside_top(&name).with_context(|| format!("refusing `{}`", path.display()))?;
        let mode = entry.header().mode().unwrap_or(0o644) & 0o7777;
        visit(&relative, mode, &mut entry)?;
    }
    Ok(())
}

/// `TOP/rest` → `rest`, refusing names that could escape the bundle.
fn inside_top(name: &str) -> Result<String> {
    let path = Path::new(name);
    let mut parts = Vec::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            _ => bail!("the entry `{name}` would be written outside the bundle"),
        }
    }
    if parts.len() < 2 {
        bail!("the entry `{name}` is not inside the archive's top folder");
    }
    Ok(parts[1..].join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_stay_inside_the_bundle() {
        assert_eq!(inside_top("plugin/lib/libx.so").unwrap(), "lib/libx.so");
        assert_eq!(inside_top("./plugin/a.py").unwrap(), "a.py");
        assert!(inside_top("plugin/../../etc/passwd").is_err());
        assert!(inside_top("/etc/passwd").is_err());
        assert!(inside_top("loose.txt").is_err());
    }
}
