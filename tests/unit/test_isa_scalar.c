/*
 * The scalar ISA extensions beyond RV64GC + Zba/Zbb/Zbs: decoding, the
 * specifications' own test vectors (FIPS-197 AES, FIPS 180-4 SHA-256 and
 * SHA-512, GB/T 32907 SM4, GB/T 32905 SM3, computed with the instructions'
 * semantics), and each instruction run on a hart under both engines (the
 * interpreter, and the JIT translating at once).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

#include "hart/decode.h"
#include "hart/exec_crypto.h"
#include "hart/exec_wrs.h"
#include "hart/hart.h"
#include "hart/ops.h"
#include "vmm/gstage.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* --- a one-hart VM running a snippet to its ecall --------------------------------------------- */

#define RAM_GPA  0x80000000ull
#define RAM_SIZE (64u << 10)
#define DATA_OFF 0x8000u /* guest data at RAM_GPA + DATA_OFF */

struct vm {
    uint8_t *ram;
    struct dv_machine *m;
    struct gstage *g;
    struct dv_hart *h;
};

static void vm_open(struct vm *vm, bool jit)
{
    vm->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(vm->ram != MAP_FAILED);
    vm->m = dv_machine_create(1);
    struct dv_engine_config e = {.jit = jit, .threshold = 1, .max_region = 64};
    assert_int_equal(dv_machine_set_engine(vm->m, &e), DV_OK);
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RAM_SIZE), DV_OK);
    vm->g = gstage_create(DV_HUGATP_MODE_SV39X4);
    assert_int_equal(gstage_map(vm->g, RAM_GPA, vm->ram, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X),
                     0);
    vm->h = dv_hart_create(vm->m, 0);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 1)), DV_OK);
    dv_csr_write(vm->h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPVP); /* VS-mode */
}

static void vm_close(struct vm *vm)
{
    dv_hart_destroy(vm->h);
    gstage_destroy(vm->g);
    dv_machine_destroy(vm->m);
    munmap(vm->ram, RAM_SIZE);
}

/* Copy code (32-bit words, or pairs of compressed halves) to the start of
   RAM with an ecall after it, and run from there to the first exit. */
static uint64_t vm_run(struct vm *vm, const uint32_t *code, size_t n)
{
    memcpy(vm->ram, code, n * 4);
    const uint32_t ecall = 0x00000073;
    memcpy(vm->ram + n * 4, &ecall, 4);
    dv_csr_write(vm->h, DV_CSR_UEPC, RAM_GPA);
    return dv_enter(vm->h);
}

static uint64_t reg(struct vm *vm, unsigned r)
{
    return dv_gpr_get(vm->h, r);
}

static uint64_t csr(struct vm *vm, unsigned c)
{
    uint64_t v = 0;
    dv_csr_read(vm->h, c, &v);
    return v;
}

/* --- one instruction, a0/a1 in, a2 out, under both engines ---------------------------------- */

struct case_rr {
    uint32_t insn; /* rd = a2 (x12), rs1 = a0 (x10), rs2 = a1 (x11) */
    uint64_t a, b, want;
    const char *name;
};

static void check_cases(const struct case_rr *c, size_t n)
{
    for (int jit = 0; jit < 2; jit++) {
        for (size_t i = 0; i < n; i++) {
            struct vm vm;
            vm_open(&vm, jit);
            dv_gpr_set(vm.h, 10, c[i].a);
            dv_gpr_set(vm.h, 11, c[i].b);
            /* run it twice in a row so a translated region holds it with its neighbour */
            const uint32_t code[] = {c[i].insn, 0x00060693 /* mv a3,a2 */, c[i].insn};
            uint64_t exit = vm_run(&vm, code, COUNT(code));
            if (exit != DV_EXIT_ECALL_VS || reg(&vm, 12) != c[i].want || reg(&vm, 13) != c[i].want)
                fail_msg("%s (%08x) on %s: a0 %016llx a1 %016llx: exit %llu, got %016llx want "
                         "%016llx",
                         c[i].name, c[i].insn, jit ? "jit" : "interp", (unsigned long long)c[i].a,
                         (unsigned long long)c[i].b, (unsigned long long)exit,
                         (unsigned long long)reg(&vm, 12), (unsigned long long)c[i].want);
            vm_close(&vm);
        }
    }
}

/* R-type a2 = op(a0, a1) with the given funct7 / funct3 / opcode */
#define R(f7, f3, opc)                                                                             \
    ((uint32_t)(f7) << 25 | 11u << 20 | 10u << 15 | (f3) << 12 | 12u << 7 | (opc))
/* I-type a2 = op(a0) with a 12-bit immediate field */
#define I(imm12, f3, opc) ((uint32_t)(imm12) << 20 | 10u << 15 | (f3) << 12 | 12u << 7 | (opc))

static void test_zicond(void **state)
{
    (void)state;
    const struct case_rr c[] = {
        {R(0x07, 5, 0x33), 1234, 0, 0, "czero.eqz rs2=0"},
        {R(0x07, 5, 0x33), 1234, 1ull << 63, 1234, "czero.eqz rs2!=0"},
        {R(0x07, 7, 0x33), 1234, 0, 1234, "czero.nez rs2=0"},
        {R(0x07, 7, 0x33), 1234, 5, 0, "czero.nez rs2!=0"},
    };
    check_cases(c, COUNT(c));
}

/* Carry-less products by the schoolbook definition, with branches (the reference). */
static void clmul_ref(uint64_t a, uint64_t b, uint64_t *lo, uint64_t *hi)
{
    unsigned __int128 r = 0;
    for (unsigned i = 0; i < 64; i++)
        if (b >> i & 1)
            r ^= (unsigned __int128)a << i;
    *lo = (uint64_t)r;
    *hi = (uint64_t)(r >> 64);
}

static void test_zbc_zbkb_zbkx(void **state)
{
    (void)state;
    const uint64_t a = 0x8123456789abcdefull, b = 0xfedcba9876543211ull;
    uint64_t lo, hi;
    clmul_ref(a, b, &lo, &hi);
    const struct case_rr c[] = {
        {R(0x05, 1, 0x33), a, b, lo, "clmul"},
        {R(0x05, 3, 0x33), a, b, hi, "clmulh"},
        {R(0x05, 2, 0x33), a, b, hi << 1 | lo >> 63, "clmulr"},
        {R(0x05, 1, 0x33), 3, 3, 5, "clmul 3*3"},
        {R(0x04, 4, 0x33), 0x1111111122222222ull, 0x3333333344444444ull, 0x4444444422222222ull,
         "pack"},
        {R(0x04, 7, 0x33), 0x1234, 0x5678, 0x7834, "packh"},
        {R(0x04, 4, 0x3b), 0x1234, 0x8765, 0xffffffff87651234ull, "packw"},
        {I(0x687, 5, 0x13), 0x0102040810204080ull, 0, 0x8040201008040201ull, "brev8"},
        {I(0x687, 5, 0x13), 0x00000000000000f1ull, 0, 0x000000000000008full, "brev8 byte"},
        /* xperm8: index bytes 0..7 pick bytes of rs1, 8 and above give 0 */
        {R(0x14, 4, 0x33), 0x0706050403020100ull, 0x0001020304ff0809ull, 0x0001020304000000ull,
         "xperm8"},
        {R(0x14, 2, 0x33), 0xfedcba9876543210ull, 0x0123456789abcdefull, 0x0123456789abcdefull,
         "xperm4 identity"},
        {R(0x14, 2, 0x33), 0xfedcba9876543210ull, 0xffffffffffffffffull, 0xffffffffffffffffull,
         "xperm4 top nibble"},
    };
    check_cases(c, COUNT(c));
}

