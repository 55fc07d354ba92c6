/*
 * Scalar bit manipulation for cryptography and the scalar cryptography
 * extensions: Zbc/Zbkc (carry-less multiply), Zbkb (pack, brev8), Zbkx
 * (crossbar permutations), Zknd/Zkne (AES, RV64 forms), Zknh (SHA-2
 * sigma/sum), Zksed (SM4), Zksh (SM3).
 *
 * Zkt: every function here runs in time independent of its data. There are
 * no data-dependent branches and no table lookups (the AES and SM4 S-boxes
 * are computed: an inverse in GF(2^8) as x^254 between affine maps), so a
 * guest's keys cannot leak through the host's branch predictor or caches.
 */
#ifndef DUVISOR_HART_EXEC_CRYPTO_H
#define DUVISOR_HART_EXEC_CRYPTO_H

#include "hart/exec.h"

/* all ones when bit 0 of v is set, else zero */
static inline uint64_t bit_mask(uint64_t v)
{
    return -(v & 1);
}

/* Without -mpopcnt gcc calls libgcc for __builtin_popcount: this is the
   same arithmetic, inline and data-independent. */
static inline unsigned popcount64(uint64_t v)
{
    v -= (v >> 1) & 0x5555555555555555ull;
    v = (v & 0x3333333333333333ull) + ((v >> 2) & 0x3333333333333333ull);
    v = (v + (v >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((v * 0x0101010101010101ull) >> 56);
}

static inline uint64_t clmul_lo(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i++)
        r ^= (a << i) & bit_mask(b >> i);
    return r;
}

static inline uint64_t clmul_hi(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (unsigned i = 1; i < 64; i++)
        r ^= (a >> (64 - i)) & bit_mask(b >> i);
    return r;
}

/* bits 126..63 of the 127-bit product */
static inline uint64_t clmul_rev(uint64_t a, uint64_t b)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 64; i++)
        r ^= (a >> (63 - i)) & bit_mask(b >> i);
    return r;
}

static inline uint64_t brev8(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ull) | ((v & 0x5555555555555555ull) << 1);
    v = ((v >> 2) & 0x3333333333333333ull) | ((v & 0x3333333333333333ull) << 2);
    return ((v >> 4) & 0x0f0f0f0f0f0f0f0full) | ((v & 0x0f0f0f0f0f0f0f0full) << 4);
}

/* Each 2^log2_bits-bit element of idx selects that element of src, or 0 when out of range. */
static inline uint64_t xperm(uint64_t src, uint64_t idx, unsigned log2_bits)
{
    unsigned bits = 1u << log2_bits;
    uint64_t elem_mask = (1ull << bits) - 1, r = 0;
    for (unsigned i = 0; i < 64; i += bits) {
        uint64_t sel = (idx >> i) & elem_mask;
        uint64_t pos = sel << log2_bits;           /* bit position in src */
        uint64_t in_range = -(uint64_t)(pos < 64); /* compiles to setcc, not a branch */
        uint64_t elem = (src >> (pos & 63)) & elem_mask & in_range;
        r |= elem << i;
    }
    return r;
}

/* --- GF(2^8) and the S-boxes ----------------------------------------------------------------- */

/* a * b modulo the polynomial poly (with its x^8 term) */
static inline uint8_t gf_mul(uint8_t a, uint8_t b, unsigned poly)
{
    unsigned r = 0, x = a;
    for (unsigned i = 0; i < 8; i++) {
        r ^= x & (unsigned)bit_mask(b >> i);
        x <<= 1;
        x ^= poly & (unsigned)bit_mask(x >> 8);
    }
    return (uint8_t)r;
}

/* x^254, the inverse of x (0 for 0) */
static inline uint8_t gf_inv(uint8_t x, unsigned poly)
{
    uint8_t x2 = gf_mul(x, x, poly), r = x2;
    for (unsigned i = 0; i < 6; i++) { /* r = x^(2+4+...+128) */
        x2 = gf_mul(x2, x2, poly);
        r = gf_mul(r, x2, poly);
    }
    return r;
}

static inline uint8_t rol8(uint8_t v, unsigned s)
{
    return (uint8_t)(v << s | v >> (8 - s));
}

#define AES_POLY 0x11b
#define SM4_POLY 0x1f5

static inline uint8_t aes_sbox(uint8_t x)
{
    uint8_t i = gf_inv(x, AES_POLY);
    return i ^ rol8(i, 1) ^ rol8(i, 2) ^ rol8(i, 3) ^ rol8(i, 4) ^ 0x63;
}

static inline uint8_t aes_inv_sbox(uint8_t y)
{
    return gf_inv(rol8(y, 1) ^ rol8(y, 3) ^ rol8(y, 6) ^ 0x05, AES_POLY);
}

