/* SPDX-License-Identifier: MIT */
/*
 * x86_64.h - an x86-64 machine-code emitter for the JIT.
 *
 * Each function appends one instruction (x86_align: a few NOPs) to a code
 * buffer in its standard encoding (Intel SDM vol. 2). A REX prefix is emitted
 * only when the instruction needs one: REX.W, an extended register (r8-r15)
 * or an 8-bit access to spl/bpl/sil/dil. Memory operands use the shortest
 * ModRM/SIB/displacement form.
 *
 * An instruction that does not fit in the buffer is not written at all; the
 * buffer then sets `overflow` and ignores everything emitted after it, so the
 * caller checks the flag once, at the end of a block.
 *
 * Invalid use (rsp as an index, a bad scale or size, a shift count out of
 * range, a rel32 target out of reach) fails an assert.
 */
#ifndef DUVISOR_HART_JIT_X86_64_H
#define DUVISOR_HART_JIT_X86_64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum x86_reg {
    X86_RAX,
    X86_RCX,
    X86_RDX,
    X86_RBX,
    X86_RSP,
    X86_RBP,
    X86_RSI,
    X86_RDI,
    X86_R8,
    X86_R9,
    X86_R10,
    X86_R11,
    X86_R12,
    X86_R13,
    X86_R14,
    X86_R15
};

/* A code buffer. Emitting past `end` writes nothing and sets `overflow` (the caller checks it once
 * at the end). */
struct x86_buf {
    uint8_t *start, *p, *end;
    bool overflow;
};

/* A memory operand [base + index*scale + disp]; index = -1 for none; base is always a register (no
 * RIP-relative, no absolute). */
struct x86_mem {
    int8_t base, index;
    uint8_t scale;
    int32_t disp;
};
#define X86_MEM(b, d) ((struct x86_mem){(int8_t)(b), -1, 1, (int32_t)(d)})
#define X86_MEMI(b, i, s, d)                                                                       \
    ((struct x86_mem){(int8_t)(b), (int8_t)(i), (uint8_t)(s), (int32_t)(d)})

/* The values are the ModRM.reg opcode extensions of the 80/81/83 group. */
enum x86_alu {
    X86_ADD = 0,
    X86_OR = 1,
    X86_ADC = 2,
    X86_SBB = 3,
    X86_AND = 4,
    X86_SUB = 5,
    X86_XOR = 6,
    X86_CMP = 7
};
/* The values are the ModRM.reg opcode extensions of the C1/D3 group. */
enum x86_shift { X86_ROL = 0, X86_ROR = 1, X86_SHL = 4, X86_SHR = 5, X86_SAR = 7 };
/* The values are the condition nibble of Jcc/SETcc/CMOVcc. */
enum x86_cc {
    X86_CC_O,
    X86_CC_NO,
    X86_CC_B,
    X86_CC_AE,
    X86_CC_E,
    X86_CC_NE,
    X86_CC_BE,
    X86_CC_A,
    X86_CC_S,
    X86_CC_NS,
    X86_CC_P,
    X86_CC_NP,
    X86_CC_L,
    X86_CC_GE,
    X86_CC_LE,
    X86_CC_G
};

/* SSE registers xmm0-xmm15. */
enum x86_xmm {
    X86_XMM0,
    X86_XMM1,
    X86_XMM2,
    X86_XMM3,
    X86_XMM4,
    X86_XMM5,
    X86_XMM6,
    X86_XMM7,
    X86_XMM8,
    X86_XMM9,
    X86_XMM10,
    X86_XMM11,
    X86_XMM12,
    X86_XMM13,
    X86_XMM14,
    X86_XMM15
};
/* Scalar SSE/SSE2 operations, dst op= src: the sd forms act on the low double (F2 0F op, m64), the
 * ss forms on the low float (F3 0F op, m32). The rest of dst is kept. (u)comisd (66 0F 2E/2F) and
 * (u)comiss (0F 2E/2F) compare instead: ZF, PF, CF as for an unsigned compare, PF = unordered;
 * comis* also raises invalid for a quiet NaN, ucomis* only for a signalling one. */
enum x86_sse {
    X86_ADDSD,
    X86_MULSD,
    X86_SUBSD,
    X86_DIVSD,
    X86_SQRTSD, /* dst = sqrt(src) */
    X86_UCOMISD,
    X86_COMISD,
    X86_ADDSS,
    X86_MULSS,
    X86_SUBSS,
    X86_DIVSS,
    X86_SQRTSS,
    X86_UCOMISS,
    X86_COMISS
};
/*
 * FMA3 operations; the values are the offsets from the 132/213/231 opcode bases. With a = the
 * product and c = the addend: vfmadd a + c, vfmsub a - c, vfnmadd -a + c, vfnmsub -a - c, each
 * rounded once. Note the names against RISC-V's: fmadd = vfmadd, fmsub = vfmsub, but RISC-V fnmsub
 * (-(rs1*rs2) + rs3) is vfnmadd and fnmadd (-(rs1*rs2) - rs3) is vfnmsub.
 */
