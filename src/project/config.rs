//! `[tool.embedpack]` in a project's `pyproject.toml`: the options every
//! `embedpack build` of the project takes, as if given on the command
//! line (which overrides them).  Paths are relative to the project's
//! root.  A key embedpack does not know is an error naming the closest
//! one it does: a misspelt `host_libs` must not silently bundle the
//! host's libraries.

use std::path::PathBuf;

use anyhow::Result;
use serde::Deserialize;

use crate::fail;

/// The keys of `[tool.embedpack]`, as its users spell them.
pub const KEYS: [&str; 10] = [
    "script",
    "venv",
    "app",
    "output",
    "exclude",
    "host-libs",
    "include-libs",
    "keep-stdlib",
    "exclude-stdlib",
    "bytecode",
];

/// What `[tool.embedpack]` says; each key is optional.
#[derive(Debug, Default, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Config {
    /// `BUILD_SCRIPT[:NAME]`.
    pub script: Option<String>,
    pub venv: Option<PathBuf>,
    pub app: Option<Vec<PathBuf>>,
    pub output: Option<PathBuf>,
    pub exclude: Option<Vec<String>>,
    pub host_libs: Option<Vec<String>>,
    pub include_libs: Option<Vec<PathBuf>>,
    pub keep_stdlib: Option<Vec<String>>,
    pub exclude_stdlib: Option<Vec<String>>,
    pub bytecode: Option<bool>,
}

/// The parts of `pyproject.toml` read here; the rest belongs to others.
#[derive(Deserialize)]
struct Document {
    tool: Option<Tool>,
}

#[derive(Deserialize)]
struct Tool {
    embedpack: Option<Config>,
}

/// `[tool.embedpack]` of `text`, the contents of `file` (named in
/// messages); the default when it has none.
pub fn parse(text: &str, file: &str) -> Result<Config> {
    let table: toml::Table =
        toml::from_str(text).map_err(|e| invalid(file, text, &e, "fix the file's TOML syntax"))?;
    let section = table.get("tool").and_then(|tool| tool.get("embedpack"));
    if let Some(toml::Value::Table(section)) = section {
        check_keys(section.keys().map(String::as_str), file)?;
    }
    let document: Document = toml::from_str(text).map_err(|e| {
        let keys = "[tool.embedpack] takes strings (`script`, `venv`, `output`), lists of \
                    strings (`app`, `exclude`, `host-libs`, `include-libs`, `keep-stdlib`, \
                    `exclude-stdlib`) and `bytecode = true` or `false`";
        invalid(file, text, &e, keys)
    })?;
    Ok(document
        .tool
        .and_then(|tool| tool.embedpack)
        .unwrap_or_default())
}

/// Refuses a key that is not one of [`KEYS`], with the closest one as
/// a hint.
fn check_keys<'a>(keys: impl Iterator<Item = &'a str>, file: &str) -> Result<()> {
    for key in keys {
        if KEYS.contains(&key) {
            continue;
        }
        let hint = match closest(key, &KEYS) {
            Some(known) => format!("did you mean `{known}`?"),
            None => format!("the keys are {}", quoted(&KEYS)),
        };
        return Err(fail(
            format!("`{file}`: unknown key `{key}` in [tool.embedpack]"),
            hint,
        ));
    }
    Ok(())
}

/// A TOML error as one line (the file, the line, what is wrong), with
/// `hint`.
fn invalid(file: &str, text: &str, error: &toml::de::Error, hint: &str) -> anyhow::Error {
    let line = error
        .span()
        .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1);
    let place = line.map(|l| format!(", line {l}")).unwrap_or_default();
    let message: Vec<&str> = error.message().lines().map(str::trim).collect();
    fail(format!("`{file}`{place}: {}", message.join("; ")), hint)
}

fn quoted(keys: &[&str]) -> String {
    keys.iter()
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The known key `key` was most likely meant to be: spelt with `_` for
/// `-`, a few letters off, cut short or with more around it.
pub fn closest<'a>(key: &str, known: &[&'a str]) -> Option<&'a str> {
    let key = key.to_lowercase().replace('_', "-");
    known
        .iter()
        .map(|k| (edit_distance(&key, k), *k))
        .filter(|(distance, k)| {
            *distance <= (k.len() / 3).max(1)
                || (key.len() >= 3 && k.starts_with(&key))
                || key.contains(k)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, k)| k)
}

