/* Integer loads and stores through the software TLB (mem_load/mem_store). */
#ifndef DUVISOR_HART_EXEC_MEM_H
#define DUVISOR_HART_EXEC_MEM_H

#include "hart/exec.h"
#include "hart/mmu.h"

/* Size in bytes and signedness of a load. */
static inline unsigned load_size(enum op op)
{
    return 1u << (op_infos[op].funct3 & 3);
}

static inline uint64_t load_extend(enum op op, uint64_t v)
{
    switch (op) {
    case OP_LB: return (uint64_t)(int64_t)(int8_t)v;
    case OP_LH: return (uint64_t)(int64_t)(int16_t)v;
    case OP_LW: return (uint64_t)sx32(v);
    default: return v;
    }
}

EXEC_INLINE enum exec_status exec_MEM(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    uint64_t va = h->x[in->rs1] + (uint64_t)(int64_t)in->imm;
    unsigned size = load_size(op);
    if (op_infos[op].kind == KIND_STORE)
        return mem_store(h, va, size, h->x[in->rs2], in) ? EXEC_RETIRE : EXEC_TRAP;
    uint64_t v;
    if (!mem_load(h, va, size, &v, in))
        return EXEC_TRAP;
    h->x[in->rd] = load_extend(op, v);
    return EXEC_RETIRE;
}

#endif
