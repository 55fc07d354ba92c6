/* The assembly around hostile.c: the Linux Image header, the boot and HSM
   entry points (a stack per hart, tp = the hart's state), and the trap
   entry, which saves every register on the hart's trap stack, lets
   hostile_trap() pick the resume pc and returns there. */
#include "image_header.S"

#define STACKS      0x80300000      /* HOSTILE_STACKS in hostile.c */
#define STACK_STEP  0x10000         /* per hart: 48 KiB stack, then 16 KiB trap stack */
#define STACK_TOP   0xc000
#define MAX_HARTS   8
#define HOSTILE_HART_SIZE 1024  /* sizeof(struct hart) in hostile.c */

/* set_stacks: sp and sscratch for hart a0; tp = &hostile_harts[a0]. */
.macro set_stacks
    li      t0, MAX_HARTS - 1
    bleu    a0, t0, 1f
    mv      a0, t0                  /* never past the stack area */
1:  li      t0, STACK_STEP
    mul     t1, a0, t0
    li      t2, STACKS
    add     t1, t1, t2
    li      t2, STACK_TOP
    add     sp, t1, t2
    add     t2, t1, t0
    csrw    sscratch, t2
    lla     t2, hostile_harts
    li      t0, HOSTILE_HART_SIZE
    mul     t1, a0, t0
    add     tp, t2, t1
    lla     t0, hostile_trap_entry
    csrw    stvec, t0
    csrw    sie, zero
    li      t0, 0x2000              /* sstatus.FS = initial: FP loads and stores on MMIO */
    csrs    sstatus, t0
.endm

code:
    mv      s0, a0
    mv      s1, a1
    set_stacks
    mv      a0, s0
    mv      a1, s1
    call    hostile_main
1:  wfi
    j       1b

/* HSM hart_start target: a0 = hartid, a1 = the opaque argument. */
    .globl  hostile_secondary_entry
    .balign 4
hostile_secondary_entry:
    mv      s0, a0
    mv      s1, a1
    set_stacks
    mv      a0, s0
    mv      a1, s1
    call    hostile_secondary
1:  wfi
    j       1b

    .globl  hostile_trap_entry
    .balign 4
hostile_trap_entry:
    csrrw   sp, sscratch, sp        /* sp = trap stack, sscratch = the interrupted sp */
    addi    sp, sp, -256
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    csrr    t0, sscratch
    sd      t0, 16(sp)
    mv      a0, sp
    call    hostile_trap
    ld      x1, 8(sp)
    ld      x3, 24(sp)
    ld      x4, 32(sp)
    ld      x5, 40(sp)
    ld      x6, 48(sp)
    ld      x7, 56(sp)
    ld      x8, 64(sp)
    ld      x9, 72(sp)
    ld      x10, 80(sp)
    ld      x11, 88(sp)
    ld      x12, 96(sp)
    ld      x13, 104(sp)
    ld      x14, 112(sp)
    ld      x15, 120(sp)
    ld      x16, 128(sp)
    ld      x17, 136(sp)
    ld      x18, 144(sp)
    ld      x19, 152(sp)
    ld      x20, 160(sp)
    ld      x21, 168(sp)
    ld      x22, 176(sp)
    ld      x23, 184(sp)
    ld      x24, 192(sp)
    ld      x25, 200(sp)
    ld      x26, 208(sp)
    ld      x27, 216(sp)
    ld      x28, 224(sp)
    ld      x29, 232(sp)
    ld      x30, 240(sp)
    ld      x31, 248(sp)
    addi    sp, sp, 256
    csrrw   sp, sscratch, sp        /* back: sscratch = the trap stack's top again */
    sret

/* hostile_user(): run hostile_user_code in VU mode, on this stack, until it
   makes the USER_DONE ecall; hostile_trap() then resumes S mode at
   hostile_user_back. Hart 0 only. */
#define USER_DONE 0x55534552        /* hostile.c */
    .globl  hostile_user
    .globl  hostile_user_back
    .balign 4