/// Levenshtein distance: the fewest inserted, removed or replaced
/// characters that turn `a` into `b`.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let replaced = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = replaced.min(row[j] + 1).min(previous + 1);
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        crate::report(&parse(text, "pyproject.toml").unwrap_err())
    }

    #[test]
    fn every_key_is_read_and_others_tables_are_left_alone() {
        let text = r#"
[project]
name = "shapes"
[tool.black]
line-length = 100
[tool.embedpack]
script = "build_tools/plugin_build.py:ffibuilder"
venv = ".venv"
app = ["src", "extra.py"]
output = "dist/shapes.tar.gz"
exclude = ["markupsafe"]
host-libs = ["libsqlite3.so.0"]
include-libs = ["vendor/libfoo.so.1"]
keep-stdlib = ["tkinter"]
exclude-stdlib = ["_ssl"]
bytecode = false
"#;
        let config = parse(text, "pyproject.toml").unwrap();
        assert_eq!(
            config,
            Config {
                script: Some("build_tools/plugin_build.py:ffibuilder".into()),
                venv: Some(".venv".into()),
                app: Some(vec!["src".into(), "extra.py".into()]),
                output: Some("dist/shapes.tar.gz".into()),
                exclude: Some(vec!["markupsafe".into()]),
                host_libs: Some(vec!["libsqlite3.so.0".into()]),
                include_libs: Some(vec!["vendor/libfoo.so.1".into()]),
                keep_stdlib: Some(vec!["tkinter".into()]),
                exclude_stdlib: Some(vec!["_ssl".into()]),
                bytecode: Some(false),
            }
        );
        assert_eq!(KEYS.len(), 10, "a new key needs a field and a test");
    }

    #[test]
    fn a_file_without_the_table_gives_no_option() {
        assert_eq!(
            parse("[project]\nname = 'x'\n", "p").unwrap(),
            Config::default()
        );
        assert_eq!(parse("", "p").unwrap(), Config::default());
        assert_eq!(parse("[tool.embedpack]\n", "p").unwrap(), Config::default());
    }

    #[test]
    fn an_unknown_key_is_named_with_the_closest_known_one() {
        assert_eq!(
            error("[tool.embedpack]\nhost_libs = ['libz.so.1']\n"),
            "error: `pyproject.toml`: unknown key `host_libs` in [tool.embedpack]\n\
             hint: did you mean `host-libs`?\n"
        );
        let far = error("[tool.embedpack]\ncolour = 'blue'\n");
        assert!(far.contains("unknown key `colour`"), "{far}");
        assert!(far.contains("hint: the keys are `script`, `venv`"), "{far}");
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_line() {
        let err = error("[tool.embedpack]\nscript = 'b.py'\napp = 'src'\n");
        assert!(
            err.starts_with("error: `pyproject.toml`, line 3: "),
            "{err}"
        );
        assert!(err.contains("expected a sequence"), "{err}");
        let err = error("[tool.embedpack\n");
        assert!(
            err.starts_with("error: `pyproject.toml`, line 1: "),
            "{err}"
        );
        assert_eq!(err.lines().count(), 2, "{err}");
    }

    #[test]
    fn closest_key_hints() {
        assert_eq!(closest("host_libs", &KEYS), Some("host-libs"));
        assert_eq!(closest("host-lib", &KEYS), Some("host-libs"));
        assert_eq!(closest("include_lib", &KEYS), Some("include-libs"));
        assert_eq!(closest("Bytecode", &KEYS), Some("bytecode"));
        assert_eq!(closest("apps", &KEYS), Some("app"));
        assert_eq!(closest("out", &KEYS), Some("output"));
        assert_eq!(closest("keep", &KEYS), Some("keep-stdlib"));
        assert_eq!(closest("colour", &KEYS), None);
        assert_eq!(closest("no-bytecode", &KEYS), Some("bytecode"));
        assert_eq!(closest("xyz", &KEYS), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
    }
}
