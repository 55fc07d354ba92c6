/*
 * System instructions: fences, ecall/ebreak, sret, wfi, sfence.vma, CSR
 * access, and what the guest may not run (mret, hypervisor instructions).
 * Every one of these ends a JIT region (OPF_INTERP) except FENCE.
 */
#ifndef DUVISOR_HART_EXEC_SYS_H
#define DUVISOR_HART_EXEC_SYS_H

#include "hart/csr.h"
#include "hart/exec.h"
#include "hart/jit/jit.h"
#include "hart/mmu.h"

/* Instructions a VU guest, or a VS guest under the given hustatus trap bit,
   may not run: a virtual-instruction trap. */
static inline bool virtual_insn(struct dv_hart *h, const struct insn *in, uint64_t trap_bit)
{
    if (h->priv == PRV_VU || (h->hustatus & trap_bit)) {
        raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
        return true;
    }
    return false;
}

static inline bool exec_sret(struct dv_hart *h, const struct insn *in, uint64_t *next)
{
    if (virtual_insn(h, in, DV_HUSTATUS_VTSR))
        return false;
    uint64_t s = h->vsstatus;
    hart_set_priv(h, (s & SSTATUS_SPP) ? PRV_VS : PRV_VU);
    s = (s & ~SSTATUS_SIE) | ((s & SSTATUS_SPIE) ? SSTATUS_SIE : 0);
    s |= SSTATUS_SPIE;
    s &= ~SSTATUS_SPP;
    h->vsstatus = s;
    *next = h->vsepc;
    h->fetch_vpage = TLB_INVALID;
    h->resv_valid = false;
    hart_request_check(h); /* interrupts may have become enabled */
    return true;
}

static inline bool exec_csr(struct dv_hart *h, const struct insn *in, enum op op)
{
    bool is_imm = op >= OP_CSRRWI;
    uint64_t operand = is_imm ? in->rs1 : h->x[in->rs1];
    bool is_write = op == OP_CSRRW || op == OP_CSRRWI;
    bool writes = is_write || in->rs1 != 0;
    bool reads = !is_write || in->rd != 0;
    enum csr_op kind = is_write                              ? CSR_WRITE
                       : (op == OP_CSRRS || op == OP_CSRRSI) ? CSR_SET
                                                             : CSR_CLEAR;
    uint64_t old;
    if (!csr_guest_access(h, in, (uint32_t)in->imm & 0xfff, kind, operand, writes, reads, &old))
        return false;
    h->x[in->rd] = old;
    return true;
}

EXEC_INLINE enum exec_status exec_SYS(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    switch (op) {
    case OP_FENCE:
        /* x86 keeps every order but store->load; only a fence ordering
           earlier writes before later reads needs a real barrier. */
        if ((in->imm & 0x10) && (in->imm & 0x02))
            __atomic_thread_fence(__ATOMIC_SEQ_CST);
        else
            __atomic_signal_fence(__ATOMIC_SEQ_CST);
        return EXEC_RETIRE;
    case OP_FENCE_I: jit_fence_i(h); return EXEC_RETIRE;
    case OP_ECALL:
        raise_trap(h, h->priv == PRV_VS ? EXC_ECALL_VS : EXC_ECALL_U, 0);
        return EXEC_TRAP;
    case OP_EBREAK: raise_trap(h, EXC_BREAKPOINT, pc); return EXEC_TRAP;
    case OP_SRET: return exec_sret(h, in, next) ? EXEC_RETIRE : EXEC_TRAP;
    case OP_WFI: return virtual_insn(h, in, DV_HUSTATUS_VTW) ? EXEC_TRAP : EXEC_WFI;
    case OP_SFENCE_VMA:
        if (virtual_insn(h, in, DV_HUSTATUS_VTVM))
            return EXEC_TRAP;
        mmu_flush(h);
        return EXEC_RETIRE;
    case OP_SFENCE_INVAL:
        /* Svinval's ordering fences: every invalidation here is already
           complete when sinval.vma retires; VU may not run them (not VTVM's) */
        return virtual_insn(h, in, 0) ? EXEC_TRAP : EXEC_RETIRE;
    case OP_HYPERVISOR: raise_trap(h, EXC_VIRTUAL_INSN, in->raw); return EXEC_TRAP;
    case OP_MRET: raise_trap(h, EXC_ILLEGAL, in->raw); return EXEC_TRAP;
    case OP_CSRRW:
    case OP_CSRRS:
    case OP_CSRRC:
    case OP_CSRRWI:
    case OP_CSRRSI:
    case OP_CSRRCI: return exec_csr(h, in, op) ? EXEC_RETIRE : EXEC_TRAP;
    case OP_ILLEGAL:
    default: return EXEC_ILLEGAL;
    }
}

#endif
