/*
 * The V extension 1.0: decoding, vtype and vsetvl, the vector CSRs, and the
 * integer, fixed-point, mask, reduction and permutation instructions
 * (chapters 6, 11, 12, 14, 15, 16 of the V spec). Loads and stores are in
 * vector_mem.c, floating point in vector_fp.c. Policies: vector.h.
 *
 * Every loop runs elements from vstart to vl - 1 in increasing order and reads
 * an element's operands before writing its result, which is what the
 * overlaps the spec allows (a narrower destination in the lowest part of a
 * source group, a wider one in the highest part) need; the overlaps it
 * reserves are illegal instructions.
 */
#include "hart/vector.h"
#include "hart/exec_crypto.h"

/* --- decoding ------------------------------------------------------------------------ */

static bool is_vector_width(unsigned f3)
{
    return f3 == 0 || f3 >= 5; /* 8, 16, 32, 64-bit elements; 1..4 are scalar FP widths */
}

bool vec_decode(uint32_t raw, struct insn *d)
{
    unsigned opcode = raw & 0x7f, f3 = vbits(raw, 14, 12);
    enum op op;
    if (opcode == 0x57) {
        if (f3 == 7) {
            bool ok = !(raw >> 31) || (raw >> 30) == 3 || (raw >> 25) == 0x40;
            op = ok ? OP_VSETVL : OP_ILLEGAL;
        } else {
            op = (f3 == 2 && vbits(raw, 31, 26) == 0x10) ? OP_VTOX : OP_VARITH;
        }
    } else if (opcode == 0x77 && f3 == 2) { /* OP-VE: the vector crypto */
        op = OP_VCRYPTO;
    } else if ((opcode == 0x07 || opcode == 0x27) && is_vector_width(f3)) {
        op = opcode == 0x07 ? OP_VLOAD : OP_VSTORE;
    } else {
        return false;
    }
    d->op = (uint16_t)op;
    d->rd = (uint8_t)vbits(raw, 11, 7);
    d->rs1 = (uint8_t)vbits(raw, 19, 15);
    d->rs2 = (uint8_t)vbits(raw, 24, 20);
    d->imm = 0;
    return true;
}

/* --- vtype, vsetvl ------------------------------------------------------------------- */

/* VLMAX for vtype, or 0 when vtype is reserved or unsupported (vill). */
static uint64_t vtype_vlmax(const struct dv_hart *h, uint64_t vtype)
{
    if (vtype >> 8)
        return 0;
    unsigned vlmul = vtype & 7, vsew = (vtype >> 3) & 7;
    if (vlmul == 4 || vsew > 3)
        return 0;
    int lmul = vlmul < 4 ? (int)vlmul : (int)vlmul - 8;
    unsigned sew_bits = 8u << vsew;
    if (lmul < 0 && sew_bits > (64u >> -lmul))
        return 0; /* SEW > LMUL * ELEN */
    uint64_t vlen = h->m->engine.vlen;
    return lmul >= 0 ? (vlen << lmul) / sew_bits : (vlen >> -lmul) / sew_bits;
}

bool vec_setup(struct dv_hart *h, uint32_t raw, struct vinsn *v)
{
    uint64_t vtype = h->vec.vtype;
    *v = (struct vinsn){
        .raw = raw,
        .vd = vbits(raw, 11, 7),
        .rs1 = vbits(raw, 19, 15),
        .rs2 = vbits(raw, 24, 20),
        .f3 = vbits(raw, 14, 12),
        .f6 = vbits(raw, 31, 26),
        .vm = vbits(raw, 25, 25),
        .vlenb = vec_vlenb(h),
        .sew = 1u << ((vtype >> 3) & 7),
        .lmul = (vtype & 7) < 4 ? (int)(vtype & 7) : (int)(vtype & 7) - 8,
        .vl = h->vec.vl,
    };
    if (vtype & VTYPE_VILL)
        return false;
    v->vlmax = vtype_vlmax(h, vtype);
    return true;
}

static enum exec_status vsetvl(struct dv_hart *h, const struct insn *in)
{
    uint32_t raw = in->raw;
    uint64_t vtype, avl;
    if (!(raw >> 31)) { /* vsetvli */
        vtype = vbits(raw, 30, 20);
    } else if ((raw >> 30) == 3) { /* vsetivli */
        vtype = vbits(raw, 29, 20);
    } else {
        vtype = h->x[in->rs2];
    }
    if ((raw >> 30) == 3)
        avl = in->rs1;
    else if (in->rs1)
        avl = h->x[in->rs1];
    else
        avl = in->rd ? UINT64_MAX : h->vec.vl;
    uint64_t vlmax = vtype_vlmax(h, vtype);
    if (!vlmax) {
        h->vec.vtype = VTYPE_VILL;
        h->vec.vl = 0;
    } else {
        h->vec.vtype = vtype;
        h->vec.vl = avl < vlmax ? avl : vlmax;
    }
    h->vec.vstart = 0;
    h->x[in->rd] = h->vec.vl;
    return EXEC_RETIRE;
}

/* --- CSRs ---------------------------------------------------------------------------- */

bool vec_csr_read(const struct dv_hart *h, unsigned csr, uint64_t *value)
{
    switch (csr) {
    case 0x008: *value = h->vec.vstart; return true;
    case 0x009: *value = h->vec.vxsat; return true;
    case 0x00a: *value = h->vec.vxrm; return true;
    case 0x00f: *value = (uint64_t)h->vec.vxrm << 1 | h->vec.vxsat; return true;
    case 0xc20: *value = h->vec.vl; return true;
    case 0xc21: *value = h->vec.vtype; return true;
    case 0xc22: *value = vec_vlenb(h); return true;
    }
    return false;
}

