#!/usr/bin/env bash
# Fault containment: VMs run side by side, and what ends one leaves the others
# alone. A survivor (the Linux guest at a shell, user networking with a port
# forward) keeps answering on its console and powers off with status 0 while
#  - a second Linux VM (a disk under writes, two user-mode NICs, one with a
#    port forward, an API socket) is killed with SIGSEGV: it exits with the
#    signal's status, its user-networking helpers go with it, its forwarded
#    port is released, its disk is not left locked and its API socket, left
#    stale, is taken over by the next VMM;
#  - a third one's guest does something fatal (root's devmem into a hole
#    under --strict-mmio): that VM stops with status 1, leaving nothing behind;
#  - a bare guest hits the same in its first instruction (fatal.S).
# Every duvisor started here carries DUVISOR_CONTAINMENT=<tag>.<name> in its
# environment, which its helpers inherit: that is how a VM's processes are found.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
tag=containment-$$-$RANDOM
vm_env=DUVISOR_CONTAINMENT=$tag. # start NAME: DUVISOR_CONTAINMENT=<tag>.NAME in its environment

# procs NAME: the pids of every live process of VM NAME (the VMM and its helpers).
procs() {
  local p state
  for p in /proc/[0-9]*; do
    grep -qzx "DUVISOR_CONTAINMENT=$tag.$1" "$p/environ" 2>/dev/null || continue
    state=$(awk '{ print $3 }' "$p/stat" 2>/dev/null) # skip zombies not yet reaped by init
    [ -n "$state" ] && [ "$state" != Z ] && echo "${p#/proc/}"
  done
}
cleanup() {
  local p
  vm_cleanup
  for p in /proc/[0-9]*; do
    grep -qz "^DUVISOR_CONTAINMENT=$tag\." "$p/environ" 2>/dev/null && kill -9 "${p#/proc/}" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT

for tool in ss curl; do
  command -v $tool >/dev/null || { skip "containment: every check" "no $tool on this host"; exit 0; }
done
kernel=$(guest_image)
initramfs=$(guest_initramfs)

linux() { # linux NAME ARGS...: the reference guest to a shell
  local name=$1; shift
  start "$name" run --kernel "$kernel" --initrd "$initramfs" --memory 128M "$@"
}
listening() { ss -Hltn "sport = :$1" | grep -q .; } # listening PORT
free_port() {
  local p
  while :; do
    p=$((20000 + RANDOM % 20000))
    listening $p || { echo $p; return; }
  done
}
# gone NAME: within 10 s, VM NAME has no process left (the list otherwise).
gone() {
  local i left
  for i in $(seq 100); do
    left=$(procs "$1")
    [ -z "$left" ] && return 0
    sleep 0.1
  done
  echo "#   $1 left: $(for p in $left; do tr '\0' ' ' </proc/$p/cmdline; echo " ($p)"; done)"
  return 1
}
released() { # released PORT: within 10 s nobody listens on PORT
  local i
  for i in $(seq 100); do listening "$1" || return 0; sleep 0.1; done
  return 1
}
# survivor_ok WHEN: the survivor answers a computation, and its helper and port are there.
survivor_ok() {
  local n=$((RANDOM % 1000))
  gsh survivor "echo \$(( $n * 7 ))"
  expect "survivor, $1: answers on its console ($reply)" [ "$reply" = "$((n * 7))" ]
  expect "survivor, $1: its user-networking helper and forwarded port are there" \
    sh -c "[ \$(echo '$(procs survivor)' | wc -w) -eq 2 ] && ss -Hltn 'sport = :$sport' | grep -q ."
}

# fatal.S: a bare guest whose first store goes to nothing.
riscv64-linux-gnu-gcc -nostdlib -static -march=rv64gc -mabi=lp64d -Wl,-Ttext=0x80200000 \
  -Wl,--build-id=none -o "$tmp/fatal.elf" "$repo_root/tests/e2e/payloads/fatal.S" &&
  riscv64-linux-gnu-objcopy -O binary -j .text "$tmp/fatal.elf" "$tmp/fatal.Image"

sport=$(free_port)
linux survivor --net "user,hostfwd=tcp:127.0.0.1:$sport-:80"
vport=$(free_port)
head -c $((16 << 20)) /dev/zero >"$tmp/victim.img"
linux victim --smp 2 --disk "$tmp/victim.img" --net user \
  --net "user,hostfwd=tcp:127.0.0.1:$vport-:80" --api-sock "$tmp/victim.sock"
fport=$(free_port)
linux fatal --strict-mmio --net "user,hostfwd=tcp:127.0.0.1:$fport-:80"
for name in survivor victim fatal; do
  wait_for $name '^/ # ' 300
  expect "$name: the guest reaches its shell" shows $name '^/ # '
done

# --- SIGSEGV -------------------------------------------------------------------------------
survivor_ok "before anything"
expect "victim: runs as the VMM and two user-networking helpers" \
  [ "$(procs victim | wc -w)" -eq 3 ]
expect "victim: forwards its port" listening "$vport"
gsh victim 'dd if=/dev/urandom of=/dev/vda bs=64k count=100000 >/dev/null 2>&1 & echo started'
sleep 1
{
  kill -SEGV "${pid[victim]}"
  wait_exit victim 30
} 2>/dev/null
expect "victim: SIGSEGV ends it with status 139 (status $status)" [ "$status" -eq 139 ]
expect "victim: no process of it is left (its helpers end with it)" gone victim
expect "victim: its forwarded port is released" released "$vport"
timeout 30 "$duvisor" run --strict-mmio --kernel "$tmp/fatal.Image" --disk "$tmp/victim.img" \
  </dev/null >/dev/null 2>"$tmp/relock.err"
status=$?
expect "victim: its disk is not left locked (a new VM opens it: status $status, not 2)" \
  [ "$status" -eq 1 ]
expect "victim: its API socket is stale (connection refused)" \
  sh -c "! curl -s -m 5 --unix-socket '$tmp/victim.sock' http://localhost/ >/dev/null"
start next --api-sock "$tmp/victim.sock"
ok=0
for i in $(seq 100); do
  curl -s -m 5 --unix-socket "$tmp/victim.sock" http://localhost/ 2>/dev/null |
    grep -q '"Not started"' && { ok=1; break; }
  sleep 0.1
done
expect "victim: the next VMM takes its API socket over" [ $ok -eq 1 ]
kill -TERM "${pid[next]}"
wait_exit next 10
expect "victim: ... and removes it on SIGTERM (status $status)" \
  sh -c "[ $status -eq 0 ] && [ ! -e '$tmp/victim.sock' ]"
survivor_ok "after the SIGSEGV"

# --- a fatal guest error --------------------------------------------------------------------
expect "fatal: forwards its port" listening "$fport"
type_in fatal 'devmem 0x20000000 32'
wait_exit fatal 60
expect "fatal: a guest access to nothing under --strict-mmio stops the VM, status 1 ($status)" \
  [ "$status" -eq 1 ]
expect "fatal: duvisor names it" grep -q "guest access outside RAM" "$tmp/fatal.err"
expect "fatal: no process of it is left" gone fatal
expect "fatal: its forwarded port is released" released "$fport"
survivor_ok "after the fatal guest error"

# The same from a bare guest's first instructions, with a helper just started.
bport=$(free_port)
start bare run --strict-mmio --kernel "$tmp/fatal.Image" --net "user,hostfwd=tcp:127.0.0.1:$bport-:80"
wait_exit bare 30
expect "bare fatal guest: status 1 ($status)" [ "$status" -eq 1 ]
expect "bare fatal guest: no process of it is left" gone bare
expect "bare fatal guest: its forwarded port is released" released "$bport"

# --- the survivor powers off ---------------------------------------------------------------
survivor_ok "at the end"
type_in survivor 'poweroff -f'
wait_exit survivor 60
expect "survivor: powers off with status 0 (status $status)" [ "$status" -eq 0 ]
expect "survivor: no process of it is left" gone survivor
expect "survivor: its forwarded port is released" released "$sport"
