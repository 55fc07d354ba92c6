/*
 * G-stage page tables. Besides gstage_lookup() round trips, every check goes
 * through ref_walk(): an independent walker that follows the privileged
 * spec's two-stage translation algorithm over the raw PTEs reachable from
 * hugatp, the way the hart will. Host addresses come from a PROT_NONE
 * reservation that is never touched: only the addresses matter.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <sys/mman.h>

#include "hart/dvext.h"
#include "vmm/gstage.h"

#define KIB  (1ull << 10)
#define MIB  (1ull << 20)
#define GIB  (1ull << 30)
#define PAGE (4 * KIB)

/* PTE bits, spelled out here rather than borrowed from the code under test. */
#define V     (1ull << 0)
#define R     (1ull << 1)
#define W     (1ull << 2)
#define X     (1ull << 3)
#define U     (1ull << 4)
#define G     (1ull << 5)
#define A     (1ull << 6)
#define D     (1ull << 7)
#define PPN44 ((1ull << 44) - 1)

#define HOST_SPAN (4 * GIB)
static void *host_raw;
static uint8_t *host_base; /* 1 GiB aligned, HOST_SPAN bytes */

static uint64_t H(uint64_t off)
{
    return (uint64_t)(uintptr_t)(host_base + off);
}

static void *HP(uint64_t off)
{
    return host_base + off;
}

