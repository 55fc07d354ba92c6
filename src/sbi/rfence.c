/*
 * RFENCE extension: FENCE.I and SFENCE.VMA on a set of harts. The HFENCE
 * functions fence a guest's own guests; duvisor offers no nested
 * virtualization, so they are not supported.
 */
#include "sbi/sbi.h"

long sbi_fence(struct sbi *s, unsigned caller, const bool *targets, enum sbi_fence_kind kind,
               unsigned long start, unsigned long size, unsigned long asid)
{
    bool any = false;

    /* Arguments a kind does not take are whatever the guest left there. */
    if (kind != SBI_FENCE_VMA_ASID)
        asid = 0;
    if (kind == SBI_FENCE_I) {
        start = 0;
        size = 0;
    } else {
        /* Both spec spellings of "everything" become one for the host. */
        if ((start == 0 && size == 0) || size == (unsigned long)-1) {
            start = 0;
            size = (unsigned long)-1;
        } else if (size != 0 && start + (size - 1) < start) {
            /* The range wraps past the top of the address space. */
            return SBI_ERR_INVALID_ADDRESS;
        }
    }
    for (unsigned i = 0; i < s->hsm.nharts; i++)
        any |= targets[i];
    if (any)
        s->host->remote_fence(s->host->opaque, caller, targets, kind, start, size, asid);
    return SBI_SUCCESS;
}

struct sbi_ret sbi_rfence(struct sbi *s, const struct sbi_call *c)
{
    bool targets[256];
    enum sbi_fence_kind kind;
    long err;

    switch (c->fid) {
    case SBI_RFENCE_FENCE_I: kind = SBI_FENCE_I; break;
    case SBI_RFENCE_SFENCE_VMA: kind = SBI_FENCE_VMA; break;
    case SBI_RFENCE_SFENCE_VMA_ASID: kind = SBI_FENCE_VMA_ASID; break;
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0}; /* HFENCE.* included */
    }
    err = sbi_hart_mask(s, c->args[0], c->args[1], targets);
    if (err == SBI_SUCCESS)
        err = sbi_fence(s, c->hartid, targets, kind, c->args[2], c->args[3], c->args[4]);
    return (struct sbi_ret){err, 0};
}
