/* The VMM object and its event loop (see vmm.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/mman.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "api/server.h"
#include "devices/boot_timer.h"
#include "devices/virtio_balloon.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_fs.h"
#include "devices/virtio_input.h"
#include "host/jail.h"
#include "host/sandbox.h"
#include "util/err.h"
#include "util/state.h"
#include "vmm/gdbstub.h"
#include "vmm/console.h"
#include "vmm/held_files.h"
#include "vmm/log.h"
#include "vmm/metrics.h"
#include "vmm/snapshot.h"
#include "vmm/upgrade.h"
#include "vmm/virtio_devices.h"
#include "vmm/vm.h"
#include "vmm/vmm.h"

/* What the event loop's fds stand for. */
enum { EV_SIGNAL, EV_VM_STOPPED, EV_CALL, EV_METRICS, EV_WINCH, EV_BALLOON };

/* One API request on its way from the API thread to the VMM thread. */
struct vmm_call {
    const char *method, *path, *body;
    size_t len;
    struct api_response *resp;
    bool done;
};

struct vmm {
    struct vm_config cfg;
    struct vmm_options opt;
    struct api_target api;
    struct vmm_log log;
    int metrics_fd;
    struct vm *vm; /* one allocation, rebuilt in place on a reboot */
    bool vm_live;  /* vm holds a created VM */
    /* Held while the VM is built or torn down, and by the console thread
       while it feeds the UART, so input never reaches a VM half made. */
    pthread_mutex_t vm_lock;
    bool cad_sent, cad_pending;
    struct console *console;
    struct api_server *server;
    int epoll_fd, signal_fd, stop_fd, call_fd, timer_fd;
    int winch_fd;   /* SIGWINCH, with --console hvc0: the terminal was resized */
    int balloon_fd; /* a timerfd: time to ask the balloon's guest for statistics */
    pthread_mutex_t call_lock;
    pthread_cond_t call_done;
    struct vmm_call *call; /* the request waiting for this thread; NULL: none */
    bool exiting;          /* no more requests are taken */
    atomic_bool quit;      /* the console's Ctrl-A x */
    bool done;
    int status;
    struct timespec started;
    unsigned upgrades; /* live upgrades this VM has been through */
    /* the memory file of the last Full snapshot taken of this VM, or of the
       one it was restored from: what a Diff snapshot is relative to; "" if none */
    char last_mem_path[VM_PATH_MAX];
    struct vm_held_files held; /* a jailed duvisor run's files (cfg.held points here) */
    int self_fd;               /* in a jail, this binary: a live upgrade's way back */
};

static uint64_t ms_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)(now.tv_sec - t->tv_sec) * 1000u +
           (uint64_t)((now.tv_nsec - t->tv_nsec) / 1000000);
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void wake(int fd)
{
    uint64_t one = 1;
    if (write(fd, &one, sizeof(one)) < 0) {
        /* an eventfd below its limit never refuses; the loop reads it anyway */
    }
}

static void drain(int fd)
{
    uint64_t count;
    while (read(fd, &count, sizeof(count)) > 0) {
    }
}

/* --- metrics ---------------------------------------------------------------------------- */

static int write_metrics(struct vmm *m, char *err, size_t err_len)
{
    if (m->metrics_fd < 0)
        return 0;
    char *line = metrics_render(m->vm_live ? m->vm : NULL, &m->api, ms_since(&m->started));
    if (!line)
        return set_err(err, err_len, "out of memory writing metrics");
    size_t len = strlen(line);
    line[len] = '\n'; /* json_dumps leaves room: the NUL */
    ssize_t n = write(m->metrics_fd, line, len + 1);
    free(line);
    if (n < 0 && errno != EAGAIN)
        return set_err(err, err_len, "Cannot write metrics: %s", strerror(errno));
    return 0;
}

static void arm_metrics_timer(struct vmm *m)
{
    const struct itimerspec period = {
        .it_interval = {METRICS_PERIOD_MS / 1000, 0},
        .it_value = {METRICS_PERIOD_MS / 1000, 0},
    };
    timerfd_settime(m->timer_fd, 0, &period, NULL);
}

/* The balloon's statistics every seconds (0: never). */
static void arm_balloon_timer(struct vmm *m, unsigned seconds)
{
    const struct itimerspec period = {.it_interval = {seconds, 0}, .it_value = {seconds, 0}};
    timerfd_settime(m->balloon_fd, 0, &period, NULL);
}

/* --- the API's actions, on the VMM thread ------------------------------------------------- */

/* --console hvc0: the virtio console says the terminal's size (on each new
   VM and on SIGWINCH). vm_lock held or the VM not yet reachable. */
static void follow_window_size(struct vmm *m)
{
    unsigned cols, rows;
    if (m->cfg.console_device == VM_CONSOLE_VIRTIO && m->console &&
        console_window_size(m->console, &cols, &rows))
        vm_virtio_console_resize(m->vm, cols, rows);
}

/* Build the VM from the configuration, or (snap) from a snapshot and its
   RAM, under vm_lock so console input never reaches a VM half made; then
   start its vCPUs (a restored VM's park until vm_resume). */
