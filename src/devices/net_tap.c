/* SPDX-License-Identifier: MIT */
/*
 * net_tap.c - a TAP interface, or any fd carrying one Ethernet frame per
 * read and write, as a virtio-net backend (see net_tap.h).
 */
#include "devices/net_tap.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "host/sandbox.h"

struct net_tap {
    int fd;      /* /dev/net/tun, attached to the interface */
    int stop_fd; /* eventfd: tells the reader to return */
    char name[IFNAMSIZ];
    pthread_t reader;
    bool reader_started;

    pthread_mutex_t net_lock; /* guards net, held while delivering to it */
    struct virtio_net *net;

    pthread_mutex_t stats_lock;
    struct net_tap_stats stats;

    uint8_t rx_buf[VIRTIO_NET_MAX_FRAME]; /* reader thread only */
};

static void fail(char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;

    if (err && err_len) {
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
}

static void *reader_thread(void *arg)
{
    struct net_tap *t = arg;
    sandbox_enter_or_warn(SANDBOX_NET_READER);
    struct pollfd pfd[2] = {{.fd = t->fd, .events = POLLIN}, {.fd = t->stop_fd, .events = POLLIN}};

    for (;;) {
        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
            break; /* the interface went away */
        if (!(pfd[0].revents & POLLIN))
            continue;
        ssize_t n = read(t->fd, t->rx_buf, sizeof(t->rx_buf));
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN)
                continue;
            break;
        }
        pthread_mutex_lock(&t->net_lock);
        if (t->net)
            virtio_net_receive(t->net, t->rx_buf, (size_t)n);
        pthread_mutex_unlock(&t->net_lock);
        pthread_mutex_lock(&t->stats_lock);
        t->stats.rx_frames++;
        pthread_mutex_unlock(&t->stats_lock);
    }
    return NULL;
}

static int tap_send(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_tap *t = opaque;
    ssize_t n;

    do
        n = write(t->fd, frame, len);
    while (n < 0 && errno == EINTR);
    pthread_mutex_lock(&t->stats_lock);
    if (n == (ssize_t)len)
        t->stats.tx_frames++;
    else
        t->stats.tx_errors++; /* EIO while the interface is down; EAGAIN when its queue is full */
    pthread_mutex_unlock(&t->stats_lock);
    return n == (ssize_t)len ? 0 : -1;
}

struct net_backend net_tap_backend(struct net_tap *t)
{
    return (struct net_backend){.send = tap_send, .opaque = t};
}

void net_tap_attach(struct net_tap *t, struct virtio_net *n)
{
    pthread_mutex_lock(&t->net_lock);
    t->net = n;
    pthread_mutex_unlock(&t->net_lock);
}

const char *net_tap_name(const struct net_tap *t)
{
    return t->name;
}

void net_tap_get_stats(struct net_tap *t, struct net_tap_stats *out)
{
    pthread_mutex_lock(&t->stats_lock);
    *out = t->stats;
    pthread_mutex_unlock(&t->stats_lock);
}

static void free_all(struct net_tap *t)
{
    if (t->fd >= 0)
        close(t->fd);
    if (t->stop_fd >= 0)
        close(t->stop_fd);
    pthread_mutex_destroy(&t->stats_lock);
    pthread_mutex_destroy(&t->net_lock);
    free(t);
}

/* Open /dev/net/tun and attach it to the interface; fd or -1 with err set. */
static int open_tap(const char *name, char resolved[IFNAMSIZ], char *err, size_t err_len)
{
    struct ifreq ifr;
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

    if (fd < 0) {
        int e = errno;
        if (e == ENOENT || e == ENXIO || e == ENODEV)
            fail(err, err_len, "tap %s: /dev/net/tun: %s (is the tun module loaded?)", name,
                 strerror(e));
        else
            fail(err, err_len, "tap %s: /dev/net/tun: %s", name, strerror(e));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    memcpy(ifr.ifr_name, name, strlen(name));
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        int e = errno;
        if (e == EPERM || e == EACCES)
            fail(err, err_len,
                 "tap %s: %s (creating a tap needs CAP_NET_ADMIN; or make one for your user: "
                 "ip tuntap add %s mode tap user $USER)",
                 name, strerror(e), name);
        else if (e == EBUSY)
            fail(err, err_len, "tap %s: %s (another process has it open)", name, strerror(e));
        else if (e == EINVAL)
            fail(err, err_len, "tap %s: %s (is %s an interface of another kind?)", name,
                 strerror(e), name);
        else
            fail(err, err_len, "tap %s: %s", name, strerror(e));
        close(fd);
        return -1;
    }
    memcpy(resolved, ifr.ifr_name, IFNAMSIZ);
    resolved[IFNAMSIZ - 1] = '\0';
    return fd;
}

