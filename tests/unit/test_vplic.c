/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/hart/vplic.c: the guest's PLIC.
 *
 * Expected behaviour comes from the RISC-V PLIC specification v1.0.0 and
 * the register map Linux's riscv,plic0 driver programs; everything is
 * driven through the guest MMIO interface and vplic_set_irq(), as a guest
 * and the hypervisor would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "hart/vplic.h"

#define NSRC 64u /* sources 1..63: two pending/enable words */
#define NCTX 2u

/* --- notify recorder ----------------------------------------------------------------- */
#define MAX_EVENTS 256

struct rec {
    unsigned n;
    unsigned ctx[MAX_EVENTS];
    bool level[MAX_EVENTS];
};

static void rec_notify(void *opaque, unsigned context, bool pending)
{
    struct rec *r = opaque;

    if (r->n < MAX_EVENTS) {
        r->ctx[r->n] = context;
        r->level[r->n] = pending;
    }
    r->n++;
}

/* Exactly `count` new events since *seen, the last being (ctx, level). */
static void expect_events(struct rec *r, unsigned *seen, unsigned count, unsigned ctx, bool level)
{
    assert_int_equal(r->n - *seen, count);
    if (count) {
        assert_true(r->n <= MAX_EVENTS);
        assert_int_equal(r->ctx[r->n - 1], ctx);
        assert_int_equal(r->level[r->n - 1], level);
    }
    *seen = r->n;
}

/* --- guest-side helpers -------------------------------------------------------------- */
static uint32_t rd(struct vplic *p, uint64_t off)
{
    uint32_t v = 0xdeadbeef;

    assert_true(vplic_read(p, off, 4, &v));
    return v;
}

static void wr(struct vplic *p, uint64_t off, uint32_t v)
{
    assert_true(vplic_write(p, off, 4, v));
}

static uint64_t prio_off(unsigned s)
{
    return VPLIC_PRIORITY_BASE + 4ull * s;
}

static uint64_t enable_off(unsigned ctx, unsigned word)
{
    return VPLIC_ENABLE_BASE + (uint64_t)VPLIC_ENABLE_STRIDE * ctx + 4ull * word;
}

static uint64_t thr_off(unsigned ctx)
{
    return VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * ctx + VPLIC_THRESHOLD;
}

static uint64_t claim_off(unsigned ctx)
{
    return VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * ctx + VPLIC_CLAIM;
}

static void set_prio(struct vplic *p, unsigned s, uint32_t v)
{
    wr(p, prio_off(s), v);
}

static void set_thr(struct vplic *p, unsigned ctx, uint32_t v)
{
    wr(p, thr_off(ctx), v);
}

static void set_enable(struct vplic *p, unsigned ctx, unsigned s, bool on)
{
    uint32_t w = rd(p, enable_off(ctx, s / 32));

    if (on)
        w |= UINT32_C(1) << (s % 32);
    else
        w &= ~(UINT32_C(1) << (s % 32));
    wr(p, enable_off(ctx, s / 32), w);
}

static uint32_t claim(struct vplic *p, unsigned ctx)
{
    return rd(p, claim_off(ctx));
}

static void complete(struct vplic *p, unsigned ctx, uint32_t id)
{
    wr(p, claim_off(ctx), id);
}

static bool is_pending(struct vplic *p, unsigned s)
{
    return (rd(p, VPLIC_PENDING_BASE + 4ull * (s / 32)) >> (s % 32)) & 1u;
}

static struct vplic *make(struct rec *r)
{
    struct vplic *p;

    memset(r, 0, sizeof(*r));
    p = vplic_create(NSRC, NCTX, rec_notify, r);
    assert_non_null(p);
    return p;
}