hostile_user:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
    lla     t0, saved_sp
    sd      sp, 0(t0)
    lla     t0, user_code
    csrw    sepc, t0
    li      t0, 0x120               /* sstatus.SPP and SPIE: to U, interrupts off */
    csrc    sstatus, t0
    sret
hostile_user_back:
    lla     t0, saved_sp
    ld      sp, 0(t0)
restore_and_return:
    ld      ra, 0(sp)
    ld      s0, 8(sp)
    ld      s1, 16(sp)
    ld      s2, 24(sp)
    ld      s3, 32(sp)
    ld      s4, 40(sp)
    ld      s5, 48(sp)
    ld      s6, 56(sp)
    ld      s7, 64(sp)
    ld      s8, 72(sp)
    ld      s9, 80(sp)
    ld      s10, 88(sp)
    ld      s11, 96(sp)
    addi    sp, sp, 112
    ret

/* What a user program may try: SBI calls that would end the VM or the hart
   (they must reach the guest kernel as ecalls from U, cause 8), and
   supervisor instructions (illegal instructions, cause 2). */
user_code:
    li      a7, 0x53525354          /* SRST shutdown */
    li      a6, 0
    li      a0, 0
    li      a1, 0
    ecall
    li      a7, 8                   /* legacy shutdown */
    ecall
    li      a7, 0x48534d            /* HSM hart_stop */
    li      a6, 1
    ecall
    li      a7, 0x48534d            /* HSM non-retentive suspend, resuming in S mode */
    li      a6, 3
    li      a0, 0x80000000
    lla     a1, hostile_user_back
    ecall
    li      a7, 0x4442434e          /* DBCN write of this code */
    li      a6, 0
    li      a0, 16
    lla     a1, user_code
    li      a2, 0
    ecall
    csrr    t0, sstatus
    sret
    wfi
    sfence.vma
    li      a7, USER_DONE
    ecall
1:  j       1b

/* hostile_suspend(opaque): a non-retentive HSM suspend resuming at
   hostile_resume: 1 once resumed (hostile_resumed[] holds the a0 and a1 it
   resumed with), else the call's error. Hart 0 only. */
    .globl  hostile_suspend
    .globl  hostile_resumed
    .balign 4
hostile_suspend:
    addi    sp, sp, -112
    sd      ra, 0(sp)
    sd      s0, 8(sp)
    sd      s1, 16(sp)
    sd      s2, 24(sp)
    sd      s3, 32(sp)
    sd      s4, 40(sp)
    sd      s5, 48(sp)
    sd      s6, 56(sp)
    sd      s7, 64(sp)
    sd      s8, 72(sp)
    sd      s9, 80(sp)
    sd      s10, 88(sp)
    sd      s11, 96(sp)
    lla     t0, saved_sp
    sd      sp, 0(t0)
    mv      a2, a0
    li      a0, 0x80000000
    lla     a1, hostile_resume
    li      a6, 3
    li      a7, 0x48534d
    ecall
    j       restore_and_return      /* not resumed: a0 is the error */
    .balign 4
hostile_resume:                     /* a0 = hartid, a1 = opaque; nothing else is kept */
    lla     t0, hostile_resumed
    sd      a0, 0(t0)
    sd      a1, 8(t0)
    set_stacks                      /* stvec, sscratch, tp again */
    lla     t0, saved_sp
    ld      sp, 0(t0)
    li      a0, 1
    j       restore_and_return

    .balign 8
saved_sp:        .dword 0
hostile_resumed: .dword 0, 0

/* hostile_sbi_regs(io): an SBI call with every register but a0 and a1 known:
   io[0..5] = a0..a5, io[6] = a6 (FID), io[7] = a7 (EID) in; ra, gp, t0-t6
   and s0-s11 hold PAT(n) (hostile.c), sp and tp theirs. Afterwards
   io[8 + n] = xn, for hostile.c to check that only a0 and a1 changed. */
