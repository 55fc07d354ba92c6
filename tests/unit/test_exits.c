/* SPDX-License-Identifier: MIT */
/*
 * The VM-exit paths of the DV-Ext hart, end to end, through dvext.h only.
 *
 * Each test loads a small riscv64 guest image (tests/guest/NAME.S, built into
 * GUEST_IMAGES_DIR/NAME.bin by tests/guest/guest.mk) at guest-physical
 * 0x80000000, maps it in G-stage tables built with gstage.h, runs it in VS
 * mode with dv_enter() and checks every exit register exactly: ucause, uepc,
 * utval, hutval, hutinst, hustatus and the GPRs. Expected values come from
 * dvext.md and the RISC-V privileged spec (H extension).
 *
 * Guests report through a test-private SBI extension (tests/guest/common.S):
 * ecall with a7 = HC_EXT, a6 = function; the harness steps uepc over it.
 *
 * A watchdog thread per VM raises vipi on every hart if a test runs longer
 * than WATCHDOG_SEC, so a hart that never exits turns into a failure, not a
 * hang (and if even vipi gets no exit, the binary aborts). Threads other than
 * cmocka's never assert: they record an error message that the main thread
 * checks after joining them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "hart/dvext.h"
#include "vmm/gstage.h"

#ifndef GUEST_IMAGES_DIR
#define GUEST_IMAGES_DIR "build/guest-images"
#endif

#define RAM_BASE           0x80000000ull
#define RAM_SIZE           (16ull << 20)
#define PAGE_SIZE          4096ull
#define MAILBOX            0x80F00000ull /* tests/guest/common.S */
#define MMIO_DEV           0x10000000ull /* tests/guest/mmio.S: never mapped */
#define MAX_HARTS          2
#define MAX_DELAYED        4
#define WATCHDOG_SEC       30
#define WATCHDOG_GRACE_SEC 10                /* then abort: the harts do not even answer vipi */
#define MS                 UINT64_C(1000000) /* nanoseconds */

/* the guests' hypercalls (tests/guest/common.S) */
#define HC_EXT 0x0A000000ull
enum { HC_PASS = 0, HC_FAIL = 1, HC_CHECK = 2, HC_RAISE = 3, HC_MARK = 4, HC_ECHO = 5 };

enum { X_RA = 1, X_SP = 2, X_T0 = 5, X_T1 = 6, X_T2 = 7, X_S1 = 9, X_A0 = 10, X_A1 = 11 };
enum { X_A2 = 12, X_A3 = 13, X_A4 = 14, X_A5 = 15, X_A6 = 16, X_A7 = 17, X_S2 = 18 };
enum { X_S4 = 20, X_S5 = 21, X_S6 = 22, X_S7 = 23, X_S8 = 24, X_S9 = 25, X_S10 = 26 };
enum { X_S11 = 27, X_T3 = 28, X_T6 = 31 };

#define INSN_ECALL 0x00000073u
#define INSN_WFI   0x10500073u

/*
 * Transformed instructions (htinst) for a guest-page fault on a load or store
 * at an aligned address: the instruction with its immediate and rs1 (= the
 * address offset, 0 here) zeroed. A compressed instruction is expanded first
 * and then has bit 1 cleared.
 */
#define TI_LOAD(f3, rd)   (((uint32_t)(f3) << 12) | ((uint32_t)(rd) << 7) | 0x03u)
#define TI_STORE(f3, rs2) (((uint32_t)(rs2) << 20) | ((uint32_t)(f3) << 12) | 0x23u)
#define TI_C(ti)          ((ti) & ~2u)
enum { F3_B = 0, F3_H = 1, F3_W = 2, F3_D = 3, F3_BU = 4, F3_HU = 5, F3_WU = 6 };

/* ---- one VM: a machine, guest RAM, G-stage tables, harts ---------------------------- */

enum { ACT_RAISE, ACT_FLAG };

/* an action another thread performs after a delay: raise a vipi, or set a flag in RAM */
struct delayed {
    struct vm *vm;
    pthread_t thread;
    bool running;
    int action;
    unsigned delay_ms;
    unsigned vcpu;
    uint64_t gpa;
    uint32_t value;
    _Atomic uint64_t done_ns; /* CLOCK_MONOTONIC just before the action */
};

struct vm {
    struct dv_machine *m;
    struct gstage *g;
    uint8_t *ram;
    unsigned nharts;
    struct dv_hart *h[MAX_HARTS];
    struct delayed delayed[MAX_DELAYED];
    unsigned ndelayed;
    pthread_t wd;
    bool wd_running;
    bool wd_stop;
    pthread_mutex_t wd_lock;
    pthread_cond_t wd_cond;
    atomic_bool wd_fired;
    uint64_t wd_fired_ns; /* watchdog thread only */
};

static uint64_t now_ns(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Kick every hart out with vipi when the test overruns, every 100 ms until stopped. */
static void *watchdog_main(void *arg)
{
    struct vm *vm = arg;
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += WATCHDOG_SEC;
    pthread_mutex_lock(&vm->wd_lock);
    while (!vm->wd_stop) {
        if (pthread_cond_timedwait(&vm->wd_cond, &vm->wd_lock, &deadline) == ETIMEDOUT) {
            if (!atomic_exchange(&vm->wd_fired, true))
                vm->wd_fired_ns = now_ns(CLOCK_MONOTONIC);
            else if (now_ns(CLOCK_MONOTONIC) - vm->wd_fired_ns > WATCHDOG_GRACE_SEC * 1000 * MS) {
                /* not even a vipi gets the hart out: give up on the whole binary */
                fprintf(stderr, "watchdog: a hart ignored vipi for %d s; aborting\n",
                        WATCHDOG_GRACE_SEC);
                abort();
            }
            for (unsigned i = 0; i < vm->nharts; i++)
                dv_vipi_raise(vm->m, i);
            clock_gettime(CLOCK_REALTIME, &deadline);
            deadline.tv_nsec += 100000000L;
            if (deadline.tv_nsec >= 1000000000L) {
                deadline.tv_sec++;
                deadline.tv_nsec -= 1000000000L;
            }
        }
    }
    pthread_mutex_unlock(&vm->wd_lock);
    return NULL;
}

static void *delayed_main(void *arg)
{
    struct delayed *d = arg;
    sleep_ms(d->delay_ms);
    atomic_store(&d->done_ns, now_ns(CLOCK_MONOTONIC));
    if (d->action == ACT_RAISE)
        dv_vipi_raise(d->vm->m, d->vcpu);
    else
        __atomic_store_n((uint32_t *)(d->vm->ram + (d->gpa - RAM_BASE)), d->value,
                         __ATOMIC_SEQ_CST);
    return NULL;
}

static struct delayed *later(struct vm *vm, unsigned delay_ms, int action, unsigned vcpu,
                             uint64_t gpa, uint32_t value)
{
    assert_true(vm->ndelayed < MAX_DELAYED);
    assert_true(gpa == 0 || (gpa >= RAM_BASE && gpa + 4 <= RAM_BASE + RAM_SIZE));
    struct delayed *d = &vm->delayed[vm->ndelayed++];
    d->vm = vm;
    d->action = action;
    d->delay_ms = delay_ms;
    d->vcpu = vcpu;
    d->gpa = gpa;
    d->value = value;
    atomic_store(&d->done_ns, 0);
    assert_int_equal(pthread_create(&d->thread, NULL, delayed_main, d), 0);
    d->running = true;
    return d;
}

static void delayed_join(struct delayed *d)
{
    if (d->running) {
        pthread_join(d->thread, NULL);
        d->running = false;
    }
}

static void load_image(struct vm *vm, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.bin", GUEST_IMAGES_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open guest image %s (build it with make)", path);
    size_t n = fread(vm->ram, 1, RAM_SIZE / 2, f);
    fclose(f);
    if (n == 0)
        fail_msg("guest image %s is empty", path);
}