/* --- tests --------------------------------------------------------------------------- */
static void test_create_args(void **state)
{
    (void)state;
    assert_null(vplic_create(0, 1, NULL, NULL));
    assert_null(vplic_create(VPLIC_MAX_SOURCES + 1, 1, NULL, NULL));
    assert_null(vplic_create(2, 0, NULL, NULL));
    assert_null(vplic_create(2, VPLIC_MAX_CONTEXTS + 1, NULL, NULL));
    assert_null(vplic_create(UINT_MAX, UINT_MAX, NULL, NULL));

    struct vplic *p = vplic_create(VPLIC_MAX_SOURCES, VPLIC_MAX_CONTEXTS, NULL, NULL);
    assert_non_null(p);
    /* the largest map ends exactly at DV_PLIC_SIZE */
    uint32_t v;
    assert_true(vplic_read(p, 0x400000 - 4, 4, &v));
    assert_false(vplic_read(p, 0x400000, 4, &v));
    /* a NULL notify is allowed: the line still works */
    set_prio(p, VPLIC_MAX_SOURCES - 1, 1);
    set_enable(p, VPLIC_MAX_CONTEXTS - 1, VPLIC_MAX_SOURCES - 1, true);
    vplic_set_irq(p, VPLIC_MAX_SOURCES - 1, true);
    assert_true(vplic_pending(p, VPLIC_MAX_CONTEXTS - 1));
    assert_int_equal(claim(p, VPLIC_MAX_CONTEXTS - 1), VPLIC_MAX_SOURCES - 1);
    assert_false(vplic_pending(p, VPLIC_MAX_CONTEXTS - 1));
    vplic_destroy(p);

    /* one source slot means no sources at all */
    p = vplic_create(1, 1, NULL, NULL);
    assert_non_null(p);
    vplic_set_irq(p, 1, true);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE), 0);
    assert_int_equal(claim(p, 0), 0);
    vplic_destroy(p);

    vplic_destroy(NULL);
}

static void test_reset_state(void **state)
{
    struct rec r;
    struct vplic *p = make(&r);

    (void)state;
    for (unsigned s = 0; s < NSRC; s++)
        assert_int_equal(rd(p, prio_off(s)), 0);
    for (unsigned c = 0; c < NCTX; c++) {
        assert_int_equal(rd(p, enable_off(c, 0)), 0);
        assert_int_equal(rd(p, enable_off(c, 1)), 0);
        assert_int_equal(rd(p, thr_off(c)), 0);
        assert_false(vplic_pending(p, c));
        assert_int_equal(claim(p, c), 0);
    }
    assert_int_equal(r.n, 0);
    vplic_destroy(p);
}

static void test_priority_threshold_gating(void **state)
{
    struct rec r;
    struct vplic *p = make(&r);

    (void)state;
    set_enable(p, 0, 5, true);
    vplic_set_irq(p, 5, true);
    /* priority 0 means "never interrupt", even though it is pending */
    assert_true(is_pending(p, 5));
    assert_false(vplic_pending(p, 0));
    assert_int_equal(claim(p, 0), 0);
    assert_true(is_pending(p, 5)); /* a failed claim changes nothing */

    set_prio(p, 5, 3);
    assert_true(vplic_pending(p, 0));
    /* priority must be strictly greater than the threshold */
    set_thr(p, 0, 3);
    assert_false(vplic_pending(p, 0));
    assert_int_equal(claim(p, 0), 0);
    set_thr(p, 0, 2);
    assert_true(vplic_pending(p, 0));
    set_thr(p, 0, 7);
    assert_false(vplic_pending(p, 0));
    set_prio(p, 5, 7); /* 7 can never exceed threshold 7 */
    assert_false(vplic_pending(p, 0));
    set_thr(p, 0, 0);
    assert_true(vplic_pending(p, 0));
    /* dropping the priority back to 0 masks it again */
    set_prio(p, 5, 0);
    assert_false(vplic_pending(p, 0));
    set_prio(p, 5, 1);
    assert_int_equal(claim(p, 0), 5);
    vplic_destroy(p);
}

