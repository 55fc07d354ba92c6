/*
 * The JIT against the interpreter on random programs.
 *
 * Each program from tests/unit/support/rvgen.c runs in two fresh VMs with the
 * same RAM and registers: A with the interpreter alone, B with the JIT
 * (threshold 1, so everything is translated at once, and max_region cycling
 * over 1, 2, 7, 128). Both run to the program's final ecall; every exit is
 * handled the same way in both, decided from A's state once A and B agree.
 * At every exit the test compares x1..x31, f0..f31, fcsr, instret, the exit
 * and guest trap CSRs and all of guest RAM (128 KiB: code, data, page
 * tables), and at the end a hash of RAM. The first difference fails the test
 * with the seed, program, region size, exit number, the field and both
 * values, and the code around uepc.
 *
 * Default: 48 fixed seeds x 64 programs, ~33 million guest instructions per
 * engine; a few seconds plain, ~20 s under ASan+UBSan (so no scaling there).
 *
 * Environment:
 *   DUVISOR_DIFF_SEED=S     run only seed S (as printed by a failure)
 *   DUVISOR_DIFF_PROGRAM=I  run only program I of each seed
 *   DUVISOR_DIFF_SEEDS=N    N random seeds on top of the fixed list (printed)
 *   DUVISOR_DIFF_SCALE=PCT  programs per seed, in percent of the default
 *   DUVISOR_DIFF_DUMP=FILE  write the failing (or the one selected) program's
 *                           code there: riscv64-linux-gnu-objdump -D -b binary
 *                           -m riscv:rv64 --adjust-vma=0x80000000 FILE
 *   DUVISOR_DIFF_KEEP_GOING=1   one line per differing program, not just the first
 *   DUVISOR_DIFF_ENGINE=interp  B runs the interpreter too: a failure then is
 *                           the harness's or the generator's, not the JIT's
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>

#include "hart/dvext.h"
#include "hart/engine.h"
#include "support/rvgen.h"
#include "vmm/gstage.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#ifdef UNDER_ASAN
#define WATCHDOG_SEC 60 /* one dv_enter() lasts microseconds; this is for a hang */
#else
#define WATCHDOG_SEC 10
#endif
#define PROGRAMS_PER_SEED 64
#define MAX_EXITS         4096    /* far beyond what a program makes (rvgen's EXIT_BUDGET) */
#define MAX_INSTRET       2000000 /* likewise: programs retire ~2k..20k instructions */
#define REPORT_SIZE       8192

/* The fixed seeds every run covers; a failure names the seed to rerun. */
static const uint64_t fixed_seeds[] = {
    0x5eed0001,
    0x9e3779b9,
    0x2545f491,
    0x6a09e667,
    0xbb67ae85,
    0x3c6ef372,
    0xa54ff53a,
    0x510e527f,
    0x9b05688c,
    0x1f83d9ab,
    0x5be0cd19,
    0xcbbb9d5d,
    0x629a292a,
    0x9159015a,
    0x152fecd8,
    0x67332667,
    0x8eb44a87,
    0xdb0c2e0d,
    0x47b5481d,
    0xae5f9156,
    0xcf6c85d3,
    0x2f73477d,
    0x6d1826ca,
    0x8b43d457,
    0xe360b596,
    0x1c456002,
    0x6f196330,
    0xd94ebeb1,
    0x0c0fbaea,
    0x3ed2ef72,
    0x7d1e96ad,
    0xab3b1a85,
    0x4c4fe1a6,
    0xf7f3d4cb,
    0x19b3a4d1,
    0x872bd76b,
    0x21d45ab5,
    0xc6d9f3e1,
    0x56a3c0f7,
    0x9f2e7b13,
    0x03b8e465,
    0xe47d20c9,
    0x7a9c1b3f,
    0x35f06d8b,
    0xbd6e48a1,
    0x68c2f907,
    0xd0a5e36d,
    0x11f4b8c3,
    /* found differences once (a fused multiply-add redone out of line miscounted instret) */
    0x1377cfd754d1fd73,
    0xcbce3accc60aba29,
};

static const unsigned region_sizes[] = {1, 2, 7, 128};

/* --- the watchdog: a guest that never exits becomes a USIP exit, then an abort ------ */

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t thread;
    bool running, stop;
    struct dv_machine *m; /* the machine inside dv_enter(), or NULL */
    uint64_t since_ns;
    bool kicked;
    char what[160]; /* which program, for the abort message */
} watch = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&watch.lock);
    while (!watch.stop) {
        struct timespec deadline;
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += 100000000L;
        if (deadline.tv_nsec >= 1000000000L) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&watch.cond, &watch.lock, &deadline);
        if (!watch.m)
            continue;
        uint64_t ran = now_ns() - watch.since_ns;
        if (ran > 2ull * WATCHDOG_SEC * 1000000000ull) {
            fprintf(stderr, "test_jit_diff: %s: no exit for %d s, not even for vipi; aborting\n",
                    watch.what, 2 * WATCHDOG_SEC);
            abort();
        }
        if (ran > WATCHDOG_SEC * 1000000000ull && !watch.kicked) {
            watch.kicked = true;
            dv_vipi_raise(watch.m, 0);
        }
    }
    pthread_mutex_unlock(&watch.lock);
    return NULL;
}

