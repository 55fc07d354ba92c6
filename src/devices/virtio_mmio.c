/* SPDX-License-Identifier: MIT */
/*
 * virtio_mmio.c - the virtio-mmio transport, version 2 (virtio 1.2, 4.2).
 *
 * Locks: the device lock guards status, features, selectors and interrupt
 * state; each queue's lock guards that queue. Order: device lock, then a
 * queue lock. Device callbacks and the irq callback run with no lock held:
 * like uart8250.c, every path that may change the line leaves through
 * unlock_and_notify(), which delivers level changes outside the lock.
 *
 * A broken queue (a malformed chain, an unusable ring) sets `broken`: every
 * later pop on the device fails until the driver resets it, and the driver
 * learns of it from NEEDS_RESET plus a configuration-change interrupt.
 */
#include "devices/virtio.h"
#include "devices/virtqueue.h"

#include <stdlib.h>

#include "util/state.h"

/* Register offsets (4.2.2, table "MMIO Device Register Layout"). */
enum {
    REG_MAGIC = 0x000,
    REG_VERSION = 0x004,
    REG_DEVICE_ID = 0x008,
    REG_VENDOR_ID = 0x00c,
    REG_DEVICE_FEATURES = 0x010,
    REG_DEVICE_FEATURES_SEL = 0x014,
    REG_DRIVER_FEATURES = 0x020,
    REG_DRIVER_FEATURES_SEL = 0x024,
    REG_QUEUE_SEL = 0x030,
    REG_QUEUE_NUM_MAX = 0x034,
    REG_QUEUE_NUM = 0x038,
    REG_QUEUE_READY = 0x044,
    REG_QUEUE_NOTIFY = 0x050,
    REG_INTERRUPT_STATUS = 0x060,
    REG_INTERRUPT_ACK = 0x064,
    REG_STATUS = 0x070,
    REG_QUEUE_DESC_LOW = 0x080,
    REG_QUEUE_DESC_HIGH = 0x084,
    REG_QUEUE_DRIVER_LOW = 0x090,
    REG_QUEUE_DRIVER_HIGH = 0x094,
    REG_QUEUE_DEVICE_LOW = 0x0a0,
    REG_QUEUE_DEVICE_HIGH = 0x0a4,
    REG_SHM_SEL = 0x0ac,
    REG_SHM_LEN_LOW = 0x0b0,
    REG_SHM_LEN_HIGH = 0x0b4,
    REG_SHM_BASE_LOW = 0x0b8,
    REG_SHM_BASE_HIGH = 0x0bc,
    REG_CONFIG_GENERATION = 0x0fc,
    REG_CONFIG = 0x100,
};

struct virtio_device {
    pthread_mutex_t lock; /* guards everything below but the queues' own state */
    struct virtio_device_ops ops;
    void *opaque;
    struct virtio_memory mem;
    virtio_irq_fn irq;
    void *irq_opaque;

    uint32_t status; /* written under lock; pop reads it without (atomically) */
    uint32_t isr;    /* InterruptStatus */
    uint32_t config_generation;
    uint32_t device_features_sel, driver_features_sel, queue_sel;
    uint64_t driver_features;
    bool broken; /* atomic: set by pop without the device lock */

    bool line;                /* last level reported through irq */
    bool delivering;          /* some thread is running the irq loop */
    pthread_cond_t delivered; /* ... and has left it */

    struct virtq *queues; /* ops.num_queues of them */
};

static uint64_t offered_features(const struct virtio_device *d)
{
    return d->ops.features | VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC;
}

static bool driver_ok(const struct virtio_device *d)
{
    return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE) & VIRTIO_STATUS_DRIVER_OK;
}

/* --- interrupts ---------------------------------------------------------------------- */

/* Drop the device lock, first reporting the line (high while InterruptStatus
   is non-zero) if it changed. One thread delivers at a time so levels arrive
   in order, and the others wait for it: when this returns, the vPLIC has the
   level InterruptStatus now says. (Returning earlier would let a guest that
   acknowledged the interrupt complete its claim while the line still read
   high, and take a spurious interrupt: under host load, a storm that makes
   Linux disable the IRQ.) */
