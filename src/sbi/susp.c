/*
 * SUSP extension: system suspend to RAM. With every other hart STOPPED the
 * caller sleeps as in a non-retentive HART_SUSPEND (hsm.c) and resumes at
 * resume_addr when an interrupt is pending for it: console input through
 * the PLIC, a timer. Guest RAM and the devices keep their state, which is
 * what "suspend to RAM" promises.
 */
#include "sbi/sbi.h"

static struct sbi_ret system_suspend(struct sbi *s, unsigned caller, unsigned long type_arg,
                                     unsigned long resume_addr, unsigned long opaque)
{
    /* sleep_type is 32 bits wide; 1..0x7fffffff are reserved and
       0x80000000.. platform-specific, of which duvisor has none. */
    if ((uint32_t)type_arg != SBI_SUSP_SUSPEND_TO_RAM)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    return (struct sbi_ret){
        sbi_hsm_suspend(s, caller, SBI_SUSPEND_RESUME, resume_addr, opaque, true), 0};
}

struct sbi_ret sbi_susp(struct sbi *s, const struct sbi_call *c)
{
    const unsigned long *a = c->args;

    switch (c->fid) {
    case SBI_SUSP_SYSTEM_SUSPEND: return system_suspend(s, c->hartid, a[0], a[1], a[2]);
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}
