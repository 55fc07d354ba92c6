/* SPDX-License-Identifier: MIT */
/*
 * net_slirp.h - user-mode networking for a virtio-net NIC through libslirp
 * (`--net user[,hostfwd=...]`): no root, no host interface.
 *
 * The guest sees QEMU's familiar network: 10.0.2.0/24, the gateway and
 * host at 10.0.2.2 (connections to it reach the host's loopback), DNS at
 * 10.0.2.3, DHCP handing out addresses from 10.0.2.15; IPv6 fec0::/64 with
 * the host at fec0::2 and DNS at fec0::3 by router advertisement.
 *
 * Options: "" or a comma-separated list of
 *     hostfwd=PROTO:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT
 * PROTO is tcp or udp; HOSTADDR a dotted IPv4 address (default 127.0.0.1,
 * 0.0.0.0 for every interface); GUESTADDR one in 10.0.2.0/24 (default
 * 10.0.2.15); ports 1..65535 in decimal. E.g. "hostfwd=tcp::8080-:80".
 *
 * Threads: libslirp is not thread-safe, so one thread owns it and runs a
 * poll loop over slirp's sockets, a wakeup eventfd and slirp's timers.
 * The backend's send (called on vCPU threads) only queues a copy of the
 * frame (at most NET_SLIRP_TXQ_LEN; beyond that frames are dropped and
 * counted) and wakes that thread, which feeds it to slirp_input. Frames
 * for the guest are handed to virtio_net_receive() on the slirp thread.
 */
#ifndef DUVISOR_DEVICES_NET_SLIRP_H
#define DUVISOR_DEVICES_NET_SLIRP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_net.h"

#define NET_SLIRP_NETWORK    "10.0.2.0"
#define NET_SLIRP_NETMASK    "255.255.255.0"
#define NET_SLIRP_HOST       "10.0.2.2"
#define NET_SLIRP_DNS        "10.0.2.3"
#define NET_SLIRP_DHCP_START "10.0.2.15"

#define NET_SLIRP_MAX_HOSTFWD 32u  /* rules per instance */
#define NET_SLIRP_TXQ_LEN     256u /* guest frames waiting for the slirp thread */

struct net_hostfwd {
    bool udp;
    struct in_addr host_addr, guest_addr; /* network byte order */
    uint16_t host_port, guest_port;
};

struct net_slirp_stats {
    uint64_t tx_queued;    /* guest frames handed to the slirp thread */
    uint64_t tx_dropped;   /* guest frames dropped: queue full or no memory */
    uint64_t rx_frames;    /* frames slirp sent towards the guest */
    uint64_t guest_errors; /* complaints from slirp about the guest's traffic */
};

struct net_slirp;

/*
 * Parse one rule, the part after "hostfwd=" (len bytes of rule, which need
 * not be NUL-terminated). 0, or -1 with a message in err.
 */
int net_slirp_parse_hostfwd(const char *rule, size_t len, struct net_hostfwd *out, char *err,
                            size_t err_len);

/* Start the slirp instance and its thread, with the host ports of every
   hostfwd rule bound. NULL with a message in err (bad option, port in use). */
struct net_slirp *net_slirp_create(const char *options, char *err, size_t err_len);
/* Frames for the guest go to n from now on (NULL: dropped). Any thread. */
void net_slirp_attach(struct net_slirp *s, struct virtio_net *n);
/* Frames for the guest go to sink instead (the user-networking helper
   process sends them over its socket). Any thread. */
typedef void (*net_slirp_sink)(void *opaque, const uint8_t *frame, size_t len);
void net_slirp_attach_sink(struct net_slirp *s, net_slirp_sink sink, void *opaque);
/* The transmit side for virtio_net_create(). */
struct net_backend net_slirp_backend(struct net_slirp *s);
void net_slirp_get_stats(struct net_slirp *s, struct net_slirp_stats *out);
/* Stops the thread (no virtio_net_receive() runs after it returns), closes
   every socket. NULL is fine. */
void net_slirp_destroy(struct net_slirp *s);

#endif /* DUVISOR_DEVICES_NET_SLIRP_H */
