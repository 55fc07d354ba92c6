#!/usr/bin/env bash
# ThreadSanitizer on the whole VMM: build/tsan/duvisor (built by tests/run's TSan
# step) runs the Linux guest at smp 2 with a virtio disk written and read back by
# both vCPUs while the API pauses, resumes and snapshots the VM, a NIC on user
# networking, console input and output both ways, guest reboots with console
# input still flowing (the console reader thread against the VM being torn down
# and rebuilt), and the snapshot restored in a new process. Any TSan report
# fails the test (halt_on_error: the first ends the process with status 66).
#
# The harts' own accesses to guest RAM are not instrumented (GUEST_RAM in
# src/hart/hart.h): vCPU threads share guest RAM as harts share memory, and the
# guest's races there are the guest's. Everything else of the VMM is checked.
# The VMM's threads are the same under either engine, so this runs once, with
# whatever engine DUVISOR_JIT picks (tests/run: the JIT, the fast one under TSan).
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=$repo_root/build/tsan/duvisor
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT

if [ ! -x "$duvisor" ]; then
  skip "tsan: every check" "no $duvisor (make B=build/tsan CC=clang OPT='-O1 -g -fsanitize=thread' build/tsan/duvisor)"
  exit 0
fi
for tool in curl sha256sum; do
  command -v $tool >/dev/null || { skip "tsan: every check" "no $tool on this host"; exit 0; }
done
export TSAN_OPTIONS="halt_on_error=1 exitcode=66 second_deadlock_stack=1"
started=$(date +%s)
phase() { echo "# $1 at $(($(date +%s) - started)) s"; } # phase NAME: a timing note

# Beside tests/lib_vm.sh's helpers:
count() { tr -d '\r' <"$tmp/$1.out" | grep -acE -- "$2"; } # count NAME PATTERN: lines
# guest_file NAME FILE DEST: FILE's lines typed into `cat >DEST` in NAME's shell,
# once cat runs, then Ctrl-D (end of file for cat).
guest_file() {
  gsh_n=$((gsh_n + 1))
  type_in "$1" "echo cat\"\"-ready-$gsh_n; cat >$3"
  wait_for "$1" "^cat-ready-$gsh_n" 60 || return 1
  sleep 0.2
  cat "$2" >&"${fd[$1]}"
  printf '\004' >&"${fd[$1]}"
}
# no_reports NAME: TSan said nothing on NAME's stderr; otherwise show the first report.
no_reports() {
  if grep -q 'ThreadSanitizer' "$tmp/$1.err"; then
    sed -n '/WARNING: ThreadSanitizer/,/SUMMARY: ThreadSanitizer/p' "$tmp/$1.err" | head -150 |
      sed 's/^/#   /'
    return 1
  fi
}
show_tail() { # show_tail NAME: the end of NAME's console and stderr, when a check failed
  tr -d '\r' <"$tmp/$1.out" | tail -15 | sed 's/^/#   out: /'
  sed '/WARNING: ThreadSanitizer/,/SUMMARY: ThreadSanitizer/d' "$tmp/$1.err" | tail -10 |
    sed 's/^/#   err: /'
}

kernel=$(guest_image)
initramfs=$(guest_initramfs)
img=$tmp/disk.img
truncate -s 64M "$img"
sock=$tmp/api.sock

# --- one VM: boot, disk I/O under pauses and a snapshot, console both ways, reboots ---------
start vm run --kernel "$kernel" --initrd "$initramfs" --smp 2 --memory 256M --disk "$img" \
  --net user --api-sock "$sock" --append "console=ttyS0 earlycon=sbi"
wait_for vm '^/ # ' 180
expect "tsan: the guest boots to a shell at smp 2" shows vm 'duvisor-guest: ready \(2 cpus'
phase "shell"

# Four writers on the disk at once (both vCPUs issue requests) while the API pauses
# and resumes the VM and takes a snapshot; then every copy is read back from the disk.
gsh vm 'dd if=/dev/urandom of=/tmp/r bs=64k count=32 2>/dev/null; sha256sum </tmp/r' 120
sum=${reply%% *}
type_in vm 'for i in 1 2 3 4; do dd if=/tmp/r of=/dev/vda bs=64k seek=$((i*32)) conv=fsync 2>/dev/null & done; wait; echo "tsan""-written"'
api_ok=0
for i in 1 2 3; do
  sleep 0.3
  api "$sock" PATCH /vm '{"state": "Paused"}'; [ "$code" = 204 ] && api_ok=$((api_ok + 1))
  api "$sock" GET /; [ "$code" = 200 ] && api_ok=$((api_ok + 1))
  api "$sock" PATCH /vm '{"state": "Resumed"}'; [ "$code" = 204 ] && api_ok=$((api_ok + 1))
