/*
 * rvgen: random RV64GC programs as machine code (see rvgen.h).
 *
 * Register roles keep every program terminating and every access inside the
 * guest's layout, whatever the random body does:
 *   ra          return addresses only (written by calls, read by returns)
 *   sp s0 s1    bases into data pages 0..3 (s1 is misaligned on purpose)
 *   gp tp       bases at the lazy page's edges (gp) and the VS hole's (tp)
 *   s10 s11     loop counters (inner, outer)
 *   t5 t6       the trap handler's temporaries
 *   the rest    the pool: the random body writes only these (and x0)
 * The body only ever reads the reserved registers.
 */
#include "rvgen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const rvgen_class_name[RVGEN_NCLASSES] = {
#define RVGEN_NAME(name, text) [RVGEN_CLASS_##name] = #name " (" text ")",
    RVGEN_CLASSES(RVGEN_NAME)
#undef RVGEN_NAME
};

/* --- encoder ------------------------------------------------------------------------- */

enum {
    OPC_LOAD = 0x03,
    OPC_LOAD_FP = 0x07,
    OPC_CUSTOM0 = 0x0b,
    OPC_MISC_MEM = 0x0f,
    OPC_OP_IMM = 0x13,
    OPC_AUIPC = 0x17,
    OPC_OP_IMM_32 = 0x1b,
    OPC_STORE = 0x23,
    OPC_STORE_FP = 0x27,
    OPC_AMO = 0x2f,
    OPC_OP = 0x33,
    OPC_LUI = 0x37,
    OPC_OP_32 = 0x3b,
    OPC_MADD = 0x43,
    OPC_OP_FP = 0x53,
    OPC_BRANCH = 0x63,
    OPC_JALR = 0x67,
    OPC_JAL = 0x6f,
    OPC_SYSTEM = 0x73,
};

uint32_t rvgen_r(unsigned opcode, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2, unsigned f7)
{
    return f7 << 25 | rs2 << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opcode;
}

uint32_t rvgen_i(unsigned opcode, unsigned rd, unsigned f3, unsigned rs1, int32_t imm)
{
    return ((uint32_t)imm & 0xfff) << 20 | rs1 << 15 | f3 << 12 | rd << 7 | opcode;
}

static uint32_t s_imm_bits(int32_t imm)
{
    uint32_t o = (uint32_t)imm;
    return ((o >> 5) & 0x7f) << 25 | (o & 0x1f) << 7;
}

uint32_t rvgen_s(unsigned opcode, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
    return s_imm_bits(imm) | rs2 << 20 | rs1 << 15 | f3 << 12 | opcode;
}

static uint32_t b_imm_bits(int32_t offset)
{
    uint32_t o = (uint32_t)offset;
    return ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | ((o >> 1) & 0xf) << 8 |
           ((o >> 11) & 1) << 7;
}

uint32_t rvgen_b(unsigned f3, unsigned rs1, unsigned rs2, int32_t offset)
{
    return b_imm_bits(offset) | rs2 << 20 | rs1 << 15 | f3 << 12 | OPC_BRANCH;
}

uint32_t rvgen_u(unsigned opcode, unsigned rd, uint32_t imm20)
{
    return (imm20 & 0xfffff) << 12 | rd << 7 | opcode;
}

static uint32_t j_imm_bits(int32_t offset)
{
    uint32_t o = (uint32_t)offset;
    return ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 |
           ((o >> 12) & 0xff) << 12;
}

uint32_t rvgen_j(unsigned rd, int32_t offset)
{
    return j_imm_bits(offset) | rd << 7 | OPC_JAL;
}

uint32_t rvgen_r4(unsigned opcode, unsigned rd, unsigned rm, unsigned rs1, unsigned rs2,
                  unsigned fmt, unsigned rs3)
{
    return rs3 << 27 | fmt << 25 | rs2 << 20 | rs1 << 15 | rm << 12 | rd << 7 | opcode;
}

static uint16_t cb_imm_bits(int32_t offset)
{
    uint32_t o = (uint32_t)offset;
    return (uint16_t)(((o >> 8) & 1) << 12 | ((o >> 3) & 3) << 10 | ((o >> 6) & 3) << 5 |
                      ((o >> 1) & 3) << 3 | ((o >> 5) & 1) << 2);
}

uint16_t rvgen_c_beqz(bool bnez, unsigned rs1, int32_t offset)
{
    return (uint16_t)((bnez ? 7u : 6u) << 13 | (rs1 - 8) << 7 | cb_imm_bits(offset) | 1u);
}

static uint16_t cj_imm_bits(int32_t offset)
{
    uint32_t o = (uint32_t)offset;
    return (uint16_t)(((o >> 11) & 1) << 12 | ((o >> 4) & 1) << 11 | ((o >> 8) & 3) << 9 |
                      ((o >> 10) & 1) << 8 | ((o >> 6) & 1) << 7 | ((o >> 7) & 1) << 6 |
                      ((o >> 1) & 7) << 3 | ((o >> 5) & 1) << 2);
}

uint16_t rvgen_c_j(int32_t offset)
{
    return (uint16_t)(5u << 13 | cj_imm_bits(offset) | 1u);
}

/* CL/CS layout: the word form (lw/sw) or the doubleword form (ld/sd/fld/fsd). */
static uint16_t c_mem(unsigned f3, bool d, unsigned rs1, unsigned r, unsigned off)
{
    unsigned low = d ? ((off >> 6) & 3) << 5 : ((off >> 2) & 1) << 6 | ((off >> 6) & 1) << 5;
    return (uint16_t)(f3 << 13 | ((off >> 3) & 7) << 10 | (rs1 - 8) << 7 | low | (r - 8) << 2);
}

uint16_t rvgen_c_lw(bool d, unsigned rd, unsigned rs1, unsigned offset)
{
    return c_mem(d ? 3 : 2, d, rs1, rd, offset);
}

uint16_t rvgen_c_sw(bool d, unsigned rs1, unsigned rs2, unsigned offset)
{
    return c_mem(d ? 7 : 6, d, rs1, rs2, offset);
}

static uint16_t c_lsp(unsigned f3, bool d, unsigned rd, unsigned off)
{
    unsigned low = d ? ((off >> 3) & 3) << 5 | ((off >> 6) & 7) << 2
                     : ((off >> 2) & 7) << 4 | ((off >> 6) & 3) << 2;
    return (uint16_t)(f3 << 13 | ((off >> 5) & 1) << 12 | rd << 7 | low | 2u);
}

uint16_t rvgen_c_lwsp(bool d, unsigned rd, unsigned offset)
{
    return c_lsp(d ? 3 : 2, d, rd, offset);
}

static uint16_t c_ssp(unsigned f3, bool d, unsigned rs2, unsigned off)
{
    unsigned imm = d ? ((off >> 3) & 7) << 10 | ((off >> 6) & 7) << 7
                     : ((off >> 2) & 0xf) << 9 | ((off >> 6) & 3) << 7;
    return (uint16_t)(f3 << 13 | imm | rs2 << 2 | 2u);
}

uint16_t rvgen_c_swsp(bool d, unsigned rs2, unsigned offset)
{
    return c_ssp(d ? 7 : 6, d, rs2, offset);
}

uint16_t rvgen_c_ci(unsigned f3, unsigned op, unsigned rd, int32_t imm6)
{
    uint32_t i = (uint32_t)imm6;
    return (uint16_t)(f3 << 13 | ((i >> 5) & 1) << 12 | rd << 7 | (i & 0x1f) << 2 | op);
}

/* c.sub/xor/or/and/subw/addw */
static uint16_t c_ca(unsigned f6, unsigned rd, unsigned f2, unsigned rs2)
{
    return (uint16_t)(f6 << 10 | (rd - 8) << 7 | f2 << 5 | (rs2 - 8) << 2 | 1u);
}

/* c.srli/c.srai/c.andi */
static uint16_t c_cb_alu(unsigned f2, unsigned rd, int32_t imm6)
{
    uint32_t i = (uint32_t)imm6;
    return (uint16_t)(4u << 13 | ((i >> 5) & 1) << 12 | f2 << 10 | (rd - 8) << 7 | (i & 0x1f) << 2 |
                      1u);
}

/* c.mv / c.add (and with rs2 = 0: c.jr / c.jalr) */
static uint16_t c_cr(bool add, unsigned rd, unsigned rs2)
{
    return (uint16_t)((add ? 0x9002u : 0x8002u) | rd << 7 | rs2 << 2);
}

/* --- generator state ----------------------------------------------------------------- */

enum {
    X0 = 0,
    RA = 1,
    SP = 2,
    GP = 3,
    TP = 4,
    S0 = 8,
    S1 = 9,
    A0 = 10,
    A7 = 17,
    S10 = 26,
    S11 = 27,
    T5 = 30,
    T6 = 31,
};

/* values of the base registers */
#define BASE_SP (RVGEN_DATA + 0x0800)
#define BASE_S0 (RVGEN_DATA + 0x1800)
#define BASE_S1 (RVGEN_DATA + 0x2ffd)
#define BASE_GP (RVGEN_DATA + 0x4000) /* the lazy page starts here */
#define BASE_TP (RVGEN_DATA + 0x5000) /* the VS hole starts here */

static const uint8_t pool[] = {5,  6,  7,  10, 11, 12, 13, 14, 15, 16, 17,
                               18, 19, 20, 21, 22, 23, 24, 25, 28, 29};

#define COUNT(a)        (sizeof(a) / sizeof((a)[0]))
#define EXIT_BUDGET     48                        /* estimated exits per program */
#define CODE_SOFT_END   (RVGEN_CODE_END - 0x1800) /* leave room for the open constructs */
#define MAX_DEPTH       2
#define ROOM_FOR_SMALL  64 /* bytes an item picked with SMALL_ONLY can take at most */
#define OUTER_TRIPS_MAX 24
#define INNER_TRIPS_MAX 8

struct gen {
    struct rvgen_program *p; /* NULL when emitting into a plain buffer (rvgen_li) */
    uint8_t *mem;            /* memory holding guest address `base` */
    uint64_t base, limit;    /* [base, limit) may be written */
    uint64_t pc;             /* where the next instruction goes */
    uint64_t rng;
    uint64_t mult;   /* how often the code being emitted runs (product of trip counts) */
    uint64_t insns;  /* estimated dynamic instructions so far */
    uint64_t exits;  /* estimated dynamic exits so far */
    uint64_t target; /* dynamic instructions wanted */
    unsigned depth;  /* loop nesting */
    bool in_function;
};

static void die(const char *what, uint64_t pc)
{
    fprintf(stderr, "rvgen: %s at %#llx\n", what, (unsigned long long)pc);
    abort();
}

static uint64_t rnd(struct gen *g)
{
    /* xorshift64* */
    uint64_t x = g->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    g->rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct gen *g, unsigned n)
{
    return (unsigned)((rnd(g) >> 11) % n);
}

