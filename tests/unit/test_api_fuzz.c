/*
 * The control API's router under random and mutated requests. Valid
 * Firecracker requests are mutated (bit flips, truncation, inserted bytes,
 * NULs, huge numbers, deep nesting, long strings, unicode escapes, wrong
 * types, unknown and duplicate keys, other methods and paths) and run
 * through api_handle against a fake VMM whose actions fail at random; every
 * reply must keep api.h's promises (tests/fuzz/api_fuzz.h: status, body
 * shape, a refused request changes nothing, the state machine, a sane
 * configuration). Deterministic: DUVISOR_FUZZ_SEED picks the sequence,
 * DUVISOR_FUZZ_ITERS its length. A failure prints the request and how to
 * replay it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../fuzz/api_fuzz.h"

#define DEFAULT_ITERS 20000u
#define DEFAULT_SEED  1u

static unsigned long long env_number(const char *name, unsigned long long fallback)
{
    const char *v = getenv(name);
    if (!v || !*v)
        return fallback;
    char *end;
    unsigned long long n = strtoull(v, &end, 0);
    return *end ? fallback : n;
}

/* --- growable bytes ------------------------------------------------------------------------- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->p = realloc(b->p, cap);
    assert_non_null(b->p);
    b->cap = cap;
}

static void buf_set(struct buf *b, const char *data, size_t len)
{
    b->len = 0;
    buf_reserve(b, len);
    memcpy(b->p, data, len);
    b->len = len;
    b->p[len] = '\0';
}

/* Insert len bytes at off (<= b->len). */
static void buf_insert(struct buf *b, size_t off, const char *data, size_t len)
{
    buf_reserve(b, len);
    memmove(b->p + off + len, b->p + off, b->len - off);
    memcpy(b->p + off, data, len);
    b->len += len;
    b->p[b->len] = '\0';
}

/* Insert unit times times at off. */
static void buf_repeat(struct buf *b, size_t off, const char *unit, size_t times)
{
    size_t n = strlen(unit), total = n * times;
    buf_reserve(b, total);
    memmove(b->p + off + total, b->p + off, b->len - off);
    char *at = b->p + off;
    if (total) /* one unit, then doubling copies of what is there */
        memcpy(at, unit, n);
    for (size_t done = n; done < total; done *= 2)
        memcpy(at + done, at, done < total - done ? done : total - done);
    b->len += total;
    b->p[b->len] = '\0';
}

/* --- what the mutations draw from ------------------------------------------------------------ */

static struct fz_files files;
/* the corpus with the real paths filled in */
static char bodies[FZ_NTEMPLATES][2048];
static size_t body_lens[FZ_NTEMPLATES];

static const char *const methods[] = {"GET",     "PUT",  "PATCH", "POST", "DELETE",
                                      "HEAD",    "put",  "Get",   "",     "PUT ",
                                      "OPTIONS", "PUTT", "PATC",  "\xff", "CONNECT"};

static const char *const paths[] = {
    "/",
    "",
    "/actions/",
    "/drives/",
    "/drives",
    "/drives//x",
    "/drives/rootfs/",
    "/drives/root-fs",
    "/drives/r\xc3\xa9",
    "/drives/\xff\xfe",
    "/drives/"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "/drives/"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    "/network-interfaces/",
    "/network-interfaces/eth0/x",
    "/network-interfaces/eth 0",
    "//",
    "/machine-config/",
    "/MACHINE-CONFIG",
    "/vm/",
    "/vm/config/",
    "/version?x=1",
    "/../etc/passwd",
    "/%ff",
    "/\xc3",
    "*",
    "/balloon/statistics",
    "/snapshot/load",
    "/mmds/config",
    "/cpu-config",
    "/hotplug/memory"};