static void test_claim_order(void **state)
{
    struct rec r;
    struct vplic *p = make(&r);
    static const struct {
        unsigned src, prio;
    } cfg[] = {{3, 2}, {40, 6}, {9, 6}, {33, 6}, {7, 1}, {2, 2}, {63, 4}};

    (void)state;
    for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
        set_prio(p, cfg[i].src, cfg[i].prio);
        set_enable(p, 0, cfg[i].src, true);
        vplic_set_irq(p, cfg[i].src, true);
    }
    /* highest priority first; equal priorities by lowest id */
    static const unsigned want[] = {9, 33, 40, 63, 2, 3, 7};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_true(vplic_pending(p, 0));
        assert_int_equal(claim(p, 0), want[i]);
    }
    assert_false(vplic_pending(p, 0));
    assert_int_equal(claim(p, 0), 0);

    /* a threshold hides the low ones from claim */
    for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
        vplic_set_irq(p, cfg[i].src, false);
        complete(p, 0, cfg[i].src);
        vplic_set_irq(p, cfg[i].src, true);
    }
    set_thr(p, 0, 4);
    assert_int_equal(claim(p, 0), 9);
    assert_int_equal(claim(p, 0), 33);
    assert_int_equal(claim(p, 0), 40);
    assert_int_equal(claim(p, 0), 0); /* 63 has priority 4, not > 4 */
    assert_false(vplic_pending(p, 0));
    assert_true(is_pending(p, 63));
    vplic_destroy(p);
}

static void test_claim_clears_pending(void **state)
{
    struct rec r;
    unsigned seen = 0;
    struct vplic *p = make(&r);

    (void)state;
    set_prio(p, 35, 1);
    set_enable(p, 0, 35, true);
    expect_events(&r, &seen, 0, 0, false);
    vplic_set_irq(p, 35, true);
    expect_events(&r, &seen, 1, 0, true);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE + 4), UINT32_C(1) << 3);

    assert_int_equal(claim(p, 0), 35);
    expect_events(&r, &seen, 1, 0, false);
    assert_false(is_pending(p, 35));
    assert_false(vplic_pending(p, 0));
    /* the line is still high, but the gateway holds it until completion */
    vplic_set_irq(p, 35, true);
    vplic_set_irq(p, 35, false);
    vplic_set_irq(p, 35, true);
    assert_false(is_pending(p, 35));
    assert_int_equal(claim(p, 0), 0);
    expect_events(&r, &seen, 0, 0, false);
    vplic_destroy(p);
}

static void test_complete_repends_high_line(void **state)
{
    struct rec r;
    unsigned seen = 0;
    struct vplic *p = make(&r);

    (void)state;
    set_prio(p, 4, 2);
    set_enable(p, 0, 4, true);
    vplic_set_irq(p, 4, true);
    expect_events(&r, &seen, 1, 0, true);
    assert_int_equal(claim(p, 0), 4);
    expect_events(&r, &seen, 1, 0, false);

    /* the device did not drop its line: pending again right after completion */
    complete(p, 0, 4);
    expect_events(&r, &seen, 1, 0, true);
    assert_true(is_pending(p, 4));
    assert_int_equal(claim(p, 0), 4);
    expect_events(&r, &seen, 1, 0, false);

    /* the device was serviced: no new request after completion */
    vplic_set_irq(p, 4, false);
    complete(p, 0, 4);
    expect_events(&r, &seen, 0, 0, false);
    assert_false(is_pending(p, 4));
    assert_int_equal(claim(p, 0), 0);

    /* and a later rise is a fresh request */
    vplic_set_irq(p, 4, true);
    expect_events(&r, &seen, 1, 0, true);
    assert_int_equal(claim(p, 0), 4);
    vplic_destroy(p);
}

