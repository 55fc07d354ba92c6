/*
 * Random-operand streams over the integer, fixed-point, mask, reduction and
 * permutation instructions: for every SEW/LMUL (fractional included) and
 * each instruction, masked and unmasked, with random register contents, a
 * random vl (0 and past VLMAX included) and a random vxrm, print a hash of
 * the whole register file, vxsat and the scalar result.
 */
#include "rt.h"

static uint8_t regs[32 * 128] __attribute__((aligned(64)));
static uint64_t vlenb;

static void load_all(void)
{
    __asm__ volatile("vl8re8.v v0, (%0)\n"
                     "vl8re8.v v8, (%1)\n"
                     "vl8re8.v v16, (%2)\n"
                     "vl8re8.v v24, (%3)\n" ::"r"(regs),
                     "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb), "r"(regs + 24 * vlenb)
                     : "memory");
}

static void store_all(void)
{
    __asm__ volatile("vs8r.v v0, (%0)\n"
                     "vs8r.v v8, (%1)\n"
                     "vs8r.v v16, (%2)\n"
                     "vs8r.v v24, (%3)\n" ::"r"(regs),
                     "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb), "r"(regs + 24 * vlenb)
                     : "memory");
}

typedef long (*op_fn)(long x);

#define F_W   1  /* widening or narrowing: 2*SEW <= 64, 2*LMUL <= 8 */
#define F_E2  2  /* extension by 2 */
#define F_E4  4
#define F_E8  8
#define F_G16 16 /* vrgatherei16: 16/SEW*LMUL <= 8 */

struct op {
    const char *name;
    op_fn fn;
    unsigned flags;
};

#define T(id, text)                                                                                \
    static long id(long x)                                                                         \
    {                                                                                              \
        register long a0 __asm__("a0") = x;                                                        \
        __asm__ volatile(text : "+r"(a0)::"memory");                                               \
        return a0;                                                                                 \
    }

