/*
 * cpubench: the guest CPU benchmark. Four kernels (integer, memory, branchy,
 * floating point), each timed inside the guest with CLOCK_MONOTONIC and
 * followed by a checksum, so that a run on duvisor can be compared with the
 * same binary under QEMU both for speed and for correctness.
 *
 *   cpubench [-j N] [SCALE [KERNEL...]]
 *
 * SCALE multiplies the work (default 1); KERNELs (integer, memory, branchy,
 * float) pick which kernels run, all by default. With -j N, N processes run
 * the kernels at the same time, copy i pinned to CPU i mod (online CPUs) so
 * that the guest scheduler's placement does not decide the result, and a
 * last line gives the wall time of the whole parallel run: bench/smp.sh
 * divides the work done by it to get the speed-up of N vCPUs.
 */
#define _GNU_SOURCE /* sched_setaffinity */
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Mixes adds, shifts, multiplies and divides: the ALU path. */
static uint64_t kernel_integer(unsigned scale)
{
    uint64_t x = 88172645463325252ull, acc = 0;
    for (unsigned long i = 0; i < 20000000ul * scale; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc += (x * 0x9e3779b97f4a7c15ull) >> 3;
        if ((i & 1023) == 0)
            acc ^= acc / ((x & 0xffff) | 1);
    }
    return acc;
}

/* A dependent pointer chase over 8 MiB (TLB and cache misses), then a streaming sum. */
static uint64_t kernel_memory(unsigned scale)
{
    const size_t n = (8u << 20) / sizeof(uint32_t);
    uint32_t *next = malloc(n * sizeof(*next));
    if (!next)
        return 0;
    for (size_t i = 0; i < n; i++)
        next[i] = (uint32_t)i;
    uint64_t seed = 42;
    for (size_t i = n - 1; i > 0; i--) { /* Sattolo: one cycle through every slot */
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        size_t j = (seed >> 33) % i;
        uint32_t t = next[i];
        next[i] = next[j];
        next[j] = t;
    }
    uint64_t acc = 0;
    uint32_t p = 0;
    for (unsigned long i = 0; i < 4000000ul * scale; i++) {
        p = next[p];
        acc += p;
    }
    for (unsigned r = 0; r < 4 * scale; r++)
        for (size_t i = 0; i < n; i++)
            acc += next[i] ^ r;
    free(next);
    return acc;
}

/* Data-dependent branches that a predictor cannot learn, plus a sieve. */
static uint64_t kernel_branchy(unsigned scale)
{
    uint64_t x = 0x2545f4914f6cdd1dull, acc = 0;
    for (unsigned long i = 0; i < 10000000ul * scale; i++) {
        x = x * 2862933555777941757ull + 3037000493ull;
        switch (x >> 61) {
        case 0: acc += 3; break;
        case 1: acc ^= x; break;
        case 2: acc -= i; break;
        case 3: acc = (acc << 1) | (acc >> 63); break;
        default:
            if (x & 0x10000)
                acc += x >> 40;
            else
                acc--;
        }
    }
    static unsigned char composite[1 << 20];
    for (unsigned r = 0; r < scale; r++) {
        for (size_t i = 0; i < sizeof(composite); i++)
            composite[i] = 0;
        for (size_t i = 2; i * i < sizeof(composite); i++)
            if (!composite[i])
                for (size_t j = i * i; j < sizeof(composite); j += i)
                    composite[j] = 1;
        for (size_t i = 2; i < sizeof(composite); i++)
            acc += !composite[i];
    }
    return acc;
}

