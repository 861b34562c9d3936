//! Options: the command line's bundle arguments checked in one place and
//! turned into what each stage takes.  What can be checked before
//! anything runs is checked in `BundleOptions::new`; what depends on the
//! environment (the parts of its standard library) or on the plugin (the
//! default output) is checked as soon as those are known.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::build::Plugin;
use crate::cli::BundleArgs;
use crate::resolve::Environment;
use crate::{collect, fail, link, write};

/// What `build` and `pack` were asked, checked.
pub struct BundleOptions {
    pub venv: Option<PathBuf>,
    pub apps: Vec<PathBuf>,
    output: Option<PathBuf>,
    pub dry_run: bool,
    pub force: bool,
    pub keep_stdlib: Vec<String>,
    pub keep_build_tools: bool,
    pub exclude: Vec<String>,
    pub bytecode: bool,
    pub host_libs: Vec<String>,
    pub include_libs: Vec<PathBuf>,
    pub debug_info: link::DebugInfo,
    /// Every file's time, in Unix seconds.
    pub mtime: u64,
}

impl BundleOptions {
    pub fn new(args: BundleArgs) -> Result<BundleOptions> {
        Ok(BundleOptions {
            mtime: source_date_epoch()?,
            venv: args.venv,
            apps: args.app,
            output: args.output,
            dry_run: args.dry_run,
            force: args.force,
            keep_stdlib: args.keep_stdlib,
            keep_build_tools: args.keep_build_tools,
            exclude: args.exclude,
            bytecode: !args.no_bytecode,
            host_libs: args.host_lib,
            include_libs: args.include_lib,
            debug_info: match (args.no_strip, args.debug_dir) {
                (true, _) => link::DebugInfo::Keep,
                (false, Some(dir)) => {
                    link::DebugInfo::Split(std::path::absolute(&dir).unwrap_or(dir))
                }
                (false, None) => link::DebugInfo::Strip,
            },
        })
    }

    /// Refuses a `--keep-stdlib` that names no part `env`'s standard
    /// library leaves out.
    pub fn check_env(&self, env: &Environment) -> Result<()> {
        let home = env.backend.home(&env.info);
        let stdlib = env.backend.stdlib(&env.info, &home);
        let parts: Vec<&str> = stdlib.optional.iter().map(|p| p.name).collect();
        for part in &self.keep_stdlib {
            if !parts.contains(&part.as_str()) {
                return Err(fail(
                    format!("`--keep-stdlib {part}` names no part that is left out"),
                    format!("choose from {}", parts.join(", ")),
                ));
            }
        }
        Ok(())
    }

    /// Where the bundle of `plugin` goes (`./dist/<module>` unless told),
    /// refused when it lies inside an input or holds the debug folder.
    pub fn output(&self, plugin: &Plugin, env: &Environment) -> Result<write::Output> {
        let path = self
            .output
            .clone()
            .unwrap_or_else(|| PathBuf::from("dist").join(&plugin.module));
        check_output_outside_inputs(&path, &env.venv, &self.apps)?;
        if let link::DebugInfo::Split(dir) = &self.debug_info {
            check_debug_dir_outside_output(dir, &path)?;
        }
        Ok(write::Output {
            path,
            force: self.force,
            mtime: self.mtime,
        })
    }

    pub fn collect(&self) -> collect::Options {
        collect::Options {
            apps: self.apps.clone(),
            keep_stdlib: self.keep_stdlib.clone(),
            keep_build_tools: self.keep_build_tools,
            exclude: self.exclude.clone(),
        }
    }

    pub fn link(&self, plugin: &Plugin, env: &Environment) -> link::Options {
        link::Options {
            libdir: plugin.layout.libdir.clone(),
            library_dirs: plugin.library_dirs.clone(),
            runtime: env.runtime_name(),
            backend: env.backend,
            host_libs: self.host_libs.clone(),
            include_libs: self.include_libs.clone(),
            debug_info: self.debug_info.clone(),
        }
    }
}

/// Every file's time: `SOURCE_DATE_EPOCH` when set, else a fixed one.
fn source_date_epoch() -> Result<u64> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(value) if !value.trim().is_empty() => value.trim().parse().map_err(|_| {
            fail(
                format!("SOURCE_DATE_EPOCH is `{value}`, not a number of seconds"),
                "set it to a Unix time such as `$(git log -1 --format=%ct)`",
            )
        }),
        _ => Ok(write::DEFAULT_MTIME),
    }
}

/// The output is replaced as a whole, and is never read as input: it may
/// not lie inside the venv or an app root.
fn check_output_outside_inputs(out: &Path, venv: &Path, apps: &[PathBuf]) -> Result<()> {
    let out = canonical_prefix(out);
    let inputs = std::iter::once((venv, "the venv"))
        .chain(apps.iter().map(|a| (a.as_path(), "an app root")));
    for (input, what) in inputs {
        if input.is_dir() && out.starts_with(canonical_prefix(input)) {
            return Err(fail(
                format!(
                    "the output `{}` lies inside {what}, `{}`",
                    out.display(),
                    input.display()
                ),
                "choose an -o outside the venv and the --app folders",
            ));
        }
    }
    Ok(())
}

/// The debug files go beside the bundle, never in it: the bundle is
/// replaced as a whole, and its manifest lists every file it holds.
fn check_debug_dir_outside_output(dir: &Path, out: &Path) -> Result<()> {
    if canonical_prefix(dir).starts_with(canonical_prefix(out)) {
        return Err(fail(
            format!(
                "the debug folder `{}` lies inside the output `{}`",
                dir.display(),
                out.display()
            ),
            "choose a --debug-dir outside the bundle, e.g. beside it",
        ));
    }
    Ok(())
}

/// `path` made absolute with symlinks resolved as far as it exists.
fn canonical_prefix(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (existing.parent(), existing.file_name()) {
            (Some(parent), Some(name)) => {
                rest.push(name.to_os_string());
                existing = parent;
            }
            _ => break,
        }
    }
    let mut resolved = existing
        .canonicalize()
        .unwrap_or_else(|_| existing.to_path_buf());
    resolved.extend(rest.iter().rev());
    resolved
}
