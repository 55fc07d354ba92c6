/*
 * Asynchronous events, looked at between instructions: the vtimer (UTIP
 * exit), vIPI doorbells (USIP exit), and the guest's own interrupts (Sstc
 * stimecmp, injected huvip bits, the vPLIC line). And WFI, which sleeps on a
 * condition variable until one of them is due.
 */
#include <time.h>

#include "hart/csr.h"
#include "hart/mmu.h"
#include "hart/timer.h"
#include "hart/trap.h"

/* Guest-level interrupt to take now, as a guest cause, or 0. */
static uint64_t guest_interrupt(struct dv_hart *h, uint64_t now)
{
    uint64_t pending = csr_guest_sip(h, now) & h->vsie;
    if (!pending || (h->priv == PRV_VS && !(h->vsstatus & SSTATUS_SIE)))
        return 0;
    static const unsigned order[] = {9, 1, 5, 13}; /* SEI, SSI, STI, LCOFI */
    for (unsigned i = 0; i < 4; i++)
        if (pending & (1ull << order[i]))
            return DV_CAUSE_INTERRUPT | order[i];
    return 0;
}

bool timer_poll(struct dv_hart *h)
{
    h->budget = ASYNC_BUDGET;
    /* Clear attention with a read-modify-write before reading what it
       announces (vipi, the vPLIC line): a waker's attention = true either
       lands after it (and the hart looks again) or is read here, which makes
       the waker's doorbell visible below. A plain store could take effect
       after those loads and erase a wake-up whose doorbell they missed, and
       a WFI would then sleep through it. */
    atomic_exchange(&h->attention, false);
    uint64_t now = hart_time(h);

    uint64_t bit = 1ull << (h->vcpuid % 64);
    _Atomic uint64_t *word = &h->m->vipi[h->vcpuid / 64];
    bool usip = atomic_load_explicit(word, memory_order_acquire) & bit;
    bool utip = (h->vtimectl & DV_VTIMECTL_ENABLE) && now >= h->vtimecmp;
    h->huip = (h->huip & ~(DV_HUIP_USIP | DV_HUIP_UTIP)) | (usip ? DV_HUIP_USIP : 0) |
              (utip ? DV_HUIP_UTIP : 0);
    if (h->huip & h->huie & DV_HUIP_USIP) {
        /* Taking the exit consumes the doorbell: one raise, one exit. */
        atomic_fetch_and(word, ~bit);
        h->huip &= ~DV_HUIP_USIP;
        h->trap = (struct trap){.cause = DV_EXIT_USIP};
        return true;
    }
    if (h->huip & h->huie & DV_HUIP_UTIP) {
        h->trap = (struct trap){.cause = DV_EXIT_UTIP};
        return true;
    }
    if (h->pmu.armed) {
        pmu_poll_overflow(h);
        uint64_t left = pmu_instructions_to_overflow(h);
        if (left < ASYNC_BUDGET)
            h->budget = (int)left;
    }
    uint64_t cause = guest_interrupt(h, now);
    if (cause)
        trap_deliver(h, cause, 0);
    return false;
}

static uint64_t earliest_deadline(const struct dv_hart *h)
{
    uint64_t deadline = UINT64_MAX;
    if (h->vsie & SIP_STIP)
        deadline = h->vstimecmp;
    if ((h->vtimectl & DV_VTIMECTL_ENABLE) && (h->huie & DV_HUIP_UTIP) && h->vtimecmp < deadline)
        deadline = h->vtimecmp;
    return deadline;
}

void timer_wait_for_interrupt(struct dv_hart *h)
{
    uint64_t deadline = earliest_deadline(h); /* guest time */
    pthread_mutex_lock(&h->wait_lock);
    while (!atomic_load(&h->attention)) {
        uint64_t now = hart_time(h);
        if ((csr_guest_sip(h, now) & h->vsie) || now >= deadline)
            break;
        if (deadline == UINT64_MAX) {
            pthread_cond_wait(&h->wait_cond, &h->wait_lock);
            continue;
        }
        uint64_t host_deadline = deadline - h->hutimedelta;
        struct timespec ts = {
            .tv_sec = (time_t)(host_deadline / DV_TIMEBASE_HZ),
            .tv_nsec = (long)(host_deadline % DV_TIMEBASE_HZ * (1000000000 / DV_TIMEBASE_HZ)),
        };
        pthread_cond_timedwait(&h->wait_cond, &h->wait_lock, &ts);
    }
    pthread_mutex_unlock(&h->wait_lock);
    hart_request_check(h);
}

/* Whether memory at the reservation still holds what LR saw. */
static bool reservation_holds(const struct dv_hart *h)
{
    uint64_t v = host_load(h->resv_addr, h->resv_size);
    return (h->resv_size == 4 ? (uint64_t)(int64_t)(int32_t)v : v) == h->resv_value;
}

bool timer_wait_reservation(struct dv_hart *h, uint64_t limit_ns)
{
    if (!h->resv_valid)
        return true;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    uint64_t end_ns =
        (uint64_t)deadline.tv_sec * 1000000000ull + (uint64_t)deadline.tv_nsec + limit_ns;
    bool ended = false;
    uint64_t poll_ns = WRS_POLL_MIN_NS;
    pthread_mutex_lock(&h->wait_lock);
    for (;;) {
        if (atomic_load(&h->attention) || !reservation_holds(h) ||
            (csr_guest_sip(h, hart_time(h)) & h->vsie)) {
            ended = true;
            break;
        }
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        uint64_t now_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
        if (now_ns >= end_ns)
            break;
        /* No store by another hart wakes us: look again soon, then less often
           (a value that changes quickly is seen quickly, a long wait costs little). */
        uint64_t wake = now_ns + poll_ns < end_ns ? now_ns + poll_ns : end_ns;
        if (poll_ns < WRS_POLL_MAX_NS)
            poll_ns *= 2;
        struct timespec ts = {.tv_sec = (time_t)(wake / 1000000000ull),
                              .tv_nsec = (long)(wake % 1000000000ull)};
        pthread_cond_timedwait(&h->wait_cond, &h->wait_lock, &ts);
    }
    pthread_mutex_unlock(&h->wait_lock);
    hart_request_check(h);
    return ended;
}

uint64_t dv_wait_for_interrupt(struct dv_hart *h)
{
    for (;;) {
        /* As timer_poll: clear attention before reading what it announces. */
        atomic_exchange(&h->attention, false);
        uint64_t now = hart_time(h);
        uint64_t bit = 1ull << (h->vcpuid % 64);
        _Atomic uint64_t *word = &h->m->vipi[h->vcpuid / 64];
        if ((h->huie & DV_HUIP_USIP) && (atomic_load_explicit(word, memory_order_acquire) & bit)) {
            atomic_fetch_and(word, ~bit);
            return DV_EXIT_USIP;
        }
        if ((h->huie & DV_HUIP_UTIP) && (h->vtimectl & DV_VTIMECTL_ENABLE) && now >= h->vtimecmp)
            return DV_EXIT_UTIP;
        if (csr_guest_sip(h, now) & h->vsie)
            return 0;
        timer_wait_for_interrupt(h);
    }
}
