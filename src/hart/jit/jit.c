/*
 * The JIT's dispatcher, code cache and invalidation.
 *
 * dv_enter() hands a hart to jit_run(), which loops: look at asynchronous
 * events when asked to (timer.c), find the region for (pc, host, priv) or
 * translate it once it is hot, run it, and act on why it came back. Cold
 * code, and instructions regions do not hold (CSRs, system instructions),
 * run in the interpreter one basic block at a time.
 *
 * Coherence with guest memory (the interpreter needs none: it compares the
 * raw bits of every cached decode): every RAM page that code was translated
 * from is marked PAGE_CODE; no hart's store TLB maps such a page, so every
 * store to it takes mmu_store_slow(), which bumps the page's epoch and makes
 * the storing hart leave its region. Devices and the hypervisor bump epochs
 * through dv_mem_written(). The dispatcher compares a region's epoch with its
 * page's before entering it, and chains are only patched between regions of
 * the same page, so stale code is never entered anew; another hart's stale
 * region already running ends within one JIT_SLICE, and at once on fence.i
 * (which always runs through the dispatcher).
 */
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "hart/exec_crypto.h"
#include "hart/exec_int.h"
#include "hart/fpu.h"
#include "hart/exec_mem.h"
#include "hart/interp.h"
#include "hart/jit/jit_internal.h"
#include "hart/jit/verify.h"
#include "hart/mmu.h"
#include "hart/timer.h"
#include "hart/trap.h"

/* --- which pages hold code ------------------------------------------------------------- */

bool jit_page_find(const struct jit_pages *p, uintptr_t host, const struct jit_window **w,
                   size_t *index)
{
    for (unsigned i = 0; i < p->nwindows; i++) {
        const struct jit_window *win = &p->w[i];
        size_t idx = (host - win->start) >> PAGE_SHIFT;
        if (host >= win->start && idx < win->npages) {
            *w = win;
            *index = idx;
            return true;
        }
    }
    return false;
}

static void pages_free(struct jit_pages *p)
{
    for (unsigned k = 0; k < p->nwindows; k++) {
        free((void *)p->w[k].state);
        free((void *)p->w[k].epoch);
        free((void *)p->w[k].rewrites);
        free((void *)p->w[k].rewritten_at);
    }
    free(p);
}

static struct jit_pages *pages_create(const struct dv_machine *m)
{
    struct jit_pages *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->nwindows = m->nwindows;
    for (unsigned i = 0; i < m->nwindows; i++) {
        struct jit_window *w = &p->w[i];
        w->start = m->windows[i].start;
        w->npages = (m->windows[i].end - m->windows[i].start) >> PAGE_SHIFT;
        w->state = calloc(w->npages, sizeof(*w->state));
        w->epoch = calloc(w->npages, sizeof(*w->epoch));
        w->rewrites = calloc(w->npages, sizeof(*w->rewrites));
        w->rewritten_at = calloc(w->npages, sizeof(*w->rewritten_at));
        if (!w->state || !w->epoch || !w->rewrites || !w->rewritten_at) {
            p->nwindows = i + 1;
            pages_free(p);
            return NULL;
            free(p);
            return NULL;
        }
    }
    return p;
}

void jit_pages_destroy(struct dv_machine *m)
{
    if (m->code_pages)
        pages_free(m->code_pages);
    m->code_pages = NULL;
}

bool jit_store_blocked(const struct dv_machine *m, uintptr_t host)
{
    const struct jit_window *w;
    size_t i;
    if (m->engine.verify) /* every store is logged on the slow path */
        return m->code_pages != NULL;
    return m->code_pages && jit_page_find(m->code_pages, host, &w, &i) &&
           atomic_load_explicit(&w->state[i], memory_order_relaxed) == PAGE_CODE;
}

/* The page's code changed: every region translated from it is stale, so
   the page is plain data again (stores may use the TLB) until code is
   translated from it anew; one that keeps flipping is left to the
   interpreter for good. */
