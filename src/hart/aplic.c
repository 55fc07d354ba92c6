/* SPDX-License-Identifier: MIT */
/*
 * aplic.c - the guest's APLIC supervisor domain (see aplic.h for the model).
 *
 * State is aplic_state itself, under one mutex. Every mutation ends in
 * deliver(): in MSI mode it forwards what is pending and enabled; in direct
 * mode it re-evaluates each IDC's line and notifies on a change.
 */
#include "hart/aplic.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define TARGET_HART_SHIFT 18
#define TARGET_HART_MASK  0xfffc0000u
#define TARGET_EIID_MASK  0x7ffu
#define TARGET_IPRIO_MASK 0xffu
#define GENMSI_MASK       (TARGET_HART_MASK | TARGET_EIID_MASK)

struct aplic {
    pthread_mutex_t lock;
    struct aplic_state s;
    bool line[APLIC_MAX_HARTS]; /* last IDC level reported through idc_notify */
    aplic_msi_fn msi;
    aplic_idc_notify_fn idc_notify;
    void *opaque;
};

static inline bool bit(const uint32_t *map, unsigned n)
{
    return (map[n / 32] >> (n % 32)) & 1u;
}

static inline void put_bit(uint32_t *map, unsigned n, bool v)
{
    if (v)
        map[n / 32] |= 1u << (n % 32);
    else
        map[n / 32] &= ~(1u << (n % 32));
}

static inline unsigned sm(const struct aplic *a, unsigned s)
{
    return a->s.sourcecfg[s] & 7u;
}

static inline bool msi_mode(const struct aplic *a)
{
    return a->s.domaincfg & APLIC_DOMAINCFG_DM;
}

static inline bool active(const struct aplic *a, unsigned s)
{
    return s != 0 && s < a->s.nsources && sm(a, s) != APLIC_SM_INACTIVE;
}

static inline bool level_mode(unsigned mode)
{
    return mode == APLIC_SM_LEVEL1 || mode == APLIC_SM_LEVEL0;
}

/* The wire as the source mode reads it: 0 for inactive and detached. */
static bool rectified(const struct aplic *a, unsigned s)
{
    unsigned mode = sm(a, s);
    if (mode < APLIC_SM_EDGE1)
        return false;
    return bit(a->s.input, s) ^ (mode == APLIC_SM_EDGE0 || mode == APLIC_SM_LEVEL0);
}

/* Direct mode: the best pending-and-enabled source for hart under its
   threshold (lowest priority number, then lowest id), as topi: id << 16 |
   priority, or 0. Lock held. */
static uint32_t topi(const struct aplic *a, unsigned hart)
{
    if (msi_mode(a) || hart >= a->s.nharts)
        return 0;
    unsigned best = 0, best_prio = 256, threshold = a->s.ithreshold[hart];
    for (unsigned w = 0; w * 32 < a->s.nsources; w++) {
        uint32_t bits = a->s.pending[w] & a->s.enable[w];
        while (bits) {
            unsigned s = w * 32 + (unsigned)__builtin_ctz(bits);
            bits &= bits - 1;
            uint32_t t = a->s.target[s];
            unsigned prio = t & TARGET_IPRIO_MASK;
            if (t >> TARGET_HART_SHIFT != hart || (threshold && prio >= threshold))
                continue;
            if (prio < best_prio) {
                best_prio = prio;
                best = s;
            }
        }
    }
    return best ? (uint32_t)best << 16 | best_prio : 0;
}

/* Send what is due. Lock held. */
static void deliver(struct aplic *a)
{
    bool ie = a->s.domaincfg & APLIC_DOMAINCFG_IE;
    if (msi_mode(a)) {
        for (unsigned w = 0; ie && w * 32 < a->s.nsources; w++) {
            uint32_t bits = a->s.pending[w] & a->s.enable[w];
            a->s.pending[w] &= ~bits;
            while (bits) {
                unsigned s = w * 32 + (unsigned)__builtin_ctz(bits);
                bits &= bits - 1;
                uint32_t t = a->s.target[s];
                if (a->msi)
                    a->msi(a->opaque, t >> TARGET_HART_SHIFT, t & TARGET_EIID_MASK);
            }
        }
    }
    for (unsigned h = 0; h < a->s.nharts; h++) {
        bool now = ie && !msi_mode(a) && a->s.idelivery[h] && (a->s.iforce[h] || topi(a, h));
        if (now != a->line[h]) {
            a->line[h] = now;
            if (a->idc_notify)
                a->idc_notify(a->opaque, h, now);
        }
    }
}

