//! What shells and `man` read about embedpack, generated from the command
//! line as `cli` declares it, so that neither can drift from `--help`:
//! completion scripts (`embedpack completions SHELL`) and the man pages
//! (`embedpack man DIR`, which packaging/man.sh runs): `embedpack.1`, and
//! `embedpack-build.1` and so on for each command it lists.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes the completion script for `shell` to `out`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> Result<()> {
    let mut command = Cli::command();
    let mut text = Vec::new();
    clap_complete::generate(shell, &mut command, "embedpack", &mut text);
    out.write_all(&text)
        .context("cannot write the completion script")
}

/// Writes the man pages into `dir` and returns their paths, the main
/// page first.
pub fn man(dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create `{}`", dir.display()))?;
    clap_mangen::generate_to(Cli::command(), dir)
        .with_context(|| format!("cannot write the man pages into `{}`", dir.display()))?;
    Ok(page_names()
        .into_iter()
        .map(|name| dir.join(format!("{name}.1")))
        .collect())
}

/// `embedpack`, then `embedpack-<command>` for each command `--help`
/// lists: the pages clap_mangen writes.
fn page_names() -> Vec<String> {
    let command = Cli::command();
    let commands = command
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| format!("embedpack-{}", c.get_name()));
    std::iter::once("embedpack".to_string())
        .chain(commands)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_page_per_visible_command_and_the_global_options_on_the_main_one() {
        let dir = tempfile::tempdir().unwrap();
        let pages = man(dir.path()).unwrap();
        let names: Vec<_> = pages
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "embedpack.1",
                "embedpack-build.1",
                "embedpack-pack.1",
                "embedpack-verify.1",
                "embedpack-inspect.1",
                "embedpack-completions.1"
            ]
        );
        let mut written: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        written.sort();
        let mut expected = names.clone();
        expected.sort();
        assert_eq!(
            written, expected,
            "a page written that is not listed, or the reverse"
        );
        let main = std::fs::read_to_string(&pages[0]).unwrap();
        assert!(main.contains(".TH embedpack 1"), "{main}");
        assert!(main.contains(".SH \"GLOBAL OPTIONS\""), "{main}");
        assert!(main.contains("embedpack\\-build(1)"), "{main}");
        assert!(!main.contains("embedpack\\-man"), "{main}");
    }
}
