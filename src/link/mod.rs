//! Link: make every ELF file of the bundle load its libraries from the
//! bundle, wherever the bundle goes and whatever the host's
//! `LD_LIBRARY_PATH` says.
//!
//! The closure (`closure`) resolves each file's `DT_NEEDED` as ld.so
//! would (the `loader` model) and vendors every library that is not on the system allow-list
//! into `lib/` under a content-hashed name (the interpreter's runtime
//! library keeps its own).
//! Then each file gets a `DT_RPATH` of `$ORIGIN`-relative directories —
//! `lib/` and wherever its other libraries are (a wheel's `*.libs`) — in
//! place of any `DT_RUNPATH` (searched after `LD_LIBRARY_PATH`, and it
//! would hide the chain's `DT_RPATH`), and `DT_NEEDED` names that match
//! the vendored files.  These are edits in the plan; the write stage
//! makes the patched copies.  Before the edits, each file loses its debug
//! information (`debuginfo`), also a step of the plan.  The report says
//! what was vendored and the oldest glibc the bundle runs on.

mod closure;
mod debuginfo;
pub mod portability;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use closure::{Closure, Origin, Target};
pub use debuginfo::DebugInfo;

use crate::backend::Backend;
use crate::elf::{Edits, ElfInfo, PathKind, SearchPath};
use crate::loader::{self, System};
use crate::log::Log;
use crate::plan::{Entry, Plan, Source};

/// What the user told the link stage.
pub struct Options {
    /// `lib/`, relative to the bundle's top.
    pub libdir: PathBuf,
    /// The runtime library's file name in `libdir`, which is also its
    /// SONAME.
    pub runtime: String,
    pub backend: &'static dyn Backend,
    /// `--host-lib`: SONAMEs the host process provides.
    pub host_libs: Vec<String>,
    /// `--include-lib`: libraries Python code opens by name.
    pub include_libs: Vec<PathBuf>,
    /// Folders the plugin was linked against (`set_source(library_dirs=)`),
    /// searched after the system's.
    pub library_dirs: Vec<PathBuf>,
    pub debug_info: DebugInfo,
}

/// The linked plan and what was done to get it.
pub struct Linked {
    pub plan: Plan,
    pub report: Report,
}

#[derive(Debug, Default)]
pub struct Report {
    /// `(path in the bundle, where it came from)` of each vendored or
    /// included library.
    pub vendored: Vec<(PathBuf, PathBuf)>,
    /// How many files of the plan were patched.
    pub patched: usize,
    /// How many files lose their debug information, and where it goes.
    pub stripped: usize,
    pub debug_dir: Option<PathBuf>,
    /// The newest symbol version needed per system library family.
    pub versions: BTreeMap<String, String>,
    pub host_libs: Vec<String>,
}

impl Report {
    /// What the user sees after a build.
    pub fn summary(&self) -> String {
        let mut text = format!(
            "Linked: {} files patched, {} libraries vendored into `lib/`",
            self.patched,
            self.vendored.len()
        );
        if self.stripped > 0 {
            text += &format!("\nStripped debug information from {} files", self.stripped);
            if let Some(dir) = &self.debug_dir {
                text += &format!(", kept under `{}`", dir.display());
            }
        }
        if !self.versions.is_empty() {
            text += &format!("\nRuns on: {}", portability::describe(&self.versions));
        }
        if !self.host_libs.is_empty() {
            text += &format!("\nThe host must provide: {}", self.host_libs.join(", "));
        }
        text
    }
}

