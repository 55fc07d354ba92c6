/*
 * Debug triggers and single step for a debugger stub (dvext.h: dv_debug_arm).
 * Triggers are looked at before an instruction executes, against guest
 * virtual addresses, so guest memory is never patched and the guest's own
 * ebreak keeps its meaning.
 */
#include <stdlib.h>

#include "hart/debug.h"
#include "hart/exec_mem.h"

int dv_debug_arm(struct dv_hart *h, const struct dv_trigger *t, unsigned n, bool step)
{
    if (n > DV_MAX_TRIGGERS || (n && !t))
        return DV_ERR_INVALID;
    bool watch = false;
    for (unsigned i = 0; i < n; i++) {
        unsigned kinds = DV_TRIGGER_EXEC | DV_TRIGGER_LOAD | DV_TRIGGER_STORE;
        bool data = t[i].type & (DV_TRIGGER_LOAD | DV_TRIGGER_STORE);
        if (!t[i].type || (t[i].type & ~kinds) || (data && t[i].len == 0) ||
            (data && t[i].addr + t[i].len - 1 < t[i].addr))
            return DV_ERR_INVALID;
        watch |= data;
    }
    if (n == 0 && !step) {
        free(h->debug);
        h->debug = NULL;
        return DV_OK;
    }
    if (!h->debug) {
        h->debug = calloc(1, sizeof(*h->debug));
        if (!h->debug)
            return DV_ERR_NOMEM;
    }
    struct hart_debug *d = h->debug;
    d->n = n;
    memcpy(d->t, t, n * sizeof(*t));
    d->watch = watch;
    d->step = step;
    d->step_pc = h->uepc;
    d->step_instret = h->instret;
    return DV_OK;
}

bool debug_step_done(const struct dv_hart *h)
{
    const struct hart_debug *d = h->debug;
    return d->step && (h->pc != d->step_pc || h->instret != d->step_instret);
}

static void debug_stop(struct dv_hart *h, enum dv_debug_reason why, uint64_t addr)
{
    h->trap = (struct trap){.cause = DV_EXIT_DEBUG, .tval = addr, .tinst = why};
}

void debug_step_stop(struct dv_hart *h)
{
    debug_stop(h, DV_DEBUG_STEP, h->pc);
}

/* The data access in makes: [*va, *va + *size), which of load and store. */
static unsigned access_of(const struct dv_hart *h, const struct insn *in, uint64_t *va,
                          uint64_t *size)
{
    enum op op = (enum op)in->op;
    switch (op_infos[op].kind) {
    case KIND_LOAD:
    case KIND_STORE:
        if (op == OP_VLOAD || op == OP_VSTORE)
            return 0; /* vector accesses: not watched */
        *va = h->x[in->rs1] + (uint64_t)(int64_t)in->imm;
        *size = load_size(op);
        return op_infos[op].kind == KIND_LOAD ? DV_TRIGGER_LOAD : DV_TRIGGER_STORE;
    case KIND_AMO:
        *va = h->x[in->rs1];
        *size = 1ull << ((in->raw >> 12) & 7);
        if (op == OP_LR_W || op == OP_LR_D)
            return DV_TRIGGER_LOAD;
        if (op == OP_SC_W || op == OP_SC_D)
            return DV_TRIGGER_STORE;
        return DV_TRIGGER_LOAD | DV_TRIGGER_STORE;
    default:
        if (op == OP_CBO_ZERO) {
            *va = h->x[in->rs1] & ~(uint64_t)(DV_CBO_BLOCK_SIZE - 1);
            *size = DV_CBO_BLOCK_SIZE;
            return DV_TRIGGER_STORE;
        }
        return 0;
    }
}

bool debug_trigger_fires(struct dv_hart *h, const struct insn *in)
{
    const struct hart_debug *d = h->debug;
    uint64_t va = 0, size = 0;
    unsigned acc = d->watch && in ? access_of(h, in, &va, &size) : 0;
    for (unsigned i = 0; i < d->n; i++) {
        const struct dv_trigger *t = &d->t[i];
        if ((t->type & DV_TRIGGER_EXEC) && t->addr == h->pc) {
            debug_stop(h, DV_DEBUG_EXEC, h->pc);
            return true;
        }
        if (!(t->type & acc))
            continue;
        /* overlap of [va, va+size) and [addr, addr+len), without overflow */
        uint64_t last = va + size - 1, t_last = t->addr + t->len - 1;
        if (va <= t_last && t->addr <= last) {
            bool store = (t->type & acc & DV_TRIGGER_STORE) != 0;
            debug_stop(h, store ? DV_DEBUG_STORE : DV_DEBUG_LOAD, va > t->addr ? va : t->addr);
            return true;
        }
    }
    return false;
}
