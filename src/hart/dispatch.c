/*
 * dv_enter(): from the exit registers into the guest, then the chosen engine
 * (jit/ with the interpreter behind it, or the interpreter alone) until the
 * next exit.
 */
#include "hart/interp.h"
#include "hart/jit/jit.h"
#include "hart/trap.h"

uint64_t dv_enter(struct dv_hart *h)
{
    h->pc = h->uepc;
    hart_set_priv(h, (h->hustatus & DV_HUSTATUS_SPVP) ? PRV_VS : PRV_VU);
    h->fetch_vpage = TLB_INVALID;
    /* No look at timers here: CSR writes that change what is pending, and
       other threads' wake-ups, already asked for one (hart_request_check);
       time-driven ones are seen within a budget as always. */
    if (!h->groot) {
        /* No G-stage: every fetch would fault; say so as the first exit. */
        h->trap =
            (struct trap){.cause = EXC_FETCH_GUEST_PAGE, .tval = h->pc, .gpa = h->pc, .gva = true};
        return trap_take_exit(h);
    }
    if (unlikely(h->debug))
        return interp_debug_run(h);
    if (jit_wanted(h))
        return jit_run(h);
    return interp_run(h);
}
