/*
 * make bench-hart: how fast the software DV-Ext hart runs guest code, and
 * what one VM exit round trip costs. A benchmark, not a test: the figures
 * are reported beside the targets, never asserted. It fails (exit 1) only
 * when the hart misbehaves: an exit the guest did not ask for, or a wrong
 * result.
 *
 * Usage: hart_bench DIR [KEY...], where DIR holds the guest images
 * (bench/hart/<name>.S, built by bench/bench.mk); KEYs (e.g. int_mips) pick
 * which benchmarks to run, all by default.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hart/dvext.h"
#include "hart/engine.h"
#include "vmm/gstage.h"
#include "hart/guest.h" /* bench/hart/guest.h, next to this file */

#define RUNS       3
#define WATCHDOG_S 60 /* a run still going after this ends in a UTIP exit */

enum unit { MIPS, NS_PER_EXIT };

struct bench {
    const char *key;   /* machine-readable name */
    const char *image; /* DIR/<image>.bin */
    const char *what;
    enum unit unit;
    uint64_t exits;  /* exits the guest makes before it reports DONE */
    uint64_t result; /* what it reports in a0 */
    double target;   /* MIPS: at least this; ns: under this; 0: none */
};

/* A one-hart VM: BENCH_RAM_SIZE of RAM at BENCH_RAM_BASE holding an image. */
struct vm {
    struct dv_machine *m;
    struct gstage *g;
    struct dv_hart *h;
    void *ram;
};

struct run {
    double seconds;
    uint64_t instret, exits, result;
    struct dv_engine_stats jit; /* what the JIT did in this run */
};

static void complain(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bench-hart: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static uint64_t csr(struct dv_hart *h, unsigned num)
{
    uint64_t v = 0;
    dv_csr_read(h, num, &v);
    return v;
}

static void vm_destroy(struct vm *vm)
{
    dv_hart_destroy(vm->h);
    dv_machine_destroy(vm->m);
    gstage_destroy(vm->g);
    if (vm->ram)
        munmap(vm->ram, BENCH_RAM_SIZE);
}

/* Load the image, map RAM R|W|X through Sv48x4, and leave the hart ready to
   enter the guest in VS mode at the image's first byte. */
static bool vm_create(struct vm *vm, const char *image)
{
    *vm = (struct vm){0};
    void *ram =
        mmap(NULL, BENCH_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ram == MAP_FAILED) {
        complain("cannot allocate guest RAM");
        return false;
    }
    vm->ram = ram;
    FILE *f = fopen(image, "rb");
    if (!f) {
        complain("cannot open %s", image);
        return false;
    }
    size_t n = fread(ram, 1, BENCH_RAM_SIZE, f);
    fclose(f);
    if (n == 0 || n == BENCH_RAM_SIZE) {
        complain("%s: empty, or too big for guest RAM", image);
        return false;
    }
    vm->m = dv_machine_create(1);
    vm->g = gstage_create(DV_HUGATP_MODE_SV48X4);
    if (!vm->m || !vm->g || dv_machine_add_window(vm->m, ram, BENCH_RAM_SIZE) != DV_OK ||
        gstage_map(vm->g, BENCH_RAM_BASE, ram, BENCH_RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X) ||
        !(vm->h = dv_hart_create(vm->m, 0))) {
        complain("cannot create the VM");
        return false;
    }
    struct dv_hart *h = vm->h;
    if (dv_csr_write(h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 1)) != DV_OK ||
        dv_csr_write(h, DV_CSR_UEPC, BENCH_RAM_BASE) != DV_OK ||
        dv_csr_write(h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP) != DV_OK ||
        dv_csr_write(h, DV_CSR_VTIMECMP, dv_host_time() + WATCHDOG_S * DV_TIMEBASE_HZ) != DV_OK ||
        dv_csr_write(h, DV_CSR_VTIMECTL, DV_VTIMECTL_ENABLE | DV_VTIMECTL_UTIP) != DV_OK ||
        dv_csr_write(h, DV_CSR_HUIE, DV_HUIP_UTIP) != DV_OK) {
        complain("the hart refused its initial CSRs");
        return false;
    }
    return true;
}

