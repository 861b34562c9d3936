//! The subcommands: each checks its arguments, then runs the pipeline
//! stages it needs in order.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::cli::{BuildArgs, Command, Log};
use crate::collect::{self, human_size};
use crate::write::{self, Manifest, PythonInfo};
use crate::{build, fail, resolve};

pub fn run(command: Command, log: Log) -> Result<()> {
    match command {
        Command::Build(args) => build(args, log),
    }
}

fn build(args: BuildArgs, log: Log) -> Result<()> {
    let (script, name) = build::split_script_arg(&args.script);
    let script = std::path::absolute(&script).unwrap_or(script);
    let script_dir = script.parent().unwrap_or(Path::new(".")).to_path_buf();
    for part in &args.keep_stdlib {
        if !collect::OPTIONAL_STDLIB_PARTS.contains(&part.as_str()) {
            return Err(fail(
                format!("`--keep-stdlib {part}` names no part that is left out"),
                format!("choose from {}", collect::OPTIONAL_STDLIB_PARTS.join(", ")),
            ));
        }
    }
    let env = resolve::resolve(args.venv.as_deref(), &script_dir)?;
    log.info(format!(
        "Python {} from `{}` (libpython `{}`)",
        env.info.version_text(),
        env.venv.display(),
        env.libpython.display()
    ));
    let plugin = build::build(&script, name.as_deref(), &env, log)?;
    let out = args
        .output
        .clone()
        .unwrap_or_else(|| PathBuf::from("dist").join(&plugin.module));
    let options = collect::Options {
        apps: args.app.clone(),
        keep_stdlib: args.keep_stdlib.clone(),
        keep_build_tools: args.keep_build_tools,
        output: out.clone(),
    };
    let plan = collect::plan(&plugin, &env, &options)?;
    if args.dry_run {
        print!("{}", plan.describe());
        return Ok(());
    }
    let manifest = Manifest {
        embedpack: env!("CARGO_PKG_VERSION").to_string(),
        module: plugin.module.clone(),
        python: PythonInfo {
            implementation: env.info.implementation.clone(),
            version: env.info.version_text(),
            soabi: env.info.soabi.clone(),
            libpython: env
                .libpython
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
        },
        files: Vec::new(),
    };
    write::write_dir(&plan, &plugin.layout, manifest, &out, args.force)?;
    log.info(format!(
        "Wrote `{}`: {} files, {}",
        out.display(),
        plan.entries.len(),
        human_size(plan.total_size())
    ));
    Ok(())
}
