#!/usr/bin/env bash
# Compares embedpack with what people use instead, in one run, and prints
# one Markdown table with the ratio and the goal of each row (BENCHMARKS.md);
# with RESULTS.md, writes the same there.  It only measures: no test runs
# it, and no goal is asserted (the script succeeds whatever the figures).
#
# What it builds and measures, all with the release binary, with default
# options unless said:
#
# - Size: the sentinel plugin (tests/fixtures/sentinel: cffi, json,
#   markupsafe's C extension, an app package) bundled by embedpack (and
#   once more with each of --no-stdlib-sources, --zip-stdlib and both,
#   and, for their size only, the default and the zipped sourceless one
#   with `--exclude-stdlib` of the OpenSSL and SQLite modules, which the
#   plugin never imports), and PyInstaller --onedir (as it
#   comes, and with --strip) of a script with the same imports; each
#   PyInstaller program must print 42.
# - First call and per call: the same plugin bundled by embedpack (the
#   bundles with --no-stdlib-sources and --zip-stdlib too, for their first
#   call) and built by
#   hand as CFFI's embedding docs say (`ffibuilder.compile()` in
#   the test venv, linked to the venv's libpython), and likewise CFFI's
#   own perf.py plugin (`int add1(int, int)`, whose init code imports
#   nothing).  benchmarks/first_call.c times, with CLOCK_MONOTONIC, from
#   before dlopen() to the return of the first call, then a loop of calls.
#   41 fresh processes each, after one warm-up each (so the page cache
#   is warm for all), interleaved and in a rotating order so that the
#   machine's load falls on all alike; the median is reported.  The host
#   reads CPU time too: the table's per-call rows are CPU time per call
#   (the loop only computes; its wall time on a shared machine mostly
#   says how often another process had the core), the first call is
#   wall time, with its CPU time beside it.
#   The bundles run from `/` with no LD_LIBRARY_PATH or PYTHON* variable.
#   The builds by hand run from `/` with what a user sets by hand, since
#   nothing in such a .so says where Python and the venv are:
#     PATH=<venv>/bin:$PATH VIRTUAL_ENV=<venv>  (what `source
#         <venv>/bin/activate` sets: the embedded Python looks for
#         `python3` on PATH, finds the venv's, reads its pyvenv.cfg and so
#         takes the venv's site-packages, and not the base Python's)
#     LD_LIBRARY_PATH=<the libpython folder>   (CFFI's docs; here the .so's
#         RUNPATH, from the base Python's LDFLAGS, finds it anyway)
#     PYTHONPATH=<a copy of the app folder>
#   and the host first dlopen()s libpython with RTLD_GLOBAL (inside the
#   timed span), the workaround CFFI's docs give for hosts that load with
#   RTLD_LOCAL: wheels' extension modules do not name libpython, so
#   without it _cffi_backend does not load.  The app is copied so that
#   the __pycache__ the build by hand writes on its warm-up run lands in
#   the temporary folder, not in the source tree.
# - Packing a big venv: target/bench-env/big (benchmarks/requirements-
#   big.txt: numpy, pandas, lxml, cryptography, pillow, requests, with
#   cffi and markupsafe for the sentinel plugin).  `embedpack build` of
#   the sentinel plugin with --venv BIG to a fresh folder; a re-pack: the
#   same command again into the same folder (which then holds the
#   previous bundle); the same to a fresh .zip and .tar.gz.  Against
#   `cp -a BIG`, `tar czf` of BIG, and venv-pack of BIG to .zip (with
#   --zip-symlinks, which stores the venv's lib64 -> lib link as a link;
#   as it comes, venv-pack follows it and stores lib/ twice, measured
#   once on the side) and to .tar.gz (its default level 4; embedpack's
#   archives level 3, `tar czf` level 6).  Each is timed by
#   /usr/bin/time (its wall time measured in ns around it; max RSS as
#   `/usr/bin/time -v` prints it, which is that of the largest single
#   process of the command, embedpack's own or the Python processes it
#   starts).  Before each, `sync` (not timed) writes back what the one
#   before left in the page cache, so that none pays for another's
#   writes; none waits for its own (only embedpack's archives are synced
#   when written, as one file).  Three rounds, each running every command
#   once, in the same order; the median of three is reported.  Every
#   embedpack run but the re-pack has a fresh XDG_CACHE_HOME, so none
#   finds a cache that an earlier run left; the re-pack keeps the one of
#   its first pack.  The page cache is warm for all (the venv was read
#   before).
# - The hello example's bundle (examples/hello/run.sh, on a venv holding
#   only cffi), by part: benchmarks/parts.py.
#
# Installs what it needs once under target/bench-env/: PyInstaller and
# venv-pack (in target/bench-env/size, shared with tests/bench/size.sh),
# the big venv, and the hello example's venv, all on the test venv's base
# Python; and /usr/bin/time from Debian's `time` package when missing.
# (hyperfine is not needed: the host times itself.)  Needs the test venv
# and CFFI's sources: run `bash tests/run.sh` first.  Takes 10 to 20
# minutes on a 2-core machine; run it with `nice` on a shared machine.
#
# usage: bash benchmarks/compare.sh [RESULTS.md]
# (COMPARE_RUNS=N and COMPARE_ROUNDS=N change the 41 processes and the 3
# rounds, for a quick try of the script; the figures recorded use neither.)
set -euo pipefail
results=
[ -z "${1:-}" ] || results=$(realpath -m -- "$1")
cd "$(dirname "$0")/.."
# The caches are the script's own (XDG_CACHE_HOME, below).
unset EMBEDPACK_CACHE_DIR
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

