/*
 * Two harts counting, for tests/unit/test_vmm.c (pause and resume of a whole
 * VM built by vm_create; booted as the ELF "kernel", not by test_exits).
 *
 * Hart 0 starts hart 1 through SBI HSM (hart_start, EID 0x48534D, FID 0) and
 * writes the SBI error it got to HSM_RESULT (then HSM_DONE = 1). Then each hart
 * h spins forever, never WFI, never an exit of its own; every iteration it
 *   - stores its iteration number (1, 2, ...) at COUNT + 8*h,
 *   - stores the time CSR (rdtime) at TIME + 8*h,
 *   - keeps at MAXGAP + 8*h the largest step of time between two iterations
 *     (loaded from RAM each time, so the harness may zero it while paused),
 *   - counts at BACK + 8*h the iterations whose time was below the previous,
 *     and keeps the largest such backward step at MAXBACK + 8*h.
 * The harness reads all of them through guest RAM.
 */
#include "common.S"

#define COUNT      0x80100000
#define TIME       0x80100100
#define MAXGAP     0x80100200
#define BACK       0x80100300
#define MAXBACK    0x80100380
#define HSM_RESULT 0x80100400
#define HSM_DONE   0x80100408

#define SBI_EXT_HSM 0x48534D

    .text
    .globl _start
_start:
    mv s0, a0               /* hartid */
    bnez s0, count

    li a7, SBI_EXT_HSM
    li a6, 0                /* hart_start(1, _start, 0) */
    li a0, 1
    lla a1, _start
    li a2, 0
    ecall
    li t0, HSM_RESULT
    sd a0, 0(t0)
    li t1, 1
    sd t1, 8(t0)

count:
    slli s1, s0, 3
    li t0, COUNT
    add s2, t0, s1          /* &count */
    li t0, TIME
    add s3, t0, s1          /* &time */
    li t0, MAXGAP
    add s4, t0, s1          /* &max gap */
    li t0, BACK
    add s5, t0, s1          /* &backward steps */
    li s6, 0                /* iterations */
    rdtime s7               /* the previous time */
1:  addi s6, s6, 1
    sd s6, 0(s2)
    rdtime t1
    sd t1, 0(s3)
    blt t1, s7, 3f
    sub t2, t1, s7
    ld t3, 0(s4)
    bgeu t3, t2, 2f
    sd t2, 0(s4)
2:  mv s7, t1
    j 1b
3:  ld t3, 0(s5)
    addi t3, t3, 1
    sd t3, 0(s5)
    sub t2, s7, t1          /* how far back */
    ld t3, 0x80(s5)         /* MAXBACK + 8*h */
    bgeu t3, t2, 2b
    sd t2, 0x80(s5)
    j 2b
