/*
 * libFuzzer harness for the control API's router (`make fuzz`). An input is
 * a flag byte, then requests separated by the byte 0x1e, each
 * "METHOD PATH\nBODY" (the body may hold any bytes, NULs too). Each input
 * runs on a fresh target (Firecracker's default machine, a fake VMM);
 * flag bit n makes the fake's action n fail (start, pause, resume,
 * ctrl_alt_del, flush_metrics, update_drive, set_logger; see enum fz_op).
 * With bit 7 set the rest of the input is a config file for
 * api_load_config instead. Every reply is checked against api.h's promises
 * (tests/fuzz/api_fuzz.h); a broken one aborts with the request.
 *
 * The requests name real files, made at start-up in DUVISOR_FUZZ_FILES (by
 * default FUZZ_FILES_DIR, build/fuzz/files). DUVISOR_FUZZ_WRITE_CORPUS=DIR
 * writes the seed corpus (valid requests, and sequences that reach every
 * state) into DIR and exits.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api_fuzz.h"

#ifndef FUZZ_FILES_DIR
#define FUZZ_FILES_DIR "/tmp/duvisor-fuzz-files"
#endif

#define MAX_REQUESTS 16
#define SEP          '\x1e'
#define FLAG_CONFIG  0x80u

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct fz_files files;

/* --- the seed corpus ------------------------------------------------------------------------ */

struct seed {
    char *p;
    size_t len, cap;
};

static void seed_add(struct seed *s, const void *data, size_t len)
{
    if (s->len + len > s->cap) {
        s->cap = (s->len + len) * 2;
        s->p = realloc(s->p, s->cap);
        if (!s->p)
            abort();
    }
    memcpy(s->p + s->len, data, len);
    s->len += len;
}

/* Template k as one request of a seed. */
static void seed_request(struct seed *s, unsigned k)
{
    static char body[8192];
    const struct fz_template *t = &fz_templates[k];
    size_t len = fz_expand(&files, t->body, body, sizeof(body));
    if (s->len > 1)
        seed_add(s, (char[]){SEP}, 1);
    seed_add(s, t->method, strlen(t->method));
    seed_add(s, " ", 1);
    seed_add(s, t->path, strlen(t->path));
    seed_add(s, "\n", 1);
    seed_add(s, body, len);
}

static void seed_write(const char *dir, unsigned *n, const struct seed *s)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed-%03u", dir, (*n)++);
    if (fz_write(path, s->p, s->len)) {
        fprintf(stderr, "fuzz_api: cannot write %s\n", path);
        exit(1);
    }
}

