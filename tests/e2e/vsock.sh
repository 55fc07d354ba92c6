#!/usr/bin/env bash
# virtio-vsock with Firecracker's hybrid Unix-socket design, against the
# reference guest's AF_VSOCK (guest/programs/vsock.c in the guest, the same
# program built for the host, socat and python3 as the misbehaving peers).
# Checked: 16 parallel streams host -> guest and guest -> host, each
# VSOCK_MIB MiB (64 by default; 8 with DUVISOR_JIT=off, where 1 GiB each way
# takes the interpreter minutes), with the same checksums at both ends; a
# host connect to a port nobody listens on is closed and a guest connect to
# a host port with no listener fails with ECONNRESET; garbage, malformed
# and silent CONNECT lines are closed, a flooding host peer is held back by
# a guest that does not read and a non-reading host peer holds back the
# guest, and after all of them the guest still runs and a new connection
# carries data; a snapshot restored in a new process listens on the socket
# again (connections reset, the guest's listener still there); PUT /vsock
# before InstanceStart makes the device in API mode. Bad --vsock values:
# exit 2 with one line.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); [ -n "${KEEP_TMP:-}" ] && echo "# tmp: $tmp"
host_pids=()
trap 'vm_cleanup; for p in "${host_pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${KEEP_TMP:-}" ] || rm -rf "$tmp"' EXIT
started=$(date +%s)
mib=${VSOCK_MIB:-$([ "${DUVISOR_JIT:-}" = off ] && echo 8 || echo 64)}
bytes=$((mib << 20))

for bad in "" "cid=2,uds=$tmp/x" "cid=abc,uds=$tmp/x" "cid=3" "uds=$tmp/x" "cid=3,uds=$tmp/x,port=1" \
  "cid=4294967295,uds=$tmp/x"; do
  "$duvisor" run --kernel /dev/null --vsock "$bad" >/dev/null 2>"$tmp/bad.err"
  st=$?
  expect "--vsock '$bad': exit 2 with one line (status $st)" \
    sh -c "[ $st -eq 2 ] && [ \$(wc -l <'$tmp/bad.err') -eq 1 ] && grep -q vsock '$tmp/bad.err'"
done

kernel=$(guest_image) initrd=$(guest_initramfs)
if [ ! -f "$kernel" ] || [ ! -f "$initrd" ]; then
  skip "vsock: every guest check" "the guest is not built (scripts/build-guest)"
  exit 0
fi
peer=$tmp/vsock_peer
if ! cc -O2 -o "$peer" "$repo_root/guest/programs/vsock.c"; then
  not_ok "vsock: the host peer builds"
  exit 0
fi
uds=$tmp/v.sock

# "bytes sum" of every stream line in a file, sorted: equal sets mean equal streams.
sums() { tr -d '\r' <"$1" | sed -n "s/^stream [0-9]* $2 \([0-9]* [0-9a-f]*\)$/\1/p" | sort; }
same_streams() { # FILE-A DIR-A FILE-B DIR-B COUNT
  local a b
  a=$(sums "$1" "$2") b=$(sums "$3" "$4")
  [ "$(echo "$a" | grep -c "^$bytes ")" -eq "$5" ] && [ "$a" = "$b" ]
}
# one_stream HOST-FILE GUEST-FILE: one 1 MiB stream, host sent = guest received.
one_stream() {
  local a b
  a=$(tr -d '\r' <"$1" | sed -n 's/^stream 0 sent //p') b=$(tr -d '\r' <"$2" | sed -n 's/^stream 0 recv //p')
  [ -n "$a" ] && [ "$a" = "$b" ] && [ "${a%% *}" = 1048576 ]
}
# python3 -c SCRIPT against the hybrid socket: its last line of output in $said.
pyhost() { said=$(timeout 30 python3 -c "$1" "$uds" 2>&1 | tail -n1); }

start g run --kernel "$kernel" --initrd "$initrd" --memory 256M --vsock "cid=5,uds=$uds" \
  --api-sock "$tmp/g.api"
expect "vsock: the guest boots to its shell" wait_for g 'duvisor-guest: ready' 120
expect "vsock: the socket exists" [ -S "$uds" ]
gsh g "cat /sys/bus/virtio/devices/*/device | grep -c 0x0013"
expect "vsock: the guest sees a virtio socket device ($reply)" [ "$reply" = 1 ]

