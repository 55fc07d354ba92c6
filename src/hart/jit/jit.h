/*
 * The JIT as the rest of the hart sees it: a per-hart code cache in front of
 * the interpreter (jit.c), and the hooks that keep translated code coherent
 * with guest memory.
 */
#ifndef DUVISOR_HART_JIT_JIT_H
#define DUVISOR_HART_JIT_JIT_H

#include "hart/hart.h"

/* Whether dv_enter should run h through the JIT (sets it up on first use). */
bool jit_wanted(struct dv_hart *h);
/* Run translated code with the interpreter behind it until an exit; returns ucause. */
uint64_t jit_run(struct dv_hart *h);
void jit_hart_destroy(struct dv_hart *h);

/* fence.i on h (the instruction, or dv_fence_i): later fetches see every
   store made before it, by any hart or device. */
void jit_fence_i(struct dv_hart *h);
/* Guest RAM at [host, host+len) was written by someone other than a hart's
   translated-code-aware store path. Any thread. */
void jit_memory_written(struct dv_machine *m, uintptr_t host, size_t len);

/* Whether stores to this RAM page must take the slow path (it holds code). */
bool jit_store_blocked(const struct dv_machine *m, uintptr_t host);
/* h stored into RAM at host (slow path): if that page holds code, its regions
   are stale and h leaves the region it is running. */
void jit_code_stored(struct dv_hart *h, uintptr_t host);
void jit_pages_destroy(struct dv_machine *m);
/* Empty h's jump cache. */
void jit_jc_clear(struct dv_hart *h);

#endif
