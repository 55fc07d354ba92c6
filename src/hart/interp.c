/*
 * The interpreter: fetch, look up the decoded instruction, execute it through
 * the family semantics of exec_*.h, and route traps (trap.c). Timers, vIPIs
 * and vPLIC changes are looked at every ASYNC_BUDGET instructions and at once
 * when another thread asks for attention (timer.c).
 */
#include "hart/debug.h"
#include "hart/decode.h"
#include "hart/exec_amo.h"
#include "hart/exec_branch.h"
#include "hart/exec_cmo.h"
#include "hart/exec_crypto.h"
#include "hart/exec_fp.h"
#include "hart/exec_int.h"
#include "hart/exec_mem.h"
#include "hart/exec_sys.h"
#include "hart/exec_vec.h"
#include "hart/exec_wrs.h"
#include "hart/interp.h"
#include "hart/mmu.h"
#include "hart/timer.h"
#include "hart/trap.h"

/* One flat switch over every operation, each case the family's semantics
   specialised to that op. */
EXEC_INLINE enum exec_status exec_dispatch(struct dv_hart *h, const struct insn *in, uint64_t pc,
                                           uint64_t *next)
{
    switch ((enum op)in->op) {
#define X(name, family, kind, opcode, funct3, flags)                                               \
    case OP_##name: return exec_##family(h, in, OP_##name, pc, next);
        HART_OPS(X)
#undef X
    default: return EXEC_ILLEGAL;
    }
}

enum exec_status exec_one(struct dv_hart *h, const struct insn *in, uint64_t pc, uint64_t *next)
{
    enum exec_status st = exec_dispatch(h, in, pc, next);
    h->x[0] = 0;
    return st;
}

static inline const struct insn *icache_lookup(struct dv_hart *h, uint64_t pc, uint32_t raw)
{
    struct insn *in = &h->icache[(pc >> 1) & (ICACHE_SIZE - 1)];
    if (unlikely(in->raw != raw || in->len == 0))
        decode(raw, in);
    return in;
}

static inline void retire(struct dv_hart *h, uint64_t next)
{
    h->x[0] = 0;
    h->pc = next;
    h->instret++;
}

/* One instruction at h->pc: fetched, decoded, executed and, unless it
   trapped (h->trap raised, not routed), retired. *in is set once decoded. */
EXEC_INLINE enum exec_status interp_step(struct dv_hart *h, const struct insn **in)
{
    uint64_t pc = h->pc;
    uint32_t raw;
    if (unlikely(!mmu_fetch(h, pc, &raw)))
        return EXEC_TRAP;
    *in = icache_lookup(h, pc, raw);
    uint64_t next = pc + (*in)->len;
    enum exec_status st = exec_dispatch(h, *in, pc, &next);
    if (likely(st == EXEC_RETIRE || st == EXEC_WFI)) {
        retire(h, next);
        return st;
    }
    if (st == EXEC_ILLEGAL)
        raise_trap(h, EXC_ILLEGAL, raw);
    return EXEC_TRAP;
}

/* The loop behind interp_run (one_block false) and interp_block (true):
   returns true when an exit is due, false when a block ended. */
EXEC_INLINE bool interp_loop(struct dv_hart *h, bool one_block)
{
    for (;;) {
        /* The budget is this thread's; another thread's request is attention
           (a plain load on x86), seen before the next instruction. */
        if (unlikely(h->budget <= 0 || atomic_load_explicit(&h->attention, memory_order_relaxed))) {
            if (timer_poll(h))
                return true;
        }
        h->budget--;

        const struct insn *in = NULL;
        enum exec_status st = interp_step(h, &in);
        if (likely(st == EXEC_RETIRE)) {
            if (one_block && (op_infos[in->op].flags & (OPF_BRANCH | OPF_JUMP | OPF_INTERP)))
                return false;
            continue;
        }
        if (st == EXEC_WFI) {
            timer_wait_for_interrupt(h);
            if (one_block)
                return false;
            continue;
        }
        if (trap_route(h))
            return true;
        if (one_block)
            return false;
    }
}

uint64_t interp_run(struct dv_hart *h)
{
    interp_loop(h, false);
    return trap_take_exit(h);
}

bool interp_block(struct dv_hart *h)
{
    return interp_loop(h, true);
}

uint64_t interp_debug_run(struct dv_hart *h)
{
    if (debug_step_done(h)) {
        debug_step_stop(h);
        return trap_take_exit(h);
    }
    for (;;) {
        /* A step masks interrupts: no look at them until it ends. */
        bool stepping = h->debug->step;
        if (!stepping &&
            (h->budget <= 0 || atomic_load_explicit(&h->attention, memory_order_relaxed))) {
            if (timer_poll(h))
                break;
        }
        h->budget--;
        uint32_t raw;
        const struct insn *next = mmu_fetch(h, h->pc, &raw) ? icache_lookup(h, h->pc, raw) : NULL;
        if (debug_trigger_fires(h, next))
            break;
        const struct insn *in = NULL;
        enum exec_status st = interp_step(h, &in);
        if (st == EXEC_WFI && !stepping)
            timer_wait_for_interrupt(h); /* while stepping, WFI is a no-op */
        else if (st == EXEC_TRAP && trap_route(h))
            break;
        if (stepping) {
            debug_step_stop(h);
            break;
        }
    }
    return trap_take_exit(h);
}

bool interp_steps(struct dv_hart *h, uint64_t n)
{
    const struct insn *in;
    for (; n > 0; n--)
        if (interp_step(h, &in) != EXEC_RETIRE)
            return false;
    return true;
}
