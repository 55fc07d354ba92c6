/*
 * A straight-line block of 20 loads (widths, signedness and compressed forms
 * mixed) into 20 registers, each from s0 + 8 * i, followed by an ecall whose
 * a7/a6/a0 the harness sets. The harness points s0 so that exactly the k-th
 * load is the first to touch a page that faults: a G-stage fault (exit 21),
 * or the guest's own page fault, taken by `handler`, which saves x1..x31 at
 * gp[0..31], instret at gp[32], sepc, scause, stval at gp[33..35] and
 * resumes at the ecall. The harness presets the destination registers, so
 * it can tell which loads ran before the fault.
 * _start sets stvec, leaves the block's address in t6 and makes HC_MARK 0;
 * the harness then enters at the block as often as it likes.
 */
#include "common.S"

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    lla t6, block
    li a0, 0
    HCALL HC_MARK

block:
    ld t0, 0(s0)
    lw t1, 8(s0)
    c.ld s1, 16(s0)
    lhu t2, 24(s0)
    lb a1, 32(s0)
    c.lw a2, 40(s0)
    ld a3, 48(s0)
    lwu a4, 56(s0)
    c.ld a5, 64(s0)
    lh s2, 72(s0)
    ld s3, 80(s0)
    lbu s4, 88(s0)
    ld s5, 96(s0)
    lw s6, 104(s0)
    ld s7, 112(s0)
    ld s8, 120(s0)
    lhu s9, 128(s0)
    ld s10, 136(s0)
    lw s11, 144(s0)
    ld t3, 152(s0)
block_end:
    ecall
    j .

    .balign 4
handler:
    csrr tp, instret
    sd tp, 256(gp)
    sd x1, 8(gp)
    sd x2, 16(gp)
    sd x5, 40(gp)
    sd x6, 48(gp)
    sd x7, 56(gp)
    sd x8, 64(gp)
    sd x9, 72(gp)
    sd x10, 80(gp)
    sd x11, 88(gp)
    sd x12, 96(gp)
    sd x13, 104(gp)
    sd x14, 112(gp)
    sd x15, 120(gp)
    sd x16, 128(gp)
    sd x17, 136(gp)
    sd x18, 144(gp)
    sd x19, 152(gp)
    sd x20, 160(gp)
    sd x21, 168(gp)
    sd x22, 176(gp)
    sd x23, 184(gp)
    sd x24, 192(gp)
    sd x25, 200(gp)
    sd x26, 208(gp)
    sd x27, 216(gp)
    sd x28, 224(gp)
    sd x29, 232(gp)
    sd x30, 240(gp)
    sd x31, 248(gp)
    csrr tp, sepc
    sd tp, 264(gp)
    csrr tp, scause
    sd tp, 272(gp)
    csrr tp, stval
    sd tp, 280(gp)
    lla tp, block_end
    csrw sepc, tp
    sret
