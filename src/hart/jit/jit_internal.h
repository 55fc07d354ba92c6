/*
 * Inside the JIT: the per-hart code cache, regions, and the pieces shared by
 * the dispatcher (jit.c) and the translator (translate.c).
 *
 * A region is guest code from one 4 KiB guest-virtual page, entered at one
 * pc, keyed by (pc, host address of that pc, mode): the host address
 * pins the translation that was current when the dispatcher fetched it, and
 * pc pins every pc-relative constant. A region is valid while the epoch of
 * its host page is unchanged (stores into code pages and device writes bump
 * it, see jit_pages).
 */
#ifndef DUVISOR_HART_JIT_INTERNAL_H
#define DUVISOR_HART_JIT_INTERNAL_H

#include "hart/hart.h"
#include "hart/jit/jit.h"

#define JIT_CODE_SIZE    (32u << 20) /* per hart */
#define JIT_REGION_ROOM  (64u << 10) /* flush when less than this is left */
#define JIT_HASH_BITS    14
#define JIT_MAX_REGIONS  (1u << 16)
#define JIT_HOT_BITS     12
/* Translated instructions between looks at the clock; other threads' events
   force an earlier exit through jit_limit. At ~1-3 G instructions/s this is
   5-20 us of timer granularity. */
#define JIT_SLICE        32768
#define JIT_VERIFY_SLICE 256 /* verify mode: one region's stores fit the store log */
/* A page whose code is rewritten this often within 250 ms is left to the
   interpreter, for a second at least (mixed code and data, guest JITs). */
#define JIT_THRASH_LIMIT 64

/* Why translated code returned to the dispatcher (in eax). */
enum jit_exit {
    JIT_EXIT_LOOKUP, /* h->pc set: find or translate the next region; rdx: patch site or 0 */
    JIT_EXIT_INTERP, /* h->pc is an instruction only the interpreter runs */
    JIT_EXIT_TRAP,   /* h->trap raised at h->pc */
    JIT_EXIT_ASYNC,  /* jit_limit reached at h->pc: look at timers and interrupts */
    JIT_EXIT_STOP,   /* a store changed translated code; h->pc is the next instruction.
                        Never chained: the dispatcher must see the change */
};

/* What translated code assumes beyond pc and host: the privilege (which TLB
   it probes), whether FP is enabled (FP loads, stores and arithmetic are
   inline) and whether the dynamic rounding mode is round-to-nearest (the
   host's, for inline arithmetic). */
static inline unsigned region_mode(const struct dv_hart *h)
{
    return h->priv | ((h->vsstatus & SSTATUS_FS) ? 2u : 0u) | (h->frm == 0 ? 4u : 0u);
}
#define MODE_FS_ON   2u
#define MODE_FRM_RNE 4u
/* MXCSR with every exception masked, round to nearest, no flags. */
#define MXCSR_CLEAN  0x1f80u

struct region {
    uint64_t pc;
    uintptr_t host;
    unsigned mode;       /* region_mode() when translated */
    uint32_t epoch;      /* of the host page when translated */
    const uint8_t *code; /* NULL: nothing to translate here, interpret */
    struct region *next; /* hash chain */
};

/* Code pages of one RAM window: a flag and an epoch per 4 KiB. */
enum { PAGE_DATA = 0, PAGE_CODE = 1, PAGE_NOJIT = 2 };
struct jit_window {
    uintptr_t start;
    size_t npages;
    _Atomic uint8_t *state;
    _Atomic uint32_t *epoch;
    _Atomic uint8_t *rewrites;      /* code rewrites in the current 250 ms tick */
    _Atomic uint32_t *rewritten_at; /* tick of the last rewrite */
};
struct jit_pages {
    unsigned nwindows;
    struct jit_window w[MAX_WINDOWS];
};

struct jit {
    uint8_t *code, *code_end, *free;
    uint64_t (*enter)(struct dv_hart *h, const uint8_t *code);
    const uint8_t *epilogue; /* stores instret, returns to the dispatcher */
    struct region *hash[1u << JIT_HASH_BITS];
    struct region *regions;
    unsigned nregions;
    struct insn *insns; /* decoded instructions the translated code passes to helpers */
    unsigned ninsns;
    uint16_t hot[1u << JIT_HOT_BITS];
    struct dv_engine_stats stats;
    bool flushed;  /* the cache was reset: jump-cache entries point at freed code */
    bool host_fma; /* the host has FMA3: fused multiply-adds inline */
};
#define JIT_MAX_INSNS (JIT_MAX_REGIONS * 8u)

/* The window and page index of a host address in guest RAM; false outside RAM. */
bool jit_page_find(const struct jit_pages *p, uintptr_t host, const struct jit_window **w,
                   size_t *index);

/* Translate the region at (h->pc, host) into j's cache. Returns the code, or
   NULL when nothing here can be translated; *overflow when the cache is full. */
const uint8_t *translate_region(struct dv_hart *h, struct jit *j, uint64_t pc, uintptr_t host,
                                bool *overflow);
/* The entry/exit trampolines, emitted once at the start of the cache. */
bool translate_trampolines(struct jit *j);
void translate_patch(uint8_t *site, const uint8_t *target);

/* Helpers translated code calls (System V ABI; h in rdi). */
uint64_t jit_helper_int(uint64_t rs1, uint64_t rs2, const struct insn *in);
uint64_t jit_helper_load(struct dv_hart *h, uint64_t va, const struct insn *in);
uint64_t jit_helper_store(struct dv_hart *h, uint64_t va, uint64_t value, const struct insn *in);
uint64_t jit_helper_exec(struct dv_hart *h, const struct insn *in, uint64_t pc);
uint64_t jit_helper_csr(struct dv_hart *h, const struct insn *in, uint64_t pc, uint64_t mode);
/* Helper results: */
enum { HELPER_TRAP = 0, HELPER_OK = 1, HELPER_STOP = 2 };

#endif
