/*
 * The control API's HTTP/1.1 server on a Unix socket (libmicrohttpd, one
 * internal thread, keep-alive). It collects each request's body (refusing
 * one over API_MAX_PAYLOAD with 413 without reading it into memory) and
 * hands method, path and body to the handler, which fills the reply. The
 * handler runs on the server's thread and may block it; it never runs on a
 * vCPU's. Malformed HTTP and oversized headers are refused by the library.
 */
#ifndef DUVISOR_API_SERVER_H
#define DUVISOR_API_SERVER_H

#include <stddef.h>

#include "api/api.h"

typedef void (*api_server_handler)(void *opaque, const char *method, const char *path,
                                   const char *body, size_t len, struct api_response *resp);

struct api_server;

/* Listen on path, created with mode 0600. An existing path is refused unless
   it is a socket nobody listens on (a stale one, which is replaced). NULL
   with a one-line reason in err. */
struct api_server *api_server_start(const char *path, api_server_handler handler, void *opaque,
                                    char *err, size_t err_len);
/* Serve fd, a socket already listening at path (handed over by the duvisor
   this process replaced). NULL with a reason (fd is then closed). */
struct api_server *api_server_adopt(int fd, const char *path, api_server_handler handler,
                                    void *opaque, char *err, size_t err_len);
/* While the handler runs: the fd of the connection it serves (a live upgrade
   answers on it from the next binary); -1 otherwise. */
int api_server_current_fd(const struct api_server *s);
/* The listening socket. */
int api_server_listen_fd(const struct api_server *s);
/* Stop serving (the handler must not be blocked waiting for the caller) and
   remove the socket. NULL is fine. */
void api_server_stop(struct api_server *s);

#endif
