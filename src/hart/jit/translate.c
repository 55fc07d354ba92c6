/*
 * The translator: one region of guest code (jit_internal.h) to x86-64.
 *
 * Formation: decode forward from the entry within its 4 KiB page, up to
 * max_region instructions, past conditional branches; stop before an
 * instruction only the interpreter runs (OPF_INTERP), after jalr, and after a
 * jal that leaves the region. Branches and jals to an instruction inside the
 * region become host jumps, so loops stay in translated code.
 *
 * Host state inside a region (System V callee-saved registers survive helper
 * calls):
 *   rbp = struct dv_hart *, r15 = instret, rax/rcx/rdx = scratch,
 *   rbx r12 r13 r14 rsi rdi r8-r11 = the region's most used guest registers;
 *   the rest are memory operands in h->x[].
 * The prologue loads the cached registers; every exit stores those the
 * region writes (its write set), so h->x[] is exact at every exit and trap.
 *
 * instret: `pending` counts instructions retired since r15 was last brought
 * up to date; it is added (lea, which keeps flags) before every jump and in
 * every exit stub, and is 0 at every jump target. A trapping instruction is
 * not counted, as in the interpreter. Budget checks (r15 against jit_limit)
 * sit at the region entry and on every backward jump, so every cycle of
 * translated code passes one.
 *
 * Loads and stores probe the software TLB inline; a miss, a misaligned
 * address or an MMIO access calls the same mem_load/mem_store the
 * interpreter uses, out of line, and stays in the region unless it traps (or
 * stored into a page holding code). Everything else that is not emitted
 * natively calls exec_one(), the interpreter's own semantics.
 */
#include <stddef.h>
#include <stdlib.h>

#include "hart/decode.h"
#include "hart/exec.h"
#include "hart/exec_mem.h"
#include "hart/jit/jit_internal.h"
#include "hart/jit/x86_64.h"

#define MAX_STUBS (JIT_MAX_REGION * 2 + 8)

enum stub_kind {
    STUB_EXIT,    /* a taken branch leaving the region */
    STUB_ASYNC,   /* a backward jump found the budget spent */
    STUB_LOAD,    /* TLB miss on a load */
    STUB_STORE,   /* TLB miss on a store */
    STUB_HELPER,  /* exec helper returned trap or stop */
    STUB_FP_REDO, /* a fused multiply-add made a NaN: redo it exactly in fpu.c */
};

struct stub {
    enum stub_kind kind;
    uint8_t *field;  /* the rel32 that jumps here */
    uint8_t *resume; /* slow paths: where to continue */
    unsigned idx;    /* instruction index */
    unsigned pending;
    uint64_t target;
};

struct fixup {
    uint8_t *field;
    unsigned idx;
};

struct tx {
    struct dv_hart *h;
    struct jit *j;
    struct x86_buf b;
    uint64_t pc0;
    unsigned n;
    struct insn in[JIT_MAX_REGION];
    const struct insn *pool[JIT_MAX_REGION]; /* stable copies for helpers */
    uint64_t pc[JIT_MAX_REGION + 1];
    bool label[JIT_MAX_REGION];
    uint8_t *addr[JIT_MAX_REGION];
    const uint8_t *tail;  /* shared exit: flags, write set, epilogue (reason in rdx) */
    const uint8_t *entry; /* where the region starts running */
    bool end_interp;      /* the region stops before an OPF_INTERP instruction */
    bool end_jump;        /* the last instruction does not fall through */
    bool fs_on;           /* FP enabled: FP loads and stores inline */
    bool fp_inline;       /* some FP arithmetic is inline: host MXCSR flags are live */
    unsigned mode;        /* region_mode() */
    int8_t host[32];      /* guest register -> host register, or -1 */
    uint32_t written;
    unsigned pending;
    struct stub stubs[MAX_STUBS];
    unsigned nstubs;
    struct fixup fixups[JIT_MAX_REGION];
    unsigned nfixups;
};

static const enum x86_reg cache_regs[] = {X86_RBX, X86_R12, X86_R13, X86_R14, X86_RSI,
                                          X86_RDI, X86_R8,  X86_R9,  X86_R10, X86_R11};
#define NCACHE (sizeof(cache_regs) / sizeof(cache_regs[0]))

static bool caller_saved(enum x86_reg r)
{
    return r == X86_RSI || r == X86_RDI || (r >= X86_R8 && r <= X86_R11);
}

#define OFF_X(g)      ((int32_t)(offsetof(struct dv_hart, x) + 8u * (g)))
#define OFF_PC        ((int32_t)offsetof(struct dv_hart, pc))
#define OFF_INSTRET   ((int32_t)offsetof(struct dv_hart, instret))
#define OFF_LIMIT     ((int32_t)offsetof(struct dv_hart, jit_limit))
#define OFF_VALUE     ((int32_t)offsetof(struct dv_hart, jit_value))
#define OFF_F(r)      ((int32_t)(offsetof(struct dv_hart, f) + 8u * (r)))
#define OFF_VSSTATUS  ((int32_t)offsetof(struct dv_hart, vsstatus))
#define OFF_MXCSR     ((int32_t)offsetof(struct dv_hart, jit_mxcsr))
#define OFF_FFLAGS    ((int32_t)offsetof(struct dv_hart, fflags))
#define OFF_FLAGMAP   ((int32_t)offsetof(struct dv_hart, jit_fflags_of_mxcsr))
#define JC_OFF(p)     ((int32_t)(offsetof(struct dv_hart, jit_jc) + (p)*JC_SIZE * 16u))
#define TLB_OFF(p, a) ((int32_t)(offsetof(struct dv_hart, tlb) + ((p)*3u + (a)) * TLB_SIZE * 16u))

static struct x86_mem xmem(unsigned g)
{
    return X86_MEM(X86_RBP, OFF_X(g));
}

static bool fits_i32(int64_t v)
{
    return v == (int64_t)(int32_t)v;
}

/* --- formation ----------------------------------------------------------------------------- */

static int index_of(const struct tx *t, uint64_t target)
{
    for (unsigned k = 0; k < t->n; k++)
        if (t->pc[k] == target)
            return (int)k;
    return -1;
}

static uint64_t branch_target(const struct tx *t, unsigned i)
{
    return t->pc[i] + (uint64_t)(int64_t)t->in[i].imm;
}

static bool is_csr_op(enum op op)
{
    return op >= OP_CSRRW && op <= OP_CSRRCI;
}

/*
 * CSR instructions a region may hold (through a helper call): the
 * supervisor trap and timer CSRs and the counters. A write that changes
 * what translated code assumes (the mode, the translation) makes the helper
 * leave the region at once. The FP CSRs stay interpreted: inline FP keeps
 * flags in the host's MXCSR until the region exits.
 */
static bool csr_in_region(const struct tx *t, const struct insn *in)
{
    if (!is_csr_op((enum op)in->op))
        return false;
    unsigned csr = (uint32_t)in->imm & 0xfff;
    /* verify mode replays a region: what depends on the clock would differ */
    if (t->h->m->engine.verify && (csr == 0xc01 || csr == 0x144))
        return false;
    switch (csr) {
    case 0x100: /* sstatus */
    case 0x104: /* sie */
    case 0x105: /* stvec */
    case 0x106: /* scounteren */
    case 0x140: /* sscratch */
    case 0x141: /* sepc */
    case 0x142: /* scause */
    case 0x143: /* stval */
    case 0x144: /* sip */
    case 0x14d: /* stimecmp */
    case 0x180: /* satp */
    case 0xc00: /* cycle */
    case 0xc01: /* time */
    case 0xc02: /* instret */ return true;
    default: return false;
    }
}