done
api "$sock" PATCH /vm '{"state": "Paused"}'; [ "$code" = 204 ] && api_ok=$((api_ok + 1))
api "$sock" PUT /snapshot/create \
  "{\"snapshot_path\": \"$tmp/vm.state\", \"mem_file_path\": \"$tmp/vm.mem\"}"
[ "$code" = 204 ] && api_ok=$((api_ok + 1))
api "$sock" PATCH /vm '{"state": "Resumed"}'; [ "$code" = 204 ] && api_ok=$((api_ok + 1))
expect "tsan: API pauses, resumes and a snapshot during disk I/O ($api_ok of 12 requests answered)" \
  [ $api_ok -eq 12 ]
wait_for vm '^tsan-written' 120
gsh vm 'n=0; for i in 1 2 3 4; do s=$(dd if=/dev/vda bs=64k skip=$((i*32)) count=32 iflag=direct 2>/dev/null | sha256sum); [ "${s%% *}" = '"$sum"' ] && n=$((n+1)); done; echo $n' 120
expect "tsan: four disk writers, every copy read back intact (${reply:-no answer} of 4)" \
  [ "$reply" = 4 ]
phase "disk and API done"

# Console input: 300 lines typed into cat (Ctrl-D ends it), echoed back by the
# terminal, and checked in the guest; then the NIC.
seq -f 'tsan-input-%05g abcdefghijklmnopqrstuvwxyz 0123456789 ABCDEFGHIJKLMNOPQRSTUVWXYZ' 1 300 \
  >"$tmp/lines"
want=$(sha256sum <"$tmp/lines"); want=${want%% *}
guest_file vm "$tmp/lines" /tmp/typed
gsh vm 'sha256sum </tmp/typed' 120
expect "tsan: 300 lines of console input arrive intact" [ "${reply%% *}" = "$want" ]
gsh vm 'ping -c 2 10.0.2.2 | grep -c "bytes from"' 60
expect "tsan: the NIC (user networking) answers pings (${reply:-none})" [ "$reply" = 2 ]
phase "console and NIC done"

# Reboots with console input flowing: the reader thread hands input to the VM
# while the VMM thread destroys it and builds the next one.
reboots_ok=0
for r in 1 2 3; do
  type_in vm 'reboot -f'
  for i in $(seq 1800); do # 180 s at most
    [ "$(count vm 'duvisor-guest: ready')" -gt $r ] && break
    kill -0 "${pid[vm]}" 2>/dev/null || break
    type_in vm ': tsan-noise'
    sleep 0.1
  done
  for i in $(seq 10); do type_in vm ': tsan-noise'; sleep 0.1; done
  for i in $(seq 30); do # a shell again: it answers
    type_in vm "echo tsan-boot-$r-\$((6*7))"
    wait_for vm "^tsan-boot-$r-42" 3 && { reboots_ok=$((reboots_ok + 1)); break; }
    kill -0 "${pid[vm]}" 2>/dev/null || break
  done
done
phase "reboots done"
expect "tsan: three reboots with console input flowing, a shell after each ($reboots_ok)" \
  [ $reboots_ok -eq 3 ]
type_in vm 'poweroff -f'
wait_exit vm 120
expect "tsan: poweroff ends duvisor with status 0 (got $status; 66: a TSan report)" [ $status -eq 0 ]
expect "tsan: no ThreadSanitizer report (boot, disk, API, console, NIC, reboots)" no_reports vm
[ $status -eq 0 ] || show_tail vm

# --- the snapshot restored in a new process: its threads start on a paused VM -------------
if [ -s "$tmp/vm.state" ]; then
  start restored restore --snapshot "$tmp/vm.state" --mem "$tmp/vm.mem"
  gsh restored 'echo restored-$((6*7))' 120
  expect "tsan: the restored VM's shell answers (${reply:-nothing})" [ "$reply" = restored-42 ]
  [ "$reply" = restored-42 ] || show_tail restored
  type_in restored 'poweroff -f'
  wait_exit restored 120
  expect "tsan: the restored VM powers off with status 0 (got $status)" [ $status -eq 0 ]
  expect "tsan: no ThreadSanitizer report (restore)" no_reports restored
  [ $status -eq 0 ] || show_tail restored
else
  not_ok "tsan: the snapshot was written"
fi
echo "# tsan.sh took $(($(date +%s) - started)) s"
