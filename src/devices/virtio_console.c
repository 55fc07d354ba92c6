/* SPDX-License-Identifier: MIT */
/*
 * virtio_console.c - the single-port console device (see virtio_console.h).
 *
 * Receive side: rx_lock guards `rx_held` and the chain it refers to; the
 * only states are "no chain" and "one popped chain, nothing written into it
 * yet", because a chain that receives any byte is pushed before the lock is
 * released. Transmit side: tx_lock guards a pop-write-push loop, so output
 * leaves in the guest's order.
 */
#include "devices/virtio_console.h"

#include "util/state.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct virtio_console {
    struct virtio_console_backend backend;

    pthread_mutex_t rx_lock; /* guards the rx_ fields */
    struct virtio_device *rx_vdev;
    bool rx_active;              /* between activate and reset */
    bool rx_held;                /* rx_chain was popped and is not returned yet */
    bool rx_paused;              /* the VM is paused: input waits in the backend */
    struct virtq_chain rx_chain; /* ~8 KiB: kept off the vCPU stacks */

    pthread_mutex_t tx_lock; /* guards the tx_ fields */
    struct virtio_device *tx_vdev;
    bool tx_active;
    struct virtq_chain tx_chain;

    _Atomic uint32_t size;    /* cols | rows << 16, read by config space (F_SIZE) */
    _Atomic bool guest_wrote; /* a transmit chain had bytes, ever (saved) */
};

/* Read backend input into chain's writable buffers: bytes read. Stops at the
   first short read (the backend has no more now). */
static uint32_t rx_read(struct virtio_console *c, const struct virtq_chain *chain)
{
    uint32_t total = 0;

    if (!c->backend.read)
        return 0;
    for (unsigned i = 0; i < chain->nin; i++) {
        size_t want = chain->in[i].iov_len;
        size_t got;

        if (want > UINT32_MAX - total)
            want = UINT32_MAX - total; /* the used length is 32 bits */
        if (want == 0)
            continue;
        got = c->backend.read(c->backend.opaque, chain->in[i].iov_base, want);
        if (got > want)
            got = want; /* a backend bug: never report bytes the buffer does not hold */
        total += (uint32_t)got;
        if (got < want)
            break;
    }
    return total;
}

/* Move input into posted buffers until either runs out. rx_lock held. */
static void rx_fill(struct virtio_console *c)
{
    while (c->rx_active && !c->rx_paused) {
        uint32_t got;

        if (!c->rx_held) {
            if (!virtio_queue_pop(c->rx_vdev, VIRTIO_CONSOLE_RXQ, &c->rx_chain))
                return;
            c->rx_held = true;
        }
        got = rx_read(c, &c->rx_chain);
        if (got == 0 && c->rx_chain.in_len > 0)
            return; /* nothing to give: keep the chain for the next input */
        virtio_queue_push(c->rx_vdev, VIRTIO_CONSOLE_RXQ, &c->rx_chain, got);
        c->rx_held = false;
    }
}

/* Hand every available transmit chain to the backend. tx_lock held. The
   first output may open the backend's input (virtio_console_guest_wrote):
   then the receive side runs (tx_lock before rx_lock, never the reverse). */
static void tx_flush(struct virtio_console *c)
{
    bool first = false;
    while (c->tx_active && virtio_queue_pop(c->tx_vdev, VIRTIO_CONSOLE_TXQ, &c->tx_chain)) {
        for (unsigned i = 0; i < c->tx_chain.nout && c->backend.write; i++) {
            if (c->tx_chain.out[i].iov_len == 0)
                continue;
            if (!atomic_load(&c->guest_wrote))
                first = !atomic_exchange(&c->guest_wrote, true);
            c->backend.write(c->backend.opaque, c->tx_chain.out[i].iov_base,
                             c->tx_chain.out[i].iov_len);
        }
        virtio_queue_push(c->tx_vdev, VIRTIO_CONSOLE_TXQ, &c->tx_chain, 0);
    }
    if (first) {
        pthread_mutex_lock(&c->rx_lock);
        rx_fill(c);
        pthread_mutex_unlock(&c->rx_lock);
    }
}

bool virtio_console_guest_wrote(const struct virtio_console *c)
{
    return atomic_load(&c->guest_wrote);
}

static void console_save(void *opaque, struct state_writer *w)
{
    const struct virtio_console *c = opaque;
    state_put_bool(w, atomic_load(&c->guest_wrote));
}

static bool console_restore(void *opaque, struct state_reader *r)
{
    struct virtio_console *c = opaque;
    atomic_store(&c->guest_wrote, state_get_bool(r));
    return state_reader_ok(r);
}

static void console_rx(struct virtio_console *c)
{
    pthread_mutex_lock(&c->rx_lock);
    rx_fill(c);
    pthread_mutex_unlock(&c->rx_lock);
}

static void console_tx(struct virtio_console *c)
{
    pthread_mutex_lock(&c->tx_lock);
    tx_flush(c);
    pthread_mutex_unlock(&c->tx_lock);
}

static void console_notify(void *opaque, unsigned q)
{
    struct virtio_console *c = opaque;

    if (q == VIRTIO_CONSOLE_RXQ)
        console_rx(c);
    else if (q == VIRTIO_CONSOLE_TXQ)
        console_tx(c);
}

