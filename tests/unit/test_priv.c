/*
 * The supervisor extensions of the guest's address translation: Svpbmt,
 * Svnapot (both stages), Svadu / Svade (henvcfg.ADUE), Svinval (with the
 * JIT's translated code in the loop) and Ssnpm pointer masking at each PMLEN,
 * with and without translation. Run with DUVISOR_JIT=off too (tests/run).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hart/dvext.h"

enum {
    PTE_V = 1,
    PTE_R = 2,
    PTE_W = 4,
    PTE_X = 8,
    PTE_U = 16,
    PTE_A = 64,
    PTE_D = 128,
};
#define PTE_NC    (1ull << 61)
#define PTE_IO    (2ull << 61)
#define PTE_PBMT3 (3ull << 61)
#define PTE_N     (1ull << 63)
#define KERNEL    (PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)

#define RAM_GPA    0x80000000ull
#define RAM_SIZE   (4ull << 20)
/* guest code (gpa = kernel va) */
#define CODE_LOAD  0x80000000ull
#define CODE_STORE 0x80000010ull
#define CODE_AMO   0x80000020ull
#define CODE_INVAL 0x80000030ull /* sfence.w.inval; sfence.inval.ir */
#define CODE_HINV  0x80000040ull /* hinval.vvma */
#define CODE_LOOP  0x80000100ull
#define TRAP_VEC   0x80000300ull
#define CODE_COUNT 0x80000400ull /* loop: addi t0,t0,-1; bnez t0,loop; ecall */
#define CODE_HPM3  0x8000040cull /* csrr a0,hpmcounter3; ecall */
#define CODE_OVF   0x80000414ull /* csrr a0,scountovf; ecall */
#define CODE_INSTR 0x8000041cull /* csrr a0,instret; ecall */
#define CODE_CSIP  0x80000428ull /* csrc sip,a1; ecall */
#define USER_CODE  0x40402000ull /* the code page again, for VU */
/* the guest's Sv39 tables */
#define ROOT_GPA   0x80100000ull
#define L1_GPA     0x80101000ull
#define L0_GPA     0x80102000ull

#define SCAUSE_LOAD_PAGE  13ull
#define SCAUSE_STORE_PAGE 15ull
#define SCAUSE_ECALL_U    8ull
#define EXITED            0x1000ull /* | the exit cause, for an exit other than the ecall */

#define FS  (1ull << 13)
#define MXR (1ull << 19)
#define SUM (1ull << 18)

struct vm {
    uint8_t *map, *ram; /* ram: 64 KiB aligned inside map */
    uint64_t *groot, *gl1, *gl0[2];
    struct dv_machine *m;
    struct dv_hart *h;
};

static uint64_t *at(struct vm *vm, uint64_t gpa)
{
    return (uint64_t *)(vm->ram + (gpa - RAM_GPA));
}

static uint64_t pte(uint64_t addr, uint64_t flags)
{
    return (addr >> 12) << 10 | flags;
}

/* The G-stage leaf for gpa (4 KiB leaves only: the test owns these tables). */
static uint64_t *gleaf(struct vm *vm, uint64_t gpa)
{
    uint64_t off = gpa - RAM_GPA;
    return &vm->gl0[off >> 21][(off >> 12) & 511];
}

static uintptr_t host_of(struct vm *vm, uint64_t gpa)
{
    return (uintptr_t)(vm->ram + (gpa - RAM_GPA));
}

static void put_code(struct vm *vm, uint64_t gpa, const uint32_t *w, size_t n)
{
    memcpy(at(vm, gpa), w, n * 4);
}

