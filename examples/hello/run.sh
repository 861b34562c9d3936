#!/usr/bin/env bash
# Builds the hello bundle with embedpack, compiles host.c against it, and
# runs the host from another directory.  Prints 42 and 95.
#
# EMBEDPACK (the binary), VENV (a venv with cffi) and OUT (the bundle) may
# be given; by default embedpack is built here, a venv is made under
# target/, and the bundle goes to dist/hello.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)

if [ -z "${EMBEDPACK:-}" ]; then
  cargo build --release --quiet --manifest-path "$top/Cargo.toml"
  EMBEDPACK=$top/target/release/embedpack
fi
VENV=${VENV:-$top/target/example-venv}
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check cffi
fi
OUT=${OUT:-$top/dist/hello}

"$EMBEDPACK" build "$here/build_hello.py" --venv "$VENV" --app "$here/app" -o "$OUT"
cc -Wall -Wextra -Werror -o "$OUT/../hello-host" "$here/host.c" \
  -I"$OUT/include" -L"$OUT" -lhello -Wl,-rpath,"$OUT"
cd /
"$OUT/../hello-host"
