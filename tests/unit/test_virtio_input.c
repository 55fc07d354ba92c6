/*
 * The keyboard input device through the real virtio-mmio transport, driven
 * as Linux drives it: the config space queries Linux's probe makes, a
 * Ctrl+Alt+Del delivered event by event into eventq buffers (posted before
 * or after the send, before or after DRIVER_OK), short and hostile buffers,
 * the statusq, the bounded pending ring, resets, and a sender thread racing
 * the driver.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_input.h"

#include "support/virtio_driver.h"

/* --- helpers ------------------------------------------------------------------------- */

struct fixture {
    struct drv d;
    struct virtio_input *in;
};

static struct fixture *fixture_new(const char *name)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    f->in = virtio_input_create(name);
    assert_non_null(f->in);
    drv_create(&f->d, virtio_input_ops(), f->in);
    virtio_input_bind(f->in, f->d.dev);
    return f;
}

static void fixture_free(struct fixture *f)
{
    drv_free(&f->d);
    virtio_input_destroy(f->in);
    free(f);
}

static int setup(void **state)
{
    *state = fixture_new("duvisor keyboard");
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static struct virtio_input_stats stats(struct fixture *f)
{
    struct virtio_input_stats s;

    memset(&s, 0xa5, sizeof(s));
    virtio_input_get_stats(f->in, &s);
    return s;
}

/* [p, p+len) all hold byte b */
static bool all(const uint8_t *p, size_t len, uint8_t b)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != b)
            return false;
    return true;
}

static uint8_t cfg_rd(struct drv *d, unsigned off, unsigned size)
{
    uint64_t v = 0;

    assert_true(virtio_mmio_read(d->dev, MMIO_CONFIG + off, size, &v));
    return (uint8_t)v;
}

static uint64_t cfg_rdn(struct drv *d, unsigned off, unsigned size)
{
    uint64_t v = 0;

    assert_true(virtio_mmio_read(d->dev, MMIO_CONFIG + off, size, &v));
    return v;
}

static void cfg_wr(struct drv *d, unsigned off, unsigned size, uint64_t v)
{
    assert_true(virtio_mmio_write(d->dev, MMIO_CONFIG + off, size, v));
}

/* As Linux's virtinput_cfg_select: write select and subsel, read size. */
static uint8_t cfg_select(struct drv *d, uint8_t select, uint8_t subsel)
{
    cfg_wr(d, VIRTIO_INPUT_CFG_SELECT, 1, select);
    cfg_wr(d, VIRTIO_INPUT_CFG_SUBSEL, 1, subsel);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SELECT, 1), select);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SUBSEL, 1), subsel);
    return cfg_rd(d, VIRTIO_INPUT_CFG_SIZE, 1);
}

/* The 128 bytes of u, byte by byte, and checked against 4-byte reads. */
static void cfg_u(struct drv *d, uint8_t *u)
{
    for (unsigned i = 0; i < VIRTIO_INPUT_CFG_U_SIZE; i++)
        u[i] = cfg_rd(d, VIRTIO_INPUT_CFG_U + i, 1);
    for (unsigned i = 0; i < VIRTIO_INPUT_CFG_U_SIZE; i += 4) {
        uint32_t w = (uint32_t)cfg_rdn(d, VIRTIO_INPUT_CFG_U + i, 4);

        assert_int_equal(w, u[i] | (uint32_t)u[i + 1] << 8 | (uint32_t)u[i + 2] << 16 |
                                (uint32_t)u[i + 3] << 24);
    }
}

struct ev {
    uint16_t type, code;
    uint32_t value;
};

#define KEY(c, v)                                                                                  \
    {                                                                                              \
        VIRTIO_INPUT_EV_KEY, (c), (v)                                                              \
    }
#define SYN                                                                                        \
    {                                                                                              \
        VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0                                            \
    }

static const struct ev cad[12] = {
    KEY(VIRTIO_INPUT_KEY_LEFTCTRL, 1), SYN, KEY(VIRTIO_INPUT_KEY_LEFTALT, 1),  SYN,
    KEY(VIRTIO_INPUT_KEY_DELETE, 1),   SYN, KEY(VIRTIO_INPUT_KEY_DELETE, 0),   SYN,
    KEY(VIRTIO_INPUT_KEY_LEFTALT, 0),  SYN, KEY(VIRTIO_INPUT_KEY_LEFTCTRL, 0), SYN,
};

