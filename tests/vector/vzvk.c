/*
 * Hart only (QEMU 7.2 has no Zvk*): the vector crypto instructions against
 * the standards' known answers. FIPS-197 C.1/C.3 (AES-128 and AES-256 key
 * schedules with vaeskf1/vaeskf2, encryption with vaesz/vaesem/vaesef,
 * decryption with vaesdm/vaesdf, .vs and .vv forms, two groups, vstart),
 * FIPS 180-4 SHA-256 and SHA-512 of "abc" (vsha2ms, vsha2cl, vsha2ch), the
 * GCM spec's test case 2 GHASH (vghsh, vgmul), GB/T 32907 SM4 (vsm4k,
 * vsm4r) and GB/T 32905 SM3 of "abc" (vsm3me, vsm3c); then the reserved
 * encodings, which must trap. The scalar glue (K constants, additions) is
 * C. test_vector.c runs it at every VLEN and expects the lines it lists.
 */
#include "vinsn.h"

static const uint32_t k256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5,
    0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc,
    0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3,
    0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5,
    0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static const uint64_t k512[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull,
    0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
    0x3956c25bf348b538ull, 0x59f111f1b605d019ull,
    0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
    0xd807aa98a3030242ull, 0x12835b0145706fbeull,
    0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull,
    0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
    0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull,
    0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
    0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull,
    0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull,
    0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
    0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull,
    0x06ca6351e003826full, 0x142929670a0e6e70ull,
    0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull,
    0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull,
    0x81c2c92e47edaee6ull, 0x92722c851482353bull,
    0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull,
    0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
    0xd192e819d6ef5218ull, 0xd69906245565a910ull,
    0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull,
    0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
    0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull,
    0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
    0x748f82ee5defb2fcull, 0x78a5636f43172f60ull,
    0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull,
    0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
    0xca273eceea26619cull, 0xd186b8c721c0c207ull,
    0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
    0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull,
    0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull,
    0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
    0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull,
    0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};

static struct vregs regs;
static unsigned vlenb;

/* The smallest LMUL (log2) whose group holds bits. */
static int lmul_for(unsigned bits)
{
    int l = 0;
    while ((8u * vlenb << l) < bits)
        l++;
    return l;
}

static uint32_t vk(unsigned f6, unsigned vs1, unsigned vd, unsigned vs2)
{
    return enc(f6, 1, vs2, vs1, 2, vd, OP_VE);
}

/* One instruction with vd = v8, vs2 = v16, vs1 = v24 at SEW sew_bits over
   vl elements; traps are reported as a line. */
static void run(const char *what, uint32_t w, unsigned sew_bits, int lmul, uint64_t vl,
                uint64_t vstart)
{
    uint64_t traps = vrun(w, vtype_of(sew_bits, lmul), vl, vstart, 0, &regs);
    if (traps) {
        puts_(what);
        puts_(" trapped\n");
    }
}

static void put_bytes(const char *what, const uint8_t *p, unsigned n)
{
    puts_(what);
    putch(' ');
    putbytes(p, n);
    putch('\n');
}

static void put_words(const char *what, const uint64_t *w, unsigned n, unsigned digits)
{
    puts_(what);
    for (unsigned i = 0; i < n; i++) {
        putch(' ');
        puthex(w[i], digits);
    }
    putch('\n');
}

static void copy(uint8_t *d, const uint8_t *s, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        d[i] = s[i];
}

/* --- AES ------------------------------------------------------------------------------ */

static uint8_t rk[15][16];

static void aes_cipher(const char *name, unsigned rounds, const uint8_t pt[16])
{
    copy(regs.d, pt, 16);
    copy(regs.s2, rk[0], 16);
    run("vaesz.vs", vk(0x29, 7, VD, VS2), 32, 0, 4, 0);
    for (unsigned r = 1; r < rounds; r++) {
        copy(regs.s2, rk[r], 16);
        run("vaesem.vs", vk(0x29, 2, VD, VS2), 32, 0, 4, 0);
        if (r == 1)
            put_bytes("aes.round2.start", regs.d, 16);
    }
    copy(regs.s2, rk[rounds], 16);
    run("vaesef.vs", vk(0x29, 3, VD, VS2), 32, 0, 4, 0);
    put_bytes(name, regs.d, 16);
}

