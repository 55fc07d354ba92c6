/* Two-stage translation and the software TLB (mmu.c). */
#ifndef DUVISOR_HART_MMU_H
#define DUVISOR_HART_MMU_H

#include "hart/hart.h"

void mmu_flush(struct dv_hart *h);        /* VS-stage translations (TLB) */
void mmu_flush_gstage(struct dv_hart *h); /* G-stage leaves, and the TLB built on them */
bool mmu_load_slow(struct dv_hart *h, uint64_t va, unsigned size, uint64_t *value,
                   const struct insn *in);
bool mmu_store_slow(struct dv_hart *h, uint64_t va, unsigned size, uint64_t value,
                    const struct insn *in);
/* Translate for an access that needs a host pointer to naturally aligned data
   (AMO, LR/SC, fetch). NULL with h->trap set on failure. */
void *mmu_host_ptr(struct dv_hart *h, uint64_t va, enum access acc, const struct insn *in);
bool mmu_window_contains(const struct dv_machine *m, uintptr_t host, uint64_t len);
int mmu_set_hugatp(struct dv_hart *h, uint64_t value);
uint32_t mmu_transform_insn(const struct insn *in);

static inline struct tlb_entry *tlb_slot(struct dv_hart *h, enum access acc, uint64_t va)
{
    return &h->tlb[h->priv][acc][(va >> PAGE_SHIFT) & (TLB_SIZE - 1)];
}

static inline uint64_t tlb_tag(const struct dv_hart *h, uint64_t va)
{
    (void)h;
    return va & PAGE_MASK;
}

static inline bool mem_load(struct dv_hart *h, uint64_t va, unsigned size, uint64_t *value,
                            const struct insn *in)
{
    struct tlb_entry *e = tlb_slot(h, ACC_LOAD, va);
    if (likely(e->tag == tlb_tag(h, va) && (va & (PAGE_SIZE - 1)) <= PAGE_SIZE - size)) {
        uint64_t v = 0;
        memcpy(&v, (void *)(uintptr_t)(va + e->addend), size);
        *value = v;
        return true;
    }
    return mmu_load_slow(h, va, size, value, in);
}

static inline bool mem_store(struct dv_hart *h, uint64_t va, unsigned size, uint64_t value,
                             const struct insn *in)
{
    struct tlb_entry *e = tlb_slot(h, ACC_STORE, va);
    if (likely(e->tag == tlb_tag(h, va) && (va & (PAGE_SIZE - 1)) <= PAGE_SIZE - size)) {
        memcpy((void *)(uintptr_t)(va + e->addend), &value, size);
        return true;
    }
    return mmu_store_slow(h, va, size, value, in);
}

/* Fetch: the instruction bits at pc through the fetch TLB, or false with h->trap set. */
bool mmu_fetch_slow(struct dv_hart *h, uint64_t pc, uint32_t *raw);

static inline bool mmu_fetch(struct dv_hart *h, uint64_t pc, uint32_t *raw)
{
    if (likely((pc & PAGE_MASK) == h->fetch_vpage && (pc & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4)) {
        memcpy(raw, (void *)(uintptr_t)(pc + h->fetch_addend), 4);
        if ((*raw & 3) != 3)
            *raw &= 0xffff;
        return true;
    }
    return mmu_fetch_slow(h, pc, raw);
}

#endif
