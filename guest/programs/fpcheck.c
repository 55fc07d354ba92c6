/*
 * fpcheck: a floating-point self-check for the hart. Every expected value and
 * flag below follows from the RISC-V F/D specification, so the program passes
 * on any correct RV64GC implementation (it is checked under QEMU) and names
 * each case that a wrong one gets wrong.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum { NX = 1, UF = 2, OF = 4, DZ = 8, NV = 16 };

static int passed, failed;

static void check(const char *what, uint64_t got, uint64_t want, unsigned got_flags,
                  unsigned want_flags)
{
    if (got == want && got_flags == want_flags) {
        passed++;
        return;
    }
    failed++;
    printf("fpcheck: FAIL %s: got %016llx flags %02x, want %016llx flags %02x\n", what,
           (unsigned long long)got, got_flags, (unsigned long long)want, want_flags);
}

static void clear_flags(void)
{
    __asm__ volatile("fsflags zero");
}

static unsigned read_flags(void)
{
    unsigned long f;
    __asm__ volatile("frflags %0" : "=r"(f));
    return (unsigned)f;
}

static double d_from(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof(d));
    return d;
}

static uint64_t bits_of(double d)
{
    uint64_t b;
    memcpy(&b, &d, sizeof(b));
    return b;
}

/* One instruction with a static rounding mode, result as raw bits, flags fresh. */
#define BINOP_D(insn, rm, a, b)                                                                   \
    ({                                                                                            \
        double r_;                                                                                \
        clear_flags();                                                                            \
        __asm__ volatile(insn " %0, %1, %2, " rm : "=f"(r_) : "f"(a), "f"(b));                    \
        bits_of(r_);                                                                              \
    })
#define CMP_D(insn, a, b)                                                                         \
    ({                                                                                            \
        long r_;                                                                                  \
        clear_flags();                                                                            \
        __asm__ volatile(insn " %0, %1, %2" : "=r"(r_) : "f"(a), "f"(b));                         \
        (uint64_t)r_;                                                                             \
    })
#define TO_INT(insn, rm, a)                                                                       \
    ({                                                                                            \
        long r_;                                                                                  \
        clear_flags();                                                                            \
        __asm__ volatile(insn " %0, %1, " rm : "=r"(r_) : "f"(a));                                \
        (uint64_t)r_;                                                                             \
    })
#define FROM_INT_S(insn, rm, v)                                                                   \
    ({                                                                                            \
        float r_;                                                                                 \
        uint32_t b_;                                                                              \
        clear_flags();                                                                            \
        __asm__ volatile(insn " %0, %1, " rm : "=f"(r_) : "r"(v));                                \
        memcpy(&b_, &r_, 4);                                                                      \
        (uint64_t)b_;                                                                             \
    })

#define MINMAX_D(insn, a, b)                                                                      \
    ({                                                                                            \
        double r_;                                                                                \
        clear_flags();                                                                            \
        __asm__ volatile(insn " %0, %1, %2" : "=f"(r_) : "f"(a), "f"(b));                         \
        bits_of(r_);                                                                              \
    })

static const uint64_t CANON_D = 0x7ff8000000000000ull, SNAN_D = 0x7ff0000000000001ull,
                      QNAN_D = 0x7ff8000000000123ull, PZERO = 0, NZERO = 0x8000000000000000ull,
                      ONE = 0x3ff0000000000000ull, PINF = 0x7ff0000000000000ull;

