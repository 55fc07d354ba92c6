#!/usr/bin/env bash
# The modern guest (Linux 6.12, scripts/build-guest --kernel 6.12) on build/duvisor
# at smp 2: it boots to its shell, reports 6.12 and both harts, logs no warning,
# error or oops about the platform, and powers off with status 0; and the same
# under qemu-system-riscv64 -M virt, the baseline. Skips if the 6.12 kernel is
# neither cached nor buildable here.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
tmp=$(mktemp -d); trap 'vm_cleanup; rm -rf "$tmp"' EXIT
duvisor=${DUVISOR:-$repo_root/build/duvisor}

if ! guest_612_ready; then
  skip "6.12 guest on duvisor" "no 6.12 guest kernel: $guest_612_why"
  exit 0
fi

start g run --kernel "$(guest_image_612)" --initrd "$(guest_initramfs)" --smp 2 --memory 256M \
  --append "console=ttyS0 earlycon=sbi"
expect "6.12 guest: ready line with 2 cpus" wait_for g 'duvisor-guest: ready \(2 cpus, 6\.12\.' 300
expect "6.12 guest: shell prompt" wait_for g '^/ # ' 60

gsh g 'uname -r'
expect "6.12 guest: uname -r is 6.12 ($reply)" grep -q '^6\.12\.' <<<"$reply"
gsh g 'grep -c ^processor /proc/cpuinfo'
expect "6.12 guest: /proc/cpuinfo shows 2 processors ($reply)" [ "$reply" = 2 ]
gsh g 'grep -m1 ^isa /proc/cpuinfo | cut -d: -f2'
expect "6.12 guest: /proc/cpuinfo isa is rv64imafdc... ($reply)" grep -q '^ rv64imafdc' <<<"$reply"
for ext in zfa zfh zfhmin zvfhmin zvbb zvbc zvkb zvkg zvkned zvknha zvknhb zvksed zvksh zvkt; do
  expect "6.12 guest: /proc/cpuinfo isa lists $ext" grep -qE "_${ext}(_|\$)" <<<"$reply"
done
gsh g 'grep -c "^hart isa" /proc/cpuinfo'
expect "6.12 guest: /proc/cpuinfo has 6.12's per-hart isa lines ($reply)" [ "$reply" = 2 ]
# Both harts online and idle-able: the second came up through SBI HSM.
gsh g 'cat /sys/devices/system/cpu/online'
expect "6.12 guest: cpus 0-1 online ($reply)" [ "$reply" = 0-1 ]

# The kernel log, raw (<level> prefixes): nothing at warning level or worse, and
# no oops, BUG or WARN splat at any level. Let through: the one hrtimer note a
# loaded host causes when it preempts a vCPU in an interrupt (seen at load 12).
benign='hrtimer: interrupt took [0-9]+ ns'
type_in g 'echo log-begin""; dmesg -r; echo log-end""'
expect "6.12 guest: dmesg comes out" wait_for g '^log-end$' 30
tr -d '\r' <"$tmp/g.out" | sed -n '/^log-begin$/,/^log-end$/p' | sed '1d;$d' >"$tmp/dmesg"
expect "6.12 guest: dmesg is the boot log" grep -q 'Linux version 6\.12\.' "$tmp/dmesg"
grep -E '^<[0-4]>' "$tmp/dmesg" | grep -vE "$benign" >"$tmp/warn"
expect "6.12 guest: dmesg has no warning, error or worse ($(wc -l <"$tmp/warn") lines)" [ ! -s "$tmp/warn" ]
sed 's/^/#   /' "$tmp/warn"
grep -E 'Oops|BUG:|WARNING:|Call Trace|cut here|Unable to handle|Kernel panic' "$tmp/dmesg" >"$tmp/oops"
expect "6.12 guest: dmesg has no oops, BUG or WARN" [ ! -s "$tmp/oops" ]
sed 's/^/#   /' "$tmp/oops"

type_in g exit
wait_exit g 120
expect "6.12 guest: power-off ends duvisor with status 0 (got $status)" [ "$status" -eq 0 ]
expect "6.12 guest: shell exit powers off" shows g 'duvisor-guest: powering off'
expect "6.12 guest: 'guest powered off' on stderr" grep -q "guest powered off" "$tmp/g.err"
[ "$status" -eq 0 ] || { tail -30 "$tmp/g.out" | sed 's/^/#   /'; tail -20 "$tmp/g.err" | sed 's/^/#   /'; }

# The baseline: the same guest under QEMU -M virt (whose device tree has only
# riscv,isa) boots to its shell and powers off.
printf 'uname -r\nexit\n' >"$tmp/q.in"
guest_kernel=6.12 shell_session "$tmp/q.out" "$tmp/q.in" qemu_guest 2 ""
status=$?
expect "6.12 guest under QEMU: power-off ends qemu with status 0 (got $status)" [ $status -eq 0 ]
expect "6.12 guest under QEMU: ready line with 2 cpus" grep -q 'duvisor-guest: ready (2 cpus, 6\.12\.' "$tmp/q.out"
expect "6.12 guest under QEMU: shell exit powers off" grep -q 'duvisor-guest: powering off' "$tmp/q.out"
[ $status -eq 0 ] || tail -20 "$tmp/q.out" | sed 's/^/#   /'