/* --- AES (FIPS-197 appendix C.1) ------------------------------------------------------------- */

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static void test_aes128_fips197(void **state)
{
    (void)state;
    const uint8_t key[16] = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                             0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
    const uint8_t pt[16] = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
                            0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff};
    const uint8_t ct[16] = {0x69, 0xc4, 0xe0, 0xd8, 0x6a, 0x7b, 0x04, 0x30,
                            0xd8, 0xcd, 0xb7, 0x80, 0x70, 0xb4, 0xc5, 0x5a};
    uint64_t rk[22];
    rk[0] = le64(key);
    rk[1] = le64(key + 8);
    for (unsigned r = 0; r < 10; r++) { /* the key schedule as the spec's RV64 sequence */
        uint64_t t = crypto_value(OP_AES64KS1I, rk[2 * r + 1], 0, r);
        rk[2 * r + 2] = crypto_value(OP_AES64KS2, t, rk[2 * r], 0);
        rk[2 * r + 3] = crypto_value(OP_AES64KS2, rk[2 * r + 2], rk[2 * r + 1], 0);
    }
    /* round[1].k_sch and round[10].k_sch of FIPS-197 C.1 */
    assert_int_equal(rk[2], 0xfa72afd2fd74aad6ull);
    assert_int_equal(rk[3], 0xfe76abd6f178a6daull);
    assert_int_equal(rk[20], 0x174a94e37f1d1113ull);
    uint64_t s0 = le64(pt) ^ rk[0], s1 = le64(pt + 8) ^ rk[1];
    for (unsigned r = 1; r < 10; r++) {
        uint64_t n0 = crypto_value(OP_AES64ESM, s0, s1, 0) ^ rk[2 * r];
        uint64_t n1 = crypto_value(OP_AES64ESM, s1, s0, 0) ^ rk[2 * r + 1];
        s0 = n0;
        s1 = n1;
    }
    uint64_t c0 = crypto_value(OP_AES64ES, s0, s1, 0) ^ rk[20];
    uint64_t c1 = crypto_value(OP_AES64ES, s1, s0, 0) ^ rk[21];
    assert_int_equal(c0, le64(ct));
    assert_int_equal(c1, le64(ct + 8));

    /* and back, with the equivalent inverse cipher (aes64im on the middle round keys) */
    s0 = c0 ^ rk[20];
    s1 = c1 ^ rk[21];
    for (unsigned r = 9; r >= 1; r--) {
        uint64_t n0 =
            crypto_value(OP_AES64DSM, s0, s1, 0) ^ crypto_value(OP_AES64IM, rk[2 * r], 0, 0);
        uint64_t n1 =
            crypto_value(OP_AES64DSM, s1, s0, 0) ^ crypto_value(OP_AES64IM, rk[2 * r + 1], 0, 0);
        s0 = n0;
        s1 = n1;
    }
    assert_int_equal(crypto_value(OP_AES64DS, s0, s1, 0) ^ rk[0], le64(pt));
    assert_int_equal(crypto_value(OP_AES64DS, s1, s0, 0) ^ rk[1], le64(pt + 8));
}

/* S-box spot values (FIPS-197 figure 7 and 14): computed, not tabled, so check a few. */
static void test_sboxes(void **state)
{
    (void)state;
    assert_int_equal(aes_sbox(0x00), 0x63);
    assert_int_equal(aes_sbox(0x53), 0xed);
    assert_int_equal(aes_sbox(0xff), 0x16);
    for (unsigned x = 0; x < 256; x++)
        assert_int_equal(aes_inv_sbox(aes_sbox((uint8_t)x)), x);
    assert_int_equal(sm4_sbox(0x00), 0xd6);
    assert_int_equal(sm4_sbox(0x01), 0x90);
    assert_int_equal(sm4_sbox(0xff), 0x48);
}

static void test_aes_on_hart(void **state)
{
    (void)state;
    /* FIPS-197 C.1 round[1]: start 00102030..f0, s_row 6353e08c0960e104..., m_col 5f726415... */
    const uint64_t s0 = 0x7060504030201000ull, s1 = 0xf0e0d0c0b0a09080ull;
    const uint64_t key0 = 0x0706050403020100ull, key1 = 0x0f0e0d0c0b0a0908ull;
    const uint64_t t = crypto_value(OP_AES64KS1I, key1, 0, 0);
    const struct case_rr c[] = {
        {R(0x19, 0, 0x33), s0, s1, 0x04e160098ce05363ull, "aes64es"},
        {R(0x19, 0, 0x33), s1, s0, 0xe7d0caba51b770cdull, "aes64es high"},
        {R(0x1b, 0, 0x33), s0, s1, 0x92bcf5571564725full, "aes64esm"},
        {R(0x1d, 0, 0x33), s0, s1, crypto_value(OP_AES64DS, s0, s1, 0), "aes64ds"},
        {R(0x1f, 0, 0x33), s0, s1, crypto_value(OP_AES64DSM, s0, s1, 0), "aes64dsm"},
        /* InvMixColumns undoes MixColumns: m_col back to s_row */
        {I(0x300, 1, 0x13), 0x92bcf5571564725full, 0, 0x04e160098ce05363ull, "aes64im"},
        {I(0x310, 1, 0x13), key1, 0, t, "aes64ks1i 0"},
        {R(0x3f, 0, 0x33), t, key0, 0xfa72afd2fd74aad6ull, "aes64ks2"},
    };
    check_cases(c, COUNT(c));
    struct insn d;
    decode(I(0x31b, 1, 0x13), &d); /* rnum 11..15 are reserved */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(I(0x31a, 1, 0x13), &d);
    assert_int_equal(d.op, OP_AES64KS1I);
    assert_int_equal(d.imm, 10);
}
/* --- SHA-2 (FIPS 180-4) --------------------------------------------------------------------- */

/* FIPS 180-4 4.2.2, 4.2.3, 5.3.3, 5.3.5: the first bits of the fractional parts of the cube
   (K) and square (H) roots of the first primes, computed exactly with integer roots. */
static const uint32_t sha256_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};
static const uint32_t sha256_h[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};
static const uint64_t sha512_k[80] = {
    0x428a2f98d728ae22ull, 0x7137449123ef65cdull, 0xb5c0fbcfec4d3b2full, 0xe9b5dba58189dbbcull,
    0x3956c25bf348b538ull, 0x59f111f1b605d019ull, 0x923f82a4af194f9bull, 0xab1c5ed5da6d8118ull,
    0xd807aa98a3030242ull, 0x12835b0145706fbeull, 0x243185be4ee4b28cull, 0x550c7dc3d5ffb4e2ull,
    0x72be5d74f27b896full, 0x80deb1fe3b1696b1ull, 0x9bdc06a725c71235ull, 0xc19bf174cf692694ull,
    0xe49b69c19ef14ad2ull, 0xefbe4786384f25e3ull, 0x0fc19dc68b8cd5b5ull, 0x240ca1cc77ac9c65ull,
    0x2de92c6f592b0275ull, 0x4a7484aa6ea6e483ull, 0x5cb0a9dcbd41fbd4ull, 0x76f988da831153b5ull,
    0x983e5152ee66dfabull, 0xa831c66d2db43210ull, 0xb00327c898fb213full, 0xbf597fc7beef0ee4ull,
    0xc6e00bf33da88fc2ull, 0xd5a79147930aa725ull, 0x06ca6351e003826full, 0x142929670a0e6e70ull,
    0x27b70a8546d22ffcull, 0x2e1b21385c26c926ull, 0x4d2c6dfc5ac42aedull, 0x53380d139d95b3dfull,
    0x650a73548baf63deull, 0x766a0abb3c77b2a8ull, 0x81c2c92e47edaee6ull, 0x92722c851482353bull,
    0xa2bfe8a14cf10364ull, 0xa81a664bbc423001ull, 0xc24b8b70d0f89791ull, 0xc76c51a30654be30ull,
    0xd192e819d6ef5218ull, 0xd69906245565a910ull, 0xf40e35855771202aull, 0x106aa07032bbd1b8ull,
    0x19a4c116b8d2d0c8ull, 0x1e376c085141ab53ull, 0x2748774cdf8eeb99ull, 0x34b0bcb5e19b48a8ull,
    0x391c0cb3c5c95a63ull, 0x4ed8aa4ae3418acbull, 0x5b9cca4f7763e373ull, 0x682e6ff3d6b2b8a3ull,
    0x748f82ee5defb2fcull, 0x78a5636f43172f60ull, 0x84c87814a1f0ab72ull, 0x8cc702081a6439ecull,
    0x90befffa23631e28ull, 0xa4506cebde82bde9ull, 0xbef9a3f7b2c67915ull, 0xc67178f2e372532bull,
    0xca273eceea26619cull, 0xd186b8c721c0c207ull, 0xeada7dd6cde0eb1eull, 0xf57d4f7fee6ed178ull,
    0x06f067aa72176fbaull, 0x0a637dc5a2c898a6ull, 0x113f9804bef90daeull, 0x1b710b35131c471bull,
    0x28db77f523047d84ull, 0x32caab7b40c72493ull, 0x3c9ebe0a15c9bebcull, 0x431d67c49c100d4cull,
    0x4cc5d4becb3e42b6ull, 0x597f299cfc657e2aull, 0x5fcb6fab3ad6faecull, 0x6c44198c4a475817ull,
};
static const uint64_t sha512_h[8] = {
    0x6a09e667f3bcc908ull, 0xbb67ae8584caa73bull, 0x3c6ef372fe94f82bull, 0xa54ff53a5f1d36f1ull,
    0x510e527fade682d1ull, 0x9b05688c2b3e6c1full, 0x1f83d9abfb41bd6bull, 0x5be0cd19137e2179ull,
};

