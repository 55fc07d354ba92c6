/*
 * Zfh, Zfhmin and Zvfhmin: every scalar binary16 instruction (and the vector
 * conversions between binary16 and binary32) on special, random and
 * rounding-sensitive operands, in all five rounding modes through frm and a
 * few through the instruction's rm field. Each line: the instruction, its
 * operands, then per mode the result (the whole f register, so NaN-boxing
 * shows) and fflags. Operands that are not properly NaN-boxed are mixed in.
 * Zfa is not here: Debian's QEMU 7.2 lacks it (test_fpu and test_isa_scalar
 * check it against the specification).
 */
#include <stdbool.h>

#include "rt.h"

typedef uint64_t (*op_fn)(uint64_t a, uint64_t b, uint64_t c, uint64_t rm, uint64_t *fl);

/* fa1..fa3 = a, b, c (raw 64-bit patterns), frm = rm, fflags cleared; text leaves its
   result in %[r] */
#define T(id, text)                                                                                \
    static uint64_t id(uint64_t a, uint64_t b, uint64_t c, uint64_t rm, uint64_t *fl)              \
    {                                                                                              \
        uint64_t r, f;                                                                             \
        __asm__ volatile("fsrm %[rm]\nfsflags zero\nfmv.d.x fa1, %[a]\nfmv.d.x fa2, %[b]\n"        \
                         "fmv.d.x fa3, %[c]\n" text "\nfrflags %[f]"                               \
                         : [r] "=&r"(r), [f] "=&r"(f)                                              \
                         : [a] "r"(a), [b] "r"(b), [c] "r"(c), [rm] "r"(rm)                        \
                         : "fa0", "fa1", "fa2", "fa3", "memory");                                  \
        *fl = f;                                                                                   \
        return r;                                                                                  \
    }
/* f-register result */
#define TF(id, insn) T(id, insn "\nfmv.x.d %[r], fa0")

TF(fadd_h, "fadd.h fa0, fa1, fa2") TF(fsub_h, "fsub.h fa0, fa1, fa2")
TF(fmul_h, "fmul.h fa0, fa1, fa2") TF(fdiv_h, "fdiv.h fa0, fa1, fa2")
TF(fsqrt_h, "fsqrt.h fa0, fa1") TF(fmin_h, "fmin.h fa0, fa1, fa2") TF(fmax_h, "fmax.h fa0, fa1, fa2")
TF(fsgnj_h, "fsgnj.h fa0, fa1, fa2") TF(fsgnjn_h, "fsgnjn.h fa0, fa1, fa2")
TF(fsgnjx_h, "fsgnjx.h fa0, fa1, fa2")
TF(fmadd_h, "fmadd.h fa0, fa1, fa2, fa3") TF(fmsub_h, "fmsub.h fa0, fa1, fa2, fa3")
TF(fnmsub_h, "fnmsub.h fa0, fa1, fa2, fa3") TF(fnmadd_h, "fnmadd.h fa0, fa1, fa2, fa3")
T(feq_h, "feq.h %[r], fa1, fa2") T(flt_h, "flt.h %[r], fa1, fa2") T(fle_h, "fle.h %[r], fa1, fa2")
T(fclass_h, "fclass.h %[r], fa1") T(fmv_x_h, "fmv.x.h %[r], fa1")
TF(fmv_h_x, "fmv.h.x fa0, %[a]")
T(fcvt_w_h, "fcvt.w.h %[r], fa1") T(fcvt_wu_h, "fcvt.wu.h %[r], fa1")
T(fcvt_l_h, "fcvt.l.h %[r], fa1") T(fcvt_lu_h, "fcvt.lu.h %[r], fa1")
TF(fcvt_h_w, "fcvt.h.w fa0, %[a]") TF(fcvt_h_wu, "fcvt.h.wu fa0, %[a]")
TF(fcvt_h_l, "fcvt.h.l fa0, %[a]") TF(fcvt_h_lu, "fcvt.h.lu fa0, %[a]")
TF(fcvt_s_h, "fcvt.s.h fa0, fa1") TF(fcvt_h_s, "fcvt.h.s fa0, fa1")
TF(fcvt_d_h, "fcvt.d.h fa0, fa1") TF(fcvt_h_d, "fcvt.h.d fa0, fa1")
/* static rounding modes override frm */
TF(fadd_h_rtz, "fadd.h fa0, fa1, fa2, rtz") TF(fmul_h_rup, "fmul.h fa0, fa1, fa2, rup")
TF(fcvt_h_d_rmm, "fcvt.h.d fa0, fa1, rmm") TF(fcvt_h_s_rdn, "fcvt.h.s fa0, fa1, rdn")
T(fcvt_w_h_rmm, "fcvt.w.h %[r], fa1, rmm") TF(fcvt_h_l_rtz, "fcvt.h.l fa0, %[a], rtz")
/* a boxed half read as binary32 is a NaN; a binary32 read as a half is unboxed */
TF(fadd_s, "fadd.s fa0, fa1, fa2")