struct aplic *aplic_create(unsigned nsources, unsigned nharts, aplic_msi_fn msi,
                           aplic_idc_notify_fn idc_notify, void *opaque)
{
    if (nsources < 2 || nsources > APLIC_MAX_SOURCES || nharts == 0 || nharts > APLIC_MAX_HARTS)
        return NULL;
    struct aplic *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    pthread_mutex_init(&a->lock, NULL);
    a->s.nsources = nsources;
    a->s.nharts = nharts;
    a->msi = msi;
    a->idc_notify = idc_notify;
    a->opaque = opaque;
    return a;
}

void aplic_destroy(struct aplic *a)
{
    if (!a)
        return;
    pthread_mutex_destroy(&a->lock);
    free(a);
}

/* Bits of bitmap word w that name active sources. Lock held. */
static uint32_t active_mask(const struct aplic *a, unsigned w)
{
    uint32_t m = 0;
    for (unsigned i = 0; i < 32; i++)
        if (active(a, w * 32 + i))
            m |= 1u << i;
    return m;
}

/* A write of setip/setipnum for source s (active). Lock held. */
static void set_pending_by_write(struct aplic *a, unsigned s)
{
    unsigned mode = sm(a, s);
    if (level_mode(mode) && (!msi_mode(a) || !rectified(a, s)))
        return; /* direct: pending follows the wire; MSI: only while it is high */
    put_bit(a->s.pending, s, true);
}

/* A write of in_clrip/clripnum, or a claim (claim = true). Lock held. */
static void clear_pending_by_write(struct aplic *a, unsigned s, bool claim)
{
    if (level_mode(sm(a, s)) && (claim || !msi_mode(a)))
        return; /* direct mode: pending follows the wire; a claim never clears a level */
    put_bit(a->s.pending, s, false);
}

static bool num_ok(const struct aplic *a, uint32_t v)
{
    return v < a->s.nsources && active(a, v);
}

static void write_sourcecfg(struct aplic *a, unsigned s, uint32_t value)
{
    uint32_t mode = value & 7u;
    /* A leaf domain: D = 1 zeroes the register; reserved modes are inactive (WARL). */
    if ((value & APLIC_SOURCECFG_D) || mode == 2 || mode == 3)
        mode = APLIC_SM_INACTIVE;
    a->s.sourcecfg[s] = mode;
    if (mode == APLIC_SM_INACTIVE) {
        put_bit(a->s.pending, s, false);
        put_bit(a->s.enable, s, false);
        a->s.target[s] = 0;
        return;
    }
    if (level_mode(mode)) {
        if (rectified(a, s))
            put_bit(a->s.pending, s, true);
        else
            put_bit(a->s.pending, s, false);
    }
    if (!msi_mode(a) && (a->s.target[s] & TARGET_IPRIO_MASK) == 0)
        a->s.target[s] |= 1; /* IPRIO is never 0 */
}

static uint32_t normalize_target(const struct aplic *a, uint32_t value)
{
    if (msi_mode(a))
        return value & (TARGET_HART_MASK | TARGET_EIID_MASK); /* Guest Index read-only 0 */
    uint32_t t = value & (TARGET_HART_MASK | TARGET_IPRIO_MASK);
    return (t & TARGET_IPRIO_MASK) ? t : t | 1;
}

static void write_domaincfg(struct aplic *a, uint32_t value)
{
    uint32_t old = a->s.domaincfg;
    a->s.domaincfg = value & (APLIC_DOMAINCFG_IE | APLIC_DOMAINCFG_DM);
    if ((old ^ a->s.domaincfg) & APLIC_DOMAINCFG_DM) {
        /* Targets of active sources take the new mode's format; pending
           bits of level sources in direct mode follow the wire again. */
        for (unsigned s = 1; s < a->s.nsources; s++) {
            if (!active(a, s))
                continue;
            a->s.target[s] = normalize_target(a, a->s.target[s]);
            if (!msi_mode(a) && level_mode(sm(a, s)))
                put_bit(a->s.pending, s, rectified(a, s));
        }
        if (!msi_mode(a))
            a->s.genmsi = 0;
    }
}

static bool access_ok(uint64_t offset, unsigned size)
{
    return size == 4 && (offset & 3) == 0 &&
           offset < APLIC_IDC_BASE + APLIC_IDC_STRIDE * APLIC_MAX_HARTS;
}

