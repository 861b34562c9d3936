//! `embedpack pack` given what is not an x86-64 CFFI embedding library
//! it can edit: a text file, a 32-bit and a big-endian library (each
//! linked by a real linker for its machine), a truncated library, an
//! embedding library without section headers, a static executable.

use std::process::Command;

use super::Case;
use crate::support::*;

/// A one-function C file, `f.c`, in the case's folder.
fn c_file(case: &Case) -> String {
    case.write("f.c", "int f(void) { return 1; }\n");
    "f.c".to_string()
}

/// Runs a compiler or linker in the case's folder.
fn tool(case: &Case, program: &str, args: &[&str]) {
    run_ok(Command::new(program).current_dir(&case.dir).args(args));
}

#[test]
fn not_elf() {
    let case = Case::new("pack-not-elf");
    case.write("notes.so", "these are notes, not a library\n");
    case.refused(case.pack("notes.so"), "notes.so");
}

#[test]
fn elf_32_bit() {
    let case = Case::new("pack-32-bit");
    let c = c_file(&case);
    tool(&case, "gcc", &["-m32", "-fPIC", "-c", &c, "-o", "f32.o"]);
    tool(
        &case,
        "ld",
        &["-m", "elf_i386", "-shared", "f32.o", "-o", "lib32.so"],
    );
    std::fs::remove_file(case.path("f32.o")).unwrap();
    case.refused(case.pack("lib32.so"), "lib32.so");
}

#[test]
fn elf_big_endian() {
    let case = Case::new("pack-big-endian");
    let c = c_file(&case);
    let target = "--target=powerpc64-linux-gnu";
    tool(&case, "clang", &[target, "-fPIC", "-c", &c, "-o", "be.o"]);
    tool(&case, "ld.lld", &["-shared", "be.o", "-o", "libppc64.so"]);
    std::fs::remove_file(case.path("be.o")).unwrap();
    case.refused(case.pack("libppc64.so"), "libppc64.so");
}

#[test]
fn elf_truncated() {
    let case = Case::new("pack-truncated");
    let c = c_file(&case);
    tool(&case, "gcc", &["-shared", "-fPIC", &c, "-o", "libcut.so"]);
    tool(&case, "truncate", &["-s", "3000", "libcut.so"]);
    case.refused(case.pack("libcut.so"), "libcut.so");
}

/// A real CFFI embedding library (the sentinel, linked by hand) with its
/// section headers removed as `sstrip` removes them: `e_shoff`, `e_shnum`
/// and `e_shstrndx` zeroed (binutils 2.40 has no tool that does it).
#[test]
fn elf_without_section_headers() {
    let case = Case::new("pack-no-section-headers");
    let mut bytes = std::fs::read(crate::pack::hand_built_sentinel()).unwrap();
    bytes[0x28..0x30].fill(0); // e_shoff
    bytes[0x3c..0x40].fill(0); // e_shnum, e_shstrndx
    std::fs::write(case.path("libsentinel.so"), bytes).unwrap();
    case.refused(case.pack("libsentinel.so"), "libsentinel.so");
}

#[test]
fn static_executable() {
    let case = Case::new("pack-static");
    case.write("main.c", "int main(void) { return 0; }\n");
    tool(&case, "gcc", &["-static", "main.c", "-o", "tool"]);
    case.refused(case.pack("tool"), "tool");
}