/* Decode the region's instructions; false when the first one cannot be translated. */
static bool form_region(struct tx *t, uintptr_t host0, unsigned max)
{
    uint64_t pc = t->pc0;
    const uint64_t page_end = (t->pc0 & PAGE_MASK) + PAGE_SIZE;
    t->n = 0;
    while (t->n < max && pc + 2 <= page_end) {
        const uint8_t *p = (const uint8_t *)(host0 + (pc - t->pc0));
        uint16_t lo = (uint16_t)host_load((uintptr_t)p, 2);
        uint32_t raw = lo;
        if ((lo & 3) == 3) {
            if (pc + 4 > page_end)
                break; /* straddles the page */
            raw |= (uint32_t)host_load((uintptr_t)p + 2, 2) << 16;
        }
        struct insn *in = &t->in[t->n];
        decode(raw, in);
        unsigned flags = op_infos[in->op].flags;
        if ((flags & OPF_INTERP) && !csr_in_region(t, in)) {
            t->end_interp = true;
            break;
        }
        t->pc[t->n++] = pc;
        pc += in->len;
        if (in->op == OP_JALR) {
            t->end_jump = true;
            break;
        }
        if (in->op == OP_JAL) {
            uint64_t target = pc - in->len + (uint64_t)(int64_t)in->imm;
            if (index_of(t, target) < 0) {
                t->end_jump = true;
                break;
            }
        }
    }
    t->pc[t->n] = pc;
    return t->n > 0;
}

static void mark_labels(struct tx *t)
{
    for (unsigned i = 0; i < t->n; i++) {
        unsigned flags = op_infos[t->in[i].op].flags;
        if ((flags & OPF_BRANCH) || t->in[i].op == OP_JAL) {
            int k = index_of(t, branch_target(t, i));
            if (k >= 0)
                t->label[k] = true;
        }
    }
}

/* Give host registers to the most used guest registers. */
static void allocate(struct tx *t)
{
    unsigned uses[32] = {0};
    for (unsigned i = 0; i < t->n; i++) {
        const struct insn *in = &t->in[i];
        unsigned flags = op_infos[in->op].flags;
        unsigned w = t->label[i] ? 4 : 1;
        uses[in->rs1] += w;
        if (!(flags & OPF_FP))
            uses[in->rs2] += w;
        if (flags & OPF_WRITES_RD) {
            uses[in->rd] += w;
            t->written |= 1u << in->rd;
        }
    }
    uses[0] = 0;
    t->written &= ~1u;
    memset(t->host, -1, sizeof(t->host));
    for (unsigned c = 0; c < NCACHE; c++) {
        unsigned best = 0;
        for (unsigned g = 1; g < 32; g++)
            if (uses[g] > uses[best])
                best = g;
        if (!uses[best])
            break;
        t->host[best] = (int8_t)cache_regs[c];
        uses[best] = 0;
    }
}

/* --- operands ------------------------------------------------------------------------------- */

static bool cached(const struct tx *t, unsigned g)
{
    return g != 0 && t->host[g] >= 0;
}

/* Guest register g's value in a host register: its own, or `scratch` loaded. */
static enum x86_reg src(struct tx *t, unsigned g, enum x86_reg scratch)
{
    if (cached(t, g))
        return (enum x86_reg)t->host[g];
    if (g == 0)
        x86_mov_ri(&t->b, scratch, 0);
    else
        x86_load(&t->b, 8, false, scratch, xmem(g));
    return scratch;
}

/* Copy guest register g into host register r. */
static void load_into(struct tx *t, enum x86_reg r, unsigned g)
{
    enum x86_reg s = src(t, g, r);
    if (s != r)
        x86_mov_rr(&t->b, true, r, s);
}

/* Host register r = guest register g from its home in h->x[] (after a spill). */
static void load_home(struct tx *t, enum x86_reg r, unsigned g)
{
    if (g == 0)
        x86_mov_ri(&t->b, r, 0);
    else
        x86_load(&t->b, 8, false, r, xmem(g));
}

/* Guest rd = host register r. */
static void set_rd(struct tx *t, unsigned rd, enum x86_reg r)
{
    if (rd == 0)
        return;
    if (cached(t, rd)) {
        if ((enum x86_reg)t->host[rd] != r)
            x86_mov_rr(&t->b, true, (enum x86_reg)t->host[rd], r);
    } else {
        x86_store(&t->b, 8, xmem(rd), r);
    }
}

static void set_rd_imm(struct tx *t, unsigned rd, uint64_t v)
{
    if (rd == 0)
        return;
    if (cached(t, rd)) {
        x86_mov_ri(&t->b, (enum x86_reg)t->host[rd], v);
    } else if (fits_i32((int64_t)v)) {
        x86_store_imm(&t->b, 8, xmem(rd), (int32_t)v);
    } else {
        x86_mov_ri(&t->b, X86_RAX, v);
        x86_store(&t->b, 8, xmem(rd), X86_RAX);
    }
}

/* Where to compute rd's new value: its own host register unless that would
   clobber an operand still needed (`keep`), else rax. */
static enum x86_reg work_reg(const struct tx *t, unsigned rd, unsigned keep)
{
    if (cached(t, rd) && rd != keep)
        return (enum x86_reg)t->host[rd];
    return X86_RAX;
}

/* dst op= guest register g (register, memory operand or 0). */
static void alu_with(struct tx *t, enum x86_alu op, bool w64, enum x86_reg dst, unsigned g)
{
    if (g == 0)
        x86_alu_ri(&t->b, op, w64, dst, 0);
    else if (cached(t, g))
        x86_alu_rr(&t->b, op, w64, dst, (enum x86_reg)t->host[g]);
    else
        x86_alu_rm(&t->b, op, w64, dst, xmem(g));
}

/* --- exits ---------------------------------------------------------------------------------- */

static void add_instret(struct tx *t, unsigned n)
{
    if (n)
        x86_lea(&t->b, true, X86_R15, X86_MEM(X86_R15, (int32_t)n));
}

static void store_written(struct tx *t)
{
    for (unsigned g = 1; g < 32; g++)
        if (cached(t, g) && (t->written & (1u << g)))
            x86_store(&t->b, 8, xmem(g), (enum x86_reg)t->host[g]);
}

static void store_pc(struct tx *t, uint64_t pc)
{
    if (fits_i32((int64_t)pc)) {
        x86_store_imm(&t->b, 8, X86_MEM(X86_RBP, OFF_PC), (int32_t)pc);
    } else {
        x86_mov_ri(&t->b, X86_RAX, pc);
        x86_store(&t->b, 8, X86_MEM(X86_RBP, OFF_PC), X86_RAX);
    }
}

/* Leave for the dispatcher at pc. A LOOKUP exit to the region's own page
   starts with a jump the dispatcher may later point at the next region. */
/* Inline FP arithmetic left its exception flags in MXCSR: into fflags. */
static void merge_fp_flags(struct tx *t)
{
    if (!t->fp_inline)
        return;
    x86_stmxcsr(&t->b, X86_MEM(X86_RBP, OFF_MXCSR));
    x86_load(&t->b, 4, false, X86_RAX, X86_MEM(X86_RBP, OFF_MXCSR));
    x86_alu_ri(&t->b, X86_AND, false, X86_RAX, 0x3f);
    x86_load(&t->b, 1, false, X86_RCX, X86_MEMI(X86_RBP, X86_RAX, 1, OFF_FLAGMAP));
    x86_alu_mr(&t->b, X86_OR, false, X86_MEM(X86_RBP, OFF_FFLAGS), X86_RCX);
}

