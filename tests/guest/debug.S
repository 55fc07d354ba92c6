/*
 * Debug triggers and steps (test_exits: test_debug_*). A loop calls target
 * often enough for the JIT to translate it, then marks 1: the harness arms
 * an execute trigger at target, which must fire before target's first
 * instruction even though it was translated. Then accesses to `watched`
 * (a store, a load of the next word, an AMO) for the watch triggers, marked
 * 2 before them; the guest's own ebreak, which must reach its handler
 * (scause 3 in s3) while triggers are armed; and a WFI followed by an ecall
 * for the steps (mark 3). Each mark passes the addresses the harness needs
 * in a1 and s4..s6.
 */
#include "common.S"

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    li s3, 0
    li a2, 0
    li s1, 0
    li s2, 3000
1:  call target
    addi s1, s1, 1
    blt s1, s2, 1b
    li a0, 1
    lla a1, target
    HCALL HC_MARK
    call target                     /* the execute trigger fires here */
    li a0, 2
    lla a1, watched
    lla s4, store_insn
    lla s5, load_insn
    lla s6, amo_insn
    HCALL HC_MARK
    lla t0, watched
    li t1, 0x55
    .globl store_insn
store_insn:
    sd t1, 0(t0)                    /* store trigger on watched */
    .globl load_insn
load_insn:
    ld t2, 8(t0)                    /* load trigger on watched+8 */
    .globl amo_insn
amo_insn:
    amoadd.d t3, t1, (t0)           /* both */
    .globl ebreak_insn
ebreak_insn:
    .word 0x00100073                /* the guest's own ebreak: its handler, not the debugger */
    EXPECT s3, 3, 10
    li a0, 3
    lla a1, step_insns
    lla s4, step_ecall
    HCALL HC_MARK
    .globl step_insns
step_insns:
    addi a3, zero, 7
    .word 0x10500073                /* wfi: a no-op when stepped */
    .globl step_ecall
step_ecall:
    li a0, 4
    HCALL HC_MARK
    PASS 0x77

    .globl target
target:
    addi a2, a2, 1
    ret

    .align 2
handler:
    csrr s3, scause
    csrr t0, sepc
    addi t0, t0, 4
    csrw sepc, t0
    sret

    .align 3
    .globl watched
watched:
    .dword 0, 0x1234
