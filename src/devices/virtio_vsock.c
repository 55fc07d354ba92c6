/* SPDX-License-Identifier: MIT */
/*
 * virtio_vsock.c - the socket device (see virtio_vsock.h): a table of
 * connections, each a host socket and the two directions' counters, and
 * the packets owed to the guest, sent as rx buffers come.
 *
 * Guest -> host: an RW payload goes into the connection's ring (its buffer
 * of VIRTIO_VSOCK_BUF_ALLOC bytes, allocated on first use), then as much of
 * the ring as the socket takes is written; what it does not take waits for
 * the socket's OUT event. Host -> guest: the socket is read straight into
 * the guest's rx buffer, at most the guest's credit, only while the device
 * has an rx chain in hand; EAGAIN gives the chain back (unpop).
 */
#include "devices/virtio_vsock.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util/le.h"
#include "util/state.h"

/* RSTs owed for packets that belong to no connection. */
#define RST_RING 64u

enum conn_state {
    CONN_FREE,
    CONN_CONNECTING,  /* host-initiated: REQUEST owed or sent, RESPONSE awaited */
    CONN_ESTABLISHED, /* data may flow */
    CONN_DEAD,        /* the socket is closed; an RST is owed to the guest */
};

struct conn {
    enum conn_state state;
    int fd;
    uint32_t local_port, peer_port; /* host side, guest side */
    unsigned watched;               /* events registered with the loop; ~0u: not registered */
    void *cookie_self;

    /* control packets owed */
    bool owe_request, owe_response, owe_credit_update;
    enum {
        CREDIT_OK,
        CREDIT_ASK,
        CREDIT_ASKED
    } credit_request;      /* our stall on the guest's credit */
    uint32_t owe_shutdown; /* flags not yet sent */
    uint32_t shutdown_sent;

    /* guest -> host */
    uint8_t *ring; /* VIRTIO_VSOCK_BUF_ALLOC bytes, or NULL */
    uint32_t ring_head, ring_used;
    char greeting[24]; /* "OK <port>\n" before any data (host-initiated) */
    unsigned greeting_len, greeting_off;
    uint32_t rx_cnt;       /* guest bytes received */
    uint32_t fwd_cnt;      /* of them, written to the socket */
    uint32_t fwd_cnt_sent; /* the fwd_cnt the guest last heard */
    uint32_t guest_shut;   /* SHUTDOWN flags the guest sent */
    bool host_wr_shut;     /* shutdown(SHUT_WR) done */
    bool write_blocked;    /* the socket returned EAGAIN: wait for OUT */

    /* host -> guest */
    uint32_t tx_cnt; /* bytes sent to the guest */
    uint32_t peer_buf_alloc, peer_fwd_cnt;
    bool host_readable; /* the socket may have data, or EOF */
    bool host_eof;      /* read returned 0 */
    bool host_hup;      /* both directions closed by the host */
};

struct rst_entry {
    uint64_t src_cid; /* the CID the guest sent to */
    uint32_t src_port, dst_port;
};

struct virtio_vsock {
    uint64_t guest_cid;
    struct vsock_host_ops host;

    pthread_mutex_t lock; /* guards everything below */
    struct virtio_device *vdev;
    bool active, paused;
    bool owe_reset_event; /* restored: TRANSPORT_RESET goes on the event queue */
    bool drop_owed;       /* the driver reset the device: the worker closes every socket */
    uint32_t next_local_port;
    unsigned rr; /* where the next rx scan starts */
    struct conn conns[VIRTIO_VSOCK_MAX_CONNS];
    struct rst_entry rst[RST_RING];
    unsigned rst_head, rst_count;
    struct virtq_chain chain; /* ~8 KiB: kept off the stack */
    struct virtio_vsock_stats stats;
};

/* --- headers ------------------------------------------------------------------------- */

void vsock_hdr_decode(struct vsock_hdr *h, const uint8_t raw[VIRTIO_VSOCK_HDR_LEN])
{
    h->src_cid = get_le64(raw + 0);
    h->dst_cid = get_le64(raw + 8);
    h->src_port = get_le32(raw + 16);
    h->dst_port = get_le32(raw + 20);
    h->len = get_le32(raw + 24);
    h->type = get_le16(raw + 28);
    h->op = get_le16(raw + 30);
    h->flags = get_le32(raw + 32);
    h->buf_alloc = get_le32(raw + 36);
    h->fwd_cnt = get_le32(raw + 40);
}

