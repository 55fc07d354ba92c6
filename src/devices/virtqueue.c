/* SPDX-License-Identifier: MIT */
/*
 * virtqueue.c - split virtqueues (see virtqueue.h).
 *
 * The rings live in guest RAM, which vCPUs on other host threads change at
 * any moment: each descriptor is copied out once and only the copy is
 * checked and used; the ring indices are read and written with the
 * acquire/release ordering the spec's memory barriers ask for (2.7.13).
 * Multi-byte fields are little endian, which is also the host's order.
 */
#include "devices/virtqueue.h"

#include <string.h>

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "the split rings are read in place: a little-endian host is assumed");

/* Field offsets in the avail and used rings (2.7.6, 2.7.8). */
#define AVAIL_FLAGS   0u
#define AVAIL_IDX     2u
#define AVAIL_RING(i) (4u + 2u * (i))
#define USED_IDX      2u
#define USED_RING(i)  (4u + 8u * (i))

struct desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags, next;
};

/* One chain being gathered. */
struct walk {
    const struct virtio_memory *mem;
    uint32_t num; /* queue size: bounds the main table and any indirect table */
    struct virtq_chain *c;
};

static uint16_t load16(const uint8_t *p, int order)
{
    return __atomic_load_n((const uint16_t *)p, order);
}

static void store16(uint8_t *p, uint16_t v, int order)
{
    __atomic_store_n((uint16_t *)p, v, order);
}

static struct desc load_desc(const uint8_t *table, uint32_t i)
{
    struct desc d;

    memcpy(&d, table + 16u * i, sizeof(d)); /* the one and only read of this descriptor */
    return d;
}

/* --- setup --------------------------------------------------------------------------- */

void virtq_reset(struct virtq *q, uint16_t num_max)
{
    q->num = num_max;
    q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
    q->ready = false;
    q->desc = q->avail = q->used = NULL;
    q->event_idx = false;
    q->last_avail = q->used_idx = 0;
}

/* Host address of one ring part if it is aligned as the spec says and wholly in RAM.
   The host address is checked too: the ring indices are accessed atomically. */
static uint8_t *ring_part(const struct virtio_memory *mem, uint64_t gpa, uint64_t len,
                          unsigned align)
{
    uint8_t *p;

    if (gpa % align)
        return NULL;
    p = virtio_gpa(mem, gpa, len);
    if (!p || (uintptr_t)p % align)
        return NULL;
    return p;
}

bool virtq_enable(struct virtq *q, const struct virtio_memory *mem, uint16_t num_max,
                  bool event_idx)
{
    uint32_t n = q->num;

    if (n == 0 || n > num_max || (n & (n - 1)) != 0)
        return false;
    q->desc = ring_part(mem, q->desc_gpa, VIRTQ_DESC_BYTES(n), VIRTQ_DESC_ALIGN);
    q->avail = ring_part(mem, q->avail_gpa, VIRTQ_AVAIL_BYTES(n), VIRTQ_AVAIL_ALIGN);
    q->used = ring_part(mem, q->used_gpa, VIRTQ_USED_BYTES(n), VIRTQ_USED_ALIGN);
    if (!q->desc || !q->avail || !q->used) {
        q->desc = q->avail = q->used = NULL;
        return false;
    }
    q->event_idx = event_idx;
    q->last_avail = q->used_idx = 0;
    q->fwd_avail = q->fwd_used = 0;
    memset(q->fwd_pending, 0, sizeof(q->fwd_pending));
    q->ready = true;
    return true;
}

/* --- pop: gather and validate one chain ---------------------------------------------- */

/* Append one buffer to the chain; false if that makes the chain malformed. */
static bool add_buffer(struct walk *w, const struct desc *d)
{
    struct virtq_chain *c = w->c;
    void *p;

    if (d->len == 0)
        return true; /* allowed, and there is nothing to read or write */
    p = virtio_gpa(w->mem, d->addr, d->len);
    if (!p || c->nout + c->nin >= VIRTQ_MAX_SEGS)
        return false;
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        if (c->in_len + d->len > UINT32_MAX) /* used.len could not report it */
            return false;
        c->in[c->nin++] = (struct iovec){.iov_base = p, .iov_len = d->len};
        c->in_len += d->len;
        return true;
    }
    if (c->nin || c->out_len + d->len > UINT32_MAX) /* readable after writable: 2.7.4.2 */
        return false;
    c->out[c->nout++] = (struct iovec){.iov_base = p, .iov_len = d->len};
    c->out_len += d->len;
    return true;
}