static void page_rewritten(struct dv_machine *m, const struct jit_window *w, size_t i)
{
    atomic_fetch_add(&m->code_generation, 1);
    uint32_t now = (uint32_t)(dv_host_time() / (DV_TIMEBASE_HZ / 4)); /* 250 ms ticks */
    if (atomic_exchange(&w->rewritten_at[i], now) != now)
        atomic_store(&w->rewrites[i], 0); /* a quiet spell: start counting again */
    bool thrashing = atomic_fetch_add(&w->rewrites[i], 1) + 1 >= JIT_THRASH_LIMIT;
    atomic_store(&w->state[i], thrashing ? PAGE_NOJIT : PAGE_DATA); /* before the epoch */
    atomic_fetch_add(&w->epoch[i], 1);
}

void jit_jc_clear(struct dv_hart *h)
{
    if (!h->jit)
        return;
    if (h->jc_logged > JC_LOG_SIZE) {
        for (unsigned m = 0; m < 8; m++)
            for (unsigned i = 0; i < JC_SIZE; i++)
                h->jit_jc[m][i].pc = JC_EMPTY;
    } else {
        for (unsigned i = 0; i < h->jc_logged; i++)
            h->jit_jc[h->jc_log[i] >> JC_BITS][h->jc_log[i] & (JC_SIZE - 1)].pc = JC_EMPTY;
    }
    h->jc_logged = 0;
}

static void jc_fill(struct dv_hart *h, uint64_t pc, const uint8_t *code)
{
    unsigned mode = region_mode(h), k = (unsigned)(pc >> 1) & (JC_SIZE - 1);
    h->jit_jc[mode][k].pc = pc;
    h->jit_jc[mode][k].code = code;
    if (h->jc_logged < JC_LOG_SIZE)
        h->jc_log[h->jc_logged] = (uint16_t)(mode << JC_BITS | k);
    if (h->jc_logged <= JC_LOG_SIZE)
        h->jc_logged++;
}

/* Jump-cache entries bypass the dispatcher's checks: drop them all when any
   code went stale (on any hart) or the cache was flushed. */
static void jc_revalidate(struct dv_hart *h)
{
    uint64_t gen = atomic_load_explicit(&h->m->code_generation, memory_order_acquire);
    if (gen != h->jc_generation || h->jit->flushed) {
        jit_jc_clear(h);
        h->jit->flushed = false;
        h->jc_generation = gen;
    }
}

/* Whether code may be translated from page i now; a thrashing page gets
   another chance after a quiet spell. */
static bool page_translatable(const struct jit_window *w, size_t i)
{
    if (atomic_load(&w->state[i]) != PAGE_NOJIT)
        return true;
    uint32_t now = (uint32_t)(dv_host_time() / (DV_TIMEBASE_HZ / 4));
    if (now - atomic_load(&w->rewritten_at[i]) < 4)
        return false;
    uint8_t expected = PAGE_NOJIT;
    atomic_compare_exchange_strong(&w->state[i], &expected, PAGE_DATA);
    atomic_store(&w->rewrites[i], 0);
    return true;
}

void jit_code_stored(struct dv_hart *h, uintptr_t host)
{
    const struct jit_window *w;
    size_t i;
    if (!jit_page_find(h->m->code_pages, host, &w, &i) ||
        atomic_load_explicit(&w->state[i], memory_order_relaxed) != PAGE_CODE)
        return;
    page_rewritten(h->m, w, i);
    h->jit_stop = true;
}

void jit_memory_written(struct dv_machine *m, uintptr_t host, size_t len)
{
    if (!m->code_pages || len == 0)
        return;
    for (uintptr_t a = host & PAGE_MASK; a < host + len; a += PAGE_SIZE) {
        const struct jit_window *w;
        size_t i;
        if (jit_page_find(m->code_pages, a, &w, &i) &&
            atomic_load_explicit(&w->state[i], memory_order_relaxed) == PAGE_CODE)
            page_rewritten(m, w, i);
    }
}

