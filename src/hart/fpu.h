/* SPDX-License-Identifier: MIT */
/*
 * fpu.h - RISC-V F/D extension arithmetic core for the software hart.
 *
 * Pure functions on raw IEEE 754 bit patterns (binary32 in uint32_t,
 * binary64 in uint64_t) with exact RISC-V semantics (unprivileged spec,
 * chapters "F" and "D"): NaN results are always the canonical NaN,
 * exception flags are ORed into *flags (accrued, never cleared), tininess
 * is detected after rounding.  Register files, NaN-boxing, fsgnj*, fmv.*,
 * loads and stores are the caller's business.
 *
 * Rounding modes must already be resolved (never 7 / dynamic); an invalid
 * value is treated as RNE.
 */
#ifndef DUVISOR_HART_FPU_H
#define DUVISOR_HART_FPU_H

#include <stdbool.h>
#include <stdint.h>

enum fp_rm { FP_RNE = 0, FP_RTZ = 1, FP_RDN = 2, FP_RUP = 3, FP_RMM = 4 };
enum { FP_NX = 1, FP_UF = 2, FP_OF = 4, FP_DZ = 8, FP_NV = 16 };

#define F32_CANONICAL_NAN UINT32_C(0x7fc00000)
#define F64_CANONICAL_NAN UINT64_C(0x7ff8000000000000)
#define F16_CANONICAL_NAN UINT16_C(0x7e00)

/* fclass result bits */
enum {
    FP_CLASS_NEG_INF = 1u << 0,
    FP_CLASS_NEG_NORMAL = 1u << 1,
    FP_CLASS_NEG_SUBNORMAL = 1u << 2,
    FP_CLASS_NEG_ZERO = 1u << 3,
    FP_CLASS_POS_ZERO = 1u << 4,
    FP_CLASS_POS_SUBNORMAL = 1u << 5,
    FP_CLASS_POS_NORMAL = 1u << 6,
    FP_CLASS_POS_INF = 1u << 7,
    FP_CLASS_SNAN = 1u << 8,
    FP_CLASS_QNAN = 1u << 9,
};

/* ---- binary32 ---- */
uint32_t f32_add(uint32_t a, uint32_t b, enum fp_rm rm, unsigned *flags);
uint32_t f32_sub(uint32_t a, uint32_t b, enum fp_rm rm, unsigned *flags);
uint32_t f32_mul(uint32_t a, uint32_t b, enum fp_rm rm, unsigned *flags);
uint32_t f32_div(uint32_t a, uint32_t b, enum fp_rm rm, unsigned *flags);
uint32_t f32_sqrt(uint32_t a, enum fp_rm rm, unsigned *flags);
/* (neg_product ? -(a*b) : a*b) + (neg_addend ? -c : c), rounded once:
 * fmadd (0,0), fmsub (0,1), fnmsub (1,0), fnmadd (1,1). */
uint32_t f32_fma(uint32_t a, uint32_t b, uint32_t c, bool neg_product, bool neg_addend,
                 enum fp_rm rm, unsigned *flags);
uint32_t f32_min(uint32_t a, uint32_t b, unsigned *flags);
uint32_t f32_max(uint32_t a, uint32_t b, unsigned *flags);
int f32_eq(uint32_t a, uint32_t b, unsigned *flags); /* quiet */
int f32_lt(uint32_t a, uint32_t b, unsigned *flags); /* signalling */
int f32_le(uint32_t a, uint32_t b, unsigned *flags); /* signalling */
unsigned f32_class(uint32_t a);
/* Saturating: NaN and +overflow -> max, -overflow -> min, NV; NX if the
 * in-range result is inexact.  f32_to_u32 returns the 32-bit pattern. */
