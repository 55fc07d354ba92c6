/*
 * The virtio console through the real virtio-mmio transport, driven as
 * Linux drives it: output reaches the backend whole and in order; input
 * goes only into buffers the guest posted, the rest waits in the backend,
 * and nothing is lost when input comes before buffers, when buffers come
 * before input, across a reset, or with input arriving on another thread.
 * The sized variant (--console hvc0) reports the terminal's size and tells
 * the driver when it changes; the first output is remembered (and saved),
 * since the VMM gives input only to a console the guest uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_console.h"
#include "util/state.h"

#include "support/virtio_driver.h"

/* --- a backend: output captured, input from a buffer the test fills ----------------- */

#define RXQ VIRTIO_CONSOLE_RXQ
#define TXQ VIRTIO_CONSOLE_TXQ

struct backend {
    pthread_mutex_t lock;
    uint8_t out[1 << 16];
    size_t nout, write_calls;
    uint8_t in[1 << 16];
    size_t in_head, in_tail; /* pending input: in[in_head, in_tail) */
    size_t read_calls;
};

static void be_write(void *opaque, const uint8_t *buf, size_t len)
{
    struct backend *b = opaque;

    pthread_mutex_lock(&b->lock);
    assert_true(len > 0);
    assert_true(b->nout + len <= sizeof(b->out));
    memcpy(b->out + b->nout, buf, len);
    b->nout += len;
    b->write_calls++;
    pthread_mutex_unlock(&b->lock);
}

static size_t be_read(void *opaque, uint8_t *buf, size_t len)
{
    struct backend *b = opaque;
    size_t n;

    pthread_mutex_lock(&b->lock);
    assert_true(len > 0);
    n = b->in_tail - b->in_head;
    if (n > len)
        n = len;
    memcpy(buf, b->in + b->in_head, n);
    b->in_head += n;
    b->read_calls++;
    pthread_mutex_unlock(&b->lock);
    return n;
}

static void be_input(struct backend *b, const char *s)
{
    size_t len = strlen(s);

    pthread_mutex_lock(&b->lock);
    assert_true(b->in_tail + len <= sizeof(b->in));
    memcpy(b->in + b->in_tail, s, len);
    b->in_tail += len;
    pthread_mutex_unlock(&b->lock);
}

static size_t be_pending(struct backend *b)
{
    size_t n;

    pthread_mutex_lock(&b->lock);
    n = b->in_tail - b->in_head;
    pthread_mutex_unlock(&b->lock);
    return n;
}

/* --- the tests ----------------------------------------------------------------------- */

struct fixture {
    struct drv d;
    struct backend b;
    struct virtio_console *c;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    struct virtio_console_backend be = {.write = be_write, .read = be_read};

    if (!f)
        return -1;
    pthread_mutex_init(&f->b.lock, NULL);
    be.opaque = &f->b;
    f->c = virtio_console_create(&be);
    if (!f->c)
        return -1;
    drv_create(&f->d, virtio_console_ops(), f->c);
    virtio_console_bind(f->c, f->d.dev);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    drv_free(&f->d);
    virtio_console_destroy(f->c);
    pthread_mutex_destroy(&f->b.lock);
    free(f);
    return 0;
}

/* A guest buffer holding the string s (no NUL), readable by the device. */
static struct seg out_seg(struct drv *d, const char *s)
{
    uint32_t len = (uint32_t)strlen(s);
    uint64_t gpa = drv_alloc(d, len, 0);

    memcpy(drv_host(d, gpa), s, len);
    return (struct seg){gpa, len, false};
}

/* An empty writable guest buffer of len bytes (filled with '.', a guard after it). */
static struct seg in_seg(struct drv *d, uint32_t len)
{
    return (struct seg){drv_alloc(d, len + 8, '.'), len, true};
}

static void expect_bytes(struct drv *d, struct seg s, const char *want)
{
    size_t n = strlen(want);

    assert_memory_equal(drv_host(d, s.gpa), want, n);
    for (size_t i = n; i < s.len + 8; i++)
        assert_int_equal(drv_host(d, s.gpa)[i], '.');
}

