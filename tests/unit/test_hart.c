/* The hart's decoder and the hart-level checks of hostile hypervisor or guest input. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <sys/mman.h>

#include "hart/decode.h"
#include "hart/hart.h"
#include "hart/mmu.h"
#include "hart/ops.h"
#include "vmm/gstage.h"

/* Each compressed instruction next to its 32-bit expansion, as the assembler encodes them. */
static const struct {
    uint16_t compressed;
    uint32_t expanded;
} pairs[] = {
    {0x0800, 0x01010413}, /* c.addi4spn s0,sp,16 */ {0x41c8, 0x0045a503}, /* c.lw */
    {0x649c, 0x0084b783}, /* c.ld */ {0xc6d8, 0x00e6a623},                /* c.sw */
    {0xec10, 0x00c43c23}, /* c.sd */ {0x1575, 0xffd50513},                /* c.addi -3 */
    {0x259d, 0x0075859b}, /* c.addiw */ {0x563d, 0xfef00613},             /* c.li -17 */
    {0x7139, 0xfc010113}, /* c.addi16sp -64 */ {0x7685, 0xfffe16b7},      /* c.lui */
    {0x8315, 0x00575713}, /* c.srli */ {0x97fd, 0x43f7d793},              /* c.srai 63 */
    {0x98f9, 0xffe4f493}, /* c.andi -2 */ {0x8d0d, 0x40b50533},           /* c.sub */
    {0x8d2d, 0x00b54533}, /* c.xor */ {0x9d0d, 0x40b5053b},               /* c.subw */
    {0x9d2d, 0x00b5053b}, /* c.addw */ {0xaffd, 0x7fe0006f},              /* c.j +0x7fe */
    {0xd101, 0xf00500e3}, /* c.beqz -0x100 */ {0xedfd, 0x0e059f63},       /* c.bnez +0xfe */
    {0x1506, 0x02151513}, /* c.slli 33 */ {0x70fe, 0x1f813083},           /* c.ldsp 504 */
    {0x577e, 0x0fc12703}, /* c.lwsp 252 */ {0x8782, 0x00078067},          /* c.jr */
    {0x852e, 0x00b00533}, /* c.mv */ {0x9782, 0x000780e7},                /* c.jalr */
    {0x94b2, 0x00c484b3}, /* c.add */ {0xff86, 0x1e113c23},               /* c.sdsp 504 */
    {0xdfba, 0x0ee12e23}, /* c.swsp 252 */ {0x2588, 0x0085b507},          /* c.fld */
    {0xaa0c, 0x00b63827},                                                 /* c.fsd */
};

static void test_compressed_decodes_like_expansion(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        struct insn c, e;
        decode(pairs[i].compressed, &c);
        decode(pairs[i].expanded, &e);
        if (c.op != e.op || c.rd != e.rd || c.rs1 != e.rs1 || c.rs2 != e.rs2 || c.imm != e.imm ||
            c.len != 2 || e.len != 4)
            fail_msg("%04x vs %08x: op %u/%u rd %u/%u rs1 %u/%u rs2 %u/%u imm %d/%d",
                     pairs[i].compressed, pairs[i].expanded, c.op, e.op, c.rd, e.rd, c.rs1, e.rs1,
                     c.rs2, e.rs2, c.imm, e.imm);
        /* hutinst for a compressed access is its expansion with bit 1 cleared */
        if (op_infos[c.op].kind == KIND_LOAD || op_infos[c.op].kind == KIND_STORE)
            assert_int_equal(mmu_transform_insn(&c), mmu_transform_insn(&e) & ~2u);
    }
}

