/*
 * The vector cryptography extensions under OP-VE (major opcode 0x77):
 * Zvkned (AES rounds and key schedules), Zvknha/Zvknhb (SHA-256 and SHA-512
 * message schedule and compression), Zvkg (GHASH), Zvksed (SM4), Zvksh
 * (SM3). The bit-manipulation part (Zvbb, Zvkb, Zvbc) is ordinary OP-V
 * arithmetic in vector.c.
 *
 * Every instruction here works on element groups: EGS elements of SEW bits
 * (EGS 4, or 8 for SM3) taken as one operand. vl and vstart must be
 * multiples of EGS and LMUL * VLEN at least the group's width, else the
 * encoding is reserved (illegal instruction, even with vl = 0); all are
 * unmasked (vm = 1). The rounds are the scalar extensions' primitives of
 * exec_crypto.h, applied to each group, so Zvkt holds as Zkt does there: no
 * branch and no table lookup depends on the data.
 */
#include "hart/exec_crypto.h"
#include "hart/vector.h"

enum vcrypto_kind {
    VK_NONE,
    VK_AESDM,
    VK_AESDF,
    VK_AESEM,
    VK_AESEF,
    VK_AESZ,
    VK_AESKF1,
    VK_AESKF2,
    VK_GHSH,
    VK_GMUL,
    VK_SHA2MS,
    VK_SHA2CH,
    VK_SHA2CL,
    VK_SM4K,
    VK_SM4R,
    VK_SM3C,
    VK_SM3ME,
};

/* f6 0x28 (.vv) and 0x29 (.vs) are selected further by the vs1 field. */
static enum vcrypto_kind kind_of(const struct vinsn *v, bool *scalar_key)
{
    *scalar_key = v->f6 == 0x29;
    if (v->f6 == 0x28 || v->f6 == 0x29) {
        switch (v->rs1) {
        case 0x00: return VK_AESDM;
        case 0x01: return VK_AESDF;
        case 0x02: return VK_AESEM;
        case 0x03: return VK_AESEF;
        case 0x07: return *scalar_key ? VK_AESZ : VK_NONE;
        case 0x10: return VK_SM4R;
        case 0x11: return *scalar_key ? VK_NONE : VK_GMUL;
        }
        return VK_NONE;
    }
    switch (v->f6) {
    case 0x20: return VK_SM3ME;
    case 0x21: return VK_SM4K;
    case 0x22: return VK_AESKF1;
    case 0x2a: return VK_AESKF2;
    case 0x2b: return VK_SM3C;
    case 0x2c: return VK_GHSH;
    case 0x2d: return VK_SHA2MS;
    case 0x2e: return VK_SHA2CH;
    case 0x2f: return VK_SHA2CL;
    }
    return VK_NONE;
}

static bool is_sha2(enum vcrypto_kind k)
{
    return k == VK_SHA2MS || k == VK_SHA2CH || k == VK_SHA2CL;
}

/* Whether vs1 names a register group (the other forms use it as an opcode
   extension or an immediate). */
static bool reads_vs1(enum vcrypto_kind k)
{
    return k == VK_GHSH || k == VK_SM3ME || is_sha2(k);
}

/* The spec's reserved encodings beyond SEW, EGS and EGW: misaligned groups,
   and the overlaps with vd it forbids. */
static bool registers_ok(const struct vinsn *v, enum vcrypto_kind k, bool scalar_key)
{
    unsigned nd = vgroup_regs(v->lmul);
    if (!vgroup_ok(v->vd, v->lmul) || (!scalar_key && !vgroup_ok(v->rs2, v->lmul)) ||
        (reads_vs1(k) && !vgroup_ok(v->rs1, v->lmul)))
        return false;
    /* a scalar element group is one register: VLEN >= 128 = EGW */
    unsigned ns2 = scalar_key ? 1 : nd;
    bool vs2_apart = scalar_key || is_sha2(k) || k == VK_SM3C || k == VK_SM3ME;
    if (vs2_apart && vregs_overlap(v->vd, nd, v->rs2, ns2))
        return false;
    return !is_sha2(k) || !vregs_overlap(v->vd, nd, v->rs1, nd);
}

