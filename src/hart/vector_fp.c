/*
 * V extension floating point (V spec chapter 13, and the FP reductions of
 * 14.3 and moves of 16) for SEW 32 and 64, through fpu.c: exact flags and
 * NaN rules as the scalar F/D instructions have them. SEW 16 has only the
 * integer side of the widening/narrowing conversions and Zvfhmin's
 * vfwcvt.f.f.v / vfncvt.f.f.w (no Zvfh); other FP encodings at SEW 8/16 are
 * illegal. Unordered reductions are done in
 * element order, as the ordered ones. Rounding is always frm's (an invalid
 * frm makes rounding instructions illegal).
 */
#include "hart/fpu.h"
#include "hart/vector.h"

/* --- scalar helpers by width --------------------------------------------------------- */

static bool is_nan(uint64_t a, unsigned eb)
{
    return eb == 4 ? ((a >> 23) & 0xff) == 0xff && (a & 0x7fffff)
                   : ((a >> 52) & 0x7ff) == 0x7ff && (a & 0xfffffffffffffull);
}

static uint64_t canonical_nan(unsigned eb)
{
    return eb == 4 ? F32_CANONICAL_NAN : F64_CANONICAL_NAN;
}

static uint64_t sign_bit(unsigned eb)
{
    return 1ull << (8 * eb - 1);
}

static uint64_t f_add(uint64_t a, uint64_t b, unsigned eb, enum fp_rm rm, unsigned *fl)
{
    return eb == 4 ? f32_add((uint32_t)a, (uint32_t)b, rm, fl) : f64_add(a, b, rm, fl);
}

static uint64_t f_sub(uint64_t a, uint64_t b, unsigned eb, enum fp_rm rm, unsigned *fl)
{
    return eb == 4 ? f32_sub((uint32_t)a, (uint32_t)b, rm, fl) : f64_sub(a, b, rm, fl);
}

static uint64_t f_mul(uint64_t a, uint64_t b, unsigned eb, enum fp_rm rm, unsigned *fl)
{
    return eb == 4 ? f32_mul((uint32_t)a, (uint32_t)b, rm, fl) : f64_mul(a, b, rm, fl);
}

static uint64_t f_div(uint64_t a, uint64_t b, unsigned eb, enum fp_rm rm, unsigned *fl)
{
    return eb == 4 ? f32_div((uint32_t)a, (uint32_t)b, rm, fl) : f64_div(a, b, rm, fl);
}

static uint64_t f_fma(uint64_t a, uint64_t b, uint64_t c, bool np, bool na, unsigned eb,
                      enum fp_rm rm, unsigned *fl)
{
    return eb == 4 ? f32_fma((uint32_t)a, (uint32_t)b, (uint32_t)c, np, na, rm, fl)
                   : f64_fma(a, b, c, np, na, rm, fl);
}

static uint64_t f_min(uint64_t a, uint64_t b, unsigned eb, unsigned *fl)
{
    return eb == 4 ? f32_min((uint32_t)a, (uint32_t)b, fl) : f64_min(a, b, fl);
}

static uint64_t f_max(uint64_t a, uint64_t b, unsigned eb, unsigned *fl)
{
    return eb == 4 ? f32_max((uint32_t)a, (uint32_t)b, fl) : f64_max(a, b, fl);
}

static int f_eq(uint64_t a, uint64_t b, unsigned eb, unsigned *fl)
{
    return eb == 4 ? f32_eq((uint32_t)a, (uint32_t)b, fl) : f64_eq(a, b, fl);
}

static int f_lt(uint64_t a, uint64_t b, unsigned eb, unsigned *fl)
{
    return eb == 4 ? f32_lt((uint32_t)a, (uint32_t)b, fl) : f64_lt(a, b, fl);
}

static int f_le(uint64_t a, uint64_t b, unsigned eb, unsigned *fl)
{
    return eb == 4 ? f32_le((uint32_t)a, (uint32_t)b, fl) : f64_le(a, b, fl);
}

static unsigned f_class(uint64_t a, unsigned eb)
{
    return eb == 4 ? f32_class((uint32_t)a) : f64_class(a);
}

/* --- vfrec7 / vfrsqrt7 (V spec 13.9, 13.10) -------------------------------------------- */