enum x86_fma { X86_VFMADD = 0, X86_VFMSUB = 2, X86_VFNMADD = 4, X86_VFNMSUB = 6 };
/* Which operands are the product and which the addend (Intel's operand order 1, 2, 3 = dst, src1,
 * src2); the values are the vfmadd opcodes (VEX.66.0F38).
 *   132: dst = dst * src2 +- src1
 *   213: dst = src1 * dst +- src2
 *   231: dst = src1 * src2 +- dst */
enum x86_fma_order { X86_FMA132 = 0x99, X86_FMA213 = 0xA9, X86_FMA231 = 0xB9 };

/* The condition that holds exactly when `cc` does not (the encodings pair up in the low bit). */
static inline enum x86_cc x86_cc_invert(enum x86_cc cc)
{
    return (enum x86_cc)(cc ^ 1);
}

/* Bytes emitted so far. */
static inline size_t x86_used(const struct x86_buf *b)
{
    return (size_t)(b->p - b->start);
}

void x86_init(struct x86_buf *b, void *start, size_t size);

/* w64: 64-bit operand size (REX.W) when true, 32-bit otherwise (32-bit ops zero the upper half, as
 * x86 does). */
void x86_alu_rr(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst,
                enum x86_reg src); /* dst op= src */
/* imm8 form (83 /op) when it fits, else 81 /op imm32. */
void x86_alu_ri(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst, int32_t imm);
void x86_alu_rm(struct x86_buf *b, enum x86_alu op, bool w64, enum x86_reg dst,
                struct x86_mem m); /* dst op= [m] */
void x86_alu_mr(struct x86_buf *b, enum x86_alu op, bool w64, struct x86_mem m,
                enum x86_reg src); /* [m] op= src */
void x86_alu_mi(struct x86_buf *b, enum x86_alu op, bool w64, struct x86_mem m, int32_t imm);
void x86_test_rr(struct x86_buf *b, bool w64, enum x86_reg a, enum x86_reg c);
void x86_test_ri(struct x86_buf *b, bool w64, enum x86_reg a, int32_t imm); /* F7 /0 imm32 */
void x86_mov_rr(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src);
/* dst = imm, in the shortest form that does NOT touch flags: mov r32, imm32 when imm fits in 32
 * unsigned bits, mov r/m64 with sign-extended imm32 when it fits that, else movabs. */
void x86_mov_ri(struct x86_buf *b, enum x86_reg dst, uint64_t imm);
/* dst = [m], size 1/2/4/8, zero- or sign-extended to 64 bits (movzx, movsx, mov r32, movsxd, mov
 * r64). */
void x86_load(struct x86_buf *b, unsigned size, bool sign, enum x86_reg dst, struct x86_mem m);
void x86_store(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg src); /* 1/2/4/8 */
/* size 1/2/4/8; imm is truncated to the size; 8 sign-extends imm. */
void x86_store_imm(struct x86_buf *b, unsigned size, struct x86_mem m, int32_t imm);
void x86_lea(struct x86_buf *b, bool w64, enum x86_reg dst, struct x86_mem m);
/* C1 /op imm8 (also for 1); imm below the operand width. */
void x86_shift_ri(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg r, uint8_t imm);
void x86_shift_cl(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg r);
/* BMI2 shlx/shrx/sarx (op X86_SHL, X86_SHR or X86_SAR): dst = src shifted by count (masked to
 * the width, like RISC-V), any registers, flags untouched. The CPU must have BMI2. */
void x86_shiftx(struct x86_buf *b, enum x86_shift op, bool w64, enum x86_reg dst, enum x86_reg src,
                enum x86_reg count);