static bool chance(struct gen *g, unsigned percent)
{
    return below(g, 100) < percent;
}

uint64_t rvgen_splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* --- emission ------------------------------------------------------------------------ */

static uint8_t *at(struct gen *g, uint64_t addr, unsigned len)
{
    if (addr < g->base || addr + len > g->limit)
        die("write outside the code area", addr);
    return g->mem + (addr - g->base);
}

static void note(struct gen *g, const char *name)
{
    if (g->p)
        g->p->name[(g->pc - RVGEN_RAM) / 2] = name;
    g->insns += g->mult;
}

static void count(struct gen *g, enum rvgen_class c)
{
    if (g->p)
        g->p->count[c]++;
}

static uint64_t put32(struct gen *g, uint32_t w, const char *name)
{
    uint64_t here = g->pc;
    if ((here & (RVGEN_PAGE - 1)) == RVGEN_PAGE - 2)
        count(g, RVGEN_CLASS_CODE_PAGE_CROSS);
    memcpy(at(g, here, 4), &w, 4);
    note(g, name);
    g->pc += 4;
    return here;
}

static uint64_t put16(struct gen *g, uint16_t h, const char *name)
{
    uint64_t here = g->pc;
    memcpy(at(g, here, 2), &h, 2);
    note(g, name);
    g->pc += 2;
    return here;
}

/* Data inside the code (jump tables, padding): never executed, no mnemonic. */
static void put_data(struct gen *g, const void *bytes, unsigned len)
{
    memcpy(at(g, g->pc, len), bytes, len);
    g->pc += len;
}

static void or32(struct gen *g, uint64_t addr, uint32_t bits)
{
    uint32_t w;
    memcpy(&w, at(g, addr, 4), 4);
    w |= bits;
    memcpy(at(g, addr, 4), &w, 4);
}

static void or16(struct gen *g, uint64_t addr, uint16_t bits)
{
    uint16_t h;
    memcpy(&h, at(g, addr, 2), 2);
    h |= bits;
    memcpy(at(g, addr, 2), &h, 2);
}

static int32_t distance(uint64_t from, uint64_t to, int32_t min, int32_t max)
{
    int64_t d = (int64_t)(to - from);
    if (d < min || d > max)
        die("branch target out of range", from);
    return (int32_t)d;
}

/* Fix up a placeholder (its offset field zero) to reach `to`. */
static void patch_branch(struct gen *g, uint64_t from, uint64_t to)
{
    or32(g, from, b_imm_bits(distance(from, to, -4096, 4094)));
}

static void patch_jal(struct gen *g, uint64_t from, uint64_t to)
{
    or32(g, from, j_imm_bits(distance(from, to, -(1 << 20), (1 << 20) - 2)));
}

static void patch_c_branch(struct gen *g, uint64_t from, uint64_t to)
{
    or16(g, from, cb_imm_bits(distance(from, to, -256, 254)));
}

static void patch_c_j(struct gen *g, uint64_t from, uint64_t to)
{
    or16(g, from, cj_imm_bits(distance(from, to, -2048, 2046)));
}

static void patch_i_imm(struct gen *g, uint64_t insn, int64_t imm)
{
    or32(g, insn, ((uint32_t)distance(0, (uint64_t)imm, -2048, 2047) & 0xfff) << 20);
}

static void patch_s_imm(struct gen *g, uint64_t insn, int64_t imm)
{
    or32(g, insn, s_imm_bits(distance(0, (uint64_t)imm, -2048, 2047)));
}

/* --- registers and values ------------------------------------------------------------ */

static unsigned pool_reg(struct gen *g)
{
    return pool[below(g, COUNT(pool))];
}

/* A destination: the pool, now and then x0 (whose writes must vanish). */
static unsigned dst(struct gen *g)
{
    return chance(g, 3) ? X0 : pool_reg(g);
}

/* A source: mostly the pool, sometimes x0 or any register. */
static unsigned src(struct gen *g)
{
    unsigned r = below(g, 100);
    return r < 85 ? pool_reg(g) : r < 92 ? X0 : below(g, 32);
}

/* Compressed register fields reach x8..x15; the pool's part of that is x10..x15. */
static unsigned c_dst(struct gen *g)
{
    return 10 + below(g, 6);
}

static unsigned c_src(struct gen *g)
{
    return 8 + below(g, 8);
}

/* Two or three different pool registers. */
static void distinct_pool(struct gen *g, unsigned *a, unsigned *b, unsigned *c)
{
    *a = pool_reg(g);
    do
        *b = pool_reg(g);
    while (*b == *a);
    if (c)
        do
            *c = pool_reg(g);
        while (*c == *a || *c == *b);
}

static const uint64_t int_edges[] = {
    0,
    1,
    2,
    3,
    7,
    31, /* shift amounts at the W boundary */
    32,
    63,
    64,                    /* shifts use the low 6 bits only */
    ~0ull,                 /* -1 */
    ~1ull,                 /* -2 */
    0x8000000000000000ull, /* INT64_MIN */
    0x7fffffffffffffffull, /* INT64_MAX */
    0x80000000ull,         /* INT32_MIN zero-extended */
    0x7fffffffull,         /* INT32_MAX */
    0xffffffffull,         /* UINT32_MAX */
    0xffffffff80000000ull, /* INT32_MIN sign-extended */
    0x100000000ull,
    0xffffull,
    0x8000ull,
    0xffull,
    0x80ull,
    0x5555555555555555ull,
    0xaaaaaaaaaaaaaaaaull,
    0x00ff00ff00ff00ffull,
    0x0123456789abcdefull, /* all bytes different (rev8, orc.b) */
};

static uint64_t int_value(struct gen *g)
{
    unsigned r = below(g, 100);
    if (r < 65)
        return int_edges[below(g, COUNT(int_edges))];
    if (r < 85)
        return (uint64_t)(int64_t)((int)below(g, 200) - 100);
    if (r < 93)
        return (uint64_t)(int64_t)(int32_t)rnd(g);
    return rnd(g);
}

/* Doubles, boxed singles and improperly boxed singles (which read as the canonical NaN). */
static const uint64_t fp_edges[] = {
    0x0000000000000000ull, /* +0 */
    0x8000000000000000ull, /* -0 */
    0x3ff0000000000000ull, /* 1 */
    0xbff8000000000000ull, /* -1.5 */
    0x4004000000000000ull, /* 2.5 */
    0xc00c000000000000ull, /* -3.5 */
    0x3fe0000000000000ull, /* 0.5 */
    0x7ff0000000000000ull, /* inf */
    0xfff0000000000000ull, /* -inf */
    0x7ff8000000000000ull, /* qNaN */
    0x7ff0000000000001ull, /* sNaN */
    0xfff8deadbeef0000ull, /* NaN with payload */
    0x0000000000000001ull, /* smallest subnormal */
    0x000fffffffffffffull, /* largest subnormal */
    0x0010000000000000ull, /* smallest normal */
    0x7fefffffffffffffull, /* largest */
    0x41dfffffffc00000ull, /* 2^31 - 1 */
    0xc1e0000000000000ull, /* -2^31 */
    0x41f0000000000000ull, /* 2^32 */
    0x43e0000000000000ull, /* 2^63 */
    0xc3e0000000000000ull, /* -2^63 */
    0x43f0000000000000ull, /* 2^64 */
    0x4340000000000001ull, /* 2^53 + 2 */
    0x3fb999999999999aull, /* 0.1 */
    0xffffffff3f800000ull, /* 1.0f */
    0xffffffff80000000ull, /* -0.0f */
    0xffffffff7f800000ull, /* inf f */
    0xffffffff7fc00000ull, /* qNaN f */
    0xffffffff7f800001ull, /* sNaN f */
    0xffffffff00000001ull, /* subnormal f */
    0xffffffff7f7fffffull, /* largest f */
    0xffffffff40200000ull, /* 2.5f */
    0xffffffffc0600000ull, /* -3.5f */
    0xffffffff4f000000ull, /* 2^31 f */
    0xffffffffcf000000ull, /* -2^31 f */
    0xffffffff5f000000ull, /* 2^63 f */
    0xffffffff3dcccccdull, /* 0.1f */
    0x000000003f800000ull, /* 1.0f, not boxed */
};

static uint64_t fp_value(struct gen *g)
{
    unsigned r = below(g, 100);
    if (r < 80)
        return fp_edges[below(g, COUNT(fp_edges))];
    if (r < 90)
        return 0xffffffff00000000ull | (uint32_t)rnd(g);
    return rnd(g);
}

static int32_t imm12(struct gen *g)
{
    static const int32_t edges[] = {0, 1, -1, 2047, -2048, 31, 32, 63, 0x7ff, -0x800, 0x555};
    return chance(g, 50) ? edges[below(g, COUNT(edges))] : (int32_t)below(g, 4096) - 2048;
}

static unsigned shamt(struct gen *g, unsigned max)
{
    static const unsigned edges[] = {0, 1, 31, 32, 63};
    unsigned s = chance(g, 60) ? edges[below(g, COUNT(edges))] : below(g, max + 1);
    return s > max ? max : s;
}

/* --- li ----------------------------------------------------------------------------------- */

static int32_t sext12(uint64_t v)
{
    return (int32_t)((v & 0xfff) ^ 0x800) - 0x800;
}

static int64_t asr(int64_t v, unsigned n)
{
    return v < 0 ? ~(~v >> n) : v >> n;
}

/* The usual RV64 materialisation: lui/addiw for 32-bit values, else the upper
   part recursively, shifted, plus the low 12 bits. */
static void li(struct gen *g, unsigned rd, uint64_t v)
{
    int64_t s = (int64_t)v;
    if (s >= -2048 && s < 2048) {
        put32(g, rvgen_i(OPC_OP_IMM, rd, 0, X0, (int32_t)s), "li");
        return;
    }
    int32_t lo = sext12(v);
    if (s == (int32_t)s) {
        put32(g, rvgen_u(OPC_LUI, rd, (uint32_t)asr(s - lo, 12)), "lui");
        if (lo)
            put32(g, rvgen_i(OPC_OP_IMM_32, rd, 0, rd, lo), "addiw");
        return;
    }
    int64_t hi = asr((int64_t)(v - (uint64_t)(int64_t)lo), 12);
    unsigned shift = 12 + (unsigned)__builtin_ctzll((uint64_t)hi);
    hi = asr(hi, shift - 12);
    li(g, rd, (uint64_t)hi);
    put32(g, rvgen_i(OPC_OP_IMM, rd, 1, rd, (int32_t)shift), "slli");
    if (lo)
        put32(g, rvgen_i(OPC_OP_IMM, rd, 0, rd, lo), "addi");
}

size_t rvgen_li(uint8_t *buf, unsigned rd, uint64_t value)
{
    struct gen g = {.mem = buf, .base = 0, .limit = 32, .pc = 0, .mult = 1};
    li(&g, rd, value);
    return (size_t)g.pc;
}

