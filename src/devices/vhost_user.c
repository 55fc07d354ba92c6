/* SPDX-License-Identifier: MIT */
/*
 * vhost_user.c - the vhost-user frontend (see vhost_user.h).
 *
 * Replies are read with read(2) after poll(2), so the calls work on a vCPU
 * thread's seccomp filter; only sends carry file descriptors (sendmsg).
 */
#include "devices/vhost_user.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/le.h"

/* The biggest message we send: SET_MEM_TABLE with every region. */
#define MAX_PAYLOAD (8u + 32u * VHOST_USER_MAX_REGIONS)

struct vhost_user {
    pthread_mutex_t lock; /* one request and its reply at a time */
    int fd;
    bool dead;                  /* atomic: read without the lock */
    uint64_t backend_features;  /* GET_FEATURES' answer */
    uint64_t protocol_features; /* what we acknowledged */
};

struct vhost_user *vhost_user_open(int fd)
{
    struct vhost_user *vu = calloc(1, sizeof(*vu));
    if (!vu)
        return NULL;
    if (pthread_mutex_init(&vu->lock, NULL) != 0) {
        free(vu);
        return NULL;
    }
    vu->fd = fd;
    return vu;
}

void vhost_user_close(struct vhost_user *vu)
{
    if (!vu)
        return;
    if (vu->fd >= 0)
        close(vu->fd);
    pthread_mutex_destroy(&vu->lock);
    free(vu);
}

int vhost_user_fd(const struct vhost_user *vu)
{
    return vu->fd;
}

bool vhost_user_alive(const struct vhost_user *vu)
{
    return !__atomic_load_n(&vu->dead, __ATOMIC_ACQUIRE);
}

static int fail(struct vhost_user *vu)
{
    __atomic_store_n(&vu->dead, true, __ATOMIC_RELEASE);
    return -1;
}

/* --- one message ------------------------------------------------------------------------ */

/* Header + payload in one sendmsg, with fds (at most one here) as SCM_RIGHTS. */
static int send_msg(struct vhost_user *vu, uint32_t req, uint32_t flags, const uint8_t *payload,
                    uint32_t size, const int *fds, unsigned nfds)
{
    uint8_t buf[VHOST_USER_HEADER_SIZE + MAX_PAYLOAD];
    union {
        char space[CMSG_SPACE(sizeof(int) * VHOST_USER_MAX_REGIONS)];
        struct cmsghdr align;
    } control;
    if (size > MAX_PAYLOAD || nfds > VHOST_USER_MAX_REGIONS)
        return -1;
    put_le32(buf, req);
    put_le32(buf + 4, VHOST_USER_VERSION | flags);
    put_le32(buf + 8, size);
    if (size)
        memcpy(buf + VHOST_USER_HEADER_SIZE, payload, size);
    struct iovec iov = {.iov_base = buf, .iov_len = VHOST_USER_HEADER_SIZE + size};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    if (nfds) {
        memset(&control, 0, sizeof(control));
        msg.msg_control = control.space;
        msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
    }
    for (;;) {
        /* A full socket buffer means the backend stopped reading: dead. */
        ssize_t n = sendmsg(vu->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        return n == (ssize_t)iov.iov_len ? 0 : -1;
    }
}

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Exactly len bytes before the deadline. */
static int read_exact(int fd, uint8_t *buf, size_t len, int64_t deadline)
{
    size_t got = 0;
    while (got < len) {
        int64_t left = deadline - now_ms();
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0)
            return -1;
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, buf + got, len - got);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return -1; /* EOF: the backend is gone */
        got += (size_t)n;
    }
    return 0;
}

/* The reply to req: its header must name req, say REPLY and version 1, and
   its size must be exactly size (anything else leaves the stream unusable). */
static int read_reply(struct vhost_user *vu, uint32_t req, uint8_t *payload, uint32_t size)
{
    uint8_t hdr[VHOST_USER_HEADER_SIZE];
    int64_t deadline = now_ms() + VHOST_USER_TIMEOUT_MS;
    if (read_exact(vu->fd, hdr, sizeof(hdr), deadline))
        return -1;
    uint32_t flags = get_le32(hdr + 4);
    if (get_le32(hdr) != req || !(flags & VHOST_USER_FLAG_REPLY) ||
        (flags & VHOST_USER_FLAG_VERSION) != VHOST_USER_VERSION || get_le32(hdr + 8) != size)
        return -1;
    return read_exact(vu->fd, payload, size, deadline);
}

/* A request without a reply of its own; with REPLY_ACK, ask for the ack and
   check it (so a backend's refusal is seen where it happened). */
static int request(struct vhost_user *vu, uint32_t req, const uint8_t *payload, uint32_t size,
                   const int *fds, unsigned nfds)
{
    if (!vhost_user_alive(vu))
        return -1;
    pthread_mutex_lock(&vu->lock);
    bool ack = vu->protocol_features & VHOST_USER_PROTOCOL_F_REPLY_ACK;
    int rc = send_msg(vu, req, ack ? VHOST_USER_FLAG_NEED_REPLY : 0, payload, size, fds, nfds);
    if (rc == 0 && ack) {
        uint8_t v[8];
        rc = read_reply(vu, req, v, sizeof(v));
        if (rc == 0 && get_le64(v) != 0)
            rc = -1;
    }
    pthread_mutex_unlock(&vu->lock);
    return rc ? fail(vu) : 0;
}

