/*
 * The control API (api/api.h): Firecracker's REST requests as its tools send
 * them, through the router and state machine, against a fake VMM that records
 * what it is asked to do and can be told to fail. Kernel, initrd and drive
 * paths are real files in a temporary directory, as the router checks them.
 *
 * Request bodies are written with ' for " (the helpers swap them) so that the
 * JSON stays readable; replies are parsed with jansson and compared whole.
 * Every refusal is checked to be exactly {"fault_message": "..."} and to
 * leave the configuration, the logger, the metrics and the state as they were.
 *
 * The last group, "api_fixed_bugs", holds the regressions for where routes.c
 * once differed from Firecracker or broke its own contract (see the comment
 * on each test).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api.h"
#include "vmm/config.h"

#define DESER      "An error occurred when deserializing the json body of a request: "
#define AFTER      "The requested operation is not supported after starting the microVM."
#define BEFORE     "The requested operation is not supported before starting the microVM."
#define BAD_ID     "it must be 1 to 63 characters of A-Z, a-z, 0-9 and _."
#define ENOENT_MSG "No such file or directory (os error 2)"

/* --- the fake VMM ------------------------------------------------------------------------ */

struct fake {
    /* one letter per call, in order: S start, P pause, R resume, C ctrl-alt-del,
       F flush metrics, U update drive, L set logger, M set metrics,
       W snapshot create (write), O snapshot load, G upgrade, T balloon target,
       B balloon statistics, I balloon statistics interval */
    char calls[256];
    const char *fail_op; /* the op that fails ("start", ...), or NULL */
    const char *fail_msg;
    char update_id[VM_ID_MAX];
    char update_path[VM_PATH_MAX];
    struct api_logger logger;
    struct api_metrics metrics;
    /* the last snapshot_create's and snapshot_load's requests (the strings
       copied: the request's point into a body freed afterwards) */
    char snapshot_path[VM_PATH_MAX], mem_file_path[VM_PATH_MAX];
    bool diff, resume_vm;
    char override_id[VM_ID_MAX], override_dev[VM_ID_MAX];
    char binary[VM_PATH_MAX];  /* the last upgrade's binary; "" for none */
    uint32_t balloon_mib;      /* the last balloon target */
    unsigned balloon_interval; /* the last statistics interval */
};

static int record(void *opaque, char letter, const char *op, char *err, size_t err_len)
{
    struct fake *f = opaque;
    size_t n = strlen(f->calls);
    if (n + 1 < sizeof(f->calls)) {
        f->calls[n] = letter;
        f->calls[n + 1] = '\0';
    }
    if (f->fail_op && !strcmp(f->fail_op, op)) {
        snprintf(err, err_len, "%s", f->fail_msg);
        return -1;
    }
    return 0;
}

static int fake_start(void *o, char *err, size_t len)
{
    return record(o, 'S', "start", err, len);
}

static int fake_pause(void *o, char *err, size_t len)
{
    return record(o, 'P', "pause", err, len);
}

static int fake_resume(void *o, char *err, size_t len)
{
    return record(o, 'R', "resume", err, len);
}

static int fake_ctrl_alt_del(void *o, char *err, size_t len)
{
    return record(o, 'C', "ctrl_alt_del", err, len);
}

static int fake_flush_metrics(void *o, char *err, size_t len)
{
    return record(o, 'F', "flush_metrics", err, len);
}

static int fake_update_drive(void *o, const char *id, const char *path, char *err, size_t len)
{
    struct fake *f = o;
    snprintf(f->update_id, sizeof(f->update_id), "%s", id);
    snprintf(f->update_path, sizeof(f->update_path), "%s", path);
    return record(o, 'U', "update_drive", err, len);
}

static int fake_set_logger(void *o, const struct api_logger *l, char *err, size_t len)
{
    struct fake *f = o;
    memcpy(&f->logger, l, sizeof(*l));
    return record(o, 'L', "set_logger", err, len);
}

static int fake_set_metrics(void *o, const struct api_metrics *m, char *err, size_t len)
{
    struct fake *f = o;
    memcpy(&f->metrics, m, sizeof(*m));
    return record(o, 'M', "set_metrics", err, len);
}

static int fake_snapshot_create(void *o, const struct api_snapshot_create *r, char *err, size_t len)
{
    struct fake *f = o;
    snprintf(f->snapshot_path, sizeof(f->snapshot_path), "%s", r->snapshot_path);
    snprintf(f->mem_file_path, sizeof(f->mem_file_path), "%s", r->mem_file_path);
    f->diff = r->diff;
    return record(o, 'W', "snapshot_create", err, len);
}

static int fake_snapshot_load(void *o, const struct api_snapshot_load *r, char *err, size_t len)
{
    struct fake *f = o;
    snprintf(f->snapshot_path, sizeof(f->snapshot_path), "%s", r->snapshot_path);
    snprintf(f->mem_file_path, sizeof(f->mem_file_path), "%s", r->mem_file_path);
    f->resume_vm = r->resume_vm;
    f->override_id[0] = f->override_dev[0] = 0;
    if (r->noverrides) {
        snprintf(f->override_id, sizeof(f->override_id), "%s", r->overrides[0].iface_id);
        snprintf(f->override_dev, sizeof(f->override_dev), "%s", r->overrides[0].host_dev_name);
    }
    return record(o, 'O', "snapshot_load", err, len);
}

static int fake_upgrade(void *o, const char *binary, char *err, size_t len)
{
    struct fake *f = o;
    snprintf(f->binary, sizeof(f->binary), "%s", binary ? binary : "");
    return record(o, 'G', "upgrade", err, len);
}

static int fake_balloon_set_target(void *o, uint32_t mib, char *err, size_t len)
{
    ((struct fake *)o)->balloon_mib = mib;
    return record(o, 'T', "balloon_set_target", err, len);
}

static int fake_balloon_stats(void *o, struct api_balloon_stats *s, char *err, size_t len)
{
    *s = (struct api_balloon_stats){.target_pages = 512, .actual_pages = 300};
    s->guest[1] = 7;         /* swap_out */
    s->guest[4] = 100 << 20; /* free_memory */
    s->guest[9] = 3;         /* hugetlb_failures */
    s->guest_valid = 1u << 1 | 1u << 4 | 1u << 9;
    return record(o, 'B', "balloon_stats", err, len);
}

static int fake_balloon_set_interval(void *o, unsigned seconds, char *err, size_t len)
{
    ((struct fake *)o)->balloon_interval = seconds;
    return record(o, 'I', "balloon_set_interval", err, len);
}

static const struct api_target_ops fake_ops = {
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_ctrl_alt_del,
    .flush_metrics = fake_flush_metrics,
    .update_drive = fake_update_drive,
    .set_logger = fake_set_logger,
    .set_metrics = fake_set_metrics,
    .snapshot_create = fake_snapshot_create,
    .snapshot_load = fake_snapshot_load,
    .upgrade = fake_upgrade,
    .balloon_set_target = fake_balloon_set_target,
    .balloon_stats = fake_balloon_stats,
    .balloon_set_interval = fake_balloon_set_interval,
};

/* A VMM that takes the logger and metrics destinations as given. */
static const struct api_target_ops fake_ops_no_sinks = {
    .start = fake_start,
    .pause = fake_pause,
    .resume = fake_resume,
    .ctrl_alt_del = fake_ctrl_alt_del,
    .flush_metrics = fake_flush_metrics,
    .update_drive = fake_update_drive,
};

/* --- fixture: files, a configuration and a target ---------------------------------------- */

#define PATH_LEN 320 /* room for one of our paths */

struct ctx {
    char dir[256];
    char kernel[PATH_LEN], elf[PATH_LEN], shortk[PATH_LEN], notkernel[PATH_LEN], gzip[PATH_LEN],
        initrd[PATH_LEN], drive[PATH_LEN], drive2[PATH_LEN];
    char missing[PATH_LEN], log[PATH_LEN], metrics[PATH_LEN];
    struct vm_config *cfg;
    struct api_target t;
    struct fake fake;
    struct api_response resp;
    json_t *json; /* the last reply's body, parsed; NULL when it had none */
    /* owned here, not by the helpers, so that a failed check (a longjmp) leaks nothing */
    char *body;                 /* the last request's formatted body */
    struct vm_config *snap_cfg; /* fault_raw_at's copies of what must not change */
    struct api_logger snap_logger;
    struct api_metrics snap_metrics;
};

static void init_target(struct api_target *t, struct vm_config *cfg, struct fake *f)
{
    memset(t, 0, sizeof(*t));
    memset(f, 0, sizeof(*f));
    vm_config_init(cfg);
    t->cfg = cfg;
    t->state = API_NOT_STARTED;
    t->id = "test-vm";
    t->vmm_version = "1.2.3-test";
    t->ops = &fake_ops;
    t->opaque = f;
}

static int path_in(const struct ctx *c, char out[PATH_LEN], const char *name)
{
    int n = snprintf(out, PATH_LEN, "%s/%s", c->dir, name);
    return n > 0 && n < PATH_LEN ? 0 : -1;
}

static int make_file(const char *path, const void *head, size_t head_len, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    int rc = (head_len && write(fd, head, head_len) != (ssize_t)head_len) ||
                     (size && ftruncate(fd, size) != 0)
                 ? -1
                 : 0;
    close(fd);
    return rc;
}

static int setup(void **state)
{
    struct ctx *c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    /* the paths go into JSON bodies written with ' for ": keep them plain */
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp || strpbrk(tmp, "'\"\\%") || strlen(tmp) > 200)
        tmp = "/tmp";
    snprintf(c->dir, sizeof(c->dir), "%s/duvisor-test-api.XXXXXX", tmp);
    if (!mkdtemp(c->dir))
        return -1;
    /* A RISC-V Linux Image: the "RSC\x05" magic at offset 56 of a 64-byte header. */
    uint8_t image[64] = {0};
    memcpy(image + 56, "RSC\x05", 4);
    uint8_t elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    uint8_t text[64];
    memset(text, 'x', sizeof(text));
    uint8_t gz[64] = {0x1f, 0x8b, 0x08};
    if (path_in(c, c->kernel, "Image") || path_in(c, c->elf, "vmlinux") ||
        path_in(c, c->shortk, "short") || path_in(c, c->notkernel, "notes.txt") ||
        path_in(c, c->gzip, "Image.gz") || path_in(c, c->initrd, "initrd.img") ||
        path_in(c, c->drive, "rootfs.ext4") || path_in(c, c->drive2, "data.img") ||
        path_in(c, c->missing, "missing") || path_in(c, c->log, "fc.log") ||
        path_in(c, c->metrics, "fc.metrics"))
        return -1;
    if (make_file(c->kernel, image, sizeof(image), 0) || make_file(c->elf, elf, sizeof(elf), 0) ||
        make_file(c->shortk, image, 63, 0) || make_file(c->notkernel, text, sizeof(text), 0) ||
        make_file(c->gzip, gz, sizeof(gz), 0) || make_file(c->initrd, text, 16, 0) ||
        make_file(c->drive, NULL, 0, 1 << 20) || make_file(c->drive2, NULL, 0, 1 << 20))
        return -1;
    c->cfg = malloc(sizeof(*c->cfg));
    c->snap_cfg = malloc(sizeof(*c->snap_cfg));
    if (!c->cfg || !c->snap_cfg)
        return -1;
    init_target(&c->t, c->cfg, &c->fake);
    *state = c;
    return 0;
}

static int teardown(void **state)
{
    struct ctx *c = *state;
    const char *files[] = {c->kernel, c->elf,   c->shortk, c->notkernel, c->gzip,
                           c->initrd, c->drive, c->drive2, c->log,       c->metrics};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        unlink(files[i]);
    rmdir(c->dir);
    api_response_free(&c->resp);
    json_decref(c->json);
    free(c->body);
    free(c->snap_cfg);
    free(c->cfg);
    free(c);
    return 0;
}

/* --- requests ---------------------------------------------------------------------------- */

/* fmt with ' turned into ", malloc'd. */
static char *vbody(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        fail_msg("out of memory");
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    return s;
}

