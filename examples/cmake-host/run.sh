#!/usr/bin/env bash
# Builds the hello bundle with embedpack, builds this C++ host against it
# with CMake (find_package(hello CONFIG) and the target hello::hello), and
# runs the host from another directory.  Prints 42 and 95.
#
# EMBEDPACK (the binary), VENV (a venv with cffi) and OUT (the bundle) may
# be given, as for examples/hello/run.sh; with BUNDLE (an existing hello
# bundle) nothing is built but the host.  BUILD is CMake's build folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ -z "${BUNDLE:-}" ]; then
  if [ -z "${EMBEDPACK:-}" ]; then
    cargo build --release --quiet --manifest-path "$top/Cargo.toml"
    EMBEDPACK=$top/target/release/embedpack
  fi
  VENV=${VENV:-$top/target/example-venv}
  if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check cffi
  fi
  BUNDLE=${OUT:-$top/dist/hello}
  "$EMBEDPACK" build "$top/examples/hello/build_hello.py" --venv "$VENV" \
    --app "$top/examples/hello/app" -o "$BUNDLE"
fi
BUILD=${BUILD:-$BUNDLE/../cmake-host-build}

cmake -S "$here" -B "$BUILD" -DCMAKE_PREFIX_PATH="$BUNDLE" >&2
cmake --build "$BUILD" >&2
cd /
"$BUILD/cmake_host"