static void test_reserved_encodings_are_illegal(void **state)
{
    (void)state;
    const uint32_t illegal[] = {
        0x0000,     /* c.illegal (also c.addi4spn with a zero immediate) */
        0x6101,     /* c.addi16sp with zero immediate */
        0x6201,     /* c.lui with zero immediate (x4; odd x1..x15 are c.mop.N) */
        0xffffffff, /* no such major opcode */
        0x00002067, /* jalr with funct3 != 0 */
        0x7e00d0b3, /* OP with a reserved funct7 */
    };
    struct insn d;
    for (size_t i = 0; i < sizeof(illegal) / sizeof(illegal[0]); i++) {
        decode(illegal[i], &d);
        if (d.op != OP_ILLEGAL)
            fail_msg("%08x decoded as op %u", illegal[i], d.op);
    }
    decode(0x0200d0b3, &d); /* the neighbouring valid encoding */
    assert_int_equal(d.op, OP_DIVU);
}

static void test_bad_hugatp_rejected(void **state)
{
    (void)state;
    struct dv_machine *m = dv_machine_create(1);
    struct dv_hart *h = dv_hart_create(m, 0);
    struct gstage *g = gstage_create(DV_HUGATP_MODE_SV48X4);
    uint64_t good = gstage_hugatp(g, 1);
    uint64_t ppn = good & DV_HUGATP_PPN_MASK;
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, 0), DV_ERR_INVALID); /* bare */
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, 10ull << 60 | ppn), DV_ERR_INVALID);
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, 9ull << 60 | (ppn + 1)), DV_ERR_INVALID);
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, 9ull << 60), DV_ERR_INVALID); /* no root */
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, good), DV_OK);
    uint64_t v;
    assert_int_equal(dv_csr_read(h, DV_CSR_HUGATP, &v), DV_OK);
    assert_int_equal(v, good);
    assert_int_equal(dv_csr_read(h, 0x123, &v), DV_ERR_NO_CSR);
    assert_int_equal(dv_csr_write(h, DV_CSR_VCPUID, 5), DV_ERR_INVALID);
    gstage_destroy(g);
    dv_hart_destroy(h);
    dv_machine_destroy(m);
}

/* A G-stage leaf the hypervisor got wrong (outside every registered window)
   must become an access-fault exit, never a host access. */
static void test_leaf_outside_windows_exits(void **state)
{
    (void)state;
    const size_t size = 64 << 10;
    uint8_t *ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    uint8_t *stray = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ram != MAP_FAILED && stray != MAP_FAILED);
    const uint32_t code[] = {0x0005b503 /* ld a0,0(a1) */, 0x00000073 /* ecall */};
    memcpy(ram, code, sizeof(code));

    struct dv_machine *m = dv_machine_create(1);
    assert_int_equal(dv_machine_add_window(m, ram, size), DV_OK);
    struct gstage *g = gstage_create(DV_HUGATP_MODE_SV39X4);
    assert_int_equal(gstage_map(g, 0x80000000, ram, size, GSTAGE_R | GSTAGE_W | GSTAGE_X), 0);
    assert_int_equal(gstage_map(g, 0x90000000, stray, 4096, GSTAGE_R | GSTAGE_W), 0);
    struct dv_hart *h = dv_hart_create(m, 0);
    assert_int_equal(dv_csr_write(h, DV_CSR_HUGATP, gstage_hugatp(g, 1)), DV_OK);
    dv_csr_write(h, DV_CSR_UEPC, 0x80000000);
    dv_gpr_set(h, 11, 0x90000008);

    assert_int_equal(dv_enter(h), DV_EXIT_LOAD_ACCESS_FAULT);
    uint64_t v;
    dv_csr_read(h, DV_CSR_UEPC, &v);
    assert_int_equal(v, 0x80000000);
    dv_csr_read(h, DV_CSR_HUTVAL, &v);
    assert_int_equal(v, 0x90000008 >> 2);
    dv_csr_read(h, DV_CSR_UTVAL, &v);
    assert_int_equal(v, 0x90000008);

    dv_hart_destroy(h);
    gstage_destroy(g);
    dv_machine_destroy(m);
    munmap(stray, 4096);
    munmap(ram, size);
}

