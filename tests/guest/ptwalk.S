/*
 * A G-stage fault inside the guest's own page-table walk. The harness built
 * the guest's Sv39 tables: root (mapped) -> L1 at 0x80200000 (not mapped in
 * G-stage) -> L0 at 0x80300000 (mapped read-only) -> DATA, leaf A = 0. The
 * load through VA first exits 21 on reading the L1 PTE (hutinst = the
 * pseudoinstruction 0x3000, hutval = that PTE's GPA >> 2, utval = the VA),
 * then 21 again on the hart's A-bit write to the leaf (hutinst 0x3020: a
 * fault of the walk reports the original access's type); after the
 * harness maps both, the same load completes.
 */
#include "common.S"

#define ROOT 0x80010000
#define VA   0x40000000

    .text
    .globl _start
_start:
    li t0, (8 << 60) | (ROOT >> 12)
    csrw satp, t0
    sfence.vma
    li t0, VA
    TOUCH ld a0, 8(t0)
    EXPECT a0, 0x5555AAAA5555AAAA, 1
    PASS 12
