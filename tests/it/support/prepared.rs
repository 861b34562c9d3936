//! What tests/run.sh prepares under target/test-env and the tests only
//! read: the test venvs, CFFI's embedding tests, the patchelf oracle,
//! the CycloneDX validator.

use std::path::PathBuf;

use super::repo;

/// `target/test-env/<relative>`, failing the test when `<relative>/<witness>`
/// (a file run.sh writes last) is not there.
pub fn test_env(relative: &str, witness: &str) -> PathBuf {
    let path = repo().join("target/test-env").join(relative);
    assert!(
        path.join(witness).is_file(),
        "`{}` is missing: run the tests with `bash tests/run.sh`",
        path.join(witness).display()
    );
    path
}

/// A venv on `EMBEDPACK_TEST_PYTHON` with tests/requirements.txt installed.
pub fn venv() -> PathBuf {
    named_venv("venv")
}

/// A venv tests/run.sh made under target/test-env: `virtualenv`, `uv`
/// (both on `EMBEDPACK_TEST_PYTHON`), `debian` (on
/// `EMBEDPACK_TEST_DEBIAN_PYTHON`), `system-site` (the same, with
/// include-system-site-packages) or `editable` (with editable installs),
/// each holding tests/requirements.txt; `venv-second` (other pins),
/// `venv-closure` (numpy and lxml), `venv-scipy` (numpy and scipy),
/// `venv-py312` (on the newest pyenv
/// 3.12), `venv-cpython-X.Y.Z` (tests/requirements-versions.txt on each
/// pyenv CPython from 3.8 to 3.13) or `pypy` (a PyPy venv).
pub fn named_venv(name: &str) -> PathBuf {
    test_env(name, ".ready")
}

/// `EMBEDPACK_TEST_SBOM_PYTHON`: the Python of the tools venv in which
/// tests/run.sh installed cyclonedx-python-lib, the CycloneDX validator.
pub fn sbom_python() -> PathBuf {
    let path = std::env::var_os("EMBEDPACK_TEST_SBOM_PYTHON").unwrap_or_else(|| {
        panic!(
            "`EMBEDPACK_TEST_SBOM_PYTHON` is not set: run the tests with `bash tests/run.sh`, \
             which installs the CycloneDX validator and sets it"
        )
    });
    PathBuf::from(path)
}
