//! The interpreters tests/run.sh finds and hands in through environment
//! variables, and what each reports about itself (probe.py): the tests
//! name no folder or version of one machine.  A variable that is not set
//! fails the test that needs it, saying to run `bash tests/run.sh`.
//!
//! * `EMBEDPACK_TEST_PYTHON`: the `python3` on PATH, which the main test
//!   venv (and most others) was made with.
//! * `EMBEDPACK_TEST_DEBIAN_PYTHON`: Debian's own python3.11.
//! * `EMBEDPACK_TEST_CPYTHONS`: every pyenv CPython from 3.8 to 3.13, as
//!   the paths of their `bin/pythonX.Y`, separated by `:`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::{run_ok, stdout};

const PROBE: &str = include_str!("probe.py");

/// An interpreter handed in by tests/run.sh, as it describes itself.
#[derive(Debug, serde::Deserialize)]
pub struct Python {
    /// The path it was handed in as.
    #[serde(skip)]
    pub path: PathBuf,
    /// `sys.version_info[:3]`.
    pub version: (u32, u32, u32),
    /// `sys.base_prefix`.
    pub base_prefix: PathBuf,
    /// Where its C headers are (`Python.h`).
    pub include: PathBuf,
    /// sysconfig's `LIBDIR`, `LDVERSION` and `INSTSONAME`.
    pub libdir: PathBuf,
    pub ldversion: String,
    pub instsoname: String,
}

impl Python {
    fn probe(path: &Path) -> Python {
        let output = run_ok(Command::new(path).args(["-I", "-B", "-c", PROBE]));
        let mut python: Python = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` described itself as something else than probe.py prints ({e}):\n{}",
                path.display(),
                stdout(&output)
            )
        });
        python.path = path.to_path_buf();
        python
    }

    /// `X.Y.Z`, as a bundle's manifest records it.
    pub fn version_string(&self) -> String {
        let (major, minor, micro) = self.version;
        format!("{major}.{minor}.{micro}")
    }

    /// The shared libpython it runs on: `INSTSONAME` in `LIBDIR`.
    pub fn libpython(&self) -> PathBuf {
        self.libdir.join(&self.instsoname)
    }
}

/// The value of one of tests/run.sh's variables.
fn variable(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "`{name}` is not set: run the tests with `bash tests/run.sh`, \
             which finds the interpreters and sets it"
        )
    })
}

/// The interpreter whose path is in the variable `name`.
fn single(name: &str) -> Python {
    let path = variable(name);
    assert!(
        !path.is_empty(),
        "`{name}` is empty: run the tests with `bash tests/run.sh`"
    );
    Python::probe(Path::new(&path))
}

/// `EMBEDPACK_TEST_PYTHON`: the `python3` the main test venv was made with.
pub fn python() -> &'static Python {
    static PYTHON: OnceLock<Python> = OnceLock::new();
    PYTHON.get_or_init(|| single("EMBEDPACK_TEST_PYTHON"))
}

/// `EMBEDPACK_TEST_DEBIAN_PYTHON`: Debian's python3.11, whose executable is
/// linked statically and whose libpython sits in the multiarch folder.
pub fn debian_python() -> &'static Python {
    static PYTHON: OnceLock<Python> = OnceLock::new();
    PYTHON.get_or_init(|| single("EMBEDPACK_TEST_DEBIAN_PYTHON"))
}

/// `EMBEDPACK_TEST_CPYTHONS`: every pyenv CPython from 3.8 to 3.13.
pub fn cpythons() -> &'static [Python] {
    static PYTHONS: OnceLock<Vec<Python>> = OnceLock::new();
    PYTHONS.get_or_init(|| {
        variable("EMBEDPACK_TEST_CPYTHONS")
            .split(':')
            .filter(|path| !path.is_empty())
            .map(|path| Python::probe(Path::new(path)))
            .collect()
    })
}

/// The newest CPython `major.minor` among `EMBEDPACK_TEST_CPYTHONS`.
pub fn newest_cpython(major: u32, minor: u32) -> &'static Python {
    cpythons()
        .iter()
        .filter(|p| (p.version.0, p.version.1) == (major, minor))
        .max_by_key(|p| p.version.2)
        .unwrap_or_else(|| {
            panic!(
                "no CPython {major}.{minor} in `EMBEDPACK_TEST_CPYTHONS` (`{}`): \
                 install one (`pyenv install {major}.{minor}`) and run the tests \
                 with `bash tests/run.sh`",
                variable("EMBEDPACK_TEST_CPYTHONS")
            )
        })
}
