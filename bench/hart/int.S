/* Integer ALU loop: adds, xors, shifts and a multiply, 10 instructions per
   iteration, no memory access. Result: a mix of the three accumulators. */
#include "guest.h"

    .text
    .globl _start
_start:
    li      s0, INT_ITERS
    li      a0, 1
    li      a1, LCG_MUL
    li      a2, 0
1:  add     a2, a2, a0
    xor     a3, a2, a1
    slli    a4, a3, 7
    srli    a5, a3, 9
    or      a0, a4, a5
    mul     a1, a1, a0
    addi    a1, a1, 1
    sub     a2, a2, a5
    addi    s0, s0, -1
    bnez    s0, 1b

    xor     a0, a0, a1
    xor     a0, a0, a2
    li      a7, BENCH_ECALL_DONE
    ecall
2:  j       2b
