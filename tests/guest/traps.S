/*
 * Guest-internal traps stay in the guest: illegal instructions (c.illegal, a
 * read of the M-mode CSR mstatus, an unimplemented custom-0 instruction), an
 * ebreak and an ecall from VU are all delivered to the guest's stvec with the
 * right scause/stval/sepc; none of them exits (the harness sees only PASS).
 * The handler records scause in s9, stval in s10, sepc in s11 and counts traps
 * in s8; it steps over the trapping instruction and srets, except for the
 * ecall from VU, after which it carries on in VS at after_user.
 * Before each trapping instruction s7 = its address.
 */
#include "common.S"

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    li s8, 0

    lla s7, 1f
1:  .half 0x0000                    /* c.illegal */
    TRAPPED 1, 2, 0, 10

    lla s7, 2f
2:  csrr a0, mstatus                /* 0x30002573: M-mode CSR from VS */
    TRAPPED 2, 2, 0x30002573, 20

    lla s7, 3f
3:  .word 0x1234500B                /* custom-0: not implemented */
    TRAPPED 3, 2, 0x1234500B, 30

    lla s7, 4f
4:  .word 0x00100073                /* ebreak (stval may be 0 or the pc) */
    EXPECT s8, 4, 40
    EXPECT s9, 3, 41
    beq s11, s7, 5f
    FAIL 43, s11

5:  /* drop to VU (sret with SPP = 0) and ecall there */
    li t0, 0x100
    csrc sstatus, t0
    lla t0, user
    csrw sepc, t0
    lla s7, user
    sret

after_user:
    TRAPPED 5, 8, 0, 50
    csrr t0, sstatus                /* the trap came from U: SPP = 0 */
    andi t0, t0, 0x100
    EXPECT t0, 0, 54
    PASS 10

user:
    ecall
    j .

    .balign 4                       /* stvec needs a 4-byte aligned base */
handler:
    csrr s9, scause
    csrr s10, stval
    csrr s11, sepc
    addi s8, s8, 1
    li t5, 8
    beq s9, t5, 2f
    /* step over the instruction: 4 bytes if its low bits are 11, else 2 */
    lhu t5, 0(s11)
    andi t5, t5, 3
    xori t5, t5, 3
    addi t6, s11, 2
    bnez t5, 1f
    addi t6, t6, 2
1:  csrw sepc, t6
    sret
2:  lla t5, after_user               /* ecall from VU: continue in VS */
    jr t5
