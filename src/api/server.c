/* The control API's HTTP server (see server.h). */
#include <errno.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/server.h"
#include "host/sandbox.h"
#include "util/err.h"

struct api_server {
    struct MHD_Daemon *daemon;
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    api_server_handler handler;
    void *opaque;
    int current_fd; /* the connection whose request the handler serves; -1 outside */
    bool sandboxed; /* the server's thread has its filter (it has no start hook of ours) */
};

/* One request's body as it arrives. */
struct request {
    char *body;
    size_t len;
    bool too_large;
};

static enum MHD_Result send_reply(struct MHD_Connection *c, const struct api_response *r)
{
    size_t len = r->body ? strlen(r->body) : 0;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(len, r->body ? r->body : (char *)"", MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    if (len)
        MHD_add_response_header(resp, "Content-Type", "application/json");
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

/* Take a chunk of the body: false when the body is over the limit. */
static bool take(struct request *rq, const char *data, size_t len)
{
    if (rq->too_large || len > API_MAX_PAYLOAD - rq->len) {
        rq->too_large = true;
        free(rq->body);
        rq->body = NULL;
        return false;
    }
    char *grown = realloc(rq->body, rq->len + len + 1);
    if (!grown) {
        rq->too_large = true;
        return false;
    }
    memcpy(grown + rq->len, data, len);
    rq->len += len;
    grown[rq->len] = '\0';
    rq->body = grown;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct api_server *s = cls;
    struct request *rq = *con_cls;
    if (!s->sandboxed) {
        /* libmicrohttpd's thread: filtered from its first request on */
        sandbox_enter_or_warn(SANDBOX_API);
        s->sandboxed = true;
    }
    if (!rq) { /* headers only: set up the body */
        rq = calloc(1, sizeof(*rq));
        if (!rq)
            return MHD_NO;
        *con_cls = rq;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        /* The body is still read (and dropped as it comes), so the connection
           stays usable for the client's next request. */
        if (cl && strtoull(cl, NULL, 10) > API_MAX_PAYLOAD)
            rq->too_large = true;
        return MHD_YES;
    }
    if (*upload_data_size) {
        take(rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct api_response resp = {0};
    if (rq->too_large)
        api_fault(&resp, 413, "Request payload is larger than the limit of %u allowed by server.",
                  API_MAX_PAYLOAD);
    else {
        const union MHD_ConnectionInfo *info =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        s->current_fd = info ? info->connect_fd : -1;
        s->handler(s->opaque, method, url, rq->body, rq->len, &resp);
        s->current_fd = -1;
    }
    enum MHD_Result ok = send_reply(c, &resp);
    api_response_free(&resp);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    struct request *rq = *con_cls;
    if (rq) {
        free(rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

/* Make way for the socket at path: nothing there, or a stale socket. */
static int clear_path(const char *path, char *err, size_t err_len)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0
                               : set_err(err, err_len, "--api-sock %s: %s", path, strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return set_err(err, err_len, "--api-sock %s: exists and is not a socket", path);
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
    bool live = probe >= 0 && connect(probe, (struct sockaddr *)&addr, sizeof(addr)) == 0;
    if (probe >= 0)
        close(probe);
    if (live)
        return set_err(err, err_len, "--api-sock %s: another process is serving it", path);
    if (unlink(path) != 0)
        return set_err(err, err_len, "--api-sock %s: cannot remove the stale socket: %s", path,
                       strerror(errno));
    return 0;
}

static int listen_on(const char *path, char *err, size_t err_len)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof(addr.sun_path)) {
        set_err(err, err_len, "--api-sock %s: path longer than %zu bytes", path,
                sizeof(addr.sun_path) - 1);
        return -1;
    }
    if (clear_path(path, err, err_len))
        return -1;
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, err_len, "--api-sock: cannot create a socket: %s", strerror(errno));
        return -1;
    }
    mode_t old = umask(0177); /* created 0600: only our user may drive the VM */
    int rc = bind(fd, (struct sockaddr *)&addr, sizeof(addr));
    umask(old);
    if (rc != 0 || listen(fd, 16) != 0) {
        set_err(err, err_len, "--api-sock %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* Serve s->fd (a listening socket at path). s on success; NULL with a reason,
   the fd closed, the socket removed and s freed. */
static struct api_server *serve(struct api_server *s, const char *path, char *err, size_t err_len)
{
    s->current_fd = -1;
    snprintf(s->path, sizeof(s->path), "%s", path);
    s->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL, 0, NULL, NULL, on_request, s,
        MHD_OPTION_LISTEN_SOCKET, s->fd, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        /* A few clients at a time; headers beyond 16 KiB are refused by the library. */
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(32 * 1024), MHD_OPTION_END);
    if (!s->daemon) {
        set_err(err, err_len, "--api-sock %s: cannot start the HTTP server", path);
        close(s->fd);
        unlink(path);
        free(s);
        return NULL;
    }
    return s;
}

struct api_server *api_server_start(const char *path, api_server_handler handler, void *opaque,
                                    char *err, size_t err_len)
{
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    s->handler = handler;
    s->opaque = opaque;
    s->fd = listen_on(path, err, err_len);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    return serve(s, path, err, err_len);
}

struct api_server *api_server_adopt(int fd, const char *path, api_server_handler handler,
                                    void *opaque, char *err, size_t err_len)
{
    struct api_server *s = calloc(1, sizeof(*s));
    if (!s) {
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    s->handler = handler;
    s->opaque = opaque;
    s->fd = fd;
    return serve(s, path, err, err_len);
}

int api_server_current_fd(const struct api_server *s)
{
    return s ? s->current_fd : -1;
}

int api_server_listen_fd(const struct api_server *s)
{
    return s ? s->fd : -1;
}

void api_server_stop(struct api_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->daemon);
    close(s->fd);
    unlink(s->path);
    free(s);
}