/* SM4's affine map: output bit 7-i is the parity of x under 0xd3 rotated right by i, plus 0xd3. */
static inline uint8_t sm4_affine(uint8_t x)
{
    uint8_t y = 0;
    for (unsigned i = 0; i < 8; i++) {
        uint8_t row = (uint8_t)(0xd3 >> i | 0xd3 << (8 - i));
        y |= (uint8_t)((popcount64(row & x) & 1) << (7 - i));
    }
    return y ^ 0xd3;
}

static inline uint8_t sm4_sbox(uint8_t x)
{
    return sm4_affine(gf_inv(sm4_affine(x), SM4_POLY));
}

/* --- AES (Zknd, Zkne) ------------------------------------------------------------------------ */

/* The state is 16 bytes, column-major: byte 4c + r is row r of column c;
   rs1 holds bytes 0..7, rs2 bytes 8..15. */
static inline uint8_t state_byte(uint64_t lo, uint64_t hi, unsigned i)
{
    return (uint8_t)((i < 8 ? lo : hi) >> (8 * (i & 7)));
}

/* Bytes 0..7 (columns 0 and 1) after ShiftRows (or its inverse), through sbox. */
static inline uint64_t aes_shift_sub(uint64_t lo, uint64_t hi, bool inverse)
{
    uint64_t r = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned row = i & 3, col = i >> 2;
        unsigned from = 4 * ((inverse ? col + 4 - row : col + row) & 3) + row;
        uint8_t b = state_byte(lo, hi, from);
        r |= (uint64_t)(inverse ? aes_inv_sbox(b) : aes_sbox(b)) << (8 * i);
    }
    return r;
}

static inline uint32_t aes_mix_column(uint32_t col, bool inverse)
{
    static const uint8_t fwd[4] = {2, 3, 1, 1}, inv[4] = {14, 11, 13, 9};
    const uint8_t *k = inverse ? inv : fwd;
    uint32_t r = 0;
    for (unsigned row = 0; row < 4; row++) {
        uint8_t v = 0;
        for (unsigned j = 0; j < 4; j++)
            v ^= gf_mul((uint8_t)(col >> (8 * ((row + j) & 3))), k[j], AES_POLY);
        r |= (uint32_t)v << (8 * row);
    }
    return r;
}

static inline uint64_t aes_mix64(uint64_t v, bool inverse)
{
    return (uint64_t)aes_mix_column((uint32_t)(v >> 32), inverse) << 32 |
           aes_mix_column((uint32_t)v, inverse);
}

static inline uint32_t aes_subword(uint32_t w)
{
    uint32_t r = 0;
    for (unsigned i = 0; i < 4; i++)
        r |= (uint32_t)aes_sbox((uint8_t)(w >> (8 * i))) << (8 * i);
    return r;
}

/* aes64ks1i: rnum 0..9 is a round (rotate, substitute, add rcon); 10 only substitutes. */
static inline uint64_t aes64ks1i(uint64_t rs1, unsigned rnum)
{
    static const uint8_t rcon[11] = {0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, 0x80, 0x1b, 0x36, 0};
    uint32_t w = (uint32_t)(rs1 >> 32);
    if (rnum != 10) /* rnum is an encoding field, not data */
        w = w >> 8 | w << 24;
    uint32_t t = aes_subword(w) ^ rcon[rnum];
    return (uint64_t)t << 32 | t;
}

static inline uint64_t aes64ks2(uint64_t rs1, uint64_t rs2)
{
    uint32_t w0 = (uint32_t)(rs1 >> 32) ^ (uint32_t)rs2;
    uint32_t w1 = w0 ^ (uint32_t)(rs2 >> 32);
    return (uint64_t)w1 << 32 | w0;
}

/* --- SHA-2 (Zknh), SM3 (Zksh), SM4 (Zksed) ------------------------------------------------- */

static inline uint32_t ror32(uint32_t v, unsigned s)
{
    return v >> s | v << (32 - s);
}

static inline uint64_t ror64(uint64_t v, unsigned s)
{
    return v >> s | v << (64 - s);
}

static inline uint32_t rl32(uint32_t v, unsigned s)
{
    return v << s | v >> ((32 - s) & 31);
}

static inline uint32_t sha256_sig0(uint32_t w)
{
    return ror32(w, 7) ^ ror32(w, 18) ^ (w >> 3);
}

static inline uint32_t sha256_sig1(uint32_t w)
{
    return ror32(w, 17) ^ ror32(w, 19) ^ (w >> 10);
}

static inline uint32_t sha256_sum0(uint32_t w)
{
    return ror32(w, 2) ^ ror32(w, 13) ^ ror32(w, 22);
}