static uint64_t op1(enum op op, uint64_t v)
{
    return crypto_value(op, v, 0, 0);
}

static void test_sha256_abc(void **state)
{
    (void)state;
    uint32_t w[64] = {0x61626380, [15] = 24}; /* "abc", padded */
    for (unsigned i = 16; i < 64; i++)
        w[i] = (uint32_t)(op1(OP_SHA256SIG1, w[i - 2]) + w[i - 7] + op1(OP_SHA256SIG0, w[i - 15]) +
                          w[i - 16]);
    uint32_t v[8];
    memcpy(v, sha256_h, sizeof(v));
    for (unsigned i = 0; i < 64; i++) {
        uint32_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint32_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        uint32_t t1 = (uint32_t)(v[7] + op1(OP_SHA256SUM1, v[4]) + ch + sha256_k[i] + w[i]);
        uint32_t t2 = (uint32_t)(op1(OP_SHA256SUM0, v[0]) + maj);
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    const uint32_t want[8] = {0xba7816bf, 0x8f01cfea, 0x414140de, 0x5dae2223,
                              0xb00361a3, 0x96177a9c, 0xb410ff61, 0xf20015ad};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(v[i] + sha256_h[i], want[i]);
    /* RV64 results are the 32-bit value sign-extended */
    assert_int_equal(op1(OP_SHA256SIG0, 0x80000000u), (uint64_t)(int64_t)(int32_t)0x11002000u);
    assert_int_equal(op1(OP_SHA256SUM0, 0xffffffff00000001ull), 0x40080400); /* rs1[31:0] only */
}

static void test_sha512_abc(void **state)
{
    (void)state;
    uint64_t w[80] = {0x6162638000000000ull, [15] = 24};
    for (unsigned i = 16; i < 80; i++)
        w[i] = op1(OP_SHA512SIG1, w[i - 2]) + w[i - 7] + op1(OP_SHA512SIG0, w[i - 15]) + w[i - 16];
    uint64_t v[8];
    memcpy(v, sha512_h, sizeof(v));
    for (unsigned i = 0; i < 80; i++) {
        uint64_t ch = (v[4] & v[5]) ^ (~v[4] & v[6]);
        uint64_t maj = (v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]);
        uint64_t t1 = v[7] + op1(OP_SHA512SUM1, v[4]) + ch + sha512_k[i] + w[i];
        uint64_t t2 = op1(OP_SHA512SUM0, v[0]) + maj;
        memmove(v + 1, v, 7 * sizeof(v[0]));
        v[4] += t1;
        v[0] = t1 + t2;
    }
    const uint64_t want[8] = {0xddaf35a193617abaull, 0xcc417349ae204131ull, 0x12e6fa4e89a97ea2ull,
                              0x0a9eeee64b55d39aull, 0x2192992a274fc1a8ull, 0x36ba3c23a3feebbdull,
                              0x454d4423643ce80eull, 0x2a9ac94fa54ca49full};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(v[i] + sha512_h[i], want[i]);
}

static void test_sha_on_hart(void **state)
{
    (void)state;
    const uint64_t x = 0x0123456789abcdefull;
    const struct case_rr c[] = {
        {I(0x100, 1, 0x13), x, 0, op1(OP_SHA256SUM0, x), "sha256sum0"},
        {I(0x101, 1, 0x13), x, 0, op1(OP_SHA256SUM1, x), "sha256sum1"},
        {I(0x102, 1, 0x13), x, 0, op1(OP_SHA256SIG0, x), "sha256sig0"},
        {I(0x103, 1, 0x13), x, 0, op1(OP_SHA256SIG1, x), "sha256sig1"},
        {I(0x104, 1, 0x13), x, 0, op1(OP_SHA512SUM0, x), "sha512sum0"},
        {I(0x105, 1, 0x13), x, 0, op1(OP_SHA512SUM1, x), "sha512sum1"},
        {I(0x106, 1, 0x13), x, 0, op1(OP_SHA512SIG0, x), "sha512sig0"},
        {I(0x107, 1, 0x13), x, 0, op1(OP_SHA512SIG1, x), "sha512sig1"},
        {I(0x108, 1, 0x13), x, 0, op1(OP_SM3P0, x), "sm3p0"},
        {I(0x109, 1, 0x13), x, 0, op1(OP_SM3P1, x), "sm3p1"},
        {R(0x18, 0, 0x33), x, 0x2000000, crypto_value(OP_SM4ED, x, 0x2000000, 0), "sm4ed bs0"},
        {R(0x78, 0, 0x33), x, 0x2000000, crypto_value(OP_SM4ED, x, 0x2000000, 3), "sm4ed bs3"},
        {R(0x5a, 0, 0x33), x, 0x2000000, crypto_value(OP_SM4KS, x, 0x2000000, 2), "sm4ks bs2"},
    };
    check_cases(c, COUNT(c));
}

/* --- SM3 (GB/T 32905-2016 example 1) and SM4 (GB/T 32907-2016 example 1) ----------------- */

static uint32_t rol(uint32_t v, unsigned s)
{
    s &= 31;
    return s ? v << s | v >> (32 - s) : v;
}

static void test_sm3_abc(void **state)
{
    (void)state;
    uint32_t w[68] = {0x61626380, [15] = 24}, w1[64];
    for (unsigned j = 16; j < 68; j++)
        w[j] = (uint32_t)op1(OP_SM3P1, w[j - 16] ^ w[j - 9] ^ rol(w[j - 3], 15)) ^
               rol(w[j - 13], 7) ^ w[j - 6];
    for (unsigned j = 0; j < 64; j++)
        w1[j] = w[j] ^ w[j + 4];
    const uint32_t iv[8] = {0x7380166f, 0x4914b2b9, 0x172442d7, 0xda8a0600,
                            0xa96f30bc, 0x163138aa, 0xe38dee4d, 0xb0fb0e4e};
    uint32_t a = iv[0], b = iv[1], c = iv[2], d = iv[3], e = iv[4], f = iv[5], g = iv[6], h = iv[7];
    for (unsigned j = 0; j < 64; j++) {
        uint32_t t = j < 16 ? 0x79cc4519 : 0x7a879d8a;
        uint32_t ss1 = rol(rol(a, 12) + e + rol(t, j), 7), ss2 = ss1 ^ rol(a, 12);
        uint32_t ff = j < 16 ? a ^ b ^ c : (a & b) | (a & c) | (b & c);
        uint32_t gg = j < 16 ? e ^ f ^ g : (e & f) | (~e & g);
        uint32_t tt1 = ff + d + ss2 + w1[j], tt2 = gg + h + ss1 + w[j];
        d = c;
        c = rol(b, 9);
        b = a;
        a = tt1;
        h = g;
        g = rol(f, 19);
        f = e;
        e = (uint32_t)op1(OP_SM3P0, tt2);
    }
    const uint32_t out[8] = {a ^ iv[0], b ^ iv[1], c ^ iv[2], d ^ iv[3],
                             e ^ iv[4], f ^ iv[5], g ^ iv[6], h ^ iv[7]};
    const uint32_t want[8] = {0x66c7f0f4, 0x62eeedd9, 0xd1f2d46b, 0xdc10e4e2,
                              0x4167c487, 0x5cf2f7a2, 0x297da02b, 0x8f4ba8e0};
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(out[i], want[i]);
}

/* x ^ T(y) with sm4ed (or T' with sm4ks), one byte select at a time, as the spec shows */
static uint32_t sm4_t(enum op op, uint32_t x, uint32_t y)
{
    uint64_t acc = x;
    for (unsigned bs = 0; bs < 4; bs++)
        acc = crypto_value(op, acc, y, bs);
    return (uint32_t)acc;
}