static int send_raw(struct ctx *c, const char *method, const char *path, const char *body,
                    size_t len)
{
    api_response_free(&c->resp);
    json_decref(c->json);
    c->json = NULL;
    api_handle(&c->t, method, path, body, len, &c->resp);
    if (c->resp.body) {
        json_error_t e;
        c->json = json_loads(c->resp.body, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
        if (!c->json)
            fail_msg("%s %s: the reply is not JSON (%s): %s", method, path, e.text, c->resp.body);
    }
    return c->resp.status;
}

static const char *fault_text(const struct ctx *c)
{
    return json_string_value(json_object_get(c->json, "fault_message"));
}

/* A request that must succeed with 204 and no body. */
__attribute__((format(printf, 5, 6))) static void ok_at(int line, struct ctx *c, const char *method,
                                                        const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(c->body);
    char *body = c->body = vbody(fmt, ap);
    va_end(ap);
    unsigned long long requests = c->t.requests, bad = c->t.bad_requests;
    int status = send_raw(c, method, path, body, strlen(body));
    if (status != 204 || c->resp.body)
        fail_msg("line %d: %s %s %s: got %d %s, want 204", line, method, path, body, status,
                 c->resp.body ? c->resp.body : "(no body)");
    if (c->t.requests != requests + 1 || c->t.bad_requests != bad)
        fail_msg("line %d: counters %llu/%llu, want %llu/%llu", line, c->t.requests,
                 c->t.bad_requests, requests + 1, bad);
}
#define OK(c, method, path, ...) ok_at(__LINE__, (c), (method), (path), __VA_ARGS__)

enum match { M_EXACT, M_PREFIX, M_SUBSTR, M_ANY };

/* A request that must be refused with status and a message matching msg, and
   change nothing but the counters. */
static void fault_raw_at(int line, struct ctx *c, int status, enum match mode, const char *msg,
                         const char *method, const char *path, const char *body, size_t len)
{
    struct vm_config *cfg = c->snap_cfg;
    struct api_logger *logger = &c->snap_logger;
    struct api_metrics *metrics = &c->snap_metrics;
    memcpy(cfg, c->t.cfg, sizeof(*cfg));
    memcpy(logger, &c->t.logger, sizeof(*logger));
    memcpy(metrics, &c->t.metrics, sizeof(*metrics));
    enum api_state state = c->t.state;
    bool entropy = c->t.entropy_set;
    unsigned long long requests = c->t.requests, bad = c->t.bad_requests;

    int got = send_raw(c, method, path, body, len);
    const char *text = fault_text(c);
    if (got != status)
        fail_msg("line %d: %s %s: got %d %s, want %d", line, method, path, got,
                 c->resp.body ? c->resp.body : "(no body)", status);
    if (!json_is_object(c->json) || json_object_size(c->json) != 1 ||
        !json_is_string(json_object_get(c->json, "fault_message")))
        fail_msg("line %d: %s %s: the body is not {\"fault_message\": string}: %s", line, method,
                 path, c->resp.body ? c->resp.body : "(no body)");
    bool match = mode == M_ANY || (mode == M_EXACT && !strcmp(text, msg)) ||
                 (mode == M_PREFIX && !strncmp(text, msg, strlen(msg))) ||
                 (mode == M_SUBSTR && strstr(text, msg));
    if (!match)
        fail_msg("line %d: %s %s:\n  got  '%s'\n  want %s'%s'", line, method, path, text,
                 mode == M_EXACT    ? ""
                 : mode == M_PREFIX ? "prefix "
                                    : "substring ",
                 msg);
    if (memcmp(cfg, c->t.cfg, sizeof(*cfg)))
        fail_msg("line %d: %s %s was refused but changed the configuration", line, method, path);
    if (memcmp(logger, &c->t.logger, sizeof(*logger)) ||
        memcmp(metrics, &c->t.metrics, sizeof(*metrics)) || state != c->t.state ||
        entropy != c->t.entropy_set)
        fail_msg("line %d: %s %s was refused but changed the target", line, method, path);
    if (c->t.requests != requests + 1 || c->t.bad_requests != bad + 1)
        fail_msg("line %d: counters %llu/%llu, want %llu/%llu", line, c->t.requests,
                 c->t.bad_requests, requests + 1, bad + 1);
}

__attribute__((format(printf, 7, 8))) static void fault_at(int line, struct ctx *c, enum match mode,
                                                           const char *msg, const char *method,
                                                           const char *path, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(c->body);
    char *body = c->body = vbody(fmt, ap);
    va_end(ap);
    fault_raw_at(line, c, 400, mode, msg, method, path, body, strlen(body));
}
#define FAULT(c, msg, method, path, ...)                                                           \
    fault_at(__LINE__, (c), M_EXACT, (msg), (method), (path), __VA_ARGS__)
#define FAULT_PREFIX(c, msg, method, path, ...)                                                    \
    fault_at(__LINE__, (c), M_PREFIX, (msg), (method), (path), __VA_ARGS__)
#define FAULT_HAS(c, msg, method, path, ...)                                                       \
    fault_at(__LINE__, (c), M_SUBSTR, (msg), (method), (path), __VA_ARGS__)
#define FAULT_ANY(c, method, path, ...)                                                            \
    fault_at(__LINE__, (c), M_ANY, "", (method), (path), __VA_ARGS__)
#define FAULT_RAW(c, status, mode, msg, method, path, body, len)                                   \
    fault_raw_at(__LINE__, (c), (status), (mode), (msg), (method), (path), (body), (len))

/* GET path: 200 with a JSON object, which it returns (valid until the next request). */
static json_t *get_at(int line, struct ctx *c, const char *path)
{
    int status = send_raw(c, "GET", path, NULL, 0);
    if (status != 200 || !json_is_object(c->json))
        fail_msg("line %d: GET %s: got %d %s", line, path, status,
                 c->resp.body ? c->resp.body : "(no body)");
    return c->json;
}
#define GET(c, path) get_at(__LINE__, (c), (path))

/* actual must equal the JSON fmt describes (with ' for "), exactly. */
__attribute__((format(printf, 3, 4))) static void expect_json_at(int line, const json_t *actual,
                                                                 const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vbody(fmt, ap);
    va_end(ap);
    json_error_t e;
    json_t *want = json_loads(text, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &e);
    if (!want) {
        print_error("line %d: the expected JSON is invalid (%s): %s\n", line, e.text, text);
        free(text);
        fail();
    }
    free(text);
    if (!actual || !json_equal(actual, want)) {
        char *got = actual ? json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
        char *exp = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("line %d:\n  got  %s\n  want %s\n", line, got ? got : "(nothing)", exp);
        free(got);
        free(exp);
        json_decref(want);
        fail();
    }
    json_decref(want);
}
#define EXPECT_JSON(actual, ...) expect_json_at(__LINE__, (actual), __VA_ARGS__)

static void expect_bootargs(const struct vm_config *cfg, const char *want)
{
    char args[VM_APPEND_MAX + 128];
    assert_int_equal(vm_config_bootargs(cfg, args, sizeof(args)), 0);
    assert_string_equal(args, want);
}

static void expect_mac(const uint8_t mac[6], const uint8_t want[6])
{
    if (memcmp(mac, want, 6))
        fail_msg("MAC %02x:%02x:%02x:%02x:%02x:%02x, want %02x:%02x:%02x:%02x:%02x:%02x", mac[0],
                 mac[1], mac[2], mac[3], mac[4], mac[5], want[0], want[1], want[2], want[3],
                 want[4], want[5]);
}

/* --- common steps ------------------------------------------------------------------------ */

static void put_kernel(struct ctx *c)
{
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->kernel);
}

static void start_vm(struct ctx *c)
{
    put_kernel(c);
    OK(c, "PUT", "/actions", "{'action_type': 'InstanceStart'}");
    assert_int_equal(c->t.state, API_RUNNING);
}

static void put_root(struct ctx *c)
{
    OK(c, "PUT", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
       "'is_read_only': false}",
       c->drive);
}

/* Everything the API can configure, as a Firecracker tool would. */
static void configure_all(struct ctx *c)
{
    OK(c, "PUT", "/machine-config",
       "{'vcpu_count': 2, 'mem_size_mib': 512, 'track_dirty_pages': true}");
    OK(c, "PUT", "/boot-source",
       "{'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': 'console=ttyS0 quiet'}",
       c->kernel, c->initrd);
    OK(c, "PUT", "/drives/data",
       "{'drive_id': 'data', 'path_on_host': '%s', 'is_root_device': false, "
       "'is_read_only': true}",
       c->drive2);
    put_root(c);
    OK(c, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'user'}");
    OK(c, "PUT", "/network-interfaces/eth1",
       "{'iface_id': 'eth1', 'host_dev_name': 'tap0', 'guest_mac': '02:aa:bb:cc:dd:ee'}");
    OK(c, "PUT", "/logger",
       "{'log_path': '%s', 'level': 'warn', 'show_level': true, 'module': 'api'}", c->log);
    OK(c, "PUT", "/metrics", "{'metrics_path': '%s'}", c->metrics);
    OK(c, "PUT", "/entropy", "{}");
}

/* --- GET --------------------------------------------------------------------------------- */

static void test_instance_info(void **state)
{
    struct ctx *c = *state;
    EXPECT_JSON(GET(c, "/"), "{'id': 'test-vm', 'state': 'Not started', 'vmm_version': "
                             "'1.2.3-test', 'app_name': 'duvisor'}");
    start_vm(c);
    EXPECT_JSON(GET(c, "/"), "{'id': 'test-vm', 'state': 'Running', 'vmm_version': "
                             "'1.2.3-test', 'app_name': 'duvisor'}");
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    EXPECT_JSON(GET(c, "/"), "{'id': 'test-vm', 'state': 'Paused', 'vmm_version': '1.2.3-test', "
                             "'app_name': 'duvisor'}");
    OK(c, "PATCH", "/vm", "{'state': 'Resumed'}");
    EXPECT_JSON(GET(c, "/"), "{'id': 'test-vm', 'state': 'Running', 'vmm_version': "
                             "'1.2.3-test', 'app_name': 'duvisor'}");
    /* Firecracker's default --id; and a VMM that does not know its version. */
    c->t.id = NULL;
    c->t.vmm_version = NULL;
    EXPECT_JSON(GET(c, "/"), "{'id': 'anonymous-instance', 'state': 'Running', 'vmm_version': "
                             "'unknown', 'app_name': 'duvisor'}");
    assert_string_equal(c->fake.calls, "SPR");
}

static void test_version(void **state)
{
    struct ctx *c = *state;
    EXPECT_JSON(GET(c, "/version"),
                "{'firecracker_version': '%s', 'duvisor_version': '1.2.3-test'}",
                API_FIRECRACKER_VERSION);
    unsigned a, b, d;
    char tail;
    assert_int_equal(sscanf(API_FIRECRACKER_VERSION, "%u.%u.%u%c", &a, &b, &d, &tail), 3);
    assert_int_equal(c->t.requests, 1);
    assert_int_equal(c->t.bad_requests, 0);
}

static void test_machine_config_get(void **state)
{
    struct ctx *c = *state;
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 1, 'mem_size_mib': 256, 'smt': false, "
                                           "'track_dirty_pages': false, 'huge_pages': 'None'}");
    OK(c, "PUT", "/machine-config",
       "{'vcpu_count': 2, 'mem_size_mib': 512, 'track_dirty_pages': true}");
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 2, 'mem_size_mib': 512, 'smt': false, "
                                           "'track_dirty_pages': true, 'huge_pages': 'None'}");
    assert_int_equal(c->cfg->smp, 2);
    assert_int_equal(c->cfg->memory_bytes, 512ull << 20);
    assert_true(c->cfg->track_dirty_pages);
    /* PATCH changes what it names and keeps the rest. */
    OK(c, "PATCH", "/machine-config", "{'vcpu_count': 4}");
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 4, 'mem_size_mib': 512, 'smt': false, "
                                           "'track_dirty_pages': true, 'huge_pages': 'None'}");
    OK(c, "PATCH", "/machine-config", "{'mem_size_mib': 1024}");
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 4, 'mem_size_mib': 1024, 'smt': false, "
                                           "'track_dirty_pages': true, 'huge_pages': 'None'}");
    OK(c, "PATCH", "/machine-config", "{'track_dirty_pages': false}");
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 4, 'mem_size_mib': 1024, 'smt': false, "
                                           "'track_dirty_pages': false, 'huge_pages': 'None'}");
    OK(c, "PATCH", "/machine-config", "{'track_dirty_pages': true, 'smt': false}");
    /* PUT replaces the whole: what it leaves out is back to its default. */
    OK(c, "PUT", "/machine-config", "{'vcpu_count': 3, 'mem_size_mib': 128}");
    EXPECT_JSON(GET(c, "/machine-config"), "{'vcpu_count': 3, 'mem_size_mib': 128, 'smt': false, "
                                           "'track_dirty_pages': false, 'huge_pages': 'None'}");
}

#define EMPTY_CONFIG                                                                               \
    "{'balloon': null, 'drives': [], 'boot-source': null, 'cpu-config': null, 'logger': null, "    \
    "'machine-config': {'vcpu_count': 1, 'mem_size_mib': 256, 'smt': false, "                      \
    "'track_dirty_pages': false, 'huge_pages': 'None'}, 'metrics': null, 'mmds-config': null, "    \
    "'network-interfaces': [], 'vsock': null, 'entropy': null}"

static void test_vm_config_get(void **state)
{
    struct ctx *c = *state;
    EXPECT_JSON(GET(c, "/vm/config"), EMPTY_CONFIG);
    configure_all(c);
    EXPECT_JSON(GET(c, "/vm/config"),
                "{'balloon': null,"
                " 'drives': ["
                "  {'drive_id': 'rootfs', 'partuuid': null, 'is_root_device': true, 'cache_type': "
                "'Unsafe', 'is_read_only': false, 'path_on_host': '%s', 'rate_limiter': null, "
                "'io_engine': 'Sync', 'socket': null},"
                "  {'drive_id': 'data', 'partuuid': null, 'is_root_device': false, 'cache_type': "
                "'Unsafe', 'is_read_only': true, 'path_on_host': '%s', 'rate_limiter': null, "
                "'io_engine': 'Sync', 'socket': null}],"
                " 'boot-source': {'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': "
                "'console=ttyS0 quiet'},"
                " 'cpu-config': null,"
                " 'logger': {'log_path': '%s', 'level': 'Warning', 'show_level': true, "
                "'show_log_origin': false, 'module': 'api'},"
                " 'machine-config': {'vcpu_count': 2, 'mem_size_mib': 512, 'smt': false, "
                "'track_dirty_pages': true, 'huge_pages': 'None'},"
                " 'metrics': {'metrics_path': '%s'},"
                " 'mmds-config': null,"
                " 'network-interfaces': ["
                "  {'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '52:54:00:12:34:56', "
                "'rx_rate_limiter': null, 'tx_rate_limiter': null},"
                "  {'iface_id': 'eth1', 'host_dev_name': 'tap0', 'guest_mac': '02:aa:bb:cc:dd:ee', "
                "'rx_rate_limiter': null, 'tx_rate_limiter': null}],"
                " 'vsock': null,"
                " 'entropy': {'rate_limiter': null}}",
                c->drive, c->drive2, c->kernel, c->initrd, c->log, c->metrics);
    /* api_render_config is the same document. */
    char *text = api_render_config(&c->t);
    assert_non_null(text);
    json_t *rendered = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    assert_true(json_equal(rendered, GET(c, "/vm/config")));
    json_decref(rendered);
    free(text);
    /* A boot source without an initrd or a logger without a file give nulls. */
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->kernel);
    OK(c, "PUT", "/logger", "{}");
    json_t *j = GET(c, "/vm/config");
    EXPECT_JSON(json_object_get(j, "boot-source"),
                "{'kernel_image_path': '%s', 'initrd_path': null, 'boot_args': '%s'}", c->kernel,
                VM_DEFAULT_APPEND);
    EXPECT_JSON(json_object_get(j, "logger"), "{'log_path': null, 'level': 'Info', 'show_level': "
                                              "false, 'show_log_origin': false, 'module': null}");
}

