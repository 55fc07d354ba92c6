#!/usr/bin/env bash
# bench/io.sh: virtio I/O throughput, duvisor against qemu-system-riscv64 -M virt
# on the same guest, kernel command line, RAM and host. A benchmark, not a test:
# it reports figures and never judges them; it fails (status 1) only when a run
# does not complete.
#
#   - virtio-blk: sequential write then read of 256 MiB of a fresh raw image,
#     busybox dd with O_DIRECT in the guest, timed by dd (guest/tests/bench-io-blk);
#   - TCP guest -> host through user-mode networking (libslirp in duvisor, QEMU's
#     slirp): the guest's tcpsend pushes 64 MiB to a listener on 127.0.0.1 that
#     times the transfer on the host (guest/tests/bench-io-net);
#   - virtio-fs: a 64 MiB file written (with fsync) and read back (page cache
#     dropped) by busybox dd in a host folder both sides share through the same
#     virtiofsd (QEMU: vhost-user-fs-device on a memfd memory backend), timed by
#     dd (guest/tests/bench-io-fs). Skipped when there is no virtiofsd.
#   - vsock guest -> host: the guest's vsock program streams 64 MiB to CID 2,
#     which duvisor's hybrid backend hands to a Unix-socket listener that times
#     the transfer on the host (guest/tests/bench-io-vsock). duvisor only: QEMU's
#     vsock is vhost-vsock, which needs the host kernel's /dev/vhost-vsock
#     (absent here); the QEMU column says so.
#
# The two sides alternate run by run (duvisor first on odd runs), so drift over
# the run does not favour either. Prints a table (median, min-max, ratio) and
# writes $B/bench/io-latest.tsv: metric, side, median, min, max, unit.
# MB = 10^6 bytes. Environment: B (build dir, default build), DUVISOR, QEMU,
# BENCH_IO_RUNS (runs per side, default 5), BENCH_IO_TIMEOUT (s per VM, 120).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
B=${B:-build}
out=$root/$B/bench
DUVISOR=${DUVISOR:-$root/$B/duvisor}
QEMU=${QEMU:-qemu-system-riscv64}
RUNS=${BENCH_IO_RUNS:-5}
VM_TIMEOUT=${BENCH_IO_TIMEOUT:-120}
BLK_MIB=256
IMG_MIB=300
NET_BYTES=$((64 << 20))
FS_MIB=64
VSOCK_BYTES=$((64 << 20))
VSOCK_PORT=5201
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}

die() { echo "bench/io.sh: $*" >&2; exit 1; }
log() { echo "bench/io.sh: $*" >&2; }

