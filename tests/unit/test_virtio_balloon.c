/*
 * The memory balloon through the real virtio-mmio transport over RAM that
 * is a shared memfd mapping, as the VM's: inflated and reported pages leave
 * the memfd (a hole, reading zero) and nothing else does; PFNs outside RAM
 * are counted and skipped; the queues are numbered as Linux numbers them;
 * the stats buffer is parsed, held, given back on request and around a
 * pause; the config space and the saved state.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/virtio_balloon.h"
#include "util/le.h"
#include "util/state.h"

#include "support/virtio_driver.h"

#define PAGE   VIRTIO_BALLOON_PAGE
#define TARGET (RAM_BASE + 0x80000) /* pages the tests balloon, far from drv_alloc's buffers */

struct fixture {
    struct drv d;
    struct virtio_balloon *b;
};

static struct fixture *make(uint64_t features)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->b = virtio_balloon_create(features);
    assert_non_null(f->b);
    drv_create(&f->d, virtio_balloon_ops(f->b), f->b);
    virtio_balloon_bind(f->b, f->d.dev, &f->d.mem);
    f->d.accept = features;
    drv_init(&f->d, VIRTIO_ID_BALLOON, true);
    return f;
}

static void unmake(struct fixture *f)
{
    drv_free(&f->d);
    virtio_balloon_destroy(f->b);
    free(f);
}

static void fill_pages(struct drv *d, uint64_t gpa, unsigned n, uint8_t b)
{
    memset(drv_host(d, gpa), b, (size_t)n * PAGE);
}

static bool all(const uint8_t *p, size_t len, uint8_t b)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] != b)
            return false;
    return true;
}

/* The memfd has no page at gpa (a hole). */
static bool is_hole(struct drv *d, uint64_t gpa)
{
    off_t off = (off_t)(gpa - RAM_BASE);
    return lseek(d->memfd, off, SEEK_HOLE) == off;
}

/* A chain of one readable buffer holding the PFNs, on queue q, kicked. */
static uint16_t send_pfns(struct drv *d, unsigned q, const uint32_t *pfns, unsigned n, uint32_t len)
{
    uint64_t buf = drv_alloc(d, n * 4 + 4, 0);
    for (unsigned i = 0; i < n; i++)
        put_le32(drv_host(d, buf + 4 * i), pfns[i]);
    struct seg s = {buf, len, false};
    uint16_t head = drv_add(d, q, &s, 1);
    drv_kick(d, q);
    return head;
}

static uint32_t pfn(uint64_t gpa)
{
    return (uint32_t)(gpa >> VIRTIO_BALLOON_PFN_SHIFT);
}

static struct virtio_balloon_stats stats(struct fixture *f)
{
    struct virtio_balloon_stats s;
    virtio_balloon_get_stats(f->b, &s);
    return s;
}

static uint32_t cfg_rd(struct drv *d, unsigned off)
{
    return drv_rd(d, MMIO_CONFIG + off);
}

/* --- the tests ----------------------------------------------------------------------- */

static void test_shape_follows_features(void **state)
{
    (void)state;
    static const struct {
        uint64_t features;
        unsigned queues;
    } cases[] = {
        {0, 2},
        {VIRTIO_BALLOON_F_DEFLATE_ON_OOM, 2},
        {VIRTIO_BALLOON_F_STATS_VQ, 3},
        {VIRTIO_BALLOON_F_REPORTING, 3},
        {VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_REPORTING, 4},
        {1ull << 3 | 1ull << 4, 2}, /* free page hinting, page poison: never offered */
    };
    for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct virtio_balloon *b = virtio_balloon_create(cases[i].features);
        const struct virtio_device_ops *ops = virtio_balloon_ops(b);
        assert_int_equal(ops->device_id, VIRTIO_ID_BALLOON);
        assert_int_equal(ops->num_queues, cases[i].queues);
        assert_int_equal(ops->features, cases[i].features & ~(1ull << 3 | 1ull << 4));
        assert_int_equal(ops->config_size, 8);
        virtio_balloon_destroy(b);
    }
    virtio_balloon_destroy(NULL);
}

