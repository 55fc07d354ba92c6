/*
 * Remote fences whose target stops through HSM, and two harts fencing each
 * other, for tests/unit/test_vmm.c (booted as the ELF "kernel" by vm_create).
 *
 * Hart 0 starts hart 1, then forever: an SBI remote sfence.vma of hart 1
 * (counted at FENCES0), a remote fence.i of hart 1, and, when hart_get_status
 * says hart 1 is stopped, hart_start(1) again (counted at STARTS).
 * Hart 1, each time it starts: 16 remote fences of hart 0, alternating
 * sfence.vma and fence.i (counted at FENCES1), then STOPS += 1 and hart_stop.
 * So hart 0's fences keep meeting a hart 1 that is stopping or has just
 * stopped, and hart 1's meet hart 0 fencing it. A nonzero SBI error from any
 * call is stored at ERROR (with the call's number at ERROR + 8).
 */
#include "common.S"

#define FENCES0 0x80100000
#define FENCES1 0x80100008
#define STOPS   0x80100010
#define STARTS  0x80100018
#define ERROR   0x80100020

#define SBI_EXT_RFENCE 0x52464E43
#define SBI_EXT_HSM    0x48534D

/* SBI ext, fid with a0..a3 already set; a nonzero error goes to ERROR, tag to ERROR + 8 */
.macro SBI ext, fid, tag
    li a7, \ext
    li a6, \fid
    ecall
    beqz a0, .Lsbi\@
    li t0, ERROR
    sd a0, 0(t0)
    li t1, \tag
    sd t1, 8(t0)
.Lsbi\@:
.endm

/* INC addr: the word at addr += 1 (one writer per word). Clobbers t0, t1. */
.macro INC addr
    li t0, \addr
    ld t1, 0(t0)
    addi t1, t1, 1
    sd t1, 0(t0)
.endm

    .text
    .globl _start
_start:
    bnez a0, hart1

    li a0, 1                /* hart_start(1, _start, 0) */
    lla a1, _start
    li a2, 0
    SBI SBI_EXT_HSM, 0, 1
hart0:
    li a0, 2                /* remote sfence.vma of hart 1, everything */
    li a1, 0
    li a2, 0
    li a3, 0
    SBI SBI_EXT_RFENCE, 1, 2
    INC FENCES0
    li a0, 2                /* remote fence.i of hart 1 */
    li a1, 0
    SBI SBI_EXT_RFENCE, 0, 3
    li a0, 1                /* hart_get_status(1): 1 is STOPPED */
    li a7, SBI_EXT_HSM
    li a6, 2
    ecall
    li t0, 1
    bne a1, t0, hart0
    li a0, 1                /* hart_start(1, _start, 0) */
    lla a1, _start
    li a2, 0
    li a7, SBI_EXT_HSM
    li a6, 0
    ecall
    bnez a0, hart0          /* not stopped after all (it is starting): fine */
    INC STARTS
    j hart0

hart1:
    li s1, 16
1:  li a0, 1                /* remote sfence.vma of hart 0 */
    li a1, 0
    li a2, 0
    li a3, 0
    SBI SBI_EXT_RFENCE, 1, 4
    INC FENCES1
    li a0, 1                /* remote fence.i of hart 0 */
    li a1, 0
    SBI SBI_EXT_RFENCE, 0, 5
    addi s1, s1, -1
    bnez s1, 1b
    INC STOPS
    SBI SBI_EXT_HSM, 1, 6   /* hart_stop: does not return when it works */
    j hart1