static int build_and_start(struct vmm *m, struct snapshot *snap,
                           const struct vm_restore_source *src, char *err, size_t err_len)
{
    pthread_mutex_lock(&m->vm_lock);
    int rc = snap ? vm_create_for_restore(m->vm, &m->cfg, m->console, src, err, err_len)
                  : vm_create(m->vm, &m->cfg, m->console, err, err_len);
    if (rc == 0 && snap && (rc = snapshot_apply(m->vm, snap, err, err_len)) != 0)
        vm_destroy(m->vm);
    if (rc == 0 && m->opt.gdb &&
        !(m->vm->gdb = gdbstub_create(m->vm, m->opt.gdb, m->opt.gdb_wait, err, err_len))) {
        vm_destroy(m->vm);
        rc = -1;
    }
    if (rc == 0) {
        m->vm->stop_fd = m->stop_fd;
        m->vm->log = &m->log;
        m->vm_live = true;
        /* Input that came while no VM was whole (a reboot, a restore, before
           InstanceStart) waits in the console's ring: the reader called for
           it then and will not again until more comes. */
        vm_console_pump(m->vm);
        follow_window_size(m);
        if (m->vm->balloon)
            arm_balloon_timer(m, m->cfg.balloon.stats_interval_s);
    }
    pthread_mutex_unlock(&m->vm_lock);
    if (rc)
        return -1;
    vm_start(m->vm); /* a failure requests a stop, which the loop sees */
    return 0;
}

static int start_vm(struct vmm *m, char *err, size_t err_len)
{
    if (build_and_start(m, NULL, NULL, err, err_len))
        return -1;
    vmm_log(&m->log, API_LOG_DEBUG, "VM started: %u vCPUs, %llu MiB", m->cfg.smp,
            (unsigned long long)(m->cfg.memory_bytes >> 20));
    return 0;
}

static struct vmm *target_vmm(void *opaque)
{
    return opaque;
}

static int act_start(void *opaque, char *err, size_t err_len)
{
    return start_vm(target_vmm(opaque), err, err_len);
}

static int act_pause(void *opaque, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    if (!m->vm_live || vm_pause(m->vm))
        return set_err(err, err_len, "The vCPUs did not pause within %d ms.", VM_PAUSE_TIMEOUT_MS);
    vmm_log(&m->log, API_LOG_INFO, "VM paused");
    return 0;
}

static int act_resume(void *opaque, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    (void)err, (void)err_len;
    if (m->vm_live)
        vm_resume(m->vm);
    if (m->cad_pending && m->vm_live && m->vm->keyboard) {
        virtio_input_send_ctrl_alt_del(m->vm->keyboard);
        m->cad_pending = false;
    }
    vmm_log(&m->log, API_LOG_INFO, "VM resumed");
    return 0;
}

static int act_ctrl_alt_del(void *opaque, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    if (!m->vm_live || !m->vm->keyboard)
        return set_err(err, err_len, "The microVM has no keyboard to send Ctrl+Alt+Del to.");
    m->cad_sent = true; /* the guest answers with a reboot: that ends the VMM */
    if (vm_paused(m->vm)) {
        m->cad_pending = true; /* delivered on resume: a paused VM writes nothing */
        return 0;
    }
    if (virtio_input_send_ctrl_alt_del(m->vm->keyboard))
        return set_err(err, err_len, "The keyboard's event queue is full.");
    vmm_log(&m->log, API_LOG_INFO, "Sent Ctrl+Alt+Del to the guest");
    return 0;
}

static struct virtio_balloon *live_balloon(struct vmm *m, char *err, size_t err_len)
{
    if (m->vm_live && m->vm->balloon)
        return m->vm->balloon;
    set_err(err, err_len, "The microVM has no balloon device.");
    return NULL;
}

static int act_balloon_set_target(void *opaque, uint32_t amount_mib, char *err, size_t err_len)
{
    struct virtio_balloon *b = live_balloon(target_vmm(opaque), err, err_len);
    if (!b)
        return -1;
    virtio_balloon_set_target(b, amount_mib << (20 - VIRTIO_BALLOON_PFN_SHIFT));
    vmm_log(&target_vmm(opaque)->log, API_LOG_INFO, "balloon target %u MiB", amount_mib);
    return 0;
}

static int act_balloon_stats(void *opaque, struct api_balloon_stats *out, char *err, size_t err_len)
{
    struct virtio_balloon *b = live_balloon(target_vmm(opaque), err, err_len);
    if (!b)
        return -1;
    struct virtio_balloon_stats s;
    virtio_balloon_get_stats(b, &s);
    _Static_assert(API_BALLOON_GUEST_STATS == VIRTIO_BALLOON_S_NR, "one name per balloon stat");
    out->target_pages = s.target_pages;
    out->actual_pages = s.actual_pages;
    memcpy(out->guest, s.guest, sizeof(out->guest));
    out->guest_valid = s.guest_valid;
    return 0;
}

static int act_balloon_set_interval(void *opaque, unsigned seconds, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    if (!live_balloon(m, err, err_len))
        return -1;
    arm_balloon_timer(m, seconds);
    return 0;
}

static int act_flush_metrics(void *opaque, char *err, size_t err_len)
{
    return write_metrics(target_vmm(opaque), err, err_len);
}

static int act_update_drive(void *opaque, const char *id, const char *path, char *err,
                            size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    struct virtio_blk *disk = m->vm_live ? vm_virtio_disk(m->vm, id) : NULL;
    if (!disk)
        return set_err(err, err_len, "Invalid block device ID: %s.", id);
    char why[512];
    if (virtio_blk_replace(disk, path, why, sizeof(why)))
        return set_err(err, err_len, "Unable to update the drive: %s", why);
    for (unsigned i = 0; m->cfg.held && i < m->cfg.ndisks; i++)
        if (!strcmp(m->cfg.disks[i].id, id))
            close_fd(&m->held.disks[i]); /* a reboot opens the new file by name */
    vmm_log(&m->log, API_LOG_INFO, "Drive %s now backed by %s", id, path);
    return 0;
}

static int act_set_logger(void *opaque, const struct api_logger *l, char *err, size_t err_len)
{
    return vmm_log_configure(&target_vmm(opaque)->log, l, err, err_len);
}