static uint32_t read_idc(struct aplic *a, unsigned hart, unsigned reg)
{
    if (hart >= a->s.nharts)
        return 0; /* IDCs of no hart are read-only zeros */
    switch (reg) {
    case APLIC_IDELIVERY: return a->s.idelivery[hart];
    case APLIC_IFORCE: return a->s.iforce[hart];
    case APLIC_ITHRESHOLD: return a->s.ithreshold[hart];
    case APLIC_TOPI: return topi(a, hart);
    case APLIC_CLAIMI: {
        uint32_t v = topi(a, hart);
        if (v)
            clear_pending_by_write(a, v >> 16, true);
        else
            a->s.iforce[hart] = 0;
        deliver(a);
        return v;
    }
    }
    return 0;
}

static void write_idc(struct aplic *a, unsigned hart, unsigned reg, uint32_t value)
{
    if (hart >= a->s.nharts)
        return;
    switch (reg) {
    case APLIC_IDELIVERY: a->s.idelivery[hart] = value & 1; break;
    case APLIC_IFORCE: a->s.iforce[hart] = value & 1; break;
    case APLIC_ITHRESHOLD: a->s.ithreshold[hart] = value & 0xff; break;
    }
}

bool aplic_read(struct aplic *a, uint64_t offset, unsigned size, uint32_t *value)
{
    if (!a || !access_ok(offset, size))
        return false;
    uint32_t v = 0;
    unsigned o = (unsigned)offset;
    pthread_mutex_lock(&a->lock);
    if (o == APLIC_DOMAINCFG) {
        v = APLIC_DOMAINCFG_RO | a->s.domaincfg;
    } else if (o < APLIC_SOURCECFG + 4 * (APLIC_MAX_SOURCES - 1)) {
        unsigned s = (o - APLIC_SOURCECFG) / 4 + 1;
        v = s < a->s.nsources ? a->s.sourcecfg[s] : 0;
    } else if (o >= APLIC_SETIP && o < APLIC_SETIP + 4 * APLIC_WORDS) {
        v = a->s.pending[(o - APLIC_SETIP) / 4];
    } else if (o >= APLIC_IN_CLRIP && o < APLIC_IN_CLRIP + 4 * APLIC_WORDS) {
        unsigned w = (o - APLIC_IN_CLRIP) / 4;
        for (unsigned i = 0; i < 32; i++)
            if (w * 32 + i < a->s.nsources && rectified(a, w * 32 + i))
                v |= 1u << i;
    } else if (o >= APLIC_SETIE && o < APLIC_SETIE + 4 * APLIC_WORDS) {
        v = a->s.enable[(o - APLIC_SETIE) / 4];
    } else if (o == APLIC_GENMSI) {
        v = msi_mode(a) ? a->s.genmsi : 0;
    } else if (o >= APLIC_TARGET && o < APLIC_IDC_BASE) {
        unsigned s = (o - APLIC_TARGET) / 4 + 1;
        v = s < a->s.nsources ? a->s.target[s] : 0;
    } else if (o >= APLIC_IDC_BASE) {
        v = read_idc(a, (o - APLIC_IDC_BASE) / APLIC_IDC_STRIDE,
                     (o - APLIC_IDC_BASE) % APLIC_IDC_STRIDE);
    }
    /* everything else (the *num registers, clrie, MSI address configuration,
       setipnum_le/be) reads zero */
    pthread_mutex_unlock(&a->lock);
    *value = v;
    return true;
}