void vec_csr_write(struct dv_hart *h, unsigned csr, uint64_t value)
{
    switch (csr) {
    /* vstart holds any element index of the largest group: log2(VLEN) bits */
    case 0x008: h->vec.vstart = value & (h->m->engine.vlen - 1); break;
    case 0x009: h->vec.vxsat = value & 1; break;
    case 0x00a: h->vec.vxrm = value & 3; break;
    case 0x00f:
        h->vec.vxsat = value & 1;
        h->vec.vxrm = (value >> 1) & 3;
        break;
    default: return; /* vl, vtype, vlenb: read-only */
    }
    vs_mark_dirty(h);
}

int vec_csr_restore(struct dv_hart *h, unsigned csr, uint64_t value)
{
    switch (csr) {
    case 0xc21:
        if (value != VTYPE_VILL && !vtype_vlmax(h, value))
            return DV_ERR_INVALID;
        h->vec.vtype = value;
        if (value == VTYPE_VILL)
            h->vec.vl = 0;
        return DV_OK;
    case 0xc20: {
        uint64_t vlmax = h->vec.vtype & VTYPE_VILL ? 0 : vtype_vlmax(h, h->vec.vtype);
        if (value > vlmax)
            return DV_ERR_INVALID;
        h->vec.vl = value;
        return DV_OK;
    }
    case 0xc22: return value == vec_vlenb(h) ? DV_OK : DV_ERR_INVALID;
    case 0x008:
        if (value >= h->m->engine.vlen)
            return DV_ERR_INVALID;
        break;
    case 0x009:
    case 0x00a:
        if (value > (csr == 0x009 ? 1u : 3u))
            return DV_ERR_INVALID;
        break;
    case 0x00f:
        if (value > 7)
            return DV_ERR_INVALID;
        break;
    default: return DV_ERR_NO_CSR;
    }
    uint64_t saved = h->vsstatus;
    vec_csr_write(h, csr, value);
    h->vsstatus = saved; /* a restore is not a guest write */
    return DV_OK;
}

/* --- fixed-point helpers ------------------------------------------------------------- */

/* The rounding increment of the V spec's roundoff for shifting v right by d. */
static unsigned round_inc(unsigned __int128 v, unsigned d, unsigned vxrm)
{
    if (d == 0)
        return 0;
    unsigned bit_d1 = (unsigned)(v >> (d - 1)) & 1;
    unsigned __int128 below = d > 1 ? v & ((((unsigned __int128)1) << (d - 1)) - 1) : 0;
    switch (vxrm) {
    case 0: return bit_d1;
    case 1: return bit_d1 & ((below != 0) | ((unsigned)(v >> d) & 1));
    case 2: return 0;
    default: return !((unsigned)(v >> d) & 1) && ((below != 0) | bit_d1);
    }
}

static unsigned __int128 roundoff_u(unsigned __int128 v, unsigned d, unsigned vxrm)
{
    return (v >> d) + round_inc(v, d, vxrm);
}

static __int128 roundoff_s(__int128 v, unsigned d, unsigned vxrm)
{
    return (v >> d) + round_inc((unsigned __int128)v, d, vxrm);
}

static uint64_t umax_of(unsigned eb)
{
    return eb >= 8 ? UINT64_MAX : (1ull << (8 * eb)) - 1;
}

static int64_t smax_of(unsigned eb)
{
    return (int64_t)(umax_of(eb) >> 1);
}

/* Clamp a signed value to eb bytes, noting saturation. */
static uint64_t sat_s(struct dv_hart *h, __int128 v, unsigned eb)
{
    __int128 hi = smax_of(eb), lo = -hi - 1;
    if (v > hi) {
        h->vec.vxsat = 1;
        v = hi;
    } else if (v < lo) {
        h->vec.vxsat = 1;
        v = lo;
    }
    return vtrunc((uint64_t)(int64_t)v, eb);
}

static uint64_t sat_u(struct dv_hart *h, unsigned __int128 v, unsigned eb)
{
    if (v > umax_of(eb)) {
        h->vec.vxsat = 1;
        return umax_of(eb);
    }
    return (uint64_t)v;
}

/* --- single-width element operations --------------------------------------------------- */

/* vd[i] = op(a = vs2[i], b = vs1[i] / scalar, d = old vd[i]) at SEW eb; false: no such op. */
/* always_inline: elementwise_run() instantiates it per SEW, so its width
   arithmetic folds and the per-element call goes. */