static void vm_create(struct vm *vm)
{
    size_t len = RAM_SIZE + (64 << 10);
    vm->map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(vm->map != MAP_FAILED);
    vm->ram = (uint8_t *)(((uintptr_t)vm->map + 0xffff) & ~(uintptr_t)0xffff);

    static const uint32_t load[] = {0x0005b503, 0x00000073};  /* ld a0,0(a1); ecall */
    static const uint32_t store[] = {0x00c5b023, 0x00000073}; /* sd a2,0(a1) */
    static const uint32_t amo[] = {0x00c5b52f, 0x00000073};   /* amoadd.d a0,a2,(a1) */
    static const uint32_t inval[] = {0x18000073, 0x18100073, 0x00000073};
    static const uint32_t hinv[] = {0x26000073, 0x00000073}; /* hinval.vvma x0,x0 */
    /* loop: ld a0,0(a1); add s0,s0,a0; sd a3,0(a4); sfence.w.inval;
       sinval.vma a1,x0; sfence.inval.ir; ld a0,0(a1); add s1,s1,a0;
       sd a5,0(a4); sinval.vma x0,x0; addi t0,t0,-1; bnez t0,loop; ecall */
    static const uint32_t loop[] = {0x0005b503, 0x00a40433, 0x00d73023, 0x18000073, 0x16058073,
                                    0x18100073, 0x0005b503, 0x00a484b3, 0x00f73023, 0x16000073,
                                    0xfff28293, 0xfc029ae3, 0x00000073};
    static const uint32_t count[] = {0xfff28293, 0xfe029ee3, 0x00000073, 0xc0302573,
                                     0x00000073, 0xda002573, 0x00000073, 0xc0202573,
                                     0x00000073, 0x14407073, 0x1445b073, 0x00000073};
    static const uint32_t vec[] = {0x00000073};
    put_code(vm, CODE_LOAD, load, 2);
    put_code(vm, CODE_STORE, store, 2);
    put_code(vm, CODE_AMO, amo, 2);
    put_code(vm, CODE_INVAL, inval, 3);
    put_code(vm, CODE_HINV, hinv, 2);
    put_code(vm, CODE_LOOP, loop, sizeof(loop) / 4);
    put_code(vm, TRAP_VEC, vec, 1);
    put_code(vm, CODE_COUNT, count, sizeof(count) / 4);

    /* VS stage: VA 0x80000000 a 1 GiB kernel leaf; 0x40000000.. a table */
    *at(vm, ROOT_GPA + 2 * 8) = pte(RAM_GPA, KERNEL);
    *at(vm, ROOT_GPA + 1 * 8) = pte(L1_GPA, PTE_V);
    *at(vm, L1_GPA + 0 * 8) = pte(0x80200000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D); /* 2 MiB */
    *at(vm, L1_GPA + 2 * 8) = pte(L0_GPA, PTE_V);
    *at(vm, L0_GPA + 0 * 8) = pte(0x80300000, PTE_V | PTE_R | PTE_W | PTE_U | PTE_A | PTE_D);
    *at(vm, L0_GPA + 2 * 8) = pte(RAM_GPA, PTE_V | PTE_R | PTE_X | PTE_U | PTE_A);

    /* G stage, our own tables: 4 KiB leaves over all of RAM */
    vm->groot = aligned_alloc(16384, 16384);
    vm->gl1 = aligned_alloc(4096, 4096);
    vm->gl0[0] = aligned_alloc(4096, 4096);
    vm->gl0[1] = aligned_alloc(4096, 4096);
    assert_true(vm->groot && vm->gl1 && vm->gl0[0] && vm->gl0[1]);
    memset(vm->groot, 0, 16384);
    memset(vm->gl1, 0, 4096);
    vm->groot[RAM_GPA >> 30] = pte((uintptr_t)vm->gl1, PTE_V);
    for (unsigned t = 0; t < 2; t++) {
        vm->gl1[t] = pte((uintptr_t)vm->gl0[t], PTE_V);
        for (unsigned i = 0; i < 512; i++)
            vm->gl0[t][i] = pte(host_of(vm, RAM_GPA + ((uint64_t)t << 21) + ((uint64_t)i << 12)),
                                KERNEL | PTE_U);
    }
    vm->m = dv_machine_create(1);
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RAM_SIZE), DV_OK);
    vm->h = dv_hart_create(vm->m, 0);
    assert_non_null(vm->h);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUGATP,
                                  DV_HUGATP_MODE_SV39X4 << 60 | (uintptr_t)vm->groot >> 12),
                     DV_OK);
    dv_csr_write(vm->h, DV_CSR_HUVSTVEC, TRAP_VEC);
    dv_csr_write(vm->h, DV_CSR_HUVSATP, 8ull << 60 | ROOT_GPA >> 12);
}

static void vm_destroy(struct vm *vm)
{
    dv_hart_destroy(vm->h);
    dv_machine_destroy(vm->m);
    free(vm->groot);
    free(vm->gl1);
    free(vm->gl0[0]);
    free(vm->gl0[1]);
    munmap(vm->map, RAM_SIZE + (64 << 10));
}

static uint64_t csr(struct vm *vm, unsigned n)
{
    uint64_t v = 0;
    assert_int_equal(dv_csr_read(vm->h, n, &v), DV_OK);
    return v;
}

