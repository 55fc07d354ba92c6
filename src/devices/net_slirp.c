/* SPDX-License-Identifier: MIT */
/*
 * net_slirp.c - libslirp behind one thread (see net_slirp.h).
 *
 * Only the slirp thread calls into libslirp once net_slirp_create()
 * returns. Its loop: feed queued guest frames to slirp_input, let slirp
 * list the sockets it wants polled, sleep in poll(2) until a socket, the
 * wakeup eventfd or the earliest timer is due, hand the results back to
 * slirp, fire due timers. Frames slirp emits for the guest go straight to
 * virtio_net_receive() from inside those calls.
 */
#include "devices/net_slirp.h"
#include "util/err.h"

#include <slirp/libslirp.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define GUEST_ERRORS_SHOWN 10u /* guest_error messages printed; the rest are counted */

struct tx_frame {
    uint8_t *data;
    size_t len;
};

/* A slirp timer: fires once at expire_ms unless re-armed; -1 when idle. */
struct slirp_timer {
    struct slirp_timer *next;
    SlirpTimerCb cb; /* timer_new; NULL for timer_new_opaque (then id is used) */
    SlirpTimerId id;
    void *cb_opaque;
    int64_t expire_ms;
};

struct net_slirp {
    Slirp *slirp;
    pthread_t thread;
    bool thread_started;
    int wake_fd; /* eventfd: frames queued or stop requested */

    pthread_mutex_t lock; /* guards the queue, stop and stats */
    struct tx_frame txq[NET_SLIRP_TXQ_LEN];
    unsigned txq_head, txq_count;
    bool stop;
    struct net_slirp_stats stats;

    pthread_mutex_t net_lock; /* guards the sink, held while delivering to it */
    net_slirp_sink sink;
    void *sink_opaque;

    /* Slirp thread only (and the creator before it starts). */
    struct slirp_timer *timers;
    struct pollfd *pfd;
    unsigned npfd, pfd_cap;
};

/* --- hostfwd rules ---------------------------------------------------------------- */

/* Decimal 1..65535, digits only, no leading zero. */
static int parse_port(const char *p, size_t n, uint16_t *out)
{
    unsigned v = 0;

    if (n == 0 || n > 5 || p[0] == '0')
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(p[i] - '0');
    }
    if (v > 65535)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

/* Dotted-quad IPv4; an empty string gives def. */
static int parse_addr(const char *p, size_t n, const char *def, struct in_addr *out)
{
    char buf[INET_ADDRSTRLEN];

    if (n == 0) {
        inet_pton(AF_INET, def, out);
        return 0;
    }
    if (n >= sizeof(buf))
        return -1;
    memcpy(buf, p, n);
    buf[n] = '\0';
    return inet_pton(AF_INET, buf, out) == 1 ? 0 : -1;
}

static const char *span_chr(const char *p, const char *end, char c)
{
    const char *q = memchr(p, c, (size_t)(end - p));
    return q ? q : end;
}

