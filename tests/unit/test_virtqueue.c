/* Split virtqueues through the virtio-mmio transport: a fake guest RAM, a
   small driver doing what Linux's virtio_mmio and virtio_ring do, a fake
   device counting its callbacks, and hostile rings that must only ever end
   in NEEDS_RESET. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio.h"
#include "devices/virtqueue.h"
#include "support/virtio_regs.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE 0x100000ull
#define QMAX     16u
#define QSIZE    8u

/* Where the driver places queue 0 and its buffers (offsets into RAM). */
#define DESC_OFF  0x1000u
#define AVAIL_OFF 0x2000u
#define USED_OFF  0x3000u
#define IND_OFF   0x4000u /* indirect tables */
#define DATA_OFF  0x10000u

struct env {
    uint8_t *ram;
    struct virtio_memory mem;
    struct virtio_device *d;
    unsigned num_queues;
    uint16_t qsize_max;
    /* fake device */
    unsigned activates, notifies, resets;
    uint64_t features;
    /* irq line */
    unsigned irq_changes;
    bool level;
    /* driver */
    uint16_t avail_idx;
    struct virtq_chain chain;
    /* device writes the transport reported through mem.written */
    unsigned nwritten;
    struct {
        const uint8_t *host;
        size_t len;
    } written[8];
};

static void dev_activate(void *opaque, uint64_t features)
{
    struct env *e = opaque;
    e->activates++;
    e->features = features;
}

static void dev_notify(void *opaque, unsigned q)
{
    struct env *e = opaque;
    (void)q;
    e->notifies++;
}

static void dev_reset(void *opaque)
{
    struct env *e = opaque;
    e->resets++;
}

static void on_irq(void *opaque, bool level)
{
    struct env *e = opaque;
    assert_true(level != e->level); /* only changes are reported */
    e->level = level;
    e->irq_changes++;
}

/* mem.written: the hart's hook for dropping translated code. */
static void on_written(void *opaque, const void *host, size_t len)
{
    struct env *e = opaque;
    const uint8_t *p = host;

    assert_true(len > 0);
    assert_true(p >= e->ram && len <= RAM_SIZE && p - e->ram <= (ptrdiff_t)(RAM_SIZE - len));
    assert_true(e->nwritten < sizeof(e->written) / sizeof(e->written[0]));
    e->written[e->nwritten].host = p;
    e->written[e->nwritten].len = len;
    e->nwritten++;
}

/* --- the driver ---------------------------------------------------------------------- */

static uint8_t *at(struct env *e, uint64_t off)
{
    return e->ram + off;
}

static void put16(struct env *e, uint64_t off, uint16_t v)
{
    memcpy(at(e, off), &v, 2);
}

static uint16_t get16(struct env *e, uint64_t off)
{
    uint16_t v;
    memcpy(&v, at(e, off), 2);
    return v;
}

static uint32_t get32(struct env *e, uint64_t off)
{
    uint32_t v;
    memcpy(&v, at(e, off), 4);
    return v;
}

/* Descriptor i of the table at table_off. */
static void desc(struct env *e, uint64_t table_off, unsigned i, uint64_t gpa, uint32_t len,
                 uint16_t flags, uint16_t next)
{
    uint8_t *p = at(e, table_off + 16u * i);
    memcpy(p, &gpa, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

static uint64_t gpa(uint64_t off)
{
    return RAM_BASE + off;
}

/* Make head available and kick, as virtqueue_add + virtqueue_kick do. */
static void avail_add(struct env *e, uint16_t head)
{
    put16(e, AVAIL_OFF + 4 + 2u * (e->avail_idx % QSIZE), head);
    e->avail_idx++;
    put16(e, AVAIL_OFF + 2, e->avail_idx);
    mmio_wr(e->d, MMIO_QUEUE_NOTIFY, 0);
}

static void setup_queue(struct env *e, unsigned q, uint32_t num, uint64_t d, uint64_t a, uint64_t u)
{
    mmio_wr(e->d, MMIO_QUEUE_SEL, q);
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), 0);
    assert_int_not_equal(mmio_rd(e->d, MMIO_QUEUE_NUM_MAX), 0); /* the queue exists */
    mmio_wr(e->d, MMIO_QUEUE_NUM, num);
    mmio_wr(e->d, 0x080, (uint32_t)d);
    mmio_wr(e->d, 0x084, (uint32_t)(d >> 32));
    mmio_wr(e->d, 0x090, (uint32_t)a);
    mmio_wr(e->d, 0x094, (uint32_t)(a >> 32));
    mmio_wr(e->d, 0x0a0, (uint32_t)u);
    mmio_wr(e->d, 0x0a4, (uint32_t)(u >> 32));
    mmio_wr(e->d, MMIO_QUEUE_READY, 1);
}

