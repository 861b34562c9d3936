//! What the link stage needs to know about one ELF file, read with
//! goblin: its SONAME, its dependencies, its search paths, its flags and
//! the symbol versions it needs from each dependency; and whether it
//! carries debug information, and its build-id, for stripping.

use std::io::Read;
use std::path::Path;

use anyhow::{anyhow, Context, Result};

use super::image::{check_ident, DF_1_NODELETE};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    /// Has a `PT_INTERP`: an executable rather than a library.
    pub is_executable: bool,
    pub soname: Option<String>,
    /// `DT_NEEDED`, in order.
    pub needed: Vec<String>,
    /// `DT_RPATH`, colon-separated as stored.
    pub rpath: Option<String>,
    /// `DT_RUNPATH`, colon-separated as stored.
    pub runpath: Option<String>,
    pub nodelete: bool,
    /// From `.gnu.version_r`: for each file, the versions needed from it.
    pub version_needs: Vec<VersionNeed>,
    /// Has sections that `strip --strip-debug` removes (`.debug_*`,
    /// `.zdebug_*`, `.stab*`, ...).
    pub debug_info: bool,
    /// The `NT_GNU_BUILD_ID` note, in lower-case hex.
    pub build_id: Option<String>,
}

/// The prefixes of the sections `strip --strip-debug` removes (binutils'
/// `is_strip_section` with `STRIP_DEBUG`: BFD's `SEC_DEBUGGING` ones).
const DEBUG_SECTIONS: [&str; 6] = [
    ".debug",
    ".zdebug",
    ".gnu.debuglto_",
    ".stab",
    ".line",
    ".gnu.linkonce.wi.",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionNeed {
    pub file: String,
    pub versions: Vec<String>,
}

/// Whether the file at `path` starts with the ELF magic.
pub fn is_elf(path: &Path) -> Result<bool> {
    let mut magic = [0u8; 4];
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    match file.read_exact(&mut magic) {
        Ok(()) => Ok(magic == *b"\x7fELF"),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(false),
        Err(e) => Err(e).with_context(|| format!("cannot read `{}`", path.display())),
    }
}

/// Whether `bytes` start like an ELF file this tool can read and patch
/// (64-bit little-endian x86-64), without reading further.
pub fn is_supported(bytes: &[u8]) -> bool {
    check_ident(bytes).is_ok()
}

/// Reads a file's dynamic linking information; `None` for an ELF file
/// without a dynamic section (a static executable, an object file).
pub fn read(bytes: &[u8]) -> Result<Option<ElfInfo>> {
    check_ident(bytes)?;
    info_of(&parse(bytes)?, bytes)
}

/// Parses `bytes` with goblin; when they are not a whole ELF file, says
/// so in the user's terms rather than the parser's.
pub(super) fn parse(bytes: &[u8]) -> Result<goblin::elf::Elf<'_>> {
    goblin::elf::Elf::parse(bytes).map_err(|e| {
        let what = match e {
            goblin::error::Error::Scroll(_) | goblin::error::Error::BufferTooShort(..) => {
                format!("its headers point past its end, at {} bytes", bytes.len())
            }
            _ => "its headers do not describe a valid file".to_string(),
        };
        crate::fail(
            format!("not a complete ELF file: it is truncated or corrupt ({what})"),
            "the file is damaged: build it again, or reinstall what installed it",
        )
    })
}

/// The dynamic linking information of a file parsed from `bytes`.
pub(super) fn info_of(elf: &goblin::elf::Elf, bytes: &[u8]) -> Result<Option<ElfInfo>> {
    let Some(dynamic) = &elf.dynamic else {
        return Ok(None);
    };
    let joined = |paths: &[&str]| (!paths.is_empty()).then(|| paths.join(":"));
    let mut version_needs = Vec::new();
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            let file = elf
                .dynstrtab
                .get_at(need.vn_file)
                .ok_or_else(|| anyhow!("a version need names no file"))?;
            let versions = need
                .iter()
                .filter_map(|aux| elf.dynstrtab.get_at(aux.vna_name))
                .map(str::to_string)
                .collect();
            version_needs.push(VersionNeed {
                file: file.to_string(),
                versions,
            });
        }
    }
    Ok(Some(ElfInfo {
        is_executable: elf.interpreter.is_some(),
        soname: elf.soname.map(str::to_string),
        needed: elf.libraries.iter().map(|s| s.to_string()).collect(),
        rpath: joined(&elf.rpaths),
        runpath: joined(&elf.runpaths),
        nodelete: dynamic.info.flags_1 & DF_1_NODELETE != 0,
        version_needs,
        debug_info: elf.section_headers.iter().any(|header| {
            let name = elf.shdr_strtab.get_at(header.sh_name).unwrap_or("");
            DEBUG_SECTIONS.iter().any(|prefix| name.starts_with(prefix))
        }),
        build_id: build_id(elf, bytes),
    }))
}

/// The build-id note, found through the program headers (a stripped
/// file may have no section headers).  A malformed note ends the search:
/// goblin's iterator would return its error again and again.
fn build_id(elf: &goblin::elf::Elf, bytes: &[u8]) -> Option<String> {
    let mut notes = elf.iter_note_headers(bytes)?.map_while(Result::ok);
    let note = notes
        .find(|note| note.n_type == goblin::elf::note::NT_GNU_BUILD_ID && note.name == "GNU")?;
    let hex: String = note.desc.iter().map(|b| format!("{b:02x}")).collect();
    (!hex.is_empty()).then_some(hex)
}

/// Reads the file at `path`; see [`read`].
pub fn read_file(path: &Path) -> Result<Option<ElfInfo>> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    read(&bytes).with_context(|| format!("cannot read `{}` as ELF", path.display()))
}

impl ElfInfo {
    /// What the file will say once `edits` are made.
    pub fn edited(mut self, edits: &super::Edits) -> ElfInfo {
        let rename = |name: &mut String| {
            if let Some((_, new)) = edits.replace_needed.iter().find(|(old, _)| old == name) {
                *name = new.clone();
            }
        };
        self.needed.iter_mut().for_each(rename);
        self.version_needs
            .iter_mut()
            .for_each(|n| rename(&mut n.file));
        if let Some(path) = &edits.search_path {
            let value = Some(path.value.clone());
            (self.rpath, self.runpath) = match path.kind {
                super::PathKind::Rpath => (value, None),
                super::PathKind::Runpath => (None, value),
            };
        }
        if let Some(soname) = &edits.soname {
            self.soname = Some(soname.clone());
        }
        self.nodelete |= edits.nodelete;
        self
    }
}
