/*
 * The SBI PMU extension over real harts (their counter CSRs through the
 * host callbacks, as the VMM wires them): every function and its errors,
 * the event mapping, and the firmware events the other extensions count.
 * Counting itself (instructions, TLB misses, overflow) is test_priv's.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hart/dvext.h"
#include "sbi/sbi.h"

#define NHARTS   2
#define RAM_BASE 0x80000000ull
#define RAM_SIZE 4096u

static struct dv_machine *M;
static struct dv_hart *HARTS[NHARTS];
static struct sbi_host H;
static struct sbi S;
static uint8_t RAM[RAM_SIZE];

static int hart_csr_read(void *opaque, unsigned hartid, unsigned csr, uint64_t *value)
{
    (void)opaque;
    return dv_csr_read(HARTS[hartid], csr, value) == DV_OK ? 0 : -1;
}

static int hart_csr_write(void *opaque, unsigned hartid, unsigned csr, uint64_t value)
{
    (void)opaque;
    return dv_csr_write(HARTS[hartid], csr, value) == DV_OK ? 0 : -1;
}

static int ram_at(uint64_t gpa, size_t len, size_t *off)
{
    if (gpa < RAM_BASE || gpa - RAM_BASE > RAM_SIZE || len > RAM_SIZE - (gpa - RAM_BASE))
        return -1;
    *off = (size_t)(gpa - RAM_BASE);
    return 0;
}

static int read_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    (void)opaque;
    size_t off;
    if (ram_at(gpa, len, &off))
        return -1;
    memcpy(buf, RAM + off, len);
    return 0;
}

static int write_phys(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    (void)opaque;
    size_t off;
    if (ram_at(gpa, len, &off))
        return -1;
    memcpy(RAM + off, buf, len);
    return 0;
}

static void set_timer(void *opaque, unsigned hartid, uint64_t when)
{
    (void)opaque;
    (void)hartid;
    (void)when;
}

static void send_ipi(void *opaque, unsigned target)
{
    (void)opaque;
    (void)target;
}

static void remote_fence(void *opaque, unsigned caller, const bool *targets,
                         enum sbi_fence_kind kind, uint64_t start, uint64_t size, uint64_t asid)
{
    (void)opaque;
    (void)caller;
    (void)targets;
    (void)kind;
    (void)start;
    (void)size;
    (void)asid;
}

static int setup(void **state)
{
    (void)state;
    M = dv_machine_create(NHARTS);
    for (unsigned i = 0; i < NHARTS; i++)
        HARTS[i] = dv_hart_create(M, i);
    H = (struct sbi_host){.nharts = NHARTS,
                          .set_timer = set_timer,
                          .send_ipi = send_ipi,
                          .remote_fence = remote_fence,
                          .read_phys = read_phys,
                          .write_phys = write_phys,
                          .hart_csr_read = hart_csr_read,
                          .hart_csr_write = hart_csr_write};
    return sbi_init(&S, &H, 0);
}

static int teardown(void **state)
{
    (void)state;
    sbi_destroy(&S);
    for (unsigned i = 0; i < NHARTS; i++)
        dv_hart_destroy(HARTS[i]);
    dv_machine_destroy(M);
    return 0;
}

static struct sbi_ret pmu(unsigned hart, unsigned long fid, unsigned long a0, unsigned long a1,
                          unsigned long a2, unsigned long a3, unsigned long a4)
{
    struct sbi_call c = {
        .ext = SBI_EXT_PMU, .fid = fid, .args = {a0, a1, a2, a3, a4}, .hartid = hart};
    return sbi_dispatch(&S, &c, NULL);
}

static uint64_t hcsr(unsigned hart, unsigned csr)
{
    uint64_t v = 0;
    assert_int_equal(dv_csr_read(HARTS[hart], csr, &v), DV_OK);
    return v;
}

#define ALL             ((1ul << 48) - 1) /* every counter */
#define CFG(m, f, e, d) pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 0, (m), (f), (e), (d))
#define SKIP_MATCH      1ul
#define CLEAR           2ul
#define AUTO_START      4ul
#define SET_UINH        (1ul << 5)
#define SET_SINH        (1ul << 6)
#define EV_CYCLES       0x1ul
#define EV_INSTRS       0x2ul
#define EV_DTLB_RD_MISS 0x10019ul
#define EV_DTLB_WR_MISS 0x1001bul
#define EV_ITLB_RD_MISS 0x10021ul
#define EV_FW(n)        (0xf0000ul | (n))