static void test_sm4_example(void **state)
{
    (void)state;
    const uint32_t mk[4] = {0x01234567, 0x89abcdef, 0xfedcba98, 0x76543210};
    const uint32_t fk[4] = {0xa3b1bac6, 0x56aa3350, 0x677d9197, 0xb27022dc};
    uint32_t k[36], rk[32], x[36];
    for (unsigned i = 0; i < 4; i++)
        k[i] = mk[i] ^ fk[i];
    for (unsigned i = 0; i < 32; i++) {
        uint32_t ck = 0;
        for (unsigned j = 0; j < 4; j++)
            ck = ck << 8 | (((4 * i + j) * 7) & 0xff);
        k[i + 4] = sm4_t(OP_SM4KS, k[i], k[i + 1] ^ k[i + 2] ^ k[i + 3] ^ ck);
        rk[i] = k[i + 4];
    }
    assert_int_equal(rk[0], 0xf12186f9);
    assert_int_equal(rk[31], 0x9124a012);
    memcpy(x, mk, sizeof(mk)); /* the example encrypts the key itself */
    for (unsigned i = 0; i < 32; i++)
        x[i + 4] = sm4_t(OP_SM4ED, x[i], x[i + 1] ^ x[i + 2] ^ x[i + 3] ^ rk[i]);
    assert_int_equal(x[35], 0x681edf34);
    assert_int_equal(x[34], 0xd206965e);
    assert_int_equal(x[33], 0x86b3e94f);
    assert_int_equal(x[32], 0x536e4246);
}

/* --- Zcb, Zcmop, Zimop, hints ---------------------------------------------------------------- */

/* two compressed instructions in one word, the first in the low half */
#define C2(first, second) ((uint32_t)(first) | (uint32_t)(second) << 16)
#define C_NOP             0x0001

static void test_zcb(void **state)
{
    (void)state;
    /* rd'/rs2' = a2/a1, rs1' = a0 */
    const uint32_t code[] = {
        C2(0x8170, C_NOP),  /* c.lbu a2,3(a0) */
        0x00060793,         /* mv a5,a2 */
        C2(0x8530, C_NOP),  /* c.lhu a2,2(a0) */
        0x00060813,         /* mv a6,a2 */
        C2(0x8550, C_NOP),  /* c.lh a2,0(a0) */
        0x00060893,         /* mv a7,a2 */
        C2(0x894c, 0x8d2c), /* c.sb a1,1(a0); c.sh a1,2(a0) */
        0x00053e03,         /* ld t3,0(a0) */
        0x00058713,         /* mv a4,a1 */
        C2(0x9d4d, C_NOP),  /* c.mul a0,a1 */
        0x00050e93,         /* mv t4,a0 */
    };
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        const uint64_t data = 0x1122334455f688ffull;
        memcpy(vm.ram + DATA_OFF, &data, 8);
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
        dv_gpr_set(vm.h, 11, 0xabcd);
        assert_int_equal(vm_run(&vm, code, COUNT(code)), DV_EXIT_ECALL_VS);
        assert_int_equal(reg(&vm, 15), 0x55);                  /* c.lbu */
        assert_int_equal(reg(&vm, 16), 0x55f6);                /* c.lhu */
        assert_int_equal(reg(&vm, 17), 0xffffffffffff88ffull); /* c.lh sign-extends */
        assert_int_equal(reg(&vm, 28), 0x11223344abcdcdffull); /* c.sb then c.sh */
        assert_int_equal(reg(&vm, 29), (RAM_GPA + DATA_OFF) * 0xabcd);
        vm_close(&vm);
    }
    const struct {
        uint16_t c;
        uint64_t in, want;
    } unary[] = {
        {0x9d61, 0xffffffffffffff80ull, 0x80},                  /* c.zext.b */
        {0x9d65, 0x0000000000000080ull, 0xffffffffffffff80ull}, /* c.sext.b */
        {0x9d69, 0xffffffffffff8001ull, 0x8001},                /* c.zext.h */
        {0x9d6d, 0x0000000000008001ull, 0xffffffffffff8001ull}, /* c.sext.h */
        {0x9d71, 0xffffffff80000001ull, 0x80000001},            /* c.zext.w */
        {0x9d75, 0x00ff00ff00ff00ffull, 0xff00ff00ff00ff00ull}, /* c.not */
    };
    for (int jit = 0; jit < 2; jit++)
        for (size_t i = 0; i < COUNT(unary); i++) {
            struct vm vm;
            vm_open(&vm, jit);
            dv_gpr_set(vm.h, 10, unary[i].in);
            const uint32_t code1[] = {C2(unary[i].c, C_NOP)};
            assert_int_equal(vm_run(&vm, code1, 1), DV_EXIT_ECALL_VS);
            if (reg(&vm, 10) != unary[i].want)
                fail_msg("%04x on %s: %016llx", unary[i].c, jit ? "jit" : "interp",
                         (unsigned long long)reg(&vm, 10));
            vm_close(&vm);
        }
    struct insn d;
    decode(0x8d6c, &d); /* c.sh with bit 6 set: reserved */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(0x9d79, &d); /* funct 110 of the unary group: reserved */
    assert_int_equal(d.op, OP_ILLEGAL);
}

#define MOP_R(n)  (0x81c04073u | ((n) >> 4 & 1) << 30 | ((n) >> 2 & 3) << 26 | ((n)&3) << 20)
#define MOP_RR(n) (0x82004073u | ((n) >> 2 & 1) << 30 | ((n)&3) << 26)

static void test_mops_and_hints(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        for (unsigned r = 5; r < 32; r++)
            dv_gpr_set(vm.h, r, 0x1000 + r);
        const uint32_t code[] = {
            MOP_R(0) | 12u << 7 | 10u << 15,              /* mop.r.0 a2,a0 */
            MOP_R(31) | 13u << 7 | 10u << 15,             /* mop.r.31 a3,a0 */
            MOP_RR(7) | 14u << 7 | 10u << 15 | 11u << 20, /* mop.rr.7 a4,a0,a1 */
            C2(0x6081, 0x6781),                           /* c.mop.1, c.mop.15 */
            0x00500033,                                   /* ntl.all (add x0,x0,x5) */
            C2(0x9016, 0x900a),                           /* c.ntl.all, c.ntl.p1 */
            0x0100000f,                                   /* pause */
            0x04156013,                                   /* prefetch.r 64(a0) */
            0x04356013,                                   /* prefetch.w 64(a0) */
            0x04056013,                                   /* prefetch.i 64(a0) */
        };
        assert_int_equal(vm_run(&vm, code, COUNT(code)), DV_EXIT_ECALL_VS);
        assert_int_equal(reg(&vm, 12), 0);
        assert_int_equal(reg(&vm, 13), 0);
        assert_int_equal(reg(&vm, 14), 0);
        for (unsigned r = 5; r < 32; r++)
            if (r < 12 || r > 14)
                assert_int_equal(reg(&vm, r), 0x1000 + r);
        assert_int_equal(reg(&vm, 1), 0); /* c.mop.1 does not write x1 */
        vm_close(&vm);
    }
    struct insn d;
    decode(0x6201, &d); /* c.lui x4,0: still reserved (c.mop takes odd x1..x15) */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(0x02054673, &d); /* hlv.b a2,(a0): still a hypervisor instruction */
    assert_int_equal(d.op, OP_HYPERVISOR);
}

/* --- Zicbom, Zicboz -------------------------------------------------------------------------- */

#define CBO(imm, rs1) ((uint32_t)(imm) << 20 | (uint32_t)(rs1) << 15 | 2u << 12 | 0x0f)
#define CBO_ZERO_A0   CBO(4, 10)
#define JAL(rd, off)                                                                               \
    ((uint32_t)((off) >> 20 & 1) << 31 | (uint32_t)((off) >> 1 & 0x3ff) << 21 |                    \
     (uint32_t)((off) >> 11 & 1) << 20 | (uint32_t)((off) >> 12 & 0xff) << 12 | (rd) << 7 | 0x6f)
#define HANDLER_OFF 0x100u /* guest trap handler: li a3,9; ecall */

static void set_handler(struct vm *vm)
{
    const uint32_t handler[] = {0x00900693 /* li a3,9 */, 0x00000073};
    memcpy(vm->ram + HANDLER_OFF, handler, sizeof(handler));
    dv_csr_write(vm->h, DV_CSR_HUVSTVEC, RAM_GPA + HANDLER_OFF);
}

