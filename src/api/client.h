/*
 * A minimal client of the control API, for duvisor's own subcommands
 * (snapshot, upgrade): one HTTP/1.1 request over the Unix socket, the
 * status and body of the reply. The caller ignores SIGPIPE (a VMM that
 * closes the connection early is then an error, not a signal).
 */
#ifndef DUVISOR_API_CLIENT_H
#define DUVISOR_API_CLIENT_H

#include <stddef.h>

/* Send method path with body (NULL: none) to the API at sock and wait up to
   timeout_ms for the reply. *status is the HTTP status; the reply's body (a
   fault message, or JSON) goes to reply (NUL-terminated, truncated). 0, or
   -1 with a reason in err (no connection, no reply, not HTTP). */
int api_client_request(const char *sock, const char *method, const char *path, const char *body,
                       int timeout_ms, int *status, char *reply, size_t reply_len, char *err,
                       size_t err_len);

#endif