/* GET /vm/config of t, loaded into a fresh target, gives the same GET /vm/config. */
static void round_trip(struct ctx *c)
{
    GET(c, "/vm/config");
    char *first = strdup(c->resp.body);
    assert_non_null(first);

    struct vm_config *cfg = malloc(sizeof(*cfg));
    assert_non_null(cfg);
    struct api_target *saved = malloc(sizeof(*saved));
    assert_non_null(saved);
    struct fake *fake = calloc(1, sizeof(*fake));
    assert_non_null(fake);
    memcpy(saved, &c->t, sizeof(*saved));
    init_target(&c->t, cfg, fake);
    char err[512] = "";
    if (api_load_config(&c->t, first, strlen(first), err, sizeof(err)))
        fail_msg("the rendered configuration does not load: %s\n%s", err, first);
    assert_int_equal(c->t.state, API_NOT_STARTED);
    assert_null(strchr(fake->calls, 'S'));
    GET(c, "/vm/config");
    assert_string_equal(c->resp.body, first);
    /* the configuration itself, not only its rendering */
    assert_string_equal(cfg->kernel_path, saved->cfg->kernel_path);
    assert_string_equal(cfg->initrd_path, saved->cfg->initrd_path);
    assert_string_equal(cfg->append, saved->cfg->append);
    assert_int_equal(cfg->smp, saved->cfg->smp);
    assert_int_equal(cfg->memory_bytes, saved->cfg->memory_bytes);
    assert_int_equal(cfg->ndisks, saved->cfg->ndisks);
    assert_int_equal(cfg->nnics, saved->cfg->nnics);
    for (unsigned i = 0; i < cfg->ndisks; i++) {
        assert_string_equal(cfg->disks[i].id, saved->cfg->disks[i].id);
        assert_string_equal(cfg->disks[i].path, saved->cfg->disks[i].path);
        assert_string_equal(cfg->disks[i].partuuid, saved->cfg->disks[i].partuuid);
        assert_int_equal(cfg->disks[i].root, saved->cfg->disks[i].root);
        assert_int_equal(cfg->disks[i].readonly, saved->cfg->disks[i].readonly);
    }
    for (unsigned i = 0; i < cfg->nnics; i++) {
        assert_string_equal(cfg->nics[i].id, saved->cfg->nics[i].id);
        assert_int_equal(cfg->nics[i].kind, saved->cfg->nics[i].kind);
        assert_string_equal(cfg->nics[i].options, saved->cfg->nics[i].options);
        expect_mac(cfg->nics[i].mac, saved->cfg->nics[i].mac);
    }
    char a[VM_APPEND_MAX + 128], b[VM_APPEND_MAX + 128];
    assert_int_equal(vm_config_bootargs(cfg, a, sizeof(a)), 0);
    assert_int_equal(vm_config_bootargs(saved->cfg, b, sizeof(b)), 0);
    assert_string_equal(a, b);
    assert_int_equal(c->t.logger.set, saved->logger.set);
    assert_int_equal(c->t.metrics.set, saved->metrics.set);
    assert_int_equal(c->t.entropy_set, saved->entropy_set);
    /* the sinks are opened again for the loaded logger and metrics */
    assert_string_equal(fake->calls, saved->logger.set ? (saved->metrics.set ? "LM" : "L")
                                                       : (saved->metrics.set ? "M" : ""));

    memcpy(&c->t, saved, sizeof(*saved));
    free(fake);
    free(saved);
    free(cfg);
    free(first);
}

static void test_vm_config_round_trip(void **state)
{
    struct ctx *c = *state;
    round_trip(c); /* nothing configured */
    configure_all(c);
    round_trip(c);
    /* a read-only root by PARTUUID, a replaced NIC, an empty command line */
    OK(c, "PUT", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
       "'is_read_only': true, 'partuuid': '0eaa91a0-01'}",
       c->drive);
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'tap1', 'guest_mac': '06:00:00:00:00:01'}");
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s', 'boot_args': ''}", c->elf);
    round_trip(c);
}

/* --- PUT/PATCH /machine-config ------------------------------------------------------------ */

static void test_machine_config_put(void **state)
{
    struct ctx *c = *state;
    const char *vcpus = "The vCPU number is invalid! The vCPU number can only be 1 to 32.";
    const char *mem = "The memory size (MiB) is invalid: it must be 16 to 65536.";
    FAULT(c, DESER "missing field `vcpu_count`.", "PUT", "/machine-config",
          "{'mem_size_mib': 128}");
    FAULT(c, DESER "missing field `mem_size_mib`.", "PUT", "/machine-config", "{'vcpu_count': 1}");
    FAULT(c, vcpus, "PUT", "/machine-config", "{'vcpu_count': 0, 'mem_size_mib': 128}");
    FAULT(c, vcpus, "PUT", "/machine-config", "{'vcpu_count': 33, 'mem_size_mib': 128}");
    FAULT(c, vcpus, "PUT", "/machine-config", "{'vcpu_count': 4294967297, 'mem_size_mib': 128}");
    FAULT(c, mem, "PUT", "/machine-config", "{'vcpu_count': 1, 'mem_size_mib': 15}");
    FAULT(c, mem, "PUT", "/machine-config", "{'vcpu_count': 1, 'mem_size_mib': 0}");
    FAULT(c, mem, "PUT", "/machine-config", "{'vcpu_count': 1, 'mem_size_mib': 65537}");
    FAULT(c, mem, "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 17592186044416}"); /* 2^44: << 20 overflows */
    FAULT(c, "Enabling simultaneous multithreading is not supported on riscv64.", "PUT",
          "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 128, 'smt': true}");
    FAULT(c, DESER "unknown field `vcpus`.", "PUT", "/machine-config",
          "{'vcpu_count': 2, 'mem_size_mib': 128, 'vcpus': 2}");
    /* wrong types */
    FAULT(c, DESER "field `vcpu_count` must be a non-negative integer.", "PUT", "/machine-config",
          "{'vcpu_count': '2', 'mem_size_mib': 128}");
    FAULT(c, DESER "field `vcpu_count` must be a non-negative integer.", "PUT", "/machine-config",
          "{'vcpu_count': -1, 'mem_size_mib': 128}");
    FAULT(c, DESER "field `vcpu_count` must be a non-negative integer.", "PUT", "/machine-config",
          "{'vcpu_count': 2.0, 'mem_size_mib': 128}");
    FAULT(c, DESER "field `vcpu_count` must be a non-negative integer.", "PUT", "/machine-config",
          "{'vcpu_count': null, 'mem_size_mib': 128}");
    FAULT(c, DESER "field `mem_size_mib` must be a non-negative integer.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': true}");
    FAULT(c, DESER "field `smt` must be a boolean.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 128, 'smt': 0}");
    FAULT(c, DESER "field `track_dirty_pages` must be a boolean.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 128, 'track_dirty_pages': 'yes'}");
    FAULT(c, DESER "field `huge_pages` must be a string.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 128, 'huge_pages': 2}");
    /* templates and huge pages: only None */
    FAULT(c, "CPU templates are not supported on riscv64.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 128, 'cpu_template': 'T2'}");
    FAULT(c, "huge_pages '2M' is not supported: only None.", "PUT", "/machine-config",
          "{'vcpu_count': 1, 'mem_size_mib': 128, 'huge_pages': '2M'}");
    assert_int_equal(c->cfg->smp, 1);
    assert_int_equal(c->cfg->memory_bytes, VM_DEFAULT_MEMORY);
    OK(c, "PUT", "/machine-config",
       "{'vcpu_count': 32, 'mem_size_mib': 65536, 'smt': false, 'cpu_template': 'None', "
       "'huge_pages': 'None', 'track_dirty_pages': false}");
    assert_int_equal(c->cfg->smp, 32);
    assert_int_equal(c->cfg->memory_bytes, 64ull << 30);
    OK(c, "PUT", "/machine-config",
       "{'vcpu_count': 1, 'mem_size_mib': 16, 'smt': null, 'cpu_template': null, "
       "'huge_pages': null}");
    assert_int_equal(c->cfg->smp, 1);
    assert_int_equal(c->cfg->memory_bytes, 16ull << 20);
}

static void test_machine_config_patch(void **state)
{
    struct ctx *c = *state;
    FAULT(c, "Empty PATCH request.", "PATCH", "/machine-config", "{}");
    FAULT(c, "The vCPU number is invalid! The vCPU number can only be 1 to 32.", "PATCH",
          "/machine-config", "{'vcpu_count': 0}");
    FAULT(c, "The memory size (MiB) is invalid: it must be 16 to 65536.", "PATCH",
          "/machine-config", "{'mem_size_mib': 8}");
    FAULT(c, "Enabling simultaneous multithreading is not supported on riscv64.", "PATCH",
          "/machine-config", "{'smt': true}");
    FAULT(c, DESER "unknown field `memory`.", "PATCH", "/machine-config", "{'memory': 1}");
    /* a valid field with a refused one changes nothing */
    FAULT(c, "CPU templates are not supported on riscv64.", "PATCH", "/machine-config",
          "{'vcpu_count': 8, 'cpu_template': 'C3'}");
    OK(c, "PATCH", "/machine-config", "{'mem_size_mib': 2048}");
    assert_int_equal(c->cfg->smp, 1);
    assert_int_equal(c->cfg->memory_bytes, 2048ull << 20);
    OK(c, "PATCH", "/machine-config", "{'vcpu_count': 6, 'huge_pages': 'None'}");
    assert_int_equal(c->cfg->smp, 6);
    assert_int_equal(c->cfg->memory_bytes, 2048ull << 20);
}

/* After InstanceStart, every request that configures the VM gets Firecracker's phase error. */
static void test_configuration_refused_after_start(void **state)
{
    struct ctx *c = *state;
    put_root(c);
    OK(c, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'user'}");
    start_vm(c);
    FAULT(c, AFTER, "PUT", "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 512}");
    FAULT(c, AFTER, "PATCH", "/machine-config", "{'vcpu_count': 2}");
    FAULT(c, AFTER, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->elf);
    FAULT(c, AFTER, "PUT", "/drives/data",
          "{'drive_id': 'data', 'path_on_host': '%s', 'is_root_device': false}", c->drive2);
    FAULT(c, AFTER, "PUT", "/drives/rootfs",
          "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true}", c->drive2);
    FAULT(c, AFTER, "PUT", "/network-interfaces/eth1",
          "{'iface_id': 'eth1', 'host_dev_name': 'user'}");
    FAULT(c, AFTER, "PUT", "/entropy", "{}");
    FAULT(c, AFTER, "PUT", "/actions", "{'action_type': 'InstanceStart'}");
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    FAULT(c, AFTER, "PUT", "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 512}");
    FAULT(c, AFTER, "PUT", "/actions", "{'action_type': 'InstanceStart'}");
    assert_string_equal(c->fake.calls, "SP");
    assert_int_equal(c->cfg->smp, 1);
}

/* --- PUT /boot-source --------------------------------------------------------------------- */

static void test_boot_source(void **state)
{
    struct ctx *c = *state;
    char want[1024];
    FAULT(c, "The kernel file cannot be opened: " ENOENT_MSG, "PUT", "/boot-source",
          "{'kernel_image_path': '%s'}", c->missing);
    FAULT(c, "The kernel path is empty.", "PUT", "/boot-source", "{'kernel_image_path': ''}");
    snprintf(want, sizeof(want), "The kernel file '%s' is not a regular file.", c->dir);
    FAULT(c, want, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->dir);
    snprintf(want, sizeof(want), "The kernel file '%s' is not usable: ", c->notkernel);
    FAULT_PREFIX(c, want, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->notkernel);
    assert_null(strstr(fault_text(c), "gzip"));
    snprintf(want, sizeof(want), "The kernel file '%s' is not usable: ", c->shortk);
    FAULT_PREFIX(c, want, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->shortk);
    snprintf(want, sizeof(want), "The kernel file '%s' is not usable: ", c->gzip);
    FAULT_PREFIX(c, want, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->gzip);
    assert_non_null(strstr(fault_text(c), "gzip"));
    FAULT(c, DESER "missing field `kernel_image_path`.", "PUT", "/boot-source",
          "{'boot_args': 'quiet'}");
    FAULT(c, DESER "field `kernel_image_path` must be a string.", "PUT", "/boot-source",
          "{'kernel_image_path': 5}");
    FAULT(c, DESER "unknown field `kernel`.", "PUT", "/boot-source",
          "{'kernel_image_path': '%s', 'kernel': 1}", c->kernel);
    assert_string_equal(c->cfg->kernel_path, "");

    /* an Image, no boot_args: the default command line */
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s'}", c->kernel);
    assert_string_equal(c->cfg->kernel_path, c->kernel);
    assert_string_equal(c->cfg->initrd_path, "");
    assert_string_equal(c->cfg->append, VM_DEFAULT_APPEND);
    /* an ELF vmlinux, an initrd and a command line */
    OK(c, "PUT", "/boot-source",
       "{'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': 'console=hvc0 quiet'}",
       c->elf, c->initrd);
    assert_string_equal(c->cfg->kernel_path, c->elf);
    assert_string_equal(c->cfg->initrd_path, c->initrd);
    assert_string_equal(c->cfg->append, "console=hvc0 quiet");
    /* a missing initrd refuses the whole request */
    FAULT(c, "The initrd file cannot be opened: " ENOENT_MSG, "PUT", "/boot-source",
          "{'kernel_image_path': '%s', 'initrd_path': '%s'}", c->kernel, c->missing);
    assert_string_equal(c->cfg->kernel_path, c->elf);
    /* PUT replaces it all: no initrd, the default command line again */
    OK(c, "PUT", "/boot-source",
       "{'kernel_image_path': '%s', 'initrd_path': null, 'boot_args': null}", c->kernel);
    assert_string_equal(c->cfg->kernel_path, c->kernel);
    assert_string_equal(c->cfg->initrd_path, "");
    assert_string_equal(c->cfg->append, VM_DEFAULT_APPEND);
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s', 'boot_args': ''}", c->kernel);
    assert_string_equal(c->cfg->append, "");
}

/* --- PUT/PATCH /drives -------------------------------------------------------------------- */

