/* SPDX-License-Identifier: MIT */
/*
 * virtio_blk.c - the block device (see virtio_blk.h): worker threads pop
 * requests, check them against the chain and the capacity, do the I/O with
 * preadv/pwritev/fdatasync/fallocate on the image, and push the status.
 */
#include "devices/virtio_blk.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/le.h"
#include "host/sandbox.h"
#include "util/state.h"

#define HDR_BYTES 16u /* le32 type, le32 reserved, le64 sector */
#define SEG_BYTES 16u /* le64 sector, le32 num_sectors, le32 flags */

/* A chain's buffers go to preadv/pwritev in one call. */
_Static_assert(VIRTQ_MAX_SEGS <= IOV_MAX, "a chain exceeds IOV_MAX");

struct blk_worker {
    struct virtio_blk *b;
    pthread_t thread;
    /* Per worker, not on its stack: a chain is ~8 KiB and the data view 4 KiB. */
    struct virtq_chain chain;
    struct iovec data[VIRTQ_MAX_SEGS];
};

struct virtio_blk {
    /* fixed at create */
    struct virtio_device_ops ops;
    int fd;
    bool readonly;
    uint64_t capacity; /* sectors */
    uint8_t config[VIRTIO_BLK_CONFIG_SIZE];
    char id[VIRTIO_BLK_ID_BYTES];
    /* Learnt on the first ZERO_RANGE the file system refuses; from then on
       WRITE_ZEROES without unmap writes zeros. */
    atomic_bool no_zero_range;

    pthread_mutex_t lock; /* guards everything below; popping is done under it */
    pthread_cond_t work;  /* workers: a kick, an activate, or stop */
    pthread_cond_t idle;  /* reset: busy went to 0 */
    struct virtio_device *vdev;
    bool active;       /* between activate and reset */
    bool kicked;       /* the queue may hold chains nobody has popped yet */
    bool stop;         /* destroy: workers leave */
    bool paused;       /* the VM is paused: nothing is popped, nothing pushed */
    uint64_t features; /* negotiated, valid while active */
    unsigned busy;     /* requests popped and not yet pushed */
    unsigned nworkers; /* threads started */
    struct blk_worker workers[VIRTIO_BLK_WORKERS];
    struct {
        _Atomic uint64_t reads, writes, flushes, others, read_bytes, write_bytes, errors;
    } stats;
};

/* ---- I/O helpers ------------------------------------------------------------------ */

/* dst = the bytes [off, off + len) of src[0..n), without empty pieces:
   how many pieces. The caller knows the chain holds off + len bytes. */
static unsigned iov_slice(const struct iovec *src, unsigned n, size_t off, size_t len,
                          struct iovec *dst)
{
    unsigned k = 0;

    for (unsigned i = 0; i < n && len > 0; i++) {
        size_t l = src[i].iov_len;

        if (off >= l) {
            off -= l;
            continue;
        }
        l -= off;
        if (l > len)
            l = len;
        if (l > 0) {
            dst[k].iov_base = (uint8_t *)src[i].iov_base + off;
            dst[k].iov_len = l;
            k++;
        }
        len -= l;
        off = 0;
    }
    return k;
}

/* The whole of iov[0..n) at byte pos of fd: 0 or -errno. Short transfers
   (signals, huge requests) are resumed; making no progress at all means the
   image shrank under us, an I/O error for the guest. iov is consumed. */
static int rw_full(int fd, struct iovec *iov, unsigned n, uint64_t pos, bool write)
{
    while (n > 0) {
        ssize_t r =
            write ? pwritev(fd, iov, (int)n, (off_t)pos) : preadv(fd, iov, (int)n, (off_t)pos);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        pos += (uint64_t)r;
        for (size_t left = (size_t)r; left > 0;) {
            if (left < iov->iov_len) {
                iov->iov_base = (uint8_t *)iov->iov_base + left;
                iov->iov_len -= left;
                left = 0;
            } else {
                left -= iov->iov_len;
                iov++;
                n--;
            }
        }
    }
    return 0;
}