static inline __attribute__((always_inline)) bool int_op(struct dv_hart *h, bool opm, unsigned f6,
                                                         uint64_t a, uint64_t b, uint64_t d,
                                                         unsigned eb, uint64_t *out)
{
    unsigned bitsz = 8 * eb;
    int64_t sa = vsext(a, eb), sb = vsext(b, eb);
    unsigned vxrm = h->vec.vxrm;
    uint64_t r;
    if (!opm) {
        switch (f6) {
        case 0x00: r = a + b; break;
        case 0x02: r = a - b; break;
        case 0x03: r = b - a; break;
        case 0x04: r = a < b ? a : b; break;
        case 0x05: r = sa < sb ? a : b; break;
        case 0x06: r = a > b ? a : b; break;
        case 0x07: r = sa > sb ? a : b; break;
        case 0x09: r = a & b; break;
        case 0x0a: r = a | b; break;
        case 0x0b: r = a ^ b; break;
        case 0x20: r = sat_u(h, (unsigned __int128)a + b, eb); break;
        case 0x21: r = sat_s(h, (__int128)sa + sb, eb); break;
        case 0x22:
            if (a < b) {
                h->vec.vxsat = 1;
                r = 0;
            } else {
                r = a - b;
            }
            break;
        case 0x23: r = sat_s(h, (__int128)sa - sb, eb); break;
        case 0x25: r = a << (b & (bitsz - 1)); break;
        case 0x27: /* vsmul */
            r = sat_s(h, roundoff_s((__int128)sa * sb, bitsz - 1, vxrm), eb);
            break;
        case 0x28: r = a >> (b & (bitsz - 1)); break;
        case 0x29: r = (uint64_t)(sa >> (b & (bitsz - 1))); break;
        case 0x2a: r = (uint64_t)roundoff_u(a, (unsigned)(b & (bitsz - 1)), vxrm); break;
        case 0x2b: r = (uint64_t)(int64_t)roundoff_s(sa, (unsigned)(b & (bitsz - 1)), vxrm); break;
        default: return false;
        }
    } else {
        switch (f6) {
        case 0x08: r = (uint64_t)roundoff_u((unsigned __int128)a + b, 1, vxrm); break;
        case 0x09: r = (uint64_t)(int64_t)roundoff_s((__int128)sa + sb, 1, vxrm); break;
        case 0x0a: r = (uint64_t)roundoff_u((unsigned __int128)a - b, 1, vxrm); break;
        case 0x0b: r = (uint64_t)(int64_t)roundoff_s((__int128)sa - sb, 1, vxrm); break;
        case 0x20: r = b ? a / b : UINT64_MAX; break;
        case 0x21:
            if (!b)
                r = UINT64_MAX;
            else if (sb == -1 && sa == -smax_of(eb) - 1)
                r = a;
            else
                r = (uint64_t)(sa / sb);
            break;
        case 0x22: r = b ? a % b : a; break;
        case 0x23:
            if (!b)
                r = a;
            else if (sb == -1)
                r = 0;
            else
                r = (uint64_t)(sa % sb);
            break;
        case 0x24: r = (uint64_t)(((unsigned __int128)a * b) >> bitsz); break;
        case 0x25: r = a * b; break;
        case 0x26: r = (uint64_t)(((__int128)sa * (__int128)(unsigned __int128)b) >> bitsz); break;
        case 0x27: r = (uint64_t)(((__int128)sa * sb) >> bitsz); break;
        case 0x29: r = b * d + a; break; /* vmadd */
        case 0x2b: r = a - b * d; break; /* vnmsub */
        case 0x2d: r = b * a + d; break; /* vmacc */
        case 0x2f: r = d - b * a; break; /* vnmsac */
        default: return false;
        }
    }
    *out = vtrunc(r, eb);
    return true;
}

/* The scalar operand of a .vx / .vi form (as SEW bits), or element i of vs1. */
static bool uses_uimm(unsigned f6)
{
    switch (f6) {
    case 0x0c: /* vrgather */
    case 0x0e: /* vslideup */
    case 0x0f: /* vslidedown */
    case 0x25:
    case 0x28:
    case 0x29:
    case 0x2a:
    case 0x2b:
    case 0x2c:
    case 0x2d:
    case 0x2e:
    case 0x2f: return true;
    }
    return false;
}

static uint64_t scalar_of(const struct dv_hart *h, const struct vinsn *v)
{
    if (v->f3 == 3)
        return uses_uimm(v->f6) ? v->rs1 : (uint64_t)(int64_t)((int32_t)(v->rs1 << 27) >> 27);
    return h->x[v->rs1];
}

static uint64_t operand1(const struct dv_hart *h, const struct vinsn *v, uint64_t i, unsigned eb)
{
    if (v->f3 == 0 || v->f3 == 2)
        return velt(h, v->vlenb, v->rs1, i, eb);
    return vtrunc(scalar_of(h, v), eb);
}

static bool is_vv(const struct vinsn *v)
{
    return v->f3 == 0 || v->f3 == 2;
}

/* Common checks of an SEW op with an LMUL destination: groups aligned, a
   masked destination not v0. */
static bool plain_groups_ok(const struct vinsn *v, bool uses_vs2)
{
    if (!vgroup_ok(v->vd, v->lmul) || (uses_vs2 && !vgroup_ok(v->rs2, v->lmul)))
        return false;
    if (is_vv(v) && !vgroup_ok(v->rs1, v->lmul))
        return false;
    return v->vm || v->vd != 0;
}

/* elementwise()'s loop, always inlined with eb a constant (one copy per
   SEW); the scalar operand of .vx/.vi is read once. */
static inline __attribute__((always_inline)) void
elementwise_run(struct dv_hart *h, const struct vinsn *v, bool opm, unsigned eb)
{
    bool vv = is_vv(v);
    uint64_t scalar = vv ? 0 : vtrunc(scalar_of(h, v), eb);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t r = 0, a = velt(h, v->vlenb, v->rs2, i, eb),
                 b = vv ? velt(h, v->vlenb, v->rs1, i, eb) : scalar,
                 d = velt(h, v->vlenb, v->vd, i, eb);
        int_op(h, opm, v->f6, a, b, d, eb, &r);
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
}

static enum exec_status elementwise(struct dv_hart *h, struct vinsn *v, bool opm)
{
    if (!plain_groups_ok(v, true))
        return EXEC_ILLEGAL;
    uint64_t probe;
    if (!int_op(h, opm, v->f6, 0, 0, 0, v->sew, &probe)) /* saturates nothing */
        return EXEC_ILLEGAL;
    switch (v->sew) {
    case 1: elementwise_run(h, v, opm, 1); break;
    case 2: elementwise_run(h, v, opm, 2); break;
    case 4: elementwise_run(h, v, opm, 4); break;
    default: elementwise_run(h, v, opm, 8); break;
    }
    return EXEC_RETIRE;
}

