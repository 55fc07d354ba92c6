/*
 * HSM extension: the hart state machine. One lock guards every hart's
 * state; `changed` is broadcast on every change and on sbi_hsm_kick, so a
 * stopped vCPU thread sleeping in sbi_hsm_wait_start sees its start (or its
 * quit). Host callbacks that may block or call back run without the lock.
 *
 * The transitions duvisor makes: STOPPED -> START_PENDING (hart_start by
 * another hart) -> STARTED (the target's thread takes the start); STARTED ->
 * STOPPED (hart_stop; the thread leaves the guest afterwards); STARTED ->
 * SUSPENDED (hart_suspend, system suspend) -> STARTED (sbi_hsm_wake, once
 * the hart's thread has slept until an interrupt is pending). The pending
 * states are never visible: each transition is one step under the lock.
 */
#include "sbi/sbi.h"

/* Where a hart may start: 2-byte aligned (the C extension's instruction
   alignment) and in guest RAM, which the host's read_phys checks. */
bool sbi_valid_entry(struct sbi *s, unsigned long addr)
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
    if (!sbi_valid_entry(s, addr))
        return (struct sbi_ret){SBI_ERR_INVALID_ADDRESS, 0};
    pthread_mutex_lock(&h->lock);
    if (h->state[hartid] != SBI_HSM_STOPPED) {
        err = SBI_ERR_ALREADY_AVAILABLE;
    } else {
        /* A start is a hart reset. The target is stopped and reads its
           features only after taking the start under this lock. */
        sbi_fwft_reset(s, (unsigned)hartid);
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

long sbi_hsm_suspend(struct sbi *s, unsigned caller, enum sbi_suspend_kind kind, uint64_t addr,
                     uint64_t arg, bool only_hart)
{
    struct sbi_hsm *h = &s->hsm;
    long err = SBI_SUCCESS;

    if (kind == SBI_SUSPEND_RESUME && !sbi_valid_entry(s, addr))
        return SBI_ERR_INVALID_ADDRESS;
    pthread_mutex_lock(&h->lock);
    /* Only a running hart can make this call; anything else is a VMM bug,
       reported with the one error that says nothing more. */
    if (h->state[caller] != SBI_HSM_STARTED)
        err = SBI_ERR_FAILED;
    for (unsigned i = 0; only_hart && err == SBI_SUCCESS && i < h->nharts; i++)
        if (i != caller && h->state[i] != SBI_HSM_STOPPED)
            err = SBI_ERR_DENIED;
    if (err == SBI_SUCCESS) {
        h->state[caller] = SBI_HSM_SUSPENDED;
        h->suspend[caller] = kind;
        h->resume_addr[caller] = addr;
        h->resume_arg[caller] = arg;
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->lock);
    return err;
}

static struct sbi_ret hart_suspend(struct sbi *s, unsigned caller, unsigned long type_arg,
                                   unsigned long resume_addr, unsigned long opaque)
{
    /* suspend_type is 32 bits wide: the upper half of a0 is not part of it. */
    uint32_t type = (uint32_t)type_arg;
    long err;

    /* Reserved types and the platform-specific ranges alike: duvisor
       implements no platform-specific state, and the spec asks
       INVALID_PARAM for "reserved or platform-specific and unimplemented". */
    if (type == SBI_HSM_SUSPEND_RETENTIVE)
        err = sbi_hsm_suspend(s, caller, SBI_SUSPEND_RETENTIVE, 0, 0, false);
    else if (type == SBI_HSM_SUSPEND_NON_RETENTIVE)
        err = sbi_hsm_suspend(s, caller, SBI_SUSPEND_RESUME, resume_addr, opaque, false);
    else
        err = SBI_ERR_INVALID_PARAM;
    return (struct sbi_ret){err, 0};
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

bool sbi_hsm_suspended(struct sbi *s, unsigned hartid)
{
    return sbi_hsm_state_of(s, hartid) == SBI_HSM_SUSPENDED;
}

bool sbi_hsm_wake(struct sbi *s, unsigned hartid, uint64_t *addr, uint64_t *arg)
{
    struct sbi_hsm *h = &s->hsm;
    bool resume = false;

    if (hartid >= h->nharts)
        return false;
    pthread_mutex_lock(&h->lock);
    if (h->state[hartid] == SBI_HSM_SUSPENDED) {
        resume = h->suspend[hartid] == SBI_SUSPEND_RESUME;
        *addr = h->resume_addr[hartid];
        *arg = h->resume_arg[hartid];
        h->state[hartid] = SBI_HSM_STARTED;
        h->suspend[hartid] = SBI_SUSPEND_NONE;
        pthread_cond_broadcast(&h->changed);
    }
    pthread_mutex_unlock(&h->lock);
    return resume;
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

void sbi_hsm_save(struct sbi *s, unsigned hartid, struct sbi_hsm_saved *out)
{
    struct sbi_hsm *h = &s->hsm;

    *out = (struct sbi_hsm_saved){.state = SBI_HSM_STOPPED};
    if (hartid >= h->nharts)
        return;
    pthread_mutex_lock(&h->lock);
    *out = (struct sbi_hsm_saved){
        .state = h->state[hartid],
        .start = h->start_addr[hartid],
        .arg = h->start_arg[hartid],
        .suspend = h->suspend[hartid],
        .resume_addr = h->resume_addr[hartid],
        .resume_arg = h->resume_arg[hartid],
    };
    pthread_mutex_unlock(&h->lock);
}

static bool restorable(struct sbi *s, const struct sbi_hsm_saved *in)
{
    switch (in->state) {
    case SBI_HSM_STARTED:
    case SBI_HSM_STOPPED: return true;
    case SBI_HSM_START_PENDING: return sbi_valid_entry(s, in->start);
    case SBI_HSM_SUSPENDED:
        return in->suspend == SBI_SUSPEND_RETENTIVE ||
               (in->suspend == SBI_SUSPEND_RESUME && sbi_valid_entry(s, in->resume_addr));
    default: return false;
    }
}

int sbi_hsm_restore(struct sbi *s, unsigned hartid, const struct sbi_hsm_saved *in)
{
    struct sbi_hsm *h = &s->hsm;

    if (hartid >= h->nharts || !restorable(s, in))
        return -1;
    pthread_mutex_lock(&h->lock);
    h->state[hartid] = in->state;
    h->start_addr[hartid] = in->start;
    h->start_arg[hartid] = in->arg;
    h->suspend[hartid] = in->state == SBI_HSM_SUSPENDED ? in->suspend : SBI_SUSPEND_NONE;
    h->resume_addr[hartid] = in->resume_addr;
    h->resume_arg[hartid] = in->resume_arg;
    h->stop_taken[hartid] = false;
    pthread_cond_broadcast(&h->changed);
    pthread_mutex_unlock(&h->lock);
    return 0;
}