static void test_cbo_zero(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        memset(vm.ram + DATA_OFF, 0xa5, 256);
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF + 64 + 13); /* inside the second block */
        const uint32_t code[] = {CBO_ZERO_A0, CBO(0, 10), CBO(1, 10), CBO(2, 10)};
        assert_int_equal(vm_run(&vm, code, COUNT(code)), DV_EXIT_ECALL_VS);
        for (unsigned i = 0; i < 256; i++)
            if (vm.ram[DATA_OFF + i] != (i >= 64 && i < 128 ? 0 : 0xa5))
                fail_msg("%s: byte %u is %02x", jit ? "jit" : "interp", i, vm.ram[DATA_OFF + i]);

        /* a block not in the G-stage: a store guest-page fault at the block, for the
           hypervisor to map (or, with no device to take it, give an access fault) */
        dv_gpr_set(vm.h, 10, 0x90000000ull + 0x1234);
        assert_int_equal(vm_run(&vm, code, 1), DV_EXIT_STORE_GUEST_PAGE_FAULT);
        assert_int_equal(csr(&vm, DV_CSR_UTVAL), 0x90001200ull);
        assert_int_equal(csr(&vm, DV_CSR_HUTINST), 0); /* not a load or store to emulate */
        const uint32_t clean[] = {CBO(1, 10)};
        assert_int_equal(vm_run(&vm, clean, 1), DV_EXIT_STORE_GUEST_PAGE_FAULT);
        assert_int_equal(csr(&vm, DV_CSR_UEPC), RAM_GPA);
        vm_close(&vm);
    }
}

/* cbo.zero over code already translated: the JIT must not run the old code. */
static void test_cbo_zero_code(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        set_handler(&vm);
        uint32_t code[0x48 / 4] = {
            0x00000517,    /* 0x00 auipc a0,0 */
            0x04050513,    /* 0x04 addi a0,a0,64 */
            JAL(1u, 0x38), /* 0x08 jal ra,0x40 */
            CBO_ZERO_A0,   /* 0x0c */
            JAL(1u, 0x30), /* 0x10 jal ra,0x40: now zeros, an illegal instruction */
        };
        code[0x40 / 4] = 0x00160613; /* addi a2,a2,1 */
        code[0x44 / 4] = 0x00008067; /* ret */
        assert_int_equal(vm_run(&vm, code, COUNT(code)), DV_EXIT_ECALL_VS);
        assert_int_equal(reg(&vm, 12), 1);
        assert_int_equal(reg(&vm, 13), 9);
        assert_int_equal(csr(&vm, DV_CSR_HUVSCAUSE), 2);
        assert_int_equal(csr(&vm, DV_CSR_HUVSEPC), RAM_GPA + 0x40);
        vm_close(&vm);
    }
}

/* VU-mode: senvcfg's enables; disabled is a virtual-instruction exception. */
static void test_cbo_envcfg(void **state)
{
    (void)state;
    const struct {
        uint32_t insn;
        uint64_t enable;
    } c[] = {
        {CBO_ZERO_A0, SENVCFG_CBZE}, {CBO(1, 10), SENVCFG_CBCFE}, {CBO(2, 10), SENVCFG_CBCFE},
        {CBO(0, 10), 1ull << 4},     {CBO(0, 10), 3ull << 4},
    };
    for (int jit = 0; jit < 2; jit++)
        for (size_t i = 0; i < COUNT(c); i++) {
            struct vm vm;
            vm_open(&vm, jit);
            dv_csr_write(vm.h, DV_CSR_HUSTATUS, 0); /* VU; its ecall goes to the VS handler */
            set_handler(&vm);
            dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
            dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, ~c[i].enable);
            assert_int_equal(vm_run(&vm, &c[i].insn, 1), DV_EXIT_VIRTUAL_INSTRUCTION);
            assert_int_equal(csr(&vm, DV_CSR_UTVAL), c[i].insn);
            dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, c[i].enable);
            assert_int_equal(vm_run(&vm, &c[i].insn, 1), DV_EXIT_ECALL_VS);
            assert_int_equal(csr(&vm, DV_CSR_HUVSCAUSE), EXC_ECALL_U); /* it ran, then ecall */
            vm_close(&vm);
        }
    struct vm vm;
    vm_open(&vm, false);
    dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, ~0ull);
    assert_int_equal(csr(&vm, DV_CSR_GUEST_SENVCFG),
                     0x3000000f1ull); /* PMM 11 (Ssnpm), CBZE CBCFE CBIE 11, FIOM */
    dv_csr_write(vm.h, DV_CSR_GUEST_SENVCFG, 2ull << 4); /* CBIE 10 is reserved */
    assert_int_equal(csr(&vm, DV_CSR_GUEST_SENVCFG), 0);
    vm_close(&vm);
}

/* --- Zacas, Zabha ---------------------------------------------------------------------------- */

#define AMO(f5, f3, rd, rs1, rs2)                                                                  \
    ((uint32_t)(f5) << 27 | (uint32_t)(rs2) << 20 | (uint32_t)(rs1) << 15 | (uint32_t)(f3) << 12 | \
     (uint32_t)(rd) << 7 | 0x2f)

static void test_zabha_zacas(void **state)
{
    (void)state;
    const struct {
        uint32_t insn;     /* a2 = op(mem at a0, a1), a2 also the compare value of amocas */
        uint64_t a1, a2;   /* register inputs */
        uint64_t want_a2;  /* old value, sign-extended */
        uint64_t want_mem; /* the 8 bytes at a0 afterwards */
        const char *name;
    } c[] = {
        /* memory starts as 0x11223344556677f0 */
        {AMO(0x00, 0, 12, 10, 11), 0x20, 0, 0xfffffffffffffff0ull, 0x1122334455667710ull,
         "amoadd.b wraps in its byte"},
        {AMO(0x00, 1, 12, 10, 11), 0x1000, 0, 0x77f0, 0x11223344556687f0ull, "amoadd.h"},
        {AMO(0x10, 0, 12, 10, 11), 0x01, 0, 0xfffffffffffffff0ull, 0x11223344556677f0ull,
         "amomin.b signed"},
        {AMO(0x18, 0, 12, 10, 11), 0x01, 0, 0xfffffffffffffff0ull, 0x1122334455667701ull,
         "amominu.b"},
        {AMO(0x14, 1, 12, 10, 11), 0x8000, 0, 0x77f0, 0x11223344556677f0ull, "amomax.h"},
        {AMO(0x1c, 1, 12, 10, 11), 0x8000, 0, 0x77f0, 0x1122334455668000ull, "amomaxu.h"},
        {AMO(0x01, 0, 12, 10, 11), 0x1ab, 0, 0xfffffffffffffff0ull, 0x11223344556677abull,
         "amoswap.b"},
        {AMO(0x0c, 1, 12, 10, 11), 0x0ff0, 0, 0x77f0, 0x11223344556607f0ull, "amoand.h"},
        {AMO(0x08, 0, 12, 10, 11), 0x0f, 0, 0xfffffffffffffff0ull, 0x11223344556677ffull,
         "amoor.b"},
        {AMO(0x04, 1, 12, 10, 11), 0xffff, 0, 0x77f0, 0x112233445566880full, "amoxor.h"},
        {AMO(0x05, 0, 12, 10, 11), 0x99, 0xf0, 0xfffffffffffffff0ull, 0x1122334455667799ull,
         "amocas.b hit"},
        {AMO(0x05, 0, 12, 10, 11), 0x99, 0x1f0, 0xfffffffffffffff0ull, 0x1122334455667799ull,
         "amocas.b compares 8 bits"},
        {AMO(0x05, 1, 12, 10, 11), 0x99, 0x77f1, 0x77f0, 0x11223344556677f0ull, "amocas.h miss"},
        {AMO(0x05, 2, 12, 10, 11), 0xdeadbeef, 0x556677f0, 0x556677f0, 0x11223344deadbeefull,
         "amocas.w hit"},
        {AMO(0x05, 2, 12, 10, 11), 0xdeadbeef, 0x55667700, 0x556677f0, 0x11223344556677f0ull,
         "amocas.w miss"},
        {AMO(0x05, 3, 12, 10, 11), 1, 0x11223344556677f0ull, 0x11223344556677f0ull, 1,
         "amocas.d hit"},
        {AMO(0x05, 3, 12, 10, 11), 1, 0, 0x11223344556677f0ull, 0x11223344556677f0ull,
         "amocas.d miss"},
    };
    for (int jit = 0; jit < 2; jit++)
        for (size_t i = 0; i < COUNT(c); i++) {
            struct vm vm;
            vm_open(&vm, jit);
            const uint64_t init = 0x11223344556677f0ull;
            memcpy(vm.ram + DATA_OFF, &init, 8);
            dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
            dv_gpr_set(vm.h, 11, c[i].a1);
            dv_gpr_set(vm.h, 12, c[i].a2);
            assert_int_equal(vm_run(&vm, &c[i].insn, 1), DV_EXIT_ECALL_VS);
            uint64_t mem;
            memcpy(&mem, vm.ram + DATA_OFF, 8);
            if (reg(&vm, 12) != c[i].want_a2 || mem != c[i].want_mem)
                fail_msg("%s on %s: a2 %016llx memory %016llx", c[i].name, jit ? "jit" : "interp",
                         (unsigned long long)reg(&vm, 12), (unsigned long long)mem);
            vm_close(&vm);
        }
}

