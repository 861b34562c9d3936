//! The new segment the writer appends when the dynamic table or its
//! strings do not fit where they are: one `PF_R|PF_W` `PT_LOAD` at the end
//! of the file, above every existing segment, with `p_offset ≡ p_vaddr
//! (mod p_align)`, holding the sections moved out from behind the program
//! headers to make room for the segment's own entry (`headroom`), the new
//! `.dynstr` and the new `.dynamic`.  The program headers stay at the
//! start of the file, as binutils expects them (a file without room there
//! gets them at the end of the new segment).  `PT_PHDR`, `PT_DYNAMIC`, the
//! segments of moved sections, the ELF header, the moved sections'
//! headers and symbols, and any `_DYNAMIC` symbol are pointed at the new
//! places.

use anyhow::{anyhow, bail, Result};

use super::buffer::Writes;
use super::bytes::{align_up, c_str, slice, u16_at, u32_at, u64_at};
use super::headroom::{self, is_address_tag, Block};
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

/// How far the block moved from behind the program headers went: its
/// sections' addresses grow by `vaddr`, their file offsets by `offset`.
struct Shift<'b> {
    block: &'b Block,
    vaddr: u64,
    offset: u64,
}

impl Shift<'_> {
    /// Where the byte at file offset `at` of the input is in the output.
    fn offset_of(&self, at: u64) -> u64 {
        if at >= self.block.offset && at < self.block.offset + self.block.len {
            at + self.offset
        } else {
            at
        }
    }
}

/// The file with the new segment appended.  It holds the sections moved
/// from behind the program headers (`headroom`), `old` strings plus
/// `appended` (when there are any) and the dynamic table `entries`; the
/// program headers stay where they are, one longer.  A file without room
/// for them there gets them at the end of the new segment instead.
pub fn append(image: &Image, entries: &Entries, old: &[u8], appended: &[u8]) -> Result<Writes> {
    let mut align = PAGE;
    for p in image.loads() {
        align = align.max(p.p_align);
    }
    if !align.is_power_of_two() {
        bail!("segment alignment {align:#x} is not a power of two");
    }
    let (offset, vaddr) = place_segment(image, align)?;
    let room = headroom::room(image, 1);

    let mut segment = Vec::new();
    let shift = match room.as_ref().filter(|b| b.len > 0) {
        Some(block) => {
            // The block keeps its address modulo its alignment.
            let at = (block.vaddr % block.align + block.align - vaddr % block.align) % block.align;
            segment.resize(at as usize, 0);
            segment.extend_from_slice(slice(image.bytes, block.offset, block.len)?);
            let moved = || anyhow!("the moved sections lie above the new segment");
            Some(Shift {
                block,
                vaddr: (vaddr + at).checked_sub(block.vaddr).ok_or_else(moved)?,
                offset: (offset + at).checked_sub(block.offset).ok_or_else(moved)?,
            })
        }
        None => None,
    };
    let mut entries = entries.clone();
    if let Some(shift) = &shift {
        for entry in entries.iter_mut() {
            if is_address_tag(entry.0) && shift.block.holds(entry.1, 1) {
                entry.1 = entry.1.wrapping_add(shift.vaddr);
            }
        }
    }
    let strtab_at = segment.len() as u64;
    if !appended.is_empty() {
        segment.extend_from_slice(old);
        segment.extend_from_slice(appended);
        for entry in entries.iter_mut() {
            match entry.0 {
                DT_STRTAB => entry.1 = vaddr + strtab_at,
                DT_STRSZ => entry.1 = (old.len() + appended.len()) as u64,
                _ => {}
            }
        }
    }
    segment.resize(align_up(segment.len() as u64, 8).unwrap_or(0) as usize, 0);
    let dynamic_at = segment.len() as u64;
    let slots = entries.len() as u64 + 1;
    segment.extend_from_slice(&encode_entries(&entries, slots));
    let phnum = image.phdrs.len() as u64 + 1;
    let (phoff, phdrs_vaddr) = match room {
        Some(_) => (image.phoff, image.phoff + first_vaddr(image)?),
        None => (offset + segment.len() as u64, vaddr + segment.len() as u64),
    };
    let size = match room {
        Some(_) => segment.len() as u64,
        None => segment.len() as u64 + phnum * PHDR_SIZE,
    };
    let new = New {
        load: (offset, vaddr, size, align),
        dynamic: (offset + dynamic_at, vaddr + dynamic_at, slots * DYN_SIZE),
        phdrs: (phoff, phdrs_vaddr, phnum * PHDR_SIZE),
    };
    let phdrs = new_phdrs(image, &new, shift.as_ref());
    let table: Vec<u8> = phdrs.iter().flat_map(encode_phdr).collect();
    if room.is_none() {
        segment.extend_from_slice(&table);
    }

    let padding = offset.saturating_sub(image.bytes.len() as u64);
    if padding > MAX_PADDING {
        bail!("the new segment would need {padding} bytes of padding");
    }
    // The bytes between the file's end and the segment stay zero.
    let mut out = Writes::new(offset + segment.len() as u64);
    out.put(offset, &segment);
    if room.is_some() {
        out.put(phoff, &table);
    }
    out.put_u64(32, phoff);
    out.put_u16(
        56,
        u16::try_from(phnum).map_err(|_| anyhow!("too many segments"))?,
    );
    let strsz = (old.len() + appended.len()) as u64;
    let strtab = (!appended.is_empty()).then_some((offset + strtab_at, vaddr + strtab_at, strsz));
    move_section_headers(image, &mut out, shift.as_ref(), new.dynamic, strtab);
    // A symbol table we cannot read is left as it is: ld.so never reads
    // `_DYNAMIC` of a library.
    let _ = move_symbols(image, &mut out, shift.as_ref(), new.dynamic.1);
    Ok(out)
}

