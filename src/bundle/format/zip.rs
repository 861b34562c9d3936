//! A bundle as a `.zip`: deflated entries under one top folder (or at the
//! root, for a zipped standard library inside a bundle), in the
//! order written, each with the same time (zip times are local, start in
//! 1980 and have 2-second resolution) and a normalized Unix mode.  Names
//! are written as their exact bytes: a UTF-8 name that is not ASCII with
//! the UTF-8 flag, a name that is not UTF-8 without it, as Info-ZIP's
//! `zip` stores it (and its `unzip` restores it).  The writer is ours —
//! the zip crate writes only UTF-8 names — and the crate reads.

use crate::bundle::civil::Civil;
use std::ffi::OsStr;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::{create_file, inside_top, Format, Refused, Sink, Visit};
use crate::fail;

pub struct Zip;

impl Format for Zip {
    fn name(&self) -> &'static str {
        ".zip"
    }

    fn extensions(&self) -> &'static [&'static str] {
        &[".zip"]
    }

    fn create(
        &self,
        path: &Path,
        top: &str,
        mtime: u64,
        _previous: Option<&Path>,
    ) -> Result<Box<dyn Sink>> {
        Ok(into(create_file(path)?, path, Some(top), mtime))
    }

    fn each_file(&self, path: &Path, visit: &mut Visit) -> Result<()> {
        let file = File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        each_entry(file, path, visit)
    }
}

/// A zip written to `file` (named `path` in messages), its entries under
/// the folder `top` if any, else at its root, each at time `mtime`.
pub fn into(file: File, path: &Path, top: Option<&str>, mtime: u64) -> Box<dyn Sink> {
    Box::new(ZipSink {
        out: BufWriter::new(file),
        top: top.map(|t| format!("{t}/")).unwrap_or_default(),
        time: dos_time(mtime),
        offset: 0,
        central: Vec::new(),
        count: 0,
        file: path.to_path_buf(),
    })
}

/// Calls `visit` for every regular file of the zip archive `archive`
/// (named `path` in messages), refusing links and names that would land
/// outside the bundle.
pub(super) fn each_entry(archive: impl Read + Seek, path: &Path, visit: &mut Visit) -> Result<()> {
    let mut zip = zip::ZipArchive::new(archive)
        .with_context(|| format!("`{}` is not a zip archive", path.display()))?;
    for i in 0..zip.len() {
        let mut entry = zip
            .by_index(i)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let name = PathBuf::from(OsStr::from_bytes(entry.name_raw()));
        if entry.is_dir() {
            continue;
        }
        if entry.is_symlink() {
            return Err(Refused::new(&name, "is a link; a bundle holds none"))
                .with_context(|| format!("refusing `{}`", path.display()));
        }
        let relative =
            inside_top(&name).with_context(|| format!("refusing `{}`", path.display()))?;
        let mode = entry.unix_mode().unwrap_or(0o644) & 0o7777;
        visit(&relative, mode, &mut entry)?;
    }
    Ok(())
}

const LOCAL_HEADER: u32 = 0x0403_4b50;
const CENTRAL_HEADER: u32 = 0x0201_4b50;
const END_OF_CENTRAL: u32 = 0x0605_4b50;
const ZIP64_END_OF_CENTRAL: u32 = 0x0606_4b50;
const ZIP64_LOCATOR: u32 = 0x0706_4b50;
/// Version 2.0 (deflate), made on Unix (3), whose modes are in the
/// upper half of the external attributes.
const VERSION: u16 = 20;
const MADE_ON_UNIX: u16 = 3 << 8 | VERSION;
const ZIP64_VERSION: u16 = 45;
const DEFLATED: u16 = 8;
const UTF8_FLAG: u16 = 1 << 11;

struct ZipSink {
    out: BufWriter<File>,
    /// What every name starts with: the top folder and a slash, or nothing.
    top: String,
    /// Every entry's (time, date), in MS-DOS form.
    time: (u16, u16),
    /// Where the next local header starts.
    offset: u64,
    /// The central directory, written at the end.
    central: Vec<u8>,
    count: u64,
    file: PathBuf,
}

