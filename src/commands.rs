//! The subcommands: each runs the pipeline stages it needs, in order.

use std::path::Path;

use anyhow::Result;

use crate::cli::{BuildArgs, Cli, Command, InspectArgs, PackArgs, VerifyArgs};
use crate::log::Log;
use crate::options::BundleOptions;
use crate::plan::human_size;
use crate::project::{self, Project};
use crate::summary::{Failure, Summary};
use crate::{build, collect, fail, generate, inspect, link, resolve, verify, write};

/// Runs the command line `cli`.
pub fn run(cli: Cli) -> Result<()> {
    let log = Log::new(cli.verbose, cli.quiet);
    match cli.command {
        Command::Build(args) => {
            let json = args.bundle.json;
            answer(json, build(args, for_json(log, json)))
        }
        Command::Pack(args) => {
            let json = args.bundle.json;
            answer(json, pack(args, for_json(log, json)))
        }
        Command::Verify(args) => verify(args, log),
        Command::Inspect(args) => inspect(args),
        Command::Completions(args) => generate::completions(args.shell, &mut std::io::stdout()),
        Command::Man(args) => {
            for page in generate::man(&args.dir)? {
                out(&format!("{}\n", page.display()))?;
            }
            Ok(())
        }
    }
}

/// With `--json`, stdout is for the JSON alone and no bar is drawn.
fn for_json(log: Log, json: bool) -> Log {
    match json {
        true => log.without_progress(),
        false => log,
    }
}

/// With `--json`, a failure is told on stdout too: tools read it there.
fn answer(json: bool, result: Result<()>) -> Result<()> {
    if let (true, Err(err)) = (json, &result) {
        out_json(&Failure::new(err))?;
    }
    result
}

/// `build`: the script given, else the one the project in the working
/// directory names, with the project's options under the command line's.
fn build(args: BuildArgs, log: Log) -> Result<()> {
    let (arg, project) = match args.script {
        Some(arg) => {
            let (script, _) = build::split_script_arg(&arg);
            let script = std::path::absolute(&script).unwrap_or(script);
            let script_dir = script.parent().unwrap_or(Path::new("."));
            (arg, Project::open(project::root_of_script(script_dir))?)
        }
        None => {
            let project = Project::here()?;
            (project.script()?, project)
        }
    };
    let (script, name) = build::split_script_arg(&arg);
    let script = std::path::absolute(&script).unwrap_or(script);
    let options = BundleOptions::new(args.bundle, Some(&project))?;
    let script_dir = script.parent().unwrap_or(Path::new("."));
    let root = &project.root;
    let mut nearby = vec![(script_dir, "beside the build script")];
    if root != script_dir {
        nearby.push((root, "at the project root"));
    }
    let env = resolve_env(&options, &nearby, log)?;
    let request = options.request(&env);
    let plugin = build::build(&script, name.as_deref(), root, &env, &request, log)?;
    bundle(&plugin, &env, &options, log)
}

fn pack(args: PackArgs, log: Log) -> Result<()> {
    let library = std::path::absolute(&args.library).unwrap_or(args.library.clone());
    let options = BundleOptions::new(args.bundle, None)?;
    if library.is_dir() {
        return Err(fail(
            format!("`{}` is a directory, not a library", args.library.display()),
            "give the path of the CFFI embedding library (.so) to pack, not of its folder",
        ));
    }
    if !library.is_file() {
        return Err(fail(
            format!("`{}` does not exist", args.library.display()),
            "give the path of the CFFI embedding library (.so) to pack",
        ));
    }
    let beside = library.parent().unwrap_or(Path::new("."));
    let env = resolve_env(&options, &[(beside, "beside the library")], log)?;
    let plugin = build::pack(&library, &env, &options.request(&env), log)?;
    bundle(&plugin, &env, &options, log)
}

