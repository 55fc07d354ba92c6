/* SPDX-License-Identifier: MIT */
/*
 * virtio_fs.h - a shared host folder (virtio 1.2, "File System Device",
 * device ID 26) served by virtiofsd over vhost-user.
 *
 * The guest speaks FUSE over two queues (hiprio and one request queue); duvisor
 * does not look at the requests. virtiofsd, a separate process started once per
 * VMM (before the seccomp filter and the jail, which would forbid what its own
 * sandbox does), maps guest RAM from the VM's memfd and serves the rings
 * itself: a QueueNotify becomes a write to the queue's kick eventfd, and a
 * thread of the device waits on the call eventfds and raises the interrupt
 * (first telling the harts what the daemon wrote, for the JIT's coherence).
 * The daemon outlives guest reboots: each new VM sends it a new memory table
 * and rings. If it dies, the VMM logs one line and the transport takes the
 * queues back: every request the daemon held, and every later one, is
 * answered with a FUSE error reply (-EIO), so the guest sees I/O errors
 * rather than hung requests (Linux does not act on DEVICE_NEEDS_RESET for
 * virtio-fs). Nothing waits for the daemon longer than VHOST_USER_TIMEOUT_MS.
 *
 * Config space: tag[36] (NUL-padded), le32 num_request_queues = 1. No
 * device feature bits. Snapshots of a VM with a share are refused (the
 * daemon's state, open files included, cannot be saved).
 */
#ifndef DUVISOR_DEVICES_VIRTIO_FS_H
#define DUVISOR_DEVICES_VIRTIO_FS_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio.h"

#define VIRTIO_ID_FS          26u
#define VIRTIO_FS_TAG_MAX     36u /* bytes, without a terminating NUL */
#define VIRTIO_FS_QUEUES      2u  /* hiprio, one request queue */
#define VIRTIO_FS_QUEUE_SIZE  256u
#define VIRTIO_FS_CONFIG_SIZE 40u

/* The running virtiofsd of one share, and the vhost-user session with it. */
struct virtio_fs_daemon;

/* Start virtiofsd serving dir (a directory; the standalone `virtiofsd` on
   PATH if there is one, else QEMU's /usr/lib/qemu/virtiofsd; $DUVISOR_VIRTIOFSD
   overrides), connect and start the session. NULL with the reason in err. */
struct virtio_fs_daemon *virtio_fs_daemon_start(const char *dir, char *err, size_t err_len);
/* Wrap an already connected backend socket (tests): no process to reap. */
struct virtio_fs_daemon *virtio_fs_daemon_adopt(int sock, char *err, size_t err_len);
/* Close the session (the daemon then exits) and reap the process. NULL is fine. */
void virtio_fs_daemon_stop(struct virtio_fs_daemon *fd);
/* The session's socket, to keep open across the jail. */
int virtio_fs_daemon_socket(const struct virtio_fs_daemon *fd);

/* Guest RAM as the daemon maps it: the memfd and where it sits. */
struct virtio_fs_ram {
    int fd;
    uint64_t gpa, size;
    void *host;
};

struct virtio_fs;

/* A device for tag on daemon (not owned), its RAM shared as ram. Starts the
   device's call thread. NULL with the reason in err. */
struct virtio_fs *virtio_fs_create(struct virtio_fs_daemon *daemon, const char *tag,
                                   const struct virtio_fs_ram *ram, char *err, size_t err_len);
const struct virtio_device_ops *virtio_fs_ops(void);
void virtio_fs_bind(struct virtio_fs *fs, struct virtio_device *vdev);
/* Stops the thread and the daemon's rings; before the transport is destroyed. */
void virtio_fs_destroy(struct virtio_fs *fs);

#endif
