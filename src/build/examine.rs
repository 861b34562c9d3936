//! Recognising a CFFI embedding library compiled elsewhere: an x86-64
//! ELF shared library that exports `PyInit_<module>`, imports CPython's
//! start-up functions, and carries CFFI's embedding start-up code.  Used
//! by `pack` (which refuses anything else) and by `inspect`.

use anyhow::{bail, Result};
use goblin::elf::{header, sym, Elf};

/// Text only CFFI's embedding start-up code (`_embedding.h`) carries.
const CFFI_EMBEDDING_MARK: &[u8] = b"Failed to initialize the Python-CFFI embedding logic";
/// The imports the bootstrap takes over in a packed library.
pub const HOOKED_IMPORTS: [&str; 2] = ["Py_InitializeEx", "PyGILState_Ensure"];

/// What a shared library says about itself, as far as embedding goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examined {
    /// `<module>` of its `PyInit_<module>`, if it exports one.
    pub module: Option<String>,
    /// Whether it carries CFFI's embedding start-up code.
    pub cffi_embedding: bool,
    /// The libpython it names in `DT_NEEDED`, and that name's major.minor.
    pub libpython: Option<(String, (u32, u32))>,
    /// The functions it exports, sorted.
    pub exports: Vec<String>,
    /// Which of HOOKED_IMPORTS it imports.
    pub hooked_imports: Vec<String>,
}

impl Examined {
    pub fn is_cffi_embedding(&self) -> bool {
        self.cffi_embedding && self.module.is_some()
    }
}

/// Reads `bytes`; an error when they are not an x86-64 ELF shared library.
pub fn examine(bytes: &[u8]) -> Result<Examined> {
    if bytes.len() < 4 || &bytes[..4] != b"\x7fELF" {
        bail!("not an ELF file");
    }
    let elf = Elf::parse(bytes).map_err(|e| anyhow::anyhow!("not a readable ELF file: {e}"))?;
    if !elf.is_64 || elf.header.e_machine != header::EM_X86_64 || !elf.little_endian {
        bail!(
            "not an x86-64 ELF file (machine {}, {}-bit)",
            header::machine_to_str(elf.header.e_machine),
            if elf.is_64 { 64 } else { 32 }
        );
    }
    if elf.header.e_type != header::ET_DYN || elf.interpreter.is_some() {
        bail!("not a shared library (an executable or object file)");
    }
    let mut examined = Examined {
        cffi_embedding: contains(bytes, CFFI_EMBEDDING_MARK),
        libpython: elf
            .libraries
            .iter()
            .find_map(|name| Some((name.to_string(), libpython_version(name)?))),
        ..Examined::default()
    };
    for symbol in elf.dynsyms.iter() {
        let Some(name) = elf.dynstrtab.get_at(symbol.st_name) else {
            continue;
        };
        let global = matches!(symbol.st_bind(), sym::STB_GLOBAL | sym::STB_WEAK);
        if symbol.st_shndx == 0 {
            if HOOKED_IMPORTS.contains(&name) {
                examined.hooked_imports.push(name.to_string());
            }
        } else if global && symbol.st_type() == sym::STT_FUNC {
            if let Some(module) = name.strip_prefix("PyInit_") {
                examined.module = Some(module.to_string());
            }
            examined.exports.push(name.to_string());
        }
    }
    examined.exports.sort();
    examined.exports.dedup();
    examined.hooked_imports.sort();
    Ok(examined)
}

/// `libpython3.11.so.1.0` → (3, 11).
pub fn libpython_version(name: &str) -> Option<(u32, u32)> {
    let rest = name.strip_prefix("libpython")?;
    let version = rest
        .split(".so")
        .next()?
        .trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let (major, minor) = version.split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libpython_versions_from_names() {
        assert_eq!(libpython_version("libpython3.11.so.1.0"), Some((3, 11)));
        assert_eq!(libpython_version("libpython3.8d.so.1.0"), Some((3, 8)));
        assert_eq!(libpython_version("libpython3.13t.so"), Some((3, 13)));
        assert_eq!(libpython_version("libc.so.6"), None);
    }

    #[test]
    fn refuses_what_is_not_elf() {
        assert!(examine(b"#!/bin/sh\n")
            .unwrap_err()
            .to_string()
            .contains("not an ELF"));
        assert!(examine(b"\x7fELF\x02\x01").is_err());
    }
}
