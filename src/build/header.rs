//! `include/<module>.h`: the declarations given to `embedding_api()`,
//! made into C (see `cdecl`), and the start-up functions embedpack adds,
//! from `stubs/header.h.in`.  The header is compiled as C, and as C++
//! when a C++ compiler is found, with `-Wall -Wextra -Werror` before it
//! goes into a bundle: a header that does not compile stops the build.

use std::io::Write;
use std::process::{Command, Output, Stdio};

use anyhow::{Context, Result};

use super::cdecl;
use super::compile;
use crate::fail;

const TEMPLATE: &str = include_str!("../../stubs/header.h.in");
/// How many lines of compiler errors to show.
const ERROR_LINES: usize = 30;

/// What the C names embedpack adds for `module` start with: `<module>_init()`,
/// its include guard `<MODULE>_H`.  A module whose name starts with `_`
/// (CFFI's private `_plugin` beside a package `plugin`) gets `embedpack_`
/// in place of its leading underscores: C reserves names that start with
/// `_` at file scope, and `_plugin` and `plugin` must not share a guard.
pub fn c_prefix(module: &str) -> String {
    match module.trim_start_matches('_') {
        stripped if stripped.len() < module.len() => format!("embedpack_{stripped}"),
        _ => module.to_string(),
    }
}

/// The header of `module`, whose `embedding_api()` calls got `declarations`.
pub fn generate(module: &str, declarations: &[String]) -> String {
    let prefix = c_prefix(module);
    let guard = format!("{}_H", prefix.to_ascii_uppercase());
    let declarations = declarations
        .iter()
        .map(|d| dedent(d))
        .collect::<Vec<_>>()
        .join("\n");
    let rewritten = cdecl::rewrite(declarations.trim());
    let mut includes = String::new();
    for include in &rewritten.includes {
        let line = format!("#include <{}>\n", include.name);
        if include.c_only {
            includes += &format!("#ifndef __cplusplus\n{line}#endif\n");
        } else {
            includes += &line;
        }
    }
    if !includes.is_empty() {
        includes += "\n";
    }
    TEMPLATE
        .replace("@GUARD@", &guard)
        .replace("@INCLUDES@", &includes)
        .replace("@DECLARATIONS@", rewritten.text.trim())
        .replace("@PREFIX@", &prefix)
        .replace("@MODULE@", module)
}

/// Compiles `header` (twice, for its include guard), read from the
/// compiler's standard input so that no file is written; fails with the
/// compiler's messages when it does not compile cleanly.
pub fn check(module: &str, header: &str) -> Result<()> {
    let text = format!("{header}\n{header}\n");
    let mut errors = String::new();
    for (language, cpp) in [("c", false), ("c++", true)] {
        let mut command = match compile::compiler_for(cpp) {
            Ok(tool) => tool.to_command(),
            // No C++ compiler here: the C check is what we can do.
            Err(_) if cpp => continue,
            Err(e) => return Err(e),
        };
        command
            .args([
                "-fsyntax-only",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-x",
                language,
                "-",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let output = match run_with_input(command, &text) {
            Ok(output) => output,
            // No C++ compiler here: the C check is what we can do.
            Err(e) if cpp && e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).context("cannot run the C compiler"),
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr)
                .replace("<stdin>", &format!("include/{module}.h"));
            errors += &format!("as {}:\n{}", language.to_uppercase(), stderr);
        }
    }
    if errors.is_empty() {
        return Ok(());
    }
    let first: Vec<&str> = errors.lines().take(ERROR_LINES).collect();
    Err(fail(
        format!(
            "the header `include/{module}.h` made from `embedding_api()` does not compile {}",
            first.join("\n")
        ),
        "the header holds only what `embedding_api()` declares: declare there, in plain C, \
         every type its functions use (`cdef()` declarations do not reach the header, and \
         `...` leaves a type incomplete or out)",
    ))
}

/// Runs `command` with `input` on its standard input, which is written
/// from a thread so that a compiler filling its output pipes first does
/// not block.
fn run_with_input(mut command: Command, input: &str) -> std::io::Result<Output> {
    let mut child = command.spawn()?;
    let stdin = child.stdin.take();
    std::thread::scope(|scope| {
        if let Some(mut stdin) = stdin {
            // A compiler that stops early closes its input: not an error.
            scope.spawn(move || stdin.write_all(input.as_bytes()));
        }
        child.wait_with_output()
    })
}

/// Removes the indentation common to all non-blank lines.
fn dedent(text: &str) -> String {
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| {
            if l.len() >= indent {
                &l[indent..]
            } else {
                l.trim_start()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_declares_the_api_and_the_init_functions() {
        let text = generate("hello", &["\n    int add(int x, int y);\n".into()]);
        assert!(text.contains("#ifndef HELLO_H"));
        assert!(text.contains("\nint add(int x, int y);\n"));
        assert!(text.contains("int hello_init(void);"));
        assert!(text.contains("#ifndef HELLO_H"));
        assert!(text.contains("const char *hello_init_error(void);"));
        assert!(!text.contains('@'));
        assert!(!text.contains("#include"));
    }

    #[test]
    fn guard_and_includes() {
        let text = generate("_add1_cffi", &["bool ok(size_t n);".into()]);
        assert!(text.contains("#ifndef EMBEDPACK_ADD1_CFFI_H\n#define EMBEDPACK_ADD1_CFFI_H\n"));
        assert!(text
            .contains("#include <stddef.h>\n#ifndef __cplusplus\n#include <stdbool.h>\n#endif\n"));
    }

    #[test]
    fn check_accepts_partial_declarations_and_refuses_unknown_types() {
        let good = generate(
            "good",
            &[
                "typedef struct { int x; ...; } p_t;\n#define N ...\np_t *make(int x); int n;"
                    .into(),
            ],
        );
        check("good", &good).unwrap();
        let bad = generate("bad", &["int f(point_t *p);".into()]);
        let err = format!("{:#}", check("bad", &bad).unwrap_err());
        assert!(err.contains("include/bad.h:"), "{err}");
        assert!(err.contains("point_t"), "{err}");
        assert!(!err.contains("<stdin>"), "{err}");
    }

    #[test]
    fn a_private_module_gets_names_c_allows_and_a_guard_of_its_own() {
        assert_eq!(c_prefix("plugin"), "plugin");
        assert_eq!(c_prefix("_plugin"), "embedpack_plugin");
        assert_eq!(c_prefix("__plugin"), "embedpack_plugin");
        let private = generate("_plugin", &["int twice(int);".to_string()]);
        assert!(private.contains("#ifndef EMBEDPACK_PLUGIN_H"), "{private}");
        assert!(private.contains("int embedpack_plugin_init(void);"));
        assert!(private.contains("const char *embedpack_plugin_init_error(void);"));
        assert!(!private.contains(" _plugin_init"), "{private}");
        let public = generate("plugin", &["int twice(int);".to_string()]);
        assert!(public.contains("#ifndef PLUGIN_H"));
    }
}