static int datasync(int fd)
{
    int r;

    do
        r = fdatasync(fd);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

static int falloc(int fd, int mode, uint64_t pos, uint64_t len)
{
    int r;

    do
        r = fallocate(fd, mode, (off_t)pos, (off_t)len);
    while (r < 0 && errno == EINTR);
    return r < 0 ? -errno : 0;
}

/* Zeros over [pos, pos + len) by plain writes, for file systems without ZERO_RANGE. */
static int write_zeros(int fd, uint64_t pos, uint64_t len)
{
    static const uint8_t zeros[64 * 1024];

    while (len > 0) {
        size_t n = len > sizeof(zeros) ? sizeof(zeros) : (size_t)len;
        ssize_t r = pwrite(fd, zeros, n, (off_t)pos);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        pos += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

/* ---- requests -------------------------------------------------------------------- */

/* [sector, sector + bytes / 512) lies within the disk. */
static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t bytes)
{
    uint64_t n = bytes / VIRTIO_BLK_SECTOR;

    return sector <= b->capacity && n <= b->capacity - sector;
}

static uint8_t do_read(struct virtio_blk *b, struct blk_worker *w, uint64_t sector)
{
    const struct virtq_chain *c = &w->chain;
    size_t len = c->in_len - 1; /* all writable bytes but the status */

    if (c->out_len != HDR_BYTES || len % VIRTIO_BLK_SECTOR || !in_range(b, sector, len))
        return VIRTIO_BLK_S_IOERR;
    unsigned n = iov_slice(c->in, c->nin, 0, len, w->data);
    return rw_full(b->fd, w->data, n, sector * VIRTIO_BLK_SECTOR, false) ? VIRTIO_BLK_S_IOERR
                                                                         : VIRTIO_BLK_S_OK;
}

static uint8_t do_write(struct virtio_blk *b, struct blk_worker *w, uint64_t sector,
                        uint64_t features)
{
    const struct virtq_chain *c = &w->chain;
    size_t len = c->out_len - HDR_BYTES;

    if (b->readonly || c->in_len != 1 || len % VIRTIO_BLK_SECTOR || !in_range(b, sector, len))
        return VIRTIO_BLK_S_IOERR;
    unsigned n = iov_slice(c->out, c->nout, HDR_BYTES, len, w->data);
    if (rw_full(b->fd, w->data, n, sector * VIRTIO_BLK_SECTOR, true))
        return VIRTIO_BLK_S_IOERR;
    /* Without FLUSH the driver has no way to ask for durability, so every
       write must be durable on completion. */
    if (!(features & VIRTIO_BLK_F_FLUSH) && datasync(b->fd))
        return VIRTIO_BLK_S_IOERR;
    return VIRTIO_BLK_S_OK;
}

static uint8_t do_get_id(struct virtio_blk *b, const struct virtq_chain *c)
{
    static const uint8_t zeros[512];
    size_t len = c->in_len - 1;
    size_t off = len < VIRTIO_BLK_ID_BYTES ? len : VIRTIO_BLK_ID_BYTES;

    if (c->out_len != HDR_BYTES)
        return VIRTIO_BLK_S_IOERR;
    virtq_write_in(c, 0, b->id, off);
    /* A buffer longer than the ID is zero-filled, so that the used length
       (all writable bytes) never claims bytes the device did not write. */
    while (off < len) {
        size_t n = len - off < sizeof(zeros) ? len - off : sizeof(zeros);

        virtq_write_in(c, off, zeros, n);
        off += n;
    }
    return VIRTIO_BLK_S_OK;
}

/* One WRITE_ZEROES segment: reads of it must return zeros afterwards. */
static int zero_range(struct virtio_blk *b, uint64_t pos, uint64_t len, bool unmap)
{
    int r;

    if (unmap) {
        r = falloc(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, len);
        if (r != -EOPNOTSUPP)
            return r;
    }
    if (!atomic_load(&b->no_zero_range)) {
        r = falloc(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, pos, len);
        if (r != -EOPNOTSUPP)
            return r;
        atomic_store(&b->no_zero_range, true);
    }
    return write_zeros(b->fd, pos, len);
}

static uint8_t do_discard_wz(struct virtio_blk *b, const struct virtq_chain *c, uint32_t type,
                             uint64_t features)
{
    bool discard = type == VIRTIO_BLK_T_DISCARD;
    uint8_t segs[VIRTIO_BLK_MAX_DWZ_SEG][SEG_BYTES];
    size_t len = c->out_len - HDR_BYTES;
    size_t nseg = len / SEG_BYTES;

    if (!(features & (discard ? VIRTIO_BLK_F_DISCARD : VIRTIO_BLK_F_WRITE_ZEROES)))
        return VIRTIO_BLK_S_UNSUPP;
    if (b->readonly || c->in_len != 1 || len % SEG_BYTES || nseg == 0 ||
        nseg > VIRTIO_BLK_MAX_DWZ_SEG)
        return VIRTIO_BLK_S_IOERR;
    virtq_read_out(c, HDR_BYTES, segs, len);

    /* Check every segment before touching the image: a refused request
       changes nothing. Flags first, since the spec wants UNSUPP for them. */
    for (size_t i = 0; i < nseg; i++) {
        uint32_t flags = get_le32(segs[i] + 12);

        if ((flags & ~VIRTIO_BLK_WZ_F_UNMAP) || (discard && flags))
            return VIRTIO_BLK_S_UNSUPP;
    }
    for (size_t i = 0; i < nseg; i++) {
        uint64_t sector = get_le64(segs[i]);
        uint32_t n = get_le32(segs[i] + 8);

        if (n > VIRTIO_BLK_MAX_DWZ_SECTORS || !in_range(b, sector, (uint64_t)n * VIRTIO_BLK_SECTOR))
            return VIRTIO_BLK_S_IOERR;
    }
    for (size_t i = 0; i < nseg; i++) {
        uint64_t pos = get_le64(segs[i]) * VIRTIO_BLK_SECTOR;
        uint64_t bytes = (uint64_t)get_le32(segs[i] + 8) * VIRTIO_BLK_SECTOR;
        int r;

        if (bytes == 0)
            continue; /* fallocate refuses a zero length; there is nothing to do */
        if (discard)
            r = falloc(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, pos, bytes);
        else
            r = zero_range(b, pos, bytes, get_le32(segs[i] + 12) & VIRTIO_BLK_WZ_F_UNMAP);
        if (r)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

static void count_request(struct virtio_blk *b, uint32_t type, const struct virtq_chain *c)
{
    const memory_order relaxed = memory_order_relaxed;

    switch (type) {
    case VIRTIO_BLK_T_IN:
        atomic_fetch_add_explicit(&b->stats.reads, 1, relaxed);
        atomic_fetch_add_explicit(&b->stats.read_bytes, c->in_len - 1, relaxed);
        break;
    case VIRTIO_BLK_T_OUT:
        atomic_fetch_add_explicit(&b->stats.writes, 1, relaxed);
        atomic_fetch_add_explicit(&b->stats.write_bytes, c->out_len - HDR_BYTES, relaxed);
        break;
    case VIRTIO_BLK_T_FLUSH: atomic_fetch_add_explicit(&b->stats.flushes, 1, relaxed); break;
    default: atomic_fetch_add_explicit(&b->stats.others, 1, relaxed); break;
    }
}

/* Serve the chain w->chain: the used length to push. */
static uint32_t serve(struct virtio_blk *b, struct blk_worker *w, uint64_t features)
{
    const struct virtq_chain *c = &w->chain;
    uint8_t hdr[HDR_BYTES];
    uint8_t status;

    if (c->in_len == 0)
        return 0; /* no status byte: nothing can be reported */
    if (c->out_len < HDR_BYTES) {
        status = VIRTIO_BLK_S_IOERR;
    } else {
        virtq_read_out(c, 0, hdr, HDR_BYTES);
        uint32_t type = get_le32(hdr);
        uint64_t sector = get_le64(hdr + 8);

        count_request(b, type, c);
        switch (type) {
        case VIRTIO_BLK_T_IN: status = do_read(b, w, sector); break;
        case VIRTIO_BLK_T_OUT: status = do_write(b, w, sector, features); break;
        case VIRTIO_BLK_T_FLUSH:
            if (c->out_len != HDR_BYTES || c->in_len != 1)
                status = VIRTIO_BLK_S_IOERR;
            else
                status = datasync(b->fd) ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
            break;
        case VIRTIO_BLK_T_GET_ID: status = do_get_id(b, c); break;
        case VIRTIO_BLK_T_DISCARD:
        case VIRTIO_BLK_T_WRITE_ZEROES: status = do_discard_wz(b, c, type, features); break;
        default: status = VIRTIO_BLK_S_UNSUPP; break;
        }
    }
    if (status != VIRTIO_BLK_S_OK)
        atomic_fetch_add_explicit(&b->stats.errors, 1, memory_order_relaxed);
    virtq_write_in(c, c->in_len - 1, &status, 1);
    /* The used length covers the status byte, the last writable one. Only
       a guest pointing many descriptors at the same RAM exceeds 32 bits. */
    return c->in_len > UINT32_MAX ? UINT32_MAX : (uint32_t)c->in_len;
}

/* ---- workers ------------------------------------------------------------------------ */

static void *worker_main(void *arg)
{
    struct blk_worker *w = arg;
    struct virtio_blk *b = w->b;

    sandbox_enter_or_warn(SANDBOX_BLOCK);
    pthread_mutex_lock(&b->lock);
    for (;;) {
        if (b->stop)
            break;
        if (!b->active || !b->kicked || b->paused) {
            pthread_cond_wait(&b->work, &b->lock);
            continue;
        }
        /* Only a pop that finds the queue empty clears the kick: the
           transport re-arms the driver's notifications when it does, so a
           chain made available later comes with a new kick. */
        if (!virtio_queue_pop(b->vdev, 0, &w->chain)) {
            b->kicked = false;
            continue;
        }
        uint64_t features = b->features;
        b->busy++;
        /* More chains may wait behind this one: let an idle worker take them. */
        pthread_cond_signal(&b->work);
        pthread_mutex_unlock(&b->lock);

        uint32_t written = serve(b, w, features);
        /* Pushed before busy drops, so a reset waiting for busy == 0 knows
           the queue is no longer touched. */
        virtio_queue_push(b->vdev, 0, &w->chain, written);

        pthread_mutex_lock(&b->lock);
        if (--b->busy == 0)
            pthread_cond_broadcast(&b->idle);
    }
    pthread_mutex_unlock(&b->lock);
    return NULL;
}

/* ---- transport callbacks ------------------------------------------------------------ */

static void blk_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_blk *b = opaque;

    /* The transport checked offset + len against config_size. The lock:
       virtio_blk_replace may be changing the capacity. */
    pthread_mutex_lock(&b->lock);
    memcpy(buf, b->config + offset, len);
    pthread_mutex_unlock(&b->lock);
}

static void blk_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    /* Only writeback is writable, and only with CONFIG_WCE, not offered. */
    (void)opaque;
    (void)offset;
    (void)buf;
    (void)len;
}

static void blk_activate(void *opaque, uint64_t features)
{
    struct virtio_blk *b = opaque;

    pthread_mutex_lock(&b->lock);
    b->features = features;
    b->active = b->vdev != NULL;
    b->kicked = true; /* requests made available before DRIVER_OK are served now */
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->lock);
}

static void blk_notify(void *opaque, unsigned q)
{
    struct virtio_blk *b = opaque;

    if (q != 0)
        return;
    pthread_mutex_lock(&b->lock);
    b->kicked = true;
    pthread_cond_signal(&b->work);
    pthread_mutex_unlock(&b->lock);
}

/* Wait until no request is in service. Under b->lock. */
static void wait_idle(struct virtio_blk *b)
{
    while (b->busy > 0)
        pthread_cond_wait(&b->idle, &b->lock);
}

static void blk_reset(void *opaque)
{
    struct virtio_blk *b = opaque;

    pthread_mutex_lock(&b->lock);
    b->active = false;
    b->kicked = false;
    /* I/O under way cannot be cancelled; the vCPU waits for it, as the
       driver waits for the status to read back 0. */
    wait_idle(b);
    pthread_mutex_unlock(&b->lock);
}

/* Snapshots: the disk must be the one the guest knew, at least in size. */
static void blk_save(void *opaque, struct state_writer *w)
{
    const struct virtio_blk *b = opaque;

    state_put_u64(w, b->capacity);
    state_put_bool(w, b->readonly);
}

static bool blk_restore(void *opaque, struct state_reader *r)
{
    const struct virtio_blk *b = opaque;
    uint64_t capacity = state_get_u64(r);
    bool readonly = state_get_bool(r);

    if (!state_reader_ok(r))
        return false;
    if (capacity != b->capacity)
        return state_fail(r, "the disk has %llu sectors, the snapshot's had %llu",
                          (unsigned long long)b->capacity, (unsigned long long)capacity);
    if (readonly != b->readonly)
        return state_fail(r, "the disk is %s, the snapshot's was %s",
                          b->readonly ? "read-only" : "read-write",
                          readonly ? "read-only" : "read-write");
    return true;
}

void virtio_blk_pause(struct virtio_blk *b, bool paused)
{
    pthread_mutex_lock(&b->lock);
    b->paused = paused;
    if (paused)
        wait_idle(b);
    else
        pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->lock);
}

