/* Whole writes to file descriptors, retried over short writes and EINTR. */
#ifndef DUVISOR_UTIL_FDIO_H
#define DUVISOR_UTIL_FDIO_H

#include <stddef.h>
#include <stdint.h>

/* All of data to fd (write(2)), or at offset (pwrite(2)): 0, or -1 with errno. */
int write_full(int fd, const void *data, size_t len);
int pwrite_full(int fd, const void *data, size_t len, uint64_t offset);

#endif
