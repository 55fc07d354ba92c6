/*
 * The A extension with host atomics. LR records the host address and the
 * value it saw; SC succeeds only if memory still holds that value (a CAS),
 * so harts running different engines interleave correctly.
 */
#ifndef DUVISOR_HART_EXEC_AMO_H
#define DUVISOR_HART_EXEC_AMO_H

#include "hart/exec.h"
#include "hart/mmu.h"

static inline bool amo_is_lr(enum op op)
{
    return op == OP_LR_W || op == OP_LR_D;
}

static inline unsigned amo_size(enum op op)
{
    return op >= OP_LR_D ? 8 : 4;
}

/* A naturally aligned host pointer for an AMO at va, or NULL with h->trap set.
   Misaligned AMOs trap (no Zam); LR checks load permission, the rest store. */
static inline void *amo_address(struct dv_hart *h, const struct insn *in, enum op op, uint64_t va)
{
    unsigned size = amo_size(op);
    bool is_lr = amo_is_lr(op);
    if (va & (size - 1)) {
        raise_trap(h, is_lr ? EXC_LOAD_MISALIGNED : EXC_STORE_MISALIGNED, va);
        return NULL;
    }
    enum access acc = is_lr ? ACC_LOAD : ACC_STORE;
    struct tlb_entry *e = tlb_slot(h, acc, va);
    if (likely(__atomic_load_n(&e->tag, __ATOMIC_RELAXED) == tlb_tag(h, va))) /* see mem_store */
        return (void *)(uintptr_t)(va + e->addend);
    return mmu_host_ptr(h, va, acc, in);
}

/* The new memory value of a read-modify-write AMO. */
EXEC_INLINE uint64_t amo_combine(enum op op, uint64_t old, uint64_t b)
{
    bool w = amo_size(op) == 4;
    int64_t so = w ? (int32_t)old : (int64_t)old, sb = w ? (int32_t)b : (int64_t)b;
    uint64_t uo = w ? (uint32_t)old : old, ub = w ? (uint32_t)b : b;
    switch (op) {
    case OP_AMOSWAP_W:
    case OP_AMOSWAP_D: return b;
    case OP_AMOADD_W:
    case OP_AMOADD_D: return old + b;
    case OP_AMOXOR_W:
    case OP_AMOXOR_D: return old ^ b;
    case OP_AMOAND_W:
    case OP_AMOAND_D: return old & b;
    case OP_AMOOR_W:
    case OP_AMOOR_D: return old | b;
    case OP_AMOMIN_W:
    case OP_AMOMIN_D: return so < sb ? old : b;
    case OP_AMOMAX_W:
    case OP_AMOMAX_D: return so > sb ? old : b;
    case OP_AMOMINU_W:
    case OP_AMOMINU_D: return uo < ub ? old : b;
    case OP_AMOMAXU_W:
    case OP_AMOMAXU_D: return uo > ub ? old : b;
    default: __builtin_unreachable();
    }
}

static inline GUEST_RAM uint64_t amo_lr(struct dv_hart *h, void *p, unsigned size)
{
    uint64_t v = size == 4 ? (uint64_t)sx32(__atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE))
                           : __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
    h->resv_value = v;
    h->resv_addr = (uintptr_t)p;
    h->resv_valid = true;
    return v;
}

static inline GUEST_RAM uint64_t amo_sc(struct dv_hart *h, void *p, unsigned size, uint64_t value)
{
    bool ok = false;
    /* The reservation holds while memory still has the value LR saw: a
       racing store of a different value makes the CAS fail. */
    if (h->resv_valid && h->resv_addr == (uintptr_t)p) {
        if (size == 4) {
            uint32_t expect = (uint32_t)h->resv_value;
            ok = __atomic_compare_exchange_n((uint32_t *)p, &expect, (uint32_t)value, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
        } else {
            uint64_t expect = h->resv_value;
            ok = __atomic_compare_exchange_n((uint64_t *)p, &expect, value, false, __ATOMIC_SEQ_CST,
                                             __ATOMIC_RELAXED);
        }
    }
    h->resv_valid = false;
    return ok ? 0 : 1;
}

GUEST_RAM_INLINE uint64_t amo_rmw(enum op op, void *p, unsigned size, uint64_t b)
{
    if (size == 4) {
        uint32_t *a = p, old = __atomic_load_n(a, __ATOMIC_RELAXED);
        while (!__atomic_compare_exchange_n(a, &old, (uint32_t)amo_combine(op, old, b), true,
                                            __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {
        }
        return (uint64_t)sx32(old);
    }
    uint64_t *a = p, old = __atomic_load_n(a, __ATOMIC_RELAXED);
    while (!__atomic_compare_exchange_n(a, &old, amo_combine(op, old, b), true, __ATOMIC_SEQ_CST,
                                        __ATOMIC_RELAXED)) {
    }
    return old;
}

EXEC_INLINE enum exec_status exec_AMO(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    unsigned size = amo_size(op);
    void *p = amo_address(h, in, op, h->x[in->rs1]);
    if (!p)
        return EXEC_TRAP;
    uint64_t b = h->x[in->rs2];
    uint64_t v;
    if (amo_is_lr(op))
        v = amo_lr(h, p, size);
    else if (op == OP_SC_W || op == OP_SC_D)
        v = amo_sc(h, p, size, b);
    else
        v = amo_rmw(op, p, size, b);
    h->x[in->rd] = v;
    return EXEC_RETIRE;
}

#endif
