#!/usr/bin/env bash
# Firecracker's control API on a Unix socket, driven with curl as Firecracker's
# getting-started guide drives Firecracker: a VM configured by requests and
# booted from an ext4 root disk (busybox init), pause and resume (no CPU, no
# output, no guest time while paused), Ctrl+Alt+Del ending the process, metrics,
# a drive swapped under a running guest, requests in the wrong phase, a config
# file with --no-api, GET /vm/config loaded back as a config file, and
# `duvisor run --api-sock`.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT

for tool in curl python3 mke2fs cpio; do
  command -v $tool >/dev/null || { skip "api: every check" "no $tool on this host"; exit 0; }
done
kernel=$(guest_image)
initramfs=$(guest_initramfs)
bootargs="console=ttyS0 reboot=k panic=1 pci=off"
started=$(date +%s)

# --- helpers (beside tests/lib_vm.sh's) -----------------------------------------------------

fault_has() { json_ok "$1" "'''$2''' in d['fault_message']"; }
refused() { # refused TEXT: the last reply was 400 with TEXT in its fault message
  [ "$code" = 400 ] && fault_has "$body" "$1" && return 0
  echo "#   got $code: $body"; return 1
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime + stime, all threads
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }

# --- the root filesystem: the initramfs's files on ext4, busybox init -----------------------
mkdir "$tmp/root"
(cd "$tmp/root" && zcat "$initramfs" | cpio -idm --no-absolute-filenames --quiet 2>/dev/null)
has_applets() { # the links are absolute (/bin/busybox): test them as links, not with -e
  local a
  [ -x "$tmp/root/bin/busybox" ] || return 1
  for a in "$@"; do [ -L "$tmp/root/$a" ] || [ -f "$tmp/root/$a" ] || return 1; done
}
expect "rootfs: the initramfs's busybox has init, reboot, umount and sh" \
  has_applets sbin/init sbin/reboot bin/umount bin/sh bin/mount
mkdir -p "$tmp/root/etc/init.d"
cat >"$tmp/root/etc/init.d/rcS" <<'EOF'
#!/bin/sh
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmpfs /tmp
echo "duvisor-guest: ready ($(nproc) cpus, $(uname -r), root $(grep '^/dev/root / ' /proc/mounts | cut -d' ' -f3))"
EOF
chmod +x "$tmp/root/etc/init.d/rcS"
cat >"$tmp/root/etc/inittab" <<'EOF'
::sysinit:/etc/init.d/rcS
ttyS0::respawn:/bin/sh
::ctrlaltdel:/sbin/reboot
::shutdown:/bin/umount -a -r
EOF
rootfs=$tmp/rootfs.ext4
mke2fs -q -t ext4 -d "$tmp/root" "$rootfs" 64M >/dev/null 2>&1
expect "rootfs: mke2fs builds the ext4 image" [ -s "$rootfs" ]
# Copies for VMs 3 and 4: VM 1's image is left as its init's shutdown left it.
cp "$rootfs" "$tmp/rootfs3.ext4"
cp "$rootfs" "$tmp/rootfs4.ext4"
truncate -s 16M "$tmp/data16.img"
truncate -s 32M "$tmp/data32.img"

ready_1cpu='^duvisor-guest: ready \(1 cpus, .*, root ext4\)'

# --- Firecracker's getting-started sequence -------------------------------------------------
sock=$tmp/fc1.sock
start vm1 --api-sock "$sock"
expect "start: the API socket appears" wait_sock vm1 "$sock"
expect_api "getting started: PUT /logger" 204 "$sock" PUT /logger \
  "{\"log_path\": \"$tmp/fc.log\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": true}"
# Metrics are configured before boot, as Firecracker's Go SDK does (after it, they are refused).
metrics=$tmp/metrics.json
expect_api "PUT /metrics before boot" 204 "$sock" PUT /metrics "{\"metrics_path\": \"$metrics\"}"
expect_api "getting started: PUT /boot-source" 204 "$sock" PUT /boot-source \
  "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$bootargs\"}"
expect_api "getting started: PUT /drives/rootfs" 204 "$sock" PUT /drives/rootfs \
  "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$rootfs\", \"is_root_device\": true, \"is_read_only\": false}"
expect_api "getting started: PUT /network-interfaces/net1" 204 "$sock" PUT /network-interfaces/net1 \
  '{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02", "host_dev_name": "user"}'
sleep 0.015
t0=$(now)
expect_api "getting started: PUT /actions InstanceStart" 204 "$sock" PUT /actions \
  '{"action_type": "InstanceStart"}'
