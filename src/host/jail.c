/* The jail (see jail.h): namespaces, a new root, rlimits, no privileges. */
#include "host/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <grp.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host/sandbox.h"
#include "util/err.h"

void jail_config_init(struct jail_config *j)
{
    *j = (struct jail_config){.uid = -1, .gid = -1};
}

/* --- fds ------------------------------------------------------------------------------ */

static int compare_fds(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Close every fd from 3 up but those in keep (at most 64 kept). */
static int close_all_but(const int *keep, unsigned nkeep, char *err, size_t err_len)
{
    int sorted[64];
    unsigned n = 0;
    for (unsigned i = 0; i < nkeep; i++)
        if (keep[i] > 2) {
            if (n == 64)
                return set_err(err, err_len, "jail: too many files to keep");
            sorted[n++] = keep[i];
        }
    qsort(sorted, n, sizeof(sorted[0]), compare_fds);
    unsigned from = 3;
    for (unsigned i = 0; i < n; i++) {
        if ((unsigned)sorted[i] > from && syscall(SYS_close_range, from, sorted[i] - 1, 0) != 0)
            return set_err(err, err_len, "jail: cannot close inherited files: %s", strerror(errno));
        from = (unsigned)sorted[i] + 1;
    }
    if (syscall(SYS_close_range, from, ~0u, 0) != 0)
        return set_err(err, err_len, "jail: cannot close inherited files: %s", strerror(errno));
    return 0;
}

/* --- the user namespace --------------------------------------------------------------- */

static int write_file(const char *path, const char *text, char *err, size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(text);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return set_err(err, err_len, "jail: cannot write %s: %s", path, strerror(e));
    }
    close(fd);
    return 0;
}

/* Inside the new user namespace, uid and gid are the only ids, mapped onto
   the unprivileged caller's own. */
static int map_ids(long uid, long gid, uid_t outer_uid, gid_t outer_gid, char *err, size_t err_len)
{
    char line[64];
    if (write_file("/proc/self/setgroups", "deny", err, err_len))
        return -1;
    snprintf(line, sizeof(line), "%ld %u 1", uid, (unsigned)outer_uid);
    if (write_file("/proc/self/uid_map", line, err, err_len))
        return -1;
    snprintf(line, sizeof(line), "%ld %u 1", gid, (unsigned)outer_gid);
    return write_file("/proc/self/gid_map", line, err, err_len);
}

/* --- the waiter: outside the jail, until the VMM in it ends --------------------------- */

static volatile sig_atomic_t vmm_pid;

static void forward(int sig)
{
    if (vmm_pid > 0)
        kill(vmm_pid, sig);
}

/* The waiter needs no privilege but to signal the VMM (which runs as
   another uid when duvisor was root). */
static void keep_only_cap_kill(void)
{
    for (int cap = 0; cap <= 63; cap++)
        prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct caps[2];
    memset(caps, 0, sizeof(caps));
    caps[0].effective = caps[0].permitted = 1u << CAP_KILL;
    syscall(SYS_capset, &hdr, caps);
}

/* Exit as the VMM did: with its status, or by its signal. */
static _Noreturn void wait_for_vmm(pid_t pid, int keepalive)
{
    vmm_pid = pid;
    static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
    struct sigaction sa = {.sa_handler = forward};
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(forwarded) / sizeof(forwarded[0]); i++)
        sigaction(forwarded[i], &sa, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Nothing of the VM stays open here (a helper whose socket this held
       would outlive the VMM), but the jailed process's lifeline. */
    const int keep[] = {keepalive};
    char err[128];
    close_all_but(keep, 1, err, sizeof(err));
    keep_only_cap_kill();
    if (sandbox_enter(SANDBOX_JAIL_WAITER, err, sizeof(err)) != 0)
        fprintf(stderr, "duvisor: %s\n", err);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        signal(sig, SIG_DFL);
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        kill(getpid(), sig);
        _exit(128 + sig);
    }
    _exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

/* --- the new root --------------------------------------------------------------------- */