/* Drop every hart's store-TLB entries for page i, so the next store there
   takes the slow path. Another hart's store already past its TLB check may
   still land unseen; the window is a few instructions, as in QEMU's
   equivalent. */
static void shoot_down_stores(struct dv_machine *m, const struct jit_window *w, size_t i)
{
    uintptr_t page = w->start + (i << PAGE_SHIFT);
    pthread_mutex_lock(&m->lock);
    for (unsigned k = 0; k < MAX_HARTS; k++) {
        struct dv_hart *o = m->harts[k];
        if (!o)
            continue;
        for (unsigned p = 0; p < 2; p++)
            for (unsigned e = 0; e < TLB_SIZE; e++) {
                struct tlb_entry *t = &o->tlb[p][ACC_STORE][e];
                uint64_t tag = __atomic_load_n(&t->tag, __ATOMIC_RELAXED);
                uintptr_t addend = __atomic_load_n(&t->addend, __ATOMIC_RELAXED);
                if (tag != TLB_INVALID && (uintptr_t)(tag + addend) == page)
                    __atomic_store_n(&t->tag, TLB_INVALID, __ATOMIC_RELAXED);
            }
    }
    pthread_mutex_unlock(&m->lock);
}

/*
 * Make page i a code page and return the epoch that code read from it now
 * carries; false when the page is left to the interpreter. The invariant:
 * a region whose epoch is current comes from a page in state PAGE_CODE.
 * A writer sets the state to data before it bumps the epoch, so reading the
 * epoch and then seeing PAGE_CODE again proves no writer slipped in between.
 */
static bool page_mark_code(struct dv_machine *m, const struct jit_window *w, size_t i,
                           uint32_t *epoch)
{
    for (;;) {
        uint8_t state = atomic_load(&w->state[i]);
        if (state == PAGE_NOJIT)
            return false;
        if (state == PAGE_DATA) {
            if (!atomic_compare_exchange_strong(&w->state[i], &state, PAGE_CODE))
                continue;
            shoot_down_stores(m, w, i);
        }
        *epoch = atomic_load(&w->epoch[i]);
        if (atomic_load(&w->state[i]) == PAGE_CODE)
            return true;
    }
}

/* --- the per-hart cache ------------------------------------------------------------------ */

static void cache_reset(struct jit *j)
{
    j->flushed = true; /* jump caches point into the code about to be reused */
    memset(j->hash, 0, sizeof(j->hash));
    j->nregions = 0;
    j->ninsns = 0;
    j->free = j->code;
    translate_trampolines(j);
    j->stats.code_bytes = (uint64_t)(j->free - j->code);
}

