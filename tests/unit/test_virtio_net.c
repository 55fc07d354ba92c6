/*
 * The network device through the real virtio-mmio transport, driven the way
 * Linux's virtio_mmio + virtio_net drive it (small receive buffers, no
 * offloads), and its two backends: libslirp (hostfwd rules; DHCP, ARP and a
 * forwarded connection end to end) and a host TAP interface (skipped with a
 * message where /dev/net/tun cannot be used).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "devices/net_slirp.h"
#include "devices/net_tap.h"
#include "devices/virtio_net.h"
#include "support/virtio_regs.h"

/* --- a test driver: rings in a fake guest RAM, registers through virtio_mmio_* ------- */

#define GPA0     0x80000000ull
#define RAM_LEN  (8u << 20)
#define NQ       64u      /* queue size the driver programs */
#define RING_LEN 0x2000u  /* per queue: desc at +0, avail at +0x800, used at +0x1000 */
#define HEAP     0x10000u /* buffers from GPA0 + HEAP on */
#define RXBUF    (VIRTIO_NET_HDR_LEN + 1514u) /* Linux's small buffer, roughly */

static const uint8_t guest_mac[6] = {0x52, 0x54, 0x00, 0x12, 0x34, 0x56};

struct dq {
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, cursor;
};

struct drv {
    uint8_t *ram;
    struct virtio_memory mem;
    struct virtio_device *dev;
    struct virtio_net *net;
    struct dq q[2];
    uint64_t heap;
    atomic_uint irqs;
};

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static uint8_t *gp(struct drv *d, uint64_t gpa)
{
    assert_true(gpa >= GPA0 && gpa < GPA0 + RAM_LEN);
    return d->ram + (gpa - GPA0);
}

static void st16(struct drv *d, uint64_t gpa, uint16_t v)
{
    memcpy(gp(d, gpa), &v, 2); /* little-endian host, as the transport assumes */
}

static void st32(struct drv *d, uint64_t gpa, uint32_t v)
{
    memcpy(gp(d, gpa), &v, 4);
}

static void st64(struct drv *d, uint64_t gpa, uint64_t v)
{
    memcpy(gp(d, gpa), &v, 8);
}

static uint32_t ld32(struct drv *d, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, gp(d, gpa), 4);
    return v;
}

static uint64_t cfg_rd(struct drv *d, unsigned off, unsigned size)
{
    uint64_t v = 0;
    assert_true(virtio_mmio_read(d->dev, MMIO_CONFIG + off, size, &v));
    return v;
}

static void irq_cb(void *opaque, bool level)
{
    struct drv *d = opaque;
    if (level)
        atomic_fetch_add(&d->irqs, 1);
}

static uint64_t buf_alloc(struct drv *d, uint32_t len, uint8_t fill)
{
    uint64_t gpa = d->heap;
    assert_true(gpa + len <= GPA0 + RAM_LEN);
    memset(gp(d, gpa), fill, len);
    d->heap = (gpa + len + 15) & ~15ull;
    return gpa;
}

/* The status handshake and both queues, as virtio_mmio.c + virtio_net.c in Linux
   do it: VERSION_1 and the three net features, nothing else. */
