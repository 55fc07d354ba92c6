/* The virtio-mmio register protocol (version 2) as Linux's virtio_mmio driver
   uses it, and the accesses it must refuse. Rings are in test_virtqueue.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"

#define RAM_BASE     0x80000000ull
#define RAM_SIZE     0x10000ull
#define DEV_FEATURES ((1ull << 5) | (1ull << 40)) /* one bit in each half */

enum {
    R_MAGIC = 0x000,
    R_VERSION = 0x004,
    R_DEVICE_ID = 0x008,
    R_VENDOR_ID = 0x00c,
    R_DF = 0x010,
    R_DFSEL = 0x014,
    R_GF = 0x020,
    R_GFSEL = 0x024,
    R_QSEL = 0x030,
    R_QNUMMAX = 0x034,
    R_QNUM = 0x038,
    R_QREADY = 0x044,
    R_NOTIFY = 0x050,
    R_ISR = 0x060,
    R_ACK = 0x064,
    R_STATUS = 0x070,
    R_QDESC = 0x080,
    R_SHMSEL = 0x0ac,
    R_SHMLEN = 0x0b0,
    R_GEN = 0x0fc,
    R_CONFIG = 0x100,
};

struct env {
    uint8_t *ram;
    struct virtio_memory mem;
    struct virtio_device *d;
    uint8_t config[12];
    unsigned activates, notifies, resets, config_writes, irq_changes;
    unsigned last_queue;
    uint64_t features;
    bool level;
};

static void dev_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct env *e = opaque;
    assert_true(offset + len <= sizeof(e->config));
    memcpy(buf, e->config + offset, len);
}

static void dev_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    struct env *e = opaque;
    assert_true(offset + len <= sizeof(e->config));
    memcpy(e->config + offset, buf, len);
    e->config_writes++;
}

static void dev_activate(void *opaque, uint64_t features)
{
    struct env *e = opaque;
    e->activates++;
    e->features = features;
}

static void dev_notify(void *opaque, unsigned q)
{
    struct env *e = opaque;
    e->notifies++;
    e->last_queue = q;
}

static void dev_reset(void *opaque)
{
    struct env *e = opaque;
    e->resets++;
}

static void on_irq(void *opaque, bool level)
{
    struct env *e = opaque;
    assert_true(level != e->level);
    e->level = level;
    e->irq_changes++;
}

static const struct virtio_device_ops dev_ops = {
    .device_id = VIRTIO_ID_BLOCK,
    .features = DEV_FEATURES,
    .num_queues = 2,
    .queue_size_max = 64,
    .config_size = 12,
    .config_read = dev_config_read,
    .config_write = dev_config_write,
    .activate = dev_activate,
    .notify = dev_notify,
    .reset = dev_reset,
};

static int env_setup(void **state)
{
    struct env *e = calloc(1, sizeof(*e));

    assert_non_null(e);
    e->ram = aligned_alloc(4096, RAM_SIZE);
    assert_non_null(e->ram);
    memset(e->ram, 0, RAM_SIZE);
    e->mem = (struct virtio_memory){.host = e->ram, .gpa_base = RAM_BASE, .size = RAM_SIZE};
    for (unsigned i = 0; i < sizeof(e->config); i++)
        e->config[i] = (uint8_t)(0x10 + i);
    e->d = virtio_create(&dev_ops, e, &e->mem, on_irq, e);
    assert_non_null(e->d);
    *state = e;
    return 0;
}

static int env_teardown(void **state)
{
    struct env *e = *state;
    virtio_destroy(e->d);
    free(e->ram);
    free(e);
    return 0;
}

static void w32(struct env *e, uint64_t off, uint32_t v)
{
    assert_true(virtio_mmio_write(e->d, off, 4, v));
}

static uint32_t r32(struct env *e, uint64_t off)
{
    uint64_t v = 0xdeadbeefdeadbeefull;
    assert_true(virtio_mmio_read(e->d, off, 4, &v));
    assert_true(v <= UINT32_MAX);
    return (uint32_t)v;
}

