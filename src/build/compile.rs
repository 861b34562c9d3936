//! Compiling the plugin at pack time: CFFI's generated C, the bootstrap
//! from `stubs/` (the shared part and the backend's), and the user's own
//! `sources=`, linked against the target interpreter's runtime library
//! into `lib<module>.so`.
//!
//! The `cc` crate finds and configures the compiler (it is made for build
//! scripts, so target, host and optimization are given explicitly); the
//! shared-library link is ours: `SONAME lib<module>.so`, a `DT_RPATH`
//! relative to `$ORIGIN` (searched before `LD_LIBRARY_PATH`), `-z nodelete`
//! (hosts may dlclose; the interpreter must stay), and no build paths in the
//! output.  The bootstrap's own symbols are hidden (`EMBEDPACK_HIDDEN`);
//! the user's C keeps the visibility CFFI would give it.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::Keywords;
use crate::backend::SHARED_STUBS;
use crate::bundle::Layout;
use crate::elf::{self, ElfInfo};
use crate::fail;
use crate::loader::System;
use crate::log::Log;
use crate::resolve::Environment;

/// How many lines of compiler errors to show.
const ERROR_LINES: usize = 30;

pub struct Inputs<'a> {
    pub module: &'a str,
    pub generated: &'a Path,
    pub workdir: &'a Path,
    /// The project's folder: the compiler runs there, and relative
    /// paths in `keywords` are relative to it.
    pub root: &'a Path,
    pub keywords: &'a Keywords,
    pub env: &'a Environment,
    pub layout: &'a Layout,
    pub log: Log,
}

/// Compiles and links the plugin into the work directory; returns its path.
pub fn compile(inputs: &Inputs) -> Result<PathBuf> {
    check_sources(inputs.keywords, inputs.root)?;
    let stubs = write_stubs(inputs.workdir, inputs.env)?;
    let sources = inputs.env.backend.bootstrap().plugin_sources;
    let output = inputs
        .workdir
        .join(inputs.layout.embedded.file_name().unwrap_or_default());
    let mut command = compiler()?.to_command();
    command.current_dir(inputs.root);
    command.args(compile_args(inputs, &stubs));
    command.args(sources.iter().map(|s| stubs.join(s)));
    command.args(&inputs.keywords.sources);
    command.arg("-o").arg(&output);
    command.args(link_args(inputs));
    run(command, inputs.log).map_err(|errors| {
        fail(
            format!("the plugin's C code does not compile:\n{errors}"),
            "fix the C given to `set_source()` (`-v` shows the compiler command)",
        )
    })?;
    Ok(output)
}

/// Every file `set_source(sources=)` names exists, relative to `root`:
/// else the compiler's own error would not say where it looked.
fn check_sources(keywords: &Keywords, root: &Path) -> Result<()> {
    match keywords.sources.iter().find(|s| !root.join(s).is_file()) {
        None => Ok(()),
        Some(missing) => Err(fail(
            format!(
                "`{}`, a source `set_source()` names, does not exist (looked for `{}`)",
                missing.display(),
                root.join(missing).display()
            ),
            format!(
                "fix `sources=` in the build script: relative paths are relative to the project root `{}`",
                root.display()
            ),
        )),
    }
}

/// The bootstrap library of a packed plugin: `soname` in the bundle's
/// library folder, beside the runtime library, with its hooks named
/// `hooks` (in the order of the backend's `hooked_imports`).
pub fn compile_pack_bootstrap(
    workdir: &Path,
    env: &Environment,
    layout: &Layout,
    hooks: &[String],
    soname: &str,
    log: Log,
) -> Result<PathBuf> {
    let stubs = write_stubs(workdir, env)?;
    let output = workdir.join(soname);
    let mut command = compiler()?.to_command();
    command.current_dir(workdir);
    command.args(["-shared", "-pthread", "-fvisibility=hidden"]);
    command.arg(format!("-ffile-prefix-map={}=embedpack", workdir.display()));
    command.arg(format!("-I{}", stubs.display()));
    command.arg(format!("-I{}", env.info.include.display()));
    for (i, hook) in hooks.iter().enumerate() {
        command.arg(format!("-DEMBEDPACK_HOOK_{i}={hook}"));
    }
    command.arg("-DEMBEDPACK_IN_LIBDIR");
    command.args(layout_defines(layout));
    let sources = env.backend.bootstrap().pack_sources;
    command.args(sources.iter().map(|s| stubs.join(s)));
    command.arg("-o").arg(&output);
    command.args([
        format!("-Wl,-soname,{soname}"),
        "-Wl,--disable-new-dtags".to_string(),
        "-Wl,-rpath,$ORIGIN".to_string(),
        "-Wl,-z,nodelete".to_string(),
        "-Wl,--build-id=sha1".to_string(),
    ]);
    command.args(env.backend.link_runtime(&env.runtime));
    command.arg("-ldl");
    run(command, log).map_err(|errors| {
        anyhow::anyhow!("embedpack's bootstrap does not compile here:\n{errors}")
    })?;
    Ok(output)
}

