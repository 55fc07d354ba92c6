/* User-mode networking in a helper process (see net_user.h). */
#include "devices/net_user.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/net_slirp.h"
#include "devices/virtio_net.h"
#include "host/sandbox.h"
#include "util/err.h"

#define SOCKET_BUFFER (1 << 20) /* a burst of frames either way */
#define HANDSHAKE_MS  10000

static void grow_buffers(int fd)
{
    int size = SOCKET_BUFFER;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

/* The helper's answer: 0 for "OK", else -1 with its reason. */
static int handshake(int fd, char *err, size_t err_len)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char msg[512];
    if (poll(&p, 1, HANDSHAKE_MS) <= 0)
        return set_err(err, err_len, "net user: the helper did not start");
    ssize_t n = recv(fd, msg, sizeof(msg) - 1, 0);
    if (n <= 0)
        return set_err(err, err_len, "net user: the helper ended before it started");
    msg[n] = 0;
    if (!strcmp(msg, "OK"))
        return 0;
    return set_err(err, err_len, "%s",
                   strncmp(msg, "ERR ", 4) ? "net user: helper failed" : msg + 4);
}

int net_user_spawn(const char *self, const char *options, char *err, size_t err_len)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
        return set_err(err, err_len, "net user: socketpair: %s", strerror(errno));
    grow_buffers(sv[0]);
    /* The helper's end, inherited: without close-on-exec, above stdio. */
    int child_fd = fcntl(sv[1], F_DUPFD, 3);
    close(sv[1]);
    char number[16];
    snprintf(number, sizeof(number), "%d", child_fd);
    char mode[4];
    snprintf(mode, sizeof(mode), "%d", (int)sandbox_mode());
    char *const argv[] = {
        (char *)"duvisor", (char *)NET_USER_COMMAND, number, mode, (char *)options, NULL};
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none); /* the VMM blocks its stop signals */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    extern char **environ;
    pid_t pid;
    int rc = child_fd < 0 ? errno : posix_spawn(&pid, self, NULL, &attr, argv, environ);
    posix_spawnattr_destroy(&attr);
    if (child_fd >= 0)
        close(child_fd);
    if (rc != 0) {
        close(sv[0]);
        return set_err(err, err_len, "net user: cannot start the helper: %s", strerror(rc));
    }
    /* The helper forks once and its first process exits at once, so the
       helper is not our child (nobody has to reap it) and lives on its own. */
    waitpid(pid, NULL, 0);
    if (handshake(sv[0], err, err_len)) {
        close(sv[0]);
        return -1;
    }
    return sv[0];
}

/* --- the helper ------------------------------------------------------------------------ */

static void to_socket(void *opaque, const uint8_t *frame, size_t len)
{
    const int *fd = opaque;
    /* Blocking: the VMM's reader never blocks, so this only waits while it
       catches up, and TCP towards the guest slows down instead of losing. */
    while (send(*fd, frame, len, MSG_NOSIGNAL) < 0 && errno == EINTR) {
    }
}

static void reply(int fd, const char *msg)
{
    if (send(fd, msg, strlen(msg), MSG_NOSIGNAL) < 0) {
        /* the VMM is gone: nothing to tell */
    }
}

int net_user_helper_main(int fd, int mode, const char *options)
{
    if (fork() > 0)
        _exit(0); /* see net_user_spawn */
    setsid();     /* the terminal's signals are for the VMM; EOF on fd ends us */
    signal(SIGPIPE, SIG_IGN);
    grow_buffers(fd);
    char err[400], msg[420];
    /* Before slirp starts its thread, which inherits the filter. */
    sandbox_set_mode(mode >= SANDBOX_OFF && mode <= SANDBOX_ON ? (enum sandbox_mode)mode
                                                               : SANDBOX_ON);
    if (sandbox_enter(SANDBOX_NET_HELPER, err, sizeof(err))) {
        snprintf(msg, sizeof(msg), "ERR %s", err);
        reply(fd, msg);
        return 2;
    }
    struct net_slirp *s = net_slirp_create(options, err, sizeof(err));
    if (!s) {
        snprintf(msg, sizeof(msg), "ERR %s", err);
        reply(fd, msg);
        return 2;
    }
    static int out_fd;
    out_fd = fd;
    net_slirp_attach_sink(s, to_socket, &out_fd);
    reply(fd, "OK");
    struct net_backend be = net_slirp_backend(s);
    static uint8_t frame[VIRTIO_NET_MAX_FRAME];
    for (;;) {
        ssize_t n = recv(fd, frame, sizeof(frame), 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        be.send(be.opaque, frame, (size_t)n);
    }
    net_slirp_destroy(s);
    return 0;
}
