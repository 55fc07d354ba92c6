/*
 * The guest's own Sv39 paging. The guest builds a 3-level table in its RAM:
 * a 1 GiB identity leaf over 0x80000000 (code, tables, data; A and D preset)
 * and VA 0x40000000 -> DATA through all three levels with A = D = 0. It turns
 * on satp and checks that a load through VA sets A (only), a store sets D,
 * and both reach DATA; a load and a store to the unmapped VA 0x40001000 are
 * page faults (13, 15) delivered to the guest's own handler with stval = VA,
 * not exits. The handler records scause/stval/sepc in s9/s10/s11, counts in
 * s8 and steps over the (4-byte) instruction.
 */
#include "common.S"

#define ROOT 0x80010000
#define L1T  0x80011000
#define L0T  0x80012000
#define DATA 0x80020000
#define VA   0x40000000
#define PTE_V 0x01
#define PTE_R 0x02
#define PTE_W 0x04
#define PTE_X 0x08
#define PTE_A 0x40
#define PTE_D 0x80
#define PTE(pa, flags) ((((pa) >> 12) << 10) | (flags))

    .text
    .globl _start
_start:
    lla t0, handler
    csrw stvec, t0
    li s8, 0

    /* zero the three table pages */
    li t0, ROOT
    li t1, L0T + 4096
1:  sd zero, 0(t0)
    addi t0, t0, 8
    bltu t0, t1, 1b

    li t0, ROOT
    li t1, PTE(0x80000000, PTE_V | PTE_R | PTE_W | PTE_X | PTE_A | PTE_D)
    sd t1, 16(t0)                   /* root[2]: identity gigapage */
    li t1, PTE(L1T, PTE_V)
    sd t1, 8(t0)                    /* root[1] -> L1 */
    li t0, L1T
    li t1, PTE(L0T, PTE_V)
    sd t1, 0(t0)                    /* L1[0] -> L0 */
    li t0, L0T
    li t1, PTE(DATA, PTE_V | PTE_R | PTE_W)
    sd t1, 0(t0)                    /* L0[0] -> DATA, A = D = 0 */

    li t0, DATA
    li t1, 0x600DF00D12345678
    sd t1, 8(t0)                    /* placed physically, read through VA below */

    li t0, (8 << 60) | (ROOT >> 12)
    csrw satp, t0
    sfence.vma

    /* load through VA: the data, and A set in the leaf (D still clear) */
    li s0, VA
    ld a0, 8(s0)
    EXPECT a0, 0x600DF00D12345678, 1
    li s1, L0T
    ld t0, 0(s1)
    andi t0, t0, PTE_A | PTE_D
    EXPECT t0, PTE_A, 2

    /* store through VA: D set, and the data is at DATA + 16 */
    li t1, 0x0BADCAFE87654321
    sd t1, 16(s0)
    ld t0, 0(s1)
    andi t0, t0, PTE_A | PTE_D
    EXPECT t0, PTE_A | PTE_D, 3
    li t0, DATA
    ld a0, 16(t0)
    EXPECT a0, 0x0BADCAFE87654321, 4

    /* unmapped VA: load page fault, then store page fault, both to the guest */
    li t0, VA + 0x1000
    lla s7, 2f
2:  ld a0, 0(t0)
    TRAPPED 1, 13, VA + 0x1000, 10
    lla s7, 3f
3:  sd t1, 8(t0)
    TRAPPED 2, 15, VA + 0x1008, 20
    PASS 11

    .balign 4
handler:
    csrr s9, scause
    csrr s10, stval
    csrr s11, sepc
    addi s8, s8, 1
    addi t6, s11, 4
    csrw sepc, t6
    sret