/* The least a hypervisor can do for the exits the guests ask for: step over
   an ecall PING; answer an MMIO load with `value`. False for any other exit. */
static bool serve(struct dv_hart *h, uint64_t cause, uint64_t value)
{
    uint64_t pc = csr(h, DV_CSR_UEPC);
    if (cause == DV_EXIT_ECALL_VS && dv_gpr_get(h, 17) == BENCH_ECALL_PING)
        return dv_csr_write(h, DV_CSR_UEPC, pc + 4) == DV_OK;
    if (cause != DV_EXIT_LOAD_GUEST_PAGE_FAULT)
        return false;
    uint64_t tinst = csr(h, DV_CSR_HUTINST);
    if ((tinst & 0x7d) != 0x01) /* not a load (bit 1 is clear for a compressed one) */
        return false;
    dv_gpr_set(h, (tinst >> 7) & 31, value);
    return dv_csr_write(h, DV_CSR_UEPC, pc + ((tinst & 2) ? 4 : 2)) == DV_OK;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Run the guest until it reports DONE; the k-th exit is answered with k. */
static bool vm_run(struct vm *vm, struct run *r)
{
    struct dv_hart *h = vm->h;
    uint64_t exits = 0, instret = dv_instret(h);
    double start = now();
    for (;;) {
        uint64_t cause = dv_enter(h);
        if (cause == DV_EXIT_ECALL_VS && dv_gpr_get(h, 17) == BENCH_ECALL_DONE)
            break;
        if (!serve(h, cause, exits + 1)) {
            complain(
                "unexpected exit after %llu exits: ucause %#llx uepc %#llx utval %#llx "
                "hutval %#llx hutinst %#llx a7 %#llx",
                (unsigned long long)exits, (unsigned long long)cause,
                (unsigned long long)csr(h, DV_CSR_UEPC), (unsigned long long)csr(h, DV_CSR_UTVAL),
                (unsigned long long)csr(h, DV_CSR_HUTVAL),
                (unsigned long long)csr(h, DV_CSR_HUTINST), (unsigned long long)dv_gpr_get(h, 17));
            return false;
        }
        exits++;
    }
    r->seconds = now() - start;
    r->instret = dv_instret(h) - instret;
    r->exits = exits;
    r->result = dv_gpr_get(h, 10);
    return true;
}

/* What int.S and branch.S compute, computed here. */
static uint64_t int_reference(void)
{
    uint64_t a0 = 1, a1 = LCG_MUL, a2 = 0;
    for (uint64_t i = 0; i < INT_ITERS; i++) {
        a2 += a0;
        uint64_t a3 = a2 ^ a1;
        a0 = a3 << 7 | a3 >> 9;
        a1 = a1 * a0 + 1;
        a2 -= a3 >> 9;
    }
    return a0 ^ a1 ^ a2;
}

static uint64_t branch_reference(void)
{
    uint64_t x = 1, a0 = 0, a1 = 0, a2 = 0;
    for (uint64_t i = 0; i < BRANCH_ITERS; i++) {
        x = x * LCG_MUL + LCG_ADD;
        uint64_t t = x >> 33;
        a0 += (t & 1) ? 3 : 0;
        a1 ^= (t & 2) ? 0 : t;
        a2 += t >= 0x2aaaaaaa;
    }
    return a0 ^ a1 ^ a2 << 32;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Run one benchmark RUNS times, each in a fresh VM: fig[] sorted, and the
   work one run did (guest instructions or exits). */
static bool measure(const struct bench *b, const char *dir, double fig[RUNS], uint64_t *work,
                    struct dv_engine_stats *jit)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s.bin", dir, b->image);
    for (int i = 0; i < RUNS; i++) {
        struct vm vm;
        struct run r;
        bool ok = vm_create(&vm, path) && vm_run(&vm, &r);
        if (ok)
            dv_hart_engine_stats(vm.h, &r.jit);
        vm_destroy(&vm);
        if (!ok)
            return false;
        if (r.exits != b->exits || r.result != b->result) {
            complain("%s: wrong result: %llu exits, a0 = %#llx; expected %llu exits, a0 = %#llx",
                     b->image, (unsigned long long)r.exits, (unsigned long long)r.result,
                     (unsigned long long)b->exits, (unsigned long long)b->result);
            return false;
        }
        fig[i] = b->unit == MIPS ? (double)r.instret / r.seconds / 1e6
                                 : r.seconds * 1e9 / (double)r.exits;
        *work = b->unit == MIPS ? r.instret : r.exits;
        *jit = r.jit;
    }
    qsort(fig, RUNS, sizeof(fig[0]), cmp_double);
    return true;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s IMAGE-DIR [KEY...]\n", argv[0]);
        return 2;
    }
    struct bench benches[] = {
        {"int_mips", "int", "integer ALU loop", MIPS, 0, 0, 2000},
        {"mem_mips", "mem", "memory loop (chase+stream)", MIPS, 0, 0, 0},
        {"branch_mips", "branch", "branchy loop", MIPS, 0, 0, 0},
        {"ecall_ns", "ecall", "ecall exit round trip", NS_PER_EXIT, ECALL_N, 0, 50},
        {"mmio_ns", "mmio", "MMIO load exit round trip", NS_PER_EXIT, MMIO_N,
         (uint64_t)MMIO_N * (MMIO_N + 1) / 2, 50},
    };
    enum { NB = sizeof(benches) / sizeof(benches[0]) };
    bool selected[NB], ok[NB];
    double fig[NB][RUNS];
    struct dv_engine_stats jit[NB] = {0};
    for (int i = 0; i < NB; i++) {
        selected[i] = argc == 2;
        for (int k = 2; k < argc; k++)
            selected[i] = selected[i] || !strcmp(argv[k], benches[i].key);
    }
    if (selected[0])
        benches[0].result = int_reference();
    if (selected[2])
        benches[2].result = branch_reference();

    printf("bench-hart: software DV-Ext hart, median of %d runs\n\n", RUNS);
    printf("  %-28s %8s %-5s %-17s %-12s %-12s %s\n", "benchmark", "median", "", "(min-max)",
           "work", "target", "");
    bool all = true;
    for (int i = 0; i < NB; i++) {
        const struct bench *b = &benches[i];
        uint64_t work = 0;
        ok[i] = selected[i] && measure(b, argv[1], fig[i], &work, &jit[i]);
        all = all && (ok[i] || !selected[i]);
        if (!ok[i]) {
            if (selected[i])
                printf("  %-28s %8s\n", b->what, "FAILED");
            continue;
        }
        const char *unit = b->unit == MIPS ? "MIPS" : "ns";
        double median = fig[i][RUNS / 2];
        char range[32], work_s[32], target[32] = "";
        snprintf(range, sizeof(range), "(%.1f-%.1f)", fig[i][0], fig[i][RUNS - 1]);
        snprintf(work_s, sizeof(work_s), "%.1fM %s", (double)work / 1e6,
                 b->unit == MIPS ? "insns" : "exits");
        const char *verdict = "";
        if (b->target > 0) {
            bool met = b->unit == MIPS ? median >= b->target : median < b->target;
            snprintf(target, sizeof(target), "%s %.0f %s", b->unit == MIPS ? ">=" : "<", b->target,
                     unit);
            verdict = met ? "met" : "not met";
        }
        printf("  %-28s %8.1f %-5s %-17s %-12s %-12s %s\n", b->what, median, unit, range, work_s,
               target, verdict);
    }
    printf("\n  JIT, last run of each (DUVISOR_JIT=off: the interpreter alone):\n");
    printf("  %-28s %8s %10s %12s %10s\n", "benchmark", "regions", "insns", "us/region", "code bytes");
    for (int i = 0; i < NB; i++)
        if (ok[i])
            printf("  %-28s %8llu %10llu %12.1f %10llu\n", benches[i].what,
                   (unsigned long long)jit[i].regions, (unsigned long long)jit[i].guest_insns,
                   jit[i].regions ? (double)jit[i].compile_ns / 1e3 / (double)jit[i].regions : 0.0,
                   (unsigned long long)jit[i].code_bytes);
    printf("\n");
    for (int i = 0; i < NB; i++)
        if (ok[i])
            printf("bench-hart: %s=%.1f\n", benches[i].key, fig[i][RUNS / 2]);
    return all ? 0 : 1;
}