void vsock_hdr_encode(const struct vsock_hdr *h, uint8_t raw[VIRTIO_VSOCK_HDR_LEN])
{
    put_le64(raw + 0, h->src_cid);
    put_le64(raw + 8, h->dst_cid);
    put_le32(raw + 16, h->src_port);
    put_le32(raw + 20, h->dst_port);
    put_le32(raw + 24, h->len);
    put_le16(raw + 28, h->type);
    put_le16(raw + 30, h->op);
    put_le32(raw + 32, h->flags);
    put_le32(raw + 36, h->buf_alloc);
    put_le32(raw + 40, h->fwd_cnt);
}

/* --- connections --------------------------------------------------------------------- */

static struct conn *conn_find(struct virtio_vsock *v, uint32_t local_port, uint32_t peer_port)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
        struct conn *c = &v->conns[i];
        if (c->state != CONN_FREE && c->local_port == local_port && c->peer_port == peer_port)
            return c;
    }
    return NULL;
}

static bool local_port_used(const struct virtio_vsock *v, uint32_t port)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++)
        if (v->conns[i].state != CONN_FREE && v->conns[i].local_port == port)
            return true;
    return false;
}

static struct conn *conn_new(struct virtio_vsock *v, int fd, uint32_t local_port,
                             uint32_t peer_port)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++) {
        struct conn *c = &v->conns[i];
        if (c->state != CONN_FREE)
            continue;
        memset(c, 0, sizeof(*c));
        c->fd = fd;
        c->local_port = local_port;
        c->peer_port = peer_port;
        c->watched = ~0u;
        return c;
    }
    return NULL;
}

/* Close the socket (if still open) and forget it in the loop. */
static void conn_close_fd(struct virtio_vsock *v, struct conn *c)
{
    if (c->fd < 0)
        return;
    if (c->watched != ~0u && v->host.unwatch)
        v->host.unwatch(v->host.opaque, c->fd);
    close(c->fd);
    c->fd = -1;
    c->watched = ~0u;
}

static void conn_free(struct virtio_vsock *v, struct conn *c)
{
    conn_close_fd(v, c);
    free(c->ring);
    c->ring = NULL;
    c->state = CONN_FREE;
}

/* Abort: the socket closes now, the guest hears RST when a buffer comes. */
static void conn_reset(struct virtio_vsock *v, struct conn *c)
{
    conn_close_fd(v, c);
    free(c->ring);
    c->ring = NULL;
    c->ring_used = 0;
    c->state = CONN_DEAD;
}

/* Bytes the guest may still send us, as far as it knows. */
static uint32_t guest_view_free(const struct conn *c)
{
    uint32_t in_flight = c->rx_cnt - c->fwd_cnt_sent;
    return in_flight >= VIRTIO_VSOCK_BUF_ALLOC ? 0 : VIRTIO_VSOCK_BUF_ALLOC - in_flight;
}

/* Bytes the guest still has room for. */
static uint32_t peer_credit(const struct conn *c)
{
    uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;
    return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}

static bool may_send_data(const struct conn *c)
{
    return c->state == CONN_ESTABLISHED && !c->host_eof &&
           !(c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_RCV) &&
           !(c->shutdown_sent & VIRTIO_VSOCK_SHUTDOWN_SEND);
}

static bool has_unwritten(const struct conn *c)
{
    return c->ring_used > 0 || c->greeting_off < c->greeting_len;
}

/* What the loop should wait for on c's socket; registers changes. */
static void conn_update_watch(struct virtio_vsock *v, struct conn *c)
{
    if (c->fd < 0)
        return;
    unsigned want = 0;
    if (may_send_data(c) && !c->host_readable)
        want |= VSOCK_WATCH_IN;
    if (c->write_blocked && has_unwritten(c))
        want |= VSOCK_WATCH_OUT;
    if (c->host_hup) {
        /* a hung-up socket reports HUP for ever: no more events from it */
        if (c->watched != ~0u && v->host.unwatch)
            v->host.unwatch(v->host.opaque, c->fd);
        c->watched = ~0u;
        return;
    }
    if (want == c->watched)
        return;
    c->watched = want;
    if (v->host.watch)
        v->host.watch(v->host.opaque, c->fd, want, c);
}