/* Tokens that break JSON, or stress what parses it. */
static const char *const tokens[] = {
    "0",
    "-1",
    "-0",
    "1.5",
    "1e999",
    "-1e999",
    "1e-999",
    "4294967297",
    "4294967295",
    "65536",
    "65537",
    "9223372036854775807",
    "-9223372036854775808",
    "9223372036854775808",
    "18446744073709551616",
    "123456789012345678901234567890",
    "true",
    "false",
    "null",
    "nul",
    "tru",
    "NaN",
    "Infinity",
    "[]",
    "{}",
    "[",
    "]",
    "{",
    "}",
    ":",
    ",",
    ",,",
    "\"",
    "\\",
    "\"\"",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "\"\\udc00\\ud800\"",
    "\"\\ud83d\\ude00\"",
    "\"\\uffff\"",
    "\"\\u00e9\"",
    "\"\\x41\"",
    "\"\\u12\"",
    "\"caf\xc3\xa9\"",
    "\"\xc3\"",
    "\"\xed\xa0\x80\"",
    "\"\xc0\xaf\"",
    "\"\xf4\x90\x80\x80\"",
    "\"\xff\"",
    "/* c */",
    "\xef\xbb\xbf",
    "\t\r\n ",
    "\"kernel_image_path\"",
    "\"drive_id\"",
    "\"is_root_device\"",
    "\"path_on_host\"",
    "\"action_type\"",
    "\"state\"",
    "\"vcpu_count\"",
    "\"mem_size_mib\"",
    "\"iface_id\"",
    "\"host_dev_name\"",
    "\"guest_mac\"",
    "\"InstanceStart\"",
    "\"Paused\"",
    "\"Resumed\"",
};

static const char *rand_of(struct fz_rng *r, const char *const *list, size_t n)
{
    return list[fz_below(r, (uint32_t)n)];
}
#define PICK(r, list) rand_of((r), (list), sizeof(list) / sizeof((list)[0]))

/* A string value: real files (right and wrong kinds), names, odd text. */
static json_t *rand_string(struct fz_rng *r)
{
    static const char *const words[] = {"",
                                        "None",
                                        "Unsafe",
                                        "Writeback",
                                        "Sync",
                                        "Async",
                                        "InstanceStart",
                                        "SendCtrlAltDel",
                                        "FlushMetrics",
                                        "Paused",
                                        "Resumed",
                                        "user",
                                        "tap0",
                                        "tap/0",
                                        "0123456789abcdef",
                                        "rootfs",
                                        "x",
                                        "eth0",
                                        "bad id",
                                        "06:00:AC:10:00:02",
                                        "01:00:00:00:00:01",
                                        "06:00:ac:10:00:0g",
                                        "6:0:AC:10:0:2",
                                        " 6: 0:AC:10: 0: 2",
                                        "-1:-1:-1:-1:-1:-1",
                                        "06:00:AC:10:00:02:",
                                        "Debug",
                                        "warn",
                                        "TRACE",
                                        "Off",
                                        "info ",
                                        "caf\xc3\xa9",
                                        "\xe2\x82\xac\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80",
                                        "/",
                                        "/dev/null",
                                        "/dev/zero",
                                        ".",
                                        "..",
                                        "/proc/self/exe"};
    switch (fz_below(r, 5)) {
    case 0: {
        const char *f[] = {files.kernel,    files.initrd, files.rootfs,  files.data,
                           files.notkernel, files.subdir, files.missing, files.log};
        return json_string(f[fz_below(r, 8)]);
    }
    case 1: { /* long: around the limits of the fields it lands in */
        static const size_t sizes[] = {31,  32,  33,  63,   64,   65,  127,
                                       128, 255, 256, 4095, 4096, 5000};
        size_t n = sizes[fz_below(r, sizeof(sizes) / sizeof(sizes[0]))];
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, "a_Z9\xc3"[fz_below(r, 4)], n);
        if (fz_chance(r, 50) && n >= 2) { /* a two-byte character across the cut */
            s[n - 2] = '\xc3';
            s[n - 1] = '\xa9';
        }
        if (fz_chance(r, 30) && n > 1) {
            s[n / 2 - 1] = '\xc3';
            s[n / 2] = '\xa9';
        }
        s[n] = '\0';
        json_t *j = json_string(s);
        free(s);
        return j ? j : json_string("long");
    }
    default: return json_string(PICK(r, words));
    }
}

