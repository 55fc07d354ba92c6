/*
 * MMIO_N loads from unmapped guest-physical memory (ten per loop iteration,
 * alternating 32-bit lw and 16-bit c.lw), each one a load guest-page fault
 * exit. The driver answers exit k with the value k; the result is the sum of
 * everything loaded, MMIO_N * (MMIO_N + 1) / 2 if every answer reached the
 * right register. The adds and the loop cost the hart 1.2 instructions per
 * exit, which the per-exit figure includes (as the ecall one includes 0.2).
 */
#include "guest.h"

/* a 32-bit lw, never compressed */
.macro lw32 rd, off
    .option push
    .option norvc
    lw      \rd, \off(s1)
    .option pop
.endm

    .text
    .globl _start
_start:
    li      s1, BENCH_MMIO_GPA
    li      s0, MMIO_N / 10
    li      a0, 0
1:  lw32    t0, 0
    c.lw    a1, 4(s1)
    lw32    t1, 8
    c.lw    a2, 12(s1)
    lw32    t2, 16
    c.lw    a3, 20(s1)
    lw32    t3, 24
    c.lw    a4, 28(s1)
    lw32    t4, 32
    c.lw    a5, 36(s1)
    add     a0, a0, t0
    add     a0, a0, a1
    add     a0, a0, t1
    add     a0, a0, a2
    add     a0, a0, t2
    add     a0, a0, a3
    add     a0, a0, t3
    add     a0, a0, a4
    add     a0, a0, t4
    add     a0, a0, a5
    addi    s0, s0, -1
    bnez    s0, 1b

    li      a7, BENCH_ECALL_DONE
    ecall
2:  j       2b