void virtio_blk_get_stats(struct virtio_blk *b, struct virtio_blk_stats *out)
{
    *out = (struct virtio_blk_stats){
        .reads = atomic_load(&b->stats.reads),
        .writes = atomic_load(&b->stats.writes),
        .flushes = atomic_load(&b->stats.flushes),
        .others = atomic_load(&b->stats.others),
        .read_bytes = atomic_load(&b->stats.read_bytes),
        .write_bytes = atomic_load(&b->stats.write_bytes),
        .errors = atomic_load(&b->stats.errors),
    };
}

/* ---- create / destroy --------------------------------------------------------------- */

static void *fail(char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void *fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err && err_len > 0) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return NULL;
}

/* "duvisor-" and 48 bits of FNV-1a over the canonical path: the same image
   keeps its /dev/disk/by-id name however it is named on the command line. */
static void make_id(char id[VIRTIO_BLK_ID_BYTES], const char *path)
{
    char *canon = realpath(path, NULL);
    const char *p = canon ? canon : path;
    uint64_t h = 0xcbf29ce484222325ull;
    char buf[VIRTIO_BLK_ID_BYTES + 1];

    for (; *p; p++)
        h = (h ^ (uint8_t)*p) * 0x100000001b3ull;
    free(canon);
    snprintf(buf, sizeof(buf), "duvisor-%012llx", (unsigned long long)(h & 0xffffffffffffull));
    memcpy(id, buf, VIRTIO_BLK_ID_BYTES);
}