/* --- the operations on one element group ---------------------------------------------- */

struct egroup {
    uint64_t e[8]; /* elements, zero-extended */
};

static void aes_round(uint64_t st[4], const uint64_t key[4], enum vcrypto_kind k)
{
    uint64_t lo = st[0] | st[1] << 32, hi = st[2] | st[3] << 32;
    uint64_t klo = key[0] | key[1] << 32, khi = key[2] | key[3] << 32;
    bool inverse = k == VK_AESDM || k == VK_AESDF, mix = k == VK_AESDM || k == VK_AESEM;
    if (k != VK_AESZ) {
        /* bytes 8..15 after (Inv)ShiftRows are bytes 0..7 of the swapped halves */
        uint64_t l = aes_shift_sub(lo, hi, inverse), h = aes_shift_sub(hi, lo, inverse);
        lo = l;
        hi = h;
        if (mix && !inverse) {
            lo = aes_mix64(lo, false);
            hi = aes_mix64(hi, false);
        }
    }
    lo ^= klo;
    hi ^= khi;
    if (mix && inverse) {
        lo = aes_mix64(lo, true);
        hi = aes_mix64(hi, true);
    }
    st[0] = (uint32_t)lo;
    st[1] = lo >> 32;
    st[2] = (uint32_t)hi;
    st[3] = hi >> 32;
}

/* vaeskf1 (AES-128, rounds 1..10) and vaeskf2 (AES-256, rounds 2..14): the
   next round key from the current one (cur) and, for AES-256, the one before
   (prev, in vd). Out-of-range round numbers invert uimm[3]. */
static void aes_key_round(uint64_t out[4], const uint64_t cur[4], const uint64_t prev[4],
                          unsigned uimm, bool aes256)
{
    unsigned rnd = uimm & 15;
    uint64_t w3 = cur[3] << 32; /* aes64ks1i's word is rs1's upper half */
    uint32_t t;
    if (!aes256) {
        if (rnd == 0 || rnd > 10)
            rnd ^= 8;
        t = (uint32_t)aes64ks1i(w3, rnd - 1);
        prev = cur;
    } else {
        if (rnd < 2 || rnd > 14)
            rnd ^= 8;
        /* odd rounds substitute only: aes64ks1i's round 10 */
        t = (uint32_t)aes64ks1i(w3, rnd & 1 ? 10 : rnd / 2 - 1);
    }
    uint32_t w = t;
    for (unsigned j = 0; j < 4; j++) {
        w ^= (uint32_t)prev[j];
        out[j] = w;
    }
}

static unsigned __int128 u128(uint64_t lo, uint64_t hi)
{
    return (unsigned __int128)hi << 64 | lo;
}

/* GCM's multiplication in GF(2^128): the group's bytes hold the
   coefficients from bit 7 of byte 0 up, so each byte is bit-reversed to
   multiply and back. */
static void ghash_mul(uint64_t y[4], const uint64_t x[4], const uint64_t hk[4])
{
    unsigned __int128 s = u128(brev8((y[0] ^ x[0]) | (y[1] ^ x[1]) << 32),
                               brev8((y[2] ^ x[2]) | (y[3] ^ x[3]) << 32));
    unsigned __int128 hv = u128(brev8(hk[0] | hk[1] << 32), brev8(hk[2] | hk[3] << 32)), z = 0;
    for (unsigned bit = 0; bit < 128; bit++) {
        z ^= hv & -(unsigned __int128)((uint64_t)(s >> bit) & 1);
        uint64_t reduce = -(uint64_t)(hv >> 127);
        hv = hv << 1 ^ (0x87 & reduce);
    }
    uint64_t lo = brev8((uint64_t)z), hi = brev8((uint64_t)(z >> 64));
    y[0] = (uint32_t)lo;
    y[1] = lo >> 32;
    y[2] = (uint32_t)hi;
    y[3] = hi >> 32;
}

