/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/hart/fpu.c: RISC-V F/D arithmetic on raw bit patterns.
 *
 * Expected values are exact bit patterns and fflags derived from the
 * RISC-V unprivileged spec (F/D chapters) and IEEE 754-2019.  Mode order in
 * the five-column tables is RNE, RTZ, RDN, RUP, RMM.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hart/fpu.h"

#if defined(__clang__)
#pragma STDC FENV_ACCESS ON
#endif

#define NX FP_NX
#define UF FP_UF
#define OF FP_OF
#define DZ FP_DZ
#define NV FP_NV

#define CN32 F32_CANONICAL_NAN
#define CN64 F64_CANONICAL_NAN

/* binary32 */
#define P1_32    0x3f800000u /* 1.0 */
#define M1_32    0xbf800000u /* -1.0 */
#define P2_32    0x40000000u /* 2.0 */
#define INF_32   0x7f800000u
#define NINF_32  0xff800000u
#define MAX_32   0x7f7fffffu
#define NMAX_32  0xff7fffffu
#define Z_32     0x00000000u
#define NZ_32    0x80000000u
#define QNAN_32  0x7fc12345u /* quiet NaN with payload */
#define NQNAN_32 0xffc00001u
#define SNAN_32  0x7f800001u
#define NSNAN_32 0xffa00000u
/* binary64 */
#define P1_64    UINT64_C(0x3ff0000000000000)
#define M1_64    UINT64_C(0xbff0000000000000)
#define P2_64    UINT64_C(0x4000000000000000)
#define INF_64   UINT64_C(0x7ff0000000000000)
#define NINF_64  UINT64_C(0xfff0000000000000)
#define MAX_64   UINT64_C(0x7fefffffffffffff)
#define NMAX_64  UINT64_C(0xffefffffffffffff)
#define Z_64     UINT64_C(0)
#define NZ_64    UINT64_C(0x8000000000000000)
#define QNAN_64  UINT64_C(0x7ff8000000012345)
#define NQNAN_64 UINT64_C(0xfff8000000000001)
#define SNAN_64  UINT64_C(0x7ff0000000000001)
#define NSNAN_64 UINT64_C(0xfff4000000000000)

#define I(x) ((uint64_t)(int64_t)(x))

static const enum fp_rm MODES[5] = {FP_RNE, FP_RTZ, FP_RDN, FP_RUP, FP_RMM};
static const char *const MODE_NAME[5] = {"RNE", "RTZ", "RDN", "RUP", "RMM"};

/* ---- uniform wrappers: args in, 64-bit result pattern out ---- */

typedef uint64_t (*op_fn)(const uint64_t *x, enum fp_rm rm, unsigned *fl);

#define WRAP_BIN(name, fn, AT)                                                                     \
    static uint64_t w_##name(const uint64_t *x, enum fp_rm rm, unsigned *fl)                       \
    {                                                                                              \
        return fn((AT)x[0], (AT)x[1], rm, fl);                                                     \
    }
#define WRAP_UN(name, fn, AT, RC)                                                                  \
    static uint64_t w_##name(const uint64_t *x, enum fp_rm rm, unsigned *fl)                       \
    {                                                                                              \
        return RC fn((AT)x[0], rm, fl);                                                            \
    }
#define WRAP_NORM(name, fn, AT, RC)                                                                \
    static uint64_t w_##name(const uint64_t *x, enum fp_rm rm, unsigned *fl)                       \
    {                                                                                              \
        (void)rm;                                                                                  \
        return RC fn((AT)x[0], (AT)x[1], fl);                                                      \
    }

WRAP_BIN(f32_add, f32_add, uint32_t)
WRAP_BIN(f32_sub, f32_sub, uint32_t)
WRAP_BIN(f32_mul, f32_mul, uint32_t)
WRAP_BIN(f32_div, f32_div, uint32_t)
WRAP_BIN(f64_add, f64_add, uint64_t)
WRAP_BIN(f64_sub, f64_sub, uint64_t)
WRAP_BIN(f64_mul, f64_mul, uint64_t)
WRAP_BIN(f64_div, f64_div, uint64_t)
WRAP_UN(f32_sqrt, f32_sqrt, uint32_t, )
WRAP_UN(f64_sqrt, f64_sqrt, uint64_t, )
WRAP_UN(f32_to_i32, f32_to_i32, uint32_t, (uint64_t)(int64_t))
WRAP_UN(f32_to_u32, f32_to_u32, uint32_t, (uint64_t))
WRAP_UN(f32_to_i64, f32_to_i64, uint32_t, (uint64_t))
WRAP_UN(f32_to_u64, f32_to_u64, uint32_t, )
WRAP_UN(f64_to_i32, f64_to_i32, uint64_t, (uint64_t)(int64_t))
WRAP_UN(f64_to_u32, f64_to_u32, uint64_t, (uint64_t))
WRAP_UN(f64_to_i64, f64_to_i64, uint64_t, (uint64_t))
WRAP_UN(f64_to_u64, f64_to_u64, uint64_t, )
WRAP_UN(i32_to_f32, i32_to_f32, int32_t, )
WRAP_UN(u32_to_f32, u32_to_f32, uint32_t, )
WRAP_UN(i64_to_f32, i64_to_f32, int64_t, )
WRAP_UN(u64_to_f32, u64_to_f32, uint64_t, )
WRAP_UN(i32_to_f64, i32_to_f64, int32_t, )
WRAP_UN(u32_to_f64, u32_to_f64, uint32_t, )
WRAP_UN(i64_to_f64, i64_to_f64, int64_t, )
WRAP_UN(u64_to_f64, u64_to_f64, uint64_t, )
WRAP_UN(f64_to_f32, f64_to_f32, uint64_t, )
WRAP_NORM(f32_min, f32_min, uint32_t, )
WRAP_NORM(f32_max, f32_max, uint32_t, )
WRAP_NORM(f64_min, f64_min, uint64_t, )
WRAP_NORM(f64_max, f64_max, uint64_t, )
WRAP_NORM(f32_eq, f32_eq, uint32_t, (uint64_t))
WRAP_NORM(f32_lt, f32_lt, uint32_t, (uint64_t))
WRAP_NORM(f32_le, f32_le, uint32_t, (uint64_t))
WRAP_NORM(f64_eq, f64_eq, uint64_t, (uint64_t))
WRAP_NORM(f64_lt, f64_lt, uint64_t, (uint64_t))
WRAP_NORM(f64_le, f64_le, uint64_t, (uint64_t))

static uint64_t w_f32_to_f64(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return f32_to_f64((uint32_t)x[0], fl);
}
/* x[3]: bit 0 negate product, bit 1 negate addend */
static uint64_t w_f32_fma(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    return f32_fma((uint32_t)x[0], (uint32_t)x[1], (uint32_t)x[2], x[3] & 1, (x[3] >> 1) & 1, rm,
                   fl);
}
static uint64_t w_f64_fma(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    return f64_fma(x[0], x[1], x[2], x[3] & 1, (x[3] >> 1) & 1, rm, fl);
}

#define ARGS(...) ((const uint64_t[]){__VA_ARGS__, 0, 0, 0})
#define R5(...)   ((const uint64_t[5]){__VA_ARGS__})
#define FL5(...)  ((const unsigned[5]){__VA_ARGS__})
#define FLALL(f)  FL5(f, f, f, f, f)
#define RALL(r)   R5(r, r, r, r, r)

/* one mode */
static void check1_(const char *what, int line, op_fn fn, const uint64_t *x, enum fp_rm rm,
                    uint64_t want, unsigned wantfl, unsigned prefl)
{
    unsigned fl = prefl;
    uint64_t r = fn(x, rm, &fl);
    if (r != want || fl != (wantfl | prefl))
        fail_msg("line %d: %s(0x%llx, 0x%llx, 0x%llx) %s: got 0x%llx "
                 "flags 0x%x, want 0x%llx flags 0x%x",
                 line, what, (unsigned long long)x[0], (unsigned long long)x[1],
                 (unsigned long long)x[2], MODE_NAME[rm < 5 ? rm : 0], (unsigned long long)r, fl,
                 (unsigned long long)want, wantfl | prefl);
}

/* all five modes */
static void check5_(const char *what, int line, op_fn fn, const uint64_t *x, const uint64_t want[5],
                    const unsigned wantfl[5])
{
    for (int m = 0; m < 5; m++) {
        check1_(what, line, fn, x, MODES[m], want[m], wantfl[m], 0);
        /* flags are accrued: pre-set bits stay set */
        check1_(what, line, fn, x, MODES[m], want[m], wantfl[m], DZ | UF);
    }
}

#define CHECK1(fn, args, rm, want, fl) check1_(#fn, __LINE__, w_##fn, args, rm, want, fl, 0)
#define CHECK5(fn, args, want, fl)     check5_(#fn, __LINE__, w_##fn, args, want, fl)
/* mode-independent ops */
#define CHECK(fn, args, want, fl)      CHECK5(fn, args, RALL(want), FLALL(fl))

/* ======================================================================
 * NaN handling
 * ====================================================================== */

static void test_canonical_nan_f32(void **state)
{
    (void)state;
    /* quiet NaN operands propagate no payload and raise nothing */
    CHECK(f32_add, ARGS(QNAN_32, P1_32), CN32, 0);
    CHECK(f32_add, ARGS(P1_32, NQNAN_32), CN32, 0);
    CHECK(f32_sub, ARGS(NQNAN_32, P1_32), CN32, 0);
    CHECK(f32_mul, ARGS(QNAN_32, P2_32), CN32, 0);
    CHECK(f32_div, ARGS(P2_32, QNAN_32), CN32, 0);
    CHECK(f32_sqrt, ARGS(QNAN_32), CN32, 0);
    CHECK(f32_sqrt, ARGS(NQNAN_32), CN32, 0);
    CHECK(f32_fma, ARGS(QNAN_32, P1_32, P1_32, 0), CN32, 0);
    CHECK(f32_fma, ARGS(P1_32, QNAN_32, P1_32, 3), CN32, 0);
    CHECK(f32_fma, ARGS(P1_32, P1_32, NQNAN_32, 1), CN32, 0);
    CHECK(f32_min, ARGS(QNAN_32, NQNAN_32), CN32, 0);
    CHECK(f32_max, ARGS(QNAN_32, QNAN_32), CN32, 0);
    CHECK(f64_to_f32, ARGS(QNAN_64), CN32, 0);
    CHECK(f64_to_f32, ARGS(NQNAN_64), CN32, 0);
    CHECK(f32_to_f64, ARGS(QNAN_32), CN64, 0);
    CHECK(f32_to_f64, ARGS(NQNAN_32), CN64, 0);
    /* signalling NaN operands: canonical NaN and NV */
    CHECK(f32_add, ARGS(SNAN_32, P1_32), CN32, NV);
    CHECK(f32_sub, ARGS(P1_32, NSNAN_32), CN32, NV);
    CHECK(f32_mul, ARGS(SNAN_32, QNAN_32), CN32, NV);
    CHECK(f32_div, ARGS(QNAN_32, SNAN_32), CN32, NV);
    CHECK(f32_sqrt, ARGS(SNAN_32), CN32, NV);
    CHECK(f32_fma, ARGS(P1_32, P1_32, SNAN_32, 0), CN32, NV);
    CHECK(f32_fma, ARGS(NSNAN_32, P1_32, QNAN_32, 2), CN32, NV);
    CHECK(f32_min, ARGS(SNAN_32, NSNAN_32), CN32, NV);
    CHECK(f32_max, ARGS(SNAN_32, QNAN_32), CN32, NV);
    CHECK(f64_to_f32, ARGS(SNAN_64), CN32, NV);
    CHECK(f32_to_f64, ARGS(SNAN_32), CN64, NV);
    /* invalid operations generate the canonical NaN */
    CHECK(f32_add, ARGS(INF_32, NINF_32), CN32, NV);
    CHECK(f32_sub, ARGS(NINF_32, NINF_32), CN32, NV);
    CHECK(f32_mul, ARGS(Z_32, INF_32), CN32, NV);
    CHECK(f32_mul, ARGS(NINF_32, NZ_32), CN32, NV);
    CHECK(f32_div, ARGS(Z_32, NZ_32), CN32, NV);
    CHECK(f32_div, ARGS(INF_32, NINF_32), CN32, NV);
    CHECK(f32_sqrt, ARGS(M1_32), CN32, NV);
    CHECK(f32_fma, ARGS(INF_32, P1_32, NINF_32, 0), CN32, NV);
}

