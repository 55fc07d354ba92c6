#!/usr/bin/env bash
# Snapshot and restore with the real guest, as a user relies on them: a VM
# saved with `duvisor snapshot` and killed runs on in a new process from
# `duvisor restore` (smp 1 and 2) with its processes, its open files on an
# ext4 disk, its console stream and its clock where they were (no jump by the
# time the snapshot sat on disk); a restored VM can be snapshotted again (a
# chain; at smp 1 through a Diff snapshot merged with rebase-memory); disk
# requests in flight at the snapshot complete after the restore and leave a
# clean file system; PUT /snapshot/create's rules (paused only, a Diff only
# after a Full); Firecracker's PUT /snapshot/load and its refusals; and bad
# snapshot files refused with one line and status 2, before any guest runs.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT
give_up_on_hung=1 # a guest that stopped answering: later waits on it give up at once

for tool in curl python3 mke2fs e2fsck debugfs; do
  command -v $tool >/dev/null || { skip "snapshot: every check" "no $tool on this host"; exit 0; }
done
kernel=$(guest_image)
initramfs=$(guest_initramfs)
started=$(date +%s)

# --- helpers (beside tests/lib_vm.sh's) ------------------------------------------------------

now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
# The guest's ticker prints <tN> once per N: each number once, in order. The
# form survives the terminal's echo of typed commands landing in the same line.
ticks() { # ticks NAME...: the tick numbers in the consoles of NAME..., one a line
  local n
  for n in "$@"; do cat "$tmp/$n.out"; done | grep -ao '<t[0-9]*>' | tr -d '<t>'
}
last_tick() { ticks "$@" | tail -n1; }
# consecutive NAME...: the ticks across these consoles, concatenated, are 1, 2, 3, ...
consecutive() {
  ticks "$@" | python3 -c 'import sys
t = [int(x) for x in sys.stdin.read().split()]
bad = [(a, b) for a, b in zip(t, t[1:]) if b != a + 1]
if not t or t[0] != 1 or bad:
    print("#   %d ticks, first %s, breaks (before, after): %s" % (len(t), t[:1], bad[:8]))
    sys.exit(1)'
}
# wait_ticks NAME N [SECONDS]: until NAME's console shows N ticks past the current last one.
wait_ticks() {
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
# quiet NAME SECONDS: NAME's console writes nothing for SECONDS.
quiet() {
  local s0
  s0=$(stat -c %s "$tmp/$1.out"); sleep "$2"
  [ "$s0" = "$(stat -c %s "$tmp/$1.out")" ]
}
# lines_consecutive: stdin is "line 1", "line 2", ... with none missing or repeated.
lines_consecutive() {
  python3 -c 'import sys
l = sys.stdin.read().split("\n")
if l and l[-1] == "": l.pop()
want = ["line %d" % (i + 1) for i in range(len(l))]
if not l or l != want:
    bad = [(i + 1, x) for i, x in enumerate(l) if i >= len(want) or x != want[i]]
    print("#   %d lines, first wrong: %s" % (len(l), bad[:3]))
    sys.exit(1)'
}
small_file() { [ -f "$1" ] && [ "$(stat -c %s "$1")" -lt 65536 ]; }
is_state_file() { [ "$(head -c 8 "$1" 2>/dev/null)" = DUVISNAP ]; }
# sparse FILE SIZE: FILE is exactly SIZE bytes long, and fewer than half of them are allocated.
sparse() {
  local len used
  len=$(stat -c %s "$1" 2>/dev/null); used=$(du -B1 "$1" 2>/dev/null | cut -f1)
  echo "#   $1: $len bytes long, $used allocated"
  [ "${len:-0}" = "$2" ] && [ "${used:-$2}" -lt $(($2 / 2)) ]
}
# mkdisk FILE SIZE: an ext4 image over 0xff bytes (a write lost would show as 0xff, not zeros).
mkdisk() {
  python3 -c "import sys; sys.stdout.buffer.write(b'\xff' * ($2 << 20))" >"$1"
  mke2fs -q -F -t ext4 -E nodiscard "$1" >/dev/null 2>&1
}
fsck_clean() { # fsck_clean IMAGE: e2fsck -fn finds nothing (its report on failure)
  local out
  out=$(e2fsck -fn "$1" 2>&1) && return 0
  printf '%s\n' "$out" | tail -n 8 | sed 's/^/#   /'
  return 1
}
ram=$((256 << 20)) # duvisor run's default --memory
ram_mib=256

# The guest's two workers: a ticker on the console (and /tmp/c), and a writer
# that keeps one file open on the disk and appends a numbered line every 0.1 s.
# (/tmp/c is replaced by a rename, so that a reader never finds it empty)
ticker='( i=0; while :; do i=$((i+1)); echo $i >/tmp/c.new; mv /tmp/c.new /tmp/c; echo "<t$i>"; sleep 0.2; done ) & echo "ticker=$!"'
writer='( exec 7>>/mnt/log; j=0; while :; do j=$((j+1)); echo "line $j" >&7; sleep 0.1; done ) & echo "writer=$!"'

# boot NAME SMP DISK SOCK: a VM with the disk mounted on /mnt, at its shell prompt.
boot() {
  start "$1" run --kernel "$kernel" --initrd "$initramfs" --smp "$2" --disk "$3" --api-sock "$4"
  wait_for "$1" '^/ # ' 180 && gsh "$1" 'mkdir -p /mnt && mount /dev/vda /mnt && echo mounted' &&
    [ "$reply" = mounted ]
}
# guest_pid NAME VAR: the PID the guest printed as "VAR=PID" (after type_in ... & echo VAR=$!).
guest_pid() {
  wait_for "$1" "^$2=[0-9]+\$" 30 || return 1
  tr -d '\r' <"$tmp/$1.out" | sed -n "s/^$2=\([0-9]*\)\$/\1/p" | tail -n1
}
# uptime_ok UP0 UP1 RUNNING: the guest's clock went from UP0 to UP1, forward,
# by no more than the RUNNING seconds the guest ran (plus 1 s of slack).
uptime_ok() {
  echo "#   uptime $1 -> $2, guest ran at most $3 s"
  python3 -c "import sys; sys.exit(not ($1 < $2 < $1 + $3 + 1.0))"
}
snapshot_cmd() { # snapshot_cmd SOCK STATE MEM [--keep-paused]: duvisor snapshot; $status, $tmp/snap.err
  timeout 120 "$duvisor" snapshot --api-sock "$1" --snapshot "$2" --mem "$3" ${4:+"$4"} \
    2>"$tmp/snap.err"
  status=$?
  [ "$status" = 0 ] || sed 's/^/#   /' "$tmp/snap.err"
}

# --- 1. round trip at smp 1 and 2, and a chain -----------------------------------------------
create_body() { # create_body STATE MEM TYPE
  echo "{\"snapshot_path\": \"$1\", \"mem_file_path\": \"$2\", \"snapshot_type\": \"$3\"}"
}
allocated() { du -B1 "$1" 2>/dev/null | cut -f1; }
# The guest's kernel log has no sign of trouble: a stall, a BUG or Oops, an
# interrupt line the kernel had to disable.
dmesg_clean() { # dmesg_clean NAME
  gsh "$1" 'dmesg | grep -cE "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ"'
  [ "$reply" = 0 ] && return 0
  gsh "$1" 'dmesg | grep -E "rcu.*(stall|detected)|BUG|Oops|nobody cared|Disabling IRQ" | head -n 3 | tr "\n" "|"'
  echo "#   dmesg: $reply"
  return 1
}

# roundtrip SMP: boot, snapshot (kept paused, so the disk stays as the snapshot
# has it), SIGKILL, sleep, restore in a new process, check everything runs on;
# then snapshot the restored VM, kill it and restore that too (at smp 1 the
# second snapshot is a Diff, merged onto its base with rebase-memory).
roundtrip() {
  local smp=$1 a=a$1 b=b$1 c=c$1 img=$tmp/disk$1.img st=$tmp/st$1 mem=$tmp/mem$1 t
  local cpid wpid up0 w0 ws wr up1 w1 n1 n2 n3 nfinal
  t="smp $smp"
  mkdisk "$img" 64
  expect "$t: the guest boots with an ext4 disk and the API socket, and mounts the disk" \
    boot "$a" "$smp" "$img" "$tmp/$a.sock"
  type_in "$a" "$ticker"
  cpid=$(guest_pid "$a" ticker)
  type_in "$a" "$writer"
  wpid=$(guest_pid "$a" writer)
  expect "$t: the guest's ticker runs (pid ${cpid:-?}), the writer too (pid ${wpid:-?})" \
    wait_ticks "$a" 5 60

  if [ "$smp" = 1 ]; then # --- 3. PUT /snapshot/create's rules, on a VM never snapshotted
    api "$tmp/$a.sock" PUT /snapshot/create "$(create_body "$tmp/x.st" "$tmp/x.mem" Full)"
    expect "create: refused while the VM runs (status $code)" [ "$code" = 400 ]
    expect_api "create: PATCH /vm Paused" 204 "$tmp/$a.sock" PATCH /vm '{"state":"Paused"}'
    api "$tmp/$a.sock" PUT /snapshot/create "$(create_body "$tmp/x.st" "$tmp/x.mem" Diff)"
    expect "create: a Diff with no Full snapshot before it is refused (status $code)" [ "$code" = 400 ]
    expect "create: the refused requests wrote no file" [ ! -e "$tmp/x.st" -a ! -e "$tmp/x.mem" ]
    expect "create: the VM is still paused" vm_state "$tmp/$a.sock" Paused
    expect_api "create: PATCH /vm Resumed" 204 "$tmp/$a.sock" PATCH /vm '{"state":"Resumed"}'
    expect "create: the guest runs on" wait_ticks "$a" 2 30
  fi

  gsh "$a" 'cat /proc/uptime'; up0=${reply%% *}; w0=$(now)
  snapshot_cmd "$tmp/$a.sock" "$st" "$mem" --keep-paused
  ws=$(now)
  expect "$t: duvisor snapshot --keep-paused exits 0 (status $status)" [ "$status" = 0 ]
  expect "$t: the state file is small and starts with DUVISNAP ($(stat -c %s "$st" 2>/dev/null) bytes)" \
    eval 'small_file "$st" && is_state_file "$st"'
  expect "$t: the memory file is the RAM's size and sparse" sparse "$mem" $ram
  expect "$t: --keep-paused leaves the VM paused" vm_state "$tmp/$a.sock" Paused
  expect "$t: while paused, the console stays quiet" quiet "$a" 1.5
  if [ "$smp" = 1 ]; then # for section 4: the disk as the snapshot has it
    cp --sparse=always "$img" "$tmp/disk1-at-snapshot.img"
  fi
  kill9 "$a"
  sleep 3 # the snapshot sits on disk: the guest must not see this time pass

  wr=$(now)
  start "$b" restore --snapshot "$st" --mem "$mem" --api-sock "$tmp/$b.sock"
  expect "$t restored: the ticker ticks again in the new process" wait_ticks "$b" 2 60
  expect "$t restored: the ticks continue the console's stream (no restart, none lost or repeated)" \
    consecutive "$a" "$b"
  gsh "$b" 'cat /proc/uptime'; up1=${reply%% *}; w1=$(now)
  expect "$t restored: /proc/uptime continues, without the time spent on disk" \
    uptime_ok "${up0:-0}" "${up1:-0}" "$(calc "round($ws - $w0 + $w1 - $wr, 2)")"
  gsh "$b" "kill -0 $cpid && kill -0 $wpid && echo alive"
  expect "$t restored: the ticker and the writer are the same processes (same PIDs)" [ "$reply" = alive ]
  gsh "$b" 'cat /tmp/c'
  expect "$t restored: the ticker's tmpfs file follows it (${reply:-?})" [ "${reply:-0}" -ge "$(last_tick "$a")" ]
  gsh "$b" 'wc -l </mnt/log'; n1=$reply
  sleep 1
  gsh "$b" 'wc -l </mnt/log'; n2=$reply
  gsh "$b" 'sync && wc -l </mnt/log'; n3=$reply
  expect "$t restored: the open file on the disk grows ($n1 -> $n2 -> $n3 lines after sync)" \
    [ "${n1:-0}" -gt 0 -a "${n2:-0}" -gt "${n1:-0}" -a "${n3:-0}" -ge "${n2:-0}" ]
  gsh "$b" 'mount | grep -c "^/dev/vda on /mnt type ext4 (rw"'
  expect "$t restored: the disk is still mounted read-write" [ "$reply" = 1 ]

  local chain_mem=$mem.2 diff=
  if [ "$smp" = 1 ]; then # --- 3. continued: Diff and Full on a restored VM
    expect_api "create: PATCH /vm Paused on the restored VM" 204 "$tmp/$b.sock" PATCH /vm '{"state":"Paused"}'
    expect_api "create: a Diff on a VM restored from a Full snapshot" 204 "$tmp/$b.sock" PUT /snapshot/create \
      "$(create_body "$tmp/x.st" "$tmp/x.mem" Diff)"
    expect "create: the Diff's memory file is RAM-sized and holds less than the Full one ($(allocated "$tmp/x.mem") < $(allocated "$mem") bytes)" \
      eval '[ "$(stat -c %s "$tmp/x.mem")" = $ram ] && [ "$(allocated "$tmp/x.mem")" -lt "$(allocated "$mem")" ] && is_state_file "$tmp/x.st"'
    expect "create: the VM stays paused after it" vm_state "$tmp/$b.sock" Paused
    expect_api "create: PATCH /vm Resumed" 204 "$tmp/$b.sock" PATCH /vm '{"state":"Resumed"}'
    expect "create: the guest runs on after it" wait_ticks "$b" 2 30
    # duvisor snapshot without --keep-paused: the VM runs on. This Full one is
    # the base of the Diff the chain below restores from.
    snapshot_cmd "$tmp/$b.sock" "$tmp/y.st" "$tmp/y.mem"
    expect "snapshot: without --keep-paused, exits 0 (status $status)" [ "$status" = 0 ]
    expect "snapshot: without --keep-paused, the VM runs on" vm_state "$tmp/$b.sock" Running
    expect "snapshot: without --keep-paused, the ticker ticks on" wait_ticks "$b" 2 30
    rm -f "$tmp/x.st" "$tmp/x.mem"
    diff=--diff
  fi

  # The chain: a snapshot of the restored VM, restored in a third process.
  gsh "$b" 'cat /proc/uptime'; up0=${reply%% *}; w0=$(now)
  timeout 120 "$duvisor" snapshot --api-sock "$tmp/$b.sock" --snapshot "$st.2" --mem "$mem.2" \
    --keep-paused $diff 2>"$tmp/snap.err"
  status=$?
  ws=$(now)
  expect "$t chain: a ${diff:+Diff }snapshot of the restored VM (status $status)" [ "$status" = 0 ]
  [ "$status" = 0 ] || sed 's/^/#   /' "$tmp/snap.err"
  expect "$t chain: the memory file is the RAM's size and sparse" sparse "$mem.2" $ram
  kill9 "$b"
  if [ -n "$diff" ]; then # the Diff merged onto a copy of its base, the last Full snapshot
    chain_mem=$tmp/rebased.mem
    cp --sparse=always "$tmp/y.mem" "$chain_mem"
    timeout 60 "$duvisor" rebase-memory --base "$chain_mem" --diff "$mem.2" 2>"$tmp/rebase.err"
    status=$?
    expect "$t chain: duvisor rebase-memory merges the Diff onto its base (status $status)" [ "$status" = 0 ]
    [ "$status" = 0 ] || sed 's/^/#   /' "$tmp/rebase.err"
  fi
  wr=$(now)
  start "$c" restore --snapshot "$st.2" --mem "$chain_mem"
  expect "$t chain: the second restore ticks on" wait_ticks "$c" 2 60
  expect "$t chain: the ticks continue across all three processes" consecutive "$a" "$b" "$c"
  gsh "$c" 'cat /proc/uptime'; up1=${reply%% *}; w1=$(now)
  expect "$t chain: /proc/uptime continues again" \
    uptime_ok "${up0:-0}" "${up1:-0}" "$(calc "round($ws - $w0 + $w1 - $wr, 2)")"
  gsh "$c" "kill -0 $cpid && kill -0 $wpid && echo alive"
  expect "$t chain: the same ticker and writer" [ "$reply" = alive ]
  expect "$t chain: nothing wrong in the guest's kernel log" dmesg_clean "$c"
  # Power off cleanly: stop the workers, unmount, poweroff.
  gsh "$c" "kill $wpid $cpid; sleep 0.3; sync; wc -l </mnt/log"; nfinal=$reply
  gsh "$c" 'umount /mnt && echo unmounted'
  expect "$t chain: the disk unmounts" [ "$reply" = unmounted ]
  type_in "$c" 'poweroff -f'
  wait_exit "$c" 60
  expect "$t chain: poweroff in the guest ends the restored duvisor with status 0 (status $status)" \
    [ "$status" = 0 ]
  expect "$t: the disk image is a clean ext4 (e2fsck -fn)" fsck_clean "$img"
  expect "$t: the log on the image has every line, before and after both restores (${nfinal:-?} lines)" \
    eval 'debugfs -R "cat /log" "$img" 2>/dev/null | lines_consecutive && [ "$(debugfs -R "cat /log" "$img" 2>/dev/null | wc -l)" = "${nfinal:-x}" ]'
  rm -f "$mem.2" "$tmp/rebased.mem" "$tmp/y.st" "$tmp/y.mem" "$img"
}
roundtrip 1
roundtrip 2

# --- 2. disk requests in flight at the snapshot ----------------------------------------------
# Two writers at once: dd with O_DIRECT, 4 KiB at a time (a request in flight
# almost always, for seconds), and a buffered dd whose writeback and fsync
# queue many large requests. The snapshot comes once the first has 1 MiB out.
img=$tmp/diskdd.img
mkdisk "$img" 128
expect "in flight: boot smp 2 with a 128 MiB disk" boot d1 2 "$img" "$tmp/d1.sock"
direct=$((8192 * 4096)) buffered=$((512 * 65536)) # 32 MiB each
type_in d1 "$ticker" # a sign of life while the disk is busy
expect "in flight: the ticker runs" wait_ticks d1 3 60
# Their "NAME-exit=N" lines may follow a prompt on the same console line: matched unanchored.
type_in d1 "( dd if=/dev/zero of=/mnt/direct bs=4k count=8192 oflag=direct conv=fsync 2>/tmp/dd1.err; echo \"direct-exit=\$?\" ) &"
type_in d1 "( dd if=/dev/zero of=/mnt/buffered bs=64k count=512 conv=fsync 2>/tmp/dd2.err; echo \"buffered-exit=\$?\" ) &"
for i in $(seq 600); do
  gsh d1 'stat -c %s /mnt/direct 2>/dev/null || echo 0'
  [ "${reply:-0}" -ge $((1 << 20)) ] 2>/dev/null && break
  sleep 0.1
done
snapshot_cmd "$tmp/d1.sock" "$tmp/std" "$tmp/memd" --keep-paused
expect "in flight: snapshot during dd (status $status, the direct dd at ${reply:-?} bytes)" [ "$status" = 0 ]
expect "in flight: the direct dd had not finished at the snapshot" eval '! shows d1 "direct-exit=[0-9]"'
kill9 d1
start d2 restore --snapshot "$tmp/std" --mem "$tmp/memd"
# wait_dd NAME WORD SECONDS: until WORD's dd prints its exit status, the kernel
# disables an interrupt (the disk would never answer again), or the guest's
# ticker has stood still for 20 s (the guest hangs).
wait_dd() {
  local i t last=x still=0
  for i in $(seq $(($3 * 10))); do
    shows "$1" "$2-exit=[0-9]|Disabling IRQ" && return 0
    kill -0 "${pid[$1]}" 2>/dev/null || return 1
    [ -z "${hung[$1]:-}" ] || return 1
    t=$(last_tick "$1")
    if [ "$t" = "$last" ]; then still=$((still + 1)); else still=0 last=$t; fi
    if [ $still -ge 200 ]; then
      hung[$1]=1
      echo "#   $1: the ticker stopped at ${t:-nothing} for 20 s: the guest hangs"
      return 1
    fi
    sleep 0.1
  done
  return 1
}
for w in direct buffered; do
  if shows d1 "$w-exit=[0-9]"; then
    skip "in flight: after the restore, the $w dd finishes with status 0" "it ended before the snapshot"
  else
    wait_dd d2 "$w" 120
    expect "in flight: after the restore, the $w dd finishes with status 0" shows d2 "$w-exit=0(\$|[^0-9])"
  fi
done
expect "in flight: the ticks continue across the restore" consecutive d1 d2
shows d2 'direct-exit=0($|[^0-9])' || { tail -n 5 "$tmp/d2.out" | sed 's/^/#   /'; sed 's/^/#   /' "$tmp/d2.err"; }
gsh d2 'sync && echo synced'
expect "in flight: sync works after it" [ "$reply" = synced ]
gsh d2 'stat -c %s /mnt/direct /mnt/buffered | tr "\n" " "'
expect "in flight: the guest sees both files whole (${reply:-?} bytes)" [ "$reply" = "$direct $buffered " ]
expect "in flight: nothing wrong in the guest's kernel log" dmesg_clean d2
gsh d2 'umount /mnt && echo unmounted'
expect "in flight: the disk unmounts" [ "$reply" = unmounted ]
type_in d2 'poweroff -f'
wait_exit d2 60
expect "in flight: poweroff ends the restored duvisor with status 0 (status $status)" [ "$status" = 0 ]
expect "in flight: the image passes e2fsck -fn" fsck_clean "$img"
for w in direct buffered; do
  debugfs -R "dump /$w $tmp/$w.out" "$img" >/dev/null 2>&1
  eval "len=\$$w"
  expect "in flight: /$w on the image has its full size, all zeros ($(stat -c %s "$tmp/$w.out" 2>/dev/null) bytes)" \
    eval '[ "$(stat -c %s "$tmp/$w.out")" = $len ] && cmp -s -n $len "$tmp/$w.out" /dev/zero'
  rm -f "$tmp/$w.out"
done
rm -f "$img" "$tmp/memd"

# --- 4. Firecracker's PUT /snapshot/load -----------------------------------------------------
# The smp 1 snapshot again, with its disk put back as it was at the snapshot.
st=$tmp/st1 mem=$tmp/mem1
load_body() { # load_body RESUME [BACKEND-TYPE]
  echo "{\"snapshot_path\": \"$st\", \"mem_backend\": {\"backend_type\": \"${2:-File}\", \"backend_path\": \"$mem\"}, \"resume_vm\": $1}"
}
cp --sparse=always "$tmp/disk1-at-snapshot.img" "$tmp/disk1.img"
start f1 --api-sock "$tmp/f1.sock"
expect "load: the VMM's socket appears" wait_sock f1 "$tmp/f1.sock"
expect_api "load: PUT /snapshot/load with resume_vm true" 204 "$tmp/f1.sock" PUT /snapshot/load "$(load_body true)"
expect "load: GET / says Running" vm_state "$tmp/f1.sock" Running
expect "load: the guest's ticker runs on" wait_ticks f1 2 60
expect "load: its ticks continue those of the snapshotted VM" consecutive a1 f1
gsh f1 'echo $((6*7))'
expect "load: the guest's shell answers" [ "$reply" = 42 ]
api "$tmp/f1.sock" PUT /snapshot/load "$(load_body true)"
expect "load: a second load is refused (status $code)" [ "$code" = 400 ]
expect "load: the guest runs on after the refusal" wait_ticks f1 2 30
kill -TERM "${pid[f1]}"
wait_exit f1 30
expect "load: SIGTERM ends it with status 0 (status $status)" [ "$status" = 0 ]

start f2 --api-sock "$tmp/f2.sock"
wait_sock f2 "$tmp/f2.sock"
expect_api "load: PUT /machine-config" 204 "$tmp/f2.sock" PUT /machine-config \
  "{\"vcpu_count\": 1, \"mem_size_mib\": $ram_mib}"
api "$tmp/f2.sock" PUT /snapshot/load "$(load_body true)"
expect "load: refused after PUT /machine-config (status $code)" [ "$code" = 400 ]
api "$tmp/f2.sock" PUT /snapshot/load "$(load_body true Uffd)"
expect "load: the Uffd backend is refused (status $code)" [ "$code" = 400 ]
expect "load: the VMM is still Not started" vm_state "$tmp/f2.sock" "Not started"
kill -TERM "${pid[f2]}"
wait_exit f2 30

# The deprecated mem_file_path, resume_vm false: loaded paused, resumed by PATCH /vm.
cp --sparse=always "$tmp/disk1-at-snapshot.img" "$tmp/disk1.img"
start f3 --api-sock "$tmp/f3.sock"
wait_sock f3 "$tmp/f3.sock"
api "$tmp/f3.sock" PUT /snapshot/load "$(load_body true Uffd)"
expect "load: Uffd refused on a fresh VMM too (status $code)" [ "$code" = 400 ]
printf 'garbage' >"$tmp/garbage.st"
api "$tmp/f3.sock" PUT /snapshot/load \
  "{\"snapshot_path\": \"$tmp/garbage.st\", \"mem_file_path\": \"$mem\", \"resume_vm\": true}"
expect "load: a state file that is not one is refused (status $code)" [ "$code" = 400 ]
expect_api "load: the deprecated mem_file_path, resume_vm false" 204 "$tmp/f3.sock" PUT /snapshot/load \
  "{\"snapshot_path\": \"$st\", \"mem_file_path\": \"$mem\", \"resume_vm\": false}"
expect "load: resume_vm false leaves it Paused" vm_state "$tmp/f3.sock" Paused
expect "load: paused, the guest prints nothing" quiet f3 1.5
expect_api "load: PATCH /vm Resumed" 204 "$tmp/f3.sock" PATCH /vm '{"state":"Resumed"}'
expect "load: then the guest runs on" wait_ticks f3 2 60
type_in f3 'poweroff -f'
wait_exit f3 60
expect "load: poweroff ends it with status 0 (status $status)" [ "$status" = 0 ]

# --- 5. bad snapshot files -------------------------------------------------------------------
# Each corrupt input is a copy of the good files, changed. duvisor restore must
# refuse it with one line on stderr and status 2, before any guest runs.
bad=$tmp/bad
mkdir "$bad"
corrupt() { # corrupt NAME PYTHON: a copy of the state file, changed by PYTHON over bytearray b
  python3 -c "import sys
b = bytearray(open(sys.argv[1], 'rb').read())
$2
open(sys.argv[2], 'wb').write(b)" "$st" "$bad/$1"
}
corrupt trunc1 'b = b[:-1]'
corrupt half 'b = b[:len(b) // 2]'
corrupt flip 'b[len(b) // 2] ^= 0x10'
corrupt magic 'b[0:8] = b"DUVISNAQ"'
corrupt major 'b[8:12] = (2).to_bytes(4, "little")'
cp --sparse=always "$mem" "$bad/mem.short"
truncate -s -4096 "$bad/mem.short"
mkdir "$bad/dir"
# refuse NAME STATE MEM: restore exits 2, one "duvisor: " line on stderr, no guest output.
refuse() {
  local out=$bad/$1.out err=$bad/$1.err
  timeout 60 "$duvisor" restore --snapshot "$2" --mem "$3" </dev/null >"$out" 2>"$err"
  status=$?
  expect "bad input: $1: exit 2 (status $status)" [ "$status" = 2 ]
  expect "bad input: $1: one line on stderr, 'duvisor: ...'" \
    eval '[ "$(wc -l <"$err")" = 1 ] && grep -q "^duvisor: " "$err"'
  expect "bad input: $1: no guest output" [ ! -s "$out" ]
  [ "$status" = 2 ] && [ "$(wc -l <"$err")" = 1 ] || sed 's/^/#   /' "$err" | head -n 5
}
refuse "missing state file" "$bad/nope" "$mem"
refuse "state file 1 byte short" "$bad/trunc1" "$mem"
refuse "state file cut in half" "$bad/half" "$mem"
refuse "one bit flipped in the state file" "$bad/flip" "$mem"
refuse "magic changed" "$bad/magic" "$mem"
refuse "format major version 2" "$bad/major" "$mem"
expect "bad input: the major version's message names the snapshot format" \
  grep -qi 'version' "$bad/format major version 2.err"
refuse "memory file 4096 bytes short" "$st" "$bad/mem.short"
refuse "memory file missing" "$st" "$bad/nope.mem"
refuse "a directory as the state file" "$bad/dir" "$mem"
refuse "a directory as the memory file" "$st" "$bad/dir"

echo "# snapshot.sh took $(($(date +%s) - started)) s (DUVISOR_JIT=${DUVISOR_JIT:-unset})"
