//! `embedpack build SCRIPT` given a build script that fails: one with a
//! syntax error, one that calls `sys.exit(3)`, one that prints megabytes
//! before it fails (its error shows the end of its output, not all of
//! it), one whose `set_source()` names a source that does not exist, one
//! whose declarations CFFI cannot parse.

use super::{Case, PLUGIN_SCRIPT};

/// Writes the good build script changed by `edit` as `name`.
fn script(case: &Case, name: &str, edit: impl Fn(&str) -> String) {
    case.write(name, &edit(PLUGIN_SCRIPT));
}

fn build(case: &Case, name: &str) -> std::process::Command {
    case.build(name, &["-o", "out"])
}

#[test]
fn script_with_a_syntax_error() {
    let case = Case::new("script-syntax-error");
    script(&case, "broken_build.py", |s| {
        s.replace("cffi.FFI()", "cffi.FFI(")
    });
    case.refused(build(&case, "broken_build.py"), "broken_build.py");
}

#[test]
fn script_that_exits_3() {
    let case = Case::new("script-exits-3");
    script(&case, "exits_build.py", |s| {
        format!("{s}import sys\nsys.exit(3)\n")
    });
    case.refused(build(&case, "exits_build.py"), "exits_build.py");
}

/// 12 MB on stdout and a 10 kB line on stderr, then an exception.
#[test]
fn script_that_prints_megabytes() {
    let case = Case::new("script-prints-megabytes");
    script(&case, "loud_build.py", |s| {
        format!(
            "{s}import sys\n\
             for i in range(200000):\n    print('line', i, 'x' * 50)\n\
             print('to stderr ' * 1000, file=sys.stderr)\n\
             raise RuntimeError('the loud script failed')\n"
        )
    });
    case.refused(build(&case, "loud_build.py"), "loud_build.py");
}

#[test]
fn set_source_names_a_missing_source() {
    let case = Case::new("script-missing-source");
    script(&case, "plugin_build.py", |s| {
        s.replace(
            r#"set_source("plugin", "")"#,
            r#"set_source("plugin", "", sources=["csrc/helpers.c"])"#,
        )
    });
    case.refused(build(&case, "plugin_build.py"), "csrc/helpers.c");
}

#[test]
fn cdef_that_does_not_parse() {
    let case = Case::new("script-bad-cdef");
    script(&case, "plugin_build.py", |s| {
        s.replace("int twice(int);", "int twice(int")
    });
    case.refused(build(&case, "plugin_build.py"), "plugin_build.py");
}
