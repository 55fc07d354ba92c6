/* SPDX-License-Identifier: MIT */
/*
 * virtio_vsock.h - the socket device (virtio 1.2, "Socket Device", device ID
 * 19), stream sockets only, between the guest (its CID from config space)
 * and the host (CID 2). Its host ends are stream sockets (fds) that a
 * backend hands in or makes on request: vsock_uds.c, Firecracker's hybrid
 * design over Unix sockets.
 *
 * Queues: 0 rx (device -> guest packets), 1 tx (guest -> device), 2 event.
 * No feature bits are offered: stream only. Config space: le64 guest_cid,
 * read-only.
 *
 * Every packet is a 44-byte header (src/dst CID and port, len, type, op,
 * flags, buf_alloc, fwd_cnt) followed by len payload bytes (OP_RW only).
 * A connection is (host port, guest port):
 *   - guest-initiated: the guest's REQUEST to CID 2 port P makes the device
 *     ask host->connect(P) for a socket; none: RST. Else RESPONSE.
 *   - host-initiated: virtio_vsock_host_connect(fd, P) sends REQUEST from a
 *     fresh host port (from 2^30 up) to the guest's port P; the guest's
 *     RESPONSE writes "OK <host port>\n" to fd, its RST closes fd.
 * Flow control (5.10.6.3): each side advertises buf_alloc and fwd_cnt in
 * every header. The device buffers at most VIRTIO_VSOCK_BUF_ALLOC bytes of
 * guest data per connection (the socket may be slow or never read): a
 * guest that sends past the credit it was given has its connection reset.
 * The device sends the guest at most the guest's own credit, reads the host
 * socket only then (so a flooding host peer is held back by its socket),
 * asks for credit (CREDIT_REQUEST) when it has data but none, and tells the
 * guest of freed space (CREDIT_UPDATE) once the guest's view of it falls
 * below half. Half-close: the guest's SHUTDOWN SEND becomes shutdown(SHUT_WR)
 * once its buffered data is written, RCV becomes shutdown(SHUT_RD); the
 * host's EOF becomes SHUTDOWN SEND, its full close SHUTDOWN RCV|SEND. Both
 * directions shut: RST, and the socket is closed. A write error on the
 * socket resets the connection.
 *
 * Hostile guests: a tx chain shorter than a header, with a len past its
 * bytes or above VIRTIO_VSOCK_MAX_PKT, a wrong source CID, an unknown type
 * or op are dropped and counted (malformed); packets for no connection get
 * an RST (none for an RST); an rx chain with readable buffers or too small
 * for a header goes back unused. Nothing stops the VM.
 *
 * Threads: the transport callbacks run on vCPU threads; they only record
 * and call host->kick. Everything else (virtio_vsock_run, fd events, host
 * connects) runs on the backend's worker thread. One mutex guards all
 * state; reset closes every connection.
 *
 * Snapshots: no connection survives one (their sockets belong to the old
 * process). A restored device sends VIRTIO_VSOCK_EVENT_TRANSPORT_RESET on
 * the event queue, as Firecracker does, so the guest drops its sockets.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_VSOCK_H
#define DUVISOR_DEVICES_VIRTIO_VSOCK_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio.h"

#define VIRTIO_ID_VSOCK 19u

enum { VIRTIO_VSOCK_RXQ = 0, VIRTIO_VSOCK_TXQ = 1, VIRTIO_VSOCK_EVQ = 2 };

#define VIRTIO_VSOCK_HDR_LEN          44u
#define VIRTIO_VSOCK_HOST_CID         2u
#define VIRTIO_VSOCK_MIN_CID          3u          /* 0..2 are reserved, and -1 is "any" */
#define VIRTIO_VSOCK_MAX_CID          0xfffffffeu /* Linux's CIDs are 32-bit */
#define VIRTIO_VSOCK_BUF_ALLOC        (256u << 10)
#define VIRTIO_VSOCK_MAX_PKT          (64u << 10) /* Linux's VIRTIO_VSOCK_MAX_PKT_BUF_SIZE */
#define VIRTIO_VSOCK_MAX_CONNS        128u
#define VIRTIO_VSOCK_QUEUE_SIZE       256u
#define VIRTIO_VSOCK_CONFIG_SIZE      8u
#define VIRTIO_VSOCK_FIRST_LOCAL_PORT (1u << 30)

