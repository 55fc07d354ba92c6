/*
 * libFuzzer harness for the split-virtqueue walker through the real virtio-mmio
 * transport (src/devices/virtio_mmio.c, virtqueue.c), built and run by
 * `make fuzz`. A trivial one-queue device sits over a small guest RAM whose
 * bytes come from the input; the harness drives the registers as a driver
 * does (reset, ACKNOWLEDGE, DRIVER, features, FEATURES_OK, queue set-up,
 * DRIVER_OK, kicks), then pops every chain it can and pushes it back. Every
 * iovec of every popped chain must lie inside guest RAM, and so must every
 * write the transport reports; ASan (RAM is one exact-size heap block) and
 * UBSan catch the rest.
 *
 * Input:
 *   [0]  queue size: 1 << (b % 11) (up to 1024; QueueNumMax is 1024)
 *   [1]  flags: bit 0 negotiate INDIRECT_DESC, bit 1 EVENT_IDX,
 *        bit 2 take the ring addresses from the input (else packed at the
 *        start of RAM: descriptors, then avail, then used), bit 3 kick before
 *        DRIVER_OK too, bit 4 reset and set the queue up again after the pops
 *   [2]  rounds of (kick, pop everything, push) : 1 + b % 4
 *   [3]  `written` per push is chain in_len * b / 255
 *   [4]  count of raw register writes (b % 8), 6 bytes each after the header
 *        (offset u16, value u32; made between rounds)
 *   [5..28]  with flag bit 2: desc, avail, used as u64 little-endian offsets
 *        from RAM_BASE (taken modulo 2 * RAM_SIZE, so some point outside RAM)
 *   then  guest RAM's first bytes (the rest of RAM is zero)
 *
 * With DUVISOR_FUZZ_VERBOSE set in the environment each popped chain is
 * printed (for replaying seeds and crashes).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
/* The register layout the unit tests drive devices with (its accessors are not used here). */
#include "../unit/support/virtio_regs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x10000u /* 64 KiB */
#define HDR      5u


static uint8_t *ram;
static struct virtq_chain chain; /* large: not on the stack */
static unsigned notified, resets;
static int verbose = -1;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_virtqueue: %s\n", what);
    abort();
}

static bool in_ram(const void *p, size_t len)
{
    const uint8_t *b = p;
    return b >= ram && b <= ram + RAM_SIZE && len <= (size_t)(ram + RAM_SIZE - b);
}

static void on_written(void *opaque, const void *host, size_t len)
{
    (void)opaque;
    if (!in_ram(host, len))
        fail("the transport reports a write outside guest RAM");
}

static void on_notify(void *opaque, unsigned q)
{
    (void)opaque;
    if (q != 0)
        fail("notify for a queue that does not exist");
    notified++;
}

static void on_reset(void *opaque)
{
    (void)opaque;
    resets++;
}

static void on_activate(void *opaque, uint64_t features)
{
    (void)opaque;
    (void)features;
}

static void on_irq(void *opaque, bool level)
{
    (void)opaque;
    (void)level;
}

static const struct virtio_device_ops ops = {
    .device_id = 0x7f,
    .num_queues = 1,
    .queue_size_max = VIRTIO_QUEUE_SIZE_MAX,
    .activate = on_activate,
    .notify = on_notify,
    .reset = on_reset,
};

static uint32_t rd(struct virtio_device *d, uint64_t off)
{
    uint64_t v = 0;
    if (!virtio_mmio_read(d, off, 4, &v))
        fail("register read refused");
    return (uint32_t)v;
}

/* Writes the fuzz input makes up may be refused; the set-up's should not. */
static bool wr(struct virtio_device *d, uint64_t off, uint32_t v)
{
    return virtio_mmio_write(d, off, 4, v);
}

static void check_chain(const struct virtq_chain *c)
{
    size_t out = 0, in = 0;
    if (c->nout > VIRTQ_MAX_SEGS || c->nin > VIRTQ_MAX_SEGS || c->nout + c->nin > VIRTQ_MAX_SEGS)
        fail("chain with too many segments");
    for (unsigned i = 0; i < c->nout; i++) {
        if (!in_ram(c->out[i].iov_base, c->out[i].iov_len))
            fail("out iovec outside guest RAM");
        if (c->out[i].iov_len == 0)
            fail("empty out iovec");
        out += c->out[i].iov_len;
    }
    for (unsigned i = 0; i < c->nin; i++) {
        if (!in_ram(c->in[i].iov_base, c->in[i].iov_len))
            fail("in iovec outside guest RAM");
        if (c->in[i].iov_len == 0)
            fail("empty in iovec");
        in += c->in[i].iov_len;
    }
    if (out != c->out_len || in != c->in_len)
        fail("chain totals do not match its iovecs");
    if (c->out_len > UINT32_MAX || c->in_len > UINT32_MAX)
        fail("chain direction over UINT32_MAX bytes");
}