static void test_window_arguments(void **state)
{
    (void)state;
    struct dv_machine *m = dv_machine_create(2);
    static uint8_t page[8192] __attribute__((aligned(4096)));
    assert_int_equal(dv_machine_add_window(m, page + 1, 4096), DV_ERR_INVALID);
    assert_int_equal(dv_machine_add_window(m, page, 100), DV_ERR_INVALID);
    assert_int_equal(dv_machine_add_window(m, NULL, 4096), DV_ERR_INVALID);
    assert_int_equal(dv_machine_add_window(m, page, 4096), DV_OK);
    assert_null(dv_hart_create(m, 2)); /* vcpuid beyond the machine */
    struct dv_hart *h = dv_hart_create(m, 1);
    assert_non_null(h);
    assert_null(dv_hart_create(m, 1)); /* one hart per vcpuid */
    dv_hart_destroy(h);
    dv_machine_destroy(m);
    assert_null(dv_machine_create(0));
    assert_null(dv_machine_create(MAX_HARTS + 1));
}

/* --- the guest's own walk, under both G-stage modes --------------------------------- */

enum {
    PTE_V = 1,
    PTE_R = 2,
    PTE_W = 4,
    PTE_X = 8,
    PTE_U = 16,
    PTE_A = 64,
    PTE_D = 128,
};
#define RAM_GPA    0x80000000ull
#define RAM_SIZE   (4ull << 20)
#define ROOT_GPA   0x80100000ull
#define L1_GPA     0x80101000ull
#define L0_GPA     0x80102000ull
#define CODE_LOAD  0x80000000ull
#define CODE_STORE 0x80000010ull
#define TRAP_VEC   0x80000100ull

struct walk_vm {
    uint8_t *ram;
    struct dv_machine *m;
    struct gstage *g;
    struct dv_hart *h;
};

static uint64_t *pte_at(struct walk_vm *vm, uint64_t gpa)
{
    return (uint64_t *)(vm->ram + (gpa - RAM_GPA));
}

static uint64_t pte(uint64_t gpa, uint64_t flags)
{
    return (gpa >> 12) << 10 | flags;
}

static void walk_vm_create(struct walk_vm *vm, unsigned gmode)
{
    vm->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(vm->ram != MAP_FAILED);
    const uint32_t load[] = {0x0005b503 /* ld a0,0(a1) */, 0x00000073 /* ecall */};
    const uint32_t store[] = {0x00c5b023 /* sd a2,0(a1) */, 0x00000073};
    const uint32_t vec[] = {0x00000073};
    memcpy(vm->ram + (CODE_LOAD - RAM_GPA), load, sizeof(load));
    memcpy(vm->ram + (CODE_STORE - RAM_GPA), store, sizeof(store));
    memcpy(vm->ram + (TRAP_VEC - RAM_GPA), vec, sizeof(vec));
    /* VA 0x80000000: a 1 GiB kernel leaf over RAM (code and tables) */
    pte_at(vm, ROOT_GPA)[2] = pte(RAM_GPA, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D);
    /* VA 0x40000000..: a level-1 table */
    pte_at(vm, ROOT_GPA)[1] = pte(L1_GPA, PTE_V);
    pte_at(vm, L1_GPA)[0] = pte(0x80200000, PTE_V | PTE_R | PTE_W); /* 2 MiB, A=D=0 */
    pte_at(vm, L1_GPA)[1] = pte(0x80201000, PTE_V | PTE_R | PTE_A); /* misaligned 2 MiB */
    pte_at(vm, L1_GPA)[2] = pte(L0_GPA, PTE_V);
    pte_at(vm, L0_GPA)[0] = pte(0x80300000, PTE_V | PTE_R | PTE_U | PTE_A); /* user, read-only */
    pte_at(vm, L0_GPA)[1] = pte(0x80301000, PTE_V | PTE_X | PTE_A);         /* execute-only */

    vm->m = dv_machine_create(1);
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RAM_SIZE), DV_OK);
    vm->g = gstage_create(gmode);
    assert_int_equal(gstage_map(vm->g, RAM_GPA, vm->ram, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X),
                     0);
    vm->h = dv_hart_create(vm->m, 0);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 1)), DV_OK);
    dv_csr_write(vm->h, DV_CSR_HUVSTVEC, TRAP_VEC);
    dv_csr_write(vm->h, DV_CSR_HUVSATP, 8ull << 60 | ROOT_GPA >> 12);
}

