/*
 * V extension loads and stores (V spec chapter 7): unit-stride, strided,
 * indexed (ordered and unordered are both done in element order), segment
 * forms of each, whole-register, mask (vlm/vsm) and fault-only-first.
 *
 * Every element goes through mem_load/mem_store, so each one is translated
 * through the guest's page tables and the G-stage on its own (an element
 * may cross a page), the vPLIC window works as for scalars, and a fault is
 * precise: vstart names the faulting element (the segment, for segment
 * accesses), earlier elements are done, and re-executing resumes there. A
 * fault has no transformed instruction (hutinst 0: a vector access is not
 * one load or store the hypervisor could emulate), so an access to an
 * emulated device is refused by the hypervisor as one it cannot decode.
 *
 * Unmasked unit-stride accesses (the common case: memcpy, streaming loops)
 * move each run of elements that lies in one page with one copy, through
 * the same TLB entry the per-element path would hit; a miss, a page-crossing
 * element or a fault goes element by element as above.
 */
#include "hart/mmu.h"
#include "hart/vector.h"

struct vmem {
    unsigned nf; /* fields per segment, 1..8 */
    unsigned eb; /* bytes per memory element (the index's for indexed) */
    unsigned db; /* bytes per data element */
    int emul;    /* of the data registers */
    int iemul;   /* of the index registers */
    unsigned mop;
    uint64_t evl;    /* elements */
    uint64_t stride; /* bytes between segments (unit, strided) */
};

static unsigned width_bytes(unsigned f3)
{
    return f3 == 0 ? 1 : 1u << (f3 - 4); /* 0: 8, 5: 16, 6: 32, 7: 64 bits */
}

static int log2u(unsigned v)
{
    return (int)__builtin_ctz(v);
}

/* Element i, field f: its address. */
static uint64_t element_address(const struct dv_hart *h, const struct vinsn *v,
                                const struct vmem *m, uint64_t base, uint64_t i, unsigned f)
{
    if (m->mop & 1) { /* indexed: the offset is an unsigned index element */
        uint64_t idx = velt(h, v->vlenb, v->rs2, i, m->eb);
        return base + idx + (uint64_t)f * m->db;
    }
    return base + i * m->stride + (uint64_t)f * m->db;
}

/* The shape of the access; false when the encoding is reserved. */
static bool shape(struct dv_hart *h, struct vinsn *v, bool valid, bool store, struct vmem *m,
                  bool *fault_first)
{
    uint32_t raw = v->raw;
    unsigned nf = vbits(raw, 31, 29) + 1, mew = vbits(raw, 28, 28), mop = vbits(raw, 27, 26);
    unsigned lumop = v->rs2, eb = width_bytes(v->f3);
    *fault_first = false;
    if (mew)
        return false;
    *m = (struct vmem){.nf = nf, .eb = eb, .db = eb, .mop = mop};
    if (mop == 0 && lumop == 0x08) { /* whole registers */
        if (!v->vm || (nf != 1 && nf != 2 && nf != 4 && nf != 8) || v->vd % nf ||
            (store && eb != 1))
            return false;
        m->nf = 1;
        m->emul = log2u(nf);
        m->evl = (uint64_t)nf * v->vlenb / eb;
        m->stride = eb;
        return true;
    }
    if (!valid)
        return false;
    if (mop == 0 && lumop == 0x0b) { /* vlm.v, vsm.v */
        if (!v->vm || nf != 1 || eb != 1)
            return false;
        m->emul = 0;
        m->evl = (v->vl + 7) / 8;
        m->stride = 1;
        return true;
    }
    if (mop == 0 && lumop != 0 && !(lumop == 0x10 && !store))
        return false;
    *fault_first = mop == 0 && lumop == 0x10;
    int data_emul = v->lmul;
    if (!(mop & 1)) {
        data_emul = log2u(eb) - log2u(v->sew) + v->lmul;
        m->db = eb;
    } else {
        m->db = v->sew;
        m->iemul = log2u(eb) - log2u(v->sew) + v->lmul;
        if (!vgroup_ok(v->rs2, m->iemul))
            return false;
    }
    if (data_emul < -3 || data_emul > 3)
        return false;
    unsigned regs = vgroup_regs(data_emul);
    if (regs * nf > 8 || v->vd + regs * nf > 32 || !vgroup_ok(v->vd, data_emul))
        return false;
    if (!v->vm && v->vd == 0 && !store)
        return false;
    if ((mop & 1) && !store) {
        unsigned iregs = vgroup_regs(m->iemul);
        bool overlap = vregs_overlap(v->vd, regs * nf, v->rs2, iregs);
        if (overlap && (nf > 1 || (m->iemul == data_emul ? v->vd != v->rs2
                                   : m->iemul > data_emul
                                       ? v->vd != v->rs2
                                       : !(m->iemul >= 0 && v->rs2 + iregs == v->vd + regs))))
            return false;
    }
    m->emul = data_emul;
    m->evl = v->vl;
    m->stride = mop == 2 ? h->x[v->rs2] : (uint64_t)nf * eb;
    return true;
}