static void unlock_and_notify(struct virtio_device *d)
{
    while (d->delivering)
        pthread_cond_wait(&d->delivered, &d->lock);
    d->delivering = true;
    for (;;) {
        bool level = d->isr != 0;

        if (level == d->line)
            break;
        d->line = level;
        pthread_mutex_unlock(&d->lock);
        if (d->irq)
            d->irq(d->irq_opaque, level);
        pthread_mutex_lock(&d->lock);
    }
    d->delivering = false;
    pthread_cond_broadcast(&d->delivered);
    pthread_mutex_unlock(&d->lock);
}

static void raise_isr(struct virtio_device *d, uint32_t bits)
{
    pthread_mutex_lock(&d->lock);
    d->isr |= bits;
    unlock_and_notify(d);
}

/* Caller holds the device lock. 2.1.2: once DRIVER_OK is set, setting
   NEEDS_RESET must come with a configuration-change notification. */
static void set_needs_reset_locked(struct virtio_device *d)
{
    __atomic_store_n(&d->broken, true, __ATOMIC_RELEASE);
    __atomic_store_n(&d->status, d->status | VIRTIO_STATUS_NEEDS_RESET, __ATOMIC_RELEASE);
    if (d->status & VIRTIO_STATUS_DRIVER_OK)
        d->isr |= VIRTIO_MMIO_INT_CONFIG;
}

static void set_needs_reset(struct virtio_device *d)
{
    pthread_mutex_lock(&d->lock);
    set_needs_reset_locked(d);
    unlock_and_notify(d);
}

void virtio_config_changed(struct virtio_device *d)
{
    pthread_mutex_lock(&d->lock);
    d->config_generation++;
    if (d->status & VIRTIO_STATUS_DRIVER_OK)
        d->isr |= VIRTIO_MMIO_INT_CONFIG;
    unlock_and_notify(d);
}

/* --- queues, for devices ------------------------------------------------------------- */