# --- cleanup: no VM or listener outlives the script, whatever ends it ----------------
vm_pid='' listener_pid='' vfsd_pid='' work=''
stop_group() { # stop_group PID: TERM, then KILL, to the process group PID leads
  local pid=$1
  [ -n "$pid" ] || return 0
  kill -TERM -- -"$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || return 0
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.2
  done
  kill -KILL -- -"$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null
}
cleanup() {
  stop_group "$vm_pid"
  [ -z "$listener_pid" ] || kill -KILL "$listener_pid" 2>/dev/null
  [ -z "$vfsd_pid" ] || kill -KILL "$vfsd_pid" 2>/dev/null
  [ -z "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'echo "bench/io.sh: interrupted" >&2; exit 1' INT TERM HUP

# --- setup ----------------------------------------------------------------------------
command -v "$QEMU" >/dev/null || die "no $QEMU (Debian package qemu-system-misc; run scripts/setup)"
command -v python3 >/dev/null || die "no python3 (the TCP listener and the statistics use it)"
[ -x "$DUVISOR" ] || die "no $DUVISOR (run make first)"
bash "$root/scripts/build-guest" >/dev/null || die "guest build failed (bash scripts/build-guest)"
paths=$(bash "$root/scripts/build-guest" --print)
kernel=$(sed -n 's/^Image: *//p' <<<"$paths")
initramfs=$(sed -n 's/^initramfs: *//p' <<<"$paths")
[ -f "$kernel" ] && [ -f "$initramfs" ] || die "guest artefacts missing after build ($kernel, $initramfs)"
mkdir -p "$out/io-logs" || die "cannot create $out/io-logs"
# Scratch space (the disk image) inside the build tree: the one file both sides
# use lives on one filesystem, and is not a tmpfs that would flatter writes.
work=$(mktemp -d "$out/io-work.XXXXXX") || die "cannot create a scratch directory in $out"
samples=$work/samples
: >"$samples"

# --- one VM run -----------------------------------------------------------------------
# run_vm LOG SIDE TEST APPEND-EXTRA [DEVICE-ARGS...]: boot the guest into TEST
# and wait for it to power off. DEVICE-ARGS are given per side by the caller.
# timeout runs the VM in a process group of its own, which cleanup can kill whole.
run_vm() {
  local log=$1 side=$2 test=$3 extra=$4 status=0
  shift 4
  local append="console=ttyS0 duvisor.test=$test${extra:+ $extra}" cmd
  case $side in
    duvisor) cmd=("$DUVISOR" run --kernel "$kernel" --initrd "$initramfs" --smp 1 --memory 256M
                  --no-reboot --append "$append" "$@") ;;
    qemu) cmd=("$QEMU" -M virt -bios default -smp 1 -m 256M -nographic -no-reboot
               -kernel "$kernel" -initrd "$initramfs" -append "$append" "$@") ;;
  esac
  { printf '#'; printf ' %q' "${cmd[@]}"; echo; } >"$log"
  timeout -k 5 "$VM_TIMEOUT" "${cmd[@]}" </dev/null >>"$log" 2>&1 &
  vm_pid=$!
  wait "$vm_pid" || status=$?
  vm_pid=
  if [ "$status" -eq 124 ]; then
    tail -15 "$log" >&2; die "$side $test: no power-off within ${VM_TIMEOUT}s (log $log)"
  fi
  if [ "$status" -ne 0 ] || ! grep -aq "duvisor-guest: test $test exit 0" "$log"; then
    tail -15 "$log" >&2; die "$side $test failed (status $status, log $log)"
  fi
}

# guest_line LOG PREFIX: the words after PREFIX on the guest's line starting with it.
guest_line() { tr -d '\r' <"$1" | sed -n "s/^$2 //p" | head -1; }

# mbps BYTES SECONDS
mbps() { awk -v b="$1" -v s="$2" 'BEGIN { if (s <= 0) exit 1; printf "%.1f\n", b / s / 1e6 }'; }

# --- virtio-blk -----------------------------------------------------------------------
blk_run() { # blk_run SIDE RUN
  local side=$1 run=$2 log=$out/io-logs/blk-$1-run$2.log img=$work/disk.img dev words
  # A fresh sparse image per boot: every run writes into the same kind of
  # not-yet-allocated host file, whichever side goes first.
  rm -f "$img"
  truncate -s "${IMG_MIB}M" "$img" || die "cannot create $img"
  case $side in
    duvisor) dev=(--disk "$img") ;;
    qemu) dev=(-drive "file=$img,format=raw,if=none,id=d0" -device "virtio-blk-device,drive=d0") ;;
  esac
  run_vm "$log" "$side" bench-io-blk "" "${dev[@]}"
  rm -f "$img"
  local what
  for what in write read zero-fill; do
    words=$(guest_line "$log" "bench-io-blk: $what")
    set -- $words
    [ $# -eq 2 ] && [ "$1" -eq $((BLK_MIB << 20)) ] ||
      die "$side bench-io-blk: no '$what' figure for $BLK_MIB MiB (log $log)"
    echo "blk-$what $side $(mbps "$1" "$2")" >>"$samples"
  done
}

# --- TCP guest -> host ----------------------------------------------------------------
# The listener: one connection, counted until EOF. The clock starts at the first
# byte and those first bytes are not counted, so connection set-up and the
# guest's start are out of the figure. Writes "BYTES SECONDS TOTAL" to RESULT.
listener_py='
import socket, sys, time, os
port_file, result_file, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
unix_path = sys.argv[4] if len(sys.argv) > 4 else None  # vsock: a Unix socket instead
if unix_path:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(unix_path)
else:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
srv.listen(1)
srv.settimeout(timeout)
with open(port_file + ".tmp", "w") as f:
    f.write("%s\n" % (unix_path or srv.getsockname()[1]))
