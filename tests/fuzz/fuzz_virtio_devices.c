/*
 * libFuzzer harness for the virtio device models' request parsers
 * (src/devices/virtio_blk.c, virtio_net.c with net_tap.c's frame-socket
 * backend, virtio_console.c, virtio_rng.c, virtio_input.c), driven through
 * the real virtio-mmio transport as a guest driver drives them, built and
 * run by `make fuzz`.
 *
 * The first input byte picks the device: virtio-blk on a memfd image
 * (read-write or read-only, 64 KiB, 4 KiB, 512 bytes or empty), virtio-net
 * on a SOCK_SEQPACKET socketpair (net_tap_adopt_socket: transmitted frames
 * come out of the harness's end, received ones go in there and the backend's
 * reader thread hands them to the device), virtio-console (one port, no
 * multiport: receiveq and transmitq), virtio-rng or virtio-input. The harness
 * negotiates features (INDIRECT_DESC, EVENT_IDX, device bits, sometimes one
 * the device does not offer), sets the queues up in guest RAM (one exact-size
 * heap block, so ASan sees any access outside it) and then plays the input's
 * operations: chains made available (each buffer readable or writable, any
 * length, indirect or not, sometimes with a link to anywhere, an address
 * outside RAM, a nested indirect table), kicks, received frames, console
 * input, key presses, config space and register accesses, resets with a new
 * set-up, an avail index moved past the ring, pauses.
 *
 * After every operation the device is quiescent (virtio-blk's workers are
 * paused between operations and waited for; the network backend's reader is
 * waited for until it delivered the frame) and the harness checks:
 *  - every byte that changed in guest RAM lies in a device-writable buffer of
 *    a chain the device completed in that step (or abandoned at a reset), or
 *    in a used ring; every range the transport reports as written lies in a
 *    writable buffer of a chain that was in flight;
 *  - every used entry names a chain in flight (none completes twice, none the
 *    driver never made available) that the transport's own rules accept
 *    (the harness walks each chain itself: loops, bad links, buffers outside
 *    RAM, readable after writable...), and its length is at most the chain's
 *    writable length;
 *  - what each device answers, from its header's documentation: virtio-blk's
 *    status for every request shape (header size, type, data length, its
 *    direction, sectors past the end, read-only, FLUSH, GET_ID, DISCARD and
 *    WRITE_ZEROES with their limits and flags, unknown types), read data equal
 *    to a model of the disk, the used length being the whole writable length;
 *    the image never changes size, changes only as the model says (read-only:
 *    never); virtio-net: transmitted frames are the chains' bytes after the
 *    12-byte header, in order, received ones arrive behind a zeroed header
 *    with num_buffers 1, in order (some dropped), a receive chain comes back
 *    empty only when it has readable buffers or no room; virtio-console: the
 *    output is the transmit chains' bytes in order, input arrives in order;
 *    virtio-rng: the used length is min(writable, 64 KiB); virtio-input: the
 *    events arrive in order, 8 bytes each, as a model of its pending ring
 *    says, and a send is refused exactly when the ring is full;
 *  - the interrupt line is high exactly when InterruptStatus is not 0.
 * At the end the device is reset and set up again cleanly, and one
 * well-formed request of each kind it serves must get the right answer.
 * Contents a device wrote concurrently (several virtio-blk requests in one
 * step touching the same bytes) are not compared; everything else is.
 *
 * Input: [0] device: b % 6 (blk, blk read-only, net, console, rng, input)
 *        [1] features: bit 0 INDIRECT_DESC, 1 EVENT_IDX, 2-3 disk size
 *            (64 KiB, 512, 0, 4 KiB), 4-6 device feature bits (see
 *            want_features), 7 also one the device does not offer
 *        [2] queue size: queue_size_max >> (b % 4); bit 7 a size no device
 *            takes (3) instead
 *        then operations, each a byte (b % OP_COUNT) and its arguments (see
 *        the op_* functions), until the input ends.
 * DUVISOR_FUZZ_VERBOSE=1 prints every operation and completion.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_tap.h"
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_input.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
/* The register layout the unit tests drive devices with (its accessors are not used here). */
#include "../unit/support/virtio_regs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Guest RAM: per queue a ring area, then indirect tables, then data buffers. */
#define RAM_BASE    0x80000000ull
#define RAM_SIZE    0x10000u
#define QAREA       0x2000u /* desc +0 (4 KiB: 256 entries), avail +0x1000, used +0x1400 */
#define AVAIL_OFF   0x1000u
#define USED_OFF    0x1400u
#define TABLES      0x4000u /* TSLOTS indirect tables of TSLOT bytes */
#define TSLOT       256u
#define TSLOTS      32u
#define DATA        (TABLES + TSLOTS * TSLOT)
#define MAXQ        2u
#define MAXNUM      256u
#define MAX_SEGS    8u
#define DISK_MAX    65536u
#define NET_HDR     12u
#define CONSOLE_MAX 65536u

#define VIRTIO_NET_F_MRG_RXBUF      (1ull << 15)
#define VIRTIO_CONSOLE_F_MULTIPORT  (1ull << 1)
#define VIRTIO_BLK_F_NOT_OFFERED    (1ull << 10) /* CONFIG_WCE */
#define VIRTIO_F_NOT_OFFERED_GLOBAL (1ull << 40)

enum dev { DEV_BLK, DEV_BLK_RO, DEV_NET, DEV_CONSOLE, DEV_RNG, DEV_INPUT, DEV_COUNT };
static const char *const dev_name[DEV_COUNT] = {"blk", "blk-ro", "net", "console", "rng", "input"};

static int verbose = -1;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "fuzz_virtio_devices: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
    abort();
}

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    if (!verbose)
        return;
    va_list ap;
    fprintf(stderr, "fuzz_virtio_devices: ");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n");
}

/* --- the input ----------------------------------------------------------------------- */

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t take8(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

static uint16_t take16(struct input *in)
{
    return (uint16_t)(take8(in) | take8(in) << 8);
}

static uint32_t take32(struct input *in)
{
    return (uint32_t)take16(in) | (uint32_t)take16(in) << 16;
}

/* --- chains as the harness made them ------------------------------------------------- */

struct range {
    uint32_t off, len; /* in guest RAM */
};

/* One chain made available, as the transport's rules see it (walked by the harness
   from the same descriptors, which stay unchanged while it is in flight). */
struct chain {
    bool in_flight;
    bool valid;              /* the transport accepts it */
    uint16_t head;           /* its avail entry */
    uint8_t visited[MAXNUM]; /* main-table descriptors it reads (kept while in flight) */
    uint32_t tables;         /* indirect table slots it reads (a bit each; kept while in flight) */
    struct range r[VIRTQ_MAX_SEGS], w[VIRTQ_MAX_SEGS];
    unsigned nr, nw;
    uint64_t rlen, wlen;
    bool done_now; /* completed in the current step */
    uint32_t used_len;
};

struct queue {
    bool live;          /* enabled (QueueReady 1 accepted) and not turned off since */
    bool driver_broke;  /* the harness moved avail->idx past the ring: no more chains */
    uint16_t num;       /* entries */
    uint32_t base;      /* ring area in RAM */
    uint16_t avail_idx; /* the driver's */
    uint16_t used_seen; /* used entries consumed */
    unsigned in_flight;
    uint8_t pins[MAXNUM];        /* chains reading each descriptor */
    unsigned next_slot;          /* where the next allocation starts looking */
    struct chain chains[MAXNUM]; /* by head descriptor */
};

/* --- the device-specific models ------------------------------------------------------- */

struct net_frame {
    uint32_t len;
    uint8_t *data;
};

struct input_event {
    uint16_t type, code;
    uint32_t value;
};

struct h {
    enum dev dev;
    uint8_t *ram, *shadow; /* RAM, and what it held after the last step */
    struct virtio_memory mem;
    struct virtio_device *vdev;
    unsigned nq;
    uint16_t qmax;
    uint64_t offered, features; /* features negotiated (FEATURES_OK accepted) */
    bool features_ok, driver_ok;
    struct queue q[MAXQ];
    uint32_t data_next;          /* bump allocator in the data area */
    uint16_t tslot_refs[TSLOTS]; /* chains reading each table, and tables being written */
    bool user_paused;
    bool kicked;              /* the step notified a queue or activated the device */
    bool live_at_begin[MAXQ]; /* queues set up when the step began */

    /* interrupts */
    pthread_mutex_t irq_lock;
    bool line;

    /* what the transport reported as written, during a step */
    pthread_mutex_t wr_lock;
    struct range reported[1024];
    unsigned nreported;
    bool reported_outside; /* a report outside RAM */

    /* blk */
    struct virtio_blk *blk;
    bool readonly;
    uint32_t disk_size;
    uint8_t disk_model[DISK_MAX];

    /* net */
    struct virtio_net *net;
    struct net_tap *tap;
    int sock;                        /* the harness's end */
    uint64_t tx_received;            /* frames out of the socket */
    struct net_frame rx_frames[512]; /* handed to the backend since the last reset */
    unsigned rx_nframes, rx_cursor;

    /* console */
    struct virtio_console *console;
    uint8_t con_in[CONSOLE_MAX];
    uint32_t con_in_len, con_in_read, con_in_checked;
    uint8_t con_out[CONSOLE_MAX];
    uint32_t con_out_len, con_out_checked;
    bool con_out_overflow;

    /* rng */
    struct virtio_rng *rng;

    /* input */
    struct virtio_input *input;
    struct input_event pending[VIRTIO_INPUT_PENDING_MAX];
    unsigned pend_head, pend_count;
};

static struct h H;
static int disk_fd = -1;
static char disk_path[64];

static uint8_t *ram_at(uint32_t off)
{
    return H.ram + off;
}

static void put16(uint32_t off, uint16_t v)
{
    memcpy(ram_at(off), &v, 2); /* the host is little endian, as the transport assumes */
}

static void put32(uint32_t off, uint32_t v)
{
    memcpy(ram_at(off), &v, 4);
}

static void put64(uint32_t off, uint64_t v)
{
    memcpy(ram_at(off), &v, 8);
}

static uint16_t get16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}

static uint32_t get32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

static uint64_t get64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* --- transport callbacks --------------------------------------------------------------- */

static void on_irq(void *opaque, bool level)
{
    (void)opaque;
    pthread_mutex_lock(&H.irq_lock);
    H.line = level;
    pthread_mutex_unlock(&H.irq_lock);
}

static void on_written(void *opaque, const void *host, size_t len)
{
    (void)opaque;
    const uint8_t *p = host;
    pthread_mutex_lock(&H.wr_lock);
    if (p < H.ram || p > H.ram + RAM_SIZE || len > (size_t)(H.ram + RAM_SIZE - p))
        H.reported_outside = true;
    else if (H.nreported < COUNT(H.reported))
        H.reported[H.nreported++] = (struct range){(uint32_t)(p - H.ram), (uint32_t)len};
    pthread_mutex_unlock(&H.wr_lock);
}

