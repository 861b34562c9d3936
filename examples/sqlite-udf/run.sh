#!/usr/bin/env bash
# Builds the pyudf bundle with embedpack and has the sqlite3 shell load it
# with .load, from another directory, and call its SQL functions.  Prints
#   &lt;b&gt;Fish &amp; Chips&lt;/b&gt;|CHECK MARK, EURO SIGN
#
# EMBEDPACK (the binary), VENV (a venv with cffi and markupsafe) and OUT
# (the bundle) may be given, as for examples/hello/run.sh; with BUNDLE (an
# existing pyudf bundle) nothing is built.  Needs the sqlite3 shell and, to
# build, SQLite's headers (Debian: sqlite3, libsqlite3-dev).
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
  fi
  if ! "$VENV/bin/python" -c "import cffi, markupsafe" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --disable-pip-version-check cffi markupsafe
  fi
  BUNDLE=${OUT:-$top/dist/pyudf}
  # The host provides SQLite: Python's own sqlite3 module, if the functions
  # used it, would share the host's library rather than bring a copy.
  "$EMBEDPACK" build "$here/build_pyudf.py" --venv "$VENV" --app "$here/app" \
    --host-lib libsqlite3.so.0 -o "$BUNDLE"
fi

cd /
sqlite3 :memory: -cmd ".load '$BUNDLE/libpyudf.so'" \
  "SELECT html_escape('<b>Fish & Chips</b>'), unicode_name('✓€');"