/* --- straight-line items --------------------------------------------------------------- */

struct rop {
    const char *name;
    uint8_t opcode, f3, f7;
};

static void emit_rop(struct gen *g, const struct rop *op, unsigned rd, unsigned rs1, unsigned rs2)
{
    put32(g, rvgen_r(op->opcode, rd, op->f3, rs1, rs2, op->f7), op->name);
}

static void item_alu_reg(struct gen *g)
{
    static const struct rop ops[] = {
        {"add", OPC_OP, 0, 0},     {"sub", OPC_OP, 0, 0x20},  {"sll", OPC_OP, 1, 0},
        {"slt", OPC_OP, 2, 0},     {"sltu", OPC_OP, 3, 0},    {"xor", OPC_OP, 4, 0},
        {"srl", OPC_OP, 5, 0},     {"sra", OPC_OP, 5, 0x20},  {"or", OPC_OP, 6, 0},
        {"and", OPC_OP, 7, 0},     {"addw", OPC_OP_32, 0, 0}, {"subw", OPC_OP_32, 0, 0x20},
        {"sllw", OPC_OP_32, 1, 0}, {"srlw", OPC_OP_32, 5, 0}, {"sraw", OPC_OP_32, 5, 0x20},
    };
    emit_rop(g, &ops[below(g, COUNT(ops))], dst(g), src(g), src(g));
}

static void item_alu_imm(struct gen *g)
{
    static const struct {
        const char *name;
        uint8_t opcode, f3;
    } ops[] = {
        {"addi", OPC_OP_IMM, 0},     {"slti", OPC_OP_IMM, 2}, {"sltiu", OPC_OP_IMM, 3},
        {"xori", OPC_OP_IMM, 4},     {"ori", OPC_OP_IMM, 6},  {"andi", OPC_OP_IMM, 7},
        {"addiw", OPC_OP_IMM_32, 0},
    };
    unsigned k = below(g, COUNT(ops));
    put32(g, rvgen_i(ops[k].opcode, dst(g), ops[k].f3, src(g), imm12(g)), ops[k].name);
}

/* Shift-immediate forms: imm = high | shamt. */
struct shop {
    const char *name;
    uint8_t opcode, f3;
    uint16_t high;
    uint8_t max;
};

static void emit_shop(struct gen *g, const struct shop *op)
{
    int32_t imm = (int32_t)(op->high | shamt(g, op->max));
    put32(g, rvgen_i(op->opcode, dst(g), op->f3, src(g), imm), op->name);
}

static void item_shift(struct gen *g)
{
    static const struct shop ops[] = {
        {"slli", OPC_OP_IMM, 1, 0, 63},     {"srli", OPC_OP_IMM, 5, 0, 63},
        {"srai", OPC_OP_IMM, 5, 0x400, 63}, {"slliw", OPC_OP_IMM_32, 1, 0, 31},
        {"srliw", OPC_OP_IMM_32, 5, 0, 31}, {"sraiw", OPC_OP_IMM_32, 5, 0x400, 31},
    };
    emit_shop(g, &ops[below(g, COUNT(ops))]);
}

static void item_upper(struct gen *g)
{
    static const uint32_t edges[] = {0, 1, 0x80000, 0x7ffff, 0xfffff};
    uint32_t imm = chance(g, 50) ? edges[below(g, COUNT(edges))] : (uint32_t)rnd(g) & 0xfffff;
    if (chance(g, 50))
        put32(g, rvgen_u(OPC_LUI, dst(g), imm), "lui");
    else
        put32(g, rvgen_u(OPC_AUIPC, dst(g), imm), "auipc");
}

static void item_mul(struct gen *g)
{
    static const struct rop ops[] = {
        {"mul", OPC_OP, 0, 1},   {"mulh", OPC_OP, 1, 1},    {"mulhsu", OPC_OP, 2, 1},
        {"mulhu", OPC_OP, 3, 1}, {"mulw", OPC_OP_32, 0, 1},
    };
    emit_rop(g, &ops[below(g, COUNT(ops))], dst(g), src(g), src(g));
}

static const struct rop div_ops[] = {
    {"div", OPC_OP, 4, 1},     {"divu", OPC_OP, 5, 1},     {"rem", OPC_OP, 6, 1},
    {"remu", OPC_OP, 7, 1},    {"divw", OPC_OP_32, 4, 1},  {"divuw", OPC_OP_32, 5, 1},
    {"remw", OPC_OP_32, 6, 1}, {"remuw", OPC_OP_32, 7, 1},
};

static void item_div(struct gen *g)
{
    emit_rop(g, &div_ops[below(g, COUNT(div_ops))], dst(g), src(g), src(g));
}

/* Division by zero (x0 or a zeroed register) and the one overflowing quotient. */
static void item_div_edge(struct gen *g)
{
    const struct rop *op = &div_ops[below(g, COUNT(div_ops))];
    bool word = op->opcode == OPC_OP_32;
    unsigned a, b;
    distinct_pool(g, &a, &b, NULL);
    switch (below(g, 3)) {
    case 0: emit_rop(g, op, dst(g), src(g), X0); break;
    case 1:
        li(g, b, word ? 0xffffffff00000000ull : 0); /* the low word is what W forms see */
        emit_rop(g, op, dst(g), src(g), b);
        break;
    default:
        li(g, a, word ? 0xffffffff80000000ull : 0x8000000000000000ull);
        li(g, b, ~0ull);
        emit_rop(g, op, dst(g), a, b);
        break;
    }
}

static void item_zba(struct gen *g)
{
    static const struct rop ops[] = {
        {"sh1add", OPC_OP, 2, 0x10},       {"sh2add", OPC_OP, 4, 0x10},
        {"sh3add", OPC_OP, 6, 0x10},       {"add.uw", OPC_OP_32, 0, 0x04},
        {"sh1add.uw", OPC_OP_32, 2, 0x10}, {"sh2add.uw", OPC_OP_32, 4, 0x10},
        {"sh3add.uw", OPC_OP_32, 6, 0x10},
    };
    static const struct shop slli_uw = {"slli.uw", OPC_OP_IMM_32, 1, 0x080, 63};
    unsigned k = below(g, COUNT(ops) + 1);
    if (k == COUNT(ops))
        emit_shop(g, &slli_uw);
    else
        emit_rop(g, &ops[k], dst(g), src(g), src(g));
}

static void item_zbb(struct gen *g)
{
    static const struct rop reg_ops[] = {
        {"andn", OPC_OP, 7, 0x20},    {"orn", OPC_OP, 6, 0x20},     {"xnor", OPC_OP, 4, 0x20},
        {"min", OPC_OP, 4, 0x05},     {"minu", OPC_OP, 5, 0x05},    {"max", OPC_OP, 6, 0x05},
        {"maxu", OPC_OP, 7, 0x05},    {"rol", OPC_OP, 1, 0x30},     {"ror", OPC_OP, 5, 0x30},
        {"rolw", OPC_OP_32, 1, 0x30}, {"rorw", OPC_OP_32, 5, 0x30},
    };
    static const struct {
        const char *name;
        uint8_t opcode, f3;
        uint16_t imm;
    } unary_ops[] = {
        {"clz", OPC_OP_IMM, 1, 0x600},     {"ctz", OPC_OP_IMM, 1, 0x601},
        {"cpop", OPC_OP_IMM, 1, 0x602},    {"sext.b", OPC_OP_IMM, 1, 0x604},
        {"sext.h", OPC_OP_IMM, 1, 0x605},  {"clzw", OPC_OP_IMM_32, 1, 0x600},
        {"ctzw", OPC_OP_IMM_32, 1, 0x601}, {"cpopw", OPC_OP_IMM_32, 1, 0x602},
        {"orc.b", OPC_OP_IMM, 5, 0x287},   {"rev8", OPC_OP_IMM, 5, 0x6b8},
    };
    static const struct shop rot_ops[] = {
        {"rori", OPC_OP_IMM, 5, 0x600, 63},
        {"roriw", OPC_OP_IMM_32, 5, 0x600, 31},
    };
    switch (below(g, 4)) {
    case 0: emit_rop(g, &reg_ops[below(g, COUNT(reg_ops))], dst(g), src(g), src(g)); break;
    case 1: {
        unsigned k = below(g, COUNT(unary_ops));
        put32(g, rvgen_i(unary_ops[k].opcode, dst(g), unary_ops[k].f3, src(g), unary_ops[k].imm),
              unary_ops[k].name);
        break;
    }
    case 2: emit_shop(g, &rot_ops[below(g, COUNT(rot_ops))]); break;
    default: put32(g, rvgen_r(OPC_OP_32, dst(g), 4, src(g), 0, 0x04), "zext.h"); break;
    }
}

static void item_zbs(struct gen *g)
{
    static const struct rop reg_ops[] = {
        {"bclr", OPC_OP, 1, 0x24},
        {"bext", OPC_OP, 5, 0x24},
        {"binv", OPC_OP, 1, 0x34},
        {"bset", OPC_OP, 1, 0x14},
    };
    static const struct shop imm_ops[] = {
        {"bclri", OPC_OP_IMM, 1, 0x480, 63},
        {"bexti", OPC_OP_IMM, 5, 0x480, 63},
        {"binvi", OPC_OP_IMM, 1, 0x680, 63},
        {"bseti", OPC_OP_IMM, 1, 0x280, 63},
    };
    if (chance(g, 50))
        emit_rop(g, &reg_ops[below(g, COUNT(reg_ops))], dst(g), src(g), src(g));
    else
        emit_shop(g, &imm_ops[below(g, COUNT(imm_ops))]);
}

static void item_li_edge(struct gen *g)
{
    li(g, pool_reg(g), int_value(g));
}

static void item_c_alu(struct gen *g)
{
    unsigned rd = pool_reg(g), cd = c_dst(g);
    int32_t imm = (int32_t)below(g, 64) - 32;
    int32_t nz = imm ? imm : 1;
    int32_t sh = (int32_t)shamt(g, 63);
    sh = sh ? sh : 1; /* shamt 0 is a hint, not a shift */
    switch (below(g, 12)) {
    case 0: put16(g, rvgen_c_ci(0, 1, rd, nz), "c.addi"); break;
    case 1: put16(g, rvgen_c_ci(1, 1, rd, imm), "c.addiw"); break;
    case 2: put16(g, rvgen_c_ci(2, 1, rd, imm), "c.li"); break;
    case 3: put16(g, rvgen_c_ci(3, 1, rd, nz), "c.lui"); break;
    case 4: put16(g, c_cr(false, rd, pool_reg(g)), "c.mv"); break;
    case 5: put16(g, c_cr(true, rd, pool_reg(g)), "c.add"); break;
    case 6: {
        static const char *const names[] = {"c.sub", "c.xor", "c.or", "c.and"};
        unsigned f2 = below(g, 4);
        put16(g, c_ca(0x23, cd, f2, c_src(g)), names[f2]);
        break;
    }
    case 7: {
        bool addw = chance(g, 50);
        put16(g, c_ca(0x27, cd, addw, c_src(g)), addw ? "c.addw" : "c.subw");
        break;
    }
    case 8: put16(g, rvgen_c_ci(0, 2, rd, sh), "c.slli"); break;
    case 9: put16(g, c_cb_alu(0, cd, sh), "c.srli"); break;
    case 10: put16(g, c_cb_alu(1, cd, sh), "c.srai"); break;
    default:
        if (chance(g, 80))
            put16(g, c_cb_alu(2, cd, imm), "c.andi");
        else
            put16(g, 0x0001, "c.nop");
        break;
    }
}

