/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.c - the network device (see virtio_net.h): transmit gathers
 * the frame behind the header and hands it to the backend; receive writes
 * a zeroed header and the frame into the next posted chain, or parks the
 * frame in a bounded backlog until the guest posts one.
 */
#include "devices/virtio_net.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/state.h"

struct rx_frame {
    uint8_t *data;
    size_t len;
};

struct virtio_net {
    uint8_t mac[6];
    struct net_backend backend;

    /* Receive side: rx_lock guards these. */
    pthread_mutex_t rx_lock;
    struct virtio_device *rx_vdev;
    bool rx_active;
    size_t rx_hdr_len;
    bool rx_held;   /* rx_chain was popped and is still unused */
    bool rx_paused; /* the VM is paused: frames wait in the backlog */
    struct virtq_chain rx_chain;
    struct rx_frame backlog[VIRTIO_NET_BACKLOG];
    unsigned backlog_head, backlog_count;

    /* Transmit side: tx_lock guards these. */
    pthread_mutex_t tx_lock;
    struct virtio_device *tx_vdev;
    bool tx_active;
    size_t tx_hdr_len;
    struct virtq_chain tx_chain;
    uint8_t tx_buf[VIRTIO_NET_MAX_FRAME];

    struct virtio_net_stats stats; /* rx_* under rx_lock, tx_* under tx_lock */
};

/* --- receive ---------------------------------------------------------------------- */

enum deliver_result { DELIVERED, NO_BUFFER, DROPPED };

/* Put one frame into the guest's next receive chain. Under rx_lock, active. */
static enum deliver_result deliver(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    struct virtq_chain *c = &n->rx_chain;

    while (!n->rx_held) {
        if (!virtio_queue_pop(n->rx_vdev, VIRTIO_NET_RXQ, c))
            return NO_BUFFER;
        if (c->nout == 0 && c->in_len >= n->rx_hdr_len + VIRTIO_NET_MIN_FRAME) {
            n->rx_held = true;
        } else {
            /* readable buffers, or no room for any frame: give it back unused */
            n->stats.rx_malformed++;
            virtio_queue_push(n->rx_vdev, VIRTIO_NET_RXQ, c, 0);
        }
    }
    if (len > c->in_len - n->rx_hdr_len) {
        n->stats.rx_dropped_too_big++; /* the chain stays for the next frame */
        return DROPPED;
    }

    /* No offloads: flags, gso_type, hdr_len, gso_size, csum_start and
       csum_offset are 0; num_buffers (le16 at 10, VERSION_1 only) is 1. */
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = {0};
    if (n->rx_hdr_len == VIRTIO_NET_HDR_LEN)
        hdr[10] = 1;
    virtq_write_in(c, 0, hdr, n->rx_hdr_len);
    virtq_write_in(c, n->rx_hdr_len, frame, len);
    n->rx_held = false;
    virtio_queue_push(n->rx_vdev, VIRTIO_NET_RXQ, c, (uint32_t)(n->rx_hdr_len + len));
    n->stats.rx_frames++;
    n->stats.rx_bytes += len;
    return DELIVERED;
}

static void backlog_pop(struct virtio_net *n)
{
    free(n->backlog[n->backlog_head].data);
    n->backlog[n->backlog_head].data = NULL;
    n->backlog_head = (n->backlog_head + 1) % VIRTIO_NET_BACKLOG;
    n->backlog_count--;
}

/* Deliver parked frames, oldest first, while the guest has buffers. Under rx_lock. */
static void backlog_flush(struct virtio_net *n)
{
    while (n->rx_active && !n->rx_paused && n->backlog_count) {
        struct rx_frame *f = &n->backlog[n->backlog_head];

        if (deliver(n, f->data, f->len) == NO_BUFFER)
            return;
        backlog_pop(n);
    }
}

static void backlog_clear(struct virtio_net *n)
{
    while (n->backlog_count)
        backlog_pop(n);
}

/* Park a frame, or drop it (counted) when the backlog is full. Under rx_lock. */
static void backlog_push(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    uint8_t *copy;

    if (n->backlog_count == VIRTIO_NET_BACKLOG || !(copy = malloc(len))) {
        n->stats.rx_dropped_backlog++;
        return;
    }
    memcpy(copy, frame, len);
    unsigned tail = (n->backlog_head + n->backlog_count) % VIRTIO_NET_BACKLOG;
    n->backlog[tail] = (struct rx_frame){copy, len};
    n->backlog_count++;
}

