/* Engine selection (engine.h): the interpreter, or the JIT in front of it. */
#include <stdlib.h>
#include <string.h>

#include "hart/engine.h"
#include "hart/hart.h"
#include "hart/jit/jit.h"

bool dv_jit_supported(void)
{
#if defined(__x86_64__)
    return true;
#else
    return false;
#endif
}

static unsigned env_unsigned(const char *name, unsigned fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long n = strtoul(v, &end, 10);
    return (*end || n == 0 || n > 1000000) ? fallback : (unsigned)n;
}

void dv_engine_default(struct dv_engine_config *c)
{
    const char *jit = getenv("DUVISOR_JIT");
    const char *verify = getenv("DUVISOR_JIT_VERIFY");
    *c = (struct dv_engine_config){
        .jit = dv_jit_supported() && !(jit && strcmp(jit, "off") == 0),
        .threshold = env_unsigned("DUVISOR_JIT_THRESHOLD", 16),
        .max_region = JIT_MAX_REGION,
        .verify = verify && strcmp(verify, "1") == 0,
        .vlen = DV_VLEN_DEFAULT,
    };
}

int dv_machine_set_engine(struct dv_machine *m, const struct dv_engine_config *c)
{
    if (c->threshold == 0 || c->max_region == 0 || c->max_region > JIT_MAX_REGION ||
        (c->jit && !dv_jit_supported()) ||
        (c->vlen && (c->vlen < 128 || c->vlen > VLEN_MAX || (c->vlen & (c->vlen - 1)))))
        return DV_ERR_INVALID;
    m->engine = *c;
    if (!m->engine.vlen)
        m->engine.vlen = DV_VLEN_DEFAULT;
    return DV_OK;
}

void dv_mem_written(struct dv_machine *m, const void *host, size_t len)
{
    jit_memory_written(m, (uintptr_t)host, len);
}
