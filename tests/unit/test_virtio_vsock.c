/*
 * The socket device through the real virtio-mmio transport, driven as
 * Linux 6.1's virtio_transport drives it (rx chains of a 44-byte header
 * buffer and a 4 KiB data buffer, tx chains of header + payload), with
 * socketpairs as the host's sockets. Checked: the header layout and config
 * space; guest connects answered with RESPONSE or, with no host listener,
 * RST; data both ways whole and in order; the guest's credit never
 * exceeded and CREDIT_REQUEST when it runs out, CREDIT_UPDATE once the
 * guest's view of our space is low, a guest past our credit reset; half-
 * and full close mapped to shutdown(2) and back; host-initiated connects
 * with the "OK <port>" line; RST for packets of no connection; hostile
 * chains (short header, huge len, wrong CID, bad type and op, readable rx
 * buffers) dropped without harm; a reset closes every socket; a restored
 * device sends TRANSPORT_RESET.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/virtio_vsock.h"
#include "util/state.h"

#include "support/virtio_driver.h"

#define RXQ       VIRTIO_VSOCK_RXQ
#define TXQ       VIRTIO_VSOCK_TXQ
#define EVQ       VIRTIO_VSOCK_EVQ
#define GUEST_CID 42u
#define HDR       VIRTIO_VSOCK_HDR_LEN
#define SLOTS     (QNUM / 2) /* two descriptors per chain */
#define RX_DATA   4096u

/* --- the host: ports that listen, socketpairs for connections ------------------------- */

#define MAX_FDS 64

struct host {
    uint32_t listening[4];
    unsigned nlistening;
    int peer_of[MAX_FDS]; /* device-side fd -> the test's end */
    void *cookie[MAX_FDS];
    unsigned watched[MAX_FDS];
    bool registered[MAX_FDS];
    unsigned kicks;
    int last_peer; /* the test's end of the last connect */
};

static int host_connect(void *opaque, uint32_t port)
{
    struct host *h = opaque;
    for (unsigned i = 0; i < h->nlistening; i++) {
        if (h->listening[i] != port)
            continue;
        int sv[2];
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
        assert_true(sv[0] < MAX_FDS);
        h->peer_of[sv[0]] = sv[1];
        h->last_peer = sv[1];
        return sv[0];
    }
    return -1;
}

static void host_watch(void *opaque, int fd, unsigned events, void *cookie)
{
    struct host *h = opaque;
    assert_true(fd >= 0 && fd < MAX_FDS);
    h->cookie[fd] = cookie;
    h->watched[fd] = events;
    h->registered[fd] = true;
}

static void host_unwatch(void *opaque, int fd)
{
    struct host *h = opaque;
    assert_true(fd >= 0 && fd < MAX_FDS);
    h->registered[fd] = false;
}

static void host_kick(void *opaque)
{
    struct host *h = opaque;
    h->kicks++;
}

/* --- the guest's side ----------------------------------------------------------------- */

struct fixture {
    struct drv d;
    struct host h;
    struct virtio_vsock *v;
    uint64_t rx_hdr[SLOTS], rx_data[SLOTS]; /* buffers per chain slot (head / 2) */
    uint64_t tx_hdr[SLOTS], tx_data[SLOTS];
    unsigned rx_posted;
};

static struct fixture *make(uint64_t cid)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const struct vsock_host_ops ops = {host_connect, host_watch, host_unwatch, host_kick, &f->h};
    f->v = virtio_vsock_create(cid, &ops);
    assert_non_null(f->v);
    drv_create(&f->d, virtio_vsock_ops(), f->v);
    virtio_vsock_bind(f->v, f->d.dev);
    for (unsigned i = 0; i < SLOTS; i++) {
        f->rx_hdr[i] = drv_alloc(&f->d, HDR, 0);
        f->rx_data[i] = drv_alloc(&f->d, RX_DATA, 0);
        f->tx_hdr[i] = drv_alloc(&f->d, HDR, 0);
        f->tx_data[i] = drv_alloc(&f->d, VIRTIO_VSOCK_MAX_PKT, 0);
    }
    return f;
}