/* The 8 bytes at p are exactly the little-endian event e. */
static void expect_event_bytes(const uint8_t *p, const struct ev *e)
{
    const uint8_t want[8] = {(uint8_t)e->type,          (uint8_t)(e->type >> 8),
                             (uint8_t)e->code,          (uint8_t)(e->code >> 8),
                             (uint8_t)e->value,         (uint8_t)(e->value >> 8),
                             (uint8_t)(e->value >> 16), (uint8_t)(e->value >> 24)};

    assert_memory_equal(p, want, 8);
}

#define GUARD 0xee

/* n one-descriptor chains of 8 writable bytes (each followed by 8 guard
   bytes) on the eventq, not kicked: their addresses and heads. */
static void post_events(struct drv *d, unsigned n, uint64_t *gpa, uint16_t *head)
{
    for (unsigned i = 0; i < n; i++) {
        struct seg s = {drv_alloc(d, 16, GUARD), 8, true};

        gpa[i] = s.gpa;
        head[i] = drv_add(d, VIRTIO_INPUT_EVENTQ, &s, 1);
    }
}

/* Buffer i of n was used with 8 bytes and holds want[i], its guard intact. */
static void expect_delivered(struct drv *d, unsigned n, const uint64_t *gpa, const uint16_t *head,
                             const struct ev *want)
{
    for (unsigned i = 0; i < n; i++) {
        expect_used(d, VIRTIO_INPUT_EVENTQ, head[i], 8);
        expect_event_bytes(drv_host(d, gpa[i]), &want[i]);
        assert_true(all(drv_host(d, gpa[i] + 8), 8, GUARD));
    }
}

/* --- ops and config ------------------------------------------------------------------ */

static void test_ops_shape(void **state)
{
    const struct virtio_device_ops *ops = virtio_input_ops();

    (void)state;
    assert_int_equal(VIRTIO_ID_INPUT, 18);
    assert_int_equal(ops->device_id, 18);
    assert_int_equal(ops->num_queues, 2);
    assert_int_equal(ops->features, 0);
    assert_int_equal(ops->config_size, 136);
    assert_true(ops->queue_size_max >= QNUM);
    assert_int_equal(ops->queue_size_max & (ops->queue_size_max - 1), 0);
}

static void test_config_ids(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint8_t u[VIRTIO_INPUT_CFG_U_SIZE];

    drv_init(d, VIRTIO_ID_INPUT, true);
    /* fresh: select UNSET, nothing to read */
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SELECT, 1), 0);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SIZE, 1), 0);

    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_NAME, 0), 16);
    cfg_u(d, u);
    assert_memory_equal(u, "duvisor keyboard", 16);
    assert_true(all(u + 16, sizeof(u) - 16, 0));

    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_SERIAL, 0), 9);
    cfg_u(d, u);
    assert_memory_equal(u, "duvisor-0", 9);
    assert_true(all(u + 9, sizeof(u) - 9, 0));

    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_DEVIDS, 0), 8);
    assert_int_equal(cfg_rdn(d, VIRTIO_INPUT_CFG_U + 0, 2), 0x06); /* BUS_VIRTUAL */
    assert_int_equal(cfg_rdn(d, VIRTIO_INPUT_CFG_U + 2, 2), VIRTIO_INPUT_VENDOR);
    assert_int_equal(cfg_rdn(d, VIRTIO_INPUT_CFG_U + 4, 2), VIRTIO_INPUT_PRODUCT);
    assert_int_equal(cfg_rdn(d, VIRTIO_INPUT_CFG_U + 6, 2), VIRTIO_INPUT_VERSION);
    cfg_u(d, u);
    assert_int_equal(u[0], 0x06);
    assert_int_equal(u[1], 0x00);
    assert_true(all(u + 8, sizeof(u) - 8, 0));

    /* the ID selects take subsel 0 only */
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_NAME, 1), 0);
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_DEVIDS, 3), 0);
}