static int act_set_metrics(void *opaque, const struct api_metrics *mt, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    int fd = open(mt->metrics_path, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC, 0600);
    if (fd < 0)
        return set_err(err, err_len, "Cannot open the metrics file %s: %s", mt->metrics_path,
                       strerror(errno));
    m->metrics_fd = fd;
    arm_metrics_timer(m);
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t us_between(const struct timespec *a, const struct timespec *b)
{
    return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000u +
           (uint64_t)((b->tv_nsec - a->tv_nsec) / 1000);
}

static int act_snapshot_create(void *opaque, const struct api_snapshot_create *req, char *err,
                               size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    if (!m->vm_live)
        return set_err(err, err_len, "There is no microVM to snapshot.");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct state_writer w;
    state_writer_init(&w);
    char why[512];
    int rc = snapshot_encode(m->vm, m->opt.vmm_version, &w, why, sizeof(why));
    if (rc == 0 && req->diff && !m->last_mem_path[0])
        rc = set_err(why, sizeof(why),
                     "a Diff snapshot needs an earlier snapshot of this VM (or the one it was "
                     "restored from) to be relative to");
    if (rc == 0 && req->diff)
        rc = snapshot_write_memory_diff(m->vm, req->mem_file_path, m->last_mem_path, why,
                                        sizeof(why));
    else if (rc == 0)
        rc = snapshot_write_memory(m->vm, req->mem_file_path, why, sizeof(why));
    if (rc == 0)
        rc = snapshot_write_file(req->snapshot_path, w.buf, w.len, why, sizeof(why));
    size_t state_len = w.len;
    state_writer_free(&w);
    if (rc)
        return set_err(err, err_len, "Cannot create the snapshot: %s", why);
    /* Diffs are cumulative: each holds every page that differs from the last
       Full snapshot's memory file, so the newest alone, merged onto that
       base, gives the guest's memory (an incremental diff would need the
       whole chain to compare against). */
    if (!req->diff)
        snprintf(m->last_mem_path, sizeof(m->last_mem_path), "%s", req->mem_file_path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    vmm_log(&m->log, API_LOG_INFO,
            "Snapshot created: %s (%zu bytes of state), memory %s, in %llu us", req->snapshot_path,
            state_len, req->mem_file_path, (unsigned long long)us_between(&t0, &t1));
    return 0;
}

/* The restored VM's configuration: the snapshot's guest, this process's
   own choices (engine, reporting, reboot policy), the TAP overrides. */
static int restored_config(struct vmm *m, const struct snapshot *snap,
                           const struct api_snapshot_load *req, struct vm_config *out, char *err,
                           size_t err_len)
{
    *out = snap->cfg;
    out->jit = m->cfg.jit;
    out->jit_stats = m->cfg.jit_stats;
    out->boot_timer = m->cfg.boot_timer;
    out->no_reboot = m->cfg.no_reboot;
    out->seccomp = m->cfg.seccomp;
    for (unsigned i = 0; i < req->noverrides; i++) {
        const struct api_net_override *o = &req->overrides[i];
        struct vm_nic *nic = vm_config_find_nic(out, o->iface_id);
        if (!nic)
            return set_err(err, err_len, "network_overrides: the snapshot has no interface '%s'.",
                           o->iface_id);
        if (nic->kind != VM_NET_TAP)
            return set_err(err, err_len,
                           "network_overrides: interface '%s' is not on a TAP device.",
                           o->iface_id);
        if (vm_config_copy_string(nic->options, sizeof(nic->options), o->host_dev_name,
                                  "host_dev_name", err, err_len))
            return -1;
    }
    return 0;
}

/* A VM from a checked snapshot and its RAM, resumed if asked. */
static int start_restored(struct vmm *m, struct snapshot *snap, const struct vm_restore_source *src,
                          bool resume, char *err, size_t err_len)
{
    if (build_and_start(m, snap, src, err, err_len))
        return -1;
    if (resume)
        vm_resume(m->vm);
    return 0;
}

static int act_snapshot_load(void *opaque, const struct api_snapshot_load *req, char *err,
                             size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct snapshot *snap = calloc(1, sizeof(*snap));
    struct vm_config *cfg = malloc(sizeof(*cfg));
    char why[600];
    int rc = snap && cfg ? 0 : set_err(why, sizeof(why), "out of memory");
    if (rc == 0)
        rc = snapshot_read_file(snap, req->snapshot_path, why, sizeof(why));
    if (rc == 0)
        rc = restored_config(m, snap, req, cfg, why, sizeof(why));
    int fd = -1;
    if (rc == 0 && (fd = open(req->mem_file_path, O_RDONLY | O_CLOEXEC)) < 0)
        rc = set_err(why, sizeof(why), "cannot open the memory file '%s': %s", req->mem_file_path,
                     strerror(errno));
    if (rc == 0) {
        m->cfg = *cfg;
        struct vm_restore_source ram;
        vm_restore_source_init(&ram, fd, false);
        rc = start_restored(m, snap, &ram, req->resume_vm, why, sizeof(why));
    }
    if (fd >= 0)
        close(fd); /* the mapping keeps the file */
    if (snap)
        snapshot_free(snap);
    free(snap);
    free(cfg);
    if (rc)
        return set_err(err, err_len, "Cannot load the snapshot: %s", why);
    snprintf(m->last_mem_path, sizeof(m->last_mem_path), "%s", req->mem_file_path);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t since_start = (now_ns() - boot_timer_process_start_ns()) / 1000;
    vmm_log(&m->log, API_LOG_INFO,
            "Snapshot %s loaded in %llu us, VM %s %llu us after process start", req->snapshot_path,
            (unsigned long long)us_between(&t0, &t1), req->resume_vm ? "running" : "paused",
            (unsigned long long)since_start);
    return 0;
}

/* The binary this process was started from: after a rebuild in place that
   is the new one (/proc/self/exe then names the old file, "(deleted)"). */
static int own_binary(char *path, size_t len, char *err, size_t err_len)
{
    ssize_t n = readlink("/proc/self/exe", path, len - 1);
    if (n <= 0)
        return set_err(err, err_len, "cannot find this duvisor's binary: %s", strerror(errno));
    path[n] = 0;
    const char *deleted = " (deleted)";
    size_t dl = strlen(deleted);
    if ((size_t)n > dl && !strcmp(path + n - dl, deleted))
        path[n - dl] = 0;
    return 0;
}

/* Guest RAM as a memfd the next binary can map: the VM's own, or (RAM mapped
   privately from a snapshot's memory file) a copy of it. */
static int ram_for_handover(struct vm *vm)
{
    if (vm->memfd >= 0)
        return upgrade_keep_fd(vm->memfd);
    int fd = memfd_create("duvisor-ram", 0);
    if (fd >= 0 && snapshot_write_memory_fd(vm, fd) != 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static void close_fds(int *fds, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (fds[i] >= 0) {
            close(fds[i]);
            fds[i] = -1;
        }
}

static void close_kept(struct upgrade_handover *h)
{
    int *fds[] = {&h->ram_fd, &h->api_fd, &h->conn_fd, &h->fallback_fd, &h->self_fd};
    for (unsigned i = 0; i < 5; i++)
        close_fds(fds[i], 1);
    close_fds(h->disk_fds, VM_MAX_DISKS);
    close_fds(h->tap_fds, VM_MAX_NICS);
    if (h->has_held)
        held_files_close(&h->held);
}

/* The handed-over fds a new binary has no more use for once the VM runs
   (the devices hold duplicates); it keeps the held files and itself. */
static void close_inherited(const struct upgrade_handover *h)
{
    struct upgrade_handover copy = *h;
    copy.api_fd = copy.conn_fd = -1; /* the server's, and answered already */
    copy.has_held = false;
    copy.self_fd = -1;
    close_kept(&copy);
}

/* In the binary that takes the VM: hold what the last one held (a jail's
   files, its own binary), close-on-exec again. */
static void adopt_held(struct vmm *m, const struct upgrade_handover *h)
{
    m->self_fd = h->self_fd;
    if (m->self_fd >= 0)
        fcntl(m->self_fd, F_SETFD, FD_CLOEXEC);
    if (!h->has_held)
        return;
    m->held = h->held;
    int *fd[HELD_FILES_MAX];
    for (unsigned i = 0, n = held_files_fields(&m->held, fd); i < n; i++)
        if (*fd[i] >= 0)
            fcntl(*fd[i], F_SETFD, FD_CLOEXEC);
    m->cfg.held = &m->held;
}

static void fill_handover(struct vmm *m, struct upgrade_handover *h, bool running)
{
    *h = (struct upgrade_handover){.running = running,
                                   .paused_ns = now_ns(),
                                   .upgrades = m->upgrades,
                                   .firecracker = m->opt.firecracker,
                                   .boot_timer = m->cfg.boot_timer,
                                   .no_reboot = m->cfg.no_reboot,
                                   .jit_stats = m->cfg.jit_stats,
                                   .jit = (int)m->cfg.jit,
                                   .seccomp = (int)sandbox_mode(),
                                   .logger = m->api.logger,
                                   .metrics = m->api.metrics};
    snprintf(h->api_sock, sizeof(h->api_sock), "%s", m->opt.api_sock ? m->opt.api_sock : "");
    snprintf(h->id, sizeof(h->id), "%s", m->opt.id ? m->opt.id : "");
    h->ram_fd = ram_for_handover(m->vm);
    h->api_fd = upgrade_keep_fd(api_server_listen_fd(m->server));
    h->conn_fd = upgrade_keep_fd(api_server_current_fd(m->server));
    /* no CLOEXEC: the way back */
    h->fallback_fd =
        m->self_fd >= 0 ? upgrade_keep_fd(m->self_fd) : open("/proc/self/exe", O_RDONLY);
    h->self_fd = -1; /* the new binary's: act_upgrade opens it */
    if (m->cfg.held) {
        h->has_held = true;
        h->held = m->held;
        int *fd[HELD_FILES_MAX];
        for (unsigned i = 0, n = held_files_fields(&h->held, fd); i < n; i++)
            if (*fd[i] >= 0)
                *fd[i] = upgrade_keep_fd(*fd[i]);
    }
    int disks[VM_MAX_DISKS], taps[VM_MAX_NICS];
    vm_virtio_open_fds(m->vm, disks, taps);
    for (unsigned i = 0; i < VM_MAX_DISKS; i++)
        h->disk_fds[i] = upgrade_keep_fd(disks[i]);
    for (unsigned i = 0; i < VM_MAX_NICS; i++)
        h->tap_fds[i] = upgrade_keep_fd(taps[i]);
}

static int act_upgrade(void *opaque, const char *binary, char *err, size_t err_len)
{
    struct vmm *m = target_vmm(opaque);
    char path[PATH_MAX], why[600];
    if (!m->vm_live || !m->server)
        return set_err(err, err_len, "There is no microVM to upgrade.");
    if (binary)
        snprintf(path, sizeof(path), "%s", binary);
    else if (own_binary(path, sizeof(path), why, sizeof(why)))
        return set_err(err, err_len, "Cannot upgrade: %s", why);
    if (upgrade_probe(path, why, sizeof(why)))
        return set_err(err, err_len, "Cannot upgrade: %s", why);
    bool running = !vm_paused(m->vm);
    if (running && vm_pause(m->vm))
        return set_err(err, err_len, "Cannot upgrade: the vCPUs did not pause within %d ms.",
                       VM_PAUSE_TIMEOUT_MS);
    struct upgrade_handover h;
    fill_handover(m, &h, running);
    h.self_fd = open(path, O_RDONLY); /* no CLOEXEC: the new binary's own way back */
    struct state_writer w;
    state_writer_init(&w);
    int rc = snapshot_encode(m->vm, m->opt.vmm_version, &w, why, sizeof(why));
    if (rc == 0 && (h.ram_fd < 0 || h.api_fd < 0 || h.conn_fd < 0 || h.fallback_fd < 0))
        rc = set_err(why, sizeof(why), "cannot keep the fds to hand over: %s", strerror(errno));
    if (rc == 0) {
        vmm_log(&m->log, API_LOG_INFO, "Live upgrade to %s", path);
        console_release_tty();
        rc = upgrade_exec(path, -1, &h, w.buf, w.len, why, sizeof(why));
        console_reclaim_tty(); /* still here: the exec failed */
    }
    state_writer_free(&w);
    close_kept(&h);
    if (running)
        vm_resume(m->vm);
    return set_err(err, err_len, "Cannot upgrade: %s; the VM runs on.", why);
}

/* The new binary of a live upgrade: the VM from the handover, resumed as it
   was, and the answer to the request that asked for it. */
static int take_over(struct vmm *m, char *err, size_t err_len)
{
    const struct upgrade_handover *h = m->opt.handover;
    struct snapshot *snap = calloc(1, sizeof(*snap));
    struct vm_config *cfg = malloc(sizeof(*cfg));
    const struct api_snapshot_load none = {0};
    char why[600];
    int rc = snap && cfg ? 0 : set_err(why, sizeof(why), "out of memory");
    if (rc == 0)
        rc = snapshot_decode(snap, m->opt.handover_state, m->opt.handover_state_len, why,
                             sizeof(why));
    if (rc == 0)
        rc = restored_config(m, snap, &none, cfg, why, sizeof(why));
    /* For tests of the way back: a new binary that refuses the VM (once:
       the binary it gives the VM back to, and later ones, do not see it). */
    bool refuse = getenv("DUVISOR_UPGRADE_TEST_REFUSE") != NULL;
    unsetenv("DUVISOR_UPGRADE_TEST_REFUSE");
    if (rc == 0 && !h->failed[0] && refuse)
        rc = set_err(why, sizeof(why), "refused: DUVISOR_UPGRADE_TEST_REFUSE is set");
    if (rc == 0) {
        m->cfg = *cfg;
        struct vm_restore_source src;
        vm_restore_source_init(&src, h->ram_fd, true);
        memcpy(src.disk_fds, h->disk_fds, sizeof(src.disk_fds));
        memcpy(src.tap_fds, h->tap_fds, sizeof(src.tap_fds));
        rc = start_restored(m, snap, &src, h->running, why, sizeof(why));
    }
    if (snap)
        snapshot_free(snap);
    free(snap);
    free(cfg);
    if (rc == 0) {
        adopt_held(m, h); /* only now: a VM given back needs them without CLOEXEC */
        m->api.state = h->running ? API_RUNNING : API_PAUSED;
        m->upgrades = h->upgrades + (h->failed[0] ? 0 : 1);
        uint64_t down_us = (now_ns() - h->paused_ns) / 1000;
        char fault[700];
        if (h->failed[0]) {
            snprintf(fault, sizeof(fault),
                     "Cannot upgrade: the new binary could not take the VM over (%s); the old "
                     "one runs on.",
                     h->failed);
            vmm_log(&m->log, API_LOG_ERROR, "%s", fault);
        } else {
            vmm_log(&m->log, API_LOG_INFO, "Live upgrade %u done: the guest was paused %llu us",
                    m->upgrades, (unsigned long long)down_us);
        }
        upgrade_reply(h->conn_fd, h->failed[0] ? 400 : 204, h->failed[0] ? fault : NULL);
        close_inherited(h);
        return 0;
    }
    if (h->failed[0] || h->fallback_fd < 0)
        return set_err(err, err_len, "live upgrade: cannot take the VM over: %s", why);
    /* Give the VM back to the binary that had it. */
    struct upgrade_handover back = *h;
    snprintf(back.failed, sizeof(back.failed), "%.500s", why);
    if (back.self_fd >= 0)
        close(back.self_fd);
    back.self_fd = upgrade_keep_fd(h->fallback_fd); /* the old binary's, for its next upgrade */
    fcntl(back.api_fd, F_SETFD, 0);
    console_release_tty();
    char again[600];
    upgrade_exec(NULL, h->fallback_fd, &back, m->opt.handover_state, m->opt.handover_state_len,
                 again, sizeof(again));
    return set_err(err, err_len,
                   "live upgrade: cannot take the VM over (%s), nor give it back (%s)", why, again);
}

static const struct api_target_ops target_ops = {
    .start = act_start,
    .pause = act_pause,
    .resume = act_resume,
    .ctrl_alt_del = act_ctrl_alt_del,
    .flush_metrics = act_flush_metrics,
    .update_drive = act_update_drive,
    .set_logger = act_set_logger,
    .set_metrics = act_set_metrics,
    .snapshot_create = act_snapshot_create,
    .snapshot_load = act_snapshot_load,
    .upgrade = act_upgrade,
    .balloon_set_target = act_balloon_set_target,
    .balloon_stats = act_balloon_stats,
    .balloon_set_interval = act_balloon_set_interval,
};

/* --- requests from the API thread --------------------------------------------------------- */

/* On the API thread: hand the request to the VMM thread and wait for it. */
static void on_api_request(void *opaque, const char *method, const char *path, const char *body,
                           size_t len, struct api_response *resp)
{
    struct vmm *m = opaque;
    struct vmm_call call = {method, path, body, len, resp, false};
    pthread_mutex_lock(&m->call_lock);
    if (m->exiting) {
        pthread_mutex_unlock(&m->call_lock);
        api_fault(resp, 400, "The microVM is shutting down.");
        return;
    }
    m->call = &call;
    wake(m->call_fd);
    while (!call.done)
        pthread_cond_wait(&m->call_done, &m->call_lock);
    pthread_mutex_unlock(&m->call_lock);
}

static void serve_call(struct vmm *m)
{
    pthread_mutex_lock(&m->call_lock);
    struct vmm_call *c = m->call;
    pthread_mutex_unlock(&m->call_lock);
    if (!c)
        return;
    vmm_log(&m->log, API_LOG_DEBUG, "The API server received a %s request on \"%s\".", c->method,
            c->path);
    api_handle(&m->api, c->method, c->path, c->body, c->len, c->resp);
    if (c->resp->status >= 400)
        vmm_log(&m->log, API_LOG_DEBUG, "%s %s: %d %s", c->method, c->path, c->resp->status,
                c->resp->body ? c->resp->body : "");
    pthread_mutex_lock(&m->call_lock);
    m->call = NULL;
    c->done = true;
    pthread_cond_broadcast(&m->call_done);
    pthread_mutex_unlock(&m->call_lock);
}

/* Refuse what is waiting and every later request, so the server can stop. */
static void stop_taking_calls(struct vmm *m)
{
    pthread_mutex_lock(&m->call_lock);
    m->exiting = true;
    if (m->call) {
        api_fault(m->call->resp, 400, "The microVM is shutting down.");
        m->call->done = true;
        m->call = NULL;
        pthread_cond_broadcast(&m->call_done);
    }
    pthread_mutex_unlock(&m->call_lock);
}

/* --- the VM stopping ---------------------------------------------------------------------- */

static bool stop_signal_pending(struct vmm *m)
{
    struct signalfd_siginfo si;
    return read(m->signal_fd, &si, sizeof(si)) == sizeof(si);
}

static void destroy_vm(struct vmm *m)
{
    gdbstub_destroy(m->vm->gdb); /* the vCPU threads that used its gate have been joined */
    m->vm->gdb = NULL;
    pthread_mutex_lock(&m->vm_lock);
    vm_destroy(m->vm);
    m->vm_live = false;
    pthread_mutex_unlock(&m->vm_lock);
    arm_balloon_timer(m, 0);
}

static void vm_stopped(struct vmm *m)
{
    enum vm_stop why = vm_join(m->vm);
    destroy_vm(m);
    if (why == VM_STOP_REBOOT && stop_signal_pending(m))
        why = VM_STOP_SIGNAL; /* a signal outranks the guest's wish at the same moment */
    bool reboot_ends = m->cfg.no_reboot || m->opt.firecracker || m->cad_sent;
    if (why == VM_STOP_REBOOT && !reboot_ends) {
        vmm_log(&m->log, API_LOG_INFO, "guest rebooting");
        char err[512];
        if (start_vm(m, err, sizeof(err)) == 0)
            return;
        vmm_log(&m->log, API_LOG_ERROR, "reboot failed: %s", err);
        m->status = 1;
        m->done = true;
        return;
    }
    switch (why) {
    case VM_STOP_POWEROFF: vmm_log(&m->log, API_LOG_INFO, "guest powered off"); break;
    case VM_STOP_REBOOT:
        vmm_log(&m->log, API_LOG_INFO, "guest asked to reboot (%s)",
                m->cad_sent          ? "after Ctrl+Alt+Del"
                : m->opt.firecracker ? "the VMM exits"
                                     : "--no-reboot");
        break;
    case VM_STOP_SIGNAL: vmm_log(&m->log, API_LOG_INFO, "stopped on request"); break;
    default: vmm_log(&m->log, API_LOG_ERROR, "guest stopped after a fatal error"); m->status = 1;
    }
    m->done = true;
}

/* SIGTERM, SIGINT, SIGHUP, or the console's Ctrl-A x. */
static void stop_requested(struct vmm *m)
{
    if (!m->vm_live) {
        vmm_log(&m->log, API_LOG_INFO, "stopped on request");
        m->done = true;
        return;
    }
    vm_request_stop(m->vm, VM_STOP_SIGNAL);
    atomic_store(&m->vm->stop, VM_STOP_SIGNAL); /* over a reboot asked at the same moment */
}

/* --- console ------------------------------------------------------------------------------ */

static void console_input_ready(void *opaque)
{
    struct vmm *m = opaque;
    pthread_mutex_lock(&m->vm_lock);
    if (m->vm_live && m->vm->uart)
        vm_console_pump(m->vm);
    pthread_mutex_unlock(&m->vm_lock);
}

static void console_quit(void *opaque)
{
    struct vmm *m = opaque;
    atomic_store(&m->quit, true);
    wake(m->call_fd);
}

/* --- set-up, loop, teardown ---------------------------------------------------------------- */

static int watch(struct vmm *m, int fd, uint32_t tag)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = tag};
    return epoll_ctl(m->epoll_fd, EPOLL_CTL_ADD, fd, &ev);
}

static int open_loop(struct vmm *m, char *err, size_t err_len)
{
    sigset_t stop_signals;
    vm_block_stop_signals(&stop_signals); /* before any thread starts */
    m->signal_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    m->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->call_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    m->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m->balloon_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    m->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (m->signal_fd < 0 || m->stop_fd < 0 || m->call_fd < 0 || m->timer_fd < 0 ||
        m->epoll_fd < 0 || watch(m, m->signal_fd, EV_SIGNAL) ||
        watch(m, m->stop_fd, EV_VM_STOPPED) || watch(m, m->call_fd, EV_CALL) ||
        watch(m, m->timer_fd, EV_METRICS) || m->balloon_fd < 0 ||
        watch(m, m->balloon_fd, EV_BALLOON))
        return set_err(err, err_len, "cannot set up the event loop: %s", strerror(errno));
    /* Always: a restored VM may have --console hvc0 from its snapshot. */
    sigset_t winch;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    pthread_sigmask(SIG_BLOCK, &winch, NULL); /* before any thread, as the stop signals */
    m->winch_fd = signalfd(-1, &winch, SFD_NONBLOCK | SFD_CLOEXEC);
    if (m->winch_fd < 0 || watch(m, m->winch_fd, EV_WINCH))
        return set_err(err, err_len, "cannot watch the terminal's size: %s", strerror(errno));
    return 0;
}

static void drain_signals(int fd)
{
    struct signalfd_siginfo si;
    while (read(fd, &si, sizeof(si)) == sizeof(si))
        continue;
}

static void dispatch(struct vmm *m, uint32_t tag)
{
    char err[512];
    switch (tag) {
    case EV_SIGNAL:
        if (stop_signal_pending(m))
            stop_requested(m);
        break;
    case EV_VM_STOPPED:
        drain(m->stop_fd);
        if (m->vm_live)
            vm_stopped(m);
        break;
    case EV_CALL:
        drain(m->call_fd);
        if (atomic_exchange(&m->quit, false))
            stop_requested(m);
        serve_call(m);
        break;
    case EV_WINCH:
        drain_signals(m->winch_fd);
        pthread_mutex_lock(&m->vm_lock);
        if (m->vm_live)
            follow_window_size(m);
        pthread_mutex_unlock(&m->vm_lock);
        break;
    case EV_BALLOON:
        drain(m->balloon_fd);
        if (m->vm_live && m->vm->balloon && !vm_paused(m->vm))
            virtio_balloon_request_stats(m->vm->balloon);
        break;
    case EV_METRICS:
        drain(m->timer_fd);
        if (write_metrics(m, err, sizeof(err)))
            vmm_log(&m->log, API_LOG_WARNING, "%s", err);
        break;
    }
}

static void run_loop(struct vmm *m)
{
    while (!m->done) {
        struct epoll_event ev[4];
        int n = epoll_wait(m->epoll_fd, ev, 4, -1);
        for (int i = 0; i < n && !m->done; i++)
            dispatch(m, ev[i].data.u32);
    }
}

/* --share: each folder's virtiofsd, started before the jail and the seccomp
   filter (its own sandbox needs namespaces, mounts and more), for the VMM's
   whole life. */
static int start_share_daemons(struct vmm *m, char *err, size_t err_len)
{
    for (unsigned i = 0; i < m->cfg.nshares; i++) {
        struct vm_share *s = &m->cfg.shares[i];
        s->daemon = virtio_fs_daemon_start(s->path, err, err_len);
        if (!s->daemon)
            return -1;
    }
    return 0;
}

static void stop_share_daemons(struct vmm *m)
{
    for (unsigned i = 0; i < m->cfg.nshares; i++) {
        virtio_fs_daemon_stop(m->cfg.shares[i].daemon);
        m->cfg.shares[i].daemon = NULL;
    }
}

static void teardown(struct vmm *m)
{
    stop_taking_calls(m);
    api_server_stop(m->server);
    if (m->vm_live) {
        vm_request_stop(m->vm, VM_STOP_SIGNAL);
        vm_join(m->vm);
        destroy_vm(m);
    }
    console_destroy(m->console);
    free(m->vm);
    close_fd(&m->metrics_fd);
    close_fd(&m->epoll_fd);
    close_fd(&m->signal_fd);
    close_fd(&m->winch_fd);
    close_fd(&m->stop_fd);
    close_fd(&m->call_fd);
    close_fd(&m->timer_fd);
    close_fd(&m->balloon_fd);
    vmm_log_close(&m->log);
    if (m->cfg.held)
        held_files_close(&m->held);
    stop_share_daemons(m);
    close_fd(&m->self_fd);
    pthread_mutex_destroy(&m->call_lock);
    pthread_cond_destroy(&m->call_done);
    pthread_mutex_destroy(&m->vm_lock);
}

static void log_sandbox(struct vmm *m)
{
    if (sandbox_mode() == SANDBOX_OFF) {
        vmm_log(&m->log, API_LOG_INFO, "seccomp: off");
        return;
    }
    char line[256];
    int n = snprintf(line, sizeof(line), "seccomp %s: system calls allowed per thread:",
                     sandbox_mode() == SANDBOX_LOG ? "log" : "on");
    for (unsigned k = 0; k < SANDBOX_KINDS && n > 0 && (size_t)n < sizeof(line); k++)
        n += snprintf(line + n, sizeof(line) - (size_t)n, " %s %u", sandbox_thread_name(k),
                      sandbox_allowed_count(k));
    vmm_log(&m->log, API_LOG_DEBUG, "%s", line);
}

static int read_text(const char *path, char **text, size_t *len, char *err, size_t err_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return set_err(err, err_len, "--config-file %s: %s", path, strerror(errno));
    size_t cap = 0;
    *text = NULL;
    *len = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            char *grown = cap < (16u << 20) ? realloc(*text, cap = cap * 2 + 8192) : NULL;
            if (!grown) {
                fclose(f);
                free(*text);
                return set_err(err, err_len, "--config-file %s: too large", path);
            }
            *text = grown;
        }
        size_t n = fread(*text + *len, 1, cap - *len, f);
        *len += n;
        if (n == 0)
            break;
    }
    fclose(f);
    return 0;
}

