/*
 * Trap routing (dvext.md section 3): a trap raised by an instruction either
 * is the guest's own business, delivered to its handler at vstvec as the H
 * extension delivers a VS-level trap, or ends dv_enter() as a VM exit.
 */
#include "hart/trap.h"

bool trap_exits(const struct dv_hart *h)
{
    switch (h->trap.cause) {
    case EXC_ECALL_VS:
    case EXC_FETCH_GUEST_PAGE:
    case EXC_LOAD_GUEST_PAGE:
    case EXC_VIRTUAL_INSN:
    case EXC_STORE_GUEST_PAGE: return true;
    case EXC_FETCH_ACCESS:
    case EXC_LOAD_ACCESS:
    case EXC_STORE_ACCESS: return h->trap.to_hypervisor; /* from the G-stage window check */
    }
    return (h->trap.cause & DV_CAUSE_INTERRUPT) != 0;
}

uint64_t trap_take_exit(struct dv_hart *h)
{
    const struct trap *t = &h->trap;
    h->ucause = t->cause;
    h->uepc = h->pc;
    h->utval = t->tval;
    h->hutval = t->gpa >> 2;
    h->hutinst = t->tinst;
    h->hustatus |= DV_HUSTATUS_SPV;
    h->hustatus = (h->hustatus & ~(DV_HUSTATUS_SPVP | DV_HUSTATUS_GVA)) |
                  (h->priv == PRV_VS ? DV_HUSTATUS_SPVP : 0) | (t->gva ? DV_HUSTATUS_GVA : 0);
    return t->cause;
}

void trap_deliver(struct dv_hart *h, uint64_t cause, uint64_t tval)
{
    uint64_t s = h->vsstatus;
    h->vscause = cause;
    h->vsepc = h->pc;
    h->vstval = tval;
    s = (s & ~SSTATUS_SPP) | (h->priv == PRV_VS ? SSTATUS_SPP : 0);
    s = (s & ~SSTATUS_SPIE) | ((s & SSTATUS_SIE) ? SSTATUS_SPIE : 0);
    s &= ~SSTATUS_SIE;
    h->vsstatus = s;
    hart_set_priv(h, PRV_VS);
    h->fetch_vpage = TLB_INVALID;
    h->resv_valid = false;
    uint64_t base = h->vstvec & ~3ull;
    bool vectored = (h->vstvec & 1) && (cause & DV_CAUSE_INTERRUPT);
    h->pc = vectored ? base + 4 * (cause & 0x3f) : base;
}

bool trap_route(struct dv_hart *h)
{
    if (trap_exits(h))
        return true;
    trap_deliver(h, h->trap.cause, h->trap.tval);
    return false;
}