static void test_inflate_gives_pages_back(void **state)
{
    (void)state;
    struct fixture *f = make(0);
    struct drv *d = &f->d;
    fill_pages(d, TARGET, 8, 0xaa);
    assert_false(is_hole(d, TARGET));
    /* pages 0..2 and 5 (not in order, one twice); 3, 4, 6, 7 stay */
    uint32_t pfns[] = {pfn(TARGET + PAGE), pfn(TARGET), pfn(TARGET + 2 * PAGE),
                       pfn(TARGET + 5 * PAGE), pfn(TARGET)};
    uint16_t head = send_pfns(d, 0, pfns, 5, sizeof(pfns));
    expect_used(d, 0, head, 0);
    for (unsigned p = 0; p < 8; p++) {
        bool gone = p <= 2 || p == 5;
        assert_int_equal(is_hole(d, TARGET + p * PAGE), gone);
        assert_true(all(drv_host(d, TARGET + p * PAGE), PAGE, gone ? 0 : 0xaa));
    }
    assert_int_equal(stats(f).inflated_pages, 5);
    assert_int_equal(stats(f).pfns_outside_ram, 0);
    assert_int_equal(stats(f).discard_failures, 0);
    /* the guest touches a returned page again: a fresh zero page, then its data */
    drv_host(d, TARGET)[7] = 0x55;
    assert_false(is_hole(d, TARGET));
    assert_int_equal(drv_host(d, TARGET)[6], 0);
    assert_int_equal(drv_host(d, TARGET)[7], 0x55);
    unmake(f);
}

static void test_deflate_keeps_pages(void **state)
{
    (void)state;
    struct fixture *f = make(0);
    struct drv *d = &f->d;
    fill_pages(d, TARGET, 2, 0x33);
    uint32_t pfns[] = {pfn(TARGET), pfn(TARGET + PAGE), 7 /* below RAM */};
    uint16_t head = send_pfns(d, 1, pfns, 3, sizeof(pfns));
    expect_used(d, 1, head, 0);
    assert_true(all(drv_host(d, TARGET), 2 * PAGE, 0x33));
    assert_int_equal(stats(f).deflated_pages, 2);
    assert_int_equal(stats(f).inflated_pages, 0);
    assert_int_equal(stats(f).pfns_outside_ram, 1);
    unmake(f);
}

