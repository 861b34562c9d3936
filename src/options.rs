//! Options: the command line's bundle arguments, with what the project's
//! `[tool.embedpack]` gives for those not on it, checked in one place and
//! turned into what each stage takes.  What can be checked before
//! anything runs is checked in `BundleOptions::new`; what depends on the
//! environment (the parts of its standard library) or on the plugin (the
//! default output) is checked as soon as those are known.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::build::Plugin;
use crate::cli::BundleArgs;
use crate::project::Project;
use crate::resolve::Environment;
use crate::{build, collect, fail, link, write};

/// What `build` and `pack` were asked, checked.
pub struct BundleOptions {
    /// The venv given, and where: `--venv`, or the project's file.
    pub venv: Option<(PathBuf, String)>,
    pub apps: Vec<PathBuf>,
    output: Option<PathBuf>,
    pub dry_run: bool,
    /// `--json`: the summary on stdout.
    pub json: bool,
    pub force: bool,
    pub keep_stdlib: Vec<String>,
    /// `--exclude-stdlib`: modules of the standard library to leave out.
    pub exclude_stdlib: Vec<String>,
    pub keep_build_tools: bool,
    pub keep_tests: bool,
    pub exclude: Vec<String>,
    pub bytecode: bool,
    /// Whether the standard library keeps its sources beside its bytecode
    /// (`--no-stdlib-sources`: it does not).
    pub stdlib_sources: bool,
    /// `--zip-stdlib`: the standard library's modules in one zip.
    pub zip_stdlib: bool,
    pub host_libs: Vec<String>,
    pub include_libs: Vec<PathBuf>,
    pub debug_info: link::DebugInfo,
    /// `--self-check`: the shim checks the bundle before loading it.
    pub self_check: bool,
    /// Every file's time, in Unix seconds.
    pub mtime: u64,
    /// Where compiled bytecode is cached between builds (`--no-cache`: nowhere).
    pub bytecode_cache: Option<PathBuf>,
}

impl BundleOptions {
    /// `args`, each option not given taken from `project`'s
    /// `[tool.embedpack]` (its paths from the project's root).
    pub fn new(args: BundleArgs, project: Option<&Project>) -> Result<BundleOptions> {
        let default = crate::project::Config::default();
        let config = project.map_or(&default, |p| &p.config);
        let from_root = |paths: &Option<Vec<PathBuf>>| -> Vec<PathBuf> {
            let paths = paths.iter().flatten();
            paths.filter_map(|p| Some(project?.path(p))).collect()
        };
        let listed = |cli: Vec<String>, file: &Option<Vec<String>>| match cli.is_empty() {
            true => file.clone().unwrap_or_default(),
            false => cli,
        };
        let venv = match (args.venv, project, &config.venv) {
            (Some(venv), _, _) => Some((venv, "--venv".to_string())),
            (None, Some(project), Some(venv)) => Some((
                project.path(venv),
                format!("`venv` in `{}`", project.file()),
            )),
            _ => None,
        };
        let bytecode = match (args.bytecode, args.no_bytecode) {
            (true, _) => true,
            (_, true) => false,
            _ => config.bytecode.unwrap_or(true),
        };
        if args.no_stdlib_sources && !bytecode {
            let off = match args.no_bytecode {
                true => "--no-bytecode".to_string(),
                false => format!(
                    "`bytecode = false` in `{}`",
                    project.map_or_else(String::new, |p| p.file())
                ),
            };
            return Err(fail(
                format!("--no-stdlib-sources keeps only bytecode, and {off} makes none"),
                "leave out one of the two",
            ));
        }
        Ok(BundleOptions {
            mtime: source_date_epoch()?,
            bytecode_cache: match args.no_cache {
                true => None,
                false => crate::write::bytecode_cache_dir(),
            },
            venv,
            apps: match args.app.is_empty() {
                true => from_root(&config.app),
                false => args.app,
            },
            output: args
                .output
                .or_else(|| Some(project?.path(config.output.as_ref()?))),
            dry_run: args.dry_run,
            json: args.json,
            force: args.force,
            keep_stdlib: listed(args.keep_stdlib, &config.keep_stdlib),
            exclude_stdlib: listed(args.exclude_stdlib, &config.exclude_stdlib),
            keep_build_tools: args.keep_build_tools,
            keep_tests: args.keep_tests,
            exclude: listed(args.exclude, &config.exclude),
            bytecode,
            stdlib_sources: !args.no_stdlib_sources,
            zip_stdlib: args.zip_stdlib,
            host_libs: listed(args.host_lib, &config.host_libs),
            include_libs: match args.include_lib.is_empty() {
                true => from_root(&config.include_libs),
                false => args.include_lib,
            },
            debug_info: match (args.no_strip, args.debug_dir) {
                (true, _) => link::DebugInfo::Keep,
                (false, Some(dir)) => {
                    link::DebugInfo::Split(std::path::absolute(&dir).unwrap_or(dir))
                }
                (false, None) => link::DebugInfo::Strip,
            },
            self_check: args.self_check,
        })
    }

