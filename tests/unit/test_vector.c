/*
 * The V extension on the hart.
 *
 * Differential: every program in tests/vector/ (riscv64, printing through
 * Linux write/exit ecalls) runs under qemu-riscv64 user mode (QEMU 7.2, V 1.0,
 * tail/mask undisturbed) and on the hart in VS mode with a bare vsatp, where
 * this file answers the same ecalls (write, exit, mmap, munmap) as a tiny
 * kernel would; the outputs must be equal line for line. Each runs with the
 * interpreter and with the JIT (threshold 1), at VLEN 128, 256, 512 and 1024.
 *
 * The hart side also offers a syscall QEMU does not know (LAZY, ignored
 * there): it takes pages out of the G-stage and maps them back on their first
 * guest-page fault, as the VMM maps RAM lazily, logging each fault's cause,
 * vstart, utval and hutinst. Those logs prove that a vector access that
 * faults in the middle exits with vstart at the faulting element and resumes
 * from there.
 *
 * Hart only: vsstatus.VS Off makes vector instructions and CSRs illegal; a
 * vector instruction sets VS Dirty and SD; vsetvl's AVL rules and vill; the
 * contract calls (vector CSRs and dv_vreg_*) a snapshot uses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hart/dvext.h"
#include "hart/engine.h"
#include "vmm/gstage.h"

#define RAM_BASE   0x80000000ull
#define RAM_SIZE   (32ull << 20)
#define IMAGE_SIZE (15ull << 20) /* mapped at start; the stack grows down from its top */
#define POOL_BASE  0x81000000ull /* mmap() hands out pages from here up */
#define SYS_LAZY   500
#define MAX_FAULTS 64
#define MAX_EXITS  1000000
#define QEMU       "qemu-riscv64-static"

struct fault {
    uint64_t cause, vstart, utval, hutinst;
};

struct run {
    const char *name;
    unsigned vlen;
    bool jit;
    char *out;
    size_t out_len, out_cap;
    bool exited, segv;
    uint64_t lazy_start, lazy_end;
    unsigned nfaults;
    struct fault faults[MAX_FAULTS];
};

static void append(struct run *r, const char *s, size_t n)
{
    if (r->out_len + n + 1 > r->out_cap) {
        r->out_cap = (r->out_len + n + 1) * 2;
        r->out = realloc(r->out, r->out_cap);
        assert_non_null(r->out);
    }
    memcpy(r->out + r->out_len, s, n);
    r->out_len += n;
    r->out[r->out_len] = 0;
}

static uint64_t csr(struct dv_hart *h, unsigned n)
{
    uint64_t v = 0;
    assert_int_equal(dv_csr_read(h, n, &v), DV_OK);
    return v;
}

struct vm {
    struct dv_machine *m;
    struct dv_hart *h;
    struct gstage *g;
    uint8_t *ram;
};

static void vm_open(struct vm *vm, unsigned vlen, bool jit)
{
    vm->m = dv_machine_create(1);
    assert_non_null(vm->m);
    struct dv_engine_config c;
    dv_engine_default(&c);
    c.jit = jit && dv_jit_supported();
    c.threshold = 1;
    c.vlen = vlen;
    assert_int_equal(dv_machine_set_engine(vm->m, &c), DV_OK);
    vm->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(vm->ram != MAP_FAILED);
    assert_int_equal(dv_machine_add_window(vm->m, vm->ram, RAM_SIZE), DV_OK);
    vm->g = gstage_create(DV_HUGATP_MODE_SV48X4);
    assert_non_null(vm->g);
    assert_int_equal(
        gstage_map(vm->g, RAM_BASE, vm->ram, IMAGE_SIZE, GSTAGE_R | GSTAGE_W | GSTAGE_X), 0);
    vm->h = dv_hart_create(vm->m, 0);
    assert_non_null(vm->h);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUGATP, gstage_hugatp(vm->g, 0)), DV_OK);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_UEPC, RAM_BASE), DV_OK);
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP),
                     DV_OK);
    /* FS and VS Initial, as a Linux process starts */
    assert_int_equal(dv_csr_write(vm->h, DV_CSR_HUVSSTATUS, 1ull << 13 | 1ull << 9), DV_OK);
    dv_gpr_set(vm->h, 2, RAM_BASE + IMAGE_SIZE);
}

