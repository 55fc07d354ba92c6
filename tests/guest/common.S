/*
 * Shared definitions of the guest test images: macros only, no code (guest.mk
 * builds every other tests/guest/*.S into an image). Each image is linked at
 * guest-physical 0x80000000 (guest.ld) and run in VS mode, with VS-stage
 * translation off, by tests/unit/test_exits.c, which uses the same numbers.
 */

#define MAILBOX 0x80F00000 /* a RAM page outside every image: flags shared with the harness */

/* Hypercalls: ecall with a7 = HC_EXT (a test-private SBI extension), a6 = function. */
#define HC_EXT   0x0A000000
#define HC_PASS  0 /* a0 = checkpoint: the image finished */
#define HC_FAIL  1 /* a0 = failure code, a1 = the offending value */
#define HC_CHECK 2 /* a0, a1 = values for the harness to check */
#define HC_RAISE 3 /* the hypervisor raises vipi for vCPU a0 */
#define HC_MARK  4 /* a0 = mark number: the harness takes a timestamp */
#define HC_ECHO  5 /* test_ecall only: the harness checks a0..a5 and returns a0, a1 */

.macro HCALL fn
    li a7, HC_EXT
    li a6, \fn
    ecall
.endm

.macro PASS checkpoint
    li a0, \checkpoint
    HCALL HC_PASS
    j .
.endm

/* FAIL code[, value]: report failure code, with value in a1 */
.macro FAIL code, value=zero
    mv a1, \value
    li a0, \code
    HCALL HC_FAIL
    j .
.endm

/* EXPECT reg, imm, code: FAIL code unless reg == imm. Clobbers t5. */
.macro EXPECT reg, imm, code
    li t5, \imm
    beq \reg, t5, .Lexpect\@
    FAIL \code, \reg
.Lexpect\@:
.endm

/* TOUCH insn: t6 = the address of insn, then insn. The harness compares t6 with
   uepc when insn is expected to exit. */
.macro TOUCH insn:vararg
    lla t6, .Ltouch\@
.Ltouch\@:
    \insn
.endm

/* TRAPPED n, cause, tval, code: the n-th trap had this scause and stval, at s7 */
.macro TRAPPED n, cause, tval, code
    EXPECT s8, \n, \code
    EXPECT s9, \cause, \code + 1
    EXPECT s10, \tval, \code + 2
    beq s11, s7, .Ltrapped\@
    FAIL \code + 3, s11
.Ltrapped\@:
.endm
