/*
 * The SBI extensions against a fake VMM: every function of every extension,
 * its errors, and the HSM state machine with real vCPU-like threads.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include "sbi/sbi.h"

#define RAM_BASE 0x80000000ull
#define RAM_SIZE (64u << 10)
#define VA_MASK  0xffffffc000001000ull /* where the fake guest keeps its legacy hart masks */
#define MAXH     256

/* What the fake VMM saw. */
struct fake {
    uint8_t ram[RAM_SIZE];
    uint8_t out[RAM_SIZE * 2];
    size_t nout;
    unsigned console_write_calls;
    uint8_t in[8192];
    size_t nin, in_pos;
    unsigned console_read_calls;

    uint8_t vmem[64]; /* guest virtual [VA_MASK, VA_MASK + 64) */
    unsigned read_virt_calls, read_virt_hart;

    unsigned set_timer_calls, timer_hart;
    uint64_t timer_when;
    unsigned ipis[MAXH], ipi_calls;
    unsigned clear_ipi_calls, clear_ipi_hart;

    unsigned fence_calls, fence_caller;
    bool fence_targets[MAXH];
    enum sbi_fence_kind fence_kind;
    uint64_t fence_start, fence_size, fence_asid;

    atomic_uint start_calls;
    unsigned start_hart;
    uint64_t start_addr, start_arg;
    enum sbi_hsm_state state_in_start;

    bool svadu;               /* the fake hart has Svadu */
    bool ad_on[MAXH];         /* its henvcfg.ADUE per hart */
    unsigned ad_calls;        /* set_pte_ad_hw calls */
    uint64_t run_delay[MAXH]; /* each hart's thread's run_delay, ns */

    unsigned reset_calls, reset_type, reset_reason;
};

static struct fake F;
static struct sbi_host H;
static struct sbi S;
static bool last_legacy;

static uint64_t fake_time(void *opaque, unsigned hartid)
{
    (void)opaque;
    (void)hartid;
    return 0;
}

static void fake_set_timer(void *opaque, unsigned hartid, uint64_t when)
{
    struct fake *f = opaque;
    f->set_timer_calls++;
    f->timer_hart = hartid;
    f->timer_when = when;
}

static void fake_console_write(void *opaque, const uint8_t *buf, size_t len)
{
    struct fake *f = opaque;
    assert_true(len <= sizeof(f->out) - f->nout);
    memcpy(f->out + f->nout, buf, len);
    f->nout += len;
    f->console_write_calls++;
}

static size_t fake_console_read(void *opaque, uint8_t *buf, size_t len)
{
    struct fake *f = opaque;
    size_t n = f->nin - f->in_pos < len ? f->nin - f->in_pos : len;
    memcpy(buf, f->in + f->in_pos, n);
    f->in_pos += n;
    f->console_read_calls++;
    return n;
}

/* 0 and the offset into RAM when all of [gpa, gpa + len) is RAM. */
static int ram_offset(uint64_t gpa, size_t len, size_t *off)
{
    if (gpa < RAM_BASE || gpa - RAM_BASE > RAM_SIZE || len > RAM_SIZE - (gpa - RAM_BASE))
        return -1;
    *off = (size_t)(gpa - RAM_BASE);
    return 0;
}

static int fake_read_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    struct fake *f = opaque;
    size_t off;
    if (ram_offset(gpa, len, &off))
        return -1;
    memcpy(buf, f->ram + off, len);
    return 0;
}

static int fake_write_phys(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    struct fake *f = opaque;
    size_t off;
    if (ram_offset(gpa, len, &off))
        return -1;
    memcpy(f->ram + off, buf, len);
    return 0;
}

static int fake_read_virt(void *opaque, unsigned hartid, uint64_t gva, void *buf, size_t len)
{
    struct fake *f = opaque;
    f->read_virt_calls++;
    f->read_virt_hart = hartid;
    if (gva < VA_MASK || gva - VA_MASK > sizeof(f->vmem) || len > sizeof(f->vmem) - (gva - VA_MASK))
        return -1;
    memcpy(buf, f->vmem + (gva - VA_MASK), len);
    return 0;
}

static void fake_send_ipi(void *opaque, unsigned target)
{
    struct fake *f = opaque;
    assert_true(target < S.hsm.nharts);
    f->ipis[target]++;
    f->ipi_calls++;
}

static void fake_clear_ipi(void *opaque, unsigned hartid)
{
    struct fake *f = opaque;
    f->clear_ipi_calls++;
    f->clear_ipi_hart = hartid;
}

static void fake_remote_fence(void *opaque, unsigned caller, const bool *targets,
                              enum sbi_fence_kind kind, uint64_t start, uint64_t size,
                              uint64_t asid)
{
    struct fake *f = opaque;
    f->fence_calls++;
    f->fence_caller = caller;
    memcpy(f->fence_targets, targets, S.hsm.nharts * sizeof(*targets));
    f->fence_kind = kind;
    f->fence_start = start;
    f->fence_size = size;
    f->fence_asid = asid;
}

static void fake_hart_start(void *opaque, unsigned hartid, uint64_t start, uint64_t arg)
{
    struct fake *f = opaque;
    f->start_hart = hartid;
    f->start_addr = start;
    f->start_arg = arg;
    /* Would deadlock if hsm.c still held its lock here. */
    f->state_in_start = sbi_hsm_state_of(&S, hartid);
    atomic_fetch_add(&f->start_calls, 1);
}

static struct sbi_ret do_call(unsigned hart, unsigned long ext, unsigned long fid,
                              const unsigned long *args);

static int fake_set_pte_ad_hw(void *opaque, unsigned hartid, bool on)
{
    struct fake *f = opaque;
    f->ad_calls++;
    if (!f->svadu)
        return -1;
    f->ad_on[hartid] = on;
    return 0;
}

static uint64_t fake_run_delay_ns(void *opaque, unsigned hartid)
{
    struct fake *f = opaque;
    return f->run_delay[hartid];
}

static void fake_system_reset(void *opaque, unsigned type, unsigned reason)
{
    struct fake *f = opaque;
    f->reset_calls++;
    f->reset_type = type;
    f->reset_reason = reason;
}

static void init_host(unsigned nharts)
{
    H = (struct sbi_host){
        .opaque = &F,
        .nharts = nharts,
        .impl_version = 0x10203,
        .time = fake_time,
        .set_timer = fake_set_timer,
        .console_write = fake_console_write,
        .console_read = fake_console_read,
        .read_phys = fake_read_phys,
        .write_phys = fake_write_phys,
        .read_virt = fake_read_virt,
        .send_ipi = fake_send_ipi,
        .clear_ipi = fake_clear_ipi,
        .remote_fence = fake_remote_fence,
        .hart_start = fake_hart_start,
        .set_pte_ad_hw = fake_set_pte_ad_hw,
        .run_delay_ns = fake_run_delay_ns,
        .system_reset = fake_system_reset,
    };
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof(F));
    init_host(4);
    return sbi_init(&S, &H, 0);
}

static int teardown(void **state)
{
    (void)state;
    sbi_destroy(&S);
    return 0;
}

/* Start over with another hart count and boot hart. */
static void reinit(unsigned nharts, unsigned boot)
{
    sbi_destroy(&S);
    init_host(nharts);
    assert_int_equal(sbi_init(&S, &H, boot), 0);
}

static struct sbi_ret do_call(unsigned hart, unsigned long ext, unsigned long fid,
                              const unsigned long *args)
{
    struct sbi_call c = {.ext = ext, .fid = fid, .hartid = hart};
    memcpy(c.args, args, sizeof(c.args));
    last_legacy = !last_legacy; /* must be overwritten */
    return sbi_dispatch(&S, &c, &last_legacy);
}

#define CALL(hart, ext, fid, ...) do_call(hart, ext, fid, (const unsigned long[6]){__VA_ARGS__})

static void assert_ret(struct sbi_ret r, long error, unsigned long value)
{
    assert_int_equal(r.error, error);
    assert_int_equal(r.value, value);
}

static unsigned host_calls(void)
{
    return F.set_timer_calls + F.console_write_calls + F.console_read_calls + F.read_virt_calls +
           F.ipi_calls + F.clear_ipi_calls + F.fence_calls + F.start_calls + F.ad_calls +
           F.reset_calls;
}

