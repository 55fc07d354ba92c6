/*
 * Zicbom and Zicboz: cache-block operations on CBO_BLOCK_SIZE-byte blocks.
 * The hart has no caches of its own and the host keeps guest RAM coherent,
 * so clean, flush and inval only check that the block may be accessed;
 * cbo.zero writes zeros through the ordinary store path (translation,
 * G-stage faults, devices, translated-code invalidation).
 *
 * Enables: henvcfg (the hypervisor's) is taken as CBIE = 11, CBCFE = 1,
 * CBZE = 1, so VS-mode may always run them; in VU-mode senvcfg decides, and a
 * disabled one is a virtual-instruction exception (the privileged spec's rule
 * for V = 1 when henvcfg allows but senvcfg does not).
 */
#ifndef DUVISOR_HART_EXEC_CMO_H
#define DUVISOR_HART_EXEC_CMO_H

#include "hart/exec.h"
#include "hart/mmu.h"

static inline bool cmo_enabled(const struct dv_hart *h, enum op op)
{
    if (h->priv != PRV_VU)
        return true;
    switch (op) {
    case OP_CBO_ZERO: return h->senvcfg & SENVCFG_CBZE;
    case OP_CBO_INVAL: return h->senvcfg & SENVCFG_CBIE; /* 01: a flush, 11: an inval */
    default: return h->senvcfg & SENVCFG_CBCFE;
    }
}

/* A management operation faults as a store (the CMO spec), whatever the check it failed. */
static inline uint64_t cmo_store_cause(uint64_t cause)
{
    switch (cause) {
    case EXC_LOAD_ACCESS: return EXC_STORE_ACCESS;
    case EXC_LOAD_PAGE: return EXC_STORE_PAGE;
    case EXC_LOAD_GUEST_PAGE: return EXC_STORE_GUEST_PAGE;
    default: return cause;
    }
}

EXEC_INLINE enum exec_status exec_CMO(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    if (!cmo_enabled(h, op)) {
        raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
        return EXEC_TRAP;
    }
    uint64_t block = h->x[in->rs1] & ~(uint64_t)(CBO_BLOCK_SIZE - 1);
    if (op == OP_CBO_ZERO) {
        /* one page, so the first store takes any fault before anything is written */
        for (unsigned off = 0; off < CBO_BLOCK_SIZE; off += 8)
            if (!mem_store(h, block + off, 8, 0, in))
                return EXEC_TRAP;
        return EXEC_RETIRE;
    }
    /* A load's permission suffices (no page grants W without R). */
    if (!mmu_host_ptr(h, block, ACC_LOAD, in)) {
        h->trap.cause = cmo_store_cause(h->trap.cause);
        return EXEC_TRAP;
    }
    return EXEC_RETIRE;
}

#endif
