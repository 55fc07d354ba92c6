#!/usr/bin/env bash
# Live upgrade keeps the guest's TCP connections through user-mode networking:
# libslirp lives in its own helper process, whose socket the upgrade hands over.
# A connection from the host into the guest (hostfwd) and one from the guest to
# a host listener both carry numbered lines across two upgrades, none lost,
# none repeated, none out of order; the helper process ends with the VM.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
helpers_pid=''
cleanup() {
  vm_cleanup
  [ -n "$helpers_pid" ] && kill -9 $helpers_pid 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

command -v python3 >/dev/null || { skip "upgrade_net: every check" "no python3"; exit 0; }

# Two free TCP ports on 127.0.0.1: the hostfwd one and the host listener's.
read -r fwd_port listen_port < <(python3 -c 'import socket
a = [socket.socket() for _ in range(2)]
for s in a: s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in a))')

start vm run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" --api-sock "$tmp/sock" \
  --net "user,hostfwd=tcp::$fwd_port-:7000"

wait_for vm '^/ # ' 120 && wait_for vm 'inet 10\.0\.2\.15|ready' 30
expect "upgrade_net: the guest boots with user networking" wait_for vm '^/ # ' 1
helpers_pid=$(pgrep -f -- "__net-user .*hostfwd=tcp::$fwd_port-" | tr "\n" " ")
expect "upgrade_net: user networking runs in a helper process" [ -n "$helpers_pid" ]

# The host's listener: counts what the guest sends over one connection.
python3 - "$listen_port" "$tmp/listening" >"$tmp/listener" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); s.settimeout(90)
open(sys.argv[2], "w").close()  # listening: the guest may connect now
c, _ = s.accept(); c.settimeout(90)
data = b""
while True:
    chunk = c.recv(65536)
    if not chunk: break
    data += chunk
print(" ".join(data.decode().split()))
PY
listener=$!
# Each side connects only once the other listens (a loaded host is slow to
# start python or nc: a refused connection left the listener empty).
for i in $(seq 300); do [ -e "$tmp/listening" ] && break; sleep 0.1; done
# Guest side: one listener fed by the host (hostfwd), one sender to the host.
type_in vm "nc -l -p 7000 > /tmp/from_host &"
gsh vm "i=0; while [ \$i -lt 300 ] && ! netstat -ltn | grep -q ':7000 '; do i=\$((i+1)); sleep 0.1; done; echo \$i" 60
type_in vm "( i=0; while [ \$i -lt 60 ]; do i=\$((i+1)); echo \$i; sleep 0.1; done ) | nc 10.0.2.2 $listen_port &"
python3 - "$fwd_port" >"$tmp/sender" 2>&1 <<'PY' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
for i in range(1, 61):
    s.sendall(f"{i}\n".encode()); time.sleep(0.1)
s.close()
print("sent")
PY
sender=$!
sleep 1.5
"$duvisor" upgrade --api-sock "$tmp/sock" 2>"$tmp/up1"
up1=$?
sleep 1.5
"$duvisor" upgrade --api-sock "$tmp/sock" 2>"$tmp/up2"
up2=$?
expect "upgrade_net: two live upgrades while both connections carry data (status $up1, $up2)" \
  sh -c "[ $up1 -eq 0 ] && [ $up2 -eq 0 ]"
wait $sender
wait $listener
want=$(seq 1 60 | tr '\n' ' ' | sed 's/ $//')
got=$(cat "$tmp/listener")
expect "upgrade_net: guest -> host connection: every line, in order, once" [ "$got" = "$want" ]
[ "$got" = "$want" ] && : || echo "#   got: $got"
sleep 0.5
type_in vm 'echo from-host $(tr "\n" " " < /tmp/from_host) end'
wait_for vm '^from-host [0-9]' 20
got=$(tr -d '\r' <"$tmp/vm.out" | grep -a '^from-host ' | tail -1 | sed 's/^from-host //; s/ *end$//')
expect "upgrade_net: host -> guest connection (hostfwd): every line, in order, once" [ "$got" = "$want" ]
[ "$got" = "$want" ] && : || echo "#   got: $got"
expect "upgrade_net: the VMM is the same process" kill -0 "${pid[vm]}"
expect "upgrade_net: two upgrades logged" [ "$(grep -c 'Live upgrade [0-9]* done' "$tmp/vm.err")" -eq 2 ]

# The helper belongs to the VM: it ends when the VMM does.
type_in vm "poweroff -f"
wait_exit vm 30
expect "upgrade_net: poweroff ends the VMM with status 0 (got $status)" [ "$status" = 0 ]
[ "$status" = 0 ] || tr -d '\r' <"$tmp/vm.out" | tail -5 | sed 's/^/#   /' 
gone=1
for _ in $(seq 50); do
  gone=1
  for p in $helpers_pid; do kill -0 "$p" 2>/dev/null && gone=0; done
  [ $gone = 1 ] && break
  sleep 0.1
done
expect "upgrade_net: the user-networking helper ended with the VM" [ $gone = 1 ]
