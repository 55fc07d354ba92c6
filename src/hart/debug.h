/*
 * Debug triggers and single step (dv_debug_arm in dvext.h): what a hart
 * under a debugger checks before each instruction. A hart has a struct
 * hart_debug only while something is armed, and then runs through
 * interp_debug_run (interp.c) instead of the JIT or the plain interpreter.
 */
#ifndef DUVISOR_HART_DEBUG_H
#define DUVISOR_HART_DEBUG_H

#include "hart/hart.h"

struct hart_debug {
    unsigned n;
    bool step;
    bool watch; /* some trigger watches loads or stores */
    uint64_t step_pc, step_instret;
    struct dv_trigger t[DV_MAX_TRIGGERS];
};

/* At entry: a step armed earlier already ended (the hypervisor completed
   the instruction at an exit, or it retired before one). */
bool debug_step_done(const struct dv_hart *h);
/* Before executing in (NULL: it could not be fetched) at h->pc: true when a
   trigger fires, with the debug exit in h->trap. */
bool debug_trigger_fires(struct dv_hart *h, const struct insn *in);
/* The debug exit of a step that ended at h->pc, in h->trap. */
void debug_step_stop(struct dv_hart *h);

#endif