/* The spec's 7-bit tables: each entry is the estimate at the midpoint of its
   input interval, rounded to nearest, minus the leading 1 (computed once in
   integers, so the host's FP state cannot touch them; the differential test
   checks them against QEMU's). */
static uint8_t rec7_table[128], rsqrt7_table[128];

static void estimate_tables(void)
{
    if (rec7_table[0])
        return;
    for (unsigned i = 0; i < 128; i++) {
        /* 256 / m, m = (257 + 2i) / 256 */
        uint64_t d = 257 + 2 * i;
        rec7_table[i] = (uint8_t)((2 * 65536 + d) / (2 * d) - 128);
    }
    for (unsigned i = 0; i < 128; i++) {
        /* 256 / sqrt(m), m = (129 + 2j) / 128, twice that for index bit 6 clear
           (an odd unbiased exponent): the largest n with (2n - 1)^2 m <= 4 * 65536 */
        uint64_t md = (129 + 2 * (i & 63)) * (i < 64 ? 2u : 1u), n = 128;
        while ((2 * (n + 1) - 1) * (2 * (n + 1) - 1) * md <= 4ull * 65536 * 128)
            n++;
        rsqrt7_table[i] = (uint8_t)(n - 128);
    }
}

struct fparts {
    bool sign;
    int64_t exp;  /* biased, after normalising a subnormal (may be <= 0) */
    uint64_t sig; /* fraction bits, normalised */
};

static struct fparts unpack_normalised(uint64_t a, unsigned eb)
{
    unsigned mbits = eb == 4 ? 23 : 52, ebits = eb == 4 ? 8 : 11;
    struct fparts p = {
        .sign = (a >> (mbits + ebits)) & 1,
        .exp = (int64_t)((a >> mbits) & ((1u << ebits) - 1)),
        .sig = a & ((1ull << mbits) - 1),
    };
    if (p.exp == 0) {
        p.exp = 1;
        while (!(p.sig & (1ull << mbits))) {
            p.sig <<= 1;
            p.exp--;
        }
        p.sig &= (1ull << mbits) - 1;
    }
    return p;
}

static uint64_t pack(bool sign, uint64_t exp, uint64_t sig, unsigned eb)
{
    unsigned mbits = eb == 4 ? 23 : 52, ebits = eb == 4 ? 8 : 11;
    return (uint64_t)sign << (mbits + ebits) | exp << mbits | sig;
}

static uint64_t largest_finite(bool sign, unsigned eb)
{
    unsigned mbits = eb == 4 ? 23 : 52, ebits = eb == 4 ? 8 : 11;
    return pack(sign, (1ull << ebits) - 2, (1ull << mbits) - 1, eb);
}

static uint64_t infinity(bool sign, unsigned eb)
{
    unsigned ebits = eb == 4 ? 8 : 11;
    return pack(sign, (1ull << ebits) - 1, 0, eb);
}

static uint64_t frec7(uint64_t a, unsigned eb, enum fp_rm rm, unsigned *fl)
{
    unsigned mbits = eb == 4 ? 23 : 52;
    int64_t bias = eb == 4 ? 127 : 1023;
    unsigned cls = f_class(a, eb);
    bool sign = (a & sign_bit(eb)) != 0;
    if (cls & (FP_CLASS_SNAN | FP_CLASS_QNAN)) {
        if (cls & FP_CLASS_SNAN)
            *fl |= FP_NV;
        return canonical_nan(eb);
    }
    if (cls & (FP_CLASS_NEG_INF | FP_CLASS_POS_INF))
        return pack(sign, 0, 0, eb);
    if (cls & (FP_CLASS_NEG_ZERO | FP_CLASS_POS_ZERO)) {
        *fl |= FP_DZ;
        return infinity(sign, eb);
    }
    struct fparts p = unpack_normalised(a, eb);
    int64_t out_exp = 2 * bias - 1 - p.exp;
    if (out_exp > 2 * bias) { /* a tiny subnormal: the reciprocal overflows */
        *fl |= FP_OF | FP_NX;
        bool to_finite = rm == FP_RTZ || (rm == FP_RDN && !sign) || (rm == FP_RUP && sign);
        return to_finite ? largest_finite(sign, eb) : infinity(sign, eb);
    }
    uint64_t sig = (uint64_t)rec7_table[p.sig >> (mbits - 7)] << (mbits - 7);
    if (out_exp <= 0) { /* subnormal result */
        sig = (sig | 1ull << mbits) >> (1 - out_exp);
        out_exp = 0;
    }
    return pack(sign, (uint64_t)out_exp, sig, eb);
}