/* ---- set-up and dispatch ---------------------------------------------------------- */

static void test_init(void **state)
{
    (void)state;
    struct sbi t = {.host = NULL};

    init_host(0);
    assert_int_equal(sbi_init(&t, &H, 0), -1);
    init_host(257);
    assert_int_equal(sbi_init(&t, &H, 0), -1);
    init_host(4);
    assert_int_equal(sbi_init(&t, &H, 4), -1);
    assert_null(t.host); /* nothing to destroy */

    reinit(4, 2);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(sbi_hsm_state_of(&S, i), i == 2 ? SBI_HSM_STARTED : SBI_HSM_STOPPED);
    assert_int_equal(sbi_hsm_state_of(&S, 4), SBI_HSM_STOPPED);
    reinit(256, 255);
    assert_int_equal(sbi_hsm_state_of(&S, 255), SBI_HSM_STARTED);
    assert_int_equal(sbi_hsm_state_of(&S, 0), SBI_HSM_STOPPED);
}

static void test_unknown_ext_and_fid(void **state)
{
    (void)state;
    static const unsigned long exts[] = {SBI_EXT_BASE, SBI_EXT_TIME, SBI_EXT_IPI,  SBI_EXT_RFENCE,
                                         SBI_EXT_HSM,  SBI_EXT_SRST, SBI_EXT_DBCN, SBI_EXT_SUSP,
                                         SBI_EXT_FWFT, SBI_EXT_STA};

    assert_ret(CALL(0, 0x4e41434c /* NACL */, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    assert_false(last_legacy);
    assert_ret(CALL(0, 0x09, 0, 0), SBI_ERR_NOT_SUPPORTED, 0); /* reserved legacy range */
    assert_false(last_legacy);
    assert_ret(CALL(0, 0x0f, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    /* EIDs are 32-bit values: a set upper half is some other, unknown, EID */
    assert_ret(CALL(0, (1ul << 32) | SBI_EXT_BASE, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    for (size_t i = 0; i < sizeof(exts) / sizeof(exts[0]); i++) {
        assert_ret(CALL(0, exts[i], 7, 0), SBI_ERR_NOT_SUPPORTED, 0);
        assert_ret(CALL(0, exts[i], (unsigned long)-1, 0), SBI_ERR_NOT_SUPPORTED, 0);
        assert_false(last_legacy);
    }
    assert_int_equal(host_calls(), 0);
}

static void test_dispatch_bad_caller(void **state)
{
    (void)state;
    assert_ret(CALL(4, SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0), SBI_ERR_FAILED, 0);
    assert_false(last_legacy);
    assert_ret(CALL(4, SBI_LEGACY_SHUTDOWN, 0, 0), SBI_ERR_FAILED, (unsigned long)SBI_ERR_FAILED);
    assert_true(last_legacy);
    assert_int_equal(host_calls(), 0);
}

/* ---- BASE --------------------------------------------------------------------------- */

static void test_base_values(void **state)
{
    (void)state;
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_SPEC_VERSION, 0), 0, 0x03000000);
    assert_false(last_legacy);
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_IMPL_ID, 0), 0, SBI_IMPL_ID);
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_IMPL_VERSION, 0), 0, 0x10203);
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_MVENDORID, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_MARCHID, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_GET_MIMPID, 0), 0, 0);
}

static void test_base_probe(void **state)
{
    (void)state;
    static const unsigned long yes[] = {SBI_EXT_BASE,
                                        SBI_EXT_TIME,
                                        SBI_EXT_IPI,
                                        SBI_EXT_RFENCE,
                                        SBI_EXT_HSM,
                                        SBI_EXT_SRST,
                                        SBI_EXT_DBCN,
                                        SBI_EXT_PMU,
                                        SBI_EXT_SUSP,
                                        SBI_EXT_FWFT,
                                        SBI_EXT_STA,
                                        0,
                                        1,
                                        2,
                                        3,
                                        4,
                                        5,
                                        6,
                                        7,
                                        8};
    static const unsigned long no[] = {0x09,
                                       0x0f,
                                       0x11,
                                       0x535345 /* SSE */,
                                       0x4d505859 /* MPXY */,
                                       0x44425452 /* DBTR */,
                                       0x43505043 /* CPPC */,
                                       0x4e41434c /* NACL */,
                                       (1ul << 32) | SBI_EXT_TIME,
                                       (unsigned long)-1};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        assert_true(sbi_extension_supported(yes[i]));
        assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, yes[i]), 0, 1);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        assert_false(sbi_extension_supported(no[i]));
        assert_ret(CALL(0, SBI_EXT_BASE, SBI_BASE_PROBE_EXTENSION, no[i]), 0, 0);
    }
}

/* ---- hart masks --------------------------------------------------------------------- */

static void assert_targets(const bool *t, unsigned n, uint64_t want_lo, uint64_t want_hi)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t w = i < 64 ? want_lo : want_hi;
        bool want = i < 128 && (w >> (i % 64) & 1);
        if (t[i] != want)
            fail_msg("hart %u: %d, want %d", i, t[i], want);
    }
}

static void test_hart_mask(void **state)
{
    (void)state;
    bool t[MAXH];

    /* base -1: every hart, whatever the mask says */
    memset(t, 0, sizeof(t));
    assert_int_equal(sbi_hart_mask(&S, 0, (unsigned long)-1, t), SBI_SUCCESS);
    assert_targets(t, 4, 0xf, 0);
    assert_int_equal(sbi_hart_mask(&S, 0xdeadbeef, (unsigned long)-1, t), SBI_SUCCESS);
    assert_targets(t, 4, 0xf, 0);

    assert_int_equal(sbi_hart_mask(&S, 0x5, 0, t), SBI_SUCCESS);
    assert_targets(t, 4, 0x5, 0);
    assert_int_equal(sbi_hart_mask(&S, 0x3, 2, t), SBI_SUCCESS);
    assert_targets(t, 4, 0xc, 0);
    assert_int_equal(sbi_hart_mask(&S, 0x1, 3, t), SBI_SUCCESS);
    assert_targets(t, 4, 0x8, 0);

    /* a zero mask names nobody, wherever it starts */
    memset(t, 1, sizeof(t));
    assert_int_equal(sbi_hart_mask(&S, 0, 0, t), SBI_SUCCESS);
    assert_targets(t, 4, 0, 0);
    assert_int_equal(sbi_hart_mask(&S, 0, 1000, t), SBI_SUCCESS);
    assert_targets(t, 4, 0, 0);

    /* one hart out of range spoils the whole mask */
    memset(t, 1, sizeof(t));
    assert_int_equal(sbi_hart_mask(&S, 0x11, 0, t), SBI_ERR_INVALID_PARAM);
    assert_targets(t, 4, 0, 0);
    assert_int_equal(sbi_hart_mask(&S, 0x3, 3, t), SBI_ERR_INVALID_PARAM);
    assert_int_equal(sbi_hart_mask(&S, 1ul << 63, 0, t), SBI_ERR_INVALID_PARAM);
    /* base beyond the last hart */
    assert_int_equal(sbi_hart_mask(&S, 0x1, 4, t), SBI_ERR_INVALID_PARAM);
    assert_int_equal(sbi_hart_mask(&S, 0x1, (unsigned long)-2, t), SBI_ERR_INVALID_PARAM);
    assert_int_equal(sbi_hart_mask(&S, 0x1, 1ul << 63, t), SBI_ERR_INVALID_PARAM);
    assert_targets(t, 4, 0, 0);

    /* the largest machine: all 64 bits, up to the last hart */
    reinit(256, 0);
    assert_int_equal(sbi_hart_mask(&S, 1ul << 63 | 1, 192, t), SBI_SUCCESS);
    for (unsigned i = 0; i < 256; i++)
        assert_int_equal(t[i], i == 192 || i == 255);
    assert_int_equal(sbi_hart_mask(&S, (unsigned long)-1, 64, t), SBI_SUCCESS);
    assert_targets(t, 256, 0, ~0ull);
    assert_int_equal(sbi_hart_mask(&S, 0x2, 255, t), SBI_ERR_INVALID_PARAM);
    assert_int_equal(sbi_hart_mask(&S, 0, (unsigned long)-1, t), SBI_SUCCESS);
    for (unsigned i = 0; i < 256; i++)
        assert_true(t[i]);
}

