//! What installers leave in `*.dist-info` that differs between two venvs
//! holding the same wheels: `INSTALLER` (pip or uv), `REQUESTED`,
//! `direct_url.json` (absolute URLs), and `RECORD` lines for scripts in
//! `bin/` (whose shebangs hold the venv's path) or for bytecode caches.
//! The traces are left out and each `RECORD` lists exactly the files of
//! its distribution that the bundle carries.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{Files, Source};

const INSTALLER_TRACES: &[&str] = &["INSTALLER", "REQUESTED", "direct_url.json"];

pub fn normalize(files: &mut Files, site: &Path) -> Result<()> {
    let in_dist_info = |dest: &Path| {
        dest.strip_prefix(site).ok().and_then(|rest| {
            let mut parts = rest.components();
            let folder = parts.next()?.as_os_str().to_str()?;
            let file = parts.next()?.as_os_str().to_str()?;
            (folder.ends_with(".dist-info") && parts.next().is_none()).then(|| file.to_string())
        })
    };
    files
        .retain(|dest| !in_dist_info(dest).is_some_and(|f| INSTALLER_TRACES.contains(&f.as_str())));
    let records: Vec<(PathBuf, PathBuf)> = files
        .iter()
        .filter(|e| in_dist_info(&e.dest).as_deref() == Some("RECORD"))
        .filter_map(|e| match &e.source {
            Source::File(path) => Some((e.dest.clone(), path.clone())),
            _ => None,
        })
        .collect();
    for (dest, source) in records {
        let text = std::fs::read_to_string(&source)
            .with_context(|| format!("cannot read `{}`", source.display()))?;
        let kept: String = text
            .lines()
            .filter(|line| {
                let path = super::site::record_paths(line).next().unwrap_or_default();
                files.contains(&site.join(&path)) && !path.starts_with("../")
            })
            .map(|line| format!("{line}\n"))
            .collect();
        files.add_text(&dest, &kept);
    }
    Ok(())
}
