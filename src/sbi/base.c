/* Base extension: versions, identity, and probing. It never fails. */
#include "sbi/sbi.h"

struct sbi_ret sbi_base(struct sbi *s, const struct sbi_call *c)
{
    switch (c->fid) {
    case SBI_BASE_GET_SPEC_VERSION: return (struct sbi_ret){SBI_SUCCESS, SBI_SPEC_VERSION};
    case SBI_BASE_GET_IMPL_ID: return (struct sbi_ret){SBI_SUCCESS, SBI_IMPL_ID};
    case SBI_BASE_GET_IMPL_VERSION: return (struct sbi_ret){SBI_SUCCESS, s->host->impl_version};
    case SBI_BASE_PROBE_EXTENSION:
        return (struct sbi_ret){SBI_SUCCESS, sbi_extension_supported(c->args[0]) ? 1 : 0};
    /* 0 is always legal for these CSRs, and tells the guest nothing it could
       use to guess at quirks of the host machine. */
    case SBI_BASE_GET_MVENDORID:
    case SBI_BASE_GET_MARCHID:
    case SBI_BASE_GET_MIMPID: return (struct sbi_ret){SBI_SUCCESS, 0};
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}