static int setup_host(void **state)
{
    (void)state;
    /* Over-reserve by 1 GiB so a 1 GiB-aligned window fits. */
    host_raw =
        mmap(NULL, HOST_SPAN + GIB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (host_raw == MAP_FAILED)
        return -1;
    host_base = (uint8_t *)(((uintptr_t)host_raw + GIB - 1) & ~(uintptr_t)(GIB - 1));
    return 0;
}

static int teardown_host(void **state)
{
    (void)state;
    return munmap(host_raw, HOST_SPAN + GIB);
}

/* --- the reference walker ------------------------------------------------------------ */

struct walk {
    int level;     /* level of the leaf: 0 = 4 KiB, 1 = 2 MiB, 2 = 1 GiB */
    uint64_t pte;  /* the leaf */
    uint64_t host; /* where gpa itself lands */
};

/*
 * Spec algorithm, G-stage flavour: root = hgatp.PPN * 4096; LEVELS = 3 or 4;
 * the root index is 2 bits wider (x4). Any failure is a guest-page fault
 * (false). PTE PPNs are host virtual addresses >> 12 (dvext.md section 5).
 */
static bool ref_walk(uint64_t hugatp, uint64_t gpa, struct walk *w)
{
    unsigned mode = (unsigned)(hugatp >> 60);
    int levels = mode == 8 ? 3 : mode == 9 ? 4 : 0;
    if (!levels)
        return false;
    unsigned gpa_bits = 12 + 9 * (unsigned)levels + 2;
    if (gpa >> gpa_bits)
        return false;
    uint64_t a = (hugatp & PPN44) << 12;
    for (int i = levels - 1; i >= 0; i--) {
        unsigned bits = i == levels - 1 ? 11 : 9;
        uint64_t vpn = (gpa >> (12 + 9 * i)) & ((1ull << bits) - 1);
        uint64_t pte = __atomic_load_n((uint64_t *)(uintptr_t)(a + vpn * 8), __ATOMIC_ACQUIRE);
        if (!(pte & V) || (!(pte & R) && (pte & W)))
            return false;
        if (pte >> 54) /* reserved, PBMT and N: we use none */
            return false;
        uint64_t ppn = (pte >> 10) & PPN44;
        if (pte & (R | X)) {
            /* G-stage accesses count as U-mode; no hardware A/D update here. */
            if (!(pte & U) || !(pte & A) || ((pte & W) && !(pte & D)))
                return false;
            if (i > 0 && (ppn & ((1ull << (9 * i)) - 1))) /* misaligned superpage */
                return false;
            w->level = i;
            w->pte = pte;
            w->host = (ppn << 12) + (gpa & ((1ull << (12 + 9 * i)) - 1));
            return true;
        }
        if (pte & (U | A | D)) /* reserved in non-leaf PTEs */
            return false;
        if (i == 0)
            return false;
        a = ppn << 12;
    }
    return false;
}

static uint64_t leaf_bits(unsigned perms)
{
    return V | U | A | perms | ((perms & W) ? D : 0);
}

static struct gstage *new_gs(unsigned mode, uint64_t *atp)
{
    struct gstage *g = gstage_create(mode);
    assert_non_null(g);
    *atp = gstage_hugatp(g, 1);
    assert_int_not_equal(*atp, 0);
    return g;
}

/* Every page of [gpa, gpa+len) maps to host+offset with exactly the leaf bits
   for perms, by the reference walk and by gstage_lookup; level < 0: any level. */
static void check_mapped(struct gstage *g, uint64_t atp, uint64_t gpa, uint64_t host, uint64_t len,
                         unsigned perms, int level)
{
    for (uint64_t off = 0; off < len; off += PAGE) {
        struct walk w;
        assert_true(ref_walk(atp, gpa + off, &w));
        assert_int_equal(w.host, host + off);
        assert_int_equal(w.pte & 0x3ff, leaf_bits(perms));
        if (level >= 0)
            assert_int_equal(w.level, level);
        void *h = NULL;
        unsigned p = 0;
        assert_int_equal(gstage_lookup(g, gpa + off, &h, &p), 0);
        assert_int_equal((uintptr_t)h, host + off);
        assert_int_equal(p, perms);
    }
}

static void check_unmapped(struct gstage *g, uint64_t atp, uint64_t gpa, uint64_t len)
{
    for (uint64_t off = 0; off < len; off += PAGE) {
        struct walk w;
        assert_false(ref_walk(atp, gpa + off, &w));
        assert_int_equal(gstage_lookup(g, gpa + off, NULL, NULL), -1);
    }
}

static int level_at(uint64_t atp, uint64_t gpa)
{
    struct walk w;
    assert_true(ref_walk(atp, gpa, &w));
    return w.level;
}

static const unsigned modes[] = {DV_HUGATP_MODE_SV39X4, DV_HUGATP_MODE_SV48X4};

/* --- tests ----------------------------------------------------------------------------- */

static void test_create_and_hugatp(void **state)
{
    (void)state;
    static const unsigned bad[] = {0, 1, 7, 10, 15, 0xffffffffu};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_null(gstage_create(bad[i]));
    assert_int_equal(gstage_hugatp(NULL, 0), 0);
    gstage_destroy(NULL);

    for (size_t m = 0; m < 2; m++) {
        struct gstage *g = gstage_create(modes[m]);
        assert_non_null(g);
        uint64_t atp = gstage_hugatp(g, 0x1234);
        assert_int_equal(atp >> 60, modes[m]);
        assert_int_equal((atp >> 44) & 0x3fff, 0x1234);
        /* 16 KiB-aligned root: the PPN's two low bits are zero. */
        assert_int_equal(atp & 3, 0);
        assert_int_not_equal(atp & PPN44, 0);
        const uint64_t *root = (const uint64_t *)(uintptr_t)((atp & PPN44) << 12);
        for (unsigned i = 0; i < 2048; i++)
            assert_int_equal(root[i], 0);
        /* The root is the same for every VMID; VMIDs beyond 14 bits are refused. */
        assert_int_equal(gstage_hugatp(g, 0) & PPN44, atp & PPN44);
        assert_int_equal(gstage_hugatp(g, GSTAGE_VMID_MAX) >> 44 & 0x3fff, 0x3fff);
        assert_int_equal(gstage_hugatp(g, GSTAGE_VMID_MAX + 1), 0);
        assert_int_equal(gstage_hugatp(g, 0xffffffffu), 0);
        assert_int_equal(gstage_table_count(g), 0);
        assert_int_equal(gstage_lookup(g, 0x80000000, NULL, NULL), -1);
        struct walk w;
        assert_false(ref_walk(atp, 0x80000000, &w));
        gstage_destroy(g);
    }
}

static void test_leaf_4k(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        /* Host only 4 KiB aligned although gpa and len would allow a 2 MiB leaf. */
        assert_int_equal(gstage_map(g, 0x80000000, HP(PAGE), 2 * MIB, R | W), 0);
        check_mapped(g, atp, 0x80000000, H(PAGE), 2 * MIB, R | W, 0);
        check_unmapped(g, atp, 0x80000000 - PAGE, PAGE);
        check_unmapped(g, atp, 0x80000000 + 2 * MIB, PAGE);
        /* Sv39x4: a level-1 and a level-0 table; Sv48x4 one more level. */
        assert_int_equal(gstage_table_count(g), modes[m] == DV_HUGATP_MODE_SV39X4 ? 2 : 3);

        void *h;
        unsigned p;
        assert_int_equal(gstage_lookup(g, 0x80000000 + 5 * PAGE + 0x123, &h, &p), 0);
        assert_ptr_equal(h, HP(6 * PAGE + 0x123));
        assert_int_equal(p, R | W);

        /* gpa aligned only to 4 KiB, host to 2 MiB: still 4 KiB leaves. */
        assert_int_equal(gstage_map(g, 0x90001000, HP(2 * MIB), 2 * MIB, X), 0);
        check_mapped(g, atp, 0x90001000, H(2 * MIB), 2 * MIB, X, 0);
        gstage_destroy(g);
    }
}

