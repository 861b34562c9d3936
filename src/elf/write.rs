//! The append-only writer: sets `DT_RPATH`/`DT_RUNPATH`, replaces
//! `DT_NEEDED` entries (with the `vn_file` names of `.gnu.version_r`),
//! sets `DT_SONAME` and `DF_1_NODELETE`, and renames imports in place
//! (`rename`).
//!
//! No string is ever overwritten: new ones are appended to a copy of
//! `.dynstr`, so every old offset stays valid (GNU ld tail-merges strings:
//! the bytes of one name may end another).  When no new string is needed
//! and the dynamic table has a spare `DT_NULL` slot for each new entry (GNU
//! ld leaves some, lld none), the table is rewritten where it is.
//! Otherwise the new strings and the new table move into a segment
//! appended to the file (`segment`), and the program headers grow where
//! they are (`headroom`), so that `strip` and `objcopy` keep the result
//! loadable.  Every output is parsed
//! again and checked before it is returned.

use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::buffer::{Buffer, Mapped, Writes};
use super::bytes::{c_str, put_u32, u32_at};
use super::image::*;
use super::segment;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// `DT_RPATH`: searched before `LD_LIBRARY_PATH`, and for the
    /// object's dependencies too.
    Rpath,
    /// `DT_RUNPATH`: searched after `LD_LIBRARY_PATH`, for the object's
    /// own dependencies only.
    #[allow(dead_code)]
    Runpath,
}

/// The search path a file ends up with: one entry of `kind`, none of the
/// other kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPath {
    pub kind: PathKind,
    pub value: String,
}

/// What to change in one file.  Empty edits leave the file as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Edits {
    pub search_path: Option<SearchPath>,
    /// `(old, new)`: every `DT_NEEDED` and `vn_file` naming `old` names
    /// `new` instead (a name the file does not need is ignored).
    pub replace_needed: Vec<(String, String)>,
    pub soname: Option<String>,
    pub nodelete: bool,
    /// `(old, new)`: undefined symbols named `old` are named `new`, a
    /// name of the same length, in place.
    pub rename_imports: Vec<(String, String)>,
}

impl Edits {
    pub fn is_empty(&self) -> bool {
        *self == Edits::default()
    }

    /// These edits, then `later` on the result, as one set of edits of
    /// the original file.
    pub fn then(mut self, later: Edits) -> Edits {
        let mut added = Vec::new();
        for (old, new) in later.replace_needed {
            match self.replace_needed.iter_mut().find(|(_, n)| *n == old) {
                Some(pair) => pair.1 = new,
                None => added.push((old, new)),
            }
        }
        self.replace_needed.extend(added);
        self.search_path = later.search_path.or(self.search_path);
        self.soname = later.soname.or(self.soname);
        self.nodelete |= later.nodelete;
        self.rename_imports.extend(later.rename_imports);
        self
    }
}

/// The patched file, or an error saying why it cannot be patched.
pub fn patch(input: &[u8], edits: &Edits) -> Result<Vec<u8>> {
    let mut out = input.to_vec();
    patch_buffer(&mut out, edits)?;
    Ok(out)
}

/// Patches `file` where it is, mapped into memory, so that only the pages
/// the patch reads and writes are ever held: `file` must be a temporary
/// file of this process's own, which nothing else writes or truncates.
/// A file that cannot be patched may be left half patched.
pub fn patch_temporary(file: &File, edits: &Edits) -> Result<()> {
    patch_buffer(&mut Mapped::new(file)?, edits)
}

