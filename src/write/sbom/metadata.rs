//! What a distribution's core metadata (`*.dist-info/METADATA`, RFC 822
//! headers) tells a bill of materials: its name and version, its licence
//! and the distributions it requires.
//!
//! The licence is `License-Expression` (PEP 639, an SPDX expression) when
//! there is one; else the names its `License :: ...` classifiers give;
//! else the free-text `License` field when it is one line (some
//! distributions put a whole licence text there, others a copyright
//! line, so it comes last).  A requirement counts unless its marker names
//! `extra`: an optional feature's requirement is not a dependency.

use crate::bundle::sbom::{License, NamedLicense};
use crate::collect::normalize_name;

/// The headers of one `METADATA` file that the SBOM uses.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct CoreMetadata {
    pub name: Option<String>,
    pub version: Option<String>,
    pub licenses: Vec<License>,
    /// Normalized names of the distributions it requires.
    pub requires: Vec<String>,
}

pub fn parse(text: &str) -> CoreMetadata {
    let headers = headers(text);
    let all = |key: &'static str| {
        headers
            .iter()
            .filter(move |(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim())
    };
    let first = |key: &'static str| all(key).next().map(str::to_string);
    let mut requires: Vec<String> = all("Requires-Dist")
        .filter(|req| !needs_extra(req))
        .map(requirement_name)
        .filter(|name| !name.is_empty())
        .collect();
    requires.dedup();
    CoreMetadata {
        name: first("Name"),
        version: first("Version"),
        licenses: licenses(
            first("License-Expression"),
            all("Classifier").collect(),
            first("License"),
        ),
        requires,
    }
}

/// The header fields, in order, continuation lines joined with `\n`; the
/// body after the first empty line is not read.
fn headers(text: &str) -> Vec<(String, String)> {
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.is_empty() {
            break; // a continuation line may hold only spaces
        }
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push('\n');
                value.push_str(line.trim());
            }
        } else if let Some((key, value)) = line.split_once(':') {
            headers.push((key.trim().to_string(), value.trim().to_string()));
        }
    }
    headers
}

fn licenses(
    expression: Option<String>,
    classifiers: Vec<&str>,
    free: Option<String>,
) -> Vec<License> {
    if let Some(expression) = expression.filter(|e| !e.is_empty()) {
        return vec![License::Expression { expression }];
    }
    let named = |name: &str| License::Named {
        license: NamedLicense {
            name: name.to_string(),
        },
    };
    let mut found: Vec<License> = Vec::new();
    for classifier in classifiers {
        let mut parts = classifier.split("::").map(str::trim);
        if parts.next() != Some("License") {
            continue;
        }
        if let Some(name) = parts.last() {
            let license = named(name);
            if !found.contains(&license) {
                found.push(license);
            }
        }
    }
    if found.is_empty() {
        let one_line = free.filter(|f| !f.is_empty() && !f.contains('\n') && f != "UNKNOWN");
        found.extend(one_line.as_deref().map(named));
    }
    found
}

/// Whether a `Requires-Dist` value holds only for an extra.
fn needs_extra(requirement: &str) -> bool {
    requirement.split_once(';').is_some_and(|(_, marker)| {
        marker
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .any(|word| word == "extra")
    })
}

/// The normalized name a `Requires-Dist` value starts with.
fn requirement_name(requirement: &str) -> String {
    let name: String = requirement
        .trim()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .collect();
    normalize_name(&name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(name: &str) -> License {
        License::Named {
            license: NamedLicense { name: name.into() },
        }
    }

    #[test]
    fn license_expression_comes_first() {
        let metadata = parse(
            "Metadata-Version: 2.4\nName: cffi\nVersion: 2.0.0\nLicense-Expression: MIT\n\
             Classifier: License :: OSI Approved :: MIT License\nLicense-File: LICENSE\n\
             Requires-Dist: pycparser; implementation_name != \"PyPy\"\n\nBody: no\n",
        );
        assert_eq!(
            metadata,
            CoreMetadata {
                name: Some("cffi".into()),
                version: Some("2.0.0".into()),
                licenses: vec![License::Expression {
                    expression: "MIT".into()
                }],
                requires: vec!["pycparser".into()],
            }
        );
    }

    #[test]
    fn classifiers_come_before_the_free_text_field() {
        let metadata = parse(
            "Name: MarkupSafe\nVersion: 3.0.2\nLicense: Copyright 2010 Pallets\n\
             Classifier: Framework :: Flask\nClassifier: License :: OSI Approved :: BSD License\n",
        );
        assert_eq!(metadata.licenses, [named("BSD License")]);
        let whole_text = "Name: MarkupSafe\nLicense: Copyright 2010 Pallets\n        \n        \
                          Redistribution and use\n        \nClassifier: License :: OSI Approved :: \
                          BSD License\n\nBody\n";
        assert_eq!(parse(whole_text).licenses, [named("BSD License")]);
        let metadata = parse("Name: x\nLicense: Apache 2.0\n");
        assert_eq!(metadata.licenses, [named("Apache 2.0")]);
    }

    #[test]
    fn a_whole_licence_text_or_unknown_is_no_licence() {
        let metadata =
            parse("Name: x\nLicense: Copyright (c) 2005\n        All rights reserved.\n");
        assert!(metadata.licenses.is_empty(), "{:?}", metadata.licenses);
        assert!(parse("Name: x\nLicense: UNKNOWN\n").licenses.is_empty());
    }

    #[test]
    fn requirements_of_extras_do_not_count() {
        let metadata = parse(
            "Name: pandas\nRequires-Dist: numpy>=1.26.0; python_version < \"3.12\"\n\
             Requires-Dist: python-dateutil>=2.8.2\nRequires-Dist: Typing_Extensions[x] (>=4)\n\
             Requires-Dist: pytest>=7; extra == \"test\"\n\
             Requires-Dist: hypothesis; python_version>'3' and extra=='test'\n",
        );
        assert_eq!(
            metadata.requires,
            ["numpy", "python-dateutil", "typing-extensions"]
        );
    }
}
