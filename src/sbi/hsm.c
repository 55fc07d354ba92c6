/*
 * HSM extension: the hart state machine. One lock guards every hart's
 * state; `changed` is broadcast on every change and on sbi_hsm_kick, so a
 * stopped vCPU thread sleeping in sbi_hsm_wait_start sees its start (or its
 * quit). Host callbacks that may block or call back run without the lock.
 *
 * The transitions duvisor makes: STOPPED -> START_PENDING (hart_start by
 * another hart) -> STARTED (the target's thread takes the start); STARTED ->
 * STOPPED (hart_stop; the thread leaves the guest afterwards); STARTED ->
 * SUSPENDED -> STARTED (hart_suspend, around host->hart_suspend_wait).
 */
#include "sbi/sbi.h"

/* Where a hart may start: 2-byte aligned (the C extension's instruction
   alignment) and in guest RAM, which the host's read_phys checks. */
static bool valid_entry(struct sbi *s, unsigned long addr)
{
    uint16_t insn;
    return (addr & 1) == 0 && s->host->read_phys(s->host->opaque, addr, &insn, sizeof(insn)) == 0;
}

static struct sbi_ret hart_start(struct sbi *s, unsigned long hartid, unsigned long addr,
                                 unsigned long arg)
{
    struct sbi_hsm *h = &s->hsm;
    long err = SBI_SUCCESS;

    if (hartid >= h->nharts)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (!valid_entry(s, addr))
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    pthread_mutex_lock(&h->lock);
    if (h->state[hartid] != SBI_HSM_STOPPED) {
        err = SBI_ERR_ALREADY_AVAILABLE;
    } else {
        h->state[hartid] = SBI_HSM_START_PENDING;
        h->start_addr[hartid] = addr;
        h->start_arg[hartid] = arg;
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->lock);
    if (err == SBI_SUCCESS)
        s->host->hart_start(s->host->opaque, (unsigned)hartid, addr, arg);
    return (struct sbi_ret){err, 0};
}

static struct sbi_ret hart_stop(struct sbi *s, unsigned caller)
{
    struct sbi_hsm *h = &s->hsm;
    long err = SBI_SUCCESS;

    pthread_mutex_lock(&h->lock);
    /* Only a running hart can make this call; anything else is a VMM bug,
       reported with the one error the spec allows. */
    if (h->state[caller] != SBI_HSM_STARTED) {
        err = SBI_ERR_FAILED;
    } else {
        h->state[caller] = SBI_HSM_STOPPED;
        h->stop_taken[caller] = true;
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->lock);
    return (struct sbi_ret){err, 0};
}

static struct sbi_ret hart_get_status(struct sbi *s, unsigned long hartid)
{
    if (hartid >= s->hsm.nharts)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    return (struct sbi_ret){SBI_SUCCESS, sbi_hsm_state_of(s, (unsigned)hartid)};
}

static struct sbi_ret hart_suspend(struct sbi *s, unsigned caller, unsigned long type_arg,
                                   unsigned long resume_addr, unsigned long opaque)
{
    struct sbi_hsm *h = &s->hsm;
    /* suspend_type is 32 bits wide: the upper half of a0 is not part of it. */
    uint32_t type = (uint32_t)type_arg;
    bool retentive = type == SBI_HSM_SUSPEND_RETENTIVE;

    /* Reserved types and the platform-specific ranges alike: duvisor
       implements no platform-specific state, and the spec asks
       INVALID_PARAM for "reserved or platform-specific and unimplemented". */
    if (!retentive && type != SBI_HSM_SUSPEND_NON_RETENTIVE)
        return (struct sbi_ret){SBI_ERR_INVALID_PARAM, 0};
    if (!retentive && !valid_entry(s, resume_addr))
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    pthread_mutex_lock(&h->lock);
    if (h->state[caller] != SBI_HSM_STARTED) {
        pthread_mutex_unlock(&h->lock);
        return (struct sbi_ret){SBI_ERR_FAILED, 0};
    }
    h->state[caller] = SBI_HSM_SUSPENDED;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);

    s->host->hart_suspend_wait(s->host->opaque, caller);

    pthread_mutex_lock(&h->lock);
    /* Losing the registers is allowed, not required: duvisor keeps them,
       and only the resume address tells the two kinds apart. */
    if (!retentive) {
        h->resume_pending[caller] = true;
        h->resume_addr[caller] = resume_addr;
        h->resume_arg[caller] = opaque;
    }
    h->state[caller] = SBI_HSM_STARTED;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    return (struct sbi_ret){SBI_SUCCESS, 0};
}

struct sbi_ret sbi_hsm(struct sbi *s, const struct sbi_call *c)
{
    const unsigned long *a = c->args;