bool virtio_queue_pop(struct virtio_device *d, unsigned q, struct virtq_chain *chain)
{
    enum virtq_pop_result r = VIRTQ_EMPTY;
    struct virtq *vq;

    if (q >= d->ops.num_queues)
        return false;
    vq = &d->queues[q];
    pthread_mutex_lock(&vq->lock);
    if (vq->ready && driver_ok(d) && !__atomic_load_n(&d->broken, __ATOMIC_ACQUIRE)) {
        r = virtq_pop(vq, &d->mem, chain);
        if (r == VIRTQ_BROKEN) /* before unlocking: no later pop may succeed */
            __atomic_store_n(&d->broken, true, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&vq->lock);
    if (r == VIRTQ_BROKEN)
        set_needs_reset(d);
    return r == VIRTQ_POPPED;
}

void virtio_queue_push(struct virtio_device *d, unsigned q, const struct virtq_chain *chain,
                       uint32_t written)
{
    bool interrupt = false;
    struct virtq *vq;

    if (q >= d->ops.num_queues)
        return;
    if (written > chain->in_len)
        written = (uint32_t)chain->in_len; /* never claim more than the driver offered */
    /* Everything the driver let the device write may have been written. */
    for (unsigned i = 0; i < chain->nin; i++)
        virtio_memory_written(&d->mem, chain->in[i].iov_base, chain->in[i].iov_len);
    vq = &d->queues[q];
    pthread_mutex_lock(&vq->lock);
    if (vq->ready) /* a reset since the pop leaves nothing to return it to */
        interrupt = virtq_push(vq, chain->head, written);
    pthread_mutex_unlock(&vq->lock);
    if (interrupt)
        raise_isr(d, VIRTIO_MMIO_INT_VRING);
}

bool virtio_queue_rings(struct virtio_device *d, unsigned q, struct virtio_queue_rings *rings)
{
    bool ready = false;

    if (q >= d->ops.num_queues)
        return false;
    pthread_mutex_lock(&d->queues[q].lock);
    if (d->queues[q].ready) {
        ready = true;
        *rings = (struct virtio_queue_rings){.num = d->queues[q].num,
                                             .desc = d->queues[q].desc,
                                             .avail = d->queues[q].avail,
                                             .used = d->queues[q].used};
    }
    pthread_mutex_unlock(&d->queues[q].lock);
    return ready;
}

void virtio_queue_backend_avail(struct virtio_device *d, unsigned q)
{
    if (q >= d->ops.num_queues)
        return;
    pthread_mutex_lock(&d->queues[q].lock);
    if (d->queues[q].ready)
        virtq_note_avail(&d->queues[q]);
    pthread_mutex_unlock(&d->queues[q].lock);
}

/* Scratch chains for the backend paths (~8 KiB: off the stack). */
static _Thread_local struct virtq_chain backend_scratch;

void virtio_queue_backend_used(struct virtio_device *d, unsigned q)
{
    bool ready = false;

    if (q >= d->ops.num_queues)
        return;
    pthread_mutex_lock(&d->queues[q].lock);
    if (d->queues[q].ready) {
        ready = true;
        virtq_note_used(&d->queues[q], &d->mem, &backend_scratch);
    }
    pthread_mutex_unlock(&d->queues[q].lock);
    if (ready && driver_ok(d))
        raise_isr(d, VIRTIO_MMIO_INT_VRING);
}

void virtio_queue_take_over(struct virtio_device *d, unsigned q,
                            uint32_t (*answer)(void *opaque, const struct virtq_chain *c),
                            void *opaque)
{
    bool interrupt = false;

    if (q >= d->ops.num_queues)
        return;
    pthread_mutex_lock(&d->queues[q].lock);
    if (d->queues[q].ready)
        interrupt = virtq_take_over(&d->queues[q], &d->mem, &backend_scratch, answer, opaque);
    pthread_mutex_unlock(&d->queues[q].lock);
    if (interrupt && driver_ok(d))
        raise_isr(d, VIRTIO_MMIO_INT_VRING);
}

/* --- lifecycle ----------------------------------------------------------------------- */

static bool ops_valid(const struct virtio_device_ops *ops)
{
    uint16_t n = ops->queue_size_max;

    return ops->num_queues > 0 && ops->num_queues <= VIRTIO_MAX_QUEUES && n > 0 &&
           n <= VIRTIO_QUEUE_SIZE_MAX && (n & (n - 1)) == 0 &&
           ops->config_size <= VIRTIO_MMIO_SIZE - REG_CONFIG;
}

struct virtio_device *virtio_create(const struct virtio_device_ops *ops, void *opaque,
                                    const struct virtio_memory *mem, virtio_irq_fn irq,
                                    void *irq_opaque)
{
    struct virtio_device *d;
    unsigned i;

    if (!ops_valid(ops))
        return NULL;
    d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    d->queues = calloc(ops->num_queues, sizeof(*d->queues));
    if (!d->queues || pthread_mutex_init(&d->lock, NULL) != 0)
        goto fail;
    if (pthread_cond_init(&d->delivered, NULL) != 0) {
        pthread_mutex_destroy(&d->lock);
        goto fail;
    }
    for (i = 0; i < ops->num_queues; i++) {
        if (pthread_mutex_init(&d->queues[i].lock, NULL) != 0)
            goto fail_queues;
        virtq_reset(&d->queues[i], ops->queue_size_max);
    }
    d->ops = *ops;
    d->opaque = opaque;
    d->mem = *mem;
    d->irq = irq;
    d->irq_opaque = irq_opaque;
    return d;

fail_queues:
    while (i-- > 0)
        pthread_mutex_destroy(&d->queues[i].lock);
    pthread_cond_destroy(&d->delivered);
    pthread_mutex_destroy(&d->lock);
fail:
    free(d->queues);
    free(d);
    return NULL;
}

void virtio_destroy(struct virtio_device *d)
{
    if (!d)
        return;
    for (unsigned i = 0; i < d->ops.num_queues; i++)
        pthread_mutex_destroy(&d->queues[i].lock);
    pthread_cond_destroy(&d->delivered);
    pthread_mutex_destroy(&d->lock);
    free(d->queues);
    free(d);
}

/* Status 0 (4.2.3.1 / 2.4): status drops first, so pops fail from here on;
   then the device stops its own work; then the transport forgets everything
   the driver set up. */
static void device_reset(struct virtio_device *d)
{
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
    if (d->ops.reset)
        d->ops.reset(d->opaque);
    pthread_mutex_lock(&d->lock);
    for (unsigned i = 0; i < d->ops.num_queues; i++) {
        pthread_mutex_lock(&d->queues[i].lock);
        virtq_reset(&d->queues[i], d->ops.queue_size_max);
        pthread_mutex_unlock(&d->queues[i].lock);
    }
    __atomic_store_n(&d->status, 0, __ATOMIC_RELEASE); /* again: a racing Status write */
    __atomic_store_n(&d->broken, false, __ATOMIC_RELEASE);
    d->isr = 0;
    d->driver_features = 0;
    d->device_features_sel = d->driver_features_sel = d->queue_sel = 0;
    unlock_and_notify(d);
}

/* --- registers ----------------------------------------------------------------------- */

/* The selected queue, or NULL when QueueSel names none. Caller holds the device lock. */
static struct virtq *selected_queue(struct virtio_device *d)
{
    return d->queue_sel < d->ops.num_queues ? &d->queues[d->queue_sel] : NULL;
}

static uint32_t read_queue_reg(struct virtio_device *d, uint64_t offset)
{
    struct virtq *q = selected_queue(d);
    uint32_t v = 0;

    if (!q)
        return 0; /* QueueNumMax 0: "queue not available" */
    pthread_mutex_lock(&q->lock);
    if (offset == REG_QUEUE_NUM_MAX)
        v = d->ops.queue_size_max;
    else if (offset == REG_QUEUE_READY)
        v = q->ready;
    pthread_mutex_unlock(&q->lock);
    return v;
}

/* Registers below the config space; d->lock held. Write-only ones read 0. */
static uint32_t read_reg_locked(struct virtio_device *d, uint64_t offset)
{
    switch (offset) {
    case REG_MAGIC: return VIRTIO_MMIO_MAGIC;
    case REG_VERSION: return VIRTIO_MMIO_VERSION;
    case REG_DEVICE_ID: return d->ops.device_id;
    case REG_VENDOR_ID: return VIRTIO_MMIO_VENDOR_ID;
    case REG_DEVICE_FEATURES:
        if (d->device_features_sel > 1)
            return 0;
        return (uint32_t)(offered_features(d) >> (32 * d->device_features_sel));
    case REG_QUEUE_NUM_MAX:
    case REG_QUEUE_READY: return read_queue_reg(d, offset);
    case REG_INTERRUPT_STATUS: return d->isr;
    case REG_STATUS: return d->status;
    case REG_SHM_LEN_LOW:
    case REG_SHM_LEN_HIGH:
    case REG_SHM_BASE_LOW:
    case REG_SHM_BASE_HIGH: return UINT32_MAX; /* no shared memory regions: length -1 */
    case REG_CONFIG_GENERATION: return d->config_generation;
    default: return 0;
    }
}

/* Device config space: naturally aligned 1, 2 or 4 bytes inside config_size. */
static bool config_access_ok(const struct virtio_device *d, uint64_t offset, unsigned size)
{
    uint64_t off = offset - REG_CONFIG;

    if (size != 1 && size != 2 && size != 4)
        return false;
    return off % size == 0 && off + size <= d->ops.config_size;
}

static bool config_read(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t *value)
{
    uint32_t v = 0;

    if (!config_access_ok(d, offset, size))
        return false;
    if (d->ops.config_read)
        d->ops.config_read(d->opaque, (uint32_t)(offset - REG_CONFIG), &v, size);
    *value = v; /* little-endian bytes of the field, zero-extended */
    return true;
}

static bool config_write(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value)
{
    uint32_t v = (uint32_t)value;

    if (!config_access_ok(d, offset, size))
        return false;
    if (d->ops.config_write)
        d->ops.config_write(d->opaque, (uint32_t)(offset - REG_CONFIG), &v, size);
    return true;
}

bool virtio_mmio_read(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t *value)
{
    if (offset >= VIRTIO_MMIO_SIZE)
        return false;
    if (offset >= REG_CONFIG)
        return config_read(d, offset, size, value);
    if (size != 4 || offset % 4 != 0) /* 4.2.2.2: control registers are 32-bit only */
        return false;
    pthread_mutex_lock(&d->lock);
    *value = read_reg_locked(d, offset);
    pthread_mutex_unlock(&d->lock);
    return true;
}

/* 2.2.2: FEATURES_OK only for a subset of what we offer, including VERSION_1. */
static bool features_acceptable(const struct virtio_device *d)
{
    return (d->driver_features & ~offered_features(d)) == 0 &&
           (d->driver_features & VIRTIO_F_VERSION_1);
}

/* A non-zero Status write; d->lock held. True if the driver just set DRIVER_OK. */
static bool write_status_locked(struct virtio_device *d, uint32_t v)
{
    uint32_t old = d->status;
    uint32_t s = (v & 0xff & ~VIRTIO_STATUS_NEEDS_RESET) | (old & VIRTIO_STATUS_NEEDS_RESET);

    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK) &&
        !features_acceptable(d))
        s &= ~VIRTIO_STATUS_FEATURES_OK; /* the driver reads it back and gives up */
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(s & VIRTIO_STATUS_FEATURES_OK))
        s &= ~VIRTIO_STATUS_DRIVER_OK; /* never run on features we did not accept */
    __atomic_store_n(&d->status, s, __ATOMIC_RELEASE);
    return (s & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK);
}