expect "boot: the guest's init says it is ready on an ext4 root" wait_for vm1 "$ready_1cpu"
echo "# boot to ready: $(calc "round($(now) - $t0, 2)") s"
expect "boot: the kernel mounted the ext4 disk" shows vm1 'EXT4-fs \(vda\): mounted'
expect "boot: the kernel mounted it as root" shows vm1 'VFS: Mounted root \(ext4 filesystem\)'
api "$sock" GET /
expect "GET /: Running" json_ok "$body" 'd["state"] == "Running" and d["id"] == "anonymous-instance"'
api "$sock" GET /vm/config
expect "GET /vm/config: the root drive" json_ok "$body" \
  "[(x['drive_id'], x['path_on_host'], x['is_root_device'], x['is_read_only']) for x in d['drives']] == [('rootfs', '$rootfs', True, False)]"
expect "GET /vm/config: the boot source" json_ok "$body" \
  "d['boot-source']['kernel_image_path'] == '$kernel' and d['boot-source']['boot_args'] == '$bootargs'"
expect "GET /vm/config: the NIC, the logger, the default machine" json_ok "$body" \
  "d['network-interfaces'][0]['iface_id'] == 'net1' and d['network-interfaces'][0]['guest_mac'].lower() == '06:00:ac:10:00:02' and d['logger']['level'] == 'Debug' and d['machine-config']['vcpu_count'] == 1 and d['machine-config']['mem_size_mib'] == 128"
expect "logger: Debug lines with their level and origin in the log file" \
  grep -qE 'DEBUG:src/[a-z/_]+\.c:[0-9]+\].*PUT request on "/actions"' "$tmp/fc.log"

# --- requests in the wrong phase, on the running VM -----------------------------------------
api "$sock" PUT /boot-source "{\"kernel_image_path\": \"$kernel\"}"
expect "after start: PUT /boot-source is refused (status $code)" refused "not supported after starting"
api "$sock" PUT /actions '{"action_type": "InstanceStart"}'
expect "after start: a second InstanceStart is refused (status $code)" refused "not supported after starting"

# --- pause and resume -----------------------------------------------------------------------
expect "shell: the busybox shell prompts on ttyS0" wait_for vm1 '/ # '
# A busy loop (CPU to stop) and a ticker (output to stop).
type_in vm1 'while :; do :; done & busy=$!; while :; do echo tick; sleep 0.2; done & ticker=$!'
expect "running: the guest's ticker prints" wait_for vm1 '^tick' 30
p=${pid[vm1]}
c0=$(cpu_ticks "$p"); w0=$(now); sleep 1; c1=$(cpu_ticks "$p"); w1=$(now)
hz=$(getconf CLK_TCK)
run_pct=$(calc "round(100 * ($c1 - $c0) / $hz / ($w1 - $w0))")
# Only more than the paused limit: under a loaded host the vCPU may get little of a core.
expect "running: a busy guest uses the CPU (${run_pct}% of a core)" [ "$run_pct" -gt 5 ]
expect "time: the guest reads its uptime before the pause" gsh vm1 'cat /proc/uptime'
up0=${reply%% *}
h0=$(now)
expect_api "PATCH /vm Paused" 204 "$sock" PATCH /vm '{"state":"Paused"}'
hp0=$(now)
api "$sock" GET /
expect "GET /: Paused" json_ok "$body" 'd["state"] == "Paused"'
size0=$(stat -c %s "$tmp/vm1.out")
c0=$(cpu_ticks "$p"); w0=$(now); sleep 1; c1=$(cpu_ticks "$p"); w1=$(now)
pause_pct=$(calc "round(100 * ($c1 - $c0) / $hz / ($w1 - $w0))")
expect "paused: the process uses no CPU (${pause_pct}% of a core)" [ "$pause_pct" -le 5 ]
sleep "$(calc "max(0.1, 3 - ($(now) - $hp0))")"
size1=$(stat -c %s "$tmp/vm1.out")
expect "paused: the guest writes nothing ($size0 -> $size1 bytes)" [ "$size0" = "$size1" ]
hp1=$(now)
expect_api "PATCH /vm Resumed" 204 "$sock" PATCH /vm '{"state":"Resumed"}'
api "$sock" GET /
expect "GET /: Running again" json_ok "$body" 'd["state"] == "Running"'
expect "time: the guest reads its uptime after the resume" gsh vm1 'cat /proc/uptime'
up1=${reply%% *}
h1=$(now)
wall=$(calc "round($h1 - $h0, 2)")
paused=$(calc "round($hp1 - $hp0, 2)")
guest=$(calc "round(${up1:-0} - ${up0:-0}, 2)")
# Guest time stands still while paused: it advances by the running time only.
expect "time: no jump over a pause (guest +$guest s, wall $wall s, paused $paused s)" \
  python3 -c "import sys; sys.exit(not (0 < $guest < $wall - 2))"