static void test_canonical_nan_f64(void **state)
{
    (void)state;
    CHECK(f64_add, ARGS(QNAN_64, P1_64), CN64, 0);
    CHECK(f64_add, ARGS(P1_64, NQNAN_64), CN64, 0);
    CHECK(f64_sub, ARGS(NQNAN_64, P1_64), CN64, 0);
    CHECK(f64_mul, ARGS(QNAN_64, P2_64), CN64, 0);
    CHECK(f64_div, ARGS(P2_64, QNAN_64), CN64, 0);
    CHECK(f64_sqrt, ARGS(QNAN_64), CN64, 0);
    CHECK(f64_sqrt, ARGS(NQNAN_64), CN64, 0);
    CHECK(f64_fma, ARGS(QNAN_64, P1_64, P1_64, 0), CN64, 0);
    CHECK(f64_fma, ARGS(P1_64, QNAN_64, P1_64, 3), CN64, 0);
    CHECK(f64_fma, ARGS(P1_64, P1_64, NQNAN_64, 1), CN64, 0);
    CHECK(f64_min, ARGS(QNAN_64, NQNAN_64), CN64, 0);
    CHECK(f64_max, ARGS(QNAN_64, QNAN_64), CN64, 0);
    CHECK(f64_add, ARGS(SNAN_64, P1_64), CN64, NV);
    CHECK(f64_sub, ARGS(P1_64, NSNAN_64), CN64, NV);
    CHECK(f64_mul, ARGS(SNAN_64, QNAN_64), CN64, NV);
    CHECK(f64_div, ARGS(QNAN_64, SNAN_64), CN64, NV);
    CHECK(f64_sqrt, ARGS(SNAN_64), CN64, NV);
    CHECK(f64_fma, ARGS(P1_64, P1_64, SNAN_64, 0), CN64, NV);
    CHECK(f64_fma, ARGS(NSNAN_64, P1_64, QNAN_64, 2), CN64, NV);
    CHECK(f64_min, ARGS(SNAN_64, NSNAN_64), CN64, NV);
    CHECK(f64_max, ARGS(SNAN_64, QNAN_64), CN64, NV);
    CHECK(f64_add, ARGS(INF_64, NINF_64), CN64, NV);
    CHECK(f64_sub, ARGS(NINF_64, NINF_64), CN64, NV);
    CHECK(f64_mul, ARGS(Z_64, INF_64), CN64, NV);
    CHECK(f64_mul, ARGS(NINF_64, NZ_64), CN64, NV);
    CHECK(f64_div, ARGS(Z_64, NZ_64), CN64, NV);
    CHECK(f64_div, ARGS(INF_64, NINF_64), CN64, NV);
    CHECK(f64_sqrt, ARGS(M1_64), CN64, NV);
    CHECK(f64_fma, ARGS(INF_64, P1_64, NINF_64, 0), CN64, NV);
}

static void test_nan_signalling_rules(void **state)
{
    (void)state;
    /* fma: 0 * inf is invalid even when the addend is a quiet NaN */
    CHECK(f32_fma, ARGS(Z_32, INF_32, QNAN_32, 0), CN32, NV);
    CHECK(f32_fma, ARGS(NINF_32, NZ_32, QNAN_32, 3), CN32, NV);
    CHECK(f64_fma, ARGS(Z_64, INF_64, QNAN_64, 0), CN64, NV);
    CHECK(f64_fma, ARGS(INF_64, NZ_64, NQNAN_64, 1), CN64, NV);
    /* ... but qNaN * 0 + inf is not an invalid operation */
    CHECK(f32_fma, ARGS(QNAN_32, Z_32, INF_32, 0), CN32, 0);
    CHECK(f64_fma, ARGS(QNAN_64, Z_64, INF_64, 0), CN64, 0);
    /* fma infinities: product sign vs addend sign after negations */
    CHECK(f32_fma, ARGS(INF_32, P1_32, INF_32, 1), CN32, NV); /* -inf+inf */
    CHECK(f32_fma, ARGS(INF_32, P1_32, INF_32, 2), CN32, NV); /* inf-inf */
    CHECK(f32_fma, ARGS(INF_32, P1_32, INF_32, 3), NINF_32, 0);
    CHECK(f64_fma, ARGS(INF_64, M1_64, INF_64, 0), CN64, NV);
    CHECK(f64_fma, ARGS(INF_64, M1_64, INF_64, 2), NINF_64, 0);
    CHECK(f64_fma, ARGS(P1_64, P1_64, NINF_64, 1), NINF_64, 0);
    /* quiet compare: NV only for sNaN; signalling compares: any NaN */
    CHECK(f32_eq, ARGS(QNAN_32, QNAN_32), 0, 0);
    CHECK(f32_eq, ARGS(P1_32, SNAN_32), 0, NV);
    CHECK(f32_lt, ARGS(QNAN_32, P1_32), 0, NV);
    CHECK(f32_le, ARGS(P1_32, NQNAN_32), 0, NV);
    CHECK(f32_le, ARGS(SNAN_32, P1_32), 0, NV);
    CHECK(f64_eq, ARGS(QNAN_64, P1_64), 0, 0);
    CHECK(f64_eq, ARGS(NSNAN_64, P1_64), 0, NV);
    CHECK(f64_lt, ARGS(P1_64, QNAN_64), 0, NV);
    CHECK(f64_le, ARGS(QNAN_64, QNAN_64), 0, NV);
    /* min/max: a single quiet NaN is ignored silently */
    CHECK(f32_min, ARGS(QNAN_32, M1_32), M1_32, 0);
    CHECK(f64_max, ARGS(P1_64, NQNAN_64), P1_64, 0);
    /* NaN to integer is always invalid */
    CHECK(f32_to_i32, ARGS(QNAN_32), I(INT32_MAX), NV);
    CHECK(f64_to_u64, ARGS(QNAN_64), UINT64_MAX, NV);
}

/* ======================================================================
 * Rounding modes
 * ====================================================================== */

static void test_rounding_add(void **state)
{
    (void)state;
    /* 1 + 2^-24: exact tie between 1 and 1+2^-23 (RNE keeps even 1.0) */
    CHECK5(f32_add, ARGS(P1_32, 0x33800000),
           R5(0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001), FLALL(NX));
    CHECK5(f32_add, ARGS(M1_32, 0xb3800000),
           R5(0xbf800000, 0xbf800000, 0xbf800001, 0xbf800000, 0xbf800001), FLALL(NX));
    /* (1+2^-23) + 2^-24: tie with odd lower neighbour: RNE and RMM agree */
    CHECK5(f32_add, ARGS(0x3f800001, 0x33800000),
           R5(0x3f800002, 0x3f800001, 0x3f800001, 0x3f800002, 0x3f800002), FLALL(NX));
    /* non-ties: 1 + 0.75 ulp, 1 + 0.25 ulp */
    CHECK5(f32_add, ARGS(P1_32, 0x33c00000),
           R5(0x3f800001, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001), FLALL(NX));
    CHECK5(f32_add, ARGS(P1_32, 0x33000000),
           R5(0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800000), FLALL(NX));
    /* 1 - 2^-25: tie just below 1.0 (binade change) */
    CHECK5(f32_sub, ARGS(P1_32, 0x33000000),
           R5(0x3f800000, 0x3f7fffff, 0x3f7fffff, 0x3f800000, 0x3f800000), FLALL(NX));
    /* exact */
    CHECK(f32_add, ARGS(P1_32, P1_32), P2_32, 0);

    CHECK5(f64_add, ARGS(P1_64, 0x3ca0000000000000), /* 1 + 2^-53 */
           R5(0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000001,
              0x3ff0000000000001),
           FLALL(NX));
    CHECK5(f64_add, ARGS(M1_64, 0xbca0000000000000),
           R5(0xbff0000000000000, 0xbff0000000000000, 0xbff0000000000001, 0xbff0000000000000,
              0xbff0000000000001),
           FLALL(NX));
    CHECK5(f64_add, ARGS(0x3ff0000000000001, 0x3ca0000000000000),
           R5(0x3ff0000000000002, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ff0000000000002,
              0x3ff0000000000002),
           FLALL(NX));
    CHECK5(f64_add, ARGS(P1_64, 0x3ca8000000000000), /* 1 + 3*2^-54 */
           R5(0x3ff0000000000001, 0x3ff0000000000000, 0x3ff0000000000000, 0x3ff0000000000001,
              0x3ff0000000000001),
           FLALL(NX));
    CHECK5(f64_sub, ARGS(P1_64, 0x3c90000000000000), /* 1 - 2^-54 */
           R5(0x3ff0000000000000, 0x3fefffffffffffff, 0x3fefffffffffffff, 0x3ff0000000000000,
              0x3ff0000000000000),
           FLALL(NX));
}

static void test_rounding_mul(void **state)
{
    (void)state;
    /* (1+2^-12)^2 = 1 + 2^-11 + 2^-24: tie, even lower neighbour */
    CHECK5(f32_mul, ARGS(0x3f800800, 0x3f800800),
           R5(0x3f801000, 0x3f801000, 0x3f801000, 0x3f801001, 0x3f801001), FLALL(NX));
    CHECK5(f32_mul, ARGS(0xbf800800, 0x3f800800),
           R5(0xbf801000, 0xbf801000, 0xbf801001, 0xbf801000, 0xbf801001), FLALL(NX));
    /* (1+2^-12)(1+2^-12+2^-23): above the tie */
    CHECK5(f32_mul, ARGS(0x3f800800, 0x3f800801),
           R5(0x3f801002, 0x3f801001, 0x3f801001, 0x3f801002, 0x3f801002), FLALL(NX));
    /* (1+2^-27)(1+2^-26) = 1 + 2^-26 + 2^-27 + 2^-53: tie */
    CHECK5(f64_mul, ARGS(0x3ff0000002000000, 0x3ff0000004000000),
           R5(0x3ff0000006000000, 0x3ff0000006000000, 0x3ff0000006000000, 0x3ff0000006000001,
              0x3ff0000006000001),
           FLALL(NX));
    CHECK5(f64_mul, ARGS(0x3ff0000002000000, 0xbff0000004000000),
           R5(0xbff0000006000000, 0xbff0000006000000, 0xbff0000006000001, 0xbff0000006000000,
              0xbff0000006000001),
           FLALL(NX));
    /* (1+2^-27)(1+2^-26+2^-52): non-tie */
    CHECK5(f64_mul, ARGS(0x3ff0000002000000, 0x3ff0000004000001),
           R5(0x3ff0000006000002, 0x3ff0000006000001, 0x3ff0000006000001, 0x3ff0000006000002,
              0x3ff0000006000002),
           FLALL(NX));
    CHECK(f64_mul, ARGS(P2_64, M1_64), 0xc000000000000000, 0);
}

static void test_rounding_div_sqrt(void **state)
{
    (void)state;
    CHECK5(f32_div, ARGS(P1_32, 0x40400000), /* 1/3 */
           R5(0x3eaaaaab, 0x3eaaaaaa, 0x3eaaaaaa, 0x3eaaaaab, 0x3eaaaaab), FLALL(NX));
    CHECK5(f64_div, ARGS(M1_64, 0x4008000000000000), /* -1/3 */
           R5(0xbfd5555555555555, 0xbfd5555555555555, 0xbfd5555555555556, 0xbfd5555555555555,
              0xbfd5555555555555),
           FLALL(NX));
    CHECK(f64_div, ARGS(P1_64, 0x4010000000000000), 0x3fd0000000000000, 0);
    /* division by zero */
    CHECK(f32_div, ARGS(P1_32, Z_32), INF_32, DZ);
    CHECK(f32_div, ARGS(P1_32, NZ_32), NINF_32, DZ);
    CHECK(f64_div, ARGS(M1_64, Z_64), NINF_64, DZ);
    CHECK(f64_div, ARGS(INF_64, Z_64), INF_64, 0); /* not DZ */
    CHECK(f64_div, ARGS(Z_64, INF_64), Z_64, 0);
    CHECK(f32_div, ARGS(NZ_32, P2_32), NZ_32, 0);

    /* sqrt(2) */
    CHECK5(f32_sqrt, ARGS(P2_32), R5(0x3fb504f3, 0x3fb504f3, 0x3fb504f3, 0x3fb504f4, 0x3fb504f3),
           FLALL(NX));
    CHECK5(f64_sqrt, ARGS(P2_64),
           R5(0x3ff6a09e667f3bcd, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcc, 0x3ff6a09e667f3bcd,
              0x3ff6a09e667f3bcd),
           FLALL(NX));
    CHECK(f32_sqrt, ARGS(0x40800000), P2_32, 0);
    CHECK(f64_sqrt, ARGS(0x4010000000000000), P2_64, 0);
    /* sqrt(-0) = -0, sqrt(+inf) = +inf, negatives are invalid */
    CHECK(f32_sqrt, ARGS(NZ_32), NZ_32, 0);
    CHECK(f64_sqrt, ARGS(NZ_64), NZ_64, 0);
    CHECK(f32_sqrt, ARGS(Z_32), Z_32, 0);
    CHECK(f32_sqrt, ARGS(INF_32), INF_32, 0);
    CHECK(f64_sqrt, ARGS(INF_64), INF_64, 0);
    CHECK(f32_sqrt, ARGS(M1_32), CN32, NV);
    CHECK(f64_sqrt, ARGS(M1_64), CN64, NV);
    CHECK(f32_sqrt, ARGS(NINF_32), CN32, NV);
    CHECK(f64_sqrt, ARGS(NINF_64), CN64, NV);
    CHECK(f32_sqrt, ARGS(0x80000001), CN32, NV); /* -subnormal */
    CHECK(f64_sqrt, ARGS(0x8000000000000001), CN64, NV);
    /* subnormal operands: sqrt(2^-148) = 2^-74, sqrt(2^-1072) = 2^-536 */
    CHECK(f32_sqrt, ARGS(0x00000002), 0x1a800000, 0);
    CHECK(f64_sqrt, ARGS(0x0000000000000004), 0x1e70000000000000, 0);
}