static void test_leaf_2m(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        assert_int_equal(gstage_map(g, 0x80200000, HP(2 * MIB), 4 * MIB, R | X), 0);
        check_mapped(g, atp, 0x80200000, H(2 * MIB), 4 * MIB, R | X, 1);
        /* No level-0 table was needed. */
        assert_int_equal(gstage_table_count(g), modes[m] == DV_HUGATP_MODE_SV39X4 ? 1 : 2);

        /* A range that is not 2 MiB long at an aligned start: 2 MiB then 4 KiB leaves. */
        assert_int_equal(gstage_map(g, 0xa0000000, HP(64 * MIB), 2 * MIB + 3 * PAGE, R), 0);
        check_mapped(g, atp, 0xa0000000, H(64 * MIB), 2 * MIB, R, 1);
        check_mapped(g, atp, 0xa0200000, H(66 * MIB), 3 * PAGE, R, 0);
        check_unmapped(g, atp, 0xa0200000 + 3 * PAGE, PAGE);
        gstage_destroy(g);
    }
}

static void test_leaf_1g(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        assert_int_equal(gstage_map(g, 1 * GIB, HP(0), GIB, R | W | X), 0);
        check_mapped(g, atp, 1 * GIB, H(0), GIB, R | W | X, 2);
        void *h;
        assert_int_equal(gstage_lookup(g, GIB + 0x2345678, &h, NULL), 0);
        assert_ptr_equal(h, HP(0x2345678));
        check_unmapped(g, atp, 2 * GIB, PAGE);

        /* Host 2 MiB aligned only: 512 leaves of 2 MiB instead. */
        assert_int_equal(gstage_map(g, 4 * GIB, HP(2 * MIB), GIB, R), 0);
        check_mapped(g, atp, 4 * GIB, H(2 * MIB), GIB, R, 1);

        /* 4K, 2M, 1G, 2M, 4K: the largest leaf at each step. gpa and host agree
           modulo 1 GiB, so every size is usable where the range allows it. */
        uint64_t gpa = 8 * GIB - 2 * MIB - PAGE, host = GIB - 2 * MIB - PAGE;
        uint64_t len = PAGE + 2 * MIB + GIB + 2 * MIB + PAGE;
        assert_int_equal(gstage_map(g, gpa, HP(host), len, R | W), 0);
        check_mapped(g, atp, gpa, H(host), len, R | W, -1);
        assert_int_equal(level_at(atp, gpa), 0);
        assert_int_equal(level_at(atp, gpa + PAGE), 1);
        assert_int_equal(level_at(atp, 8 * GIB), 2);
        assert_int_equal(level_at(atp, 8 * GIB + GIB - PAGE), 2);
        assert_int_equal(level_at(atp, 9 * GIB), 1);
        assert_int_equal(level_at(atp, 9 * GIB + 2 * MIB), 0);
        check_unmapped(g, atp, gpa - PAGE, PAGE);
        check_unmapped(g, atp, gpa + len, PAGE);
        gstage_destroy(g);
    }
}

