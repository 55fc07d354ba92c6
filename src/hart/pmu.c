/* The guest's counters and Sscofpmf overflow (pmu.h). */
#include "hart/pmu.h"
#include "hart/hart.h"

#define HPM_MASK 0xfffffff8u /* counters 3..31 */

static uint64_t vu_instret(const struct dv_hart *h)
{
    const struct hart_pmu *p = &h->pmu;
    return p->vu_instret + (h->priv == PRV_VU ? h->instret - p->vu_since : 0);
}

/* What counter index counts, summed over the privileges it does not inhibit. */
static uint64_t raw_count(const struct dv_hart *h, unsigned index)
{
    uint64_t ev = h->pmu.event[index];
    unsigned code = (unsigned)(ev & DV_HPMEVENT_CODE);
    bool vs = !(ev & DV_HPMEVENT_SINH), vu = !(ev & DV_HPMEVENT_UINH);
    if (code == DV_HPM_CYCLES || code == DV_HPM_INSTRET) {
        uint64_t in_vu = vu_instret(h);
        return (vs ? h->instret - in_vu : 0) + (vu ? in_vu : 0);
    }
    if (code == DV_HPM_NONE || code >= DV_HPM_EVENTS)
        return 0;
    return (vs ? h->pmu.events[code][PRV_VS] : 0) + (vu ? h->pmu.events[code][PRV_VU] : 0);
}

static bool running(const struct dv_hart *h, unsigned index)
{
    return !(h->pmu.inhibit & (1u << index));
}

static void rearm(struct dv_hart *h)
{
    uint32_t armed = 0;
    for (unsigned i = 3; i < PMU_COUNTERS; i++) {
        uint64_t ev = h->pmu.event[i];
        if (running(h, i) && (ev & DV_HPMEVENT_CODE) && !(ev & DV_HPMEVENT_OF))
            armed |= 1u << i;
    }
    h->pmu.armed = armed;
}

void pmu_reset(struct dv_hart *h)
{
    memset(&h->pmu, 0, sizeof(h->pmu));
    h->pmu.event[0] = DV_HPM_CYCLES;
    h->pmu.event[2] = DV_HPM_INSTRET;
    h->pmu.inhibit = HPM_MASK; /* cycle and instret run, as before there were others */
    h->pmu.start[0] = h->pmu.start[2] = h->instret;
}

uint64_t pmu_counter_read(const struct dv_hart *h, unsigned index)
{
    if (index >= PMU_COUNTERS || index == 1)
        return 0;
    const struct hart_pmu *p = &h->pmu;
    return running(h, index) ? p->value[index] + (raw_count(h, index) - p->start[index])
                             : p->value[index];
}

void pmu_counter_write(struct dv_hart *h, unsigned index, uint64_t value)
{
    if (index >= PMU_COUNTERS || index == 1)
        return;
    h->pmu.value[index] = value;
    h->pmu.start[index] = raw_count(h, index);
}

void pmu_event_write(struct dv_hart *h, unsigned index, uint64_t value)
{
    if (index < 3 || index >= PMU_COUNTERS)
        return;
    uint64_t now = pmu_counter_read(h, index);
    if ((value & DV_HPMEVENT_CODE) >= DV_HPM_EVENTS)
        value &= ~DV_HPMEVENT_CODE; /* WARL: an event this hart lacks counts nothing */
    h->pmu.event[index] =
        value & (DV_HPMEVENT_CODE | DV_HPMEVENT_UINH | DV_HPMEVENT_SINH | DV_HPMEVENT_OF);
    pmu_counter_write(h, index, now);
    rearm(h);
}

void pmu_inhibit_write(struct dv_hart *h, uint32_t value)
{
    value &= ~2u; /* time cannot be stopped */
    for (unsigned i = 0; i < PMU_COUNTERS; i++) {
        uint32_t bit = 1u << i;
        if ((value ^ h->pmu.inhibit) & bit) {
            uint64_t now = pmu_counter_read(h, i);
            h->pmu.inhibit ^= bit;
            pmu_counter_write(h, i, now);
        }
    }
    rearm(h);
}

uint32_t pmu_overflowed(const struct dv_hart *h)
{
    uint32_t of = 0;
    for (unsigned i = 3; i < PMU_COUNTERS; i++)
        if (h->pmu.event[i] & DV_HPMEVENT_OF)
            of |= 1u << i;
    return of;
}

void pmu_poll_overflow(struct dv_hart *h)
{
    struct hart_pmu *p = &h->pmu;
    for (uint32_t armed = p->armed; armed; armed &= armed - 1) {
        unsigned i = (unsigned)__builtin_ctz(armed);
        if (raw_count(h, i) - p->start[i] > UINT64_MAX - p->value[i]) {
            p->event[i] |= DV_HPMEVENT_OF;
            p->armed &= ~(1u << i);
            p->lcofip = true;
        }
    }
}

uint64_t pmu_instructions_to_overflow(const struct dv_hart *h)
{
    const struct hart_pmu *p = &h->pmu;
    uint64_t least = UINT64_MAX;
    for (uint32_t armed = p->armed; armed; armed &= armed - 1) {
        unsigned i = (unsigned)__builtin_ctz(armed);
        unsigned code = (unsigned)(p->event[i] & DV_HPMEVENT_CODE);
        if (code != DV_HPM_CYCLES && code != DV_HPM_INSTRET)
            continue; /* TLB misses come slower than instructions: the poll suffices */
        uint64_t left = UINT64_MAX - p->value[i] - (raw_count(h, i) - p->start[i]);
        left += left < UINT64_MAX; /* the count that wraps it (2^64 from 0: saturate) */
        if (left < least)
            least = left;
    }
    return least;
}

void pmu_instret_write(struct dv_hart *h, uint64_t value)
{
    uint64_t keep[PMU_COUNTERS];
    for (unsigned i = 0; i < PMU_COUNTERS; i++)
        keep[i] = pmu_counter_read(h, i);
    h->instret = value;
    h->pmu.vu_since = value;
    keep[0] = keep[2] = value; /* what the guest reads as cycle and instret */
    for (unsigned i = 0; i < PMU_COUNTERS; i++)
        pmu_counter_write(h, i, keep[i]);
}
