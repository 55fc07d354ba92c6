/*
 * The interpreter: fetch, look up the decoded instruction, execute, and on a
 * trap either deliver it to the guest's own handler or end dv_enter() with an
 * exit (dvext.md section 3). Timers, vIPIs and vPLIC changes are looked at
 * every few hundred instructions (h->budget) and at once when another thread
 * asks for attention.
 */
#include <errno.h>
#include <time.h>

#include "hart/fpu.h"
#include "hart/hart.h"
#include "hart/ops.h"

#define ASYNC_BUDGET 512

/* --- traps and interrupts ---------------------------------------------------------- */

static bool cause_exits(const struct dv_hart *h)
{
    switch (h->trap.cause) {
    case EXC_ECALL_VS:
    case EXC_FETCH_GUEST_PAGE:
    case EXC_LOAD_GUEST_PAGE:
    case EXC_VIRTUAL_INSN:
    case EXC_STORE_GUEST_PAGE: return true;
    case EXC_FETCH_ACCESS:
    case EXC_LOAD_ACCESS:
    case EXC_STORE_ACCESS: return h->trap.to_hypervisor; /* from the G-stage window check */
    }
    return (h->trap.cause & DV_CAUSE_INTERRUPT) != 0;
}

static uint64_t take_exit(struct dv_hart *h)
{
    const struct trap *t = &h->trap;
    h->ucause = t->cause;
    h->uepc = h->pc;
    h->utval = t->tval;
    h->hutval = t->gpa >> 2;
    h->hutinst = t->tinst;
    h->hustatus |= DV_HUSTATUS_SPV;
    h->hustatus = (h->hustatus & ~(DV_HUSTATUS_SPVP | DV_HUSTATUS_GVA)) |
                  (h->priv == PRV_VS ? DV_HUSTATUS_SPVP : 0) | (t->gva ? DV_HUSTATUS_GVA : 0);
    return t->cause;
}

/* The guest's own trap: to vstvec, as an S-mode trap. */
static void deliver_to_guest(struct dv_hart *h, uint64_t cause, uint64_t tval)
{
    uint64_t s = h->vsstatus;
    h->vscause = cause;
    h->vsepc = h->pc;
    h->vstval = tval;
    s = (s & ~SSTATUS_SPP) | (h->priv == PRV_VS ? SSTATUS_SPP : 0);
    s = (s & ~SSTATUS_SPIE) | ((s & SSTATUS_SIE) ? SSTATUS_SPIE : 0);
    s &= ~SSTATUS_SIE;
    h->vsstatus = s;
    h->priv = PRV_VS;
    h->fetch_vpage = TLB_INVALID;
    h->resv_valid = false;
    uint64_t base = h->vstvec & ~3ull;
    bool vectored = (h->vstvec & 1) && (cause & DV_CAUSE_INTERRUPT);
    h->pc = vectored ? base + 4 * (cause & 0x3f) : base;
}

/* Guest-level interrupt to take now, as a guest cause, or 0. */
static uint64_t guest_interrupt(struct dv_hart *h, uint64_t now)
{
    uint64_t pending = csr_guest_sip(h, now) & h->vsie;
    if (!pending || (h->priv == PRV_VS && !(h->vsstatus & SSTATUS_SIE)))
        return 0;
    static const unsigned order[] = {9, 1, 5}; /* SEI, SSI, STI */
    for (unsigned i = 0; i < 3; i++)
        if (pending & (1ull << order[i]))
            return DV_CAUSE_INTERRUPT | order[i];
    return 0;
}

/*
 * Look at everything asynchronous. Returns true when dv_enter must return
 * (h->trap holds the exit); may redirect the guest into its interrupt handler.
 */
static bool check_async(struct dv_hart *h)
{
    h->budget = ASYNC_BUDGET;
    atomic_store_explicit(&h->attention, false, memory_order_relaxed);
    uint64_t now = hart_time(h);

    uint64_t bit = 1ull << (h->vcpuid % 64);
    _Atomic uint64_t *word = &h->m->vipi[h->vcpuid / 64];
    bool usip = atomic_load_explicit(word, memory_order_acquire) & bit;
    bool utip = (h->vtimectl & DV_VTIMECTL_ENABLE) && now >= h->vtimecmp;
    h->huip = (h->huip & ~(DV_HUIP_USIP | DV_HUIP_UTIP)) | (usip ? DV_HUIP_USIP : 0) |
              (utip ? DV_HUIP_UTIP : 0);
    if (h->huip & h->huie & DV_HUIP_USIP) {
        /* Taking the exit consumes the doorbell: one raise, one exit. */
        atomic_fetch_and(word, ~bit);
        h->huip &= ~DV_HUIP_USIP;
        h->trap = (struct trap){.cause = DV_EXIT_USIP};
        return true;
    }
    if (h->huip & h->huie & DV_HUIP_UTIP) {
        h->trap = (struct trap){.cause = DV_EXIT_UTIP};
        return true;
    }
    uint64_t cause = guest_interrupt(h, now);
    if (cause)
        deliver_to_guest(h, cause, 0);
    return false;
}

static uint64_t earliest_deadline(const struct dv_hart *h)
{
    uint64_t deadline = UINT64_MAX;
    if (h->vsie & SIP_STIP)
        deadline = h->vstimecmp;
    if ((h->vtimectl & DV_VTIMECTL_ENABLE) && (h->huie & DV_HUIP_UTIP) && h->vtimecmp < deadline)
        deadline = h->vtimecmp;
    return deadline;
}