die() {
  echo "compare.sh: $*" >&2
  exit 1
}
need() { # TOOL HINT
  command -v "$1" >/dev/null || die "\`$1\` is missing: $2"
}
need cc "install a C compiler (apt-get install gcc)"
need cargo "install Rust's toolchain"
need tar "apt-get install tar"
need gzip "apt-get install gzip"
if [ ! -x /usr/bin/time ]; then
  echo "compare.sh: installing /usr/bin/time (Debian's \`time\` package)" >&2
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; } ||
    die "/usr/bin/time is missing and could not be installed: apt-get install time"
fi
venv=target/test-env/venv
cffi_src=target/test-env/cffi-src/testing/embedding
[ -f "$venv/.ready" ] || die "the test venv \`$venv\` is missing: run bash tests/run.sh first"
[ -f "$cffi_src/perf.py" ] || die "CFFI's sources \`$cffi_src\` are missing: run bash tests/run.sh first"
fixture=tests/fixtures/sentinel
base=$("$venv/bin/python" -c 'import os, sys; print(os.path.join(sys.base_prefix, "bin", "python3"))')

echo "compare.sh: building embedpack (release)" >&2
cargo build --release --locked --quiet
embedpack=$PWD/target/release/embedpack

# venv_once DIR RECIPE PIP-ARGUMENT...: a venv on the test venv's base
# Python holding what pip installs from the arguments; made again when
# RECIPE (what it was made from) changes.
venv_once() {
  local dir=$1 recipe=$2
  shift 2
  if [ -f "$dir/.ready" ] && [ "$(cat "$dir/.ready")" = "$recipe" ]; then
    return
  fi
  echo "compare.sh: making $dir" >&2
  rm -rf "$dir"
  "$base" -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$@" ||
    die "pip could not install into \`$dir\`: $*"
  printf '%s' "$recipe" >"$dir/.ready"
}
tools=target/bench-env/size
tool_pins=(pyinstaller==6.22.3 venv-pack==0.2.0 -r tests/requirements.txt)
venv_once "$tools" "${tool_pins[*]}" "${tool_pins[@]}"
big=target/bench-env/big
venv_once "$big" "$(cat benchmarks/requirements-big.txt)" -r benchmarks/requirements-big.txt
hello_venv=target/bench-env/hello
mapfile -t hello_pins < <(grep -E '^(cffi|pycparser)==' tests/requirements.txt)
venv_once "$hello_venv" "${hello_pins[*]}" "${hello_pins[@]}"

work=$(mktemp -d -t embedpack-compare.XXXXXX)
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM HUP

# --- The bundles, the builds by hand and PyInstaller's programs ---------

echo "compare.sh: building the sentinel and perf plugins" >&2
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack" -q
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack-sourceless" --no-stdlib-sources -q
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack-zipped" --zip-stdlib -q
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack-zipped-sourceless" --zip-stdlib --no-stdlib-sources -q
excluded=(--exclude-stdlib _ssl --exclude-stdlib _hashlib --exclude-stdlib _sqlite3)
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack-excluded" "${excluded[@]}" -q
"$embedpack" build "$fixture/build_sentinel.py" --venv "$venv" --app "$fixture/app" \
  -o "$work/embedpack-smallest" --zip-stdlib --no-stdlib-sources "${excluded[@]}" -q
