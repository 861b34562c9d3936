//! CPython 3.8 and newer, built with a shared libpython.  Its home in a
//! bundle is `python/`, with the standard library in `lib/pythonX.Y` and
//! its extension modules in `lib-dynload` below it; the bootstrap
//! (`stubs/cpython/`) starts it with an isolated `PyConfig` in place of
//! CFFI's `Py_InitializeEx(0)`.

mod libpython;

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Backend, Bootstrap, Interpreter, Kind, Part, Stdlib, Tree};
use crate::bundle::Home;
use crate::fail;

pub struct CPython;

/// The oldest CPython with `PyConfig`.
const OLDEST: (u32, u32) = (3, 8);

const BOOTSTRAP: Bootstrap = Bootstrap {
    files: &[
        ("start.c", include_str!("../../../stubs/cpython/start.c")),
        ("pack.c", include_str!("../../../stubs/cpython/pack.c")),
    ],
    plugin_sources: &["plugin.c", "bootstrap.c", "start.c"],
    pack_sources: &["pack.c", "bootstrap.c", "start.c"],
    cffi_edits: include_str!("../../../stubs/cpython/cffi_embedding.patch"),
    hooked_imports: &["Py_InitializeEx", "PyGILState_Ensure"],
};

/// Left out by default, kept with `--keep-stdlib NAME`.
const OPTIONAL: &[Part] = &[
    Part {
        name: "test",
        folders: &["test"],
        nested: &["test", "tests", "idle_test"],
        modules: &["_test", "_ctypes_test", "_xxtestfuzz", "xxlimited"],
    },
    Part::folder("idlelib", &["idlelib"]),
    Part {
        name: "tkinter",
        folders: &["tkinter"],
        nested: &[],
        modules: &["_tkinter"],
    },
    Part::folder("turtledemo", &["turtledemo"]),
    Part::folder("ensurepip", &["ensurepip"]),
    Part::folder("lib2to3", &["lib2to3"]),
    Part::folder("config", &["config-*"]),
    // What serves a person at a terminal, never a library in a host: the
    // topics of `help()`, line editing and curses (libreadline, ncurses).
    Part::folder("pydoc_data", &["pydoc_data"]),
    Part::module("readline", &["readline"]),
    Part {
        name: "curses",
        folders: &["curses"],
        nested: &[],
        modules: &["_curses"],
    },
    // NIS lookups and crypt(3), deprecated since 3.11 and gone in 3.13,
    // with the libraries only they need (libnsl, libtirpc and Kerberos;
    // libcrypt).
    Part::module("nis", &["nis"]),
    Part::module("crypt", &["_crypt"]),
];

impl Backend for CPython {
    fn kind(&self) -> Kind {
        Kind::CPython
    }

    fn check(&self, venv: &Path, info: &Interpreter) -> Result<()> {
        let (major, minor, _) = info.version;
        if (major, minor) < OLDEST {
            return Err(fail(
                format!(
                    "`{}` runs {} {}; embedpack builds for CPython 3.8 or newer",
                    venv.display(),
                    info.kind.name(),
                    info.version_text()
                ),
                "create the venv with a CPython 3.8+ interpreter",
            ));
        }
        if info.cffi.is_none() {
            let venv_text = venv.display();
            let hint = if venv.join("bin/pip").exists() {
                format!("run `{venv_text}/bin/pip install cffi`")
            } else {
                // Made with `--without-pip`, or by uv.
                format!(
                    "the venv has no pip: run `{venv_text}/bin/python -m ensurepip` and then \
                     `{venv_text}/bin/python -m pip install cffi`, or `uv pip install --python \
                     {venv_text} cffi`"
                )
            };
            return Err(fail(format!("`{venv_text}` has no cffi installed",), hint));
        }
        Ok(())
    }

    fn find_runtime(&self, venv: &Path, info: &Interpreter) -> Result<PathBuf> {
        libpython::find(venv, info)
    }

    fn runtime_version(&self, name: &str) -> Option<(u32, u32)> {
        libpython::version_of(name)
    }

    fn links_runtime(&self, library: &str) -> bool {
        library.starts_with("python3")
    }

    fn link_runtime(&self, runtime: &Path) -> Vec<String> {
        // libpython has a SONAME, which the linker records.
        vec![runtime.display().to_string()]
    }

    fn home(&self, info: &Interpreter) -> Home {
        let prefix = PathBuf::from("python");
        let (major, minor, _) = info.version;
        let stdlib = prefix.join("lib").join(format!("python{major}.{minor}"));
        let dynload = stdlib.join("lib-dynload");
        Home {
            required: vec![
                stdlib.join("os.py"),
                stdlib.join("encodings/__init__.py"),
                dynload.clone(),
            ],
            extensions: Some(dynload),
            zip: None,
            stdlib,
            prefix,
        }
    }

    fn stdlib_zip(&self, info: &Interpreter, home: &Home) -> Option<PathBuf> {
        // Where CPython's own path configuration puts it: `python311.zip`
        // beside the `python3.11` folder.
        let (major, minor, _) = info.version;
        let lib = home.stdlib.parent()?;
        Some(lib.join(format!("python{major}{minor}.zip")))
    }

    fn stdlib(&self, info: &Interpreter, home: &Home) -> Stdlib {
        let dynload = info
            .dynload
            .clone()
            .unwrap_or_else(|| info.stdlib.join("lib-dynload"));
        let mut trees = vec![Tree {
            source: info.stdlib.clone(),
            dest: home.stdlib.clone(),
            modules_only: false,
            skip: vec![dynload.clone()],
        }];
        if let Some(dest) = &home.extensions {
            trees.push(Tree {
                source: dynload,
                dest: dest.clone(),
                modules_only: true,
                skip: Vec::new(),
            });
        }
        Stdlib {
            trees,
            optional: OPTIONAL,
        }
    }

    fn bootstrap(&self) -> &'static Bootstrap {
        &BOOTSTRAP
    }

    fn sbom_identity(&self) -> (&'static str, &'static str) {
        ("CPython", "PSF-2.0")
    }
}