/* The guest has heard of neither direction ending and both are done: close. */
static void conn_maybe_finish(struct virtio_vsock *v, struct conn *c)
{
    if (c->state != CONN_ESTABLISHED)
        return;
    bool guest_done = (c->guest_shut & (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND)) ==
                      (VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
    if (guest_done && !has_unwritten(c))
        conn_reset(v, c); /* the spec's answer to a full shutdown: RST */
}

/* Write what the guest sent (greeting first) to the socket. */
static void conn_flush(struct virtio_vsock *v, struct conn *c)
{
    while (c->fd >= 0 && c->greeting_off < c->greeting_len) {
        ssize_t n = send(c->fd, c->greeting + c->greeting_off, c->greeting_len - c->greeting_off,
                         MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->write_blocked = true;
            return;
        }
        if (n <= 0) {
            conn_reset(v, c);
            return;
        }
        c->greeting_off += (unsigned)n;
    }
    while (c->fd >= 0 && c->ring_used > 0) {
        uint32_t first = VIRTIO_VSOCK_BUF_ALLOC - c->ring_head;
        if (first > c->ring_used)
            first = c->ring_used;
        struct iovec iov[2] = {{c->ring + c->ring_head, first}, {c->ring, c->ring_used - first}};
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = iov[1].iov_len ? 2 : 1};
        ssize_t n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->write_blocked = true;
            return;
        }
        if (n <= 0) {
            conn_reset(v, c); /* the host peer is gone: the guest hears RST */
            return;
        }
        c->ring_head = (c->ring_head + (uint32_t)n) % VIRTIO_VSOCK_BUF_ALLOC;
        c->ring_used -= (uint32_t)n;
        c->fwd_cnt += (uint32_t)n;
    }
    c->write_blocked = false;
    if (c->fd < 0)
        return;
    if ((c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) && !c->host_wr_shut && !has_unwritten(c)) {
        shutdown(c->fd, SHUT_WR);
        c->host_wr_shut = true;
    }
    if (c->fwd_cnt != c->fwd_cnt_sent && guest_view_free(c) < VIRTIO_VSOCK_BUF_ALLOC / 2)
        c->owe_credit_update = true;
    conn_maybe_finish(v, c);
}

/* --- packets to the guest ------------------------------------------------------------ */

static void fill_hdr(const struct virtio_vsock *v, struct vsock_hdr *h, const struct conn *c,
                     uint16_t op)
{
    memset(h, 0, sizeof(*h));
    h->src_cid = VIRTIO_VSOCK_HOST_CID;
    h->dst_cid = v->guest_cid;
    h->src_port = c->local_port;
    h->dst_port = c->peer_port;
    h->type = VIRTIO_VSOCK_TYPE_STREAM;
    h->op = op;
    h->buf_alloc = VIRTIO_VSOCK_BUF_ALLOC;
    h->fwd_cnt = c->fwd_cnt;
}

/* The chain (popped, validated) gets header h and len payload bytes already
   in place after it. */
static void rx_push(struct virtio_vsock *v, const struct vsock_hdr *h, uint32_t len)
{
    uint8_t raw[VIRTIO_VSOCK_HDR_LEN];
    vsock_hdr_encode(h, raw);
    virtq_write_in(&v->chain, 0, raw, sizeof(raw));
    virtio_queue_push(v->vdev, VIRTIO_VSOCK_RXQ, &v->chain, VIRTIO_VSOCK_HDR_LEN + len);
    v->stats.rx_packets++;
    v->stats.rx_bytes += len;
    if (h->op == VIRTIO_VSOCK_OP_RST)
        v->stats.rst_sent++;
}

/* Read up to max bytes of c's socket into the chain after the header:
   bytes read, 0 at EOF, -1 with errno. */
static ssize_t read_into_chain(struct virtio_vsock *v, struct conn *c, uint32_t max)
{
    struct iovec iov[VIRTQ_MAX_SEGS];
    unsigned n = 0;
    size_t skip = VIRTIO_VSOCK_HDR_LEN, total = 0;
    for (unsigned i = 0; i < v->chain.nin && total < max; i++) {
        size_t len = v->chain.in[i].iov_len;
        uint8_t *base = v->chain.in[i].iov_base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        base += skip;
        len -= skip;
        skip = 0;
        if (len > max - total)
            len = max - total;
        iov[n++] = (struct iovec){base, len};
        total += len;
    }
    for (;;) {
        ssize_t got = readv(c->fd, iov, (int)n);
        if (got < 0 && errno == EINTR)
            continue;
        return got;
    }
}

