#!/usr/bin/env bash
# Runs every test of embedpack on a fresh Debian 12 machine: installs what
# the tests need (apt packages, test venvs), then runs `cargo test`.
# Venvs are made once under target/test-env and reused by later runs.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for tool in gcc g++ chroot; do
  command -v "$tool" >/dev/null || need_apt+=("$tool")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gcc g++ coreutils >/dev/null
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

# CFFI's own embedding test programs, from its source distribution.
if [ ! -d "$env_dir/cffi-src/testing/embedding" ]; then
  rm -rf "$env_dir/cffi-src" "$env_dir/cffi-sdist"
  "$env_dir/venv/bin/pip" download -q --disable-pip-version-check --no-deps \
    --no-binary :all: -d "$env_dir/cffi-sdist" cffi==2.0.0
  mkdir -p "$env_dir/cffi-src"
  tar -xzf "$env_dir"/cffi-sdist/cffi-2.0.0.tar.gz -C "$env_dir/cffi-src" --strip-components=1
fi

cargo test --locked "$@"