#define PAT(n) (0x5aa5000000000000 + (n) * 0x0101010101)
    .globl  hostile_sbi_regs
    .balign 4
hostile_sbi_regs:
    addi    sp, sp, -128
    sd      ra, 0(sp)
    sd      gp, 8(sp)
    sd      tp, 16(sp)
    sd      s0, 24(sp)
    sd      s1, 32(sp)
    sd      s2, 40(sp)
    sd      s3, 48(sp)
    sd      s4, 56(sp)
    sd      s5, 64(sp)
    sd      s6, 72(sp)
    sd      s7, 80(sp)
    sd      s8, 88(sp)
    sd      s9, 96(sp)
    sd      s10, 104(sp)
    sd      s11, 112(sp)
    sd      a0, 120(sp)
    mv      t6, a0
    ld      a0, 0(t6)
    ld      a1, 8(t6)
    ld      a2, 16(t6)
    ld      a3, 24(t6)
    ld      a4, 32(t6)
    ld      a5, 40(t6)
    ld      a6, 48(t6)
    ld      a7, 56(t6)
    li      ra, PAT(1)
    li      gp, PAT(3)
    li      t0, PAT(5)
    li      t1, PAT(6)
    li      t2, PAT(7)
    li      s0, PAT(8)
    li      s1, PAT(9)
    li      s2, PAT(18)
    li      s3, PAT(19)
    li      s4, PAT(20)
    li      s5, PAT(21)
    li      s6, PAT(22)
    li      s7, PAT(23)
    li      s8, PAT(24)
    li      s9, PAT(25)
    li      s10, PAT(26)
    li      s11, PAT(27)
    li      t3, PAT(28)
    li      t4, PAT(29)
    li      t5, PAT(30)
    li      t6, PAT(31)
    ecall
    addi    sp, sp, -256            /* the registers as the call left them */
    sd      x1, 8(sp)
    sd      x3, 24(sp)
    sd      x4, 32(sp)
    sd      x5, 40(sp)
    sd      x6, 48(sp)
    sd      x7, 56(sp)
    sd      x8, 64(sp)
    sd      x9, 72(sp)
    sd      x10, 80(sp)
    sd      x11, 88(sp)
    sd      x12, 96(sp)
    sd      x13, 104(sp)
    sd      x14, 112(sp)
    sd      x15, 120(sp)
    sd      x16, 128(sp)
    sd      x17, 136(sp)
    sd      x18, 144(sp)
    sd      x19, 152(sp)
    sd      x20, 160(sp)
    sd      x21, 168(sp)
    sd      x22, 176(sp)
    sd      x23, 184(sp)
    sd      x24, 192(sp)
    sd      x25, 200(sp)
    sd      x26, 208(sp)
    sd      x27, 216(sp)
    sd      x28, 224(sp)
    sd      x29, 232(sp)
    sd      x30, 240(sp)
    sd      x31, 248(sp)
    addi    t0, sp, 256
    sd      t0, 16(sp)              /* x2: sp as the call left it */
    sd      zero, 0(sp)
    ld      t6, 376(sp)             /* io */
    addi    t6, t6, 64
    mv      t0, sp
    li      t2, 32
1:  ld      t1, 0(t0)
    sd      t1, 0(t6)
    addi    t0, t0, 8
    addi    t6, t6, 8
    addi    t2, t2, -1
    bnez    t2, 1b
    addi    sp, sp, 256
    ld      ra, 0(sp)
    ld      gp, 8(sp)
    ld      tp, 16(sp)
    ld      s0, 24(sp)
    ld      s1, 32(sp)
    ld      s2, 40(sp)
    ld      s3, 48(sp)
    ld      s4, 56(sp)
    ld      s5, 64(sp)
    ld      s6, 72(sp)
    ld      s7, 80(sp)
    ld      s8, 88(sp)
    ld      s9, 96(sp)
    ld      s10, 104(sp)
    ld      s11, 112(sp)
    addi    sp, sp, 128
    ret
