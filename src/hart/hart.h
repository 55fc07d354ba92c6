/*
 * Inside the software DV-Ext hart: state and the pieces the hart's files
 * share. Nothing outside src/hart/ includes this; the hypervisor sees dvext.h.
 */
#ifndef DUVISOR_HART_HART_H
#define DUVISOR_HART_HART_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hart/dvext.h"
#include "hart/engine.h"
#include "hart/pmu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/*
 * GUEST_RAM marks the few functions that load, store or fetch guest RAM for
 * the guest (the TLB fast paths, the slow paths' copies, AMOs, LR/SC,
 * instruction fetch): the vCPU threads share guest RAM the way harts share
 * memory on hardware, so the guest's own races there are not the VMM's, and
 * a ThreadSanitizer build (tests/e2e/tsan.sh) leaves these accesses out.
 * Guest AMOs are left out too, so a guest lock does not order the VMM's own
 * accesses for TSan. Such a function copies with constant sizes (a memcpy
 * call would still be checked by TSan's interceptor) and is never
 * always_inline (clang would inline and instrument it): GUEST_RAM_INLINE is
 * always_inline except in TSan builds. Everything else stays checked.
 */
#if defined(__SANITIZE_THREAD__)
#define DV_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define DV_TSAN 1
#endif
#endif
#ifdef DV_TSAN
#define GUEST_RAM        __attribute__((no_sanitize("thread")))
#define GUEST_RAM_INLINE static inline GUEST_RAM
#else
#define GUEST_RAM
#define GUEST_RAM_INLINE static inline __attribute__((always_inline))
#endif

#define PAGE_SHIFT 12
#define PAGE_SIZE  (1ull << PAGE_SHIFT)
#define PAGE_MASK  (~(PAGE_SIZE - 1))

enum priv { PRV_VU = 0, PRV_VS = 1 };

/* Exception causes (privileged spec) as the guest sees them. */
enum {
    EXC_FETCH_MISALIGNED = 0,
    EXC_FETCH_ACCESS = 1,
    EXC_ILLEGAL = 2,
    EXC_BREAKPOINT = 3,
    EXC_LOAD_MISALIGNED = 4,
    EXC_LOAD_ACCESS = 5,
    EXC_STORE_MISALIGNED = 6,
    EXC_STORE_ACCESS = 7,
    EXC_ECALL_U = 8,
    EXC_ECALL_VS = 10,
    EXC_FETCH_PAGE = 12,
    EXC_LOAD_PAGE = 13,
    EXC_STORE_PAGE = 15,
    EXC_FETCH_GUEST_PAGE = 20,
    EXC_LOAD_GUEST_PAGE = 21,
    EXC_VIRTUAL_INSN = 22,
    EXC_STORE_GUEST_PAGE = 23,
};

/* sstatus (vsstatus) bits the guest can see. */
#define SSTATUS_SIE           (1ull << 1)
#define SSTATUS_SPIE          (1ull << 5)
#define SSTATUS_UBE           (1ull << 6)
#define SSTATUS_SPP           (1ull << 8)
#define SSTATUS_VS            (3ull << 9)
#define SSTATUS_VS_DIRTY      (3ull << 9)
#define SSTATUS_FS            (3ull << 13)
#define SSTATUS_FS_DIRTY      (3ull << 13)
#define SSTATUS_SUM           (1ull << 18)
#define SSTATUS_MXR           (1ull << 19)
#define SSTATUS_UXL           (3ull << 32)
#define SSTATUS_SD            (1ull << 63)
/* senvcfg: FIOM and the Zicbom/Zicboz enables for VU-mode (henvcfg enables all for VS) */
#define SENVCFG_FIOM          (1ull << 0)
#define SENVCFG_CBIE          (3ull << 4) /* 00 off, 01 cbo.inval flushes, 11 invalidates */
#define SENVCFG_CBIE_RESERVED (2ull << 4)
#define SENVCFG_CBCFE         (1ull << 6)
#define SENVCFG_CBZE          (1ull << 7)

/* A senvcfg write made legal (WARL): CBIE's reserved 10 reads as 00. */
static inline uint64_t senvcfg_legal(uint64_t v)
{
    v &= SENVCFG_FIOM | SENVCFG_CBIE | SENVCFG_CBCFE | SENVCFG_CBZE;
    return (v & SENVCFG_CBIE) == SENVCFG_CBIE_RESERVED ? v & ~SENVCFG_CBIE : v;
}

#define SSTATUS_WRITABLE                                                                           \
    (SSTATUS_SIE | SSTATUS_SPIE | SSTATUS_SPP | SSTATUS_VS | SSTATUS_FS | SSTATUS_SUM | SSTATUS_MXR)

/* Guest-view interrupt bits (sip/sie as VS-mode reads them). */
#define SIP_SSIP (1ull << 1)
#define SIP_STIP (1ull << 5)
#define SIP_SEIP (1ull << 9)

/* Kinds of access, used to index the TLB and pick fault causes. */
enum access { ACC_LOAD = 0, ACC_STORE = 1, ACC_FETCH = 2 };

/* A software TLB entry: guest virtual page -> host address by adding `addend`.
   (A generation number in the tag would make flushes O(1), but the extra load
   in the inlined fast path costs the dispatch loop a register: measured 2x
   slower on integer code. Flushes clear the tags instead.) */
struct tlb_entry {
    uint64_t tag; /* guest VA & PAGE_MASK; TLB_INVALID when empty */
    uintptr_t addend;
};
#define TLB_BITS     10
#define TLB_SIZE     (1u << TLB_BITS)
/* Fills since the last flush, so a flush clears only those entries (a full
   clear once the log overflows): a big TLB stays cheap to flush. */
#define TLB_LOG_SIZE 256
/* Never equal to the JIT probe's key, va & (PAGE_MASK | (size - 1)) with size <= 8, whose
   bits 3..11 are always clear (1 was: a misaligned access to page 0 hit an empty entry). */
#define TLB_INVALID  0x800ull
#define GEN_MAX      0xfffu

/* Cached G-stage leaves: guest-physical page -> host page, with the rights
   the leaf grants (PTE R/W/X; W only when D is set). Same generation trick. */
struct gcache_entry {
    uint64_t tag;
    uintptr_t host;
    uint64_t perms;
};
#define GCACHE_BITS 9
#define GCACHE_SIZE (1u << GCACHE_BITS)

/* A decoded instruction. Decoding is a pure function of `raw`, so the cache
   that holds these is checked against the bits at pc on every use and needs
   no invalidation for correctness (self-modifying code just misses). */
struct insn {
    uint16_t op; /* enum op in exec.c */
    uint8_t rd, rs1, rs2, rs3;
    uint8_t len; /* 2 or 4 */
    uint8_t rm;  /* FP rounding mode field, or AMO/fence bits */
    int32_t imm;
    uint32_t raw; /* instruction bits (16-bit ones zero-extended) */
};
#define JC_BITS     9
#define JC_SIZE     (1u << JC_BITS)
#define JC_EMPTY    1ull /* never a pc */
#define JC_LOG_SIZE 128
#define ICACHE_BITS 14
#define ICACHE_SIZE (1u << ICACHE_BITS)

/* The trap being raised while executing one instruction. */
struct trap {
    uint64_t cause;
    uint64_t tval;      /* guest virtual address or instruction bits */
    uint64_t gpa;       /* guest-page faults: guest physical address */
    uint32_t tinst;     /* transformed instruction for hutinst */
    bool gva;           /* tval holds a guest virtual address */
    bool to_hypervisor; /* an access fault the hypervisor must see (G-stage window) */
};

struct window {
    uintptr_t start, end; /* host addresses, [start, end) */
};
#define MAX_WINDOWS 16
#define MAX_HARTS   256

struct vplic;
struct aia;
struct hart_debug;

struct dv_machine {
    unsigned nharts;
    unsigned nwindows;
    struct window windows[MAX_WINDOWS];
    _Atomic uint64_t vipi[4]; /* bit n: vcpu n owes a USIP exit */
    struct vplic *plic;
    uint64_t plic_base;
    struct aia *aia; /* or AIA (aia.c) */
    struct dv_engine_config engine;
    struct jit_pages *code_pages;     /* which RAM pages hold translated code (jit.c) */
    _Atomic uint64_t code_generation; /* moves whenever any translated code goes stale */
    pthread_mutex_t lock;             /* guards harts[] */
    struct dv_hart *harts[MAX_HARTS];
};

/* The V extension's state (vector.c): v0..v31 packed at a stride of vlenb
   (the machine's VLEN / 8), so a register group is contiguous. */
#define VLEN_MAX  1024
#define VLENB_MAX (VLEN_MAX / 8)
struct hart_vector {
    uint64_t vl, vtype, vstart;
    uint8_t vxrm, vxsat;
    _Alignas(16) uint8_t reg[32 * VLENB_MAX];
};

struct dv_hart {
    /* hot state first */
    uint64_t x[32];
    uint64_t pc;
    unsigned priv;
    int budget; /* instructions until the next look at timers: this hart's thread only */
    uint64_t instret;
    /* translated code runs while instret < jit_limit; 0 forces it out */
    uint64_t jit_limit;
    struct dv_machine *m;
    /* fetch shortcut: the host address of the page holding pc */
    uint64_t fetch_vpage;
    uintptr_t fetch_addend;

    uint64_t f[32];
    uint32_t fflags, frm;

    /* guest supervisor (VS) state */
    uint64_t vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp;
    uint64_t vstimecmp, scounteren, senvcfg;

    /* DV-Ext state */
    uint64_t hustatus, huie, hutimedelta, hucounteren, hutval, huip, huvip, hutinst, hugatp;
    uint64_t huenvcfg;   /* henvcfg: PBMTE, ADUE, PMM for VS */
    struct hart_pmu pmu; /* the guest's counters (pmu.c) */
    uint64_t utvec, uscratch, uepc, ucause, utval;
    uint64_t vtimecmp, vtimectl;
    unsigned vcpuid;

    /* G-stage root as a host pointer, and its depth (3 = Sv39x4, 4 = Sv48x4) */
    const uint64_t *groot;
    unsigned glevels;

    /* LR/SC: host address, size and the value LR saw */
    uintptr_t resv_addr;
    uint64_t resv_value;
    uint8_t resv_size;
    bool resv_valid;

    struct trap trap;

    /* set by other threads (hart_wake): look at vipi / vPLIC before the next
       instruction; cleared by timer_poll */
    atomic_bool attention;
    atomic_bool plic_line; /* vPLIC context line for this hart (VSEIP) */
    atomic_uint aia_lines; /* AIA_LINE_*: the IMSIC file's and the APLIC IDC's SEIP */
    uint64_t vsiselect;    /* AIA: the guest's siselect */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;

    uint64_t gcache_gen;                  /* 1..GEN_MAX */
    struct tlb_entry tlb[2][3][TLB_SIZE]; /* [priv][access][index] */
    uint16_t tlb_log[TLB_LOG_SIZE];       /* (priv * 3 + access) << TLB_BITS | index */
    unsigned tlb_logged;                  /* > TLB_LOG_SIZE: overflowed, clear all */
    struct gcache_entry gcache[GCACHE_SIZE];
    struct insn *icache; /* ICACHE_SIZE entries */
    struct jit *jit;     /* translated code, or NULL when interpreting */
    /* The jump cache: guest pc -> translated code, for jumps whose target is
       not known when translating (jalr, other pages). One table per region
       mode; entries are valid for the translation and code generation of
       jc_generation. Cleared through a fill log, like the TLB. */
    struct {
        uint64_t pc; /* JC_EMPTY when empty */
        const void *code;
    } jit_jc[8][JC_SIZE];         /* [region mode][index] */
    uint16_t jc_log[JC_LOG_SIZE]; /* mode << JC_BITS | index of fills since the last clear */
    unsigned jc_logged;           /* > JC_LOG_SIZE: overflowed, clear all */
    uint64_t jc_generation;
    bool jit_failed;                 /* the JIT could not be set up: interpret */
    uint64_t jit_value;              /* a slow-path load's result, for translated code */
    bool jit_stop;                   /* a store hit translated code: leave the region */
    uint32_t jit_mxcsr;              /* scratch for translated code's host FP status */
    struct verify_log *verify;       /* verify mode: log stores here (jit/verify.c) */
    struct hart_debug *debug;        /* armed debug triggers or step (debug.c), or NULL */
    uint8_t jit_fflags_of_mxcsr[64]; /* host exception flags -> fflags (jit.c) */
    struct hart_vector vec;          /* cold: only vector instructions touch it */
};

/* Another thread wants h to look at its pending events soon; wakes a WFI (machine.c). */
void hart_wake(struct dv_hart *h);

/* On h's own thread: look at timers, interrupts and wake-ups before the next
   instruction (budget for the interpreter, jit_limit for translated code).
   Other threads call hart_wake, which never touches the budget. */
static inline void hart_request_check(struct dv_hart *h)
{
    h->budget = 0;
    __atomic_store_n(&h->jit_limit, 0, __ATOMIC_SEQ_CST);
}

/* Every privilege change made by guest execution (trap, sret, entry): the
   counters split instret between VS and VU here rather than per instruction. */
static inline void hart_set_priv(struct dv_hart *h, unsigned priv)
{
    if (h->priv == PRV_VU && priv != PRV_VU)
        h->pmu.vu_instret += h->instret - h->pmu.vu_since;
    else if (h->priv != PRV_VU && priv == PRV_VU)
        h->pmu.vu_since = h->instret;
    h->priv = priv;
}

static inline void raise_trap(struct dv_hart *h, uint64_t cause, uint64_t tval)
{
    h->trap = (struct trap){.cause = cause, .tval = tval};
}

static inline void fs_mark_dirty(struct dv_hart *h)
{
    h->vsstatus |= SSTATUS_FS_DIRTY | SSTATUS_SD;
}

#endif