static uint32_t rd(uint64_t off)
{
    uint64_t v = 0;
    if (!virtio_mmio_read(H.vdev, off, 4, &v))
        fail("register %#" PRIx64 " read refused", off);
    return (uint32_t)v;
}

static void wr(uint64_t off, uint32_t v)
{
    if (!virtio_mmio_write(H.vdev, off, 4, v))
        fail("register %#" PRIx64 " write refused", off);
}

/* --- the harness's own walk of a chain (virtqueue.c's rules, from virtio.h) -------------- */

static bool in_ram(uint64_t gpa, uint64_t len)
{
    return gpa >= RAM_BASE && gpa - RAM_BASE <= RAM_SIZE && len <= RAM_SIZE - (gpa - RAM_BASE);
}

static bool add_buffer(struct chain *c, uint64_t addr, uint32_t len, uint16_t flags)
{
    if (len == 0)
        return true;
    if (!in_ram(addr, len) || c->nr + c->nw >= VIRTQ_MAX_SEGS)
        return false;
    struct range r = {(uint32_t)(addr - RAM_BASE), len};
    if (flags & 2) { /* WRITE */
        if (c->wlen + len > UINT32_MAX)
            return false;
        c->w[c->nw++] = r;
        c->wlen += len;
        return true;
    }
    if (c->nw || c->rlen + len > UINT32_MAX)
        return false;
    c->r[c->nr++] = r;
    c->rlen += len;
    return true;
}

static bool walk_table(struct chain *c, struct queue *q, const uint8_t *table, uint32_t n,
                       uint32_t i, bool indirect)
{
    for (uint32_t steps = 0; steps < n; steps++) {
        if (i >= n)
            return false;
        const uint8_t *d = table + 16u * i;
        uint64_t addr = get64(d);
        uint32_t len = get32(d + 8);
        uint16_t flags = get16(d + 12), next = get16(d + 14);
        if (!indirect)
            c->visited[i] = 1;
        if (flags & 4) { /* INDIRECT */
            if (indirect || (flags & 1) || len == 0 || len % 16 || len / 16 > q->num)
                return false;
            if (!in_ram(addr, len))
                return false;
            uint32_t off = (uint32_t)(addr - RAM_BASE);
            if (off < TABLES || off + len > DATA)
                fail("harness: an indirect table at %#x, outside the table slots", off);
            for (uint32_t t = (off - TABLES) / TSLOT; t <= (off + len - 1 - TABLES) / TSLOT; t++)
                c->tables |= 1u << t;
            return walk_table(c, q, ram_at(off), len / 16, 0, true);
        }
        if (!add_buffer(c, addr, len, flags))
            return false;
        if (!(flags & 1))
            return true;
        i = next;
    }
    return false;
}

static void walk_chain(struct chain *c, struct queue *q)
{
    memset(c->visited, 0, sizeof(c->visited));
    c->tables = 0;
    c->nr = c->nw = 0;
    c->rlen = c->wlen = 0;
    c->valid = walk_table(c, q, ram_at(q->base), q->num, c->head, false);
}

static bool overlap(struct range a, struct range b)
{
    return a.off < b.off + b.len && b.off < a.off + a.len;
}

/* Writable bytes [off, off + len) of c, gathered; how many. */
static size_t chain_read_w(const struct chain *c, const uint8_t *mem, size_t off, uint8_t *buf,
                           size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < c->nw && done < len; i++) {
        size_t l = c->w[i].len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = l - off < len - done ? l - off : len - done;
        memcpy(buf + done, mem + c->w[i].off + off, n);
        done += n;
        off = 0;
    }
    return done;
}

static size_t chain_read_r(const struct chain *c, const uint8_t *mem, size_t off, uint8_t *buf,
                           size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < c->nr && done < len; i++) {
        size_t l = c->r[i].len;
        if (off >= l) {
            off -= l;
            continue;
        }
        size_t n = l - off < len - done ? l - off : len - done;
        memcpy(buf + done, mem + c->r[i].off + off, n);
        done += n;
        off = 0;
    }
    return done;
}

static bool self_overlap(const struct chain *c)
{
    for (unsigned i = 0; i < c->nw; i++)
        for (unsigned j = i + 1; j < c->nw; j++)
            if (overlap(c->w[i], c->w[j]))
                return true;
    return false;
}

/* --- queue bookkeeping --------------------------------------------------------------------- */

static void pin(struct queue *q, struct chain *c, int delta)
{
    for (unsigned i = 0; i < q->num; i++)
        if (c->visited[i])
            q->pins[i] = (uint8_t)(q->pins[i] + delta);
    for (unsigned t = 0; t < TSLOTS; t++)
        if (c->tables & (1u << t))
            H.tslot_refs[t] = (uint16_t)(H.tslot_refs[t] + delta);
}

static void retire(struct queue *q, struct chain *c)
{
    pin(q, c, -1);
    c->in_flight = false;
    q->in_flight--;
}

/* The driver forgets every chain of q (a reset, QueueReady 0). */
static void abandon_all(struct queue *q)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (q->chains[i].in_flight)
            retire(q, &q->chains[i]);
    q->live = false;
}

static bool ring_area(uint32_t off, uint32_t len)
{
    return off < DATA && len > 0; /* rings and tables: the device never writes there */
}

static bool forbidden_write(uint64_t addr, uint32_t len)
{
    /* writable buffers stay out of the rings and tables, or the harness's model of
       them would change under it; anything outside RAM is the transport's to refuse */
    if (!in_ram(addr, len)) {
        uint64_t end = addr + len;
        return addr < RAM_BASE + DATA && end > RAM_BASE;
    }
    return ring_area((uint32_t)(addr - RAM_BASE), len);
}

static uint32_t data_alloc(uint32_t len)
{
    if (H.data_next + len > RAM_SIZE || H.data_next < DATA)
        H.data_next = DATA;
    uint32_t off = H.data_next;
    H.data_next = (uint32_t)((off + len + 7) & ~7u);
    return off;
}

static int tslot_alloc(void)
{
    for (unsigned i = 0; i < TSLOTS; i++)
        if (!H.tslot_refs[i]) {
            H.tslot_refs[i]++; /* held while the harness writes it; post() pins it */
            return (int)i;
        }
    return -1;
}

/* Free descriptors for n entries, in q->slots order: false if too few. */
static bool desc_alloc(struct queue *q, unsigned n, uint16_t *out)
{
    unsigned got = 0;
    for (unsigned k = 0; k < q->num && got < n; k++) {
        unsigned i = (q->next_slot + k) % q->num;
        if (q->pins[i] == 0 && !q->chains[i].in_flight)
            out[got++] = (uint16_t)i;
    }
    if (got < n)
        return false;
    q->next_slot = (out[n - 1] + 1u) % q->num;
    return true;
}

/* Fill a readable buffer: the input's bytes first (up to 32), then a pattern. */
static void fill_readable(uint32_t off, uint32_t len, struct input *in)
{
    uint32_t n = len < 32 ? len : 32;
    for (uint32_t i = 0; i < len && off + i < RAM_SIZE; i++)
        H.ram[off + i] = i < n ? take8(in) : (uint8_t)(i * 13 + (i >> 8) + 1);
}

/* An indirect table the input made up: descriptors writable into rings are made readable. */
static void sanitize_table(uint32_t off, uint32_t len)
{
    for (uint32_t i = 0; i + 16 <= len; i += 16) {
        uint8_t *d = ram_at(off + i);
        uint16_t flags = get16(d + 12);
        if ((flags & 2) && forbidden_write(get64(d), get32(d + 8))) {
            flags &= (uint16_t)~2u;
            memcpy(d + 12, &flags, 2);
        }
    }
}

static struct chain *chain_of(struct queue *q, uint16_t head)
{
    return head < MAXNUM ? &q->chains[head] : NULL;
}

/* --- device state checks ----------------------------------------------------------------- */

static uint32_t status_reg(void)
{
    return rd(MMIO_STATUS);
}

static bool device_can_pop(void)
{
    uint32_t s = status_reg();
    return (s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_NEEDS_RESET);
}

/* QueueNotify: the device may now pop what the driver made available. */
static void kick(unsigned qi)
{
    wr(MMIO_QUEUE_NOTIFY, qi);
    if (qi < H.nq)
        H.kicked = true;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void pause_ns(long ns)
{
    struct timespec ts = {0, ns};
    nanosleep(&ts, NULL);
}

static uint16_t used_idx(const struct queue *q)
{
    return __atomic_load_n((uint16_t *)ram_at(q->base + USED_OFF + 2), __ATOMIC_ACQUIRE);
}

/* virtio-blk: let the workers run (unless paused by the input) until every chain of
   the queue made available is completed or the device cannot pop any more, then
   pause them again, which waits for the request in service. */
static void blk_window_close(void)
{
    struct queue *q = &H.q[0];
    if (H.kicked && !H.user_paused && q->live) {
        uint64_t t0 = now_ns();
        for (;;) {
            if (!device_can_pop() || (uint16_t)(used_idx(q) - q->used_seen) >= q->in_flight ||
                q->driver_broke)
                break;
            if (now_ns() - t0 > 10000000000ull)
                fail("virtio-blk: %u requests made available are not completed after 10 s",
                     q->in_flight - (uint16_t)(used_idx(q) - q->used_seen));
            pause_ns(20000);
        }
    }
    virtio_blk_pause(H.blk, true);
}

static void blk_window_open(void)
{
    if (!H.user_paused)
        virtio_blk_pause(H.blk, false);
}

/* --- per-step checks ------------------------------------------------------------------------ */

static bool in_ranges(uint32_t off, const struct range *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (off >= r[i].off && off - r[i].off < r[i].len)
            return true;
    return false;
}

/* Ranges a step may write: used rings, and buffers of chains done (or dropped) in it. */
#define MAX_ALLOWED 4096
static struct range allowed[MAX_ALLOWED];
static unsigned nallowed;

static void allow(struct range r)
{
    if (nallowed < MAX_ALLOWED)
        allowed[nallowed++] = r;
    else
        fail("harness: too many allowed ranges");
}

static void allow_chain(const struct chain *c)
{
    for (unsigned i = 0; i < c->nw; i++)
        allow(c->w[i]);
}

/* Everything writable of chains in flight now: what a report of "written" may name. */
static struct range inflight_w[MAXQ * MAXNUM * VIRTQ_MAX_SEGS / 8];
static unsigned ninflight_w;
static bool inflight_w_overflow;

static void note_inflight(void)
{
    ninflight_w = 0;
    inflight_w_overflow = false;
    for (unsigned qi = 0; qi < H.nq; qi++)
        for (unsigned i = 0; i < MAXNUM; i++) {
            const struct chain *c = &H.q[qi].chains[i];
            if (!c->in_flight)
                continue;
            for (unsigned k = 0; k < c->nw; k++) {
                if (ninflight_w < COUNT(inflight_w))
                    inflight_w[ninflight_w++] = c->w[k];
                else
                    inflight_w_overflow = true;
            }
        }
}

/* The bytes each completed chain of this step may be compared by: not touched by
   any other chain's writes in the step, nor by its own twice. */
static struct chain *done[MAXQ * MAXNUM];
static unsigned ndone;

/* Writable buffers of chains the driver dropped with QueueReady 0 but no reset:
   a device may still hold one it popped (a receive buffer waiting for input)
   and fill it, its completion going nowhere. Allowed until the next reset. */
static struct range orphans[1024];
static unsigned norphans;
static bool orphans_overflow, orphans_drop;

static void orphan_all(const struct queue *q)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        for (unsigned k = 0; q->chains[i].in_flight && k < q->chains[i].nw; k++) {
            if (norphans < COUNT(orphans))
                orphans[norphans++] = q->chains[i].w[k];
            else
                orphans_overflow = true;
        }
}

