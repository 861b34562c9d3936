//! The append-only writer: sets `DT_RPATH`/`DT_RUNPATH`, replaces
//! `DT_NEEDED` entries (with the `vn_file` names of `.gnu.version_r`),
//! sets `DT_SONAME` and `DF_1_NODELETE`.
//!
//! Existing bytes are never reused for new data.  New strings are
//! appended to a copy of `.dynstr` (every old offset stays valid, so
//! strings GNU ld tail-merged are never overwritten).  When the strings
//! and the dynamic table still fit where they are (no new string, a spare
//! `DT_NULL` slot for each new entry, as GNU ld leaves them) the table is
//! edited in place.  Otherwise the new `.dynstr`, the new `.dynamic` and a
//! copy of the program header table go into one new `PF_R|PF_W`
//! `PT_LOAD` at the end of the file, above every existing segment, with
//! `p_offset ≡ p_vaddr (mod p_align)`; `PT_PHDR`, `PT_DYNAMIC`, the header,
//! the moved sections' headers and any `_DYNAMIC` symbol follow.  Every
//! output is parsed again and checked before it is returned.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};

use super::bytes::{align_up, c_str, put, put_u16, put_u32, put_u64, slice, u32_at};
use super::image::*;

/// Loaded segments are aligned to at least one page.
const PAGE: u64 = 0x1000;
/// More zero padding than this before the new segment is refused (an
/// executable with a huge `.bss`, or a corrupt file).
const MAX_PADDING: u64 = 64 << 20;

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
}

impl Edits {
    pub fn is_empty(&self) -> bool {
        *self == Edits::default()
    }
}

/// The patched file, or an error saying why it cannot be patched.
pub fn patch(input: &[u8], edits: &Edits) -> Result<Vec<u8>> {
    let image = Image::parse(input)?;
    let mut strings = Strings {
        old: image.strtab,
        appended: Vec::new(),
    };
    let (entries, vn_files) = edit_entries(&image, edits, &mut strings)?;
    let fits = entries.len() as u64 + 1 <= image.dynamic.slots;
    let mut out = if strings.appended.is_empty() && fits {
        in_place(&image, &entries)?
    } else {
        append_segment(&image, &entries, &strings)?
    };
    for (at, value) in vn_files {
        put_u32(&mut out, at, value)?;
    }
    check_output(&image, edits, &out).context("the patched file fails its checks")?;
    Ok(out)
}

