//! ELF files: read with goblin (`read`), patched by our own append-only
//! writer (`write`), which edits exactly what bundling needs — search
//! paths, dependency names (with their `.gnu.version_r` names), SONAME
//! and `DF_1_NODELETE` — on files linked by GNU ld and by lld.
//!
//! This module depends on nothing else of embedpack, so the fuzz target
//! (`fuzz/`) and the writer's integration tests include it as it is.

mod bytes;
mod image;
mod read;
mod segment;
mod write;

#[cfg(any(test, fuzzing))]
pub mod fuzzing;

// The link stage uses part of this interface; the writer's tests and the
// fuzz target use all of it.
#[allow(unused_imports)]
pub use read::{is_elf, is_supported, read, read_file, ElfInfo, VersionNeed};
#[allow(unused_imports)]
pub use write::{patch, patch_file, Edits, PathKind, SearchPath};

/// Checks the `p_offset ≡ p_vaddr (mod p_align)` rule (and the order of
/// loaded segments) on a whole file.
#[allow(dead_code)]
pub fn check_load_alignment(bytes: &[u8]) -> anyhow::Result<()> {
    write::check_load_alignment(&image::Image::parse(bytes)?)
}