enum rx_result { RX_SENT, RX_NOTHING, RX_ABORTED };

/* Send c's next packet in the chain in hand: a control packet, or data. */
static enum rx_result conn_rx(struct virtio_vsock *v, struct conn *c)
{
    struct vsock_hdr h;
    if (c->state == CONN_DEAD) {
        fill_hdr(v, &h, c, VIRTIO_VSOCK_OP_RST);
        rx_push(v, &h, 0);
        conn_free(v, c);
        return RX_SENT;
    }
    if (c->owe_request || c->owe_response) {
        fill_hdr(v, &h, c, c->owe_request ? VIRTIO_VSOCK_OP_REQUEST : VIRTIO_VSOCK_OP_RESPONSE);
        c->owe_request = c->owe_response = false;
        c->fwd_cnt_sent = c->fwd_cnt;
        rx_push(v, &h, 0);
        return RX_SENT;
    }
    if (c->state != CONN_ESTABLISHED)
        return RX_NOTHING;
    uint32_t credit = peer_credit(c);
    uint32_t room = (uint32_t)(v->chain.in_len - VIRTIO_VSOCK_HDR_LEN);
    if (may_send_data(c) && c->host_readable && credit > 0) {
        uint32_t max = credit < room ? credit : room;
        if (max > VIRTIO_VSOCK_MAX_PKT)
            max = VIRTIO_VSOCK_MAX_PKT;
        ssize_t got = room ? read_into_chain(v, c, max) : -1;
        if (got > 0) {
            fill_hdr(v, &h, c, VIRTIO_VSOCK_OP_RW);
            h.len = (uint32_t)got;
            c->tx_cnt += (uint32_t)got;
            c->fwd_cnt_sent = c->fwd_cnt;
            c->owe_credit_update = false;
            rx_push(v, &h, (uint32_t)got);
            return RX_SENT;
        }
        if (got == 0) {
            c->host_eof = true;
            c->owe_shutdown |= VIRTIO_VSOCK_SHUTDOWN_SEND;
            if (c->host_hup)
                c->owe_shutdown |= VIRTIO_VSOCK_SHUTDOWN_RCV;
        } else if (room && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->host_readable = false;
        } else if (room) {
            conn_reset(v, c);
            return RX_ABORTED;
        }
    } else if (may_send_data(c) && c->host_readable && credit == 0 &&
               c->credit_request == CREDIT_OK) {
        c->credit_request = CREDIT_ASK; /* once per stall: cleared when credit comes */
    }
    if (c->owe_shutdown & ~c->shutdown_sent) {
        fill_hdr(v, &h, c, VIRTIO_VSOCK_OP_SHUTDOWN);
        h.flags = c->owe_shutdown & ~c->shutdown_sent;
        c->shutdown_sent |= h.flags;
        c->fwd_cnt_sent = c->fwd_cnt;
        rx_push(v, &h, 0);
        return RX_SENT;
    }
    if (c->owe_credit_update || c->credit_request == CREDIT_ASK) {
        bool request = !c->owe_credit_update;
        fill_hdr(v, &h, c,
                 request ? VIRTIO_VSOCK_OP_CREDIT_REQUEST : VIRTIO_VSOCK_OP_CREDIT_UPDATE);
        c->owe_credit_update = false;
        if (request)
            c->credit_request = CREDIT_ASKED; /* not again until credit comes */
        c->fwd_cnt_sent = c->fwd_cnt;
        rx_push(v, &h, 0);
        return RX_SENT;
    }
    return RX_NOTHING;
}

/* Does c have something for the guest (without reading its socket)? */
static bool conn_wants_rx(const struct conn *c)
{
    if (c->state == CONN_DEAD || c->owe_request || c->owe_response)
        return true;
    if (c->state != CONN_ESTABLISHED)
        return false;
    return (may_send_data(c) && c->host_readable) || (c->owe_shutdown & ~c->shutdown_sent) ||
           c->owe_credit_update || c->credit_request == CREDIT_ASK;
}

