/*
 * Operations of the scalar extensions beyond RV64GC + Zba/Zbb/Zbs, in the
 * HART_OPS format (ops.h): Zicond, Zbc/Zbkb/Zbkc/Zbkx, Zkn*, Zks*, Zicbom,
 * Zicboz, Zacas, Zabha, Zawrs. Zcb, Zimop, Zcmop and the hints decode to
 * existing operations (decode.c).
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
    X(AMOCAS_Q, AMO, AMO, 0x2f, 0, OPF_TRAPS | OPF_WRITES_RD | OPF_INTERP)

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

/* The cache-block size of Zicbom and Zicboz: the contract's, which the device tree reports */
#define CBO_BLOCK_SIZE DV_CBO_BLOCK_SIZE
#endif
