/*
 * SBI suspend, FWFT, STA and DBCN through the whole VMM, for
 * tests/unit/test_vmm.c (booted as the ELF "kernel" with 2 harts). Every
 * result is a u64 in R(n) = RES + 8*n, checked by the harness; an
 * unexpected trap stores scause at R(31) and spins.
 *
 * Hart 0: FWFT get/set/lock (R0..R7); starts hart 1 (R8); SUSP refused while
 * hart 1 runs (R9); both harts spin for CONTEND_TICKS of guest time (steal
 * grows when the harness pins them to one host CPU); hart 1 then suspends
 * retentively: hart 0 sees SUSPENDED (R10), tells the harness (SEEN = 1),
 * which measures hart 1's thread CPU time and sets GO; hart 0 wakes hart 1
 * with an IPI. Hart 1 sleeps again retentively until its own timer (R13,
 * R14), then non-retentively with translation on and SIE set; hart 0 sees
 * SUSPENDED (R15) and IPIs it; hart 1 resumes at resume1 (R16..R19) and
 * stops. Hart 0, alone, suspends the system (SUSP) with a timer to wake it,
 * resumes at resume0 (R20..R24), writes 4 bytes with DBCN from the address
 * the harness left at DBCN_ADDR (R25, R26) and sets DONE.
 */
#include "common.S"

#define RES          0x80100000
#define R(n)         (RES + 8 * (n))
#define STA0         0x80100a00 /* hart h's steal-time structure: STA0 + 64*h */
#define DONE         0x80100800
#define SEEN         0x80100808
#define GO           0x80100810
#define DBCN_ADDR    0x80100818
#define CONTENDED    0x80100820
#define STAGE        0x80100828
#define PT           0x80104000 /* Sv39 root: one gigapage, identity, at 0x80000000 */

#define EXT_TIME 0x54494D45
#define EXT_IPI  0x735049
#define EXT_HSM  0x48534D
#define EXT_DBCN 0x4442434E
#define EXT_SUSP 0x53555350
#define EXT_FWFT 0x46574654
#define EXT_STA  0x535441

#define TICKS_10MS    100000
#define CONTEND_TICKS 3000000 /* 300 ms */

.macro SBI ext, fid
    li a7, \ext
    li a6, \fid
    ecall
.endm

/* STORE slot, reg: R(slot) = reg. Clobbers t4. */
.macro STORE slot, reg
    li t4, R(\slot)
    sd \reg, 0(t4)
.endm

/* Translation on: the identity gigapage at PT (written by hart 0 first). */
.macro PAGING_ON
    li t0, PT
    srli t0, t0, 12
    li t1, 8
    slli t1, t1, 60
    or t0, t0, t1
    csrw satp, t0
    sfence.vma
.endm

/* t0 = hart a0's HSM status, spinning until it is \want. */
.macro WAIT_STATUS want
.Lwait\@:
    li a0, 1
    SBI EXT_HSM, 2
    mv t0, a1
    li t1, \want
    bne t0, t1, .Lwait\@
.endm

    .text
    .globl _start
_start:
    lla t0, trap
    csrw stvec, t0
    bnez a0, hart1

    /* the page table both harts use */
    li t0, PT + 16
    li t1, ((0x80000000 >> 12) << 10) | 0xcf
    sd t1, 0(t0)

    li a0, STA0
    li a1, 0
    li a2, 0
    SBI EXT_STA, 0
    STORE 27, a0

    /* FWFT */
    li a0, 0
    SBI EXT_FWFT, 1
    STORE 0, a0
    STORE 1, a1
    li a0, 0
    li a1, 0
    li a2, 0
    SBI EXT_FWFT, 0
    STORE 2, a0
    li a0, 0
    li a1, 1
    li a2, 1
    SBI EXT_FWFT, 0
    STORE 3, a0
    li a0, 0
    li a1, 1
    li a2, 0
    SBI EXT_FWFT, 0
    STORE 4, a0
    li a0, 4
    SBI EXT_FWFT, 1
    STORE 5, a0
    li a0, 1
    SBI EXT_FWFT, 1
    STORE 6, a0
    li a0, 6
    SBI EXT_FWFT, 1
    STORE 7, a0

    /* start hart 1; SUSP while it runs is refused */
    li a0, 1
    lla a1, _start
    li a2, 0
    SBI EXT_HSM, 0
    STORE 8, a0
    li a0, 0
    lla a1, resume0
    li a2, 0x55
    SBI EXT_SUSP, 0
    STORE 9, a0

    /* both spin for a while */
    rdtime s1
    li t0, CONTEND_TICKS
    add s1, s1, t0