/* Pop an rx chain a packet fits in; false when the guest has none. */
static bool rx_pop(struct virtio_vsock *v)
{
    while (virtio_queue_pop(v->vdev, VIRTIO_VSOCK_RXQ, &v->chain)) {
        if (v->chain.nout == 0 && v->chain.in_len >= VIRTIO_VSOCK_HDR_LEN)
            return true;
        v->stats.malformed++;
        virtio_queue_push(v->vdev, VIRTIO_VSOCK_RXQ, &v->chain, 0);
    }
    return false;
}

static void rx_fill(struct virtio_vsock *v)
{
    while (v->active && !v->paused) {
        bool holding = false;
        if (v->rst_count) {
            if (!rx_pop(v))
                return;
            const struct rst_entry *e = &v->rst[v->rst_head];
            struct vsock_hdr h = {.src_cid = e->src_cid,
                                  .dst_cid = v->guest_cid,
                                  .src_port = e->src_port,
                                  .dst_port = e->dst_port,
                                  .type = VIRTIO_VSOCK_TYPE_STREAM,
                                  .op = VIRTIO_VSOCK_OP_RST};
            v->rst_head = (v->rst_head + 1) % RST_RING;
            v->rst_count--;
            rx_push(v, &h, 0);
            continue;
        }
        bool sent = false;
        for (unsigned k = 0; k < VIRTIO_VSOCK_MAX_CONNS && !sent; k++) {
            unsigned i = (v->rr + k) % VIRTIO_VSOCK_MAX_CONNS;
            struct conn *c = &v->conns[i];
            if (c->state == CONN_FREE || !conn_wants_rx(c))
                continue;
            if (!holding) {
                if (!rx_pop(v))
                    return;
                holding = true;
            }
            enum rx_result r = conn_rx(v, c);
            if (r == RX_ABORTED)
                r = conn_rx(v, c); /* now dead: its RST */
            if (c->state != CONN_FREE)
                conn_update_watch(v, c);
            if (r == RX_SENT) {
                sent = true;
                holding = false;
                v->rr = i + 1;
            }
        }
        if (holding)
            virtio_queue_unpop(v->vdev, VIRTIO_VSOCK_RXQ);
        if (!sent)
            return;
    }
}

/* --- packets from the guest ---------------------------------------------------------- */

static void owe_rst(struct virtio_vsock *v, const struct vsock_hdr *h)
{
    if (h->op == VIRTIO_VSOCK_OP_RST || v->rst_count == RST_RING)
        return; /* never answer an RST; a flood of strays loses some answers */
    v->rst[(v->rst_head + v->rst_count) % RST_RING] =
        (struct rst_entry){h->dst_cid, h->dst_port, h->src_port};
    v->rst_count++;
}

/* The guest asks for host port h->dst_port. */
static void guest_request(struct virtio_vsock *v, const struct vsock_hdr *h)
{
    if (conn_find(v, h->dst_port, h->src_port)) {
        owe_rst(v, h);
        return;
    }
    int fd = v->host.connect ? v->host.connect(v->host.opaque, h->dst_port) : -1;
    struct conn *c = fd >= 0 ? conn_new(v, fd, h->dst_port, h->src_port) : NULL;
    if (!c) {
        if (fd >= 0)
            close(fd);
        v->stats.conns_refused++;
        owe_rst(v, h);
        return;
    }
    c->state = CONN_ESTABLISHED;
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    c->owe_response = true;
    v->stats.conns_opened++;
    conn_update_watch(v, c);
}

/* An RW payload of h->len bytes at offset HDR_LEN of the chain in hand. */
static void guest_data(struct virtio_vsock *v, struct conn *c, const struct vsock_hdr *h)
{
    if (c->state != CONN_ESTABLISHED || (c->guest_shut & VIRTIO_VSOCK_SHUTDOWN_SEND) ||
        c->host_wr_shut) {
        conn_reset(v, c);
        return;
    }
    if (h->len == 0)
        return;
    if (h->len > VIRTIO_VSOCK_BUF_ALLOC - c->ring_used) {
        v->stats.credit_resets++; /* past the credit we gave */
        conn_reset(v, c);
        return;
    }
    if (!c->ring && !(c->ring = malloc(VIRTIO_VSOCK_BUF_ALLOC))) {
        conn_reset(v, c);
        return;
    }
    uint32_t tail = (c->ring_head + c->ring_used) % VIRTIO_VSOCK_BUF_ALLOC;
    uint32_t first = VIRTIO_VSOCK_BUF_ALLOC - tail;
    if (first > h->len)
        first = h->len;
    virtq_read_out(&v->chain, VIRTIO_VSOCK_HDR_LEN, c->ring + tail, first);
    virtq_read_out(&v->chain, VIRTIO_VSOCK_HDR_LEN + first, c->ring, h->len - first);
    c->ring_used += h->len;
    c->rx_cnt += h->len;
    v->stats.tx_bytes += h->len;
    conn_flush(v, c);
}

