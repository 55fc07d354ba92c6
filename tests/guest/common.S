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
#define HC_FENCE_I 6 /* a0 = target hart: the harness has that hart run fence.i on itself, as
                        SBI remote fence.i does (vipi, USIP exit, dv_fence_i), and returns
                        once it has */
#define HC_DMA     7 /* a0 = guest address, a1 = rewrite number: the harness, acting as a
                        device, writes new instructions there and calls dv_mem_written() */

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

/* SAME_PAGE a, b, code / OTHER_PAGE a, b, code: FAIL code unless labels a and b
   are (are not) in the same 4 KiB page, for tests whose point is the layout.
   Clobbers t4, t5. */
.macro SAME_PAGE a, b, code
    lla t4, \a
    lla t5, \b
    xor t4, t4, t5
    srli t4, t4, 12
    beqz t4, .Lsame\@
    FAIL \code, t4
.Lsame\@:
.endm

.macro OTHER_PAGE a, b, code
    lla t4, \a
    lla t5, \b
    xor t4, t4, t5
    srli t4, t4, 12
    bnez t4, .Lother\@
    FAIL \code, t4
.Lother\@:
.endm

/* CALLS fn, n, want, code: call fn n times; FAIL code (a1 = a0) unless every
   call returned want in a0. CALLR does the same through the address in reg.
   Clobber s1, t5, ra. */
.macro CALLS fn, n, want, code
    li s1, \n
.Lcalls\@:
    call \fn
    li t5, \want
    beq a0, t5, .Lcallsok\@
    FAIL \code, a0
.Lcallsok\@:
    addi s1, s1, -1
    bnez s1, .Lcalls\@
.endm

.macro CALLR reg, n, want, code
    li s1, \n
.Lcallr\@:
    jalr \reg
    li t5, \want
    beq a0, t5, .Lcallrok\@
    FAIL \code, a0
.Lcallrok\@:
    addi s1, s1, -1
    bnez s1, .Lcallr\@
.endm