mkdir "$work/perf" "$work/by-hand" "$work/perf-by-hand"
cp "$cffi_src/perf.py" "$work/perf/perf.py"
"$embedpack" build "$work/perf/perf.py" --venv "$venv" -o "$work/perf-embedpack" -q

cp "$cffi_src/perf.py" "$work/perf-by-hand/perf.py"
cp -r "$fixture/app" "$work/app"
# As CFFI's embedding docs: ffibuilder.compile(target="lib<name>.*").
"$venv/bin/python" -c '
import runpy, sys
runpy.run_path(sys.argv[1])["ffibuilder"].compile(tmpdir=sys.argv[2], target="libsentinel.*")
' "$fixture/build_sentinel.py" "$work/by-hand" >"$work/by-hand/log" 2>&1 ||
  { cat "$work/by-hand/log" >&2; die "the sentinel plugin did not build by hand"; }
# perf.py compiles itself when run, as CFFI's tests run it.
(cd "$work/perf-by-hand" && "$OLDPWD/$venv/bin/python" perf.py) >"$work/perf-by-hand/log" 2>&1 ||
  { cat "$work/perf-by-hand/log" >&2; die "CFFI's perf.py did not build by hand"; }
perf_by_hand=$(sed -n 's/^FILENAME: //p' "$work/perf-by-hand/log")
perf_by_hand=$work/perf-by-hand/${perf_by_hand##*/}
[ -f "$perf_by_hand" ] || die "CFFI's perf.py built no library (see $work/perf-by-hand/log)"

{
  read -r libdir
  read -r soname
} < <("$venv/bin/python" -c '
import sysconfig
print(sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("INSTSONAME"), sep="\n")')

cc -O2 -Wall -Wextra -Werror -o "$work/first_call" benchmarks/first_call.c -ldl

echo "compare.sh: PyInstaller --onedir, as it comes and with --strip" >&2
cat >"$work/sentinel.py" <<'EOF'
import cffi
import _cffi_backend
import markupsafe._speedups
import sentinel_app

print(sentinel_app.evaluate("checks.speedups() * 42"))
EOF
pyinstaller() { # NAME [OPTION...]
  local name=$1 ran
  shift
  "$tools/bin/pyinstaller" --onedir --noconfirm --clean --log-level ERROR \
    --distpath "$work/$name" --workpath "$work/$name-build" --specpath "$work/$name-build" \
    --paths "$PWD/$fixture/app" --hidden-import sentinel_app.checks --name sentinel "$@" \
    "$work/sentinel.py" >"$work/$name.log" 2>&1 ||
    { cat "$work/$name.log" >&2; die "PyInstaller failed ($name)"; }
  ran=$("$work/$name/sentinel/sentinel")
  [ "$ran" = 42 ] || die "the PyInstaller program ($name) printed \`$ran\`, not 42"
}
pyinstaller pyinstaller
pyinstaller pyinstaller-strip --strip

# --- Measuring helpers -----------------------------------------------------

# bytes DIR, files DIR: the regular files under DIR.
bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
files() { find "$1" -type f | wc -l; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }
# stats FILE: "median min max" of the numbers in FILE, one a line.
stats() {
  sort -g "$1" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
median() { stats "$1" | cut -d' ' -f1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# at_most VALUE LIMIT, within VALUE LOW HIGH: "yes" or "no".
at_most() { awk -v v="$1" -v l="$2" 'BEGIN { print (v <= l ? "yes" : "no") }'; }
within() { awk -v v="$1" -v l="$2" -v h="$3" 'BEGIN { print (v >= l && v <= h ? "yes" : "no") }'; }

# --- First call and per call ---------------------------------------------

runs=${COMPARE_RUNS:-41}
evaluate_calls=20000
add1_calls=1000000
# PYTHONDONTWRITEBYTECODE is unset for both: by hand, the app's modules
# are compiled once, in the warm-up, as on a user's machine, not on every
# start (a bundle writes no bytecode and needs none written).
bundle_env=(env -u LD_LIBRARY_PATH -u PYTHONPATH -u PYTHONHOME -u EMBEDPACK_DEBUG
  -u PYTHONDONTWRITEBYTECODE)
by_hand_env=(env -u EMBEDPACK_DEBUG -u PYTHONHOME -u PYTHONDONTWRITEBYTECODE "PATH=$PWD/$venv/bin:$PATH"
  "VIRTUAL_ENV=$PWD/$venv" "LD_LIBRARY_PATH=$libdir" "PYTHONPATH=$work/app")
# call CASE: one fresh process of CASE; appends its first call [ms], the
# CPU time of that [ms], its time per call [µs] and the CPU time of that
# [µs] to $work/CASE.first, .cpu, .per and .per-cpu.
call() {
  local command out
  case $1 in
    sentinel-embedpack)
      command=("${bundle_env[@]}" "$work/first_call" "$work/embedpack/libsentinel.so"
        "$evaluate_calls" evaluate "6 * 7") ;;
    sentinel-sourceless)
      command=("${bundle_env[@]}" "$work/first_call" "$work/embedpack-sourceless/libsentinel.so"
        "$evaluate_calls" evaluate "6 * 7") ;;
    sentinel-zipped)
      command=("${bundle_env[@]}" "$work/first_call" "$work/embedpack-zipped/libsentinel.so"
        "$evaluate_calls" evaluate "6 * 7") ;;
    sentinel-zipped-sourceless)
      command=("${bundle_env[@]}" "$work/first_call" "$work/embedpack-zipped-sourceless/libsentinel.so"
        "$evaluate_calls" evaluate "6 * 7") ;;
    sentinel-by-hand)
      command=("${by_hand_env[@]}" "$work/first_call" --global "$soname"
        "$work/by-hand/libsentinel.so" "$evaluate_calls" evaluate "6 * 7") ;;
    perf-embedpack)
      command=("${bundle_env[@]}" "$work/first_call" "$work/perf-embedpack/lib_perf_cffi.so"
        "$add1_calls" add1) ;;
    perf-by-hand)
      command=("${by_hand_env[@]}" "$work/first_call" --global "$soname" "$perf_by_hand"
        "$add1_calls" add1) ;;
  esac
  out=$(cd / && "${command[@]}" 2>"$work/call.err" </dev/null) ||
    { cat "$work/call.err" >&2; die "$1 failed: ${command[*]}"; }
  local expected=42
  [ "${1%%-*}" = perf ] && expected=0
  if [ -s "$work/call.err" ] ||
    ! [[ $out =~ ^first_call_ns\ ([0-9]+)\ first_call_cpu_ns\ ([0-9]+)\ per_call_ns\ ([0-9.]+)\ per_call_cpu_ns\ ([0-9.]+)\ result\ $expected$ ]]; then
    cat "$work/call.err" >&2
    die "$1 printed \`$out\`, not a time and $expected"
  fi
  echo "${BASH_REMATCH[1]}" | awk '{ print $1 / 1e6 }' >>"$work/$1.first"
  echo "${BASH_REMATCH[2]}" | awk '{ print $1 / 1e6 }' >>"$work/$1.cpu"
  echo "${BASH_REMATCH[3]}" | awk '{ print $1 / 1e3 }' >>"$work/$1.per"
  echo "${BASH_REMATCH[4]}" | awk '{ print $1 / 1e3 }' >>"$work/$1.per-cpu"
}
cases=(sentinel-embedpack sentinel-sourceless sentinel-zipped sentinel-zipped-sourceless
  sentinel-by-hand perf-embedpack perf-by-hand)
