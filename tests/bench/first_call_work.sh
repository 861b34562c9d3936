#!/usr/bin/env bash
# Counts the work of a bundle's first call, where wall-clock times are
# noise (a loaded, shared machine): the instructions one fresh host
# process executes (valgrind's callgrind, which counts user-space
# instructions only) and the system calls it makes (strace -c -f), from
# process start to the return of the first call: dlopen() of the plugin,
# Python's start-up, the plugin's init code, one call.  Hash
# randomization moves the counts by about 0.2% from run to run, so the
# instruction count is the median of FIRST_CALL_RUNS processes (5).
#
# What it measures, all on the tests/fixtures/sentinel plugin (its init
# code imports cffi's backend, markupsafe's C extension and an app
# package that imports json and traceback), called through
# tests/hosts/run_plugin.c evaluating `6 * 7`:
#
# - the embedpack bundle (the release binary, default options), run from
#   `/` with no LD_LIBRARY_PATH or PYTHON* variable;
# - the same plugin built by hand as CFFI's embedding docs say
#   (`ffibuilder.compile()` in the test venv, linked to the venv's
#   libpython), run from `/` with what a user sets by hand, as
#   benchmarks/compare.sh does: PATH=<venv>/bin and VIRTUAL_ENV=<venv>
#   (what `source <venv>/bin/activate` sets, so that the embedded Python
#   takes the venv's site-packages), LD_LIBRARY_PATH=<the libpython
#   folder>, PYTHONPATH=<a copy of the app folder>, and libpython loaded
#   globally (LD_PRELOAD, as CFFI's docs advise for hosts that load with
#   RTLD_LOCAL: wheels' extension modules do not name libpython).
#   PYTHONDONTWRITEBYTECODE is unset and one warm-up run comes first, so
#   the app's __pycache__ exists, as it would for a user;
# - where each one's instructions go: Python's start-up (for the bundle
#   embedpack_initialize(), embedpack_attach() and its version check; by
#   hand Py_InitializeEx()), the plugin's module init (which imports
#   _cffi_backend), the init code (compiled and run), and the rest
#   (process start, loading the libraries, the call);
# - the interpreter alone (the test venv's base `python3 -I -S`, the
#   same libpython): start-up without `site`, with `import site` (its
#   main() not run, as a lazy import would be), with `import os` (what
#   `site` imports), and without frozen modules.
#
# Needs the test venv (bash tests/run.sh), valgrind and strace (apt-get
# install valgrind strace), a C compiler.  FIRST_CALL_EMBEDPACK=BINARY
# measures another build of embedpack (to compare before and after a
# change) instead of building this tree's.  Takes a minute or two.
#
# usage: bash tests/bench/first_call_work.sh [RESULTS.md]
set -euo pipefail
results=
[ -z "${1:-}" ] || results=$(realpath -m -- "$1")
cd "$(dirname "$0")/../.."
repo=$PWD

die() {
  echo "first_call_work.sh: $*" >&2
  exit 1
}
for tool in valgrind callgrind_annotate strace cc; do
  command -v "$tool" >/dev/null || die "\`$tool\` is missing: apt-get install valgrind strace gcc"
done
venv=target/test-env/venv
[ -f "$venv/.ready" ] || die "the test venv \`$venv\` is missing: run bash tests/run.sh first"
fixture=tests/fixtures/sentinel
runs=${FIRST_CALL_RUNS:-5}
embedpack=${FIRST_CALL_EMBEDPACK:-}
if [ -z "$embedpack" ]; then
  cargo build --release --quiet
  embedpack=target/release/embedpack
fi
embedpack=$(realpath -- "$embedpack")

work=$(mktemp -d -t embedpack-first-call.XXXXXX)
trap 'rm -rf "$work"' EXIT
# Builds here leave nothing in the user's bytecode cache.
export EMBEDPACK_CACHE_DIR=$work/cache

