/*
 * What the API fuzzers share (tests/unit/test_api_fuzz.c under cmocka and
 * tests/fuzz/fuzz_api.c under libFuzzer): a small deterministic PRNG, a fake
 * api_target_ops table whose actions fail on demand and check that the router
 * only calls them in the states that allow them, real files for the paths a
 * request names, a corpus of valid Firecracker requests, and the invariants
 * every reply of api_handle must keep. Header-only: each fuzzer is one
 * translation unit.
 */
#ifndef DUVISOR_TESTS_FUZZ_API_FUZZ_H
#define DUVISOR_TESTS_FUZZ_API_FUZZ_H

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "vmm/config.h"

#define FZ_FN static __attribute__((unused))

/* --- PRNG: splitmix64, the same sequence on every host ------------------------------------ */

struct fz_rng {
    uint64_t s;
};

FZ_FN uint64_t fz_next(struct fz_rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* 0 .. n-1 (n > 0) */
FZ_FN uint32_t fz_below(struct fz_rng *r, uint32_t n)
{
    return (uint32_t)((fz_next(r) >> 32) * n >> 32);
}

FZ_FN bool fz_chance(struct fz_rng *r, unsigned percent)
{
    return fz_below(r, 100) < percent;
}

/* --- the fake VMM -------------------------------------------------------------------------- */

enum fz_op {
    FZ_START,
    FZ_PAUSE,
    FZ_RESUME,
    FZ_CAD,
    FZ_FLUSH,
    FZ_UPDATE_DRIVE,
    FZ_LOGGER,
    FZ_METRICS,
    FZ_SNAP_CREATE,
    FZ_SNAP_LOAD,
    FZ_UPGRADE,
    FZ_NOPS
};

static const char *const fz_op_names[FZ_NOPS] = {
    "start",      "pause",       "resume",          "ctrl_alt_del",  "flush_metrics", "update_drive",
    "set_logger", "set_metrics", "snapshot_create", "snapshot_load", "upgrade"};

struct fz_fake {
    const struct api_target *t; /* to see the state an action is called in */
    struct fz_rng *rng;         /* random failures, fail_percent of the calls; NULL: fail_mask */
    unsigned fail_percent;
    unsigned fail_mask;                                /* bit (1 << op): that action fails */
    unsigned calls[FZ_NOPS];                           /* this request's calls */
    unsigned succeeded[FZ_NOPS];                       /* ... and those that succeeded */
    char drive_id[VM_ID_MAX], drive_path[VM_PATH_MAX]; /* the last update_drive */
    char violation[512];                               /* the first misuse seen; "" none */
};

FZ_FN void fz_fake_reset_request(struct fz_fake *f)
{
    memset(f->calls, 0, sizeof(f->calls));
    memset(f->succeeded, 0, sizeof(f->succeeded));
    f->drive_id[0] = f->drive_path[0] = '\0';
}

__attribute__((format(printf, 2, 3))) FZ_FN void fz_misuse(struct fz_fake *f, const char *fmt, ...)
{
    if (f->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->violation, sizeof(f->violation), fmt, ap);
    va_end(ap);
}

/* One action: account, check the state it is called in, fail or succeed. */
static int fz_act(void *opaque, enum fz_op op, bool allowed, char *err, size_t err_len)
{
    struct fz_fake *f = opaque;
    f->calls[op]++;
    if (!allowed)
        fz_misuse(f, "%s called when it may not be (state %d)", fz_op_names[op], (int)f->t->state);
    bool fail = f->rng ? fz_chance(f->rng, f->fail_percent) : (f->fail_mask >> op) & 1;
    if (fail) {
        /* A fault message the router must pass on: quotes, a backslash, UTF-8. */
        snprintf(err, err_len, "fake %s failed: \"quoted\" \\ caf\xc3\xa9", fz_op_names[op]);
        return -1;
    }
    f->succeeded[op]++;
    return 0;
}

static int fz_start(void *o, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_START, f->t->state == API_NOT_STARTED && f->t->cfg->kernel_path[0], err, n);
}

static int fz_pause(void *o, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_PAUSE, f->t->state == API_RUNNING, err, n);
}

