/* ECALL_N ecalls in a row (ten per loop iteration), each one a VM exit. */
#include "guest.h"

    .text
    .globl _start
_start:
    li      a7, BENCH_ECALL_PING
    li      s0, ECALL_N / 10
1:  .rept 10
    ecall
    .endr
    addi    s0, s0, -1
    bnez    s0, 1b

    li      a0, 0
    li      a7, BENCH_ECALL_DONE
    ecall
2:  j       2b