static void vm_close(struct vm *vm)
{
    dv_hart_destroy(vm->h);
    dv_machine_destroy(vm->m);
    gstage_destroy(vm->g);
    munmap(vm->ram, RAM_SIZE);
}

static void load(struct vm *vm, const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s.bin", VECTOR_TESTS_DIR, name);
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s (make builds it)", path);
    size_t n = fread(vm->ram, 1, IMAGE_SIZE / 2, f);
    fclose(f);
    assert_true(n > 0);
}

static bool in_pool(uint64_t addr, uint64_t len)
{
    return addr >= POOL_BASE && addr + len <= RAM_BASE + RAM_SIZE && addr + len > addr &&
           !(addr & 0xfff);
}

static uint64_t page_up(uint64_t v)
{
    return (v + 0xfff) & ~0xfffull;
}

/* The ecalls the programs make (Linux numbers). */
static uint64_t syscall_of(struct vm *vm, struct run *r)
{
    struct dv_hart *h = vm->h;
    uint64_t a0 = dv_gpr_get(h, 10), a1 = dv_gpr_get(h, 11), a2 = dv_gpr_get(h, 12);
    switch (dv_gpr_get(h, 17)) {
    case 64: { /* write */
        char buf[4096];
        if (a2 > sizeof buf || dv_guest_read(h, a1, buf, a2))
            fail_msg("%s: bad write(%" PRIu64 ", %#" PRIx64 ", %" PRIu64 ")", r->name, a0, a1, a2);
        append(r, buf, a2);
        return a2;
    }
    case 93:
    case 94: r->exited = true; return 0;
    case 222: /* mmap, fixed anonymous only */
        if (!in_pool(a0, page_up(a1)))
            return (uint64_t)-22;
        memset(vm->ram + (a0 - RAM_BASE), 0, page_up(a1));
        assert_int_equal(
            gstage_map(vm->g, a0, vm->ram + (a0 - RAM_BASE), page_up(a1), GSTAGE_R | GSTAGE_W), 0);
        dv_hufence_gvma(h);
        return a0;
    case 215: /* munmap */
        if (!in_pool(a0, page_up(a1)))
            return (uint64_t)-22;
        assert_int_equal(gstage_unmap(vm->g, a0, page_up(a1)), 0);
        dv_hufence_gvma(h);
        return 0;
    case SYS_LAZY: /* hart only: pages that come back on their first fault */
        if (!in_pool(a0, page_up(a1)))
            return (uint64_t)-22;
        assert_int_equal(gstage_unmap(vm->g, a0, page_up(a1)), 0);
        dv_hufence_gvma(h);
        r->lazy_start = a0;
        r->lazy_end = a0 + page_up(a1);
        return 0;
    }
    return (uint64_t)-38; /* ENOSYS */
}

static bool lazy_fault(struct vm *vm, struct run *r, uint64_t cause)
{
    struct dv_hart *h = vm->h;
    uint64_t gpa = csr(h, DV_CSR_HUTVAL) << 2 | (csr(h, DV_CSR_UTVAL) & 3);
    if (gpa < r->lazy_start || gpa >= r->lazy_end)
        return false;
    if (r->nfaults < MAX_FAULTS)
        r->faults[r->nfaults++] = (struct fault){
            .cause = cause,
            .vstart = csr(h, DV_CSR_GUEST_VSTART),
            .utval = csr(h, DV_CSR_UTVAL),
            .hutinst = csr(h, DV_CSR_HUTINST),
        };
    uint64_t page = gpa & ~0xfffull;
    assert_int_equal(
        gstage_map(vm->g, page, vm->ram + (page - RAM_BASE), 4096, GSTAGE_R | GSTAGE_W), 0);
    dv_hufence_gvma(h);
    return true;
}

