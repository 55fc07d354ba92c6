/*
 * What executing one instruction means, shared by every engine. Each
 * instruction family states its semantics once, in exec_<family>.h, as an
 * always-inlined function of (hart, decoded instruction, op); called with a
 * constant op (the interpreter's switch, generated from HART_OPS) it folds to
 * that one instruction's code, and called out of line (exec_one) it serves
 * the JIT's helper calls.
 *
 * Contract of every exec_<family>(h, in, op, pc, next):
 *  - *next holds pc + in->len on entry; a control transfer changes it;
 *  - rd is written directly into h->x (the caller zeroes x[0] afterwards);
 *  - EXEC_TRAP: h->trap is filled and nothing architectural changed
 *    (except bytes already stored by a page-crossing store, as hardware may);
 *  - EXEC_ILLEGAL: the caller raises an illegal-instruction trap.
 */
#ifndef DUVISOR_HART_EXEC_H
#define DUVISOR_HART_EXEC_H

#include "hart/hart.h"
#include "hart/ops.h"

#define EXEC_INLINE static inline __attribute__((always_inline))

enum exec_status {
    EXEC_RETIRE,  /* done: pc = *next, instret + 1 */
    EXEC_TRAP,    /* h->trap holds the trap; not retired */
    EXEC_ILLEGAL, /* raise an illegal-instruction trap with the raw bits */
    EXEC_WFI,     /* retire, then wait for an interrupt */
};

static inline int64_t sx32(uint64_t v)
{
    return (int64_t)(int32_t)v;
}

/* Run one decoded instruction out of line (the JIT's fallback for anything
   it does not emit itself). x[0] is zero again on return. */
enum exec_status exec_one(struct dv_hart *h, const struct insn *in, uint64_t pc, uint64_t *next);

#endif
