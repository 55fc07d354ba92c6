/* SPDX-License-Identifier: MIT */
/*
 * x86_64.c - the x86-64 emitter (see x86_64.h).
 *
 * Every instruction is described as a `struct form` (prefix, REX.W, opcode
 * map and byte, ModRM operands, immediate) and goes through one encoder,
 * encode(), which is the only place that knows the REX, VEX, ModRM, SIB and
 * displacement rules. The encoded instruction is assembled in a local
 * `struct insn` first and copied into the buffer only if it fits whole.
 */
#include "hart/jit/x86_64.h"

#include <assert.h>
#include <string.h>

enum { MAX_INSN_LEN = 15 };

/* Opcode maps: the escape bytes that precede the opcode (or the VEX m-mmmm field). */
enum opcode_map { MAP_NONE, MAP_0F, MAP_0F38 };

/* How the operand that is not ModRM.reg is encoded. */
enum operand_kind {
    NO_OPERAND, /* the opcode alone (ret, cqo) */
    OPCODE_REG, /* register in the opcode's low 3 bits, REX.B (push, bswap, mov r, imm) */
    MODRM_REG,  /* ModRM.mod = 11, rm is a register */
    MODRM_MEM,  /* ModRM.rm (and SIB, displacement) is a memory operand */
};

struct form {
    uint8_t prefix; /* 0 or one legacy prefix: 0x66, 0xF0 (lock), 0xF2, 0xF3 */
    bool w;         /* REX.W / VEX.W */
    bool vex;       /* VEX-encoded; vvvv is the extra source register */
    uint8_t vvvv;
    bool byte_reg; /* ModRM.reg is an 8-bit register */
    bool byte_rm;  /* the rm register is an 8-bit register */
    enum opcode_map map;
    uint8_t opcode;
    enum operand_kind kind;
    uint8_t reg; /* ModRM.reg: a register or an opcode extension (/digit) */
    uint8_t rm;  /* the register for OPCODE_REG and MODRM_REG */
    struct x86_mem mem;
    uint8_t imm_size; /* 0, 1, 2, 4 or 8 bytes, little-endian */
    uint64_t imm;
};

struct insn {
    uint8_t byte[MAX_INSN_LEN];
    unsigned len;
};

static void put8(struct insn *in, unsigned v)
{
    assert(in->len < MAX_INSN_LEN);
    in->byte[in->len++] = (uint8_t)v;
}

static void put_le(struct insn *in, uint64_t v, unsigned size)
{
    for (unsigned i = 0; i < size; i++)
        put8(in, (uint8_t)(v >> (8 * i)));
}

static bool fits_int8(int64_t v)
{
    return v >= INT8_MIN && v <= INT8_MAX;
}

static bool fits_int32(int64_t v)
{
    return v >= INT32_MIN && v <= INT32_MAX;
}

static unsigned low3(unsigned reg)
{
    return reg & 7;
}

static unsigned high_bit(unsigned reg)
{
    return (reg >> 3) & 1;
}

/* Without a REX prefix, byte registers 4-7 mean ah/ch/dh/bh instead of spl/bpl/sil/dil. */
static bool is_legacy_high_byte(unsigned reg)
{
    return reg >= 4 && reg <= 7;
}

static void check_mem(struct x86_mem m)
{
    assert(m.base >= 0 && m.base <= 15);
    assert(m.index >= -1 && m.index <= 15);
    assert(m.index != X86_RSP); /* SIB.index 100 without REX.X means "no index" */
    assert(m.scale == 1 || m.scale == 2 || m.scale == 4 || m.scale == 8);
    (void)m;
}

/* REX.R, REX.X and REX.B (bits 2..0) for the form's registers. */
static unsigned rxb_bits(const struct form *f)
{
    unsigned r = 0, x = 0, b = 0;
    if (f->kind == MODRM_REG || f->kind == MODRM_MEM)
        r = high_bit(f->reg);
    if (f->kind == MODRM_MEM) {
        x = f->mem.index >= 0 ? high_bit((unsigned)f->mem.index) : 0;
        b = high_bit((unsigned)f->mem.base);
    } else if (f->kind == OPCODE_REG || f->kind == MODRM_REG) {
        b = high_bit(f->rm);
    }
    return r << 2 | x << 1 | b;
}