    switch (c->fid) {
    case SBI_HSM_HART_START: return hart_start(s, a[0], a[1], a[2]);
    case SBI_HSM_HART_STOP: return hart_stop(s, c->hartid);
    case SBI_HSM_HART_GET_STATUS: return hart_get_status(s, a[0]);
    case SBI_HSM_HART_SUSPEND: return hart_suspend(s, c->hartid, a[0], a[1], a[2]);
    default: return (struct sbi_ret){SBI_ERR_NOT_SUPPORTED, 0};
    }
}

bool sbi_hsm_wait_start(struct sbi *s, unsigned hartid, uint64_t *start, uint64_t *arg,
                        bool (*quit)(void *opaque), void *opaque)
{
    struct sbi_hsm *h = &s->hsm;
    bool started = false;

    if (hartid >= h->nharts)
        return false;
    pthread_mutex_lock(&h->lock);
    for (;;) {
        if (quit && quit(opaque))
            break;
        if (h->state[hartid] == SBI_HSM_START_PENDING) {
            *start = h->start_addr[hartid];
            *arg = h->start_arg[hartid];
            h->state[hartid] = SBI_HSM_STARTED;
            pthread_cond_broadcast(&h->changed);
            started = true;
            break;
        }
        pthread_cond_wait(&h->changed, &h->lock);
    }
    pthread_mutex_unlock(&h->lock);
    return started;
}

void sbi_hsm_kick(struct sbi *s)
{
    /* Taking the lock orders the kick after any waiter's quit check. */
    pthread_mutex_lock(&s->hsm.lock);
    pthread_cond_broadcast(&s->hsm.changed);
    pthread_mutex_unlock(&s->hsm.lock);
}

bool sbi_hsm_take_stop(struct sbi *s, unsigned hartid)
{
    bool taken;

    if (hartid >= s->hsm.nharts)
        return false;
    pthread_mutex_lock(&s->hsm.lock);
    taken = s->hsm.stop_taken[hartid];
    s->hsm.stop_taken[hartid] = false;
    pthread_mutex_unlock(&s->hsm.lock);
    return taken;
}

bool sbi_hsm_take_resume(struct sbi *s, unsigned hartid, uint64_t *addr, uint64_t *arg)
{
    bool pending;

    if (hartid >= s->hsm.nharts)
        return false;
    pthread_mutex_lock(&s->hsm.lock);
    pending = s->hsm.resume_pending[hartid];
    if (pending) {
        *addr = s->hsm.resume_addr[hartid];
        *arg = s->hsm.resume_arg[hartid];
        s->hsm.resume_pending[hartid] = false;
    }
    pthread_mutex_unlock(&s->hsm.lock);
    return pending;
}

enum sbi_hsm_state sbi_hsm_state_of(struct sbi *s, unsigned hartid)
{
    enum sbi_hsm_state state;

    if (hartid >= s->hsm.nharts)
        return SBI_HSM_STOPPED;
    pthread_mutex_lock(&s->hsm.lock);
    state = s->hsm.state[hartid];
    pthread_mutex_unlock(&s->hsm.lock);
    return state;
}

void sbi_hsm_save(struct sbi *s, unsigned hartid, enum sbi_hsm_state *state, uint64_t *start,
                  uint64_t *arg)
{
    struct sbi_hsm *h = &s->hsm;

    pthread_mutex_lock(&h->lock);
    *state = hartid < h->nharts ? h->state[hartid] : SBI_HSM_STOPPED;
    /* A retentive suspend returns at once (host_hart_suspend_wait): a hart
       caught inside one is running, and resumes as if woken. */
    if (*state == SBI_HSM_SUSPENDED)
        *state = SBI_HSM_STARTED;
    *start = hartid < h->nharts ? h->start_addr[hartid] : 0;
    *arg = hartid < h->nharts ? h->start_arg[hartid] : 0;
    pthread_mutex_unlock(&h->lock);
}

int sbi_hsm_restore(struct sbi *s, unsigned hartid, enum sbi_hsm_state state, uint64_t start,
                    uint64_t arg)
{
    struct sbi_hsm *h = &s->hsm;

    if (hartid >= h->nharts ||
        (state != SBI_HSM_STARTED && state != SBI_HSM_STOPPED && state != SBI_HSM_START_PENDING))
        return -1;
    if (state == SBI_HSM_START_PENDING && !valid_entry(s, start))
        return -1;
    pthread_mutex_lock(&h->lock);
    h->state[hartid] = state;
    h->start_addr[hartid] = start;
    h->start_arg[hartid] = arg;
    h->stop_taken[hartid] = h->resume_pending[hartid] = false;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    return 0;
}
