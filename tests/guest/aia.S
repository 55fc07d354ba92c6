/*
 * AIA at two harts (test_exits' test_aia_msi, a machine with
 * dv_machine_set_aia at QEMU virt's addresses). Each hart (a0 = hart)
 * enables its IMSIC file through siselect/sireg (eidelivery, eie0) and
 * takes S external interrupts, claiming them with `csrrw stopei` in its trap
 * handler, which records the identity. In order:
 *  1. IPIs by MSI: hart 0 writes identity 3 to hart 1's seteipnum_le, hart 1
 *     writes 4 to hart 0's; each takes exactly its identity.
 *  2. hart 0, eithreshold: a self-MSI of 6 with eithreshold 6 is pending but
 *     neither reported by stopei nor taken; eithreshold 7 lets it in.
 *  3. hart 0 programs the APLIC (MSI mode, wire 10 level-high to hart 1 with
 *     EIID 20) and has the harness raise wire 10 (HC_IRQ): hart 1 takes 20.
 * Only the hypercalls exit: the harness fails on any other exit, so MSIs,
 * claims and APLIC accesses stay in the hart.
 */
#include "common.S"

#define HC_IRQ 8 /* the harness sets wire a0 of the APLIC to level a1 */

#define IMSIC    0x28000000
#define APLIC    0x0d000000
#define CLAIMED  (MAILBOX + 0x100) /* + 64 * hart + 8 * n: the n-th identity claimed */
#define COUNT    (MAILBOX + 0x200) /* + 8 * hart: interrupts taken */
#define STAGE    (MAILBOX + 0x300) /* hart 0 tells hart 1 what comes next */
#define SAVE     (MAILBOX + 0x400) /* + 64 * hart: the handler's saved registers */

#define SISELECT 0x150
#define SIREG    0x151
#define STOPEI   0x15c
#define STOPI    0xdb0

    .text
    .globl _start
_start:
    mv tp, a0
    lla t0, handler
    csrw stvec, t0
    li t0, SAVE
    slli t1, tp, 6
    add t0, t0, t1
    csrw sscratch, t0
    /* eidelivery = 1, identities 1..63 enabled */
    li t0, 0x70
    csrw SISELECT, t0
    li t0, 1
    csrw SIREG, t0
    li t0, 0xc0
    csrw SISELECT, t0
    li t0, -2
    csrw SIREG, t0
    csrr t1, SIREG
    EXPECT t1, -2, 1
    li t0, 0x200 /* SEIE */
    csrs sie, t0
    csrsi sstatus, 2
    bnez tp, hart1

hart0:
    /* 1. IPI to hart 1 (identity 3), wait for hart 1's (identity 4) */
    li t0, IMSIC + 0x1000
    li t1, 3
    sw t1, 0(t0)
    li s0, COUNT
1:  ld t1, 0(s0)
    beqz t1, 1b
    li s1, CLAIMED
    ld t1, 0(s1)
    EXPECT t1, 4, 10
    /* 2. eithreshold 6 hides identity 6 */
    csrci sstatus, 2
    li t0, 0x72
    csrw SISELECT, t0
    li t0, 6
    csrw SIREG, t0
    li t0, IMSIC
    li t1, 6
    sw t1, 0(t0)
    fence
    csrr t1, STOPEI
    EXPECT t1, 0, 11
    li t0, 0x80
    csrw SISELECT, t0
    csrr t1, SIREG
    EXPECT t1, 0x40, 12 /* pending in eip0 */
    li t0, 0x72
    csrw SISELECT, t0
    li t0, 7
    csrw SIREG, t0
    csrr t1, STOPEI
    EXPECT t1, (6 << 16) | 6, 13
    csrr t1, STOPI
    EXPECT t1, (9 << 16) | 1, 14 /* S external, IPRIO 1 */
    csrsi sstatus, 2 /* taken now */
2:  ld t1, 0(s0)
    li t2, 2
    bne t1, t2, 2b
    ld t1, 8(s1)
    EXPECT t1, 6, 15
    csrr t1, STOPEI
    EXPECT t1, 0, 16
    /* 3. APLIC: MSI mode, wire 10 level-high -> hart 1, EIID 20 */
    li s2, APLIC
    li t0, 0x104 /* IE | DM */
    sw t0, 0(s2)
    lwu t1, 0(s2)
    EXPECT t1, 0x80000104, 20
    li t0, 6 /* Level1 */
    sw t0, 4 * 10(s2)
    li t0, (1 << 18) | 20
    li t2, 0x3000 + 4 * 10
    add t2, t2, s2
    sw t0, 0(t2)
    li t0, 10
    li t2, 0x1edc /* setienum */
    add t2, t2, s2
    sw t0, 0(t2)
    /* stage 1 is announced before the wire rises: hart 1 may take 20 at once */
    li t0, STAGE
    li t1, 1
    sd t1, 0(t0)
    li a0, 10
    li a1, 1
    HCALL HC_IRQ
    /* wait for hart 1 to take 20, then lower the wire */
    li s3, COUNT + 8
3:  ld t1, 0(s3)
    li t2, 2
    bne t1, t2, 3b
    li a0, 10
    li a1, 0
    HCALL HC_IRQ
    PASS 0xa0

hart1:
    /* 1. IPI to hart 0 (identity 4), wait for hart 0's (identity 3) */
    li t0, IMSIC
    li t1, 4
    sw t1, 0(t0)
    li s0, COUNT + 8
1:  ld t1, 0(s0)
    beqz t1, 1b
    li s1, CLAIMED + 64
    ld t1, 0(s1)
    EXPECT t1, 3, 30
    /* 3. the APLIC's MSI for wire 10 */
2:  ld t1, 0(s0)
    li t2, 2
    bne t1, t2, 2b
    ld t1, 8(s1)
    EXPECT t1, 20, 31
    li t0, STAGE
    ld t1, 0(t0)
    EXPECT t1, 1, 32
    PASS 0xa1

    .balign 4
handler:
    csrrw t6, sscratch, t6 /* t6 = this hart's save area */
    sd t3, 0(t6)
    sd t4, 8(t6)
    sd t5, 16(t6)
    csrr t3, scause
    li t4, (1 << 63) | 9
    beq t3, t4, 1f
    FAIL 40, t3
1:  csrrw t3, STOPEI, zero
    srli t3, t3, 16
    beqz t3, 2f /* spurious */
    slli t4, tp, 3
    li t5, COUNT
    add t5, t5, t4
    ld t4, 0(t5)
    addi t4, t4, 1
    sd t4, 0(t5)
    slli t4, t4, 3 /* (n + 1) * 8 */
    slli t5, tp, 6
    add t4, t4, t5
    li t5, CLAIMED - 8
    add t5, t5, t4
    sd t3, 0(t5)
2:  ld t3, 0(t6)
    ld t4, 8(t6)
    ld t5, 16(t6)
    csrrw t6, sscratch, t6
    sret
