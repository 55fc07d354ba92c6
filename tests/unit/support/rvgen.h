/*
 * rvgen: seeded, reproducible random RV64GC programs for differential tests
 * of the hart's engines (tests/unit/test_jit_diff.c).
 *
 * A program is a whole guest-RAM image: a guest trap handler at vstvec, the
 * random code, scratch data pages and (for Sv39 programs) VS-stage page
 * tables, plus the registers to start with. Every program terminates: loops
 * count a reserved register down, every other jump goes forward, and calls
 * return. It ends with an ecall whose a7 is RVGEN_END_A7.
 *
 * What the harness must do (identically for every engine it compares):
 *  - map all of RVGEN_RAM in the G-stage except RVGEN_LAZY_PAGE; an access
 *    there is a guest-page-fault exit until the harness maps it;
 *  - never map RVGEN_MMIO: accesses there exit with cause 21/23;
 *  - step uepc over ecalls (cause 10), virtual instructions (22) and MMIO
 *    accesses; apply rvgen_program.patch[] entries at their ecalls; it may
 *    write a0/a1 at an ecall (no program keeps an address there across one);
 *  - start at `entry` in VS mode with hustatus.VTW = 1, hucounteren =
 *    RVGEN_HUCOUNTEREN, vstvec = RVGEN_HANDLER, vsstatus = RVGEN_VSSTATUS,
 *    vsatp, fcsr, x[] and f[] as given.
 *
 * Self-contained C17 (no duvisor headers): files in tests/unit/support/ are
 * linked into every unit test.
 */
#ifndef DUVISOR_TESTS_RVGEN_H
#define DUVISOR_TESTS_RVGEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- guest memory layout -------------------------------------------------------------- */
#define RVGEN_PAGE        4096ull
#define RVGEN_RAM         0x80000000ull
#define RVGEN_RAM_SIZE    0x20000ull    /* 128 KiB: small, so comparing all of it is cheap */
#define RVGEN_HANDLER     0x80000000ull /* vstvec */
#define RVGEN_ENTRY       0x80000f00ull /* near a page end: code soon straddles it */
#define RVGEN_CODE_END    0x80008000ull
#define RVGEN_HDATA       0x80008000ull /* the handler's page: a mask of the causes it saw */
#define RVGEN_DATA        0x80010000ull /* scratch data, RVGEN_DATA_PAGES pages */
#define RVGEN_DATA_PAGES  6
#define RVGEN_LAZY_PAGE   (RVGEN_DATA + 4 * RVGEN_PAGE) /* absent from the G-stage at start */
#define RVGEN_VS_HOLE     (RVGEN_DATA + 5 * RVGEN_PAGE) /* absent from the VS-stage (Sv39) */
#define RVGEN_PT          0x80018000ull                 /* Sv39 tables, 5 pages */
#define RVGEN_MMIO        0x10000000ull                 /* never mapped: an MMIO-like hole */
#define RVGEN_CODE_BYTES  (RVGEN_CODE_END - RVGEN_RAM)
#define RVGEN_END_A7      0x44494646ull /* "DIFF": a7 of the final ecall */
#define RVGEN_HUCOUNTEREN 4u            /* instret only: cycle and time are exits */
#define RVGEN_VSSTATUS    (1ull << 13)  /* FS = Initial */
#define RVGEN_MAX_PATCHES 64

/* --- what the generator emits, by class (coverage is asserted per class) ------------- */
#define RVGEN_CLASSES(X)                                                                           \
    X(ALU_REG, "add/sub/slt/logic (+W)")                                                           \
    X(ALU_IMM, "addi/slti/xori.. (+addiw)")                                                        \
    X(SHIFT, "shifts by 0/31/32/63 (+W)")                                                          \
    X(UPPER, "lui/auipc")                                                                          \
    X(MUL, "mul/mulh*/mulw")                                                                       \
    X(DIV, "div/rem (+W)")                                                                         \
    X(DIV_EDGE, "div/rem by 0, INT_MIN/-1")                                                        \
    X(ZBA, "sh*add(.uw), add.uw, slli.uw")                                                         \
    X(ZBB, "andn/orn/xnor/clz/ctz/cpop/min/max/sext/zext/rol/ror/orc.b/rev8")                      \
    X(ZBS, "bclr/bext/binv/bset(i)")                                                               \
    X(LI_EDGE, "edge values into registers")                                                       \
    X(C_ALU, "compressed ALU")                                                                     \
    X(LOAD, "loads, all widths")                                                                   \
    X(STORE, "stores, all widths")                                                                 \
    X(MISALIGNED, "misaligned loads/stores")                                                       \
    X(PAGE_CROSS, "page-crossing loads/stores")                                                    \
    X(C_MEM, "c.lw/c.ld/c.sw/c.sd/c.*sp")                                                          \
    X(AMO, "amo*.w/.d")                                                                            \
    X(LR_SC, "lr/sc")                                                                              \
    X(AMO_MISALIGNED, "misaligned amo/lr/sc (trap)")                                               \
    X(FP_MEM, "fld/fsd/flw/fsw (+compressed)")                                                     \
    X(FP_ARITH, "fadd/fsub/fmul/fdiv/fsqrt")                                                       \
    X(FP_FMA, "fmadd/fmsub/fnmadd/fnmsub")                                                         \
    X(FP_SGNJ_MINMAX, "fsgnj*/fmin/fmax")                                                          \
    X(FP_CVT, "fcvt int<->fp, s<->d")                                                              \
    X(FP_MV, "fmv.x.*/fmv.*.x")                                                                    \
    X(FP_CMP, "feq/flt/fle")                                                                       \
    X(FP_CLASS, "fclass")                                                                          \
    X(FP_BAD_RM, "fp with reserved rm (illegal)")                                                  \
    X(FRM_WRITE, "csrw frm/fcsr/fflags")                                                           \
    X(FCSR_READ, "csrr fflags/frm/fcsr")                                                           \
    X(INSTRET, "csrr instret")                                                                     \
    X(CSR_SUPER, "csrr sstatus/sscratch/sepc/scause/stval/satp")                                   \
    X(ILLEGAL, "illegal instructions")                                                             \
    X(EBREAK, "ebreak/c.ebreak")                                                                   \
    X(ECALL, "ecall (exit 10)")                                                                    \
    X(VIRTUAL, "wfi/cycle/time/hstatus/hfence (exit 22)")                                          \
    X(LAZY, "access to the lazily mapped page (exit 21/23)")                                       \
    X(MMIO, "access to the MMIO hole (exit 21/23)")                                                \
    X(VS_FAULT, "access to a VS-unmapped page (Sv39 page fault)")                                  \
    X(FENCE, "fence/fence.i/sfence.vma")                                                           \
    X(FS_OFF, "fp while vsstatus.FS is Off")                                                       \
    X(SMC_FENCE, "store over a later insn, fence.i")                                               \
    X(SMC_NOFENCE, "store over a later insn, no fence.i")                                          \
    X(SMC_LOOP, "store over an executed insn in a loop")                                           \
    X(HV_PATCH, "hypervisor rewrites code at an ecall")                                            \
    X(BRANCH, "forward beq/bne/blt/bge/bltu/bgeu")                                                 \
    X(C_BRANCH, "forward c.beqz/c.bnez")                                                           \
    X(JAL, "forward jal/c.j")                                                                      \
    X(CALL, "calls and returns")                                                                   \
    X(JUMP_TABLE, "jalr through a jump table")                                                     \
    X(LOOP, "counted loops")                                                                       \
    X(LOOP_NESTED, "nested counted loops")                                                         \
    X(CODE_PAGE_CROSS, "4-byte insn straddling a code page")                                       \
    X(SV39, "programs run under Sv39")