/*
 * Run code at va in VS (vs = true) or VU: 0 when it reached its ecall, the
 * guest's scause for a trap it took (its stval in *tval), EXITED | ucause for
 * another exit (utval in *tval).
 */
static uint64_t run(struct vm *vm, bool vs, uint64_t code, uint64_t sstatus, uint64_t *tval)
{
    dv_csr_write(vm->h, DV_CSR_HUVSSTATUS, sstatus);
    dv_csr_write(vm->h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | (vs ? DV_HUSTATUS_SPVP : 0));
    dv_csr_write(vm->h, DV_CSR_UEPC, code);
    uint64_t cause = dv_enter(vm->h);
    uint64_t dummy;
    tval = tval ? tval : &dummy;
    if (cause != DV_EXIT_ECALL_VS) {
        *tval = csr(vm, DV_CSR_UTVAL);
        return EXITED | cause;
    }
    uint64_t epc = csr(vm, DV_CSR_UEPC);
    if (vs && epc != TRAP_VEC)
        return 0;
    assert_int_equal(epc, TRAP_VEC);
    *tval = csr(vm, DV_CSR_HUVSTVAL);
    uint64_t scause = csr(vm, DV_CSR_HUVSCAUSE);
    return !vs && scause == SCAUSE_ECALL_U ? 0 : scause;
}

/* One access by the code at `code` (CODE_LOAD/STORE/AMO) to va. */
static uint64_t access(struct vm *vm, bool vs, uint64_t code, uint64_t va, uint64_t sstatus,
                       uint64_t *tval)
{
    dv_gpr_set(vm->h, 11, va);
    dv_gpr_set(vm->h, 12, 0x5555);
    if (!vs)
        code = code - RAM_GPA + USER_CODE;
    return run(vm, vs, code, sstatus, tval);
}

static void set_envcfg(struct vm *vm, uint64_t value)
{
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUENVCFG, value), DV_OK);
}

/* --- Svpbmt ---------------------------------------------------------------------- */

static void test_pbmt_vs_stage(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    uint64_t *leaf = at(&vm, L1_GPA);
    uint64_t plain = *leaf;
    *at(&vm, 0x80200008) = 0x1234;
    /* reset: PBMTE on, as the device tree's svpbmt promises */
    assert_int_equal(csr(&vm, DV_CSR_HUENVCFG) & DV_ENVCFG_PBMTE, DV_ENVCFG_PBMTE);
    *leaf = plain | PTE_NC;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x1234);
    *leaf = plain | PTE_IO;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), 0);
    assert_int_equal(*at(&vm, 0x80200008), 0x5555);
    /* PBMT = 3 is reserved */
    *leaf = plain | PTE_PBMT3;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    /* PBMTE = 0: PBMT bits are reserved, the PTE faults; a PMA PTE still works */
    *leaf = plain | PTE_NC;
    set_envcfg(&vm, DV_ENVCFG_ADUE);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    *leaf = plain;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), 0);
    /* a non-leaf PTE with PBMT, and a PTE with reserved bits 60:54, fault either way */
    set_envcfg(&vm, DV_ENVCFG_ADUE | DV_ENVCFG_PBMTE);
    uint64_t *ptr = at(&vm, ROOT_GPA + 8);
    uint64_t nonleaf = *ptr;
    *ptr = nonleaf | PTE_NC;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    *ptr = nonleaf;
    for (unsigned bit = 54; bit <= 60; bit++) {
        *leaf = plain | 1ull << bit;
        dv_hufence_vvma(vm.h);
        assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    }
    vm_destroy(&vm);
}

static void test_pbmt_gstage(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    dv_csr_write(vm.h, DV_CSR_HUVSATP, 0); /* guest-physical = guest-virtual */
    uint64_t *g = gleaf(&vm, 0x80200000);
    uint64_t plain = *g;
    *at(&vm, 0x80200008) = 0x77;
    const uint64_t kinds[] = {PTE_NC, PTE_IO};
    for (unsigned i = 0; i < 2; i++) {
        *g = plain | kinds[i];
        dv_hufence_gvma(vm.h);
        assert_int_equal(access(&vm, true, CODE_LOAD, 0x80200008, FS, NULL), 0);
        assert_int_equal(dv_gpr_get(vm.h, 10), 0x77);
    }
    uint64_t tval;
    *g = plain | PTE_PBMT3;
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x80200008, FS, &tval),
                     EXITED | DV_EXIT_LOAD_GUEST_PAGE_FAULT);
    assert_int_equal(csr(&vm, DV_CSR_HUTVAL), 0x80200008 >> 2);
    *g = plain | 1ull << 54;
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x80200008, FS, NULL),
                     EXITED | DV_EXIT_STORE_GUEST_PAGE_FAULT);
    /* PBMT on a non-leaf G-stage PTE */
    *g = plain;
    vm.gl1[1] |= PTE_NC;
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x80200008, FS, NULL),
                     EXITED | DV_EXIT_LOAD_GUEST_PAGE_FAULT);
    vm.gl1[1] &= ~PTE_NC;
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x80200008, FS, NULL), 0);
    vm_destroy(&vm);
}