/* --- memory addresses ---------------------------------------------------------------- */

struct addr {
    unsigned base;
    int32_t imm;
};

struct base_reg {
    unsigned reg;
    uint64_t value;
};

/* Bases reaching data pages 0..3 only, with any 12-bit immediate. */
static const struct base_reg plain_bases[] = {{SP, BASE_SP}, {S0, BASE_S0}, {S1, BASE_S1}};

/* An immediate for base making the address's alignment what is wanted. */
static int32_t align_imm(int32_t imm, uint64_t base, unsigned size, bool aligned)
{
    uint64_t a = base + (uint64_t)(int64_t)imm;
    int32_t fix = aligned ? -(int32_t)(a & (size - 1)) : ((a & (size - 1)) ? 0 : 1);
    return imm + fix;
}

/* Somewhere in data pages 0..3, aligned or deliberately not. */
static struct addr plain_addr(struct gen *g, unsigned size, bool aligned)
{
    const struct base_reg *b = &plain_bases[below(g, COUNT(plain_bases))];
    int32_t imm = (int32_t)below(g, 4096 - 16) - 2040;
    return (struct addr){b->reg, align_imm(imm, b->value, size, aligned)};
}

/* Straddling a boundary between two of data pages 0..3. */
static struct addr crossing_addr(struct gen *g, unsigned size)
{
    static const struct {
        unsigned reg;
        int32_t to_boundary;
    } edges[] = {{SP, 0x800}, {S0, 0x800}, {S1, 3}};
    unsigned k = below(g, COUNT(edges));
    int32_t back = 1 + (int32_t)below(g, size - 1);
    return (struct addr){edges[k].reg, edges[k].to_boundary - back};
}

/* In the lazily mapped page, from below (gp) or above (tp); sometimes straddling
   into it from data page 3. */
static struct addr lazy_addr(struct gen *g, unsigned size, bool aligned)
{
    if (!aligned && size > 1 && chance(g, 30))
        return (struct addr){GP, -1 - (int32_t)below(g, size - 1)};
    if (chance(g, 50)) {
        int32_t imm = (int32_t)below(g, 2040);
        return (struct addr){GP, align_imm(imm, BASE_GP, size, aligned)};
    }
    int32_t imm = -8 - (int32_t)below(g, 2032);
    return (struct addr){TP, align_imm(imm, BASE_TP, size, aligned)};
}

static struct addr vs_hole_addr(struct gen *g, unsigned size, bool aligned)
{
    int32_t imm = (int32_t)below(g, 2040);
    return (struct addr){TP, align_imm(imm, BASE_TP, size, aligned)};
}

static const char *const load_names[] = {"lb", "lh", "lw", "ld", "lbu", "lhu", "lwu"};
static const char *const store_names[] = {"sb", "sh", "sw", "sd"};

static void emit_load(struct gen *g, unsigned f3, unsigned rd, struct addr a)
{
    put32(g, rvgen_i(OPC_LOAD, rd, f3, a.base, a.imm), load_names[f3]);
}

static void emit_store(struct gen *g, unsigned f3, unsigned rs2, struct addr a)
{
    put32(g, rvgen_s(OPC_STORE, f3, a.base, rs2, a.imm), store_names[f3]);
}

static void emit_fp_load(struct gen *g, bool d, unsigned fd, struct addr a)
{
    put32(g, rvgen_i(OPC_LOAD_FP, fd, d ? 3 : 2, a.base, a.imm), d ? "fld" : "flw");
}

static void emit_fp_store(struct gen *g, bool d, unsigned fs, struct addr a)
{
    put32(g, rvgen_s(OPC_STORE_FP, d ? 3 : 2, a.base, fs, a.imm), d ? "fsd" : "fsw");
}

/* One integer or FP load or store of a random width at an address from `where`. */
static void emit_access(struct gen *g, struct addr (*where)(struct gen *, unsigned, bool),
                        bool aligned)
{
    unsigned kind = below(g, 10);
    if (kind < 4) {
        unsigned f3 = below(g, 7);
        emit_load(g, f3, dst(g), where(g, 1u << (f3 & 3), aligned));
    } else if (kind < 8) {
        unsigned f3 = below(g, 4);
        emit_store(g, f3, src(g), where(g, 1u << f3, aligned));
    } else {
        bool d = chance(g, 50);
        if (kind == 8)
            emit_fp_load(g, d, below(g, 32), where(g, d ? 8 : 4, aligned));
        else
            emit_fp_store(g, d, below(g, 32), where(g, d ? 8 : 4, aligned));
    }
}

static void item_load(struct gen *g)
{
    unsigned f3 = below(g, 7);
    emit_load(g, f3, dst(g), plain_addr(g, 1u << (f3 & 3), true));
}

static void item_store(struct gen *g)
{
    unsigned f3 = below(g, 4);
    emit_store(g, f3, src(g), plain_addr(g, 1u << f3, true));
}

static struct addr misaligned_addr(struct gen *g, unsigned size, bool aligned)
{
    (void)aligned;
    return plain_addr(g, size < 2 ? 2 : size, false);
}

static void item_misaligned(struct gen *g)
{
    emit_access(g, misaligned_addr, false);
}

static struct addr crossing_any(struct gen *g, unsigned size, bool aligned)
{
    (void)aligned;
    return crossing_addr(g, size < 2 ? 2 : size);
}

static void item_page_cross(struct gen *g)
{
    emit_access(g, crossing_any, false);
}

static void item_c_mem(struct gen *g)
{
    unsigned base = chance(g, 50) ? S0 : S1;
    switch (below(g, 8)) {
    case 0: put16(g, rvgen_c_lw(false, c_dst(g), base, 4 * below(g, 32)), "c.lw"); break;
    case 1: put16(g, rvgen_c_lw(true, c_dst(g), base, 8 * below(g, 32)), "c.ld"); break;
    case 2: put16(g, rvgen_c_sw(false, base, c_src(g), 4 * below(g, 32)), "c.sw"); break;
    case 3: put16(g, rvgen_c_sw(true, base, c_src(g), 8 * below(g, 32)), "c.sd"); break;
    case 4: put16(g, rvgen_c_lwsp(false, pool_reg(g), 4 * below(g, 64)), "c.lwsp"); break;
    case 5: put16(g, rvgen_c_lwsp(true, pool_reg(g), 8 * below(g, 64)), "c.ldsp"); break;
    case 6: put16(g, rvgen_c_swsp(false, src(g), 4 * below(g, 64)), "c.swsp"); break;
    default: put16(g, rvgen_c_swsp(true, src(g), 8 * below(g, 64)), "c.sdsp"); break;
    }
}

/* --- atomics ---------------------------------------------------------------------------- */

static const struct {
    const char *name[2]; /* .w, .d */
    uint8_t f5;
} amo_ops[] = {
    {{"amoadd.w", "amoadd.d"}, 0x00},   {{"amoswap.w", "amoswap.d"}, 0x01},
    {{"amoxor.w", "amoxor.d"}, 0x04},   {{"amoor.w", "amoor.d"}, 0x08},
    {{"amoand.w", "amoand.d"}, 0x0c},   {{"amomin.w", "amomin.d"}, 0x10},
    {{"amomax.w", "amomax.d"}, 0x14},   {{"amominu.w", "amominu.d"}, 0x18},
    {{"amomaxu.w", "amomaxu.d"}, 0x1c},
};

static uint32_t amo(unsigned f5, bool d, unsigned rd, unsigned rs1, unsigned rs2, unsigned aqrl)
{
    return rvgen_r(OPC_AMO, rd, d ? 3 : 2, rs1, rs2, f5 << 2 | aqrl);
}

/* addr = base + imm in a pool register (AMOs have no offset). */
static void emit_address(struct gen *g, unsigned rd, struct addr a)
{
    put32(g, rvgen_i(OPC_OP_IMM, rd, 0, a.base, a.imm), "addi");
}

static void emit_amo_at(struct gen *g, unsigned ra, bool d)
{
    unsigned k = below(g, COUNT(amo_ops));
    unsigned rd = dst(g);
    put32(g, amo(amo_ops[k].f5, d, rd, ra, src(g), below(g, 4)), amo_ops[k].name[d]);
}

static void item_amo(struct gen *g)
{
    bool d = chance(g, 50);
    unsigned ra = pool_reg(g);
    emit_address(g, ra, plain_addr(g, d ? 8 : 4, true));
    emit_amo_at(g, ra, d);
}

static void emit_lr(struct gen *g, unsigned rd, unsigned ra, bool d)
{
    put32(g, amo(0x02, d, rd, ra, 0, below(g, 4)), d ? "lr.d" : "lr.w");
}

static void emit_sc(struct gen *g, unsigned rd, unsigned ra, bool d)
{
    put32(g, amo(0x03, d, rd, ra, src(g), below(g, 4)), d ? "sc.d" : "sc.w");
}

/* LR ... SC: usually succeeding; sometimes with a store to the reserved word, an
   exit, an SC elsewhere or an SC without LR in between. */
static void item_lr_sc(struct gen *g)
{
    bool d = chance(g, 50);
    unsigned ra, rd, other;
    do /* the address lives across an ecall, which the hypervisor answers in a0/a1 */
        distinct_pool(g, &ra, &rd, &other);
    while (ra == A0 || ra == A0 + 1);
    emit_address(g, ra, plain_addr(g, d ? 8 : 4, true));
    unsigned variant = below(g, 10);
    if (variant != 9)
        emit_lr(g, rd, ra, d);
    if (variant < 5) {
        for (unsigned i = below(g, 3); i > 0; i--)
            put32(g, rvgen_i(OPC_OP_IMM, other, 0, src(g), imm12(g)), "addi");
    } else if (variant == 5) {
        emit_store(g, d ? 3 : 2, src(g), (struct addr){ra, 0});
    } else if (variant == 6 && g->exits + g->mult <= EXIT_BUDGET) {
        g->exits += g->mult;
        put32(g, 0x00000073, "ecall");
    } else if (variant == 7) {
        put32(g, rvgen_i(OPC_OP_IMM, ra, 0, ra, d ? 8 : 4), "addi");
    }
    emit_sc(g, rd, ra, d);
}