/* Linux's probe: reset, ACK, DRIVER, features, FEATURES_OK, queues, DRIVER_OK. */
static void drv_start(struct env *e, uint64_t features)
{
    uint32_t s = VIRTIO_STATUS_ACKNOWLEDGE;

    mmio_wr(e->d, MMIO_STATUS, 0);
    mmio_wr(e->d, MMIO_STATUS, s);
    mmio_wr(e->d, MMIO_STATUS, s |= VIRTIO_STATUS_DRIVER);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES, (uint32_t)(features >> 32));
    mmio_wr(e->d, MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES, (uint32_t)features);
    mmio_wr(e->d, MMIO_STATUS, s |= VIRTIO_STATUS_FEATURES_OK);
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);
    memset(at(e, 0), 0, DATA_OFF); /* fresh rings */
    e->avail_idx = 0;
    setup_queue(e, 0, QSIZE, gpa(DESC_OFF), gpa(AVAIL_OFF), gpa(USED_OFF));
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), 1);
    mmio_wr(e->d, MMIO_STATUS, s | VIRTIO_STATUS_DRIVER_OK);
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_DRIVER_OK);
}

static const uint64_t BASIC = VIRTIO_F_VERSION_1;
static const uint64_t ALL = VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC;

/* written: mem.written (its opaque is the env), or NULL. */
static struct env *env_new_sized(uint64_t mem_size, unsigned num_queues, uint16_t qmax,
                                 void (*written)(void *, const void *, size_t))
{
    struct env *e = calloc(1, sizeof(*e));
    struct virtio_device_ops ops = {
        .device_id = VIRTIO_ID_RNG,
        .num_queues = num_queues,
        .queue_size_max = qmax,
        .activate = dev_activate,
        .notify = dev_notify,
        .reset = dev_reset,
    };

    assert_non_null(e);
    e->ram = aligned_alloc(4096, RAM_SIZE);
    assert_non_null(e->ram);
    memset(e->ram, 0, RAM_SIZE);
    e->mem = (struct virtio_memory){.host = e->ram,
                                    .gpa_base = RAM_BASE,
                                    .size = mem_size,
                                    .written = written,
                                    .written_opaque = e};
    e->d = virtio_create(&ops, e, &e->mem, on_irq, e);
    assert_non_null(e->d);
    return e;
}

static int env_setup(void **state)
{
    *state = env_new_sized(RAM_SIZE, 1, QMAX, NULL);
    return 0;
}

/* As env_setup, with device writes reported to on_written. */
static int env_setup_written(void **state)
{
    *state = env_new_sized(RAM_SIZE, 1, QMAX, on_written);
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

static uint16_t used_idx(struct env *e)
{
    return get16(e, USED_OFF + 2);
}

static void ack_all(struct env *e)
{
    mmio_wr(e->d, MMIO_INTERRUPT_ACK, mmio_rd(e->d, MMIO_INTERRUPT_STATUS));
}

/* --- normal operation ---------------------------------------------------------------- */

static void test_out_then_in(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;
    char buf[16] = {0};

    drv_start(e, BASIC);
    assert_int_equal(e->activates, 1);
    assert_true(e->features == BASIC);
    memcpy(at(e, DATA_OFF), "request!", 8);
    desc(e, DESC_OFF, 3, gpa(DATA_OFF), 8, VIRTQ_DESC_F_NEXT, 5);
    desc(e, DESC_OFF, 5, gpa(DATA_OFF + 0x100), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF + 0x200), 6, VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 3);
    assert_int_equal(e->notifies, 1);

    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->head, 3);
    assert_int_equal(c->nout, 1);
    assert_int_equal(c->nin, 2);
    assert_int_equal(c->out_len, 8);
    assert_int_equal(c->in_len, 10);
    assert_ptr_equal(c->out[0].iov_base, at(e, DATA_OFF));
    assert_ptr_equal(c->in[1].iov_base, at(e, DATA_OFF + 0x200));
    assert_int_equal(virtq_read_out(c, 0, buf, sizeof(buf)), 8);
    assert_memory_equal(buf, "request!", 8);
    assert_int_equal(virtq_read_out(c, 3, buf, 2), 2);
    assert_memory_equal(buf, "ue", 2);
    assert_int_equal(virtq_write_in(c, 2, "abcdefghijkl", 12), 8); /* 10 - 2 bytes of room */
    assert_memory_equal(at(e, DATA_OFF + 0x102), "ab", 2);
    assert_memory_equal(at(e, DATA_OFF + 0x200), "cdefgh", 6);
    assert_false(virtio_queue_pop(e->d, 0, c)); /* empty now */

    assert_int_equal(e->irq_changes, 0);
    virtio_queue_push(e->d, 0, c, 100); /* clamped to in_len */
    assert_int_equal(used_idx(e), 1);
    assert_int_equal(get32(e, USED_OFF + 4), 3);
    assert_int_equal(get32(e, USED_OFF + 8), 10);
    assert_true(e->level);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_VRING);
    ack_all(e);
    assert_false(e->level);
    assert_int_equal(e->irq_changes, 2);
    assert_int_equal(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

/* Zero-length descriptors are legal and contribute nothing, even between an
   in and an out buffer. */
static void test_zero_length_skipped(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    desc(e, DESC_OFF, 0, gpa(DATA_OFF), 0, VIRTQ_DESC_F_NEXT, 1);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 2);
    desc(e, DESC_OFF, 2, gpa(DATA_OFF + 4), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 3);
    desc(e, DESC_OFF, 3, 0xdead0000, 0, VIRTQ_DESC_F_NEXT, 4); /* not even in RAM */
    desc(e, DESC_OFF, 4, gpa(DATA_OFF + 8), 4, VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->nout, 1);
    assert_int_equal(c->nin, 2);
}