enum {
    VIRTIO_VSOCK_TYPE_STREAM = 1,
    VIRTIO_VSOCK_OP_INVALID = 0,
    VIRTIO_VSOCK_OP_REQUEST = 1,
    VIRTIO_VSOCK_OP_RESPONSE = 2,
    VIRTIO_VSOCK_OP_RST = 3,
    VIRTIO_VSOCK_OP_SHUTDOWN = 4,
    VIRTIO_VSOCK_OP_RW = 5,
    VIRTIO_VSOCK_OP_CREDIT_UPDATE = 6,
    VIRTIO_VSOCK_OP_CREDIT_REQUEST = 7,
    VIRTIO_VSOCK_SHUTDOWN_RCV = 1,
    VIRTIO_VSOCK_SHUTDOWN_SEND = 2,
    VIRTIO_VSOCK_EVENT_TRANSPORT_RESET = 0,
};

/* A packet header, in host order. */
struct vsock_hdr {
    uint64_t src_cid, dst_cid;
    uint32_t src_port, dst_port, len;
    uint16_t type, op;
    uint32_t flags, buf_alloc, fwd_cnt;
};
void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VIRTIO_VSOCK_HDR_LEN]);
void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VIRTIO_VSOCK_HDR_LEN]);

/* Epoll-style interest a connection's socket has (the backend's loop). */
#define VSOCK_WATCH_IN  1u
#define VSOCK_WATCH_OUT 4u

/* The backend, called with the device's lock held (on the worker thread,
   but kick also on vCPU threads): none may call back into the device. */
struct vsock_host_ops {
    /* A nonblocking stream socket connected to host port `port`, or -1. */
    int (*connect)(void *opaque, uint32_t port);
    /* Tell the loop fd wants events (VSOCK_WATCH_*; 0: only hang-ups and
       errors), with cookie for virtio_vsock_fd_event. */
    void (*watch)(void *opaque, int fd, unsigned events, void *cookie);
    /* fd is about to be closed (or left alone for good): out of the loop. */
    void (*unwatch)(void *opaque, int fd);
    /* Make the worker call virtio_vsock_run soon. Any thread. */
    void (*kick)(void *opaque);
    void *opaque;
};

struct virtio_vsock_stats {
    uint64_t rx_packets, rx_bytes; /* to the guest (bytes: payload) */
    uint64_t tx_packets, tx_bytes; /* from the guest */
    uint64_t conns_opened;         /* connections established, both ways */
    uint64_t conns_refused;        /* guest connects no host listener took, and host
                                      connects the guest refused */
    uint64_t rst_sent;
    uint64_t malformed;     /* tx packets and rx chains dropped, see above */
    uint64_t credit_resets; /* guest connections reset for sending past credit */
};

struct virtio_vsock;

/* guest_cid in [VIRTIO_VSOCK_MIN_CID, VIRTIO_VSOCK_MAX_CID]; host copied.
   NULL on a bad CID or no memory. */
struct virtio_vsock *virtio_vsock_create(uint64_t guest_cid, const struct vsock_host_ops *host);
const struct virtio_device_ops *virtio_vsock_ops(void);
/* The transport instance v serves. Before the guest can reach it. */
void virtio_vsock_bind(struct virtio_vsock *v, struct virtio_device *vdev);

/* --- the worker thread -------------------------------------------------------------- */

/* Serve the queues: every tx packet, then rx packets while the guest has
   buffers and something is owed to it. */
void virtio_vsock_run(struct virtio_vsock *v);
/* The loop saw events (VSOCK_WATCH_*, hup, err) on a connection's socket. */
void virtio_vsock_fd_event(struct virtio_vsock *v, void *cookie, unsigned events, bool hup,
                           bool err);
/* A host process asks for guest port `port` on socket fd (nonblocking),
   which the device now owns: 0, or -1 when it cannot (fd is closed). */
int virtio_vsock_host_connect(struct virtio_vsock *v, int fd, uint32_t port);

void virtio_vsock_get_stats(struct virtio_vsock *v, struct virtio_vsock_stats *out);
/* The VM pauses (true) or resumes: while paused guest memory is left alone
   and sockets wait. Any thread. */
void virtio_vsock_pause(struct virtio_vsock *v, bool paused);
/* After the worker stopped and the transport is destroyed: closes every
   connection. NULL is fine. */
void virtio_vsock_destroy(struct virtio_vsock *v);

#endif /* DUVISOR_DEVICES_VIRTIO_VSOCK_H */
