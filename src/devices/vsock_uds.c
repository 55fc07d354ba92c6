/* SPDX-License-Identifier: MIT */
/*
 * vsock_uds.c - the socket device's Unix-socket side and its worker thread
 * (see vsock_uds.h). The epoll cookie of each fd says what it is: the
 * eventfd, the listener, a handshake (a slot of `pending`) or, for anything
 * else, one of the device's connections.
 */
#include "devices/vsock_uds.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "host/sandbox.h"
#include "util/err.h"

#define MAX_PENDING  16u
#define MAX_LINE     32u /* "CONNECT 4294967295\n" is 19 */
#define EVENTS_BATCH 64

/* A host connection that has not said its port yet. */
struct pending {
    int fd;         /* -1: slot free */
    uint64_t since; /* order of arrival: the oldest goes when all are taken */
    unsigned len;
    char line[MAX_LINE];
};

struct vsock_uds {
    struct virtio_vsock *dev;
    char path[VSOCK_UDS_PATH_MAX];
    int listen_fd, epoll_fd, wake_fd;
    atomic_bool stop;
    pthread_t thread;
    bool started;
    uint64_t arrivals;
    struct pending pending[MAX_PENDING];
    char wake_tag, listen_tag; /* their addresses are the eventfd's and listener's cookies */
};

/* --- the device's host ops (worker thread, device lock held; kick: any thread) --------- */

