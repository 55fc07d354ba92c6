/*
 * The entropy device through the real virtio-mmio transport, driven as
 * Linux drives it: writable buffers are filled and their length reported,
 * readable ones are left alone, one request is capped, and requests made
 * before DRIVER_OK or after a reset are served.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_rng.h"

/* --- a minimal virtio-mmio driver, as Linux's virtio_mmio + virtio_ring drive it ----- */

enum {
    MMIO_MAGIC = 0x000,
    MMIO_VERSION = 0x004,
    MMIO_DEVICE_ID = 0x008,
    MMIO_DEVICE_FEATURES = 0x010,
    MMIO_DEVICE_FEATURES_SEL = 0x014,
    MMIO_DRIVER_FEATURES = 0x020,
    MMIO_DRIVER_FEATURES_SEL = 0x024,
    MMIO_QUEUE_SEL = 0x030,
    MMIO_QUEUE_NUM_MAX = 0x034,
    MMIO_QUEUE_NUM = 0x038,
    MMIO_QUEUE_READY = 0x044,
    MMIO_QUEUE_NOTIFY = 0x050,
    MMIO_INTERRUPT_STATUS = 0x060,
    MMIO_INTERRUPT_ACK = 0x064,
    MMIO_STATUS = 0x070,
    MMIO_QUEUE_DESC_LOW = 0x080,
    MMIO_QUEUE_DESC_HIGH = 0x084,
    MMIO_QUEUE_AVAIL_LOW = 0x090,
    MMIO_QUEUE_AVAIL_HIGH = 0x094,
    MMIO_QUEUE_USED_LOW = 0x0a0,
    MMIO_QUEUE_USED_HIGH = 0x0a4,
    MMIO_CONFIG = 0x100,
};

#define DESC_F_NEXT  1u
#define DESC_F_WRITE 2u

#define RAM_BASE  0x80000000ull
#define RAM_SIZE  (1u << 20)
#define QNUM      16u                  /* entries the driver uses per queue */
#define QAREA     0x4000u              /* per queue: desc +0, avail +0x1000, used +0x2000 */
#define DATA_BASE (RAM_BASE + 0x10000) /* buffers from here on */