type_in vm1 'kill $busy $ticker'
marker=marker-$RANDOM
type_in vm1 "echo $marker"
expect "resumed: the guest shell answers ($marker)" wait_for vm1 "^$marker\$" 30
expect_api "PATCH /vm Resumed when running changes nothing" 204 "$sock" PATCH /vm '{"state":"Resumed"}'

# --- metrics --------------------------------------------------------------------------------
expect_api "PUT /metrics after boot is refused" 400 "$sock" PUT /metrics \
  "{\"metrics_path\": \"$tmp/late-metrics.json\"}"
expect_api "PUT /actions FlushMetrics" 204 "$sock" PUT /actions '{"action_type": "FlushMetrics"}'
line=$(tail -n1 "$metrics" 2>/dev/null)
expect "metrics: the flushed line is JSON" json_ok "${line:-x}" 'isinstance(d, dict)'
expect "metrics: vcpu exit counters and cpu_time_us > 0" json_ok "${line:-x}" \
  "d['vcpu']['cpu_time_us'] > 0 and sum(v for k, v in d['vcpu'].items() if k.startswith('exit_')) > 0"
expect "metrics: block_rootfs and net_net1" json_ok "${line:-x}" \
  "isinstance(d['block_rootfs'], dict) and isinstance(d['net_net1'], dict) and d['vmm']['pauses'] >= 1"
# VM 1's whole configuration, metrics included, for VM 2 to load.
api "$sock" GET /vm/config
printf '%s\n' "$body" >"$tmp/vm1-config.json"

# --- SendCtrlAltDel ends the process --------------------------------------------------------
expect_api "PUT /actions SendCtrlAltDel" 204 "$sock" PUT /actions '{"action_type": "SendCtrlAltDel"}'
t0=$(now)
wait_exit vm1 20
expect "Ctrl+Alt+Del: the process exits with status 0 (status $status, $(calc "round($(now) - $t0, 1)") s)" \
  [ "$status" = 0 ]
expect "Ctrl+Alt+Del: busybox init ran its ctrlaltdel action" shows vm1 '^Requesting system reboot'
expect "Ctrl+Alt+Del: the kernel restarted" shows vm1 'reboot: Restarting system'
expect "Ctrl+Alt+Del: the socket file is gone" [ ! -e "$sock" ]
if command -v e2fsck >/dev/null; then
  fsck_clean() { e2fsck -fn "$1" >/dev/null 2>&1; }
  expect "Ctrl+Alt+Del: init's shutdown left the ext4 root clean" fsck_clean "$rootfs"
fi

# --- GET /vm/config loads back as a config file ---------------------------------------------
# The rootfs has one writer at a time: VM 2 boots after VM 1 has gone, so the
# config can be loaded exactly as GET gave it, the log and metrics paths too
# (both files are opened for appending).
sock2=$tmp/fc2.sock
start vm2 --api-sock "$sock2" --config-file "$tmp/vm1-config.json"
expect "config round trip: VM 2 boots the same guest" wait_for vm2 "$ready_1cpu"
api "$sock2" GET /
expect "config round trip: GET / Running" json_ok "$body" 'd["state"] == "Running"'
api "$sock2" GET /vm/config
expect "config round trip: GET /vm/config equals VM 1's" \
  python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1])) != json.loads(sys.argv[2]))' \
  "$tmp/vm1-config.json" "$body"
kill -TERM "${pid[vm2]}" 2>/dev/null
wait_exit vm2 20
expect "config round trip: SIGTERM ends VM 2 with status 0 (status $status)" [ "$status" = 0 ]
expect "config round trip: the socket file is gone" [ ! -e "$sock2" ]

# --- --config-file with --no-api ------------------------------------------------------------
cat >"$tmp/vm3.json" <<EOF
{
  "boot-source": {"kernel_image_path": "$kernel", "boot_args": "$bootargs"},
  "drives": [{"drive_id": "rootfs", "path_on_host": "$tmp/rootfs3.ext4",
              "is_root_device": true, "is_read_only": false}],
  "machine-config": {"vcpu_count": 2, "mem_size_mib": 256},
  "network-interfaces": [{"iface_id": "net1", "guest_mac": "06:00:AC:10:00:02",
                          "host_dev_name": "user"}]
}
EOF
start vm3 --config-file "$tmp/vm3.json" --no-api
expect "config file: the guest boots" \
  wait_for vm3 '^duvisor-guest: ready \(2 cpus, .*, root ext4\)'
expect "config file: the kernel brought up 2 CPUs" shows vm3 'smp: Brought up 1 node, 2 CPUs'
wait_for vm3 '/ # ' 30 # typed before the shell opens ttyS0, input would be lost
gsh vm3 'grep -c ^processor /proc/cpuinfo'
expect "config file: /proc/cpuinfo lists 2 processors ($reply)" [ "$reply" = 2 ]
gsh vm3 "grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2"
expect "config file: 256 MiB of memory (MemTotal ${reply:-?} kB)" \
  python3 -c "import sys; sys.exit(not (200000 < ${reply:-0} <= 262144))"
