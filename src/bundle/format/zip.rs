//! A bundle as a `.zip`: deflated entries under one top folder, in the
//! order written, each with the same time (zip times are local, start in
//! 1980 and have 2-second resolution) and a normalized Unix mode.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};

use super::{create_file, inside_top, Format, Sink, Visit};

pub struct Zip;

impl Format for Zip {
    fn name(&self) -> &'static str {
        ".zip"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &[".zip"]
    }

    fn create(&self, path: &Path, top: &str, mtime: u64) -> Result<Box<dyn Sink>> {
        Ok(Box::new(ZipSink {
            zip: zip::ZipWriter::new(create_file(path)?),
            top: top.to_string(),
            time: zip_time(mtime),
            file: path.to_path_buf(),
        }))
    }

    fn each_file(&self, path: &Path, visit: &mut Visit) -> Result<()> {
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

/// The zip time of `mtime` (Unix seconds), clamped to what zip can hold.
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

/// A date and time in UTC, from seconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
}

impl Civil {
    /// Howard Hinnant's days-to-civil algorithm.
    fn from_unix(seconds: u64) -> Civil {
        let days = (seconds / 86_400) as i64;
        let rest = (seconds % 86_400) as u32;
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Civil {
            year,
            month,
            day,
            hour: rest / 3600,
            minute: rest % 3600 / 60,
            second: rest % 60,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_time_from_unix_seconds() {
        let c = Civil::from_unix(315_532_800);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (1980, 1, 1, 0, 0, 0)
        );
        let c = Civil::from_unix(1_709_251_199);
        assert_eq!(
            (c.year, c.month, c.day, c.hour, c.minute, c.second),
            (2024, 2, 29, 23, 59, 59)
        );
    }
}