/* Dense double-precision work: a matrix product and a Mandelbrot escape count. */
static uint64_t kernel_float(unsigned scale)
{
    enum { N = 96 };
    static double a[N][N], b[N][N], c[N][N];
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            a[i][j] = (i * 7 + j * 3) % 17 / 8.0;
            b[i][j] = (i * 5 + j * 11) % 13 / 4.0;
        }
    double trace = 0;
    for (unsigned r = 0; r < 4 * scale; r++) {
        for (int i = 0; i < N; i++)
            for (int j = 0; j < N; j++) {
                double s = 0;
                for (int k = 0; k < N; k++)
                    s += a[i][k] * b[k][j];
                c[i][j] = s;
            }
        for (int i = 0; i < N; i++)
            trace += c[i][i];
    }
    uint64_t escapes = 0;
    for (unsigned r = 0; r < scale; r++)
        for (int py = 0; py < 200; py++)
            for (int px = 0; px < 200; px++) {
                double cr = -2.0 + px * 0.0125, ci = -1.25 + py * 0.0125, zr = 0, zi = 0;
                int it = 0;
                while (it < 200 && zr * zr + zi * zi < 4.0) {
                    double t = zr * zr - zi * zi + cr;
                    zi = 2 * zr * zi + ci;
                    zr = t;
                    it++;
                }
                escapes += it;
            }
    return escapes ^ (uint64_t)trace;
}

static const struct {
    const char *name;
    uint64_t (*run)(unsigned);
} kernels[] = {
    {"integer", kernel_integer},
    {"memory", kernel_memory},
    {"branchy", kernel_branchy},
    {"float", kernel_float},
};
#define NKERNELS (sizeof(kernels) / sizeof(kernels[0]))

/* Run the chosen kernels in this process, one line each, then the total. */
static void run_kernels(unsigned scale, const int *chosen)
{
    double total = 0;
    for (size_t i = 0; i < NKERNELS; i++) {
        if (!chosen[i])
            continue;
        double t0 = now_ms();
        uint64_t sum = kernels[i].run(scale);
        double ms = now_ms() - t0;
        total += ms;
        printf("cpubench: %-8s %9.1f ms  checksum %016llx\n", kernels[i].name, ms,
               (unsigned long long)sum);
    }
    printf("cpubench: total    %9.1f ms\n", total);
    fflush(stdout);
}

int main(int argc, char **argv)
{
    int argi = 1;
    unsigned copies = 0; /* 0: no -j, run in this process */
    if (argi + 1 < argc && !strcmp(argv[argi], "-j")) {
        copies = (unsigned)strtoul(argv[argi + 1], NULL, 10);
        if (copies == 0 || copies > 64) {
            fprintf(stderr, "cpubench: -j takes 1..64\n");
            return 2;
        }
        argi += 2;
    }
    unsigned scale = argi < argc ? (unsigned)strtoul(argv[argi++], NULL, 10) : 1;
    if (scale == 0 || scale > 1000) {
        fprintf(stderr, "cpubench: SCALE must be 1..1000\n");
        return 2;
    }
    int chosen[NKERNELS] = {0};
    int any = 0;
    for (; argi < argc; argi++) {
        size_t k = 0;
        while (k < NKERNELS && strcmp(argv[argi], kernels[k].name))
            k++;
        if (k == NKERNELS) {
            fprintf(stderr, "cpubench: no kernel '%s' (integer, memory, branchy, float)\n",
                    argv[argi]);
            return 2;
        }
        chosen[k] = any = 1;
    }
    if (!any)
        for (size_t k = 0; k < NKERNELS; k++)
            chosen[k] = 1;
    if (!copies) {
        run_kernels(scale, chosen);
        return 0;
    }
    /* -j N: N processes at once, one per CPU as far as they go. */
    long ncpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (ncpus < 1)
        ncpus = 1;
    fflush(stdout);
    double t0 = now_ms();
    for (unsigned c = 0; c < copies; c++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("cpubench: fork");
            return 1;
        }
        if (pid == 0) {
            cpu_set_t set;
            CPU_ZERO(&set);
            CPU_SET(c % (unsigned long)ncpus, &set);
            if (sched_setaffinity(0, sizeof(set), &set) != 0)
                perror("cpubench: sched_setaffinity");
            run_kernels(scale, chosen);
            _exit(0);
        }
    }
    int status, failed = 0;
    while (wait(&status) > 0)
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    printf("cpubench: wall %u copies %9.1f ms\n", copies, now_ms() - t0);
    return failed;
}