echo "compare.sh: first call and per call, $runs fresh processes of each" >&2
for name in "${cases[@]}"; do
  call "$name"
  rm "$work/$name".{first,cpu,per,per-cpu}
done
for ((run = 0; run < runs; run++)); do
  for ((i = 0; i < ${#cases[@]}; i++)); do
    call "${cases[(i + run) % ${#cases[@]}]}"
  done
done

# --- Packing the big venv ---------------------------------------------------

pack=("$embedpack" build "$fixture/build_sentinel.py" --venv "$big" --app "$fixture/app" -q)
# timed NAME COMMAND...: runs COMMAND under /usr/bin/time; appends its
# wall time [s] to $work/NAME.s and its max RSS [KiB] to $work/NAME.rss.
timed() {
  local name=$1 start end
  shift
  # Each command starts with nothing left to write back from the last.
  sync
  start=$(date +%s%N)
  /usr/bin/time -f '%M' -o "$work/time.out" "$@" >"$work/timed.log" 2>&1 ||
    { cat "$work/timed.log" >&2; die "\`$*\` failed"; }
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" 'BEGIN { print (e - s) / 1e9 }' >>"$work/$name.s"
  tail -n 1 "$work/time.out" >>"$work/$name.rss"
}
fresh_cache() { rm -rf "$work/cache" && mkdir "$work/cache"; }
# size NAME PATH: the bytes and files of a folder, or an archive's bytes.
size() {
  if [ -d "$2" ]; then
    echo "$(bytes "$2") $(files "$2")" >"$work/$1.size"
  else
    echo "$(stat -c %s "$2") 1" >"$work/$1.size"
  fi
}
rounds=${COMPARE_ROUNDS:-3}
echo "compare.sh: packing $big, $rounds round(s)" >&2
for ((round = 1; round <= rounds; round++)); do
  timed cp cp -a "$big" "$work/cp"
  size cp "$work/cp"
  rm -rf "$work/cp"

  fresh_cache
  XDG_CACHE_HOME=$work/cache timed pack-folder "${pack[@]}" -o "$work/folder"
  size pack-folder "$work/folder"
  XDG_CACHE_HOME=$work/cache timed re-pack "${pack[@]}" -o "$work/folder"
  size re-pack "$work/folder"
  rm -rf "$work/folder"

  fresh_cache
  XDG_CACHE_HOME=$work/cache timed pack-zip "${pack[@]}" -o "$work/big.zip"
  size pack-zip "$work/big.zip"
  rm -f "$work/big.zip"
  timed venv-pack-zip "$tools/bin/venv-pack" -q --zip-symlinks -p "$big" -o "$work/venv-pack.zip"
  size venv-pack-zip "$work/venv-pack.zip"
  rm -f "$work/venv-pack.zip"
  if [ "$round" = 1 ]; then
    timed venv-pack-zip-default "$tools/bin/venv-pack" -q -p "$big" -o "$work/venv-pack.zip"
    size venv-pack-zip-default "$work/venv-pack.zip"
    rm -f "$work/venv-pack.zip"
  fi

  timed tar-czf tar czf "$work/tar.tar.gz" -C "$big" .
  size tar-czf "$work/tar.tar.gz"
  rm -f "$work/tar.tar.gz"
  fresh_cache
  XDG_CACHE_HOME=$work/cache timed pack-tar-gz "${pack[@]}" -o "$work/big.tar.gz"
  size pack-tar-gz "$work/big.tar.gz"
  rm -f "$work/big.tar.gz"
  timed venv-pack-tar-gz "$tools/bin/venv-pack" -q -p "$big" -o "$work/venv-pack.tar.gz"
  size venv-pack-tar-gz "$work/venv-pack.tar.gz"
  rm -f "$work/venv-pack.tar.gz"
done

# --- The hello bundle by part ----------------------------------------------

echo "compare.sh: the hello example's bundle" >&2
hello_out=$(EMBEDPACK=$embedpack VENV=$PWD/$hello_venv OUT=$work/hello/bundle \
  bash examples/hello/run.sh 2>"$work/hello.err") ||
  { cat "$work/hello.err" >&2; die "examples/hello/run.sh failed"; }
[ "$hello_out" = $'42\n95' ] || die "examples/hello/run.sh printed \`$hello_out\`, not 42 and 95"
"$venv/bin/python" benchmarks/parts.py "$work/hello/bundle" >"$work/parts.md"

# --- The report -------------------------------------------------------------

read -r e_bytes e_files <<<"$(bytes "$work/embedpack") $(files "$work/embedpack")"
read -r n_bytes n_files <<<"$(bytes "$work/embedpack-sourceless") $(files "$work/embedpack-sourceless")"
read -r z_bytes z_files <<<"$(bytes "$work/embedpack-zipped") $(files "$work/embedpack-zipped")"
read -r zn_bytes zn_files <<<"$(bytes "$work/embedpack-zipped-sourceless") $(files "$work/embedpack-zipped-sourceless")"
read -r x_bytes x_files <<<"$(bytes "$work/embedpack-excluded") $(files "$work/embedpack-excluded")"
read -r xs_bytes xs_files <<<"$(bytes "$work/embedpack-smallest") $(files "$work/embedpack-smallest")"
read -r p_bytes p_files <<<"$(bytes "$work/pyinstaller/sentinel") $(files "$work/pyinstaller/sentinel")"
read -r s_bytes s_files <<<"$(bytes "$work/pyinstaller-strip/sentinel") $(files "$work/pyinstaller-strip/sentinel")"
ms() { awk -v v="$(median "$work/$1.first")" 'BEGIN { printf "%.1f ms", v }'; }
cpu() { awk -v v="$(median "$work/$1.cpu")" 'BEGIN { printf "%.1f ms", v }'; }
us() { awk -v v="$(median "$work/$1.per-cpu")" 'BEGIN { printf "%.3f µs", v }'; }
sec() { awk -v v="$(median "$work/$1.s")" 'BEGIN { printf "%.2f s", v }'; }
size_of() { mib "$(cut -d' ' -f1 "$work/$1.size")"; }
peak_kib=$(cat "$work"/pack-*.rss "$work"/re-pack.rss | sort -n | tail -n 1)

bundle_ratio=$(ratio "$e_bytes" "$p_bytes")
strip_ratio=$(ratio "$e_bytes" "$s_bytes")
sourceless_ratio=$(ratio "$n_bytes" "$p_bytes")
zipped_ratio=$(ratio "$z_bytes" "$p_bytes")
zipped_sourceless_ratio=$(ratio "$zn_bytes" "$p_bytes")
excluded_ratio=$(ratio "$x_bytes" "$p_bytes")
smallest_ratio=$(ratio "$xs_bytes" "$p_bytes")
first_ratio=$(ratio "$(median "$work/sentinel-embedpack.first")" "$(median "$work/sentinel-by-hand.first")")
sourceless_first_ratio=$(ratio "$(median "$work/sentinel-sourceless.first")" "$(median "$work/sentinel-by-hand.first")")
zipped_first_ratio=$(ratio "$(median "$work/sentinel-zipped.first")" "$(median "$work/sentinel-by-hand.first")")
zipped_sourceless_first_ratio=$(ratio "$(median "$work/sentinel-zipped-sourceless.first")" "$(median "$work/sentinel-by-hand.first")")
cpu_ratio=$(ratio "$(median "$work/sentinel-embedpack.cpu")" "$(median "$work/sentinel-by-hand.cpu")")
perf_first_ratio=$(ratio "$(median "$work/perf-embedpack.first")" "$(median "$work/perf-by-hand.first")")
per_ratio=$(ratio "$(median "$work/sentinel-embedpack.per-cpu")" "$(median "$work/sentinel-by-hand.per-cpu")")
add1_ratio=$(ratio "$(median "$work/perf-embedpack.per-cpu")" "$(median "$work/perf-by-hand.per-cpu")")
repack_ratio=$(ratio "$(median "$work/re-pack.s")" "$(median "$work/cp.s")")
pack_ratio=$(ratio "$(median "$work/pack-folder.s")" "$(median "$work/cp.s")")
zip_time_ratio=$(ratio "$(median "$work/pack-zip.s")" "$(median "$work/venv-pack-zip.s")")
zip_size_ratio=$(ratio "$(cut -d' ' -f1 "$work/pack-zip.size")" "$(cut -d' ' -f1 "$work/venv-pack-zip.size")")
gz_time_ratio=$(ratio "$(median "$work/pack-tar-gz.s")" "$(median "$work/venv-pack-tar-gz.s")")
gz_size_ratio=$(ratio "$(cut -d' ' -f1 "$work/pack-tar-gz.size")" "$(cut -d' ' -f1 "$work/venv-pack-tar-gz.size")")
peak_mib=$(awk -v k="$peak_kib" 'BEGIN { printf "%.0f", k / 1024 }')
read -r big_bytes big_files <<<"$(cat "$work/cp.size")"

main_table() {
  echo "| What | embedpack | The reference | Ratio | Goal | Met |"
  echo "|:---|:---|:---|---:|:---|:---|"
  echo "| Bundle of the sentinel plugin (cffi, json, markupsafe): MiB, files |" \
    "$(mib "$e_bytes") MiB, $e_files files |" \
    "PyInstaller \`--onedir\`: $(mib "$p_bytes") MiB, $p_files files |" \
    "${bundle_ratio}× |" "≤ 0.50× |" "$(at_most "$bundle_ratio" 0.5) |"
  echo "| (the same, against PyInstaller \`--onedir --strip\`) |" \
    "$(mib "$e_bytes") MiB |" "$(mib "$s_bytes") MiB, $s_files files |" "${strip_ratio}× |" "— | — |"
  echo "| (the same bundle built with \`--no-stdlib-sources\`, against PyInstaller \`--onedir\`) |" \
    "$(mib "$n_bytes") MiB, $n_files files |" "$(mib "$p_bytes") MiB |" "${sourceless_ratio}× |" "— | — |"
  echo "| (built with \`--zip-stdlib\`) |" \
    "$(mib "$z_bytes") MiB, $z_files files |" "$(mib "$p_bytes") MiB |" "${zipped_ratio}× |" "— | — |"
  echo "| (built with \`--zip-stdlib --no-stdlib-sources\`) |" \
    "$(mib "$zn_bytes") MiB, $zn_files files |" "$(mib "$p_bytes") MiB |" "${zipped_sourceless_ratio}× |" "— | — |"
  echo "| (built with \`--exclude-stdlib\` of \`_ssl\`, \`_hashlib\` and \`_sqlite3\`) |" \
    "$(mib "$x_bytes") MiB, $x_files files |" "$(mib "$p_bytes") MiB |" "${excluded_ratio}× |" "— | — |"
  echo "| (built with \`--zip-stdlib --no-stdlib-sources\` and those three \`--exclude-stdlib\`) |" \
    "$(mib "$xs_bytes") MiB, $xs_files files |" "$(mib "$p_bytes") MiB |" "${smallest_ratio}× |" "— | — |"
  echo "| First call (dlopen → first return), median of $runs fresh processes |" \
    "$(ms sentinel-embedpack) |" "by hand per CFFI's docs: $(ms sentinel-by-hand) |" \
    "${first_ratio}× |" "≤ 0.60× |" "$(at_most "$first_ratio" 0.6) |"
  echo "| (its CPU time: \`CLOCK_PROCESS_CPUTIME_ID\`, which the machine's load changes less) |" \
    "$(cpu sentinel-embedpack) |" "$(cpu sentinel-by-hand) |" "${cpu_ratio}× |" "— | — |"
  echo "| (the bundle built with \`--no-stdlib-sources\`) |" \
    "$(ms sentinel-sourceless) |" "$(ms sentinel-by-hand) |" "${sourceless_first_ratio}× |" "— | — |"
  echo "| (built with \`--zip-stdlib\`) |" \
    "$(ms sentinel-zipped) |" "$(ms sentinel-by-hand) |" "${zipped_first_ratio}× |" "— | — |"
  echo "| (built with \`--zip-stdlib --no-stdlib-sources\`) |" \
    "$(ms sentinel-zipped-sourceless) |" "$(ms sentinel-by-hand) |" "${zipped_sourceless_first_ratio}× |" "— | — |"
  echo "| (the same for CFFI's perf.py, whose init code imports nothing) |" \
    "$(ms perf-embedpack) |" "$(ms perf-by-hand) |" "${perf_first_ratio}× |" "— | — |"
  echo "| Per call, CPU time: \`evaluate(\"6 * 7\")\`, $evaluate_calls calls after the first |" \
    "$(us sentinel-embedpack) |" "by hand: $(us sentinel-by-hand) |" \
    "${per_ratio}× |" "1.00 ± 0.05 |" "$(within "$per_ratio" 0.95 1.05) |"
  echo "| Per call, CPU time: perf.py's \`add1()\`, $add1_calls calls after the first |" \
    "$(us perf-embedpack) |" "by hand: $(us perf-by-hand) |" \
    "${add1_ratio}× |" "1.00 ± 0.05 |" "$(within "$add1_ratio" 0.95 1.05) |"
  echo "| Pack the big venv ($(mib "$big_bytes") MiB, $big_files files) to a folder: first pack; re-pack, same inputs, same folder |" \
    "$(sec pack-folder); re-pack $(sec re-pack) |" "\`cp -a\` of the venv: $(sec cp) |" \
    "${pack_ratio}×; re-pack ${repack_ratio}× |" "re-pack ≤ 2× |" "$(at_most "$repack_ratio" 2) |"
  echo "| The same to \`.zip\`: time, size |" \
    "$(sec pack-zip), $(size_of pack-zip) MiB |" \
    "venv-pack \`--zip-symlinks\`: $(sec venv-pack-zip), $(size_of venv-pack-zip) MiB |" \
    "time ${zip_time_ratio}×, size ${zip_size_ratio}× |" "both ≤ 1× |" \
    "$(at_most "$zip_time_ratio" 1)/$(at_most "$zip_size_ratio" 1) |"
  echo "| The same to \`.tar.gz\`: time, size |" \
    "$(sec pack-tar-gz), $(size_of pack-tar-gz) MiB |" \
    "venv-pack: $(sec venv-pack-tar-gz), $(size_of venv-pack-tar-gz) MiB |" \
    "time ${gz_time_ratio}×, size ${gz_size_ratio}× |" "— | — |"
  echo "| Peak memory of a pack (max RSS, the largest of all packs above) |" \
    "$peak_mib MiB |" "— |" "— |" "≤ 64 MiB |" "$(at_most "$peak_mib" 64) |"
}

detail_row() { # LABEL NAME: median, min, max of NAME.s; max RSS; size
  local median_s min max rss bytes count
  read -r median_s min max <<<"$(stats "$work/$2.s")"
  rss=$(sort -n "$work/$2.rss" | tail -n 1)
  read -r bytes count <<<"$(cat "$work/$2.size")"
  printf '| %s | %.2f | %.2f–%.2f | %d | %.1f | %s |\n' "$1" "$median_s" "$min" "$max" \
    "$(wc -l <"$work/$2.s")" "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" \
    "$(mib "$bytes") MiB$([ "$count" = 1 ] || echo ", $count files")"
}
pack_table() {
  echo "| Command | Median [s] | Min–max [s] | Runs | Max RSS [MiB] | Output |"
  echo "|:---|---:|---:|---:|---:|:---|"
  detail_row "\`cp -a\` of the venv" cp
  detail_row "embedpack to a folder (fresh)" pack-folder
  detail_row "embedpack re-pack (same folder)" re-pack
  detail_row "embedpack to \`.zip\`" pack-zip
  detail_row "venv-pack \`--zip-symlinks\` to \`.zip\`" venv-pack-zip
  detail_row "venv-pack to \`.zip\`, as it comes (lib64 followed: lib/ twice)" venv-pack-zip-default
  detail_row "\`tar czf\` of the venv" tar-czf
  detail_row "embedpack to \`.tar.gz\`" pack-tar-gz
  detail_row "venv-pack to \`.tar.gz\` (level 4)" venv-pack-tar-gz
}
call_row() { # LABEL NAME: median (min–max) of each figure of NAME
  local figure median min max row="| $1 |"
  for figure in first cpu per per-cpu; do
    read -r median min max <<<"$(stats "$work/$2.$figure")"
    case $figure in
      first | cpu) row+=$(printf ' %.1f (%.1f–%.1f) |' "$median" "$min" "$max") ;;
      *) row+=$(printf ' %.3f (%.3f–%.3f) |' "$median" "$min" "$max") ;;
    esac
  done
  echo "$row"
}
call_table() {
  echo "| Plugin | First call [ms] | Its CPU time [ms] | Per call [µs] | Its CPU time [µs] |"
  echo "|:---|---:|---:|---:|---:|"
  call_row "sentinel, embedpack bundle" sentinel-embedpack
  call_row "sentinel, embedpack bundle with \`--no-stdlib-sources\`" sentinel-sourceless
  call_row "sentinel, embedpack bundle with \`--zip-stdlib\`" sentinel-zipped
  call_row "sentinel, embedpack bundle with \`--zip-stdlib --no-stdlib-sources\`" sentinel-zipped-sourceless
  call_row "sentinel, by hand" sentinel-by-hand
  call_row "perf.py, embedpack bundle" perf-embedpack
  call_row "perf.py, by hand" perf-by-hand
}
versions() {
  local commit
  commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
  git diff --quiet HEAD 2>/dev/null || commit+=" (with uncommitted changes)"
  echo "- $("$embedpack" --version), commit $commit; $("$venv/bin/python" -VV | head -n 1)"
  echo "- $("$tools/bin/pip" list --format=freeze 2>/dev/null | grep -iE '^(pyinstaller|venv-pack)==' | paste -sd' ')"
  echo "- The big venv: $("$big/bin/pip" list --format=freeze 2>/dev/null | paste -sd' ')"
  echo "- $(cc --version | head -n 1); $(tar --version | head -n 1); $(gzip --version | head -n 1)"
}
machine() {
  local cpu os
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
  os=$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)
  echo "- $(date -u +%F), $os, Linux $(uname -r), ${cpu:-unknown CPU}, $(nproc) cores," \
    "$(free -g | awk '/^Mem:/ { print $2 }') GiB; load average $load_start at the start," \
    "$(cut -d' ' -f1-3 /proc/loadavg) at the end"
}

{
  echo "## embedpack and its peers, in one run"
  echo
  machine
  versions
  echo
  main_table
  echo
  echo "### First call and per call: median (min–max) of $runs processes each"
  echo
  call_table
  echo
  echo "### Packing the big venv: every command"
  echo
  pack_table
  echo
  echo "### The hello bundle by part"
  echo
  cat "$work/parts.md"
} >"$work/RESULTS.md"
cat "$work/RESULTS.md"
[ -z "$results" ] || cp "$work/RESULTS.md" "$results"