static void run_on_hart(struct run *r)
{
    struct vm vm;
    vm_open(&vm, r->vlen, r->jit);
    load(&vm, r->name);
    for (unsigned n = 0; n < MAX_EXITS && !r->exited && !r->segv; n++) {
        uint64_t cause = dv_enter(vm.h);
        switch (cause) {
        case DV_EXIT_ECALL_VS:
            dv_gpr_set(vm.h, 10, syscall_of(&vm, r));
            assert_int_equal(dv_csr_write(vm.h, DV_CSR_UEPC, csr(vm.h, DV_CSR_UEPC) + 4), DV_OK);
            break;
        case DV_EXIT_LOAD_GUEST_PAGE_FAULT:
        case DV_EXIT_STORE_GUEST_PAGE_FAULT:
            if (!lazy_fault(&vm, r, cause))
                r->segv = true;
            break;
        case DV_EXIT_USIP:
        case DV_EXIT_UTIP: break;
        default:
            fail_msg("%s: unexpected exit %#" PRIx64 " at pc %#" PRIx64 " utval %#" PRIx64, r->name,
                     cause, csr(vm.h, DV_CSR_UEPC), csr(vm.h, DV_CSR_UTVAL));
        }
    }
    if (!r->exited && !r->segv)
        fail_msg("%s: did not exit", r->name);
    vm_close(&vm);
}

/* The program's output under QEMU, or NULL when QEMU is not installed. */
static char *run_on_qemu(const char *name, unsigned vlen)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "command -v " QEMU " >/dev/null && " QEMU
             " -cpu rv64,v=true,vlen=%u,elen=64,vext_spec=v1.0,Zfh=true,Zfhmin=true %s/%s.elf "
             "2>/dev/null",
             vlen, VECTOR_TESTS_DIR, name);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    struct run r = {.name = name};
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        append(&r, buf, n);
    pclose(p);
    return r.out;
}

static void report_difference_line(const char *what, const char *a, const char *b);

/* The first line where a and b differ, for the failure message. */
static void report_difference(const char *what, const char *a, const char *b)
{
    if (getenv("VECTOR_TEST_DUMP"))
        fprintf(stderr, "%s", b);
    report_difference_line(what, a, b);
}

static void report_difference_line(const char *what, const char *a, const char *b)
{
    unsigned line = 1;
    const char *la = a, *lb = b;
    while (*a && *a == *b) {
        if (*a == '\n') {
            line++;
            la = a + 1;
            lb = b + 1;
        }
        a++;
        b++;
    }
    int na = (int)strcspn(la, "\n"), nb = (int)strcspn(lb, "\n");
    fail_msg("%s: line %u differs\n  want: %.*s\n  hart: %.*s", what, line, na, la, nb, lb);
}

static void differential(const char *name, struct run *keep)
{
    static const unsigned vlens[] = {128, 256, 512, 1024};
    for (unsigned v = 0; v < 4; v++) {
        char *expect = run_on_qemu(name, vlens[v]);
        if (!expect || !*expect) {
            free(expect);
            skip(); /* no QEMU here */
        }
        for (int jit = 0; jit < 2; jit++) {
            struct run r = {.name = name, .vlen = vlens[v], .jit = jit};
            run_on_hart(&r);
            char what[128];
            snprintf(what, sizeof what, "%s at VLEN %u, %s", name, vlens[v],
                     jit ? "JIT" : "interpreter");
            if (!r.out || strcmp(expect, r.out) != 0)
                report_difference(what, expect, r.out ? r.out : "");
            if (keep && vlens[v] == 256 && jit) {
                *keep = r;
                continue;
            }
            free(r.out);
        }
        free(expect);
    }
}

static void test_memcpy(void **state)
{
    (void)state;
    differential("vmemcpy", NULL);
}

static void test_integer_stream(void **state)
{
    (void)state;
    differential("vint", NULL);
}

static void test_floating_point(void **state)
{
    (void)state;
    differential("vfp", NULL);
}

/* Zfh, Zfhmin and Zvfhmin (fp16.c) */
static void test_half_precision(void **state)
{
    (void)state;
    differential("fp16", NULL);
}

static void test_loads_stores(void **state)
{
    (void)state;
    differential("vmem", NULL);
}

/* Each access of vfault.c faults once, in the middle, at the element named
   here; the exit has no transformed instruction and utval is the element's
   (or, for one that crosses the edge, its second part's) address. */