/* Reserve the cache close to our own text so helper calls are call rel32. */
static uint8_t *code_alloc(void)
{
    uintptr_t anchor = (uintptr_t)&jit_run & ~(uintptr_t)0xfffff;
    for (uintptr_t off = 64u << 20; off < (1u << 30); off += 64u << 20) {
        void *want = (void *)(anchor + off);
        void *p = mmap(want, JIT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == want)
            return p;
        if (p != MAP_FAILED)
            munmap(p, JIT_CODE_SIZE);
    }
    void *p = mmap(NULL, JIT_CODE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static struct jit *jit_create(void)
{
    struct jit *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->regions = calloc(JIT_MAX_REGIONS, sizeof(*j->regions));
    j->insns = calloc(JIT_MAX_INSNS, sizeof(*j->insns));
    j->code = code_alloc();
    if (!j->regions || !j->insns || !j->code) {
        if (j->code)
            munmap(j->code, JIT_CODE_SIZE);
        free(j->regions);
        free(j->insns);
        free(j);
        return NULL;
    }
    j->code_end = j->code + JIT_CODE_SIZE;
    j->host_fma = __builtin_cpu_supports("fma");
    cache_reset(j);
    return j;
}

void jit_hart_destroy(struct dv_hart *h)
{
    struct jit *j = h->jit;
    if (!j)
        return;
    munmap(j->code, JIT_CODE_SIZE);
    free(j->regions);
    free(j->insns);
    free(j);
    h->jit = NULL;
}

bool jit_wanted(struct dv_hart *h)
{
    if (h->jit)
        return true;
    if (!h->m->engine.jit || h->jit_failed)
        return false;
    struct dv_machine *m = h->m;
    pthread_mutex_lock(&m->lock);
    if (!m->code_pages)
        m->code_pages = pages_create(m);
    bool have_pages = m->code_pages != NULL;
    pthread_mutex_unlock(&m->lock);
    h->jit = have_pages ? jit_create() : NULL;
    h->jit_failed = h->jit == NULL;
    h->jc_logged = JC_LOG_SIZE + 1; /* all entries hold garbage */
    jit_jc_clear(h);
    /* MXCSR exception flags (IE DE ZE OE UE PE) -> RISC-V fflags (NV DZ OF UF NX);
       DE, a denormal operand, has no RISC-V counterpart. */
    for (unsigned mx = 0; mx < 64; mx++)
        h->jit_fflags_of_mxcsr[mx] =
            (uint8_t)(((mx & 1) ? FP_NV : 0) | ((mx & 4) ? FP_DZ : 0) | ((mx & 8) ? FP_OF : 0) |
                      ((mx & 16) ? FP_UF : 0) | ((mx & 32) ? FP_NX : 0));
    return h->jit != NULL;
}

void jit_fence_i(struct dv_hart *h)
{
    /* Regions are checked against their page's epoch on every entry from
       the dispatcher, and fence.i always returns there: nothing to drop. */
    (void)h;
}

void dv_hart_engine_stats(const struct dv_hart *h, struct dv_engine_stats *s)
{
    if (h->jit)
        *s = h->jit->stats;
    else
        memset(s, 0, sizeof(*s));
}

/* --- lookup and translation ---------------------------------------------------------------- */

static inline unsigned region_hash(uint64_t pc, unsigned mode)
{
    uint64_t k = (pc >> 1) ^ ((uint64_t)mode << 40);
    k *= 0x9e3779b97f4a7c15ull;
    return (unsigned)(k >> (64 - JIT_HASH_BITS));
}

static struct region *region_find(struct jit *j, uint64_t pc, uintptr_t host, unsigned mode)
{
    for (struct region *r = j->hash[region_hash(pc, mode)]; r; r = r->next)
        if (r->pc == pc && r->host == host && r->mode == mode)
            return r;
    return NULL;
}

static void region_unhash(struct jit *j, struct region *r)
{
    struct region **pp = &j->hash[region_hash(r->pc, r->mode)];
    while (*pp != r)
        pp = &(*pp)->next;
    *pp = r->next;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Translate (pc, host) into a new region, flushing the whole cache first if
   it is full. NULL when this page is left to the interpreter. */
static struct region *region_translate(struct dv_hart *h, struct jit *j, uint64_t pc,
                                       uintptr_t host, const struct jit_window *w, size_t page)
{
    if (!page_translatable(w, page))
        return NULL;
    if (j->nregions == JIT_MAX_REGIONS || j->ninsns + JIT_MAX_REGION > JIT_MAX_INSNS ||
        (size_t)(j->code_end - j->free) < JIT_REGION_ROOM) {
        cache_reset(j);
        j->stats.flushes++;
    }
    /* The epoch before reading the code: a store racing with translation
       bumps it and so makes this region stale at once. */
    uint32_t epoch;
    if (!page_mark_code(h->m, w, page, &epoch))
        return NULL;
    struct region *r = &j->regions[j->nregions++];
    *r = (struct region){.pc = pc, .host = host, .mode = region_mode(h), .epoch = epoch};
    uint64_t t0 = now_ns();
    bool overflow = false;
    r->code = translate_region(h, j, pc, host, &overflow);
    if (overflow) { /* cannot happen with JIT_REGION_ROOM to spare; be safe */
        cache_reset(j);
        j->stats.flushes++;
        return NULL;
    }
    j->stats.compile_ns += now_ns() - t0;
    j->stats.code_bytes = (uint64_t)(j->free - j->code);
    unsigned b = region_hash(pc, r->mode);
    r->next = j->hash[b];
    j->hash[b] = r;
    return r;
}

/* The region to run at h->pc (whose host address is host), or NULL to interpret. */
static struct region *region_for(struct dv_hart *h, struct jit *j, uint64_t pc, uintptr_t host)
{
    const struct jit_window *w;
    size_t page;
    if (!jit_page_find(h->m->code_pages, host, &w, &page))
        return NULL;
    struct region *r = region_find(j, pc, host, region_mode(h));
    if (r) {
        if (r->epoch == atomic_load_explicit(&w->epoch[page], memory_order_acquire))
            return r;
        region_unhash(j, r); /* stale: its page changed */
        j->stats.invalidations++;
        return region_translate(h, j, pc, host, w, page);
    }
    uint16_t *hot = &j->hot[((pc >> 1) ^ (host >> 7)) & ((1u << JIT_HOT_BITS) - 1)];
    if (++*hot < h->m->engine.threshold)
        return NULL;
    *hot = 0;
    return region_translate(h, j, pc, host, w, page);
}

/* Host address of the instruction at h->pc, through the fetch TLB. */
static bool fetch_host(struct dv_hart *h, uintptr_t *host)
{
    uint64_t pc = h->pc;
    if ((pc & PAGE_MASK) != h->fetch_vpage) {
        uint32_t raw;
        if (!mmu_fetch_slow(h, pc, &raw))
            return false;
        if ((pc & PAGE_MASK) != h->fetch_vpage)
            return false; /* straddles a page: the interpreter fetches it */
    }
    *host = (uintptr_t)(pc + h->fetch_addend);
    return true;
}

/* Start a slice of translated code after a look at the clock: jit_limit
   before re-reading attention pairs with hart_wake (attention, then
   jit_limit = 0), so a wake-up is either seen here or stops the code. */
static bool open_slice(struct dv_hart *h)
{
    /* verify mode: short slices, so one region's stores fit the store log */
    uint64_t slice = h->m->engine.verify ? JIT_VERIFY_SLICE : JIT_SLICE;
    if (unlikely(h->pmu.armed) && pmu_instructions_to_overflow(h) < slice)
        slice = pmu_instructions_to_overflow(h); /* an overflow interrupt is due sooner */
    __atomic_store_n(&h->jit_limit, h->instret + slice, __ATOMIC_SEQ_CST);
    return !atomic_load(&h->attention);
}

static uint64_t run_once(struct dv_hart *h, void *code)
{
    return h->jit->enter(h, code);
}

uint64_t jit_run(struct dv_hart *h)
{
    struct jit *j = h->jit;
    uint8_t *patch = NULL; /* the exit that led here, if it can be chained */
    bool fill_jc = false;  /* ...or if its target goes into the jump cache */
    for (;;) {
        if (h->budget <= 0 || atomic_load_explicit(&h->attention, memory_order_relaxed)) {
            patch = NULL;
            if (timer_poll(h))
                return trap_take_exit(h);
            if (!open_slice(h))
                continue;
        }
        jc_revalidate(h);
        uintptr_t host;
        struct region *r = NULL;
        if (fetch_host(h, &host)) /* a fetch fault is raised again by the interpreter */
            r = region_for(h, j, h->pc, host);
        if (!r || !r->code) {
            patch = NULL;
            if (interp_block(h))
                return trap_take_exit(h);
            continue;
        }
        if (patch && !h->m->engine.verify) { /* verify runs one region at a time */
            translate_patch(patch, r->code);
        } else if (fill_jc && !h->m->engine.verify) {
            jc_fill(h, h->pc, r->code);
        }
        patch = NULL;
        fill_jc = false;
        uint64_t reason = h->m->engine.verify ? verify_region(h, h->pc, run_once, (void *)r->code)
                                              : j->enter(h, r->code);
        uint8_t *site = (uint8_t *)(uintptr_t)(reason >> 8);
        switch ((enum jit_exit)(reason & 0xff)) {
        case JIT_EXIT_LOOKUP:
            j->stats.exits_lookup++;
            patch = site;
            fill_jc = site == NULL;
            break;
        case JIT_EXIT_INTERP:
            j->stats.exits_interp++;
            if (interp_block(h))
                return trap_take_exit(h);
            break;
        case JIT_EXIT_TRAP:
            j->stats.exits_trap++;
            if (trap_route(h))
                return trap_take_exit(h);
            /* A trap delivered to the guest is a step for the clock, as in the
               interpreter: a trap that retires nothing (a handler whose first
               instruction faults again) must still see its timers, which
               neither jit_limit nor the budget would otherwise bring. */
            h->budget--;
            break;
        case JIT_EXIT_STOP: j->stats.exits_lookup++; break;
        case JIT_EXIT_ASYNC:
            j->stats.exits_async++;
            h->budget = 0;
            break;
        }
    }
}

/* --- helpers called from translated code ----------------------------------------------------- */

uint64_t jit_helper_int(uint64_t rs1, uint64_t rs2, const struct insn *in)
{
    switch ((enum op)in->op) {
#define X(name, family, kind, opcode, funct3, flags)                                               \
    case OP_##name:                                                                                \
        return JIT_INT_##family(OP_##name, rs1, rs2, in->imm);
#define JIT_INT_INT(op, a, b, imm)    int_value(op, a, b, imm, 0)
#define JIT_INT_CRYPTO(op, a, b, imm) crypto_value(op, a, b, imm)
#define JIT_INT_CMO(op, a, b, imm)    0
#define JIT_INT_WRS(op, a, b, imm)    0
#define JIT_INT_BRANCH(op, a, b, imm) 0
#define JIT_INT_MEM(op, a, b, imm)    0
#define JIT_INT_AMO(op, a, b, imm)    0
#define JIT_INT_FP(op, a, b, imm)     0
#define JIT_INT_SYS(op, a, b, imm)    0
#define JIT_INT_VEC(op, a, b, imm)    0
        HART_OPS(X)
#undef X
    default: return 0;
    }
}

static uint64_t stop_or_ok(struct dv_hart *h)
{
    if (h->jit_stop) {
        h->jit_stop = false;
        return HELPER_STOP;
    }
    return HELPER_OK;
}

uint64_t jit_helper_load(struct dv_hart *h, uint64_t va, const struct insn *in)
{
    uint64_t v;
    if (!mem_load(h, va, load_size((enum op)in->op), &v, in))
        return HELPER_TRAP;
    h->jit_value = load_extend((enum op)in->op, v);
    return HELPER_OK;
}

uint64_t jit_helper_store(struct dv_hart *h, uint64_t va, uint64_t value, const struct insn *in)
{
    if (!mem_store(h, va, load_size((enum op)in->op), value, in))
        return HELPER_TRAP;
    return stop_or_ok(h);
}

uint64_t jit_helper_csr(struct dv_hart *h, const struct insn *in, uint64_t pc, uint64_t mode)
{
    uint64_t r = jit_helper_exec(h, in, pc);
    if (r == HELPER_OK && region_mode(h) != mode)
        return HELPER_STOP; /* FS or privilege changed: the region's code assumes the old */
    /* A write that may have made an interrupt takeable (sstatus.SIE, sie, sip,
       stimecmp: hart_request_check) is looked at before the next instruction,
       as the privileged spec asks and the interpreter does: leave the region. */
    if (r == HELPER_OK && h->budget <= 0)
        return HELPER_STOP;
    return r;
}

uint64_t jit_helper_exec(struct dv_hart *h, const struct insn *in, uint64_t pc)
{
    uint64_t next = pc + in->len;
    enum exec_status st = exec_one(h, in, pc, &next);
    if (st == EXEC_ILLEGAL)
        raise_trap(h, EXC_ILLEGAL, in->raw);
    if (st != EXEC_RETIRE)
        return HELPER_TRAP;
    return stop_or_ok(h);
}
