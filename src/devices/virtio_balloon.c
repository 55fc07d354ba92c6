/* SPDX-License-Identifier: MIT */
/*
 * virtio_balloon.c - the memory balloon (see virtio_balloon.h): PFN arrays
 * in, pages given back to the host with madvise, the stats buffer held
 * until the host wants fresh values.
 */
#include "devices/virtio_balloon.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "util/le.h"
#include "util/state.h"

#define OFFERABLE                                                                                  \
    (VIRTIO_BALLOON_F_MUST_TELL_HOST | VIRTIO_BALLOON_F_STATS_VQ |                                 \
     VIRTIO_BALLOON_F_DEFLATE_ON_OOM | VIRTIO_BALLOON_F_REPORTING)
#define PFN_CHUNK   256u /* PFNs read at a time (Linux sends at most 256 per chain) */
#define STATS_MAX   64u  /* entries parsed from one stats buffer */
#define STAT_BYTES  10u  /* le16 tag, le64 value, packed */
#define CONFIG_SIZE 8u   /* le32 num_pages, le32 actual */

enum { INFLATEQ, DEFLATEQ };

struct virtio_balloon {
    pthread_mutex_t lock; /* guards everything below */
    struct virtio_device *vdev;
    struct virtio_memory mem;
    struct virtio_device_ops ops;
    uint64_t offered;
    bool active, paused;
    int stats_q, report_q;                 /* queue index, or -1 when not negotiated */
    uint32_t num_pages;                    /* the host's target */
    uint32_t actual;                       /* what the driver says it holds */
    bool stats_held;                       /* stats_chain is the driver's posted stats buffer */
    struct virtq_chain chain, stats_chain; /* ~8 KiB each: off the vCPU stacks */
    struct virtio_balloon_stats st;
};

/* --- giving pages back ------------------------------------------------------------------- */

/* [off, off+len) of RAM, page aligned, back to the host. */
static void discard(struct virtio_balloon *b, uint64_t off, uint64_t len)
{
    uint8_t *host = b->mem.host + off;
    /* MADV_REMOVE frees a shared mapping's backing pages (the memfd's);
       a private mapping refuses it and drops its copies with DONTNEED. */
    if (((uintptr_t)host & (VIRTIO_BALLOON_PAGE - 1)) ||
        (madvise(host, len, MADV_REMOVE) != 0 && madvise(host, len, MADV_DONTNEED) != 0)) {
        b->st.discard_failures++;
        return;
    }
    virtio_memory_written(&b->mem, host, len); /* translated code from there is stale */
}

/* Runs of consecutive PFNs, discarded together. */
struct run {
    uint64_t off, pages;
};

static void run_flush(struct virtio_balloon *b, struct run *r)
{
    if (r->pages)
        discard(b, r->off, r->pages << VIRTIO_BALLOON_PFN_SHIFT);
    r->pages = 0;
}

static void run_add(struct virtio_balloon *b, struct run *r, uint64_t off)
{
    if (r->pages && off == r->off + (r->pages << VIRTIO_BALLOON_PFN_SHIFT)) {
        r->pages++;
        return;
    }
    run_flush(b, r);
    r->off = off;
    r->pages = 1;
}

/* The PFNs of one inflate or deflate chain. */
static void serve_pfns(struct virtio_balloon *b, const struct virtq_chain *c, bool inflate)
{
    uint8_t buf[PFN_CHUNK * 4];
    struct run run = {0, 0};
    size_t total = c->out_len & ~(size_t)3;
    for (size_t at = 0; at < total; at += sizeof(buf)) {
        size_t n = virtq_read_out(c, at, buf, total - at < sizeof(buf) ? total - at : sizeof(buf));
        for (size_t i = 0; i + 4 <= n; i += 4) {
            uint64_t gpa = (uint64_t)get_le32(buf + i) << VIRTIO_BALLOON_PFN_SHIFT;
            if (!virtio_gpa(&b->mem, gpa, VIRTIO_BALLOON_PAGE)) {
                b->st.pfns_outside_ram++;
                continue;
            }
            if (inflate) {
                b->st.inflated_pages++;
                run_add(b, &run, gpa - b->mem.gpa_base);
            } else {
                b->st.deflated_pages++;
            }
        }
    }
    run_flush(b, &run);
}

/* One reported free range: its whole pages go back. */
static void report_range(struct virtio_balloon *b, const struct iovec *v)
{
    uint64_t off = (uint64_t)((uint8_t *)v->iov_base - b->mem.host);
    uint64_t start = (off + VIRTIO_BALLOON_PAGE - 1) & ~(uint64_t)(VIRTIO_BALLOON_PAGE - 1);
    uint64_t end = (off + v->iov_len) & ~(uint64_t)(VIRTIO_BALLOON_PAGE - 1);
    if (end <= start)
        return;
    discard(b, start, end - start);
    b->st.reported_pages += (end - start) >> VIRTIO_BALLOON_PFN_SHIFT;
}