/* ---- TIME, IPI, RFENCE -------------------------------------------------------------- */

static void test_time(void **state)
{
    (void)state;
    assert_ret(CALL(3, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 0x123456789abcdefull), 0, 0);
    assert_int_equal(F.set_timer_calls, 1);
    assert_int_equal(F.timer_hart, 3);
    assert_int_equal(F.timer_when, 0x123456789abcdefull);
    /* "infinitely far" is just a value to the host */
    assert_ret(CALL(1, SBI_EXT_TIME, SBI_TIME_SET_TIMER, (unsigned long)-1), 0, 0);
    assert_int_equal(F.timer_when, UINT64_MAX);
    assert_int_equal(F.timer_hart, 1);
    assert_ret(CALL(1, SBI_EXT_TIME, 1, 5), SBI_ERR_NOT_SUPPORTED, 0);
    assert_int_equal(F.set_timer_calls, 2);
}

static void test_ipi(void **state)
{
    (void)state;
    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0xa, 0), 0, 0);
    assert_int_equal(F.ipi_calls, 2);
    assert_int_equal(F.ipis[1], 1);
    assert_int_equal(F.ipis[3], 1);

    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0, (unsigned long)-1), 0, 0);
    assert_int_equal(F.ipi_calls, 6);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(F.ipis[i], i % 2 ? 2 : 1);

    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0x1, 2), 0, 0);
    assert_int_equal(F.ipis[2], 2);
    assert_int_equal(F.ipi_calls, 7);

    /* nothing is sent when any target is bad */
    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0x3, 3), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0x1, 4), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 0, 4), 0, 0);
    assert_int_equal(F.ipi_calls, 7);
}

static void test_rfence_kinds(void **state)
{
    (void)state;
    /* FENCE.I: the guest's leftovers in a2..a4 do not reach the host */
    assert_ret(CALL(2, SBI_EXT_RFENCE, SBI_RFENCE_FENCE_I, 0x6, 0, 0x1000, 0x2000, 9), 0, 0);
    assert_int_equal(F.fence_calls, 1);
    assert_int_equal(F.fence_caller, 2);
    assert_int_equal(F.fence_kind, SBI_FENCE_I);
    assert_targets(F.fence_targets, 4, 0x6, 0);
    assert_int_equal(F.fence_start, 0);
    assert_int_equal(F.fence_size, 0);
    assert_int_equal(F.fence_asid, 0);

    assert_ret(CALL(1, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0x1, 3, 0x4000, 0x3000, 9), 0, 0);
    assert_int_equal(F.fence_calls, 2);
    assert_int_equal(F.fence_caller, 1);
    assert_int_equal(F.fence_kind, SBI_FENCE_VMA);
    assert_targets(F.fence_targets, 4, 0x8, 0);
    assert_int_equal(F.fence_start, 0x4000);
    assert_int_equal(F.fence_size, 0x3000);
    assert_int_equal(F.fence_asid, 0);

    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA_ASID, 0, (unsigned long)-1,
                    0xffffffc000000000ul, 0x1000, 77),
               0, 0);
    assert_int_equal(F.fence_calls, 3);
    assert_int_equal(F.fence_kind, SBI_FENCE_VMA_ASID);
    assert_targets(F.fence_targets, 4, 0xf, 0);
    assert_int_equal(F.fence_start, 0xffffffc000000000ull);
    assert_int_equal(F.fence_size, 0x1000);
    assert_int_equal(F.fence_asid, 77);
}

static void test_rfence_ranges(void **state)
{
    (void)state;
    /* both spellings of "the whole address space" reach the host as one */
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0x1, 0, 0, 0), 0, 0);
    assert_int_equal(F.fence_start, 0);
    assert_int_equal(F.fence_size, UINT64_MAX);
    assert_ret(
        CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA_ASID, 0x1, 0, 0x5000, (unsigned long)-1, 3),
        0, 0);
    assert_int_equal(F.fence_start, 0);
    assert_int_equal(F.fence_size, UINT64_MAX);
    assert_int_equal(F.fence_asid, 3);
    /* the last page of the address space ends exactly at 2^64 */
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0x1, 0, (unsigned long)-4096, 4096),
               0, 0);
    assert_int_equal(F.fence_start, (uint64_t)-4096);
    assert_int_equal(F.fence_size, 4096);
    assert_int_equal(F.fence_calls, 3);

    /* a range that wraps is no range */
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0x1, 0, (unsigned long)-4096, 8192),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA_ASID, 0x1, 0, 3, (unsigned long)-2, 0),
               SBI_ERR_INVALID_ADDRESS, 0);
    /* no target: nothing to ask the host */
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_FENCE_I, 0, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0, 9, 0, 0), 0, 0);
    /* bad targets */
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_FENCE_I, 0x10, 0), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 0x1, 4, 0, 0), SBI_ERR_INVALID_PARAM,
               0);
    assert_int_equal(F.fence_calls, 3);
}

static void test_rfence_hfence(void **state)
{
    (void)state;
    for (unsigned long fid = SBI_RFENCE_HFENCE_GVMA_VMID; fid <= 7; fid++)
        assert_ret(CALL(0, SBI_EXT_RFENCE, fid, 0, (unsigned long)-1, 0, 0, 1),
                   SBI_ERR_NOT_SUPPORTED, 0);
    assert_int_equal(host_calls(), 0);
}

/* ---- SRST --------------------------------------------------------------------------- */

static void test_srst_valid(void **state)
{
    (void)state;
    static const unsigned long reasons[] = {0, 1, 0xe0000000, 0xefffffff, 0xf0000000, 0xffffffff};

    for (unsigned long type = 0; type <= 2; type++) {
        for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
            unsigned before = F.reset_calls;
            assert_ret(CALL(1, SBI_EXT_SRST, SBI_SRST_SYSTEM_RESET, type, reasons[i]), 0, 0);
            assert_int_equal(F.reset_calls, before + 1);
            assert_int_equal(F.reset_type, type);
            assert_int_equal(F.reset_reason, reasons[i]);
        }
    }
    /* 32-bit parameters: the upper halves of a0/a1 are not part of them */
    assert_ret(CALL(0, SBI_EXT_SRST, 0, 0xabcd00000001ul, 0x1200000000ul), 0, 0);
    assert_int_equal(F.reset_type, SBI_RESET_COLD_REBOOT);
    assert_int_equal(F.reset_reason, SBI_RESET_REASON_NONE);
}

static void test_srst_invalid(void **state)
{
    (void)state;
    static const unsigned long bad_types[] = {3, 0x1000, 0xefffffff, 0xf0000000, 0xffffffff};
    static const unsigned long bad_reasons[] = {2, 0x1000, 0xdfffffff};

    for (size_t i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
        assert_ret(CALL(0, SBI_EXT_SRST, 0, bad_types[i], 0), SBI_ERR_INVALID_PARAM, 0);
    for (size_t i = 0; i < sizeof(bad_reasons) / sizeof(bad_reasons[0]); i++)
        assert_ret(CALL(0, SBI_EXT_SRST, 0, SBI_RESET_SHUTDOWN, bad_reasons[i]),
                   SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_SRST, 1, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    assert_int_equal(F.reset_calls, 0);
}

/* ---- DBCN --------------------------------------------------------------------------- */

static void fill_ram(void)
{
    for (size_t i = 0; i < RAM_SIZE; i++)
        F.ram[i] = (uint8_t)(i * 7 + 1);
}

static void test_dbcn_write(void **state)
{
    (void)state;
    memcpy(F.ram + 100, "hello", 5);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 5, RAM_BASE + 100, 0), 0, 5);
    assert_false(last_legacy);
    assert_int_equal(F.nout, 5);
    assert_memory_equal(F.out, "hello", 5);

    /* nothing to write: no memory is looked at, nothing printed */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 0, 0, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 0, 12, 34), 0, 0);
    /* on RV64 base_addr_hi holds address bits 64..127: never RAM */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 5, RAM_BASE + 100, 1), SBI_ERR_INVALID_PARAM,
               0);
    /* below RAM, and RAM's last byte */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 1, RAM_BASE - 1, 0), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 1, RAM_BASE + RAM_SIZE - 1, 0), 0, 1);
    assert_int_equal(F.nout, 6);
    assert_int_equal(F.out[5], F.ram[RAM_SIZE - 1]);
}