impl Sink for ZipSink {
    fn add(&mut self, path: &Path, mode: u32, size: u64, data: &mut dyn Read) -> Result<()> {
        let mut name = self.top.clone().into_bytes();
        name.extend_from_slice(path.as_os_str().as_bytes());
        let shown = crate::bundle::name::display(Path::new(OsStr::from_bytes(&name)));
        let error = || format!("cannot write `{shown}` into `{}`", self.file.display());
        let too_large = || {
            fail(
                format!(
                    "`{shown}` does not fit into `{}`: a .zip without zip64 entries holds \
                     names under 64 KiB and files under 4 GiB",
                    self.file.display()
                ),
                "write the bundle as a folder or a .tar.gz",
            )
        };
        let (Ok(size32), Ok(offset32), Ok(name_len)) = (
            u32::try_from(size),
            u32::try_from(self.offset),
            u16::try_from(name.len()),
        ) else {
            return Err(too_large());
        };
        let flags = if std::str::from_utf8(&name).is_ok() && !name.is_ascii() {
            UTF8_FLAG
        } else {
            0
        };
        let (time, date) = self.time;
        // The CRC and the deflated size are filled in once deflated.
        let mut local = Vec::with_capacity(30 + name.len());
        put32(&mut local, LOCAL_HEADER);
        for field in [VERSION, flags, DEFLATED, time, date] {
            put16(&mut local, field);
        }
        for field in [0, 0, size32] {
            put32(&mut local, field);
        }
        put16(&mut local, name_len);
        put16(&mut local, 0);
        local.extend_from_slice(&name);
        self.out.write_all(&local).with_context(error)?;
        let (crc, compressed) = deflate(data, &mut self.out).with_context(error)?;
        let Ok(compressed32) = u32::try_from(compressed) else {
            return Err(too_large());
        };
        let mut found = Vec::with_capacity(8);
        put32(&mut found, crc);
        put32(&mut found, compressed32);
        self.out
            .flush()
            .and_then(|()| self.out.get_ref().write_all_at(&found, self.offset + 14))
            .with_context(error)?;

        let central = &mut self.central;
        put32(central, CENTRAL_HEADER);
        for field in [MADE_ON_UNIX, VERSION, flags, DEFLATED, time, date] {
            put16(central, field);
        }
        for field in [crc, compressed32, size32] {
            put32(central, field);
        }
        for field in [name_len, 0, 0, 0, 0] {
            put16(central, field);
        }
        put32(central, (0o100_000 | mode) << 16);
        put32(central, offset32);
        central.extend_from_slice(&name);
        self.offset += local.len() as u64 + compressed;
        self.count += 1;
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> Result<()> {
        let error = || format!("cannot write `{}`", self.file.display());
        let start = self.offset;
        let size = self.central.len() as u64;
        let mut end = Vec::new();
        let count16 = u16::try_from(self.count).ok();
        let (Ok(start32), Ok(size32)) = (u32::try_from(start), u32::try_from(size)) else {
            return Err(fail(
                format!("`{}` would pass 4 GiB", self.file.display()),
                "write the bundle as a folder or a .tar.gz",
            ));
        };
        if count16.is_none() {
            // More entries than the classic record counts: a zip64 record,
            // and the classic one saying to look there.
            put32(&mut end, ZIP64_END_OF_CENTRAL);
            put64(&mut end, 44);
            put16(&mut end, ZIP64_VERSION);
            put16(&mut end, ZIP64_VERSION);
            put32(&mut end, 0);
            put32(&mut end, 0);
            for field in [self.count, self.count, size, start] {
                put64(&mut end, field);
            }
            put32(&mut end, ZIP64_LOCATOR);
            put32(&mut end, 0);
            put64(&mut end, start + size);
            put32(&mut end, 1);
        }
        let count16 = count16.unwrap_or(u16::MAX);
        put32(&mut end, END_OF_CENTRAL);
        for field in [0, 0, count16, count16] {
            put16(&mut end, field);
        }
        put32(&mut end, size32);
        put32(&mut end, start32);
        put16(&mut end, 0);
        let central = std::mem::take(&mut self.central);
        self.out.write_all(&central).with_context(error)?;
        self.out.write_all(&end).with_context(error)?;
        let file = self.out.into_inner().map_err(|e| e.into_error());
        file.and_then(|f| f.sync_all().map(|()| f))
            .with_context(|| format!("cannot write `{}`", self.file.display()))?;
        Ok(())
    }
}

/// Deflates `data` into `out`: its CRC-32 and how many bytes it
/// deflated to.
fn deflate(data: &mut dyn Read, out: &mut impl Write) -> std::io::Result<(u32, u64)> {
    let mut crc = flate2::Crc::new();
    let mut counted = Counted {
        inner: out,
        count: 0,
    };
    let mut encoder = flate2::write::DeflateEncoder::new(&mut counted, super::compression());
    let mut buffer = vec![0; 64 * 1024];
    loop {
        let n = data.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        crc.update(&buffer[..n]);
        encoder.write_all(&buffer[..n])?;
    }
    encoder.finish()?;
    Ok((crc.sum(), counted.count))
}

/// A writer that counts what passes through it.
struct Counted<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn put16(out: &mut Vec<u8>, value: u16) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}

