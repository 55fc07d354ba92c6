#!/usr/bin/env bash
# The JIT checked against the interpreter on a real guest: one vCPU boots
# Linux and runs its self-checks with DUVISOR_JIT_VERIFY=1, so every
# translated region is replayed in the interpreter and any difference stops
# duvisor with a dump (src/hart/jit/verify.c). Threshold 1 translates
# everything, including code that runs once. With DUVISOR_JIT=off (the
# interpreter pass of the suite) there is nothing to verify.
set -u
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if [ "${DUVISOR_JIT:-on}" = off ]; then
  expect "jit verify: not applicable with DUVISOR_JIT=off" true
  exit 0
fi
DUVISOR_JIT_VERIFY=1 DUVISOR_JIT_THRESHOLD=1 duvisor_guest 1 "duvisor.test=selfcheck" >"$tmp/out" 2>"$tmp/err"
status=$?
expect "jit verify: guest powers off with status 0 (got $status)" [ $status -eq 0 ]
expect "jit verify: no region differs from the interpreter" bash -c "! grep -q 'jit verify' '$tmp/err'"
for check in fpcheck cpubench busybox-sha256; do
  expect "jit verify: guest selfcheck $check" grep -q "selfcheck: PASS $check" "$tmp/out"
done
if [ $status -ne 0 ]; then grep -A12 'jit verify' "$tmp/err" | head -20 | sed 's/^/#   /'; fi
