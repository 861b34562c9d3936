#![no_main]
//! Any text, read as the C declarations given to embedding_api() and
//! rewritten for the header (`src/fuzzing.rs`, which `cargo test` also runs
//! on the corpus).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedpack::fuzzing::cdecl(data);
});