static void check_rounding(void)
{
    /* 1 + 2^-53 is a tie between 1 and 1+2^-52; 1 + 3*2^-54 is not. */
    double one = 1.0, half_ulp = d_from(0x3ca0000000000000ull), more = d_from(0x3ca8000000000000ull);
    check("fadd.d rne tie", BINOP_D("fadd.d", "rne", one, half_ulp), ONE, read_flags(), NX);
    check("fadd.d rmm tie", BINOP_D("fadd.d", "rmm", one, half_ulp), ONE + 1, read_flags(), NX);
    check("fadd.d rup", BINOP_D("fadd.d", "rup", one, half_ulp), ONE + 1, read_flags(), NX);
    check("fadd.d rdn", BINOP_D("fadd.d", "rdn", one, half_ulp), ONE, read_flags(), NX);
    check("fadd.d rtz", BINOP_D("fadd.d", "rtz", one, half_ulp), ONE, read_flags(), NX);
    check("fadd.d rne non-tie", BINOP_D("fadd.d", "rne", one, more), ONE + 1, read_flags(), NX);
    check("fadd.d rtz non-tie", BINOP_D("fadd.d", "rtz", one, more), ONE, read_flags(), NX);
    /* 2^24+1 does not fit a float: a tie between 2^24 and 2^24+2. */
    long v = 16777217;
    check("fcvt.s.l rne", FROM_INT_S("fcvt.s.l", "rne", v), 0x4b800000, read_flags(), NX);
    check("fcvt.s.l rmm", FROM_INT_S("fcvt.s.l", "rmm", v), 0x4b800001, read_flags(), NX);
    check("fcvt.s.l rup", FROM_INT_S("fcvt.s.l", "rup", v), 0x4b800001, read_flags(), NX);
    check("fcvt.s.l rdn", FROM_INT_S("fcvt.s.l", "rdn", v), 0x4b800000, read_flags(), NX);
    /* Dynamic rounding mode from frm. */
    __asm__ volatile("fsrmi 3"); /* RUP */
    double r;
    clear_flags();
    __asm__ volatile("fadd.d %0, %1, %2, dyn" : "=f"(r) : "f"(one), "f"(half_ulp));
    check("fadd.d dyn=rup", bits_of(r), ONE + 1, read_flags(), NX);
    __asm__ volatile("fsrmi 0");
    /* Overflow: RNE goes to infinity, RTZ stops at the largest finite value. */
    double big = d_from(0x7fefffffffffffffull);
    check("fmul.d overflow rne", BINOP_D("fmul.d", "rne", big, big), PINF, read_flags(), OF | NX);
    check("fmul.d overflow rtz", BINOP_D("fmul.d", "rtz", big, big), 0x7fefffffffffffffull,
          read_flags(), OF | NX);
    /* Tininess is detected after rounding: (1+2^-27) * 2^-1022(1-2^-27) = 2^-1022(1-2^-54)
       rounds up to the smallest normal, so only NX. Half the smallest subnormal ties to 0. */
    check("fmul.d tininess after rounding",
          BINOP_D("fmul.d", "rne", d_from(0x3ff0000002000000ull), d_from(0x000ffffffe000000ull)),
          0x0010000000000000ull, read_flags(), NX);
    check("fmul.d underflow to zero", BINOP_D("fmul.d", "rne", d_from(1), 0.5), PZERO, read_flags(),
          UF | NX);
    check("fmul.d exact subnormal", BINOP_D("fmul.d", "rne", d_from(0x0010000000000000ull), 0.5),
          0x0008000000000000ull, read_flags(), 0);
}

