/*
 * PMU extension (SBI 3.0, chapter "Performance Monitoring Unit"): the guest's
 * hardware counters are the hart's (cycle 0, instret 2, hpmcounter3..31, read
 * by the guest with csrr, no exit), programmed here through the calling
 * hart's counter CSRs (dvext.h: huhpmevent, hucountinhibit, huhpmcounter);
 * firmware counters (index 32..) count what this SBI implementation serves.
 *
 * Events: hardware CPU_CYCLES (one per instruction: the hart has no clock of
 * its own) and INSTRUCTIONS; cache events DTLB read/write miss and ITLB read
 * miss (the hart's software TLB); raw events 1..5 are dvext.h's DV_HPM_*;
 * firmware events 0..21 (those for traps the guest takes itself, misaligned,
 * access and illegal, always read 0). Everything else is NOT_SUPPORTED. No
 * snapshot shared memory (optional in the spec): NOT_SUPPORTED / NO_SHMEM.
 */
#include <stdatomic.h>
#include <string.h>

#include "hart/dvext.h" /* the counter CSRs' numbers: the contract, as the host reaches them */
#include "sbi/sbi.h"

#define HW_COUNTERS    32u
#define TOTAL_COUNTERS (HW_COUNTERS + SBI_PMU_FW_COUNTERS)

enum {
    CFG_SKIP_MATCH = 1u << 0,
    CFG_CLEAR_VALUE = 1u << 1,
    CFG_AUTO_START = 1u << 2,
    CFG_SET_VUINH = 1u << 3, /* VU and VS of a guest's own guests: none ever run */
    CFG_SET_VSINH = 1u << 4,
    CFG_SET_UINH = 1u << 5,
    CFG_SET_SINH = 1u << 6,
    CFG_SET_MINH = 1u << 7, /* M-mode never runs either */
    CFG_FLAGS = 0xffu,
};
enum { START_SET_INIT_VALUE = 1u << 0, START_INIT_SNAPSHOT = 1u << 1 };
enum { STOP_RESET = 1u << 0, STOP_TAKE_SNAPSHOT = 1u << 1 };
enum { TYPE_HW = 0, TYPE_CACHE = 1, TYPE_RAW = 2, TYPE_RAW_V2 = 3, TYPE_FW = 15 };
enum { HW_CPU_CYCLES = 1, HW_INSTRUCTIONS = 2 };
#define CACHE_EVENT(id, op, result) ((id) << 3 | (op) << 1 | (result))
enum { CACHE_DTLB = 3, CACHE_ITLB = 4, OP_READ = 0, OP_WRITE = 1, RESULT_MISS = 1 };

static struct sbi_ret ret(long error, unsigned long value)
{
    return (struct sbi_ret){error, value};
}

static int csr_read(struct sbi *s, unsigned hart, unsigned csr, uint64_t *value)
{
    return s->host->hart_csr_read(s->host->opaque, hart, csr, value);
}

static void csr_write(struct sbi *s, unsigned hart, unsigned csr, uint64_t value)
{
    s->host->hart_csr_write(s->host->opaque, hart, csr, value);
}

/* The hart event for an SBI event, or DV_HPM_NONE. */
static unsigned hart_event(unsigned long event_idx, unsigned long event_data)
{
    unsigned type = (unsigned)(event_idx >> 16 & 0xf), code = (unsigned)(event_idx & 0xffff);
    switch (type) {
    case TYPE_HW:
        return code == HW_CPU_CYCLES     ? DV_HPM_CYCLES
               : code == HW_INSTRUCTIONS ? DV_HPM_INSTRET
                                         : DV_HPM_NONE;
    case TYPE_CACHE:
        if (code == CACHE_EVENT(CACHE_DTLB, OP_READ, RESULT_MISS))
            return DV_HPM_DTLB_LOAD_MISS;
        if (code == CACHE_EVENT(CACHE_DTLB, OP_WRITE, RESULT_MISS))
            return DV_HPM_DTLB_STORE_MISS;
        if (code == CACHE_EVENT(CACHE_ITLB, OP_READ, RESULT_MISS))
            return DV_HPM_ITLB_MISS;
        return DV_HPM_NONE;
    case TYPE_RAW:
        return code == 0 && event_data > DV_HPM_NONE && event_data < DV_HPM_EVENTS
                   ? (unsigned)event_data
                   : DV_HPM_NONE;
    }
    return DV_HPM_NONE;
}

