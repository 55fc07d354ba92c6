/*
 * The control API's router and state machine (see api.h). Each resource has
 * one parser that checks a JSON body field by field and one applier; the
 * config file goes through the same functions as the requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "util/err.h"
#include "vmm/boot.h"

#define FAULT_MAX 512

/* Firecracker's words for requests in the wrong phase (rpc_interface.rs). */
#define AFTER_START  "The requested operation is not supported after starting the microVM."
#define BEFORE_START "The requested operation is not supported before starting the microVM."

/* --- replies ---------------------------------------------------------------------------- */

static void reply_json(struct api_response *resp, int status, json_t *body)
{
    resp->status = status;
    resp->body = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
}

/* Bytes of the UTF-8 sequence at s, or 0 if it is not a valid one
   (truncated, overlong, a surrogate, beyond U+10FFFF). */
static size_t utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80)
        return 1;
    size_t n = (s[0] & 0xe0) == 0xc0   ? 2
               : (s[0] & 0xf0) == 0xe0 ? 3
               : (s[0] & 0xf8) == 0xf0 ? 4
                                       : 0;
    if (n == 0)
        return 0;
    uint32_t cp = s[0] & (0x7f >> n);
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    static const uint32_t least[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < least[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* JSON strings must be UTF-8: what the guest or client sent (a path, a
   value cut short by a %.64s) may not be; such bytes become '?'. */
static void make_utf8(char *text)
{
    unsigned char *s = (unsigned char *)text;
    while (*s) {
        size_t n = utf8_len(s);
        if (n == 0)
            *s++ = '?';
        else
            s += n;
    }
}

void api_fault(struct api_response *resp, int status, const char *fmt, ...)
{
    char msg[FAULT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    make_utf8(msg);
    reply_json(resp, status, json_pack("{s:s}", "fault_message", msg));
}

void api_response_free(struct api_response *resp)
{
    free(resp->body);
    resp->body = NULL;
}

/* --- strict bodies -------------------------------------------------------------------- */

enum field_type { F_STRING, F_BOOL, F_UINT, F_ANY };

struct field {
    const char *name;
    enum field_type type;
    bool required;
};

#define DESERIALIZE "An error occurred when deserializing the json body of a request: "

static const char *type_name(enum field_type t)
{
    switch (t) {
    case F_STRING: return "a string";
    case F_BOOL: return "a boolean";
    case F_UINT: return "a non-negative integer";
    default: return "a value";
    }
}

/* obj must be an object whose keys are all in fields, each of its type (null
   counts as absent for optional fields), with every required one present. */
static int check_fields(const json_t *obj, const struct field *fields, size_t n, char *err,
                        size_t err_len)
{
    if (!json_is_object(obj))
        return set_err(err, err_len, DESERIALIZE "expected a JSON object.");
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)obj, key, value)
    {
        const struct field *f = NULL;
        for (size_t i = 0; i < n && !f; i++)
            if (!strcmp(fields[i].name, key))
                f = &fields[i];
        if (!f)
            return set_err(err, err_len, DESERIALIZE "unknown field `%.64s`.", key);
        if (json_is_null(value) && !f->required)
            continue;
        bool ok = f->type == F_ANY || (f->type == F_STRING && json_is_string(value)) ||
                  (f->type == F_BOOL && json_is_boolean(value)) ||
                  (f->type == F_UINT && json_is_integer(value) && json_integer_value(value) >= 0);
        if (!ok)
            return set_err(err, err_len, DESERIALIZE "field `%s` must be %s.", key,
                           type_name(f->type));
    }
    for (size_t i = 0; i < n; i++)
        if (fields[i].required && !json_object_get(obj, fields[i].name))
            return set_err(err, err_len, DESERIALIZE "missing field `%s`.", fields[i].name);
    return 0;
}

/* Optional members, after check_fields. */
static const char *get_string(const json_t *obj, const char *name)
{
    return json_string_value(json_object_get(obj, name));
}

static bool get_bool(const json_t *obj, const char *name, bool fallback)
{
    const json_t *v = json_object_get(obj, name);
    return json_is_boolean(v) ? json_is_true(v) : fallback;
}

static bool has(const json_t *obj, const char *name)
{
    const json_t *v = json_object_get(obj, name);
    return v && !json_is_null(v);
}

/* Firecracker's ids: 1 to 64 of [A-Za-z0-9_]. */
static int check_id(const char *id, const char *what, char *err, size_t err_len)
{
    size_t len = strlen(id);
    bool ok = len > 0 && len < VM_ID_MAX;
    for (size_t i = 0; ok && i < len; i++)
        ok = (id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
             (id[i] >= '0' && id[i] <= '9') || id[i] == '_';
    if (!ok)
        return set_err(err, err_len,
                       "Invalid %s: it must be 1 to %u characters of A-Z, a-z, 0-9 and _.", what,
                       VM_ID_MAX - 1);
    return 0;
}

static int check_path_id(const char *path_id, const json_t *body, const char *field, char *err,
                         size_t err_len)
{
    const char *body_id = get_string(body, field);
    if (!body_id || strcmp(path_id, body_id))
        return set_err(err, err_len, "The id from the path does not match the id from the body!");
    return 0;
}

/* A file the VMM will read: it exists and is a regular file (or block device). */
static int check_file(const char *path, const char *what, bool block_ok, char *err, size_t err_len)
{
    struct stat st;
    if (!*path)
        return set_err(err, err_len, "The %s path is empty.", what);
    if (stat(path, &st) != 0)
        return set_err(err, err_len, "The %s file cannot be opened: %s (os error %d)", what,
                       strerror(errno), errno);
    if (!S_ISREG(st.st_mode) && !(block_ok && S_ISBLK(st.st_mode)))
        return set_err(err, err_len, "The %s file '%s' is not a regular file.", what, path);
    return 0;
}

static int check_kernel(const char *path, char *err, size_t err_len)
{
    if (check_file(path, "kernel", false, err, err_len))
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_err(err, err_len, "The kernel file cannot be opened: %s (os error %d)",
                       strerror(errno), errno);
    uint8_t head[BOOT_PROBE_BYTES];
    ssize_t n = read(fd, head, sizeof(head));
    close(fd);
    char why[256];
    if (n < 0 || boot_probe_kernel(head, (size_t)n, why, sizeof(why)))
        return set_err(err, err_len, "The kernel file '%s' is not usable: %s", path,
                       n < 0 ? strerror(errno) : why);
    return 0;
}

/* --- resources -------------------------------------------------------------------------- */

static int apply_machine_config(struct api_target *t, const json_t *b, bool patch, char *err,
                                size_t err_len)
{
    static const struct field fields[] = {
        {"vcpu_count", F_UINT, true},    {"mem_size_mib", F_UINT, true},
        {"smt", F_BOOL, false},          {"track_dirty_pages", F_BOOL, false},
        {"huge_pages", F_STRING, false}, {"cpu_template", F_STRING, false},
    };
    struct field f[sizeof(fields) / sizeof(fields[0])];
    memcpy(f, fields, sizeof(f));
    if (patch)
        f[0].required = f[1].required = false;
    if (check_fields(b, f, sizeof(f) / sizeof(f[0]), err, err_len))
        return -1;
    if (patch && json_object_size(b) == 0)
        return set_err(err, err_len, "Empty PATCH request.");
    struct vm_config *cfg = t->cfg;
    json_int_t vcpus = has(b, "vcpu_count") ? json_integer_value(json_object_get(b, "vcpu_count"))
                                            : (json_int_t)(patch ? cfg->smp : 1);
    json_int_t mib = has(b, "mem_size_mib") ? json_integer_value(json_object_get(b, "mem_size_mib"))
                                            : (json_int_t)(patch ? cfg->memory_bytes >> 20 : 128);
    if (vcpus < 1 || vcpus > VM_MAX_VCPUS)
        return set_err(err, err_len,
                       "The vCPU number is invalid! The vCPU number can only be 1 to %u.",
                       VM_MAX_VCPUS);
    if ((uint64_t)mib < (VM_MIN_MEMORY >> 20) || (uint64_t)mib > (VM_MAX_MEMORY >> 20))
        return set_err(err, err_len, "The memory size (MiB) is invalid: it must be %llu to %llu.",
                       VM_MIN_MEMORY >> 20, VM_MAX_MEMORY >> 20);
    if (get_bool(b, "smt", false))
        return set_err(err, err_len,
                       "Enabling simultaneous multithreading is not supported on riscv64.");
    const char *huge = get_string(b, "huge_pages");
    if (huge && strcmp(huge, "None"))
        return set_err(err, err_len, "huge_pages '%.32s' is not supported: only None.", huge);
    const char *tmpl = get_string(b, "cpu_template");
    if (tmpl && strcmp(tmpl, "None"))
        return set_err(err, err_len, "CPU templates are not supported on riscv64.");
    cfg->smp = (unsigned)vcpus;
    cfg->memory_bytes = (uint64_t)mib << 20;
    cfg->track_dirty_pages = get_bool(b, "track_dirty_pages", patch && cfg->track_dirty_pages);
    return 0;
}

static int apply_boot_source(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {
        {"kernel_image_path", F_STRING, true},
        {"initrd_path", F_STRING, false},
        {"boot_args", F_STRING, false},
    };
    if (check_fields(b, fields, 3, err, err_len))
        return -1;
    const char *kernel = get_string(b, "kernel_image_path");
    const char *initrd = get_string(b, "initrd_path");
    const char *args = get_string(b, "boot_args");
    struct vm_config *cfg = t->cfg;
    char k[VM_PATH_MAX] = "", i[VM_PATH_MAX] = "", a[VM_APPEND_MAX] = ""; /* zero-filled */
    if (vm_config_copy_string(k, sizeof(k), kernel, "kernel_image_path", err, err_len) ||
        (initrd && vm_config_copy_string(i, sizeof(i), initrd, "initrd_path", err, err_len)) ||
        vm_config_copy_string(a, sizeof(a), args ? args : VM_DEFAULT_APPEND, "boot_args", err,
                              err_len))
        return -1;
    if (check_kernel(k, err, err_len) || (initrd && check_file(i, "initrd", false, err, err_len)))
        return -1;
    memcpy(cfg->kernel_path, k, sizeof(k));
    memcpy(cfg->initrd_path, i, sizeof(i));
    memcpy(cfg->append, a, sizeof(a));
    return 0;
}

/* Firecracker's hybrid vsock: guest_cid and uds_path; vsock_id is accepted
   and ignored (there is one device). */
static int apply_vsock(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {
        {"guest_cid", F_UINT, true},
        {"uds_path", F_STRING, true},
        {"vsock_id", F_STRING, false},
    };
    if (check_fields(b, fields, 3, err, err_len))
        return -1;
    json_int_t cid = json_integer_value(json_object_get(b, "guest_cid"));
    return vm_config_set_vsock(t->cfg, (uint64_t)cid, get_string(b, "uds_path"), err, err_len);
}

/* path_id: the id in the request's path, NULL from a config file. */
static int apply_drive(struct api_target *t, const json_t *b, const char *path_id, char *err,
                       size_t err_len)
{
    static const struct field fields[] = {
        {"drive_id", F_STRING, true},      {"is_root_device", F_BOOL, true},
        {"path_on_host", F_STRING, false}, {"is_read_only", F_BOOL, false},
        {"partuuid", F_STRING, false},     {"cache_type", F_STRING, false},
        {"io_engine", F_STRING, false},    {"rate_limiter", F_ANY, false},
        {"socket", F_STRING, false},
    };
    if (check_fields(b, fields, sizeof(fields) / sizeof(fields[0]), err, err_len) ||
        (path_id && check_path_id(path_id, b, "drive_id", err, err_len)))
        return -1;
    struct vm_disk d = {0};
    const char *id = get_string(b, "drive_id");
    if (check_id(id, "drive ID", err, err_len))
        return -1;
    snprintf(d.id, sizeof(d.id), "%s", id);
    if (has(b, "socket"))
        return set_err(err, err_len, "vhost-user block devices (socket) are not supported.");
    const char *path = get_string(b, "path_on_host");
    if (!path)
        return set_err(err, err_len, DESERIALIZE "missing field `path_on_host`.");
    if (vm_config_copy_string(d.path, sizeof(d.path), path, "path_on_host", err, err_len) ||
        check_file(d.path, "block device backing", true, err, err_len))
        return -1;
    d.root = get_bool(b, "is_root_device", false);
    d.readonly = get_bool(b, "is_read_only", false);
    const char *partuuid = get_string(b, "partuuid");
    if (partuuid &&
        vm_config_copy_string(d.partuuid, sizeof(d.partuuid), partuuid, "partuuid", err, err_len))
        return -1;
    const char *cache = get_string(b, "cache_type");
    if (cache && strcmp(cache, "Unsafe") && strcmp(cache, "Writeback"))
        return set_err(err, err_len, "cache_type must be Unsafe or Writeback, not '%.32s'.", cache);
    const char *engine = get_string(b, "io_engine");
    if (engine && strcmp(engine, "Sync") && strcmp(engine, "Async"))
        return set_err(err, err_len, "io_engine must be Sync or Async, not '%.32s'.", engine);
    snprintf(d.cache_type, sizeof(d.cache_type), "%s", cache ? cache : "Unsafe");
    snprintf(d.io_engine, sizeof(d.io_engine), "%s", engine ? engine : "Sync");
    return vm_config_put_disk(t->cfg, &d, err, err_len);
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
        return (c | 0x20) - 'a' + 10;
    return -1;
}

/* Exactly "xx:xx:xx:xx:xx:xx" in hex, unicast. */
static int parse_mac(const char *text, uint8_t mac[6])
{
    if (strlen(text) != 17)
        return -1;
    for (int i = 0; i < 6; i++) {
        int hi = hex_digit(text[3 * i]), lo = hex_digit(text[3 * i + 1]);
        if (hi < 0 || lo < 0 || (i < 5 && text[3 * i + 2] != ':'))
            return -1;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    return mac[0] & 1 ? -1 : 0; /* a multicast address cannot be a NIC's */
}

static bool mac_taken(const struct vm_config *cfg, const uint8_t mac[6], unsigned except)
{
    for (unsigned i = 0; i < cfg->nnics; i++)
        if (i != except && !memcmp(cfg->nics[i].mac, mac, 6))
            return true;
    return false;
}

static int apply_nic(struct api_target *t, const json_t *b, const char *path_id, char *err,
                     size_t err_len)
{
    static const struct field fields[] = {
        {"iface_id", F_STRING, true},      {"host_dev_name", F_STRING, true},
        {"guest_mac", F_STRING, false},    {"mtu", F_UINT, false},
        {"rx_rate_limiter", F_ANY, false}, {"tx_rate_limiter", F_ANY, false},
    };
    if (check_fields(b, fields, sizeof(fields) / sizeof(fields[0]), err, err_len) ||
        (path_id && check_path_id(path_id, b, "iface_id", err, err_len)))
        return -1;
    struct vm_config *cfg = t->cfg;
    struct vm_nic n = {0};
    const char *id = get_string(b, "iface_id");
    if (check_id(id, "network interface ID", err, err_len))
        return -1;
    snprintf(n.id, sizeof(n.id), "%s", id);
    const char *dev = get_string(b, "host_dev_name");
    if (!strcmp(dev, "user")) {
        n.kind = VM_NET_USER; /* duvisor's extension: user-mode networking, no TAP */
    } else {
        size_t len = strlen(dev);
        if (len == 0 || len >= 16 || strchr(dev, '/'))
            return set_err(err, err_len,
                           "host_dev_name must be a TAP interface name of 1 to 15 characters, "
                           "or \"user\" for user-mode networking.");
        n.kind = VM_NET_TAP;
        memcpy(n.options, dev, len + 1);
    }
    if (has(b, "mtu")) {
        json_int_t mtu = json_integer_value(json_object_get(b, "mtu"));
        if (mtu < 68 || mtu > 65535)
            return set_err(err, err_len, "mtu must be 68 to 65535.");
        n.mtu = (unsigned)mtu;
    }
    const struct vm_nic *old = vm_config_find_nic(cfg, n.id);
    unsigned index = old ? (unsigned)(old - cfg->nics) : cfg->nnics;
    const char *mac = get_string(b, "guest_mac");
    if (mac && parse_mac(mac, n.mac))
        return set_err(err, err_len, "guest_mac '%.32s' is not a unicast MAC address.", mac);
    if (mac && mac_taken(cfg, n.mac, index))
        return set_err(err, err_len, "The MAC address is already in use: %s", mac);
    /* A default nobody uses: the slot's, or the next free one. */
    for (unsigned k = index; !mac && k < index + 256; k++) {
        vm_config_default_mac(cfg, k % 256, n.mac);
        if (!mac_taken(cfg, n.mac, index))
            break;
    }
    n.mac_set = mac != NULL;
    for (unsigned i = 0; i < cfg->nnics; i++)
        if (i != index && n.kind == VM_NET_TAP && cfg->nics[i].kind == VM_NET_TAP &&
            !strcmp(cfg->nics[i].options, n.options))
            return set_err(err, err_len, "The host device name %s is already in use.", dev);
    return vm_config_put_nic(cfg, &n, err, err_len);
}

static int parse_level(const char *text, enum api_log_level *out)
{
    static const char *const names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (!strcasecmp(text, names[i])) {
            *out = (enum api_log_level)i;
            return 0;
        }
    }
    if (!strcasecmp(text, "Warn")) {
        *out = API_LOG_WARNING;
        return 0;
    }
    return -1;
}

static const char *level_name(enum api_log_level level)
{
    static const char *const names[] = {"Off", "Error", "Warning", "Info", "Debug", "Trace"};
    return names[level];
}

static int apply_logger(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {
        {"log_path", F_STRING, false}, {"level", F_STRING, false},
        {"show_level", F_BOOL, false}, {"show_log_origin", F_BOOL, false},
        {"module", F_STRING, false},
    };
    if (check_fields(b, fields, sizeof(fields) / sizeof(fields[0]), err, err_len))
        return -1;
    struct api_logger l = {.set = true, .level = API_LOG_INFO};
    const char *path = get_string(b, "log_path");
    if (path &&
        vm_config_copy_string(l.log_path, sizeof(l.log_path), path, "log_path", err, err_len))
        return -1;
    const char *level = get_string(b, "level");
    if (level && parse_level(level, &l.level))
        return set_err(err, err_len,
                       "Invalid log level '%.32s': use Error, Warning, Info, Debug, Trace or Off.",
                       level);
    l.show_level = get_bool(b, "show_level", false);
    l.show_log_origin = get_bool(b, "show_log_origin", false);
    const char *module = get_string(b, "module");
    if (module && vm_config_copy_string(l.module, sizeof(l.module), module, "module", err, err_len))
        return -1;
    if (t->ops->set_logger && t->ops->set_logger(t->opaque, &l, err, err_len))
        return -1;
    t->logger = l;
    return 0;
}

static int apply_metrics(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"metrics_path", F_STRING, true}};
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    if (t->metrics.set)
        return set_err(err, err_len, "Reinitialization of metrics not allowed.");
    struct api_metrics m = {.set = true};
    if (vm_config_copy_string(m.metrics_path, sizeof(m.metrics_path), get_string(b, "metrics_path"),
                              "metrics_path", err, err_len))
        return -1;
    if (t->ops->set_metrics && t->ops->set_metrics(t->opaque, &m, err, err_len))
        return -1;
    t->metrics = m;
    return 0;
}

