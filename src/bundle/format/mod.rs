//! The formats a bundle is written to and read back from, chosen by the
//! output's name: a folder, a `.zip`, or a `.tar.gz` (`.tgz`).  Archives
//! hold the bundle under one top-level folder named like the archive, so
//! unpacking never spills files.  Each format is one file here, holding
//! both its writer and its reader; `FORMATS` lists them, and every message
//! that names the formats is made from that list.

mod folder;
mod tar_gz;
mod zip;

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use anyhow::Result;

/// What a reader calls for each regular file: its exact path relative to
/// the bundle's top, its mode, its bytes.
pub type Visit<'a> = dyn FnMut(&Path, u32, &mut dyn Read) -> Result<()> + 'a;

/// One way of storing a bundle.
pub trait Format: Sync {
    /// What the user calls it: `folder`, `.zip`, `.tar.gz`.
    fn name(&self) -> &'static str;
    /// The endings of file names in this format, in lower case.
    fn extensions(&self) -> &'static [&'static str];
    /// A writer of a new bundle at `path`; `top` is an archive's top
    /// folder, `mtime` every entry's time (Unix seconds); `previous`, the
    /// bundle it will replace, which is left as it is but whose unchanged
    /// files the new bundle may share.
    fn create(
        &self,
        path: &Path,
        top: &str,
        mtime: u64,
        previous: Option<&Path>,
    ) -> Result<Box<dyn Sink>>;
    /// Calls `visit` for every regular file of the bundle at `path`.
    /// Entries that would land outside the bundle, and links of any kind,
    /// are refused: a bundle holds only regular files and folders.
    fn each_file(&self, path: &Path, visit: &mut Visit) -> Result<()>;

    /// The bytes of the file `name` (relative to the top), if the bundle
    /// at `path` holds it: a file of what embedpack writes beside the
    /// bundle's own files (the manifest, the bill of materials), so one
    /// larger than `READ_ONE_LIMIT` is refused rather than read.
    fn read_one(&self, path: &Path, name: &str) -> Result<Option<Vec<u8>>> {
        let mut found = None;
        self.each_file(path, &mut |entry, _, data| {
            if entry == Path::new(name) {
                let mut bytes = Vec::new();
                data.take(READ_ONE_LIMIT + 1).read_to_end(&mut bytes)?;
                if bytes.len() as u64 > READ_ONE_LIMIT {
                    return Err(crate::fail(
                        format!(
                            "`{name}` in `{}` is larger than {} MiB",
                            path.display(),
                            READ_ONE_LIMIT >> 20
                        ),
                        "embedpack never writes one that large; is this a bundle embedpack wrote?",
                    ));
                }
                found = Some(bytes);
            }
            Ok(())
        })?;
        Ok(found)
    }
}

/// The deflate level of both archive formats: level 3 writes a bundle
/// about 2.5 times faster than the usual 6, for archives about 3%
/// larger (BENCHMARKS.md).
fn compression() -> flate2::Compression {
    flate2::Compression::new(3)
}

/// The most bytes `read_one` reads: a manifest of a million files is
/// about 170 MiB.
const READ_ONE_LIMIT: u64 = 256 << 20;

/// An entry a reader refuses — a link, or a name that would land outside
/// the bundle — as the error that says so; `verify` reports it as what is
/// wrong with the bundle.
#[derive(Debug)]
pub struct Refused {
    /// The entry's name, spelled as the manifest spells names.
    pub entry: String,
    /// What is wrong with it.
    pub why: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the entry `{}` {}", self.entry, self.why)
    }
}

impl std::error::Error for Refused {}

impl Refused {
    fn new(entry: &Path, why: &'static str) -> Refused {
        Refused {
            entry: crate::bundle::name::display(entry),
            why,
        }
    }
}

/// A bundle being written.
pub trait Sink {
    /// Adds one file at `path` (relative to the bundle's top), reading
    /// `data`, which holds exactly `size` bytes, to its end.
    fn add(&mut self, path: &Path, mode: u32, size: u64, data: &mut dyn Read) -> Result<()>;
    /// Completes the output; until then it may be incomplete.
    fn finish(self: Box<Self>) -> Result<()>;
}

/// A zip of files at its root, written to `file` (named `path` in
/// messages), as Python's `zipimport` reads it.
pub fn zip_into(file: std::fs::File, path: &Path, mtime: u64) -> Box<dyn Sink> {
    zip::into(file, path, None, mtime)
}

/// Every format; the folder, which has no extension, first.
pub const FORMATS: &[&dyn Format] = &[&folder::Folder, &zip::Zip, &tar_gz::TarGz];