static int vm_teardown(void **state)
{
    struct vm *vm = *state;
    if (!vm)
        return 0;
    for (unsigned i = 0; i < vm->ndelayed; i++)
        delayed_join(&vm->delayed[i]);
    if (vm->wd_running) {
        pthread_mutex_lock(&vm->wd_lock);
        vm->wd_stop = true;
        pthread_cond_signal(&vm->wd_cond);
        pthread_mutex_unlock(&vm->wd_lock);
        pthread_join(vm->wd, NULL);
    }
    for (unsigned i = 0; i < MAX_HARTS; i++)
        if (vm->h[i])
            dv_hart_destroy(vm->h[i]);
    if (vm->m)
        dv_machine_destroy(vm->m);
    if (vm->g)
        gstage_destroy(vm->g);
    if (vm->ram)
        munmap(vm->ram, RAM_SIZE);
    pthread_mutex_destroy(&vm->wd_lock);
    pthread_cond_destroy(&vm->wd_cond);
    free(vm);
    *state = NULL;
    return 0;
}

/* A VM with nharts harts' worth of machine, RAM holding image, empty G-stage tables. */
static struct vm *vm_new(void **state, const char *image, unsigned nharts)
{
    struct vm *vm = calloc(1, sizeof *vm);
    assert_non_null(vm);
    pthread_mutex_init(&vm->wd_lock, NULL);
    pthread_cond_init(&vm->wd_cond, NULL);
    *state = vm;
    vm->nharts = nharts;
    vm->m = dv_machine_create(nharts);
    assert_non_null(vm->m);
    void *ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(ram != MAP_FAILED);
    vm->ram = ram;
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RAM_SIZE), DV_OK);
    load_image(vm, image);
    vm->g = gstage_create(DV_HUGATP_MODE_SV48X4);
    assert_non_null(vm->g);
    assert_int_equal(pthread_create(&vm->wd, NULL, watchdog_main, vm), 0);
    vm->wd_running = true;
    return vm;
}

static void vm_map(struct vm *vm, uint64_t gpa, uint64_t len, unsigned perms)
{
    assert_true(gpa >= RAM_BASE && gpa + len <= RAM_BASE + RAM_SIZE);
    assert_int_equal(gstage_map(vm->g, gpa, vm->ram + (gpa - RAM_BASE), len, perms), 0);
}

static void *ram_at(struct vm *vm, uint64_t gpa, size_t len)
{
    if (gpa < RAM_BASE || gpa + len > RAM_BASE + RAM_SIZE)
        fail_msg("guest address %#" PRIx64 " is outside guest RAM", gpa);
    return vm->ram + (gpa - RAM_BASE);
}

static uint64_t ram64(struct vm *vm, uint64_t gpa)
{
    uint64_t v;
    memcpy(&v, ram_at(vm, gpa, 8), 8);
    return v;
}

static uint32_t ram32(struct vm *vm, uint64_t gpa)
{
    uint32_t v;
    memcpy(&v, ram_at(vm, gpa, 4), 4);
    return v;
}

static void ram64_set(struct vm *vm, uint64_t gpa, uint64_t v)
{
    memcpy(ram_at(vm, gpa, 8), &v, 8);
}

static void flag_set(struct vm *vm, uint64_t gpa, uint32_t v)
{
    __atomic_store_n((uint32_t *)ram_at(vm, gpa, 4), v, __ATOMIC_SEQ_CST);
}

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

/* Hart id: G-stage root, entry at 0x80000000 in VS, counters readable, vipi enabled, a0 = id. */
static struct dv_hart *vm_hart(struct vm *vm, unsigned id)
{
    assert_true(id < MAX_HARTS);
    struct dv_hart *h = dv_hart_create(vm->m, id);
    assert_non_null(h);
    vm->h[id] = h;
    csr_set(h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 0));
    csr_set(h, DV_CSR_UEPC, RAM_BASE);
    csr_set(h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP);
    csr_set(h, DV_CSR_HUCOUNTEREN, 7);
    csr_set(h, DV_CSR_HUIE, DV_HUIP_USIP);
    dv_gpr_set(h, X_A0, id);
    return h;
}

/* The exit registers in one line, for failure messages. Any thread. */
static const char *describe(struct dv_hart *h)
{
    static _Thread_local char buf[320];
    uint64_t c = 0, epc = 0, tval = 0, htval = 0, hinst = 0, hs = 0;
    dv_csr_read(h, DV_CSR_UCAUSE, &c);
    dv_csr_read(h, DV_CSR_UEPC, &epc);
    dv_csr_read(h, DV_CSR_UTVAL, &tval);
    dv_csr_read(h, DV_CSR_HUTVAL, &htval);
    dv_csr_read(h, DV_CSR_HUTINST, &hinst);
    dv_csr_read(h, DV_CSR_HUSTATUS, &hs);
    snprintf(buf, sizeof buf,
             "ucause=%#" PRIx64 " uepc=%#" PRIx64 " utval=%#" PRIx64 " hutval=%#" PRIx64
             " hutinst=%#" PRIx64 " hustatus=%#" PRIx64 " a0=%#" PRIx64 " a1=%#" PRIx64
             " a6=%#" PRIx64 " a7=%#" PRIx64,
             c, epc, tval, htval, hinst, hs, dv_gpr_get(h, X_A0), dv_gpr_get(h, X_A1),
             dv_gpr_get(h, X_A6), dv_gpr_get(h, X_A7));
    return buf;
}

