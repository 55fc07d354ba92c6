/* The machine a VM's harts share, hart lifetime, and cross-thread wake-ups. */
#include <stdlib.h>
#include <time.h>

#include "hart/aia.h"
#include "hart/hart.h"
#include "hart/jit/jit.h"
#include "hart/mmu.h"
#include "hart/vplic.h"

uint64_t dv_host_time(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * DV_TIMEBASE_HZ +
           (uint64_t)ts.tv_nsec / (1000000000 / DV_TIMEBASE_HZ);
}

struct dv_machine *dv_machine_create(unsigned nharts)
{
    if (nharts == 0 || nharts > MAX_HARTS)
        return NULL;
    struct dv_machine *m = calloc(1, sizeof(*m));
    if (!m)
        return NULL;
    m->nharts = nharts;
    dv_engine_default(&m->engine);
    pthread_mutex_init(&m->lock, NULL);
    return m;
}

void dv_machine_destroy(struct dv_machine *m)
{
    if (!m)
        return;
    if (m->plic)
        vplic_destroy(m->plic);
    aia_destroy(m->aia);
    jit_pages_destroy(m);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int dv_machine_add_window(struct dv_machine *m, void *host, size_t len)
{
    uintptr_t start = (uintptr_t)host;
    if (!host || len == 0 || (start & (PAGE_SIZE - 1)) || (len & (PAGE_SIZE - 1)) ||
        start + len < start)
        return DV_ERR_INVALID;
    if (m->nwindows == MAX_WINDOWS)
        return DV_ERR_LIMIT;
    m->windows[m->nwindows++] = (struct window){start, start + len};
    return DV_OK;
}

bool mmu_window_contains(const struct dv_machine *m, uintptr_t host, uint64_t len)
{
    for (unsigned i = 0; i < m->nwindows; i++)
        if (host >= m->windows[i].start &&
            host - m->windows[i].start + len <= m->windows[i].end - m->windows[i].start)
            return true;
    return false;
}

/* The vPLIC calls this when context n's line changes; context n is hart n. */
static void plic_notify(void *opaque, unsigned context, bool pending)
{
    struct dv_machine *m = opaque;
    pthread_mutex_lock(&m->lock);
    struct dv_hart *h = context < MAX_HARTS ? m->harts[context] : NULL;
    if (h) {
        atomic_store(&h->plic_line, pending);
        hart_wake(h);
    }
    pthread_mutex_unlock(&m->lock);
}

int dv_machine_set_plic(struct dv_machine *m, uint64_t gpa_base, unsigned nsources)
{
    if (m->plic || m->aia || (gpa_base & (PAGE_SIZE - 1)))
        return DV_ERR_INVALID;
    m->plic = vplic_create(nsources, m->nharts, plic_notify, m);
    if (!m->plic)
        return DV_ERR_INVALID;
    m->plic_base = gpa_base;
    return DV_OK;
}

void dv_plic_set_irq(struct dv_machine *m, unsigned source, bool level)
{
    if (m->plic)
        vplic_set_irq(m->plic, source, level);
    else if (m->aia)
        aia_set_irq(m->aia, source, level);
}

int dv_plic_get_state(struct dv_machine *m, struct dv_plic_state *out)
{
    if (!m->plic)
        return DV_ERR_INVALID;
    vplic_save(m->plic, out);
    return DV_OK;
}

int dv_plic_set_state(struct dv_machine *m, const struct dv_plic_state *in)
{
    return m->plic && vplic_restore(m->plic, in) ? DV_OK : DV_ERR_INVALID;
}

void hart_wake(struct dv_hart *h)
{
    /* attention for the interpreter's and the dispatcher's check, jit_limit
       to stop translated code. Not the budget: it is the hart thread's own,
       and a store here could be lost under its decrement. */
    atomic_store(&h->attention, true);
    __atomic_store_n(&h->jit_limit, 0, __ATOMIC_SEQ_CST);
    pthread_mutex_lock(&h->wait_lock);
    pthread_cond_signal(&h->wait_cond);
    pthread_mutex_unlock(&h->wait_lock);
}

void dv_vipi_raise(struct dv_machine *m, unsigned vcpuid)
{
    if (vcpuid >= m->nharts)
        return;
    atomic_fetch_or(&m->vipi[vcpuid / 64], 1ull << (vcpuid % 64));
    pthread_mutex_lock(&m->lock);
    struct dv_hart *h = m->harts[vcpuid];
    if (h)
        hart_wake(h);
    pthread_mutex_unlock(&m->lock);
}

struct dv_hart *dv_hart_create(struct dv_machine *m, unsigned vcpuid)
{
    if (vcpuid >= m->nharts)
        return NULL;
    /* cache-line aligned; aligned_alloc wants a size that is a multiple of it */
    struct dv_hart *h = aligned_alloc(64, (sizeof(*h) + 63) & ~(size_t)63);
    if (!h)
        return NULL;
    memset(h, 0, sizeof(*h));
    h->icache = calloc(ICACHE_SIZE, sizeof(*h->icache));
    if (!h->icache) {
        free(h);
        return NULL;
    }
    h->m = m;
    h->vcpuid = vcpuid;
    h->priv = PRV_VS;
    h->hustatus = (2ull << 32) | DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP; /* VSXL = 64 */
    h->vsstatus = 2ull << 32;                                        /* UXL = 64 */
    h->hucounteren = 7;                                              /* cycle, time, instret */
    h->vstimecmp = UINT64_MAX;
    h->huenvcfg = DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE; /* what guests relied on before */
    pmu_reset(h);
    pthread_mutex_init(&h->wait_lock, NULL);
    /* WFI deadlines are CLOCK_MONOTONIC times (the guest's timebase). */
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&h->wait_cond, &attr);
    pthread_condattr_destroy(&attr);
    h->tlb_logged = TLB_LOG_SIZE + 1; /* all entries hold garbage: the first flush clears all */
    mmu_flush_gstage(h);
    pthread_mutex_lock(&m->lock);
    if (m->harts[vcpuid]) {
        pthread_mutex_unlock(&m->lock);
        free(h->icache);
        free(h);
        return NULL;
    }
    m->harts[vcpuid] = h;
    pthread_mutex_unlock(&m->lock);
    return h;
}