/* The call's error and value, or a failure naming the line. */
#define expect(call_, error_, value_)                                                              \
    do {                                                                                           \
        struct sbi_ret r_ = (call_);                                                               \
        if (r_.error != (long)(error_) || r_.value != (unsigned long)(value_))                     \
            fail_msg("line %d: error %ld value %lu", __LINE__, r_.error, r_.value);                \
    } while (0)

static void test_probe_and_info(void **state)
{
    (void)state;
    struct sbi_call probe = {
        .ext = SBI_EXT_BASE, .fid = SBI_BASE_PROBE_EXTENSION, .args = {SBI_EXT_PMU}};
    assert_int_equal(sbi_dispatch(&S, &probe, NULL).value, 1);
    expect(pmu(0, SBI_PMU_NUM_COUNTERS, 0, 0, 0, 0, 0), SBI_SUCCESS, 48);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 0, 0, 0, 0, 0), SBI_SUCCESS, 63ul << 12 | 0xc00);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 2, 0, 0, 0, 0), SBI_SUCCESS, 63ul << 12 | 0xc02);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 31, 0, 0, 0, 0), SBI_SUCCESS, 63ul << 12 | 0xc1f);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 32, 0, 0, 0, 0), SBI_SUCCESS, 1ul << 63);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 47, 0, 0, 0, 0), SBI_SUCCESS, 1ul << 63);
    expect(pmu(0, SBI_PMU_COUNTER_GET_INFO, 48, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_SNAPSHOT_SET_SHMEM, 0, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect(pmu(0, 99, 0, 0, 0, 0, 0), SBI_ERR_NOT_SUPPORTED, 0);
}

static void test_config_matching(void **state)
{
    (void)state;
    /* cycles and instructions take the fixed counters first */
    expect(CFG(ALL, 0, EV_CYCLES, 0), SBI_SUCCESS, 0);
    expect(CFG(ALL, 0, EV_INSTRS, 0), SBI_SUCCESS, 2);
    /* then programmable ones, with the event and the inhibit bits */
    expect(CFG(ALL, 0, EV_CYCLES, 0), SBI_SUCCESS, 3);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3), DV_HPM_CYCLES);
    /* a privilege filter keeps instructions off counter 2 (which has none) */
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 2, 1, 1, 0, 0), SBI_SUCCESS, 0);
    expect(CFG(ALL, SET_UINH, EV_INSTRS, 0), SBI_SUCCESS, 4);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3 + 1), DV_HPM_INSTRET | DV_HPMEVENT_UINH);
    expect(CFG(ALL, SET_SINH, EV_DTLB_RD_MISS, 0), SBI_SUCCESS, 5);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3 + 2), DV_HPM_DTLB_LOAD_MISS | DV_HPMEVENT_SINH);
    expect(CFG(ALL, 0, EV_DTLB_WR_MISS, 0), SBI_SUCCESS, 6);
    expect(CFG(ALL, 0, EV_ITLB_RD_MISS, 0), SBI_SUCCESS, 7);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3 + 4), DV_HPM_ITLB_MISS);
    /* raw events are the hart's event numbers */
    expect(CFG(ALL, 0, 0x20000, DV_HPM_INSTRET), SBI_SUCCESS, 2); /* counter 2, free again */
    expect(CFG(ALL, 0, 0x20000, 99), SBI_ERR_NOT_SUPPORTED, 0);
    /* events the hart does not count */
    expect(CFG(ALL, 0, 0x3, 0), SBI_ERR_NOT_SUPPORTED, 0);     /* cache references */
    expect(CFG(ALL, 0, 0x5, 0), SBI_ERR_NOT_SUPPORTED, 0);     /* branches */
    expect(CFG(ALL, 0, 0x10000, 0), SBI_ERR_NOT_SUPPORTED, 0); /* L1D read access */
    expect(CFG(ALL, 0, EV_FW(22), 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect(CFG(ALL, 0, EV_FW(0xffff), 0), SBI_ERR_NOT_SUPPORTED, 0);
    /* bad arguments */
    expect(CFG(ALL, 0, 0x70001, 0), SBI_ERR_INVALID_PARAM, 0); /* no such type */
    expect(CFG(ALL, 1ul << 8, EV_CYCLES, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(CFG(0, 0, EV_CYCLES, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 40, 0x1ff, 0, EV_CYCLES, 0),
           SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 48, 1, 0, EV_CYCLES, 0), SBI_ERR_INVALID_PARAM,
           0);
    /* only counters in the mask: counter 0 and 3 are taken, 1 is time */
    expect(CFG(0xb, 0, EV_CYCLES, 0), SBI_ERR_NOT_SUPPORTED, 0);
    /* firmware events on firmware counters only */
    expect(CFG(0xffffffff, 0, EV_FW(SBI_PMU_FW_SET_TIMER), 0), SBI_ERR_NOT_SUPPORTED, 0);
    expect(CFG(ALL, 0, EV_FW(SBI_PMU_FW_SET_TIMER), 0), SBI_SUCCESS, 32);
    expect(pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 32, 0xffff, 0, EV_CYCLES, 0),
           SBI_ERR_NOT_SUPPORTED, 0);
    /* SKIP_MATCH: the first counter named, as configured before */
    expect(pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 3, 1, SKIP_MATCH, EV_CYCLES, 0), SBI_SUCCESS, 3);
    expect(pmu(0, SBI_PMU_COUNTER_CONFIG_MATCHING, 9, 1, SKIP_MATCH, EV_CYCLES, 0),
           SBI_ERR_INVALID_PARAM, 0);
    /* CLEAR_VALUE and AUTO_START */
    dv_csr_write(HARTS[0], DV_CSR_HUHPMCOUNTER0 + 9, 777);
    expect(CFG(1ul << 9, CLEAR | AUTO_START, EV_INSTRS, 0), SBI_SUCCESS, 9);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMCOUNTER0 + 9), 0);
    assert_false(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 1u << 9);
    /* another hart's counters are its own */
    expect(pmu(1, SBI_PMU_COUNTER_CONFIG_MATCHING, 0, ALL, 0, EV_CYCLES, 0), SBI_SUCCESS, 0);
}

