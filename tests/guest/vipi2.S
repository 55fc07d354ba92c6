/*
 * A vIPI between two harts. Hart 0 (a0 = 0) waits until hart 1 says it is
 * spinning, then asks the hypervisor (HC_RAISE, a0 = 1) to raise hart 1's
 * vipi bit. Hart 1 spins until the harness releases it; its thread must see
 * exactly one USIP exit meanwhile.
 */
#include "common.S"

#define READY   (MAILBOX + 0x40)
#define RELEASE (MAILBOX + 0x80)

    .text
    .globl _start
_start:
    bnez a0, hart1

hart0:
    li s0, READY
1:  lw t0, 0(s0)
    beqz t0, 1b
    li a0, 1
    HCALL HC_RAISE
    PASS 0x70

hart1:
    li s0, READY
    li t0, 1
    sw t0, 0(s0)
    li s1, RELEASE
2:  lw t0, 0(s1)
    beqz t0, 2b
    PASS 0x71