static int fz_resume(void *o, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_RESUME, f->t->state == API_PAUSED, err, n);
}

static int fz_cad(void *o, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_CAD, f->t->state != API_NOT_STARTED, err, n);
}

static int fz_flush(void *o, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_FLUSH, f->t->metrics.set, err, n);
}

static int fz_update_drive(void *o, const char *id, const char *path, char *err, size_t n)
{
    struct fz_fake *f = o;
    bool known = false;
    for (unsigned i = 0; i < f->t->cfg->ndisks; i++)
        known |= !strcmp(f->t->cfg->disks[i].id, id);
    snprintf(f->drive_id, sizeof(f->drive_id), "%s", id);
    snprintf(f->drive_path, sizeof(f->drive_path), "%s", path);
    return fz_act(o, FZ_UPDATE_DRIVE, f->t->state != API_NOT_STARTED && known && *path, err, n);
}

static int fz_set_logger(void *o, const struct api_logger *l, char *err, size_t n)
{
    return fz_act(o, FZ_LOGGER, l->set && l->level <= API_LOG_TRACE, err, n);
}

static int fz_set_metrics(void *o, const struct api_metrics *m, char *err, size_t n)
{
    struct fz_fake *f = o;
    /* an empty path reaches the VMM, whose open() refuses it */
    return fz_act(o, FZ_METRICS, m->set && !f->t->metrics.set, err, n);
}

static int fz_snap_create(void *o, const struct api_snapshot_create *r, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_SNAP_CREATE,
                  f->t->state == API_PAUSED && *r->snapshot_path && *r->mem_file_path, err, n);
}

static int fz_snap_load(void *o, const struct api_snapshot_load *r, char *err, size_t n)
{
    const struct fz_fake *f = o;
    return fz_act(o, FZ_SNAP_LOAD,
                  f->t->state == API_NOT_STARTED && !f->t->configured && r->snapshot_path &&
                      r->mem_file_path && r->noverrides <= VM_MAX_NICS,
                  err, n);
}

static int fz_upgrade(void *o, const char *binary, char *err, size_t n)
{
    const struct fz_fake *f = o;
    (void)binary;
    return fz_act(o, FZ_UPGRADE, f->t->state != API_NOT_STARTED, err, n);
}

static const struct api_target_ops fz_ops = {
    .start = fz_start,
    .pause = fz_pause,
    .resume = fz_resume,
    .ctrl_alt_del = fz_cad,
    .flush_metrics = fz_flush,
    .update_drive = fz_update_drive,
    .set_logger = fz_set_logger,
    .set_metrics = fz_set_metrics,
    .snapshot_create = fz_snap_create,
    .snapshot_load = fz_snap_load,
    .upgrade = fz_upgrade,
};

/* A target as `duvisor --api-sock` makes it: Firecracker's default machine. */
FZ_FN void fz_target_init(struct api_target *t, struct vm_config *cfg, struct fz_fake *fake)
{
    vm_config_init(cfg);
    cfg->memory_bytes = 128ull << 20;
    memset(fake->calls, 0, sizeof(fake->calls));
    memset(fake->succeeded, 0, sizeof(fake->succeeded));
    *t = (struct api_target){
        .cfg = cfg, .id = "fuzz", .vmm_version = "0-fuzz", .ops = &fz_ops, .opaque = fake};
    fake->t = t;
}

/* --- files the requests name --------------------------------------------------------------- */

struct fz_files {
    char dir[200];
    char kernel[256], initrd[256], rootfs[256], data[256], notkernel[256], subdir[256],
        missing[256], log[256], metrics[256];
};

static int fz_write(const char *path, const void *data, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, data, len);
    close(fd);
    return n == (ssize_t)len ? 0 : -1;
}

/* Fill dir (which exists) with: a kernel the probe accepts (an Image header,
   "RSC\x05" at offset 56), an initrd, two drive images, a file that is not a
   kernel and a directory. 0, or -1 with errno. */
