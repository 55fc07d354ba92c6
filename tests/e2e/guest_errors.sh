#!/usr/bin/env bash
# What happens when the guest does something the VM cannot continue from, and
# the device tree duvisor gives the guest, as dtc sees it.
set -u
. "$(dirname "$0")/../lib.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

riscv64-linux-gnu-gcc -nostdlib -static -march=rv64gc -mabi=lp64d -Wl,-Ttext=0x80200000 \
  -Wl,--build-id=none -o "$tmp/fatal.elf" "$repo_root/tests/e2e/payloads/fatal.S" &&
  riscv64-linux-gnu-objcopy -O binary -j .text "$tmp/fatal.elf" "$tmp/fatal.Image"
# With --strict-mmio an access to nothing stops the VM (a debugging aid);
# without it the guest gets an access fault, as from hardware (below).
timeout 60 "$duvisor" run --strict-mmio --kernel "$tmp/fatal.Image" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
expect "fatal guest error: exit status 1 (got $status)" [ $status -eq 1 ]
expect "fatal guest error: names the vCPU and the cause" grep -q "vcpu 0: guest access outside RAM" "$tmp/err"
expect "fatal guest error: dumps pc and the faulting address" grep -qE "pc 0*8020004c .*gpa 0*20000000" "$tmp/err"
expect "fatal guest error: dumps the registers (t1 = x6)" grep -qE "x6  0*5a5a" "$tmp/err"
[ $status -eq 1 ] || sed 's/^/#   /' "$tmp/err" | head -20

# A hostile bare kernel: accesses to nothing, to device registers that do not
# exist, HSM starts outside RAM. The guest gets faults, zeros and errors; the VM
# goes on and powers off normally.
riscv64-linux-gnu-gcc -nostdlib -static -march=rv64gc -mabi=lp64d -Wl,-Ttext=0x80200000 \
  -Wl,--build-id=none -o "$tmp/stray.elf" "$repo_root/tests/e2e/payloads/stray.S" &&
  riscv64-linux-gnu-objcopy -O binary -j .text "$tmp/stray.elf" "$tmp/stray.Image"
for smp in 1 2; do
  timeout 60 "$duvisor" run --smp $smp --kernel "$tmp/stray.Image" </dev/null >"$tmp/out" 2>"$tmp/err"
  status=$?
  expect "stray accesses (smp $smp): the guest sees faults, zeros and errors (status $status)" \
    grep -q "stray: ok" "$tmp/out"
  expect "stray accesses (smp $smp): the VM powers off with status 0" [ $status -eq 0 ]
  [ $status -eq 0 ] || sed 's/^/#   /' "$tmp/out" "$tmp/err" | head -20
done

# --level debug says what was ignored, at most 10 lines a second.
timeout 60 "$duvisor" run --level debug --kernel "$tmp/stray.Image" </dev/null >"$tmp/out" 2>"$tmp/err"
expect "stray accesses: --level debug names each ignored access" \
  grep -q "vcpu 0: 8-byte write at 0x10000000 (uart+0x0) ignored" "$tmp/err"
expect "stray accesses: at most 10 such lines in a second" \
  sh -c "[ \$(grep -c 'ignored: the device has no such register' '$tmp/err') -le 10 ]"
timeout 60 "$duvisor" run --kernel "$tmp/stray.Image" </dev/null >"$tmp/out" 2>"$tmp/err"
expect "stray accesses: no such lines without --level debug" \
  sh -c "! grep -q 'ignored: the device' '$tmp/err'"

# Under Linux: root's devmem into a hole gets a signal, the rest of a virtio
# page reads zero, a 64-bit UART write is ignored; the guest runs on.
timeout 120 "$duvisor" run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
  --append "console=ttyS0 duvisor.test=stray-devmem" </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
expect "devmem into a hole: the process gets SIGSEGV (status 139)" \
  grep -q "hole read status 139" "$tmp/out"
expect "devmem write into a hole: SIGSEGV too" grep -q "hole write status 139" "$tmp/out"
expect "devmem: the rest of a virtio page reads 0" grep -q "page tail reads 0x00000000" "$tmp/out"
expect "devmem: the guest goes on and powers off (status $status)" \
  sh -c "grep -q 'stray-devmem: still alive' '$tmp/out' && [ $status -eq 0 ]"

# The device tree duvisor builds decompiles cleanly and says what Linux needs.
timeout 60 "$duvisor" run --kernel "$tmp/fatal.Image" --smp 2 --dtb-out "$tmp/vm.dtb" \
  </dev/null >/dev/null 2>&1
dtc -I dtb -O dts -o "$tmp/vm.dts" "$tmp/vm.dtb" 2>"$tmp/dtc.err"
expect "--dtb-out: dtc decompiles it" [ -s "$tmp/vm.dts" ]
expect "--dtb-out: dtc prints no warnings" [ ! -s "$tmp/dtc.err" ]
for want in 'riscv,plic0' 'ns16550a' 'cpu@1' 'riscv,isa = "rv64imafdc' 'sstc' \
  'timebase-frequency = <0x989680>' 'bootargs = "console=ttyS0 earlycon=sbi"'; do
  expect "--dtb-out: has $want" grep -qF "$want" "$tmp/vm.dts"
done