static void test_dbcn_write_straddle(void **state)
{
    (void)state;
    fill_ram();
    /* running 10 bytes off the end of RAM: refused before anything is printed */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 20, RAM_BASE + RAM_SIZE - 10, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 20, RAM_BASE - 10, 0), SBI_ERR_INVALID_PARAM,
               0);
    assert_int_equal(F.nout, 0);
    assert_int_equal(F.console_write_calls, 0);
    /* ending exactly at the end is fine */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 10, RAM_BASE + RAM_SIZE - 10, 0), 0, 10);
    assert_memory_equal(F.out, F.ram + RAM_SIZE - 10, 10);
}

static void test_dbcn_write_huge(void **state)
{
    (void)state;
    size_t done = 0;

    fill_ram();
    /* sizes that wrap the address space or run far past RAM */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, (unsigned long)-1, RAM_BASE, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, (unsigned long)-1, 0, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 1ul << 40, RAM_BASE, 0), SBI_ERR_INVALID_PARAM,
               0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, 2, (unsigned long)-1, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_int_equal(F.nout, 0);

    /* all of RAM: partial writes of SBI_DBCN_MAX_XFER, the guest loops on the count */
    while (done < RAM_SIZE) {
        struct sbi_ret r =
            CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE, RAM_SIZE - done, RAM_BASE + done, 0);
        assert_int_equal(r.error, 0);
        assert_int_equal(r.value,
                         RAM_SIZE - done < SBI_DBCN_MAX_XFER ? RAM_SIZE - done : SBI_DBCN_MAX_XFER);
        done += r.value;
        assert_int_equal(F.nout, done);
    }
    assert_memory_equal(F.out, F.ram, RAM_SIZE);
}

static void test_dbcn_read(void **state)
{
    (void)state;
    fill_ram();
    uint8_t before[RAM_SIZE];
    memcpy(before, F.ram, RAM_SIZE);

    /* no input: 0 bytes, memory untouched */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 16, RAM_BASE + 64, 0), 0, 0);
    assert_memory_equal(F.ram, before, RAM_SIZE);

    memcpy(F.in, "abc", 3);
    F.nin = 3;
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 16, RAM_BASE + 64, 0), 0, 3);
    assert_memory_equal(F.ram + 64, "abc", 3);
    assert_memory_equal(F.ram + 67, before + 67, RAM_SIZE - 67);
    assert_memory_equal(F.ram, before, 64);

    /* at most num_bytes; the rest stays in the console */
    memcpy(F.in + 3, "xyz", 3);
    F.nin = 6;
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 2, RAM_BASE, 0), 0, 2);
    assert_memory_equal(F.ram, "xy", 2);
    assert_int_equal(F.ram[2], before[2]);
    assert_int_equal(F.in_pos, 5);

    /* bad buffers consume no input */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 20, RAM_BASE + RAM_SIZE - 10, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 1, RAM_BASE, 1), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, (unsigned long)-1, RAM_BASE, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 0, 0, 0), 0, 0);
    assert_int_equal(F.in_pos, 5);

    /* the last byte of RAM */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 1, RAM_BASE + RAM_SIZE - 1, 0), 0, 1);
    assert_int_equal(F.ram[RAM_SIZE - 1], 'z');
    assert_int_equal(F.in_pos, 6);
}

static void test_dbcn_read_large(void **state)
{
    (void)state;
    for (size_t i = 0; i < 6000; i++)
        F.in[i] = (uint8_t)(i * 13);
    F.nin = 6000;
    /* more than one chunk, capped per call; the guest loops */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 10000, RAM_BASE, 0), 0, SBI_DBCN_MAX_XFER);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 10000, RAM_BASE + SBI_DBCN_MAX_XFER, 0), 0,
               6000 - SBI_DBCN_MAX_XFER);
    assert_memory_equal(F.ram, F.in, 6000);
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_READ, 10000, RAM_BASE, 0), 0, 0);
}

static void test_dbcn_write_byte(void **state)
{
    (void)state;
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, 'A'), 0, 0);
    /* only the low byte is the byte */
    assert_ret(CALL(0, SBI_EXT_DBCN, SBI_DBCN_WRITE_BYTE, 0x12345642), 0, 0);
    assert_int_equal(F.nout, 2);
    assert_memory_equal(F.out, "AB", 2);
}

/* ---- legacy ------------------------------------------------------------------------- */

static void test_legacy_console(void **state)
{
    (void)state;
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_PUTCHAR, 0, 'x'), 0, 0);
    assert_true(last_legacy);
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_PUTCHAR, 99 /* a6 ignored */, 0xff00 | 'y'), 0, 0);
    assert_int_equal(F.nout, 2);
    assert_memory_equal(F.out, "xy", 2);

    /* no input: -1 */
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_GETCHAR, 0, 0), -1, (unsigned long)-1);
    assert_true(last_legacy);
    F.in[0] = 'q';
    F.in[1] = 0xff; /* a byte, not "no input" */
    F.nin = 2;
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_GETCHAR, 0, 0), 0, 'q');
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_GETCHAR, 0, 0), 0, 0xff);
    assert_ret(CALL(0, SBI_LEGACY_CONSOLE_GETCHAR, 0, 0), -1, (unsigned long)-1);
}

static void test_legacy_timer_ipi_shutdown(void **state)
{
    (void)state;
    assert_ret(CALL(2, SBI_LEGACY_SET_TIMER, 0, 0xfedcba9876543210ul), 0, 0);
    assert_true(last_legacy);
    assert_int_equal(F.timer_hart, 2);
    assert_int_equal(F.timer_when, 0xfedcba9876543210ull);

    assert_ret(CALL(3, SBI_LEGACY_CLEAR_IPI, 0, 0), 0, 0);
    assert_int_equal(F.clear_ipi_calls, 1);
    assert_int_equal(F.clear_ipi_hart, 3);

    assert_int_equal(F.reset_calls, 0);
    assert_ret(CALL(1, SBI_LEGACY_SHUTDOWN, 0, 0), 0, 0);
    assert_true(last_legacy);
    assert_int_equal(F.reset_calls, 1);
    assert_int_equal(F.reset_type, SBI_RESET_SHUTDOWN);
    assert_int_equal(F.reset_reason, SBI_RESET_REASON_NONE);
}

static void put_mask(unsigned word, uint64_t v)
{
    for (unsigned i = 0; i < 8; i++)
        F.vmem[word * 8 + i] = (uint8_t)(v >> (8 * i));
}