static inline uint32_t sha256_sum1(uint32_t w)
{
    return ror32(w, 6) ^ ror32(w, 11) ^ ror32(w, 25);
}

static inline uint64_t sha512_sig0(uint64_t v)
{
    return ror64(v, 1) ^ ror64(v, 8) ^ (v >> 7);
}

static inline uint64_t sha512_sig1(uint64_t v)
{
    return ror64(v, 19) ^ ror64(v, 61) ^ (v >> 6);
}

static inline uint64_t sha512_sum0(uint64_t v)
{
    return ror64(v, 28) ^ ror64(v, 34) ^ ror64(v, 39);
}

static inline uint64_t sha512_sum1(uint64_t v)
{
    return ror64(v, 14) ^ ror64(v, 18) ^ ror64(v, 41);
}

static inline uint32_t sm3_p0(uint32_t w)
{
    return w ^ rl32(w, 9) ^ rl32(w, 17);
}

static inline uint32_t sm3_p1(uint32_t w)
{
    return w ^ rl32(w, 15) ^ rl32(w, 23);
}

/* sm4ed/sm4ks: byte bs of rs2 through the S-box and SM4's linear map (L for
   rounds, L' for the key schedule; both commute with rotation, so the byte
   is transformed at position 0 and rotated to bs), xor rs1. */
static inline uint64_t sm4_round(uint64_t rs1, uint64_t rs2, unsigned bs, bool key)
{
    uint32_t x = sm4_sbox((uint8_t)(rs2 >> (8 * bs)));
    uint32_t y = key ? x ^ rl32(x, 13) ^ rl32(x, 23)
                     : x ^ rl32(x, 2) ^ rl32(x, 10) ^ rl32(x, 18) ^ rl32(x, 24);
    return (uint64_t)sx32(rl32(y, 8 * bs) ^ (uint32_t)rs1);
}

/* The value a cryptography or bit-manipulation operation computes. */
EXEC_INLINE uint64_t crypto_value(enum op op, uint64_t rs1, uint64_t rs2, int64_t imm)
{
    uint32_t w = (uint32_t)rs1;
    switch (op) {
    case OP_CLMUL: return clmul_lo(rs1, rs2);
    case OP_CLMULH: return clmul_hi(rs1, rs2);
    case OP_CLMULR: return clmul_rev(rs1, rs2);
    case OP_PACK: return (uint32_t)rs1 | rs2 << 32;
    case OP_PACKH: return (rs1 & 0xff) | (rs2 & 0xff) << 8;
    case OP_PACKW: return (uint64_t)sx32((rs1 & 0xffff) | (rs2 & 0xffff) << 16);
    case OP_BREV8: return brev8(rs1);
    case OP_XPERM4: return xperm(rs1, rs2, 2);
    case OP_XPERM8: return xperm(rs1, rs2, 3);
    case OP_AES64ES: return aes_shift_sub(rs1, rs2, false);
    case OP_AES64ESM: return aes_mix64(aes_shift_sub(rs1, rs2, false), false);
    case OP_AES64DS: return aes_shift_sub(rs1, rs2, true);
    case OP_AES64DSM: return aes_mix64(aes_shift_sub(rs1, rs2, true), true);
    case OP_AES64IM: return aes_mix64(rs1, true);
    case OP_AES64KS1I: return aes64ks1i(rs1, (unsigned)imm);
    case OP_AES64KS2: return aes64ks2(rs1, rs2);
    case OP_SHA256SIG0: return (uint64_t)sx32(sha256_sig0(w));
    case OP_SHA256SIG1: return (uint64_t)sx32(sha256_sig1(w));
    case OP_SHA256SUM0: return (uint64_t)sx32(sha256_sum0(w));
    case OP_SHA256SUM1: return (uint64_t)sx32(sha256_sum1(w));
    case OP_SHA512SIG0: return sha512_sig0(rs1);
    case OP_SHA512SIG1: return sha512_sig1(rs1);
    case OP_SHA512SUM0: return sha512_sum0(rs1);
    case OP_SHA512SUM1: return sha512_sum1(rs1);
    case OP_SM3P0: return (uint64_t)sx32(sm3_p0(w));
    case OP_SM3P1: return (uint64_t)sx32(sm3_p1(w));
    case OP_SM4ED: return sm4_round(rs1, rs2, (unsigned)imm, false);
    case OP_SM4KS: return sm4_round(rs1, rs2, (unsigned)imm, true);
    default: __builtin_unreachable();
    }
}

EXEC_INLINE enum exec_status exec_CRYPTO(struct dv_hart *h, const struct insn *in, enum op op,
                                         uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    h->x[in->rd] = crypto_value(op, h->x[in->rs1], h->x[in->rs2], in->imm);
    return EXEC_RETIRE;
}

#endif
