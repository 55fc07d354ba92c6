/*
 * The sandbox: a seccomp filter per kind of thread (libseccomp), so a bug in
 * duvisor that a guest or a client can reach runs with only the system
 * calls that thread's code makes.
 *
 * Each thread installs its own filter when it starts (sandbox_enter), before
 * the guest runs; filters stack, so a thread a filtered thread creates has
 * both. The VMM (main) thread's filter is the widest: it builds VMs, writes
 * snapshots, spawns the user-networking helper and execs a live upgrade's
 * new binary. Any other call is answered with SIGSYS: the process prints
 * which thread made which call, restores the terminal and dies (in `log`
 * mode the kernel logs the call instead and it goes ahead). clone3 answers
 * ENOSYS, so glibc falls back to clone; NoNewPrivs is set.
 */
#ifndef DUVISOR_HOST_SANDBOX_H
#define DUVISOR_HOST_SANDBOX_H

#include <stdbool.h>
#include <stddef.h>

enum sandbox_mode { SANDBOX_OFF, SANDBOX_LOG, SANDBOX_ON };

enum sandbox_thread {
    SANDBOX_VMM,         /* the main thread: event loop, API actions, VM lifecycle */
    SANDBOX_VCPU,        /* a vCPU: runs the guest and handles its exits */
    SANDBOX_BLOCK,       /* a virtio-blk worker */
    SANDBOX_NET_READER,  /* a NIC backend's frame reader (TAP or user networking) */
    SANDBOX_CONSOLE,     /* the console's stdin reader */
    SANDBOX_API,         /* the HTTP server's thread */
    SANDBOX_NET_HELPER,  /* the user-networking helper process (libslirp) */
    SANDBOX_JAIL_WAITER, /* the process outside a jail that waits for the VMM in it */
    SANDBOX_VHOST,       /* a vhost-user device's thread: waits on its call eventfds */
    SANDBOX_VSOCK,       /* the vsock device's worker: its Unix sockets and queues */
    SANDBOX_GDB,         /* the GDB stub's thread: its client, the vCPUs' gate */
    SANDBOX_KINDS
};

/* The mode for the whole process: once, before any thread starts.
   SANDBOX_ON also installs the SIGSYS reporter. */
void sandbox_set_mode(enum sandbox_mode mode);
enum sandbox_mode sandbox_mode(void);
/* A live upgrade's new binary runs under the old one's VMM filter, which
   exec keeps: its VMM thread need not stack the same filter again. */
void sandbox_vmm_filter_inherited(void);
/* "off", "log", "on" -> mode; false for anything else. */
bool sandbox_parse_mode(const char *text, enum sandbox_mode *mode);
/* The default: on, but off in sanitizer builds (their runtimes make calls
   no filter here allows). */
enum sandbox_mode sandbox_default_mode(void);

/* Filter the calling thread as kind (nothing when the mode is off). 0, or -1
   with a reason (the thread then runs unfiltered: the caller decides). */
int sandbox_enter(enum sandbox_thread kind, char *err, size_t err_len);
/* The same, for threads whose failure has nowhere to go: a line on stderr. */
void sandbox_enter_or_warn(enum sandbox_thread kind);

/* For reports: the kind's name and how many system calls it may make. */
const char *sandbox_thread_name(enum sandbox_thread kind);
unsigned sandbox_allowed_count(enum sandbox_thread kind);

#endif
