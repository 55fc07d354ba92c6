/* One request to the control API over its Unix socket (see client.h). */
#include "api/client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fdio.h"

static int connect_to(const char *sock, char *err, size_t err_len)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(sock) >= sizeof(addr.sun_path))
        return set_err(err, err_len, "the socket path '%s' is too long", sock);
    strcpy(addr.sun_path, sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return set_err(err, err_len, "cannot make a socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
        int saved = errno;
        close(fd);
        return set_err(err, err_len, "cannot connect to the API socket '%s': %s", sock,
                       strerror(saved));
    }
    return fd;
}

static long ms_left(const struct timespec *deadline)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (deadline->tv_sec - now.tv_sec) * 1000 + (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/* Read until the reply is complete (Content-Length bytes after the headers)
   or the peer closes. The reply is small: a status line and a fault message. */
static int read_reply(int fd, char *buf, size_t cap, int timeout_ms, size_t *len)
{
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    *len = 0;
    for (;;) {
        buf[*len] = 0;
        char *end = strstr(buf, "\r\n\r\n");
        if (end) {
            const char *cl = strcasestr(buf, "\r\nContent-Length:");
            size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;
            if ((size_t)(buf + *len - (end + 4)) >= body || *len == cap)
                return 0;
        }
        if (*len == cap)
            return 0;
        long left = ms_left(&deadline);
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (left <= 0 || poll(&p, 1, (int)left) <= 0)
            return -1;
        ssize_t n = recv(fd, buf + *len, cap - *len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return end ? 0 : -1;
        *len += (size_t)n;
    }
}

int api_client_request(const char *sock, const char *method, const char *path, const char *body,
                       int timeout_ms, int *status, char *reply, size_t reply_len, char *err,
                       size_t err_len)
{
    int fd = connect_to(sock, err, err_len);
    if (fd < 0)
        return -1;
    size_t body_len = body ? strlen(body) : 0;
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                     "Content-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     method, path, body_len);
    char buf[8192];
    size_t len = 0;
    int rc = -1;
    if (n < 0 || (size_t)n >= sizeof(head))
        set_err(err, err_len, "the request path is too long");
    else if (write_full(fd, head, (size_t)n) || (body_len && write_full(fd, body, body_len)))
        set_err(err, err_len, "cannot send to the API socket '%s': %s", sock, strerror(errno));
    else if (read_reply(fd, buf, sizeof(buf) - 1, timeout_ms, &len))
        set_err(err, err_len, "no reply from the API socket '%s'", sock);
    else if (sscanf(buf, "HTTP/1.%*d %d", status) != 1)
        set_err(err, err_len, "the API socket '%s' did not answer in HTTP", sock);
    else
        rc = 0;
    close(fd);
    if (rc == 0 && reply_len) {
        const char *start = strstr(buf, "\r\n\r\n");
        snprintf(reply, reply_len, "%s", start ? start + 4 : "");
    }
    return rc;
}