static void test_amocas_q(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        set_handler(&vm);
        const uint64_t init[2] = {0x1111, 0x2222};
        memcpy(vm.ram + DATA_OFF, init, 16);
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
        /* amocas.q a2,a4,(a0): a2/a3 compare, a4/a5 swap in */
        const uint32_t cas = AMO(0x05, 4, 12, 10, 14);
        dv_gpr_set(vm.h, 12, 0x1111);
        dv_gpr_set(vm.h, 13, 0x2222);
        dv_gpr_set(vm.h, 14, 0x3333);
        dv_gpr_set(vm.h, 15, 0x4444);
        assert_int_equal(vm_run(&vm, &cas, 1), DV_EXIT_ECALL_VS);
        uint64_t mem[2];
        memcpy(mem, vm.ram + DATA_OFF, 16);
        assert_int_equal(mem[0], 0x3333);
        assert_int_equal(mem[1], 0x4444);
        assert_int_equal(reg(&vm, 12), 0x1111);
        assert_int_equal(reg(&vm, 13), 0x2222);
        /* a miss: memory unchanged, the pair gets what memory held */
        assert_int_equal(vm_run(&vm, &cas, 1), DV_EXIT_ECALL_VS);
        memcpy(mem, vm.ram + DATA_OFF, 16);
        assert_int_equal(mem[0], 0x3333);
        assert_int_equal(reg(&vm, 12), 0x3333);
        assert_int_equal(reg(&vm, 13), 0x4444);
        /* rd = x0: compares with zero, writes neither x0 nor x1 */
        dv_gpr_set(vm.h, 1, 0x77);
        const uint32_t cas0 = AMO(0x05, 4, 0, 10, 14);
        assert_int_equal(vm_run(&vm, &cas0, 1), DV_EXIT_ECALL_VS);
        assert_int_equal(reg(&vm, 1), 0x77);
        /* 8-aligned is misaligned for a quadword: a store misaligned exception in the guest */
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF + 8);
        assert_int_equal(vm_run(&vm, &cas, 1), DV_EXIT_ECALL_VS);
        assert_int_equal(reg(&vm, 13), 9); /* the guest's handler ran */
        assert_int_equal(csr(&vm, DV_CSR_HUVSCAUSE), EXC_STORE_MISALIGNED);
        vm_close(&vm);
    }
    struct insn d;
    decode(AMO(0x05, 4, 13, 10, 14), &d); /* odd rd */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(AMO(0x05, 4, 12, 10, 15), &d); /* odd rs2 */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(AMO(0x02, 0, 12, 10, 0), &d); /* lr.b does not exist */
    assert_int_equal(d.op, OP_ILLEGAL);
    decode(AMO(0x05, 5, 12, 10, 14), &d);
    assert_int_equal(d.op, OP_ILLEGAL);
}

/* Two vCPU threads, each adding 1 to a halfword (amoadd.h) and to a doubleword
   (an amocas.d retry loop) many times: no update may be lost. */
#define ATOMIC_ROUNDS 20000

struct racer {
    struct dv_hart *h;
    uint64_t exit;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->exit = dv_enter(r->h);
    return NULL;
}

static void test_atomic_across_harts(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        uint8_t *ram =
            mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        assert_true(ram != MAP_FAILED);
        struct dv_machine *m = dv_machine_create(2);
        struct dv_engine_config e = {.jit = jit, .threshold = 1, .max_region = 64};
        assert_int_equal(dv_machine_set_engine(m, &e), DV_OK);
        assert_int_equal(dv_machine_add_window(m, ram, RAM_SIZE), DV_OK);
        struct gstage *g = gstage_create(DV_HUGATP_MODE_SV39X4);
        assert_int_equal(gstage_map(g, RAM_GPA, ram, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X), 0);
        const uint32_t code[] = {
            /* a0 = the halfword, a4 = the doubleword, a1 = 1, t0 = rounds */
            AMO(0x00, 1, 0, 10, 11),  /* 0x00 amoadd.h x0,a1,(a0) */
            0x00073603,               /* 0x04 ld a2,0(a4) */
            0x00160693,               /* 0x08 1: addi a3,a2,1 */
            0x00000013,               /* 0x0c nop */
            0x00060793,               /* 0x10 mv a5,a2 */
            AMO(0x05, 3, 12, 14, 13), /* 0x14 amocas.d a2,a3,(a4) */
            0xfec798e3,               /* 0x18 bne a5,a2,1b (back to 0x08) */
            0xfff28293,               /* 0x1c addi t0,t0,-1 */
            0xfe0290e3,               /* 0x20 bnez t0, 0x00 */
            0x00000073,               /* 0x24 ecall */
        };
        memcpy(ram, code, sizeof(code));
        struct racer r[2];
        pthread_t t[2];
        for (unsigned i = 0; i < 2; i++) {
            r[i].h = dv_hart_create(m, i);
            assert_int_equal(dv_csr_write(r[i].h, DV_CSR_HUGATP, gstage_hugatp(g, 1)), DV_OK);
            dv_csr_write(r[i].h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPVP);
            dv_csr_write(r[i].h, DV_CSR_UEPC, RAM_GPA);
            dv_gpr_set(r[i].h, 10, RAM_GPA + DATA_OFF + 6); /* the halfword is the block's last */
            dv_gpr_set(r[i].h, 14, RAM_GPA + DATA_OFF + 16);
            dv_gpr_set(r[i].h, 11, 1);
            dv_gpr_set(r[i].h, 5, ATOMIC_ROUNDS);
        }
        for (unsigned i = 0; i < 2; i++)
            assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
        for (unsigned i = 0; i < 2; i++) {
            pthread_join(t[i], NULL);
            while (r[i].exit != DV_EXIT_ECALL_VS) { /* timer or other exits: carry on */
                assert_true(r[i].exit & DV_CAUSE_INTERRUPT);
                r[i].exit = dv_enter(r[i].h);
            }
        }
        uint16_t half;
        uint64_t dword;
        memcpy(&half, ram + DATA_OFF + 6, 2);
        memcpy(&dword, ram + DATA_OFF + 16, 8);
        assert_int_equal(half, 2 * ATOMIC_ROUNDS);
        assert_int_equal(ram[DATA_OFF + 5], 0); /* the neighbours are untouched */
        assert_int_equal(ram[DATA_OFF + 8], 0);
        assert_int_equal(dword, 2 * ATOMIC_ROUNDS);
        for (unsigned i = 0; i < 2; i++)
            dv_hart_destroy(r[i].h);
        gstage_destroy(g);
        dv_machine_destroy(m);
        munmap(ram, RAM_SIZE);
    }
}

/* --- Zawrs ----------------------------------------------------------------------------------- */

#define WRS_NTO 0x00d00073u
#define WRS_STO 0x01d00073u
#define LR_W_A2 AMO(0x02, 2, 12, 10, 0)

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void test_wrs_timeouts(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        dv_csr_write(vm.h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPVP | DV_HUSTATUS_VTW);
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
        /* no reservation: nothing to wait for, done at once even under VTW */
        const uint32_t nto[] = {WRS_NTO};
        assert_int_equal(vm_run(&vm, nto, 1), DV_EXIT_ECALL_VS);
        /* a reservation nobody breaks: sto completes after a short while, nto times
           out into a virtual-instruction exception under VTW */
        const uint32_t sto_code[] = {LR_W_A2, WRS_STO};
        assert_int_equal(vm_run(&vm, sto_code, COUNT(sto_code)), DV_EXIT_ECALL_VS);
        const uint32_t nto_code[] = {LR_W_A2, WRS_NTO};
        uint64_t t0 = now_ns(CLOCK_MONOTONIC);
        assert_int_equal(vm_run(&vm, nto_code, COUNT(nto_code)), DV_EXIT_VIRTUAL_INSTRUCTION);
        assert_true(now_ns(CLOCK_MONOTONIC) - t0 >= WRS_NTO_NS);
        assert_int_equal(csr(&vm, DV_CSR_UTVAL), WRS_NTO);
        assert_int_equal(csr(&vm, DV_CSR_UEPC), RAM_GPA + 4);
        /* without VTW the same wait just ends */
        dv_csr_write(vm.h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPVP);
        assert_int_equal(vm_run(&vm, nto_code, COUNT(nto_code)), DV_EXIT_ECALL_VS);
        vm_close(&vm);
    }
}

