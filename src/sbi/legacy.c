/*
 * The v0.1 extensions (EIDs 0..8), which Linux 6.1 still uses for its early
 * console. The ext is the function and only a0 comes back: 0, a negative
 * error, or the character for getchar. Hart masks are pointers to a bit
 * vector in guest virtual memory, one unsigned long per 64 harts.
 */
#include "sbi/sbi.h"

static struct sbi_ret legacy_ret(long a0)
{
    return (struct sbi_ret){a0 < 0 ? a0 : SBI_SUCCESS, (unsigned long)a0};
}

/* A NULL pointer names every hart (Linux passes NULL for "all"). */
static long read_mask(struct sbi *s, unsigned caller, unsigned long ptr, bool *targets)
{
    unsigned n = s->hsm.nharts;

    if (ptr == 0)
        return sbi_hart_mask(s, 0, (unsigned long)-1, targets);
    for (unsigned w = 0; w * 64 < n; w++) {
        uint8_t b[8];
        uint64_t word = 0;

        /* The spec wants the fault sent back to the guest; the host cannot,
           so the call fails instead. */
        if (s->host->read_virt(s->host->opaque, caller, ptr + 8ull * w, b, sizeof(b)) != 0)
            return SBI_ERR_INVALID_ADDRESS;
        for (unsigned i = 0; i < 8; i++)
            word |= (uint64_t)b[i] << (8 * i); /* guest memory is little-endian */
        /* Bits past the last hart are padding of the last word: ignored. */
        for (unsigned bit = 0; bit < 64 && w * 64 + bit < n; bit++)
            targets[w * 64 + bit] = word >> bit & 1;
    }
    return SBI_SUCCESS;
}

static long fence(struct sbi *s, const struct sbi_call *c, enum sbi_fence_kind kind)
{
    bool targets[256];
    long err = read_mask(s, c->hartid, c->args[0], targets);

    if (err == SBI_SUCCESS)
        err = sbi_fence(s, c->hartid, targets, kind, c->args[1], c->args[2], c->args[3]);
    return err;
}

struct sbi_ret sbi_legacy(struct sbi *s, const struct sbi_call *c)
{
    const struct sbi_host *h = s->host;
    bool targets[256];
    uint8_t ch;
    long err;

    switch (c->ext) {
    case SBI_LEGACY_SET_TIMER: h->set_timer(h->opaque, c->hartid, c->args[0]); return legacy_ret(0);
    case SBI_LEGACY_CONSOLE_PUTCHAR:
        ch = (uint8_t)c->args[0];
        h->console_write(h->opaque, &ch, 1);
        return legacy_ret(0);
    case SBI_LEGACY_CONSOLE_GETCHAR:
        return legacy_ret(h->console_read(h->opaque, &ch, 1) == 1 ? ch : -1);
    case SBI_LEGACY_CLEAR_IPI:
        /* 0 claims "none was pending": the host does not say, and Linux
           ignores the value. */
        h->clear_ipi(h->opaque, c->hartid);
        return legacy_ret(0);
    case SBI_LEGACY_SEND_IPI:
        err = read_mask(s, c->hartid, c->args[0], targets);
        if (err == SBI_SUCCESS)
            sbi_send_ipis(s, targets);
        return legacy_ret(err);
    case SBI_LEGACY_REMOTE_FENCE_I: return legacy_ret(fence(s, c, SBI_FENCE_I));
    case SBI_LEGACY_REMOTE_SFENCE_VMA: return legacy_ret(fence(s, c, SBI_FENCE_VMA));
    case SBI_LEGACY_REMOTE_SFENCE_VMA_ASID: return legacy_ret(fence(s, c, SBI_FENCE_VMA_ASID));
    case SBI_LEGACY_SHUTDOWN:
        h->system_reset(h->opaque, SBI_RESET_SHUTDOWN, SBI_RESET_REASON_NONE);
        return legacy_ret(0);
    default: return legacy_ret(SBI_ERR_NOT_SUPPORTED);
    }
}
