/* Integer computation: RV64I register and immediate forms, M, Zba, Zbb, Zbs, Zicond. */
#ifndef DUVISOR_HART_EXEC_INT_H
#define DUVISOR_HART_EXEC_INT_H

#include "hart/exec.h"

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

static inline uint64_t orc_b(uint64_t v)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i += 8)
        if ((v >> i) & 0xff)
            r |= 0xffull << i;
    return r;
}

static inline uint64_t int_div(int64_t a, int64_t b)
{
    if (b == 0)
        return ~0ull;
    if (a == INT64_MIN && b == -1)
        return (uint64_t)a;
    return (uint64_t)(a / b);
}

static inline uint64_t int_rem(int64_t a, int64_t b)
{
    if (b == 0)
        return (uint64_t)a;
    if (a == INT64_MIN && b == -1)
        return 0;
    return (uint64_t)(a % b);
}

static inline uint64_t int_divw(int32_t a, int32_t b)
{
    if (b == 0)
        return ~0ull;
    if (a == INT32_MIN && b == -1)
        return (uint64_t)(int64_t)a;
    return (uint64_t)(int64_t)(a / b);
}

static inline uint64_t int_remw(int32_t a, int32_t b)
{
    if (b == 0)
        return (uint64_t)(int64_t)a;
    if (a == INT32_MIN && b == -1)
        return 0;
    return (uint64_t)(int64_t)(a % b);
}

