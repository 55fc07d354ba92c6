/* SPDX-License-Identifier: MIT */
/*
 * net_tap.h - a virtio-net NIC on a host TAP interface (`--net tap=NAME`).
 *
 * Opens /dev/net/tun and attaches to (or, with CAP_NET_ADMIN, creates) the
 * TAP interface NAME without packet information (IFF_TAP | IFF_NO_PI), so
 * every read(2) is one Ethernet frame and every write(2) sends one.
 * Configuring the host side (addresses, bridge, link up) is left to the
 * user. A persistent tap made with `ip tuntap add NAME mode tap user USER`
 * can be used without root.
 *
 * Threads: a reader thread polls the tap and hands each frame to
 * virtio_net_receive(); send (on vCPU threads) is a plain write(2).
 */
#ifndef DUVISOR_DEVICES_NET_TAP_H
#define DUVISOR_DEVICES_NET_TAP_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio_net.h"

struct net_tap_stats {
    uint64_t rx_frames; /* read from the tap */
    uint64_t tx_frames; /* written to the tap */
    uint64_t tx_errors; /* write(2) failed, e.g. the interface is down */
};

struct net_tap;

/* name: an interface name (< IFNAMSIZ; a "%d" in it lets the kernel pick a
   number). NULL with a message in err: no /dev/net/tun, no permission, in use. */
struct net_tap *net_tap_create(const char *name, char *err, size_t err_len);
/* The interface's actual name (after the kernel expanded "%d"). */
const char *net_tap_name(const struct net_tap *t);
/* Only the TAP's fd (close-on-exec), for net_tap_adopt later: a jailed VMM
   opens its TAPs before it enters the jail. -1 with a message in err. */
int net_tap_open(const char *name, char *err, size_t err_len);
/* Live upgrade: the same, on a TAP fd the previous binary had open for name
   (duplicated; the caller keeps its own). And the fd to hand over. */
struct net_tap *net_tap_adopt(int fd, const char *name, char *err, size_t err_len);
int net_tap_fd(const struct net_tap *t);
/* The same backend on a SOCK_SEQPACKET socket carrying one frame per
   message (the user-networking helper's, net_user.h), named label. */
struct net_tap *net_tap_adopt_socket(int fd, const char *label, char *err, size_t err_len);
/* Frames from the tap go to n from now on (NULL: read and dropped). Any thread. */
void net_tap_attach(struct net_tap *t, struct virtio_net *n);
/* The transmit side for virtio_net_create(). */
struct net_backend net_tap_backend(struct net_tap *t);
void net_tap_get_stats(struct net_tap *t, struct net_tap_stats *out);
/* Stops the reader (no virtio_net_receive() runs after it returns) and closes
   the tap. NULL is fine. */
void net_tap_destroy(struct net_tap *t);

#endif /* DUVISOR_DEVICES_NET_TAP_H */