/// Writes the bootstrap's sources into `workdir/stubs`.
fn write_stubs(workdir: &Path, env: &Environment) -> Result<PathBuf> {
    let stubs = workdir.join("stubs");
    std::fs::create_dir_all(&stubs)
        .with_context(|| format!("cannot create `{}`", stubs.display()))?;
    let own = env.backend.bootstrap().files;
    for (name, text) in SHARED_STUBS.iter().chain(own) {
        std::fs::write(stubs.join(name), text)
            .with_context(|| format!("cannot write `{}`", stubs.join(name).display()))?;
    }
    super::embed_py::write(&stubs)?;
    Ok(stubs)
}

/// Runs the compiler; on failure, its first lines of errors.
pub(super) fn run(mut command: std::process::Command, log: Log) -> Result<(), String> {
    let shown: Vec<_> = command.get_args().map(|a| a.to_string_lossy()).collect();
    log.detail(format!(
        "compiling: {} {}",
        command.get_program().to_string_lossy(),
        shown.join(" ")
    ));
    let result = command
        .output()
        .map_err(|e| format!("cannot run the C compiler: {e}"))?;
    if result.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&result.stderr);
    Err(stderr
        .lines()
        .take(ERROR_LINES)
        .collect::<Vec<_>>()
        .join("\n"))
}

/// Where the bootstrap finds the bundle's parts, relative to the plugin.
fn layout_defines(layout: &Layout) -> Vec<String> {
    let quoted = |path: &Path| format!("\"{}\"", path.display());
    let home = &layout.home;
    // Not site-packages: Python starts without it, and a venv may hold
    // nothing a bundle carries (a PyPy venv has no cffi distribution).
    let required: Vec<String> = home.required.iter().map(|p| quoted(p)).collect();
    let mut defines = vec![
        format!("-DEMBEDPACK_PLUGIN={}", quoted(&layout.plugin)),
        format!("-DEMBEDPACK_HOME={}", quoted(&home.prefix)),
        format!("-DEMBEDPACK_STDLIB={}", quoted(&home.stdlib)),
        format!("-DEMBEDPACK_SITE={}", quoted(&layout.site)),
        format!("-DEMBEDPACK_APP={}", quoted(&layout.app)),
        format!("-DEMBEDPACK_REQUIRED={}", required.join(",")),
    ];
    if let Some(extensions) = &home.extensions {
        defines.push(format!("-DEMBEDPACK_EXTENSIONS={}", quoted(extensions)));
    }
    if let Some(zip) = &home.zip {
        defines.push(format!("-DEMBEDPACK_STDLIB_ZIP={}", quoted(zip)));
    }
    defines
}