static uint64_t frsqrt7(uint64_t a, unsigned eb, unsigned *fl)
{
    unsigned mbits = eb == 4 ? 23 : 52;
    int64_t bias = eb == 4 ? 127 : 1023;
    unsigned cls = f_class(a, eb);
    if (cls & (FP_CLASS_SNAN | FP_CLASS_QNAN | FP_CLASS_NEG_INF | FP_CLASS_NEG_NORMAL |
               FP_CLASS_NEG_SUBNORMAL)) {
        if (!(cls & FP_CLASS_QNAN))
            *fl |= FP_NV;
        return canonical_nan(eb);
    }
    if (cls & (FP_CLASS_NEG_ZERO | FP_CLASS_POS_ZERO)) {
        *fl |= FP_DZ;
        return infinity((cls & FP_CLASS_NEG_ZERO) != 0, eb);
    }
    if (cls & FP_CLASS_POS_INF)
        return 0;
    struct fparts p = unpack_normalised(a, eb);
    unsigned idx = (unsigned)(p.exp & 1) << 6 | (unsigned)(p.sig >> (mbits - 6));
    int64_t out_exp = (3 * bias - 1 - p.exp) / 2;
    return pack(false, (uint64_t)out_exp, (uint64_t)rsqrt7_table[idx] << (mbits - 7), eb);
}

/* --- conversions ---------------------------------------------------------------------- */

/* float (fb bytes) -> integer (ib bytes), saturating; NV replaces NX when out of range. */
static uint64_t f_to_int(uint64_t a, unsigned fb, unsigned ib, bool sign, enum fp_rm rm,
                         unsigned *fl)
{
    unsigned t = 0;
    uint64_t r;
    if (ib == 8) {
        r = fb == 4 ? (sign ? (uint64_t)f32_to_i64((uint32_t)a, rm, &t)
                            : f32_to_u64((uint32_t)a, rm, &t))
                    : (sign ? (uint64_t)f64_to_i64(a, rm, &t) : f64_to_u64(a, rm, &t));
        *fl |= t;
        return r;
    }
    if (sign) {
        int64_t v = fb == 4 ? f32_to_i32((uint32_t)a, rm, &t) : f64_to_i32(a, rm, &t);
        int64_t hi = (int64_t)((1ull << (8 * ib - 1)) - 1), lo = -hi - 1;
        if (v > hi || v < lo) {
            v = v > hi ? hi : lo;
            t = FP_NV;
        }
        *fl |= t;
        return vtrunc((uint64_t)v, ib);
    }
    uint64_t v = fb == 4 ? f32_to_u32((uint32_t)a, rm, &t) : f64_to_u32(a, rm, &t);
    uint64_t hi = (1ull << (8 * ib)) - 1;
    if (ib < 4 && v > hi) {
        v = hi;
        t = FP_NV;
    }
    *fl |= t;
    return vtrunc(v, ib);
}

/* integer (ib bytes) -> float (fb bytes) */
static uint64_t int_to_f(uint64_t v, unsigned ib, unsigned fb, bool sign, enum fp_rm rm,
                         unsigned *fl)
{
    if (sign) {
        int64_t s = vsext(v, ib);
        return fb == 4 ? i64_to_f32(s, rm, fl) : i64_to_f64(s, rm, fl);
    }
    return fb == 4 ? u64_to_f32(v, rm, fl) : u64_to_f64(v, rm, fl);
}

/* f64 -> f32 rounding to odd: truncate, then force the last bit if inexact. */
static uint64_t f64_to_f32_odd(uint64_t a, unsigned *fl)
{
    unsigned t = 0;
    uint32_t r = f64_to_f32(a, FP_RTZ, &t);
    if ((t & FP_NX) && !is_nan(r, 4) && ((r >> 23) & 0xff) != 0xff)
        r |= 1;
    *fl |= t;
    return r;
}

/* --- the instructions ----------------------------------------------------------------- */

struct fctx {
    struct dv_hart *h;
    struct vinsn *v;
    enum fp_rm rm;
    unsigned fl;
};

