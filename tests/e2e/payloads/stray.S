/* A hostile bare S-mode "kernel": accesses to nothing, device registers the
   devices do not implement, and HSM starts outside RAM. Hardware answers
   them with access faults, ignored writes, zero reads and SBI errors; so
   must duvisor, without stopping the VM. It prints "stray: ok" (or the
   number of the first check that failed) through SBI and powers off. */
#include "image_header.S"

/* The trap handler records scause in s2 and stval in s3, then resumes at
   the next instruction (or, for an instruction fault, at ra). */
    .balign 4
trap:
    csrr    s2, scause
    csrr    s3, stval
    li      t6, 1
    beq     s2, t6, 1f
    csrr    t6, sepc
    addi    t6, t6, 4
    csrw    sepc, t6
    sret
1:  csrw    sepc, ra
    sret

/* check N, EXPECTED_CAUSE, EXPECTED_TVAL: fail with N unless the last trap matched */
.macro expect_trap n, cause, tval
    li      s4, \n
    li      t6, \cause
    bne     s2, t6, fail
    li      t6, \tval
    bne     s3, t6, fail
    li      s2, -1
    li      s3, -1
.endm
.macro expect_no_trap n
    li      s4, \n
    li      t6, -1
    bne     s2, t6, fail
.endm

code:
    lla     t0, trap
    csrw    stvec, t0
    li      s2, -1
    li      s3, -1

    /* 1, 2: a store and a load where nothing lives: access faults 7 and 5 */
    li      t0, 0x20000000
    li      t1, 0x5a5a
    sw      t1, 0(t0)
    expect_trap 1, 7, 0x20000000
    lw      t1, 8(t0)
    expect_trap 2, 5, 0x20000008
    /* 3: past the PLIC, in the hole below the UART */
    li      t0, 0x0c800000
    ld      t1, 0(t0)
    expect_trap 3, 5, 0x0c800000
    /* 4: a 64-bit store to the UART: ignored */
    li      t0, 0x10000000
    li      t1, -1
    sd      t1, 0(t0)
    expect_no_trap 4
    /* 5: the rest of a virtio slot's page reads zero, writes are ignored */
    li      t0, 0x10001300
    li      t1, 1
    lw      t1, 0(t0)
    expect_no_trap 5
    li      s4, 5
    bnez    t1, fail
    sw      t0, 0(t0)
    /* 6: a 64-bit read of a virtio register the transport only has 32 bits of */
    li      t0, 0x10001000
    ld      t1, 0(t0)
    expect_no_trap 6
    li      s4, 6
    bnez    t1, fail
    /* 7: an instruction fetch from nothing: access fault 1, back at ra */
    li      t0, 0x20000000
    jalr    ra, 0(t0)
    expect_trap 7, 1, 0x20000000
    /* 8: HSM hart_start (hart 1 may not exist: then INVALID_PARAM) outside RAM */
    li      a7, 0x48534D
    li      a6, 0
    li      a0, 1
    li      a1, 0x1000
    li      a2, 0
    ecall
    li      s4, 8
    li      t6, -5                  /* SBI_ERR_INVALID_ADDRESS */
    beq     a0, t6, 2f
    li      t6, -3                  /* SBI_ERR_INVALID_PARAM: a single hart */
    bne     a0, t6, fail
2:
    lla     a0, ok_msg
    call    puts
    j       off

fail:
    lla     a0, fail_msg
    call    puts
    addi    a0, s4, '0'
    li      a7, 1                   /* legacy console_putchar */
    ecall
    li      a0, '\n'
    li      a7, 1
    ecall
off:
    li      a7, 0x53525354          /* SRST */
    li      a6, 0
    li      a0, 0                   /* shutdown */
    li      a1, 0
    ecall
1:  j       1b

puts:
    mv      t2, a0
3:  lbu     a0, 0(t2)
    beqz    a0, 4f
    li      a7, 1
    ecall
    addi    t2, t2, 1
    j       3b
4:  ret

ok_msg:   .asciz "stray: ok\n"
fail_msg: .asciz "stray: FAIL "
    .balign 8
end:
