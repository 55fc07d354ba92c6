/*
 * Two-stage translation: the guest's own page tables (vsatp: Bare, Sv39,
 * Sv48, Sv57) then the hypervisor's G-stage (hugatp: Sv39x4, Sv48x4), as the
 * privileged spec's "Two-Stage Address Translation" describes. Results are
 * cached per 4 KiB page in a software TLB mapping a guest virtual page
 * straight to a host address. The vPLIC window is handled here too, without
 * an exit and without a TLB entry.
 */
#include "hart/jit/jit.h"
#include "hart/jit/verify.h"
#include "hart/mmu.h"
#include "hart/aia.h"
#include "hart/vplic.h"

#define PTE_V        (1ull << 0)
#define PTE_R        (1ull << 1)
#define PTE_W        (1ull << 2)
#define PTE_X        (1ull << 3)
#define PTE_U        (1ull << 4)
#define PTE_A        (1ull << 6)
#define PTE_D        (1ull << 7)
#define PTE_PPN(pte) (((pte) >> 10) & ((1ull << 44) - 1))
#define PTE_RESERVED (0x7full << 54) /* bits 60:54 */
#define PTE_PBMT     (3ull << 61)    /* Svpbmt: 0 PMA, 1 NC, 2 IO, 3 reserved */
#define PTE_N        (1ull << 63)    /* Svnapot: a 64 KiB NAPOT leaf (ppn[3:0] = 1000) */
#define NAPOT_PAGES  16u

/*
 * The Svpbmt and Svnapot checks a PTE must pass, shared by both stages
 * (pbmt_ok: PBMT may be nonzero, henvcfg.PBMTE for the VS stage; always for
 * the G-stage, as menvcfg.PBMTE = 1 would). Non-leaf PTEs have neither. A
 * NAPOT leaf is valid only at level 0 with ppn[3:0] = 1000 (the one size
 * defined, 64 KiB). NC and IO need nothing more of a software hart: every
 * guest access is one host access in program order, and the vPLIC and
 * devices are never cached (README: "Svpbmt").
 */
static bool pte_ext_ok(uint64_t pte, bool leaf, int level, bool pbmt_ok)
{
    if (pte & PTE_RESERVED)
        return false;
    if (!leaf)
        return !(pte & (PTE_PBMT | PTE_N));
    if ((pte & PTE_PBMT) && (!pbmt_ok || (pte & PTE_PBMT) == PTE_PBMT))
        return false;
    return !(pte & PTE_N) || (level == 0 && (PTE_PPN(pte) & (NAPOT_PAGES - 1)) == 8);
}

/* The PPN a leaf maps `addr` to: a NAPOT leaf takes the low 4 bits from addr. */
static uint64_t leaf_ppn(uint64_t pte, uint64_t addr)
{
    uint64_t ppn = PTE_PPN(pte);
    if (pte & PTE_N)
        ppn = (ppn & ~(uint64_t)(NAPOT_PAGES - 1)) | ((addr >> PAGE_SHIFT) & (NAPOT_PAGES - 1));
    return ppn;
}

void mmu_flush(struct dv_hart *h)
{
    /* Atomic stores (plain moves): another hart's shoot-down reads the tags (jit.c). */
    struct tlb_entry *all = &h->tlb[0][0][0];
    if (h->tlb_logged > TLB_LOG_SIZE) {
        for (unsigned i = 0; i < 2 * 3 * TLB_SIZE; i++)
            __atomic_store_n(&all[i].tag, TLB_INVALID, __ATOMIC_RELAXED);
    } else {
        for (unsigned i = 0; i < h->tlb_logged; i++)
            __atomic_store_n(&all[h->tlb_log[i]].tag, TLB_INVALID, __ATOMIC_RELAXED);
    }
    h->tlb_logged = 0;
    h->fetch_vpage = TLB_INVALID;
    jit_jc_clear(h);    /* it maps virtual pcs: as stale as the TLB */
    h->jit_stop = true; /* a region that flushed (satp, sstatus) leaves at once */
}

static void tlb_log_fill(struct dv_hart *h, enum access acc, uint64_t va)
{
    if (h->tlb_logged < TLB_LOG_SIZE)
        h->tlb_log[h->tlb_logged] =
            (uint16_t)(((h->priv * 3u + acc) << TLB_BITS) | ((va >> PAGE_SHIFT) & (TLB_SIZE - 1)));
    if (h->tlb_logged <= TLB_LOG_SIZE)
        h->tlb_logged++;
}

void mmu_flush_gstage(struct dv_hart *h)
{
    /* A generation bump empties the cache at once; only a wrap clears it. */
    if (++h->gcache_gen > GEN_MAX) {
        memset(h->gcache, 0, sizeof(h->gcache));
        h->gcache_gen = 1;
    }
    mmu_flush(h);
}

int mmu_set_hugatp(struct dv_hart *h, uint64_t value)
{
    uint64_t mode = value >> DV_HUGATP_MODE_SHIFT;
    uint64_t root = (value & DV_HUGATP_PPN_MASK) << PAGE_SHIFT;
    if ((mode != DV_HUGATP_MODE_SV39X4 && mode != DV_HUGATP_MODE_SV48X4) || root == 0 ||
        (root & 0x3fff))
        return DV_ERR_INVALID;
    h->hugatp = value;
    h->groot = (const uint64_t *)(uintptr_t)root;
    h->glevels = mode == DV_HUGATP_MODE_SV39X4 ? 3 : 4;
    mmu_flush_gstage(h);
    return DV_OK;
}

static const uint64_t guest_page_fault[3] = {EXC_LOAD_GUEST_PAGE, EXC_STORE_GUEST_PAGE,
                                             EXC_FETCH_GUEST_PAGE};
static const uint64_t page_fault[3] = {EXC_LOAD_PAGE, EXC_STORE_PAGE, EXC_FETCH_PAGE};
static const uint64_t access_fault[3] = {EXC_LOAD_ACCESS, EXC_STORE_ACCESS, EXC_FETCH_ACCESS};

/*
 * G-stage: guest physical -> host address, checked as access `acc`. On
 * failure fills h->trap with a guest-page fault (or an access fault for a
 * leaf outside the windows) of type `report`: the guest's original access,
 * which for the walk's own PTE reads and A/D writes is not `acc` (the
 * H extension reports those as faults of the original access type); va and
 * tinst are what the exit reports.
 */
static bool gstage(struct dv_hart *h, uint64_t gpa, enum access acc, enum access report,
                   uint64_t va, uint32_t tinst, uintptr_t *host)
{
    uint64_t need = acc == ACC_LOAD ? PTE_R : acc == ACC_STORE ? PTE_W : PTE_X;
    struct gcache_entry *cached = &h->gcache[(gpa >> PAGE_SHIFT) & (GCACHE_SIZE - 1)];
    if (likely(cached->tag == ((gpa & PAGE_MASK) | h->gcache_gen) && (cached->perms & need))) {
        *host = cached->host + (uintptr_t)(gpa & (PAGE_SIZE - 1));
        return true;
    }
    unsigned levels = h->glevels;
    const uint64_t *table = h->groot;
    bool ok = (gpa >> (PAGE_SHIFT + 9 * levels + 2)) == 0;
    for (int level = (int)levels - 1; ok && level >= 0; level--) {
        unsigned shift = PAGE_SHIFT + 9 * (unsigned)level;
        uint64_t index = (gpa >> shift) & (level == (int)levels - 1 ? 0x7ff : 0x1ff);
        uint64_t pte = __atomic_load_n(&table[index], __ATOMIC_ACQUIRE);
        bool leaf = pte & (PTE_R | PTE_W | PTE_X);
        if (!(pte & PTE_V) || ((pte & PTE_W) && !(pte & PTE_R)) ||
            !pte_ext_ok(pte, leaf, level, true))
            break;
        if (!leaf) {
            if (level == 0)
                break;
            table = (const uint64_t *)(uintptr_t)(PTE_PPN(pte) << PAGE_SHIFT);
            continue;
        }
        uint64_t super_mask = (1ull << (9 * (unsigned)level)) - 1;
        if (!(pte & PTE_U) || !(pte & need) || !(pte & PTE_A) ||
            (acc == ACC_STORE && !(pte & PTE_D)) || (PTE_PPN(pte) & super_mask))
            break;
        uintptr_t addr =
            (uintptr_t)((leaf_ppn(pte, gpa) << PAGE_SHIFT) + (gpa & ((1ull << shift) - 1)));
        if (!mmu_window_contains(h->m, addr & PAGE_MASK, PAGE_SIZE)) {
            h->trap = (struct trap){.cause = access_fault[report],
                                    .tval = va,
                                    .gpa = gpa,
                                    .tinst = tinst,
                                    .gva = true,
                                    .to_hypervisor = true};
            return false;
        }
        /* Remember the leaf's rights for this 4 KiB page; a writable leaf
           counts as writable only with D set (checked above for stores). */
        cached->tag = (gpa & PAGE_MASK) | h->gcache_gen;
        cached->host = addr & PAGE_MASK;
        cached->perms = pte & (PTE_R | PTE_X | ((pte & PTE_D) ? PTE_W : 0));
        *host = addr;
        return true;
    }
    h->trap = (struct trap){
        .cause = guest_page_fault[report], .tval = va, .gpa = gpa, .tinst = tinst, .gva = true};
    return false;
}

enum xlate { XLATE_FAULT, XLATE_HOST, XLATE_PLIC };

/*
 * Guest virtual -> guest physical through the guest's own tables, updating
 * A/D as hardware does. Page faults are the guest's; faults on the walk's own
 * G-stage accesses exit with the PTE-access pseudo-instructions.
 */
