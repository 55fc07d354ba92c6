#!/usr/bin/env bash
# bench/smp.sh: does a second vCPU add throughput? The cpubench integer
# kernel runs as 1 process and then as 2 processes at once (cpubench -j),
# on 1 and on 2 vCPUs; the guest times each whole run. Speed-up =
# 2 x (time of 1 copy) / (time of 2 copies): 1.0 means no gain, 2.0 perfect.
# cpubench pins copy i to CPU i mod N: left to itself, this guest kernel
# sometimes keeps both copies on one CPU for seconds, on either side, which
# measures its scheduler rather than the VMM. This host has only as many
# cores as the guest has vCPUs, so anything else running on it (the VMM's
# other threads, other work) shows up here first.
source "$(dirname "$0")/lib.sh"
bench_setup smp

for smp in 1 2; do
  describe "smp_v${smp}_j1" "integer x1, $smp vCPU$([ $smp = 1 ] || echo s)" ms lower
  describe "smp_v${smp}_j2" "integer x2 in parallel, $smp vCPU$([ $smp = 1 ] || echo s)" ms lower
done
for smp in 1 2; do
  describe "smp_speedup_v$smp" "speed-up of 2 copies, $smp vCPU$([ $smp = 1 ] || echo s)" x higher
done

for smp in 1 2; do
  for run in $(seq "$RUNS"); do
    for side in $(sides_for "$run"); do
      log=$(log_name "$side" "$smp" "$run")
      run_vm "$log" "$side" "$smp" bench-smp
      one=$(guest_field "$log" "cpubench: wall 1 copies" 1) || die "$side: no 1-copy line ($log)"
      two=$(guest_field "$log" "cpubench: wall 2 copies" 1) || die "$side: no 2-copy line ($log)"
      record "smp_v${smp}_j1" "$side" "$one"
      record "smp_v${smp}_j2" "$side" "$two"
      record "smp_speedup_v$smp" "$side" "$(awk -v a="$one" -v b="$two" 'BEGIN { printf "%.4f", 2 * a / b }')"
      log "smp $smp run $run $side: $one ms, $two ms"
    done
  done
done
print_table smp_
