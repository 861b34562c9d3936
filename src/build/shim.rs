//! The library hosts load, `lib<module>.so`: a shim with no dependency on
//! Python that loads the embedded plugin from its own real path and
//! forwards the plugin's functions to it (stubs/shim.c says why).  With
//! `--self-check`, it first checks the files it is about to load against
//! the bundle's MANIFEST.json (stubs/self_check/); without, it is
//! compiled from the same source as before, to the same bytes.

use std::fmt::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::compile;
use crate::bundle::Layout;
use crate::elf::{ElfInfo, Examined};
use crate::log::Log;
use crate::plan::Source;

const SHIM: &str = include_str!("../../stubs/shim.c");
/// The self-check's sources, compiled in with `--self-check`.
const SELF_CHECK: &[(&str, &str)] = &[
    (
        "self_check.c",
        include_str!("../../stubs/self_check/self_check.c"),
    ),
    (
        "self_check.h",
        include_str!("../../stubs/self_check/self_check.h"),
    ),
    (
        "manifest.c",
        include_str!("../../stubs/self_check/manifest.c"),
    ),
    (
        "manifest.h",
        include_str!("../../stubs/self_check/manifest.h"),
    ),
    ("sha256.c", include_str!("../../stubs/self_check/sha256.c")),
    ("sha256.h", include_str!("../../stubs/self_check/sha256.h")),
    (
        "sha256_x86.c",
        include_str!("../../stubs/self_check/sha256_x86.c"),
    ),
    (
        "sha256_x86.h",
        include_str!("../../stubs/self_check/sha256_x86.h"),
    ),
];
/// What `--dry-run` says the shim is made from.
const PLANNED: &str = "embedpack's library shim, compiled";
const PLANNED_CHECKING: &str =
    "embedpack's library shim, compiled, checking the bundle against MANIFEST.json at start-up";
/// Exported functions of every shared library, which the C runtime
/// defines in the shim as in the plugin.
const RUNTIME_FUNCTIONS: &[&str] = &["_init", "_fini"];

/// Whether hosts can reach everything `examined` (the plugin) exports
/// through a shim: its functions, yes; its variables, no (a host linked
/// at build time binds them before any code runs).  Says why not.
pub fn forwards(examined: &Examined, layout: &Layout, log: Log) -> bool {
    if examined.variables.is_empty() {
        return true;
    }
    log.warn(format!(
        "`{}` exports variables ({}), which embedpack's library shim cannot forward: \
         hosts load the plugin itself, which does not start when reached through a symlink",
        layout.plugin.display(),
        examined.variables.join(", ")
    ));
    false
}

/// Refuses `--self-check` for a plugin that hosts load without a shim:
/// the check must run before the plugin, libpython and the vendored
/// libraries are loaded, and only a shim runs before them.
pub fn check_self_check(layout: &Layout, self_check: bool) -> Result<()> {
    if !self_check || layout.has_shim() {
        return Ok(());
    }
    Err(crate::fail(
        format!(
            "`--self-check` needs embedpack's library shim, and `{}` has none: it exports variables, \
             so hosts load it directly, after the loader has loaded libpython and the vendored libraries",
            layout.plugin.display()
        ),
        "build without `--self-check` (and check the bundle with `embedpack verify`), \
         or export functions that return the variables' addresses instead of the variables",
    ))
}

