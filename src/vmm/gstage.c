/*
 * G-stage page tables (Sv39x4 / Sv48x4). See gstage.h for the format and the
 * rules a concurrent walker relies on.
 *
 * Levels are numbered as in the privileged spec: level 0 holds 4 KiB leaves,
 * level 1 2 MiB leaves, level 2 1 GiB leaves; the root is level 2 (Sv39x4)
 * or 3 (Sv48x4) and has 2048 entries instead of 512.
 */
#include "vmm/gstage.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hart/dvext.h"

#define PTE_V         (1ull << 0)
#define PTE_R         (1ull << 1)
#define PTE_W         (1ull << 2)
#define PTE_X         (1ull << 3)
#define PTE_U         (1ull << 4)
#define PTE_A         (1ull << 6)
#define PTE_D         (1ull << 7)
#define PTE_RWX       (PTE_R | PTE_W | PTE_X)
#define PTE_PPN_SHIFT 10
#define PTE_PPN_MASK  (((1ull << 44) - 1) << PTE_PPN_SHIFT)

#define PAGE_SHIFT     12
#define PAGE_SIZE      (1ull << PAGE_SHIFT)
#define PAGE_MASK      (PAGE_SIZE - 1)
#define TABLE_ENTRIES  512u
#define TABLE_BYTES    (TABLE_ENTRIES * sizeof(uint64_t))
#define ROOT_ENTRIES   2048u
#define ROOT_BYTES     (ROOT_ENTRIES * sizeof(uint64_t))
/* A 44-bit PPN names host addresses below 2^56. */
#define HOST_LIMIT     (1ull << 56)
/* 1 GiB: the largest leaf we make, even where Sv48x4 would allow 512 GiB. */
#define MAX_LEAF_LEVEL 2u

struct gstage {
    unsigned mode;
    unsigned top;       /* level of the root */
    uint64_t gpa_limit; /* first GPA beyond the mode's range */
    uint64_t *root;
    pthread_mutex_t lock; /* serialises writers; walkers never take it */
    /* Every 4 KiB table ever allocated: freed only by gstage_destroy(), since
       a hart may still be walking a table after it is unlinked. */
    uint64_t **tables;
    size_t ntables, cap, limit;
};

static unsigned level_shift(unsigned lvl)
{
    return PAGE_SHIFT + 9 * lvl;
}

static uint64_t level_size(unsigned lvl)
{
    return 1ull << level_shift(lvl);
}

static size_t pte_index(const struct gstage *g, unsigned lvl, uint64_t gpa)
{
    uint64_t mask = lvl == g->top ? ROOT_ENTRIES - 1 : TABLE_ENTRIES - 1;
    return (size_t)((gpa >> level_shift(lvl)) & mask);
}

/* Acquire pairs with the release store that published the entry, so a walker
   sees a new table's contents (or the guest data a new leaf exposes). */
static uint64_t pte_load(const uint64_t *pte)
{
    return __atomic_load_n(pte, __ATOMIC_ACQUIRE);
}

static void pte_store(uint64_t *pte, uint64_t val)
{
    __atomic_store_n(pte, val, __ATOMIC_RELEASE);
}

static bool pte_is_leaf(uint64_t e)
{
    return (e & PTE_RWX) != 0;
}

static uintptr_t pte_host(uint64_t e)
{
    return (uintptr_t)(((e & PTE_PPN_MASK) >> PTE_PPN_SHIFT) << PAGE_SHIFT);
}

static uint64_t make_table_pte(const uint64_t *table)
{
    return ((uint64_t)(uintptr_t)table >> PAGE_SHIFT) << PTE_PPN_SHIFT | PTE_V;
}

static uint64_t make_leaf(uint64_t host, unsigned perms)
{
    uint64_t e = (host >> PAGE_SHIFT) << PTE_PPN_SHIFT | PTE_V | PTE_U | PTE_A | perms;
    /* A and D preset: the hart need not update them (and guests can't see them). */
    if (perms & PTE_W)
        e |= PTE_D;
    return e;
}

static bool perms_ok(unsigned perms)
{
    /* 0 would read as a pointer to a table; W without R is reserved. */
    if (perms == 0 || (perms & ~(unsigned)PTE_RWX))
        return false;
    return !((perms & PTE_W) && !(perms & PTE_R));
}

