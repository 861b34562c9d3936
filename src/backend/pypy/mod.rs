//! PyPy 3.9 and newer (PyPy's own versions 7.3+), embedded through CFFI's
//! PyPy start-up: `pypy_carefully_make_gil()` starts PyPy once and calls
//! `pypy_setup_home(NULL, 1)`, which finds the home from libpypy's own
//! file, walking up its folders for `lib/pypy3.X/site.py`.  So the layout
//! decides: libpypy sits in the bundle's `lib/`, the standard library
//! (`lib-python` and `lib_pypy` in one folder, as Debian installs them) in
//! `lib/pypy3.X/`, and `sys.prefix` is the bundle's top folder.  The
//! bootstrap (`stubs/pypy/`) runs before CFFI's start-up and adds the
//! bundle's paths before the init code runs.

mod libpypy;

use std::path::{Path, PathBuf};

use anyhow::Result;

use super::{Backend, Bootstrap, Interpreter, Kind, Part, Stdlib, Tree};
use crate::bundle::Home;
use crate::fail;

pub struct PyPy;

/// The oldest Python version of PyPy whose embedding embedpack knows.
const OLDEST: (u32, u32) = (3, 9);

const BOOTSTRAP: Bootstrap = Bootstrap {
    files: &[
        ("start.c", include_str!("../../../stubs/pypy/start.c")),
        ("pack.c", include_str!("../../../stubs/pypy/pack.c")),
        ("pypy.h", include_str!("../../../stubs/pypy/pypy.h")),
    ],
    plugin_sources: &["plugin.c", "bootstrap.c", "start.c"],
    pack_sources: &["pack.c", "bootstrap.c", "start.c"],
    cffi_edits: include_str!("../../../stubs/pypy/cffi_embedding.patch"),
    hooked_imports: &["pypy_carefully_make_gil", "pypy_init_embedded_cffi_module"],
};

/// Left out by default, kept with `--keep-stdlib NAME`.
const OPTIONAL: &[Part] = &[
    Part {
        name: "test",
        folders: &["test"],
        nested: &["test", "tests", "idle_test"],
        modules: &[
            "_testcapi",
            "_ctypes_test",
            "_testmultiphase",
            "_pypy_testcapi",
        ],
    },
    Part::folder("idlelib", &["idlelib"]),
    Part::folder("tkinter", &["tkinter"]),
    Part::folder("turtledemo", &["turtledemo"]),
    Part::folder("ensurepip", &["ensurepip"]),
    Part::folder("lib2to3", &["lib2to3"]),
    Part::folder("pydoc_data", &["pydoc_data"]),
];

impl Backend for PyPy {
    fn kind(&self) -> Kind {
        Kind::PyPy
    }

    fn check(&self, venv: &Path, info: &Interpreter) -> Result<()> {
        let (major, minor, _) = info.version;
        if (major, minor) < OLDEST {
            return Err(fail(
                format!(
                    "`{}` runs PyPy for Python {}; embedpack builds for PyPy 3.9 or newer",
                    venv.display(),
                    info.version_text()
                ),
                "create the venv with a PyPy 3.9+ interpreter (`pypy3 -m venv`)",
            ));
        }
        // cffi is built into PyPy: a PyPy venv holds no cffi distribution.
        Ok(())
    }

    fn find_runtime(&self, venv: &Path, info: &Interpreter) -> Result<PathBuf> {
        libpypy::find(venv, info)
    }

    fn runtime_version(&self, name: &str) -> Option<(u32, u32)> {
        libpypy::version_of(name)
    }

    fn links_runtime(&self, library: &str) -> bool {
        library.starts_with("pypy3")
    }

    fn link_runtime(&self, runtime: &Path) -> Vec<String> {
        libpypy::link_args(runtime)
    }

    fn home(&self, info: &Interpreter) -> Home {
        let (major, minor, _) = info.version;
        let stdlib = PathBuf::from("lib").join(format!("pypy{major}.{minor}"));
        Home {
            required: vec![
                stdlib.join("site.py"),
                stdlib.join("os.py"),
                stdlib.join("encodings/__init__.py"),
            ],
            extensions: None,
            zip: None,
            stdlib,
            prefix: PathBuf::from("."),
        }
    }

    fn stdlib_zip(&self, _info: &Interpreter, _home: &Home) -> Option<PathBuf> {
        // PyPy finds its home by the standard library's files (`required`)
        // and puts no zip on its path.
        None
    }

    fn stdlib(&self, info: &Interpreter, home: &Home) -> Stdlib {
        // Debian's system packages and any site-packages of the base
        // interpreter are not the standard library.
        let skip = ["dist-packages", "site-packages"]
            .iter()
            .map(|d| info.stdlib.join(d))
            .collect();
        Stdlib {
            trees: vec![Tree {
                source: info.stdlib.clone(),
                dest: home.stdlib.clone(),
                modules_only: false,
                skip,
            }],
            optional: OPTIONAL,
        }
    }

    fn bootstrap(&self) -> &'static Bootstrap {
        &BOOTSTRAP
    }

    fn sbom_identity(&self) -> (&'static str, &'static str) {
        ("PyPy", "MIT")
    }
}