static void test_fault_resume(void **state)
{
    (void)state;
    struct run r;
    differential("vfault", &r);
    const uint64_t edge = 0x81101000;
    static const struct {
        uint64_t cause, vstart, utval_off;
    } want[] = {
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 16, 0}, /* vle8 */
        {DV_EXIT_STORE_GUEST_PAGE_FAULT, 3, 0}, /* vse32 */
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 5, 0},  /* vlseg3e16: segment 5, field 1 */
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 4, 32}, /* vlse64 */
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 2, 0},  /* vluxei32: element 2 crosses */
        {DV_EXIT_LOAD_GUEST_PAGE_FAULT, 1, 0},  /* misaligned vle32 */
    };
    assert_int_equal(r.nfaults, sizeof want / sizeof want[0]);
    for (unsigned i = 0; i < r.nfaults; i++) {
        if (r.faults[i].cause != want[i].cause || r.faults[i].vstart != want[i].vstart ||
            r.faults[i].utval != edge + want[i].utval_off || r.faults[i].hutinst != 0)
            fail_msg("fault %u: cause %" PRIu64 " vstart %" PRIu64 " utval %#" PRIx64
                     " hutinst %#" PRIx64,
                     i, r.faults[i].cause, r.faults[i].vstart, r.faults[i].utval,
                     r.faults[i].hutinst);
    }
    assert_false(r.segv);
    free(r.out);
}

/* vsys.c's lines, as the spec has them (VLEN 256: vlenb 32). */
static const char vsys_expected[] = "off.sstatus.vs 0000000000000000\n"
                                    "off.vsetvli 1 2\n"
                                    "off.vadd 1 2\n"
                                    "off.vle 1 2\n"
                                    "off.vl1r 1 2\n"
                                    "off.csrr.vl 1 2\n"
                                    "off.csrr.vlenb 1 2\n"
                                    "off.csrw.vxrm 1 2\n"
                                    "off.csrr.vcsr 1 2\n"
                                    "off.sstatus.vs 0000000000000000\n"
                                    "initial.vs 0000000000000001\n"
                                    "initial.vsetvli 0 0\n"
                                    "dirty.vs 0000000000000003\n"
                                    "dirty.sd 0000000000000001\n"
                                    "clean.vs 0000000000000002\n"
                                    "clean.sd 0000000000000000\n"
                                    "clean.csrw 0 0\n"
                                    "clean.after.vs 0000000000000003\n"
                                    "vcsr 0000000000000004\n"
                                    "vxsat 0000000000000001\n"
                                    "vxrm 0000000000000003\n"
                                    "vl.write 1 2\n"
                                    "vtype.write 1 2\n"
                                    "vlenb.write 1 2\n"
                                    "vlenb 0000000000000020\n"
                                    "avl.x0.rd 0000000000000001\n"
                                    "avl.keep 0000000000000003\n"
                                    "avl.big 0000000000000001\n"
                                    "avl.exact 0000000000000002\n"
                                    "vsetivli 000000000000001f\n"
                                    "vtype.policy 00000000000000d8\n"
                                    "vill.lmul4 8000000000000000\n"
                                    "vill.vl 0000000000000000\n"
                                    "vill.e64mf8 8000000000000000\n"
                                    "vill.e32mf4 8000000000000000\n"
                                    "ok.e16mf4 000000000000000e\n"
                                    "vill.sew128 8000000000000000\n"
                                    "vill.bit8 8000000000000000\n"
                                    "vill.bit63 8000000000000000\n"
                                    "vill.vadd 1 2\n"
                                    "vill.vle 1 2\n"
                                    "vill.vl1r 0 0\n"
                                    "vill.vmv1r 0 0\n"
                                    "0505050606060606\n"
                                    "vstart.after 0000000000000000\n"
                                    "vstart.vredsum 1 2\n"
                                    "vstart.kept 0000000000000001\n"
                                    "misaligned.group 1 2\n"
                                    "masked.v0 1 2\n"
                                    "widen.overlap 1 2\n"
                                    "widen.ok.high 0 0\n"
                                    "slideup.overlap 1 2\n"
                                    "gather.overlap 1 2\n"
                                    "compress.masked 1 2\n"
                                    "rtz.x.f 1 11\n"
                                    "rtz.xu.f 1 11\n"
                                    "rtz.wx.f 1 01\n"
                                    "rtz.wxu.f 1 11\n"
                                    "rtz.nx.f 1 11\n"
                                    "rtz.nxu.f 1 11\n"
                                    "rtz.n16.f 1 11\n"
                                    "fs.off.vfadd 1 2\n"
                                    "fs.off.vfmv.f.s 1 2\n"
                                    "fs.off.vadd 0 0\n"
                                    "e16.vfadd 1 2\n"
                                    "e8.vfwcvt 1 2\n"
                                    "e16.vfwcvt.f.x 0 0\n";

