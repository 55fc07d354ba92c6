#!/usr/bin/env bash
# The reference guest boots under qemu-system-riscv64 -M virt: it prints the
# ready line, passes its own self-checks on two CPUs, runs commands piped to
# its shell, and powers off cleanly. This is the baseline duvisor must match.
set -u
. "$(dirname "$0")/../lib.sh"

out=$(mktemp); trap 'rm -f "$out" "$out.in"' EXIT

qemu_guest 2 "duvisor.test=selfcheck" >"$out" 2>&1
status=$?
expect "qemu: guest power-off ends qemu with status 0 (got $status)" [ $status -eq 0 ]
expect "qemu: ready line with 2 cpus" grep -q "duvisor-guest: ready (2 cpus" "$out"
for check in fpcheck smpcheck cpubench busybox-sha256; do
  expect "qemu: guest selfcheck $check" grep -q "selfcheck: PASS $check" "$out"
done
expect "qemu: selfcheck exit 0" grep -q "duvisor-guest: test selfcheck exit 0" "$out"
expect "qemu: clean power-off line" grep -q "reboot: Power down" "$out"
grep -E "FAIL|fpcheck: [0-9]+ passed" "$out" | sed 's/^/# /'

# The interactive path: a shell on the console, fed from a pipe.
printf 'echo answer-$((6*7))\ngrep -c ^processor /proc/cpuinfo\nexit\n' >"$out.in"
shell_session "$out" "$out.in" qemu_guest 1 ""
status=$?
expect "qemu: shell session ends with status 0 (got $status)" [ $status -eq 0 ]
expect "qemu: shell runs piped commands" grep -q "^answer-42" "$out"
expect "qemu: /proc/cpuinfo shows 1 processor" grep -qx "1" <(tr -d '\r' <"$out")
expect "qemu: shell powers off on exit" grep -q "duvisor-guest: powering off" "$out"
