/* SPDX-License-Identifier: MIT */
/*
 * vhost_user.h - the frontend ("master") side of the vhost-user protocol
 * (QEMU's docs/interop/vhost-user.rst): a device whose virtqueues another
 * process serves, reached over a Unix stream socket. Messages are a 12-byte
 * header (request, flags with version 1, payload size) and a payload; file
 * descriptors travel as SCM_RIGHTS with the message that names them.
 *
 * What duvisor sends: GET_FEATURES / SET_FEATURES, GET_PROTOCOL_FEATURES /
 * SET_PROTOCOL_FEATURES (REPLY_ACK only, when the backend offers it), SET_OWNER,
 * SET_MEM_TABLE (guest RAM as a memfd region), per ring SET_VRING_NUM / ADDR /
 * BASE / KICK / CALL / ERR / ENABLE, and GET_VRING_BASE to stop a ring.
 *
 * The backend is another process and may be broken or hostile: every reply is
 * read with a deadline, must carry the request it answers, the REPLY flag and
 * exactly the size that request's reply has; anything else fails the call and
 * marks the connection dead (every later call fails at once). No call blocks
 * longer than VHOST_USER_TIMEOUT_MS. Calls are serialised by a lock, so any
 * thread may make them.
 */
#ifndef DUVISOR_DEVICES_VHOST_USER_H
#define DUVISOR_DEVICES_VHOST_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Requests (the numbers of the specification). */
enum vhost_user_request {
    VHOST_USER_GET_FEATURES = 1,
    VHOST_USER_SET_FEATURES = 2,
    VHOST_USER_SET_OWNER = 3,
    VHOST_USER_SET_MEM_TABLE = 5,
    VHOST_USER_SET_VRING_NUM = 8,
    VHOST_USER_SET_VRING_ADDR = 9,
    VHOST_USER_SET_VRING_BASE = 10,
    VHOST_USER_GET_VRING_BASE = 11,
    VHOST_USER_SET_VRING_KICK = 12,
    VHOST_USER_SET_VRING_CALL = 13,
    VHOST_USER_SET_VRING_ERR = 14,
    VHOST_USER_GET_PROTOCOL_FEATURES = 15,
    VHOST_USER_SET_PROTOCOL_FEATURES = 16,
    VHOST_USER_SET_VRING_ENABLE = 18,
};

#define VHOST_USER_VERSION         1u
#define VHOST_USER_FLAG_VERSION    3u        /* flags bits 0..1 */
#define VHOST_USER_FLAG_REPLY      (1u << 2) /* a backend's reply */
#define VHOST_USER_FLAG_NEED_REPLY (1u << 3) /* REPLY_ACK asked for */
#define VHOST_USER_HEADER_SIZE     12u

/* Feature bit of GET_FEATURES: the protocol-feature messages exist. */
#define VHOST_USER_F_PROTOCOL_FEATURES  (1ull << 30)
/* Protocol features. */
#define VHOST_USER_PROTOCOL_F_REPLY_ACK (1ull << 3)

/* The most memory regions SET_MEM_TABLE carries (the protocol's limit). */
#define VHOST_USER_MAX_REGIONS 8u
/* The biggest payload a reply to us may have (a u64 or a vring state). */
#define VHOST_USER_MAX_REPLY   8u
#define VHOST_USER_TIMEOUT_MS  5000

/* One region of the frontend's memory the backend maps from fd at
   mmap_offset: guest-physical gpa.. and, in this process, user_addr.. */
struct vhost_user_region {
    uint64_t gpa, size, user_addr, mmap_offset;
    int fd;
};

/* Ring addresses, as this process sees them (the backend translates them
   through the memory table's user_addr). */
struct vhost_user_vring_addr {
    uint64_t desc, used, avail;
};

struct vhost_user;

/* Take the connected socket fd (closed by vhost_user_close). NULL on no memory. */
struct vhost_user *vhost_user_open(int fd);
void vhost_user_close(struct vhost_user *vu);
/* The socket (for poll: a hang-up means the backend is gone). */
int vhost_user_fd(const struct vhost_user *vu);
/* False once any call failed or the peer closed. */
bool vhost_user_alive(const struct vhost_user *vu);

/*
 * The session's first steps: GET_FEATURES, then with PROTOCOL_FEATURES
 * GET/SET_PROTOCOL_FEATURES (REPLY_ACK if offered), then SET_OWNER. *features
 * gets the backend's virtio features. 0, or -1 with the reason in err.
 */
int vhost_user_start(struct vhost_user *vu, uint64_t *features, char *err, size_t err_len);
/* The features the driver negotiated (PROTOCOL_FEATURES is added when the
   backend offered it, as the protocol asks). */
int vhost_user_set_features(struct vhost_user *vu, uint64_t features);
int vhost_user_set_mem_table(struct vhost_user *vu, const struct vhost_user_region *r, unsigned n);
int vhost_user_set_vring_num(struct vhost_user *vu, unsigned q, unsigned num);
int vhost_user_set_vring_addr(struct vhost_user *vu, unsigned q,
                              const struct vhost_user_vring_addr *a);
int vhost_user_set_vring_base(struct vhost_user *vu, unsigned q, uint16_t base);
/* The eventfds: kick (we write, it reads), call (it writes, we read), err. */
int vhost_user_set_vring_fd(struct vhost_user *vu, enum vhost_user_request req, unsigned q, int fd);
int vhost_user_set_vring_enable(struct vhost_user *vu, unsigned q, bool enable);
/* Stop ring q; *base = the next avail index the backend would have taken. */
int vhost_user_get_vring_base(struct vhost_user *vu, unsigned q, uint16_t *base);

#endif