static void test_rounding_int_to_float(void **state)
{
    (void)state;
    /* 2^24+1: tie between 2^24 (even) and 2^24+2 */
    CHECK5(i32_to_f32, ARGS(16777217),
           R5(0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001), FLALL(NX));
    CHECK5(u32_to_f32, ARGS(16777217),
           R5(0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001), FLALL(NX));
    CHECK5(i64_to_f32, ARGS(16777217),
           R5(0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001), FLALL(NX));
    CHECK5(u64_to_f32, ARGS(16777217),
           R5(0x4b800000, 0x4b800000, 0x4b800000, 0x4b800001, 0x4b800001), FLALL(NX));
    CHECK5(i32_to_f32, ARGS(I(-16777217)),
           R5(0xcb800000, 0xcb800000, 0xcb800001, 0xcb800000, 0xcb800001), FLALL(NX));
    /* 2^24+3: tie between 2^24+2 (odd) and 2^24+4 (even) */
    CHECK5(i32_to_f32, ARGS(16777219),
           R5(0x4b800002, 0x4b800001, 0x4b800001, 0x4b800002, 0x4b800002), FLALL(NX));
    CHECK5(i64_to_f32, ARGS(I(-16777219)),
           R5(0xcb800002, 0xcb800001, 0xcb800002, 0xcb800001, 0xcb800002), FLALL(NX));
    /* 2^25+1: a quarter ulp above 2^25, not a tie */
    CHECK5(i32_to_f32, ARGS(33554433),
           R5(0x4c000000, 0x4c000000, 0x4c000000, 0x4c000001, 0x4c000000), FLALL(NX));
    /* exact conversions raise nothing */
    CHECK(i32_to_f32, ARGS(16777216), 0x4b800000, 0);
    CHECK(i32_to_f32, ARGS(I(INT32_MIN)), 0xcf000000, 0);
    CHECK(i64_to_f32, ARGS(I(INT64_MIN)), 0xdf000000, 0);
    CHECK(i32_to_f32, ARGS(0), Z_32, 0);
    CHECK(u64_to_f32, ARGS(0), Z_32, 0); /* +0 even when rounding down */
    CHECK(u64_to_f64, ARGS(0), Z_64, 0);
    CHECK(i64_to_f64, ARGS(0), Z_64, 0);

    /* binary64: 2^53+1 tie, 2^53+3 tie with odd neighbour */
    CHECK5(i64_to_f64, ARGS(I((INT64_C(1) << 53) + 1)),
           R5(0x4340000000000000, 0x4340000000000000, 0x4340000000000000, 0x4340000000000001,
              0x4340000000000001),
           FLALL(NX));
    CHECK5(u64_to_f64, ARGS((UINT64_C(1) << 53) + 1),
           R5(0x4340000000000000, 0x4340000000000000, 0x4340000000000000, 0x4340000000000001,
              0x4340000000000001),
           FLALL(NX));
    CHECK5(i64_to_f64, ARGS(I(-(INT64_C(1) << 53) - 3)),
           R5(0xc340000000000002, 0xc340000000000001, 0xc340000000000002, 0xc340000000000001,
              0xc340000000000002),
           FLALL(NX));
    /* above 2^63 (unsigned only): tie, just above tie, far below tie */
    CHECK5(u64_to_f64, ARGS(UINT64_C(0x8000000000000400)),
           R5(0x43e0000000000000, 0x43e0000000000000, 0x43e0000000000000, 0x43e0000000000001,
              0x43e0000000000001),
           FLALL(NX));
    CHECK5(u64_to_f64, ARGS(UINT64_C(0x8000000000000401)),
           R5(0x43e0000000000001, 0x43e0000000000000, 0x43e0000000000000, 0x43e0000000000001,
              0x43e0000000000001),
           FLALL(NX));
    CHECK5(u64_to_f64, ARGS(UINT64_C(0x8000000000000001)),
           R5(0x43e0000000000000, 0x43e0000000000000, 0x43e0000000000000, 0x43e0000000000001,
              0x43e0000000000000),
           FLALL(NX));
    /* UINT64_MAX */
    CHECK5(u64_to_f32, ARGS(UINT64_MAX),
           R5(0x5f800000, 0x5f7fffff, 0x5f7fffff, 0x5f800000, 0x5f800000), FLALL(NX));
    CHECK5(u64_to_f64, ARGS(UINT64_MAX),
           R5(0x43f0000000000000, 0x43efffffffffffff, 0x43efffffffffffff, 0x43f0000000000000,
              0x43f0000000000000),
           FLALL(NX));
    /* 32-bit integers are always exact in binary64 */
    CHECK(i32_to_f64, ARGS(I(INT32_MIN)), 0xc1e0000000000000, 0);
    CHECK(u32_to_f64, ARGS(UINT32_MAX), 0x41efffffffe00000, 0);
    CHECK(i64_to_f64, ARGS(I(INT64_MIN)), 0xc3e0000000000000, 0);
}

/* ======================================================================
 * Overflow / underflow
 * ====================================================================== */

static void test_overflow(void **state)
{
    (void)state;
    CHECK5(f32_mul, ARGS(MAX_32, P2_32), R5(INF_32, MAX_32, MAX_32, INF_32, INF_32),
           FLALL(OF | NX));
    CHECK5(f32_mul, ARGS(NMAX_32, P2_32), R5(NINF_32, NMAX_32, NINF_32, NMAX_32, NINF_32),
           FLALL(OF | NX));
    CHECK5(f64_mul, ARGS(MAX_64, P2_64), R5(INF_64, MAX_64, MAX_64, INF_64, INF_64),
           FLALL(OF | NX));
    CHECK5(f64_add, ARGS(NMAX_64, NMAX_64), R5(NINF_64, NMAX_64, NINF_64, NMAX_64, NINF_64),
           FLALL(OF | NX));
    CHECK5(f32_div, ARGS(MAX_32, 0x3f000000), R5(INF_32, MAX_32, MAX_32, INF_32, INF_32),
           FLALL(OF | NX));
    /* MAX + half an ulp: overflows only when rounding goes up */
    CHECK5(f32_add, ARGS(MAX_32, 0x73000000), R5(INF_32, MAX_32, MAX_32, INF_32, INF_32),
           FL5(OF | NX, NX, NX, OF | NX, OF | NX));
    /* MAX + a quarter ulp */
    CHECK5(f32_add, ARGS(MAX_32, 0x72800000), R5(MAX_32, MAX_32, MAX_32, INF_32, MAX_32),
           FL5(NX, NX, NX, OF | NX, NX));
    CHECK5(f64_add, ARGS(MAX_64, 0x7c90000000000000), R5(INF_64, MAX_64, MAX_64, INF_64, INF_64),
           FL5(OF | NX, NX, NX, OF | NX, OF | NX));
    CHECK5(f64_sub, ARGS(NMAX_64, 0x7c90000000000000),
           R5(NINF_64, NMAX_64, NINF_64, NMAX_64, NINF_64), FL5(OF | NX, NX, OF | NX, NX, OF | NX));
    /* infinities are exact: no OF */
    CHECK(f32_mul, ARGS(INF_32, P2_32), INF_32, 0);
    CHECK(f64_add, ARGS(NINF_64, MAX_64), NINF_64, 0);
}

static void test_underflow_tininess_after_rounding(void **state)
{
    (void)state;
    /* (1-2^-12) * (1+2^-12)2^-126 = 2^-126 - 2^-150: exactly representable
     * with unbounded exponent, so tiny even though RNE gives min normal */
    CHECK5(f32_mul, ARGS(0x3f7ff000, 0x00800800),
           R5(0x00800000, 0x007fffff, 0x007fffff, 0x00800000, 0x00800000), FLALL(UF | NX));
    /* 18631*2^-15 * 1801*2^-136 = 2^-126 - 2^-151: rounds (unbounded) to
     * 2^-126 in RNE/RUP/RMM, so not tiny there: NX only */
    CHECK5(f32_mul, ARGS(0x3f118e00, 0x00e12000),
           R5(0x00800000, 0x007fffff, 0x007fffff, 0x00800000, 0x00800000),
           FL5(NX, UF | NX, UF | NX, NX, NX));
    /* binary64: 2^-1022 - 2^-1075 (tiny) and 2^-1022 - 2^-1076 (not) */
    CHECK5(f64_mul, ARGS(0x3fea530d9f000000, 0x0013731a10000000),
           R5(0x0010000000000000, 0x000fffffffffffff, 0x000fffffffffffff, 0x0010000000000000,
              0x0010000000000000),
           FLALL(UF | NX));
    CHECK5(f64_mul, ARGS(0x3feffffffc000000, 0x0010000002000000),
           R5(0x0010000000000000, 0x000fffffffffffff, 0x000fffffffffffff, 0x0010000000000000,
              0x0010000000000000),
           FL5(NX, UF | NX, UF | NX, NX, NX));
    /* same through fma (addend +0 / -0) */
    CHECK5(f64_fma, ARGS(0x3feffffffc000000, 0x0010000002000000, Z_64, 0),
           R5(0x0010000000000000, 0x000fffffffffffff, 0x000fffffffffffff, 0x0010000000000000,
              0x0010000000000000),
           FL5(NX, UF | NX, UF | NX, NX, NX));
    CHECK5(f32_fma, ARGS(0x3f7ff000, 0x00800800, NZ_32, 0),
           R5(0x00800000, 0x007fffff, 0x007fffff, 0x00800000, 0x00800000), FLALL(UF | NX));
    /* half the smallest subnormal: RNE ties to 0, RMM away */
    CHECK5(f32_mul, ARGS(0x00000001, 0x3f000000), R5(Z_32, Z_32, Z_32, 0x00000001, 0x00000001),
           FLALL(UF | NX));
    CHECK5(f32_mul, ARGS(0x80000001, 0x3f000000), R5(NZ_32, NZ_32, 0x80000001, NZ_32, 0x80000001),
           FLALL(UF | NX));
    CHECK5(f64_div, ARGS(0x0000000000000001, P2_64),
           R5(Z_64, Z_64, Z_64, 0x0000000000000001, 0x0000000000000001), FLALL(UF | NX));
    /* 3 * 2^-150 = 1.5 * 2^-149: tie between 1 and 2 subnormal ulps */
    CHECK5(f32_mul, ARGS(0x00000003, 0x3f000000),
           R5(0x00000002, 0x00000001, 0x00000001, 0x00000002, 0x00000002), FLALL(UF | NX));
    /* exact subnormal results raise nothing */
    CHECK(f32_mul, ARGS(0x00800000, 0x3f000000), 0x00400000, 0);
    CHECK(f64_mul, ARGS(0x0010000000000000, 0x3fe0000000000000), 0x0008000000000000, 0);
    CHECK(f32_sub, ARGS(0x00800001, 0x00800000), 0x00000001, 0);
    CHECK(f64_add, ARGS(0x000fffffffffffff, 0x0000000000000001), 0x0010000000000000, 0);
}

/* ======================================================================
 * fma
 * ====================================================================== */

static void test_fma(void **state)
{
    (void)state;
    /* (1+2^-30)(1-2^-30) - 1 = -2^-60 exactly: no intermediate rounding */
    CHECK(f64_fma, ARGS(0x3ff0000000400000, 0x3fefffffff800000, M1_64, 0), 0xbc30000000000000, 0);
    CHECK(f64_fma, ARGS(0x3ff0000000400000, 0x3fefffffff800000, P1_64, 2), 0xbc30000000000000,
          0); /* fmsub */
    CHECK(f64_fma, ARGS(0x3ff0000000400000, 0x3fefffffff800000, P1_64, 1), 0x3c30000000000000,
          0); /* fnmsub: -(ab) + 1 */
    CHECK(f32_fma, ARGS(0x3f800800, 0x3f7ff000, M1_32, 0), 0xb3800000, 0);
    /* just below a binary32 tie; double rounding via binary64 would go up */
    CHECK5(f32_fma, ARGS(0x33800001, 0x3f7ffffe, 0x3f800001, 0),
           R5(0x3f800001, 0x3f800001, 0x3f800001, 0x3f800002, 0x3f800001), FLALL(NX));
    /* binary64 analogue: (1+2^-52)2^-53 * (1-2^-52) + (1+2^-52) */
    CHECK5(f64_fma, ARGS(0x3ca0000000000001, 0x3feffffffffffffe, 0x3ff0000000000001, 0),
           R5(0x3ff0000000000001, 0x3ff0000000000001, 0x3ff0000000000001, 0x3ff0000000000002,
              0x3ff0000000000001),
           FLALL(NX));
    /* intermediate product overflow is invisible */
    CHECK(f64_fma, ARGS(MAX_64, P2_64, MAX_64, 2), MAX_64, 0);
    CHECK(f32_fma, ARGS(MAX_32, P2_32, MAX_32, 2), MAX_32, 0);
    /* the four RISC-V variants on 2*3 and 1 */
    CHECK(f32_fma, ARGS(P2_32, 0x40400000, P1_32, 0), 0x40e00000, 0); /* 7 */
    CHECK(f32_fma, ARGS(P2_32, 0x40400000, P1_32, 2), 0x40a00000, 0); /* 5 */
    CHECK(f32_fma, ARGS(P2_32, 0x40400000, P1_32, 1), 0xc0a00000, 0); /* -5 */
    CHECK(f32_fma, ARGS(P2_32, 0x40400000, P1_32, 3), 0xc0e00000, 0); /* -7 */
    CHECK(f64_fma, ARGS(P2_64, 0x4008000000000000, P1_64, 3), 0xc01c000000000000, 0);
    /* signs of exact zeros */
    CHECK5(f64_fma, ARGS(P1_64, P1_64, M1_64, 0), R5(Z_64, Z_64, NZ_64, Z_64, Z_64), FLALL(0));
    CHECK5(f32_fma, ARGS(Z_32, P1_32, NZ_32, 0), R5(Z_32, Z_32, NZ_32, Z_32, Z_32), FLALL(0));
    CHECK(f32_fma, ARGS(Z_32, P1_32, Z_32, 3), NZ_32, 0); /* -0 - 0 */
    CHECK(f64_fma, ARGS(NZ_64, P1_64, NZ_64, 0), NZ_64, 0);
    /* zero product: the addend is returned exactly (subnormal too) */
    CHECK(f64_fma, ARGS(Z_64, P1_64, 0x0000000000000003, 2), 0x8000000000000003, 0);
    /* tiny product far below the addend: sticky decides directed modes */
    CHECK5(f64_fma, ARGS(0x0000000000000001, 0x0000000000000001, P1_64, 0),
           R5(P1_64, P1_64, P1_64, 0x3ff0000000000001, P1_64), FLALL(NX));
    CHECK5(f64_fma, ARGS(0x0000000000000001, 0x0000000000000001, P1_64, 1),
           R5(P1_64, 0x3fefffffffffffff, 0x3fefffffffffffff, P1_64, P1_64), FLALL(NX));
}

