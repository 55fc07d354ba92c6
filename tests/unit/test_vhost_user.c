/*
 * The vhost-user frontend against a fake backend on a socket pair: the bytes
 * and file descriptors each call sends (header, payload layout, SCM_RIGHTS),
 * the session's handshake, the memory table, and hostile backends (short
 * replies, wrong request ids, missing REPLY flag, huge sizes, refusals,
 * silence), each of which fails the call and leaves the connection dead
 * without a hang. Then the virtio-fs device through the real transport:
 * what activation tells the backend, a kick reaching the kick eventfd, a
 * call eventfd becoming the guest's interrupt, and a backend that goes away
 * leaving every request it held answered with EIO.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "devices/vhost_user.h"
#include "devices/virtio_fs.h"
#include "util/le.h"

#include "support/virtio_driver.h"

/* --- the fake backend ------------------------------------------------------------------ */

struct msg {
    uint32_t req, flags, size;
    uint8_t payload[512];
    int fds[8];
    unsigned nfds;
};

/* One whole message from the frontend (asserted to come within 1 s). */
static void backend_read(int fd, struct msg *m)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 1000), 1);
    uint8_t buf[12 + 512];
    union {
        char space[CMSG_SPACE(sizeof(int) * 8)];
        struct cmsghdr align;
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = 12}; /* a stream: the header first */
    struct msghdr mh = {.msg_iov = &iov,
                        .msg_iovlen = 1,
                        .msg_control = control.space,
                        .msg_controllen = sizeof(control.space)};
    assert_int_equal(recvmsg(fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL), 12);
    m->req = get_le32(buf);
    m->flags = get_le32(buf + 4);
    m->size = get_le32(buf + 8);
    assert_true(m->size <= sizeof(m->payload));
    if (m->size)
        assert_int_equal(recv(fd, m->payload, m->size, MSG_WAITALL), (ssize_t)m->size);
    m->nfds = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        unsigned k = (unsigned)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        memcpy(m->fds + m->nfds, CMSG_DATA(c), k * sizeof(int));
        m->nfds += k;
    }
}

static void expect_msg(int fd, struct msg *m, uint32_t req, uint32_t size)
{
    backend_read(fd, m);
    assert_int_equal(m->req, req);
    assert_int_equal(m->flags & VHOST_USER_FLAG_VERSION, VHOST_USER_VERSION);
    assert_false(m->flags & VHOST_USER_FLAG_REPLY);
    assert_int_equal(m->size, size);
}

static void expect_nothing(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 0), 0);
}

/* A reply as a backend writes it (raw: tests make broken ones too). */
static void reply_raw(int fd, uint32_t req, uint32_t flags, uint32_t size, const void *payload,
                      size_t payload_len)
{
    uint8_t buf[12 + 64];
    put_le32(buf, req);
    put_le32(buf + 4, flags);
    put_le32(buf + 8, size);
    memcpy(buf + 12, payload, payload_len);
    assert_int_equal(write(fd, buf, 12 + payload_len), (ssize_t)(12 + payload_len));
}

static void reply_u64(int fd, uint32_t req, uint64_t v)
{
    uint8_t p[8];
    put_le64(p, v);
    reply_raw(fd, req, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8, p, 8);
}

struct pair {
    int be; /* the backend's end */
    struct vhost_user *vu;
};