static void test_leaf_bits_exact(void **state)
{
    (void)state;
    static const unsigned perms[] = {R, R | W, X, R | X, R | W | X};
    static const uint64_t sizes[] = {PAGE, 2 * MIB, GIB};
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        for (size_t p = 0; p < 5; p++) {
            for (int lvl = 0; lvl < 3; lvl++) {
                uint64_t gpa = (uint64_t)(p * 3 + (size_t)lvl + 1) * GIB;
                assert_int_equal(gstage_map(g, gpa, HP(GIB), sizes[lvl], perms[p]), 0);
                struct walk w;
                assert_true(ref_walk(atp, gpa, &w));
                assert_int_equal(w.level, lvl);
                /* Exactly V U A R/W/X (D with W); no G, nothing above the PPN. */
                assert_int_equal(w.pte & 0x3ff, leaf_bits(perms[p]));
                assert_int_equal(w.pte & G, 0);
                assert_int_equal(w.pte >> 54, 0);
                assert_int_equal((w.pte >> 10) & PPN44, H(GIB) >> 12);
                unsigned got;
                assert_int_equal(gstage_lookup(g, gpa, NULL, &got), 0);
                assert_int_equal(got, perms[p]);
            }
        }
        gstage_destroy(g);
    }
}

static void test_remap_replaces(void **state)
{
    (void)state;
    uint64_t atp;
    struct gstage *g = new_gs(DV_HUGATP_MODE_SV39X4, &atp);

    /* 4 KiB leaf: new host, new perms, D gone with W. */
    assert_int_equal(gstage_map(g, 0x1000, HP(0), PAGE, R | W), 0);
    assert_int_equal(gstage_map(g, 0x1000, HP(8 * PAGE), PAGE, R), 0);
    check_mapped(g, atp, 0x1000, H(8 * PAGE), PAGE, R, 0);

    /* A range of 4 KiB leaves replaced by one 2 MiB leaf. */
    assert_int_equal(gstage_map(g, 0x40000000, HP(PAGE), 2 * MIB, R), 0);
    check_mapped(g, atp, 0x40000000, H(PAGE), 2 * MIB, R, 0);
    size_t tables = gstage_table_count(g);
    assert_int_equal(gstage_map(g, 0x40000000, HP(4 * MIB), 2 * MIB, R | W), 0);
    check_mapped(g, atp, 0x40000000, H(4 * MIB), 2 * MIB, R | W, 1);
    /* The unlinked level-0 table is kept (a hart may be in it), not counted twice. */
    assert_int_equal(gstage_table_count(g), tables);

    /* One page inside that superpage remapped: split, the other 511 intact. */
    assert_int_equal(gstage_map(g, 0x40000000 + 7 * PAGE, HP(GIB), PAGE, X), 0);
    check_mapped(g, atp, 0x40000000, H(4 * MIB), 7 * PAGE, R | W, 0);
    check_mapped(g, atp, 0x40000000 + 7 * PAGE, H(GIB), PAGE, X, 0);
    check_mapped(g, atp, 0x40000000 + 8 * PAGE, H(4 * MIB + 8 * PAGE), 2 * MIB - 8 * PAGE, R | W,
                 0);
    assert_int_equal(gstage_table_count(g), tables + 1);

    /* Mapping what a superpage already maps keeps the superpage. */
    assert_int_equal(gstage_map(g, 0x40200000, HP(6 * MIB), 2 * MIB, R | W), 0);
    tables = gstage_table_count(g);
    assert_int_equal(gstage_map(g, 0x40200000 + 3 * PAGE, HP(6 * MIB + 3 * PAGE), PAGE, R | W), 0);
    check_mapped(g, atp, 0x40200000, H(6 * MIB), 2 * MIB, R | W, 1);
    assert_int_equal(gstage_table_count(g), tables);

    /* A 1 GiB leaf over a subtree of mixed leaves. */
    assert_int_equal(gstage_map(g, GIB, HP(0), GIB, R | W | X), 0);
    check_mapped(g, atp, GIB, H(0), GIB, R | W | X, 2);
    check_mapped(g, atp, 0x1000, H(8 * PAGE), PAGE, R, 0);
    gstage_destroy(g);
}

