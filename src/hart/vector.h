/*
 * The V extension (ratified 1.0) inside the hart: what decode.c, csr.c and
 * exec_vec.h call, and the helpers vector.c, vector_mem.c and vector_fp.c
 * share. ELEN = 64; VLEN is the machine's (engine config, 128..1024).
 *
 * Policies (the spec lets an implementation choose):
 *  - tail and mask agnostic are treated as undisturbed everywhere;
 *  - vsetvl: AVL > VLMAX gives vl = VLMAX; rs1 = x0 and rd = x0 keeps vl,
 *    clipped to the new VLMAX; a reserved or unsupported vtype sets vill;
 *  - arithmetic honours a nonzero vstart (resumes there); reductions,
 *    vcompress, viota, vcpop/vfirst/vmsbf/vmsif/vmsof need vstart = 0;
 *  - reserved register-group overlaps and misaligned groups are illegal;
 *  - element accesses may be misaligned (split across pages as scalars are);
 *  - a vector access never has a transformed instruction: hutinst is 0 for
 *    its faults, utval the faulting element's address, vstart its index.
 */
#ifndef DUVISOR_HART_VECTOR_H
#define DUVISOR_HART_VECTOR_H

#include "hart/exec.h"

#define VTYPE_VILL (1ull << 63)

/* decode.c: the vector encodings (OP-V, and LOAD-FP/STORE-FP with a vector
   width); false for anything else. */
bool vec_decode(uint32_t raw, struct insn *d);

/* csr.c: the vector CSRs for the guest (0x008 vstart, 0x009 vxsat, 0x00a vxrm,
   0x00f vcsr, 0xc20 vl, 0xc21 vtype, 0xc22 vlenb) and for the hypervisor
   (same numbers, dvext.h). */
static inline bool vec_is_csr(unsigned csr)
{
    return (csr >= 0x008 && csr <= 0x00a) || csr == 0x00f || (csr >= 0xc20 && csr <= 0xc22);
}
bool vec_csr_read(const struct dv_hart *h, unsigned csr, uint64_t *value);
void vec_csr_write(struct dv_hart *h, unsigned csr, uint64_t value);
/* The hypervisor's write (restore): vl and vtype too, checked. DV_OK or DV_ERR_INVALID. */
int vec_csr_restore(struct dv_hart *h, unsigned csr, uint64_t value);

/* exec_vec.h: run one vector instruction. */
enum exec_status vec_exec(struct dv_hart *h, const struct insn *in);

/* --- shared by vector*.c ----------------------------------------------------------- */

static inline unsigned vec_vlenb(const struct dv_hart *h)
{
    return h->m->engine.vlen / 8;
}

static inline void vs_mark_dirty(struct dv_hart *h)
{
    h->vsstatus |= SSTATUS_VS_DIRTY | SSTATUS_SD;
}

/* The fields of a vector instruction and the vtype it runs under. */
struct vinsn {
    uint32_t raw;
    unsigned vd, rs1, rs2, f3, f6;
    bool vm; /* unmasked */
    unsigned vlenb;
    unsigned sew;       /* bytes */
    int lmul;           /* log2 of LMUL, -3..3 */
    uint64_t vl, vlmax; /* VLMAX of vtype */
};

static inline unsigned vbits(uint32_t v, unsigned hi, unsigned lo)
{
    return (v >> lo) & ((1u << (hi - lo + 1)) - 1);
}

/* Element i (eb bytes) of the group starting at register r. Out-of-file
   offsets read 0 and are not written: callers check groups, this is the
   last guard against a guest-driven index. */
static inline uint64_t velt(const struct dv_hart *h, unsigned vlenb, unsigned r, uint64_t i,
                            unsigned eb)
{
    uint64_t off = (uint64_t)r * vlenb + i * eb;
    if (off + eb > 32ull * vlenb)
        return 0;
    const uint8_t *p = h->vec.reg + off;
    uint8_t b;
    uint16_t hw;
    uint32_t w;
    uint64_t d;
    switch (eb) {
    case 1: memcpy(&b, p, 1); return b;
    case 2: memcpy(&hw, p, 2); return hw;
    case 4: memcpy(&w, p, 4); return w;
    default: memcpy(&d, p, 8); return d;
    }
}

static inline void vset(struct dv_hart *h, unsigned vlenb, unsigned r, uint64_t i, unsigned eb,
                        uint64_t v)
{
    uint64_t off = (uint64_t)r * vlenb + i * eb;
    if (off + eb > 32ull * vlenb)
        return;
    uint8_t *p = h->vec.reg + off;
    uint8_t b = (uint8_t)v;
    uint16_t hw = (uint16_t)v;
    uint32_t w = (uint32_t)v;
    switch (eb) {
    case 1: memcpy(p, &b, 1); break;
    case 2: memcpy(p, &hw, 2); break;
    case 4: memcpy(p, &w, 4); break;
    default: memcpy(p, &v, 8); break;
    }
}

/* Bit i of mask register r. */
static inline bool vmbit(const struct dv_hart *h, unsigned vlenb, unsigned r, uint64_t i)
{
    return (velt(h, vlenb, r, i / 8, 1) >> (i % 8)) & 1;
}

static inline void vmbit_set(struct dv_hart *h, unsigned vlenb, unsigned r, uint64_t i, bool v)
{
    uint64_t byte = velt(h, vlenb, r, i / 8, 1);
    byte = (byte & ~(1ull << (i % 8))) | ((uint64_t)v << (i % 8));
    vset(h, vlenb, r, i / 8, 1, byte);
}

static inline bool vactive(const struct dv_hart *h, const struct vinsn *v, uint64_t i)
{
    return v->vm || vmbit(h, v->vlenb, 0, i);
}

static inline int64_t vsext(uint64_t v, unsigned eb)
{
    unsigned sh = 64 - 8 * eb;
    return (int64_t)(v << sh) >> sh;
}

static inline uint64_t vtrunc(uint64_t v, unsigned eb)
{
    return eb >= 8 ? v : v & ((1ull << (8 * eb)) - 1);
}

/* A group of 2^emul registers (emul a log2, -3..3) starting at r is legal. */
static inline bool vgroup_ok(unsigned r, int emul)
{
    if (emul < -3 || emul > 3)
        return false;
    unsigned n = emul > 0 ? 1u << emul : 1u;
    return r % n == 0 && r + n <= 32;
}

/* Registers [a, a + na) and [b, b + nb) overlap. */
static inline bool vregs_overlap(unsigned a, unsigned na, unsigned b, unsigned nb)
{
    return a < b + nb && b < a + na;
}

static inline unsigned vgroup_regs(int emul)
{
    return emul > 0 ? 1u << emul : 1u;
}

/* vector_mem.c */
enum exec_status vec_load_store(struct dv_hart *h, const struct insn *in, bool store);
/* vector_fp.c: OPFVV / OPFVF; EXEC_ILLEGAL for a reserved encoding. */
enum exec_status vec_fp(struct dv_hart *h, struct vinsn *v);
/* vector_crypto.c: OP-VE, the element-group instructions of Zvkned, Zvknh, Zvkg, Zvksed, Zvksh. */
enum exec_status vec_crypto_exec(struct dv_hart *h, const struct insn *in);
/* vector.c: fill v from the instruction and vtype; false when vill. */
bool vec_setup(struct dv_hart *h, uint32_t raw, struct vinsn *v);

#endif
