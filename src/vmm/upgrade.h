/*
 * Live upgrade: the running duvisor execs a new binary in its own process
 * (same PID), handing over what the guest needs to run on:
 *
 *   - guest RAM (the memfd, mapped shared again: no copy),
 *   - the VM's state (a snapshot, vmm/snapshot.h) and this handover record,
 *     in one memfd whose number is the new binary's only argument,
 *   - the API's listening socket (clients queue meanwhile) and the
 *     connection that asked for the upgrade (the answer comes from the
 *     binary that ends up running the guest),
 *   - an fd of the old binary, so a new binary that cannot take the VM over
 *     execs the old one back with the reason: an upgrade never kills the guest.
 *
 *   - the open disk images (with their locks) and TAP devices, so neither a
 *     renamed image nor a TAP that lives only while open is lost;
 *   - in a jail, the files opened before it (kernel, initrd, ...) and the
 *     new binary itself, which the jail cannot open by name.
 *
 * The console and the log continue on the same fds.
 */
#ifndef DUVISOR_VMM_UPGRADE_H
#define DUVISOR_VMM_UPGRADE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"

#define UPGRADE_COMMAND "__upgrade-resume" /* argv[1] of the new binary */

struct upgrade_handover {
    int ram_fd, api_fd, conn_fd, fallback_fd; /* -1: none */
    int disk_fds[VM_MAX_DISKS], tap_fds[VM_MAX_NICS];
    bool running;       /* resume the guest once restored */
    uint64_t paused_ns; /* CLOCK_MONOTONIC when the guest paused */
    unsigned upgrades;  /* how many this VM has been through */
    char failed[512];   /* set when a new binary gave the VM back */
    /* the VMM's own settings, as the old process had them */
    char api_sock[108];
    char id[VM_ID_MAX];
    bool firecracker, boot_timer, no_reboot, jit_stats;
    int jit;     /* enum vm_jit */
    int seccomp; /* enum sandbox_mode */
    struct api_logger logger;
    struct api_metrics metrics;
    /* A jailed VMM's files, opened before the jail (vmm/held_files.h): the
       new binary holds them on (a guest reboot reads them), as it cannot
       open them by name. has_held false: none. */
    bool has_held;
    struct vm_held_files held;
    /* The binary exec'd, open, for its own way back at a later upgrade
       (in a jail there is no /proc/self/exe); -1: none. */
    int self_fd;
};

/* Ask binary which snapshot format it reads (`binary --snapshot-version`):
   0 when it reads this one's, else -1 with a reason. Waits at most 5 s. */
int upgrade_probe(const char *binary, char *err, size_t err_len);

/* Exec binary (or, when binary is NULL, the executable open as binary_fd)
   with h and the state. The fds in h must be open without FD_CLOEXEC.
   Returns only on failure: -1 with a reason, nothing of the caller changed. */
int upgrade_exec(const char *binary, int binary_fd, const struct upgrade_handover *h,
                 const void *state, size_t state_len, char *err, size_t err_len);

/* In the new binary: read the handover memfd (then closed). *state is
   malloc'd. 0, or -1 with a reason. */
int upgrade_read(int fd, struct upgrade_handover *h, uint8_t **state, size_t *state_len, char *err,
                 size_t err_len);

/* Answer the upgrade request on conn_fd (204, or 400 with fault) and close it. */
void upgrade_reply(int conn_fd, int status, const char *fault);

/* fd without FD_CLOEXEC (a duplicate): it survives exec. -1 on failure. */
int upgrade_keep_fd(int fd);

#endif