static void check_nan_rules(void)
{
    double inf = d_from(PINF), snan = d_from(SNAN_D), qnan = d_from(QNAN_D);
    check("inf - inf", BINOP_D("fsub.d", "rne", inf, inf), CANON_D, read_flags(), NV);
    check("0 * inf", BINOP_D("fmul.d", "rne", 0.0, inf), CANON_D, read_flags(), NV);
    check("0 / 0", BINOP_D("fdiv.d", "rne", 0.0, 0.0), CANON_D, read_flags(), NV);
    check("1 / 0", BINOP_D("fdiv.d", "rne", 1.0, 0.0), PINF, read_flags(), DZ);
    check("qNaN payload not propagated", BINOP_D("fadd.d", "rne", qnan, 1.0), CANON_D,
          read_flags(), 0);
    check("sNaN + 1", BINOP_D("fadd.d", "rne", snan, 1.0), CANON_D, read_flags(), NV);
    check("fmin(-0,+0)", MINMAX_D("fmin.d", d_from(NZERO), 0.0), NZERO, read_flags(), 0);
    check("fmax(-0,+0)", MINMAX_D("fmax.d", d_from(NZERO), 0.0), PZERO, read_flags(), 0);
    check("fmin(sNaN,1)", MINMAX_D("fmin.d", snan, 1.0), ONE, read_flags(), NV);
    check("fmax(qNaN,1)", MINMAX_D("fmax.d", qnan, 1.0), ONE, read_flags(), 0);
    check("fmin(qNaN,qNaN)", MINMAX_D("fmin.d", qnan, qnan), CANON_D, read_flags(), 0);
    check("feq qNaN is quiet", CMP_D("feq.d", qnan, 1.0), 0, read_flags(), 0);
    check("feq sNaN signals", CMP_D("feq.d", snan, 1.0), 0, read_flags(), NV);
    check("flt qNaN signals", CMP_D("flt.d", qnan, 1.0), 0, read_flags(), NV);
    check("fle -0 <= +0", CMP_D("fle.d", d_from(NZERO), 0.0), 1, read_flags(), 0);
    double r;
    clear_flags();
    __asm__ volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(d_from(NZERO)));
    check("sqrt(-0)", bits_of(r), NZERO, read_flags(), 0);
    clear_flags();
    __asm__ volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(-1.0));
    check("sqrt(-1)", bits_of(r), CANON_D, read_flags(), NV);
}

static void check_fma(void)
{
    /* (1+2^-30)(1-2^-30) - 1 = -2^-60 exactly; a separate multiply would round it to 0. */
    double a = d_from(0x3ff0000000400000ull), b = d_from(0x3fefffffff800000ull), c = -1.0, r;
    clear_flags();
    __asm__ volatile("fmadd.d %0, %1, %2, %3, rne" : "=f"(r) : "f"(a), "f"(b), "f"(c));
    check("fmadd.d single rounding", bits_of(r), 0xbc30000000000000ull, read_flags(), 0);
    /* 0 * inf + qNaN is invalid on RISC-V even though the addend is a quiet NaN. */
    clear_flags();
    __asm__ volatile("fmadd.d %0, %1, %2, %3, rne"
                     : "=f"(r)
                     : "f"(0.0), "f"(d_from(PINF)), "f"(d_from(QNAN_D)));
    check("fmadd 0*inf+qNaN", bits_of(r), CANON_D, read_flags(), NV);
    clear_flags();
    __asm__ volatile("fnmsub.d %0, %1, %2, %3, rne" : "=f"(r) : "f"(2.0), "f"(3.0), "f"(1.0));
    check("fnmsub.d = -(a*b)+c", bits_of(r), bits_of(-5.0), read_flags(), 0);
}

static void check_conversions(void)
{
    double nan = d_from(QNAN_D);
    check("fcvt.w.d NaN", TO_INT("fcvt.w.d", "rtz", nan), 0x7fffffff, read_flags(), NV);
    check("fcvt.w.d 1e20", TO_INT("fcvt.w.d", "rtz", 1e20), 0x7fffffff, read_flags(), NV);
    check("fcvt.w.d -1e20", TO_INT("fcvt.w.d", "rtz", -1e20), 0xffffffff80000000ull, read_flags(),
          NV);
    check("fcvt.l.d NaN", TO_INT("fcvt.l.d", "rtz", nan), 0x7fffffffffffffffull, read_flags(), NV);
    check("fcvt.wu.d -0.3", TO_INT("fcvt.wu.d", "rtz", -0.3), 0, read_flags(), NX);
    check("fcvt.wu.d -1", TO_INT("fcvt.wu.d", "rtz", -1.0), 0, read_flags(), NV);
    check("fcvt.wu.d 3e9 sign-extends", TO_INT("fcvt.wu.d", "rtz", 3e9), 0xffffffffb2d05e00ull,
          read_flags(), 0);
    check("fcvt.lu.d 2^64", TO_INT("fcvt.lu.d", "rtz", 18446744073709551616.0), ~0ull, read_flags(),
          NV);
    check("fcvt.w.d 2.5 rne", TO_INT("fcvt.w.d", "rne", 2.5), 2, read_flags(), NX);
    check("fcvt.w.d 2.5 rmm", TO_INT("fcvt.w.d", "rmm", 2.5), 3, read_flags(), NX);
    check("fcvt.w.d -2.5 rdn", TO_INT("fcvt.w.d", "rdn", -2.5), (uint64_t)-3, read_flags(), NX);
    float f;
    clear_flags();
    __asm__ volatile("fcvt.s.d %0, %1, rtz" : "=f"(f) : "f"(1e300));
    uint32_t fb;
    memcpy(&fb, &f, 4);
    check("fcvt.s.d overflow rtz", fb, 0x7f7fffff, read_flags(), OF | NX);
}

