//! One entry point for the fuzz target (`fuzz/fuzz_targets/elf_patch.rs`)
//! and for the replay of its corpus in `cargo test`: any input may be
//! rejected, none may panic, and every output the writer returns must
//! read back, keep the alignment rule and be a fixed point of the same
//! edits.

use super::image::{Image, DT_NEEDED};
use super::{check_load_alignment, patch, read, Edits, PathKind, SearchPath};

pub fn exercise(data: &[u8]) {
    let _ = read(data);
    let Ok(image) = Image::parse(data) else {
        return;
    };
    let first_needed = image
        .strings(DT_NEEDED)
        .ok()
        .and_then(|n| n.first().map(|s| s.to_string()));
    for edits in edit_sets(first_needed) {
        let Ok(out) = patch(data, &edits) else {
            continue;
        };
        if let (Ok(_), Err(err)) = (read(data), read(&out)) {
            panic!("the reader rejects a patched file: {err:#}");
        }
        assert!(check_load_alignment(&out).is_ok(), "misaligned output");
        let again = patch(&out, &edits).expect("a patched file cannot be patched again");
        assert!(again == out, "the same edits changed a patched file again");
    }
}

fn edit_sets(first_needed: Option<String>) -> Vec<Edits> {
    let long = "$ORIGIN/../../a/rather/long/path/that/needs/new/strings:$ORIGIN/lib";
    let mut sets = vec![
        Edits {
            search_path: Some(SearchPath {
                kind: PathKind::Rpath,
                value: long.to_string(),
            }),
            ..Edits::default()
        },
        Edits {
            search_path: Some(SearchPath {
                kind: PathKind::Runpath,
                value: String::new(),
            }),
            soname: Some("libfuzzed-0123abcd.so.1".to_string()),
            nodelete: true,
            ..Edits::default()
        },
    ];
    if let Some(needed) = first_needed {
        sets.push(Edits {
            replace_needed: vec![(needed.clone(), format!("renamed-{needed}"))],
            rename_imports: vec![("free".to_string(), "fre3".to_string())],
            ..Edits::default()
        });
    }
    sets
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Replays every input of the fuzz corpus: what fuzzing once found
    /// stays fixed.
    #[test]
    fn fuzz_corpus_replays_without_panics() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/elf_patch");
        let mut count = 0;
        for entry in std::fs::read_dir(&dir).expect("the fuzz corpus is checked in") {
            let path = entry.expect("a corpus entry").path();
            let data = std::fs::read(&path).expect("a readable corpus file");
            exercise(&data);
            count += 1;
        }
        assert!(count > 0, "no corpus in {}", dir.display());
    }

    #[test]
    fn truncated_and_flipped_seeds_are_clean_errors() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/elf_patch");
        let seed = std::fs::read(dir.join("seed-gnu-ld-lib.so")).expect("the GNU ld seed");
        for len in (0..seed.len()).step_by(7) {
            exercise(&seed[..len]);
        }
        for (at, value, what) in [
            (4, 1, "32-bit"),
            (5, 2, "big-endian"),
            (18, 183, "machine 183"),
        ] {
            let mut bytes = seed.clone();
            bytes[at] = value;
            let err = read(&bytes).expect_err(what).to_string();
            assert!(err.contains(what), "{what}: {err}");
            let err = patch(&bytes, &Edits::default())
                .expect_err(what)
                .to_string();
            assert!(err.contains(what), "{what}: {err}");
        }
    }
}