static int apply_entropy(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"rate_limiter", F_ANY, false}};
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    t->entropy_set = true; /* the entropy device is always present */
    return 0;
}

/* --- the balloon ------------------------------------------------------------------------- */

#define NO_BALLOON           "No balloon device configured."
/* Firecracker's limit on the polling period (a u16 of seconds). */
#define BALLOON_MAX_INTERVAL 65535

static int balloon_amount(const struct api_target *t, const json_t *b, uint32_t *mib, char *err,
                          size_t err_len)
{
    json_int_t v = json_integer_value(json_object_get(b, "amount_mib"));
    if ((uint64_t)v > t->cfg->memory_bytes >> 20)
        return set_err(
            err, err_len,
            "The balloon's amount_mib (%lld) is more than the guest's memory (%llu MiB).",
            (long long)v, (unsigned long long)(t->cfg->memory_bytes >> 20));
    *mib = (uint32_t)v;
    return 0;
}

static int balloon_interval(const json_t *b, unsigned *seconds, char *err, size_t err_len)
{
    json_int_t v = json_integer_value(json_object_get(b, "stats_polling_interval_s"));
    if (v > BALLOON_MAX_INTERVAL)
        return set_err(err, err_len, "stats_polling_interval_s must be at most %u seconds.",
                       BALLOON_MAX_INTERVAL);
    *seconds = (unsigned)v;
    return 0;
}

