/* SPDX-License-Identifier: MIT */
/*
 * virtio_rng.c - the entropy device (see virtio_rng.h): pop, fill the
 * writable buffers from getrandom(2), push.
 */
#include "devices/virtio_rng.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/random.h>

struct virtio_rng {
    pthread_mutex_t lock; /* guards everything below */
    struct virtio_device *vdev;
    bool active;            /* between activate and reset */
    struct virtq_chain req; /* the chain being served (~8 KiB: off the stack) */
};

/* Fill [buf, buf+len) from getrandom: bytes obtained (len unless it failed). */
static size_t fill_random(uint8_t *buf, size_t len)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = getrandom(buf + done, len - done, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n; /* short when a signal interrupts a request over 256 bytes */
    }
    return done;
}

/* The writable buffers of c, in order, up to VIRTIO_RNG_MAX_REQUEST bytes. */
static uint32_t serve(const struct virtq_chain *c)
{
    size_t total = 0;

    for (unsigned i = 0; i < c->nin && total < VIRTIO_RNG_MAX_REQUEST; i++) {
        size_t want = c->in[i].iov_len;
        size_t got;

        if (want > VIRTIO_RNG_MAX_REQUEST - total)
            want = VIRTIO_RNG_MAX_REQUEST - total;
        got = fill_random(c->in[i].iov_base, want);
        total += got;
        if (got < want)
            break;
    }
    return (uint32_t)total;
}

static void rng_notify(void *opaque, unsigned q)
{
    struct virtio_rng *r = opaque;

    if (q != 0)
        return;
    pthread_mutex_lock(&r->lock);
    while (r->active && virtio_queue_pop(r->vdev, 0, &r->req))
        virtio_queue_push(r->vdev, 0, &r->req, serve(&r->req));
    pthread_mutex_unlock(&r->lock);
}

static void rng_activate(void *opaque, uint64_t features)
{
    struct virtio_rng *r = opaque;

    (void)features;
    pthread_mutex_lock(&r->lock);
    r->active = r->vdev != NULL;
    pthread_mutex_unlock(&r->lock);
    /* Requests made available before DRIVER_OK are served now. */
    rng_notify(r, 0);
}

static void rng_reset(void *opaque)
{
    struct virtio_rng *r = opaque;

    pthread_mutex_lock(&r->lock); /* waits for a request in flight */
    r->active = false;
    pthread_mutex_unlock(&r->lock);
}

static void rng_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    (void)opaque;
    (void)offset;
    (void)buf;
    (void)len; /* config_size is 0: never called */
}

static void rng_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    (void)opaque;
    (void)offset;
    (void)buf;
    (void)len;
}

static const struct virtio_device_ops rng_ops = {
    .device_id = VIRTIO_ID_RNG,
    .features = 0,
    .num_queues = 1,
    .queue_size_max = VIRTIO_RNG_QUEUE_SIZE,
    .config_size = 0,
    .config_read = rng_config_read,
    .config_write = rng_config_write,
    .activate = rng_activate,
    .notify = rng_notify,
    .reset = rng_reset,
};

const struct virtio_device_ops *virtio_rng_ops(void)
{
    return &rng_ops;
}

struct virtio_rng *virtio_rng_create(void)
{
    struct virtio_rng *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (pthread_mutex_init(&r->lock, NULL) != 0) {
        free(r);
        return NULL;
    }
    return r;
}

void virtio_rng_bind(struct virtio_rng *r, struct virtio_device *vdev)
{
    pthread_mutex_lock(&r->lock);
    r->vdev = vdev;
    pthread_mutex_unlock(&r->lock);
}

void virtio_rng_destroy(struct virtio_rng *r)
{
    if (!r)
        return;
    pthread_mutex_destroy(&r->lock);
    free(r);
}