/* ======================================================================
 * min/max, compare, class
 * ====================================================================== */

static void test_minmax(void **state)
{
    (void)state;
    CHECK(f32_min, ARGS(NZ_32, Z_32), NZ_32, 0);
    CHECK(f32_min, ARGS(Z_32, NZ_32), NZ_32, 0);
    CHECK(f32_max, ARGS(NZ_32, Z_32), Z_32, 0);
    CHECK(f32_max, ARGS(Z_32, NZ_32), Z_32, 0);
    CHECK(f64_min, ARGS(NZ_64, Z_64), NZ_64, 0);
    CHECK(f64_min, ARGS(Z_64, NZ_64), NZ_64, 0);
    CHECK(f64_max, ARGS(NZ_64, Z_64), Z_64, 0);
    CHECK(f64_max, ARGS(Z_64, NZ_64), Z_64, 0);
    /* one NaN: the other operand; sNaN still raises NV */
    CHECK(f32_min, ARGS(SNAN_32, P1_32), P1_32, NV);
    CHECK(f32_max, ARGS(P1_32, NSNAN_32), P1_32, NV);
    CHECK(f32_min, ARGS(QNAN_32, P1_32), P1_32, 0);
    CHECK(f32_max, ARGS(NINF_32, QNAN_32), NINF_32, 0);
    CHECK(f64_min, ARGS(SNAN_64, M1_64), M1_64, NV);
    CHECK(f64_max, ARGS(M1_64, SNAN_64), M1_64, NV);
    CHECK(f64_min, ARGS(P1_64, QNAN_64), P1_64, 0);
    /* both NaN: canonical NaN, payloads dropped */
    CHECK(f32_min, ARGS(QNAN_32, 0x7fc00001), CN32, 0);
    CHECK(f32_max, ARGS(SNAN_32, SNAN_32), CN32, NV);
    CHECK(f64_min, ARGS(NQNAN_64, QNAN_64), CN64, 0);
    CHECK(f64_max, ARGS(QNAN_64, NSNAN_64), CN64, NV);
    /* ordinary ordering */
    CHECK(f32_min, ARGS(M1_32, 0xc0000000), 0xc0000000, 0);
    CHECK(f32_max, ARGS(M1_32, 0xc0000000), M1_32, 0);
    CHECK(f32_min, ARGS(NINF_32, NMAX_32), NINF_32, 0);
    CHECK(f32_max, ARGS(INF_32, MAX_32), INF_32, 0);
    CHECK(f64_min, ARGS(0x0000000000000001, NZ_64), NZ_64, 0);
    CHECK(f64_max, ARGS(P2_64, P1_64), P2_64, 0);
}

static void test_compare(void **state)
{
    (void)state;
    CHECK(f32_eq, ARGS(Z_32, NZ_32), 1, 0);
    CHECK(f32_lt, ARGS(NZ_32, Z_32), 0, 0);
    CHECK(f32_le, ARGS(Z_32, NZ_32), 1, 0);
    CHECK(f32_eq, ARGS(P1_32, P1_32), 1, 0);
    CHECK(f32_eq, ARGS(P1_32, M1_32), 0, 0);
    CHECK(f32_lt, ARGS(M1_32, P1_32), 1, 0);
    CHECK(f32_lt, ARGS(P1_32, M1_32), 0, 0);
    CHECK(f32_lt, ARGS(0xc0000000, M1_32), 1, 0);
    CHECK(f32_lt, ARGS(M1_32, 0xc0000000), 0, 0);
    CHECK(f32_le, ARGS(M1_32, M1_32), 1, 0);
    CHECK(f32_lt, ARGS(M1_32, M1_32), 0, 0);
    CHECK(f32_le, ARGS(INF_32, INF_32), 1, 0);
    CHECK(f32_lt, ARGS(NINF_32, NMAX_32), 1, 0);
    CHECK(f32_lt, ARGS(0x00000001, 0x00000002), 1, 0);
    CHECK(f64_eq, ARGS(NZ_64, Z_64), 1, 0);
    CHECK(f64_lt, ARGS(Z_64, NZ_64), 0, 0);
    CHECK(f64_le, ARGS(NZ_64, Z_64), 1, 0);
    CHECK(f64_lt, ARGS(0xc000000000000000, M1_64), 1, 0);
    CHECK(f64_le, ARGS(P2_64, P1_64), 0, 0);
    CHECK(f64_lt, ARGS(MAX_64, INF_64), 1, 0);
    CHECK(f64_eq, ARGS(INF_64, INF_64), 1, 0);
    CHECK(f64_lt, ARGS(0x8000000000000001, Z_64), 1, 0);
}

static void test_fclass(void **state)
{
    (void)state;
    static const struct {
        uint32_t v;
        unsigned c;
    } c32[] = {
        {NINF_32, 1u << 0},    {M1_32, 1u << 1},      {NMAX_32, 1u << 1},    {0x80800000, 1u << 1},
        {0x80000001, 1u << 2}, {0x807fffff, 1u << 2}, {NZ_32, 1u << 3},      {Z_32, 1u << 4},
        {0x00000001, 1u << 5}, {0x007fffff, 1u << 5}, {0x00800000, 1u << 6}, {P1_32, 1u << 6},
        {MAX_32, 1u << 6},     {INF_32, 1u << 7},     {SNAN_32, 1u << 8},    {0x7fbfffff, 1u << 8},
        {NSNAN_32, 1u << 8},   {CN32, 1u << 9},       {QNAN_32, 1u << 9},    {NQNAN_32, 1u << 9},
    };
    static const struct {
        uint64_t v;
        unsigned c;
    } c64[] = {
        {NINF_64, 1u << 0},
        {M1_64, 1u << 1},
        {0x8010000000000000, 1u << 1},
        {0x8000000000000001, 1u << 2},
        {0x800fffffffffffff, 1u << 2},
        {NZ_64, 1u << 3},
        {Z_64, 1u << 4},
        {0x0000000000000001, 1u << 5},
        {0x000fffffffffffff, 1u << 5},
        {0x0010000000000000, 1u << 6},
        {MAX_64, 1u << 6},
        {INF_64, 1u << 7},
        {SNAN_64, 1u << 8},
        {0x7ff7ffffffffffff, 1u << 8},
        {NSNAN_64, 1u << 8},
        {CN64, 1u << 9},
        {QNAN_64, 1u << 9},
        {NQNAN_64, 1u << 9},
    };
    unsigned seen32 = 0, seen64 = 0;
    for (size_t i = 0; i < sizeof c32 / sizeof c32[0]; i++) {
        if (f32_class(c32[i].v) != c32[i].c)
            fail_msg("f32_class(0x%08x) = 0x%x, want 0x%x", c32[i].v, f32_class(c32[i].v),
                     c32[i].c);
        seen32 |= c32[i].c;
    }
    for (size_t i = 0; i < sizeof c64 / sizeof c64[0]; i++) {
        if (f64_class(c64[i].v) != c64[i].c)
            fail_msg("f64_class(0x%016llx) = 0x%x, want 0x%x", (unsigned long long)c64[i].v,
                     f64_class(c64[i].v), c64[i].c);
        seen64 |= c64[i].c;
    }
    assert_int_equal(seen32, 0x3ff);
    assert_int_equal(seen64, 0x3ff);
    assert_int_equal(FP_CLASS_NEG_INF | FP_CLASS_QNAN, 0x201);
}

/* ======================================================================
 * float -> integer
 * ====================================================================== */

static void test_float_to_int_saturation(void **state)
{
    (void)state;
    /* +-3e9 does not fit int32 */
    CHECK(f32_to_i32, ARGS(0x4f32d05e), I(INT32_MAX), NV);
    CHECK(f32_to_i32, ARGS(0xcf32d05e), I(INT32_MIN), NV);
    CHECK(f32_to_i32, ARGS(0xcf000000), I(INT32_MIN), 0);  /* -2^31 */
    CHECK(f32_to_i32, ARGS(0x4f000000), I(INT32_MAX), NV); /* 2^31 */
    CHECK(f32_to_i32, ARGS(INF_32), I(INT32_MAX), NV);
    CHECK(f32_to_i32, ARGS(NINF_32), I(INT32_MIN), NV);
    CHECK(f32_to_i32, ARGS(NQNAN_32), I(INT32_MAX), NV); /* even -NaN */
    CHECK(f32_to_i32, ARGS(SNAN_32), I(INT32_MAX), NV);
    /* 2147483647.5: in range only if rounded down; no NX with NV */
    CHECK5(f64_to_i32, ARGS(0x41dfffffffe00000),
           R5(I(INT32_MAX), I(INT32_MAX), I(INT32_MAX), I(INT32_MAX), I(INT32_MAX)),
           FL5(NV, NX, NX, NV, NV));
    /* -2147483648.5 */
    CHECK5(f64_to_i32, ARGS(0xc1e0000000100000),
           R5(I(INT32_MIN), I(INT32_MIN), I(INT32_MIN), I(INT32_MIN), I(INT32_MIN)),
           FL5(NX, NX, NV, NX, NV));
    /* unsigned 32 */
    CHECK(f32_to_u32, ARGS(0x4f800000), UINT32_MAX, NV); /* 2^32 */
    CHECK(f64_to_u32, ARGS(0x41efffffffe00000), UINT32_MAX, 0);
    CHECK5(f64_to_u32, ARGS(0x41effffffff00000), /* 4294967295.5 */
           R5(UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX), FL5(NV, NX, NX, NV, NV));
    CHECK(f32_to_u32, ARGS(INF_32), UINT32_MAX, NV);
    CHECK(f32_to_u32, ARGS(NINF_32), 0, NV);
    CHECK(f64_to_u32, ARGS(QNAN_64), UINT32_MAX, NV);
    CHECK(f64_to_u32, ARGS(M1_64), 0, NV);
    CHECK(f32_to_u32, ARGS(NZ_32), 0, 0);
    /* -0.3 rounds to 0 (not invalid) except towards -inf */
    CHECK5(f32_to_u32, ARGS(0xbe99999a), RALL(0), FL5(NX, NX, NV, NX, NX));
    CHECK5(f64_to_u64, ARGS(0xbfd3333333333333), RALL(0), FL5(NX, NX, NV, NX, NX));
    /* -0.5: RNE ties to -0 -> 0; RMM ties away to -1 -> invalid */
    CHECK5(f32_to_u32, ARGS(0xbf000000), RALL(0), FL5(NX, NX, NV, NX, NV));
    /* 64-bit */
    CHECK(f64_to_i64, ARGS(0x43e0000000000000), I(INT64_MAX), NV); /* 2^63 */
    CHECK(f64_to_i64, ARGS(0xc3e0000000000000), I(INT64_MIN), 0);
    CHECK(f32_to_i64, ARGS(0xdf000000), I(INT64_MIN), 0);
    CHECK(f32_to_i64, ARGS(0xdf000001), I(INT64_MIN), NV);
    CHECK(f64_to_i64, ARGS(QNAN_64), I(INT64_MAX), NV);
    CHECK(f64_to_i64, ARGS(NINF_64), I(INT64_MIN), NV);
    CHECK(f64_to_i64, ARGS(0x43dfffffffffffff), I(0x7ffffffffffffc00), 0);
    CHECK(f64_to_u64, ARGS(0x43f0000000000000), UINT64_MAX, NV); /* 2^64 */
    CHECK(f64_to_u64, ARGS(0x43efffffffffffff), 0xfffffffffffff800, 0);
    CHECK(f32_to_u64, ARGS(0x5f7fffff), 0xffffff0000000000, 0);
    CHECK(f32_to_u64, ARGS(0x5f800000), UINT64_MAX, NV);
    CHECK(f32_to_u64, ARGS(M1_32), 0, NV);
    CHECK(f32_to_u64, ARGS(SNAN_32), UINT64_MAX, NV);
    CHECK(f64_to_u64, ARGS(NINF_64), 0, NV);
}

static void test_float_to_int_rounding(void **state)
{
    (void)state;
    CHECK(f32_to_i32, ARGS(P2_32), 2, 0);
    CHECK(f64_to_i64, ARGS(0xc000000000000000), I(-2), 0);
    /* 2.5 */
    CHECK5(f32_to_i32, ARGS(0x40200000), R5(2, 2, 2, 3, 3), FLALL(NX));
    CHECK5(f64_to_u64, ARGS(0x4004000000000000), R5(2, 2, 2, 3, 3), FLALL(NX));
    /* -2.5 */
    CHECK5(f64_to_i32, ARGS(0xc004000000000000), R5(I(-2), I(-2), I(-3), I(-2), I(-3)), FLALL(NX));
    CHECK5(f32_to_i64, ARGS(0xc0200000), R5(I(-2), I(-2), I(-3), I(-2), I(-3)), FLALL(NX));
    /* 3.5: ties to 4 in both nearest modes */
    CHECK5(f32_to_u32, ARGS(0x40600000), R5(4, 3, 3, 4, 4), FLALL(NX));
    /* 2.75, -2.25: non-ties */
    CHECK5(f64_to_i32, ARGS(0x4006000000000000), R5(3, 2, 2, 3, 3), FLALL(NX));
    CHECK5(f64_to_i32, ARGS(0xc002000000000000), R5(I(-2), I(-2), I(-3), I(-2), I(-2)), FLALL(NX));
    /* 0.5 and the smallest subnormals */
    CHECK5(f32_to_i32, ARGS(0x3f000000), R5(0, 0, 0, 1, 1), FLALL(NX));
    CHECK5(f32_to_i32, ARGS(0x00000001), R5(0, 0, 0, 1, 0), FLALL(NX));
    CHECK5(f64_to_i64, ARGS(0x8000000000000001), R5(0, 0, I(-1), 0, 0), FLALL(NX));
    CHECK5(f64_to_u32, ARGS(0x8000000000000001), RALL(0), FL5(NX, NX, NV, NX, NX));
    /* exact large values */
    CHECK(f32_to_i32, ARGS(0x4b800001), 16777218, 0);
    CHECK(f64_to_u64, ARGS(0x4340000000000001), (UINT64_C(1) << 53) + 2, 0);
}

