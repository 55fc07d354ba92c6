/*
 * net_user.h - user-mode networking (`--net user`) in a helper process.
 *
 * libslirp (net_slirp.h) runs in a process of its own, started from the
 * duvisor binary (`duvisor __net-user FD SANDBOX-MODE OPTIONS`, in its own
 * seccomp filter), and exchanges Ethernet
 * frames with the VMM over a SOCK_SEQPACKET socket pair, one frame per
 * message; the VMM side is a frame-fd backend (net_tap_adopt_socket). The
 * helper holds every host socket of the guest's connections and every
 * hostfwd listener, so a live upgrade of the VMM (which hands the socket
 * over) keeps the guest's TCP connections open; and a bug in libslirp's
 * packet parsing is confined to a process that holds nothing else.
 *
 * The helper's first message says whether slirp started ("OK", or "ERR "
 * and the reason, e.g. a hostfwd port in use). It ends when the VMM's end
 * of the socket closes (the VMM exited, or the VM was torn down).
 */
#ifndef DUVISOR_DEVICES_NET_USER_H
#define DUVISOR_DEVICES_NET_USER_H

#include <stddef.h>

#define NET_USER_COMMAND "__net-user" /* argv[1] of the helper */

/* Start the helper from the executable `self` (the VMM's own binary) with
   options as for net_slirp_create. The VMM's end of the socket (close-on-
   exec), or -1 with the helper's reason in err. Waits at most 10 s. */
int net_user_spawn(const char *self, const char *options, char *err, size_t err_len);

/* The helper's main: serve slirp on fd until it closes. Exit status. */
int net_user_helper_main(int fd, int sandbox_mode, const char *options);

#endif
