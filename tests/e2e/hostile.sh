#!/usr/bin/env bash
# A hostile bare guest (tests/e2e/payloads/hostile.c) with a disk, a NIC on user
# networking, the entropy, console and keyboard devices and random console
# input: it feeds every device window and SBI call garbage (all widths and
# offsets, hostile descriptor chains and queue addresses, random SBI calls,
# HSM starts at bad addresses, a second hart doing the same at smp 2), checks
# the refusals the specs define, then uses every device properly and reports
# "hostile: alive". The VM must survive it and power off with status 0,
# under build/duvisor and the ASan+UBSan build, and the disk image may change
# only where the guest was allowed to write: sectors from 2048 up (a read-only
# disk, not at all). A snapshot taken in the middle of the abuse restores and
# runs to the end, and so does the VM through live upgrades.
#
# Seeds: HOSTILE_SEEDS (default "1" and one that changes every day); a
# failure names its seed and smp: rerun with HOSTILE_SEEDS=N (and
# HOSTILE_ROUNDS=N for more device rounds).
set -u
. "$(dirname "$0")/../lib.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
asan=${DUVISOR_ASAN:-$repo_root/build/asan/duvisor}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
payloads=$repo_root/tests/e2e/payloads

if ! command -v riscv64-linux-gnu-gcc >/dev/null; then
  skip "hostile guest: every check" "no riscv64-linux-gnu-gcc"
  exit 0
fi
riscv64-linux-gnu-gcc -O2 -march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax -ffreestanding \
  -fno-builtin -fno-tree-loop-distribute-patterns -fno-stack-protector -fno-pic -nostdlib \
  -nostartfiles -static -no-pie -Wall -Wextra -Werror -Wl,--build-id=none \
  -Wl,-T,"$payloads/hostile.ld" -I"$payloads" -o "$tmp/hostile.elf" \
  "$payloads/hostile_entry.S" "$payloads/hostile.c" 2>"$tmp/cc.err" &&
  riscv64-linux-gnu-objcopy -O binary "$tmp/hostile.elf" "$tmp/hostile.Image"
expect "hostile guest: the payload builds" [ -s "$tmp/hostile.Image" ]
[ -s "$tmp/hostile.Image" ] || { sed 's/^/#   /' "$tmp/cc.err" | head -20; exit 0; }

# The disk: sector 0 names it, sectors 1..2047 hold 0xa5 (the guest never
# writes below 2048), the rest 'Z'; 4 MiB in all.
sectors=8192 zone=2048
{
  printf 'duvisor hostile disk'
  head -c $((512 - 20)) /dev/zero
  head -c $(((zone - 1) * 512)) /dev/zero | tr '\0' '\245'
  head -c $(((sectors - zone) * 512)) /dev/zero | tr '\0' 'Z'
} >"$tmp/disk.orig"

# Console input for the UART, the virtio console and the SBI console reads:
# bytes of every value, the same for a given seed.
input() {
  LC_ALL=C awk -v s="$1" 'BEGIN { srand(s); for (i = 0; i < 49152; i++) printf "%c", int(rand() * 256) }'
}

# hostile NAME BINARY SMP SEED ROUNDS [STRIDE [ro]]: one run and its checks.
hostile() {
  local name=$1 bin=$2 smp=$3 seed=$4 rounds=$5 stride=${6:-1} ro=${7:-} status t0 t1 fails
  cp "$tmp/disk.orig" "$tmp/disk.img"
  input "$seed" >"$tmp/in"
  t0=$(date +%s.%N)
  ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 timeout 120 "$bin" run \
    --smp "$smp" --kernel "$tmp/hostile.Image" --disk "$tmp/disk.img${ro:+,ro}" --net user \
    --append "hostile.seed=$seed hostile.rounds=$rounds hostile.stride=$stride hostile.ro=${ro:+1}" \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
  status=$?
  t1=$(date +%s.%N)
  name="hostile guest ($name, smp $smp, seed $seed)"
  fails=$(grep -ac 'hostile: FAIL' "$tmp/out")
  expect "$name: alive at the end, $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s" \
    grep -aq "^hostile: alive (seed $seed," "$tmp/out"
  expect "$name: powers off with status 0 (status $status)" [ "$status" -eq 0 ]
  expect "$name: no check failed ($fails)" [ "$fails" -eq 0 ]
  local dev ok=1
  for dev in virtio-blk virtio-net virtio-rng virtio-console virtio-input uart; do
    grep -aq "hostile: $dev ok" "$tmp/out" || { ok=0; echo "#   $dev did not work afterwards"; }
  done
  expect "$name: every device works after the abuse" [ $ok -eq 1 ]
  expect "$name: no sanitizer report" \
    sh -c "! grep -aqE 'AddressSanitizer|LeakSanitizer|runtime error:' '$tmp/err'"
  if [ -n "$ro" ]; then
    expect "$name: the read-only disk is unchanged" cmp -s "$tmp/disk.img" "$tmp/disk.orig"
  else
    expect "$name: the disk keeps its size, and sectors 0..$((zone - 1)) (not the guest's) their bytes" \
      sh -c "[ $(stat -c %s "$tmp/disk.img") = $(stat -c %s "$tmp/disk.orig") ] &&
             cmp -s -n $((zone * 512)) '$tmp/disk.img' '$tmp/disk.orig'"
    expect "$name: the guest's last write is on the disk" \
      sh -c "dd if='$tmp/disk.img' bs=512 skip=$((sectors - 1)) count=1 2>/dev/null |
             grep -aq 'hostile wrote this, seed $seed'"
  fi
  if [ "$status" -ne 0 ] || [ "$fails" -ne 0 ] || ! grep -aq "^hostile: alive" "$tmp/out"; then
    grep -a 'hostile: ' "$tmp/out" | grep -av 'dbcn write$' | tail -n 25 | sed 's/^/#   /'
    grep -av '^$' "$tmp/err" | tail -n 25 | sed 's/^/#   /'
  fi
}

