/* The V extension: every vector op runs out of line in vector*.c. */
#ifndef DUVISOR_HART_EXEC_VEC_H
#define DUVISOR_HART_EXEC_VEC_H

#include "hart/exec.h"
#include "hart/vector.h"

EXEC_INLINE enum exec_status exec_VEC(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)op;
    (void)pc;
    (void)next;
    return vec_exec(h, in);
}

#endif