/* dv_enter on the main thread: the returned cause is ucause; a watchdog kick is a failure. */
static uint64_t enter(struct vm *vm, struct dv_hart *h)
{
    uint64_t cause = dv_enter(h);
    if (atomic_load(&vm->wd_fired))
        fail_msg("watchdog: the guest ran for more than %d s (%s)", WATCHDOG_SEC, describe(h));
    if (csr(h, DV_CSR_UCAUSE) != cause)
        fail_msg("dv_enter returned %#" PRIx64 " but ucause reads %#" PRIx64, cause,
                 csr(h, DV_CSR_UCAUSE));
    return cause;
}

static void check_hustatus(struct dv_hart *h, bool gva)
{
    uint64_t hs = csr(h, DV_CSR_HUSTATUS);
    if (!(hs & DV_HUSTATUS_SPV) || !(hs & DV_HUSTATUS_SPVP) || !!(hs & DV_HUSTATUS_GVA) != gva)
        fail_msg("hustatus %#" PRIx64 ": want SPV=1 SPVP=1 GVA=%d", hs, gva);
}

static void step(struct dv_hart *h, unsigned len)
{
    csr_set(h, DV_CSR_UEPC, csr(h, DV_CSR_UEPC) + len);
}

/*
 * The next exit must be hypercall fn: an ecall from VS at uepc with a7 = HC_EXT.
 * A guest FAIL is reported with its code. Steps uepc over the ecall; returns a0.
 */
static uint64_t expect_hcall(struct vm *vm, struct dv_hart *h, unsigned fn)
{
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_ECALL_VS)
        fail_msg("want hypercall %u, got exit %s", fn, describe(h));
    uint64_t epc = csr(h, DV_CSR_UEPC);
    if (ram32(vm, epc) != INSN_ECALL)
        fail_msg("ecall exit, but uepc does not point at an ecall: %s", describe(h));
    check_hustatus(h, false);
    if (dv_gpr_get(h, X_A7) != HC_EXT)
        fail_msg("ecall with a7 != HC_EXT: %s", describe(h));
    uint64_t a6 = dv_gpr_get(h, X_A6);
    if (a6 == HC_FAIL && fn != HC_FAIL)
        fail_msg("guest FAIL code %" PRIu64 " (value %#" PRIx64 ") at uepc %#" PRIx64,
                 dv_gpr_get(h, X_A0), dv_gpr_get(h, X_A1), epc);
    if (a6 != fn)
        fail_msg("want hypercall %u, got %s", fn, describe(h));
    step(h, 4);
    return dv_gpr_get(h, X_A0);
}

static void expect_pass(struct vm *vm, struct dv_hart *h, uint64_t checkpoint)
{
    uint64_t a0 = expect_hcall(vm, h, HC_PASS);
    if (a0 != checkpoint)
        fail_msg("guest PASS %#" PRIx64 ", want %#" PRIx64, a0, checkpoint);
}

/*
 * The next exit must be a guest-page fault: cause 20/21/23 at guest address
 * gpa (VS-stage is bare, so utval = gpa too), hutval = gpa >> 2, GVA = 1,
 * hutinst as given. uepc is gpa for a fetch, else the address the guest left in t6.
 */
static void expect_gpf(struct vm *vm, struct dv_hart *h, uint64_t want_cause, uint64_t gpa,
                       uint32_t hutinst)
{
    uint64_t cause = enter(vm, h);
    if (cause != want_cause)
        fail_msg("want exit %" PRIu64 " at %#" PRIx64 ", got %s", want_cause, gpa, describe(h));
    uint64_t epc = csr(h, DV_CSR_UEPC);
    uint64_t want_epc = want_cause == DV_EXIT_FETCH_GUEST_PAGE_FAULT ? gpa : dv_gpr_get(h, X_T6);
    if (epc != want_epc || csr(h, DV_CSR_UTVAL) != gpa || csr(h, DV_CSR_HUTVAL) != gpa >> 2 ||
        csr(h, DV_CSR_HUTINST) != hutinst)
        fail_msg("exit %" PRIu64 ": want uepc=%#" PRIx64 " utval=%#" PRIx64 " hutval=%#" PRIx64
                 " hutinst=%#x, got %s",
                 cause, want_epc, gpa, gpa >> 2, hutinst, describe(h));
    check_hustatus(h, true);
}

/* ---- 1. ecall --------------------------------------------------------------------- */