static int setup(void **state)
{
    struct fixture *f = make(GUEST_CID);
    drv_init(&f->d, VIRTIO_ID_VSOCK, true);
    f->h.listening[f->h.nlistening++] = 1234;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    drv_free(&f->d);
    virtio_vsock_destroy(f->v);
    free(f);
    return 0;
}

/* Post rx chains until n are outstanding (Linux keeps its rx ring full). */
static void post_rx(struct fixture *f, unsigned n)
{
    while (f->rx_posted < n) {
        unsigned slot = f->d.q[RXQ].next_desc / 2;
        struct seg s[2] = {{f->rx_hdr[slot], HDR, true}, {f->rx_data[slot], RX_DATA, true}};
        drv_add(&f->d, RXQ, s, 2);
        f->rx_posted++;
    }
    drv_kick(&f->d, RXQ);
}

static struct vsock_hdr guest_hdr(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
    return (struct vsock_hdr){.src_cid = GUEST_CID,
                              .dst_cid = VIRTIO_VSOCK_HOST_CID,
                              .src_port = src_port,
                              .dst_port = dst_port,
                              .type = VIRTIO_VSOCK_TYPE_STREAM,
                              .op = op,
                              .buf_alloc = 1u << 20};
}

/* One tx chain: header (hdr_len bytes of it) and payload, then the device runs. */
static void send_raw(struct fixture *f, const struct vsock_hdr *h, uint32_t hdr_len,
                     const void *payload, uint32_t len)
{
    unsigned slot = f->d.q[TXQ].next_desc / 2;
    uint8_t raw[HDR];
    vsock_hdr_encode(h, raw);
    memcpy(drv_host(&f->d, f->tx_hdr[slot]), raw, hdr_len);
    assert_true(len <= VIRTIO_VSOCK_MAX_PKT);
    if (len)
        memcpy(drv_host(&f->d, f->tx_data[slot]), payload, len);
    struct seg s[2] = {{f->tx_hdr[slot], hdr_len, false}, {f->tx_data[slot], len, false}};
    /* always two descriptors, so slots stay paired; an empty one is skipped */
    if (!len)
        s[1] = (struct seg){f->tx_data[slot], 0, false};
    uint16_t head = drv_add(&f->d, TXQ, s, 2);
    drv_kick(&f->d, TXQ);
    virtio_vsock_run(f->v);
    expect_used(&f->d, TXQ, head, 0);
}

static void send_pkt(struct fixture *f, const struct vsock_hdr *h, const void *payload)
{
    send_raw(f, h, HDR, payload, h->op == VIRTIO_VSOCK_OP_RW ? h->len : 0);
}

/* The next rx packet, if any: header and payload (at most RX_DATA bytes). */
static bool recv_pkt(struct fixture *f, struct vsock_hdr *h, uint8_t *payload)
{
    uint16_t id;
    uint32_t len;
    if (!drv_get_used(&f->d, RXQ, &id, &len))
        return false;
    f->rx_posted--;
    unsigned slot = id / 2;
    assert_true(len >= HDR);
    vsock_hdr_decode(h, drv_host(&f->d, f->rx_hdr[slot]));
    assert_int_equal(len, HDR + h->len);
    assert_true(h->len <= RX_DATA);
    if (payload)
        memcpy(payload, drv_host(&f->d, f->rx_data[slot]), h->len);
    assert_int_equal(h->src_cid, VIRTIO_VSOCK_HOST_CID);
    assert_int_equal(h->dst_cid, GUEST_CID);
    assert_int_equal(h->type, VIRTIO_VSOCK_TYPE_STREAM);
    return true;
}

static struct vsock_hdr expect_pkt(struct fixture *f, uint16_t op)
{
    struct vsock_hdr h;
    assert_true(recv_pkt(f, &h, NULL));
    assert_int_equal(h.op, op);
    return h;
}

static void expect_no_pkt(struct fixture *f)
{
    struct vsock_hdr h;
    assert_false(recv_pkt(f, &h, NULL));
}

