#!/usr/bin/env bash
# bench/mem.sh: what a booted guest costs the host while it idles at a shell.
#
# Memory: the VMM's resident memory minus the guest RAM it has touched, from
# /proc/PID/smaps: total Rss, less the Rss of the guest-RAM mapping (duvisor:
# the memfd "duvisor-ram", shared memory; QEMU: its anonymous mapping of
# exactly the guest's RAM size). What is left is the hypervisor's own
# footprint: code, heap, page tables, QEMU's translated-code cache.
#
# Idle CPU: the CPU time of all the process's threads over 10 s at the shell
# prompt, as a percentage of one host core. It is read from
# /proc/PID/task/*/schedstat (ns) rather than utime + stime in /proc/PID/stat,
# whose 10 ms ticks are too coarse for an idle guest (0 or 1 tick in 10 s).
source "$(dirname "$0")/lib.sh"
bench_setup mem

describe mem_overhead "VMM memory besides guest RAM, at the shell" MiB lower
describe mem_guest "guest RAM touched (for reference)" MiB info
describe idle_cpu "idle guest at the shell, CPU over 10 s" "% of a core" lower
idle_seconds=10

# rss_split PID: "TOTAL_KB GUEST_KB" from smaps.
rss_split() {
  awk -v ram_kb=$((GUEST_MEMORY_MB * 1024)) '
    /^[0-9a-f]+-[0-9a-f]+ / { name = $6; size = 0; next }
    /^Size:/ { size = $2 }
    /^Rss:/ { total += $2; if (name ~ /memfd:duvisor-ram/ || (name == "" && size == ram_kb)) guest += $2 }
    END { print total + 0, guest + 0 }' "/proc/$1/smaps"
}

# cpu_ns PID: CPU time used so far by the process's live threads, in ns.
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ t += $1 } END { printf "%.0f\n", t }'; }

measure() {
  local side=$1 run=$2 log pidfile pid vmrun_pid
  log=$(log_name "$side" 1 "$run")
  pidfile=$bench_out/logs/mem.pid
  rm -f "$pidfile"
  vm_command "$side" 1 ""
  record_cmd "$side"
  "$VMRUN" -o "$log" -p "$pidfile" -T 300 -- "${cmd[@]}" &
  vmrun_pid=$!
  # Whatever happens to this script, the VM does not outlive it.
  trap "kill -TERM $vmrun_pid 2>/dev/null || true" EXIT
  # The shell prompt (vmrun shows it as a partial 'p' line) means init is
  # done and the guest is idle.
  for _ in $(seq 600); do
    grep -q '/ # ' "$log" 2>/dev/null && break
    kill -0 $vmrun_pid 2>/dev/null || die "$side exited before the shell prompt ($log)"
    sleep 0.1
  done
  grep -q '/ # ' "$log" || die "$side: no shell prompt within 60 s ($log)"
  pid=$(cat "$pidfile")
  sleep 2 # let the boot's last work (console flush, timers) settle
  local total guest t0 c0 t1 c1
  read -r total guest < <(rss_split "$pid")
  t0=$EPOCHREALTIME c0=$(cpu_ns "$pid")
  sleep "$idle_seconds"
  t1=$EPOCHREALTIME c1=$(cpu_ns "$pid")
  kill -TERM $vmrun_pid
  wait $vmrun_pid || true
  trap - EXIT
  [ "$guest" -gt 0 ] || die "$side: guest RAM mapping not found in /proc/$pid/smaps"
  record mem_overhead "$side" "$(awk -v t="$total" -v g="$guest" 'BEGIN { printf "%.2f", (t - g) / 1024 }')"
  record mem_guest "$side" "$(awk -v g="$guest" 'BEGIN { printf "%.2f", g / 1024 }')"
  record idle_cpu "$side" "$(awk -v c="$((c1 - c0))" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%.4f", 100 * c / 1e9 / (b - a) }')"
  log "mem run $run $side: rss $total kB, guest $guest kB, $((c1 - c0)) ns of CPU while idle"
}

for run in $(seq "$RUNS"); do
  for side in $(sides_for "$run"); do
    measure "$side" "$run"
  done
done
print_table mem_ idle_