static json_t *rand_value(struct fz_rng *r, int depth)
{
    static const json_int_t ints[] = {0,
                                      1,
                                      2,
                                      -1,
                                      16,
                                      15,
                                      32,
                                      33,
                                      67,
                                      68,
                                      65535,
                                      65536,
                                      65537,
                                      4294967297ll,
                                      (json_int_t)(UINT64_MAX >> 1),
                                      -(json_int_t)(UINT64_MAX >> 1) - 1,
                                      1ll << 44,
                                      128};
    switch (fz_below(r, depth > 3 ? 6 : 8)) {
    case 0: return json_null();
    case 1: return json_boolean(fz_below(r, 2));
    case 2: return json_integer(ints[fz_below(r, sizeof(ints) / sizeof(ints[0]))]);
    case 3: return json_real(fz_chance(r, 50) ? 2.0 : -0.5);
    case 4:
    case 5: return rand_string(r);
    case 6: {
        json_t *a = json_array();
        for (unsigned i = fz_below(r, 4); i; i--)
            json_array_append_new(a, rand_value(r, depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (unsigned i = fz_below(r, 4); i; i--) {
            char key[16];
            snprintf(key, sizeof(key), "k%u", fz_below(r, 8));
            json_object_set_new(o, key, rand_value(r, depth + 1));
        }
        return o;
    }
    }
}

/* Mostly a value of old's type near the edges of what is valid, else any. */
static json_t *rand_like(struct fz_rng *r, const json_t *old)
{
    static const json_int_t edges[] = {0,    1,     2,     15,    16,         17,           31,
                                       32,   33,    67,    68,    69,         127,          128,
                                       1500, 65535, 65536, 65537, 0x7fffffff, 0x100000000ll};
    if (fz_chance(r, 40))
        return rand_value(r, 0);
    if (json_is_integer(old)) {
        json_int_t v = edges[fz_below(r, sizeof(edges) / sizeof(edges[0]))];
        return json_integer(fz_chance(r, 10) ? -v : v);
    }
    if (json_is_string(old))
        return rand_string(r);
    if (json_is_boolean(old))
        return json_boolean(fz_below(r, 2));
    return rand_value(r, 0);
}

/* An object somewhere in the tree (the root, or one reached by a random walk). */
static json_t *pick_object(struct fz_rng *r, json_t *root)
{
    json_t *at = root;
    for (int depth = 0; depth < 4 && fz_chance(r, 40); depth++) {
        json_t *next = NULL;
        if (json_is_object(at) && json_object_size(at)) {
            unsigned k = fz_below(r, (uint32_t)json_object_size(at));
            const char *key;
            json_t *value;
            json_object_foreach(at, key, value)
            {
                if (k-- == 0) {
                    next = value;
                    break;
                }
            }
        } else if (json_is_array(at) && json_array_size(at)) {
            next = json_array_get(at, fz_below(r, (uint32_t)json_array_size(at)));
        }
        if (!next)
            break;
        if (json_is_array(next) && json_array_size(next)) /* step through arrays */
            next = json_array_get(next, fz_below(r, (uint32_t)json_array_size(next)));
        if (!json_is_object(next))
            break;
        at = next;
    }
    return at;
}

/* A mutation that knows JSON: parse the body, change one member of one
   object in it (the body, or a config file's section), print it back. */
static void mutate_tree(struct fz_rng *r, struct buf *b)
{
    json_t *root = json_loadb(b->p, b->len, 0, NULL);
    if (!json_is_object(root)) {
        json_decref(root);
        return;
    }
    json_t *obj = pick_object(r, root);
    const char *keys[16];
    size_t n = 0;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (n < 16)
            keys[n++] = key;
    }
    char chosen[64] = "";
    if (n)
        snprintf(chosen, sizeof(chosen), "%s", keys[fz_below(r, (uint32_t)n)]);
    json_t *old = n ? json_object_get(obj, chosen) : NULL;
    switch (fz_below(r, 8)) {
    case 0:
    case 1: /* another value: of its type near the edges, or of any type */
        if (n)
            json_object_set_new(obj, chosen, rand_like(r, old));
        break;
    case 2: /* a field that is not there */
        if (n)
            json_object_del(obj, chosen);
        break;
    case 3: /* null */
        if (n)
            json_object_set_new(obj, chosen, json_null());
        break;
    case 4: { /* an unknown field, or a known one misspelt */
        char name[80];
        if (n && fz_chance(r, 50))
            snprintf(name, sizeof(name), "%s%s", chosen, fz_chance(r, 50) ? "_" : "s");
        else
            snprintf(name, sizeof(name), "%s",
                     (const char *[]){"foo", "Drive_id", "rate_limiter", "socket", "smt",
                                      "caf\xc3\xa9", ""}[fz_below(r, 7)]);
        json_object_set_new(obj, name, rand_value(r, 0));
        break;
    }
    case 5: { /* the members of another request */
        json_t *donor = json_loads(bodies[fz_below(r, FZ_NTEMPLATES)], 0, NULL);
        if (json_is_object(donor))
            json_object_update(obj, donor);
        json_decref(donor);
        break;
    }
    case 6: /* the whole body another type */
        json_decref(root);
        root = rand_value(r, 0);
        break;
    default: /* nested deeper than anyone needs */
        if (n) {
            json_t *v = rand_value(r, 4);
            for (unsigned d = fz_below(r, 40); d; d--) {
                json_t *wrap = fz_chance(r, 50) ? json_array() : json_object();
                if (json_is_array(wrap))
                    json_array_append_new(wrap, v);
                else
                    json_object_set_new(wrap, "a", v);
                v = wrap;
            }
            json_object_set_new(obj, chosen, v);
        }
    }
    size_t flags = fz_chance(r, 30) ? JSON_ENSURE_ASCII : 0; /* \uXXXX for non-ASCII */
    flags |= fz_chance(r, 50) ? JSON_COMPACT : JSON_INDENT(fz_below(r, 4));
    char *text = root ? json_dumps(root, flags | JSON_ENCODE_ANY) : NULL;
    if (text)
        buf_set(b, text, strlen(text));
    free(text);
    json_decref(root);
}

/* A mutation on the bytes. */
static void mutate_bytes(struct fz_rng *r, struct buf *b)
{
    size_t at = b->len ? fz_below(r, (uint32_t)b->len + 1) : 0;
    switch (fz_below(r, 12)) {
    case 0: /* flip bits */
        for (unsigned i = 1 + fz_below(r, 4); i && b->len; i--)
            b->p[fz_below(r, (uint32_t)b->len)] ^= (char)(1u << fz_below(r, 8));
        break;
    case 1: /* cut short */
        b->len = at;
        b->p[b->len] = '\0';
        break;
    case 2: { /* random bytes */
        char junk[16];
        size_t n = 1 + fz_below(r, sizeof(junk));
        for (size_t i = 0; i < n; i++)
            junk[i] = (char)fz_below(r, 256);
        buf_insert(b, at, junk, n);
        break;
    }
    case 3: /* a NUL */ buf_insert(b, at, "", 1); break;
    case 4:
    case 5: { /* a token */
        const char *t = PICK(r, tokens);
        buf_insert(b, at, t, strlen(t));
        break;
    }
    case 6: /* delete a stretch */
        if (b->len > at) {
            size_t n = 1 + fz_below(r, (uint32_t)(b->len - at));
            memmove(b->p + at, b->p + at + n, b->len - at - n);
            b->len -= n;
            b->p[b->len] = '\0';
        }
        break;
    case 7: { /* a duplicate key: the first key again, in front */
        const char *q = memchr(b->p, '"', b->len);
        const char *colon = q ? memchr(q, ':', b->len - (size_t)(q - b->p)) : NULL;
        const char *brace = memchr(b->p, '{', b->len);
        if (q && colon && brace && brace < q) {
            char dup[256];
            int n = snprintf(dup, sizeof(dup), "%.*s: %s, ", (int)(colon - q < 96 ? colon - q : 96),
                             q, PICK(r, tokens));
            if (n > 0)
                buf_insert(b, (size_t)(brace - b->p) + 1, dup,
                           (size_t)n < sizeof(dup) ? (size_t)n : sizeof(dup) - 1);
        }
        break;
    }
    case 8: { /* deep nesting, around jansson's depth limit (2048) */
        static const unsigned depths[] = {2047, 2048, 2049, 20000};
        /* rarely the deepest: each level is an allocation or three, slow under ASan */
        unsigned d = fz_chance(r, 20) ? depths[fz_below(r, 4)] : 1 + fz_below(r, 100);
        const char *open = fz_chance(r, 50) ? "[" : "{\"a\":";
        size_t off = at;
        buf_repeat(b, off, open, d);
        if (fz_chance(r, 70)) {
            buf_repeat(b, off + d * strlen(open), open[0] == '[' ? "]" : "}", d);
        }
        break;
    }
    case 9: { /* a long run of one byte */
        static const size_t sizes[] = {100, 4096, 4097, 40000};
        const char *units[] = {"a", " ", "\\u00e9", "\xc3\xa9", "0", "\\\""};
        size_t n = sizes[fz_below(r, 4)];
        buf_repeat(b, at, units[fz_below(r, 6)], n);
        break;
    }
    case 10: { /* splice another body in */
        unsigned k = fz_below(r, FZ_NTEMPLATES);
        size_t from = body_lens[k] ? fz_below(r, (uint32_t)body_lens[k]) : 0;
        buf_insert(b, at, bodies[k] + from, body_lens[k] - from);
        break;
    }
    default: { /* whitespace around the payload limit */
        static const size_t sizes[] = {API_MAX_PAYLOAD, API_MAX_PAYLOAD + 1, 70000};
        size_t want = sizes[fz_below(r, 3)];
        if (b->len < want)
            buf_repeat(b, b->len, " ", want - b->len);
        break;
    }
    }
}

/* --- one request --------------------------------------------------------------------------- */

struct request {
    char method[32];
    struct buf path, body;
};

static void make_request(struct fz_rng *r, struct request *q)
{
    unsigned k = fz_below(r, FZ_NTEMPLATES);
    const struct fz_template *t = &fz_templates[k];
    snprintf(q->method, sizeof(q->method), "%s", fz_chance(r, 90) ? t->method : PICK(r, methods));
    const char *path = t->path;
    if (fz_chance(r, 8))
        path = fz_templates[fz_below(r, FZ_NTEMPLATES)].path;
    else if (fz_chance(r, 8))
        path = PICK(r, paths);
    buf_set(&q->path, path, strlen(path));
    if (fz_chance(r, 3)) { /* a long path, multibyte text across the fault message's cut */
        buf_repeat(&q->path, q->path.len, fz_chance(r, 50) ? "\xc3\xa9" : "/a", fz_below(r, 300));
    }
    buf_set(&q->body, bodies[k], body_lens[k]);
    if (fz_chance(r, 3)) { /* noise */
        buf_set(&q->body, "", 0);
        for (unsigned i = fz_below(r, 64); i; i--) {
            char c = (char)fz_below(r, 256);
            buf_insert(&q->body, q->body.len, &c, 1);
        }
        return;
    }
    if (fz_chance(r, 15))
        return; /* as it is: the valid requests move the state on */
    for (unsigned m = 1 + fz_below(r, 3); m; m--) {
        if (fz_chance(r, 40))
            mutate_tree(r, &q->body);
        else
            mutate_bytes(r, &q->body);
    }
}

/* --- the runs ------------------------------------------------------------------------------- */

struct run {
    struct fz_rng rng, fail_rng;
    struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake;
    struct fz_snapshot before; /* the target as it is between requests */
    struct request q;
    unsigned long long failures, statuses[5], started, paused;
    char first[8][64]; /* distinct failures seen, by the start of their reason */
    unsigned nfirst;
};

static void reset_target(struct run *x)
{
    x->fake.rng = &x->fail_rng;
    x->fake.fail_percent = 10 + fz_below(&x->rng, 20);
    fz_target_init(&x->t, &x->cfg, &x->fake);
    fz_snap(&x->t, &x->before);
}

static void report(struct run *x, unsigned long long iter, const char *why)
{
    x->failures++;
    for (unsigned i = 0; i < x->nfirst; i++)
        if (!strncmp(x->first[i], why, sizeof(x->first[i]) - 1))
            return; /* one example of each kind is enough */
    if (x->nfirst < sizeof(x->first) / sizeof(x->first[0]))
        snprintf(x->first[x->nfirst++], sizeof(x->first[0]), "%s", why);
    fprintf(stderr, "api fuzz: iteration %llu: %s\n  request: ", iter, why);
    fz_quote(stderr, x->q.method, strlen(x->q.method), 32);
    fputc(' ', stderr);
    fz_quote(stderr, x->q.path.p, x->q.path.len, 300);
    fputc(' ', stderr);
    fz_quote(stderr, x->q.body.p, x->q.body.len, 400);
    fprintf(stderr, "\n  in state %d\n", (int)x->before.state);
}

/* One request through the router, with every check. */
static void run_one(struct run *x, unsigned long long iter)
{
    struct api_response resp;
    char why[512];
    fz_fake_reset_request(&x->fake);
    api_handle(&x->t, x->q.method, x->q.path.p, x->q.body.p, x->q.body.len, &resp);
    bool ok = fz_check(&x->t, &x->before, &x->fake, x->q.method, x->q.path.p, x->q.body.len, &resp,
                       why, sizeof(why));
    if (!ok)
        report(x, iter, why);
    else if (resp.status == 200 && !strcmp(x->q.path.p, "/vm/config") &&
             !fz_check_roundtrip(resp.body, why, sizeof(why)))
        report(x, iter, why);
    /* A refusal or a GET left the target as the snapshot has it (checked):
       only the counters moved. Copying the configuration (some 40 KiB) only
       when it may have changed keeps the run fast under ASan. */
    if (resp.status == 204 || !ok) {
        fz_snap(&x->t, &x->before);
    } else {
        x->before.requests = x->t.requests;
        x->before.bad_requests = x->t.bad_requests;
    }
    x->fake.violation[0] = '\0';
    int s = resp.status;
    x->statuses[s == 200 ? 0 : s == 204 ? 1 : s == 400 ? 2 : s == 413 ? 3 : 4]++;
    api_response_free(&resp);
}

/* A valid configuration (and often a start), so the later requests meet
   every state. */
static void configure(struct run *x, unsigned long long iter)
{
    const unsigned steps[] = {
        fz_find("PUT", "/boot-source", "{\"kernel_image_path\": \"@K\", \"boot_args\""),
        fz_find("PUT", "/drives/rootfs", ""),
        fz_find("PUT", "/network-interfaces/eth0", ""),
        fz_find("PUT", "/actions", "{\"action_type\": \"InstanceStart\""),
    };
    unsigned n = 1 + fz_below(&x->rng, 4);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = steps[i];
        snprintf(x->q.method, sizeof(x->q.method), "%s", fz_templates[k].method);
        buf_set(&x->q.path, fz_templates[k].path, strlen(fz_templates[k].path));
        buf_set(&x->q.body, bodies[k], body_lens[k]);
        run_one(x, iter);
    }
}