static void test_ops_shape_and_config(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    const struct virtio_device_ops *ops = virtio_console_ops();

    assert_int_equal(ops->device_id, VIRTIO_ID_CONSOLE);
    assert_int_equal(ops->num_queues, 2);
    assert_int_equal(ops->features, 0); /* no F_SIZE, no F_MULTIPORT: one port, hvc */
    assert_int_equal(ops->config_size, 12);
    drv_init(d, VIRTIO_ID_CONSOLE, true);
    drv_wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(drv_rd(d, MMIO_DEVICE_FEATURES) & 7u, 0);
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 0), 0); /* cols 0, rows 0 */
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 4), 1); /* max_nr_ports */
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 8), 0); /* emerg_wr */
    drv_wr(d, MMIO_CONFIG + 8, 'X');                 /* no F_EMERG_WRITE: ignored */
    assert_int_equal(f->b.nout, 0);
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 0), 0);
}

static void test_tx_in_order_across_chains(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg c1[] = {out_seg(d, "hel"), out_seg(d, "lo ")};
    struct seg c2[] = {out_seg(d, "world")};
    struct seg c3[] = {out_seg(d, "!"), out_seg(d, "\n"), in_seg(d, 4)};
    uint16_t h1, h2, h3;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    h1 = drv_add(d, TXQ, c1, 2);
    h2 = drv_add(d, TXQ, c2, 1);
    h3 = drv_add(d, TXQ, c3, 3);
    drv_kick(d, TXQ);
    expect_used(d, TXQ, h1, 0);
    expect_used(d, TXQ, h2, 0);
    expect_used(d, TXQ, h3, 0); /* a writable buffer is not written */
    expect_no_used(d, TXQ);
    expect_bytes(d, c3[2], "");
    assert_int_equal(f->b.nout, 13);
    assert_memory_equal(f->b.out, "hello world!\n", 13);

    /* one chain per kick, as Linux's hvc does */
    for (unsigned i = 0; i < 3 * QNUM; i++) {
        char s[2] = {(char)('a' + i % 26), 0};
        struct seg one = out_seg(d, s);
        uint16_t h = drv_add(d, TXQ, &one, 1);

        drv_kick(d, TXQ);
        expect_used(d, TXQ, h, 0);
        assert_int_equal(f->b.out[f->b.nout - 1], s[0]);
    }
    assert_int_equal(f->b.nout, 13 + 3 * QNUM);
    expect_no_used(d, RXQ); /* the receive side did not move */
}

static void test_rx_into_posted_buffers(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg b1 = in_seg(d, 8), b2 = in_seg(d, 8), b3 = in_seg(d, 16);
    uint16_t h1, h2, h3;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    h1 = drv_add(d, RXQ, &b1, 1);
    h2 = drv_add(d, RXQ, &b2, 1);
    drv_kick(d, RXQ); /* no input yet: nothing comes back */
    expect_no_used(d, RXQ);

    be_input(&f->b, "abc");
    virtio_console_input_ready(f->c);
    expect_used(d, RXQ, h1, 3); /* what there is, not a full buffer */
    expect_no_used(d, RXQ);
    expect_bytes(d, b1, "abc");

    /* more than the posted buffers hold: the rest stays in the backend */
    be_input(&f->b, "defghijklmnopqrstu");
    virtio_console_input_ready(f->c);
    expect_used(d, RXQ, h2, 8);
    expect_no_used(d, RXQ);
    expect_bytes(d, b2, "defghijk");
    assert_int_equal(be_pending(&f->b), 10);

    virtio_console_input_ready(f->c); /* a spurious call changes nothing */
    expect_no_used(d, RXQ);
    assert_int_equal(be_pending(&f->b), 10);

    /* a new buffer takes it on the kick */
    h3 = drv_add(d, RXQ, &b3, 1);
    drv_kick(d, RXQ);
    expect_used(d, RXQ, h3, 10);
    expect_bytes(d, b3, "lmnopqrstu");
    assert_int_equal(be_pending(&f->b), 0);
    expect_no_used(d, TXQ);
    assert_int_equal(f->b.nout, 0);
}