static bool range_ok(const struct gstage *g, uint64_t gpa, uint64_t len)
{
    if (len == 0 || ((gpa | len) & PAGE_MASK))
        return false;
    return gpa < g->gpa_limit && len <= g->gpa_limit - gpa;
}

/* A zeroed 4 KiB table, recorded for gstage_destroy(); NULL when out of
   memory or over the limit. Caller holds the lock. */
static uint64_t *alloc_table(struct gstage *g)
{
    if (g->limit && g->ntables >= g->limit)
        return NULL;
    if (g->ntables == g->cap) {
        size_t cap = g->cap ? g->cap * 2 : 64;
        uint64_t **tables = realloc(g->tables, cap * sizeof(*tables));
        if (!tables)
            return NULL;
        g->tables = tables;
        g->cap = cap;
    }
    uint64_t *t = aligned_alloc(TABLE_BYTES, TABLE_BYTES);
    if (!t)
        return NULL;
    if ((uintptr_t)t >= HOST_LIMIT) {
        free(t);
        return NULL;
    }
    memset(t, 0, TABLE_BYTES);
    g->tables[g->ntables] = t;
    __atomic_store_n(&g->ntables, g->ntables + 1, __ATOMIC_RELAXED);
    return t;
}

/*
 * A table of next-level leaves that maps exactly what the superpage leaf e
 * at level lvl maps, with the same bits. Not yet linked: the caller links it
 * with one store, so a walker sees the same translation before and after.
 */
static uint64_t *split_leaf(struct gstage *g, uint64_t e, unsigned lvl)
{
    uint64_t *t = alloc_table(g);
    if (!t)
        return NULL;
    uint64_t step = (level_size(lvl - 1) >> PAGE_SHIFT) << PTE_PPN_SHIFT;
    for (unsigned i = 0; i < TABLE_ENTRIES; i++)
        t[i] = e + i * step; /* cannot carry out of the PPN: host range checked at map */
    return t;
}

struct gstage *gstage_create(unsigned mode)
{
    unsigned top;
    uint64_t gpa_bits;
    if (mode == DV_HUGATP_MODE_SV39X4) {
        top = 2;
        gpa_bits = 41;
    } else if (mode == DV_HUGATP_MODE_SV48X4) {
        top = 3;
        gpa_bits = 50;
    } else {
        return NULL;
    }
    struct gstage *g = calloc(1, sizeof(*g));
    if (!g)
        return NULL;
    /* The x4 root is 16 KiB and hugatp's PPN must name it on a 16 KiB boundary. */
    g->root = aligned_alloc(ROOT_BYTES, ROOT_BYTES);
    if (!g->root || (uintptr_t)g->root >= HOST_LIMIT || pthread_mutex_init(&g->lock, NULL)) {
        free(g->root);
        free(g);
        return NULL;
    }
    memset(g->root, 0, ROOT_BYTES);
    g->mode = mode;
    g->top = top;
    g->gpa_limit = 1ull << gpa_bits;
    return g;
}

void gstage_destroy(struct gstage *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < g->ntables; i++)
        free(g->tables[i]);
    free(g->tables);
    free(g->root);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

uint64_t gstage_hugatp(const struct gstage *g, unsigned vmid)
{
    /* Masking an oversized VMID would silently alias another VM's. */
    if (!g || vmid > GSTAGE_VMID_MAX)
        return 0;
    return (uint64_t)g->mode << DV_HUGATP_MODE_SHIFT | (uint64_t)vmid << DV_HUGATP_VMID_SHIFT |
           ((uint64_t)(uintptr_t)g->root >> PAGE_SHIFT);
}

/*
 * Map one leaf at gpa, the largest that fits in left bytes with gpa and host
 * both aligned for it. Returns the bytes now correctly mapped from gpa on, or
 * 0 when out of memory. Caller holds the lock.
 */
