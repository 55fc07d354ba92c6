/*
 * Misaligned and page-crossing accesses that reach MMIO, and the same in RAM.
 *
 * The harness (test_misaligned_mmio in tests/unit/test_exits.c) plays the
 * hypervisor: two device pages, DEV_A right after the end of RAM and DEV_B
 * after it, then a hole (HOLE: no RAM, no device); one RAM page it maps only
 * on the first fault (LAZY, LAZY2) and one it maps read-only (ROPG). On a
 * guest-page fault it routes the access as src/vmm/vcpu.c does (mmio_route):
 * a naturally aligned integer load/store is emulated, anything else (a
 * misaligned access, the second part of one that crosses a page, FP, AMO,
 * LR/SC, the hole) becomes an access fault injected into this guest (5 load,
 * 7 store/AMO, stval = utval). It checks every exit's registers against its
 * own list, in order.
 *
 * The guest checks what it sees: each access that must trap traps exactly
 * once into its own handler with the expected scause and stval (the handler
 * records scause/stval/sepc in s9/s10/s11, counts in s8, steps over the
 * instruction); a load that faults leaves its rd alone; a store that faults
 * leaves RAM as it was, even the part of it on a page that was fine;
 * accesses across a page boundary in RAM read and write the right bytes.
 * Part 1 runs with VS-stage translation off (VA = GPA), part 2 under Sv39,
 * where pages of one virtual range map RAM, devices, nothing, the vPLIC.
 */
#include "common.S"

#define RAM_END 0x81000000            /* 16 MiB of RAM from 0x80000000 */
#define DEV_A   RAM_END               /* a device page right after RAM */
#define DEV_B   (RAM_END + 0x1000)    /* another device */
#define HOLE    (RAM_END + 0x2000)    /* nothing */
#define PLIC    0x0C000000            /* the vPLIC: handled in the hart */
#define RAMX    0x80031000            /* a page boundary in RAM */
#define LAZY    0x80C01000            /* RAM the harness maps on the first fault */
#define ROPG    0x80C03000            /* RAM the harness maps read-only at first */
#define LAZY2   0x80C05000            /* like LAZY, reached through paging */

#define ROOT 0x80010000
#define L1T  0x80011000
#define L0T  0x80012000
#define P0   0x80020000
#define P1   0x80021000
#define P2   0x80022000
#define P3   0x80023000
#define P4   0x80024000
#define P5   0x80026000
#define P6   0x80025000               /* below P5: a virtual pair, not a physical one */
#define P7   0x80027000
#define VA   0x40000000
#define V(i) (VA + (i) * 0x1000)

#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))
#define RW   0xC7                     /* V R W A D */
#define RO   0x43                     /* V R A */
#define RWX  0xCF

#define SENT 0x5A5A5A5A5A5A5A5A       /* what a faulting load must leave in rd */
#define PAT  0x0123456789ABCDEF       /* what a faulting store must leave in RAM */

/* TRAPS cause, tval, code, insn: insn traps once to the handler with this
   scause and stval; s7 and t6 hold its address (t6 for the harness). */
.macro TRAPS cause, tval, code, insn:vararg
    li s8, 0
    lla s7, .Ltraps\@
    mv t6, s7
.Ltraps\@:
    \insn
    TRAPPED 1, \cause, \tval, \code
.endm

/* SETPTE i, pa, flags: L0 entry i maps V(i) to pa */
.macro SETPTE i, pa, flags
    li t0, L0T + 8 * \i
    li t1, PTE(\pa, \flags)
    sd t1, 0(t0)
.endm

/* KEEP addr, code: the 8 bytes at addr still hold PAT. Clobbers t4, t5. */
.macro KEEP addr, code
    li t4, \addr
    ld t4, 0(t4)
    EXPECT t4, PAT, \code
.endm

/* PUTPAT addr: the 8 bytes at addr become PAT. Clobbers t4, t5. */
.macro PUTPAT addr
    li t4, \addr
    li t5, PAT
    sd t5, 0(t4)