static int group_setup(void **state)
{
    (void)state;
    watch.stop = false;
    if (pthread_create(&watch.thread, NULL, watchdog_main, NULL) != 0)
        return -1;
    watch.running = true;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (watch.running) {
        pthread_mutex_lock(&watch.lock);
        watch.stop = true;
        pthread_cond_signal(&watch.cond);
        pthread_mutex_unlock(&watch.lock);
        pthread_join(watch.thread, NULL);
        watch.running = false;
    }
    return 0;
}

static uint64_t watched_enter(struct dv_machine *m, struct dv_hart *h, const char *what)
{
    pthread_mutex_lock(&watch.lock);
    watch.m = m;
    watch.since_ns = now_ns();
    watch.kicked = false;
    snprintf(watch.what, sizeof watch.what, "%s", what);
    pthread_mutex_unlock(&watch.lock);
    uint64_t cause = dv_enter(h);
    pthread_mutex_lock(&watch.lock);
    watch.m = NULL;
    pthread_mutex_unlock(&watch.lock);
    return cause;
}

/* --- one VM ------------------------------------------------------------------------- */

struct vm {
    struct dv_machine *m;
    struct dv_hart *h;
    struct gstage *g;
    uint8_t *ram;
    bool lazy_mapped;
};

static uint64_t csr(struct dv_hart *h, unsigned n)
{
    uint64_t v = 0;
    int rc = dv_csr_read(h, n, &v);
    if (rc != DV_OK)
        fail_msg("dv_csr_read(%#x) = %d", n, rc);
    return v;
}

static void csr_set(struct dv_hart *h, unsigned n, uint64_t v)
{
    int rc = dv_csr_write(h, n, v);
    if (rc != DV_OK)
        fail_msg("dv_csr_write(%#x, %#" PRIx64 ") = %d", n, v, rc);
}

static void *ram_at(const struct vm *vm, uint64_t gpa)
{
    return vm->ram + (gpa - RVGEN_RAM);
}

static void map_pages(struct vm *vm, uint64_t gpa, uint64_t len)
{
    assert_int_equal(gstage_map(vm->g, gpa, ram_at(vm, gpa), len, GSTAGE_R | GSTAGE_W | GSTAGE_X),
                     0);
}

static void vm_destroy(struct vm *vm)
{
    if (vm->h)
        dv_hart_destroy(vm->h);
    if (vm->m)
        dv_machine_destroy(vm->m);
    gstage_destroy(vm->g);
    if (vm->ram)
        munmap(vm->ram, RVGEN_RAM_SIZE);
    memset(vm, 0, sizeof(*vm));
}

/* A fresh VM holding p, set up as rvgen.h asks, running on the given engine. */
static void vm_create(struct vm *vm, const struct rvgen_program *p,
                      const struct dv_engine_config *engine)
{
    memset(vm, 0, sizeof(*vm));
    void *ram =
        mmap(NULL, RVGEN_RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ram != MAP_FAILED);
    vm->ram = ram;
    memcpy(vm->ram, p->ram, RVGEN_RAM_SIZE);
    vm->m = dv_machine_create(1);
    assert_non_null(vm->m);
    assert_int_equal(dv_machine_set_engine(vm->m, engine), DV_OK);
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RVGEN_RAM_SIZE), DV_OK);
    dv_mem_written(vm->m, vm->ram, RVGEN_RAM_SIZE);
    vm->g = gstage_create(p->gstage_sv39x4 ? DV_HUGATP_MODE_SV39X4 : DV_HUGATP_MODE_SV48X4);
    assert_non_null(vm->g);
    map_pages(vm, RVGEN_RAM, RVGEN_LAZY_PAGE - RVGEN_RAM);
    map_pages(vm, RVGEN_LAZY_PAGE + RVGEN_PAGE,
              RVGEN_RAM + RVGEN_RAM_SIZE - RVGEN_LAZY_PAGE - RVGEN_PAGE);
    vm->h = dv_hart_create(vm->m, 0);
    assert_non_null(vm->h);
    struct dv_hart *h = vm->h;
    csr_set(h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 1));
    csr_set(h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP | DV_HUSTATUS_VTW);
    csr_set(h, DV_CSR_HUCOUNTEREN, RVGEN_HUCOUNTEREN);
    csr_set(h, DV_CSR_HUIE, DV_HUIP_USIP); /* the watchdog's kick */
    csr_set(h, DV_CSR_HUVSTVEC, RVGEN_HANDLER);
    csr_set(h, DV_CSR_HUVSSTATUS, RVGEN_VSSTATUS);
    csr_set(h, DV_CSR_HUVSATP, p->vsatp);
    csr_set(h, DV_CSR_FCSR, p->fcsr);
    csr_set(h, DV_CSR_UEPC, p->entry);
    for (unsigned r = 1; r < 32; r++)
        dv_gpr_set(h, r, p->x[r]);
    for (unsigned r = 0; r < 32; r++)
        dv_fpr_set(h, r, p->f[r]);
}

/* --- what is compared at every exit ------------------------------------------------- */

static const struct {
    const char *name;
    unsigned csr;
} compared_csrs[] = {
    {"ucause", DV_CSR_UCAUSE},         {"uepc", DV_CSR_UEPC},
    {"utval", DV_CSR_UTVAL},           {"hutval", DV_CSR_HUTVAL},
    {"hutinst", DV_CSR_HUTINST},       {"hustatus", DV_CSR_HUSTATUS},
    {"vsstatus", DV_CSR_HUVSSTATUS},   {"vsepc", DV_CSR_HUVSEPC},
    {"vscause", DV_CSR_HUVSCAUSE},     {"vstval", DV_CSR_HUVSTVAL},
    {"vsscratch", DV_CSR_HUVSSCRATCH}, {"fcsr", DV_CSR_FCSR},
};