static bool needs_rex_for_byte_reg(const struct form *f)
{
    bool reg = f->byte_reg && (f->kind == MODRM_REG || f->kind == MODRM_MEM) &&
               is_legacy_high_byte(f->reg);
    bool rm =
        f->byte_rm && (f->kind == MODRM_REG || f->kind == OPCODE_REG) && is_legacy_high_byte(f->rm);
    return reg || rm;
}

/* The legacy prefix, then REX: a REX anywhere but right before the opcode is ignored. */
static void put_legacy_prefix_and_rex(struct insn *in, const struct form *f)
{
    if (f->prefix)
        put8(in, f->prefix);
    unsigned rex = (unsigned)f->w << 3 | rxb_bits(f);
    if (rex || needs_rex_for_byte_reg(f))
        put8(in, 0x40 | rex);
}

static void put_escape(struct insn *in, enum opcode_map map)
{
    if (map != MAP_NONE)
        put8(in, 0x0F);
    if (map == MAP_0F38)
        put8(in, 0x38);
}

/* VEX.pp: the legacy prefix the VEX prefix stands for. */
static unsigned vex_pp(uint8_t prefix)
{
    switch (prefix) {
    case 0: return 0;
    case 0x66: return 1;
    case 0xF3: return 2;
    case 0xF2: return 3;
    }
    assert(!"no VEX form for this prefix");
    return 0;
}

/* The three-byte VEX prefix (C4), which carries the inverted R/X/B and vvvv; L = 0. */
static void put_vex(struct insn *in, const struct form *f)
{
    assert(f->map == MAP_0F || f->map == MAP_0F38);
    unsigned map_select = f->map == MAP_0F ? 1 : 2;
    put8(in, 0xC4);
    put8(in, (~rxb_bits(f) & 7) << 5 | map_select);
    put8(in, (unsigned)f->w << 7 | (~f->vvvv & 15u) << 3 | vex_pp(f->prefix));
}

static void put_modrm(struct insn *in, unsigned mod, unsigned reg, unsigned rm)
{
    put8(in, mod << 6 | low3(reg) << 3 | low3(rm));
}

/*
 * ModRM (+ SIB + displacement) for [base + index*scale + disp]. rm = 100 means "a SIB follows",
 * so base rsp/r12 need one; mod = 00 with rm or SIB.base = 101 means "no base, disp32", so base
 * rbp/r13 need a displacement even when it is 0.
 */
static void put_modrm_mem(struct insn *in, unsigned reg, struct x86_mem m)
{
    check_mem(m);
    unsigned base = (unsigned)m.base;
    bool has_sib = m.index >= 0 || low3(base) == X86_RSP;
    unsigned mod;
    if (m.disp == 0 && low3(base) != X86_RBP)
        mod = 0;
    else if (fits_int8(m.disp))
        mod = 1;
    else
        mod = 2;
    put_modrm(in, mod, reg, has_sib ? X86_RSP : base);
    if (has_sib) {
        unsigned scale_bits = m.scale == 1 ? 0 : m.scale == 2 ? 1 : m.scale == 4 ? 2 : 3;
        unsigned index = m.index >= 0 ? (unsigned)m.index : X86_RSP;
        put8(in, scale_bits << 6 | low3(index) << 3 | low3(base));
    }
    put_le(in, (uint32_t)m.disp, mod == 0 ? 0 : mod == 1 ? 1 : 4);
}