/* ======================================================================
 * float <-> float
 * ====================================================================== */

static void test_f64_to_f32(void **state)
{
    (void)state;
    CHECK(f64_to_f32, ARGS(0x3ff8000000000000), 0x3fc00000, 0); /* 1.5 */
    CHECK(f64_to_f32, ARGS(NZ_64), NZ_32, 0);
    CHECK(f64_to_f32, ARGS(NINF_64), NINF_32, 0);
    CHECK(f64_to_f32, ARGS(0x36a0000000000000), 0x00000001, 0); /* 2^-149 */
    CHECK(f64_to_f32, ARGS(0x47efffffe0000000), MAX_32, 0);
    /* 1e300 */
    CHECK5(f64_to_f32, ARGS(0x7e37e43c8800759c), R5(INF_32, MAX_32, MAX_32, INF_32, INF_32),
           FLALL(OF | NX));
    CHECK5(f64_to_f32, ARGS(0xfe37e43c8800759c), R5(NINF_32, NMAX_32, NINF_32, NMAX_32, NINF_32),
           FLALL(OF | NX));
    /* binary32 MAX + half ulp */
    CHECK5(f64_to_f32, ARGS(0x47effffff0000000), R5(INF_32, MAX_32, MAX_32, INF_32, INF_32),
           FL5(OF | NX, NX, NX, OF | NX, OF | NX));
    /* 1e-300 */
    CHECK5(f64_to_f32, ARGS(0x01a56e1fc2f8f359), R5(Z_32, Z_32, Z_32, 0x00000001, Z_32),
           FLALL(UF | NX));
    CHECK5(f64_to_f32, ARGS(0x81a56e1fc2f8f359), R5(NZ_32, NZ_32, 0x80000001, NZ_32, NZ_32),
           FLALL(UF | NX));
    /* 2^-126 - 2^-151: tininess after rounding */
    CHECK5(f64_to_f32, ARGS(0x380ffffff0000000),
           R5(0x00800000, 0x007fffff, 0x007fffff, 0x00800000, 0x00800000),
           FL5(NX, UF | NX, UF | NX, NX, NX));
    /* 2^-150: half the smallest subnormal */
    CHECK5(f64_to_f32, ARGS(0x3690000000000000), R5(Z_32, Z_32, Z_32, 0x00000001, 0x00000001),
           FLALL(UF | NX));
    /* 1 + 2^-24 */
    CHECK5(f64_to_f32, ARGS(0x3ff0000010000000),
           R5(0x3f800000, 0x3f800000, 0x3f800000, 0x3f800001, 0x3f800001), FLALL(NX));
    CHECK(f64_to_f32, ARGS(QNAN_64), CN32, 0);
    CHECK(f64_to_f32, ARGS(NSNAN_64), CN32, NV);
}

static void test_f32_to_f64(void **state)
{
    (void)state;
    CHECK(f32_to_f64, ARGS(P1_32), P1_64, 0);
    CHECK(f32_to_f64, ARGS(NZ_32), NZ_64, 0);
    CHECK(f32_to_f64, ARGS(0x00000001), 0x36a0000000000000, 0);
    CHECK(f32_to_f64, ARGS(0x807fffff), 0xb80fffffc0000000, 0);
    CHECK(f32_to_f64, ARGS(MAX_32), 0x47efffffe0000000, 0);
    CHECK(f32_to_f64, ARGS(NINF_32), NINF_64, 0);
    CHECK(f32_to_f64, ARGS(NSNAN_32), CN64, NV);
    CHECK(f32_to_f64, ARGS(QNAN_32), CN64, 0);
}

static void test_zero_signs(void **state)
{
    (void)state;
    /* x - x is +0 except in RDN */
    CHECK5(f32_sub, ARGS(P1_32, P1_32), R5(Z_32, Z_32, NZ_32, Z_32, Z_32), FLALL(0));
    CHECK5(f64_add, ARGS(M1_64, P1_64), R5(Z_64, Z_64, NZ_64, Z_64, Z_64), FLALL(0));
    CHECK5(f32_add, ARGS(NZ_32, Z_32), R5(Z_32, Z_32, NZ_32, Z_32, Z_32), FLALL(0));
    CHECK(f32_add, ARGS(NZ_32, NZ_32), NZ_32, 0);
    CHECK(f64_sub, ARGS(NZ_64, Z_64), NZ_64, 0);
    CHECK(f64_mul, ARGS(NZ_64, P2_64), NZ_64, 0);
    CHECK(f32_mul, ARGS(NZ_32, M1_32), Z_32, 0);
    /* x + 0 = x exactly, also for subnormals */
    CHECK(f32_add, ARGS(0x80000001, Z_32), 0x80000001, 0);
    CHECK(f64_sub, ARGS(Z_64, 0x0000000000000001), 0x8000000000000001, 0);
}

/* ======================================================================
 * Host environment
 * ====================================================================== */

static void run_some_ops(void)
{
    unsigned fl = 0;
    for (int m = 0; m < 5; m++) {
        f32_add(P1_32, 0x33800000, MODES[m], &fl);
        f64_mul(MAX_64, P2_64, MODES[m], &fl);
        f64_div(P1_64, Z_64, MODES[m], &fl);
        f32_mul(0x3f7ff000, 0x00800800, MODES[m], &fl);
        f64_sqrt(SNAN_64, MODES[m], &fl);
        f64_sqrt(P2_64, MODES[m], &fl);
        f32_fma(0x33800001, 0x3f7ffffe, 0x3f800001, false, false, MODES[m], &fl);
        f64_fma(MAX_64, MAX_64, Z_64, false, false, MODES[m], &fl);
        u64_to_f32(UINT64_MAX, MODES[m], &fl);
        i64_to_f64(INT64_MAX, MODES[m], &fl);
        f64_to_f32(0x7e37e43c8800759c, MODES[m], &fl);
        f64_to_i32(0x41dfffffffe00000, MODES[m], &fl);
    }
    assert_int_equal(fl, NX | UF | OF | DZ | NV);
}

static void test_host_env_preserved(void **state)
{
    (void)state;
    unsigned fl = 0;

    /* caller state: round up, divide-by-zero flag raised */
    fesetround(FE_UPWARD);
    feclearexcept(FE_ALL_EXCEPT);
    feraiseexcept(FE_DIVBYZERO);
    run_some_ops();
    assert_int_equal(fegetround(), FE_UPWARD);
    assert_int_equal(fetestexcept(FE_ALL_EXCEPT), FE_DIVBYZERO);
    /* the RISC-V mode wins over the caller's mode */
    assert_true(f32_add(P1_32, 0x33000000, FP_RNE, &fl) == P1_32);
    assert_true(f64_add(P1_64, 0x3c90000000000000, FP_RTZ, &fl) == P1_64);
    assert_int_equal(fegetround(), FE_UPWARD);

    /* clean caller state stays clean */
    fesetround(FE_TOWARDZERO);
    feclearexcept(FE_ALL_EXCEPT);
    run_some_ops();
    assert_int_equal(fegetround(), FE_TOWARDZERO);
    assert_int_equal(fetestexcept(FE_ALL_EXCEPT), 0);
    assert_true(f32_add(P1_32, 0x33c00000, FP_RNE, &fl) == 0x3f800001);

    fesetround(FE_TONEAREST);
    feclearexcept(FE_ALL_EXCEPT);
}

/* ======================================================================
 * Randomised checks
 * ====================================================================== */

static uint64_t rng = 0x243f6a8885a308d3;

static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * UINT64_C(0x2545f4914f6cdd1d);
}

static uint32_t gen32(void)
{
    static const uint32_t special[] = {
        Z_32,   NZ_32,      INF_32,     NINF_32,    QNAN_32, SNAN_32,
        MAX_32, 0x00800000, 0x00000001, 0x007fffff, P1_32,   M1_32,
    };
    uint64_t r = rnd();
    uint32_t sign = (uint32_t)(r >> 4 & 1) << 31;
    uint32_t mant = (uint32_t)(r >> 8) & 0x7fffff;
    unsigned tz = (unsigned)(r >> 40) % 24;
    uint32_t e;

    mant &= ~((1u << tz) - 1); /* short significands make ties likely */
    switch (r & 15) {
    case 0: return (uint32_t)(r >> 32);
    case 1: return special[(r >> 50) % (sizeof special / sizeof special[0])];
    case 2: e = 0; break;
    case 3: e = 1 + (unsigned)(r >> 50) % 40; break;
    case 4: e = 254 - (unsigned)(r >> 50) % 40; break;
    default: e = 115 + (unsigned)(r >> 50) % 25; break;
    }
    return sign | e << 23 | mant;
}

static uint64_t gen64(void)
{
    static const uint64_t special[] = {
        Z_64,
        NZ_64,
        INF_64,
        NINF_64,
        QNAN_64,
        SNAN_64,
        MAX_64,
        0x0010000000000000,
        0x0000000000000001,
        0x000fffffffffffff,
        P1_64,
        M1_64,
    };
    uint64_t r = rnd(), r2 = rnd();
    uint64_t sign = (r >> 4 & 1) << 63;
    uint64_t mant = r2 & UINT64_C(0xfffffffffffff);
    unsigned tz = (unsigned)(r >> 40) % 53;
    uint64_t e;

    mant &= ~((UINT64_C(1) << tz) - 1);
    switch (r & 15) {
    case 0: return r2;
    case 1: return special[(r >> 50) % (sizeof special / sizeof special[0])];
    case 2: e = 0; break;
    case 3: e = 1 + (r >> 50) % 70; break;
    case 4: e = 2046 - (r >> 50) % 70; break;
    default: e = 1023 - 27 + (r >> 50) % 55; break;
    }
    return sign | e << 52 | mant;
}

static uint64_t gen_int(void)
{
    uint64_t r = rnd();
    switch (r & 7) {
    case 0: return r;
    case 1: return (uint64_t)INT64_MIN + (r >> 60);
    case 2: return UINT64_MAX - (r >> 58);
    default: { /* random width, random trailing zeros */
        uint64_t v = rnd() >> ((r >> 8) % 64);
        v &= ~((UINT64_C(1) << ((r >> 16) % 40)) - 1);
        return (r >> 24 & 1) ? -v : v;
    }
    }
}