/* operand kinds */
enum { H, S, D, I, X };

struct op {
    const char *name;
    op_fn fn;
    unsigned nargs, kind; /* kind: the operands' */
};

static const struct op ops[] = {
    {"fadd.h", fadd_h, 2, H},
    {"fsub.h", fsub_h, 2, H},
    {"fmul.h", fmul_h, 2, H},
    {"fdiv.h", fdiv_h, 2, H},
    {"fsqrt.h", fsqrt_h, 1, H},
    {"fmin.h", fmin_h, 2, H},
    {"fmax.h", fmax_h, 2, H},
    {"fsgnj.h", fsgnj_h, 2, H},
    {"fsgnjn.h", fsgnjn_h, 2, H},
    {"fsgnjx.h", fsgnjx_h, 2, H},
    {"fmadd.h", fmadd_h, 3, H},
    {"fmsub.h", fmsub_h, 3, H},
    {"fnmsub.h", fnmsub_h, 3, H},
    {"fnmadd.h", fnmadd_h, 3, H},
    {"feq.h", feq_h, 2, H},
    {"flt.h", flt_h, 2, H},
    {"fle.h", fle_h, 2, H},
    {"fclass.h", fclass_h, 1, H},
    {"fmv.x.h", fmv_x_h, 1, H},
    {"fmv.h.x", fmv_h_x, 1, X},
    {"fcvt.w.h", fcvt_w_h, 1, H},
    {"fcvt.wu.h", fcvt_wu_h, 1, H},
    {"fcvt.l.h", fcvt_l_h, 1, H},
    {"fcvt.lu.h", fcvt_lu_h, 1, H},
    {"fcvt.h.w", fcvt_h_w, 1, I},
    {"fcvt.h.wu", fcvt_h_wu, 1, I},
    {"fcvt.h.l", fcvt_h_l, 1, I},
    {"fcvt.h.lu", fcvt_h_lu, 1, I},
    {"fcvt.s.h", fcvt_s_h, 1, H},
    {"fcvt.h.s", fcvt_h_s, 1, S},
    {"fcvt.d.h", fcvt_d_h, 1, H},
    {"fcvt.h.d", fcvt_h_d, 1, D},
    {"fadd.h.rtz", fadd_h_rtz, 2, H},
    {"fmul.h.rup", fmul_h_rup, 2, H},
    {"fcvt.h.d.rmm", fcvt_h_d_rmm, 1, D},
    {"fcvt.h.s.rdn", fcvt_h_s_rdn, 1, S},
    {"fcvt.w.h.rmm", fcvt_w_h_rmm, 1, H},
    {"fcvt.h.l.rtz", fcvt_h_l_rtz, 1, I},
    {"fadd.s", fadd_s, 2, H},
};

static const uint16_t special_h[] = {
    0x0000, 0x8000, 0x7c00, 0xfc00, 0x7e00, 0x7d00, 0xfe01, 0x7c01, 0x0001, 0x8001, 0x03ff,
    0x83ff, 0x0400, 0x8400, 0x7bff, 0xfbff, 0x3c00, 0xbc00, 0x3c01, 0x3800, 0x4000, 0x3555,
    0x7800, 0x0200, 0x6400, 0x63ff, 0x67ff, 0x7a00, 0x1400, 0x13ff, 0x0401, 0x3bff,
};

/* a binary16 pattern: special, random, or with a short significand (exact sums, ties) */
static uint64_t gen_half_bits(void)
{
    uint64_t r = rnd();
    switch (r & 3) {
    case 0: return special_h[(r >> 8) % (sizeof special_h / sizeof special_h[0])];
    case 1: return (r >> 8) & 0xfffc;
    default: return (r >> 16) & 0xffff;
    }
}

/* f register contents for a half: NaN-boxed, or one in eight not properly boxed */
static uint64_t gen_h(void)
{
    uint64_t h = gen_half_bits(), r = rnd();
    if ((r & 7) != 0)
        return 0xffffffffffff0000ull | h;
    static const uint64_t upper[] = {0, 0x7fffffffffff0000ull, 0xffffffff00000000ull,
                                     0xfffeffffffff0000ull};
    return upper[(r >> 3) & 3] | h;
}

/* A binary64 near binary16's range whose value, when it is not a special one, sits on or just
   off a binary16 rounding boundary: bits below the half's significand are a tie plus a tiny
   remainder that rounding to binary32 first would lose (the double-rounding trap). */