static struct insn encode(const struct form *f)
{
    assert(f->reg < 16 && f->rm < 16 && f->vvvv < 16);
    struct insn in = {.len = 0};
    if (f->vex) {
        put_vex(&in, f);
    } else {
        put_legacy_prefix_and_rex(&in, f);
        put_escape(&in, f->map);
    }
    switch (f->kind) {
    case NO_OPERAND: put8(&in, f->opcode); break;
    case OPCODE_REG: put8(&in, f->opcode | low3(f->rm)); break;
    case MODRM_REG:
        put8(&in, f->opcode);
        put_modrm(&in, 3, f->reg, f->rm);
        break;
    case MODRM_MEM:
        put8(&in, f->opcode);
        put_modrm_mem(&in, f->reg, f->mem);
        break;
    }
    put_le(&in, f->imm, f->imm_size);
    return in;
}

/* Copies the whole instruction or, if it does not fit (or an earlier one did not), nothing. */
static bool commit(struct x86_buf *b, const struct insn *in)
{
    if (b->overflow || (size_t)(b->end - b->p) < in->len) {
        b->overflow = true;
        return false;
    }
    memcpy(b->p, in->byte, in->len);
    b->p += in->len;
    return true;
}

static void emit(struct x86_buf *b, const struct form *f)
{
    struct insn in = encode(f);
    commit(b, &in);
}

void x86_init(struct x86_buf *b, void *start, size_t size)
{
    b->start = b->p = start;
    b->end = b->start + size;
    b->overflow = false;
}

/* --- integer arithmetic -------------------------------------------------------------------- */

void x86_alu_rr(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst, enum x86_reg src)
{
    /* 01, 09, 11, ...: op r/m, r */
    emit(b,
         &(struct form){
             .w = w64, .opcode = (uint8_t)(op * 8 + 1), .kind = MODRM_REG, .reg = src, .rm = dst});
}

/* The 83 /op imm8 or 81 /op imm32 form against a register or memory operand. */
static struct form alu_imm_form(enum x86_alu op, bool w64, int32_t imm)
{
    bool short_imm = fits_int8(imm);
    return (struct form){.w = w64,
                         .opcode = short_imm ? 0x83 : 0x81,
                         .reg = (uint8_t)op,
                         .imm_size = short_imm ? 1 : 4,
                         .imm = (uint64_t)(int64_t)imm};
}

void x86_alu_ri(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst, int32_t imm)
{
    struct form f = alu_imm_form(op, w64, imm);
    f.kind = MODRM_REG;
    f.rm = dst;
    emit(b, &f);
}

void x86_alu_rm(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst, struct x86_mem m)
{
    /* 03, 0B, 13, ...: op r, r/m */
    emit(b,
         &(struct form){
             .w = w64, .opcode = (uint8_t)(op * 8 + 3), .kind = MODRM_MEM, .reg = dst, .mem = m});
}

void x86_alu_mr(struct x86_buf *b, enum x86_alu op, bool w64, struct x86_mem m, enum x86_reg src)
{
    emit(b,
         &(struct form){
             .w = w64, .opcode = (uint8_t)(op * 8 + 1), .kind = MODRM_MEM, .reg = src, .mem = m});
}

void x86_alu_mi(struct x86_buf *b, enum x86_alu op, bool w64, struct x86_mem m, int32_t imm)
{
    struct form f = alu_imm_form(op, w64, imm);
    f.kind = MODRM_MEM;
    f.mem = m;
    emit(b, &f);
}

void x86_test_rr(struct x86_buf *b, bool w64, enum x86_reg a, enum x86_reg c)
{
    emit(b, &(struct form){.w = w64, .opcode = 0x85, .kind = MODRM_REG, .reg = c, .rm = a});
}

void x86_test_ri(struct x86_buf *b, bool w64, enum x86_reg a, int32_t imm)
{
    emit(b, &(struct form){.w = w64,
                           .opcode = 0xF7,
                           .kind = MODRM_REG,
                           .reg = 0,
                           .rm = a,
                           .imm_size = 4,
                           .imm = (uint64_t)(int64_t)imm});
}

/* The F7 group on a register: /2 not, /3 neg, /4 mul, /5 imul, /6 div, /7 idiv. */
static void group3(struct x86_buf *b, bool w64, unsigned ext, enum x86_reg r)
{
    emit(b,
         &(struct form){.w = w64, .opcode = 0xF7, .kind = MODRM_REG, .reg = (uint8_t)ext, .rm = r});
}

