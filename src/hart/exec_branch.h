/* Control transfer: jal, jalr and the conditional branches. */
#ifndef DUVISOR_HART_EXEC_BRANCH_H
#define DUVISOR_HART_EXEC_BRANCH_H

#include "hart/exec.h"

/* Whether a conditional branch is taken. */
EXEC_INLINE bool branch_taken(enum op op, uint64_t rs1, uint64_t rs2)
{
    switch (op) {
    case OP_BEQ: return rs1 == rs2;
    case OP_BNE: return rs1 != rs2;
    case OP_BLT: return (int64_t)rs1 < (int64_t)rs2;
    case OP_BGE: return (int64_t)rs1 >= (int64_t)rs2;
    case OP_BLTU: return rs1 < rs2;
    case OP_BGEU: return rs1 >= rs2;
    default: __builtin_unreachable();
    }
}

EXEC_INLINE enum exec_status exec_BRANCH(struct dv_hart *h, const struct insn *in, enum op op,
                                         uint64_t pc, uint64_t *next)
{
    uint64_t link = *next;
    switch (op) {
    case OP_JAL:
        *next = pc + (uint64_t)(int64_t)in->imm;
        h->x[in->rd] = link;
        break;
    case OP_JALR:
        /* target before the link: rd may be rs1 */
        *next = (h->x[in->rs1] + (uint64_t)(int64_t)in->imm) & ~1ull;
        h->x[in->rd] = link;
        break;
    default:
        if (branch_taken(op, h->x[in->rs1], h->x[in->rs2]))
            *next = pc + (uint64_t)(int64_t)in->imm;
        break;
    }
    return EXEC_RETIRE;
}

#endif