static void fill_config(struct virtio_blk *b, bool discard, uint32_t granule)
{
    put_le64(b->config + VIRTIO_BLK_CFG_CAPACITY, b->capacity);
    put_le32(b->config + VIRTIO_BLK_CFG_SEG_MAX, VIRTIO_BLK_SEG_MAX);
    put_le32(b->config + VIRTIO_BLK_CFG_BLK_SIZE, VIRTIO_BLK_SECTOR);
    if (!discard)
        return;
    put_le32(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS, VIRTIO_BLK_MAX_DWZ_SECTORS);
    put_le32(b->config + VIRTIO_BLK_CFG_MAX_DISCARD_SEG, VIRTIO_BLK_MAX_DWZ_SEG);
    /* The file system's block: smaller discards only zero, they free nothing. */
    put_le32(b->config + VIRTIO_BLK_CFG_DISCARD_ALIGNMENT, granule);
    put_le32(b->config + VIRTIO_BLK_CFG_MAX_WZ_SECTORS, VIRTIO_BLK_MAX_DWZ_SECTORS);
    put_le32(b->config + VIRTIO_BLK_CFG_MAX_WZ_SEG, VIRTIO_BLK_MAX_DWZ_SEG);
    b->config[VIRTIO_BLK_CFG_WZ_MAY_UNMAP] = 1;
}