os.rename(port_file + ".tmp", port_file)
conn, _ = srv.accept()
conn.settimeout(timeout)
buf = bytearray(1 << 20)
total = timed = 0
t0 = None
while True:
    n = conn.recv_into(buf)
    if n == 0:
        break
    total += n
    if t0 is None:
        t0 = time.monotonic()
    else:
        timed += n
t1 = time.monotonic()
conn.close()
with open(result_file, "w") as f:
    f.write("%d %.6f %d\n" % (timed, t1 - t0 if t0 else 0, total))
'

net_run() { # net_run SIDE RUN
  local side=$1 run=$2 log=$out/io-logs/net-$1-run$2.log port dev result
  rm -f "$work/port" "$work/result"
  python3 -c "$listener_py" "$work/port" "$work/result" "$VM_TIMEOUT" 2>"$work/listener.err" &
  listener_pid=$!
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  port=$(cat "$work/port" 2>/dev/null) || die "the TCP listener did not start: $(cat "$work/listener.err")"
  case $side in
    duvisor) dev=(--net user) ;;
    qemu) dev=(-netdev "user,id=n0" -device "virtio-net-device,netdev=n0") ;;
  esac
  run_vm "$log" "$side" bench-io-net "duvisor.port=$port duvisor.bytes=$NET_BYTES" "${dev[@]}"
  wait "$listener_pid" || die "$side: the TCP listener failed: $(cat "$work/listener.err")"
  listener_pid=
  result=$(cat "$work/result" 2>/dev/null)
  set -- $result
  [ $# -eq 3 ] && [ "$3" -eq "$NET_BYTES" ] ||
    die "$side: the host received ${3:-nothing} of $NET_BYTES bytes (log $log)"
  echo "tcp-tx $side $(mbps "$1" "$2")" >>"$samples"
}

# --- vsock guest -> host (duvisor only) -----------------------------------------------
vsock_run() { # vsock_run RUN
  local run=$1 log=$out/io-logs/vsock-duvisor-run$1.log uds=$work/vsock.sock result
  rm -f "$work/port" "$work/result" "$uds" "${uds}_$VSOCK_PORT"
  python3 -c "$listener_py" "$work/port" "$work/result" "$VM_TIMEOUT" "${uds}_$VSOCK_PORT" \
    2>"$work/listener.err" &
  listener_pid=$!
  for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || die "the vsock listener did not start: $(cat "$work/listener.err")"
  run_vm "$log" duvisor bench-io-vsock "duvisor.port=$VSOCK_PORT duvisor.bytes=$VSOCK_BYTES" \
    --vsock "cid=3,uds=$uds"
  wait "$listener_pid" || die "the vsock listener failed: $(cat "$work/listener.err")"
  listener_pid=
  result=$(cat "$work/result" 2>/dev/null)
  set -- $result
  [ $# -eq 3 ] && [ "$3" -eq "$VSOCK_BYTES" ] ||
    die "vsock: the host received ${3:-nothing} of $VSOCK_BYTES bytes (log $log)"
  echo "vsock-tx duvisor $(mbps "$1" "$2")" >>"$samples"
}

# --- virtio-fs ------------------------------------------------------------------------
# QEMU gets its own virtiofsd on a socket; duvisor starts one itself (--share).
fs_run() { # fs_run SIDE RUN
  local side=$1 run=$2 log=$out/io-logs/fs-$1-run$2.log dir=$work/share sock=$work/vfs.sock dev words
  rm -rf "$dir" "$sock"
  mkdir -p "$dir"
  case $side in
    duvisor) dev=(--share "$dir,tag=bench") ;;
    qemu)
      "$VIRTIOFSD" --socket-path="$sock" -o source="$dir" -o cache=auto -o log_level=err \
        2>"$work/vfsd.err" &
      vfsd_pid=$!
      for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
      [ -S "$sock" ] || die "virtiofsd for QEMU did not start: $(cat "$work/vfsd.err")"
      # modern virtio-mmio (QEMU 7.2 defaults to legacy), which vhost-user-fs needs
      dev=(-global virtio-mmio.force-legacy=false
           -object "memory-backend-memfd,id=mem,size=256M,share=on" -machine memory-backend=mem
           -chardev "socket,id=vfs,path=$sock" -device "vhost-user-fs-device,chardev=vfs,tag=bench") ;;
  esac
  run_vm "$log" "$side" bench-io-fs "" "${dev[@]}"
  if [ -n "$vfsd_pid" ]; then wait "$vfsd_pid" 2>/dev/null; vfsd_pid=; fi
  local what
  for what in write read; do
    words=$(guest_line "$log" "bench-io-fs: $what")
    set -- $words
    [ $# -eq 2 ] && [ "$1" -eq $((FS_MIB << 20)) ] ||
      die "$side bench-io-fs: no '$what' figure for $FS_MIB MiB (log $log)"
    echo "fs-$what $side $(mbps "$1" "$2")" >>"$samples"
  done
}
have_fs=1
[ -x "$VIRTIOFSD" ] || { have_fs=; log "no $VIRTIOFSD: virtio-fs rows skipped"; }