/* --- widening, narrowing, extension ---------------------------------------------------- */

/* A destination of 2^dst_emul registers may overlap a source of 2^src_emul
   registers only as the spec allows: the same EEW (wide_src), a narrower
   destination at the source's lowest register, a wider one at the highest
   part when the source's EMUL >= 1. */
static bool overlap_ok(unsigned vd, int dst_emul, unsigned vs, int src_emul)
{
    unsigned nd = vgroup_regs(dst_emul), ns = vgroup_regs(src_emul);
    if (!vregs_overlap(vd, nd, vs, ns))
        return true;
    if (dst_emul == src_emul)
        return vd == vs;
    if (dst_emul < src_emul)
        return vd == vs;
    return src_emul >= 0 && vs == vd + nd - ns;
}

/* The groups of a 2*SEW destination over SEW sources (vs2 2*SEW too when wide_vs2). */
static bool widening_groups_ok(const struct vinsn *v, bool wide_vs2)
{
    if (v->sew == 8 || v->lmul + 1 > 3)
        return false;
    int wl = v->lmul + 1;
    if (!vgroup_ok(v->vd, wl) || !vgroup_ok(v->rs2, wide_vs2 ? wl : v->lmul) ||
        (is_vv(v) && !vgroup_ok(v->rs1, v->lmul)) || (!v->vm && v->vd == 0))
        return false;
    return overlap_ok(v->vd, wl, v->rs2, wide_vs2 ? wl : v->lmul) &&
           (!is_vv(v) || overlap_ok(v->vd, wl, v->rs1, v->lmul));
}

static enum exec_status widening(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew, f6 = v->f6;
    bool wide_vs2 = f6 >= 0x34 && f6 <= 0x37;
    if ((f6 == 0x3e && is_vv(v)) || f6 == 0x39 || !widening_groups_ok(v, wide_vs2))
        return EXEC_ILLEGAL;
    unsigned wb = 2 * eb;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, wide_vs2 ? wb : eb);
        uint64_t b = operand1(h, v, i, eb);
        uint64_t d = velt(h, v->vlenb, v->vd, i, wb);
        int64_t sa = wide_vs2 ? vsext(a, wb) : vsext(a, eb), sb = vsext(b, eb);
        uint64_t r;
        switch (f6) {
        case 0x30:
        case 0x34: r = a + b; break;
        case 0x31:
        case 0x35: r = (uint64_t)(sa + sb); break;
        case 0x32:
        case 0x36: r = a - b; break;
        case 0x33:
        case 0x37: r = (uint64_t)(sa - sb); break;
        case 0x38: r = a * b; break;
        case 0x3a: r = (uint64_t)(sa * (int64_t)b); break;
        case 0x3b: r = (uint64_t)(sa * sb); break;
        case 0x3c: r = d + a * b; break;
        case 0x3d: r = d + (uint64_t)(sa * sb); break;
        case 0x3e: r = d + (uint64_t)(sa * (int64_t)b); break; /* vwmaccus: unsigned rs1 */
        case 0x3f: r = d + (uint64_t)(sb * (int64_t)a); break; /* vwmaccsu: unsigned vs2 */
        default: return EXEC_ILLEGAL;
        }
        vset(h, v->vlenb, v->vd, i, wb, vtrunc(r, wb));
    }
    return EXEC_RETIRE;
}

static enum exec_status narrowing(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew, wb = 2 * eb;
    if (eb == 8 || v->lmul + 1 > 3)
        return EXEC_ILLEGAL;
    int wl = v->lmul + 1;
    if (!vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, wl) ||
        (is_vv(v) && !vgroup_ok(v->rs1, v->lmul)) || (!v->vm && v->vd == 0) ||
        !overlap_ok(v->vd, v->lmul, v->rs2, wl))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, wb);
        unsigned sh = (unsigned)(operand1(h, v, i, eb) & (16 * eb - 1));
        uint64_t r;
        switch (v->f6) {
        case 0x2c: r = a >> sh; break;
        case 0x2d: r = (uint64_t)(vsext(a, wb) >> sh); break;
        case 0x2e: r = sat_u(h, roundoff_u(a, sh, h->vec.vxrm), eb); break;
        default: r = sat_s(h, roundoff_s(vsext(a, wb), sh, h->vec.vxrm), eb); break;
        }
        vset(h, v->vlenb, v->vd, i, eb, vtrunc(r, eb));
    }
    return EXEC_RETIRE;
}

static enum exec_status extension(struct dv_hart *h, struct vinsn *v)
{
    unsigned kind = v->rs1; /* vf8: 2/3, vf4: 4/5, vf2: 6/7 */
    if (kind < 2 || kind > 7)
        return EXEC_ILLEGAL;
    unsigned shift = 3 - (kind >> 1) + 1; /* log2 of the factor: 3, 2, 1 */
    bool sign = kind & 1;
    unsigned eb = v->sew;
    if ((eb >> shift) == 0)
        return EXEC_ILLEGAL;
    unsigned sb = eb >> shift;
    int src_emul = v->lmul - (int)shift;
    if (src_emul < -3 || !vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, src_emul) ||
        (!v->vm && v->vd == 0) || !overlap_ok(v->vd, v->lmul, v->rs2, src_emul))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, sb);
        vset(h, v->vlenb, v->vd, i, eb, vtrunc(sign ? (uint64_t)vsext(a, sb) : a, eb));
    }
    return EXEC_RETIRE;
}

/* --- carry, compares, merge ------------------------------------------------------------ */