FZ_FN int fz_files_create(struct fz_files *f, const char *dir)
{
    snprintf(f->dir, sizeof(f->dir), "%s", dir);
#define FZ_PATH(field, name) snprintf(f->field, sizeof(f->field), "%s/" name, f->dir)
    FZ_PATH(kernel, "Image");
    FZ_PATH(initrd, "initrd.cpio");
    FZ_PATH(rootfs, "rootfs.ext4");
    FZ_PATH(data, "data.img");
    FZ_PATH(notkernel, "notes.txt");
    FZ_PATH(subdir, "subdir");
    FZ_PATH(missing, "missing");
    FZ_PATH(log, "fc.log");
    FZ_PATH(metrics, "fc.metrics");
#undef FZ_PATH
    uint8_t image[64] = {0};
    memcpy(image + 56, "RSC\x05", 4);
    static const char blob[4096];
    if (fz_write(f->kernel, image, sizeof(image)) || fz_write(f->initrd, blob, 512) ||
        fz_write(f->rootfs, blob, sizeof(blob)) || fz_write(f->data, blob, sizeof(blob)) ||
        fz_write(f->notkernel, "just some text, no kernel header at all\n", 40))
        return -1;
    if (mkdir(f->subdir, 0700) && errno != EEXIST)
        return -1;
    return 0;
}

FZ_FN void fz_files_remove(const struct fz_files *f)
{
    unlink(f->kernel);
    unlink(f->initrd);
    unlink(f->rootfs);
    unlink(f->data);
    unlink(f->notkernel);
    unlink(f->log);
    unlink(f->metrics);
    rmdir(f->subdir);
    if (strcmp(f->dir, "."))
        rmdir(f->dir);
}

/* --- the corpus: valid (and a few plainly invalid) Firecracker requests -------------------- */

struct fz_template {
    const char *method, *path, *body; /* body: @K kernel, @I initrd, @R rootfs, @D data,
                                         @N not a kernel, @S a directory, @M missing,
                                         @L log, @X metrics */
};