static bool undisturbed(const struct chain *c)
{
    if (self_overlap(c) || norphans || orphans_overflow)
        return false;
    for (unsigned k = 0; k < ndone; k++) {
        const struct chain *o = done[k];
        if (o == c)
            continue;
        for (unsigned i = 0; i < o->nw; i++) {
            for (unsigned j = 0; j < c->nw; j++)
                if (overlap(o->w[i], c->w[j]))
                    return false;
            for (unsigned j = 0; j < c->nr; j++)
                if (overlap(o->w[i], c->r[j]))
                    return false;
        }
    }
    return true;
}

/* --- virtio-blk expectations ------------------------------------------------------------------ */

static uint64_t capacity(void)
{
    return H.disk_size / 512u;
}

static bool blk_range_ok(uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes / 512u;
    return sector <= capacity() && n <= capacity() - sector;
}

/* The status virtio_blk.h promises for c (from the bytes before the step). */
static int blk_expect(const struct chain *c, const uint8_t *mem, uint32_t *type_out)
{
    uint8_t hdr[16];
    *type_out = UINT32_MAX;
    if (c->rlen < 16)
        return VIRTIO_BLK_S_IOERR;
    chain_read_r(c, mem, 0, hdr, 16);
    uint32_t type = get32(hdr);
    uint64_t sector = get64(hdr + 8);
    *type_out = type;
    uint64_t in_data = c->wlen - 1, out_data = c->rlen - 16;
    switch (type) {
    case VIRTIO_BLK_T_IN:
        if (c->rlen != 16 || in_data % 512 || !blk_range_ok(sector, in_data))
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_OUT:
        if (H.readonly || c->wlen != 1 || out_data % 512 || !blk_range_ok(sector, out_data))
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_FLUSH:
        return c->rlen != 16 || c->wlen != 1 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID: return c->rlen != 16 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES: {
        bool discard = type == VIRTIO_BLK_T_DISCARD;
        uint64_t nseg = out_data / 16;
        if (!(H.features & (discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)))
            return VIRTIO_BLK_S_UNSUPP;
        if (H.readonly || c->wlen != 1 || out_data % 16 || nseg == 0 ||
            nseg > VIRTIO_BLK_MAX_DWZ_SEG)
            return VIRTIO_BLK_S_IOERR;
        uint8_t seg[16];
        for (uint64_t i = 0; i < nseg; i++) {
            chain_read_r(c, mem, 16 + 16 * i, seg, 16);
            uint32_t flags = get32(seg + 12);
            if ((flags & ~VIRTIO_BLK_WZ_F_UNMAP) || (discard && flags))
                return VIRTIO_BLK_S_UNSUPP;
        }
        for (uint64_t i = 0; i < nseg; i++) {
            chain_read_r(c, mem, 16 + 16 * i, seg, 16);
            uint32_t n = get32(seg + 8);
            if (n > VIRTIO_BLK_MAX_DWZ_SECTORS || !blk_range_ok(get64(seg), (uint64_t)n * 512))
                return VIRTIO_BLK_S_IOERR;
        }
        return VIRTIO_BLK_S_OK;
    }
    default: return VIRTIO_BLK_S_UNSUPP;
    }
}

static bool blk_writes_disk(uint32_t type)
{
    return type == VIRTIO_BLK_T_OUT || type == VIRTIO_BLK_T_DISCARD ||
           type == VIRTIO_BLK_T_WRITE_ZEROES;
}

static void read_disk(uint8_t *buf)
{
    if (H.disk_size && pread(disk_fd, buf, H.disk_size, 0) != (ssize_t)H.disk_size)
        fail("cannot read the image back: %s", strerror(errno));
}

static uint8_t disk_now[DISK_MAX];

/* Disk bytes a request abandoned in this step (a reset, QueueReady 0) may have
   written: the device may have served it before, or its completion went nowhere. */
struct disk_range {
    uint64_t off, len;
};
static struct disk_range maybe[1024];
static unsigned nmaybe;
static bool maybe_overflow;

static void maybe_add(uint64_t off, uint64_t len)
{
    if (nmaybe < COUNT(maybe))
        maybe[nmaybe++] = (struct disk_range){off, len};
    else
        maybe_overflow = true;
}

static void blk_maybe(const struct chain *c)
{
    uint32_t type;
    if (!c->valid || c->wlen == 0 || blk_expect(c, H.shadow, &type) != VIRTIO_BLK_S_OK ||
        !blk_writes_disk(type))
        return;
    uint8_t hdr[16];
    chain_read_r(c, H.shadow, 0, hdr, 16);
    if (type == VIRTIO_BLK_T_OUT) {
        maybe_add(get64(hdr + 8) * 512, c->rlen - 16);
        return;
    }
    for (uint64_t i = 0; i < (c->rlen - 16) / 16; i++) {
        uint8_t seg[16];
        chain_read_r(c, H.shadow, 16 + 16 * i, seg, 16);
        maybe_add(get64(seg) * 512, (uint64_t)get32(seg + 8) * 512);
    }
}

static void blk_check_step(const uint8_t *before)
{
    bool concurrent_writes = false, resync = false;
    if (ndone > 1)
        for (unsigned k = 0; k < ndone; k++) {
            uint32_t type;
            blk_expect(done[k], before, &type);
            if (blk_writes_disk(type))
                concurrent_writes = true;
        }
    for (unsigned k = 0; k < ndone; k++) {
        struct chain *c = done[k];
        if (c->wlen == 0) {
            if (c->used_len != 0)
                fail("virtio-blk: used length %u for a chain with nowhere for a status",
                     c->used_len);
            continue;
        }
        if (c->used_len != c->wlen)
            fail("virtio-blk: used length %u, the chain's writable length is %" PRIu64, c->used_len,
                 c->wlen);
        uint32_t type;
        int want = blk_expect(c, before, &type);
        if (!undisturbed(c)) {
            /* another request in the step wrote its bytes, or it wrote them twice: nothing
               to compare, and what it did to the disk is read back */
            resync |= blk_writes_disk(type);
            continue;
        }
        uint8_t status;
        chain_read_w(c, H.ram, c->wlen - 1, &status, 1);
        say("  blk: type %" PRIu32 ", %" PRIu64 " readable, %" PRIu64 " writable: status %u "
            "(want %d)",
            type, c->rlen, c->wlen, status, want);
        if (status != want)
            fail("virtio-blk: request type %" PRIu32 " (%" PRIu64 " bytes readable, %" PRIu64
                 " writable, %s): status %u, virtio_blk.h says %d",
                 type, c->rlen, c->wlen, H.readonly ? "read-only" : "read-write", status, want);
        if (want != VIRTIO_BLK_S_OK)
            continue;
        uint8_t hdr[16];
        chain_read_r(c, before, 0, hdr, 16);
        uint64_t sector = get64(hdr + 8);
        if (type == VIRTIO_BLK_T_IN && !concurrent_writes) {
            static uint8_t got[DISK_MAX];
            size_t n = (size_t)c->wlen - 1;
            chain_read_w(c, H.ram, 0, got, n);
            if (memcmp(got, H.disk_model + sector * 512, n) != 0)
                fail("virtio-blk: a read of %zu bytes at sector %" PRIu64 " differs from the disk",
                     n, sector);
        } else if (type == VIRTIO_BLK_T_GET_ID) {
            uint8_t id[512];
            size_t n = (size_t)c->wlen - 1;
            size_t k2 = n < VIRTIO_BLK_ID_BYTES ? n : VIRTIO_BLK_ID_BYTES;
            for (size_t off = 0; off < n; off += sizeof id) {
                size_t m = n - off < sizeof id ? n - off : sizeof id;
                chain_read_w(c, H.ram, off, id, m);
                for (size_t i = 0; i < m; i++) {
                    size_t at = off + i;
                    uint8_t ch = id[i];
                    bool ok = at >= k2 ? ch == 0
                              : at < 8 ? ch == (uint8_t) "duvisor-"[at]
                                       : (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
                    if (!ok)
                        fail("virtio-blk: GET_ID byte %zu is %#x", at, ch);
                }
            }
        } else if (type == VIRTIO_BLK_T_OUT && !concurrent_writes) {
            chain_read_r(c, before, 16, H.disk_model + sector * 512, (size_t)c->rlen - 16);
        } else if ((type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) &&
                   !concurrent_writes) {
            for (uint64_t i = 0; i < (c->rlen - 16) / 16; i++) {
                uint8_t seg[16];
                chain_read_r(c, before, 16 + 16 * i, seg, 16);
                memset(H.disk_model + get64(seg) * 512, 0, (size_t)get32(seg + 8) * 512);
            }
        }
    }
    struct stat st;
    if (fstat(disk_fd, &st) != 0 || (uint64_t)st.st_size != H.disk_size)
        fail("virtio-blk: the image is %lld bytes, it was %" PRIu32, (long long)st.st_size,
             H.disk_size);
    read_disk(disk_now);
    if (nmaybe || maybe_overflow) {
        /* what abandoned requests did: within their ranges, then the model follows */
        for (uint32_t i = 0; i < H.disk_size && !maybe_overflow; i++) {
            if (disk_now[i] == H.disk_model[i])
                continue;
            bool ok = false;
            for (unsigned k = 0; k < nmaybe && !ok; k++)
                ok = i >= maybe[k].off && i - maybe[k].off < maybe[k].len;
            if (!ok)
                fail("virtio-blk: byte %" PRIu32 " of the image changed, and no request "
                     "abandoned in the step writes it",
                     i);
        }
        resync = true;
    }
    if ((concurrent_writes || resync) && !H.readonly) {
        memcpy(H.disk_model, disk_now, H.disk_size); /* the order they ran in is the device's */
        return;
    }
    if (memcmp(disk_now, H.disk_model, H.disk_size) != 0) {
        uint32_t i = 0;
        while (disk_now[i] == H.disk_model[i])
            i++;
        fail("virtio-blk: the %s image differs from what the completed requests wrote, "
             "first at byte %" PRIu32,
             H.readonly ? "read-only" : "read-write", i);
    }
}

/* --- virtio-net expectations -------------------------------------------------------------------
 */

static uint8_t frame_buf[VIRTIO_NET_MAX_FRAME + 64];

static void net_check_step(const uint8_t *before)
{
    /* transmitted frames: what comes out of the socket is the completed chains'
       frames, in order; a full socket may have dropped some */
    static uint8_t want[VIRTIO_NET_MAX_FRAME];
    unsigned k = 0;
    for (;;) {
        ssize_t n = recv(H.sock, frame_buf, sizeof frame_buf, MSG_DONTWAIT);
        if (n < 0)
            break;
        H.tx_received++;
        bool matched = false;
        for (; k < ndone && !matched; k++) {
            struct chain *c = done[k];
            bool tx = c >= H.q[VIRTIO_NET_TXQ].chains && c < H.q[VIRTIO_NET_TXQ].chains + MAXNUM;
            if (!tx || c->nw || c->rlen < NET_HDR + VIRTIO_NET_MIN_FRAME ||
                c->rlen - NET_HDR > VIRTIO_NET_MAX_FRAME || c->rlen - NET_HDR != (uint64_t)n)
                continue;
            if (undisturbed(c)) {
                chain_read_r(c, before, NET_HDR, want, (size_t)n);
                if (memcmp(want, frame_buf, (size_t)n) != 0)
                    continue;
            }
            matched = true;
        }
        if (!matched)
            fail("virtio-net: a %zd-byte frame came out that no completed chain carried (in "
                 "that order)",
                 n);
    }
    for (k = 0; k < ndone; k++) {
        struct chain *c = done[k];
        bool tx = c >= H.q[VIRTIO_NET_TXQ].chains && c < H.q[VIRTIO_NET_TXQ].chains + MAXNUM;
        if (tx) {
            if (c->used_len != 0)
                fail("virtio-net: transmit chain returned with %u bytes written", c->used_len);
            continue;
        }
        if (c->used_len == 0) {
            if (c->nr == 0 && c->wlen >= NET_HDR + VIRTIO_NET_MIN_FRAME)
                fail("virtio-net: a good receive chain (%" PRIu64 " writable) came back empty",
                     c->wlen);
            continue;
        }
        if (c->nr)
            fail("virtio-net: a frame went into a receive chain with readable buffers");
        if (c->used_len < NET_HDR + VIRTIO_NET_MIN_FRAME)
            fail("virtio-net: received frame of used length %u", c->used_len);
        uint32_t flen = c->used_len - NET_HDR;
        /* the oldest frame handed over since, of that length, that it could be */
        unsigned f = H.rx_cursor;
        while (f < H.rx_nframes && H.rx_frames[f].len != flen)
            f++;
        if (f == H.rx_nframes)
            fail("virtio-net: received a %u-byte frame nobody sent (or out of order)", flen);
        H.rx_cursor = f + 1;
        if (!undisturbed(c))
            continue;
        uint8_t hdr[NET_HDR];
        chain_read_w(c, H.ram, 0, hdr, NET_HDR);
        static const uint8_t want_hdr[NET_HDR] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0};
        if (memcmp(hdr, want_hdr, NET_HDR) != 0)
            fail("virtio-net: the receive header is not zero with num_buffers 1");
        chain_read_w(c, H.ram, NET_HDR, frame_buf, flen);
        if (memcmp(frame_buf, H.rx_frames[f].data, flen) != 0)
            fail("virtio-net: a received frame's bytes differ from the one sent");
    }
}