static void write_status(struct virtio_device *d, uint32_t v)
{
    bool activate;
    uint64_t features;

    if (v == 0) {
        device_reset(d);
        return;
    }
    pthread_mutex_lock(&d->lock);
    activate = write_status_locked(d, v);
    features = d->driver_features;
    unlock_and_notify(d);
    if (activate && d->ops.activate)
        d->ops.activate(d->opaque, features);
}

static void set_half(uint64_t *reg, unsigned high, uint32_t v)
{
    unsigned shift = high ? 32 : 0;

    *reg = (*reg & ~(0xffffffffull << shift)) | ((uint64_t)v << shift);
}

/* QueueReady = 1: refuse (NEEDS_RESET) a size or ring the device cannot use. */
static void enable_queue_locked(struct virtio_device *d, struct virtq *q)
{
    bool event_idx = d->driver_features & VIRTIO_F_EVENT_IDX;

    if (!virtq_enable(q, &d->mem, d->ops.queue_size_max, event_idx))
        set_needs_reset_locked(d);
}

/* Writes to the selected queue's registers; d->lock held. Ignored while the
   queue is ready: the spec lets the driver change them only before. */
static void write_queue_reg_locked(struct virtio_device *d, uint64_t offset, uint32_t v)
{
    struct virtq *q = selected_queue(d);

    if (!q)
        return;
    pthread_mutex_lock(&q->lock);
    if (offset == REG_QUEUE_READY) {
        if (!v)
            q->ready = false;
        else if (!q->ready)
            enable_queue_locked(d, q);
    } else if (!q->ready) {
        switch (offset) {
        case REG_QUEUE_NUM: q->num = v; break;
        case REG_QUEUE_DESC_LOW: set_half(&q->desc_gpa, 0, v); break;
        case REG_QUEUE_DESC_HIGH: set_half(&q->desc_gpa, 1, v); break;
        case REG_QUEUE_DRIVER_LOW: set_half(&q->avail_gpa, 0, v); break;
        case REG_QUEUE_DRIVER_HIGH: set_half(&q->avail_gpa, 1, v); break;
        case REG_QUEUE_DEVICE_LOW: set_half(&q->used_gpa, 0, v); break;
        case REG_QUEUE_DEVICE_HIGH: set_half(&q->used_gpa, 1, v); break;
        }
    }
    pthread_mutex_unlock(&q->lock);
}