static const struct fz_template fz_templates[] = {
    {"PUT", "/machine-config", "{\"vcpu_count\": 2, \"mem_size_mib\": 256}"},
    {"PUT", "/machine-config",
     "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": false, \"track_dirty_pages\": true, "
     "\"huge_pages\": \"None\", \"cpu_template\": \"None\"}"},
    {"PATCH", "/machine-config", "{\"mem_size_mib\": 512}"},
    {"PATCH", "/machine-config", "{\"vcpu_count\": 4, \"track_dirty_pages\": false}"},
    {"PUT", "/boot-source",
     "{\"kernel_image_path\": \"@K\", \"boot_args\": \"console=ttyS0 reboot=k panic=1\"}"},
    {"PUT", "/boot-source", "{\"kernel_image_path\": \"@K\", \"initrd_path\": \"@I\"}"},
    {"PUT", "/boot-source", "{\"kernel_image_path\": \"@N\"}"},
    {"PUT", "/boot-source", "{\"kernel_image_path\": \"@K\", \"initrd_path\": \"@M\"}"},
    {"PUT", "/drives/rootfs",
     "{\"drive_id\": \"rootfs\", \"path_on_host\": \"@R\", \"is_root_device\": true, "
     "\"is_read_only\": false}"},
    {"PUT", "/drives/data",
     "{\"drive_id\": \"data\", \"path_on_host\": \"@D\", \"is_root_device\": false, "
     "\"is_read_only\": true, \"cache_type\": \"Writeback\", \"io_engine\": \"Sync\", "
     "\"partuuid\": null, \"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"refill_time\": "
     "100}}}"},
    {"PUT", "/drives/x",
     "{\"drive_id\": \"x\", \"path_on_host\": \"@D\", \"is_root_device\": true, \"partuuid\": "
     "\"0eaa91a0-01\", \"cache_type\": \"Unsafe\", \"io_engine\": \"Async\"}"},
    {"PUT", "/drives/scratch",
     "{\"drive_id\": \"scratch\", \"path_on_host\": \"@S\", \"is_root_device\": false}"},
    {"PATCH", "/drives/rootfs", "{\"drive_id\": \"rootfs\", \"path_on_host\": \"@D\"}"},
    {"PATCH", "/drives/x", "{\"drive_id\": \"x\", \"rate_limiter\": {}}"},
    {"PATCH", "/drives/data", "{\"drive_id\": \"data\", \"path_on_host\": \"@M\"}"},
    {"PUT", "/network-interfaces/eth0",
     "{\"iface_id\": \"eth0\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
     "\"06:00:AC:10:00:02\"}"},
    {"PUT", "/network-interfaces/eth1",
     "{\"iface_id\": \"eth1\", \"host_dev_name\": \"user\", \"mtu\": 1500}"},
    /* a TAP and a MAC that eth0 has */
    {"PUT", "/network-interfaces/eth2", "{\"iface_id\": \"eth2\", \"host_dev_name\": \"tap0\"}"},
    {"PUT", "/network-interfaces/eth3",
     "{\"iface_id\": \"eth3\", \"host_dev_name\": \"tap3\", \"guest_mac\": \"06:00:ac:10:00:02\", "
     "\"mtu\": 9000}"},
    {"PUT", "/drives/vhost",
     "{\"drive_id\": \"vhost\", \"is_root_device\": false, \"socket\": \"/tmp/vhost.sock\"}"},
    {"PUT", "/machine-config", "{\"vcpu_count\": 33, \"mem_size_mib\": 15}"},
    {"PATCH", "/network-interfaces/eth0",
     "{\"iface_id\": \"eth0\", \"rx_rate_limiter\": {\"ops\": {\"size\": 10, \"refill_time\": "
     "10}}, \"tx_rate_limiter\": null}"},
    {"PUT", "/actions", "{\"action_type\": \"InstanceStart\"}"},
    {"PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\"}"},
    {"PUT", "/actions", "{\"action_type\": \"FlushMetrics\"}"},
    {"PATCH", "/vm", "{\"state\": \"Paused\"}"},
    {"PATCH", "/vm", "{\"state\": \"Resumed\"}"},
    {"PUT", "/logger",
     "{\"log_path\": \"@L\", \"level\": \"Debug\", \"show_level\": true, \"show_log_origin\": "
     "false, \"module\": \"api_server\"}"},
    {"PUT", "/logger", "{\"level\": \"warn\"}"},
    {"PUT", "/metrics", "{\"metrics_path\": \"@X\"}"},
    {"PUT", "/entropy", "{\"rate_limiter\": null}"},
    {"PUT", "/entropy", "{}"},
    {"GET", "/", ""},
    {"GET", "/version", ""},
    {"GET", "/machine-config", ""},
    {"GET", "/vm/config", ""},
    {"GET", "/balloon", ""},
    {"PUT", "/mmds", "{\"latest\": {\"meta-data\": {\"ami-id\": \"ami-12345678\"}}}"},
    {"PUT", "/snapshot/create",
     "{\"snapshot_type\": \"Full\", \"snapshot_path\": \"s\", \"mem_file_path\": \"m\"}"},
    {"PUT", "/vsock", "{\"guest_cid\": 3, \"uds_path\": \"/tmp/v.sock\"}"},
    {"DELETE", "/drives/rootfs", ""},
};

#define FZ_NTEMPLATES (sizeof(fz_templates) / sizeof(fz_templates[0]))

/* The template with this method and path whose body starts so. */
FZ_FN unsigned fz_find(const char *method, const char *path, const char *body_start)
{
    for (unsigned k = 0; k < FZ_NTEMPLATES; k++)
        if (!strcmp(fz_templates[k].method, method) && !strcmp(fz_templates[k].path, path) &&
            !strncmp(fz_templates[k].body, body_start, strlen(body_start)))
            return k;
    fprintf(stderr, "api fuzz: no template %s %s %s\n", method, path, body_start);
    abort();
}