static void drv_setup(struct drv *d, bool driver_ok)
{
    uint64_t want = VIRTIO_F_VERSION_1 | VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU;
    uint64_t offered;

    assert_int_equal(mmio_rd(d->dev, MMIO_MAGIC), VIRTIO_MMIO_MAGIC);
    assert_int_equal(mmio_rd(d->dev, MMIO_VERSION), 2);
    assert_int_equal(mmio_rd(d->dev, MMIO_DEVICE_ID), VIRTIO_ID_NET);
    mmio_wr(d->dev, MMIO_STATUS, 0);
    mmio_wr(d->dev, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    mmio_wr(d->dev, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_wr(d->dev, MMIO_DEVICE_FEATURES_SEL, 0);
    offered = mmio_rd(d->dev, MMIO_DEVICE_FEATURES);
    mmio_wr(d->dev, MMIO_DEVICE_FEATURES_SEL, 1);
    offered |= (uint64_t)mmio_rd(d->dev, MMIO_DEVICE_FEATURES) << 32;
    assert_int_equal(offered & want, want);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES, (uint32_t)want);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES, (uint32_t)(want >> 32));
    mmio_wr(d->dev, MMIO_STATUS,
            VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    assert_true(mmio_rd(d->dev, MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    for (unsigned i = 0; i < 2; i++) {
        uint64_t base = GPA0 + i * RING_LEN;
        struct dq *q = &d->q[i];

        memset(gp(d, base), 0, RING_LEN);
        *q = (struct dq){.desc = base, .avail = base + 0x800, .used = base + 0x1000};
        mmio_wr(d->dev, MMIO_QUEUE_SEL, i);
        assert_true(mmio_rd(d->dev, MMIO_QUEUE_NUM_MAX) >= NQ);
        mmio_wr(d->dev, MMIO_QUEUE_NUM, NQ);
        mmio_wr(d->dev, MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        mmio_wr(d->dev, MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
        mmio_wr(d->dev, MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
        mmio_wr(d->dev, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail >> 32));
        mmio_wr(d->dev, MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
        mmio_wr(d->dev, MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used >> 32));
        mmio_wr(d->dev, MMIO_QUEUE_READY, 1);
    }
    if (driver_ok)
        mmio_wr(d->dev, MMIO_STATUS, mmio_rd(d->dev, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    d->heap = GPA0 + HEAP;
}

static void drv_open(struct drv *d, const struct net_backend *be, bool driver_ok)
{
    memset(d, 0, sizeof(*d));
    d->ram = calloc(1, RAM_LEN);
    assert_non_null(d->ram);
    d->mem = (struct virtio_memory){.host = d->ram, .gpa_base = GPA0, .size = RAM_LEN};
    d->net = virtio_net_create(guest_mac, be);
    assert_non_null(d->net);
    d->dev = virtio_create(virtio_net_ops(), d->net, &d->mem, irq_cb, d);
    assert_non_null(d->dev);
    virtio_net_bind(d->net, d->dev);
    drv_setup(d, driver_ok);
}

static void drv_close(struct drv *d)
{
    virtio_destroy(d->dev);
    virtio_net_destroy(d->net);
    free(d->ram);
}

/* Publish a chain on queue qi (no kick); its head descriptor. */
static uint16_t drv_add(struct drv *d, unsigned qi, const struct seg *s, unsigned n)
{
    struct dq *q = &d->q[qi];
    uint16_t head = q->cursor;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % NQ);
        uint64_t e = q->desc + 16ull * idx;

        st64(d, e, s[i].gpa);
        st32(d, e + 8, s[i].len);
        st16(d, e + 12,
             (uint16_t)((s[i].write ? DESC_F_WRITE : 0) | (i + 1 < n ? DESC_F_NEXT : 0)));
        st16(d, e + 14, (uint16_t)((idx + 1) % NQ));
    }
    q->cursor = (uint16_t)((head + n) % NQ);
    st16(d, q->avail + 4 + 2ull * (q->avail_idx % NQ), head);
    q->avail_idx++;
    __atomic_store_n((uint16_t *)gp(d, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

static void drv_kick(struct drv *d, unsigned qi)
{
    mmio_wr(d->dev, MMIO_QUEUE_NOTIFY, qi);
}

/* The next used entry of qi, if any. */
static bool drv_used(struct drv *d, unsigned qi, uint16_t *id, uint32_t *len)
{
    struct dq *q = &d->q[qi];
    uint16_t idx = __atomic_load_n((uint16_t *)gp(d, q->used + 2), __ATOMIC_ACQUIRE);
    uint64_t e;

    if (idx == q->used_seen)
        return false;
    e = q->used + 4 + 8ull * (q->used_seen % NQ);
    *id = (uint16_t)ld32(d, e);
    *len = ld32(d, e + 4);
    q->used_seen++;
    return true;
}

/* Like drv_used, waiting up to ms for another thread (slirp, tap) to push. */
static bool drv_wait_used(struct drv *d, unsigned qi, uint16_t *id, uint32_t *len, int ms)
{
    for (int i = 0; i < ms; i++) {
        if (drv_used(d, qi, id, len))
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return drv_used(d, qi, id, len);
}

/* The guest address of the first buffer of the chain starting at head. */
static uint64_t desc_addr(struct drv *d, unsigned qi, uint16_t head)
{
    uint64_t v;
    memcpy(&v, gp(d, d->q[qi].desc + 16ull * head), 8);
    return v;
}

/* Post one receive buffer of len writable bytes; its address. */
static uint64_t post_rx(struct drv *d, uint32_t len)
{
    uint64_t gpa = buf_alloc(d, len, 0xaa);
    drv_add(d, VIRTIO_NET_RXQ, &(struct seg){gpa, len, true}, 1);
    return gpa;
}

/* Transmit a frame behind a header of 0x5a bytes (the device must ignore them). */
static void send_tx(struct drv *d, const uint8_t *frame, uint32_t len)
{
    uint64_t h = buf_alloc(d, VIRTIO_NET_HDR_LEN, 0x5a);
    uint64_t f = buf_alloc(d, len, 0);
    memcpy(gp(d, f), frame, len);
    drv_add(d, VIRTIO_NET_TXQ, (struct seg[]){{h, VIRTIO_NET_HDR_LEN, false}, {f, len, false}}, 2);
    drv_kick(d, VIRTIO_NET_TXQ);
}

static struct virtio_net_stats stats_of(struct drv *d)
{
    struct virtio_net_stats s;
    virtio_net_get_stats(d->net, &s);
    return s;
}

/* --- a fake backend ---------------------------------------------------------------- */

struct sink {
    uint8_t frames[8][2048];
    size_t len[8];
    unsigned n;
    int result;
};

static int sink_send(void *opaque, const uint8_t *frame, size_t len)
{
    struct sink *s = opaque;
    if (s->n < 8 && len <= sizeof(s->frames[0])) {
        memcpy(s->frames[s->n], frame, len);
        s->len[s->n] = len;
    }
    s->n++;
    return s->result;
}

/* A frame of len bytes: to guest_mac, ethertype 0x88b5, then seq as bytes. */
static void make_frame(uint8_t *f, size_t len, uint32_t seq)
{
    memcpy(f, guest_mac, 6);
    memcpy(f + 6, (uint8_t[]){0x02, 0, 0, 0, 0, 1}, 6);
    f[12] = 0x88;
    f[13] = 0xb5;
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(seq + i);
    if (len >= 18)
        memcpy(f + 14, &seq, 4);
}

/* A received buffer holds a zeroed header with num_buffers 1, then the frame. */
static void check_rx(struct drv *d, uint64_t gpa, uint32_t used_len, const uint8_t *frame,
                     size_t len)
{
    static const uint8_t hdr[VIRTIO_NET_HDR_LEN] = {[10] = 1};

    assert_int_equal(used_len, VIRTIO_NET_HDR_LEN + len);
    assert_memory_equal(gp(d, gpa), hdr, VIRTIO_NET_HDR_LEN);
    assert_memory_equal(gp(d, gpa + VIRTIO_NET_HDR_LEN), frame, len);
}

/* --- virtio-net -------------------------------------------------------------------- */

static void test_config(void **state)
{
    struct drv d;
    (void)state;

    drv_open(&d, NULL, true);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(cfg_rd(&d, i, 1), guest_mac[i]);
    assert_int_equal(cfg_rd(&d, 6, 2), VIRTIO_NET_S_LINK_UP);
    assert_int_equal(cfg_rd(&d, 8, 2), 1); /* max_virtqueue_pairs */
    assert_int_equal(cfg_rd(&d, 10, 2), 1500);
    assert_int_equal(cfg_rd(&d, 4, 4), guest_mac[4] | guest_mac[5] << 8 | 1u << 16);
    /* past the config space: refused by the transport */
    uint64_t v;
    assert_false(virtio_mmio_read(d.dev, MMIO_CONFIG + VIRTIO_NET_CONFIG_SIZE, 1, &v));
    /* the MAC is read-only with VERSION_1 */
    assert_true(virtio_mmio_write(d.dev, MMIO_CONFIG, 1, 0xff));
    assert_int_equal(cfg_rd(&d, 0, 1), guest_mac[0]);
    /* no offloads, no control queue, no mergeable buffers are offered */
    mmio_wr(d.dev, MMIO_DEVICE_FEATURES_SEL, 0);
    uint32_t lo = mmio_rd(d.dev, MMIO_DEVICE_FEATURES);
    assert_int_equal(lo & ~(uint32_t)(VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU |
                                      VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX),
                     0);
    drv_close(&d);
}

static void test_transmit(void **state)
{
    struct sink sink = {0};
    struct net_backend be = {sink_send, &sink};
    struct drv d;
    uint8_t frame[100];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, &be, true);
    make_frame(frame, sizeof(frame), 7);

    /* header and frame in separate buffers */
    send_tx(&d, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));
    assert_int_equal(len, 0);
    assert_int_equal(sink.n, 1);
    assert_int_equal(sink.len[0], sizeof(frame));
    assert_memory_equal(sink.frames[0], frame, sizeof(frame));

    /* header and frame in one buffer (Linux's any_header_sg) */
    uint64_t b = buf_alloc(&d, VIRTIO_NET_HDR_LEN + sizeof(frame), 0x33);
    memcpy(gp(&d, b + VIRTIO_NET_HDR_LEN), frame, sizeof(frame));
    drv_add(&d, VIRTIO_NET_TXQ, &(struct seg){b, VIRTIO_NET_HDR_LEN + sizeof(frame), false}, 1);
    /* and split at odd places: 5 + 20 + the rest */
    uint64_t c = buf_alloc(&d, VIRTIO_NET_HDR_LEN + sizeof(frame), 0x44);
    memcpy(gp(&d, c + VIRTIO_NET_HDR_LEN), frame, sizeof(frame));
    drv_add(&d, VIRTIO_NET_TXQ,
            (struct seg[]){{c, 5, false},
                           {c + 5, 20, false},
                           {c + 25, VIRTIO_NET_HDR_LEN + sizeof(frame) - 25, false}},
            3);
    drv_kick(&d, VIRTIO_NET_TXQ);
    assert_int_equal(sink.n, 3);
    for (unsigned i = 1; i < 3; i++) {
        assert_int_equal(sink.len[i], sizeof(frame));
        assert_memory_equal(sink.frames[i], frame, sizeof(frame));
    }
    assert_true(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));
    assert_true(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));
    assert_false(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));

    /* the backend refusing is counted; the chain still comes back */
    sink.result = -1;
    send_tx(&d, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));
    struct virtio_net_stats s = stats_of(&d);
    assert_int_equal(s.tx_frames, 3);
    assert_int_equal(s.tx_bytes, 3 * sizeof(frame));
    assert_int_equal(s.tx_errors, 1);
    assert_true(atomic_load(&d.irqs) > 0);
    drv_close(&d);
}

/* Chains queued before DRIVER_OK go out when the driver gets there. */
static void test_transmit_before_driver_ok(void **state)
{
    struct sink sink = {0};
    struct net_backend be = {sink_send, &sink};
    struct drv d;
    uint8_t frame[60];
    (void)state;

    drv_open(&d, &be, false);
    make_frame(frame, sizeof(frame), 1);
    send_tx(&d, frame, sizeof(frame));
    assert_int_equal(sink.n, 0);
    mmio_wr(d.dev, MMIO_STATUS, mmio_rd(d.dev, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    assert_int_equal(sink.n, 1);
    drv_close(&d);
}

static void test_receive(void **state)
{
    struct drv d;
    uint8_t frame[1514];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, NULL, true);
    uint64_t b0 = post_rx(&d, RXBUF);
    uint64_t b1 = post_rx(&d, RXBUF);
    drv_kick(&d, VIRTIO_NET_RXQ);

    make_frame(frame, 100, 1);
    virtio_net_receive(d.net, frame, 100);
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(desc_addr(&d, VIRTIO_NET_RXQ, id), b0);
    check_rx(&d, b0, len, frame, 100);
    assert_int_equal(*gp(&d, b0 + len), 0xaa); /* nothing written past the frame */

    make_frame(frame, sizeof(frame), 2); /* a full-size frame fits exactly */
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    check_rx(&d, b1, len, frame, sizeof(frame));

    /* header and packet in separate writable buffers */
    uint64_t h = buf_alloc(&d, VIRTIO_NET_HDR_LEN, 0xaa);
    uint64_t p = buf_alloc(&d, 1514, 0xaa);
    drv_add(&d, VIRTIO_NET_RXQ, (struct seg[]){{h, VIRTIO_NET_HDR_LEN, true}, {p, 1514, true}}, 2);
    make_frame(frame, 60, 3);
    virtio_net_receive(d.net, frame, 60);
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(len, VIRTIO_NET_HDR_LEN + 60);
    assert_int_equal(gp(&d, h)[10], 1);
    assert_memory_equal(gp(&d, p), frame, 60);

    /* shorter than an Ethernet header: not a frame, ignored */
    virtio_net_receive(d.net, frame, 10);
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));

    struct virtio_net_stats s = stats_of(&d);
    assert_int_equal(s.rx_frames, 3);
    assert_int_equal(s.rx_bytes, 100 + 1514 + 60);
    drv_close(&d);
}

static void test_receive_backlog(void **state)
{
    struct drv d;
    uint8_t frame[200];
    uint16_t id;
    uint32_t len;
    uint32_t next = 0;
    (void)state;

    drv_open(&d, NULL, true);
    for (uint32_t i = 0; i < VIRTIO_NET_BACKLOG + 5; i++) {
        make_frame(frame, sizeof(frame), i);
        virtio_net_receive(d.net, frame, sizeof(frame));
    }
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(stats_of(&d).rx_dropped_backlog, 5);

    /* Buffers arrive in rounds; the parked frames come out in order. */
    while (next < VIRTIO_NET_BACKLOG) {
        d.heap = GPA0 + HEAP;
        for (unsigned i = 0; i < NQ / 2; i++)
            post_rx(&d, RXBUF);
        drv_kick(&d, VIRTIO_NET_RXQ);
        for (unsigned i = 0; i < NQ / 2; i++) {
            assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
            make_frame(frame, sizeof(frame), next++);
            check_rx(&d, desc_addr(&d, VIRTIO_NET_RXQ, id), len, frame, sizeof(frame));
        }
    }
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));

    /* A new frame with a buffer waiting goes straight in. */
    uint64_t b = post_rx(&d, RXBUF);
    make_frame(frame, sizeof(frame), 999);
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    check_rx(&d, b, len, frame, sizeof(frame));
    assert_int_equal(stats_of(&d).rx_frames, VIRTIO_NET_BACKLOG + 1);
    drv_close(&d);
}

