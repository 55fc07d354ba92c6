/* Time-driven and asynchronous events: vtimer, Sstc, vIPI, vPLIC, WFI (timer.c). */
#ifndef DUVISOR_HART_TIMER_H
#define DUVISOR_HART_TIMER_H

#include "hart/hart.h"

/* Instructions the interpreter runs between looks at the clock. */
#define ASYNC_BUDGET 512

/* Look at everything asynchronous and restart the budget. Returns true when
   dv_enter must return (h->trap holds the exit); may redirect the guest into
   its interrupt handler. */
bool timer_poll(struct dv_hart *h);

/* WFI with VTW=0: sleep until an interrupt is due, a timer deadline passes,
   or another thread asks for attention. */
void timer_wait_for_interrupt(struct dv_hart *h);

#endif
