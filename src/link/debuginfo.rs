//! Debug information: by default every ELF file of the bundle that has
//! any loses it, as `strip --strip-debug` does, before the link edits are
//! made.  Symbol tables stay: a backtrace from the field (gdb, a core
//! dump, `perf`, glibc's `backtrace_symbols`) still names every function,
//! static ones too, without the debug files.  When asked, the debug
//! information goes to files of their own outside the bundle, named as
//! gdb looks for them under its `debug-file-directory`:
//! `.build-id/ab/cdef….debug` for a file whose build-id is `abcdef…`.  A
//! file without a build-id (GNU ld and gcc give one by default, lld does
//! not) gets `<its path in the bundle>.debug`, for `eu-unstrip` or gdb's
//! `symbol-file`.

use std::path::{Path, PathBuf};

use crate::elf::ElfInfo;
use crate::plan::Source;

/// What to do with the debug information of the bundle's ELF files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DebugInfo {
    /// `--no-strip`: leave it in.
    Keep,
    /// Remove it (the default).
    Strip,
    /// `--debug-dir DIR`: remove it and write it into DIR.
    Split(PathBuf),
}

/// `source`, the ELF file at `dest` in the bundle that `info` describes,
/// stripped as `mode` says.  The stripping goes under any edits: they are
/// made on the stripped file.
pub fn strip(source: Source, info: &ElfInfo, dest: &Path, mode: &DebugInfo) -> Source {
    if !info.debug_info {
        return source;
    }
    let debug = match mode {
        DebugInfo::Keep => return source,
        DebugInfo::Strip => None,
        DebugInfo::Split(dir) => Some(dir.join(debug_file(info, dest))),
    };
    under_edits(source, debug)
}

fn under_edits(source: Source, debug: Option<PathBuf>) -> Source {
    match source {
        Source::Patched { base, edits } => Source::Patched {
            base: Box::new(under_edits(*base, debug)),
            edits,
        },
        base => Source::Stripped {
            base: Box::new(base),
            debug,
        },
    }
}

/// The debug file of the file at `dest`, relative to the debug folder.
fn debug_file(info: &ElfInfo, dest: &Path) -> PathBuf {
    match &info.build_id {
        Some(id) if id.len() > 2 && id.is_ascii() => PathBuf::from(".build-id")
            .join(&id[..2])
            .join(format!("{}.debug", &id[2..])),
        _ => {
            let mut name = dest.as_os_str().to_owned();
            name.push(".debug");
            PathBuf::from(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::Edits;

    fn info(debug_info: bool, build_id: Option<&str>) -> ElfInfo {
        ElfInfo {
            debug_info,
            build_id: build_id.map(String::from),
            ..ElfInfo::default()
        }
    }

    fn file() -> Source {
        Source::File(PathBuf::from("/python/lib/libpython3.11.so.1.0"))
    }

    const DEST: &str = "lib/libpython3.11.so.1.0";

    fn debug_of(source: &Source) -> Option<Option<&Path>> {
        match source {
            Source::Stripped { base, debug } => {
                assert!(matches!(**base, Source::File(_)), "{source:?}");
                Some(debug.as_deref())
            }
            _ => None,
        }
    }

    #[test]
    fn files_without_debug_information_are_copied_as_they_are() {
        let source = strip(
            file(),
            &info(false, Some("ab12")),
            DEST.as_ref(),
            &DebugInfo::Strip,
        );
        assert!(matches!(source, Source::File(_)), "{source:?}");
    }

    #[test]
    fn no_strip_keeps_the_debug_information() {
        let source = strip(
            file(),
            &info(true, Some("ab12")),
            DEST.as_ref(),
            &DebugInfo::Keep,
        );
        assert!(matches!(source, Source::File(_)), "{source:?}");
    }

    #[test]
    fn stripping_comes_before_the_edits() {
        let edits = Edits {
            nodelete: true,
            ..Edits::default()
        };
        let patched = Source::Patched {
            base: Box::new(file()),
            edits: edits.clone(),
        };
        let source = strip(patched, &info(true, None), DEST.as_ref(), &DebugInfo::Strip);
        let Source::Patched { base, edits: kept } = source else {
            panic!("the edits are gone: {source:?}");
        };
        assert_eq!(kept, edits);
        assert_eq!(debug_of(&base), Some(None));
    }

    #[test]
    fn debug_files_are_named_by_build_id_as_gdb_looks_for_them() {
        let mode = DebugInfo::Split(PathBuf::from("/srv/debug"));
        let source = strip(file(), &info(true, Some("ab12cd")), DEST.as_ref(), &mode);
        assert_eq!(
            debug_of(&source),
            Some(Some(Path::new("/srv/debug/.build-id/ab/12cd.debug")))
        );
    }

    #[test]
    fn files_without_build_id_get_a_debug_file_named_by_their_path() {
        let mode = DebugInfo::Split(PathBuf::from("/srv/debug"));
        let source = strip(file(), &info(true, None), DEST.as_ref(), &mode);
        assert_eq!(
            debug_of(&source),
            Some(Some(Path::new("/srv/debug/lib/libpython3.11.so.1.0.debug")))
        );
    }
}
