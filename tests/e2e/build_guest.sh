#!/usr/bin/env bash
# Bad input to the guest build stops with one clear line naming what is
# missing, and leaves no half-built cache entry behind.
set -u
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
bash "$repo_root/scripts/build-guest" >/dev/null 2>&1 # the real cache is complete

# A PATH without the cross compiler.
mkdir -p "$tmp/bin"
for t in bash sed cut sha256sum dpkg-query dirname realpath cat find sort xargs nproc; do
  ln -s "$(command -v $t)" "$tmp/bin/$t"
done
PATH=$tmp/bin bash "$repo_root/scripts/build-guest" >"$tmp/out" 2>"$tmp/err"
status=$?
expect "build-guest without the cross compiler: fails (status $status)" [ $status -ne 0 ]
expect "build-guest without the cross compiler: one line naming the package" \
  sh -c "[ \$(wc -l <'$tmp/err') -eq 1 ] && grep -q 'missing riscv64-linux-gnu-gcc (Debian package gcc-riscv64-linux-gnu' '$tmp/err'"

# A busybox source download that fails: a cache holding only the kernel, and
# an apt-get that cannot reach the archive.
cache=$tmp/cache; mkdir -p "$cache"
kernel_dir=$(dirname "$(guest_image)")
ln -s "$kernel_dir" "$cache/$(basename "$kernel_dir")"
mkdir -p "$tmp/apt"
printf '#!/bin/sh\necho "E: Failed to fetch" >&2\nexit 100\n' >"$tmp/apt/apt-get"
chmod +x "$tmp/apt/apt-get"
PATH=$tmp/apt:$PATH DUVISOR_CACHE=$cache bash "$repo_root/scripts/build-guest" >"$tmp/out" 2>"$tmp/err"
status=$?
expect "build-guest with a failed source download: fails (status $status)" [ $status -ne 0 ]
expect "build-guest with a failed source download: says what failed" \
  grep -q "could not download busybox source" "$tmp/err"
expect "build-guest with a failed source download: no busybox cache entry" \
  sh -c "! ls -d '$cache'/busybox-* 2>/dev/null | grep -v '\.tmp$' | grep -q ."
