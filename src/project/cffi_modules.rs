//! The build scripts a setuptools project names in `cffi_modules`
//! (`"path/to/build.py:ffibuilder"`, relative to the project's root):
//! in `setup.py`, found by reading it (a literal list of strings; it is
//! never run), in `setup.cfg` under `[options]`, or in `pyproject.toml`
//! under `[tool.setuptools]`.

use std::path::Path;

use anyhow::{Context, Result};

use crate::fail;

/// Reads one file's entries, or says why it cannot.
type Reader = fn(&str) -> Result<Vec<String>, String>;

/// The entries each file of the project lists, in the order `setup.py`,
/// `setup.cfg`, `pyproject.toml`, with the file's name.
pub fn find(root: &Path) -> Result<Vec<(&'static str, String)>> {
    let mut found = Vec::new();
    let readers: [(&str, Reader); 3] = [
        ("setup.py", from_setup_py),
        ("setup.cfg", from_setup_cfg),
        ("pyproject.toml", from_pyproject),
    ];
    for (name, read) in readers {
        let path = root.join(name);
        if !path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let entries = read(&text).map_err(|problem| {
            fail(
                format!("`{}`: {problem}", path.display()),
                "name the build script: `embedpack build PATH[:NAME]`, or `script` in \
                 [tool.embedpack] of pyproject.toml",
            )
        })?;
        found.extend(entries.into_iter().map(|entry| (name, entry)));
    }
    Ok(found)
}

/// The strings of every `cffi_modules=[...]` (or `(...)`) in `text`,
/// outside comments.
fn from_setup_py(text: &str) -> Result<Vec<String>, String> {
    let mut entries = Vec::new();
    for (at, _) in text.match_indices("cffi_modules") {
        let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
        if text[line_start..at].contains('#') {
            continue;
        }
        let rest = text[at + "cffi_modules".len()..].trim_start();
        let Some(value) = rest.strip_prefix('=').filter(|v| !v.starts_with('=')) else {
            continue;
        };
        entries.extend(literal_strings(value.trim_start())?);
    }
    Ok(entries)
}

/// The strings of the list or tuple literal `text` starts with.
fn literal_strings(text: &str) -> Result<Vec<String>, String> {
    let not_literal = || "`cffi_modules` is not a list of strings embedpack can read".to_string();
    let mut chars = text.chars();
    let close = match chars.next() {
        Some('[') => ']',
        Some('(') => ')',
        _ => return Err(not_literal()),
    };
    let mut strings = Vec::new();
    while let Some(c) = chars.next() {
        match c {
            c if c == close => return Ok(strings),
            ',' => {}
            c if c.is_whitespace() => {}
            '#' => {
                chars.by_ref().find(|&c| c == '\n');
            }
            '"' | '\'' => {
                let string: String = chars.by_ref().take_while(|&q| q != c).collect();
                if string.contains('\\') || string.contains('\n') {
                    return Err(not_literal());
                }
                strings.push(string);
            }
            _ => return Err(not_literal()),
        }
    }
    Err(not_literal())
}

/// `cffi_modules` in the `[options]` section of `setup.cfg`: one entry
/// per line (a dangling list) or separated by commas.
fn from_setup_cfg(text: &str) -> Result<Vec<String>, String> {
    let mut section = "";
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim();
        if let Some(name) = trimmed.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name;
            continue;
        }
        let Some((key, value)) = trimmed.split_once(['=', ':']) else {
            continue;
        };
        if section != "options"
            || key.trim() != "cffi_modules"
            || line.starts_with(char::is_whitespace)
        {
            continue;
        }
        let mut value = value.to_string();
        while let Some(next) = lines.next_if(|l| l.starts_with(char::is_whitespace) || l.is_empty())
        {
            value.push('\n');
            value.push_str(next);
        }
        return Ok(value
            .split([',', '\n'])
            .map(str::trim)
            .filter(|entry| !entry.is_empty() && !entry.starts_with('#'))
            .map(str::to_string)
            .collect());
    }
    Ok(Vec::new())
}