# --- the runs -------------------------------------------------------------------------
log "$RUNS runs per side, alternating; logs in $out/io-logs"
for run in $(seq "$RUNS"); do
  if [ $((run % 2)) -eq 1 ]; then sides="duvisor qemu"; else sides="qemu duvisor"; fi
  for side in $sides; do blk_run "$side" "$run"; done
  for side in $sides; do net_run "$side" "$run"; done
  [ -z "$have_fs" ] || for side in $sides; do fs_run "$side" "$run"; done
  vsock_run "$run"
  log "run $run of $RUNS done"
done

# --- report ---------------------------------------------------------------------------
tsv=$out/io-latest.tsv
python3 - "$samples" "$tsv" "$RUNS" "$("$QEMU" --version | head -1)" <<'EOF' || die "could not summarise the samples"
import statistics, sys
samples, tsv, runs, qemu = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
data = {}
for line in open(samples):
    metric, side, value = line.split()
    data.setdefault((metric, side), []).append(float(value))
metrics = [("blk-write", "virtio-blk seq write 256 MiB"),
           ("blk-read", "virtio-blk seq read 256 MiB"),
           ("tcp-tx", "TCP guest->host 64 MiB"),
           ("fs-write", "virtio-fs seq write 64 MiB"),
           ("fs-read", "virtio-fs seq read 64 MiB"),
           ("vsock-tx", "vsock guest->host 64 MiB")]
metrics = [(m, l) for m, l in metrics if (m, "duvisor") in data]
def stats(m, s):
    v = data[(m, s)]
    return statistics.median(v), min(v), max(v)
with open(tsv, "w") as f:
    f.write("metric\tside\tmedian\tmin\tmax\tunit\n")
    for m, _ in metrics:
        for s in ("duvisor", "qemu"):
            if (m, s) in data:
                f.write("%s\t%s\t%.1f\t%.1f\t%.1f\tMB/s\n" % ((m, s) + stats(m, s)))
print("I/O throughput, MB/s (10^6 bytes/s), median (min-max) of %s runs per side; higher is better" % runs)
print("QEMU: %s, -M virt, TCG" % qemu)
row = "%-30s %-22s %-22s %s"
print(row % ("", "duvisor", "QEMU", "duvisor/QEMU"))
cell = lambda t: "%.1f (%.1f-%.1f)" % t
for m, label in metrics:
    d = stats(m, "duvisor")
    if (m, "qemu") not in data:  # vsock: QEMU's needs the host's vhost-vsock
        print(row % (label, cell(d), "n/a (vhost-vsock)", "-"))
        continue
    q = stats(m, "qemu")
    print(row % (label, cell(d), cell(q), "%.2fx" % (d[0] / q[0])))
d, q = stats("blk-zero-fill", "duvisor"), stats("blk-zero-fill", "qemu")
print("note: the write figure includes filling dd's buffer from /dev/zero in the guest,")
print("      alone %.0f MB/s under duvisor and %.0f MB/s under QEMU (medians)" % (d[0], q[0]))
EOF
echo "TSV: ${tsv#$root/}"
exit 0
