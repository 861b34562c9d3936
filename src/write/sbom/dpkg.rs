//! Which Debian package each of some files belongs to, as `dpkg-query -S`
//! knows it: one run for all the files, each asked under the path it was
//! found at, its real path, and their twins across the `/usr` merge
//! (`/lib/x86_64-linux-gnu/...` is `/usr/lib/x86_64-linux-gnu/...`).  On
//! a machine without dpkg, or for a file no package owns, there is no
//! answer, and that is not an error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The owning package (`libssl3:amd64`) of each of `files` that has one.
pub fn owners(files: &[&Path]) -> BTreeMap<PathBuf, String> {
    let asked: Vec<(PathBuf, &Path)> = files
        .iter()
        .flat_map(|file| spellings(file).into_iter().map(move |s| (s, *file)))
        .collect();
    if asked.is_empty() {
        return BTreeMap::new();
    }
    let output = Command::new("dpkg-query")
        .arg("-S")
        .args(asked.iter().map(|(path, _)| path))
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let Ok(output) = output else {
        return BTreeMap::new();
    };
    let found = parse(&String::from_utf8_lossy(&output.stdout));
    let mut owners = BTreeMap::new();
    for (path, file) in &asked {
        if let Some(package) = found.get(path) {
            owners
                .entry(file.to_path_buf())
                .or_insert_with(|| package.clone());
        }
    }
    owners
}

/// `file`, its real path, and the other side of the `/usr` merge of each.
fn spellings(file: &Path) -> Vec<PathBuf> {
    let mut paths = vec![file.to_path_buf()];
    paths.extend(file.canonicalize().ok());
    for path in paths.clone() {
        let twin = match path.strip_prefix("/usr") {
            Ok(rest) => Path::new("/").join(rest),
            Err(_) => Path::new("/usr").join(path.strip_prefix("/").unwrap_or(&path)),
        };
        paths.push(twin);
    }
    let mut seen = std::collections::BTreeSet::new();
    paths.retain(|p| p.is_absolute() && seen.insert(p.clone()));
    paths
}

/// `package[, package]: path` lines, without diversions.
fn parse(text: &str) -> BTreeMap<PathBuf, String> {
    text.lines()
        .filter(|line| !line.starts_with("diversion by "))
        .filter_map(|line| line.split_once(": "))
        .map(|(package, path)| (PathBuf::from(path), package.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_owners_and_skips_diversions() {
        let found = parse(
            "libssl3:amd64: /usr/lib/x86_64-linux-gnu/libssl.so.3\n\
             diversion by dash from: /bin/sh\n\
             libc6:amd64, libc6-dev:amd64: /usr/lib/x86_64-linux-gnu/libm.so.6\n",
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            found[Path::new("/usr/lib/x86_64-linux-gnu/libssl.so.3")],
            "libssl3:amd64"
        );
        assert_eq!(
            found[Path::new("/usr/lib/x86_64-linux-gnu/libm.so.6")],
            "libc6:amd64, libc6-dev:amd64"
        );
    }

    #[test]
    fn asks_both_sides_of_the_usr_merge() {
        let asked = spellings(Path::new("/nonexistent/lib/libz.so.1"));
        assert_eq!(
            asked,
            [
                PathBuf::from("/nonexistent/lib/libz.so.1"),
                PathBuf::from("/usr/nonexistent/lib/libz.so.1"),
            ]
        );
        let asked = spellings(Path::new("/usr/nonexistent/libz.so.1"));
        assert_eq!(asked[1], PathBuf::from("/nonexistent/libz.so.1"));
    }
}