static uint64_t sha_sig0(uint64_t v, bool wide)
{
    return wide ? sha512_sig0(v) : sha256_sig0((uint32_t)v);
}

static uint64_t sha_sig1(uint64_t v, bool wide)
{
    return wide ? sha512_sig1(v) : sha256_sig1((uint32_t)v);
}

/* vsha2ms: message words W[16..19] from W[0..3] (vd), W[4], W[9..11] (vs2)
   and W[12..15] (vs1). */
static void sha2_schedule(uint64_t vd[4], const uint64_t b[4], const uint64_t c[4], bool wide)
{
    uint64_t m = wide ? UINT64_MAX : UINT32_MAX;
    uint64_t w16 = (sha_sig1(c[2], wide) + b[1] + sha_sig0(vd[1], wide) + vd[0]) & m;
    uint64_t w17 = (sha_sig1(c[3], wide) + b[2] + sha_sig0(vd[2], wide) + vd[1]) & m;
    uint64_t w18 = (sha_sig1(w16, wide) + b[3] + sha_sig0(vd[3], wide) + vd[2]) & m;
    uint64_t w19 = (sha_sig1(w17, wide) + c[0] + sha_sig0(b[0], wide) + vd[3]) & m;
    vd[0] = w16;
    vd[1] = w17;
    vd[2] = w18;
    vd[3] = w19;
}

/* vsha2ch/vsha2cl: two compression rounds. vs2 holds {f, e, b, a} and vd
   {h, g, d, c} (element 0 first); the rounds take message-plus-constant
   words 2, 3 (ch) or 0, 1 (cl) of vs1; vd gets the new {f, e, b, a}. */
static void sha2_compress(uint64_t vd[4], const uint64_t s[4], const uint64_t wk[4], bool wide,
                          bool high)
{
    uint64_t m = wide ? UINT64_MAX : UINT32_MAX;
    uint64_t a = s[3], b = s[2], e = s[1], f = s[0], c = vd[3], d = vd[2], g = vd[1], hh = vd[0];
    for (unsigned r = 0; r < 2; r++) {
        uint64_t sum1 = wide ? sha512_sum1(e) : sha256_sum1((uint32_t)e);
        uint64_t sum0 = wide ? sha512_sum0(a) : sha256_sum0((uint32_t)a);
        uint64_t t1 = (hh + sum1 + ((e & f) ^ (~e & g)) + wk[(high ? 2 : 0) + r]) & m;
        uint64_t t2 = (sum0 + ((a & b) ^ (a & c) ^ (b & c))) & m;
        hh = g;
        g = f;
        f = e;
        e = (d + t1) & m;
        d = c;
        c = b;
        b = a;
        a = (t1 + t2) & m;
    }
    vd[0] = f;
    vd[1] = e;
    vd[2] = b;
    vd[3] = a;
}

/* x ^ T(b): SM4's S-box on each byte of b, then its linear map (L for the
   rounds, L' for the key schedule), as four sm4ed/sm4ks steps. */
static uint32_t sm4_t(uint32_t x, uint32_t b, bool key)
{
    uint64_t r = x;
    for (unsigned bs = 0; bs < 4; bs++)
        r = sm4_round(r, b, bs, key);
    return (uint32_t)r;
}

/* SM4's CK[i]: byte j (from the most significant) is (4i + j) * 7 mod 256. */
static uint32_t sm4_ck(unsigned i)
{
    uint32_t ck = 0;
    for (unsigned j = 0; j < 4; j++)
        ck |= (uint32_t)(((4 * i + j) * 7) & 0xff) << (24 - 8 * j);
    return ck;
}