int net_slirp_parse_hostfwd(const char *rule, size_t len, struct net_hostfwd *out, char *err,
                            size_t err_len)
{
    const char *end = rule + len;
    const char *colon1, *dash, *colon2, *colon3;
    struct net_hostfwd h = {0};
    struct in_addr net, mask;
    int n = len > INT_MAX ? INT_MAX : (int)len;

    if (memchr(rule, '\0', len))
        return set_err(err, err_len, "hostfwd: unexpected end of rule");
    /* PROTO ':' [HOSTADDR] ':' HOSTPORT '-' [GUESTADDR] ':' GUESTPORT */
    colon1 = span_chr(rule, end, ':');
    if (colon1 == end)
        return set_err(err, err_len,
                       "hostfwd '%.*s': want PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", n,
                       rule);
    if (colon1 - rule == 3 && !memcmp(rule, "tcp", 3))
        h.udp = false;
    else if (colon1 - rule == 3 && !memcmp(rule, "udp", 3))
        h.udp = true;
    else
        return set_err(err, err_len, "hostfwd '%.*s': protocol must be tcp or udp", n, rule);
    dash = span_chr(colon1 + 1, end, '-');
    colon2 = span_chr(colon1 + 1, dash, ':');
    if (dash == end || colon2 == dash || span_chr(colon2 + 1, dash, ':') != dash)
        return set_err(err, err_len,
                       "hostfwd '%.*s': want PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", n,
                       rule);
    colon3 = span_chr(dash + 1, end, ':');
    if (colon3 == end || span_chr(colon3 + 1, end, ':') != end ||
        span_chr(dash + 1, end, '-') != end)
        return set_err(err, err_len,
                       "hostfwd '%.*s': want PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT", n,
                       rule);
    if (parse_addr(colon1 + 1, (size_t)(colon2 - colon1 - 1), "127.0.0.1", &h.host_addr))
        return set_err(err, err_len, "hostfwd '%.*s': bad host address '%.*s'", n, rule,
                       (int)(colon2 - colon1 - 1), colon1 + 1);
    if (parse_port(colon2 + 1, (size_t)(dash - colon2 - 1), &h.host_port))
        return set_err(err, err_len, "hostfwd '%.*s': bad host port '%.*s' (want 1-65535)", n, rule,
                       (int)(dash - colon2 - 1), colon2 + 1);
    if (parse_addr(dash + 1, (size_t)(colon3 - dash - 1), NET_SLIRP_DHCP_START, &h.guest_addr))
        return set_err(err, err_len, "hostfwd '%.*s': bad guest address '%.*s'", n, rule,
                       (int)(colon3 - dash - 1), dash + 1);
    inet_pton(AF_INET, NET_SLIRP_NETWORK, &net);
    inet_pton(AF_INET, NET_SLIRP_NETMASK, &mask);
    if ((h.guest_addr.s_addr & mask.s_addr) != net.s_addr)
        return set_err(err, err_len, "hostfwd '%.*s': guest address must be in %s/24", n, rule,
                       NET_SLIRP_NETWORK);
    if (parse_port(colon3 + 1, (size_t)(end - colon3 - 1), &h.guest_port))
        return set_err(err, err_len, "hostfwd '%.*s': bad guest port '%.*s' (want 1-65535)", n,
                       rule, (int)(end - colon3 - 1), colon3 + 1);
    *out = h;
    return 0;
}

/* The whole option string: hostfwd rules only. Count in *nrules. */
static int parse_options(const char *options, struct net_hostfwd *rules, unsigned *nrules,
                         char *err, size_t err_len)
{
    const char *p = options ? options : "";

    *nrules = 0;
    while (*p) {
        size_t len = strcspn(p, ",");
        static const char key[] = "hostfwd=";

        if (len > sizeof(key) - 1 && !memcmp(p, key, sizeof(key) - 1)) {
            if (*nrules == NET_SLIRP_MAX_HOSTFWD)
                return set_err(err, err_len, "at most %u hostfwd rules", NET_SLIRP_MAX_HOSTFWD);
            if (net_slirp_parse_hostfwd(p + sizeof(key) - 1, len - (sizeof(key) - 1),
                                        &rules[*nrules], err, err_len))
                return -1;
            (*nrules)++;
        } else {
            return set_err(
                err, err_len,
                "unknown user network option '%.*s' (want hostfwd=tcp::HOSTPORT-:GUESTPORT)",
                (int)len, p);
        }
        p += len;
        if (*p == ',' && *++p == '\0')
            return set_err(err, err_len, "user network options end with ','");
    }
    return 0;
}

/* --- callbacks from libslirp (slirp thread) --------------------------------------- */

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    struct net_slirp *s = opaque;

    pthread_mutex_lock(&s->net_lock);
    if (s->sink)
        s->sink(s->sink_opaque, buf, len);
    pthread_mutex_unlock(&s->net_lock);
    pthread_mutex_lock(&s->lock);
    s->stats.rx_frames++;
    pthread_mutex_unlock(&s->lock);
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    struct net_slirp *s = opaque;
    uint64_t count;

    pthread_mutex_lock(&s->lock);
    count = ++s->stats.guest_errors;
    pthread_mutex_unlock(&s->lock);
    if (count <= GUEST_ERRORS_SHOWN)
        fprintf(stderr, "duvisor: net user: guest error: %s%s\n", msg,
                count == GUEST_ERRORS_SHOWN ? " (further ones are not shown)" : "");
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return now_ns();
}

