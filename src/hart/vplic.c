/* SPDX-License-Identifier: MIT */
/*
 * vplic.c - the guest's PLIC (see vplic.h for the model).
 *
 * State is bitmaps of 32-bit words indexed by source (bit s%32 of word
 * s/32), which is also the guest-visible layout of the pending and enable
 * registers. Per source: priority, line level, pending, claimed (in the
 * gateway, awaiting completion). Per context: enable bitmap, threshold and
 * the last level reported through notify.
 *
 * Every mutation happens under one mutex and ends by re-evaluating the
 * contexts it can affect; a context whose computed line differs from the
 * recorded one is updated and notified. The recorded line is also an atomic
 * so vplic_pending() (which the hart may poll often) needs no lock.
 */
#include "hart/vplic.h"

#include "hart/dvext.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define WORD_BITS 32u

struct vplic {
    pthread_mutex_t lock;
    unsigned nsources; /* including source 0 */
    unsigned ncontexts;
    unsigned nwords;  /* words per source bitmap */
    uint64_t map_end; /* first offset past the last context's block */
    vplic_notify_fn notify;
    void *opaque;

    uint8_t *priority;  /* [nsources] */
    uint32_t *level;    /* [nwords] line as set by the hypervisor */
    uint32_t *pending;  /* [nwords] */
    uint32_t *claimed;  /* [nwords] claimed, not yet completed */
    uint32_t *enable;   /* [ncontexts * nwords] */
    uint8_t *threshold; /* [ncontexts] */
    atomic_bool *line;  /* [ncontexts] last level reported via notify */
};

static inline bool bit_test(const uint32_t *map, unsigned n)
{
    return (map[n / WORD_BITS] >> (n % WORD_BITS)) & 1u;
}

static inline void bit_set(uint32_t *map, unsigned n)
{
    map[n / WORD_BITS] |= UINT32_C(1) << (n % WORD_BITS);
}

static inline void bit_clear(uint32_t *map, unsigned n)
{
    map[n / WORD_BITS] &= ~(UINT32_C(1) << (n % WORD_BITS));
}

static inline uint32_t *ctx_enable(struct vplic *p, unsigned ctx)
{
    return &p->enable[(size_t)ctx * p->nwords];
}

/* Bits of word w that name real sources (source 0 and ids >= nsources are
   not implemented, so their enable bits are hardwired to 0). */
static uint32_t valid_mask(const struct vplic *p, unsigned w)
{
    uint32_t m = UINT32_MAX;
    unsigned first = w * WORD_BITS;

    if (p->nsources - first < WORD_BITS)
        m = (UINT32_C(1) << (p->nsources - first)) - 1u;
    if (w == 0)
        m &= ~UINT32_C(1);
    return m;
}

/*
 * The best claimable source for ctx: pending, enabled, priority above the
 * threshold; highest priority wins, ties go to the lowest id because the
 * scan is ascending and only a strictly higher priority replaces. 0 if none.
 */
static unsigned best_source(struct vplic *p, unsigned ctx)
{
    const uint32_t *en = ctx_enable(p, ctx);
    unsigned best = 0;
    unsigned best_prio = p->threshold[ctx];

    for (unsigned w = 0; w < p->nwords; w++) {
        uint32_t bits = p->pending[w] & en[w];

        while (bits) {
            unsigned s = w * WORD_BITS + (unsigned)__builtin_ctz(bits);

            bits &= bits - 1u;
            if (p->priority[s] > best_prio) {
                best_prio = p->priority[s];
                best = s;
                if (best_prio == VPLIC_MAX_PRIORITY)
                    return best;
            }
        }
    }
    return best;
}

/* Re-evaluate ctx's line; notify on change. Lock held. */
static void update_context(struct vplic *p, unsigned ctx)
{
    bool now = best_source(p, ctx) != 0;

    if (now == atomic_load_explicit(&p->line[ctx], memory_order_relaxed))
        return;
    atomic_store_explicit(&p->line[ctx], now, memory_order_release);
    if (p->notify)
        p->notify(p->opaque, ctx, now);
}

/* A change to source s (pending or priority) only matters where it is
   enabled. Lock held. */
static void update_source(struct vplic *p, unsigned s)
{
    for (unsigned c = 0; c < p->ncontexts; c++)
        if (bit_test(ctx_enable(p, c), s))
            update_context(p, c);
}

/* Gateway: a high line not already in service becomes (or stays) pending; a
   low line withdraws an unclaimed request. Returns true if pending changed. */
static bool gateway(struct vplic *p, unsigned s)
{
    bool want = bit_test(p->level, s) && !bit_test(p->claimed, s);

    if (want == bit_test(p->pending, s))
        return false;
    if (want)
        bit_set(p->pending, s);
    else
        bit_clear(p->pending, s);
    return true;
}

