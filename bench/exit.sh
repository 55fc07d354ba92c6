#!/usr/bin/env bash
# bench/exit.sh: what it costs the guest to reach the hypervisor, in ns per
# operation, from guest/programs/exitcost.c (timed inside the guest):
#
#   getppid   a system call: the guest kernel answers it alone. The baseline.
#   uart-scr  a load from the UART scratch register through /dev/mem: one
#             MMIO exit on duvisor, one MMIO dispatch on QEMU.
#   sbi-putc  bytes to /dev/hvc0: one SBI console_putchar each (an ecall exit
#             on duvisor, a trap into OpenSBI on QEMU), plus a host write(2)
#             of the byte on both sides.
#
# A user program cannot make an SBI call itself (ecall from U mode goes to
# the guest kernel), hence the hvc0 driver as the caller.
source "$(dirname "$0")/lib.sh"
bench_setup exit

describe exit_getppid "getppid system call (no exit)" ns lower
describe exit_uart "UART register read (MMIO exit)" ns lower
describe exit_sbi "SBI console_putchar via hvc0 (+ host write)" ns lower

for run in $(seq "$RUNS"); do
  for side in $(sides_for "$run"); do
    log=$(log_name "$side" 1 "$run")
    run_vm "$log" "$side" 1 bench-exit
    for pair in getppid:getppid uart:uart-scr sbi:sbi-putc; do
      ns=$(guest_field "$log" "exitcost: ${pair#*:}" 3) || die "$side: no exitcost ${pair#*:} line ($log)"
      record "exit_${pair%%:*}" "$side" "$ns"
    done
    log "exit run $run $side: done"
  done
done
print_table exit_