/* A request whose reply carries size bytes (GET_*). */
static int query(struct vhost_user *vu, uint32_t req, const uint8_t *payload, uint32_t psize,
                 uint8_t *reply, uint32_t size)
{
    if (!vhost_user_alive(vu))
        return -1;
    pthread_mutex_lock(&vu->lock);
    int rc = send_msg(vu, req, 0, payload, psize, NULL, 0);
    if (rc == 0)
        rc = read_reply(vu, req, reply, size);
    pthread_mutex_unlock(&vu->lock);
    return rc ? fail(vu) : 0;
}

static int send_u64(struct vhost_user *vu, uint32_t req, uint64_t v, const int *fds, unsigned nfds)
{
    uint8_t p[8];
    put_le64(p, v);
    return request(vu, req, p, sizeof(p), fds, nfds);
}

static int send_state(struct vhost_user *vu, uint32_t req, unsigned q, uint32_t num)
{
    uint8_t p[8];
    put_le32(p, q);
    put_le32(p + 4, num);
    return request(vu, req, p, sizeof(p), NULL, 0);
}

/* --- the session ------------------------------------------------------------------------- */

int vhost_user_start(struct vhost_user *vu, uint64_t *features, char *err, size_t err_len)
{
    uint8_t v[8];
    if (query(vu, VHOST_USER_GET_FEATURES, NULL, 0, v, sizeof(v)))
        return set_err(err, err_len, "vhost-user: no answer to GET_FEATURES");
    vu->backend_features = *features = get_le64(v);
    if (vu->backend_features & VHOST_USER_F_PROTOCOL_FEATURES) {
        if (query(vu, VHOST_USER_GET_PROTOCOL_FEATURES, NULL, 0, v, sizeof(v)))
            return set_err(err, err_len, "vhost-user: no answer to GET_PROTOCOL_FEATURES");
        uint64_t proto = get_le64(v) & VHOST_USER_PROTOCOL_F_REPLY_ACK;
        if (send_u64(vu, VHOST_USER_SET_PROTOCOL_FEATURES, proto, NULL, 0))
            return set_err(err, err_len, "vhost-user: SET_PROTOCOL_FEATURES failed");
        vu->protocol_features = proto; /* the acks start with the next message */
    }
    if (request(vu, VHOST_USER_SET_OWNER, NULL, 0, NULL, 0))
        return set_err(err, err_len, "vhost-user: SET_OWNER failed");
    return 0;
}

int vhost_user_set_features(struct vhost_user *vu, uint64_t features)
{
    features |= vu->backend_features & VHOST_USER_F_PROTOCOL_FEATURES;
    return send_u64(vu, VHOST_USER_SET_FEATURES, features, NULL, 0);
}

int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *r, unsigned n)
{
    uint8_t p[MAX_PAYLOAD] = {0};
    int fds[VHOST_USER_MAX_REGIONS];
    if (n == 0 || n > VHOST_USER_MAX_REGIONS)
        return -1;
    put_le32(p, n); /* then 4 bytes of padding */
    for (unsigned i = 0; i < n; i++) {
        uint8_t *e = p + 8 + 32 * i;
        put_le64(e, r[i].gpa);
        put_le64(e + 8, r[i].size);
        put_le64(e + 16, r[i].user_addr);
        put_le64(e + 24, r[i].mmap_offset);
        fds[i] = r[i].fd;
    }
    return request(vu, VHOST_USER_SET_MEM_TABLE, p, 8 + 32 * n, fds, n);
}

int vhost_user_set_vring_num(struct vhost_user *vu, unsigned q, unsigned num)
{
    return send_state(vu, VHOST_USER_SET_VRING_NUM, q, num);
}

int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned q,
                              const struct vhost_user_vring_addr *a)
{
    uint8_t p[40] = {0}; /* index, flags (no logging), desc, used, avail, log */
    put_le32(p, q);
    put_le64(p + 8, a->desc);
    put_le64(p + 16, a->used);
    put_le64(p + 24, a->avail);
    return request(vu, VHOST_USER_SET_VRING_ADDR, p, sizeof(p), NULL, 0);
}

int vhost_user_set_vring_base(struct vhost_user *vu, unsigned q, uint16_t base)
{
    return send_state(vu, VHOST_USER_SET_VRING_BASE, q, base);
}

int vhost_user_set_vring_fd(struct vhost_user *vu, enum vhost_user_request req, unsigned q, int fd)
{
    if ((req != VHOST_USER_SET_VRING_KICK && req != VHOST_USER_SET_VRING_CALL &&
         req != VHOST_USER_SET_VRING_ERR) ||
        q > 0xff || fd < 0)
        return -1;
    return send_u64(vu, req, q, &fd, 1); /* bit 8 clear: an fd comes with it */
}

int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned q, bool enable)
{
    if (!(vu->backend_features & VHOST_USER_F_PROTOCOL_FEATURES))
        return 0; /* rings start enabled without protocol features */
    return send_state(vu, VHOST_USER_SET_VRING_ENABLE, q, enable);
}

int vhost_user_get_vring_base(struct vhost_user *vu, unsigned q, uint16_t *base)
{
    uint8_t p[8], v[8];
    put_le32(p, q);
    put_le32(p + 4, 0);
    if (query(vu, VHOST_USER_GET_VRING_BASE, p, sizeof(p), v, sizeof(v)))
        return -1;
    if (get_le32(v) != q || get_le32(v + 4) > UINT16_MAX)
        return fail(vu);
    *base = (uint16_t)get_le32(v + 4);
    return 0;
}