static bool valid_name(const char *name, char *err, size_t err_len)
{
    if (name && *name && strlen(name) < IFNAMSIZ && !strchr(name, '/'))
        return true;
    fail(err, err_len, "tap '%s': not an interface name (1 to %d characters)", name ? name : "",
         IFNAMSIZ - 1);
    return false;
}

int net_tap_open(const char *name, char *err, size_t err_len)
{
    char resolved[IFNAMSIZ];
    if (!valid_name(name, err, err_len))
        return -1;
    return open_tap(name, resolved, err, err_len);
}

/* A TAP fd handed over by the duvisor this process replaced: a duplicate
   (close-on-exec) if it is a TAP attached to `name`. */
static int adopt_tap(int inherited, const char *name, char resolved[IFNAMSIZ], char *err,
                     size_t err_len)
{
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    if (ioctl(inherited, TUNGETIFF, &ifr) < 0 || strncmp(ifr.ifr_name, name, IFNAMSIZ)) {
        fail(err, err_len, "tap %s: the handed-over fd is not that TAP device", name);
        return -1;
    }
    int fd = fcntl(inherited, F_DUPFD_CLOEXEC, 3);
    if (fd < 0) {
        fail(err, err_len, "tap %s: %s", name, strerror(errno));
        return -1;
    }
    memcpy(resolved, ifr.ifr_name, IFNAMSIZ);
    resolved[IFNAMSIZ - 1] = '\0';
    return fd;
}

int net_tap_fd(const struct net_tap *t)
{
    return t->fd;
}

struct net_tap *net_tap_create(const char *name, char *err, size_t err_len)
{
    return net_tap_adopt(-1, name, err, err_len);
}

static struct net_tap *start(int inherited, const char *name, bool socket, char *err,
                             size_t err_len);

struct net_tap *net_tap_adopt(int inherited, const char *name, char *err, size_t err_len)
{
    return start(inherited, name, false, err, err_len);
}

struct net_tap *net_tap_adopt_socket(int fd, const char *label, char *err, size_t err_len)
{
    return start(fd, label, true, err, err_len);
}

/* A frame socket: a duplicate (close-on-exec) of a SOCK_SEQPACKET fd. */
static int adopt_socket(int inherited, const char *label, char resolved[IFNAMSIZ], char *err,
                        size_t err_len)
{
    int type = 0;
    socklen_t len = sizeof(type);
    if (getsockopt(inherited, SOL_SOCKET, SO_TYPE, &type, &len) != 0 || type != SOCK_SEQPACKET) {
        fail(err, err_len, "%s: not a frame socket", label);
        return -1;
    }
    int fd = fcntl(inherited, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        fail(err, err_len, "%s: %s", label, strerror(errno));
    snprintf(resolved, IFNAMSIZ, "%s", label);
    return fd;
}

static struct net_tap *start(int inherited, const char *name, bool socket, char *err,
                             size_t err_len)
{
    struct net_tap *t;
    sigset_t all, old;
    int rc;

    if (!socket && !valid_name(name, err, err_len))
        return NULL;
    t = calloc(1, sizeof(*t));
    if (!t) {
        fail(err, err_len, "tap %s: out of memory", name);
        return NULL;
    }
    t->fd = t->stop_fd = -1;
    if (pthread_mutex_init(&t->net_lock, NULL) != 0) {
        free(t);
        fail(err, err_len, "tap %s: out of memory", name);
        return NULL;
    }
    if (pthread_mutex_init(&t->stats_lock, NULL) != 0) {
        pthread_mutex_destroy(&t->net_lock);
        free(t);
        fail(err, err_len, "tap %s: out of memory", name);
        return NULL;
    }
    t->fd = socket           ? adopt_socket(inherited, name, t->name, err, err_len)
            : inherited >= 0 ? adopt_tap(inherited, name, t->name, err, err_len)
                             : open_tap(name, t->name, err, err_len);
    if (t->fd < 0) {
        free_all(t);
        return NULL;
    }
    t->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (t->stop_fd < 0) {
        fail(err, err_len, "tap %s: eventfd: %s", name, strerror(errno));
        free_all(t);
        return NULL;
    }
    /* The reader takes no signals: they belong to the vCPU and main threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t->reader, NULL, reader_thread, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        fail(err, err_len, "tap %s: cannot start its reader thread: %s", name, strerror(rc));
        free_all(t);
        return NULL;
    }
    t->reader_started = true;
    return t;
}

void net_tap_destroy(struct net_tap *t)
{
    uint64_t one = 1;

    if (!t)
        return;
    if (t->reader_started) {
        if (write(t->stop_fd, &one, sizeof(one)) < 0) {
            /* cannot fail: the counter is 0 */
        }
        pthread_join(t->reader, NULL);
    }
    free_all(t);
}