static void console_activate(void *opaque, uint64_t features)
{
    struct virtio_console *c = opaque;

    pthread_mutex_lock(&c->rx_lock);
    c->rx_active = c->rx_vdev != NULL;
    rx_fill(c); /* input that arrived before the driver was ready */
    pthread_mutex_unlock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    c->tx_active = c->tx_vdev != NULL;
    tx_flush(c);
    pthread_mutex_unlock(&c->tx_lock);
    /* Linux reads cols and rows only on a config interrupt: one now, so a
       console that opens before any resize has the terminal's size. */
    if ((features & VIRTIO_CONSOLE_F_SIZE) && atomic_load(&c->size) && c->tx_vdev)
        virtio_config_changed(c->tx_vdev);
}

void virtio_console_pause(struct virtio_console *c, bool paused)
{
    pthread_mutex_lock(&c->rx_lock);
    c->rx_paused = paused;
    if (paused && c->rx_held) {
        virtio_queue_unpop(c->rx_vdev, VIRTIO_CONSOLE_RXQ); /* see virtio_net_pause */
        c->rx_held = false;
    }
    rx_fill(c);
    pthread_mutex_unlock(&c->rx_lock);
}

static void console_reset(void *opaque)
{
    struct virtio_console *c = opaque;

    /* Taking each lock waits for work in flight on that side. */
    pthread_mutex_lock(&c->rx_lock);
    c->rx_active = false;
    c->rx_held = false; /* the guest has forgotten the queue: nothing to return */
    pthread_mutex_unlock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    c->tx_active = false;
    pthread_mutex_unlock(&c->tx_lock);
}

static void put_le(uint8_t *p, uint32_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void console_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_console *c = opaque;
    uint8_t cfg[VIRTIO_CONSOLE_CONFIG_SIZE];
    uint32_t size = atomic_load(&c->size);

    put_le(cfg + 0, size & 0xffffu, 2); /* cols: only meaningful with F_SIZE */
    put_le(cfg + 2, size >> 16, 2);     /* rows */
    put_le(cfg + 4, 1, 4);              /* max_nr_ports: only meaningful with F_MULTIPORT */
    put_le(cfg + 8, 0, 4);              /* emerg_wr: write-only */
    if (offset <= sizeof(cfg) && len <= sizeof(cfg) - offset)
        memcpy(buf, cfg + offset, len);
}

static void console_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    /* Read-only without F_EMERG_WRITE. */
    (void)opaque;
    (void)offset;
    (void)buf;
    (void)len;
}

/* The device without features, and (--console hvc0) with F_SIZE: cols and
   rows in config space, a config interrupt when they change. */
#define CONSOLE_OPS(feature_bits)                                                                  \
    {                                                                                              \
        .device_id = VIRTIO_ID_CONSOLE, .features = (feature_bits), .num_queues = 2,               \
        .queue_size_max = VIRTIO_CONSOLE_QUEUE_SIZE, .config_size = VIRTIO_CONSOLE_CONFIG_SIZE,    \
        .config_read = console_config_read, .config_write = console_config_write,                  \
        .activate = console_activate, .notify = console_notify, .reset = console_reset,            \
        .save = console_save, .restore = console_restore,                                          \
    }
static const struct virtio_device_ops console_ops = CONSOLE_OPS(0);
static const struct virtio_device_ops sized_console_ops = CONSOLE_OPS(VIRTIO_CONSOLE_F_SIZE);

const struct virtio_device_ops *virtio_console_ops(void)
{
    return &console_ops;
}

const struct virtio_device_ops *virtio_console_sized_ops(void)
{
    return &sized_console_ops;
}

void virtio_console_resize(struct virtio_console *c, uint16_t cols, uint16_t rows)
{
    uint32_t size = cols | (uint32_t)rows << 16;
    if (atomic_exchange(&c->size, size) == size)
        return;
    pthread_mutex_lock(&c->rx_lock); /* rx_vdev is set once, by bind */
    struct virtio_device *vdev = c->rx_vdev;
    pthread_mutex_unlock(&c->rx_lock);
    if (vdev)
        virtio_config_changed(vdev);
}

struct virtio_console *virtio_console_create(const struct virtio_console_backend *backend)
{
    struct virtio_console *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    if (backend)
        c->backend = *backend;
    if (pthread_mutex_init(&c->rx_lock, NULL) != 0) {
        free(c);
        return NULL;
    }
    if (pthread_mutex_init(&c->tx_lock, NULL) != 0) {
        pthread_mutex_destroy(&c->rx_lock);
        free(c);
        return NULL;
    }
    return c;
}

void virtio_console_bind(struct virtio_console *c, struct virtio_device *vdev)
{
    pthread_mutex_lock(&c->rx_lock);
    c->rx_vdev = vdev;
    pthread_mutex_unlock(&c->rx_lock);
    pthread_mutex_lock(&c->tx_lock);
    c->tx_vdev = vdev;
    pthread_mutex_unlock(&c->tx_lock);
}

void virtio_console_input_ready(struct virtio_console *c)
{
    console_rx(c);
}

void virtio_console_destroy(struct virtio_console *c)
{
    if (!c)
        return;
    pthread_mutex_destroy(&c->tx_lock);
    pthread_mutex_destroy(&c->rx_lock);
    free(c);
}