static void check_nan_boxing(void)
{
    /* A single written to an FP register is NaN-boxed: the upper 32 bits are ones. */
    double reg;
    uint64_t raw;
    __asm__ volatile("fmv.w.x %0, %1" : "=f"(reg) : "r"(0x3f800000ul));
    __asm__ volatile("fmv.x.d %0, %1" : "=r"(raw) : "f"(reg));
    check("fmv.w.x boxes", raw, 0xffffffff3f800000ull, 0, 0);
    /* A single-precision op on an improperly boxed value sees the canonical NaN. */
    __asm__ volatile("fmv.d.x %0, %1" : "=f"(reg) : "r"(0x000000003f800000ull));
    clear_flags();
    __asm__ volatile("fadd.s %0, %0, %0" : "+f"(reg));
    __asm__ volatile("fmv.x.d %0, %1" : "=r"(raw) : "f"(reg));
    check("unboxed single is NaN", raw, 0xffffffff7fc00000ull, read_flags(), 0);
    /* fmv.x.w sign-extends the low 32 bits. */
    long w;
    __asm__ volatile("fmv.w.x %0, %1" : "=f"(reg) : "r"(0xbf800000ul));
    __asm__ volatile("fmv.x.w %0, %1" : "=r"(w) : "f"(reg));
    check("fmv.x.w sign-extends", (uint64_t)w, 0xffffffffbf800000ull, 0, 0);
}

static void check_fclass(void)
{
    static const struct {
        uint64_t bits;
        unsigned class;
    } cases[] = {
        {0xfff0000000000000ull, 1 << 0}, {0xbff0000000000000ull, 1 << 1},
        {0x800fffffffffffffull, 1 << 2}, {NZERO, 1 << 3},
        {PZERO, 1 << 4},                 {0x000fffffffffffffull, 1 << 5},
        {ONE, 1 << 6},                   {PINF, 1 << 7},
        {SNAN_D, 1 << 8},                {CANON_D, 1 << 9},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long c;
        __asm__ volatile("fclass.d %0, %1" : "=r"(c) : "f"(d_from(cases[i].bits)));
        char name[48];
        snprintf(name, sizeof(name), "fclass.d %016llx", (unsigned long long)cases[i].bits);
        check(name, (uint64_t)c, cases[i].class, 0, 0);
    }
}

static void check_accrual(void)
{
    /* fflags accrue until cleared; fcsr packs frm above them. */
    clear_flags();
    double r;
    __asm__ volatile("fdiv.d %0, %1, %2" : "=f"(r) : "f"(1.0), "f"(0.0));
    __asm__ volatile("fdiv.d %0, %1, %2" : "=f"(r) : "f"(1.0), "f"(3.0));
    unsigned long fcsr;
    __asm__ volatile("fsrmi 2");
    __asm__ volatile("frcsr %0" : "=r"(fcsr));
    __asm__ volatile("fsrmi 0");
    check("fflags accrue, fcsr layout", fcsr, (2 << 5) | DZ | NX, 0, 0);
}

int main(void)
{
    check_rounding();
    check_nan_rules();
    check_fma();
    check_conversions();
    check_nan_boxing();
    check_fclass();
    check_accrual();
    printf("fpcheck: %d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
