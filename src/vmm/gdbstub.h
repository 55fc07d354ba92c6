/*
 * The GDB remote stub (`duvisor run --gdb tcp:HOST:PORT|unix:PATH`): one
 * thread per VM serving one client at a time, one GDB thread per vCPU. The
 * stub stops vCPUs at a gate before dv_enter() (vcpu.c calls the hooks
 * below), reads and writes their registers while they stand there, and arms
 * the hart's debug triggers (dv_debug_arm) for breakpoints, watchpoints and
 * steps.
 */
#ifndef DUVISOR_VMM_GDBSTUB_H
#define DUVISOR_VMM_GDBSTUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;
struct gdbstub;

/* Whether text is an address --gdb takes. 0, or -1 with a reason. */
int gdbstub_check_address(const char *text, char *err, size_t err_len);

/* Listen on address and start the stub's thread for vm (before vm_start).
   wait: every vCPU stays at the gate until a client lets it run. NULL with
   a reason on failure. */
struct gdbstub *gdbstub_create(struct vm *vm, const char *address, bool wait, char *err,
                               size_t err_len);
/* After the vCPU threads have been joined. */
void gdbstub_destroy(struct gdbstub *g);

/* --- the vCPU threads' side ---------------------------------------------------------- */
/* Before dv_enter: true when vCPU id may run the guest now (it then counts as
   running until gdbstub_vcpu_left); false after a short wait at the gate,
   so the caller can serve its requests and look for a stop, then ask again. */
bool gdbstub_vcpu_may_run(struct gdbstub *g, unsigned id);
/* After the exit dv_enter returned has been handled. */
void gdbstub_vcpu_left(struct gdbstub *g, unsigned id);
/* A DV_EXIT_DEBUG exit: report it to the client (the first of several wins:
   the others fire again when their vCPUs run). */
void gdbstub_vcpu_debug_exit(struct gdbstub *g, unsigned id, uint64_t reason, uint64_t addr);

#endif
