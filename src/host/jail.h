/*
 * The jail: one VMM process confined to a directory with nothing else of
 * the host in reach (`--jail DIR [--uid N] [--gid N] [--netns PATH]
 * [--resource-limit NAME=N]`), entered before any thread starts:
 *
 *   - every fd but stdin, stdout, stderr and the ones the VMM asks to keep is
 *     closed, so nothing the launcher leaked (a directory fd is a way out)
 *     reaches the jail;
 *   - new mount, PID, IPC, UTS and network namespaces (the network one is
 *     --netns's instead when given), plus a user namespace when duvisor is
 *     not root, so the jail needs no privilege where user namespaces are
 *     allowed;
 *   - DIR becomes the root (pivot_root; the host's tree is detached), bound
 *     nosuid and nodev; with --jail-tun, /dev/net/tun is bound in, on a
 *     tmpfs of the jail's own (DIR gets at most an empty dev directory);
 *   - rlimits: no-file (default 2048), core 0 (guest RAM never lands in a
 *     core file), and fsize and as when given;
 *   - the process runs as --uid/--gid (root's default is 65534, nobody)
 *     with no capabilities and no way to gain any.
 *
 * A new PID namespace needs a fork: the process that called jail_enter
 * stays outside as a waiter (its own seccomp filter, no fds), forwards the
 * stop signals and exits as the VMM did; jail_enter returns in the child,
 * PID 1 of the jail, which the kernel kills if the waiter dies.
 */
#ifndef DUVISOR_HOST_JAIL_H
#define DUVISOR_HOST_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jail_config {
    const char *dir;             /* NULL: no jail */
    long uid, gid;               /* -1: the default */
    const char *netns;           /* a network namespace file to join; NULL: a new one */
    bool tun;                    /* bind /dev/net/tun in (TAPs opened inside the jail) */
    uint64_t no_file, fsize, as; /* rlimits; 0: the default */
};
#define JAIL_DEFAULT_NO_FILE 2048u
#define JAIL_NOBODY          65534 /* root's default --uid and --gid */

void jail_config_init(struct jail_config *j);

/* Enter the jail, keeping the nkeep fds in keep open. Single-threaded
   callers only. Returns 0 in the jailed process, or -1 with a reason (the
   caller exits then: the jail may be half made); never in the waiter. */
int jail_enter(const struct jail_config *j, const int *keep, unsigned nkeep, char *err,
               size_t err_len);

#endif