static void test_ecall(void **state)
{
    static const uint64_t in[6] = {0x0123456789ABCDEFull, 0xFEDCBA9876543210ull,
                                   0x8000000000000001ull, 0x7FFFFFFFFFFFFFFEull,
                                   0xA5A5A5A55A5A5A5Aull, 0x00000000FFFFFFFFull};
    struct vm *vm = vm_new(state, "ecall", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    assert_int_equal(enter(vm, h), DV_EXIT_ECALL_VS);
    /* uepc is the ecall itself (the guest put its address in t0), not the next one */
    assert_int_equal(csr(h, DV_CSR_UEPC), dv_gpr_get(h, X_T0));
    assert_int_equal(ram32(vm, csr(h, DV_CSR_UEPC)), INSN_ECALL);
    assert_int_equal(dv_gpr_get(h, X_A7), HC_EXT);
    assert_int_equal(dv_gpr_get(h, X_A6), HC_ECHO);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(dv_gpr_get(h, X_A0 + i), in[i]);
    /* no address, no transformed instruction for an ecall */
    assert_int_equal(csr(h, DV_CSR_UTVAL), 0);
    assert_int_equal(csr(h, DV_CSR_HUTINST), 0);
    check_hustatus(h, false);

    dv_gpr_set(h, X_A0, 0x1122334455667788ull);
    dv_gpr_set(h, X_A1, 0x99AABBCCDDEEFF00ull);
    step(h, 4);
    expect_pass(vm, h, 1);
}

/* ---- 2. all GPRs across an exit ---------------------------------------------------- */

#define PATTERN(i) (UINT64_C(0xA500000000000000) + (uint64_t)(i)*UINT64_C(0x0001000100010001))

static void test_gprs_preserved(void **state)
{
    struct vm *vm = vm_new(state, "gprs", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    /* exit 1: x1..x31 = P(i); leave them alone, the guest checks them afterwards */
    assert_int_equal(enter(vm, h), DV_EXIT_ECALL_VS);
    assert_int_equal(ram32(vm, csr(h, DV_CSR_UEPC)), INSN_ECALL);
    assert_int_equal(dv_gpr_get(h, 0), 0);
    for (unsigned i = 1; i < 32; i++)
        if (dv_gpr_get(h, i) != PATTERN(i))
            fail_msg("x%u = %#" PRIx64 ", want %#" PRIx64, i, dv_gpr_get(h, i), PATTERN(i));
    step(h, 4);

    /* exit 2: write ~P(i) everywhere; x0 stays 0 */
    assert_int_equal(enter(vm, h), DV_EXIT_ECALL_VS);
    assert_int_equal(ram32(vm, csr(h, DV_CSR_UEPC)), INSN_ECALL);
    for (unsigned i = 1; i < 32; i++)
        dv_gpr_set(h, i, ~PATTERN(i));
    dv_gpr_set(h, 0, 0x1234);
    assert_int_equal(dv_gpr_get(h, 0), 0);
    for (unsigned i = 1; i < 32; i++)
        assert_int_equal(dv_gpr_get(h, i), ~PATTERN(i));
    step(h, 4);
    expect_pass(vm, h, 2);
}

/* ---- 3. lazy G-stage mapping ------------------------------------------------------- */

struct gpf {
    uint64_t cause;
    uint64_t gpa;
    uint32_t hutinst;
};

static void test_lazy_gstage(void **state)
{
    static const struct gpf want[] = {
        {DV_EXIT_STORE_GUEST_PAGE_FAULT, 0x80100008, TI_STORE(F3_D, X_T1)},
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 0x80200FF8, TI_LOAD(F3_D, X_A0)},
        {DV_EXIT_STORE_GUEST_PAGE_FAULT, 0x80300FF8, TI_STORE(F3_D, X_T1)},
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 0x80400004, TI_LOAD(F3_W, X_A1)},
        /* instruction guest-page faults carry no transformed instruction */
        {DV_EXIT_FETCH_GUEST_PAGE_FAULT, 0x80001000, 0},
    };
    struct vm *vm = vm_new(state, "lazy", 1);
    vm_map(vm, RAM_BASE, PAGE_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    ram64_set(vm, 0x80200FF8, 0x0123456789ABCDEFull);
    ram64_set(vm, 0x80400000, 0x8000000100000000ull); /* the word at +4 is 0x80000001 */
    struct dv_hart *h = vm_hart(vm, 0);

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        expect_gpf(vm, h, want[i].cause, want[i].gpa, want[i].hutinst);
        void *host;
        unsigned perms;
        uint64_t page = want[i].gpa & ~(PAGE_SIZE - 1);
        assert_int_equal(gstage_lookup(vm->g, want[i].gpa, &host, &perms), -1);
        vm_map(vm, page, PAGE_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
        dv_hufence_gvma(h);
        /* re-enter at the same uepc: the access is retried */
    }
    expect_pass(vm, h, 3);
    assert_int_equal(ram64(vm, 0x80100008), 0x1111222233334444ull);
    assert_int_equal(ram64(vm, 0x80300FF8), 0x1111222233334444ull);
}

/* ---- 4. G-stage permissions ---------------------------------------------------------- */

static void test_gstage_perms(void **state)
{
    const uint64_t ro = RAM_BASE + PAGE_SIZE, rw = RAM_BASE + 2 * PAGE_SIZE;
    struct vm *vm = vm_new(state, "perms", 1);
    vm_map(vm, RAM_BASE, PAGE_SIZE, GSTAGE_R | GSTAGE_X);
    vm_map(vm, ro, PAGE_SIZE, GSTAGE_R);
    vm_map(vm, rw, PAGE_SIZE, GSTAGE_R | GSTAGE_W);
    struct dv_hart *h = vm_hart(vm, 0);

    /* sd t1, 8(t0) to the read-only page: dropped by stepping over it */
    expect_gpf(vm, h, DV_EXIT_STORE_GUEST_PAGE_FAULT, ro + 8, TI_STORE(F3_D, X_T1));
    step(h, 4);
    /* amoadd.d a2, t1, (t0): an AMO is a store/AMO fault; hutinst is the AMO with rs1 = 0 */
    expect_gpf(vm, h, DV_EXIT_STORE_GUEST_PAGE_FAULT, ro,
               (0x00u << 27) | (X_T1 << 20) | (F3_D << 12) | (X_A2 << 7) | 0x2Fu);
    step(h, 4);
    /* a call into the R|W page: fetch fault at its first byte; make it executable */
    expect_gpf(vm, h, DV_EXIT_FETCH_GUEST_PAGE_FAULT, rw, 0);
    vm_map(vm, rw, PAGE_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    dv_hufence_gvma(h);
    expect_pass(vm, h, 4);
    assert_int_equal(ram64(vm, ro), 0);
    assert_int_equal(ram64(vm, ro + 8), 0xFEEDFACECAFEBEEFull);
}

/* ---- 5. MMIO at every width ------------------------------------------------------------ */

struct mmio {
    bool store;
    uint64_t gpa;
    uint32_t hutinst;
    uint64_t value; /* stores: what the device must receive */
};

static void test_mmio(void **state)
{
    static const struct mmio want[] = {
        {false, MMIO_DEV + 3, TI_LOAD(F3_B, X_A0), 0},
        {false, MMIO_DEV + 3, TI_LOAD(F3_BU, X_S2), 0},
        {false, MMIO_DEV + 2, TI_LOAD(F3_H, X_T3), 0},
        {false, MMIO_DEV + 6, TI_LOAD(F3_HU, X_A2), 0},
        {false, MMIO_DEV + 4, TI_LOAD(F3_W, X_S11), 0},
        {false, MMIO_DEV + 12, TI_LOAD(F3_WU, X_T1), 0},
        {false, MMIO_DEV + 16, TI_LOAD(F3_D, X_S4), 0},
        {false, MMIO_DEV + 4, TI_C(TI_LOAD(F3_W, X_A0)), 0},  /* c.lw */
        {false, MMIO_DEV + 8, TI_C(TI_LOAD(F3_D, X_S1)), 0},  /* c.ld */
        {false, MMIO_DEV + 20, TI_C(TI_LOAD(F3_W, X_T2)), 0}, /* c.lwsp */
        {false, MMIO_DEV + 24, TI_C(TI_LOAD(F3_D, X_S5)), 0}, /* c.ldsp */
        {true, MMIO_DEV + 1, TI_STORE(F3_B, X_S6), 0x5A},
        {true, MMIO_DEV + 2, TI_STORE(F3_H, X_S7), 0xBEEF},
        {true, MMIO_DEV + 4, TI_STORE(F3_W, X_S8), 0xDEADBEEF},
        {true, MMIO_DEV + 8, TI_STORE(F3_D, X_S9), 0x0123456789ABCDEFull},
        {true, MMIO_DEV + 12, TI_C(TI_STORE(F3_W, X_A2)), 0x12345678},            /* c.sw */
        {true, MMIO_DEV + 16, TI_C(TI_STORE(F3_D, X_A3)), 0xFEDCBA9876543210ull}, /* c.sd */
        {true, MMIO_DEV + 20, TI_C(TI_STORE(F3_W, X_S10)), 0x87654321},           /* c.swsp */
        {true, MMIO_DEV + 24, TI_C(TI_STORE(F3_D, X_A4)), 0x0F1E2D3C4B5A6978ull}, /* c.sdsp */
    };
    uint8_t dev[32];
    for (unsigned k = 0; k < sizeof dev; k++)
        dev[k] = (uint8_t)(0xE0 + k);
    struct vm *vm = vm_new(state, "mmio", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const struct mmio *w = &want[i];
        uint64_t cause = enter(vm, h);
        uint64_t want_cause =
            w->store ? DV_EXIT_STORE_GUEST_PAGE_FAULT : DV_EXIT_LOAD_GUEST_PAGE_FAULT;
        if (cause != want_cause)
            fail_msg("access %zu: want exit %" PRIu64 ", got %s", i, want_cause, describe(h));
        /* the full guest-physical address: hutval holds bits 63:2, utval the low bits */
        uint64_t tval = csr(h, DV_CSR_UTVAL), htval = csr(h, DV_CSR_HUTVAL);
        uint64_t gpa = (htval << 2) | (tval & 3);
        uint32_t ti = (uint32_t)csr(h, DV_CSR_HUTINST);
        if (gpa != w->gpa || tval != w->gpa || ti != w->hutinst ||
            csr(h, DV_CSR_UEPC) != dv_gpr_get(h, X_T6))
            fail_msg("access %zu: want gpa=utval=%#" PRIx64 " hutinst=%#x uepc=%#" PRIx64
                     ", got %s",
                     i, w->gpa, w->hutinst, dv_gpr_get(h, X_T6), describe(h));
        check_hustatus(h, true);

        /* emulate from hutinst alone, as a hypervisor's MMIO path does */
        unsigned f3 = (ti >> 12) & 7, size = 1u << (f3 & 3), len = (ti & 2) ? 4 : 2;
        unsigned off = (unsigned)(gpa - MMIO_DEV);
        assert_true(off + size <= sizeof dev);
        if (w->store) {
            uint64_t v = dv_gpr_get(h, (ti >> 20) & 31);
            if (size < 8)
                v &= (1ull << (8 * size)) - 1;
            if (v != w->value)
                fail_msg("access %zu: stored %#" PRIx64 ", want %#" PRIx64, i, v, w->value);
            memcpy(&dev[off], &v, size);
        } else {
            uint64_t v = 0;
            memcpy(&v, &dev[off], size);
            if (size < 8 && !(f3 & 4) && (v >> (8 * size - 1)) & 1)
                v |= ~0ull << (8 * size);
            dv_gpr_set(h, (ti >> 7) & 31, v);
        }
        step(h, len);
    }
    expect_pass(vm, h, 5);
    /* the ecall exit after all those faults: no stale hutinst or GVA */
    assert_int_equal(csr(h, DV_CSR_HUTINST), 0);
    check_hustatus(h, false);
}

/* ---- 6. virtual timer ------------------------------------------------------------------ */

static void test_vtimer(void **state)
{
    const uint64_t delta = 1ull << 40; /* guest time runs far ahead of host time */
    struct vm *vm = vm_new(state, "spin", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);
    csr_set(h, DV_CSR_HUIE, DV_HUIP_USIP | DV_HUIP_UTIP);
    csr_set(h, DV_CSR_HUTIMEDELTA, delta);

    /* a disabled timer raises nothing, even when long due: only the vipi ends this run */
    csr_set(h, DV_CSR_VTIMECMP, 0);
    csr_set(h, DV_CSR_VTIMECTL, 0);
    later(vm, 50, ACT_RAISE, 0, 0, 0);
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_USIP)
        fail_msg("disabled vtimer: want only the USIP exit, got %s", describe(h));

    /* enabled, 30 ms ahead in guest time: UTIP, not before vtimecmp */
    uint64_t cmp = dv_host_time() + delta + DV_TIMEBASE_HZ * 30 / 1000;
    csr_set(h, DV_CSR_VTIMECMP, cmp);
    csr_set(h, DV_CSR_VTIMECTL, DV_VTIMECTL_ENABLE | DV_VTIMECTL_UTIP);
    cause = enter(vm, h);
    uint64_t now = dv_host_time() + csr(h, DV_CSR_HUTIMEDELTA);
    if (cause != DV_EXIT_UTIP)
        fail_msg("want UTIP exit, got %s", describe(h));
    if (now < cmp)
        fail_msg("UTIP exit %" PRIu64 " ticks before vtimecmp", cmp - now);
    if (now - cmp > 2 * DV_TIMEBASE_HZ)
        fail_msg("UTIP exit %" PRIu64 " ticks after vtimecmp", now - cmp);
    check_hustatus(h, false);

    /* disarm; the guest then finishes when the flag is set */
    csr_set(h, DV_CSR_VTIMECTL, 0);
    csr_set(h, DV_CSR_VTIMECMP, UINT64_MAX);
    uint64_t ip = csr(h, DV_CSR_HUIP);
    if (ip & DV_HUIP_UTIP)
        dv_csr_write(h, DV_CSR_HUIP, ip & ~DV_HUIP_UTIP);
    later(vm, 50, ACT_FLAG, 0, MAILBOX, 7);
    expect_pass(vm, h, 7);
}

/* a hart blocked in WFI (VTW = 0) is woken by its vtimer: UTIP exit, not early, no spinning */
static void test_vtimer_wakes_wfi(void **state)
{
    struct vm *vm = vm_new(state, "wfiipi", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);
    csr_set(h, DV_CSR_HUIE, DV_HUIP_USIP | DV_HUIP_UTIP);
    csr_set(h, DV_CSR_HUTIMEDELTA, 12345);

    uint64_t cmp = dv_host_time() + 12345 + DV_TIMEBASE_HZ * 200 / 1000;
    csr_set(h, DV_CSR_VTIMECMP, cmp);
    csr_set(h, DV_CSR_VTIMECTL, DV_VTIMECTL_ENABLE | DV_VTIMECTL_UTIP);
    uint64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t cause = enter(vm, h);
    uint64_t wall1 = now_ns(CLOCK_MONOTONIC), cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t now = dv_host_time() + 12345;
    if (cause != DV_EXIT_UTIP)
        fail_msg("want UTIP exit, got %s", describe(h));
    if (now < cmp)
        fail_msg("UTIP exit %" PRIu64 " ticks before vtimecmp", cmp - now);
    if (csr(h, DV_CSR_UEPC) != dv_gpr_get(h, X_T6) + 4)
        fail_msg("want uepc = wfi + 4 = %#" PRIx64 ", got %s", dv_gpr_get(h, X_T6) + 4,
                 describe(h));
    if ((cpu1 - cpu0) * 2 > wall1 - wall0)
        fail_msg("wfi spun: %" PRIu64 " ms CPU in %" PRIu64 " ms", (cpu1 - cpu0) / MS,
                 (wall1 - wall0) / MS);
    csr_set(h, DV_CSR_VTIMECTL, 0);
    csr_set(h, DV_CSR_VTIMECMP, UINT64_MAX);
    flag_set(vm, MAILBOX, 4);
    expect_pass(vm, h, 4);
}

/* ---- 7. vIPI --------------------------------------------------------------------------- */

/* (a) raised by another thread while the guest spins: exactly one USIP exit */
static void test_vipi_running(void **state)
{
    struct vm *vm = vm_new(state, "spin", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    later(vm, 30, ACT_RAISE, 0, 0, 0);
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_USIP)
        fail_msg("want USIP exit, got %s", describe(h));
    check_hustatus(h, false);
    uint64_t epc = csr(h, DV_CSR_UEPC);
    assert_true(epc >= RAM_BASE && epc < RAM_BASE + 64);
    /* the guest keeps spinning (no second USIP) until the flag is set 100 ms later */
    later(vm, 100, ACT_FLAG, 0, MAILBOX, 1);
    expect_pass(vm, h, 1);
}

/* (b) raised twice before entering: the raises coalesce into one exit */
static void test_vipi_coalesce(void **state)
{
    struct vm *vm = vm_new(state, "spin", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    dv_vipi_raise(vm->m, 0);
    dv_vipi_raise(vm->m, 0);
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_USIP)
        fail_msg("want USIP exit, got %s", describe(h));
    later(vm, 100, ACT_FLAG, 0, MAILBOX, 2);
    cause = enter(vm, h);
    if (cause == DV_EXIT_USIP)
        fail_msg("two raises before dv_enter gave a second USIP exit");
    if (cause != DV_EXIT_ECALL_VS || dv_gpr_get(h, X_A6) != HC_PASS || dv_gpr_get(h, X_A0) != 2)
        fail_msg("want PASS 2, got %s", describe(h));
}

/* (c) two harts on two threads; hart 0's guest has the hypervisor raise hart 1 */
#define VIPI2_READY   (MAILBOX + 0x40)
#define VIPI2_RELEASE (MAILBOX + 0x80)

struct worker {
    struct vm *vm;
    unsigned id;
    pthread_t thread;
    pthread_barrier_t *start;
    atomic_bool *hart1_usip;
    char err[400];
};

#define WFAIL(w, ...)                                                                              \
    do {                                                                                           \
        snprintf((w)->err, sizeof(w)->err, __VA_ARGS__);                                           \
        return;                                                                                    \
    } while (0)

/* dv_enter from a worker thread; "" in err means fine so far */
static uint64_t wenter(struct worker *w)
{
    uint64_t cause = dv_enter(w->vm->h[w->id]);
    if (atomic_load(&w->vm->wd_fired))
        snprintf(w->err, sizeof w->err, "hart %u: watchdog fired (%s)", w->id,
                 describe(w->vm->h[w->id]));
    return cause;
}

static bool is_hcall(struct dv_hart *h, uint64_t cause, unsigned fn, uint64_t a0)
{
    return cause == DV_EXIT_ECALL_VS && dv_gpr_get(h, X_A7) == HC_EXT &&
           dv_gpr_get(h, X_A6) == fn && dv_gpr_get(h, X_A0) == a0;
}

static void wstep(struct dv_hart *h)
{
    uint64_t epc = 0;
    dv_csr_read(h, DV_CSR_UEPC, &epc);
    dv_csr_write(h, DV_CSR_UEPC, epc + 4);
}

static void vipi2_hart0(struct worker *w)
{
    struct dv_hart *h = w->vm->h[0];
    uint64_t cause = wenter(w);
    if (w->err[0] || !is_hcall(h, cause, HC_RAISE, 1))
        WFAIL(w, "hart 0: want HC_RAISE 1, got %s", describe(h));
    dv_vipi_raise(w->vm->m, 1);
    wstep(h);
    cause = wenter(w);
    if (w->err[0] || !is_hcall(h, cause, HC_PASS, 0x70))
        WFAIL(w, "hart 0: want PASS 0x70, got %s", describe(h));
    /* wait until hart 1 took its USIP exit, then give it 100 ms to take a second one */
    for (unsigned i = 0; i < 5000 && !atomic_load(w->hart1_usip); i++)
        sleep_ms(1);
    if (!atomic_load(w->hart1_usip))
        WFAIL(w, "hart 1 took no USIP exit within 5 s of the raise");
    sleep_ms(100);
}

static void *vipi2_main(void *arg)
{
    struct worker *w = arg;
    struct dv_hart *h = w->vm->h[w->id];
    pthread_barrier_wait(w->start);
    if (w->id == 0) {
        vipi2_hart0(w);
        /* release hart 1 whatever happened, so that its thread ends */
        __atomic_store_n((uint32_t *)(w->vm->ram + (VIPI2_RELEASE - RAM_BASE)), 1,
                         __ATOMIC_SEQ_CST);
        return NULL;
    }
    uint64_t cause = wenter(w);
    if (w->err[0])
        return NULL;
    if (cause != DV_EXIT_USIP) {
        snprintf(w->err, sizeof w->err, "hart 1: want USIP exit, got %s", describe(h));
        return NULL;
    }
    atomic_store(w->hart1_usip, true);
    cause = wenter(w);
    if (!w->err[0] && !is_hcall(h, cause, HC_PASS, 0x71))
        snprintf(w->err, sizeof w->err, "hart 1: want PASS 0x71 (one USIP only), got %s",
                 describe(h));
    return NULL;
}

static void run_workers(struct vm *vm, void *(*fn)(void *), struct worker *w, atomic_bool *flag)
{
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, vm->nharts);
    for (unsigned i = 0; i < vm->nharts; i++) {
        w[i] = (struct worker){.vm = vm, .id = i, .start = &start, .hart1_usip = flag};
        if (pthread_create(&w[i].thread, NULL, fn, &w[i]) != 0)
            abort();
    }
    for (unsigned i = 0; i < vm->nharts; i++)
        pthread_join(w[i].thread, NULL);
    pthread_barrier_destroy(&start);
    for (unsigned i = 0; i < vm->nharts; i++)
        if (w[i].err[0])
            fail_msg("%s", w[i].err);
}