/* PUT /balloon, and the config file's "balloon". */
static int apply_balloon(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {
        {"amount_mib", F_UINT, true},
        {"deflate_on_oom", F_BOOL, true},
        {"stats_polling_interval_s", F_UINT, false},
        {"free_page_reporting", F_BOOL, false},
        {"free_page_hinting", F_BOOL, false},
    };
    if (check_fields(b, fields, sizeof(fields) / sizeof(fields[0]), err, err_len))
        return -1;
    struct vm_balloon bc = {.enabled = true};
    if (balloon_amount(t, b, &bc.amount_mib, err, err_len) ||
        balloon_interval(b, &bc.stats_interval_s, err, err_len))
        return -1;
    if (get_bool(b, "free_page_hinting", false))
        return set_err(err, err_len,
                       "Free page hinting is not supported: use free_page_reporting.");
    bc.deflate_on_oom = get_bool(b, "deflate_on_oom", false);
    bc.free_page_reporting = get_bool(b, "free_page_reporting", false);
    t->cfg->balloon = bc;
    return 0;
}

/* PATCH /balloon: the target, before boot or of the running balloon. */
static int patch_balloon(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"amount_mib", F_UINT, true}};
    uint32_t mib = 0;
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    if (!t->cfg->balloon.enabled)
        return set_err(err, err_len, NO_BALLOON);
    if (balloon_amount(t, b, &mib, err, err_len))
        return -1;
    if (t->state != API_NOT_STARTED &&
        (!t->ops->balloon_set_target || t->ops->balloon_set_target(t->opaque, mib, err, err_len)))
        return t->ops->balloon_set_target ? -1 : set_err(err, err_len, NO_BALLOON);
    t->cfg->balloon.amount_mib = mib;
    return 0;
}