/* Continue at the pc in rdx through the jump cache: a hit jumps straight
   into that region's entry (which checks the budget), a miss leaves for the
   dispatcher, which fills the entry. */
static void emit_jump_cache(struct tx *t)
{
    int32_t off = JC_OFF(t->mode);
    x86_mov_rr(&t->b, false, X86_RCX, X86_RDX);
    x86_shift_ri(&t->b, X86_SHL, false, X86_RCX, 3); /* (pc >> 1) * 16 */
    x86_alu_ri(&t->b, X86_AND, false, X86_RCX, (JC_SIZE - 1) << 4);
    x86_alu_rm(&t->b, X86_CMP, true, X86_RDX, X86_MEMI(X86_RBP, X86_RCX, 1, off));
    uint8_t *miss = x86_jcc(&t->b, X86_CC_NE, NULL);
    x86_jmp_m(&t->b, X86_MEMI(X86_RBP, X86_RCX, 1, off + 8));
    if (miss)
        x86_patch_rel32(miss, t->b.p);
    x86_store(&t->b, 8, X86_MEM(X86_RBP, OFF_PC), X86_RDX);
    x86_mov_ri(&t->b, X86_RAX, JIT_EXIT_LOOKUP);
    x86_jmp(&t->b, t->j->epilogue);
}

/* The region's shared way out for exits that are never chained: emitted
   once, before the region's entry, so that each such exit is a few bytes. */
static void emit_tail(struct tx *t)
{
    t->tail = t->b.p;
    merge_fp_flags(t);
    store_written(t);
    x86_mov_rr(&t->b, true, X86_RAX, X86_RDX);
    x86_jmp(&t->b, t->j->epilogue);
}

static void emit_exit(struct tx *t, uint64_t pc, enum jit_exit why)
{
    if (why != JIT_EXIT_LOOKUP) {
        store_pc(t, pc);
        x86_mov_ri(&t->b, X86_RDX, why);
        x86_jmp(&t->b, t->tail);
        return;
    }
    merge_fp_flags(t);
    store_written(t);
    uint64_t reason = why;
    if (why == JIT_EXIT_LOOKUP && (pc & PAGE_MASK) != (t->pc0 & PAGE_MASK)) {
        x86_mov_ri(&t->b, X86_RDX, pc); /* another page: no chaining, the jump cache */
        emit_jump_cache(t);
        return;
    }
    if (why == JIT_EXIT_LOOKUP) {
        uint8_t *field = x86_jmp(&t->b, NULL);
        if (field) {
            x86_patch_rel32(field, t->b.p);
            reason |= (uint64_t)(uintptr_t)field << 8;
        }
    }
    store_pc(t, pc);
    x86_mov_ri(&t->b, X86_RAX, reason);
    x86_jmp(&t->b, t->j->epilogue);
}

/* Leave with the target pc in rdx (jalr). */
static void emit_exit_dynamic(struct tx *t)
{
    merge_fp_flags(t);
    store_written(t);
    emit_jump_cache(t);
}

static struct stub *add_stub(struct tx *t, enum stub_kind kind, unsigned idx, uint8_t *field)
{
    if (t->nstubs == MAX_STUBS) {
        t->b.overflow = true;
        static struct stub sink;
        return &sink;
    }
    struct stub *s = &t->stubs[t->nstubs++];
    *s = (struct stub){.kind = kind, .field = field, .idx = idx, .pending = t->pending};
    return s;
}

/* Jump to instruction k of the region (a backward one checks the budget). */
static void jump_to(struct tx *t, unsigned i, unsigned k)
{
    add_instret(t, t->pending + 1);
    if (k <= i) {
        x86_alu_rm(&t->b, X86_CMP, true, X86_R15, X86_MEM(X86_RBP, OFF_LIMIT));
        struct stub *s = add_stub(t, STUB_ASYNC, i, x86_jcc(&t->b, X86_CC_AE, NULL));
        s->target = t->pc[k];
        x86_jmp(&t->b, t->addr[k]);
    } else if (t->nfixups < JIT_MAX_REGION) {
        t->fixups[t->nfixups++] = (struct fixup){x86_jmp(&t->b, NULL), k};
    } else {
        t->b.overflow = true;
    }
}

/* --- helper calls --------------------------------------------------------------------------- */

static void spill_all(struct tx *t)
{
    for (unsigned g = 1; g < 32; g++)
        if (cached(t, g))
            x86_store(&t->b, 8, xmem(g), (enum x86_reg)t->host[g]);
}

static void spill_caller_saved(struct tx *t)
{
    for (unsigned g = 1; g < 32; g++)
        if (cached(t, g) && caller_saved((enum x86_reg)t->host[g]))
            x86_store(&t->b, 8, xmem(g), (enum x86_reg)t->host[g]);
}

static void reload_caller_saved(struct tx *t, unsigned also)
{
    for (unsigned g = 1; g < 32; g++)
        if (cached(t, g) && (caller_saved((enum x86_reg)t->host[g]) || g == also))
            x86_load(&t->b, 8, false, (enum x86_reg)t->host[g], xmem(g));
}

static void call(struct tx *t, const void *fn)
{
    if (x86_rel32_ok(t->b.p + 5, fn)) {
        x86_call(&t->b, fn);
    } else {
        x86_mov_ri(&t->b, X86_RAX, (uint64_t)(uintptr_t)fn);
        x86_call_r(&t->b, X86_RAX);
    }
}

/* rd = jit_helper_int(rs1, rs2, in): integer operations not emitted inline. */
static void emit_int_helper(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    spill_all(t); /* h->x[] is now current: take the operands from there */
    load_home(t, X86_RDI, in->rs1);
    load_home(t, X86_RSI, in->rs2);
    x86_mov_ri(&t->b, X86_RDX, (uint64_t)(uintptr_t)t->pool[i]);
    call(t, (const void *)jit_helper_int);
    reload_caller_saved(t, 0);
    set_rd(t, in->rd, X86_RAX);
}

/* Call fn(h, in, pc[, mode]): x[] made current for what the helper reads
   (rs1, rs2) and for rd, which is reloaded whether or not the helper wrote
   it; a result other than HELPER_OK leaves through a stub. */
static void emit_helper_call(struct tx *t, unsigned i, const void *fn, bool pass_mode)
{
    const struct insn *in = &t->in[i];
    spill_caller_saved(t);
    const unsigned used[] = {in->rs1, in->rs2, in->rd};
    for (unsigned k = 0; k < 3; k++)
        if (cached(t, used[k]) && !caller_saved((enum x86_reg)t->host[used[k]]))
            x86_store(&t->b, 8, xmem(used[k]), (enum x86_reg)t->host[used[k]]);
    x86_mov_rr(&t->b, true, X86_RDI, X86_RBP);
    x86_mov_ri(&t->b, X86_RSI, (uint64_t)(uintptr_t)t->pool[i]);
    x86_mov_ri(&t->b, X86_RDX, t->pc[i]);
    if (pass_mode)
        x86_mov_ri(&t->b, X86_RCX, t->mode);
    call(t, fn);
    reload_caller_saved(t, (op_infos[in->op].flags & OPF_WRITES_RD) ? in->rd : 0);
    x86_alu_ri(&t->b, X86_CMP, false, X86_RAX, HELPER_OK);
    add_stub(t, STUB_HELPER, i, x86_jcc(&t->b, X86_CC_NE, NULL));
}

