//! The bundle's bill of materials, `sbom.cdx.json`: valid CycloneDX 1.6
//! as cyclonedx-python-lib's strict validator reads it, listing every
//! distribution of the manifest by purl and version, the runtime, and
//! every vendored library with the SHA-256 the manifest gives it; the
//! licence files stay in the bundle; `inspect` summarizes it.  (Two
//! builds' SBOMs are compared byte for byte in `reproducible`.)

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

const VALIDATE: &str = "\
import sys
from cyclonedx.validation.json import JsonStrictValidator
from cyclonedx.schema import SchemaVersion
error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(open(sys.argv[1]).read())
if error is not None:
    sys.exit(f'invalid: {error}')
print('valid')
";

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Runs the CycloneDX validator on the file at `path`.
fn validate(path: &Path) -> std::process::Output {
    Command::new(sbom_python())
        .args(["-c", VALIDATE])
        .arg(path)
        .output()
        .unwrap()
}

/// Each manifest file's sha256, by path.
fn hashes(manifest: &Value) -> BTreeMap<String, String> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            let field = |k: &str| f[k].as_str().unwrap().to_string();
            (field("path"), field("sha256"))
        })
        .collect()
}

fn property<'a>(component: &'a Value, name: &str) -> Option<&'a str> {
    component["properties"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == format!("embedpack:{name}"))
        .and_then(|p| p["value"].as_str())
}

fn sha256(component: &Value) -> Option<&str> {
    let hash = &component["hashes"][0];
    (hash["alg"] == "SHA-256").then(|| hash["content"].as_str())?
}