/// Compiles, in `workdir`, the shim of the plugin `module` laid out as
/// `layout`, forwarding `exports` (the plugin's exported functions), with
/// the self-check when `self_check`; returns its bytes.
pub fn compile(
    workdir: &Path,
    layout: &Layout,
    module: &str,
    exports: &[String],
    self_check: bool,
    log: Log,
) -> Result<Vec<u8>> {
    let dir = workdir.join("shim");
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    let prefix = super::header::c_prefix(module);
    let (init, init_error) = (format!("{prefix}_init"), format!("{prefix}_init_error"));
    let has_init = exports.contains(&init) && exports.contains(&init_error);
    let mut table = String::from("#define EMBEDPACK_EXPORTS(X)");
    let forwarded = exports
        .iter()
        .filter(|name| is_identifier(name) && !RUNTIME_FUNCTIONS.contains(&name.as_str()))
        .filter(|name| !has_init || (**name != init && **name != init_error));
    for (i, name) in forwarded.enumerate() {
        let _ = write!(table, " X({i}, {name})");
    }
    table.push('\n');
    let mut sources = vec![("shim_exports.h", table.as_str()), ("shim.c", SHIM)];
    if self_check {
        sources.extend_from_slice(SELF_CHECK);
    }
    for (name, text) in sources {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("cannot write `{}`", dir.join(name).display()))?;
    }
    let output = dir.join(layout.plugin.file_name().unwrap_or_default());
    let quoted = |path: &Path| format!("\"{}\"", path.display());
    let mut command = compile::compiler_for(false)?.to_command();
    command.current_dir(&dir);
    command.args(["-shared", "-fvisibility=hidden"]);
    command.arg(format!("-ffile-prefix-map={}=embedpack", dir.display()));
    command.arg(format!("-DEMBEDPACK_PLUGIN={}", quoted(&layout.plugin)));
    command.arg(format!("-DEMBEDPACK_EMBEDDED={}", quoted(&layout.embedded)));
    if has_init {
        command.arg(format!("-DEMBEDPACK_INIT={init}"));
        command.arg(format!("-DEMBEDPACK_INIT_ERROR={init_error}"));
    }
    command.arg("shim.c");
    if self_check {
        command.args(self_check_args(layout));
    }
    command.arg("-o").arg(&output);
    command.args(link_args(layout));
    compile::run(command, log).map_err(|errors| {
        anyhow::anyhow!("embedpack's library shim does not compile here:\n{errors}")
    })?;
    std::fs::read(&output).with_context(|| format!("cannot read `{}`", output.display()))
}

/// The shim a dry run would compile: what it is made from, and what
/// linking it records.
pub fn planned(layout: &Layout, self_check: bool) -> Source {
    Source::Unbuilt {
        from: match self_check {
            true => PLANNED_CHECKING,
            false => PLANNED,
        }
        .to_string(),
        info: ElfInfo {
            soname: Some(layout.plugin.display().to_string()),
            rpath: Some(format!("$ORIGIN/{}", layout.libdir.display())),
            nodelete: true,
            ..ElfInfo::default()
        },
    }
}

/// The self-check's sources and where it finds the bundle's parts,
/// relative to the bundle's top, which is the shim's folder.
fn self_check_args(layout: &Layout) -> Vec<String> {
    let quoted = |path: &Path| format!("\"{}\"", path.display());
    let mut args = vec![
        "-DEMBEDPACK_SELF_CHECK".to_string(),
        format!("-DEMBEDPACK_LIBDIR={}", quoted(&layout.libdir)),
        format!("-DEMBEDPACK_MANIFEST={}", quoted(&layout.manifest)),
    ];
    let sources = SELF_CHECK.iter().map(|(name, _)| *name);
    args.extend(sources.filter(|n| n.ends_with(".c")).map(str::to_string));
    args
}

fn link_args(layout: &Layout) -> Vec<String> {
    vec![
        format!("-Wl,-soname,{}", layout.plugin.display()),
        // It needs nothing from lib/, but every file of the bundle names it.
        "-Wl,--disable-new-dtags".to_string(),
        format!("-Wl,-rpath,$ORIGIN/{}", layout.libdir.display()),
        // Hosts may dlclose it; the plugin it loaded stays.
        "-Wl,-z,nodelete".to_string(),
        "-Wl,--build-id=sha1".to_string(),
        "-ldl".to_string(),
    ]
}

/// Whether `name` can be written in assembly and C (a versioned name
/// such as `f@V1` cannot).
fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_c_identifiers_are_forwarded() {
        assert!(is_identifier("add") && is_identifier("_ZN3foo3barEv"));
        assert!(!is_identifier("add@VERS_1") && !is_identifier("1x") && !is_identifier(""));
    }
}