static void walk_vm_destroy(struct walk_vm *vm)
{
    dv_hart_destroy(vm->h);
    gstage_destroy(vm->g);
    dv_machine_destroy(vm->m);
    munmap(vm->ram, RAM_SIZE);
}

/* Run one access in VS mode; 0 when it completed, else the guest's scause. */
static uint64_t guest_access(struct walk_vm *vm, uint64_t code, uint64_t va, uint64_t sstatus)
{
    dv_csr_write(vm->h, DV_CSR_HUVSSTATUS, sstatus);
    dv_csr_write(vm->h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP);
    dv_csr_write(vm->h, DV_CSR_UEPC, code);
    dv_gpr_set(vm->h, 11, va);
    dv_gpr_set(vm->h, 12, 0x5555);
    assert_int_equal(dv_enter(vm->h), DV_EXIT_ECALL_VS);
    uint64_t epc, cause, tval;
    dv_csr_read(vm->h, DV_CSR_UEPC, &epc);
    if (epc == code + 4)
        return 0;
    assert_int_equal(epc, TRAP_VEC);
    dv_csr_read(vm->h, DV_CSR_HUVSCAUSE, &cause);
    dv_csr_read(vm->h, DV_CSR_HUVSTVAL, &tval);
    assert_int_equal(tval, va);
    return cause;
}

static void check_guest_walk(unsigned gmode)
{
    struct walk_vm vm;
    walk_vm_create(&vm, gmode);
    const uint64_t SUM = 1ull << 18, MXR = 1ull << 19, FS = 1ull << 13;

    /* 2 MiB leaf: data arrives, A is set by the load, D only by a store */
    *(uint64_t *)(vm.ram + 0x200008) = 0x1122334455667788ull;
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40000008, FS), 0);
    assert_int_equal(dv_gpr_get(vm.h, 10), 0x1122334455667788ull);
    assert_int_equal(*pte_at(&vm, L1_GPA) & (PTE_A | PTE_D), PTE_A);
    assert_int_equal(guest_access(&vm, CODE_STORE, 0x40000010, FS), 0);
    assert_int_equal(*pte_at(&vm, L1_GPA) & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_int_equal(*(uint64_t *)(vm.ram + 0x200010), 0x5555);

    /* a superpage whose PPN is not aligned to its size is a page fault */
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40200000, FS), EXC_LOAD_PAGE);
    /* a user page: not for VS without SUM, readable with it, never writable here */
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40400000, FS), EXC_LOAD_PAGE);
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40400000, FS | SUM), 0);
    assert_int_equal(guest_access(&vm, CODE_STORE, 0x40400000, FS | SUM), EXC_STORE_PAGE);
    /* execute-only: readable only with MXR */
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40401000, FS), EXC_LOAD_PAGE);
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40401000, FS | MXR), 0);
    /* unmapped, and non-canonical addresses */
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x40402000, FS), EXC_LOAD_PAGE);
    assert_int_equal(guest_access(&vm, CODE_LOAD, 0x0000008000000000ull, FS), EXC_LOAD_PAGE);
    walk_vm_destroy(&vm);
}

static void test_guest_walk_sv39x4(void **state)
{
    (void)state;
    check_guest_walk(DV_HUGATP_MODE_SV39X4);
}

static void test_guest_walk_sv48x4(void **state)
{
    (void)state;
    check_guest_walk(DV_HUGATP_MODE_SV48X4);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compressed_decodes_like_expansion),
        cmocka_unit_test(test_reserved_encodings_are_illegal),
        cmocka_unit_test(test_bad_hugatp_rejected),
        cmocka_unit_test(test_leaf_outside_windows_exits),
        cmocka_unit_test(test_window_arguments),
        cmocka_unit_test(test_guest_walk_sv39x4),
        cmocka_unit_test(test_guest_walk_sv48x4),
    };
    return cmocka_run_group_tests_name("hart", tests, NULL, NULL);
}