fn patch_buffer(out: &mut dyn Buffer, edits: &Edits) -> Result<()> {
    if !edits.rename_imports.is_empty() {
        super::rename::rename_imports(out.bytes_mut(), &edits.rename_imports)?;
        let rest = Edits {
            rename_imports: Vec::new(),
            ..edits.clone()
        };
        if rest.is_empty() {
            return Ok(());
        }
    }
    let symbols = dynamic_symbols(out.bytes()).ok();
    let image = Image::parse(out.bytes())?;
    let needed: Vec<String> = image
        .strings(DT_NEEDED)?
        .into_iter()
        .map(String::from)
        .collect();
    let mut strings = Strings {
        old: image.strtab,
        appended: Vec::new(),
    };
    let (entries, vn_files) = edit_entries(&image, edits, &mut strings)?;
    // One slot stays for the terminating DT_NULL.
    let fits = (entries.len() as u64) < image.dynamic.slots;
    let appended = strings.appended;
    // `vn_file` fields change where they are, before `.gnu.version_r`
    // may move with the sections behind the program headers.
    for (at, value) in vn_files {
        put_u32(out.bytes_mut(), at, value)?;
    }
    let image = Image::parse(out.bytes())?;
    let writes = if appended.is_empty() && fits {
        in_place(&image, &entries)
    } else {
        segment::append(&image, &entries, image.strtab, &appended)?
    };
    writes.apply(out)?;
    let checked = check_output(&needed, edits, out.bytes())
        .and_then(|()| check_symbols_kept(symbols, out.bytes()));
    checked.context("the patched file fails its checks")
}

/// What a patch must keep of the dynamic symbols.
type Symbols = Vec<(usize, u8, usize, u64)>;

fn dynamic_symbols(bytes: &[u8]) -> Result<Symbols> {
    let elf = super::read::parse(bytes)?;
    let symbols = elf.dynsyms.iter();
    Ok(symbols
        .map(|s| (s.st_name, s.st_info, s.st_shndx, s.st_value))
        .collect())
}

/// A patch never changes the dynamic symbols: in a file whose tables
/// overlap what the patch rewrites, it would overwrite them.  `before`
/// is None when the input's could not be read.
fn check_symbols_kept(before: Option<Symbols>, out: &[u8]) -> Result<()> {
    match before {
        Some(before) if dynamic_symbols(out)? != before => {
            bail!("its dynamic symbols changed: its tables overlap, so it is corrupt")
        }
        _ => Ok(()),
    }
}

/// Patches `input` into `output` (which may be the same path): made in a
/// file beside `output`, then renamed over it, so `output` is never a
/// truncated file.  Keeps `input`'s permissions.
pub fn patch_file(input: &Path, output: &Path, edits: &Edits) -> Result<()> {
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
    let mut source =
        File::open(input).with_context(|| format!("cannot read `{}`", input.display()))?;
    std::io::copy(&mut source, temp.as_file_mut())
        .with_context(|| format!("cannot copy `{}`", input.display()))?;
    patch_temporary(temp.as_file(), edits)
        .with_context(|| format!("cannot patch `{}`", input.display()))?;
    temp.as_file()
        .sync_all()
        .with_context(|| format!("cannot write `{}`", temp.path().display()))?;
    let mode = source
        .metadata()
        .with_context(|| format!("cannot read `{}`", input.display()))?
        .permissions()
        .mode();
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of `{}`", temp.path().display()))?;
    temp.persist(output)
        .with_context(|| format!("cannot move the patched file to `{}`", output.display()))?;
    Ok(())
}

/// `p_offset ≡ p_vaddr (mod p_align)` for every `PT_LOAD` (glibc before
/// 2.35 refuses files that break it), and loaded segments in ascending,
/// non-overlapping order.
pub fn check_load_alignment(image: &Image) -> Result<()> {
    let mut previous_end = 0u64;
    for (i, p) in image.loads().enumerate() {
        let align = p.p_align.max(1);
        if p.p_offset % align != p.p_vaddr % align {
            bail!(
                "PT_LOAD {i}: offset {:#x} and address {:#x} disagree modulo {align:#x}",
                p.p_offset,
                p.p_vaddr
            );
        }
        if p.p_vaddr < previous_end {
            bail!(
                "PT_LOAD {i} at {:#x} overlaps the segment before",
                p.p_vaddr
            );
        }
        previous_end = p
            .p_vaddr
            .checked_add(p.p_memsz)
            .ok_or_else(|| anyhow!("PT_LOAD {i} overflows"))?;
    }
    Ok(())
}