static void test_lowered_before_claim(void **state)
{
    struct rec r;
    unsigned seen = 0;
    struct vplic *p = make(&r);

    (void)state;
    set_prio(p, 6, 1);
    set_enable(p, 0, 6, true);
    vplic_set_irq(p, 6, true);
    expect_events(&r, &seen, 1, 0, true);
    vplic_set_irq(p, 6, false);
    expect_events(&r, &seen, 1, 0, false);
    assert_false(is_pending(p, 6));
    assert_int_equal(claim(p, 0), 0);
    /* the same (disabled) case: pending is withdrawn even when not enabled */
    set_enable(p, 0, 6, false);
    vplic_set_irq(p, 6, true);
    assert_true(is_pending(p, 6));
    vplic_set_irq(p, 6, false);
    assert_false(is_pending(p, 6));
    expect_events(&r, &seen, 0, 0, false);
    vplic_destroy(p);
}

static void test_complete_not_enabled_ignored(void **state)
{
    struct rec r;
    struct vplic *p = make(&r);

    (void)state;
    set_prio(p, 10, 1);
    set_enable(p, 0, 10, true);
    vplic_set_irq(p, 10, true);
    assert_int_equal(claim(p, 0), 10);

    /* disabled for this context: the completion is dropped... */
    set_enable(p, 0, 10, false);
    complete(p, 0, 10);
    /* ...and so is one from a context that never had it enabled */
    complete(p, 1, 10);
    set_enable(p, 0, 10, true);
    assert_false(is_pending(p, 10)); /* still in service */
    assert_int_equal(claim(p, 0), 0);

    /* out-of-range ids are ignored too */
    complete(p, 0, 0);
    complete(p, 0, NSRC);
    complete(p, 0, 0x80000000u);
    complete(p, 0, UINT32_MAX);
    assert_false(is_pending(p, 10));

    /* the real completion releases it */
    complete(p, 0, 10);
    assert_true(is_pending(p, 10));
    assert_int_equal(claim(p, 0), 10);
    vplic_destroy(p);
}

static void test_two_contexts(void **state)
{
    struct rec r;
    unsigned seen = 0;
    struct vplic *p = make(&r);

    (void)state;
    set_prio(p, 1, 1);
    set_prio(p, 2, 1);
    set_prio(p, 3, 1);
    set_enable(p, 0, 1, true); /* 1: context 0 only */
    set_enable(p, 1, 2, true); /* 2: context 1 only */
    set_enable(p, 0, 3, true); /* 3: both */
    set_enable(p, 1, 3, true);
    assert_int_equal(rd(p, enable_off(0, 0)), 0xa);
    assert_int_equal(rd(p, enable_off(1, 0)), 0xc);

    vplic_set_irq(p, 1, true);
    expect_events(&r, &seen, 1, 0, true);
    assert_false(vplic_pending(p, 1));
    assert_int_equal(claim(p, 1), 0); /* not enabled there */

    vplic_set_irq(p, 2, true);
    expect_events(&r, &seen, 1, 1, true);
    assert_int_equal(claim(p, 0), 1);
    expect_events(&r, &seen, 1, 0, false);
    assert_true(vplic_pending(p, 1));
    assert_int_equal(claim(p, 1), 2);
    expect_events(&r, &seen, 1, 1, false);

    /* a source enabled for both interrupts both; the first claim wins */
    vplic_set_irq(p, 3, true);
    assert_int_equal(r.n - seen, 2);
    assert_true(vplic_pending(p, 0));
    assert_true(vplic_pending(p, 1));
    seen = r.n;
    assert_int_equal(claim(p, 1), 3);
    assert_int_equal(r.n - seen, 2); /* both lines drop */
    seen = r.n;
    assert_false(vplic_pending(p, 0));
    assert_false(vplic_pending(p, 1));
    assert_int_equal(claim(p, 0), 0);

    /* per-context thresholds are independent as well */
    complete(p, 1, 3);
    assert_int_equal(r.n - seen, 2);
    seen = r.n;
    set_thr(p, 1, 1);
    expect_events(&r, &seen, 1, 1, false);
    assert_true(vplic_pending(p, 0));
    assert_int_equal(rd(p, thr_off(0)), 0);
    assert_int_equal(rd(p, thr_off(1)), 1);
    vplic_destroy(p);
}