static uint64_t fscalar(const struct dv_hart *h, unsigned r, unsigned eb)
{
    uint64_t f = h->f[r];
    if (eb == 4)
        return (f >> 32) == 0xffffffffu ? (uint32_t)f : F32_CANONICAL_NAN;
    return f;
}

static bool vf(const struct vinsn *v)
{
    return v->f3 == 5;
}

static uint64_t fop1(const struct fctx *c, uint64_t i, unsigned eb)
{
    return vf(c->v) ? fscalar(c->h, c->v->rs1, eb) : velt(c->h, c->v->vlenb, c->v->rs1, i, eb);
}

/* Single-width arithmetic: vd[i] = op(a = vs2[i], b = vs1[i] / f[rs1], d = vd[i]). */
static bool fbinop(struct fctx *c, unsigned f6, uint64_t a, uint64_t b, uint64_t d, unsigned eb,
                   uint64_t *out)
{
    enum fp_rm rm = c->rm;
    unsigned *fl = &c->fl;
    uint64_t sb = sign_bit(eb);
    switch (f6) {
    case 0x00: *out = f_add(a, b, eb, rm, fl); return true;
    case 0x02: *out = f_sub(a, b, eb, rm, fl); return true;
    case 0x27: *out = f_sub(b, a, eb, rm, fl); return true;
    case 0x24: *out = f_mul(a, b, eb, rm, fl); return true;
    case 0x20: *out = f_div(a, b, eb, rm, fl); return true;
    case 0x21: *out = f_div(b, a, eb, rm, fl); return true;
    case 0x04: *out = f_min(a, b, eb, fl); return true;
    case 0x06: *out = f_max(a, b, eb, fl); return true;
    case 0x08: *out = (a & ~sb) | (b & sb); return true;
    case 0x09: *out = (a & ~sb) | (~b & sb); return true;
    case 0x0a: *out = a ^ (b & sb); return true;
    /* multiply-adds: vs1 (or f[rs1]) is b */
    case 0x28: *out = f_fma(b, d, a, false, false, eb, rm, fl); return true; /* vfmadd */
    case 0x29: *out = f_fma(b, d, a, true, true, eb, rm, fl); return true;   /* vfnmadd */
    case 0x2a: *out = f_fma(b, d, a, false, true, eb, rm, fl); return true;  /* vfmsub */
    case 0x2b: *out = f_fma(b, d, a, true, false, eb, rm, fl); return true;  /* vfnmsub */
    case 0x2c: *out = f_fma(b, a, d, false, false, eb, rm, fl); return true; /* vfmacc */
    case 0x2d: *out = f_fma(b, a, d, true, true, eb, rm, fl); return true;   /* vfnmacc */
    case 0x2e: *out = f_fma(b, a, d, false, true, eb, rm, fl); return true;  /* vfmsac */
    case 0x2f: *out = f_fma(b, a, d, true, false, eb, rm, fl); return true;  /* vfnmsac */
    }
    return false;
}

static bool groups_ok(const struct vinsn *v)
{
    if (!vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, v->lmul))
        return false;
    if (!vf(v) && !vgroup_ok(v->rs1, v->lmul))
        return false;
    return v->vm || v->vd != 0;
}