pub fn link(plan: Plan, options: &Options, log: Log) -> Result<Linked> {
    let mut system = System::from_host();
    system.dirs.extend(options.library_dirs.iter().cloned());
    let closure = closure::resolve(&closure::Inputs {
        plan: &plan,
        libdir: &options.libdir,
        runtime: &options.runtime,
        backend: options.backend,
        host_libs: &options.host_libs,
        include_libs: &options.include_libs,
        system: &system,
        log,
    })?;
    let mut patched: HashMap<PathBuf, Edits> = HashMap::new();
    for (i, object) in closure.objects.iter().enumerate() {
        let edits = edits_for(&closure, i, &options.libdir);
        if !edits.is_empty() {
            log.detail(format!("patching `{}`: {edits:?}", object.dest.display()));
            patched.insert(object.dest.clone(), edits);
        }
    }
    let mut report = Report {
        vendored: closure
            .objects
            .iter()
            .filter(|o| o.origin != Origin::Plan)
            .map(|o| (o.dest.clone(), o.source.clone()))
            .collect(),
        patched: closure
            .objects
            .iter()
            .filter(|o| o.origin == Origin::Plan && patched.contains_key(&o.dest))
            .count(),
        stripped: 0,
        debug_dir: match &options.debug_info {
            DebugInfo::Split(dir) => Some(dir.clone()),
            _ => None,
        },
        versions: portability::newest_versions(closure.objects.iter().map(|o| &o.info)),
        host_libs: options.host_libs.clone(),
    };
    for (dest, source) in &report.vendored {
        log.detail(format!(
            "bundled `{}` as `{}`",
            source.display(),
            dest.display()
        ));
    }
    let plan = relinked_plan(plan, &closure, patched, &options.debug_info)?;
    report.stripped = plan
        .entries
        .iter()
        .filter(|e| e.source.is_stripped())
        .count();
    Ok(Linked { plan, report })
}

