//! The shared-library closure of a bundle: every ELF file of the plan,
//! every library they need (resolved as ld.so would), recursively.  A
//! library found inside the plan (the runtime library, a wheel's `*.libs`) is used
//! where it is; one on the allow-list, or that the host provides
//! (`--host-lib`), is left to the target machine; every other one is
//! vendored into the bundle's library folder under a content-hashed name.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

use crate::backend::Backend;
use crate::elf::{self, ElfInfo};
use crate::fail;
use crate::loader::{self, allowlist, Inherited, Requester, System};
use crate::log::Log;
use crate::plan::{Plan, Source};

/// Hex digits of the content hash in a vendored library's name.
const HASH_LEN: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A file the collect stage planned.
    Plan,
    /// A library from this machine, renamed with its content hash.
    Vendored,
    /// A library the user named with `--include-lib`, under its SONAME.
    Included,
}

#[derive(Debug)]
pub struct Object {
    /// The path inside the bundle.
    pub dest: PathBuf,
    /// Where it is read from; empty for bytes made while planning.
    pub source: PathBuf,
    pub info: ElfInfo,
    pub origin: Origin,
    pub deps: Vec<Dep>,
    /// `DT_RPATH`s of the objects that led here, nearest first, with
    /// the directory their `$ORIGIN` stands for.
    inherited: Vec<Inherited>,
}

#[derive(Debug)]
pub struct Dep {
    pub needed: String,
    pub target: Target,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// On the allow-list: the target machine has it.
    System,
    /// Named with `--host-lib`: the host process provides it.
    Host,
    /// An object of the closure.
    Object(usize),
}

pub struct Inputs<'a> {
    pub plan: &'a Plan,
    pub libdir: &'a Path,
    /// The runtime library's file name in `libdir`, which is its SONAME.
    pub runtime: &'a str,
    pub backend: &'a dyn Backend,
    pub host_libs: &'a [String],
    pub include_libs: &'a [PathBuf],
    pub system: &'a System,
    pub log: Log,
}

/// Every ELF object of the bundle, the plan's first (in plan order).
pub struct Closure {
    pub objects: Vec<Object>,
    by_dest: HashMap<PathBuf, usize>,
    by_source: HashMap<PathBuf, usize>,
    /// Names that always mean one object: the runtime, `--include-lib`s.
    pinned: HashMap<String, usize>,
}

pub fn resolve(inputs: &Inputs) -> Result<Closure> {
    let mut closure = Closure {
        objects: Vec::new(),
        by_dest: HashMap::new(),
        by_source: HashMap::new(),
        pinned: HashMap::new(),
    };
    closure.add_plan(inputs)?;
    let runtime = inputs.libdir.join(inputs.runtime);
    if let Some(&i) = closure.by_dest.get(&runtime) {
        closure.pinned.insert(inputs.runtime.to_string(), i);
    }
    for path in inputs.include_libs {
        closure.include(path, inputs.libdir)?;
    }
    // A file of the plan that the loader finds only through the DT_RPATH
    // of an object that needs it (scipy.libs' libgfortran, beside the
    // libquadmath it needs) is tried again once every object has said
    // what it needs.
    let mut queue: std::collections::VecDeque<usize> = (0..closure.objects.len()).collect();
    let mut deferred = Vec::new();
    let mut retried = false;
    loop {
        while let Some(i) = queue.pop_front() {
            let known = closure.objects.len();
            match closure.resolve_deps(i, inputs) {
                Ok(deps) => closure.objects[i].deps = deps,
                Err(_) if !retried && closure.objects[i].origin == Origin::Plan => deferred.push(i),
                Err(err) => return Err(err),
            }
            queue.extend(known..closure.objects.len());
        }
        if deferred.is_empty() {
            break;
        }
        retried = true;
        queue.extend(deferred.drain(..));
    }
    Ok(closure)
}

impl Closure {
    fn resolve_deps(&mut self, i: usize, inputs: &Inputs) -> Result<Vec<Dep>> {
        let needed = self.objects[i].info.needed.clone();
        let mut deps = Vec::new();
        for name in needed {
            let target = self.target(i, &name, inputs)?;
            deps.push(Dep {
                needed: name,
                target,
            });
        }
        Ok(deps)
    }

    /// The `DT_RPATH`s that the objects object `i` loads inherit from it.
    fn chain_of(&self, i: usize) -> Vec<Inherited> {
        let object = &self.objects[i];
        let mut chain = Vec::new();
        if let (None, Some(rpath), Some(origin)) = (
            &object.info.runpath,
            &object.info.rpath,
            object.source.parent(),
        ) {
            chain.push((origin.to_path_buf(), rpath.clone()));
        }
        chain.extend(object.inherited.iter().cloned());
        chain
    }