/* Open, type-check, size and lock the image: 0 or an error in err. */
static int open_image(struct virtio_blk *b, const char *path, int inherited, char *err,
                      size_t err_len, uint64_t *bytes, struct stat *st)
{
    /* Stat first: opening a directory read-write fails with EISDIR, which
       would hide the real complaint. */
    if (inherited < 0 && stat(path, st) != 0) {
        fail(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (inherited < 0 && !S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
        fail(err, err_len, "%s: not a regular file or block device", path);
        return -1;
    }
    b->fd = inherited >= 0 ? fcntl(inherited, F_DUPFD_CLOEXEC, 3)
                           : open(path, (b->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (b->fd < 0) {
        if (!b->readonly && (errno == EACCES || errno == EROFS || errno == EPERM))
            fail(err, err_len, "%s: cannot open read-write: %s (add ,ro for a read-only disk)",
                 path, strerror(errno));
        else
            fail(err, err_len, "%s: %s", path, strerror(errno));
        return -1;
    }
    /* Check again what was opened, in case the path changed meanwhile. */
    if (fstat(b->fd, st) != 0 || (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode))) {
        fail(err, err_len, "%s: not a regular file or block device", path);
        return -1;
    }
    if (S_ISBLK(st->st_mode)) {
        if (ioctl(b->fd, BLKGETSIZE64, bytes) != 0) {
            fail(err, err_len, "%s: cannot read the device size: %s", path, strerror(errno));
            return -1;
        }
    } else {
        *bytes = (uint64_t)st->st_size;
    }
    if (*bytes % VIRTIO_BLK_SECTOR) {
        fail(err, err_len, "%s: size %llu is not a multiple of 512 bytes", path,
             (unsigned long long)*bytes);
        return -1;
    }
    if (flock(b->fd, (b->readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0 && errno == EWOULDBLOCK) {
        fail(err, err_len, "%s: in use by another VM or disk (the image is locked)", path);
        return -1;
    }
    return 0;
}

/* Start the workers with every signal blocked, so that process-directed
   signals go to the threads that handle them. */
static int start_workers(struct virtio_blk *b)
{
    sigset_t all, old;
    int r = 0;

    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    for (unsigned i = 0; i < VIRTIO_BLK_WORKERS; i++) {
        b->workers[i].b = b;
        r = pthread_create(&b->workers[i].thread, NULL, worker_main, &b->workers[i]);
        if (r != 0)
            break;
        b->nworkers++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return r;
}

static void stop_workers(struct virtio_blk *b)
{
    pthread_mutex_lock(&b->lock);
    b->stop = true;
    pthread_cond_broadcast(&b->work);
    pthread_mutex_unlock(&b->lock);
    /* Each finishes (and pushes) the request it holds before it looks at stop. */
    for (unsigned i = 0; i < b->nworkers; i++)
        pthread_join(b->workers[i].thread, NULL);
    b->nworkers = 0;
}

struct virtio_blk *virtio_blk_create(const char *path, bool readonly, char *err, size_t err_len)
{
    return virtio_blk_adopt(-1, path, readonly, err, err_len);
}

int virtio_blk_fd(struct virtio_blk *b)
{
    pthread_mutex_lock(&b->lock);
    int fd = b->fd;
    pthread_mutex_unlock(&b->lock);
    return fd;
}

struct virtio_blk *virtio_blk_adopt(int inherited, const char *path, bool readonly, char *err,
                                    size_t err_len)
{
    struct virtio_blk *b = calloc(1, sizeof(*b));
    uint64_t bytes = 0;
    struct stat st;
    bool discard = false;

    if (!b)
        return fail(err, err_len, "%s: out of memory", path);
    b->fd = -1;
    b->readonly = readonly;
    if (open_image(b, path, inherited, err, err_len, &bytes, &st) != 0) {
        if (b->fd >= 0)
            close(b->fd);
        free(b);
        return NULL;
    }
    b->capacity = bytes / VIRTIO_BLK_SECTOR;
    /* Punching a hole beyond the end of the file changes nothing, yet fails
       with EOPNOTSUPP where the file system cannot punch. Block devices
       refuse a range past their end, so they are never offered discard. */
    if (!readonly && S_ISREG(st.st_mode))
        discard = falloc(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, bytes,
                         VIRTIO_BLK_SECTOR) == 0;
    uint32_t granule = st.st_blksize >= (blksize_t)VIRTIO_BLK_SECTOR && st.st_blksize <= 65536
                           ? (uint32_t)st.st_blksize / VIRTIO_BLK_SECTOR
                           : 1;
    fill_config(b, discard, granule);
    make_id(b->id, path);

    b->ops = (struct virtio_device_ops){
        .device_id = VIRTIO_ID_BLOCK,
        .features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH |
                    (readonly ? VIRTIO_BLK_F_RO : 0) |
                    (discard ? VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES : 0),
        .num_queues = 1,
        .queue_size_max = VIRTIO_BLK_QUEUE_SIZE,
        .config_size = VIRTIO_BLK_CONFIG_SIZE,
        .config_read = blk_config_read,
        .config_write = blk_config_write,
        .activate = blk_activate,
        .notify = blk_notify,
        .reset = blk_reset,
        .save = blk_save,
        .restore = blk_restore,
    };

    if (pthread_mutex_init(&b->lock, NULL) != 0)
        goto no_lock;
    if (pthread_cond_init(&b->work, NULL) != 0)
        goto no_work;
    if (pthread_cond_init(&b->idle, NULL) != 0)
        goto no_idle;
    int r = start_workers(b);
    if (r != 0) {
        stop_workers(b);
        pthread_cond_destroy(&b->idle);
        pthread_cond_destroy(&b->work);
        pthread_mutex_destroy(&b->lock);
        close(b->fd);
        free(b);
        return fail(err, err_len, "%s: cannot start a worker thread: %s", path, strerror(r));
    }
    return b;

no_idle:
    pthread_cond_destroy(&b->work);
no_work:
    pthread_mutex_destroy(&b->lock);
no_lock:
    close(b->fd);
    free(b);
    return fail(err, err_len, "%s: cannot create a lock", path);
}

int virtio_blk_replace(struct virtio_blk *b, const char *path, char *err, size_t err_len)
{
    struct virtio_blk fresh = {.readonly = b->readonly, .fd = -1};
    uint64_t bytes = 0;
    struct stat st;

    if (open_image(&fresh, path, -1, err, err_len, &bytes, &st) != 0) {
        if (fresh.fd >= 0)
            close(fresh.fd);
        return -1;
    }
    pthread_mutex_lock(&b->lock);
    /* No request may be in service while the image changes under it. */
    bool was_paused = b->paused;
    b->paused = true;
    wait_idle(b);
    close(b->fd);
    b->fd = fresh.fd;
    b->capacity = bytes / VIRTIO_BLK_SECTOR;
    put_le64(b->config + VIRTIO_BLK_CFG_CAPACITY, b->capacity);
    make_id(b->id, path);
    b->paused = was_paused;
    pthread_cond_broadcast(&b->work);
    struct virtio_device *vdev = b->vdev;
    pthread_mutex_unlock(&b->lock);
    /* The guest rereads the capacity: a media change, as on a real drive. */
    if (vdev)
        virtio_config_changed(vdev);
    return 0;
}

const struct virtio_device_ops *virtio_blk_ops(const struct virtio_blk *b)
{
    return &b->ops;
}

void virtio_blk_bind(struct virtio_blk *b, struct virtio_device *vdev)
{
    pthread_mutex_lock(&b->lock);
    b->vdev = vdev;
    pthread_mutex_unlock(&b->lock);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    if (!b)
        return;
    stop_workers(b);
    pthread_cond_destroy(&b->idle);
    pthread_cond_destroy(&b->work);
    pthread_mutex_destroy(&b->lock);
    close(b->fd);
    free(b);
}

uint64_t virtio_blk_capacity(const struct virtio_blk *b)
{
    return b->capacity;
}

bool virtio_blk_can_discard(const struct virtio_blk *b)
{
    return b->ops.features & VIRTIO_BLK_F_DISCARD;
}