static bool known_type(unsigned long event_idx)
{
    unsigned type = (unsigned)(event_idx >> 16);
    return type == TYPE_HW || type == TYPE_CACHE || type == TYPE_RAW || type == TYPE_RAW_V2 ||
           type == TYPE_FW;
}

static bool is_fw(unsigned idx)
{
    return idx >= HW_COUNTERS;
}

/* The counters a (base, mask) pair names, or false for one that does not exist. */
static bool counter_set(unsigned long base, unsigned long mask, uint64_t *set)
{
    *set = 0;
    if (mask == 0)
        return true;
    if (base >= TOTAL_COUNTERS ||
        (unsigned long)(64 - __builtin_clzl(mask)) > TOTAL_COUNTERS - base)
        return false;
    *set = (uint64_t)mask << base;
    return true;
}

static bool configured(const struct sbi_pmu_hart *p, unsigned idx)
{
    return is_fw(idx) ? (p->fw_used >> (idx - HW_COUNTERS)) & 1 : (p->hw_used >> idx) & 1;
}

static uint64_t fw_now(struct sbi *s, unsigned hart, unsigned idx)
{
    const struct sbi_pmu_hart *p = &s->pmu.hart[hart];
    unsigned f = idx - HW_COUNTERS;
    if (!((p->fw_started >> f) & 1))
        return p->fw_value[f];
    uint64_t count =
        atomic_load_explicit(&s->pmu.fw_count[hart][p->fw_event[f]], memory_order_relaxed);
    return p->fw_value[f] + (count - p->fw_base[f]);
}

static bool started(struct sbi *s, unsigned hart, unsigned idx)
{
    if (is_fw(idx))
        return (s->pmu.hart[hart].fw_started >> (idx - HW_COUNTERS)) & 1;
    uint64_t inhibit = 0;
    csr_read(s, hart, DV_CSR_HUCOUNTINHIBIT, &inhibit);
    return !((inhibit >> idx) & 1);
}

static void start(struct sbi *s, unsigned hart, unsigned idx, bool set, uint64_t value)
{
    struct sbi_pmu_hart *p = &s->pmu.hart[hart];
    if (is_fw(idx)) {
        unsigned f = idx - HW_COUNTERS;
        if (set)
            p->fw_value[f] = value;
        p->fw_base[f] =
            atomic_load_explicit(&s->pmu.fw_count[hart][p->fw_event[f]], memory_order_relaxed);
        p->fw_started |= (uint16_t)(1u << f);
        return;
    }
    if (idx >= 3) { /* a new period: OF clear, so the next overflow interrupts */
        uint64_t ev = 0;
        csr_read(s, hart, DV_CSR_HUHPMEVENT3 + idx - 3, &ev);
        csr_write(s, hart, DV_CSR_HUHPMEVENT3 + idx - 3, ev & ~DV_HPMEVENT_OF);
    }
    if (set)
        csr_write(s, hart, DV_CSR_HUHPMCOUNTER0 + idx, value);
    uint64_t inhibit = 0;
    csr_read(s, hart, DV_CSR_HUCOUNTINHIBIT, &inhibit);
    csr_write(s, hart, DV_CSR_HUCOUNTINHIBIT, inhibit & ~(1ull << idx));
}

static void stop(struct sbi *s, unsigned hart, unsigned idx)
{
    struct sbi_pmu_hart *p = &s->pmu.hart[hart];
    if (is_fw(idx)) {
        unsigned f = idx - HW_COUNTERS;
        p->fw_value[f] = fw_now(s, hart, idx);
        p->fw_started &= (uint16_t) ~(1u << f);
        return;
    }
    uint64_t inhibit = 0;
    csr_read(s, hart, DV_CSR_HUCOUNTINHIBIT, &inhibit);
    csr_write(s, hart, DV_CSR_HUCOUNTINHIBIT, inhibit | 1ull << idx);
}

/* Can counter idx count this event (hart event ev, or firmware event fw)? */
static bool can_count(unsigned idx, unsigned long type, unsigned ev, unsigned long flags)
{
    if (type == TYPE_FW)
        return is_fw(idx);
    if (is_fw(idx) || idx == 1 || ev == DV_HPM_NONE)
        return false;
    bool filtered = flags & (CFG_SET_UINH | CFG_SET_SINH);
    if (idx == 0)
        return ev == DV_HPM_CYCLES && !filtered;
    if (idx == 2)
        return ev == DV_HPM_INSTRET && !filtered;
    return true;
}

