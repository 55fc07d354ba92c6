/* JIT dispatcher, code cache and invalidation. (Stub until the translator lands.) */
#include "hart/interp.h"
#include "hart/jit/jit.h"

bool jit_wanted(struct dv_hart *h)
{
    (void)h;
    return false;
}

uint64_t jit_run(struct dv_hart *h)
{
    return interp_run(h);
}

void jit_hart_destroy(struct dv_hart *h)
{
    (void)h;
}

void jit_fence_i(struct dv_hart *h)
{
    (void)h;
}

void jit_memory_written(struct dv_machine *m, uintptr_t host, size_t len)
{
    (void)m;
    (void)host;
    (void)len;
}