static enum exec_status felementwise(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned eb = v->sew;
    uint64_t probe;
    unsigned saved = c->fl;
    if (!groups_ok(v) || !fbinop(c, v->f6, 0, 0, 0, eb, &probe))
        return EXEC_ILLEGAL;
    c->fl = saved;
    if (!vf(v) && (v->f6 == 0x21 || v->f6 == 0x27))
        return EXEC_ILLEGAL; /* vfrdiv, vfrsub: .vf only */
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t r, a = velt(h, v->vlenb, v->rs2, i, eb), d = velt(h, v->vlenb, v->vd, i, eb);
        fbinop(c, v->f6, a, fop1(c, i, eb), d, eb, &r);
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

static enum exec_status fcompare(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned eb = v->sew, f6 = v->f6;
    if (f6 == 0x1a || f6 == 0x1e || (!vf(v) && (f6 == 0x1d || f6 == 0x1f)))
        return EXEC_ILLEGAL;
    unsigned n = vgroup_regs(v->lmul);
    if (!vgroup_ok(v->rs2, v->lmul) || (!vf(v) && !vgroup_ok(v->rs1, v->lmul)) ||
        (vregs_overlap(v->vd, 1, v->rs2, n) && v->vd != v->rs2 && v->lmul > 0) ||
        (!vf(v) && vregs_overlap(v->vd, 1, v->rs1, n) && v->vd != v->rs1 && v->lmul > 0))
        return EXEC_ILLEGAL;
    uint8_t bits[VLENB_MAX];
    for (unsigned b = 0; b < v->vlenb; b++)
        bits[b] = (uint8_t)velt(h, v->vlenb, v->vd, b, 1);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb), b = fop1(c, i, eb);
        bool r;
        switch (f6) {
        case 0x18: r = f_eq(a, b, eb, &c->fl); break;
        case 0x19: r = f_le(a, b, eb, &c->fl); break;
        case 0x1b: r = f_lt(a, b, eb, &c->fl); break;
        case 0x1c: r = !f_eq(a, b, eb, &c->fl); break;
        case 0x1d: r = f_lt(b, a, eb, &c->fl); break;
        default: r = f_le(b, a, eb, &c->fl); break;
        }
        bits[i / 8] = (uint8_t)((bits[i / 8] & ~(1u << (i % 8))) | ((unsigned)r << (i % 8)));
    }
    for (unsigned b = 0; b < v->vlenb; b++)
        vset(h, v->vlenb, v->vd, b, 1, bits[b]);
    return EXEC_RETIRE;
}

static enum exec_status freduction(struct fctx *c, bool widen)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned eb = v->sew, db = widen ? 8 : eb;
    if (h->vec.vstart != 0 || vf(v) || !vgroup_ok(v->rs2, v->lmul) || (widen && eb != 4))
        return EXEC_ILLEGAL;
    if (v->vl == 0)
        return EXEC_RETIRE;
    uint64_t acc = velt(h, v->vlenb, v->rs1, 0, db);
    for (uint64_t i = 0; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t e = velt(h, v->vlenb, v->rs2, i, eb);
        if (widen) {
            acc = f64_add(acc, f32_to_f64((uint32_t)e, &c->fl), c->rm, &c->fl);
            continue;
        }
        switch (v->f6) {
        case 0x05: acc = f_min(acc, e, eb, &c->fl); break;
        case 0x07: acc = f_max(acc, e, eb, &c->fl); break;
        default: acc = f_add(acc, e, eb, c->rm, &c->fl); break;
        }
    }
    vset(h, v->vlenb, v->vd, 0, db, acc);
    return EXEC_RETIRE;
}

static bool overlap_ok(unsigned vd, int dst_emul, unsigned vs, int src_emul)
{
    unsigned nd = vgroup_regs(dst_emul), ns = vgroup_regs(src_emul);
    if (!vregs_overlap(vd, nd, vs, ns))
        return true;
    if (dst_emul <= src_emul)
        return vd == vs;
    return src_emul >= 0 && vs == vd + nd - ns;
}

static enum exec_status fwidening(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned f6 = v->f6;
    bool wide_vs2 = f6 == 0x34 || f6 == 0x36;
    int wl = v->lmul + 1;
    if (v->sew != 4 || wl > 3 || f6 == 0x31 || f6 == 0x33)
        return EXEC_ILLEGAL;
    if (!vgroup_ok(v->vd, wl) || !vgroup_ok(v->rs2, wide_vs2 ? wl : v->lmul) ||
        (!vf(v) && !vgroup_ok(v->rs1, v->lmul)) || (!v->vm && v->vd == 0) ||
        !overlap_ok(v->vd, wl, v->rs2, wide_vs2 ? wl : v->lmul) ||
        (!vf(v) && !overlap_ok(v->vd, wl, v->rs1, v->lmul)))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, wide_vs2 ? 8 : 4);
        if (!wide_vs2)
            a = f32_to_f64((uint32_t)a, &c->fl);
        uint64_t b = f32_to_f64((uint32_t)fop1(c, i, 4), &c->fl);
        uint64_t d = velt(h, v->vlenb, v->vd, i, 8), r;
        switch (f6) {
        case 0x30:
        case 0x34: r = f64_add(a, b, c->rm, &c->fl); break;
        case 0x32:
        case 0x36: r = f64_sub(a, b, c->rm, &c->fl); break;
        case 0x38: r = f64_mul(a, b, c->rm, &c->fl); break;
        case 0x3c: r = f64_fma(b, a, d, false, false, c->rm, &c->fl); break;
        case 0x3d: r = f64_fma(b, a, d, true, true, c->rm, &c->fl); break;
        case 0x3e: r = f64_fma(b, a, d, false, true, c->rm, &c->fl); break;
        case 0x3f: r = f64_fma(b, a, d, true, false, c->rm, &c->fl); break;
        default: return EXEC_ILLEGAL;
        }
        vset(h, v->vlenb, v->vd, i, 8, r);
    }
    return EXEC_RETIRE;
}