/* A full ring of chains, popped and pushed across the 16-bit index wrap. */
static void test_many_chains_wrap(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    for (unsigned i = 0; i < QSIZE; i++)
        desc(e, DESC_OFF, i, gpa(DATA_OFF + 16 * i), 16, VIRTQ_DESC_F_WRITE, 0);
    for (unsigned round = 0; round < 70000 / QSIZE; round++) {
        for (unsigned i = 0; i < QSIZE; i++)
            avail_add(e, (uint16_t)i);
        for (unsigned i = 0; i < QSIZE; i++) {
            assert_true(virtio_queue_pop(e->d, 0, c));
            assert_int_equal(c->head, i);
            virtio_queue_push(e->d, 0, c, 1);
        }
        assert_false(virtio_queue_pop(e->d, 0, c));
        ack_all(e);
    }
    assert_int_equal(used_idx(e), e->avail_idx);
    assert_int_equal(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

static void test_indirect(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, ALL);
    /* Linux's form: the head is the indirect descriptor (its WRITE flag ignored) */
    desc(e, IND_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 2);
    desc(e, IND_OFF, 2, gpa(DATA_OFF + 16), 512, VIRTQ_DESC_F_NEXT, 1);
    desc(e, IND_OFF, 1, gpa(DATA_OFF + 1024), 1, VIRTQ_DESC_F_WRITE, 0);
    desc(e, DESC_OFF, 6, gpa(IND_OFF), 3 * 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 6);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->head, 6);
    assert_int_equal(c->nout, 2);
    assert_int_equal(c->nin, 1);
    assert_int_equal(c->out_len, 528);
    virtio_queue_push(e->d, 0, c, 1);

    /* the spec's other form: direct descriptors, then one indirect one at the end */
    desc(e, DESC_OFF, 0, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT, 7);
    desc(e, DESC_OFF, 7, gpa(IND_OFF), QSIZE * 16, VIRTQ_DESC_F_INDIRECT, 0);
    for (unsigned i = 0; i < QSIZE; i++)
        desc(e, IND_OFF, i, gpa(DATA_OFF + 64 * i), 64, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT,
             (uint16_t)(i + 1));
    desc(e, IND_OFF, QSIZE - 1, gpa(DATA_OFF), 64, VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->nout, 1);
    assert_int_equal(c->nin, QSIZE);
    assert_int_equal(c->in_len, 64 * QSIZE);
}

static void test_need_event_math(void **state)
{
    (void)state;
    /* event in [old, new) */
    assert_true(vring_need_event(5, 6, 5));
    assert_false(vring_need_event(6, 6, 5));
    assert_false(vring_need_event(4, 6, 5));
    assert_true(vring_need_event(5, 10, 2));
    assert_true(vring_need_event(2, 10, 2));
    assert_false(vring_need_event(10, 10, 2));
    /* across the wrap */
    assert_true(vring_need_event(0xffff, 1, 0xfffe));
    assert_true(vring_need_event(0, 1, 0xfffe));
    assert_false(vring_need_event(1, 1, 0xfffe));
    assert_false(vring_need_event(0xfffd, 1, 0xfffe));
    /* nothing moved: never */
    assert_false(vring_need_event(7, 7, 7));
}

/* One writable buffer per chain, heads 0..QSIZE-1. */
static void simple_ring(struct env *e)
{
    for (unsigned i = 0; i < QSIZE; i++)
        desc(e, DESC_OFF, i, gpa(DATA_OFF + 16 * i), 16, VIRTQ_DESC_F_WRITE, 0);
}