/* A template's body with the paths filled in, into out[out_len]: its length. */
FZ_FN size_t fz_expand(const struct fz_files *f, const char *body, char *out, size_t out_len)
{
    size_t n = 0;
    for (const char *p = body; *p && n + 1 < out_len; p++) {
        const char *sub = NULL;
        if (p[0] == '@' && p[1]) {
            switch (p[1]) {
            case 'K': sub = f->kernel; break;
            case 'I': sub = f->initrd; break;
            case 'R': sub = f->rootfs; break;
            case 'D': sub = f->data; break;
            case 'N': sub = f->notkernel; break;
            case 'S': sub = f->subdir; break;
            case 'M': sub = f->missing; break;
            case 'L': sub = f->log; break;
            case 'X': sub = f->metrics; break;
            }
        }
        if (sub) {
            size_t len = strlen(sub);
            if (len > out_len - 1 - n)
                len = out_len - 1 - n;
            memcpy(out + n, sub, len);
            n += len;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
    return n;
}

/* --- invariants ---------------------------------------------------------------------------- */

/* What a request may change, taken before it. */
struct fz_snapshot {
    struct vm_config cfg;
    enum api_state state;
    struct api_logger logger;
    struct api_metrics metrics;
    bool entropy_set;
    unsigned long long requests, bad_requests;
};

FZ_FN void fz_snap(const struct api_target *t, struct fz_snapshot *s)
{
    memcpy(&s->cfg, t->cfg, sizeof(s->cfg));
    s->state = t->state;
    memcpy(&s->logger, &t->logger, sizeof(s->logger));
    memcpy(&s->metrics, &t->metrics, sizeof(s->metrics));
    s->entropy_set = t->entropy_set;
    s->requests = t->requests;
    s->bad_requests = t->bad_requests;
}

__attribute__((format(printf, 3, 4))) static bool fz_fail(char *why, size_t why_len,
                                                          const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return false;
}

static bool fz_terminated(const char *s, size_t size)
{
    return memchr(s, '\0', size) != NULL;
}

static bool fz_valid_id(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len >= VM_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || id[i] == '_'))
            return false;
    return true;
}

/* The configuration is one a VM can be built from, whatever was asked. */
FZ_FN bool fz_config_sane(const struct vm_config *c, char *why, size_t why_len)
{
    if (!fz_terminated(c->kernel_path, sizeof(c->kernel_path)) ||
        !fz_terminated(c->initrd_path, sizeof(c->initrd_path)) ||
        !fz_terminated(c->append, sizeof(c->append)))
        return fz_fail(why, why_len, "config: an unterminated string");
    if (c->smp < 1 || c->smp > VM_MAX_VCPUS)
        return fz_fail(why, why_len, "config: smp %u", c->smp);
    if (c->memory_bytes < VM_MIN_MEMORY || c->memory_bytes > VM_MAX_MEMORY ||
        (c->memory_bytes & ((1u << 20) - 1)))
        return fz_fail(why, why_len, "config: memory %llu bytes",
                       (unsigned long long)c->memory_bytes);
    if (c->ndisks > VM_MAX_DISKS || c->nnics > VM_MAX_NICS || c->ndisks + c->nnics > VM_MAX_DISKS)
        return fz_fail(why, why_len, "config: %u disks and %u nics", c->ndisks, c->nnics);
    for (unsigned i = 0; i < c->ndisks; i++) {
        const struct vm_disk *d = &c->disks[i];
        if (!fz_terminated(d->id, sizeof(d->id)) || !fz_terminated(d->path, sizeof(d->path)) ||
            !fz_terminated(d->partuuid, sizeof(d->partuuid)))
            return fz_fail(why, why_len, "config: disk %u has an unterminated string", i);
        if (!fz_valid_id(d->id) || !d->path[0])
            return fz_fail(why, why_len, "config: disk %u id '%s' path '%s'", i, d->id, d->path);
        if (d->root && i != 0)
            return fz_fail(why, why_len, "config: root disk %s at %u, not first", d->id, i);
        for (unsigned j = 0; j < i; j++)
            if (!strcmp(c->disks[j].id, d->id))
                return fz_fail(why, why_len, "config: disk id %s twice", d->id);
    }
    for (unsigned i = 0; i < c->nnics; i++) {
        const struct vm_nic *n = &c->nics[i];
        if (!fz_terminated(n->id, sizeof(n->id)) || !fz_terminated(n->options, sizeof(n->options)))
            return fz_fail(why, why_len, "config: nic %u has an unterminated string", i);
        if (!fz_valid_id(n->id) || (n->kind != VM_NET_USER && n->kind != VM_NET_TAP) ||
            (n->kind == VM_NET_TAP && (!n->options[0] || strlen(n->options) > 15)))
            return fz_fail(why, why_len, "config: nic %u id '%s' kind %d '%s'", i, n->id,
                           (int)n->kind, n->options);
        if (n->mac[0] & 1)
            return fz_fail(why, why_len, "config: nic %s has a multicast MAC", n->id);
        for (unsigned j = 0; j < i; j++) {
            if (!strcmp(c->nics[j].id, n->id))
                return fz_fail(why, why_len, "config: nic id %s twice", n->id);
            if (!memcmp(c->nics[j].mac, n->mac, 6))
                return fz_fail(why, why_len, "config: nics %s and %s share a MAC", c->nics[j].id,
                               n->id);
        }
    }
    return true;
}