void x86_not(struct x86_buf *b, bool w64, enum x86_reg r)
{
    group3(b, w64, 2, r);
}

void x86_neg(struct x86_buf *b, bool w64, enum x86_reg r)
{
    group3(b, w64, 3, r);
}

void x86_mul1(struct x86_buf *b, bool w64, bool is_signed, enum x86_reg src)
{
    group3(b, w64, is_signed ? 5 : 4, src);
}

void x86_div1(struct x86_buf *b, bool w64, bool is_signed, enum x86_reg src)
{
    group3(b, w64, is_signed ? 7 : 6, src);
}

void x86_cqo(struct x86_buf *b, bool w64)
{
    emit(b, &(struct form){.w = w64, .opcode = 0x99, .kind = NO_OPERAND});
}

void x86_imul_rr(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src)
{
    emit(b, &(struct form){
                .w = w64, .map = MAP_0F, .opcode = 0xAF, .kind = MODRM_REG, .reg = dst, .rm = src});
}

void x86_imul_rri(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src, int32_t imm)
{
    bool short_imm = fits_int8(imm);
    emit(b, &(struct form){.w = w64,
                           .opcode = short_imm ? 0x6B : 0x69,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src,
                           .imm_size = short_imm ? 1 : 4,
                           .imm = (uint64_t)(int64_t)imm});
}

void x86_shift_ri(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg r, uint8_t imm)
{
    assert(imm < (w64 ? 64 : 32)); /* the CPU would mask it silently */
    emit(b, &(struct form){.w = w64,
                           .opcode = 0xC1,
                           .kind = MODRM_REG,
                           .reg = (uint8_t)op,
                           .rm = r,
                           .imm_size = 1,
                           .imm = imm});
}

void x86_shift_cl(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg r)
{
    emit(b,
         &(struct form){.w = w64, .opcode = 0xD3, .kind = MODRM_REG, .reg = (uint8_t)op, .rm = r});
}

void x86_shiftx(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg dst, enum x86_reg src,
                enum x86_reg count)
{
    /* VEX.0F38 F7 with the prefix selecting the shift: 66 shlx, F3 sarx, F2 shrx. */
    assert(op == X86_SHL || op == X86_SHR || op == X86_SAR);
    uint8_t prefix = op == X86_SHL ? 0x66 : op == X86_SAR ? 0xF3 : 0xF2;
    emit(b, &(struct form){.prefix = prefix,
                           .w = w64,
                           .vex = true,
                           .vvvv = (uint8_t)count,
                           .map = MAP_0F38,
                           .opcode = 0xF7,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src});
}

/* --- moves ------------------------------------------------------------------------------- */

void x86_mov_rr(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src)
{
    emit(b, &(struct form){.w = w64, .opcode = 0x89, .kind = MODRM_REG, .reg = src, .rm = dst});
}

void x86_mov_ri(struct x86_buf *b, enum x86_reg dst, uint64_t imm)
{
    struct form f;
    if (imm <= UINT32_MAX) /* B8+r imm32, zero-extended */
        f = (struct form){.opcode = 0xB8, .kind = OPCODE_REG, .rm = dst, .imm_size = 4, .imm = imm};
    else if (fits_int32((int64_t)imm)) /* C7 /0 imm32, sign-extended */
        f = (struct form){
            .w = true, .opcode = 0xC7, .kind = MODRM_REG, .rm = dst, .imm_size = 4, .imm = imm};
    else /* movabs: B8+r imm64 */
        f = (struct form){
            .w = true, .opcode = 0xB8, .kind = OPCODE_REG, .rm = dst, .imm_size = 8, .imm = imm};
    emit(b, &f);
}

static void check_size(unsigned size)
{
    assert(size == 1 || size == 2 || size == 4 || size == 8);
    (void)size;
}

static unsigned size_log2(unsigned size)
{
    check_size(size);
    return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}

