#!/usr/bin/env bash
# bench/all.sh: every benchmark into one results file, then the report
# (BENCHMARKS.md, bench/chart.png). What `make bench` runs.
source "$(dirname "$0")/lib.sh"
start=$SECONDS
BENCH_RESULTS=$bench_out/results-$(date +%Y%m%d-%H%M%S).tsv
export BENCH_RESULTS
for script in boot start api snapshot cpu vector exit smp mem; do
  log "=== $script ==="
  bash "$bench_root/bench/$script.sh"
done
log "=== io ==="
bash "$bench_root/bench/io.sh"
elapsed=$((SECONDS - start))
printf 'info\telapsed\t%d min %02d s (benchmarks only, builds not included)\n' \
  $((elapsed / 60)) $((elapsed % 60)) >>"$BENCH_RESULTS"
log "=== report ==="
bash "$bench_root/bench/report.sh" "$BENCH_RESULTS"