static void serve_report(struct virtio_balloon *b, const struct virtq_chain *c)
{
    /* Linux posts the ranges device-writable; take readable ones too. */
    for (unsigned i = 0; i < c->nin; i++)
        report_range(b, &c->in[i]);
    for (unsigned i = 0; i < c->nout; i++)
        report_range(b, &c->out[i]);
}

/* --- statistics --------------------------------------------------------------------------- */

static void parse_stats(struct virtio_balloon *b, const struct virtq_chain *c)
{
    size_t n = c->out_len / STAT_BYTES;
    if (n > STATS_MAX)
        n = STATS_MAX;
    for (size_t i = 0; i < n; i++) {
        uint8_t e[STAT_BYTES];
        if (virtq_read_out(c, i * STAT_BYTES, e, sizeof(e)) != sizeof(e))
            break;
        uint16_t tag = get_le16(e);
        if (tag >= VIRTIO_BALLOON_S_NR)
            continue; /* a tag newer than this device: ignored, as the spec allows */
        b->st.guest[tag] = get_le64(e + 2);
        b->st.guest_valid |= 1u << tag;
    }
    b->st.stats_updates++;
}

/* Take the driver's stats buffer, if it posted one: parse it and hold it. */
static void take_stats(struct virtio_balloon *b)
{
    if (b->stats_q < 0 || b->paused)
        return;
    while (virtio_queue_pop(b->vdev, (unsigned)b->stats_q, &b->chain)) {
        if (b->stats_held) /* a second buffer: the first goes back */
            virtio_queue_push(b->vdev, (unsigned)b->stats_q, &b->stats_chain, 0);
        parse_stats(b, &b->chain);
        b->stats_chain = b->chain;
        b->stats_held = true;
    }
}

/* --- the transport's callbacks ------------------------------------------------------------ */

static void balloon_notify(void *opaque, unsigned q)
{
    struct virtio_balloon *b = opaque;
    pthread_mutex_lock(&b->lock);
    if (!b->active) {
        pthread_mutex_unlock(&b->lock);
        return;
    }
    if (q == INFLATEQ || q == DEFLATEQ) {
        while (virtio_queue_pop(b->vdev, q, &b->chain)) {
            serve_pfns(b, &b->chain, q == INFLATEQ);
            virtio_queue_push(b->vdev, q, &b->chain, 0);
        }
    } else if ((int)q == b->stats_q) {
        take_stats(b);
    } else if ((int)q == b->report_q) {
        while (virtio_queue_pop(b->vdev, q, &b->chain)) {
            serve_report(b, &b->chain);
            virtio_queue_push(b->vdev, q, &b->chain, 0);
        }
    }
    pthread_mutex_unlock(&b->lock);
}

static void balloon_activate(void *opaque, uint64_t features)
{
    struct virtio_balloon *b = opaque;
    pthread_mutex_lock(&b->lock);
    features &= b->offered;
    int next = 2;
    b->stats_q = features & VIRTIO_BALLOON_F_STATS_VQ ? next++ : -1;
    b->report_q = features & VIRTIO_BALLOON_F_REPORTING ? next++ : -1;
    b->active = b->vdev != NULL;
    pthread_mutex_unlock(&b->lock);
    /* Chains made available before DRIVER_OK are served now. */
    for (unsigned q = 0; q < (unsigned)next; q++)
        balloon_notify(b, q);
}

static void balloon_reset(void *opaque)
{
    struct virtio_balloon *b = opaque;
    pthread_mutex_lock(&b->lock); /* waits for a chain in flight */
    b->active = false;
    b->stats_held = false; /* the transport dropped the rings */
    b->actual = 0;         /* a reset driver holds no pages */
    pthread_mutex_unlock(&b->lock);
}

static void balloon_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_balloon *b = opaque;
    uint8_t cfg[CONFIG_SIZE];
    pthread_mutex_lock(&b->lock);
    put_le32(cfg, b->num_pages);
    put_le32(cfg + 4, b->actual);
    pthread_mutex_unlock(&b->lock);
    memcpy(buf, cfg + offset, len); /* the transport checked offset + len <= CONFIG_SIZE */
}

static void balloon_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    struct virtio_balloon *b = opaque;
    uint8_t cfg[CONFIG_SIZE];
    pthread_mutex_lock(&b->lock);
    put_le32(cfg, b->num_pages);
    put_le32(cfg + 4, b->actual);
    memcpy(cfg + offset, buf, len);
    b->actual = get_le32(cfg + 4); /* num_pages is the host's: the driver's bytes there go */
    pthread_mutex_unlock(&b->lock);
}

