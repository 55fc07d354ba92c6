/* SPDX-License-Identifier: MIT */
/*
 * virtio_net.h - the network device (virtio 1.2, "Network Device", device
 * ID 1) as Linux's virtio_net driver uses it without offloads.
 *
 * Queues: 0 receiveq, 1 transmitq; no control queue, no multiqueue.
 * Features offered: VIRTIO_NET_F_MAC (the config space holds the MAC),
 * VIRTIO_NET_F_STATUS (the link is always up) and VIRTIO_NET_F_MTU (1500).
 * No checksum or segmentation offload and no mergeable receive buffers, so
 * every frame travels in one chain behind a struct virtio_net_hdr (12 bytes
 * with VIRTIO_F_VERSION_1, 10 without) that the device zeroes on receive
 * (num_buffers = 1) and skips on transmit.
 *
 * Config space (little endian): mac[6] at 0, status (le16) at 6,
 * max_virtqueue_pairs (le16, 1) at 8, mtu (le16) at 10. Writes are ignored.
 *
 * Transmit (guest -> network): on a kick of queue 1 every available chain
 * is popped, the frame after the header is gathered and handed to
 * backend->send, and the chain is returned with 0 bytes written. A chain
 * with writable buffers, a frame shorter than an Ethernet header, or one
 * longer than VIRTIO_NET_MAX_FRAME is dropped and counted (tx_malformed).
 *
 * Receive (network -> guest): virtio_net_receive() puts the frame into the
 * next available receive chain (header + frame) and returns it to the
 * guest. When no chain is available the frame waits in a backlog of
 * VIRTIO_NET_BACKLOG frames, flushed as soon as the guest kicks queue 0;
 * beyond that frames are dropped (rx_dropped_backlog). A frame larger than
 * the chain's writable space is dropped (rx_dropped_too_big); the chain is
 * kept for the next frame. A receive chain with readable buffers, or too
 * small for any frame, goes back unused with 0 bytes written
 * (rx_malformed). Before DRIVER_OK and after a reset, frames are dropped
 * (rx_dropped_inactive) and the backlog is emptied.
 *
 * Wiring:
 *     struct net_backend be = net_slirp_backend(s);     (or net_tap_backend)
 *     struct virtio_net *n = virtio_net_create(mac, &be);
 *     struct virtio_device *d = virtio_create(virtio_net_ops(), n, mem, irq, irq_opaque);
 *     virtio_net_bind(n, d);                 (before the guest can reach d)
 *     net_slirp_attach(s, n);                (the backend starts delivering)
 *     ...
 *     net_slirp_destroy(s); virtio_destroy(d); virtio_net_destroy(n);
 *
 * Threads: the transport callbacks run on vCPU threads; virtio_net_receive()
 * runs on the backend's thread (any thread). One mutex serialises the
 * receive side, another the transmit side, so frames keep their order;
 * backend->send is called on the vCPU thread that kicked, with the
 * transmit mutex held, and must not block for long.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_NET_H
#define DUVISOR_DEVICES_VIRTIO_NET_H

#include "devices/virtio.h"

/* Device feature bits (virtio 1.2, 5.1.3). */
#define VIRTIO_NET_F_MTU    (1ull << 3)
#define VIRTIO_NET_F_MAC    (1ull << 5)
#define VIRTIO_NET_F_STATUS (1ull << 16)

#define VIRTIO_NET_S_LINK_UP 1u

#define VIRTIO_NET_HDR_LEN     12u    /* with VIRTIO_F_VERSION_1 */
#define VIRTIO_NET_MTU         1500u  /* offered through VIRTIO_NET_F_MTU */
#define VIRTIO_NET_MIN_FRAME   14u    /* an Ethernet header */
#define VIRTIO_NET_MAX_FRAME   65535u /* largest frame either way */
#define VIRTIO_NET_BACKLOG     256u   /* received frames held while no buffer is posted */
#define VIRTIO_NET_QUEUE_SIZE  256u
#define VIRTIO_NET_CONFIG_SIZE 12u

enum { VIRTIO_NET_RXQ = 0, VIRTIO_NET_TXQ = 1 };

/* The other end of the wire; implemented by net_slirp.c and net_tap.c. */
struct net_backend {
    /* A frame from the guest (Ethernet header onwards). 0 or -1 (counted as
       tx_errors). Called on a vCPU thread. NULL drops every frame. */
    int (*send)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
};

/* Counters since creation, each only ever growing. */
struct virtio_net_stats {
    uint64_t tx_frames, tx_bytes; /* handed to the backend (bytes without header) */
    uint64_t tx_errors;           /* the backend refused */
    uint64_t tx_malformed;        /* chains dropped, see above */
    uint64_t rx_frames, rx_bytes; /* delivered to the guest */
    uint64_t rx_dropped_backlog;  /* no buffer posted and the backlog was full */
    uint64_t rx_dropped_too_big;  /* larger than the posted buffer (or the maximum) */
    uint64_t rx_dropped_inactive; /* the driver was not running */
    uint64_t rx_malformed;        /* receive chains returned unused */
};

struct virtio_net;

/* mac must be a unicast address; backend is copied (NULL: drop transmitted
   frames). NULL on no memory. */
struct virtio_net *virtio_net_create(const uint8_t mac[6], const struct net_backend *backend);
/* The transport callbacks; their opaque is the struct virtio_net. */
const struct virtio_device_ops *virtio_net_ops(void);
/* The transport instance n serves. Before the guest can reach it. */
void virtio_net_bind(struct virtio_net *n, struct virtio_device *vdev);
/* A frame from the network for the guest; copied before returning. Any thread. */
void virtio_net_receive(struct virtio_net *n, const uint8_t *frame, size_t len);
void virtio_net_get_stats(struct virtio_net *n, struct virtio_net_stats *out);
/* The VM pauses (true) or resumes: while paused received frames wait in the
   backlog (or are dropped, counted, when it is full) and nothing is written
   to guest memory; resuming delivers them. Any thread. */
void virtio_net_pause(struct virtio_net *n, bool paused);
/* After the backend stopped delivering and the transport is destroyed. NULL is fine. */
void virtio_net_destroy(struct virtio_net *n);

#endif /* DUVISOR_DEVICES_VIRTIO_NET_H */