static void test_event_idx(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;
    uint64_t used_event = AVAIL_OFF + 4 + 2 * QSIZE;
    uint64_t avail_event = USED_OFF + 4 + 8 * QSIZE;

    drv_start(e, ALL);
    simple_ring(e);
    /* the driver wants an interrupt only once used idx passes 2 */
    put16(e, used_event, 2);
    for (unsigned i = 0; i < 4; i++)
        avail_add(e, (uint16_t)i);
    for (unsigned i = 0; i < 4; i++) {
        assert_true(virtio_queue_pop(e->d, 0, c));
        assert_int_equal(get16(e, avail_event), i + 1); /* where we want the next kick */
        virtio_queue_push(e->d, 0, c, 0);
        /* used idx 1, 2: no; 3 (passing entry 2): yes */
        assert_int_equal(e->level, i >= 2);
    }
    assert_int_equal(e->irq_changes, 1);
    ack_all(e);
    /* used_event behind: the fourth push passed nothing new */
    assert_false(e->level);
    /* NO_INTERRUPT is ignored under EVENT_IDX */
    put16(e, AVAIL_OFF, VIRTQ_AVAIL_F_NO_INTERRUPT);
    put16(e, used_event, 4);
    avail_add(e, 4);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    assert_true(e->level);
    ack_all(e);
    /* an empty pop publishes avail_event = last seen */
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(get16(e, avail_event), 5);
}

static void test_no_interrupt_flag(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    simple_ring(e);
    put16(e, AVAIL_OFF, VIRTQ_AVAIL_F_NO_INTERRUPT);
    avail_add(e, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    assert_false(e->level);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS), 0);
    put16(e, AVAIL_OFF, 0);
    avail_add(e, 1);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    assert_true(e->level);
    /* without EVENT_IDX avail_event is never written */
    assert_int_equal(get16(e, USED_OFF + 4 + 8 * QSIZE), 0);
}

/* Level: two pushes and a config change keep the line high until both bits are ACKed. */
static void test_interrupt_level(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    simple_ring(e);
    avail_add(e, 0);
    avail_add(e, 1);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    virtio_config_changed(e->d);
    assert_int_equal(e->irq_changes, 1);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS),
                     VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    mmio_wr(e->d, MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    assert_true(e->level);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS), VIRTIO_MMIO_INT_CONFIG);
    mmio_wr(e->d, MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_CONFIG);
    assert_false(e->level);
    assert_int_equal(e->irq_changes, 2);
}

/* --- hostile rings ------------------------------------------------------------------- */

/* The chain at head must be refused: NEEDS_RESET, a config interrupt, and no
   pop succeeds afterwards, not even of a good chain; a reset and a fresh
   start bring the device back. */
static void expect_broken(struct env *e, uint16_t head)
{
    struct virtq_chain *c = &e->chain;

    avail_add(e, head);
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(mmio_rd(e->d, MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    assert_true(e->level);
    desc(e, DESC_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 0);
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_false(virtio_queue_pop(e->d, 0, c));

    mmio_wr(e->d, MMIO_STATUS, 0);
    assert_false(e->level);
    assert_int_equal(mmio_rd(e->d, MMIO_STATUS), 0);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS), 0);
    drv_start(e, ALL);
    desc(e, DESC_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_WRITE, 0);
    avail_add(e, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
}

static void test_desc_outside_ram(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, DESC_OFF, 1, gpa(RAM_SIZE - 8), 16, VIRTQ_DESC_F_WRITE, 0); /* straddles the end */
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, RAM_BASE - 16, 16, 0, 0); /* below RAM */
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, 0, 1, 0, 0);
    expect_broken(e, 1);
}

static void test_addr_len_overflow(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, DESC_OFF, 1, UINT64_MAX - 4, 16, 0, 0);
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, gpa(8), UINT32_MAX, 0, 0);
    expect_broken(e, 1);
}

static void test_index_out_of_queue(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, QSIZE); /* next past the table */
    expect_broken(e, 1);
    expect_broken(e, QSIZE); /* head past the table */
    expect_broken(e, 0xffff);
}

static void test_loop(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 2);
    desc(e, DESC_OFF, 2, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 1);
    expect_broken(e, 1);
    desc(e, DESC_OFF, 3, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 3); /* onto itself */
    expect_broken(e, 3);
    /* a loop inside an indirect table */
    desc(e, IND_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 1);
    desc(e, IND_OFF, 1, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 0);
    desc(e, DESC_OFF, 4, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 4);
}