/* PATCH /balloon/statistics: the polling period; after boot statistics can
   be neither turned on nor off (the queue exists or not), as in Firecracker. */
static int patch_balloon_stats(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"stats_polling_interval_s", F_UINT, true}};
    unsigned seconds = 0;
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    if (!t->cfg->balloon.enabled)
        return set_err(err, err_len, NO_BALLOON);
    if (balloon_interval(b, &seconds, err, err_len))
        return -1;
    if (t->state != API_NOT_STARTED) {
        if (!t->cfg->balloon.stats_interval_s)
            return set_err(err, err_len,
                           "Statistics for the balloon device are not enabled: they can only be "
                           "enabled before boot.");
        if (!seconds)
            return set_err(err, err_len,
                           "Statistics for the balloon device cannot be disabled after boot.");
        if (!t->ops->balloon_set_interval ||
            t->ops->balloon_set_interval(t->opaque, seconds, err, err_len))
            return t->ops->balloon_set_interval ? -1 : set_err(err, err_len, NO_BALLOON);
    }
    t->cfg->balloon.stats_interval_s = seconds;
    return 0;
}

static json_t *balloon_json(const struct vm_balloon *bc)
{
    return json_pack("{s:I, s:b, s:I, s:b}", "amount_mib", (json_int_t)bc->amount_mib,
                     "deflate_on_oom", (int)bc->deflate_on_oom, "stats_polling_interval_s",
                     (json_int_t)bc->stats_interval_s, "free_page_reporting",
                     (int)bc->free_page_reporting);
}