static void test_receive_oversized(void **state)
{
    struct drv d;
    uint8_t frame[300];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, NULL, true);
    uint64_t b = post_rx(&d, VIRTIO_NET_HDR_LEN + 100);
    drv_kick(&d, VIRTIO_NET_RXQ);
    make_frame(frame, 101, 1);
    virtio_net_receive(d.net, frame, 101); /* one byte too many */
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(stats_of(&d).rx_dropped_too_big, 1);
    assert_int_equal(*gp(&d, b), 0xaa); /* untouched */

    /* the buffer is kept for the next frame that fits */
    make_frame(frame, 100, 2);
    virtio_net_receive(d.net, frame, 100);
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    check_rx(&d, b, len, frame, 100);

    /* larger than any frame can be */
    uint8_t *huge = calloc(1, VIRTIO_NET_MAX_FRAME + 1);
    assert_non_null(huge);
    post_rx(&d, RXBUF);
    virtio_net_receive(d.net, huge, VIRTIO_NET_MAX_FRAME + 1);
    free(huge);
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(stats_of(&d).rx_dropped_too_big, 2);
    drv_close(&d);
}

/* Receive chains the device cannot use go back empty; the frame takes the next one. */
static void test_receive_bad_chains(void **state)
{
    struct drv d;
    uint8_t frame[60];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, NULL, true);
    uint64_t r = buf_alloc(&d, RXBUF, 0xaa);
    drv_add(&d, VIRTIO_NET_RXQ, &(struct seg){r, RXBUF, false}, 1); /* device-readable */
    post_rx(&d, VIRTIO_NET_HDR_LEN + 13);                           /* no room for a frame */
    uint64_t good = post_rx(&d, RXBUF);
    make_frame(frame, sizeof(frame), 5);
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(len, 0);
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(len, 0);
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    check_rx(&d, good, len, frame, sizeof(frame));
    assert_int_equal(stats_of(&d).rx_malformed, 2);
    assert_int_equal(mmio_rd(d.dev, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
    drv_close(&d);
}

/* Before DRIVER_OK frames are dropped; a reset empties the backlog. */
static void test_receive_inactive_and_reset(void **state)
{
    struct drv d;
    uint8_t frame[60];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, NULL, false);
    post_rx(&d, RXBUF);
    make_frame(frame, sizeof(frame), 1);
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_int_equal(stats_of(&d).rx_dropped_inactive, 1);
    mmio_wr(d.dev, MMIO_STATUS, mmio_rd(d.dev, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));

    /* two frames parked, then the driver resets and starts over */
    virtio_net_receive(d.net, frame, sizeof(frame));
    virtio_net_receive(d.net, frame, sizeof(frame));
    drv_setup(&d, true);
    post_rx(&d, RXBUF);
    drv_kick(&d, VIRTIO_NET_RXQ);
    assert_false(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    /* and works as before */
    virtio_net_receive(d.net, frame, sizeof(frame));
    assert_true(drv_used(&d, VIRTIO_NET_RXQ, &id, &len));
    assert_int_equal(len, VIRTIO_NET_HDR_LEN + sizeof(frame));
    assert_int_equal(stats_of(&d).rx_frames, 2);
    drv_close(&d);
}

static void test_transmit_malformed(void **state)
{
    struct sink sink = {0};
    struct net_backend be = {sink_send, &sink};
    struct drv d;
    uint8_t frame[60];
    uint16_t id;
    uint32_t len;
    (void)state;

    drv_open(&d, &be, true);
    make_frame(frame, sizeof(frame), 1);
    uint64_t b = buf_alloc(&d, 4096, 0);
    memcpy(gp(&d, b + VIRTIO_NET_HDR_LEN), frame, sizeof(frame));

    /* only a header, a header cut short, a frame shorter than an Ethernet header */
    drv_add(&d, VIRTIO_NET_TXQ, &(struct seg){b, VIRTIO_NET_HDR_LEN, false}, 1);
    drv_add(&d, VIRTIO_NET_TXQ, &(struct seg){b, 8, false}, 1);
    drv_add(&d, VIRTIO_NET_TXQ, &(struct seg){b, VIRTIO_NET_HDR_LEN + 13, false}, 1);
    /* a writable buffer in a transmit chain */
    drv_add(&d, VIRTIO_NET_TXQ,
            (struct seg[]){{b, VIRTIO_NET_HDR_LEN + sizeof(frame), false}, {b + 2048, 64, true}},
            2);
    /* only writable buffers */
    drv_add(&d, VIRTIO_NET_TXQ, &(struct seg){b, 100, true}, 1);
    /* a zero-length buffer between header and frame is harmless */
    drv_add(&d, VIRTIO_NET_TXQ,
            (struct seg[]){{b, VIRTIO_NET_HDR_LEN, false},
                           {b + 3000, 0, false},
                           {b + VIRTIO_NET_HDR_LEN, sizeof(frame), false}},
            3);
    drv_kick(&d, VIRTIO_NET_TXQ);
    for (unsigned i = 0; i < 6; i++) {
        assert_true(drv_used(&d, VIRTIO_NET_TXQ, &id, &len));
        assert_int_equal(len, 0);
    }
    assert_int_equal(sink.n, 1);
    assert_memory_equal(sink.frames[0], frame, sizeof(frame));
    struct virtio_net_stats s = stats_of(&d);
    assert_int_equal(s.tx_malformed, 5);
    assert_int_equal(s.tx_frames, 1);

    /* Chains the transport refuses (a loop, an address outside RAM) break the
       device: NEEDS_RESET, nothing sent, nothing crashes. */
    uint16_t head = d.q[1].cursor;
    drv_add(&d, VIRTIO_NET_TXQ,
            (struct seg[]){{b, VIRTIO_NET_HDR_LEN, false}, {b, sizeof(frame), false}}, 2);
    st16(&d, d.q[1].desc + 16ull * ((head + 1) % NQ) + 12, DESC_F_NEXT);
    st16(&d, d.q[1].desc + 16ull * ((head + 1) % NQ) + 14, head); /* back to the head */
    drv_kick(&d, VIRTIO_NET_TXQ);
    assert_int_equal(sink.n, 1);
    assert_true(mmio_rd(d.dev, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    send_tx(&d, frame, sizeof(frame)); /* ignored until reset */
    assert_int_equal(sink.n, 1);

    drv_setup(&d, true);
    send_tx(&d, frame, sizeof(frame));
    assert_int_equal(sink.n, 2);
    drv_add(&d, VIRTIO_NET_TXQ,
            (struct seg[]){{b, VIRTIO_NET_HDR_LEN, false}, {GPA0 + RAM_LEN - 8, 60, false}}, 2);
    drv_kick(&d, VIRTIO_NET_TXQ);
    assert_int_equal(sink.n, 2);
    assert_true(mmio_rd(d.dev, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    drv_close(&d);
}

/* Frames from a backend thread while the guest posts and reaps buffers: every
   frame is delivered in order or counted as dropped. */
struct feeder {
    struct virtio_net *net;
    uint32_t count;
};

static void *feed(void *arg)
{
    struct feeder *f = arg;
    uint8_t frame[128];

    for (uint32_t i = 0; i < f->count; i++) {
        make_frame(frame, sizeof(frame), i);
        virtio_net_receive(f->net, frame, sizeof(frame));
        if (i % 64 == 0)
            sched_yield();
    }
    return NULL;
}

static void test_receive_concurrent(void **state)
{
    struct drv d;
    struct feeder f;
    pthread_t t;
    uint16_t id;
    uint32_t len, seq, last = 0;
    uint64_t delivered = 0;
    bool first = true;
    (void)state;

    drv_open(&d, NULL, true);
    for (unsigned i = 0; i < NQ; i++)
        post_rx(&d, 256);
    drv_kick(&d, VIRTIO_NET_RXQ);
    f = (struct feeder){d.net, 20000};
    assert_int_equal(pthread_create(&t, NULL, feed, &f), 0);
    for (int spins = 0; spins < 200000; spins++) {
        while (drv_used(&d, VIRTIO_NET_RXQ, &id, &len)) {
            uint64_t b = desc_addr(&d, VIRTIO_NET_RXQ, id);
            assert_int_equal(len, VIRTIO_NET_HDR_LEN + 128);
            memcpy(&seq, gp(&d, b + VIRTIO_NET_HDR_LEN + 14), 4);
            assert_true(first || seq > last);
            first = false;
            last = seq;
            delivered++;
            drv_add(&d, VIRTIO_NET_RXQ, &(struct seg){b, 256, true}, 1);
        }
        drv_kick(&d, VIRTIO_NET_RXQ);
        struct virtio_net_stats s = stats_of(&d);
        if (s.rx_frames + s.rx_dropped_backlog == f.count && delivered == s.rx_frames)
            break;
        if (spins % 16 == 0)
            sched_yield();
    }
    pthread_join(t, NULL);
    struct virtio_net_stats s = stats_of(&d);
    assert_int_equal(s.rx_frames + s.rx_dropped_backlog, f.count);
    assert_int_equal(delivered, s.rx_frames);
    assert_true(delivered > 0);
    drv_close(&d);
}

/* --- slirp: hostfwd rules ---------------------------------------------------------- */

static int parse(const char *rule, struct net_hostfwd *h, char *err, size_t n)
{
    return net_slirp_parse_hostfwd(rule, strlen(rule), h, err, n);
}

static void test_hostfwd_good(void **state)
{
    struct net_hostfwd h;
    char err[256] = "";
    char a[INET_ADDRSTRLEN];
    (void)state;

    assert_int_equal(parse("tcp::8080-:80", &h, err, sizeof(err)), 0);
    assert_false(h.udp);
    assert_string_equal(inet_ntop(AF_INET, &h.host_addr, a, sizeof(a)), "127.0.0.1");
    assert_int_equal(h.host_port, 8080);
    assert_string_equal(inet_ntop(AF_INET, &h.guest_addr, a, sizeof(a)), "10.0.2.15");
    assert_int_equal(h.guest_port, 80);

    assert_int_equal(parse("tcp:0.0.0.0:2222-10.0.2.20:22", &h, err, sizeof(err)), 0);
    assert_string_equal(inet_ntop(AF_INET, &h.host_addr, a, sizeof(a)), "0.0.0.0");
    assert_string_equal(inet_ntop(AF_INET, &h.guest_addr, a, sizeof(a)), "10.0.2.20");
    assert_int_equal(h.host_port, 2222);
    assert_int_equal(h.guest_port, 22);

    assert_int_equal(parse("udp:192.168.1.5:65535-:1", &h, err, sizeof(err)), 0);
    assert_true(h.udp);
    assert_int_equal(h.host_port, 65535);
    assert_int_equal(h.guest_port, 1);

    /* only len bytes count */
    assert_int_equal(net_slirp_parse_hostfwd("tcp::1-:2,junk", 9, &h, err, sizeof(err)), 0);
    assert_int_equal(h.guest_port, 2);
}

static void test_hostfwd_bad(void **state)
{
    static const char *const bad[] = {
        "",
        "tcp",
        "tcp:",
        "sctp::1-:2",
        "TCP::1-:2",
        "tcp::0-:80",
        "tcp::65536-:80",
        "tcp::080-:80",
        "tcp::80x-:80",
        "tcp::-:80",
        "tcp::+80-:80",
        "tcp::8080-:",
        "tcp::8080:80",
        "tcp::8080-80",
        "tcp:8080-:80",
        "tcp::80:81-:80",
        "tcp::80--:80",
        "tcp::80-:80-",
        "tcp::80-:80:",
        "tcp:1.2.3:80-:80",
        "tcp:localhost:80-:80",
        "tcp:1.2.3.4.5:80-:80",
        "tcp: 1.2.3.4:80-:80",
        "tcp::80-192.168.1.1:80",
        "tcp::80-10.0.3.15:80",
        "tcp::80-:99999",
        "tcp::8080-:80 ",
    };
    struct net_hostfwd h;
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        if (parse(bad[i], &h, err, sizeof(err)) != -1)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(err) > 0);
    }
    assert_int_equal(parse("tcp::80x-:80", &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bad host port '80x'"));
    assert_int_equal(parse("tcp::80-10.0.3.15:80", &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "10.0.2.0/24"));
    assert_int_equal(parse("icmp::1-:1", &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "tcp or udp"));
}

static void test_slirp_bad_options(void **state)
{
    static const char *const bad[] = {
        "hostfwd=tcp::8080-:80,",
        ",hostfwd=tcp::8080-:80",
        "hostfwd=",
        "hostfwd=tcp::8080-:80,,hostfwd=tcp::8081-:81",
        "restrict=on",
        "hostfwd=tcp::8080-:80x",
    };
    char err[256];
    (void)state;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err[0] = '\0';
        struct net_slirp *s = net_slirp_create(bad[i], err, sizeof(err));
        if (s)
            fail_msg("'%s' was accepted", bad[i]);
        assert_true(strlen(err) > 0);
    }
    assert_null(net_slirp_create("restrict=on", err, sizeof(err)));
    assert_non_null(strstr(err, "unknown user network option 'restrict=on'"));
}

/* A free TCP port on 127.0.0.1 (free a moment ago, at least). */
static uint16_t free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void test_slirp_port_in_use(void **state)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    char opts[64], err[256] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    (void)state;

    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    snprintf(opts, sizeof(opts), "hostfwd=tcp::%u-:80", ntohs(a.sin_port));
    assert_null(net_slirp_create(opts, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot listen"));
    close(fd);
}

/* --- slirp: end to end through the device ------------------------------------------ */

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get_be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

#define BOOTP_LEN (236u + 312u) /* fixed part + a full-size options area */
#define DHCP_XID  0x12345678u

/* A DHCPDISCOVER from guest_mac, broadcast: its length. */
static size_t build_dhcp_discover(uint8_t *f)
{
    uint8_t *ip = f + 14, *udp = ip + 20, *bp = udp + 8;

    memset(f, 0, 14 + 20 + 8 + BOOTP_LEN);
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put_be16(f + 12, 0x0800);
    ip[0] = 0x45;
    put_be16(ip + 2, 20 + 8 + BOOTP_LEN);
    ip[8] = 64; /* ttl */
    ip[9] = 17; /* udp */
    memset(ip + 16, 0xff, 4);
    put_be16(ip + 10, ip_checksum(ip, 20));
    put_be16(udp, 68);
    put_be16(udp + 2, 67);
    put_be16(udp + 4, 8 + BOOTP_LEN); /* checksum 0: none */
    bp[0] = 1;                        /* BOOTREQUEST */
    bp[1] = 1;                        /* Ethernet */
    bp[2] = 6;
    memcpy(bp + 4, &(uint32_t){htonl(DHCP_XID)}, 4);
    memcpy(bp + 28, guest_mac, 6);
    memcpy(bp + 236, (uint8_t[]){99, 130, 83, 99}, 4); /* magic cookie */
    memcpy(bp + 240, (uint8_t[]){53, 1, 1, 255}, 4);   /* DHCPDISCOVER, end */
    return 14 + 20 + 8 + BOOTP_LEN;
}

/* If f is a DHCP reply to our xid: the message type, *yiaddr set; else 0. */
static int parse_dhcp_reply(const uint8_t *f, size_t len, struct in_addr *yiaddr)
{
    if (len < 14 + 20 || get_be16(f + 12) != 0x0800)
        return 0;
    const uint8_t *ip = f + 14;
    size_t ihl = (ip[0] & 15u) * 4;
    if (ip[9] != 17 || len < 14 + ihl + 8 + 240)
        return 0;
    const uint8_t *udp = ip + ihl, *bp = udp + 8, *end = f + len;
    if (get_be16(udp + 2) != 68 || bp[0] != 2 || memcmp(bp + 4, &(uint32_t){htonl(DHCP_XID)}, 4))
        return 0;
    memcpy(yiaddr, bp + 16, 4);
    for (const uint8_t *o = bp + 240; o + 2 <= end && *o != 255;) {
        if (*o == 0) {
            o++;
            continue;
        }
        if (o[0] == 53 && o[1] >= 1 && o + 3 <= end)
            return o[2];
        o += 2 + o[1];
    }
    return 0;
}

/* The device over the transport, with a slirp backend. */
static struct net_slirp *slirp_open(struct drv *d, const char *options)
{
    char err[256] = "";
    struct net_slirp *s = net_slirp_create(options, err, sizeof(err));

    if (!s)
        fail_msg("net_slirp_create: %s", err);
    struct net_backend be = net_slirp_backend(s);
    drv_open(d, &be, true);
    net_slirp_attach(s, d->net);
    for (unsigned i = 0; i < NQ / 2; i++)
        post_rx(d, RXBUF);
    drv_kick(d, VIRTIO_NET_RXQ);
    return s;
}

/* Wait for a received frame that match() accepts; the others are reposted. */
static bool wait_frame(struct drv *d, bool (*match)(const uint8_t *, size_t, void *), void *arg)
{
    uint16_t id;
    uint32_t len;

    for (int tries = 0; tries < 50; tries++) {
        if (!drv_wait_used(d, VIRTIO_NET_RXQ, &id, &len, 100))
            continue;
        uint64_t b = desc_addr(d, VIRTIO_NET_RXQ, id);
        bool ok = len > VIRTIO_NET_HDR_LEN &&
                  match(gp(d, b + VIRTIO_NET_HDR_LEN), len - VIRTIO_NET_HDR_LEN, arg);
        drv_add(d, VIRTIO_NET_RXQ, &(struct seg){b, RXBUF, true}, 1);
        drv_kick(d, VIRTIO_NET_RXQ);
        if (ok)
            return true;
    }
    return false;
}

static bool is_offer(const uint8_t *f, size_t len, void *arg)
{
    struct in_addr *yiaddr = arg;
    return parse_dhcp_reply(f, len, yiaddr) == 2;
}

static void test_slirp_dhcp(void **state)
{
    struct drv d;
    uint8_t frame[1024];
    struct in_addr yiaddr = {0}, want;
    (void)state;

    struct net_slirp *s = slirp_open(&d, "");
    send_tx(&d, frame, (uint32_t)build_dhcp_discover(frame));
    assert_true(wait_frame(&d, is_offer, &yiaddr));
    inet_pton(AF_INET, "10.0.2.15", &want);
    assert_int_equal(yiaddr.s_addr, want.s_addr);

    struct net_slirp_stats ss;
    net_slirp_get_stats(s, &ss);
    assert_int_equal(ss.tx_queued, 1);
    assert_true(ss.rx_frames >= 1);
    net_slirp_destroy(s);
    drv_close(&d);
}

static bool is_arp_reply_from_gateway(const uint8_t *f, size_t len, void *arg)
{
    (void)arg;
    return len >= 42 && get_be16(f + 12) == 0x0806 && get_be16(f + 20) == 2 &&
           !memcmp(f + 28, (uint8_t[]){10, 0, 2, 2}, 4) && !memcmp(f + 32, guest_mac, 6) &&
           !memcmp(f, guest_mac, 6);
}

static void test_slirp_arp(void **state)
{
    struct drv d;
    uint8_t f[60] = {0};
    (void)state;

    struct net_slirp *s = slirp_open(&d, "");
    memset(f, 0xff, 6);
    memcpy(f + 6, guest_mac, 6);
    put_be16(f + 12, 0x0806);
    put_be16(f + 14, 1);      /* Ethernet */
    put_be16(f + 16, 0x0800); /* IPv4 */
    f[18] = 6;
    f[19] = 4;
    put_be16(f + 20, 1); /* request */
    memcpy(f + 22, guest_mac, 6);
    memcpy(f + 28, (uint8_t[]){10, 0, 2, 15}, 4);
    memcpy(f + 38, (uint8_t[]){10, 0, 2, 2}, 4);
    send_tx(&d, f, sizeof(f));
    assert_true(wait_frame(&d, is_arp_reply_from_gateway, NULL));
    net_slirp_destroy(s);
    drv_close(&d);
}

/* Slirp reaching for the guest: an ARP request for 10.0.2.15, or a SYN to port 80. */
static bool is_towards_guest_port80(const uint8_t *f, size_t len, void *arg)
{
    (void)arg;
    if (len >= 42 && get_be16(f + 12) == 0x0806)
        return get_be16(f + 20) == 1 && !memcmp(f + 38, (uint8_t[]){10, 0, 2, 15}, 4);
    if (len >= 14 + 20 + 20 && get_be16(f + 12) == 0x0800 && f[14 + 9] == 6) {
        size_t ihl = (f[14] & 15u) * 4;
        return get_be16(f + 14 + ihl + 2) == 80;
    }
    return false;
}

static void test_slirp_hostfwd_connect(void **state)
{
    struct drv d;
    char opts[64];
    uint16_t port = free_port();
    (void)state;

    snprintf(opts, sizeof(opts), "hostfwd=tcp::%u-:80,hostfwd=udp::%u-:53", port, port);
    struct net_slirp *s = slirp_open(&d, opts);
    struct sockaddr_in a = {
        .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_true(wait_frame(&d, is_towards_guest_port80, NULL));
    close(fd);
    net_slirp_destroy(s);
    drv_close(&d);
}

/* Many guest frames from several vCPU-like threads at once: nothing is lost
   below the queue bound, and teardown with frames in flight is clean. */
struct blaster {
    struct net_backend be;
    unsigned sent;
};

static void *blast(void *arg)
{
    struct blaster *b = arg;
    uint8_t f[64];

    make_frame(f, sizeof(f), 0);
    memset(f, 0xff, 6);
    put_be16(f + 12, 0x88b5); /* slirp ignores this ethertype */
    for (unsigned i = 0; i < 2000; i++)
        if (b->be.send(b->be.opaque, f, sizeof(f)) == 0)
            b->sent++;
    return NULL;
}

static void test_slirp_threads(void **state)
{
    char err[256];
    struct net_slirp *s = net_slirp_create("", err, sizeof(err));
    struct blaster b[4];
    pthread_t t[4];
    struct net_slirp_stats ss;
    unsigned sent = 0;
    (void)state;

    assert_non_null(s);
    for (unsigned i = 0; i < 4; i++) {
        b[i] = (struct blaster){net_slirp_backend(s), 0};
        assert_int_equal(pthread_create(&t[i], NULL, blast, &b[i]), 0);
    }
    for (unsigned i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        sent += b[i].sent;
    }
    net_slirp_get_stats(s, &ss);
    assert_int_equal(ss.tx_queued, sent);
    assert_int_equal(ss.tx_queued + ss.tx_dropped, 4 * 2000);
    net_slirp_destroy(s);
}

/* --- tap --------------------------------------------------------------------------- */

static void test_tap_bad_names(void **state)
{
    char err[256];
    (void)state;

    assert_null(net_tap_create("", err, sizeof(err)));
    assert_non_null(strstr(err, "not an interface name"));
    assert_null(net_tap_create("a-very-long-interface-name", err, sizeof(err)));
    assert_non_null(strstr(err, "not an interface name"));
    assert_null(net_tap_create("a/b", err, sizeof(err)));
}

static bool is_test_frame(const uint8_t *f, size_t len, void *arg)
{
    const uint8_t *want = arg;
    return len >= 60 && !memcmp(f, want, 60);
}

static void test_tap(void **state)
{
    char err[256] = "";
    struct net_tap *t = net_tap_create("dvtest%d", err, sizeof(err));
    (void)state;

    if (!t) {
        print_message("[  SKIPPED ] tap: %s\n", err);
        skip();
    }
    const char *name = net_tap_name(t);
    assert_null(strchr(name, '%'));

    /* a second open of the same tap is refused with a clear message */
    char err2[256] = "";
    assert_null(net_tap_create(name, err2, sizeof(err2)));
    assert_true(strlen(err2) > 0);

    struct net_backend be = net_tap_backend(t);
    struct drv d;
    drv_open(&d, &be, true);
    net_tap_attach(t, d.net);
    for (unsigned i = 0; i < NQ / 2; i++)
        post_rx(&d, RXBUF);
    drv_kick(&d, VIRTIO_NET_RXQ);

    /* The host side: the link up, and a packet socket on the interface. */
    int ctl = socket(AF_INET, SOCK_DGRAM, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    bool up = ctl >= 0 && ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0 &&
              (ifr.ifr_flags |= IFF_UP, ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0);
    int pk = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
    struct sockaddr_ll ll = {.sll_family = AF_PACKET,
                             .sll_protocol = htons(ETH_P_ALL),
                             .sll_ifindex = (int)if_nametoindex(name)};
    if (!up || pk < 0 || bind(pk, (struct sockaddr *)&ll, sizeof(ll)) != 0) {
        print_message("[  SKIPPED ] tap %s traffic: cannot bring it up or open a packet "
                      "socket on it: %s\n",
                      name, strerror(errno));
    } else {
        uint8_t f[60], got[2048];

        /* guest -> host */
        make_frame(f, sizeof(f), 42);
        memset(f, 0xff, 6);
        memcpy(f + 6, guest_mac, 6);
        send_tx(&d, f, sizeof(f));
        bool seen = false;
        for (int i = 0; i < 50 && !seen; i++) {
            struct pollfd p = {.fd = pk, .events = POLLIN};
            if (poll(&p, 1, 100) <= 0)
                continue;
            ssize_t n = recv(pk, got, sizeof(got), 0);
            seen = n == (ssize_t)sizeof(f) && !memcmp(got, f, sizeof(f));
        }
        assert_true(seen);

        /* host -> guest */
        make_frame(f, sizeof(f), 43);
        assert_int_equal(send(pk, f, sizeof(f), 0), (ssize_t)sizeof(f));
        assert_true(wait_frame(&d, is_test_frame, f));

        struct net_tap_stats ts;
        net_tap_get_stats(t, &ts);
        assert_true(ts.tx_frames >= 1);
        assert_true(ts.rx_frames >= 1);
    }
    if (pk >= 0)
        close(pk);
    if (ctl >= 0)
        close(ctl);
    net_tap_destroy(t);
    drv_close(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_transmit),
        cmocka_unit_test(test_transmit_before_driver_ok),
        cmocka_unit_test(test_transmit_malformed),
        cmocka_unit_test(test_receive),
        cmocka_unit_test(test_receive_backlog),
        cmocka_unit_test(test_receive_oversized),
        cmocka_unit_test(test_receive_bad_chains),
        cmocka_unit_test(test_receive_inactive_and_reset),
        cmocka_unit_test(test_receive_concurrent),
        cmocka_unit_test(test_hostfwd_good),
        cmocka_unit_test(test_hostfwd_bad),
        cmocka_unit_test(test_slirp_bad_options),
        cmocka_unit_test(test_slirp_port_in_use),
        cmocka_unit_test(test_slirp_dhcp),
        cmocka_unit_test(test_slirp_arp),
        cmocka_unit_test(test_slirp_hostfwd_connect),
        cmocka_unit_test(test_slirp_threads),
        cmocka_unit_test(test_tap_bad_names),
        cmocka_unit_test(test_tap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