static void test_legacy_send_ipi(void **state)
{
    (void)state;
    /* NULL: every hart, no memory read */
    assert_ret(CALL(1, SBI_LEGACY_SEND_IPI, 0, 0), 0, 0);
    assert_true(last_legacy);
    assert_int_equal(F.read_virt_calls, 0);
    assert_int_equal(F.ipi_calls, 4);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(F.ipis[i], 1);

    /* a pointer into the caller's virtual memory; bits past the last hart are padding */
    put_mask(0, 0xf0000000000000aull);
    assert_ret(CALL(3, SBI_LEGACY_SEND_IPI, 0, VA_MASK), 0, 0);
    assert_int_equal(F.read_virt_calls, 1);
    assert_int_equal(F.read_virt_hart, 3);
    assert_int_equal(F.ipi_calls, 6);
    assert_int_equal(F.ipis[1], 2);
    assert_int_equal(F.ipis[3], 2);

    /* an unreadable pointer: a negative a0, nobody interrupted */
    assert_ret(CALL(0, SBI_LEGACY_SEND_IPI, 0, 0x1000), SBI_ERR_INVALID_ADDRESS,
               (unsigned long)SBI_ERR_INVALID_ADDRESS);
    assert_ret(CALL(0, SBI_LEGACY_SEND_IPI, 0, VA_MASK + 60), SBI_ERR_INVALID_ADDRESS,
               (unsigned long)SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(F.ipi_calls, 6);

    /* more harts than bits in an unsigned long: the vector is two words */
    reinit(70, 0);
    memset(F.ipis, 0, sizeof(F.ipis));
    F.ipi_calls = 0;
    F.read_virt_calls = 0;
    put_mask(0, 1ull << 63 | 1);
    put_mask(1, 1ull << 5 | 1ull << 6 /* hart 70: padding */);
    assert_ret(CALL(0, SBI_LEGACY_SEND_IPI, 0, VA_MASK), 0, 0);
    assert_int_equal(F.read_virt_calls, 2);
    assert_int_equal(F.ipi_calls, 3);
    assert_int_equal(F.ipis[0], 1);
    assert_int_equal(F.ipis[63], 1);
    assert_int_equal(F.ipis[69], 1);
    /* a second word that cannot be read fails the call */
    assert_ret(CALL(0, SBI_LEGACY_SEND_IPI, 0, VA_MASK + 56), SBI_ERR_INVALID_ADDRESS,
               (unsigned long)SBI_ERR_INVALID_ADDRESS);
    assert_int_equal(F.ipi_calls, 3);
}

static void test_legacy_fences(void **state)
{
    (void)state;
    put_mask(0, 0x6);
    assert_ret(CALL(1, SBI_LEGACY_REMOTE_FENCE_I, 0, VA_MASK, 0x1000, 0x2000, 3), 0, 0);
    assert_true(last_legacy);
    assert_int_equal(F.fence_calls, 1);
    assert_int_equal(F.fence_caller, 1);
    assert_int_equal(F.fence_kind, SBI_FENCE_I);
    assert_targets(F.fence_targets, 4, 0x6, 0);
    assert_int_equal(F.fence_size, 0);
    assert_int_equal(F.fence_asid, 0);

    assert_ret(CALL(2, SBI_LEGACY_REMOTE_SFENCE_VMA, 0, 0, 0x4000, 0x1000, 3), 0, 0);
    assert_int_equal(F.fence_calls, 2);
    assert_int_equal(F.fence_kind, SBI_FENCE_VMA);
    assert_targets(F.fence_targets, 4, 0xf, 0);
    assert_int_equal(F.fence_start, 0x4000);
    assert_int_equal(F.fence_size, 0x1000);
    assert_int_equal(F.fence_asid, 0);

    put_mask(0, 0x1);
    assert_ret(CALL(2, SBI_LEGACY_REMOTE_SFENCE_VMA_ASID, 0, VA_MASK, 0, (unsigned long)-1, 42), 0,
               0);
    assert_int_equal(F.fence_calls, 3);
    assert_int_equal(F.fence_kind, SBI_FENCE_VMA_ASID);
    assert_targets(F.fence_targets, 4, 0x1, 0);
    assert_int_equal(F.fence_start, 0);
    assert_int_equal(F.fence_size, UINT64_MAX);
    assert_int_equal(F.fence_asid, 42);

    /* errors come back as a negative a0 */
    assert_ret(CALL(0, SBI_LEGACY_REMOTE_SFENCE_VMA, 0, 0, (unsigned long)-4096, 8192),
               SBI_ERR_INVALID_ADDRESS, (unsigned long)SBI_ERR_INVALID_ADDRESS);
    assert_ret(CALL(0, SBI_LEGACY_REMOTE_FENCE_I, 0, 8), SBI_ERR_INVALID_ADDRESS,
               (unsigned long)SBI_ERR_INVALID_ADDRESS);
    /* an empty mask fences nobody */
    put_mask(0, 0);
    assert_ret(CALL(0, SBI_LEGACY_REMOTE_FENCE_I, 0, VA_MASK), 0, 0);
    assert_int_equal(F.fence_calls, 3);
}

/* ---- HSM ---------------------------------------------------------------------------- */

static unsigned long status(unsigned hart)
{
    struct sbi_ret r = CALL(0, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, hart);
    assert_int_equal(r.error, 0);
    return r.value;
}

/* A vCPU thread parked in sbi_hsm_wait_start. */
struct waiter {
    pthread_t thread;
    unsigned hart;
    atomic_bool quit;
    atomic_uint quit_checks;
    uint64_t addr, arg;
    bool started;
};

static bool waiter_quit(void *opaque)
{
    struct waiter *w = opaque;
    atomic_fetch_add(&w->quit_checks, 1);
    return atomic_load(&w->quit);
}

static void *waiter_main(void *opaque)
{
    struct waiter *w = opaque;
    w->started = sbi_hsm_wait_start(&S, w->hart, &w->addr, &w->arg, waiter_quit, w);
    return NULL;
}

/* Returns once the thread is asleep: quit is checked under the HSM lock,
   which the thread keeps until it waits on the condition variable. */
static void spawn(struct waiter *w, unsigned hart)
{
    memset(w, 0, sizeof(*w));
    w->hart = hart;
    assert_int_equal(pthread_create(&w->thread, NULL, waiter_main, w), 0);
    while (atomic_load(&w->quit_checks) == 0)
        sched_yield();
}

static void test_hsm_initial_status(void **state)
{
    (void)state;
    assert_int_equal(status(0), SBI_HSM_STARTED);
    for (unsigned i = 1; i < 4; i++)
        assert_int_equal(status(i), SBI_HSM_STOPPED);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 4), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, (unsigned long)-1),
               SBI_ERR_INVALID_PARAM, 0);
}

static void test_hsm_start_waiting_thread(void **state)
{
    (void)state;
    struct waiter w;

    spawn(&w, 2);
    assert_int_equal(status(2), SBI_HSM_STOPPED);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 2, 0x80002000, 0xabcdef), 0, 0);
    assert_int_equal(pthread_join(w.thread, NULL), 0);
    assert_true(w.started);
    assert_int_equal(w.addr, 0x80002000);
    assert_int_equal(w.arg, 0xabcdef);
    assert_int_equal(status(2), SBI_HSM_STARTED);
    /* the host heard of it, after the lock was released */
    assert_int_equal(F.start_calls, 1);
    assert_int_equal(F.start_hart, 2);
    assert_int_equal(F.start_addr, 0x80002000);
    assert_int_equal(F.start_arg, 0xabcdef);
    assert_true(F.state_in_start == SBI_HSM_START_PENDING || F.state_in_start == SBI_HSM_STARTED);
}

static void test_hsm_start_then_wait(void **state)
{
    (void)state;
    uint64_t addr = 0, arg = 0;

    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000002, 7), 0, 0);
    assert_int_equal(F.state_in_start, SBI_HSM_START_PENDING);
    assert_int_equal(status(1), SBI_HSM_START_PENDING);
    /* the lock is free when the host is called */
    assert_int_equal(pthread_mutex_trylock(&S.hsm.lock), 0);
    pthread_mutex_unlock(&S.hsm.lock);
    /* a thread that arrives late finds its start waiting */
    assert_true(sbi_hsm_wait_start(&S, 1, &addr, &arg, NULL, NULL));
    assert_int_equal(addr, 0x80000002);
    assert_int_equal(arg, 7);
    assert_int_equal(status(1), SBI_HSM_STARTED);
}

static void test_hsm_start_errors(void **state)
{
    (void)state;
    /* already running: the boot hart, the caller itself */
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_START, 0, 0x80000000, 0),
               SBI_ERR_ALREADY_AVAILABLE, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 0, 0x80000000, 0),
               SBI_ERR_ALREADY_AVAILABLE, 0);
    /* a start still pending counts as available */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 3, 0x80000000, 1), 0, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 3, 0x80001000, 2),
               SBI_ERR_ALREADY_AVAILABLE, 0);
    assert_int_equal(S.hsm.start_addr[3], 0x80000000); /* the first start stands */
    assert_int_equal(F.start_calls, 1);
    /* no such hart */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 4, 0x80000000, 0), SBI_ERR_INVALID_PARAM,
               0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, (unsigned long)-1, 0x80000000, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1ul << 32 | 1, 0x80000000, 0),
               SBI_ERR_INVALID_PARAM, 0);
    /* no instruction can start at an odd address */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000001, 0), SBI_ERR_INVALID_ADDRESS,
               0);
    /* nor outside RAM: below it, at its end, in a device, far above */
    static const unsigned long outside[] = {0,
                                            0x1000,
                                            0x10000000,
                                            RAM_BASE - 2,
                                            RAM_BASE + RAM_SIZE,
                                            RAM_BASE + RAM_SIZE - 1,
                                            (unsigned long)-2};
    for (size_t i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
        assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, outside[i], 0),
                   SBI_ERR_INVALID_ADDRESS, 0);
    /* the last two bytes of RAM still hold an instruction */
    assert_int_equal(status(1), SBI_HSM_STOPPED);
    assert_int_equal(F.start_calls, 1);
}