/* Mask results are gathered here and written at the end, after every source
   element was read (the destination may be a source's lowest register). */
struct mask_out {
    uint8_t bits[VLENB_MAX * 8 / 8 + 8];
};

static void mask_out_init(const struct dv_hart *h, const struct vinsn *v, struct mask_out *m)
{
    for (unsigned b = 0; b < v->vlenb; b++)
        m->bits[b] = (uint8_t)velt(h, v->vlenb, v->vd, b, 1);
}

static void mask_out_set(struct mask_out *m, uint64_t i, bool bit)
{
    m->bits[i / 8] = (uint8_t)((m->bits[i / 8] & ~(1u << (i % 8))) | ((unsigned)bit << (i % 8)));
}

static void mask_out_write(struct dv_hart *h, const struct vinsn *v, const struct mask_out *m)
{
    for (unsigned b = 0; b < v->vlenb; b++)
        vset(h, v->vlenb, v->vd, b, 1, m->bits[b]);
}

/* A mask destination over LMUL sources: it may only be a source's lowest register. */
static bool mask_dest_ok(const struct vinsn *v, bool vs1_is_vector)
{
    if (!vgroup_ok(v->rs2, v->lmul) || (vs1_is_vector && !vgroup_ok(v->rs1, v->lmul)))
        return false;
    return overlap_ok(v->vd, -3, v->rs2, v->lmul) &&
           (!vs1_is_vector || overlap_ok(v->vd, -3, v->rs1, v->lmul));
}

static enum exec_status carry(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew, f6 = v->f6;
    bool to_mask = f6 & 1, sub = f6 & 2;
    if (sub && v->f3 == 3)
        return EXEC_ILLEGAL;
    if (!to_mask) {
        if (v->vm || v->vd == 0 || !plain_groups_ok(v, true))
            return EXEC_ILLEGAL;
    } else if (!mask_dest_ok(v, is_vv(v))) {
        return EXEC_ILLEGAL;
    }
    struct mask_out m;
    if (to_mask)
        mask_out_init(h, v, &m);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb), b = operand1(h, v, i, eb);
        unsigned c = v->vm ? 0 : vmbit(h, v->vlenb, 0, i);
        unsigned __int128 wide = sub ? (unsigned __int128)a - b - c : (unsigned __int128)a + b + c;
        if (to_mask)
            mask_out_set(&m, i, (uint64_t)(wide >> (8 * eb)) & 1);
        else
            vset(h, v->vlenb, v->vd, i, eb, vtrunc((uint64_t)wide, eb));
    }
    if (to_mask)
        mask_out_write(h, v, &m);
    return EXEC_RETIRE;
}

static enum exec_status compare(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew, f6 = v->f6;
    if ((v->f3 == 3 && (f6 == 0x1a || f6 == 0x1b)) || (v->f3 == 0 && f6 >= 0x1e))
        return EXEC_ILLEGAL;
    if (!mask_dest_ok(v, is_vv(v)))
        return EXEC_ILLEGAL;
    struct mask_out m;
    mask_out_init(h, v, &m);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb), b = operand1(h, v, i, eb);
        int64_t sa = vsext(a, eb), sb = vsext(b, eb);
        bool r;
        switch (f6) {
        case 0x18: r = a == b; break;
        case 0x19: r = a != b; break;
        case 0x1a: r = a < b; break;
        case 0x1b: r = sa < sb; break;
        case 0x1c: r = a <= b; break;
        case 0x1d: r = sa <= sb; break;
        case 0x1e: r = a > b; break;
        default: r = sa > sb; break;
        }
        mask_out_set(&m, i, r);
    }
    mask_out_write(h, v, &m);
    return EXEC_RETIRE;
}

static enum exec_status merge(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew;
    if (v->vm ? v->rs2 != 0 : v->vd == 0)
        return EXEC_ILLEGAL;
    if (!vgroup_ok(v->vd, v->lmul) || (!v->vm && !vgroup_ok(v->rs2, v->lmul)) ||
        (is_vv(v) && !vgroup_ok(v->rs1, v->lmul)))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        bool take = v->vm || vmbit(h, v->vlenb, 0, i);
        uint64_t r = take ? operand1(h, v, i, eb) : velt(h, v->vlenb, v->rs2, i, eb);
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

/* vmv<nr>r.v: whole registers, whatever vtype says (SEW only sets vstart's unit). */
static enum exec_status move_whole(struct dv_hart *h, struct vinsn *v, bool vill)
{
    unsigned nr = v->rs1 + 1;
    if (!v->vm || (nr != 1 && nr != 2 && nr != 4 && nr != 8) || v->vd % nr || v->rs2 % nr)
        return EXEC_ILLEGAL;
    unsigned eb = vill ? 1 : v->sew;
    uint64_t evl = (uint64_t)nr * v->vlenb / eb;
    for (uint64_t i = h->vec.vstart; i < evl; i++)
        vset(h, v->vlenb, v->vd, i, eb, velt(h, v->vlenb, v->rs2, i, eb));
    return EXEC_RETIRE;
}

/* --- reductions ---------------------------------------------------------------------- */

static enum exec_status reduction(struct dv_hart *h, struct vinsn *v, bool widen)
{
    unsigned eb = v->sew, db = widen ? 2 * eb : eb;
    if (h->vec.vstart != 0 || !vgroup_ok(v->rs2, v->lmul) || (widen && eb == 8))
        return EXEC_ILLEGAL;
    if (v->vl == 0)
        return EXEC_RETIRE;
    uint64_t acc = velt(h, v->vlenb, v->rs1, 0, db);
    for (uint64_t i = 0; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t e = velt(h, v->vlenb, v->rs2, i, eb);
        if (widen) {
            acc += v->f6 & 1 ? (uint64_t)vsext(e, eb) : e;
            continue;
        }
        int64_t sa = vsext(acc, eb), se = vsext(e, eb);
        switch (v->f6) {
        case 0: acc += e; break;
        case 1: acc &= e; break;
        case 2: acc |= e; break;
        case 3: acc ^= e; break;
        case 4: acc = e < vtrunc(acc, eb) ? e : acc; break;
        case 5: acc = se < sa ? e : acc; break;
        case 6: acc = e > vtrunc(acc, eb) ? e : acc; break;
        default: acc = se > sa ? e : acc; break;
        }
        acc = vtrunc(acc, eb);
    }
    vset(h, v->vlenb, v->vd, 0, db, vtrunc(acc, db));
    return EXEC_RETIRE;
}

/* --- mask instructions ----------------------------------------------------------------- */

static enum exec_status mask_logical(struct dv_hart *h, struct vinsn *v)
{
    if (!v->vm)
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        bool a = vmbit(h, v->vlenb, v->rs2, i), b = vmbit(h, v->vlenb, v->rs1, i), r;
        switch (v->f6) {
        case 0x18: r = a && !b; break;
        case 0x19: r = a && b; break;
        case 0x1a: r = a || b; break;
        case 0x1b: r = a != b; break;
        case 0x1c: r = a || !b; break;
        case 0x1d: r = !(a && b); break;
        case 0x1e: r = !(a || b); break;
        default: r = a == b; break;
        }
        vmbit_set(h, v->vlenb, v->vd, i, r);
    }
    return EXEC_RETIRE;
}