/* --jail: duvisor run's files (the command line's, host paths) are opened
   first and held; every other path (the API's, the log, snapshots) is then
   inside the jail, as with Firecracker's jailer. */
static int enter_jail(struct vmm *m, char *err, size_t err_len)
{
    int keep[HELD_FILES_MAX + 1 + VM_MAX_SHARES];
    unsigned n = 0;
    if (m->opt.start_now) {
        if (held_files_open(&m->held, &m->cfg, err, err_len))
            return -1;
        m->cfg.held = &m->held;
        n = held_files_list(&m->held, keep);
    }
    for (unsigned i = 0; i < m->cfg.nshares; i++)
        keep[n++] = virtio_fs_daemon_socket(m->cfg.shares[i].daemon);
    m->self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
    if (m->self_fd >= 0)
        keep[n++] = m->self_fd;
    return jail_enter(m->opt.jail, keep, n, err, err_len);
}

/* Everything the user gave is applied and checked here, before the guest runs. */
static int configure(struct vmm *m, char *err, size_t err_len)
{
    if (m->opt.logger.set && act_set_logger(m, &m->opt.logger, err, err_len) == 0)
        m->api.logger = m->opt.logger;
    else if (m->opt.logger.set)
        return -1;
    if (m->opt.metrics.set) {
        if (act_set_metrics(m, &m->opt.metrics, err, err_len))
            return -1;
        m->api.metrics = m->opt.metrics;
    }
    if (m->opt.config_file) {
        char *text = NULL, why[512];
        size_t len = 0;
        if (read_text(m->opt.config_file, &text, &len, err, err_len))
            return -1;
        int rc = api_load_config(&m->api, text, len, why, sizeof(why));
        free(text);
        if (rc)
            return set_err(err, err_len, "--config-file %s: %s", m->opt.config_file, why);
    }
    if (m->opt.api_sock) {
        const struct upgrade_handover *h = m->opt.handover;
        if (h && h->api_fd >= 0) {
            m->server =
                api_server_adopt(h->api_fd, m->opt.api_sock, on_api_request, m, err, err_len);
            fcntl(h->api_fd, F_SETFD, FD_CLOEXEC);
        } else {
            m->server = api_server_start(m->opt.api_sock, on_api_request, m, err, err_len);
        }
        if (!m->server)
            return -1;
    }
    if (m->opt.handover)
        return take_over(m, err, err_len);
    if (m->opt.restore) {
        if (act_snapshot_load(m, m->opt.restore, err, err_len))
            return -1;
        m->api.state = m->opt.restore->resume_vm ? API_RUNNING : API_PAUSED;
        return 0;
    }
    bool boot = m->opt.start_now || m->opt.config_file;
    if (boot) {
        if (!m->cfg.kernel_path[0])
            return set_err(err, err_len, "no kernel: the configuration has no boot-source");
        if (start_vm(m, err, err_len))
            return -1;
        m->api.state = API_RUNNING;
    }
    return 0;
}