/* VFUNARY0: conversions; single-width (vs1 0..7), widening (8..15), narrowing (16..23). */
static enum exec_status fconvert(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned kind = v->rs1, eb = v->sew;
    unsigned group = kind >> 3, op = kind & 7;
    if (vf(v) || group > 2 || (group == 0 && (op == 4 || op == 5)) || (group == 1 && op == 5))
        return EXEC_ILLEGAL;
    unsigned sb, db; /* source and destination element bytes */
    int src_emul, dst_emul;
    if (group == 0) {
        sb = db = eb;
        src_emul = dst_emul = v->lmul;
    } else if (group == 1) {
        sb = eb;
        db = 2 * eb;
        src_emul = v->lmul;
        dst_emul = v->lmul + 1;
    } else {
        sb = 2 * eb;
        db = eb;
        src_emul = v->lmul + 1;
        dst_emul = v->lmul;
    }
    /* which side is floating point: a float side must be 4 or 8 bytes */
    bool src_float = op == 0 || op == 1 || op == 4 || op == 5 || op == 6 || op == 7;
    bool dst_float = op == 2 || op == 3 || op == 4 || op == 5;
    bool zvfhmin = op == 4 && eb == 2; /* vfwcvt.f.f.v from, vfncvt.f.f.w to binary16 */
    if ((!zvfhmin && ((src_float && sb != 4 && sb != 8) || (dst_float && db != 4 && db != 8))) ||
        sb > 8 || db > 8 || dst_emul > 3 || src_emul > 3)
        return EXEC_ILLEGAL;
    if (!vgroup_ok(v->vd, dst_emul) || !vgroup_ok(v->rs2, src_emul) || (!v->vm && v->vd == 0) ||
        !overlap_ok(v->vd, dst_emul, v->rs2, src_emul))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, sb), r;
        enum fp_rm rm = (op == 6 || op == 7) ? FP_RTZ : c->rm;
        switch (op) {
        case 0:
        case 6: r = f_to_int(a, sb, db, false, rm, &c->fl); break;
        case 1:
        case 7: r = f_to_int(a, sb, db, true, rm, &c->fl); break;
        case 2: r = int_to_f(a, sb, db, false, rm, &c->fl); break;
        case 3: r = int_to_f(a, sb, db, true, rm, &c->fl); break;
        case 4:
            if (zvfhmin)
                r = group == 1 ? f16_to_f32((uint16_t)a, &c->fl)
                               : f32_to_f16((uint32_t)a, rm, &c->fl);
            else
                r = group == 1 ? f32_to_f64((uint32_t)a, &c->fl) : f64_to_f32(a, rm, &c->fl);
            break;
        default: r = f64_to_f32_odd(a, &c->fl); break; /* vfncvt.rod.f.f.w */
        }
        vset(h, v->vlenb, v->vd, i, db, r);
    }
    return EXEC_RETIRE;
}

/* VFUNARY1: vfsqrt, vfrsqrt7, vfrec7, vfclass. */
static enum exec_status funary(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned kind = v->rs1, eb = v->sew;
    if (vf(v) || (kind != 0 && kind != 4 && kind != 5 && kind != 0x10) ||
        !vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, v->lmul) || (!v->vm && v->vd == 0))
        return EXEC_ILLEGAL;
    estimate_tables();
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb), r;
        switch (kind) {
        case 0:
            r = eb == 4 ? f32_sqrt((uint32_t)a, c->rm, &c->fl) : f64_sqrt(a, c->rm, &c->fl);
            break;
        case 4: r = frsqrt7(a, eb, &c->fl); break;
        case 5: r = frec7(a, eb, c->rm, &c->fl); break;
        default: r = f_class(a, eb); break;
        }
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

