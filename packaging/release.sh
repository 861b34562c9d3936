#!/usr/bin/env bash
# Builds the release binary and packs it with the README
# into target/release/embedpack-<version>-<arch>-linux.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
name=embedpack-$version-$(uname -m)-linux
stage=target/release/$name
rm -rf "$stage" && mkdir -p "$stage"
cp target/release/embedpack README.md "$stage/"
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 \
  -C target/release -czf "target/release/$name.tar.gz" "$name"
echo "target/release/$name.tar.gz"