/* vmv.x.s, vcpop.m, vfirst.m: results in x[rd]. */
static enum exec_status to_scalar(struct dv_hart *h, struct vinsn *v)
{
    uint64_t *xd = &h->x[v->vd];
    switch (v->rs1) {
    case 0x00:
        *xd = (uint64_t)vsext(velt(h, v->vlenb, v->rs2, 0, v->sew), v->sew);
        return EXEC_RETIRE;
    case 0x10:
    case 0x11: {
        if (h->vec.vstart != 0)
            return EXEC_ILLEGAL;
        uint64_t count = 0, first = UINT64_MAX;
        for (uint64_t i = 0; i < v->vl; i++) {
            if (!vactive(h, v, i) || !vmbit(h, v->vlenb, v->rs2, i))
                continue;
            if (first == UINT64_MAX)
                first = i;
            count++;
        }
        *xd = v->rs1 == 0x10 ? count : first;
        return EXEC_RETIRE;
    }
    }
    return EXEC_ILLEGAL;
}

static enum exec_status mask_unary(struct dv_hart *h, struct vinsn *v)
{
    unsigned kind = v->rs1;
    if (kind == 0x11) { /* vid.v */
        if (v->rs2 != 0 || !vgroup_ok(v->vd, v->lmul) || (!v->vm && v->vd == 0))
            return EXEC_ILLEGAL;
        for (uint64_t i = h->vec.vstart; i < v->vl; i++)
            if (vactive(h, v, i))
                vset(h, v->vlenb, v->vd, i, v->sew, vtrunc(i, v->sew));
        return EXEC_RETIRE;
    }
    if (h->vec.vstart != 0)
        return EXEC_ILLEGAL;
    if (kind == 0x10) { /* viota.m */
        if (!vgroup_ok(v->vd, v->lmul) || vregs_overlap(v->vd, vgroup_regs(v->lmul), v->rs2, 1) ||
            (!v->vm && v->vd == 0))
            return EXEC_ILLEGAL;
        uint64_t sum = 0;
        for (uint64_t i = 0; i < v->vl; i++) {
            if (!vactive(h, v, i))
                continue;
            vset(h, v->vlenb, v->vd, i, v->sew, vtrunc(sum, v->sew));
            sum += vmbit(h, v->vlenb, v->rs2, i);
        }
        return EXEC_RETIRE;
    }
    if (kind < 1 || kind > 3 || v->vd == v->rs2 || (!v->vm && v->vd == 0))
        return EXEC_ILLEGAL;
    bool seen = false;
    for (uint64_t i = 0; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        bool bit = vmbit(h, v->vlenb, v->rs2, i), r;
        switch (kind) {
        case 1: r = !seen && !bit; break; /* vmsbf */
        case 2: r = !seen && bit; break;  /* vmsof */
        default: r = !seen; break;        /* vmsif */
        }
        seen = seen || bit;
        vmbit_set(h, v->vlenb, v->vd, i, r);
    }
    return EXEC_RETIRE;
}

/* --- permutations ---------------------------------------------------------------------- */

static bool disjoint_from_dest(const struct vinsn *v, unsigned r, int emul)
{
    return !vregs_overlap(v->vd, vgroup_regs(v->lmul), r, vgroup_regs(emul));
}