/* The files live in a fresh directory, named relative to it (the test works
   there): the requests, and so the run, are the same whatever its name. */
static char tmp_dir[] = "/tmp/duvisor-api-fuzz-XXXXXX", old_cwd[4096];

static int setup(void **state)
{
    (void)state;
    if (!getcwd(old_cwd, sizeof(old_cwd)) || !mkdtemp(tmp_dir) || chdir(tmp_dir) ||
        fz_files_create(&files, "."))
        return -1;
    for (size_t i = 0; i < FZ_NTEMPLATES; i++)
        body_lens[i] = fz_expand(&files, fz_templates[i].body, bodies[i], sizeof(bodies[i]));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fz_files_remove(&files);
    if (chdir(old_cwd) || rmdir(tmp_dir))
        return -1;
    return 0;
}

static void test_router_fuzz(void **state)
{
    (void)state;
    unsigned long long seed = env_number("DUVISOR_FUZZ_SEED", DEFAULT_SEED);
    unsigned long long iters = env_number("DUVISOR_FUZZ_ITERS", DEFAULT_ITERS);
    static struct run x; /* the configurations are large */
    memset(&x, 0, sizeof(x));
    x.rng.s = seed;
    x.fail_rng.s = seed ^ 0x5eed5eed5eedull;
    reset_target(&x);
    for (unsigned long long i = 0; i < iters; i++) {
        if (fz_chance(&x.rng, 1)) {
            reset_target(&x);
            if (fz_chance(&x.rng, 60))
                configure(&x, i);
        }
        make_request(&x.rng, &x.q);
        run_one(&x, i);
        x.started += x.t.state != API_NOT_STARTED;
        x.paused += x.t.state == API_PAUSED;
    }
    free(x.q.path.p);
    free(x.q.body.p);
    fprintf(stderr,
            "api fuzz: seed %llu, %llu requests: %llu 200, %llu 204, %llu 400, %llu 413, "
            "%llu other; %llu after the start (%llu paused)\n",
            seed, iters, x.statuses[0], x.statuses[1], x.statuses[2], x.statuses[3], x.statuses[4],
            x.started, x.paused);
    /* The run must have reached what it checks. */
    assert_true(iters < 2000 || (x.statuses[0] && x.statuses[1] && x.statuses[2] && x.statuses[3] &&
                                 x.started && x.paused));
    if (x.failures)
        fail_msg("%llu replies broke the API's promises (first kinds above); replay with "
                 "DUVISOR_FUZZ_SEED=%llu DUVISOR_FUZZ_ITERS=%llu",
                 x.failures, seed, iters);
}