static void test_start_stop(void **state)
{
    (void)state;
    const unsigned long SET_INIT = 1, INIT_SNAPSHOT = 2, RESET = 1, TAKE_SNAPSHOT = 2;
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, 0, 0, 0), SBI_ERR_INVALID_PARAM,
           0); /* unconfigured */
    expect(CFG(1ul << 3, 0, EV_INSTRS, 0), SBI_SUCCESS, 3);
    assert_true(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 1u << 3);
    /* an overflow left from before is cleared by a start */
    dv_csr_write(HARTS[0], DV_CSR_HUHPMEVENT3, DV_HPM_INSTRET | DV_HPMEVENT_OF);
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, SET_INIT, 0xfffffffffffff000ul, 0), SBI_SUCCESS, 0);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMCOUNTER0 + 3), 0xfffffffffffff000ul);
    assert_false(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 1u << 3);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3), DV_HPM_INSTRET);
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, 0, 0, 0), SBI_ERR_ALREADY_STARTED, 0);
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, 4, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, INIT_SNAPSHOT, 0, 0), SBI_ERR_NO_SHMEM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 3, 1, TAKE_SNAPSHOT, 0, 0), SBI_ERR_NO_SHMEM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 3, 1, 0, 0, 0), SBI_SUCCESS, 0);
    assert_true(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 1u << 3);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 3, 1, 0, 0, 0), SBI_ERR_ALREADY_STOPPED, 0);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 3, 3, 0, 0, 0), SBI_ERR_INVALID_PARAM,
           0); /* 4: unconfigured */
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 47, 3, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0); /* 48: none */
    /* RESET releases it (even stopped already) and clears its event */
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 3, 1, RESET, 0, 0), SBI_ERR_ALREADY_STOPPED, 0);
    assert_int_equal(hcsr(0, DV_CSR_HUHPMEVENT3), 0);
    expect(pmu(0, SBI_PMU_COUNTER_START, 3, 1, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(CFG(1ul << 3, 0, EV_CYCLES, 0), SBI_SUCCESS, 3);
    /* cycle and instret run until the guest configures and stops them */
    assert_false(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 5u);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 0, 5, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(CFG(5, AUTO_START, EV_INSTRS, 0), SBI_SUCCESS, 2);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 2, 1, RESET, 0, 0), SBI_SUCCESS, 0);
    assert_true(hcsr(0, DV_CSR_HUCOUNTINHIBIT) & 4u);
}

static void call(unsigned hart, unsigned long ext, unsigned long fid, unsigned long a0,
                 unsigned long a1)
{
    struct sbi_call c = {.ext = ext, .fid = fid, .args = {a0, a1}, .hartid = hart};
    sbi_dispatch(&S, &c, NULL);
}

