/*
 * vecbench: the V extension's benchmark kernels, for bench/vector.sh. Each is
 * timed inside the guest with CLOCK_MONOTONIC and followed by a checksum, so
 * a run on duvisor is compared with the same binary under QEMU both for
 * speed and for correctness:
 *
 *   memcpy   16 MiB copied 8 times with vle8/vse8 at LMUL 8
 *   reduce   the sum of 4 Mi int32 elements, 16 passes (vadd, then vredsum)
 *   saxpy    y = a * x + y over 1 Mi floats, 32 passes (vfmacc)
 *
 *   vecbench [SCALE]      SCALE multiplies the passes (default 1)
 *
 * Prints "vecbench: KERNEL MS ms checksum C" per kernel; exit status 1 when
 * the hart has no V (the first vsetvli traps: SIGILL).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define COPY_BYTES  (16u << 20)
#define COPY_PASSES 8u
#define SUM_WORDS   (4u << 20)
#define SUM_PASSES  16u
#define AXPY_FLOATS (1u << 20)
#define AXPY_PASSES 32u

/* The default -march has no V: each kernel turns it on for its own asm. */
#define WITH_V(body) ".option push\n.option arch, +v\n" body ".option pop\n"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static uint64_t fnv(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i += 61) /* a sample of the bytes: the check, not the work */
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void vcopy(uint8_t *d, const uint8_t *s, size_t n)
{
    while (n) {
        size_t vl;
        __asm__ volatile(WITH_V("vsetvli %0, %1, e8, m8, ta, ma\n"
                                "vle8.v v8, (%2)\n"
                                "vse8.v v8, (%3)\n")
                         : "=&r"(vl)
                         : "r"(n), "r"(s), "r"(d)
                         : "memory");
        n -= vl;
        s += vl;
        d += vl;
    }
}

static int64_t vsum(const int32_t *p, size_t n)
{
    int64_t total = 0;
    size_t vlmax;
    /* v8..v15: running int32 sums, element-wise; reduced once at the end */
    __asm__ volatile(WITH_V("vsetvli %0, zero, e32, m8, ta, ma\n"
                            "vmv.v.i v8, 0\n")
                     : "=r"(vlmax));
    while (n) {
        size_t vl;
        __asm__ volatile(WITH_V("vsetvli %0, %1, e32, m8, tu, ma\n"
                                "vle32.v v16, (%2)\n"
                                "vadd.vv v8, v8, v16\n")
                         : "=&r"(vl)
                         : "r"(n), "r"(p)
                         : "memory");
        n -= vl;
        p += vl;
    }
    __asm__ volatile(WITH_V("vsetvli zero, %1, e32, m8, ta, ma\n"
                            "vmv.s.x v24, zero\n"
                            "vredsum.vs v24, v8, v24\n"
                            "vmv.x.s %0, v24\n")
                     : "=r"(total)
                     : "r"(vlmax));
    return total;
}

static void vsaxpy(float *y, const float *x, float a, size_t n)
{
    while (n) {
        size_t vl;
        __asm__ volatile(WITH_V("vsetvli %0, %1, e32, m8, ta, ma\n"
                                "vle32.v v8, (%2)\n"
                                "vle32.v v16, (%3)\n"
                                "vfmacc.vf v16, %4, v8\n"
                                "vse32.v v16, (%3)\n")
                         : "=&r"(vl)
                         : "r"(n), "r"(x), "r"(y), "f"(a)
                         : "memory");
        n -= vl;
        x += vl;
        y += vl;
    }
}

static void report(const char *name, double ms, uint64_t sum)
{
    printf("vecbench: %s %.1f ms checksum %016llx\n", name, ms, (unsigned long long)sum);
}

int main(int argc, char **argv)
{
    unsigned scale = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 0) : 1;
    if (!scale)
        scale = 1;
    uint8_t *src = malloc(COPY_BYTES), *dst = malloc(COPY_BYTES);
    int32_t *words = malloc(SUM_WORDS * sizeof(int32_t));
    float *x = malloc(AXPY_FLOATS * sizeof(float)), *y = malloc(AXPY_FLOATS * sizeof(float));
    if (!src || !dst || !words || !x || !y) {
        fprintf(stderr, "vecbench: out of memory\n");
        return 1;
    }
    uint64_t seed = 88172645463325252ull;
    for (size_t i = 0; i < COPY_BYTES; i++) {
        seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
        src[i] = (uint8_t)seed;
    }
    for (size_t i = 0; i < SUM_WORDS; i++)
        words[i] = (int32_t)(src[i % COPY_BYTES] * 257u) - 30000;
    for (size_t i = 0; i < AXPY_FLOATS; i++) {
        x[i] = (float)(src[i] % 100) / 8.0f;
        y[i] = (float)(src[i + 1] % 50) / 4.0f;
    }
    memset(dst, 0, COPY_BYTES);

    double t0 = now_ms();
    for (unsigned p = 0; p < COPY_PASSES * scale; p++)
        vcopy(dst, src, COPY_BYTES);
    report("memcpy", now_ms() - t0, fnv(dst, COPY_BYTES) ^ (uint64_t)memcmp(dst, src, COPY_BYTES));

    t0 = now_ms();
    int64_t total = 0;
    for (unsigned p = 0; p < SUM_PASSES * scale; p++)
        total += vsum(words, SUM_WORDS);
    report("reduce", now_ms() - t0, (uint64_t)total);

    t0 = now_ms();
    for (unsigned p = 0; p < AXPY_PASSES * scale; p++)
        vsaxpy(y, x, 0.5f, AXPY_FLOATS);
    report("saxpy", now_ms() - t0, fnv(y, AXPY_FLOATS * sizeof(float)));
    return 0;
}