static void setup_queue(struct virtio_device *d, uint16_t num, const uint64_t addr[3])
{
    wr(d, MMIO_QUEUE_SEL, 0);
    if (rd(d, MMIO_QUEUE_NUM_MAX) < num)
        fail("QueueNumMax below the size asked");
    wr(d, MMIO_QUEUE_NUM, num);
    static const uint64_t regs[3] = {MMIO_QUEUE_DESC_LOW, MMIO_QUEUE_AVAIL_LOW,
                                     MMIO_QUEUE_USED_LOW};
    for (unsigned i = 0; i < 3; i++) {
        wr(d, regs[i], (uint32_t)addr[i]);
        wr(d, regs[i] + 4, (uint32_t)(addr[i] >> 32));
    }
    wr(d, MMIO_QUEUE_READY, 1);
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    if (verbose < 0)
        verbose = getenv("DUVISOR_FUZZ_VERBOSE") != NULL;
    if (!ram) {
        ram = malloc(RAM_SIZE);
        if (!ram)
            abort();
    }
    uint16_t num = (uint16_t)(1u << (data[0] % 11));
    uint8_t flags = data[1];
    unsigned rounds = 1 + data[2] % 4, wfrac = data[3], nraw = data[4] % 8;
    size_t pos = HDR;

    const uint8_t *raw = data + pos;
    if (size - pos < nraw * 6u)
        nraw = (unsigned)((size - pos) / 6);
    pos += nraw * 6u;

    uint64_t addr[3];
    if ((flags & 4) && size - pos >= 24) {
        for (unsigned i = 0; i < 3; i++)
            addr[i] = RAM_BASE + le64(data + pos + 8 * i) % (2ull * RAM_SIZE);
        pos += 24;
    } else {
        uint64_t desc = 0, avail = desc + 16ull * num, used = (avail + 6 + 2ull * num + 3) & ~3ull;
        addr[0] = RAM_BASE + desc;
        addr[1] = RAM_BASE + avail;
        addr[2] = RAM_BASE + used;
    }
    size_t n = size - pos < RAM_SIZE ? size - pos : RAM_SIZE;
    memcpy(ram, data + pos, n);
    memset(ram + n, 0, RAM_SIZE - n);

    struct virtio_memory mem = {
        .host = ram, .gpa_base = RAM_BASE, .size = RAM_SIZE, .written = on_written};
    struct virtio_device *d = virtio_create(&ops, NULL, &mem, on_irq, NULL);
    if (!d)
        fail("virtio_create refused a valid device");
    notified = resets = 0;

    /* the handshake */
    wr(d, MMIO_STATUS, 0);
    wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    uint64_t offered;
    wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
    offered = (uint64_t)rd(d, MMIO_DEVICE_FEATURES) << 32;
    wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    offered |= rd(d, MMIO_DEVICE_FEATURES);
    uint64_t want = VIRTIO_F_VERSION_1 | ((flags & 1) ? VIRTIO_F_INDIRECT_DESC : 0) |
                    ((flags & 2) ? VIRTIO_F_EVENT_IDX : 0);
    want &= offered;
    wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
    wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, MMIO_DRIVER_FEATURES, (uint32_t)want);
    wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    setup_queue(d, num, addr);
    if (flags & 8) {
        wr(d, MMIO_QUEUE_NOTIFY, 0);
        if (virtio_queue_pop(d, 0, &chain))
            fail("a chain popped before DRIVER_OK");
    }
    wr(d, MMIO_STATUS, rd(d, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);

    for (unsigned r = 0; r < rounds; r++) {
        wr(d, MMIO_QUEUE_NOTIFY, 0);
        /* at most a queue's worth per round, as a device with num buffers would */
        for (unsigned k = 0; k <= num && virtio_queue_pop(d, 0, &chain); k++) {
            check_chain(&chain);
            if (verbose)
                fprintf(stderr,
                        "fuzz_virtqueue: round %u: head %u, %u out (%zu bytes), %u in (%zu)\n", r,
                        chain.head, chain.nout, chain.out_len, chain.nin, chain.in_len);
            uint8_t buf[64];
            size_t got = virtq_read_out(&chain, 0, buf, sizeof(buf));
            if (got > chain.out_len)
                fail("virtq_read_out read more than the chain holds");
            size_t wrote = virtq_write_in(&chain, chain.in_len / 2, buf, got);
            if (wrote > chain.in_len)
                fail("virtq_write_in wrote more than the chain holds");
            virtio_queue_push(d, 0, &chain, (uint32_t)((uint64_t)chain.in_len * wfrac / 255));
        }
        uint32_t isr = rd(d, MMIO_INTERRUPT_STATUS);
        wr(d, MMIO_INTERRUPT_ACK, isr);
        if (r < nraw)
            wr(d, (uint64_t)(raw[6 * r] | raw[6 * r + 1] << 8) % VIRTIO_MMIO_SIZE & ~3ull,
               (uint32_t)raw[6 * r + 2] | (uint32_t)raw[6 * r + 3] << 8 |
                   (uint32_t)raw[6 * r + 4] << 16 | (uint32_t)raw[6 * r + 5] << 24);
    }
    /* the rest of the raw writes, then one more pop */
    for (unsigned r = rounds; r < nraw; r++)
        wr(d, (uint64_t)(raw[6 * r] | raw[6 * r + 1] << 8) % VIRTIO_MMIO_SIZE & ~3ull,
           (uint32_t)raw[6 * r + 2] | (uint32_t)raw[6 * r + 3] << 8 |
               (uint32_t)raw[6 * r + 4] << 16 | (uint32_t)raw[6 * r + 5] << 24);
    if (virtio_queue_pop(d, 0, &chain)) {
        check_chain(&chain);
        virtio_queue_push(d, 0, &chain, 0);
    }
    if (verbose)
        fprintf(stderr, "fuzz_virtqueue: status 0x%x, %u notifies, %u resets\n", rd(d, MMIO_STATUS),
                notified, resets);
    if (flags & 16) {
        wr(d, MMIO_STATUS, 0);
        if (rd(d, MMIO_STATUS) != 0)
            fail("status not 0 after reset");
        if (virtio_queue_pop(d, 0, &chain))
            fail("a chain popped after reset");
    }
    virtio_destroy(d);
    return 0;
}
