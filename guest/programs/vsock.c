/*
 * vsock: stream test peer for tests/e2e/vsock.sh and bench/, in the guest
 * (AF_VSOCK) and, built natively, on the host (Unix sockets, Firecracker's
 * hybrid "CONNECT <port>" handshake).
 *
 *   vsock listen  vsock:PORT | unix:PATH                 ACTION [COUNT]
 *   vsock connect vsock:CID:PORT | unix:PATH | hybrid:PATH:PORT  ACTION [COUNT]
 *
 * ACTION: sink (read to EOF), source:BYTES (send BYTES of a pseudo-random
 * stream seeded by the stream's number, half-close, wait for the peer's
 * EOF), echo (send back what comes, to EOF), hold (never read: a peer
 * that floods it must be held back; ends when killed). COUNT streams run at once,
 * one process each (listen: the first COUNT connections). Each prints
 * "stream N sent|recv BYTES SUM" (SUM: an order-sensitive 64-bit hash of
 * the bytes), then the parent prints "vsock: COUNT streams ok" or
 * "vsock: K of COUNT streams failed" and exits 0 or 1; a failed connect
 * prints "vsock: connect: <reason>". listen prints "vsock: listening" once
 * it does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#define CHUNK (64 * 1024)

static char buf[CHUNK];

/* FNV-style over 64-bit words, order-sensitive; a partial word waits for more. */
struct sum {
    uint64_t h;
    uint64_t word;
    unsigned have;
    unsigned long long bytes;
};

static void sum_add(struct sum *s, const unsigned char *p, size_t n)
{
    s->bytes += n;
    for (size_t i = 0; i < n; i++) {
        s->word |= (uint64_t)p[i] << (8 * s->have);
        if (++s->have == 8) {
            s->h = (s->h ^ s->word) * 0x100000001b3ull;
            s->word = 0;
            s->have = 0;
        }
    }
}

static uint64_t sum_end(struct sum *s)
{
    if (s->have)
        s->h = (s->h ^ s->word ^ ((uint64_t)s->have << 56)) * 0x100000001b3ull;
    return s->h;
}

/* One line in one write: streams print at once. */
__attribute__((format(printf, 1, 2))) static void say(const char *fmt, ...)
{
    char line[160];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (n > 0 && write(1, line, (size_t)n) < 0)
        _exit(4);
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read until EOF, hashing (and echoing back if echo). */
static int drain(int fd, struct sum *s, int echo)
{
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            perror("vsock: read");
            return -1;
        }
        if (n == 0)
            return 0;
        sum_add(s, (unsigned char *)buf, (size_t)n);
        if (echo && write_all(fd, buf, (size_t)n)) {
            perror("vsock: write");
            return -1;
        }
    }
}

static int source(int fd, unsigned stream, unsigned long long total, struct sum *s)
{
    uint64_t x = 0x9e3779b97f4a7c15ull * (stream + 1);
    unsigned long long left = total;
    while (left) {
        size_t n = left < CHUNK ? (size_t)left : CHUNK;
        for (size_t i = 0; i < n; i += 8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(buf + i, &x, 8);
        }
        sum_add(s, (unsigned char *)buf, n);
        if (write_all(fd, buf, n)) {
            perror("vsock: write");
            return -1;
        }
        left -= n;
    }
    shutdown(fd, SHUT_WR);
    /* the peer's EOF: everything has arrived */
    struct sum ignored = {0};
    return drain(fd, &ignored, 0);
}

static int serve(int fd, unsigned stream, const char *action)
{
    struct sum s = {.h = 0xcbf29ce484222325ull};
    int rc;
    const char *what = "recv";
    if (!strcmp(action, "sink")) {
        rc = drain(fd, &s, 0);
    } else if (!strcmp(action, "echo")) {
        rc = drain(fd, &s, 1);
        shutdown(fd, SHUT_WR);
    } else if (!strcmp(action, "hold")) {
        for (;;)
            pause();
    } else if (!strncmp(action, "source:", 7)) {
        what = "sent";
        rc = source(fd, stream, strtoull(action + 7, NULL, 0), &s);
    } else {
        fprintf(stderr, "vsock: unknown action %s\n", action);
        return 2;
    }
    close(fd);
    if (rc)
        return 1;
    say("stream %u %s %llu %016llx\n", stream, what, s.bytes, (unsigned long long)sum_end(&s));
    return 0;
}