bool aplic_write(struct aplic *a, uint64_t offset, unsigned size, uint32_t value)
{
    if (!a || !access_ok(offset, size))
        return false;
    unsigned o = (unsigned)offset;
    pthread_mutex_lock(&a->lock);
    if (o == APLIC_DOMAINCFG) {
        write_domaincfg(a, value);
    } else if (o < APLIC_SOURCECFG + 4 * (APLIC_MAX_SOURCES - 1)) {
        unsigned s = (o - APLIC_SOURCECFG) / 4 + 1;
        if (s < a->s.nsources)
            write_sourcecfg(a, s, value);
    } else if (o >= APLIC_SETIP && o < APLIC_SETIP + 4 * APLIC_WORDS) {
        unsigned w = (o - APLIC_SETIP) / 4;
        uint32_t bits = value & active_mask(a, w);
        for (unsigned i = 0; i < 32; i++)
            if (bits & (1u << i))
                set_pending_by_write(a, w * 32 + i);
    } else if (o == APLIC_SETIPNUM || o == APLIC_SETIPNUM_LE) {
        if (num_ok(a, value))
            set_pending_by_write(a, value);
    } else if (o >= APLIC_IN_CLRIP && o < APLIC_IN_CLRIP + 4 * APLIC_WORDS) {
        unsigned w = (o - APLIC_IN_CLRIP) / 4;
        uint32_t bits = value & active_mask(a, w);
        for (unsigned i = 0; i < 32; i++)
            if (bits & (1u << i))
                clear_pending_by_write(a, w * 32 + i, false);
    } else if (o == APLIC_CLRIPNUM) {
        if (num_ok(a, value))
            clear_pending_by_write(a, value, false);
    } else if (o >= APLIC_SETIE && o < APLIC_SETIE + 4 * APLIC_WORDS) {
        unsigned w = (o - APLIC_SETIE) / 4;
        a->s.enable[w] |= value & active_mask(a, w);
    } else if (o == APLIC_SETIENUM) {
        if (num_ok(a, value))
            put_bit(a->s.enable, value, true);
    } else if (o >= APLIC_CLRIE && o < APLIC_CLRIE + 4 * APLIC_WORDS) {
        a->s.enable[(o - APLIC_CLRIE) / 4] &= ~value;
    } else if (o == APLIC_CLRIENUM) {
        if (num_ok(a, value))
            put_bit(a->s.enable, value, false);
    } else if (o == APLIC_GENMSI) {
        if (msi_mode(a)) {
            a->s.genmsi = value & GENMSI_MASK;
            /* sent at once, IE or not; Busy is never seen */
            if (a->msi)
                a->msi(a->opaque, a->s.genmsi >> TARGET_HART_SHIFT, a->s.genmsi & TARGET_EIID_MASK);
        }
    } else if (o >= APLIC_TARGET && o < APLIC_IDC_BASE) {
        unsigned s = (o - APLIC_TARGET) / 4 + 1;
        if (active(a, s))
            a->s.target[s] = normalize_target(a, value);
    } else if (o >= APLIC_IDC_BASE) {
        write_idc(a, (o - APLIC_IDC_BASE) / APLIC_IDC_STRIDE,
                  (o - APLIC_IDC_BASE) % APLIC_IDC_STRIDE, value);
    }
    deliver(a);
    pthread_mutex_unlock(&a->lock);
    return true;
}

void aplic_set_irq(struct aplic *a, unsigned source, bool level)
{
    if (!a || source == 0 || source >= a->s.nsources)
        return;
    pthread_mutex_lock(&a->lock);
    bool before = rectified(a, source);
    put_bit(a->s.input, source, level);
    bool now = rectified(a, source);
    unsigned mode = sm(a, source);
    if (mode >= APLIC_SM_EDGE1) {
        if (now && !before)
            put_bit(a->s.pending, source, true); /* a rising rectified input */
        else if (level_mode(mode) && (!now || !msi_mode(a)))
            put_bit(a->s.pending, source, now); /* a level source is never pending while low */
    }
    deliver(a);
    pthread_mutex_unlock(&a->lock);
}

void aplic_save(struct aplic *a, struct aplic_state *out)
{
    pthread_mutex_lock(&a->lock);
    *out = a->s;
    pthread_mutex_unlock(&a->lock);
}

static bool state_valid(const struct aplic *a, const struct aplic_state *in)
{
    if (in->nsources != a->s.nsources || in->nharts != a->s.nharts ||
        in->domaincfg & ~(APLIC_DOMAINCFG_IE | APLIC_DOMAINCFG_DM) || in->genmsi & ~GENMSI_MASK)
        return false;
    bool msi = in->domaincfg & APLIC_DOMAINCFG_DM;
    uint32_t tmask =
        msi ? TARGET_HART_MASK | TARGET_EIID_MASK : TARGET_HART_MASK | TARGET_IPRIO_MASK;
    for (unsigned s = 0; s < APLIC_MAX_SOURCES; s++) {
        uint32_t cfg = in->sourcecfg[s];
        bool exists = s != 0 && s < in->nsources;
        bool act = exists && cfg != APLIC_SM_INACTIVE;
        if (cfg > 7 || cfg == 2 || cfg == 3 || (!exists && cfg) ||
            (!act && (in->target[s] || bit(in->pending, s) || bit(in->enable, s))) ||
            (act && (in->target[s] & ~tmask || (!msi && !(in->target[s] & TARGET_IPRIO_MASK)))) ||
            (!exists && bit(in->input, s)))
            return false;
    }
    for (unsigned h = 0; h < APLIC_MAX_HARTS; h++) {
        bool exists = h < in->nharts;
        if (in->idelivery[h] > (exists ? 1u : 0u) || in->iforce[h] > (exists ? 1u : 0u) ||
            in->ithreshold[h] > (exists ? 0xffu : 0u))
            return false;
    }
    return true;
}

bool aplic_restore(struct aplic *a, const struct aplic_state *in)
{
    if (!a || !state_valid(a, in))
        return false;
    pthread_mutex_lock(&a->lock);
    a->s = *in;
    deliver(a);
    pthread_mutex_unlock(&a->lock);
    return true;
}