static void test_config_bits(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint8_t u[VIRTIO_INPUT_CFG_U_SIZE];

    drv_init(d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_PROP_BITS, 0), 0);

    /* EV_KEY: keycodes 1..255, so 32 bytes up to the last nonzero one */
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_EV_BITS, VIRTIO_INPUT_EV_KEY), 32);
    cfg_u(d, u);
    assert_true(u[29 / 8] & (1u << (29 % 8)));   /* KEY_LEFTCTRL */
    assert_true(u[56 / 8] & (1u << (56 % 8)));   /* KEY_LEFTALT */
    assert_true(u[111 / 8] & (1u << (111 % 8))); /* KEY_DELETE */
    assert_false(u[0] & 1);                      /* KEY_RESERVED */
    for (unsigned code = 1; code <= 255; code++)
        assert_true(u[code / 8] & (1u << (code % 8)));
    assert_true(all(u + 32, sizeof(u) - 32, 0)); /* no BTN_* */

    /* every other event type: unsupported, size 0, u zero */
    for (unsigned type = 0; type < 256; type++) {
        if (type == VIRTIO_INPUT_EV_KEY)
            continue;
        assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_EV_BITS, (uint8_t)type), 0);
        cfg_u(d, u);
        assert_true(all(u, sizeof(u), 0));
    }

    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ABS_INFO, 0), 0);
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_UNSET, 0), 0);
    /* unknown selects */
    for (unsigned sel = 0; sel < 256; sel++) {
        if (sel == VIRTIO_INPUT_CFG_ID_NAME || sel == VIRTIO_INPUT_CFG_ID_SERIAL ||
            sel == VIRTIO_INPUT_CFG_ID_DEVIDS || sel == VIRTIO_INPUT_CFG_EV_BITS)
            continue;
        assert_int_equal(cfg_select(d, (uint8_t)sel, 0), 0);
        assert_int_equal(cfg_select(d, (uint8_t)sel, VIRTIO_INPUT_EV_KEY), 0);
        cfg_u(d, u);
        assert_true(all(u, sizeof(u), 0));
    }
}

static void test_config_read_only_fields(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint8_t u[VIRTIO_INPUT_CFG_U_SIZE];

    drv_init(d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_NAME, 0), 16);
    /* size, reserved and u ignore writes of every width */
    cfg_wr(d, VIRTIO_INPUT_CFG_SIZE, 1, 0xff);
    cfg_wr(d, VIRTIO_INPUT_CFG_SIZE, 2, 0xffff);
    for (unsigned off = 3; off < 8; off++)
        cfg_wr(d, off, 1, 0x5a);
    cfg_wr(d, 4, 4, 0x5a5a5a5a);
    for (unsigned off = VIRTIO_INPUT_CFG_U; off < VIRTIO_INPUT_CONFIG_SIZE; off += 4)
        cfg_wr(d, off, 4, 0x41414141);
    cfg_wr(d, VIRTIO_INPUT_CONFIG_SIZE - 1, 1, 0x41);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SIZE, 1), 16);
    assert_int_equal(cfg_rdn(d, 4, 4), 0);
    for (unsigned off = 3; off < 8; off++)
        assert_int_equal(cfg_rd(d, off, 1), 0);
    cfg_u(d, u);
    assert_memory_equal(u, "duvisor keyboard", 16);
    assert_true(all(u + 16, sizeof(u) - 16, 0));

    /* a 2-byte write at 0 sets select and subsel together */
    cfg_wr(d, 0, 2, (uint64_t)VIRTIO_INPUT_EV_KEY << 8 | VIRTIO_INPUT_CFG_EV_BITS);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SELECT, 1), VIRTIO_INPUT_CFG_EV_BITS);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SUBSEL, 1), VIRTIO_INPUT_EV_KEY);
    assert_int_equal(cfg_rd(d, VIRTIO_INPUT_CFG_SIZE, 1), 32);
    /* a 4-byte write at 0: select and subsel taken, size and reserved[0] not */
    cfg_wr(d, 0, 4, 0x77ff0003u);
    assert_int_equal(cfg_rdn(d, 0, 4), 0x00080003u); /* DEVIDS, subsel 0, size 8 */
    assert_int_equal(cfg_rdn(d, 0, 2), 0x0003u);

    /* every naturally aligned access inside the space reads what the bytes say */
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_SERIAL, 0), 9);
    for (unsigned size = 1; size <= 4; size *= 2)
        for (unsigned off = 0; off + size <= VIRTIO_INPUT_CONFIG_SIZE; off += size) {
            uint64_t want = 0;

            for (unsigned i = 0; i < size; i++)
                want |= (uint64_t)cfg_rd(d, off + i, 1) << (8 * i);
            assert_int_equal(cfg_rdn(d, off, size), want);
        }
    /* outside the space the transport refuses */
    uint64_t v;
    assert_false(virtio_mmio_read(d->dev, MMIO_CONFIG + VIRTIO_INPUT_CONFIG_SIZE, 4, &v));
}