seeds=${HOSTILE_SEEDS:-"1 $((1000 + 10#$(date +%j)))"}
rounds=${HOSTILE_ROUNDS:-16}
for seed in $seeds; do
  for smp in 1 2; do
    hostile "$(basename "$duvisor")" "$duvisor" $smp "$seed" "$rounds"
  done
done
hostile "$(basename "$duvisor"), read-only disk" "$duvisor" 2 "${seeds%% *}" "$rounds" 1 ro
# The device rounds after the windows last about 3 s here (0.75 ms a round):
# long enough that the guest is still at it when the snapshot or the third
# upgrade comes, even on a loaded host (300 rounds ended first, once).
long_rounds=4000

# A snapshot in the middle of the device abuse (queues in every state the
# hostile driver left them in) restores in a new process, which goes on to
# the end: alive, status 0.
snapshot_run() {
  local seed=$1 i p st name="hostile guest (snapshot mid-abuse and restore, smp 2, seed $1)"
  cp "$tmp/disk.orig" "$tmp/disk.img"
  input "$seed" >"$tmp/in"
  rm -f "$tmp/h.sock" "$tmp/h.state" "$tmp/h.mem"
  "$duvisor" run --smp 2 --kernel "$tmp/hostile.Image" --disk "$tmp/disk.img" --net user \
    --api-sock "$tmp/h.sock" --append "hostile.seed=$seed hostile.rounds=$long_rounds" \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
  p=$!
  for i in $(seq 600); do
    [ -S "$tmp/h.sock" ] && grep -aq 'hostile: windows done' "$tmp/out" && break
    kill -0 $p 2>/dev/null || break
    sleep 0.1
  done
  sleep 0.3
  "$duvisor" snapshot --api-sock "$tmp/h.sock" --snapshot "$tmp/h.state" --mem "$tmp/h.mem" \
    >"$tmp/snap.err" 2>&1
  st=$?
  kill -9 $p 2>/dev/null
  wait $p 2>/dev/null
  expect "$name: the snapshot is taken (status $st)" [ $st -eq 0 ]
  [ $st -eq 0 ] || { sed 's/^/#   /' "$tmp/snap.err" "$tmp/err" | tail -n 10; return; }
  ASAN_OPTIONS=detect_leaks=1 timeout 120 "$duvisor" restore --snapshot "$tmp/h.state" \
    --mem "$tmp/h.mem" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
  st=$?
  expect "$name: the restored VM goes on to the end (status $st)" \
    sh -c "[ $st -eq 0 ] && grep -aq '^hostile: alive (seed $seed,' '$tmp/out' &&
           ! grep -aq 'hostile: FAIL' '$tmp/out'"
  [ $st -eq 0 ] || grep -av '^$' "$tmp/err" | tail -n 10 | sed 's/^/#   /'
  grep -a 'hostile: FAIL' "$tmp/out" | head -n 10 | sed 's/^/#   /'
}
snapshot_run "${seeds%% *}"

# Live upgrades in the middle of the abuse: each one takes, and the guest goes on.
upgrade_run() {
  local seed=$1 i p st ups=0 name="hostile guest (3 live upgrades mid-abuse, smp 2, seed $1)"
  cp "$tmp/disk.orig" "$tmp/disk.img"
  input "$seed" >"$tmp/in"
  rm -f "$tmp/h.sock"
  "$duvisor" run --smp 2 --kernel "$tmp/hostile.Image" --disk "$tmp/disk.img" --net user \
    --api-sock "$tmp/h.sock" --append "hostile.seed=$seed hostile.rounds=$long_rounds" \
    <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
  p=$!
  for i in $(seq 600); do
    [ -S "$tmp/h.sock" ] && grep -aq 'hostile: windows done' "$tmp/out" && break
    kill -0 $p 2>/dev/null || break
    sleep 0.1
  done
  for i in 1 2 3; do
    "$duvisor" upgrade --api-sock "$tmp/h.sock" >>"$tmp/up.err" 2>&1 && ups=$((ups + 1))
  done
  for i in $(seq 1200); do kill -0 $p 2>/dev/null || break; sleep 0.1; done
  kill -9 $p 2>/dev/null
  wait $p
  st=$?
  expect "$name: every upgrade takes ($ups of 3)" [ $ups -eq 3 ]
  expect "$name: the guest goes on to the end (status $st)" \
    sh -c "[ $st -eq 0 ] && grep -aq '^hostile: alive (seed $seed,' '$tmp/out' &&
           ! grep -aq 'hostile: FAIL' '$tmp/out'"
  [ $ups -eq 3 ] || sed 's/^/#   /' "$tmp/up.err" | tail -n 5
}
upgrade_run "${seeds%% *}"

# Under the sanitizers, 10 times slower: each seed once (smp 2, 1, 2, ...), the
# sweep past each window's registers thinned to one offset in 4.
if [ -x "$asan" ]; then
  smp=2
  for seed in $seeds; do
    hostile "ASan+UBSan" "$asan" $smp "$seed" $((rounds / 2)) 4
    smp=$((3 - smp))
  done
else
  skip "hostile guest under ASan+UBSan" "no $asan (make B=build/asan ... all)"
fi
