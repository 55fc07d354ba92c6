/*
 * A hot loop over more pages than a 256-entry TLB holds, under the guest's
 * Sv39 paging (tables built by the harness: satp in a0 at entry). Iteration
 * i (of a4) works on data pages j = i % a2 and j2 = (j + H) % a2, at
 * VA(j) = a3 + j * s3 (s3 = 1 MiB: every page lands in the same slot of a
 * direct-mapped TLB indexed by VA bits 12 and up):
 *     s4 += page j [8];  s5 ^= page j2 [16];  page j [24] = s4 + s5 (read back)
 * The harness computes the final s4, s5 and every page's word 24 in C.
 * One page F has its leaf invalid: the first access to it, the load at `mid`
 * in iteration J = F - H of the first pass, is a page fault to the guest's
 * handler, which saves instret, sepc, scause, stval, the iteration counter
 * s2, and t1 / s4 / s5 at MAILBOX + 0x100 (gp), writes the valid leaf (s11)
 * at s10 (the harness's values), sfence.vma and retries the load.
 * Registers for the harness: s6 = instret just before the loop, a5 = loop,
 * s7 = mid, a1 = loop_end (every instruction in the loop is 4 bytes).
 */
#include "common.S"

#define H    100
#define SAVE (MAILBOX + 0x100)

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    csrw satp, a0
    sfence.vma
    li gp, SAVE
    li s2, 0
    li s4, 0
    li s5, 0
    li s8, 0
    lla a5, loop
    lla s7, mid
    lla a1, loop_end
    csrr s6, instret
    .option push
    .option norvc
loop:
    remu t5, s2, a2                 /* j */
    mul t6, t5, s3
    add s0, t6, a3                  /* VA(j) */
    addi t5, t5, H
    remu t5, t5, a2                 /* j2 */
    mul t6, t5, s3
    add s1, t6, a3                  /* VA(j2) */
    ld t1, 8(s0)
    add s4, s4, t1
mid:
    ld t2, 16(s1)
    xor s5, s5, t2
    add t3, s4, s5
    sd t3, 24(s0)
    ld t4, 24(s0)
    bne t4, t3, bad
    addi s2, s2, 1
    bltu s2, a4, loop
loop_end:
    .option pop
    PASS 0x70
bad:
    FAIL 1, t4

    .balign 4
handler:
    csrr tp, instret
    sd tp, 0(gp)
    csrr tp, sepc
    sd tp, 8(gp)
    csrr tp, scause
    sd tp, 16(gp)
    csrr tp, stval
    sd tp, 24(gp)
    sd s2, 32(gp)
    sd t1, 40(gp)
    sd s4, 48(gp)
    sd s5, 56(gp)
    addi s8, s8, 1
    sd s11, 0(s10)
    sfence.vma
    sret