enum {
    SNAP_INSTRET = COUNT(compared_csrs),
    SNAP_X = SNAP_INSTRET + 1, /* x1..x31 */
    SNAP_F = SNAP_X + 31,      /* f0..f31 */
    SNAP_N = SNAP_F + 32,
};

struct snapshot {
    uint64_t v[SNAP_N];
};

static void take_snapshot(struct dv_hart *h, struct snapshot *s)
{
    for (unsigned i = 0; i < COUNT(compared_csrs); i++)
        s->v[i] = csr(h, compared_csrs[i].csr);
    s->v[SNAP_INSTRET] = dv_instret(h);
    for (unsigned r = 1; r < 32; r++)
        s->v[SNAP_X + r - 1] = dv_gpr_get(h, r);
    for (unsigned r = 0; r < 32; r++)
        s->v[SNAP_F + r] = dv_fpr_get(h, r);
}

static void field_name(unsigned i, char *buf, size_t len)
{
    if (i < COUNT(compared_csrs))
        snprintf(buf, len, "%s", compared_csrs[i].name);
    else if (i == SNAP_INSTRET)
        snprintf(buf, len, "instret");
    else if (i < SNAP_F)
        snprintf(buf, len, "x%u", i - SNAP_X + 1);
    else
        snprintf(buf, len, "f%u", i - SNAP_F);
}

/* --- one program in both engines ------------------------------------------------------ */

/* Exits and guest traps seen, for the coverage test and the summary. */
enum exit_kind {
    EXIT_ECALL,
    EXIT_PATCH,
    EXIT_LAZY_MAP,
    EXIT_LAZY_SKIP,
    EXIT_LAZY_UNMAP,
    EXIT_MMIO_LOAD,
    EXIT_MMIO_STORE,
    EXIT_VIRTUAL,
    EXIT_KINDS
};

static const char *const exit_kind_name[EXIT_KINDS] = {
    "ecall",      "code patch", "lazy map",   "lazy skip",
    "lazy unmap", "mmio load",  "mmio store", "virtual instruction",
};

struct stats {
    unsigned programs;
    uint64_t insns, insns_min, insns_max, exits;
    unsigned kinds[EXIT_KINDS];
    uint64_t guest_traps, guest_causes; /* handler's count, and OR of 1 << scause */
};

/* A change to B's state after one exit: proves a difference is caught (self-test). */
struct perturbation {
    unsigned exit; /* 0: none */
    unsigned gpr;
    uint64_t ram_gpa; /* else a data byte */
};

struct run {
    const struct rvgen_program *p;
    uint64_t seed;
    unsigned index, region;
    struct vm vm[2]; /* [0] the interpreter, [1] the JIT */
    uint64_t hv_rng; /* the harness's own choices: the same for both VMs */
    unsigned exits;
    struct perturbation perturb;
    bool both_interpreted; /* B runs the interpreter too (tests of the harness itself) */
    struct stats *stats;
    char report[REPORT_SIZE];
    size_t used;
};