static json_t *balloon_stats_json(const struct api_balloon_stats *s)
{
    /* Firecracker's names, in the virtio tags' order; a value the guest did
       not send is left out, as Firecracker leaves it out. */
    static const char *const names[API_BALLOON_GUEST_STATS] = {
        "swap_in",          "swap_out",    "major_faults",
        "minor_faults",     "free_memory", "total_memory",
        "available_memory", "disk_caches", "hugetlb_allocations",
        "hugetlb_failures",
    };
    const unsigned per_mib = 1u << (20 - 12);
    json_t *j = json_pack("{s:I, s:I, s:I, s:I}", "target_pages", (json_int_t)s->target_pages,
                          "actual_pages", (json_int_t)s->actual_pages, "target_mib",
                          (json_int_t)(s->target_pages / per_mib), "actual_mib",
                          (json_int_t)(s->actual_pages / per_mib));
    for (unsigned i = 0; j && i < API_BALLOON_GUEST_STATS; i++)
        if (s->guest_valid & (1u << i))
            json_object_set_new(j, names[i], json_integer((json_int_t)s->guest[i]));
    return j;
}

/* GET /balloon and /balloon/statistics: true when path is one of them (resp set). */
static bool get_balloon(const struct api_target *t, const char *path, struct api_response *resp)
{
    bool stats = !strcmp(path, "/balloon/statistics");
    if (!stats && strcmp(path, "/balloon"))
        return false;
    const struct vm_balloon *bc = &t->cfg->balloon;
    struct api_balloon_stats s = {0};
    char err[FAULT_MAX];
    if (!bc->enabled)
        api_fault(resp, 400, NO_BALLOON);
    else if (!stats)
        reply_json(resp, 200, balloon_json(bc));
    else if (!bc->stats_interval_s)
        api_fault(resp, 400, "Statistics for the balloon device are not enabled.");
    else if (t->state == API_NOT_STARTED)
        api_fault(resp, 400, BEFORE_START);
    else if (!t->ops->balloon_stats)
        api_fault(resp, 400, NO_BALLOON);
    else if (t->ops->balloon_stats(t->opaque, &s, err, sizeof(err)))
        api_fault(resp, 400, "%s", err);
    else
        reply_json(resp, 200, balloon_stats_json(&s));
    return true;
}

/* --- actions ---------------------------------------------------------------------------- */

static int do_action(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"action_type", F_STRING, true}};
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    const char *action = get_string(b, "action_type");
    if (!strcmp(action, "InstanceStart")) {
        if (t->state != API_NOT_STARTED)
            return set_err(err, err_len, AFTER_START);
        if (!t->cfg->kernel_path[0])
            return set_err(err, err_len, "Cannot start microvm without kernel configuration.");
        if (t->ops->start(t->opaque, err, err_len))
            return -1;
        t->state = API_RUNNING;
        return 0;
    }
    if (!strcmp(action, "SendCtrlAltDel")) {
        if (t->state == API_NOT_STARTED)
            return set_err(err, err_len, BEFORE_START);
        return t->ops->ctrl_alt_del(t->opaque, err, err_len);
    }
    if (!strcmp(action, "FlushMetrics")) {
        if (t->state == API_NOT_STARTED)
            return set_err(err, err_len, BEFORE_START);
        return t->metrics.set ? t->ops->flush_metrics(t->opaque, err, err_len) : 0;
    }
    return set_err(err, err_len,
                   DESERIALIZE "unknown variant `%.64s`, expected one of `FlushMetrics`, "
                               "`InstanceStart`, `SendCtrlAltDel`.",
                   action);
}

static int patch_vm(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"state", F_STRING, true}};
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    const char *state = get_string(b, "state");
    bool pause = !strcmp(state, "Paused");
    if (!pause && strcmp(state, "Resumed"))
        return set_err(err, err_len,
                       DESERIALIZE "unknown variant `%.64s`, expected `Paused` or `Resumed`.",
                       state);
    if (t->state == API_NOT_STARTED)
        return set_err(err, err_len, BEFORE_START);
    if (pause && t->state == API_RUNNING) {
        if (t->ops->pause(t->opaque, err, err_len))
            return -1;
        t->state = API_PAUSED;
    } else if (!pause && t->state == API_PAUSED) {
        if (t->ops->resume(t->opaque, err, err_len))
            return -1;
        t->state = API_RUNNING;
    }
    return 0;
}

static int snapshot_create(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"snapshot_path", F_STRING, true},
                                          {"mem_file_path", F_STRING, true},
                                          {"snapshot_type", F_STRING, false},
                                          {"version", F_STRING, false}};
    if (check_fields(b, fields, 4, err, err_len))
        return -1;
    const char *type = get_string(b, "snapshot_type");
    if (type && strcmp(type, "Full") && strcmp(type, "Diff"))
        return set_err(err, err_len,
                       DESERIALIZE "unknown variant `%.64s`, expected `Full` or `Diff`.", type);
    if (t->state != API_PAUSED)
        return set_err(err, err_len,
                       t->state == API_NOT_STARTED
                           ? BEFORE_START
                           : "Cannot create a snapshot of a running microVM: pause "
                             "it first (PATCH /vm).");
    const struct api_snapshot_create req = {get_string(b, "snapshot_path"),
                                            get_string(b, "mem_file_path"),
                                            type && !strcmp(type, "Diff")};
    if (!req.snapshot_path[0] || !req.mem_file_path[0])
        return set_err(err, err_len, "The snapshot and memory file paths must not be empty.");
    if (!t->ops->snapshot_create)
        return set_err(err, err_len, "Snapshots are not supported by this VMM.");
    return t->ops->snapshot_create(t->opaque, &req, err, err_len);
}

static int parse_overrides(const json_t *list, struct api_snapshot_load *req, char *err,
                           size_t err_len)
{
    static const struct field fields[] = {{"iface_id", F_STRING, true},
                                          {"host_dev_name", F_STRING, true}};
    if (!json_is_array(list))
        return set_err(err, err_len, DESERIALIZE "field `network_overrides` must be a list.");
    if (json_array_size(list) > VM_MAX_NICS)
        return set_err(err, err_len, "At most %u network overrides.", VM_MAX_NICS);
    size_t i;
    const json_t *o;
    json_array_foreach(list, i, o)
    {
        if (check_fields(o, fields, 2, err, err_len))
            return -1;
        req->overrides[req->noverrides++] =
            (struct api_net_override){get_string(o, "iface_id"), get_string(o, "host_dev_name")};
    }
    return 0;
}

