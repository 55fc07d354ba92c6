#!/usr/bin/env bash
# The control API's socket against hostile clients, with no VM: thousands of
# bad requests (malformed HTTP, oversized headers and bodies, lying
# Content-Lengths, invalid JSON, unknown fields, wrong methods, a connection
# flood) must each be refused, the VMM must keep its file descriptors and
# memory and keep answering, and the socket's life (mode 0600, a live one is
# not stolen, a stale one is replaced, a file is not clobbered, removed on
# SIGTERM) must hold. Needs curl and python3; no guest kernel.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
duvisor=${DUVISOR:-$repo_root/build/duvisor}
tmp=$(mktemp -d)
trap 'vm_cleanup; rm -rf "$tmp"' EXIT
failures=0
pass() { ok "hostile: $*"; }
fail() { not_ok "hostile: $*"; failures=$((failures + 1)); }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name"; fi; }

if [ ! -x "$duvisor" ]; then
  make -s -C "$repo_root" -j2 all >"$tmp/build.log" 2>&1 || { fail "build duvisor"; exit 1; }
fi
for tool in curl python3; do
  command -v $tool >/dev/null || { fail "$tool is installed"; exit 1; }
done

sock=$tmp/api.sock
# start_vmm NAME: VMM NAME (duvisor with no VM yet) on $sock; its pid in $vmm too.
start_vmm() {
  start "$1" --api-sock "$sock" --id hostile
  vmm=${pid[$1]}
}
# wait_serving: until GET / answers (5 s at most).
wait_serving() {
  local i
  for i in $(seq 100); do
    curl -s -o /dev/null --max-time 1 --unix-socket "$sock" http://localhost/ && return 0
    kill -0 "$vmm" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
# get_root: GET / is 200 and says the instance has not started.
get_root() {
  local out
  out=$(curl -s --max-time 5 -w '\n%{http_code}' --unix-socket "$sock" http://localhost/) || return 1
  [ "$(tail -n1 <<<"$out")" = 200 ] &&
    grep -q '"state":"Not started"' <<<"$out" && grep -q '"id":"hostile"' <<<"$out"
}
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }

# --- the clients ---------------------------------------------------------------------------
# hostile.py SOCKET MODE N: raw bytes over AF_UNIX. Modes:
#   wellformed  valid HTTP carrying bad requests: each must get 400 or 413 with a body
#               that is JSON with exactly one key, fault_message (HEAD: no body)
#   raw         malformed HTTP: each connection must be answered with an HTTP error
#               status or closed, never left hanging, never answered 2xx
#   flood       N connections at once, half of them with a partial request, then all closed
cat >"$tmp/hostile.py" <<'EOF'
import json, os, random, socket, sys, time

path, mode, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
rng = random.Random(int(os.environ.get("HOSTILE_SEED", "1")))
problems = []

def problem(what, req):
    if len(problems) < 5:
        problems.append("%s: %r" % (what, req[:160]))

def connect():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(path)
    return s

def read_response(f, head):
    """One HTTP response from file f: (status, body); None if the peer closed."""
    line = f.readline()
    if not line:
        return None
    parts = line.split(None, 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise ValueError("not a status line: %r" % line)
    status, length, chunked = int(parts[1]), 0, False
    while True:
        h = f.readline()
        if h in (b"\r\n", b"\n", b""):
            break
        k, _, v = h.partition(b":")
        if k.strip().lower() == b"content-length":
            length = int(v.strip())
        if k.strip().lower() == b"transfer-encoding" and b"chunked" in v.lower():
            chunked = True
    body = b""
    if head or status in (204, 304) or 100 <= status < 200:
        return status, body
    if chunked:
        while True:
            size = int(f.readline().split(b";")[0], 16)
            chunk = f.read(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = f.read(length)
    return status, body

def fault_body_ok(body):
    try:
        j = json.loads(body.decode("utf-8"))
    except Exception:
        return False
    return isinstance(j, dict) and list(j) == ["fault_message"] and isinstance(j["fault_message"], str)

# --- well-formed HTTP, bad requests ---
bad_bodies = [
    b"{", b"}", b"[]", b"null", b"42", b'"text"', b"{\"vcpu_count\": }", b"{'a': 1}",
    b"\x00\x01\x02", b"\xff\xfe\xfd", b"{\"a\": \"\xc3\"}", b"{\"a\": \"\\ud800\"}",
    b"{\"a\": \"\\u0000\"}", b"[" * 3000 + b"]" * 3000, b"{\"a\":" * 2100 + b"1" + b"}" * 2100,
    b"{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"frobnicate\": true}",
    b"{\"vcpu_count\": \"2\", \"mem_size_mib\": 256}",
    b"{\"vcpu_count\": -1, \"mem_size_mib\": 256}",
    b"{\"vcpu_count\": 99999999999999999999999, \"mem_size_mib\": 256}",
    b"{\"vcpu_count\": 2, \"vcpu_count\": 3, \"mem_size_mib\": 256}",
    b"{\"vcpu_count\": 1.5, \"mem_size_mib\": 256}",
    b"{\"kernel_image_path\": \"/nonexistent/Image\"}",
    b"{\"kernel_image_path\": \"/etc/hostname\"}",
    b"{\"kernel_image_path\": \"" + b"a" * 5000 + b"\"}",
    b"{\"drive_id\": \"other\", \"path_on_host\": \"/dev/null\", \"is_root_device\": true}",
    b"{\"action_type\": \"Explode\"}", b"{\"action_type\": \"FlushMetrics\"}",
    b"{\"action_type\": \"" + b"a" * 63 + "\u00e9".encode() + b"\"}",
    b"{\"" + b"k" * 63 + "\u00e9".encode() + b"\": 1}",
    b"{\"state\": \"Paused\"}", b"{\"state\": \"Sleeping\"}",
    b"{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0/../x\"}",
    b"{\"level\": \"Loud\"}", b"{\"metrics_path\": 7}",
]
paths = ["/machine-config", "/boot-source", "/drives/rootfs", "/drives/bad-id", "/drives/",
         "/network-interfaces/eth0", "/actions", "/vm", "/logger", "/metrics", "/entropy",
         "/snapshot/create", "/balloon", "/mmds", "/nowhere", "/drives/%ff", "/%c3",
         "/" + "\u00e9" * 200, "/vm/config/x", "/" + "x" * 3000]
methods = ["PUT", "PATCH", "POST", "DELETE", "OPTIONS", "HEAD", "GET", "TRACE", "BREW"]

def wellformed_request():
    method = rng.choice(methods)
    p = rng.choice(paths)
    if rng.random() < 0.4:
        from urllib.parse import quote
        p = quote(p, safe="/%")
    body = rng.choice(bad_bodies)
    if method == "GET":
        if p in ("/", "/version", "/machine-config", "/vm/config"):
            body = body or b"{}"  # a GET with a body
        elif rng.random() < 0.5:
            body = b""
    if method in ("PUT", "PATCH") and rng.random() < 0.1:
        body = b""  # no body at all
    if method in ("PUT", "PATCH") and rng.random() < 0.05:
        body = b" " * (51200 + rng.choice([1, 100, 30000]))  # too large: 413
    req = ("%s %s HTTP/1.1\r\nHost: localhost\r\n" % (method, p)).encode("utf-8")
    if body or method in ("PUT", "PATCH"):
        req += b"Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
    return method, req + b"\r\n" + body

def wellformed(n):
    done, s, f = 0, None, None
    while done < n:
        if s is None or rng.random() < 0.1:  # mostly keep-alive, sometimes a new connection
            if s:
                s.close()
            s = connect()
            f = s.makefile("rb")
        method, req = wellformed_request()
        try:
            s.sendall(req)
            r = read_response(f, method == "HEAD")
        except (OSError, ValueError) as e:
            problem("error %s" % e, req)
            s = None
            done += 1
            continue
        done += 1
        if r is None:
            problem("closed without a reply", req)
            s = None
            continue
        status, body = r
        if status not in (400, 413):
            problem("status %d" % status, req)
        elif method != "HEAD" and not fault_body_ok(body):
            problem("%d body %r" % (status, body[:100]), req)
        big = b"Content-Length: " in req and int(req.split(b"Content-Length: ")[1].split(b"\r")[0]) > 51200
        if big and status != 413:
            problem("a body over 51200 bytes got %d" % status, req)
    if s:
        s.close()

# --- malformed HTTP ---
def raw_cases():
    big = b"a" * 65536
    cases = [
        b"GARBAGE\r\n\r\n", b"\r\n\r\n", b"\x00" * 64, bytes(range(256)), b"GET\r\n\r\n",
        b"GET /\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"GET / HTTP/1.1\r\n\r\n",  # no Host
        b"GET / FTP/1.0\r\n\r\n", b" GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n folded: header\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + big + b"\r\n\r\n",
        b"GET /" + big + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Many: y\r\n" * 4000 + b"\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 18446744073709551617\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 5\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"vcpu_count\"",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\n{\"vcpu_count\": 2}GARBAGE\r\n\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 60000\r\n\r\n" + b" " * 60000,
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n" + b" " * 1000,
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + b"8000\r\n" + b" " * 0x8000 + b"\r\n" + b"8000\r\n" + b" " * 0x8000 + b"\r\n0\r\n\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nContent-Length: 2\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 70000\r\n\r\n",
        b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nExpect: the-unexpected\r\nContent-Length: 2\r\n\r\n{}",
        b"PUT /machine-config HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}" * 50,  # pipelined
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 30 + b"\xff\xff\r\n\r\n",
        b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n", b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /\x7f\x01 HTTP/1.1\r\nHost: x\r\n\r\n", b"G\x00T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Length: 36\r\n\r\n",  # body never sent
        b"PUT /actions HTTP/1.1\r\nHost: x\r\nContent-Le",  # headers cut short
        b"PUT",
    ]
    return cases

def raw(n):
    cases = raw_cases()
    for i in range(n):
        req = cases[i % len(cases)]
        if i >= len(cases) and rng.random() < 0.5:  # and mangled copies
            b = bytearray(req[:4096])
            for _ in range(rng.randint(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
            if rng.random() < 0.3:
                b = b[: rng.randrange(len(b) + 1)]
            req = bytes(b)
        s = connect()
        try:
            s.sendall(req)
        except OSError:
            pass  # refused mid-request: fine
        try:
            s.shutdown(socket.SHUT_WR)  # nothing more is coming
        except OSError:
            pass
        data = b""
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except socket.timeout:
            problem("still open 5 s after the client finished", req)
        except OSError:
            pass  # reset: fine
        s.close()
        # every response on the connection: an HTTP status, never 2xx for garbage
        for line in data.split(b"\r\n"):
            if line.startswith(b"HTTP/1."):
                try:
                    status = int(line.split()[1])
                except (IndexError, ValueError):
                    problem("a bad status line %r" % line, req)
                    continue
                # a GET may well be valid HTTP (libmicrohttpd is lenient) for a known path
                if status < 400 and not req.startswith(b"GET /") and status != 100:
                    problem("status %d" % status, req)
                if status >= 500 and status not in (501, 505):
                    problem("server error %d" % status, req)

def flood(n):
    socks = []
    for i in range(n):
        try:
            s = connect()
        except OSError:
            continue  # over the backlog: refused, fine
        if i % 2:
            try:
                s.sendall(b"PUT /machine-config HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\n{")
            except OSError:
                pass
        socks.append(s)
    time.sleep(0.5)
    for s in socks:
        s.close()

{"wellformed": wellformed, "raw": raw, "flood": flood}[mode](count)
for p in problems:
    print("#   " + p)
sys.exit(1 if problems else 0)
EOF
hostile() { python3 "$tmp/hostile.py" "$sock" "$@"; }

# curl_batch N: N well-formed bad requests in one curl (keep-alive); their status codes.
curl_batch() {
  local i method path body cfg=$tmp/curl.cfg
  local methods=(PUT PATCH PUT DELETE POST GET)
  local paths=(/machine-config /boot-source /drives/rootfs /network-interfaces/eth0 /actions /vm
    /logger /metrics /entropy /mmds /unknown /drives/a.b "/drives/%ff")
  printf '{"vcpu_count": 2, "mem_size_mib": 256, "frobnicate": 1}' >"$tmp/b0"
  printf '{"vcpu_count": "two"}' >"$tmp/b1"
  printf '{"action_type": "InstanceStart"' >"$tmp/b2"
  printf 'not json at all' >"$tmp/b3"
  printf '{"kernel_image_path": "/nonexistent"}' >"$tmp/b4"
  printf '{"state": "Paused"}' >"$tmp/b5"
  printf '{"action_type": "InstanceStart"}' >"$tmp/b6" # no kernel: refused
  head -c 51201 /dev/zero | tr '\0' ' ' >"$tmp/b7"     # one byte too many: 413
  : >"$cfg"
  for i in $(seq "$1"); do
    method=${methods[i % ${#methods[@]}]}
    path=${paths[i % ${#paths[@]}]}
    body=$tmp/b$((i % 8))
    {
      echo "url = \"http://localhost$path\""
      echo "unix-socket = \"$sock\""
      echo "request = \"$method\""
      echo "data-binary = \"@$body\"" # a GET too: GET takes no body
      echo 'output = "/dev/null"'
      echo 'write-out = "%{http_code}\n"'
      echo 'max-time = 5'
      echo 'next'
    } >>"$cfg"
  done
  echo 'url = "http://localhost/"' >>"$cfg"
  echo "unix-socket = \"$sock\"" >>"$cfg"
  echo 'output = "/dev/null"' >>"$cfg"
  curl -s -K "$cfg"
}

# curl_reopen N: N valid PUT /logger, each reopening the log file (alternately two), and N
# PUT /metrics at a path that cannot be opened; their status codes.
curl_reopen() {
  local i cfg=$tmp/reopen.cfg
  : >"$cfg"
  for i in $(seq "$1"); do
    {
      echo 'url = "http://localhost/logger"'
      echo "unix-socket = \"$sock\""
      echo 'request = "PUT"'
      echo "data = \"{\\\"log_path\\\": \\\"$tmp/log$((i % 2))\\\", \\\"level\\\": \\\"Warning\\\"}\""
      echo 'output = "/dev/null"'
      echo 'write-out = "%{http_code}\n"'
      echo 'next'
      echo 'url = "http://localhost/metrics"'
      echo "unix-socket = \"$sock\""
      echo 'request = "PUT"'
      echo "data = \"{\\\"metrics_path\\\": \\\"$tmp/no/such/dir/metrics\\\"}\""
      echo 'output = "/dev/null"'
      echo 'write-out = "%{http_code}\n"'
      echo 'next'
    } >>"$cfg"
  done
  echo 'url = "http://localhost/"' >>"$cfg"
  echo "unix-socket = \"$sock\"" >>"$cfg"
  echo 'output = "/dev/null"' >>"$cfg"
  curl -s -K "$cfg"
}

# --- one VMM under attack ---------------------------------------------------------------------
start_vmm vmm1
if ! wait_serving; then
  fail "duvisor serves $sock (stderr: $(head -c 300 "$tmp/vmm1.err"))"
  exit 1
fi
check "GET / is 200, state Not started" get_root
mode=$(stat -c %a "$sock")
check "the socket is mode 0600 (is $mode)" [ "$mode" = 600 ]

# A first round of everything, so that the allocator and libmicrohttpd have
# grown what they keep; the baseline is taken after it.
hostile wellformed 200 >/dev/null
hostile raw 60 >/dev/null
hostile flood 80 >/dev/null
curl_batch 100 >/dev/null
curl_reopen 2 >/dev/null # the log file open from here on
sleep 0.3
fd0=$(fds "$vmm") rss0=$(rss_kb "$vmm")

start=$SECONDS
codes=$(curl_batch 1500)
n=$(grep -c . <<<"$codes")
others=$(grep -vcE '^(400|413)$' <<<"$codes")
n413=$(grep -c '^413$' <<<"$codes")
[ "$n" -eq 1500 ] && [ "$others" -eq 0 ]
check "curl: $n well-formed bad requests, each 400 or 413 ($others others)" [ $? -eq 0 ]
check "curl: the $n413 bodies of 51201 bytes got 413" [ "$n413" -ge 150 ]
if out=$(HOSTILE_SEED=2 hostile wellformed 1500); then
  pass "1500 bad requests over raw HTTP/1.1: 400 or 413, with a JSON fault_message body"
else
  fail "1500 bad requests over raw HTTP/1.1: 400 or 413, with a JSON fault_message body"
  echo "$out"
fi
if out=$(HOSTILE_SEED=3 hostile raw 600); then
  pass "600 malformed HTTP requests (garbage, 64 KiB headers, lying Content-Length, ...) refused or closed"
else
  fail "600 malformed HTTP requests refused or closed"
  echo "$out"
fi
check "a flood of 200 connections at once (the limit is 64)" hostile flood 200
codes=$(curl_reopen 200)
n204=$(grep -c '^204$' <<<"$codes") n400=$(grep -c '^400$' <<<"$codes")
[ "$n204" -eq 200 ] && [ "$n400" -eq 200 ] && [ "$(grep -c . <<<"$codes")" -eq 400 ]
check "200 PUT /logger reopening its file: 204 ($n204), 200 PUT /metrics nowhere: 400 ($n400)" \
  [ $? -eq 0 ]
echo "# the attack took $((SECONDS - start)) s"

check "the VMM is still alive" kill -0 "$vmm"
check "and still answers GET / with 200, Not started" get_root
# The server closes its ends once it sees the clients gone.
for i in $(seq 50); do
  [ "$(fds "$vmm")" -eq "$fd0" ] && break
  sleep 0.1
done
fd1=$(fds "$vmm") rss1=$(rss_kb "$vmm")
check "file descriptors back to $fd0 (now $fd1)" [ "$fd1" -eq "$fd0" ]
check "RSS grew by at most 4 MiB ($rss0 -> $rss1 KiB)" [ "$((rss1 - rss0))" -le 4096 ]

# --- the socket's life ------------------------------------------------------------------------
first=$vmm
"$duvisor" --api-sock "$sock" --id second </dev/null >"$tmp/second.out" 2>"$tmp/second.err"
status=$?
check "a second duvisor on the live socket exits 2 (status $status: $(head -c 200 "$tmp/second.err"))" \
  [ $status -eq 2 ]
vmm=$first
check "the first one still serves on it" get_root

kill -TERM "$first"
wait_exit vmm1 10
if [ "$status" != 124 ]; then
  check "SIGTERM: the VMM exits 0 (status $status)" [ $status -eq 0 ]
else
  fail "SIGTERM: the VMM exits within 10 s"
fi
check "SIGTERM: the socket is removed" [ ! -e "$sock" ]

start_vmm vmm2
wait_serving
kill9 vmm2
check "kill -9 leaves a stale socket file" [ -S "$sock" ]
start_vmm vmm3
check "a new duvisor replaces the stale socket and serves" wait_serving
check "the replaced socket is mode 0600" [ "$(stat -c %a "$sock")" = 600 ]
check "it answers GET / with 200, Not started" get_root
kill -TERM "$vmm"
wait_exit vmm3 10
check "the replacing VMM exits 0 on SIGTERM (status $status)" [ "$status" = 0 ]

echo "precious" >"$sock"
"$duvisor" --api-sock "$sock" --id hostile </dev/null >"$tmp/file.out" 2>"$tmp/file.err"
status=$?
check "a regular file at the path is refused with exit 2 (status $status: $(head -c 200 "$tmp/file.err"))" \
  [ $status -eq 2 ]
[ -f "$sock" ] && [ "$(cat "$sock")" = precious ]
check "and left as it was" [ $? -eq 0 ]
rm -f "$sock"
mkdir "$sock"
"$duvisor" --api-sock "$sock" --id hostile </dev/null >"$tmp/dir.out" 2>"$tmp/dir.err"
status=$?
[ $status -eq 2 ] && [ -d "$sock" ]
check "a directory at the path is refused with exit 2 (status $status)" [ $? -eq 0 ]
rmdir "$sock"

[ "$failures" -eq 0 ]
