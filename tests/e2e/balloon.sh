#!/usr/bin/env bash
# `duvisor run --balloon`: the virtio balloon with Linux's virtio_balloon
# driver in a 256 MiB guest. Checked: bad --balloon values exit 2 with one
# line; with most of guest RAM touched (a tmpfs file written and removed),
# inflating 64 MiB through the API (PATCH /balloon) makes the guest hand
# 64 MiB over (actual_mib, the guest's MemTotal) and duvisor's RssShmem (the
# guest-RAM memfd's resident pages) drop by about that much; the statistics
# come back with sane values and refresh; `duvisor balloon` sets the target
# and prints the statistics; a snapshot's memory file leaves the inflated
# pages out and its restore brings the balloon back working; deflating gives
# the pages back to the guest. In
# a second VM, free page reporting returns a removed tmpfs file's pages to
# the host without any inflation, and with deflate-on-oom a guest allocation
# larger than what the balloon leaves succeeds (the guest deflates). Runs
# with the JIT and with DUVISOR_JIT=off alike.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); [ -n "${KEEP_TMP:-}" ] && echo "# tmp: $tmp"
trap 'vm_cleanup; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT

for bad in bogus stats=x stats=99999 amount=300 deflate-on-oom,nope; do
  "$duvisor" run --kernel /dev/null --memory 256M --balloon "$bad" >/dev/null 2>"$tmp/bad.err"
  st=$?
  expect "--balloon '$bad': exit 2 with one line (status $st)" \
    sh -c "[ $st -eq 2 ] && [ \$(wc -l <'$tmp/bad.err') -eq 1 ]"
done
"$duvisor" balloon --api-sock "$tmp/none.sock" --amount-mib 1 >/dev/null 2>"$tmp/bad.err"
st=$?
expect "duvisor balloon without a VM: fails with one line (status $st)" \
  sh -c "[ $st -ne 0 ] && [ \$(wc -l <'$tmp/bad.err') -eq 1 ]"

kernel=$(guest_image) initrd=$(guest_initramfs)
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
  skip "balloon: every guest check" "the guest is not built (scripts/build-guest)"
  exit 0
fi
boot=(run --kernel "$kernel" --initrd "$initrd" --memory 256M)