static int setup(void **state)
{
    struct pair *p = calloc(1, sizeof(*p));
    int sv[2];
    if (!p || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    p->be = sv[1];
    p->vu = vhost_user_open(sv[0]);
    *state = p;
    return p->vu ? 0 : -1;
}

static int teardown(void **state)
{
    struct pair *p = *state;
    vhost_user_close(p->vu);
    close(p->be);
    free(p);
    return 0;
}

/* The handshake with a backend offering features f (and protocol features proto). */
static void start_session(struct pair *p, uint64_t f, uint64_t proto)
{
    struct msg m;
    uint64_t features = 0;
    char err[200];
    reply_u64(p->be, VHOST_USER_GET_FEATURES, f);
    if (f & VHOST_USER_F_PROTOCOL_FEATURES) {
        reply_u64(p->be, VHOST_USER_GET_PROTOCOL_FEATURES, proto);
        if (proto & VHOST_USER_PROTOCOL_F_REPLY_ACK)
            reply_u64(p->be, VHOST_USER_SET_OWNER, 0); /* the ack */
    }
    assert_int_equal(vhost_user_start(p->vu, &features, err, sizeof(err)), 0);
    assert_int_equal(features, f);
    expect_msg(p->be, &m, VHOST_USER_GET_FEATURES, 0);
    if (f & VHOST_USER_F_PROTOCOL_FEATURES) {
        expect_msg(p->be, &m, VHOST_USER_GET_PROTOCOL_FEATURES, 0);
        expect_msg(p->be, &m, VHOST_USER_SET_PROTOCOL_FEATURES, 8);
        /* only what we use, REPLY_ACK, and only if offered */
        assert_int_equal(get_le64(m.payload), proto & VHOST_USER_PROTOCOL_F_REPLY_ACK);
    }
    expect_msg(p->be, &m, VHOST_USER_SET_OWNER, 0);
    assert_int_equal(!!(m.flags & VHOST_USER_FLAG_NEED_REPLY),
                     !!(proto & VHOST_USER_PROTOCOL_F_REPLY_ACK));
    expect_nothing(p->be);
}

/* --- encoding -------------------------------------------------------------------------- */

static void test_handshake_without_protocol_features(void **state)
{
    struct pair *p = *state;
    struct msg m;
    start_session(p, VIRTIO_F_VERSION_1, 0);
    assert_int_equal(vhost_user_set_features(p->vu, VIRTIO_F_VERSION_1), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_FEATURES, 8);
    assert_int_equal(get_le64(m.payload), VIRTIO_F_VERSION_1);
    /* rings start enabled: no SET_VRING_ENABLE without protocol features */
    assert_int_equal(vhost_user_set_vring_enable(p->vu, 1, true), 0);
    expect_nothing(p->be);
}

static void test_handshake_with_reply_ack(void **state)
{
    struct pair *p = *state;
    struct msg m;
    uint64_t f = VIRTIO_F_VERSION_1 | VHOST_USER_F_PROTOCOL_FEATURES;
    start_session(p, f, VHOST_USER_PROTOCOL_F_REPLY_ACK | 1 | (1ull << 9));
    /* SET_FEATURES keeps PROTOCOL_FEATURES, as the protocol asks */
    reply_u64(p->be, VHOST_USER_SET_FEATURES, 0);
    assert_int_equal(vhost_user_set_features(p->vu, VIRTIO_F_VERSION_1), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_FEATURES, 8);
    assert_true(m.flags & VHOST_USER_FLAG_NEED_REPLY);
    assert_int_equal(get_le64(m.payload), f);
    reply_u64(p->be, VHOST_USER_SET_VRING_ENABLE, 0);
    assert_int_equal(vhost_user_set_vring_enable(p->vu, 1, true), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_VRING_ENABLE, 8);
    assert_int_equal(get_le32(m.payload), 1);
    assert_int_equal(get_le32(m.payload + 4), 1);
    /* a refusal (non-zero ack) fails the call and the connection */
    reply_u64(p->be, VHOST_USER_SET_VRING_NUM, 1);
    assert_int_equal(vhost_user_set_vring_num(p->vu, 0, 64), -1);
    assert_false(vhost_user_alive(p->vu));
}

static void test_vring_messages(void **state)
{
    struct pair *p = *state;
    struct msg m;
    start_session(p, VIRTIO_F_VERSION_1, 0);
    assert_int_equal(vhost_user_set_vring_num(p->vu, 1, 256), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_VRING_NUM, 8);
    assert_int_equal(get_le32(m.payload), 1);
    assert_int_equal(get_le32(m.payload + 4), 256);
    assert_int_equal(vhost_user_set_vring_base(p->vu, 1, 7), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_VRING_BASE, 8);
    assert_int_equal(get_le32(m.payload + 4), 7);
    const struct vhost_user_vring_addr a = {.desc = 0x1000, .used = 0x3000, .avail = 0x2000};
    assert_int_equal(vhost_user_set_vring_addr(p->vu, 1, &a), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_VRING_ADDR, 40);
    assert_int_equal(get_le32(m.payload), 1);
    assert_int_equal(get_le32(m.payload + 4), 0);       /* no logging */
    assert_int_equal(get_le64(m.payload + 8), 0x1000);  /* descriptors */
    assert_int_equal(get_le64(m.payload + 16), 0x3000); /* used */
    assert_int_equal(get_le64(m.payload + 24), 0x2000); /* avail */
    assert_int_equal(get_le64(m.payload + 32), 0);

    /* kick/call/err: the index in the u64, the eventfd as SCM_RIGHTS */
    const enum vhost_user_request reqs[] = {VHOST_USER_SET_VRING_KICK, VHOST_USER_SET_VRING_CALL,
                                            VHOST_USER_SET_VRING_ERR};
    for (unsigned i = 0; i < 3; i++) {
        int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        assert_true(efd >= 0);
        assert_int_equal(vhost_user_set_vring_fd(p->vu, reqs[i], 1, efd), 0);
        expect_msg(p->be, &m, reqs[i], 8);
        assert_int_equal(get_le64(m.payload), 1); /* bit 8 clear: an fd is attached */
        assert_int_equal(m.nfds, 1);
        uint64_t one = 1, got = 0;
        assert_int_equal(write(m.fds[0], &one, 8), 8); /* the same eventfd */
        assert_int_equal(read(efd, &got, 8), 8);
        assert_int_equal(got, 1);
        close(m.fds[0]);
        close(efd);
    }
    /* not an fd message, a queue past the index field, no fd: refused unsent */
    assert_int_equal(vhost_user_set_vring_fd(p->vu, VHOST_USER_SET_VRING_NUM, 0, 0), -1);
    assert_int_equal(vhost_user_set_vring_fd(p->vu, VHOST_USER_SET_VRING_KICK, 256, 0), -1);
    assert_int_equal(vhost_user_set_vring_fd(p->vu, VHOST_USER_SET_VRING_KICK, 0, -1), -1);
    expect_nothing(p->be);

    /* GET_VRING_BASE: its reply's index must be the ring asked about */
    uint8_t st[8];
    put_le32(st, 1);
    put_le32(st + 4, 42);
    reply_raw(p->be, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8, st,
              8);
    uint16_t base = 0;
    assert_int_equal(vhost_user_get_vring_base(p->vu, 1, &base), 0);
    assert_int_equal(base, 42);
    expect_msg(p->be, &m, VHOST_USER_GET_VRING_BASE, 8);
    assert_int_equal(get_le32(m.payload), 1);
    put_le32(st, 0); /* another ring's */
    reply_raw(p->be, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8, st,
              8);
    assert_int_equal(vhost_user_get_vring_base(p->vu, 1, &base), -1);
    assert_false(vhost_user_alive(p->vu));
}

static void test_mem_table(void **state)
{
    struct pair *p = *state;
    struct msg m;
    start_session(p, VIRTIO_F_VERSION_1, 0);
    int fds[2] = {eventfd(0, EFD_CLOEXEC), eventfd(0, EFD_CLOEXEC)};
    const struct vhost_user_region r[2] = {
        {.gpa = 0x80000000, .size = 0x10000000, .user_addr = 0x7f0000000000, .fd = fds[0]},
        {.gpa = 0x1000000000,
         .size = 0x2000,
         .user_addr = 0x7f1000000000,
         .mmap_offset = 0x4000,
         .fd = fds[1]},
    };
    assert_int_equal(vhost_user_set_mem_table(p->vu, r, 2), 0);
    expect_msg(p->be, &m, VHOST_USER_SET_MEM_TABLE, 8 + 2 * 32);
    assert_int_equal(get_le32(m.payload), 2);
    assert_int_equal(get_le32(m.payload + 4), 0); /* padding */
    for (unsigned i = 0; i < 2; i++) {
        const uint8_t *e = m.payload + 8 + 32 * i;
        assert_int_equal(get_le64(e), r[i].gpa);
        assert_int_equal(get_le64(e + 8), r[i].size);
        assert_int_equal(get_le64(e + 16), r[i].user_addr);
        assert_int_equal(get_le64(e + 24), r[i].mmap_offset);
    }
    assert_int_equal(m.nfds, 2); /* one fd per region, in order */
    for (unsigned i = 0; i < 2; i++) {
        uint64_t v = i + 5, got = 0;
        assert_int_equal(write(m.fds[i], &v, 8), 8);
        assert_int_equal(read(fds[i], &got, 8), 8);
        assert_int_equal(got, i + 5);
        close(m.fds[i]);
        close(fds[i]);
    }
    /* no region, or more than the protocol carries: refused, nothing sent */
    assert_int_equal(vhost_user_set_mem_table(p->vu, r, 0), -1);
    assert_int_equal(vhost_user_set_mem_table(p->vu, r, VHOST_USER_MAX_REGIONS + 1), -1);
    expect_nothing(p->be);
    assert_true(vhost_user_alive(p->vu));
}

/* --- hostile backends ---------------------------------------------------------------- */

/* GET_FEATURES answered as `bad` is: the call fails, the connection is dead, and
   a later call fails at once without sending anything. */
static void expect_features_refused(struct pair *p)
{
    uint64_t f;
    char err[200];
    struct msg m;
    assert_int_equal(vhost_user_start(p->vu, &f, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "GET_FEATURES"));
    assert_false(vhost_user_alive(p->vu));
    expect_msg(p->be, &m, VHOST_USER_GET_FEATURES, 0);
    assert_int_equal(vhost_user_set_vring_num(p->vu, 0, 8), -1);
    expect_nothing(p->be);
}

static void test_wrong_request_id(void **state)
{
    struct pair *p = *state;
    reply_u64(p->be, VHOST_USER_GET_PROTOCOL_FEATURES, 1);
    expect_features_refused(p);
}

static void test_reply_flag_missing(void **state)
{
    struct pair *p = *state;
    uint8_t v[8] = {0};
    reply_raw(p->be, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION, 8, v, 8);
    expect_features_refused(p);
}

static void test_wrong_version(void **state)
{
    struct pair *p = *state;
    uint8_t v[8] = {0};
    reply_raw(p->be, VHOST_USER_GET_FEATURES, 2 | VHOST_USER_FLAG_REPLY, 8, v, 8);
    expect_features_refused(p);
}

static void test_huge_size(void **state)
{
    struct pair *p = *state;
    uint8_t v[8] = {0};
    /* a size the frontend must not try to read (or allocate) */
    reply_raw(p->be, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY,
              0xfffffff0u, v, 8);
    expect_features_refused(p);
}

static void test_short_reply(void **state)
{
    struct pair *p = *state;
    uint8_t v[8] = {0};
    /* a header that promises 8 bytes, 4 of them, then the backend closes */
    reply_raw(p->be, VHOST_USER_GET_FEATURES, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8, v, 4);
    shutdown(p->be, SHUT_WR);
    expect_features_refused(p);
}

static void test_short_header(void **state)
{
    struct pair *p = *state;
    uint8_t h[6] = {1, 0, 0, 0, 5, 0};
    assert_int_equal(write(p->be, h, sizeof(h)), 6);
    shutdown(p->be, SHUT_WR);
    expect_features_refused(p);
}

static void test_silent_backend_times_out(void **state)
{
    struct pair *p = *state;
    /* nothing answers: the call gives up (VHOST_USER_TIMEOUT_MS) instead of hanging */
    expect_features_refused(p);
}

static void test_backend_gone(void **state)
{
    struct pair *p = *state;
    start_session(p, VIRTIO_F_VERSION_1, 0);
    close(p->be);
    p->be = open("/dev/null", O_RDONLY);                         /* for teardown */
    assert_int_equal(vhost_user_set_vring_num(p->vu, 0, 8), -1); /* EPIPE, no SIGPIPE */
    assert_false(vhost_user_alive(p->vu));
}

/* --- the virtio-fs device ------------------------------------------------------------- */

#define FS_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)

struct fs_fixture {
    struct drv d;
    int be;
    int ram_fd;
    struct virtio_fs_daemon *daemon;
    struct virtio_fs *fs;
    int kick[2], call[2];
};

static int fs_setup(void **state)
{
    struct fs_fixture *f = calloc(1, sizeof(*f));
    int sv[2];
    char err[200];
    if (!f || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return -1;
    f->be = sv[1];
    reply_u64(f->be, VHOST_USER_GET_FEATURES, FS_FEATURES);
    f->daemon = virtio_fs_daemon_adopt(sv[0], err, sizeof(err));
    if (!f->daemon)
        return -1;
    struct msg m;
    expect_msg(f->be, &m, VHOST_USER_GET_FEATURES, 0);
    expect_msg(f->be, &m, VHOST_USER_SET_OWNER, 0);
    f->ram_fd = eventfd(0, EFD_CLOEXEC); /* any fd: the backend is fake */
    *state = f;
    return 0;
}

static void fs_make(struct fs_fixture *f)
{
    char err[200];
    drv_create(&f->d, virtio_fs_ops(), NULL);
    const struct virtio_fs_ram ram = {
        .fd = f->ram_fd, .gpa = RAM_BASE, .size = RAM_SIZE, .host = f->d.ram};
    f->fs = virtio_fs_create(f->daemon, "myshare", &ram, err, sizeof(err));
    assert_non_null(f->fs);
    /* the transport was made with a NULL opaque: bind both ways */
    virtio_destroy(f->d.dev);
    f->d.dev = virtio_create(virtio_fs_ops(), f->fs, &f->d.mem, NULL, NULL);
    assert_non_null(f->d.dev);
    virtio_fs_bind(f->fs, f->d.dev);
}

static int fs_teardown(void **state)
{
    struct fs_fixture *f = *state;
    if (f->fs)
        virtio_fs_destroy(f->fs);
    drv_free(&f->d);
    virtio_fs_daemon_stop(f->daemon);
    close(f->be);
    close(f->ram_fd);
    free(f);
    return 0;
}

static void test_fs_config(void **state)
{
    struct fs_fixture *f = *state;
    fs_make(f);
    assert_int_equal(drv_rd(&f->d, 0x008), VIRTIO_ID_FS);
    char tag[37] = {0};
    for (unsigned i = 0; i < 36; i += 4) {
        uint32_t v = drv_rd(&f->d, 0x100 + i);
        memcpy(tag + i, &v, 4);
    }
    assert_string_equal(tag, "myshare");
    assert_int_equal(drv_rd(&f->d, 0x100 + 36), 1); /* num_request_queues */
    char err[200];
    const struct virtio_fs_ram ram = {.fd = f->ram_fd, .gpa = RAM_BASE, .size = RAM_SIZE};
    assert_null(virtio_fs_create(f->daemon, "", &ram, err, sizeof(err)));
    assert_null(virtio_fs_create(f->daemon, "0123456789012345678901234567890123456", &ram, err,
                                 sizeof(err))); /* 37 bytes */
    const struct virtio_fs_ram no_fd = {.fd = -1, .gpa = RAM_BASE, .size = RAM_SIZE};
    assert_null(virtio_fs_create(f->daemon, "t", &no_fd, err, sizeof(err)));
}

/* Activation as the backend sees it: features, the RAM's region, each ring. */
static void activate(struct fs_fixture *f)
{
    struct msg m;
    drv_init(&f->d, VIRTIO_ID_FS, true);
    expect_msg(f->be, &m, VHOST_USER_SET_FEATURES, 8);
    assert_int_equal(get_le64(m.payload) & VIRTIO_F_VERSION_1, VIRTIO_F_VERSION_1);
    expect_msg(f->be, &m, VHOST_USER_SET_MEM_TABLE, 40);
    assert_int_equal(get_le32(m.payload), 1);
    assert_int_equal(get_le64(m.payload + 8), RAM_BASE);
    assert_int_equal(get_le64(m.payload + 16), RAM_SIZE);
    assert_int_equal(get_le64(m.payload + 24), (uintptr_t)f->d.ram);
    assert_int_equal(m.nfds, 1);
    close(m.fds[0]);
    for (unsigned q = 0; q < 2; q++) {
        expect_msg(f->be, &m, VHOST_USER_SET_VRING_NUM, 8);
        assert_int_equal(get_le32(m.payload), q);
        assert_int_equal(get_le32(m.payload + 4), QNUM);
        expect_msg(f->be, &m, VHOST_USER_SET_VRING_BASE, 8);
        assert_int_equal(get_le32(m.payload + 4), 0);
        expect_msg(f->be, &m, VHOST_USER_SET_VRING_ADDR, 40);
        assert_int_equal(get_le64(m.payload + 8), (uintptr_t)drv_host(&f->d, f->d.q[q].desc));
        assert_int_equal(get_le64(m.payload + 16), (uintptr_t)drv_host(&f->d, f->d.q[q].used));
        assert_int_equal(get_le64(m.payload + 24), (uintptr_t)drv_host(&f->d, f->d.q[q].avail));
        expect_msg(f->be, &m, VHOST_USER_SET_VRING_CALL, 8);
        assert_int_equal(m.nfds, 1);
        f->call[q] = m.fds[0];
        expect_msg(f->be, &m, VHOST_USER_SET_VRING_KICK, 8);
        assert_int_equal(m.nfds, 1);
        f->kick[q] = m.fds[0];
    }
    expect_nothing(f->be);
}

static void test_fs_forwards_kicks_and_calls(void **state)
{
    struct fs_fixture *f = *state;
    fs_make(f);
    activate(f);
    uint64_t req = drv_alloc(&f->d, 40, 0x11), rep = drv_alloc(&f->d, 64, 0);
    const struct seg segs[2] = {{req, 40, false}, {rep, 64, true}};
    uint16_t head = drv_add(&f->d, 1, segs, 2);
    drv_kick(&f->d, 1);
    uint64_t v = 0;
    assert_int_equal(read(f->kick[1], &v, 8), 8); /* the kick reached the backend */
    assert_int_equal(v, 1);
    /* the backend answers in the used ring itself and signals the call eventfd */
    uint8_t *used = drv_host(&f->d, f->d.q[1].used);
    put_le32(used + 4, head);
    put_le32(used + 8, 16);
    __atomic_store_n((uint16_t *)(used + 2), 1, __ATOMIC_RELEASE);
    v = 1;
    assert_int_equal(write(f->call[1], &v, 8), 8);
    for (int i = 0; i < 1000 && !(drv_rd(&f->d, 0x060) & 1); i++)
        usleep(1000);
    assert_int_equal(drv_rd(&f->d, 0x060) & 1, 1); /* InterruptStatus: used buffer */
    expect_used(&f->d, 1, head, 16);
    /* teardown stops both rings: GET_VRING_BASE, answered */
    for (unsigned q = 0; q < 2; q++) {
        uint8_t st[8];
        put_le32(st, q);
        put_le32(st + 4, q);
        reply_raw(f->be, VHOST_USER_GET_VRING_BASE, VHOST_USER_VERSION | VHOST_USER_FLAG_REPLY, 8,
                  st, 8);
    }
}

static void test_fs_backend_gone_answers_eio(void **state)
{
    struct fs_fixture *f = *state;
    fs_make(f);
    activate(f);
    /* one request the backend took and never answered */
    uint64_t req = drv_alloc(&f->d, 40, 0), rep = drv_alloc(&f->d, 64, 0xee);
    uint8_t *in = drv_host(&f->d, req);
    put_le32(in, 40);
    put_le32(in + 4, 15);                 /* FUSE_READ */
    put_le64(in + 8, 0x1234567890abcull); /* unique */
    const struct seg segs[2] = {{req, 40, false}, {rep, 64, true}};
    uint16_t head = drv_add(&f->d, 1, segs, 2);
    drv_kick(&f->d, 1);
    /* the backend dies */
    close(f->be);
    f->be = open("/dev/null", O_RDONLY);
    for (int i = 0; i < 1000 && drv_used_idx(&f->d, 1) == 0; i++)
        usleep(1000);
    expect_used(&f->d, 1, head, 16);
    const uint8_t *out = drv_host(&f->d, rep);
    assert_int_equal(get_le32(out), 16);
    assert_int_equal((int32_t)get_le32(out + 4), -EIO);
    assert_int_equal(get_le64(out + 8), 0x1234567890abcull);
    assert_int_equal(out[16], 0xee); /* nothing past the header */
    /* and a request made later is answered at once, on the kick */
    put_le64(in + 8, 77);
    head = drv_add(&f->d, 1, segs, 2);
    drv_kick(&f->d, 1);
    expect_used(&f->d, 1, head, 16);
    assert_int_equal(get_le64(out + 8), 77);
    /* a reset and a new activation on the dead backend: still EIO, no hang */
    drv_init(&f->d, VIRTIO_ID_FS, true);
    head = drv_add(&f->d, 1, segs, 2);
    drv_kick(&f->d, 1);
    expect_used(&f->d, 1, head, 16);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_handshake_without_protocol_features, setup, teardown),
        cmocka_unit_test_setup_teardown(test_handshake_with_reply_ack, setup, teardown),
        cmocka_unit_test_setup_teardown(test_vring_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mem_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_request_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reply_flag_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_huge_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_reply, setup, teardown),
        cmocka_unit_test_setup_teardown(test_short_header, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_backend_times_out, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backend_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fs_config, fs_setup, fs_teardown),
        cmocka_unit_test_setup_teardown(test_fs_forwards_kicks_and_calls, fs_setup, fs_teardown),
        cmocka_unit_test_setup_teardown(test_fs_backend_gone_answers_eio, fs_setup, fs_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
