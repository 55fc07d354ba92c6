/*
 * Count forever, for tests/unit/test_exits.c's vIPI latency: a three-instruction
 * loop that stores its iteration number (1, 2, ...) at COUNTER after each
 * increment and never exits by itself. The harness, on another thread, reads
 * COUNTER right after it raises a vipi; the number in t0 at the USIP exit, less
 * that, is how many iterations the hart ran after the raise.
 */
#include "common.S"

#define COUNTER (MAILBOX + 0x200)

    .text
    .globl _start
_start:
    li s0, COUNTER
    li t0, 0
    .option push
    .option norvc
1:  addi t0, t0, 1
    sd t0, 0(s0)
    j 1b
    .option pop
