/*
 * Self-modifying code on one hart. Each case first runs the code N times (far
 * more than any JIT's hotness threshold, so a translator has compiled it),
 * then overwrites some of its bytes with ordinary stores, executes fence.i and
 * checks that the new instructions run, N times again. After fence.i a
 * RISC-V hart must fetch what the stores wrote (Zifencei), so stale
 * translated code shows up as the old result:
 *   1. a 32-bit `li a0, 1` in a function in this (the caller's) page -> `li a0, 2`
 *   2. a compressed `c.li a0, 1` -> `c.li a0, 2` (a 16-bit store)
 *   3. only the upper half of a 32-bit instruction (its immediate): 1 -> 5
 *   4. a 32-bit instruction -> two compressed ones (c.li a0, 3; c.addi a0, 4)
 *   5. a function in another page -> `li a0, 2`
 *   6. a 32-bit instruction straddling two pages: its upper half, in the next
 *      page, changes (1 -> 5)
 *   7. a loop patches an instruction of its own body half-way through
 *   8. straight-line code: a store overwrites the instruction just after the
 *      following fence.i, with a new immediate on each of M iterations
 *   9. a called function overwrites the instruction its caller returns to,
 *      on each of M iterations
 * FAIL codes: 10*case (+1 after the patch); 1..9: the layout is not as described.
 */
#include "common.S"

#define N 1000
/* Iterations of cases 8 and 9, each rewriting its page once: enough to get
   hot, few enough that a JIT keeps translating the page (the one in
   src/hart/jit leaves a page rewritten 64 times to the interpreter). */
#define M 48

/* PATCH32 / PATCH16 target, template: copy the template's bits over target, then fence.i */
.macro PATCH32 target, template
    lla t0, \target
    lw t1, \template
    sw t1, 0(t0)
    fence.i
.endm

.macro PATCH16 target, template
    lla t0, \target
    lhu t1, \template
    sh t1, 0(t0)
    fence.i
.endm

/* PATCH_HI target, template: only the upper 16 bits of the 32-bit template, at target + 2 */
.macro PATCH_HI target, template
    lla t0, \target
    lw t1, \template
    srli t1, t1, 16
    sh t1, 2(t0)
    fence.i
.endm

    .text
    .globl _start
_start:
    SAME_PAGE _start, near32, 1
    SAME_PAGE _start, nearc, 2
    SAME_PAGE _start, half, 3
    SAME_PAGE _start, len, 4
    SAME_PAGE _start, selfpatch, 7
    SAME_PAGE case8, nextinsn, 8
    SAME_PAGE case9, retpatch, 9
    OTHER_PAGE _start, case8, 8
    OTHER_PAGE _start, case9, 9
    OTHER_PAGE case8, case9, 9
    OTHER_PAGE _start, far32, 5
    OTHER_PAGE cross, cross_hi, 6

    /* 1. */
    CALLS near32, N, 1, 10
    PATCH32 near32, t_li2
    CALLS near32, N, 2, 11
    /* 2. */
    CALLS nearc, N, 1, 20
    PATCH16 nearc, t_cli2
    CALLS nearc, N, 2, 21
    /* 3. */
    CALLS half, N, 1, 30
    PATCH_HI half, t_li5
    CALLS half, N, 5, 31
    /* 4. */
    CALLS len, N, 1, 40
    PATCH32 len, t_cli3_caddi4
    CALLS len, N, 7, 41
    /* 5. */
    CALLS far32, N, 1, 50
    PATCH32 far32, t_li2
    CALLS far32, N, 2, 51
    /* 6. */
    CALLS cross, N, 1, 60
    PATCH_HI cross, t_li5
    CALLS cross, N, 5, 61

    /* 7. N iterations adding a0; the first N/2 see 1, the rest 2 */
    li s1, N
    li s2, 0
    li s3, N / 2
    .balign 4                       /* the patching stores are aligned */
1:
    .option push
    .option norvc
selfpatch:
    addi a0, zero, 1
    .option pop
    add s2, s2, a0
    addi s1, s1, -1
    bne s1, s3, 2f
    PATCH32 selfpatch, t_li2
2:  bnez s1, 1b
    EXPECT s2, N / 2 * 3, 71

    /* 8., 9. */
    call case8
    call case9
    PASS 0x51

/* a2 = i (< 2048): store `li a0, i` at ra, fence.i, return there */
patch_ra:
    lw t1, t_li0
    slli t2, a2, 20
    or t1, t1, t2
    sw t1, 0(ra)
    fence.i
    ret

/* the functions that get patched, all `return 1` */
    .balign 4
    .option push
    .option norvc
near32:
    addi a0, zero, 1
    ret
half:
    addi a0, zero, 1
    ret
len:
    addi a0, zero, 1
    ret
    .option pop
nearc:
    c.li a0, 1
    c.jr ra

/* templates, read as data */
    .balign 4
    .option push
    .option norvc
t_li0:
    addi a0, zero, 0
t_li2:
    addi a0, zero, 2
t_li5:
    addi a0, zero, 5
    .option pop
t_cli3_caddi4:
    c.li a0, 3
    c.addi a0, 4
t_cli2:
    c.li a0, 2

/* the next page: case 5's function at its start, case 6's at its very end */
    .balign 4096
    .option push
    .option norvc
far32:
    addi a0, zero, 1
    ret
    .balign 2048
    .skip 2046
cross:                              /* 4 bytes: 2 in this page, 2 in the next */
    addi a0, zero, 1
    .set cross_hi, cross + 2
    ret
    .option pop

/* 8. in a page of its own (its code is rewritten M times): iteration i
   writes `li a0, i` into the instruction after its fence.i */
    .balign 4096
case8:
    li s1, 0
3:  lw t1, t_li0
    slli t2, s1, 20
    or t1, t1, t2
    lla t0, nextinsn
    sw t1, 0(t0)
    fence.i
    .balign 4
    .option push
    .option norvc
nextinsn:
    addi a0, zero, 0
    .option pop
    beq a0, s1, 4f
    FAIL 81, a0
4:  addi s1, s1, 1
    li t0, M
    bltu s1, t0, 3b
    ret

/* 9. likewise: iteration i's callee (in the first page) writes `li a0, i` at
   its return address */
    .balign 4096
case9:
    mv s10, ra
    li s1, 0
5:  mv a2, s1
    .balign 4                       /* call is 8 bytes: retpatch is aligned too */
    call patch_ra
    .option push
    .option norvc
retpatch:
    addi a0, zero, 0
    .option pop
    beq a0, s1, 6f
    FAIL 91, a0
6:  addi s1, s1, 1
    li t0, M
    bltu s1, t0, 5b
    jr s10