static void test_pfns_outside_ram_are_counted(void **state)
{
    (void)state;
    struct fixture *f = make(0);
    struct drv *d = &f->d;
    fill_pages(d, TARGET, 1, 0x77);
    uint32_t pfns[] = {0,           pfn(RAM_BASE) - 1, pfn(RAM_BASE + RAM_SIZE),
                       0xffffffffu, pfn(TARGET),       pfn(RAM_BASE + RAM_SIZE) + 1};
    uint16_t head = send_pfns(d, 0, pfns, 6, sizeof(pfns));
    expect_used(d, 0, head, 0);
    assert_int_equal(stats(f).pfns_outside_ram, 5);
    assert_int_equal(stats(f).inflated_pages, 1);
    assert_true(is_hole(d, TARGET));
    assert_false(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    /* a length that is not whole PFNs: the whole ones only */
    fill_pages(d, TARGET + PAGE, 1, 0x77);
    uint32_t one[] = {pfn(TARGET + PAGE), pfn(TARGET + 2 * PAGE)};
    fill_pages(d, TARGET + 2 * PAGE, 1, 0x77);
    head = send_pfns(d, 0, one, 2, 6);
    expect_used(d, 0, head, 0);
    assert_true(is_hole(d, TARGET + PAGE));
    assert_false(is_hole(d, TARGET + 2 * PAGE));
    unmake(f);
}

static void test_hostile_chains(void **state)
{
    (void)state;
    struct fixture *f = make(VIRTIO_BALLOON_F_REPORTING);
    struct drv *d = &f->d;
    /* a PFN buffer running off the end of RAM: the transport refuses the chain */
    struct seg bad = {RAM_BASE + RAM_SIZE - 4, 64, false};
    drv_add(d, 0, &bad, 1);
    drv_kick(d, 0);
    expect_no_used(d, 0);
    assert_true(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    /* a reported range outside RAM, after a reset */
    drv_init(d, VIRTIO_ID_BALLOON, true);
    struct seg outside = {0x1000, 2 * PAGE, true};
    drv_add(d, 2, &outside, 1);
    drv_kick(d, 2);
    expect_no_used(d, 2);
    assert_true(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    assert_int_equal(stats(f).reported_pages, 0);
    /* and the device works after the next reset */
    drv_init(d, VIRTIO_ID_BALLOON, true);
    fill_pages(d, TARGET, 1, 1);
    uint32_t p[] = {pfn(TARGET)};
    uint16_t head = send_pfns(d, 0, p, 1, 4);
    expect_used(d, 0, head, 0);
    assert_true(is_hole(d, TARGET));
    /* an empty chain (a zero-length buffer) is used with nothing done */
    struct seg empty = {drv_alloc(d, 4, 0), 0, false};
    head = drv_add(d, 0, &empty, 1);
    drv_kick(d, 0);
    expect_used(d, 0, head, 0);
    unmake(f);
}

static void test_reporting_gives_whole_pages_back(void **state)
{
    (void)state;
    for (int with_stats = 0; with_stats <= 1; with_stats++) {
        uint64_t features =
            VIRTIO_BALLOON_F_REPORTING | (with_stats ? VIRTIO_BALLOON_F_STATS_VQ : 0);
        struct fixture *f = make(features);
        struct drv *d = &f->d;
        unsigned rq = with_stats ? 3 : 2; /* after statsq only when that exists */
        fill_pages(d, TARGET, 8, 0xcc);
        /* two pages; then pages 4..5 given as [4.5, 6) and [6.25, 7.75): only 5 is whole */
        struct seg segs[] = {{TARGET, 2 * PAGE, true},
                             {TARGET + 4 * PAGE + PAGE / 2, 3 * PAGE / 2, true},
                             {TARGET + 6 * PAGE + PAGE / 4, 3 * PAGE / 2, true}};
        uint16_t head = drv_add(d, rq, segs, 3);
        drv_kick(d, rq);
        expect_used(d, rq, head, 0);
        for (unsigned p = 0; p < 8; p++) {
            bool gone = p <= 1 || p == 5;
            assert_int_equal(is_hole(d, TARGET + p * PAGE), gone);
        }
        assert_true(all(drv_host(d, TARGET + 4 * PAGE), PAGE, 0xcc));
        assert_int_equal(stats(f).reported_pages, 3);
        unmake(f);
    }
}

static void test_config_target_and_actual(void **state)
{
    (void)state;
    struct fixture *f = make(VIRTIO_BALLOON_F_DEFLATE_ON_OOM);
    struct drv *d = &f->d;
    assert_int_equal(cfg_rd(d, 0), 0);
    unsigned raises = atomic_load(&d->irq_raises);
    virtio_balloon_set_target(f->b, 16384);
    assert_int_equal(cfg_rd(d, 0), 16384);
    assert_true(atomic_load(&d->irq_raises) > raises);
    assert_true(drv_rd(d, MMIO_INTERRUPT_STATUS) & VIRTIO_MMIO_INT_CONFIG);
    /* the driver writes actual; its write over num_pages changes nothing */
    drv_wr(d, MMIO_CONFIG + 4, 1000);
    drv_wr(d, MMIO_CONFIG + 0, 5);
    assert_int_equal(cfg_rd(d, 0), 16384);
    assert_int_equal(cfg_rd(d, 4), 1000);
    uint64_t v = 0;
    assert_true(virtio_mmio_write(d->dev, MMIO_CONFIG + 5, 1, 0x02)); /* one byte of actual */
    assert_true(virtio_mmio_read(d->dev, MMIO_CONFIG + 4, 4, &v));
    assert_int_equal(v, 1000 - (1000 & 0xff00) + 0x200);
    assert_int_equal(stats(f).target_pages, 16384);
    assert_int_equal(stats(f).actual_pages, v);
    /* a reset driver holds nothing */
    drv_wr(d, MMIO_STATUS, 0);
    assert_int_equal(stats(f).actual_pages, 0);
    assert_int_equal(stats(f).target_pages, 16384);
    unmake(f);
}

/* A stats buffer of n entries (tag, value) plus extra stray bytes, on queue 2. */
static uint16_t post_stats(struct drv *d, const uint16_t *tags, const uint64_t *vals, unsigned n,
                           unsigned extra)
{
    uint64_t buf = drv_alloc(d, n * 10 + extra, 0xee);
    for (unsigned i = 0; i < n; i++) {
        put_le16(drv_host(d, buf + 10 * i), tags[i]);
        put_le64(drv_host(d, buf + 10 * i + 2), vals[i]);
    }
    struct seg s = {buf, n * 10 + extra, false};
    uint16_t head = drv_add(d, 2, &s, 1);
    drv_kick(d, 2);
    return head;
}

static void test_stats_are_parsed_held_and_refreshed(void **state)
{
    (void)state;
    struct fixture *f = make(VIRTIO_BALLOON_F_STATS_VQ);
    struct drv *d = &f->d;
    virtio_balloon_request_stats(f->b); /* nothing held yet: nothing happens */
    expect_no_used(d, 2);
    uint16_t tags[] = {VIRTIO_BALLOON_S_MEMFREE, VIRTIO_BALLOON_S_MEMTOT, 99,
                       VIRTIO_BALLOON_S_MAJFLT};
    uint64_t vals[] = {100 << 20, 256ull << 20, 12345, 7};
    uint16_t head = post_stats(d, tags, vals, 4, 5); /* 5 stray bytes: not an entry */
    expect_no_used(d, 2);                            /* held until the host asks */
    struct virtio_balloon_stats s = stats(f);
    assert_int_equal(s.guest[VIRTIO_BALLOON_S_MEMFREE], 100 << 20);
    assert_int_equal(s.guest[VIRTIO_BALLOON_S_MEMTOT], 256ull << 20);
    assert_int_equal(s.guest[VIRTIO_BALLOON_S_MAJFLT], 7);
    assert_int_equal(s.guest_valid, 1u << VIRTIO_BALLOON_S_MEMFREE | 1u << VIRTIO_BALLOON_S_MEMTOT |
                                        1u << VIRTIO_BALLOON_S_MAJFLT);
    assert_int_equal(s.stats_updates, 1);
    /* the host wants fresh values: the buffer comes back, the guest posts anew */
    virtio_balloon_request_stats(f->b);
    expect_used(d, 2, head, 0);
    vals[0] = 90 << 20;
    head = post_stats(d, tags, vals, 1, 0);
    assert_int_equal(stats(f).guest[VIRTIO_BALLOON_S_MEMFREE], 90 << 20);
    assert_int_equal(stats(f).stats_updates, 2);
    /* a second buffer while one is held: the first goes back */
    uint16_t second = post_stats(d, tags, vals, 1, 0);
    expect_used(d, 2, head, 0);
    /* a pause puts the held buffer back in the ring; resuming takes it again */
    virtio_balloon_pause(f->b, true);
    virtio_balloon_request_stats(f->b); /* paused: held nothing, pushes nothing */
    expect_no_used(d, 2);
    virtio_balloon_pause(f->b, false);
    assert_int_equal(stats(f).stats_updates, 4);
    virtio_balloon_request_stats(f->b);
    expect_used(d, 2, second, 0);
    unmake(f);
}

static void test_state_round_trip(void **state)
{
    (void)state;
    const uint64_t features = VIRTIO_BALLOON_F_STATS_VQ | VIRTIO_BALLOON_F_DEFLATE_ON_OOM;
    struct fixture *f = make(features);
    struct drv *d = &f->d;
    virtio_balloon_set_target(f->b, 4096);
    drv_wr(d, MMIO_CONFIG + 4, 3000);
    uint16_t tags[] = {VIRTIO_BALLOON_S_AVAIL};
    uint64_t vals[] = {42};
    post_stats(d, tags, vals, 1, 0);
    uint32_t bad[] = {1};
    send_pfns(d, 0, bad, 1, 4);
    struct state_writer w;
    state_writer_init(&w);
    virtio_save(d->dev, &w);
    assert_false(w.failed);

    /* into a fresh device of the same features: target, actual, stats, counters */
    struct fixture *g = calloc(1, sizeof(*g));
    g->b = virtio_balloon_create(features);
    drv_create(&g->d, virtio_balloon_ops(g->b), g->b);
    virtio_balloon_bind(g->b, g->d.dev, &g->d.mem);
    memcpy(g->d.ram, d->ram, RAM_SIZE); /* the rings, as the memory file would bring them */
    struct state_reader r;
    state_reader_init(&r, w.buf, w.len);
    assert_true(virtio_restore(g->d.dev, &r));
    struct virtio_balloon_stats s = stats(g);
    assert_int_equal(s.target_pages, 4096);
    assert_int_equal(s.actual_pages, 3000);
    assert_int_equal(s.guest[VIRTIO_BALLOON_S_AVAIL], 42);
    assert_int_equal(s.pfns_outside_ram, 1);
    assert_int_equal(cfg_rd(&g->d, 0), 4096);
    unmake(g);

    /* into a device offering other features: refused */
    struct fixture *h = calloc(1, sizeof(*h));
    h->b = virtio_balloon_create(features | VIRTIO_BALLOON_F_REPORTING);
    drv_create(&h->d, virtio_balloon_ops(h->b), h->b);
    virtio_balloon_bind(h->b, h->d.dev, &h->d.mem);
    memcpy(h->d.ram, d->ram, RAM_SIZE);
    state_reader_init(&r, w.buf, w.len);
    assert_false(virtio_restore(h->d.dev, &r));
    unmake(h);
    state_writer_free(&w);
    unmake(f);
}

static void test_unbound_is_harmless(void **state)
{
    (void)state;
    struct virtio_balloon *b = virtio_balloon_create(VIRTIO_BALLOON_F_STATS_VQ);
    const struct virtio_device_ops *ops = virtio_balloon_ops(b);
    ops->activate(b, VIRTIO_BALLOON_F_STATS_VQ);
    ops->notify(b, 0);
    ops->notify(b, 2);
    ops->notify(b, 9);
    ops->reset(b);
    virtio_balloon_set_target(b, 10);
    virtio_balloon_request_stats(b);
    virtio_balloon_pause(b, true);
    virtio_balloon_pause(b, false);
    virtio_balloon_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_follows_features),
        cmocka_unit_test(test_inflate_gives_pages_back),
        cmocka_unit_test(test_deflate_keeps_pages),
        cmocka_unit_test(test_pfns_outside_ram_are_counted),
        cmocka_unit_test(test_hostile_chains),
        cmocka_unit_test(test_reporting_gives_whole_pages_back),
        cmocka_unit_test(test_config_target_and_actual),
        cmocka_unit_test(test_stats_are_parsed_held_and_refreshed),
        cmocka_unit_test(test_state_round_trip),
        cmocka_unit_test(test_unbound_is_harmless),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
