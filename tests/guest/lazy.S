/*
 * Lazy G-stage mapping: only this first page (0x80000000) is mapped when the
 * guest starts. Each first touch of another page is a guest-page fault exit
 * (21 load, 23 store, 20 fetch); the harness maps the page and re-enters at
 * the same uepc, and the access then completes with the right data.
 * TOUCH leaves the faulting instruction's address in t6.
 */
#include "common.S"

    .text
    .globl _start
_start:
    li t1, 0x1111222233334444

    /* 1. store with an immediate: exit 23 at 0x80100008, then the store lands */
    li t0, 0x80100000
    TOUCH sd t1, 8(t0)
    ld t2, 8(t0)
    EXPECT t2, 0x1111222233334444, 1

    /* 2. load of a page's last doubleword: exit 21; the harness pre-filled it */
    li t0, 0x80200FF8
    TOUCH ld a0, 0(t0)
    EXPECT a0, 0x0123456789ABCDEF, 2

    /* 3. store to a page's last doubleword with a negative offset: exit 23 */
    li t0, 0x80301000
    TOUCH sd t1, -8(t0)
    ld t2, -8(t0)
    EXPECT t2, 0x1111222233334444, 3

    /* 4. word load: exit 21; the harness pre-filled 0x80000001 (sign-extended) */
    li t0, 0x80400000
    TOUCH lw a1, 4(t0)
    EXPECT a1, 0xFFFFFFFF80000001, 4

    /* 5. call into the image's second page: instruction guest-page fault 20 */
    li a0, 0
    lla t6, far
    jalr t6
    EXPECT a0, 0x5A, 5
    PASS 3

    .balign 4096
far:
    li a0, 0x5A
    ret