1:  rdtime t0
    bltu t0, s1, 1b
    li t0, CONTENDED
    li t1, 1
    sd t1, 0(t0)

    /* hart 1 suspended (retentive): tell the harness, wait for it, IPI */
    WAIT_STATUS 4
    STORE 10, t0
    li t0, SEEN
    li t1, 1
    sd t1, 0(t0)
    li t0, GO
1:  ld t1, 0(t0)
    beqz t1, 1b
    li a0, 2
    li a1, 0
    SBI EXT_IPI, 0

    /* hart 1's non-retentive suspend: seen, then woken */
    li t0, STAGE
1:  ld t1, 0(t0)
    beqz t1, 1b
    WAIT_STATUS 4
    STORE 15, t0
    li a0, 2
    li a1, 0
    SBI EXT_IPI, 0

    /* alone: suspend the system, a timer wakes it */
    WAIT_STATUS 1
    PAGING_ON
    csrs sstatus, 2
    li t0, 1 << 5
    csrs sie, t0
    rdtime s1
    li t0, 2 * TICKS_10MS
    add s1, s1, t0
    li t0, R(28)
    sd s1, 0(t0)              /* the registers may be lost: keep the target in RAM */
    mv a0, s1
    SBI EXT_TIME, 0
    li a0, 0
    lla a1, resume0
    li a2, 0x55
    SBI EXT_SUSP, 0
    FAIL 20, a0

resume0:
    STORE 20, a0
    STORE 21, a1
    csrr t0, satp
    STORE 22, t0
    csrr t0, sstatus
    andi t0, t0, 2
    STORE 23, t0
    rdtime t0
    li t1, R(28)
    ld t1, 0(t1)
    sltu t0, t0, t1
    xori t0, t0, 1
    STORE 24, t0
    li a0, -1
    SBI EXT_TIME, 0

    /* DBCN write from wherever the harness said (above 4 GiB in a big VM) */
    li t0, DBCN_ADDR
    ld a1, 0(t0)
    li a0, 4
    li a2, 0
    SBI EXT_DBCN, 0
    STORE 25, a0
    STORE 26, a1

    li t0, DONE
    li t1, 1
    sd t1, 0(t0)
1:  wfi
    j 1b

hart1:
    li a0, STA0 + 64
    li a1, 0
    li a2, 0
    SBI EXT_STA, 0
    STORE 29, a0
    li t0, CONTENDED
1:  ld t1, 0(t0)
    beqz t1, 1b

    /* retentive, SIE off, SSIE on: an IPI ends it */
    li t0, 1 << 1
    csrs sie, t0
    li a0, 0
    li a1, 0
    li a2, 0
    SBI EXT_HSM, 3
    STORE 11, a0
    csrr t0, sip
    andi t0, t0, 2
    STORE 12, t0
    csrci sip, 2

    /* retentive, STIE on: its own timer ends it */
    csrci sie, 2
    li t0, 1 << 5
    csrs sie, t0
    rdtime s1
    li t0, TICKS_10MS
    add s1, s1, t0
    mv a0, s1
    SBI EXT_TIME, 0
    li a0, 0
    SBI EXT_HSM, 3
    STORE 13, a0
    rdtime t0
    sltu t0, t0, s1
    xori t0, t0, 1
    STORE 14, t0
    li a0, -1
    SBI EXT_TIME, 0
    li t0, 1 << 5
    csrc sie, t0
    csrsi sie, 2

    /* non-retentive, translation on and SIE set: resumes at resume1 */
    PAGING_ON
    csrsi sstatus, 2
    li t0, STAGE
    li t1, 1
    sd t1, 0(t0)
    li a0, 0x80000000
    lla a1, resume1
    li a2, 0x1234abcd
    SBI EXT_HSM, 3
    FAIL 16, a0

resume1:
    STORE 16, a0
    STORE 17, a1
    csrr t0, satp
    STORE 18, t0
    csrr t0, sstatus
    andi t0, t0, 2
    STORE 19, t0
    csrci sip, 2
    SBI EXT_HSM, 1
    FAIL 17, a0

trap:
    csrr t0, scause
    STORE 31, t0
    csrr t0, sepc
    STORE 30, t0
1:  j 1b