void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    if (len < VIRTIO_NET_MIN_FRAME)
        return; /* not an Ethernet frame */
    pthread_mutex_lock(&n->rx_lock);
    if (!n->rx_active) {
        n->stats.rx_dropped_inactive++;
    } else if (len > VIRTIO_NET_MAX_FRAME) {
        n->stats.rx_dropped_too_big++;
    } else {
        backlog_flush(n);
        if (n->backlog_count || n->rx_paused || deliver(n, frame, len) == NO_BUFFER)
            backlog_push(n, frame, len);
    }
    pthread_mutex_unlock(&n->rx_lock);
}

void virtio_net_pause(struct virtio_net *n, bool paused)
{
    /* Delivery happens under rx_lock, so once it is taken here no frame is
       half-way into guest memory. Transmit needs nothing: only vCPUs kick it. */
    pthread_mutex_lock(&n->rx_lock);
    n->rx_paused = paused;
    if (paused && n->rx_held) {
        /* A posted buffer goes back to the ring, so a snapshot taken now
           neither loses it nor hands it out twice. */
        virtio_queue_unpop(n->rx_vdev, VIRTIO_NET_RXQ);
        n->rx_held = false;
    }
    backlog_flush(n);
    pthread_mutex_unlock(&n->rx_lock);
}

/* --- transmit --------------------------------------------------------------------- */

/* One transmit chain: the frame it carries goes to the backend. Under tx_lock. */
static void transmit(struct virtio_net *n, const struct virtq_chain *c)
{
    size_t hdr = n->tx_hdr_len;

    if (c->nin || c->out_len < hdr + VIRTIO_NET_MIN_FRAME ||
        c->out_len - hdr > VIRTIO_NET_MAX_FRAME) {
        n->stats.tx_malformed++;
        return;
    }
    size_t len = virtq_read_out(c, hdr, n->tx_buf, c->out_len - hdr);
    if (!n->backend.send || n->backend.send(n->backend.opaque, n->tx_buf, len) != 0) {
        n->stats.tx_errors++;
        return;
    }
    n->stats.tx_frames++;
    n->stats.tx_bytes += len;
}

static void tx_kick(struct virtio_net *n)
{
    pthread_mutex_lock(&n->tx_lock);
    while (n->tx_active && virtio_queue_pop(n->tx_vdev, VIRTIO_NET_TXQ, &n->tx_chain)) {
        transmit(n, &n->tx_chain);
        virtio_queue_push(n->tx_vdev, VIRTIO_NET_TXQ, &n->tx_chain, 0);
    }
    pthread_mutex_unlock(&n->tx_lock);
}

static void rx_kick(struct virtio_net *n)
{
    pthread_mutex_lock(&n->rx_lock);
    backlog_flush(n);
    pthread_mutex_unlock(&n->rx_lock);
}

/* --- transport callbacks ---------------------------------------------------------- */

static void net_notify(void *opaque, unsigned q)
{
    struct virtio_net *n = opaque;

    if (q == VIRTIO_NET_TXQ)
        tx_kick(n);
    else if (q == VIRTIO_NET_RXQ)
        rx_kick(n);
}

static void net_activate(void *opaque, uint64_t features)
{
    struct virtio_net *n = opaque;
    size_t hdr = (features & VIRTIO_F_VERSION_1) ? VIRTIO_NET_HDR_LEN : VIRTIO_NET_HDR_LEN - 2;

    pthread_mutex_lock(&n->rx_lock);
    n->rx_active = n->rx_vdev != NULL;
    n->rx_hdr_len = hdr;
    n->rx_held = false;
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock);
    n->tx_active = n->tx_vdev != NULL;
    n->tx_hdr_len = hdr;
    pthread_mutex_unlock(&n->tx_lock);
    /* Frames queued for transmit before DRIVER_OK go out now. */
    tx_kick(n);
}

static void net_reset(void *opaque)
{
    struct virtio_net *n = opaque;

    pthread_mutex_lock(&n->rx_lock); /* waits for a delivery in flight */
    n->rx_active = false;
    n->rx_held = false;
    backlog_clear(n);
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock); /* waits for a transmit in flight */
    n->tx_active = false;
    pthread_mutex_unlock(&n->tx_lock);
}

static void net_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_net *n = opaque;
    uint8_t cfg[VIRTIO_NET_CONFIG_SIZE] = {0};

    memcpy(cfg, n->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP; /* status, le16 */
    cfg[8] = 1;                    /* max_virtqueue_pairs, le16 */
    cfg[10] = VIRTIO_NET_MTU & 0xff;
    cfg[11] = VIRTIO_NET_MTU >> 8;
    if (offset <= sizeof(cfg) && len <= sizeof(cfg) - offset)
        memcpy(buf, cfg + offset, len);
}