static void test_rx_multi_segment_chain(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg chain[] = {out_seg(d, "ignored"), in_seg(d, 4), in_seg(d, 4)};
    struct seg more[] = {in_seg(d, 4), in_seg(d, 4)};
    uint16_t h;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    h = drv_add(d, RXQ, chain, 3);
    drv_kick(d, RXQ);
    be_input(&f->b, "123456");
    virtio_console_input_ready(f->c);
    expect_used(d, RXQ, h, 6);
    expect_bytes(d, chain[1], "1234");
    expect_bytes(d, chain[2], "56");
    assert_memory_equal(drv_host(d, chain[0].gpa), "ignored", 7);

    be_input(&f->b, "abcdefghij");
    h = drv_add(d, RXQ, more, 2);
    drv_kick(d, RXQ);
    expect_used(d, RXQ, h, 8);
    expect_bytes(d, more[0], "abcd");
    expect_bytes(d, more[1], "efgh");
    assert_int_equal(be_pending(&f->b), 2);
}

static void test_rx_chain_without_writable_buffer(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg bad = out_seg(d, "ro"), good = in_seg(d, 4);
    uint16_t hb, hg;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    be_input(&f->b, "xy");
    hb = drv_add(d, RXQ, &bad, 1);
    hg = drv_add(d, RXQ, &good, 1);
    drv_kick(d, RXQ);
    expect_used(d, RXQ, hb, 0); /* returned, not kept */
    expect_used(d, RXQ, hg, 2);
    expect_bytes(d, good, "xy");
}

static void test_input_before_buffers_and_driver(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg b1 = in_seg(d, 16), b2 = in_seg(d, 16);
    uint16_t h;

    /* input before the driver has even started: it waits in the backend */
    be_input(&f->b, "early ");
    virtio_console_input_ready(f->c);
    assert_int_equal(be_pending(&f->b), 6);

    /* buffers made available before DRIVER_OK are filled when it comes */
    drv_init(d, VIRTIO_ID_CONSOLE, false);
    h = drv_add(d, RXQ, &b1, 1);
    virtio_console_input_ready(f->c); /* not active yet */
    expect_no_used(d, RXQ);
    assert_int_equal(be_pending(&f->b), 6);
    drv_driver_ok(d);
    expect_used(d, RXQ, h, 6);
    expect_bytes(d, b1, "early ");

    /* input while no buffer is posted: kept until one is */
    be_input(&f->b, "late");
    virtio_console_input_ready(f->c);
    expect_no_used(d, RXQ);
    h = drv_add(d, RXQ, &b2, 1);
    drv_kick(d, RXQ);
    expect_used(d, RXQ, h, 4);
    expect_bytes(d, b2, "late");
}

static void test_reset_drops_the_held_chain(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct seg old = in_seg(d, 8), fresh = in_seg(d, 8);
    uint16_t h;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    drv_add(d, RXQ, &old, 1);
    drv_kick(d, RXQ); /* no input: the device holds this chain */
    expect_no_used(d, RXQ);

    drv_wr(d, MMIO_STATUS, 0);
    assert_int_equal(drv_rd(d, MMIO_STATUS), 0);
    /* input now must neither touch the forgotten buffer nor be consumed */
    be_input(&f->b, "after");
    virtio_console_input_ready(f->c);
    expect_bytes(d, old, "");
    expect_no_used(d, RXQ);
    assert_int_equal(be_pending(&f->b), 5);

    /* the driver starts over with fresh rings: input goes to the new buffer */
    drv_init(d, VIRTIO_ID_CONSOLE, true);
    expect_no_used(d, RXQ);
    h = drv_add(d, RXQ, &fresh, 1);
    drv_kick(d, RXQ);
    expect_used(d, RXQ, h, 5);
    expect_bytes(d, fresh, "after");
    expect_bytes(d, old, "");
}

