/*
 * The A extension, Zabha (byte and halfword AMOs) and Zacas (compare and
 * swap) with host atomics. LR records the host address and the value it saw;
 * SC succeeds only if memory still holds that value (a CAS), so harts
 * running different engines interleave correctly.
 */
#ifndef DUVISOR_HART_EXEC_AMO_H
#define DUVISOR_HART_EXEC_AMO_H

#include "hart/exec.h"
#include "hart/mmu.h"

static inline bool amo_is_lr(enum op op)
{
    return op == OP_LR_W || op == OP_LR_D;
}

#define ZABHA_CASES(W)                                                                             \
    case OP_AMOSWAP_##W:                                                                           \
    case OP_AMOADD_##W:                                                                            \
    case OP_AMOXOR_##W:                                                                            \
    case OP_AMOAND_##W:                                                                            \
    case OP_AMOOR_##W:                                                                             \
    case OP_AMOMIN_##W:                                                                            \
    case OP_AMOMAX_##W:                                                                            \
    case OP_AMOMINU_##W:                                                                           \
    case OP_AMOMAXU_##W

static inline unsigned amo_size(enum op op)
{
    switch (op) {
        ZABHA_CASES(B) : case OP_AMOCAS_B : return 1;
        ZABHA_CASES(H) : case OP_AMOCAS_H : return 2;
    case OP_AMOCAS_W: return 4;
    case OP_AMOCAS_D: return 8;
    case OP_AMOCAS_Q: return 16;
    default: return op >= OP_LR_D ? 8 : 4; /* the A extension's, in HART_OPS order */
    }
}

static inline bool amo_is_cas(enum op op)
{
    return op == OP_AMOCAS_B || op == OP_AMOCAS_H || op == OP_AMOCAS_W || op == OP_AMOCAS_D ||
           op == OP_AMOCAS_Q;
}

