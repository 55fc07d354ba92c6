/*
 * FWFT extension: firmware features, all local to a hart, each with a lock
 * that holds until the hart resets (a hart start).
 *
 * MISALIGNED_EXC_DELEG: the hart performs misaligned loads and stores
 * itself, and the misaligned exceptions it does raise (AMOs, LR/SC) go
 * straight to the guest's S-mode; nothing above it could take them back.
 * So the feature reads 1, setting 1 succeeds, and setting 0 is DENIED (the
 * spec's case of a hypervisor passing the delegation through).
 *
 * PTE_AD_HW_UPDATING: Svadu's henvcfg.ADUE through the host; NOT_SUPPORTED
 * when the hart has no Svadu.
 *
 * LANDING_PAD, SHADOW_STACK, DOUBLE_TRAP, POINTER_MASKING_PMLEN: the hart
 * has none of Zicfilp, Zicfiss, Ssdbltrp, Ssnpm: NOT_SUPPORTED.
 */
#include "sbi/sbi.h"

static struct sbi_ret ret(long error, unsigned long value)
{
    return (struct sbi_ret){error, value};
}

/* Does the hart implement the feature? DENIED for reserved and
   platform-specific ids, NOT_SUPPORTED for the defined ones it lacks. */
static long feature_status(struct sbi *s, unsigned hartid, uint32_t feature)
{
    switch (feature) {
    case SBI_FWFT_MISALIGNED_EXC_DELEG: return SBI_SUCCESS;
    case SBI_FWFT_PTE_AD_HW_UPDATING:
        /* Re-applying the current value asks without changing anything. */
        return s->host->set_pte_ad_hw(s->host->opaque, hartid, s->fwft[hartid].pte_ad_hw) == 0
                   ? SBI_SUCCESS
                   : SBI_ERR_NOT_SUPPORTED;
    case SBI_FWFT_LANDING_PAD:
    case SBI_FWFT_SHADOW_STACK:
    case SBI_FWFT_DOUBLE_TRAP:
    case SBI_FWFT_POINTER_MASKING_PMLEN: return SBI_ERR_NOT_SUPPORTED;
    default: return SBI_ERR_DENIED;
    }
}

static unsigned long value_of(struct sbi *s, unsigned hartid, uint32_t feature)
{
    return feature == SBI_FWFT_MISALIGNED_EXC_DELEG ? 1 : s->fwft[hartid].pte_ad_hw;
}

static struct sbi_ret fwft_set(struct sbi *s, unsigned hartid, unsigned long feature_arg,
                               unsigned long value, unsigned long flags)
{
    uint32_t feature = (uint32_t)feature_arg; /* 32 bits wide: a0's upper half is not part */
    struct sbi_fwft *f = &s->fwft[hartid];
    long status = feature_status(s, hartid, feature);

    if (status != SBI_SUCCESS)
        return ret(status, 0);
    if (flags & ~SBI_FWFT_SET_LOCK)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (f->locked & (1u << feature))
        return ret(SBI_ERR_DENIED_LOCKED, 0);
    if (value > 1)
        return ret(SBI_ERR_INVALID_PARAM, 0);
    if (feature == SBI_FWFT_MISALIGNED_EXC_DELEG && value == 0)
        return ret(SBI_ERR_DENIED, 0);
    if (feature == SBI_FWFT_PTE_AD_HW_UPDATING) {
        if (s->host->set_pte_ad_hw(s->host->opaque, hartid, value == 1) != 0)
            return ret(SBI_ERR_FAILED, 0); /* it said yes a moment ago */
        f->pte_ad_hw = value == 1;
    }
    if (flags & SBI_FWFT_SET_LOCK)
        f->locked |= 1u << feature;
    return ret(SBI_SUCCESS, 0);
}

static struct sbi_ret fwft_get(struct sbi *s, unsigned hartid, unsigned long feature_arg)
{
    uint32_t feature = (uint32_t)feature_arg;
    long status = feature_status(s, hartid, feature);

    if (status != SBI_SUCCESS)
        return ret(status, 0);
    return ret(SBI_SUCCESS, value_of(s, hartid, feature));
}

struct sbi_ret sbi_fwft(struct sbi *s, const struct sbi_call *c)
{
    const unsigned long *a = c->args;

    switch (c->fid) {
    case SBI_FWFT_SET: return fwft_set(s, c->hartid, a[0], a[1], a[2]);
    case SBI_FWFT_GET: return fwft_get(s, c->hartid, a[0]);
    default: return ret(SBI_ERR_NOT_SUPPORTED, 0);
    }
}

void sbi_fwft_reset(struct sbi *s, unsigned hartid)
{
    if (hartid >= s->hsm.nharts)
        return;
    /* The reset value of PTE_AD_HW_UPDATING is 0. The hart's own henvcfg
       is reset by the VMM's entry state; this is the SBI's view of it. */
    s->fwft[hartid] = (struct sbi_fwft){0};
}
