#!/usr/bin/env bash
# Writes embedpack's man pages into DIR: embedpack.1, and one page per
# command (embedpack-build.1, ...), generated from the command line's own
# definition, so they say what `--help` says.  Prints their paths.
#
# EMBEDPACK (default: the release binary, built here) is the embedpack to
# ask; `embedpack man DIR` does the writing.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: bash packaging/man.sh DIR" >&2
  exit 2
fi
mkdir -p "$1"
out=$(cd "$1" && pwd)
cd "$(dirname "$0")/.."
if [ -z "${EMBEDPACK:-}" ]; then
  cargo build --release --locked >&2
  EMBEDPACK=${CARGO_TARGET_DIR:-target}/release/embedpack
fi
"$EMBEDPACK" man "$out"