static float vf(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static double vd(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* The tie oracle below uses the host in RNE and a wider format: a binary32
 * midpoint has 25 significant bits, so if the wide result is inexact the
 * exact result cannot be a midpoint.  Returns 1 tie, 0 no tie, -1 unknown. */
static int mid32(double x)
{
    if (x == 0 || !isfinite(x))
        return 0;
    fesetround(FE_TOWARDZERO);
    volatile double vx = x;
    volatile float t = (float)vx;
    fesetround(FE_TONEAREST);
    if ((double)t == x)
        return 0;
    float away = nextafterf(t, x > 0 ? INFINITY : -INFINITY);
    double mid;
    if (isinf(away))
        mid = (double)t + ((double)t - (double)nextafterf(t, 0)) / 2;
    else
        mid = ((double)t + (double)away) / 2;
    return x == mid;
}

#if LDBL_MANT_DIG >= 64
#define HAVE_TIE64 1
static int mid64(long double x)
{
    if (x == 0 || !isfinite(x))
        return 0;
    fesetround(FE_TOWARDZERO);
    volatile long double vx = x;
    volatile double t = (double)vx;
    fesetround(FE_TONEAREST);
    if ((long double)t == x)
        return 0;
    double away = nextafter(t, x > 0 ? INFINITY : -INFINITY);
    long double mid;
    if (isinf(away))
        mid = (long double)t + ((long double)t - (long double)nextafter(t, 0)) / 2;
    else
        mid = ((long double)t + (long double)away) / 2;
    return x == mid;
}
#else
#define HAVE_TIE64 0
#endif

/* kind: 0 add, 1 sub, 2 mul, 3 div, 4 sqrt, 5 fma, 6 int, 7 f64->f32 */
static int tie32(int kind, const uint64_t *x)
{
    volatile double a = vf((uint32_t)x[0]), b = vf((uint32_t)x[1]), c = vf((uint32_t)x[2]);
    volatile double r;

    if (kind == 6) {
        volatile int64_t v = (int64_t)x[0];
        feclearexcept(FE_ALL_EXCEPT);
        r = (double)v;
    } else if (kind == 7) {
        return mid32(vd(x[0]));
    } else {
        if (!isfinite(a) || (kind != 4 && !isfinite(b)) || (kind == 5 && !isfinite(c)))
            return 0;
        feclearexcept(FE_ALL_EXCEPT);
        switch (kind) {
        case 0: r = a + b; break;
        case 1: r = a - b; break;
        case 2: r = a * b; break;
        case 3: r = a / b; break;
        case 4: r = sqrt(a); break;
        default: {
            volatile double p = a * b; /* exact: 48 bits */
            double s = (x[3] & 1) ? -p : p;
            r = s + ((x[3] & 2) ? -c : c);
        }
        }
    }
    if (fetestexcept(FE_INEXACT | FE_INVALID | FE_DIVBYZERO))
        return 0;
    return mid32(r);
}

static int tie64(int kind, const uint64_t *x)
{
#if HAVE_TIE64
    volatile long double a = vd(x[0]), b = vd(x[1]), c = vd(x[2]);
    volatile long double r;

    if (kind == 6) {
        volatile int64_t v = (int64_t)x[0];
        feclearexcept(FE_ALL_EXCEPT);
        r = (long double)v;
    } else {
        if (!isfinite(a) || (kind != 4 && !isfinite(b)) || (kind == 5 && !isfinite(c)))
            return 0;
        feclearexcept(FE_ALL_EXCEPT);
        switch (kind) {
        case 0: r = a + b; break;
        case 1: r = a - b; break;
        case 2: r = a * b; break;
        case 3: r = a / b; break;
        case 4: r = sqrtl(a); break;
        default: {
            volatile long double p = a * b;
            if (fetestexcept(FE_INEXACT))
                return -1; /* product too wide for the oracle */
            long double s = (x[3] & 1) ? -p : p;
            r = s + ((x[3] & 2) ? -c : c);
        }
        }
    }
    if (fetestexcept(FE_INEXACT | FE_INVALID | FE_DIVBYZERO))
        return 0;
    return mid64(r);
#else
    (void)kind;
    (void)x;
    return -1;
#endif
}

/* fma addend that (nearly) cancels the product: massive cancellation */
static uint64_t cancel32(const uint64_t *x)
{
    unsigned fl = 0;
    uint32_t p = f32_mul((uint32_t)x[0], (uint32_t)x[1], MODES[rnd() % 5], &fl);
    return p ^ (uint32_t)(((x[3] ^ (x[3] >> 1) ^ 1) & 1) << 31);
}

static uint64_t cancel64(const uint64_t *x)
{
    unsigned fl = 0;
    uint64_t p = f64_mul(x[0], x[1], MODES[rnd() % 5], &fl);
    return p ^ (((x[3] ^ (x[3] >> 1) ^ 1) & 1) << 63);
}

struct rstats {
    unsigned long samples, ties, differ;
};

static bool is_nan_bits(uint64_t r, int w)
{
    return w == 32 ? (r & 0x7fffffff) > 0x7f800000 : (r & ~NZ_64) > INF_64;
}

/* RMM against the four host modes for one sample */
static void rmm_check(const char *name, int w, op_fn fn, const uint64_t *x, int tie,
                      struct rstats *st)
{
    uint64_t r[5];
    unsigned fl[5];
    uint64_t sign = w == 32 ? 0x80000000u : NZ_64;

    for (int m = 0; m < 5; m++) {
        fl[m] = 0;
        r[m] = fn(x, MODES[m], &fl[m]);
    }
    st->samples++;
    if (is_nan_bits(r[0], w)) {
        if (r[4] != r[0] || fl[4] != fl[0])
            goto bad;
        return;
    }
    if (tie == 0 && (r[4] != r[0] || fl[4] != fl[0]))
        goto bad;
    if (tie == 1) {
        st->ties++;
        if (r[4] != ((r[0] & sign) ? r[2] : r[3]) || !(fl[4] & NX))
            goto bad;
    }
    if (r[4] != r[0]) {
        st->differ++;
        /* adjacent: same sign, magnitude one ulp further from zero */
        if ((r[4] ^ r[0]) & sign || (r[4] & ~sign) != (r[0] & ~sign) + 1)
            goto bad;
    }
    return;
bad:
    fail_msg("%s(0x%llx, 0x%llx, 0x%llx, %llu) tie=%d: RNE 0x%llx/%x RDN "
             "0x%llx/%x RUP 0x%llx/%x RMM 0x%llx/%x",
             name, (unsigned long long)x[0], (unsigned long long)x[1], (unsigned long long)x[2],
             (unsigned long long)x[3], tie, (unsigned long long)r[0], fl[0],
             (unsigned long long)r[2], fl[2], (unsigned long long)r[3], fl[3],
             (unsigned long long)r[4], fl[4]);
}

#ifndef N_RANDOM
#define N_RANDOM 40000
#endif

static void test_random_rmm_vs_rne(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        op_fn fn;
        int kind;
    } ops32[] =
        {
            {"f32_add", w_f32_add, 0},       {"f32_sub", w_f32_sub, 1},
            {"f32_mul", w_f32_mul, 2},       {"f32_div", w_f32_div, 3},
            {"f32_sqrt", w_f32_sqrt, 4},     {"f32_fma", w_f32_fma, 5},
            {"i64_to_f32", w_i64_to_f32, 6}, {"f64_to_f32", w_f64_to_f32, 7},
        },
      ops64[] = {
          {"f64_add", w_f64_add, 0},       {"f64_sub", w_f64_sub, 1},   {"f64_mul", w_f64_mul, 2},
          {"f64_div", w_f64_div, 3},       {"f64_sqrt", w_f64_sqrt, 4}, {"f64_fma", w_f64_fma, 5},
          {"i64_to_f64", w_i64_to_f64, 6},
      };
    struct rstats st32[8] = {{0}}, st64[7] = {{0}};

    fesetround(FE_TONEAREST);
    for (int i = 0; i < N_RANDOM; i++) {
        for (size_t k = 0; k < 8; k++) {
            uint64_t x[4] = {gen32(), gen32(), gen32(), rnd() & 3};
            if (ops32[k].kind == 6)
                x[0] = gen_int();
            if (ops32[k].kind == 7)
                x[0] = gen64();
            if (ops32[k].kind == 4)
                x[0] &= 0x7fffffff;
            if (ops32[k].kind == 5 && (rnd() & 1))
                x[2] = cancel32(x);
            if (ops32[k].kind == 3 && (rnd() & 1)) { /* subnormal quotient */
                x[0] = (x[0] & 0x807fffff) | (1 + rnd() % 30) << 23;
                x[1] = (x[1] & 0x80000000) | (127 + rnd() % 30) << 23;
            }
            rmm_check(ops32[k].name, 32, ops32[k].fn, x, tie32(ops32[k].kind, x), &st32[k]);
        }
        for (size_t k = 0; k < 7; k++) {
            uint64_t x[4] = {gen64(), gen64(), gen64(), rnd() & 3};
            if (ops64[k].kind == 6)
                x[0] = gen_int();
            if (ops64[k].kind == 4)
                x[0] &= ~NZ_64;
            if (ops64[k].kind == 5 && (rnd() & 1))
                x[2] = cancel64(x);
            if (ops64[k].kind == 3 && (rnd() & 1)) {
                x[0] = (x[0] & 0x800fffffffffffff) | (1 + rnd() % 60) << 52;
                x[1] = (x[1] & NZ_64) | (1023 + rnd() % 60) << 52;
            }
            rmm_check(ops64[k].name, 64, ops64[k].fn, x, tie64(ops64[k].kind, x), &st64[k]);
        }
    }
    /* the generators must actually produce ties where they can exist */
    for (size_t k = 0; k < 8; k++) {
        print_message("  %-11s %lu samples, %lu ties, %lu RMM!=RNE\n", ops32[k].name,
                      st32[k].samples, st32[k].ties, st32[k].differ);
        if (ops32[k].kind != 4)
            assert_true(st32[k].ties > 20);
        else
            assert_int_equal(st32[k].ties, 0); /* sqrt never ties */
    }
    for (size_t k = 0; k < 7; k++) {
        print_message("  %-11s %lu samples, %lu ties, %lu RMM!=RNE\n", ops64[k].name,
                      st64[k].samples, st64[k].ties, st64[k].differ);
        if (HAVE_TIE64 && ops64[k].kind != 4)
            assert_true(st64[k].ties > 20);
    }
}

/* soft reference wrappers (fmt and negate flag baked in) */
#define SOFT_BIN(name, call)                                                                       \
    static uint64_t s_##name(const uint64_t *x, enum fp_rm rm, unsigned *fl)                       \
    {                                                                                              \
        return call;                                                                               \
    }
SOFT_BIN(f32_add, fpu_soft_add(FP_FMT_F32, x[0], x[1], false, rm, fl))
SOFT_BIN(f32_sub, fpu_soft_add(FP_FMT_F32, x[0], x[1], true, rm, fl))
SOFT_BIN(f32_mul, fpu_soft_mul(FP_FMT_F32, x[0], x[1], rm, fl))
SOFT_BIN(f32_div, fpu_soft_div(FP_FMT_F32, x[0], x[1], rm, fl))
SOFT_BIN(f32_sqrt, fpu_soft_sqrt(FP_FMT_F32, x[0], rm, fl))
SOFT_BIN(f32_fma, fpu_soft_fma(FP_FMT_F32, x[0], x[1], x[2], x[3] & 1, (x[3] >> 1) & 1, rm, fl))
SOFT_BIN(f64_add, fpu_soft_add(FP_FMT_F64, x[0], x[1], false, rm, fl))
SOFT_BIN(f64_sub, fpu_soft_add(FP_FMT_F64, x[0], x[1], true, rm, fl))
SOFT_BIN(f64_mul, fpu_soft_mul(FP_FMT_F64, x[0], x[1], rm, fl))
SOFT_BIN(f64_div, fpu_soft_div(FP_FMT_F64, x[0], x[1], rm, fl))
SOFT_BIN(f64_sqrt, fpu_soft_sqrt(FP_FMT_F64, x[0], rm, fl))
SOFT_BIN(f64_fma, fpu_soft_fma(FP_FMT_F64, x[0], x[1], x[2], x[3] & 1, (x[3] >> 1) & 1, rm, fl))
SOFT_BIN(i32_to_f32, fpu_soft_from_int(FP_FMT_F32, I((int32_t)x[0]), true, rm, fl))
SOFT_BIN(u32_to_f32, fpu_soft_from_int(FP_FMT_F32, (uint32_t)x[0], false, rm, fl))
SOFT_BIN(i64_to_f32, fpu_soft_from_int(FP_FMT_F32, x[0], true, rm, fl))
SOFT_BIN(u64_to_f32, fpu_soft_from_int(FP_FMT_F32, x[0], false, rm, fl))
SOFT_BIN(i32_to_f64, fpu_soft_from_int(FP_FMT_F64, I((int32_t)x[0]), true, rm, fl))
SOFT_BIN(u32_to_f64, fpu_soft_from_int(FP_FMT_F64, (uint32_t)x[0], false, rm, fl))
SOFT_BIN(i64_to_f64, fpu_soft_from_int(FP_FMT_F64, x[0], true, rm, fl))
SOFT_BIN(u64_to_f64, fpu_soft_from_int(FP_FMT_F64, x[0], false, rm, fl))
SOFT_BIN(f64_to_f32, fpu_soft_convert(FP_FMT_F32, FP_FMT_F64, x[0], rm, fl))
SOFT_BIN(f32_to_f64, fpu_soft_convert(FP_FMT_F64, FP_FMT_F32, x[0], rm, fl))

/* Public API (host path for RNE..RUP) against the software reference. */
static void test_random_host_vs_soft(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        op_fn pub, soft;
        int w; /* operand generator: 32, 64, 0 = integer, 1 = f64 */
    } ops[] = {
        {"f32_add", w_f32_add, s_f32_add, 32},
        {"f32_sub", w_f32_sub, s_f32_sub, 32},
        {"f32_mul", w_f32_mul, s_f32_mul, 32},
        {"f32_div", w_f32_div, s_f32_div, 32},
        {"f32_sqrt", w_f32_sqrt, s_f32_sqrt, 32},
        {"f32_fma", w_f32_fma, s_f32_fma, 32},
        {"f64_add", w_f64_add, s_f64_add, 64},
        {"f64_sub", w_f64_sub, s_f64_sub, 64},
        {"f64_mul", w_f64_mul, s_f64_mul, 64},
        {"f64_div", w_f64_div, s_f64_div, 64},
        {"f64_sqrt", w_f64_sqrt, s_f64_sqrt, 64},
        {"f64_fma", w_f64_fma, s_f64_fma, 64},
        {"i32_to_f32", w_i32_to_f32, s_i32_to_f32, 0},
        {"u32_to_f32", w_u32_to_f32, s_u32_to_f32, 0},
        {"i64_to_f32", w_i64_to_f32, s_i64_to_f32, 0},
        {"u64_to_f32", w_u64_to_f32, s_u64_to_f32, 0},
        {"i32_to_f64", w_i32_to_f64, s_i32_to_f64, 0},
        {"u32_to_f64", w_u32_to_f64, s_u32_to_f64, 0},
        {"i64_to_f64", w_i64_to_f64, s_i64_to_f64, 0},
        {"u64_to_f64", w_u64_to_f64, s_u64_to_f64, 0},
        {"f64_to_f32", w_f64_to_f32, s_f64_to_f32, 64},
        {"f32_to_f64", w_f32_to_f64, s_f32_to_f64, 32},
    };
    const size_t nops = sizeof ops / sizeof ops[0];

    if (!fpu_uses_host())
        skip();
    /* libm's fma/fmaf passed the library's self-test on this host */
    assert_true(fpu_host_fma_usable());
    for (int i = 0; i < N_RANDOM; i++) {
        for (size_t k = 0; k < nops; k++) {
            uint64_t x[4];
            if (ops[k].w == 32) {
                x[0] = gen32(), x[1] = gen32(), x[2] = gen32();
                x[3] = rnd() & 3;
                if (k == 5 && (rnd() & 1))
                    x[2] = cancel32(x);
            } else if (ops[k].w == 64) {
                x[0] = gen64(), x[1] = gen64(), x[2] = gen64();
                x[3] = rnd() & 3;
                if (k == 11 && (rnd() & 1))
                    x[2] = cancel64(x);
            } else {
                x[0] = gen_int(), x[1] = x[2] = 0, x[3] = 0;
            }
            for (int m = 0; m < 5; m++) {
                unsigned f1 = 0, f2 = 0;
                uint64_t r1 = ops[k].pub(x, MODES[m], &f1);
                uint64_t r2 = ops[k].soft(x, MODES[m], &f2);
                if (r1 != r2 || f1 != f2)
                    fail_msg("%s(0x%llx, 0x%llx, 0x%llx, %llu) %s: api "
                             "0x%llx/%x soft 0x%llx/%x",
                             ops[k].name, (unsigned long long)x[0], (unsigned long long)x[1],
                             (unsigned long long)x[2], (unsigned long long)x[3], MODE_NAME[m],
                             (unsigned long long)r1, f1, (unsigned long long)r2, f2);
            }
        }
    }
}