static void test_unmap_splits(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        const uint64_t sp = 0x80200000;
        assert_int_equal(gstage_map(g, sp, HP(2 * MIB), 2 * MIB, R | X), 0);
        size_t tables = gstage_table_count(g);
        assert_int_equal(gstage_unmap(g, sp + 5 * PAGE, PAGE), 0);
        check_unmapped(g, atp, sp + 5 * PAGE, PAGE);
        check_mapped(g, atp, sp, H(2 * MIB), 5 * PAGE, R | X, 0);
        check_mapped(g, atp, sp + 6 * PAGE, H(2 * MIB + 6 * PAGE), 2 * MIB - 6 * PAGE, R | X, 0);
        assert_int_equal(gstage_table_count(g), tables + 1);

        /* A page inside a 1 GiB leaf: two splits, everything else at the
           largest level still possible. */
        assert_int_equal(gstage_map(g, GIB, HP(GIB), GIB, R | W), 0);
        tables = gstage_table_count(g);
        const uint64_t hole = GIB + 2 * MIB + PAGE;
        assert_int_equal(gstage_unmap(g, hole, PAGE), 0);
        assert_int_equal(gstage_table_count(g), tables + 2);
        check_unmapped(g, atp, hole, PAGE);
        check_mapped(g, atp, GIB, H(GIB), 2 * MIB, R | W, 1);
        check_mapped(g, atp, GIB + 2 * MIB, H(GIB + 2 * MIB), PAGE, R | W, 0);
        check_mapped(g, atp, hole + PAGE, H(GIB + 2 * MIB + 2 * PAGE), 2 * MIB - 2 * PAGE, R | W,
                     0);
        check_mapped(g, atp, GIB + 4 * MIB, H(GIB + 4 * MIB), GIB - 4 * MIB, R | W, 1);

        /* A range cutting two 2 MiB leaves and covering one whole. */
        assert_int_equal(gstage_unmap(g, GIB + 8 * MIB - PAGE, 2 * MIB + 2 * PAGE), 0);
        check_mapped(g, atp, GIB + 6 * MIB, H(GIB + 6 * MIB), 2 * MIB - PAGE, R | W, 0);
        check_unmapped(g, atp, GIB + 8 * MIB - PAGE, 2 * MIB + 2 * PAGE);
        check_mapped(g, atp, GIB + 10 * MIB + PAGE, H(GIB + 10 * MIB + PAGE), 2 * MIB - PAGE, R | W,
                     0);
        assert_int_equal(level_at(atp, GIB + 12 * MIB), 1);

        /* Unmapping nothing is fine; unmapping everything leaves nothing. */
        assert_int_equal(gstage_unmap(g, 64 * GIB, 4 * GIB), 0);
        assert_int_equal(gstage_unmap(g, 0, 4 * GIB), 0);
        check_unmapped(g, atp, sp, 2 * MIB);
        check_unmapped(g, atp, GIB, 16 * MIB);
        check_unmapped(g, atp, 2 * GIB - 2 * MIB, 2 * MIB);
        /* Tables are reused by later maps of the same region. */
        tables = gstage_table_count(g);
        assert_int_equal(gstage_map(g, sp, HP(PAGE), 2 * MIB, R), 0);
        check_mapped(g, atp, sp, H(PAGE), 2 * MIB, R, 0);
        assert_int_equal(gstage_table_count(g), tables);
        gstage_destroy(g);
    }
}

