#!/usr/bin/env bash
# bench/start.sh: start latency, from process start to the first guest
# instruction. Each side is asked in its own terms, as exactly as it allows:
#
# - QEMU: its trace point translate_block fires when TCG translates a block
#   of guest code, immediately before running it; the first one is the reset
#   vector at 0x1000. `-trace translate_block -msg timestamp=on` stamps it
#   with the wall clock, which we compare with vmrun's wall clock at fork().
#   vmrun stops QEMU at that first line, so the trace costs nothing else.
# - duvisor: the boot-timer (src/devices/boot_timer.h) prints, in CLOCK_MONOTONIC,
#   when the boot vCPU first entered the guest if the VMM marks it
#   (boot_timer_first_entry), else when the VM was built (kernel loaded,
#   devices placed; what remains before the first instruction is creating
#   the harts and starting the vCPU threads). Which one it was goes into the
#   notes. Without --boot-timer there is no duvisor figure.
source "$(dirname "$0")/lib.sh"
bench_setup start

describe start_first_insn "start: process start to first guest instruction" ms lower

# ms_since_t0 LOG ABS_SECONDS CLOCK: ABS (a CLOCK_MONOTONIC or CLOCK_REALTIME
# time in seconds) relative to vmrun's t0 on that clock, in ms.
ms_since_t0() {
  local field
  case $3 in mono) field=t0_mono_ns ;; real) field=t0_real ;; esac
  awk -v abs="$2" -v f="$field" 'NR == 1 { for (i = 1; i <= NF; i++) if (index($i, f "=") == 1) {
      t0 = substr($i, length(f) + 2); if (f == "t0_mono_ns") t0 /= 1e9
      printf "%.3f\n", (abs - t0) * 1e3; exit } }' "$1"
}

qemu_start() {
  local log=$1
  run_vm "$log" qemu 1 bench-boot -u translate_block -- -trace translate_block -msg timestamp=on
  # "PID@SECONDS.MICROSECONDS:translate_block tb:..., pc:0x1000, ..."
  local stamp
  stamp=$(awk '$2 == "e" && /translate_block/ { sub(/^[^@]*@/, "", $3); sub(/:.*/, "", $3); print $3; exit }' "$log")
  [ -n "$stamp" ] || die "QEMU printed no translate_block trace ($log)"
  ms_since_t0 "$log" "$stamp" real
}

duvisor_start() {
  local log=$1
  run_vm "$log" duvisor 1 bench-boot
  local line start at
  line=$(grep -m1 'boot-timer: guest ready' "$log") || die "duvisor printed no boot-timer line ($log)"
  start=$(sed -n 's/.*monotonic start \([0-9.]*\) s.*/\1/p' <<<"$line")
  if at=$(sed -n 's/.*first guest instruction \([0-9.]*\) ms.*/\1/p' <<<"$line") && [ -n "$at" ]; then
    note "duvisor start latency: the boot-timer's first guest instruction mark."
  else
    at=$(sed -n 's/.*VM built \([0-9.]*\) ms.*/\1/p' <<<"$line")
    note "duvisor start latency: process start to VM built (boot-timer attach); the vCPU threads start after it, so the first instruction comes a thread start later."
  fi
  if [ -z "$start" ] || [ -z "$at" ]; then die "cannot parse the boot-timer line: $line"; fi
  ms_since_t0 "$log" "$(awk -v s="$start" -v a="$at" 'BEGIN { printf "%.9f", s + a / 1e3 }')" mono
}

if [ "$dv_boot_timer" = 0 ]; then
  note "duvisor start latency: not measured, this duvisor has no --boot-timer."
fi
warm_up 1
for run in $(seq "$RUNS"); do
  for side in $(sides_for "$run"); do
    [ "$side" = qemu ] || [ "$dv_boot_timer" = 1 ] || continue
    ms=$("${side}_start" "$(log_name "$side" 1 "$run")")
    record start_first_insn "$side" "$ms"
    log "start run $run $side: $ms ms"
  done
done
print_table start_