/// Patches `input` into `output` (which may be the same path): written
/// beside `output`, read back and checked, then renamed over it, so
/// `output` is never a truncated file.  Keeps `input`'s permissions.
pub fn patch_file(input: &Path, output: &Path, edits: &Edits) -> Result<()> {
    let bytes =
        std::fs::read(input).with_context(|| format!("cannot read `{}`", input.display()))?;
    let patched =
        patch(&bytes, edits).with_context(|| format!("cannot patch `{}`", input.display()))?;
    let dir = output
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a file in `{}`", dir.display()))?;
    let written = temp
        .write_all(&patched)
        .and_then(|()| temp.as_file().sync_all());
    written.with_context(|| format!("cannot write `{}`", temp.path().display()))?;
    let mode = std::fs::metadata(input)
        .with_context(|| format!("cannot read `{}`", input.display()))?
        .permissions()
        .mode();
    std::fs::set_permissions(temp.path(), std::fs::Permissions::from_mode(mode))
        .with_context(|| format!("cannot set the mode of `{}`", temp.path().display()))?;
    let reread = std::fs::read(temp.path())
        .with_context(|| format!("cannot read `{}` back", temp.path().display()))?;
    if reread != patched {
        bail!("`{}` does not read back as written", temp.path().display());
    }
    check_load_alignment(&Image::parse(&reread)?)?;
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

type Entries = Vec<(u64, u64)>;

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

fn encode_entries(entries: &Entries, slots: u64) -> Vec<u8> {
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
fn in_place(image: &Image, entries: &Entries) -> Result<Vec<u8>> {
    let mut out = image.bytes.to_vec();
    let table = encode_entries(entries, image.dynamic.slots);
    put(&mut out, image.dynamic.offset, &table)?;
    Ok(out)
}

/// Where the new segment goes: its file offset and address.
fn place_segment(image: &Image, align: u64) -> Result<(u64, u64)> {
    let overflow = || anyhow!("the file's addresses overflow");
    let mut end = 0u64;
    for p in image.loads() {
        end = end.max(p.p_vaddr.checked_add(p.p_memsz).ok_or_else(overflow)?);
    }
    let file_end = align_up(image.bytes.len() as u64, 16).ok_or_else(overflow)?;
    let above = align_up(end, align).ok_or_else(overflow)?;
    if image.is_executable {
        // Kernels before 5.18 find the program headers at the first
        // segment's `p_vaddr - p_offset` plus `e_phoff`: keep that
        // difference for the new segment, which holds them.
        let first = image
            .loads()
            .min_by_key(|p| p.p_vaddr)
            .ok_or_else(|| anyhow!("no loadable segment"))?;
        let delta = first
            .p_vaddr
            .checked_sub(first.p_offset)
            .filter(|d| d % align == 0)
            .ok_or_else(|| anyhow!("the first segment's address and offset disagree"))?;
        let offset = file_end.max(above.saturating_sub(delta));
        let offset = align_up(offset, 16).ok_or_else(overflow)?;
        Ok((offset, offset.checked_add(delta).ok_or_else(overflow)?))
    } else {
        let vaddr = above.checked_add(file_end % align).ok_or_else(overflow)?;
        Ok((file_end, vaddr))
    }
}

fn append_segment(image: &Image, entries: &Entries, strings: &Strings) -> Result<Vec<u8>> {
    let mut align = PAGE;
    for p in image.loads() {
        align = align.max(p.p_align);
    }
    if !align.is_power_of_two() {
        bail!("segment alignment {align:#x} is not a power of two");
    }
    let (offset, vaddr) = place_segment(image, align)?;

    let mut segment = Vec::new();
    let mut entries = entries.clone();
    if !strings.appended.is_empty() {
        segment.extend_from_slice(strings.old);
        segment.extend_from_slice(&strings.appended);
        for entry in entries.iter_mut() {
            match entry.0 {
                DT_STRTAB => entry.1 = vaddr,
                DT_STRSZ => entry.1 = segment.len() as u64,
                _ => {}
            }
        }
    }
    segment.resize(align_up(segment.len() as u64, 8).unwrap_or(0) as usize, 0);
    let dynamic_at = segment.len() as u64;
    let slots = entries.len() as u64 + 1;
    segment.extend_from_slice(&encode_entries(&entries, slots));
    let phdrs_at = segment.len() as u64;
    let phnum = image.phdrs.len() as u64 + 1;
    let size = phdrs_at + phnum * PHDR_SIZE;
    let phdrs = new_phdrs(
        image,
        (offset, vaddr, size, align),
        dynamic_at,
        slots,
        phdrs_at,
    );
    for p in &phdrs {
        segment.extend_from_slice(&encode_phdr(p));
    }

    let padding = offset.saturating_sub(image.bytes.len() as u64);
    if padding > MAX_PADDING {
        bail!("the new segment would need {padding} bytes of padding");
    }
    let mut out = image.bytes.to_vec();
    out.resize(usize::try_from(offset)?, 0);
    out.extend_from_slice(&segment);
    put_u64(&mut out, 32, offset + phdrs_at)?;
    put_u16(
        &mut out,
        56,
        u16::try_from(phnum).map_err(|_| anyhow!("too many segments"))?,
    )?;
    let dynamic = (offset + dynamic_at, vaddr + dynamic_at, slots * DYN_SIZE);
    let strtab = (!strings.appended.is_empty()).then_some((offset, vaddr, segment_strsz(strings)));
    move_section_headers(image, &mut out, dynamic, strtab)?;
    // A symbol table we cannot read is left as it is: ld.so never reads
    // `_DYNAMIC` of a library.
    let _ = move_dynamic_symbol(image, &mut out, vaddr + dynamic_at);
    Ok(out)
}

fn segment_strsz(strings: &Strings) -> u64 {
    (strings.old.len() + strings.appended.len()) as u64
}

/// The program headers with `PT_PHDR` and `PT_DYNAMIC` moved into the new
/// segment, and the new `PT_LOAD` after the last one.
fn new_phdrs(
    image: &Image,
    (offset, vaddr, size, align): (u64, u64, u64, u64),
    dynamic_at: u64,
    slots: u64,
    phdrs_at: u64,
) -> Vec<Phdr> {
    let phnum = image.phdrs.len() as u64 + 1;
    let mut phdrs = image.phdrs.clone();
    for p in phdrs.iter_mut() {
        let (at, len) = match p.p_type {
            PT_PHDR => (phdrs_at, phnum * PHDR_SIZE),
            PT_DYNAMIC => (dynamic_at, slots * DYN_SIZE),
            _ => continue,
        };
        p.p_offset = offset + at;
        p.p_vaddr = vaddr + at;
        p.p_paddr = vaddr + at;
        p.p_filesz = len;
        p.p_memsz = len;
    }
    let last_load = phdrs.iter().rposition(|p| p.p_type == PT_LOAD);
    let load = Phdr {
        p_type: PT_LOAD,
        p_flags: PF_R | PF_W,
        p_offset: offset,
        p_vaddr: vaddr,
        p_paddr: vaddr,
        p_filesz: size,
        p_memsz: size,
        p_align: align,
    };
    phdrs.insert(last_load.map_or(phdrs.len(), |i| i + 1), load);
    phdrs
}

fn encode_phdr(p: &Phdr) -> Vec<u8> {
    let mut out = Vec::with_capacity(PHDR_SIZE as usize);
    out.extend_from_slice(&p.p_type.to_le_bytes());
    out.extend_from_slice(&p.p_flags.to_le_bytes());
    for value in [
        p.p_offset, p.p_vaddr, p.p_paddr, p.p_filesz, p.p_memsz, p.p_align,
    ] {
        out.extend_from_slice(&value.to_le_bytes());
    }
    out
}

/// Points the `.dynamic` (and, when it moved, `.dynstr`) section headers
/// at their new place, so that tools see what the loader sees.
fn move_section_headers(
    image: &Image,
    out: &mut [u8],
    dynamic: (u64, u64, u64),
    strtab: Option<(u64, u64, u64)>,
) -> Result<()> {
    for (i, s) in image.shdrs.iter().enumerate() {
        let moved = if s.sh_type == SHT_DYNAMIC {
            Some(dynamic)
        } else if s.sh_type == SHT_STRTAB
            && s.sh_flags & SHF_ALLOC != 0
            && s.sh_addr == image.strtab_vaddr
        {
            strtab
        } else {
            None
        };
        if let Some((offset, vaddr, size)) = moved {
            let at = image.shoff + i as u64 * SHDR_SIZE;
            put_u64(out, at + 16, vaddr)?;
            put_u64(out, at + 24, offset)?;
            put_u64(out, at + 32, size)?;
        }
    }
    Ok(())
}

/// Sets the `_DYNAMIC` symbol of `.symtab` and `.dynsym` to the new table.
fn move_dynamic_symbol(image: &Image, out: &mut [u8], vaddr: u64) -> Result<()> {
    const SYM_SIZE: u64 = 24;
    for s in &image.shdrs {
        if (s.sh_type != SHT_SYMTAB && s.sh_type != SHT_DYNSYM) || s.sh_entsize != SYM_SIZE {
            continue;
        }
        let names = image
            .shdrs
            .get(s.sh_link as usize)
            .ok_or_else(|| anyhow!("symbol table without string table"))?;
        let names = slice(image.bytes, names.sh_offset, names.sh_size)?;
        slice(image.bytes, s.sh_offset, s.sh_size)?;
        for i in 0..s.sh_size / SYM_SIZE {
            let at = s.sh_offset + i * SYM_SIZE;
            let name = u32_at(image.bytes, at)?;
            if name != 0 && c_str(names, u64::from(name)).ok() == Some("_DYNAMIC") {
                put_u64(out, at + 8, vaddr)?;
            }
        }
    }
    Ok(())
}

/// The output parses (with our reader and goblin), its segments obey the
/// alignment rule, and it reads back with exactly the values asked for.
fn check_output(input: &Image, edits: &Edits, out: &[u8]) -> Result<()> {
    let image = Image::parse(out)?;
    check_load_alignment(&image)?;
    goblin::elf::Elf::parse(out).map_err(|e| anyhow!("goblin cannot read it: {e}"))?;
    let mut needed = input.strings(DT_NEEDED)?;
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