static void test_config_names(void **state)
{
    char longname[201];
    struct fixture *f;
    uint8_t u[VIRTIO_INPUT_CFG_U_SIZE];

    (void)state;
    memset(longname, 'x', 200);
    longname[200] = '\0';
    f = fixture_new(longname); /* truncated to u's 128 bytes */
    drv_init(&f->d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(&f->d, VIRTIO_INPUT_CFG_ID_NAME, 0), 128);
    cfg_u(&f->d, u);
    assert_true(all(u, sizeof(u), 'x'));
    fixture_free(f);

    f = fixture_new("");
    drv_init(&f->d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(&f->d, VIRTIO_INPUT_CFG_ID_NAME, 0), 0);
    fixture_free(f);

    f = fixture_new(NULL);
    drv_init(&f->d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(&f->d, VIRTIO_INPUT_CFG_ID_NAME, 0),
                     strlen(VIRTIO_INPUT_DEFAULT_NAME));
    cfg_u(&f->d, u);
    assert_memory_equal(u, VIRTIO_INPUT_DEFAULT_NAME, strlen(VIRTIO_INPUT_DEFAULT_NAME));
    fixture_free(f);
}

/* --- events -------------------------------------------------------------------------- */

static void test_ctrl_alt_del_into_posted_buffers(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t gpa[13];
    uint16_t head[13];
    struct virtio_input_stats s;

    drv_init(d, VIRTIO_ID_INPUT, true);
    post_events(d, 13, gpa, head);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ); /* nothing to say yet: buffers kept */
    atomic_store(&d->irq_raises, 0);

    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    expect_delivered(d, 12, gpa, head, cad);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ); /* the 13th stays with the device */
    assert_true(all(drv_host(d, gpa[12]), 16, GUARD));
    assert_true(atomic_load(&d->irq_raises) > 0);
    s = stats(f);
    assert_int_equal(s.events_sent, 12);
    assert_int_equal(s.events_dropped, 0);
    assert_int_equal(s.events_pending, 0);
    assert_int_equal(s.short_buffers, 0);
    assert_int_equal(s.status_events, 0);

    /* a single key into the 13th buffer and one posted after it */
    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0); /* KEY_A */
    expect_used(d, VIRTIO_INPUT_EVENTQ, head[12], 8);
    expect_event_bytes(drv_host(d, gpa[12]), &(struct ev)KEY(30, 1));
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_int_equal(stats(f).events_pending, 1);
    post_events(d, 1, gpa, head);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_delivered(d, 1, gpa, head, &(struct ev)SYN);
    assert_int_equal(stats(f).events_sent, 14);
}

static void test_buffers_posted_after_the_send(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t gpa[QNUM];
    uint16_t head[QNUM];

    drv_init(d, VIRTIO_ID_INPUT, true);
    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_int_equal(stats(f).events_pending, 12);
    assert_int_equal(stats(f).events_sent, 0);

    /* a few buffers: the first events only; no kick, nothing happens */
    post_events(d, 5, gpa, head);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_delivered(d, 5, gpa, head, cad);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_int_equal(stats(f).events_pending, 7);

    /* the rest, with spares that stay available */
    post_events(d, 9, gpa, head);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_delivered(d, 7, gpa, head, cad + 5);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_true(all(drv_host(d, gpa[7]), 16, GUARD));
    assert_true(all(drv_host(d, gpa[8]), 16, GUARD));
    assert_int_equal(stats(f).events_pending, 0);
    assert_int_equal(stats(f).events_sent, 12);

    /* the spares take the next send at once */
    assert_int_equal(virtio_input_send_key(f->in, VIRTIO_INPUT_KEY_DELETE, false), 0);
    expect_delivered(d, 2, gpa + 7, head + 7,
                     (const struct ev[]){KEY(VIRTIO_INPUT_KEY_DELETE, 0), SYN});
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
}

static void test_sent_before_driver_ok(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t gpa[QNUM];
    uint16_t head[QNUM];

    /* before the driver ever touched the device (the guest still booting) */
    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    assert_int_equal(stats(f).events_pending, 12);
    /* the probe resets the device first: the events survive it */
    drv_init(d, VIRTIO_ID_INPUT, false);
    post_events(d, 12, gpa, head);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ); /* no DRIVER_OK yet */
    assert_true(all(drv_host(d, gpa[0]), 16, GUARD));
    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0); /* still not delivered */
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_int_equal(stats(f).events_pending, 14);

    drv_driver_ok(d); /* delivered on activation, without a kick */
    expect_delivered(d, 12, gpa, head, cad);
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    assert_int_equal(stats(f).events_pending, 2);

    post_events(d, 2, gpa, head);
    drv_kick(d, VIRTIO_INPUT_EVENTQ);
    expect_delivered(d, 2, gpa, head, (const struct ev[]){KEY(30, 1), SYN});
}

