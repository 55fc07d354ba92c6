/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk.h - the block device (virtio 1.2, "Block Device", device ID 2)
 * on a raw image file or a host block device, which Linux's virtio_blk
 * driver turns into /dev/vdX.
 *
 * One queue (requestq) of VIRTIO_BLK_QUEUE_SIZE entries. Features offered:
 * SEG_MAX, BLK_SIZE (512), FLUSH, RO for a read-only disk, and DISCARD plus
 * WRITE_ZEROES when the image is writable and fallocate(2) can punch holes
 * in it (probed at create, beyond the end of the image where a hole changes
 * nothing; host block devices never get them). Config space (60 bytes, up
 * to and including unused1): capacity in 512-byte sectors, seg_max, blk_size,
 * the discard and write-zeroes limits below, write_zeroes_may_unmap 1, and
 * zero elsewhere; writes to it are ignored.
 *
 * Requests (header: le32 type, le32 reserved, le64 sector; data; a status
 * byte, the last writable byte of the chain):
 *   IN            preadv into the writable buffers
 *   OUT           pwritev from the readable buffers after the header;
 *                 IOERR on a read-only disk, which is left untouched
 *   FLUSH         fdatasync(2) of the image, completed only once it returned
 *   GET_ID        "duvisor-" and 12 hex digits of a hash of the image's
 *                 canonical path (20 bytes, no NUL), stable across runs
 *   DISCARD       fallocate PUNCH_HOLE|KEEP_SIZE per segment
 *   WRITE_ZEROES  PUNCH_HOLE when the segment's unmap flag allows it, else
 *                 ZERO_RANGE, else (a file system without it) written zeros
 *   anything else UNSUPP (so are DISCARD / WRITE_ZEROES not negotiated, and
 *                 unknown segment flags or unmap on a DISCARD, as 5.2.6.2 asks)
 * A write is completed once it is in the host's page cache; a FLUSH once
 * fdatasync returned, so everything completed before it is on stable
 * storage. A driver that does not negotiate FLUSH gets a write-through disk
 * (fdatasync after every write), having no other way to make writes
 * durable. Host errors (EIO, ENOSPC, ...) come back as IOERR; the VMM goes on.
 *
 * Every chain is untrusted. A chain without writable bytes has nowhere for
 * a status and is returned with 0 bytes written. Otherwise the status is
 * IOERR for a header shorter than 16 bytes, data not a multiple of 512
 * bytes, a chain of the wrong shape for its type (readable bytes after the
 * header of an IN, writable bytes before the status of an OUT or FLUSH,
 * ...), a sector range beyond the capacity, a DISCARD / WRITE_ZEROES payload
 * that is not whole 16-byte segments or exceeds the limits below. Such
 * refusals touch neither the image nor the data buffers (all segments of a
 * DISCARD are checked before the first is applied); a host error mid-way
 * may leave part of a request done, as on a real disk. The used length is
 * always the chain's whole writable length (the status is its last byte;
 * GET_ID zero-fills a buffer longer than the ID, so nothing is claimed
 * that was not written).
 *
 * Threads: the transport's callbacks run on vCPU threads and never wait
 * for I/O. notify() only wakes VIRTIO_BLK_WORKERS worker threads, which pop
 * chains (one at a time, under the device's lock), do the I/O in parallel,
 * and push the completions themselves. Requests therefore complete in any
 * order, which virtio-blk allows; Linux orders what it needs with FLUSH.
 * The workers block every signal, so signals meant for vCPU threads never
 * land on them. reset() stops the popping and waits until every popped
 * request has been done and pushed, so once it returns the queue is not
 * touched until the next activate.
 *
 * Wiring (the ops depend on the image, so they come from the instance):
 *     struct virtio_blk *b = virtio_blk_create(path, readonly, err, sizeof(err));
 *     struct virtio_device *d = virtio_create(virtio_blk_ops(b), b, mem, irq, irq_opaque);
 *     virtio_blk_bind(b, d);       (before the guest can reach d)
 *     ...
 *     virtio_blk_destroy(b);       (vCPUs stopped: no callback runs or follows)
 *     virtio_destroy(d);
 * Unlike the console and rng devices, the block device goes FIRST: a worker
 * may be in the middle of a request, and it pushes the completion into d
 * before virtio_blk_destroy returns (virtio_destroy does not reset d, so
 * nothing else would stop it).
 *
 * The image is locked with flock(2), exclusively when writable and shared
 * when read-only, so two VMs cannot write one image (or one write what
 * another reads); file systems without flock are used unlocked.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_BLK_H
#define DUVISOR_DEVICES_VIRTIO_BLK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio.h"

/* Device feature bits (5.2.3). */
#define VIRTIO_BLK_F_SEG_MAX      (1ull << 2)
#define VIRTIO_BLK_F_RO           (1ull << 5)
#define VIRTIO_BLK_F_BLK_SIZE     (1ull << 6)
#define VIRTIO_BLK_F_FLUSH        (1ull << 9)
#define VIRTIO_BLK_F_DISCARD      (1ull << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ull << 14)

/* Request types (5.2.6). */
enum {
    VIRTIO_BLK_T_IN = 0,
    VIRTIO_BLK_T_OUT = 1,
    VIRTIO_BLK_T_FLUSH = 4,
    VIRTIO_BLK_T_GET_ID = 8,
    VIRTIO_BLK_T_DISCARD = 11,
    VIRTIO_BLK_T_WRITE_ZEROES = 13,
};

/* Status byte values. */
enum { VIRTIO_BLK_S_OK = 0, VIRTIO_BLK_S_IOERR = 1, VIRTIO_BLK_S_UNSUPP = 2 };

/* DISCARD / WRITE_ZEROES segment flag. */
#define VIRTIO_BLK_WZ_F_UNMAP 1u

/* Config space offsets (5.2.4) of the fields this device fills. */
enum {
    VIRTIO_BLK_CFG_CAPACITY = 0,             /* le64 */
    VIRTIO_BLK_CFG_SEG_MAX = 12,             /* le32 */
    VIRTIO_BLK_CFG_BLK_SIZE = 20,            /* le32 */
    VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS = 36, /* le32 */
    VIRTIO_BLK_CFG_MAX_DISCARD_SEG = 40,     /* le32 */
    VIRTIO_BLK_CFG_DISCARD_ALIGNMENT = 44,   /* le32, in sectors */
    VIRTIO_BLK_CFG_MAX_WZ_SECTORS = 48,      /* le32 */
    VIRTIO_BLK_CFG_MAX_WZ_SEG = 52,          /* le32 */
    VIRTIO_BLK_CFG_WZ_MAY_UNMAP = 56,        /* u8 */
    VIRTIO_BLK_CONFIG_SIZE = 60,
};

#define VIRTIO_BLK_SECTOR          512u
#define VIRTIO_BLK_ID_BYTES        20u
#define VIRTIO_BLK_QUEUE_SIZE      256u
/* Data buffers per request: the longest chain less the header and the status. */
#define VIRTIO_BLK_SEG_MAX         (VIRTQ_MAX_SEGS - 2u)
/* DISCARD / WRITE_ZEROES limits: per segment (2 GiB) and segments per request. */
#define VIRTIO_BLK_MAX_DWZ_SECTORS (1u << 22)
#define VIRTIO_BLK_MAX_DWZ_SEG     64u
/* Worker threads per disk: requests in service at once. */
#define VIRTIO_BLK_WORKERS         4u

struct virtio_blk;

/* Requests served since creation, by type, and their data bytes. */
struct virtio_blk_stats {
    uint64_t reads, writes, flushes, others; /* others: GET_ID, DISCARD, ... */
    uint64_t read_bytes, write_bytes;
    uint64_t errors; /* requests answered IOERR or UNSUPP */
};

/* Open a raw image (a regular file or a block device of whole sectors);
   readonly from ",ro". NULL with a one-line reason in err: missing file, not
   a regular file or block device, size not a multiple of 512, cannot open
   read-write, in use by another VM, no memory or threads. */
struct virtio_blk *virtio_blk_create(const char *path, bool readonly, char *err, size_t err_len);
/* Live upgrade: the same on an image fd the previous binary had open for path
   (duplicated; the caller keeps its own, whose lock is shared). And the fd to
   hand over. */
struct virtio_blk *virtio_blk_adopt(int fd, const char *path, bool readonly, char *err,
                                    size_t err_len);
int virtio_blk_fd(struct virtio_blk *b);
/* The transport callbacks for b (opaque = b); valid until virtio_blk_destroy. */
const struct virtio_device_ops *virtio_blk_ops(const struct virtio_blk *b);
/* The transport instance b serves. Before the guest can reach it. */
void virtio_blk_bind(struct virtio_blk *b, struct virtio_device *vdev);
/* Completes the requests in flight (pushing them: call it before
   virtio_destroy), joins the workers, closes the image. No transport
   callback may be running or follow. NULL is fine. */
void virtio_blk_destroy(struct virtio_blk *b);

/* Capacity in 512-byte sectors and whether DISCARD / WRITE_ZEROES are offered
   (for the VMM's log and for tests). */
uint64_t virtio_blk_capacity(const struct virtio_blk *b);
bool virtio_blk_can_discard(const struct virtio_blk *b);

/* The VM pauses (true) or resumes: while paused no request is popped or
   completed; pausing waits for the requests in service. Any thread. */
void virtio_blk_pause(struct virtio_blk *b, bool paused);
/* Swap the backing image for `path` (same read-only mode) on a running VM:
   requests in service finish on the old image, later ones use the new one,
   and the guest gets a config interrupt and rereads the capacity. 0, or -1
   with a reason in err and the old image kept. Any thread. */
int virtio_blk_replace(struct virtio_blk *b, const char *path, char *err, size_t err_len);
void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *out);

#endif /* DUVISOR_DEVICES_VIRTIO_BLK_H */
