#!/usr/bin/env bash
# The jail (`--jail DIR`) as a user relies on it: a jailed VM boots and runs;
# the VMM inside sees only DIR (its own files were opened before), runs as
# nobody with no capabilities, in namespaces of its own, with nothing the
# launcher leaked; paths from the API are inside DIR and a host path outside
# it cannot be opened; the waiter outside forwards SIGTERM and takes the VMM
# with it when killed; Firecracker's command line jails the same way; and
# an unprivileged user gets the same jail through a user namespace.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'vm_cleanup; rm -rf "$tmp"' EXIT
if [ "$(id -u)" != 0 ]; then
  skip "jail" "these checks run as root (and as nobody through setpriv)"
  exit 0
fi
# The guest's files where nobody can read them too (the cache may be under /root).
cp "$(guest_image)" "$tmp/Image"
cp "$(guest_initramfs)" "$tmp/initramfs"
chmod 644 "$tmp/Image" "$tmp/initramfs"
truncate -s 32M "$tmp/disk.img"
chmod 666 "$tmp/disk.img"
mkdir -p "$tmp/jail"
chmod 777 "$tmp/jail"
echo "inside the jail" >"$tmp/jail/visible.txt"
touch "$tmp/jail/other.img" && truncate -s 1M "$tmp/jail/other.img" && chmod 666 "$tmp/jail/other.img"

