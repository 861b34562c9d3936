//! The edits that hook embedpack's bootstrap into CFFI's generated C.
//!
//! Each backend keeps them in its `stubs/<implementation>/cffi_embedding.patch`
//! as anchor/replacement pairs; every anchor must occur exactly once, or
//! the build stops rather than produce a plugin whose start-up is not ours.

use anyhow::{bail, Result};

struct Edit<'a> {
    anchor: &'a str,
    replacement: &'a str,
}

/// Applies every edit of `patches` to `source`, CFFI's generated C.
pub fn apply(source: &str, patches: &str, cffi_version: &str) -> Result<String> {
    let mut out = source.to_string();
    for edit in edits(patches) {
        let found = out.matches(edit.anchor).count();
        if found != 1 {
            bail!(
                "cffi {cffi_version} generated C that embedpack does not know how to hook \
                 (expected once, found {found} times: {:?})",
                edit.anchor.trim()
            );
        }
        out = out.replacen(edit.anchor, edit.replacement, 1);
    }
    Ok(out)
}

/// Parses `--- anchor` / `+++ replacement` / `=== end` blocks; other lines
/// outside blocks are comments.
fn edits(text: &str) -> Vec<Edit<'_>> {
    let mut edits = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("--- anchor\n") {
        let body = &rest[start + "--- anchor\n".len()..];
        let (anchor, after) = body
            .split_once("+++ replacement\n")
            .expect("patch file: replacement");
        let (replacement, after) = after.split_once("=== end\n").expect("patch file: end");
        edits.push(Edit {
            anchor,
            replacement,
        });
        rest = after;
    }
    edits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::{self, Kind};

    fn cpython_patches() -> &'static str {
        backend::of(&Kind::CPython).unwrap().bootstrap().cffi_edits
    }

    #[test]
    fn the_cpython_patch_file_has_all_four_hooks() {
        let edits = edits(cpython_patches());
        assert_eq!(edits.len(), 4);
        assert!(edits[0].replacement.contains("embedpack_check_python()"));
        assert!(edits[1].replacement.contains("embedpack_initialize()"));
        assert!(edits[2].replacement.contains("embedpack_attach()"));
        assert!(edits[3].replacement.contains("embedpack_wait_turn()"));
    }

    #[test]
    fn refuses_source_without_the_anchor() {
        let err = apply("int main(void) { return 0; }\n", cpython_patches(), "9.9").unwrap_err();
        assert!(err.to_string().contains("cffi 9.9"), "{err}");
    }

    #[test]
    fn replaces_each_anchor_once() {
        for backend in backend::all() {
            let patches = backend.bootstrap().cffi_edits;
            let source = edits(patches).iter().map(|e| e.anchor).collect::<String>();
            let patched = apply(&source, patches, "2.0").unwrap();
            assert!(patched.contains("embedpack_initialize()"));
        }
        let patches = cpython_patches();
        let source = edits(patches).iter().map(|e| e.anchor).collect::<String>();
        let patched = apply(&source, patches, "2.0").unwrap();
        assert!(patched.contains("embedpack_initialize()"));
        assert!(patched.contains("embedpack_attach()"));
        assert!(patched.contains("embedpack_wait_turn()"));
        assert!(!patched.contains("_cffi_py_initialize();"));
    }
}
