/* Seccomp filters per thread kind (see sandbox.h). */
#include "host/sandbox.h"

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <seccomp.h>

#include "util/err.h"

/* Set once before any thread starts; read-only afterwards. */
static enum sandbox_mode mode_chosen = SANDBOX_OFF;
static struct sigaction sigsys_before;
static _Thread_local int thread_kind = -1;
static bool vmm_filter_inherited;

/* What every thread's code does: memory, locks, signals, time, leaving. */
#define COMMON                                                                                     \
    "futex", "mmap", "munmap", "mremap", "mprotect", "madvise", "brk", "rt_sigprocmask",           \
        "rt_sigreturn", "sched_yield", "clock_gettime", "clock_nanosleep", "nanosleep", "gettid",  \
        "getpid", "tgkill", "exit", "exit_group", "restart_syscall", "getrandom",                  \
        "seccomp",              /* only ever narrows: a thread adding its own filter */            \
        "write", "rt_sigaction" /* the SIGSYS report, made on the thread that trapped */

static const char *const vmm_calls[] = {
    COMMON,
    /* files: kernels, disks, snapshots, logs, metrics, the console */
    "openat", "open", "close", "read", "write", "readv", "writev", "pread64", "pwrite64", "lseek",
    "fstat", "newfstatat", "statx", "stat", "lstat", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "unlink", "unlinkat", "ftruncate", "fallocate", "fsync", "fdatasync",
    "flock", "fcntl", "dup", "dup2", "dup3", "pipe2", "ioctl", "umask", "getdents64",
    "memfd_create", "mincore",
    /* the event loop and its fds */
    "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "eventfd2", "signalfd4",
    "timerfd_create", "timerfd_settime", "poll", "ppoll", "rt_sigaction", "rt_sigtimedwait",
    "sigaltstack",
    /* the API socket and the user-networking helper's socket pair */
    "socket", "socketpair", "bind", "listen", "accept4", "connect", "getsockname", "getsockopt",
    "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown",
    /* threads, and the processes it starts: the helper, a live upgrade's
       probe and exec (which then loads a binary under this filter) */
    "clone", "clone3", "set_robust_list", "rseq", "set_tid_address", "execve", "execveat", "wait4",
    "kill", "setsid", "prctl", "prlimit64", "arch_prctl", "getuid", "geteuid", "getgid", "getegid",
    "sched_getaffinity", "uname", "sysinfo", "getrusage", "getcwd",
    /* a new binary may be a shell wrapper (it runs under this filter) */
    "getppid", "getpgrp", "getpgid", "getsid", "getgroups", "fstatfs", "statfs", "times", "chdir",
    "fchdir", "vfork", "pipe"};

static const char *const vcpu_calls[] = {
    COMMON,
    /* console output (the UART, SBI DBCN), a NIC's transmit, stop and wake-up eventfds */
    "write", "writev", "read", "poll", "ppoll", "sendto", "sendmsg",
    /* clock_gettime for the thread's CPU time (metrics) falls back to the syscall */
    "getrusage",
    /* SBI STA: the thread's schedstat, opened before the filter */
    "pread64"};

static const char *const block_calls[] = {COMMON,     "preadv",    "pwritev",  "preadv2",
                                          "pwritev2", "pread64",   "pwrite64", "fdatasync",
                                          "fsync",    "fallocate", "lseek"};

static const char *const net_reader_calls[] = {COMMON,    "read", "recvfrom",
                                               "recvmsg", "poll", "ppoll"};

static const char *const console_calls[] = {COMMON, "read", "write", "poll", "ppoll", "ioctl"};

static const char *const api_calls[] = {
    COMMON,       "accept4",     "accept",      "read",        "recvfrom", "recvmsg",
    "write",      "writev",      "sendto",      "sendmsg",     "shutdown", "close",
    "poll",       "ppoll",       "epoll_wait",  "epoll_ctl",   "fcntl",    "setsockopt",
    "getsockopt", "getsockname", "getpeername", "rt_sigaction"};

static const char *const net_helper_calls[] = {
    COMMON,
    /* libslirp: the guest's connections as host sockets, hostfwd listeners, DNS */
    "socket", "connect", "bind", "listen", "accept4", "accept", "getsockname", "getpeername",
    "getsockopt", "setsockopt", "sendto", "recvfrom", "sendmsg", "recvmsg", "shutdown", "read",
    "write", "writev", "readv", "close", "poll", "ppoll", "fcntl", "ioctl", "eventfd2", "openat",
    "fstat", "newfstatat", "lseek", "uname", "clone", "clone3", "set_robust_list", "rseq",
    "rt_sigaction"};

