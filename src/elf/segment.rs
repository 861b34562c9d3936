//! The new segment the writer appends when the dynamic table or its
//! strings do not fit where they are: one `PF_R|PF_W` `PT_LOAD` at the end
//! of the file, above every existing segment, holding the new `.dynstr`,
//! the new `.dynamic` and a copy of the program headers (which grew by
//! this segment's entry), with `p_offset ≡ p_vaddr (mod p_align)`.
//! `PT_PHDR`, `PT_DYNAMIC`, the ELF header, the moved sections' headers and
//! any `_DYNAMIC` symbol are pointed at the new places.

use anyhow::{anyhow, bail, Result};

use super::bytes::{align_up, c_str, put_u16, put_u64, slice, u32_at};
use super::image::*;
use super::write::{encode_entries, Entries};

/// Loaded segments are aligned to at least one page.
const PAGE: u64 = 0x1000;
/// More zero padding than this before the new segment is refused (an
/// executable with a huge `.bss`, or a corrupt file).
const MAX_PADDING: u64 = 64 << 20;

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

/// The file with the new segment appended: `old` strings plus
/// `appended` (when there are any), the dynamic table `entries`, and the
/// program headers.
pub fn append(image: &Image, entries: &Entries, old: &[u8], appended: &[u8]) -> Result<Vec<u8>> {
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
    if !appended.is_empty() {
        segment.extend_from_slice(old);
        segment.extend_from_slice(appended);
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
    let strsz = (old.len() + appended.len()) as u64;
    let strtab = (!appended.is_empty()).then_some((offset, vaddr, strsz));
    move_section_headers(image, &mut out, dynamic, strtab)?;
    // A symbol table we cannot read is left as it is: ld.so never reads
    // `_DYNAMIC` of a library.
    let _ = move_dynamic_symbol(image, &mut out, vaddr + dynamic_at);
    Ok(out)
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