/* addr -> sockaddr; *port_line: the hybrid CONNECT port, else -1. */
static int parse(const char *addr, int listening, struct sockaddr_storage *ss, socklen_t *len,
                 long *hybrid_port)
{
    *hybrid_port = -1;
    memset(ss, 0, sizeof(*ss));
    if (!strncmp(addr, "vsock:", 6)) {
        struct sockaddr_vm *vm = (struct sockaddr_vm *)ss;
        vm->svm_family = AF_VSOCK;
        if (listening) {
            vm->svm_cid = VMADDR_CID_ANY;
            vm->svm_port = (unsigned)strtoul(addr + 6, NULL, 10);
        } else if (sscanf(addr + 6, "%u:%u", &vm->svm_cid, &vm->svm_port) != 2) {
            return -1;
        }
        *len = sizeof(*vm);
        return AF_VSOCK;
    }
    struct sockaddr_un *un = (struct sockaddr_un *)ss;
    un->sun_family = AF_UNIX;
    const char *path;
    char tmp[sizeof(un->sun_path)];
    if (!strncmp(addr, "unix:", 5)) {
        path = addr + 5;
    } else if (!strncmp(addr, "hybrid:", 7) && !listening) {
        const char *colon = strrchr(addr + 7, ':');
        if (!colon || (size_t)(colon - addr - 7) >= sizeof(tmp))
            return -1;
        memcpy(tmp, addr + 7, (size_t)(colon - addr - 7));
        tmp[colon - addr - 7] = 0;
        path = tmp;
        *hybrid_port = strtol(colon + 1, NULL, 10);
    } else {
        return -1;
    }
    if (strlen(path) >= sizeof(un->sun_path))
        return -1;
    strcpy(un->sun_path, path);
    *len = sizeof(*un);
    return AF_UNIX;
}

static int hybrid_handshake(int fd, long port)
{
    char line[64];
    int n = snprintf(line, sizeof(line), "CONNECT %ld\n", port);
    if (write_all(fd, line, (size_t)n))
        return -1;
    unsigned got = 0;
    while (got < sizeof(line) - 1) {
        ssize_t r = read(fd, line + got, 1);
        if (r <= 0) {
            errno = r == 0 ? ECONNREFUSED : errno;
            return -1;
        }
        if (line[got++] == '\n')
            break;
    }
    line[got] = 0;
    if (strncmp(line, "OK ", 3) != 0) {
        errno = EPROTO;
        return -1;
    }
    return 0;
}

static int connect_one(const char *addr, unsigned stream, const char *action)
{
    struct sockaddr_storage ss;
    socklen_t len;
    long port;
    int family = parse(addr, 0, &ss, &len, &port);
    if (family < 0) {
        fprintf(stderr, "vsock: bad address %s\n", addr);
        return 2;
    }
    int fd = socket(family, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&ss, len) != 0 ||
        (port >= 0 && hybrid_handshake(fd, port) != 0)) {
        say("vsock: connect: %s (stream %u)\n", strerror(errno), stream);
        return 3;
    }
    return serve(fd, stream, action);
}

static int wait_all(unsigned count, int first_rc)
{
    unsigned failed = first_rc ? 1 : 0;
    int status;
    while (wait(&status) > 0)
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            failed++;
    if (failed)
        say("vsock: %u of %u streams failed\n", failed, count);
    else
        say("vsock: %u streams ok\n", count);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: vsock listen|connect ADDR sink|echo|hold|source:BYTES [COUNT]\n");
        return 2;
    }
    unsigned count = argc == 5 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
    if (count == 0 || count > 256)
        return 2;
    if (!strcmp(argv[1], "connect")) {
        for (unsigned i = 0; i < count; i++) {
            pid_t pid = fork();
            if (pid == 0)
                _exit(connect_one(argv[2], i, argv[3]));
            if (pid < 0)
                return wait_all(count, 1);
        }
        return wait_all(count, 0);
    }
    if (strcmp(argv[1], "listen") != 0)
        return 2;
    struct sockaddr_storage ss;
    socklen_t len;
    long port;
    int family = parse(argv[2], 1, &ss, &len, &port);
    int fd = family < 0 ? -1 : socket(family, SOCK_STREAM, 0);
    if (family == AF_UNIX)
        unlink(((struct sockaddr_un *)&ss)->sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) != 0 || listen(fd, 64) != 0) {
        perror("vsock: listen");
        return 2;
    }
    say("vsock: listening\n");
    for (unsigned i = 0; i < count; i++) {
        int c = accept(fd, NULL, NULL);
        if (c < 0) {
            perror("vsock: accept");
            return wait_all(count, 1);
        }
        pid_t pid = fork();
        if (pid == 0) {
            close(fd);
            _exit(serve(c, i, argv[3]));
        }
        close(c);
    }
    close(fd);
    return wait_all(count, 0);
}