static struct slirp_timer *timer_add(struct net_slirp *s, SlirpTimerCb cb, SlirpTimerId id,
                                     void *cb_opaque)
{
    struct slirp_timer *t = calloc(1, sizeof(*t));

    if (!t)
        return NULL; /* slirp then runs without that timer (IPv6 router adverts) */
    *t = (struct slirp_timer){s->timers, cb, id, cb_opaque, -1};
    s->timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, cb, SLIRP_TIMER_RA, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
    return timer_add(opaque, NULL, id, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    struct net_slirp *s = opaque;

    for (struct slirp_timer **p = &s->timers; *p; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    (void)opaque;
    if (timer)
        ((struct slirp_timer *)timer)->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

/* The poll set is rebuilt on every loop iteration by slirp_pollfds_fill. */
static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_notify(void *opaque)
{
    (void)opaque; /* only ever called on the slirp thread, which polls again anyway */
}

static void cb_init_completed(Slirp *slirp, void *opaque)
{
    (void)slirp;
    (void)opaque;
}

static const SlirpCb slirp_callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .init_completed = cb_init_completed,
    .timer_new_opaque = cb_timer_new_opaque,
};

static int cb_add_poll(int fd, int events, void *opaque)
{
    struct net_slirp *s = opaque;
    short ev = 0;

    if (s->npfd == s->pfd_cap) {
        unsigned cap = s->pfd_cap ? 2 * s->pfd_cap : 64;
        struct pollfd *p = realloc(s->pfd, cap * sizeof(*p));

        if (!p)
            return -1; /* that socket waits for the next round */
        s->pfd = p;
        s->pfd_cap = cap;
    }
    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    s->pfd[s->npfd] = (struct pollfd){.fd = fd, .events = ev};
    return (int)s->npfd++;
}

static int cb_get_revents(int idx, void *opaque)
{
    struct net_slirp *s = opaque;
    short rev;
    int out = 0;

    if (idx < 0 || (unsigned)idx >= s->npfd)
        return 0;
    rev = s->pfd[idx].revents;
    if (rev & POLLIN)
        out |= SLIRP_POLL_IN;
    if (rev & POLLOUT)
        out |= SLIRP_POLL_OUT;
    if (rev & POLLPRI)
        out |= SLIRP_POLL_PRI;
    if (rev & (POLLERR | POLLNVAL))
        out |= SLIRP_POLL_ERR;
    if (rev & POLLHUP)
        out |= SLIRP_POLL_HUP;
    return out;
}

/* --- the slirp thread ------------------------------------------------------------- */

/* Feed every queued guest frame to slirp; false once stop is requested. */
static bool drain_txq(struct net_slirp *s)
{
    for (;;) {
        struct tx_frame f;

        pthread_mutex_lock(&s->lock);
        if (s->stop) {
            pthread_mutex_unlock(&s->lock);
            return false;
        }
        if (!s->txq_count) {
            pthread_mutex_unlock(&s->lock);
            return true;
        }
        f = s->txq[s->txq_head];
        s->txq_head = (s->txq_head + 1) % NET_SLIRP_TXQ_LEN;
        s->txq_count--;
        pthread_mutex_unlock(&s->lock);
        slirp_input(s->slirp, f.data, (int)f.len);
        free(f.data);
    }
}

/* Fire every due timer. A callback may re-arm or free timers, so rescan after each. */
static void run_timers(struct net_slirp *s)
{
    int64_t now = now_ns() / 1000000;
    bool fired;

    do {
        fired = false;
        for (struct slirp_timer *t = s->timers; t; t = t->next) {
            if (t->expire_ms >= 0 && t->expire_ms <= now) {
                t->expire_ms = -1;
                if (t->cb)
                    t->cb(t->cb_opaque);
                else
                    slirp_handle_timer(s->slirp, t->id, t->cb_opaque);
                fired = true;
                break;
            }
        }
    } while (fired);
}

/* Milliseconds until the earliest armed timer, capped at timeout. */
static uint32_t timer_timeout(const struct net_slirp *s, uint32_t timeout)
{
    int64_t now = now_ns() / 1000000;

    for (const struct slirp_timer *t = s->timers; t; t = t->next) {
        if (t->expire_ms < 0)
            continue;
        int64_t wait = t->expire_ms > now ? t->expire_ms - now : 0;
        if (wait < (int64_t)timeout)
            timeout = (uint32_t)wait;
    }
    return timeout;
}

static void *slirp_thread(void *arg)
{
    struct net_slirp *s = arg;

    while (drain_txq(s)) {
        uint32_t timeout = UINT32_MAX;
        int ret;

        s->npfd = 0;
        cb_add_poll(s->wake_fd, SLIRP_POLL_IN, s); /* index 0: pfd is never empty */
        slirp_pollfds_fill(s->slirp, &timeout, cb_add_poll, s);
        timeout = timer_timeout(s, timeout);
        ret = poll(s->pfd, s->npfd, timeout > INT_MAX ? -1 : (int)timeout);
        slirp_pollfds_poll(s->slirp, ret < 0, cb_get_revents, s);
        if (ret > 0 && (s->pfd[0].revents & POLLIN)) {
            uint64_t v;
            if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
                break; /* cannot happen with a valid eventfd */
        }
        run_timers(s);
    }
    return NULL;
}

static void wake(struct net_slirp *s)
{
    uint64_t one = 1;

    /* Only fails with EAGAIN when the counter is saturated: a wakeup is pending anyway. */
    if (write(s->wake_fd, &one, sizeof(one)) < 0)
        return;
}

/* --- backend ---------------------------------------------------------------------- */

static int slirp_send(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_slirp *s = opaque;
    uint8_t *copy = malloc(len);
    bool was_empty;

    pthread_mutex_lock(&s->lock);
    if (!copy || s->txq_count == NET_SLIRP_TXQ_LEN || len > INT_MAX) {
        s->stats.tx_dropped++;
        pthread_mutex_unlock(&s->lock);
        free(copy);
        return -1;
    }
    memcpy(copy, frame, len);
    unsigned tail = (s->txq_head + s->txq_count) % NET_SLIRP_TXQ_LEN;
    s->txq[tail] = (struct tx_frame){copy, len};
    was_empty = s->txq_count++ == 0;
    s->stats.tx_queued++;
    pthread_mutex_unlock(&s->lock);
    if (was_empty)
        wake(s); /* otherwise the thread has a wakeup pending or is draining */
    return 0;
}

struct net_backend net_slirp_backend(struct net_slirp *s)
{
    return (struct net_backend){.send = slirp_send, .opaque = s};
}

static void to_virtio_net(void *opaque, const uint8_t *frame, size_t len)
{
    virtio_net_receive(opaque, frame, len);
}

void net_slirp_attach(struct net_slirp *s, struct virtio_net *n)
{
    net_slirp_attach_sink(s, n ? to_virtio_net : NULL, n);
}

void net_slirp_attach_sink(struct net_slirp *s, net_slirp_sink sink, void *opaque)
{
    pthread_mutex_lock(&s->net_lock);
    s->sink = sink;
    s->sink_opaque = opaque;
    pthread_mutex_unlock(&s->net_lock);
}

void net_slirp_get_stats(struct net_slirp *s, struct net_slirp_stats *out)
{
    pthread_mutex_lock(&s->lock);
    *out = s->stats;
    pthread_mutex_unlock(&s->lock);
}

/* --- lifecycle -------------------------------------------------------------------- */

static void free_all(struct net_slirp *s)
{
    if (s->slirp)
        slirp_cleanup(s->slirp);
    while (s->timers)
        cb_timer_free(s->timers, s);
    while (s->txq_count) {
        free(s->txq[s->txq_head].data);
        s->txq_head = (s->txq_head + 1) % NET_SLIRP_TXQ_LEN;
        s->txq_count--;
    }
    free(s->pfd);
    if (s->wake_fd >= 0)
        close(s->wake_fd);
    pthread_mutex_destroy(&s->net_lock);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static int add_hostfwds(struct net_slirp *s, const struct net_hostfwd *rules, unsigned n, char *err,
                        size_t err_len)
{
    for (unsigned i = 0; i < n; i++) {
        const struct net_hostfwd *h = &rules[i];
        char addr[INET_ADDRSTRLEN];

        errno = 0;
        if (slirp_add_hostfwd(s->slirp, h->udp, h->host_addr, h->host_port, h->guest_addr,
                              h->guest_port) == 0)
            continue;
        inet_ntop(AF_INET, &h->host_addr, addr, sizeof(addr));
        return set_err(err, err_len, "hostfwd %s:%s:%u: cannot listen on the host port%s%s",
                       h->udp ? "udp" : "tcp", addr, h->host_port, errno ? ": " : "",
                       errno ? strerror(errno) : "");
    }
    return 0;
}

struct net_slirp *net_slirp_create(const char *options, char *err, size_t err_len)
{
    struct net_hostfwd rules[NET_SLIRP_MAX_HOSTFWD];
    unsigned nrules;
    struct net_slirp *s;
    SlirpConfig cfg = {
        .version = 4,
        .in_enabled = true,
        .in6_enabled = true,
        .vprefix_len = 64,
    };
    sigset_t all, old;

    if (parse_options(options, rules, &nrules, err, err_len))
        return NULL;
    inet_pton(AF_INET, NET_SLIRP_NETWORK, &cfg.vnetwork);
    inet_pton(AF_INET, NET_SLIRP_NETMASK, &cfg.vnetmask);
    inet_pton(AF_INET, NET_SLIRP_HOST, &cfg.vhost);
    inet_pton(AF_INET, NET_SLIRP_DHCP_START, &cfg.vdhcp_start);
    inet_pton(AF_INET, NET_SLIRP_DNS, &cfg.vnameserver);
    inet_pton(AF_INET6, "fec0::", &cfg.vprefix_addr6);
    inet_pton(AF_INET6, "fec0::2", &cfg.vhost6);
    inet_pton(AF_INET6, "fec0::3", &cfg.vnameserver6);

    s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, err_len, "user network: out of memory");
        return NULL;
    }
    s->wake_fd = -1;
    if (pthread_mutex_init(&s->lock, NULL) != 0) {
        free(s);
        set_err(err, err_len, "user network: out of memory");
        return NULL;
    }
    if (pthread_mutex_init(&s->net_lock, NULL) != 0) {
        pthread_mutex_destroy(&s->lock);
        free(s);
        set_err(err, err_len, "user network: out of memory");
        return NULL;
    }
    s->pfd_cap = 64;
    s->pfd = calloc(s->pfd_cap, sizeof(*s->pfd));
    s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (!s->pfd) {
        set_err(err, err_len, "user network: out of memory");
        free_all(s);
        return NULL;
    }
    if (s->wake_fd < 0) {
        set_err(err, err_len, "user network: eventfd: %s", strerror(errno));
        free_all(s);
        return NULL;
    }
    s->slirp = slirp_new(&cfg, &slirp_callbacks, s);
    if (!s->slirp) {
        set_err(err, err_len, "user network: libslirp %s refused the configuration",
                slirp_version_string());
        free_all(s);
        return NULL;
    }
    if (add_hostfwds(s, rules, nrules, err, err_len)) {
        free_all(s);
        return NULL;
    }
    /* The thread takes no signals: they belong to the vCPU and main threads. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&s->thread, NULL, slirp_thread, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        set_err(err, err_len, "user network: cannot start its thread: %s", strerror(rc));
        free_all(s);
        return NULL;
    }
    s->thread_started = true;
    return s;
}

void net_slirp_destroy(struct net_slirp *s)
{
    if (!s)
        return;
    if (s->thread_started) {
        pthread_mutex_lock(&s->lock);
        s->stop = true;
        pthread_mutex_unlock(&s->lock);
        wake(s);
        pthread_join(s->thread, NULL);
    }
    free_all(s);
}