/* A vhost-user device's call thread (virtio_fs.c): eventfds and the socket's hang-up. */
static const char *const vhost_calls[] = {COMMON, "read", "poll", "ppoll"};
/* The vsock worker: the listener, handshakes and connections (Unix sockets,
   connects to the host's PATH_P listeners), its epoll set and eventfd. */
static const char *const vsock_calls[] = {
    COMMON,   "epoll_wait", "epoll_pwait", "epoll_ctl", "read",     "readv",    "write", "accept4",
    "socket", "connect",    "sendto",      "sendmsg",   "recvfrom", "shutdown", "close"};
/* The GDB stub: one client socket, its stop eventfds (vmm/gdbstub.c). */
static const char *const gdb_calls[] = {COMMON,  "accept4",    "accept", "read",    "recvfrom",
                                        "write", "sendto",     "close",  "poll",    "ppoll",
                                        "fcntl", "setsockopt", "unlink", "shutdown"};

/* Outside the jail, waiting for the VMM in it (host/jail.c): signals, wait, exit. */
static const char *const jail_waiter_calls[] = {COMMON, "wait4", "kill", "prlimit64"};

struct kind {
    const char *name;
    const char *const *calls;
    unsigned ncalls;
};

#define KIND(n, list)                                                                              \
    {                                                                                              \
        n, list, sizeof(list) / sizeof(list[0])                                                    \
    }
static const struct kind kinds[SANDBOX_KINDS] = {
    [SANDBOX_VMM] = KIND("vmm", vmm_calls),
    [SANDBOX_VCPU] = KIND("vcpu", vcpu_calls),
    [SANDBOX_BLOCK] = KIND("block", block_calls),
    [SANDBOX_NET_READER] = KIND("net-reader", net_reader_calls),
    [SANDBOX_CONSOLE] = KIND("console", console_calls),
    [SANDBOX_API] = KIND("api", api_calls),
    [SANDBOX_NET_HELPER] = KIND("net-helper", net_helper_calls),
    [SANDBOX_JAIL_WAITER] = KIND("jail-waiter", jail_waiter_calls),
    [SANDBOX_VHOST] = KIND("vhost", vhost_calls),
    [SANDBOX_VSOCK] = KIND("vsock", vsock_calls),
    [SANDBOX_GDB] = KIND("gdb", gdb_calls),
};

/* Calls a kind's own filter allows only with some arguments: (arg & mask)
   equal to one of values. (The VMM's union allows them plainly; filters
   stack, so the narrower one decides.) No thread but the VMM's and the
   vCPUs' (the JIT's code) maps executable memory, and the console thread's
   only ioctls are the terminal's. */
struct condition {
    enum sandbox_thread kind;
    const char *call;
    unsigned arg;
    uint64_t mask;
    uint64_t values[4];
    unsigned nvalues;
};
#define NO_EXEC(k, c)                                                                              \
    {                                                                                              \
        k, c, 2, PROT_EXEC, {0}, 1                                                                 \
    }
static const struct condition conditions[] = {
    NO_EXEC(SANDBOX_BLOCK, "mmap"),
    NO_EXEC(SANDBOX_BLOCK, "mprotect"),
    NO_EXEC(SANDBOX_NET_READER, "mmap"),
    NO_EXEC(SANDBOX_NET_READER, "mprotect"),
    NO_EXEC(SANDBOX_CONSOLE, "mmap"),
    NO_EXEC(SANDBOX_CONSOLE, "mprotect"),
    NO_EXEC(SANDBOX_API, "mmap"),
    NO_EXEC(SANDBOX_API, "mprotect"),
    NO_EXEC(SANDBOX_JAIL_WAITER, "mmap"),
    NO_EXEC(SANDBOX_JAIL_WAITER, "mprotect"),
    NO_EXEC(SANDBOX_VHOST, "mmap"),
    NO_EXEC(SANDBOX_VHOST, "mprotect"),
    NO_EXEC(SANDBOX_VSOCK, "mmap"),
    NO_EXEC(SANDBOX_VSOCK, "mprotect"),
    NO_EXEC(SANDBOX_GDB, "mmap"),
    NO_EXEC(SANDBOX_GDB, "mprotect"),
    {SANDBOX_CONSOLE, "ioctl", 1, 0xffffffffu, {TCGETS, TCSETS, TCSETSW, TCSETSF}, 4},
};

