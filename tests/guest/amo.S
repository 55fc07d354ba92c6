/*
 * Atomics across two harts on two host threads: each hart does N amoadd.d,
 * N lr.d/sc.d increments and N amoadd.w on shared counters; the harness
 * checks the totals (2N each) once both harts passed.
 */
#include "common.S"

#define ARRIVE  (MAILBOX + 0x000)
#define COUNT_A (MAILBOX + 0x040)
#define COUNT_B (MAILBOX + 0x080)
#define COUNT_W (MAILBOX + 0x0C0)
#define N       20000

    .text
    .globl _start
_start:
    /* rendezvous, so that both harts hit the counters at the same time */
    li s0, ARRIVE
    li t0, 1
    amoadd.w zero, t0, (s0)
    li t2, 2
1:  lw t1, 0(s0)
    blt t1, t2, 1b

    li s1, COUNT_A
    li s2, N
2:  amoadd.d t3, t0, (s1)
    addi s2, s2, -1
    bnez s2, 2b

    li s1, COUNT_B
    li s2, N
3:  lr.d t1, (s1)
    addi t1, t1, 1
    sc.d t2, t1, (s1)
    bnez t2, 3b
    addi s2, s2, -1
    bnez s2, 3b

    li s1, COUNT_W
    li s2, N
4:  amoadd.w t3, t0, (s1)
    addi s2, s2, -1
    bnez s2, 4b
    PASS 9