/// Where the new pieces are: the segment (offset, address, size,
/// alignment), the dynamic table and the program headers (offset,
/// address, size).
struct New {
    load: (u64, u64, u64, u64),
    dynamic: (u64, u64, u64),
    phdrs: (u64, u64, u64),
}

/// The address of the file's first byte (the first segment maps it).
fn first_vaddr(image: &Image) -> Result<u64> {
    image
        .loads()
        .find(|p| p.p_offset == 0)
        .map(|p| p.p_vaddr)
        .ok_or_else(|| anyhow!("no segment maps the file's start"))
}

/// The program headers with `PT_DYNAMIC` and the segments of moved
/// sections pointed at their new places, `PT_PHDR` at the table, and the
/// new `PT_LOAD` after the last one.
fn new_phdrs(image: &Image, new: &New, shift: Option<&Shift>) -> Vec<Phdr> {
    let (offset, vaddr, size, align) = new.load;
    let mut phdrs = image.phdrs.clone();
    for p in phdrs.iter_mut() {
        let (at, address, len) = match p.p_type {
            PT_PHDR => new.phdrs,
            PT_DYNAMIC => new.dynamic,
            PT_LOAD => continue,
            _ => match shift {
                Some(s) if s.block.holds(p.p_vaddr, p.p_memsz) && p.p_filesz != 0 => {
                    let at = p.p_offset.wrapping_add(s.offset);
                    (at, p.p_vaddr.wrapping_add(s.vaddr), p.p_filesz)
                }
                _ => continue,
            },
        };
        p.p_offset = at;
        p.p_vaddr = address;
        p.p_paddr = address;
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

/// Points the section headers of the moved sections, of `.dynamic` (and,
/// when it moved, of `.dynstr`) at their new places, so that tools see
/// what the loader sees.
fn move_section_headers(
    image: &Image,
    out: &mut Writes,
    shift: Option<&Shift>,
    dynamic: (u64, u64, u64),
    strtab: Option<(u64, u64, u64)>,
) {
    for (i, s) in image.shdrs.iter().enumerate() {
        let moved = if s.sh_type == SHT_DYNAMIC {
            Some(dynamic)
        } else if s.sh_type == SHT_STRTAB
            && s.sh_flags & SHF_ALLOC != 0
            && s.sh_addr == image.strtab_vaddr
            && strtab.is_some()
        {
            strtab
        } else {
            shift
                .filter(|shift| shift.block.sections.contains(&i))
                .map(|shift| {
                    (
                        s.sh_offset + shift.offset,
                        s.sh_addr + shift.vaddr,
                        s.sh_size,
                    )
                })
        };
        if let Some((offset, vaddr, size)) = moved {
            let at = image.shoff + i as u64 * SHDR_SIZE;
            out.put_u64(at + 16, vaddr);
            out.put_u64(at + 24, offset);
            out.put_u64(at + 32, size);
        }
    }
}

/// Sets the `_DYNAMIC` symbol of `.symtab` and `.dynsym` to the new
/// table, and moves the symbols of moved sections with them.
fn move_symbols(
    image: &Image,
    out: &mut Writes,
    shift: Option<&Shift>,
    dynamic: u64,
) -> Result<()> {
    const SYM_SIZE: u64 = 24;
    for (index, s) in image.shdrs.iter().enumerate() {
        if (s.sh_type != SHT_SYMTAB && s.sh_type != SHT_DYNSYM) || s.sh_entsize != SYM_SIZE {
            continue;
        }
        let names = image
            .shdrs
            .get(s.sh_link as usize)
            .ok_or_else(|| anyhow!("symbol table without string table"))?;
        let names = slice(image.bytes, names.sh_offset, names.sh_size)?;
        slice(image.bytes, s.sh_offset, s.sh_size)?;
        let table_moves = shift.is_some_and(|shift| shift.block.sections.contains(&index));
        for i in 0..s.sh_size / SYM_SIZE {
            let at = s.sh_offset + i * SYM_SIZE;
            let name = u32_at(image.bytes, at)?;
            let section = u16_at(image.bytes, at + 6)?;
            let value = u64_at(image.bytes, at + 8)?;
            let new = if name != 0 && c_str(names, u64::from(name)).ok() == Some("_DYNAMIC") {
                dynamic
            } else {
                match shift {
                    Some(shift) if shift.block.sections.contains(&usize::from(section)) => {
                        value.wrapping_add(shift.vaddr)
                    }
                    _ => continue,
                }
            };
            let at = match (table_moves, shift) {
                (true, Some(shift)) => shift.offset_of(at),
                _ => at,
            };
            out.put_u64(at + 8, new);
        }
    }
    Ok(())
}
