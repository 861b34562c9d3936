#!/usr/bin/env bash
# Compares what a small plugin weighs once bundled: the sentinel plugin
# (tests/fixtures/sentinel: cffi, json, markupsafe's C extension, an app
# package) bundled by embedpack — by default (debug information stripped),
# with --no-strip, and what --debug-dir keeps beside it — against
# PyInstaller --onedir of a Python script with the same imports (as it
# comes, and with its --strip, which runs `strip` on every binary), and
# venv-pack of the same venv (which carries neither an interpreter nor a
# standard library: it needs the same Python installed where it is
# unpacked).  Prints one Markdown table: MiB and files of each folder, and
# MiB of each as a .tar.gz (`tar -cz`, gzip level 6).
#
# Needs the test venv (bash tests/run.sh); installs PyInstaller and
# venv-pack from PyPI into target/bench-env/size, once, on the test venv's
# own Python.
#
# usage: bash tests/bench/size.sh [RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
venv=target/test-env/venv
fixture=tests/fixtures/sentinel

tools=target/bench-env/size
pins=(pyinstaller==6.22.3 venv-pack==0.2.0 -r tests/requirements.txt)
if ! [ -f "$tools/.ready" ] || [ "$(cat "$tools/.ready")" != "${pins[*]}" ]; then
  rm -rf "$tools"
  base=$("$venv/bin/python" -c 'import os, sys; print(os.path.join(sys.base_prefix, "bin", "python3"))')
  "$base" -m venv "$tools"
  "$tools/bin/pip" install -q --disable-pip-version-check "${pins[@]}"
  echo "${pins[*]}" >"$tools/.ready"
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

build() { # OUT [OPTION...]
  local out=$1
  shift
  target/release/embedpack build "$fixture/build_sentinel.py" --venv "$venv" \
    --app "$fixture/app" -o "$out" -q "$@"
}
build "$work/embedpack" --debug-dir "$work/debug"
build "$work/no-strip/embedpack" --no-strip

# The same imports as the plugin's init code and its app, and one call.
cat >"$work/sentinel.py" <<'EOF'
import cffi
import _cffi_backend
import markupsafe._speedups
import sentinel_app

print(sentinel_app.evaluate("checks.speedups() * 42"))
EOF
pyinstaller() { # NAME [OPTION...]
  local name=$1
  shift
  "$tools/bin/pyinstaller" --onedir --noconfirm --clean --log-level ERROR \
    --distpath "$work/$name" --workpath "$work/$name-build" --specpath "$work/$name-build" \
    --paths "$PWD/$fixture/app" --hidden-import sentinel_app.checks --name sentinel "$@" \
    "$work/sentinel.py"
  local ran
  ran=$("$work/$name/sentinel/sentinel")
  [ "$ran" = 42 ] || { echo "size.sh: $name printed \`$ran\`, not 42" >&2; exit 1; }
}
pyinstaller pyinstaller
pyinstaller pyinstaller-strip --strip

"$tools/bin/venv-pack" -q -p "$venv" -o "$work/venv-pack.tar.gz"
mkdir "$work/venv-pack"
tar -xzf "$work/venv-pack.tar.gz" -C "$work/venv-pack"

mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
row() { # NAME DIR
  local bytes files gz
  bytes=$(find "$2" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }')
  files=$(find "$2" -type f | wc -l)
  gz=$(tar -C "$2" -czf - . | wc -c)
  printf '| %s | %s | %s | %s |\n' "$1" "$(mib "$bytes")" "$files" "$(mib "$gz")"
}
{
  echo "| Bundle | Folder [MiB] | Files | .tar.gz [MiB] |"
  echo "|:---|---:|---:|---:|"
  row "embedpack (default: stripped)" "$work/embedpack"
  row "embedpack --no-strip" "$work/no-strip/embedpack"
  row "what --debug-dir keeps beside it" "$work/debug"
  row "PyInstaller --onedir" "$work/pyinstaller/sentinel"
  row "PyInstaller --onedir --strip" "$work/pyinstaller-strip/sentinel"
  row "venv-pack (no interpreter, no stdlib)" "$work/venv-pack"
} | tee ${1:+"$1"}
