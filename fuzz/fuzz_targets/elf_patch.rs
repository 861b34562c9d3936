#![no_main]
//! Any bytes, read as an ELF file and patched with several edits: errors
//! are fine, panics are bugs, and every output must read back, keep the
//! alignment rule and be a fixed point of the same edits
//! (`src/elf/fuzzing.rs`, which `cargo test` also runs on the corpus).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedpack::elf::fuzzing::exercise(data);
});
