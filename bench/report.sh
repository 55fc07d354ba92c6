#!/usr/bin/env bash
# bench/report.sh [RESULTS]: turn a results file (default: the latest,
# build/bench/latest.tsv) into the table on stdout, BENCHMARKS.md and its
# chart bench/chart.png (gnuplot, installed from Debian's gnuplot-nox if
# missing). Nothing here is typed by hand except the method notes: every
# number comes from the results file.
source "$(dirname "$0")/lib.sh"

results=${1:-$bench_out/latest.tsv}
[ -s "$results" ] || die "no results in $results (run make bench first)"
results=$(realpath "$results")
chart=$bench_root/bench/chart.png
doc=$bench_root/BENCHMARKS.md

# Device I/O (bench/io.sh writes io-latest.tsv: metric side median min max unit),
# higher is better; rendered only when that run exists.
io_table() {
  local io=$bench_out/io-latest.tsv
  [ -f "$io" ] || return 0
  echo "### Device I/O (\`bench/io.sh\`, MB/s, higher is better)"
  echo
  echo "| metric | duvisor: median (min–max) | QEMU: median (min–max) | duvisor ÷ QEMU |"
  echo "|---|---|---|---|"
  awk -F'\t' 'NR > 1 { key = $1; m[key, $2] = $3; r[key, $2] = $4 "–" $5; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
    END {
      names["blk-write"] = "virtio-blk sequential write, 256 MiB, O_DIRECT"
      names["blk-read"] = "virtio-blk sequential read, 256 MiB, O_DIRECT"
      names["tcp-tx"] = "TCP guest to host through user networking, 64 MiB"
      names["fs-write"] = "virtio-fs sequential write, 64 MiB, fsync (same virtiofsd)"
      names["fs-read"] = "virtio-fs sequential read, 64 MiB, guest cache dropped"
      names["vsock-tx"] = "vsock stream guest to host (hybrid Unix socket), 64 MiB"
      for (i = 1; i <= n; i++) {
        k = order[i]; d = m[k, "duvisor"]; q = m[k, "qemu"]
        if (q == "") { printf "| %s | %s (%s) | n/a: QEMU's vsock is vhost-vsock, which needs the host's /dev/vhost-vsock | - |\n", (k in names ? names[k] : k), d, r[k, "duvisor"]; continue }
        printf "| %s | %s (%s) | %s (%s) | %.2f |\n", (k in names ? names[k] : k), d, r[k, "duvisor"], q, r[k, "qemu"], (q > 0 ? d / q : 0)
      }
    }' "$io"
  echo
  echo "Figures from the run above; both sides run the same guest commands."
  echo
}

# gnuplot-nox: quietly, once; scripts/setup lists it too.
ensure_gnuplot() {
  command -v gnuplot >/dev/null && return 0
  [ "$(id -u)" -eq 0 ] || die "gnuplot is missing (as root: apt-get install gnuplot-nox)"
  log "installing gnuplot-nox"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends gnuplot-nox >/dev/null 2>&1; } ||
    die "could not install gnuplot-nox"
}

get_info() { awk -F'\t' -v k="$1" '$1 == "info" && $2 == k { v = $3 } END { print v }' "$results"; }