int vmm_main(const struct vm_config *cfg, const struct vmm_options *opt)
{
    struct vmm *m = calloc(1, sizeof(*m));
    if (!m || !(m->vm = calloc(1, sizeof(*m->vm)))) {
        fprintf(stderr, "duvisor: out of memory\n");
        free(m);
        return 1;
    }
    m->cfg = *cfg;
    m->opt = *opt;
    m->metrics_fd = m->epoll_fd = m->signal_fd = m->stop_fd = m->call_fd = m->timer_fd =
        m->balloon_fd = -1;
    m->winch_fd = -1;
    m->self_fd = -1;
    m->vm->stop_fd = -1;
    clock_gettime(CLOCK_MONOTONIC, &m->started);
    pthread_mutex_init(&m->call_lock, NULL);
    pthread_cond_init(&m->call_done, NULL);
    pthread_mutex_init(&m->vm_lock, NULL);
    vmm_log_init(&m->log, opt->id);
    m->api = (struct api_target){
        .cfg = &m->cfg,
        .id = opt->id,
        .vmm_version = opt->vmm_version,
        .ops = &target_ops,
        .opaque = m,
    };
    signal(SIGPIPE, SIG_IGN); /* a closed stdout or API peer must not kill the VM */
    sandbox_set_mode((enum sandbox_mode)cfg->seccomp); /* before any thread */
    /* What libraries would otherwise do lazily on the HTTP server's thread,
       whose filter allows no open: the Date header's time zone, jansson's
       hash seed (read from /dev/urandom by the first JSON object made). */
    tzset();
    json_object_seed(0);
    char err[1024];
    int rc = start_share_daemons(m, err, sizeof(err));
    if (rc == 0 && opt->jail && opt->jail->dir)
        rc = enter_jail(m, err, sizeof(err));
    if (rc == 0)
        rc = open_loop(m, err, sizeof(err));
    if (rc == 0) {
        const struct console_config ccfg = {
            .in_fd = STDIN_FILENO,
            .out_fd = STDOUT_FILENO,
            .escape = CONSOLE_ESCAPE_AUTO,
            .input_ready = console_input_ready,
            .quit = console_quit,
            .opaque = m,
        };
        m->console = console_create(&ccfg);
        if (!m->console)
            rc = set_err(err, sizeof(err), "cannot set up the console");
    }
    if (rc == 0)
        rc = configure(m, err, sizeof(err));
    /* The VMM thread's own filter, once everything it set up is running. */
    if (rc == 0)
        rc = sandbox_enter(SANDBOX_VMM, err, sizeof(err));
    if (rc == 0)
        log_sandbox(m);
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        m->status = 2;
    } else {
        run_loop(m);
    }
    int status = m->status;
    teardown(m);
    free(m);
    return status;
}
