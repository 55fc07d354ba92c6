#!/usr/bin/env bash
# The modern platform as Linux 6.12 uses it, on build/duvisor at smp 2:
# - vector user programs (tests/vector/*.elf: integer, FP, memory, fault-only-
#   first strlen across a page edge, memcpy) give byte for byte the output of
#   qemu-riscv64 user mode at the same VLEN, also two at once on one CPU (the
#   kernel switches their vector state);
# - the SBI PMU: perf_event_open counts a loop's user instructions exactly and
#   samples it through overflow interrupts (Sscofpmf) with the right pcs;
# - SBI STA: the vCPU threads pinned to one host CPU, the guest's /proc/stat
#   shows steal time;
# - SBI SUSP: `echo mem > /sys/power/state` suspends (the VMM sleeps), console
#   input wakes it (ttyS0 as a wakeup source), both harts come back.
# Skips if the 6.12 kernel is neither cached nor buildable here.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
tmp=$(mktemp -d); trap 'vm_cleanup; rm -rf "$tmp"' EXIT
duvisor=${DUVISOR:-$repo_root/build/duvisor}
vector_dir=$repo_root/build/vector-tests
programs="vfault vfp vint vmem vmemcpy" # vsys is a supervisor-level test: not for user mode
vlen=256
give_up_on_hung=1

if ! guest_612_ready; then
  skip "6.12 platform on duvisor" "no 6.12 guest kernel: $guest_612_why"
  exit 0
fi
elfs=()
for p in $programs; do elfs+=("$vector_dir/$p.elf"); done
make -s -C "$repo_root" "${elfs[@]}" >/dev/null 2>&1
(cd "$vector_dir" && tar cf "$tmp/vector.tar" $(printf '%s.elf ' $programs))

start g run --kernel "$(guest_image_612)" --initrd "$(guest_initramfs)" --smp 2 --memory 256M \
  --vlen $vlen --disk "$tmp/vector.tar" --append "console=ttyS0"
expect "platform: 6.12 guest shell" wait_for g '^/ # ' 300

# --- vector programs under Linux against QEMU user mode --------------------------------
gsh g 'tar xf /dev/vda -C /tmp && echo unpacked'
expect "vector: the programs reach the guest ($reply)" [ "$reply" = unpacked ]
for p in $programs; do
  qemu-riscv64-static -cpu rv64,v=true,vlen=$vlen,elen=64,vext_spec=v1.0 "$vector_dir/$p.elf" \
    >"$tmp/$p.qemu" 2>/dev/null
  want=$(md5sum <"$tmp/$p.qemu" | cut -c1-32)
  gsh g "/tmp/$p.elf >/tmp/$p.out; echo \$? \$(md5sum </tmp/$p.out | cut -c1-32) \$(grep -c . /tmp/$p.out)" 120
  expect "vector: $p under Linux prints what QEMU prints ($(wc -l <"$tmp/$p.qemu") lines; guest: $reply)" \
    [ "$reply" = "0 $want $(grep -c . "$tmp/$p.qemu")" ]
done
# Two vector programs time-sliced on one CPU: each keeps its own vector state.
gsh g 'taskset 1 /tmp/vint.elf >/tmp/a.out & taskset 1 /tmp/vfp.elf >/tmp/b.out & wait; echo $(md5sum </tmp/a.out | cut -c1-32) $(md5sum </tmp/b.out | cut -c1-32)' 180
expect "vector: vint and vfp sharing a CPU each print what QEMU prints" \
  [ "$reply" = "$(md5sum <"$tmp/vint.qemu" | cut -c1-32) $(md5sum <"$tmp/vfp.qemu" | cut -c1-32)" ]

# --- SBI PMU: counting and sampling --------------------------------------------------------
loops=1000000
gsh g "perfcount stat $loops"
read -r _ _ insns _ cycles _ loop_insns <<<"$reply"
expect "pmu: perf counts the loop's user instructions ($reply)" \
  [ "${insns:-0}" -ge $((4 * loops)) ] && [ "${insns:-0}" -le $((4 * loops + 1000)) ]
expect "pmu: perf counts cycles (${cycles:-none})" [ "${cycles:-0}" -ge $((4 * loops)) ]
gsh g "perfcount sample $((10 * loops))"
read -r _ _ samples _ in_loop <<<"$reply"
# 40 M instructions at one sample per 100000: 400 overflow interrupts.
expect "pmu: perf samples through overflow interrupts ($reply)" \
  [ "${samples:-0}" -ge 380 ] && [ "${samples:-0}" -le 420 ]
expect "pmu: the samples' pcs are in the loop" [ "${in_loop:-0}" -ge $((samples * 95 / 100)) ]

# --- SBI STA: steal time ----------------------------------------------------------------
steal() { gsh g "awk '/^cpu /{print \$9}' /proc/stat" && echo "${reply:-0}"; }
before=$(steal)
taskset -a -p -c 0 "${pid[g]}" >/dev/null
gsh g 'for i in 1 2; do timeout 3 sh -c "while :; do :; done" & done; wait; echo spun' 60
taskset -a -p -c 0-$(($(nproc) - 1)) "${pid[g]}" >/dev/null
after=$(steal)
# Two busy vCPUs on one host CPU for 3 s: each waits about half the time
# (in USER_HZ ticks, 100 a second); a tenth of that is the bar.
expect "sta: /proc/stat shows steal time with the vCPUs sharing a CPU ($before -> $after ticks)" \
  [ $((after - before)) -ge 30 ]

# --- SBI SUSP: suspend to RAM, console input wakes it ------------------------------------
type_in g 'echo enabled >/sys/class/tty/ttyS0/power/wakeup; echo mem >/sys/power/state; echo "sus""pend-returned $?"'
expect "susp: the guest suspends (PM: suspend entry)" wait_for g 'PM: suspend entry' 30
cpu_ticks() { awk '{print $14 + $15}' "/proc/${pid[g]}/stat"; }
sleep 1
t0=$(cpu_ticks)
sleep 2
t1=$(cpu_ticks)
expect "susp: the VMM sleeps while the guest is suspended ($((t1 - t0)) ticks in 2 s)" \
  [ $((t1 - t0)) -le 50 ]
expect "susp: not resumed before any input" sh -c "! tr -d '\r' <'$tmp/g.out' | grep -q '^suspend-returned'"
type_in g ''
expect "susp: console input resumes the guest" wait_for g '^suspend-returned 0' 60
expect "susp: the kernel logs the exit" shows g 'PM: suspend exit'
gsh g 'cat /sys/devices/system/cpu/online'
expect "susp: both harts are back online ($reply)" [ "$reply" = 0-1 ]

type_in g exit
wait_exit g 120
expect "platform: power-off ends duvisor with status 0 (got $status)" [ "$status" -eq 0 ]
[ "$status" -eq 0 ] || { tail -30 "$tmp/g.out" | sed 's/^/#   /'; tail -20 "$tmp/g.err" | sed 's/^/#   /'; }