static void item_amo_misaligned(struct gen *g)
{
    bool d = chance(g, 50);
    unsigned ra = pool_reg(g);
    emit_address(g, ra, plain_addr(g, d ? 8 : 4, false));
    unsigned k = below(g, 3);
    if (k == 0)
        emit_lr(g, dst(g), ra, d);
    else if (k == 1)
        emit_sc(g, dst(g), ra, d);
    else
        emit_amo_at(g, ra, d);
}

/* --- floating point ----------------------------------------------------------------------- */

static unsigned fpr(struct gen *g)
{
    return below(g, 32);
}

/* A rounding-mode field: static modes and dynamic (frm) often. */
static unsigned rm(struct gen *g)
{
    return chance(g, 40) ? 7 : below(g, 5);
}

static void item_fp_mem(struct gen *g)
{
    bool d = chance(g, 50);
    unsigned size = d ? 8 : 4;
    switch (below(g, 6)) {
    case 0: emit_fp_load(g, d, fpr(g), plain_addr(g, size, !chance(g, 20))); break;
    case 1: emit_fp_store(g, d, fpr(g), plain_addr(g, size, !chance(g, 20))); break;
    case 2:
        put16(g, c_mem(1, true, chance(g, 50) ? S0 : S1, 8 + below(g, 8), 8 * below(g, 32)),
              "c.fld");
        break;
    case 3:
        put16(g, c_mem(5, true, chance(g, 50) ? S0 : S1, 8 + below(g, 8), 8 * below(g, 32)),
              "c.fsd");
        break;
    case 4: put16(g, c_lsp(1, true, fpr(g), 8 * below(g, 64)), "c.fldsp"); break;
    default: put16(g, c_ssp(5, true, fpr(g), 8 * below(g, 64)), "c.fsdsp"); break;
    }
}

static uint32_t fp_op(unsigned f5, bool d, unsigned rd, unsigned rm_, unsigned rs1, unsigned rs2)
{
    return rvgen_r(OPC_OP_FP, rd, rm_, rs1, rs2, f5 << 2 | (d ? 1u : 0u));
}

static void emit_fp_arith(struct gen *g, unsigned rm_)
{
    static const char *const names[5][2] = {
        {"fadd.s", "fadd.d"}, {"fsub.s", "fsub.d"},   {"fmul.s", "fmul.d"},
        {"fdiv.s", "fdiv.d"}, {"fsqrt.s", "fsqrt.d"},
    };
    bool d = chance(g, 50);
    unsigned k = below(g, 5);
    if (k == 4)
        put32(g, fp_op(0x0b, d, fpr(g), rm_, fpr(g), 0), names[k][d]);
    else
        put32(g, fp_op(k, d, fpr(g), rm_, fpr(g), fpr(g)), names[k][d]);
}

static void item_fp_arith(struct gen *g)
{
    emit_fp_arith(g, rm(g));
}

static void item_fp_fma(struct gen *g)
{
    static const char *const names[4][2] = {
        {"fmadd.s", "fmadd.d"},
        {"fmsub.s", "fmsub.d"},
        {"fnmsub.s", "fnmsub.d"},
        {"fnmadd.s", "fnmadd.d"},
    };
    bool d = chance(g, 50);
    unsigned k = below(g, 4);
    put32(g, rvgen_r4(OPC_MADD + 4 * k, fpr(g), rm(g), fpr(g), fpr(g), d, fpr(g)), names[k][d]);
}

static void item_fp_sgnj_minmax(struct gen *g)
{
    static const char *const names[5][2] = {
        {"fsgnj.s", "fsgnj.d"}, {"fsgnjn.s", "fsgnjn.d"}, {"fsgnjx.s", "fsgnjx.d"},
        {"fmin.s", "fmin.d"},   {"fmax.s", "fmax.d"},
    };
    bool d = chance(g, 50);
    unsigned k = below(g, 5);
    unsigned f5 = k < 3 ? 0x04 : 0x05, f3 = k < 3 ? k : k - 3;
    put32(g, fp_op(f5, d, fpr(g), f3, fpr(g), fpr(g)), names[k][d]);
}

static void item_fp_cvt(struct gen *g)
{
    static const char *const to_int[4][2] = {
        {"fcvt.w.s", "fcvt.w.d"},
        {"fcvt.wu.s", "fcvt.wu.d"},
        {"fcvt.l.s", "fcvt.l.d"},
        {"fcvt.lu.s", "fcvt.lu.d"},
    };
    static const char *const from_int[4][2] = {
        {"fcvt.s.w", "fcvt.d.w"},
        {"fcvt.s.wu", "fcvt.d.wu"},
        {"fcvt.s.l", "fcvt.d.l"},
        {"fcvt.s.lu", "fcvt.d.lu"},
    };
    bool d = chance(g, 50);
    unsigned k = below(g, 4);
    switch (below(g, 3)) {
    case 0: put32(g, fp_op(0x18, d, dst(g), rm(g), fpr(g), k), to_int[k][d]); break;
    case 1: put32(g, fp_op(0x1a, d, fpr(g), rm(g), src(g), k), from_int[k][d]); break;
    default:
        /* fcvt.s.d (fmt S, rs2 = 1) or fcvt.d.s (fmt D, rs2 = 0) */
        put32(g, fp_op(0x08, d, fpr(g), rm(g), fpr(g), d ? 0 : 1), d ? "fcvt.d.s" : "fcvt.s.d");
        break;
    }
}

static void item_fp_mv(struct gen *g)
{
    bool d = chance(g, 50);
    switch (below(g, 3)) {
    case 0: put32(g, fp_op(0x1c, d, dst(g), 0, fpr(g), 0), d ? "fmv.x.d" : "fmv.x.w"); break;
    case 1: put32(g, fp_op(0x1e, d, fpr(g), 0, src(g), 0), d ? "fmv.d.x" : "fmv.w.x"); break;
    default: {
        /* an FP edge value by way of an integer register */
        unsigned r = pool_reg(g);
        li(g, r, fp_value(g));
        put32(g, fp_op(0x1e, true, fpr(g), 0, r, 0), "fmv.d.x");
        break;
    }
    }
}

static void item_fp_cmp(struct gen *g)
{
    static const char *const names[3][2] = {
        {"fle.s", "fle.d"},
        {"flt.s", "flt.d"},
        {"feq.s", "feq.d"},
    };
    bool d = chance(g, 50);
    unsigned k = below(g, 3);
    put32(g, fp_op(0x14, d, dst(g), k, fpr(g), fpr(g)), names[k][d]);
}

static void item_fp_class(struct gen *g)
{
    bool d = chance(g, 50);
    put32(g, fp_op(0x1c, d, dst(g), 1, fpr(g), 0), d ? "fclass.d" : "fclass.s");
}

static void item_fp_bad_rm(struct gen *g)
{
    emit_fp_arith(g, 5 + below(g, 2));
}

/* --- CSRs and system ------------------------------------------------------------------ */

enum { CSR_FFLAGS = 0x001, CSR_FRM = 0x002, CSR_FCSR = 0x003, CSR_SSTATUS = 0x100 };

static void emit_csr(struct gen *g, unsigned f3, unsigned rd, unsigned csr, unsigned rs1,
                     const char *name)
{
    put32(g, rvgen_i(OPC_SYSTEM, rd, f3, rs1, (int32_t)csr), name);
}

static void item_frm_write(struct gen *g)
{
    unsigned mode = chance(g, 85) ? below(g, 5) : 5 + below(g, 3); /* 5..7 reserved */
    switch (below(g, 5)) {
    case 0: emit_csr(g, 5, dst(g), CSR_FRM, mode, "csrrwi frm"); break;
    case 1: emit_csr(g, 1, dst(g), CSR_FCSR, src(g), "csrrw fcsr"); break;
    case 2: emit_csr(g, 6, dst(g), CSR_FFLAGS, below(g, 32), "csrrsi fflags"); break;
    case 3: emit_csr(g, 7, dst(g), CSR_FFLAGS, below(g, 32), "csrrci fflags"); break;
    default: emit_csr(g, 1, dst(g), CSR_FFLAGS, src(g), "csrrw fflags"); break;
    }
}

static void item_fcsr_read(struct gen *g)
{
    static const struct {
        unsigned csr;
        const char *name;
    } csrs[] = {{CSR_FFLAGS, "csrr fflags"}, {CSR_FRM, "csrr frm"}, {CSR_FCSR, "csrr fcsr"}};
    unsigned k = below(g, COUNT(csrs));
    emit_csr(g, 2, dst(g), csrs[k].csr, X0, csrs[k].name);
}

static void item_instret(struct gen *g)
{
    if (chance(g, 70))
        emit_csr(g, 2, dst(g), 0xc02, X0, "csrr instret");
    else
        emit_csr(g, 6, dst(g), 0xc02, 0, "csrrsi instret,0");
}

static void item_csr_super(struct gen *g)
{
    static const struct {
        unsigned csr;
        const char *name;
    } csrs[] = {
        {0x100, "csrr sstatus"},    {0x104, "csrr sie"},      {0x105, "csrr stvec"},
        {0x106, "csrr scounteren"}, {0x140, "csrr sscratch"}, {0x141, "csrr sepc"},
        {0x142, "csrr scause"},     {0x143, "csrr stval"},    {0x180, "csrr satp"},
    };
    unsigned k = below(g, COUNT(csrs));
    emit_csr(g, 2, dst(g), csrs[k].csr, X0, csrs[k].name);
}

/* Each traps as an illegal instruction into the guest's handler. */
static void item_illegal(struct gen *g)
{
    switch (below(g, 12)) {
    case 0: put16(g, 0x0000, "c.unimp"); break;
    case 1: put32(g, 0xffffffffu, "illegal"); break;
    case 2:
        put32(g, rvgen_r(OPC_CUSTOM0, dst(g), below(g, 8), src(g), src(g), 0), "custom-0");
        break;
    case 3: put32(g, 0x30200073u, "mret"); break;
    case 4: emit_csr(g, 2, dst(g), 0x300, X0, "csrr mstatus"); break;
    case 5: emit_csr(g, 1, X0, 0xc02, src(g), "csrw instret"); break;
    case 6: emit_csr(g, 2, dst(g), 0x123, X0, "csrr 0x123"); break;
    case 7: put32(g, rvgen_r(OPC_OP, dst(g), 1, src(g), src(g), 0x7e), "op funct7=0x7e"); break;
    case 8: put32(g, rvgen_i(OPC_JALR, dst(g), 2, src(g), 0), "jalr funct3=2"); break;
    case 9: put32(g, rvgen_r(OPC_AMO, dst(g), 2, SP, src(g), 0x0a << 2), "amo funct5=0x0a"); break;
    case 10: put16(g, 0x6101, "c.addi16sp 0"); break;
    default: put32(g, rvgen_i(OPC_LOAD_FP, fpr(g), 4, SP, 0), "flq"); break;
    }
}