struct drv_queue {
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct drv {
    uint8_t *ram;
    struct virtio_memory mem;
    struct virtio_device *dev;
    struct drv_queue q[2];
    unsigned nq;
    uint64_t data_next;
    atomic_uint irq_raises;
};

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

static uint8_t *host(struct drv *d, uint64_t gpa)
{
    assert_true(gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE);
    return d->ram + (gpa - RAM_BASE);
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
    uint8_t *p = host(d, gpa);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(struct drv *d, uint64_t gpa, uint32_t v)
{
    put16(d, gpa, (uint16_t)v);
    put16(d, gpa + 2, (uint16_t)(v >> 16));
}

static void put64(struct drv *d, uint64_t gpa, uint64_t v)
{
    put32(d, gpa, (uint32_t)v);
    put32(d, gpa + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(struct drv *d, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, host(d, gpa), 2); /* the host is little endian, as the tests' hosts are */
    return v;
}

static uint32_t get32(struct drv *d, uint64_t gpa)
{
    return get16(d, gpa) | (uint32_t)get16(d, gpa + 2) << 16;
}

static uint32_t rd(struct drv *d, uint64_t off)
{
    uint64_t v = 0;
    assert_true(virtio_mmio_read(d->dev, off, 4, &v));
    return (uint32_t)v;
}

static void wr(struct drv *d, uint64_t off, uint32_t v)
{
    assert_true(virtio_mmio_write(d->dev, off, 4, v));
}

static void on_irq(void *opaque, bool level)
{
    struct drv *d = opaque;
    if (level)
        atomic_fetch_add(&d->irq_raises, 1);
}

/* A buffer of len bytes in guest RAM, filled with fill. */
static uint64_t drv_alloc(struct drv *d, uint32_t len, uint8_t fill)
{
    uint64_t gpa = d->data_next;
    assert_true(gpa + len <= RAM_BASE + RAM_SIZE);
    memset(host(d, gpa), fill, len);
    d->data_next = (gpa + len + 15) & ~15ull;
    return gpa;
}

static void drv_create(struct drv *d, const struct virtio_device_ops *ops, void *opaque)
{
    memset(d, 0, sizeof(*d));
    d->ram = calloc(1, RAM_SIZE);
    assert_non_null(d->ram);
    d->mem = (struct virtio_memory){.host = d->ram, .gpa_base = RAM_BASE, .size = RAM_SIZE};
    d->dev = virtio_create(ops, opaque, &d->mem, on_irq, d);
    assert_non_null(d->dev);
    d->nq = ops->num_queues;
    d->data_next = DATA_BASE;
}

static void drv_free(struct drv *d)
{
    virtio_destroy(d->dev);
    free(d->ram);
}

/* Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 only), FEATURES_OK, fresh zeroed
   rings for every queue, and DRIVER_OK unless driver_ok is false. */
static void drv_init(struct drv *d, uint32_t device_id, bool driver_ok)
{
    uint64_t features;

    assert_int_equal(rd(d, MMIO_MAGIC), 0x74726976);
    assert_int_equal(rd(d, MMIO_VERSION), 2);
    assert_int_equal(rd(d, MMIO_DEVICE_ID), device_id);
    wr(d, MMIO_STATUS, 0);
    assert_int_equal(rd(d, MMIO_STATUS), 0);
    wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
    features = (uint64_t)rd(d, MMIO_DEVICE_FEATURES) << 32;
    wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    features |= rd(d, MMIO_DEVICE_FEATURES);
    assert_true(features & VIRTIO_F_VERSION_1);
    wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
    wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(VIRTIO_F_VERSION_1 >> 32));
    wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
    wr(d, MMIO_DRIVER_FEATURES, 0);
    wr(d, MMIO_STATUS,
       VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    assert_true(rd(d, MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);

    for (unsigned i = 0; i < d->nq; i++) {
        struct drv_queue *q = &d->q[i];
        uint64_t base = RAM_BASE + i * QAREA;

        memset(host(d, base), 0, QAREA);
        *q = (struct drv_queue){.desc = base, .avail = base + 0x1000, .used = base + 0x2000};
        wr(d, MMIO_QUEUE_SEL, i);
        assert_int_equal(rd(d, MMIO_QUEUE_READY), 0);
        assert_true(rd(d, MMIO_QUEUE_NUM_MAX) >= QNUM);
        wr(d, MMIO_QUEUE_NUM, QNUM);
        wr(d, MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        wr(d, MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
        wr(d, MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
        wr(d, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail >> 32));
        wr(d, MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
        wr(d, MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used >> 32));
        wr(d, MMIO_QUEUE_READY, 1);
        assert_int_equal(rd(d, MMIO_QUEUE_READY), 1);
    }
    if (driver_ok)
        wr(d, MMIO_STATUS, rd(d, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

static void drv_driver_ok(struct drv *d)
{
    wr(d, MMIO_STATUS, rd(d, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/* Make a chain of n segments available on queue qi (no kick): its head. */
static uint16_t drv_add(struct drv *d, unsigned qi, const struct seg *segs, unsigned n)
{
    struct drv_queue *q = &d->q[qi];
    uint16_t head = q->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % QNUM);
        uint64_t e = q->desc + 16ull * idx;
        uint16_t flags = segs[i].write ? DESC_F_WRITE : 0;

        if (i + 1 < n)
            flags |= DESC_F_NEXT;
        put64(d, e, segs[i].gpa);
        put32(d, e + 8, segs[i].len);
        put16(d, e + 12, flags);
        put16(d, e + 14, (uint16_t)((idx + 1) % QNUM));
    }
    q->next_desc = (uint16_t)((head + n) % QNUM);
    put16(d, q->avail + 4 + 2 * (q->avail_idx % QNUM), head);
    q->avail_idx++;
    /* the ring is shared with the device, which may be popping on another thread */
    __atomic_store_n((uint16_t *)host(d, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

static void drv_kick(struct drv *d, unsigned qi)
{
    wr(d, MMIO_QUEUE_NOTIFY, qi);
}

static uint16_t drv_used_idx(struct drv *d, unsigned qi)
{
    uint16_t idx = __atomic_load_n((uint16_t *)host(d, d->q[qi].used + 2), __ATOMIC_ACQUIRE);
    return idx;
}

/* The next used entry of queue qi, if there is one. */
static bool drv_get_used(struct drv *d, unsigned qi, uint16_t *id, uint32_t *len)
{
    struct drv_queue *q = &d->q[qi];
    uint64_t e;

    if (drv_used_idx(d, qi) == q->used_seen)
        return false;
    e = q->used + 4 + 8ull * (q->used_seen % QNUM);
    *id = (uint16_t)get32(d, e);
    *len = get32(d, e + 4);
    q->used_seen++;
    return true;
}

/* Exactly one used entry on qi, for head, of length len. */
static void expect_used(struct drv *d, unsigned qi, uint16_t head, uint32_t len)
{
    uint16_t id;
    uint32_t l;

    assert_true(drv_get_used(d, qi, &id, &l));
    assert_int_equal(id, head);
    assert_int_equal(l, len);
}

static void expect_no_used(struct drv *d, unsigned qi)
{
    assert_int_equal(drv_used_idx(d, qi), d->q[qi].used_seen);
}

/* --- the tests ----------------------------------------------------------------------- */

struct fixture {
    struct drv d;
    struct virtio_rng *r;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    f->r = virtio_rng_create();
    if (!f->r)
        return -1;
    drv_create(&f->d, virtio_rng_ops(), f->r);
    virtio_rng_bind(f->r, f->d.dev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    drv_free(&f->d);
    virtio_rng_destroy(f->r);
    free(f);
    return 0;
}

/* [p, p+len) all hold byte b */
static bool all(const uint8_t *p, size_t len, uint8_t b)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != b)
            return false;
    return true;
}

static void test_ops_shape(void **state)
{
    const struct virtio_device_ops *ops = virtio_rng_ops();

    (void)state;
    assert_int_equal(ops->device_id, VIRTIO_ID_RNG);
    assert_int_equal(ops->num_queues, 1);
    assert_int_equal(ops->features, 0);
    assert_int_equal(ops->config_size, 0);
    assert_true(ops->queue_size_max >= QNUM);
    assert_int_equal(ops->queue_size_max & (ops->queue_size_max - 1), 0);
}

static void test_fills_exactly_the_writable_bytes(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    /* readable 16 | writable 100 | guard 16 | writable 50 | guard 16 */
    uint64_t rdbuf = drv_alloc(d, 16, 0xaa);
    uint64_t w1 = drv_alloc(d, 100 + 16, 0x00);
    uint64_t w2 = drv_alloc(d, 50 + 16, 0x00);
    struct seg segs[] = {{rdbuf, 16, false}, {w1, 100, true}, {w2, 50, true}};
    uint16_t head;

    drv_init(d, VIRTIO_ID_RNG, true);
    head = drv_add(d, 0, segs, 3);
    drv_kick(d, 0);
    expect_used(d, 0, head, 150);
    expect_no_used(d, 0);
    assert_true(atomic_load(&d->irq_raises) > 0);
    assert_true(all(host(d, rdbuf), 16, 0xaa));
    assert_true(all(host(d, w1 + 100), 16, 0x00));
    assert_true(all(host(d, w2 + 50), 16, 0x00));
    /* 100 (50) random bytes all zero: probability 2^-800 (2^-400) */
    assert_false(all(host(d, w1), 100, 0x00));
    assert_false(all(host(d, w2), 50, 0x00));
}

static void test_readable_only_gets_zero(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t a = drv_alloc(d, 32, 0x11), b = drv_alloc(d, 8, 0x22);
    struct seg segs[] = {{a, 32, false}, {b, 8, false}};
    uint16_t head;

    drv_init(d, VIRTIO_ID_RNG, true);
    head = drv_add(d, 0, segs, 2);
    drv_kick(d, 0);
    expect_used(d, 0, head, 0);
    assert_true(all(host(d, a), 32, 0x11));
    assert_true(all(host(d, b), 8, 0x22));
}

static void test_request_is_capped(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    const uint32_t first = 40 * 1024, second = 60 * 1024; /* 100 KiB asked */
    uint64_t a = drv_alloc(d, first, 0x00), b = drv_alloc(d, second, 0x00);
    struct seg segs[] = {{a, first, true}, {b, second, true}};
    uint32_t in_b = VIRTIO_RNG_MAX_REQUEST - first;
    uint16_t head;

    drv_init(d, VIRTIO_ID_RNG, true);
    head = drv_add(d, 0, segs, 2);
    drv_kick(d, 0);
    expect_used(d, 0, head, VIRTIO_RNG_MAX_REQUEST);
    assert_false(all(host(d, b + in_b - 64), 64, 0x00));
    assert_true(all(host(d, b + in_b), second - in_b, 0x00));
}

static void test_several_chains_in_order(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint16_t heads[4];
    uint32_t lens[4] = {1, 64, 0, 4096};

    drv_init(d, VIRTIO_ID_RNG, true);
    for (unsigned i = 0; i < 4; i++) {
        struct seg s = {drv_alloc(d, lens[i] ? lens[i] : 8, 0), lens[i] ? lens[i] : 8, lens[i] > 0};
        heads[i] = drv_add(d, 0, &s, 1);
    }
    drv_kick(d, 0);
    for (unsigned i = 0; i < 4; i++)
        expect_used(d, 0, heads[i], lens[i]);
    expect_no_used(d, 0);
    /* and again, once the first ones are used: the ring wraps past QNUM */
    for (unsigned round = 0; round < 3 * QNUM; round++) {
        struct seg s = {drv_alloc(d, 4, 0), 4, true};
        uint16_t h = drv_add(d, 0, &s, 1);

        drv_kick(d, 0);
        expect_used(d, 0, h, 4);
        d->data_next = DATA_BASE + 0x10000; /* reuse the same few buffers */
    }
}

static void test_before_driver_ok_and_after_reset(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg s = {drv_alloc(d, 32, 0), 32, true};
    uint16_t head;

    /* made available before DRIVER_OK (and never kicked): served on DRIVER_OK */
    drv_init(d, VIRTIO_ID_RNG, false);
    head = drv_add(d, 0, &s, 1);
    expect_no_used(d, 0);
    drv_driver_ok(d);
    expect_used(d, 0, head, 32);

    /* reset: a chain left in the old ring is not touched, a fresh ring works */
    head = drv_add(d, 0, &s, 1);
    memset(host(d, s.gpa), 0, 32);
    wr(d, MMIO_STATUS, 0);
    drv_kick(d, 0); /* ignored: the device is reset */
    assert_true(all(host(d, s.gpa), 32, 0));
    drv_init(d, VIRTIO_ID_RNG, true);
    head = drv_add(d, 0, &s, 1);
    drv_kick(d, 0);
    expect_used(d, 0, head, 32);
    assert_false(all(host(d, s.gpa), 32, 0));
}

static void test_hostile_buffer_refused(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg bad[] = {{RAM_BASE + RAM_SIZE - 8, 64, true}}; /* runs off the end of RAM */

    drv_init(d, VIRTIO_ID_RNG, true);
    drv_add(d, 0, bad, 1);
    drv_kick(d, 0);
    expect_no_used(d, 0);
    assert_true(rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    /* and the device recovers through a reset */
    drv_init(d, VIRTIO_ID_RNG, true);
    struct seg good = {drv_alloc(d, 16, 0), 16, true};
    uint16_t head = drv_add(d, 0, &good, 1);
    drv_kick(d, 0);
    expect_used(d, 0, head, 16);
}

static void test_unbound_is_harmless(void **state)
{
    struct virtio_rng *r = virtio_rng_create();

    (void)state;
    assert_non_null(r);
    /* callbacks before bind (the VMM wires the device before the guest runs) */
    virtio_rng_ops()->activate(r, 0);
    virtio_rng_ops()->notify(r, 0);
    virtio_rng_ops()->reset(r);
    virtio_rng_destroy(r);
    virtio_rng_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_shape),
        cmocka_unit_test_setup_teardown(test_fills_exactly_the_writable_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readable_only_gets_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_is_capped, setup, teardown),
        cmocka_unit_test_setup_teardown(test_several_chains_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_before_driver_ok_and_after_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_buffer_refused, setup, teardown),
        cmocka_unit_test(test_unbound_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