# --- 16 streams each way ----------------------------------------------------------------
type_in g "vsock listen vsock:1234 sink 16 >/tmp/h2g.out 2>&1 &"
sleep 1
t0=$(date +%s)
timeout 300 "$peer" connect "hybrid:$uds:1234" "source:$bytes" 16 >"$tmp/h2g.host" 2>&1
t1=$(date +%s)
gsh g "sleep 1; cat /tmp/h2g.out | tr '\n' ';'"
tr ';' '\n' <<<"$reply" >"$tmp/h2g.guest"
expect "vsock: 16 streams of $mib MiB host -> guest, checksums equal ($((t1 - t0)) s)" \
  same_streams "$tmp/h2g.host" sent "$tmp/h2g.guest" recv 16

"$peer" listen "unix:${uds}_777" sink 16 >"$tmp/g2h.host" 2>&1 &
host_pids+=($!)
sleep 0.5
t0=$(date +%s)
gsh g "vsock connect vsock:2:777 source:$bytes 16 | tr '\n' ';'" 300
t1=$(date +%s)
tr ';' '\n' <<<"$reply" >"$tmp/g2h.guest"
sleep 0.5
expect "vsock: 16 streams of $mib MiB guest -> host, checksums equal ($((t1 - t0)) s)" \
  same_streams "$tmp/g2h.guest" sent "$tmp/g2h.host" recv 16

# --- refusals ---------------------------------------------------------------------------
"$peer" connect "hybrid:$uds:999" sink 1 >"$tmp/refused.host" 2>&1
expect "vsock: a host connect to a guest port nobody listens on is closed" \
  grep -q 'connect: Connection refused' "$tmp/refused.host"
gsh g "vsock connect vsock:2:778 sink 1 2>&1 | head -n1"
expect "vsock: a guest connect to a host port with no listener is reset ($reply)" \
  sh -c "echo '$reply' | grep -q 'Connection reset by peer'"

# --- misbehaving host peers -------------------------------------------------------------
pyhost 'import socket, sys
lines = [b"GARBAGE\x00\xff\n", b"CONNECT abc\n", b"CONNECT 99999999999\n", b"CONNECT -1\n",
         b"connect 1234\n", b"CONNECT  1234\n", b"X" * 100]
closed = 0
for line in lines:
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.settimeout(10)
    s.sendall(line)
    try:
        closed += s.recv(64) == b""
    except OSError:
        closed += 1
print(closed, "of", len(lines), "closed")'
expect "vsock: garbage and malformed CONNECT lines are closed ($said)" [ "$said" = "7 of 7 closed" ]
printf 'NOT A CONNECT LINE\n' | timeout 10 socat -t5 - "UNIX-CONNECT:$uds" >"$tmp/socat.out" 2>&1
expect "vsock: socat sending garbage gets nothing back, closed" \
  sh -c "[ \$? -eq 0 ] && [ ! -s '$tmp/socat.out' ]"
pyhost 'import socket, sys, time
silent = []
for i in range(20):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); silent.append(s)
time.sleep(1)
gone = 0
for s in silent[:4]:
    s.settimeout(5)
    gone += s.recv(1) == b""
print(gone, "oldest closed")'
expect "vsock: 20 silent connections: the 4 oldest are closed for newer ones ($said)" \
  [ "$said" = "4 oldest closed" ]
type_in g "vsock listen vsock:1300 hold 1 >/dev/null 2>&1 &"
sleep 1
pyhost 'import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(b"CONNECT 1300\n")
assert s.recv(64).startswith(b"OK ")
s.setblocking(False)
sent, chunk, end = 0, b"x" * 65536, time.time() + 4
while time.time() < end:
    try:
        sent += s.send(chunk)
    except BlockingIOError:
        time.sleep(0.05)
print("held" if sent < (64 << 20) else "unbounded", sent)'
expect "vsock: a host peer flooding a guest that does not read is held back ($said)" \
  sh -c "echo '$said' | grep -q '^held'"
python3 -c 'import socket, sys, time
l = socket.socket(socket.AF_UNIX); l.bind(sys.argv[1]); l.listen(4)
c, _ = l.accept(); time.sleep(20)' "${uds}_779" &
host_pids+=($!)
sleep 0.5
gsh g "timeout 5 vsock connect vsock:2:779 source:$((32 << 20)) 1 >/dev/null 2>&1; echo \$?" 30
expect "vsock: a host peer that never reads holds the guest's sender back (status $reply)" \
  [ "$reply" = 143 ]