static void test_drive_put(void **state)
{
    struct ctx *c = *state;
    char want[1024];
    FAULT(c, "The id from the path does not match the id from the body!", "PUT", "/drives/a",
          "{'drive_id': 'b', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "The id from the path does not match the id from the body!", "PUT", "/drives/a",
          "{'drive_id': '', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, DESER "missing field `is_root_device`.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s'}", c->drive);
    FAULT(c, DESER "missing field `drive_id`.", "PUT", "/drives/a",
          "{'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, DESER "missing field `path_on_host`.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'is_root_device': false}");
    FAULT(c, DESER "field `is_read_only` must be a boolean.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false, 'is_read_only': 1}",
          c->drive);
    FAULT(c, DESER "unknown field `readonly`.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false, 'readonly': true}",
          c->drive);
    FAULT(c, "The block device backing file cannot be opened: " ENOENT_MSG, "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}", c->missing);
    FAULT(c, "The block device backing path is empty.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '', 'is_root_device': false}");
    snprintf(want, sizeof(want), "The block device backing file '%s' is not a regular file.",
             c->dir);
    FAULT(c, want, "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}", c->dir);
    FAULT(c, "vhost-user block devices (socket) are not supported.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'socket': '/run/vhost.sock', 'is_root_device': false}");
    FAULT(c, "vhost-user block devices (socket) are not supported.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'socket': '/s', 'is_root_device': false}",
          c->drive);
    FAULT(c, "cache_type must be Unsafe or Writeback, not 'None'.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false, 'cache_type': "
          "'None'}",
          c->drive);
    FAULT(c, "io_engine must be Sync or Async, not 'Uring'.", "PUT", "/drives/a",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false, 'io_engine': "
          "'Uring'}",
          c->drive);
    assert_int_equal(c->cfg->ndisks, 0);

    OK(c, "PUT", "/drives/a",
       "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false, 'is_read_only': true, "
       "'cache_type': 'Writeback', 'io_engine': 'Async', 'rate_limiter': {'bandwidth': "
       "{'size': 1048576, 'refill_time': 1000}}, 'partuuid': null, 'socket': null}",
       c->drive);
    assert_int_equal(c->cfg->ndisks, 1);
    assert_string_equal(c->cfg->disks[0].id, "a");
    assert_string_equal(c->cfg->disks[0].path, c->drive);
    assert_true(c->cfg->disks[0].readonly);
    assert_false(c->cfg->disks[0].root);
    assert_string_equal(c->cfg->disks[0].partuuid, "");
    /* no root disk: the command line is as given */
    expect_bootargs(c->cfg, VM_DEFAULT_APPEND);
    /* the same id replaces it in place */
    OK(c, "PUT", "/drives/a", "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}",
       c->drive2);
    assert_int_equal(c->cfg->ndisks, 1);
    assert_string_equal(c->cfg->disks[0].path, c->drive2);
    assert_false(c->cfg->disks[0].readonly);
}

static void test_drive_ids(void **state)
{
    struct ctx *c = *state;
    char id63[64], id64[65], path[128];
    memset(id63, 'x', 63);
    id63[63] = '\0';
    memset(id64, 'y', 64);
    id64[64] = '\0';
    FAULT(c, "Invalid request method and/or path: PUT /drives/.", "PUT", "/drives/",
          "{'drive_id': '', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "Invalid request method and/or path: PUT /drives/a/b.", "PUT", "/drives/a/b",
          "{'drive_id': 'a/b', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "Invalid drive ID: " BAD_ID, "PUT", "/drives/a-b",
          "{'drive_id': 'a-b', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "Invalid drive ID: " BAD_ID, "PUT", "/drives/a.b",
          "{'drive_id': 'a.b', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    snprintf(path, sizeof(path), "/drives/%s", id64);
    FAULT(c, "Invalid drive ID: " BAD_ID, "PUT", path,
          "{'drive_id': '%s', 'path_on_host': '%s', 'is_root_device': false}", id64, c->drive);
    snprintf(path, sizeof(path), "/drives/%s", id63);
    OK(c, "PUT", path, "{'drive_id': '%s', 'path_on_host': '%s', 'is_root_device': false}", id63,
       c->drive);
    OK(c, "PUT", "/drives/Disk_09",
       "{'drive_id': 'Disk_09', 'path_on_host': '%s', "
       "'is_root_device': false}",
       c->drive);
    assert_int_equal(c->cfg->ndisks, 2);
    assert_string_equal(c->cfg->disks[0].id, id63);
    assert_string_equal(c->cfg->disks[1].id, "Disk_09");
    /* and the same ids from a config file, which has no path to check them */
    const char *bad[] = {"", "a/b", "a-b", "a b", id64};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char json[1024], err[512] = "";
        snprintf(json, sizeof(json),
                 "{\"drives\": [{\"drive_id\": \"%s\", \"path_on_host\": \"%s\", "
                 "\"is_root_device\": false}]}",
                 bad[i], c->drive);
        assert_int_equal(api_load_config(&c->t, json, strlen(json), err, sizeof(err)), -1);
        assert_string_equal(err, "Invalid drive ID: " BAD_ID);
    }
    assert_int_equal(c->cfg->ndisks, 2);
}

static void test_drive_root(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/drives/a", "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}",
       c->drive2);
    OK(c, "PUT", "/drives/b", "{'drive_id': 'b', 'path_on_host': '%s', 'is_root_device': false}",
       c->drive2);
    put_root(c);
    /* the root disk is first, /dev/vda, whatever order it came in */
    assert_int_equal(c->cfg->ndisks, 3);
    assert_string_equal(c->cfg->disks[0].id, "rootfs");
    assert_true(c->cfg->disks[0].root);
    assert_string_equal(c->cfg->disks[1].id, "a");
    assert_string_equal(c->cfg->disks[2].id, "b");
    expect_bootargs(c->cfg, VM_DEFAULT_APPEND " root=/dev/vda rw");
    json_t *drives = json_object_get(GET(c, "/vm/config"), "drives");
    assert_int_equal(json_array_size(drives), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(drives, 0), "drive_id")),
                        "rootfs");
    /* only one root */
    FAULT(c, "A root block device already exists!", "PUT", "/drives/b",
          "{'drive_id': 'b', 'path_on_host': '%s', 'is_root_device': true}", c->drive2);
    FAULT(c, "A root block device already exists!", "PUT", "/drives/c",
          "{'drive_id': 'c', 'path_on_host': '%s', 'is_root_device': true}", c->drive2);
    /* the root itself may be replaced: read-only now */
    OK(c, "PUT", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
       "'is_read_only': true}",
       c->drive);
    assert_int_equal(c->cfg->ndisks, 3);
    assert_string_equal(c->cfg->disks[0].id, "rootfs");
    expect_bootargs(c->cfg, VM_DEFAULT_APPEND " root=/dev/vda ro");
    /* by PARTUUID */
    OK(c, "PUT", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
       "'partuuid': '0eaa91a0-01'}",
       c->drive);
    assert_string_equal(c->cfg->disks[0].partuuid, "0eaa91a0-01");
    expect_bootargs(c->cfg, VM_DEFAULT_APPEND " root=PARTUUID=0eaa91a0-01 rw");
    EXPECT_JSON(json_object_get(json_array_get(json_object_get(GET(c, "/vm/config"), "drives"), 0),
                                "partuuid"),
                "'0eaa91a0-01'");
    /* the root stops being root: then another may be */
    OK(c, "PUT", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    expect_bootargs(c->cfg, VM_DEFAULT_APPEND);
    OK(c, "PUT", "/drives/b", "{'drive_id': 'b', 'path_on_host': '%s', 'is_root_device': true}",
       c->drive2);
    assert_string_equal(c->cfg->disks[0].id, "b");
    assert_string_equal(c->cfg->disks[1].id, "rootfs");
    assert_string_equal(c->cfg->disks[2].id, "a");
    /* a command line of its own, and an empty one */
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s', 'boot_args': 'quiet'}", c->kernel);
    expect_bootargs(c->cfg, "quiet root=/dev/vda rw");
    OK(c, "PUT", "/boot-source", "{'kernel_image_path': '%s', 'boot_args': ''}", c->kernel);
    expect_bootargs(c->cfg, "root=/dev/vda rw");
}

static void test_drive_limit(void **state)
{
    struct ctx *c = *state;
    char path[64];
    for (unsigned i = 0; i < VM_MAX_DISKS; i++) {
        snprintf(path, sizeof(path), "/drives/d%u", i);
        OK(c, "PUT", path, "{'drive_id': 'd%u', 'path_on_host': '%s', 'is_root_device': false}", i,
           c->drive);
    }
    assert_int_equal(c->cfg->ndisks, VM_MAX_DISKS);
    FAULT(c, "at most 5 drives and network interfaces together", "PUT", "/drives/d5",
          "{'drive_id': 'd5', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "at most 4 network interfaces, and 5 drives and interfaces together", "PUT",
          "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'user'}");
    /* replacing one is no new one */
    OK(c, "PUT", "/drives/d4", "{'drive_id': 'd4', 'path_on_host': '%s', 'is_root_device': true}",
       c->drive2);
    assert_int_equal(c->cfg->ndisks, VM_MAX_DISKS);
    assert_string_equal(c->cfg->disks[0].id, "d4");
}

static void test_drive_patch(void **state)
{
    struct ctx *c = *state;
    put_root(c);
    FAULT(c, BEFORE, "PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}",
          c->drive2);
    start_vm(c);
    FAULT(c, "The id from the path does not match the id from the body!", "PATCH", "/drives/rootfs",
          "{'drive_id': 'root', 'path_on_host': '%s'}", c->drive2);
    FAULT(c, "Invalid block device ID: nope.", "PATCH", "/drives/nope",
          "{'drive_id': 'nope', 'path_on_host': '%s'}", c->drive2);
    FAULT(c, "Invalid drive ID: " BAD_ID, "PATCH", "/drives/no-pe",
          "{'drive_id': 'no-pe', 'path_on_host': '%s'}", c->drive2);
    FAULT(c, DESER "unknown field `is_read_only`.", "PATCH", "/drives/rootfs",
          "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_read_only': true}", c->drive2);
    FAULT(c, "The block device backing file cannot be opened: " ENOENT_MSG, "PATCH",
          "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}", c->missing);
    assert_string_equal(c->fake.calls, "S");
    /* the VMM is asked to swap the file, and then the configuration has it */
    OK(c, "PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}", c->drive2);
    assert_string_equal(c->fake.calls, "SU");
    assert_string_equal(c->fake.update_id, "rootfs");
    assert_string_equal(c->fake.update_path, c->drive2);
    assert_string_equal(c->cfg->disks[0].path, c->drive2);
    json_t *d = json_array_get(json_object_get(GET(c, "/vm/config"), "drives"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "path_on_host")), c->drive2);
    /* only a rate limiter: accepted, nothing to swap */
    OK(c, "PATCH", "/drives/rootfs",
       "{'drive_id': 'rootfs', 'rate_limiter': {'ops': {'size': 100, 'refill_time': 1000}}}");
    assert_string_equal(c->fake.calls, "SU");
    /* the VMM refuses: its words, and the old file stays */
    c->fake.fail_op = "update_drive";
    c->fake.fail_msg = "Cannot swap the drive: device busy";
    FAULT(c, "Cannot swap the drive: device busy", "PATCH", "/drives/rootfs",
          "{'drive_id': 'rootfs', 'path_on_host': '%s'}", c->drive);
    assert_string_equal(c->fake.calls, "SUU");
    assert_string_equal(c->fake.update_path, c->drive);
    assert_string_equal(c->cfg->disks[0].path, c->drive2);
    /* also while paused */
    c->fake.fail_op = NULL;
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    OK(c, "PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}", c->drive);
    assert_string_equal(c->cfg->disks[0].path, c->drive);
    assert_string_equal(c->fake.calls, "SUUPU");
}

/* --- PUT/PATCH /network-interfaces -------------------------------------------------------- */

static void test_nic_put(void **state)
{
    struct ctx *c = *state;
    const char *dev = "host_dev_name must be a TAP interface name of 1 to 15 characters, or "
                      "\"user\" for user-mode networking.";
    FAULT(c, "The id from the path does not match the id from the body!", "PUT",
          "/network-interfaces/eth0", "{'iface_id': 'eth1', 'host_dev_name': 'user'}");
    FAULT(c, "Invalid network interface ID: " BAD_ID, "PUT", "/network-interfaces/eth-0",
          "{'iface_id': 'eth-0', 'host_dev_name': 'user'}");
    FAULT(c, DESER "missing field `host_dev_name`.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0'}");
    FAULT(c, DESER "unknown field `allow_mmds_requests`.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'allow_mmds_requests': true}");
    FAULT(c, dev, "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'abcdefghijklmnop'}");
    FAULT(c, dev, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': ''}");
    FAULT(c, dev, "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'tap/0'}");
    FAULT(c, "mtu must be 68 to 65535.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'mtu': 67}");
    FAULT(c, "mtu must be 68 to 65535.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'mtu': 65536}");
    FAULT(c, DESER "field `mtu` must be a non-negative integer.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'mtu': -1}");
    assert_int_equal(c->cfg->nnics, 0);

    /* user-mode networking, the default MAC */
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'user', 'mtu': 68, 'rx_rate_limiter': null}");
    assert_int_equal(c->cfg->nnics, 1);
    assert_string_equal(c->cfg->nics[0].id, "eth0");
    assert_int_equal(c->cfg->nics[0].kind, VM_NET_USER);
    assert_string_equal(c->cfg->nics[0].options, "");
    assert_false(c->cfg->nics[0].mac_set);
    expect_mac(c->cfg->nics[0].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
    /* a TAP device by name, 15 characters at most */
    OK(c, "PUT", "/network-interfaces/eth1",
       "{'iface_id': 'eth1', 'host_dev_name': 'abcdefghijklmno', 'mtu': 65535}");
    assert_int_equal(c->cfg->nnics, 2);
    assert_int_equal(c->cfg->nics[1].kind, VM_NET_TAP);
    assert_string_equal(c->cfg->nics[1].options, "abcdefghijklmno");
    expect_mac(c->cfg->nics[1].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x57});
    assert_false(c->cfg->nics[1].mac_set);
    /* replaced in place: same slot, same default MAC */
    OK(c, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'tap0'}");
    assert_int_equal(c->cfg->nnics, 2);
    assert_int_equal(c->cfg->nics[0].kind, VM_NET_TAP);
    assert_string_equal(c->cfg->nics[0].options, "tap0");
    expect_mac(c->cfg->nics[0].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
    /* one TAP device per interface */
    FAULT(c, "The host device name tap0 is already in use.", "PUT", "/network-interfaces/eth2",
          "{'iface_id': 'eth2', 'host_dev_name': 'tap0'}");
    OK(c, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'tap0'}");
    /* user-mode networking may be had twice */
    OK(c, "PUT", "/network-interfaces/eth2", "{'iface_id': 'eth2', 'host_dev_name': 'user'}");
    OK(c, "PUT", "/network-interfaces/eth3", "{'iface_id': 'eth3', 'host_dev_name': 'user'}");
    FAULT(c, "at most 4 network interfaces, and 5 drives and interfaces together", "PUT",
          "/network-interfaces/eth4", "{'iface_id': 'eth4', 'host_dev_name': 'user'}");
    /* four interfaces leave room for one drive */
    OK(c, "PUT", "/drives/a", "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': true}",
       c->drive);
    FAULT(c, "at most 5 drives and network interfaces together", "PUT", "/drives/b",
          "{'drive_id': 'b', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
}

static void test_nic_mac(void **state)
{
    struct ctx *c = *state;
    const char *bad[] = {
        "52:54:00:12:34",    "52:54:00:12:34:5g",  "52-54-00-12-34-56", "52:54:00:12:34:567",
        "5254.0012.3456",    "52:54:00:12:34:56:", ":52:54:00:12:34:5", "",
        "01:00:5e:00:00:01", "ff:ff:ff:ff:ff:ff",  "53:54:00:12:34:56",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "guest_mac '%s' is not a unicast MAC address.", bad[i]);
        FAULT(c, want, "PUT", "/network-interfaces/eth0",
              "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '%s'}", bad[i]);
    }
    FAULT(c, DESER "field `guest_mac` must be a string.", "PUT", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': 1}");
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '02:AA:bb:0C:dd:EE'}");
    expect_mac(c->cfg->nics[0].mac, (const uint8_t[6]){0x02, 0xaa, 0xbb, 0x0c, 0xdd, 0xee});
    assert_true(c->cfg->nics[0].mac_set);
    EXPECT_JSON(json_object_get(
                    json_array_get(json_object_get(GET(c, "/vm/config"), "network-interfaces"), 0),
                    "guest_mac"),
                "'02:aa:bb:0c:dd:ee'");
    /* two interfaces may not share a MAC; an interface may keep its own */
    FAULT(c, "The MAC address is already in use: 02:aa:bb:0c:dd:ee", "PUT",
          "/network-interfaces/eth1",
          "{'iface_id': 'eth1', 'host_dev_name': 'tap1', 'guest_mac': '02:aa:bb:0c:dd:ee'}");
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '02:aa:bb:0c:dd:ee'}");
    /* a second interface without a MAC gets the next default */
    OK(c, "PUT", "/network-interfaces/eth1", "{'iface_id': 'eth1', 'host_dev_name': 'tap1'}");
    expect_mac(c->cfg->nics[1].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x57});
    FAULT(c, "The MAC address is already in use: 52:54:00:12:34:57", "PUT",
          "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '52:54:00:12:34:57'}");
    /* dropping the MAC goes back to the slot's default */
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': null}");
    expect_mac(c->cfg->nics[0].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x56});
    assert_false(c->cfg->nics[0].mac_set);
}

