/*
 * Verify mode (verify.h). The region runs first: its stores are logged with
 * the bytes they overwrote, its final state kept. Then memory is rolled back,
 * the starting state restored, and the interpreter retires exactly as many
 * instructions; both states and the bytes at every logged address must be
 * equal. vPLIC reads the region made (claims have side effects) are
 * replayed to the interpreter rather than repeated. What other harts or
 * devices write meanwhile is not: a region racing with them (a spin loop on
 * a flag another hart sets) may be reported although both engines are
 * right, so verify mode is for single-vCPU guests.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "hart/interp.h"
#include "hart/jit/verify.h"

/* The architectural state a region may change: the register files, these
   fields (compared as they are), and the LR reservation (compared while it
   is valid). */
/* clang-format off: a field list, one per line */
#define ARCH_FIELDS(X)                                                                             \
    X(pc)                                                                                          \
    X(instret)                                                                                     \
    X(vsstatus)                                                                                    \
    X(vsie)                                                                                        \
    X(vstvec)                                                                                      \
    X(vsscratch)                                                                                   \
    X(vsepc)                                                                                       \
    X(vscause)                                                                                     \
    X(vstval)                                                                                      \
    X(vsatp)                                                                                       \
    X(vstimecmp)                                                                                   \
    X(scounteren)                                                                                  \
    X(huvip)                                                                                       \
    X(fflags)                                                                                      \
    X(frm)                                                                                         \
    X(priv)                                                                                        \
    X(resv_valid)
#define ARCH_RESERVATION(X) X(resv_addr) X(resv_value)
/* clang-format on */

struct arch {
    uint64_t x[32], f[32];
#define X(name) __typeof__(((struct dv_hart *)0)->name) name;
    ARCH_FIELDS(X) ARCH_RESERVATION(X)
#undef X
};

static void arch_save(const struct dv_hart *h, struct arch *a)
{
    memcpy(a->x, h->x, sizeof(a->x));
    memcpy(a->f, h->f, sizeof(a->f));
#define X(name) a->name = h->name;
    ARCH_FIELDS(X) ARCH_RESERVATION(X)
#undef X
}

static void arch_restore(struct dv_hart *h, const struct arch *a)
{
    memcpy(h->x, a->x, sizeof(a->x));
    memcpy(h->f, a->f, sizeof(a->f));
#define X(name) h->name = a->name;
    ARCH_FIELDS(X) ARCH_RESERVATION(X)
#undef X
}

void verify_log_store(struct dv_hart *h, uintptr_t host, unsigned size)
{
    struct verify_log *log = h->verify;
    if (!log)
        return;
    if (log->n == VERIFY_LOG_SIZE) {
        log->overflow = true;
        return;
    }
    log->e[log->n].host = host;
    log->e[log->n].size = (uint8_t)size;
    memcpy(&log->e[log->n].old, (const void *)host, size);
    log->n++;
}

bool verify_plic(struct dv_hart *h, bool store, uint32_t *value)
{
    struct verify_log *log = h->verify;
    if (!log || !log->replay)
        return false;
    if (!store && log->next_plic < log->nplic)
        *value = log->plic[log->next_plic++];
    return true;
}

void verify_plic_result(struct dv_hart *h, uint32_t value)
{
    struct verify_log *log = h->verify;
    if (log && !log->replay && log->nplic < 64)
        log->plic[log->nplic++] = value;
}

static void rollback(const struct verify_log *log)
{
    for (unsigned i = log->n; i-- > 0;)
        memcpy((void *)log->e[i].host, &log->e[i].old, log->e[i].size);
}