/* --- virtio-console -----------------------------------------------------------------------------
 */

static void con_write(void *opaque, const uint8_t *buf, size_t len)
{
    (void)opaque;
    if (len > CONSOLE_MAX - H.con_out_len) {
        H.con_out_overflow = true;
        return;
    }
    memcpy(H.con_out + H.con_out_len, buf, len);
    H.con_out_len += (uint32_t)len;
}

static size_t con_read(void *opaque, uint8_t *buf, size_t len)
{
    (void)opaque;
    size_t n = H.con_in_len - H.con_in_read;
    if (n > len)
        n = len;
    memcpy(buf, H.con_in + H.con_in_read, n);
    H.con_in_read += (uint32_t)n;
    return n;
}

static void console_check_step(const uint8_t *before)
{
    for (unsigned k = 0; k < ndone; k++) {
        struct chain *c = done[k];
        bool tx =
            c >= H.q[VIRTIO_CONSOLE_TXQ].chains && c < H.q[VIRTIO_CONSOLE_TXQ].chains + MAXNUM;
        if (tx) {
            if (c->used_len != 0)
                fail("virtio-console: transmit chain returned with %u bytes written", c->used_len);
            if (H.con_out_overflow)
                continue;
            if (c->rlen > H.con_out_len - H.con_out_checked)
                fail("virtio-console: %" PRIu64 " bytes to transmit, %u came out", c->rlen,
                     H.con_out_len - H.con_out_checked);
            if (undisturbed(c)) {
                static uint8_t want[CONSOLE_MAX];
                chain_read_r(c, before, 0, want, (size_t)c->rlen);
                if (memcmp(want, H.con_out + H.con_out_checked, (size_t)c->rlen) != 0)
                    fail("virtio-console: the output is not the chain's bytes");
            }
            H.con_out_checked += (uint32_t)c->rlen;
            continue;
        }
        if (c->used_len == 0) {
            if (c->wlen)
                fail("virtio-console: a receive chain of %" PRIu64 " writable bytes came back "
                     "empty",
                     c->wlen);
            continue;
        }
        if (c->used_len > H.con_in_read - H.con_in_checked)
            fail("virtio-console: %u bytes received, only %u were read from the backend",
                 c->used_len, H.con_in_read - H.con_in_checked);
        if (undisturbed(c)) {
            static uint8_t got[CONSOLE_MAX];
            chain_read_w(c, H.ram, 0, got, c->used_len);
            if (memcmp(got, H.con_in + H.con_in_checked, c->used_len) != 0)
                fail("virtio-console: received bytes differ from the input");
        }
        H.con_in_checked += c->used_len;
    }
    if (norphans || orphans_overflow)
        H.con_in_checked = H.con_in_read; /* input may have gone into a dropped buffer */
    if (H.con_in_checked != H.con_in_read)
        fail("virtio-console: %u bytes were read from the backend, %u reached the guest",
             H.con_in_read, H.con_in_checked);
    if (!H.con_out_overflow && H.con_out_checked != H.con_out_len)
        fail("virtio-console: %u bytes came out, the chains held %u", H.con_out_len,
             H.con_out_checked);
}

/* --- virtio-rng, virtio-input ----------------------------------------------------------------- */

static void rng_check_step(void)
{
    for (unsigned k = 0; k < ndone; k++) {
        const struct chain *c = done[k];
        uint64_t want = c->wlen < VIRTIO_RNG_MAX_REQUEST ? c->wlen : VIRTIO_RNG_MAX_REQUEST;
        if (c->used_len != want)
            fail("virtio-rng: used length %u for %" PRIu64 " writable bytes", c->used_len, c->wlen);
    }
}

static void input_check_step(void)
{
    for (unsigned k = 0; k < ndone; k++) {
        struct chain *c = done[k];
        bool status_q =
            c >= H.q[VIRTIO_INPUT_STATUSQ].chains && c < H.q[VIRTIO_INPUT_STATUSQ].chains + MAXNUM;
        if (status_q) {
            if (c->used_len != 0)
                fail("virtio-input: a status chain returned with %u bytes", c->used_len);
            continue;
        }
        if (c->wlen < VIRTIO_INPUT_EVENT_SIZE) {
            if (c->used_len != 0)
                fail("virtio-input: %u bytes into a chain of %" PRIu64, c->used_len, c->wlen);
            continue;
        }
        if (c->used_len != VIRTIO_INPUT_EVENT_SIZE)
            fail("virtio-input: event of %u bytes", c->used_len);
        if (H.pend_count == 0)
            fail("virtio-input: an event delivered that was never sent");
        struct input_event e = H.pending[H.pend_head];
        H.pend_head = (H.pend_head + 1) % VIRTIO_INPUT_PENDING_MAX;
        H.pend_count--;
        if (!undisturbed(c))
            continue;
        uint8_t ev[8];
        chain_read_w(c, H.ram, 0, ev, 8);
        if (get16(ev) != e.type || get16(ev + 2) != e.code || get32(ev + 4) != e.value)
            fail("virtio-input: event %u %u %u delivered, %u %u %u was next", get16(ev),
                 get16(ev + 2), get32(ev + 4), e.type, e.code, e.value);
    }
}

/* --- one step: what changed since the last one, checked -----------------------------------------
 */

static void step_begin(void)
{
    H.kicked = false;
    nmaybe = 0;
    maybe_overflow = false;
    for (unsigned qi = 0; qi < H.nq; qi++)
        H.live_at_begin[qi] = H.q[qi].live;
    if (H.dev == DEV_BLK || H.dev == DEV_BLK_RO)
        blk_window_open();
    note_inflight();
    pthread_mutex_lock(&H.wr_lock);
    H.nreported = 0;
    H.reported_outside = false;
    pthread_mutex_unlock(&H.wr_lock);
    nallowed = 0;
}

/* Chains abandoned in the step (reset, QueueReady 0) may have been written. */
static void allow_abandoned(struct queue *q)
{
    for (unsigned i = 0; i < MAXNUM; i++)
        if (q->chains[i].in_flight) {
            allow_chain(&q->chains[i]);
            if (H.dev == DEV_BLK || H.dev == DEV_BLK_RO)
                blk_maybe(&q->chains[i]);
        }
}