static int snapshot_load(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {
        {"snapshot_path", F_STRING, true},    {"mem_backend", F_ANY, false},
        {"mem_file_path", F_STRING, false},   {"enable_diff_snapshots", F_BOOL, false},
        {"track_dirty_pages", F_BOOL, false}, {"resume_vm", F_BOOL, false},
        {"network_overrides", F_ANY, false},  {"clock_realtime", F_BOOL, false},
    };
    static const struct field backend_fields[] = {{"backend_type", F_STRING, true},
                                                  {"backend_path", F_STRING, true}};
    if (check_fields(b, fields, sizeof(fields) / sizeof(fields[0]), err, err_len))
        return -1;
    struct api_snapshot_load req = {.snapshot_path = get_string(b, "snapshot_path"),
                                    .resume_vm = get_bool(b, "resume_vm", false)};
    const json_t *backend = json_object_get(b, "mem_backend");
    if (has(b, "mem_backend") == has(b, "mem_file_path"))
        return set_err(err, err_len, "Exactly one of mem_backend and mem_file_path is required.");
    if (has(b, "mem_backend")) {
        if (check_fields(backend, backend_fields, 2, err, err_len))
            return -1;
        const char *type = get_string(backend, "backend_type");
        if (!strcmp(type, "Uffd"))
            return set_err(err, err_len, "The Uffd memory backend is not supported: use File.");
        if (strcmp(type, "File"))
            return set_err(err, err_len,
                           DESERIALIZE "unknown variant `%.64s`, expected `File` or `Uffd`.", type);
        req.mem_file_path = get_string(backend, "backend_path");
    } else {
        req.mem_file_path = get_string(b, "mem_file_path");
    }
    if (get_bool(b, "clock_realtime", false))
        return set_err(err, err_len,
                       "clock_realtime is not supported: guest time continues "
                       "from the snapshot instant.");
    if (has(b, "network_overrides") &&
        parse_overrides(json_object_get(b, "network_overrides"), &req, err, err_len))
        return -1;
    if (t->state != API_NOT_STARTED)
        return set_err(err, err_len,
                       "Loading a microVM snapshot not allowed after starting the "
                       "microVM.");
    if (t->configured)
        return set_err(err, err_len,
                       "Loading a microVM snapshot not allowed after configuring "
                       "boot-specific resources.");
    if (!req.snapshot_path[0] || !req.mem_file_path[0])
        return set_err(err, err_len, "The snapshot and memory file paths must not be empty.");
    if (!t->ops->snapshot_load)
        return set_err(err, err_len, "Snapshots are not supported by this VMM.");
    if (t->ops->snapshot_load(t->opaque, &req, err, err_len))
        return -1;
    t->state = req.resume_vm ? API_RUNNING : API_PAUSED;
    return 0;
}

static int upgrade(struct api_target *t, const json_t *b, char *err, size_t err_len)
{
    static const struct field fields[] = {{"binary", F_STRING, false}};
    if (check_fields(b, fields, 1, err, err_len))
        return -1;
    if (t->state == API_NOT_STARTED)
        return set_err(err, err_len, BEFORE_START);
    if (!t->ops->upgrade)
        return set_err(err, err_len, "Live upgrade is not supported by this VMM.");
    return t->ops->upgrade(t->opaque, get_string(b, "binary"), err, err_len);
}

static int patch_drive(struct api_target *t, const char *id, const json_t *b, char *err,
                       size_t err_len)
{
    static const struct field fields[] = {
        {"drive_id", F_STRING, true},
        {"path_on_host", F_STRING, false},
        {"rate_limiter", F_ANY, false},
    };
    if (check_fields(b, fields, 3, err, err_len) || check_path_id(id, b, "drive_id", err, err_len))
        return -1;
    if (t->state == API_NOT_STARTED)
        return set_err(err, err_len, BEFORE_START);
    struct vm_disk *d = vm_config_find_disk(t->cfg, id);
    if (!d)
        return set_err(err, err_len, "Invalid block device ID: %s.", id);
    const char *path = get_string(b, "path_on_host");
    if (!path)
        return 0; /* only a rate limiter, which duvisor does not apply */
    char p[VM_PATH_MAX] = "";
    if (vm_config_copy_string(p, sizeof(p), path, "path_on_host", err, err_len) ||
        check_file(p, "block device backing", true, err, err_len) ||
        t->ops->update_drive(t->opaque, id, p, err, err_len))
        return -1;
    memcpy(d->path, p, sizeof(p));
    return 0;
}

static int patch_nic(struct api_target *t, const char *id, const json_t *b, char *err,
                     size_t err_len)
{
    static const struct field fields[] = {
        {"iface_id", F_STRING, true},
        {"rx_rate_limiter", F_ANY, false},
        {"tx_rate_limiter", F_ANY, false},
    };
    if (check_fields(b, fields, 3, err, err_len) || check_path_id(id, b, "iface_id", err, err_len))
        return -1;
    if (t->state == API_NOT_STARTED)
        return set_err(err, err_len, BEFORE_START);
    if (!vm_config_find_nic(t->cfg, id))
        return set_err(err, err_len, "Invalid network interface ID: %s.", id);
    return 0; /* rate limiters are accepted and not applied */
}

/* --- GET bodies ------------------------------------------------------------------------- */

static const char *state_name(enum api_state s)
{
    switch (s) {
    case API_RUNNING: return "Running";
    case API_PAUSED: return "Paused";
    default: return "Not started";
    }
}

static json_t *machine_config_json(const struct vm_config *cfg)
{
    return json_pack("{s:I, s:I, s:b, s:b, s:s}", "vcpu_count", (json_int_t)cfg->smp,
                     "mem_size_mib", (json_int_t)(cfg->memory_bytes >> 20), "smt", 0,
                     "track_dirty_pages", (int)cfg->track_dirty_pages, "huge_pages", "None");
}

static json_t *nullable_string(const char *s)
{
    return s && *s ? json_string(s) : json_null();
}