#[test]
fn sbom_is_valid_cyclonedx_and_the_validator_catches_an_invalid_one() {
    let sbom = sentinel_bundle().join("sbom.cdx.json");
    let output = validate(&sbom);
    assert!(
        output.status.success(),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    // The same document with a component type CycloneDX does not know.
    let mut broken = json(&sbom);
    broken["components"][0]["type"] = "interpreter".into();
    let dir = workdir("sbom-invalid");
    std::fs::write(dir.join("broken.json"), broken.to_string()).unwrap();
    let output = validate(&dir.join("broken.json"));
    assert!(!output.status.success(), "{}", stdout(&output));
    assert!(
        stderr(&output).contains("interpreter"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn sbom_lists_every_distribution_the_runtime_and_the_plugin() {
    let bundle = sentinel_bundle();
    let sbom = json(&bundle.join("sbom.cdx.json"));
    let manifest = json(&bundle.join("MANIFEST.json"));
    let hashes = hashes(&manifest);
    assert_eq!(sbom["bomFormat"], "CycloneDX");
    assert_eq!(sbom["specVersion"], "1.6");
    let components = sbom["components"].as_array().unwrap();
    let distributions = manifest["distributions"].as_array().unwrap();
    assert!(distributions.len() >= 3, "{distributions:?}");
    for dist in distributions {
        let (name, version) = (
            dist["name"].as_str().unwrap(),
            dist["version"].as_str().unwrap(),
        );
        let purl = format!(
            "pkg:pypi/{}@{version}",
            name.to_lowercase().replace('_', "-")
        );
        let component = components
            .iter()
            .find(|c| c["purl"] == purl.as_str())
            .unwrap_or_else(|| panic!("no component with purl `{purl}`"));
        assert_eq!(component["version"], version);
        assert_eq!(component["name"], name);
        assert!(
            component["licenses"]
                .as_array()
                .is_some_and(|l| !l.is_empty()),
            "{name} has no licence: {component}"
        );
    }
    let cffi = components.iter().find(|c| c["name"] == "cffi").unwrap();
    assert_eq!(
        cffi["licenses"][0]["expression"], "MIT",
        "License-Expression first"
    );
    // cffi requires pycparser: an edge of the graph.
    let cffi_deps = sbom["dependencies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["ref"] == cffi["bom-ref"])
        .unwrap();
    assert!(
        cffi_deps["dependsOn"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r.as_str().unwrap().starts_with("pkg:pypi/pycparser@")),
        "{cffi_deps}"
    );

    let python = &manifest["python"];
    let runtime = components
        .iter()
        .find(|c| c["type"] == "platform")
        .expect("the runtime is a platform component");
    assert_eq!(runtime["version"], python["version"]);
    let runtime_file = format!("lib/{}", python["libpython"].as_str().unwrap());
    assert_eq!(property(runtime, "path"), Some(runtime_file.as_str()));
    assert_eq!(sha256(runtime), Some(hashes[&runtime_file].as_str()));

    let plugin = &sbom["metadata"]["component"];
    assert_eq!(plugin["type"], "library");
    assert_eq!(plugin["name"], manifest["module"]);
    let file = property(plugin, "path").unwrap();
    assert_eq!(sha256(plugin), Some(hashes[file].as_str()));
    assert!(
        hashes.contains_key("sbom.cdx.json"),
        "the manifest lists the SBOM, so verify checks it"
    );
}

#[test]
fn sbom_lists_every_vendored_library_with_its_sha256_and_package() {
    let bundle = sentinel_bundle();
    let sbom = json(&bundle.join("sbom.cdx.json"));
    let manifest = json(&bundle.join("MANIFEST.json"));
    let hashes = hashes(&manifest);
    let runtime = format!("lib/{}", manifest["python"]["libpython"].as_str().unwrap());
    let vendored: Vec<&String> = hashes
        .keys()
        .filter(|p| p.starts_with("lib/") && p.matches('/').count() == 1 && p.contains(".so"))
        .filter(|p| **p != runtime)
        .collect();
    assert!(vendored.len() > 3, "{vendored:?}");
    let components = sbom["components"].as_array().unwrap();
    for path in &vendored {
        let component = components
            .iter()
            .find(|c| property(c, "path") == Some(path.as_str()))
            .unwrap_or_else(|| panic!("no component for `{path}`"));
        assert_eq!(sha256(component), Some(hashes[*path].as_str()), "{path}");
        assert_eq!(component["bom-ref"], format!("lib:{path}"));
    }
    // libssl, for the ssl module, under its own name, with where it came
    // from and the package dpkg says it belongs to.
    let ssl = components
        .iter()
        .find(|c| c["name"] == "libssl.so.3")
        .expect("libssl is vendored under its original name");
    let source = property(ssl, "source").expect("where libssl came from");
    let owner = stdout(&run_ok(Command::new("dpkg-query").args(["-S", source])));
    let package = owner.split_once(": ").unwrap().0;
    assert_eq!(property(ssl, "dpkg-package"), Some(package));
}

#[test]
fn licence_files_stay_in_the_bundle() {
    let bundle = sentinel_bundle();
    let manifest = json(&bundle.join("MANIFEST.json"));
    let mut pep639 = 0;
    for dist in manifest["distributions"].as_array().unwrap() {
        let dist_info = bundle.join(format!(
            "site-packages/{}-{}.dist-info",
            dist["name"].as_str().unwrap(),
            dist["version"].as_str().unwrap()
        ));
        let licenses = dist_info.join("licenses");
        let license_file = std::fs::read_dir(&dist_info).unwrap().any(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with("LICENSE")
        });
        if licenses.is_dir() {
            pep639 += 1;
            assert!(std::fs::read_dir(&licenses).unwrap().count() > 0);
        }
        assert!(
            licenses.is_dir() || license_file,
            "no licence file in `{}`",
            dist_info.display()
        );
    }
    assert!(
        pep639 > 0,
        "cffi 2.0.0 keeps its licence in .dist-info/licenses/"
    );
    let version = manifest["python"]["version"].as_str().unwrap();
    let minor = version.rsplit_once('.').unwrap().0;
    assert!(bundle
        .join(format!("python/lib/python{minor}/LICENSE.txt"))
        .is_file());
}

#[test]
fn inspect_summarizes_the_sbom() {
    let bundle = sentinel_bundle();
    let text = stdout(&run_ok(embedpack().arg("inspect").arg(bundle)));
    let line = text
        .lines()
        .find(|l| l.trim_start().starts_with("SBOM:"))
        .unwrap_or_else(|| panic!("no SBOM line in:\n{text}"));
    assert!(line.contains("sbom.cdx.json: "), "{line}");
    assert!(line.contains("licences of 3 of 3 distributions"), "{line}");
    let output = run_ok(embedpack().args(["inspect", "--json"]).arg(bundle));
    let description: Value = serde_json::from_slice(&output.stdout).unwrap();
    let sbom = json(&bundle.join("sbom.cdx.json"));
    let summary = &description["sbom"];
    assert_eq!(
        summary["components"],
        sbom["components"].as_array().unwrap().len()
    );
    assert_eq!(summary["distributions"], 3, "{summary}");
    assert_eq!(summary["licensed"], 3, "{summary}");
    assert_eq!(summary["unlicensed"], serde_json::json!([]));
    assert!(summary["libraries"].as_u64().unwrap() > 3, "{summary}");
}