static void test_notify_exactly_on_change(void **state)
{
    struct rec r;
    unsigned seen = 0;
    struct vplic *p = make(&r);

    (void)state;
    /* configuration with no pending source: no events */
    set_prio(p, 8, 2);
    set_prio(p, 9, 5);
    set_enable(p, 1, 8, true);
    set_enable(p, 1, 9, true);
    set_thr(p, 1, 1);
    expect_events(&r, &seen, 0, 0, false);

    vplic_set_irq(p, 8, true);
    expect_events(&r, &seen, 1, 1, true);
    /* more sources or repeated raises while asserted: no events */
    vplic_set_irq(p, 8, true);
    vplic_set_irq(p, 9, true);
    set_thr(p, 1, 0);
    set_prio(p, 8, 3);
    expect_events(&r, &seen, 0, 0, false);
    /* a threshold hiding only one of two keeps the line */
    set_thr(p, 1, 4);
    expect_events(&r, &seen, 0, 0, false);
    set_thr(p, 1, 5);
    expect_events(&r, &seen, 1, 1, false);
    set_thr(p, 1, 5);
    expect_events(&r, &seen, 0, 0, false);
    set_thr(p, 1, 4);
    expect_events(&r, &seen, 1, 1, true);
    /* disabling via the enable register */
    wr(p, enable_off(1, 0), 0);
    expect_events(&r, &seen, 1, 1, false);
    wr(p, enable_off(1, 0), 1u << 9);
    expect_events(&r, &seen, 1, 1, true);
    /* claim 9: 8 is still pending but no longer enabled */
    assert_int_equal(claim(p, 1), 9);
    expect_events(&r, &seen, 1, 1, false);
    /* a failed claim, and a completion with the line low: no events */
    vplic_set_irq(p, 9, false);
    assert_int_equal(claim(p, 1), 0);
    complete(p, 1, 9);
    expect_events(&r, &seen, 0, 0, false);
    /* context 0 never saw anything */
    for (unsigned i = 0; i < r.n; i++)
        assert_int_equal(r.ctx[i], 1);
    assert_false(vplic_pending(p, 0));
    /* out-of-range queries */
    assert_false(vplic_pending(p, NCTX));
    assert_false(vplic_pending(p, UINT_MAX));
    vplic_destroy(p);
}