/* WFI with VTW=0: sleep until an interrupt is due, a timer deadline passes,
   or another thread asks for attention. Costs no CPU while asleep. */
static void wait_for_interrupt(struct dv_hart *h)
{
    uint64_t deadline = earliest_deadline(h); /* guest time */
    pthread_mutex_lock(&h->wait_lock);
    while (!atomic_load(&h->attention)) {
        uint64_t now = hart_time(h);
        if ((csr_guest_sip(h, now) & h->vsie) || now >= deadline)
            break;
        if (deadline == UINT64_MAX) {
            pthread_cond_wait(&h->wait_cond, &h->wait_lock);
            continue;
        }
        uint64_t host_deadline = deadline - h->hutimedelta;
        struct timespec ts = {
            .tv_sec = (time_t)(host_deadline / DV_TIMEBASE_HZ),
            .tv_nsec = (long)(host_deadline % DV_TIMEBASE_HZ * (1000000000 / DV_TIMEBASE_HZ)),
        };
        pthread_cond_timedwait(&h->wait_cond, &h->wait_lock, &ts);
    }
    pthread_mutex_unlock(&h->wait_lock);
    h->budget = 0;
}

/* --- fetch ------------------------------------------------------------------------- */

static bool fetch_slow(struct dv_hart *h, uint64_t pc, uint32_t *raw)
{
    if (pc & 1) {
        raise_trap(h, EXC_FETCH_MISALIGNED, pc);
        return false;
    }
    uint8_t *p = mmu_host_ptr(h, pc, ACC_FETCH, NULL);
    if (!p)
        return false;
    h->fetch_vpage = pc & PAGE_MASK;
    h->fetch_addend = (uintptr_t)p - pc;
    uint16_t lo;
    memcpy(&lo, p, 2);
    if ((lo & 3) != 3) {
        *raw = lo;
        return true;
    }
    uint16_t hi;
    if ((pc & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4) {
        memcpy(&hi, p + 2, 2);
    } else {
        uint8_t *q = mmu_host_ptr(h, pc + 2, ACC_FETCH, NULL);
        if (!q) {
            h->fetch_vpage = TLB_INVALID;
            return false;
        }
        memcpy(&hi, q, 2);
        h->fetch_vpage = TLB_INVALID;
    }
    *raw = (uint32_t)hi << 16 | lo;
    return true;
}

/* --- FP helpers ---------------------------------------------------------------------- */

static inline uint32_t f32_of(const struct dv_hart *h, unsigned r)
{
    uint64_t v = h->f[r];
    return (v >> 32) == 0xffffffffu ? (uint32_t)v : 0x7fc00000u; /* unboxed: canonical NaN */
}

static inline void set_f32(struct dv_hart *h, unsigned r, uint32_t v)
{
    h->f[r] = 0xffffffff00000000ull | v;
    fs_mark_dirty(h);
}

static inline void set_f64(struct dv_hart *h, unsigned r, uint64_t v)
{
    h->f[r] = v;
    fs_mark_dirty(h);
}

/* The rounding mode an instruction uses; false when reserved (illegal). */
static inline bool resolve_rm(const struct dv_hart *h, unsigned field, enum fp_rm *rm)
{
    unsigned r = field == 7 ? h->frm : field;
    if (r > 4)
        return false;
    *rm = (enum fp_rm)r;
    return true;
}

/* --- integer helpers ----------------------------------------------------------------- */

static inline uint64_t mulhu(uint64_t a, uint64_t b)
{
    return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

static inline uint64_t mulh(int64_t a, int64_t b)
{
    return (uint64_t)(((__int128)a * b) >> 64);
}

static inline uint64_t mulhsu(int64_t a, uint64_t b)
{
    return (uint64_t)(((__int128)a * (__int128)(unsigned __int128)b) >> 64);
}

static inline int64_t sx32(uint64_t v)
{
    return (int64_t)(int32_t)v;
}

static inline uint64_t rol64(uint64_t v, unsigned s)
{
    s &= 63;
    return s ? (v << s) | (v >> (64 - s)) : v;
}

static inline uint32_t rol32(uint32_t v, unsigned s)
{
    s &= 31;
    return s ? (v << s) | (v >> (32 - s)) : v;
}

static uint64_t orc_b(uint64_t v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i += 8)
        if ((v >> i) & 0xff)
            r |= 0xffull << i;
    return r;
}

/* --- atomics -------------------------------------------------------------------------- */

static bool amo_address(struct dv_hart *h, const struct insn *in, unsigned size, void **host)
{
    uint64_t va = h->x[in->rs1];
    if (va & (size - 1)) {
        raise_trap(h,
                   (in->op == OP_LR_W || in->op == OP_LR_D) ? EXC_LOAD_MISALIGNED
                                                            : EXC_STORE_MISALIGNED,
                   va);
        return false;
    }
    bool is_lr = in->op == OP_LR_W || in->op == OP_LR_D;
    struct tlb_entry *e = tlb_slot(h, is_lr ? ACC_LOAD : ACC_STORE, va);
    if (likely(e->tag == tlb_tag(h, va))) {
        *host = (void *)(uintptr_t)(va + e->addend);
        return true;
    }
    *host = mmu_host_ptr(h, va, is_lr ? ACC_LOAD : ACC_STORE, in);
    return *host != NULL;
}

#define AMO_CASE(OPW, OPD, EXPR)                                                                   \
    case OPW: {                                                                                    \
        void *p;                                                                                   \
        if (!amo_address(h, in, 4, &p))                                                            \
            goto exception;                                                                        \
        uint32_t *a = p, old = __atomic_load_n(a, __ATOMIC_RELAXED), b = (uint32_t)h->x[in->rs2],  \
                 nv;                                                                               \
        do {                                                                                       \
            uint32_t o = old;                                                                      \
            (void)o;                                                                               \
            nv = (uint32_t)(EXPR);                                                                 \
        } while (                                                                                  \
            !__atomic_compare_exchange_n(a, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));  \
        rd_value = (uint64_t)sx32(old);                                                            \
        break;                                                                                     \
    }                                                                                              \
    case OPD: {                                                                                    \
        void *p;                                                                                   \
        if (!amo_address(h, in, 8, &p))                                                            \
            goto exception;                                                                        \
        uint64_t *a = p, old = __atomic_load_n(a, __ATOMIC_RELAXED), b = h->x[in->rs2], nv;        \
        do {                                                                                       \
            uint64_t o = old;                                                                      \
            (void)o;                                                                               \
            nv = (uint64_t)(EXPR);                                                                 \
        } while (                                                                                  \
            !__atomic_compare_exchange_n(a, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));  \
        rd_value = old;                                                                            \
        break;                                                                                     \
    }

/* --- privileged instructions ----------------------------------------------------------- */

static bool exec_sret(struct dv_hart *h, const struct insn *in)
{
    if (h->priv == PRV_VU || (h->hustatus & DV_HUSTATUS_VTSR)) {
        raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
        return false;
    }
    uint64_t s = h->vsstatus;
    h->priv = (s & SSTATUS_SPP) ? PRV_VS : PRV_VU;
    s = (s & ~SSTATUS_SIE) | ((s & SSTATUS_SPIE) ? SSTATUS_SIE : 0);
    s |= SSTATUS_SPIE;
    s &= ~SSTATUS_SPP;
    h->vsstatus = s;
    h->pc = h->vsepc;
    h->fetch_vpage = TLB_INVALID;
    h->resv_valid = false;
    h->budget = 0; /* interrupts may have become enabled */
    return true;
}

/* --- the loop ----------------------------------------------------------------------- */

#define RD(v)                                                                                      \
    do {                                                                                           \
        rd_value = (v);                                                                            \
    } while (0)

static uint64_t run(struct dv_hart *h)
{
    uint64_t *x = h->x;
    for (;;) {
        if (unlikely(__atomic_load_n(&h->budget, __ATOMIC_RELAXED) <= 0)) {
            if (check_async(h))
                return take_exit(h);
        }
        __atomic_store_n(&h->budget, __atomic_load_n(&h->budget, __ATOMIC_RELAXED) - 1,
                         __ATOMIC_RELAXED);

        uint64_t pc = h->pc;
        uint32_t raw;
        if (likely((pc & PAGE_MASK) == h->fetch_vpage && (pc & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4)) {
            memcpy(&raw, (void *)(uintptr_t)(pc + h->fetch_addend), 4);
            if ((raw & 3) != 3)
                raw &= 0xffff;
        } else if (!fetch_slow(h, pc, &raw)) {
            goto exception;
        }
        struct insn *in = &h->icache[(pc >> 1) & (ICACHE_SIZE - 1)];
        if (unlikely(in->raw != raw || in->len == 0))
            decode(raw, in);

        uint64_t next = pc + in->len;
        uint64_t rs1 = x[in->rs1], rs2 = x[in->rs2];
        int64_t imm = in->imm;
        uint64_t rd_value = 0;
        bool writes_rd = true;
        unsigned fflags = 0;
        enum fp_rm rm;
        uint64_t v;

        switch ((enum op)in->op) {
        case OP_LUI: RD((uint64_t)imm); break;
        case OP_AUIPC: RD(pc + (uint64_t)imm); break;
        case OP_JAL:
            RD(next);
            next = pc + (uint64_t)imm;
            break;
        case OP_JALR:
            RD(next);
            next = (rs1 + (uint64_t)imm) & ~1ull;
            break;
        case OP_BEQ:
            writes_rd = false;
            if (rs1 == rs2)
                next = pc + (uint64_t)imm;
            break;
        case OP_BNE:
            writes_rd = false;
            if (rs1 != rs2)
                next = pc + (uint64_t)imm;
            break;
        case OP_BLT:
            writes_rd = false;
            if ((int64_t)rs1 < (int64_t)rs2)
                next = pc + (uint64_t)imm;
            break;
        case OP_BGE:
            writes_rd = false;
            if ((int64_t)rs1 >= (int64_t)rs2)
                next = pc + (uint64_t)imm;
            break;
        case OP_BLTU:
            writes_rd = false;
            if (rs1 < rs2)
                next = pc + (uint64_t)imm;
            break;
        case OP_BGEU:
            writes_rd = false;
            if (rs1 >= rs2)
                next = pc + (uint64_t)imm;
            break;

        case OP_LB:
            if (!mem_load(h, rs1 + (uint64_t)imm, 1, &v, in))
                goto exception;
            RD((uint64_t)(int64_t)(int8_t)v);
            break;
        case OP_LH:
            if (!mem_load(h, rs1 + (uint64_t)imm, 2, &v, in))
                goto exception;
            RD((uint64_t)(int64_t)(int16_t)v);
            break;
        case OP_LW:
            if (!mem_load(h, rs1 + (uint64_t)imm, 4, &v, in))
                goto exception;
            RD((uint64_t)sx32(v));
            break;
        case OP_LD:
            if (!mem_load(h, rs1 + (uint64_t)imm, 8, &v, in))
                goto exception;
            RD(v);
            break;
        case OP_LBU:
            if (!mem_load(h, rs1 + (uint64_t)imm, 1, &v, in))
                goto exception;
            RD(v);
            break;
        case OP_LHU:
            if (!mem_load(h, rs1 + (uint64_t)imm, 2, &v, in))
                goto exception;
            RD(v);
            break;
        case OP_LWU:
            if (!mem_load(h, rs1 + (uint64_t)imm, 4, &v, in))
                goto exception;
            RD(v);
            break;
        case OP_SB:
            writes_rd = false;
            if (!mem_store(h, rs1 + (uint64_t)imm, 1, rs2, in))
                goto exception;
            break;
        case OP_SH:
            writes_rd = false;
            if (!mem_store(h, rs1 + (uint64_t)imm, 2, rs2, in))
                goto exception;
            break;
        case OP_SW:
            writes_rd = false;
            if (!mem_store(h, rs1 + (uint64_t)imm, 4, rs2, in))
                goto exception;
            break;
        case OP_SD:
            writes_rd = false;
            if (!mem_store(h, rs1 + (uint64_t)imm, 8, rs2, in))
                goto exception;
            break;

        case OP_ADDI: RD(rs1 + (uint64_t)imm); break;
        case OP_SLTI: RD((int64_t)rs1 < imm); break;
        case OP_SLTIU: RD(rs1 < (uint64_t)imm); break;
        case OP_XORI: RD(rs1 ^ (uint64_t)imm); break;
        case OP_ORI: RD(rs1 | (uint64_t)imm); break;
        case OP_ANDI: RD(rs1 & (uint64_t)imm); break;
        case OP_SLLI: RD(rs1 << (imm & 63)); break;
        case OP_SRLI: RD(rs1 >> (imm & 63)); break;
        case OP_SRAI: RD((uint64_t)((int64_t)rs1 >> (imm & 63))); break;
        case OP_ADD: RD(rs1 + rs2); break;
        case OP_SUB: RD(rs1 - rs2); break;
        case OP_SLL: RD(rs1 << (rs2 & 63)); break;
        case OP_SLT: RD((int64_t)rs1 < (int64_t)rs2); break;
        case OP_SLTU: RD(rs1 < rs2); break;
        case OP_XOR: RD(rs1 ^ rs2); break;
        case OP_SRL: RD(rs1 >> (rs2 & 63)); break;
        case OP_SRA: RD((uint64_t)((int64_t)rs1 >> (rs2 & 63))); break;
        case OP_OR: RD(rs1 | rs2); break;
        case OP_AND: RD(rs1 & rs2); break;
        case OP_ADDIW: RD((uint64_t)sx32(rs1 + (uint64_t)imm)); break;
        case OP_SLLIW: RD((uint64_t)sx32((uint32_t)rs1 << (imm & 31))); break;
        case OP_SRLIW: RD((uint64_t)sx32((uint32_t)rs1 >> (imm & 31))); break;
        case OP_SRAIW: RD((uint64_t)(int64_t)((int32_t)rs1 >> (imm & 31))); break;
        case OP_ADDW: RD((uint64_t)sx32(rs1 + rs2)); break;
        case OP_SUBW: RD((uint64_t)sx32(rs1 - rs2)); break;
        case OP_SLLW: RD((uint64_t)sx32((uint32_t)rs1 << (rs2 & 31))); break;
        case OP_SRLW: RD((uint64_t)sx32((uint32_t)rs1 >> (rs2 & 31))); break;
        case OP_SRAW: RD((uint64_t)(int64_t)((int32_t)rs1 >> (rs2 & 31))); break;

        case OP_MUL: RD(rs1 * rs2); break;
        case OP_MULH: RD(mulh((int64_t)rs1, (int64_t)rs2)); break;
        case OP_MULHSU: RD(mulhsu((int64_t)rs1, rs2)); break;
        case OP_MULHU: RD(mulhu(rs1, rs2)); break;
        case OP_DIV:
            if (rs2 == 0)
                RD(~0ull);
            else if ((int64_t)rs1 == INT64_MIN && (int64_t)rs2 == -1)
                RD(rs1);
            else
                RD((uint64_t)((int64_t)rs1 / (int64_t)rs2));
            break;
        case OP_DIVU: RD(rs2 ? rs1 / rs2 : ~0ull); break;
        case OP_REM:
            if (rs2 == 0)
                RD(rs1);
            else if ((int64_t)rs1 == INT64_MIN && (int64_t)rs2 == -1)
                RD(0);
            else
                RD((uint64_t)((int64_t)rs1 % (int64_t)rs2));
            break;
        case OP_REMU: RD(rs2 ? rs1 % rs2 : rs1); break;
        case OP_MULW: RD((uint64_t)sx32(rs1 * rs2)); break;
        case OP_DIVW: {
            int32_t a = (int32_t)rs1, b = (int32_t)rs2;
            if (b == 0)
                RD(~0ull);
            else if (a == INT32_MIN && b == -1)
                RD((uint64_t)(int64_t)a);
            else
                RD((uint64_t)(int64_t)(a / b));
            break;
        }
        case OP_DIVUW: {
            uint32_t a = (uint32_t)rs1, b = (uint32_t)rs2;
            RD(b ? (uint64_t)sx32(a / b) : ~0ull);
            break;
        }
        case OP_REMW: {
            int32_t a = (int32_t)rs1, b = (int32_t)rs2;
            if (b == 0)
                RD((uint64_t)(int64_t)a);
            else if (a == INT32_MIN && b == -1)
                RD(0);
            else
                RD((uint64_t)(int64_t)(a % b));
            break;
        }
        case OP_REMUW: {
            uint32_t a = (uint32_t)rs1, b = (uint32_t)rs2;
            RD((uint64_t)sx32(b ? a % b : a));
            break;
        }

        /* Zba, Zbb, Zbs */
        case OP_SH1ADD: RD((rs1 << 1) + rs2); break;
        case OP_SH2ADD: RD((rs1 << 2) + rs2); break;
        case OP_SH3ADD: RD((rs1 << 3) + rs2); break;
        case OP_ADD_UW: RD((uint32_t)rs1 + rs2); break;
        case OP_SH1ADD_UW: RD(((uint64_t)(uint32_t)rs1 << 1) + rs2); break;
        case OP_SH2ADD_UW: RD(((uint64_t)(uint32_t)rs1 << 2) + rs2); break;
        case OP_SH3ADD_UW: RD(((uint64_t)(uint32_t)rs1 << 3) + rs2); break;
        case OP_SLLI_UW: RD((uint64_t)(uint32_t)rs1 << (imm & 63)); break;
        case OP_ANDN: RD(rs1 & ~rs2); break;
        case OP_ORN: RD(rs1 | ~rs2); break;
        case OP_XNOR: RD(~(rs1 ^ rs2)); break;
        case OP_CLZ: RD(rs1 ? (uint64_t)__builtin_clzll(rs1) : 64); break;
        case OP_CTZ: RD(rs1 ? (uint64_t)__builtin_ctzll(rs1) : 64); break;
        case OP_CPOP: RD((uint64_t)__builtin_popcountll(rs1)); break;
        case OP_CLZW: RD((uint32_t)rs1 ? (uint64_t)__builtin_clz((uint32_t)rs1) : 32); break;
        case OP_CTZW: RD((uint32_t)rs1 ? (uint64_t)__builtin_ctz((uint32_t)rs1) : 32); break;
        case OP_CPOPW: RD((uint64_t)__builtin_popcount((uint32_t)rs1)); break;
        case OP_MAX: RD((int64_t)rs1 > (int64_t)rs2 ? rs1 : rs2); break;
        case OP_MAXU: RD(rs1 > rs2 ? rs1 : rs2); break;
        case OP_MIN: RD((int64_t)rs1 < (int64_t)rs2 ? rs1 : rs2); break;
        case OP_MINU: RD(rs1 < rs2 ? rs1 : rs2); break;
        case OP_SEXT_B: RD((uint64_t)(int64_t)(int8_t)rs1); break;
        case OP_SEXT_H: RD((uint64_t)(int64_t)(int16_t)rs1); break;
        case OP_ZEXT_H: RD((uint16_t)rs1); break;
        case OP_ROL: RD(rol64(rs1, (unsigned)rs2)); break;
        case OP_ROR: RD(rol64(rs1, 64 - (unsigned)(rs2 & 63))); break;
        case OP_RORI: RD(rol64(rs1, 64 - (unsigned)(imm & 63))); break;
        case OP_ROLW: RD((uint64_t)sx32(rol32((uint32_t)rs1, (unsigned)rs2))); break;
        case OP_RORW: RD((uint64_t)sx32(rol32((uint32_t)rs1, 32 - (unsigned)(rs2 & 31)))); break;
        case OP_RORIW: RD((uint64_t)sx32(rol32((uint32_t)rs1, 32 - (unsigned)(imm & 31)))); break;
        case OP_ORC_B: RD(orc_b(rs1)); break;
        case OP_REV8: RD(__builtin_bswap64(rs1)); break;
        case OP_BCLR: RD(rs1 & ~(1ull << (rs2 & 63))); break;
        case OP_BCLRI: RD(rs1 & ~(1ull << (imm & 63))); break;
        case OP_BEXT: RD((rs1 >> (rs2 & 63)) & 1); break;
        case OP_BEXTI: RD((rs1 >> (imm & 63)) & 1); break;
        case OP_BINV: RD(rs1 ^ (1ull << (rs2 & 63))); break;
        case OP_BINVI: RD(rs1 ^ (1ull << (imm & 63))); break;
        case OP_BSET: RD(rs1 | (1ull << (rs2 & 63))); break;
        case OP_BSETI: RD(rs1 | (1ull << (imm & 63))); break;

        /* A */
        case OP_LR_W:
        case OP_LR_D: {
            void *p;
            unsigned size = in->op == OP_LR_W ? 4 : 8;
            if (!amo_address(h, in, size, &p))
                goto exception;
            if (size == 4) {
                uint32_t w = __atomic_load_n((uint32_t *)p, __ATOMIC_ACQUIRE);
                h->resv_value = w;
                RD((uint64_t)sx32(w));
            } else {
                h->resv_value = __atomic_load_n((uint64_t *)p, __ATOMIC_ACQUIRE);
                RD(h->resv_value);
            }
            h->resv_addr = (uintptr_t)p;
            h->resv_valid = true;
            break;
        }
        case OP_SC_W:
        case OP_SC_D: {
            void *p;
            unsigned size = in->op == OP_SC_W ? 4 : 8;
            if (!amo_address(h, in, size, &p))
                goto exception;
            bool ok = false;
            /* The reservation holds while memory still has the value LR saw: a
               racing store of a different value makes the CAS fail. */
            if (h->resv_valid && h->resv_addr == (uintptr_t)p) {
                if (size == 4) {
                    uint32_t expect = (uint32_t)h->resv_value;
                    ok = __atomic_compare_exchange_n((uint32_t *)p, &expect, (uint32_t)rs2, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
                } else {
                    uint64_t expect = h->resv_value;
                    ok = __atomic_compare_exchange_n((uint64_t *)p, &expect, rs2, false,
                                                     __ATOMIC_SEQ_CST, __ATOMIC_RELAXED);
                }
            }
            h->resv_valid = false;
            RD(ok ? 0 : 1);
            break;
        }
            AMO_CASE(OP_AMOSWAP_W, OP_AMOSWAP_D, b)
            AMO_CASE(OP_AMOADD_W, OP_AMOADD_D, o + b)
            AMO_CASE(OP_AMOXOR_W, OP_AMOXOR_D, o ^ b)
            AMO_CASE(OP_AMOAND_W, OP_AMOAND_D, o & b)
            AMO_CASE(OP_AMOOR_W, OP_AMOOR_D, o | b)
            AMO_CASE(OP_AMOMIN_W, OP_AMOMIN_D,
                     (sizeof(o) == 4 ? (int32_t)o < (int32_t)b : (int64_t)o < (int64_t)b) ? o : b)
            AMO_CASE(OP_AMOMAX_W, OP_AMOMAX_D,
                     (sizeof(o) == 4 ? (int32_t)o > (int32_t)b : (int64_t)o > (int64_t)b) ? o : b)
            AMO_CASE(OP_AMOMINU_W, OP_AMOMINU_D, o < b ? o : b)
            AMO_CASE(OP_AMOMAXU_W, OP_AMOMAXU_D, o > b ? o : b)

        /* system */
        case OP_FENCE:
            writes_rd = false;
            /* x86 keeps every order but store->load; only a fence ordering
               earlier writes before later reads needs a real barrier. */
            if ((imm & 0x10) && (imm & 0x02))
                __atomic_thread_fence(__ATOMIC_SEQ_CST);
            else
                __atomic_signal_fence(__ATOMIC_SEQ_CST);
            break;
        case OP_FENCE_I: writes_rd = false; break;
        case OP_ECALL:
            raise_trap(h, h->priv == PRV_VS ? EXC_ECALL_VS : EXC_ECALL_U, 0);
            goto exception;
        case OP_EBREAK: raise_trap(h, EXC_BREAKPOINT, pc); goto exception;
        case OP_SRET:
            if (!exec_sret(h, in))
                goto exception;
            x[0] = 0;
            h->instret++;
            continue;
        case OP_WFI:
            writes_rd = false;
            if (h->priv == PRV_VU || (h->hustatus & DV_HUSTATUS_VTW)) {
                raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
                goto exception;
            }
            h->pc = next;
            h->instret++;
            wait_for_interrupt(h);
            continue;
        case OP_SFENCE_VMA:
            writes_rd = false;
            if (h->priv == PRV_VU || (h->hustatus & DV_HUSTATUS_VTVM)) {
                raise_trap(h, EXC_VIRTUAL_INSN, in->raw);
                goto exception;
            }
            mmu_flush(h);
            break;
        case OP_HYPERVISOR: raise_trap(h, EXC_VIRTUAL_INSN, in->raw); goto exception;
        case OP_MRET: raise_trap(h, EXC_ILLEGAL, in->raw); goto exception;
        case OP_CSRRW:
        case OP_CSRRS:
        case OP_CSRRC:
        case OP_CSRRWI:
        case OP_CSRRSI:
        case OP_CSRRCI: {
            bool is_imm = in->op >= OP_CSRRWI;
            uint64_t operand = is_imm ? in->rs1 : rs1;
            bool is_write = in->op == OP_CSRRW || in->op == OP_CSRRWI;
            bool writes = is_write || in->rs1 != 0;
            bool reads = !is_write || in->rd != 0;
            uint64_t old;
            enum csr_op kind = is_write                                      ? CSR_WRITE
                               : (in->op == OP_CSRRS || in->op == OP_CSRRSI) ? CSR_SET
                                                                             : CSR_CLEAR;
            if (!csr_guest_access(h, in, (uint32_t)imm & 0xfff, kind, operand, writes, reads, &old))
                goto exception;
            RD(old);
            break;
        }

        /* F and D */
        case OP_FLW:
        case OP_FLD:
        case OP_FSW:
        case OP_FSD:
        case OP_FMADD_S:
        case OP_FMSUB_S:
        case OP_FNMSUB_S:
        case OP_FNMADD_S:
        case OP_FMADD_D:
        case OP_FMSUB_D:
        case OP_FNMSUB_D:
        case OP_FNMADD_D:
        case OP_FADD_S:
        case OP_FSUB_S:
        case OP_FMUL_S:
        case OP_FDIV_S:
        case OP_FSQRT_S:
        case OP_FSGNJ_S:
        case OP_FSGNJN_S:
        case OP_FSGNJX_S:
        case OP_FMIN_S:
        case OP_FMAX_S:
        case OP_FADD_D:
        case OP_FSUB_D:
        case OP_FMUL_D:
        case OP_FDIV_D:
        case OP_FSQRT_D:
        case OP_FSGNJ_D:
        case OP_FSGNJN_D:
        case OP_FSGNJX_D:
        case OP_FMIN_D:
        case OP_FMAX_D:
        case OP_FCVT_W_S:
        case OP_FCVT_WU_S:
        case OP_FCVT_L_S:
        case OP_FCVT_LU_S:
        case OP_FCVT_S_W:
        case OP_FCVT_S_WU:
        case OP_FCVT_S_L:
        case OP_FCVT_S_LU:
        case OP_FCVT_W_D:
        case OP_FCVT_WU_D:
        case OP_FCVT_L_D:
        case OP_FCVT_LU_D:
        case OP_FCVT_D_W:
        case OP_FCVT_D_WU:
        case OP_FCVT_D_L:
        case OP_FCVT_D_LU:
        case OP_FCVT_S_D:
        case OP_FCVT_D_S:
        case OP_FMV_X_W:
        case OP_FMV_W_X:
        case OP_FMV_X_D:
        case OP_FMV_D_X:
        case OP_FLE_S:
        case OP_FLT_S:
        case OP_FEQ_S:
        case OP_FLE_D:
        case OP_FLT_D:
        case OP_FEQ_D:
        case OP_FCLASS_S:
        case OP_FCLASS_D: {
            if (!(h->vsstatus & SSTATUS_FS))
                goto illegal;
            writes_rd = false;
            const uint64_t *f = h->f;
            unsigned d = in->rd, a = in->rs1, b = in->rs2, c = in->rs3;
            switch ((enum op)in->op) {
            case OP_FLW:
                if (!mem_load(h, rs1 + (uint64_t)imm, 4, &v, in))
                    goto exception;
                set_f32(h, d, (uint32_t)v);
                break;
            case OP_FLD:
                if (!mem_load(h, rs1 + (uint64_t)imm, 8, &v, in))
                    goto exception;
                set_f64(h, d, v);
                break;
            case OP_FSW:
                if (!mem_store(h, rs1 + (uint64_t)imm, 4, f[b], in))
                    goto exception;
                break;
            case OP_FSD:
                if (!mem_store(h, rs1 + (uint64_t)imm, 8, f[b], in))
                    goto exception;
                break;
#define RM()                                                                                       \
    do {                                                                                           \
        if (!resolve_rm(h, in->rm, &rm))                                                           \
            goto illegal;                                                                          \
    } while (0)
            case OP_FMADD_S:
                RM();
                set_f32(
                    h, d,
                    f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), false, false, rm, &fflags));
                break;
            case OP_FMSUB_S:
                RM();
                set_f32(
                    h, d,
                    f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), false, true, rm, &fflags));
                break;
            case OP_FNMSUB_S:
                RM();
                set_f32(
                    h, d,
                    f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), true, false, rm, &fflags));
                break;
            case OP_FNMADD_S:
                RM();
                set_f32(h, d,
                        f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), true, true, rm, &fflags));
                break;
            case OP_FMADD_D:
                RM();
                set_f64(h, d, f64_fma(f[a], f[b], f[c], false, false, rm, &fflags));
                break;
            case OP_FMSUB_D:
                RM();
                set_f64(h, d, f64_fma(f[a], f[b], f[c], false, true, rm, &fflags));
                break;
            case OP_FNMSUB_D:
                RM();
                set_f64(h, d, f64_fma(f[a], f[b], f[c], true, false, rm, &fflags));
                break;
            case OP_FNMADD_D:
                RM();
                set_f64(h, d, f64_fma(f[a], f[b], f[c], true, true, rm, &fflags));
                break;
            case OP_FADD_S:
                RM();
                set_f32(h, d, f32_add(f32_of(h, a), f32_of(h, b), rm, &fflags));
                break;
            case OP_FSUB_S:
                RM();
                set_f32(h, d, f32_sub(f32_of(h, a), f32_of(h, b), rm, &fflags));
                break;
            case OP_FMUL_S:
                RM();
                set_f32(h, d, f32_mul(f32_of(h, a), f32_of(h, b), rm, &fflags));
                break;
            case OP_FDIV_S:
                RM();
                set_f32(h, d, f32_div(f32_of(h, a), f32_of(h, b), rm, &fflags));
                break;
            case OP_FSQRT_S:
                RM();
                set_f32(h, d, f32_sqrt(f32_of(h, a), rm, &fflags));
                break;
            case OP_FADD_D:
                RM();
                set_f64(h, d, f64_add(f[a], f[b], rm, &fflags));
                break;
            case OP_FSUB_D:
                RM();
                set_f64(h, d, f64_sub(f[a], f[b], rm, &fflags));
                break;
            case OP_FMUL_D:
                RM();
                set_f64(h, d, f64_mul(f[a], f[b], rm, &fflags));
                break;
            case OP_FDIV_D:
                RM();
                set_f64(h, d, f64_div(f[a], f[b], rm, &fflags));
                break;
            case OP_FSQRT_D:
                RM();
                set_f64(h, d, f64_sqrt(f[a], rm, &fflags));
                break;
            case OP_FSGNJ_S:
                set_f32(h, d, (f32_of(h, a) & 0x7fffffffu) | (f32_of(h, b) & 0x80000000u));
                break;
            case OP_FSGNJN_S:
                set_f32(h, d, (f32_of(h, a) & 0x7fffffffu) | (~f32_of(h, b) & 0x80000000u));
                break;
            case OP_FSGNJX_S: set_f32(h, d, f32_of(h, a) ^ (f32_of(h, b) & 0x80000000u)); break;
            case OP_FSGNJ_D: set_f64(h, d, (f[a] & ~(1ull << 63)) | (f[b] & (1ull << 63))); break;
            case OP_FSGNJN_D: set_f64(h, d, (f[a] & ~(1ull << 63)) | (~f[b] & (1ull << 63))); break;
            case OP_FSGNJX_D: set_f64(h, d, f[a] ^ (f[b] & (1ull << 63))); break;
            case OP_FMIN_S: set_f32(h, d, f32_min(f32_of(h, a), f32_of(h, b), &fflags)); break;
            case OP_FMAX_S: set_f32(h, d, f32_max(f32_of(h, a), f32_of(h, b), &fflags)); break;
            case OP_FMIN_D: set_f64(h, d, f64_min(f[a], f[b], &fflags)); break;
            case OP_FMAX_D: set_f64(h, d, f64_max(f[a], f[b], &fflags)); break;
            case OP_FCVT_W_S:
                RM();
                writes_rd = true;
                RD((uint64_t)(int64_t)f32_to_i32(f32_of(h, a), rm, &fflags));
                break;
            case OP_FCVT_WU_S:
                RM();
                writes_rd = true;
                RD((uint64_t)sx32(f32_to_u32(f32_of(h, a), rm, &fflags)));
                break;
            case OP_FCVT_L_S:
                RM();
                writes_rd = true;
                RD((uint64_t)f32_to_i64(f32_of(h, a), rm, &fflags));
                break;
            case OP_FCVT_LU_S:
                RM();
                writes_rd = true;
                RD(f32_to_u64(f32_of(h, a), rm, &fflags));
                break;
            case OP_FCVT_W_D:
                RM();
                writes_rd = true;
                RD((uint64_t)(int64_t)f64_to_i32(f[a], rm, &fflags));
                break;
            case OP_FCVT_WU_D:
                RM();
                writes_rd = true;
                RD((uint64_t)sx32(f64_to_u32(f[a], rm, &fflags)));
                break;
            case OP_FCVT_L_D:
                RM();
                writes_rd = true;
                RD((uint64_t)f64_to_i64(f[a], rm, &fflags));
                break;
            case OP_FCVT_LU_D:
                RM();
                writes_rd = true;
                RD(f64_to_u64(f[a], rm, &fflags));
                break;
            case OP_FCVT_S_W:
                RM();
                set_f32(h, d, i32_to_f32((int32_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_S_WU:
                RM();
                set_f32(h, d, u32_to_f32((uint32_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_S_L:
                RM();
                set_f32(h, d, i64_to_f32((int64_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_S_LU:
                RM();
                set_f32(h, d, u64_to_f32(rs1, rm, &fflags));
                break;
            case OP_FCVT_D_W:
                RM();
                set_f64(h, d, i32_to_f64((int32_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_D_WU:
                RM();
                set_f64(h, d, u32_to_f64((uint32_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_D_L:
                RM();
                set_f64(h, d, i64_to_f64((int64_t)rs1, rm, &fflags));
                break;
            case OP_FCVT_D_LU:
                RM();
                set_f64(h, d, u64_to_f64(rs1, rm, &fflags));
                break;
            case OP_FCVT_S_D:
                RM();
                set_f32(h, d, f64_to_f32(f[a], rm, &fflags));
                break;
            case OP_FCVT_D_S:
                RM();
                set_f64(h, d, f32_to_f64(f32_of(h, a), &fflags));
                break;
#undef RM
            case OP_FMV_X_W:
                writes_rd = true;
                RD((uint64_t)sx32(f[a]));
                break;
            case OP_FMV_W_X: set_f32(h, d, (uint32_t)rs1); break;
            case OP_FMV_X_D:
                writes_rd = true;
                RD(f[a]);
                break;
            case OP_FMV_D_X: set_f64(h, d, rs1); break;
            case OP_FLE_S:
                writes_rd = true;
                RD((uint64_t)f32_le(f32_of(h, a), f32_of(h, b), &fflags));
                break;
            case OP_FLT_S:
                writes_rd = true;
                RD((uint64_t)f32_lt(f32_of(h, a), f32_of(h, b), &fflags));
                break;
            case OP_FEQ_S:
                writes_rd = true;
                RD((uint64_t)f32_eq(f32_of(h, a), f32_of(h, b), &fflags));
                break;
            case OP_FLE_D:
                writes_rd = true;
                RD((uint64_t)f64_le(f[a], f[b], &fflags));
                break;
            case OP_FLT_D:
                writes_rd = true;
                RD((uint64_t)f64_lt(f[a], f[b], &fflags));
                break;
            case OP_FEQ_D:
                writes_rd = true;
                RD((uint64_t)f64_eq(f[a], f[b], &fflags));
                break;
            case OP_FCLASS_S:
                writes_rd = true;
                RD(f32_class(f32_of(h, a)));
                break;
            case OP_FCLASS_D:
                writes_rd = true;
                RD(f64_class(f[a]));
                break;
            default: goto illegal;
            }
            if (fflags) {
                h->fflags |= fflags;
                fs_mark_dirty(h);
            }
            break;
        }

        case OP_ILLEGAL:
        default: goto illegal;
        }
        if (writes_rd)
            x[in->rd] = rd_value;
        x[0] = 0;
        h->pc = next;
        h->instret++;
        continue;

    illegal:
        raise_trap(h, EXC_ILLEGAL, raw);
    exception:
        if (cause_exits(h))
            return take_exit(h);
        deliver_to_guest(h, h->trap.cause, h->trap.tval);
    }
}

uint64_t dv_enter(struct dv_hart *h)
{
    h->pc = h->uepc;
    h->priv = (h->hustatus & DV_HUSTATUS_SPVP) ? PRV_VS : PRV_VU;
    h->fetch_vpage = TLB_INVALID;
    /* No look at timers here: CSR writes that change what is pending, and
       other threads' wake-ups, already zeroed the budget; time-driven ones
       are seen within ASYNC_BUDGET instructions as always. */
    if (!h->groot) {
        /* No G-stage: every fetch would fault; say so as the first exit. */
        h->trap =
            (struct trap){.cause = EXC_FETCH_GUEST_PAGE, .tval = h->pc, .gpa = h->pc, .gva = true};
        return take_exit(h);
    }
    return run(h);
}
