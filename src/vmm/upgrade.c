/* Live upgrade: the handover record, the exec and the reply (see upgrade.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "util/err.h"
#include "util/fdio.h"
#include "util/le.h"
#include "vmm/held_files.h"
#include "vmm/snapshot.h"
#include "vmm/upgrade.h"

static const char MAGIC[8] = {'D', 'U', 'V', 'I', 'U', 'P', 'G', 'R'};
#define MAX_RECORD (1u << 20)

int upgrade_keep_fd(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD, 3);
}

/* --- asking the new binary first ---------------------------------------------------- */

int upgrade_probe(const char *binary, char *err, size_t err_len)
{
    if (access(binary, X_OK) != 0)
        return set_err(err, err_len, "cannot run '%s': %s", binary, strerror(errno));
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0)
        return set_err(err, err_len, "cannot make a pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDERR_FILENO);
        }
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execl(binary, binary, "--snapshot-version", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    if (pid < 0) {
        close(out[0]);
        return set_err(err, err_len, "cannot start '%s': %s", binary, strerror(errno));
    }
    char buf[64] = {0};
    size_t len = 0;
    struct pollfd p = {.fd = out[0], .events = POLLIN};
    while (len < sizeof(buf) - 1 && poll(&p, 1, 5000) > 0) {
        ssize_t n = read(out[0], buf + len, sizeof(buf) - 1 - len);
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(out[0]);
    kill(pid, SIGKILL); /* done or hung: either way it has said what it will say */
    waitpid(pid, NULL, 0);
    unsigned major = 0, minor = 0;
    if (sscanf(buf, "%u.%u", &major, &minor) != 2)
        return set_err(err, err_len,
                       "'%s' does not say which snapshot format it reads (an old "
                       "duvisor, or not duvisor)",
                       binary);
    if (major != SNAPSHOT_FORMAT_MAJOR)
        return set_err(err, err_len, "'%s' reads snapshot format %u.x; this duvisor writes %u.%u",
                       binary, major, SNAPSHOT_FORMAT_MAJOR, SNAPSHOT_FORMAT_MINOR);
    return 0;
}

/* --- the record ------------------------------------------------------------------------ */

static json_t *record_fields(const struct upgrade_handover *h);

static json_t *fd_list(const int *fds, unsigned n)
{
    json_t *a = json_array();
    for (unsigned i = 0; a && i < n; i++)
        json_array_append_new(a, json_integer(fds[i]));
    return a;
}

static bool fd_range(json_int_t v)
{
    return v >= -1 && v <= 1 << 20;
}

static bool parse_fd_list(const json_t *a, int *fds, unsigned n)
{
    if (!json_is_array(a) || json_array_size(a) != n)
        return false;
    for (unsigned i = 0; i < n; i++) {
        const json_t *v = json_array_get(a, i);
        if (!json_is_integer(v) || !fd_range(json_integer_value(v)))
            return false;
        fds[i] = (int)json_integer_value(v);
    }
    return true;
}

static json_t *record_json(const struct upgrade_handover *h)
{
    json_t *j = record_fields(h);
    if (j) {
        json_object_set_new(j, "disk_fds", fd_list(h->disk_fds, VM_MAX_DISKS));
        json_object_set_new(j, "tap_fds", fd_list(h->tap_fds, VM_MAX_NICS));
        json_object_set_new(j, "seccomp", json_integer(h->seccomp));
        json_object_set_new(j, "self_fd", json_integer(h->self_fd));
        if (h->has_held) {
            struct vm_held_files copy = h->held;
            int *held[HELD_FILES_MAX], fds[HELD_FILES_MAX];
            unsigned n = held_files_fields(&copy, held);
            for (unsigned i = 0; i < n; i++)
                fds[i] = *held[i];
            json_object_set_new(j, "held_fds", fd_list(fds, n));
        }
    }
    return j;
}

static json_t *record_fields(const struct upgrade_handover *h)
{
    return json_pack("{s:i, s:i, s:i, s:i, s:b, s:I, s:i, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:i,"
                     " s:{s:b, s:s, s:i, s:b, s:b, s:s}, s:{s:b, s:s}}",
                     "ram_fd", h->ram_fd, "api_fd", h->api_fd, "conn_fd", h->conn_fd, "fallback_fd",
                     h->fallback_fd, "running", h->running, "paused_ns", (json_int_t)h->paused_ns,
                     "upgrades", (int)h->upgrades, "failed", h->failed, "api_sock", h->api_sock,
                     "id", h->id, "firecracker", h->firecracker, "boot_timer", h->boot_timer,
                     "no_reboot", h->no_reboot, "jit_stats", h->jit_stats, "jit", h->jit, "logger",
                     "set", h->logger.set, "log_path", h->logger.log_path, "level",
                     (int)h->logger.level, "show_level", h->logger.show_level, "show_log_origin",
                     h->logger.show_log_origin, "module", h->logger.module, "metrics", "set",
                     h->metrics.set, "metrics_path", h->metrics.metrics_path);
}

static bool copy_str(char *dst, size_t len, const json_t *v)
{
    const char *s = json_string_value(v);
    if (!s || strlen(s) >= len)
        return false;
    strcpy(dst, s);
    return true;
}

static bool fd_field(const json_t *o, const char *name, int *fd)
{
    const json_t *v = json_object_get(o, name);
    if (!json_is_integer(v) || !fd_range(json_integer_value(v)))
        return false;
    *fd = (int)json_integer_value(v);
    return true;
}

static int parse_record(const json_t *o, struct upgrade_handover *h)
{
    const json_t *log = json_object_get(o, "logger"), *met = json_object_get(o, "metrics");
    memset(h, 0, sizeof(*h));
    bool ok =
        fd_field(o, "ram_fd", &h->ram_fd) && fd_field(o, "api_fd", &h->api_fd) &&
        fd_field(o, "conn_fd", &h->conn_fd) && fd_field(o, "fallback_fd", &h->fallback_fd) &&
        copy_str(h->failed, sizeof(h->failed), json_object_get(o, "failed")) &&
        copy_str(h->api_sock, sizeof(h->api_sock), json_object_get(o, "api_sock")) &&
        copy_str(h->id, sizeof(h->id), json_object_get(o, "id")) && json_is_object(log) &&
        json_is_object(met) &&
        copy_str(h->logger.log_path, sizeof(h->logger.log_path),
                 json_object_get(log, "log_path")) &&
        copy_str(h->logger.module, sizeof(h->logger.module), json_object_get(log, "module")) &&
        copy_str(h->metrics.metrics_path, sizeof(h->metrics.metrics_path),
                 json_object_get(met, "metrics_path")) &&
        parse_fd_list(json_object_get(o, "disk_fds"), h->disk_fds, VM_MAX_DISKS) &&
        parse_fd_list(json_object_get(o, "tap_fds"), h->tap_fds, VM_MAX_NICS);
    h->running = json_is_true(json_object_get(o, "running"));
    h->paused_ns = (uint64_t)json_integer_value(json_object_get(o, "paused_ns"));
    h->upgrades = (unsigned)json_integer_value(json_object_get(o, "upgrades"));
    h->firecracker = json_is_true(json_object_get(o, "firecracker"));
    h->boot_timer = json_is_true(json_object_get(o, "boot_timer"));
    h->no_reboot = json_is_true(json_object_get(o, "no_reboot"));
    h->jit_stats = json_is_true(json_object_get(o, "jit_stats"));
    h->jit = (int)json_integer_value(json_object_get(o, "jit"));
    h->seccomp = (int)json_integer_value(json_object_get(o, "seccomp"));
    h->logger.set = json_is_true(json_object_get(log, "set"));
    h->logger.level = (enum api_log_level)json_integer_value(json_object_get(log, "level"));
    h->logger.show_level = json_is_true(json_object_get(log, "show_level"));
    h->logger.show_log_origin = json_is_true(json_object_get(log, "show_log_origin"));
    h->metrics.set = json_is_true(json_object_get(met, "set"));
    /* Optional (older binaries do not send them). */
    h->self_fd = -1;
    if (json_object_get(o, "self_fd") && !fd_field(o, "self_fd", &h->self_fd))
        ok = false;
    const json_t *held = json_object_get(o, "held_fds");
    if (held) {
        int *field[HELD_FILES_MAX], fds[HELD_FILES_MAX];
        unsigned n = held_files_fields(&h->held, field);
        h->has_held = parse_fd_list(held, fds, n);
        ok = ok && h->has_held;
        for (unsigned i = 0; h->has_held && i < n; i++)
            *field[i] = fds[i];
    }
    if (h->logger.level > API_LOG_TRACE || h->jit < 0 || h->jit > 2 || h->seccomp < 0 ||
        h->seccomp > 2)
        ok = false;
    return ok ? 0 : -1;
}

/* --- exec -------------------------------------------------------------------------------- */

int upgrade_exec(const char *binary, int binary_fd, const struct upgrade_handover *h,
                 const void *state, size_t state_len, char *err, size_t err_len)
{
    json_t *j = record_json(h);
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text)
        return set_err(err, err_len, "out of memory");
    int fd = memfd_create("duvisor-upgrade", 0); /* no CLOEXEC: it is the new binary's argument */
    uint8_t head[16];
    memcpy(head, MAGIC, 8);
    put_le64(head + 8, strlen(text));
    int rc = fd >= 0 && write_full(fd, head, sizeof(head)) == 0 &&
                     write_full(fd, text, strlen(text)) == 0 &&
                     write_full(fd, state, state_len) == 0
                 ? 0
                 : -1;
    free(text);
    if (rc) {
        if (fd >= 0)
            close(fd);
        return set_err(err, err_len, "cannot write the upgrade state: %s", strerror(errno));
    }
    char number[16];
    snprintf(number, sizeof(number), "%d", fd);
    char *const argv[] = {(char *)"duvisor", (char *)UPGRADE_COMMAND, number, NULL};
    extern char **environ;
    fflush(NULL);
    if (binary)
        execve(binary, argv, environ);
    else
        fexecve(binary_fd, argv, environ);
    int saved = errno;
    close(fd);
    return set_err(err, err_len, "cannot exec %s: %s", binary ? binary : "the old binary",
                   strerror(saved));
}