/* --- Svnapot --------------------------------------------------------------------- */

static void test_napot_vs_stage(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    /* VA 0x40413000 through a 64 KiB NAPOT PTE for PA 0x80320000..: the
       page within the 64 KiB comes from the VA (3), not the PPN's 1000 */
    uint64_t *l0 = at(&vm, L0_GPA + 0x13 * 8);
    *at(&vm, 0x80323008) = 0xaaaa;
    *at(&vm, 0x80328008) = 0xbbbb;
    *at(&vm, 0x80323ff8) = 0xcccc;
    uint64_t napot = pte(0x80328000, PTE_V | PTE_R | PTE_W | PTE_A | PTE_D) | PTE_N;
    *l0 = napot;
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40413008, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0xaaaa);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40413ff8, FS, NULL), 0); /* a TLB hit */
    assert_int_equal(dv_gpr_get(vm.h, 10), 0xcccc);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40413010, FS, NULL), 0);
    assert_int_equal(*at(&vm, 0x80323010), 0x5555);
    /* every other ppn[3:0] with N is reserved */
    for (unsigned low = 0; low < 16; low++) {
        if (low == 8)
            continue;
        *l0 = pte(0x80320000 + ((uint64_t)low << 12), PTE_V | PTE_R | PTE_A) | PTE_N;
        dv_hufence_vvma(vm.h);
        assert_int_equal(access(&vm, true, CODE_LOAD, 0x40413008, FS, NULL), SCAUSE_LOAD_PAGE);
    }
    /* N on a superpage leaf, and on a non-leaf PTE */
    uint64_t *l1 = at(&vm, L1_GPA);
    uint64_t mega = *l1;
    *l1 = mega | PTE_N;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    *l1 = mega;
    *l0 = napot;
    uint64_t *ptr = at(&vm, L1_GPA + 2 * 8);
    *ptr |= PTE_N;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40413008, FS, NULL), SCAUSE_LOAD_PAGE);
    *ptr &= ~PTE_N;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40413008, FS, NULL), 0);
    vm_destroy(&vm);
}

static void test_napot_gstage(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    dv_csr_write(vm.h, DV_CSR_HUVSATP, 0);
    /* gpa 0x80213000 through a NAPOT G-stage leaf naming host 64 KiB at gpa 0x80220000's */
    uint64_t *g = gleaf(&vm, 0x80213000);
    *at(&vm, 0x80223008) = 0x1111;
    *at(&vm, 0x80213008) = 0x2222;
    *g = pte(host_of(&vm, 0x80228000), KERNEL | PTE_U) | PTE_N;
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x80213008, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x1111);
    *g = pte(host_of(&vm, 0x80224000), KERNEL | PTE_U) | PTE_N; /* ppn[3:0] = 0100 */
    dv_hufence_gvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x80213008, FS, NULL),
                     EXITED | DV_EXIT_LOAD_GUEST_PAGE_FAULT);
    vm_destroy(&vm);
}

/* --- Svadu / Svade --------------------------------------------------------------- */