static struct sbi_ret config_matching(struct sbi *s, const struct sbi_call *c)
{
    unsigned hart = c->hartid;
    struct sbi_pmu_hart *p = &s->pmu.hart[hart];
    unsigned long flags = c->args[2], event_idx = c->args[3], event_data = c->args[4];
    uint64_t set;
    if (!counter_set(c->args[0], c->args[1], &set) || set == 0 || (flags & ~CFG_FLAGS) ||
        !known_type(event_idx))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    unsigned long type = event_idx >> 16;
    unsigned fw_event = (unsigned)(event_idx & 0xffff);
    unsigned ev = type == TYPE_FW ? DV_HPM_NONE : hart_event(event_idx, event_data);
    if (type == TYPE_FW ? fw_event >= SBI_PMU_FW_EVENTS : ev == DV_HPM_NONE)
        return ret(SBI_ERR_NOT_SUPPORTED, 0);
    unsigned idx = TOTAL_COUNTERS;
    if (flags & CFG_SKIP_MATCH) {
        /* the first counter named, configured before for this event's kind */
        unsigned first = (unsigned)__builtin_ctzll(set);
        if (!configured(p, first) || !can_count(first, type, ev, flags))
            return ret(SBI_ERR_INVALID_PARAM, 0);
        idx = first;
    } else {
        for (uint64_t m = set; m; m &= m - 1) {
            unsigned i = (unsigned)__builtin_ctzll(m);
            if (!configured(p, i) && can_count(i, type, ev, flags)) {
                idx = i;
                break;
            }
        }
        if (idx == TOTAL_COUNTERS)
            return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
    if (is_fw(idx)) {
        unsigned f = idx - HW_COUNTERS;
        p->fw_used |= (uint16_t)(1u << f);
        p->fw_event[f] = (uint8_t)fw_event;
        if (flags & CFG_CLEAR_VALUE)
            p->fw_value[f] = 0;
    } else {
        p->hw_used |= 1u << idx;
        if (idx >= 3)
            csr_write(s, hart, DV_CSR_HUHPMEVENT3 + idx - 3,
                      ev | ((flags & CFG_SET_UINH) ? DV_HPMEVENT_UINH : 0) |
                          ((flags & CFG_SET_SINH) ? DV_HPMEVENT_SINH : 0));
        if (flags & CFG_CLEAR_VALUE)
            csr_write(s, hart, DV_CSR_HUHPMCOUNTER0 + idx, 0);
    }
    if ((flags & CFG_AUTO_START) && !started(s, hart, idx))
        start(s, hart, idx, false, 0);
    return ret(SBI_SUCCESS, idx);
}

/* Every counter named must be configured: INVALID_PARAM, nothing done. */
static bool all_configured(const struct sbi_pmu_hart *p, uint64_t set)
{
    for (uint64_t m = set; m; m &= m - 1)
        if (!configured(p, (unsigned)__builtin_ctzll(m)))
            return false;
    return true;
}

static struct sbi_ret counter_start(struct sbi *s, const struct sbi_call *c)
{
    unsigned long flags = c->args[2];
    uint64_t set;
    if (!counter_set(c->args[0], c->args[1], &set) ||
        (flags & ~(unsigned long)(START_SET_INIT_VALUE | START_INIT_SNAPSHOT)) ||
        !all_configured(&s->pmu.hart[c->hartid], set))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (flags & START_INIT_SNAPSHOT)
        return ret(SBI_ERR_NO_SHMEM, 0);
    long error = SBI_SUCCESS;
    for (uint64_t m = set; m; m &= m - 1) {
        unsigned idx = (unsigned)__builtin_ctzll(m);
        if (started(s, c->hartid, idx))
            error = SBI_ERR_ALREADY_STARTED;
        else
            start(s, c->hartid, idx, flags & START_SET_INIT_VALUE, c->args[3]);
    }
    return ret(error, 0);
}

static struct sbi_ret counter_stop(struct sbi *s, const struct sbi_call *c)
{
    struct sbi_pmu_hart *p = &s->pmu.hart[c->hartid];
    unsigned long flags = c->args[2];
    uint64_t set;
    if (!counter_set(c->args[0], c->args[1], &set) ||
        (flags & ~(unsigned long)(STOP_RESET | STOP_TAKE_SNAPSHOT)) || !all_configured(p, set))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (flags & STOP_TAKE_SNAPSHOT)
        return ret(SBI_ERR_NO_SHMEM, 0);
    long error = SBI_SUCCESS;
    for (uint64_t m = set; m; m &= m - 1) {
        unsigned idx = (unsigned)__builtin_ctzll(m);
        if (!started(s, c->hartid, idx))
            error = SBI_ERR_ALREADY_STOPPED;
        else
            stop(s, c->hartid, idx);
        if (!(flags & STOP_RESET))
            continue;
        /* released; it stays stopped (cycle and instret too: Linux resets
           them only once it has configured them for perf) */
        if (is_fw(idx)) {
            p->fw_used &= (uint16_t) ~(1u << (idx - HW_COUNTERS));
        } else {
            p->hw_used &= ~(1u << idx);
            if (idx >= 3)
                csr_write(s, c->hartid, DV_CSR_HUHPMEVENT3 + idx - 3, DV_HPM_NONE);
        }
    }
    return ret(error, 0);
}

static struct sbi_ret fw_read(struct sbi *s, const struct sbi_call *c, bool high)
{
    unsigned long idx = c->args[0];
    if (idx < HW_COUNTERS || idx >= TOTAL_COUNTERS ||
        !configured(&s->pmu.hart[c->hartid], (unsigned)idx))
        return ret(SBI_ERR_INVALID_PARAM, 0);
    return ret(SBI_SUCCESS,
               high ? 0 : fw_now(s, c->hartid, (unsigned)idx)); /* RV64: no high half */
}

/* event_get_info: for each 16-byte entry {u32 event_idx, u32 output, u64
   event_data} in shared memory, output bit 0 says whether it can be counted. */
static struct sbi_ret event_get_info(struct sbi *s, const struct sbi_call *c)
{
    uint64_t shmem = c->args[0]; /* RV64: shmem_phys_hi holds bits above 63, none */
    unsigned long entries = c->args[2];
    if (c->args[3] != 0)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (c->args[1] != 0)
        return ret(SBI_ERR_INVALID_ADDRESS, 0);
    if ((shmem & 15) || entries > (UINT64_MAX - shmem) / 16)
        return ret(SBI_ERR_INVALID_ADDRESS, 0);
    for (unsigned long i = 0; i < entries; i++) {
        uint8_t e[16];
        if (s->host->read_phys(s->host->opaque, shmem + 16 * i, e, sizeof(e)))
            return ret(SBI_ERR_INVALID_ADDRESS, 0);
        uint32_t event_idx =
            (uint32_t)e[0] | (uint32_t)e[1] << 8 | (uint32_t)e[2] << 16 | (uint32_t)e[3] << 24;
        uint64_t data = 0;
        for (unsigned b = 0; b < 8; b++)
            data |= (uint64_t)e[8 + b] << (8 * b);
        bool ok = (event_idx >> 16) == TYPE_FW ? (event_idx & 0xffff) < SBI_PMU_FW_EVENTS
                                               : hart_event(event_idx, data) != DV_HPM_NONE;
        uint8_t out[4] = {ok, 0, 0, 0};
        if (s->host->write_phys(s->host->opaque, shmem + 16 * i + 4, out, sizeof(out)))
            return ret(SBI_ERR_INVALID_ADDRESS, 0);
    }
    return ret(SBI_SUCCESS, 0);
}

struct sbi_ret sbi_pmu(struct sbi *s, const struct sbi_call *c)
{
    switch (c->fid) {
    case SBI_PMU_NUM_COUNTERS: return ret(SBI_SUCCESS, TOTAL_COUNTERS);
    case SBI_PMU_COUNTER_GET_INFO: {
        unsigned long idx = c->args[0];
        if (idx >= TOTAL_COUNTERS)
            return ret(SBI_ERR_INVALID_PARAM, 0);
        if (is_fw((unsigned)idx))
            return ret(SBI_SUCCESS, 1ul << (sizeof(long) * 8 - 1));
        return ret(SBI_SUCCESS, 63ul << 12 | (0xc00 + idx)); /* 64 bits wide, csr cycle + idx */
    }
    case SBI_PMU_COUNTER_CONFIG_MATCHING: return config_matching(s, c);
    case SBI_PMU_COUNTER_START: return counter_start(s, c);
    case SBI_PMU_COUNTER_STOP: return counter_stop(s, c);
    case SBI_PMU_COUNTER_FW_READ: return fw_read(s, c, false);
    case SBI_PMU_COUNTER_FW_READ_HI: return fw_read(s, c, true);
    case SBI_PMU_EVENT_GET_INFO: return event_get_info(s, c);
    case SBI_PMU_SNAPSHOT_SET_SHMEM: /* optional: no snapshot area */
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

void sbi_pmu_save(struct sbi *s, unsigned hartid, struct sbi_pmu_saved *out)
{
    memset(out, 0, sizeof(*out));
    if (hartid >= s->hsm.nharts)
        return;
    const struct sbi_pmu_hart *p = &s->pmu.hart[hartid];
    out->hw_used = p->hw_used;
    out->fw_used = p->fw_used;
    out->fw_started = p->fw_started;
    for (unsigned f = 0; f < SBI_PMU_FW_COUNTERS; f++) {
        out->fw_event[f] = p->fw_event[f];
        out->fw_value[f] = fw_now(s, hartid, HW_COUNTERS + f);
    }
}

int sbi_pmu_restore(struct sbi *s, unsigned hartid, const struct sbi_pmu_saved *in)
{
    if (hartid >= s->hsm.nharts || (in->fw_started & ~in->fw_used))
        return -1;
    for (unsigned f = 0; f < SBI_PMU_FW_COUNTERS; f++)
        if (in->fw_event[f] >= SBI_PMU_FW_EVENTS)
            return -1;
    struct sbi_pmu_hart *p = &s->pmu.hart[hartid];
    p->hw_used = in->hw_used;
    p->fw_used = in->fw_used;
    p->fw_started = in->fw_started;
    for (unsigned f = 0; f < SBI_PMU_FW_COUNTERS; f++) {
        p->fw_event[f] = in->fw_event[f];
        p->fw_value[f] = in->fw_value[f];
        /* a started counter counts on from its saved value */
        p->fw_base[f] =
            atomic_load_explicit(&s->pmu.fw_count[hartid][p->fw_event[f]], memory_order_relaxed);
    }
    return 0;
}

void sbi_pmu_fw_event(struct sbi *s, unsigned hartid, unsigned event)
{
    if (hartid < s->hsm.nharts && event < SBI_PMU_FW_EVENTS)
        atomic_fetch_add_explicit(&s->pmu.fw_count[hartid][event], 1, memory_order_relaxed);
}

/* A call's firmware events, counted as it comes in (as firmware counts on
   entry): the caller's "sent", each target's "received". */
void sbi_pmu_count_call(struct sbi *s, const struct sbi_call *c)
{
    /* RFENCE fid -> its "sent" event: fence.i, sfence.vma(.asid), hfence.gvma.vmid,
       hfence.gvma, hfence.vvma.asid, hfence.vvma */
    static const unsigned rfence_sent[] = {8, 10, 12, 16, 14, 20, 18};
    unsigned sent = SBI_PMU_FW_EVENTS;
    bool targeted = false;
    if (c->ext == SBI_EXT_TIME && c->fid == SBI_TIME_SET_TIMER)
        sent = SBI_PMU_FW_SET_TIMER;
    else if (c->ext == SBI_LEGACY_SET_TIMER)
        sent = SBI_PMU_FW_SET_TIMER;
    else if (c->ext == SBI_EXT_IPI && c->fid == SBI_IPI_SEND_IPI)
        sent = SBI_PMU_FW_IPI_SENT, targeted = true;
    else if (c->ext == SBI_EXT_RFENCE && c->fid <= SBI_RFENCE_HFENCE_VVMA)
        sent = rfence_sent[c->fid], targeted = true;
    if (sent == SBI_PMU_FW_EVENTS)
        return;
    sbi_pmu_fw_event(s, c->hartid, sent);
    bool targets[256];
    if (targeted && sbi_hart_mask(s, c->args[0], c->args[1], targets) == SBI_SUCCESS)
        for (unsigned h = 0; h < s->hsm.nharts; h++)
            if (targets[h])
                sbi_pmu_fw_event(s, h, sent + 1);
}