/* vd, vs2, vs1 forms, masked and not */
#define VV(n)                                                                                      \
    T(n##_vv, #n ".vv v8, v16, v24")                                                               \
    T(n##_vv_m, #n ".vv v8, v16, v24, v0.t")
#define VX(n)                                                                                      \
    T(n##_vx, #n ".vx v8, v16, a0")                                                                \
    T(n##_vx_m, #n ".vx v8, v16, a0, v0.t")
#define VI(n, imm)                                                                                 \
    T(n##_vi, #n ".vi v8, v16, " #imm)                                                             \
    T(n##_vi_m, #n ".vi v8, v16, " #imm ", v0.t")
#define E_VV(n, f) {#n ".vv", n##_vv, f}, {#n ".vv.m", n##_vv_m, f},
#define E_VX(n, f) {#n ".vx", n##_vx, f}, {#n ".vx.m", n##_vx_m, f},
#define E_VI(n, f) {#n ".vi", n##_vi, f}, {#n ".vi.m", n##_vi_m, f},

#define VVX(n) VV(n) VX(n)
#define VVXI(n, imm) VV(n) VX(n) VI(n, imm)
#define E_VVX(n, f) E_VV(n, f) E_VX(n, f)
#define E_VVXI(n, f) E_VV(n, f) E_VX(n, f) E_VI(n, f)

VVXI(vadd, -7)
VVX(vsub)
VX(vrsub)
VI(vrsub, 3)
VVX(vminu)
VVX(vmin)
VVX(vmaxu)
VVX(vmax)
VVXI(vand, -2)
VVXI(vor, 9)
VVXI(vxor, -1)
VVXI(vsll, 3)
VVXI(vsrl, 5)
VVXI(vsra, 31)
VVXI(vsaddu, -3)
VVXI(vsadd, 15)
VVX(vssubu)
VVX(vssub)
VVXI(vssrl, 2)
VVXI(vssra, 7)
VVX(vsmul)
VVX(vaadd)
VVX(vaaddu)
VVX(vasub)
VVX(vasubu)
VVX(vmul)
VVX(vmulh)
VVX(vmulhu)
VVX(vmulhsu)
VVX(vdiv)
VVX(vdivu)
VVX(vrem)
VVX(vremu)
T(vmacc_vv, "vmacc.vv v8, v24, v16")
T(vmacc_vx, "vmacc.vx v8, a0, v16, v0.t")
T(vnmsac_vv, "vnmsac.vv v8, v24, v16, v0.t")
T(vnmsac_vx, "vnmsac.vx v8, a0, v16")
T(vmadd_vv, "vmadd.vv v8, v24, v16")
T(vmadd_vx, "vmadd.vx v8, a0, v16, v0.t")
T(vnmsub_vv, "vnmsub.vv v8, v24, v16, v0.t")
T(vnmsub_vx, "vnmsub.vx v8, a0, v16")
VVXI(vrgather, 3)
T(vrgatherei16_vv, "vrgatherei16.vv v8, v16, v24")
T(vrgatherei16_vv_m, "vrgatherei16.vv v8, v16, v24, v0.t")
VX(vslideup)
VI(vslideup, 5)
VX(vslidedown)
VI(vslidedown, 6)
VX(vslide1up)
VX(vslide1down)
T(vmerge_vvm, "vmerge.vvm v8, v16, v24, v0")
T(vmerge_vxm, "vmerge.vxm v8, v16, a0, v0")
T(vmerge_vim, "vmerge.vim v8, v16, -4, v0")
T(vmv_v_v, "vmv.v.v v8, v24")
T(vmv_v_x, "vmv.v.x v8, a0")
T(vmv_v_i, "vmv.v.i v8, 11")
T(vadc_vvm, "vadc.vvm v8, v16, v24, v0")
T(vadc_vxm, "vadc.vxm v8, v16, a0, v0")
T(vadc_vim, "vadc.vim v8, v16, 7, v0")
T(vsbc_vvm, "vsbc.vvm v8, v16, v24, v0")
T(vsbc_vxm, "vsbc.vxm v8, v16, a0, v0")
T(vmadc_vvm, "vmadc.vvm v4, v16, v24, v0")
T(vmadc_vxm, "vmadc.vxm v4, v16, a0, v0")
T(vmadc_vim, "vmadc.vim v4, v16, -9, v0")
T(vmadc_vv, "vmadc.vv v4, v16, v24")
T(vmadc_vx, "vmadc.vx v4, v16, a0")
T(vmadc_vi, "vmadc.vi v4, v16, 1")
T(vmsbc_vvm, "vmsbc.vvm v4, v16, v24, v0")
T(vmsbc_vxm, "vmsbc.vxm v4, v16, a0, v0")
T(vmsbc_vv, "vmsbc.vv v4, v16, v24")
T(vmsbc_vx, "vmsbc.vx v4, v16, a0")
#define CMP_VV(n) T(n##_vv, #n ".vv v4, v16, v24") T(n##_vv_m, #n ".vv v4, v16, v24, v0.t")
#define CMP_VX(n) T(n##_vx, #n ".vx v4, v16, a0") T(n##_vx_m, #n ".vx v4, v16, a0, v0.t")
#define CMP_VI(n, i) T(n##_vi, #n ".vi v4, v16, " #i) T(n##_vi_m, #n ".vi v4, v16, " #i ", v0.t")
CMP_VV(vmseq) CMP_VX(vmseq) CMP_VI(vmseq, 0)
CMP_VV(vmsne) CMP_VX(vmsne) CMP_VI(vmsne, -1)
CMP_VV(vmsltu) CMP_VX(vmsltu)
CMP_VV(vmslt) CMP_VX(vmslt)
CMP_VV(vmsleu) CMP_VX(vmsleu) CMP_VI(vmsleu, 5)
CMP_VV(vmsle) CMP_VX(vmsle) CMP_VI(vmsle, -5)
CMP_VX(vmsgtu) CMP_VI(vmsgtu, 2)
CMP_VX(vmsgt) CMP_VI(vmsgt, -16)
/* widening */
VVX(vwaddu)
VVX(vwadd)
VVX(vwsubu)
VVX(vwsub)
T(vwaddu_wv, "vwaddu.wv v8, v16, v24")
T(vwadd_wx, "vwadd.wx v8, v16, a0, v0.t")
T(vwsubu_wx, "vwsubu.wx v8, v16, a0")
T(vwsub_wv, "vwsub.wv v8, v16, v24, v0.t")
VVX(vwmul)
VVX(vwmulu)
VVX(vwmulsu)
T(vwmacc_vv, "vwmacc.vv v8, v24, v16")
T(vwmaccu_vx, "vwmaccu.vx v8, a0, v16, v0.t")
T(vwmaccsu_vv, "vwmaccsu.vv v8, v24, v16, v0.t")
T(vwmaccus_vx, "vwmaccus.vx v8, a0, v16")
/* narrowing */
T(vnsrl_wv, "vnsrl.wv v8, v16, v24")
T(vnsrl_wx, "vnsrl.wx v8, v16, a0, v0.t")
T(vnsra_wi, "vnsra.wi v8, v16, 9")
T(vnclip_wv, "vnclip.wv v8, v16, v24, v0.t")
T(vnclip_wx, "vnclip.wx v8, v16, a0")
T(vnclipu_wi, "vnclipu.wi v8, v16, 3")
T(vnclipu_wv, "vnclipu.wv v8, v16, v24")
/* extension */
T(vzext_vf2, "vzext.vf2 v8, v16")
T(vsext_vf2, "vsext.vf2 v8, v16, v0.t")
T(vzext_vf4, "vzext.vf4 v8, v16, v0.t")
T(vsext_vf4, "vsext.vf4 v8, v16")
T(vzext_vf8, "vzext.vf8 v8, v16")
T(vsext_vf8, "vsext.vf8 v8, v16, v0.t")
/* reductions */
#define RED(n) T(n##_vs, #n ".vs v8, v16, v24") T(n##_vs_m, #n ".vs v8, v16, v24, v0.t")
RED(vredsum) RED(vredand) RED(vredor) RED(vredxor) RED(vredminu) RED(vredmin) RED(vredmaxu)
RED(vredmax) RED(vwredsumu) RED(vwredsum)
/* masks */
#define MM(n) T(n##_mm, #n ".mm v4, v2, v3")
MM(vmand) MM(vmnand) MM(vmandn) MM(vmxor) MM(vmor) MM(vmnor) MM(vmorn) MM(vmxnor)
T(vcpop_m, "vcpop.m a0, v2")
T(vcpop_m_m, "vcpop.m a0, v2, v0.t")
T(vfirst_m, "vfirst.m a0, v2")
T(vfirst_m_m, "vfirst.m a0, v2, v0.t")
T(vmsbf_m, "vmsbf.m v4, v2")
T(vmsbf_m_m, "vmsbf.m v4, v2, v0.t")
T(vmsif_m, "vmsif.m v4, v2")
T(vmsif_m_m, "vmsif.m v4, v2, v0.t")
T(vmsof_m, "vmsof.m v4, v2")
T(vmsof_m_m, "vmsof.m v4, v2, v0.t")
T(viota_m, "viota.m v8, v2")
T(viota_m_m, "viota.m v8, v2, v0.t")
T(vid_v, "vid.v v8")
T(vid_v_m, "vid.v v8, v0.t")
/* moves */
T(vmv_x_s, "vmv.x.s a0, v16")
T(vmv_s_x, "vmv.s.x v8, a0")
T(vcompress_vm, "vcompress.vm v8, v16, v2")
T(vmv1r, "vmv1r.v v9, v17")
T(vmv2r, "vmv2r.v v10, v18")
T(vmv4r, "vmv4r.v v12, v20")
T(vmv8r, "vmv8r.v v8, v16")

static const struct op ops[] = {
    E_VVXI(vadd, 0) E_VVX(vsub, 0) E_VX(vrsub, 0) E_VI(vrsub, 0) E_VVX(vminu, 0) E_VVX(vmin, 0)
    E_VVX(vmaxu, 0) E_VVX(vmax, 0) E_VVXI(vand, 0) E_VVXI(vor, 0) E_VVXI(vxor, 0)
    E_VVXI(vsll, 0) E_VVXI(vsrl, 0) E_VVXI(vsra, 0) E_VVXI(vsaddu, 0) E_VVXI(vsadd, 0)
    E_VVX(vssubu, 0) E_VVX(vssub, 0) E_VVXI(vssrl, 0) E_VVXI(vssra, 0) E_VVX(vsmul, 0)
    E_VVX(vaadd, 0) E_VVX(vaaddu, 0) E_VVX(vasub, 0) E_VVX(vasubu, 0) E_VVX(vmul, 0)
    E_VVX(vmulh, 0) E_VVX(vmulhu, 0) E_VVX(vmulhsu, 0) E_VVX(vdiv, 0) E_VVX(vdivu, 0)
    E_VVX(vrem, 0) E_VVX(vremu, 0)
    {"vmacc.vv", vmacc_vv, 0}, {"vmacc.vx.m", vmacc_vx, 0}, {"vnmsac.vv.m", vnmsac_vv, 0},
    {"vnmsac.vx", vnmsac_vx, 0}, {"vmadd.vv", vmadd_vv, 0}, {"vmadd.vx.m", vmadd_vx, 0},
    {"vnmsub.vv.m", vnmsub_vv, 0}, {"vnmsub.vx", vnmsub_vx, 0},
    E_VVXI(vrgather, 0) {"vrgatherei16.vv", vrgatherei16_vv, F_G16},
    {"vrgatherei16.vv.m", vrgatherei16_vv_m, F_G16}, E_VX(vslideup, 0) E_VI(vslideup, 0)
    E_VX(vslidedown, 0) E_VI(vslidedown, 0) E_VX(vslide1up, 0) E_VX(vslide1down, 0)
    {"vmerge.vvm", vmerge_vvm, 0}, {"vmerge.vxm", vmerge_vxm, 0}, {"vmerge.vim", vmerge_vim, 0},
    {"vmv.v.v", vmv_v_v, 0}, {"vmv.v.x", vmv_v_x, 0}, {"vmv.v.i", vmv_v_i, 0},
    {"vadc.vvm", vadc_vvm, 0}, {"vadc.vxm", vadc_vxm, 0}, {"vadc.vim", vadc_vim, 0},
    {"vsbc.vvm", vsbc_vvm, 0}, {"vsbc.vxm", vsbc_vxm, 0}, {"vmadc.vvm", vmadc_vvm, 0},
    {"vmadc.vxm", vmadc_vxm, 0}, {"vmadc.vim", vmadc_vim, 0}, {"vmadc.vv", vmadc_vv, 0},
    {"vmadc.vx", vmadc_vx, 0}, {"vmadc.vi", vmadc_vi, 0}, {"vmsbc.vvm", vmsbc_vvm, 0},
    {"vmsbc.vxm", vmsbc_vxm, 0}, {"vmsbc.vv", vmsbc_vv, 0}, {"vmsbc.vx", vmsbc_vx, 0},
    E_VVXI(vmseq, 0) E_VVXI(vmsne, 0) E_VVX(vmsltu, 0) E_VVX(vmslt, 0) E_VVXI(vmsleu, 0)
    E_VVXI(vmsle, 0) E_VX(vmsgtu, 0) E_VI(vmsgtu, 0) E_VX(vmsgt, 0) E_VI(vmsgt, 0)
    E_VVX(vwaddu, F_W) E_VVX(vwadd, F_W) E_VVX(vwsubu, F_W) E_VVX(vwsub, F_W)
    {"vwaddu.wv", vwaddu_wv, F_W}, {"vwadd.wx.m", vwadd_wx, F_W}, {"vwsubu.wx", vwsubu_wx, F_W},
    {"vwsub.wv.m", vwsub_wv, F_W}, E_VVX(vwmul, F_W) E_VVX(vwmulu, F_W) E_VVX(vwmulsu, F_W)
    {"vwmacc.vv", vwmacc_vv, F_W}, {"vwmaccu.vx.m", vwmaccu_vx, F_W},
    {"vwmaccsu.vv.m", vwmaccsu_vv, F_W}, {"vwmaccus.vx", vwmaccus_vx, F_W},
    {"vnsrl.wv", vnsrl_wv, F_W}, {"vnsrl.wx.m", vnsrl_wx, F_W}, {"vnsra.wi", vnsra_wi, F_W},
    {"vnclip.wv.m", vnclip_wv, F_W}, {"vnclip.wx", vnclip_wx, F_W},
    {"vnclipu.wi", vnclipu_wi, F_W}, {"vnclipu.wv", vnclipu_wv, F_W},
    {"vzext.vf2", vzext_vf2, F_E2}, {"vsext.vf2.m", vsext_vf2, F_E2},
    {"vzext.vf4.m", vzext_vf4, F_E4}, {"vsext.vf4", vsext_vf4, F_E4},
    {"vzext.vf8", vzext_vf8, F_E8}, {"vsext.vf8.m", vsext_vf8, F_E8},
    {"vredsum", vredsum_vs, 0}, {"vredsum.m", vredsum_vs_m, 0}, {"vredand", vredand_vs, 0},
    {"vredand.m", vredand_vs_m, 0}, {"vredor", vredor_vs, 0}, {"vredor.m", vredor_vs_m, 0},
    {"vredxor", vredxor_vs, 0}, {"vredxor.m", vredxor_vs_m, 0}, {"vredminu", vredminu_vs, 0},
    {"vredminu.m", vredminu_vs_m, 0}, {"vredmin", vredmin_vs, 0}, {"vredmin.m", vredmin_vs_m, 0},
    {"vredmaxu", vredmaxu_vs, 0}, {"vredmaxu.m", vredmaxu_vs_m, 0}, {"vredmax", vredmax_vs, 0},
    {"vredmax.m", vredmax_vs_m, 0}, {"vwredsumu", vwredsumu_vs, F_W},
    {"vwredsumu.m", vwredsumu_vs_m, F_W}, {"vwredsum", vwredsum_vs, F_W},
    {"vwredsum.m", vwredsum_vs_m, F_W},
    {"vmand", vmand_mm, 0}, {"vmnand", vmnand_mm, 0}, {"vmandn", vmandn_mm, 0},
    {"vmxor", vmxor_mm, 0}, {"vmor", vmor_mm, 0}, {"vmnor", vmnor_mm, 0}, {"vmorn", vmorn_mm, 0},
    {"vmxnor", vmxnor_mm, 0}, {"vcpop", vcpop_m, 0}, {"vcpop.m", vcpop_m_m, 0},
    {"vfirst", vfirst_m, 0}, {"vfirst.m", vfirst_m_m, 0}, {"vmsbf", vmsbf_m, 0},
    {"vmsbf.m", vmsbf_m_m, 0}, {"vmsif", vmsif_m, 0}, {"vmsif.m", vmsif_m_m, 0},
    {"vmsof", vmsof_m, 0}, {"vmsof.m", vmsof_m_m, 0}, {"viota", viota_m, 0},
    {"viota.m", viota_m_m, 0}, {"vid", vid_v, 0}, {"vid.m", vid_v_m, 0},
    {"vmv.x.s", vmv_x_s, 0}, {"vmv.s.x", vmv_s_x, 0}, {"vcompress", vcompress_vm, 0},
    {"vmv1r", vmv1r, 0}, {"vmv2r", vmv2r, 0}, {"vmv4r", vmv4r, 0}, {"vmv8r", vmv8r, 0},
};

static uint64_t hash(const uint8_t *p, size_t n, uint64_t h)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static uint64_t read_vlenb(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, vlenb" : "=r"(v));
    return v;
}

int main(void)
{
    vlenb = read_vlenb();
    static const int lmuls[] = {-3, -2, -1, 0, 1, 2, 3};
    unsigned n = 0;
    for (unsigned sew = 0; sew < 4; sew++) {
        for (unsigned li = 0; li < 7; li++) {
            int lmul = lmuls[li];
            if (lmul < 0 && (8u << sew) > (64u >> -lmul))
                continue;
            uint64_t vtype = (uint64_t)(lmul & 7) | sew << 3 | (rnd() & 0xc0);
            uint64_t vlmax = lmul >= 0 ? (vlenb * 8 << lmul) >> (3 + sew)
                                       : (vlenb * 8 >> -lmul) >> (3 + sew);
            for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
                unsigned f = ops[k].flags;
                if ((f & F_W) && (sew == 3 || lmul == 3))
                    continue;
                if ((f & F_E2) && (sew < 1 || lmul - 1 < -3 || (8u << sew) / 2 > (64u >> (lmul - 1 < 0 ? 1 - lmul : 0))))
                    continue;
                if ((f & F_E4) && (sew < 2 || lmul - 2 < -3))
                    continue;
                if ((f & F_E8) && (sew < 3 || lmul - 3 < -3))
                    continue;
                if ((f & F_G16) && (lmul + 1 - (int)sew > 3 || lmul + 1 - (int)sew < -3))
                    continue;
                for (unsigned i = 0; i < sizeof(regs); i++)
                    regs[i] = (uint8_t)rnd();
                /* small indices now and then, so gathers hit */
                if (rnd() & 1)
                    for (unsigned i = 24 * vlenb; i < 32 * vlenb; i++)
                        regs[i] &= 7;
                load_all();
                uint64_t r = rnd(), avl = (r & 3) == 0 ? 0 : (r >> 8) % (vlmax + 4);
                uint64_t vxrm = (r >> 4) & 3, vl, x = rnd();
                if ((r >> 20) & 1)
                    x &= 0x1f;
                __asm__ volatile("csrw vxrm, %0\ncsrwi vxsat, 0\nvsetvl %1, %2, %3"
                                 : "=r"(vxrm), "=r"(vl)
                                 : "r"(avl), "r"(vtype), "0"(vxrm));
                long res = ops[k].fn((long)x);
                uint64_t vxsat;
                __asm__ volatile("csrr %0, vxsat" : "=r"(vxsat));
                store_all();
                uint64_t h = hash(regs, 32 * vlenb, 1469598103934665603ull);
                puts_(ops[k].name);
                putch(' ');
                putdec(8u << sew);
                putch(' ');
                putdec((uint64_t)(lmul + 3));
                putch(' ');
                putdec(vl);
                putch(' ');
                puthex((uint64_t)res, 16);
                putch(' ');
                putdec(vxsat);
                putch(' ');
                puthex(h, 16);
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
