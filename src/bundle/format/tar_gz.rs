//! A bundle as a `.tar.gz` (`.tgz`): GNU tar entries under one top
//! folder, owner 0, one time, a normalized mode, gzip without a time
//! stamp.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{create_file, inside_top, Format, Refused, Sink, Visit};

pub struct TarGz;

impl Format for TarGz {
    fn name(&self) -> &'static str {
        ".tar.gz"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &[".tar.gz", ".tgz"]
    }

    fn create(
        &self,
        path: &Path,
        top: &str,
        mtime: u64,
        _previous: Option<&Path>,
    ) -> Result<Box<dyn Sink>> {
        let gzip = flate2::GzBuilder::new()
            .mtime(0)
            .write(create_file(path)?, super::compression());
        Ok(Box::new(TarSink {
            tar: tar::Builder::new(gzip),
            top: top.to_string(),
            mtime,
            file: path.to_path_buf(),
        }))
    }

    fn each_file(&self, path: &Path, visit: &mut Visit) -> Result<()> {
        let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        each_entry(file, path, visit)
    }
}

/// Calls `visit` for every regular file of the gzipped tar stream
/// `archive` (named `path` in messages), refusing every other kind of
/// entry and names that would land outside the bundle.
pub(super) fn each_entry(archive: impl Read, path: &Path, visit: &mut Visit) -> Result<()> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let entries = archive
        .entries()
        .with_context(|| format!("`{}` is not a .tar.gz archive", path.display()))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = entry
            .path()
            .with_context(|| format!("cannot read `{}`", path.display()))?
            .into_owned();
        match entry.header().entry_type() {
            tar::EntryType::Directory => continue,
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            _ => {
                return Err(Refused::new(
                    &name,
                    "is not a regular file; a bundle holds none",
                ))
                .with_context(|| format!("refusing `{}`", path.display()))
            }
        }
        let relative =
            inside_top(&name).with_context(|| format!("refusing `{}`", path.display()))?;
        let mode = entry.header().mode().unwrap_or(0o644) & 0o7777;
        visit(&relative, mode, &mut entry)?;
    }
    Ok(())
}

struct TarSink {
    tar: tar::Builder<flate2::write::GzEncoder<File>>,
    top: String,
    mtime: u64,
    file: PathBuf,
}

impl Sink for TarSink {
    fn add(&mut self, path: &Path, mode: u32, size: u64, data: &mut dyn Read) -> Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(mode);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        let name = Path::new(&self.top).join(path);
        self.tar
            .append_data(&mut header, &name, data)
            .with_context(|| {
                format!(
                    "cannot write `{}` into `{}`",
                    name.display(),
                    self.file.display()
                )
            })
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let error = || format!("cannot write `{}`", self.file.display());
        let gzip = self.tar.into_inner().with_context(error)?;
        let mut file = gzip.finish().with_context(error)?;
        file.flush().with_context(error)?;
        file.sync_all().with_context(error)
    }
}