/* The device-side fd whose peer is the test's end `peer`. */
static int dev_fd_of(struct fixture *f, int peer)
{
    for (int fd = 0; fd < MAX_FDS; fd++)
        if (f->h.peer_of[fd] == peer && f->h.cookie[fd])
            return fd;
    fail_msg("no device fd for peer %d", peer);
    return -1;
}

/* The loop reports events on the device end of peer's connection. */
static void event(struct fixture *f, int peer, unsigned events, bool hup)
{
    int fd = dev_fd_of(f, peer);
    virtio_vsock_fd_event(f->v, f->h.cookie[fd], events, hup, false);
    virtio_vsock_run(f->v);
}

/* A guest connect to port 1234 from guest port gport: the test's end of it. */
static int guest_connects(struct fixture *f, uint32_t gport, uint32_t guest_buf_alloc)
{
    post_rx(f, SLOTS);
    struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, gport, 1234);
    h.buf_alloc = guest_buf_alloc;
    send_pkt(f, &h, NULL);
    struct vsock_hdr r = expect_pkt(f, VIRTIO_VSOCK_OP_RESPONSE);
    assert_int_equal(r.src_port, 1234);
    assert_int_equal(r.dst_port, gport);
    assert_int_equal(r.buf_alloc, VIRTIO_VSOCK_BUF_ALLOC);
    assert_int_equal(r.fwd_cnt, 0);
    return f->h.last_peer;
}

static ssize_t read_all(int fd, uint8_t *buf, size_t max)
{
    size_t got = 0;
    for (;;) {
        ssize_t n = read(fd, buf + got, max - got);
        if (n <= 0)
            return n < 0 && errno == EAGAIN ? (ssize_t)got : (got ? (ssize_t)got : n);
        got += (size_t)n;
        if (got == max)
            return (ssize_t)got;
    }
}

/* --- the tests ------------------------------------------------------------------------ */

static void test_header_and_config(void **state)
{
    struct fixture *f = *state;
    const struct vsock_hdr h = {0x0102030405060708ull,
                                0x1112131415161718ull,
                                0x21222324,
                                0x31323334,
                                0x41424344,
                                0x5152,
                                0x6162,
                                0x71727374,
                                0x81828384,
                                0x91929394};
    uint8_t raw[HDR];
    vsock_hdr_encode(&h, raw);
    assert_int_equal(raw[0], 0x08); /* le64 src_cid first */
    assert_int_equal(raw[16], 0x24);
    assert_int_equal(raw[24], 0x44); /* len */
    assert_int_equal(raw[28], 0x52); /* type */
    assert_int_equal(raw[30], 0x62); /* op */
    assert_int_equal(raw[40], 0x94); /* fwd_cnt last */
    struct vsock_hdr back;
    vsock_hdr_decode(&back, raw);
    assert_true(back.src_cid == h.src_cid && back.dst_cid == h.dst_cid &&
                back.src_port == h.src_port && back.dst_port == h.dst_port && back.len == h.len &&
                back.type == h.type && back.op == h.op && back.flags == h.flags &&
                back.buf_alloc == h.buf_alloc && back.fwd_cnt == h.fwd_cnt);

    const struct virtio_device_ops *ops = virtio_vsock_ops();
    assert_int_equal(ops->device_id, 19);
    assert_int_equal(ops->num_queues, 3);
    assert_int_equal(ops->features, 0); /* stream only */
    assert_int_equal(drv_rd(&f->d, MMIO_CONFIG + 0), GUEST_CID);
    assert_int_equal(drv_rd(&f->d, MMIO_CONFIG + 4), 0);
    drv_wr(&f->d, MMIO_CONFIG + 0, 7); /* read-only */
    assert_int_equal(drv_rd(&f->d, MMIO_CONFIG + 0), GUEST_CID);

    assert_null(virtio_vsock_create(0, NULL));
    assert_null(virtio_vsock_create(2, NULL)); /* the host's */
    assert_null(virtio_vsock_create(1ull << 32, NULL));
    struct virtio_vsock *ok = virtio_vsock_create(3, NULL);
    assert_non_null(ok);
    virtio_vsock_destroy(ok);
}