static void test_short_buffers(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t w4 = drv_alloc(d, 16, GUARD);
    uint64_t r8 = drv_alloc(d, 16, GUARD);
    uint64_t a4 = drv_alloc(d, 16, GUARD), b4 = drv_alloc(d, 16, GUARD);
    uint64_t r8b = drv_alloc(d, 16, GUARD), w8 = drv_alloc(d, 16, GUARD);
    uint64_t w16 = drv_alloc(d, 32, GUARD);
    struct seg c1[] = {{w4, 4, true}};
    struct seg c2[] = {{r8, 8, false}};
    struct seg c3[] = {{a4, 4, true}, {b4, 4, true}};
    struct seg c4[] = {{r8b, 8, false}, {w8, 8, true}};
    struct seg c5[] = {{w16, 16, true}};
    uint16_t h1, h2, h3, h4, h5;
    uint8_t split[8];
    struct virtio_input_stats s;

    drv_init(d, VIRTIO_ID_INPUT, true);
    h1 = drv_add(d, 0, c1, 1);
    h2 = drv_add(d, 0, c2, 1);
    h3 = drv_add(d, 0, c3, 2);
    h4 = drv_add(d, 0, c4, 2);
    h5 = drv_add(d, 0, c5, 1);
    drv_kick(d, 0);
    expect_no_used(d, 0);

    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0);
    /* 4 writable bytes, and none: returned empty and untouched */
    expect_used(d, 0, h1, 0);
    expect_used(d, 0, h2, 0);
    assert_true(all(drv_host(d, w4), 16, GUARD));
    assert_true(all(drv_host(d, r8), 16, GUARD));
    /* the key event, split over two writable buffers */
    expect_used(d, 0, h3, 8);
    memcpy(split, drv_host(d, a4), 4);
    memcpy(split + 4, drv_host(d, b4), 4);
    expect_event_bytes(split, &(struct ev)KEY(30, 1));
    assert_true(all(drv_host(d, a4 + 4), 12, GUARD));
    assert_true(all(drv_host(d, b4 + 4), 12, GUARD));
    /* the SYN, past a readable buffer */
    expect_used(d, 0, h4, 8);
    assert_true(all(drv_host(d, r8b), 16, GUARD));
    expect_event_bytes(drv_host(d, w8), &(struct ev)SYN);
    expect_no_used(d, 0);
    s = stats(f);
    assert_int_equal(s.short_buffers, 2);
    assert_int_equal(s.events_sent, 2);
    assert_int_equal(s.events_pending, 0);

    /* a larger buffer gets one event and says 8 */
    assert_int_equal(virtio_input_send_key(f->in, 30, false), 0);
    expect_used(d, 0, h5, 8);
    expect_event_bytes(drv_host(d, w16), &(struct ev)KEY(30, 0));
    assert_true(all(drv_host(d, w16 + 8), 24, GUARD));
    expect_no_used(d, 0);
    assert_int_equal(stats(f).events_pending, 1);

    /* only short buffers: the event never leaves the ring */
    for (unsigned i = 0; i < 3; i++) {
        uint16_t h = drv_add(d, 0, c1, 1);

        drv_kick(d, 0);
        expect_used(d, 0, h, 0);
    }
    assert_true(all(drv_host(d, w4), 16, GUARD));
    s = stats(f);
    assert_int_equal(s.short_buffers, 5);
    assert_int_equal(s.events_sent, 3);
    assert_int_equal(s.events_pending, 1);
}

static void test_hostile_buffer(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg bad = {RAM_BASE + RAM_SIZE - 4, 64, true}; /* runs off the end of RAM */
    uint64_t gpa[2];
    uint16_t head[2];

    drv_init(d, VIRTIO_ID_INPUT, true);
    drv_add(d, 0, &bad, 1);
    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0);
    expect_no_used(d, 0);
    assert_true(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(stats(f).events_pending, 2);
    assert_int_equal(stats(f).events_sent, 0);
    /* the driver resets; the events went nowhere and are delivered now */
    drv_init(d, VIRTIO_ID_INPUT, true);
    post_events(d, 2, gpa, head);
    drv_kick(d, 0);
    expect_delivered(d, 2, gpa, head, (const struct ev[]){KEY(30, 1), SYN});
}

