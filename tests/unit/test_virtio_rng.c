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

#include "support/virtio_driver.h"

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
    assert_true(all(drv_host(d, rdbuf), 16, 0xaa));
    assert_true(all(drv_host(d, w1 + 100), 16, 0x00));
    assert_true(all(drv_host(d, w2 + 50), 16, 0x00));
    /* 100 (50) random bytes all zero: probability 2^-800 (2^-400) */
    assert_false(all(drv_host(d, w1), 100, 0x00));
    assert_false(all(drv_host(d, w2), 50, 0x00));
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
    assert_true(all(drv_host(d, a), 32, 0x11));
    assert_true(all(drv_host(d, b), 8, 0x22));
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
    assert_false(all(drv_host(d, b + in_b - 64), 64, 0x00));
    assert_true(all(drv_host(d, b + in_b), second - in_b, 0x00));
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
    memset(drv_host(d, s.gpa), 0, 32);
    drv_wr(d, MMIO_STATUS, 0);
    drv_kick(d, 0); /* ignored: the device is reset */
    assert_true(all(drv_host(d, s.gpa), 32, 0));
    drv_init(d, VIRTIO_ID_RNG, true);
    head = drv_add(d, 0, &s, 1);
    drv_kick(d, 0);
    expect_used(d, 0, head, 32);
    assert_false(all(drv_host(d, s.gpa), 32, 0));
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
    assert_true(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
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
