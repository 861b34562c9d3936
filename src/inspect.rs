//! Inspect: describe a shared library — its dependencies, search paths,
//! whether it is a CFFI embedding library, and which Python runtime
//! library the loader would give it on this machine — or a bundle: its Python, its
//! distributions, its vendored and host-provided libraries, the
//! oldest system it runs on, and what its bill of materials lists.  `--json` gives the same as stable JSON.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::Serialize;

use crate::bundle::sbom::{Bom, Component, SBOM};
use crate::bundle::{Distribution, Manifest, PythonInfo};
use crate::elf;
use crate::loader::{self, Requester, System};
use crate::{backend, fail, resolve};

#[derive(Debug, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Description {
    Library(Library),
    Bundle(Bundle),
}

#[derive(Debug, Serialize)]
pub struct Library {
    pub path: String,
    pub soname: Option<String>,
    pub needed: Vec<String>,
    pub rpath: Option<String>,
    pub runpath: Option<String>,
    pub nodelete: bool,
    pub cffi_embedding: bool,
    /// `<module>` of `PyInit_<module>`.
    pub module: Option<String>,
    pub exports: Vec<String>,
    pub libpython: Option<Libpython>,
    /// For embedpack's library shim, the plugin it loads from the folder
    /// it really lies in.
    pub shim_for: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Libpython {
    /// The name in `DT_NEEDED`.
    pub needed: String,
    /// `X.Y`, from that name.
    pub python: String,
    /// The Python implementation whose runtime library that is
    /// (`cpython`, `pypy`).
    pub implementation: String,
    /// The file the loader would load for it here and now, if any.
    pub loader_picks: Option<String>,
    /// The libpython of the venv given (or `$VIRTUAL_ENV`), if any.
    pub venv_libpython: Option<String>,
    /// Both are known and they are different files.
    pub mismatch: bool,
}

#[derive(Debug, Serialize)]
pub struct Bundle {
    pub path: String,
    pub module: String,
    pub python: PythonInfo,
    pub distributions: Vec<Distribution>,
    /// Libraries in `lib/` other than the runtime library.
    pub vendored: Vec<String>,
    pub host_libs: Vec<String>,
    /// Newest symbol version needed per system library family.
    pub requires: std::collections::BTreeMap<String, String>,
    /// What its `sbom.cdx.json` lists; none for a bundle without one.
    pub sbom: Option<SbomSummary>,
    /// Built with `--self-check`.
    pub self_check: bool,
}

/// A bundle's bill of materials, counted.
#[derive(Debug, Serialize)]
pub struct SbomSummary {
    pub path: String,
    /// Every component: the runtime, distributions and libraries.
    pub components: usize,
    pub distributions: usize,
    pub libraries: usize,
    /// How many distributions have a licence in their metadata, and the
    /// names of those that have none.
    pub licensed: usize,
    pub unlicensed: Vec<String>,
}

pub fn inspect(path: &Path, venv: Option<&Path>) -> Result<Description> {
    if !path.exists() {
        return Err(fail(
            format!("`{}` does not exist", path.display()),
            "give a .so file or a bundle",
        ));
    }
    if path.is_dir() || !elf::is_elf(path)? {
        return bundle(path).map(Description::Bundle);
    }
    library(path, venv).map(Description::Library)
}

fn bundle(path: &Path) -> Result<Bundle> {
    let manifest = Manifest::read(path).map_err(|e| {
        fail(
            format!(
                "`{}` is neither an ELF file nor a bundle: {e}",
                path.display()
            ),
            "give a .so file or a bundle folder or archive",
        )
    })?;
    let vendored = manifest
        .files
        .iter()
        .filter_map(|f| f.path.strip_prefix("lib").ok())
        .map(crate::bundle::name::display)
        .filter(|name| {
            !name.contains('/') && name.contains(".so") && *name != manifest.python.runtime
        })
        .collect();
    Ok(Bundle {
        path: path.display().to_string(),
        module: manifest.module,
        python: manifest.python,
        distributions: manifest.distributions,
        vendored,
        host_libs: manifest.requires.host_libs,
        requires: manifest.requires.versions,
        sbom: sbom_summary(path)?,
        self_check: manifest.self_check,
    })
}

fn sbom_summary(path: &Path) -> Result<Option<SbomSummary>> {
    let Some(bytes) = crate::bundle::format::of(path).read_one(path, SBOM)? else {
        return Ok(None);
    };
    let bom = Bom::parse(&bytes).map_err(|e| {
        fail(
            format!(
                "the {SBOM} of `{}` is not a CycloneDX document: {e}",
                path.display()
            ),
            "build the bundle again; its files were changed after embedpack wrote them",
        )
    })?;
    let is =
        |c: &&Component, prefix: &str| c.bom_ref.as_deref().is_some_and(|r| r.starts_with(prefix));
    let distributions: Vec<&Component> = bom
        .components
        .iter()
        .filter(|c| is(c, "pkg:pypi/"))
        .collect();
    let unlicensed: Vec<String> = distributions
        .iter()
        .filter(|d| d.licenses.is_empty())
        .map(|d| d.name.clone())
        .collect();
    Ok(Some(SbomSummary {
        path: SBOM.to_string(),
        components: bom.components.len(),
        distributions: distributions.len(),
        libraries: bom.components.iter().filter(|c| is(c, "lib:")).count(),
        licensed: distributions.len() - unlicensed.len(),
        unlicensed,
    }))
}

fn library(path: &Path, venv: Option<&Path>) -> Result<Library> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read `{}`", path.display()))?;
    let examined = elf::examine(&bytes).map_err(|e| {
        fail(
            format!("`{}` is {e}", path.display()),
            "inspect takes an x86-64 shared library or a bundle",
        )
    })?;
    let info = &examined.info;
    let runtime = info.needed.iter().find_map(|name| {
        backend::all().find_map(|b| Some((name, b.runtime_version(name)?, b.kind())))
    });
    let libpython = runtime.map(|(needed, (major, minor), kind)| {
        let picked = loader_pick(path, info, needed);
        let venv_lib = venv_runtime(venv);
        let canonical = |p: &PathBuf| p.canonicalize().unwrap_or_else(|_| p.clone());
        Libpython {
            needed: needed.clone(),
            python: format!("{major}.{minor}"),
            implementation: kind.name().to_string(),
            mismatch: matches!((&picked, &venv_lib), (Some(a), Some(b)) if canonical(a) != canonical(b)),
            loader_picks: picked.map(|p| p.display().to_string()),
            venv_libpython: venv_lib.map(|p| p.display().to_string()),
        }
    });
    Ok(Library {
        path: path.display().to_string(),
        cffi_embedding: examined.is_cffi_embedding(),
        soname: examined.info.soname,
        needed: examined.info.needed,
        rpath: examined.info.rpath,
        runpath: examined.info.runpath,
        nodelete: examined.info.nodelete,
        module: examined.module,
        exports: examined.exports,
        libpython,
        shim_for: examined.shim_for,
    })
}