static inline uint64_t sext_size(uint64_t v, unsigned size)
{
    unsigned sh = 64 - 8 * size;
    return (uint64_t)((int64_t)(v << sh) >> sh);
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

/* The new memory value of a read-modify-write AMO on size bytes (the caller truncates it). */
EXEC_INLINE uint64_t amo_combine(enum op op, uint64_t old, uint64_t b, unsigned size)
{
    int64_t so = (int64_t)sext_size(old, size), sb = (int64_t)sext_size(b, size);
    uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    uint64_t uo = old & mask, ub = b & mask;
    switch (op) {
    case OP_AMOSWAP_B:
    case OP_AMOSWAP_H:
    case OP_AMOSWAP_W:
    case OP_AMOSWAP_D: return b;
    case OP_AMOADD_B:
    case OP_AMOADD_H:
    case OP_AMOADD_W:
    case OP_AMOADD_D: return old + b;
    case OP_AMOXOR_B:
    case OP_AMOXOR_H:
    case OP_AMOXOR_W:
    case OP_AMOXOR_D: return old ^ b;
    case OP_AMOAND_B:
    case OP_AMOAND_H:
    case OP_AMOAND_W:
    case OP_AMOAND_D: return old & b;
    case OP_AMOOR_B:
    case OP_AMOOR_H:
    case OP_AMOOR_W:
    case OP_AMOOR_D: return old | b;
    case OP_AMOMIN_B:
    case OP_AMOMIN_H:
    case OP_AMOMIN_W:
    case OP_AMOMIN_D: return so < sb ? old : b;
    case OP_AMOMAX_B:
    case OP_AMOMAX_H:
    case OP_AMOMAX_W:
    case OP_AMOMAX_D: return so > sb ? old : b;
    case OP_AMOMINU_B:
    case OP_AMOMINU_H:
    case OP_AMOMINU_W:
    case OP_AMOMINU_D: return uo < ub ? old : b;
    case OP_AMOMAXU_B:
    case OP_AMOMAXU_H:
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
    h->resv_size = (uint8_t)size;
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

/* A CAS loop of one width: the old value, sign-extended */
#define AMO_RMW_LOOP(type, p, op, b, size)                                                         \
    do {                                                                                           \
        type *a_ = (p), old_ = __atomic_load_n(a_, __ATOMIC_RELAXED);                              \
        while (!__atomic_compare_exchange_n(a_, &old_, (type)amo_combine(op, old_, b, size), true, \
                                            __ATOMIC_SEQ_CST, __ATOMIC_RELAXED)) {                 \
        }                                                                                          \
        return sext_size(old_, size);                                                              \
    } while (0)

GUEST_RAM_INLINE uint64_t amo_rmw(enum op op, void *p, unsigned size, uint64_t b)
{
    switch (size) {
    case 1: AMO_RMW_LOOP(uint8_t, p, op, b, 1);
    case 2: AMO_RMW_LOOP(uint16_t, p, op, b, 2);
    case 4: AMO_RMW_LOOP(uint32_t, p, op, b, 4);
    default: AMO_RMW_LOOP(uint64_t, p, op, b, 8);
    }
}

/* Zacas up to 64 bits: store value if memory holds expect (compared at the AMO's width);
   the value memory held, sign-extended, either way. */
#define AMO_CAS(type, p, expect, value, size)                                                      \
    do {                                                                                           \
        type e_ = (type)(expect);                                                                  \
        __atomic_compare_exchange_n((type *)(p), &e_, (type)(value), false, __ATOMIC_SEQ_CST,      \
                                    __ATOMIC_SEQ_CST);                                             \
        return sext_size(e_, size);                                                                \
    } while (0)

GUEST_RAM_INLINE uint64_t amo_cas(void *p, unsigned size, uint64_t expect, uint64_t value)
{
    switch (size) {
    case 1: AMO_CAS(uint8_t, p, expect, value, 1);
    case 2: AMO_CAS(uint16_t, p, expect, value, 2);
    case 4: AMO_CAS(uint32_t, p, expect, value, 4);
    default: AMO_CAS(uint64_t, p, expect, value, 8);
    }
}

/* amocas.q: a 16-byte compare-and-swap on 16-byte aligned p; pair[] holds the
   expected value on entry and what memory held on return. */
static inline GUEST_RAM void amo_cas128(void *p, uint64_t pair[2], uint64_t lo, uint64_t hi)
{
#if defined(__x86_64__)
    __asm__ volatile("lock cmpxchg16b %0"
                     : "+m"(*(volatile unsigned __int128 *)p), "+a"(pair[0]), "+d"(pair[1])
                     : "b"(lo), "c"(hi)
                     : "memory", "cc");
#else
    unsigned __int128 e = (unsigned __int128)pair[1] << 64 | pair[0];
    __atomic_compare_exchange_n((unsigned __int128 *)p, &e, (unsigned __int128)hi << 64 | lo, false,
                                __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    pair[0] = (uint64_t)e;
    pair[1] = (uint64_t)(e >> 64);
#endif
}

/* A register pair (Zacas: rd, rs2 even); x0's pair reads as zero. */
static inline uint64_t pair_reg(const struct dv_hart *h, unsigned r, unsigned half)
{
    return r ? h->x[r + half] : 0;
}

static inline void exec_amocas_q(struct dv_hart *h, const struct insn *in, void *p)
{
    uint64_t pair[2] = {pair_reg(h, in->rd, 0), pair_reg(h, in->rd, 1)};
    amo_cas128(p, pair, pair_reg(h, in->rs2, 0), pair_reg(h, in->rs2, 1));
    if (in->rd) { /* x0's pair is not written */
        h->x[in->rd] = pair[0];
        h->x[in->rd + 1] = pair[1];
    }
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
    if (op == OP_AMOCAS_Q) {
        exec_amocas_q(h, in, p);
        return EXEC_RETIRE;
    }
    if (amo_is_cas(op))
        v = amo_cas(p, size, h->x[in->rd], b);
    else if (amo_is_lr(op))
        v = amo_lr(h, p, size);
    else if (op == OP_SC_W || op == OP_SC_D)
        v = amo_sc(h, p, size, b);
    else
        v = amo_rmw(op, p, size, b);
    h->x[in->rd] = v;
    return EXEC_RETIRE;
}

#endif
