/* SPDX-License-Identifier: MIT */
/*
 * virtio_balloon.h - the memory balloon (virtio 1.2, "Traditional Memory
 * Balloon Device", device ID 5), as Linux's virtio_balloon driver uses it.
 *
 * The host sets a target (num_pages, 4 KiB pages); the driver allocates
 * that many guest pages and sends their frame numbers on inflateq (le32
 * PFNs), gives pages back on deflateq, and writes how many it holds into
 * `actual`. Inflated pages and, with F_REPORTING, the free ranges the guest
 * reports on reporting_vq are given back to the host: MADV_REMOVE on the
 * shared memfd mapping of guest RAM (the memfd's pages go, a later touch
 * reads zero), MADV_DONTNEED where RAM is a private mapping (a VM restored
 * from a memory file: the page then reads the file's bytes again). Deflated
 * pages need nothing: they read back zero when the guest touches them.
 * With F_STATS_VQ the driver posts a buffer of (le16 tag, le64 value)
 * entries; the device keeps it and gives it back when it wants fresh
 * values (virtio_balloon_request_stats), which makes the driver refill and
 * post it again.
 *
 * Queues are numbered as Linux numbers them: inflateq 0, deflateq 1, then
 * statsq if F_STATS_VQ was negotiated, then reporting_vq if F_REPORTING was
 * (a queue whose feature is absent takes no index).
 *
 * Hostile input: a PFN outside RAM is skipped and counted, never a VM stop;
 * a stats buffer is parsed only as far as it holds whole entries, unknown
 * tags are ignored; reported ranges are trimmed to whole pages; a chain
 * the transport refuses sets NEEDS_RESET as for every device.
 *
 * Threads: the transport's callbacks (vCPU threads) and the VMM thread's
 * calls are serialised by the device's mutex.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_BALLOON_H
#define DUVISOR_DEVICES_VIRTIO_BALLOON_H

#include "devices/virtio.h"

#define VIRTIO_ID_BALLOON 5u

/* Feature bits (5.5.3). */
#define VIRTIO_BALLOON_F_MUST_TELL_HOST (1ull << 0)
#define VIRTIO_BALLOON_F_STATS_VQ       (1ull << 1)
#define VIRTIO_BALLOON_F_DEFLATE_ON_OOM (1ull << 2)
#define VIRTIO_BALLOON_F_REPORTING      (1ull << 5)

/* Balloon pages are 4 KiB whatever the guest's page size. */
#define VIRTIO_BALLOON_PFN_SHIFT  12u
#define VIRTIO_BALLOON_PAGE       (1u << VIRTIO_BALLOON_PFN_SHIFT)
#define VIRTIO_BALLOON_QUEUE_SIZE 128u

/* Statistics tags (5.5.6.3), the index into virtio_balloon_stats.guest. */
enum {
    VIRTIO_BALLOON_S_SWAP_IN,
    VIRTIO_BALLOON_S_SWAP_OUT,
    VIRTIO_BALLOON_S_MAJFLT,
    VIRTIO_BALLOON_S_MINFLT,
    VIRTIO_BALLOON_S_MEMFREE,
    VIRTIO_BALLOON_S_MEMTOT,
    VIRTIO_BALLOON_S_AVAIL,
    VIRTIO_BALLOON_S_CACHES,
    VIRTIO_BALLOON_S_HTLB_PGALLOC,
    VIRTIO_BALLOON_S_HTLB_PGFAIL,
    VIRTIO_BALLOON_S_NR
};

struct virtio_balloon_stats {
    uint32_t target_pages, actual_pages;
    uint64_t guest[VIRTIO_BALLOON_S_NR];                     /* the guest's last values, by tag */
    uint32_t guest_valid;                                    /* bit per tag: the guest sent it */
    uint64_t stats_updates;                                  /* stats buffers the guest posted */
    uint64_t inflated_pages, deflated_pages, reported_pages; /* 4 KiB pages */
    uint64_t pfns_outside_ram; /* inflate/deflate PFNs that were not guest RAM */
    uint64_t discard_failures; /* madvise refused (the pages stay the host's) */
};

struct virtio_balloon;

/* A balloon offering features (a subset of MUST_TELL_HOST, STATS_VQ,
   DEFLATE_ON_OOM, REPORTING; others are dropped). NULL on no memory. */
struct virtio_balloon *virtio_balloon_create(uint64_t features);
/* This balloon's transport callbacks (its queue count depends on features). */
const struct virtio_device_ops *virtio_balloon_ops(struct virtio_balloon *b);
/* The transport instance b serves and the guest RAM it gives pages back
   from (mem's host mapping page aligned). Before the guest can reach it. */
void virtio_balloon_bind(struct virtio_balloon *b, struct virtio_device *vdev,
                         const struct virtio_memory *mem);
/* After the transport is destroyed. NULL is fine. */
void virtio_balloon_destroy(struct virtio_balloon *b);

/* The host's target, in 4 KiB pages: the driver is told (a config interrupt). */
void virtio_balloon_set_target(struct virtio_balloon *b, uint32_t pages);
/* Give the held stats buffer back so the guest refreshes it (no-op without one). */
void virtio_balloon_request_stats(struct virtio_balloon *b);
void virtio_balloon_get_stats(struct virtio_balloon *b, struct virtio_balloon_stats *out);
/* The VM pauses (a held stats buffer goes back into the ring for a
   snapshot) or resumes (it is taken again). */
void virtio_balloon_pause(struct virtio_balloon *b, bool paused);

#endif /* DUVISOR_DEVICES_VIRTIO_BALLOON_H */