static void test_guest_connect_and_data(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 1u << 20);
    struct virtio_vsock_stats s;
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.conns_opened, 1);

    /* guest -> host, in order */
    for (unsigned i = 0; i < 3; i++) {
        struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
        char msg[16];
        h.len = (uint32_t)snprintf(msg, sizeof(msg), "part%u;", i);
        send_pkt(f, &h, msg);
    }
    uint8_t buf[64];
    assert_int_equal(read_all(peer, buf, sizeof(buf)), 18);
    assert_memory_equal(buf, "part0;part1;part2;", 18);

    /* host -> guest: read only once the loop says so, at most a buffer each */
    uint8_t big[10000];
    for (unsigned i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + 1);
    assert_int_equal(write(peer, big, sizeof(big)), sizeof(big));
    expect_no_pkt(f);
    event(f, peer, VSOCK_WATCH_IN, false);
    uint8_t got[sizeof(big)];
    size_t n = 0;
    struct vsock_hdr h;
    while (n < sizeof(big)) {
        if (!recv_pkt(f, &h, got + n)) {
            post_rx(f, SLOTS);
            virtio_vsock_run(f->v);
            assert_true(recv_pkt(f, &h, got + n));
        }
        assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
        assert_int_equal(h.src_port, 1234);
        assert_int_equal(h.dst_port, 5000);
        assert_int_equal(h.fwd_cnt, 18); /* what reached the host socket */
        n += h.len;
    }
    assert_memory_equal(got, big, sizeof(big));
    post_rx(f, SLOTS);
    virtio_vsock_run(f->v);
    expect_no_pkt(f); /* EAGAIN: nothing more, and the loop waits for IN again */
    assert_true(f->h.watched[dev_fd_of(f, peer)] & VSOCK_WATCH_IN);
    close(peer);
}

static void test_connect_refused_and_strays(void **state)
{
    struct fixture *f = *state;
    post_rx(f, SLOTS);
    struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, 7000, 9999); /* nobody listens */
    send_pkt(f, &h, NULL);
    struct vsock_hdr r = expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(r.src_port, 9999);
    assert_int_equal(r.dst_port, 7000);
    struct virtio_vsock_stats s;
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.conns_refused, 1);
    assert_int_equal(s.rst_sent, 1);

    /* data, shutdown, credit packets of no connection: RST; an RST: nothing */
    static const uint16_t ops[] = {VIRTIO_VSOCK_OP_RW, VIRTIO_VSOCK_OP_SHUTDOWN,
                                   VIRTIO_VSOCK_OP_CREDIT_UPDATE, VIRTIO_VSOCK_OP_RESPONSE};
    for (unsigned i = 0; i < 4; i++) {
        h = guest_hdr(ops[i], 7001, 1234);
        h.len = ops[i] == VIRTIO_VSOCK_OP_RW ? 3 : 0;
        send_pkt(f, &h, "abc");
        r = expect_pkt(f, VIRTIO_VSOCK_OP_RST);
        assert_int_equal(r.dst_port, 7001);
        post_rx(f, SLOTS);
    }
    h = guest_hdr(VIRTIO_VSOCK_OP_RST, 7001, 1234);
    send_pkt(f, &h, NULL);
    expect_no_pkt(f);
    /* to a CID that is not the host's: RST from that CID */
    h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, 7002, 1234);
    h.dst_cid = 77;
    send_pkt(f, &h, NULL);
    uint16_t id;
    uint32_t len;
    assert_true(drv_get_used(&f->d, RXQ, &id, &len));
    vsock_hdr_decode(&r, drv_host(&f->d, f->rx_hdr[id / 2]));
    assert_int_equal(r.op, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(r.src_cid, 77);
    assert_int_equal(r.dst_port, 7002);
}