/* Anything else: exec_one() on h->x[], then back into host registers. It
   reads at most rs1 and rs2 of x[] and writes at most rd, so only those and
   the registers the call clobbers go through memory (rd as well, since it
   is reloaded whether or not the helper wrote it). */
static void emit_exec_helper(struct tx *t, unsigned i)
{
    emit_helper_call(t, i, (const void *)jit_helper_exec, false);
}

/* A CSR instruction through jit_helper_csr(): instret is brought up to date
   first (the counters read it), and the helper says STOP when the access
   changed the region's mode or flushed the translation. */
static void emit_csr_helper(struct tx *t, unsigned i)
{
    x86_lea(&t->b, true, X86_RAX, X86_MEM(X86_R15, (int32_t)t->pending));
    x86_store(&t->b, 8, X86_MEM(X86_RBP, OFF_INSTRET), X86_RAX);
    emit_helper_call(t, i, (const void *)jit_helper_csr, true);
}

/* --- integer operations --------------------------------------------------------------------- */

static bool emit_alu_rr(struct tx *t, const struct insn *in, enum x86_alu op, bool w64)
{
    enum x86_reg d = work_reg(t, in->rd, in->rs2);
    load_into(t, d, in->rs1);
    alu_with(t, op, w64, d, in->rs2);
    if (!w64)
        x86_movsx_rr(&t->b, 4, d, d);
    set_rd(t, in->rd, d);
    return true;
}

static void emit_alu_ri(struct tx *t, const struct insn *in, enum x86_alu op, bool w64)
{
    enum x86_reg d = work_reg(t, in->rd, 0);
    load_into(t, d, in->rs1);
    x86_alu_ri(&t->b, op, w64, d, in->imm);
    if (!w64)
        x86_movsx_rr(&t->b, 4, d, d);
    set_rd(t, in->rd, d);
}

static void emit_shift_ri(struct tx *t, const struct insn *in, enum x86_shift op, bool w64)
{
    enum x86_reg d = work_reg(t, in->rd, 0);
    load_into(t, d, in->rs1);
    unsigned amount = (unsigned)in->imm & (w64 ? 63 : 31);
    if (amount)
        x86_shift_ri(&t->b, op, w64, d, (uint8_t)amount);
    if (!w64)
        x86_movsx_rr(&t->b, 4, d, d);
    set_rd(t, in->rd, d);
}

static void emit_shift_rr(struct tx *t, const struct insn *in, enum x86_shift op, bool w64)
{
    load_into(t, X86_RCX, in->rs2);
    enum x86_reg d = work_reg(t, in->rd, 0);
    load_into(t, d, in->rs1);
    x86_shift_cl(&t->b, op, w64, d);
    if (!w64)
        x86_movsx_rr(&t->b, 4, d, d);
    set_rd(t, in->rd, d);
}

static void emit_set_cc(struct tx *t, const struct insn *in, enum x86_cc cc, bool imm)
{
    enum x86_reg a = src(t, in->rs1, X86_RAX);
    if (imm)
        x86_alu_ri(&t->b, X86_CMP, true, a, in->imm);
    else
        alu_with(t, X86_CMP, true, a, in->rs2);
    x86_setcc(&t->b, cc, X86_RAX);
    x86_movzx_rr(&t->b, 1, X86_RAX, X86_RAX);
    set_rd(t, in->rd, X86_RAX);
}

static void emit_minmax(struct tx *t, const struct insn *in, enum x86_cc take_rs2)
{
    load_into(t, X86_RAX, in->rs1);
    enum x86_reg b = src(t, in->rs2, X86_RCX);
    x86_alu_rr(&t->b, X86_CMP, true, X86_RAX, b);
    x86_cmov(&t->b, take_rs2, true, X86_RAX, b);
    set_rd(t, in->rd, X86_RAX);
}

static void emit_shadd(struct tx *t, const struct insn *in, unsigned scale, bool uw)
{
    if (uw) {
        enum x86_reg a = src(t, in->rs1, X86_RAX);
        x86_mov_rr(&t->b, false, X86_RAX, a); /* zero-extends */
    } else {
        load_into(t, X86_RAX, in->rs1);
    }
    enum x86_reg b = src(t, in->rs2, X86_RCX);
    x86_lea(&t->b, true, X86_RAX, X86_MEMI(b, X86_RAX, scale, 0));
    set_rd(t, in->rd, X86_RAX);
}

static void emit_mul(struct tx *t, const struct insn *in, bool w64)
{
    enum x86_reg b = src(t, in->rs2, X86_RCX);
    enum x86_reg d = work_reg(t, in->rd, in->rs2);
    load_into(t, d, in->rs1);
    x86_imul_rr(&t->b, w64, d, b);
    if (!w64)
        x86_movsx_rr(&t->b, 4, d, d);
    set_rd(t, in->rd, d);
}

static void emit_mulh(struct tx *t, const struct insn *in, bool is_signed)
{
    enum x86_reg b = src(t, in->rs2, X86_RCX);
    load_into(t, X86_RAX, in->rs1);
    x86_mul1(&t->b, true, is_signed, b);
    set_rd(t, in->rd, X86_RDX);
}

static void emit_unary(struct tx *t, const struct insn *in)
{
    enum x86_reg a = src(t, in->rs1, X86_RAX);
    switch (in->op) {
    case OP_SEXT_B: x86_movsx_rr(&t->b, 1, X86_RAX, a); break;
    case OP_SEXT_H: x86_movsx_rr(&t->b, 2, X86_RAX, a); break;
    case OP_ZEXT_H: x86_movzx_rr(&t->b, 2, X86_RAX, a); break;
    case OP_REV8:
        if (a != X86_RAX)
            x86_mov_rr(&t->b, true, X86_RAX, a);
        x86_bswap(&t->b, true, X86_RAX);
        break;
    default: break;
    }
    set_rd(t, in->rd, X86_RAX);
}

static void emit_logic_not(struct tx *t, const struct insn *in, enum x86_alu op, bool not_after)
{
    load_into(t, X86_RCX, in->rs2);
    if (!not_after)
        x86_not(&t->b, true, X86_RCX);
    load_into(t, X86_RAX, in->rs1);
    x86_alu_rr(&t->b, op, true, X86_RAX, X86_RCX);
    if (not_after)
        x86_not(&t->b, true, X86_RAX);
    set_rd(t, in->rd, X86_RAX);
}

static void emit_rotate(struct tx *t, const struct insn *in, enum x86_shift op, bool w64, bool imm)
{
    if (!imm)
        load_into(t, X86_RCX, in->rs2);
    load_into(t, X86_RAX, in->rs1);
    if (imm)
        x86_shift_ri(&t->b, op, w64, X86_RAX, (uint8_t)((unsigned)in->imm & (w64 ? 63 : 31)));
    else
        x86_shift_cl(&t->b, op, w64, X86_RAX);
    if (!w64)
        x86_movsx_rr(&t->b, 4, X86_RAX, X86_RAX);
    set_rd(t, in->rd, X86_RAX);
}

/* Single-bit operations with an immediate bit number below 31. */
static bool emit_bit_imm(struct tx *t, const struct insn *in)
{
    unsigned bit = (unsigned)in->imm & 63;
    if (in->op == OP_BEXTI) {
        load_into(t, X86_RAX, in->rs1);
        if (bit)
            x86_shift_ri(&t->b, X86_SHR, true, X86_RAX, (uint8_t)bit);
        x86_alu_ri(&t->b, X86_AND, true, X86_RAX, 1);
        set_rd(t, in->rd, X86_RAX);
        return true;
    }
    if (bit >= 31)
        return false;
    int32_t mask = (int32_t)(1u << bit);
    enum x86_reg d = work_reg(t, in->rd, 0);
    load_into(t, d, in->rs1);
    if (in->op == OP_BSETI)
        x86_alu_ri(&t->b, X86_OR, true, d, mask);
    else if (in->op == OP_BCLRI)
        x86_alu_ri(&t->b, X86_AND, true, d, ~mask);
    else
        x86_alu_ri(&t->b, X86_XOR, true, d, mask);
    set_rd(t, in->rd, d);
    return true;
}