static void say(struct run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(struct run *r, const char *fmt, ...)
{
    if (r->used >= sizeof r->report)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(r->report + r->used, sizeof r->report - r->used, fmt, ap);
    va_end(ap);
    if (n > 0)
        r->used += (size_t)n;
}

static unsigned insn_len_at(const uint8_t *ram, uint64_t pc)
{
    uint16_t lo;
    memcpy(&lo, ram + (pc - RVGEN_RAM), 2);
    return (lo & 3) == 3 ? 4 : 2;
}

/* The program's instructions around pc (> marks pc; * where the code changed since). */
static void dump_code(struct run *r, uint64_t pc, const uint8_t *now)
{
    if (pc < RVGEN_RAM + 24 || pc + 28 > RVGEN_CODE_END || (pc & 1)) {
        say(r, "  (uepc %#" PRIx64 " is outside the code)\n", pc);
        return;
    }
    say(r, "  code around %#" PRIx64 " (as generated; * = changed since):\n", pc);
    for (uint64_t a = pc - 24; a < pc + 28; a += 2) {
        const char *name = rvgen_name_at(r->p, a);
        if (!name && a != pc)
            continue;
        unsigned len = insn_len_at(r->p->ram, a);
        uint32_t was = 0, is = 0;
        memcpy(&was, r->p->ram + (a - RVGEN_RAM), len);
        memcpy(&is, now + (a - RVGEN_RAM), len);
        say(r, "  %c %#" PRIx64 ": %0*" PRIx32 "%s %s\n", a == pc ? '>' : ' ', a, len * 2, was,
            was != is ? "*" : " ", name ? name : "?");
    }
}

static void describe_program(struct run *r)
{
    say(r,
        "seed %#" PRIx64 " program %u (program seed %#" PRIx64 ", max_region %u, %s, %s G-stage)",
        r->seed, r->index, r->p->seed, r->region, r->p->sv39 ? "Sv39" : "bare VS-stage",
        r->p->gstage_sv39x4 ? "Sv39x4" : "Sv48x4");
}

static void report_header(struct run *r, const char *what)
{
    describe_program(r);
    say(r, ": %s at exit #%u (interpreter: ucause %#" PRIx64 " uepc %#" PRIx64 ")\n", what,
        r->exits, csr(r->vm[0].h, DV_CSR_UCAUSE), csr(r->vm[0].h, DV_CSR_UEPC));
}

static void report_footer(struct run *r)
{
    say(r,
        "  rerun: DUVISOR_DIFF_SEED=%#" PRIx64
        " DUVISOR_DIFF_PROGRAM=%u build/tests/test_jit_diff\n",
        r->seed, r->index);
    uint64_t pc_a = csr(r->vm[0].h, DV_CSR_UEPC), pc_b = csr(r->vm[1].h, DV_CSR_UEPC);
    dump_code(r, pc_a, r->vm[0].ram);
    if (pc_b != pc_a) {
        say(r, "  the JIT's uepc:\n");
        dump_code(r, pc_b, r->vm[1].ram);
    }
}

static bool differ(struct run *r, const char *field, uint64_t a, uint64_t b)
{
    report_header(r, "the JIT differs from the interpreter");
    say(r, "  %s: interpreter %#" PRIx64 ", JIT %#" PRIx64 "\n", field, a, b);
    report_footer(r);
    return false;
}

static bool fail_run(struct run *r, const char *what)
{
    report_header(r, what);
    report_footer(r);
    return false;
}

static bool compare_bytes(struct run *r, uint64_t gpa, uint64_t len)
{
    const uint8_t *a = ram_at(&r->vm[0], gpa), *b = ram_at(&r->vm[1], gpa);
    if (memcmp(a, b, len) == 0)
        return true;
    uint64_t i = 0;
    while (a[i] == b[i])
        i++;
    uint64_t word = (gpa + i) & ~7ull, va, vb;
    memcpy(&va, ram_at(&r->vm[0], word), 8);
    memcpy(&vb, ram_at(&r->vm[1], word), 8);
    char field[64];
    snprintf(field, sizeof field, "RAM at %#" PRIx64 " (first byte %#" PRIx64 ")", word, gpa + i);
    return differ(r, field, va, vb);
}

/* Everything the exit shows, and all of guest RAM (code, data, page tables). */
static bool compare_exit(struct run *r, uint64_t cause_a, uint64_t cause_b)
{
    if (cause_a != cause_b)
        return differ(r, "dv_enter() result", cause_a, cause_b);
    struct snapshot s[2];
    take_snapshot(r->vm[0].h, &s[0]);
    take_snapshot(r->vm[1].h, &s[1]);
    for (unsigned i = 0; i < SNAP_N; i++) {
        if (s[0].v[i] != s[1].v[i]) {
            char name[16];
            field_name(i, name, sizeof name);
            return differ(r, name, s[0].v[i], s[1].v[i]);
        }
    }
    return compare_bytes(r, RVGEN_RAM, RVGEN_RAM_SIZE);
}

static uint64_t hash_ram(const uint8_t *ram)
{
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a over 64-bit words */
    for (uint64_t i = 0; i < RVGEN_RAM_SIZE; i += 8) {
        uint64_t w;
        memcpy(&w, ram + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
    }
    return h;
}

/* The last exit compared RAM byte for byte already; the hash is the summary a log keeps. */
static bool compare_final_ram(struct run *r)
{
    uint64_t ha = hash_ram(r->vm[0].ram), hb = hash_ram(r->vm[1].ram);
    return ha == hb || differ(r, "RAM hash", ha, hb);
}

/* --- handling an exit, identically in both VMs --------------------------------------- */

static uint64_t harness_choice(struct run *r)
{
    return rvgen_splitmix(&r->hv_rng);
}

static void step_both(struct run *r, uint64_t len)
{
    for (unsigned k = 0; k < 2; k++)
        csr_set(r->vm[k].h, DV_CSR_UEPC, csr(r->vm[k].h, DV_CSR_UEPC) + len);
}

/* uepc += the length of the instruction there (code is identity-mapped). */
static bool skip_insn(struct run *r)
{
    uint64_t pc = csr(r->vm[0].h, DV_CSR_UEPC);
    if (pc < RVGEN_RAM || pc + 4 > RVGEN_RAM + RVGEN_RAM_SIZE)
        return fail_run(r, "exit outside guest RAM");
    step_both(r, insn_len_at(r->vm[0].ram, pc));
    return true;
}

static void set_lazy_page(struct run *r, bool mapped)
{
    for (unsigned k = 0; k < 2; k++) {
        struct vm *vm = &r->vm[k];
        if (mapped)
            map_pages(vm, RVGEN_LAZY_PAGE, RVGEN_PAGE);
        else
            assert_int_equal(gstage_unmap(vm->g, RVGEN_LAZY_PAGE, RVGEN_PAGE), 0);
        dv_hufence_gvma(vm->h);
        vm->lazy_mapped = mapped;
    }
}

/* A hypervisor code patch ("DMA" into guest code) at this ecall, if the program has one. */
static bool apply_patches(struct run *r, uint64_t ecall_pc)
{
    bool any = false;
    for (unsigned i = 0; i < r->p->npatches; i++) {
        const struct rvgen_patch *pt = &r->p->patch[i];
        if (pt->ecall_pc != ecall_pc)
            continue;
        for (unsigned k = 0; k < 2; k++) {
            memcpy(ram_at(&r->vm[k], pt->addr), &pt->word, 4);
            dv_mem_written(r->vm[k].m, ram_at(&r->vm[k], pt->addr), 4);
        }
        any = true;
    }
    return any;
}

/* An SBI-like call: results in a0/a1, sometimes the lazy page taken away again, or
   the hart's caches flushed. Returns true for the program's final ecall. */
static bool handle_ecall(struct run *r)
{
    struct dv_hart *a = r->vm[0].h;
    uint64_t pc = csr(a, DV_CSR_UEPC);
    if (pc == r->p->final_ecall && dv_gpr_get(a, 17) == RVGEN_END_A7)
        return true;
    r->stats->kinds[apply_patches(r, pc) ? EXIT_PATCH : EXIT_ECALL]++;
    uint64_t a1 = harness_choice(r), choice = harness_choice(r);
    for (unsigned k = 0; k < 2; k++) {
        dv_gpr_set(r->vm[k].h, 10, r->exits);
        dv_gpr_set(r->vm[k].h, 11, a1);
        if (choice % 10 == 0) {
            dv_hufence_vvma(r->vm[k].h);
            dv_fence_i(r->vm[k].h);
        }
    }
    if (r->vm[0].lazy_mapped && choice % 4 == 1) {
        set_lazy_page(r, false);
        r->stats->kinds[EXIT_LAZY_UNMAP]++;
    }
    step_both(r, 4);
    return false;
}

/* An MMIO access: a load gets a value the harness chooses, then uepc moves on. */
static bool handle_mmio(struct run *r, uint64_t cause)
{
    bool load = cause == DV_EXIT_LOAD_GUEST_PAGE_FAULT;
    if (load) {
        uint32_t tinst = (uint32_t)csr(r->vm[0].h, DV_CSR_HUTINST);
        unsigned opcode = tinst & 0x7d, rd = (tinst >> 7) & 31; /* bit 1: 0 when compressed */
        uint64_t value = harness_choice(r);
        for (unsigned k = 0; k < 2; k++) {
            if (opcode == 0x01) /* LOAD */
                dv_gpr_set(r->vm[k].h, rd, value);
            else if (opcode == 0x05) /* LOAD-FP */
                dv_fpr_set(r->vm[k].h, rd, value);
        }
    }
    r->stats->kinds[load ? EXIT_MMIO_LOAD : EXIT_MMIO_STORE]++;
    return skip_insn(r);
}

static bool handle_guest_page_fault(struct run *r, uint64_t cause)
{
    struct dv_hart *a = r->vm[0].h;
    uint64_t gpa = csr(a, DV_CSR_HUTVAL) << 2 | (csr(a, DV_CSR_UTVAL) & 3);
    if ((gpa & ~(RVGEN_PAGE - 1)) == RVGEN_LAZY_PAGE) {
        if (harness_choice(r) % 100 < 60) {
            set_lazy_page(r, true); /* and run the access again */
            r->stats->kinds[EXIT_LAZY_MAP]++;
            return true;
        }
        r->stats->kinds[EXIT_LAZY_SKIP]++;
        return skip_insn(r);
    }
    if ((gpa & ~(RVGEN_PAGE - 1)) == RVGEN_MMIO)
        return handle_mmio(r, cause);
    return fail_run(r, "guest-page fault outside the lazy and MMIO pages");
}

/* What a hypervisor does about this exit, in both VMs. *done at the final ecall. */
static bool handle_exit(struct run *r, uint64_t cause, bool *done)
{
    *done = false;
    switch (cause) {
    case DV_EXIT_ECALL_VS: *done = handle_ecall(r); return true;
    case DV_EXIT_LOAD_GUEST_PAGE_FAULT:
    case DV_EXIT_STORE_GUEST_PAGE_FAULT: return handle_guest_page_fault(r, cause);
    case DV_EXIT_VIRTUAL_INSTRUCTION: r->stats->kinds[EXIT_VIRTUAL]++; return skip_insn(r);
    case DV_EXIT_USIP: return fail_run(r, "the guest ran away (no exit for the watchdog's period)");
    }
    return fail_run(r, "an exit no program should make");
}

static void apply_perturbation(struct run *r)
{
    const struct perturbation *pt = &r->perturb;
    if (pt->exit != r->exits)
        return;
    if (pt->ram_gpa)
        ((uint8_t *)ram_at(&r->vm[1], pt->ram_gpa))[0] ^= 0x10;
    else
        dv_gpr_set(r->vm[1].h, pt->gpr, dv_gpr_get(r->vm[1].h, pt->gpr) ^ 0x10);
}

static bool run_to_end(struct run *r)
{
    char what[160];
    snprintf(what, sizeof what, "seed %#" PRIx64 " program %u (max_region %u)", r->seed, r->index,
             r->region);
    for (r->exits = 1;; r->exits++) {
        if (r->exits > MAX_EXITS)
            return fail_run(r, "the guest ran away (too many exits)");
        uint64_t ca = watched_enter(r->vm[0].m, r->vm[0].h, what);
        uint64_t cb = watched_enter(r->vm[1].m, r->vm[1].h, what);
        if (!compare_exit(r, ca, cb))
            return false;
        if (dv_instret(r->vm[0].h) > MAX_INSTRET)
            return fail_run(r, "the guest ran away (too many instructions)");
        bool done;
        if (!handle_exit(r, ca, &done))
            return false;
        if (done)
            return true;
        apply_perturbation(r);
    }
}

static void note_stats(struct run *r)
{
    struct stats *st = r->stats;
    uint64_t n = dv_instret(r->vm[0].h), mask;
    memcpy(&mask, ram_at(&r->vm[0], RVGEN_HDATA), 8);
    st->programs++;
    st->insns += n;
    st->insns_min = st->programs == 1 || n < st->insns_min ? n : st->insns_min;
    st->insns_max = n > st->insns_max ? n : st->insns_max;
    st->exits += r->exits;
    st->guest_traps += csr(r->vm[0].h, DV_CSR_HUVSSCRATCH);
    st->guest_causes |= mask;
}

/* Run p in both engines; false with r->report filled at the first difference. */
static bool run_pair(struct run *r)
{
    static const struct dv_engine_config interp = {.jit = false, .threshold = 1, .max_region = 1};
    const char *b = getenv("DUVISOR_DIFF_ENGINE");
    bool interp_only = r->both_interpreted || (b && strcmp(b, "interp") == 0);
    struct dv_engine_config jit = {.jit = !interp_only, .threshold = 1, .max_region = r->region};
    r->hv_rng = r->p->seed ^ 0x6876; /* "hv" */
    r->used = 0;
    r->report[0] = 0;
    vm_create(&r->vm[0], r->p, &interp);
    vm_create(&r->vm[1], r->p, &jit);
    bool ok = run_to_end(r) && compare_final_ram(r);
    if (ok)
        note_stats(r);
    vm_destroy(&r->vm[0]);
    vm_destroy(&r->vm[1]);
    return ok;
}

/* --- which programs ------------------------------------------------------------------- */

static uint64_t program_seed(uint64_t seed, unsigned index)
{
    uint64_t s = seed ^ ((uint64_t)index * 0xd1342543de82ef95ull);
    return rvgen_splitmix(&s);
}

static long env_long(const char *name, long fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    long n = strtol(v, &end, 0);
    if (*end || n < 0)
        fail_msg("%s=%s: want a non-negative number", name, v);
    return n;
}

static unsigned programs_per_seed(void)
{
    long pct = env_long("DUVISOR_DIFF_SCALE", 100);
    long n = PROGRAMS_PER_SEED * pct / 100;
    return n < 1 ? 1 : (unsigned)n;
}

/* The fixed seeds, or just DUVISOR_DIFF_SEED, plus DUVISOR_DIFF_SEEDS random ones. */
static size_t chosen_seeds(uint64_t **out)
{
    const char *one = getenv("DUVISOR_DIFF_SEED");
    long extra = env_long("DUVISOR_DIFF_SEEDS", 0);
    size_t n = (one && *one) ? 1 : COUNT(fixed_seeds);
    uint64_t *seeds = calloc(n + (size_t)extra, sizeof(*seeds));
    assert_non_null(seeds);
    if (one && *one)
        seeds[0] = strtoull(one, NULL, 0);
    else
        memcpy(seeds, fixed_seeds, sizeof fixed_seeds);
    for (long i = 0; i < extra; i++) {
        uint64_t s;
        if (getrandom(&s, sizeof s, 0) != (ssize_t)sizeof s)
            s = now_ns() ^ (uint64_t)i;
        seeds[n++] = s;
        print_message("# extra seed %#" PRIx64 " (rerun: DUVISOR_DIFF_SEED=%#" PRIx64 ")\n", s, s);
    }
    *out = seeds;
    return n;
}

static void dump_program(const struct rvgen_program *p)
{
    const char *path = getenv("DUVISOR_DIFF_DUMP");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p->ram, 1, RVGEN_CODE_BYTES, f) != RVGEN_CODE_BYTES)
        fprintf(stderr, "cannot write %s\n", path);
    else
        fprintf(stderr, "program code written to %s\n", path);
    if (f)
        fclose(f);
}