enum rvgen_class {
#define RVGEN_ENUM(name, text) RVGEN_CLASS_##name,
    RVGEN_CLASSES(RVGEN_ENUM)
#undef RVGEN_ENUM
        RVGEN_NCLASSES
};

extern const char *const rvgen_class_name[RVGEN_NCLASSES];

/* The hypervisor writes `word` at guest address `addr` when the guest's ecall at
   `ecall_pc` exits (a code patch by "DMA"; the harness calls dv_mem_written). */
struct rvgen_patch {
    uint64_t ecall_pc, addr;
    uint32_t word;
};

struct rvgen_program {
    uint64_t seed;
    bool sv39;          /* VS-stage translation on (vsatp below), else bare */
    bool gstage_sv39x4; /* G-stage mode the harness should use: Sv39x4, else Sv48x4 */
    uint64_t vsatp;
    uint64_t entry, final_ecall;
    uint64_t x[32], f[32];
    uint32_t fcsr;
    uint8_t ram[RVGEN_RAM_SIZE];            /* the initial guest RAM */
    const char *name[RVGEN_CODE_BYTES / 2]; /* mnemonic of the insn at each code halfword */
    struct rvgen_patch patch[RVGEN_MAX_PATCHES];
    unsigned npatches;
    unsigned count[RVGEN_NCLASSES]; /* items emitted, by class */
    uint64_t est_insns;             /* estimated dynamic instructions */
};

/* Fill p with the program for seed (the same seed always gives the same program). */
void rvgen_generate(struct rvgen_program *p, uint64_t seed);

/* The mnemonic emitted at guest address pc, or NULL (not an instruction start). */
const char *rvgen_name_at(const struct rvgen_program *p, uint64_t pc);

/* The splitmix64 step: seeds derived from seeds. */
uint64_t rvgen_splitmix(uint64_t *state);

/* --- the encoder (exposed for known-answer tests) ------------------------------------- */
uint32_t rvgen_r(unsigned opcode, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2,
                 unsigned f7);
uint32_t rvgen_i(unsigned opcode, unsigned rd, unsigned f3, unsigned rs1, int32_t imm);
uint32_t rvgen_s(unsigned opcode, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm);
uint32_t rvgen_b(unsigned f3, unsigned rs1, unsigned rs2, int32_t offset);
uint32_t rvgen_u(unsigned opcode, unsigned rd, uint32_t imm20);
uint32_t rvgen_j(unsigned rd, int32_t offset);
uint32_t rvgen_r4(unsigned opcode, unsigned rd, unsigned rm, unsigned rs1, unsigned rs2,
                  unsigned fmt, unsigned rs3);
uint16_t rvgen_c_beqz(bool bnez, unsigned rs1, int32_t offset);
uint16_t rvgen_c_j(int32_t offset);
uint16_t rvgen_c_lw(bool d, unsigned rd, unsigned rs1, unsigned offset);  /* c.lw / c.ld */
uint16_t rvgen_c_sw(bool d, unsigned rs1, unsigned rs2, unsigned offset); /* c.sw / c.sd */
uint16_t rvgen_c_lwsp(bool d, unsigned rd, unsigned offset);              /* c.lwsp / c.ldsp */
uint16_t rvgen_c_swsp(bool d, unsigned rs2, unsigned offset);             /* c.swsp / c.sdsp */
uint16_t rvgen_c_ci(unsigned f3, unsigned op, unsigned rd, int32_t imm6); /* c.addi, c.li, .. */

/* Write the shortest sequence that loads value into rd at buf (at most 32
   bytes); returns its length in bytes. */
size_t rvgen_li(uint8_t *buf, unsigned rd, uint64_t value);

#endif