static void write_corpus(const char *dir)
{
    struct seed s = {0};
    unsigned n = 0;
    /* every template alone, on a fresh target */
    for (unsigned k = 0; k < FZ_NTEMPLATES; k++) {
        s.len = 0;
        seed_add(&s, "\0", 1);
        seed_request(&s, k);
        seed_write(dir, &n, &s);
    }
    /* a whole life: configure, start, pause, swap a drive, resume, look */
    const unsigned life[] = {
        fz_find("PUT", "/logger", "{\"log_path\""),
        fz_find("PUT", "/metrics", ""),
        fz_find("PUT", "/machine-config", "{\"vcpu_count\": 2"),
        fz_find("PUT", "/boot-source", "{\"kernel_image_path\": \"@K\", \"boot_args\""),
        fz_find("PUT", "/drives/rootfs", ""),
        fz_find("PUT", "/drives/data", ""),
        fz_find("PUT", "/network-interfaces/eth0", ""),
        fz_find("PUT", "/network-interfaces/eth1", ""),
        fz_find("PUT", "/entropy", "{\"rate_limiter\""),
        fz_find("PUT", "/actions", "{\"action_type\": \"InstanceStart\""),
        fz_find("PATCH", "/vm", "{\"state\": \"Paused\""),
        fz_find("PATCH", "/drives/rootfs", ""),
        fz_find("PATCH", "/network-interfaces/eth0", ""),
        fz_find("PUT", "/actions", "{\"action_type\": \"FlushMetrics\""),
        fz_find("PATCH", "/vm", "{\"state\": \"Resumed\""),
        fz_find("PUT", "/actions", "{\"action_type\": \"SendCtrlAltDel\""),
        fz_find("GET", "/vm/config", ""),
        fz_find("GET", "/", ""),
    };
    const size_t nlife = sizeof(life) / sizeof(life[0]);
    /* the whole life with each action failing in turn, and its prefixes */
    for (unsigned flags = 0; flags <= 1u << FZ_LOGGER; flags = flags ? flags << 1 : 1) {
        s.len = 0;
        seed_add(&s, &(char){(char)flags}, 1);
        for (size_t i = 0; i < nlife; i++)
            seed_request(&s, life[i]);
        seed_write(dir, &n, &s);
    }
    for (size_t upto = 10; upto < nlife; upto += 2) {
        s.len = 0;
        seed_add(&s, "\0", 1);
        for (size_t i = 0; i < upto; i++)
            seed_request(&s, life[i]);
        seed_request(&s, fz_find("GET", "/vm/config", ""));
        seed_write(dir, &n, &s);
    }
    /* a body over the payload limit */
    s.len = 0;
    seed_add(&s, "\0", 1);
    seed_request(&s, fz_find("PUT", "/machine-config", "{\"vcpu_count\": 2"));
    for (unsigned i = 0; i <= API_MAX_PAYLOAD / 64; i++)
        seed_add(&s, "                                                                ", 64);
    seed_write(dir, &n, &s);
    /* a config file: what GET /vm/config renders of the configured life */
    static struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake = {0};
    fz_target_init(&t, &cfg, &fake);
    for (size_t i = 0; i < 9; i++) {
        static char body[8192];
        struct api_response r;
        size_t len = fz_expand(&files, fz_templates[life[i]].body, body, sizeof(body));
        api_handle(&t, fz_templates[life[i]].method, fz_templates[life[i]].path, body, len, &r);
        api_response_free(&r);
    }
    char *config = api_render_config(&t);
    if (!config)
        abort();
    s.len = 0;
    seed_add(&s, &(char){(char)FLAG_CONFIG}, 1);
    seed_add(&s, config, strlen(config));
    seed_write(dir, &n, &s);
    free(config);
    free(s.p);
    fprintf(stderr, "fuzz_api: %u seeds in %s\n", n, dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    const char *dir = getenv("DUVISOR_FUZZ_FILES");
    if (!dir || !*dir)
        dir = FUZZ_FILES_DIR;
    if ((mkdir(dir, 0700) && errno != EEXIST) || fz_files_create(&files, dir)) {
        fprintf(stderr, "fuzz_api: cannot make the request files in %s: %s\n", dir,
                strerror(errno));
        exit(1);
    }
    const char *out = getenv("DUVISOR_FUZZ_WRITE_CORPUS");
    if (out && *out) {
        if (mkdir(out, 0700) && errno != EEXIST) {
            fprintf(stderr, "fuzz_api: cannot make %s: %s\n", out, strerror(errno));
            exit(1);
        }
        write_corpus(out);
        exit(0);
    }
    return 0;
}

/* --- one input ------------------------------------------------------------------------------ */

static void violated(const char *why, const char *method, const char *path, const char *body,
                     size_t len)
{
    fprintf(stderr, "fuzz_api: %s\n  request: ", why);
    fz_quote(stderr, method, strlen(method), 32);
    fputc(' ', stderr);
    fz_quote(stderr, path, strlen(path), 300);
    fputc(' ', stderr);
    fz_quote(stderr, body, len, 600);
    fputc('\n', stderr);
    abort();
}

static void run_config_file(const uint8_t *data, size_t size)
{
    static struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake = {0};
    fz_target_init(&t, &cfg, &fake);
    char err[512] = "", why[512];
    int rc = api_load_config(&t, (const char *)data, size, err, sizeof(err));
    if (rc != 0 && !(rc == -1 && err[0]))
        violated("api_load_config failed without a reason", "(config)", "", (const char *)data,
                 size);
    if (!fz_config_sane(&cfg, why, sizeof(why)))
        violated(why, "(config)", "", (const char *)data, size);
    if (rc == 0) {
        char *text = api_render_config(&t);
        json_t *j = text ? json_loads(text, 0, NULL) : NULL;
        if (!json_is_object(j))
            violated("a loaded configuration does not render", "(config)", "", (const char *)data,
                     size);
        json_decref(j);
        free(text);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    unsigned flags = data[0];
    data++, size--;
    if (flags & FLAG_CONFIG) {
        run_config_file(data, size);
        return 0;
    }
    static struct vm_config cfg;
    static struct fz_snapshot before;
    static char method[32], path[4096];
    struct api_target t;
    struct fz_fake fake = {.fail_mask = flags};
    fz_target_init(&t, &cfg, &fake);
    const char *p = (const char *)data, *end = p + size;
    for (int n = 0; n < MAX_REQUESTS && p < end; n++) {
        const char *rec_end = memchr(p, SEP, (size_t)(end - p));
        if (!rec_end)
            rec_end = end;
        /* METHOD up to a space, PATH up to a newline, the rest is the body */
        const char *nl = memchr(p, '\n', (size_t)(rec_end - p));
        const char *line_end = nl ? nl : rec_end;
        const char *sp = memchr(p, ' ', (size_t)(line_end - p));
        size_t mlen = (size_t)((sp ? sp : line_end) - p);
        snprintf(method, sizeof(method), "%.*s", (int)(mlen < 31 ? mlen : 31), p);
        const char *path_start = sp ? sp + 1 : line_end;
        size_t plen = (size_t)(line_end - path_start);
        snprintf(path, sizeof(path), "%.*s", (int)(plen < 4095 ? plen : 4095), path_start);
        const char *body = nl ? nl + 1 : rec_end;
        size_t len = (size_t)(rec_end - body);

        struct api_response resp;
        char why[512];
        fz_snap(&t, &before);
        fz_fake_reset_request(&fake);
        api_handle(&t, method, path, len ? body : NULL, len, &resp);
        if (!fz_check(&t, &before, &fake, method, path, len, &resp, why, sizeof(why)) ||
            (resp.status == 200 && !strcmp(path, "/vm/config") &&
             !fz_check_roundtrip(resp.body, why, sizeof(why))))
            violated(why, method, path, body, len);
        api_response_free(&resp);
        p = rec_end + 1;
    }
    return 0;
}