static void test_vs_state_and_vtype(void **state)
{
    (void)state;
    for (int jit = 0; jit < 2; jit++) {
        struct run r = {.name = "vsys", .vlen = 256, .jit = jit};
        run_on_hart(&r);
        if (!r.out || strcmp(r.out, vsys_expected) != 0)
            report_difference(jit ? "vsys (JIT)" : "vsys", vsys_expected, r.out ? r.out : "");
        free(r.out);
    }
}

/* A hart-only program (QEMU 7.2 lacks its extensions) against the lines
   it must print, at every VLEN with both engines. */
static void hart_only(const char *name, const char *expected)
{
    static const unsigned vlens[] = {128, 256, 512, 1024};
    for (unsigned v = 0; v < 4; v++) {
        for (int jit = 0; jit < 2; jit++) {
            struct run r = {.name = name, .vlen = vlens[v], .jit = jit};
            run_on_hart(&r);
            char what[128];
            snprintf(what, sizeof what, "%s at VLEN %u, %s", name, vlens[v],
                     jit ? "JIT" : "interpreter");
            if (!r.out || strcmp(r.out, expected) != 0)
                report_difference(what, expected, r.out ? r.out : "");
            free(r.out);
        }
    }
}

/* vzvbb.c: each form's mismatches against its C reference (random SEW,
   LMUL, vl, vstart, mask), then reserved encodings: traps and scause. */
static const char vzvbb_expected[] = "vandn.vv 0\n"
                                     "vandn.vx 0\n"
                                     "vrol.vv 0\n"
                                     "vrol.vx 0\n"
                                     "vror.vv 0\n"
                                     "vror.vx 0\n"
                                     "vror.vi3 0\n"
                                     "vror.vi45 0\n"
                                     "vbrev.v 0\n"
                                     "vbrev8.v 0\n"
                                     "vrev8.v 0\n"
                                     "vclz.v 0\n"
                                     "vctz.v 0\n"
                                     "vcpop.v 0\n"
                                     "vwsll.vv 0\n"
                                     "vwsll.vx 0\n"
                                     "vwsll.vi5 0\n"
                                     "vwsll.vi27 0\n"
                                     "vclmul.vv 0\n"
                                     "vclmul.vx 0\n"
                                     "vclmulh.vv 0\n"
                                     "vclmulh.vx 0\n"
                                     "total.bad 0\n"
                                     "vclmul.e32 1 2\n"
                                     "vclmulh.e8 1 2\n"
                                     "vwsll.e64 1 2\n"
                                     "vwsll.m8 1 2\n"
                                     "vwsll.vd.odd 1 2\n"
                                     "vwsll.overlap.low 1 2\n"
                                     "vwsll.overlap.high 0 0\n"
                                     "vandn.vi 1 2\n"
                                     "vrol.masked.v0 1 2\n"
                                     "vror.misaligned 1 2\n"
                                     "vxunary0.11 1 2\n"
                                     "vxunary0.15 1 2\n"
                                     "vclz.vx 1 2\n"
                                     "vcpop.ok 0 0\n";

static void test_zvbb_zvbc(void **state)
{
    (void)state;
    hart_only("vzvbb", vzvbb_expected);
}

/* vzvk.c: the standards' known answers, then reserved encodings (traps and
   scause; the *.egw lines are 1 when a word traps exactly where LMUL * VLEN
   is below the group width). Checked against FIPS-197 C.1/C.3, FIPS 180-4,
   the GCM spec's test case 2, GB/T 32907 and GB/T 32905, and OpenSSL. */