fn resolve_env(
    options: &BundleOptions,
    nearby: &[(&Path, &str)],
    log: Log,
) -> Result<resolve::Environment> {
    let venv = options.venv.as_ref();
    let env = resolve::resolve(
        venv.map(|(dir, from)| (dir.as_path(), from.as_str())),
        nearby,
    )?;
    options.check_env(&env)?;
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
    options: &BundleOptions,
    log: Log,
) -> Result<()> {
    let output = options.output(plugin, env)?;
    let collecting = log.spinner("Collecting");
    let collect::Collected { mut plan, left_out } = collect::plan(plugin, env, &options.collect())?;
    drop(collecting);
    let (count, size) = plan.size_under(&plugin.layout.site);
    log.info(format!(
        "site-packages: {count} files, {}",
        human_size(size)
    ));
    if !left_out.stdlib.is_empty() {
        log.info(format!(
            "standard library: left out {}; keep one with --keep-stdlib NAME",
            left_out.stdlib.join(", ")
        ));
    }
    if !left_out.stdlib_excluded.is_empty() {
        log.info(format!(
            "standard library: left out {}, as --exclude-stdlib asks",
            left_out.stdlib_excluded.join(", ")
        ));
    }
    if !left_out.tests.is_empty() {
        log.info(format!(
            "site-packages: left out the test suites of {}; keep them with --keep-tests",
            left_out.tests.join(", ")
        ));
    }
    if options.bytecode {
        let sourceless = (!options.stdlib_sources).then_some(&plugin.layout.home);
        collect::add_bytecode(&mut plan, env.info.cache_tag.as_deref(), sourceless);
    }
    let linking = log.spinner("Linking");
    let mut linked = link::link(plan, &options.link(plugin, env), log)?;
    drop(linking);
    write::add_sbom(&mut linked.plan, plugin, env, &linked.report)?;
    if options.dry_run {
        out(&linked.plan.describe())?;
        return Ok(());
    }
    let compiler = build::compiler_version()?;
    let manifest = write::manifest(plugin, env, &linked.plan, &linked.report, &compiler);
    let written = write::write(&linked.plan, &plugin.layout, manifest, &output, log)?;
    for module in &written.no_bytecode {
        log.detail(format!(
            "no bytecode for `{}`: it does not compile with this Python",
            crate::bundle::name::display(module)
        ));
    }
    let files = &written.manifest.files;
    log.info(format!(
        "Wrote `{}`: {} files, {}",
        output.path.display(),
        files.len(),
        human_size(files.iter().map(|f| f.size).sum())
    ));
    log.info(linked.report.summary());
    if options.json {
        let summary = Summary::new(
            &output.path,
            &written,
            &linked.report,
            left_out,
            log.warnings(),
        );
        out_json(&summary)?;
    }
    Ok(())
}

fn verify(args: VerifyArgs, log: Log) -> Result<()> {
    let report = match verify::verify(&args.bundle) {
        Ok(report) => report,
        Err(err) if args.json => {
            // Tools read stdout: they get an answer there too.
            let answer = serde_json::json!({
                "bundle": args.bundle.display().to_string(),
                "ok": false,
                "error": crate::error::message(&err),
                "hint": crate::error::hint_of(&err),
            });
            out_json(&answer)?;
            return Err(err);
        }
        Err(err) => return Err(err),
    };
    if args.json {
        out_json(&report)?;
    } else {
        out(&report.to_text())?;
    }
    if report.problems.iter().any(|p| p.problem == "unsafe") {
        return Err(fail(
            format!(
                "`{}` holds an entry that would not stay inside the bundle; it was not checked further",
                args.bundle.display()
            ),
            "do not unpack it: it is not as embedpack wrote it; get the bundle again from where it was built",
        ));
    }
    if !report.ok {
        return Err(fail(
            format!(
                "`{}` does not match its manifest ({} problems)",
                args.bundle.display(),
                report.problems.len()
            ),
            "the files named above were changed after embedpack wrote them: build the bundle again, \
             or restore it from where it was built",
        ));
    }
    log.detail("verified");
    Ok(())
}

fn inspect(args: InspectArgs) -> Result<()> {
    let description = inspect::inspect(&args.path, args.venv.as_deref())?;
    if args.json {
        out_json(&description)?;
    } else {
        out(&description.to_text())?;
    }
    Ok(())
}

/// Writes `text` to stdout.  A reader that went away (`| head`) is not an
/// error: it has what it wanted.
fn out(text: &str) -> Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write to standard output"))
        }
        _ => Ok(()),
    }
}

/// Writes `value` to stdout as pretty JSON and a newline.
fn out_json(value: &impl serde::Serialize) -> Result<()> {
    out(&format!("{}\n", serde_json::to_string_pretty(value)?))
}
