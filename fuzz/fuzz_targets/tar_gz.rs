#![no_main]
//! Any bytes, read as a .tar.gz bundle by the reader behind verify: every
//! entry it lets through must lie inside the bundle (`src/fuzzing.rs`,
//! which `cargo test` also runs on the corpus).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedpack::fuzzing::tar_gz(data);
});