/* Division and remainder with RISC-V's results where x86 would fault:
   x / 0 = all ones and x % 0 = x; MIN / -1 = MIN and MIN % -1 = 0. */
static void emit_divrem(struct tx *t, const struct insn *in)
{
    enum op op = (enum op)in->op;
    bool w64 = op == OP_DIV || op == OP_DIVU || op == OP_REM || op == OP_REMU;
    bool is_signed = op == OP_DIV || op == OP_REM || op == OP_DIVW || op == OP_REMW;
    bool rem = op == OP_REM || op == OP_REMU || op == OP_REMW || op == OP_REMUW;
    load_into(t, X86_RCX, in->rs2);
    load_into(t, X86_RAX, in->rs1);
    x86_test_rr(&t->b, w64, X86_RCX, X86_RCX);
    uint8_t *by_zero = x86_jcc(&t->b, X86_CC_E, NULL);
    uint8_t *overflow = NULL;
    if (is_signed) {
        x86_alu_ri(&t->b, X86_CMP, w64, X86_RCX, -1);
        uint8_t *normal = x86_jcc(&t->b, X86_CC_NE, NULL);
        if (w64) {
            x86_mov_ri(&t->b, X86_RDX, 0x8000000000000000ull);
            x86_alu_rr(&t->b, X86_CMP, true, X86_RAX, X86_RDX);
        } else {
            x86_alu_ri(&t->b, X86_CMP, false, X86_RAX, INT32_MIN);
        }
        overflow = x86_jcc(&t->b, X86_CC_E, NULL);
        if (normal)
            x86_patch_rel32(normal, t->b.p);
        x86_cqo(&t->b, w64);
    } else {
        x86_alu_rr(&t->b, X86_XOR, false, X86_RDX, X86_RDX);
    }
    x86_div1(&t->b, w64, is_signed, X86_RCX);
    if (rem)
        x86_mov_rr(&t->b, w64, X86_RAX, X86_RDX);
    uint8_t *done = x86_jmp(&t->b, NULL);
    /* x / 0: all ones; x % 0: x (rax already) */
    if (by_zero)
        x86_patch_rel32(by_zero, t->b.p);
    if (!rem)
        x86_mov_ri(&t->b, X86_RAX, ~0ull);
    uint8_t *done_zero = x86_jmp(&t->b, NULL);
    /* MIN / -1: MIN (rax already); MIN % -1: 0 */
    if (overflow) {
        x86_patch_rel32(overflow, t->b.p);
        if (rem)
            x86_mov_ri(&t->b, X86_RAX, 0);
    }
    if (done)
        x86_patch_rel32(done, t->b.p);
    if (done_zero)
        x86_patch_rel32(done_zero, t->b.p);
    if (!w64)
        x86_movsx_rr(&t->b, 4, X86_RAX, X86_RAX);
    set_rd(t, in->rd, X86_RAX);
}

/* Integer ops emitted inline; false means use the helper. */
static bool emit_int(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    if (in->rd == 0)
        return true; /* no effect */
    switch ((enum op)in->op) {
    case OP_LUI: set_rd_imm(t, in->rd, (uint64_t)(int64_t)in->imm); return true;
    case OP_AUIPC: set_rd_imm(t, in->rd, t->pc[i] + (uint64_t)(int64_t)in->imm); return true;
    case OP_ADDI: emit_alu_ri(t, in, X86_ADD, true); return true;
    case OP_XORI: emit_alu_ri(t, in, X86_XOR, true); return true;
    case OP_ORI: emit_alu_ri(t, in, X86_OR, true); return true;
    case OP_ANDI: emit_alu_ri(t, in, X86_AND, true); return true;
    case OP_ADDIW: emit_alu_ri(t, in, X86_ADD, false); return true;
    case OP_SLTI: emit_set_cc(t, in, X86_CC_L, true); return true;
    case OP_SLTIU: emit_set_cc(t, in, X86_CC_B, true); return true;
    case OP_SLT: emit_set_cc(t, in, X86_CC_L, false); return true;
    case OP_SLTU: emit_set_cc(t, in, X86_CC_B, false); return true;
    case OP_SLLI: emit_shift_ri(t, in, X86_SHL, true); return true;
    case OP_SRLI: emit_shift_ri(t, in, X86_SHR, true); return true;
    case OP_SRAI: emit_shift_ri(t, in, X86_SAR, true); return true;
    case OP_SLLIW: emit_shift_ri(t, in, X86_SHL, false); return true;
    case OP_SRLIW: emit_shift_ri(t, in, X86_SHR, false); return true;
    case OP_SRAIW: emit_shift_ri(t, in, X86_SAR, false); return true;
    case OP_SLL: emit_shift_rr(t, in, X86_SHL, true); return true;
    case OP_SRL: emit_shift_rr(t, in, X86_SHR, true); return true;
    case OP_SRA: emit_shift_rr(t, in, X86_SAR, true); return true;
    case OP_SLLW: emit_shift_rr(t, in, X86_SHL, false); return true;
    case OP_SRLW: emit_shift_rr(t, in, X86_SHR, false); return true;
    case OP_SRAW: emit_shift_rr(t, in, X86_SAR, false); return true;
    case OP_ADD: return emit_alu_rr(t, in, X86_ADD, true);
    case OP_SUB: return emit_alu_rr(t, in, X86_SUB, true);
    case OP_XOR: return emit_alu_rr(t, in, X86_XOR, true);
    case OP_OR: return emit_alu_rr(t, in, X86_OR, true);
    case OP_AND: return emit_alu_rr(t, in, X86_AND, true);
    case OP_ADDW: return emit_alu_rr(t, in, X86_ADD, false);
    case OP_SUBW: return emit_alu_rr(t, in, X86_SUB, false);
    case OP_MUL: emit_mul(t, in, true); return true;
    case OP_MULW: emit_mul(t, in, false); return true;
    case OP_MULH: emit_mulh(t, in, true); return true;
    case OP_MULHU: emit_mulh(t, in, false); return true;
    case OP_DIV:
    case OP_DIVU:
    case OP_REM:
    case OP_REMU:
    case OP_DIVW:
    case OP_DIVUW:
    case OP_REMW:
    case OP_REMUW: emit_divrem(t, in); return true;
    case OP_SH1ADD: emit_shadd(t, in, 2, false); return true;
    case OP_SH2ADD: emit_shadd(t, in, 4, false); return true;
    case OP_SH3ADD: emit_shadd(t, in, 8, false); return true;
    case OP_ADD_UW: emit_shadd(t, in, 1, true); return true;
    case OP_SH1ADD_UW: emit_shadd(t, in, 2, true); return true;
    case OP_SH2ADD_UW: emit_shadd(t, in, 4, true); return true;
    case OP_SH3ADD_UW: emit_shadd(t, in, 8, true); return true;
    case OP_MIN: emit_minmax(t, in, X86_CC_G); return true;
    case OP_MAX: emit_minmax(t, in, X86_CC_L); return true;
    case OP_MINU: emit_minmax(t, in, X86_CC_A); return true;
    case OP_MAXU: emit_minmax(t, in, X86_CC_B); return true;
    case OP_SEXT_B:
    case OP_SEXT_H:
    case OP_ZEXT_H:
    case OP_REV8: emit_unary(t, in); return true;
    case OP_ANDN: emit_logic_not(t, in, X86_AND, false); return true;
    case OP_ORN: emit_logic_not(t, in, X86_OR, false); return true;
    case OP_XNOR: emit_logic_not(t, in, X86_XOR, true); return true;
    case OP_ROL: emit_rotate(t, in, X86_ROL, true, false); return true;
    case OP_ROR: emit_rotate(t, in, X86_ROR, true, false); return true;
    case OP_RORI: emit_rotate(t, in, X86_ROR, true, true); return true;
    case OP_ROLW: emit_rotate(t, in, X86_ROL, false, false); return true;
    case OP_RORW: emit_rotate(t, in, X86_ROR, false, false); return true;
    case OP_RORIW: emit_rotate(t, in, X86_ROR, false, true); return true;
    case OP_BSETI:
    case OP_BCLRI:
    case OP_BINVI:
    case OP_BEXTI: return emit_bit_imm(t, in);
    default: return false;
    }
}

