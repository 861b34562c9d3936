#!/usr/bin/env bash
# Builds the release binary and packs it with the README, its man pages
# and completion scripts,
# into target/release/embedpack-<version>-<arch>-linux.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
name=embedpack-$version-$(uname -m)-linux
stage=target/release/$name
rm -rf "$stage" && mkdir -p "$stage"
cp target/release/embedpack README.md "$stage/"
EMBEDPACK=target/release/embedpack bash packaging/man.sh "$stage/man" >/dev/null
mkdir "$stage/completions"
for shell in bash:embedpack.bash zsh:_embedpack fish:embedpack.fish \
  elvish:embedpack.elv powershell:_embedpack.ps1; do
  target/release/embedpack completions "${shell%%:*}" >"$stage/completions/${shell#*:}"
done
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
  -C target/release -czf "target/release/$name.tar.gz" "$name"
echo "target/release/$name.tar.gz"
