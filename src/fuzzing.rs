//! The entry points of the fuzz targets (`fuzz/fuzz_targets/`), one per
//! reader of untrusted bytes, and the replay of their corpora in
//! `cargo test`: any input may be rejected, none may panic, and what a
//! reader accepts must keep the reader's promises. The ELF target's entry
//! point lives with the ELF code (`elf::fuzzing`).

use std::io::Read;
use std::path::{Component, Path};

use crate::bundle::{format, Manifest};

/// A bundle's `MANIFEST.json`: what is accepted writes back to a text
/// that reads as the same manifest.
pub fn manifest(data: &[u8]) {
    let Ok(manifest) = Manifest::parse(data, Path::new("fuzzed")) else {
        return;
    };
    let text = manifest.to_json();
    let again = Manifest::parse(text.as_bytes(), Path::new("fuzzed"))
        .expect("a written manifest reads back");
    assert_eq!(
        again.to_json(),
        text,
        "a manifest changes when written again"
    );
}

/// The zip reader behind `verify`.
pub fn zip(data: &[u8]) {
    let _ = format::each_zip_entry(data, &mut check_entry);
}

/// The .tar.gz reader behind `verify`.
pub fn tar_gz(data: &[u8]) {
    let _ = format::each_tar_gz_entry(data, &mut check_entry);
}

/// Every entry a reader lets through lies inside the bundle, and its
/// bytes can be read (a bounded amount, as `verify` reads).
fn check_entry(path: &Path, mode: u32, data: &mut dyn Read) -> anyhow::Result<()> {
    assert!(
        path.components().count() > 0
            && path.components().all(|c| matches!(c, Component::Normal(_))),
        "an entry outside the bundle: {path:?}"
    );
    assert!(mode <= 0o7777, "mode {mode:o}");
    std::io::copy(&mut data.take(1 << 24), &mut std::io::sink())?;
    Ok(())
}

/// `pyvenv.cfg`: keys come out trimmed and lower-cased, on one line.
pub fn pyvenv_cfg(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let cfg = crate::resolve::pyvenv::parse(&text);
    for (key, value) in &cfg {
        assert!(!key.is_empty() && key.trim() == key && !key.contains('\n'));
        assert!(key.to_ascii_lowercase() == *key && value.trim() == value);
    }
    let _ = crate::resolve::pyvenv::made_with(&cfg);
}

/// The C-declaration rewriter behind the generated header.
pub fn cdecl(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = crate::build::cdecl::rewrite(text);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// Calls `exercise` on every input of `fuzz/corpus/TARGET`: what
    /// fuzzing once found stays fixed.
    fn replay(target: &str, exercise: fn(&[u8])) {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("fuzz/corpus")
            .join(target);
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("the fuzz corpus is checked in") {
            let path = entry.expect("a corpus entry").path();
            exercise(&std::fs::read(&path).expect("a readable corpus file"));
            count += 1;
        }
        assert!(count > 0, "no corpus in {}", dir.display());
    }

    #[test]
    fn manifest_corpus_replays() {
        replay("manifest", super::manifest);
    }

    #[test]
    fn zip_corpus_replays() {
        replay("zip", super::zip);
    }

    #[test]
    fn tar_gz_corpus_replays() {
        replay("tar_gz", super::tar_gz);
    }

    #[test]
    fn pyvenv_cfg_corpus_replays() {
        replay("pyvenv_cfg", super::pyvenv_cfg);
    }

    #[test]
    fn cdecl_corpus_replays() {
        replay("cdecl", super::cdecl);
    }
}