gsh g "echo alive-\$((3 * 4))"
expect "vsock: the guest still runs after the misbehaving peers ($reply)" [ "$reply" = alive-12 ]
type_in g "vsock listen vsock:1235 sink 1 >/tmp/after.out 2>&1 &"
sleep 1
"$peer" connect "hybrid:$uds:1235" "source:$((1 << 20))" 1 >"$tmp/after.host" 2>&1
gsh g "sleep 1; cat /tmp/after.out | tr '\n' ';'"
tr ';' '\n' <<<"$reply" >"$tmp/after.guest"
expect "vsock: a new connection after them carries data" one_stream "$tmp/after.host" "$tmp/after.guest"

# --- snapshot and restore ---------------------------------------------------------------
type_in g "vsock listen vsock:1400 sink 1 >/tmp/restored.out 2>&1 &"
sleep 1
api "$tmp/g.api" PATCH /vm '{"state": "Paused"}'
api "$tmp/g.api" PUT /snapshot/create \
  "{\"snapshot_path\": \"$tmp/g.state\", \"mem_file_path\": \"$tmp/g.mem\"}"
expect "vsock: a snapshot is taken (status $code)" [ "$code" = 204 ]
kill9 g
start r restore --snapshot "$tmp/g.state" --mem "$tmp/g.mem"
expect "vsock: the restored VM listens on the socket again" wait_sock r "$uds"
sleep 1
"$peer" connect "hybrid:$uds:1400" "source:$((1 << 20))" 1 >"$tmp/restored.host" 2>&1
gsh r "sleep 1; cat /tmp/restored.out | tr '\n' ';'" 60
expect "vsock: the guest's listener carries a new connection after the restore ($reply)" \
  sh -c "echo '$reply' | grep -q 'stream 0 recv 1048576 ' && grep -q '^stream 0 sent 1048576 ' '$tmp/restored.host'"
type_in r "poweroff -f"
wait_exit r 60
expect "vsock: the restored guest powers off (status $status)" [ "$status" -eq 0 ]
expect "vsock: the socket file is gone after exit" [ ! -e "$uds" ]

# --- the API: PUT /vsock ------------------------------------------------------------------
sock=$tmp/fc.sock
start fc --api-sock "$sock"
expect "api: the API socket appears" wait_sock fc "$sock"
expect_api "api: PUT /boot-source" 204 "$sock" PUT /boot-source \
  "{\"kernel_image_path\": \"$kernel\", \"initrd_path\": \"$initrd\", \"boot_args\": \"console=ttyS0 earlycon=sbi\"}"
expect_api "api: PUT /vsock with cid 2 is refused" 400 "$sock" PUT /vsock \
  "{\"guest_cid\": 2, \"uds_path\": \"$tmp/fc.vsock\"}"
expect_api "api: PUT /vsock with an unknown field is refused" 400 "$sock" PUT /vsock \
  "{\"guest_cid\": 3, \"uds_path\": \"$tmp/fc.vsock\", \"port\": 1}"
expect_api "api: PUT /vsock" 204 "$sock" PUT /vsock \
  "{\"vsock_id\": \"vsock0\", \"guest_cid\": 3, \"uds_path\": \"$tmp/fc.vsock\"}"
expect_api "api: InstanceStart" 204 "$sock" PUT /actions '{"action_type": "InstanceStart"}'
expect "api: the guest boots" wait_for fc 'duvisor-guest: ready' 120
api "$sock" GET /vm/config
expect "api: GET /vm/config has the vsock" \
  json_ok "$body" "d['vsock']['guest_cid'] == 3 and d['vsock']['uds_path'] == '$tmp/fc.vsock'"
expect_api "api: PUT /vsock after start is refused" 400 "$sock" PUT /vsock \
  "{\"guest_cid\": 4, \"uds_path\": \"$tmp/fc2.vsock\"}"
type_in fc "vsock listen vsock:52 sink 1 >/tmp/api.out 2>&1 &"
sleep 1
"$peer" connect "hybrid:$tmp/fc.vsock:52" "source:$((1 << 20))" 1 >"$tmp/api.host" 2>&1
gsh fc "sleep 1; cat /tmp/api.out | tr '\n' ';'"
expect "api: a host connect reaches the guest ($reply)" \
  sh -c "echo '$reply' | grep -q 'stream 0 recv 1048576 '"
type_in fc "poweroff -f"
wait_exit fc 60
expect "api: the guest powers off (status $status)" [ "$status" -eq 0 ]
echo "# vsock.sh took $(($(date +%s) - started)) s (DUVISOR_JIT=${DUVISOR_JIT:-unset}, $mib MiB streams)"
