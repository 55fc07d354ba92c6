# bench/lib.sh: what the bench scripts share. Sourced, not run.
#
# Every script boots the same guest (kernel, initramfs, command line) under
# duvisor and under qemu-system-riscv64 -M virt, alternating the two sides
# run by run so that machine noise hits both alike, and appends raw samples
# to one results file (tab-separated, self-describing):
#
#   info  KEY VALUE                     machine, versions, date
#   meta  METRIC LABEL UNIT BETTER      BETTER: lower or higher
#   cmd   SIDE COMMAND                  a command line as run
#   note  TEXT
#   METRIC SIDE VALUE                   one sample
#
# BENCH_RESULTS names that file; a script run alone starts a new one under
# build/bench/ and points build/bench/latest.tsv at it. BENCH_RUNS (default
# 5) is the number of samples per side and metric.
set -euo pipefail

bench_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
bench_out=$bench_root/$B/bench
DUVISOR=${DUVISOR:-$bench_root/$B/duvisor}
QEMU=${QEMU:-qemu-system-riscv64}
VMRUN=$bench_out/vmrun
RUNS=${BENCH_RUNS:-5}
GUEST_MEMORY_MB=256
BASE_APPEND="console=ttyS0 earlycon=sbi"

log() { echo "bench: $*" >&2; }
die() { echo "bench: $*" >&2; exit 1; }

# bench_setup NAME: build what is missing (duvisor, vmrun, the guest), open
# the results file and find out what this duvisor can do.
bench_setup() {
  bench_name=$1
  command -v "$QEMU" >/dev/null || die "no $QEMU (Debian package qemu-system-misc; run scripts/setup)"
  make -s -C "$bench_root" B="$B" "$B/duvisor" "$B/bench/vmrun" >&2 || die "build failed"
  bash "$bench_root/scripts/build-guest" >/dev/null || die "guest build failed"
  local paths
  paths=$(bash "$bench_root/scripts/build-guest" --print)
  guest_kernel=$(sed -n 's/^Image: *//p' <<<"$paths")
  guest_initramfs=$(sed -n 's/^initramfs: *//p' <<<"$paths")
  mkdir -p "$bench_out/logs"
  # --boot-timer: duvisor prints the guest's boot time itself (src/devices/boot_timer.h).
  dv_boot_timer=0
  "$DUVISOR" run --help 2>/dev/null | grep -q -- --boot-timer && dv_boot_timer=1
  dv_jit_stats=0
  "$DUVISOR" run --help 2>/dev/null | grep -q -- --jit-stats && dv_jit_stats=1
  open_results
}

open_results() {
  if [ -z "${BENCH_RESULTS:-}" ]; then
    BENCH_RESULTS=$bench_out/results-$(date +%Y%m%d-%H%M%S)-$bench_name.tsv
  fi
  export BENCH_RESULTS
  if [ ! -s "$BENCH_RESULTS" ]; then
    {
      info date "$(date -u '+%Y-%m-%d %H:%M UTC')"
      info cpu "$(sed -n 's/^model name[[:space:]]*: *//p' /proc/cpuinfo | head -1)"
      info cores "$(nproc)"
      info memory "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
      info host "$(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
      info qemu "$("$QEMU" --version | head -1)"
      info duvisor "$("$DUVISOR" --version 2>/dev/null | head -1)"
      info guest "$(grep -a -o -m1 'Linux version [^ ]*' "$guest_kernel" | sed 's/ version//') ($(basename "$(dirname "$guest_kernel")")), $(basename "$(dirname "$guest_initramfs")")"
      info runs "$RUNS"
      info "devices duvisor" "$(soc_devices duvisor)"
      info "devices qemu" "$(soc_devices qemu)"
    } >>"$BENCH_RESULTS"
  fi
  ln -sfn "$(basename "$BENCH_RESULTS")" "$bench_out/latest.tsv"
}

info() { printf 'info\t%s\t%s\n' "$1" "$2"; }

# soc_devices SIDE: the device nodes under /soc of that side's device tree,
# so the report says what each machine has besides the same guest.
soc_devices() {
  local dtb
  dtb=$(mktemp)
  vm_command "$1" 1 ""
  if [ "$1" = qemu ]; then
    cmd[2]=virt,dumpdtb=$dtb # QEMU writes the tree and exits
    "${cmd[@]}" >/dev/null 2>&1 || true
  else
    "$VMRUN" -o /dev/null -T 20 -u "Linux version" -- "${cmd[@]}" --dtb-out "$dtb" >/dev/null 2>&1 || true
  fi
  fdtget -l "$dtb" /soc 2>/dev/null | sort | tr '\n' ' ' | sed 's/ $//'
  rm -f "$dtb"
}
# describe METRIC LABEL UNIT lower|higher: what a metric is, once per file.
describe() {
  grep -q "^meta	$1	" "$BENCH_RESULTS" 2>/dev/null ||
    printf 'meta\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" >>"$BENCH_RESULTS"
}
record() { printf '%s\t%s\t%s\n' "$1" "$2" "$3" >>"$BENCH_RESULTS"; }
note() {
  grep -qxF "note	$*" "$BENCH_RESULTS" 2>/dev/null || printf 'note\t%s\n' "$*" >>"$BENCH_RESULTS"
}
# record_cmd SIDE: the command line last built by vm_command, once per script and side.
record_cmd() {
  [ "${warming_up:-0}" = 0 ] || return 0
  local arg line=
  for arg in "${cmd[@]}"; do
    case $arg in *[[:space:]]*) line+=" \"$arg\"" ;; *) line+=" $arg" ;; esac
  done
  line=$(sed "s|$bench_root/||g; s|$HOME|~|g" <<<"${line# }")
  grep -qF "cmd	$1	$bench_name: " "$BENCH_RESULTS" ||
    printf 'cmd\t%s\t%s: %s\n' "$1" "$bench_name" "$line" >>"$BENCH_RESULTS"
}

