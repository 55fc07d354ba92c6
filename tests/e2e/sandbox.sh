#!/usr/bin/env bash
# The seccomp sandbox as a user relies on it: every thread of a running VM
# (vCPUs, disk workers, NIC readers, console, HTTP server, the VMM thread) and
# the user-networking helper run filtered with NoNewPrivs, also after a guest
# reboot and a live upgrade (without filters piling up); a forbidden system
# call ends duvisor with a line naming the thread kind and the call; `log`
# lets it through; `off` installs nothing.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT
kernel=$(guest_image)
initramfs=$(guest_initramfs)
truncate -s 32M "$tmp/disk.img"

# boot NAME ARGS...: VM NAME with a disk, a user NIC and the API on $tmp/NAME.sock.
boot() {
  local name=$1; shift
  start "$name" run --kernel "$kernel" --initrd "$initramfs" --disk "$tmp/disk.img" --net user \
    --api-sock "$tmp/$name.sock" "$@"
}
# threads PID: "name seccomp filters" per thread
threads() {
  local t
  for t in /proc/"$1"/task/*; do
    echo "$(cat "$t/comm" 2>/dev/null) $(awk '/^Seccomp:/ {print $2}' "$t/status" 2>/dev/null)" \
      "$(awk '/^Seccomp_filters:/ {print $2}' "$t/status" 2>/dev/null)"
  done
}
all_filtered() { ! threads "$1" | awk '$2 != 2' | grep -q .; }
max_filters() { threads "$1" | awk 'BEGIN {m = 0} $3 > m {m = $3} END {print m}'; }

# --- on by default -----------------------------------------------------------------------
boot vm --smp 2
wait_for vm '^/ # ' 120
api "$tmp/vm.sock" GET / # the HTTP thread filters itself
sleep 0.5
n=$(threads "${pid[vm]}" | wc -l)
expect "sandbox: every one of the VM's $n threads runs filtered" all_filtered "${pid[vm]}"
all_filtered "${pid[vm]}" || threads "${pid[vm]}" | sed 's/^/#   /'
expect "sandbox: NoNewPrivs is set" grep -q '^NoNewPrivs:[[:space:]]*1' /proc/"${pid[vm]}"/status
helpers=$(pgrep -f -- "__net-user" | tr '\n' ' ')
filtered_helper=0
for h in $helpers; do all_filtered "$h" && filtered_helper=1; done
expect "sandbox: the user-networking helper runs filtered" [ $filtered_helper = 1 ]

# A guest reboot makes new vCPU threads: filtered too (the VMM's filter and their own).
type_in vm 'reboot -f'
for _ in $(seq 600); do [ "$(tr -d '\r' <"$tmp/vm.out" | grep -ac 'duvisor-guest: ready')" -ge 2 ] && break; sleep 0.1; done
expect "sandbox: after a guest reboot the guest runs again" \
  [ "$(tr -d '\r' <"$tmp/vm.out" | grep -ac 'duvisor-guest: ready')" -ge 2 ]
expect "sandbox: after a guest reboot every thread runs filtered" all_filtered "${pid[vm]}"

# A live upgrade keeps the sandbox, without stacking filters on each exec.
for i in 1 2 3; do "$duvisor" upgrade --api-sock "$tmp/vm.sock" 2>>"$tmp/up" || break; done
sleep 0.5
expect "sandbox: three live upgrades under the sandbox" [ "$(grep -c 'Live upgrade [0-9]* done' "$tmp/vm.err")" -eq 3 ]
[ "$(grep -c 'Live upgrade [0-9]* done' "$tmp/vm.err")" -eq 3 ] || sed 's/^/#   /' "$tmp/up" "$tmp/vm.err" | tail -5
expect "sandbox: after the upgrades every thread runs filtered" all_filtered "${pid[vm]}"
filters=$(max_filters "${pid[vm]}")
expect "sandbox: no thread has more than 3 filters after 3 upgrades (has $filters)" [ "$filters" -le 3 ]
type_in vm 'echo still-$((6*7))'
expect "sandbox: the guest's shell answers after the upgrades" wait_for vm 'still-42' 20
kill9 vm

# --- a forbidden call ends the process, naming the thread kind ------------------------------
# DUVISOR_SECCOMP_SELFTEST=KIND: that kind of thread makes getpriority(2), which no
# list allows, right after its filter goes in.
for kind in vmm vcpu block net-reader console api; do
  export DUVISOR_SECCOMP_SELFTEST=$kind
  boot "$kind"
  unset DUVISOR_SECCOMP_SELFTEST
  if [ $kind = api ]; then # the HTTP thread filters itself at its first request
    wait_sock "$kind" "$tmp/$kind.sock" 10
    api "$tmp/$kind.sock" GET /
  fi
  wait_exit "$kind" 30
  expect "sandbox: a forbidden call on a $kind thread kills duvisor with SIGSYS (status $status)" \
    [ "$status" = 159 ]
  expect "sandbox: ... and the line names the $kind thread and the call" \
    grep -q "seccomp: the $kind thread made system call [0-9]*, which its filter forbids" "$tmp/$kind.err"
done

# Argument conditions: a block worker or the console reader mapping executable
# memory (KIND:exec: an mmap with PROT_EXEC, a call its list has) is killed too.
for kind in block console; do
  export DUVISOR_SECCOMP_SELFTEST=$kind:exec
  boot "$kind-exec"
  unset DUVISOR_SECCOMP_SELFTEST
  wait_exit "$kind-exec" 30
  expect "sandbox: executable memory on a $kind thread kills duvisor (status $status)" \
    [ "$status" = 159 ]
  expect "sandbox: ... naming mmap (call 9) on the $kind thread" \
    grep -q "seccomp: the $kind thread made system call 9," "$tmp/$kind-exec.err"
done

# The helper's own filter: it dies, and the VMM says the NIC could not start (status 2).
export DUVISOR_SECCOMP_SELFTEST=net-helper
timeout 60 "$duvisor" run --kernel "$kernel" --initrd "$initramfs" --net user </dev/null \
  >"$tmp/out" 2>"$tmp/err"
status=$?
unset DUVISOR_SECCOMP_SELFTEST
expect "sandbox: a forbidden call in the user-networking helper: the VM does not start (status $status)" \
  [ "$status" = 2 ]
expect "sandbox: ... with one line saying so" [ "$(grep -c . "$tmp/err")" -ge 1 ]

# log: the kernel logs the call and it goes ahead; the guest boots.
export DUVISOR_SECCOMP_SELFTEST=vcpu
boot log --seccomp log
unset DUVISOR_SECCOMP_SELFTEST
expect "sandbox: --seccomp log lets a forbidden call through: the guest boots" wait_for log '^/ # ' 120
kill9 log

# off: no filter at all.
boot off --seccomp off
wait_for off '^/ # ' 120
expect "sandbox: --seccomp off installs no filter" \
  [ "$(threads "${pid[off]}" | awk '$2 != 0' | wc -l)" -eq 0 ]
kill9 off