/* Every refusal's body is {"fault_message": "..."}, whatever text the
   request brought: bytes that are not UTF-8 (the path and the method are
   echoed), and valid multibyte text that the messages' %.Ns precisions or the
   fault buffer's length cut in the middle of a character. */
static void test_fault_bodies_are_json(void **state)
{
    (void)state;
    static struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake = {0};
    char a63[64], a31[32], e200[401], msg[512];
    memset(a63, 'a', 63), a63[63] = '\0';
    memset(a31, 'a', 31), a31[31] = '\0';
    strcpy(e200, "/");
    for (int i = 0; i < 199; i++)
        strcat(e200, "\xc3\xa9");
    struct {
        const char *name, *method, *path;
        char body[700];
    } cases[17] = {
        {"a path that is not UTF-8", "GET", "/\xff", ""},
        {"a path that is not UTF-8, with a body", "PUT", "/drives/\xff", "{}"},
        {"a method that is not UTF-8", "\xff", "/", ""},
        {"a long multibyte path (cut by %.256s)", "GET", "", ""},
        {"a multibyte unknown field (cut by %.64s)", "PUT", "/machine-config", ""},
        {"a multibyte action_type (cut by %.64s)", "PUT", "/actions", ""},
        {"a multibyte vm state (cut by %.64s)", "PATCH", "/vm", ""},
        {"a multibyte huge_pages (cut by %.32s)", "PUT", "/machine-config", ""},
        {"a multibyte cache_type (cut by %.32s)", "PUT", "/drives/d", ""},
        {"a multibyte guest_mac (cut by %.32s)", "PUT", "/network-interfaces/n", ""},
        {"a multibyte log level (cut by %.32s)", "PUT", "/logger", ""},
    };
    size_t n = 11;
    cases[3].path = e200;
    snprintf(cases[4].body, sizeof(cases[4].body), "{\"%s\xc3\xa9\": 1}", a63);
    snprintf(cases[5].body, sizeof(cases[5].body), "{\"action_type\": \"%s\xc3\xa9\"}", a63);
    snprintf(cases[6].body, sizeof(cases[6].body), "{\"state\": \"%s\xc3\xa9\"}", a63);
    snprintf(cases[7].body, sizeof(cases[7].body),
             "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"%s\xc3\xa9\"}", a31);
    snprintf(cases[8].body, sizeof(cases[8].body),
             "{\"drive_id\": \"d\", \"path_on_host\": \"%s\", \"is_root_device\": false, "
             "\"cache_type\": \"%s\xc3\xa9\"}",
             files.data, a31);
    snprintf(cases[9].body, sizeof(cases[9].body),
             "{\"iface_id\": \"n\", \"host_dev_name\": \"tap0\", \"guest_mac\": "
             "\"%s\xc3\xa9\"}",
             a31);
    snprintf(cases[10].body, sizeof(cases[10].body), "{\"level\": \"%s\xc3\xa9\"}", a31);
    /* A message longer than the fault buffer (512 bytes) that holds the path:
       a directory reached through a multibyte name, padded so that one of
       the six tries cuts a character in two. */
    char dir[300];
    snprintf(dir, sizeof(dir), "%s/\xc3\xa9", files.subdir);
    assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
    for (int pad = 0; pad < 6; pad++) {
        char p[548];
        int len = snprintf(p, sizeof(p), "%s%.*s", files.subdir, pad, "//////");
        while (len + 6 < 540)
            len += snprintf(p + len, sizeof(p) - (size_t)len, "/\xc3\xa9/..");
        cases[n].name = "a multibyte drive path cut by the fault buffer";
        cases[n].method = "PUT";
        cases[n].path = "/drives/d";
        snprintf(cases[n].body, sizeof(cases[n].body),
                 "{\"drive_id\": \"d\", \"path_on_host\": \"%s\", \"is_root_device\": false}", p);
        n++;
    }
    unsigned bad = 0;
    for (size_t i = 0; i < n; i++) {
        struct fz_snapshot before;
        struct api_response resp;
        fz_target_init(&t, &cfg, &fake);
        fz_snap(&t, &before);
        api_handle(&t, cases[i].method, cases[i].path, cases[i].body, strlen(cases[i].body), &resp);
        if (!fz_check(&t, &before, &fake, cases[i].method, cases[i].path, strlen(cases[i].body),
                      &resp, msg, sizeof(msg))) {
            bad++;
            fprintf(stderr, "fault body: %s: %s\n  request: ", cases[i].name, msg);
            fz_quote(stderr, cases[i].method, strlen(cases[i].method), 16);
            fputc(' ', stderr);
            fz_quote(stderr, cases[i].path, strlen(cases[i].path), 80);
            fputc(' ', stderr);
            fz_quote(stderr, cases[i].body, strlen(cases[i].body), 200);
            fputc('\n', stderr);
        }
        api_response_free(&resp);
    }
    rmdir(dir);
    if (bad)
        fail_msg("%u of %zu refusals came without a JSON fault_message body", bad, n);
}