static void guest_shutdown(struct virtio_vsock *v, struct conn *c, uint32_t flags)
{
    flags &= VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
    if (c->state != CONN_ESTABLISHED)
        return;
    uint32_t added = flags & ~c->guest_shut;
    c->guest_shut |= flags;
    if ((added & VIRTIO_VSOCK_SHUTDOWN_RCV) && c->fd >= 0)
        shutdown(c->fd, SHUT_RD); /* the host peer's writes now fail */
    conn_flush(v, c);             /* SEND: shutdown(SHUT_WR) once the ring is written */
}

static void guest_packet(struct virtio_vsock *v, const struct vsock_hdr *h)
{
    if (h->src_cid != v->guest_cid) {
        v->stats.malformed++; /* not the guest's to send */
        return;
    }
    if (h->dst_cid != VIRTIO_VSOCK_HOST_CID || h->type != VIRTIO_VSOCK_TYPE_STREAM) {
        owe_rst(v, h);
        return;
    }
    struct conn *c = conn_find(v, h->dst_port, h->src_port);
    if (!c) {
        if (h->op == VIRTIO_VSOCK_OP_REQUEST)
            guest_request(v, h);
        else
            owe_rst(v, h);
        return;
    }
    if (c->state == CONN_DEAD)
        return; /* its RST is on the way */
    c->peer_buf_alloc = h->buf_alloc;
    c->peer_fwd_cnt = h->fwd_cnt;
    if (peer_credit(c) > 0)
        c->credit_request = CREDIT_OK;
    switch (h->op) {
    case VIRTIO_VSOCK_OP_RESPONSE:
        if (c->state != CONN_CONNECTING || c->owe_request) {
            conn_reset(v, c);
            break;
        }
        c->state = CONN_ESTABLISHED;
        c->greeting_len =
            (unsigned)snprintf(c->greeting, sizeof(c->greeting), "OK %u\n", c->local_port);
        v->stats.conns_opened++;
        conn_flush(v, c);
        break;
    case VIRTIO_VSOCK_OP_RST:
        if (c->state == CONN_CONNECTING)
            v->stats.conns_refused++;
        conn_free(v, c); /* the guest is done with it: no answer */
        return;
    case VIRTIO_VSOCK_OP_SHUTDOWN: guest_shutdown(v, c, h->flags); break;
    case VIRTIO_VSOCK_OP_RW: guest_data(v, c, h); break;
    case VIRTIO_VSOCK_OP_CREDIT_UPDATE: break; /* its counters are taken above */
    case VIRTIO_VSOCK_OP_CREDIT_REQUEST: c->owe_credit_update = true; break;
    default: /* a REQUEST on a live connection, or no op at all */ conn_reset(v, c); break;
    }
    if (c->state != CONN_FREE)
        conn_update_watch(v, c);
}

static void tx_drain(struct virtio_vsock *v)
{
    while (v->active && !v->paused && virtio_queue_pop(v->vdev, VIRTIO_VSOCK_TXQ, &v->chain)) {
        uint8_t raw[VIRTIO_VSOCK_HDR_LEN];
        struct vsock_hdr h;
        v->stats.tx_packets++;
        if (virtq_read_out(&v->chain, 0, raw, sizeof(raw)) != sizeof(raw)) {
            v->stats.malformed++;
        } else {
            vsock_hdr_decode(&h, raw);
            bool has_payload = h.op == VIRTIO_VSOCK_OP_RW;
            if (has_payload &&
                (h.len > VIRTIO_VSOCK_MAX_PKT || h.len > v->chain.out_len - VIRTIO_VSOCK_HDR_LEN)) {
                v->stats.malformed++;
                struct conn *c = conn_find(v, h.dst_port, h.src_port);
                if (c && c->state != CONN_DEAD && h.src_cid == v->guest_cid)
                    conn_reset(v, c); /* its stream can no longer be whole */
            } else {
                if (!has_payload)
                    h.len = 0;
                guest_packet(v, &h);
            }
        }
        virtio_queue_push(v->vdev, VIRTIO_VSOCK_TXQ, &v->chain, 0);
    }
}

