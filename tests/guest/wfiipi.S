/*
 * WFI with hustatus.VTW = 0 and no guest interrupt enabled: the hart blocks
 * until the harness's other thread raises this hart's vipi bit; that wakes it
 * with one USIP exit, taken at the instruction after the wfi (t6 + 4). The
 * loop allows a spurious wake-up; the harness then releases it via MAILBOX.
 */
#include "common.S"

    .text
    .globl _start
_start:
    li s0, MAILBOX
    lla t6, 1f
1:  wfi
    lw a0, 0(s0)
    beqz a0, 1b
    HCALL HC_PASS
    j .
