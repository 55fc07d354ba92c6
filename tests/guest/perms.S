/*
 * G-stage permissions. Page 0 (code) is mapped R|X, page 1 (ro_data) R only,
 * page 2 (rw_code) R|W without X. A load from the read-only page works; a
 * store or AMO to it is a store guest-page fault (23), which the harness
 * drops by stepping over it; a fetch from the non-executable page is an
 * instruction guest-page fault (20) with uepc = utval = its address, after
 * which the harness adds X and the call runs.
 */
#include "common.S"

    .text
    .globl _start
_start:
    li t1, 0x1111222233334444
    lla t0, ro_data

    ld a0, 8(t0)
    EXPECT a0, 0xFEEDFACECAFEBEEF, 1

    TOUCH sd t1, 8(t0)              /* exit 23, skipped by the harness */
    ld a0, 8(t0)
    EXPECT a0, 0xFEEDFACECAFEBEEF, 2

    TOUCH amoadd.d a2, t1, (t0)     /* exit 23 at ro_data + 0, skipped by the harness */
    ld a0, 0(t0)
    EXPECT a0, 0, 3

    li a0, 0
    lla t6, rw_code
    jalr t6                         /* exit 20 at rw_code; the harness adds X */
    EXPECT a0, 0x77, 4

    /* the page stayed writable */
    lla t0, rw_code
    sd t1, 64(t0)
    ld a0, 64(t0)
    EXPECT a0, 0x1111222233334444, 5
    PASS 4

    .balign 4096
ro_data:
    .dword 0
    .dword 0xFEEDFACECAFEBEEF

    .balign 4096
rw_code:
    li a0, 0x77
    ret