static void test_hsm_stop(void **state)
{
    (void)state;
    uint64_t addr, arg;
    struct waiter w;

    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000000, 0), 0, 0);
    assert_true(sbi_hsm_wait_start(&S, 1, &addr, &arg, NULL, NULL));
    assert_false(sbi_hsm_take_stop(&S, 1));

    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), 0, 0);
    assert_int_equal(status(1), SBI_HSM_STOPPED);
    assert_true(sbi_hsm_take_stop(&S, 1));
    assert_false(sbi_hsm_take_stop(&S, 1));
    assert_false(sbi_hsm_take_stop(&S, 0));
    assert_false(sbi_hsm_take_stop(&S, 4));

    /* only a running hart can stop (a VMM bug otherwise): FAILED, nothing taken */
    assert_ret(CALL(2, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), SBI_ERR_FAILED, 0);
    assert_false(sbi_hsm_take_stop(&S, 2));
    assert_int_equal(status(2), SBI_HSM_STOPPED);

    /* a stopped hart can start again, from a fresh wait */
    spawn(&w, 1);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80004000, 5), 0, 0);
    assert_int_equal(pthread_join(w.thread, NULL), 0);
    assert_true(w.started);
    assert_int_equal(w.addr, 0x80004000);
    assert_int_equal(w.arg, 5);

    /* the boot hart can stop too; a start before its thread got back to
       waiting is not lost */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), 0, 0);
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_START, 0, 0x80006000, 6), 0, 0);
    assert_true(sbi_hsm_take_stop(&S, 0));
    assert_true(sbi_hsm_wait_start(&S, 0, &addr, &arg, NULL, NULL));
    assert_int_equal(addr, 0x80006000);
    assert_int_equal(arg, 6);
}

static void test_hsm_status_of_each_state(void **state)
{
    (void)state;
    uint64_t addr, arg;

    assert_int_equal(status(1), SBI_HSM_STOPPED);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000000, 0), 0, 0);
    assert_int_equal(status(1), SBI_HSM_START_PENDING);
    assert_true(sbi_hsm_wait_start(&S, 1, &addr, &arg, NULL, NULL));
    assert_int_equal(status(1), SBI_HSM_STARTED);
    /* SUSPENDED, as every hart sees it (itself included) until it wakes */
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_RETENTIVE, 0, 0), 0, 0);
    assert_int_equal(status(1), SBI_HSM_SUSPENDED);
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1), 0, SBI_HSM_SUSPENDED);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_GET_STATUS, 1), 0, SBI_HSM_SUSPENDED);
    assert_true(sbi_hsm_suspended(&S, 1));
    assert_false(sbi_hsm_wake(&S, 1, &addr, &arg));
    assert_int_equal(status(1), SBI_HSM_STARTED);
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), 0, 0);
    assert_int_equal(status(1), SBI_HSM_STOPPED);
}

static void test_hsm_suspend_retentive(void **state)
{
    (void)state;
    uint64_t addr, arg;

    /* resume_addr is unused: an odd one is no error */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_RETENTIVE, 0x1001, 9), 0,
               0);
    assert_int_equal(host_calls(), 0); /* the VMM does the sleeping, after the call */
    assert_true(sbi_hsm_suspended(&S, 0));
    assert_false(sbi_hsm_suspended(&S, 1));
    assert_false(sbi_hsm_take_stop(&S, 0));
    /* a suspended hart makes no calls; if the VMM let it, it is not STARTED */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 0, 0, 0), SBI_ERR_FAILED, 0);
    assert_false(sbi_hsm_wake(&S, 0, &addr, &arg)); /* retentive: the ecall returns */
    assert_false(sbi_hsm_suspended(&S, 0));
    assert_int_equal(status(0), SBI_HSM_STARTED);
    assert_false(sbi_hsm_wake(&S, 0, &addr, &arg)); /* once */
    /* suspend_type is 32 bits: a0's upper half is not part of it */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 1ul << 32, 0, 0), 0, 0);
    assert_true(sbi_hsm_suspended(&S, 0));
    assert_false(sbi_hsm_wake(&S, 0, &addr, &arg));
    assert_false(sbi_hsm_wake(&S, 4, &addr, &arg));
}

static void test_hsm_suspend_non_retentive(void **state)
{
    (void)state;
    uint64_t addr = 0, arg = 0;

    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE, 0x80002100,
                    0x5a5a),
               0, 0);
    assert_int_equal(status(0), SBI_HSM_SUSPENDED);
    assert_false(sbi_hsm_wake(&S, 1, &addr, &arg)); /* not suspended */
    assert_true(sbi_hsm_wake(&S, 0, &addr, &arg));
    assert_int_equal(addr, 0x80002100);
    assert_int_equal(arg, 0x5a5a);
    assert_int_equal(status(0), SBI_HSM_STARTED);
    assert_false(sbi_hsm_wake(&S, 0, &addr, &arg));

    /* an odd resume address, one outside RAM: refused before sleeping */
    assert_ret(
        CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE, 0x80002101, 0),
        SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE,
                    RAM_BASE + RAM_SIZE, 0),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_false(sbi_hsm_suspended(&S, 0));
    /* the last byte pair of RAM is still a place to resume */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE,
                    RAM_BASE + RAM_SIZE - 2, 7),
               0, 0);
    assert_true(sbi_hsm_wake(&S, 0, &addr, &arg));
    assert_int_equal(addr, RAM_BASE + RAM_SIZE - 2);
    assert_int_equal(arg, 7);
}

static void test_hsm_suspend_types(void **state)
{
    (void)state;
    /* reserved, then platform-specific (retentive and not): none implemented */
    static const unsigned long bad[] = {1,          0x0fffffff, 0x80000001, 0x8fffffff,
                                        0x10000000, 0x7fffffff, 0x90000000, 0xffffffff};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, bad[i], 0x80000000, 0),
                   SBI_ERR_INVALID_PARAM, 0);
    assert_int_equal(status(0), SBI_HSM_STARTED);
    /* a non-retentive suspend resumes in RAM or not at all */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE, 0x1000, 0),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_int_equal(status(0), SBI_HSM_STARTED);
    /* only a running hart suspends (a VMM bug otherwise) */
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 0, 0, 0), SBI_ERR_FAILED, 0);
    assert_int_equal(status(1), SBI_HSM_STOPPED);
    assert_int_equal(host_calls(), 0);
}

/* A suspended hart in a snapshot: saved and restored with how it resumes. */
static void test_hsm_save_restore_suspended(void **state)
{
    (void)state;
    struct sbi_hsm_saved saved, bad;
    uint64_t addr, arg;

    assert_ret(
        CALL(0, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE, 0x80000400, 0x77),
        0, 0);
    sbi_hsm_save(&S, 0, &saved);
    assert_int_equal(saved.state, SBI_HSM_SUSPENDED);
    assert_int_equal(saved.suspend, SBI_SUSPEND_RESUME);
    assert_int_equal(saved.resume_addr, 0x80000400);
    assert_int_equal(saved.resume_arg, 0x77);
    reinit(4, 0);
    assert_int_equal(sbi_hsm_restore(&S, 0, &saved), 0);
    assert_int_equal(status(0), SBI_HSM_SUSPENDED);
    assert_true(sbi_hsm_wake(&S, 0, &addr, &arg));
    assert_int_equal(addr, 0x80000400);
    assert_int_equal(arg, 0x77);
    /* what no paused VM holds */
    bad = saved;
    bad.resume_addr = 0x1000;
    assert_int_equal(sbi_hsm_restore(&S, 0, &bad), -1);
    bad = saved;
    bad.suspend = SBI_SUSPEND_NONE;
    assert_int_equal(sbi_hsm_restore(&S, 0, &bad), -1);
    bad.suspend = 3;
    assert_int_equal(sbi_hsm_restore(&S, 0, &bad), -1);
    bad = saved;
    bad.state = SBI_HSM_SUSPEND_PENDING;
    assert_int_equal(sbi_hsm_restore(&S, 0, &bad), -1);
    /* retentive needs no address */
    bad = saved;
    bad.suspend = SBI_SUSPEND_RETENTIVE;
    bad.resume_addr = 0;
    assert_int_equal(sbi_hsm_restore(&S, 1, &bad), 0);
    assert_false(sbi_hsm_wake(&S, 1, &addr, &arg));
    assert_int_equal(status(1), SBI_HSM_STARTED);
}

