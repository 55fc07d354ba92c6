# Shared helpers for the shell tests: TAP lines the runner counts, and the guest paths.
# Sourced, not run.

tap_n=0
ok() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $*"; }
not_ok() { tap_n=$((tap_n + 1)); echo "not ok $tap_n - $*"; }
# expect NAME COMMAND...: one TAP line from a command's exit status.
expect() { local name=$1; shift; if "$@"; then ok "$name"; else not_ok "$name"; fi; }
# skip NAME REASON: a check that cannot run here, counted as passing with a reason.
skip() { tap_n=$((tap_n + 1)); echo "ok $tap_n - $1 # SKIP $2"; }

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The guest's kernel for the helpers below: 6.1, the reference, unless a test sets
# guest_kernel=6.12 (the modern guest of scripts/build-guest --kernel 6.12), for the
# whole script or for one call (guest_kernel=6.12 duvisor_guest 2 "").
guest_image() {
  bash "$repo_root/scripts/build-guest" --kernel "${guest_kernel:-6.1}" --print | sed -n 's/^Image: *//p'
}
guest_initramfs() { bash "$repo_root/scripts/build-guest" --print | sed -n 's/^initramfs: *//p'; }
# The modern guest's Image path (empty if linux-source-6.12 is not installed), built or not.
guest_image_612() { guest_kernel=6.12 guest_image 2>/dev/null; }
# guest_612_ready: the 6.12 Image and the initramfs are cached, building them if need
# be (tens of minutes); false, with the reason in $guest_612_why, if they cannot be.
guest_612_ready() {
  local image
  image=$(guest_image_612)
  [ -n "$image" ] && [ -f "$image" ] && [ -f "$(guest_initramfs)" ] && return 0
  guest_612_why=$(bash "$repo_root/scripts/build-guest" --kernel 6.12 2>&1 >/dev/null | tail -1)
  image=$(guest_image_612)
  [ -n "$image" ] && [ -f "$image" ] && [ -f "$(guest_initramfs)" ] && return 0
  guest_612_why=${guest_612_why:-no 6.12 Image after scripts/build-guest --kernel 6.12}
  return 1
}

# qemu_guest SMP APPEND: boot the reference guest under QEMU, console on stdio.
qemu_guest() {
  local smp=$1 append=$2
  timeout 300 qemu-system-riscv64 -M virt -smp "$smp" -m 256M -nographic -no-reboot \
    -bios default -kernel "$(guest_image)" -initrd "$(guest_initramfs)" \
    -append "console=ttyS0 earlycon=sbi $append"
}

# shell_session OUT INPUT VM-COMMAND...: run a VM whose console is stdio, writing its
# output to OUT, and type the lines of INPUT once the guest shell's prompt shows.
# Typing earlier would lose characters: the UART driver resets its FIFO on open.
shell_session() {
  local out=$1 input=$2; shift 2
  local fifo fd pid status i
  fifo=$(mktemp -u); mkfifo "$fifo"
  "$@" <"$fifo" >"$out" 2>&1 &
  pid=$!
  exec {fd}>"$fifo"
  for i in $(seq 1500); do
    grep -q '^/ # ' "$out" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  cat "$input" >&$fd
  wait $pid; status=$?
  exec {fd}>&-
  rm -f "$fifo"
  return $status
}

# duvisor_guest SMP APPEND [EXTRA-ARGS...]: boot the reference guest under duvisor.
duvisor_guest() {
  local smp=$1 append=$2; shift 2
  timeout 600 "${DUVISOR:-$repo_root/build/duvisor}" run --kernel "$(guest_image)" \
    --initrd "$(guest_initramfs)" --smp "$smp" --memory 256M \
    --append "console=ttyS0 earlycon=sbi $append" "$@"
}