static void balloon_save(void *opaque, struct state_writer *w)
{
    struct virtio_balloon *b = opaque;
    pthread_mutex_lock(&b->lock);
    state_put_u64(w, b->offered);
    state_put_u32(w, b->num_pages);
    state_put_u32(w, b->actual);
    state_put_u32(w, b->st.guest_valid);
    for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++)
        state_put_u64(w, b->st.guest[i]);
    state_put_u64(w, b->st.stats_updates);
    state_put_u64(w, b->st.inflated_pages);
    state_put_u64(w, b->st.deflated_pages);
    state_put_u64(w, b->st.reported_pages);
    state_put_u64(w, b->st.pfns_outside_ram);
    state_put_u64(w, b->st.discard_failures);
    pthread_mutex_unlock(&b->lock);
}

static bool balloon_restore(void *opaque, struct state_reader *r)
{
    struct virtio_balloon *b = opaque;
    uint64_t offered = state_get_u64(r);
    if (state_reader_ok(r) && offered != b->offered)
        return state_fail(r, "balloon features %#llx, this balloon offers %#llx",
                          (unsigned long long)offered, (unsigned long long)b->offered);
    pthread_mutex_lock(&b->lock);
    b->num_pages = state_get_u32(r);
    b->actual = state_get_u32(r);
    b->st.guest_valid = state_get_u32(r) & ((1u << VIRTIO_BALLOON_S_NR) - 1);
    for (unsigned i = 0; i < VIRTIO_BALLOON_S_NR; i++)
        b->st.guest[i] = state_get_u64(r);
    b->st.stats_updates = state_get_u64(r);
    b->st.inflated_pages = state_get_u64(r);
    b->st.deflated_pages = state_get_u64(r);
    b->st.reported_pages = state_get_u64(r);
    b->st.pfns_outside_ram = state_get_u64(r);
    b->st.discard_failures = state_get_u64(r);
    pthread_mutex_unlock(&b->lock);
    return state_reader_ok(r);
}

/* --- the VMM's side ----------------------------------------------------------------------- */

struct virtio_balloon *virtio_balloon_create(uint64_t features)
{
    struct virtio_balloon *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    if (pthread_mutex_init(&b->lock, NULL) != 0) {
        free(b);
        return NULL;
    }
    b->offered = features & OFFERABLE;
    b->stats_q = b->report_q = -1;
    b->ops = (struct virtio_device_ops){
        .device_id = VIRTIO_ID_BALLOON,
        .features = b->offered,
        .num_queues = 2u + !!(b->offered & VIRTIO_BALLOON_F_STATS_VQ) +
                      !!(b->offered & VIRTIO_BALLOON_F_REPORTING),
        .queue_size_max = VIRTIO_BALLOON_QUEUE_SIZE,
        .config_size = CONFIG_SIZE,
        .config_read = balloon_config_read,
        .config_write = balloon_config_write,
        .activate = balloon_activate,
        .notify = balloon_notify,
        .reset = balloon_reset,
        .save = balloon_save,
        .restore = balloon_restore,
    };
    return b;
}

const struct virtio_device_ops *virtio_balloon_ops(struct virtio_balloon *b)
{
    return &b->ops;
}

void virtio_balloon_bind(struct virtio_balloon *b, struct virtio_device *vdev,
                         const struct virtio_memory *mem)
{
    pthread_mutex_lock(&b->lock);
    b->vdev = vdev;
    b->mem = *mem;
    pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_destroy(struct virtio_balloon *b)
{
    if (!b)
        return;
    pthread_mutex_destroy(&b->lock);
    free(b);
}

void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages)
{
    pthread_mutex_lock(&b->lock);
    bool changed = b->num_pages != pages;
    b->num_pages = pages;
    struct virtio_device *vdev = b->vdev;
    pthread_mutex_unlock(&b->lock);
    if (changed && vdev)
        virtio_config_changed(vdev);
}

void virtio_balloon_request_stats(struct virtio_balloon *b)
{
    pthread_mutex_lock(&b->lock);
    if (b->active && b->stats_held && !b->paused) {
        virtio_queue_push(b->vdev, (unsigned)b->stats_q, &b->stats_chain, 0);
        b->stats_held = false;
    }
    pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_get_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out)
{
    pthread_mutex_lock(&b->lock);
    *out = b->st;
    out->target_pages = b->num_pages;
    out->actual_pages = b->actual;
    pthread_mutex_unlock(&b->lock);
}

void virtio_balloon_pause(struct virtio_balloon *b, bool paused)
{
    pthread_mutex_lock(&b->lock);
    b->paused = paused;
    if (paused && b->stats_held) {
        /* Back into the ring, so a snapshot holds it and a restored device
           takes it again (see virtio_net_pause). */
        virtio_queue_unpop(b->vdev, (unsigned)b->stats_q);
        b->stats_held = false;
    }
    if (!paused && b->active)
        take_stats(b);
    pthread_mutex_unlock(&b->lock);
}
