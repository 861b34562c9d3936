//! File names as the manifest writes them.  A name on Linux is bytes; JSON
//! holds text.  A name that is valid UTF-8 is written as it is.  One that
//! is not is *escaped*: each byte that is not part of a valid UTF-8
//! sequence becomes `\xHH` (two lower-case hex digits), each backslash
//! becomes `\\`, and the manifest entry says `"escaped": true`.  So every
//! name reads back to its exact bytes, and two names that differ only in
//! such bytes stay two names.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use anyhow::{bail, Result};

/// `name` as the manifest writes it, and whether it had to be escaped.
pub fn escape(name: &Path) -> (String, bool) {
    let bytes = name.as_os_str().as_bytes();
    if let Ok(text) = std::str::from_utf8(bytes) {
        return (text.to_string(), false);
    }
    let mut out = String::new();
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c == '\\' {
                out.push_str("\\\\");
            } else {
                out.push(c);
            }
        }
        for byte in chunk.invalid() {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    (out, true)
}

/// The name a message shows: the manifest's spelling.
pub fn display(name: &Path) -> String {
    escape(name).0
}

/// The exact name that `text` spells, escaped or not.
pub fn unescape(text: &str, escaped: bool) -> Result<PathBuf> {
    if !escaped {
        return Ok(PathBuf::from(text));
    }
    let mut out = Vec::new();
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        if first != b'\\' {
            out.push(first);
            rest = tail;
            continue;
        }
        match tail {
            [b'\\', tail @ ..] => {
                out.push(b'\\');
                rest = tail;
            }
            [b'x', high, low, tail @ ..] => {
                let hex = [*high, *low];
                let byte = std::str::from_utf8(&hex)
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                let Some(byte) = byte else {
                    bail!("`{text}` has a `\\x` not followed by two hex digits");
                };
                out.push(byte);
                rest = tail;
            }
            _ => bail!("`{text}` has a backslash that is neither `\\\\` nor `\\xHH`"),
        }
    }
    Ok(PathBuf::from(OsStr::from_bytes(&out)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(bytes: &[u8]) -> PathBuf {
        PathBuf::from(OsStr::from_bytes(bytes))
    }

    #[test]
    fn utf8_names_are_written_as_they_are() {
        for text in ["app/mod.py", "app/modülé.py", "a\\b.txt", "app/\\x41"] {
            assert_eq!(escape(Path::new(text)), (text.to_string(), false));
        }
    }

    #[test]
    fn other_names_are_escaped_and_read_back_exactly() {
        let cases: [(&[u8], &str); 4] = [
            (b"app/odd\xff.py", "app/odd\\xff.py"),
            (b"app/odd\xfe.py", "app/odd\\xfe.py"),
            (b"a\\b\x80", "a\\\\b\\x80"),
            (b"\xc3\xbc\xe2\x9c\x93\xc3", "ü✓\\xc3"),
        ];
        for (bytes, text) in cases {
            assert_eq!(escape(&name(bytes)), (text.to_string(), true));
            assert_eq!(unescape(text, true).unwrap(), name(bytes));
        }
    }

    #[test]
    fn a_name_that_is_not_escaped_is_taken_literally() {
        assert_eq!(unescape("a\\xff", false).unwrap(), Path::new("a\\xff"));
        assert!(unescape("a\\q", true).is_err());
        assert!(unescape("a\\x4", true).is_err());
        assert!(unescape("a\\", true).is_err());
    }
}