static void drop_all(struct virtio_vsock *v)
{
    for (unsigned i = 0; i < VIRTIO_VSOCK_MAX_CONNS; i++)
        if (v->conns[i].state != CONN_FREE)
            conn_free(v, &v->conns[i]);
    v->rst_count = 0;
}

/* A driver reset asked for every socket to close: the worker does it, first
   thing in each of its entries, so no connection of before the reset lives on. */
static void drop_if_reset(struct virtio_vsock *v)
{
    if (v->drop_owed) {
        drop_all(v);
        v->drop_owed = false;
    }
}

static void send_reset_event(struct virtio_vsock *v)
{
    if (!v->owe_reset_event || !virtio_queue_pop(v->vdev, VIRTIO_VSOCK_EVQ, &v->chain))
        return;
    uint8_t ev[4];
    put_le32(ev, VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
    size_t n = virtq_write_in(&v->chain, 0, ev, sizeof(ev));
    virtio_queue_push(v->vdev, VIRTIO_VSOCK_EVQ, &v->chain, (uint32_t)n);
    v->owe_reset_event = false;
}

void virtio_vsock_run(struct virtio_vsock *v)
{
    pthread_mutex_lock(&v->lock);
    drop_if_reset(v);
    if (v->active && !v->paused) {
        send_reset_event(v);
        tx_drain(v);
        rx_fill(v);
    }
    pthread_mutex_unlock(&v->lock);
}

void virtio_vsock_fd_event(struct virtio_vsock *v, void *cookie, unsigned events, bool hup,
                           bool err)
{
    pthread_mutex_lock(&v->lock);
    drop_if_reset(v);
    struct conn *c = cookie;
    if (c < v->conns || c >= v->conns + VIRTIO_VSOCK_MAX_CONNS || c->state == CONN_FREE ||
        c->fd < 0) {
        pthread_mutex_unlock(&v->lock);
        return; /* an event queued before the socket closed */
    }
    if (err && !(events & VSOCK_WATCH_IN)) {
        conn_reset(v, c);
    } else {
        if ((events & VSOCK_WATCH_IN) || hup)
            c->host_readable = true;
        if (hup) {
            c->host_hup = true;
            if (c->host_eof) /* the EOF was read before: the rest of the close */
                c->owe_shutdown |= VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND;
        }
        if ((events & VSOCK_WATCH_OUT) || (hup && has_unwritten(c)))
            conn_flush(v, c);
        if (c->state != CONN_FREE)
            conn_update_watch(v, c);
    }
    pthread_mutex_unlock(&v->lock);
}

int virtio_vsock_host_connect(struct virtio_vsock *v, int fd, uint32_t port)
{
    pthread_mutex_lock(&v->lock);
    drop_if_reset(v);
    struct conn *c = NULL;
    if (v->active && !v->paused) {
        uint32_t local = v->next_local_port;
        for (unsigned tries = 0; tries < 2 * VIRTIO_VSOCK_MAX_CONNS && local_port_used(v, local);
             tries++)
            local = local == UINT32_MAX - 1 ? VIRTIO_VSOCK_FIRST_LOCAL_PORT : local + 1;
        if (!local_port_used(v, local))
            c = conn_new(v, fd, local, port);
        v->next_local_port = local == UINT32_MAX - 1 ? VIRTIO_VSOCK_FIRST_LOCAL_PORT : local + 1;
    }
    if (!c) {
        pthread_mutex_unlock(&v->lock);
        close(fd);
        return -1;
    }
    c->state = CONN_CONNECTING;
    c->owe_request = true;
    conn_update_watch(v, c); /* hang-ups only, until the guest answers */
    rx_fill(v);
    pthread_mutex_unlock(&v->lock);
    return 0;
}

/* --- the transport's callbacks ------------------------------------------------------- */

static void vsock_activate(void *opaque, uint64_t features)
{
    struct virtio_vsock *v = opaque;
    (void)features;
    pthread_mutex_lock(&v->lock);
    v->active = v->vdev != NULL;
    pthread_mutex_unlock(&v->lock);
    if (v->host.kick)
        v->host.kick(v->host.opaque);
}

static void vsock_notify(void *opaque, unsigned q)
{
    struct virtio_vsock *v = opaque;
    (void)q;
    if (v->host.kick)
        v->host.kick(v->host.opaque);
}

static void vsock_reset(void *opaque)
{
    struct virtio_vsock *v = opaque;
    pthread_mutex_lock(&v->lock); /* waits for the worker's turn in flight */
    v->active = false;
    v->drop_owed = true; /* the guest has forgotten every socket; the worker's
                            filter, not a vCPU's, closes them */
    pthread_mutex_unlock(&v->lock);
    if (v->host.kick)
        v->host.kick(v->host.opaque);
}

static void vsock_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    const struct virtio_vsock *v = opaque;
    uint8_t cfg[VIRTIO_VSOCK_CONFIG_SIZE];
    put_le64(cfg, v->guest_cid);
    if (offset <= sizeof(cfg) && len <= sizeof(cfg) - offset)
        memcpy(buf, cfg + offset, len);
}