/* ---- SUSP --------------------------------------------------------------------------- */

static void test_susp(void **state)
{
    (void)state;
    uint64_t addr = 0, arg = 0;

    /* hart 2 started: denied, and nothing changes */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 2, 0x80000000, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x80000800, 1), SBI_ERR_DENIED, 0);
    assert_int_equal(status(0), SBI_HSM_STARTED);
    assert_true(sbi_hsm_wait_start(&S, 2, &addr, &arg, NULL, NULL));
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x80000800, 1), SBI_ERR_DENIED, 0);
    /* hart 2 suspended is not stopped either */
    assert_ret(CALL(2, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, 0, 0, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x80000800, 1), SBI_ERR_DENIED, 0);
    assert_false(sbi_hsm_wake(&S, 2, &addr, &arg));
    assert_ret(CALL(2, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), 0, 0);
    assert_true(sbi_hsm_take_stop(&S, 2));
    /* reserved and platform-specific sleep types; the upper half of a0 is not part */
    static const unsigned long bad[] = {1, 0x7fffffff, 0x80000000, 0xffffffff};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, bad[i], 0x80000800, 1),
                   SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x7ffffffe, 1),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 0, 0x80000801, 1),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_SUSP, 1, 0, 0x80000800, 1), SBI_ERR_NOT_SUPPORTED, 0);
    assert_int_equal(status(0), SBI_HSM_STARTED);
    /* alone: suspended, then resumes at the address with the opaque value */
    assert_ret(CALL(0, SBI_EXT_SUSP, SBI_SUSP_SYSTEM_SUSPEND, 1ul << 32, 0x80000800, 0xabc), 0, 0);
    assert_int_equal(status(0), SBI_HSM_SUSPENDED);
    /* no hart can be started while the system sleeps: none is running */
    assert_true(sbi_hsm_wake(&S, 0, &addr, &arg));
    assert_int_equal(addr, 0x80000800);
    assert_int_equal(arg, 0xabc);
    assert_int_equal(status(0), SBI_HSM_STARTED);
}

/* ---- FWFT --------------------------------------------------------------------------- */

static void test_fwft_misaligned(void **state)
{
    (void)state;
    /* the hart delegates every misaligned exception it raises: 1, fixed */
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_MISALIGNED_EXC_DELEG), 0, 1);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 0, 0),
               SBI_ERR_DENIED, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 2, 0),
               SBI_ERR_INVALID_PARAM, 0);
    /* reserved flag bits */
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, 2),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, 1ul << 63),
               SBI_ERR_INVALID_PARAM, 0);
    /* locked: no further set, even of the same value; get still works */
    assert_ret(
        CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, SBI_FWFT_SET_LOCK), 0,
        0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, 0),
               SBI_ERR_DENIED_LOCKED, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 0, 0),
               SBI_ERR_DENIED_LOCKED, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_MISALIGNED_EXC_DELEG), 0, 1);
    /* the feature id is 32 bits wide */
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, (1ul << 32) | SBI_FWFT_MISALIGNED_EXC_DELEG), 0,
               1);
}

static void test_fwft_unsupported_and_reserved(void **state)
{
    (void)state;
    static const unsigned long absent[] = {SBI_FWFT_LANDING_PAD, SBI_FWFT_SHADOW_STACK,
                                           SBI_FWFT_DOUBLE_TRAP, SBI_FWFT_POINTER_MASKING_PMLEN};
    static const unsigned long reserved[] = {6,          0x3fffffff, 0x40000000, 0x7fffffff,
                                             0x80000000, 0xbfffffff, 0xc0000000, 0xffffffff};

    for (size_t i = 0; i < sizeof(absent) / sizeof(absent[0]); i++) {
        assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, absent[i]), SBI_ERR_NOT_SUPPORTED, 0);
        assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, absent[i], 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
        assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, absent[i], 1, 1), SBI_ERR_NOT_SUPPORTED, 0);
    }
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++) {
        assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, reserved[i]), SBI_ERR_DENIED, 0);
        assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, reserved[i], 0, 0), SBI_ERR_DENIED, 0);
    }
    assert_ret(CALL(0, SBI_EXT_FWFT, 2, 0), SBI_ERR_NOT_SUPPORTED, 0);
}

static void test_fwft_pte_ad(void **state)
{
    (void)state;
    uint64_t addr, arg;

    /* a hart without Svadu: NOT_SUPPORTED both ways, nothing changes */
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING),
               SBI_ERR_NOT_SUPPORTED, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0),
               SBI_ERR_NOT_SUPPORTED, 0);
    assert_false(F.ad_on[0]);
    /* with Svadu: reset 0, set per hart, value checked, locks per hart */
    F.svadu = true;
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING), 0, 0);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 2, 0),
               SBI_ERR_INVALID_PARAM, 0);
    assert_false(F.ad_on[0]);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0), 0, 0);
    assert_true(F.ad_on[0]);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING), 0, 1);
    assert_ret(
        CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, SBI_FWFT_SET_LOCK), 0,
        0);
    assert_false(F.ad_on[0]);
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0),
               SBI_ERR_DENIED_LOCKED, 0);
    assert_false(F.ad_on[0]);
    /* the lock is hart 0's; and a lock on one feature leaves the others free */
    assert_ret(CALL(0, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_MISALIGNED_EXC_DELEG, 1, 0), 0, 0);
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000000, 0), 0, 0);
    assert_true(sbi_hsm_wait_start(&S, 1, &addr, &arg, NULL, NULL));
    assert_ret(
        CALL(1, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, SBI_FWFT_SET_LOCK), 0,
        0);
    assert_true(F.ad_on[1]);
    /* non-retentive suspend keeps features; a hart reset (stop, start) clears them */
    assert_ret(
        CALL(1, SBI_EXT_HSM, SBI_HSM_HART_SUSPEND, SBI_HSM_SUSPEND_NON_RETENTIVE, 0x80000000, 0), 0,
        0);
    assert_true(sbi_hsm_wake(&S, 1, &addr, &arg));
    assert_ret(CALL(1, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING), 0, 1);
    assert_ret(CALL(1, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 0, 0),
               SBI_ERR_DENIED_LOCKED, 0);
    assert_ret(CALL(1, SBI_EXT_HSM, SBI_HSM_HART_STOP, 0), 0, 0);
    assert_true(sbi_hsm_take_stop(&S, 1));
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 1, 0x80000000, 0), 0, 0);
    assert_true(sbi_hsm_wait_start(&S, 1, &addr, &arg, NULL, NULL));
    assert_ret(CALL(1, SBI_EXT_FWFT, SBI_FWFT_GET, SBI_FWFT_PTE_AD_HW_UPDATING), 0, 0);
    assert_ret(CALL(1, SBI_EXT_FWFT, SBI_FWFT_SET, SBI_FWFT_PTE_AD_HW_UPDATING, 1, 0), 0, 0);
}

/* ---- STA ---------------------------------------------------------------------------- */

struct sta_view {
    uint32_t sequence, flags;
    uint64_t steal;
    uint8_t preempted;
};

static struct sta_view sta_at(uint64_t gpa)
{
    struct sta_view v;
    const uint8_t *p = F.ram + (gpa - RAM_BASE);
    memcpy(&v.sequence, p, 4);
    memcpy(&v.flags, p + 4, 4);
    memcpy(&v.steal, p + 8, 8);
    v.preempted = p[16];
    return v;
}