static json_t *config_json(const struct api_target *t)
{
    const struct vm_config *cfg = t->cfg;
    json_t *drives = json_array(), *nics = json_array();
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        const struct vm_disk *d = &cfg->disks[i];
        json_array_append_new(drives,
                              json_pack("{s:s, s:o, s:b, s:s, s:b, s:s, s:n, s:s, s:n}", "drive_id",
                                        d->id, "partuuid", nullable_string(d->partuuid),
                                        "is_root_device", (int)d->root, "cache_type", "Unsafe",
                                        "is_read_only", (int)d->readonly, "path_on_host", d->path,
                                        "rate_limiter", "io_engine", "Sync", "socket"));
    }
    for (unsigned i = 0; i < cfg->nnics; i++) {
        const struct vm_nic *n = &cfg->nics[i];
        char mac[18];
        snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1], n->mac[2],
                 n->mac[3], n->mac[4], n->mac[5]);
        json_array_append_new(
            nics, json_pack("{s:s, s:s, s:s, s:n, s:n}", "iface_id", n->id, "host_dev_name",
                            n->kind == VM_NET_USER ? "user" : n->options, "guest_mac", mac,
                            "rx_rate_limiter", "tx_rate_limiter"));
    }
    json_t *boot =
        cfg->kernel_path[0]
            ? json_pack("{s:s, s:o, s:s}", "kernel_image_path", cfg->kernel_path, "initrd_path",
                        nullable_string(cfg->initrd_path), "boot_args", cfg->append)
            : json_null();
    json_t *logger =
        t->logger.set
            ? json_pack("{s:o, s:s, s:b, s:b, s:o}", "log_path",
                        nullable_string(t->logger.log_path), "level", level_name(t->logger.level),
                        "show_level", (int)t->logger.show_level, "show_log_origin",
                        (int)t->logger.show_log_origin, "module", nullable_string(t->logger.module))
            : json_null();
    json_t *metrics =
        t->metrics.set ? json_pack("{s:s}", "metrics_path", t->metrics.metrics_path) : json_null();
    json_t *entropy = t->entropy_set ? json_pack("{s:n}", "rate_limiter") : json_null();
    json_t *vsock = cfg->vsock_cid
                        ? json_pack("{s:s, s:I, s:s}", "vsock_id", "vsock0", "guest_cid",
                                    (json_int_t)cfg->vsock_cid, "uds_path", cfg->vsock_uds)
                        : json_null();
    json_t *balloon = cfg->balloon.enabled ? balloon_json(&cfg->balloon) : json_null();
    return json_pack("{s:o, s:o, s:o, s:n, s:o, s:o, s:o, s:n, s:o, s:o, s:o}", "balloon", balloon,
                     "drives", drives, "boot-source", boot, "cpu-config", "logger", logger,
                     "machine-config", machine_config_json(cfg), "metrics", metrics, "mmds-config",
                     "network-interfaces", nics, "vsock", vsock, "entropy", entropy);
}

char *api_render_config(const struct api_target *t)
{
    json_t *j = config_json(t);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    return text;
}

/* --- routing ---------------------------------------------------------------------------- */

/* "/drives/ID" -> "ID" when path starts with prefix and the rest has no '/'. */
static const char *path_param(const char *path, const char *prefix)
{
    size_t len = strlen(prefix);
    if (strncmp(path, prefix, len) || !path[len] || strchr(path + len, '/'))
        return NULL;
    return path + len;
}

/* Requests that change the configuration are refused once the VM runs. */
static int pre_boot(const struct api_target *t, char *err, size_t err_len)
{
    return t->state == API_NOT_STARTED ? 0 : set_err(err, err_len, AFTER_START);
}

/* A boot resource was configured (rc 0): from now on no snapshot may be loaded. */
static int boot_resource(struct api_target *t, int rc)
{
    if (rc == 0)
        t->configured = true;
    return rc;
}

/* A PUT or PATCH with a body: route it. 0 done, -1 refused (err), 1 no such route. */
static int route_body(struct api_target *t, const char *method, const char *path, const json_t *b,
                      char *err, size_t err_len)
{
    bool put = !strcmp(method, "PUT"), patch = !strcmp(method, "PATCH");
    const char *id;
    if (!strcmp(path, "/machine-config") && (put || patch))
        return boot_resource(
            t, (pre_boot(t, err, err_len) || apply_machine_config(t, b, patch, err, err_len)) ? -1
                                                                                              : 0);
    if (put && !strcmp(path, "/boot-source"))
        return boot_resource(
            t, (pre_boot(t, err, err_len) || apply_boot_source(t, b, err, err_len)) ? -1 : 0);
    if ((id = path_param(path, "/drives/")) && put)
        return boot_resource(t, (check_id(id, "drive ID", err, err_len) ||
                                 pre_boot(t, err, err_len) || apply_drive(t, b, id, err, err_len))
                                    ? -1
                                    : 0);
    if ((id = path_param(path, "/drives/")) && patch)
        return (check_id(id, "drive ID", err, err_len) || patch_drive(t, id, b, err, err_len)) ? -1
                                                                                               : 0;
    if ((id = path_param(path, "/network-interfaces/")) && put)
        return boot_resource(t, (check_id(id, "network interface ID", err, err_len) ||
                                 pre_boot(t, err, err_len) || apply_nic(t, b, id, err, err_len))
                                    ? -1
                                    : 0);
    if ((id = path_param(path, "/network-interfaces/")) && patch)
        return (check_id(id, "network interface ID", err, err_len) ||
                patch_nic(t, id, b, err, err_len))
                   ? -1
                   : 0;
    if (put && !strcmp(path, "/actions"))
        return do_action(t, b, err, err_len);
    if (patch && !strcmp(path, "/vm"))
        return patch_vm(t, b, err, err_len);
    if (put && !strcmp(path, "/logger"))
        return (pre_boot(t, err, err_len) || apply_logger(t, b, err, err_len)) ? -1 : 0;
    if (put && !strcmp(path, "/metrics"))
        return (pre_boot(t, err, err_len) || apply_metrics(t, b, err, err_len)) ? -1 : 0;
    if (put && !strcmp(path, "/entropy"))
        return (pre_boot(t, err, err_len) || apply_entropy(t, b, err, err_len)) ? -1 : 0;
    if (put && !strcmp(path, "/vsock"))
        return boot_resource(t, (pre_boot(t, err, err_len) || apply_vsock(t, b, err, err_len)) ? -1
                                                                                               : 0);
    if (put && !strcmp(path, "/balloon"))
        return boot_resource(
            t, (pre_boot(t, err, err_len) || apply_balloon(t, b, err, err_len)) ? -1 : 0);
    if (patch && !strcmp(path, "/balloon"))
        return patch_balloon(t, b, err, err_len);
    if (patch && !strcmp(path, "/balloon/statistics"))
        return patch_balloon_stats(t, b, err, err_len);
    if (put && !strcmp(path, "/snapshot/create"))
        return snapshot_create(t, b, err, err_len);
    if (put && !strcmp(path, "/snapshot/load"))
        return snapshot_load(t, b, err, err_len);
    if (put && !strcmp(path, "/upgrade"))
        return upgrade(t, b, err, err_len);
    return 1;
}