/* Everything but Status and QueueNotify; d->lock held. */
static void write_reg_locked(struct virtio_device *d, uint64_t offset, uint32_t v)
{
    switch (offset) {
    case REG_DEVICE_FEATURES_SEL: d->device_features_sel = v; break;
    case REG_DRIVER_FEATURES:
        /* fixed once FEATURES_OK is set (3.1.1) */
        if (d->driver_features_sel <= 1 && !(d->status & VIRTIO_STATUS_FEATURES_OK))
            set_half(&d->driver_features, d->driver_features_sel, v);
        break;
    case REG_DRIVER_FEATURES_SEL: d->driver_features_sel = v; break;
    case REG_QUEUE_SEL: d->queue_sel = v; break;
    case REG_INTERRUPT_ACK: d->isr &= ~v; break;
    case REG_QUEUE_NUM:
    case REG_QUEUE_READY:
    case REG_QUEUE_DESC_LOW:
    case REG_QUEUE_DESC_HIGH:
    case REG_QUEUE_DRIVER_LOW:
    case REG_QUEUE_DRIVER_HIGH:
    case REG_QUEUE_DEVICE_LOW:
    case REG_QUEUE_DEVICE_HIGH: write_queue_reg_locked(d, offset, v); break;
    default: break; /* read-only and unknown registers ignore writes */
    }
}