static void test_nic_patch(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/network-interfaces/eth0", "{'iface_id': 'eth0', 'host_dev_name': 'user'}");
    FAULT(c, BEFORE, "PATCH", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'rx_rate_limiter': {}}");
    start_vm(c);
    FAULT(c, "Invalid network interface ID: eth9.", "PATCH", "/network-interfaces/eth9",
          "{'iface_id': 'eth9'}");
    FAULT(c, "The id from the path does not match the id from the body!", "PATCH",
          "/network-interfaces/eth0", "{'iface_id': 'eth1'}");
    FAULT(c, DESER "unknown field `host_dev_name`.", "PATCH", "/network-interfaces/eth0",
          "{'iface_id': 'eth0', 'host_dev_name': 'tap0'}");
    OK(c, "PATCH", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'rx_rate_limiter': {'bandwidth': {'size': 1, 'refill_time': 1}}, "
       "'tx_rate_limiter': null}");
    assert_string_equal(c->fake.calls, "S");
}

/* --- PUT /actions, PATCH /vm -------------------------------------------------------------- */

static void test_instance_start(void **state)
{
    struct ctx *c = *state;
    FAULT(c, "Cannot start microvm without kernel configuration.", "PUT", "/actions",
          "{'action_type': 'InstanceStart'}");
    assert_string_equal(c->fake.calls, "");
    put_kernel(c);
    /* the VMM fails to start: its words, and still not started */
    c->fake.fail_op = "start";
    c->fake.fail_msg = "Cannot allocate guest memory: out of memory";
    FAULT(c, "Cannot allocate guest memory: out of memory", "PUT", "/actions",
          "{'action_type': 'InstanceStart'}");
    assert_string_equal(c->fake.calls, "S");
    assert_int_equal(c->t.state, API_NOT_STARTED);
    assert_string_equal(json_string_value(json_object_get(GET(c, "/"), "state")), "Not started");
    /* still configurable, and it may be started again */
    OK(c, "PUT", "/machine-config", "{'vcpu_count': 1, 'mem_size_mib': 64}");
    c->fake.fail_op = NULL;
    OK(c, "PUT", "/actions", "{'action_type': 'InstanceStart'}");
    assert_string_equal(c->fake.calls, "SS");
    assert_int_equal(c->t.state, API_RUNNING);
    assert_string_equal(json_string_value(json_object_get(GET(c, "/"), "state")), "Running");
    /* once */
    FAULT(c, AFTER, "PUT", "/actions", "{'action_type': 'InstanceStart'}");
    assert_string_equal(c->fake.calls, "SS");
    assert_int_equal(c->t.state, API_RUNNING);
}

static void test_actions(void **state)
{
    struct ctx *c = *state;
    FAULT(c,
          DESER "unknown variant `Reboot`, expected one of `FlushMetrics`, `InstanceStart`, "
                "`SendCtrlAltDel`.",
          "PUT", "/actions", "{'action_type': 'Reboot'}");
    FAULT(c,
          DESER "unknown variant `instancestart`, expected one of `FlushMetrics`, "
                "`InstanceStart`, `SendCtrlAltDel`.",
          "PUT", "/actions", "{'action_type': 'instancestart'}");
    FAULT(c, DESER "missing field `action_type`.", "PUT", "/actions", "{}");
    FAULT(c, DESER "field `action_type` must be a string.", "PUT", "/actions",
          "{'action_type': 1}");
    FAULT(c, DESER "field `action_type` must be a string.", "PUT", "/actions",
          "{'action_type': null}");
    FAULT(c, DESER "unknown field `payload`.", "PUT", "/actions",
          "{'action_type': 'SendCtrlAltDel', 'payload': 1}");
    FAULT(c, BEFORE, "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
    /* before start and without metrics: refused either way */
    FAULT_ANY(c, "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "");

    start_vm(c);
    OK(c, "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
    assert_string_equal(c->fake.calls, "SC");
    c->fake.fail_op = "ctrl_alt_del";
    c->fake.fail_msg = "The keyboard is not ready.";
    FAULT(c, "The keyboard is not ready.", "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
    assert_string_equal(c->fake.calls, "SCC");
    c->fake.fail_op = NULL;
    /* Paused: the key press is still delivered */
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    OK(c, "PUT", "/actions", "{'action_type': 'SendCtrlAltDel'}");
    assert_string_equal(c->fake.calls, "SCCPC");

    /* FlushMetrics without metrics configured: nothing to flush, 204 as Firecracker */
    OK(c, "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "SCCPC");
}

static void test_flush_metrics(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/metrics", "{'metrics_path': '%s'}", c->metrics);
    start_vm(c);
    OK(c, "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "MSF");
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    OK(c, "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "MSFPF");
    c->fake.fail_op = "flush_metrics";
    c->fake.fail_msg = "Cannot write the metrics: broken pipe";
    FAULT(c, "Cannot write the metrics: broken pipe", "PUT", "/actions",
          "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "MSFPFF");
}

static void test_pause_resume(void **state)
{
    struct ctx *c = *state;
    FAULT(c, BEFORE, "PATCH", "/vm", "{'state': 'Paused'}");
    FAULT(c, BEFORE, "PATCH", "/vm", "{'state': 'Resumed'}");
    FAULT(c, DESER "unknown variant `Stopped`, expected `Paused` or `Resumed`.", "PATCH", "/vm",
          "{'state': 'Stopped'}");
    assert_string_equal(c->fake.calls, "");
    start_vm(c);
    FAULT(c, DESER "unknown variant `paused`, expected `Paused` or `Resumed`.", "PATCH", "/vm",
          "{'state': 'paused'}");
    FAULT(c, DESER "missing field `state`.", "PATCH", "/vm", "{}");
    FAULT(c, DESER "field `state` must be a string.", "PATCH", "/vm", "{'state': true}");
    FAULT(c, DESER "unknown field `vcpus`.", "PATCH", "/vm", "{'state': 'Paused', 'vcpus': 1}");
    /* resuming a running VM does nothing */
    OK(c, "PATCH", "/vm", "{'state': 'Resumed'}");
    assert_string_equal(c->fake.calls, "S");
    /* pausing fails: still running */
    c->fake.fail_op = "pause";
    c->fake.fail_msg = "Cannot pause: vCPU 1 does not answer";
    FAULT(c, "Cannot pause: vCPU 1 does not answer", "PATCH", "/vm", "{'state': 'Paused'}");
    assert_int_equal(c->t.state, API_RUNNING);
    assert_string_equal(c->fake.calls, "SP");
    c->fake.fail_op = NULL;
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    assert_int_equal(c->t.state, API_PAUSED);
    assert_string_equal(c->fake.calls, "SPP");
    /* pausing a paused VM does nothing */
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    assert_string_equal(c->fake.calls, "SPP");
    assert_int_equal(c->t.state, API_PAUSED);
    /* resuming fails: still paused */
    c->fake.fail_op = "resume";
    c->fake.fail_msg = "Cannot resume";
    FAULT(c, "Cannot resume", "PATCH", "/vm", "{'state': 'Resumed'}");
    assert_int_equal(c->t.state, API_PAUSED);
    c->fake.fail_op = NULL;
    OK(c, "PATCH", "/vm", "{'state': 'Resumed'}");
    assert_int_equal(c->t.state, API_RUNNING);
    assert_string_equal(c->fake.calls, "SPPRR");
    OK(c, "PATCH", "/vm", "{'state': 'Resumed'}");
    assert_string_equal(c->fake.calls, "SPPRR");
}

/* --- snapshots and live upgrade ------------------------------------------------------------ */

static void test_snapshot_create(void **state)
{
    struct ctx *c = *state;
#define FULL "{'snapshot_path': '/s', 'mem_file_path': '/m', 'snapshot_type': 'Full'}"
    FAULT(c, BEFORE, "PUT", "/snapshot/create", FULL);
    start_vm(c);
    FAULT(c, "Cannot create a snapshot of a running microVM: pause it first (PATCH /vm).", "PUT",
          "/snapshot/create", FULL);
    OK(c, "PATCH", "/vm", "{'state': 'Paused'}");
    FAULT(c, DESER "missing field `mem_file_path`.", "PUT", "/snapshot/create",
          "{'snapshot_path': '/s'}");
    FAULT(c, DESER "unknown variant `Incremental`, expected `Full` or `Diff`.", "PUT",
          "/snapshot/create",
          "{'snapshot_path': '/s', 'mem_file_path': '/m', 'snapshot_type': 'Incremental'}");
    FAULT(c, DESER "unknown field `compress`.", "PUT", "/snapshot/create",
          "{'snapshot_path': '/s', 'mem_file_path': '/m', 'compress': true}");
    FAULT(c, "The snapshot and memory file paths must not be empty.", "PUT", "/snapshot/create",
          "{'snapshot_path': '', 'mem_file_path': '/m'}");
    assert_string_equal(c->fake.calls, "SP");
    OK(c, "PUT", "/snapshot/create", FULL);
    assert_string_equal(c->fake.snapshot_path, "/s");
    assert_string_equal(c->fake.mem_file_path, "/m");
    assert_false(c->fake.diff);
    OK(c, "PUT", "/snapshot/create",
       "{'snapshot_path': '/s2', 'mem_file_path': '/d2', 'snapshot_type': 'Diff'}");
    assert_true(c->fake.diff);
    /* the VMM's own refusal goes through as the fault message; the VM stays paused */
    c->fake.fail_op = "snapshot_create";
    c->fake.fail_msg = "Cannot create the snapshot: disk full";
    FAULT(c, "Cannot create the snapshot: disk full", "PUT", "/snapshot/create", FULL);
    assert_int_equal(c->t.state, API_PAUSED);
    assert_string_equal(c->fake.calls, "SPWWW");
#undef FULL
}

static void test_snapshot_load(void **state)
{
    struct ctx *c = *state;
    FAULT(c, DESER "missing field `snapshot_path`.", "PUT", "/snapshot/load",
          "{'mem_file_path': '/m'}");
    FAULT(c, "Exactly one of mem_backend and mem_file_path is required.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s'}");
    FAULT(c, "Exactly one of mem_backend and mem_file_path is required.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_file_path': '/m', "
          "'mem_backend': {'backend_type': 'File', 'backend_path': '/m'}}");
    FAULT(c, "The Uffd memory backend is not supported: use File.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_backend': {'backend_type': 'Uffd', 'backend_path': '/u'}}");
    FAULT(c, DESER "missing field `backend_path`.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_backend': {'backend_type': 'File'}}");
    FAULT(c, DESER "field `network_overrides` must be a list.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_file_path': '/m', 'network_overrides': {}}");
    FAULT(c, DESER "missing field `host_dev_name`.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_file_path': '/m', 'network_overrides': [{'iface_id': "
          "'eth0'}]}");
    FAULT(c, "The snapshot and memory file paths must not be empty.", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_file_path': ''}");
    assert_string_equal(c->fake.calls, "");
    /* a failed load leaves a fresh VMM that may try again */
    c->fake.fail_op = "snapshot_load";
    c->fake.fail_msg = "Cannot load the snapshot: not a duvisor snapshot";
    FAULT(c, "Cannot load the snapshot: not a duvisor snapshot", "PUT", "/snapshot/load",
          "{'snapshot_path': '/s', 'mem_file_path': '/m'}");
    assert_int_equal(c->t.state, API_NOT_STARTED);
    c->fake.fail_op = NULL;
    OK(c, "PUT", "/snapshot/load",
       "{'snapshot_path': '/s', 'mem_backend': {'backend_type': 'File', 'backend_path': '/m'}, "
       "'network_overrides': [{'iface_id': 'eth0', 'host_dev_name': 'tap7'}]}");
    assert_int_equal(c->t.state, API_PAUSED); /* resume_vm defaults to false */
    assert_string_equal(c->fake.mem_file_path, "/m");
    assert_string_equal(c->fake.override_id, "eth0");
    assert_string_equal(c->fake.override_dev, "tap7");
    FAULT(c, "Loading a microVM snapshot not allowed after starting the microVM.", "PUT",
          "/snapshot/load", "{'snapshot_path': '/s', 'mem_file_path': '/m'}");
    OK(c, "PATCH", "/vm", "{'state': 'Resumed'}");
    assert_string_equal(c->fake.calls, "OOR");
}

static void test_snapshot_load_resumes_and_needs_a_fresh_vmm(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/snapshot/load",
       "{'snapshot_path': '/s', 'mem_file_path': '/m', 'resume_vm': true}");
    assert_int_equal(c->t.state, API_RUNNING);
    assert_true(c->fake.resume_vm);
    teardown(state);
    setup(state);
    c = *state;
    OK(c, "PUT", "/machine-config", "{'vcpu_count': 2, 'mem_size_mib': 256}");
    FAULT(c, "Loading a microVM snapshot not allowed after configuring boot-specific resources.",
          "PUT", "/snapshot/load", "{'snapshot_path': '/s', 'mem_file_path': '/m'}");
    assert_string_equal(c->fake.calls, "");
}

static void test_upgrade(void **state)
{
    struct ctx *c = *state;
    FAULT(c, BEFORE, "PUT", "/upgrade", "{}");
    start_vm(c);
    FAULT(c, DESER "unknown field `path`.", "PUT", "/upgrade", "{'path': '/x'}");
    FAULT(c, DESER "field `binary` must be a string.", "PUT", "/upgrade", "{'binary': 1}");
    OK(c, "PUT", "/upgrade", "{}");
    assert_string_equal(c->fake.binary, "");
    OK(c, "PUT", "/upgrade", "{'binary': '/opt/duvisor-2'}");
    assert_string_equal(c->fake.binary, "/opt/duvisor-2");
    assert_string_equal(c->fake.calls, "SGG");
}

/* --- PUT /logger, /metrics, /entropy ------------------------------------------------------ */

static void test_logger(void **state)
{
    struct ctx *c = *state;
    static const struct {
        const char *text;
        enum api_log_level level;
    } levels[] = {
        {"Error", API_LOG_ERROR},  {"error", API_LOG_ERROR},  {"WARNING", API_LOG_WARNING},
        {"Warn", API_LOG_WARNING}, {"warn", API_LOG_WARNING}, {"Info", API_LOG_INFO},
        {"iNfO", API_LOG_INFO},    {"debug", API_LOG_DEBUG},  {"DEBUG", API_LOG_DEBUG},
        {"Trace", API_LOG_TRACE},  {"Off", API_LOG_OFF},      {"off", API_LOG_OFF},
    };
    for (size_t i = 0; i < sizeof(levels) / sizeof(levels[0]); i++) {
        c->fake.calls[0] = '\0';
        OK(c, "PUT", "/logger", "{'level': '%s'}", levels[i].text);
        assert_string_equal(c->fake.calls, "L");
        assert_int_equal(c->fake.logger.level, levels[i].level);
        assert_true(c->fake.logger.set);
        assert_true(c->t.logger.set);
        assert_int_equal(c->t.logger.level, levels[i].level);
    }
    c->fake.calls[0] = '\0';
    FAULT(c, "Invalid log level 'verbose': use Error, Warning, Info, Debug, Trace or Off.", "PUT",
          "/logger", "{'level': 'verbose'}");
    FAULT(c, "Invalid log level '': use Error, Warning, Info, Debug, Trace or Off.", "PUT",
          "/logger", "{'level': ''}");
    FAULT(c, DESER "unknown field `format`.", "PUT", "/logger", "{'format': 'json'}");
    FAULT(c, DESER "field `show_level` must be a boolean.", "PUT", "/logger",
          "{'show_level': 'yes'}");
    assert_string_equal(c->fake.calls, "");
    /* everything, then the defaults again: PUT replaces the logger */
    OK(c, "PUT", "/logger",
       "{'log_path': '%s', 'level': 'Trace', 'show_level': true, 'show_log_origin': true, "
       "'module': 'api_server'}",
       c->log);
    assert_string_equal(c->fake.logger.log_path, c->log);
    assert_int_equal(c->fake.logger.level, API_LOG_TRACE);
    assert_true(c->fake.logger.show_level);
    assert_true(c->fake.logger.show_log_origin);
    assert_string_equal(c->fake.logger.module, "api_server");
    assert_int_equal(memcmp(&c->fake.logger, &c->t.logger, sizeof(c->t.logger)), 0);
    OK(c, "PUT", "/logger", "{}");
    assert_true(c->t.logger.set);
    assert_string_equal(c->t.logger.log_path, "");
    assert_int_equal(c->t.logger.level, API_LOG_INFO);
    assert_false(c->t.logger.show_level);
    assert_false(c->t.logger.show_log_origin);
    assert_string_equal(c->t.logger.module, "");
    assert_string_equal(c->fake.calls, "LL");
    /* the VMM cannot open the log: its words, and the logger stays as it was */
    c->fake.fail_op = "set_logger";
    c->fake.fail_msg = "Cannot open the log file: Permission denied";
    FAULT(c, "Cannot open the log file: Permission denied", "PUT", "/logger",
          "{'log_path': '/proc/forbidden', 'level': 'Debug'}");
    assert_int_equal(c->t.logger.level, API_LOG_INFO);
    assert_string_equal(c->t.logger.log_path, "");
    /* a VMM without a set_logger takes it as given */
    c->t.ops = &fake_ops_no_sinks;
    OK(c, "PUT", "/logger", "{'level': 'Error', 'log_path': '/dev/null'}");
    assert_int_equal(c->t.logger.level, API_LOG_ERROR);
    assert_string_equal(c->t.logger.log_path, "/dev/null");
}

static void test_metrics(void **state)
{
    struct ctx *c = *state;
    FAULT(c, DESER "missing field `metrics_path`.", "PUT", "/metrics", "{}");
    FAULT(c, DESER "field `metrics_path` must be a string.", "PUT", "/metrics",
          "{'metrics_path': null}");
    FAULT(c, DESER "unknown field `path`.", "PUT", "/metrics", "{'metrics_path': '%s', 'path': 1}",
          c->metrics);
    /* the VMM cannot open it: not set, and it may be tried again */
    c->fake.fail_op = "set_metrics";
    c->fake.fail_msg = "Cannot open the metrics file: No space left on device";
    FAULT(c, "Cannot open the metrics file: No space left on device", "PUT", "/metrics",
          "{'metrics_path': '%s'}", c->metrics);
    assert_false(c->t.metrics.set);
    c->fake.fail_op = NULL;
    OK(c, "PUT", "/metrics", "{'metrics_path': '%s'}", c->metrics);
    assert_true(c->t.metrics.set);
    assert_string_equal(c->t.metrics.metrics_path, c->metrics);
    assert_true(c->fake.metrics.set);
    assert_string_equal(c->fake.metrics.metrics_path, c->metrics);
    assert_string_equal(c->fake.calls, "MM");
    /* once */
    FAULT(c, "Reinitialization of metrics not allowed.", "PUT", "/metrics",
          "{'metrics_path': '%s'}", c->log);
    assert_string_equal(c->fake.calls, "MM");
    assert_string_equal(c->t.metrics.metrics_path, c->metrics);
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "metrics"), "{'metrics_path': '%s'}",
                c->metrics);
    /* a VMM without a set_metrics takes it as given */
    struct vm_config *cfg = malloc(sizeof(*cfg));
    assert_non_null(cfg);
    struct vm_config *saved_cfg = c->t.cfg;
    init_target(&c->t, cfg, &c->fake);
    c->t.ops = &fake_ops_no_sinks;
    OK(c, "PUT", "/metrics", "{'metrics_path': '/dev/null'}");
    assert_true(c->t.metrics.set);
    assert_string_equal(c->fake.calls, "");
    c->t.cfg = saved_cfg;
    free(cfg);
}

static void test_vsock(void **state)
{
    struct ctx *c = *state;
    FAULT(c, DESER "unknown field `port`.", "PUT", "/vsock",
          "{'guest_cid': 3, 'uds_path': '/tmp/v.sock', 'port': 1}");
    FAULT(c, DESER "missing field `uds_path`.", "PUT", "/vsock", "{'guest_cid': 3}");
    FAULT_HAS(c, "it must be 3 to", "PUT", "/vsock", "{'guest_cid': 2, 'uds_path': '/tmp/v.sock'}");
    FAULT_HAS(c, "needs a Unix socket path", "PUT", "/vsock", "{'guest_cid': 3, 'uds_path': ''}");
    assert_int_equal(c->cfg->vsock_cid, 0);
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "vsock"), "null");
    OK(c, "PUT", "/vsock", "{'vsock_id': 'vsock0', 'guest_cid': 3, 'uds_path': '/tmp/v.sock'}");
    assert_int_equal(c->cfg->vsock_cid, 3);
    assert_string_equal(c->cfg->vsock_uds, "/tmp/v.sock");
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "vsock"),
                "{'vsock_id': 'vsock0', 'guest_cid': 3, 'uds_path': '/tmp/v.sock'}");
    OK(c, "PUT", "/vsock", "{'guest_cid': 4294967294, 'uds_path': '/tmp/w.sock'}"); /* replaces */
    assert_int_equal(c->cfg->vsock_cid, 4294967294u);
    start_vm(c);
    FAULT(c, AFTER, "PUT", "/vsock", "{'guest_cid': 5, 'uds_path': '/tmp/v.sock'}");
}

static void test_entropy(void **state)
{
    struct ctx *c = *state;
    FAULT(c, DESER "unknown field `source`.", "PUT", "/entropy", "{'source': '/dev/urandom'}");
    FAULT(c, DESER "expected a JSON object.", "PUT", "/entropy", "[]");
    assert_false(c->t.entropy_set);
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "entropy"), "null");
    OK(c, "PUT", "/entropy", "{}");
    assert_true(c->t.entropy_set);
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "entropy"), "{'rate_limiter': null}");
    OK(c, "PUT", "/entropy",
       "{'rate_limiter': {'bandwidth': {'size': 1000, 'one_time_burst': 0, 'refill_time': 100}}}");
    OK(c, "PUT", "/entropy", "{'rate_limiter': null}");
    start_vm(c);
    FAULT(c, AFTER, "PUT", "/entropy", "{}");
}

