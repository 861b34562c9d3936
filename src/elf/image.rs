//! The parts of an ELF file the writer edits, with their exact file
//! offsets: the header, the program and section headers, the dynamic
//! table, the dynamic string table and the `vn_file` fields of
//! `.gnu.version_r`.  Only 64-bit little-endian x86-64 files are accepted;
//! everything else is a clean error.

use anyhow::{anyhow, bail, Context, Result};

use super::bytes::{c_str, slice, u16_at, u32_at, u64_at};

pub const EHDR_SIZE: u64 = 64;
pub const PHDR_SIZE: u64 = 56;
pub const SHDR_SIZE: u64 = 64;
pub const DYN_SIZE: u64 = 16;

pub const PT_LOAD: u32 = 1;
pub const PT_DYNAMIC: u32 = 2;
pub const PT_INTERP: u32 = 3;
pub const PT_PHDR: u32 = 6;
pub const PT_GNU_STACK: u32 = 0x6474_e551;
pub const PF_W: u32 = 2;
pub const PF_R: u32 = 4;

pub const SHT_PROGBITS: u32 = 1;
pub const SHT_SYMTAB: u32 = 2;
pub const SHT_STRTAB: u32 = 3;
pub const SHT_RELA: u32 = 4;
pub const SHT_HASH: u32 = 5;
pub const SHT_DYNAMIC: u32 = 6;
pub const SHT_NOTE: u32 = 7;
pub const SHT_NOBITS: u32 = 8;
pub const SHT_REL: u32 = 9;
pub const SHT_DYNSYM: u32 = 11;
pub const SHT_RELR: u32 = 19;
pub const SHT_GNU_HASH: u32 = 0x6fff_fff6;
pub const SHT_GNU_VERDEF: u32 = 0x6fff_fffd;
pub const SHT_GNU_VERNEED: u32 = 0x6fff_fffe;
pub const SHT_GNU_VERSYM: u32 = 0x6fff_ffff;
pub const SHF_ALLOC: u64 = 2;

pub const DT_NULL: u64 = 0;
pub const DT_NEEDED: u64 = 1;
pub const DT_STRTAB: u64 = 5;
pub const DT_STRSZ: u64 = 10;
pub const DT_SONAME: u64 = 14;
pub const DT_RPATH: u64 = 15;
pub const DT_RUNPATH: u64 = 29;
pub const DT_FLAGS_1: u64 = 0x6fff_fffb;
pub const DT_VERNEED: u64 = 0x6fff_fffe;
pub const DT_VERNEEDNUM: u64 = 0x6fff_ffff;
pub const DF_1_NODELETE: u64 = 0x8;

const EM_X86_64: u16 = 62;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
/// More `.gnu.version_r` records than this is a corrupt file.
const MAX_VERNEED: u64 = 1 << 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Phdr {
    pub p_type: u32,
    pub p_flags: u32,
    pub p_offset: u64,
    pub p_vaddr: u64,
    pub p_paddr: u64,
    pub p_filesz: u64,
    pub p_memsz: u64,
    pub p_align: u64,
}

#[derive(Debug, Clone, Copy)]
pub struct Shdr {
    pub sh_type: u32,
    pub sh_flags: u64,
    pub sh_addr: u64,
    pub sh_offset: u64,
    pub sh_size: u64,
    pub sh_link: u32,
    pub sh_addralign: u64,
    pub sh_entsize: u64,
}

/// The dynamic table: where it is, how many entries fit, what it holds
/// (without the terminating `DT_NULL`).
#[derive(Debug, Clone)]
pub struct DynamicTable {
    pub offset: u64,
    pub slots: u64,
    pub entries: Vec<(u64, u64)>,
}

#[derive(Debug)]
pub struct Image<'a> {
    pub bytes: &'a [u8],
    pub is_executable: bool,
    pub phoff: u64,
    pub phdrs: Vec<Phdr>,
    pub shoff: u64,
    pub shdrs: Vec<Shdr>,
    pub dynamic: DynamicTable,
    pub strtab_vaddr: u64,
    pub strtab: &'a [u8],
    /// File offsets of every `vn_file` field of `.gnu.version_r`.
    pub vn_files: Vec<u64>,
}

