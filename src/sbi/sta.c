/*
 * STA extension: steal-time accounting. A hart registers a 64-byte
 * structure in RAM; before the hart runs the guest again after a wait, and
 * periodically, its thread writes there how long it was runnable but not
 * running (host->run_delay_ns since the registration), under the spec's
 * sequence protocol: odd while steal is being written, even after.
 * Every write goes through host->write_phys, the VMM's one guest-memory
 * accessor. The guest may scribble on the structure: we keep our own
 * sequence and steal, so that only makes its own reads inconsistent.
 */
#include "sbi/sbi.h"

#include <stdatomic.h>
#include <string.h>

static int put(struct sbi *s, uint64_t gpa, const void *buf, size_t len)
{
    return s->host->write_phys(s->host->opaque, gpa, buf, len);
}

/* The structure is in RAM, 64-byte aligned, and all of it is writable. */
static long check_shmem(struct sbi *s, unsigned long lo, unsigned long hi)
{
    uint8_t probe[SBI_STA_SHMEM_SIZE];

    if (lo % SBI_STA_SHMEM_SIZE)
        return SBI_ERR_INVALID_PARAM;
    /* RV64: hi carries address bits 64..127, which no RAM has. */
    if (hi != 0 || s->host->read_phys(s->host->opaque, lo, probe, sizeof(probe)) != 0)
        return SBI_ERR_INVALID_ADDRESS;
    return SBI_SUCCESS;
}

static struct sbi_ret set_shmem(struct sbi *s, unsigned hartid, unsigned long lo, unsigned long hi,
                                unsigned long flags)
{
    struct sbi_sta *t = &s->sta[hartid];
    static const uint8_t zeros[SBI_STA_SHMEM_SIZE];

    if (flags != 0)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (lo == (unsigned long)-1 && hi == (unsigned long)-1) {
        t->shmem = SBI_STA_DISABLED;
        return (struct sbi_ret){SBI_SUCCESS, 0};
    }
    long err = check_shmem(s, lo, hi);
    if (err != SBI_SUCCESS)
        return (struct sbi_ret){err, 0};
    if (put(s, lo, zeros, sizeof(zeros)) != 0)
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    *t = (struct sbi_sta){
        .shmem = lo,
        .delay_base = s->host->run_delay_ns(s->host->opaque, hartid),
    };
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

struct sbi_ret sbi_sta(struct sbi *s, const struct sbi_call *c)
{
    const unsigned long *a = c->args;

    switch (c->fid) {
    case SBI_STA_SET_SHMEM: return set_shmem(s, c->hartid, a[0], a[1], a[2]);
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

bool sbi_sta_enabled(const struct sbi *s, unsigned hartid)
{
    return hartid < s->hsm.nharts && s->sta[hartid].shmem != SBI_STA_DISABLED;
}

void sbi_sta_update(struct sbi *s, unsigned hartid)
{
    if (!sbi_sta_enabled(s, hartid))
        return;
    struct sbi_sta *t = &s->sta[hartid];
    uint64_t now = s->host->run_delay_ns(s->host->opaque, hartid);
    /* A clock that went back (another thread after a restore) adds nothing. */
    uint64_t steal = t->steal + (now > t->delay_base ? now - t->delay_base : 0);
    uint32_t odd = t->sequence + 1, even = t->sequence + 2;
    uint8_t preempted = 0; /* written only while the hart is about to run */

    if (t->rebase) {
        /* A restored hart on a new thread: its run_delay starts anew. */
        t->delay_base = now;
        t->rebase = false;
        return;
    }
    t->delay_base = now;
    if (steal == t->steal)
        return; /* nothing to announce: spare the guest a sequence bump */
    /* Readers on other harts pair these with their own fences around the
       steal read: sequence odd, then steal, then sequence even. */
    put(s, t->shmem + SBI_STA_OFF_SEQUENCE, &odd, sizeof(odd));
    atomic_thread_fence(memory_order_release);
    put(s, t->shmem + SBI_STA_OFF_STEAL, &steal, sizeof(steal));
    put(s, t->shmem + SBI_STA_OFF_PREEMPTED, &preempted, sizeof(preempted));
    atomic_thread_fence(memory_order_release);
    put(s, t->shmem + SBI_STA_OFF_SEQUENCE, &even, sizeof(even));
    t->sequence = even;
    t->steal = steal;
}

void sbi_sta_save(struct sbi *s, unsigned hartid, uint64_t *shmem, uint32_t *sequence,
                  uint64_t *steal)
{
    const struct sbi_sta *t = &s->sta[hartid];
    *shmem = t->shmem;
    *sequence = t->sequence;
    *steal = t->steal;
}

int sbi_sta_restore(struct sbi *s, unsigned hartid, uint64_t shmem, uint32_t sequence,
                    uint64_t steal)
{
    if (hartid >= s->hsm.nharts ||
        (shmem != SBI_STA_DISABLED && check_shmem(s, shmem, 0) != SBI_SUCCESS))
        return -1;
    /* Not on the hart's thread: that one takes its base on its first update. */
    s->sta[hartid] = (struct sbi_sta){
        .shmem = shmem,
        .sequence = sequence,
        .steal = steal,
        .rebase = true,
    };
    return 0;
}