/* --- /balloon -------------------------------------------------------------------------------- */

/* GET path must be refused with 400 and msg. */
static void get_fault_at(int line, struct ctx *c, const char *path, const char *msg)
{
    int status = send_raw(c, "GET", path, NULL, 0);
    if (status != 400 || !fault_text(c) || strcmp(fault_text(c), msg))
        fail_msg("line %d: GET %s: got %d %s, want 400 %s", line, path, status,
                 c->resp.body ? c->resp.body : "(no body)", msg);
}
#define GET_FAULT(c, path, msg) get_fault_at(__LINE__, (c), (path), (msg))

static void test_balloon(void **state)
{
    struct ctx *c = *state;
    const char *none = "No balloon device configured.";
    GET_FAULT(c, "/balloon", none);
    GET_FAULT(c, "/balloon/statistics", none);
    FAULT(c, none, "PATCH", "/balloon", "{'amount_mib': 1}");
    FAULT(c, none, "PATCH", "/balloon/statistics", "{'stats_polling_interval_s': 1}");
    FAULT(c, DESER "missing field `deflate_on_oom`.", "PUT", "/balloon", "{'amount_mib': 1}");
    FAULT(c, DESER "missing field `amount_mib`.", "PUT", "/balloon", "{'deflate_on_oom': true}");
    FAULT(c, DESER "unknown field `size`.", "PUT", "/balloon",
          "{'amount_mib': 1, 'deflate_on_oom': true, 'size': 2}");
    FAULT(c, DESER "field `amount_mib` must be a non-negative integer.", "PUT", "/balloon",
          "{'amount_mib': -1, 'deflate_on_oom': true}");
    FAULT_HAS(c, "more than the guest's memory (256 MiB)", "PUT", "/balloon",
              "{'amount_mib': 257, 'deflate_on_oom': true}");
    FAULT_HAS(c, "at most 65535 seconds", "PUT", "/balloon",
              "{'amount_mib': 1, 'deflate_on_oom': true, 'stats_polling_interval_s': 65536}");
    FAULT_HAS(c, "Free page hinting is not supported", "PUT", "/balloon",
              "{'amount_mib': 1, 'deflate_on_oom': true, 'free_page_hinting': true}");
    assert_false(c->cfg->balloon.enabled);
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "balloon"), "null");

    OK(c, "PUT", "/balloon", "{'amount_mib': 256, 'deflate_on_oom': false}");
    EXPECT_JSON(GET(c, "/balloon"), "{'amount_mib': 256, 'deflate_on_oom': false, "
                                    "'stats_polling_interval_s': 0, 'free_page_reporting': false}");
    GET_FAULT(c, "/balloon/statistics", "Statistics for the balloon device are not enabled.");
    OK(c, "PUT", "/balloon",
       "{'amount_mib': 64, 'deflate_on_oom': true, 'stats_polling_interval_s': 5, "
       "'free_page_reporting': true, 'free_page_hinting': false}");
    assert_true(c->cfg->balloon.enabled && c->cfg->balloon.deflate_on_oom &&
                c->cfg->balloon.free_page_reporting);
    GET_FAULT(c, "/balloon/statistics", BEFORE);
    /* before boot PATCH edits the configuration, and calls nothing */
    OK(c, "PATCH", "/balloon", "{'amount_mib': 32}");
    OK(c, "PATCH", "/balloon/statistics", "{'stats_polling_interval_s': 2}");
    EXPECT_JSON(GET(c, "/balloon"), "{'amount_mib': 32, 'deflate_on_oom': true, "
                                    "'stats_polling_interval_s': 2, 'free_page_reporting': true}");
    EXPECT_JSON(json_object_get(GET(c, "/vm/config"), "balloon"),
                "{'amount_mib': 32, 'deflate_on_oom': true, 'stats_polling_interval_s': 2, "
                "'free_page_reporting': true}");
    assert_string_equal(c->fake.calls, "");

    start_vm(c);
    FAULT(c, AFTER, "PUT", "/balloon", "{'amount_mib': 1, 'deflate_on_oom': true}");
    OK(c, "PATCH", "/balloon", "{'amount_mib': 100}");
    assert_int_equal(c->fake.balloon_mib, 100);
    assert_int_equal(c->cfg->balloon.amount_mib, 100);
    FAULT_HAS(c, "more than the guest's memory", "PATCH", "/balloon", "{'amount_mib': 300}");
    FAULT(c, DESER "unknown field `deflate_on_oom`.", "PATCH", "/balloon",
          "{'amount_mib': 1, 'deflate_on_oom': true}");
    c->fake.fail_op = "balloon_set_target";
    c->fake.fail_msg = "The microVM has no balloon device.";
    FAULT(c, "The microVM has no balloon device.", "PATCH", "/balloon", "{'amount_mib': 5}");
    c->fake.fail_op = NULL;
    assert_int_equal(c->cfg->balloon.amount_mib, 100);
    EXPECT_JSON(GET(c, "/balloon/statistics"),
                "{'target_pages': 512, 'actual_pages': 300, 'target_mib': 2, 'actual_mib': 1, "
                "'swap_out': 7, 'free_memory': %d, 'hugetlb_failures': 3}",
                100 << 20);
    OK(c, "PATCH", "/balloon/statistics", "{'stats_polling_interval_s': 9}");
    assert_int_equal(c->fake.balloon_interval, 9);
    FAULT(c, "Statistics for the balloon device cannot be disabled after boot.", "PATCH",
          "/balloon/statistics", "{'stats_polling_interval_s': 0}");
    assert_string_equal(c->fake.calls, "STTBI");
}