static void test_null_backend(void **state)
{
    struct virtio_console *c = virtio_console_create(NULL);
    struct drv d;

    (void)state;
    assert_non_null(c);
    drv_create(&d, virtio_console_ops(), c);
    virtio_console_bind(c, d.dev);
    drv_init(&d, VIRTIO_ID_CONSOLE, true);
    struct seg o = out_seg(&d, "dropped"), i1 = in_seg(&d, 4), i2 = in_seg(&d, 4);
    uint16_t h = drv_add(&d, TXQ, &o, 1);
    drv_kick(&d, TXQ);
    expect_used(&d, TXQ, h, 0);
    drv_add(&d, RXQ, &i1, 1);
    drv_add(&d, RXQ, &i2, 1);
    drv_kick(&d, RXQ);
    virtio_console_input_ready(c);
    expect_no_used(&d, RXQ); /* held, never filled, never lost */
    drv_free(&d);
    virtio_console_destroy(c);
    virtio_console_destroy(NULL);
}

/* Input typed on another thread while the guest keeps posting small buffers:
   every byte arrives once and in order. */
struct typist {
    struct fixture *f;
    size_t total;
};

static void *typist_main(void *arg)
{
    struct typist *t = arg;

    for (size_t i = 0; i < t->total;) {
        char chunk[8];
        size_t n = 1 + i % 7;

        if (n > t->total - i)
            n = t->total - i;
        for (size_t k = 0; k < n; k++)
            chunk[k] = (char)('A' + (i + k) % 26);
        chunk[n] = 0;
        be_input(&t->f->b, chunk);
        virtio_console_input_ready(t->f->c);
        i += n;
    }
    return NULL;
}

static void test_input_from_another_thread(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct typist t = {.f = f, .total = 20000};
    struct seg bufs[QNUM];
    uint16_t heads[QNUM];
    unsigned posted = 0, used = 0;
    size_t got = 0;
    pthread_t th;

    drv_init(d, VIRTIO_ID_CONSOLE, true);
    for (unsigned i = 0; i < QNUM; i++)
        bufs[i] = in_seg(d, 5);
    assert_int_equal(pthread_create(&th, NULL, typist_main, &t), 0);
    while (got < t.total) {
        uint16_t id;
        uint32_t len;

        /* keep up to QNUM/2 one-buffer chains posted */
        while (posted - used < QNUM / 2) {
            heads[posted % QNUM] = drv_add(d, RXQ, &bufs[posted % QNUM], 1);
            posted++;
            drv_kick(d, RXQ);
        }
        if (!drv_get_used(d, RXQ, &id, &len)) {
            virtio_console_input_ready(f->c); /* the driver's thread may race in too */
            continue;
        }
        assert_int_equal(id, heads[used % QNUM]);
        assert_true(len >= 1 && len <= 5);
        for (uint32_t k = 0; k < len; k++)
            assert_int_equal(drv_host(d, bufs[used % QNUM].gpa)[k], 'A' + (got + k) % 26);
        got += len;
        used++;
    }
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(got, t.total);
    assert_int_equal(be_pending(&f->b), 0);
}