/* Zero- and sign-extending loads into a 64-bit register, by size: a write to a 32-bit register
 * clears the upper half, so the zero-extending ones need no REX.W. */
static const struct load_form {
    enum opcode_map map;
    uint8_t opcode;
    bool w;
} load_forms[2][4] = {
    {{MAP_0F, 0xB6, false}, {MAP_0F, 0xB7, false}, {MAP_NONE, 0x8B, false}, {MAP_NONE, 0x8B, true}},
    {{MAP_0F, 0xBE, true}, {MAP_0F, 0xBF, true}, {MAP_NONE, 0x63, true}, {MAP_NONE, 0x8B, true}},
};

void x86_load(struct x86_buf *b, unsigned size, bool sign, enum x86_reg dst, struct x86_mem m)
{
    const struct load_form *lf = &load_forms[sign][size_log2(size)];
    emit(b, &(struct form){.w = lf->w,
                           .map = lf->map,
                           .opcode = lf->opcode,
                           .kind = MODRM_MEM,
                           .reg = dst,
                           .mem = m});
}

/* Operand-size attributes of a plain mov of `size` bytes: 8-bit opcode, 66 prefix or REX.W. */
static struct form sized_mov(unsigned size, uint8_t opcode_for_bytes, uint8_t opcode)
{
    return (struct form){.prefix = size == 2 ? 0x66 : 0,
                         .w = size == 8,
                         .opcode = size == 1 ? opcode_for_bytes : opcode};
}

void x86_store(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg src)
{
    check_size(size);
    struct form f = sized_mov(size, 0x88, 0x89);
    f.byte_reg = size == 1;
    f.kind = MODRM_MEM;
    f.reg = src;
    f.mem = m;
    emit(b, &f);
}

void x86_store_imm(struct x86_buf *b, unsigned size, struct x86_mem m, int32_t imm)
{
    check_size(size);
    struct form f = sized_mov(size, 0xC6, 0xC7);
    f.kind = MODRM_MEM;
    f.mem = m;
    f.imm_size = (uint8_t)(size == 8 ? 4 : size); /* the 64-bit form sign-extends an imm32 */
    f.imm = (uint64_t)(int64_t)imm;
    emit(b, &f);
}

void x86_lea(struct x86_buf *b, bool w64, enum x86_reg dst, struct x86_mem m)
{
    emit(b, &(struct form){.w = w64, .opcode = 0x8D, .kind = MODRM_MEM, .reg = dst, .mem = m});
}

void x86_movsx_rr(struct x86_buf *b, unsigned from_size, enum x86_reg dst, enum x86_reg src)
{
    assert(from_size == 1 || from_size == 2 || from_size == 4);
    const struct load_form *lf = &load_forms[1][size_log2(from_size)];
    emit(b, &(struct form){.w = true,
                           .byte_rm = from_size == 1,
                           .map = lf->map,
                           .opcode = lf->opcode,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src});
}

void x86_movzx_rr(struct x86_buf *b, unsigned from_size, enum x86_reg dst, enum x86_reg src)
{
    assert(from_size == 1 || from_size == 2 || from_size == 4);
    if (from_size == 4) {
        x86_mov_rr(b, false, dst, src);
        return;
    }
    const struct load_form *lf = &load_forms[0][size_log2(from_size)];
    emit(b, &(struct form){.byte_rm = from_size == 1,
                           .map = lf->map,
                           .opcode = lf->opcode,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src});
}

void x86_setcc(struct x86_buf *b, enum x86_cc cc, enum x86_reg r)
{
    emit(b, &(struct form){.byte_rm = true,
                           .map = MAP_0F,
                           .opcode = (uint8_t)(0x90 | cc),
                           .kind = MODRM_REG,
                           .reg = 0,
                           .rm = r});
}

void x86_cmov(struct x86_buf *b, enum x86_cc cc, bool w64, enum x86_reg dst, enum x86_reg src)
{
    emit(b, &(struct form){.w = w64,
                           .map = MAP_0F,
                           .opcode = (uint8_t)(0x40 | cc),
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src});
}