static void net_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    (void)opaque; /* the MAC is read-only with VERSION_1; status and mtu always are */
    (void)offset;
    (void)buf;
    (void)len;
}

/* Snapshots: the frames received while paused, so none is lost across a
   live upgrade or a restore. */
static void net_save(void *opaque, struct state_writer *w)
{
    struct virtio_net *n = opaque;

    pthread_mutex_lock(&n->rx_lock);
    state_put_u32(w, n->backlog_count);
    for (unsigned i = 0; i < n->backlog_count; i++) {
        const struct rx_frame *f = &n->backlog[(n->backlog_head + i) % VIRTIO_NET_BACKLOG];
        state_put_u32(w, (uint32_t)f->len);
        state_put_bytes(w, f->data, f->len);
    }
    pthread_mutex_unlock(&n->rx_lock);
}

static bool net_restore(void *opaque, struct state_reader *r)
{
    struct virtio_net *n = opaque;
    static uint8_t frame[VIRTIO_NET_MAX_FRAME]; /* the VMM thread restores one device at a time */
    unsigned count = state_get_count(r, VIRTIO_NET_BACKLOG, "held network frames");

    pthread_mutex_lock(&n->rx_lock);
    backlog_clear(n);
    for (unsigned i = 0; i < count && state_reader_ok(r); i++) {
        uint32_t len = state_get_count(r, VIRTIO_NET_MAX_FRAME, "network frame bytes");
        if (state_get_bytes(r, frame, len) && len >= VIRTIO_NET_MIN_FRAME)
            backlog_push(n, frame, len);
    }
    pthread_mutex_unlock(&n->rx_lock);
    return state_reader_ok(r);
}

static const struct virtio_device_ops net_ops = {
    .device_id = VIRTIO_ID_NET,
    .features = VIRTIO_NET_F_MAC | VIRTIO_NET_F_STATUS | VIRTIO_NET_F_MTU,
    .num_queues = 2,
    .queue_size_max = VIRTIO_NET_QUEUE_SIZE,
    .config_size = VIRTIO_NET_CONFIG_SIZE,
    .config_read = net_config_read,
    .config_write = net_config_write,
    .activate = net_activate,
    .notify = net_notify,
    .reset = net_reset,
    .save = net_save,
    .restore = net_restore,
};

const struct virtio_device_ops *virtio_net_ops(void)
{
    return &net_ops;
}

/* --- lifecycle -------------------------------------------------------------------- */

struct virtio_net *virtio_net_create(const uint8_t mac[6], const struct net_backend *backend)
{
    struct virtio_net *n = calloc(1, sizeof(*n));

    if (!n)
        return NULL;
    if (pthread_mutex_init(&n->rx_lock, NULL) != 0) {
        free(n);
        return NULL;
    }
    if (pthread_mutex_init(&n->tx_lock, NULL) != 0) {
        pthread_mutex_destroy(&n->rx_lock);
        free(n);
        return NULL;
    }
    memcpy(n->mac, mac, 6);
    if (backend)
        n->backend = *backend;
    n->rx_hdr_len = n->tx_hdr_len = VIRTIO_NET_HDR_LEN;
    return n;
}

void virtio_net_bind(struct virtio_net *n, struct virtio_device *vdev)
{
    pthread_mutex_lock(&n->rx_lock);
    n->rx_vdev = vdev;
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock);
    n->tx_vdev = vdev;
    pthread_mutex_unlock(&n->tx_lock);
}

void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out)
{
    struct virtio_net_stats s;

    pthread_mutex_lock(&n->rx_lock);
    s.rx_frames = n->stats.rx_frames;
    s.rx_bytes = n->stats.rx_bytes;
    s.rx_dropped_backlog = n->stats.rx_dropped_backlog;
    s.rx_dropped_too_big = n->stats.rx_dropped_too_big;
    s.rx_dropped_inactive = n->stats.rx_dropped_inactive;
    s.rx_malformed = n->stats.rx_malformed;
    pthread_mutex_unlock(&n->rx_lock);
    pthread_mutex_lock(&n->tx_lock);
    s.tx_frames = n->stats.tx_frames;
    s.tx_bytes = n->stats.tx_bytes;
    s.tx_errors = n->stats.tx_errors;
    s.tx_malformed = n->stats.tx_malformed;
    pthread_mutex_unlock(&n->tx_lock);
    *out = s;
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    backlog_clear(n);
    pthread_mutex_destroy(&n->tx_lock);
    pthread_mutex_destroy(&n->rx_lock);
    free(n);
}