/* --- tests ---------------------------------------------------------------------------- */

struct ctx {
    struct rvgen_program *p;
    struct run run;
    struct stats stats;
    uint64_t *seeds;
};

static int ctx_setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->p = malloc(sizeof(*c->p));
    if (!c->p) {
        free(c);
        return -1;
    }
    c->run.p = c->p;
    c->run.stats = &c->stats;
    *state = c;
    return 0;
}

static int ctx_teardown(void **state)
{
    struct ctx *c = *state;
    vm_destroy(&c->run.vm[0]); /* left behind by a failed assertion */
    vm_destroy(&c->run.vm[1]);
    free(c->seeds);
    free(c->p);
    free(c);
    return 0;
}

static void require_jit(void)
{
    if (!dv_jit_supported()) {
        print_message("# no JIT on this host: nothing to compare\n");
        skip();
    }
}

/* Generate program `index` of `seed` into c->p and run it in both engines. */
static bool run_program(struct ctx *c, uint64_t seed, unsigned index)
{
    rvgen_generate(c->p, program_seed(seed, index));
    c->run.seed = seed;
    c->run.index = index;
    c->run.region = region_sizes[index % COUNT(region_sizes)];
    return run_pair(&c->run);
}

static void print_stats(const struct stats *st)
{
    print_message("# %u programs, %" PRIu64 " guest instructions per engine (%" PRIu64 "..%" PRIu64
                  " per program), %" PRIu64 " exits, %" PRIu64 " guest traps\n",
                  st->programs, st->insns, st->insns_min, st->insns_max, st->exits,
                  st->guest_traps);
}

