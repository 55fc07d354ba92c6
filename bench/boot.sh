#!/usr/bin/env bash
# bench/boot.sh: boot time, wall clock from process start to the guest's
# "duvisor-guest: ready" line, at 1 and 2 vCPUs, duvisor against QEMU.
#
# vmrun starts the clock right before fork() and stamps each console line as
# it arrives, so both sides are timed by the same outside observer. The
# guest (test bench-boot) powers off right after the ready line. When this
# duvisor has --boot-timer, its own in-process figure is recorded beside it.
source "$(dirname "$0")/lib.sh"
BENCH_INTERP=${BENCH_INTERP:-1}
bench_setup boot

for smp in 1 2; do
  describe_sides "boot_smp$smp" "boot to ready line, $smp vCPU$([ $smp = 1 ] || echo s)" ms lower
done
[ "$dv_boot_timer" = 0 ] || for smp in 1 2; do
  describe "boot_timer_smp$smp" "boot, duvisor --boot-timer, $smp vCPU$([ $smp = 1 ] || echo s)" ms lower
done

if [ "$dv_jit_stats" = 1 ]; then
  describe jit_regions "JIT: regions translated in one boot, 1 vCPU" regions lower
  describe jit_region_us "JIT: translation time per region" us lower
  describe jit_code_kib "JIT: code cache in use after one boot, 1 vCPU" KiB lower
fi

# jit_field LOG N: the Nth word of duvisor's --jit-stats line for vCPU 0.
jit_field() { awk -v n="$2" '/duvisor: jit vcpu 0:/ { sub(/.*jit vcpu 0: /, ""); gsub(/[(,]/, ""); print $n; exit }' "$1"; }

warm_up 1
for smp in 1 2; do
  for run in $(seq "$RUNS"); do
    for side in $(sides_for "$run"); do
      log=$(log_name "$side" "$smp" "$run")
      run_vm "$log" "$side" "$smp" bench-boot
      ms=$(line_ms "$log" "duvisor-guest: ready") || die "no ready line in $log"
      record_side "boot_smp$smp" "$side" "$ms"
      if [ "$side" = duvisor ] && [ "$dv_boot_timer" = 1 ]; then
        bt=$(sed -n 's/.*boot-timer: guest ready \([0-9.]*\) ms after.*/\1/p' "$log" | head -1)
        [ -n "$bt" ] || die "duvisor printed no boot-timer line ($log)"
        record "boot_timer_smp$smp" duvisor "$bt"
      fi
      if [ "$side" = duvisor ] && [ "$smp" = 1 ] && [ "$dv_jit_stats" = 1 ]; then
        record jit_regions duvisor "$(jit_field "$log" 1)"
        record jit_code_kib duvisor "$(jit_field "$log" 6)"
        record jit_region_us duvisor "$(jit_field "$log" 12)"
      fi
      log "boot smp $smp run $run $side: $ms ms"
    done
  done
done
[ "$dv_boot_timer" = 1 ] || note "This duvisor has no --boot-timer: its in-VMM boot time is not shown."
print_table boot_
