#!/usr/bin/env bash
# `duvisor run --console hvc0`: stdin goes to the virtio console, which the
# reference guest (no SBI hvc) names hvc0 and runs its shell on, and the
# UART gets none. Checked: the shell's terminal is /dev/hvc0, commands typed
# on stdin run there, Ctrl-C interrupts the foreground command (the key
# reaches the guest's tty, which signals), a snapshot of such a VM restores
# with its input still going to hvc0, and, under a real terminal (script(1)),
# the guest sees the host terminal's size and follows a resize (SIGWINCH ->
# a config interrupt -> the guest's stty size). Bad --console values: exit
# 2 with one line.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); [ -n "${KEEP_TMP:-}" ] && echo "# tmp: $tmp"
trap 'vm_cleanup; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

for bad in "" hvc1 ttys0 virtio; do
  "$duvisor" run --kernel /dev/null --console "$bad" >/dev/null 2>"$tmp/bad.err"
  st=$?
  expect "--console '$bad': exit 2 with one line (status $st)" \
    sh -c "[ $st -eq 2 ] && [ \$(wc -l <'$tmp/bad.err') -eq 1 ] && grep -q 'ttyS0 or hvc0' '$tmp/bad.err'"
done

kernel=$(guest_image) initrd=$(guest_initramfs)
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
  skip "hvc console: every guest check" "the guest is not built (scripts/build-guest)"
  exit 0
fi
boot=(run --kernel "$kernel" --initrd "$initrd" --memory 256M --console hvc0)

start hvc "${boot[@]}" --api-sock "$tmp/hvc.sock"
expect "hvc console: the guest boots to its shell" wait_for hvc 'duvisor-guest: ready' 120
gsh hvc "tty"
expect "hvc console: the shell's terminal is /dev/hvc0 ($reply)" [ "$reply" = /dev/hvc0 ]
gsh hvc "cat /proc/cmdline"
expect "hvc console: the default command line names hvc0 ($reply)" \
  sh -c "echo '$reply' | grep -q 'console=hvc0'"
gsh hvc "echo \$((6 * 7))"
expect "hvc console: a command typed on stdin runs on hvc0 ($reply)" [ "$reply" = 42 ]
# Ctrl-C: a long sleep in the foreground, then the key; the next command answers at once.
type_in hvc "sleep 60; echo slept-through"
sleep 1
printf '\003' >&"${fd[hvc]}"
t0=$(date +%s)
gsh hvc "echo after-interrupt" 20
t1=$(date +%s)
expect "hvc console: Ctrl-C interrupts the foreground command ($((t1 - t0)) s)" \
  sh -c "[ '$reply' = after-interrupt ] && [ $((t1 - t0)) -lt 20 ] && ! tr -d '\\r' <'$tmp/hvc.out' | grep -q '^slept-through'"
# A snapshot and its restore in a new process: input still goes to hvc0.
api "$tmp/hvc.sock" PATCH /vm '{"state": "Paused"}'
api "$tmp/hvc.sock" PUT /snapshot/create \
  "{\"snapshot_path\": \"$tmp/hvc.state\", \"mem_file_path\": \"$tmp/hvc.mem\"}"
expect "hvc console: a snapshot is taken (status $code)" [ "$code" = 204 ]
kill9 hvc
start restored restore --snapshot "$tmp/hvc.state" --mem "$tmp/hvc.mem"
sleep 1
gsh restored "echo restored-\$((2 + 3))" 60
expect "hvc console: typing reaches the restored guest's hvc0 ($reply)" [ "$reply" = restored-5 ]
type_in restored "poweroff -f"
wait_exit restored 60
expect "hvc console: the restored guest powers off (status $status)" [ "$status" -eq 0 ]

# Under a terminal: the guest's hvc0 has the host terminal's size and follows a
# resize. script(1) gives duvisor a pty; stty inside it sets the size before
# duvisor starts and again (SIGWINCH to the foreground group) once the guest
# is up, when the script creates $tmp/resize.
if ! command -v script >/dev/null; then
  skip "hvc console: the terminal's size" "no script(1)"
  exit 0
fi
cat >"$tmp/inner.sh" <<EOF
stty rows 31 cols 97
( while [ ! -e "$tmp/resize" ]; do sleep 0.1; done; stty rows 45 cols 133 </dev/tty ) &
exec "$duvisor" ${boot[*]}
EOF
rm -f "$tmp/pty.in"
mkfifo "$tmp/pty.in"
script -qfec "sh $tmp/inner.sh" /dev/null <"$tmp/pty.in" >"$tmp/pty.out" 2>&1 &
pid[pty]=$!
exec {f}>"$tmp/pty.in"
fd[pty]=$f
expect "hvc console (terminal): the guest boots" wait_for pty 'duvisor-guest: ready' 120
gsh pty "stty size"
expect "hvc console (terminal): the guest sees the terminal's size ($reply)" [ "$reply" = "31 97" ]
touch "$tmp/resize"
ok_size=
for i in $(seq 20); do
  sleep 0.5
  gsh pty "stty size" 10
  [ "$reply" = "45 133" ] && { ok_size=1; break; }
done
expect "hvc console (terminal): a resize reaches the guest ($reply)" [ -n "$ok_size" ]
type_in pty "poweroff -f"
wait_exit pty 60
expect "hvc console (terminal): powers off (status $status)" [ "$status" -eq 0 ]