/* --- bit manipulation --------------------------------------------------------------------- */

void x86_bswap(struct x86_buf *b, bool w64, enum x86_reg r)
{
    emit(b, &(struct form){.w = w64, .map = MAP_0F, .opcode = 0xC8, .kind = OPCODE_REG, .rm = r});
}

/* popcnt, lzcnt and tzcnt: F3 0F op /r. */
static void f3_count(struct x86_buf *b, uint8_t opcode, bool w64, enum x86_reg dst,
                     enum x86_reg src)
{
    emit(b, &(struct form){.prefix = 0xF3,
                           .w = w64,
                           .map = MAP_0F,
                           .opcode = opcode,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src});
}

void x86_popcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src)
{
    f3_count(b, 0xB8, w64, dst, src);
}

void x86_lzcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src)
{
    f3_count(b, 0xBD, w64, dst, src);
}

void x86_tzcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src)
{
    f3_count(b, 0xBC, w64, dst, src);
}

void x86_andn(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src1, enum x86_reg src2)
{
    emit(b, &(struct form){.w = w64,
                           .vex = true,
                           .vvvv = (uint8_t)src1,
                           .map = MAP_0F38,
                           .opcode = 0xF2,
                           .kind = MODRM_REG,
                           .reg = dst,
                           .rm = src2});
}

/* --- stack, fences, atomics ----------------------------------------------------------------- */

void x86_push(struct x86_buf *b, enum x86_reg r)
{
    emit(b, &(struct form){.opcode = 0x50, .kind = OPCODE_REG, .rm = r});
}

void x86_pop(struct x86_buf *b, enum x86_reg r)
{
    emit(b, &(struct form){.opcode = 0x58, .kind = OPCODE_REG, .rm = r});
}

void x86_ret(struct x86_buf *b)
{
    emit(b, &(struct form){.opcode = 0xC3, .kind = NO_OPERAND});
}

void x86_int3(struct x86_buf *b)
{
    emit(b, &(struct form){.opcode = 0xCC, .kind = NO_OPERAND});
}

void x86_mfence(struct x86_buf *b)
{
    /* 0F AE F0: the register form of 0F AE /6 */
    emit(b, &(struct form){.map = MAP_0F, .opcode = 0xAE, .kind = MODRM_REG, .reg = 6, .rm = 0});
}

/* A 32- or 64-bit read-modify-write of [m] with r. */
static void atomic_rmw(struct x86_buf *b, uint8_t prefix, enum opcode_map map, uint8_t opcode,
                       unsigned size, struct x86_mem m, enum x86_reg r)
{
    assert(size == 4 || size == 8);
    emit(b, &(struct form){.prefix = prefix,
                           .w = size == 8,
                           .map = map,
                           .opcode = opcode,
                           .kind = MODRM_MEM,
                           .reg = r,
                           .mem = m});
}

void x86_xchg_mr(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r)
{
    atomic_rmw(b, 0, MAP_NONE, 0x87, size, m, r);
}

void x86_lock_xadd(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r)
{
    atomic_rmw(b, 0xF0, MAP_0F, 0xC1, size, m, r);
}

void x86_lock_cmpxchg(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r)
{
    atomic_rmw(b, 0xF0, MAP_0F, 0xB1, size, m, r);
}

/* --- scalar floating point ---------------------------------------------------------------- */

/* The xmm register always goes in ModRM.reg; the other operand (rm) is an xmm register, a general
 * register or memory. */
static void sse_rr(struct x86_buf *b, uint8_t prefix, bool w, uint8_t opcode, unsigned xmm,
                   unsigned rm)
{
    emit(b, &(struct form){.prefix = prefix,
                           .w = w,
                           .map = MAP_0F,
                           .opcode = opcode,
                           .kind = MODRM_REG,
                           .reg = (uint8_t)xmm,
                           .rm = (uint8_t)rm});
}