static void step_end(const char *what)
{
    if (H.dev == DEV_BLK || H.dev == DEV_BLK_RO)
        blk_window_close();
    /* every used entry since the last step */
    ndone = 0;
    for (unsigned qi = 0; qi < H.nq; qi++) {
        struct queue *q = &H.q[qi];
        if (q->live || H.live_at_begin[qi])
            allow((struct range){qi * QAREA + USED_OFF, 4 + 8u * MAXNUM + 2});
        if (!q->live)
            continue;
        uint16_t idx = used_idx(q);
        uint16_t n = (uint16_t)(idx - q->used_seen);
        if (n > q->in_flight)
            fail("%s: queue %u: %u used entries, %u chains in flight", what, qi, n, q->in_flight);
        for (uint16_t k = 0; k < n; k++) {
            const uint8_t *e = ram_at(q->base + USED_OFF + 4 + 8u * (q->used_seen % q->num));
            uint32_t id = get32(e), len = get32(e + 4);
            q->used_seen++;
            struct chain *c = id < q->num ? chain_of(q, (uint16_t)id) : NULL;
            if (!c || !c->in_flight)
                fail("%s: queue %u: used id %" PRIu32 " is no chain in flight (completed twice?)",
                     what, qi, id);
            if (!c->valid)
                fail("%s: queue %u: chain %" PRIu32 " completed, but the transport's rules "
                     "refuse it",
                     what, qi, id);
            if (len > c->wlen)
                fail("%s: queue %u: used length %" PRIu32 " beyond the chain's %" PRIu64
                     " writable bytes",
                     what, qi, len, c->wlen);
            say("  queue %u: chain %" PRIu32 " done, %" PRIu32 " of %" PRIu64 " bytes", qi, id, len,
                c->wlen);
            c->used_len = len;
            allow_chain(c);
            done[ndone++] = c;
        }
    }
    /* guest RAM: only the allowed ranges changed */
    for (unsigned i = 0; i < norphans; i++)
        allow(orphans[i]);
    for (uint32_t block = 0; block < RAM_SIZE && !orphans_overflow; block += 256) {
        if (memcmp(H.ram + block, H.shadow + block, 256) == 0)
            continue;
        for (uint32_t off = block; off < block + 256; off++) {
            if (H.ram[off] == H.shadow[off])
                continue;
            if (!in_ranges(off, allowed, nallowed))
                fail("%s: the device wrote guest RAM at %#" PRIx32 " (%#x -> %#x), outside "
                     "the writable buffers of the chains it completed",
                     what, off, H.shadow[off], H.ram[off]);
        }
    }
    pthread_mutex_lock(&H.wr_lock);
    if (H.reported_outside)
        fail("%s: the transport reported a write outside guest RAM", what);
    for (unsigned i = 0; i < H.nreported; i++) {
        struct range r = H.reported[i];
        bool ok = inflight_w_overflow || orphans_overflow;
        for (unsigned k = 0; k < ninflight_w && !ok; k++)
            ok = r.off >= inflight_w[k].off &&
                 r.off + r.len <= inflight_w[k].off + inflight_w[k].len;
        for (unsigned k = 0; k < norphans && !ok; k++)
            ok = r.off >= orphans[k].off && r.off + r.len <= orphans[k].off + orphans[k].len;
        if (!ok)
            fail("%s: the transport reported writing [%#x, +%u), no writable buffer in flight",
                 what, r.off, r.len);
    }
    pthread_mutex_unlock(&H.wr_lock);

    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO: blk_check_step(H.shadow); break;
    case DEV_NET: net_check_step(H.shadow); break;
    case DEV_CONSOLE: console_check_step(H.shadow); break;
    case DEV_RNG: rng_check_step(); break;
    case DEV_INPUT: input_check_step(); break;
    default: break;
    }
    for (unsigned k = 0; k < ndone; k++) {
        struct chain *c = done[k];
        struct queue *q = &H.q[0];
        for (unsigned qi = 0; qi < H.nq; qi++)
            if (c >= H.q[qi].chains && c < H.q[qi].chains + MAXNUM)
                q = &H.q[qi];
        retire(q, c);
    }

    /* the line follows InterruptStatus */
    uint32_t isr = rd(MMIO_INTERRUPT_STATUS);
    pthread_mutex_lock(&H.irq_lock);
    bool line = H.line;
    pthread_mutex_unlock(&H.irq_lock);
    if (line != (isr != 0))
        fail("%s: the interrupt line is %s with InterruptStatus %#x", what, line ? "high" : "low",
             isr);
    memcpy(H.shadow, H.ram, RAM_SIZE);
    if (orphans_drop) {
        norphans = 0;
        orphans_overflow = orphans_drop = false;
    }
}

/* --- driver actions --------------------------------------------------------------------------- */

static uint64_t device_features(void)
{
    wr(MMIO_DEVICE_FEATURES_SEL, 1);
    uint64_t f = (uint64_t)rd(MMIO_DEVICE_FEATURES) << 32;
    wr(MMIO_DEVICE_FEATURES_SEL, 0);
    return f | rd(MMIO_DEVICE_FEATURES);
}

/* Device feature bits the input may ask for (bits 4-6 of its byte) and one not offered. */
static uint64_t want_features(uint8_t b)
{
    static const uint64_t dev_bits[DEV_COUNT][3] = {
        {VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_DISCARD, VIRTIO_BLK_F_WRITE_ZEROES},
        {VIRTIO_BLK_F_FLUSH, VIRTIO_BLK_F_RO, VIRTIO_BLK_F_SEG_MAX},
        {VIRTIO_NET_F_MAC, VIRTIO_NET_F_STATUS, VIRTIO_NET_F_MTU},
        {0, 0, 0},
        {0, 0, 0},
        {0, 0, 0},
    };
    static const uint64_t not_offered[DEV_COUNT] = {
        VIRTIO_BLK_F_NOT_OFFERED,   VIRTIO_BLK_F_NOT_OFFERED,    VIRTIO_NET_F_MRG_RXBUF,
        VIRTIO_CONSOLE_F_MULTIPORT, VIRTIO_F_NOT_OFFERED_GLOBAL, VIRTIO_F_NOT_OFFERED_GLOBAL,
    };
    uint64_t f = VIRTIO_F_VERSION_1 | ((b & 1) ? VIRTIO_F_INDIRECT_DESC : 0) |
                 ((b & 2) ? VIRTIO_F_EVENT_IDX : 0);
    for (unsigned i = 0; i < 3; i++)
        if (b & (16u << i))
            f |= dev_bits[H.dev][i];
    f &= H.offered;
    if (b & 128)
        f |= not_offered[H.dev];
    return f;
}

static void set_queue(unsigned qi, uint16_t num)
{
    struct queue *q = &H.q[qi];
    memset(q->chains, 0, sizeof(q->chains));
    memset(q->pins, 0, sizeof(q->pins));
    q->base = qi * QAREA;
    q->num = num;
    q->avail_idx = q->used_seen = 0;
    q->in_flight = 0;
    q->next_slot = 0;
    q->driver_broke = false;
    memset(ram_at(q->base), 0, QAREA);
    memset(H.shadow + q->base, 0, QAREA);
    wr(MMIO_QUEUE_SEL, qi);
    if (rd(MMIO_QUEUE_READY) != 0)
        fail("queue %u ready after a reset", qi);
    if (rd(MMIO_QUEUE_NUM_MAX) != H.qmax)
        fail("queue %u: QueueNumMax %u, the device offers %u", qi, rd(MMIO_QUEUE_NUM_MAX), H.qmax);
    wr(MMIO_QUEUE_NUM, num);
    uint64_t addr[3] = {RAM_BASE + q->base, RAM_BASE + q->base + AVAIL_OFF,
                        RAM_BASE + q->base + USED_OFF};
    static const uint64_t regs[3] = {MMIO_QUEUE_DESC_LOW, MMIO_QUEUE_AVAIL_LOW,
                                     MMIO_QUEUE_USED_LOW};
    for (unsigned i = 0; i < 3; i++) {
        wr(regs[i], (uint32_t)addr[i]);
        wr(regs[i] + 4, (uint32_t)(addr[i] >> 32));
    }
    wr(MMIO_QUEUE_READY, 1);
    q->live = rd(MMIO_QUEUE_READY) == 1;
    bool size_ok = num && num <= H.qmax && !(num & (num - 1));
    if (q->live != size_ok)
        fail("queue %u of %u entries: QueueReady reads %u", qi, num, rd(MMIO_QUEUE_READY));
}

/* Status 0, then the whole handshake with `fbyte`'s features and queues of
   `qbyte`'s size, as a driver probing the device. */
