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

/* Guest RAM at a host address, a copy of the access size each: a single host
   move (and, being GUEST_RAM, unseen by TSan: see hart.h). */
static inline GUEST_RAM uint64_t host_load(uintptr_t host, unsigned size)
{
    uint8_t b;
    uint16_t hw;
    uint32_t w;
    uint64_t d;
    switch (size) {
    case 1: memcpy(&b, (void *)host, 1); return b;
    case 2: memcpy(&hw, (void *)host, 2); return hw;
    case 4: memcpy(&w, (void *)host, 4); return w;
    default: memcpy(&d, (void *)host, 8); return d;
    }
}

static inline GUEST_RAM void host_store(uintptr_t host, unsigned size, uint64_t value)
{
    uint8_t b = (uint8_t)value;
    uint16_t hw = (uint16_t)value;
    uint32_t w = (uint32_t)value;
    switch (size) {
    case 1: memcpy((void *)host, &b, 1); break;
    case 2: memcpy((void *)host, &hw, 2); break;
    case 4: memcpy((void *)host, &w, 4); break;
    default: memcpy((void *)host, &value, 8); break;
    }
}

static inline bool mem_load(struct dv_hart *h, uint64_t va, unsigned size, uint64_t *value,
                            const struct insn *in)
{
    struct tlb_entry *e = tlb_slot(h, ACC_LOAD, va);
    if (likely(e->tag == tlb_tag(h, va) && (va & (PAGE_SIZE - 1)) <= PAGE_SIZE - size)) {
        *value = host_load((uintptr_t)(va + e->addend), size);
        return true;
    }
    return mmu_load_slow(h, va, size, value, in);
}

static inline bool mem_store(struct dv_hart *h, uint64_t va, unsigned size, uint64_t value,
                             const struct insn *in)
{
    struct tlb_entry *e = tlb_slot(h, ACC_STORE, va);
    /* another hart's shoot-down may clear it (jit.c): an atomic read, a plain move */
    if (likely(__atomic_load_n(&e->tag, __ATOMIC_RELAXED) == tlb_tag(h, va) &&
               (va & (PAGE_SIZE - 1)) <= PAGE_SIZE - size)) {
        host_store((uintptr_t)(va + e->addend), size, value);
        return true;
    }
    return mmu_store_slow(h, va, size, value, in);
}

/* Fetch: the instruction bits at pc through the fetch TLB, or false with h->trap set. */
bool mmu_fetch_slow(struct dv_hart *h, uint64_t pc, uint32_t *raw);

static inline bool mmu_fetch(struct dv_hart *h, uint64_t pc, uint32_t *raw)
{
    if (likely((pc & PAGE_MASK) == h->fetch_vpage && (pc & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4)) {
        *raw = (uint32_t)host_load((uintptr_t)(pc + h->fetch_addend), 4);
        if ((*raw & 3) != 3)
            *raw &= 0xffff;
        return true;
    }
    return mmu_fetch_slow(h, pc, raw);
}

#endif