/// The file ld.so would load for `needed` on behalf of the library at
/// `path`, were a host to load it now: its `DT_RPATH` (when it has no
/// `DT_RUNPATH`), `LD_LIBRARY_PATH`, its `DT_RUNPATH`, the system's.
fn loader_pick(path: &Path, info: &elf::ElfInfo, needed: &str) -> Option<PathBuf> {
    let dir = path
        .parent()
        .map(|d| std::path::absolute(d).unwrap_or(d.to_path_buf()))
        .unwrap_or_default();
    let requester = Requester {
        rpath: info.rpath.as_deref(),
        runpath: info.runpath.as_deref(),
        host_dir: Some(&dir),
        bundle_dir: None,
    };
    loader::search_order(&requester, &[], Some(&System::from_host()))
        .into_iter()
        .filter_map(|d| d.host)
        .map(|d| d.join(needed))
        .find(|p| loader::is_loadable(p))
}

/// The runtime library of the venv given or in `$VIRTUAL_ENV`; none when there
/// is no such venv or it cannot be probed.
fn venv_runtime(venv: Option<&Path>) -> Option<PathBuf> {
    let venv = venv
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("VIRTUAL_ENV").map(PathBuf::from))?;
    resolve::resolve(Some((&venv, "--venv")), &[])
        .ok()
        .map(|env| env.runtime)
}