static void test_hostile_access(void **state)
{
    struct rec r;
    struct vplic *p = make(&r);
    const uint64_t end = VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * NCTX;
    uint32_t v;

    (void)state;
    set_prio(p, 1, 1);
    set_enable(p, 0, 1, true);
    vplic_set_irq(p, 1, true);

    /* wrong sizes, even at valid offsets: a claim must not happen */
    static const unsigned sizes[] = {0, 1, 2, 3, 5, 8, 16, UINT_MAX};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_false(vplic_read(p, claim_off(0), sizes[i], &v));
        assert_false(vplic_write(p, prio_off(1), sizes[i], 7));
        assert_false(vplic_write(p, claim_off(0), sizes[i], 1));
    }
    /* misaligned */
    for (uint64_t off = 1; off < 4; off++) {
        assert_false(vplic_read(p, claim_off(0) + off, 4, &v));
        assert_false(vplic_write(p, prio_off(1) + off, 4, 7));
        assert_false(vplic_write(p, enable_off(0, 0) + off, 4, ~0u));
    }
    /* past the last context */
    const uint64_t far[] = {
        VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * NCTX,
        VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * NCTX + 4,
        0x3ffffc,
        0x400000,
        0xfffffffc,
        0x100000000ull + prio_off(1),
        UINT64_MAX - 3,
        UINT64_MAX,
    };
    for (size_t i = 0; i < sizeof(far) / sizeof(far[0]); i++) {
        assert_false(vplic_read(p, far[i], 4, &v));
        assert_false(vplic_write(p, far[i], 4, 0));
    }
    /* NULL arguments */
    assert_false(vplic_read(p, 0, 4, NULL));
    assert_false(vplic_read(NULL, 0, 4, &v));
    assert_false(vplic_write(NULL, 0, 4, 0));
    vplic_set_irq(NULL, 1, true);
    assert_false(vplic_pending(NULL, 0));
    /* none of that changed anything */
    assert_int_equal(rd(p, prio_off(1)), 1);
    assert_int_equal(rd(p, enable_off(0, 0)), 2);
    assert_true(is_pending(p, 1));
    assert_true(vplic_pending(p, 0));

    /* the last word of the map is valid (unimplemented: reads 0) */
    assert_int_equal(rd(p, end - 4), 0);
    wr(p, end - 4, UINT32_MAX);
    assert_int_equal(rd(p, end - 4), 0);

    /* unimplemented holes inside the map: read 0, writes ignored */
    const uint64_t holes[] = {
        VPLIC_PENDING_BASE + 4 * (NSRC / 32), /* pending word past the sources */
        VPLIC_PENDING_BASE + 0xffc,
        enable_off(0, NSRC / 32), /* enable word past the sources */
        enable_off(0, 31),
        enable_off(NCTX, 0), /* enables of a context that does not exist */
        enable_off(15871, 31),
        0x1f2000,
        0x1ffffc,
        VPLIC_CONTEXT_BASE + 8,
        VPLIC_CONTEXT_BASE + 0xffc,
        VPLIC_CONTEXT_BASE + VPLIC_CONTEXT_STRIDE + 0x800,
    };
    for (size_t i = 0; i < sizeof(holes) / sizeof(holes[0]); i++) {
        wr(p, holes[i], UINT32_MAX);
        assert_int_equal(rd(p, holes[i]), 0);
    }
    /* priorities of sources that do not exist, including source 0 */
    wr(p, prio_off(0), UINT32_MAX);
    assert_int_equal(rd(p, prio_off(0)), 0);
    wr(p, prio_off(NSRC), UINT32_MAX);
    assert_int_equal(rd(p, prio_off(NSRC)), 0);
    wr(p, prio_off(1023), UINT32_MAX);
    assert_int_equal(rd(p, prio_off(1023)), 0);

    /* WARL: priority and threshold keep only the low 3 bits */
    wr(p, prio_off(2), UINT32_MAX);
    assert_int_equal(rd(p, prio_off(2)), 7);
    wr(p, prio_off(3), 0x10u);
    assert_int_equal(rd(p, prio_off(3)), 0);
    wr(p, prio_off(NSRC - 1), 0xfffffff9u);
    assert_int_equal(rd(p, prio_off(NSRC - 1)), 1);
    wr(p, thr_off(1), UINT32_MAX);
    assert_int_equal(rd(p, thr_off(1)), 7);
    wr(p, thr_off(1), 0);

    /* enable bits of source 0 and of ids >= nsources cannot be set */
    wr(p, enable_off(1, 0), UINT32_MAX);
    assert_int_equal(rd(p, enable_off(1, 0)), 0xfffffffeu);
    wr(p, enable_off(1, 1), UINT32_MAX);
    assert_int_equal(rd(p, enable_off(1, 1)), UINT32_MAX);
    wr(p, enable_off(1, 0), 0);
    wr(p, enable_off(1, 1), 0);

    /* the pending register is read-only to the guest */
    wr(p, VPLIC_PENDING_BASE, UINT32_MAX);
    wr(p, VPLIC_PENDING_BASE + 4, UINT32_MAX);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE), 2);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE + 4), 0);
    wr(p, VPLIC_PENDING_BASE, 0);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE), 2);

    /* sources the hypervisor gets wrong are ignored */
    vplic_set_irq(p, 0, true);
    vplic_set_irq(p, NSRC, true);
    vplic_set_irq(p, UINT_MAX, true);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE), 2);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE + 4), 0);

    /* source 0 is never claimed; source 1 still works after all this */
    assert_int_equal(claim(p, 0), 1);
    assert_int_equal(claim(p, 0), 0);
    vplic_destroy(p);
}