static void reset_and_setup(uint8_t fbyte, uint8_t qbyte, bool final)
{
    wr(MMIO_STATUS, 0);
    orphans_drop = true; /* the device drops what it held: none is written after this step */
    if (rd(MMIO_STATUS) != 0)
        fail("status %#x after a reset", rd(MMIO_STATUS));
    if (rd(MMIO_INTERRUPT_STATUS) != 0)
        fail("InterruptStatus %#x after a reset", rd(MMIO_INTERRUPT_STATUS));
    for (unsigned qi = 0; qi < H.nq; qi++) {
        allow_abandoned(&H.q[qi]);
        abandon_all(&H.q[qi]);
    }
    if (H.dev == DEV_NET) { /* the backlog is emptied: frames handed over are gone */
        H.rx_cursor = H.rx_nframes;
    }
    if (rd(MMIO_MAGIC) != VIRTIO_MMIO_MAGIC || rd(MMIO_VERSION) != 2)
        fail("bad magic or version");
    wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    H.offered = device_features();
    if (!(H.offered & VIRTIO_F_VERSION_1))
        fail("VERSION_1 not offered");
    uint64_t want = want_features(fbyte);
    wr(MMIO_DRIVER_FEATURES_SEL, 1);
    wr(MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
    wr(MMIO_DRIVER_FEATURES_SEL, 0);
    wr(MMIO_DRIVER_FEATURES, (uint32_t)want);
    wr(MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    H.features_ok = status_reg() & VIRTIO_STATUS_FEATURES_OK;
    bool acceptable = (want & ~H.offered) == 0;
    if (H.features_ok != acceptable)
        fail("features %#" PRIx64 " (offered %#" PRIx64 "): FEATURES_OK %s", want, H.offered,
             H.features_ok ? "accepted" : "refused");
    H.features = H.features_ok ? want : 0;
    uint16_t num = (qbyte & 0x80) ? 3 : (uint16_t)(H.qmax >> (qbyte % 4));
    if (final)
        num = H.qmax < 16 ? H.qmax : 16;
    for (unsigned qi = 0; qi < H.nq; qi++)
        set_queue(qi, num);
    uint32_t s = status_reg();
    wr(MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
    H.kicked = true; /* activation serves what is available */
    H.driver_ok = H.features_ok && (status_reg() & VIRTIO_STATUS_DRIVER_OK);
    say("set up: features %#" PRIx64 "%s, %u entries, status %#x", want,
        H.features_ok ? "" : " (refused)", num, status_reg());
}

/* One chain from the input (see op_add). */
struct seg_spec {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
};

static void make_available(struct queue *q, uint16_t head)
{
    put16(q->base + AVAIL_OFF + 4 + 2u * (q->avail_idx % q->num), head);
    q->avail_idx++;
    __atomic_store_n((uint16_t *)ram_at(q->base + AVAIL_OFF + 2), q->avail_idx, __ATOMIC_RELEASE);
}

/* Record c (head) as in flight: walk it, pin what it reads. */
static void post(struct queue *q, uint16_t head)
{
    struct chain *c = &q->chains[head];
    c->head = head;
    walk_chain(c, q);
    c->in_flight = true;
    q->in_flight++;
    pin(q, c, +1);
    make_available(q, head);
}

/*
 * ADD: [queue] [ctl] then 1 + ctl % 8 segments, each [flags] [len lo] [len hi]
 * (+ [addr: 4 bytes] when flags bit 7) and, when readable, up to 32 content bytes.
 * ctl: bits 0-2 segments - 1, bit 3 through an indirect table, bit 4 kick,
 * bit 5 the last descriptor links on (NEXT) to descriptor [next byte].
 * Segment flags: bit 0 device-writable, bit 1 len * 64, bit 2 len 0, bit 3 the
 * raw INDIRECT flag (its buffer is a table of the input's bytes), bit 7 an
 * address of the input's (offset from RAM's start, signed).
 */
static void add_chain(struct input *in, uint8_t ctl, struct seg_spec *segs, unsigned *nseg_out,
                      uint32_t *tables, uint8_t *link)
{
    unsigned nseg = 1 + (ctl & 7);
    *nseg_out = nseg;
    *tables = 0;
    *link = 0;
    for (unsigned i = 0; i < nseg; i++) {
        uint8_t f = take8(in);
        uint32_t len = take16(in);
        if (f & 2)
            len *= 64;
        if (f & 4)
            len = 0;
        struct seg_spec *s = &segs[i];
        s->flags = (f & 1) ? 2 : 0;
        s->len = len;
        if (f & 8) { /* a table the input writes, pointed at with the INDIRECT flag */
            int t = tslot_alloc();
            s->flags = 4;
            s->len = len % (TSLOT + 1);
            if (t < 0) {
                s->addr = RAM_BASE + RAM_SIZE; /* outside RAM */
            } else {
                uint32_t off = TABLES + (uint32_t)t * TSLOT;
                for (uint32_t k = 0; k < TSLOT; k++)
                    H.ram[off + k] = k < s->len ? take8(in) : 0;
                /* addresses into the data area, mostly */
                for (uint32_t k = 0; k + 16 <= s->len; k += 16) {
                    uint64_t a = get64(ram_at(off + k));
                    if (!(a >> 63))
                        put64(off + k, RAM_BASE + DATA + a % (RAM_SIZE - DATA));
                }
                sanitize_table(off, s->len);
                s->addr = RAM_BASE + off;
                *tables |= 1u << t;
            }
        } else if (f & 0x80) { /* read as it is (it may be a ring): never filled */
            int32_t a = (int32_t)take32(in);
            s->addr = RAM_BASE + (uint64_t)(int64_t)a;
            if ((s->flags & 2) && forbidden_write(s->addr, s->len))
                s->flags = 0;
        } else {
            s->addr = RAM_BASE + data_alloc(len);
            if (!(s->flags & 2))
                fill_readable((uint32_t)(s->addr - RAM_BASE), s->len, in);
        }
    }
    if (ctl & 32)
        *link = take8(in);
}

static void free_tables(uint32_t tables)
{
    for (unsigned t = 0; t < TSLOTS; t++)
        if (tables & (1u << t))
            H.tslot_refs[t]--;
}

static void op_add(struct input *in)
{
    unsigned qi = take8(in) % H.nq;
    uint8_t ctl = take8(in);
    struct queue *q = &H.q[qi];
    struct seg_spec segs[MAX_SEGS];
    unsigned nseg;
    uint32_t tables;
    uint8_t link;
    add_chain(in, ctl, segs, &nseg, &tables, &link);
    if (!q->live || q->driver_broke || q->in_flight >= q->num) {
        free_tables(tables);
        memcpy(H.shadow, H.ram, RAM_SIZE);
        return;
    }
    bool indirect = (ctl & 8) != 0;
    int itable = indirect ? tslot_alloc() : -1;
    if (itable < 0)
        indirect = false;
    unsigned ndesc = indirect ? 1 : nseg;
    uint16_t slots[MAX_SEGS];
    if (!desc_alloc(q, ndesc, slots)) {
        free_tables(tables);
        if (itable >= 0)
            H.tslot_refs[itable]--;
        memcpy(H.shadow, H.ram, RAM_SIZE);
        return;
    }
    if (indirect) {
        uint32_t toff = TABLES + (uint32_t)itable * TSLOT;
        memset(ram_at(toff), 0, TSLOT);
        for (unsigned i = 0; i < nseg; i++) {
            uint32_t d = toff + 16 * i;
            put64(d, segs[i].addr);
            put32(d + 8, segs[i].len);
            put16(d + 12, (uint16_t)(segs[i].flags | (i + 1 < nseg ? 1 : 0)));
            put16(d + 14, (uint16_t)(i + 1));
        }
        if (ctl & 32) {
            uint32_t d = toff + 16 * (nseg - 1);
            put16(d + 12, (uint16_t)(get16(ram_at(d + 12)) | 1));
            put16(d + 14, link);
        }
        uint32_t d = q->base + 16u * slots[0];
        put64(d, RAM_BASE + toff);
        put32(d + 8, 16 * nseg);
        put16(d + 12, 4);
        put16(d + 14, 0);
        tables |= 1u << itable;
    } else {
        for (unsigned i = 0; i < nseg; i++) {
            uint32_t d = q->base + 16u * slots[i];
            put64(d, segs[i].addr);
            put32(d + 8, segs[i].len);
            put16(d + 12, (uint16_t)(segs[i].flags | (i + 1 < nseg ? 1 : 0)));
            put16(d + 14, i + 1 < nseg ? slots[i + 1] : 0);
        }
        if (ctl & 32) {
            uint32_t d = q->base + 16u * slots[nseg - 1];
            put16(d + 12, (uint16_t)(get16(ram_at(d + 12)) | 1));
            put16(d + 14, link);
        }
    }
    post(q, slots[0]);
    free_tables(tables);               /* what the walk reaches stays pinned */
    memcpy(H.shadow, H.ram, RAM_SIZE); /* the harness's own writes are not the device's */
    const struct chain *c = &q->chains[slots[0]];
    say("add: queue %u, %u segments%s%s, head %u: %s, %" PRIu64 " readable, %" PRIu64 " writable",
        qi, nseg, indirect ? " (indirect)" : "", (ctl & 32) ? " (linked on)" : "", slots[0],
        c->valid ? "valid" : "refused", c->rlen, c->wlen);
    if (ctl & 16) {
        step_begin();
        kick(qi);
        step_end("add+kick");
    }
}

static void op_kick(struct input *in)
{
    unsigned qi = take8(in) % (H.nq + 1);
    step_begin();
    say("kick %u", qi);
    kick(qi);
    step_end("kick");
}

/* FEED: what the device's host side sends: a frame, console input, a key. */
static void op_feed(struct input *in)
{
    switch (H.dev) {
    case DEV_NET: {
        uint16_t len = take16(in);
        if (len & 0x8000)
            len = (uint16_t)(len & 0x7ff); /* mostly Ethernet-sized */
        static uint8_t frame[65536];
        for (uint32_t i = 0; i < len; i++)
            frame[i] = i < 32 ? take8(in) : (uint8_t)(i * 7 + 3);
        if (H.rx_nframes == COUNT(H.rx_frames))
            return;
        step_begin();
        struct net_tap_stats st;
        net_tap_get_stats(H.tap, &st);
        uint64_t before = st.rx_frames;
        if (send(H.sock, frame, len, MSG_DONTWAIT) != (ssize_t)len) {
            step_end("feed (not sent)");
            return;
        }
        uint8_t *copy = malloc(len ? len : 1);
        if (!copy)
            abort();
        memcpy(copy, frame, len);
        H.rx_frames[H.rx_nframes++] = (struct net_frame){len, copy};
        uint64_t t0 = now_ns();
        for (;;) {
            net_tap_get_stats(H.tap, &st);
            if (st.rx_frames > before)
                break;
            if (now_ns() - t0 > 10000000000ull)
                fail("virtio-net: the backend's reader did not take a frame in 10 s");
            sched_yield();
        }
        say("frame of %u bytes", len);
        step_end("frame");
        break;
    }
    case DEV_CONSOLE: {
        uint8_t len = take8(in);
        if (len > CONSOLE_MAX - H.con_in_len)
            return;
        for (unsigned i = 0; i < len; i++)
            H.con_in[H.con_in_len++] = take8(in);
        step_begin();
        say("console input, %u bytes", len);
        virtio_console_input_ready(H.console);
        step_end("console input");
        break;
    }
    case DEV_INPUT: {
        uint8_t b = take8(in), code = take8(in);
        step_begin();
        struct input_event evs[12];
        unsigned n = 0;
        int want, got;
        if (b % 4 == 0) {
            static const uint16_t keys[3] = {VIRTIO_INPUT_KEY_LEFTCTRL, VIRTIO_INPUT_KEY_LEFTALT,
                                             VIRTIO_INPUT_KEY_DELETE};
            for (unsigned i = 0; i < 3; i++) {
                evs[n++] = (struct input_event){VIRTIO_INPUT_EV_KEY, keys[i], 1};
                evs[n++] = (struct input_event){VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0};
            }
            for (unsigned i = 3; i-- > 0;) {
                evs[n++] = (struct input_event){VIRTIO_INPUT_EV_KEY, keys[i], 0};
                evs[n++] = (struct input_event){VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0};
            }
            want = n <= VIRTIO_INPUT_PENDING_MAX - H.pend_count ? 0 : -1;
            got = virtio_input_send_ctrl_alt_del(H.input);
        } else {
            bool pressed = b & 1;
            evs[n++] = (struct input_event){VIRTIO_INPUT_EV_KEY, code, pressed};
            evs[n++] = (struct input_event){VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0};
            want = code >= 1 && code <= VIRTIO_INPUT_KEY_MAX &&
                           n <= VIRTIO_INPUT_PENDING_MAX - H.pend_count
                       ? 0
                       : -1;
            got = virtio_input_send_key(H.input, code, pressed);
        }
        if (got != want)
            fail("virtio-input: a send returned %d with %u events pending, want %d", got,
                 H.pend_count, want);
        if (got == 0)
            for (unsigned i = 0; i < n; i++) {
                H.pending[(H.pend_head + H.pend_count) % VIRTIO_INPUT_PENDING_MAX] = evs[i];
                H.pend_count++;
            }
        say("input: %u events sent: %d", n, got);
        step_end("input send");
        break;
    }
    default: /* blk, rng: nothing comes from the host side */ take8(in); break;
    }
}

/* CONFIG: [offset] [size] [value: 4 bytes] [write?] */
static void op_config(struct input *in)
{
    uint8_t off = take8(in), sz = take8(in);
    uint32_t v = take32(in);
    bool write = take8(in) & 1;
    unsigned size = (unsigned[]){1, 2, 4, 8, 3}[sz % 5];
    step_begin();
    if (write) {
        virtio_mmio_write(H.vdev, MMIO_CONFIG + off, size, v);
    } else {
        uint64_t got = 0;
        bool ok = virtio_mmio_read(H.vdev, MMIO_CONFIG + off, size, &got);
        if ((H.dev == DEV_BLK || H.dev == DEV_BLK_RO) && ok && size == 4 &&
            off == VIRTIO_BLK_CFG_CAPACITY && got != (uint32_t)capacity())
            fail("virtio-blk: capacity reads %" PRIu64 ", the disk has %" PRIu64, got, capacity());
    }
    step_end("config");
}

/* REG: [which] [value: 4 bytes]: a register write a driver might make at any time
   (not DriverFeatures: the harness's idea of the features in use would drift). */
static void op_reg(struct input *in)
{
    static const uint16_t regs[] = {
        MMIO_DEVICE_FEATURES_SEL,
        MMIO_DEVICE_ID,
        MMIO_DRIVER_FEATURES_SEL,
        MMIO_QUEUE_SEL,
        MMIO_QUEUE_NUM,
        MMIO_QUEUE_DESC_LOW,
        MMIO_QUEUE_AVAIL_HIGH,
        MMIO_QUEUE_USED_LOW,
        MMIO_INTERRUPT_ACK,
        MMIO_STATUS,
        0x0fc,
        0x0c0,
        MMIO_QUEUE_READY,
        MMIO_QUEUE_NOTIFY,
        0x0ac,
        MMIO_MAGIC,
    };
    uint8_t which = take8(in);
    uint32_t v = take32(in);
    uint16_t reg = regs[which % COUNT(regs)];
    step_begin();
    if (reg == MMIO_STATUS) {
        if (v == 0) {
            say("reset by a status write");
            wr(MMIO_STATUS, 0);
            orphans_drop = true;
            for (unsigned qi = 0; qi < H.nq; qi++) {
                allow_abandoned(&H.q[qi]);
                abandon_all(&H.q[qi]);
            }
            if (H.dev == DEV_NET)
                H.rx_cursor = H.rx_nframes;
            step_end("status 0");
            return;
        }
    }
    if (reg == MMIO_QUEUE_READY) {
        /* only ever turning a queue off: turning it on again would restart its indices */
        if (v != 0) {
            step_end("queue ready (skipped)");
            return;
        }
        unsigned qi = (which >> 4) % H.nq;
        wr(MMIO_QUEUE_SEL, qi);
        say("queue %u turned off", qi);
        wr(MMIO_QUEUE_READY, 0);
        allow_abandoned(&H.q[qi]);
        orphan_all(&H.q[qi]);
        step_end("queue ready 0");
        abandon_all(&H.q[qi]);
        return;
    }
    say("register %#x = %#x", reg, v);
    uint32_t before = status_reg();
    wr(reg, v);
    /* what makes the device pop: a notify, or DRIVER_OK set (activation) */
    if ((reg == MMIO_QUEUE_NOTIFY && v < H.nq) ||
        (!(before & VIRTIO_STATUS_DRIVER_OK) && (status_reg() & VIRTIO_STATUS_DRIVER_OK)))
        H.kicked = true;
    step_end("register");
}

static void op_reset(struct input *in)
{
    uint8_t f = take8(in), qs = take8(in);
    step_begin();
    reset_and_setup(f, qs, false);
    step_end("reset and set-up");
}

/* BUMP: [queue] [n]: avail->idx moved past the ring, as a broken driver would. */
static void op_bump(struct input *in)
{
    unsigned qi = take8(in) % H.nq;
    uint8_t n = take8(in);
    struct queue *q = &H.q[qi];
    if (!q->live)
        return;
    step_begin();
    q->avail_idx = (uint16_t)(q->avail_idx + q->num + 1 + n % 64);
    __atomic_store_n((uint16_t *)ram_at(q->base + AVAIL_OFF + 2), q->avail_idx, __ATOMIC_RELEASE);
    q->driver_broke = true;
    memcpy(H.shadow, H.ram, RAM_SIZE);
    say("queue %u: avail idx moved past the ring", qi);
    kick(qi);
    step_end("bump");
}

static void op_isr(struct input *in)
{
    uint8_t mask = take8(in);
    step_begin();
    uint32_t isr = rd(MMIO_INTERRUPT_STATUS);
    if (isr & ~3u)
        fail("InterruptStatus %#x", isr);
    wr(MMIO_INTERRUPT_ACK, isr & mask);
    step_end("isr ack");
}

static void op_pause(struct input *in)
{
    bool paused = take8(in) & 1;
    step_begin();
    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO: H.user_paused = paused; break; /* the window below does it */
    case DEV_NET: virtio_net_pause(H.net, paused); break;
    case DEV_CONSOLE: virtio_console_pause(H.console, paused); break;
    default: break;
    }
    say("%s", paused ? "pause" : "resume");
    step_end("pause");
}

/* FLAGS: [queue] [avail flags] [used_event: 2 bytes] */
static void op_flags(struct input *in)
{
    unsigned qi = take8(in) % H.nq;
    uint8_t flags = take8(in);
    uint16_t ev = take16(in);
    struct queue *q = &H.q[qi];
    if (!q->live)
        return;
    put16(q->base + AVAIL_OFF, flags & 1);
    put16(q->base + AVAIL_OFF + 4 + 2u * q->num, ev);
    memcpy(H.shadow, H.ram, RAM_SIZE);
}

enum {
    OP_ADD,
    OP_KICK,
    OP_FEED,
    OP_CONFIG,
    OP_REG,
    OP_RESET,
    OP_BUMP,
    OP_ISR,
    OP_PAUSE,
    OP_FLAGS,
    OP_COUNT
};

/* --- the final well-formed requests ----------------------------------------------------------- */

static uint16_t simple_chain(unsigned qi, const struct seg_spec *segs, unsigned n)
{
    struct queue *q = &H.q[qi];
    uint16_t slots[MAX_SEGS];
    if (!q->live || !desc_alloc(q, n, slots))
        fail("final: queue %u cannot take a chain", qi);
    for (unsigned i = 0; i < n; i++) {
        uint32_t d = q->base + 16u * slots[i];
        put64(d, segs[i].addr);
        put32(d + 8, segs[i].len);
        put16(d + 12, (uint16_t)(segs[i].flags | (i + 1 < n ? 1 : 0)));
        put16(d + 14, i + 1 < n ? slots[i + 1] : 0);
    }
    post(q, slots[0]);
    memcpy(H.shadow, H.ram, RAM_SIZE);
    return slots[0];
}

/* Make the chain available, kick, and expect it back with `len` bytes used. */
static void expect_done(unsigned qi, uint16_t head, uint32_t len, const char *what)
{
    struct queue *q = &H.q[qi];
    step_begin();
    uint16_t seen = q->used_seen;
    kick(qi);
    step_end(what);
    if ((uint16_t)(q->used_seen - seen) != 1 || q->chains[head].in_flight)
        fail("final: %s: the device did not complete it", what);
    if (q->chains[head].used_len != len)
        fail("final: %s: used length %u, want %u", what, q->chains[head].used_len, len);
}

static uint32_t final_buf(uint32_t len, uint8_t fill)
{
    uint32_t off = data_alloc(len);
    memset(ram_at(off), fill, len);
    return off;
}

static void final_requests(void)
{
    step_begin();
    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO: H.user_paused = false; break;
    case DEV_NET: virtio_net_pause(H.net, false); break;
    case DEV_CONSOLE: virtio_console_pause(H.console, false); break;
    default: break;
    }
    step_end("resume");
    step_begin();
    reset_and_setup(H.dev == DEV_NET ? 0x10 : 0x10, 0, true);
    step_end("final set-up");
    if (!H.driver_ok)
        fail("final: the device did not take a plain set-up (status %#x)", status_reg());

    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO: {
        uint32_t hdr = final_buf(16, 0), data = final_buf(512, 0), st = final_buf(1, 0xee);
        uint8_t pattern[512];
        for (unsigned i = 0; i < 512; i++)
            pattern[i] = (uint8_t)(i * 31 + 7);
        if (capacity() > 0) {
            put32(hdr, VIRTIO_BLK_T_OUT);
            put32(hdr + 4, 0);
            put64(hdr + 8, 0);
            memcpy(ram_at(data), pattern, 512);
            struct seg_spec w[3] = {
                {RAM_BASE + hdr, 16, 0}, {RAM_BASE + data, 512, 0}, {RAM_BASE + st, 1, 2}};
            expect_done(0, simple_chain(0, w, 3), 1, "final write");
            uint8_t want = H.readonly ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
            if (H.ram[st] != want)
                fail("final: a write of sector 0 got status %u", H.ram[st]);
            put32(hdr, VIRTIO_BLK_T_IN);
            memset(ram_at(data), 0, 512);
            H.ram[st] = 0xee;
            struct seg_spec r[3] = {
                {RAM_BASE + hdr, 16, 0}, {RAM_BASE + data, 512, 2}, {RAM_BASE + st, 1, 2}};
            expect_done(0, simple_chain(0, r, 3), 513, "final read");
            if (H.ram[st] != VIRTIO_BLK_S_OK)
                fail("final: a read of sector 0 got status %u", H.ram[st]);
            read_disk(disk_now);
            if (memcmp(ram_at(data), disk_now, 512) != 0 ||
                (!H.readonly && memcmp(disk_now, pattern, 512) != 0))
                fail("final: sector 0 does not read back what was written");
        }
        put32(hdr, VIRTIO_BLK_T_GET_ID);
        H.ram[st] = 0xee;
        struct seg_spec g[3] = {{RAM_BASE + hdr, 16, 0},
                                {RAM_BASE + data, VIRTIO_BLK_ID_BYTES, 2},
                                {RAM_BASE + st, 1, 2}};
        expect_done(0, simple_chain(0, g, 3), VIRTIO_BLK_ID_BYTES + 1, "final get-id");
        if (H.ram[st] != VIRTIO_BLK_S_OK || memcmp(ram_at(data), "duvisor-", 8) != 0)
            fail("final: GET_ID got status %u", H.ram[st]);
        break;
    }
    case DEV_NET: {
        uint32_t tx = final_buf(NET_HDR + 60, 0);
        for (unsigned i = 0; i < 60; i++)
            H.ram[tx + NET_HDR + i] = (uint8_t)(0xa0 + i);
        struct seg_spec t[1] = {{RAM_BASE + tx, NET_HDR + 60, 0}};
        uint16_t head = simple_chain(VIRTIO_NET_TXQ, t, 1);
        step_begin();
        uint16_t seen = H.q[VIRTIO_NET_TXQ].used_seen;
        uint64_t out = H.tx_received;
        kick(VIRTIO_NET_TXQ);
        /* net_check_step takes the frame out of the socket and compares it */
        step_end("final transmit");
        if (H.q[VIRTIO_NET_TXQ].used_seen == seen || H.q[VIRTIO_NET_TXQ].chains[head].in_flight ||
            H.tx_received != out + 1)
            fail("final: the transmit chain was not completed or its frame not sent");
        uint32_t rx = final_buf(NET_HDR + 1514, 0);
        struct seg_spec r[1] = {{RAM_BASE + rx, NET_HDR + 1514, 2}};
        head = simple_chain(VIRTIO_NET_RXQ, r, 1);
        step_begin();
        kick(VIRTIO_NET_RXQ);
        step_end("final receive buffer");
        uint8_t cmd[2 + 32] = {60, 0};
        for (unsigned i = 0; i < 32; i++)
            cmd[2 + i] = (uint8_t)(0x50 + i);
        struct input fin = {cmd, sizeof cmd};
        op_feed(&fin);
        if (H.q[VIRTIO_NET_RXQ].chains[head].in_flight ||
            H.q[VIRTIO_NET_RXQ].chains[head].used_len != NET_HDR + 60 ||
            memcmp(ram_at(rx + NET_HDR), H.rx_frames[H.rx_nframes - 1].data, 60) != 0)
            fail("final: a received frame did not arrive");
        break;
    }
    case DEV_CONSOLE: {
        uint32_t tx = final_buf(5, 0);
        memcpy(ram_at(tx), "hello", 5);
        struct seg_spec t[1] = {{RAM_BASE + tx, 5, 0}};
        uint32_t out0 = H.con_out_len;
        expect_done(VIRTIO_CONSOLE_TXQ, simple_chain(VIRTIO_CONSOLE_TXQ, t, 1), 0,
                    "final console output");
        if (!H.con_out_overflow &&
            (H.con_out_len != out0 + 5 || memcmp(H.con_out + out0, "hello", 5) != 0))
            fail("final: console output lost");
        /* input the fuzzing left unread is dropped; then three bytes of ours */
        uint32_t rx = final_buf(64, 0);
        struct seg_spec r[1] = {{RAM_BASE + rx, 64, 2}};
        uint16_t head = simple_chain(VIRTIO_CONSOLE_RXQ, r, 1);
        H.con_in_len = H.con_in_read = H.con_in_checked = 0;
        uint8_t cmd[4] = {3, 'a', 'b', 'c'};
        struct input fin = {cmd, sizeof cmd};
        step_begin();
        kick(VIRTIO_CONSOLE_RXQ);
        step_end("final receive buffer");
        op_feed(&fin);
        if (H.q[VIRTIO_CONSOLE_RXQ].chains[head].in_flight ||
            H.q[VIRTIO_CONSOLE_RXQ].chains[head].used_len != 3 || memcmp(ram_at(rx), "abc", 3) != 0)
            fail("final: console input did not arrive");
        break;
    }
    case DEV_RNG: {
        uint32_t b = final_buf(64, 0);
        struct seg_spec r[1] = {{RAM_BASE + b, 64, 2}};
        expect_done(0, simple_chain(0, r, 1), 64, "final entropy");
        break;
    }
    case DEV_INPUT: {
        /* events the fuzzing left pending come first */
        for (unsigned round = 0; H.pend_count > 0; round++) {
            if (round > VIRTIO_INPUT_PENDING_MAX)
                fail("final: pending input events are not delivered");
            uint32_t b = final_buf(8, 0);
            struct seg_spec r[1] = {{RAM_BASE + b, 8, 2}};
            expect_done(VIRTIO_INPUT_EVENTQ, simple_chain(VIRTIO_INPUT_EVENTQ, r, 1), 8,
                        "final pending event");
        }
        uint16_t heads[2];
        uint32_t bufs[2];
        for (unsigned i = 0; i < 2; i++) {
            bufs[i] = final_buf(8, 0);
            struct seg_spec r[1] = {{RAM_BASE + bufs[i], 8, 2}};
            heads[i] = simple_chain(VIRTIO_INPUT_EVENTQ, r, 1);
        }
        step_begin();
        kick(VIRTIO_INPUT_EVENTQ);
        step_end("final event buffers");
        uint8_t cmd[2] = {1, 30};
        struct input fin = {cmd, sizeof cmd};
        op_feed(&fin);
        for (unsigned i = 0; i < 2; i++)
            if (H.q[VIRTIO_INPUT_EVENTQ].chains[heads[i]].in_flight)
                fail("final: a key press did not arrive");
        if (get16(ram_at(bufs[0])) != VIRTIO_INPUT_EV_KEY || get16(ram_at(bufs[0] + 2)) != 30 ||
            get32(ram_at(bufs[0] + 4)) != 1 || get16(ram_at(bufs[1])) != VIRTIO_INPUT_EV_SYN)
            fail("final: the key press arrived wrong");
        break;
    }
    default: break;
    }
}

