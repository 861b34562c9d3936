//! Recognizing a CFFI embedding library compiled elsewhere: an x86-64
//! ELF shared library that exports `PyInit_<module>` (PyPy:
//! `_cffi_pypyinit_<module>`) and carries CFFI's
//! embedding start-up code.  Read in one pass with everything `pack` and
//! `inspect` need: its dynamic information, what it exports and what it
//! imports.  Which interpreter it was built for is the backends' to say,
//! from its `DT_NEEDED` names and its imports.

use anyhow::{anyhow, bail, Result};
use goblin::elf::{header, sym};

use super::read::{info_of, ElfInfo};

/// Texts only CFFI's embedding start-up code (`_embedding.h`) carries: in
/// its CPython section, and in the part every Python compiles.
const CFFI_EMBEDDING_MARKS: &[&[u8]] = &[
    b"Failed to initialize the Python-CFFI embedding logic",
    b"called, but initialization code failed.  Returning 0.",
];

/// What embedpack's library shim (stubs/shim.c) carries, followed by the
/// name of the plugin it loads.
const SHIM_MARK: &[u8] = b"embedpack library shim: loads ";

/// The prefixes of the function that initializes a CFFI module:
/// CPython's `PyInit_<module>`, PyPy's `_cffi_pypyinit_<module>`.
const INIT_PREFIXES: &[&str] = &["PyInit_", "_cffi_pypyinit_"];

/// What a shared library says about itself, as far as embedding goes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Examined {
    pub info: ElfInfo,
    /// `<module>` of its `PyInit_<module>`, if it exports one.
    pub module: Option<String>,
    /// Whether it carries CFFI's embedding start-up code.
    pub cffi_embedding: bool,
    /// The functions it exports, sorted.
    pub exports: Vec<String>,
    /// The variables it exports (data and thread-local), sorted.
    pub variables: Vec<String>,
    /// The symbols it imports (undefined in it), sorted.
    pub imports: Vec<String>,
    /// For embedpack's library shim: the plugin it loads, beside it.
    pub shim_for: Option<String>,
    /// Whether it has section headers (`sstrip` removes them); the ELF
    /// writer edits a file through them.
    pub has_sections: bool,
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
    let elf = super::read::parse(bytes)?;
    if !elf.is_64 || elf.header.e_machine != header::EM_X86_64 || !elf.little_endian {
        bail!(
            "not an x86-64 ELF file (machine {}, {}-bit{})",
            header::machine_to_str(elf.header.e_machine),
            if elf.is_64 { 64 } else { 32 },
            if elf.little_endian {
                ""
            } else {
                ", big-endian"
            }
        );
    }
    if elf.header.e_type != header::ET_DYN || elf.interpreter.is_some() {
        bail!("not a shared library (an executable or object file)");
    }
    let info = info_of(&elf, bytes)?
        .ok_or_else(|| anyhow!("a shared library without a dynamic section"))?;
    let mut examined = Examined {
        info,
        cffi_embedding: CFFI_EMBEDDING_MARKS.iter().any(|m| contains(bytes, m)),
        shim_for: shim_target(bytes),
        has_sections: !elf.section_headers.is_empty(),
        ..Examined::default()
    };
    for symbol in elf.dynsyms.iter() {
        let Some(name) = elf.dynstrtab.get_at(symbol.st_name) else {
            continue;
        };
        let global = matches!(symbol.st_bind(), sym::STB_GLOBAL | sym::STB_WEAK);
        if symbol.st_shndx == 0 {
            if !name.is_empty() {
                examined.imports.push(name.to_string());
            }
        } else if global && symbol.st_type() == sym::STT_FUNC {
            if let Some(module) = INIT_PREFIXES.iter().find_map(|p| name.strip_prefix(p)) {
                examined.module = Some(module.to_string());
            }
            examined.exports.push(name.to_string());
        } else if global && matches!(symbol.st_type(), sym::STT_OBJECT | sym::STT_TLS) {
            examined.variables.push(name.to_string());
        }
    }
    for names in [
        &mut examined.exports,
        &mut examined.variables,
        &mut examined.imports,
    ] {
        names.sort();
        names.dedup();
    }
    Ok(examined)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The name after `SHIM_MARK`, up to its NUL.
fn shim_target(bytes: &[u8]) -> Option<String> {
    let at = bytes
        .windows(SHIM_MARK.len())
        .position(|w| w == SHIM_MARK)?;
    let name = &bytes[at + SHIM_MARK.len()..];
    let end = name.iter().position(|&b| b == 0)?;
    Some(String::from_utf8_lossy(&name[..end]).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_elf() {
        assert!(examine(b"#!/bin/sh\n")
            .unwrap_err()
            .to_string()
            .contains("not an ELF"));
        assert!(examine(b"\x7fELF\x02\x01").is_err());
    }

    #[test]
    fn reads_a_real_library_in_one_pass() {
        let libm = ["/lib/x86_64-linux-gnu/libm.so.6", "/lib64/libm.so.6"]
            .into_iter()
            .find(|p| std::path::Path::new(p).is_file())
            .unwrap();
        let examined = examine(&std::fs::read(libm).unwrap()).unwrap();
        assert_eq!(examined.info.soname.as_deref(), Some("libm.so.6"));
        assert!(examined.exports.iter().any(|e| e == "cexp"));
        assert!(examined.imports.iter().any(|i| i == "qsort"));
        assert!(examined.info.needed.iter().any(|n| n == "libc.so.6"));
        assert!(!examined.is_cffi_embedding());
    }
}