static bool vs_stage(struct dv_hart *h, uint64_t va, enum access acc, uint64_t *gpa)
{
    uint64_t mode = h->vsatp >> 60;
    if (mode == 0) {
        *gpa = va;
        return true;
    }
    unsigned levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
    unsigned va_bits = PAGE_SHIFT + 9 * levels;
    if ((int64_t)(va << (64 - va_bits)) >> (64 - va_bits) != (int64_t)va)
        goto page_fault;
retry:;
    uint64_t table = (h->vsatp & ((1ull << 44) - 1)) << PAGE_SHIFT;
    for (int level = (int)levels - 1; level >= 0; level--) {
        unsigned shift = PAGE_SHIFT + 9 * (unsigned)level;
        uint64_t pte_gpa = table + ((va >> shift) & 0x1ff) * 8;
        uintptr_t pte_host;
        if (!gstage(h, pte_gpa, ACC_LOAD, acc, va, DV_HUTINST_PTE_READ, &pte_host))
            return false;
        uint64_t *ptep = (uint64_t *)pte_host;
        uint64_t pte = __atomic_load_n(ptep, __ATOMIC_ACQUIRE);
        bool leaf = pte & (PTE_R | PTE_W | PTE_X);
        if (!(pte & PTE_V) || ((pte & PTE_W) && !(pte & PTE_R)) ||
            !pte_ext_ok(pte, leaf, level, h->huenvcfg & DV_ENVCFG_PBMTE))
            goto page_fault;
        if (!leaf) {
            if (level == 0 || (pte & (PTE_A | PTE_D | PTE_U)))
                goto page_fault;
            table = PTE_PPN(pte) << PAGE_SHIFT;
            continue;
        }
        /* a leaf: permissions for this privilege */
        bool user_page = pte & PTE_U;
        if (h->priv == PRV_VU ? !user_page
                              : (user_page && (acc == ACC_FETCH || !(h->vsstatus & SSTATUS_SUM))))
            goto page_fault;
        bool allowed = acc == ACC_FETCH ? (pte & PTE_X)
                       : acc == ACC_STORE
                           ? (pte & PTE_W)
                           : ((pte & PTE_R) || ((h->vsstatus & SSTATUS_MXR) && (pte & PTE_X)));
        uint64_t super_mask = (1ull << (9 * (unsigned)level)) - 1;
        if (!allowed || (PTE_PPN(pte) & super_mask))
            goto page_fault;
        uint64_t want = PTE_A | (acc == ACC_STORE ? PTE_D : 0);
        if ((pte & want) != want) {
            /* Svadu off (henvcfg.ADUE = 0): the guest sets A and D itself (Svade) */
            if (!(h->huenvcfg & DV_ENVCFG_ADUE))
                goto page_fault;
            /* Hardware A/D update: an atomic write of the PTE, itself a
               G-stage store that may fault. */
            uintptr_t wr;
            if (!gstage(h, pte_gpa, ACC_STORE, acc, va, DV_HUTINST_PTE_WRITE, &wr))
                return false;
            uint64_t expected = pte;
            if (!__atomic_compare_exchange_n((uint64_t *)wr, &expected, pte | want, false,
                                             __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
                goto retry; /* the guest changed the PTE meanwhile: walk again */
        }
        *gpa = ((leaf_ppn(pte, va) & ~super_mask) << PAGE_SHIFT) | (va & ((1ull << shift) - 1));
        return true;
    }
page_fault:
    raise_trap(h, page_fault[acc], va);
    return false;
}

/*
 * Ssnpm pointer masking of a load, store or AMO address (never a fetch or the
 * walk's own accesses): henvcfg.PMM applies in VS, senvcfg.PMM in VU, off
 * while vsstatus.MXR is set. The top PMLEN bits are replaced by copies of bit
 * 63-PMLEN under translation, by zeros with vsatp Bare. Only slow paths
 * mask: the TLB is filled under the unmasked address, so a fast-path hit is
 * a page already translated from that very address (the masked bits are
 * above every index bit), and a flush follows any change of the setting.
 */
static uint64_t pointer_mask(const struct dv_hart *h, uint64_t va)
{
    uint64_t cfg = h->priv == PRV_VS ? h->huenvcfg : h->senvcfg;
    uint64_t pmm = (cfg & DV_ENVCFG_PMM) >> DV_ENVCFG_PMM_SHIFT;
    if (likely(pmm < 2) || (h->vsstatus & SSTATUS_MXR))
        return va;
    unsigned pmlen = pmm == 2 ? 7 : 16;
    if (h->vsatp >> 60)
        return (uint64_t)((int64_t)(va << pmlen) >> pmlen);
    return (va << pmlen) >> pmlen;
}

/*
 * va through both stages for an access by in (NULL: none, e.g. a fetch).
 * part is the offset of va in the access in, nonzero for the second part of
 * a page-crossing one: a guest-page fault's transformed instruction carries
 * it in its Addr. Offset field (bits 19:15), as the H extension's htinst does.
 */
static enum xlate translate(struct dv_hart *h, uint64_t va, enum access acc, const struct insn *in,
                            unsigned part, uintptr_t *host, uint64_t *gpa_out)
{
    uint64_t gpa;
    if (!vs_stage(h, va, acc, &gpa))
        return XLATE_FAULT;
    const struct dv_machine *m = h->m;
    if (m->plic && acc != ACC_FETCH && gpa - m->plic_base < DV_PLIC_SIZE) {
        *gpa_out = gpa;
        return XLATE_PLIC;
    }
    if (m->aia && acc != ACC_FETCH && aia_window(m->aia, gpa)) {
        *gpa_out = gpa; /* the AIA windows are the hart's too, like the vPLIC's */
        return XLATE_PLIC;
    }
    uint32_t tinst = (acc == ACC_FETCH || !in) ? 0 : mmu_transform_insn(in) | part << 15;
    if (!gstage(h, gpa, acc, acc, va, tinst, host))
        return XLATE_FAULT;
    return XLATE_HOST;
}

static void tlb_fill(struct dv_hart *h, enum access acc, uint64_t va, uintptr_t host)
{
    /* Stores to pages holding translated code stay on the slow path. */
    if (acc == ACC_STORE && unlikely(jit_store_blocked(h->m, host)))
        return;
    struct tlb_entry *e = tlb_slot(h, acc, va);
    tlb_log_fill(h, acc, va);
    /* Atomic (relaxed) because another hart's shoot-down reads the entry. */
    __atomic_store_n(&e->addend, (host & PAGE_MASK) - (uintptr_t)(va & PAGE_MASK),
                     __ATOMIC_RELAXED);
    __atomic_store_n(&e->tag, tlb_tag(h, va), __ATOMIC_RELAXED);
    /* A hart that made the page a code page meanwhile may have scanned this
       TLB before the entry was in it: look again (the fence pairs with the
       one in the marking hart's compare-and-swap). */
    if (acc == ACC_STORE && h->m->code_pages) {
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        if (jit_store_blocked(h->m, host))
            __atomic_store_n(&e->tag, TLB_INVALID, __ATOMIC_RELAXED);
    }
}

void *mmu_host_ptr(struct dv_hart *h, uint64_t va, enum access acc, const struct insn *in)
{
    uintptr_t host;
    uint64_t gpa;
    uint64_t ea = acc == ACC_FETCH ? va : pointer_mask(h, va);
    h->pmu.events[acc == ACC_FETCH   ? DV_HPM_ITLB_MISS
                  : acc == ACC_STORE ? DV_HPM_DTLB_STORE_MISS
                                     : DV_HPM_DTLB_LOAD_MISS][h->priv]++;
    switch (translate(h, ea, acc, in, 0, &host, &gpa)) {
    case XLATE_HOST:
        tlb_fill(h, acc, va, host);
        if (acc == ACC_STORE && h->m->code_pages)
            jit_code_stored(h, host); /* an AMO is about to write there */
        if (acc == ACC_STORE && unlikely(h->verify))
            verify_log_store(h, host & ~(uintptr_t)7, 8);
        return (void *)host;
    case XLATE_PLIC: raise_trap(h, access_fault[acc], ea); return NULL; /* no AMOs there */
    case XLATE_FAULT: break;
    }
    return NULL;
}

static bool plic_access(struct dv_hart *h, uint64_t va, uint64_t gpa, unsigned size,
                        uint64_t *value, bool store)
{
    uint32_t v32 = (uint32_t)*value;
    bool ok = true;
    if (likely(!h->verify) || !verify_plic(h, store, &v32)) {
        if (h->m->aia)
            ok = aia_mmio(h->m->aia, gpa, size, &v32, store);
        else
            ok = store ? vplic_write(h->m->plic, gpa - h->m->plic_base, size, v32)
                       : vplic_read(h->m->plic, gpa - h->m->plic_base, size, &v32);
        if (unlikely(h->verify) && !store)
            verify_plic_result(h, v32);
    }
    if (!ok) {
        raise_trap(h, store ? EXC_STORE_ACCESS : EXC_LOAD_ACCESS, va);
        return false;
    }
    if (!store)
        *value = v32;
    return true;
}

/*
 * A misaligned access that crosses into the next page: two parts, one per
 * page, each translated with its own checks, both before either is
 * performed, so a fault on the second leaves memory untouched. A trap
 * reports the part that faulted: its virtual address in stval, its
 * guest-physical one in htval, its offset in htinst's Addr. Offset. Only
 * RAM on both sides makes the access happen: a part in the vPLIC window is
 * an access fault (a misaligned access to an I/O region, as the spec
 * permits); a part in a G-stage hole exits, and the hypervisor maps RAM
 * there or refuses it as a device access that is not naturally aligned.
 */
static bool split_access(struct dv_hart *h, uint64_t va, unsigned size, uint64_t *value, bool store,
                         const struct insn *in)
{
    enum access acc = store ? ACC_STORE : ACC_LOAD;
    unsigned first = PAGE_SIZE - (unsigned)(va & (PAGE_SIZE - 1)); /* 1 .. size-1 bytes */
    uint64_t part_va[2] = {va, va + first};
    uintptr_t host[2];
    for (unsigned p = 0; p < 2; p++) {
        uint64_t gpa;
        uint64_t ea = pointer_mask(h, part_va[p]);
        switch (translate(h, ea, acc, in, p ? first : 0, &host[p], &gpa)) {
        case XLATE_HOST: break;
        case XLATE_PLIC: raise_trap(h, access_fault[acc], ea); return false;
        case XLATE_FAULT: return false;
        }
        tlb_fill(h, acc, part_va[p], host[p]);
    }
    if (!store) {
        uint64_t v = 0;
        for (unsigned i = 0; i < size; i++)
            v |= host_load(i < first ? host[0] + i : host[1] + (i - first), 1) << (8 * i);
        *value = v;
        return true;
    }
    if (unlikely(h->verify)) {
        verify_log_store(h, host[0], first);
        verify_log_store(h, host[1], size - first);
    }
    for (unsigned i = 0; i < size; i++)
        host_store(i < first ? host[0] + i : host[1] + (i - first), 1, *value >> (8 * i));
    if (h->m->code_pages) {
        jit_code_stored(h, host[0]);
        jit_code_stored(h, host[1]);
    }
    return true;
}

bool mmu_load_slow(struct dv_hart *h, uint64_t va, unsigned size, uint64_t *value,
                   const struct insn *in)
{
    if ((va & (PAGE_SIZE - 1)) > PAGE_SIZE - size)
        return split_access(h, va, size, value, false, in);
    uintptr_t host;
    uint64_t gpa;
    uint64_t ea = pointer_mask(h, va);
    h->pmu.events[DV_HPM_DTLB_LOAD_MISS][h->priv]++;
    switch (translate(h, ea, ACC_LOAD, in, 0, &host, &gpa)) {
    case XLATE_HOST:
        tlb_fill(h, ACC_LOAD, va, host);
        *value = host_load(host, size);
        return true;
    case XLATE_PLIC: return plic_access(h, ea, gpa, size, value, false);
    case XLATE_FAULT: break;
    }
    return false;
}

bool mmu_store_slow(struct dv_hart *h, uint64_t va, unsigned size, uint64_t value,
                    const struct insn *in)
{
    if ((va & (PAGE_SIZE - 1)) > PAGE_SIZE - size)
        return split_access(h, va, size, &value, true, in);
    uintptr_t host;
    uint64_t gpa;
    uint64_t ea = pointer_mask(h, va);
    h->pmu.events[DV_HPM_DTLB_STORE_MISS][h->priv]++;
    switch (translate(h, ea, ACC_STORE, in, 0, &host, &gpa)) {
    case XLATE_HOST:
        tlb_fill(h, ACC_STORE, va, host);
        if (unlikely(h->verify))
            verify_log_store(h, host, size);
        host_store(host, size, value);
        if (h->m->code_pages)
            jit_code_stored(h, host);
        return true;
    case XLATE_PLIC: return plic_access(h, ea, gpa, size, &value, true);
    case XLATE_FAULT: break;
    }
    return false;
}

int dv_guest_read(struct dv_hart *h, uint64_t gva, void *buf, size_t len)
{
    struct trap saved = h->trap;
    unsigned saved_priv = h->priv;
    h->priv = (h->hustatus & DV_HUSTATUS_SPVP) ? PRV_VS : PRV_VU;
    int rc = 0;
    uint8_t *out = buf;
    while (len > 0) {
        size_t chunk = PAGE_SIZE - (gva & (PAGE_SIZE - 1));
        if (chunk > len)
            chunk = len;
        uintptr_t host;
        uint64_t gpa;
        if (translate(h, gva, ACC_LOAD, NULL, 0, &host, &gpa) != XLATE_HOST) {
            rc = -1;
            break;
        }
        memcpy(out, (const void *)host, chunk);
        out += chunk;
        gva += chunk;
        len -= chunk;
    }
    h->priv = saved_priv;
    h->trap = saved;
    return rc;
}

/*
 * The debugger's walk: the guest's tables as they are, with no A/D update,
 * no permission check and no TLB fill (the G-stage leaf cache is the
 * hypervisor's own, invisible to the guest).
 */
int dv_debug_translate(struct dv_hart *h, uint64_t gva, uint64_t *gpa)
{
    uint64_t mode = h->vsatp >> 60;
    if (mode == 0) {
        *gpa = gva;
        return 0;
    }
    unsigned levels = mode == 8 ? 3 : mode == 9 ? 4 : 5;
    unsigned va_bits = PAGE_SHIFT + 9 * levels;
    if ((int64_t)(gva << (64 - va_bits)) >> (64 - va_bits) != (int64_t)gva)
        return -1;
    struct trap saved = h->trap;
    int rc = -1;
    uint64_t table = (h->vsatp & ((1ull << 44) - 1)) << PAGE_SHIFT;
    for (int level = (int)levels - 1; level >= 0; level--) {
        unsigned shift = PAGE_SHIFT + 9 * (unsigned)level;
        uintptr_t pte_host;
        if (!gstage(h, table + ((gva >> shift) & 0x1ff) * 8, ACC_LOAD, ACC_LOAD, gva, 0, &pte_host))
            break;
        uint64_t pte = __atomic_load_n((const uint64_t *)pte_host, __ATOMIC_ACQUIRE);
        bool leaf = pte & (PTE_R | PTE_W | PTE_X);
        if (!(pte & PTE_V) || ((pte & PTE_W) && !(pte & PTE_R)) ||
            !pte_ext_ok(pte, leaf, level, h->huenvcfg & DV_ENVCFG_PBMTE))
            break;
        if (!leaf) {
            table = PTE_PPN(pte) << PAGE_SHIFT;
            continue;
        }
        uint64_t super_mask = (1ull << (9 * (unsigned)level)) - 1;
        if (PTE_PPN(pte) & super_mask)
            break;
        *gpa = ((leaf_ppn(pte, gva) & ~super_mask) << PAGE_SHIFT) | (gva & ((1ull << shift) - 1));
        rc = 0;
        break;
    }
    h->trap = saved;
    return rc;
}

bool mmu_fetch_slow(struct dv_hart *h, uint64_t pc, uint32_t *raw)
{
    if (pc & 1) {
        raise_trap(h, EXC_FETCH_MISALIGNED, pc);
        return false;
    }
    /* The fetch TLB first: the fetch shortcut holds only the current page. */
    const struct tlb_entry *e = tlb_slot(h, ACC_FETCH, pc);
    uint8_t *p = e->tag == tlb_tag(h, pc) ? (uint8_t *)(uintptr_t)(pc + e->addend)
                                          : mmu_host_ptr(h, pc, ACC_FETCH, NULL);
    if (!p)
        return false;
    h->fetch_vpage = pc & PAGE_MASK;
    h->fetch_addend = (uintptr_t)p - pc;
    uint16_t lo = (uint16_t)host_load((uintptr_t)p, 2);
    if ((lo & 3) != 3) {
        *raw = lo;
        return true;
    }
    uint16_t hi;
    if ((pc & (PAGE_SIZE - 1)) <= PAGE_SIZE - 4) {
        hi = (uint16_t)host_load((uintptr_t)p + 2, 2);
    } else {
        uint8_t *q = mmu_host_ptr(h, pc + 2, ACC_FETCH, NULL);
        if (!q) {
            h->fetch_vpage = TLB_INVALID;
            return false;
        }
        hi = (uint16_t)host_load((uintptr_t)q, 2);
        h->fetch_vpage = TLB_INVALID;
    }
    *raw = (uint32_t)hi << 16 | lo;
    return true;
}
