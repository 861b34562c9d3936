//! The bill of materials of a bundle, planned from what needs no hashes:
//! the plugin; the Python runtime (its implementation, version and
//! licence, from the backend); every distribution the manifest lists,
//! from its `METADATA` (`metadata`); every vendored shared library, with
//! its original name, the Debian package it belongs to where dpkg knows
//! (`dpkg`), and where it was found when that is a system library folder
//! (any other folder — the project's, the venv's — is a path of one
//! machine, and would make two builds differ).  The write stage finishes
//! it with the SHA-256 of the files as written.
//!
//! Dependencies: a distribution depends on each distribution its
//! `Requires-Dist` names (extras aside) that the bundle holds; the plugin
//! on the runtime, on every distribution no other one requires, and on
//! every vendored library.

mod dpkg;
mod metadata;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::build::Plugin;
use crate::bundle::sbom::{Component, Dependency, Draft, License};
use crate::collect::normalize_name;
use crate::link::Report;
use crate::loader::System;
use crate::plan::{Entry, Plan, Source};
use crate::resolve::Environment;

/// Adds the bundle's bill of materials to `plan`.
pub fn add(plan: &mut Plan, plugin: &Plugin, env: &Environment, linked: &Report) -> Result<()> {
    let layout = &plugin.layout;
    let mut asked: Vec<&Path> = vec![&env.runtime];
    asked.extend(linked.vendored.iter().map(|(_, source)| source.as_path()));
    let packages = dpkg::owners(&asked);
    let package = |component: Component, source: &Path| match packages.get(source) {
        Some(package) => component.with_property("dpkg-package", package),
        None => component,
    };
    let runtime = package(runtime(env, &layout.libdir), &env.runtime);
    let distributions = distributions(plan, &layout.site)?;
    let system = System::from_host();
    let mut vendored: Vec<&(PathBuf, PathBuf)> = linked.vendored.iter().collect();
    vendored.sort();
    let mut libraries = Vec::new();
    for (dest, source) in vendored {
        libraries.push(package(library(dest, source, &system)?, source));
    }
    let subject = Component {
        kind: "library".into(),
        bom_ref: Some(format!("plugin:{}", plugin.module)),
        name: plugin.module.clone(),
        file: Some(layout.embedded.clone()),
        ..Component::default()
    }
    .with_property("path", display(&layout.embedded));
    let dependencies = dependencies(&subject, &runtime, &distributions, &libraries);
    let mut components = vec![runtime];
    components.extend(distributions.into_iter().map(|(d, _)| d));
    components.extend(libraries);
    let draft = Draft::new(subject, components, dependencies);
    plan.insert(Entry {
        dest: layout.sbom.clone(),
        size: draft.planned_size(),
        source: Source::Sbom(Box::new(draft)),
        mode: 0o644,
    });
    Ok(())
}

/// The interpreter, as its backend names it, with its runtime library
/// in `libdir`.
fn runtime(env: &Environment, libdir: &Path) -> Component {
    let (name, license) = env.backend.sbom_identity();
    let version = env.info.version_text();
    let file = libdir.join(env.runtime_name());
    Component {
        kind: "platform".into(),
        bom_ref: Some(format!("runtime:{}@{version}", env.info.kind.name())),
        name: name.into(),
        version: Some(version),
        licenses: vec![License::Expression {
            expression: license.into(),
        }],
        file: Some(file.clone()),
        ..Component::default()
    }
    .with_property("path", display(&file))
}

