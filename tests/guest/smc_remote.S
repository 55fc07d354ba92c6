/*
 * Cross-hart code modification with a remote fence.i, in ROUNDS rounds.
 * Hart 0 loops forever over code that returns v (a call to r_far in another
 * page, and r_inline in the loop's own body). Once it has run round r's code
 * WARM times it sets READY = r; hart 1 then stores code returning v + 1 over
 * both, asks the hypervisor for fence.i on hart 0 (HC_FENCE_I, a0 = 0: vipi,
 * USIP exit, dv_fence_i on hart 0's thread, as the VMM's SBI remote fence.i)
 * and, after that returns, sets FENCED = r. Hart 0 reads FENCED at the end of
 * every iteration; the iteration after it saw FENCED = r must run only the
 * new code (RISC-V: once the remote fence.i has completed, the target's
 * fetches see the stores). Before READY only the old code may run; between
 * READY and FENCED either. So stale translated code on hart 0 is FAIL 20/21,
 * and a hart 0 that never takes the USIP exit hangs hart 1's HC_FENCE_I.
 * Hart 0 PASSes 0x20 after the last round, hart 1 0x21. Hart 1 first stores
 * to a data word in each code page (scratch0, scratch1), so the patches may
 * meet a store translation it made before those pages held translated code.
 */
#include "common.S"

#define READY  (MAILBOX + 0x40)
#define FENCED (MAILBOX + 0x80)
#define WARM   2000
#define ROUNDS 3

    .text
    .globl _start
_start:
    bnez a0, hart1

hart0:
    SAME_PAGE hart0, r_inline, 1
    OTHER_PAGE hart0, r_far, 2
    li s0, READY
    li s6, FENCED
    li s4, 1                        /* v: what round s7's code returns */
    li s7, 1                        /* round */
    li s3, 0                        /* FENCED == round, seen in an earlier iteration */
    li s2, 0                        /* iterations in this round */
    .balign 4                       /* call is 8 bytes: r_inline is aligned for hart 1's sw */
loop0:
    call r_far                      /* a0 */
    .option push
    .option norvc
r_inline:
    addi a1, zero, 1                /* a1 */
    .option pop
    bnez s3, fenced
    sub t0, a0, s4
    sub t1, a1, s4
    li t3, WARM
    bgeu s2, t3, 1f
    or t2, t0, t1                   /* before READY: exactly v */
    beqz t2, 2f
    FAIL 10, a0
1:  li t3, 1                        /* after READY: v or v + 1 */
    bleu t0, t3, 3f
    FAIL 11, a0
3:  bleu t1, t3, 2f
    FAIL 12, a1
2:  addi s2, s2, 1
    li t3, WARM
    bne s2, t3, 4f
    sw s7, 0(s0)                    /* READY = round */
4:  lw t0, 0(s6)
    sub t0, t0, s7
    seqz s3, t0
    j loop0

fenced:                             /* the fence completed before this iteration began */
    addi t0, s4, 1
    beq a0, t0, 5f
    FAIL 20, a0
5:  beq a1, t0, 6f
    FAIL 21, a1
6:  mv s4, t0
    addi s7, s7, 1
    li s2, 0
    li s3, 0
    li t0, ROUNDS + 1
    bne s7, t0, loop0
    PASS 0x20

hart1:
    /* a store into each code page while they may still be plain data: if
       hart 1's TLB keeps a store translation for a page that hart 0 then
       translates code from, the patches below must still be seen */
    lla t0, scratch0
    sw a0, 0(t0)
    lla t0, scratch1
    sw a0, 0(t0)
    li s0, READY
    li s6, FENCED
    li s7, 1
    lla s8, r_far
    lla s9, r_inline
    lw s10, t_li_a0
    lw s11, t_li_a1
7:  lw t0, 0(s0)
    bne t0, s7, 7b
    addi t1, s7, 1                  /* round r's new code returns r + 1 */
    slli t1, t1, 20
    or t2, s10, t1
    sw t2, 0(s8)
    or t2, s11, t1
    sw t2, 0(s9)
    li a0, 0
    HCALL HC_FENCE_I
    sw s7, 0(s6)                    /* FENCED = round */
    addi s7, s7, 1
    li t0, ROUNDS + 1
    bne s7, t0, 7b
    PASS 0x21

    .balign 4
    .option push
    .option norvc
t_li_a0:
    addi a0, zero, 0
t_li_a1:
    addi a1, zero, 0
scratch0:
    .word 0

    .balign 4096
r_far:
    addi a0, zero, 1
    ret
scratch1:
    .word 0
    .option pop
