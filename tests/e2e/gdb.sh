#!/usr/bin/env bash
# The GDB stub against the booting 6.1 guest (smp 2, --gdb-wait): a scripted
# gdb-multiarch -batch session breaks at start_kernel (a software breakpoint,
# Z0) and in smp_callin on the second vCPU (a hardware one, Z1), reads
# registers, linux_banner and jiffies through the guest's page tables, writes
# memory, steps, switches threads, hits a watchpoint on jiffies and detaches.
# Then a raw client: Ctrl-C stops a running guest (T02), and hostile input
# (bad checksums, a packet past PacketSize, malformed commands, addresses
# with no RAM, huge lengths, a second client) gets error answers while the
# VM stays up. The guest then boots to its shell and powers off normally.
#
# The kernel keeps no symbols: function addresses come from a first boot's
# /proc/kallsyms (no KASLR on riscv 6.1), linux_banner and jiffies from the
# Image itself (the banner text; INITIAL_JIFFIES in a cache-aligned word),
# which the Image maps at 0xffffffff80000000.
set -u
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib_vm.sh"
tmp=$(mktemp -d)
trap 'vm_cleanup; [ -n "${keep:-}" ] || rm -rf "$tmp"' EXIT
duvisor=${DUVISOR:-$repo_root/build/duvisor}

if ! command -v gdb-multiarch >/dev/null; then
  skip "gdb stub" "gdb-multiarch is not installed"
  exit 0
fi
image=$(guest_image)
initrd=$(guest_initramfs)
guest=(run --kernel "$image" --initrd "$initrd" --memory 256M --append "console=ttyS0 earlycon=sbi")