struct vplic *vplic_create(unsigned nsources, unsigned ncontexts, vplic_notify_fn notify,
                           void *opaque)
{
    struct vplic *p;

    if (nsources == 0 || nsources > VPLIC_MAX_SOURCES || ncontexts == 0 ||
        ncontexts > VPLIC_MAX_CONTEXTS)
        return NULL;
    p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nsources = nsources;
    p->ncontexts = ncontexts;
    p->nwords = (nsources + WORD_BITS - 1) / WORD_BITS;
    p->map_end = VPLIC_CONTEXT_BASE + (uint64_t)VPLIC_CONTEXT_STRIDE * ncontexts;
    p->notify = notify;
    p->opaque = opaque;
    p->priority = calloc(nsources, sizeof(*p->priority));
    p->level = calloc(p->nwords, sizeof(*p->level));
    p->pending = calloc(p->nwords, sizeof(*p->pending));
    p->claimed = calloc(p->nwords, sizeof(*p->claimed));
    p->enable = calloc((size_t)ncontexts * p->nwords, sizeof(*p->enable));
    p->threshold = calloc(ncontexts, sizeof(*p->threshold));
    p->line = calloc(ncontexts, sizeof(*p->line));
    if (!p->priority || !p->level || !p->pending || !p->claimed || !p->enable || !p->threshold ||
        !p->line || pthread_mutex_init(&p->lock, NULL) != 0) {
        free(p->priority);
        free(p->level);
        free(p->pending);
        free(p->claimed);
        free(p->enable);
        free(p->threshold);
        free(p->line);
        free(p);
        return NULL;
    }
    for (unsigned c = 0; c < ncontexts; c++)
        atomic_init(&p->line[c], false);
    return p;
}

void vplic_destroy(struct vplic *p)
{
    if (!p)
        return;
    pthread_mutex_destroy(&p->lock);
    free(p->priority);
    free(p->level);
    free(p->pending);
    free(p->claimed);
    free(p->enable);
    free(p->threshold);
    free(p->line);
    free(p);
}

/* The checks every guest access must pass before it is decoded. */
static bool access_ok(const struct vplic *p, uint64_t offset, unsigned size)
{
    return size == 4 && (offset & 3u) == 0 && offset < p->map_end;
}

/* Claim for ctx. Lock held. */
static uint32_t claim(struct vplic *p, unsigned ctx)
{
    unsigned s = best_source(p, ctx);

    if (s == 0)
        return 0;
    bit_clear(p->pending, s);
    bit_set(p->claimed, s);
    update_source(p, s);
    return s;
}

/* Completion for ctx. Lock held. */
static void complete(struct vplic *p, unsigned ctx, uint32_t id)
{
    /* The spec lets us ignore ids not enabled for the target; the range
       check comes first so the enable lookup stays inside the bitmap. */
    if (id == 0 || id >= p->nsources || !bit_test(ctx_enable(p, ctx), id))
        return;
    bit_clear(p->claimed, id);
    if (gateway(p, id))
        update_source(p, id);
}

bool vplic_read(struct vplic *p, uint64_t offset, unsigned size, uint32_t *value)
{
    uint32_t v = 0;

    if (!p || !value || !access_ok(p, offset, size))
        return false;

    pthread_mutex_lock(&p->lock);
    if (offset < VPLIC_PENDING_BASE) {
        uint64_t s = (offset - VPLIC_PRIORITY_BASE) / 4;

        if (s != 0 && s < p->nsources)
            v = p->priority[s];
    } else if (offset < VPLIC_ENABLE_BASE) {
        uint64_t w = (offset - VPLIC_PENDING_BASE) / 4;

        if (w < p->nwords)
            v = p->pending[w];
    } else if (offset < VPLIC_CONTEXT_BASE) {
        uint64_t ctx = (offset - VPLIC_ENABLE_BASE) / VPLIC_ENABLE_STRIDE;
        uint64_t w = (offset - VPLIC_ENABLE_BASE) % VPLIC_ENABLE_STRIDE / 4;

        if (ctx < p->ncontexts && w < p->nwords)
            v = ctx_enable(p, (unsigned)ctx)[w];
    } else {
        /* access_ok() bounds ctx by ncontexts */
        unsigned ctx = (unsigned)((offset - VPLIC_CONTEXT_BASE) / VPLIC_CONTEXT_STRIDE);
        uint64_t reg = (offset - VPLIC_CONTEXT_BASE) % VPLIC_CONTEXT_STRIDE;

        if (reg == VPLIC_THRESHOLD)
            v = p->threshold[ctx];
        else if (reg == VPLIC_CLAIM)
            v = claim(p, ctx);
    }
    pthread_mutex_unlock(&p->lock);
    *value = v;
    return true;
}