/* float -> integer against libm's nearbyint()/round() */
static void int_oracle(double x, int m, int t, uint64_t *want, unsigned *fl)
{
    static const double lo[4] = {-0x1p31, -0.0, -0x1p63, -0.0};
    static const double hi[4] = {0x1p31 - 1, 0x1p32 - 1, 0x1p63, 0x1p64};
    static const uint64_t vmax[4] = {INT32_MAX, UINT32_MAX, INT64_MAX, UINT64_MAX};
    static const uint64_t vmin[4] = {I(INT32_MIN), 0, I(INT64_MIN), 0};
    static const int hm[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
    double r;

    *fl = 0;
    if (isnan(x)) {
        *fl = NV;
        *want = vmax[t];
        return;
    }
    if (m == 4) {
        r = round(x); /* ties away from zero */
    } else {
        fesetround(hm[m]);
        volatile double vx = x;
        r = nearbyint(vx);
        fesetround(FE_TONEAREST);
    }
    /* 64-bit upper bounds are exclusive (2^63, 2^64 not representable) */
    bool ok = r >= lo[t] && (t >= 2 ? r < hi[t] : r <= hi[t]);
    if (!ok) {
        *fl = NV;
        *want = x < 0 ? vmin[t] : vmax[t];
        return;
    }
    *want = (t == 0 || t == 2) ? I((int64_t)r) : (uint64_t)r;
    if (r != x)
        *fl = NX;
}

static void test_random_float_to_int(void **state)
{
    (void)state;
    static const op_fn f32ops[4] = {w_f32_to_i32, w_f32_to_u32, w_f32_to_i64, w_f32_to_u64};
    static const op_fn f64ops[4] = {w_f64_to_i32, w_f64_to_u32, w_f64_to_i64, w_f64_to_u64};

    fesetround(FE_TONEAREST);
    for (int i = 0; i < N_RANDOM; i++) {
        uint64_t a32 = gen32(), a64 = gen64();
        /* bias towards the integer range */
        if (rnd() & 1)
            a32 = (a32 & 0x807fffff) | (uint32_t)(118 + rnd() % 48) << 23;
        if (rnd() & 1)
            a64 = (a64 & 0x800fffffffffffff) | (1014 + rnd() % 56) << 52;
        for (int t = 0; t < 4; t++) {
            for (int m = 0; m < 5; m++) {
                uint64_t want, got;
                unsigned wfl, fl = 0;
                int_oracle(vf((uint32_t)a32), m, t, &want, &wfl);
                got = f32ops[t]((const uint64_t[]){a32, 0, 0, 0}, MODES[m], &fl);
                if (got != want || fl != wfl)
                    fail_msg("f32 0x%08llx -> type %d %s: got 0x%llx/%x "
                             "want 0x%llx/%x",
                             (unsigned long long)a32, t, MODE_NAME[m], (unsigned long long)got, fl,
                             (unsigned long long)want, wfl);
                fl = 0;
                int_oracle(vd(a64), m, t, &want, &wfl);
                got = f64ops[t]((const uint64_t[]){a64, 0, 0, 0}, MODES[m], &fl);
                if (got != want || fl != wfl)
                    fail_msg("f64 0x%016llx -> type %d %s: got 0x%llx/%x "
                             "want 0x%llx/%x",
                             (unsigned long long)a64, t, MODE_NAME[m], (unsigned long long)got, fl,
                             (unsigned long long)want, wfl);
            }
        }
    }
}

/* ======================================================================
 * binary16 (Zfh): spec edge cases in every mode
 * ====================================================================== */

WRAP_BIN(f16_add, f16_add, uint16_t)
WRAP_BIN(f16_mul, f16_mul, uint16_t)
WRAP_BIN(f16_div, f16_div, uint16_t)
WRAP_UN(f16_sqrt, f16_sqrt, uint16_t, )
WRAP_UN(u32_to_f16, u32_to_f16, uint32_t, )
WRAP_UN(i32_to_f16, i32_to_f16, int32_t, )
WRAP_UN(f16_to_i32, f16_to_i32, uint16_t, (uint64_t)(int64_t))
WRAP_UN(f16_to_u32, f16_to_u32, uint16_t, (uint64_t))
WRAP_UN(f16_to_u64, f16_to_u64, uint16_t, )
WRAP_UN(f32_to_f16, f32_to_f16, uint32_t, )
WRAP_UN(f64_to_f16, f64_to_f16, uint64_t, )
WRAP_NORM(f16_min, f16_min, uint16_t, )
WRAP_NORM(f16_lt, f16_lt, uint16_t, (uint64_t))
static uint64_t w_f16_fma(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    return f16_fma((uint16_t)x[0], (uint16_t)x[1], (uint16_t)x[2], x[3] & 1, (x[3] >> 1) & 1, rm,
                   fl);
}
static uint64_t w_f16_to_f32(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return f16_to_f32((uint16_t)x[0], fl);
}
static uint64_t w_f16_to_f64(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return f16_to_f64((uint16_t)x[0], fl);
}

#define CN16    0x7e00u
#define SNAN_16 0x7d00u /* quiet bit (0x0200) clear */
#define QNAN_16 0x7e01u
#define MAX_16  0x7bffu
#define ONE_16  0x3c00u

static void test_f16_arith_edges(void **state)
{
    (void)state;
    /* overflow: infinity or the largest finite value, by mode and sign */
    CHECK5(f16_add, ARGS(MAX_16, MAX_16), R5(0x7c00, MAX_16, MAX_16, 0x7c00, 0x7c00),
           FLALL(OF | NX));
    CHECK5(f16_add, ARGS(0xfbff, 0xfbff), R5(0xfc00, 0xfbff, 0xfc00, 0xfbff, 0xfc00),
           FLALL(OF | NX));
    /* subnormal results: 2^-25 is a tie between 0 and the smallest subnormal, 1.5 * 2^-24 one
       between the two smallest; tininess with UF */
    CHECK5(f16_mul, ARGS(0x0001, 0x3800), R5(0, 0, 0, 1, 1), FLALL(UF | NX));
    CHECK5(f16_mul, ARGS(0x8001, 0x3800), R5(0x8000, 0x8000, 0x8001, 0x8000, 0x8001),
           FLALL(UF | NX));
    CHECK5(f16_mul, ARGS(0x0003, 0x3800), R5(2, 1, 1, 2, 2), FLALL(UF | NX));
    CHECK(f16_add, ARGS(0x0001, 0x03ff), 0x0400, 0); /* exact: min normal, no UF */
    CHECK5(f16_add, ARGS(0x0001, 0x8001), R5(0, 0, 0x8000, 0, 0), FLALL(0)); /* -0 in RDN */
    /* NaNs: canonical result, NV only for signalling operands */
    CHECK(f16_add, ARGS(SNAN_16, ONE_16), CN16, NV);
    CHECK(f16_add, ARGS(QNAN_16, ONE_16), CN16, 0);
    CHECK(f16_add, ARGS(0x7c00, 0xfc00), CN16, NV);
    CHECK(f16_sqrt, ARGS(0xbc00), CN16, NV);
    CHECK(f16_sqrt, ARGS(0x8000), 0x8000, 0);
    CHECK(f16_sqrt, ARGS(0x4400), 0x4000, 0); /* sqrt(4) = 2 */
    CHECK(f16_div, ARGS(ONE_16, 0), 0x7c00, DZ);
    CHECK(f16_div, ARGS(0, 0), CN16, NV);
    CHECK(f16_fma, ARGS(0, 0x7c00, QNAN_16), CN16, NV); /* 0 * inf + qNaN */
    /* fused: (1 + 2^-10)^2 - 1 = 2^-9 + 2^-20, a tie, rounded once (a rounded product would
       lose the 2^-20 and give 2^-9 in RUP and RMM) */
    CHECK5(f16_fma, ARGS(0x3c01, 0x3c01, 0xbc00, 0), R5(0x1800, 0x1800, 0x1800, 0x1801, 0x1801),
           FLALL(NX));
    CHECK(f16_min, ARGS(SNAN_16, ONE_16), ONE_16, NV);
    CHECK(f16_min, ARGS(0x8000, 0), 0x8000, 0);
    CHECK(f16_lt, ARGS(QNAN_16, ONE_16), 0, NV);
}

static void test_f16_conversions(void **state)
{
    (void)state;
    /* 65520 is the tie between 65504 and 65536: overflow only where it rounds up */
    CHECK5(u32_to_f16, ARGS(65520), R5(0x7c00, MAX_16, MAX_16, 0x7c00, 0x7c00),
           FL5(OF | NX, NX, NX, OF | NX, OF | NX));
    CHECK5(u32_to_f16, ARGS(65536), R5(0x7c00, MAX_16, MAX_16, 0x7c00, 0x7c00), FLALL(OF | NX));
    CHECK5(i32_to_f16, ARGS(I(-65519)), R5(0xfbff, 0xfbff, 0xfc00, 0xfbff, 0xfbff),
           FL5(NX, NX, OF | NX, NX, NX));
    CHECK(i32_to_f16, ARGS(I(-2048)), 0xe800, 0);
    CHECK5(i32_to_f16, ARGS(2049), R5(0x6800, 0x6800, 0x6800, 0x6801, 0x6801), FLALL(NX));
    CHECK5(f16_to_i32, ARGS(0x3e00), R5(I(2), I(1), I(1), I(2), I(2)), FLALL(NX)); /* 1.5 */
    CHECK5(f16_to_i32, ARGS(0xb800), R5(0, 0, I(-1), 0, I(-1)), FLALL(NX));        /* -0.5 */
    CHECK(f16_to_i32, ARGS(0x7c00), I(INT32_MAX), NV);
    CHECK(f16_to_i32, ARGS(CN16), I(INT32_MAX), NV);
    CHECK(f16_to_u32, ARGS(0xbc00), 0, NV);
    CHECK(f16_to_u64, ARGS(MAX_16), 65504, 0);
    CHECK(f16_to_f32, ARGS(0x0001), 0x33800000, 0); /* 2^-24: subnormals widen exactly */
    CHECK(f16_to_f32, ARGS(0x83ff), 0xb87fc000, 0);
    CHECK(f16_to_f32, ARGS(SNAN_16), F32_CANONICAL_NAN, NV);
    CHECK(f16_to_f64, ARGS(0xfc00), 0xfff0000000000000ull, 0);
    CHECK(f16_to_f64, ARGS(QNAN_16), F64_CANONICAL_NAN, 0);
    /* 1 + 2^-11 + 2^-40: above the tie at 1 + 2^-11, so RNE rounds up; going through
       binary32 first would make it an exact tie and round to even (1.0) */
    CHECK5(f64_to_f16, ARGS(0x3ff0020000001000ull), R5(0x3c01, ONE_16, ONE_16, 0x3c01, 0x3c01),
           FLALL(NX));
    /* 2^-14 - 2^-26: rounds to min normal in RNE, RUP and RMM, which are then not tiny
       (tininess after rounding); RTZ and RDN give the largest subnormal with UF */
    CHECK5(f32_to_f16, ARGS(0x387ff000), R5(0x0400, 0x03ff, 0x03ff, 0x0400, 0x0400),
           FL5(NX, UF | NX, UF | NX, NX, NX));
    CHECK5(f32_to_f16, ARGS(0x477ff000), R5(0x7c00, MAX_16, MAX_16, 0x7c00, 0x7c00),
           FL5(OF | NX, NX, NX, OF | NX, OF | NX));
    CHECK(f32_to_f16, ARGS(0x7fa00000), CN16, NV);
    CHECK(f32_to_f16, ARGS(0xff800000), 0xfc00, 0);
    CHECK5(f32_to_f16, ARGS(0x33000000), R5(0, 0, 0, 1, 1), FLALL(UF | NX)); /* 2^-25 */
    CHECK(f64_to_f16, ARGS(0x8000000000000000ull), 0x8000, 0);
}

/* ======================================================================
 * Zfa
 * ====================================================================== */

static uint64_t w_fminm(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return fp_minimum((enum fp_fmt)x[2], x[0], x[1], false, fl);
}
static uint64_t w_fmaxm(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return fp_minimum((enum fp_fmt)x[2], x[0], x[1], true, fl);
}
static uint64_t w_fround(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    return fp_round_integral((enum fp_fmt)x[1], x[0], rm, false, fl);
}
static uint64_t w_froundnx(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    return fp_round_integral((enum fp_fmt)x[1], x[0], rm, true, fl);
}
static uint64_t w_fleq(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return (uint64_t)fp_le_quiet((enum fp_fmt)x[2], x[0], x[1], fl);
}
static uint64_t w_fltq(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return (uint64_t)fp_lt_quiet((enum fp_fmt)x[2], x[0], x[1], fl);
}
static uint64_t w_fcvtmod(const uint64_t *x, enum fp_rm rm, unsigned *fl)
{
    (void)rm;
    return (uint64_t)f64_to_i32_modular(x[0], fl);
}

static uint32_t bits_f(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}
static uint64_t bits_d(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The spec's fli table (Zfa, "Immediate values loaded by the FLI.S instruction") */
static void test_zfa_fli(void **state)
{
    (void)state;
    static const double values[32] = {-1.0,     0 /* min normal */,
                                      0x1p-16,  0x1p-15,
                                      0x1p-8,   0x1p-7,
                                      0.0625,   0.125,
                                      0.25,     0.3125,
                                      0.375,    0.4375,
                                      0.5,      0.625,
                                      0.75,     0.875,
                                      1.0,      1.25,
                                      1.5,      1.75,
                                      2.0,      2.5,
                                      3,        4,
                                      8,        16,
                                      128,      256,
                                      0x1p15,   0x1p16,
                                      INFINITY, 0 /* canonical NaN */};
    for (unsigned i = 0; i < 32; i++) {
        uint64_t want_s = i == 1 ? bits_f(FLT_MIN) : i == 31 ? CN32 : bits_f((float)values[i]);
        uint64_t want_d = i == 1 ? bits_d(DBL_MIN) : i == 31 ? CN64 : bits_d(values[i]);
        if (fp_fli(FP_FMT_F32, i) != want_s || fp_fli(FP_FMT_F64, i) != want_d)
            fail_msg("fli.s/d %u: %llx %llx", i, (unsigned long long)fp_fli(FP_FMT_F32, i),
                     (unsigned long long)fp_fli(FP_FMT_F64, i));
    }
    /* fli.h: entry 1 is 2^-14, 2 and 3 are subnormal, 29 (2^16) is +inf */
    static const uint16_t h[32] = {0xbc00, 0x0400, 0x0100, 0x0200, 0x1c00, 0x2000, 0x2c00, 0x3000,
                                   0x3400, 0x3500, 0x3600, 0x3700, 0x3800, 0x3900, 0x3a00, 0x3b00,
                                   0x3c00, 0x3d00, 0x3e00, 0x3f00, 0x4000, 0x4100, 0x4200, 0x4400,
                                   0x4800, 0x4c00, 0x5800, 0x5c00, 0x7800, 0x7c00, 0x7c00, 0x7e00};
    for (unsigned i = 0; i < 32; i++)
        assert_int_equal(fp_fli(FP_FMT_F16, i), h[i]);
}

static void test_zfa_minmax_compare(void **state)
{
    (void)state;
    /* fminm/fmaxm: any NaN gives the canonical NaN, NV for a signalling one */
    CHECK(fminm, ARGS(QNAN_32, P1_32, FP_FMT_F32), CN32, 0);
    CHECK(fmaxm, ARGS(P1_32, QNAN_32, FP_FMT_F32), CN32, 0);
    CHECK(fminm, ARGS(SNAN_32, P1_32, FP_FMT_F32), CN32, NV);
    CHECK(fmaxm, ARGS(QNAN_64, SNAN_64, FP_FMT_F64), CN64, NV);
    CHECK(fminm, ARGS(SNAN_16, ONE_16, FP_FMT_F16), CN16, NV);
    CHECK(fminm, ARGS(NZ_32, 0, FP_FMT_F32), NZ_32, 0);
    CHECK(fmaxm, ARGS(NZ_32, 0, FP_FMT_F32), 0, 0);
    CHECK(fminm, ARGS(0, NZ_64, FP_FMT_F64), NZ_64, 0);
    CHECK(fmaxm, ARGS(0x8000, 0, FP_FMT_F16), 0, 0);
    CHECK(fminm, ARGS(M1_32, P2_32, FP_FMT_F32), M1_32, 0);
    CHECK(fmaxm, ARGS(0xbc00, 0x4000, FP_FMT_F16), 0x4000, 0);
    /* fleq/fltq: quiet NaNs raise nothing, signalling ones NV */
    CHECK(fleq, ARGS(QNAN_32, P1_32, FP_FMT_F32), 0, 0);
    CHECK(fltq, ARGS(P1_64, QNAN_64, FP_FMT_F64), 0, 0);
    CHECK(fleq, ARGS(SNAN_64, P1_64, FP_FMT_F64), 0, NV);
    CHECK(fltq, ARGS(QNAN_16, SNAN_16, FP_FMT_F16), 0, NV);
    CHECK(fleq, ARGS(NZ_32, 0, FP_FMT_F32), 1, 0);
    CHECK(fleq, ARGS(0, NZ_32, FP_FMT_F32), 1, 0);
    CHECK(fltq, ARGS(NZ_32, 0, FP_FMT_F32), 0, 0);
    CHECK(fltq, ARGS(M1_32, P1_32, FP_FMT_F32), 1, 0);
    CHECK(fltq, ARGS(P1_32, P1_32, FP_FMT_F32), 0, 0);
    CHECK(fleq, ARGS(P1_32, P1_32, FP_FMT_F32), 1, 0);
    CHECK(fleq, ARGS(0x4000, 0x3c00, FP_FMT_F16), 0, 0);
    CHECK(fltq, ARGS(0xc000, 0xbc00, FP_FMT_F16), 1, 0);
}

static void test_zfa_fround(void **state)
{
    (void)state;
    /* 2.5 and -2.5 in each mode; fround never raises NX, froundnx does when inexact */
    CHECK5(fround, ARGS(0x40200000, FP_FMT_F32),
           R5(0x40000000, 0x40000000, 0x40000000, 0x40400000, 0x40400000), FLALL(0));
    CHECK5(froundnx, ARGS(0xc0200000, FP_FMT_F32),
           R5(0xc0000000, 0xc0000000, 0xc0400000, 0xc0000000, 0xc0400000), FLALL(NX));
    /* magnitudes below one keep their sign when they round to zero */
    CHECK5(froundnx, ARGS(0xbe99999a, FP_FMT_F32), R5(NZ_32, NZ_32, M1_32, NZ_32, NZ_32),
           FLALL(NX));
    CHECK5(fround, ARGS(0x3e99999a, FP_FMT_F32), R5(0, 0, 0, P1_32, 0), FLALL(0));
    /* large values are integers already: unchanged, no NX */
    CHECK(froundnx, ARGS(0x4b000001, FP_FMT_F32), 0x4b000001, 0);
    CHECK(froundnx, ARGS(0x7f7fffff, FP_FMT_F32), 0x7f7fffff, 0);
    CHECK(froundnx, ARGS(0x4330000000000001ull, FP_FMT_F64), 0x4330000000000001ull, 0);
    CHECK(froundnx, ARGS(0x7fefffffffffffffull, FP_FMT_F64), 0x7fefffffffffffffull, 0);
    CHECK(froundnx, ARGS(0x6400, FP_FMT_F16), 0x6400, 0); /* 1024 */
    /* 8388607.5 (binary32's last non-integer) and 4095.5 rounds up to a new binade */
    CHECK5(froundnx, ARGS(0x4affffff, FP_FMT_F32),
           R5(0x4b000000, 0x4afffffe, 0x4afffffe, 0x4b000000, 0x4b000000), FLALL(NX));
    CHECK5(froundnx, ARGS(0x63ff, FP_FMT_F16), R5(0x6400, 0x63fe, 0x63fe, 0x6400, 0x6400),
           FLALL(NX)); /* 1023.5 */
    /* zeros, infinities unchanged; NaNs canonical, NV only for signalling */
    CHECK(froundnx, ARGS(NZ_64, FP_FMT_F64), NZ_64, 0);
    CHECK(froundnx, ARGS(0xfff0000000000000ull, FP_FMT_F64), 0xfff0000000000000ull, 0);
    CHECK(fround, ARGS(QNAN_64, FP_FMT_F64), CN64, 0);
    CHECK(fround, ARGS(SNAN_64, FP_FMT_F64), CN64, NV);
    CHECK(froundnx, ARGS(SNAN_16, FP_FMT_F16), CN16, NV);
    CHECK(froundnx, ARGS(QNAN_32, FP_FMT_F32), CN32, 0);
    /* smallest subnormal: to zero or one */
    CHECK5(froundnx, ARGS(1, FP_FMT_F64), R5(0, 0, 0, P1_64, 0), FLALL(NX));
}

/* fround/froundnx against the host's nearbyint/rint/round on random values */
static void test_zfa_fround_random(void **state)
{
    (void)state;
    static const int host_mode[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (unsigned n = 0; n < 20000; n++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        /* exponents around the integral boundary */
        double d = ldexp((double)(x >> 11), -53 + (int)((x >> 3) % 60) - 5) * ((x & 1) ? -1 : 1);
        enum fp_rm rm = (enum fp_rm)((x >> 8) % 5);
        double want;
        if (rm == FP_RMM) {
            want = round(d);
        } else {
            fesetround(host_mode[rm]);
            want = nearbyint(d);
            fesetround(FE_TONEAREST);
        }
        unsigned fl = 0;
        uint64_t got = fp_round_integral(FP_FMT_F64, bits_d(d), rm, true, &fl);
        if (got != bits_d(want) || fl != (want != d ? FP_NX : 0u))
            fail_msg("froundnx.d %a mode %d: got %llx flags %x, want %a", d, rm,
                     (unsigned long long)got, fl, want);
        float f = (float)d;
        fl = 0;
        uint64_t got_s = fp_round_integral(FP_FMT_F32, bits_f(f), rm, false, &fl);
        float want_s;
        if (rm == FP_RMM) {
            want_s = roundf(f);
        } else {
            fesetround(host_mode[rm]);
            want_s = nearbyintf(f);
            fesetround(FE_TONEAREST);
        }
        if (got_s != bits_f(want_s) || fl != 0)
            fail_msg("fround.s %a mode %d: got %llx flags %x, want %a", (double)f, rm,
                     (unsigned long long)got_s, fl, (double)want_s);
    }
}

static void test_zfa_fcvtmod(void **state)
{
    (void)state;
    /* in range: as fcvt.w.d with RTZ */
    CHECK(fcvtmod, ARGS(bits_d(-1.5)), I(-1), NX);
    CHECK(fcvtmod, ARGS(bits_d(-0.5)), 0, NX);
    CHECK(fcvtmod, ARGS(bits_d(-2147483648.0)), I(INT32_MIN), 0);
    CHECK(fcvtmod, ARGS(bits_d(2147483647.75)), I(INT32_MAX), NX);
    /* out of range: the low 32 bits of the truncated value, NV (not NX) */
    CHECK(fcvtmod, ARGS(bits_d(2147483648.0)), I(INT32_MIN), NV);
    CHECK(fcvtmod, ARGS(bits_d(4294967301.5)), 5, NV);     /* 2^32 + 5.5 */
    CHECK(fcvtmod, ARGS(bits_d(3e9)), I(-1294967296), NV); /* 3e9 - 2^32 */
    CHECK(fcvtmod, ARGS(bits_d(-3e9)), I(1294967296), NV);
    CHECK(fcvtmod, ARGS(bits_d(0x1p62 + 0x1p10)), 1024, NV);
    CHECK(fcvtmod, ARGS(bits_d(-(0x1p62 + 0x1p10))), I(-1024), NV);
    CHECK(fcvtmod, ARGS(bits_d(1e300)), 0, NV);
    /* NaN and infinities: zero, NV */
    CHECK(fcvtmod, ARGS(CN64), 0, NV);
    CHECK(fcvtmod, ARGS(SNAN_64), 0, NV);
    CHECK(fcvtmod, ARGS(0x7ff0000000000000ull), 0, NV);
    CHECK(fcvtmod, ARGS(0xfff0000000000000ull), 0, NV);
    CHECK(fcvtmod, ARGS(NZ_64), 0, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_canonical_nan_f32),
        cmocka_unit_test(test_canonical_nan_f64),
        cmocka_unit_test(test_nan_signalling_rules),
        cmocka_unit_test(test_rounding_add),
        cmocka_unit_test(test_rounding_mul),
        cmocka_unit_test(test_rounding_div_sqrt),
        cmocka_unit_test(test_rounding_int_to_float),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_underflow_tininess_after_rounding),
        cmocka_unit_test(test_fma),
        cmocka_unit_test(test_minmax),
        cmocka_unit_test(test_compare),
        cmocka_unit_test(test_fclass),
        cmocka_unit_test(test_float_to_int_saturation),
        cmocka_unit_test(test_float_to_int_rounding),
        cmocka_unit_test(test_f64_to_f32),
        cmocka_unit_test(test_f32_to_f64),
        cmocka_unit_test(test_zero_signs),
        cmocka_unit_test(test_host_env_preserved),
        cmocka_unit_test(test_random_rmm_vs_rne),
        cmocka_unit_test(test_random_host_vs_soft),
        cmocka_unit_test(test_random_float_to_int),
        cmocka_unit_test(test_f16_arith_edges),
        cmocka_unit_test(test_f16_conversions),
        cmocka_unit_test(test_zfa_fli),
        cmocka_unit_test(test_zfa_minmax_compare),
        cmocka_unit_test(test_zfa_fround),
        cmocka_unit_test(test_zfa_fround_random),
        cmocka_unit_test(test_zfa_fcvtmod),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