static void item_ebreak(struct gen *g)
{
    if (chance(g, 50))
        put32(g, 0x00100073u, "ebreak");
    else
        put16(g, 0x9002, "c.ebreak");
}

static void item_ecall(struct gen *g)
{
    put32(g, 0x00000073u, "ecall");
}

/* Each is a virtual-instruction exit (22) with hustatus.VTW = 1 and hucounteren = instret. */
static void item_virtual(struct gen *g)
{
    switch (below(g, 6)) {
    case 0: put32(g, 0x10500073u, "wfi"); break;
    case 1: emit_csr(g, 2, dst(g), 0xc00, X0, "csrr cycle"); break;
    case 2: emit_csr(g, 2, dst(g), 0xc01, X0, "csrr time"); break;
    case 3: emit_csr(g, 2, dst(g), 0x600, X0, "csrr hstatus"); break;
    case 4: put32(g, 0x22000073u, "hfence.vvma"); break;
    default: put32(g, rvgen_r(OPC_SYSTEM, dst(g), 4, SP, 0, 0x36), "hlv.d"); break;
    }
}

static void item_lazy(struct gen *g)
{
    if (chance(g, 25)) {
        bool d = chance(g, 50);
        unsigned ra = pool_reg(g);
        emit_address(g, ra, lazy_addr(g, d ? 8 : 4, true));
        emit_amo_at(g, ra, d);
    } else {
        emit_access(g, lazy_addr, !chance(g, 25));
    }
}

/* An access to the never-mapped page at RVGEN_MMIO: always an exit. */
static void item_mmio(struct gen *g)
{
    unsigned ra = chance(g, 40) ? c_dst(g) : pool_reg(g);
    put32(g, rvgen_u(OPC_LUI, ra, RVGEN_MMIO >> 12), "lui");
    struct addr a = {ra, 8 * (int32_t)below(g, 255)};
    bool compressed = ra >= 8 && ra < 16, d = chance(g, 50);
    unsigned coff = 8 * below(g, 16);
    switch (below(g, 6)) {
    case 0: emit_load(g, below(g, 7), dst(g), a); break;
    case 1: emit_store(g, below(g, 4), src(g), a); break;
    case 2:
        if (compressed)
            put16(g, rvgen_c_lw(d, c_dst(g), ra, coff), d ? "c.ld" : "c.lw");
        else
            emit_load(g, d ? 3 : 2, dst(g), a);
        break;
    case 3:
        if (compressed)
            put16(g, rvgen_c_sw(d, ra, c_src(g), coff), d ? "c.sd" : "c.sw");
        else
            emit_store(g, d ? 3 : 2, src(g), a);
        break;
    case 4: emit_fp_load(g, d, fpr(g), a); break;
    default: emit_amo_at(g, ra, d); break;
    }
}

static void item_vs_fault(struct gen *g)
{
    emit_access(g, vs_hole_addr, !chance(g, 20));
}

static void item_fence(struct gen *g)
{
    switch (below(g, 5)) {
    case 0: put32(g, 0x0ff0000fu, "fence"); break;
    case 1: put32(g, 0x0330000fu, "fence rw,rw"); break;
    case 2: put32(g, 0x8330000fu, "fence.tso"); break;
    case 3: put32(g, 0x0000100fu, "fence.i"); break;
    default: put32(g, rvgen_r(OPC_SYSTEM, X0, 0, src(g), src(g), 0x09), "sfence.vma"); break;
    }
}

/* --- composite items: the FS-off window, self-modifying code ------------------------ */

static void simple_item(struct gen *g, bool small_only);

/* A short ALU instruction for a slot another item rewrites. */
static uint32_t slot_word(struct gen *g, const char **name)
{
    static const struct {
        const char *name;
        uint8_t opcode, f3;
    } ops[] = {
        {"addi", OPC_OP_IMM, 0}, {"xori", OPC_OP_IMM, 4},     {"ori", OPC_OP_IMM, 6},
        {"andi", OPC_OP_IMM, 7}, {"addiw", OPC_OP_IMM_32, 0},
    };
    unsigned k = below(g, COUNT(ops));
    *name = ops[k].name;
    return rvgen_i(ops[k].opcode, pool_reg(g), ops[k].f3, src(g), imm12(g));
}

/* What a rewrite puts into a 4-byte slot: another ALU instruction, two
   compressed ones, or an ebreak (traps; the handler steps over 4 bytes). */
static uint32_t replacement_word(struct gen *g)
{
    const char *unused;
    switch (below(g, 6)) {
    case 0: return 0x00100073u;
    case 1:
        return (uint32_t)rvgen_c_ci(0, 1, pool_reg(g), 1 + (int32_t)below(g, 31)) |
               (uint32_t)rvgen_c_ci(2, 1, pool_reg(g), (int32_t)below(g, 64) - 32) << 16;
    default: return slot_word(g, &unused);
    }
}

/* The slot: one 4-byte instruction (sometimes a compressed pair). */
static uint64_t emit_slot(struct gen *g)
{
    uint64_t slot = g->pc;
    const char *name;
    if (chance(g, 20)) {
        put16(g, rvgen_c_ci(0, 1, pool_reg(g), 1 + (int32_t)below(g, 31)), "c.addi (slot)");
        put16(g, rvgen_c_ci(2, 1, pool_reg(g), (int32_t)below(g, 64) - 32), "c.li (slot)");
    } else {
        uint32_t w = slot_word(g, &name);
        put32(g, w, name);
    }
    return slot;
}

/* Store a new instruction over one a few instructions ahead, with or without
   fence.i, then run into it. */
static void item_smc_forward(struct gen *g, bool fence)
{
    unsigned val, base;
    distinct_pool(g, &val, &base, NULL);
    li(g, val, (uint64_t)(int64_t)(int32_t)replacement_word(g));
    uint64_t auipc = put32(g, rvgen_u(OPC_AUIPC, base, 0), "auipc");
    uint64_t store = put32(g, rvgen_s(OPC_STORE, 2, base, val, 0), "sw (smc)");
    if (fence)
        put32(g, 0x0000100fu, "fence.i");
    for (unsigned i = below(g, 3); i > 0; i--)
        simple_item(g, true);
    uint64_t slot = emit_slot(g);
    patch_s_imm(g, store, (int64_t)(slot - auipc));
}

/* The hypervisor patches the slot while handling the ecall (rvgen_program.patch). */
static void item_hv_patch(struct gen *g)
{
    struct rvgen_program *p = g->p;
    if (!p || p->npatches == RVGEN_MAX_PATCHES) {
        item_ecall(g);
        return;
    }
    uint64_t ecall = put32(g, 0x00000073u, "ecall (patch)");
    for (unsigned i = below(g, 3); i > 0; i--)
        simple_item(g, true);
    uint64_t slot = emit_slot(g);
    p->patch[p->npatches++] = (struct rvgen_patch){ecall, slot, replacement_word(g)};
}

/* FS off for a few FP instructions (each traps as illegal), then back on. */
static void item_fs_off(struct gen *g)
{
    static void (*const fp_items[])(struct gen *) = {item_fp_arith, item_fp_mv, item_fp_mem,
                                                     item_fcsr_read, item_fp_cvt};
    unsigned r = pool_reg(g);
    put32(g, rvgen_u(OPC_LUI, r, 6), "lui"); /* 0x6000: sstatus.FS */
    emit_csr(g, 3, X0, CSR_SSTATUS, r, "csrc sstatus");
    for (unsigned i = 1 + below(g, 3); i > 0; i--)
        fp_items[below(g, COUNT(fp_items))](g);
    emit_csr(g, 2, X0, CSR_SSTATUS, r, "csrs sstatus");
}

/* --- choosing a straight-line item ---------------------------------------------------- */

enum {
    F_EXIT = 1,      /* may exit to the hypervisor: limited by EXIT_BUDGET */
    F_COMPOSITE = 2, /* contains other items: not where only small items fit */
    F_SV39 = 4,      /* only meaningful under Sv39 */
};

struct item {
    enum rvgen_class cls;
    unsigned weight, flags;
    void (*emit)(struct gen *);
};

static void item_smc_fence(struct gen *g)
{
    item_smc_forward(g, true);
}

static void item_smc_nofence(struct gen *g)
{
    item_smc_forward(g, false);
}

static const struct item simple_items[] = {
    {RVGEN_CLASS_ALU_REG, 12, 0, item_alu_reg},
    {RVGEN_CLASS_ALU_IMM, 9, 0, item_alu_imm},
    {RVGEN_CLASS_SHIFT, 5, 0, item_shift},
    {RVGEN_CLASS_UPPER, 2, 0, item_upper},
    {RVGEN_CLASS_MUL, 3, 0, item_mul},
    {RVGEN_CLASS_DIV, 3, 0, item_div},
    {RVGEN_CLASS_DIV_EDGE, 2, 0, item_div_edge},
    {RVGEN_CLASS_ZBA, 3, 0, item_zba},
    {RVGEN_CLASS_ZBB, 5, 0, item_zbb},
    {RVGEN_CLASS_ZBS, 3, 0, item_zbs},
    {RVGEN_CLASS_LI_EDGE, 4, 0, item_li_edge},
    {RVGEN_CLASS_C_ALU, 6, 0, item_c_alu},
    {RVGEN_CLASS_LOAD, 7, 0, item_load},
    {RVGEN_CLASS_STORE, 6, 0, item_store},
    {RVGEN_CLASS_MISALIGNED, 2, 0, item_misaligned},
    {RVGEN_CLASS_PAGE_CROSS, 1, 0, item_page_cross},
    {RVGEN_CLASS_C_MEM, 4, 0, item_c_mem},
    {RVGEN_CLASS_AMO, 3, 0, item_amo},
    {RVGEN_CLASS_LR_SC, 2, 0, item_lr_sc},
    {RVGEN_CLASS_AMO_MISALIGNED, 1, 0, item_amo_misaligned},
    {RVGEN_CLASS_FP_MEM, 3, 0, item_fp_mem},
    {RVGEN_CLASS_FP_ARITH, 4, 0, item_fp_arith},
    {RVGEN_CLASS_FP_FMA, 2, 0, item_fp_fma},
    {RVGEN_CLASS_FP_SGNJ_MINMAX, 2, 0, item_fp_sgnj_minmax},
    {RVGEN_CLASS_FP_CVT, 3, 0, item_fp_cvt},
    {RVGEN_CLASS_FP_MV, 2, 0, item_fp_mv},
    {RVGEN_CLASS_FP_CMP, 2, 0, item_fp_cmp},
    {RVGEN_CLASS_FP_CLASS, 1, 0, item_fp_class},
    {RVGEN_CLASS_FP_BAD_RM, 1, 0, item_fp_bad_rm},
    {RVGEN_CLASS_FRM_WRITE, 1, 0, item_frm_write},
    {RVGEN_CLASS_FCSR_READ, 1, 0, item_fcsr_read},
    {RVGEN_CLASS_INSTRET, 1, 0, item_instret},
    {RVGEN_CLASS_CSR_SUPER, 1, 0, item_csr_super},
    {RVGEN_CLASS_ILLEGAL, 1, 0, item_illegal},
    {RVGEN_CLASS_EBREAK, 1, 0, item_ebreak},
    {RVGEN_CLASS_ECALL, 1, F_EXIT, item_ecall},
    {RVGEN_CLASS_VIRTUAL, 1, F_EXIT, item_virtual},
    {RVGEN_CLASS_LAZY, 2, F_EXIT, item_lazy},
    {RVGEN_CLASS_MMIO, 1, F_EXIT, item_mmio},
    {RVGEN_CLASS_VS_FAULT, 1, F_SV39, item_vs_fault},
    {RVGEN_CLASS_FENCE, 1, 0, item_fence},
    {RVGEN_CLASS_FS_OFF, 1, F_COMPOSITE, item_fs_off},
    {RVGEN_CLASS_SMC_FENCE, 1, F_COMPOSITE, item_smc_fence},
    {RVGEN_CLASS_SMC_NOFENCE, 1, F_COMPOSITE, item_smc_nofence},
    {RVGEN_CLASS_HV_PATCH, 1, F_COMPOSITE | F_EXIT, item_hv_patch},
};