static int host_connect(void *opaque, uint32_t port)
{
    struct vsock_uds *u = opaque;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int n = snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", u->path, port);
    if (n < 0 || (size_t)n >= sizeof(sa.sun_path))
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* A Unix connect completes at once or fails (a full backlog: EAGAIN, refused too). */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void host_watch(void *opaque, int fd, unsigned events, void *cookie)
{
    struct vsock_uds *u = opaque;
    struct epoll_event ev = {.events = events & (EPOLLIN | EPOLLOUT), .data.ptr = cookie};
    if (epoll_ctl(u->epoll_fd, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT)
        epoll_ctl(u->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static void host_unwatch(void *opaque, int fd)
{
    struct vsock_uds *u = opaque;
    epoll_ctl(u->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
}

static void host_kick(void *opaque)
{
    struct vsock_uds *u = opaque;
    uint64_t one = 1;
    if (write(u->wake_fd, &one, sizeof(one)) < 0) {
        /* EAGAIN: the counter is near its maximum, a wake-up is pending anyway */
    }
}

/* --- handshakes ---------------------------------------------------------------------- */

static void pending_drop(struct vsock_uds *u, struct pending *p)
{
    epoll_ctl(u->epoll_fd, EPOLL_CTL_DEL, p->fd, NULL);
    close(p->fd);
    p->fd = -1;
}

static void accept_all(struct vsock_uds *u)
{
    for (;;) {
        int fd = accept4(u->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return; /* EAGAIN, or an error the next event retries */
        struct pending *slot = NULL;
        for (unsigned i = 0; i < MAX_PENDING; i++) {
            struct pending *p = &u->pending[i];
            if (p->fd < 0) {
                slot = p;
                break;
            }
            if (!slot || p->since < slot->since)
                slot = p;
        }
        if (slot->fd >= 0)
            pending_drop(u, slot); /* all taken: the oldest silent one goes */
        *slot = (struct pending){.fd = fd, .since = u->arrivals++};
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = slot};
        if (epoll_ctl(u->epoll_fd, EPOLL_CTL_ADD, fd, &ev) != 0) {
            close(fd);
            slot->fd = -1;
        }
    }
}

/* "CONNECT <port>" exactly: the port in decimal, 1 to 10 digits, < 2^32. */
static bool parse_connect(const char *line, unsigned len, uint32_t *port)
{
    static const char prefix[] = "CONNECT ";
    const unsigned plen = sizeof(prefix) - 1;
    if (len <= plen || len > plen + 10 || memcmp(line, prefix, plen) != 0)
        return false;
    uint64_t value = 0;
    for (unsigned i = plen; i < len; i++) {
        if (line[i] < '0' || line[i] > '9')
            return false;
        value = value * 10 + (uint64_t)(line[i] - '0');
    }
    if (value > UINT32_MAX)
        return false;
    *port = (uint32_t)value;
    return true;
}

/* Read the line a byte at a time, so no byte of the stream after it is taken. */
static void pending_read(struct vsock_uds *u, struct pending *p)
{
    for (;;) {
        char ch;
        ssize_t n = read(p->fd, &ch, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0 || (ch != '\n' && p->len == MAX_LINE - 1)) {
            pending_drop(u, p); /* gone, or a line too long */
            return;
        }
        if (ch != '\n') {
            p->line[p->len++] = ch;
            continue;
        }
        uint32_t port;
        if (!parse_connect(p->line, p->len, &port)) {
            pending_drop(u, p);
            return;
        }
        int fd = p->fd;
        epoll_ctl(u->epoll_fd, EPOLL_CTL_DEL, fd, NULL);
        p->fd = -1;
        virtio_vsock_host_connect(u->dev, fd, port); /* the device owns fd now */
        return;
    }
}

/* --- the worker ---------------------------------------------------------------------- */

static void *worker(void *arg)
{
    struct vsock_uds *u = arg;
    sandbox_enter_or_warn(SANDBOX_VSOCK);
    struct epoll_event evs[EVENTS_BATCH];
    while (!atomic_load(&u->stop)) {
        int n = epoll_wait(u->epoll_fd, evs, EVENTS_BATCH, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        for (int i = 0; i < n; i++) {
            void *tag = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (tag == &u->wake_tag) {
                uint64_t count;
                if (read(u->wake_fd, &count, sizeof(count)) < 0) {
                    /* EAGAIN: another batch took it */
                }
            } else if (tag == &u->listen_tag) {
                accept_all(u);
            } else if ((struct pending *)tag >= u->pending &&
                       (struct pending *)tag < u->pending + MAX_PENDING) {
                struct pending *p = tag;
                if (p->fd >= 0)
                    pending_read(u, p);
            } else {
                virtio_vsock_fd_event(u->dev, tag, e & (EPOLLIN | EPOLLOUT), (e & EPOLLHUP) != 0,
                                      (e & EPOLLERR) != 0);
            }
        }
        virtio_vsock_run(u->dev);
    }
    return NULL;
}

/* --- lifecycle ----------------------------------------------------------------------- */

static int listen_on(const char *path, char *err, size_t err_len)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    if (strlen(path) >= VSOCK_UDS_PATH_MAX)
        return set_err(err, err_len, "vsock: the socket path is longer than %u bytes",
                       VSOCK_UDS_PATH_MAX - 1);
    if (!path[0])
        return set_err(err, err_len, "vsock: an empty socket path");
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode))
            return set_err(err, err_len, "vsock: '%s' exists and is not a socket", path);
        unlink(path); /* a stale socket from an earlier run */
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return set_err(err, err_len, "vsock: socket: %s", strerror(errno));
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 64) != 0) {
        set_err(err, err_len, "vsock: cannot listen on '%s': %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

static void free_all(struct vsock_uds *u)
{
    for (unsigned i = 0; i < MAX_PENDING; i++)
        if (u->pending[i].fd >= 0)
            close(u->pending[i].fd);
    virtio_vsock_destroy(u->dev);
    if (u->listen_fd >= 0) {
        close(u->listen_fd);
        unlink(u->path);
    }
    if (u->epoll_fd >= 0)
        close(u->epoll_fd);
    if (u->wake_fd >= 0)
        close(u->wake_fd);
    free(u);
}

struct vsock_uds *vsock_uds_create(uint64_t guest_cid, const char *path, char *err, size_t err_len)
{
    struct vsock_uds *u = calloc(1, sizeof(*u));
    if (!u) {
        set_err(err, err_len, "vsock: out of memory");
        return NULL;
    }
    u->listen_fd = u->epoll_fd = u->wake_fd = -1;
    for (unsigned i = 0; i < MAX_PENDING; i++)
        u->pending[i].fd = -1;
    const struct vsock_host_ops ops = {.connect = host_connect,
                                       .watch = host_watch,
                                       .unwatch = host_unwatch,
                                       .kick = host_kick,
                                       .opaque = u};
    if (!(u->dev = virtio_vsock_create(guest_cid, &ops))) {
        set_err(err, err_len, "vsock: guest CID %llu (%u to %u) or out of memory",
                (unsigned long long)guest_cid, VIRTIO_VSOCK_MIN_CID, VIRTIO_VSOCK_MAX_CID);
        free_all(u);
        return NULL;
    }
    if ((u->listen_fd = listen_on(path, err, err_len)) < 0) {
        free_all(u);
        return NULL;
    }
    snprintf(u->path, sizeof(u->path), "%s", path);
    u->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    u->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = &u->wake_tag};
    struct epoll_event lis = {.events = EPOLLIN, .data.ptr = &u->listen_tag};
    if (u->epoll_fd < 0 || u->wake_fd < 0 ||
        epoll_ctl(u->epoll_fd, EPOLL_CTL_ADD, u->wake_fd, &wake) != 0 ||
        epoll_ctl(u->epoll_fd, EPOLL_CTL_ADD, u->listen_fd, &lis) != 0) {
        set_err(err, err_len, "vsock: epoll: %s", strerror(errno));
        free_all(u);
        return NULL;
    }
    /* The worker takes no signals: they belong to the vCPU and main threads. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&u->thread, NULL, worker, u);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        set_err(err, err_len, "vsock: cannot start its worker thread: %s", strerror(rc));
        free_all(u);
        return NULL;
    }
    u->started = true;
    return u;
}

struct virtio_vsock *vsock_uds_device(struct vsock_uds *u)
{
    return u->dev;
}

void vsock_uds_stop(struct vsock_uds *u)
{
    if (!u || !u->started)
        return;
    atomic_store(&u->stop, true);
    host_kick(u);
    pthread_join(u->thread, NULL);
    u->started = false;
}

void vsock_uds_destroy(struct vsock_uds *u)
{
    if (!u)
        return;
    vsock_uds_stop(u);
    free_all(u);
}
