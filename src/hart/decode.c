/*
 * Decoding: raw instruction bits -> struct insn. Compressed instructions
 * decode to the same operations as their 32-bit forms (len = 2), so the
 * executor has one case per operation. Anything not recognised is OP_ILLEGAL.
 */
#include "hart/decode.h"
#include "hart/mmu.h"
#include "hart/ops.h"
#include "hart/vector.h"

static inline uint32_t bits(uint32_t v, unsigned hi, unsigned lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

static inline int32_t sext(uint32_t v, unsigned width)
{
    return (int32_t)(v << (32 - width)) >> (32 - width);
}

static void set(struct insn *d, enum op op, unsigned rd, unsigned rs1, unsigned rs2, int32_t imm)
{
    d->op = op;
    d->rd = (uint8_t)rd;
    d->rs1 = (uint8_t)rs1;
    d->rs2 = (uint8_t)rs2;
    d->imm = imm;
}

static const enum op load_ops[8] = {OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, OP_ILLEGAL};
static const enum op store_ops[8] = {OP_SB,      OP_SH,      OP_SW,      OP_SD,
                                     OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL};
static const enum op branch_ops[8] = {OP_BEQ, OP_BNE, OP_ILLEGAL, OP_ILLEGAL,
                                      OP_BLT, OP_BGE, OP_BLTU,    OP_BGEU};

/* OP-IMM funct3 1 of Zknh, Zksh and Zknd/Zkne: unary on rs1 (aes64ks1i's rnum in imm). */
static enum op decode_op_imm_crypto(uint32_t raw, int32_t *imm)
{
    static const enum op hash_ops[10] = {OP_SHA256SUM0, OP_SHA256SUM1, OP_SHA256SIG0, OP_SHA256SIG1,
                                         OP_SHA512SUM0, OP_SHA512SUM1, OP_SHA512SIG0, OP_SHA512SIG1,
                                         OP_SM3P0,      OP_SM3P1};
    unsigned imm12 = bits(raw, 31, 20);
    if (imm12 >= 0x100 && imm12 <= 0x109)
        return hash_ops[imm12 - 0x100];
    if (imm12 == 0x300)
        return OP_AES64IM;
    if (bits(raw, 31, 24) == 0x31 && bits(raw, 23, 20) <= 10) {
        *imm = (int32_t)bits(raw, 23, 20);
        return OP_AES64KS1I;
    }
    return OP_ILLEGAL;
}

static enum op decode_op_imm(uint32_t raw, int32_t *imm)
{
    unsigned f3 = bits(raw, 14, 12), f6 = bits(raw, 31, 26), sh = bits(raw, 25, 20);
    switch (f3) {
    case 0: return OP_ADDI;
    case 2: return OP_SLTI;
    case 3: return OP_SLTIU;
    case 4: return OP_XORI;
    case 6: return OP_ORI;
    case 7: return OP_ANDI;
    case 1:
        *imm = (int32_t)sh;
        if (f6 == 0x00)
            return OP_SLLI;
        if (f6 == 0x12)
            return OP_BCLRI;
        if (f6 == 0x1a)
            return OP_BINVI;
        if (f6 == 0x0a)
            return OP_BSETI;
        if (bits(raw, 31, 20) == 0x600)
            return OP_CLZ;
        if (bits(raw, 31, 20) == 0x601)
            return OP_CTZ;
        if (bits(raw, 31, 20) == 0x602)
            return OP_CPOP;
        if (bits(raw, 31, 20) == 0x604)
            return OP_SEXT_B;
        if (bits(raw, 31, 20) == 0x605)
            return OP_SEXT_H;
        return decode_op_imm_crypto(raw, imm);
    case 5:
        *imm = (int32_t)sh;
        if (f6 == 0x00)
            return OP_SRLI;
        if (f6 == 0x10)
            return OP_SRAI;
        if (f6 == 0x18)
            return OP_RORI;
        if (f6 == 0x12)
            return OP_BEXTI;
        if (bits(raw, 31, 20) == 0x287)
            return OP_ORC_B;
        if (bits(raw, 31, 20) == 0x6b8)
            return OP_REV8;
        if (bits(raw, 31, 20) == 0x687)
            return OP_BREV8;
        return OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

static enum op decode_op_imm32(uint32_t raw, int32_t *imm)
{
    unsigned f3 = bits(raw, 14, 12), f7 = bits(raw, 31, 25), sh = bits(raw, 24, 20);
    switch (f3) {
    case 0: return OP_ADDIW;
    case 1:
        *imm = (int32_t)sh;
        if (f7 == 0x00)
            return OP_SLLIW;
        if (bits(raw, 31, 26) == 0x02) {
            *imm = (int32_t)bits(raw, 25, 20);
            return OP_SLLI_UW;
        }
        if (bits(raw, 31, 20) == 0x600)
            return OP_CLZW;
        if (bits(raw, 31, 20) == 0x601)
            return OP_CTZW;
        if (bits(raw, 31, 20) == 0x602)
            return OP_CPOPW;
        return OP_ILLEGAL;
    case 5:
        *imm = (int32_t)sh;
        if (f7 == 0x00)
            return OP_SRLIW;
        if (f7 == 0x20)
            return OP_SRAIW;
        if (f7 == 0x30)
            return OP_RORIW;
        return OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

static enum op decode_op(uint32_t raw)
{
    unsigned f3 = bits(raw, 14, 12), f7 = bits(raw, 31, 25);
    switch (f7) {
    case 0x00: {
        static const enum op ops[8] = {OP_ADD, OP_SLL, OP_SLT, OP_SLTU,
                                       OP_XOR, OP_SRL, OP_OR,  OP_AND};
        return ops[f3];
    }
    case 0x20: {
        static const enum op ops[8] = {OP_SUB,  OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL,
                                       OP_XNOR, OP_SRA,     OP_ORN,     OP_ANDN};
        return ops[f3];
    }
    case 0x01: {
        static const enum op ops[8] = {OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU,
                                       OP_DIV, OP_DIVU, OP_REM,    OP_REMU};
        return ops[f3];
    }
    case 0x10: {
        static const enum op ops[8] = {OP_ILLEGAL, OP_ILLEGAL, OP_SH1ADD, OP_ILLEGAL,
                                       OP_SH2ADD,  OP_ILLEGAL, OP_SH3ADD, OP_ILLEGAL};
        return ops[f3];
    }
    case 0x05: {
        static const enum op ops[8] = {OP_ILLEGAL, OP_CLMUL, OP_CLMULR, OP_CLMULH,
                                       OP_MIN,     OP_MINU,  OP_MAX,    OP_MAXU};
        return ops[f3];
    }
    case 0x30: return f3 == 1 ? OP_ROL : f3 == 5 ? OP_ROR : OP_ILLEGAL;
    case 0x24: return f3 == 1 ? OP_BCLR : f3 == 5 ? OP_BEXT : OP_ILLEGAL;
    case 0x34: return f3 == 1 ? OP_BINV : OP_ILLEGAL;
    case 0x14: return f3 == 1 ? OP_BSET : f3 == 2 ? OP_XPERM4 : f3 == 4 ? OP_XPERM8 : OP_ILLEGAL;
    case 0x07: return f3 == 5 ? OP_CZERO_EQZ : f3 == 7 ? OP_CZERO_NEZ : OP_ILLEGAL;
    case 0x04: return f3 == 4 ? OP_PACK : f3 == 7 ? OP_PACKH : OP_ILLEGAL;
    }
    if (f3 != 0)
        return OP_ILLEGAL;
    switch (f7) { /* Zkne/Zknd; funct7 0x18 and 0x1a name sm4ed/sm4ks for any bs (bits 31:30) */
    case 0x19: return OP_AES64ES;
    case 0x1b: return OP_AES64ESM;
    case 0x1d: return OP_AES64DS;
    case 0x1f: return OP_AES64DSM;
    case 0x3f: return OP_AES64KS2;
    }
    if ((f7 & 0x1f) == 0x18)
        return OP_SM4ED;
    if ((f7 & 0x1f) == 0x1a)
        return OP_SM4KS;
    return OP_ILLEGAL;
}

static enum op decode_op32(uint32_t raw)
{
    unsigned f3 = bits(raw, 14, 12), f7 = bits(raw, 31, 25);
    switch (f7) {
    case 0x00: return f3 == 0 ? OP_ADDW : f3 == 1 ? OP_SLLW : f3 == 5 ? OP_SRLW : OP_ILLEGAL;
    case 0x20: return f3 == 0 ? OP_SUBW : f3 == 5 ? OP_SRAW : OP_ILLEGAL;
    case 0x01: {
        static const enum op ops[8] = {OP_MULW, OP_ILLEGAL, OP_ILLEGAL, OP_ILLEGAL,
                                       OP_DIVW, OP_DIVUW,   OP_REMW,    OP_REMUW};
        return ops[f3];
    }
    case 0x04:
        if (f3 == 0)
            return OP_ADD_UW;
        if (f3 == 4)
            return bits(raw, 24, 20) == 0 ? OP_ZEXT_H : OP_PACKW; /* zext.h is packw rd, rs1, x0 */
        return OP_ILLEGAL;
    case 0x10: {
        static const enum op ops[8] = {OP_ILLEGAL,   OP_ILLEGAL, OP_SH1ADD_UW, OP_ILLEGAL,
                                       OP_SH2ADD_UW, OP_ILLEGAL, OP_SH3ADD_UW, OP_ILLEGAL};
        return ops[f3];
    }
    case 0x30: return f3 == 1 ? OP_ROLW : f3 == 5 ? OP_RORW : OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

/* Zacas (funct5 00101) at any width; amocas.q names even register pairs. */
static enum op decode_amocas(uint32_t raw)
{
    static const enum op ops[8] = {OP_AMOCAS_B, OP_AMOCAS_H, OP_AMOCAS_W, OP_AMOCAS_D,
                                   OP_AMOCAS_Q, OP_ILLEGAL,  OP_ILLEGAL,  OP_ILLEGAL};
    enum op op = ops[bits(raw, 14, 12)];
    if (op == OP_AMOCAS_Q && ((bits(raw, 11, 7) | bits(raw, 24, 20)) & 1))
        return OP_ILLEGAL;
    return op;
}

/* Zabha: the read-modify-write AMOs on bytes and halfwords (no LR/SC). */
static enum op decode_amo_bh(unsigned f5, bool h)
{
    switch (f5) {
    case 0x01: return h ? OP_AMOSWAP_H : OP_AMOSWAP_B;
    case 0x00: return h ? OP_AMOADD_H : OP_AMOADD_B;
    case 0x04: return h ? OP_AMOXOR_H : OP_AMOXOR_B;
    case 0x0c: return h ? OP_AMOAND_H : OP_AMOAND_B;
    case 0x08: return h ? OP_AMOOR_H : OP_AMOOR_B;
    case 0x10: return h ? OP_AMOMIN_H : OP_AMOMIN_B;
    case 0x14: return h ? OP_AMOMAX_H : OP_AMOMAX_B;
    case 0x18: return h ? OP_AMOMINU_H : OP_AMOMINU_B;
    case 0x1c: return h ? OP_AMOMAXU_H : OP_AMOMAXU_B;
    }
    return OP_ILLEGAL;
}

static enum op decode_amo(uint32_t raw)
{
    unsigned f3 = bits(raw, 14, 12), f5 = bits(raw, 31, 27);
    if (f5 == 0x05)
        return decode_amocas(raw);
    if (f3 == 0 || f3 == 1)
        return decode_amo_bh(f5, f3 == 1);
    if (f3 != 2 && f3 != 3)
        return OP_ILLEGAL;
    bool d = f3 == 3;
    switch (f5) {
    case 0x02: return bits(raw, 24, 20) ? OP_ILLEGAL : d ? OP_LR_D : OP_LR_W;
    case 0x03: return d ? OP_SC_D : OP_SC_W;
    case 0x01: return d ? OP_AMOSWAP_D : OP_AMOSWAP_W;
    case 0x00: return d ? OP_AMOADD_D : OP_AMOADD_W;
    case 0x04: return d ? OP_AMOXOR_D : OP_AMOXOR_W;
    case 0x0c: return d ? OP_AMOAND_D : OP_AMOAND_W;
    case 0x08: return d ? OP_AMOOR_D : OP_AMOOR_W;
    case 0x10: return d ? OP_AMOMIN_D : OP_AMOMIN_W;
    case 0x14: return d ? OP_AMOMAX_D : OP_AMOMAX_W;
    case 0x18: return d ? OP_AMOMINU_D : OP_AMOMINU_W;
    case 0x1c: return d ? OP_AMOMAXU_D : OP_AMOMAXU_W;
    }
    return OP_ILLEGAL;
}

static enum op decode_system(uint32_t raw)
{
    unsigned f3 = bits(raw, 14, 12);
    if (f3 != 0) {
        /* funct3 4 holds the hypervisor loads and stores (hlv, hsv) */
        static const enum op ops[8] = {OP_ILLEGAL,    OP_CSRRW,  OP_CSRRS,  OP_CSRRC,
                                       OP_HYPERVISOR, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI};
        return ops[f3];
    }
    if (bits(raw, 11, 7) != 0)
        return OP_ILLEGAL;
    if (bits(raw, 31, 25) == 0x09 || bits(raw, 31, 25) == 0x0b)
        return OP_SFENCE_VMA; /* sinval.vma: the same invalidation (Svinval) */
    if (bits(raw, 31, 25) == 0x0c && bits(raw, 24, 21) == 0 && bits(raw, 19, 15) == 0)
        return OP_SFENCE_INVAL; /* sfence.w.inval, sfence.inval.ir */
    if (bits(raw, 31, 25) == 0x11 || bits(raw, 31, 25) == 0x31 || bits(raw, 31, 25) == 0x13 ||
        bits(raw, 31, 25) == 0x33)
        return OP_HYPERVISOR; /* hfence.*, hinval.* */
    if (bits(raw, 19, 15) != 0)
        return OP_ILLEGAL;
    switch (bits(raw, 31, 20)) {
    case 0x000: return OP_ECALL;
    case 0x001: return OP_EBREAK;
    case 0x102: return OP_SRET;
    case 0x105: return OP_WFI;
    case 0x00d: return OP_WRS_NTO;
    case 0x01d: return OP_WRS_STO;
    case 0x302: return OP_MRET;
    }
    return OP_ILLEGAL;
}

/* Zfa's forms for format fmt (0 S, 1 D, 2 H) beside the F ones they are encoded like. */
static enum op decode_zfa(unsigned f5, unsigned fmt, unsigned f3, unsigned rs2)
{
    static const enum op first_of_fmt[3] = {OP_FLI_S, OP_FLI_D, OP_FLI_H};
    int base = (int)first_of_fmt[fmt] - OP_FLI_S; /* each format's run has the same layout */
    switch (f5) {
    case 0x05: /* fminm, fmaxm: fmin/fmax with bit 13 set */
        return f3 == 2 || f3 == 3 ? (enum op)(OP_FMINM_S + base + (int)(f3 - 2)) : OP_ILLEGAL;
    case 0x08: /* fround, froundnx: rs2 4, 5 */
        return rs2 == 4 || rs2 == 5 ? (enum op)(OP_FROUND_S + base + (int)(rs2 - 4)) : OP_ILLEGAL;
    case 0x14: /* fleq, fltq: fle/flt with bit 14 set */
        return f3 == 4 || f3 == 5 ? (enum op)(OP_FLEQ_S + base + (int)(f3 - 4)) : OP_ILLEGAL;
    case 0x18: return fmt == 1 && rs2 == 8 && f3 == 1 ? OP_FCVTMOD_W_D : OP_ILLEGAL;
    case 0x1e: return rs2 == 1 && f3 == 0 ? (enum op)(OP_FLI_S + base) : OP_ILLEGAL;
    }
    return OP_ILLEGAL;
}

/* Zfh: OP-FP with fmt H; the runs of ops follow their F counterparts' order. */
static enum op decode_fp_h(uint32_t raw)
{
    unsigned f5 = bits(raw, 31, 27), f3 = bits(raw, 14, 12), rs2 = bits(raw, 24, 20);
    switch (f5) {
    case 0x00: return OP_FADD_H;
    case 0x01: return OP_FSUB_H;
    case 0x02: return OP_FMUL_H;
    case 0x03: return OP_FDIV_H;
    case 0x0b: return rs2 ? OP_ILLEGAL : OP_FSQRT_H;
    case 0x04: return f3 > 2 ? OP_ILLEGAL : (enum op)(OP_FSGNJ_H + f3);
    case 0x05:
        if (f3 > 1)
            break;
        return f3 ? OP_FMAX_H : OP_FMIN_H;
    case 0x08:
        if (rs2 == 0)
            return OP_FCVT_H_S;
        if (rs2 == 1)
            return OP_FCVT_H_D;
        break;
    case 0x14:
        if (f3 > 2)
            break;
        return (enum op)(OP_FLE_H + f3);
    case 0x18: return rs2 > 3 ? OP_ILLEGAL : (enum op)(OP_FCVT_W_H + rs2);
    case 0x1a: return rs2 > 3 ? OP_ILLEGAL : (enum op)(OP_FCVT_H_W + rs2);
    case 0x1c:
        if (rs2 != 0)
            return OP_ILLEGAL;
        return f3 == 0 ? OP_FMV_X_H : f3 == 1 ? OP_FCLASS_H : OP_ILLEGAL;
    case 0x1e:
        if (rs2 == 0 && f3 == 0)
            return OP_FMV_H_X;
        break;
    }
    return decode_zfa(f5, 2, f3, rs2);
}

static enum op decode_fp(uint32_t raw)
{
    unsigned f5 = bits(raw, 31, 27), fmt = bits(raw, 26, 25), f3 = bits(raw, 14, 12),
             rs2 = bits(raw, 24, 20);
    if (fmt == 2)
        return decode_fp_h(raw);
    if (fmt > 1)
        return OP_ILLEGAL;
    bool d = fmt == 1;
    switch (f5) {
    case 0x00: return d ? OP_FADD_D : OP_FADD_S;
    case 0x01: return d ? OP_FSUB_D : OP_FSUB_S;
    case 0x02: return d ? OP_FMUL_D : OP_FMUL_S;
    case 0x03: return d ? OP_FDIV_D : OP_FDIV_S;
    case 0x0b: return rs2 ? OP_ILLEGAL : d ? OP_FSQRT_D : OP_FSQRT_S;
    case 0x04:
        if (f3 > 2)
            return OP_ILLEGAL;
        return (enum op)((d ? OP_FSGNJ_D : OP_FSGNJ_S) + f3);
    case 0x05:
        if (f3 > 1)
            break;
        return f3 ? (d ? OP_FMAX_D : OP_FMAX_S) : (d ? OP_FMIN_D : OP_FMIN_S);
    case 0x08:
        if (d && rs2 == 0)
            return OP_FCVT_D_S;
        if (!d && rs2 == 1)
            return OP_FCVT_S_D;
        if (rs2 == 2)
            return d ? OP_FCVT_D_H : OP_FCVT_S_H;
        break;
    case 0x14:
        if (f3 > 2)
            break;
        return (enum op)((d ? OP_FLE_D : OP_FLE_S) + f3); /* fle=0, flt=1, feq=2 */
    case 0x18:
        if (rs2 > 3)
            break;
        return (enum op)((d ? OP_FCVT_W_D : OP_FCVT_W_S) + rs2);
    case 0x1a:
        if (rs2 > 3)
            return OP_ILLEGAL;
        return (enum op)((d ? OP_FCVT_D_W : OP_FCVT_S_W) + rs2);
    case 0x1c:
        if (rs2 != 0)
            return OP_ILLEGAL;
        if (f3 == 0)
            return d ? OP_FMV_X_D : OP_FMV_X_W;
        if (f3 == 1)
            return d ? OP_FCLASS_D : OP_FCLASS_S;
        return OP_ILLEGAL;
    case 0x1e:
        if (rs2 == 0 && f3 == 0)
            return d ? OP_FMV_D_X : OP_FMV_W_X;
        break;
    }
    return decode_zfa(f5, fmt, f3, rs2);
}

/* Zicbom, Zicboz: MISC-MEM funct3 010 with rd = 0, the operation in imm[11:0]. */
static enum op decode_cbo(uint32_t raw)
{
    switch (bits(raw, 31, 20)) {
    case 0: return OP_CBO_INVAL;
    case 1: return OP_CBO_CLEAN;
    case 2: return OP_CBO_FLUSH;
    case 4: return OP_CBO_ZERO;
    }
    return OP_ILLEGAL;
}

/* Zimop: SYSTEM funct3 100 with bit 31 set (hlv/hsv have it clear); mop.r.N has bits 25:22
   0111 and bits 29:28 00, mop.rr.N bit 25 set and bits 29:28 00. */
static bool is_mop(uint32_t raw)
{
    return (raw & 0xb3c0707fu) == 0x81c04073u || (raw & 0xb200707fu) == 0x82004073u;
}

static void decode32(uint32_t raw, struct insn *d)
{
    unsigned rd = bits(raw, 11, 7), rs1 = bits(raw, 19, 15), rs2 = bits(raw, 24, 20),
             f3 = bits(raw, 14, 12);
    int32_t imm_i = (int32_t)raw >> 20;
    int32_t imm_s = (int32_t)((raw >> 25) << 5 | bits(raw, 11, 7));
    imm_s = sext((uint32_t)imm_s, 12);
    int32_t imm_b = sext(bits(raw, 31, 31) << 12 | bits(raw, 7, 7) << 11 | bits(raw, 30, 25) << 5 |
                             bits(raw, 11, 8) << 1,
                         13);
    int32_t imm_j = sext(bits(raw, 31, 31) << 20 | bits(raw, 19, 12) << 12 |
                             bits(raw, 20, 20) << 11 | bits(raw, 30, 21) << 1,
                         21);
    int32_t imm_u = (int32_t)(raw & 0xfffff000u);
    d->rm = (uint8_t)f3;
    if (vec_decode(raw, d))
        return;
    switch (bits(raw, 6, 0)) {
    case 0x37: set(d, OP_LUI, rd, 0, 0, imm_u); break;
    case 0x17: set(d, OP_AUIPC, rd, 0, 0, imm_u); break;
    case 0x6f: set(d, OP_JAL, rd, 0, 0, imm_j); break;
    case 0x67: set(d, f3 == 0 ? OP_JALR : OP_ILLEGAL, rd, rs1, 0, imm_i); break;
    case 0x63: set(d, branch_ops[f3], 0, rs1, rs2, imm_b); break;
    case 0x03: set(d, load_ops[f3], rd, rs1, 0, imm_i); break;
    case 0x23: set(d, store_ops[f3], 0, rs1, rs2, imm_s); break;
    case 0x13: {
        int32_t imm = imm_i;
        enum op op = decode_op_imm(raw, &imm);
        set(d, op, rd, rs1, 0, imm);
        break;
    }
    case 0x1b: {
        int32_t imm = imm_i;
        enum op op = decode_op_imm32(raw, &imm);
        set(d, op, rd, rs1, 0, imm);
        break;
    }
    case 0x33: {
        enum op op = decode_op(raw);
        bool sm4 = op == OP_SM4ED || op == OP_SM4KS;
        set(d, op, rd, rs1, rs2, sm4 ? (int32_t)bits(raw, 31, 30) : 0); /* sm4's byte select */
        break;
    }
    case 0x3b: set(d, decode_op32(raw), rd, rs1, rs2, 0); break;
    case 0x0f:
        if (f3 == 0)
            set(d, OP_FENCE, 0, 0, 0, (int32_t)bits(raw, 27, 20)); /* pred:succ */
        else if (f3 == 1)
            set(d, OP_FENCE_I, 0, 0, 0, 0);
        else if (f3 == 2 && rd == 0)
            set(d, decode_cbo(raw), 0, rs1, 0, 0);
        else
            set(d, OP_ILLEGAL, 0, 0, 0, 0);
        break;
    case 0x2f: set(d, decode_amo(raw), rd, rs1, rs2, 0); break;
    case 0x73:
        if (is_mop(raw))
            set(d, OP_ADDI, rd, 0, 0, 0); /* Zimop mop.r.N, mop.rr.N: rd = 0 */
        else
            set(d, decode_system(raw), rd, rs1, rs2, (int32_t)bits(raw, 31, 20));
        break;
    case 0x07: {
        static const enum op ops[4] = {OP_ILLEGAL, OP_FLH, OP_FLW, OP_FLD};
        set(d, f3 < 4 ? ops[f3] : OP_ILLEGAL, rd, rs1, 0, imm_i);
        break;
    }
    case 0x27: {
        static const enum op ops[4] = {OP_ILLEGAL, OP_FSH, OP_FSW, OP_FSD};
        set(d, f3 < 4 ? ops[f3] : OP_ILLEGAL, 0, rs1, rs2, imm_s);
        break;
    }
    case 0x43:
    case 0x47:
    case 0x4b:
    case 0x4f: {
        unsigned fmt = bits(raw, 26, 25);
        static const enum op bases[4] = {OP_FMADD_S, OP_FMADD_D, OP_FMADD_H, OP_ILLEGAL};
        enum op base = bases[fmt];
        enum op op =
            base == OP_ILLEGAL ? OP_ILLEGAL : (enum op)(base + (bits(raw, 6, 0) - 0x43) / 4);
        set(d, op, rd, rs1, rs2, 0);
        d->rs3 = (uint8_t)bits(raw, 31, 27);
        break;
    }
    case 0x53: set(d, decode_fp(raw), rd, rs1, rs2, 0); break;
    default: set(d, OP_ILLEGAL, 0, 0, 0, 0);
    }
}

/* Compressed register fields name x8..x15. */
static inline unsigned creg(uint32_t v)
{
    return 8 + v;
}

/* Zcb's byte and halfword loads and stores (quadrant 0, funct3 100). */
static void decode_zcb_mem(uint32_t raw, struct insn *d, unsigned rdp, unsigned rs1p)
{
    int32_t off_b = (int32_t)(bits(raw, 5, 5) << 1 | bits(raw, 6, 6)), off_h = off_b & 2;
    bool bit6 = bits(raw, 6, 6);
    switch (bits(raw, 12, 10)) {
    case 0: set(d, OP_LBU, rdp, rs1p, 0, off_b); break;
    case 1: set(d, bit6 ? OP_LH : OP_LHU, rdp, rs1p, 0, off_h); break;
    case 2: set(d, OP_SB, 0, rs1p, rdp, off_b); break;
    case 3:
        if (!bit6)
            set(d, OP_SH, 0, rs1p, rdp, off_h);
        break;
    }
}

/* Zcb's unary forms on rd' (c.zext.b .. c.not), as the 32-bit instructions they expand to. */
static void decode_zcb_unary(uint32_t raw, struct insn *d, unsigned r)
{
    switch (bits(raw, 4, 2)) {
    case 0: set(d, OP_ANDI, r, r, 0, 0xff); break; /* c.zext.b */
    case 1: set(d, OP_SEXT_B, r, r, 0, 0); break;  /* c.sext.b */
    case 2: set(d, OP_ZEXT_H, r, r, 0, 0); break;  /* c.zext.h */
    case 3: set(d, OP_SEXT_H, r, r, 0, 0); break;  /* c.sext.h */
    case 4: set(d, OP_ADD_UW, r, r, 0, 0); break;  /* c.zext.w */
    case 5: set(d, OP_XORI, r, r, 0, -1); break;   /* c.not */
    }
}

static void decode16(uint32_t raw, struct insn *d)
{
    unsigned op = bits(raw, 1, 0), f3 = bits(raw, 15, 13);
    unsigned rd = bits(raw, 11, 7), rs2 = bits(raw, 6, 2);
    unsigned rdp = creg(bits(raw, 4, 2)), rs1p = creg(bits(raw, 9, 7));
    /* frequently used immediates */
    uint32_t lw_off = bits(raw, 5, 5) << 6 | bits(raw, 12, 10) << 3 | bits(raw, 6, 6) << 2;
    uint32_t ld_off = bits(raw, 6, 5) << 6 | bits(raw, 12, 10) << 3;
    int32_t ci_imm = sext(bits(raw, 12, 12) << 5 | bits(raw, 6, 2), 6);
    set(d, OP_ILLEGAL, 0, 0, 0, 0);
    d->rm = 7; /* FP ops from compressed forms use the dynamic rounding mode */
    switch (op << 3 | f3) {
    case 000: { /* c.addi4spn */
        uint32_t imm = bits(raw, 10, 7) << 6 | bits(raw, 12, 11) << 4 | bits(raw, 5, 5) << 3 |
                       bits(raw, 6, 6) << 2;
        if (imm)
            set(d, OP_ADDI, rdp, 2, 0, (int32_t)imm);
        break;
    }
    case 001: set(d, OP_FLD, rdp, rs1p, 0, (int32_t)ld_off); break;
    case 002: set(d, OP_LW, rdp, rs1p, 0, (int32_t)lw_off); break;
    case 003: set(d, OP_LD, rdp, rs1p, 0, (int32_t)ld_off); break;
    case 004: decode_zcb_mem(raw, d, rdp, rs1p); break;
    case 005: set(d, OP_FSD, 0, rs1p, rdp, (int32_t)ld_off); break;
    case 006: set(d, OP_SW, 0, rs1p, rdp, (int32_t)lw_off); break;
    case 007: set(d, OP_SD, 0, rs1p, rdp, (int32_t)ld_off); break;
    case 010: set(d, OP_ADDI, rd, rd, 0, ci_imm); break; /* c.addi, c.nop */
    case 011:
        if (rd)
            set(d, OP_ADDIW, rd, rd, 0, ci_imm);
        break;
    case 012: set(d, OP_ADDI, rd, 0, 0, ci_imm); break; /* c.li */
    case 013:
        if (rd == 2) { /* c.addi16sp */
            int32_t imm =
                sext(bits(raw, 12, 12) << 9 | bits(raw, 4, 3) << 7 | bits(raw, 5, 5) << 6 |
                         bits(raw, 2, 2) << 5 | bits(raw, 6, 6) << 4,
                     10);
            if (imm)
                set(d, OP_ADDI, 2, 2, 0, imm);
        } else if (ci_imm) { /* c.lui */
            set(d, OP_LUI, rd, 0, 0, (int32_t)((uint32_t)ci_imm << 12));
        } else if ((rd & 1) && rd < 16) {
            set(d, OP_ADDI, 0, 0, 0, 0); /* Zcmop c.mop.N: writes no register */
        }
        break;
    case 014: {
        unsigned f2 = bits(raw, 11, 10);
        uint32_t shamt = bits(raw, 12, 12) << 5 | bits(raw, 6, 2);
        if (f2 == 0)
            set(d, OP_SRLI, rs1p, rs1p, 0, (int32_t)shamt);
        else if (f2 == 1)
            set(d, OP_SRAI, rs1p, rs1p, 0, (int32_t)shamt);
        else if (f2 == 2)
            set(d, OP_ANDI, rs1p, rs1p, 0, ci_imm);
        else if (bits(raw, 12, 12) && bits(raw, 6, 5) == 3)
            decode_zcb_unary(raw, d, rs1p);
        else {
            static const enum op ops[8] = {OP_SUB,  OP_XOR,  OP_OR,  OP_AND,
                                           OP_SUBW, OP_ADDW, OP_MUL, OP_ILLEGAL}; /* c.mul: Zcb */
            set(d, ops[bits(raw, 12, 12) << 2 | bits(raw, 6, 5)], rs1p, rs1p, rdp, 0);
        }
        break;
    }
    case 015: { /* c.j */
        int32_t imm = sext(bits(raw, 12, 12) << 11 | bits(raw, 8, 8) << 10 | bits(raw, 10, 9) << 8 |
                               bits(raw, 6, 6) << 7 | bits(raw, 7, 7) << 6 | bits(raw, 2, 2) << 5 |
                               bits(raw, 11, 11) << 4 | bits(raw, 5, 3) << 1,
                           12);
        set(d, OP_JAL, 0, 0, 0, imm);
        break;
    }
    case 016:
    case 017: { /* c.beqz, c.bnez */
        int32_t imm = sext(bits(raw, 12, 12) << 8 | bits(raw, 6, 5) << 6 | bits(raw, 2, 2) << 5 |
                               bits(raw, 11, 10) << 3 | bits(raw, 4, 3) << 1,
                           9);
        set(d, f3 == 6 ? OP_BEQ : OP_BNE, 0, rs1p, 0, imm);
        break;
    }
    case 020:
        set(d, OP_SLLI, rd, rd, 0, (int32_t)(bits(raw, 12, 12) << 5 | bits(raw, 6, 2)));
        break;
    case 021: /* c.fldsp */
        set(d, OP_FLD, rd, 2, 0,
            (int32_t)(bits(raw, 4, 2) << 6 | bits(raw, 12, 12) << 5 | bits(raw, 6, 5) << 3));
        break;
    case 022: /* c.lwsp */
        if (rd)
            set(d, OP_LW, rd, 2, 0,
                (int32_t)(bits(raw, 3, 2) << 6 | bits(raw, 12, 12) << 5 | bits(raw, 6, 4) << 2));
        break;
    case 023: /* c.ldsp */
        if (rd)
            set(d, OP_LD, rd, 2, 0,
                (int32_t)(bits(raw, 4, 2) << 6 | bits(raw, 12, 12) << 5 | bits(raw, 6, 5) << 3));
        break;
    case 024:
        if (bits(raw, 12, 12) == 0) {
            if (rs2 == 0) {
                if (rd)
                    set(d, OP_JALR, 0, rd, 0, 0); /* c.jr */
            } else {
                set(d, OP_ADD, rd, 0, rs2, 0); /* c.mv */
            }
        } else {
            if (rs2 == 0) {
                if (rd == 0)
                    set(d, OP_EBREAK, 0, 0, 0, 0);
                else
                    set(d, OP_JALR, 1, rd, 0, 0); /* c.jalr */
            } else {
                set(d, OP_ADD, rd, rd, rs2, 0);
            }
        }
        break;
    case 025: /* c.fsdsp */
        set(d, OP_FSD, 0, 2, rs2, (int32_t)(bits(raw, 9, 7) << 6 | bits(raw, 12, 10) << 3));
        break;
    case 026: /* c.swsp */
        set(d, OP_SW, 0, 2, rs2, (int32_t)(bits(raw, 8, 7) << 6 | bits(raw, 12, 9) << 2));
        break;
    case 027: /* c.sdsp */
        set(d, OP_SD, 0, 2, rs2, (int32_t)(bits(raw, 9, 7) << 6 | bits(raw, 12, 10) << 3));
        break;
    }
}

void decode(uint32_t raw, struct insn *out)
{
    struct insn d = {.raw = raw};
    if ((raw & 3) == 3) {
        d.len = 4;
        decode32(raw, &d);
    } else {
        d.len = 2;
        decode16(raw & 0xffff, &d);
    }
    *out = d;
}

/* The H extension's transformed instruction for a fault on an explicit load or
   store: the access as a 32-bit instruction with the address fields zeroed,
   bit 1 cleared when the original was compressed. */
uint32_t mmu_transform_insn(const struct insn *in)
{
    uint32_t t;
    const struct op_info *info = &op_infos[in->op];
    switch (info->kind) {
    case KIND_LOAD: t = info->opcode | info->funct3 << 12 | (uint32_t)in->rd << 7; break;
    case KIND_STORE: t = info->opcode | info->funct3 << 12 | (uint32_t)in->rs2 << 20; break;
    case KIND_AMO: return in->raw & ~(0x1fu << 15);
    default: return 0;
    }
    return in->len == 2 ? t & ~2u : t;
}