/// The format of the bundle at `path`, by its name: an archive when it
/// ends in one of an archive's extensions, else a folder.
pub fn of(path: &Path) -> &'static dyn Format {
    let name = lower_name(path);
    FORMATS
        .iter()
        .copied()
        .find(|format| format.extensions().iter().any(|e| name.ends_with(e)))
        .unwrap_or(FORMATS[0])
}

/// Whether the bundle at `path` is a folder.
pub fn is_folder(path: &Path) -> bool {
    of(path).extensions().is_empty()
}

/// The folder an archive holds its files under: its name without the
/// extension.
pub fn top_folder(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let lower = lower_name(path);
    let suffix = of(path)
        .extensions()
        .iter()
        .find(|e| lower.ends_with(*e))
        .map_or(0, |e| e.len());
    name[..name.len() - suffix].to_string()
}

/// The formats as a message names them: "folder, `.zip` or `.tar.gz`
/// (`.tgz`)".
pub fn names() -> String {
    let spelled: Vec<String> = FORMATS
        .iter()
        .map(|f| match f.extensions() {
            [] => f.name().to_string(),
            [only] => format!("`{only}`"),
            [first, rest @ ..] => {
                let others: Vec<String> = rest.iter().map(|e| format!("`{e}`")).collect();
                format!("`{first}` ({})", others.join(", "))
            }
        })
        .collect();
    match spelled.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => spelled.join(""),
    }
}

/// The `-o` forms: "-o DIR, -o FILE.zip or -o FILE.tar.gz".
pub fn output_forms() -> String {
    let forms: Vec<String> = FORMATS
        .iter()
        .map(|f| match f.extensions().first() {
            None => "-o DIR".to_string(),
            Some(ext) => format!("-o FILE{ext}"),
        })
        .collect();
    match forms.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => forms.join(""),
    }
}

fn lower_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default()
}

/// The zip reader over bytes in memory, for the fuzz targets.
#[cfg(any(test, fuzzing))]
pub(crate) fn each_zip_entry(bytes: &[u8], visit: &mut Visit) -> Result<()> {
    zip::each_entry(std::io::Cursor::new(bytes), Path::new("fuzzed.zip"), visit)
}

/// The .tar.gz reader over bytes in memory, for the fuzz targets.
#[cfg(any(test, fuzzing))]
pub(crate) fn each_tar_gz_entry(bytes: &[u8], visit: &mut Visit) -> Result<()> {
    tar_gz::each_entry(bytes, Path::new("fuzzed.tar.gz"), visit)
}

/// An archive entry's name `TOP/rest` → `rest`, refusing names that could
/// escape the bundle.
fn inside_top(name: &Path) -> Result<PathBuf> {
    let mut parts = Vec::new();
    for component in name.components() {
        match component {
            Component::Normal(part) => parts.push(part),
            Component::CurDir => {}
            _ => return Err(Refused::new(name, "would be written outside the bundle").into()),
        }
    }
    if parts.len() < 2 {
        return Err(Refused::new(name, "is not inside the archive's top folder").into());
    }
    Ok(parts[1..].iter().collect())
}

fn create_file(path: &Path) -> Result<std::fs::File> {
    use anyhow::Context;
    std::fs::File::create(path).with_context(|| format!("cannot create `{}`", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_and_top_folder_from_the_name() {
        assert_eq!(of(Path::new("dist/plugin")).name(), "folder");
        assert_eq!(of(Path::new("dist/plugin-1.0.zip")).name(), ".zip");
        assert_eq!(of(Path::new("a/b.TAR.GZ")).name(), ".tar.gz");
        assert_eq!(of(Path::new("a/b.tgz")).name(), ".tar.gz");
        assert!(is_folder(Path::new("dist/plugin.d")));
        assert_eq!(top_folder(Path::new("dist/plugin-1.0.zip")), "plugin-1.0");
        assert_eq!(top_folder(Path::new("x/p.tar.gz")), "p");
        assert_eq!(top_folder(Path::new("x/p.TGZ")), "p");
        assert_eq!(top_folder(Path::new("x/p")), "p");
    }

    #[test]
    fn messages_name_every_format() {
        assert_eq!(names(), "folder, `.zip` or `.tar.gz` (`.tgz`)");
        assert_eq!(output_forms(), "-o DIR, -o FILE.zip or -o FILE.tar.gz");
    }

    #[test]
    fn archive_names_stay_inside_the_bundle() {
        let inside = |name: &str| inside_top(Path::new(name));
        assert_eq!(
            inside("plugin/lib/libx.so").unwrap(),
            Path::new("lib/libx.so")
        );
        assert_eq!(inside("./plugin/a.py").unwrap(), Path::new("a.py"));
        assert!(inside("plugin/../../etc/passwd").is_err());
        assert!(inside("/etc/passwd").is_err());
        assert!(inside("loose.txt").is_err());
    }
}