static enum exec_status gather(struct dv_hart *h, struct vinsn *v, bool ei16)
{
    unsigned eb = v->sew, ib = ei16 ? 2 : eb;
    int iemul = ei16 ? v->lmul + 1 - (int)__builtin_ctz(eb) : v->lmul;
    if (!plain_groups_ok(v, true) || !disjoint_from_dest(v, v->rs2, v->lmul))
        return EXEC_ILLEGAL;
    if (is_vv(v) && (!vgroup_ok(v->rs1, iemul) || !disjoint_from_dest(v, v->rs1, iemul)))
        return EXEC_ILLEGAL;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t idx = is_vv(v) ? velt(h, v->vlenb, v->rs1, i, ib) : scalar_of(h, v);
        uint64_t r = idx < v->vlmax ? velt(h, v->vlenb, v->rs2, idx, eb) : 0;
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

static enum exec_status slide(struct dv_hart *h, struct vinsn *v, bool up, bool one)
{
    unsigned eb = v->sew;
    if (!plain_groups_ok(v, true) || (up && !disjoint_from_dest(v, v->rs2, v->lmul)))
        return EXEC_ILLEGAL;
    uint64_t off = one ? 1 : scalar_of(h, v);
    uint64_t x = vtrunc(h->x[v->rs1], eb);
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (up && i < off && !(one && i == 0))
            continue;
        if (!vactive(h, v, i))
            continue;
        uint64_t r;
        if (up) {
            r = one && i == 0 ? x : velt(h, v->vlenb, v->rs2, i - off, eb);
        } else if (one && i == v->vl - 1) {
            r = x;
        } else {
            uint64_t src = i + off;
            r = src >= i && src < v->vlmax ? velt(h, v->vlenb, v->rs2, src, eb) : 0;
        }
        vset(h, v->vlenb, v->vd, i, eb, r);
    }
    return EXEC_RETIRE;
}

static enum exec_status compress(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew;
    if (!v->vm || h->vec.vstart != 0 || !vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, v->lmul) ||
        !disjoint_from_dest(v, v->rs2, v->lmul) || !disjoint_from_dest(v, v->rs1, 0))
        return EXEC_ILLEGAL;
    uint64_t k = 0;
    for (uint64_t i = 0; i < v->vl; i++)
        if (vmbit(h, v->vlenb, v->rs1, i))
            vset(h, v->vlenb, v->vd, k++, eb, velt(h, v->vlenb, v->rs2, i, eb));
    return EXEC_RETIRE;
}

/* vmv.s.x */
static enum exec_status from_scalar(struct dv_hart *h, struct vinsn *v)
{
    if (v->rs2 != 0 || !v->vm)
        return EXEC_ILLEGAL;
    if (h->vec.vstart < v->vl)
        vset(h, v->vlenb, v->vd, 0, v->sew, vtrunc(h->x[v->rs1], v->sew));
    return EXEC_RETIRE;
}

/* --- Zvbb, Zvbc: bit manipulation for cryptography -------------------------------------------- */

/* Zvkt: none of these branches on element values (rotations mask their
   counts, clz/ctz count with popcount64). */
static uint64_t rotate_right(uint64_t a, unsigned s, unsigned bits)
{
    s &= bits - 1;
    return vtrunc(a >> s | a << ((bits - s) & (bits - 1)), bits / 8);
}

/* The bits of a at and below its highest set bit. */
static uint64_t smear_right(uint64_t a)
{
    for (unsigned s = 1; s < 64; s <<= 1)
        a |= a >> s;
    return a;
}

/* vbrev, vbrev8, vrev8, vclz, vctz, vcpop.v (VXUNARY0, vs1 = 8..14). */
static bool bit_unary(unsigned kind, uint64_t a, unsigned eb, uint64_t *out)
{
    unsigned bits = 8 * eb;
    switch (kind) {
    case 0x08: *out = brev8(a); return true;
    case 0x09: *out = __builtin_bswap64(a) >> (64 - bits); return true;
    case 0x0a: *out = __builtin_bswap64(brev8(a)) >> (64 - bits); return true;
    case 0x0c: *out = bits - popcount64(smear_right(a)); return true;
    case 0x0d: *out = popcount64(vtrunc(~a & (a - 1), eb)); return true;
    case 0x0e: *out = popcount64(a); return true;
    }
    return false;
}

/* OPIVV/OPIVX/OPIVI vandn (0x01), vror (0x14, and 0x15 as .vi with uimm[5]),
   vrol (0x15); OPMVV VXUNARY0 (0x12, vs1 >= 8); OPMVV/OPMVX vclmul (0x0c),
   vclmulh (0x0d), SEW 64 only. */
static enum exec_status bit_elementwise(struct dv_hart *h, struct vinsn *v)
{
    unsigned eb = v->sew, bits = 8 * eb, f6 = v->f6;
    bool opm = v->f3 == 2 || v->f3 == 6, vi = v->f3 == 3, unary = opm && f6 == 0x12;
    uint64_t probe;
    if (unary ? !bit_unary(v->rs1, 0, eb, &probe) : (vi && f6 == 0x01))
        return EXEC_ILLEGAL;
    if (opm && !unary && eb != 8)
        return EXEC_ILLEGAL;
    if (!vgroup_ok(v->vd, v->lmul) || !vgroup_ok(v->rs2, v->lmul) ||
        (is_vv(v) && !unary && !vgroup_ok(v->rs1, v->lmul)) || (!v->vm && v->vd == 0))
        return EXEC_ILLEGAL;
    uint64_t imm = v->rs1 | (uint64_t)(f6 & 1) << 5; /* vror.vi's six bits */
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb), r;
        uint64_t b = unary || vi ? imm : operand1(h, v, i, eb);
        if (unary)
            bit_unary(v->rs1, a, eb, &r);
        else if (opm)
            r = f6 == 0x0c ? clmul_lo(a, b) : clmul_hi(a, b);
        else if (f6 == 0x01)
            r = a & ~b;
        else if (f6 == 0x14 || vi)
            r = rotate_right(a, (unsigned)b, bits);
        else
            r = rotate_right(a, (unsigned)(bits - (b & (bits - 1))), bits);
        vset(h, v->vlenb, v->vd, i, eb, vtrunc(r, eb));
    }
    return EXEC_RETIRE;
}

