/* SPDX-License-Identifier: MIT */
/*
 * virtio_fs.c - the virtio-fs device and its virtiofsd (see virtio_fs.h).
 *
 * Threads: activate, notify and reset run on the vCPU thread that wrote the
 * register (a lock serialises the first and the last); the call thread
 * (SANDBOX_VHOST) only polls eventfds and the socket and raises interrupts.
 * The eventfds are made at creation, on the VMM thread: a vCPU's filter
 * allows no eventfd2.
 */
#include "devices/virtio_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "devices/vhost_user.h"
#include "host/sandbox.h"
#include "util/err.h"
#include "util/le.h"

#define QEMU_VIRTIOFSD "/usr/lib/qemu/virtiofsd"

/* What the transport offers whatever the device: the backend must serve them. */
#define TRANSPORT_FEATURES (VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC)

struct virtio_fs_daemon {
    pid_t pid; /* 0: not ours to reap */
    struct vhost_user *vu;
};

/* --- the daemon ------------------------------------------------------------------------ */

int virtio_fs_daemon_socket(const struct virtio_fs_daemon *d)
{
    return vhost_user_fd(d->vu);
}

/* The standalone virtiofsd (Rust, its own options) on PATH, else QEMU's. */
static const char *daemon_binary(bool *standalone)
{
    static char found[4096];
    const char *env = getenv("DUVISOR_VIRTIOFSD");
    *standalone = false;
    if (env && *env)
        return env;
    const char *path = getenv("PATH");
    while (path && *path) {
        size_t n = strcspn(path, ":");
        if (n && n + sizeof("/virtiofsd") < sizeof(found)) {
            snprintf(found, sizeof(found), "%.*s/virtiofsd", (int)n, path);
            if (access(found, X_OK) == 0) {
                *standalone = true;
                return found;
            }
        }
        path += n + (path[n] == ':');
    }
    return QEMU_VIRTIOFSD;
}

/* A listening socket in a fresh private directory; the daemon gets it with
   --fd and we connect at once (the backlog holds us until it accepts). */
#define SOCK_DIR_MAX 80u
static int listen_private(char *dir, size_t dir_len, struct sockaddr_un *sa, char *err,
                          size_t err_len)
{
    const char *tmp = getenv("TMPDIR");
    /* a socket's path has at most 107 bytes: a $TMPDIR too long for it is not used */
    if (!tmp || !*tmp || strlen(tmp) > SOCK_DIR_MAX - sizeof("/duvisor-vfs-XXXXXX"))
        tmp = "/tmp";
    snprintf(dir, dir_len, "%s/duvisor-vfs-XXXXXX", tmp);
    if (!mkdtemp(dir))
        return set_err(err, err_len, "--share: cannot make a socket directory: %s",
                       strerror(errno));
    memset(sa, 0, sizeof(*sa));
    sa->sun_family = AF_UNIX;
    snprintf(sa->sun_path, sizeof(sa->sun_path), "%.80s/vhost.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)sa, sizeof(*sa)) != 0 || listen(fd, 1) != 0) {
        set_err(err, err_len, "--share: cannot listen on %s: %s", sa->sun_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        unlink(sa->sun_path);
        rmdir(dir);
        return -1;
    }
    return fd;
}

static pid_t spawn_daemon(const char *bin, bool standalone, int listen_fd, const char *dir,
                          char *err, size_t err_len)
{
    int child_fd = fcntl(listen_fd, F_DUPFD, 3); /* inherited: no close-on-exec */
    if (child_fd < 0)
        return set_err(err, err_len, "--share: %s", strerror(errno));
    char fd_opt[32], source[4200];
    snprintf(fd_opt, sizeof(fd_opt), "--fd=%d", child_fd);
    char *qemu_argv[] = {(char *)bin,  fd_opt,
                         (char *)"-o", source,
                         (char *)"-o", (char *)"cache=auto",
                         (char *)"-o", (char *)"log_level=err",
                         NULL};
    char *rust_argv[] = {(char *)bin, fd_opt, source, (char *)"--cache=auto", NULL};
    snprintf(source, sizeof(source), standalone ? "--shared-dir=%s" : "source=%s", dir);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none); /* the VMM blocks its stop signals */
    /* its own session: the terminal's Ctrl-C is the VMM's to handle */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSID);
    extern char **environ;
    pid_t pid;
    int rc = posix_spawn(&pid, bin, NULL, &attr, standalone ? rust_argv : qemu_argv, environ);
    posix_spawnattr_destroy(&attr);
    close(child_fd);
    if (rc != 0)
        return set_err(err, err_len, "--share: cannot start %s: %s", bin, strerror(rc));
    return pid;
}