int32_t f32_to_i32(uint32_t a, enum fp_rm rm, unsigned *flags);
uint32_t f32_to_u32(uint32_t a, enum fp_rm rm, unsigned *flags);
int64_t f32_to_i64(uint32_t a, enum fp_rm rm, unsigned *flags);
uint64_t f32_to_u64(uint32_t a, enum fp_rm rm, unsigned *flags);
uint32_t i32_to_f32(int32_t v, enum fp_rm rm, unsigned *flags);
uint32_t u32_to_f32(uint32_t v, enum fp_rm rm, unsigned *flags);
uint32_t i64_to_f32(int64_t v, enum fp_rm rm, unsigned *flags);
uint32_t u64_to_f32(uint64_t v, enum fp_rm rm, unsigned *flags);
uint64_t f32_to_f64(uint32_t a, unsigned *flags);

/* ---- binary64 ---- */
uint64_t f64_add(uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t f64_sub(uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t f64_mul(uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t f64_div(uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t f64_sqrt(uint64_t a, enum fp_rm rm, unsigned *flags);
uint64_t f64_fma(uint64_t a, uint64_t b, uint64_t c, bool neg_product, bool neg_addend,
                 enum fp_rm rm, unsigned *flags);
uint64_t f64_min(uint64_t a, uint64_t b, unsigned *flags);
uint64_t f64_max(uint64_t a, uint64_t b, unsigned *flags);
int f64_eq(uint64_t a, uint64_t b, unsigned *flags);
int f64_lt(uint64_t a, uint64_t b, unsigned *flags);
int f64_le(uint64_t a, uint64_t b, unsigned *flags);
unsigned f64_class(uint64_t a);
int32_t f64_to_i32(uint64_t a, enum fp_rm rm, unsigned *flags);
uint32_t f64_to_u32(uint64_t a, enum fp_rm rm, unsigned *flags);
int64_t f64_to_i64(uint64_t a, enum fp_rm rm, unsigned *flags);
uint64_t f64_to_u64(uint64_t a, enum fp_rm rm, unsigned *flags);
uint64_t i32_to_f64(int32_t v, enum fp_rm rm, unsigned *flags);
uint64_t u32_to_f64(uint32_t v, enum fp_rm rm, unsigned *flags);
uint64_t i64_to_f64(int64_t v, enum fp_rm rm, unsigned *flags);
uint64_t u64_to_f64(uint64_t v, enum fp_rm rm, unsigned *flags);
uint32_t f64_to_f32(uint64_t a, enum fp_rm rm, unsigned *flags);

/* ---- binary16 (Zfh): software only, rounded once from the exact result ---- */
uint16_t f16_add(uint16_t a, uint16_t b, enum fp_rm rm, unsigned *flags);
uint16_t f16_sub(uint16_t a, uint16_t b, enum fp_rm rm, unsigned *flags);
uint16_t f16_mul(uint16_t a, uint16_t b, enum fp_rm rm, unsigned *flags);
uint16_t f16_div(uint16_t a, uint16_t b, enum fp_rm rm, unsigned *flags);
uint16_t f16_sqrt(uint16_t a, enum fp_rm rm, unsigned *flags);
uint16_t f16_fma(uint16_t a, uint16_t b, uint16_t c, bool neg_product, bool neg_addend,
                 enum fp_rm rm, unsigned *flags);
uint16_t f16_min(uint16_t a, uint16_t b, unsigned *flags);
uint16_t f16_max(uint16_t a, uint16_t b, unsigned *flags);
int f16_eq(uint16_t a, uint16_t b, unsigned *flags);
int f16_lt(uint16_t a, uint16_t b, unsigned *flags);
int f16_le(uint16_t a, uint16_t b, unsigned *flags);
unsigned f16_class(uint16_t a);
int32_t f16_to_i32(uint16_t a, enum fp_rm rm, unsigned *flags);
uint32_t f16_to_u32(uint16_t a, enum fp_rm rm, unsigned *flags);
int64_t f16_to_i64(uint16_t a, enum fp_rm rm, unsigned *flags);
uint64_t f16_to_u64(uint16_t a, enum fp_rm rm, unsigned *flags);
uint16_t i32_to_f16(int32_t v, enum fp_rm rm, unsigned *flags);
uint16_t u32_to_f16(uint32_t v, enum fp_rm rm, unsigned *flags);
uint16_t i64_to_f16(int64_t v, enum fp_rm rm, unsigned *flags);
uint16_t u64_to_f16(uint64_t v, enum fp_rm rm, unsigned *flags);
uint32_t f16_to_f32(uint16_t a, unsigned *flags); /* exact */
uint64_t f16_to_f64(uint16_t a, unsigned *flags); /* exact */
uint16_t f32_to_f16(uint32_t a, enum fp_rm rm, unsigned *flags);
uint16_t f64_to_f16(uint64_t a, enum fp_rm rm, unsigned *flags);

/*
 * Software reference implementation (integer-only, all five rounding
 * modes).  The functions above use it for RMM and as a fallback when the
 * host cannot give the RISC-V answer; it is exported so tests can
 * cross-check the host path against it.  Operands and results are raw
 * bit patterns of the given format in the low bits.
 */
enum fp_fmt { FP_FMT_F32, FP_FMT_F64, FP_FMT_F16 };
uint64_t fpu_soft_add(enum fp_fmt fmt, uint64_t a, uint64_t b, bool negate_b, enum fp_rm rm,
                      unsigned *flags);
uint64_t fpu_soft_mul(enum fp_fmt fmt, uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t fpu_soft_div(enum fp_fmt fmt, uint64_t a, uint64_t b, enum fp_rm rm, unsigned *flags);
uint64_t fpu_soft_sqrt(enum fp_fmt fmt, uint64_t a, enum fp_rm rm, unsigned *flags);
uint64_t fpu_soft_fma(enum fp_fmt fmt, uint64_t a, uint64_t b, uint64_t c, bool neg_product,
                      bool neg_addend, enum fp_rm rm, unsigned *flags);
/* v is an int64_t bit pattern when is_signed, else a uint64_t */
uint64_t fpu_soft_from_int(enum fp_fmt fmt, uint64_t v, bool is_signed, enum fp_rm rm,
                           unsigned *flags);
/* format conversion (narrowing or widening) */
uint64_t fpu_soft_convert(enum fp_fmt to, enum fp_fmt from, uint64_t a, enum fp_rm rm,
                          unsigned *flags);

/*
 * Zfa, for any format (operands and results are raw bit patterns of fmt):
 * fli's 32 constants (index 0..31), fminm/fmaxm (IEEE 754-2019 minimum and
 * maximum: a NaN operand gives the canonical NaN), fround/froundnx (round
 * to an integral value in rm; NX only when exact is set), fleq/fltq (NV
 * only for signalling NaNs), and fcvtmod.w.d (the low 32 bits of the
 * truncated value, sign-extended; NaN and infinities give 0; flags as
 * fcvt.w.d raises them).
 */
uint64_t fp_fli(enum fp_fmt fmt, unsigned index);
uint64_t fp_minimum(enum fp_fmt fmt, uint64_t a, uint64_t b, bool max, unsigned *flags);
uint64_t fp_round_integral(enum fp_fmt fmt, uint64_t a, enum fp_rm rm, bool exact, unsigned *flags);
int fp_le_quiet(enum fp_fmt fmt, uint64_t a, uint64_t b, unsigned *flags);
int fp_lt_quiet(enum fp_fmt fmt, uint64_t a, uint64_t b, unsigned *flags);
int64_t f64_to_i32_modular(uint64_t a, unsigned *flags);

/* true if the host FPU path is compiled in (false: everything is software) */
bool fpu_uses_host(void);
/* true if libm's fma()/fmaf() passed the one-time self-test and are used
 * for fma in RNE/RTZ/RDN/RUP (runs the self-test if not done yet) */
bool fpu_host_fma_usable(void);

#endif /* DUVISOR_HART_FPU_H */