/* vwsll: zero-extended vs2 shifted left by the low log2(2*SEW) bits of the operand. */
static enum exec_status widening_shift_left(struct dv_hart *h, struct vinsn *v)
{
    if (!widening_groups_ok(v, false))
        return EXEC_ILLEGAL;
    unsigned eb = v->sew, wb = 2 * eb;
    for (uint64_t i = h->vec.vstart; i < v->vl; i++) {
        if (!vactive(h, v, i))
            continue;
        uint64_t a = velt(h, v->vlenb, v->rs2, i, eb);
        uint64_t b = v->f3 == 3 ? v->rs1 : operand1(h, v, i, eb);
        vset(h, v->vlenb, v->vd, i, wb, vtrunc(a << (b & (8 * wb - 1)), wb));
    }
    return EXEC_RETIRE;
}

/* --- dispatch ------------------------------------------------------------------------ */

static enum exec_status opi(struct dv_hart *h, struct vinsn *v)
{
    unsigned f6 = v->f6;
    bool vv = v->f3 == 0, vi = v->f3 == 3;
    switch (f6) {
    case 0x0c: return gather(h, v, false);
    case 0x0e: return vv ? gather(h, v, true) : slide(h, v, true, false);
    case 0x0f: return vv ? EXEC_ILLEGAL : slide(h, v, false, false);
    case 0x10:
    case 0x11:
    case 0x12:
    case 0x13: return carry(h, v);
    case 0x17: return merge(h, v);
    case 0x01:
    case 0x14:
    case 0x15: return bit_elementwise(h, v);
    case 0x35: return widening_shift_left(h, v);
    case 0x27:
        if (vi)
            return move_whole(h, v, false);
        return elementwise(h, v, false);
    case 0x2c:
    case 0x2d:
    case 0x2e:
    case 0x2f: return narrowing(h, v);
    case 0x30:
    case 0x31: return vv ? reduction(h, v, true) : EXEC_ILLEGAL;
    }
    if (f6 >= 0x18 && f6 <= 0x1f)
        return compare(h, v);
    /* forms that do not exist */
    if ((vv && f6 == 0x03) ||
        (vi && (f6 == 0x02 || (f6 >= 0x04 && f6 <= 0x07) || f6 == 0x22 || f6 == 0x23)))
        return EXEC_ILLEGAL;
    return elementwise(h, v, false);
}

static enum exec_status opm(struct dv_hart *h, struct vinsn *v)
{
    unsigned f6 = v->f6;
    bool vv = v->f3 == 2;
    if (f6 <= 0x07)
        return vv ? reduction(h, v, false) : EXEC_ILLEGAL;
    if (f6 >= 0x30)
        return widening(h, v);
    switch (f6) {
    case 0x0e: return vv ? EXEC_ILLEGAL : slide(h, v, true, true);
    case 0x0f: return vv ? EXEC_ILLEGAL : slide(h, v, false, true);
    case 0x10: return vv ? to_scalar(h, v) : from_scalar(h, v);
    case 0x0c:
    case 0x0d: return bit_elementwise(h, v);
    case 0x12:
        if (vv && v->rs1 >= 8)
            return bit_elementwise(h, v);
        return vv ? extension(h, v) : EXEC_ILLEGAL;
    case 0x14: return vv ? mask_unary(h, v) : EXEC_ILLEGAL;
    case 0x17: return vv ? compress(h, v) : EXEC_ILLEGAL;
    }
    if (f6 >= 0x18 && f6 <= 0x1f)
        return vv ? mask_logical(h, v) : EXEC_ILLEGAL;
    return elementwise(h, v, true);
}

static enum exec_status arith(struct dv_hart *h, const struct insn *in)
{
    struct vinsn v;
    bool valid = vec_setup(h, in->raw, &v);
    if (!valid) {
        if (v.f3 == 3 && v.f6 == 0x27) /* vmv<nr>r.v needs no vtype */
            return move_whole(h, &v, true);
        return EXEC_ILLEGAL;
    }
    switch (v.f3) {
    case 0:
    case 3:
    case 4: return opi(h, &v);
    case 2:
    case 6: return opm(h, &v);
    default: return vec_fp(h, &v);
    }
}

enum exec_status vec_exec(struct dv_hart *h, const struct insn *in)
{
    if (!(h->vsstatus & SSTATUS_VS))
        return EXEC_ILLEGAL;
    enum exec_status st;
    switch ((enum op)in->op) {
    case OP_VSETVL: st = vsetvl(h, in); break;
    case OP_VLOAD: st = vec_load_store(h, in, false); break;
    case OP_VSTORE: st = vec_load_store(h, in, true); break;
    case OP_VCRYPTO: st = vec_crypto_exec(h, in); break;
    default: st = arith(h, in); break;
    }
    if (st == EXEC_ILLEGAL)
        return st;
    if (st == EXEC_RETIRE)
        h->vec.vstart = 0;
    vs_mark_dirty(h);
    return st;
}

/* --- the hypervisor's view of the registers (dvext.h) ---------------------------------- */

int dv_vreg_get(const struct dv_hart *h, unsigned reg, void *buf, size_t len)
{
    unsigned vlenb = vec_vlenb(h);
    if (reg >= 32 || len != vlenb)
        return DV_ERR_INVALID;
    memcpy(buf, h->vec.reg + reg * vlenb, vlenb);
    return DV_OK;
}

int dv_vreg_set(struct dv_hart *h, unsigned reg, const void *buf, size_t len)
{
    unsigned vlenb = vec_vlenb(h);
    if (reg >= 32 || len != vlenb)
        return DV_ERR_INVALID;
    memcpy(h->vec.reg + reg * vlenb, buf, vlenb);
    return DV_OK;
}