static void test_statusq(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    /* LED_CAPSL on, as Linux's virtinput_send_status sends it */
    const uint8_t led[8] = {0x11, 0, 0x01, 0, 1, 0, 0, 0};
    uint64_t s0 = drv_alloc(d, 8, 0), s1 = drv_alloc(d, 8, 0), s2 = drv_alloc(d, 8, 0);
    uint64_t w = drv_alloc(d, 8, GUARD);
    struct seg seg0 = {s0, 8, false}, seg1 = {s1, 8, false}, seg2 = {s2, 8, false};
    struct seg segw = {w, 8, true};
    uint16_t h0, h1, h2, hw;
    struct virtio_input_stats s;

    memcpy(drv_host(d, s0), led, 8);
    memcpy(drv_host(d, s1), led, 8);
    memcpy(drv_host(d, s2), led, 8);

    /* made available before DRIVER_OK: taken on activation */
    drv_init(d, VIRTIO_ID_INPUT, false);
    h0 = drv_add(d, VIRTIO_INPUT_STATUSQ, &seg0, 1);
    expect_no_used(d, VIRTIO_INPUT_STATUSQ);
    drv_driver_ok(d);
    expect_used(d, VIRTIO_INPUT_STATUSQ, h0, 0);

    h1 = drv_add(d, VIRTIO_INPUT_STATUSQ, &seg1, 1);
    h2 = drv_add(d, VIRTIO_INPUT_STATUSQ, &seg2, 1);
    hw = drv_add(d, VIRTIO_INPUT_STATUSQ, &segw, 1); /* writable: still nothing written */
    expect_no_used(d, VIRTIO_INPUT_STATUSQ);
    drv_kick(d, VIRTIO_INPUT_STATUSQ);
    expect_used(d, VIRTIO_INPUT_STATUSQ, h1, 0);
    expect_used(d, VIRTIO_INPUT_STATUSQ, h2, 0);
    expect_used(d, VIRTIO_INPUT_STATUSQ, hw, 0);
    expect_no_used(d, VIRTIO_INPUT_STATUSQ);
    assert_memory_equal(drv_host(d, s1), led, 8);
    assert_true(all(drv_host(d, w), 8, GUARD));
    expect_no_used(d, VIRTIO_INPUT_EVENTQ);
    s = stats(f);
    assert_int_equal(s.status_events, 4);
    assert_int_equal(s.events_sent, 0);
    assert_int_equal(s.events_pending, 0);

    /* status traffic leaves pending events alone */
    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0);
    h1 = drv_add(d, VIRTIO_INPUT_STATUSQ, &seg1, 1);
    drv_kick(d, VIRTIO_INPUT_STATUSQ);
    expect_used(d, VIRTIO_INPUT_STATUSQ, h1, 0);
    assert_int_equal(stats(f).events_pending, 2);
    {
        uint64_t gpa[2];
        uint16_t head[2];

        post_events(d, 2, gpa, head);
        h2 = drv_add(d, VIRTIO_INPUT_STATUSQ, &seg2, 1);
        drv_kick(d, VIRTIO_INPUT_EVENTQ);
        drv_kick(d, VIRTIO_INPUT_STATUSQ);
        expect_delivered(d, 2, gpa, head, (const struct ev[]){KEY(30, 1), SYN});
        expect_used(d, VIRTIO_INPUT_STATUSQ, h2, 0);
    }
    assert_int_equal(stats(f).status_events, 6);
}

