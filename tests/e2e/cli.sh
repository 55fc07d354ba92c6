#!/usr/bin/env bash
# What a user typing the command gets: help, version, and for bad input one
# line on stderr and exit status 2, before anything starts.
set -u
. "$(dirname "$0")/../lib.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

expect "cli: --help exits 0 and names run" sh -c "'$duvisor' --help | grep -q 'run '"
expect "cli: run --help lists --kernel" sh -c "'$duvisor' run --help | grep -q -- '--kernel'"
expect "cli: --version" sh -c "'$duvisor' --version | grep -q '^duvisor '"

# bad_input NAME EXPECTED-TEXT ARGS...: status 2, exactly one line on stderr, nothing on stdout.
bad_input() {
  local name=$1 text=$2; shift 2
  "$duvisor" "$@" >"$tmp/out" 2>"$tmp/err"
  local status=$? lines
  lines=$(wc -l <"$tmp/err")
  if [ $status -eq 2 ] && [ "$lines" -eq 1 ] && [ ! -s "$tmp/out" ] && grep -q -- "$text" "$tmp/err"; then
    ok "cli: $name"
  else
    not_ok "cli: $name (status $status, stderr: $(head -c 200 "$tmp/err"))"
  fi
}
: >"$tmp/empty"
echo data >"$tmp/kernel"
bad_input "no command" "no command given"
bad_input "unknown command" "unknown command" frob
bad_input "missing --kernel" "--kernel is required" run
bad_input "kernel does not exist" "cannot open kernel" run --kernel "$tmp/nope"
bad_input "kernel is a directory" "not a regular file" run --kernel "$tmp"
bad_input "kernel is empty" "is empty" run --kernel "$tmp/empty"
bad_input "initrd does not exist" "cannot open initrd" run --kernel "$tmp/kernel" --initrd "$tmp/nope"
bad_input "smp out of range" "1 to 32" run --kernel "$tmp/kernel" --smp 64
bad_input "memory too small" "between" run --kernel "$tmp/kernel" --memory 1M
bad_input "memory not a size" "--memory" run --kernel "$tmp/kernel" --memory lots
bad_input "unknown option" "unknown option" run --kernel "$tmp/kernel" --fast
bad_input "not a kernel image" "not a RISC-V kernel" run --kernel "$tmp/kernel"
# A real kernel with an initrd that cannot fit beside it.
head -c $((40 << 20)) /dev/zero >"$tmp/big-initrd"
bad_input "initrd larger than memory" "does not fit" run --kernel "$(guest_image)" \
  --initrd "$tmp/big-initrd" --memory 32M
# Disks and NICs share the virtio slots left beside the entropy, console and
# keyboard devices: 5 together, 4 of them NICs at most, as run --help says.
five=()
for i in 1 2 3 4 5; do five+=(--disk "$tmp/kernel"); done
bad_input "a sixth disk" "at most 5 --disk and --net options together" run --kernel "$tmp/kernel" \
  "${five[@]}" --disk "$tmp/kernel"
bad_input "a NIC beside five disks" "at most 5 --disk and --net options together" run \
  --kernel "$tmp/kernel" "${five[@]}" --net user
bad_input "a fifth NIC" "at most 4 --net options" run --kernel "$tmp/kernel" --net user \
  --net user --net user --net user --net user
expect "cli: run --help states the device limits" \
  sh -c "'$duvisor' run --help | grep -q -- '--disk and --net: up to 5 together'"