# draw_chart: one horizontal bar per metric measured on both sides, from 1 to
# duvisor's cost relative to QEMU, on a log scale.
draw_chart() {
  local data n
  data=$(mktemp)
  awk -v mode=chart -f "$bench_root/bench/table.awk" "$results" >"$data"
  n=$(wc -l <"$data")
  [ "$n" -gt 0 ] || { rm -f "$data"; log "nothing to chart"; return 0; }
  local lo hi
  read -r lo hi < <(awk -F'\t' 'BEGIN { lo = 1; hi = 1 } { if ($2 < lo) lo = $2; if ($2 > hi) hi = $2 }
                                END { print lo / 2.5, hi * 2.5 }' "$data")
  gnuplot <<EOF
set terminal pngcairo noenhanced size 1100,$((140 + 34 * n)) font "DejaVu Sans,10"
set output "$chart"
set datafile separator "\t"
set title "duvisor relative to QEMU TCG on the same guest: median of $(get_info runs) runs ($(get_info date), $(get_info cpu), $(get_info cores) cores)"
set logscale x 10
set xrange [$lo:$hi]
set yrange [$n - 0.3:-0.7]
set xlabel "duvisor ÷ QEMU, as a cost (log scale): left of 1, duvisor is faster or leaner; right of 1, QEMU is"
set xtics ("0.01" 0.01, "0.03" 0.03, "0.1" 0.1, "0.3" 0.3, "1" 1, "3" 3, "10" 10, "30" 30, "100" 100, "300" 300) nomirror
set grid xtics
set ytics nomirror scale 0
set key off
set style fill solid 0.85 border -1
set arrow from 1, graph 0 to 1, graph 1 nohead lw 2 lc rgb "black"
plot "$data" using 2:0:(\$2 < 1 ? \$2 : 1):(\$2 < 1 ? 1 : \$2):(\$0 - 0.35):(\$0 + 0.35):(\$2 < 1 ? 0x2e8b57 : 0xcd5c5c):ytic(1) \
       with boxxyerror lc rgb variable, \
     "$data" using 2:0:(\$2 >= 1 ? sprintf(\$2 >= 10 ? "%.0fx" : "%.2fx", \$2) : "") \
       with labels left offset 0.7,0 font ",9", \
     "$data" using 2:0:(\$2 < 1 ? sprintf("%.2fx", \$2) : "") \
       with labels right offset -0.7,0 font ",9"
EOF
  rm -f "$data"
}

# The method notes and commands: fixed text describing what the scripts do.
method_notes() {
  cat <<'EOF'
## How each figure is measured

Both sides boot the same `Image` and initramfs (built by `scripts/build-guest`)
with the same command line (`console=ttyS0 earlycon=sbi duvisor.test=NAME`),
256 MiB of RAM and the console on ttyS0; `guest/init` runs
`/opt/duvisor/tests/NAME` and powers off. QEMU is `qemu-system-riscv64 -M virt
-bios default` (TCG, OpenSBI as firmware); duvisor is `build/duvisor run`. Each
script alternates the sides run by run (duvisor first on odd runs, QEMU first on
even ones). Times "inside the guest" use CLOCK_MONOTONIC, which both sides
derive from the host clock.

- **boot** (`bench/boot.sh`): `bench/vmrun` starts a clock right before
  `fork()` and stamps every console line as it arrives; the figure is the stamp
  of `duvisor-guest: ready`. One warm-up boot per side is discarded. When duvisor
  has `--boot-timer`, its own figure (from its constructor to the guest's
  boot-timer write, which init makes right after printing the ready line) is
  shown beside it.
- **start** (`bench/start.sh`): process start to the first guest instruction.
  QEMU: the wall-clock stamp of its first `translate_block` trace event (the
  reset vector), minus vmrun's wall clock at `fork()`. duvisor: the boot-timer's
  first-instruction mark, or failing that its "VM built" instant (see the notes
  above), minus vmrun's monotonic clock at `fork()`.
- **CPU** (`bench/cpu.sh`, 1 vCPU): `sha256sum` of a 16 MiB tmpfs file, timed
  by `guest/programs/timeit.c`, and the four kernels of
  `guest/programs/cpubench.c`. The hash and the kernels' checksums are checked
  to agree on both sides.
- **vector** (`bench/vector.sh`, 1 vCPU, the Linux 6.12 guest kernel for
  user-mode vector, VLEN 256 on both sides: QEMU `-cpu rv64,v=true,vlen=256`):
  the three kernels of `guest/programs/vecbench.c` (a 16 MiB memcpy with
  vle8/vse8 at LMUL 8, an int32 reduction, a float saxpy), checksums checked
  to agree.
- **duvisor --jit off** rows (boot and CPU): the same runs with duvisor's
  interpreter alone, a third side in the same alternation; their QEMU column is
  the same QEMU runs. The **JIT** rows come from `--jit-stats` on duvisor's
  1-vCPU boots: regions translated, translation time per region, and the code
  cache in use (which also counts in the VMM memory row).
- **exit cost** (`bench/exit.sh`, 1 vCPU, `guest/programs/exitcost.c`): a user
  program cannot make an SBI call, so: `getppid` system calls (the guest kernel
  answers alone: the baseline, no exit on duvisor); 1-byte loads of the UART
  scratch register mapped through `/dev/mem` (one MMIO exit per load on
  duvisor, one MMIO dispatch through QEMU's memory API on QEMU); bytes written
  to `/dev/hvc0`, whose driver makes one SBI `console_putchar` call per byte (an
  ecall exit on duvisor, a trap into OpenSBI, which drives the emulated UART,
  on QEMU), so that row includes a host `write(2)` per byte on both sides.
- **SMP** (`bench/smp.sh`): `cpubench -j 1 3 integer` then `-j 2` (two
  processes at once, copy i pinned to CPU i mod N, since this guest kernel
  sometimes leaves both on one CPU for seconds), on 1 and on 2 vCPUs;
  speed-up = 2 × time of one copy ÷ time of two. This host has only as many
  cores as the guest has vCPUs, so anything else running on it (the VMM's
  other threads, other work on the machine) shows up here first.
- **memory and idle** (`bench/mem.sh`, 1 vCPU, at the shell prompt, 2 s after
  it appears): VMM overhead = total `Rss` in `/proc/PID/smaps` minus the `Rss`
  of the guest-RAM mapping (duvisor: the `duvisor-ram` memfd; QEMU: its
  anonymous mapping of exactly 256 MiB); idle CPU = the CPU time of all the
  process's threads over 10 s, as a percentage of one core, from
  `/proc/PID/task/*/schedstat` (nanoseconds; the 10 ms ticks of `utime + stime`
  in `/proc/PID/stat` read 0 or 1 for an idle guest).
EOF
}

write_doc() {
  local table=$1 notes cmds
  notes=$(awk -F'\t' '$1 == "note" { print "- " $2 }' "$results")
  cmds=$(awk -F'\t' '$1 == "cmd" { print "# " $2 ", " $3 }' "$results" | sed 's/^# \([a-z]*\), \([a-z]*\): /# \2 (\1):\n/')
  {
    echo "# Benchmarks: duvisor against QEMU"
    echo
    echo "Generated by \`make bench-report\` from \`${results#"$bench_root"/}\`, the"
    echo "results of one \`make bench\` run. Do not edit by hand: rerun \`make bench\`."
    echo
    echo "- date: $(get_info date)"
    echo "- machine: $(get_info cpu), $(get_info cores) cores, $(get_info memory) RAM; $(get_info host)"
    echo "- QEMU: $(get_info qemu)"
    echo "- duvisor: $(get_info duvisor)"
    echo "- guest: $(get_info guest)"
    echo "- runs: $(get_info runs) per side and metric, duvisor and QEMU alternating"
    echo "- devices under /soc in each machine's device tree: duvisor: $(get_info "devices duvisor");"
    echo "  QEMU: $(get_info "devices qemu") (its virtio_mmio slots are empty: the command adds no -device)"
    local elapsed; elapsed=$(get_info elapsed)
    [ -z "$elapsed" ] || echo "- \`make bench\` took $elapsed"
    echo
    echo "## Results"
    echo
    echo "$table"
    echo
    echo "duvisor ÷ QEMU is the ratio of the medians; \"better\" follows each row's"
    echo "direction (lower or higher is better), \"even\" means within 3 %."
    echo
    echo "![duvisor relative to QEMU](bench/chart.png)"
    echo
    io_table
    if [ -n "$notes" ]; then
      echo "## Notes from this run"
      echo
      echo "$notes"
      echo
    fi
    method_notes
    echo
    echo "## Commands"
    echo
    echo "\`make bench\` runs, after building duvisor and the guest:"
    echo
    echo '```sh'
    echo "bench/boot.sh; bench/start.sh; bench/api.sh; bench/snapshot.sh; bench/cpu.sh; bench/vector.sh; bench/exit.sh; bench/smp.sh; bench/mem.sh; bench/io.sh"
    echo "bench/report.sh   # this file and bench/chart.png; also: make bench-report"
    echo '```'
    echo
    echo "Each script runs alone too (\`BENCH_RUNS=N\` changes the run count; its"
    echo "results go to a new file under \`build/bench/\`). The VM command lines, as run:"
    echo
    echo '```sh'
    echo "$cmds"
    echo '```'
  } >"$doc"
}

ensure_gnuplot
table=$(awk -f "$bench_root/bench/table.awk" "$results")
echo "$table"
draw_chart
write_doc "$table"
log "wrote ${doc#"$bench_root"/} and ${chart#"$bench_root"/} from ${results#"$bench_root"/}"