static json_t *route_get(const struct api_target *t, const char *path)
{
    if (!strcmp(path, "/"))
        return json_pack("{s:s, s:s, s:s, s:s}", "id", t->id ? t->id : "anonymous-instance",
                         "state", state_name(t->state), "vmm_version",
                         t->vmm_version ? t->vmm_version : "unknown", "app_name", "duvisor");
    if (!strcmp(path, "/version"))
        return json_pack("{s:s, s:s}", "firecracker_version", API_FIRECRACKER_VERSION,
                         "duvisor_version", t->vmm_version ? t->vmm_version : "unknown");
    if (!strcmp(path, "/machine-config"))
        return machine_config_json(t->cfg);
    if (!strcmp(path, "/vm/config"))
        return config_json(t);
    return NULL;
}

static bool known_method(const char *m)
{
    return !strcmp(m, "GET") || !strcmp(m, "PUT") || !strcmp(m, "PATCH");
}

void api_handle(struct api_target *t, const char *method, const char *path, const char *body,
                size_t len, struct api_response *resp)
{
    resp->status = 0;
    resp->body = NULL;
    t->requests++;
    bool is_get = !strcmp(method, "GET");
    if (is_get && len == 0) {
        if (get_balloon(t, path, resp)) {
            if (resp->status != 200)
                t->bad_requests++;
            return;
        }
        json_t *j = route_get(t, path);
        if (j) {
            reply_json(resp, 200, j);
            return;
        }
    }
    char err[FAULT_MAX] = "";
    int rc = 1;
    if (!known_method(method)) {
        rc = 1;
    } else if (is_get) {
        rc = len ? set_err(err, sizeof(err), "GET request cannot have a body.") : 1;
    } else if (len == 0) {
        rc = set_err(err, sizeof(err), "Empty %s request.", method);
    } else if (len > API_MAX_PAYLOAD) {
        t->bad_requests++;
        api_fault(resp, 413,
                  "Request payload with size %zu is larger than the limit of %u allowed by "
                  "server.",
                  len, API_MAX_PAYLOAD);
        return;
    } else {
        json_error_t jerr;
        json_t *b = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
        if (!b) {
            rc = set_err(err, sizeof(err), DESERIALIZE "%s at line %d column %d.", jerr.text,
                         jerr.line, jerr.column);
        } else {
            rc = route_body(t, method, path, b, err, sizeof(err));
            json_decref(b);
        }
    }
    if (rc == 0) {
        resp->status = 204;
        return;
    }
    t->bad_requests++;
    if (rc == 1)
        api_fault(resp, 400, "Invalid request method and/or path: %.16s %.256s.", method, path);
    else
        api_fault(resp, 400, "%s", err);
}

/* --- config file ------------------------------------------------------------------------ */

int api_load_config(struct api_target *t, const char *json, size_t len, char *err, size_t err_len)
{
    json_error_t jerr;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root)
        return set_err(err, err_len, "invalid JSON: %s at line %d column %d", jerr.text, jerr.line,
                       jerr.column);
    static const struct field sections[] = {
        {"boot-source", F_ANY, false},    {"drives", F_ANY, false},
        {"machine-config", F_ANY, false}, {"network-interfaces", F_ANY, false},
        {"logger", F_ANY, false},         {"metrics", F_ANY, false},
        {"entropy", F_ANY, false},        {"balloon", F_ANY, false},
        {"vsock", F_ANY, false},          {"mmds-config", F_ANY, false},
        {"cpu-config", F_ANY, false},
    };
    int rc = check_fields(root, sections, sizeof(sections) / sizeof(sections[0]), err, err_len);
    static const char *const unsupported[] = {"mmds-config", "cpu-config"};
    for (unsigned i = 0; rc == 0 && i < sizeof(unsupported) / sizeof(unsupported[0]); i++)
        if (has(root, unsupported[i]))
            rc = set_err(err, err_len, "%s: not supported by this duvisor", unsupported[i]);
    /* The order Firecracker applies them in: logging first, so it sees the rest. */
    const json_t *s;
    if (rc == 0 && has(root, "logger"))
        rc = apply_logger(t, json_object_get(root, "logger"), err, err_len);
    if (rc == 0 && has(root, "metrics"))
        rc = apply_metrics(t, json_object_get(root, "metrics"), err, err_len);
    if (rc == 0 && has(root, "machine-config"))
        rc = apply_machine_config(t, json_object_get(root, "machine-config"), false, err, err_len);
    if (rc == 0 && has(root, "boot-source"))
        rc = apply_boot_source(t, json_object_get(root, "boot-source"), err, err_len);
    if (rc == 0 && (s = json_object_get(root, "drives")) && !json_is_null(s)) {
        if (!json_is_array(s))
            rc = set_err(err, err_len, "drives: expected an array");
        for (size_t i = 0; rc == 0 && i < json_array_size(s); i++)
            rc = apply_drive(t, json_array_get(s, i), NULL, err, err_len);
    }
    if (rc == 0 && (s = json_object_get(root, "network-interfaces")) && !json_is_null(s)) {
        if (!json_is_array(s))
            rc = set_err(err, err_len, "network-interfaces: expected an array");
        for (size_t i = 0; rc == 0 && i < json_array_size(s); i++)
            rc = apply_nic(t, json_array_get(s, i), NULL, err, err_len);
    }
    if (rc == 0 && has(root, "entropy"))
        rc = apply_entropy(t, json_object_get(root, "entropy"), err, err_len);
    if (rc == 0 && has(root, "vsock"))
        rc = apply_vsock(t, json_object_get(root, "vsock"), err, err_len);
    if (rc == 0 && has(root, "balloon"))
        rc = apply_balloon(t, json_object_get(root, "balloon"), err, err_len);
    json_decref(root);
    return rc ? -1 : 0;
}
