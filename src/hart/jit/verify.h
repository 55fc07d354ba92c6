/*
 * The JIT's verify mode (DUVISOR_JIT_VERIFY=1, engine.verify): every region
 * execution is replayed in the interpreter from the same state, and the
 * first difference stops duvisor with a dump. Slow; a debugging tool.
 */
#ifndef DUVISOR_HART_JIT_VERIFY_H
#define DUVISOR_HART_JIT_VERIFY_H

#include "hart/hart.h"

/* A store log: while verifying, every guest store takes the slow path
   (no store-TLB entries) and records the bytes it overwrote. */
#define VERIFY_LOG_SIZE 4096
struct verify_log {
    unsigned n;
    bool overflow;
    /* vPLIC accesses (claims have side effects): recorded while the region
       runs, replayed, not repeated, while the interpreter runs */
    bool replay;
    unsigned nplic, next_plic;
    uint32_t plic[64];
    struct {
        uintptr_t host;
        uint64_t old;
        uint8_t size;
    } e[VERIFY_LOG_SIZE];
};

/* mmu.c: a store of size bytes at host is about to happen. */
void verify_log_store(struct dv_hart *h, uintptr_t host, unsigned size);

/* mmu.c: a vPLIC access. Returns true when it is replayed (for a read,
 *value is the recorded result) and must not reach the vPLIC. */
bool verify_plic(struct dv_hart *h, bool store, uint32_t *value);
/* mmu.c: record what a vPLIC read returned. */
void verify_plic_result(struct dv_hart *h, uint32_t value);

/* Run translated code once through run(h) (which returns its exit reason),
   then the interpreter over the same instructions from the same state;
   abort with a dump if registers, pc, instret or stored bytes differ.
   Returns the exit reason. */
uint64_t verify_region(struct dv_hart *h, uint64_t pc0, uint64_t (*run)(struct dv_hart *h, void *),
                       void *arg);

#endif
