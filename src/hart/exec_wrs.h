/*
 * Zawrs: wrs.nto and wrs.sto stall the hart while its LR reservation holds,
 * sleeping (timer_wait_reservation), never spinning a host CPU. The stall
 * ends when memory no longer holds what LR saw (another hart stored there),
 * an interrupt is pending for the guest, another thread asks for the hart's
 * attention, or the bounded time passes. Without a reservation there is
 * nothing to wait for and they complete at once.
 *
 * wrs.nto that times out with hustatus.VTW set is a virtual-instruction
 * exception (as the H extension's hstatus.VTW, with mstatus.TW clear).
 */
#ifndef DUVISOR_HART_EXEC_WRS_H
#define DUVISOR_HART_EXEC_WRS_H

#include "hart/exec.h"
#include "hart/timer.h"

#define WRS_STO_NS 20000ull    /* "short": 20 us */
#define WRS_NTO_NS 10000000ull /* a spurious end after 10 ms is allowed, and bounds VTW's wait */

EXEC_INLINE enum exec_status exec_WRS(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    bool sto = op == OP_WRS_STO;
    bool ended = timer_wait_reservation(h, sto ? WRS_STO_NS : WRS_NTO_NS);
    if (!ended && !sto && (h->hustatus & DV_HUSTATUS_VTW)) {
        raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
        return EXEC_TRAP;
    }
    return EXEC_RETIRE;
}

#endif
