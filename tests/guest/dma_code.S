/*
 * Code rewritten by a device (DMA). The guest runs some code N times, then
 * asks the harness (HC_DMA, a0 = address, a1 = rewrite number), which stands
 * in for a virtio device: it checks the old bytes, writes new instructions
 * into guest RAM behind the hart's back and calls dv_mem_written() as the
 * VMM's guest-memory accessor does. The guest executes fence.i, as it must
 * before relying on new code (dvext.h), and then must run the new code:
 *   1. d_far, in another page, gets a longer body returning 0x1235
 *   2. d_inline, in this loop's own body and page: `li a0, 1` -> `li a0, 3`
 *   3. d_page, a whole page, becomes li a0, 0; 1022 x addi a0, a0, 1; ret
 *   4. d_half: only the upper 16 bits (the immediate) of `li a0, 1` -> 5
 * FAIL codes: 10*case (+1 after the rewrite); 1..4: the layout is not as described.
 */
#include "common.S"

#define N 1000

    .text
    .globl _start
_start:
    OTHER_PAGE _start, d_far, 1
    OTHER_PAGE _start, d_page, 2
    OTHER_PAGE d_far, d_page, 3
    SAME_PAGE _start, d_inline, 4
    SAME_PAGE _start, d_half, 4

    /* 1. */
    CALLS d_far, N, 1, 10
    lla a0, d_far
    li a1, 1
    HCALL HC_DMA
    fence.i
    CALLS d_far, N, 0x1235, 11

    /* 2. the same loop, before (s7 = 0) and after (s7 = 1) the rewrite */
    li s7, 0
1:  li s1, N
    li s2, 0
    .balign 4
2:
    .option push
    .option norvc
d_inline:
    addi a0, zero, 1
    .option pop
    add s2, s2, a0
    addi s1, s1, -1
    bnez s1, 2b
    bnez s7, 3f
    EXPECT s2, N, 20
    lla a0, d_inline
    li a1, 2
    HCALL HC_DMA
    fence.i
    li s7, 1
    j 1b
3:  EXPECT s2, 3 * N, 21

    /* 3. (the new page is 1024 instructions long: fewer calls) */
    CALLS d_page, N, 1, 30
    lla a0, d_page
    li a1, 3
    HCALL HC_DMA
    fence.i
    CALLS d_page, 20, 1022, 31

    /* 4. */
    CALLS d_half, N, 1, 40
    lla a0, d_half + 2
    li a1, 4
    HCALL HC_DMA
    fence.i
    CALLS d_half, N, 5, 41
    PASS 0x31

    .balign 4
    .option push
    .option norvc
d_half:
    addi a0, zero, 1
    ret

    .balign 4096
d_far:                              /* room for the 4-instruction body */
    addi a0, zero, 1
    ret
    .word 0, 0

    .balign 4096
d_page:
    addi a0, zero, 1
    ret
    .balign 4096
    .option pop