static void test_hostile_chains(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 1u << 20);
    struct virtio_vsock_stats s0, s;
    virtio_vsock_get_stats(f->v, &s0);

    /* a header cut short */
    struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, 6000, 1234);
    send_raw(f, &h, 20, NULL, 0);
    /* a wrong source CID: dropped, no answer */
    h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, 6001, 1234);
    h.src_cid = 99;
    send_pkt(f, &h, NULL);
    expect_no_pkt(f);
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.malformed, s0.malformed + 2);

    /* a type that is not stream: RST, no connection made */
    h = guest_hdr(VIRTIO_VSOCK_OP_REQUEST, 6002, 1234);
    h.type = 2;
    send_pkt(f, &h, NULL);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.conns_opened, s0.conns_opened);

    /* a len past the chain's bytes, and one above the maximum: the live
       connection they claim is reset (its stream cannot be whole) */
    h = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
    h.len = 1u << 30;
    send_raw(f, &h, HDR, "xyz", 3);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    uint8_t b[8];
    assert_int_equal(read(peer, b, sizeof(b)), 0); /* the host end closed, nothing written */
    close(peer);
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.malformed, s0.malformed + 3);

    /* an unknown op on a live connection resets it */
    post_rx(f, SLOTS);
    peer = guest_connects(f, 5001, 1u << 20);
    h = guest_hdr(99, 5001, 1234);
    send_pkt(f, &h, NULL);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(read(peer, b, sizeof(b)), 0);
    close(peer);

    /* rx chains the device cannot use go back empty */
    post_rx(f, SLOTS);
    while (recv_pkt(f, &h, NULL))
        ;
    expect_no_used(&f->d, RXQ);
    uint64_t gpa = drv_alloc(&f->d, 64, 0);
    struct seg readable[2] = {{gpa, 32, false}, {gpa + 32, 32, true}};
    struct seg tiny[2] = {{gpa, 20, true}, {gpa + 20, 0, true}};
    virtio_vsock_get_stats(f->v, &s0);
    /* replace the posted chains: take them with a stray RST each */
    for (unsigned i = 0; i < SLOTS; i++) {
        h = guest_hdr(VIRTIO_VSOCK_OP_RW, 8000 + i, 1234);
        h.len = 0;
        send_pkt(f, &h, NULL);
        assert_true(recv_pkt(f, &h, NULL));
    }
    uint16_t h1 = drv_add(&f->d, RXQ, readable, 2);
    uint16_t h2 = drv_add(&f->d, RXQ, tiny, 2);
    drv_kick(&f->d, RXQ);
    h = guest_hdr(VIRTIO_VSOCK_OP_RW, 8100, 1234);
    send_pkt(f, &h, NULL); /* an RST is owed, but no chain fits it */
    uint16_t id;
    uint32_t len;
    assert_true(drv_get_used(&f->d, RXQ, &id, &len));
    assert_int_equal(id, h1);
    assert_int_equal(len, 0);
    assert_true(drv_get_used(&f->d, RXQ, &id, &len));
    assert_int_equal(id, h2);
    assert_int_equal(len, 0);
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.malformed, s0.malformed + 2);
    /* the RST waits for a usable buffer */
    post_rx(f, SLOTS);
    virtio_vsock_run(f->v);
    struct vsock_hdr r = expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(r.dst_port, 8100);
}

static void test_credit_to_guest(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 3000); /* the guest has room for 3000 bytes */
    uint8_t data[20000];
    for (unsigned i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i ^ (i >> 8));
    assert_int_equal(write(peer, data, sizeof(data)), sizeof(data));
    event(f, peer, VSOCK_WATCH_IN, false);
    uint8_t got[sizeof(data)];
    size_t n = 0;
    struct vsock_hdr h;
    while (recv_pkt(f, &h, got + n) && h.op == VIRTIO_VSOCK_OP_RW)
        n += h.len;
    assert_int_equal(n, 3000); /* exactly the credit */
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_REQUEST);
    expect_no_pkt(f);
    post_rx(f, SLOTS);
    virtio_vsock_run(f->v);
    expect_no_pkt(f); /* asked once, not again */

    /* the guest read 2000 of them */
    struct vsock_hdr u = guest_hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, 1234);
    u.buf_alloc = 3000;
    u.fwd_cnt = 2000;
    send_pkt(f, &u, NULL);
    size_t before = n;
    while (recv_pkt(f, &h, got + n) && h.op == VIRTIO_VSOCK_OP_RW)
        n += h.len;
    assert_int_equal(n - before, 2000);
    /* a bigger buffer: the rest flows */
    u.buf_alloc = 1u << 20;
    u.fwd_cnt = 5000;
    send_pkt(f, &u, NULL);
    for (;;) {
        if (!recv_pkt(f, &h, got + n)) {
            post_rx(f, SLOTS);
            virtio_vsock_run(f->v);
            if (!recv_pkt(f, &h, got + n))
                break;
        }
        assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
        n += h.len;
    }
    assert_int_equal(n, sizeof(data));
    assert_memory_equal(got, data, sizeof(data));
    /* a CREDIT_REQUEST is answered with our counters */
    u = guest_hdr(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, 1234);
    send_pkt(f, &u, NULL);
    h = expect_pkt(f, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
    assert_int_equal(h.buf_alloc, VIRTIO_VSOCK_BUF_ALLOC);
    assert_int_equal(h.fwd_cnt, 0);
    close(peer);
}

