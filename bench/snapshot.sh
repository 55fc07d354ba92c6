#!/usr/bin/env bash
# bench/snapshot.sh: snapshots and live upgrade, duvisor alone (the peers'
# figures are quoted in the notes), for a guest at a shell with 256 MiB and
# with 2 GiB of RAM:
#
# - snap_create: `duvisor snapshot` (pause, state and memory files, resume), wall time;
# - snap_state_kib / snap_mem_mib: the state file, and the memory file's allocated size
#   (sparse: what the guest touched);
# - snap_restore_run: `duvisor restore`'s main() started to the vCPUs running again
#   (the VMM's log; the dynamic loader's ~2 ms before main are not in it);
# - snap_restore: `duvisor restore` started to the guest's next console output
#   (a loop in the guest prints a line every millisecond or so);
# - upgrade_pause: a live upgrade as the VMM measures it (guest paused to resumed);
# - upgrade_gap: the same upgrade as the guest's peers see it: the longest gap
#   between two console lines of that loop around the upgrade, on the host's clock.
# The guest's own clocks do not see either pause: its time continues from the
# instant it paused (as Firecracker's snapshots do).
source "$(dirname "$0")/lib.sh"
bench_setup snapshot

for mem in 256 2048; do
  describe snap_create_$mem "snapshot: create (pause, write, resume), $mem MiB guest" ms lower
  describe snap_state_kib_$mem "snapshot: state file, $mem MiB guest" KiB lower
  describe snap_mem_mib_$mem "snapshot: memory file allocated, $mem MiB guest" MiB lower
  describe snap_restore_run_$mem "snapshot: restore, main() to vCPUs running, $mem MiB guest" ms lower
  describe snap_restore_$mem "snapshot: restore, process start to guest console output, $mem MiB guest" ms lower
  describe upgrade_pause_$mem "live upgrade: guest paused (VMM's measure), $mem MiB guest" ms lower
  describe upgrade_gap_$mem "live upgrade: longest console gap (host clock), $mem MiB guest" ms lower
done
note "snapshot: Firecracker's CI baselines for snapshot restore are 2-4 ms (ARM hosts) and 29-243 ms (x86 hosts, 128 MiB to 2 GiB guests); Cloud Hypervisor's local live migration (its live upgrade) about 50 ms for an idle 4 GiB guest; QEMU's cpr prototype under 100 ms."

client=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$client" "$tmp"' EXIT
cat >"$client" <<'PY'
import os, re, select, subprocess, sys, time
duvisor, kernel, initrd, append, mem, tmp = sys.argv[1:7]
sock, state, memfile = f"{tmp}/api.sock", f"{tmp}/vm.state", f"{tmp}/vm.mem"
def spawn(args, err):
    return subprocess.Popen([duvisor] + args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=open(err, "wb"), bufsize=0)
def read_until(p, pattern, timeout=120):
    buf, end = b"", time.monotonic() + timeout
    while pattern not in buf:
        if not select.select([p.stdout], [], [], max(0, end - time.monotonic()))[0]:
            sys.exit(f"timeout waiting for {pattern!r}")
        chunk = os.read(p.stdout.fileno(), 65536)
        if not chunk: sys.exit(f"output ended before {pattern!r}")
        buf += chunk
    return buf
def drain(p, seconds):
    """Console lines' arrival times over `seconds`: the longest gap, in ms."""
    last, gap, end = None, 0.0, time.monotonic() + seconds
    while time.monotonic() < end:
        if select.select([p.stdout], [], [], 0.05)[0]:
            chunk = os.read(p.stdout.fileno(), 65536)
            now = time.monotonic()
            if chunk.count(b"\n"):
                if last is not None: gap = max(gap, (now - last) * 1e3)
                last = now
    return gap
for f in (sock, state, memfile):
    if os.path.exists(f): os.unlink(f)
vm = spawn(["run", "--kernel", kernel, "--initrd", initrd, "--append", append, "--memory",
            mem + "M", "--api-sock", sock], f"{tmp}/run.err")
read_until(vm, b"duvisor-guest: ready")
read_until(vm, b"# ")
vm.stdin.write(b"while :; do echo t; usleep 1000; done\n")
read_until(vm, b"t\r\n")
drain(vm, 1)
a = time.monotonic()
subprocess.run([duvisor, "snapshot", "--api-sock", sock, "--snapshot", state, "--mem", memfile],
               check=True)
create = (time.monotonic() - a) * 1e3
state_kib = os.path.getsize(state) / 1024
mem_mib = os.stat(memfile).st_blocks * 512 / 2**20
# live upgrade of the running VM, seen from its console
gaps = []
import threading
def upgrade():
    time.sleep(0.3)
    subprocess.run([duvisor, "upgrade", "--api-sock", sock], check=True)
t = threading.Thread(target=upgrade); t.start()
gap = drain(vm, 1.5)
t.join()
vm.kill(); vm.wait()
pause = [float(x) / 1e3 for x in re.findall(rb"the guest was paused (\d+) us",
                                            open(f"{tmp}/run.err", "rb").read())]
if not pause: sys.exit("no live upgrade line in the VMM's log")
a = time.monotonic()
vm = spawn(["restore", "--snapshot", state, "--mem", memfile], f"{tmp}/restore.err")
read_until(vm, b"t\r\n", 30)
restore = (time.monotonic() - a) * 1e3
vm.kill(); vm.wait()
running = re.findall(rb"VM running (\d+) us after process start", open(f"{tmp}/restore.err", "rb").read())
if not running: sys.exit("no restore line in the VMM's log")
running = float(running[0]) / 1e3
print(f"{create:.1f} {state_kib:.1f} {mem_mib:.1f} {running:.2f} {restore:.2f} {pause[-1]:.2f} {gap:.1f}")
PY
for run in $(seq "$RUNS"); do
  for mem in 256 2048; do
    read -r create state_kib mem_mib running restore pause gap < <(python3 "$client" "$DUVISOR" \
      "$guest_kernel" "$guest_initramfs" "$BASE_APPEND" "$mem" "$tmp") ||
      die "snapshot run $run ($mem MiB) failed"
    record snap_create_$mem duvisor "$create"
    record snap_state_kib_$mem duvisor "$state_kib"
    record snap_mem_mib_$mem duvisor "$mem_mib"
    record snap_restore_run_$mem duvisor "$running"
    record snap_restore_$mem duvisor "$restore"
    record upgrade_pause_$mem duvisor "$pause"
    record upgrade_gap_$mem duvisor "$gap"
    log "snapshot run $run, $mem MiB: create $create ms, state $state_kib KiB, memory $mem_mib MiB," \
      "restore $running ms to running, $restore ms to output, upgrade pause $pause ms, console gap $gap ms"
  done
done
print_table snap_
print_table upgrade_