/* --config-file: mutated config files through api_load_config. Partly applied
   on failure is allowed (the VMM exits), but never a crash, an insane
   configuration, a failure without a reason, or a success that does not render. */
static void test_config_file_fuzz(void **state)
{
    (void)state;
    unsigned long long seed = env_number("DUVISOR_FUZZ_SEED", DEFAULT_SEED);
    unsigned long long iters = env_number("DUVISOR_FUZZ_ITERS", DEFAULT_ITERS) / 10;
    struct fz_rng r = {seed * 31 + 7};
    static struct vm_config cfg;
    struct api_target t;
    struct fz_fake fake = {0};
    /* a full configuration file, as GET /vm/config renders it */
    fz_target_init(&t, &cfg, &fake);
    const unsigned full[] = {
        fz_find("PUT", "/machine-config", "{\"vcpu_count\": 2"),
        fz_find("PUT", "/boot-source", "{\"kernel_image_path\": \"@K\", \"initrd_path\""),
        fz_find("PUT", "/drives/rootfs", ""),
        fz_find("PUT", "/drives/data", ""),
        fz_find("PUT", "/network-interfaces/eth0", ""),
        fz_find("PUT", "/network-interfaces/eth1", ""),
        fz_find("PUT", "/logger", "{\"log_path\""),
        fz_find("PUT", "/metrics", ""),
        fz_find("PUT", "/entropy", "{\"rate_limiter\""),
    };
    for (size_t i = 0; i < sizeof(full) / sizeof(full[0]); i++) {
        struct api_response resp;
        api_handle(&t, fz_templates[full[i]].method, fz_templates[full[i]].path, bodies[full[i]],
                   body_lens[full[i]], &resp);
        assert_int_equal(resp.status, 204);
        api_response_free(&resp);
    }
    char *seed_file = api_render_config(&t);
    assert_non_null(seed_file);
    struct buf b = {0};
    unsigned long long loaded = 0, failures = 0;
    for (unsigned long long i = 0; i < iters; i++) {
        buf_set(&b, seed_file, strlen(seed_file));
        for (unsigned m = fz_below(&r, 4); m; m--) {
            if (fz_chance(&r, 50))
                mutate_tree(&r, &b);
            else
                mutate_bytes(&r, &b);
        }
        fz_target_init(&t, &cfg, &fake);
        fake.rng = &r;
        fake.fail_percent = 5;
        char err[512] = "", why[512];
        int rc = api_load_config(&t, b.p, b.len, err, sizeof(err));
        bool ok = rc == 0 || (rc == -1 && err[0]);
        if (!ok)
            snprintf(why, sizeof(why), "api_load_config returned %d, err '%.400s'", rc, err);
        if (ok)
            ok = fz_config_sane(&cfg, why, sizeof(why));
        if (ok && rc == 0) {
            loaded++;
            char *text = api_render_config(&t);
            json_t *j = text ? json_loads(text, 0, NULL) : NULL;
            ok = json_is_object(j);
            if (!ok)
                snprintf(why, sizeof(why), "a loaded configuration does not render");
            json_decref(j);
            free(text);
        }
        if (!ok && failures++ < 4) {
            fprintf(stderr, "config fuzz: iteration %llu: %s\n  file: ", i, why);
            fz_quote(stderr, b.p, b.len, 600);
            fputc('\n', stderr);
        }
    }
    free(b.p);
    free(seed_file);
    fprintf(stderr, "config fuzz: %llu files, %llu loaded\n", iters, loaded);
    if (failures)
        fail_msg("%llu config files broke api_load_config's promises", failures);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fault_bodies_are_json),
        cmocka_unit_test(test_router_fuzz),
        cmocka_unit_test(test_config_file_fuzz),
    };
    return cmocka_run_group_tests_name("api_fuzz", tests, setup, teardown);
}