static const struct condition *condition_for(unsigned kind, const char *call)
{
    for (unsigned i = 0; i < sizeof(conditions) / sizeof(conditions[0]); i++)
        if (conditions[i].kind == kind && !strcmp(conditions[i].call, call))
            return &conditions[i];
    return NULL;
}

/* Filters stack: a thread the VMM thread starts later (on a reboot, a
   restore) has the VMM's filter too, and so does the helper it spawns. So
   the VMM's allows what all of them do: kind k's calls are in filter's. */
static bool filter_has_kind(unsigned filter, unsigned k)
{
    return k == filter || filter == SANDBOX_VMM;
}

/* --- the report of a forbidden call ------------------------------------------------- */

static void put(char **p, const char *end, const char *s)
{
    while (*s && *p < end)
        *(*p)++ = *s++;
}

static void put_number(char **p, const char *end, long v)
{
    char digits[24];
    int n = 0;
    unsigned long u = v < 0 ? (unsigned long)-v : (unsigned long)v;
    do
        digits[n++] = (char)('0' + u % 10);
    while ((u /= 10) && n < (int)sizeof(digits));
    if (v < 0 && *p < end)
        *(*p)++ = '-';
    while (n && *p < end)
        *(*p)++ = digits[--n];
}

/* Async-signal-safe: a message, then whatever handled SIGSYS before us
   (the console's, which restores the terminal) or the default: death. */
static void on_sigsys(int sig, siginfo_t *info, void *ctx)
{
    (void)ctx;
    char msg[200], *p = msg;
    const char *end = msg + sizeof(msg) - 1;
    put(&p, end, "duvisor: seccomp: the ");
    put(&p, end, thread_kind >= 0 ? kinds[thread_kind].name : "unfiltered");
    put(&p, end, " thread made system call ");
    put_number(&p, end, info->si_syscall);
    put(&p, end,
        ", which its filter forbids (scmp_sys_resolver names it; --seccomp log or off "
        "lets it through)\n");
    if (write(STDERR_FILENO, msg, (size_t)(p - msg)) < 0) {
        /* nowhere left to say it */
    }
    sigaction(sig, &sigsys_before, NULL);
    if (sigsys_before.sa_handler == SIG_DFL || sigsys_before.sa_handler == SIG_IGN) {
        signal(sig, SIG_DFL);
        raise(sig); /* delivered once this handler returns */
    } else if (sigsys_before.sa_flags & SA_SIGINFO) {
        sigsys_before.sa_sigaction(sig, info, ctx);
    } else {
        sigsys_before.sa_handler(sig);
    }
    /* PID 1 of a namespace (the jail's VMM) is spared its own default-action
       signals: the raise above did nothing there. */
    if (getpid() == 1)
        _exit(128 + sig);
}

/* --- modes and filters ------------------------------------------------------------------ */

void sandbox_set_mode(enum sandbox_mode mode)
{
    mode_chosen = mode;
    if (mode == SANDBOX_OFF)
        return;
    /* One malloc arena: glibc reads /proc/sys/vm/overcommit_memory the first
       time it shrinks a thread's own arena, and no thread but the VMM's may
       open files. duvisor's threads hardly allocate once running. */
    mallopt(M_ARENA_MAX, 1);
    if (mode != SANDBOX_ON)
        return;
    struct sigaction sa = {.sa_sigaction = on_sigsys, .sa_flags = SA_SIGINFO};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSYS, &sa, &sigsys_before);
}

void sandbox_vmm_filter_inherited(void)
{
    vmm_filter_inherited = true;
}

enum sandbox_mode sandbox_mode(void)
{
    return mode_chosen;
}

bool sandbox_parse_mode(const char *text, enum sandbox_mode *mode)
{
    static const char *const names[] = {"off", "log", "on"};
    for (unsigned i = 0; text && i < 3; i++)
        if (!strcmp(text, names[i])) {
            *mode = (enum sandbox_mode)i;
            return true;
        }
    return false;
}

enum sandbox_mode sandbox_default_mode(void)
{
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    return SANDBOX_OFF;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                         \
    __has_feature(undefined_behavior_sanitizer)
    return SANDBOX_OFF;
#else
    return SANDBOX_ON;
#endif
#else
    return SANDBOX_ON;
#endif
}

const char *sandbox_thread_name(enum sandbox_thread kind)
{
    return kind < SANDBOX_KINDS ? kinds[kind].name : "?";
}

