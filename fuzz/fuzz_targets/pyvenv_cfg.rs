#![no_main]
//! Any bytes, read as a venv's pyvenv.cfg: keys come out trimmed and lower-
//! cased (`src/fuzzing.rs`, which `cargo test` also runs on the corpus).

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    embedpack::fuzzing::pyvenv_cfg(data);
});