static void test_in_before_out(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    desc(e, DESC_OFF, 2, gpa(DATA_OFF), 16, 0, 0);
    expect_broken(e, 1);
    desc(e, IND_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(e, IND_OFF, 1, gpa(DATA_OFF), 16, 0, 0);
    desc(e, DESC_OFF, 4, gpa(IND_OFF), 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 4);
}

static void test_bad_indirect(void **state)
{
    struct env *e = *state;

    drv_start(e, ALL);
    desc(e, IND_OFF, 0, gpa(DATA_OFF), 16, 0, 0);
    /* nested */
    desc(e, IND_OFF + 0x100, 0, gpa(IND_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
    desc(e, DESC_OFF, 1, gpa(IND_OFF + 0x100), 16, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    /* INDIRECT with NEXT */
    desc(e, DESC_OFF, 1, gpa(IND_OFF), 16, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 2);
    desc(e, DESC_OFF, 2, gpa(DATA_OFF), 16, VIRTQ_DESC_F_WRITE, 0);
    expect_broken(e, 1);
    /* table outside RAM, or straddling its end */
    desc(e, DESC_OFF, 1, RAM_BASE + RAM_SIZE, 16, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, RAM_BASE + RAM_SIZE - 16, 32, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    /* lengths: not a multiple of 16, zero, more entries than the queue */
    desc(e, DESC_OFF, 1, gpa(IND_OFF), 24, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, gpa(IND_OFF), 0, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    desc(e, DESC_OFF, 1, gpa(IND_OFF), (QSIZE + 1) * 16, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
    /* next past the indirect table */
    desc(e, IND_OFF, 0, gpa(DATA_OFF), 16, VIRTQ_DESC_F_NEXT, 1);
    desc(e, DESC_OFF, 1, gpa(IND_OFF), 16, VIRTQ_DESC_F_INDIRECT, 0);
    expect_broken(e, 1);
}

static void test_avail_idx_jump(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, ALL);
    simple_ring(e);
    put16(e, AVAIL_OFF + 2, QSIZE); /* exactly a full ring is fine */
    assert_true(virtio_queue_pop(e->d, 0, c));
    put16(e, AVAIL_OFF + 2, 1 + QSIZE + 1); /* now 9 ahead of last_avail 1 */
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_true(e->level);
    mmio_wr(e->d, MMIO_STATUS, 0);
    drv_start(e, ALL);
    simple_ring(e);
    put16(e, AVAIL_OFF + 2, 0xffff); /* "behind": wraps to a huge jump */
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
}

/* Without DRIVER_OK the device never notified: NEEDS_RESET alone (2.1.2). */
static void test_broken_before_driver_ok(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    mmio_wr(e->d, MMIO_STATUS, 0);
    mmio_wr(e->d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    mmio_wr(e->d, MMIO_QUEUE_SEL, 0);
    mmio_wr(e->d, MMIO_QUEUE_NUM, 3);
    mmio_wr(e->d, MMIO_QUEUE_READY, 1);
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), 0);
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(mmio_rd(e->d, MMIO_INTERRUPT_STATUS), 0);
    assert_false(e->level);
    assert_false(virtio_queue_pop(e->d, 0, c));
}

/* A chain of more than VIRTQ_MAX_SEGS buffers in a bigger queue, and more
   than 4 GiB in one direction (RAM claims 8 GiB; pop never touches the data). */
static void test_too_many_segments_and_bytes(void **state)
{
    struct env *e = env_new_sized(8ull << 30, 1, 1024, NULL);
    struct virtq_chain *c = &e->chain;
    unsigned n = VIRTQ_MAX_SEGS + 1;

    (void)state;
    mmio_wr(e->d, MMIO_STATUS, 0);
    mmio_wr(e->d, MMIO_STATUS, 1);
    mmio_wr(e->d, MMIO_STATUS, 3);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES, 1);
    mmio_wr(e->d, MMIO_STATUS, 3 | VIRTIO_STATUS_FEATURES_OK);
    /* queue of 512: desc 8 KiB at DESC_OFF..., avail and used placed after it */
    setup_queue(e, 0, 512, gpa(0x20000), gpa(0x30000), gpa(0x40000));
    mmio_wr(e->d, MMIO_STATUS, 0xf);
    for (unsigned i = 0; i < n; i++)
        desc(e, 0x20000, i, gpa(DATA_OFF), 1, VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(e, 0x20000, n - 1, gpa(DATA_OFF), 1, 0, 0);
    put16(e, 0x30000 + 4, 0);
    put16(e, 0x30000 + 2, 1);
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

    /* exactly VIRTQ_MAX_SEGS is fine */
    mmio_wr(e->d, MMIO_STATUS, 0);
    mmio_wr(e->d, MMIO_STATUS, 3);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES, 1);
    mmio_wr(e->d, MMIO_STATUS, 0xb);
    memset(at(e, 0x30000), 0, 0x20000);
    setup_queue(e, 0, 512, gpa(0x20000), gpa(0x30000), gpa(0x40000));
    mmio_wr(e->d, MMIO_STATUS, 0xf);
    desc(e, 0x20000, n - 2, gpa(DATA_OFF), 1, 0, 0);
    put16(e, 0x30000 + 2, 1);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->nout, VIRTQ_MAX_SEGS);

    /* 3 x 2 GiB writable: the 32-bit total overflows */
    desc(e, 0x20000, 0, gpa(0), 0x80000000u, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
    desc(e, 0x20000, 1, gpa(0), 0x80000000u, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    desc(e, 0x20000, 2, gpa(0), 0x80000000u, VIRTQ_DESC_F_WRITE, 0);
    put16(e, 0x30000 + 4 + 2, 0);
    put16(e, 0x30000 + 2, 2);
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_true(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);

    void *p = e;
    env_teardown(&p);
}

/* QueueReady refuses sizes and rings the device cannot use. */
static void try_ready(struct env *e, uint32_t num, uint64_t d, uint64_t a, uint64_t u, bool ok)
{
    mmio_wr(e->d, MMIO_STATUS, 0);
    mmio_wr(e->d, MMIO_STATUS, 3);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(e->d, MMIO_DRIVER_FEATURES, 1);
    mmio_wr(e->d, MMIO_STATUS, 0xb);
    setup_queue(e, 0, num, d, a, u);
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), ok);
    assert_int_equal(!!(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET), !ok);
    mmio_wr(e->d, MMIO_STATUS, 0xf);
    assert_false(virtio_queue_pop(e->d, 0, &e->chain));
}

static void test_queue_ready_checks(void **state)
{
    struct env *e = *state;
    uint64_t d = gpa(DESC_OFF), a = gpa(AVAIL_OFF), u = gpa(USED_OFF);

    try_ready(e, QSIZE, d, a, u, true);
    try_ready(e, 1, d, a, u, true);
    try_ready(e, QMAX, d, a, u, true);
    try_ready(e, 0, d, a, u, false);
    try_ready(e, 6, d, a, u, false);
    try_ready(e, QMAX * 2, d, a, u, false);
    try_ready(e, 0x10000 + QSIZE, d, a, u, false); /* the top bits are not dropped */
    /* alignment: desc 16, avail 2, used 4 */
    try_ready(e, QSIZE, d + 8, a, u, false);
    try_ready(e, QSIZE, d, a + 1, u, false);
    try_ready(e, QSIZE, d, a + 2, u, true);
    try_ready(e, QSIZE, d, a, u + 2, false);
    try_ready(e, QSIZE, d, a, u + 4, true);
    /* the whole of each ring in RAM */
    uint64_t end = RAM_BASE + RAM_SIZE;
    try_ready(e, QSIZE, end - 16 * QSIZE, a, u, true);
    try_ready(e, QSIZE, end - 16 * QSIZE + 16, a, u, false);
    try_ready(e, QSIZE, d, end - (6 + 2 * QSIZE), u, true);
    try_ready(e, QSIZE, d, end - (4 + 2 * QSIZE), u, false); /* used_event out */
    try_ready(e, QSIZE, d, a, end - (8 + 8 * QSIZE), true);
    try_ready(e, QSIZE, d, a, end - (4 + 8 * QSIZE), false); /* avail_event out */
    try_ready(e, QSIZE, 0, a, u, false);
    try_ready(e, QSIZE, d, a, UINT64_MAX - 7, false);
}

/* QueueReady 0 stops the queue (Linux does it on del_vqs); push after it is dropped. */
static void test_queue_disable(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    simple_ring(e);
    avail_add(e, 0);
    assert_true(virtio_queue_pop(e->d, 0, c));
    mmio_wr(e->d, MMIO_QUEUE_SEL, 0);
    mmio_wr(e->d, MMIO_QUEUE_READY, 0);
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), 0);
    virtio_queue_push(e->d, 0, c, 4);
    assert_int_equal(used_idx(e), 0);
    assert_false(e->level);
    avail_add(e, 1);
    assert_false(virtio_queue_pop(e->d, 0, c));
    /* queue numbers that do not exist */
    assert_false(virtio_queue_pop(e->d, 1, c));
    virtio_queue_push(e->d, 7, c, 0);
}

static void test_pop_needs_driver_ok(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    simple_ring(e);
    avail_add(e, 0);
    mmio_wr(e->d, MMIO_STATUS, 0);
    assert_int_equal(e->resets, 2); /* drv_start's and this one */
    assert_false(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(mmio_rd(e->d, MMIO_QUEUE_READY), 0);
}

/* --- device writes reported (mem.written) -------------------------------------------- */

/* How many reported writes are exactly [off, off+len) of RAM. */
static unsigned reported(struct env *e, uint64_t off, size_t len)
{
    unsigned n = 0;

    for (unsigned i = 0; i < e->nwritten; i++)
        n += e->written[i].host == at(e, off) && e->written[i].len == len;
    return n;
}

/* No reported write touches [off, off+len) of RAM. */
static void expect_untouched(struct env *e, uint64_t off, size_t len)
{
    for (unsigned i = 0; i < e->nwritten; i++) {
        const uint8_t *p = e->written[i].host;
        assert_true(p + e->written[i].len <= at(e, off) || p >= at(e, off + len));
    }
}

/* One readable buffer between two writable ones in RAM: out 0x100+8, in 0+4, in 0x200+6. */
static void mixed_chain(struct env *e, uint16_t head)
{
    desc(e, DESC_OFF, head, gpa(DATA_OFF + 0x100), 8, VIRTQ_DESC_F_NEXT, 5);
    desc(e, DESC_OFF, 5, gpa(DATA_OFF), 4, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
    desc(e, DESC_OFF, 1, gpa(DATA_OFF + 0x200), 6, VIRTQ_DESC_F_WRITE, 0);
}

static void expect_mixed_reported(struct env *e)
{
    assert_int_equal(e->nwritten, 2);
    assert_int_equal(reported(e, DATA_OFF, 4), 1);
    assert_int_equal(reported(e, DATA_OFF + 0x200, 6), 1);
    expect_untouched(e, DATA_OFF + 0x100, 8);
}

/* Completing a chain reports each device-writable buffer once, whole, and
   never the device-readable one; nothing is reported before the push. */
static void test_written_reports_in_buffers(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    drv_start(e, BASIC);
    mixed_chain(e, 3);
    avail_add(e, 3);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(c->nout, 1);
    assert_int_equal(c->nin, 2);
    assert_int_equal(virtq_write_in(c, 0, "abcdefghij", 10), 10);
    assert_int_equal(e->nwritten, 0);
    virtio_queue_push(e->d, 0, c, 10);
    expect_mixed_reported(e);
    assert_int_equal(used_idx(e), 1);
    assert_int_equal(get32(e, USED_OFF + 8), 10);

    /* a device may write more than it claims: whole buffers, even for 0 */
    e->nwritten = 0;
    avail_add(e, 3);
    assert_true(virtio_queue_pop(e->d, 0, c));
    virtio_queue_push(e->d, 0, c, 0);
    expect_mixed_reported(e);
    assert_int_equal(used_idx(e), 2);
}

/* No callback: completions work as before. With one, a chain the device could
   only read reports nothing, and the next writable chain is reported. */
static void test_written_null_and_readonly(void **state)
{
    struct env *e = *state; /* mem.written NULL */
    struct virtq_chain *c = &e->chain;
    struct env *r;
    void *rs;

    assert_null(e->mem.written);
    drv_start(e, BASIC);
    mixed_chain(e, 3);
    avail_add(e, 3);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(virtq_write_in(c, 0, "abcdefghij", 10), 10);
    virtio_queue_push(e->d, 0, c, 10);
    assert_int_equal(used_idx(e), 1);
    assert_int_equal(get32(e, USED_OFF + 4), 3);
    assert_int_equal(get32(e, USED_OFF + 8), 10);
    assert_int_equal(e->nwritten, 0);

    assert_int_equal(env_setup_written(&rs), 0);
    r = rs;
    c = &r->chain;
    drv_start(r, BASIC);
    desc(r, DESC_OFF, 0, gpa(DATA_OFF), 8, VIRTQ_DESC_F_NEXT, 1);
    desc(r, DESC_OFF, 1, gpa(DATA_OFF + 0x100), 4, 0, 0);
    avail_add(r, 0);
    assert_true(virtio_queue_pop(r->d, 0, c));
    assert_int_equal(c->nout, 2);
    assert_int_equal(c->nin, 0);
    virtio_queue_push(r->d, 0, c, 0);
    assert_int_equal(used_idx(r), 1);
    assert_int_equal(r->nwritten, 0);
    /* the same device does report a chain it could write */
    desc(r, DESC_OFF, 2, gpa(DATA_OFF + 0x300), 16, VIRTQ_DESC_F_WRITE, 0);
    avail_add(r, 2);
    assert_true(virtio_queue_pop(r->d, 0, c));
    virtio_queue_push(r->d, 0, c, 16);
    assert_int_equal(r->nwritten, 1);
    assert_int_equal(reported(r, DATA_OFF + 0x300, 16), 1);
    env_teardown(&rs);
}

/* A reset between pop and push drops the used entry, but the device may
   already have written the buffers: they are still reported. */
static void test_written_after_reset(void **state)
{
    struct env *e = *state;
    struct virtq_chain *c = &e->chain;

    /* device reset (status 0) */
    drv_start(e, BASIC);
    mixed_chain(e, 3);
    avail_add(e, 3);
    assert_true(virtio_queue_pop(e->d, 0, c));
    assert_int_equal(virtq_write_in(c, 0, "abcdefghij", 10), 10);
    mmio_wr(e->d, MMIO_STATUS, 0);
    virtio_queue_push(e->d, 0, c, 10);
    assert_int_equal(used_idx(e), 0);
    assert_false(e->level);
    expect_mixed_reported(e);

    /* the queue alone turned off (QueueReady 0) */
    e->nwritten = 0;
    drv_start(e, BASIC);
    mixed_chain(e, 3);
    avail_add(e, 3);
    assert_true(virtio_queue_pop(e->d, 0, c));
    mmio_wr(e->d, MMIO_QUEUE_SEL, 0);
    mmio_wr(e->d, MMIO_QUEUE_READY, 0);
    virtio_queue_push(e->d, 0, c, 10);
    assert_int_equal(used_idx(e), 0);
    assert_false(e->level);
    expect_mixed_reported(e);
}

/* --- threads ------------------------------------------------------------------------- */

struct worker {
    struct env *e;
    unsigned want, done;
};

/* The device side: pop and push until `want` chains came back. */
static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct virtq_chain *c = malloc(sizeof(*c));

    assert_non_null(c);
    while (w->done < w->want) {
        if (!virtio_queue_pop(w->e->d, 0, c))
            continue;
        virtq_write_in(c, 0, &w->done, sizeof(w->done));
        virtio_queue_push(w->e->d, 0, c, sizeof(w->done));
        w->done++;
    }
    free(c);
    return NULL;
}

/* The driver on this thread, the device on another: every buffer comes back
   once, in order, and the interrupt line only ever reports changes. */
static void test_two_threads(void **state)
{
    struct env *e = *state;
    struct worker w = {.e = e, .want = 20000};
    pthread_t t;
    uint16_t seen = 0;
    unsigned got = 0;

    drv_start(e, ALL);
    simple_ring(e);
    assert_int_equal(pthread_create(&t, NULL, worker_main, &w), 0);
    while (got < w.want) {
        while ((uint16_t)(e->avail_idx - seen) < QSIZE && e->avail_idx < w.want) {
            uint16_t head = e->avail_idx % QSIZE;
            put16(e, AVAIL_OFF + 4 + 2u * head, head);
            __atomic_store_n((uint16_t *)at(e, AVAIL_OFF + 2), ++e->avail_idx, __ATOMIC_RELEASE);
        }
        uint16_t u = __atomic_load_n((uint16_t *)at(e, USED_OFF + 2), __ATOMIC_ACQUIRE);
        while (seen != u) {
            uint8_t *elem = at(e, USED_OFF + 4 + 8u * (seen % QSIZE));
            uint32_t id, val;
            memcpy(&id, elem, 4);
            memcpy(&val, at(e, DATA_OFF + 16 * id), 4);
            assert_int_equal(id, seen % QSIZE);
            assert_int_equal(val, got);
            seen++;
            got++;
        }
        mmio_rd(e->d, MMIO_INTERRUPT_STATUS);
        mmio_wr(e->d, MMIO_INTERRUPT_ACK, VIRTIO_MMIO_INT_VRING);
    }
    pthread_join(t, NULL);
    assert_int_equal(mmio_rd(e->d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_out_then_in, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_skipped, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_many_chains_wrap, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_indirect, env_setup, env_teardown),
        cmocka_unit_test(test_need_event_math),
        cmocka_unit_test_setup_teardown(test_event_idx, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_no_interrupt_flag, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_interrupt_level, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_desc_outside_ram, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_addr_len_overflow, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_index_out_of_queue, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_loop, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_in_before_out, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_bad_indirect, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_avail_idx_jump, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_broken_before_driver_ok, env_setup, env_teardown),
        cmocka_unit_test(test_too_many_segments_and_bytes),
        cmocka_unit_test_setup_teardown(test_queue_ready_checks, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_queue_disable, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_pop_needs_driver_ok, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_written_reports_in_buffers, env_setup_written,
                                        env_teardown),
        cmocka_unit_test_setup_teardown(test_written_null_and_readonly, env_setup, env_teardown),
        cmocka_unit_test_setup_teardown(test_written_after_reset, env_setup_written, env_teardown),
        cmocka_unit_test_setup_teardown(test_two_threads, env_setup, env_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