/// Checks the identification bytes; the error says what the file is.
pub fn check_ident(bytes: &[u8]) -> Result<()> {
    let ident = bytes
        .get(..20)
        .ok_or_else(|| anyhow!("too short for an ELF header"))?;
    if ident[..4] != *b"\x7fELF" {
        bail!("not an ELF file");
    }
    match ident[4] {
        2 => {}
        1 => bail!("a 32-bit ELF file; only 64-bit x86-64 is supported"),
        other => bail!("unknown ELF class {other}"),
    }
    match ident[5] {
        1 => {}
        2 => bail!("a big-endian ELF file; only x86-64 is supported"),
        other => bail!("unknown ELF data encoding {other}"),
    }
    let machine = u16::from_le_bytes([ident[18], ident[19]]);
    if machine != EM_X86_64 {
        bail!("an ELF file for machine {machine}; only x86-64 (62) is supported");
    }
    Ok(())
}

impl<'a> Image<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<Image<'a>> {
        check_ident(bytes)?;
        slice(bytes, 0, EHDR_SIZE).context("truncated ELF header")?;
        let e_type = u16_at(bytes, 16)?;
        if e_type != ET_DYN && e_type != ET_EXEC {
            bail!("an ELF file of type {e_type}: neither a shared library nor an executable");
        }
        let phoff = u64_at(bytes, 32)?;
        let shoff = u64_at(bytes, 40)?;
        let phentsize = u16_at(bytes, 54)?;
        let phnum = u16_at(bytes, 56)?;
        let shentsize = u16_at(bytes, 58)?;
        let shnum = u16_at(bytes, 60)?;
        if u64::from(phentsize) != PHDR_SIZE {
            bail!("unexpected program header size {phentsize}");
        }
        if phnum == 0xffff {
            bail!("too many program headers");
        }
        slice(bytes, phoff, u64::from(phnum) * PHDR_SIZE).context("truncated program headers")?;
        let phdrs = (0..u64::from(phnum))
            .map(|i| read_phdr(bytes, phoff + i * PHDR_SIZE))
            .collect::<Result<Vec<_>>>()
            .context("cannot read the program headers")?;
        let shdrs = read_shdrs(bytes, shoff, shentsize, shnum)
            .context("cannot read the section headers")?;
        let is_executable = phdrs.iter().any(|p| p.p_type == PT_INTERP);
        let dynamic = read_dynamic(bytes, &phdrs)?;
        let tag = |t: u64| dynamic.entries.iter().find(|e| e.0 == t).map(|e| e.1);
        let strtab_vaddr = tag(DT_STRTAB).ok_or_else(|| anyhow!("no DT_STRTAB"))?;
        let strsz = tag(DT_STRSZ).ok_or_else(|| anyhow!("no DT_STRSZ"))?;
        let strtab_offset = vaddr_to_offset(&phdrs, strtab_vaddr, strsz)
            .context("the dynamic string table is not mapped")?;
        let strtab = slice(bytes, strtab_offset, strsz).context("the dynamic string table")?;
        let vn_files = match (tag(DT_VERNEED), tag(DT_VERNEEDNUM)) {
            (Some(addr), Some(count)) => read_verneed(bytes, &phdrs, addr, count)
                .context("cannot read the version needs (.gnu.version_r)")?,
            _ => Vec::new(),
        };
        Ok(Image {
            bytes,
            is_executable,
            phoff,
            phdrs,
            shoff,
            shdrs,
            dynamic,
            strtab_vaddr,
            strtab,
            vn_files,
        })
    }

    pub fn string(&self, offset: u64) -> Result<&'a str> {
        c_str(self.strtab, offset)
    }

    pub fn values(&self, tag: u64) -> impl Iterator<Item = u64> + '_ {
        self.dynamic
            .entries
            .iter()
            .filter(move |e| e.0 == tag)
            .map(|e| e.1)
    }

    pub fn strings(&self, tag: u64) -> Result<Vec<&'a str>> {
        self.values(tag).map(|v| self.string(v)).collect()
    }

    pub fn loads(&self) -> impl Iterator<Item = &Phdr> {
        self.phdrs.iter().filter(|p| p.p_type == PT_LOAD)
    }
}

fn read_phdr(bytes: &[u8], at: u64) -> Result<Phdr> {
    Ok(Phdr {
        p_type: u32_at(bytes, at)?,
        p_flags: u32_at(bytes, at + 4)?,
        p_offset: u64_at(bytes, at + 8)?,
        p_vaddr: u64_at(bytes, at + 16)?,
        p_paddr: u64_at(bytes, at + 24)?,
        p_filesz: u64_at(bytes, at + 32)?,
        p_memsz: u64_at(bytes, at + 40)?,
        p_align: u64_at(bytes, at + 48)?,
    })
}