kill -TERM "${pid[vm3]}" 2>/dev/null
wait_exit vm3 20
expect "config file: SIGTERM ends it with status 0 (status $status)" [ "$status" = 0 ]

# --- a fresh process: PATCH /vm before start, then a drive swap -----------------------------
sock4=$tmp/fc4.sock
start vm4 --api-sock "$sock4"
wait_sock vm4 "$sock4"
api "$sock4" PATCH /vm '{"state":"Paused"}'
expect "before start: PATCH /vm is refused (status $code)" refused "before starting"
api "$sock4" GET /
expect "before start: GET / says Not started" json_ok "$body" 'd["state"] == "Not started"'
expect_api "drive swap: PUT /boot-source" 204 "$sock4" PUT /boot-source \
  "{\"kernel_image_path\": \"$kernel\", \"boot_args\": \"$bootargs\"}"
expect_api "drive swap: PUT /drives/rootfs" 204 "$sock4" PUT /drives/rootfs \
  "{\"drive_id\": \"rootfs\", \"path_on_host\": \"$tmp/rootfs4.ext4\", \"is_root_device\": true}"
expect_api "drive swap: PUT /drives/data (16 MiB)" 204 "$sock4" PUT /drives/data \
  "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/data16.img\", \"is_root_device\": false}"
api "$sock4" PATCH /drives/data "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/data32.img\"}"
expect "before start: PATCH /drives is refused (status $code)" refused "before starting"
expect_api "drive swap: InstanceStart" 204 "$sock4" PUT /actions '{"action_type": "InstanceStart"}'
expect "drive swap: the guest boots" wait_for vm4 "$ready_1cpu"
wait_for vm4 '/ # ' 30
gsh vm4 'cat /sys/block/vdb/size'
expect "drive swap: the guest sees 16 MiB on vdb (${reply:-?} sectors)" [ "$reply" = 32768 ]
expect_api "drive swap: PATCH /drives/data to a 32 MiB file" 204 "$sock4" PATCH /drives/data \
  "{\"drive_id\": \"data\", \"path_on_host\": \"$tmp/data32.img\"}"
expect "drive swap: the kernel reports the new size" \
  wait_for vm4 'virtio_blk virtio1: \[vdb\] new size: 65536 512-byte logical blocks' 30
gsh vm4 'cat /sys/block/vdb/size'
expect "drive swap: /sys/block/vdb/size reads 65536 (${reply:-?})" [ "$reply" = 65536 ]
api "$sock4" GET /vm/config
expect "drive swap: GET /vm/config has the new path" json_ok "$body" \
  "[x['path_on_host'] for x in d['drives'] if x['drive_id'] == 'data'] == ['$tmp/data32.img']"
api "$sock4" PATCH /drives/nope '{"drive_id": "nope", "path_on_host": "'"$tmp/data32.img"'"}'
expect "drive swap: PATCH of an unknown drive is refused (status $code)" [ "$code" = 400 ]
kill -TERM "${pid[vm4]}" 2>/dev/null
wait_exit vm4 20
expect "drive swap: SIGTERM ends it with status 0 (status $status)" [ "$status" = 0 ]

# --- duvisor run --api-sock -----------------------------------------------------------------
sock5=$tmp/run.sock
start vm5 run --kernel "$kernel" --initrd "$initramfs" --append "console=ttyS0" --api-sock "$sock5"
expect "run --api-sock: the API socket appears" wait_sock vm5 "$sock5"
api "$sock5" GET /
expect "run --api-sock: GET / says Running" json_ok "$body" 'd["state"] == "Running"'
api "$sock5" GET /machine-config
expect "run --api-sock: GET /machine-config has run's defaults (1 vCPU, 256 MiB)" json_ok "$body" \
  'd["vcpu_count"] == 1 and d["mem_size_mib"] == 256'
expect "run --api-sock: the guest boots" wait_for vm5 '^duvisor-guest: ready \(1 cpus'
expect_api "run --api-sock: SendCtrlAltDel" 204 "$sock5" PUT /actions '{"action_type": "SendCtrlAltDel"}'
wait_exit vm5 20
expect "run --api-sock: Ctrl+Alt+Del ends it with status 0 (status $status)" [ "$status" = 0 ]
expect "run --api-sock: the socket file is gone" [ ! -e "$sock5" ]

echo "# api.sh took $(($(date +%s) - started)) s (DUVISOR_JIT=${DUVISOR_JIT:-unset})"
