/*
 * Operations of the scalar extensions beyond RV64GC + Zba/Zbb/Zbs, in the
 * HART_OPS format (ops.h): Zicond, Zbc/Zbkb/Zbkc/Zbkx, Zkn*, Zks*, Zicbom,
 * Zicboz, Zacas, Zabha, Zawrs, Zfh (with Zfhmin) and Zfa. Zcb, Zimop, Zcmop
 * and the hints decode to existing operations (decode.c).
 */
#ifndef DUVISOR_HART_OPS_SCALAR_H
#define DUVISOR_HART_OPS_SCALAR_H

/* X(name, family, kind, major opcode, funct3, flags), expanded inside HART_OPS */
#define HART_OPS_SCALAR(X)                                                                         \
    X(CZERO_EQZ, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(CZERO_NEZ, INT, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(CLMUL, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(CLMULH, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(CLMULR, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(PACK, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                    \
    X(PACKH, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(PACKW, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(BREV8, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(XPERM4, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(XPERM8, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                  \
    X(AES64ES, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                 \
    X(AES64ESM, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                \
    X(AES64DS, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                 \
    X(AES64DSM, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                \
    X(AES64IM, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                 \
    X(AES64KS1I, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                               \
    X(AES64KS2, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                \
    X(SHA256SIG0, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA256SIG1, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA256SUM0, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA256SUM1, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA512SIG0, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA512SIG1, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA512SUM0, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SHA512SUM1, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                              \
    X(SM3P0, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(SM3P1, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(SM4ED, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(SM4KS, CRYPTO, OTHER, 0, 0, OPF_WRITES_RD)                                                   \
    X(CBO_INVAL, CMO, OTHER, 0, 0, OPF_TRAPS)                                                      \
    X(CBO_CLEAN, CMO, OTHER, 0, 0, OPF_TRAPS)                                                      \
    X(CBO_FLUSH, CMO, OTHER, 0, 0, OPF_TRAPS)                                                      \
    X(CBO_ZERO, CMO, OTHER, 0, 0, OPF_TRAPS)                                                       \
    X(WRS_NTO, WRS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                           \
    X(WRS_STO, WRS, OTHER, 0, 0, OPF_TRAPS | OPF_INTERP)                                           \
    ZABHA_OPS(X, B)                                                                                \
    ZABHA_OPS(X, H)                                                                                \
    X(AMOCAS_B, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOCAS_H, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOCAS_W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    X(AMOCAS_D, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                      \
    /* reads and writes register pairs, which the JIT's helper call does not keep current */       \
    X(AMOCAS_Q, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD | OPF_INTERP)                         \
    ZFH_OPS(X)                                                                                     \
    ZFA_OPS(X)

/* Zabha: the read-modify-write AMOs on bytes (B) and halfwords (H) */
#define ZABHA_OPS(X, W)                                                                            \
    X(AMOSWAP_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                   \
    X(AMOADD_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                    \
    X(AMOXOR_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                    \
    X(AMOAND_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                    \
    X(AMOOR_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                     \
    X(AMOMIN_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                    \
    X(AMOMAX_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                    \
    X(AMOMINU_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)                                   \
    X(AMOMAXU_##W, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD)

/* Zfh: binary16 (flh, fsh and the conversions to and from S and D are Zfhmin). Runs of ops
   keep the order of their F counterparts: decode.c adds funct3 or rs2 to the first. */
#define ZFH_OPS(X)                                                                                 \
    X(FLH, FP, LOAD, 0x07, 1, OPF_TRAPS | OPF_FP)                                                  \
    X(FSH, FP, STORE, 0x27, 1, OPF_TRAPS | OPF_FP)                                                 \
    X(FMADD_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FMSUB_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FNMSUB_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FNMADD_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FADD_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSUB_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMUL_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FDIV_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FSQRT_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJ_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FSGNJN_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FSGNJX_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMIN_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FMAX_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                 \
    X(FCVT_W_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_WU_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_L_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FCVT_LU_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                              \
    X(FCVT_H_W, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_H_WU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_H_L, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_H_LU, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FCVT_S_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_H_S, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_D_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FCVT_H_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                               \
    X(FMV_X_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                \
    X(FMV_H_X, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FLE_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FLT_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FEQ_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                                  \
    X(FCLASS_H, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)

/* Zfa for S, D and H (fmvh.x.d and fmvp.d.x are RV32's) */
#define ZFA_OPS(X)                                                                                 \
    ZFA_FMT_OPS(X, S)                                                                              \
    ZFA_FMT_OPS(X, D)                                                                              \
    ZFA_FMT_OPS(X, H)                                                                              \
    X(FCVTMOD_W_D, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)

#define ZFA_FMT_OPS(X, F)                                                                          \
    X(FLI_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                                \
    X(FMINM_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FMAXM_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                              \
    X(FROUND_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                             \
    X(FROUNDNX_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP)                                           \
    X(FLEQ_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)                               \
    X(FLTQ_##F, FP, OTHER, 0, 0, OPF_TRAPS | OPF_FP | OPF_WRITES_RD)

/* The cache-block size of Zicbom and Zicboz: the contract's, which the device tree reports */
#define CBO_BLOCK_SIZE DV_CBO_BLOCK_SIZE
#endif
