#!/usr/bin/env bash
# Measures a bundle's first call (process start, Python start-up, the
# plugin's init code, one call) with and without pre-compiled bytecode,
# side by side in one hyperfine run.  Needs the test venv (bash tests/run.sh)
# and hyperfine (apt install hyperfine).
#
# usage: bash tests/bench/startup.sh [RESULTS.md]
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fixture=tests/fixtures/sentinel
for variant in bytecode no-bytecode; do
  flag=(); [ "$variant" = no-bytecode ] && flag=(--no-bytecode)
  target/release/embedpack build "$fixture/build_sentinel.py" --venv target/test-env/venv \
    --app "$fixture/app" -o "$work/$variant" -q "${flag[@]}"
done
cc -O2 -o "$work/host" tests/hosts/run_plugin.c -ldl -pthread

hyperfine --warmup 3 --runs 30 -N ${1:+--export-markdown "$1"} \
  -n "with bytecode (default)" "$work/host $work/bytecode/libsentinel.so checks.speedups()" \
  -n "without (--no-bytecode)" "$work/host $work/no-bytecode/libsentinel.so checks.speedups()"
du -sh "$work/bytecode" "$work/no-bytecode"