static const char vzvk_expected[] =
    "aes128.rk1 d6aa74fdd2af72fadaa678f1d6ab76fe\n"
    "aes128.rk10 13111d7fe3944a17f307a78b4d2b30c5\n"
    "aes.round2.start 89d810e8855ace682d1843d8cb128fe4\n"
    "aes128.ct 69c4e0d86a7b0430d8cdb78070b4c55a\n"
    "aes128.pt 00112233445566778899aabbccddeeff\n"
    "aes.vv.block0 69c4e0d86a7b0430d8cdb78070b4c55a\n"
    "aes.vv.block1 a556156c72876577f67f95a9d9e640a7\n"
    "aes.vv.inv.block0 00112233445566778899aabbccddeeff\n"
    "aes.vv.inv.block1 01112233445566778899aabbccddeeff\n"
    "aes.vstart.block0 00112233445566778899aabbccddeeff\n"
    "aes.vstart.block1 d7bb56ce96fa148d523fd24a1a769801\n"
    "aes.kf1.map 1\n"
    "aes.kf1.map 1\n"
    "aes.kf1.map 1\n"
    "aes.kf1.map 1\n"
    "aes256.rk14 24fc79ccbf0979e9371ac23c6d68de36\n"
    "aes.round2.start 4f63760643e0aa85efa7213201a4e705\n"
    "aes256.ct 8ea2b7ca516745bfeafc49904b496089\n"
    "aes256.pt 00112233445566778899aabbccddeeff\n"
    "aes.kf2.map 1\n"
    "aes.kf2.map 1\n"
    "aes.kf2.map 1\n"
    "aes.kf2.map 1\n"
    "sha256.w16 61626380 000f0000 7da86405 600003c6\n"
    "sha256.abc ba7816bf 8f01cfea 414140de 5dae2223 b00361a3 96177a9c b410ff61 f20015ad\n"
    "sha512.w16 6162638000000000 00030000000000c0 0a9699a24c700003 00000c0060000603\n"
    "sha512.abc ddaf35a193617aba cc417349ae204131 12e6fa4e89a97ea2 0a9eeee64b55d39a "
    "2192992a274fc1a8 36ba3c23a3feebbd 454d4423643ce80e 2a9ac94fa54ca49f\n"
    "ghash.y1 5e2ec746917062882c85b0685353deb7\n"
    "ghash.tc2 f38cbb1ad69223dcc3457ae5b6b0f885\n"
    "gmul.y1 5e2ec746917062882c85b0685353deb7\n"
    "sm4.rk0.rk31 f12186f9 9124a012\n"
    "sm4.ct 681edf34 d206965e 86b3e94f 536e4246\n"
    "sm4.pt 01234567 89abcdef fedcba98 76543210\n"
    "sm3.w16.w67 9092e200 b99c0545\n"
    "sm3.abc 66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0\n"
    "aes.e64 1 2\n"
    "aes.e16 1 2\n"
    "aes.vl6 1 2\n"
    "aes.vstart2 1 2\n"
    "aes.vstart4 0 0\n"
    "aes.vs.overlap 1 2\n"
    "aes.vs.same 1 2\n"
    "aes.vs.apart 0 0\n"
    "aes.vv.misaligned 1 2\n"
    "aes.vm0 1 2\n"
    "opve.f3.0 1 2\n"
    "vaesz.vv 1 2\n"
    "vgmul.vs 1 2\n"
    "f6.28.vs1.4 1 2\n"
    "f6.23 1 2\n"
    "sha2.vd.vs1 1 2\n"
    "sha2.vd.vs2 1 2\n"
    "sha2ms.vd.vs1 1 2\n"
    "sha2.e16 1 2\n"
    "sha2.e64.ok 0 0\n"
    "sm3me.vd.vs2 1 2\n"
    "sm3me.vd.vs1.ok 0 0\n"
    "sm3c.vd.vs2 1 2\n"
    "sm3c.vl4 1 2\n"
    "sm4k.e64 1 2\n"
    "ghsh.vs1.misaligned 1 2\n"
    "gmul.vl0.ok 0 0\n"
    "sm3c.egw.m1 1\n"
    "sha512.egw.m1 1\n"
    "aes.egw.mf2 1\n"
    "sm4r.egw.mf2 1\n";

static void test_vector_crypto(void **state)
{
    (void)state;
    hart_only("vzvk", vzvk_expected);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_memcpy),
        cmocka_unit_test(test_integer_stream),
        cmocka_unit_test(test_loads_stores),
        cmocka_unit_test(test_floating_point),
        cmocka_unit_test(test_half_precision),
        cmocka_unit_test(test_fault_resume),
        cmocka_unit_test(test_vs_state_and_vtype),
        cmocka_unit_test(test_zvbb_zvbc),
        cmocka_unit_test(test_vector_crypto),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
