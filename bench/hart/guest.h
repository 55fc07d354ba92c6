/*
 * What the benchmark guests (bench/hart/<name>.S) and their driver (bench/hart_bench.c)
 * agree on. Plain #defines: this file is read by the assembler too.
 */
#ifndef DUVISOR_BENCH_GUEST_H
#define DUVISOR_BENCH_GUEST_H

/* guest RAM: images are linked and loaded at its start */
#define BENCH_RAM_BASE 0x80000000
#define BENCH_RAM_SIZE (64 << 20)

/* ecall a7 values: "finished, result in a0", and the exit benchmark's no-op call */
#define BENCH_ECALL_DONE 0x444f4e45 /* "DONE" */
#define BENCH_ECALL_PING 0x50494e47 /* "PING" */

/* an unmapped guest-physical address: loads from it are MMIO exits */
#define BENCH_MMIO_GPA 0x10000000

/* loop sizes */
#define INT_ITERS    30000000 /* 10 instructions each */
#define BRANCH_ITERS 20000000
#define MEM_SLOTS    (512 * 1024) /* 8-byte slots: 4 MiB per array */
#define MEM_CHASE    24           /* pointer-chase steps, in multiples of MEM_SLOTS */
#define MEM_PASSES   48           /* streaming read-modify-write passes */
#define ECALL_N      5000000
#define MMIO_N       2000000

/* the int and branch loops' constants (shared with the driver's reference) */
#define LCG_MUL 6364136223846793005
#define LCG_ADD 1442695040888963407

#endif