    /// Refuses a `--keep-stdlib` that names no part `env`'s standard
    /// library leaves out, an `--exclude-stdlib` of a module its
    /// interpreter imports at start-up, and a `--zip-stdlib` it cannot
    /// import from.
    pub fn check_env(&self, env: &Environment) -> Result<()> {
        let home = env.backend.home(&env.info);
        if self.zip_stdlib && env.backend.stdlib_zip(&env.info, &home).is_none() {
            return Err(fail(
                format!(
                    "--zip-stdlib: {} finds its standard library only as files",
                    env.backend.sbom_identity().0
                ),
                "leave out --zip-stdlib for this venv",
            ));
        }
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
        for module in &self.exclude_stdlib {
            if env.info.startup_modules.contains(module) {
                return Err(fail(
                    format!(
                        "`--exclude-stdlib {module}`: {} imports it at start-up, \
                         before the plugin's code runs",
                        env.backend.sbom_identity().0
                    ),
                    "leave it in the bundle",
                ));
            }
            if self.keep_stdlib.contains(module) {
                return Err(fail(
                    format!("`{module}` is given both to --keep-stdlib and to --exclude-stdlib"),
                    "give it to one of the two",
                ));
            }
        }
        Ok(())
    }

    /// What the plugin for `env` is built as: its home zipped when asked
    /// (`check_env` refused that where it cannot be).
    pub fn request(&self, env: &Environment) -> build::Request {
        let mut home = env.backend.home(&env.info);
        if self.zip_stdlib {
            if let Some(zip) = env.backend.stdlib_zip(&env.info, &home) {
                home = home.zipped(zip);
            }
        }
        build::Request {
            home,
            dry_run: self.dry_run,
            self_check: self.self_check,
        }
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
            bytecode_cache: self.bytecode_cache.clone(),
        })
    }

    pub fn collect(&self) -> collect::Options {
        collect::Options {
            apps: self.apps.clone(),
            keep_stdlib: self.keep_stdlib.clone(),
            exclude_stdlib: self.exclude_stdlib.clone(),
            keep_build_tools: self.keep_build_tools,
            keep_tests: self.keep_tests,
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

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;
    use crate::cli::{Cli, Command};

    fn options(args: &[&str], project: &Project) -> BundleOptions {
        let cli = Cli::try_parse_from(["embedpack", "build"].iter().chain(args)).unwrap();
        let Command::Build(build) = cli.command else {
            unreachable!()
        };
        BundleOptions::new(build.bundle, Some(project)).unwrap()
    }

    #[test]
    fn the_command_line_overrides_the_project_whose_paths_are_from_its_root() {
        let text = "[tool.embedpack]\nvenv = 'env'\napp = ['src']\noutput = 'dist/x'\n\
                    exclude = ['a']\nhost-libs = ['libz.so.1']\ninclude-libs = ['l.so']\n\
                    keep-stdlib = ['test']\nbytecode = false\n";
        let project = Project {
            root: PathBuf::from("/project"),
            config: crate::project::config::parse(text, "pyproject.toml").unwrap(),
        };
        let from_file = options(&[], &project);
        assert_eq!(from_file.venv.unwrap().0, Path::new("/project/env"));
        assert_eq!(from_file.apps, [Path::new("/project/src")]);
        assert_eq!(from_file.output.unwrap(), Path::new("/project/dist/x"));
        assert_eq!(from_file.exclude, ["a"]);
        assert_eq!(from_file.host_libs, ["libz.so.1"]);
        assert_eq!(from_file.include_libs, [Path::new("/project/l.so")]);
        assert_eq!(from_file.keep_stdlib, ["test"]);
        assert!(!from_file.bytecode);
        let given = options(
            &[
                "--venv",
                "v",
                "--app",
                "a",
                "-o",
                "o",
                "--exclude",
                "b",
                "--host-lib",
                "h",
                "--include-lib",
                "i",
                "--keep-stdlib",
                "tkinter",
                "--bytecode",
            ],
            &project,
        );
        assert_eq!(
            given.venv.unwrap(),
            (PathBuf::from("v"), "--venv".to_string())
        );
        assert_eq!(given.apps, [Path::new("a")]);
        assert_eq!(given.output.unwrap(), Path::new("o"));
        assert_eq!(given.exclude, ["b"]);
        assert_eq!(given.host_libs, ["h"]);
        assert_eq!(given.include_libs, [Path::new("i")]);
        assert_eq!(given.keep_stdlib, ["tkinter"]);
        assert!(given.bytecode);
        let none = Project {
            root: PathBuf::from("/project"),
            config: Default::default(),
        };
        assert!(options(&[], &none).bytecode);
        assert!(!options(&["--bytecode", "--no-bytecode"], &none).bytecode);
    }

    #[test]
    fn stdlib_without_sources_needs_bytecode() {
        let refused = |args: &[&str], text: &str| {
            let cli = Cli::try_parse_from(["embedpack", "build"].iter().chain(args)).unwrap();
            let Command::Build(build) = cli.command else {
                unreachable!()
            };
            let project = Project {
                root: PathBuf::from("/project"),
                config: crate::project::config::parse(text, "pyproject.toml").unwrap(),
            };
            let err = BundleOptions::new(build.bundle, Some(&project))
                .err()
                .unwrap();
            crate::error::report(&err)
        };
        assert_eq!(
            refused(&["--no-stdlib-sources", "--no-bytecode"], ""),
            "error: --no-stdlib-sources keeps only bytecode, and --no-bytecode makes none\n\
             hint: leave out one of the two\n"
        );
        assert!(refused(
            &["--no-stdlib-sources"],
            "[tool.embedpack]\nbytecode = false\n"
        )
        .contains("and `bytecode = false` in `/project/pyproject.toml` makes none"));
        let none = Project {
            root: PathBuf::from("/project"),
            config: Default::default(),
        };
        assert!(options(&[], &none).stdlib_sources);
        let sourceless = options(
            &["--no-bytecode", "--bytecode", "--no-stdlib-sources"],
            &none,
        );
        assert!(sourceless.bytecode && !sourceless.stdlib_sources);
    }
}
