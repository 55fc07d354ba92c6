#!/usr/bin/env bash
# Live upgrade with the real guest, as a user relies on it: 20 upgrades in a
# row (duvisor upgrade, --binary, PUT /upgrade) under a guest busy with CPU,
# disk writes and a console ticker, each in the same process (same PID), the
# API answering after each, and afterwards no tick or disk line lost or
# repeated, no RCU stall or kernel BUG in the guest; the refusals (a binary of
# another snapshot format, a missing one, one that cannot take the VM over)
# leave the VM running on the old binary; a paused VM stays paused across an
# upgrade; a VM restored from a snapshot can be upgraded too.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=$(readlink -f "${DUVISOR:-$repo_root/build/duvisor}")
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT
give_up_on_hung=1 # a guest that stopped answering: later waits on it give up at once

for tool in curl python3 mke2fs e2fsck debugfs; do
  command -v $tool >/dev/null || { skip "upgrade: every check" "no $tool on this host"; exit 0; }
done
kernel=$(guest_image)
initramfs=$(guest_initramfs)
started=$(date +%s)

# --- helpers (beside tests/lib_vm.sh's) ------------------------------------------------------

ticks() { # ticks NAME...: the ticker's numbers in these consoles, one a line
  local n
  for n in "$@"; do cat "$tmp/$n.out"; done | grep -ao '<t[0-9]*>' | tr -d '<t>'
}
last_tick() { ticks "$@" | tail -n1; }
consecutive() { # consecutive NAME...: the ticks across these consoles are 1, 2, 3, ...
  ticks "$@" | python3 -c 'import sys
t = [int(x) for x in sys.stdin.read().split()]
bad = [(a, b) for a, b in zip(t, t[1:]) if b != a + 1]
if not t or t[0] != 1 or bad:
    print("#   %d ticks, first %s, breaks (before, after): %s" % (len(t), t[:1], bad[:8]))
    sys.exit(1)'
}
wait_ticks() { # wait_ticks NAME N [SECONDS]: until N ticks past the current last one
  local base i
  [ -z "${hung[$1]:-}" ] || return 1
  base=$(last_tick "$1"); base=${base:-0}
  for i in $(seq $((${3:-60} * 10))); do
    [ "$(last_tick "$1")" -ge $((base + $2)) ] 2>/dev/null && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    sleep 0.1
  done
  hung[$1]=1
  echo "#   $1: the ticker stopped at ${base}; later waits on this guest give up at once"
  return 1
}
quiet() { # quiet NAME SECONDS: NAME's console writes nothing for SECONDS
  local s0
  s0=$(stat -c %s "$tmp/$1.out"); sleep "$2"
  [ "$s0" = "$(stat -c %s "$tmp/$1.out")" ]
}
lines_consecutive() { # stdin is "line 1", "line 2", ... with none missing or repeated
  python3 -c 'import sys
l = sys.stdin.read().split("\n")
if l and l[-1] == "": l.pop()
want = ["line %d" % (i + 1) for i in range(len(l))]
if not l or l != want:
    bad = [(i + 1, x) for i, x in enumerate(l) if i >= len(want) or x != want[i]]
    print("#   %d lines, first wrong: %s" % (len(l), bad[:3]))
    sys.exit(1)'
}
fsck_clean() {
  local out
  out=$(e2fsck -fn "$1" 2>&1) && return 0
  printf '%s\n' "$out" | tail -n 8 | sed 's/^/#   /'
  return 1
}
# The process's identity: its PID's start time (a new process on a recycled
# PID would differ); the exec of an upgrade keeps it.
proc_start() { cut -d' ' -f22 "/proc/$1/stat" 2>/dev/null; }
# upgrade SOCK [ARGS...]: duvisor upgrade; the status in $status, stderr in $tmp/up.err.
upgrade() {
  local sock=$1; shift
  timeout 90 "$duvisor" upgrade --api-sock "$sock" "$@" 2>"$tmp/up.err"
  status=$?
}
done_lines() { grep -c 'Live upgrade [0-9]* done: the guest was paused [0-9]* us' "$tmp/$1.err"; }
# runs_on NAME SOCK: the VM still runs: the API says Running, the ticker ticks.
runs_on() { vm_state "$2" Running && wait_ticks "$1" 2 30; }

# --- the VM and its load ---------------------------------------------------------------------
img=$tmp/disk.img
truncate -s 64M "$img"
mke2fs -q -F -t ext4 "$img" >/dev/null 2>&1
sock=$tmp/u.sock
start u run --kernel "$kernel" --initrd "$initramfs" --smp 2 --disk "$img" --api-sock "$sock"
upid=${pid[u]}
ustart=$(proc_start "$upid")
expect "boot: the guest reaches its shell (smp 2, a disk, --api-sock)" wait_for u '^/ # ' 180
gsh u 'mkdir -p /mnt && mount /dev/vda /mnt && echo mounted'
expect "boot: the disk mounts" [ "$reply" = mounted ]
# The load: a CPU loop, a writer appending numbered lines (sync every 5th), a ticker.
type_in u 'while :; do sha256sum /bin/busybox >/dev/null; done & echo "cpu=$!"'
type_in u '( j=0; while :; do j=$((j+1)); echo "line $j" >>/mnt/log; [ $((j % 5)) = 0 ] && sync; sleep 0.1; done ) & echo "writer=$!"'
type_in u '( i=0; while :; do i=$((i+1)); echo "<t$i>"; sleep 0.2; done ) & echo "ticker=$!"'
expect "load: the ticker ticks" wait_ticks u 5 60
workers=
for w in cpu writer ticker; do
  wait_for u "^$w=[0-9]+\$" 30
  workers="$workers $(tr -d '\r' <"$tmp/u.out" | sed -n "s/^$w=\([0-9]*\)\$/\1/p" | tail -n1)"