static void test_firmware_counters(void **state)
{
    (void)state;
    const unsigned long RESET = 1;
    expect(CFG(ALL, CLEAR | AUTO_START, EV_FW(SBI_PMU_FW_SET_TIMER), 0), SBI_SUCCESS, 32);
    for (unsigned i = 0; i < 3; i++)
        call(0, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 100, 0);
    call(0, SBI_LEGACY_SET_TIMER, 0, 100, 0);
    call(1, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 100, 0); /* another hart's */
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 32, 0, 0, 0, 0), SBI_SUCCESS, 4);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ_HI, 32, 0, 0, 0, 0), SBI_SUCCESS, 0);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 32, 1, 0, 0, 0), SBI_SUCCESS, 0);
    call(0, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 100, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 32, 0, 0, 0, 0), SBI_SUCCESS, 4);
    expect(pmu(0, SBI_PMU_COUNTER_START, 32, 1, 1, 10, 0), SBI_SUCCESS, 0);
    call(0, SBI_EXT_TIME, SBI_TIME_SET_TIMER, 100, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 32, 0, 0, 0, 0), SBI_SUCCESS, 11);
    /* reading a hardware counter, an unconfigured or a missing one */
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 3, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 33, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 48, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ_HI, 3, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
    /* IPIs: the sender's IPI_SENT, each target's IPI_RECEIVED */
    expect(CFG(ALL, AUTO_START, EV_FW(6), 0), SBI_SUCCESS, 33);
    expect(pmu(1, SBI_PMU_COUNTER_CONFIG_MATCHING, 0, ALL, AUTO_START, EV_FW(7), 0), SBI_SUCCESS,
           32);
    call(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 3, 0); /* harts 0 and 1 */
    call(0, SBI_EXT_IPI, SBI_IPI_SEND_IPI, 2, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 33, 0, 0, 0, 0), SBI_SUCCESS, 2);
    expect(pmu(1, SBI_PMU_COUNTER_FW_READ, 32, 0, 0, 0, 0), SBI_SUCCESS, 2);
    /* remote sfence.vma: SFENCE_VMA_RECEIVED (11) on the target */
    expect(pmu(1, SBI_PMU_COUNTER_CONFIG_MATCHING, 0, ALL, AUTO_START, EV_FW(11), 0), SBI_SUCCESS,
           33);
    call(0, SBI_EXT_RFENCE, SBI_RFENCE_SFENCE_VMA, 2, 0);
    expect(pmu(1, SBI_PMU_COUNTER_FW_READ, 33, 0, 0, 0, 0), SBI_SUCCESS, 1);
    expect(pmu(0, SBI_PMU_COUNTER_STOP, 32, 3, RESET, 0, 0), SBI_SUCCESS, 0);
    expect(pmu(0, SBI_PMU_COUNTER_FW_READ, 32, 0, 0, 0, 0), SBI_ERR_INVALID_PARAM, 0);
}

static void put_entry(unsigned i, uint32_t event_idx, uint64_t data)
{
    uint8_t *e = RAM + 16 * i;
    memset(e, 0xee, 16);
    memcpy(e, &event_idx, 4);
    memcpy(e + 8, &data, 8);
}

static uint32_t output(unsigned i)
{
    uint32_t v;
    memcpy(&v, RAM + 16 * i + 4, 4);
    return v;
}

static void test_event_get_info(void **state)
{
    (void)state;
    put_entry(0, EV_CYCLES, 0);
    put_entry(1, 0x3, 0); /* cache references */
    put_entry(2, EV_DTLB_WR_MISS, 0);
    put_entry(3, EV_FW(SBI_PMU_FW_IPI_SENT), 0);
    put_entry(4, 0x20000, DV_HPM_ITLB_MISS);
    put_entry(5, 0x20000, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE, 0, 6, 0, 0), SBI_SUCCESS, 0);
    const uint32_t want[] = {1, 0, 1, 1, 1, 0};
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(output(i), want[i]);
    uint64_t data;
    memcpy(&data, RAM + 16 * 4 + 8, 8);
    assert_int_equal(data, DV_HPM_ITLB_MISS); /* only the output word is written */
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE + 8, 0, 1, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE, 0, 1, 1, 0), SBI_ERR_INVALID_PARAM, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE, 1, 1, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE + RAM_SIZE - 16, 0, 2, 0, 0),
           SBI_ERR_INVALID_ADDRESS, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, 0x1000, 0, 1, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
    expect(pmu(0, SBI_PMU_EVENT_GET_INFO, RAM_BASE, 0, ~0ul, 0, 0), SBI_ERR_INVALID_ADDRESS, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_probe_and_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_config_matching, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_firmware_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_event_get_info, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