static void test_vipi_cross_hart(void **state)
{
    struct vm *vm = vm_new(state, "vipi2", 2);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    vm_hart(vm, 0);
    vm_hart(vm, 1);
    assert_int_equal(csr(vm->h[0], DV_CSR_VCPUID), 0);
    assert_int_equal(csr(vm->h[1], DV_CSR_VCPUID), 1);
    struct worker w[2];
    atomic_bool hart1_usip = false;
    run_workers(vm, vipi2_main, w, &hart1_usip);
}

/* (d) a hart blocked in WFI (VTW = 0) is woken by a vipi from another thread, promptly */
static void test_vipi_wakes_wfi(void **state)
{
    struct vm *vm = vm_new(state, "wfiipi", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    struct delayed *d = later(vm, 150, ACT_RAISE, 0, 0, 0);
    uint64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    uint64_t cause = enter(vm, h);
    uint64_t wall1 = now_ns(CLOCK_MONOTONIC), cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    delayed_join(d);
    if (cause != DV_EXIT_USIP)
        fail_msg("want USIP exit, got %s", describe(h));
    /* the interrupt is taken at the instruction after the wfi */
    if (csr(h, DV_CSR_UEPC) != dv_gpr_get(h, X_T6) + 4)
        fail_msg("want uepc = wfi + 4 = %#" PRIx64 ", got %s", dv_gpr_get(h, X_T6) + 4,
                 describe(h));
    uint64_t latency = wall1 - atomic_load(&d->done_ns);
    if (latency > 200 * MS)
        fail_msg("USIP exit %" PRIu64 " ms after the raise", latency / MS);
    if ((cpu1 - cpu0) * 2 > wall1 - wall0)
        fail_msg("wfi spun: %" PRIu64 " ms CPU in %" PRIu64 " ms", (cpu1 - cpu0) / MS,
                 (wall1 - wall0) / MS);
    flag_set(vm, MAILBOX, 3);
    expect_pass(vm, h, 3);
}

/* ---- 8. WFI ----------------------------------------------------------------------------- */

static void test_wfi(void **state)
{
    struct vm *vm = vm_new(state, "wfi", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    /* VTW = 1: wfi is a virtual-instruction exit with utval = its bits */
    csr_set(h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP | DV_HUSTATUS_VTW);
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_VIRTUAL_INSTRUCTION)
        fail_msg("want virtual-instruction exit for wfi, got %s", describe(h));
    assert_int_equal(csr(h, DV_CSR_UEPC), dv_gpr_get(h, X_T6));
    assert_int_equal(csr(h, DV_CSR_UTVAL), INSN_WFI);
    check_hustatus(h, false);
    step(h, 4);

    /* VTW = 0: wfi blocks until the guest's own stimecmp is due */
    csr_set(h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP);
    assert_int_equal(expect_hcall(vm, h, HC_MARK), 0);
    uint64_t wall0 = now_ns(CLOCK_MONOTONIC), cpu0 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    assert_int_equal(expect_hcall(vm, h, HC_MARK), 1);
    uint64_t wall1 = now_ns(CLOCK_MONOTONIC), cpu1 = now_ns(CLOCK_THREAD_CPUTIME_ID);
    if (wall1 - wall0 < 100 * MS)
        fail_msg("the guest's wfi loop ended after %" PRIu64 " ms, before stimecmp",
                 (wall1 - wall0) / MS);
    if ((cpu1 - cpu0) * 2 > wall1 - wall0)
        fail_msg("wfi spun: %" PRIu64 " ms CPU in %" PRIu64 " ms", (cpu1 - cpu0) / MS,
                 (wall1 - wall0) / MS);
    expect_pass(vm, h, 8);
}

/* ---- 9. atomics across two harts --------------------------------------------------------- */

#define AMO_N 20000

static void *amo_main(void *arg)
{
    struct worker *w = arg;
    struct dv_hart *h = w->vm->h[w->id];
    pthread_barrier_wait(w->start);
    uint64_t cause = wenter(w);
    if (!w->err[0] && !is_hcall(h, cause, HC_PASS, 9))
        snprintf(w->err, sizeof w->err, "hart %u: want PASS 9, got %s", w->id, describe(h));
    return NULL;
}

static void test_atomics_two_harts(void **state)
{
    struct vm *vm = vm_new(state, "amo", 2);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    vm_hart(vm, 0);
    vm_hart(vm, 1);
    struct worker w[2];
    run_workers(vm, amo_main, w, NULL);
    assert_int_equal(ram32(vm, MAILBOX), 2);                /* rendezvous */
    assert_int_equal(ram64(vm, MAILBOX + 0x40), 2 * AMO_N); /* amoadd.d */
    assert_int_equal(ram64(vm, MAILBOX + 0x80), 2 * AMO_N); /* lr.d/sc.d */
    assert_int_equal(ram64(vm, MAILBOX + 0xC0), 2 * AMO_N); /* amoadd.w, upper word 0 */
}

/* ---- 10. guest-internal traps ------------------------------------------------------------ */

static void test_guest_traps(void **state)
{
    struct vm *vm = vm_new(state, "traps", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    /* five guest traps, none an exit: the first exit is the final PASS */
    expect_pass(vm, h, 10);
    /* the guest's trap CSRs, through their HU aliases, show the last one: ecall from VU */
    assert_int_equal(csr(h, DV_CSR_HUVSCAUSE), 8);
    assert_int_equal(csr(h, DV_CSR_HUVSTVAL), 0);
}

/* ---- 11. the guest's own Sv39 paging ------------------------------------------------------ */

static void test_guest_sv39(void **state)
{
    struct vm *vm = vm_new(state, "sv39", 1);
    vm_map(vm, RAM_BASE, RAM_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    struct dv_hart *h = vm_hart(vm, 0);

    /* the page faults at VA 0x40001000 stay in the guest: the first exit is PASS */
    expect_pass(vm, h, 11);
    assert_int_equal(csr(h, DV_CSR_HUVSATP), (8ull << 60) | (0x80010000ull >> 12));
    assert_int_equal(csr(h, DV_CSR_HUVSCAUSE), 15);
    assert_int_equal(csr(h, DV_CSR_HUVSTVAL), 0x40001008);
    /* the hart set A and D in the guest's leaf PTE (L0[0] at 0x80012000) */
    assert_int_equal(ram64(vm, 0x80012000) & 0xC0, 0xC0);
    assert_int_equal(ram64(vm, 0x80020010), 0x0BADCAFE87654321ull);
}

/* ---- 12. G-stage faults in the guest's own page-table walk -------------------------------- */

static void test_gstage_fault_in_vs_walk(void **state)
{
    const uint64_t root = 0x80010000, l1 = 0x80200000, l0 = 0x80300000, data = 0x80020000;
    const uint64_t va = 0x40000000;
    struct vm *vm = vm_new(state, "ptwalk", 1);
    vm_map(vm, RAM_BASE, 1ull << 20, GSTAGE_R | GSTAGE_W | GSTAGE_X);
    vm_map(vm, l0, PAGE_SIZE, GSTAGE_R);
    /* Sv39: root[2] = identity gigapage (V R W X A D), root[1] -> L1 -> L0 -> data (V R W) */
    ram64_set(vm, root + 16, ((RAM_BASE >> 12) << 10) | 0xCF);
    ram64_set(vm, root + 8, ((l1 >> 12) << 10) | 1);
    ram64_set(vm, l1, ((l0 >> 12) << 10) | 1);
    ram64_set(vm, l0, ((data >> 12) << 10) | 0x07);
    ram64_set(vm, data + 8, 0x5555AAAA5555AAAAull);
    struct dv_hart *h = vm_hart(vm, 0);

    /* the implicit read of the L1 PTE: utval is the VA being translated */
    uint64_t cause = enter(vm, h);
    if (cause != DV_EXIT_LOAD_GUEST_PAGE_FAULT || csr(h, DV_CSR_UTVAL) != va + 8 ||
        csr(h, DV_CSR_HUTVAL) != l1 >> 2 || csr(h, DV_CSR_HUTINST) != DV_HUTINST_PTE_READ ||
        csr(h, DV_CSR_UEPC) != dv_gpr_get(h, X_T6))
        fail_msg("PTE read: want exit 21 utval=%#" PRIx64 " hutval=%#" PRIx64
                 " hutinst=%#x, got %s",
                 va + 8, l1 >> 2, DV_HUTINST_PTE_READ, describe(h));
    check_hustatus(h, true);
    vm_map(vm, l1, PAGE_SIZE, GSTAGE_R | GSTAGE_W);
    dv_hufence_gvma(h);

    /* the hart's A-bit update of the leaf, a write to a read-only page */
    cause = enter(vm, h);
    if (cause != DV_EXIT_STORE_GUEST_PAGE_FAULT || csr(h, DV_CSR_UTVAL) != va + 8 ||
        csr(h, DV_CSR_HUTVAL) != l0 >> 2 || csr(h, DV_CSR_HUTINST) != DV_HUTINST_PTE_WRITE ||
        csr(h, DV_CSR_UEPC) != dv_gpr_get(h, X_T6))
        fail_msg("PTE write: want exit 23 utval=%#" PRIx64 " hutval=%#" PRIx64
                 " hutinst=%#x, got %s",
                 va + 8, l0 >> 2, DV_HUTINST_PTE_WRITE, describe(h));
    check_hustatus(h, true);
    vm_map(vm, l0, PAGE_SIZE, GSTAGE_R | GSTAGE_W);
    dv_hufence_gvma(h);

    expect_pass(vm, h, 12);
    assert_int_equal(ram64(vm, l0) & 0xC0, 0x40); /* A set by the load, D not */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_ecall, vm_teardown),
        cmocka_unit_test_teardown(test_gprs_preserved, vm_teardown),
        cmocka_unit_test_teardown(test_lazy_gstage, vm_teardown),
        cmocka_unit_test_teardown(test_gstage_perms, vm_teardown),
        cmocka_unit_test_teardown(test_mmio, vm_teardown),
        cmocka_unit_test_teardown(test_vtimer, vm_teardown),
        cmocka_unit_test_teardown(test_vtimer_wakes_wfi, vm_teardown),
        cmocka_unit_test_teardown(test_vipi_running, vm_teardown),
        cmocka_unit_test_teardown(test_vipi_coalesce, vm_teardown),
        cmocka_unit_test_teardown(test_vipi_cross_hart, vm_teardown),
        cmocka_unit_test_teardown(test_vipi_wakes_wfi, vm_teardown),
        cmocka_unit_test_teardown(test_wfi, vm_teardown),
        cmocka_unit_test_teardown(test_atomics_two_harts, vm_teardown),
        cmocka_unit_test_teardown(test_guest_traps, vm_teardown),
        cmocka_unit_test_teardown(test_guest_sv39, vm_teardown),
        cmocka_unit_test_teardown(test_gstage_fault_in_vs_walk, vm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