"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/bundle" -q
mkdir "$work/by-hand"
cp -r "$fixture/app" "$work/app"
find "$work/app" -name __pycache__ -prune -exec rm -rf {} +
"$venv/bin/python" -c '
import runpy, sys
runpy.run_path(sys.argv[1])["ffibuilder"].compile(tmpdir=sys.argv[2], target="libsentinel.*")
' "$fixture/build_sentinel.py" "$work/by-hand" >"$work/by-hand/log" 2>&1 ||
  { cat "$work/by-hand/log" >&2; die "the sentinel plugin did not build by hand"; }
{
  read -r libdir
  read -r soname
  read -r base
} < <("$venv/bin/python" -c '
import os, sys, sysconfig
print(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME"),
      os.path.join(sys.base_prefix, "bin", "python3"), sep="\n")')
cc -O2 -o "$work/host" tests/hosts/run_plugin.c -ldl -pthread

clean_env=(env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONPATH -u PYTHONHOME
  -u PYTHONDONTWRITEBYTECODE -u PYTHONUNBUFFERED -u EMBEDPACK_DEBUG)
# run NAME [TOOL...]: NAME's command from `/` in its environment, under
# TOOL when given.
run() {
  local name=$1
  shift
  case $name in
    bundle)
      (cd / && "${clean_env[@]}" "$@" "$work/host" "$work/bundle/libsentinel.so" "6 * 7") ;;
    by-hand)
      (cd / && "${clean_env[@]}" "PATH=$repo/$venv/bin:$PATH" "VIRTUAL_ENV=$repo/$venv" \
        "LD_LIBRARY_PATH=$libdir" "PYTHONPATH=$work/app" "LD_PRELOAD=$soname" \
        "$@" "$work/host" "$work/by-hand/libsentinel.so" "6 * 7") ;;
  esac
}
# The warm-up: each must print 42 and nothing on stderr.
for name in bundle by-hand; do
  out=$(run "$name" 2>"$work/err") || { cat "$work/err" >&2; die "$name failed"; }
  if [ "$out" != 42 ] || [ -s "$work/err" ]; then
    cat "$work/err" >&2
    die "$name printed \`$out\`, not 42"
  fi
done
[ -d "$work/app/sentinel_app/__pycache__" ] || die "the build by hand wrote no __pycache__"