# jailed WAITER: the VMM in the jail (the waiter's child; setpriv execs in place)
jailed() { pgrep -P "$1" | head -1; }
field() { awk -v f="$2:" '$1 == f {print $2}' /proc/"$1"/status; }
threads_filtered() {
  local t
  for t in /proc/"$1"/task/*; do
    [ "$(awk '/^Seccomp:/ {print $2}' "$t/status")" = 2 ] || return 1
  done
}
ns_differs() { [ "$(readlink /proc/"$1"/ns/"$2")" != "$(readlink /proc/self/ns/"$2")" ]; }

# --- duvisor run, as root ----------------------------------------------------------------
# fd 7 is a directory the launcher leaked: a way out of any chroot if kept.
exec 7<"$repo_root"
# A hostfwd port of its own tells this VM's helper from other tests'.
port=$((20000 + RANDOM % 20000))
start root run --jail "$tmp/jail" --kernel "$tmp/Image" --initrd "$tmp/initramfs" \
  --disk "$tmp/disk.img" --net user,hostfwd=tcp:127.0.0.1:$port-:22 --api-sock /api.sock --smp 2
exec 7<&-
if wait_for root '^/ # ' 120; then ok "jail: a jailed VM boots to its shell"; else not_ok "jail: a jailed VM boots to its shell"; sed 's/^/#   /' "$tmp/root.err" | tail -5; fi
vmm=$(jailed "${pid[root]}")
expect "jail: the VMM runs as nobody (uid $(field "$vmm" Uid))" \
  sh -c "[ '$(field "$vmm" Uid)' = 65534 ] && [ '$(field "$vmm" Gid)' = 65534 ]"
expect "jail: the VMM has no capabilities, not even in its bounding set" \
  sh -c "[ '$(field "$vmm" CapEff)' = 0000000000000000 ] && [ '$(field "$vmm" CapBnd)' = 0000000000000000 ] && [ '$(field "$vmm" CapPrm)' = 0000000000000000 ]"
expect "jail: NoNewPrivs" [ "$(field "$vmm" NoNewPrivs)" = 1 ]
expect "jail: the VMM is PID 1 of its own PID namespace" sh -c "grep -qE '^NSpid:[[:space:]]+$vmm[[:space:]]+1$' /proc/$vmm/status"
for ns in mnt pid net ipc uts; do
  expect "jail: a $ns namespace of its own" ns_differs "$vmm" $ns
done
expect "jail: its root holds only DIR's files" \
  sh -c "[ \"\$(ls /proc/$vmm/root/ | sort | tr '\n' ' ')\" = 'api.sock other.img visible.txt ' ]"
expect "jail: the leaked directory fd is closed" \
  sh -c "! ls -l /proc/$vmm/fd/ | grep -q -- '-> $repo_root\$'"
expect "jail: the waiter outside is filtered too" threads_filtered "${pid[root]}"
expect "jail: the waiter keeps only CAP_KILL" [ "$(field "${pid[root]}" CapEff)" = 0000000000000020 ]
expect "jail: the open-file limit is 2048" sh -c "grep -qE '^Max open files +2048 +2048' /proc/$vmm/limits"
expect "jail: no core files" sh -c "grep -qE '^Max core file size +0 +0' /proc/$vmm/limits"
# The API socket is inside the jail; paths the API names are too.
sock="$tmp/jail/api.sock"
api "$sock" GET /
expect "jail: the API answers on DIR/api.sock (HTTP $code)" [ "$code" = 200 ]
sleep 0.3 # the HTTP thread filters itself at its first request
expect "jail: every thread of the VMM runs filtered" threads_filtered "$vmm"
api "$sock" PATCH /drives/disk0 '{"drive_id":"disk0","path_on_host":"'"$tmp"'/disk.img"}'
expect "jail: a host path outside DIR cannot be opened (HTTP $code)" \
  sh -c "[ '$code' = 400 ] && echo '$body' | grep -q 'No such file'"
api "$sock" PATCH /drives/disk0 '{"drive_id":"disk0","path_on_host":"/other.img"}'
expect "jail: a file inside DIR can (HTTP $code)" [ "$code" = 204 ]
type_in root 'ping -c 1 -W 5 10.0.2.2 >/dev/null 2>&1; echo "net status $?"; cat /sys/block/vda/size'
expect "jail: user networking works from the jail (its helper is outside)" wait_for root 'net status 0' 30
expect "jail: the guest sees the replaced disk (2048 sectors)" wait_for root '^2048$' 10
type_in root 'poweroff -f'
wait_exit root 60
expect "jail: the guest powers off and duvisor exits 0 (status $status)" [ "$status" = 0 ]
gone() { ! pgrep -f -- "__net-user.*hostfwd=tcp:127.0.0.1:$port-" >/dev/null; }
for i in $(seq 50); do gone && break; sleep 0.1; done
expect "jail: no helper is left behind" gone

# --- a TAP named on the command line is opened before the jail ---------------------------
tap=dvj$$
if ip tuntap add dev "$tap" mode tap 2>/dev/null; then
  ip link set "$tap" up
  start tap run --jail "$tmp/jail" --kernel "$tmp/Image" --initrd "$tmp/initramfs" --net tap=$tap
  wait_for tap '^/ # ' 120
  type_in tap 'ip link set eth0 up; ip addr add 10.99.0.2/24 dev eth0; ping -c 3 -W 1 10.99.0.1 >/dev/null; echo pinged'
  wait_for tap '^pinged' 30
  rx=$(cat /sys/class/net/$tap/statistics/rx_packets)
  expect "jail: the guest's frames reach the host TAP $tap ($rx packets)" [ "$rx" -gt 0 ]
  type_in tap 'poweroff -f'
  wait_exit tap 60
  expect "jail: with a TAP, powers off (status $status)" [ "$status" = 0 ]
  ip tuntap del dev "$tap" mode tap
else
  skip "jail: TAP" "cannot create a TAP here"
fi

# --- the waiter: SIGTERM is forwarded; killing it takes the VMM along ---------------------
start term run --jail "$tmp/jail" --kernel "$tmp/Image" --initrd "$tmp/initramfs"
wait_for term '^/ # ' 120
kill -TERM "${pid[term]}"
wait_exit term 60
expect "jail: SIGTERM to duvisor stops the jailed VM (status $status)" [ "$status" = 0 ]
start kill run --jail "$tmp/jail" --kernel "$tmp/Image" --initrd "$tmp/initramfs"
wait_for kill '^/ # ' 120
vmm=$(jailed "${pid[kill]}")
kill9 kill
for i in $(seq 50); do kill -0 "$vmm" 2>/dev/null || break; sleep 0.1; done
expect "jail: the VMM dies with its waiter" sh -c "! kill -0 $vmm 2>/dev/null"

# --- live upgrade inside the jail: the new binary (and its libraries) in DIR ---------------
mkdir -p "$tmp/ujail"
cp "$duvisor" "$tmp/ujail/duvisor"
for lib in $(ldd "$duvisor" | grep -o '/[^ ]*'); do
  mkdir -p "$tmp/ujail$(dirname "$lib")" && cp "$lib" "$tmp/ujail$lib"
done
chmod -R a+rX "$tmp/ujail" && chmod 777 "$tmp/ujail"
start upgrade run --jail "$tmp/ujail" --kernel "$tmp/Image" --initrd "$tmp/initramfs" --api-sock /api.sock
wait_for upgrade '^/ # ' 120
for n in 1 2; do
  api "$tmp/ujail/api.sock" PUT /upgrade '{"binary":"/duvisor"}'
  expect "jail: live upgrade $n to a binary inside DIR (HTTP $code)" [ "$code" = 204 ]
done
type_in upgrade 'reboot -f'
expect "jail: after the upgrades, a guest reboot reads the kernel again (held, not by name)" \
  wait_for upgrade 'reboot: Restarting system' 30
sleep 3
type_in upgrade 'echo "rebooted $((6 * 7))"'
expect "jail: the rebooted guest runs" wait_for upgrade 'rebooted 42' 120
type_in upgrade 'poweroff -f'
wait_exit upgrade 60
expect "jail: and powers off (status $status)" [ "$status" = 0 ]
grep -q "cannot open" "$tmp/upgrade.err" && sed 's/^/#   /' "$tmp/upgrade.err" | tail -3

# --- a forbidden system call in the jail still ends duvisor with the line -----------------
DUVISOR_SECCOMP_SELFTEST=vcpu timeout 60 "$duvisor" run --jail "$tmp/jail" --kernel "$tmp/Image" \
  </dev/null >"$tmp/out" 2>"$tmp/err"
status=$?
expect "jail: a vCPU's forbidden call ends duvisor (status $status)" [ $status = 159 ]
expect "jail: with the line naming it" grep -q "seccomp: the vcpu thread made system call" "$tmp/err"

# --- Firecracker's command line: everything inside DIR ------------------------------------
mkdir -p "$tmp/fc/run"
cp "$tmp/Image" "$tmp/initramfs" "$tmp/fc/"
chmod -R a+rwX "$tmp/fc"
start fc --jail "$tmp/fc" --api-sock /run/fc.sock --id jailed
wait_sock fc "$tmp/fc/run/fc.sock"
api "$tmp/fc/run/fc.sock" PUT /boot-source '{"kernel_image_path":"/Image","initrd_path":"/initramfs"}'
expect "jail (firecracker): boot-source from inside DIR (HTTP $code)" [ "$code" = 204 ]
api "$tmp/fc/run/fc.sock" PUT /drives/rootfs "{\"drive_id\":\"rootfs\",\"path_on_host\":\"$tmp/disk.img\",\"is_root_device\":false,\"is_read_only\":false}"
expect "jail (firecracker): a host path is not reachable from inside (HTTP $code)" \
  sh -c "[ '$code' = 400 ] && echo '$body' | grep -q 'No such file'"
api "$tmp/fc/run/fc.sock" PUT /drives/rootfs '{"drive_id":"rootfs","path_on_host":"/Image","is_root_device":false,"is_read_only":true}'
api "$tmp/fc/run/fc.sock" PUT /actions '{"action_type":"InstanceStart"}'
expect "jail (firecracker): InstanceStart (HTTP $code)" [ "$code" = 204 ]
expect "jail (firecracker): the guest boots" wait_for fc '^/ # ' 120
type_in fc 'poweroff -f'
wait_exit fc 60
expect "jail (firecracker): exits 0 after the power-off (status $status)" [ "$status" = 0 ]

# --- unprivileged: the same jail through a user namespace ---------------------------------
if command -v setpriv >/dev/null && setpriv --reuid=65534 --regid=65534 --clear-groups \
  unshare -U true 2>/dev/null; then
  vm_runner=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  start unpriv run --jail "$tmp/jail" --kernel "$tmp/Image" --initrd "$tmp/initramfs" \
    --disk "$tmp/disk.img"
  vm_runner=()
  if wait_for unpriv '^/ # ' 120; then ok "jail (unprivileged): a VM boots"; else not_ok "jail (unprivileged): a VM boots"; sed 's/^/#   /' "$tmp/unpriv.err" | tail -5; fi
  vmm=$(jailed "${pid[unpriv]}")
  expect "jail (unprivileged): a user namespace of its own" ns_differs "$vmm" user
  expect "jail (unprivileged): no capabilities" [ "$(field "$vmm" CapEff)" = 0000000000000000 ]
  expect "jail (unprivileged): its root is DIR" sh -c "ls /proc/$vmm/root/ | grep -qx visible.txt"
  type_in unpriv 'poweroff -f'
  wait_exit unpriv 60
  expect "jail (unprivileged): exits 0 (status $status)" [ "$status" = 0 ]
else
  skip "jail (unprivileged)" "user namespaces are not available to nobody here"
fi

# --- bad input: one line, exit status 2 ---------------------------------------------------
bad() { # bad NAME ARGS...
  local name=$1; shift
  timeout 20 "$duvisor" "$@" </dev/null >/dev/null 2>"$tmp/err"
  local s=$?
  expect "jail: $name: exit 2 with one line (status $s)" \
    sh -c "[ $s = 2 ] && [ \$(wc -l <'$tmp/err') = 1 ]"
}
bad "a missing DIR" run --jail "$tmp/nonexistent" --kernel "$tmp/Image"
bad "DIR is a file" run --jail "$tmp/Image" --kernel "$tmp/Image"
bad "the host's root" run --jail / --kernel "$tmp/Image"
bad "--uid 0" run --jail "$tmp/jail" --uid 0 --kernel "$tmp/Image"
bad "--uid without --jail" run --uid 1000 --kernel "$tmp/Image"
bad "a bad --resource-limit" run --jail "$tmp/jail" --resource-limit cpu=5 --kernel "$tmp/Image"
bad "a kernel that is not there" run --jail "$tmp/jail" --kernel "$tmp/none"
bad "a --netns that is not there" run --jail "$tmp/jail" --netns "$tmp/none" --kernel "$tmp/Image"