# sides_for RUN: duvisor first on odd runs, QEMU first on even ones, so a
# drift over the run (thermal, page cache) does not favour one side. With
# BENCH_INTERP=1 a third side, interp (duvisor --jit off, the interpreter),
# takes its turn too.
sides_for() {
  local extra=
  [ "${BENCH_INTERP:-0}" = 0 ] || extra=interp
  if [ $(($1 % 2)) -eq 1 ]; then echo duvisor qemu $extra; else echo $extra qemu duvisor; fi
}

# describe_sides METRIC LABEL UNIT BETTER: describe METRIC and, with
# BENCH_INTERP=1, its interpreter row METRIC_interp.
describe_sides() {
  describe "$1" "$2" "$3" "$4"
  [ "${BENCH_INTERP:-0}" = 0 ] || describe "$1_interp" "$2, duvisor --jit off" "$3" "$4"
}

# record_side METRIC SIDE VALUE: a sample; the interpreter's goes to the
# METRIC_interp row as duvisor's, and QEMU's counts for both rows.
record_side() {
  case $2 in
    interp) record "$1_interp" duvisor "$3" ;;
    qemu) record "$1" qemu "$3"; [ "${BENCH_INTERP:-0}" = 0 ] || record "$1_interp" qemu "$3" ;;
    *) record "$1" "$2" "$3" ;;
  esac
}

# vm_command SIDE SMP TEST [EXTRA...]: the command booting the benchmark
# guest into the array `cmd`. TEST is a guest/tests script that init runs
# before powering off; empty for a shell. Same kernel, initramfs, command
# line, RAM and console on both sides.
vm_command() {
  local side=$1 smp=$2 test=$3; shift 3
  local append=$BASE_APPEND
  [ -z "$test" ] || append+=" duvisor.test=$test"
  case $side in
    duvisor|interp)
      cmd=("$DUVISOR" run --kernel "$guest_kernel" --initrd "$guest_initramfs" --smp "$smp"
           --memory "${GUEST_MEMORY_MB}M" --no-reboot --append "$append")
      if [ "$side" = duvisor ]; then
        [ "$dv_jit_stats" = 0 ] || cmd+=(--jit-stats)
      else
        cmd+=(--jit off)
      fi
      [ "$dv_boot_timer" = 0 ] || cmd+=(--boot-timer) ;;
    qemu)
      cmd=("$QEMU" -M virt -bios default -smp "$smp" -m "${GUEST_MEMORY_MB}M" -nographic
           -no-reboot -kernel "$guest_kernel" -initrd "$guest_initramfs" -append "$append") ;;
    *) die "unknown side $side" ;;
  esac
  cmd+=("$@")
}

# run_vm LOG SIDE SMP TEST [VMRUN-OPTIONS...] [-- EXTRA-VM-ARGS...]: boot
# once under vmrun (bench/vmrun.c: every output line timestamped from
# process start). A failed run stops the benchmark: its numbers would lie.
run_vm() {
  local log=$1 side=$2 smp=$3 test=$4; shift 4
  local opts=() status=0
  while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
  [ $# -eq 0 ] || shift
  vm_command "$side" "$smp" "$test" "$@"
  record_cmd "$side"
  "$VMRUN" -o "$log" -T 600 "${opts[@]}" -- "${cmd[@]}" || status=$?
  if [ $status -ne 0 ]; then
    tail -15 "$log" >&2
    die "$side run failed (status $status, log $log)"
  fi
}

# log_name SIDE SMP RUN: where one run's timestamped output goes.
log_name() { echo "$bench_out/logs/$bench_name-$1-smp$2-run$3.log"; }

# line_ms LOG TEXT: ms from process start to the first line containing TEXT.
line_ms() { awk -v t="$2" 'substr($0, 1, 1) != "#" && index($0, t) { print $1; found = 1; exit } END { exit !found }' "$1"; }

# guest_field LOG PREFIX N: the Nth word after PREFIX on the first guest line starting with it.
guest_field() {
  awk -v p="$2" -v n="$3" '$2 == "o" { $1 = $2 = ""; sub(/^ +/, "");
    if (index($0, p) == 1) { $0 = substr($0, length(p) + 1); print $n; found = 1; exit } }
    END { exit !found }' "$1"
}

# print_table PREFIX...: this script's metrics, as bench/report.sh formats them.
print_table() {
  local prefixes="$*"
  awk -v prefixes="$prefixes" -f "$bench_root/bench/table.awk" "$BENCH_RESULTS"
}

# warm_up SMP: one discarded boot per side, so the first measured run does
# not also pay for a cold page cache.
warm_up() {
  local side warming_up=1
  for side in duvisor qemu; do
    run_vm "$(log_name "$side" "$1" warmup)" "$side" "$1" bench-boot
  done
}