static void test_range_limits(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        uint64_t atp;
        struct gstage *g = new_gs(modes[m], &atp);
        const uint64_t lim = 1ull << (modes[m] == DV_HUGATP_MODE_SV39X4 ? 41 : 50);
        assert_int_equal(gstage_map(g, lim - PAGE, HP(PAGE), PAGE, R), 0);
        check_mapped(g, atp, lim - PAGE, H(PAGE), PAGE, R, 0);
        assert_int_equal(gstage_map(g, lim - GIB, HP(0), GIB - PAGE, R | W), 0);
        check_mapped(g, atp, lim - GIB, H(0), GIB - PAGE, R | W, -1);

        assert_int_equal(gstage_map(g, lim, HP(0), PAGE, R), -1);
        assert_int_equal(gstage_map(g, lim - PAGE, HP(0), 2 * PAGE, R), -1);
        assert_int_equal(gstage_map(g, lim + GIB, HP(0), GIB, R), -1);
        assert_int_equal(gstage_unmap(g, lim, PAGE), -1);
        assert_int_equal(gstage_unmap(g, lim - PAGE, 2 * PAGE), -1);
        assert_int_equal(gstage_lookup(g, lim, NULL, NULL), -1);
        assert_int_equal(gstage_lookup(g, lim + (lim - PAGE), NULL, NULL), -1);
        /* The rejected calls left the top page alone. */
        check_mapped(g, atp, lim - PAGE, H(PAGE), PAGE, R, 0);

        /* The x4 root index: GPA bits just above the non-x4 range select
           distinct root entries, not aliases of the low ones. */
        const uint64_t hi = lim >> 1;
        assert_int_equal(gstage_map(g, 0, HP(0), PAGE, R), 0);
        assert_int_equal(gstage_map(g, hi, HP(PAGE), PAGE, X), 0);
        assert_int_equal(gstage_map(g, lim >> 2, HP(2 * PAGE), PAGE, R | W), 0);
        check_mapped(g, atp, 0, H(0), PAGE, R, 0);
        check_mapped(g, atp, hi, H(PAGE), PAGE, X, 0);
        check_mapped(g, atp, lim >> 2, H(2 * PAGE), PAGE, R | W, 0);
        assert_int_equal(gstage_unmap(g, lim - PAGE, PAGE), 0);
        check_unmapped(g, atp, lim - PAGE, PAGE);
        gstage_destroy(g);
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    uint64_t atp;
    struct gstage *g = new_gs(DV_HUGATP_MODE_SV39X4, &atp);
    assert_int_equal(gstage_map(g, 0x80000000, HP(0), PAGE, R | W), 0);
    size_t tables = gstage_table_count(g);
    const uint64_t gpa = 0x80001000;

    assert_int_equal(gstage_map(NULL, gpa, HP(0), PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa + 8, HP(0), PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa, HP(8), PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa, HP(0), PAGE + 8, R), -1);
    assert_int_equal(gstage_map(g, gpa, HP(0), 0, R), -1);
    static const unsigned bad_perms[] = {0,     W,     W | X, V,       U,          R | U,
                                         R | G, R | A, R | D, 1u << 8, 0xffffffffu};
    for (size_t i = 0; i < sizeof(bad_perms) / sizeof(bad_perms[0]); i++) {
        assert_int_equal(gstage_map(g, gpa, HP(0), PAGE, bad_perms[i]), -1);
        assert_int_equal(gstage_map(g, 0x80000000, HP(PAGE), PAGE, bad_perms[i]), -1);
    }
    /* gpa + len wrapping or past the range; host + len wrapping or beyond
       what a 44-bit PPN can name. */
    assert_int_equal(gstage_map(g, gpa, HP(0), UINT64_MAX - PAGE + 1, R), -1);
    assert_int_equal(gstage_map(g, UINT64_MAX - PAGE + 1, HP(0), 2 * PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa, (void *)(UINTPTR_MAX - PAGE + 1), 2 * PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa, (void *)(uintptr_t)(1ull << 56), PAGE, R), -1);
    assert_int_equal(gstage_map(g, gpa, (void *)(uintptr_t)((1ull << 56) - PAGE), 2 * PAGE, R), -1);
    assert_int_equal(gstage_unmap(NULL, 0x80000000, PAGE), -1);
    assert_int_equal(gstage_unmap(g, 0x80000000 + 8, PAGE), -1);
    assert_int_equal(gstage_unmap(g, 0x80000000, 8), -1);
    assert_int_equal(gstage_unmap(g, 0x80000000, 0), -1);
    assert_int_equal(gstage_unmap(g, 0x80000000, UINT64_MAX - PAGE + 1), -1);
    assert_int_equal(gstage_lookup(NULL, 0x80000000, NULL, NULL), -1);

    /* Nothing changed: no tables, the old page intact, nothing new. */
    assert_int_equal(gstage_table_count(g), tables);
    check_mapped(g, atp, 0x80000000, H(0), PAGE, R | W, 0);
    check_unmapped(g, atp, gpa, PAGE);
    check_unmapped(g, atp, 0, PAGE);
    gstage_destroy(g);
}