/* vsm4r (key = false: four rounds, round keys rk) and vsm4k (key = true:
   round keys 4*rnd .. 4*rnd+3 from the four before, in x). */
static void sm4_four(uint64_t x[4], const uint64_t rk[4], bool key, unsigned rnd)
{
    uint32_t w[8];
    for (unsigned j = 0; j < 4; j++)
        w[j] = (uint32_t)x[j];
    for (unsigned j = 0; j < 4; j++) {
        uint32_t k = key ? sm4_ck(4 * rnd + j) : (uint32_t)rk[j];
        w[j + 4] = sm4_t(w[j], w[j + 1] ^ w[j + 2] ^ w[j + 3] ^ k, key);
    }
    for (unsigned j = 0; j < 4; j++)
        x[j] = w[j + 4];
}

static uint32_t bswap(uint64_t v)
{
    return __builtin_bswap32((uint32_t)v);
}

/* vsm3me: message words W[16..23] from W[0..7] (vs1) and W[8..15] (vs2), big-endian words. */
static void sm3_expand(uint64_t out[8], const uint64_t lo[8], const uint64_t hi[8])
{
    uint32_t w[24];
    for (unsigned j = 0; j < 8; j++) {
        w[j] = bswap(lo[j]);
        w[j + 8] = bswap(hi[j]);
    }
    for (unsigned j = 16; j < 24; j++)
        w[j] = sm3_p1(w[j - 16] ^ w[j - 9] ^ rl32(w[j - 3], 15)) ^ rl32(w[j - 13], 7) ^ w[j - 6];
    for (unsigned j = 0; j < 8; j++)
        out[j] = bswap(w[j + 16]);
}

/* vsm3c: rounds 2*rnds and 2*rnds+1 of SM3's compression. vd holds
   {A, B, ..., H}, vs2 the message words W[0..7] (W[0], W[1], W[4], W[5]
   used), all big-endian; vd gets {A2, A1, C2, C1, E2, E1, G2, G1}. */
static void sm3_compress(uint64_t st[8], const uint64_t msg[8], unsigned rnds)
{
    uint32_t a = bswap(st[0]), b = bswap(st[1]), c = bswap(st[2]), d = bswap(st[3]);
    uint32_t e = bswap(st[4]), f = bswap(st[5]), g = bswap(st[6]), h = bswap(st[7]);
    uint32_t w[2] = {bswap(msg[0]), bswap(msg[1])},
             wp[2] = {w[0] ^ bswap(msg[4]), w[1] ^ bswap(msg[5])};
    uint32_t out[8];
    for (unsigned r = 0; r < 2; r++) {
        unsigned j = 2 * rnds + r; /* from the immediate, not data */
        uint32_t tj = j <= 15 ? 0x79cc4519u : 0x7a879d8au;
        uint32_t ss1 = rl32(rl32(a, 12) + e + rl32(tj, j % 32), 7);
        uint32_t ss2 = ss1 ^ rl32(a, 12);
        uint32_t ff = j <= 15 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
        uint32_t gg = j <= 15 ? e ^ f ^ g : (e & f) | (~e & g);
        uint32_t tt1 = ff + d + ss2 + wp[r], tt2 = gg + h + ss1 + w[r];
        d = c;
        c = rl32(b, 9);
        b = a;
        a = tt1;
        h = g;
        g = rl32(f, 19);
        f = e;
        e = sm3_p0(tt2);
        out[1 - r] = a;
        out[3 - r] = c;
        out[5 - r] = e;
        out[7 - r] = g;
    }
    for (unsigned j = 0; j < 8; j++)
        st[j] = bswap(out[j]);
}

/* --- dispatch ------------------------------------------------------------------------ */

static void group_read(const struct dv_hart *h, const struct vinsn *v, unsigned reg, uint64_t g,
                       unsigned egs, uint64_t *e)
{
    for (unsigned j = 0; j < egs; j++)
        e[j] = velt(h, v->vlenb, reg, g * egs + j, v->sew);
}

