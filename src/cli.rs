//! The command line as the user types it; checked and turned into
//! options by `commands`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

const EXAMPLES: &str = "\
Examples:
  embedpack build plugin_build.py --app src -o dist/plugin
  embedpack build setup_ffi.py:ffibuilder --venv .venv --dry-run
  embedpack build plugin_build.py -o dist/plugin-1.0.tar.gz
  embedpack build                  (the project's [tool.embedpack] in pyproject.toml)
  embedpack verify dist/plugin-1.0.tar.gz
  embedpack pack libplugin.so --venv .venv --app src -o dist/plugin
  embedpack inspect libplugin.so

Exit status: 0 on success, 1 when embedpack could not do what was asked
(the message says why) or `verify` found problems, 2 for a malformed
command line.";

/// The heading `--help` shows the options of every command under, apart
/// from the command's own.
const GLOBAL: &str = "Global options";

#[derive(Parser)]
#[command(name = "embedpack", version, about, after_help = EXAMPLES)]
pub struct Cli {
    /// Say more about each step (repeat for more).
    #[arg(short, long, global = true, action = ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,
    /// Print only errors (no progress bar either).
    #[arg(short, long, global = true, conflicts_with = "verbose", help_heading = GLOBAL)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Compile a CFFI embedding build script into a self-contained bundle.
    #[command(after_help = EXAMPLES)]
    Build(BuildArgs),
    /// Bundle a CFFI embedding library compiled elsewhere, without
    /// compiling it again.
    #[command(after_help = EXAMPLES)]
    Pack(PackArgs),
    /// Check a bundle (folder or archive) against its manifest.
    Verify(VerifyArgs),
    /// Describe a shared library or a bundle.
    Inspect(InspectArgs),
    /// Print a completion script for SHELL on stdout.
    ///
    /// For example: `embedpack completions bash >
    /// ~/.local/share/bash-completion/completions/embedpack`.
    Completions(CompletionsArgs),
    /// Write the man pages, `embedpack.1` and one per command
    /// (`embedpack-build.1`, ...), into DIR (packaging/man.sh).
    #[command(hide = true)]
    Man(ManArgs),
}

#[derive(Args)]
pub struct ManArgs {
    /// The folder to write the pages into; it is created if missing.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct PackArgs {
    /// The library: `gcc -shared ... -lpython3.X` output, or the
    /// `*.cpython-*.so` that `ffibuilder.compile()` makes.
    #[arg(value_name = "LIB.so")]
    pub library: PathBuf,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

#[derive(Args)]
pub struct InspectArgs {
    /// A shared library (`.so`), or a bundle (folder, `.zip`, `.tar.gz`).
    pub path: PathBuf,
    /// The venv whose Python a library should get, to compare with what
    /// the loader would pick [default: $VIRTUAL_ENV].
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// Print the description as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct VerifyArgs {
    /// The bundle folder, `.zip` or `.tar.gz`.
    pub bundle: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct BuildArgs {
    /// The CFFI build script, optionally with the name of its FFI object
    /// (`build.py:ffibuilder`) [default: `script` in [tool.embedpack] of
    /// the project's pyproject.toml, else the one entry of setuptools'
    /// `cffi_modules`].
    #[arg(value_name = "BUILD_SCRIPT[:NAME]")]
    pub script: Option<String>,
    #[command(flatten)]
    pub bundle: BundleArgs,
}

/// What `build` and `pack` share: the environment, the app, the output.
/// For `build`, each one not given is taken from `[tool.embedpack]` in
/// the project's pyproject.toml, when it has one.
#[derive(Args)]
pub struct BundleArgs {
    /// The virtualenv to bundle [default: `venv` in [tool.embedpack], else
    /// $VIRTUAL_ENV, else .venv beside the build script (or library), else
    /// at the project root].
    #[arg(long, value_name = "DIR")]
    pub venv: Option<PathBuf>,
    /// A source root (a directory) or a module (a .py file) of your own,
    /// put first on sys.path. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub app: Vec<PathBuf>,
    /// Where to write the bundle: a folder, or an archive of one by its
    /// extension (`.zip`, `.tar.gz`) [default: ./dist/<module>, <module>
    /// being the last part of the set_source() name].
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// Print what would go where, with sizes, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print one JSON object on stdout at the end, describing the bundle
    /// written (or the error); messages stay on stderr.
    #[arg(long, conflicts_with = "dry_run")]
    pub json: bool,
    /// Replace OUT even if it is not a bundle embedpack wrote.
    #[arg(long)]
    pub force: bool,
    /// Keep a part of the standard library that is left out by default
    /// (test, idlelib, tkinter, turtledemo, ensurepip, lib2to3, config).
    /// Repeatable.
    #[arg(long, value_name = "PART")]
    pub keep_stdlib: Vec<String>,
    /// Leave a module of the standard library out, with the libraries only
    /// it needs: a top-level module, package or extension module, as
    /// `import` names it (`_ssl` and `_hashlib` take OpenSSL's libraries
    /// with them; `hashlib` then has only its built-in algorithms).
    /// Repeatable.
    #[arg(long, value_name = "MODULE")]
    pub exclude_stdlib: Vec<String>,
    /// Keep pip, setuptools and wheel, which are left out by default.
    #[arg(long)]
    pub keep_build_tools: bool,
    /// Keep the test suites of site-packages' packages (their folders
    /// named `tests`), which are left out by default.
    #[arg(long)]
    pub keep_tests: bool,
    /// Leave a distribution out of site-packages: every file its metadata
    /// (RECORD) lists, and its editable sources. By name, as `pip list`
    /// shows it. Repeatable.
    #[arg(long, value_name = "DIST")]
    pub exclude: Vec<String>,
    /// Do not pre-compile the bundle's Python files to bytecode (smaller
    /// bundle, slower first call).
    #[arg(long, overrides_with = "bytecode")]
    pub no_bytecode: bool,
    /// Pre-compile the bundle's Python files to bytecode (the default;
    /// overrides `bytecode = false` in pyproject.toml).
    #[arg(long, overrides_with = "no_bytecode")]
    pub bytecode: bool,
    /// Leave out the standard library's Python sources and keep only its
    /// bytecode, each `.pyc` where its source was: a smaller bundle, whose
    /// tracebacks through the standard library show no source lines.
    #[arg(long)]
    pub no_stdlib_sources: bool,
    /// Put the standard library's Python modules and data in one zip
    /// (`python/lib/python3X.zip`, which CPython imports from), with their
    /// bytecode: fewer files and fewer bytes; its extension modules stay
    /// files.  CPython only.
    #[arg(long)]
    pub zip_stdlib: bool,
    /// Compile all bytecode afresh and keep none for the next build (by
    /// default, compiled bytecode is kept in $EMBEDPACK_CACHE_DIR, else
    /// $XDG_CACHE_HOME/embedpack, else ~/.cache/embedpack, and a build
    /// from the same sources with the same Python uses it).
    #[arg(long)]
    pub no_cache: bool,
    /// A shared library the host program provides (e.g. `libsqlite3.so.0`
    /// for a sqlite3 extension): not bundled, recorded in the manifest.
    /// By SONAME. Repeatable.
    #[arg(long, value_name = "SONAME")]
    pub host_lib: Vec<String>,
    /// A shared library Python code opens by name at run time
    /// (`ctypes.CDLL("libfoo.so.1")`, `ffi.dlopen`): bundled in `lib/`
    /// under its SONAME, where the bundle's modules find it. Repeatable.
    #[arg(long, value_name = "PATH")]
    pub include_lib: Vec<PathBuf>,
    /// Keep the debug information of the bundle's ELF files, which is
    /// removed by default (as `strip --strip-debug` does; symbols stay).
    #[arg(long, conflicts_with = "debug_dir")]
    pub no_strip: bool,
    /// Write the removed debug information into DIR, outside the bundle,
    /// as DIR/.build-id/xx/yyyy.debug files, where gdb finds them after
    /// `set debug-file-directory DIR`.
    #[arg(long, value_name = "DIR")]
    pub debug_dir: Option<PathBuf>,
    /// Make the library hosts load check, before it loads anything else,
    /// that it, the plugin, the runtime library and every library in
    /// `lib/` have the SHA-256 that MANIFEST.json lists, and refuse to
    /// start (naming the file) when one has not.
    #[arg(long)]
    pub self_check: bool,
}
