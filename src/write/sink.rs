//! Where bundle files go: one writer per output format behind one trait.
//! Every file gets the same timestamp, a normalized mode and owner 0.

use std::fs::File;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use anyhow::{Context, Result};

use super::format::{Civil, Format};

pub trait Sink {
    /// Adds one file at `path` (relative to the bundle's top), reading
    /// `data` to its end.
    fn add(&mut self, path: &Path, mode: u32, data: &mut dyn Read) -> Result<()>;
    /// Completes the output; until then it may be incomplete.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A sink writing `format` to `staging`, with `top` as the archives'
/// top-level folder and `mtime` (Unix seconds) on every entry.
pub fn open(format: Format, staging: &Path, top: &str, mtime: u64) -> Result<Box<dyn Sink>> {
    Ok(match format {
        Format::Dir => {
            std::fs::create_dir(staging)
                .with_context(|| format!("cannot create `{}`", staging.display()))?;
            Box::new(DirSink {
                root: staging.to_path_buf(),
                mtime,
            })
        }
        Format::Zip => Box::new(ZipSink {
            zip: zip::ZipWriter::new(create(staging)?),
            top: top.to_string(),
            time: zip_time(mtime),
            file: staging.to_path_buf(),
        }),
        Format::TarGz => {
            let gzip = flate2::GzBuilder::new()
                .mtime(0)
                .write(create(staging)?, flate2::Compression::default());
            Box::new(TarSink {
                tar: tar::Builder::new(gzip),
                top: top.to_string(),
                mtime,
                file: staging.to_path_buf(),
            })
        }
    })
}

fn create(path: &Path) -> Result<File> {
    File::create(path).with_context(|| format!("cannot create `{}`", path.display()))
}

struct DirSink {
    root: PathBuf,
    mtime: u64,
}

impl Sink for DirSink {
    fn add(&mut self, path: &Path, mode: u32, data: &mut dyn Read) -> Result<()> {
        let dest = self.root.join(path);
        if let Some(dir) = dest.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
        }
        let mut file = create(&dest)?;
        std::io::copy(data, &mut file)
            .with_context(|| format!("cannot write `{}`", dest.display()))?;
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .with_context(|| format!("cannot set the mode of `{}`", dest.display()))?;
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(self.mtime))
            .with_context(|| format!("cannot set the time of `{}`", dest.display()))
    }

    fn finish(self: Box<Self>) -> Result<()> {
        Ok(())
    }
}

struct ZipSink {
    zip: zip::ZipWriter<File>,
    top: String,
    time: zip::DateTime,
    file: PathBuf,
}

impl Sink for ZipSink {
    fn add(&mut self, path: &Path, mode: u32, data: &mut dyn Read) -> Result<()> {
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            .last_modified_time(self.time)
            .unix_permissions(mode)
            .large_file(false);
        let name = format!("{}/{}", self.top, path.display());
        let error = || format!("cannot write `{name}` into `{}`", self.file.display());
        self.zip
            .start_file(name.as_str(), options)
            .with_context(error)?;
        std::io::copy(data, &mut self.zip).with_context(error)?;
        Ok(())
    }

    fn finish(self: Box<Self>) -> Result<()> {
        let file = self
            .zip
            .finish()
            .with_context(|| format!("cannot write `{}`", self.file.display()))?;
        file.sync_all()
            .with_context(|| format!("cannot write `{}`", self.file.display()))
    }
}

/// Zip times are local, start in 1980 and have 2-second resolution.
fn zip_time(mtime: u64) -> zip::DateTime {
    let c = Civil::from_unix(mtime.max(315_532_800));
    zip::DateTime::from_date_and_time(
        c.year.min(2107) as u16,
        c.month as u8,
        c.day as u8,
        c.hour as u8,
        c.minute as u8,
        c.second as u8 & !1,
    )
    .unwrap_or_default()
}

struct TarSink {
    tar: tar::Builder<flate2::write::GzEncoder<File>>,
    top: String,
    mtime: u64,
    file: PathBuf,
}

impl Sink for TarSink {
    fn add(&mut self, path: &Path, mode: u32, data: &mut dyn Read) -> Result<()> {
        let mut bytes = Vec::new();
        data.read_to_end(&mut bytes)
            .context("cannot read a bundle file")?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(mode);
        header.set_mtime(self.mtime);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        let name = Path::new(&self.top).join(path);
        self.tar
            .append_data(&mut header, &name, bytes.as_slice())
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
