//! Room for one more program header where the linker put the table: at
//! the start of the file, inside the first `PT_LOAD`.  The table must stay
//! there for binutils: `strip` and `objcopy` lay a file out again assuming
//! the program headers open the first segment, and a table found in a
//! later segment makes them move that segment's sections to addresses
//! that are no longer where the code and the dynamic table say (the
//! stripped file then crashes its host).
//!
//! The linker leaves no gap after the table, so the sections right after
//! it move out, whole and together, into the segment the writer appends:
//! `.interp`, notes, hash tables, `.dynsym`, version tables, dynamic
//! relocations — sections only the program headers and the dynamic table
//! point at, never code.  A file whose table is elsewhere, or whose next
//! sections are of another kind, gets no room (`None`).

use std::collections::BTreeSet;

use super::image::*;

/// The block of the file that moves away from behind the program
/// headers: `len` bytes at file offset `offset` (address `vaddr`), which
/// must keep its address modulo `align`, holding the sections `sections`
/// (by index).  An empty block when there is room already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    pub offset: u64,
    pub vaddr: u64,
    pub len: u64,
    pub align: u64,
    pub sections: BTreeSet<usize>,
}

impl Block {
    /// Whether the address range `[vaddr, vaddr + len)` lies in the block.
    pub fn holds(&self, vaddr: u64, len: u64) -> bool {
        let block_end = self.vaddr.saturating_add(self.len);
        vaddr >= self.vaddr && vaddr.checked_add(len).is_some_and(|end| end <= block_end)
    }
}

/// What must move so that `extra` more program headers fit after the
/// table, or `None` when they cannot be made to fit there.
pub fn room(image: &Image, extra: u64) -> Option<Block> {
    let first = image.loads().min_by_key(|p| p.p_offset)?;
    let start = image
        .phoff
        .checked_add(image.phdrs.len() as u64 * PHDR_SIZE)?;
    let wanted = start.checked_add(extra * PHDR_SIZE)?;
    if first.p_offset != 0 || image.phoff < EHDR_SIZE || wanted > first.p_filesz {
        return None;
    }
    let address = |offset: u64| first.p_vaddr.checked_add(offset);
    let mut end = start;
    let mut sections = BTreeSet::new();
    loop {
        let before = (end, sections.len());
        let limit = end.max(wanted);
        for (i, s) in image.shdrs.iter().enumerate() {
            if s.sh_flags & SHF_ALLOC == 0 || s.sh_type == SHT_NOBITS {
                continue;
            }
            let s_end = s.sh_offset.checked_add(s.sh_size)?;
            let touches = match s.sh_size {
                0 => s.sh_offset >= start && s.sh_offset < limit,
                _ => s.sh_offset < limit && s_end > start,
            };
            if !touches {
                continue;
            }
            if s.sh_offset < start || address(s.sh_offset)? != s.sh_addr || !movable(image, s) {
                return None;
            }
            sections.insert(i);
            end = end.max(s_end);
        }
        for p in image.phdrs.iter().filter(|p| follows_sections(p)) {
            let p_end = p.p_offset.checked_add(p.p_filesz)?;
            if p.p_offset < limit && p_end > start {
                if p.p_offset < start || address(p.p_offset)? != p.p_vaddr {
                    return None;
                }
                end = end.max(p_end);
            }
        }
        if (end, sections.len()) == before {
            break;
        }
    }
    if end > first.p_filesz {
        return None;
    }
    let mut align = 8;
    for &i in &sections {
        align = align.max(image.shdrs[i].sh_addralign);
    }
    for p in image.phdrs.iter().filter(|p| follows_sections(p)) {
        if p.p_offset >= start && p.p_offset < end {
            align = align.max(p.p_align);
        }
    }
    if !align.is_power_of_two() || align > 0x1000 {
        return None;
    }
    Some(Block {
        offset: start,
        vaddr: address(start)?,
        len: end - start,
        align,
        sections,
    })
}

/// Segments that describe sections (notes, the interpreter's name, ...),
/// as opposed to the loaded segments and the table itself.
fn follows_sections(p: &Phdr) -> bool {
    !matches!(p.p_type, PT_LOAD | PT_PHDR | PT_GNU_STACK) && p.p_filesz != 0
}

/// Sections that only the program headers and the dynamic table point at.
fn movable(image: &Image, s: &Shdr) -> bool {
    match s.sh_type {
        SHT_NOTE | SHT_HASH | SHT_GNU_HASH | SHT_DYNSYM | SHT_GNU_VERSYM | SHT_GNU_VERNEED
        | SHT_GNU_VERDEF | SHT_RELA | SHT_REL | SHT_RELR => true,
        SHT_STRTAB => s.sh_addr == image.strtab_vaddr,
        // `.interp`: exactly what `PT_INTERP` names.
        SHT_PROGBITS => image
            .phdrs
            .iter()
            .any(|p| p.p_type == PT_INTERP && p.p_offset == s.sh_offset && p.p_filesz == s.sh_size),
        _ => false,
    }
}

/// Dynamic tags whose value is an address (the ones a moved section can
/// be named by; `DT_STRTAB` among them).
pub fn is_address_tag(tag: u64) -> bool {
    matches!(
        tag,
        3 | 4 | 5 | 6 | 7 | 12 | 13 | 17 | 23 | 25 | 26 | 32 | 36
    ) || (0x6fff_fe00..=0x6fff_feff).contains(&tag)
        || matches!(tag, 0x6fff_fff0 | 0x6fff_fffc | 0x6fff_fffe)
}
