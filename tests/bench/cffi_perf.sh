#!/usr/bin/env bash
# Measures a call from C into Python through a bundle with CFFI's own
# performance programs (testing/embedding/test_performance.py and
# perf-test.c in CFFI's source distribution, which tests/run.sh extracts):
# CFFI's perf.py plugin, built by embedpack, is called in a loop for about
# 2.5 seconds, from the main thread and then from 1, 2, 4 and 8 threads at
# once; each measuring thread prints its time per call.  The programs are
# compiled and run as tests/it/cffi_suite.rs runs CFFI's other programs:
# linked with `-L bundle -l_perf_cffi` (the library shim, what hosts
# link) and an rpath, and once more linked to the plugin the shim loads,
# to show what the shim's jump costs; run from `/` without LD_LIBRARY_PATH
# or PYTHON* variables.  Needs the test venv and CFFI's sources (bash
# tests/run.sh).
#
# usage: bash tests/bench/cffi_perf.sh [RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
cffi=target/test-env/cffi-src/testing/embedding
if [ ! -f "$cffi/perf-test.c" ] || [ ! -f target/test-env/venv/.ready ]; then
  echo "cffi_perf.sh: the test venv or CFFI's sources are missing: run bash tests/run.sh first" >&2
  exit 1
fi
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Like CFFI's prepare_module(), build from a copy of the script.
cp "$cffi/perf.py" "$work/perf.py"
bundle=$work/bundle
target/release/embedpack build "$work/perf.py" --venv target/test-env/venv -o "$bundle" -q

python=$(target/test-env/venv/bin/python -c 'import platform; print(platform.python_version())')
results="Time per call of \`add1()\` (CPython $python), per measuring thread,
through the library shim hosts link (\`-l_perf_cffi\`) and linked to the
plugin itself (\`-l:lib_perf_cffi.python.so\`):

| Program | Threads | Through the shim [µs] | The plugin itself [µs] |
|:---|---:|:---|:---|
"
for threads in none 1 2 4 8; do
  if [ "$threads" = none ]; then
    name=test_perf_single_threaded flags=() lines=1
  else
    name=test_perf_in_${threads}_thread flags=(-pthread "-DPTEST_USE_THREAD=$threads") lines=$threads
    [ "$threads" = 1 ] || name=${name}s
  fi
  row="| \`$name\` | ${threads/none/main} |"
  for library in _perf_cffi :lib_perf_cffi.python.so; do
    exe=$work/$name-${library#:}
    # As CFFI's compile(): `cc -g`, and -pthread when threaded.
    cc -g "${flags[@]}" -o "$exe" "$cffi/perf-test.c" \
      -I "$bundle/include" -L "$bundle" "-l$library" "-Wl,-rpath,$bundle"
    (cd / && env -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME -u EMBEDPACK_DEBUG "$exe") \
      >"$exe.out" 2>"$exe.err" </dev/null
    # One "time per call: SECONDS" line per measuring thread, and a quiet
    # stderr, or the figures mean nothing.
    if [ "$(grep -c '^time per call: ' "$exe.out")" != "$lines" ] || [ -s "$exe.err" ]; then
      echo "cffi_perf.sh: $name printed something else than $lines time(s) per call:" >&2
      cat "$exe.out" "$exe.err" >&2
      exit 1
    fi
    row+=" $(awk '{ printf "%s%.3f", (NR > 1 ? ", " : ""), $4 * 1e6 }' "$exe.out") |"
  done
  results+="$row
"
done
printf '%s' "$results"
[ -z "${1:-}" ] || printf '%s' "$results" >"$1"
