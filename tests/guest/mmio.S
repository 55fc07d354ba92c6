/*
 * MMIO at every width. 0x10000000 is not mapped in G-stage, so every access
 * below exits (21 load, 23 store) with hutinst = the transformed instruction.
 * The harness emulates a device whose byte at offset k reads 0xE0 + k: for a
 * load it writes rd (named by hutinst) with the value sign- or zero-extended
 * as hutinst's funct3 says; for a store it checks rs2 (named by hutinst). The
 * guest checks the loaded values, so a wrong rd, width or signedness in
 * hutinst shows. The compressed forms use a1 and sp as bases.
 */
#include "common.S"

#define DEV 0x10000000

    .text
    .globl _start
_start:
    li t0, DEV
    li a1, DEV
    li sp, DEV

    TOUCH lb a0, 3(t0)
    EXPECT a0, 0xFFFFFFFFFFFFFFE3, 1
    TOUCH lbu s2, 3(t0)
    EXPECT s2, 0xE3, 2
    TOUCH lh t3, 2(t0)
    EXPECT t3, 0xFFFFFFFFFFFFE3E2, 3
    TOUCH lhu a2, 6(t0)
    EXPECT a2, 0xE7E6, 4
    TOUCH lw s11, 4(t0)
    EXPECT s11, 0xFFFFFFFFE7E6E5E4, 5
    TOUCH lwu t1, 12(t0)
    EXPECT t1, 0xEFEEEDEC, 6
    TOUCH ld s4, 16(t0)
    EXPECT s4, 0xF7F6F5F4F3F2F1F0, 7
    TOUCH c.lw a0, 4(a1)
    EXPECT a0, 0xFFFFFFFFE7E6E5E4, 8
    TOUCH c.ld s1, 8(a1)
    EXPECT s1, 0xEFEEEDECEBEAE9E8, 9
    TOUCH c.lwsp t2, 20(sp)
    EXPECT t2, 0xFFFFFFFFF7F6F5F4, 10
    TOUCH c.ldsp s5, 24(sp)
    EXPECT s5, 0xFFFEFDFCFBFAF9F8, 11

    li s6, 0xAAAAAAAAAAAAAA5A
    TOUCH sb s6, 1(t0)
    li s7, 0xBBBBBBBBBBBBBEEF
    TOUCH sh s7, 2(t0)
    li s8, 0xCCCCCCCCDEADBEEF
    TOUCH sw s8, 4(t0)
    li s9, 0x0123456789ABCDEF
    TOUCH sd s9, 8(t0)
    li a2, 0xDDDDDDDD12345678
    TOUCH c.sw a2, 12(a1)
    li a3, 0xFEDCBA9876543210
    TOUCH c.sd a3, 16(a1)
    li s10, 0xEEEEEEEE87654321
    TOUCH c.swsp s10, 20(sp)
    li a4, 0x0F1E2D3C4B5A6978
    TOUCH c.sdsp a4, 24(sp)
    PASS 5