static void sse_rm(struct x86_buf *b, uint8_t prefix, uint8_t opcode, unsigned xmm,
                   struct x86_mem m)
{
    emit(b, &(struct form){.prefix = prefix,
                           .map = MAP_0F,
                           .opcode = opcode,
                           .kind = MODRM_MEM,
                           .reg = (uint8_t)xmm,
                           .mem = m});
}

void x86_movsd_load(struct x86_buf *b, enum x86_xmm dst, struct x86_mem m)
{
    sse_rm(b, 0xF2, 0x10, dst, m);
}

void x86_movsd_store(struct x86_buf *b, struct x86_mem m, enum x86_xmm src)
{
    sse_rm(b, 0xF2, 0x11, src, m);
}

void x86_movq_to_xmm(struct x86_buf *b, enum x86_xmm dst, enum x86_reg src)
{
    sse_rr(b, 0x66, true, 0x6E, dst, src);
}

void x86_movq_from_xmm(struct x86_buf *b, enum x86_reg dst, enum x86_xmm src)
{
    sse_rr(b, 0x66, true, 0x7E, src, dst);
}

/* Mandatory prefix and 0F opcode of each enum x86_sse operation. */
static const struct sse_form {
    uint8_t prefix, opcode;
} sse_forms[] = {
    [X86_ADDSD] = {0xF2, 0x58},   [X86_MULSD] = {0xF2, 0x59},  [X86_SUBSD] = {0xF2, 0x5C},
    [X86_DIVSD] = {0xF2, 0x5E},   [X86_SQRTSD] = {0xF2, 0x51}, [X86_UCOMISD] = {0x66, 0x2E},
    [X86_COMISD] = {0x66, 0x2F},  [X86_ADDSS] = {0xF3, 0x58},  [X86_MULSS] = {0xF3, 0x59},
    [X86_SUBSS] = {0xF3, 0x5C},   [X86_DIVSS] = {0xF3, 0x5E},  [X86_SQRTSS] = {0xF3, 0x51},
    [X86_UCOMISS] = {0x00, 0x2E}, [X86_COMISS] = {0x00, 0x2F},
};

static const struct sse_form *sse_form(enum x86_sse op)
{
    assert((unsigned)op < sizeof sse_forms / sizeof sse_forms[0]);
    return &sse_forms[op];
}

void x86_sse_op_rr(struct x86_buf *b, enum x86_sse op, enum x86_xmm dst, enum x86_xmm src)
{
    const struct sse_form *sf = sse_form(op);
    sse_rr(b, sf->prefix, false, sf->opcode, dst, src);
}

void x86_sse_op_rm(struct x86_buf *b, enum x86_sse op, enum x86_xmm dst, struct x86_mem m)
{
    const struct sse_form *sf = sse_form(op);
    sse_rm(b, sf->prefix, sf->opcode, dst, m);
}

void x86_fma_sd(struct x86_buf *b, enum x86_fma kind, enum x86_fma_order order, enum x86_xmm dst,
                enum x86_xmm src1, enum x86_xmm src2)
{
    assert(kind == X86_VFMADD || kind == X86_VFMSUB || kind == X86_VFNMADD || kind == X86_VFNMSUB);
    assert(order == X86_FMA132 || order == X86_FMA213 || order == X86_FMA231);
    /* VEX.LIG.66.0F38.W1: W1 selects sd (W0 would be ss); L is ignored, 0 here. */
    emit(b, &(struct form){.prefix = 0x66,
                           .w = true,
                           .vex = true,
                           .vvvv = (uint8_t)src1,
                           .map = MAP_0F38,
                           .opcode = (uint8_t)(order + kind),
                           .kind = MODRM_REG,
                           .reg = (uint8_t)dst,
                           .rm = (uint8_t)src2});
}

void x86_fma231sd(struct x86_buf *b, enum x86_fma kind, enum x86_xmm dst, enum x86_xmm src1,
                  enum x86_xmm src2)
{
    x86_fma_sd(b, kind, X86_FMA231, dst, src1, src2);
}

