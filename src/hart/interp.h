/* The interpreter (interp.c): the reference engine, and the JIT's fallback. */
#ifndef DUVISOR_HART_INTERP_H
#define DUVISOR_HART_INTERP_H

#include "hart/hart.h"

/* Interpret from h->pc until dv_enter must return; returns ucause. */
uint64_t interp_run(struct dv_hart *h);

/* Interpret from h->pc up to and including the next instruction that ends a
   basic block (branch, jump, system instruction, trap, or WFI). Returns true
   when dv_enter must return (h->trap holds the exit, not yet taken). */
bool interp_block(struct dv_hart *h);

/* Retire exactly n instructions from h->pc with no look at interrupts;
   false, with h->trap raised and not routed, if one of them traps. */
/* dv_enter for a hart with debug triggers or a step armed (debug.h):
   the interpreter alone, the triggers looked at before every instruction. */
uint64_t interp_debug_run(struct dv_hart *h);

bool interp_steps(struct dv_hart *h, uint64_t n);

#endif