# --- addresses ----------------------------------------------------------------------------
start sym "${guest[@]}" --smp 1
wait_for sym '^/ # ' 120
type_in sym "grep -E ' (start_kernel|smp_callin)\$' /proc/kallsyms; poweroff -f"
wait_exit sym 60
start_kernel=0x$(tr -d '\r' <"$tmp/sym.out" | awk '$3 == "start_kernel" {print $1}')
smp_callin=0x$(tr -d '\r' <"$tmp/sym.out" | awk '$3 == "smp_callin" {print $1}')
hz=$(sed -n 's/^CONFIG_HZ=//p' "$(dirname "$image")/config")
read -r banner jiffies < <(python3 - "$image" "$hz" <<'EOF'
import struct, sys
data = open(sys.argv[1], 'rb').read()
base = 0xffffffff80000000
banner = data.find(b'Linux version ')
initial = struct.pack('<Q', (-300 * int(sys.argv[2])) & 0xffffffff)
i = data.find(initial)
while i >= 0 and i % 64:
    i = data.find(initial, i + 1)
print(hex(base + banner), hex(base + i) if i >= 0 else 'none')
EOF
)
expect "symbols: start_kernel, smp_callin, linux_banner, jiffies ($start_kernel $smp_callin $banner $jiffies)" \
  [ ${#start_kernel} -eq 18 ] && [ ${#smp_callin} -eq 18 ] && [ "$jiffies" != none ]

# --- a gdb-multiarch session --------------------------------------------------------------
sock=$tmp/gdb.sock
start vm "${guest[@]}" --smp 2 --gdb "unix:$sock" --gdb-wait
expect "--gdb-wait: the stub listens on the socket" wait_sock vm "$sock"
sleep 2
expect "--gdb-wait: the guest printed nothing before gdb came" [ ! -s "$tmp/vm.out" ]
cat >"$tmp/cmds" <<EOF
set pagination off
set confirm off
set architecture riscv:rv64
target remote $sock
echo ==threads0\n
info threads
echo ==entry\n
p/x \$pc
p \$priv
break *$start_kernel
continue
echo ==at-start-kernel\n
p/x \$pc
p/x \$satp
p/x \$sp
info registers a0 sstatus
echo ==banner\n
x/s $banner
set {char}($banner + 1) = 'X'
x/s $banner
set {char}($banner + 1) = 'i'
echo ==jiffies\n
p/x *(unsigned long *)$jiffies
echo ==step\n
stepi
p/x \$pc
delete
hbreak *$smp_callin
continue
echo ==at-smp-callin\n
info threads
p/x \$pc
thread 1
echo ==thread1\n
p/x \$pc
delete
watch *(unsigned long *)$jiffies
continue
echo ==after-watch\n
delete
detach
echo ==detached\n
EOF
timeout 300 gdb-multiarch -nx -batch -x "$tmp/cmds" >"$tmp/gdb.out" 2>&1
gdb_status=$?
section() { sed -n "/^==$1\$/,/^==/p" "$tmp/gdb.out"; }
# in_section NAME PATTERN: PATTERN (grep -E) is in the output after "echo ==NAME".
in_section() { section "$1" | grep -qE -- "$2"; }
expect "gdb: the session ends by itself (status $gdb_status)" [ $gdb_status -eq 0 ]
expect "gdb: two threads, one per vCPU, before the first instruction" \
  in_section threads0 'Thread 2 \(vCPU 1\)'
expect "gdb: vCPU 0 waits at the kernel's entry" in_section entry '= 0x80200000'
expect "gdb: in S-mode (priv 1)" in_section entry '^\$2 = 1'
expect "gdb: the breakpoint at start_kernel hits" grep -q "hit Breakpoint 1, $start_kernel" "$tmp/gdb.out"
expect "gdb: pc reads start_kernel there" in_section at-start-kernel "= $start_kernel"
expect "gdb: satp is on (Sv39/48/57) by start_kernel" in_section at-start-kernel '= 0x[89a][0-9a-f]{15}'
expect "gdb: reads sstatus from the CSR feature" in_section at-start-kernel '^sstatus'
expect "gdb: reads linux_banner through the guest's page tables" \
  in_section banner '"Linux version 6.1'
expect "gdb: writes guest memory (and the write reads back)" in_section banner '"LXnux version'

initial=$(printf '0x%x' $(((-300 * hz) & 0xffffffff)))
expect "gdb: reads jiffies (INITIAL_JIFFIES before the clock ticks: $initial)" \
  in_section jiffies "= $initial"
expect "gdb: stepi moves pc past start_kernel's first instruction" \
  in_section step "= $(printf '0x%x' $((start_kernel + 2)))|= $(printf '0x%x' $((start_kernel + 4)))"
expect "gdb: the hardware breakpoint in smp_callin hits on the second vCPU" \
  grep -qE "Thread 2 hit (Hardware assisted )?[Bb]reakpoint 2, $smp_callin" "$tmp/gdb.out"
expect "gdb: thread 2 is current there" in_section at-smp-callin '^\* 2 +Thread 2 \(vCPU 1\)'
expect "gdb: switching to thread 1 shows vCPU 0's own pc" in_section thread1 '= 0xffffffff'
expect "gdb: ... not the second vCPU's" bash -c "! grep -q '= $smp_callin' <(sed -n '/^==thread1\$/,/^==/p' '$tmp/gdb.out')"
expect "gdb: the watchpoint on jiffies hits with the value going up by one" \
  python3 - "$tmp/gdb.out" <<'EOF'
import re, sys
t = open(sys.argv[1]).read()
m = re.search(r'Hardware watchpoint 3: .*\n\nOld value = (\d+)\nNew value = (\d+)', t)
sys.exit(0 if m and int(m.group(2)) == int(m.group(1)) + 1 else 1)
EOF
expect "gdb: detaches" grep -q '^==detached' "$tmp/gdb.out"
if [ $gdb_status -ne 0 ] || ! grep -q '^==detached' "$tmp/gdb.out"; then
  sed 's/^/#   /' "$tmp/gdb.out" | tail -60
fi

# --- a raw client: Ctrl-C and hostile input ---------------------------------------------------
python3 - "$sock" >"$tmp/raw.out" 2>&1 <<'EOF'
import socket, sys, time

def frame(data):
    return b'$' + data + b'#' + b'%02x' % (sum(data) & 0xff)

s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(30)
buf = b''

def reply():
    """The next packet's data (acknowledging it); skips '+'."""
    global buf
    while True:
        i = buf.find(b'$')
        j = buf.find(b'#', i + 1) if i >= 0 else -1
        if i >= 0 and j >= 0 and len(buf) >= j + 3:
            data, buf = buf[i + 1:j], buf[j + 3:]
            s.sendall(b'+')
            return data
        more = s.recv(65536)
        if not more:
            raise SystemExit('closed')
        buf += more

def ask(data):
    s.sendall(frame(data))
    return reply()

def check(name, ok):
    print(('PASS ' if ok else 'FAIL ') + name)

check('halted on connect: ? answers a stop', ask(b'?').startswith(b'T05'))
s2 = socket.socket(socket.AF_UNIX)
s2.connect(sys.argv[1])
s2.settimeout(10)
check('a second client is closed at once', s2.recv(16) == b'')
s.sendall(b'$g#00')
time.sleep(0.2)
got = s.recv(16)
check('a bad checksum gets -', got.startswith(b'-'))
check('a packet past PacketSize gets an error', ask(b'X' * 20000).startswith(b'E'))
check('m at an address with no RAM: E14', ask(b'm0,4') == b'E14')
check('m of a device (the UART) is not touched: E14', ask(b'm10000000,1') == b'E14')
check('m with a huge length returns what fits', 0 < len(ask(b'mffffffff80000000,ffffffffffffffff')) <= 0x4000)
check('a number past 64 bits: E01', ask(b'm10000000000000000,4') == b'E01')
check('malformed m: E01', ask(b'mzz') == b'E01')
check('M with a short payload: E01', ask(b'Mffffffff80000000,4:00') == b'E01')
check('Z with a zero length: E01', ask(b'Z2,ffffffff80000000,0') == b'E01')
check('Z of an unknown type: E01', ask(b'Z9,0,4') == b'E01')
check('p past the last register: E01', ask(b'p1000') == b'E01')
check('H of a thread that does not exist: E01', ask(b'Hg63') == b'E01')
check('an unknown command gets the empty reply', ask(b'Q\x01garbage') == b'')
check('vCont with a bad action: E01', ask(b'vCont;x') == b'E01')
check('registers still read after all that', len(ask(b'g')) > 66 * 16)
s.sendall(frame(b'c'))
time.sleep(1)
s.sendall(b'\x03')
check('Ctrl-C stops the running guest: T02', reply().startswith(b'T02'))
check('detach', ask(b'D') == b'OK')
EOF
while read -r verdict name; do
  expect "raw client: $name" [ "$verdict" = PASS ]
done < <(grep -E '^(PASS|FAIL) ' "$tmp/raw.out")
expect "raw client: ran to the end" grep -q 'PASS detach' "$tmp/raw.out"
grep -q 'PASS detach' "$tmp/raw.out" || sed 's/^/#   /' "$tmp/raw.out"

# --- the guest boots on --------------------------------------------------------------------
expect "after detaching, the guest boots to its shell with 2 cpus" \
  wait_for vm 'duvisor-guest: ready \(2 cpus' 300
wait_for vm '^/ # ' 60
type_in vm 'echo gdb-answer-$((6*7)); poweroff -f'
wait_exit vm 120
expect "the guest's shell works" shows vm '^gdb-answer-42'
expect "the guest powers off with status 0 (got $status)" [ "$status" -eq 0 ]
[ "$status" -eq 0 ] || tail -20 "$tmp/vm.err" | sed 's/^/#   /'
expect "the stub's socket is gone with the VM" [ ! -e "$sock" ]