done

# --- 6. 20 upgrades in a row under load ------------------------------------------------------
# Three ways to ask, in turn: duvisor upgrade (its own binary), --binary, PUT /upgrade.
fails=() api_fails=() pid_fails=() stalls=()
for i in $(seq 20); do
  case $((i % 3)) in
    0) upgrade "$sock" ;;
    1) upgrade "$sock" --binary "$duvisor" ;;
    2) api "$sock" PUT /upgrade "{\"binary\": \"$duvisor\"}"
       status=$code; [ "$code" = 204 ] && status=0; echo "$body" >"$tmp/up.err" ;;
  esac
  [ "$status" = 0 ] || fails+=("$i: status $status: $(head -c 300 "$tmp/up.err")")
  api "$sock" GET /
  { [ "$code" = 200 ] && json_ok "$body" "d['state'] == 'Running'"; } || api_fails+=("$i: $code $body")
  { [ "$(proc_start "$upid")" = "$ustart" ] && grep -qa __upgrade-resume "/proc/$upid/cmdline"; } ||
    pid_fails+=("$i")
  wait_ticks u 1 20 || stalls+=("$i")
done
expect "20 upgrades: every one exits 0 (${#fails[@]} failed)" [ ${#fails[@]} = 0 ]
for f in "${fails[@]}"; do echo "#   upgrade $f"; done
expect "20 upgrades: GET / answers 200 Running after each (${#api_fails[@]} did not)" [ ${#api_fails[@]} = 0 ]
for f in "${api_fails[@]}"; do echo "#   after upgrade $f"; done
expect "20 upgrades: the same process (PID $upid, its start time) has exec'd the new binary each time" \
  [ ${#pid_fails[@]} = 0 ]
[ ${#pid_fails[@]} = 0 ] || echo "#   not after upgrades ${pid_fails[*]}"
expect "20 upgrades: the guest ticks after each${stalls:+ (not from upgrade ${stalls[0]} on)}" [ ${#stalls[@]} = 0 ]
n=$(done_lines u)
expect "20 upgrades: stderr has 20 'Live upgrade N done' lines ($n)" [ "$n" = 20 ]
expect "20 upgrades: numbered 1 to 20" \
  eval '[ "$(sed -n "s/.*Live upgrade \([0-9]*\) done.*/\1/p" "$tmp/u.err" | tr "\n" " ")" = "$(seq -s " " 20) " ]'
echo "# guest pauses (us): $(sed -n 's/.*Live upgrade [0-9]* done: the guest was paused \([0-9]*\) us.*/\1/p' "$tmp/u.err" | tr '\n' ' ')"
expect "20 upgrades: no tick lost or repeated on the console" consecutive u
gsh u 'echo $((6*7))'
expect "20 upgrades: the guest shell answers" [ "$reply" = 42 ]
gsh u 'wc -l </mnt/log'; n1=$reply
sleep 1
gsh u 'wc -l </mnt/log'; n2=$reply
expect "20 upgrades: the writer still writes ($n1 -> $n2 lines)" [ "${n2:-0}" -gt "${n1:-0}" ]
gsh u 'dmesg | grep -cE "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ"'
expect "20 upgrades: no RCU stall, BUG, Oops or stuck interrupt in the guest's dmesg (${reply:-?} lines)" \
  [ "$reply" = 0 ]
[ "$reply" = 0 ] || gsh u 'dmesg | grep -E "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ" | head -n 3 | tr "\n" "|"'
[ "$reply" = 0 ] || echo "#   $reply"

# --- 7. refusals: the VM runs on with the old binary ----------------------------------------
printf '#!/bin/sh\necho 9.0\n' >"$tmp/v9"
printf '#!/bin/sh\necho "not a duvisor"\n' >"$tmp/other"
printf '#!/bin/sh\n[ "$1" = --snapshot-version ] && { echo 1.0; exit 0; }\nDUVISOR_UPGRADE_TEST_REFUSE=1 exec %s "$@"\n' \
  "$duvisor" >"$tmp/refuse"
chmod +x "$tmp/v9" "$tmp/other" "$tmp/refuse"
before=$(done_lines u)
# refused NAME TEXT ARGS...: duvisor upgrade ARGS exits 2 with one line holding TEXT.
refused() {
  local name=$1 text=$2; shift 2
  upgrade "$sock" "$@"
  expect "refused: $name: exit 2 (status $status)" [ "$status" = 2 ]
  expect "refused: $name: one line, 'duvisor: ...$text...'" \
    eval '[ "$(wc -l <"$tmp/up.err")" = 1 ] && grep -q "^duvisor: .*$text" "$tmp/up.err"'
  [ "$status" = 2 ] && grep -q "$text" "$tmp/up.err" || sed 's/^/#   /' "$tmp/up.err"
  expect "refused: $name: the VM runs on" runs_on u "$sock"
  expect "refused: $name: in the same process" [ "$(proc_start "$upid")" = "$ustart" ]
}
refused "a binary reading snapshot format 9" "reads snapshot format 9" --binary "$tmp/v9"
refused "a missing binary" "nope" --binary "$tmp/nope"
refused "a binary that does not say its snapshot format" "does not say which snapshot format" --binary "$tmp/other"
api "$sock" PUT /upgrade "{\"binary\": \"$tmp/v9\"}"
expect "refused: PUT /upgrade with the format-9 binary is 400 (status $code)" [ "$code" = 400 ]
expect "refused: none of these counted as an upgrade" [ "$(done_lines u)" = "$before" ]
refused "a binary that cannot take the VM over" "could not take the VM over" --binary "$tmp/refuse"
expect "refused: the way back logged no 'Live upgrade N done'" [ "$(done_lines u)" = "$before" ]
gsh u 'echo back-$((6*7))'
expect "refused: the guest shell answers after the way back" [ "$reply" = back-42 ]
upgrade "$sock"
expect "refused: a normal upgrade afterwards succeeds (status $status)" [ "$status" = 0 ]
[ "$status" = 0 ] || sed 's/^/#   /' "$tmp/up.err"
expect "refused: ... and is upgrade $((before + 1))" grep -q "Live upgrade $((before + 1)) done" "$tmp/u.err"
expect "refused: the VM runs on after it" runs_on u "$sock"

# --- 8. a paused VM stays paused ------------------------------------------------------------
expect_api "paused: PATCH /vm Paused" 204 "$sock" PATCH /vm '{"state":"Paused"}'
upgrade "$sock"
expect "paused: the upgrade exits 0 (status $status)" [ "$status" = 0 ]
[ "$status" = 0 ] || sed 's/^/#   /' "$tmp/up.err"
expect "paused: GET / still says Paused" vm_state "$sock" Paused
expect "paused: the guest prints nothing" quiet u 1.5
expect_api "paused: PATCH /vm Resumed" 204 "$sock" PATCH /vm '{"state":"Resumed"}'
expect "paused: then the guest runs on" runs_on u "$sock"
expect "paused: no tick lost or repeated so far" consecutive u

# --- 8. a VM restored from a snapshot is upgraded too ----------------------------------------
timeout 120 "$duvisor" snapshot --api-sock "$sock" --snapshot "$tmp/st" --mem "$tmp/mem" --keep-paused \
  2>"$tmp/snap.err"
status=$?
expect "restored: snapshot of the upgraded VM (status $status)" [ "$status" = 0 ]
kill9 u
rsock=$tmp/r.sock
start r restore --snapshot "$tmp/st" --mem "$tmp/mem" --api-sock "$rsock"
rpid=${pid[r]}
expect "restored: it runs on" wait_ticks r 2 60
rstart=$(proc_start "$rpid")
upgrade "$rsock"
expect "restored: duvisor upgrade of the restored VM exits 0 (status $status)" [ "$status" = 0 ]
[ "$status" = 0 ] || sed 's/^/#   /' "$tmp/up.err"
expect "restored: the upgraded process is the same one" [ "$(proc_start "$rpid")" = "$rstart" ]
expect "restored: stderr says the upgrade is done" grep -q 'Live upgrade [0-9]* done' "$tmp/r.err"
expect "restored: it runs on after the upgrade" runs_on r "$rsock"
expect "restored: no tick lost or repeated over 20+ upgrades, a snapshot and an upgrade" consecutive u r
gsh r 'dmesg | grep -cE "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ"'
expect "restored: still nothing wrong in the guest's dmesg (${reply:-?} lines)" [ "$reply" = 0 ]

# The end: the workers stop, the disk is unmounted, poweroff ends the process.
gsh r "kill$workers; sleep 0.5; sync; wc -l </mnt/log"; nfinal=$reply
gsh r 'umount /mnt && echo unmounted'
expect "end: the disk unmounts" [ "$reply" = unmounted ]
type_in r 'poweroff -f'
wait_exit r 60
expect "end: poweroff ends the upgraded duvisor with status 0 (status $status)" [ "$status" = 0 ]
expect "end: the image is a clean ext4 (e2fsck -fn)" fsck_clean "$img"
expect "end: the log on the image has every line, none repeated (${nfinal:-?} lines)" \
  eval 'debugfs -R "cat /log" "$img" 2>/dev/null | lines_consecutive && [ "$(debugfs -R "cat /log" "$img" 2>/dev/null | wc -l)" = "${nfinal:-x}" ]'

echo "# upgrade.sh took $(($(date +%s) - started)) s (DUVISOR_JIT=${DUVISOR_JIT:-unset})"