static void test_credit_from_guest(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 1u << 20);
    int dev = dev_fd_of(f, peer);
    int small = 1; /* the kernel's minimum: the socket takes only a few KiB */
    assert_int_equal(setsockopt(dev, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
    static uint8_t chunk[VIRTIO_VSOCK_MAX_PKT];
    uint32_t sent = 0;
    /* the host peer does not read: our buffer holds the guest's data, up to our credit */
    while (sent + sizeof(chunk) <= VIRTIO_VSOCK_BUF_ALLOC) {
        for (unsigned i = 0; i < sizeof(chunk); i++)
            chunk[i] = (uint8_t)(sent + i);
        struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
        h.len = sizeof(chunk);
        send_pkt(f, &h, chunk);
        sent += sizeof(chunk);
    }
    expect_no_pkt(f);
    assert_true(f->h.watched[dev] & VSOCK_WATCH_OUT);
    /* the host reads everything: the guest hears of the freed space */
    static uint8_t got[VIRTIO_VSOCK_BUF_ALLOC];
    size_t n = 0;
    while (n < sent) {
        ssize_t r = read(peer, got + n, sizeof(got) - n);
        if (r > 0)
            n += (size_t)r;
        else
            event(f, peer, VSOCK_WATCH_OUT, false);
    }
    for (size_t i = 0; i < n; i++)
        if (got[i] != (uint8_t)i)
            fail_msg("byte %zu is %u", i, got[i]);
    struct vsock_hdr h;
    bool updated = false;
    while (recv_pkt(f, &h, NULL)) {
        assert_int_equal(h.op, VIRTIO_VSOCK_OP_CREDIT_UPDATE);
        updated = true;
    }
    assert_true(updated);
    /* the guest's view of our free space is back above half */
    assert_true(sent - h.fwd_cnt < VIRTIO_VSOCK_BUF_ALLOC / 2);

    /* a guest that sends past what it was told is reset */
    post_rx(f, SLOTS);
    uint32_t credit = VIRTIO_VSOCK_BUF_ALLOC; /* fwd_cnt == rx_cnt now: all of it again */
    while (credit >= sizeof(chunk)) {
        struct vsock_hdr w = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
        w.len = sizeof(chunk);
        send_pkt(f, &w, chunk);
        credit -= sizeof(chunk);
    }
    struct vsock_hdr w = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
    w.len = sizeof(chunk);
    send_pkt(f, &w, chunk);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    struct virtio_vsock_stats s;
    virtio_vsock_get_stats(f->v, &s);
    assert_int_equal(s.credit_resets, 1);
    close(peer);
}

static void test_half_and_full_close(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 1u << 20);
    struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234);
    h.len = 4;
    send_pkt(f, &h, "last");
    h = guest_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 1234);
    h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND; /* the guest will send no more */
    send_pkt(f, &h, NULL);
    uint8_t b[16];
    assert_int_equal(read(peer, b, sizeof(b)), 4);
    assert_int_equal(read(peer, b, sizeof(b)), 0); /* EOF after the data */
    /* the other way still works */
    assert_int_equal(write(peer, "reply", 5), 5);
    event(f, peer, VSOCK_WATCH_IN, false);
    uint8_t p[RX_DATA];
    assert_true(recv_pkt(f, &h, p));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_memory_equal(p, "reply", 5);
    /* the host's EOF: SHUTDOWN SEND */
    shutdown(peer, SHUT_WR);
    event(f, peer, VSOCK_WATCH_IN, false);
    h = expect_pkt(f, VIRTIO_VSOCK_OP_SHUTDOWN);
    assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
    /* the guest closes: RST, and the host socket is closed */
    h = guest_hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 1234);
    h.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV;
    send_pkt(f, &h, NULL);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
    assert_int_equal(send(peer, "x", 1, MSG_NOSIGNAL), -1); /* EPIPE: the device end is gone */
    close(peer);

    /* the host closes outright: SHUTDOWN RCV|SEND once its data is through */
    post_rx(f, SLOTS);
    peer = guest_connects(f, 5001, 1u << 20);
    assert_int_equal(write(peer, "bye", 3), 3);
    int dev = dev_fd_of(f, peer);
    close(peer);
    virtio_vsock_fd_event(f->v, f->h.cookie[dev], VSOCK_WATCH_IN, true, false);
    virtio_vsock_run(f->v);
    assert_true(recv_pkt(f, &h, p));
    assert_int_equal(h.op, VIRTIO_VSOCK_OP_RW);
    assert_memory_equal(p, "bye", 3);
    h = expect_pkt(f, VIRTIO_VSOCK_OP_SHUTDOWN);
    assert_int_equal(h.flags, VIRTIO_VSOCK_SHUTDOWN_SEND | VIRTIO_VSOCK_SHUTDOWN_RCV);
    assert_false(f->h.registered[dev]);             /* a hung-up socket is out of the loop */
    h = guest_hdr(VIRTIO_VSOCK_OP_RST, 5001, 1234); /* Linux answers with RST */
    send_pkt(f, &h, NULL);
    expect_no_pkt(f);
    /* a write to a host peer that is gone: RST */
    post_rx(f, SLOTS);
    peer = guest_connects(f, 5002, 1u << 20);
    close(peer);
    h = guest_hdr(VIRTIO_VSOCK_OP_RW, 5002, 1234);
    h.len = 2;
    send_pkt(f, &h, "hi");
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
}

