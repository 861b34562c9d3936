//! Build: run the user's CFFI build script under the venv's interpreter,
//! capture the embedding FFI it defines, and compile the plugin with
//! embedpack's bootstrap linked in.

mod cdecl;
mod compile;
mod embed_py;
mod header;
mod pack;
mod patch;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use serde::Deserialize;

use crate::bundle::Layout;
use crate::cli::Log;
use crate::fail;
use crate::plan::Source;
use crate::resolve::Environment;

const HARNESS: &str = include_str!("harness.py");
/// Exit status of harness.py for a problem in the user's script.
const HARNESS_USER_ERROR: i32 = 3;

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
/// file, with the edits that install the bootstrap).
pub struct Plugin {
    /// `<module>`: the last dotted component of the `set_source` name.
    pub module: String,
    pub layout: Layout,
    pub library: Source,
    /// `include/<module>.h`; none for a packed library, whose C
    /// declarations embedpack does not know.
    pub header: Option<String>,
    /// A packed plugin's bootstrap library: (its path in the bundle, its
    /// bytes).
    pub bootstrap: Option<(PathBuf, Vec<u8>)>,
    /// Where the plugin's own libraries were found at link time
    /// (`set_source(library_dirs=)`, absolute).
    pub library_dirs: Vec<PathBuf>,
    /// The compiler that built it, as `cc --version` names itself.
    pub compiler: String,
}

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

/// Runs `script` and compiles the plugin it declares.
pub fn build(script: &Path, name: Option<&str>, env: &Environment, log: Log) -> Result<Plugin> {
    let workdir = tempfile::Builder::new()
        .prefix("embedpack-build-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let declared = run_script(script, name, env, workdir.path(), log)?;
    for warning in &declared.warnings {
        log.warn(warning);
    }
    let module = module_of(&declared.module_name).to_string();
    let layout = Layout::new(&module, env.backend.home(&env.info));
    let generated = workdir.path().join(format!("{module}.c"));
    let source = std::fs::read_to_string(&generated)
        .with_context(|| format!("cannot read `{}`", generated.display()))?;
    let edits = env.backend.bootstrap().cffi_edits;
    std::fs::write(
        &generated,
        patch::apply(&source, edits, &declared.cffi_version)?,
    )
    .with_context(|| format!("cannot write `{}`", generated.display()))?;
    let script_dir = script.parent().unwrap_or(Path::new("."));
    let library = compile::compile(&compile::Inputs {
        module: &module,
        generated: &generated,
        workdir: workdir.path(),
        script_dir,
        keywords: &declared.keywords,
        env,
        layout: &layout,
        log,
    })?;
    let header = header::generate(&module, &declared.embedding_api);
    header::check(&module, &header, workdir.path())?;
    Ok(Plugin {
        compiler: compile::compiler_version()?,
        header: Some(header),
        bootstrap: None,
        library_dirs: declared
            .keywords
            .library_dirs
            .iter()
            .map(|d| script_dir.join(d))
            .collect(),
        module,
        layout,
        library: Source::Bytes(read(&library)?),
    })
}

fn run_script(
    script: &Path,
    name: Option<&str>,
    env: &Environment,
    workdir: &Path,
    log: Log,
) -> Result<Declared> {
    if !script.is_file() {
        return Err(fail(
            format!("build script `{}` does not exist", script.display()),
            "give the path of the Python file that calls `ffibuilder.embedding_api()`",
        ));
    }
    let harness = workdir.join("embedpack_harness.py");
    std::fs::write(&harness, HARNESS)
        .with_context(|| format!("cannot write `{}`", harness.display()))?;
    let description = workdir.join("declared.json");
    let output = Command::new(&env.python)
        .arg("-B")
        .arg(&harness)
        .arg(script)
        .arg(name.unwrap_or(""))
        .arg(workdir.join("generated.c"))
        .arg(&description)
        .env_remove("PYTHONPATH")
        .env_remove("PYTHONHOME")
        .output()
        .with_context(|| format!("cannot run `{}`", env.python.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    log.detail(stdout.trim_end());
    match output.status.code() {
        Some(0) => {}
        Some(HARNESS_USER_ERROR) => {
            return Err(fail(
                stderr.trim(),
                "embedpack builds the FFI object that has `embedding_api()`",
            ))
        }
        _ => {
            return Err(fail(
                format!(
                    "build script `{}` failed:\n{}",
                    script.display(),
                    stderr.trim_end()
                ),
                "fix the script; it runs under the venv's Python from its own directory",
            ))
        }
    }
    let declared: Declared = serde_json::from_slice(
        &std::fs::read(&description)
            .with_context(|| format!("cannot read `{}`", description.display()))?,
    )
    .context("cannot read what the build script declared")?;
    let module = module_of(&declared.module_name);
    std::fs::rename(
        workdir.join("generated.c"),
        workdir.join(format!("{module}.c")),
    )
    .context("cannot rename the generated C source")?;
    Ok(declared)
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
}