/* "/drives/ID" -> ID, or NULL */
static const char *fz_param(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    return strncmp(path, prefix, n) || !path[n] || strchr(path + n, '/') ? NULL : path + n;
}

static bool fz_same_state(const struct api_target *t, const struct fz_snapshot *b)
{
    return !memcmp(t->cfg, &b->cfg, sizeof(b->cfg)) && t->state == b->state &&
           !memcmp(&t->logger, &b->logger, sizeof(b->logger)) &&
           !memcmp(&t->metrics, &b->metrics, sizeof(b->metrics)) &&
           t->entropy_set == b->entropy_set;
}

/* The reply of one api_handle(t, method, path, <len bytes>) and what it did to t
   keep the API's promises (api.h). true, or false with the broken one in why. */
FZ_FN bool fz_check(const struct api_target *t, const struct fz_snapshot *b,
                    const struct fz_fake *fake, const char *method, const char *path, size_t len,
                    const struct api_response *r, char *why, size_t why_len)
{
    int st = r->status;
    if (st != 200 && st != 204 && st != 400 && st != 413)
        return fz_fail(why, why_len, "status %d", st);
    if (fake->violation[0])
        return fz_fail(why, why_len, "fake VMM misused: %s", fake->violation);
    if (t->requests != b->requests + 1 || t->bad_requests != b->bad_requests + (st >= 400))
        return fz_fail(why, why_len, "counters %llu/%llu after %llu/%llu, status %d", t->requests,
                       t->bad_requests, b->requests, b->bad_requests, st);
    bool is_get = !strcmp(method, "GET");
    bool body_method = !strcmp(method, "PUT") || !strcmp(method, "PATCH");
    if (body_method && len > API_MAX_PAYLOAD && st != 413)
        return fz_fail(why, why_len, "a %zu-byte body got %d, not 413", len, st);
    if (st == 413 && len <= API_MAX_PAYLOAD)
        return fz_fail(why, why_len, "413 for a %zu-byte body", len);
    if (st == 204) {
        if (r->body)
            return fz_fail(why, why_len, "204 with a body: %.200s", r->body);
        if (!body_method)
            return fz_fail(why, why_len, "204 for a %s", method);
    } else {
        if (!r->body)
            return fz_fail(why, why_len, "%d without a body", st);
        json_error_t jerr;
        json_t *j = json_loads(r->body, JSON_REJECT_DUPLICATES, &jerr);
        if (!j)
            return fz_fail(why, why_len, "%d body is not JSON (%s): %.200s", st, jerr.text,
                           r->body);
        bool ok = json_is_object(j);
        if (ok && st >= 400)
            ok = json_object_size(j) == 1 && json_is_string(json_object_get(j, "fault_message"));
        if (ok && st == 200 && !strcmp(path, "/")) {
            const char *s = json_string_value(json_object_get(j, "state"));
            const char *want = t->state == API_RUNNING  ? "Running"
                               : t->state == API_PAUSED ? "Paused"
                                                        : "Not started";
            ok = s && !strcmp(s, want);
        }
        json_decref(j);
        if (!ok)
            return fz_fail(why, why_len, "%d body has the wrong shape: %.200s", st, r->body);
        if (st == 200 && (!is_get || len))
            return fz_fail(why, why_len, "200 for %s with %zu bytes", method, len);
    }
    /* A refused request, and any GET, changes nothing. */
    if (st != 204) {
        if (!fz_same_state(t, b))
            return fz_fail(why, why_len, "a %d reply changed the target", st);
    } else {
        enum api_state from = b->state, to = t->state;
        bool action = !strcmp(method, "PUT") && !strcmp(path, "/actions");
        bool vm = !strcmp(method, "PATCH") && !strcmp(path, "/vm");
        bool load = fake->succeeded[FZ_SNAP_LOAD] && from == API_NOT_STARTED &&
                    (to == API_RUNNING || to == API_PAUSED);
        bool allowed = from == to || load ||
                       (from == API_NOT_STARTED && to == API_RUNNING && action) ||
                       (from == API_RUNNING && to == API_PAUSED && vm) ||
                       (from == API_PAUSED && to == API_RUNNING && vm);
        if (!allowed)
            return fz_fail(why, why_len, "state %d -> %d on %s %s", (int)from, (int)to, method,
                           path);
        if (fake->succeeded[FZ_START] && to != API_RUNNING)
            return fz_fail(why, why_len, "started, but the state is %d", (int)to);
        if (to == API_RUNNING && from == API_NOT_STARTED && !fake->succeeded[FZ_START] && !load)
            return fz_fail(why, why_len, "running without a successful start");
        if ((fake->succeeded[FZ_PAUSE] && to != API_PAUSED) ||
            (fake->succeeded[FZ_RESUME] && to != API_RUNNING))
            return fz_fail(why, why_len, "paused or resumed, but the state is %d", (int)to);
        if (from != API_NOT_STARTED) {
            /* Once started, the configuration only takes a drive's new backing file. */
            static struct vm_config want;
            memcpy(&want, &b->cfg, sizeof(want));
            const char *id = !strcmp(method, "PATCH") ? fz_param(path, "/drives/") : NULL;
            if (id && fake->succeeded[FZ_UPDATE_DRIVE]) {
                /* the new path as a string: the bytes after its NUL are not compared */
                for (unsigned i = 0; i < want.ndisks; i++) {
                    if (strcmp(want.disks[i].id, id))
                        continue;
                    if (strcmp(t->cfg->disks[i].path, fake->drive_path))
                        return fz_fail(why, why_len, "drive %s is backed by '%.100s', not '%.100s'",
                                       id, t->cfg->disks[i].path, fake->drive_path);
                    memcpy(want.disks[i].path, t->cfg->disks[i].path, sizeof(want.disks[i].path));
                }
            }
            if (memcmp(&want, t->cfg, sizeof(want)))
                return fz_fail(why, why_len, "%s %s changed the configuration after the start",
                               method, path);
            if (t->entropy_set != b->entropy_set)
                return fz_fail(why, why_len, "entropy set after the start");
        }
        for (unsigned op = 0; op < FZ_NOPS; op++)
            if (fake->calls[op] != fake->succeeded[op])
                return fz_fail(why, why_len, "204 although %s failed", fz_op_names[op]);
    }
    if (t->state == API_NOT_STARTED && b->state != API_NOT_STARTED)
        return fz_fail(why, why_len, "the state went back to Not started");
    return fz_config_sane(t->cfg, why, why_len);
}

/* GET /vm/config's body is a config file api_load_config takes, and the
   configuration it makes renders the same. */
FZ_FN bool fz_check_roundtrip(const char *rendered, char *why, size_t why_len)
{
    static struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake = {0};
    fz_target_init(&t, &cfg, &fake);
    char err[512] = "";
    if (api_load_config(&t, rendered, strlen(rendered), err, sizeof(err)))
        return fz_fail(why, why_len, "GET /vm/config does not load back: %s", err);
    char *again = api_render_config(&t);
    json_t *a = json_loads(rendered, 0, NULL), *b = again ? json_loads(again, 0, NULL) : NULL;
    bool same = a && b && json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (!same)
        fz_fail(why, why_len, "GET /vm/config changes on a round trip: %.300s", again);
    free(again);
    return same;
}

/* A request for messages: printable, escaped, cut at max bytes. */
FZ_FN void fz_quote(FILE *out, const char *s, size_t len, size_t max)
{
    fputc('"', out);
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c >= 0x20 && c < 0x7f)
            fputc(c, out);
        else
            fprintf(out, "\\x%02x", c);
    }
    fputc('"', out);
    if (len > max)
        fprintf(out, "... (%zu bytes)", len);
}

#endif
