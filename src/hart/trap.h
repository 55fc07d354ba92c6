/* Trap routing: to the guest's own handler, or out of dv_enter as an exit (trap.c). */
#ifndef DUVISOR_HART_TRAP_H
#define DUVISOR_HART_TRAP_H

#include "hart/hart.h"

/* Whether h->trap is a VM exit (dvext.md section 3) rather than the guest's own. */
bool trap_exits(const struct dv_hart *h);
/* Fill the exit registers from h->trap at h->pc; returns ucause. */
uint64_t trap_take_exit(struct dv_hart *h);
/* Enter the guest's handler at vstvec as an S-mode trap taken at h->pc. */
void trap_deliver(struct dv_hart *h, uint64_t cause, uint64_t tval);
/* Route h->trap, raised at h->pc: true when dv_enter must return (exit filled). */
bool trap_route(struct dv_hart *h);

#endif