fn put64(out: &mut Vec<u8>, value: u64) {
    out.extend_from_slice(&value.to_le_bytes());
}

/// The MS-DOS (time, date) of `mtime` (Unix seconds), clamped to what zip
/// can hold.
fn dos_time(mtime: u64) -> (u16, u16) {
    let c = Civil::from_unix(mtime.max(315_532_800));
    let year = c.year.clamp(1980, 2107) as u16;
    let time = ((c.hour << 11) | (c.minute << 5) | (c.second / 2)) as u16;
    let date = ((year - 1980) << 9) | ((c.month << 5) | c.day) as u16;
    (time, date)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every file of the zip at `path`: (exact name, mode, bytes).
    fn read_back(path: &Path) -> Vec<(PathBuf, u32, Vec<u8>)> {
        let mut files = Vec::new();
        Zip.each_file(path, &mut |name, mode, data| {
            let mut bytes = Vec::new();
            data.read_to_end(&mut bytes)?;
            files.push((name.to_path_buf(), mode, bytes));
            Ok(())
        })
        .unwrap();
        files
    }

    #[test]
    fn names_are_kept_as_their_exact_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.zip");
        let names: Vec<PathBuf> = [
            &b"app/odd\xff.py"[..],
            b"app/odd\xfe.py",
            "app/modülé.py".as_bytes(),
            b"lib/x.so",
        ]
        .iter()
        .map(|n| PathBuf::from(OsStr::from_bytes(n)))
        .collect();
        let mut sink = Zip.create(&path, "b", 315_532_800, None).unwrap();
        for (i, name) in names.iter().enumerate() {
            let mode = if i == 3 { 0o755 } else { 0o644 };
            let text = format!("file {i}");
            sink.add(name, mode, text.len() as u64, &mut text.as_bytes())
                .unwrap();
        }
        sink.finish().unwrap();
        let expected: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| {
                (
                    n.clone(),
                    if i == 3 { 0o755 } else { 0o644 },
                    format!("file {i}").into_bytes(),
                )
            })
            .collect();
        assert_eq!(read_back(&path), expected);
    }

    #[test]
    fn more_entries_than_the_classic_record_counts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("many.zip");
        let mut sink = Zip.create(&path, "many", 315_532_800, None).unwrap();
        let count = usize::from(u16::MAX) + 10;
        for i in 0..count {
            sink.add(Path::new(&format!("f{i}")), 0o644, 0, &mut &b""[..])
                .unwrap();
        }
        sink.finish().unwrap();
        let files = read_back(&path);
        assert_eq!(files.len(), count);
        assert_eq!(files[count - 1].0, Path::new(&format!("f{}", count - 1)));
    }

    #[test]
    fn dos_time_of_unix_seconds() {
        assert_eq!(dos_time(0), (0, 1 << 5 | 1));
        // 2024-02-29 23:59:59 → 23:59:58.
        assert_eq!(
            dos_time(1_709_251_199),
            (23 << 11 | 59 << 5 | 29, 44 << 9 | 2 << 5 | 29)
        );
    }

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
