//! Renaming a file's imports in place: the name of an undefined dynamic
//! symbol is overwritten in `.dynstr` by a name of the same length, so
//! that the file calls another function without any table moving.  A
//! name whose bytes another name shares (GNU ld merges a string with the
//! tail of a longer one) cannot be renamed alone, and is refused.

use std::collections::BTreeSet;

use anyhow::{bail, Result};
use goblin::elf::{dynamic, Elf};

use super::bytes::put;
use super::image::{vaddr_to_offset, Image};

/// Renames each `(old, new)` import of `bytes`; a name the file does not
/// import is left alone.
pub fn rename_imports(bytes: &mut [u8], renames: &[(String, String)]) -> Result<()> {
    let mut edits = Vec::new();
    {
        let image = Image::parse(bytes)?;
        let strtab = vaddr_to_offset(&image.phdrs, image.strtab_vaddr, image.strtab.len() as u64)?;
        let elf = super::read::parse(bytes)?;
        // A name beyond the table would become one of the strings a
        // later patch appends.
        if elf.dynsyms.iter().any(|s| s.st_name >= image.strtab.len()) {
            return Err(crate::fail(
                "not a valid ELF file: a dynamic symbol's name lies outside the dynamic \
                 string table, so it is truncated or corrupt",
                "the file is damaged: build it again, or reinstall what installed it",
            ));
        }
        let references = string_references(&elf);
        for (old, new) in renames {
            if old.len() != new.len() {
                bail!("`{old}` cannot be renamed `{new}`: the names differ in length");
            }
            let starts: BTreeSet<usize> = elf
                .dynsyms
                .iter()
                .filter(|s| s.st_shndx == 0 && elf.dynstrtab.get_at(s.st_name) == Some(old))
                .map(|s| s.st_name)
                .collect();
            for start in starts {
                let inside = references.range(start + 1..start + old.len()).next();
                // A name that starts before and runs on into this one
                // (this one is its tail) has no NUL between.
                let around = references.range(..start).next_back().is_some_and(|&r| {
                    image
                        .strtab
                        .get(r..start)
                        .is_none_or(|between| !between.contains(&0))
                });
                if inside.is_some() || around {
                    bail!("the name `{old}` shares its bytes with another name");
                }
                edits.push((strtab + start as u64, new.as_bytes()));
            }
        }
    }
    for (offset, new) in edits {
        put(bytes, offset, new)?;
    }
    Ok(())
}

/// Every `.dynstr` offset that some name starts at.
fn string_references(elf: &Elf) -> BTreeSet<usize> {
    let mut references: BTreeSet<usize> = elf.dynsyms.iter().map(|s| s.st_name).collect();
    if let Some(table) = &elf.dynamic {
        for entry in &table.dyns {
            if matches!(
                entry.d_tag,
                dynamic::DT_NEEDED | dynamic::DT_SONAME | dynamic::DT_RPATH | dynamic::DT_RUNPATH
            ) {
                references.insert(entry.d_val as usize);
            }
        }
    }
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            references.insert(need.vn_file);
            references.extend(need.iter().map(|aux| aux.vna_name));
        }
    }
    references
}