/* Deliver every pending event through QNUM reused buffers: how many, into out. */
static unsigned drain(struct drv *d, struct ev *out, unsigned max)
{
    uint64_t gpa[QNUM];
    uint16_t head[QNUM];
    unsigned got = 0;
    uint64_t base = d->data_next;

    for (;;) {
        unsigned round = 0;
        uint16_t id;
        uint32_t len;

        d->data_next = base; /* the same buffers each round */
        post_events(d, QNUM, gpa, head);
        drv_kick(d, VIRTIO_INPUT_EVENTQ);
        while (drv_get_used(d, VIRTIO_INPUT_EVENTQ, &id, &len)) {
            const uint8_t *p = drv_host(d, gpa[round]);

            assert_int_equal(id, head[round]);
            assert_int_equal(len, 8);
            assert_true(got < max);
            out[got].type = (uint16_t)(p[0] | p[1] << 8);
            out[got].code = (uint16_t)(p[2] | p[3] << 8);
            out[got].value =
                (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
            got++;
            round++;
        }
        if (round < QNUM) /* nothing left: the unused buffers stay with the device */
            return got;
    }
}

static void test_pending_ring_overflow(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct ev got[VIRTIO_INPUT_PENDING_MAX + 1];
    struct virtio_input_stats s;
    unsigned n;

    drv_init(d, VIRTIO_ID_INPUT, true);
    /* 10 sequences: 120 of 128 */
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    /* the 11th does not fit whole: refused whole */
    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), -1);
    s = stats(f);
    assert_int_equal(s.events_pending, 120);
    assert_int_equal(s.events_dropped, 12);
    /* keys fill the last 8 */
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(virtio_input_send_key(f->in, 40 + i, true), 0);
    assert_int_equal(virtio_input_send_key(f->in, 50, true), -1);
    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), -1);
    /* codes out of range are refused without counting */
    assert_int_equal(virtio_input_send_key(f->in, 0, true), -1);
    assert_int_equal(virtio_input_send_key(f->in, 256, true), -1);
    s = stats(f);
    assert_int_equal(s.events_pending, VIRTIO_INPUT_PENDING_MAX);
    assert_int_equal(s.events_dropped, 12 + 2 + 12);
    assert_int_equal(s.events_sent, 0);

    n = drain(d, got, VIRTIO_INPUT_PENDING_MAX + 1);
    assert_int_equal(n, VIRTIO_INPUT_PENDING_MAX);
    for (unsigned i = 0; i < 120; i++) {
        assert_int_equal(got[i].type, cad[i % 12].type);
        assert_int_equal(got[i].code, cad[i % 12].code);
        assert_int_equal(got[i].value, cad[i % 12].value);
    }
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(got[120 + 2 * i].type, VIRTIO_INPUT_EV_KEY);
        assert_int_equal(got[120 + 2 * i].code, 40 + i);
        assert_int_equal(got[120 + 2 * i].value, 1);
        assert_int_equal(got[121 + 2 * i].type, VIRTIO_INPUT_EV_SYN);
        assert_int_equal(got[121 + 2 * i].code, VIRTIO_INPUT_SYN_REPORT);
        assert_int_equal(got[121 + 2 * i].value, 0);
    }
    s = stats(f);
    assert_int_equal(s.events_pending, 0);
    assert_int_equal(s.events_sent, VIRTIO_INPUT_PENDING_MAX);
    assert_int_equal(s.events_dropped, 26);

    /* room again (the ring wrapped round): reset first, so the buffers drain()
       left behind are forgotten, then fill it again while the device is reset */
    drv_wr(d, MMIO_STATUS, 0);
    for (unsigned i = 0; i < 10; i++)
        assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    assert_int_equal(stats(f).events_pending, 120);
    drv_init(d, VIRTIO_ID_INPUT, true);
    n = drain(d, got, VIRTIO_INPUT_PENDING_MAX + 1);
    assert_int_equal(n, 120);
    for (unsigned i = 0; i < 120; i++) {
        assert_int_equal(got[i].code, cad[i % 12].code);
        assert_int_equal(got[i].value, cad[i % 12].value);
    }
}

static void test_reset(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t gpa[QNUM], stale;
    uint16_t head[QNUM];
    struct seg s;

    drv_init(d, VIRTIO_ID_INPUT, true);
    assert_int_equal(cfg_select(d, VIRTIO_INPUT_CFG_ID_NAME, 0), 16);
    assert_int_equal(virtio_input_send_ctrl_alt_del(f->in), 0);
    post_events(d, 3, gpa, head);
    drv_kick(d, 0);
    expect_delivered(d, 3, gpa, head, cad);

    /* reset with events pending and no buffer left: one more buffer in the
       old ring, made available without a kick */
    assert_int_equal(stats(f).events_pending, 9);
    drv_wr(d, MMIO_STATUS, 0);
    s = (struct seg){drv_alloc(d, 16, GUARD), 8, true};
    stale = s.gpa;
    drv_add(d, 0, &s, 1);
    drv_kick(d, 0);                                              /* ignored: the device is reset */
    assert_int_equal(virtio_input_send_key(f->in, 30, true), 0); /* queued, not delivered */
    assert_true(all(drv_host(d, stale), 16, GUARD));
    assert_int_equal(stats(f).events_pending, 11);
    assert_int_equal(stats(f).events_sent, 3);
    /* select and subsel went back to 0 */
    assert_int_equal(cfg_rdn(d, 0, 4), 0);

    /* the next driver gets the rest, in order, and nothing more */
    drv_init(d, VIRTIO_ID_INPUT, true);
    post_events(d, 13, gpa, head);
    drv_kick(d, 0);
    expect_delivered(d, 9, gpa, head, cad + 3);
    expect_delivered(d, 2, gpa + 9, head + 9, (const struct ev[]){KEY(30, 1), SYN});
    expect_no_used(d, 0);
    assert_true(all(drv_host(d, stale), 16, GUARD));
    assert_int_equal(stats(f).events_pending, 0);
    assert_int_equal(stats(f).events_sent, 14);
}