static void test_out_of_memory_partial(void **state)
{
    (void)state;
    uint64_t atp;
    struct gstage *g = new_gs(DV_HUGATP_MODE_SV39X4, &atp);
    /* 4 KiB leaves over 4 MiB: a level-1 table and a level-0 table for the
       first 2 MiB, another level-0 table for the second. Allow only two. */
    gstage_set_table_limit(g, 2);
    assert_int_equal(gstage_map(g, 0, HP(PAGE), 4 * MIB, R | W), -1);
    check_mapped(g, atp, 0, H(PAGE), 2 * MIB, R | W, 0);
    check_unmapped(g, atp, 2 * MIB, 2 * MIB);
    assert_int_equal(gstage_table_count(g), 2);
    /* A new 1 GiB region needs a table too; a 1 GiB leaf needs none. */
    assert_int_equal(gstage_map(g, GIB, HP(0), PAGE, R), -1);
    assert_int_equal(gstage_map(g, GIB, HP(0), GIB, R), 0);
    check_mapped(g, atp, GIB, H(0), GIB, R, 2);

    gstage_set_table_limit(g, 0);
    assert_int_equal(gstage_map(g, 0, HP(PAGE), 4 * MIB, R | W), 0);
    check_mapped(g, atp, 0, H(PAGE), 4 * MIB, R | W, 0);

    /* Unmap: the split of a superpage at the far end fails; what came before
       is unmapped, the superpage untouched. */
    assert_int_equal(gstage_map(g, 8 * MIB, HP(8 * MIB), 2 * MIB, R), 0);
    gstage_set_table_limit(g, gstage_table_count(g));
    assert_int_equal(gstage_unmap(g, 2 * MIB - PAGE, 6 * MIB + 2 * PAGE), -1);
    check_mapped(g, atp, 0, H(PAGE), 2 * MIB - PAGE, R | W, 0);
    check_unmapped(g, atp, 2 * MIB - PAGE, 6 * MIB + PAGE);
    check_mapped(g, atp, 8 * MIB, H(8 * MIB), 2 * MIB, R, 1);
    gstage_destroy(g);
}

/* --- concurrency ----------------------------------------------------------------------- */

/* Regions of the GPA space the threads fight over (all 2 MiB aligned). */
#define REG_A    (0x80000000ull) /* writer 0 only, 4 KiB at a time */
#define REG_B    (0x80800000ull) /* writer 1 only, 4 KiB at a time */
#define REG_S    (0x81000000ull) /* both, same target: like two vCPUs faulting */
#define REG_C    (0x81800000ull) /* both, different targets */
#define REG_S2   (0x82000000ull) /* same target, one by 4 KiB, one by 2 MiB */
#define REG_END  (0x82800000ull)
#define REG_LEN  (8 * MIB)
#define S2_HOST  (GIB)
#define C_HOST0  (2 * GIB)
#define C_HOST1  (3 * GIB)
#define NWRITERS 2

struct race {
    struct gstage *g;
    uint64_t atp;
    pthread_barrier_t start;
    int writers_done;
    int errors;
    unsigned long reads;
};

/* The only correct answers for gpa while (and after) the writers run. */
static bool plausible(uint64_t gpa, bool mapped, uint64_t host, unsigned perms, bool final)
{
    if (!mapped)
        return !final;
    if (gpa >= REG_A && gpa < REG_C) /* A, B, S: host = gpa - REG_A + 4 KiB */
        return host == H(gpa - REG_A + PAGE) && perms == (R | W);
    if (gpa >= REG_C && gpa < REG_S2)
        return (host == H(C_HOST0 + gpa - REG_C) && perms == (R | W)) ||
               (host == H(C_HOST1 + gpa - REG_C) && perms == X);
    if (gpa >= REG_S2 && gpa < REG_END)
        return host == H(S2_HOST + gpa - REG_S2) && perms == (R | X);
    return false;
}

struct writer_arg {
    struct race *r;
    int id;
};