between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }
rss_shmem() { awk '/^RssShmem:/ {print int($2 / 1024)}' "/proc/$1/status"; } # MiB
stat_of() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], -1))' "$1" "$2"; }
# balloon_actual SOCK: the balloon's actual_mib ($body holds the statistics)
balloon_actual() { api "$1" GET /balloon/statistics; stat_of "$body" actual_mib; }
# wait_actual SOCK MIB SECONDS: until actual_mib is MIB
wait_actual() {
  local i
  for i in $(seq $(($3 * 2))); do
    [ "$(balloon_actual "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  return 1
}
# touch_memory NAME: write a tmpfs file of all but 40 MiB of what the guest has
# available and remove it, so nearly every page of guest RAM has been touched,
# with bytes that are not zero (a snapshot leaves zero pages out anyway).
touch_memory() {
  gsh "$1" "mount -o remount,size=95% /tmp && echo ok"
  gsh "$1" "awk '/MemAvailable/ {print int((\$2 / 1024 - 40) / 16) * 16}' /proc/meminfo"
  fill_mib=$reply
  # 16 MiB of text (1 MiB, doubled four times), then that as often as fits
  gsh "$1" "yes 0123456789abcdef | head -c 1048576 >/tmp/c; for i in 1 2 3 4; do cat /tmp/c /tmp/c >/tmp/d; mv /tmp/d /tmp/c; done; n=0; while [ \$n -lt $fill_mib ]; do cat /tmp/c; n=\$((n + 16)); done >/tmp/fill; rm /tmp/c /tmp/fill; echo done" 180
}

# --- inflate, deflate, statistics ------------------------------------------------------------
sock=$tmp/bal.sock
start bal "${boot[@]}" --balloon stats=1 --api-sock "$sock"
expect "balloon: the guest boots to its shell" wait_for bal 'duvisor-guest: ready' 120
gsh bal "ls /sys/bus/virtio/drivers/virtio_balloon | grep -c virtio"
expect "balloon: the guest's virtio_balloon driver binds the device ($reply)" [ "$reply" = 1 ]
expect_api "balloon: GET /balloon" 200 "$sock" GET /balloon
expect "balloon: GET /balloon says what --balloon asked ($body)" \
  json_ok "$body" "d == {'amount_mib': 0, 'deflate_on_oom': False, 'stats_polling_interval_s': 1, 'free_page_reporting': False}"
gsh bal "awk '/MemTotal/ {print int(\$2 / 1024)}' /proc/meminfo"
total_before=$reply
touch_memory bal
expect "balloon: the guest wrote and removed a ${fill_mib} MiB file ($reply)" [ "$reply" = done ]
rss0=$(rss_shmem "${pid[bal]}")
expect_api "balloon: PATCH /balloon to 64 MiB" 204 "$sock" PATCH /balloon '{"amount_mib": 64}'
expect "balloon: the guest inflates to 64 MiB" wait_actual "$sock" 64 60
rss1=$(rss_shmem "${pid[bal]}")
drop=$((rss0 - rss1))
expect "balloon: duvisor's RssShmem drops by about 64 MiB ($rss0 -> $rss1 MiB: $drop)" \
  between "$drop" 52 72
gsh bal "awk '/MemTotal/ {print int(\$2 / 1024)}' /proc/meminfo"
expect "balloon: the guest's MemTotal shrinks by 64 MiB ($total_before -> $reply)" \
  between $((total_before - reply)) 63 65
api "$sock" GET /balloon/statistics
expect "balloon: statistics have the target and actual size ($body)" \
  json_ok "$body" "d['target_pages'] == 16384 and d['actual_pages'] == 16384 and d['target_mib'] == 64 and d['actual_mib'] == 64"
expect "balloon: the guest's statistics are sane" \
  json_ok "$body" "0 < d['free_memory'] <= d['total_memory'] <= 256 << 20 and 0 < d['available_memory'] <= d['total_memory'] and d['minor_faults'] > 0 and d['disk_caches'] >= 0"
free0=$(stat_of "$body" free_memory)
gsh bal "dd if=/dev/zero of=/tmp/f2 bs=1M count=24 2>/dev/null; echo ok"
refreshed=
for i in $(seq 20); do
  sleep 0.5
  api "$sock" GET /balloon/statistics
  [ "$(stat_of "$body" free_memory)" -lt $((free0 - (16 << 20))) ] && { refreshed=1; break; }
done
expect "balloon: statistics refresh (free memory follows a 24 MiB file)" [ -n "$refreshed" ]
expect_api "balloon: PATCH /balloon/statistics to 2 s" 204 "$sock" PATCH /balloon/statistics \
  '{"stats_polling_interval_s": 2}'
expect_api "balloon: statistics cannot be turned off after boot" 400 "$sock" \
  PATCH /balloon/statistics '{"stats_polling_interval_s": 0}'
expect_api "balloon: PUT /balloon after boot is refused" 400 "$sock" PUT /balloon \
  '{"amount_mib": 1, "deflate_on_oom": false}'
expect_api "balloon: more than the guest's memory is refused" 400 "$sock" PATCH /balloon \
  '{"amount_mib": 257}'
# `duvisor balloon`: the same through the command line
"$duvisor" balloon --api-sock "$sock" --amount-mib 32 >"$tmp/cmd.out" 2>&1
st=$?
expect "duvisor balloon --amount-mib 32 (status $st)" [ "$st" -eq 0 ]
expect "balloon: the guest deflates to 32 MiB" wait_actual "$sock" 32 60
"$duvisor" balloon --api-sock "$sock" --stats >"$tmp/cmd.out" 2>&1
st=$?
expect "duvisor balloon --stats prints the statistics (status $st)" \
  sh -c "[ $st -eq 0 ] && grep -q '\"actual_mib\": *32' '$tmp/cmd.out' && grep -q free_memory '$tmp/cmd.out'"
# a snapshot of the inflated VM: the memory file leaves the balloon's pages out
api "$sock" PATCH /vm '{"state": "Paused"}'
rss_snap=$(rss_shmem "${pid[bal]}")
expect_api "balloon: a snapshot with 32 MiB inflated" 204 "$sock" PUT /snapshot/create \
  "{\"snapshot_path\": \"$tmp/bal.state\", \"mem_file_path\": \"$tmp/bal.mem\"}"
api "$sock" PATCH /vm '{"state": "Resumed"}'
mem_mib=$(($(du -k "$tmp/bal.mem" | cut -f1) / 1024))
expect "balloon: the memory file leaves the inflated pages out ($mem_mib MiB; $rss0 MiB resident before inflating)" \
  [ "$mem_mib" -le $((rss0 - 48)) ]
expect_api "balloon: PATCH /balloon to 0" 204 "$sock" PATCH /balloon '{"amount_mib": 0}'
expect "balloon: the guest deflates to 0" wait_actual "$sock" 0 60
gsh bal "awk '/MemTotal/ {print int(\$2 / 1024)}' /proc/meminfo"
expect "balloon: the guest has its memory back ($reply MiB)" [ "$reply" = "$total_before" ]
gsh bal "dd if=/dev/zero of=/tmp/f3 bs=1M count=100 2>/dev/null && rm /tmp/f2 /tmp/f3 && echo ok" 120
expect "balloon: the guest uses the deflated memory ($reply)" [ "$reply" = ok ]
type_in bal "poweroff -f"
wait_exit bal 60
expect "balloon: the guest powers off (status $status)" [ "$status" -eq 0 ]

# the snapshot restored: the balloon's target and size are back, and it still works
sock=$tmp/restored.sock
start restored restore --snapshot "$tmp/bal.state" --mem "$tmp/bal.mem" --api-sock "$sock"
wait_sock restored "$sock"
api "$sock" GET /balloon/statistics
expect "balloon (restored): target and actual are the snapshot's ($body)" \
  json_ok "$body" "d['target_mib'] == 32 and d['actual_mib'] == 32"
expect_api "balloon (restored): PATCH /balloon to 48 MiB" 204 "$sock" PATCH /balloon '{"amount_mib": 48}'
expect "balloon (restored): the guest inflates to 48 MiB" wait_actual "$sock" 48 60
expect_api "balloon (restored): PATCH /balloon to 0" 204 "$sock" PATCH /balloon '{"amount_mib": 0}'
expect "balloon (restored): the guest deflates to 0" wait_actual "$sock" 0 60
gsh restored "echo restored-\$((2 + 3))" 60
expect "balloon (restored): the guest shell answers ($reply)" [ "$reply" = restored-5 ]
type_in restored "poweroff -f"
wait_exit restored 60
expect "balloon (restored): the guest powers off (status $status)" [ "$status" -eq 0 ]

# --- free page reporting and deflate-on-oom --------------------------------------------------
sock=$tmp/oom.sock
start oom "${boot[@]}" --balloon deflate-on-oom,free-page-reporting,stats=1 --api-sock "$sock"
expect "balloon (reporting): the guest boots" wait_for oom 'duvisor-guest: ready' 120
gsh oom "mount -o remount,size=95% /tmp && awk '/MemAvailable/ {print int(\$2 / 1024) - 40}' /proc/meminfo"
fill_mib=$reply
gsh oom "dd if=/dev/zero of=/tmp/fill bs=1M count=$fill_mib 2>/dev/null; echo done" 120
rss0=$(rss_shmem "${pid[oom]}")
gsh oom "rm /tmp/fill; echo ok"
reported=
for i in $(seq 60); do
  sleep 0.5
  rss1=$(rss_shmem "${pid[oom]}")
  [ $((rss0 - rss1)) -ge $((fill_mib / 2)) ] && { reported=1; break; }
done
expect "balloon (reporting): freeing a $fill_mib MiB file gives its pages back ($rss0 -> $rss1 MiB)" \
  [ -n "$reported" ]
# inflate to all but ~56 MiB, then allocate more than that in the guest
expect_api "balloon (oom): PATCH /balloon to 200 MiB" 204 "$sock" PATCH /balloon '{"amount_mib": 200}'
last=-1
for i in $(seq 60); do
  sleep 1
  now=$(balloon_actual "$sock")
  [ "$now" = 200 ] || [ "$now" = "$last" ] && break
  last=$now
done
inflated=$(balloon_actual "$sock")
expect "balloon (oom): the guest inflates to most of 200 MiB ($inflated MiB)" [ "$inflated" -ge 150 ]
gsh oom "awk '/MemAvailable/ {print int(\$2 / 1024)}' /proc/meminfo"
left=$reply
want=$((left + 40))
gsh oom "dd if=/dev/zero of=/tmp/big bs=1M count=$want 2>/dev/null; ls -l /tmp/big | awk '{print int(\$5 / 1048576)}'" 240
expect "balloon (oom): a $want MiB allocation with $left MiB left succeeds ($reply MiB written)" \
  [ "$reply" = "$want" ]
after=$(balloon_actual "$sock")
expect "balloon (oom): the guest deflated to make room ($inflated -> $after MiB)" \
  [ "$after" -lt "$inflated" ]
expect "balloon (oom): nothing was OOM-killed" sh -c "! grep -q 'Killed process' '$tmp/oom.out'"
api "$sock" PATCH /balloon '{"amount_mib": 0}'
gsh oom "rm /tmp/big; echo ok"
expect "balloon (oom): the guest shell still answers ($reply)" [ "$reply" = ok ]
type_in oom "poweroff -f"
wait_exit oom 60
expect "balloon (oom): the guest powers off (status $status)" [ "$status" -eq 0 ]
