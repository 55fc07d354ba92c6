#!/usr/bin/env bash
# virtio devices with the real guest: a disk formatted in the guest and read on
# the host, read-only disks, data that survives SIGKILL after fsync, user-mode
# networking both ways, a TAP NIC where one can be made, entropy and hvc.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
pids=()
cleanup() { vm_cleanup; for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

boot() { # boot APPEND ARGS...: run to power-off, output in $tmp/out, status in $status
  local append=$1; shift
  timeout 300 "$duvisor" run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
    --append "console=ttyS0 $append" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
  status=$?
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# --- block -----------------------------------------------------------------------------
img=$tmp/disk.img
truncate -s 64M "$img"
boot "duvisor.test=blk-format" --disk "$img"
expect "blk: guest formats and fills a disk (status $status)" grep -q "blk-format: done" "$tmp/out"
expect "blk: host reads the guest's file from the image" \
  sh -c "debugfs -R 'cat /hello.txt' '$img' 2>/dev/null | grep -qx 'hello from the guest'"
boot "duvisor.test=blk-readback" --disk "$img"
expect "blk: a second boot reads the file back" grep -q "hello: hello from the guest" "$tmp/out"
expect "blk: 1 MiB of random data intact across boots" grep -q "random.bin intact" "$tmp/out"
boot "duvisor.test=blk-ro" --disk "$img,ro"
expect "blk ro: the guest sees a read-only disk" grep -q "ro flag 1" "$tmp/out"
expect "blk ro: a write is refused" grep -q "write refused" "$tmp/out"
before=$(sha256sum <"$img")
expect "blk ro: the image is unchanged" [ "$before" = "$(sha256sum <"$img")" ]

# Durability: fsync in the guest, SIGKILL right after, the data is in the file.
start durable run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" --disk "$img" \
  --append "console=ttyS0 duvisor.test=blk-durable"
wait_for durable "blk-durable: fsync done" 120
kill9 durable
line=$(grep -a -m1 '^durable data ' "$tmp/durable.out" | tr -d '\r')
expect "blk durability: data fsynced before SIGKILL is in the image" \
  sh -c "[ -n '$line' ] && debugfs -R 'cat /durable.txt' '$img' 2>/dev/null | grep -qx '$line'"

# --- network (user mode) -----------------------------------------------------------------
mkdir -p "$tmp/www"; echo "page from the host" >"$tmp/www/page.txt"
port=$(free_port)
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$tmp/www" >/dev/null 2>&1 &
pids+=($!); disown
sleep 0.5
boot "duvisor.test=net-fetch duvisor.port=$port" --net user
expect "net user: the guest gets 10.0.2.15 by DHCP" grep -q "net-fetch: address 10.0.2.15" "$tmp/out"
expect "net user: the guest fetches a page from the host" grep -q "^page from the host" <(tr -d '\r' <"$tmp/out")

hp=$(free_port)
start httpd run --kernel "$(guest_image)" --initrd "$(guest_initramfs)" \
  --net "user,hostfwd=tcp::$hp-:80" --append "console=ttyS0 duvisor.test=net-httpd"
wait_for httpd "net-httpd: ready" 120
page=$(python3 -c "import urllib.request,sys; print(urllib.request.urlopen('http://127.0.0.1:$hp/', timeout=10).read().decode().strip())" 2>/dev/null)
expect "net hostfwd: the host fetches a page from the guest's httpd" [ "$page" = "served by the guest" ]
kill -TERM "${pid[httpd]}"; wait_exit httpd 60

# --- network (tap) -----------------------------------------------------------------------
if ip tuntap add dev dvtap0 mode tap 2>/dev/null; then
  ip addr add 192.168.77.1/24 dev dvtap0 && ip link set dvtap0 up
  boot "duvisor.test=net-tap duvisor.ip=192.168.77.2 duvisor.peer=192.168.77.1" --net tap=dvtap0
  expect "net tap: the guest pings the host end of the TAP" grep -q "net-tap: ping ok" "$tmp/out"
  ip tuntap del dev dvtap0 mode tap
else
  skip "net tap: the guest pings the host end of the TAP" "cannot create a TAP device here"
fi

# --- entropy and the virtio console --------------------------------------------------------
boot "duvisor.test=virtio-misc"
expect "rng: the kernel uses virtio-rng as its hwrng" grep -q "rng virtio_rng" "$tmp/out"
expect "rng: /dev/hwrng gives bytes" grep -q "hwrng read ok" "$tmp/out"
expect "console: guest output on the virtio console reaches stdout" grep -q "virtio-console-says-hi" "$tmp/out"

# --- bad input -------------------------------------------------------------------------------
"$duvisor" run --kernel "$(guest_image)" --disk "$tmp/nope.img" </dev/null >/dev/null 2>"$tmp/err"
st=$?
expect "bad disk: exit 2 with one line (status $st)" [ $st -eq 2 -a "$(wc -l <"$tmp/err")" -eq 1 ]
"$duvisor" run --kernel "$(guest_image)" --net "user,hostfwd=tcp::x-:80" </dev/null >/dev/null 2>"$tmp/err"
st=$?
expect "bad hostfwd: exit 2 with one line (status $st)" [ $st -eq 2 -a "$(wc -l <"$tmp/err")" -eq 1 ]