/* --- memory --------------------------------------------------------------------------------- */

/* rax = rs1 + imm. */
static void emit_address(struct tx *t, const struct insn *in)
{
    if (in->rs1 == 0) {
        x86_mov_ri(&t->b, X86_RAX, (uint64_t)(int64_t)in->imm);
    } else if (cached(t, in->rs1)) {
        x86_lea(&t->b, true, X86_RAX, X86_MEM(t->host[in->rs1], in->imm));
    } else {
        x86_load(&t->b, 8, false, X86_RAX, xmem(in->rs1));
        if (in->imm)
            x86_lea(&t->b, true, X86_RAX, X86_MEM(X86_RAX, in->imm));
    }
}

/* The inline TLB probe: rax = va becomes the host address, or jumps to a
   slow-path stub (miss, misaligned, another page, MMIO). */
static void emit_tlb_probe(struct tx *t, unsigned i, unsigned size, enum access acc,
                           enum stub_kind kind)
{
    int32_t off = TLB_OFF(t->h->priv, acc);
    x86_mov_rr(&t->b, false, X86_RCX, X86_RAX);
    x86_shift_ri(&t->b, X86_SHR, false, X86_RCX, PAGE_SHIFT - 4);
    x86_alu_ri(&t->b, X86_AND, false, X86_RCX, (TLB_SIZE - 1) << 4);
    x86_mov_rr(&t->b, true, X86_RDX, X86_RAX);
    x86_alu_ri(&t->b, X86_AND, true, X86_RDX, (int32_t)(PAGE_MASK | (size - 1)));
    x86_alu_rm(&t->b, X86_CMP, true, X86_RDX, X86_MEMI(X86_RBP, X86_RCX, 1, off));
    add_stub(t, kind, i, x86_jcc(&t->b, X86_CC_NE, NULL));
    x86_alu_rm(&t->b, X86_ADD, true, X86_RAX, X86_MEMI(X86_RBP, X86_RCX, 1, off + 8));
}

static bool is_fp(const struct insn *in)
{
    return op_infos[in->op].flags & OPF_FP;
}

/* vsstatus.FS = Dirty and SD, as fs_mark_dirty() does; clobbers rax. */
static void mark_fs_dirty(struct tx *t)
{
    x86_mov_ri(&t->b, X86_RAX, SSTATUS_FS_DIRTY | SSTATUS_SD);
    x86_alu_mr(&t->b, X86_OR, true, X86_MEM(X86_RBP, OFF_VSSTATUS), X86_RAX);
}

/* f[rd] = rax (NaN-boxed for flw and flh), and FS becomes Dirty as fs_mark_dirty does. */
static void set_frd(struct tx *t, const struct insn *in)
{
    if (in->op == OP_FLW || in->op == OP_FLH) {
        x86_mov_ri(&t->b, X86_RCX,
                   in->op == OP_FLW ? 0xffffffff00000000ull : 0xffffffffffff0000ull);
        x86_alu_rr(&t->b, X86_OR, true, X86_RAX, X86_RCX);
    }
    x86_store(&t->b, 8, X86_MEM(X86_RBP, OFF_F(in->rd)), X86_RAX);
    mark_fs_dirty(t);
}

static void emit_load(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    unsigned size = load_size((enum op)in->op);
    bool sign = in->op == OP_LB || in->op == OP_LH || in->op == OP_LW;
    emit_address(t, in);
    emit_tlb_probe(t, i, size, ACC_LOAD, STUB_LOAD);
    x86_load(&t->b, size, sign, X86_RAX, X86_MEM(X86_RAX, 0));
    t->stubs[t->nstubs - 1].resume = t->b.p;
    if (is_fp(in))
        set_frd(t, in);
    else
        set_rd(t, in->rd, X86_RAX);
}

/* rdx = the value a store writes (rs2, or f[rs2] for fsw/fsd). */
static enum x86_reg store_value(struct tx *t, const struct insn *in)
{
    if (is_fp(in)) {
        x86_load(&t->b, 8, false, X86_RDX, X86_MEM(X86_RBP, OFF_F(in->rs2)));
        return X86_RDX;
    }
    return src(t, in->rs2, X86_RDX);
}

static void emit_store(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    unsigned size = load_size((enum op)in->op);
    emit_address(t, in);
    emit_tlb_probe(t, i, size, ACC_STORE, STUB_STORE);
    if (in->rs2 == 0 && !is_fp(in))
        x86_store_imm(&t->b, size, X86_MEM(X86_RAX, 0), 0);
    else
        x86_store(&t->b, size, X86_MEM(X86_RAX, 0), store_value(t, in));
    t->stubs[t->nstubs - 1].resume = t->b.p;
}

/* --- FP arithmetic -------------------------------------------------------------------------- */

static struct x86_mem fmem(unsigned r)
{
    return X86_MEM(X86_RBP, OFF_F(r));
}

/* Whether instruction in can use host SSE here: double precision, rounding
   to nearest (statically, or dynamically with frm = RNE in this mode). */
static bool fp_inline_ok(const struct tx *t, const struct insn *in)
{
    if (!t->fs_on)
        return false;
    bool rne = in->rm == 0 || (in->rm == 7 && (t->mode & MODE_FRM_RNE));
    switch (in->op) {
    case OP_FMV_X_D:
    case OP_FMV_D_X: return !getenv("JITNOMV");
    case OP_FADD_D:
    case OP_FSUB_D:
    case OP_FMUL_D:
    case OP_FDIV_D:
    case OP_FSQRT_D: return rne && !getenv("JITNOARITH");
    case OP_FMADD_D:
    case OP_FMSUB_D:
    case OP_FNMSUB_D:
    case OP_FNMADD_D: return rne && t->j->host_fma && !getenv("JITNOFMA");
    default: return false;
    }
}

static bool is_fma(enum op op)
{
    return op == OP_FMADD_D || op == OP_FMSUB_D || op == OP_FNMSUB_D || op == OP_FNMADD_D;
}

/* x86 and RISC-V agree on results and flags but where a result is a NaN
   (RISC-V's is canonical; a fused multiply-add may also differ on the flags
   of 0 * inf + qNaN) or tiny (x86 may raise underflow on tininess before
   rounding, so a result of exactly +-min normal). Those results, and zeros
   (which an underflow may have produced), are redone exactly in fpu.c, as
   fpu.c's own host path does. So an op that completes inline never raises
   invalid or underflow, and the redo path can drop those two flags from
   MXCSR: only its own inline attempt can have raised them. */