static enum exec_status fmove(struct fctx *c)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned eb = v->sew;
    if (v->f6 == 0x10) {
        if (!vf(v)) { /* vfmv.f.s */
            if (v->rs1 != 0 || !v->vm)
                return EXEC_ILLEGAL;
            uint64_t e = velt(h, v->vlenb, v->rs2, 0, eb);
            h->f[v->vd] = eb == 4 ? 0xffffffff00000000ull | e : e;
            fs_mark_dirty(h);
            return EXEC_RETIRE;
        }
        if (v->rs2 != 0 || !v->vm) /* vfmv.s.f */
            return EXEC_ILLEGAL;
        if (h->vec.vstart < v->vl)
            vset(h, v->vlenb, v->vd, 0, eb, fscalar(h, v->rs1, eb));
        return EXEC_RETIRE;
    }
    /* 0x17: vfmerge.vfm / vfmv.v.f */
    if (!vf(v) || (v->vm ? v->rs2 != 0 : v->vd == 0) || !vgroup_ok(v->vd, v->lmul) ||
        !vgroup_ok(v->rs2, v->lmul))
        return EXEC_ILLEGAL;
    uint64_t f = fscalar(h, v->rs1, eb);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        bool take = v->vm || vmbit(h, v->vlenb, 0, i);
        vset(h, v->vlenb, v->vd, i, eb, take ? f : velt(h, v->vlenb, v->rs2, i, eb));
    }
    return EXEC_RETIRE;
}

static enum exec_status fslide1(struct fctx *c, bool up)
{
    struct vinsn *v = c->v;
    struct dv_hart *h = c->h;
    unsigned eb = v->sew;
    if (!vf(v) || !groups_ok(v) ||
        (up && vregs_overlap(v->vd, vgroup_regs(v->lmul), v->rs2, vgroup_regs(v->lmul))))
        return EXEC_ILLEGAL;
    uint64_t f = fscalar(h, v->rs1, eb);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t r;
        if (up)
            r = i == 0 ? f : velt(h, v->vlenb, v->rs2, i - 1, eb);
        else
            r = i == v->vl - 1 ? f : velt(h, v->vlenb, v->rs2, i + 1, eb);
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

/* Instructions that do not round, so an invalid frm does not matter. */
static bool rounds(const struct vinsn *v)
{
    switch (v->f6) {
    case 0x04:
    case 0x05:
    case 0x06:
    case 0x07:
    case 0x08:
    case 0x09:
    case 0x0a:
    case 0x0e:
    case 0x0f:
    case 0x10:
    case 0x17: return false;
    case 0x13: return v->rs1 == 0 || v->rs1 == 5; /* vfsqrt, vfrec7 */
    }
    return !(v->f6 >= 0x18 && v->f6 <= 0x1f);
}

enum exec_status vec_fp(struct dv_hart *h, struct vinsn *v)
{
    if (!(h->vsstatus & SSTATUS_FS))
        return EXEC_ILLEGAL;
    struct fctx c = {.h = h, .v = v, .rm = FP_RNE};
    if (rounds(v)) {
        if (h->frm > 4)
            return EXEC_ILLEGAL;
        c.rm = (enum fp_rm)h->frm;
    }
    /* only the conversions with an integer side accept SEW 16 (and 8 for none) */
    bool conversion = v->f6 == 0x12;
    if (v->sew != 4 && v->sew != 8 && !(conversion && v->sew == 2))
        return EXEC_ILLEGAL;
    enum exec_status st;
    unsigned f6 = v->f6;
    if (f6 >= 0x30)
        st = (f6 == 0x31 || f6 == 0x33) ? freduction(&c, true) : fwidening(&c);
    else if (f6 == 0x01 || f6 == 0x03 || f6 == 0x05 || f6 == 0x07)
        st = freduction(&c, false);
    else if (f6 >= 0x18 && f6 <= 0x1f)
        st = fcompare(&c);
    else if (f6 == 0x12)
        st = fconvert(&c);
    else if (f6 == 0x13)
        st = funary(&c);
    else if (f6 == 0x10 || f6 == 0x17)
        st = fmove(&c);
    else if (f6 == 0x0e || f6 == 0x0f)
        st = fslide1(&c, f6 == 0x0e);
    else
        st = felementwise(&c);
    if (st == EXEC_RETIRE && c.fl) {
        h->fflags |= c.fl;
        fs_mark_dirty(h);
    }
    return st;
}