static void test_sta_set_shmem(void **state)
{
    (void)state;
    const uint64_t at = RAM_BASE + 0x1000;

    memset(F.ram + 0x1000, 0xee, 128);
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 0, 1), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, at + 32, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 1, 0), SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, RAM_BASE - 64, 0, 0),
               SBI_ERR_INVALID_ADDRESS, 0);
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, RAM_BASE + RAM_SIZE, 0, 0),
               SBI_ERR_INVALID_ADDRESS, 0);
    /* all-ones in only one half is an address, and not one in RAM */
    assert_ret(
        CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, (unsigned long)-1 << 6, (unsigned long)-1, 0),
        SBI_ERR_INVALID_ADDRESS, 0);
    assert_false(sbi_sta_enabled(&S, 0));
    assert_int_equal(F.ram[0x1000], 0xee); /* refused: untouched */
    /* accepted: the 64 bytes are zeroed, no more */
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 0, 0), 0, 0);
    assert_true(sbi_sta_enabled(&S, 0));
    for (unsigned i = 0; i < 64; i++)
        assert_int_equal(F.ram[0x1000 + i], 0);
    assert_int_equal(F.ram[0x1040], 0xee);
    /* the last 64 bytes of RAM will do */
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, RAM_BASE + RAM_SIZE - 64, 0, 0), 0, 0);
    /* disabled with -1/-1 */
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, (unsigned long)-1, (unsigned long)-1, 0), 0,
               0);
    assert_false(sbi_sta_enabled(&S, 0));
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, (unsigned long)-1, (unsigned long)-1, 4),
               SBI_ERR_INVALID_PARAM, 0);
    assert_ret(CALL(0, SBI_EXT_STA, 1, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
}

static void test_sta_steal(void **state)
{
    (void)state;
    const uint64_t at = RAM_BASE + 0x2000, other = RAM_BASE + 0x2040;
    uint64_t shmem, steal;
    uint32_t seq;

    F.run_delay[0] = 5000; /* before the registration: not counted */
    assert_ret(CALL(0, SBI_EXT_STA, SBI_STA_SET_SHMEM, at, 0, 0), 0, 0);
    sbi_sta_update(&S, 0);
    assert_int_equal(sta_at(at).sequence, 0); /* nothing new: nothing written */
    F.run_delay[0] = 7500;
    sbi_sta_update(&S, 0);
    struct sta_view v = sta_at(at);
    assert_int_equal(v.sequence, 2);
    assert_int_equal(v.steal, 2500);
    assert_int_equal(v.flags, 0);
    assert_int_equal(v.preempted, 0);
    /* the guest scribbles on it: our own sequence and steal go on */
    memset(F.ram + 0x2000, 0x55, 24);
    F.run_delay[0] = 8000;
    sbi_sta_update(&S, 0);
    v = sta_at(at);
    assert_int_equal(v.sequence, 4);
    assert_int_equal(v.steal, 3000);
    /* another hart's structure is its own */
    sbi_sta_update(&S, 1);
    assert_int_equal(sta_at(other).sequence, 0);
    /* a snapshot and restore on a new thread whose clock starts at 10 */
    sbi_sta_save(&S, 0, &shmem, &seq, &steal);
    assert_int_equal(shmem, at);
    assert_int_equal(seq, 4);
    assert_int_equal(steal, 3000);
    reinit(4, 0);
    F.run_delay[0] = 10;
    assert_int_equal(sbi_sta_restore(&S, 0, at + 1, seq, steal), -1);
    assert_int_equal(sbi_sta_restore(&S, 0, RAM_BASE + RAM_SIZE, seq, steal), -1);
    assert_int_equal(sbi_sta_restore(&S, 0, shmem, seq, steal), 0);
    sbi_sta_update(&S, 0); /* takes the base */
    F.run_delay[0] = 110;
    sbi_sta_update(&S, 0);
    v = sta_at(at);
    assert_int_equal(v.sequence, 6);
    assert_int_equal(v.steal, 3100);
    assert_int_equal(sbi_sta_restore(&S, 0, SBI_STA_DISABLED, 0, 0), 0);
    assert_false(sbi_sta_enabled(&S, 0));
}

static void test_hsm_quit(void **state)
{
    (void)state;
    struct waiter w;
    uint64_t addr = 1, arg = 2;

    /* a kick with quit still false: the waiter checks and sleeps on */
    spawn(&w, 3);
    unsigned checks = atomic_load(&w.quit_checks);
    sbi_hsm_kick(&S);
    while (atomic_load(&w.quit_checks) == checks)
        sched_yield();
    /* quit set, then kicked: the waiter gives up */
    atomic_store(&w.quit, true);
    sbi_hsm_kick(&S);
    assert_int_equal(pthread_join(w.thread, NULL), 0);
    assert_false(w.started);
    assert_int_equal(status(3), SBI_HSM_STOPPED);

    /* quit wins over a pending start, which stays pending */
    assert_ret(CALL(0, SBI_EXT_HSM, SBI_HSM_HART_START, 3, 0x80000000, 0), 0, 0);
    w.quit = true;
    assert_false(sbi_hsm_wait_start(&S, 3, &addr, &arg, waiter_quit, &w));
    assert_int_equal(addr, 1);
    assert_int_equal(arg, 2);
    assert_int_equal(status(3), SBI_HSM_START_PENDING);
    /* no such hart */
    assert_false(sbi_hsm_wait_start(&S, 4, &addr, &arg, NULL, NULL));
}

static void test_hsm_many_waiters(void **state)
{
    (void)state;
    struct waiter w[7];

    reinit(8, 0);
    for (unsigned i = 0; i < 7; i++)
        spawn(&w[i], i + 1);
    /* started out of order, from different harts */
    for (unsigned k = 0; k < 7; k++) {
        unsigned i = (k * 3) % 7, hart = i + 1;
        unsigned caller = k == 0 ? 0 : (k * 3 - 3) % 7 + 1; /* the previously started one */
        assert_ret(
            CALL(caller, SBI_EXT_HSM, SBI_HSM_HART_START, hart, 0x80000000 + 0x1000 * hart, hart),
            0, 0);
        assert_int_equal(pthread_join(w[i].thread, NULL), 0);
        assert_true(w[i].started);
        assert_int_equal(w[i].addr, 0x80000000 + 0x1000 * hart);
        assert_int_equal(w[i].arg, hart);
    }
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(status(i), SBI_HSM_STARTED);
    assert_int_equal(F.start_calls, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(test_init),
        T(test_unknown_ext_and_fid),
        T(test_dispatch_bad_caller),
        T(test_base_values),
        T(test_base_probe),
        T(test_hart_mask),
        T(test_time),
        T(test_ipi),
        T(test_rfence_kinds),
        T(test_rfence_ranges),
        T(test_rfence_hfence),
        T(test_srst_valid),
        T(test_srst_invalid),
        T(test_dbcn_write),
        T(test_dbcn_write_straddle),
        T(test_dbcn_write_huge),
        T(test_dbcn_read),
        T(test_dbcn_read_large),
        T(test_dbcn_write_byte),
        T(test_legacy_console),
        T(test_legacy_timer_ipi_shutdown),
        T(test_legacy_send_ipi),
        T(test_legacy_fences),
        T(test_hsm_initial_status),
        T(test_hsm_start_waiting_thread),
        T(test_hsm_start_then_wait),
        T(test_hsm_start_errors),
        T(test_hsm_stop),
        T(test_hsm_status_of_each_state),
        T(test_hsm_suspend_retentive),
        T(test_hsm_suspend_non_retentive),
        T(test_hsm_suspend_types),
        T(test_hsm_save_restore_suspended),
        T(test_susp),
        T(test_fwft_misaligned),
        T(test_fwft_unsupported_and_reserved),
        T(test_fwft_pte_ad),
        T(test_sta_set_shmem),
        T(test_sta_steal),
        T(test_hsm_quit),
        T(test_hsm_many_waiters),
#undef T
    };
    return cmocka_run_group_tests_name("sbi", tests, NULL, NULL);
}