impl Description {
    pub fn to_text(&self) -> String {
        match self {
            Description::Library(lib) => lib.to_text(),
            Description::Bundle(bundle) => bundle.to_text(),
        }
    }
}

fn or_none(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("(none)")
}

impl Library {
    fn to_text(&self) -> String {
        let mut out = format!("{}: x86-64 shared library\n", self.path);
        out += &format!("  SONAME:   {}\n", or_none(&self.soname));
        out += &format!("  NEEDED:   {}\n", self.needed.join(", "));
        out += &format!("  RPATH:    {}\n", or_none(&self.rpath));
        out += &format!("  RUNPATH:  {}\n", or_none(&self.runpath));
        out += &format!("  NODELETE: {}\n", if self.nodelete { "yes" } else { "no" });
        match (&self.module, self.cffi_embedding, &self.shim_for) {
            (Some(module), true, _) => {
                out += &format!("  CFFI embedding library: yes, module `{module}`\n")
            }
            (_, _, Some(embedded)) => {
                out += &format!(
                    "  embedpack's library shim: it loads `{embedded}` from the folder it really \
                     lies in, and forwards these functions to it\n"
                )
            }
            _ => out += "  CFFI embedding library: no\n",
        }
        out += &format!("  exports:  {}\n", self.exports.join(", "));
        if let Some(py) = &self.libpython {
            out += &format!(
                "  Python:   {} {} (needs `{}`)\n",
                py.implementation, py.python, py.needed
            );
            match &py.loader_picks {
                Some(file) => out += &format!("  the loader would load `{file}` for it here\n"),
                None => out +=
                    "  the loader would find no such library here: a host loading it would fail\n",
            }
            if let (true, Some(venv)) = (py.mismatch, &py.venv_libpython) {
                out += &format!(
                    "  warning: the venv's Python uses `{venv}`, another file: a host loading this \
                     library would run a different runtime library than the one its packages \
                     were installed for.\n  hint: `embedpack pack {}` bundles the venv's runtime \
                     library beside it, found through its own search path.\n",
                    self.path
                );
            }
        }
        out
    }
}

impl Bundle {
    fn to_text(&self) -> String {
        let mut out = format!("{}: embedpack bundle of `{}`\n", self.path, self.module);
        out += &format!(
            "  Python:   {} {} ({})\n",
            self.python.implementation,
            self.python.version,
            self.python.soabi.as_deref().unwrap_or("?")
        );
        let dists: Vec<String> = self
            .distributions
            .iter()
            .map(|d| format!("{} {}", d.name, d.version))
            .collect();
        out += &format!("  distributions: {}\n", dists.join(", "));
        out += &format!(
            "  vendored: {}\n",
            if self.vendored.is_empty() {
                "(none)".into()
            } else {
                self.vendored.join(", ")
            }
        );
        out += &format!(
            "  host-provided: {}\n",
            if self.host_libs.is_empty() {
                "(none)".into()
            } else {
                self.host_libs.join(", ")
            }
        );
        out += &format!(
            "  runs on:  {}\n",
            crate::link::portability::describe(&self.requires)
        );
        if let Some(sbom) = &self.sbom {
            out += &format!(
                "  SBOM:     {}: {} components ({} distributions, {} vendored libraries); \
                 licences of {} of {} distributions{}\n",
                sbom.path,
                sbom.components,
                sbom.distributions,
                sbom.libraries,
                sbom.licensed,
                sbom.distributions,
                if sbom.unlicensed.is_empty() {
                    String::new()
                } else {
                    format!(", none for {}", sbom.unlicensed.join(", "))
                }
            );
        }
        if self.self_check {
            out += "  self-check: its library shim checks the plugin, the runtime library and \
                    lib/ against MANIFEST.json before loading them (--self-check)\n";
        }
        out
    }
}