/* The value an integer operation computes from its operands. */
EXEC_INLINE uint64_t int_value(enum op op, uint64_t rs1, uint64_t rs2, int64_t imm, uint64_t pc)
{
    switch (op) {
    case OP_LUI: return (uint64_t)imm;
    case OP_AUIPC: return pc + (uint64_t)imm;
    case OP_ADDI: return rs1 + (uint64_t)imm;
    case OP_SLTI: return (int64_t)rs1 < imm;
    case OP_SLTIU: return rs1 < (uint64_t)imm;
    case OP_XORI: return rs1 ^ (uint64_t)imm;
    case OP_ORI: return rs1 | (uint64_t)imm;
    case OP_ANDI: return rs1 & (uint64_t)imm;
    case OP_SLLI: return rs1 << (imm & 63);
    case OP_SRLI: return rs1 >> (imm & 63);
    case OP_SRAI: return (uint64_t)((int64_t)rs1 >> (imm & 63));
    case OP_ADD: return rs1 + rs2;
    case OP_SUB: return rs1 - rs2;
    case OP_SLL: return rs1 << (rs2 & 63);
    case OP_SLT: return (int64_t)rs1 < (int64_t)rs2;
    case OP_SLTU: return rs1 < rs2;
    case OP_XOR: return rs1 ^ rs2;
    case OP_SRL: return rs1 >> (rs2 & 63);
    case OP_SRA: return (uint64_t)((int64_t)rs1 >> (rs2 & 63));
    case OP_OR: return rs1 | rs2;
    case OP_AND: return rs1 & rs2;
    case OP_ADDIW: return (uint64_t)sx32(rs1 + (uint64_t)imm);
    case OP_SLLIW: return (uint64_t)sx32((uint32_t)rs1 << (imm & 31));
    case OP_SRLIW: return (uint64_t)sx32((uint32_t)rs1 >> (imm & 31));
    case OP_SRAIW: return (uint64_t)(int64_t)((int32_t)rs1 >> (imm & 31));
    case OP_ADDW: return (uint64_t)sx32(rs1 + rs2);
    case OP_SUBW: return (uint64_t)sx32(rs1 - rs2);
    case OP_SLLW: return (uint64_t)sx32((uint32_t)rs1 << (rs2 & 31));
    case OP_SRLW: return (uint64_t)sx32((uint32_t)rs1 >> (rs2 & 31));
    case OP_SRAW: return (uint64_t)(int64_t)((int32_t)rs1 >> (rs2 & 31));
    case OP_MUL: return rs1 * rs2;
    case OP_MULH: return mulh((int64_t)rs1, (int64_t)rs2);
    case OP_MULHSU: return mulhsu((int64_t)rs1, rs2);
    case OP_MULHU: return mulhu(rs1, rs2);
    case OP_DIV: return int_div((int64_t)rs1, (int64_t)rs2);
    case OP_DIVU: return rs2 ? rs1 / rs2 : ~0ull;
    case OP_REM: return int_rem((int64_t)rs1, (int64_t)rs2);
    case OP_REMU: return rs2 ? rs1 % rs2 : rs1;
    case OP_MULW: return (uint64_t)sx32(rs1 * rs2);
    case OP_DIVW: return int_divw((int32_t)rs1, (int32_t)rs2);
    case OP_DIVUW: return (uint32_t)rs2 ? (uint64_t)sx32((uint32_t)rs1 / (uint32_t)rs2) : ~0ull;
    case OP_REMW: return int_remw((int32_t)rs1, (int32_t)rs2);
    case OP_REMUW:
        return (uint64_t)sx32((uint32_t)rs2 ? (uint32_t)rs1 % (uint32_t)rs2 : (uint32_t)rs1);
    case OP_SH1ADD: return (rs1 << 1) + rs2;
    case OP_SH2ADD: return (rs1 << 2) + rs2;
    case OP_SH3ADD: return (rs1 << 3) + rs2;
    case OP_ADD_UW: return (uint32_t)rs1 + rs2;
    case OP_SH1ADD_UW: return ((uint64_t)(uint32_t)rs1 << 1) + rs2;
    case OP_SH2ADD_UW: return ((uint64_t)(uint32_t)rs1 << 2) + rs2;
    case OP_SH3ADD_UW: return ((uint64_t)(uint32_t)rs1 << 3) + rs2;
    case OP_SLLI_UW: return (uint64_t)(uint32_t)rs1 << (imm & 63);
    case OP_ANDN: return rs1 & ~rs2;
    case OP_ORN: return rs1 | ~rs2;
    case OP_XNOR: return ~(rs1 ^ rs2);
    case OP_CLZ: return rs1 ? (uint64_t)__builtin_clzll(rs1) : 64;
    case OP_CTZ: return rs1 ? (uint64_t)__builtin_ctzll(rs1) : 64;
    case OP_CPOP: return (uint64_t)__builtin_popcountll(rs1);
    case OP_CLZW: return (uint32_t)rs1 ? (uint64_t)__builtin_clz((uint32_t)rs1) : 32;
    case OP_CTZW: return (uint32_t)rs1 ? (uint64_t)__builtin_ctz((uint32_t)rs1) : 32;
    case OP_CPOPW: return (uint64_t)__builtin_popcount((uint32_t)rs1);
    case OP_MAX: return (int64_t)rs1 > (int64_t)rs2 ? rs1 : rs2;
    case OP_MAXU: return rs1 > rs2 ? rs1 : rs2;
    case OP_MIN: return (int64_t)rs1 < (int64_t)rs2 ? rs1 : rs2;
    case OP_MINU: return rs1 < rs2 ? rs1 : rs2;
    case OP_SEXT_B: return (uint64_t)(int64_t)(int8_t)rs1;
    case OP_SEXT_H: return (uint64_t)(int64_t)(int16_t)rs1;
    case OP_ZEXT_H: return (uint16_t)rs1;
    case OP_ROL: return rol64(rs1, (unsigned)rs2);
    case OP_ROR: return rol64(rs1, 64 - (unsigned)(rs2 & 63));
    case OP_RORI: return rol64(rs1, 64 - (unsigned)(imm & 63));
    case OP_ROLW: return (uint64_t)sx32(rol32((uint32_t)rs1, (unsigned)rs2));
    case OP_RORW: return (uint64_t)sx32(rol32((uint32_t)rs1, 32 - (unsigned)(rs2 & 31)));
    case OP_RORIW: return (uint64_t)sx32(rol32((uint32_t)rs1, 32 - (unsigned)(imm & 31)));
    case OP_ORC_B: return orc_b(rs1);
    case OP_REV8: return __builtin_bswap64(rs1);
    case OP_BCLR: return rs1 & ~(1ull << (rs2 & 63));
    case OP_BCLRI: return rs1 & ~(1ull << (imm & 63));
    case OP_BEXT: return (rs1 >> (rs2 & 63)) & 1;
    case OP_BEXTI: return (rs1 >> (imm & 63)) & 1;
    case OP_BINV: return rs1 ^ (1ull << (rs2 & 63));
    case OP_BINVI: return rs1 ^ (1ull << (imm & 63));
    case OP_BSET: return rs1 | (1ull << (rs2 & 63));
    case OP_BSETI: return rs1 | (1ull << (imm & 63));
    case OP_CZERO_EQZ: return rs2 ? rs1 : 0;
    case OP_CZERO_NEZ: return rs2 ? 0 : rs1;
    default: __builtin_unreachable();
    }
}

EXEC_INLINE enum exec_status exec_INT(struct dv_hart *h, const struct insn *in, enum op op,
                                      uint64_t pc, uint64_t *next)
{
    (void)next;
    h->x[in->rd] = int_value(op, h->x[in->rs1], h->x[in->rs2], in->imm, pc);
    return EXEC_RETIRE;
}

#endif