/* QueueNotify: v is the queue index (no VIRTIO_F_NOTIFICATION_DATA). */
static void queue_notify(struct virtio_device *d, uint32_t v)
{
    if (v < d->ops.num_queues && driver_ok(d) && d->ops.notify)
        d->ops.notify(d->opaque, v);
}

bool virtio_mmio_write(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value)
{
    if (offset >= VIRTIO_MMIO_SIZE)
        return false;
    if (offset >= REG_CONFIG)
        return config_write(d, offset, size, value);
    if (size != 4 || offset % 4 != 0)
        return false;
    if (offset == REG_STATUS) {
        write_status(d, (uint32_t)value);
    } else if (offset == REG_QUEUE_NOTIFY) {
        queue_notify(d, (uint32_t)value);
    } else {
        pthread_mutex_lock(&d->lock);
        write_reg_locked(d, offset, (uint32_t)value);
        unlock_and_notify(d); /* an ACK may lower the line */
    }
    return true;
}

void virtio_queue_unpop(struct virtio_device *d, unsigned q)
{
    if (q >= d->ops.num_queues)
        return;
    pthread_mutex_lock(&d->queues[q].lock);
    if (d->queues[q].ready)
        d->queues[q].last_avail--;
    pthread_mutex_unlock(&d->queues[q].lock);
}

/* --- snapshots ------------------------------------------------------------------------ */

void virtio_save(struct virtio_device *d, struct state_writer *w)
{
    pthread_mutex_lock(&d->lock);
    state_put_u32(w, d->ops.device_id);
    state_put_u32(w, d->ops.num_queues);
    state_put_u32(w, d->status);
    state_put_u32(w, d->isr);
    state_put_u32(w, d->config_generation);
    state_put_u32(w, d->device_features_sel);
    state_put_u32(w, d->driver_features_sel);
    state_put_u32(w, d->queue_sel);
    state_put_u64(w, d->driver_features);
    state_put_bool(w, __atomic_load_n(&d->broken, __ATOMIC_ACQUIRE));
    for (unsigned i = 0; i < d->ops.num_queues; i++) {
        struct virtq *q = &d->queues[i];
        pthread_mutex_lock(&q->lock);
        state_put_u32(w, q->num);
        state_put_u64(w, q->desc_gpa);
        state_put_u64(w, q->avail_gpa);
        state_put_u64(w, q->used_gpa);
        state_put_bool(w, q->ready);
        state_put_u16(w, q->last_avail);
        state_put_u16(w, q->used_idx);
        pthread_mutex_unlock(&q->lock);
    }
    pthread_mutex_unlock(&d->lock);
    if (d->ops.save)
        d->ops.save(d->opaque, w);
}