static void dump(const char *what, uint64_t pc0, const struct arch *jit, const struct arch *ref)
{
    fprintf(stderr,
            "duvisor: jit verify: region at %#" PRIx64 " differs from the interpreter: %s\n", pc0,
            what);
    fprintf(stderr, "  pc      jit %#" PRIx64 " interp %#" PRIx64 "\n", jit->pc, ref->pc);
    fprintf(stderr, "  instret jit %" PRIu64 " interp %" PRIu64 "\n", jit->instret, ref->instret);
    for (unsigned i = 1; i < 32; i++)
        if (jit->x[i] != ref->x[i])
            fprintf(stderr, "  x%-2u     jit %#" PRIx64 " interp %#" PRIx64 "\n", i, jit->x[i],
                    ref->x[i]);
    for (unsigned i = 0; i < 32; i++)
        if (jit->f[i] != ref->f[i])
            fprintf(stderr, "  f%-2u     jit %#" PRIx64 " interp %#" PRIx64 "\n", i, jit->f[i],
                    ref->f[i]);
    if (jit->fflags != ref->fflags || jit->vsstatus != ref->vsstatus)
        fprintf(stderr,
                "  fflags  jit %#x interp %#x; vsstatus jit %#" PRIx64 " interp %#" PRIx64 "\n",
                jit->fflags, ref->fflags, jit->vsstatus, ref->vsstatus);
    abort();
}

static bool arch_equal(const struct arch *a, const struct arch *b)
{
    if (memcmp(a->x + 1, b->x + 1, sizeof(a->x) - 8) || memcmp(a->f, b->f, sizeof(a->f)))
        return false;
#define X(name)                                                                                    \
    if (a->name != b->name)                                                                        \
        return false;
    ARCH_FIELDS(X)
    if (a->resv_valid) {
        ARCH_RESERVATION(X)
    }
#undef X
    return true;
}

uint64_t verify_region(struct dv_hart *h, uint64_t pc0, uint64_t (*run)(struct dv_hart *h, void *),
                       void *arg)
{
    static _Thread_local struct verify_log jit_log, ref_log;
    struct arch start, jit, ref;
    arch_save(h, &start);
    jit_log.n = 0;
    jit_log.overflow = false;
    jit_log.replay = false;
    jit_log.nplic = 0;
    h->verify = &jit_log;
    uint64_t reason = run(h, arg);
    struct trap trap = h->trap;
    bool stop = h->jit_stop;
    arch_save(h, &jit);
    /* what the region left in memory, then memory as it was */
    uint64_t after[VERIFY_LOG_SIZE];
    for (unsigned i = 0; i < jit_log.n; i++)
        memcpy(&after[i], (const void *)jit_log.e[i].host, jit_log.e[i].size);
    rollback(&jit_log);

    arch_restore(h, &start);
    ref_log = (struct verify_log){.replay = true, .nplic = jit_log.nplic};
    memcpy(ref_log.plic, jit_log.plic, sizeof(ref_log.plic));
    h->verify = &ref_log;
    bool trapped = !interp_steps(h, jit.instret - start.instret);
    h->verify = NULL;
    arch_save(h, &ref);
    if (trapped) {
        fprintf(stderr, "  interpreter trap: cause %#" PRIx64 " tval %#" PRIx64 "\n", h->trap.cause,
                h->trap.tval);
        dump("the interpreter trapped first", pc0, &jit, &ref);
    }
    if (!arch_equal(&jit, &ref))
        dump("registers", pc0, &jit, &ref);
    if (jit_log.overflow) {
        fprintf(stderr, "duvisor: jit verify: region at %#" PRIx64 " made more than %u stores\n",
                pc0, VERIFY_LOG_SIZE);
        abort();
    }
    for (unsigned i = 0; i < jit_log.n; i++) {
        uint64_t now = 0, want = 0;
        memcpy(&now, (const void *)jit_log.e[i].host, jit_log.e[i].size);
        memcpy(&want, &after[i], jit_log.e[i].size);
        if (now != want) {
            fprintf(stderr, "  store at host %#" PRIxPTR ": jit %#" PRIx64 " interp %#" PRIx64 "\n",
                    jit_log.e[i].host, want, now);
            dump("memory", pc0, &jit, &ref);
        }
    }
    h->trap = trap; /* the region's exit goes on as if it had run alone */
    h->jit_stop = stop;
    return reason;
}
