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

#[cfg(test)]
mod tests {
    use super::*;

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