# count NAME: $runs callgrind runs, NAME.ir holding each one's total and
# NAME.cg the profile of the median run; then one strace -c -f run.
count() {
  local name=$1 i total
  : >"$work/$name.ir"
  for ((i = 0; i < runs; i++)); do
    run "$name" valgrind --tool=callgrind --callgrind-out-file="$work/$name.$i.cg" \
      >/dev/null 2>"$work/$name.valgrind" ||
      { cat "$work/$name.valgrind" >&2; die "$name failed under valgrind"; }
    total=$(callgrind_annotate "$work/$name.$i.cg" 2>/dev/null |
      awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
    echo "$total $i" >>"$work/$name.ir"
  done
  i=$(sort -n "$work/$name.ir" | awk '{ v[NR] = $2 } END { print v[int((NR + 1) / 2)] }')
  mv "$work/$name.$i.cg" "$work/$name.cg"
  run "$name" strace -f -c -o "$work/$name.strace" >/dev/null 2>&1 || die "$name failed under strace"
}
count bundle
count by-hand

# median NAME, range NAME: of NAME.ir.
median() { sort -n "$work/$1.ir" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
range() { sort -n "$work/$1.ir" | awk '{ v[NR] = $1 } END { printf "%.1f–%.1f", v[1] / 1e6, v[NR] / 1e6 }'; }
mega() { awk -v n="$1" 'BEGIN { printf "%.1f", n / 1e6 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }

# phases NAME: "start module init" — the inclusive instructions of what
# CFFI's _cffi_start_python() calls, grouped (see the top).
phases() {
  callgrind_annotate --tree=calling --inclusive=yes "$work/$1.cg" 2>/dev/null | awk '
    /^ *[0-9,]+ \([ 0-9.]+%\)  \*  / { inside = ($0 ~ /:_cffi_start_python \[/); block++; next }
    inside && /^ *[0-9,]+ \([ 0-9.]+%\)  >   / {
      n = $1; gsub(",", "", n)
      for (f = 1; f < NF && $f != ">"; f++)
        ;
      name = $(f + 1); sub(/.*:/, "", name)
      if (name ~ /^(embedpack_initialize|embedpack_attach|embedpack_check_python|Py_InitializeEx)$/)
        start[block] += n
      else if (name ~ /^PyInit_/)
        module[block] += n
      else if (name ~ /^(PyEval_EvalCode|Py_CompileStringExFlags)$/)
        init[block] += n
    }
    END {
      for (b in init)
        if (init[b] + start[b] > best) { best = init[b] + start[b]; pick = b }
      print start[pick] + 0, module[pick] + 0, init[pick] + 0
    }'
}
# syscalls NAME SYSCALL: calls of SYSCALL (or "total", or "errors").
syscalls() {
  awk -v want="$2" '
    $NF == "total" { if (want == "total") print $4; else if (want == "errors") print $5 + 0; found = 1 }
    $NF == want && want != "total" { print $4; found = 1 }
    END { if (!found) print 0 }' "$work/$1.strace"
}

read -r b_start b_module b_init <<<"$(phases bundle)"
read -r h_start h_module h_init <<<"$(phases by-hand)"
b_total=$(median bundle)
h_total=$(median by-hand)
b_rest=$((b_total - b_start - b_module - b_init))
h_rest=$((h_total - h_start - h_module - h_init))

# alone LABEL ARGUMENT...: the base interpreter's instructions, median of $runs.
alone() {
  local label=$1 i
  shift
  for ((i = 0; i < runs; i++)); do
    (cd / && "${clean_env[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null \
      "$base" "$@" 2>&1 >/dev/null | sed -n 's/.*Collected : //p')
  done | sort -n | awk -v label="$label" '{ v[NR] = $1 }
    END { printf "| %s | %.1f |\n", label, v[int((NR + 1) / 2)] / 1e6 }'
}

{
  echo "- $(date -u +%F), $(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
    "$("$embedpack" --version); $("$venv/bin/python" -VV | head -n 1)"
  echo
  echo "| First call, instructions [millions] | embedpack bundle | By hand (CFFI's docs) | Ratio |"
  echo "|:---|---:|---:|---:|"
  echo "| Whole process, median of $runs | $(mega "$b_total") | $(mega "$h_total") |" \
    "$(ratio "$b_total" "$h_total") |"
  echo "| (min–max of the $runs) | $(range bundle) | $(range by-hand) | |"
  echo "| Python's start-up | $(mega "$b_start") | $(mega "$h_start") | $(ratio "$b_start" "$h_start") |"
  echo "| The plugin's module init (imports \`_cffi_backend\`) | $(mega "$b_module") |" \
    "$(mega "$h_module") | $(ratio "$b_module" "$h_module") |"
  echo "| The init code, compiled and run | $(mega "$b_init") | $(mega "$h_init") |" \
    "$(ratio "$b_init" "$h_init") |"
  echo "| The rest: process start, loading the libraries, the call | $(mega "$b_rest") |" \
    "$(mega "$h_rest") | $(ratio "$b_rest" "$h_rest") |"
  echo
  echo "| First call, system calls | embedpack bundle | By hand (CFFI's docs) |"
  echo "|:---|---:|---:|"
  for call in total errors newfstatat openat read getdents64 mmap; do
    label=$call
    [ "$call" = total ] && label="all (strace -c -f)"
    [ "$call" = errors ] && label="of which failed"
    echo "| $label | $(syscalls bundle "$call") | $(syscalls by-hand "$call") |"
  done
  echo
  echo "| The interpreter alone (\`python3 -I -S\`), instructions | [millions] |"
  echo "|:---|---:|"
  alone "start-up, no \`site\` (\`-c pass\`)" -I -S -c pass
  alone "\`-c 'import site'\` (imported, its main() not run)" -I -S -c 'import site'
  alone "\`-c 'import os'\` (what \`site\` imports)" -I -S -c 'import os'
  alone "\`-X frozen_modules=off -c pass\`" -I -S -X frozen_modules=off -c pass
} >"$work/RESULTS.md"
cat "$work/RESULTS.md"
[ -z "$results" ] || cp "$work/RESULTS.md" "$results"