static void test_adue(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    uint64_t *leaf = at(&vm, L1_GPA);
    uint64_t bare = pte(0x80200000, PTE_V | PTE_R | PTE_W);
    /* ADUE = 0: A = 0 faults, D = 0 faults a store, the PTE stays as it is */
    set_envcfg(&vm, DV_ENVCFG_PBMTE);
    *leaf = bare;
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), SCAUSE_LOAD_PAGE);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), SCAUSE_STORE_PAGE);
    assert_int_equal(access(&vm, true, CODE_AMO, 0x40000008, FS, NULL), SCAUSE_STORE_PAGE);
    assert_int_equal(*leaf, bare);
    *leaf = bare | PTE_A; /* what the guest's fault handler does */
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), 0);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), SCAUSE_STORE_PAGE);
    assert_int_equal(*leaf, bare | PTE_A);
    *leaf = bare | PTE_A | PTE_D;
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), 0);
    /* ADUE = 1: the walk sets A, and D on a store */
    set_envcfg(&vm, DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE);
    *leaf = bare;
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), 0);
    assert_int_equal(*leaf, bare | PTE_A);
    assert_int_equal(access(&vm, true, CODE_AMO, 0x40000008, FS, NULL), 0);
    assert_int_equal(*leaf, bare | PTE_A | PTE_D);
    /* the switch itself drops what the TLB holds: a store TLB entry made
       under ADUE = 1 does not let a store past D = 0 once ADUE is 0 */
    *leaf = bare | PTE_A | PTE_D;
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), 0);
    *leaf = bare | PTE_A;
    set_envcfg(&vm, DV_ENVCFG_PBMTE);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x40000008, FS, NULL), SCAUSE_STORE_PAGE);
    /* only PBMTE, ADUE and PMM are writable; STCE reads 1; PMM = 1 is ignored */
    set_envcfg(&vm, UINT64_MAX);
    assert_int_equal(csr(&vm, DV_CSR_HUENVCFG),
                     1ull << 63 | DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE | DV_ENVCFG_PMM);
    set_envcfg(&vm, 1ull << DV_ENVCFG_PMM_SHIFT);
    assert_int_equal(csr(&vm, DV_CSR_HUENVCFG), 1ull << 63 | DV_ENVCFG_PMM);
    vm_destroy(&vm);
}

/* --- Svinval --------------------------------------------------------------------- */

static void test_svinval(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    /* VA 0x40401000 maps page A (holds 1) or page B (holds 2); the loop
       switches it to B, invalidates with sinval.vma between the Svinval
       fences, reads, switches back and invalidates again, 1000 times, so
       translated code runs it. A stale translation adds a 1 to s1. */
    uint64_t pte_a = pte(0x80330000, PTE_V | PTE_R | PTE_A);
    uint64_t pte_b = pte(0x80331000, PTE_V | PTE_R | PTE_A);
    *at(&vm, 0x80330000) = 1;
    *at(&vm, 0x80331000) = 2;
    *at(&vm, L0_GPA + 8) = pte_a;
    dv_gpr_set(vm.h, 11, 0x40401000);
    dv_gpr_set(vm.h, 13, pte_b);
    dv_gpr_set(vm.h, 14, L0_GPA + 8); /* the PTE, through the kernel map */
    dv_gpr_set(vm.h, 15, pte_a);
    dv_gpr_set(vm.h, 5, 1000);
    dv_gpr_set(vm.h, 8, 0);
    dv_gpr_set(vm.h, 9, 0);
    assert_int_equal(run(&vm, true, CODE_LOOP, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 8), 1000);
    assert_int_equal(dv_gpr_get(vm.h, 9), 2000);

    /* sfence.w.inval / sfence.inval.ir: VS runs them, even under VTVM; VU may not */
    assert_int_equal(run(&vm, true, CODE_INVAL, FS, NULL), 0);
    dv_csr_write(vm.h, DV_CSR_HUVSSTATUS, FS);
    dv_csr_write(vm.h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP | DV_HUSTATUS_VTVM);
    dv_csr_write(vm.h, DV_CSR_UEPC, CODE_INVAL);
    assert_int_equal(dv_enter(vm.h), DV_EXIT_ECALL_VS);
    assert_int_equal(csr(&vm, DV_CSR_UEPC), CODE_INVAL + 8);
    uint64_t tval;
    assert_int_equal(run(&vm, false, CODE_INVAL - RAM_GPA + USER_CODE, FS, &tval),
                     EXITED | DV_EXIT_VIRTUAL_INSTRUCTION);
    assert_int_equal(tval, 0x18000073);
    /* sinval.vma: like sfence.vma, VTVM traps it in VS */
    dv_csr_write(vm.h, DV_CSR_HUVSSTATUS, FS);
    dv_csr_write(vm.h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP | DV_HUSTATUS_VTVM);
    dv_csr_write(vm.h, DV_CSR_UEPC, CODE_LOOP + 16);
    assert_int_equal(dv_enter(vm.h), DV_EXIT_VIRTUAL_INSTRUCTION);
    assert_int_equal(csr(&vm, DV_CSR_UTVAL), 0x16058073);
    /* hinval.vvma in VS: a virtual-instruction exit, as hfence.vvma */
    assert_int_equal(run(&vm, true, CODE_HINV, FS, &tval), EXITED | DV_EXIT_VIRTUAL_INSTRUCTION);
    assert_int_equal(tval, 0x26000073);
    vm_destroy(&vm);
}