/// What to change in object `i`: a `DT_RPATH` naming `lib/` and the
/// folder of each library it needs from the bundle, `DT_NEEDED` names
/// that match the bundled files, and a vendored library's new SONAME.
fn edits_for(closure: &Closure, i: usize, libdir: &Path) -> Edits {
    let object = &closure.objects[i];
    let here = object.dest.parent().unwrap_or(Path::new(""));
    let mut dirs = vec![loader::origin_relative(here, libdir)];
    let mut replace_needed = Vec::new();
    for dep in &object.deps {
        let Target::Object(j) = dep.target else {
            continue;
        };
        let target = &closure.objects[j].dest;
        let dir = loader::origin_relative(here, target.parent().unwrap_or(Path::new("")));
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
        let file_name = file_name(target);
        if file_name != dep.needed {
            replace_needed.push((dep.needed.clone(), file_name));
        }
    }
    let rpath = dirs.join(":");
    let search_path = (object.info.rpath.as_deref() != Some(rpath.as_str())
        || object.info.runpath.is_some())
    .then_some(SearchPath {
        kind: PathKind::Rpath,
        value: rpath,
    });
    let soname = match object.origin {
        Origin::Vendored => Some(file_name(&object.dest)),
        _ => None,
    }
    .filter(|name| object.info.soname.as_deref() != Some(name.as_str()));
    Edits {
        search_path,
        replace_needed,
        soname,
        ..Edits::default()
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned()
}

/// The plan with each ELF file it holds stripped as `debug_info` says and
/// with its edits, and the vendored libraries added, sorted again.
fn relinked_plan(
    plan: Plan,
    closure: &Closure,
    mut patched: HashMap<PathBuf, Edits>,
    debug_info: &DebugInfo,
) -> Result<Plan> {
    let infos: HashMap<&Path, &ElfInfo> = closure
        .objects
        .iter()
        .map(|o| (o.dest.as_path(), &o.info))
        .collect();
    let strip = |source: Source, dest: &Path| match infos.get(dest) {
        Some(info) => debuginfo::strip(source, info, dest, debug_info),
        None => source,
    };
    let patch = |source: Source, edits: Edits| match source {
        Source::Patched { base, edits: first } => Source::Patched {
            base,
            edits: first.then(edits),
        },
        base => Source::Patched {
            base: Box::new(base),
            edits,
        },
    };
    let mut entries = Vec::with_capacity(plan.entries.len());
    for mut entry in plan.entries {
        entry.source = strip(entry.source, &entry.dest);
        if let Some(edits) = patched.remove(&entry.dest) {
            entry.source = patch(entry.source, edits);
        }
        entries.push(entry);
    }
    for object in closure.objects.iter().filter(|o| o.origin != Origin::Plan) {
        let size = std::fs::metadata(&object.source)
            .with_context(|| format!("cannot read `{}`", object.source.display()))?
            .len();
        let file = strip(Source::File(object.source.clone()), &object.dest);
        entries.push(Entry {
            dest: object.dest.clone(),
            size,
            source: match patched.remove(&object.dest) {
                Some(edits) => patch(file, edits),
                None => file,
            },
            mode: 0o755,
        });
    }
    entries.sort_by(|a, b| a.dest.cmp(&b.dest));
    Ok(Plan {
        entries,
        python: plan.python,
        runtime: plan.runtime,
    })
}

#[cfg(test)]
mod tests {
    use super::closure::Dep;
    use super::*;

    fn info(soname: Option<&str>, rpath: Option<&str>, runpath: Option<&str>) -> ElfInfo {
        ElfInfo {
            soname: soname.map(String::from),
            rpath: rpath.map(String::from),
            runpath: runpath.map(String::from),
            ..ElfInfo::default()
        }
    }

    fn dep(needed: &str, target: Target) -> Dep {
        Dep {
            needed: needed.to_string(),
            target,
        }
    }

    /// A bundle's typical objects: the plugin, libpython with a RUNPATH
    /// of the build machine, a lib-dynload module needing a vendored
    /// library, a numpy module using numpy.libs, the vendored library.
    fn closure() -> Closure {
        let libpython = "libpython3.11.so.1.0";
        Closure::from_objects(vec![
            (
                "libplugin.so",
                info(Some("libplugin.so"), Some("$ORIGIN/lib"), None),
                Origin::Plan,
                vec![
                    dep(libpython, Target::Object(1)),
                    dep("libc.so.6", Target::System),
                ],
            ),
            (
                "lib/libpython3.11.so.1.0",
                info(Some(libpython), None, Some("/opt/build-machine/python/lib")),
                Origin::Plan,
                vec![dep("libm.so.6", Target::System)],
            ),
            (
                "python/lib/python3.11/lib-dynload/_ssl.so",
                info(None, None, Some("/opt/build-machine/python/lib")),
                Origin::Plan,
                vec![dep("libssl.so.3", Target::Object(4))],
            ),
            (
                "site-packages/numpy/linalg/_umath_linalg.so",
                info(None, Some("$ORIGIN/../../numpy.libs"), None),
                Origin::Plan,
                vec![dep("libscipy_openblas-1a2b.so", Target::Object(5))],
            ),
            (
                "lib/libssl-0123abcd.so.3",
                info(Some("libssl.so.3"), None, None),
                Origin::Vendored,
                vec![dep("libsqlite3.so.0", Target::Host)],
            ),
            (
                "site-packages/numpy.libs/libscipy_openblas-1a2b.so",
                info(Some("libscipy_openblas-1a2b.so"), Some("$ORIGIN"), None),
                Origin::Plan,
                vec![],
            ),
        ])
    }

    fn rpath_of(edits: &Edits) -> Option<&str> {
        edits.search_path.as_ref().map(|p| {
            assert_eq!(p.kind, PathKind::Rpath);
            p.value.as_str()
        })
    }

    #[test]
    fn the_plugin_already_linked_right_is_left_alone() {
        assert!(edits_for(&closure(), 0, Path::new("lib")).is_empty());
    }

    #[test]
    fn build_machine_runpaths_become_origin_rpaths() {
        let edits = edits_for(&closure(), 1, Path::new("lib"));
        assert_eq!(rpath_of(&edits), Some("$ORIGIN"));
        assert_eq!(edits.soname, None, "libpython keeps its name");
    }

    #[test]
    fn vendored_names_replace_the_needed_ones() {
        let edits = edits_for(&closure(), 2, Path::new("lib"));
        assert_eq!(rpath_of(&edits), Some("$ORIGIN/../../../../lib"));
        assert_eq!(
            edits.replace_needed,
            [(
                "libssl.so.3".to_string(),
                "libssl-0123abcd.so.3".to_string()
            )]
        );
        let vendored = edits_for(&closure(), 4, Path::new("lib"));
        assert_eq!(vendored.soname.as_deref(), Some("libssl-0123abcd.so.3"));
        assert_eq!(rpath_of(&vendored), Some("$ORIGIN"));
    }

    #[test]
    fn wheel_libs_stay_on_the_search_path() {
        let edits = edits_for(&closure(), 3, Path::new("lib"));
        assert_eq!(
            rpath_of(&edits),
            Some("$ORIGIN/../../../lib:$ORIGIN/../../numpy.libs")
        );
        assert!(edits.replace_needed.is_empty());
    }
}