/*
 * Elements i.. of an unmasked unit-stride access, as far as they lie in one
 * page that the TLB maps for this access: copied at once, *i advanced past
 * them. False (nothing done) when the TLB misses or fewer than two elements
 * fit. A TSan build leaves this out: its copy would be a memcpy call, which
 * TSan checks (see GUEST_RAM in hart.h).
 */
static bool unit_run(struct dv_hart *h, const struct vinsn *v, const struct vmem *m, uint64_t base,
                     uint64_t *i, bool store)
{
#ifdef DV_TSAN
    (void)h, (void)v, (void)m, (void)base, (void)i, (void)store;
    return false;
#else
    uint64_t va = base + *i * m->eb;
    uint64_t n = (PAGE_SIZE - (va & (PAGE_SIZE - 1))) / m->eb;
    if (n > m->evl - *i)
        n = m->evl - *i;
    if (n < 2)
        return false;
    struct tlb_entry *e = tlb_slot(h, store ? ACC_STORE : ACC_LOAD, va);
    if (__atomic_load_n(&e->tag, __ATOMIC_RELAXED) != tlb_tag(h, va))
        return false;
    uint8_t *reg = h->vec.reg + (uint64_t)v->vd * v->vlenb + *i * m->eb;
    void *host = (void *)(uintptr_t)(va + e->addend);
    if (store)
        memcpy(host, reg, n * m->eb);
    else
        memcpy(reg, host, n * m->eb);
    *i += n;
    return true;
#endif
}

enum exec_status vec_load_store(struct dv_hart *h, const struct insn *in, bool store)
{
    struct vinsn v;
    bool valid = vec_setup(h, in->raw, &v);
    struct vmem m;
    bool fault_first;
    if (!shape(h, &v, valid, store, &m, &fault_first))
        return EXEC_ILLEGAL;
    uint64_t base = h->x[v.rs1];
    unsigned field_regs = vgroup_regs(m.emul);
    bool unit = m.mop == 0 && m.nf == 1 && v.vm && m.stride == m.eb;
    for (uint64_t i = h->vec.vstart; i < m.evl; i++) {
        while (unit && i < m.evl && unit_run(h, &v, &m, base, &i, store))
            ;
        if (i >= m.evl)
            break;
        if (!vactive(h, &v, i))
            continue;
        for (unsigned f = 0; f < m.nf; f++) {
            uint64_t va = element_address(h, &v, &m, base, i, f);
            unsigned reg = v.vd + f * field_regs;
            if (store) {
                if (!mem_store(h, va, m.db, velt(h, v.vlenb, reg, i, m.db), NULL)) {
                    h->vec.vstart = i;
                    return EXEC_TRAP;
                }
                continue;
            }
            uint64_t value;
            if (!mem_load(h, va, m.db, &value, NULL)) {
                if (fault_first && i > 0) { /* trim vl instead of trapping */
                    h->vec.vl = i;
                    return EXEC_RETIRE;
                }
                h->vec.vstart = i;
                return EXEC_TRAP;
            }
            vset(h, v.vlenb, reg, i, m.db, value);
        }
    }
    return EXEC_RETIRE;
}
