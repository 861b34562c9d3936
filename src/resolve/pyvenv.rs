//! `pyvenv.cfg`, the file that marks a directory as a virtualenv.
//!
//! CPython's venv, virtualenv and uv each write their own keys; lines are
//! `key = value` split at the first `=`, since values may contain one.

use std::collections::BTreeMap;

/// The keys and values of a `pyvenv.cfg`, keys lower-cased.
pub fn parse(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| (key.trim().to_ascii_lowercase(), value.trim().to_string()))
        .filter(|(key, _)| !key.is_empty() && !key.starts_with('#'))
        .collect()
}

/// The major.minor version of the Python the venv was made with: from
/// `version` (venv, virtualenv) or `version_info` (uv; virtualenv writes
/// `3.11.7.final.0`).
pub fn made_with(cfg: &BTreeMap<String, String>) -> Option<(u32, u32)> {
    let text = cfg.get("version").or_else(|| cfg.get("version_info"))?;
    let mut parts = text.split('.');
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_each_tool_writes() {
        let venv = "home = /opt/py/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n";
        let virtualenv = "home = /opt/py/bin\nimplementation = CPython\npython-version = 3.11\n\
            version_info = 3.11.7.final.0\nversion = 3.11.7\nvirtualenv = 21.15.11\n\
            base-prefix = /opt/py\nbase-executable = /opt/py/bin/python3\n";
        let uv = "home = /opt/py/bin\nimplementation = CPython\nuv = 0.13.9\n\
            version_info = 3.12.1\ninclude-system-site-packages = true\n";
        assert_eq!(made_with(&parse(venv)), Some((3, 11)));
        assert_eq!(made_with(&parse(virtualenv)), Some((3, 11)));
        assert_eq!(parse(virtualenv)["base-executable"], "/opt/py/bin/python3");
        assert_eq!(made_with(&parse(uv)), Some((3, 12)));
        assert_eq!(made_with(&parse("home = /x\n")), None);
    }

    #[test]
    fn splits_at_the_first_equals_sign() {
        let cfg =
            parse("home = /opt/py/bin\ncommand = /opt/py/bin/python -m venv --prompt=a=b x\n");
        assert_eq!(cfg["home"], "/opt/py/bin");
        assert_eq!(cfg["command"], "/opt/py/bin/python -m venv --prompt=a=b x");
    }

    #[test]
    fn reads_uv_keys_and_skips_noise() {
        let cfg = parse("# comment = no\nHome=/u/bin\nversion_info = 3.11.7\n\njunk line\n");
        assert_eq!(cfg.len(), 2);
        assert_eq!(cfg["home"], "/u/bin");
        assert_eq!(cfg["version_info"], "3.11.7");
    }
}