static bool item_allowed(const struct gen *g, const struct item *it, bool small_only)
{
    if ((it->flags & F_COMPOSITE) && small_only)
        return false;
    if ((it->flags & F_EXIT) && g->exits + g->mult > EXIT_BUDGET)
        return false;
    if ((it->flags & F_SV39) && !(g->p && g->p->sv39))
        return false;
    return true;
}

static void simple_item(struct gen *g, bool small_only)
{
    unsigned total = 0;
    for (size_t i = 0; i < COUNT(simple_items); i++)
        if (item_allowed(g, &simple_items[i], small_only))
            total += simple_items[i].weight;
    unsigned r = below(g, total);
    for (size_t i = 0; i < COUNT(simple_items); i++) {
        const struct item *it = &simple_items[i];
        if (!item_allowed(g, it, small_only))
            continue;
        if (r < it->weight) {
            if (it->flags & F_EXIT)
                g->exits += g->mult;
            count(g, it->cls);
            it->emit(g);
            return;
        }
        r -= it->weight;
    }
}

/* --- control flow ----------------------------------------------------------------------- */

static void body_item(struct gen *g);

static bool budget_left(const struct gen *g)
{
    return g->insns < g->target && g->pc < CODE_SOFT_END;
}

/* Forward conditional branch over a few straight-line items. */
static void item_branch(struct gen *g)
{
    static const unsigned f3s[] = {0, 1, 4, 5, 6, 7};
    static const char *const names[] = {"beq", "bne", "blt", "bge", "bltu", "bgeu"};
    unsigned rs1 = src(g), rs2 = chance(g, 15) ? rs1 : src(g), k = below(g, COUNT(f3s));
    uint64_t b = put32(g, rvgen_b(f3s[k], rs1, rs2, 0), names[k]);
    for (unsigned i = 1 + below(g, 5); i > 0; i--)
        simple_item(g, false);
    patch_branch(g, b, g->pc);
}

/* c.beqz/c.bnez: a 256-byte reach, so only small items inside. */
static void item_c_branch(struct gen *g)
{
    bool bnez = chance(g, 50);
    uint64_t b = put16(g, rvgen_c_beqz(bnez, c_src(g), 0), bnez ? "c.bnez" : "c.beqz");
    for (unsigned i = 1 + below(g, 2); i > 0; i--)
        simple_item(g, true);
    patch_c_branch(g, b, g->pc);
}

/* jal/c.j over dead code: what it skips never runs (and may be anything). */
static void item_jal(struct gen *g)
{
    bool compressed = chance(g, 40);
    uint64_t j = compressed ? put16(g, rvgen_c_j(0), "c.j")
                            : put32(g, rvgen_j(chance(g, 50) ? X0 : pool_reg(g), 0), "jal");
    uint64_t saved = g->mult;
    g->mult = 0; /* dead code */
    for (unsigned i = 1 + below(g, 2); i > 0; i--) {
        if (chance(g, 20))
            put32(g, (uint32_t)rnd(g) | 3, "(dead)");
        else
            simple_item(g, true);
    }
    g->mult = saved;
    if (compressed)
        patch_c_j(g, j, g->pc);
    else
        patch_jal(g, j, g->pc);
}

/* A forward jump to be patched once the target is known: jal x0 or c.j. */
struct fwd_jump {
    uint64_t at;
    bool compressed;
};

static struct fwd_jump jump_ahead(struct gen *g)
{
    bool compressed = chance(g, 40);
    uint64_t at = compressed ? put16(g, rvgen_c_j(0), "c.j") : put32(g, rvgen_j(X0, 0), "j");
    return (struct fwd_jump){at, compressed};
}

static void land(struct gen *g, struct fwd_jump j)
{
    if (j.compressed)
        patch_c_j(g, j.at, g->pc);
    else
        patch_jal(g, j.at, g->pc);
}

static void emit_return(struct gen *g)
{
    if (chance(g, 50))
        put16(g, c_cr(false, RA, 0), "c.jr ra");
    else
        put32(g, rvgen_i(OPC_JALR, X0, 0, RA, 0), "ret");
}

/* Items of a function body or a switch case: no calls, no loops. */
static void leaf_items(struct gen *g, unsigned n)
{
    static const struct {
        enum rvgen_class cls;
        void (*emit)(struct gen *);
    } control[] = {{RVGEN_CLASS_BRANCH, item_branch},
                   {RVGEN_CLASS_C_BRANCH, item_c_branch},
                   {RVGEN_CLASS_JAL, item_jal}};
    for (unsigned i = 0; i < n; i++) {
        if (chance(g, 15)) {
            unsigned k = below(g, COUNT(control));
            count(g, control[k].cls);
            control[k].emit(g);
        } else {
            simple_item(g, false);
        }
    }
}

/* A call site: jal ra, or auipc + jalr ra, or auipc + addi + c.jalr. */
struct call_site {
    uint64_t at, auipc;
    unsigned kind;
};

static struct call_site emit_call(struct gen *g)
{
    struct call_site c = {.kind = below(g, 3)};
    unsigned t = pool_reg(g);
    if (c.kind == 0) {
        c.at = put32(g, rvgen_j(RA, 0), "jal ra");
        return c;
    }
    c.auipc = put32(g, rvgen_u(OPC_AUIPC, t, 0), "auipc");
    if (c.kind == 1) {
        c.at = put32(g, rvgen_i(OPC_JALR, RA, 0, t, 0), "jalr ra");
    } else {
        c.at = put32(g, rvgen_i(OPC_OP_IMM, t, 0, t, 0), "addi");
        put16(g, c_cr(true, t, 0), "c.jalr");
    }
    return c;
}

static void patch_call(struct gen *g, struct call_site c, uint64_t target)
{
    if (c.kind == 0)
        patch_jal(g, c.at, target);
    else
        patch_i_imm(g, c.at, (int64_t)(target - c.auipc));
}

/* One or two calls of a function placed right behind them. */
static void item_call(struct gen *g)
{
    struct call_site sites[2];
    unsigned nsites = 1 + below(g, 2);
    for (unsigned i = 0; i < nsites; i++) {
        sites[i] = emit_call(g);
        if (i + 1 < nsites)
            for (unsigned k = below(g, 3); k > 0; k--)
                simple_item(g, true);
    }
    struct fwd_jump over = jump_ahead(g);
    uint64_t function = g->pc;
    uint64_t saved = g->mult;
    g->mult *= nsites;
    g->in_function = true;
    leaf_items(g, 1 + below(g, 5));
    emit_return(g);
    g->in_function = false;
    g->mult = saved;
    land(g, over);
    for (unsigned i = 0; i < nsites; i++)
        patch_call(g, sites[i], function);
}

/* A four-way switch: jalr through an inline table of absolute addresses; as a
   call (cases return) when ra is free. */
static void item_jump_table(struct gen *g)
{
    bool as_call = !g->in_function && chance(g, 40);
    unsigned index, addr;
    distinct_pool(g, &index, &addr, NULL);
    uint64_t auipc = put32(g, rvgen_u(OPC_AUIPC, addr, 0), "auipc");
    put32(g, rvgen_i(OPC_OP_IMM, index, 7, src(g), 3), "andi");
    put32(g, rvgen_i(OPC_OP_IMM, index, 1, index, 3), "slli");
    put32(g, rvgen_r(OPC_OP, addr, 0, addr, index, 0), "add");
    uint64_t load = put32(g, rvgen_i(OPC_LOAD, addr, 3, addr, 0), "ld");
    put32(g, rvgen_i(OPC_JALR, as_call ? RA : X0, 0, addr, 0), as_call ? "jalr ra" : "jr");
    struct fwd_jump over = {0, false};
    if (as_call)
        over = jump_ahead(g);
    while (g->pc & 7) {
        static const uint16_t pad = 0;
        put_data(g, &pad, 2);
    }
    uint64_t table = g->pc;
    uint64_t zero[4] = {0};
    put_data(g, zero, sizeof zero);
    patch_i_imm(g, load, (int64_t)(table - auipc));

    struct fwd_jump ends[4];
    unsigned nends = 0;
    bool was_in_function = g->in_function;
    g->in_function = was_in_function || as_call;
    for (unsigned k = 0; k < 4; k++) {
        uint64_t entry = g->pc;
        memcpy(at(g, table + 8 * k, 8), &entry, 8);
        leaf_items(g, 1 + below(g, 3));
        if (as_call)
            emit_return(g);
        else if (k < 3)
            ends[nends++] = jump_ahead(g);
    }
    g->in_function = was_in_function;
    for (unsigned i = 0; i < nends; i++)
        land(g, ends[i]);
    if (as_call)
        land(g, over);
}

/* Rewrite a slot at the top of this loop's body: the loop runs the new instruction from
   the next iteration on, after the engine has already run (or translated) the old one. */
static void emit_smc_back(struct gen *g, uint64_t slot, unsigned counter, bool fence)
{
    unsigned val, tmp, base;
    distinct_pool(g, &val, &tmp, &base);
    const char *unused;
    uint32_t word = slot_word(g, &unused) & 0x000fffffu; /* immediate from the counter */
    uint64_t start = g->pc;
    if ((int64_t)(slot - (start + 20)) < -2048)
        return; /* out of reach of one sw */
    count(g, RVGEN_CLASS_SMC_LOOP);
    put32(g, rvgen_i(OPC_OP_IMM, val, 1, counter, 20), "slli");
    li(g, tmp, word);
    put32(g, rvgen_r(OPC_OP, val, 6, val, tmp, 0), "or");
    uint64_t auipc = put32(g, rvgen_u(OPC_AUIPC, base, 0), "auipc");
    uint64_t store = put32(g, rvgen_s(OPC_STORE, 2, base, val, 0), "sw (smc)");
    patch_s_imm(g, store, (int64_t)(slot - auipc));
    if (fence)
        put32(g, 0x0000100fu, "fence.i");
}