static void aes_inv_cipher(const char *name, unsigned rounds)
{
    copy(regs.s2, rk[rounds], 16);
    run("vaesz.vs", vk(0x29, 7, VD, VS2), 32, 0, 4, 0);
    for (unsigned r = rounds - 1; r >= 1; r--) {
        copy(regs.s2, rk[r], 16);
        run("vaesdm.vs", vk(0x29, 0, VD, VS2), 32, 0, 4, 0);
    }
    copy(regs.s2, rk[0], 16);
    run("vaesdf.vs", vk(0x29, 1, VD, VS2), 32, 0, 4, 0);
    put_bytes(name, regs.d, 16);
}

/* Both blocks of a two-group register through the .vv forms, a round key per group. */
static void aes_two_groups(unsigned rounds, const uint8_t pt[16])
{
    int l = lmul_for(256);
    copy(regs.d, pt, 16);
    copy(regs.d + 16, pt, 16);
    regs.d[16] ^= 1; /* the second block differs */
    for (unsigned r = 0; r <= rounds; r++) {
        copy(regs.s2, rk[r], 16);
        copy(regs.s2 + 16, rk[r], 16);
        unsigned vs1 = r == 0 ? 7 : r == rounds ? 3 : 2;
        /* vaesz has no .vv form: round 0 is the .vs one */
        run("aes.vv", vk(r == 0 ? 0x29 : 0x28, vs1, VD, VS2), 32, l, 8, 0);
    }
    put_bytes("aes.vv.block0", regs.d, 16);
    put_bytes("aes.vv.block1", regs.d + 16, 16);
    for (unsigned r = rounds; r <= rounds; r--) {
        copy(regs.s2, rk[r], 16);
        copy(regs.s2 + 16, rk[r], 16);
        unsigned vs1 = r == rounds ? 7 : r == 0 ? 1 : 0;
        run("aes.vv.inv", vk(r == rounds ? 0x29 : 0x28, vs1, VD, VS2), 32, l, 8, 0);
    }
    put_bytes("aes.vv.inv.block0", regs.d, 16);
    put_bytes("aes.vv.inv.block1", regs.d + 16, 16);
    /* vstart 4: the first group stays */
    copy(regs.s2, rk[1], 16);
    run("aes.vstart", vk(0x29, 7, VD, VS2), 32, l, 8, 4);
    put_bytes("aes.vstart.block0", regs.d, 16);
    put_bytes("aes.vstart.block1", regs.d + 16, 16);
}

static void aes(void)
{
    static const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                                   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    for (unsigned i = 0; i < 16; i++)
        rk[0][i] = (uint8_t)i;
    for (unsigned r = 1; r <= 10; r++) {
        copy(regs.s2, rk[r - 1], 16);
        run("vaeskf1", vk(0x22, r, VD, VS2), 32, 0, 4, 0);
        copy(rk[r], regs.d, 16);
    }
    put_bytes("aes128.rk1", rk[1], 16);
    put_bytes("aes128.rk10", rk[10], 16);
    aes_cipher("aes128.ct", 10, pt);
    aes_inv_cipher("aes128.pt", 10);
    aes_two_groups(10, pt);

    /* out-of-range round numbers invert uimm[3]; uimm[4] is ignored */
    static const unsigned kf1_pairs[][2] = {{0, 8}, {11, 3}, {15, 7}, {17, 1}};
    for (unsigned p = 0; p < 4; p++) {
        uint8_t a[16];
        copy(regs.s2, rk[3], 16);
        run("vaeskf1", vk(0x22, kf1_pairs[p][0], VD, VS2), 32, 0, 4, 0);
        copy(a, regs.d, 16);
        run("vaeskf1", vk(0x22, kf1_pairs[p][1], VD, VS2), 32, 0, 4, 0);
        line_u("aes.kf1.map", same(a, regs.d, 16));
    }

    for (unsigned i = 0; i < 32; i++)
        rk[i / 16][i % 16] = (uint8_t)i;
    for (unsigned r = 2; r <= 14; r++) {
        copy(regs.d, rk[r - 2], 16);
        copy(regs.s2, rk[r - 1], 16);
        run("vaeskf2", vk(0x2a, r, VD, VS2), 32, 0, 4, 0);
        copy(rk[r], regs.d, 16);
    }
    put_bytes("aes256.rk14", rk[14], 16);
    aes_cipher("aes256.ct", 14, pt);
    aes_inv_cipher("aes256.pt", 14);
    static const unsigned kf2_pairs[][2] = {{0, 8}, {1, 9}, {15, 7}, {18, 2}};
    for (unsigned p = 0; p < 4; p++) {
        uint8_t a[16];
        copy(regs.d, rk[4], 16);
        copy(regs.s2, rk[5], 16);
        run("vaeskf2", vk(0x2a, kf2_pairs[p][0], VD, VS2), 32, 0, 4, 0);
        copy(a, regs.d, 16);
        copy(regs.d, rk[4], 16);
        run("vaeskf2", vk(0x2a, kf2_pairs[p][1], VD, VS2), 32, 0, 4, 0);
        line_u("aes.kf2.map", same(a, regs.d, 16));
    }
}