/* A report's first two lines (program and exit; field and values) as one. */
static const char *summary_line(char *report)
{
    char *nl = strchr(report, '\n');
    if (nl && nl[1]) {
        *nl = ';';
        char *second = strchr(nl, '\n');
        if (second)
            *second = 0;
    }
    return report;
}

static void test_jit_matches_interpreter(void **state)
{
    struct ctx *c = *state;
    require_jit();
    size_t nseeds = chosen_seeds(&c->seeds);
    unsigned per_seed = programs_per_seed();
    long only = env_long("DUVISOR_DIFF_PROGRAM", -1);
    bool keep_going = env_long("DUVISOR_DIFF_KEEP_GOING", 0) != 0;
    unsigned failed = 0, ran = 0;
    unsigned first = only >= 0 ? (unsigned)only : 0, end = only >= 0 ? first + 1 : per_seed;
    for (size_t s = 0; s < nseeds; s++) {
        for (unsigned i = first; i < end; i++) {
            bool ok = run_program(c, c->seeds[s], i);
            ran++;
            if (only >= 0 || !ok)
                dump_program(c->p);
            if (ok)
                continue;
            if (!keep_going)
                fail_msg("%s", c->run.report);
            failed++;
            print_error("%s\n", summary_line(c->run.report));
        }
    }
    print_stats(&c->stats);
    if (failed)
        fail_msg("%u of %u programs differ", failed, ran);
}