static void test_host_initiated(void **state)
{
    struct fixture *f = *state;
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    f->h.peer_of[sv[0]] = sv[1];
    post_rx(f, SLOTS);
    assert_int_equal(virtio_vsock_host_connect(f->v, sv[0], 52), 0);
    struct vsock_hdr r = expect_pkt(f, VIRTIO_VSOCK_OP_REQUEST);
    assert_int_equal(r.dst_port, 52);
    assert_int_equal(r.src_port, VIRTIO_VSOCK_FIRST_LOCAL_PORT);
    uint8_t b[64];
    assert_int_equal(read(sv[1], b, sizeof(b)), -1); /* nothing before the guest answers */
    struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_RESPONSE, 52, r.src_port);
    send_pkt(f, &h, NULL);
    const char *ok = "OK 1073741824\n";
    assert_int_equal(read(sv[1], b, sizeof(b)), strlen(ok));
    assert_memory_equal(b, ok, strlen(ok));
    h = guest_hdr(VIRTIO_VSOCK_OP_RW, 52, r.src_port);
    h.len = 5;
    send_pkt(f, &h, "hello");
    assert_int_equal(read(sv[1], b, sizeof(b)), 5);
    assert_memory_equal(b, "hello", 5);
    close(sv[1]);

    /* a guest that does not listen answers RST: the host end is closed */
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    assert_int_equal(virtio_vsock_host_connect(f->v, sv[0], 53), 0);
    r = expect_pkt(f, VIRTIO_VSOCK_OP_REQUEST);
    assert_int_equal(r.src_port, VIRTIO_VSOCK_FIRST_LOCAL_PORT + 1);
    h = guest_hdr(VIRTIO_VSOCK_OP_RST, 53, r.src_port);
    send_pkt(f, &h, NULL);
    expect_no_pkt(f);
    assert_int_equal(read(sv[1], b, sizeof(b)), 0);
    close(sv[1]);
    /* a RESPONSE where none was asked for resets */
    h = guest_hdr(VIRTIO_VSOCK_OP_RESPONSE, 54, 1234);
    send_pkt(f, &h, NULL);
    expect_pkt(f, VIRTIO_VSOCK_OP_RST);
}

