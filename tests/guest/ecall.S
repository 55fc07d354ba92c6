/*
 * Exit on ecall from VS: the hypervisor sees a7, a6 and a0..a5 exactly, with
 * uepc at the ecall (t0 holds its address); the a0/a1 it writes back are what
 * the guest sees after the ecall, and nothing else changed.
 */
#include "common.S"

    .text
    .globl _start
_start:
    li a0, 0x0123456789ABCDEF
    li a1, 0xFEDCBA9876543210
    li a2, 0x8000000000000001
    li a3, 0x7FFFFFFFFFFFFFFE
    li a4, 0xA5A5A5A55A5A5A5A
    li a5, 0x00000000FFFFFFFF
    li a7, HC_EXT
    li a6, HC_ECHO
    lla t0, 1f
1:  ecall
    /* the harness returned these in a0/a1 */
    EXPECT a0, 0x1122334455667788, 1
    EXPECT a1, 0x99AABBCCDDEEFF00, 2
    /* and left everything else alone */
    EXPECT a2, 0x8000000000000001, 3
    EXPECT a3, 0x7FFFFFFFFFFFFFFE, 4
    EXPECT a4, 0xA5A5A5A55A5A5A5A, 5
    EXPECT a5, 0x00000000FFFFFFFF, 6
    EXPECT a6, HC_ECHO, 7
    EXPECT a7, HC_EXT, 8
    lla t1, 1b
    beq t0, t1, 2f
    FAIL 9, t0
2:  PASS 1
