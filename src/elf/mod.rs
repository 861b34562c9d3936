//! ELF files: read with goblin (`read`), patched by our own append-only
//! writer (`write`), which edits exactly what bundling needs — search
//! paths, dependency names (with their `.gnu.version_r` names), SONAME
//! and `DF_1_NODELETE`, renamed imports — on files linked by GNU ld and
//! by lld; and it recognizes CFFI embedding libraries (`embedding`).
//!
//! Nothing else of embedpack reads ELF bytes; the fuzz target (`fuzz/`)
//! and the writer's integration tests use this module through the
//! library.

mod buffer;
mod bytes;
mod embedding;
mod headroom;
mod image;
mod read;
mod rename;
mod segment;
mod write;

#[cfg(any(test, fuzzing))]
pub mod fuzzing;

pub use embedding::{examine, Examined};
pub use read::{is_elf, is_supported, read, read_file, ElfInfo, VersionNeed};
pub use write::{patch, patch_file, patch_temporary, Edits, PathKind, SearchPath};

/// Checks the `p_offset ≡ p_vaddr (mod p_align)` rule (and the order of
/// loaded segments) on a whole file.
pub fn check_load_alignment(bytes: &[u8]) -> anyhow::Result<()> {
    write::check_load_alignment(&image::Image::parse(bytes)?)
}
