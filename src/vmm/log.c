/* The VMM's log (see log.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/err.h"
#include "vmm/log.h"

void vmm_log_init(struct vmm_log *log, const char *id)
{
    memset(log, 0, sizeof(*log));
    pthread_mutex_init(&log->lock, NULL);
    log->fd = -1;
    log->level = API_LOG_INFO;
    log->id = id ? id : "anonymous-instance";
}

int vmm_log_configure(struct vmm_log *log, const struct api_logger *l, char *err, size_t err_len)
{
    int fd = -1;
    if (l->log_path[0]) {
        /* Non-blocking, as Firecracker opens it: a FIFO nobody drains must
           not stall the VMM (lines are dropped instead). */
        fd = open(l->log_path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
        if (fd < 0)
            return set_err(err, err_len, "Cannot open the log file %s: %s", l->log_path,
                           strerror(errno));
    }
    pthread_mutex_lock(&log->lock);
    if (log->fd >= 0)
        close(log->fd);
    log->fd = fd;
    log->level = l->level;
    log->show_level = l->show_level;
    log->show_origin = l->show_log_origin;
    pthread_mutex_unlock(&log->lock);
    return 0;
}

void vmm_log_close(struct vmm_log *log)
{
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
    pthread_mutex_destroy(&log->lock);
}

bool vmm_log_enabled(struct vmm_log *log, enum api_log_level level)
{
    enum api_log_level now = log->level;
    return level != API_LOG_OFF && (level <= API_LOG_INFO || level <= now);
}

bool vmm_log_limit_take(struct vmm_log_limit *l, uint64_t *dropped)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &t);
    uint64_t second = (uint64_t)t.tv_sec, seen = l->second;
    if (seen != second && atomic_compare_exchange_strong(&l->second, &seen, second))
        l->used = 0;
    if (atomic_fetch_add(&l->used, 1) >= VMM_LOG_LIMIT_PER_SECOND) {
        l->dropped++;
        return false;
    }
    *dropped = atomic_exchange(&l->dropped, 0);
    return true;
}

static const char *level_tag(enum api_log_level level)
{
    static const char *const tags[] = {"OFF", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"};
    return tags[level];
}

void vmm_log_at(struct vmm_log *log, enum api_log_level level, const char *thread, const char *file,
                int line, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log->lock);
    if (log->fd < 0) {
        /* stderr: what duvisor always printed; debug chatter only when asked. */
        if (level <= API_LOG_INFO || level <= log->level)
            fprintf(stderr, "duvisor: %s\n", msg);
    } else if (level != API_LOG_OFF && level <= log->level) {
        struct timespec now;
        struct tm tm;
        clock_gettime(CLOCK_REALTIME, &now);
        gmtime_r(&now.tv_sec, &tm);
        char origin[160] = "";
        if (log->show_origin)
            snprintf(origin, sizeof(origin), ":%s:%d", file, line);
        dprintf(log->fd, "%04d-%02d-%02dT%02d:%02d:%02d.%09ld [%s:%s%s%s%s] %s\n",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                now.tv_nsec, log->id, thread, log->show_level ? ":" : "",
                log->show_level ? level_tag(level) : "", origin, msg);
    }
    pthread_mutex_unlock(&log->lock);
}
