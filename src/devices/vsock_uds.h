/* SPDX-License-Identifier: MIT */
/*
 * vsock_uds.h - the socket device's host side, Firecracker's hybrid design:
 * AF_VSOCK in the guest, Unix sockets on the host.
 *
 *   host -> guest: a host process connects to the Unix socket PATH and
 *     writes "CONNECT <port>\n"; once the guest's listener on <port>
 *     accepts, it reads "OK <host port>\n" and then has a byte stream to
 *     the guest. A guest that does not listen there: the connection closes.
 *     A line that is not exactly that (at most 31 bytes) closes it too, as
 *     does a 17th connection still silent about its port (the oldest goes).
 *   guest -> host: a guest connect to CID 2 port P reaches the host listener
 *     on the Unix socket "PATH_P"; none there: the guest's connect fails
 *     with ECONNRESET.
 *
 * One worker thread (its own seccomp filter, SANDBOX_VSOCK) waits in
 * epoll_wait on the listener, the handshakes, every connection's socket
 * and an eventfd the device's kicks write, and runs the device
 * (virtio_vsock_run) after each batch of events.
 *
 * Wiring:
 *     struct vsock_uds *u = vsock_uds_create(cid, path, err, err_len);
 *     struct virtio_device *d = virtio_create(virtio_vsock_ops(), vsock_uds_device(u), ...);
 *     virtio_vsock_bind(vsock_uds_device(u), d);
 *     ...
 *     vsock_uds_stop(u); virtio_destroy(d); vsock_uds_destroy(u);
 */
#ifndef DUVISOR_DEVICES_VSOCK_UDS_H
#define DUVISOR_DEVICES_VSOCK_UDS_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_vsock.h"

/* Longest PATH: sun_path less "_4294967295" for the guest's connects. */
#define VSOCK_UDS_PATH_MAX 96u

struct vsock_uds;

/* Listen on path (a stale socket there is replaced; any other file is an
   error), make the device for guest_cid and start the worker. NULL with a
   reason. */
struct vsock_uds *vsock_uds_create(uint64_t guest_cid, const char *path, char *err, size_t err_len);
struct virtio_vsock *vsock_uds_device(struct vsock_uds *u);
/* Stop the worker: the device is no longer driven. NULL is fine. */
void vsock_uds_stop(struct vsock_uds *u);
/* After stop and once the transport is gone: the device, every socket, and
   the listener's file. NULL is fine. */
void vsock_uds_destroy(struct vsock_uds *u);

#endif /* DUVISOR_DEVICES_VSOCK_UDS_H */
