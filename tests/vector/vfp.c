/*
 * Random-operand streams over the vector floating-point instructions (SEW 32
 * and 64; SEW 16 for the conversions with an integer side): special values
 * (zeros, infinities, quiet and signalling NaNs, subnormals, extremes) mixed
 * with random ones, a random frm, masked and unmasked; prints fflags and a
 * hash of the register file.
 */
#include "rt.h"

static uint8_t regs[32 * 128] __attribute__((aligned(64)));
static uint64_t vlenb;

static void load_all(void)
{
    __asm__ volatile("vl8re8.v v0, (%0)\nvl8re8.v v8, (%1)\nvl8re8.v v16, (%2)\nvl8re8.v v24, (%3)\n"
                     ::"r"(regs), "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb),
                     "r"(regs + 24 * vlenb)
                     : "memory");
}

static void store_all(void)
{
    __asm__ volatile("vs8r.v v0, (%0)\nvs8r.v v8, (%1)\nvs8r.v v16, (%2)\nvs8r.v v24, (%3)\n"
                     ::"r"(regs), "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb),
                     "r"(regs + 24 * vlenb)
                     : "memory");
}

typedef long (*op_fn)(long x, long single);

#define F_W   1 /* widening/narrowing FP: SEW 32 only */
#define F_C16 2 /* conversion with an integer side: SEW 16 or 32 */
#define F_ANY 4 /* SEW 32 or 64 */

struct op {
    const char *name;
    op_fn fn;
    unsigned flags;
};

/* fa0 = x as a single (NaN-boxed) or a double, then the instruction; a0 back */
#define T(id, text)                                                                                \
    static long id(long x, long single)                                                            \
    {                                                                                              \
        register long a0 __asm__("a0") = x, a1 __asm__("a1") = single;                             \
        __asm__ volatile("beqz a1, 1f\nfmv.w.x fa0, a0\nj 2f\n1: fmv.d.x fa0, a0\n2:\n" text       \
                         "\nfmv.x.d a0, fa0"                                                       \
                         : "+r"(a0)                                                                \
                         : "r"(a1)                                                                 \
                         : "memory", "fa0");                                                       \
        return a0;                                                                                 \
    }

