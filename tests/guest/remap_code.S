/*
 * The same guest virtual address, different code, under the guest's own
 * Sv39 paging. The guest builds two address spaces: ROOT (ASID 1) maps VA to
 * page_a through ROOT -> L1T -> L0T, ROOT2 (ASID 2) maps VA to page_b; both
 * map 0x80000000.. as a 1 GiB identity leaf (code, tables, data). page_a's
 * code returns 0xA, page_b's 0xB. Each step calls VA N times, so stale
 * translated code keyed by the virtual address shows up as the old value:
 *   1. VA -> A                      2. leaf rewritten to B, sfence.vma: 0xB
 *   3. back to A: 0xA               4. satp switches ROOT2 / ROOT: 0xB / 0xA
 *      (sfence.vma after each switch only if ASIDs read back as 0)
 *   5. VA2 -> A as well; page_a patched through the identity map + fence.i:
 *      both VA and VA2 return 0xC
 *   6. VA's leaf loses X, sfence.vma: the call is an instruction page fault
 *      (12, stval = sepc = VA) delivered to the guest, not the old code; the
 *      handler returns to the caller with a0 = 0x7F; X back: 0xC again
 *   7. only when a0 = 1 at entry: the hypervisor remaps page_a's
 *      guest-physical page in the G-stage to page_c's host page (HC_MARK 1,
 *      a1 = page_a, a2 = page_c) and fences the G-stage: 0xD, without any
 *      guest fence; then back (HC_MARK 2): 0xC
 * FAIL codes: 10*step (+1, +2 ...); TRAPPED uses 60..63.
 */
#include "common.S"

#define ROOT   0x80100000
#define L1T    0x80101000
#define L0T    0x80102000
#define ROOT2  0x80103000
#define L1B    0x80104000
#define L0B    0x80105000
#define VA     0x40000000
#define VA2    0x40001000
#define PTE_V  0x01
#define PTE_R  0x02
#define PTE_W  0x04
#define PTE_X  0x08
#define PTE_A  0x40
#define PTE_D  0x80
#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
#define LEAF_X (PTE_V | PTE_R | PTE_X | PTE_A)
#define SATP1  ((8 << 60) | (1 << 44) | (ROOT >> 12))
#define SATP2  ((8 << 60) | (2 << 44) | (ROOT2 >> 12))
#define N      1000

/* LEAF table, index, page, flags: table[index] = PTE(page, flags), then sfence.vma */
.macro LEAF table, index, page, flags
    li t0, \table
    lla t1, \page
    srli t1, t1, 12
    slli t1, t1, 10
    ori t1, t1, \flags
    sd t1, 8 * \index(t0)
    sfence.vma
.endm

/* SATP value: switch address spaces; sfence.vma only when ASIDs are not kept (s5 = 1) */
.macro SATP value
    li t0, \value
    csrw satp, t0
    beqz s5, .Lsatp\@
    sfence.vma
.Lsatp\@:
.endm

    .text
    .globl _start
_start:
    mv s6, a0                       /* 1: do step 7 */
    lla t0, handler
    csrw stvec, t0
    li s8, 0

    li t0, ROOT
    li t1, L0B + 4096
1:  sd zero, 0(t0)
    addi t0, t0, 8
    bltu t0, t1, 1b
    li t1, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    li t0, ROOT
    sd t1, 16(t0)
    li t0, ROOT2
    sd t1, 16(t0)
    li t0, ROOT
    li t1, PTE(L1T, PTE_V)
    sd t1, 8(t0)
    li t0, L1T
    li t1, PTE(L0T, PTE_V)
    sd t1, 0(t0)
    li t0, ROOT2
    li t1, PTE(L1B, PTE_V)
    sd t1, 8(t0)
    li t0, L1B
    li t1, PTE(L0B, PTE_V)
    sd t1, 0(t0)
    LEAF L0T, 0, page_a, LEAF_X
    LEAF L0B, 0, page_b, LEAF_X

    li t0, SATP1
    csrw satp, t0
    sfence.vma
    csrr t1, satp                   /* ASIDs kept? (then a satp switch needs no fence) */
    srli t1, t1, 44
    slli t1, t1, 48
    seqz s5, t1

    li s0, VA
    li s3, VA2
    /* 1. */
    CALLR s0, N, 0xA, 10
    /* 2. */
    LEAF L0T, 0, page_b, LEAF_X
    CALLR s0, N, 0xB, 20
    /* 3. */
    LEAF L0T, 0, page_a, LEAF_X
    CALLR s0, N, 0xA, 30

    /* 4. */
    li s2, 100
2:  SATP SATP2
    jalr s0
    li t5, 0xB
    beq a0, t5, 3f
    FAIL 40, a0
3:  SATP SATP1
    jalr s0
    li t5, 0xA
    beq a0, t5, 4f
    FAIL 41, a0
4:  addi s2, s2, -1
    bnez s2, 2b

    /* 5. */
    LEAF L0T, 1, page_a, LEAF_X
    CALLR s3, N, 0xA, 50
    lla t0, page_a
    lw t1, t_li_c
    sw t1, 0(t0)
    fence.i
    CALLR s0, N, 0xC, 51
    CALLR s3, N, 0xC, 52

    /* 6. */
    LEAF L0T, 0, page_a, PTE_V | PTE_R | PTE_A
    li s7, VA
    li a0, 0
    jalr s0
    TRAPPED 1, 12, VA, 60
    EXPECT a0, 0x7F, 64
    LEAF L0T, 0, page_a, LEAF_X
    CALLR s0, N, 0xC, 65

    /* 7. */
    beqz s6, 5f
    lla a1, page_a
    lla a2, page_c
    li a0, 1
    HCALL HC_MARK
    CALLR s0, N, 0xD, 70
    lla a1, page_a
    li a0, 2
    HCALL HC_MARK
    CALLR s0, N, 0xC, 71
5:  PASS 0x41

    .balign 4
handler:                            /* record, then return to the caller with a0 = 0x7F */
    csrr s9, scause
    csrr s10, stval
    csrr s11, sepc
    addi s8, s8, 1
    li a0, 0x7F
    csrw sepc, ra
    sret

    .balign 4
    .option push
    .option norvc
t_li_c:
    addi a0, zero, 0xC

    .balign 4096
page_a:
    addi a0, zero, 0xA
    ret
    .option pop
    .balign 4096
page_b:                             /* a different shape: compressed */
    c.li a0, 0xB
    c.jr ra
    .balign 4096
    .option push
    .option norvc
page_c:
    addi a0, zero, 0xD
    ret
    .option pop
    .balign 4096