bool vplic_write(struct vplic *p, uint64_t offset, unsigned size, uint32_t value)
{
    if (!p || !access_ok(p, offset, size))
        return false;

    pthread_mutex_lock(&p->lock);
    if (offset < VPLIC_PENDING_BASE) {
        uint64_t s = (offset - VPLIC_PRIORITY_BASE) / 4;

        if (s != 0 && s < p->nsources) {
            p->priority[s] = (uint8_t)(value & VPLIC_MAX_PRIORITY);
            update_source(p, (unsigned)s);
        }
    } else if (offset < VPLIC_ENABLE_BASE) {
        /* pending bits are read-only: only the gateway and claims move them */
    } else if (offset < VPLIC_CONTEXT_BASE) {
        uint64_t ctx = (offset - VPLIC_ENABLE_BASE) / VPLIC_ENABLE_STRIDE;
        uint64_t w = (offset - VPLIC_ENABLE_BASE) % VPLIC_ENABLE_STRIDE / 4;

        if (ctx < p->ncontexts && w < p->nwords) {
            ctx_enable(p, (unsigned)ctx)[w] = value & valid_mask(p, (unsigned)w);
            update_context(p, (unsigned)ctx);
        }
    } else {
        unsigned ctx = (unsigned)((offset - VPLIC_CONTEXT_BASE) / VPLIC_CONTEXT_STRIDE);
        uint64_t reg = (offset - VPLIC_CONTEXT_BASE) % VPLIC_CONTEXT_STRIDE;

        if (reg == VPLIC_THRESHOLD) {
            p->threshold[ctx] = (uint8_t)(value & VPLIC_MAX_PRIORITY);
            update_context(p, ctx);
        } else if (reg == VPLIC_CLAIM) {
            complete(p, ctx, value);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return true;
}

void vplic_set_irq(struct vplic *p, unsigned source, bool level)
{
    /* nsources never changes after creation, so checking it unlocked is safe */
    if (!p || source == 0 || source >= p->nsources)
        return;

    pthread_mutex_lock(&p->lock);
    if (level)
        bit_set(p->level, source);
    else
        bit_clear(p->level, source);
    if (gateway(p, source))
        update_source(p, source);
    pthread_mutex_unlock(&p->lock);
}

bool vplic_pending(struct vplic *p, unsigned context)
{
    if (!p || context >= p->ncontexts)
        return false;
    return atomic_load_explicit(&p->line[context], memory_order_acquire);
}

void vplic_save(struct vplic *p, struct dv_plic_state *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&p->lock);
    out->nsources = p->nsources;
    out->ncontexts = p->ncontexts;
    memcpy(out->priority, p->priority, p->nsources);
    memcpy(out->pending, p->pending, p->nwords * sizeof(uint32_t));
    memcpy(out->claimed, p->claimed, p->nwords * sizeof(uint32_t));
    for (unsigned c = 0; c < p->ncontexts; c++)
        memcpy(out->enable[c], ctx_enable(p, c), p->nwords * sizeof(uint32_t));
    memcpy(out->threshold, p->threshold, p->ncontexts);
    pthread_mutex_unlock(&p->lock);
}

static bool state_valid(const struct vplic *p, const struct dv_plic_state *in)
{
    if (in->nsources != p->nsources || in->ncontexts != p->ncontexts)
        return false;
    for (unsigned s = 0; s < DV_PLIC_MAX_SOURCES; s++)
        if (in->priority[s] > VPLIC_MAX_PRIORITY || (s >= p->nsources && in->priority[s]))
            return false;
    for (unsigned w = 0; w < DV_PLIC_WORDS; w++) {
        uint32_t valid = w < p->nwords ? valid_mask(p, w) : 0;
        if ((in->pending[w] | in->claimed[w]) & ~valid)
            return false;
        for (unsigned c = 0; c < DV_PLIC_MAX_CONTEXTS; c++)
            if (in->enable[c][w] & ~(c < p->ncontexts ? valid : 0))
                return false;
    }
    for (unsigned c = 0; c < DV_PLIC_MAX_CONTEXTS; c++)
        if (in->threshold[c] > VPLIC_MAX_PRIORITY || (c >= p->ncontexts && in->threshold[c]))
            return false;
    return true;
}

bool vplic_restore(struct vplic *p, const struct dv_plic_state *in)
{
    if (!state_valid(p, in))
        return false;
    pthread_mutex_lock(&p->lock);
    memcpy(p->priority, in->priority, p->nsources);
    memcpy(p->pending, in->pending, p->nwords * sizeof(uint32_t));
    memcpy(p->claimed, in->claimed, p->nwords * sizeof(uint32_t));
    memset(p->level, 0, p->nwords * sizeof(uint32_t));
    for (unsigned c = 0; c < p->ncontexts; c++)
        memcpy(ctx_enable(p, c), in->enable[c], p->nwords * sizeof(uint32_t));
    memcpy(p->threshold, in->threshold, p->ncontexts);
    for (unsigned c = 0; c < p->ncontexts; c++)
        update_context(p, c);
    pthread_mutex_unlock(&p->lock);
    return true;
}
