#!/usr/bin/env bash
# Measures what `--self-check` adds to a bundle's first call (process
# start, the shim's check of its files against MANIFEST.json, Python
# start-up, the plugin's init code, one call), side by side with the same
# bundle built without it, in one hyperfine run.  Needs the test venv
# (bash tests/run.sh) and hyperfine (apt install hyperfine).
#
# usage: bash tests/bench/self_check.sh [RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Builds here leave nothing in the user's bytecode cache.
export EMBEDPACK_CACHE_DIR=$work/cache

fixture=tests/fixtures/sentinel
for variant in plain self-check; do
  flag=(); [ "$variant" = self-check ] && flag=(--self-check)
  target/release/embedpack build "$fixture/build_sentinel.py" --venv target/test-env/venv \
    --app "$fixture/app" -o "$work/$variant" -q "${flag[@]}"
done
cc -O2 -o "$work/host" tests/hosts/run_plugin.c -ldl -pthread

hyperfine --warmup 3 --runs 30 -N ${1:+--export-markdown "$1"} \
  -n "without (default)" "$work/host $work/plain/libsentinel.so checks.speedups()" \
  -n "with --self-check" "$work/host $work/self-check/libsentinel.so checks.speedups()"
# What the check reads: the shim, the plugin and every file of lib/.
(cd "$work/self-check" && du -chL libsentinel.so libsentinel.python.so $(find lib -maxdepth 1 -type f) | tail -1)
