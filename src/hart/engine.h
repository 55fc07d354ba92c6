/*
 * How the software hart runs guest code: the interpreter alone, or the JIT
 * (src/hart/jit/) with the interpreter as its reference and fallback. These
 * are knobs of this software implementation, not part of the DV-Ext contract
 * (dvext.h): a hardware DV-Ext hart has none of them, and a hypervisor that
 * never calls them gets the default engine.
 */
#ifndef DUVISOR_HART_ENGINE_H
#define DUVISOR_HART_ENGINE_H

#include <stdbool.h>
#include <stdint.h>

struct dv_machine;
struct dv_hart;

struct dv_engine_config {
    bool jit;            /* translate hot guest code (x86-64 hosts only) */
    unsigned threshold;  /* executions of a block start before it is translated; >= 1 */
    unsigned max_region; /* guest instructions per translated region, 1..JIT_MAX_REGION */
    bool verify;         /* run every region in both engines; stop at the first difference */
    unsigned vlen;       /* V extension VLEN in bits: a power of two, 128..1024 (0: 256) */
};

#define DV_VLEN_DEFAULT 256

#define JIT_MAX_REGION 128

/* The default: JIT on where it is supported, unless DUVISOR_JIT=off is set in
   the environment (DUVISOR_JIT=on|off, DUVISOR_JIT_THRESHOLD=N and
   DUVISOR_JIT_VERIFY=1 let tests run one binary under either engine). */
void dv_engine_default(struct dv_engine_config *c);

/* Whether this build can translate on this host. */
bool dv_jit_supported(void);

/* Choose the engine for every hart of m. Before any hart runs. DV_OK, or
   DV_ERR_INVALID for a bad threshold/max_region or a JIT on an unsupported host. */
int dv_machine_set_engine(struct dv_machine *m, const struct dv_engine_config *c);

/* What the JIT did on one hart, for --jit-stats and make bench-hart. */
struct dv_engine_stats {
    uint64_t regions;       /* regions translated */
    uint64_t guest_insns;   /* guest instructions in them */
    uint64_t code_bytes;    /* host code bytes in use now */
    uint64_t compile_ns;    /* time spent translating */
    uint64_t invalidations; /* regions dropped because their code changed */
    uint64_t flushes;       /* whole-cache flushes (cache full) */
    uint64_t exits_lookup;  /* region exits to the dispatcher, by reason */
    uint64_t exits_interp;
    uint64_t exits_trap;
    uint64_t exits_async;
};
void dv_hart_engine_stats(const struct dv_hart *h, struct dv_engine_stats *s);

#endif