static void test_odd_source_count(void **state)
{
    /* 33 slots: sources 1..32, the second word has a single valid bit */
    struct vplic *p = vplic_create(33, 1, NULL, NULL);
    uint32_t v;

    (void)state;
    assert_non_null(p);
    wr(p, enable_off(0, 1), UINT32_MAX);
    assert_int_equal(rd(p, enable_off(0, 1)), 1);
    wr(p, enable_off(0, 0), UINT32_MAX);
    set_prio(p, 32, 9); /* masks to 1 */
    assert_int_equal(rd(p, prio_off(32)), 1);
    set_prio(p, 33, 7);
    assert_int_equal(rd(p, prio_off(33)), 0);
    vplic_set_irq(p, 32, true);
    vplic_set_irq(p, 33, true);
    assert_int_equal(rd(p, VPLIC_PENDING_BASE + 4), 1);
    assert_int_equal(claim(p, 0), 32);
    assert_false(vplic_read(p, claim_off(1), 4, &v)); /* only one context */
    vplic_destroy(p);
}

/* --- two-thread stress ------------------------------------------------------------------- */
#define STRESS_SRC   48u
#define STRESS_ITERS 200000u

struct stress {
    struct vplic *p;
    atomic_bool stop;
    atomic_uint owner[STRESS_SRC]; /* 0 free, else 1 + claiming context */
    atomic_uint claims;
    atomic_uint bad;
    /* written only from notify, which the vplic serialises */
    unsigned events[NCTX];
    bool last[NCTX];
    unsigned alternation_errors;
};

static void stress_notify(void *opaque, unsigned context, bool pending)
{
    struct stress *st = opaque;

    if (context >= NCTX) {
        st->alternation_errors++;
        return;
    }
    /* a change is always to the opposite of the last reported level */
    if (pending == st->last[context])
        st->alternation_errors++;
    st->last[context] = pending;
    st->events[context]++;
}

static unsigned lcg(unsigned *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 8;
}

static void *stress_raiser(void *arg)
{
    struct stress *st = arg;
    unsigned seed = 1;

    for (unsigned i = 0; i < STRESS_ITERS; i++) {
        unsigned s = lcg(&seed) % STRESS_SRC; /* includes the invalid 0 */

        vplic_set_irq(st->p, s, lcg(&seed) & 1u);
    }
    return NULL;
}

struct claimer {
    struct stress *st;
    unsigned ctx;
};

static void *stress_claimer(void *arg)
{
    struct claimer *c = arg;
    struct stress *st = c->st;
    unsigned held[4];
    unsigned nheld = 0;
    unsigned seed = 7 + c->ctx;

    while (!atomic_load(&st->stop) || nheld) {
        if (nheld < 4 && !atomic_load(&st->stop)) {
            uint32_t id = 0;

            if (!vplic_read(st->p, claim_off(c->ctx), 4, &id) || id >= STRESS_SRC) {
                atomic_fetch_add(&st->bad, 1);
                break;
            }
            if (id) {
                /* the gateway must not hand one source out twice */
                if (atomic_exchange(&st->owner[id], 1 + c->ctx) != 0)
                    atomic_fetch_add(&st->bad, 1);
                held[nheld++] = id;
                atomic_fetch_add(&st->claims, 1);
            }
        }
        if (nheld && (lcg(&seed) & 1u || atomic_load(&st->stop))) {
            unsigned k = lcg(&seed) % nheld;
            unsigned id = held[k];

            held[k] = held[--nheld];
            /* release ownership before completing: once completed it may be
               claimed again at once */
            atomic_store(&st->owner[id], 0);
            if (!vplic_write(st->p, claim_off(c->ctx), 4, id))
                atomic_fetch_add(&st->bad, 1);
        }
        /* churn the configuration too (cmocka asserts belong to the main thread) */
        if ((lcg(&seed) & 1023u) == 0 && !vplic_write(st->p, thr_off(c->ctx), 4, lcg(&seed) & 1u))
            atomic_fetch_add(&st->bad, 1);
    }
    return NULL;
}