/// `cffi_modules` in `[tool.setuptools]` of `pyproject.toml`.
fn from_pyproject(text: &str) -> Result<Vec<String>, String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let Some(value) = table
        .get("tool")
        .and_then(|t| t.get("setuptools"))
        .and_then(|t| t.get("cffi_modules"))
    else {
        return Ok(Vec::new());
    };
    value
        .clone()
        .try_into()
        .map_err(|_| "`[tool.setuptools] cffi_modules` is not a list of strings".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setup_py_is_read_not_run() {
        let text = r#"
from setuptools import setup
# cffi_modules=["commented/out.py:ffi"]
setup(
    name="x",
    cffi_modules = [
        "build_tools/plugin_build.py:ffibuilder",  # the plugin
        'other.py:ffi',
    ],
)
"#;
        assert_eq!(
            from_setup_py(text).unwrap(),
            ["build_tools/plugin_build.py:ffibuilder", "other.py:ffi"]
        );
        assert_eq!(
            from_setup_py("setup(cffi_modules=('a.py:ffi',))").unwrap(),
            ["a.py:ffi"]
        );
        assert!(from_setup_py("setup(name='x')").unwrap().is_empty());
        assert!(from_setup_py("if cffi_modules == []: pass")
            .unwrap()
            .is_empty());
        let computed = from_setup_py("setup(cffi_modules=MODULES)").unwrap_err();
        assert!(computed.contains("not a list of strings"), "{computed}");
        assert!(from_setup_py("setup(cffi_modules=[f(x)])").is_err());
        assert!(from_setup_py("setup(cffi_modules=['a.py'").is_err());
    }

    #[test]
    fn setup_cfg_options_section() {
        let dangling = "[metadata]\nname = x\ncffi_modules = not/this.py\n\n[options]\n\
                        packages = find:\ncffi_modules =\n    a.py:ffi\n    b.py:ffi\n\
                        install_requires = cffi\n";
        assert_eq!(from_setup_cfg(dangling).unwrap(), ["a.py:ffi", "b.py:ffi"]);
        let inline = "[options]\ncffi_modules = a.py:ffi, b.py\n";
        assert_eq!(from_setup_cfg(inline).unwrap(), ["a.py:ffi", "b.py"]);
        assert!(from_setup_cfg("[options]\npackages = x\n")
            .unwrap()
            .is_empty());
    }

    #[test]
    fn pyproject_tool_setuptools() {
        let text = "[tool.setuptools]\ncffi_modules = ['a.py:ffi']\n";
        assert_eq!(from_pyproject(text).unwrap(), ["a.py:ffi"]);
        assert!(from_pyproject("[project]\nname = 'x'\n")
            .unwrap()
            .is_empty());
        assert!(from_pyproject("[tool.setuptools]\ncffi_modules = 'a.py'\n").is_err());
    }

    #[test]
    fn entries_of_every_file_with_its_name() {
        let root = tempfile::tempdir().unwrap();
        assert!(find(root.path()).unwrap().is_empty());
        std::fs::write(
            root.path().join("setup.py"),
            "setup(cffi_modules=['a.py:ffi'])",
        )
        .unwrap();
        std::fs::write(
            root.path().join("setup.cfg"),
            "[options]\ncffi_modules = b.py:ffi\n",
        )
        .unwrap();
        assert_eq!(
            find(root.path()).unwrap(),
            [
                ("setup.py", "a.py:ffi".to_string()),
                ("setup.cfg", "b.py:ffi".to_string())
            ]
        );
        std::fs::write(root.path().join("setup.py"), "setup(cffi_modules=M)").unwrap();
        let err = crate::report(&find(root.path()).unwrap_err());
        assert!(
            err.contains("setup.py`: `cffi_modules` is not a list"),
            "{err}"
        );
        assert!(err.contains("hint: name the build script"), "{err}");
    }
}