/* F_SIZE: offered, cols/rows in config space, a config interrupt on a change only. */
static void test_sized_console_reports_resizes(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;

    drv_free(d);
    drv_create(d, virtio_console_sized_ops(), f->c);
    virtio_console_bind(f->c, d->dev);
    assert_int_equal(virtio_console_sized_ops()->features, VIRTIO_CONSOLE_F_SIZE);
    virtio_console_resize(f->c, 80, 24); /* before the driver: config says it */
    d->accept = VIRTIO_CONSOLE_F_SIZE;
    drv_init(d, VIRTIO_ID_CONSOLE, false);
    drv_wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    assert_int_equal(drv_rd(d, MMIO_DEVICE_FEATURES) & 7u, 1u); /* F_SIZE alone */
    unsigned raises = atomic_load(&d->irq_raises);
    drv_driver_ok(d);
    /* Linux reads the size on a config interrupt only: one comes at DRIVER_OK */
    assert_true(drv_rd(d, MMIO_INTERRUPT_STATUS) & 2u);
    assert_int_equal(atomic_load(&d->irq_raises), raises + 1);
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 0), 80u | 24u << 16);
    drv_wr(d, MMIO_INTERRUPT_ACK, 2);
    raises = atomic_load(&d->irq_raises);
    uint32_t gen = drv_rd(d, 0x0fc); /* ConfigGeneration */

    virtio_console_resize(f->c, 132, 43);
    assert_int_equal(drv_rd(d, MMIO_CONFIG + 0), 132u | 43u << 16);
    assert_true(drv_rd(d, MMIO_INTERRUPT_STATUS) & 2u); /* a configuration change */
    assert_int_equal(atomic_load(&d->irq_raises), raises + 1);
    assert_int_not_equal(drv_rd(d, 0x0fc), gen);
    drv_wr(d, MMIO_INTERRUPT_ACK, 2);

    gen = drv_rd(d, 0x0fc);
    virtio_console_resize(f->c, 132, 43); /* the same size: nothing to tell */
    assert_int_equal(drv_rd(d, MMIO_INTERRUPT_STATUS) & 2u, 0);
    assert_int_equal(drv_rd(d, 0x0fc), gen);
}

/* A backend that gives input only once the guest has written (as the VMM's
   does with --console hvc0): typed-ahead input arrives with the first output. */
static struct virtio_console *gated_console;
static size_t gated_read(void *opaque, uint8_t *buf, size_t len)
{
    return virtio_console_guest_wrote(gated_console) ? be_read(opaque, buf, len) : 0;
}

static void test_first_output_opens_input(void **state)
{
    struct fixture *f = *state;
    struct drv *d = &f->d;
    struct virtio_console_backend be = {.write = be_write, .read = gated_read, .opaque = &f->b};

    drv_free(d);
    virtio_console_destroy(f->c);
    f->c = gated_console = virtio_console_create(&be);
    drv_create(d, virtio_console_ops(), f->c);
    virtio_console_bind(f->c, d->dev);
    drv_init(d, VIRTIO_ID_CONSOLE, true);
    struct seg in = in_seg(d, 8);
    uint16_t h = drv_add(d, RXQ, &in, 1);
    drv_kick(d, RXQ);
    be_input(&f->b, "ls\r");
    virtio_console_input_ready(f->c);
    expect_no_used(d, RXQ); /* not the guest's console yet */
    assert_false(virtio_console_guest_wrote(f->c));

    struct seg prompt = out_seg(d, "# ");
    uint16_t t = drv_add(d, TXQ, &prompt, 1);
    drv_kick(d, TXQ);
    expect_used(d, TXQ, t, 0);
    assert_true(virtio_console_guest_wrote(f->c));
    expect_used(d, RXQ, h, 3); /* the waiting input, with no further key */
    expect_bytes(d, in, "ls\r");

    /* kept across a snapshot: a restored console is still the guest's */
    struct state_writer w;
    state_writer_init(&w);
    virtio_console_ops()->save(f->c, &w);
    struct virtio_console *copy = virtio_console_create(&be);
    struct state_reader r;
    state_reader_init(&r, w.buf, w.len);
    assert_true(virtio_console_ops()->restore(copy, &r));
    assert_int_equal(state_remaining(&r), 0);
    assert_true(virtio_console_guest_wrote(copy));
    state_reader_init(&r, w.buf, 0); /* truncated */
    assert_false(virtio_console_ops()->restore(copy, &r));
    virtio_console_destroy(copy);
    state_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ops_shape_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tx_in_order_across_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_into_posted_buffers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_multi_segment_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rx_chain_without_writable_buffer, setup, teardown),
        cmocka_unit_test_setup_teardown(test_input_before_buffers_and_driver, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_drops_the_held_chain, setup, teardown),
        cmocka_unit_test(test_null_backend),
        cmocka_unit_test_setup_teardown(test_input_from_another_thread, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sized_console_reports_resizes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first_output_opens_input, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