static void emit_fp_arith(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    enum op op = (enum op)in->op;
    if (op == OP_FMV_X_D) {
        x86_load(&t->b, 8, false, X86_RAX, fmem(in->rs1));
        set_rd(t, in->rd, X86_RAX);
        return;
    }
    if (op == OP_FMV_D_X) {
        load_into(t, X86_RAX, in->rs1);
        x86_store(&t->b, 8, fmem(in->rd), X86_RAX);
        mark_fs_dirty(t);
        return;
    }
    if (is_fma(op)) {
        static const enum x86_fma kind[] = {[OP_FMADD_D - OP_FMADD_D] = X86_VFMADD,
                                            [OP_FMSUB_D - OP_FMADD_D] = X86_VFMSUB,
                                            [OP_FNMSUB_D - OP_FMADD_D] = X86_VFNMADD,
                                            [OP_FNMADD_D - OP_FMADD_D] = X86_VFNMSUB};
        x86_movsd_load(&t->b, X86_XMM0, fmem(in->rs3));
        x86_movsd_load(&t->b, X86_XMM1, fmem(in->rs1));
        x86_movsd_load(&t->b, X86_XMM2, fmem(in->rs2));
        x86_fma231sd(&t->b, kind[op - OP_FMADD_D], X86_XMM0, X86_XMM1, X86_XMM2);
    } else if (op == OP_FSQRT_D) {
        x86_sse_op_rm(&t->b, X86_SQRTSD, X86_XMM0, fmem(in->rs1));
    } else {
        static const enum x86_sse sse[] = {[OP_FADD_D - OP_FADD_D] = X86_ADDSD,
                                           [OP_FSUB_D - OP_FADD_D] = X86_SUBSD,
                                           [OP_FMUL_D - OP_FADD_D] = X86_MULSD,
                                           [OP_FDIV_D - OP_FADD_D] = X86_DIVSD};
        x86_movsd_load(&t->b, X86_XMM0, fmem(in->rs1));
        x86_sse_op_rm(&t->b, sse[op - OP_FADD_D], X86_XMM0, fmem(in->rs2));
    }
    /* rcx = the magnitude, shifted left one: compare with min normal and inf */
    x86_movq_from_xmm(&t->b, X86_RAX, X86_XMM0);
    x86_lea(&t->b, true, X86_RCX, X86_MEMI(X86_RAX, X86_RAX, 1, 0));
    x86_mov_ri(&t->b, X86_RDX, 0x0010000000000000ull << 1);
    x86_alu_rr(&t->b, X86_CMP, true, X86_RCX, X86_RDX);
    struct stub *s = add_stub(t, STUB_FP_REDO, i, x86_jcc(&t->b, X86_CC_BE, NULL));
    x86_mov_ri(&t->b, X86_RDX, 0x7ff0000000000000ull << 1);
    x86_alu_rr(&t->b, X86_CMP, true, X86_RCX, X86_RDX);
    struct stub *nan = add_stub(t, STUB_FP_REDO, i, x86_jcc(&t->b, X86_CC_A, NULL));
    x86_store(&t->b, 8, fmem(in->rd), X86_RAX);
    mark_fs_dirty(t);
    s->resume = nan->resume = t->b.p;
}

/* --- control flow --------------------------------------------------------------------------- */

static enum x86_cc branch_cc(enum op op)
{
    switch (op) {
    case OP_BEQ: return X86_CC_E;
    case OP_BNE: return X86_CC_NE;
    case OP_BLT: return X86_CC_L;
    case OP_BGE: return X86_CC_GE;
    case OP_BLTU: return X86_CC_B;
    default: return X86_CC_AE;
    }
}

static void emit_branch(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    enum x86_reg a = src(t, in->rs1, X86_RAX);
    if (in->rs2 == 0)
        x86_test_rr(&t->b, true, a, a);
    else
        alu_with(t, X86_CMP, true, a, in->rs2);
    enum x86_cc cc = branch_cc((enum op)in->op);
    int k = index_of(t, branch_target(t, i));
    if (k < 0) {
        struct stub *s = add_stub(t, STUB_EXIT, i, x86_jcc(&t->b, cc, NULL));
        s->target = branch_target(t, i);
    } else {
        uint8_t *skip = x86_jcc(&t->b, x86_cc_invert(cc), NULL);
        jump_to(t, i, (unsigned)k);
        if (skip)
            x86_patch_rel32(skip, t->b.p);
    }
    t->pending++;
}

static void emit_jal(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    set_rd_imm(t, in->rd, t->pc[i] + in->len);
    int k = index_of(t, branch_target(t, i));
    if (k >= 0) {
        jump_to(t, i, (unsigned)k);
    } else {
        add_instret(t, t->pending + 1);
        emit_exit(t, branch_target(t, i), JIT_EXIT_LOOKUP);
    }
    t->pending = 0;
}

static void emit_jalr(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    emit_address(t, in);
    x86_mov_rr(&t->b, true, X86_RDX, X86_RAX); /* set_rd_imm may need rax */
    x86_alu_ri(&t->b, X86_AND, true, X86_RDX, -2);
    set_rd_imm(t, in->rd, t->pc[i] + in->len); /* after reading rs1: rd may be rs1 */
    add_instret(t, t->pending + 1);
    emit_exit_dynamic(t);
    t->pending = 0;
}

/* --- the region ----------------------------------------------------------------------------- */

static void emit_insn(struct tx *t, unsigned i)
{
    const struct insn *in = &t->in[i];
    enum op op = (enum op)in->op;
    bool native_mem = !(op_infos[op].flags & OPF_FP) || t->fs_on;
    switch (op_infos[op].kind) {
    case KIND_LOAD:
        if (native_mem) {
            emit_load(t, i);
            t->pending++;
            return;
        }
        break;
    case KIND_STORE:
        if (native_mem) {
            emit_store(t, i);
            t->pending++;
            return;
        }
        break;
    default: break;
    }
    if (op == OP_JAL) {
        emit_jal(t, i);
        return;
    }
    if (op == OP_JALR) {
        emit_jalr(t, i);
        return;
    }
    if (op_infos[op].flags & OPF_BRANCH) {
        emit_branch(t, i);
        return;
    }
    if (op == OP_FENCE) {
        if ((in->imm & 0x10) && (in->imm & 0x02))
            x86_mfence(&t->b);
        t->pending++;
        return;
    }
    if (fp_inline_ok(t, in)) {
        emit_fp_arith(t, i);
        t->pending++;
        return;
    }
    if (is_csr_op(op)) {
        emit_csr_helper(t, i);
        t->pending++;
        return;
    }
    bool is_int = !(op_infos[op].flags & (OPF_TRAPS | OPF_BRANCH | OPF_JUMP | OPF_FP | OPF_INTERP));
    if (is_int) {
        if (!emit_int(t, i))
            emit_int_helper(t, i);
    } else {
        emit_exec_helper(t, i);
    }
    t->pending++;
}