/* --- Ssnpm pointer masking ------------------------------------------------------- */

static void test_pointer_masking_vs(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    *at(&vm, 0x80200008) = 0x4242;
    const uint64_t pmm7 = 2ull << DV_ENVCFG_PMM_SHIFT, pmm16 = 3ull << DV_ENVCFG_PMM_SHIFT;
    const uint64_t base = DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE;
    uint64_t tval;
    /* off: a tag makes the address non-canonical */
    uint64_t tag16 = 0xabcd000040000008ull;
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS, &tval), SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, tag16);
    /* PMLEN 16: bits 63:48 ignored, sign-extended from bit 47 */
    set_envcfg(&vm, base | pmm16);
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x4242);
    assert_int_equal(access(&vm, true, CODE_STORE, 0x1234000040000010ull, FS, NULL), 0);
    assert_int_equal(*at(&vm, 0x80200010), 0x5555);
    assert_int_equal(access(&vm, true, CODE_AMO, 0xffff000040000010ull, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x5555);
    assert_int_equal(*at(&vm, 0x80200010), 0xaaaa);
    /* a fault reports the transformed address: bit 47 set makes it 0xffff8... */
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x0000800040000008ull, FS, &tval),
                     SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, 0xffff800040000008ull);
    /* MXR turns masking off */
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS | MXR, &tval), SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, tag16);
    /* PMLEN 7: bits 56:48 count; 63:57 are ignored */
    set_envcfg(&vm, base | pmm7);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0xfe00000040000008ull, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x4242);
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS, &tval), SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, 0xffcd000040000008ull); /* bit 56 of 0xab.. is 1 */
    /* the setting changing drops what the TLB learnt from tagged addresses */
    set_envcfg(&vm, base | pmm16);
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS, NULL), 0);
    set_envcfg(&vm, base);
    assert_int_equal(access(&vm, true, CODE_LOAD, tag16, FS, NULL), SCAUSE_LOAD_PAGE);
    /* fetches are never masked: a jump to a tagged pc faults */
    set_envcfg(&vm, base | pmm16);
    dv_csr_write(vm.h, DV_CSR_HUVSSTATUS, FS);
    dv_csr_write(vm.h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP);
    dv_csr_write(vm.h, DV_CSR_UEPC, 0x1200000000000000ull | CODE_LOAD);
    dv_gpr_set(vm.h, 11, 0x40000008);
    assert_int_equal(dv_enter(vm.h), DV_EXIT_ECALL_VS);
    assert_int_equal(csr(&vm, DV_CSR_UEPC), TRAP_VEC);
    assert_int_equal(csr(&vm, DV_CSR_HUVSCAUSE), 12); /* instruction page fault */

    /* vsatp Bare: zero-extended, so a tagged address reaches guest RAM */
    dv_csr_write(vm.h, DV_CSR_HUVSATP, 0);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0xffff000080200008ull, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x4242);
    set_envcfg(&vm, base | pmm7); /* bits 56:48 stay: a guest-physical address out of range */
    assert_int_equal(access(&vm, true, CODE_LOAD, 0xff01000080200008ull, FS, &tval),
                     EXITED | DV_EXIT_LOAD_GUEST_PAGE_FAULT);
    assert_int_equal(tval, 0x0101000080200008ull);
    vm_destroy(&vm);
}

static void test_pointer_masking_vu(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    *at(&vm, 0x80300008) = 0x99;
    uint64_t tag = 0x5a00000040400008ull, tval;
    /* VU follows senvcfg.PMM, not henvcfg's */
    set_envcfg(&vm, DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE | 3ull << DV_ENVCFG_PMM_SHIFT);
    assert_int_equal(access(&vm, false, CODE_LOAD, tag, FS, &tval), SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, tag);
    assert_int_equal(dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, 2ull << DV_ENVCFG_PMM_SHIFT), DV_OK);
    assert_int_equal(access(&vm, false, CODE_LOAD, tag, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x99);
    assert_int_equal(access(&vm, false, CODE_STORE, 0xfe00000040400010ull, FS, NULL), 0);
    assert_int_equal(*at(&vm, 0x80300010), 0x5555);
    /* a misaligned access across a page edge: each part masked */
    *at(&vm, 0x80301000) = 0; /* VA 0x40401000 is not mapped: the second part faults */
    assert_int_equal(access(&vm, false, CODE_LOAD, 0x0600000040400ffcull, FS, &tval),
                     SCAUSE_LOAD_PAGE);
    assert_int_equal(tval, 0x40401000ull);
    /* senvcfg.PMM = 1 is reserved: the field keeps its value */
    assert_int_equal(dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, 1ull << DV_ENVCFG_PMM_SHIFT), DV_OK);
    assert_int_equal(csr(&vm, DV_CSR_GUEST_SENVCFG), 2ull << DV_ENVCFG_PMM_SHIFT);
    vm_destroy(&vm);
}

