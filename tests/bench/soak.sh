#!/usr/bin/env bash
# The soak: many fresh processes, each of whose 16 threads make their first
# call into a bundle at the same instant (tests/hosts/soak.c), so that the
# bundle's Python starts while all of them ask for it.  For a CPython bundle
# (the tests/fixtures/sentinel plugin, from the test venv) and a PyPy one
# (tests/fixtures/pypy, from the PyPy test venv), built with the release
# binary, through a host that dlopen()s the bundle and one linked to it at
# build time.  Each process runs under `timeout`, so that a hang is counted
# instead of waited on; two run at a time.  A process fails when it exits
# non-zero or prints anything but its "ok" line; the output of the first
# few failures is printed.  Needs the test venvs (bash tests/run.sh).
#
# usage: bash tests/bench/soak.sh [PROCESSES] [RESULTS.md]
#   PROCESSES  fresh processes for each bundle and host (default 300)
# Exits 1 when any process failed or hung.
set -euo pipefail
cd "$(dirname "$0")/../.."
processes=${1:-300}
threads=16
limit=30 # seconds a process may take before it counts as hung
shown=3  # failures whose output is printed, per bundle and host
for venv in venv venv-pypy; do
  if [ ! -f "target/test-env/$venv/.ready" ]; then
    echo "soak.sh: target/test-env/$venv is missing: run bash tests/run.sh first" >&2
    exit 1
  fi
done
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Builds here leave nothing in the user's bytecode cache.
export EMBEDPACK_CACHE_DIR=$work/cache

build() { # NAME FIXTURE SCRIPT VENV
  target/release/embedpack build "tests/fixtures/$2/$3" --venv "target/test-env/$4" \
    --app "tests/fixtures/$2/app" -o "$work/$1" -q
}
build cpython sentinel build_sentinel.py venv
build pypy pypy build_pypy.py venv-pypy
cc -Wall -Werror -O2 -o "$work/dlopen" tests/hosts/soak.c -ldl -pthread
for bundle in cpython pypy; do
  cc -Wall -Werror -O2 -DSOAK_LINKED -I "$work/$bundle/include" -o "$work/linked-$bundle" \
    tests/hosts/soak.c -L "$work/$bundle" -lsentinel "-Wl,-rpath,$work/$bundle" -pthread
done
cpython=$(target/test-env/venv/bin/python -c 'import platform; print("CPython", platform.python_version())')
pypy=$(target/test-env/venv-pypy/bin/python -c \
  'import platform, sys; print("PyPy %d.%d.%d" % sys.pypy_version_info[:3], "(Python %s)" % platform.python_version())')

# soak_one DIR INDEX COMMAND...: runs one process, from /, without
# LD_LIBRARY_PATH or PYTHON* variables; writes DIR/INDEX.out (stdout and
# stderr), and DIR/INDEX.run: its exit status and when it started and ended.
soak_one() {
  local dir=$1 index=$2 start status
  shift 2
  start=$EPOCHREALTIME
  status=0
  (cd / && env -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME -u EMBEDPACK_DEBUG \
    timeout -k 5 "$SOAK_LIMIT" "$@") >"$dir/$index.out" 2>&1 </dev/null || status=$?
  echo "$status $start $EPOCHREALTIME" >"$dir/$index.run"
}
export -f soak_one
export SOAK_LIMIT=$limit

# soak LABEL HOST COMMAND...: PROCESSES runs of COMMAND, two at a time;
# appends a row to the table and counts what went wrong in `bad`.
bad=0
table="| Bundle | Host | Processes | Threads each | Failures | Hangs | Wall time [s] | Median [ms] | p95 [ms] | Max [ms] |
|:---|:---|---:|---:|---:|---:|---:|---:|---:|---:|
"
soak() {
  local label=$1 host=$2 dir start end failures=0 hangs=0 status expected index stats
  shift 2
  dir=$work/runs-$RANDOM$RANDOM
  mkdir "$dir"
  expected="ok: $threads threads"
  start=$EPOCHREALTIME
  seq "$processes" | nice xargs -P 2 -I '{}' bash -c 'soak_one "$@"' _ "$dir" '{}' "$@"
  end=$EPOCHREALTIME
  for index in $(seq "$processes"); do
    read -r status _ <"$dir/$index.run"
    if [ "$status" = 124 ] || [ "$status" = 137 ]; then
      hangs=$((hangs + 1))
    elif [ "$status" != 0 ] || [ "$(cat "$dir/$index.out")" != "$expected" ]; then
      failures=$((failures + 1))
      if [ "$failures" -le "$shown" ]; then
        echo "soak.sh: $label, $host host, process $index failed (exit status $status):" >&2
        head -c 4000 "$dir/$index.out" >&2
      fi
    fi
  done
  bad=$((bad + failures + hangs))
  # Per-process milliseconds, then the nearest-rank median, p95 and max.
  stats=$(cat "$dir"/*.run | awk '{ print ($3 - $2) * 1000 }' | sort -n | awk '
    { t[NR] = $1 }
    END {
      median = t[int((NR + 1) / 2)]; p95 = t[int(NR * 0.95 + 0.999999)]
      printf "%.0f | %.0f | %.0f", median, p95, t[NR]
    }')
  table+="| $label | $host | $processes | $threads | $failures | $hangs | $(awk "BEGIN { printf \"%.1f\", $end - $start }") | $stats |
"
}

soak "$cpython" dlopen "$work/dlopen" "$threads" "$work/cpython/libsentinel.so"
soak "$cpython" linked "$work/linked-cpython" "$threads"
soak "$pypy" dlopen "$work/dlopen" "$threads" "$work/pypy/libsentinel.so"
soak "$pypy" linked "$work/linked-pypy" "$threads"

printf '%s' "$table"
[ -z "${2:-}" ] || printf '%s' "$table" >"$2"
if [ "$bad" -ne 0 ]; then
  echo "soak.sh: $bad process(es) failed or hung" >&2
  exit 1
fi