/* --- SHA-2 ---------------------------------------------------------------------------- */

static void set_elems(uint8_t *reg, const uint64_t *w, unsigned n, unsigned eb)
{
    for (unsigned i = 0; i < n; i++)
        wr_elem(reg, i, eb, w[i]);
}

static void get_elems(uint64_t *w, const uint8_t *reg, unsigned n, unsigned eb)
{
    for (unsigned i = 0; i < n; i++)
        w[i] = rd_elem(reg, i, eb);
}

/* One block of SHA-256 (wide = false) or SHA-512 of "abc". */
static void sha2_abc(bool wide)
{
    static const uint64_t h256[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    static const uint64_t h512[8] = {0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull,
                                     0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
                                     0x510e527fade682d1ull, 0x9b05688c2b3e6c1full,
                                     0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull};
    unsigned eb = wide ? 8 : 4, sew = 8 * eb, rounds = wide ? 80 : 64;
    uint64_t m = wide ? ~0ull : 0xffffffffull;
    int l = lmul_for(4 * sew);
    const uint64_t *iv = wide ? h512 : h256;
    uint64_t w[80] = {0};
    w[0] = wide ? 0x6162638000000000ull : 0x61626380;
    w[15] = 24;
    for (unsigned t = 16; t < rounds; t += 4) {
        uint64_t b[4] = {w[t - 12], w[t - 7], w[t - 6], w[t - 5]};
        set_elems(regs.d, &w[t - 16], 4, eb);
        set_elems(regs.s2, b, 4, eb);
        set_elems(regs.s1, &w[t - 4], 4, eb);
        run("vsha2ms", vk(0x2d, VS1, VD, VS2), sew, l, 4, 0);
        get_elems(&w[t], regs.d, 4, eb);
    }
    put_words(wide ? "sha512.w16" : "sha256.w16", &w[16], 4, 2 * eb);
    uint64_t abef[4] = {iv[5], iv[4], iv[1], iv[0]}, cdgh[4] = {iv[7], iv[6], iv[3], iv[2]};
    for (unsigned t = 0; t < rounds; t += 4) {
        uint64_t kw[4];
        for (unsigned j = 0; j < 4; j++)
            kw[j] = ((wide ? k512[t + j] : k256[t + j]) + w[t + j]) & m;
        for (unsigned half = 0; half < 2; half++) { /* cl, then ch: the new {a, b, e, f} */
            set_elems(regs.d, cdgh, 4, eb);
            set_elems(regs.s2, abef, 4, eb);
            set_elems(regs.s1, kw, 4, eb);
            run("vsha2c", vk(half ? 0x2e : 0x2f, VS1, VD, VS2), sew, l, 4, 0);
            for (unsigned j = 0; j < 4; j++)
                cdgh[j] = abef[j];
            get_elems(abef, regs.d, 4, eb);
        }
    }
    uint64_t hv[8] = {abef[3], abef[2], cdgh[3], cdgh[2], abef[1], abef[0], cdgh[1], cdgh[0]};
    for (unsigned j = 0; j < 8; j++)
        hv[j] = (hv[j] + iv[j]) & m;
    put_words(wide ? "sha512.abc" : "sha256.abc", hv, 8, 2 * eb);
}

/* --- GHASH ---------------------------------------------------------------------------- */

static void ghash(void)
{
    static const uint8_t hk[16] = {0x66, 0xe9, 0x4b, 0xd4, 0xef, 0x8a, 0x2c, 0x3b,
                                   0x88, 0x4c, 0xfa, 0x59, 0xca, 0x34, 0x2b, 0x2e};
    static const uint8_t c[16] = {0x03, 0x88, 0xda, 0xce, 0x60, 0xb6, 0xa3, 0x92,
                                  0xf3, 0x28, 0xc2, 0xb9, 0x71, 0xb2, 0xfe, 0x78};
    uint8_t len[16] = {0};
    len[15] = 0x80; /* len(A) = 0, len(C) = 128 bits */
    for (unsigned i = 0; i < 16; i++)
        regs.d[i] = 0;
    copy(regs.s2, hk, 16);
    copy(regs.s1, c, 16);
    run("vghsh", vk(0x2c, VS1, VD, VS2), 32, 0, 4, 0);
    put_bytes("ghash.y1", regs.d, 16);
    copy(regs.s1, len, 16);
    run("vghsh", vk(0x2c, VS1, VD, VS2), 32, 0, 4, 0);
    put_bytes("ghash.tc2", regs.d, 16);
    /* vgmul: Y1 = C * H */
    copy(regs.d, c, 16);
    run("vgmul", vk(0x28, 0x11, VD, VS2), 32, 0, 4, 0);
    put_bytes("gmul.y1", regs.d, 16);
}

/* --- SM4, SM3 ------------------------------------------------------------------------- */

static void sm4(void)
{
    static const uint64_t mk[4] = {0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210};
    static const uint64_t fk[4] = {0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc};
    uint64_t k[4], rks[32], x[4];
    for (unsigned j = 0; j < 4; j++)
        k[j] = mk[j] ^ fk[j];
    for (unsigned g = 0; g < 8; g++) {
        set_elems(regs.s2, g ? &rks[4 * g - 4] : k, 4, 4);
        run("vsm4k", vk(0x21, g | (g & 1) << 3, VD, VS2), 32, 0, 4, 0); /* uimm[4:3] ignored */
        get_elems(&rks[4 * g], regs.d, 4, 4);
    }
    put_words("sm4.rk0.rk31", (uint64_t[]){rks[0], rks[31]}, 2, 8);
    set_elems(regs.d, mk, 4, 4);
    for (unsigned g = 0; g < 8; g++) {
        set_elems(regs.s2, &rks[4 * g], 4, 4);
        run("vsm4r.vv", vk(0x28, 0x10, VD, VS2), 32, 0, 4, 0);
    }
    get_elems(x, regs.d, 4, 4);
    put_words("sm4.ct", (uint64_t[]){x[3], x[2], x[1], x[0]}, 4, 8);
    set_elems(regs.d, (uint64_t[]){x[3], x[2], x[1], x[0]}, 4, 4);
    for (unsigned g = 0; g < 8; g++) {
        uint64_t r[4] = {rks[31 - 4 * g], rks[30 - 4 * g], rks[29 - 4 * g], rks[28 - 4 * g]};
        set_elems(regs.s2, r, 4, 4);
        run("vsm4r.vs", vk(0x29, 0x10, VD, VS2), 32, lmul_for(256), 4, 0);
    }
    get_elems(x, regs.d, 4, 4);
    put_words("sm4.pt", (uint64_t[]){x[3], x[2], x[1], x[0]}, 4, 8);
}

static uint64_t bswap32_(uint64_t v)
{
    return (v >> 24 & 0xff) | (v >> 8 & 0xff00) | (v << 8 & 0xff0000) | (v << 24 & 0xff000000);
}

static void sm3(void)
{
    static const uint64_t iv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                                   0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};
    int l = lmul_for(256);
    uint64_t w[72] = {0}, st[8];
    /* "abc" padded, as its bytes in memory: big-endian words */
    w[0] = bswap32_(0x61626380);
    w[15] = bswap32_(24);
    for (unsigned t = 16; t < 72; t += 8) {
        set_elems(regs.s1, &w[t - 16], 8, 4);
        set_elems(regs.s2, &w[t - 8], 8, 4);
        run("vsm3me", vk(0x20, VS1, VD, VS2), 32, l, 8, 0);
        get_elems(&w[t], regs.d, 8, 4);
    }
    uint64_t w16[2] = {bswap32_(w[16]), bswap32_(w[67])};
    put_words("sm3.w16.w67", w16, 2, 8);
    for (unsigned j = 0; j < 8; j++)
        st[j] = bswap32_(iv[j]);
    set_elems(regs.d, st, 8, 4);
    for (unsigned r = 0; r < 32; r++) {
        set_elems(regs.s2, &w[2 * r], 8, 4);
        run("vsm3c", vk(0x2b, r, VD, VS2), 32, l, 8, 0);
    }
    get_elems(st, regs.d, 8, 4);
    for (unsigned j = 0; j < 8; j++)
        st[j] = bswap32_(st[j]) ^ iv[j];
    put_words("sm3.abc", st, 8, 8);
}

