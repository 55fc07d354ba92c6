#!/usr/bin/env bash
# The real Linux guest on duvisor: boots at smp 1, 2 and 4, passes its own
# self-checks (FP, atomics across harts, CPU benchmark checksums equal to
# QEMU's), runs a shell fed from a pipe, reboots, and powers off with status 0.
set -u
. "$(dirname "$0")/../lib.sh"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# The checksums of cpubench under QEMU are the reference for correctness.
qemu_guest 1 "duvisor.test=selfcheck" >"$tmp/qemu" 2>&1
grep 'checksum' "$tmp/qemu" | sed 's/ *[0-9.]* ms//' >"$tmp/qemu.sums"

for smp in 1 2 4; do
  extra=(); [ $smp -eq 1 ] && extra=(--boot-timer)
  duvisor_guest $smp "duvisor.test=selfcheck" "${extra[@]}" >"$tmp/out" 2>"$tmp/err"
  status=$?
  expect "duvisor smp $smp: power-off ends duvisor with status 0 (got $status)" [ $status -eq 0 ]
  expect "duvisor smp $smp: ready line with $smp cpus" grep -q "duvisor-guest: ready ($smp cpus" "$tmp/out"
  for check in fpcheck smpcheck cpubench busybox-sha256; do
    expect "duvisor smp $smp: guest selfcheck $check" grep -q "selfcheck: PASS $check" "$tmp/out"
  done
  grep 'checksum' "$tmp/out" | sed 's/ *[0-9.]* ms//' >"$tmp/sums"
  expect "duvisor smp $smp: cpubench checksums equal QEMU's" cmp -s "$tmp/sums" "$tmp/qemu.sums"
  expect "duvisor smp $smp: 'guest powered off' on stderr" grep -q "guest powered off" "$tmp/err"
  [ $smp -eq 1 ] && expect "duvisor --boot-timer: reports the guest's boot time" \
    grep -qE "boot-timer: guest ready [0-9.]+ ms after process start" "$tmp/err"
  if [ $status -ne 0 ] || ! grep -q "selfcheck exit 0" "$tmp/out"; then
    tail -30 "$tmp/out" | sed 's/^/#   /'; tail -40 "$tmp/err" | sed 's/^/#   /'
  fi
done

# A shell on the console, fed from a pipe, sees every CPU.
printf 'echo answer-$((6*7))\ngrep -c ^processor /proc/cpuinfo\nexit\n' >"$tmp/in"
shell_session "$tmp/out" "$tmp/in" duvisor_guest 2 ""
status=$?
expect "duvisor shell: ends with status 0 (got $status)" [ $status -eq 0 ]
expect "duvisor shell: runs piped commands" grep -q "^answer-42" "$tmp/out"
expect "duvisor shell: /proc/cpuinfo shows 2 processors" grep -qx "2" <(tr -d '\r' <"$tmp/out")

# Reboot: the guest comes up again with fresh memory; SIGTERM then stops it cleanly.
# Started directly (not through a shell function) so that $! is duvisor itself.
"${DUVISOR:-$repo_root/build/duvisor}" run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
  --append "console=ttyS0 duvisor.test=reboot" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
for i in $(seq 600); do
  [ "$(grep -c 'duvisor-guest: ready' "$tmp/out")" -ge 2 ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 0.2
done
kill -TERM $pid 2>/dev/null
# A duvisor that ignores SIGTERM must fail the test, not hang it.
for i in $(seq 150); do kill -0 $pid 2>/dev/null || break; sleep 0.2; done
kill -KILL $pid 2>/dev/null
wait $pid; status=$?
expect "duvisor reboot: guest came up twice" [ "$(grep -c 'duvisor-guest: ready' "$tmp/out")" -ge 2 ]
expect "duvisor reboot: 'guest rebooting' on stderr" grep -q "guest rebooting" "$tmp/err"
expect "duvisor SIGTERM: clean stop with status 0 (got $status)" [ $status -eq 0 ]

duvisor_guest 1 "duvisor.test=reboot" --no-reboot >"$tmp/out" 2>"$tmp/err"
status=$?
boots=$(grep -c 'duvisor-guest: ready' "$tmp/out")
expect "duvisor --no-reboot: exits with status 0 after one boot (status $status, $boots boots)" \
  [ $status -eq 0 -a "$boots" -eq 1 ]