static bool walk_table(struct walk *w, const uint8_t *table, uint32_t n, uint32_t i, bool indirect);

/* A descriptor pointing at an indirect table (2.7.5.3): its entries finish the chain. */
static bool walk_indirect(struct walk *w, const struct desc *d, bool indirect)
{
    const uint8_t *table;

    /* no nesting, and nothing may follow the indirect table in the main table */
    if (indirect || (d->flags & VIRTQ_DESC_F_NEXT))
        return false;
    if (d->len == 0 || d->len % 16 != 0 || d->len / 16 > w->num)
        return false;
    table = virtio_gpa(w->mem, d->addr, d->len);
    if (!table)
        return false;
    return walk_table(w, table, d->len / 16, 0, true);
}

/* Follow NEXT links through a table of n descriptors starting at entry i. A chain
   without a loop visits each entry at most once, so step n means a loop. */
static bool walk_table(struct walk *w, const uint8_t *table, uint32_t n, uint32_t i, bool indirect)
{
    for (uint32_t steps = 0; steps < n; steps++) {
        struct desc d;

        if (i >= n)
            return false;
        d = load_desc(table, i);
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return walk_indirect(w, &d, indirect);
        if (!add_buffer(w, &d))
            return false;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return true;
        i = d.next;
    }
    return false;
}

/* With EVENT_IDX, tell the driver which avail index to kick us for (2.7.10). */
static void publish_avail_event(struct virtq *q)
{
    if (q->event_idx)
        store16(q->used + USED_RING(q->num), q->last_avail, __ATOMIC_RELAXED);
}

/* The driver's avail->idx, re-read after publishing avail_event when the ring
   looks empty, so a buffer added meanwhile is not left without a kick. */
static uint16_t avail_idx(struct virtq *q)
{
    uint16_t idx = load16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);

    if (idx != q->last_avail || !q->event_idx)
        return idx;
    publish_avail_event(q);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return load16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);
}

enum virtq_pop_result virtq_pop(struct virtq *q, const struct virtio_memory *mem,
                                struct virtq_chain *chain)
{
    uint16_t idx = avail_idx(q);
    struct walk w = {.mem = mem, .num = q->num, .c = chain};
    uint16_t head;

    if (idx == q->last_avail)
        return VIRTQ_EMPTY;
    if ((uint16_t)(idx - q->last_avail) > q->num)
        return VIRTQ_BROKEN; /* more entries than the ring holds */
    head = load16(q->avail + AVAIL_RING(q->last_avail % q->num), __ATOMIC_RELAXED);
    chain->head = head;
    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;
    if (!walk_table(&w, q->desc, q->num, head, false))
        return VIRTQ_BROKEN;
    q->last_avail++;
    publish_avail_event(q);
    return VIRTQ_POPPED;
}

/* --- push ---------------------------------------------------------------------------- */

bool virtq_push(struct virtq *q, uint16_t head, uint32_t written)
{
    uint8_t *elem = q->used + USED_RING(q->used_idx % q->num);
    uint16_t old = q->used_idx;
    uint16_t new_idx = ++q->used_idx;

    __atomic_store_n((uint32_t *)elem, (uint32_t)head, __ATOMIC_RELAXED);
    __atomic_store_n((uint32_t *)(elem + 4), written, __ATOMIC_RELAXED);
    /* release: the entry is visible before the index that hands it over */
    store16(q->used + USED_IDX, new_idx, __ATOMIC_RELEASE);
    /* the index store must be visible before we read the driver's suppression
       fields, or we could miss an interrupt the driver just asked for */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (q->event_idx)
        return vring_need_event(load16(q->avail + AVAIL_RING(q->num), __ATOMIC_RELAXED), new_idx,
                                old);
    return !(load16(q->avail + AVAIL_FLAGS, __ATOMIC_RELAXED) & VIRTQ_AVAIL_F_NO_INTERRUPT);
}

/* --- a backend's used entries ------------------------------------------------------- */

