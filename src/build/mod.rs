//! Build: run the user's CFFI build script under the venv's interpreter,
//! capture the embedding FFI it defines, and compile the plugin with
//! embedpack's bootstrap linked in.

pub(crate) mod cdecl;
mod compile;
mod embed_py;
mod header;
mod pack;
mod patch;
mod shim;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::bundle::{Home, Layout};
use crate::elf::Edits;
use crate::fail;
use crate::log::Log;
use crate::plan::Source;
use crate::resolve::Environment;

const HARNESS: &str = include_str!("harness.py");
/// Where the harness writes CFFI's C, in the work directory.
const GENERATED: &str = "generated.c";
/// Exit status of harness.py for a problem in the user's script.
const HARNESS_USER_ERROR: i32 = 3;
/// How many of a failed build script's last lines of output to show, and
/// how many characters of each.
const SCRIPT_LINES: usize = 30;
const LINE_CHARS: usize = 300;

/// What the build script declared, as harness.py reports it.
#[derive(Debug, Deserialize)]
pub struct Declared {
    pub module_name: String,
    pub keywords: Keywords,
    pub embedding_api: Vec<String>,
    pub cffi_version: String,
    pub warnings: Vec<String>,
}

/// The `set_source()` keyword arguments embedpack honors.
#[derive(Debug, Default, Deserialize)]
pub struct Keywords {
    pub libraries: Vec<String>,
    pub library_dirs: Vec<PathBuf>,
    pub include_dirs: Vec<PathBuf>,
    pub sources: Vec<PathBuf>,
    pub define_macros: Vec<(String, Option<String>)>,
    pub undef_macros: Vec<String>,
    pub extra_compile_args: Vec<String>,
    pub extra_link_args: Vec<String>,
    pub extra_objects: Vec<PathBuf>,
}

/// A plugin to bundle: compiled (its bytes), or compiled elsewhere (that
/// file, with the edits that install the bootstrap); and the shim hosts
/// load it through.
pub struct Plugin {
    /// `<module>`: the last dotted component of the `set_source` name.
    pub module: String,
    pub layout: Layout,
    /// The embedded plugin, at `layout.embedded`.
    pub library: Source,
    /// The library hosts load, at `layout.plugin`, when it is a shim.
    pub shim: Option<Source>,
    /// `--self-check`: the shim checks the files it loads against the
    /// manifest before loading them.
    pub self_check: bool,
    /// `include/<module>.h`; none for a packed library, whose C
    /// declarations embedpack does not know.
    pub header: Option<String>,
    /// A packed plugin's bootstrap library: its path in the bundle, and
    /// where its bytes come from.
    pub bootstrap: Option<(PathBuf, Source)>,
    /// Where the plugin's own libraries were found at link time
    /// (`set_source(library_dirs=)`, absolute).
    pub library_dirs: Vec<PathBuf>,
}

pub use compile::compiler_version;
pub use pack::pack;

/// `BUILD_SCRIPT[:NAME]` split in two.
pub fn split_script_arg(arg: &str) -> (PathBuf, Option<String>) {
    match arg.rsplit_once(':') {
        Some((script, name)) if !name.is_empty() && !name.contains('/') && !script.is_empty() => {
            (PathBuf::from(script), Some(name.to_string()))
        }
        _ => (PathBuf::from(arg), None),
    }
}

/// What the user asked of a plugin, beside its inputs.
pub struct Request {
    /// Where the interpreter's home goes in the bundle, which the
    /// bootstrap has compiled in.
    pub home: Home,
    /// Plan the plugin, compiling nothing.
    pub dry_run: bool,
    /// A shim that checks the bundle before it loads the plugin.
    pub self_check: bool,
}

/// Runs `script` from `root`, its project's folder (`project`), and
/// compiles the plugin it declares there, after checking its header, as
/// `request` says; a dry run only runs the script (writing no file) and
/// plans the plugin.
pub fn build(
    script: &Path,
    name: Option<&str>,
    root: &Path,
    env: &Environment,
    request: &Request,
    log: Log,
) -> Result<Plugin> {
    let self_check = request.self_check;
    let workdir = match request.dry_run {
        true => None,
        false => Some(crate::scratch::Scratch::new("build")?),
    };
    let generated = workdir.as_ref().map(|w| w.path().join(GENERATED));
    let declared = run_script(script, name, root, env, generated.as_deref(), log)?;
    for warning in &declared.warnings {
        log.warn(warning);
    }
    let module = module_of(&declared.module_name).to_string();
    let mut layout = Layout::new(&module, request.home.clone());
    let header = header::generate(&module, &declared.embedding_api);
    let (library, shim) = match &workdir {
        Some(workdir) => {
            header::check(&module, &header)?;
            let work = workdir.path();
            let library = compile_plugin(work, &declared, &module, root, env, &layout, log)?;
            let examined = crate::elf::examine(&library)?;
            match shim::forwards(&examined, &layout, log) {
                true => {
                    let exports = &examined.exports;
                    let shim = shim::compile(work, &layout, &module, exports, self_check, log)?;
                    (Source::Bytes(library), Some(Source::Bytes(shim)))
                }
                false => {
                    layout = layout.without_shim();
                    shim::check_self_check(&layout, self_check)?;
                    let edits = Edits {
                        soname: Some(layout.plugin.display().to_string()),
                        ..Edits::default()
                    };
                    let base = Box::new(Source::Bytes(library));
                    (Source::Patched { base, edits }, None)
                }
            }
        }
        None => (
            Source::Unbuilt {
                from: format!("compiled from {}", script.display()),
                info: compile::plugin_link(&layout, &declared.keywords, root, env),
            },
            Some(shim::planned(&layout, self_check)),
        ),
    };
    Ok(Plugin {
        header: Some(header),
        bootstrap: None,
        library_dirs: declared
            .keywords
            .library_dirs
            .iter()
            .map(|d| root.join(d))
            .collect(),
        module,
        layout,
        library,
        shim,
        self_check,
    })
}