static void test_many_connections(void **state)
{
    struct fixture *f = *state;
    int peers[VIRTIO_VSOCK_MAX_CONNS];
    unsigned n = 0;
    for (; n < VIRTIO_VSOCK_MAX_CONNS && n < MAX_FDS / 2 - 4; n++)
        peers[n] = guest_connects(f, 10000 + n, 1u << 20);
    /* each gets its own bytes */
    for (unsigned i = 0; i < n; i++) {
        struct vsock_hdr h = guest_hdr(VIRTIO_VSOCK_OP_RW, 10000 + i, 1234);
        h.len = 4;
        uint32_t tag = i * 2654435761u;
        send_pkt(f, &h, &tag);
    }
    for (unsigned i = 0; i < n; i++) {
        uint32_t tag = 0;
        assert_int_equal(read(peers[i], &tag, 4), 4);
        assert_int_equal(tag, i * 2654435761u);
        close(peers[i]);
    }
}

static void test_reset_closes_sockets(void **state)
{
    struct fixture *f = *state;
    int peer = guest_connects(f, 5000, 1u << 20);
    unsigned kicks = f->h.kicks;
    drv_wr(&f->d, MMIO_STATUS, 0);
    assert_true(f->h.kicks > kicks); /* the worker closes them, not the vCPU */
    virtio_vsock_run(f->v);
    uint8_t b[4];
    assert_int_equal(read(peer, b, sizeof(b)), 0);
    close(peer);
    /* and it works again after the driver comes back */
    drv_init(&f->d, VIRTIO_ID_VSOCK, true);
    f->rx_posted = 0;
    peer = guest_connects(f, 5000, 1u << 20);
    close(peer);
}

static void test_restore_sends_transport_reset(void **state)
{
    struct fixture *f = *state;
    struct state_writer w;
    state_writer_init(&w);
    virtio_vsock_ops()->save(f->v, &w);
    assert_false(w.failed);

    struct fixture *g = make(GUEST_CID);
    struct state_reader r;
    state_reader_init(&r, w.buf, w.len);
    assert_true(virtio_vsock_ops()->restore(g->v, &r));
    drv_init(&g->d, VIRTIO_ID_VSOCK, true);
    uint64_t ev = drv_alloc(&g->d, 8, 0xff);
    struct seg s = {ev, 4, true};
    uint16_t head = drv_add(&g->d, EVQ, &s, 1);
    drv_kick(&g->d, EVQ);
    virtio_vsock_run(g->v);
    expect_used(&g->d, EVQ, head, 4);
    assert_int_equal(drv_host(&g->d, ev)[0], VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
    assert_int_equal(drv_host(&g->d, ev)[3], 0);
    virtio_vsock_run(g->v);
    expect_no_used(&g->d, EVQ); /* once */
    drv_free(&g->d);
    virtio_vsock_destroy(g->v);
    free(g);

    /* a snapshot of another CID is refused */
    struct virtio_vsock *other = virtio_vsock_create(GUEST_CID + 1, NULL);
    state_reader_init(&r, w.buf, w.len);
    assert_false(virtio_vsock_ops()->restore(other, &r));
    virtio_vsock_destroy(other);
    state_writer_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_header_and_config, setup, teardown),
        cmocka_unit_test_setup_teardown(test_guest_connect_and_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_connect_refused_and_strays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_to_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_credit_from_guest, setup, teardown),
        cmocka_unit_test_setup_teardown(test_half_and_full_close, setup, teardown),
        cmocka_unit_test_setup_teardown(test_host_initiated, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_connections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_closes_sockets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_sends_transport_reset, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
