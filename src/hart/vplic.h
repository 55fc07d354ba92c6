/* SPDX-License-Identifier: MIT */
/*
 * vplic.h - the guest's interrupt controller (dvext.md section 2.5).
 *
 * A RISC-V Platform-Level Interrupt Controller (riscv-plic-spec v1.0.0) with
 * the register map of `riscv,plic0` / `sifive,plic-1.0.0`, so unmodified
 * Linux drives it:
 *
 *   0x000000 + 4*source           priority (WARL, 0..7; 0 = never interrupts)
 *   0x001000 + 4*word             pending bits (read-only to the guest)
 *   0x002000 + 0x80*ctx + 4*word  enable bits of context ctx
 *   0x200000 + 0x1000*ctx         priority threshold of ctx (WARL, 0..7)
 *   0x200004 + 0x1000*ctx         claim (read) / complete (write) of ctx
 *
 * Sources are 1..nsources-1 (source 0 does not exist and reads 0). Sources
 * are level-triggered: the hypervisor raises or lowers a line with
 * vplic_set_irq(). The gateway lets a source become pending only while it
 * is not claimed; after its completion a line that is still high makes it
 * pending again. A line lowered before the claim withdraws the request.
 *
 * One context per hart: context n is hart n's VSEIP. A context's line is
 * asserted while some source is pending, enabled for it and has a priority
 * above its threshold; claim returns the best such source (highest
 * priority, then lowest id) or 0.
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the state (claims and completions are rare next to instructions).
 */
#ifndef DUVISOR_HART_VPLIC_H
#define DUVISOR_HART_VPLIC_H

#include <stdbool.h>
#include <stdint.h>

#define VPLIC_MAX_SOURCES  1024u /* including the non-existent source 0 */
#define VPLIC_MAX_CONTEXTS 512u  /* so the map fits DV_PLIC_SIZE (0x400000) */
#define VPLIC_MAX_PRIORITY 7u

/* Register map (offsets from the PLIC base). */
#define VPLIC_PRIORITY_BASE  0x000000u
#define VPLIC_PENDING_BASE   0x001000u
#define VPLIC_ENABLE_BASE    0x002000u
#define VPLIC_ENABLE_STRIDE  0x80u
#define VPLIC_CONTEXT_BASE   0x200000u
#define VPLIC_CONTEXT_STRIDE 0x1000u
#define VPLIC_THRESHOLD      0x0u /* within a context's block */
#define VPLIC_CLAIM          0x4u /* within a context's block */

struct vplic;

/*
 * Called whenever context's external interrupt line changes (asserted <->
 * deasserted), on the thread that caused the change, with the vplic's lock
 * held, so calls for one vplic are serialised and arrive in order. The
 * callee must not call back into the vplic (it would deadlock); it should
 * just record the level (e.g. set/clear VSEIP and kick the hart).
 */
typedef void (*vplic_notify_fn)(void *opaque, unsigned context, bool pending);

/*
 * nsources includes the non-existent source 0 (sources 1..nsources-1),
 * 1..VPLIC_MAX_SOURCES; ncontexts 1..VPLIC_MAX_CONTEXTS. notify may be NULL.
 * NULL on bad arguments or no memory. Everything starts at 0: no priority,
 * no enable, threshold 0, all lines low.
 */
struct vplic *vplic_create(unsigned nsources, unsigned ncontexts, vplic_notify_fn notify,
                           void *opaque);
void vplic_destroy(struct vplic *p); /* NULL is fine */

/*
 * Guest MMIO at offset from the PLIC base. Only naturally aligned 4-byte
 * accesses below the end of the last context's block are valid; anything
 * else returns false (the hart makes it an access fault). Unimplemented
 * registers inside the map read 0 and ignore writes (true). Reading a claim
 * register claims.
 */
bool vplic_read(struct vplic *p, uint64_t offset, unsigned size, uint32_t *value);
bool vplic_write(struct vplic *p, uint64_t offset, unsigned size, uint32_t value);

/* Raise (level=true) or lower a level-triggered source. Any thread;
   out-of-range sources are ignored. */
void vplic_set_irq(struct vplic *p, unsigned source, bool level);

/* Copy the state out (dvext.h's dv_plic_state), or replace it: false when
   the shape differs or a value is out of range (then nothing changed). After
   a restore every context's line is evaluated afresh and notified. */
struct dv_plic_state;
void vplic_save(struct vplic *p, struct dv_plic_state *out);
bool vplic_restore(struct vplic *p, const struct dv_plic_state *in);

/* Is context's external interrupt line asserted now? Lock-free; false for an
   out-of-range context. */
bool vplic_pending(struct vplic *p, unsigned context);

#endif /* DUVISOR_HART_VPLIC_H */
