/*
 * DBCN extension: the debug console, reading and writing guest memory by
 * physical address. A call moves at most SBI_DBCN_MAX_XFER bytes (the spec
 * allows partial transfers; callers loop on the count), so one ecall cannot
 * hold its vCPU for long whatever num_bytes says.
 */
#include "sbi/sbi.h"

enum { CHUNK = 256 };

static size_t min_size(unsigned long a, size_t b)
{
    return a < b ? (size_t)a : b;
}

/*
 * Is [lo, lo + n) guest RAM? On RV64 base_addr_hi carries address bits
 * 64..127, which no guest RAM has. RAM is probed at both ends, so a buffer
 * that runs off it fails before any byte moves. n > 0.
 */
static bool valid_range(struct sbi *s, unsigned long n, unsigned long lo, unsigned long hi)
{
    uint8_t byte;

    if (hi != 0 || lo + (n - 1) < lo)
        return false;
    return s->host->read_phys(s->host->opaque, lo, &byte, 1) == 0 &&
           s->host->read_phys(s->host->opaque, lo + (n - 1), &byte, 1) == 0;
}

static struct sbi_ret console_write(struct sbi *s, unsigned long n, unsigned long lo,
                                    unsigned long hi)
{
    uint8_t buf[CHUNK];
    size_t todo = min_size(n, SBI_DBCN_MAX_XFER), done = 0;

    if (n == 0)
        return (struct sbi_ret){SBI_SUCCESS, 0};
    if (!valid_range(s, n, lo, hi))
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    while (done < todo) {
        size_t len = min_size(todo - done, sizeof(buf));
        /* A hole inside the range ends the call early with what was written. */
        if (s->host->read_phys(s->host->opaque, lo + done, buf, len) != 0)
            break;
        s->host->console_write(s->host->opaque, buf, len);
        done += len;
    }
    if (done == 0)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    return (struct sbi_ret){SBI_SUCCESS, done};
}

static struct sbi_ret console_read(struct sbi *s, unsigned long n, unsigned long lo,
                                   unsigned long hi)
{
    uint8_t buf[CHUNK];
    size_t todo = min_size(n, SBI_DBCN_MAX_XFER), done = 0;

    if (n == 0)
        return (struct sbi_ret){SBI_SUCCESS, 0};
    if (!valid_range(s, n, lo, hi))
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    while (done < todo) {
        size_t want = min_size(todo - done, sizeof(buf));
        size_t got = s->host->console_read(s->host->opaque, buf, want);

        if (got == 0)
            break;
        /* Only a hole inside the range fails here; the bytes are lost,
           as they would be on a real console overrun. */
        if (s->host->write_phys(s->host->opaque, lo + done, buf, got) != 0)
            return done ? (struct sbi_ret){SBI_SUCCESS, done}
                        : (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
        done += got;
        if (got < want)
            break; /* nothing more waiting */
    }
    return (struct sbi_ret){SBI_SUCCESS, done};
}

struct sbi_ret sbi_dbcn(struct sbi *s, const struct sbi_call *c)
{
    const unsigned long *a = c->args;
    uint8_t byte;

    switch (c->fid) {
    case SBI_DBCN_WRITE: return console_write(s, a[0], a[1], a[2]);
    case SBI_DBCN_READ: return console_read(s, a[0], a[1], a[2]);
    case SBI_DBCN_WRITE_BYTE:
        byte = (uint8_t)a[0];
        s->host->console_write(s->host->opaque, &byte, 1);
        return (struct sbi_ret){SBI_SUCCESS, 0};
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}
