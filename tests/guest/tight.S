/*
 * Tight loops that never exit by themselves, for interrupts a JIT could
 * miss if it only looked for them outside hot code. a0 at entry picks one:
 *   0: loop0: addi t0, t0, 1; j loop0
 *   1: loop1: seven instructions, ALU ops and a load of the word at
 *      s0 = MAILBOX + 0x100 (written by the harness)
 *   2: loop2: c.j loop2
 * Each zeroes t0..t4, puts the loop's address in s2 and `done` in s11, and
 * makes HC_MARK 0 right before the loop (so the harness knows instret at the
 * loop's first instruction). The harness interrupts the loop (vipi, vtimer),
 * checks uepc and the registers against a model of the loop, and finally
 * points uepc at done: PASS 0x60 + a0.
 *   3: the guest's own timer: stimecmp = time + 5 ms (Sstc), sie.STIE and
 *      sstatus.SIE on, then loop3 (as loop0). The handler records scause,
 *      sepc, time and instret and leaves the loop; the guest checks them:
 *      the interrupt is STI, at a loop instruction, no earlier than
 *      stimecmp, within 200 ms of it, after the loop ran, and instret counts
 *      exactly the loop instructions retired (2 per t0 increment). PASS 0x63.
 */
#include "common.S"

#define STIMECMP 0x14D
#define STIP     0x20
#define LOADED   (MAILBOX + 0x100)

    .text
    .globl _start
_start:
    li s0, LOADED
    lla s11, done
    li t0, 0
    li t1, 0
    li t2, 0
    li t3, 0
    li t4, 0
    mv s1, a0
    li t5, 1
    beq s1, t5, v1
    li t5, 2
    beq s1, t5, v2
    li t5, 3
    beq s1, t5, v3

v0: lla s2, loop0
    li a0, 0
    HCALL HC_MARK
    .option push
    .option norvc
loop0:
    addi t0, t0, 1
    j loop0
    .option pop

v1: lla s2, loop1
    li a0, 0
    HCALL HC_MARK
    .option push
    .option norvc
loop1:
    addi t0, t0, 1
    xor t1, t1, t0
    slli t2, t1, 3
    add t3, t3, t2
    ld t4, 0(s0)
    add t3, t3, t4
    j loop1
    .option pop

v2: lla s2, loop2
    li a0, 0
    HCALL HC_MARK
loop2:
    c.j loop2

done:
    addi a0, s1, 0x60
    HCALL HC_PASS
    j .

v3: lla t0, handler
    csrw stvec, t0
    lla s2, loop3
    li t0, STIP
    csrs sie, t0
    rdtime s4
    li t0, 50000                    /* 5 ms at 10 MHz */
    add s5, s4, t0
    csrw STIMECMP, s5
    li t0, 0
    li s8, 0
    csrr s6, instret                /* then 2 instructions before the loop */
    csrsi sstatus, 2
    .option push
    .option norvc
loop3:
    addi t0, t0, 1
    j loop3
    .option pop

    .balign 4
handler:
    csrr s7, instret
    csrr s9, sepc
    csrr s10, scause
    rdtime s4
    addi s8, s8, 1
    li t5, -1
    csrw STIMECMP, t5
    lla t5, after3
    csrw sepc, t5
    sret

after3:
    csrci sstatus, 2
    EXPECT s8, 1, 30
    li t5, 0x8000000000000005
    beq s10, t5, 1f
    FAIL 31, s10
1:  bgeu s4, s5, 2f                 /* not before stimecmp */
    FAIL 32, s4
2:  sub t5, s4, s5
    li t6, 2000000                  /* 200 ms */
    bltu t5, t6, 3f
    FAIL 33, t5
3:  bnez t0, 4f                     /* the loop ran */
    FAIL 34, t0
4:  sub t5, s7, s6                  /* retired: csrr, csrsi, then the loop's */
    addi t5, t5, -2
    slli t6, t0, 1
    beq s9, s2, 5f
    addi t6, t6, -1                 /* at the j: one addi more than js */
    addi t4, s2, 4
    beq s9, t4, 5f
    FAIL 35, s9                     /* sepc is not a loop instruction */
5:  beq t5, t6, 6f
    FAIL 36, t5
6:  PASS 0x63