struct storer {
    uint32_t *word;
    unsigned delay_ms;
};

static void *store_later(void *arg)
{
    struct storer *s = arg;
    struct timespec d = {.tv_sec = 0, .tv_nsec = (long)s->delay_ms * 1000000};
    nanosleep(&d, NULL);
    __atomic_store_n(s->word, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* A guest waiting for a flag with lr.w + wrs.nto sees another thread's store,
   and sleeps rather than spins while it waits. */
static void test_wrs_wakes_on_store(void **state)
{
    (void)state;
    const uint32_t code[] = {
        LR_W_A2,    /* 1: lr.w a2,(a0) */
        0x00061663, /* bnez a2,2f */
        WRS_NTO,    /* wrs.nto */
        0xff5ff06f, /* j 1b */
        0x00000073, /* 2: ecall */
    };
    for (int jit = 0; jit < 2; jit++) {
        struct vm vm;
        vm_open(&vm, jit);
        dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
        struct storer st = {.word = (uint32_t *)(vm.ram + DATA_OFF), .delay_ms = 40};
        pthread_t t;
        uint64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
        assert_int_equal(pthread_create(&t, NULL, store_later, &st), 0);
        uint64_t exit = vm_run(&vm, code, COUNT(code));
        while (exit != DV_EXIT_ECALL_VS) {
            assert_true(exit & DV_CAUSE_INTERRUPT);
            exit = dv_enter(vm.h);
        }
        uint64_t wall = now_ns(CLOCK_MONOTONIC) - wall0,
                 cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
        pthread_join(t, NULL);
        assert_int_equal(reg(&vm, 12), 1);
        assert_true(wall >= 40000000ull);
        print_message("# wrs.nto on %s: %llu us of CPU in %llu us of waiting\n",
                      jit ? "jit" : "interp", (unsigned long long)cpu / 1000,
                      (unsigned long long)wall / 1000);
        if (cpu * 4 > wall)
            fail_msg("%s: %llu us of CPU in %llu us of waiting", jit ? "jit" : "interp",
                     (unsigned long long)cpu / 1000, (unsigned long long)wall / 1000);
        vm_close(&vm);
    }
}
/* --- Zfh and Zfa on the hart: decoding, NaN-boxing, rm rules, both engines ------------------- */

/* OP-FP rd, rs1, rs2 with funct7 (funct5 and fmt) and rm */
#define FPOP(f7, rs2, rs1, rm, rd)                                                                 \
    ((uint32_t)(f7) << 25 | (uint32_t)(rs2) << 20 | (uint32_t)(rs1) << 15 | (uint32_t)(rm) << 12 | \
     (uint32_t)(rd) << 7 | 0x53u)
#define FLI(fmt, idx) FPOP(0x78 | (fmt), 1, idx, 0, 2) /* fli.fmt f2, idx */
#define BOX16(h)      (0xffffffffffff0000ull | (h))
#define BOX32(s)      (0xffffffff00000000ull | (s))
#define FS_INITIAL    (1ull << 13)
#define ILLEGAL_INSN  0xbad0bad0bad0bad0ull /* want: the instruction traps as illegal */

struct case_fp {
    uint32_t insn; /* sources f0, f1 (or a0); result f2, or a2 for rd = 12 */
    uint64_t f0, f1, a0, frm, want;
    unsigned flags;
    const char *name;
};

static void check_fp_cases(const struct case_fp *c, size_t n)
{
    for (int jit = 0; jit < 2; jit++) {
        for (size_t i = 0; i < n; i++) {
            struct vm vm;
            vm_open(&vm, jit);
            set_handler(&vm);
            dv_csr_write(vm.h, DV_CSR_HUVSSTATUS, FS_INITIAL);
            dv_csr_write(vm.h, DV_CSR_FCSR, c[i].frm << 5);
            dv_fpr_set(vm.h, 0, c[i].f0);
            dv_fpr_set(vm.h, 1, c[i].f1);
            dv_fpr_set(vm.h, 2, 0x5555);
            dv_gpr_set(vm.h, 10, c[i].a0);
            const uint32_t code[] = {c[i].insn};
            uint64_t exit = vm_run(&vm, code, COUNT(code));
            bool to_x = ((c[i].insn >> 7) & 31) == 12;
            uint64_t got = to_x ? reg(&vm, 12) : dv_fpr_get(vm.h, 2);
            unsigned flags = (unsigned)(csr(&vm, DV_CSR_FCSR) & 31);
            bool illegal = reg(&vm, 13) == 9 && csr(&vm, DV_CSR_HUVSCAUSE) == 2;
            bool ok = c[i].want == ILLEGAL_INSN
                          ? illegal
                          : !illegal && got == c[i].want && flags == c[i].flags;
            if (exit != DV_EXIT_ECALL_VS || !ok)
                fail_msg("%s (%08x) on %s: exit %llu illegal %d, got %016llx flags %x, want "
                         "%016llx flags %x",
                         c[i].name, c[i].insn, jit ? "jit" : "interp", (unsigned long long)exit,
                         illegal, (unsigned long long)got, flags, (unsigned long long)c[i].want,
                         c[i].flags);
            vm_close(&vm);
        }
    }
}

static void test_zfh_zfa_on_hart(void **state)
{
    (void)state;
    const uint64_t one_d = 0x3ff0000000000000ull, one_s = BOX32(0x3f800000), one_h = BOX16(0x3c00);
    const struct case_fp c[] = {
        /* Zfh: a half that is not NaN-boxed reads as the canonical NaN */
        {FPOP(0x02, 1, 0, 0, 2), 0x3c00, one_h, 0, 0, BOX16(0x7e00), 0, "fadd.h unboxed"},
        {FPOP(0x02, 1, 0, 0, 2), 0xfffeffffffff3c00ull, one_h, 0, 0, BOX16(0x7e00), 0,
         "fadd.h almost boxed"},
        {FPOP(0x02, 1, 0, 0, 2), one_h, one_h, 0, 0, BOX16(0x4000), 0, "fadd.h"},
        {FPOP(0x02, 1, 0, 7, 2), BOX16(0x7bff), BOX16(0x7bff), 0, 1, BOX16(0x7bff), 5,
         "fadd.h dyn rtz overflow"},
        {FPOP(0x02, 1, 0, 7, 2), one_h, one_h, 0, 5, ILLEGAL_INSN, 0, "fadd.h dyn frm 5"},
        {FPOP(0x02, 1, 0, 6, 2), one_h, one_h, 0, 0, ILLEGAL_INSN, 0, "fadd.h rm 6"},
        {FPOP(0x20, 2, 0, 0, 2), BOX16(0x0001), 0, 0, 0, BOX32(0x33800000), 0, "fcvt.s.h"},
        {FPOP(0x22, 1, 0, 0, 2), 0x3ff0020000001000ull, 0, 0, 0, BOX16(0x3c01), 1, "fcvt.h.d"},
        {FPOP(0x22, 0, 0, 3, 2), BOX32(0x387ff000), 0, 0, 0, BOX16(0x0400), 1, "fcvt.h.s rup"},
        {FPOP(0x21, 2, 0, 0, 2), BOX16(0x7d00), 0, 0, 0, 0x7ff8000000000000ull, 16,
         "fcvt.d.h snan"},
        {FPOP(0x72, 0, 0, 0, 12), 0x123456789abc8001ull, 0, 0, 0, 0xffffffffffff8001ull, 0,
         "fmv.x.h raw bits"},
        {FPOP(0x7a, 0, 10, 0, 2), 0, 0, 0xdead1234, 0, BOX16(0x1234), 0, "fmv.h.x"},
        {FPOP(0x6a, 0, 10, 1, 2), 0, 0, 65520, 0, BOX16(0x7bff), 1, "fcvt.h.w rtz"},
        {FPOP(0x62, 0, 0, 1, 12), BOX16(0xfc00), 0, 0, 0, 0xffffffff80000000ull, 16,
         "fcvt.w.h -inf"},
        {FPOP(0x52, 1, 0, 0, 12), BOX16(0x7e00), one_h, 0, 0, 0, 16, "fle.h qnan"},
        {FPOP(0x72, 0, 0, 1, 12), BOX16(0x0001), 0, 0, 0, 1u << 5, 0, "fclass.h subnormal"},
        {FPOP(0x03, 0, 0, 0, 2), one_h, one_h, 0, 0, ILLEGAL_INSN, 0, "fmt Q"},
        /* Zfa */
        {FLI(2, 2), 0, 0, 0, 0, BOX16(0x0100), 0, "fli.h 2^-16 (subnormal)"},
        {FLI(2, 29), 0, 0, 0, 0, BOX16(0x7c00), 0, "fli.h 2^16 = inf"},
        {FLI(0, 31), 0, 0, 0, 0, BOX32(0x7fc00000), 0, "fli.s nan"},
        {FLI(1, 1), 0, 0, 0, 0, 0x0010000000000000ull, 0, "fli.d min"},
        {FLI(1, 29), 0, 0, 0, 0, 0x40f0000000000000ull, 0, "fli.d 2^16"},
        {FPOP(0x78, 1, 0, 1, 2), 0, 0, 0, 0, ILLEGAL_INSN, 0, "fli.s rm 1"},
        {FPOP(0x16, 1, 0, 2, 2), BOX16(0x7d00), one_h, 0, 0, BOX16(0x7e00), 16, "fminm.h snan"},
        {FPOP(0x15, 1, 0, 3, 2), 0x8000000000000000ull, 0, 0, 0, 0, 0, "fmaxm.d -0 +0"},
        {FPOP(0x14, 1, 0, 3, 2), 0x3f800000, one_s, 0, 0, BOX32(0x7fc00000), 0, "fmaxm.s unboxed"},
        {FPOP(0x14, 1, 0, 2, 2), BOX32(0x7fc00001), one_s, 0, 0, BOX32(0x7fc00000), 0,
         "fminm.s qnan"},
        {FPOP(0x21, 4, 0, 3, 2), 0x4004000000000000ull, 0, 0, 0, 0x4008000000000000ull, 0,
         "fround.d rup 2.5"},
        {FPOP(0x22, 5, 0, 7, 2), BOX16(0x4100), 0, 0, 4, BOX16(0x4200), 1, "froundnx.h dyn rmm"},
        {FPOP(0x20, 4, 0, 0, 2), BOX32(0x7f800001), 0, 0, 0, BOX32(0x7fc00000), 16,
         "fround.s snan"},
        {FPOP(0x20, 5, 0, 5, 2), one_s, 0, 0, 0, ILLEGAL_INSN, 0, "froundnx.s rm 5"},
        {FPOP(0x20, 6, 0, 0, 2), one_s, 0, 0, 0, ILLEGAL_INSN, 0, "fcvt rs2 6"},
        {FPOP(0x61, 8, 0, 1, 12), 0x41e65a0bc0000000ull, 0, 0, 0, 0xffffffffb2d05e00ull, 16,
         "fcvtmod.w.d 3e9"},
        {FPOP(0x61, 8, 0, 1, 12), 0xbff8000000000000ull, 0, 0, 0, ~0ull, 1, "fcvtmod.w.d -1.5"},
        {FPOP(0x61, 8, 0, 0, 12), one_d, 0, 0, 0, ILLEGAL_INSN, 0, "fcvtmod.w.d rne"},
        {FPOP(0x61, 8, 0, 7, 12), one_d, 0, 0, 1, ILLEGAL_INSN, 0, "fcvtmod.w.d dyn"},
        {FPOP(0x60, 8, 0, 1, 12), one_s, 0, 0, 0, ILLEGAL_INSN, 0, "fcvtmod.w.s"},
        {FPOP(0x52, 1, 0, 4, 12), BOX16(0x7e00), one_h, 0, 0, 0, 0, "fleq.h qnan"},
        {FPOP(0x51, 1, 0, 5, 12), 0x7ff4000000000000ull, one_d, 0, 0, 0, 16, "fltq.d snan"},
        {FPOP(0x50, 1, 0, 5, 12), BOX32(0xbf800000), one_s, 0, 0, 1, 0, "fltq.s"},
        {FPOP(0x50, 1, 0, 4, 12), BOX32(0x80000000), BOX32(0), 0, 0, 1, 0, "fleq.s -0 +0"},
        {FPOP(0x50, 1, 0, 6, 12), one_s, one_s, 0, 0, ILLEGAL_INSN, 0, "fle funct3 6"},
        /* RV32-only moves */
        {FPOP(0x71, 1, 0, 0, 12), one_d, 0, 0, 0, ILLEGAL_INSN, 0, "fmvh.x.d"},
        {FPOP(0x59, 1, 10, 0, 2), 0, 0, 0, 0, ILLEGAL_INSN, 0, "fmvp.d.x"},
    };
    check_fp_cases(c, COUNT(c));
}

/* flh NaN-boxes, fsh stores two bytes; with FS Off both and the arithmetic are illegal */
static void test_zfh_loads_stores(void **state)
{
    (void)state;
    const uint32_t flh = 0u << 20 | 10u << 15 | 1u << 12 | 2u << 7 | 0x07u; /* flh f2,0(a0) */
    const uint32_t fsh =
        0u << 25 | 1u << 20 | 10u << 15 | 1u << 12 | 8u << 7 | 0x27u; /* fsh f1,8(a0) */
    for (int jit = 0; jit < 2; jit++) {
        for (int fs_on = 0; fs_on < 2; fs_on++) {
            struct vm vm;
            vm_open(&vm, jit);
            set_handler(&vm);
            dv_csr_write(vm.h, DV_CSR_HUVSSTATUS, fs_on ? FS_INITIAL : 0);
            memset(vm.ram + DATA_OFF, 0xa5, 16);
            vm.ram[DATA_OFF] = 0x34, vm.ram[DATA_OFF + 1] = 0x92;
            dv_gpr_set(vm.h, 10, RAM_GPA + DATA_OFF);
            dv_fpr_set(vm.h, 1, 0x1111222233334444ull);
            const uint32_t code[] = {flh, fsh, 0x00100693 /* li a3,1 */};
            assert_int_equal(vm_run(&vm, code, COUNT(code)), DV_EXIT_ECALL_VS);
            if (fs_on) {
                assert_int_equal(reg(&vm, 13), 1);
                assert_int_equal(dv_fpr_get(vm.h, 2), 0xffffffffffff9234ull);
                assert_int_equal(vm.ram[DATA_OFF + 8], 0x44);
                assert_int_equal(vm.ram[DATA_OFF + 9], 0x44);
                assert_int_equal(vm.ram[DATA_OFF + 10], 0xa5);
                assert_int_equal(vm.ram[DATA_OFF + 7], 0xa5);
                assert_int_equal(csr(&vm, DV_CSR_HUVSSTATUS) & SSTATUS_FS, SSTATUS_FS_DIRTY);
            } else {
                assert_int_equal(reg(&vm, 13), 9);
                assert_int_equal(csr(&vm, DV_CSR_HUVSCAUSE), 2);
                assert_int_equal(csr(&vm, DV_CSR_HUVSEPC), RAM_GPA);
            }
            vm_close(&vm);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zicond),
        cmocka_unit_test(test_zbc_zbkb_zbkx),
        cmocka_unit_test(test_sboxes),
        cmocka_unit_test(test_aes128_fips197),
        cmocka_unit_test(test_aes_on_hart),
        cmocka_unit_test(test_sha256_abc),
        cmocka_unit_test(test_sha512_abc),
        cmocka_unit_test(test_sha_on_hart),
        cmocka_unit_test(test_sm3_abc),
        cmocka_unit_test(test_sm4_example),
        cmocka_unit_test(test_zcb),
        cmocka_unit_test(test_mops_and_hints),
        cmocka_unit_test(test_cbo_zero),
        cmocka_unit_test(test_cbo_zero_code),
        cmocka_unit_test(test_cbo_envcfg),
        cmocka_unit_test(test_zabha_zacas),
        cmocka_unit_test(test_amocas_q),
        cmocka_unit_test(test_atomic_across_harts),
        cmocka_unit_test(test_wrs_timeouts),
        cmocka_unit_test(test_wrs_wakes_on_store),
        cmocka_unit_test(test_zfh_zfa_on_hart),
        cmocka_unit_test(test_zfh_loads_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