#define VV(n) T(n##_vv, #n ".vv v8, v16, v24") T(n##_vv_m, #n ".vv v8, v16, v24, v0.t")
#define VF(n) T(n##_vf, #n ".vf v8, v16, fa0") T(n##_vf_m, #n ".vf v8, v16, fa0, v0.t")
#define E_VV(n, f) {#n ".vv", n##_vv, f}, {#n ".vv.m", n##_vv_m, f},
#define E_VF(n, f) {#n ".vf", n##_vf, f}, {#n ".vf.m", n##_vf_m, f},
#define VVF(n) VV(n) VF(n)
#define E_VVF(n, f) E_VV(n, f) E_VF(n, f)
#define FMA(n)                                                                                     \
    T(n##_vv, #n ".vv v8, v24, v16") T(n##_vf_m, #n ".vf v8, fa0, v16, v0.t")
#define E_FMA(n, f) {#n ".vv", n##_vv, f}, {#n ".vf.m", n##_vf_m, f},
#define UN(n, text) T(n, text) T(n##_m, text ", v0.t")
#define E_UN(n, name, f) {name, n, f}, {name ".m", n##_m, f},

VVF(vfadd) VVF(vfsub) VF(vfrsub) VVF(vfmul) VVF(vfdiv) VF(vfrdiv) VVF(vfmin) VVF(vfmax)
VVF(vfsgnj) VVF(vfsgnjn) VVF(vfsgnjx)
FMA(vfmacc) FMA(vfnmacc) FMA(vfmsac) FMA(vfnmsac) FMA(vfmadd) FMA(vfnmadd) FMA(vfmsub)
FMA(vfnmsub)
UN(vfsqrt, "vfsqrt.v v8, v16") UN(vfrsqrt7, "vfrsqrt7.v v8, v16")
UN(vfrec7, "vfrec7.v v8, v16") UN(vfclass, "vfclass.v v8, v16")
#define CMP(n) T(n##_vv, #n ".vv v4, v16, v24") T(n##_vf_m, #n ".vf v4, v16, fa0, v0.t")
CMP(vmfeq) CMP(vmfne) CMP(vmflt) CMP(vmfle)
T(vmfgt_vf, "vmfgt.vf v4, v16, fa0") T(vmfge_vf_m, "vmfge.vf v4, v16, fa0, v0.t")
T(vfmerge, "vfmerge.vfm v8, v16, fa0, v0") T(vfmv_v_f, "vfmv.v.f v8, fa0")
T(vfmv_s_f, "vfmv.s.f v8, fa0") T(vfmv_f_s, "vfmv.f.s fa0, v16")
T(vfslide1up, "vfslide1up.vf v8, v16, fa0, v0.t") T(vfslide1down, "vfslide1down.vf v8, v16, fa0")
#define RED(n) T(n, #n ".vs v8, v16, v24") T(n##_m, #n ".vs v8, v16, v24, v0.t")
RED(vfredusum) RED(vfredosum) RED(vfredmin) RED(vfredmax) RED(vfwredusum) RED(vfwredosum)
VVF(vfwadd) VVF(vfwsub) VVF(vfwmul)
T(vfwadd_wv, "vfwadd.wv v8, v16, v24") T(vfwadd_wf, "vfwadd.wf v8, v16, fa0, v0.t")
T(vfwsub_wv, "vfwsub.wv v8, v16, v24, v0.t") T(vfwsub_wf, "vfwsub.wf v8, v16, fa0")
FMA(vfwmacc) FMA(vfwnmacc) FMA(vfwmsac) FMA(vfwnmsac)
UN(vfcvt_xu_f, "vfcvt.xu.f.v v8, v16") UN(vfcvt_x_f, "vfcvt.x.f.v v8, v16")
UN(vfcvt_f_xu, "vfcvt.f.xu.v v8, v16") UN(vfcvt_f_x, "vfcvt.f.x.v v8, v16")
UN(vfcvt_rtz_xu_f, "vfcvt.rtz.xu.f.v v8, v16") UN(vfcvt_rtz_x_f, "vfcvt.rtz.x.f.v v8, v16")
UN(vfwcvt_xu_f, "vfwcvt.xu.f.v v8, v16") UN(vfwcvt_x_f, "vfwcvt.x.f.v v8, v16")
UN(vfwcvt_f_xu, "vfwcvt.f.xu.v v8, v16") UN(vfwcvt_f_x, "vfwcvt.f.x.v v8, v16")
UN(vfwcvt_f_f, "vfwcvt.f.f.v v8, v16") UN(vfwcvt_rtz_xu_f, "vfwcvt.rtz.xu.f.v v8, v16")
UN(vfwcvt_rtz_x_f, "vfwcvt.rtz.x.f.v v8, v16")
UN(vfncvt_xu_f, "vfncvt.xu.f.w v8, v16") UN(vfncvt_x_f, "vfncvt.x.f.w v8, v16")
UN(vfncvt_f_xu, "vfncvt.f.xu.w v8, v16") UN(vfncvt_f_x, "vfncvt.f.x.w v8, v16")
UN(vfncvt_f_f, "vfncvt.f.f.w v8, v16") UN(vfncvt_rod_f_f, "vfncvt.rod.f.f.w v8, v16")
UN(vfncvt_rtz_xu_f, "vfncvt.rtz.xu.f.w v8, v16") UN(vfncvt_rtz_x_f, "vfncvt.rtz.x.f.w v8, v16")

/* The .rtz conversions are left out: QEMU 7.2 aborts translating them
   (decode_save_opc assertion); test_vector checks them on the hart alone. */
static const struct op ops[] = {
    E_VVF(vfadd, F_ANY) E_VVF(vfsub, F_ANY) E_VF(vfrsub, F_ANY) E_VVF(vfmul, F_ANY)
    E_VVF(vfdiv, F_ANY) E_VF(vfrdiv, F_ANY) E_VVF(vfmin, F_ANY) E_VVF(vfmax, F_ANY)
    E_VVF(vfsgnj, F_ANY) E_VVF(vfsgnjn, F_ANY) E_VVF(vfsgnjx, F_ANY)
    E_FMA(vfmacc, F_ANY) E_FMA(vfnmacc, F_ANY) E_FMA(vfmsac, F_ANY) E_FMA(vfnmsac, F_ANY)
    E_FMA(vfmadd, F_ANY) E_FMA(vfnmadd, F_ANY) E_FMA(vfmsub, F_ANY) E_FMA(vfnmsub, F_ANY)
    E_UN(vfsqrt, "vfsqrt", F_ANY) E_UN(vfrsqrt7, "vfrsqrt7", F_ANY)
    E_UN(vfrec7, "vfrec7", F_ANY) E_UN(vfclass, "vfclass", F_ANY)
    {"vmfeq.vv", vmfeq_vv, F_ANY}, {"vmfeq.vf.m", vmfeq_vf_m, F_ANY},
    {"vmfne.vv", vmfne_vv, F_ANY}, {"vmfne.vf.m", vmfne_vf_m, F_ANY},
    {"vmflt.vv", vmflt_vv, F_ANY}, {"vmflt.vf.m", vmflt_vf_m, F_ANY},
    {"vmfle.vv", vmfle_vv, F_ANY}, {"vmfle.vf.m", vmfle_vf_m, F_ANY},
    {"vmfgt.vf", vmfgt_vf, F_ANY}, {"vmfge.vf.m", vmfge_vf_m, F_ANY},
    {"vfmerge", vfmerge, F_ANY}, {"vfmv.v.f", vfmv_v_f, F_ANY}, {"vfmv.s.f", vfmv_s_f, F_ANY},
    {"vfmv.f.s", vfmv_f_s, F_ANY}, {"vfslide1up.m", vfslide1up, F_ANY},
    {"vfslide1down", vfslide1down, F_ANY},
    E_UN(vfredusum, "vfredusum", F_ANY) E_UN(vfredosum, "vfredosum", F_ANY)
    E_UN(vfredmin, "vfredmin", F_ANY) E_UN(vfredmax, "vfredmax", F_ANY)
    E_UN(vfwredusum, "vfwredusum", F_W) E_UN(vfwredosum, "vfwredosum", F_W)
    E_VVF(vfwadd, F_W) E_VVF(vfwsub, F_W) E_VVF(vfwmul, F_W)
    {"vfwadd.wv", vfwadd_wv, F_W}, {"vfwadd.wf.m", vfwadd_wf, F_W},
    {"vfwsub.wv.m", vfwsub_wv, F_W}, {"vfwsub.wf", vfwsub_wf, F_W},
    E_FMA(vfwmacc, F_W) E_FMA(vfwnmacc, F_W) E_FMA(vfwmsac, F_W) E_FMA(vfwnmsac, F_W)
    E_UN(vfcvt_xu_f, "vfcvt.xu.f", F_ANY) E_UN(vfcvt_x_f, "vfcvt.x.f", F_ANY)
    E_UN(vfcvt_f_xu, "vfcvt.f.xu", F_ANY) E_UN(vfcvt_f_x, "vfcvt.f.x", F_ANY)
    E_UN(vfwcvt_xu_f, "vfwcvt.xu.f", F_W) E_UN(vfwcvt_x_f, "vfwcvt.x.f", F_W)
    E_UN(vfwcvt_f_xu, "vfwcvt.f.xu", F_C16) E_UN(vfwcvt_f_x, "vfwcvt.f.x", F_C16)
    E_UN(vfwcvt_f_f, "vfwcvt.f.f", F_W)
    E_UN(vfncvt_xu_f, "vfncvt.xu.f", F_C16) E_UN(vfncvt_x_f, "vfncvt.x.f", F_C16)
    E_UN(vfncvt_f_xu, "vfncvt.f.xu", F_W) E_UN(vfncvt_f_x, "vfncvt.f.x", F_W)
    E_UN(vfncvt_f_f, "vfncvt.f.f", F_W) E_UN(vfncvt_rod_f_f, "vfncvt.rod.f.f", F_W)
};

/* An interesting value of eb bytes. */
static uint64_t special(unsigned eb)
{
    static const uint64_t s32[] = {0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7fa00001,
                                   0xffc12345, 1,  0x807fffff, 0x00800000, 0x3f800000, 0xbf800000,
                                   0x7f7fffff, 0xff7fffff, 0x4b000001, 0x3f000000, 0x00400000};
    static const uint64_t s64[] = {0,
                                   0x8000000000000000ull,
                                   0x7ff0000000000000ull,
                                   0xfff0000000000000ull,
                                   0x7ff8000000000000ull,
                                   0x7ff4000000000001ull,
                                   1,
                                   0x800fffffffffffffull,
                                   0x0010000000000000ull,
                                   0x3ff0000000000000ull,
                                   0xbff0000000000000ull,
                                   0x7fefffffffffffffull,
                                   0x4330000000000001ull,
                                   0x43e0000000000000ull,
                                   0x0008000000000000ull,
                                   0x36a0000000000000ull,
                                   0x47e0000000000001ull};
    uint64_t r = rnd();
    switch (r & 3) {
    case 0: return eb == 4 ? s32[(r >> 8) % 17] : eb == 8 ? s64[(r >> 8) % 17] : (r >> 8) & 0xffff;
    case 1: /* near 1, either sign */
        if (eb == 4)
            return (0x3f000000 + ((r >> 8) & 0x01ffffff)) | ((r >> 40) & 1) << 31;
        if (eb == 8)
            return (0x3fe0000000000000ull + ((r >> 8) & 0x003fffffffffffffull)) | (r & 1ull << 63);
        return (r >> 8) & 0xffff;
    default: return rnd();
    }
}

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int main(void)
{
    __asm__ volatile("csrr %0, vlenb" : "=r"(vlenb));
    static const int lmuls[] = {-3, -2, -1, 0, 1, 2, 3};
    unsigned n = 0;
    for (unsigned round = 0; round < 3; round++)
        for (unsigned sew = 1; sew < 4; sew++) {
            for (unsigned li = 0; li < 7; li++) {
                int lmul = lmuls[li];
                if (lmul < 0 && (8u << sew) > (64u >> -lmul))
                    continue;
                uint64_t vtype = (uint64_t)(lmul & 7) | sew << 3;
                uint64_t vlmax = lmul >= 0 ? (vlenb << lmul) >> sew : (vlenb >> -lmul) >> sew;
                unsigned eb = 1u << sew;
                for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
                    unsigned f = ops[k].flags;
                    if ((f & F_ANY) && sew < 2)
                        continue;
                    if ((f & F_W) && (sew != 2 || lmul == 3))
                        continue;
                    if ((f & F_C16) && (sew == 3 || lmul == 3))
                        continue;
                    /* element-sized special values, and wide ones for the wide sources */
                    for (unsigned i = 0; i < 32 * vlenb; i += eb) {
                        uint64_t v = special(eb);
                        memcpy(&regs[i], &v, eb);
                    }
                    if (eb == 4 && (rnd() & 1))
                        for (unsigned i = 16 * vlenb; i < 24 * vlenb; i += 8) {
                            uint64_t v = special(8);
                            memcpy(&regs[i], &v, 8);
                        }
                    for (unsigned i = 0; i < vlenb; i++) /* the mask */
                        regs[i] = (uint8_t)rnd();
                    load_all();
                    uint64_t r = rnd(), avl = (r & 7) == 0 ? 0 : (r >> 8) % (vlmax + 3);
                    uint64_t frm = (r >> 4) % 5, vl, fflags;
                    __asm__ volatile("fsrm %1\ncsrwi fflags, 0\nvsetvl %0, %2, %3"
                                     : "=r"(vl)
                                     : "r"(frm), "r"(avl), "r"(vtype));
                    long res = ops[k].fn((long)special(eb == 8 ? 8 : 4), eb != 8);
                    __asm__ volatile("frflags %0" : "=r"(fflags));
                    store_all();
                    puts_(ops[k].name);
                    putch(' ');
                    putdec(8u << sew);
                    putch(' ');
                    putdec((uint64_t)(lmul + 3));
                    putch(' ');
                    putdec(vl);
                    putch(' ');
                    putdec(frm);
                    putch(' ');
                    puthex((uint64_t)res, 16);
                    putch(' ');
                    puthex(fflags, 2);
                    putch(' ');
                    puthex(hash(regs, 32 * vlenb), 16);
                    putch('\n');
                    n++;
                }
            }
        }
    puts_("done ");
    putdec(n);
    putch('\n');
    return 0;
}