static void reap(pid_t pid)
{
    /* It exits when the session's socket closes; give it 2 s, then kill it. */
    for (int i = 0; i < 200; i++) {
        pid_t r = waitpid(pid, NULL, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR))
            return;
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static int start_session(struct virtio_fs_daemon *d, char *err, size_t err_len)
{
    uint64_t features;
    if (vhost_user_start(d->vu, &features, err, err_len))
        return -1;
    if ((features & TRANSPORT_FEATURES) != TRANSPORT_FEATURES)
        return set_err(err, err_len,
                       "--share: the backend lacks VERSION_1, EVENT_IDX or INDIRECT_DESC "
                       "(features %#llx)",
                       (unsigned long long)features);
    return 0;
}

struct virtio_fs_daemon *virtio_fs_daemon_adopt(int sock, char *err, size_t err_len)
{
    struct virtio_fs_daemon *d = calloc(1, sizeof(*d));
    if (!d || !(d->vu = vhost_user_open(sock))) {
        free(d);
        close(sock);
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    if (start_session(d, err, err_len)) {
        virtio_fs_daemon_stop(d);
        return NULL;
    }
    return d;
}

struct virtio_fs_daemon *virtio_fs_daemon_start(const char *dir, char *err, size_t err_len)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        set_err(err, err_len, "--share %s: not a directory", dir);
        return NULL;
    }
    bool standalone;
    const char *bin = daemon_binary(&standalone);
    char sock_dir[SOCK_DIR_MAX + 1];
    struct sockaddr_un sa;
    int lfd = listen_private(sock_dir, sizeof(sock_dir), &sa, err, err_len);
    if (lfd < 0)
        return NULL;
    pid_t pid = spawn_daemon(bin, standalone, lfd, dir, err, err_len);
    int sock = pid > 0 ? socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) : -1;
    int rc = sock >= 0 ? connect(sock, (struct sockaddr *)&sa, sizeof(sa)) : -1;
    if (pid > 0 && rc != 0)
        set_err(err, err_len, "--share: cannot connect to virtiofsd: %s", strerror(errno));
    close(lfd); /* the daemon holds its own copy until it accepts */
    unlink(sa.sun_path);
    rmdir(sock_dir);
    if (rc != 0) {
        if (sock >= 0)
            close(sock);
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        return NULL;
    }
    struct virtio_fs_daemon *d = calloc(1, sizeof(*d));
    if (!d || !(d->vu = vhost_user_open(sock))) {
        free(d);
        close(sock);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    d->pid = pid;
    if (start_session(d, err, err_len)) {
        char why[256];
        snprintf(why, sizeof(why), "%s", err);
        set_err(err, err_len, "--share %s: %s did not start (%s)", dir, bin, why);
        virtio_fs_daemon_stop(d);
        return NULL;
    }
    return d;
}

void virtio_fs_daemon_stop(struct virtio_fs_daemon *d)
{
    if (!d)
        return;
    vhost_user_close(d->vu);
    if (d->pid > 0)
        reap(d->pid);
    free(d);
}

/* --- the device ------------------------------------------------------------------------ */

struct virtio_fs {
    pthread_mutex_t lock; /* activate, reset and going local; started[] */
    struct virtio_fs_daemon *daemon;
    struct virtio_device *vdev;
    struct virtio_fs_ram ram;
    uint8_t config[VIRTIO_FS_CONFIG_SIZE];
    int kick[VIRTIO_FS_QUEUES], call[VIRTIO_FS_QUEUES];
    int stop_fd;
    bool started[VIRTIO_FS_QUEUES]; /* atomic: the backend serves the queue */
    bool local;                     /* atomic: the backend is gone, we answer EIO */
    bool gone_reported;
    bool thread_started;
    pthread_t thread;
};

/* A FUSE request the backend will never answer: its out header (len 16,
   error -EIO, the request's unique) is the reply. hiprio's FORGETs have no
   writable part and get none. */
static uint32_t answer_eio(void *opaque, const struct virtq_chain *c)
{
    uint8_t in[16], out[16];
    (void)opaque;
    if (c->in_len < sizeof(out) || virtq_read_out(c, 0, in, sizeof(in)) < sizeof(in))
        return 0;
    put_le32(out, sizeof(out));
    put_le32(out + 4, (uint32_t)-EIO);
    memcpy(out + 8, in + 8, 8); /* unique */
    return (uint32_t)virtq_write_in(c, 0, out, sizeof(out));
}

static void serve_local(struct virtio_fs *fs, unsigned q)
{
    static _Thread_local struct virtq_chain chain; /* ~8 KiB: off the stack */
    while (virtio_queue_pop(fs->vdev, q, &chain))
        virtio_queue_push(fs->vdev, q, &chain, answer_eio(fs, &chain));
}

