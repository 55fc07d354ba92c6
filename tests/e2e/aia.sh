#!/usr/bin/env bash
# --irqchip aia with the modern guest (Linux 6.12: its IMSIC, APLIC and APLIC-MSI
# drivers) at smp 4: it boots to a shell, the console, a virtio disk and a
# user-mode NIC take their interrupts as MSIs through the APLIC and the IMSIC
# files, IPIs go by MSI, and /proc/interrupts names both controllers. Then the
# same kernel under qemu-system-riscv64 -M virt,aia=aplic-imsic, when its
# firmware can run it, as the reference for the controllers' lines. Skips,
# saying why, when the 6.12 Image is not cached (scripts/build-guest --kernel
# 6.12 builds it; this script does not, it takes tens of minutes).
set -u
. "$(dirname "$0")/../lib.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

image=$(guest_image_612)
if [ -z "$image" ] || [ ! -f "$image" ] || [ ! -f "$(guest_initramfs)" ]; then
  skip "aia: Linux 6.12 boots with --irqchip aia" "no cached 6.12 guest Image (scripts/build-guest --kernel 6.12)"
  exit 0
fi

# A disk whose first bytes the guest reads back.
printf 'aia-disk-%s\n' "$$" >"$tmp/disk.img"
truncate -s 4M "$tmp/disk.img"
cat >"$tmp/in" <<'IN'
echo answer-$((6*7))
head -c 16 /dev/vda; echo
ip link set eth0 up; udhcpc -q -n -i eth0 >/dev/null 2>&1; ip -4 addr show eth0 | grep -o 'inet 10.0.2.15'
cat /proc/interrupts
exit
IN
shell_session "$tmp/out" "$tmp/in" timeout 300 "$duvisor" run --kernel "$image" \
  --initrd "$(guest_initramfs)" --smp 4 --irqchip aia --no-reboot \
  --disk "$tmp/disk.img" --net user --append "console=ttyS0"
status=$?
tr -d '\r' <"$tmp/out" >"$tmp/o"
expect "aia: the guest ends with status 0 (got $status)" [ $status -eq 0 ]
expect "aia: ready with 4 cpus" grep -q "duvisor-guest: ready (4 cpus" "$tmp/o"
expect "aia: the IMSIC driver found 255 ids per hart at 0x28000000" \
  grep -q "riscv-imsic: .*per-CPU IDs 255 at base address 0x0000000028000000" "$tmp/o"
expect "aia: IPIs by MSI" grep -q "riscv-imsic: .*providing IPIs" "$tmp/o"
expect "aia: the APLIC forwards its 96 wires as MSIs" \
  grep -q "riscv-aplic d000000.aplic: 96 interrupts forwarded to MSI" "$tmp/o"
expect "aia: the shell runs piped commands (console input by interrupt)" grep -qx "answer-42" "$tmp/o"
expect "aia: the virtio disk reads back" grep -q "^aia-disk-$$" "$tmp/o"
expect "aia: the NIC gets its address by DHCP" grep -q "inet 10.0.2.15" "$tmp/o"
# /proc/interrupts: lines of the APLIC-MSI domain for the UART and virtio, with counts.
count_of() { awk -v pat="$1" '$0 ~ pat { for (i = 2; i <= NF && $i ~ /^[0-9]+$/; i++) n += $i } END { print n + 0 }' "$tmp/o"; }
expect "aia: /proc/interrupts lists APLIC-MSI lines" grep -q "APLIC-MSI" "$tmp/o"
for dev in ttyS0 virtio IPI0:; do
  pat="APLIC-MSI.*$dev"; [ "$dev" = IPI0: ] && pat="^ *IPI0:"
  n=$(count_of "$pat")
  expect "aia: $dev interrupts arrived (${n:-none})" [ "${n:-0}" -gt 0 ]
done
if [ $status -ne 0 ] || ! grep -qx "answer-42" "$tmp/o" || [ -n "${AIA_VERBOSE:-}" ]; then
  tail -30 "$tmp/o" | sed 's/^/#   /'
fi

# The reference: the same kernel on QEMU's AIA machine (its OpenSBI sets up the
# M-level domain and delegates the wires to the S-level one).
if qemu-system-riscv64 -M virt,aia=aplic-imsic -M help >/dev/null 2>&1; then
  printf 'cat /proc/interrupts\npoweroff -f\n' >"$tmp/qin"
  shell_session "$tmp/qout" "$tmp/qin" timeout 300 qemu-system-riscv64 -M virt,aia=aplic-imsic \
    -smp 4 -m 256M -nographic -no-reboot -bios default -kernel "$image" \
    -initrd "$(guest_initramfs)" -append "console=ttyS0"
  tr -d '\r' <"$tmp/qout" >"$tmp/q"
  if grep -q "riscv-aplic" "$tmp/q"; then
    q=$(grep -o "riscv-aplic [^:]*: [0-9]* interrupts forwarded to MSI" "$tmp/q" | sed 's/^riscv-aplic [^:]*: //')
    d=$(grep -o "riscv-aplic [^:]*: [0-9]* interrupts forwarded to MSI" "$tmp/o" | sed 's/^riscv-aplic [^:]*: //')
    expect "aia: the APLIC looks as on QEMU virt,aia=aplic-imsic ($d / $q)" [ -n "$q" ] && [ "$q" = "$d" ]
  else
    skip "aia: comparison with QEMU virt,aia=aplic-imsic" "QEMU's guest did not bring up its APLIC"
  fi
else
  skip "aia: comparison with QEMU virt,aia=aplic-imsic" "this qemu-system-riscv64 has no aia option"
fi
