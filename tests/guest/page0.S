/*
 * Misaligned loads and stores in guest page 0, often enough that the JIT
 * translates the loop. Page 0 is never mapped in G-stage, so every access
 * exits (21 load, 23 store) and the harness steps over it. The JIT's inline
 * TLB probe compares the page and the access's alignment bits in one go:
 * an empty TLB entry's tag must never equal such a key (it did for va 1, 9,
 * ...: the host then accessed address 9; found by tests/e2e/hostile.sh).
 */
#include "common.S"

    .text
    .globl _start
_start:
    li s1, 64
1:  lh a0, 1(zero)
    lw a0, 9(zero)
    ld a0, 1(zero)
    sh a0, 1(zero)
    sw a0, 0x7f5(zero)
    sd a0, 9(zero)
    addi s1, s1, -1
    bnez s1, 1b
    PASS 7
