//! The oldest system a bundle runs on, computed as auditwheel does: the
//! newest symbol version any of its files needs from each family of
//! system libraries (`GLIBC_2.34` from libc, `GLIBCXX_3.4.30` from
//! libstdc++, ...), read from `.gnu.version_r`.

use std::collections::BTreeMap;

use crate::elf::ElfInfo;
use crate::loader::allowlist;

/// Version prefix, and the name the manifest and the report use.
const FAMILIES: &[(&str, &str)] = &[
    ("GLIBC_", "glibc"),
    ("GLIBCXX_", "libstdc++"),
    ("CXXABI_", "cxxabi"),
    ("GCC_", "libgcc_s"),
];

/// For each family any file needs, the newest version needed (`2.34`).
pub fn newest_versions<'a>(
    files: impl IntoIterator<Item = &'a ElfInfo>,
) -> BTreeMap<String, String> {
    let mut newest: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for info in files {
        for need in &info.version_needs {
            if !allowlist::is_system(&need.file) {
                continue;
            }
            for version in &need.versions {
                let Some((family, number)) = classify(version) else {
                    continue;
                };
                let slot = newest.entry(family).or_default();
                if number > *slot {
                    *slot = number;
                }
            }
        }
    }
    newest
        .into_iter()
        .map(|(family, number)| {
            let text: Vec<String> = number.iter().map(u32::to_string).collect();
            (family.to_string(), text.join("."))
        })
        .collect()
}

/// `GLIBC_2.34` is glibc `[2, 34]`; `GLIBC_PRIVATE` is nothing.
fn classify(version: &str) -> Option<(&'static str, Vec<u32>)> {
    FAMILIES.iter().find_map(|(prefix, family)| {
        let number = version.strip_prefix(prefix)?;
        let parts: Option<Vec<u32>> = number.split('.').map(|p| p.parse().ok()).collect();
        Some((*family, parts.filter(|p| !p.is_empty())?))
    })
}

/// One line for the user: `glibc 2.34, libstdc++ 3.4.30`.
pub fn describe(versions: &BTreeMap<String, String>) -> String {
    let mut parts = Vec::new();
    if let Some(glibc) = versions.get("glibc") {
        let tag = glibc.replace('.', "_");
        parts.push(format!("glibc {glibc} (manylinux_{tag}_x86_64)"));
    }
    for (family, version) in versions {
        if family != "glibc" {
            parts.push(format!("{family} {version}"));
        }
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::VersionNeed;

    fn needs(file: &str, versions: &[&str]) -> ElfInfo {
        ElfInfo {
            version_needs: vec![VersionNeed {
                file: file.to_string(),
                versions: versions.iter().map(|v| v.to_string()).collect(),
            }],
            ..ElfInfo::default()
        }
    }

    #[test]
    fn newest_version_per_family_compared_as_numbers() {
        let files = [
            needs("libc.so.6", &["GLIBC_2.2.5", "GLIBC_2.9", "GLIBC_PRIVATE"]),
            needs("libm.so.6", &["GLIBC_2.29"]),
            needs(
                "libstdc++.so.6",
                &["GLIBCXX_3.4.9", "GLIBCXX_3.4.30", "CXXABI_1.3"],
            ),
            needs("libgcc_s.so.1", &["GCC_4.2.0", "GCC_3.0"]),
            needs("libssl.so.3", &["OPENSSL_3.0.0", "GLIBC_2.99"]),
        ];
        let versions = newest_versions(&files);
        assert_eq!(versions["glibc"], "2.29");
        assert_eq!(versions["libstdc++"], "3.4.30");
        assert_eq!(versions["cxxabi"], "1.3");
        assert_eq!(versions["libgcc_s"], "4.2.0");
        assert_eq!(
            describe(&versions),
            "glibc 2.29 (manylinux_2_29_x86_64), cxxabi 1.3, libgcc_s 4.2.0, libstdc++ 3.4.30"
        );
    }
}