    fn push(&mut self, object: Object) -> usize {
        let i = self.objects.len();
        self.by_dest.insert(object.dest.clone(), i);
        if let Ok(canonical) = object.source.canonicalize() {
            self.by_source.entry(canonical).or_insert(i);
        }
        self.objects.push(object);
        i
    }

    fn add_plan(&mut self, inputs: &Inputs) -> Result<()> {
        for entry in &inputs.plan.entries {
            let read = match &entry.source {
                Source::Bytecode { .. } => continue,
                source => read_source(source),
            };
            match read {
                Ok(Some((source, info))) => {
                    self.push(Object {
                        dest: entry.dest.clone(),
                        source,
                        info,
                        origin: Origin::Plan,
                        deps: Vec::new(),
                        inherited: Vec::new(),
                    });
                }
                Ok(None) => {}
                Err(err) => inputs.log.warn(format!(
                    "`{}` is left as it is: {err:#}",
                    entry.dest.display()
                )),
            }
        }
        Ok(())
    }

    fn include(&mut self, path: &Path, libdir: &Path) -> Result<()> {
        let info = read_library(path)?;
        let file_name = path.file_name().unwrap_or_default().to_string_lossy();
        let name = info
            .soname
            .clone()
            .unwrap_or_else(|| file_name.into_owned());
        let dest = libdir.join(&name);
        if self.by_dest.contains_key(&dest) || self.pinned.contains_key(&name) {
            return Err(fail(
                format!(
                    "`--include-lib {}` would be `{}`, which the bundle already holds",
                    path.display(),
                    dest.display()
                ),
                "include each library once, and never the interpreter's own",
            ));
        }
        let source = path
            .canonicalize()
            .with_context(|| format!("cannot read `{}`", path.display()))?;
        let i = self.push(Object {
            dest,
            source,
            info,
            origin: Origin::Included,
            deps: Vec::new(),
            inherited: Vec::new(),
        });
        self.pinned.insert(name, i);
        Ok(())
    }

    /// Where the library `name` needed by object `i` comes from.
    fn target(&mut self, i: usize, name: &str, inputs: &Inputs) -> Result<Target> {
        if let Some(&j) = self.pinned.get(name) {
            return Ok(Target::Object(j));
        }
        if allowlist::is_system(name) {
            return Ok(Target::System);
        }
        if inputs.host_libs.iter().any(|h| h == name) {
            return Ok(Target::Host);
        }
        if inputs.backend.runtime_version(name).is_some() {
            return Err(fail(
                format!(
                    "{} needs `{name}`, but the bundle's Python is `{}`",
                    self.describe(i),
                    inputs.runtime
                ),
                "build the extension module for the venv's Python",
            ));
        }
        let Some(found) = self.find(i, name, inputs.system) else {
            return Err(fail(
                format!(
                    "{} needs `{name}`, which is found nowhere on this machine",
                    self.describe(i)
                ),
                format!(
                    "install `{name}` so that embedpack can bundle it, or pass \
                     `--host-lib {name}` if the program that loads the plugin provides it"
                ),
            ));
        };
        match found {
            Found::Bundle(j) => {
                if self.objects[j].origin == Origin::Plan
                    && self.objects[j].inherited.is_empty()
                    && j != i
                {
                    self.objects[j].inherited = self.chain_of(i);
                }
                Ok(Target::Object(j))
            }
            Found::Host(path) => self.vendor(i, name, &path, inputs.libdir),
        }
    }

    /// `dest` for a file of the plan, the source path for the others.
    fn describe(&self, i: usize) -> String {
        let object = &self.objects[i];
        match object.origin {
            Origin::Plan => format!("`{}`", object.dest.display()),
            _ => format!(
                "`{}` (bundled as `{}`)",
                object.source.display(),
                object.dest.display()
            ),
        }
    }

    /// Searches ld.so's directories, in ld.so's order.
    fn find(&self, i: usize, name: &str, system: &System) -> Option<Found> {
        let object = &self.objects[i];
        let requester = Requester {
            rpath: object.info.rpath.as_deref(),
            runpath: object.info.runpath.as_deref(),
            host_dir: object.source.parent().filter(|d| !d.as_os_str().is_empty()),
            bundle_dir: match object.origin {
                Origin::Plan => object.dest.parent(),
                _ => None,
            },
        };
        for dir in loader::search_order(&requester, &object.inherited, Some(system)) {
            if let Some(&j) = dir.bundle.and_then(|d| self.by_dest.get(&d.join(name))) {
                return Some(Found::Bundle(j));
            }
            let Some(path) = dir.host.map(|d| d.join(name)) else {
                continue;
            };
            if loader::is_loadable(&path) {
                let canonical = path.canonicalize().unwrap_or_else(|_| path.clone());
                return Some(match self.by_source.get(&canonical) {
                    Some(&j) => Found::Bundle(j),
                    None => Found::Host(canonical),
                });
            }
        }
        None
    }