static void test_balloon_stats_stay_off_after_boot(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/balloon", "{'amount_mib': 0, 'deflate_on_oom': false}");
    start_vm(c);
    FAULT_HAS(c, "can only be enabled before boot", "PATCH", "/balloon/statistics",
              "{'stats_polling_interval_s': 1}");
    GET_FAULT(c, "/balloon/statistics", "Statistics for the balloon device are not enabled.");
}

/* --- the request layer -------------------------------------------------------------------- */

static void test_bad_bodies(void **state)
{
    struct ctx *c = *state;
    FAULT_PREFIX(c, DESER, "PUT", "/machine-config", "{'vcpu_count': 1,");
    FAULT_PREFIX(c, DESER, "PUT", "/machine-config", "{'vcpu_count': 1} trailing");
    FAULT_PREFIX(c, DESER, "PUT", "/machine-config", "not json");
    FAULT_PREFIX(c, DESER, "PUT", "/logger", "{'level': 'Info', 'level': 'Debug'}");
    FAULT_HAS(c, "duplicate", "PUT", "/logger", "{'level': 'Info', 'level': 'Info'}");
    FAULT_PREFIX(c, DESER, "PUT", "/actions", "'InstanceStart'");
    FAULT_PREFIX(c, DESER, "PUT", "/actions", "42");
    FAULT(c, DESER "expected a JSON object.", "PUT", "/actions", "['InstanceStart']");
    FAULT(c, DESER "expected a JSON object.", "PUT", "/machine-config", "[]");
    FAULT(c, DESER "expected a JSON object.", "PATCH", "/vm", "[{'state': 'Paused'}]");
    /* a NUL inside the body is not JSON */
    FAULT_RAW(c, 400, M_PREFIX, DESER, "PUT", "/logger", "{\"level\": \"Info\"}\0x", 19);
    FAULT_RAW(c, 400, M_PREFIX, DESER, "PUT", "/logger", "{\"level\": \"In\0fo\"}", 18);
    FAULT_RAW(c, 400, M_PREFIX, DESER, "PUT", "/logger", "{\"level\": \"\xff\"}", 14);
    /* a body need not end in NUL: only len bytes are read */
    const char body[] = "{\"level\": \"Debug\"}garbage";
    assert_int_equal(send_raw(c, "PUT", "/logger", body, 18), 204);
    assert_int_equal(c->t.logger.level, API_LOG_DEBUG);
    /* empty bodies */
    FAULT_RAW(c, 400, M_EXACT, "Empty PUT request.", "PUT", "/actions", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "Empty PUT request.", "PUT", "/machine-config", "", 0);
    FAULT_RAW(c, 400, M_EXACT, "Empty PATCH request.", "PATCH", "/vm", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "Empty PATCH request.", "PATCH", "/machine-config", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "GET request cannot have a body.", "GET", "/machine-config", "{}",
              2);
    FAULT_RAW(c, 400, M_EXACT, "GET request cannot have a body.", "GET", "/", "{}", 2);
    FAULT_RAW(c, 400, M_EXACT, "GET request cannot have a body.", "GET", "/vm/config", "x", 1);
}

static void test_bad_routes(void **state)
{
    struct ctx *c = *state;
    FAULT(c, "Invalid request method and/or path: PUT /foo.", "PUT", "/foo", "{}");
    FAULT(c, "Invalid request method and/or path: PATCH /boot-source.", "PATCH", "/boot-source",
          "{'kernel_image_path': '%s'}", c->kernel);
    FAULT(c, "Invalid request method and/or path: PATCH /actions.", "PATCH", "/actions",
          "{'action_type': 'InstanceStart'}");
    FAULT(c, "Invalid request method and/or path: PUT /vm.", "PUT", "/vm", "{'state': 'Paused'}");
    FAULT(c, "Invalid request method and/or path: PATCH /logger.", "PATCH", "/logger", "{}");
    FAULT(c, "Invalid request method and/or path: PUT /machine-config/x.", "PUT",
          "/machine-config/x", "{'vcpu_count': 1, 'mem_size_mib': 128}");
    FAULT(c, "Invalid request method and/or path: PUT /drives.", "PUT", "/drives",
          "{'drive_id': 'a', 'path_on_host': '%s', 'is_root_device': false}", c->drive);
    FAULT(c, "Invalid request method and/or path: PUT /network-interfaces/.", "PUT",
          "/network-interfaces/", "{'iface_id': 'a', 'host_dev_name': 'user'}");
    FAULT(c, "Invalid request method and/or path: PATCH /snapshot/create.", "PATCH",
          "/snapshot/create", "{'snapshot_path': '/s', 'mem_file_path': '/m'}");
    FAULT(c, "Invalid request method and/or path: PUT /snapshot/delete.", "PUT", "/snapshot/delete",
          "{}");
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: GET /foo.", "GET", "/foo", NULL,
              0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: GET /drives/rootfs.", "GET",
              "/drives/rootfs", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: GET /vm/config/x.", "GET",
              "/vm/config/x", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: GET /vm.", "GET", "/vm", NULL,
              0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: DELETE /drives/rootfs.",
              "DELETE", "/drives/rootfs", NULL, 0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: DELETE /.", "DELETE", "/", NULL,
              0);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: POST /actions.", "POST",
              "/actions", "{\"action_type\": \"InstanceStart\"}", 32);
    FAULT_RAW(c, 400, M_EXACT, "Invalid request method and/or path: put /actions.", "put",
              "/actions", "{\"action_type\": \"InstanceStart\"}", 32);
    assert_string_equal(c->fake.calls, "");
    assert_int_equal(c->t.state, API_NOT_STARTED);
}

static void test_payload_limit(void **state)
{
    struct ctx *c = *state;
    /* {"level": "Debug"} padded with spaces to exactly the limit: served */
    char *body = malloc(API_MAX_PAYLOAD + 2);
    assert_non_null(body);
    const char *inner = "\"level\": \"Debug\"}";
    memset(body, ' ', API_MAX_PAYLOAD + 1);
    body[0] = '{';
    memcpy(body + API_MAX_PAYLOAD - strlen(inner), inner, strlen(inner));
    assert_int_equal(send_raw(c, "PUT", "/logger", body, API_MAX_PAYLOAD), 204);
    assert_int_equal(c->t.logger.level, API_LOG_DEBUG);
    /* one byte more: 413, whatever the body */
    body[API_MAX_PAYLOAD + 1] = '\0';
    body[API_MAX_PAYLOAD] = ' ';
    FAULT_RAW(
        c, 413, M_EXACT,
        "Request payload with size 51201 is larger than the limit of 51200 allowed by server.",
        "PUT", "/logger", body, API_MAX_PAYLOAD + 1);
    FAULT_RAW(
        c, 413, M_EXACT,
        "Request payload with size 51201 is larger than the limit of 51200 allowed by server.",
        "PATCH", "/vm", body, API_MAX_PAYLOAD + 1);
    free(body);
    /* the HTTP layer's own refusals take the same shape */
    struct api_response r;
    api_fault(&r, 413,
              "Request payload with size %zu is larger than the limit of %u allowed by "
              "server.",
              (size_t)99999, API_MAX_PAYLOAD);
    assert_int_equal(r.status, 413);
    json_t *j = json_loads(r.body, 0, NULL);
    EXPECT_JSON(j, "{'fault_message': 'Request payload with size 99999 is larger than the limit "
                   "of 51200 allowed by server.'}");
    json_decref(j);
    api_response_free(&r);
    assert_null(r.body);
    api_fault(&r, 400, "quote \" backslash \\ newline \n tab \t");
    j = json_loads(r.body, 0, NULL);
    assert_string_equal(json_string_value(json_object_get(j, "fault_message")),
                        "quote \" backslash \\ newline \n tab \t");
    json_decref(j);
    api_response_free(&r);
}

/* A sample of refusals on a fully configured VM: the configuration stays byte for byte. */
static void test_refusals_change_nothing(void **state)
{
    struct ctx *c = *state;
    configure_all(c);
    struct vm_config *before = malloc(sizeof(*before));
    assert_non_null(before);
    memcpy(before, c->cfg, sizeof(*before));
    GET(c, "/vm/config");
    char *rendered = strdup(c->resp.body);
    assert_non_null(rendered);

    FAULT_ANY(c, "PUT", "/machine-config", "{'vcpu_count': 8, 'mem_size_mib': 4096, 'smt': true}");
    FAULT_ANY(c, "PUT", "/machine-config",
              "{'vcpu_count': 8, 'mem_size_mib': 4096, 'track_dirty_pages': false, 'x': 1}");
    FAULT_ANY(c, "PATCH", "/machine-config", "{'vcpu_count': 8, 'huge_pages': '1G'}");
    FAULT_ANY(c, "PATCH", "/machine-config", "{'mem_size_mib': 4096, 'vcpu_count': 0}");
    FAULT_ANY(c, "PUT", "/boot-source",
              "{'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': 'new'}", c->elf,
              c->missing);
    FAULT_ANY(c, "PUT", "/boot-source", "{'kernel_image_path': '%s', 'boot_args': 'new'}", c->gzip);
    FAULT_ANY(c, "PUT", "/drives/rootfs",
              "{'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
              "'is_read_only': true, 'cache_type': 'Directsync'}",
              c->drive2);
    FAULT_ANY(c, "PUT", "/drives/data",
              "{'drive_id': 'data', 'path_on_host': '%s', 'is_root_device': true}", c->drive);
    FAULT_ANY(c, "PUT", "/drives/data",
              "{'drive_id': 'data', 'path_on_host': '%s', 'is_root_device': false}", c->missing);
    FAULT_ANY(c, "PUT", "/drives/new",
              "{'drive_id': 'new', 'path_on_host': '%s', 'is_root_device': false, "
              "'io_engine': 'Uring'}",
              c->drive);
    FAULT_ANY(c, "PUT", "/network-interfaces/eth0",
              "{'iface_id': 'eth0', 'host_dev_name': 'tap9', 'mtu': 10}");
    FAULT_ANY(c, "PUT", "/network-interfaces/eth0",
              "{'iface_id': 'eth0', 'host_dev_name': 'tap9', 'guest_mac': '02:aa:bb:cc:dd:ee'}");
    FAULT_ANY(c, "PUT", "/network-interfaces/eth1",
              "{'iface_id': 'eth1', 'host_dev_name': 'user', 'guest_mac': '03:00:00:00:00:00'}");
    FAULT_ANY(c, "PUT", "/network-interfaces/eth2",
              "{'iface_id': 'eth2', 'host_dev_name': 'tap0'}");
    FAULT_ANY(c, "PUT", "/logger", "{'level': 'loud', 'log_path': '/elsewhere'}");
    FAULT_ANY(c, "PUT", "/metrics", "{'metrics_path': '/elsewhere'}");
    FAULT_ANY(c, "PUT", "/entropy", "{'x': 1}");
    FAULT_ANY(c, "PUT", "/actions", "{'action_type': 'Reboot'}");
    FAULT_ANY(c, "PATCH", "/vm", "{'state': 'Paused'}");
    FAULT_ANY(c, "PATCH", "/drives/rootfs", "{'drive_id': 'rootfs', 'path_on_host': '%s'}",
              c->drive2);
    FAULT_ANY(c, "PUT", "/machine-config", "{'vcpu_count': 8, 'mem_size_mib': 4096");
    FAULT_ANY(c, "PUT", "/machine-config", "{'vcpu_count': 8, 'vcpu_count': 8}");
    FAULT_ANY(c, "PUT", "/nowhere", "{'vcpu_count': 8}");
    c->fake.fail_op = "set_logger";
    c->fake.fail_msg = "no";
    FAULT_ANY(c, "PUT", "/logger", "{'level': 'Trace', 'log_path': '/elsewhere'}");
    c->fake.fail_op = "start";
    FAULT_ANY(c, "PUT", "/actions", "{'action_type': 'InstanceStart'}");

    assert_int_equal(memcmp(before, c->cfg, sizeof(*before)), 0);
    GET(c, "/vm/config");
    assert_string_equal(c->resp.body, rendered);
    free(rendered);
    free(before);
}

/* --- api_load_config ---------------------------------------------------------------------- */