fn read_shdr(bytes: &[u8], at: u64) -> Result<Shdr> {
    Ok(Shdr {
        sh_type: u32_at(bytes, at + 4)?,
        sh_flags: u64_at(bytes, at + 8)?,
        sh_addr: u64_at(bytes, at + 16)?,
        sh_offset: u64_at(bytes, at + 24)?,
        sh_size: u64_at(bytes, at + 32)?,
        sh_link: u32_at(bytes, at + 40)?,
        sh_addralign: u64_at(bytes, at + 48)?,
        sh_entsize: u64_at(bytes, at + 56)?,
    })
}

/// Section headers are optional (a stripped-down file may have none);
/// with more than 0xff00 sections, the count is in the first header.
fn read_shdrs(bytes: &[u8], shoff: u64, shentsize: u16, shnum: u16) -> Result<Vec<Shdr>> {
    if shoff == 0 {
        return Ok(Vec::new());
    }
    if u64::from(shentsize) != SHDR_SIZE {
        bail!("unexpected section header size {shentsize}");
    }
    slice(bytes, shoff, SHDR_SIZE)?;
    let count = match shnum {
        0 => read_shdr(bytes, shoff)?.sh_size,
        n => u64::from(n),
    };
    let table = count
        .checked_mul(SHDR_SIZE)
        .ok_or_else(|| anyhow!("too many sections"))?;
    slice(bytes, shoff, table)?;
    (0..count)
        .map(|i| read_shdr(bytes, shoff + i * SHDR_SIZE))
        .collect()
}

fn read_dynamic(bytes: &[u8], phdrs: &[Phdr]) -> Result<DynamicTable> {
    let mut dynamics = phdrs.iter().filter(|p| p.p_type == PT_DYNAMIC);
    let phdr = dynamics
        .next()
        .ok_or_else(|| anyhow!("no dynamic section: a static executable or object"))?;
    if dynamics.next().is_some() {
        bail!("more than one PT_DYNAMIC segment");
    }
    let table = slice(bytes, phdr.p_offset, phdr.p_filesz).context("the dynamic section")?;
    let slots = phdr.p_filesz / DYN_SIZE;
    let mut entries = Vec::new();
    for i in 0..slots {
        let tag = u64_at(table, i * DYN_SIZE)?;
        if tag == DT_NULL {
            return Ok(DynamicTable {
                offset: phdr.p_offset,
                slots,
                entries,
            });
        }
        entries.push((tag, u64_at(table, i * DYN_SIZE + 8)?));
    }
    bail!("the dynamic section has no DT_NULL terminator")
}

/// The file offset of `len` bytes at virtual address `vaddr`, which must
/// lie inside the file part of one `PT_LOAD`.
pub fn vaddr_to_offset(phdrs: &[Phdr], vaddr: u64, len: u64) -> Result<u64> {
    for p in phdrs.iter().filter(|p| p.p_type == PT_LOAD) {
        let Some(delta) = vaddr.checked_sub(p.p_vaddr) else {
            continue;
        };
        if delta.checked_add(len).is_some_and(|end| end <= p.p_filesz) {
            return p
                .p_offset
                .checked_add(delta)
                .ok_or_else(|| anyhow!("address {vaddr:#x} overflows"));
        }
    }
    bail!("address {vaddr:#x} (+{len}) lies in no loaded segment")
}

/// The offsets of the `vn_file` fields, walking `vn_next` as ld.so does.
fn read_verneed(bytes: &[u8], phdrs: &[Phdr], addr: u64, count: u64) -> Result<Vec<u64>> {
    if count > MAX_VERNEED {
        bail!("{count} records is not plausible");
    }
    let mut at = vaddr_to_offset(phdrs, addr, 16)?;
    let mut fields = Vec::new();
    for i in 0..count {
        slice(bytes, at, 16)?;
        fields.push(at + 4);
        let next = u32_at(bytes, at + 12)?;
        if next == 0 {
            if i + 1 != count {
                bail!("{count} records announced, {} found", i + 1);
            }
            break;
        }
        at = at
            .checked_add(u64::from(next))
            .ok_or_else(|| anyhow!("record offset overflows"))?;
    }
    Ok(fields)
}