/* 0F AE /2 ldmxcsr m32, /3 stmxcsr m32 */
void x86_ldmxcsr(struct x86_buf *b, struct x86_mem m)
{
    sse_rm(b, 0, 0xAE, 2, m);
}

void x86_stmxcsr(struct x86_buf *b, struct x86_mem m)
{
    sse_rm(b, 0, 0xAE, 3, m);
}

/* --- control flow ------------------------------------------------------------------------ */

static int64_t distance(const void *from, const void *to)
{
    return (int64_t)((uintptr_t)to - (uintptr_t)from);
}

bool x86_rel32_ok(const void *field_end, const void *target)
{
    return fits_int32(distance(field_end, target));
}

void x86_patch_rel32(uint8_t *field, const void *target)
{
    assert(x86_rel32_ok(field + 4, target));
    uint32_t rel = (uint32_t)distance(field + 4, target);
    for (unsigned i = 0; i < 4; i++)
        field[i] = (uint8_t)(rel >> (8 * i));
}

/* Emits a form that ends in a rel32 field, aimed at target (or left 0 when target is NULL). */
static uint8_t *emit_rel32(struct x86_buf *b, struct form f, const void *target)
{
    f.kind = NO_OPERAND;
    f.imm_size = 4;
    f.imm = 0;
    struct insn in = encode(&f);
    if (!commit(b, &in))
        return NULL;
    uint8_t *field = b->p - 4;
    if (target)
        x86_patch_rel32(field, target);
    return field;
}

uint8_t *x86_jmp(struct x86_buf *b, const void *target)
{
    return emit_rel32(b, (struct form){.opcode = 0xE9}, target);
}

uint8_t *x86_jcc(struct x86_buf *b, enum x86_cc cc, const void *target)
{
    return emit_rel32(b, (struct form){.map = MAP_0F, .opcode = (uint8_t)(0x80 | cc)}, target);
}

uint8_t *x86_call(struct x86_buf *b, const void *target)
{
    return emit_rel32(b, (struct form){.opcode = 0xE8}, target);
}

/* FF /2 call and FF /4 jmp default to 64-bit operands: no REX.W. */
void x86_call_r(struct x86_buf *b, enum x86_reg r)
{
    emit(b, &(struct form){.opcode = 0xFF, .kind = MODRM_REG, .reg = 2, .rm = r});
}

void x86_jmp_r(struct x86_buf *b, enum x86_reg r)
{
    emit(b, &(struct form){.opcode = 0xFF, .kind = MODRM_REG, .reg = 4, .rm = r});
}

void x86_jmp_m(struct x86_buf *b, struct x86_mem m)
{
    emit(b, &(struct form){.opcode = 0xFF, .kind = MODRM_MEM, .reg = 4, .mem = m});
}

/* The recommended multi-byte NOPs (Intel SDM vol. 2, NOP), indexed by length. */
static const uint8_t nops[10][9] = {
    [1] = {0x90},
    [2] = {0x66, 0x90},
    [3] = {0x0F, 0x1F, 0x00},
    [4] = {0x0F, 0x1F, 0x40, 0x00},
    [5] = {0x0F, 0x1F, 0x44, 0x00, 0x00},
    [6] = {0x66, 0x0F, 0x1F, 0x44, 0x00, 0x00},
    [7] = {0x0F, 0x1F, 0x80, 0x00, 0x00, 0x00, 0x00},
    [8] = {0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
    [9] = {0x66, 0x0F, 0x1F, 0x84, 0x00, 0x00, 0x00, 0x00, 0x00},
};

void x86_align(struct x86_buf *b, unsigned align)
{
    assert(align != 0 && (align & (align - 1)) == 0);
    unsigned pad = (unsigned)(-(uintptr_t)b->p & (align - 1));
    while (pad > 0 && !b->overflow) {
        struct insn in = {.len = pad < 9 ? pad : 9};
        memcpy(in.byte, nops[in.len], in.len);
        commit(b, &in);
        pad -= in.len;
    }
}