/* --- reserved encodings --------------------------------------------------------------- */

static void try_word(const char *what, uint32_t w, unsigned sew_bits, int lmul, uint64_t vl,
                     uint64_t vstart)
{
    uint64_t traps = vrun(w, vtype_of(sew_bits, lmul), vl, vstart, 0, &regs);
    puts_(what);
    putch(' ');
    putdec(traps);
    putch(' ');
    putdec(traps ? trapinfo[0] : 0);
    putch('\n');
}

/* Whether a word traps exactly when LMUL * VLEN < EGW. */
static void try_egw(const char *what, uint32_t w, unsigned sew_bits, int lmul, unsigned egw,
                    uint64_t vl)
{
    uint64_t vlen = 8ull * vlenb, group = lmul >= 0 ? vlen << lmul : vlen >> -lmul;
    uint64_t traps = vrun(w, vtype_of(sew_bits, lmul), vl, 0, 0, &regs);
    line_u(what, traps == (group < egw));
}

static void reserved(void)
{
    int l2 = lmul_for(256);
    try_word("aes.e64", vk(0x28, 2, VD, VS2), 64, l2, 4, 0);
    try_word("aes.e16", vk(0x28, 2, VD, VS2), 16, l2, 8, 0);
    try_word("aes.vl6", vk(0x28, 2, VD, VS2), 32, l2, 6, 0);
    try_word("aes.vstart2", vk(0x28, 2, VD, VS2), 32, l2, 8, 2);
    try_word("aes.vstart4", vk(0x28, 2, VD, VS2), 32, l2, 8, 4);
    try_word("aes.vs.overlap", vk(0x29, 2, VD, VD + 1), 32, 1, 8, 0);
    try_word("aes.vs.same", vk(0x29, 2, VD, VD), 32, 0, 4, 0);
    try_word("aes.vs.apart", vk(0x29, 2, VD, VD + 2), 32, 1, 8, 0);
    try_word("aes.vv.misaligned", vk(0x28, 2, VD, VS2 + 1), 32, 1, 8, 0);
    try_word("aes.vm0", enc(0x28, 0, VS2, 2, 2, VD, OP_VE), 32, 0, 4, 0);
    try_word("opve.f3.0", enc(0x28, 1, VS2, 2, 0, VD, OP_VE), 32, 0, 4, 0);
    try_word("vaesz.vv", vk(0x28, 7, VD, VS2), 32, 0, 4, 0);
    try_word("vgmul.vs", vk(0x29, 0x11, VD, VS2), 32, 0, 4, 0);
    try_word("f6.28.vs1.4", vk(0x28, 4, VD, VS2), 32, 0, 4, 0);
    try_word("f6.23", vk(0x23, 0, VD, VS2), 32, 0, 4, 0);
    try_word("sha2.vd.vs1", vk(0x2e, VS1, VS1, VS2), 32, 0, 4, 0);
    try_word("sha2.vd.vs2", vk(0x2e, VS1, VS2, VS2), 32, 0, 4, 0);
    try_word("sha2ms.vd.vs1", vk(0x2d, VS1, VS1, VS2), 32, 0, 4, 0);
    try_word("sha2.e16", vk(0x2f, VS1, VD, VS2), 16, 0, 4, 0);
    try_word("sha2.e64.ok", vk(0x2f, VS1, VD, VS2), 64, l2, 4, 0);
    try_word("sm3me.vd.vs2", vk(0x20, VS1, VS2, VS2), 32, l2, 8, 0);
    try_word("sm3me.vd.vs1.ok", vk(0x20, VS1, VS1, VS2), 32, l2, 8, 0);
    try_word("sm3c.vd.vs2", vk(0x2b, 0, VS2, VS2), 32, l2, 8, 0);
    try_word("sm3c.vl4", vk(0x2b, 0, VD, VS2), 32, l2, 4, 0);
    try_word("sm4k.e64", vk(0x21, 0, VD, VS2), 64, l2, 4, 0);
    try_word("ghsh.vs1.misaligned", vk(0x2c, VS1 + 1, VD, VS2), 32, 1, 8, 0);
    try_word("gmul.vl0.ok", vk(0x28, 0x11, VD, VS2), 32, 0, 0, 0);
    try_egw("sm3c.egw.m1", vk(0x2b, 0, VD, VS2), 32, 0, 256, 0);
    try_egw("sha512.egw.m1", vk(0x2e, VS1, VD, VS2), 64, 0, 256, 0);
    try_egw("aes.egw.mf2", vk(0x28, 2, VD, VS2), 32, -1, 128, 0);
    try_egw("sm4r.egw.mf2", vk(0x28, 0x10, VD, VS2), 32, -1, 128, 0);
}

int main(void)
{
    vinsn_init();
    vlenb = vlenb_();
    aes();
    sha2_abc(false);
    sha2_abc(true);
    ghash();
    sm4();
    sm3();
    reserved();
    return 0;
}