static void group_write(struct dv_hart *h, const struct vinsn *v, uint64_t g, unsigned egs,
                        const uint64_t *e)
{
    for (unsigned j = 0; j < egs; j++)
        vset(h, v->vlenb, v->vd, g * egs + j, v->sew, e[j]);
}

static void group_op(enum vcrypto_kind k, const struct vinsn *v, struct egroup *d,
                     const struct egroup *s2, const struct egroup *s1)
{
    bool wide = v->sew == 8;
    switch (k) {
    case VK_AESDM:
    case VK_AESDF:
    case VK_AESEM:
    case VK_AESEF:
    case VK_AESZ: aes_round(d->e, s2->e, k); break;
    case VK_AESKF1: aes_key_round(d->e, s2->e, NULL, v->rs1, false); break;
    case VK_AESKF2: aes_key_round(d->e, s2->e, d->e, v->rs1, true); break;
    case VK_GHSH: ghash_mul(d->e, s1->e, s2->e); break;
    case VK_GMUL: {
        static const uint64_t zero[4];
        ghash_mul(d->e, zero, s2->e);
        break;
    }
    case VK_SHA2MS: sha2_schedule(d->e, s2->e, s1->e, wide); break;
    case VK_SHA2CH:
    case VK_SHA2CL: sha2_compress(d->e, s2->e, s1->e, wide, k == VK_SHA2CH); break;
    case VK_SM4K:
        d->e[0] = s2->e[0], d->e[1] = s2->e[1], d->e[2] = s2->e[2], d->e[3] = s2->e[3];
        sm4_four(d->e, NULL, true, v->rs1 & 7);
        break;
    case VK_SM4R: sm4_four(d->e, s2->e, false, 0); break;
    case VK_SM3C: sm3_compress(d->e, s2->e, v->rs1); break;
    case VK_SM3ME: sm3_expand(d->e, s1->e, s2->e); break;
    case VK_NONE: break;
    }
}

static enum exec_status vec_crypto(struct dv_hart *h, struct vinsn *v)
{
    bool scalar_key;
    enum vcrypto_kind k = kind_of(v, &scalar_key);
    if (k == VK_NONE || !v->vm || v->f3 != 2)
        return EXEC_ILLEGAL;
    if (v->sew != 4 && !(is_sha2(k) && v->sew == 8)) /* SHA-512 is Zvknhb's */
        return EXEC_ILLEGAL;
    unsigned egs = k == VK_SM3C || k == VK_SM3ME ? 8 : 4;
    uint64_t egw = (uint64_t)egs * 8 * v->sew, vlen = 8ull * v->vlenb;
    uint64_t group_bits = v->lmul >= 0 ? vlen << v->lmul : vlen >> -v->lmul;
    if (group_bits < egw || v->vl % egs || h->vec.vstart % egs || !registers_ok(v, k, scalar_key))
        return EXEC_ILLEGAL;
    struct egroup d, s2 = {{0}}, s1 = {{0}};
    if (scalar_key)
        group_read(h, v, v->rs2, 0, egs, s2.e);
    for (uint64_t g = h->vec.vstart / egs; g < v->vl / egs; g++) {
        group_read(h, v, v->vd, g, egs, d.e);
        if (!scalar_key)
            group_read(h, v, v->rs2, g, egs, s2.e);
        if (reads_vs1(k))
            group_read(h, v, v->rs1, g, egs, s1.e);
        group_op(k, v, &d, &s2, &s1);
        group_write(h, v, g, egs, d.e);
    }
    return EXEC_RETIRE;
}

enum exec_status vec_crypto_exec(struct dv_hart *h, const struct insn *in)
{
    struct vinsn v;
    if (!vec_setup(h, in->raw, &v))
        return EXEC_ILLEGAL;
    return vec_crypto(h, &v);
}