/* The backend is gone (or never answered): the queues come back to us, what
   it held is answered with EIO, and so is every later request. Caller holds
   fs->lock. */
static void go_local(struct virtio_fs *fs)
{
    if (!__atomic_exchange_n(&fs->gone_reported, true, __ATOMIC_ACQ_REL))
        fprintf(stderr,
                "duvisor: virtiofsd of share '%s' is gone: the guest's requests fail with EIO\n",
                (const char *)fs->config);
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
        __atomic_store_n(&fs->started[q], false, __ATOMIC_RELEASE);
        if (fs->vdev)
            virtio_queue_take_over(fs->vdev, q, answer_eio, fs);
    }
    __atomic_store_n(&fs->local, true, __ATOMIC_RELEASE);
    /* a kick that came while we took over found local still false */
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES && fs->vdev; q++)
        serve_local(fs, q);
}

static void drain(int fd)
{
    uint64_t v;
    while (read(fd, &v, sizeof(v)) > 0) {
    }
}

static void *call_thread(void *opaque)
{
    struct virtio_fs *fs = opaque;
    sandbox_enter_or_warn(SANDBOX_VHOST);
    for (;;) {
        bool local = __atomic_load_n(&fs->local, __ATOMIC_ACQUIRE);
        struct pollfd p[2 + VIRTIO_FS_QUEUES] = {
            {.fd = fs->stop_fd, .events = POLLIN},
            /* no events asked: only a hang-up (the backend closed) wakes us */
            {.fd = local ? -1 : virtio_fs_daemon_socket(fs->daemon), .events = 0},
        };
        for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++)
            p[2 + q] = (struct pollfd){.fd = fs->call[q], .events = POLLIN};
        if (poll(p, 2 + VIRTIO_FS_QUEUES, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (p[0].revents)
            break;
        for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
            if (!(p[2 + q].revents & POLLIN))
                continue;
            drain(fs->call[q]);
            if (__atomic_load_n(&fs->started[q], __ATOMIC_ACQUIRE) && fs->vdev)
                virtio_queue_backend_used(fs->vdev, q);
        }
        if (p[1].revents & (POLLHUP | POLLERR | POLLNVAL)) {
            pthread_mutex_lock(&fs->lock);
            go_local(fs);
            pthread_mutex_unlock(&fs->lock);
        }
    }
    return NULL;
}

/* Give the backend queue q as the driver set it up, and start it. */
static int start_queue(struct virtio_fs *fs, unsigned q)
{
    struct vhost_user *vu = fs->daemon->vu;
    struct virtio_queue_rings r;
    if (!virtio_queue_rings(fs->vdev, q, &r))
        return 0; /* the driver does not use it */
    const struct vhost_user_vring_addr a = {
        .desc = (uintptr_t)r.desc, .used = (uintptr_t)r.used, .avail = (uintptr_t)r.avail};
    drain(fs->call[q]);
    if (vhost_user_set_vring_num(vu, q, r.num) || vhost_user_set_vring_base(vu, q, 0) ||
        vhost_user_set_vring_addr(vu, q, &a) ||
        vhost_user_set_vring_fd(vu, VHOST_USER_SET_VRING_CALL, q, fs->call[q]) ||
        vhost_user_set_vring_fd(vu, VHOST_USER_SET_VRING_KICK, q, fs->kick[q]) ||
        vhost_user_set_vring_enable(vu, q, true))
        return -1;
    __atomic_store_n(&fs->started[q], true, __ATOMIC_RELEASE);
    return 0;
}

/* Stop the backend's rings (it must not touch them after a reset or once
   the RAM goes away). Caller holds fs->lock. */
static int stop_queues(struct virtio_fs *fs)
{
    int rc = 0;
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
        if (!__atomic_exchange_n(&fs->started[q], false, __ATOMIC_ACQ_REL))
            continue;
        uint16_t base;
        if (vhost_user_get_vring_base(fs->daemon->vu, q, &base))
            rc = -1;
    }
    return rc;
}

static void fs_activate(void *opaque, uint64_t features)
{
    struct virtio_fs *fs = opaque;
    struct vhost_user *vu = fs->daemon->vu;
    const struct vhost_user_region region = {.gpa = fs->ram.gpa,
                                             .size = fs->ram.size,
                                             .user_addr = (uintptr_t)fs->ram.host,
                                             .mmap_offset = 0,
                                             .fd = fs->ram.fd};
    pthread_mutex_lock(&fs->lock);
    int rc = __atomic_load_n(&fs->local, __ATOMIC_ACQUIRE) ? -1 : stop_queues(fs);
    if (rc == 0)
        rc = vhost_user_set_features(vu, features) || vhost_user_set_mem_table(vu, &region, 1);
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES && rc == 0; q++)
        rc = start_queue(fs, q);
    if (rc)
        go_local(fs);
    pthread_mutex_unlock(&fs->lock);
}