int upgrade_read(int fd, struct upgrade_handover *h, uint8_t **state, size_t *state_len, char *err,
                 size_t err_len)
{
    *state = NULL;
    off_t size = lseek(fd, 0, SEEK_END);
    uint8_t *buf = size > 16 && size <= (off_t)(SNAPSHOT_MAX_BYTES + MAX_RECORD)
                       ? malloc((size_t)size + 1)
                       : NULL;
    if (!buf) {
        close(fd);
        return set_err(err, err_len, "the upgrade state is missing or too large");
    }
    ssize_t n = pread(fd, buf, (size_t)size, 0);
    close(fd);
    uint64_t json_len = n == size ? get_le64(buf + 8) : 0;
    if (n != size || memcmp(buf, MAGIC, 8) || json_len > MAX_RECORD ||
        json_len > (uint64_t)size - 16) {
        free(buf);
        return set_err(err, err_len, "not a duvisor upgrade state");
    }
    json_t *j = json_loadb((const char *)buf + 16, (size_t)json_len, 0, NULL);
    int rc = j && parse_record(j, h) == 0 ? 0 : -1;
    json_decref(j);
    if (rc) {
        free(buf);
        return set_err(err, err_len, "the upgrade record is damaged");
    }
    *state_len = (size_t)size - 16 - (size_t)json_len;
    memmove(buf, buf + 16 + json_len, *state_len);
    *state = buf;
    return 0;
}

void upgrade_reply(int conn_fd, int status, const char *fault)
{
    if (conn_fd < 0)
        return;
    char body[700] = "";
    if (fault) {
        json_t *j = json_pack("{s:s}", "fault_message", fault);
        char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
        snprintf(body, sizeof(body), "%s", text ? text : "{}");
        free(text);
        json_decref(j);
    }
    char reply[1024];
    int n = snprintf(reply, sizeof(reply),
                     "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n\r\n%s",
                     status, status == 204 ? "No Content" : "Bad Request", strlen(body), body);
    if (n > 0 && (size_t)n < sizeof(reply))
        write_full(conn_fd, reply, (size_t)n);
    close(conn_fd);
}
