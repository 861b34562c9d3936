#![no_main]
//! A bundle's MANIFEST.json: what is accepted must write back to a text
//! that reads as the same manifest (`src/fuzzing.rs`, which `cargo test`
//! also runs on the corpus).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedpack::fuzzing::manifest(data);
});