/// The dynamic string table: the old one, plus what this patch appends.
struct Strings<'a> {
    old: &'a [u8],
    appended: Vec<u8>,
}

impl Strings<'_> {
    /// The offset of `value`, appended only when no existing string (or
    /// string tail) already spells it.
    fn offset(&mut self, value: &str) -> Result<u64> {
        if value.as_bytes().contains(&0) {
            bail!("`{value}` contains a NUL byte");
        }
        let mut wanted = value.as_bytes().to_vec();
        wanted.push(0);
        if let Some(at) = find(self.old, &wanted) {
            return Ok(at as u64);
        }
        if let Some(at) = find(&self.appended, &wanted) {
            return Ok((self.old.len() + at) as u64);
        }
        let at = self.old.len() + self.appended.len();
        self.appended.extend_from_slice(&wanted);
        Ok(at as u64)
    }

    fn get(&self, offset: u64) -> Result<&str> {
        let old = self.old.len() as u64;
        if offset < old {
            c_str(self.old, offset)
        } else {
            c_str(&self.appended, offset - old)
        }
    }

    /// Keeps `current` when it already names `value`.
    fn offset_keeping(&mut self, current: Option<u64>, value: &str) -> Result<u64> {
        match current {
            Some(at) if self.get(at).ok() == Some(value) => Ok(at),
            _ => self.offset(value),
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

pub(super) type Entries = Vec<(u64, u64)>;

/// The new dynamic entries, and the new values of `vn_file` fields.
fn edit_entries(
    image: &Image,
    edits: &Edits,
    strings: &mut Strings,
) -> Result<(Entries, Vec<(u64, u32)>)> {
    let mut entries = image.dynamic.entries.clone();
    let mut vn_files = image
        .vn_files
        .iter()
        .map(|&at| Ok((at, u32_at(image.bytes, at)?)))
        .collect::<Result<Vec<_>>>()?;
    for (old, new) in &edits.replace_needed {
        for entry in entries.iter_mut().filter(|e| e.0 == DT_NEEDED) {
            if strings.get(entry.1)? == old {
                entry.1 = strings.offset(new)?;
            }
        }
        for (_, value) in vn_files.iter_mut() {
            if strings.get(u64::from(*value))? == old {
                let at = strings.offset(new)?;
                *value = u32::try_from(at).map_err(|_| anyhow!("string table too large"))?;
            }
        }
    }
    if let Some(path) = &edits.search_path {
        set_search_path(&mut entries, path, strings)?;
    }
    if let Some(soname) = &edits.soname {
        let current = entries.iter().position(|e| e.0 == DT_SONAME);
        let value = strings.offset_keeping(current.map(|i| entries[i].1), soname)?;
        set_or_push(&mut entries, current, (DT_SONAME, value));
    }
    if edits.nodelete {
        let current = entries.iter().position(|e| e.0 == DT_FLAGS_1);
        let flags = current.map_or(0, |i| entries[i].1) | DF_1_NODELETE;
        set_or_push(&mut entries, current, (DT_FLAGS_1, flags));
    }
    let original = image.vn_files.iter().map(|&at| u32_at(image.bytes, at));
    let mut changed = Vec::new();
    for ((at, value), old) in vn_files.into_iter().zip(original) {
        if old? != value {
            changed.push((at, value));
        }
    }
    Ok((entries, changed))
}

/// One entry of the wanted kind, in the place of the first existing
/// `DT_RPATH` or `DT_RUNPATH`; the others are removed.
fn set_search_path(entries: &mut Entries, path: &SearchPath, strings: &mut Strings) -> Result<()> {
    let tag = match path.kind {
        PathKind::Rpath => DT_RPATH,
        PathKind::Runpath => DT_RUNPATH,
    };
    let is_path = |e: &(u64, u64)| e.0 == DT_RPATH || e.0 == DT_RUNPATH;
    let first = entries.iter().position(is_path);
    let current = first.map(|i| entries[i]).filter(|e| e.0 == tag);
    let value = strings.offset_keeping(current.map(|e| e.1), &path.value)?;
    match first {
        Some(i) => {
            entries[i] = (tag, value);
            let mut index = 0;
            entries.retain(|e| {
                index += 1;
                index - 1 == i || !is_path(e)
            });
        }
        None => entries.push((tag, value)),
    }
    Ok(())
}

fn set_or_push(entries: &mut Entries, at: Option<usize>, entry: (u64, u64)) {
    match at {
        Some(i) => entries[i] = entry,
        None => entries.push(entry),
    }
}

pub(super) fn encode_entries(entries: &Entries, slots: u64) -> Vec<u8> {
    let mut table = Vec::with_capacity((slots * DYN_SIZE) as usize);
    for (tag, value) in entries {
        table.extend_from_slice(&tag.to_le_bytes());
        table.extend_from_slice(&value.to_le_bytes());
    }
    table.resize((slots * DYN_SIZE) as usize, 0);
    table
}

/// The fast path: the dynamic table is rewritten where it is, the rest of
/// its slots filled with `DT_NULL`.
fn in_place(image: &Image, entries: &Entries) -> Writes {
    let mut writes = Writes::new(image.bytes.len() as u64);
    let table = encode_entries(entries, image.dynamic.slots);
    writes.put(image.dynamic.offset, &table);
    writes
}

/// The output parses (with our reader and goblin), its segments obey the
/// alignment rule, and it reads back with exactly the values asked for.
fn check_output(needed: &[String], edits: &Edits, out: &[u8]) -> Result<()> {
    let image = Image::parse(out)?;
    check_load_alignment(&image)?;
    goblin::elf::Elf::parse(out).map_err(|e| anyhow!("goblin cannot read it: {e}"))?;
    let mut needed: Vec<&str> = needed.iter().map(String::as_str).collect();
    for (old, new) in &edits.replace_needed {
        for name in needed.iter_mut() {
            if name == old {
                *name = new;
            }
        }
    }
    expect("DT_NEEDED", image.strings(DT_NEEDED)?, needed)?;
    if let Some(path) = &edits.search_path {
        let (wanted, other) = match path.kind {
            PathKind::Rpath => (DT_RPATH, DT_RUNPATH),
            PathKind::Runpath => (DT_RUNPATH, DT_RPATH),
        };
        expect(
            "search path",
            image.strings(wanted)?,
            vec![path.value.as_str()],
        )?;
        expect("other search path", image.strings(other)?, vec![])?;
    }
    if let Some(soname) = &edits.soname {
        expect(
            "DT_SONAME",
            image.strings(DT_SONAME)?,
            vec![soname.as_str()],
        )?;
    }
    if edits.nodelete && !image.values(DT_FLAGS_1).any(|f| f & DF_1_NODELETE != 0) {
        bail!("DF_1_NODELETE is not set");
    }
    let mut files = Vec::new();
    for &at in &image.vn_files {
        files.push(image.string(u64::from(u32_at(out, at)?))?);
    }
    for (old, _) in &edits.replace_needed {
        if files.contains(&old.as_str()) && !image.strings(DT_NEEDED)?.contains(&old.as_str()) {
            bail!("`.gnu.version_r` still names `{old}`");
        }
    }
    Ok(())
}

fn expect(what: &str, found: Vec<&str>, wanted: Vec<&str>) -> Result<()> {
    if found != wanted {
        bail!("{what} reads back as {found:?}, not {wanted:?}");
    }
    Ok(())
}