/* The flags a bind remount must keep (a user namespace may not drop them). */
static unsigned long kept_mount_flags(const char *path)
{
    struct statvfs sv;
    unsigned long flags = 0;
    if (statvfs(path, &sv) != 0)
        return 0;
    const struct {
        unsigned long st, ms;
    } map[] = {{ST_RDONLY, MS_RDONLY},     {ST_NOEXEC, MS_NOEXEC},
               {ST_NOATIME, MS_NOATIME},   {ST_NODIRATIME, MS_NODIRATIME},
               {ST_RELATIME, MS_RELATIME}, {ST_NOSUID, MS_NOSUID},
               {ST_NODEV, MS_NODEV},       {ST_SYNCHRONOUS, MS_SYNCHRONOUS},
               {ST_MANDLOCK, MS_MANDLOCK}};
    for (unsigned i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (sv.f_flag & map[i].st)
            flags |= map[i].ms;
    return flags;
}

/* dev as a small tmpfs of the jail's own, holding only net/tun (the
   current directory is the jail's root-to-be). */
static int bind_tun(char *err, size_t err_len)
{
    if (mkdir("dev", 0755) != 0 && errno != EEXIST)
        return set_err(err, err_len, "jail: cannot make dev: %s", strerror(errno));
    if (mount("duvisor-dev", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") != 0)
        return set_err(err, err_len, "jail: cannot mount a tmpfs on dev: %s", strerror(errno));
    int fd = -1;
    if (mkdir("dev/net", 0755) != 0 ||
        (fd = open("dev/net/tun", O_CREAT | O_WRONLY | O_CLOEXEC, 0666)) < 0)
        return set_err(err, err_len, "jail: cannot make dev/net/tun: %s", strerror(errno));
    close(fd);
    if (mount("/dev/net/tun", "dev/net/tun", NULL, MS_BIND, NULL) != 0)
        return set_err(err, err_len, "jail: cannot bind /dev/net/tun: %s", strerror(errno));
    return 0;
}

static int new_root(const char *dir, bool tun, char *err, size_t err_len)
{
    /* Nothing done here may reach the host's mount namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        return set_err(err, err_len, "jail: cannot make the mounts private: %s", strerror(errno));
    if (mount(dir, dir, NULL, MS_BIND | MS_REC, NULL) != 0)
        return set_err(err, err_len, "jail: cannot bind %s: %s", dir, strerror(errno));
    unsigned long flags = kept_mount_flags(dir) | MS_NOSUID | MS_NODEV;
    if (mount(NULL, dir, NULL, MS_REMOUNT | MS_BIND | flags, NULL) != 0)
        return set_err(err, err_len, "jail: cannot remount %s nosuid,nodev: %s", dir,
                       strerror(errno));
    if (chdir(dir) != 0)
        return set_err(err, err_len, "jail: %s: %s", dir, strerror(errno));
    if (tun && bind_tun(err, err_len))
        return -1;
    /* pivot_root(".", ".") stacks the old root under the new one; detaching
       it leaves DIR alone as /. */
    if (syscall(SYS_pivot_root, ".", ".") != 0)
        return set_err(err, err_len, "jail: cannot make %s the root: %s", dir, strerror(errno));
    if (umount2(".", MNT_DETACH) != 0 || chdir("/") != 0)
        return set_err(err, err_len, "jail: cannot detach the host's files: %s", strerror(errno));
    return 0;
}

/* --- limits and privileges ------------------------------------------------------------ */

static int set_limit(int resource, uint64_t value, const char *name, char *err, size_t err_len)
{
    struct rlimit rl = {(rlim_t)value, (rlim_t)value};
    if (setrlimit(resource, &rl) != 0)
        return set_err(err, err_len, "jail: cannot set the %s limit to %llu: %s", name,
                       (unsigned long long)value, strerror(errno));
    return 0;
}

static int set_limits(const struct jail_config *j, char *err, size_t err_len)
{
    if (set_limit(RLIMIT_NOFILE, j->no_file ? j->no_file : JAIL_DEFAULT_NO_FILE, "no-file", err,
                  err_len) ||
        set_limit(RLIMIT_CORE, 0, "core", err, err_len))
        return -1;
    if (j->fsize && set_limit(RLIMIT_FSIZE, j->fsize, "fsize", err, err_len))
        return -1;
    if (j->as && set_limit(RLIMIT_AS, j->as, "as", err, err_len))
        return -1;
    return 0;
}

/* No capability now, none to be had later (the bounding set is empty and
   no_new_privs is set), ids uid and gid, no supplementary groups. */
static int drop_privileges(bool root, long uid, long gid, char *err, size_t err_len)
{
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL)
            return set_err(err, err_len, "jail: cannot drop capability %d: %s", cap,
                           strerror(errno));
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (root && setgroups(0, NULL) != 0)
        return set_err(err, err_len, "jail: cannot drop groups: %s", strerror(errno));
    if (setresgid((gid_t)gid, (gid_t)gid, (gid_t)gid) != 0 ||
        setresuid((uid_t)uid, (uid_t)uid, (uid_t)uid) != 0)
        return set_err(err, err_len, "jail: cannot become uid %ld gid %ld: %s", uid, gid,
                       strerror(errno));
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct none[2];
    memset(none, 0, sizeof(none));
    if (syscall(SYS_capset, &hdr, none) != 0)
        return set_err(err, err_len, "jail: cannot drop capabilities: %s", strerror(errno));
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return set_err(err, err_len, "jail: prctl: %s", strerror(errno));
    return 0;
}

/* PID 1 of a namespace only gets the signals it has a handler for; the
   VMM takes its stop signals from a signalfd, so give them one that never
   runs (they stay blocked). */
static void no_op(int sig)
{
    (void)sig;
}

static void keep_stop_signals(void)
{
    static const int stop[] = {SIGTERM, SIGINT, SIGHUP};
    struct sigaction sa = {.sa_handler = no_op};
    sigemptyset(&sa.sa_mask);
    for (unsigned i = 0; i < sizeof(stop) / sizeof(stop[0]); i++)
        sigaction(stop[i], &sa, NULL);
}

/* --- entering ------------------------------------------------------------------------- */

static int check_dir(const char *dir, char resolved[PATH_MAX], char *err, size_t err_len)
{
    struct stat st;
    if (!realpath(dir, resolved))
        return set_err(err, err_len, "--jail %s: %s", dir, strerror(errno));
    if (stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode))
        return set_err(err, err_len, "--jail %s: not a directory", dir);
    if (!strcmp(resolved, "/"))
        return set_err(err, err_len, "--jail %s: the host's root is no jail", dir);
    return 0;
}

int jail_enter(const struct jail_config *j, const int *keep, unsigned nkeep, char *err,
               size_t err_len)
{
    char dir[PATH_MAX];
    if (check_dir(j->dir, dir, err, err_len))
        return -1;
    uid_t outer_uid = geteuid();
    gid_t outer_gid = getegid();
    bool root = outer_uid == 0;
    long uid = j->uid >= 0 ? j->uid : root ? JAIL_NOBODY : (long)outer_uid;
    long gid = j->gid >= 0 ? j->gid : root ? JAIL_NOBODY : (long)outer_gid;
    if (root && (uid == 0 || gid == 0))
        return set_err(err, err_len, "--jail: --uid and --gid must not be 0 (root)");
    int netns = -1;
    if (j->netns && (netns = open(j->netns, O_RDONLY | O_CLOEXEC)) < 0)
        return set_err(err, err_len, "--netns %s: %s", j->netns, strerror(errno));
    int lifeline[2];
    if (pipe2(lifeline, O_CLOEXEC) != 0)
        return set_err(err, err_len, "jail: pipe: %s", strerror(errno));
    int kept[66];
    unsigned nk = 0;
    for (unsigned i = 0; i < nkeep && nk < 64; i++)
        kept[nk++] = keep[i];
    kept[nk++] = lifeline[0];
    kept[nk++] = lifeline[1];
    if (netns >= 0)
        kept[nk++] = netns;
    if (close_all_but(kept, nk, err, err_len))
        return -1;

    int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                (netns < 0 ? CLONE_NEWNET : 0) | (root ? 0 : CLONE_NEWUSER);
    if (unshare(flags) != 0)
        return set_err(err, err_len, "jail: cannot make new namespaces: %s%s", strerror(errno),
                       root ? "" : " (are unprivileged user namespaces allowed?)");
    if (!root && map_ids(uid, gid, outer_uid, outer_gid, err, err_len))
        return -1;
    if (netns >= 0) {
        int rc = setns(netns, CLONE_NEWNET);
        close(netns);
        if (rc != 0)
            return set_err(err, err_len, "--netns %s: %s", j->netns, strerror(errno));
    }
    pid_t pid = fork();
    if (pid < 0)
        return set_err(err, err_len, "jail: fork: %s", strerror(errno));
    if (pid > 0) {
        close(lifeline[0]);
        wait_for_vmm(pid, lifeline[1]);
    }
    /* The jailed process: PID 1 of its namespace. */
    close(lifeline[1]);
    keep_stop_signals();
    sethostname("duvisor", 7);
    if (new_root(dir, j->tun, err, err_len) || set_limits(j, err, err_len) ||
        drop_privileges(root, uid, gid, err, err_len))
        return -1;
    /* Killed with its waiter (set last: a change of ids clears it). */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    struct pollfd gone = {.fd = lifeline[0], .events = POLLIN};
    if (poll(&gone, 1, 0) != 0)
        _exit(1); /* the waiter died before the line above */
    close(lifeline[0]);
    return 0;
}