/// CFFI's C for the plugin, which the harness wrote to `workdir`, with
/// the backend's edits, compiled with the bootstrap: the plugin's bytes.
fn compile_plugin(
    workdir: &Path,
    declared: &Declared,
    module: &str,
    root: &Path,
    env: &Environment,
    layout: &Layout,
    log: Log,
) -> Result<Vec<u8>> {
    let generated = workdir.join(GENERATED);
    let source = std::fs::read_to_string(&generated)
        .with_context(|| format!("cannot read `{}`", generated.display()))?;
    let edits = env.backend.bootstrap().cffi_edits;
    let named = workdir.join(format!("{module}.c"));
    std::fs::write(
        &named,
        patch::apply(&source, edits, &declared.cffi_version)?,
    )
    .with_context(|| format!("cannot write `{}`", named.display()))?;
    read(&compile::compile(&compile::Inputs {
        module,
        generated: &named,
        workdir,
        root,
        keywords: &declared.keywords,
        env,
        layout,
        log,
    })?)
}

/// Runs `script` from `root` under the harness, which writes the chosen
/// FFI's C to `generated` (when given) and reports what it declares.
fn run_script(
    script: &Path,
    name: Option<&str>,
    root: &Path,
    env: &Environment,
    generated: Option<&Path>,
    log: Log,
) -> Result<Declared> {
    if !script.is_file() {
        return Err(fail(
            format!("build script `{}` does not exist", script.display()),
            "give the path of the Python file that calls `ffibuilder.embedding_api()`",
        ));
    }
    let output = Command::new(&env.python)
        .arg("-B")
        .arg("-c")
        .arg(HARNESS)
        .arg(script)
        .arg(name.unwrap_or(""))
        .arg(generated.unwrap_or(Path::new("")))
        .arg(root)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .output()
        .with_context(|| format!("cannot run `{}`", env.python.display()))?;
    let report = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    log.detail(stderr.trim_end());
    match output.status.code() {
        Some(0) => {}
        Some(HARNESS_USER_ERROR) => {
            return Err(fail(
                report.trim(),
                "embedpack builds the FFI object that has `embedding_api()`",
            ))
        }
        _ => {
            return Err(fail(
                format!(
                    "build script `{}` failed:\n{}",
                    script.display(),
                    last_lines(stderr.trim_end())
                ),
                format!(
                    "fix the script; it runs under the venv's Python from `{}`",
                    root.display()
                ),
            ))
        }
    }
    serde_json::from_slice(&output.stdout).context("cannot read what the build script declared")
}

/// The end of a failed script's output, where its error is: its last
/// `SCRIPT_LINES` lines, each cut at `LINE_CHARS` characters, after a line
/// saying how many came before (`-v` shows them all).
fn last_lines(output: &str) -> String {
    let lines: Vec<&str> = output.lines().collect();
    let skipped = lines.len().saturating_sub(SCRIPT_LINES);
    let mut text = match skipped {
        0 => String::new(),
        n => format!("[{n} earlier lines of output left out; -v shows them]\n"),
    };
    for line in &lines[skipped..] {
        match line.char_indices().nth(LINE_CHARS) {
            Some((end, _)) => text += &format!("{} [line cut]\n", &line[..end]),
            None => text += &format!("{line}\n"),
        }
    }
    text.truncate(text.trim_end().len());
    text
}

/// The bytes of a file compiled into the work directory, which goes
/// away when the build returns.
fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))
}

/// `<module>`: the last dotted component of the `set_source` name.
fn module_of(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_argument_with_and_without_name() {
        assert_eq!(split_script_arg("b.py"), (PathBuf::from("b.py"), None));
        assert_eq!(
            split_script_arg("dir/b.py:ffibuilder"),
            (PathBuf::from("dir/b.py"), Some("ffibuilder".into()))
        );
        assert_eq!(split_script_arg("b.py:"), (PathBuf::from("b.py:"), None));
    }

    #[test]
    fn a_long_output_is_cut_to_its_end() {
        assert_eq!(last_lines("one\ntwo"), "one\ntwo");
        let many: Vec<String> = (0..100).map(|i| format!("line {i}")).collect();
        let shown = last_lines(&many.join("\n"));
        assert!(
            shown.starts_with("[70 earlier lines of output left out; -v shows them]\nline 70\n")
        );
        assert!(shown.ends_with("\nline 99"));
        let wide = "é".repeat(LINE_CHARS + 5);
        assert_eq!(
            last_lines(&wide),
            format!("{} [line cut]", "é".repeat(LINE_CHARS))
        );
    }
}
