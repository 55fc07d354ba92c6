/* The hart's operations: one per instruction the decoder knows, with what
   mmu_transform_insn needs to rebuild loads and stores for hutinst. */
#ifndef DUVISOR_HART_OPS_H
#define DUVISOR_HART_OPS_H

#include <stdint.h>

/* X(name, kind, major opcode, funct3) */
#define HART_OPS(X)                                                                                \
    X(ILLEGAL, OTHER, 0, 0)                                                                        \
    X(LUI, OTHER, 0, 0)                                                                            \
    X(AUIPC, OTHER, 0, 0)                                                                          \
    X(JAL, OTHER, 0, 0)                                                                            \
    X(JALR, OTHER, 0, 0)                                                                           \
    X(BEQ, OTHER, 0, 0)                                                                            \
    X(BNE, OTHER, 0, 0)                                                                            \
    X(BLT, OTHER, 0, 0)                                                                            \
    X(BGE, OTHER, 0, 0)                                                                            \
    X(BLTU, OTHER, 0, 0)                                                                           \
    X(BGEU, OTHER, 0, 0)                                                                           \
    X(ADDI, OTHER, 0, 0)                                                                           \
    X(SLTI, OTHER, 0, 0)                                                                           \
    X(SLTIU, OTHER, 0, 0)                                                                          \
    X(XORI, OTHER, 0, 0)                                                                           \
    X(ORI, OTHER, 0, 0)                                                                            \
    X(ANDI, OTHER, 0, 0)                                                                           \
    X(SLLI, OTHER, 0, 0)                                                                           \
    X(SRLI, OTHER, 0, 0)                                                                           \
    X(SRAI, OTHER, 0, 0)                                                                           \
    X(ADD, OTHER, 0, 0)                                                                            \
    X(SUB, OTHER, 0, 0)                                                                            \
    X(SLL, OTHER, 0, 0)                                                                            \
    X(SLT, OTHER, 0, 0)                                                                            \
    X(SLTU, OTHER, 0, 0)                                                                           \
    X(XOR, OTHER, 0, 0)                                                                            \
    X(SRL, OTHER, 0, 0)                                                                            \
    X(SRA, OTHER, 0, 0)                                                                            \
    X(OR, OTHER, 0, 0)                                                                             \
    X(AND, OTHER, 0, 0)                                                                            \
    X(ADDIW, OTHER, 0, 0)                                                                          \
    X(SLLIW, OTHER, 0, 0)                                                                          \
    X(SRLIW, OTHER, 0, 0)                                                                          \
    X(SRAIW, OTHER, 0, 0)                                                                          \
    X(ADDW, OTHER, 0, 0)                                                                           \
    X(SUBW, OTHER, 0, 0)                                                                           \
    X(SLLW, OTHER, 0, 0)                                                                           \
    X(SRLW, OTHER, 0, 0)                                                                           \
    X(SRAW, OTHER, 0, 0)                                                                           \
    X(FENCE, OTHER, 0, 0)                                                                          \
    X(FENCE_I, OTHER, 0, 0)                                                                        \
    X(ECALL, OTHER, 0, 0)                                                                          \
    X(EBREAK, OTHER, 0, 0)                                                                         \
    X(SRET, OTHER, 0, 0)                                                                           \
    X(MRET, OTHER, 0, 0)                                                                           \
    X(WFI, OTHER, 0, 0)                                                                            \
    X(SFENCE_VMA, OTHER, 0, 0)                                                                     \
    X(HYPERVISOR, OTHER, 0, 0)                                                                     \
    X(CSRRW, OTHER, 0, 0)                                                                          \
    X(CSRRS, OTHER, 0, 0)                                                                          \
    X(CSRRC, OTHER, 0, 0)                                                                          \
    X(CSRRWI, OTHER, 0, 0)                                                                         \
    X(CSRRSI, OTHER, 0, 0)                                                                         \
    X(CSRRCI, OTHER, 0, 0)                                                                         \
    X(MUL, OTHER, 0, 0)                                                                            \
    X(MULH, OTHER, 0, 0)                                                                           \
    X(MULHSU, OTHER, 0, 0)                                                                         \
    X(MULHU, OTHER, 0, 0)                                                                          \
    X(DIV, OTHER, 0, 0)                                                                            \
    X(DIVU, OTHER, 0, 0)                                                                           \
    X(REM, OTHER, 0, 0)                                                                            \
    X(REMU, OTHER, 0, 0)                                                                           \
    X(MULW, OTHER, 0, 0)                                                                           \
    X(DIVW, OTHER, 0, 0)                                                                           \
    X(DIVUW, OTHER, 0, 0)                                                                          \
    X(REMW, OTHER, 0, 0)                                                                           \
    X(REMUW, OTHER, 0, 0)                                                                          \
    X(SH1ADD, OTHER, 0, 0)                                                                         \
    X(SH2ADD, OTHER, 0, 0)                                                                         \
    X(SH3ADD, OTHER, 0, 0)                                                                         \
    X(ADD_UW, OTHER, 0, 0)                                                                         \
    X(SH1ADD_UW, OTHER, 0, 0)                                                                      \
    X(SH2ADD_UW, OTHER, 0, 0)                                                                      \
    X(SH3ADD_UW, OTHER, 0, 0)                                                                      \
    X(SLLI_UW, OTHER, 0, 0)                                                                        \
    X(ANDN, OTHER, 0, 0)                                                                           \
    X(ORN, OTHER, 0, 0)                                                                            \
    X(XNOR, OTHER, 0, 0)                                                                           \
    X(CLZ, OTHER, 0, 0)                                                                            \
    X(CTZ, OTHER, 0, 0)                                                                            \
    X(CPOP, OTHER, 0, 0)                                                                           \
    X(CLZW, OTHER, 0, 0)                                                                           \
    X(CTZW, OTHER, 0, 0)                                                                           \
    X(CPOPW, OTHER, 0, 0)                                                                          \
    X(MAX, OTHER, 0, 0)                                                                            \
    X(MAXU, OTHER, 0, 0)                                                                           \
    X(MIN, OTHER, 0, 0)                                                                            \
    X(MINU, OTHER, 0, 0)                                                                           \
    X(SEXT_B, OTHER, 0, 0)                                                                         \
    X(SEXT_H, OTHER, 0, 0)                                                                         \
    X(ZEXT_H, OTHER, 0, 0)                                                                         \
    X(ROL, OTHER, 0, 0)                                                                            \
    X(ROR, OTHER, 0, 0)                                                                            \
    X(RORI, OTHER, 0, 0)                                                                           \
    X(ROLW, OTHER, 0, 0)                                                                           \
    X(RORW, OTHER, 0, 0)                                                                           \
    X(RORIW, OTHER, 0, 0)                                                                          \
    X(ORC_B, OTHER, 0, 0)                                                                          \
    X(REV8, OTHER, 0, 0)                                                                           \
    X(BCLR, OTHER, 0, 0)                                                                           \
    X(BCLRI, OTHER, 0, 0)                                                                          \
    X(BEXT, OTHER, 0, 0)                                                                           \
    X(BEXTI, OTHER, 0, 0)                                                                          \
    X(BINV, OTHER, 0, 0)                                                                           \
    X(BINVI, OTHER, 0, 0)                                                                          \
    X(BSET, OTHER, 0, 0)                                                                           \
    X(BSETI, OTHER, 0, 0)                                                                          \
    X(FMADD_S, OTHER, 0, 0)                                                                        \
    X(FMSUB_S, OTHER, 0, 0)                                                                        \
    X(FNMSUB_S, OTHER, 0, 0)                                                                       \
    X(FNMADD_S, OTHER, 0, 0)                                                                       \
    X(FMADD_D, OTHER, 0, 0)                                                                        \
    X(FMSUB_D, OTHER, 0, 0)                                                                        \
    X(FNMSUB_D, OTHER, 0, 0)                                                                       \
    X(FNMADD_D, OTHER, 0, 0)                                                                       \
    X(FADD_S, OTHER, 0, 0)                                                                         \
    X(FSUB_S, OTHER, 0, 0)                                                                         \
    X(FMUL_S, OTHER, 0, 0)                                                                         \
    X(FDIV_S, OTHER, 0, 0)                                                                         \
    X(FSQRT_S, OTHER, 0, 0)                                                                        \
    X(FSGNJ_S, OTHER, 0, 0)                                                                        \
    X(FSGNJN_S, OTHER, 0, 0)                                                                       \
    X(FSGNJX_S, OTHER, 0, 0)                                                                       \
    X(FMIN_S, OTHER, 0, 0)                                                                         \
    X(FMAX_S, OTHER, 0, 0)                                                                         \
    X(FADD_D, OTHER, 0, 0)                                                                         \
    X(FSUB_D, OTHER, 0, 0)                                                                         \
    X(FMUL_D, OTHER, 0, 0)                                                                         \
    X(FDIV_D, OTHER, 0, 0)                                                                         \
    X(FSQRT_D, OTHER, 0, 0)                                                                        \
    X(FSGNJ_D, OTHER, 0, 0)                                                                        \
    X(FSGNJN_D, OTHER, 0, 0)                                                                       \
    X(FSGNJX_D, OTHER, 0, 0)                                                                       \
    X(FMIN_D, OTHER, 0, 0)                                                                         \
    X(FMAX_D, OTHER, 0, 0)                                                                         \
    X(FCVT_W_S, OTHER, 0, 0)                                                                       \
    X(FCVT_WU_S, OTHER, 0, 0)                                                                      \
    X(FCVT_L_S, OTHER, 0, 0)                                                                       \
    X(FCVT_LU_S, OTHER, 0, 0)                                                                      \
    X(FCVT_S_W, OTHER, 0, 0)                                                                       \
    X(FCVT_S_WU, OTHER, 0, 0)                                                                      \
    X(FCVT_S_L, OTHER, 0, 0)                                                                       \
    X(FCVT_S_LU, OTHER, 0, 0)                                                                      \
    X(FCVT_W_D, OTHER, 0, 0)                                                                       \
    X(FCVT_WU_D, OTHER, 0, 0)                                                                      \
    X(FCVT_L_D, OTHER, 0, 0)                                                                       \
    X(FCVT_LU_D, OTHER, 0, 0)                                                                      \
    X(FCVT_D_W, OTHER, 0, 0)                                                                       \
    X(FCVT_D_WU, OTHER, 0, 0)                                                                      \
    X(FCVT_D_L, OTHER, 0, 0)                                                                       \
    X(FCVT_D_LU, OTHER, 0, 0)                                                                      \
    X(FCVT_S_D, OTHER, 0, 0)                                                                       \
    X(FCVT_D_S, OTHER, 0, 0)                                                                       \
    X(FMV_X_W, OTHER, 0, 0)                                                                        \
    X(FMV_W_X, OTHER, 0, 0)                                                                        \
    X(FMV_X_D, OTHER, 0, 0)                                                                        \
    X(FMV_D_X, OTHER, 0, 0)                                                                        \
    X(FLE_S, OTHER, 0, 0)                                                                          \
    X(FLT_S, OTHER, 0, 0)                                                                          \
    X(FEQ_S, OTHER, 0, 0)                                                                          \
    X(FLE_D, OTHER, 0, 0)                                                                          \
    X(FLT_D, OTHER, 0, 0)                                                                          \
    X(FEQ_D, OTHER, 0, 0)                                                                          \
    X(FCLASS_S, OTHER, 0, 0)                                                                       \
    X(FCLASS_D, OTHER, 0, 0)                                                                       \
    X(LB, LOAD, 0x03, 0)                                                                           \
    X(LH, LOAD, 0x03, 1)                                                                           \
    X(LW, LOAD, 0x03, 2)                                                                           \
    X(LD, LOAD, 0x03, 3)                                                                           \
    X(LBU, LOAD, 0x03, 4)                                                                          \
    X(LHU, LOAD, 0x03, 5)                                                                          \
    X(LWU, LOAD, 0x03, 6)                                                                          \
    X(SB, STORE, 0x23, 0)                                                                          \
    X(SH, STORE, 0x23, 1)                                                                          \
    X(SW, STORE, 0x23, 2)                                                                          \
    X(SD, STORE, 0x23, 3)                                                                          \
    X(FLW, LOAD, 0x07, 2)                                                                          \
    X(FLD, LOAD, 0x07, 3)                                                                          \
    X(FSW, STORE, 0x27, 2)                                                                         \
    X(FSD, STORE, 0x27, 3)                                                                         \
    X(LR_W, AMO, 0x2f, 0)                                                                          \
    X(SC_W, AMO, 0x2f, 0)                                                                          \
    X(AMOSWAP_W, AMO, 0x2f, 0)                                                                     \
    X(AMOADD_W, AMO, 0x2f, 0)                                                                      \
    X(AMOXOR_W, AMO, 0x2f, 0)                                                                      \
    X(AMOAND_W, AMO, 0x2f, 0)                                                                      \
    X(AMOOR_W, AMO, 0x2f, 0)                                                                       \
    X(AMOMIN_W, AMO, 0x2f, 0)                                                                      \
    X(AMOMAX_W, AMO, 0x2f, 0)                                                                      \
    X(AMOMINU_W, AMO, 0x2f, 0)                                                                     \
    X(AMOMAXU_W, AMO, 0x2f, 0)                                                                     \
    X(LR_D, AMO, 0x2f, 0)                                                                          \
    X(SC_D, AMO, 0x2f, 0)                                                                          \
    X(AMOSWAP_D, AMO, 0x2f, 0)                                                                     \
    X(AMOADD_D, AMO, 0x2f, 0)                                                                      \
    X(AMOXOR_D, AMO, 0x2f, 0)                                                                      \
    X(AMOAND_D, AMO, 0x2f, 0)                                                                      \
    X(AMOOR_D, AMO, 0x2f, 0)                                                                       \
    X(AMOMIN_D, AMO, 0x2f, 0)                                                                      \
    X(AMOMAX_D, AMO, 0x2f, 0)                                                                      \
    X(AMOMINU_D, AMO, 0x2f, 0)                                                                     \
    X(AMOMAXU_D, AMO, 0x2f, 0)

enum op {
#define X(name, kind, opcode, funct3) OP_##name,
    HART_OPS(X)
#undef X
        OP_COUNT
};

enum op_kind { KIND_OTHER, KIND_LOAD, KIND_STORE, KIND_AMO };

struct op_info {
    uint8_t kind, opcode, funct3;
};

static const struct op_info op_infos[OP_COUNT] = {
#define X(name, kind, opcode, funct3) [OP_##name] = {KIND_##kind, opcode, funct3},
    HART_OPS(X)
#undef X
};

#endif