void dv_hart_destroy(struct dv_hart *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->m->lock);
    h->m->harts[h->vcpuid] = NULL;
    pthread_mutex_unlock(&h->m->lock);
    jit_hart_destroy(h);
    dv_debug_arm(h, NULL, 0, false);
    pthread_cond_destroy(&h->wait_cond);
    pthread_mutex_destroy(&h->wait_lock);
    free(h->icache);
    free(h);
}

uint64_t dv_gpr_get(const struct dv_hart *h, unsigned reg)
{
    return reg < 32 ? h->x[reg] : 0;
}

void dv_gpr_set(struct dv_hart *h, unsigned reg, uint64_t value)
{
    if (reg > 0 && reg < 32)
        h->x[reg] = value;
}

uint64_t dv_fpr_get(const struct dv_hart *h, unsigned reg)
{
    return reg < 32 ? h->f[reg] : 0;
}

void dv_fpr_set(struct dv_hart *h, unsigned reg, uint64_t value)
{
    if (reg < 32)
        h->f[reg] = value;
}

void dv_hufence_gvma(struct dv_hart *h)
{
    mmu_flush_gstage(h);
}

void dv_hufence_vvma(struct dv_hart *h)
{
    mmu_flush(h);
}

void dv_fence_i(struct dv_hart *h)
{
    /* Cached decodes are checked against memory on every use (see struct
       insn); translated code is not. */
    jit_fence_i(h);
}

uint64_t dv_instret(const struct dv_hart *h)
{
    return h->instret;
}