    /// Adds the library at `path` (needed as `name` by object `i`) under
    /// a hashed name, unless an object was read from there already.
    fn vendor(&mut self, i: usize, name: &str, path: &Path, libdir: &Path) -> Result<Target> {
        if let Some(&j) = self.by_source.get(path) {
            return Ok(Target::Object(j));
        }
        let bytes =
            std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
        let info = elf::read(&bytes)
            .with_context(|| format!("cannot read `{}` as ELF", path.display()))?
            .ok_or_else(|| anyhow::anyhow!("`{}` has no dynamic section", path.display()))?;
        let digest = format!("{:x}", Sha256::digest(&bytes));
        let dest = libdir.join(hashed_name(name, &digest[..HASH_LEN]));
        if self.by_dest.contains_key(&dest) {
            return Err(fail(
                format!("two libraries would be bundled as `{}`", dest.display()),
                "report this as a bug",
            ));
        }
        let inherited = self.chain_of(i);
        let j = self.push(Object {
            dest,
            source: path.to_path_buf(),
            info,
            origin: Origin::Vendored,
            deps: Vec::new(),
            inherited,
        });
        Ok(Target::Object(j))
    }
}

#[cfg(test)]
impl Closure {
    /// A closure made by hand: `(dest, info, origin, deps)` per object.
    pub fn from_objects(objects: Vec<(&str, ElfInfo, Origin, Vec<Dep>)>) -> Closure {
        let mut closure = Closure {
            objects: Vec::new(),
            by_dest: HashMap::new(),
            by_source: HashMap::new(),
            pinned: HashMap::new(),
        };
        for (dest, info, origin, deps) in objects {
            closure.push(Object {
                dest: PathBuf::from(dest),
                source: PathBuf::from("/nonexistent").join(dest),
                info,
                origin,
                deps,
                inherited: Vec::new(),
            });
        }
        closure
    }
}

enum Found {
    Bundle(usize),
    Host(PathBuf),
}

/// auditwheel's naming: `libz.so.1` with hash `1a2b3c4d` is
/// `libz-1a2b3c4d.so.1`.
pub fn hashed_name(soname: &str, hash: &str) -> String {
    match soname.split_once('.') {
        Some((base, ext)) => format!("{base}-{hash}.{ext}"),
        None => format!("{soname}-{hash}"),
    }
}

/// The file an entry is read from (empty for bytes) and what it will
/// say once its edits are made; `None` for what is not a dynamic ELF file.
fn read_source(source: &Source) -> Result<Option<(PathBuf, ElfInfo)>> {
    Ok(match source {
        Source::File(path) => {
            if !elf::is_elf(path)? {
                return Ok(None);
            }
            elf::read_file(path)?.map(|info| (path.clone(), info))
        }
        Source::Bytes(bytes) if bytes.starts_with(b"\x7fELF") => {
            elf::read(bytes)?.map(|info| (PathBuf::new(), info))
        }
        Source::Unbuilt { info, .. } => Some((PathBuf::new(), info.clone())),
        Source::Bytes(_) | Source::Bytecode { .. } | Source::Zip(_) | Source::Sbom(_) => None,
        Source::Patched { base, edits } => {
            read_source(base)?.map(|(path, info)| (path, info.edited(edits)))
        }
        Source::Stripped { base, .. } => read_source(base)?,
    })
}

fn read_library(path: &Path) -> Result<ElfInfo> {
    elf::read_file(path)?.ok_or_else(|| {
        fail(
            format!("`{}` is not a shared library", path.display()),
            "pass a shared library (.so) to --include-lib",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashed_names_keep_the_version_suffix() {
        assert_eq!(hashed_name("libz.so.1", "1a2b3c4d"), "libz-1a2b3c4d.so.1");
        assert_eq!(
            hashed_name("libsqlite3.so.0", "00ff00ff"),
            "libsqlite3-00ff00ff.so.0"
        );
        assert_eq!(
            hashed_name("libtcl8.6.so", "abcd0123"),
            "libtcl8-abcd0123.6.so"
        );
        assert_eq!(hashed_name("plain", "abcd0123"), "plain-abcd0123");
    }
}
