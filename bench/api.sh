#!/usr/bin/env bash
# bench/api.sh: the control API, duvisor alone (QEMU has no such API; the
# reference is Firecracker's own specification, quoted in the notes):
#
# - api_sock_ready: process start to the API socket accepting connections;
# - api_rtt_get / api_rtt_put: median round trip of GET / and of
#   PUT /machine-config over one keep-alive connection (200 requests each);
# - api_start_to_ready: PUT /actions InstanceStart sent to the guest's ready
#   line on the serial console.
# The client is a small python3 program speaking HTTP/1.1 on the Unix socket.
source "$(dirname "$0")/lib.sh"
bench_setup api

describe api_sock_ready "api: process start to API socket ready" ms lower
describe api_rtt_get "api: GET / round trip (median of 200)" us lower
describe api_rtt_put "api: PUT /machine-config round trip (median of 200)" us lower
describe api_start_to_ready "api: InstanceStart to guest ready line" ms lower
note "api: Firecracker's SPECIFICATION.md promises the API socket within 8 CPU ms of process start (typically 12 ms wall) and the guest's /sbin/init within 125 ms of InstanceStart; it publishes no request round-trip figure."

client=$(mktemp)
tmp=$(mktemp -d)
trap 'rm -rf "$client" "$tmp"' EXIT
cat >"$client" <<'PY'
import json, os, socket, statistics, subprocess, sys, time
duvisor, kernel, initrd, append, sock = sys.argv[1:6]
def request(s, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(data)}\r\n"
    head += "Content-Type: application/json\r\n\r\n" if data else "\r\n"
    s.sendall(head.encode() + data)
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(65536)
    header, rest = buf.split(b"\r\n\r\n", 1)
    status = int(header.split()[1])
    length = 0
    for line in header.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v)
    while len(rest) < length:
        rest += s.recv(65536)
    return status
t0 = time.monotonic()
out = open(sock + ".out", "wb")
p = subprocess.Popen([duvisor, "--api-sock", sock], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL)
s = socket.socket(socket.AF_UNIX)
while True:
    try:
        s.connect(sock)
        break
    except OSError:
        if time.monotonic() - t0 > 10: sys.exit("no API socket")
        time.sleep(0.0002)
ready = (time.monotonic() - t0) * 1e3
def rtts(method, path, body=None):
    xs = []
    for _ in range(200):
        a = time.monotonic()
        assert request(s, method, path, body) in (200, 204)
        xs.append((time.monotonic() - a) * 1e6)
    return statistics.median(xs)
get = rtts("GET", "/")
put = rtts("PUT", "/machine-config", {"vcpu_count": 1, "mem_size_mib": 256})
assert request(s, "PUT", "/boot-source", {"kernel_image_path": kernel, "initrd_path": initrd,
                                          "boot_args": append}) == 204
a = time.monotonic()
assert request(s, "PUT", "/actions", {"action_type": "InstanceStart"}) == 204
line = b""
while b"duvisor-guest: ready" not in line:
    line = p.stdout.readline()
    if not line: sys.exit("guest output ended before its ready line")
start = (time.monotonic() - a) * 1e3
p.terminate()
p.wait(timeout=30)
print(f"{ready:.2f} {get:.1f} {put:.1f} {start:.1f}")
PY
for run in $(seq "$RUNS"); do
  rm -f "$tmp/api.sock"
  read -r ready get put start < <(python3 "$client" "$DUVISOR" "$guest_kernel" "$guest_initramfs" \
    "$BASE_APPEND" "$tmp/api.sock") || die "api run $run failed"
  record api_sock_ready duvisor "$ready"
  record api_rtt_get duvisor "$get"
  record api_rtt_put duvisor "$put"
  record api_start_to_ready duvisor "$start"
  log "api run $run: socket $ready ms, GET $get us, PUT $put us, start to ready $start ms"
done
print_table api_
