#!/usr/bin/env bash
# Rebuilds the seed inputs of the fuzz corpora: for elf_patch, from the C fixtures in
# tests/fixtures/elf: libraries linked by GNU ld and by lld, with RPATH,
# RUNPATH, symbol versions, TLS, and a PIE executable.  The seeds are
# checked in; rerun this only to change them.
set -euo pipefail
cd "$(dirname "$0")/.."
src=tests/fixtures/elf
out=fuzz/corpus/elf_patch
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

so() { local cc=$1 ld=$2 name=$3; shift 3; "$cc" -fuse-ld="$ld" -O1 -s -shared -fPIC -o "$tmp/$name" "$@"; }

so gcc bfd libchainc.so.1 "$src/chain_c.c" -Wl,-soname,libchainc.so.1
so gcc bfd libchainb.so.1 "$src/chain_b.c" -Wl,-soname,libchainb.so.1 "$tmp/libchainc.so.1"
so gcc bfd seed-gnu-ld-lib.so "$src/chain_a.c" -Wl,-soname,libchaina.so.1 "$tmp/libchainb.so.1" \
  -Wl,-rpath-link,"$tmp" -Wl,--disable-new-dtags,-rpath,/nowhere/xlibchainb.so.1
so clang lld seed-lld-lib.so "$src/chain_a.c" -Wl,-soname,libchaina.so.1 "$tmp/libchainb.so.1" \
  -Wl,--enable-new-dtags,-rpath,/x
so gcc bfd libdep.so.1 "$src/dep.c" -Wl,-soname,libdep.so.1 -Wl,--version-script="$src/dep.map"
so gcc bfd seed-gnu-ld-versioned.so "$src/user.c" "$tmp/libdep.so.1"
so clang lld seed-lld-features.so "$src/features.c" -fcf-protection=full -Wl,-z,relro,-z,now
gcc -O1 -s -fPIE -pie -o "$tmp/seed-gnu-ld-pie" "$src/main.c" "$tmp/seed-gnu-ld-lib.so" \
  -Wl,-rpath-link,"$tmp" -Wl,--disable-new-dtags,-rpath,/nowhere

cp "$tmp"/seed-* "$out"/
ls -l "$out"/seed-*

# The other targets' seeds, from fuzz/make_seeds.py.
python3 fuzz/make_seeds.py "$PWD"
