/* Branchy loop: three branches per iteration decided by bits of an LCG, so
   neither the guest's nor the host's branch predictor can learn them. */
#include "guest.h"

    .text
    .globl _start
_start:
    li      s0, BRANCH_ITERS
    li      s1, LCG_MUL
    li      s2, LCG_ADD
    li      s3, 0x2aaaaaaa      /* a third of the 31-bit range */
    li      t0, 1               /* LCG state */
    li      a0, 0
    li      a1, 0
    li      a2, 0
1:  mul     t0, t0, s1
    add     t0, t0, s2
    srli    t1, t0, 33
    andi    t2, t1, 1
    beqz    t2, 2f
    addi    a0, a0, 3
2:  andi    t2, t1, 2
    bnez    t2, 3f
    xor     a1, a1, t1
3:  bltu    t1, s3, 4f
    addi    a2, a2, 1
4:  addi    s0, s0, -1
    bnez    s0, 1b

    slli    a2, a2, 32
    xor     a0, a0, a1
    xor     a0, a0, a2
    li      a7, BENCH_ECALL_DONE
    ecall
5:  j       5b
