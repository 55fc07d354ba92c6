/*
 * tcpsend: push N bytes of zeros to a TCP listener as fast as the guest can,
 * for bench/io.sh. busybox nc would also do, but it moves data through a pipe
 * from /dev/zero in small reads, so the guest's CPU (slow under an
 * interpreter) would cap the figure before the virtio-net path does.
 *
 *   tcpsend ADDR PORT BYTES
 *
 * Writes from one 256 KiB buffer, half-closes, then waits for the peer to
 * close, so every byte has reached the receiver when it returns. Prints
 * "tcpsend: BYTES bytes MS ms" (guest clock; the host's own timing is the
 * benchmark figure).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static char buf[256 * 1024];

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: tcpsend ADDR PORT BYTES\n");
        return 2;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((unsigned short)atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "tcpsend: bad address %s\n", argv[1]);
        return 2;
    }
    long long total = atoll(argv[3]);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("tcpsend: connect");
        return 1;
    }
    double t0 = now_ms();
    long long left = total;
    while (left > 0) {
        size_t n = left < (long long)sizeof buf ? (size_t)left : sizeof buf;
        ssize_t w = write(fd, buf, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            perror("tcpsend: write");
            return 1;
        }
        left -= w;
    }
    shutdown(fd, SHUT_WR);
    /* The receiver closes once it has counted everything. */
    while (read(fd, buf, sizeof buf) > 0)
        ;
    double ms = now_ms() - t0;
    close(fd);
    printf("tcpsend: %lld bytes %.1f ms\n", total, ms);
    return 0;
}
