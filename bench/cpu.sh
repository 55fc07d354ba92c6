#!/usr/bin/env bash
# bench/cpu.sh: guest CPU work, timed inside the guest (CLOCK_MONOTONIC, which
# both sides derive from the host clock): busybox sha256sum of a 16 MiB tmpfs
# file, and the four kernels of guest/programs/cpubench.c. One vCPU. Results
# are checked too: a fast wrong answer is not a result.
source "$(dirname "$0")/lib.sh"
BENCH_INTERP=${BENCH_INTERP:-1}
bench_setup cpu

describe_sides cpu_sha256 "busybox sha256sum, 16 MiB" ms lower
kernels="integer memory branchy float"
for k in $kernels; do
  describe_sides "cpu_$k" "cpubench $k" ms lower
done
# sha256 of 16 MiB of zero bytes
sha_zero16m=080acf35a507ac9849cfcba47dc2ad83e01b75663a516279c8b9d243b719643e
declare -A checksum

for run in $(seq "$RUNS"); do
  for side in $(sides_for "$run"); do
    log=$(log_name "$side" 1 "$run")
    run_vm "$log" "$side" 1 bench-cpu
    grep -q "$sha_zero16m" "$log" || die "$side: wrong or missing sha256sum ($log)"
    ms=$(guest_field "$log" "timeit: sha256-16M" 1) || die "$side: no sha256 timing ($log)"
    record_side cpu_sha256 "$side" "$ms"
    for k in $kernels; do
      ms=$(guest_field "$log" "cpubench: $k" 1) || die "$side: no cpubench $k line ($log)"
      sum=$(guest_field "$log" "cpubench: $k" 4)
      : "${checksum[$k]:=$sum}"
      [ "${checksum[$k]}" = "$sum" ] || die "cpubench $k checksum differs: $sum on $side, ${checksum[$k]} before"
      record_side "cpu_$k" "$side" "$ms"
    done
    log "cpu run $run $side: done"
  done
done
print_table cpu_