/// What linking the plugin would record, for a dry run that links
/// nothing: the SONAME, search path and flags of `link_args`, and as
/// NEEDED the runtime library and each of `libraries=` that is a shared
/// library in `library_dirs=` or the system's folders (the C library
/// and the names linker scripts stand for are the system's, which a
/// bundle never carries).
pub fn plugin_link(
    layout: &Layout,
    keywords: &Keywords,
    root: &Path,
    env: &Environment,
) -> ElfInfo {
    let dirs: Vec<PathBuf> = keywords
        .library_dirs
        .iter()
        .map(|d| root.join(d))
        .chain(System::from_host().dirs)
        .collect();
    let linked = keywords
        .libraries
        .iter()
        .filter(|lib| !env.backend.links_runtime(lib))
        .filter_map(|lib| {
            let file = dirs
                .iter()
                .map(|d| d.join(format!("lib{lib}.so")))
                .find(|f| f.is_file())?;
            let info = elf::read_file(&file).ok().flatten()?;
            info.soname
                .or_else(|| Some(file.file_name()?.to_string_lossy().into_owned()))
        });
    ElfInfo {
        soname: Some(layout.embedded.display().to_string()),
        needed: std::iter::once(env.runtime_name()).chain(linked).collect(),
        rpath: Some(format!("$ORIGIN/{}", layout.libdir.display())),
        nodelete: true,
        ..ElfInfo::default()
    }
}

/// The first line of `cc --version`, recorded in the manifest.
pub fn compiler_version() -> Result<String> {
    let output = compiler()?
        .to_command()
        .arg("--version")
        .output()
        .context("cannot run the C compiler")?;
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .next()
        .unwrap_or_default()
        .trim()
        .to_string())
}

fn compiler() -> Result<cc::Tool> {
    compiler_for(false)
}

/// The C (or, with `cpp`, the C++) compiler, configured for the target.
pub(super) fn compiler_for(cpp: bool) -> Result<cc::Tool> {
    let target = env!("EMBEDPACK_TARGET");
    cc::Build::new()
        .cpp(cpp)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .target(target)
        .host(target)
        .opt_level(2)
        .debug(false)
        .pic(true)
        .warnings(false)
        .try_get_compiler()
        .map_err(|e| fail(format!("no C compiler found: {e}"), "install gcc or set CC"))
}

fn compile_args(inputs: &Inputs, stubs: &Path) -> Vec<String> {
    let layout = inputs.layout;
    let quoted = |path: &Path| format!("\"{}\"", path.display());
    let prefix = super::header::c_prefix(inputs.module);
    let mut args = vec![
        "-shared".to_string(),
        "-pthread".to_string(),
        format!("-ffile-prefix-map={}=.", inputs.root.display()),
        format!("-ffile-prefix-map={}=embedpack", inputs.workdir.display()),
        format!("-I{}", stubs.display()),
        format!("-I{}", inputs.env.info.include.display()),
        format!("-DEMBEDPACK_GENERATED={}", quoted(inputs.generated)),
        format!("-DEMBEDPACK_INIT={prefix}_init"),
        format!("-DEMBEDPACK_INIT_ERROR={prefix}_init_error"),
    ];
    args.extend(layout_defines(layout));
    let kw = inputs.keywords;
    args.extend(kw.include_dirs.iter().map(|d| format!("-I{}", d.display())));
    args.extend(kw.define_macros.iter().map(|(name, value)| match value {
        Some(value) => format!("-D{name}={value}"),
        None => format!("-D{name}"),
    }));
    args.extend(kw.undef_macros.iter().map(|name| format!("-U{name}")));
    args.extend(kw.extra_compile_args.iter().cloned());
    args
}

fn link_args(inputs: &Inputs) -> Vec<String> {
    let layout = inputs.layout;
    let mut args = vec![
        format!("-Wl,-soname,{}", layout.embedded.display()),
        "-Wl,--disable-new-dtags".to_string(),
        format!("-Wl,-rpath,$ORIGIN/{}", layout.libdir.display()),
        "-Wl,-z,nodelete".to_string(),
        "-Wl,--build-id=sha1".to_string(),
    ];
    let kw = inputs.keywords;
    args.extend(kw.extra_objects.iter().map(|p| p.display().to_string()));
    args.extend(inputs.env.backend.link_runtime(&inputs.env.runtime));
    args.extend(kw.library_dirs.iter().map(|d| format!("-L{}", d.display())));
    args.extend(
        kw.libraries
            .iter()
            .filter(|lib| !inputs.env.backend.links_runtime(lib))
            .map(|lib| format!("-l{lib}")),
    );
    args.push("-ldl".to_string());
    args.extend(kw.extra_link_args.iter().cloned());
    args
}
