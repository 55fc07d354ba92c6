#!/usr/bin/env bash
# virtio-fs with the real virtiofsd: the guest mounts a host folder with
# --share, files made, renamed, written and deleted on either side show on the
# other, `..` and symlinks do not lead out of the folder, the share works
# again after a guest reboot, and a virtiofsd that dies leaves the VM
# responsive (the device needs a reset, nothing hangs) and able to power off.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT

virtiofsd=${DUVISOR_VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
if ! command -v virtiofsd >/dev/null && ! [ -x "$virtiofsd" ]; then
  skip "virtio-fs" "no virtiofsd (Debian's qemu-system-common)"
  exit 0
fi

lacks() { ! grep -q -- "$2" <<<"$1"; } # lacks TEXT PATTERN

share=$tmp/share
mkdir -p "$share/sub"
echo "from the host" >"$share/host.txt"
echo "secret outside the share" >"$tmp/outside.txt"
ln -s "$tmp/outside.txt" "$share/abs-link"
ln -s ../outside.txt "$share/rel-link"

start g run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
  --share "$share,tag=hostshare" --memory 256M --api-sock "$tmp/g.sock"
if ! wait_for g '^/ # ' 120; then
  if grep -q "did not start" "$tmp/g.err"; then
    skip "virtio-fs" "virtiofsd cannot start here: $(head -c 200 "$tmp/g.err")"
    exit 0
  fi
  not_ok "virtio-fs: the guest boots with a share ($(head -c 300 "$tmp/g.err"))"
  exit 0
fi

gsh g "mkdir -p /mnt; mount -t virtiofs hostshare /mnt 2>&1 && echo mounted" 60
expect "mount -t virtiofs TAG works" [ "$reply" = mounted ]
gsh g "cat /mnt/host.txt"
expect "guest reads the host's file" [ "$reply" = "from the host" ]

# guest -> host
gsh g "echo made in the guest >/mnt/g.txt && mv /mnt/g.txt /mnt/sub/moved.txt && echo ok"
expect "guest creates and renames a file" [ "$reply" = ok ]
expect "host sees the guest's file under its new name" \
  sh -c "[ \"\$(cat '$share/sub/moved.txt')\" = 'made in the guest' ] && ! [ -e '$share/g.txt' ]"
gsh g "dd if=/dev/urandom of=/mnt/big.bin bs=64k count=64 2>/dev/null; sync; md5sum /mnt/big.bin | cut -d' ' -f1"
expect "host reads the 4 MiB the guest wrote, byte for byte" \
  [ -n "$reply" ] && [ "$reply" = "$(md5sum <"$share/big.bin" | cut -d' ' -f1)" ]
gsh g "rm /mnt/big.bin && echo gone"
expect "guest deletes a file and the host sees it gone" \
  sh -c "[ '$reply' = gone ] && ! [ -e '$share/big.bin' ]"

# host -> guest
head -c 3000000 /dev/urandom >"$share/from-host.bin"
gsh g "md5sum /mnt/from-host.bin | cut -d' ' -f1"
expect "guest reads the file the host made since the mount" \
  [ "$reply" = "$(md5sum <"$share/from-host.bin" | cut -d' ' -f1)" ]
mv "$share/from-host.bin" "$share/sub/renamed.bin"
gsh g "ls /mnt/sub | tr '\n' ' '"
expect "guest sees the host's rename" [ "$reply" = "moved.txt renamed.bin " ]
rm "$share/sub/renamed.bin"
# cache=auto: the guest may trust what it looked up for 1 s
gsh g "sleep 2; test -e /mnt/sub/renamed.bin && echo still || echo gone"
expect "guest sees the host's delete" [ "$reply" = gone ]

# escapes: symlinks resolve in the guest's own tree, .. above the mount is the guest's
gsh g "cat /mnt/abs-link 2>&1 | head -c 60"
expect "an absolute host symlink does not give the host's file" lacks "$reply" 'secret outside'
gsh g "cat /mnt/rel-link 2>&1 | head -c 60"
expect "a relative symlink out of the folder does not give the host's file" \
  lacks "$reply" 'secret outside'
gsh g "ls /mnt/../.. | tr '\n' ' '"
expect "/mnt/../.. is the guest's own root" \
  sh -c "echo '$reply' | grep -qw proc && ! echo '$reply' | grep -q outside.txt"
gsh g "cd /mnt && cd .. && cd .. && pwd"
expect ".. from the share's root is the guest's /" [ "$reply" = / ]
expect "nothing outside the folder changed" \
  [ "$(cat "$tmp/outside.txt")" = "secret outside the share" ]

# snapshots (and so live upgrades) of a VM with a share are refused, clearly
expect_api "PATCH /vm Paused" 204 "$tmp/g.sock" PATCH /vm '{"state":"Paused"}'
api "$tmp/g.sock" PUT /snapshot/create \
  "{\"snapshot_type\":\"Full\",\"snapshot_path\":\"$tmp/s.st\",\"mem_file_path\":\"$tmp/s.mem\"}"
refused() { [ "$code" = 400 ] && grep -q 'cannot be snapshotted' <<<"$body" && ! [ -e "$tmp/s.st" ]; }
expect "a snapshot of a VM with a share is refused, saying why (status $code)" refused
expect_api "PATCH /vm Resumed" 204 "$tmp/g.sock" PATCH /vm '{"state":"Resumed"}'
gsh g "cat /mnt/host.txt"
expect "the share works on after the refused snapshot" [ "$reply" = "from the host" ]

# a guest reboot: the same virtiofsd serves the new VM
# prompt_after_boot N: the shell's prompt shows after the Nth boot's /init
prompt_after_boot() {
  tr -d '\r' <"$tmp/g.out" | awk -v n="$1" '/Run \/init/ {b++} b >= n && /^\/ # / {f = 1} END {exit !f}'
}
type_in g "reboot -f"
for i in $(seq 1200); do prompt_after_boot 2 && break; sleep 0.1; done
gsh g "mkdir -p /mnt; mount -t virtiofs hostshare /mnt 2>&1 && cat /mnt/sub/moved.txt" 60
expect "after a guest reboot the share mounts again" [ "$reply" = "made in the guest" ]

# virtiofsd dies: the VMM says so once, the guest keeps running and powers off
vpid=$(pgrep -P "${pid[g]}" | head -1)
if [ -n "$vpid" ]; then
  pkill -9 -P "$vpid" 2>/dev/null # its sandboxed child, then itself
  kill -9 "$vpid"
  sleep 1
  expect "the VMM reports the dead virtiofsd in one line" \
    [ "$(grep -c 'virtiofsd of share .hostshare. is gone' "$tmp/g.err")" = 1 ]
  gsh g "cat /mnt/sub/moved.txt 2>&1 >/dev/null | grep -c Input/output" 30
  expect "a read of the share fails with an I/O error" [ "$reply" = 1 ]
  gsh g "echo x 2>/dev/null >/mnt/new.txt; ls /mnt >/dev/null 2>&1; sync; echo alive" 30
  expect "the guest answers (and syncs) after virtiofsd died" [ "$reply" = alive ]
else
  not_ok "virtiofsd is duvisor's child"
fi
type_in g "poweroff -f"
wait_exit g 60
expect "the VM powers off cleanly after virtiofsd died (status $status)" [ "$status" = 0 ]
expect "no virtiofsd is left behind" sh -c "! ps -eo args | grep -q '[v]irtiofsd.*$share'"

# --jail: virtiofsd starts outside the jail, the jailed VMM keeps its socket
mkdir -p "$tmp/jail"
chmod 755 "$tmp" "$tmp/jail"
start jailed run --jail "$tmp/jail" --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
  --share "$share,tag=hostshare"
if wait_for jailed '^/ # ' 120; then
  gsh jailed "mkdir -p /mnt; mount -t virtiofs hostshare /mnt && echo jailed >/mnt/jail.txt && cat /mnt/host.txt" 60
  expect "a jailed VM reads and writes its share" \
    sh -c "[ '$reply' = 'from the host' ] && [ \"\$(cat '$share/jail.txt')\" = jailed ]"
  type_in jailed "poweroff -f"
  wait_exit jailed 60
  expect "the jailed VM powers off (status $status)" [ "$status" = 0 ]
elif grep -qi "namespace\|jail:" "$tmp/jailed.err"; then
  skip "a jailed VM with a share" "no jail here: $(head -c 200 "$tmp/jailed.err")"
else
  not_ok "a jailed VM with a share boots ($(head -c 300 "$tmp/jailed.err"))"
fi
