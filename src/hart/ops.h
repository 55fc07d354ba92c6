/*
 * The hart's operations: one per instruction the decoder knows. For each:
 * the family whose exec_*.h states its semantics (the interpreter and the
 * JIT's helper calls share that one definition), the kind and encoding that
 * mmu_transform_insn needs to rebuild loads and stores for hutinst, and what
 * a translator must know about it (flags below).
 */
#ifndef DUVISOR_HART_OPS_H
#define DUVISOR_HART_OPS_H

#include <stdint.h>

#include "hart/ops_scalar.h"

/* What a translator needs to know about an operation. */
enum op_flags {
    OPF_WRITES_RD = 1u << 0, /* writes integer register rd */
    OPF_TRAPS = 1u << 1,     /* may raise a trap or an exit */
    OPF_FP = 1u << 2,        /* uses FP state: illegal while vsstatus.FS is Off */
    OPF_BRANCH = 1u << 3,    /* conditional branch: a region may continue past it */
    OPF_JUMP = 1u << 4,      /* unconditional jump (jal, jalr) */
    OPF_INTERP = 1u << 5,    /* changes hart state a region assumes (CSRs, privilege,
                                translation) or waits: ends a region, run by the interpreter */
};

/* X(name, family, kind, major opcode, funct3, flags) */
#define HART_OPS(X)                                                                                \
    X(ILLEGAL, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                           \
    HART_OPS_SCALAR(X)                                                                             \
    /* V: one op per encoding class; exec_vec.h / vector*.c decode the rest of the bits */         \
    X(VSETVL, VEC, OTHER, 0x57, 7, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(VTOX, VEC, OTHER, 0x57, 2, OPF_TRAPS | OPF_WRITES_RD)                                        \
    X(VARITH, VEC, OTHER, 0x57, 0, OPF_TRAPS)                                                      \
    X(VLOAD, VEC, OTHER, 0x07, 0, OPF_TRAPS)                                                       \
    X(VSTORE, VEC, OTHER, 0x27, 0, OPF_TRAPS)                                                      \
    X(VCRYPTO, VEC, OTHER, 0x77, 2, OPF_TRAPS)                                                     \
    X(LUI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(AUIPC, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(JAL, BRANCH, OTHER, 0, 0, OPF_JUMP | OPF_WRITES_RD)                                          \
    X(JALR, BRANCH, OTHER, 0, 0, OPF_JUMP | OPF_WRITES_RD)                                         \
    X(BEQ, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                        \
    X(BNE, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                        \
    X(BLT, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                        \
    X(BGE, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                        \
    X(BLTU, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                       \
    X(BGEU, BRANCH, OTHER, 0, 0, OPF_BRANCH)                                                       \
    X(ADDI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SLTI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SLTIU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(XORI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(ORI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(ANDI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SLLI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SRLI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SRAI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(ADD, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SUB, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SLL, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SLT, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SLTU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(XOR, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SRL, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(SRA, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(OR, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                         \
    X(AND, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(ADDIW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(SLLIW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(SRLIW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(SRAIW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(ADDW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SUBW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SLLW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SRLW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SRAW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(FENCE, SYS, OTHER, 0, 0, 0)                                                                  \
    X(FENCE_I, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                           \
    X(ECALL, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                             \
    X(EBREAK, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                            \
    X(SRET, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                              \
    X(MRET, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                              \
    X(WFI, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                               \
    X(SFENCE_VMA, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                        \
    X(SFENCE_INVAL, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                      \
    X(HYPERVISOR, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                        \
    X(CSRRW, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                             \
    X(CSRRS, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                             \
    X(CSRRC, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                             \
    X(CSRRWI, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                            \
    X(CSRRSI, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                            \
    X(CSRRCI, SYS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP | OPF_WRITES_RD)                            \
    X(MUL, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(MULH, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(MULHSU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(MULHU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(DIV, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(DIVU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(REM, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(REMU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(MULW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(DIVW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(DIVUW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(REMW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(REMUW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(SH1ADD, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(SH2ADD, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(SH3ADD, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(ADD_UW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(SH1ADD_UW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(SH2ADD_UW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(SH3ADD_UW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(SLLI_UW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                    \
    X(ANDN, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(ORN, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(XNOR, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(CLZ, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(CTZ, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(CPOP, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(CLZW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(CTZW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(CPOPW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(MAX, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(MAXU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(MIN, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(MINU, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(SEXT_B, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(SEXT_H, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(ZEXT_H, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                     \
    X(ROL, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(ROR, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                        \
    X(RORI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(ROLW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(RORW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(RORIW, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(ORC_B, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(REV8, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(BCLR, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(BCLRI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(BEXT, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(BEXTI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(BINV, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(BINVI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(BSET, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                       \
    X(BSETI, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                      \
    X(FMADD_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FMSUB_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FNMSUB_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FNMADD_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMADD_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FMSUB_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FNMSUB_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FNMADD_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FADD_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSUB_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMUL_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FDIV_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSQRT_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJ_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJN_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FSGNJX_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMIN_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMAX_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FADD_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSUB_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMUL_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FDIV_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSQRT_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJ_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJN_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FSGNJX_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMIN_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMAX_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FCVT_W_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_WU_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_L_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_LU_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_S_W, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_S_WU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_S_L, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_S_LU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_W_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_WU_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_L_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_LU_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_D_W, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_D_WU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_D_L, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_D_LU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_S_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_D_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMV_X_W, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                \
    X(FMV_W_X, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FMV_X_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                \
    X(FMV_D_X, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FLE_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FLT_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FEQ_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FLE_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FLT_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FEQ_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FCLASS_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCLASS_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(LB, MEM, LOAD, 0x03, 0, OPF_TRAPS | OPF_WRITES_RD)                                           \
    X(LH, MEM, LOAD, 0x03, 1, OPF_TRAPS | OPF_WRITES_RD)                                           \
    X(LW, MEM, LOAD, 0x03, 2, OPF_TRAPS | OPF_WRITES_RD)                                           \
    X(LD, MEM, LOAD, 0x03, 3, OPF_TRAPS | OPF_WRITES_RD)                                           \
    X(LBU, MEM, LOAD, 0x03, 4, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(LHU, MEM, LOAD, 0x03, 5, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(LWU, MEM, LOAD, 0x03, 6, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(SB, MEM, STORE, 0x23, 0, OPF_TRAPS)                                                          \
    X(SH, MEM, STORE, 0x23, 1, OPF_TRAPS)                                                          \
    X(SW, MEM, STORE, 0x23, 2, OPF_TRAPS)                                                          \
    X(SD, MEM, STORE, 0x23, 3, OPF_TRAPS)                                                          \
    X(FLW, FP, LOAD, 0x07, 2, OPF_TRAPS | OPF_FP)                                                  \
    X(FLD, FP, LOAD, 0x07, 3, OPF_TRAPS | OPF_FP)                                                  \
    X(FSW, FP, STORE, 0x27, 2, OPF_TRAPS | OPF_FP)                                                 \
    X(FSD, FP, STORE, 0x27, 3, OPF_TRAPS | OPF_FP)                                                 \
    X(LR_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(SC_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(AMOSWAP_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(AMOADD_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOXOR_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOAND_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOOR_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                       \
    X(AMOMIN_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOMAX_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOMINU_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(AMOMAXU_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(LR_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(SC_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                          \
    X(AMOSWAP_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(AMOADD_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOXOR_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOAND_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOOR_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                       \
    X(AMOMIN_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOMAX_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOMINU_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(AMOMAXU_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)

enum op {
#define X(name, family, kind, opcode, funct3, flags) OP_##name,
    HART_OPS(X)
#undef X
        OP_COUNT
};

enum op_kind { KIND_OTHER, KIND_LOAD, KIND_STORE, KIND_AMO };

struct op_info {
    uint8_t kind, opcode, funct3, flags;
};

static const struct op_info op_infos[OP_COUNT] = {
#define X(name, family, kind, opcode, funct3, flags)                                               \
    [OP_##name] = {KIND_##kind, opcode, funct3, flags},
    HART_OPS(X)
#undef X
};

#endif