void x86_imul_rr(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src); /* 0F AF */
void x86_imul_rri(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src, int32_t imm);
/* rdx:rax = rax * src: F7 /4 (mul) or /5 (imul) */
void x86_mul1(struct x86_buf *b, bool w64, bool is_signed, enum x86_reg src);
void x86_div1(struct x86_buf *b, bool w64, bool is_signed, enum x86_reg src); /* F7 /6, /7 */
void x86_cqo(struct x86_buf *b, bool w64);                                    /* cqo (w64) or cdq */
void x86_neg(struct x86_buf *b, bool w64, enum x86_reg r);
void x86_not(struct x86_buf *b, bool w64, enum x86_reg r);
/* 1,2,4 -> 64 bits */
void x86_movsx_rr(struct x86_buf *b, unsigned from_size, enum x86_reg dst, enum x86_reg src);
/* 1,2 -> movzx r32; 4 -> mov r32, r32 */
void x86_movzx_rr(struct x86_buf *b, unsigned from_size, enum x86_reg dst, enum x86_reg src);
/* low byte; REX when r is spl/bpl/sil/dil/r8+ */
void x86_setcc(struct x86_buf *b, enum x86_cc cc, enum x86_reg r);
void x86_cmov(struct x86_buf *b, enum x86_cc cc, bool w64, enum x86_reg dst, enum x86_reg src);
void x86_bswap(struct x86_buf *b, bool w64, enum x86_reg r);
void x86_popcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src);
void x86_lzcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src);
void x86_tzcnt(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src);
/* BMI1 VEX: dst = ~src1 & src2 */
void x86_andn(struct x86_buf *b, bool w64, enum x86_reg dst, enum x86_reg src1, enum x86_reg src2);
void x86_push(struct x86_buf *b, enum x86_reg r);
void x86_pop(struct x86_buf *b, enum x86_reg r);
void x86_ret(struct x86_buf *b);
void x86_mfence(struct x86_buf *b);
void x86_int3(struct x86_buf *b);
/* size 4 or 8. xchg with memory is locked implicitly. */
void x86_xchg_mr(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r);
/* size 4 or 8. [m] += r, r = the old [m]. */
void x86_lock_xadd(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r);
/* size 4 or 8; compares with eax/rax */
void x86_lock_cmpxchg(struct x86_buf *b, unsigned size, struct x86_mem m, enum x86_reg r);

/* Scalar floating point: SSE2; the FMA forms need FMA3. */
/* The low 64 bits from/to memory: movsd xmm, m64 (F2 0F 10, zeroes the rest of dst) and movsd m64,
 * xmm (F2 0F 11). */
void x86_movsd_load(struct x86_buf *b, enum x86_xmm dst, struct x86_mem m);
void x86_movsd_store(struct x86_buf *b, struct x86_mem m, enum x86_xmm src);
/* The low 64 bits from/to a general register: movq xmm, r64 (66 REX.W 0F 6E, zeroes the rest of
 * dst) and movq r64, xmm (66 REX.W 0F 7E). */
void x86_movq_to_xmm(struct x86_buf *b, enum x86_xmm dst, enum x86_reg src);
void x86_movq_from_xmm(struct x86_buf *b, enum x86_reg dst, enum x86_xmm src);
void x86_sse_op_rr(struct x86_buf *b, enum x86_sse op, enum x86_xmm dst, enum x86_xmm src);
/* src is the m64 (sd) or m32 (ss) at m */
void x86_sse_op_rm(struct x86_buf *b, enum x86_sse op, enum x86_xmm dst, struct x86_mem m);
/* Scalar double FMA, VEX.66.0F38.W1 (order + kind): vfmadd231sd etc.; see enum x86_fma_order for
 * which operands multiply. Bits 127:64 of dst are kept, bits 255:128 cleared (VEX.128). */
void x86_fma_sd(struct x86_buf *b, enum x86_fma kind, enum x86_fma_order order, enum x86_xmm dst,
                enum x86_xmm src1, enum x86_xmm src2);
/* x86_fma_sd(b, kind, X86_FMA231, ...): the product src1 * src2, the addend dst. */
void x86_fma231sd(struct x86_buf *b, enum x86_fma kind, enum x86_xmm dst, enum x86_xmm src1,
                  enum x86_xmm src2);
void x86_stmxcsr(struct x86_buf *b, struct x86_mem m); /* 0F AE /3: [m] (32 bits) = MXCSR */
void x86_ldmxcsr(struct x86_buf *b, struct x86_mem m); /* 0F AE /2: MXCSR = [m] */

/* Control flow: always the rel32 forms. target may be NULL (a placeholder to patch later: the rel32
 * is left 0). Each returns the address of the rel32 field, or NULL on overflow. A non-NULL target
 * must be within reach (x86_rel32_ok). */
uint8_t *x86_jmp(struct x86_buf *b, const void *target);
uint8_t *x86_jcc(struct x86_buf *b, enum x86_cc cc, const void *target);
/* E8 rel32; target must be within +-2 GiB (check with x86_rel32_ok) */
uint8_t *x86_call(struct x86_buf *b, const void *target);
void x86_call_r(struct x86_buf *b, enum x86_reg r);
void x86_jmp_r(struct x86_buf *b, enum x86_reg r);
void x86_jmp_m(struct x86_buf *b, struct x86_mem m); /* jmp qword [m] */
/* target - field_end fits in int32 */
bool x86_rel32_ok(const void *field_end, const void *target);
/* Point an emitted rel32 field at target (relative to the field's end). */
void x86_patch_rel32(uint8_t *field, const void *target);
/* Pad with multi-byte NOPs until b->p is aligned to `align` (a power of two). */
void x86_align(struct x86_buf *b, unsigned align);

#endif
