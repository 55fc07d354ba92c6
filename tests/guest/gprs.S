/*
 * All 31 GPRs survive an exit. The guest fills x1..x31 with P(i) and exits
 * with a bare ecall: the harness checks it sees P(i) in every register and
 * changes nothing; the guest checks them all. A second bare ecall: the harness
 * writes Q(i) into every register; the guest checks those.
 */
#include "common.S"

/* P(i); Q(i) = P(i) ^ INV */
#define P(i) (0xA500000000000000 + (i) * 0x0001000100010001)
#define INV  0xFFFFFFFFFFFFFFFF

/* CHKREG r, value, code: FAIL code unless x<r> == value. Clobbers x31. */
.macro CHKREG r, val, code
    li x31, \val
    beq x\r, x31, .Lchk\@
    FAIL \code, x\r
.Lchk\@:
.endm

/* CHKALL mask, base: every x1..x31 must hold P(i) ^ mask, else FAIL base + i.
   x31 is parked in sscratch while it serves as the scratch register. */
.macro CHKALL mask, base
    csrw sscratch, x31
    .irp i, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30
    CHKREG \i, P(\i) ^ \mask, \base + \i
    .endr
    csrr x30, sscratch
    li x31, P(31) ^ \mask
    beq x30, x31, .Lall\@
    FAIL \base + 31, x30
.Lall\@:
.endm

    .text
    .globl _start
_start:
    .irp i, 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
    li x\i, P(\i)
    .endr
    ecall                   /* exit 1: the harness checks P(i), changes nothing */
    CHKALL 0, 100
    ecall                   /* exit 2: the harness writes Q(i) */
    CHKALL INV, 200
    PASS 2
