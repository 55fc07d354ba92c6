/*
 * Spin until the harness writes a nonzero word at MAILBOX, then PASS with that
 * word in a0. Used for the vtimer and vIPI exits, which must interrupt the
 * loop (and happen exactly as often as the test expects).
 */
#include "common.S"

    .text
    .globl _start
_start:
    li s0, MAILBOX
1:  lw a0, 0(s0)
    beqz a0, 1b
    HCALL HC_PASS
    j .