/* Gather the chain at head into chain (false if it does not walk). */
static bool chain_at(struct virtq *q, const struct virtio_memory *mem, uint32_t head,
                     struct virtq_chain *chain)
{
    struct walk w = {.mem = mem, .num = q->num, .c = chain};

    chain->head = (uint16_t)head;
    chain->nout = chain->nin = 0;
    chain->out_len = chain->in_len = 0;
    return head < q->num && walk_table(&w, q->desc, q->num, head, false);
}

void virtq_note_avail(struct virtq *q)
{
    uint16_t idx = load16(q->avail + AVAIL_IDX, __ATOMIC_ACQUIRE);

    if ((uint16_t)(idx - q->fwd_avail) > q->num)
        q->fwd_avail = (uint16_t)(idx - q->num); /* a driver lying about its index */
    for (; q->fwd_avail != idx; q->fwd_avail++) {
        uint16_t head = load16(q->avail + AVAIL_RING(q->fwd_avail % q->num), __ATOMIC_RELAXED);
        if (head < q->num && q->fwd_pending[head] < INT16_MAX)
            q->fwd_pending[head]++;
    }
}

void virtq_note_used(struct virtq *q, const struct virtio_memory *mem, struct virtq_chain *chain)
{
    uint16_t idx = load16(q->used + USED_IDX, __ATOMIC_ACQUIRE);

    if ((uint16_t)(idx - q->fwd_used) > q->num)
        q->fwd_used = (uint16_t)(idx - q->num);
    for (; q->fwd_used != idx; q->fwd_used++) {
        uint32_t head = __atomic_load_n(
            (const uint32_t *)(q->used + USED_RING(q->fwd_used % q->num)), __ATOMIC_RELAXED);
        /* A chain that no longer walks (the driver reused its descriptors)
           still had its buffers found up to the break. */
        chain_at(q, mem, head, chain);
        for (unsigned k = 0; k < chain->nin; k++)
            virtio_memory_written(mem, chain->in[k].iov_base, chain->in[k].iov_len);
        if (head < q->num && q->fwd_pending[head] > INT16_MIN)
            q->fwd_pending[head]--;
    }
}

bool virtq_take_over(struct virtq *q, const struct virtio_memory *mem, struct virtq_chain *chain,
                     uint32_t (*answer)(void *opaque, const struct virtq_chain *c), void *opaque)
{
    bool interrupt = false;

    virtq_note_avail(q);
    virtq_note_used(q, mem, chain);
    q->last_avail = q->fwd_avail;
    q->used_idx = q->fwd_used;
    for (uint32_t head = 0; head < q->num; head++) {
        for (; q->fwd_pending[head] > 0; q->fwd_pending[head]--) {
            uint32_t written = chain_at(q, mem, head, chain) ? answer(opaque, chain) : 0;
            for (unsigned k = 0; k < chain->nin; k++)
                virtio_memory_written(mem, chain->in[k].iov_base, chain->in[k].iov_len);
            interrupt |= virtq_push(q, (uint16_t)head, written);
        }
    }
    publish_avail_event(q); /* the backend's may be behind: the driver must kick us */
    return interrupt;
}

/* --- copy helpers -------------------------------------------------------------------- */

/* Copy between buf and the bytes [offset, offset+len) of an iovec list. */
static size_t copy_iov(const struct iovec *iov, unsigned n, size_t offset, void *buf, size_t len,
                       bool to_iov)
{
    uint8_t *b = buf;
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t seg = iov[i].iov_len;
        size_t chunk;

        if (offset >= seg) {
            offset -= seg;
            continue;
        }
        chunk = seg - offset;
        if (chunk > len - done)
            chunk = len - done;
        if (to_iov)
            memcpy((uint8_t *)iov[i].iov_base + offset, b + done, chunk);
        else
            memcpy(b + done, (const uint8_t *)iov[i].iov_base + offset, chunk);
        done += chunk;
        offset = 0;
    }
    return done;
}

size_t virtq_read_out(const struct virtq_chain *c, size_t offset, void *buf, size_t len)
{
    return copy_iov(c->out, c->nout, offset, buf, len, false);
}

size_t virtq_write_in(const struct virtq_chain *c, size_t offset, const void *buf, size_t len)
{
    return copy_iov(c->in, c->nin, offset, (void *)buf, len, true);
}