/* --- devices ------------------------------------------------------------------------------------
 */

static int socks[2] = {-1, -1};

static void disk_prepare(uint32_t size)
{
    if (disk_fd < 0) {
        disk_fd = memfd_create("fuzz-virtio-blk", MFD_CLOEXEC);
        if (disk_fd < 0)
            fail("memfd_create: %s", strerror(errno));
        snprintf(disk_path, sizeof disk_path, "/proc/self/fd/%d", disk_fd);
    }
    if (ftruncate(disk_fd, 0) != 0 || ftruncate(disk_fd, size) != 0)
        fail("ftruncate: %s", strerror(errno));
    for (uint32_t i = 0; i < size; i++)
        H.disk_model[i] = (uint8_t)(i * 7 + (i >> 9) + 1);
    if (size && pwrite(disk_fd, H.disk_model, size, 0) != (ssize_t)size)
        fail("pwrite: %s", strerror(errno));
    H.disk_size = size;
}

static void device_create(uint8_t fbyte)
{
    char err[256] = "";
    const struct virtio_device_ops *ops = NULL;
    void *opaque = NULL;
    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO: {
        static const uint32_t sizes[4] = {65536, 512, 0, 4096};
        disk_prepare(sizes[(fbyte >> 2) & 3]);
        H.readonly = H.dev == DEV_BLK_RO;
        H.blk = virtio_blk_create(disk_path, H.readonly, err, sizeof err);
        if (!H.blk)
            fail("virtio_blk_create: %s", err);
        ops = virtio_blk_ops(H.blk);
        opaque = H.blk;
        break;
    }
    case DEV_NET: {
        if (socks[0] < 0) {
            if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, socks) != 0)
                fail("socketpair: %s", strerror(errno));
            /* neither end may block the harness: a full socket drops frames */
            fcntl(socks[0], F_SETFL, O_NONBLOCK);
            fcntl(socks[1], F_SETFL, O_NONBLOCK);
        }
        while (recv(socks[1], frame_buf, sizeof frame_buf, MSG_DONTWAIT) >= 0) {
        }
        H.sock = socks[1];
        H.tap = net_tap_adopt_socket(socks[0], "fuzz", err, sizeof err);
        if (!H.tap)
            fail("net_tap_adopt_socket: %s", err);
        static const uint8_t mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};
        struct net_backend be = net_tap_backend(H.tap);
        H.net = virtio_net_create(mac, &be);
        if (!H.net)
            fail("virtio_net_create");
        ops = virtio_net_ops();
        opaque = H.net;
        break;
    }
    case DEV_CONSOLE: {
        struct virtio_console_backend be = {.write = con_write, .read = con_read};
        H.console = virtio_console_create(&be);
        ops = virtio_console_ops();
        opaque = H.console;
        break;
    }
    case DEV_RNG:
        H.rng = virtio_rng_create();
        ops = virtio_rng_ops();
        opaque = H.rng;
        break;
    case DEV_INPUT:
        H.input = virtio_input_create(NULL);
        ops = virtio_input_ops();
        opaque = H.input;
        break;
    default: break;
    }
    if (!opaque)
        fail("cannot create the %s device", dev_name[H.dev]);
    H.nq = ops->num_queues;
    H.qmax = ops->queue_size_max;
    if (H.nq > MAXQ || H.qmax > MAXNUM)
        fail("harness: the device has more or larger queues than it can drive");
    H.mem = (struct virtio_memory){
        .host = H.ram, .gpa_base = RAM_BASE, .size = RAM_SIZE, .written = on_written};
    H.vdev = virtio_create(ops, opaque, &H.mem, on_irq, NULL);
    if (!H.vdev)
        fail("virtio_create refused the %s device", dev_name[H.dev]);
    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO:
        virtio_blk_bind(H.blk, H.vdev);
        virtio_blk_pause(H.blk, true); /* workers run only inside a step's window */
        break;
    case DEV_NET:
        virtio_net_bind(H.net, H.vdev);
        net_tap_attach(H.tap, H.net);
        break;
    case DEV_CONSOLE: virtio_console_bind(H.console, H.vdev); break;
    case DEV_RNG: virtio_rng_bind(H.rng, H.vdev); break;
    case DEV_INPUT: virtio_input_bind(H.input, H.vdev); break;
    default: break;
    }
}