/* The loop's back edge: bne/blt/bltu when in reach, else beqz over a jal. */
static void emit_back_edge(struct gen *g, unsigned counter, uint64_t top)
{
    put32(g, rvgen_i(OPC_OP_IMM, counter, 0, counter, -1), "addi (counter)");
    int64_t d = (int64_t)(top - g->pc);
    if (d >= -4096) {
        static const struct {
            unsigned f3, rs1, rs2;
            const char *name;
        } forms[] = {{1, 0, 1, "bnez"}, {4, 1, 0, "bgtz"}, {6, 1, 0, "bltu x0"}};
        unsigned k = below(g, COUNT(forms));
        unsigned rs1 = forms[k].rs1 ? X0 : counter, rs2 = forms[k].rs2 ? X0 : counter;
        put32(g, rvgen_b(forms[k].f3, rs1, rs2, (int32_t)d), forms[k].name);
    } else {
        put32(g, rvgen_b(0, counter, X0, 8), "beqz");
        put32(g, rvgen_j(X0, (int32_t)(top - g->pc)), "j (loop)");
    }
}

/* A counted loop; s11 counts the outer level, s10 the inner. */
static void item_loop(struct gen *g)
{
    unsigned counter = g->depth == 0 ? S11 : S10;
    unsigned trips = 2 + below(g, g->depth == 0 ? OUTER_TRIPS_MAX - 1 : INNER_TRIPS_MAX - 1);
    put32(g, rvgen_i(OPC_OP_IMM, counter, 0, X0, (int32_t)trips), "li (counter)");
    uint64_t top = g->pc, saved = g->mult;
    g->mult *= trips;
    g->depth++;
    bool smc = chance(g, 20);
    uint64_t slot = smc ? emit_slot(g) : 0;
    for (unsigned i = 1 + below(g, g->depth == 1 ? 12 : 6); i > 0 && budget_left(g); i--)
        body_item(g);
    if (smc)
        emit_smc_back(g, slot, counter, chance(g, 50));
    emit_back_edge(g, counter, top);
    g->depth--;
    g->mult = saved;
}

/* Anything: straight-line items, branches, calls, switches, loops. */
static void body_item(struct gen *g)
{
    unsigned r = below(g, 100);
    if (r < 60) {
        simple_item(g, false);
    } else if (r < 70) {
        count(g, RVGEN_CLASS_BRANCH);
        item_branch(g);
    } else if (r < 74) {
        count(g, RVGEN_CLASS_C_BRANCH);
        item_c_branch(g);
    } else if (r < 78) {
        count(g, RVGEN_CLASS_JAL);
        item_jal(g);
    } else if (r < 84 && !g->in_function) {
        count(g, RVGEN_CLASS_CALL);
        item_call(g);
    } else if (r < 88) {
        count(g, RVGEN_CLASS_JUMP_TABLE);
        item_jump_table(g);
    } else if (g->depth < MAX_DEPTH && !g->in_function) {
        count(g, g->depth == 0 ? RVGEN_CLASS_LOOP : RVGEN_CLASS_LOOP_NESTED);
        item_loop(g);
    } else {
        simple_item(g, false);
    }
}

/* --- the fixed parts: handler, page tables, registers ---------------------------------- */

/*
 * The guest's trap handler (vstvec): counts traps in sscratch, ORs 1 << scause
 * into the word at RVGEN_HDATA, steps sepc over the trapping instruction (2 or
 * 4 bytes, from its low bits) and returns. Uses only t5 and t6.
 */
static void emit_handler(struct gen *g)
{
    g->pc = RVGEN_HANDLER;
    emit_csr(g, 2, T6, 0x140, X0, "csrr t6,sscratch");
    put32(g, rvgen_i(OPC_OP_IMM, T6, 0, T6, 1), "addi");
    emit_csr(g, 1, X0, 0x140, T6, "csrw sscratch,t6");
    emit_csr(g, 2, T6, 0x142, X0, "csrr t6,scause");
    put32(g, rvgen_r(OPC_OP, T6, 1, X0, T6, 0x14), "bset t6,x0,t6");
    uint64_t auipc = g->pc;
    int64_t off = (int64_t)(RVGEN_HDATA - auipc);
    int32_t lo = sext12((uint64_t)off);
    put32(g, rvgen_u(OPC_AUIPC, T5, (uint32_t)((off - lo) >> 12)), "auipc");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 0, T5, lo), "addi");
    put32(g, amo(0x08, true, X0, T5, T6, 0), "amoor.d");
    emit_csr(g, 2, T6, 0x141, X0, "csrr t6,sepc");
    put32(g, rvgen_i(OPC_LOAD, T5, 5, T6, 0), "lhu t5,0(t6)");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 7, T5, 3), "andi");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 0, T5, -3), "addi");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 3, T5, 1), "seqz");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 1, T5, 1), "slli");
    put32(g, rvgen_i(OPC_OP_IMM, T5, 0, T5, 2), "addi");
    put32(g, rvgen_r(OPC_OP, T6, 0, T6, T5, 0), "add");
    emit_csr(g, 1, X0, 0x141, T6, "csrw sepc,t6");
    put32(g, 0x10200073u, "sret");
}

enum { PTE_V = 1, PTE_R = 2, PTE_W = 4, PTE_X = 8, PTE_A = 64, PTE_D = 128 };

static uint64_t pte(uint64_t pa, uint64_t flags)
{
    return (pa >> 12) << 10 | flags;
}

static void set_pte(struct rvgen_program *p, uint64_t table, unsigned index, uint64_t value)
{
    memcpy(&p->ram[table - RVGEN_RAM + 8 * index], &value, 8);
}

/* Random A/D bits, so the hardware sets some of them. */
static uint64_t ad(struct gen *g)
{
    return (chance(g, 50) ? PTE_A : 0) | (chance(g, 50) ? PTE_D : 0);
}

/*
 * Sv39 identity map of code, handler data, data pages (the VS hole left out,
 * page 3 sometimes read-only) and the MMIO page; the tables sit in RVGEN_PT,
 * outside anything the program stores to.
 */
static void build_sv39(struct gen *g)
{
    struct rvgen_program *p = g->p;
    const uint64_t root = RVGEN_PT, l1_high = RVGEN_PT + 0x1000, l0_high = RVGEN_PT + 0x2000;
    const uint64_t l1_low = RVGEN_PT + 0x3000, l0_low = RVGEN_PT + 0x4000;
    set_pte(p, root, (unsigned)(RVGEN_RAM >> 30), pte(l1_high, PTE_V));
    set_pte(p, root, 0, pte(l1_low, PTE_V));
    set_pte(p, l1_high, 0, pte(l0_high, PTE_V));
    for (uint64_t a = RVGEN_RAM; a < RVGEN_CODE_END; a += RVGEN_PAGE)
        set_pte(p, l0_high, (unsigned)((a >> 12) & 0x1ff),
                pte(a, PTE_V | PTE_R | PTE_W | PTE_X | ad(g)));
    set_pte(p, l0_high, (unsigned)((RVGEN_HDATA >> 12) & 0x1ff),
            pte(RVGEN_HDATA, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    bool page3_read_only = chance(g, 30);
    for (unsigned k = 0; k < RVGEN_DATA_PAGES - 1; k++) {
        uint64_t a = RVGEN_DATA + k * RVGEN_PAGE;
        uint64_t w = (k == 3 && page3_read_only) ? 0 : PTE_W;
        set_pte(p, l0_high, (unsigned)((a >> 12) & 0x1ff), pte(a, PTE_V | PTE_R | w | ad(g)));
    }
    set_pte(p, l1_low, (unsigned)((RVGEN_MMIO >> 21) & 0x1ff), pte(l0_low, PTE_V));
    set_pte(p, l0_low, (unsigned)((RVGEN_MMIO >> 12) & 0x1ff),
            pte(RVGEN_MMIO, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D));
    p->vsatp = 8ull << 60 | RVGEN_PT >> 12;
}

static void initial_state(struct gen *g)
{
    struct rvgen_program *p = g->p;
    for (unsigned r = 1; r < 32; r++)
        p->x[r] = int_value(g);
    p->x[RA] = 0;
    p->x[SP] = BASE_SP;
    p->x[GP] = BASE_GP;
    p->x[TP] = BASE_TP;
    p->x[S0] = BASE_S0;
    p->x[S1] = BASE_S1;
    p->x[S10] = p->x[S11] = 0;
    p->x[T5] = p->x[T6] = 0;
    for (unsigned r = 0; r < 32; r++)
        p->f[r] = fp_value(g);
    p->fcsr = below(g, 5) << 5 | below(g, 32);
    for (uint64_t i = 0; i < RVGEN_DATA_PAGES * RVGEN_PAGE; i += 8) {
        uint64_t v = chance(g, 20) ? int_value(g) : rnd(g);
        memcpy(&p->ram[RVGEN_DATA - RVGEN_RAM + i], &v, 8);
    }
}

void rvgen_generate(struct rvgen_program *p, uint64_t seed)
{
    memset(p, 0, sizeof(*p));
    uint64_t s = seed;
    struct gen g = {
        .p = p,
        .mem = p->ram,
        .base = RVGEN_RAM,
        .limit = RVGEN_CODE_END,
        .rng = rvgen_splitmix(&s) | 1,
        .mult = 1,
    };
    p->seed = seed;
    p->sv39 = chance(&g, 35);
    p->gstage_sv39x4 = chance(&g, 50);
    if (p->sv39)
        count(&g, RVGEN_CLASS_SV39);
    initial_state(&g);
    if (p->sv39)
        build_sv39(&g);
    emit_handler(&g);
    g.insns = 0;

    g.pc = p->entry = RVGEN_ENTRY;
    g.target = 2000 + below(&g, 14000);
    while (budget_left(&g))
        body_item(&g);
    li(&g, A7, RVGEN_END_A7);
    p->final_ecall = put32(&g, 0x00000073u, "ecall (end)");
    put32(&g, rvgen_j(X0, 0), "j ."); /* never reached: the harness stops at the ecall */
    p->est_insns = g.insns;
}

const char *rvgen_name_at(const struct rvgen_program *p, uint64_t pc)
{
    if (pc < RVGEN_RAM || pc >= RVGEN_CODE_END || (pc & 1))
        return NULL;
    return p->name[(pc - RVGEN_RAM) / 2];
}
