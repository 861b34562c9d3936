//! Pack: a CFFI embedding library compiled elsewhere — by
//! `ffibuilder.compile()`, or by hand as CFFI's documentation shows —
//! becomes the bundle's plugin without being compiled again.
//!
//! Its bootstrap cannot be linked in, so it goes beside it: a small
//! library in the bundle's `lib/`, named after a hash of the plugin, that
//! the plugin needs instead of libpython (and that needs libpython in
//! turn).  The plugin's imports of `Py_InitializeEx` and
//! `PyGILState_Ensure` are renamed in place, to names of the same length
//! that only this bootstrap defines; its search path, SONAME and
//! `DF_1_NODELETE` are set by the ELF writer.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use goblin::elf::{dynamic, program_header, Elf};
use sha2::{Digest, Sha256};

use super::examine::{examine, HOOKED_IMPORTS};
use super::{compile, Plugin};
use crate::bundle::Layout;
use crate::cli::Log;
use crate::elf::{patch, Edits, PathKind, SearchPath};
use crate::fail;
use crate::resolve::Environment;

/// Prepares the library at `input` as the plugin of a bundle for `env`.
pub fn pack(input: &Path, env: &Environment, log: Log) -> Result<Plugin> {
    let bytes =
        std::fs::read(input).with_context(|| format!("cannot read `{}`", input.display()))?;
    let name = input
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let examined = examine(&bytes).map_err(|e| {
        fail(
            format!("`{}` is {e}", input.display()),
            "embedpack pack takes a CFFI embedding library (.so) built for x86-64 Linux",
        )
    })?;
    let (Some(module), true) = (examined.module.clone(), examined.cffi_embedding) else {
        return Err(fail(
            format!("`{}` is not a CFFI embedding library (no `PyInit_` function with CFFI's embedding start-up code)", input.display()),
            "build it from a script that calls `ffibuilder.embedding_api()`, or use `embedpack build SCRIPT`",
        ));
    };
    let Some((libpython, built_for)) = examined.libpython.clone() else {
        return Err(fail(
            format!("`{}` does not link libpython, so nothing tells which Python it was built for", input.display()),
            "link it with `-lpython3.X`, as CFFI's documentation shows, or use `embedpack build SCRIPT`",
        ));
    };
    let running = (env.info.version.0, env.info.version.1);
    if built_for != running {
        return Err(fail(
            format!(
                "`{}` was built for Python {}.{} (it needs `{libpython}`), but the venv `{}` runs Python {}",
                input.display(), built_for.0, built_for.1, env.venv.display(), env.info.version_text()
            ),
            format!("pass --venv with a Python {}.{} venv, or rebuild the library for Python {}.{}", built_for.0, built_for.1, running.0, running.1),
        ));
    }
    if examined.hooked_imports.len() != HOOKED_IMPORTS.len() {
        bail!(
            "`{}` does not call {}: its start-up is not CFFI's",
            input.display(),
            HOOKED_IMPORTS.join(" and ")
        );
    }

    let workdir = tempfile::Builder::new()
        .prefix("embedpack-pack-")
        .tempdir()
        .context("cannot create a temporary directory")?;
    let mut layout = Layout::new(&module, env.info.home());
    layout.plugin = PathBuf::from(&name);
    let hash = format!("{:x}", Sha256::digest(&bytes));
    let hooks = (
        format!("ep_{}", &hash[..12]),
        format!("ep_{}_g", &hash[..12]),
    );
    let bootstrap_name = format!("libembedpack-{}.so", &hash[..12]);
    let bootstrap = compile::compile_pack_bootstrap(
        workdir.path(),
        env,
        &layout,
        (&hooks.0, &hooks.1),
        &bootstrap_name,
        log,
    )?;

    let mut renamed = bytes.clone();
    rename_imports(
        &mut renamed,
        &[(HOOKED_IMPORTS[0], &hooks.0), (HOOKED_IMPORTS[1], &hooks.1)],
    )
    .with_context(|| format!("cannot install the bootstrap into `{}`", input.display()))?;
    let edits = Edits {
        search_path: Some(SearchPath {
            kind: PathKind::Rpath,
            value: format!("$ORIGIN/{}", layout.libdir.display()),
        }),
        replace_needed: vec![(libpython, bootstrap_name.clone())],
        soname: Some(name.clone()),
        nodelete: true,
    };
    let patched =
        patch(&renamed, &edits).with_context(|| format!("cannot patch `{}`", input.display()))?;
    let library = workdir.path().join(&name);
    std::fs::write(&library, patched)
        .with_context(|| format!("cannot write `{}`", library.display()))?;
    Ok(Plugin {
        module,
        bootstrap: Some((layout.libdir.join(&bootstrap_name), bootstrap)),
        layout,
        library,
        header: None,
        library_dirs: Vec::new(),
        compiler: compile::compiler_version()?,
        _workdir: workdir,
    })
}

/// Renames undefined dynamic symbols in place: each `(old, new)` pair
/// has names of the same length, and no other name may share the bytes
/// of `old` (GNU ld merges a string with the tail of a longer one).
fn rename_imports(bytes: &mut [u8], renames: &[(&str, &str)]) -> Result<()> {
    let elf = Elf::parse(bytes).context("not a readable ELF file")?;
    let dynamic = elf.dynamic.as_ref().context("no dynamic section")?;
    let strtab = vaddr_to_offset(&elf.program_headers, dynamic.info.strtab as u64)
        .context("`.dynstr` is not in the file")?;
    let mut references: BTreeSet<usize> = elf.dynsyms.iter().map(|s| s.st_name).collect();
    for entry in &dynamic.dyns {
        if matches!(
            entry.d_tag,
            dynamic::DT_NEEDED | dynamic::DT_SONAME | dynamic::DT_RPATH | dynamic::DT_RUNPATH
        ) {
            references.insert(entry.d_val as usize);
        }
    }
    if let Some(verneed) = &elf.verneed {
        for need in verneed.iter() {
            references.insert(need.vn_file);
            references.extend(need.iter().map(|aux| aux.vna_name));
        }
    }
    let mut edits = Vec::new();
    for (old, new) in renames {
        assert_eq!(old.len(), new.len(), "renamed imports keep their length");
        let starts: BTreeSet<usize> = elf
            .dynsyms
            .iter()
            .filter(|s| s.st_shndx == 0 && elf.dynstrtab.get_at(s.st_name) == Some(old))
            .map(|s| s.st_name)
            .collect();
        for start in starts {
            if references
                .range(start + 1..start + old.len())
                .next()
                .is_some()
            {
                bail!("the name `{old}` shares its bytes with another name");
            }
            edits.push((strtab as usize + start, *new));
        }
    }
    for (offset, new) in edits {
        let end = offset + new.len();
        if end >= bytes.len() {
            bail!("a symbol name lies outside the file");
        }
        bytes[offset..end].copy_from_slice(new.as_bytes());
    }
    Ok(())
}

fn vaddr_to_offset(headers: &[program_header::ProgramHeader], vaddr: u64) -> Option<u64> {
    headers
        .iter()
        .filter(|h| h.p_type == program_header::PT_LOAD)
        .find(|h| vaddr >= h.p_vaddr && vaddr < h.p_vaddr + h.p_filesz)
        .map(|h| vaddr - h.p_vaddr + h.p_offset)
}
