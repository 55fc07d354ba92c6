#!/usr/bin/env bash
# Snapshot and restore of a VM with --irqchip aia (Linux 6.12 at smp 2: its
# IMSIC and APLIC-MSI drivers): saved while it runs, killed, restored in a new
# process, the interrupt controllers carry on where they were. After the
# restore the console (an APLIC wire turned into an MSI) still takes input,
# the virtio disk and NIC still complete requests by interrupt, IPIs still
# reach the other hart (an MSI to its IMSIC file), and the guest's interrupt
# counts keep growing from their saved values; a second snapshot of the
# restored VM restores too. Skips when the 6.12 Image is not cached.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); trap 'vm_cleanup; rm -rf "$tmp"' EXIT
give_up_on_hung=1

if ! guest_612_ready; then
  skip "aia snapshot: every check" "no 6.12 guest kernel: $guest_612_why"
  exit 0
fi

printf 'aia-snap-%s\n' "$$" >"$tmp/disk.img"
truncate -s 4M "$tmp/disk.img"

snapshot() { # snapshot SOCK STATE MEM: duvisor snapshot, the VM left paused
  timeout 120 "$duvisor" snapshot --api-sock "$1" --snapshot "$2" --mem "$3" --keep-paused \
    2>"$tmp/snap.err"
  status=$?
  [ "$status" = 0 ] || sed 's/^/#   /' "$tmp/snap.err"
  return "$status"
}
# irq_count NAME PATTERN: the sum over CPUs of /proc/interrupts lines matching PATTERN.
irq_count() {
  gsh "$1" "awk '/$2/ { for (i = 2; i <= NF && \$i ~ /^[0-9]+\$/; i++) n += \$i } END { print n + 0 }' /proc/interrupts"
  echo "${reply:-0}"
}
# works NAME WHAT: the devices and IPIs answer on NAME after a restore.
works() {
  local name=$1 what=$2 v0 v1 i0 i1
  gsh "$name" 'echo answer-$((6*7))'
  expect "$what: console input reaches the shell ($reply)" [ "$reply" = answer-42 ]
  v0=$(irq_count "$name" 'APLIC-MSI.*virtio')
  gsh "$name" 'dd if=/dev/vda bs=4096 count=1 iflag=direct 2>/dev/null | head -c 15'
  expect "$what: the disk reads back by interrupt ($reply)" [ "$reply" = "aia-snap-$$" ]
  gsh "$name" 'udhcpc -q -n -i eth0 >/dev/null 2>&1 && echo leased' 40
  expect "$what: the NIC gets a DHCP answer ($reply)" [ "$reply" = leased ]
  v1=$(irq_count "$name" 'APLIC-MSI.*virtio')
  expect "$what: virtio interrupts kept counting ($v0 -> $v1)" [ "$v1" -gt "$v0" ]
  i0=$(irq_count "$name" '^ *IPI[0-9]:')
  gsh "$name" 'for i in 1 2 3 4 5; do taskset 2 true; taskset 1 true; done; echo moved'
  i1=$(irq_count "$name" '^ *IPI[0-9]:')
  expect "$what: IPIs reach the other hart by MSI ($i0 -> $i1)" [ "$i1" -gt "$i0" ]
}

start a run --kernel "$(guest_image_612)" --initrd "$(guest_initramfs)" --smp 2 --memory 256M \
  --irqchip aia --disk "$tmp/disk.img" --net user --api-sock "$tmp/a.sock" \
  --append "console=ttyS0"
expect "aia snapshot: the guest boots with AIA" wait_for a '^/ # ' 300
expect "aia snapshot: the APLIC forwards wires as MSIs" shows a 'riscv-aplic .*interrupts forwarded to MSI'
gsh a 'ip link set eth0 up; udhcpc -q -n -i eth0 >/dev/null 2>&1; ip -4 addr show eth0 | grep -o "inet 10.0.2.15"' 60
expect "aia snapshot: the NIC gets its address ($reply)" [ "$reply" = "inet 10.0.2.15" ]
works a "aia before"
saved_virtio=$(irq_count a 'APLIC-MSI.*virtio')

expect "aia snapshot: duvisor snapshot of the running VM exits 0" snapshot "$tmp/a.sock" "$tmp/st" "$tmp/mem"
kill9 a
start b restore --snapshot "$tmp/st" --mem "$tmp/mem" --api-sock "$tmp/b.sock"
restored_virtio=$(irq_count b 'APLIC-MSI.*virtio')
expect "aia restored: the guest's interrupt counts are the saved ones ($saved_virtio -> $restored_virtio)" \
  [ "$restored_virtio" -ge "$saved_virtio" ]
works b "aia restored"

expect "aia snapshot: the restored VM snapshots again" snapshot "$tmp/b.sock" "$tmp/st2" "$tmp/mem2"
kill9 b
start c restore --snapshot "$tmp/st2" --mem "$tmp/mem2"
works c "aia restored twice"
gsh c 'dmesg | grep -cE "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ"'
expect "aia restored twice: the kernel log has no stall, oops or disabled IRQ ($reply)" [ "$reply" = 0 ]

type_in c 'poweroff -f'
wait_exit c 60
expect "aia restored twice: poweroff ends duvisor with status 0 (got $status)" [ "$status" -eq 0 ]
[ "$status" -eq 0 ] || { tail -20 "$tmp/c.out" | sed 's/^/#   /'; tail -10 "$tmp/c.err" | sed 's/^/#   /'; }
