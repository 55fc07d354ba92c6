/* IPI extension: a supervisor software interrupt on every named hart. */
#include "sbi/sbi.h"

void sbi_send_ipis(struct sbi *s, const bool *targets)
{
    for (unsigned i = 0; i < s->hsm.nharts; i++)
        if (targets[i])
            s->host->send_ipi(s->host->opaque, i);
}

struct sbi_ret sbi_ipi(struct sbi *s, const struct sbi_call *c)
{
    bool targets[256];
    long err;

    if (c->fid != SBI_IPI_SEND_IPI)
        return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    err = sbi_hart_mask(s, c->args[0], c->args[1], targets);
    if (err == SBI_SUCCESS)
        sbi_send_ipis(s, targets);
    return (struct sbi_ret){err, 0};
}