unsigned sandbox_allowed_count(enum sandbox_thread kind)
{
    /* Distinct calls (lists overlap: the VMM's is the union of all). */
    bool seen[1024] = {false};
    unsigned n = 0;
    for (unsigned k = 0; kind < SANDBOX_KINDS && k < SANDBOX_KINDS; k++) {
        if (!filter_has_kind(kind, k))
            continue;
        for (unsigned i = 0; i < kinds[k].ncalls; i++) {
            int nr = seccomp_syscall_resolve_name(kinds[k].calls[i]);
            if (nr >= 0 && nr < 1024 && !seen[nr] && strcmp(kinds[k].calls[i], "clone3")) {
                seen[nr] = true;
                n++;
            }
        }
    }
    return n;
}

/* One allow rule per permitted value of a conditioned call. */
static int add_conditioned(scmp_filter_ctx ctx, int nr, const struct condition *c)
{
    for (unsigned v = 0; v < c->nvalues; v++) {
        struct scmp_arg_cmp cmp = {
            .arg = c->arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = c->mask, .datum_b = c->values[v]};
        int rc = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, nr, 1, &cmp);
        if (rc && rc != -EEXIST)
            return rc;
    }
    return 0;
}

/* Kind k's calls into ctx; with its conditions when ctx is k's own filter. */
static int add_rules(scmp_filter_ctx ctx, unsigned k, bool own)
{
    const struct kind *kind = &kinds[k];
    for (unsigned i = 0; i < kind->ncalls; i++) {
        const char *const *calls = kind->calls;
        int nr = seccomp_syscall_resolve_name(calls[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a call of this architecture */
        const struct condition *c = own ? condition_for(k, calls[i]) : NULL;
        if (c) {
            int rc = add_conditioned(ctx, nr, c);
            if (rc)
                return rc;
            continue;
        }
        /* glibc tries clone3 first and falls back to clone on ENOSYS. */
        uint32_t action = !strcmp(calls[i], "clone3") ? SCMP_ACT_ERRNO(ENOSYS) : SCMP_ACT_ALLOW;
        int rc = seccomp_rule_add(ctx, action, nr, 0);
        if (rc && rc != -EEXIST)
            return rc;
    }
    return 0;
}

int sandbox_enter(enum sandbox_thread kind, char *err, size_t err_len)
{
    if (mode_chosen == SANDBOX_OFF || kind >= SANDBOX_KINDS)
        return 0;
    if (kind == SANDBOX_VMM && vmm_filter_inherited && prctl(PR_GET_SECCOMP) == 2) {
        /* A live upgrade's new binary: the old one's VMM filter came along
           through exec and is the same; another would only slow every call. */
        thread_kind = (int)kind;
        return 0;
    }
    scmp_filter_ctx ctx = seccomp_init(mode_chosen == SANDBOX_LOG ? SCMP_ACT_LOG : SCMP_ACT_TRAP);
    if (!ctx)
        return set_err(err, err_len, "seccomp: cannot make a filter");
    int rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
    for (unsigned k = 0; rc == 0 && k < SANDBOX_KINDS; k++)
        if (filter_has_kind(kind, k))
            rc = add_rules(ctx, k, k == kind && kind != SANDBOX_VMM);
    if (rc == 0)
        rc = seccomp_load(ctx);
    seccomp_release(ctx);
    if (rc)
        return set_err(err, err_len, "seccomp: cannot install the %s filter: %s", kinds[kind].name,
                       strerror(-rc));
    thread_kind = (int)kind;
    /* Threads that block every signal (device workers) must still take this
       one: the kernel kills silently when a trapped call's SIGSYS is blocked. */
    sigset_t sys;
    sigemptyset(&sys);
    sigaddset(&sys, SIGSYS);
    pthread_sigmask(SIG_UNBLOCK, &sys, NULL);
    /* For tests that the filter bites: this kind makes a call no list allows. */
    const char *selftest = getenv("DUVISOR_SECCOMP_SELFTEST");
    size_t name_len = strlen(kinds[kind].name);
    if (selftest && !strcmp(selftest, kinds[kind].name))
        syscall(SYS_getpriority, 0, 0);
    /* KIND:exec: an allowed call with a forbidden argument (executable memory). */
    if (selftest && !strncmp(selftest, kinds[kind].name, name_len) &&
        !strcmp(selftest + name_len, ":exec"))
        mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return 0;
}

void sandbox_enter_or_warn(enum sandbox_thread kind)
{
    char err[200];
    if (sandbox_enter(kind, err, sizeof(err)))
        fprintf(stderr, "duvisor: %s\n", err);
}