static void test_stress_two_threads(void **state)
{
    static struct stress st; /* large-ish; keep off the stack */
    pthread_t raiser, claimers[NCTX];
    struct claimer cl[NCTX];

    (void)state;
    memset(&st, 0, sizeof(st));
    st.p = vplic_create(STRESS_SRC, NCTX, stress_notify, &st);
    assert_non_null(st.p);
    for (unsigned s = 1; s < STRESS_SRC; s++) {
        set_prio(st.p, s, 1 + s % 7);
        set_enable(st.p, 0, s, true);
        if (s % 2) /* odd sources are shared by both contexts */
            set_enable(st.p, 1, s, true);
    }

    for (unsigned c = 0; c < NCTX; c++) {
        cl[c].st = &st;
        cl[c].ctx = c;
        assert_int_equal(pthread_create(&claimers[c], NULL, stress_claimer, &cl[c]), 0);
    }
    assert_int_equal(pthread_create(&raiser, NULL, stress_raiser, &st), 0);
    assert_int_equal(pthread_join(raiser, NULL), 0);
    atomic_store(&st.stop, true);
    for (unsigned c = 0; c < NCTX; c++)
        assert_int_equal(pthread_join(claimers[c], NULL), 0);

    assert_int_equal(atomic_load(&st.bad), 0);
    assert_int_equal(st.alternation_errors, 0);
    assert_true(atomic_load(&st.claims) > 0);
    for (unsigned c = 0; c < NCTX; c++) {
        /* the recorded level agrees with what the hart would poll */
        assert_int_equal(st.last[c], vplic_pending(st.p, c));
        assert_true(st.events[c] > 0);
    }

    /* Nothing is in service now: every source whose line is high is pending,
       so dropping every line must leave nothing pending and both lines low. */
    for (unsigned s = 1; s < STRESS_SRC; s++)
        vplic_set_irq(st.p, s, false);
    assert_int_equal(rd(st.p, VPLIC_PENDING_BASE), 0);
    assert_int_equal(rd(st.p, VPLIC_PENDING_BASE + 4), 0);
    for (unsigned c = 0; c < NCTX; c++) {
        assert_false(vplic_pending(st.p, c));
        assert_false(st.last[c]);
        wr(st.p, thr_off(c), 0);
        assert_int_equal(claim(st.p, c), 0);
    }
    /* and every source still works: raise all, claim all exactly once */
    for (unsigned s = 1; s < STRESS_SRC; s++)
        vplic_set_irq(st.p, s, true);
    unsigned got = 0;
    uint64_t seen_mask = 0;
    for (uint32_t id; (id = claim(st.p, 0)) != 0; got++) {
        assert_true(id < STRESS_SRC);
        assert_false((seen_mask >> id) & 1u);
        seen_mask |= UINT64_C(1) << id;
    }
    assert_int_equal(got, STRESS_SRC - 1);
    assert_false(vplic_pending(st.p, 1));
    vplic_destroy(st.p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_args),
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_priority_threshold_gating),
        cmocka_unit_test(test_claim_order),
        cmocka_unit_test(test_claim_clears_pending),
        cmocka_unit_test(test_complete_repends_high_line),
        cmocka_unit_test(test_lowered_before_claim),
        cmocka_unit_test(test_complete_not_enabled_ignored),
        cmocka_unit_test(test_two_contexts),
        cmocka_unit_test(test_notify_exactly_on_change),
        cmocka_unit_test(test_hostile_access),
        cmocka_unit_test(test_odd_source_count),
        cmocka_unit_test(test_stress_two_threads),
    };
    return cmocka_run_group_tests_name("vplic", tests, NULL, NULL);
}