static void *writer(void *arg)
{
    struct race *r = ((struct writer_arg *)arg)->r;
    int id = ((struct writer_arg *)arg)->id;
    pthread_barrier_wait(&r->start);
    /* Start once the reader is demonstrably walking, so the two overlap. */
    while (__atomic_load_n(&r->reads, __ATOMIC_RELAXED) < 1000)
        sched_yield();
    uint64_t own = id == 0 ? REG_A : REG_B;
    const uint64_t npages = REG_LEN / PAGE;
    for (uint64_t i = 0; i < npages; i++) {
        /* Interleave own pages, shared pages (in opposite orders), contested ones. */
        uint64_t o = own + i * PAGE;
        if (gstage_map(r->g, o, HP(o - REG_A + PAGE), PAGE, R | W))
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        uint64_t s = REG_S + (id == 0 ? i : npages - 1 - i) * PAGE;
        if (gstage_map(r->g, s, HP(s - REG_A + PAGE), PAGE, R | W))
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        uint64_t c = REG_C + (id == 0 ? i : npages - 1 - i) * PAGE;
        int rc = id == 0 ? gstage_map(r->g, c, HP(C_HOST0 + c - REG_C), PAGE, R | W)
                         : gstage_map(r->g, c, HP(C_HOST1 + c - REG_C), PAGE, X);
        if (rc)
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        /* S2: writer 0 page by page (meeting 2 MiB leaves that already map it
           right), writer 1 a 2 MiB leaf at a time (over 4 KiB subtrees). */
        if (id == 0)
            rc = gstage_map(r->g, REG_S2 + i * PAGE, HP(S2_HOST + i * PAGE), PAGE, R | X);
        else if (i % 512 == 0)
            rc = gstage_map(r->g, REG_S2 + i * PAGE, HP(S2_HOST + i * PAGE), 2 * MIB, R | X);
        if (rc)
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        /* Every so often, the whole contested region at once, as 2 MiB leaves
           (its hosts are 2 MiB aligned), replacing subtrees under the other. */
        if (i % 512 == 511) {
            rc = id == 0 ? gstage_map(r->g, REG_C, HP(C_HOST0), REG_LEN, R | W)
                         : gstage_map(r->g, REG_C, HP(C_HOST1), REG_LEN, X);
            if (rc)
                __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        }
    }
    __atomic_fetch_add(&r->writers_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Walks the tables while they change: every translation seen must be one the
   writers could have made, never garbage or a half-built table. */
static void *reader(void *arg)
{
    struct race *r = arg;
    pthread_barrier_wait(&r->start);
    uint64_t x = 88172645463325252ull;
    while (__atomic_load_n(&r->writers_done, __ATOMIC_ACQUIRE) < NWRITERS) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t gpa = REG_A + (x % ((REG_END - REG_A) / PAGE)) * PAGE;
        struct walk w;
        bool mapped = ref_walk(r->atp, gpa, &w);
        if (!plausible(gpa, mapped, w.host, (unsigned)(w.pte & (R | W | X)), false))
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        void *h = NULL;
        unsigned p = 0;
        mapped = gstage_lookup(r->g, gpa, &h, &p) == 0;
        if (!plausible(gpa, mapped, (uintptr_t)h, p, false))
            __atomic_fetch_add(&r->errors, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&r->reads, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_concurrent_map(void **state)
{
    (void)state;
    for (size_t m = 0; m < 2; m++) {
        struct race r = {0};
        r.g = new_gs(modes[m], &r.atp);
        assert_int_equal(pthread_barrier_init(&r.start, NULL, NWRITERS + 1), 0);
        pthread_t t[NWRITERS + 1];
        struct writer_arg wa[NWRITERS];
        for (int i = 0; i < NWRITERS; i++) {
            wa[i] = (struct writer_arg){&r, i};
            assert_int_equal(pthread_create(&t[i], NULL, writer, &wa[i]), 0);
        }
        assert_int_equal(pthread_create(&t[NWRITERS], NULL, reader, &r), 0);
        for (int i = 0; i <= NWRITERS; i++)
            assert_int_equal(pthread_join(t[i], NULL), 0);
        pthread_barrier_destroy(&r.start);
        assert_int_equal(r.errors, 0);

        /* Every page: A, B and S exactly; each C page one writer's, whole. */
        check_mapped(r.g, r.atp, REG_A, H(PAGE), 3 * REG_LEN, R | W, 0);
        check_mapped(r.g, r.atp, REG_S2, H(S2_HOST), REG_LEN, R | X, -1);
        for (uint64_t gpa = REG_C; gpa < REG_S2; gpa += PAGE) {
            struct walk w;
            assert_true(ref_walk(r.atp, gpa, &w));
            unsigned p = (unsigned)(w.pte & (R | W | X));
            assert_true(plausible(gpa, true, w.host, p, true));
            assert_int_equal(w.pte & 0x3ff, leaf_bits(p));
        }
        check_unmapped(r.g, r.atp, REG_A - PAGE, PAGE);
        check_unmapped(r.g, r.atp, REG_END, PAGE);
        gstage_destroy(r.g);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_and_hugatp), cmocka_unit_test(test_leaf_4k),
        cmocka_unit_test(test_leaf_2m),           cmocka_unit_test(test_leaf_1g),
        cmocka_unit_test(test_leaf_bits_exact),   cmocka_unit_test(test_remap_replaces),
        cmocka_unit_test(test_unmap_splits),      cmocka_unit_test(test_range_limits),
        cmocka_unit_test(test_bad_arguments),     cmocka_unit_test(test_out_of_memory_partial),
        cmocka_unit_test(test_concurrent_map),
    };
    return cmocka_run_group_tests_name("gstage", tests, setup_host, teardown_host);
}
