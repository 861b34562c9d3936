#!/usr/bin/env bash
# Builds embedpack's wheel into DIR with maturin (pyproject.toml): the
# release binary as the wheel's one script, tagged manylinux_2_X for the
# newest glibc symbol version it needs.  Prints the wheel's path.
#
# MATURIN (default: `maturin` on PATH) is the maturin to run.  The build
# goes to cargo's target dir (CARGO_TARGET_DIR, else target/), shared with
# `cargo build --release`.  maturin dates the wheel's entries 1980-01-01
# (or SOURCE_DATE_EPOCH, when set): the same tree gives the same wheel.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash packaging/wheel.sh DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
maturin=${MATURIN:-maturin}

# maturin writes into an empty folder, so that the wheel is the one file
# there whatever DIR already holds.
stage=$(mktemp -d "${TMPDIR:-/tmp}/embedpack-wheel.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# --compatibility pypi: the lowest manylinux tag the binary satisfies
# (maturin reads its glibc symbol versions), never plain `linux`;
# --auditwheel check: fail, rather than copy into the wheel, if the binary
# links a library outside manylinux's list.
"$maturin" build --release --locked --compatibility pypi --auditwheel check --out "$stage" >&2
wheel=$(find "$stage" -name 'embedpack-*.whl')
mv "$wheel" "$out/"
echo "$out/${wheel##*/}"