static int load(struct ctx *c, char *err, size_t err_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int load(struct ctx *c, char *err, size_t err_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = vbody(fmt, ap);
    va_end(ap);
    err[0] = '\0';
    int rc = api_load_config(&c->t, text, strlen(text), err, err_len);
    free(text);
    return rc;
}

static void test_load_config_full(void **state)
{
    struct ctx *c = *state;
    char err[512];
    int rc = load(c, err, sizeof(err),
                  "{'boot-source': {'kernel_image_path': '%s', 'initrd_path': '%s', "
                  "'boot_args': 'console=ttyS0 reboot=k panic=1'},"
                  " 'drives': ["
                  "  {'drive_id': 'scratch', 'path_on_host': '%s', 'is_root_device': false, "
                  "'is_read_only': false},"
                  "  {'drive_id': 'rootfs', 'path_on_host': '%s', 'is_root_device': true, "
                  "'is_read_only': true, 'partuuid': '1234-01', 'cache_type': 'Writeback', "
                  "'io_engine': 'Async', 'rate_limiter': null}],"
                  " 'machine-config': {'vcpu_count': 4, 'mem_size_mib': 1024, 'smt': false, "
                  "'track_dirty_pages': true},"
                  " 'network-interfaces': ["
                  "  {'iface_id': 'eth0', 'host_dev_name': 'tap0', 'guest_mac': "
                  "'06:00:AC:10:00:02'},"
                  "  {'iface_id': 'eth1', 'host_dev_name': 'user'}],"
                  " 'logger': {'log_path': '%s', 'level': 'Debug', 'show_level': true, "
                  "'show_log_origin': true},"
                  " 'metrics': {'metrics_path': '%s'},"
                  " 'entropy': {'rate_limiter': null},"
                  " 'balloon': null, 'vsock': null, 'mmds-config': null, 'cpu-config': null}",
                  c->kernel, c->initrd, c->drive2, c->drive, c->log, c->metrics);
    if (rc)
        fail_msg("api_load_config: %s", err);
    struct vm_config *cfg = c->cfg;
    assert_string_equal(cfg->kernel_path, c->kernel);
    assert_string_equal(cfg->initrd_path, c->initrd);
    assert_string_equal(cfg->append, "console=ttyS0 reboot=k panic=1");
    assert_int_equal(cfg->smp, 4);
    assert_int_equal(cfg->memory_bytes, 1ull << 30);
    assert_true(cfg->track_dirty_pages);
    assert_int_equal(cfg->ndisks, 2);
    assert_string_equal(cfg->disks[0].id, "rootfs");
    assert_string_equal(cfg->disks[0].path, c->drive);
    assert_true(cfg->disks[0].root);
    assert_true(cfg->disks[0].readonly);
    assert_string_equal(cfg->disks[0].partuuid, "1234-01");
    assert_string_equal(cfg->disks[1].id, "scratch");
    assert_string_equal(cfg->disks[1].path, c->drive2);
    assert_false(cfg->disks[1].root);
    assert_false(cfg->disks[1].readonly);
    expect_bootargs(cfg, "console=ttyS0 reboot=k panic=1 root=PARTUUID=1234-01 ro");
    assert_int_equal(cfg->nnics, 2);
    assert_string_equal(cfg->nics[0].id, "eth0");
    assert_int_equal(cfg->nics[0].kind, VM_NET_TAP);
    assert_string_equal(cfg->nics[0].options, "tap0");
    expect_mac(cfg->nics[0].mac, (const uint8_t[6]){0x06, 0x00, 0xac, 0x10, 0x00, 0x02});
    assert_true(cfg->nics[0].mac_set);
    assert_string_equal(cfg->nics[1].id, "eth1");
    assert_int_equal(cfg->nics[1].kind, VM_NET_USER);
    expect_mac(cfg->nics[1].mac, (const uint8_t[6]){0x52, 0x54, 0x00, 0x12, 0x34, 0x57});
    assert_false(cfg->nics[1].mac_set);
    assert_true(c->t.logger.set);
    assert_string_equal(c->t.logger.log_path, c->log);
    assert_int_equal(c->t.logger.level, API_LOG_DEBUG);
    assert_true(c->t.logger.show_level);
    assert_true(c->t.logger.show_log_origin);
    assert_true(c->t.metrics.set);
    assert_string_equal(c->t.metrics.metrics_path, c->metrics);
    assert_true(c->t.entropy_set);
    /* the logger first, then the metrics; the VM is not started: the caller starts it */
    assert_string_equal(c->fake.calls, "LM");
    assert_int_equal(c->t.state, API_NOT_STARTED);
    /* the same document over the API */
    json_t *j = GET(c, "/vm/config");
    EXPECT_JSON(json_object_get(j, "machine-config"),
                "{'vcpu_count': 4, 'mem_size_mib': 1024, 'smt': false, 'track_dirty_pages': "
                "true, 'huge_pages': 'None'}");
    EXPECT_JSON(json_object_get(j, "boot-source"),
                "{'kernel_image_path': '%s', 'initrd_path': '%s', 'boot_args': 'console=ttyS0 "
                "reboot=k panic=1'}",
                c->kernel, c->initrd);
    /* a second config file cannot set up metrics again */
    assert_int_equal(load(c, err, sizeof(err), "{'metrics': {'metrics_path': '%s'}}", c->metrics),
                     -1);
    assert_string_equal(err, "Reinitialization of metrics not allowed.");
}

static void test_load_config_refusals(void **state)
{
    struct ctx *c = *state;
    char err[512];
    struct vm_config *fresh = malloc(sizeof(*fresh));
    assert_non_null(fresh);
    vm_config_init(fresh);

    assert_int_equal(load(c, err, sizeof(err),
                          "{'boot-source': {'kernel_image_path': '%s'}, "
                          "'vsock_devices': []}",
                          c->kernel),
                     -1);
    assert_string_equal(err, DESER "unknown field `vsock_devices`.");
    const char *unsupported[] = {"mmds-config", "cpu-config"};
    for (size_t i = 0; i < sizeof(unsupported) / sizeof(unsupported[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "%s: not supported by this duvisor", unsupported[i]);
        assert_int_equal(load(c, err, sizeof(err),
                              "{'boot-source': {'kernel_image_path': '%s'}, '%s': {'x': 1}}",
                              c->kernel, unsupported[i]),
                         -1);
        assert_string_equal(err, want);
    }
    assert_int_equal(
        load(c, err, sizeof(err), "{'vsock': {'guest_cid': 2, 'uds_path': '/tmp/v.sock'}}"), -1);
    assert_string_equal(err, "vsock guest CID 2: it must be 3 to 4294967294");
    /* invalid JSON */
    assert_int_equal(load(c, err, sizeof(err), "{'boot-source': "), -1);
    assert_int_equal(strncmp(err, "invalid JSON: ", 14), 0);
    assert_int_equal(load(c, err, sizeof(err), "{'logger': {}, 'logger': {}}"), -1);
    assert_int_equal(strncmp(err, "invalid JSON: ", 14), 0);
    assert_int_equal(api_load_config(&c->t, "", 0, err, sizeof(err)), -1);
    assert_int_equal(strncmp(err, "invalid JSON: ", 14), 0);
    assert_int_equal(load(c, err, sizeof(err), "[]"), -1);
    assert_string_equal(err, DESER "expected a JSON object.");
    /* sections of the wrong shape */
    assert_int_equal(load(c, err, sizeof(err), "{'drives': {'drive_id': 'a'}}"), -1);
    assert_string_equal(err, "drives: expected an array");
    assert_int_equal(load(c, err, sizeof(err), "{'network-interfaces': 'user'}"), -1);
    assert_string_equal(err, "network-interfaces: expected an array");
    assert_int_equal(load(c, err, sizeof(err), "{'machine-config': {'vcpu_count': 2}}"), -1);
    assert_string_equal(err, DESER "missing field `mem_size_mib`.");
    assert_int_equal(
        load(c, err, sizeof(err), "{'boot-source': {'kernel_image_path': '%s'}}", c->missing), -1);
    assert_string_equal(err, "The kernel file cannot be opened: " ENOENT_MSG);
    assert_int_equal(load(c, err, sizeof(err),
                          "{'drives': [{'drive_id': 'a', 'path_on_host': '%s', "
                          "'is_root_device': false}]}",
                          c->missing),
                     -1);
    assert_string_equal(err, "The block device backing file cannot be opened: " ENOENT_MSG);
    assert_int_equal(load(c, err, sizeof(err), "{'drives': [7]}"), -1);
    assert_string_equal(err, DESER "expected a JSON object.");
    assert_int_equal(load(c, err, sizeof(err), "{'logger': {'level': 'chatty'}}"), -1);
    assert_string_equal(
        err, "Invalid log level 'chatty': use Error, Warning, Info, Debug, Trace or Off.");
    /* nothing so far changed anything */
    assert_int_equal(memcmp(fresh, c->cfg, sizeof(*fresh)), 0);
    assert_false(c->t.logger.set);
    assert_false(c->t.metrics.set);
    assert_false(c->t.entropy_set);
    assert_string_equal(c->fake.calls, "");

    /* null sections are skipped, and so is an empty file */
    assert_int_equal(load(c, err, sizeof(err),
                          "{'boot-source': null, 'drives': null, 'machine-config': null, "
                          "'network-interfaces': null, 'logger': null, 'metrics': null, "
                          "'entropy': null, 'balloon': null, 'vsock': null, 'mmds-config': null, "
                          "'cpu-config': null}"),
                     0);
    assert_int_equal(load(c, err, sizeof(err), "{}"), 0);
    assert_int_equal(load(c, err, sizeof(err), "{'drives': [], 'network-interfaces': []}"), 0);
    assert_int_equal(memcmp(fresh, c->cfg, sizeof(*fresh)), 0);
    assert_false(c->t.logger.set);
    assert_false(c->t.metrics.set);
    assert_false(c->t.entropy_set);
    assert_string_equal(c->fake.calls, "");
    EXPECT_JSON(GET(c, "/vm/config"), EMPTY_CONFIG);
    free(fresh);
}

/* --- known bugs: these fail until routes.c is fixed ---------------------------------------- */

/*
 * BUG (routes.c:293-303, parse_mac): sscanf's %2x takes a sign, leading
 * blanks and a 0x prefix, so "-5" is read as 0xfb, " 5" as 0x05 and "0x" as
 * 0. Firecracker (MacAddr::parse_str) wants exactly two hex digits per byte.
 */
static void test_bug_mac_needs_two_hex_digits(void **state)
{
    struct ctx *c = *state;
    const char *bad[] = {"52:54:00:12:34:-5", "52:54:00:12:34: 5", "52:54:00:12:0x:56",
                         "0x:54:00:12:34:56"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "guest_mac '%s' is not a unicast MAC address.", bad[i]);
        FAULT(c, want, "PUT", "/network-interfaces/eth0",
              "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '%s'}", bad[i]);
    }
}

/*
 * BUG (routes.c:35-43, api_fault; reply_json at 28-33): json_pack refuses a
 * string that is not valid UTF-8 and api_fault then replies with no body at
 * all. That happens whenever a message is cut inside a multi-byte character
 * (the %.32s of the log level at 398-400, the %.64s of an unknown field at
 * 89, the %.64s of an unknown variant at 467 and 481, the %.32s of a MAC at
 * 343, ..., and FAULT_MAX truncation of a long path) and for a request path
 * that is not UTF-8 (749; libmicrohttpd hands over the percent-decoded path,
 * so "PUT /%ff" does it). api.h promises {"fault_message": ...} for every
 * refusal.
 */
static void test_bug_fault_body_is_always_json(void **state)
{
    struct ctx *c = *state;
    /* 31 ASCII bytes, then a 2-byte character across the 32-byte cut */
    FAULT_PREFIX(c, "Invalid log level 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "PUT", "/logger",
                 "{'level': 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9'}");
    FAULT_PREFIX(c, DESER "unknown field `", "PUT", "/logger",
                 "{'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9': 1}");
    FAULT_PREFIX(c, DESER "unknown variant `", "PUT", "/actions",
                 "{'action_type': "
                 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xe2\x82\xac'}");
    FAULT_PREFIX(c, "guest_mac '", "PUT", "/network-interfaces/eth0",
                 "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': "
                 "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9'}");
    FAULT_PREFIX(c, "Invalid request method and/or path: PUT /", "PUT", "/\xff", "{}");
}

/*
 * FIRECRACKER DEVIATION (routes.c:666-669): PUT /logger and PUT /metrics are
 * pre-boot only in Firecracker (RuntimeApiController answers ConfigureLogger
 * and ConfigureMetrics with OperationNotSupportedPostBoot); the router takes
 * them while the VM runs.
 */
static void test_bug_logger_and_metrics_are_pre_boot(void **state)
{
    struct ctx *c = *state;
    start_vm(c);
    FAULT(c, AFTER, "PUT", "/logger", "{'level': 'Debug'}");
    FAULT(c, AFTER, "PUT", "/metrics", "{'metrics_path': '%s'}", c->metrics);
    assert_string_equal(c->fake.calls, "S");
}

/*
 * FIRECRACKER DEVIATION (routes.c:461-465): FlushMetrics is refused before
 * InstanceStart in Firecracker (PrebootApiController: OperationNotSupportedPreBoot,
 * as for SendCtrlAltDel); the router flushes when metrics are configured.
 */
static void test_bug_flush_metrics_is_post_boot(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/metrics", "{'metrics_path': '%s'}", c->metrics);
    FAULT(c, BEFORE, "PUT", "/actions", "{'action_type': 'FlushMetrics'}");
    assert_string_equal(c->fake.calls, "M");
}

/*
 * BUG (routes.c:339-346, apply_nic): the default MAC of an interface is
 * picked by slot number alone, so an interface without guest_mac is refused
 * ("The MAC address is already in use: (default)") when an earlier one was
 * given that address. guest_mac is optional in Firecracker: the request is
 * valid and should get a MAC no other interface has.
 */
static void test_bug_default_mac_avoids_taken_ones(void **state)
{
    struct ctx *c = *state;
    OK(c, "PUT", "/network-interfaces/eth0",
       "{'iface_id': 'eth0', 'host_dev_name': 'user', 'guest_mac': '52:54:00:12:34:57'}");
    OK(c, "PUT", "/network-interfaces/eth1", "{'iface_id': 'eth1', 'host_dev_name': 'user'}");
    assert_int_equal(c->cfg->nnics, 2);
    assert_int_not_equal(memcmp(c->cfg->nics[0].mac, c->cfg->nics[1].mac, 6), 0);
    assert_int_equal(c->cfg->nics[1].mac[0] & 1, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_instance_info),
        T(test_version),
        T(test_machine_config_get),
        T(test_vm_config_get),
        T(test_vm_config_round_trip),
        T(test_machine_config_put),
        T(test_machine_config_patch),
        T(test_configuration_refused_after_start),
        T(test_boot_source),
        T(test_drive_put),
        T(test_drive_ids),
        T(test_drive_root),
        T(test_drive_limit),
        T(test_drive_patch),
        T(test_nic_put),
        T(test_nic_mac),
        T(test_nic_patch),
        T(test_instance_start),
        T(test_actions),
        T(test_flush_metrics),
        T(test_pause_resume),
        T(test_snapshot_create),
        T(test_snapshot_load),
        T(test_snapshot_load_resumes_and_needs_a_fresh_vmm),
        T(test_upgrade),
        T(test_logger),
        T(test_metrics),
        T(test_entropy),
        T(test_vsock),
        T(test_balloon),
        T(test_balloon_stats_stay_off_after_boot),
        T(test_bad_bodies),
        T(test_bad_routes),
        T(test_payload_limit),
        T(test_refusals_change_nothing),
        T(test_load_config_full),
        T(test_load_config_refusals),
    };
    const struct CMUnitTest known_bugs[] = {
        T(test_bug_mac_needs_two_hex_digits),        T(test_bug_fault_body_is_always_json),
        T(test_bug_logger_and_metrics_are_pre_boot), T(test_bug_flush_metrics_is_post_boot),
        T(test_bug_default_mac_avoids_taken_ones),
    };
#undef T
    int failed = cmocka_run_group_tests_name("api", tests, NULL, NULL);
    failed += cmocka_run_group_tests_name("api_fixed_bugs", known_bugs, NULL, NULL);
    return failed;
}
