/* SRST extension: shutdown and reboot. On success the VMM stops the VM and
   the caller never runs again. */
#include "sbi/sbi.h"

static bool valid_type(uint32_t type)
{
    /* 0xF0000000.. (vendor) is unimplemented, which the spec also refuses. */
    return type <= SBI_RESET_WARM_REBOOT;
}

static bool valid_reason(uint32_t reason)
{
    /* Any SBI-implementation or vendor reason is passed on: it only
       explains the reset, it does not change what happens. */
    return reason <= SBI_RESET_REASON_SYSTEM_FAILURE || reason >= 0xE0000000u;
}

struct sbi_ret sbi_srst(struct sbi *s, const struct sbi_call *c)
{
    /* Both parameters are 32 bits wide: the upper half of a0/a1 is not theirs. */
    uint32_t type = (uint32_t)c->args[0], reason = (uint32_t)c->args[1];

    if (c->fid != SBI_SRST_SYSTEM_RESET)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    if (!valid_type(type) || !valid_reason(reason))
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    s->host->system_reset(s->host->opaque, type, reason);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}