/// The graph: each distribution on those it requires that the bundle
/// holds; the plugin on the runtime, the distributions nothing else
/// requires, and the vendored libraries; every component listed.
fn dependencies(
    subject: &Component,
    runtime: &Component,
    distributions: &[(Component, Vec<String>)],
    libraries: &[Component],
) -> Vec<Dependency> {
    let reference = |c: &Component| c.bom_ref.clone().unwrap_or_default();
    let leaf = |c: &Component| Dependency {
        reference: reference(c),
        depends_on: Vec::new(),
    };
    let mut required = std::collections::BTreeSet::new();
    let mut edges = Vec::new();
    for (component, requires) in distributions {
        let depends_on: Vec<String> = distributions
            .iter()
            .filter(|(d, _)| requires.contains(&normalize_name(&d.name)))
            .map(|(d, _)| reference(d))
            .filter(|r| *r != reference(component))
            .collect();
        required.extend(depends_on.iter().cloned());
        edges.push(Dependency {
            reference: reference(component),
            depends_on,
        });
    }
    let mut needs = vec![reference(runtime)];
    needs.extend(
        distributions
            .iter()
            .map(|(d, _)| reference(d))
            .filter(|r| !required.contains(r)),
    );
    needs.extend(libraries.iter().map(reference));
    let mut all = vec![
        Dependency {
            reference: reference(subject),
            depends_on: needs,
        },
        leaf(runtime),
    ];
    all.extend(edges);
    all.extend(libraries.iter().map(leaf));
    all
}

/// Each distribution the manifest lists, as a component, with the
/// normalized names of what it requires.
fn distributions(plan: &Plan, site: &Path) -> Result<Vec<(Component, Vec<String>)>> {
    let mut found = Vec::new();
    for (dir_name, dir_version) in plan.distributions(site) {
        let dist_info = site.join(format!("{dir_name}-{dir_version}.dist-info"));
        let metadata = match plan
            .entries
            .iter()
            .find(|e| e.dest == dist_info.join("METADATA"))
            .map(|e| &e.source)
        {
            Some(Source::File(path)) => metadata::parse(
                &std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read `{}`", path.display()))?,
            ),
            Some(Source::Bytes(bytes)) => metadata::parse(&String::from_utf8_lossy(bytes)),
            _ => metadata::CoreMetadata::default(),
        };
        let name = metadata.name.unwrap_or(dir_name);
        let version = metadata.version.unwrap_or(dir_version);
        let purl = purl(&name, &version);
        let component = Component {
            kind: "library".into(),
            bom_ref: Some(purl.clone()),
            name,
            version: Some(version),
            licenses: metadata.licenses,
            purl: Some(purl),
            ..Component::default()
        }
        .with_property("path", display(&dist_info));
        found.push((component, metadata.requires));
    }
    Ok(found)
}

/// A vendored library: its original name (its SONAME, else its file
/// name), its place in the bundle, and where it was found when that is a
/// system library folder.
fn library(dest: &Path, source: &Path, system: &System) -> Result<Component> {
    let soname = crate::elf::read_file(source)?.and_then(|info| info.soname);
    let original = soname.unwrap_or_else(|| {
        let name = source.file_name().unwrap_or(dest.as_os_str());
        name.to_string_lossy().into_owned()
    });
    let component = Component {
        kind: "library".into(),
        bom_ref: Some(format!("lib:{}", display(dest))),
        name: original,
        file: Some(dest.to_path_buf()),
        ..Component::default()
    }
    .with_property("path", display(dest));
    let in_system = source
        .parent()
        .is_some_and(|dir| system.dirs.iter().any(|d| d == dir));
    Ok(if in_system {
        component.with_property("source", display(source))
    } else {
        component
    })
}

/// `pkg:pypi/<name>@<version>`: the name lower-cased with `_` made `-`,
/// as the purl specification says for PyPI, and the version
/// percent-encoded.
fn purl(name: &str, version: &str) -> String {
    let name = name.to_ascii_lowercase().replace('_', "-");
    let encode = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!("pkg:pypi/{}@{}", encode(&name), encode(version))
}

fn display(path: &Path) -> String {
    crate::bundle::name::display(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purls_follow_the_pypi_rules() {
        assert_eq!(purl("MarkupSafe", "3.0.2"), "pkg:pypi/markupsafe@3.0.2");
        assert_eq!(
            purl("typing_extensions", "4.9.0+local"),
            "pkg:pypi/typing-extensions@4.9.0%2Blocal"
        );
    }
}
