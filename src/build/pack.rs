//! Pack: a CFFI embedding library compiled elsewhere — by
//! `ffibuilder.compile()`, or by hand as CFFI's documentation shows —
//! becomes the bundle's plugin without being compiled again.
//!
//! Its bootstrap cannot be linked in, so it goes beside it: a small
//! library in the bundle's `lib/`, named after a hash of the plugin, that
//! the plugin needs instead of the runtime library (and that needs it in
//! turn).  The plugin's imports of the interpreter's start-up functions
//! (which ones is the backend's to say) are renamed in place, to names of
//! the same length that only this bootstrap defines; that, its search
//! path, SONAME and `DF_1_NODELETE` are edits of the ELF writer.

use std::path::Path;

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use super::{compile, read, shim, Plugin, Request};
use crate::bundle::Layout;
use crate::elf::{examine, Edits, ElfInfo, PathKind, SearchPath};
use crate::fail;
use crate::log::Log;
use crate::plan::Source;
use crate::resolve::Environment;

/// Prepares the library at `input` as the plugin of a bundle for `env`,
/// as `request` says; a dry run plans its bootstrap library without
/// compiling it.
pub fn pack(input: &Path, env: &Environment, request: &Request, log: Log) -> Result<Plugin> {
    let self_check = request.self_check;
    let bytes =
        std::fs::read(input).with_context(|| format!("cannot read `{}`", input.display()))?;
    let name = input
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let examined = examine(&bytes).map_err(|e| {
        // A damaged file's error says what to do; any other, what pack takes.
        let hint = e.chain().find_map(|c| c.downcast_ref::<crate::Hint>());
        fail(
            format!("`{}` is {e}", input.display()),
            hint.map_or(
                "embedpack pack takes a CFFI embedding library (.so) built for x86-64 Linux",
                |h| h.0.as_str(),
            ),
        )
    })?;
    if let Some(embedded) = &examined.shim_for {
        return Err(fail(
            format!(
                "`{}` is the library shim of an embedpack bundle, which loads `{embedded}` beside it",
                input.display()
            ),
            "it is bundled already: copy its whole folder, or pack the library it was made from",
        ));
    }
    let (Some(module), true) = (examined.module.clone(), examined.cffi_embedding) else {
        return Err(fail(
            format!("`{}` is not a CFFI embedding library (no `PyInit_` function with CFFI's embedding start-up code)", input.display()),
            "build it from a script that calls `ffibuilder.embedding_api()`, or use `embedpack build SCRIPT`",
        ));
    };
    let backend = env.backend;
    let Some((runtime, built_for)) = examined
        .info
        .needed
        .iter()
        .find_map(|name| Some((name.clone(), backend.runtime_version(name)?)))
    else {
        return Err(fail(
            format!(
                "`{}` does not link {}'s runtime library, so nothing tells which Python it was built for",
                input.display(),
                env.info.kind.name()
            ),
            "link it with `-lpython3.X`, as CFFI's documentation shows, or use `embedpack build SCRIPT`",
        ));
    };
    let running = (env.info.version.0, env.info.version.1);
    if built_for != running {
        return Err(fail(
            format!(
                "`{}` was built for Python {}.{} (it needs `{runtime}`), but the venv `{}` runs Python {}",
                input.display(), built_for.0, built_for.1, env.venv.display(), env.info.version_text()
            ),
            format!("pass --venv with a Python {}.{} venv, or rebuild the library for Python {}.{}", built_for.0, built_for.1, running.0, running.1),
        ));
    }
    if !examined.has_sections {
        return Err(fail(
            format!(
                "`{}` has no section headers (`sstrip` or `strip --strip-section-headers` removes them), \
                 and embedpack edits a library through them",
                input.display()
            ),
            "pack the library as the linker wrote it, or stripped with plain `strip`, which keeps them",
        ));
    }
    let hooked = backend.bootstrap().hooked_imports;
    if !hooked
        .iter()
        .all(|h| examined.imports.iter().any(|i| i == h))
    {
        bail!(
            "`{}` does not call {}: its start-up is not CFFI's",
            input.display(),
            hooked.join(" and ")
        );
    }

    let mut layout = Layout::new(&module, request.home.clone()).with_plugin(&name);
    let forwarded = shim::forwards(&examined, &layout, log);
    if !forwarded {
        layout = layout.without_shim();
    }
    shim::check_self_check(&layout, self_check)?;
    let hash = format!("{:x}", Sha256::digest(&bytes));
    let hooks = hook_names(hooked, &hash);
    let bootstrap_name = format!("libembedpack-{}.so", &hash[..12]);
    let (bootstrap, shim) = match request.dry_run {
        true => (
            Source::Unbuilt {
                from: "embedpack's bootstrap, compiled".to_string(),
                info: ElfInfo {
                    soname: Some(bootstrap_name.clone()),
                    needed: vec![runtime.clone()],
                    rpath: Some("$ORIGIN".to_string()),
                    nodelete: true,
                    ..ElfInfo::default()
                },
            },
            forwarded.then(|| shim::planned(&layout, self_check)),
        ),
        false => {
            let workdir = crate::scratch::Scratch::new("pack")?;
            let bootstrap = compile::compile_pack_bootstrap(
                workdir.path(),
                env,
                &layout,
                &hooks,
                &bootstrap_name,
                log,
            )?;
            let shim = match forwarded {
                true => Some(Source::Bytes(shim::compile(
                    workdir.path(),
                    &layout,
                    &module,
                    &examined.exports,
                    self_check,
                    log,
                )?)),
                false => None,
            };
            (Source::Bytes(read(&bootstrap)?), shim)
        }
    };
    let edits = Edits {
        search_path: Some(SearchPath {
            kind: PathKind::Rpath,
            value: format!("$ORIGIN/{}", layout.libdir.display()),
        }),
        replace_needed: vec![(runtime, bootstrap_name.clone())],
        soname: Some(layout.embedded.display().to_string()),
        nodelete: true,
        rename_imports: hooked
            .iter()
            .map(|h| h.to_string())
            .zip(hooks.iter().cloned())
            .collect(),
    };
    Ok(Plugin {
        module,
        bootstrap: Some((layout.libdir.join(&bootstrap_name), bootstrap)),
        layout,
        library: Source::Patched {
            base: Box::new(Source::File(input.to_path_buf())),
            edits,
        },
        shim,
        self_check,
        header: None,
        library_dirs: Vec::new(),
    })
}

/// The bootstrap library's hook for each of `imports`: a name of the
/// same length (imports are renamed in place) that carries the plugin's
/// hash, so that the hooks of several bundles in one process never meet.
fn hook_names(imports: &[&str], hash: &str) -> Vec<String> {
    imports
        .iter()
        .enumerate()
        .map(|(i, import)| {
            let name = format!("ep{i}_{hash}");
            name[..import.len().min(name.len())].to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hooks_keep_the_length_of_what_they_replace() {
        let hash = "0123456789abcdef0123456789abcdef";
        let hooks = hook_names(&["start_up_fn", "another_function"], hash);
        assert_eq!(hooks, ["ep0_0123456", "ep1_0123456789ab"]);
    }
}