static void fs_notify(void *opaque, unsigned q)
{
    struct virtio_fs *fs = opaque;
    uint64_t one = 1;
    if (q >= VIRTIO_FS_QUEUES)
        return;
    if (__atomic_load_n(&fs->local, __ATOMIC_ACQUIRE)) {
        serve_local(fs, q);
    } else if (__atomic_load_n(&fs->started[q], __ATOMIC_ACQUIRE)) {
        virtio_queue_backend_avail(fs->vdev, q);
        if (write(fs->kick[q], &one, sizeof(one)) < 0) {
            /* an eventfd at its maximum count: the backend has a kick pending anyway */
        }
    }
}

static void fs_reset(void *opaque)
{
    struct virtio_fs *fs = opaque;
    pthread_mutex_lock(&fs->lock);
    if (stop_queues(fs))
        go_local(fs);
    pthread_mutex_unlock(&fs->lock);
}

static void fs_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    const struct virtio_fs *fs = opaque;
    memcpy(buf, fs->config + offset, len); /* the transport checked the bounds */
}

static const struct virtio_device_ops fs_ops = {
    .device_id = VIRTIO_ID_FS,
    .features = 0,
    .num_queues = VIRTIO_FS_QUEUES,
    .queue_size_max = VIRTIO_FS_QUEUE_SIZE,
    .config_size = VIRTIO_FS_CONFIG_SIZE,
    .config_read = fs_config_read,
    .activate = fs_activate,
    .notify = fs_notify,
    .reset = fs_reset,
};

const struct virtio_device_ops *virtio_fs_ops(void)
{
    return &fs_ops;
}

void virtio_fs_bind(struct virtio_fs *fs, struct virtio_device *vdev)
{
    fs->vdev = vdev;
}

static void close_fds(struct virtio_fs *fs)
{
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
        if (fs->kick[q] >= 0)
            close(fs->kick[q]);
        if (fs->call[q] >= 0)
            close(fs->call[q]);
    }
    if (fs->stop_fd >= 0)
        close(fs->stop_fd);
}

struct virtio_fs *virtio_fs_create(struct virtio_fs_daemon *daemon, const char *tag,
                                   const struct virtio_fs_ram *ram, char *err, size_t err_len)
{
    size_t tag_len = strlen(tag);
    if (tag_len == 0 || tag_len > VIRTIO_FS_TAG_MAX) {
        set_err(err, err_len, "a share's tag has 1 to %u bytes", VIRTIO_FS_TAG_MAX);
        return NULL;
    }
    if (ram->fd < 0) {
        set_err(err, err_len, "--share needs guest RAM in a shared memfd");
        return NULL;
    }
    struct virtio_fs *fs = calloc(1, sizeof(*fs));
    if (!fs || pthread_mutex_init(&fs->lock, NULL) != 0) {
        free(fs);
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    fs->daemon = daemon;
    fs->ram = *ram;
    memcpy(fs->config, tag, tag_len);
    put_le32(fs->config + VIRTIO_FS_TAG_MAX, 1); /* num_request_queues */
    fs->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    bool ok = fs->stop_fd >= 0;
    for (unsigned q = 0; q < VIRTIO_FS_QUEUES; q++) {
        fs->kick[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        fs->call[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ok = ok && fs->kick[q] >= 0 && fs->call[q] >= 0;
    }
    if (ok && pthread_create(&fs->thread, NULL, call_thread, fs) == 0)
        fs->thread_started = true;
    if (!fs->thread_started) {
        set_err(err, err_len, "share '%s': cannot make its eventfds or thread", tag);
        close_fds(fs);
        pthread_mutex_destroy(&fs->lock);
        free(fs);
        return NULL;
    }
    /* A daemon that died under an earlier VM: this one answers EIO from the start. */
    if (!vhost_user_alive(daemon->vu))
        fs->local = true;
    return fs;
}

void virtio_fs_destroy(struct virtio_fs *fs)
{
    if (!fs)
        return;
    uint64_t one = 1;
    if (write(fs->stop_fd, &one, sizeof(one)) < 0) {
        /* cannot fail on a fresh eventfd */
    }
    pthread_join(fs->thread, NULL);
    pthread_mutex_lock(&fs->lock);
    stop_queues(fs); /* nothing left to answer: the VM is going away */
    pthread_mutex_unlock(&fs->lock);
    close_fds(fs);
    pthread_mutex_destroy(&fs->lock);
    free(fs);
}
