//! The subcommands: each checks its arguments, then runs the pipeline
//! stages it needs in order.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::bundle::{Distribution, Manifest, PythonInfo, Requires};
use crate::cli::{BuildArgs, BundleArgs, Cli, Command, InspectArgs, Log, PackArgs, VerifyArgs};
use crate::collect::{self, human_size};
use crate::write;
use crate::{build, fail, inspect, link, resolve, verify};

/// Runs the command line `cli`.
pub fn run(cli: Cli) -> Result<()> {
    let log = Log::new(cli.verbose, cli.quiet);
    match cli.command {
        Command::Build(args) => build(args, log),
        Command::Pack(args) => pack(args, log),
        Command::Verify(args) => verify(args, log),
        Command::Inspect(args) => inspect(args),
    }
}

fn build(args: BuildArgs, log: Log) -> Result<()> {
    let (script, name) = build::split_script_arg(&args.script);
    let script = std::path::absolute(&script).unwrap_or(script);
    let script_dir = script.parent().unwrap_or(Path::new(".")).to_path_buf();
    let env = resolve_env(&args.bundle, &script_dir, log)?;
    check_keep_stdlib(&args.bundle, &env)?;
    let plugin = build::build(&script, name.as_deref(), &env, log)?;
    bundle(&plugin, &env, &args.bundle, log)
}

fn pack(args: PackArgs, log: Log) -> Result<()> {
    let library = std::path::absolute(&args.library).unwrap_or(args.library.clone());
    let library_dir = library.parent().unwrap_or(Path::new(".")).to_path_buf();
    if !library.is_file() {
        return Err(fail(
            format!("`{}` does not exist", args.library.display()),
            "give the path of the CFFI embedding library (.so) to pack",
        ));
    }
    let env = resolve_env(&args.bundle, &library_dir, log)?;
    check_keep_stdlib(&args.bundle, &env)?;
    let plugin = build::pack(&library, &env, log)?;
    bundle(&plugin, &env, &args.bundle, log)
}

fn check_keep_stdlib(args: &BundleArgs, env: &resolve::Environment) -> Result<()> {
    let home = env.backend.home(&env.info);
    let parts: Vec<&str> = env
        .backend
        .stdlib(&env.info, &home)
        .optional
        .iter()
        .map(|p| p.name)
        .collect();
    for part in &args.keep_stdlib {
        if !parts.contains(&part.as_str()) {
            return Err(fail(
                format!("`--keep-stdlib {part}` names no part that is left out"),
                format!("choose from {}", parts.join(", ")),
            ));
        }
    }
    Ok(())
}

fn resolve_env(args: &BundleArgs, beside: &Path, log: Log) -> Result<resolve::Environment> {
    let env = resolve::resolve(args.venv.as_deref(), beside)?;
    log.info(format!(
        "Python {} from `{}` (`{}`)",
        env.info.version_text(),
        env.venv.display(),
        env.runtime.display()
    ));
    Ok(env)
}

/// collect → link → write, for a plugin that `build` or `pack` prepared.
fn bundle(
    plugin: &build::Plugin,
    env: &resolve::Environment,
    args: &BundleArgs,
    log: Log,
) -> Result<()> {
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("dist").join(&plugin.module));
    check_output_outside_inputs(&out, &env.venv, &args.app)?;
    let options = collect::Options {
        apps: args.app.clone(),
        keep_stdlib: args.keep_stdlib.clone(),
        keep_build_tools: args.keep_build_tools,
        exclude: args.exclude.clone(),
    };
    let mtime = source_date_epoch()?;
    let mut plan = collect::plan(plugin, env, &options)?;
    let (count, size) = plan.size_under(&plugin.layout.site);
    log.info(format!(
        "site-packages: {count} files, {}",
        human_size(size)
    ));
    let _bytecode = if args.no_bytecode {
        None
    } else {
        let bytecode = collect::compile_bytecode(&mut plan, &env.python)?;
        for skipped in &bytecode.skipped {
            log.detail(format!(
                "no bytecode for `{skipped}`: it does not compile with this Python"
            ));
        }
        Some(bytecode)
    };
    let link::Linked {
        plan,
        report: linked,
        scratch: _scratch,
    } = link::link(plan, &link_options(args, plugin, env), log)?;
    if args.dry_run {
        print!("{}", plan.describe());
        return Ok(());
    }
    let python = PythonInfo {
        implementation: env.info.kind.name().to_string(),
        version: env.info.version_text(),
        soabi: env.info.soabi.clone(),
        runtime: env.runtime_name(),
    };
    let distributions = plan
        .distributions(&plugin.layout.site)
        .into_iter()
        .map(|(name, version)| Distribution { name, version })
        .collect();
    let requires = Requires {
        versions: linked.versions.clone(),
        host_libs: linked.host_libs.clone(),
    };
    let manifest = Manifest::new(
        &plugin.module,
        python,
        &plugin.compiler,
        distributions,
        requires,
    );
    let output = write::Output {
        path: out.clone(),
        force: args.force,
        mtime,
    };
    write::write(&plan, &plugin.layout, manifest, &output)?;
    log.info(format!(
        "Wrote `{}`: {} files, {}",
        out.display(),
        plan.entries.len(),
        human_size(plan.total_size())
    ));
    log.info(linked.summary());
    Ok(())
}

fn link_options(
    args: &BundleArgs,
    plugin: &build::Plugin,
    env: &resolve::Environment,
) -> link::Options {
    link::Options {
        libdir: plugin.layout.libdir.clone(),
        library_dirs: plugin.library_dirs.clone(),
        runtime: env.runtime_name(),
        backend: env.backend,
        host_libs: args.host_lib.clone(),
        include_libs: args.include_lib.clone(),
    }
}

fn verify(args: VerifyArgs, log: Log) -> Result<()> {
    let report = verify::verify(&args.bundle)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.to_text());
    }
    if !report.ok {
        anyhow::bail!(
            "`{}` does not match its manifest ({} problems)",
            args.bundle.display(),
            report.problems.len()
        );
    }
    log.detail("verified");
    Ok(())
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

fn inspect(args: InspectArgs) -> Result<()> {
    let description = inspect::inspect(&args.path, args.venv.as_deref())?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&description)?);
    } else {
        print!("{}", description.to_text());
    }
    Ok(())
}
