/*
 * Memory-bound loop over two 4 MiB arrays of guest RAM:
 *  1. fill the chase array with a random single-cycle permutation (Sattolo),
 *  2. chase it for MEM_CHASE laps (each load depends on the one before),
 *  3. stream over the second array MEM_PASSES times, summing and
 *     incrementing every slot.
 * Result: 0 if the chase came back to slot 0 and the sum is right, else 1.
 */
#include "guest.h"

#define CHASE  (BENCH_RAM_BASE + 0x200000)
#define STREAM (CHASE + MEM_SLOTS * 8)

    .text
    .globl _start
_start:
    li      s1, CHASE
    li      s2, MEM_SLOTS

    /* 1a. a[i] = i */
    mv      t0, s1
    li      t1, 0
1:  sd      t1, 0(t0)
    addi    t1, t1, 1
    addi    t0, t0, 8
    bne     t1, s2, 1b

    /* 1b. for i = n-1 .. 1: swap a[i] with a[j], j random in [0, i) */
    li      s3, LCG_MUL
    li      s4, LCG_ADD
    li      t6, 1
    addi    t1, s2, -1
2:  mul     t6, t6, s3
    add     t6, t6, s4
    srli    t2, t6, 16
    remu    t2, t2, t1
    slli    t3, t1, 3
    add     t3, t3, s1
    slli    t4, t2, 3
    add     t4, t4, s1
    ld      t5, 0(t3)
    ld      a0, 0(t4)
    sd      a0, 0(t3)
    sd      t5, 0(t4)
    addi    t1, t1, -1
    bnez    t1, 2b

    /* 2. chase, four dependent loads per iteration */
    li      t0, 0
    li      t1, MEM_CHASE * MEM_SLOTS / 4
3:  .rept 4
    slli    t2, t0, 3
    add     t2, t2, s1
    ld      t0, 0(t2)
    .endr
    addi    t1, t1, -1
    bnez    t1, 3b
    mv      s5, t0              /* 0 after whole laps of one cycle */

    /* 3. stream: sum += b[i]; b[i] += 1, four slots per iteration */
    li      a1, 0
    li      t3, MEM_PASSES
4:  li      t0, STREAM
    li      t1, MEM_SLOTS / 4
5:  ld      t2, 0(t0)
    ld      t4, 8(t0)
    ld      t5, 16(t0)
    ld      t6, 24(t0)
    add     a1, a1, t2
    add     a1, a1, t4
    add     a1, a1, t5
    add     a1, a1, t6
    addi    t2, t2, 1
    addi    t4, t4, 1
    addi    t5, t5, 1
    addi    t6, t6, 1
    sd      t2, 0(t0)
    sd      t4, 8(t0)
    sd      t5, 16(t0)
    sd      t6, 24(t0)
    addi    t0, t0, 32
    addi    t1, t1, -1
    bnez    t1, 5b
    addi    t3, t3, -1
    bnez    t3, 4b

    li      t0, MEM_SLOTS * (MEM_PASSES * (MEM_PASSES - 1) / 2)
    li      a0, 1
    bnez    s5, 6f
    bne     a1, t0, 6f
    li      a0, 0
6:  li      a7, BENCH_ECALL_DONE
    ecall
7:  j       7b