static void device_destroy(void)
{
    switch (H.dev) {
    case DEV_BLK:
    case DEV_BLK_RO:
        virtio_blk_pause(H.blk, false);
        virtio_blk_destroy(H.blk);
        virtio_destroy(H.vdev);
        break;
    case DEV_NET:
        net_tap_destroy(H.tap);
        virtio_destroy(H.vdev);
        virtio_net_destroy(H.net);
        for (unsigned i = 0; i < H.rx_nframes; i++)
            free(H.rx_frames[i].data);
        break;
    case DEV_CONSOLE:
        virtio_destroy(H.vdev);
        virtio_console_destroy(H.console);
        break;
    case DEV_RNG:
        virtio_destroy(H.vdev);
        virtio_rng_destroy(H.rng);
        break;
    case DEV_INPUT:
        virtio_destroy(H.vdev);
        virtio_input_destroy(H.input);
        break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    if (verbose < 0)
        verbose = getenv("DUVISOR_FUZZ_VERBOSE") != NULL;
    static uint8_t *ram, *shadow;
    if (!ram) {
        ram = malloc(RAM_SIZE);
        shadow = malloc(RAM_SIZE);
        if (!ram || !shadow)
            abort();
        pthread_mutex_init(&H.irq_lock, NULL);
        pthread_mutex_init(&H.wr_lock, NULL);
    }
    /* everything but the locks starts from zero */
    pthread_mutex_t irq_lock = H.irq_lock, wr_lock = H.wr_lock;
    memset(&H, 0, sizeof H);
    H.irq_lock = irq_lock;
    H.wr_lock = wr_lock;
    H.ram = ram;
    H.shadow = shadow;
    memset(ram, 0, RAM_SIZE);
    memset(shadow, 0, RAM_SIZE);
    H.data_next = DATA;
    H.dev = (enum dev)(data[0] % DEV_COUNT);
    say("device %s", dev_name[H.dev]);
    device_create(data[1]);

    step_begin();
    reset_and_setup(data[1], data[2], false);
    step_end("set-up");
    struct input in = {data + 3, size - 3};
    while (in.left) {
        switch (take8(&in) % OP_COUNT) {
        case OP_ADD: op_add(&in); break;
        case OP_KICK: op_kick(&in); break;
        case OP_FEED: op_feed(&in); break;
        case OP_CONFIG: op_config(&in); break;
        case OP_REG: op_reg(&in); break;
        case OP_RESET: op_reset(&in); break;
        case OP_BUMP: op_bump(&in); break;
        case OP_ISR: op_isr(&in); break;
        case OP_PAUSE: op_pause(&in); break;
        case OP_FLAGS: op_flags(&in); break;
        }
    }
    final_requests();
    device_destroy();
    return 0;
}
