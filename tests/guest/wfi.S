/*
 * WFI. Phase 1 (hustatus.VTW = 1): wfi is a virtual-instruction exit (22)
 * with utval = its bits; the harness steps over it and clears VTW.
 * Phase 2 (VTW = 0): the guest arms its own Sstc timer (stimecmp, 0x14D)
 * 200 ms ahead, with sie.STIE = 1 and sstatus.SIE = 0, and waits in wfi until
 * sip.STIP shows. Between the two HC_MARKs the harness measures how much CPU
 * the hart's thread burnt: a blocking wfi burns little.
 */
#include "common.S"

#define STIMECMP 0x14D
#define STIP     0x20

    .text
    .globl _start
_start:
    TOUCH wfi                       /* exit 22 */

    li t0, STIP
    csrs sie, t0
    csrci sstatus, 2                /* SIE = 0: the interrupt is never taken */
    rdtime s0
    li t0, 2000000                  /* 200 ms at 10 MHz */
    add s1, s0, t0
    li a0, 0
    HCALL HC_MARK
    csrw STIMECMP, s1
1:  wfi
    csrr t0, sip
    andi t0, t0, STIP
    beqz t0, 1b
    rdtime s2
    li a0, 1
    HCALL HC_MARK
    /* STIP rose no earlier than stimecmp */
    bgeu s2, s1, 2f
    FAIL 1, s2
2:  /* and falls again once stimecmp is in the future */
    li t0, -1
    csrw STIMECMP, t0
    csrr t0, sip
    andi t0, t0, STIP
    EXPECT t0, 0, 2
    PASS 8
