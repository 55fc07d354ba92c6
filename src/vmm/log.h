/*
 * The VMM's log. Without a configured destination, messages go to stderr as
 * "duvisor: message" (what `duvisor run` users see). PUT /logger or
 * --log-path send them instead to a file or FIFO, one line each, in
 * Firecracker's shape: "<UTC time> [<id>:<thread>[:<LEVEL>][:<file>:<line>]] message",
 * filtered by level. Any thread.
 */
#ifndef DUVISOR_VMM_LOG_H
#define DUVISOR_VMM_LOG_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "api/api.h"

struct vmm_log {
    pthread_mutex_t lock;
    int fd;                           /* -1: stderr */
    _Atomic enum api_log_level level; /* read without the lock by vmm_log_enabled */
    bool show_level, show_origin;
    const char *id;
};

void vmm_log_init(struct vmm_log *log, const char *id);
/* Send messages where l says. 0, or -1 with a reason in err (then unchanged). */
int vmm_log_configure(struct vmm_log *log, const struct api_logger *l, char *err, size_t err_len);
void vmm_log_close(struct vmm_log *log);

__attribute__((format(printf, 6, 7))) void vmm_log_at(struct vmm_log *log, enum api_log_level level,
                                                      const char *thread, const char *file,
                                                      int line, const char *fmt, ...);
#define vmm_log(log, level, ...) vmm_log_at(log, level, "main", __FILE__, __LINE__, __VA_ARGS__)

/* Whether a line at level would be written anywhere: cheap, any thread. */
bool vmm_log_enabled(struct vmm_log *log, enum api_log_level level);

/* For lines a guest can cause as fast as it likes (an ignored device
   access, say): at most VMM_LOG_LIMIT_PER_SECOND a second from one limiter;
   the rest are counted, and the next line let through says how many. */
#define VMM_LOG_LIMIT_PER_SECOND 10u
struct vmm_log_limit {
    _Atomic uint64_t second; /* CLOCK_MONOTONIC second of the current window */
    _Atomic unsigned used;
    _Atomic uint64_t dropped;
};
/* true: write the line now; *dropped is how many were held back before it. */
bool vmm_log_limit_take(struct vmm_log_limit *l, uint64_t *dropped);

#endif