/* --- counters and Sscofpmf ------------------------------------------------------ */

static void set_csr(struct vm *vm, unsigned n, uint64_t v)
{
    assert_int_equal(dv_csr_write(vm->h, n, v), DV_OK);
}

/* Run the counting loop for n iterations (2n + 1 instructions retired) */
static uint64_t count_loop(struct vm *vm, bool vs, uint64_t n, uint64_t sstatus)
{
    dv_gpr_set(vm->h, 5, n);
    return run(vm, vs, vs ? CODE_COUNT : CODE_COUNT - RAM_GPA + USER_CODE, sstatus, NULL);
}

static void test_counters(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    const unsigned EV3 = DV_CSR_HUHPMEVENT3, CTR3 = DV_CSR_HUHPMCOUNTER0 + 3;
    /* reset: cycle and instret run, hpm counters are stopped and count nothing */
    assert_int_equal(csr(&vm, DV_CSR_HUCOUNTINHIBIT), 0xfffffff8u);
    assert_int_equal(count_loop(&vm, true, 100, FS), 0);
    uint64_t instret = csr(&vm, DV_CSR_GUEST_INSTRET);
    assert_int_equal(csr(&vm, DV_CSR_HUHPMCOUNTER0 + 2), instret);
    assert_int_equal(csr(&vm, DV_CSR_HUHPMCOUNTER0), instret);
    assert_int_equal(csr(&vm, CTR3), 0);
    /* counter 3 counts instructions retired from when it starts */
    set_csr(&vm, EV3, DV_HPM_INSTRET);
    set_csr(&vm, CTR3, 1000);
    set_csr(&vm, DV_CSR_HUCOUNTINHIBIT, 0xfffffff0u);
    assert_int_equal(count_loop(&vm, true, 100, FS), 0);
    assert_int_equal(csr(&vm, CTR3), 1000 + 200);
    /* the guest reads the same through hpmcounter3, if hucounteren lets it */
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 0xffffffffu);
    assert_int_equal(run(&vm, true, CODE_HPM3, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 1000 + 200);
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 7);
    uint64_t tval;
    assert_int_equal(run(&vm, true, CODE_HPM3, FS, &tval), EXITED | DV_EXIT_VIRTUAL_INSTRUCTION);
    assert_int_equal(tval, 0xc0302573);
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 0xffffffffu);
    /* stopped, it holds its value */
    set_csr(&vm, DV_CSR_HUCOUNTINHIBIT, 0xfffffff8u);
    uint64_t held = csr(&vm, CTR3);
    assert_int_equal(count_loop(&vm, true, 50, FS), 0);
    assert_int_equal(csr(&vm, CTR3), held);
    /* UINH: VU instructions are not counted; SINH: VS ones are not */
    set_csr(&vm, CTR3, 0);
    set_csr(&vm, EV3, DV_HPM_INSTRET | DV_HPMEVENT_UINH);
    set_csr(&vm, DV_CSR_HUCOUNTINHIBIT, 0xfffffff0u);
    assert_int_equal(count_loop(&vm, false, 100, FS), 0); /* the ecall handler: 1 in VS */
    assert_int_equal(csr(&vm, CTR3), 0);
    set_csr(&vm, EV3, DV_HPM_INSTRET | DV_HPMEVENT_SINH);
    assert_int_equal(count_loop(&vm, false, 100, FS), 0);
    assert_int_equal(csr(&vm, CTR3), 200); /* the loop's ecall traps: it does not retire */
    /* an unknown event code counts nothing */
    set_csr(&vm, EV3, 0x7f);
    assert_int_equal(csr(&vm, EV3), 0);
    /* TLB misses: a load from a page the TLB does not hold */
    set_csr(&vm, EV3, DV_HPM_DTLB_LOAD_MISS);
    set_csr(&vm, CTR3, 0);
    dv_hufence_vvma(vm.h);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000008, FS, NULL), 0);
    assert_int_equal(csr(&vm, CTR3), 1);
    assert_int_equal(access(&vm, true, CODE_LOAD, 0x40000010, FS, NULL), 0); /* a hit */
    assert_int_equal(csr(&vm, CTR3), 1);
    /* writing instret (a restore) moves cycle and instret only */
    set_csr(&vm, DV_CSR_GUEST_INSTRET, 5000);
    assert_int_equal(csr(&vm, DV_CSR_HUHPMCOUNTER0 + 2), 5000);
    assert_int_equal(csr(&vm, CTR3), 1);
    assert_int_equal(run(&vm, true, CODE_INSTR, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 5000);
    vm_destroy(&vm);
}

