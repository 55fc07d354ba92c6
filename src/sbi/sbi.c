/*
 * The SBI entry point: set-up, routing on the extension ID, and the hart
 * mask decoding that IPI and RFENCE share.
 */
#include "sbi/sbi.h"

#include <string.h>

int sbi_init(struct sbi *s, const struct sbi_host *host, unsigned boot_hart)
{
    unsigned max = sizeof(s->hsm.state) / sizeof(s->hsm.state[0]);

    if (host->nharts == 0 || host->nharts > max || boot_hart >= host->nharts)
        return -1;
    memset(s, 0, sizeof(*s));
    s->hsm.nharts = host->nharts;
    for (unsigned i = 0; i < host->nharts; i++) {
        s->hsm.state[i] = i == boot_hart ? SBI_HSM_STARTED : SBI_HSM_STOPPED;
        s->sta[i].shmem = SBI_STA_DISABLED;
    }
    if (pthread_mutex_init(&s->hsm.lock, NULL) != 0)
        return -1;
    if (pthread_cond_init(&s->hsm.changed, NULL) != 0) {
        pthread_mutex_destroy(&s->hsm.lock);
        return -1;
    }
    /* Last: a non-NULL host means "initialised" to whoever tears down. */
    s->host = host;
    return 0;
}

void sbi_destroy(struct sbi *s)
{
    pthread_cond_destroy(&s->hsm.changed);
    pthread_mutex_destroy(&s->hsm.lock);
}

bool sbi_extension_supported(unsigned long ext)
{
    switch (ext) {
    case SBI_EXT_BASE:
    case SBI_EXT_TIME:
    case SBI_EXT_IPI:
    case SBI_EXT_RFENCE:
    case SBI_EXT_HSM:
    case SBI_EXT_SRST:
    case SBI_EXT_DBCN:
    case SBI_EXT_PMU: return true;
    case SBI_EXT_SUSP:
    case SBI_EXT_FWFT:
    case SBI_EXT_STA: return true;
    default: return ext <= SBI_EXT_LEGACY_LAST;
    }
}

struct sbi_ret sbi_dispatch(struct sbi *s, const struct sbi_call *call, bool *legacy)
{
    bool is_legacy = call->ext <= SBI_EXT_LEGACY_LAST;

    if (legacy)
        *legacy = is_legacy;
    /* The VMM fills hartid, but every handler indexes per-hart arrays with it. */
    if (call->hartid >= s->hsm.nharts) {
        long err = SBI_ERR_FAILED;
        return (struct sbi_ret){err, is_legacy ? (unsigned long)err : 0};
    }
    sbi_pmu_count_call(s, call);
    if (is_legacy)
        return sbi_legacy(s, call);
    switch (call->ext) {
    case SBI_EXT_BASE: return sbi_base(s, call);
    case SBI_EXT_TIME: return sbi_time(s, call);
    case SBI_EXT_IPI: return sbi_ipi(s, call);
    case SBI_EXT_RFENCE: return sbi_rfence(s, call);
    case SBI_EXT_HSM: return sbi_hsm(s, call);
    case SBI_EXT_SRST: return sbi_srst(s, call);
    case SBI_EXT_DBCN: return sbi_dbcn(s, call);
    case SBI_EXT_PMU: return sbi_pmu(s, call);
    case SBI_EXT_SUSP: return sbi_susp(s, call);
    case SBI_EXT_FWFT: return sbi_fwft(s, call);
    case SBI_EXT_STA: return sbi_sta(s, call);
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

long sbi_hart_mask(const struct sbi *s, unsigned long mask, unsigned long base, bool *targets)
{
    unsigned n = s->hsm.nharts;

    memset(targets, 0, n * sizeof(*targets));
    if (base == (unsigned long)-1) {
        memset(targets, 1, n * sizeof(*targets));
        return SBI_SUCCESS;
    }
    if (mask == 0)
        return SBI_SUCCESS;
    if (base >= n)
        return SBI_ERR_INVALID_PARAM;
    /* base < n <= 256, so base + i cannot wrap. */
    for (unsigned i = 0; i < sizeof(mask) * 8; i++) {
        if (!(mask >> i & 1))
            continue;
        if (base + i >= n) {
            memset(targets, 0, n * sizeof(*targets));
            return SBI_ERR_INVALID_PARAM;
        }
        targets[base + i] = true;
    }
    return SBI_SUCCESS;
}
