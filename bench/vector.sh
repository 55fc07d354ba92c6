#!/usr/bin/env bash
# bench/vector.sh: vector (RVV 1.0) work in a user program, timed inside the
# guest (CLOCK_MONOTONIC): the three kernels of guest/programs/vecbench.c
# (memcpy with vle8/vse8, an int32 reduction, a float saxpy). The modern
# guest kernel (Linux 6.12: user-mode vector), one vCPU, VLEN 256 on both
# sides (duvisor's default; QEMU -cpu rv64,v=true,vlen=256). Results are
# checked too: both sides must print the same checksums. Skipped (with a
# note) when the 6.12 kernel is not cached.
source "$(dirname "$0")/lib.sh"
bench_setup vector
image612=$(bash "$bench_root/scripts/build-guest" --kernel 6.12 --print 2>/dev/null | sed -n 's/^Image: *//p')
if [ -z "$image612" ] || [ ! -f "$image612" ]; then
  note "vector: no cached 6.12 guest kernel (scripts/build-guest --kernel 6.12); skipped"
  log "vector: no 6.12 kernel, skipped"
  exit 0
fi
guest_kernel=$image612
qemu_cpu=(-cpu rv64,v=true,vlen=256,elen=64,vext_spec=v1.0)

kernels="memcpy reduce saxpy"
for k in $kernels; do
  describe "vector_$k" "vecbench $k (RVV, VLEN 256)" ms lower
done
declare -A checksum
for run in $(seq "$RUNS"); do
  for side in $(sides_for "$run"); do
    log=$(log_name "$side" 1 "$run")
    extra=()
    [ "$side" = qemu ] && extra=("${qemu_cpu[@]}")
    run_vm "$log" "$side" 1 bench-vector -- "${extra[@]}"
    for k in $kernels; do
      ms=$(guest_field "$log" "vecbench: $k" 1) || die "$side: no vecbench $k line ($log)"
      sum=$(guest_field "$log" "vecbench: $k" 4)
      : "${checksum[$k]:=$sum}"
      [ "${checksum[$k]}" = "$sum" ] || die "vecbench $k checksum differs: $sum on $side, ${checksum[$k]} before"
      record_side "vector_$k" "$side" "$ms"
    done
    log "vector run $run $side: done"
  done
done
print_table vector_