static uint64_t map_step(struct gstage *g, uint64_t gpa, uint64_t host, uint64_t left,
                         unsigned perms)
{
    unsigned want = MAX_LEAF_LEVEL;
    while (want > 0 && (left < level_size(want) || ((gpa | host) & (level_size(want) - 1))))
        want--;

    uint64_t *table = g->root;
    for (unsigned lvl = g->top; lvl > want; lvl--) {
        uint64_t *pte = &table[pte_index(g, lvl, gpa)];
        uint64_t e = pte_load(pte);
        uint64_t *next;
        if (!(e & PTE_V)) {
            next = alloc_table(g);
        } else if (pte_is_leaf(e)) {
            uint64_t size = level_size(lvl), off = gpa & (size - 1);
            /* A superpage already mapping this the same way (two vCPUs faulting
               on the same page): keep it rather than split it. */
            if (host >= off && e == make_leaf(host - off, perms))
                return size - off < left ? size - off : left;
            next = split_leaf(g, e, lvl);
        } else {
            table = (uint64_t *)pte_host(e);
            continue;
        }
        if (!next)
            return 0;
        pte_store(pte, make_table_pte(next));
        table = next;
    }
    /* Whatever was here (a leaf or a smaller-page subtree) is replaced in one
       store; an unlinked subtree stays allocated for walkers still in it. */
    pte_store(&table[pte_index(g, want, gpa)], make_leaf(host, perms));
    return level_size(want);
}

int gstage_map(struct gstage *g, uint64_t gpa, void *host, uint64_t len, unsigned perms)
{
    uint64_t h = (uint64_t)(uintptr_t)host;
    if (!g || !range_ok(g, gpa, len) || (h & PAGE_MASK) || !perms_ok(perms))
        return -1;
    if (len > HOST_LIMIT || h > HOST_LIMIT - len)
        return -1;

    int rc = 0;
    uint64_t end = gpa + len;
    pthread_mutex_lock(&g->lock);
    while (gpa < end) {
        uint64_t done = map_step(g, gpa, h, end - gpa, perms);
        if (!done) {
            rc = -1;
            break;
        }
        gpa += done;
        h += done;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

/*
 * Unmap from gpa (inside [gpa, end)) as much as one entry covers, splitting a
 * superpage that reaches outside the range. Returns the next GPA to look at,
 * or 0 when out of memory. Caller holds the lock.
 */
static uint64_t unmap_step(struct gstage *g, uint64_t gpa, uint64_t end)
{
    uint64_t *table = g->root;
    for (unsigned lvl = g->top;; lvl--) {
        uint64_t *pte = &table[pte_index(g, lvl, gpa)];
        uint64_t e = pte_load(pte);
        uint64_t size = level_size(lvl), base = gpa & ~(size - 1);
        if (!(e & PTE_V))
            return base + size;
        if (!pte_is_leaf(e)) {
            /* Descend rather than unlink, so the tables are reused by later maps. */
            table = (uint64_t *)pte_host(e);
            continue;
        }
        /* Level 0 always ends here: gpa and end are page aligned. */
        if (base == gpa && end - gpa >= size) {
            pte_store(pte, 0);
            return base + size;
        }
        uint64_t *next = split_leaf(g, e, lvl);
        if (!next)
            return 0;
        pte_store(pte, make_table_pte(next));
        table = next;
    }
}

int gstage_unmap(struct gstage *g, uint64_t gpa, uint64_t len)
{
    if (!g || !range_ok(g, gpa, len))
        return -1;
    int rc = 0;
    uint64_t end = gpa + len;
    pthread_mutex_lock(&g->lock);
    while (gpa < end) {
        uint64_t next = unmap_step(g, gpa, end);
        if (!next) {
            rc = -1;
            break;
        }
        gpa = next;
    }
    pthread_mutex_unlock(&g->lock);
    return rc;
}

int gstage_lookup(struct gstage *g, uint64_t gpa, void **host, unsigned *perms)
{
    if (!g || gpa >= g->gpa_limit)
        return -1;
    const uint64_t *table = g->root;
    for (unsigned lvl = g->top;; lvl--) {
        uint64_t e = pte_load(&table[pte_index(g, lvl, gpa)]);
        if (!(e & PTE_V))
            return -1;
        if (pte_is_leaf(e)) {
            if (host)
                *host = (void *)(pte_host(e) + (uintptr_t)(gpa & (level_size(lvl) - 1)));
            if (perms)
                *perms = (unsigned)(e & PTE_RWX);
            return 0;
        }
        if (lvl == 0)
            return -1; /* never written by us; do not walk off the bottom */
        table = (const uint64_t *)pte_host(e);
    }
}

size_t gstage_table_count(const struct gstage *g)
{
    return g ? __atomic_load_n(&g->ntables, __ATOMIC_RELAXED) : 0;
}

void gstage_set_table_limit(struct gstage *g, size_t max_tables)
{
    if (!g)
        return;
    pthread_mutex_lock(&g->lock);
    g->limit = max_tables;
    pthread_mutex_unlock(&g->lock);
}
