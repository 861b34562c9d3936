//! `sbom.cdx.json`: the bundle's software bill of materials, a CycloneDX
//! 1.6 JSON document.  The plugin is its subject (`metadata.component`);
//! its components are the Python runtime (type `platform`: CycloneDX 1.6
//! defines it as "a runtime environment which interprets or executes
//! software"), every distribution in `site-packages/` and every vendored
//! shared library; `dependencies` is the graph as far as the metadata
//! tells it.  The document is planned before the bundle is written (a
//! `Draft`) and finished with the SHA-256 of the files just written, so
//! the same inputs give the same bytes: the serial number is derived from
//! the content, the timestamp is the bundle's file time.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ManifestFile;

/// The SBOM's path inside every bundle.
pub const SBOM: &str = "sbom.cdx.json";

/// A CycloneDX document, with its keys in the order CycloneDX's own
/// examples give them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Bom {
    pub bom_format: String,
    pub spec_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    pub version: u32,
    pub metadata: Metadata,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub dependencies: Vec<Dependency>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Metadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    pub tools: Tools,
    pub component: Component,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Tools {
    pub components: Vec<Component>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Component {
    /// `library`, `platform`, `application`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(rename = "bom-ref", default, skip_serializing_if = "Option::is_none")]
    pub bom_ref: Option<String>,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hashes: Vec<Hash>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub licenses: Vec<License>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purl: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<Property>,
    /// The file in the bundle whose SHA-256 the finished document gives.
    #[serde(skip)]
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Hash {
    pub alg: String,
    pub content: String,
}

/// One entry of a component's `licenses`: an SPDX expression (then the
/// only entry) or a licence by name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum License {
    Expression { expression: String },
    Named { license: NamedLicense },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NamedLicense {
    pub name: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Property {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Dependency {
    #[serde(rename = "ref")]
    pub reference: String,
    #[serde(default)]
    pub depends_on: Vec<String>,
}

impl Component {
    /// Adds the property `embedpack:<name>`.
    pub fn with_property(mut self, name: &str, value: impl Into<String>) -> Component {
        self.properties.push(Property {
            name: format!("embedpack:{name}"),
            value: value.into(),
        });
        self
    }

    /// The value of the property `embedpack:<name>`, if it has one.
    pub fn property(&self, name: &str) -> Option<&str> {
        let name = format!("embedpack:{name}");
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.value.as_str())
    }
}

/// The document as planned: everything but the files' hashes, the
/// timestamp and the serial number.
#[derive(Debug, Clone)]
pub struct Draft {
    pub bom: Bom,
}

impl Draft {
    /// A document about `plugin` with `components` and `dependencies`.
    pub fn new(plugin: Component, components: Vec<Component>, deps: Vec<Dependency>) -> Draft {
        let tool = Component {
            kind: "application".into(),
            name: "embedpack".into(),
            version: Some(env!("CARGO_PKG_VERSION").into()),
            ..Component::default()
        };
        Draft {
            bom: Bom {
                bom_format: "CycloneDX".into(),
                spec_version: "1.6".into(),
                serial_number: None,
                version: 1,
                metadata: Metadata {
                    timestamp: None,
                    tools: Tools {
                        components: vec![tool],
                    },
                    component: plugin,
                },
                components,
                dependencies: deps,
            },
        }
    }

    /// The finished document's text: each component's file hashed as
    /// `files` lists it, the time `mtime` (Unix seconds), and the serial
    /// number derived from all the rest.
    pub fn finish(&self, files: &[ManifestFile], mtime: u64) -> String {
        let mut bom = self.bom.clone();
        let sha256 = |path: &Path| files.iter().find(|f| f.path == path).map(|f| &f.sha256);
        let components = std::iter::once(&mut bom.metadata.component).chain(&mut bom.components);
        for component in components {
            if let Some(hash) = component.file.as_deref().and_then(sha256) {
                component.hashes = vec![Hash {
                    alg: "SHA-256".into(),
                    content: hash.clone(),
                }];
            }
        }
        bom.metadata.timestamp = Some(rfc3339(mtime));
        bom.serial_number = Some(serial_number(&to_json(&bom)));
        to_json(&bom)
    }

    /// The size of the document without its hashes: what `--dry-run`
    /// shows.
    pub fn planned_size(&self) -> u64 {
        to_json(&self.bom).len() as u64
    }
}

impl Bom {
    pub fn parse(bytes: &[u8]) -> serde_json::Result<Bom> {
        serde_json::from_slice(bytes)
    }
}

/// Pretty JSON with a trailing newline.
fn to_json(bom: &Bom) -> String {
    let mut text = serde_json::to_string_pretty(bom).expect("an SBOM always serializes");
    text.push('\n');
    text
}

/// `urn:uuid:` and a UUID made of the first 16 bytes of the SHA-256 of
/// `text`, with the bits of a name-based UUID (version 5, RFC 4122
/// variant).
fn serial_number(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// `seconds` since the Unix epoch as an RFC 3339 UTC time.
fn rfc3339(seconds: u64) -> String {
    super::civil::Civil::from_unix(seconds).rfc3339()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(rfc3339(315_532_800), "1980-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }

    fn draft() -> Draft {
        let plugin = Component {
            kind: "library".into(),
            bom_ref: Some("plugin".into()),
            name: "demo".into(),
            file: Some(PathBuf::from("libdemo.so")),
            ..Component::default()
        };
        Draft::new(plugin, Vec::new(), Vec::new())
    }

    fn file(path: &str, sha256: &str) -> ManifestFile {
        ManifestFile {
            path: PathBuf::from(path),
            size: 1,
            mode: 0o644,
            sha256: sha256.into(),
        }
    }

    #[test]
    fn the_serial_number_follows_the_content_and_is_a_version_5_uuid() {
        let a = Bom::parse(draft().finish(&[file("libdemo.so", "aa")], 0).as_bytes()).unwrap();
        let again = Bom::parse(draft().finish(&[file("libdemo.so", "aa")], 0).as_bytes()).unwrap();
        let b = Bom::parse(draft().finish(&[file("libdemo.so", "bb")], 0).as_bytes()).unwrap();
        let serial = a.serial_number.clone().unwrap();
        assert_eq!(a.serial_number, again.serial_number);
        assert_ne!(a.serial_number, b.serial_number);
        assert_eq!(serial.len(), "urn:uuid:".len() + 36);
        assert_eq!(&serial[23..24], "5", "{serial}");
        assert!("89ab".contains(&serial[28..29]), "{serial}");
        assert_eq!(a.metadata.component.hashes[0].content, "aa");
        assert_eq!(
            a.metadata.timestamp.as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
    }

    #[test]
    fn licences_are_an_expression_or_names() {
        let expression = License::Expression {
            expression: "MIT".into(),
        };
        let named = License::Named {
            license: NamedLicense {
                name: "BSD License".into(),
            },
        };
        let text = serde_json::to_string(&[&expression, &named]).unwrap();
        assert_eq!(
            text,
            r#"[{"expression":"MIT"},{"license":{"name":"BSD License"}}]"#
        );
        let back: Vec<License> = serde_json::from_str(&text).unwrap();
        assert_eq!(back, [expression, named]);
    }
}
