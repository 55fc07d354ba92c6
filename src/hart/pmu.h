/*
 * The guest's counters (Zicntr, Zihpm, Sscofpmf): cycle and instret, and
 * hpmcounter3..31 counting the hart events of dvext.h (DV_HPM_*), each
 * stoppable (huCOUNTINHIBIT), filtered by privilege (SINH: VS, UINH: VU)
 * and raising LCOFI (13) when it overflows (OF). Counting is cheap by
 * construction: instret splits by privilege only at privilege changes,
 * the other events are counted where the slow path already runs (a TLB
 * miss), and overflow is looked for between instructions (timer_poll).
 */
#ifndef DUVISOR_HART_PMU_H
#define DUVISOR_HART_PMU_H

#include <stdbool.h>
#include <stdint.h>

#include "hart/dvext.h"

#define PMU_COUNTERS 32u /* 0 cycle, 1 time (no counter), 2 instret, 3..31 hpm */
#define SIP_LCOFIP   (1ull << 13)

struct hart_pmu {
    uint64_t vu_instret, vu_since;     /* instructions retired in VU; instret at entry to VU */
    uint64_t events[DV_HPM_EVENTS][2]; /* TLB-miss events by [event][priv] */
    uint64_t event[PMU_COUNTERS];      /* mhpmevent format: code, SINH, UINH, OF */
    uint64_t value[PMU_COUNTERS];      /* the value when stopped, at `start` when running */
    uint64_t start[PMU_COUNTERS];      /* the raw count when it (re)started */
    uint32_t inhibit;                  /* counters stopped */
    uint32_t armed;                    /* running hpm counters that can still overflow */
    bool lcofip;                       /* sip.LCOFIP */
};

struct dv_hart;

void pmu_reset(struct dv_hart *h);
uint64_t pmu_counter_read(const struct dv_hart *h, unsigned index);
void pmu_counter_write(struct dv_hart *h, unsigned index, uint64_t value);
/* mhpmevent of counter 3..31: an unknown event code counts nothing */
void pmu_event_write(struct dv_hart *h, unsigned index, uint64_t value);
void pmu_inhibit_write(struct dv_hart *h, uint32_t value);
/* scountovf: OF of counters 3..31 */
uint32_t pmu_overflowed(const struct dv_hart *h);
/* Counters that passed 2^64 - 1 since the last look set OF and LCOFIP. */
void pmu_poll_overflow(struct dv_hart *h);
/* Instructions that can retire before an armed cycle/instret counter
   overflows (at least 1; UINT64_MAX with none): the engines look no later. */
uint64_t pmu_instructions_to_overflow(const struct dv_hart *h);
/* Set h->instret (a restore): cycle and instret read value, the others keep theirs. */
void pmu_instret_write(struct dv_hart *h, uint64_t value);

#endif