static void emit_stub(struct tx *t, struct stub *s)
{
    if (s->field)
        x86_patch_rel32(s->field, t->b.p);
    const struct insn *in = &t->in[s->idx];
    uint64_t pc = t->pc[s->idx], next = pc + in->len;
    switch (s->kind) {
    case STUB_EXIT:
        add_instret(t, s->pending + 1);
        emit_exit(t, s->target, JIT_EXIT_LOOKUP);
        return;
    case STUB_ASYNC: emit_exit(t, s->target, JIT_EXIT_ASYNC); return;
    case STUB_LOAD:
        spill_caller_saved(t);
        x86_mov_rr(&t->b, true, X86_RSI, X86_RAX);
        x86_mov_rr(&t->b, true, X86_RDI, X86_RBP);
        x86_mov_ri(&t->b, X86_RDX, (uint64_t)(uintptr_t)t->pool[s->idx]);
        call(t, (const void *)jit_helper_load);
        reload_caller_saved(t, 0);
        x86_test_rr(&t->b, false, X86_RAX, X86_RAX);
        {
            uint8_t *ok = x86_jcc(&t->b, X86_CC_NE, NULL);
            add_instret(t, s->pending);
            emit_exit(t, pc, JIT_EXIT_TRAP);
            if (ok)
                x86_patch_rel32(ok, t->b.p);
        }
        x86_load(&t->b, 8, false, X86_RAX, X86_MEM(X86_RBP, OFF_VALUE));
        x86_jmp(&t->b, s->resume);
        return;
    case STUB_STORE:
        spill_caller_saved(t);
        {
            enum x86_reg v = store_value(t, in);
            if (v != X86_RDX)
                x86_mov_rr(&t->b, true, X86_RDX, v);
        }
        x86_mov_rr(&t->b, true, X86_RSI, X86_RAX);
        x86_mov_rr(&t->b, true, X86_RDI, X86_RBP);
        x86_mov_ri(&t->b, X86_RCX, (uint64_t)(uintptr_t)t->pool[s->idx]);
        call(t, (const void *)jit_helper_store);
        reload_caller_saved(t, 0);
        x86_alu_ri(&t->b, X86_CMP, false, X86_RAX, HELPER_OK);
        x86_jcc(&t->b, X86_CC_E, s->resume);
        break;
    case STUB_HELPER: break;
    case STUB_FP_REDO:
        /* forget the invalid and underflow flags of the inline attempt */
        x86_stmxcsr(&t->b, X86_MEM(X86_RBP, OFF_MXCSR));
        x86_alu_mi(&t->b, X86_AND, false, X86_MEM(X86_RBP, OFF_MXCSR), ~0x11);
        x86_ldmxcsr(&t->b, X86_MEM(X86_RBP, OFF_MXCSR));
        t->pending = s->pending; /* what the helper's own stub counts as retired */
        emit_exec_helper(t, s->idx);
        x86_jmp(&t->b, s->resume);
        return;
    }
    /* a helper or store slow path said trap (0) or stop (2) */
    x86_test_rr(&t->b, false, X86_RAX, X86_RAX);
    uint8_t *trap = x86_jcc(&t->b, X86_CC_E, NULL);
    add_instret(t, s->pending + 1);
    emit_exit(t, next, JIT_EXIT_STOP);
    if (trap)
        x86_patch_rel32(trap, t->b.p);
    add_instret(t, s->pending);
    emit_exit(t, pc, JIT_EXIT_TRAP);
}

static void emit_region(struct tx *t)
{
    emit_tail(t);
    t->entry = t->b.p;
    /* entry: the budget check, then the cached registers */
    x86_alu_rm(&t->b, X86_CMP, true, X86_R15, X86_MEM(X86_RBP, OFF_LIMIT));
    uint8_t *go = x86_jcc(&t->b, X86_CC_B, NULL);
    store_pc(t, t->pc0);
    x86_mov_ri(&t->b, X86_RAX, JIT_EXIT_ASYNC);
    x86_jmp(&t->b, t->j->epilogue);
    if (go)
        x86_patch_rel32(go, t->b.p);
    for (unsigned g = 1; g < 32; g++)
        if (cached(t, g))
            x86_load(&t->b, 8, false, (enum x86_reg)t->host[g], xmem(g));
    if (t->fp_inline) { /* flags start clear; every exit merges them */
        x86_store_imm(&t->b, 4, X86_MEM(X86_RBP, OFF_MXCSR), MXCSR_CLEAN);
        x86_ldmxcsr(&t->b, X86_MEM(X86_RBP, OFF_MXCSR));
    }

    for (unsigned i = 0; i < t->n; i++) {
        if (t->label[i]) {
            add_instret(t, t->pending);
            t->pending = 0;
        }
        t->addr[i] = t->b.p;
        emit_insn(t, i);
    }
    if (!t->end_jump) {
        add_instret(t, t->pending);
        emit_exit(t, t->pc[t->n], t->end_interp ? JIT_EXIT_INTERP : JIT_EXIT_LOOKUP);
    }
    for (unsigned k = 0; k < t->nfixups; k++)
        if (t->fixups[k].field)
            x86_patch_rel32(t->fixups[k].field, t->addr[t->fixups[k].idx]);
    for (unsigned k = 0; k < t->nstubs; k++)
        emit_stub(t, &t->stubs[k]);
}

const uint8_t *translate_region(struct dv_hart *h, struct jit *j, uint64_t pc, uintptr_t host,
                                bool *overflow)
{
    static _Thread_local struct tx t; /* large: kept off the stack */
    memset(&t, 0, offsetof(struct tx, stubs));
    t.nstubs = 0;
    t.nfixups = 0;
    t.h = h;
    t.j = j;
    t.pc0 = pc;
    t.mode = region_mode(h);
    t.fs_on = (t.mode & MODE_FS_ON) != 0;
    *overflow = false;
    if (!form_region(&t, host, h->m->engine.max_region))
        return NULL;
    for (unsigned i = 0; i < t.n; i++) {
        j->insns[j->ninsns] = t.in[i];
        t.pool[i] = &j->insns[j->ninsns++];
    }
    mark_labels(&t);
    allocate(&t);
    for (unsigned i = 0; i < t.n; i++)
        t.fp_inline |=
            fp_inline_ok(&t, &t.in[i]) && t.in[i].op != OP_FMV_X_D && t.in[i].op != OP_FMV_D_X;
    x86_init(&t.b, j->free, (size_t)(j->code_end - j->free));
    emit_region(&t);
    if (t.b.overflow) {
        *overflow = true;
        return NULL;
    }
    j->free = t.b.p;
    j->stats.regions++;
    j->stats.guest_insns += t.n;
    return t.entry;
}

void translate_patch(uint8_t *site, const uint8_t *target)
{
    x86_patch_rel32(site, target);
}

/* enter(h, code): save the callee-saved registers, pin h and instret, jump
   into code. The epilogue (rax = exit reason) undoes it. */
bool translate_trampolines(struct jit *j)
{
    static const enum x86_reg saved[] = {X86_RBX, X86_RBP, X86_R12, X86_R13, X86_R14, X86_R15};
    struct x86_buf b;
    x86_init(&b, j->code, 256);
    j->enter = (uint64_t(*)(struct dv_hart *, const uint8_t *))(void *)b.p;
    for (unsigned i = 0; i < 6; i++)
        x86_push(&b, saved[i]);
    x86_alu_ri(&b, X86_SUB, true, X86_RSP, 8); /* 16-byte aligned for calls */
    x86_mov_rr(&b, true, X86_RBP, X86_RDI);
    x86_load(&b, 8, false, X86_R15, X86_MEM(X86_RBP, OFF_INSTRET));
    x86_jmp_r(&b, X86_RSI);
    x86_align(&b, 16);
    j->epilogue = b.p;
    x86_store(&b, 8, X86_MEM(X86_RBP, OFF_INSTRET), X86_R15);
    x86_alu_ri(&b, X86_ADD, true, X86_RSP, 8);
    for (unsigned i = 6; i-- > 0;)
        x86_pop(&b, saved[i]);
    x86_ret(&b);
    x86_align(&b, 16);
    j->free = b.p;
    return !b.overflow;
}