static void vsock_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    (void)opaque; /* read-only */
    (void)offset;
    (void)buf;
    (void)len;
}

/* Nothing of a connection is kept (see the header); the format has room. */
static void vsock_save(void *opaque, struct state_writer *w)
{
    const struct virtio_vsock *v = opaque;
    state_put_u64(w, v->guest_cid);
}

static bool vsock_restore(void *opaque, struct state_reader *r)
{
    struct virtio_vsock *v = opaque;
    uint64_t cid = state_get_u64(r);
    if (state_reader_ok(r) && cid != v->guest_cid)
        return state_fail(r, "vsock guest CID %llu, but the configuration says %llu",
                          (unsigned long long)cid, (unsigned long long)v->guest_cid);
    pthread_mutex_lock(&v->lock);
    v->owe_reset_event = true;
    pthread_mutex_unlock(&v->lock);
    return state_reader_ok(r);
}

static const struct virtio_device_ops vsock_ops = {
    .device_id = VIRTIO_ID_VSOCK,
    .features = 0,
    .num_queues = 3,
    .queue_size_max = VIRTIO_VSOCK_QUEUE_SIZE,
    .config_size = VIRTIO_VSOCK_CONFIG_SIZE,
    .config_read = vsock_config_read,
    .config_write = vsock_config_write,
    .activate = vsock_activate,
    .notify = vsock_notify,
    .reset = vsock_reset,
    .save = vsock_save,
    .restore = vsock_restore,
};

const struct virtio_device_ops *virtio_vsock_ops(void)
{
    return &vsock_ops;
}

/* --- lifecycle ----------------------------------------------------------------------- */

struct virtio_vsock *virtio_vsock_create(uint64_t guest_cid, const struct vsock_host_ops *host)
{
    if (guest_cid < VIRTIO_VSOCK_MIN_CID || guest_cid > VIRTIO_VSOCK_MAX_CID)
        return NULL;
    struct virtio_vsock *v = calloc(1, sizeof(*v));
    if (!v)
        return NULL;
    if (pthread_mutex_init(&v->lock, NULL) != 0) {
        free(v);
        return NULL;
    }
    v->guest_cid = guest_cid;
    if (host)
        v->host = *host;
    v->next_local_port = VIRTIO_VSOCK_FIRST_LOCAL_PORT;
    return v;
}

void virtio_vsock_bind(struct virtio_vsock *v, struct virtio_device *vdev)
{
    pthread_mutex_lock(&v->lock);
    v->vdev = vdev;
    pthread_mutex_unlock(&v->lock);
}

void virtio_vsock_get_stats(struct virtio_vsock *v, struct virtio_vsock_stats *out)
{
    pthread_mutex_lock(&v->lock);
    *out = v->stats;
    pthread_mutex_unlock(&v->lock);
}

void virtio_vsock_pause(struct virtio_vsock *v, bool paused)
{
    pthread_mutex_lock(&v->lock);
    v->paused = paused;
    pthread_mutex_unlock(&v->lock);
    if (!paused && v->host.kick)
        v->host.kick(v->host.opaque);
}

void virtio_vsock_destroy(struct virtio_vsock *v)
{
    if (!v)
        return;
    v->host.unwatch = NULL; /* the backend's loop is gone */
    drop_all(v);
    pthread_mutex_destroy(&v->lock);
    free(v);
}