/* --- threads ------------------------------------------------------------------------- */

#define RACE_KEYS 300u

static void *sender(void *opaque)
{
    struct virtio_input *in = opaque;

    for (unsigned i = 0; i < RACE_KEYS; i++)
        while (virtio_input_send_key(in, 1 + i % 255, i % 2 == 0) != 0)
            sched_yield(); /* the ring is full: the driver is behind */
    return NULL;
}

static void test_sender_thread_races_the_driver(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    uint64_t gpa[QNUM];
    uint16_t head[QNUM];
    unsigned got = 0, posted = 0, next = 0; /* events received, buffers out, oldest buffer */
    pthread_t t;

    drv_init(d, VIRTIO_ID_INPUT, true);
    for (unsigned i = 0; i < QNUM; i++)
        gpa[i] = drv_alloc(d, 8, 0);
    assert_int_equal(pthread_create(&t, NULL, sender, f->in), 0);
    for (unsigned spins = 0; got < 2 * RACE_KEYS; spins++) {
        uint16_t id;
        uint32_t len;

        assert_true(spins < 100000000u);
        while (posted < QNUM) { /* buffers come back in order: reuse them in order */
            unsigned slot = (next + posted) % QNUM;
            struct seg s = {gpa[slot], 8, true};

            head[slot] = drv_add(d, 0, &s, 1);
            posted++;
        }
        drv_kick(d, 0);
        while (drv_get_used(d, 0, &id, &len)) {
            const uint8_t *p = drv_host(d, gpa[next]);
            unsigned key = got / 2;

            assert_int_equal(id, head[next]);
            assert_int_equal(len, 8);
            if (got % 2 == 0)
                expect_event_bytes(p, &(struct ev)KEY((uint16_t)(1 + key % 255), key % 2 == 0));
            else
                expect_event_bytes(p, &(struct ev)SYN);
            got++;
            next = (next + 1) % QNUM;
            posted--;
        }
        sched_yield();
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    expect_no_used(d, 0);
    assert_int_equal(stats(f).events_sent, 2 * RACE_KEYS);
    assert_int_equal(stats(f).events_pending, 0);
}

static void test_unbound_is_harmless(void **state)
{
    struct virtio_input *in = virtio_input_create("k");
    const struct virtio_device_ops *ops = virtio_input_ops();
    struct virtio_input_stats s;
    uint8_t b[4] = {0xff, 0xff, 0xff, 0xff};
    uint8_t sel[2] = {VIRTIO_INPUT_CFG_ID_NAME, 0};

    (void)state;
    assert_non_null(in);
    /* callbacks before bind (the VMM wires the device before the guest runs) */
    ops->activate(in, 0);
    ops->notify(in, 0);
    ops->notify(in, 1);
    ops->notify(in, 7);
    ops->config_write(in, 0, sel, 2);
    ops->config_read(in, 0, b, 4);
    assert_int_equal(b[0], VIRTIO_INPUT_CFG_ID_NAME);
    assert_int_equal(b[2], 1);
    ops->config_read(in, VIRTIO_INPUT_CFG_U, b, 1);
    assert_int_equal(b[0], 'k');
    assert_int_equal(virtio_input_send_ctrl_alt_del(in), 0); /* held: nobody to deliver to */
    ops->reset(in);
    virtio_input_get_stats(in, &s);
    assert_int_equal(s.events_pending, 12);
    assert_int_equal(s.events_sent, 0);
    virtio_input_destroy(in);
    virtio_input_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ops_shape),
        cmocka_unit_test_setup_teardown(test_config_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_read_only_fields, setup, teardown),
        cmocka_unit_test(test_config_names),
        cmocka_unit_test_setup_teardown(test_ctrl_alt_del_into_posted_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_buffers_posted_after_the_send, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sent_before_driver_ok, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_statusq, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pending_ring_overflow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sender_thread_races_the_driver, setup, teardown),
        cmocka_unit_test(test_unbound_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
