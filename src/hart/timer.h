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

/* Zawrs: sleep while the LR reservation holds, no guest interrupt is pending and
   no other thread asks for attention, at most limit_ns; memory is looked at after
   WRS_POLL_MIN_NS, then at doubling intervals up to WRS_POLL_MAX_NS. False when the
   time ran out. */
#define WRS_POLL_MIN_NS 4000ull
#define WRS_POLL_MAX_NS 500000ull
bool timer_wait_reservation(struct dv_hart *h, uint64_t limit_ns);

#endif