static void test_overflow_interrupt(void **state)
{
    (void)state;
    struct vm vm;
    vm_create(&vm);
    const unsigned EV3 = DV_CSR_HUHPMEVENT3, CTR3 = DV_CSR_HUHPMCOUNTER0 + 3;
    const uint64_t SIE = 1ull << 1, LCOFI = 1ull << 13;
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 0xffffffffu);
    set_csr(&vm, EV3, DV_HPM_INSTRET);
    set_csr(&vm, CTR3, UINT64_MAX - 1000);
    set_csr(&vm, DV_CSR_HUCOUNTINHIBIT, 0xfffffff0u);
    /* LCOFIE off: OF and LCOFIP are set, nothing is taken */
    assert_int_equal(count_loop(&vm, true, 5000, FS | SIE), 0);
    assert_true(csr(&vm, EV3) & DV_HPMEVENT_OF);
    assert_true(csr(&vm, DV_CSR_HUVSIP) & LCOFI);
    assert_true(csr(&vm, CTR3) < 10000); /* it wrapped and went on */
    assert_int_equal(run(&vm, true, CODE_OVF, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 1u << 3);
    /* scountovf shows only what hucounteren allows */
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 7);
    assert_int_equal(run(&vm, true, CODE_OVF, FS, NULL), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0);
    set_csr(&vm, DV_CSR_HUCOUNTEREN, 0xffffffffu);
    /* the guest clears LCOFIP in sip */
    dv_gpr_set(vm.h, 11, LCOFI);
    assert_int_equal(run(&vm, true, CODE_CSIP, FS, NULL), 0);
    assert_false(csr(&vm, DV_CSR_HUVSIP) & LCOFI);
    /* re-armed (OF cleared, as SBI counter_start does) with LCOFIE and SIE:
       the interrupt comes during the loop, within the polling interval */
    set_csr(&vm, EV3, DV_HPM_INSTRET);
    set_csr(&vm, CTR3, UINT64_MAX - 1000);
    set_csr(&vm, DV_CSR_HUVSIE, LCOFI);
    assert_int_equal(count_loop(&vm, true, 1000000, FS | SIE), DV_CAUSE_INTERRUPT | 13);
    uint64_t left = dv_gpr_get(vm.h, 5);
    /* 1001 instructions wrap it: 500 iterations and an addi, give or take */
    assert_in_range(left, 1000000 - 520, 1000000 - 480);
    assert_true(csr(&vm, EV3) & DV_HPMEVENT_OF);
    /* a stopped counter never overflows */
    set_csr(&vm, EV3, DV_HPM_INSTRET);
    set_csr(&vm, CTR3, UINT64_MAX - 10);
    set_csr(&vm, DV_CSR_HUCOUNTINHIBIT, 0xfffffff8u);
    dv_gpr_set(vm.h, 11, LCOFI);
    assert_int_equal(run(&vm, true, CODE_CSIP, FS, NULL), 0);
    assert_int_equal(count_loop(&vm, true, 10000, FS | SIE), 0);
    assert_false(csr(&vm, EV3) & DV_HPMEVENT_OF);
    vm_destroy(&vm);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pbmt_vs_stage),
        cmocka_unit_test(test_pbmt_gstage),
        cmocka_unit_test(test_napot_vs_stage),
        cmocka_unit_test(test_napot_gstage),
        cmocka_unit_test(test_adue),
        cmocka_unit_test(test_svinval),
        cmocka_unit_test(test_pointer_masking_vs),
        cmocka_unit_test(test_pointer_masking_vu),
        cmocka_unit_test(test_counters),
        cmocka_unit_test(test_overflow_interrupt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
