/* TIME extension: the host programs the caller's timer, which also clears a
   pending timer interrupt when the new deadline is in the future. */
#include "sbi/sbi.h"

struct sbi_ret sbi_time(struct sbi *s, const struct sbi_call *c)
{
    if (c->fid != SBI_TIME_SET_TIMER)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    s->host->set_timer(s->host->opaque, c->hartid, c->args[0]);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}