.endm

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    li t0, 1 << 13                  /* sstatus.FS = Initial: FP loads and stores run */
    csrs sstatus, t0
    li s2, SENT

    /* ---- part 1: no paging ---- */

    /* misaligned inside a device page: access faults, nothing emulated */
    li t0, DEV_A
    li t2, DEV_B
    li t1, 0x1122334455667788
    mv a0, s2
    TRAPS 5, DEV_A + 1, 100, lw a0, 1(t0)
    EXPECT a0, SENT, 104
    TRAPS 7, DEV_B + 4, 110, sd t1, 4(t2)
    TRAPS 5, DEV_A + 0x11, 120, lh a0, 0x11(t0)
    EXPECT a0, SENT, 124
    TRAPS 7, DEV_A + 3, 130, sh t1, 3(t0)
    li a1, DEV_A + 2
    TRAPS 5, DEV_A + 2, 140, c.lw a0, 0(a1)
    EXPECT a0, SENT, 144
    TRAPS 7, DEV_A + 10, 150, c.sd a3, 8(a1)
    mv s3, sp
    li sp, DEV_B + 1
    TRAPS 5, DEV_B + 9, 160, c.ldsp s5, 8(sp)
    TRAPS 7, DEV_B + 5, 170, c.swsp s10, 4(sp)
    mv sp, s3

    /* naturally aligned: emulated (A's byte k reads 0xE0 + k) */
    TOUCH lw a0, 4(t0)
    EXPECT a0, 0xFFFFFFFFE7E6E5E4, 180
    li t1, 0x0123456789ABCDEF
    TOUCH sd t1, 8(t2)

    /* FP loads and stores: no device takes them, aligned or not */
    TRAPS 5, DEV_A + 2, 190, flw fa0, 2(t0)
    TRAPS 5, DEV_A + 4, 200, flw fa0, 4(t0)
    TRAPS 5, DEV_A + 4, 210, fld fa1, 4(t0)
    TRAPS 7, DEV_A + 8, 220, fsd fa1, 8(t0)
    TRAPS 7, DEV_B + 3, 230, fsw fa0, 3(t2)
    TRAPS 5, DEV_A + 2, 240, c.fld fa0, 0(a1)
    TRAPS 7, DEV_A + 10, 250, c.fsd fa0, 8(a1)

    /* AMOs and LR/SC: aligned ones exit and fault; misaligned ones are
       address-misaligned in the hart, before any translation */
    mv a2, s2
    addi t3, t0, 8
    TRAPS 7, DEV_A + 8, 260, amoadd.w a2, t1, (t3)
    addi t3, t0, 16
    TRAPS 5, DEV_A + 16, 270, lr.w a2, (t3)
    TRAPS 7, DEV_A + 16, 280, sc.w a2, t1, (t3)
    addi t3, t0, 4
    TRAPS 6, DEV_A + 4, 290, amoswap.d a2, t1, (t3)
    TRAPS 4, DEV_A + 4, 300, lr.d a2, (t3)
    EXPECT a2, SENT, 304

    /* across a page boundary in guest-physical space: RAM -> device */
    PUTPAT RAM_END - 8
    li t3, RAM_END - 8
    li t1, 0x1111111111111111
    mv a0, s2
    TRAPS 5, DEV_A, 310, lw a0, 6(t3)
    EXPECT a0, SENT, 314
    TRAPS 7, DEV_A, 320, sd t1, 5(t3)
    KEEP RAM_END - 8, 324
    /* device -> another device */
    li t3, DEV_B
    TRAPS 5, DEV_B - 2, 330, lw a0, -2(t3)
    TRAPS 7, DEV_B - 4, 340, sd t1, -4(t3)
    /* device -> nothing */
    li t3, HOLE
    TRAPS 7, HOLE - 1, 350, sw t1, -1(t3)
    TRAPS 5, HOLE - 3, 360, ld a0, -3(t3)
    EXPECT a0, SENT, 364

    /* the vPLIC: 32-bit aligned registers only, no exit either way */
    li t3, PLIC
    TRAPS 5, PLIC + 2, 370, lw a0, 2(t3)
    lw a0, 4(t3)                    /* priority 1: reads 0 */
    EXPECT a0, 0, 374
    li t3, PLIC + 0x1000
    TRAPS 7, PLIC + 0xFFE, 380, sw t1, -2(t3)

    /* RAM across a page boundary: every width, compressed, FP */
    li t3, RAMX
    li t1, 0x8877665544332211
    sd t1, -8(t3)
    li t1, 0xFFEEDDCCBBAA9988
    sd t1, 0(t3)
    ld a0, -3(t3)
    EXPECT a0, 0xCCBBAA9988887766, 400
    lw a0, -1(t3)
    EXPECT a0, 0xFFFFFFFFAA998888, 401
    lwu a0, -2(t3)
    EXPECT a0, 0x99888877, 402
    lh a0, -1(t3)
    EXPECT a0, 0xFFFFFFFFFFFF8888, 403
    lhu a0, -1(t3)
    EXPECT a0, 0x8888, 404
    addi a1, t3, -11
    c.ld a0, 8(a1)
    EXPECT a0, 0xCCBBAA9988887766, 405
    li t1, 0x0102030405060708
    sd t1, -5(t3)
    ld a0, -8(t3)
    EXPECT a0, 0x0405060708332211, 406
    ld a0, 0(t3)
    EXPECT a0, 0xFFEEDDCCBB010203, 407
    ld a0, -5(t3)
    EXPECT a0, 0x0102030405060708, 408
    li t1, 0x400921FB54442D18
    fmv.d.x fa0, t1
    addi a1, t3, -14
    c.fsd fa0, 8(a1)                /* at -6 */
    ld a0, -8(t3)
    EXPECT a0, 0x21FB54442D182211, 409
    ld a0, 0(t3)
    EXPECT a0, 0xFFEEDDCCBB014009, 410
    fld fa1, -6(t3)
    fmv.x.d a0, fa1
    EXPECT a0, 0x400921FB54442D18, 411
    flw fa2, -2(t3)
    fmv.x.w a0, fa2
    EXPECT a0, 0x400921FB, 412

    /* RAM -> RAM the hypervisor has not mapped yet: the exit names the second
       part, the first is not written before it; the retry writes both */
    PUTPAT LAZY - 8
    li t3, LAZY
    li t1, 0x1020304050607080
    TOUCH sd t1, -4(t3)
    ld a0, -4(t3)
    EXPECT a0, 0x1020304050607080, 420
    ld a0, -8(t3)
    EXPECT a0, 0x5060708089ABCDEF, 421
    /* the same with the second page mapped read-only in G-stage */
    PUTPAT ROPG - 8
    li t3, ROPG
    li t1, 0x0A0B0C0D
    TOUCH sw t1, -3(t3)
    ld a0, -8(t3)
    EXPECT a0, 0x0B0C0D6789ABCDEF, 430
    ld a0, 0(t3)
    EXPECT a0, 0x0A, 431

    /* ---- part 2: Sv39. Identity gigapage over RAM and the devices; V(i) 4 KiB pages ---- */
    li t0, ROOT + 16
    li t1, PTE(0x80000000, RWX)
    sd t1, 0(t0)
    li t0, ROOT + 8
    li t1, PTE(L1T, 0x01)
    sd t1, 0(t0)
    li t0, L1T
    li t1, PTE(L0T, 0x01)
    sd t1, 0(t0)
    SETPTE 0, P0, RW
    SETPTE 1, DEV_A, RW
    SETPTE 2, P1, RW
    /* V(3): invalid */
    SETPTE 4, P2, RW
    SETPTE 5, HOLE, RW
    SETPTE 6, P3, RW
    SETPTE 7, P4, RO
    SETPTE 8, P5, RW
    SETPTE 9, P6, RW
    SETPTE 10, DEV_B, RW
    SETPTE 11, DEV_A, RW
    SETPTE 12, P7, RW
    SETPTE 13, PLIC, RW
    SETPTE 14, LAZY2 - 0x1000, RW
    SETPTE 15, LAZY2, RW
    SETPTE 16, DEV_A, RW
    SETPTE 17, P0, RW
    li t0, (8 << 60) | (ROOT >> 12)
    csrw satp, t0
    sfence.vma

    /* a device page through a virtual address: aligned emulated, misaligned faults */
    li t0, V(1)
    TOUCH lw a0, 4(t0)
    EXPECT a0, 0xFFFFFFFFE7E6E5E4, 500
    mv a0, s2
    TRAPS 5, V(1) + 1, 510, lw a0, 1(t0)
    EXPECT a0, SENT, 514

    /* RAM -> device: the exit names the device part; stval its address */
    PUTPAT P0 + 0xFF8
    li t1, 0x2222222222222222
    TRAPS 5, V(1), 520, lw a0, -2(t0)
    EXPECT a0, SENT, 524
    TRAPS 7, V(1), 530, sd t1, -5(t0)
    KEEP P0 + 0xFF8, 534

    /* RAM -> a page the guest did not map: its own page fault, stval the second part */
    PUTPAT P1 + 0xFF8
    li t0, V(3)
    TRAPS 15, V(3), 540, sw t1, -2(t0)
    TRAPS 13, V(3), 550, ld a0, -4(t0)
    EXPECT a0, SENT, 554
    KEEP P1 + 0xFF8, 555

    /* RAM -> a guest-physical hole: exits, access fault */
    PUTPAT P2 + 0xFF8
    li t0, V(5)
    TRAPS 7, V(5), 560, sd t1, -6(t0)
    TRAPS 5, V(5), 570, lh a0, -1(t0)
    EXPECT a0, SENT, 574
    KEEP P2 + 0xFF8, 575

    /* RAM -> a read-only page: a store page fault, nothing written; loads work */
    PUTPAT P3 + 0xFF8
    li t0, P4
    li t1, 0x7766554433221100
    sd t1, 0(t0)
    li t0, V(7)
    TRAPS 15, V(7), 580, sw t1, -2(t0)
    KEEP P3 + 0xFF8, 584
    lw a0, -2(t0)
    EXPECT a0, 0x11000123, 585

    /* RAM -> RAM on pages that are not physically adjacent */
    li t0, V(9)
    li t1, 0x0102030405060708
    sd t1, -3(t0)
    ld a0, -3(t0)
    EXPECT a0, 0x0102030405060708, 590
    li t0, P5 + 0xFF8
    ld a0, 0(t0)
    EXPECT a0, 0x0607080000000000, 591
    li t0, P6
    ld a0, 0(t0)
    EXPECT a0, 0x0000000102030405, 592

    /* device -> another device through paging: the first part exits and faults */
    li t0, V(11)
    TRAPS 5, V(11) - 2, 600, lw a0, -2(t0)

    /* RAM -> the vPLIC: access fault in the hart, nothing written */
    PUTPAT P7 + 0xFF8
    li t0, V(13)
    TRAPS 7, V(13), 610, sd t1, -4(t0)
    TRAPS 5, V(13), 620, lw a0, -2(t0)
    KEEP P7 + 0xFF8, 624

    /* RAM -> RAM not mapped in G-stage yet: exit, map, retry */
    PUTPAT LAZY2 - 8
    li t0, V(15)
    li t1, 0x99AABBCCDDEEFF00
    TOUCH sd t1, -4(t0)
    ld a0, -4(t0)
    EXPECT a0, 0x99AABBCCDDEEFF00, 630

    /* device -> RAM: the device part comes first */
    li t0, V(17)
    mv a0, s2
    TRAPS 5, V(17) - 2, 640, lw a0, -2(t0)
    EXPECT a0, SENT, 644

    PASS 0x4D

    .balign 4                       /* stvec needs a 4-byte aligned base */
handler:
    csrr s9, scause
    csrr s10, stval
    csrr s11, sepc
    addi s8, s8, 1
    /* step over the instruction: 4 bytes if its low bits are 11, else 2 */
    lhu t5, 0(s11)
    andi t5, t5, 3
    xori t5, t5, 3
    addi t6, s11, 2
    bnez t5, 1f
    addi t6, t6, 2
1:  csrw sepc, t6
    sret