static uint64_t gen_d(void)
{
    static const uint64_t sp[] = {0,
                                  0x8000000000000000ull,
                                  0x7ff0000000000000ull,
                                  0xfff0000000000000ull,
                                  0x7ff8000000000000ull,
                                  0x7ff4000000000000ull,
                                  0x40effc0000000000ull, /* 65504, max half */
                                  0x40effe0000000000ull, /* 65520: rounds to inf in RNE */
                                  0x40effdffffffffffull,
                                  0x3e70000000000000ull, /* 2^-24, min subnormal half */
                                  0x3e60000000000000ull, /* 2^-25: a tie to zero */
                                  0x3e60000000000001ull,
                                  0x3f0ff80000000000ull, /* just below min normal half */
                                  0x0000000000000001ull,
                                  0x47efffffe0000000ull};
    uint64_t r = rnd();
    if ((r & 7) == 0)
        return sp[(r >> 8) % (sizeof sp / sizeof sp[0])];
    uint64_t sign = (r >> 63) << 63, exp = 1023 - 27 + ((r >> 8) % 46), mant = rnd() & ((1ull << 52) - 1);
    switch ((r >> 16) & 3) {
    case 0: /* tie at the binary16 rounding point plus a remainder below binary32's */
        mant = (mant & ~((1ull << 42) - 1)) | 1ull << 41 | (rnd() & ((1ull << 29) - 1)) * ((r >> 20) & 1);
        break;
    case 1: /* just below a tie */
        mant = (mant & ~((1ull << 42) - 1)) | ((1ull << 41) - 1 - ((r >> 24) & 0xff));
        break;
    default: break;
    }
    return sign | exp << 52 | mant;
}

/* binary32 the same way (a tie at the binary16 point: 13 bits below it), NaN-boxed */
static uint64_t gen_s(void)
{
    uint64_t r = rnd();
    uint32_t s;
    if ((r & 7) == 0) {
        static const uint32_t sp[] = {0,          0x80000000, 0x7f800000, 0xff800000, 0x7fc00000,
                                      0x7fa00000, 0x477fe000, 0x477ff000, 0x477fefff, 0x33800000,
                                      0x33000000, 0x33000001, 0x387fc000, 0x00000001, 0x7f7fffff};
        s = sp[(r >> 8) % (sizeof sp / sizeof sp[0])];
    } else {
        uint32_t exp = 127 - 27 + (uint32_t)((r >> 8) % 46), mant = (uint32_t)rnd() & 0x7fffff;
        if ((r >> 16) & 1)
            mant = (mant & ~0x1fffu) | 0x1000u | (uint32_t)(r >> 24 & 1);
        s = (uint32_t)(r >> 63) << 31 | exp << 23 | mant;
    }
    return 0xffffffff00000000ull | s;
}

static uint64_t gen_i(void)
{
    uint64_t r = rnd();
    switch (r & 7) {
    case 0: return (uint64_t)(int64_t)(int32_t)(r >> 32) >> ((r >> 8) & 31);
    case 1: return (uint64_t)((int64_t)((r >> 8) % 140001) - 70000);
    case 2: return 65504 + ((r >> 8) % 32); /* the edge of binary16's range */
    case 3: return (uint64_t)-(int64_t)(65504 + ((r >> 8) % 32));
    case 4: return (r >> 8) & 0xffff;
    case 5: return rnd() >> ((r >> 8) & 63);
    default: return rnd();
    }
}

static uint64_t gen(unsigned kind)
{
    switch (kind) {
    case H: return gen_h();
    case S: return gen_s();
    case D: return gen_d();
    default: return gen_i();
    }
}

static void scalar_ops(void)
{
    for (unsigned k = 0; k < sizeof ops / sizeof ops[0]; k++) {
        const struct op *o = &ops[k];
        for (unsigned n = 0; n < 160; n++) {
            uint64_t a = gen(o->kind), b = gen(o->kind), c = gen(o->kind);
            puts_(o->name);
            for (unsigned i = 0; i < o->nargs; i++) {
                putch(' ');
                puthex(i == 0 ? a : i == 1 ? b : c, 16);
            }
            puts_(" :");
            for (uint64_t rm = 0; rm < 5; rm++) {
                uint64_t fl, r = o->fn(a, b, c, rm, &fl);
                putch(' ');
                puthex(r, 16);
                putch('/');
                puthex(fl, 2);
            }
            putch('\n');
        }
    }
}

/* flh boxes what it loads; fsh stores the low 16 bits of the register, boxed or not */
static void loads_stores(void)
{
    static volatile uint64_t cell;
    for (unsigned n = 0; n < 32; n++) {
        uint64_t v = n < 8 ? special_h[n * 4] : rnd(), fv = rnd(), loaded, stored;
        cell = v;
        __asm__ volatile("flh fa0, 2(%1)\nfmv.x.d %0, fa0" : "=r"(loaded) : "r"(&cell) : "fa0", "memory");
        cell = 0x0123456789abcdefull;
        __asm__ volatile("fmv.d.x fa0, %0\nfsh fa0, 4(%1)" ::"r"(fv), "r"(&cell) : "fa0", "memory");
        stored = cell;
        puts_("flh/fsh ");
        puthex(v, 16);
        putch(' ');
        puthex(fv, 16);
        puts_(" : ");
        puthex(loaded, 16);
        putch(' ');
        puthex(stored, 16);
        putch('\n');
    }
}

/* Zvfhmin: vfwcvt.f.f.v (e16 -> e32) and vfncvt.f.f.w (e32 -> e16), strip-mined over 64
   elements so the output does not depend on VLEN, unmasked and under a mask. */
#define NELEM 64
static uint16_t src16[NELEM], dst16[NELEM];
static uint32_t src32[NELEM], dst32[NELEM];
static uint8_t mask_bytes[NELEM / 8];

static void widen(bool masked)
{
    for (size_t done = 0, vl; done < NELEM; done += vl) {
        __asm__ volatile("vsetvli %0, %1, e16, m1, tu, mu" : "=r"(vl) : "r"(NELEM - done));
        __asm__ volatile("vlm.v v0, (%0)" ::"r"(mask_bytes + done / 8) : "memory");
        __asm__ volatile("vle16.v v16, (%0)\nvsetvli zero, %1, e32, m2, tu, mu\nvle32.v v8, (%2)\n"
                         "vsetvli zero, %1, e16, m1, tu, mu" ::"r"(src16 + done),
                         "r"(vl), "r"(dst32 + done)
                         : "memory");
        if (masked)
            __asm__ volatile("vfwcvt.f.f.v v8, v16, v0.t");
        else
            __asm__ volatile("vfwcvt.f.f.v v8, v16");
        __asm__ volatile("vsetvli zero, %0, e32, m2, tu, mu\nvse32.v v8, (%1)" ::"r"(vl),
                         "r"(dst32 + done)
                         : "memory");
    }
}

static void narrow(bool masked)
{
    for (size_t done = 0, vl; done < NELEM; done += vl) {
        __asm__ volatile("vsetvli %0, %1, e16, m1, tu, mu" : "=r"(vl) : "r"(NELEM - done));
        __asm__ volatile("vlm.v v0, (%0)\nvle16.v v8, (%1)" ::"r"(mask_bytes + done / 8),
                         "r"(dst16 + done)
                         : "memory");
        __asm__ volatile("vsetvli zero, %0, e32, m2, tu, mu\nvle32.v v16, (%1)\n"
                         "vsetvli zero, %0, e16, m1, tu, mu" ::"r"(vl),
                         "r"(src32 + done)
                         : "memory");
        if (masked)
            __asm__ volatile("vfncvt.f.f.w v8, v16, v0.t");
        else
            __asm__ volatile("vfncvt.f.f.w v8, v16");
        __asm__ volatile("vse16.v v8, (%0)" ::"r"(dst16 + done) : "memory");
    }
}

static void vector_conversions(void)
{
    for (unsigned round = 0; round < 40; round++) {
        uint64_t rm = round % 5, fl;
        bool masked = round % 3 == 1;
        for (unsigned i = 0; i < NELEM; i++) {
            src16[i] = (uint16_t)gen_half_bits();
            src32[i] = (uint32_t)gen_s();
            dst16[i] = (uint16_t)rnd();
            dst32[i] = (uint32_t)rnd();
        }
        for (unsigned i = 0; i < NELEM / 8; i++)
            mask_bytes[i] = (uint8_t)rnd();
        __asm__ volatile("fsrm %0\nfsflags zero" ::"r"(rm));
        widen(masked);
        __asm__ volatile("frflags %0" : "=r"(fl));
        puts_(masked ? "vfwcvt.f.f.v.m " : "vfwcvt.f.f.v ");
        puthex(rm, 1);
        putch(' ');
        puthex(fl, 2);
        putch('\n');
        for (unsigned i = 0; i < NELEM; i++) {
            puthex(src16[i], 4);
            putch('>');
            puthex(dst32[i], 8);
            putch(i % 8 == 7 ? '\n' : ' ');
        }
        __asm__ volatile("fsflags zero");
        narrow(masked);
        __asm__ volatile("frflags %0" : "=r"(fl));
        puts_(masked ? "vfncvt.f.f.w.m " : "vfncvt.f.f.w ");
        puthex(rm, 1);
        putch(' ');
        puthex(fl, 2);
        putch('\n');
        for (unsigned i = 0; i < NELEM; i++) {
            puthex(src32[i], 8);
            putch('>');
            puthex(dst16[i], 4);
            putch(i % 8 == 7 ? '\n' : ' ');
        }
    }
}

int main(void)
{
    scalar_ops();
    loads_stores();
    vector_conversions();
    return 0;
}