static void set_features(struct env *e, uint64_t f)
{
    w32(e, R_GFSEL, 1);
    w32(e, R_GF, (uint32_t)(f >> 32));
    w32(e, R_GFSEL, 0);
    w32(e, R_GF, (uint32_t)f);
}

/* Reset, ACK, DRIVER, features; returns whether FEATURES_OK stuck. */
static bool negotiate(struct env *e, uint64_t f)
{
    w32(e, R_STATUS, 0);
    w32(e, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    w32(e, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    set_features(e, f);
    w32(e, R_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    return r32(e, R_STATUS) & VIRTIO_STATUS_FEATURES_OK;
}

static void setup_queue(struct env *e, unsigned q)
{
    uint64_t base = RAM_BASE + 0x1000 * (q + 1);

    w32(e, R_QSEL, q);
    w32(e, R_QNUM, 64);
    w32(e, R_QDESC, (uint32_t)base);
    w32(e, R_QDESC + 4, (uint32_t)(base >> 32));
    w32(e, R_QDESC + 0x10, (uint32_t)(base + 0x400));
    w32(e, R_QDESC + 0x14, (uint32_t)((base + 0x400) >> 32));
    w32(e, R_QDESC + 0x20, (uint32_t)(base + 0x800));
    w32(e, R_QDESC + 0x24, (uint32_t)((base + 0x800) >> 32));
    w32(e, R_QREADY, 1);
}

static void start(struct env *e, uint64_t f)
{
    assert_true(negotiate(e, f));
    setup_queue(e, 0);
    setup_queue(e, 1);
    w32(e, R_STATUS, 0xf);
    assert_int_equal(r32(e, R_STATUS), 0xf);
}

/* --- identification and features ----------------------------------------------------- */

static void test_identification(void **state)
{
    struct env *e = *state;

    assert_int_equal(r32(e, R_MAGIC), 0x74726976);
    assert_int_equal(r32(e, R_VERSION), 2);
    assert_int_equal(r32(e, R_DEVICE_ID), VIRTIO_ID_BLOCK);
    assert_int_equal(r32(e, R_VENDOR_ID), VIRTIO_MMIO_VENDOR_ID);
    assert_int_equal(r32(e, R_STATUS), 0);
    assert_int_equal(r32(e, R_ISR), 0);
    /* reads of write-only registers return 0 */
    assert_int_equal(r32(e, R_QSEL), 0);
    assert_int_equal(r32(e, R_QNUM), 0);
    assert_int_equal(r32(e, R_NOTIFY), 0);
    assert_int_equal(r32(e, R_ACK), 0);
    assert_int_equal(r32(e, R_GF), 0);
    assert_int_equal(r32(e, R_QDESC), 0);
    /* no shared memory regions: length -1 */
    w32(e, R_SHMSEL, 0);
    assert_int_equal(r32(e, R_SHMLEN), UINT32_MAX);
    assert_int_equal(r32(e, R_SHMLEN + 4), UINT32_MAX);
}

static void test_device_features(void **state)
{
    struct env *e = *state;
    uint64_t want = DEV_FEATURES | VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC;

    w32(e, R_DFSEL, 0);
    assert_int_equal(r32(e, R_DF), (uint32_t)want);
    w32(e, R_DFSEL, 1);
    assert_int_equal(r32(e, R_DF), (uint32_t)(want >> 32));
    w32(e, R_DFSEL, 2);
    assert_int_equal(r32(e, R_DF), 0);
    w32(e, R_DFSEL, UINT32_MAX);
    assert_int_equal(r32(e, R_DF), 0);
}

static void test_features_ok(void **state)
{
    struct env *e = *state;

    /* a feature we never offered */
    assert_false(negotiate(e, VIRTIO_F_VERSION_1 | (1ull << 6)));
    assert_false(negotiate(e, VIRTIO_F_VERSION_1 | (1ull << 63)));
    /* no VERSION_1: a legacy driver */
    assert_false(negotiate(e, DEV_FEATURES));
    assert_false(negotiate(e, 0));
    /* DRIVER_OK without FEATURES_OK does not stick and activates nothing */
    w32(e, R_STATUS, 0xf);
    assert_int_equal(r32(e, R_STATUS) & VIRTIO_STATUS_DRIVER_OK, 0);
    assert_int_equal(e->activates, 0);

    assert_true(negotiate(e, VIRTIO_F_VERSION_1 | (1ull << 40)));
    /* features are fixed once FEATURES_OK is set */
    set_features(e, VIRTIO_F_VERSION_1 | DEV_FEATURES);
    setup_queue(e, 0);
    w32(e, R_STATUS, 0xf);
    assert_int_equal(e->activates, 1);
    assert_true(e->features == (VIRTIO_F_VERSION_1 | (1ull << 40)));
    /* writing DRIVER_OK again does not activate again */
    w32(e, R_STATUS, 0xf);
    assert_int_equal(e->activates, 1);
    /* the driver cannot set NEEDS_RESET itself */
    w32(e, R_STATUS, 0xf | VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(r32(e, R_STATUS), 0xf);
}

static void test_reset(void **state)
{
    struct env *e = *state;

    start(e, VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX);
    virtio_config_changed(e->d);
    assert_true(e->level);
    w32(e, R_DFSEL, 1);
    w32(e, R_QSEL, 1);
    unsigned resets = e->resets;
    w32(e, R_STATUS, 0);
    assert_int_equal(e->resets, resets + 1);
    assert_false(e->level);
    assert_int_equal(r32(e, R_STATUS), 0);
    assert_int_equal(r32(e, R_ISR), 0);
    assert_int_equal(r32(e, R_QREADY), 0); /* QueueSel back to 0, queue 0 off */
    w32(e, R_QSEL, 1);
    assert_int_equal(r32(e, R_QREADY), 0);
    /* DeviceFeaturesSel back to 0 */
    assert_int_equal(r32(e, R_DF),
                     (uint32_t)(DEV_FEATURES | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC));
    /* driver features forgotten: FEATURES_OK alone now fails (no VERSION_1) */
    w32(e, R_STATUS, 3);
    w32(e, R_STATUS, 0xb);
    assert_int_equal(r32(e, R_STATUS), 3);
}

/* --- queues -------------------------------------------------------------------------- */

static void test_queue_registers(void **state)
{
    struct env *e = *state;

    assert_true(negotiate(e, VIRTIO_F_VERSION_1));
    w32(e, R_QSEL, 0);
    assert_int_equal(r32(e, R_QNUMMAX), 64);
    assert_int_equal(r32(e, R_QREADY), 0);
    w32(e, R_QSEL, 2); /* no such queue */
    assert_int_equal(r32(e, R_QNUMMAX), 0);
    w32(e, R_QNUM, 64);
    w32(e, R_QREADY, 1);
    assert_int_equal(r32(e, R_QREADY), 0);
    assert_int_equal(r32(e, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);

    setup_queue(e, 1);
    assert_int_equal(r32(e, R_QREADY), 1);
    /* while ready, address writes are ignored; QueueReady 0 turns it off */
    w32(e, R_QDESC, 0x12345670);
    w32(e, R_QREADY, 0);
    assert_int_equal(r32(e, R_QREADY), 0);
    w32(e, R_QREADY, 1); /* the old, good addresses again */
    assert_int_equal(r32(e, R_QREADY), 1);
    assert_int_equal(r32(e, R_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_notify(void **state)
{
    struct env *e = *state;

    assert_true(negotiate(e, VIRTIO_F_VERSION_1));
    setup_queue(e, 0);
    setup_queue(e, 1);
    w32(e, R_NOTIFY, 0); /* before DRIVER_OK: ignored */
    assert_int_equal(e->notifies, 0);
    w32(e, R_STATUS, 0xf);
    w32(e, R_NOTIFY, 1);
    assert_int_equal(e->notifies, 1);
    assert_int_equal(e->last_queue, 1);
    w32(e, R_NOTIFY, 2); /* no such queue */
    w32(e, R_NOTIFY, 0x10000);
    assert_int_equal(e->notifies, 1);
}

/* --- config space -------------------------------------------------------------------- */

static void test_config_space(void **state)
{
    struct env *e = *state;
    uint64_t v;

    assert_true(virtio_mmio_read(e->d, R_CONFIG + 3, 1, &v));
    assert_int_equal(v, 0x13);
    assert_true(virtio_mmio_read(e->d, R_CONFIG + 2, 2, &v));
    assert_int_equal(v, 0x1312);
    assert_true(virtio_mmio_read(e->d, R_CONFIG + 8, 4, &v));
    assert_int_equal(v, 0x1b1a1918);
    assert_true(virtio_mmio_read(e->d, R_CONFIG + 11, 1, &v));
    /* writes reach the device */
    assert_true(virtio_mmio_write(e->d, R_CONFIG + 4, 2, 0xbeef));
    assert_int_equal(e->config[4], 0xef);
    assert_int_equal(e->config[5], 0xbe);
    assert_true(virtio_mmio_write(e->d, R_CONFIG + 7, 1, 0x1ff)); /* only the byte */
    assert_int_equal(e->config[7], 0xff);
    assert_int_equal(e->config[8], 0x18);
    assert_int_equal(e->config_writes, 2);

    /* refused: misaligned, beyond config_size, 8 bytes, odd sizes */
    assert_false(virtio_mmio_read(e->d, R_CONFIG + 1, 2, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG + 2, 4, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG + 12, 1, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG + 10, 4, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG, 8, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG, 3, &v));
    assert_false(virtio_mmio_read(e->d, R_CONFIG, 0, &v));
    assert_false(virtio_mmio_read(e->d, VIRTIO_MMIO_SIZE - 1, 1, &v));
    assert_false(virtio_mmio_write(e->d, R_CONFIG + 12, 1, 0));
    assert_false(virtio_mmio_write(e->d, R_CONFIG + 1, 4, 0));
    assert_int_equal(e->config_writes, 2);
}

static void test_config_generation(void **state)
{
    struct env *e = *state;
    uint32_t gen = r32(e, R_GEN);

    /* before DRIVER_OK: the generation moves, no interrupt */
    virtio_config_changed(e->d);
    assert_int_not_equal(r32(e, R_GEN), gen);
    assert_int_equal(r32(e, R_ISR), 0);
    assert_false(e->level);

    start(e, VIRTIO_F_VERSION_1);
    gen = r32(e, R_GEN);
    virtio_config_changed(e->d);
    assert_int_not_equal(r32(e, R_GEN), gen);
    assert_int_equal(r32(e, R_ISR), VIRTIO_MMIO_INT_CONFIG);
    assert_true(e->level);
    virtio_config_changed(e->d); /* still high: no second edge */
    assert_int_equal(e->irq_changes, 1);
    w32(e, R_ACK, 0); /* acking nothing changes nothing */
    assert_true(e->level);
    w32(e, R_ACK, VIRTIO_MMIO_INT_CONFIG);
    assert_false(e->level);
    assert_int_equal(e->irq_changes, 2);
}

/* --- hostile accesses ---------------------------------------------------------------- */

static void test_bad_register_access(void **state)
{
    struct env *e = *state;
    uint64_t v;

    /* control registers: 32-bit aligned only */
    assert_false(virtio_mmio_read(e->d, R_MAGIC, 1, &v));
    assert_false(virtio_mmio_read(e->d, R_MAGIC, 2, &v));
    assert_false(virtio_mmio_read(e->d, R_MAGIC, 8, &v));
    assert_false(virtio_mmio_read(e->d, R_MAGIC + 1, 4, &v));
    assert_false(virtio_mmio_read(e->d, R_STATUS + 2, 4, &v));
    assert_false(virtio_mmio_write(e->d, R_STATUS, 1, 0xf));
    assert_false(virtio_mmio_write(e->d, R_STATUS, 8, 0xf));
    assert_false(virtio_mmio_write(e->d, R_QSEL + 2, 4, 1));
    assert_int_equal(r32(e, R_STATUS), 0);
    /* outside the window */
    assert_false(virtio_mmio_read(e->d, VIRTIO_MMIO_SIZE, 4, &v));
    assert_false(virtio_mmio_write(e->d, VIRTIO_MMIO_SIZE, 4, 0));
    assert_false(virtio_mmio_read(e->d, UINT64_MAX - 3, 4, &v));
    /* unknown registers: reads 0, writes ignored */
    assert_int_equal(r32(e, 0x018), 0);
    w32(e, 0x018, 0xffffffff);
    w32(e, R_MAGIC, 0);
    assert_int_equal(r32(e, R_MAGIC), 0x74726976);
    /* status bits above 8 are dropped */
    w32(e, R_STATUS, 0x101);
    assert_int_equal(r32(e, R_STATUS), 1);
    assert_int_equal(e->resets, 0);
}

static void test_create_refuses_bad_ops(void **state)
{
    struct env *e = *state;
    struct virtio_device_ops ops = dev_ops;

    ops.queue_size_max = 48;
    assert_null(virtio_create(&ops, e, &e->mem, on_irq, e));
    ops.queue_size_max = 2048;
    assert_null(virtio_create(&ops, e, &e->mem, on_irq, e));
    ops.queue_size_max = 0;
    assert_null(virtio_create(&ops, e, &e->mem, on_irq, e));
    ops = dev_ops;
    ops.num_queues = 0;
    assert_null(virtio_create(&ops, e, &e->mem, on_irq, e));
    ops = dev_ops;
    ops.config_size = VIRTIO_MMIO_SIZE;
    assert_null(virtio_create(&ops, e, &e->mem, on_irq, e));
    virtio_destroy(NULL);
}

/* A device without optional callbacks or an irq line still works. */
static void test_minimal_device(void **state)
{
    struct env *e = *state;
    struct virtio_device_ops ops = {
        .device_id = VIRTIO_ID_RNG, .num_queues = 1, .queue_size_max = 8};
    struct virtio_device *d = virtio_create(&ops, NULL, &e->mem, NULL, NULL);
    uint64_t v;

    assert_non_null(d);
    assert_true(virtio_mmio_write(d, R_STATUS, 4, 3));
    assert_true(virtio_mmio_write(d, R_GFSEL, 4, 1));
    assert_true(virtio_mmio_write(d, R_GF, 4, 1));
    assert_true(virtio_mmio_write(d, R_STATUS, 4, 0xb));
    assert_true(virtio_mmio_write(d, R_STATUS, 4, 0xf));
    assert_true(virtio_mmio_read(d, R_STATUS, 4, &v));
    assert_int_equal(v, 0xf);
    assert_true(virtio_mmio_write(d, R_NOTIFY, 4, 0));
    virtio_config_changed(d);
    assert_true(virtio_mmio_read(d, R_ISR, 4, &v));
    assert_int_equal(v, VIRTIO_MMIO_INT_CONFIG);
    assert_false(virtio_mmio_read(d, R_CONFIG, 1, &v)); /* no config space */
    assert_true(virtio_mmio_write(d, R_STATUS, 4, 0));
    virtio_destroy(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_identification, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_device_features, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_features_ok, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_reset, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_queue_registers, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_notify, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_config_space, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_config_generation, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bad_register_access, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_create_refuses_bad_ops, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_minimal_device, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