/* One queue's saved setup into q (the device lock held, nothing running). */
static bool restore_queue(struct virtio_device *d, struct virtq *q, unsigned i,
                          struct state_reader *r)
{
    q->num = state_get_u32(r);
    q->desc_gpa = state_get_u64(r);
    q->avail_gpa = state_get_u64(r);
    q->used_gpa = state_get_u64(r);
    bool ready = state_get_bool(r);
    uint16_t last_avail = state_get_u16(r), used_idx = state_get_u16(r);
    if (!state_reader_ok(r) || !ready)
        return state_reader_ok(r);
    if (!virtq_enable(q, &d->mem, d->ops.queue_size_max, d->driver_features & VIRTIO_F_EVENT_IDX))
        return state_fail(r, "queue %u: size %u or rings outside guest RAM", i, q->num);
    q->last_avail = last_avail;
    q->used_idx = used_idx;
    return true;
}

bool virtio_restore(struct virtio_device *d, struct state_reader *r)
{
    uint32_t id = state_get_u32(r), nq = state_get_u32(r);
    if (state_reader_ok(r) && (id != d->ops.device_id || nq != d->ops.num_queues))
        return state_fail(r, "a virtio device of type %u with %u queues, not %u with %u", id, nq,
                          d->ops.device_id, d->ops.num_queues);
    pthread_mutex_lock(&d->lock);
    uint32_t status = state_get_u32(r);
    d->isr = state_get_u32(r) & (VIRTIO_MMIO_INT_VRING | VIRTIO_MMIO_INT_CONFIG);
    d->config_generation = state_get_u32(r);
    d->device_features_sel = state_get_u32(r);
    d->driver_features_sel = state_get_u32(r);
    d->queue_sel = state_get_u32(r);
    d->driver_features = state_get_u64(r);
    bool broken = state_get_bool(r);
    /* The states the registers let a driver reach (a live VM's snapshot must
       restore, whatever its driver wrote): Status keeps the 8 bits written,
       reserved ones too, but DRIVER_OK only with FEATURES_OK; DriverFeatures
       holds whatever the driver proposed until FEATURES_OK accepts it, which
       takes only features the device offers. */
    if (state_reader_ok(r) && ((status & ~0xffu) || ((status & VIRTIO_STATUS_DRIVER_OK) &&
                                                     !(status & VIRTIO_STATUS_FEATURES_OK))))
        state_fail(r, "device status %#x", status);
    if (state_reader_ok(r) && (status & VIRTIO_STATUS_FEATURES_OK) &&
        (d->driver_features & ~offered_features(d)))
        state_fail(r, "features %#llx the device does not offer",
                   (unsigned long long)d->driver_features);
    for (unsigned i = 0; i < d->ops.num_queues && state_reader_ok(r); i++)
        restore_queue(d, &d->queues[i], i, r);
    __atomic_store_n(&d->status, status, __ATOMIC_RELEASE);
    __atomic_store_n(&d->broken, broken, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
    if (state_reader_ok(r) && d->ops.restore)
        d->ops.restore(d->opaque, r);
    if (!state_reader_ok(r))
        return false;
    if (driver_ok(d) && d->ops.activate)
        d->ops.activate(d->opaque, d->driver_features);
    pthread_mutex_lock(&d->lock);
    unlock_and_notify(d); /* the line as InterruptStatus says */
    for (unsigned i = 0; i < d->ops.num_queues; i++)
        if (d->queues[i].ready)
            queue_notify(d, i);
    return true;
}