/* The comparison catches a changed register and a changed byte, and says where. */
static void test_a_difference_is_reported(void **state)
{
    struct ctx *c = *state;
    c->run.both_interpreted = true; /* the comparison is under test, not the JIT */
    /* s0 and the handler page past its mask word: nothing a program writes */
    const struct perturbation cases[] = {{.exit = 1, .gpr = 8},
                                         {.exit = 1, .ram_gpa = RVGEN_HDATA + 0x123}};
    for (size_t k = 0; k < COUNT(cases); k++) {
        c->run.perturb = cases[k];
        bool ok = run_program(c, fixed_seeds[0], 3);
        c->run.perturb = (struct perturbation){0};
        if (ok)
            fail_msg("a perturbed JIT VM went unnoticed");
        const char *want = k == 0 ? "x8: interpreter" : "RAM at 0x80008120";
        if (!strstr(c->run.report, want) || !strstr(c->run.report, "seed 0x5eed0001 program 3") ||
            !strstr(c->run.report, "exit #2") || !strstr(c->run.report, "DUVISOR_DIFF_SEED=") ||
            !strstr(c->run.report, "> 0x8000"))
            fail_msg("unhelpful report (want \"%s\"):\n%s", want, c->run.report);
    }
}

/* Every class the generator claims appears; programs run as long as intended and make
   every kind of exit and guest trap. */
static void test_generator_covers_every_class(void **state)
{
    struct ctx *c = *state;
    unsigned total[RVGEN_NCLASSES] = {0};
    for (size_t s = 0; s < COUNT(fixed_seeds); s++) {
        for (unsigned i = 0; i < PROGRAMS_PER_SEED; i++) {
            rvgen_generate(c->p, program_seed(fixed_seeds[s], i));
            for (unsigned k = 0; k < RVGEN_NCLASSES; k++)
                total[k] += c->p->count[k];
        }
    }
    for (unsigned k = 0; k < RVGEN_NCLASSES; k++)
        if (total[k] == 0)
            fail_msg("the generator never emitted %s", rvgen_class_name[k]);

    /* the same seed gives the same program */
    static struct rvgen_program again;
    rvgen_generate(c->p, 42);
    rvgen_generate(&again, 42);
    assert_memory_equal(c->p->ram, again.ram, RVGEN_RAM_SIZE);
    assert_memory_equal(c->p->x, again.x, sizeof again.x);

    /* what the programs do when run (by the interpreter: this is not about the JIT) */
    c->run.both_interpreted = true;
    for (unsigned i = 0; i < 2 * PROGRAMS_PER_SEED; i++) {
        if (!run_program(c, fixed_seeds[1], i))
            fail_msg("%s", c->run.report);
    }
    const struct stats *st = &c->stats;
    print_stats(st);
    uint64_t mean = st->insns / st->programs;
    if (st->insns_min < 1000 || st->insns_max > 40000 || mean < 2000 || mean > 20000)
        fail_msg("implausible instruction counts: %" PRIu64 "..%" PRIu64 ", mean %" PRIu64,
                 st->insns_min, st->insns_max, mean);
    for (unsigned k = 0; k < EXIT_KINDS; k++)
        if (st->kinds[k] == 0)
            fail_msg("no program made a \"%s\" exit", exit_kind_name[k]);
    static const unsigned causes[] = {2, 3, 4, 6, 13, 15}; /* illegal, ebreak, misaligned, PF */
    for (size_t k = 0; k < COUNT(causes); k++)
        if (!(st->guest_causes >> causes[k] & 1))
            fail_msg("no guest trap with scause %u (mask %#" PRIx64 ")", causes[k],
                     st->guest_causes);
}

