/*
 * The control API: the subset of Firecracker's REST API (swagger 1.x) that
 * its tools use, with its field names, defaults, status codes and error
 * bodies. This module is the router and the state machine, HTTP-free: it
 * takes a method, a path and a body and gives a status and a body. The HTTP
 * server (api/server.h) feeds it; the VMM runs it on its own thread, so
 * everything it touches (the configuration, the state) has one owner.
 *
 * Replies: 204 with no body on success without data, 200 with JSON on
 * success with data, and for every refusal 400 (413 for an oversized body)
 * with {"fault_message": "..."}; a refused request changes nothing.
 * Bodies are parsed strictly: invalid JSON, a wrong type, an unknown field,
 * a missing required field or a path id that differs from the body's is
 * refused, as Firecracker's deny_unknown_fields does.
 */
#ifndef DUVISOR_API_API_H
#define DUVISOR_API_API_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/config.h"

/* Firecracker's default body limit (--http-api-max-payload-size). */
#define API_MAX_PAYLOAD         51200u
/* The Firecracker API level whose subset is implemented (GET /version). */
#define API_FIRECRACKER_VERSION "1.7.0"

enum api_state { API_NOT_STARTED, API_RUNNING, API_PAUSED };

/* PUT /logger. */
enum api_log_level {
    API_LOG_OFF,
    API_LOG_ERROR,
    API_LOG_WARNING,
    API_LOG_INFO,
    API_LOG_DEBUG,
    API_LOG_TRACE
};
struct api_logger {
    bool set; /* PUT /logger was accepted */
    char log_path[VM_PATH_MAX];
    enum api_log_level level;
    bool show_level, show_log_origin;
    char module[128];
};

/* PUT /metrics. */
struct api_metrics {
    bool set;
    char metrics_path[VM_PATH_MAX];
};

/* PUT /snapshot/create. */
struct api_snapshot_create {
    const char *snapshot_path, *mem_file_path;
    bool diff; /* snapshot_type Diff: only pages changed since the previous snapshot */
};

/* PUT /snapshot/load: the state file, the memory file, whether to resume,
   and TAP names replacing the saved ones (network_overrides). */
struct api_net_override {
    const char *iface_id, *host_dev_name;
};
struct api_snapshot_load {
    const char *snapshot_path, *mem_file_path;
    bool resume_vm;
    unsigned noverrides;
    struct api_net_override overrides[VM_MAX_NICS];
};

/* GET /balloon/statistics: the balloon's target and size, and what the
   guest last said, by virtio tag (swap_in .. hugetlb_failures). */
#define API_BALLOON_GUEST_STATS 10u
struct api_balloon_stats {
    uint64_t target_pages, actual_pages;
    uint64_t guest[API_BALLOON_GUEST_STATS];
    uint32_t guest_valid; /* bit per tag: the guest sent it */
};

/* What the API drives: the VMM, or a test's fake. Each action returns 0, or
   -1 with the fault message in err. They run on the caller's thread. */
struct api_target_ops {
    int (*start)(void *opaque, char *err, size_t err_len);
    int (*pause)(void *opaque, char *err, size_t err_len);
    int (*resume)(void *opaque, char *err, size_t err_len);
    int (*ctrl_alt_del)(void *opaque, char *err, size_t err_len);
    int (*flush_metrics)(void *opaque, char *err, size_t err_len);
    /* PATCH /drives/{id} on a running VM: the new backing file */
    int (*update_drive)(void *opaque, const char *id, const char *path, char *err, size_t err_len);
    /* open the log or metrics destination; NULL: accept as given */
    int (*set_logger)(void *opaque, const struct api_logger *logger, char *err, size_t err_len);
    int (*set_metrics)(void *opaque, const struct api_metrics *metrics, char *err, size_t err_len);
    /* snapshots of a paused VM, and a VM restored from one (the VM is then
       paused, or running if resume_vm) */
    int (*snapshot_create)(void *opaque, const struct api_snapshot_create *req, char *err,
                           size_t err_len);
    int (*snapshot_load)(void *opaque, const struct api_snapshot_load *req, char *err,
                         size_t err_len);
    /* PUT /upgrade (duvisor's own): replace the running VMM by binary (NULL:
       the same one) without stopping the guest. Returns only on failure, the
       VM running on. */
    int (*upgrade)(void *opaque, const char *binary, char *err, size_t err_len);
    /* the running VM's balloon: a new target, its statistics, their polling period */
    int (*balloon_set_target)(void *opaque, uint32_t amount_mib, char *err, size_t err_len);
    int (*balloon_stats)(void *opaque, struct api_balloon_stats *out, char *err, size_t err_len);
    int (*balloon_set_interval)(void *opaque, unsigned seconds, char *err, size_t err_len);
};

struct api_target {
    struct vm_config *cfg; /* edited in place until InstanceStart */
    enum api_state state;  /* kept by the router as actions succeed */
    const char *id;        /* --id */
    const char *vmm_version;
    struct api_logger logger;
    struct api_metrics metrics;
    bool entropy_set; /* PUT /entropy was accepted (the device is always there) */
    bool configured;  /* a boot resource was set: no snapshot may be loaded then */
    const struct api_target_ops *ops;
    void *opaque;
    /* counters for the metrics */
    unsigned long long requests, bad_requests;
};

struct api_response {
    int status;
    char *body; /* malloc'd JSON, or NULL for none */
};

/* Serve one request. method is "GET", "PUT", "PATCH", ...; path has no
   query; body (may be NULL when len is 0) need not be NUL-terminated. */
void api_handle(struct api_target *t, const char *method, const char *path, const char *body,
                size_t len, struct api_response *resp);
void api_response_free(struct api_response *resp);

/* A fault reply, for the HTTP layer's own refusals (e.g. an oversized body). */
void api_fault(struct api_response *resp, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* --config-file: apply a Firecracker config file (the API's resources as
   top-level keys: boot-source, drives, machine-config, network-interfaces,
   logger, metrics, entropy, balloon; null sections are skipped). 0, or -1 with the
   first fault in err. The caller starts the VM. */
int api_load_config(struct api_target *t, const char *json, size_t len, char *err, size_t err_len);

/* GET /vm/config's body: the whole configuration, loadable by
   api_load_config. malloc'd, or NULL on no memory. */
char *api_render_config(const struct api_target *t);

#endif
