/* Whole writes (see fdio.h). */
#include "util/fdio.h"

#include <errno.h>
#include <unistd.h>

static int write_all(int fd, const void *data, size_t len, uint64_t offset, int positioned)
{
    const unsigned char *p = data;
    while (len) {
        ssize_t n = positioned ? pwrite(fd, p, len, (off_t)offset) : write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        offset += (uint64_t)n;
    }
    return 0;
}

int write_full(int fd, const void *data, size_t len)
{
    return write_all(fd, data, len, 0, 0);
}

int pwrite_full(int fd, const void *data, size_t len, uint64_t offset)
{
    return write_all(fd, data, len, offset, 1);
}