/* The generator's li sequences load what they claim (checked by running them). */
static void test_li_loads_edge_values(void **state)
{
    struct ctx *c = *state;
    static const uint64_t values[] = {
        0,
        1,
        ~0ull,
        2047,
        2048,
        (uint64_t)-2048,
        (uint64_t)-2049,
        0x7ffff7ff,
        0x7ffff800,
        0x7fffffff,
        0x80000000,
        0xffffffff,
        0x100000000,
        0x8000000000000000ull,
        0x7fffffffffffffffull,
        0xffffffff80000000ull,
        0x0123456789abcdefull,
        0xfedcba9876543210ull,
        0x8000000000000fffull,
        0x00000fff00000800ull,
    };
    enum { FIRST = 5 }; /* x5.. */
    struct rvgen_program *p = c->p;
    memset(p, 0, sizeof(*p));
    p->entry = RVGEN_ENTRY;
    uint64_t pc = RVGEN_ENTRY;
    for (size_t i = 0; i < COUNT(values); i++)
        pc += rvgen_li(p->ram + (pc - RVGEN_RAM), FIRST + (unsigned)i, values[i]);
    uint32_t ecall = 0x00000073;
    memcpy(p->ram + (pc - RVGEN_RAM), &ecall, 4);
    static const struct dv_engine_config interp = {.jit = false, .threshold = 1, .max_region = 1};
    struct vm *vm = &c->run.vm[0];
    vm_create(vm, p, &interp);
    assert_int_equal(watched_enter(vm->m, vm->h, "li test"), DV_EXIT_ECALL_VS);
    assert_int_equal(csr(vm->h, DV_CSR_UEPC), pc);
    for (size_t i = 0; i < COUNT(values); i++)
        if (dv_gpr_get(vm->h, FIRST + (unsigned)i) != values[i])
            fail_msg("li %#" PRIx64 " loaded %#" PRIx64, values[i],
                     dv_gpr_get(vm->h, FIRST + (unsigned)i));
    vm_destroy(vm);
}

/* A few encodings against what the GNU assembler makes of the same instruction. */
static void test_encoder_matches_assembler(void **state)
{
    (void)state;
    const struct {
        uint32_t got, want;
        const char *text;
    } cases[] = {
        {rvgen_r(0x33, 10, 0, 11, 12, 0x20), 0x40c58533, "sub a0,a1,a2"},
        {rvgen_i(0x13, 5, 0, 6, -2048), 0x80030293, "addi t0,t1,-2048"},
        {rvgen_i(0x03, 15, 6, 2, 2047), 0x7ff16783, "lwu a5,2047(sp)"},
        {rvgen_s(0x23, 3, 8, 9, -1), 0xfe943fa3, "sd s1,-1(s0)"},
        {rvgen_b(5, 10, 11, -4096), 0x80b55063, "bge a0,a1,.-4096"},
        {rvgen_b(6, 1, 2, 4094), 0x7e20efe3, "bltu ra,sp,.+4094"},
        {rvgen_u(0x37, 31, 0x80000), 0x80000fb7, "lui t6,0x80000"},
        {rvgen_j(1, -(1 << 20)), 0x800000ef, "jal ra,.-1048576"},
        {rvgen_j(0, 0xffffe), 0x7ffff06f, "jal zero,.+1048574"},
        {rvgen_r4(0x43, 1, 7, 2, 3, 1, 31), 0xfa3170c3, "fmadd.d f1,f2,f3,f31,dyn"},
        {rvgen_c_beqz(false, 8, -256), 0xd001, "c.beqz s0,.-256"},
        {rvgen_c_beqz(true, 15, 254), 0xeffd, "c.bnez a5,.+254"},
        {rvgen_c_j(-2048), 0xb001, "c.j .-2048"},
        {rvgen_c_j(2046), 0xaffd, "c.j .+2046"},
        {rvgen_c_lw(false, 10, 9, 124), 0x5ce8, "c.lw a0,124(s1)"},
        {rvgen_c_lw(true, 15, 8, 248), 0x7c7c, "c.ld a5,248(s0)"},
        {rvgen_c_sw(false, 8, 11, 64), 0xc02c, "c.sw a1,64(s0)"},
        {rvgen_c_sw(true, 9, 14, 136), 0xe4d8, "c.sd a4,136(s1)"},
        {rvgen_c_lwsp(false, 5, 252), 0x52fe, "c.lwsp t0,252(sp)"},
        {rvgen_c_lwsp(true, 31, 504), 0x7ffe, "c.ldsp t6,504(sp)"},
        {rvgen_c_swsp(false, 10, 188), 0xdf2a, "c.swsp a0,188(sp)"},
        {rvgen_c_swsp(true, 1, 264), 0xe606, "c.sdsp ra,264(sp)"},
        {rvgen_c_ci(0, 1, 10, -32), 0x1501, "c.addi a0,-32"},
        {rvgen_c_ci(2, 1, 7, 31), 0x43fd, "c.li t2,31"},
        {rvgen_c_ci(3, 1, 12, -1), 0x767d, "c.lui a2,0xfffff"},
        {rvgen_c_ci(0, 2, 13, 63), 0x16fe, "c.slli a3,63"},
        {rvgen_c_ci(1, 1, 20, 0), 0x2a01, "c.addiw s4,0"},
    };
    for (size_t i = 0; i < COUNT(cases); i++)
        if (cases[i].got != cases[i].want)
            fail_msg("%s: encoded %#x, the assembler says %#x", cases[i].text, cases[i].got,
                     cases[i].want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encoder_matches_assembler),
        cmocka_unit_test_setup_teardown(test_li_loads_edge_values, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_generator_covers_every_class, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_a_difference_is_reported, ctx_setup, ctx_teardown),
        cmocka_unit_test_setup_teardown(test_jit_matches_interpreter, ctx_setup, ctx_teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
