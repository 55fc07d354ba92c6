/* SPDX-License-Identifier: MIT */
/*
 * Snapshots (src/vmm/snapshot.c and the devices' save/restore), end to end on
 * a real VM.
 *
 * The group setup builds a VM as tests/unit/test_vmm.c does (2 vCPUs, 64 MiB,
 * the guest image tests/guest/pause_count.S: both harts count and store the
 * time CSR into guest RAM), runs it until both counters move, pauses it and
 * takes one snapshot: the state file's bytes (g.state) and the memory file.
 * That VM stays paused until the group teardown.
 *
 * Then:
 *  - a VM restored from them saves to the very same bytes, and runs on from
 *    the snapshot's counters without a jump in guest time; saved and restored
 *    again (also through a diff memory file), the same;
 *  - every damage to the state file is refused with one line and no crash:
 *    truncation, bit flips (the checksum), the header's fields; and with the
 *    checksum recomputed, the framing and every section's parser (the test
 *    edits sections with the layouts the writers in src/ use);
 *  - other states restore and save again unchanged (one vCPU, devices with
 *    queues set up and input waiting, a hart stopped or about to start) and
 *    run as they say;
 *  - the memory file is sparse, holds the guest's RAM, is mapped privately
 *    (never written) on restore, and one of the wrong size is refused.
 * Refusals of snapshot_apply are followed by vm_destroy: ASan's leak check
 * (the ASan build of `make test`) catches what they leave.
 *
 * With DUVISOR_SNAPSHOT_SEEDS=DIR the state files made are also written to
 * DIR: the seeds of tests/fuzz/fuzz_snapshot.c (tests/fuzz/seeds/snapshot).
 * With DUVISOR_TEST_VERBOSE every refusal's reason is printed.
 * The engine is whatever the environment picks (DUVISOR_JIT=on|off).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "hart/dvext.h"
#include "util/le.h"
#include "util/state.h"
#include "vmm/config.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

#ifndef GUEST_IMAGES_DIR
#define GUEST_IMAGES_DIR "build/guest-images"
#endif

/* tests/guest/pause_count.S */
#define RAM_BASE 0x80000000ull
#define COUNT    0x80100000ull
#define TIME     0x80100100ull
#define MAXGAP   0x80100200ull
#define BACK     0x80100300ull

#define NHARTS          2u
#define RAM_BYTES       (64ull << 20)
#define MOVE_TIMEOUT_MS 10000
#define TICKS_PER_MS    (DV_TIMEBASE_HZ / 1000)
/* Restored VMs stand parked PARKED_MS before they resume: guest time must
   not see that (nor the real time between save and restore). Guest time may
   advance no more than the host's real time since the resume, plus SLACK_MS:
   a loaded host may hold a vCPU thread off for hundreds of ms, and that
   time the guest does see. */
#define PARKED_MS       500
#define SLACK_MS        20
#define VERSION         "test-snapshot"

/* The state file's framing (src/vmm/snapshot.h). */
#define HEADER_BYTES  32u
#define TRAILER_BYTES 8u

/* --- the snapshot every test starts from ---------------------------------------------- */

static struct {
    struct vm_config cfg;
    struct vm vm; /* the original, paused from the group setup on */
    bool created, started;
    uint8_t *ram;   /* a second mapping of its memfd */
    uint8_t *state; /* the state file */
    size_t len;
    char mem_path[PATH_MAX]; /* the memory file */
    char dir[PATH_MAX - 64]; /* a temporary directory for the files */
    uint64_t count0[NHARTS], time0[NHARTS];
} g;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/* A guest RAM word at gpa in ram (a mapping of guest RAM), read and written
   atomically while the harts run. */
static uint64_t peek(const uint8_t *ram, uint64_t gpa)
{
    return __atomic_load_n((const uint64_t *)(ram + (gpa - RAM_BASE)), __ATOMIC_RELAXED);
}

static void poke(uint8_t *ram, uint64_t gpa, uint64_t value)
{
    __atomic_store_n((uint64_t *)(ram + (gpa - RAM_BASE)), value, __ATOMIC_RELAXED);
}

/* Every hart's counter in ram differs from from[] (and is not 0) within the timeout. */
static bool wait_moving(const uint8_t *ram, const uint64_t *from)
{
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    for (;;) {
        bool all = true;
        for (unsigned h = 0; h < NHARTS; h++) {
            uint64_t c = peek(ram, COUNT + 8 * h);
            if (c == 0 || c == from[h])
                all = false;
        }
        if (all)
            return true;
        if (now_ns() > deadline)
            return false;
        sleep_ms(1);
    }
}

/* pause_count.elf next to this binary's build (B/tests/test_snapshot ->
   B/guest-images), relative to the working directory when under it (the
   path is saved in the snapshot's config, and so in the fuzz seeds); else
   GUEST_IMAGES_DIR. */
static void guest_image(char *out, size_t out_len)
{
    char exe[PATH_MAX], path[PATH_MAX + 32], real[PATH_MAX], cwd[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = 0;
        snprintf(path, sizeof(path), "%s/../guest-images/pause_count.elf", dirname(exe));
        if (realpath(path, real)) {
            size_t cl = getcwd(cwd, sizeof(cwd)) ? strlen(cwd) : 0;
            bool under = cl && !strncmp(real, cwd, cl) && real[cl] == '/';
            snprintf(out, out_len, "%s", under ? real + cl + 1 : real);
            return;
        }
    }
    snprintf(out, out_len, "%s/pause_count.elf", GUEST_IMAGES_DIR);
}

/* With DUVISOR_SNAPSHOT_SEEDS=DIR, state files the tests make are written
   there as fuzz seeds (tests/fuzz/fuzz_snapshot.c). */
static void write_seed(const char *name, const uint8_t *buf, size_t len)
{
    const char *dir = getenv("DUVISOR_SNAPSHOT_SEEDS");
    if (!dir || !*dir)
        return;
    char path[PATH_MAX], err[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (snapshot_write_file(path, buf, len, err, sizeof(err)))
        fail_msg("seed: %s", err);
    chmod(path, 0644);
    print_message("seed %s: %zu bytes\n", path, len);
}

static int group_teardown(void **state);

static int group_setup(void **state)
{
    (void)state;
    const char *tmp = getenv("TMPDIR");
    snprintf(g.dir, sizeof(g.dir), "%s/duvisor-snapshot-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(g.dir)) {
        fprintf(stderr, "mkdtemp %s: %s\n", g.dir, strerror(errno));
        return -1;
    }
    snprintf(g.mem_path, sizeof(g.mem_path), "%s/mem", g.dir);
    vm_config_init(&g.cfg);
    guest_image(g.cfg.kernel_path, sizeof(g.cfg.kernel_path));
    g.cfg.append[0] = 0;
    g.cfg.smp = NHARTS;
    g.cfg.memory_bytes = RAM_BYTES;
    char err[512] = "";
    if (vm_create(&g.vm, &g.cfg, NULL, err, sizeof(err))) {
        fprintf(stderr, "vm_create: %s\n", err);
        return -1;
    }
    g.created = true;
    void *ram = mmap(NULL, g.vm.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, g.vm.memfd, 0);
    if (ram == MAP_FAILED) {
        group_teardown(state);
        return -1;
    }
    g.ram = ram;
    if (vm_start(&g.vm)) {
        group_teardown(state);
        return -1;
    }
    g.started = true;
    uint64_t zero[NHARTS] = {0};
    if (!wait_moving(g.ram, zero)) {
        fprintf(stderr, "the guest's counters did not move within %d ms\n", MOVE_TIMEOUT_MS);
        group_teardown(state);
        return -1;
    }
    /* A running VM cannot be saved. */
    struct state_writer w;
    state_writer_init(&w);
    if (snapshot_encode(&g.vm, VERSION, &w, err, sizeof(err)) == 0 ||
        !strstr(err, "must be paused")) {
        fprintf(stderr, "snapshot_encode of a running VM: '%s'\n", err);
        state_writer_free(&w);
        group_teardown(state);
        return -1;
    }
    state_writer_free(&w);
    sleep_ms(20); /* some more counting: the counters are far from 0 */
    if (vm_pause(&g.vm)) {
        fprintf(stderr, "vm_pause failed\n");
        group_teardown(state);
        return -1;
    }
    for (unsigned h = 0; h < NHARTS; h++) {
        g.count0[h] = peek(g.ram, COUNT + 8 * h);
        g.time0[h] = peek(g.ram, TIME + 8 * h);
    }
    state_writer_init(&w);
    if (snapshot_encode(&g.vm, VERSION, &w, err, sizeof(err)) ||
        snapshot_write_memory(&g.vm, g.mem_path, err, sizeof(err))) {
        fprintf(stderr, "snapshot: %s\n", err);
        state_writer_free(&w);
        group_teardown(state);
        return -1;
    }
    g.state = w.buf; /* taken over from the writer */
    g.len = w.len;
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (g.started) {
        vm_request_stop(&g.vm, VM_STOP_SIGNAL);
        vm_join(&g.vm);
    }
    if (g.ram)
        munmap(g.ram, g.vm.ram_size);
    if (g.created)
        vm_destroy(&g.vm);
    free(g.state);
    if (g.mem_path[0])
        unlink(g.mem_path);
    if (g.dir[0])
        rmdir(g.dir);
    memset(&g, 0, sizeof(g));
    return 0;
}

/* --- state files, taken apart and put together again ---------------------------------- */

#define MAX_SECS          80u
#define MAX_SEC_BYTES     8192u
/* "vcpuN": where its CSR count is (after HSM state, time, pc, GPRs, FPRs) */
#define VCPU_CSRS_AT      (4 + 8 + 8 + 8 + 31 * 8 + 32 * 8)
/* The V state at the end of "vcpuN": vlenb, 4 CSRs, 32 registers of 32 bytes (VLEN 256) */
#define VCPU_VECTOR_BYTES (4u + 4 * 8 + 32 * 32)

struct sec {
    char name[128];
    uint8_t data[MAX_SEC_BYTES];
    size_t len;
};

struct layout {
    uint8_t header[HEADER_BYTES];
    unsigned n;
    struct sec s[MAX_SECS];
};

/* The sections of a well-formed state file (the writer's own framing). */
static struct layout *split(const uint8_t *file, size_t len)
{
    struct layout *l = calloc(1, sizeof(*l));
    assert_non_null(l);
    assert_true(len >= HEADER_BYTES + TRAILER_BYTES);
    memcpy(l->header, file, HEADER_BYTES);
    struct state_reader r;
    state_reader_init(&r, file + HEADER_BYTES, len - HEADER_BYTES - TRAILER_BYTES);
    while (state_remaining(&r)) {
        assert_true(l->n < MAX_SECS);
        struct sec *s = &l->s[l->n++];
        assert_true(state_get_str(&r, s->name, sizeof(s->name)));
        s->len = state_get_u32(&r);
        assert_true(s->len <= MAX_SEC_BYTES);
        assert_true(state_get_bytes(&r, s->data, s->len));
    }
    assert_true(state_reader_ok(&r));
    return l;
}

static struct sec *find(struct layout *l, const char *name)
{
    for (unsigned i = 0; i < l->n; i++)
        if (!strcmp(l->s[i].name, name))
            return &l->s[i];
    fail_msg("the snapshot has no section '%s'", name);
    abort(); /* not reached: fail_msg ends the test */
}

static void drop(struct layout *l, const char *name)
{
    struct sec *s = find(l, name);
    unsigned i = (unsigned)(s - l->s);
    memmove(&l->s[i], &l->s[i + 1], (l->n - i - 1) * sizeof(l->s[0]));
    l->n--;
}

static struct sec *add(struct layout *l, const char *name, const void *data, size_t len)
{
    assert_true(l->n < MAX_SECS && len <= MAX_SEC_BYTES && strlen(name) < sizeof(l->s[0].name));
    struct sec *s = &l->s[l->n++];
    snprintf(s->name, sizeof(s->name), "%s", name);
    if (len)
        memcpy(s->data, data, len);
    s->len = len;
    return s;
}

/* The body length and checksum made right for buf's contents. */
static void refix(uint8_t *buf, size_t len)
{
    put_le64(buf + 24, len - HEADER_BYTES - TRAILER_BYTES);
    put_le64(buf + len - TRAILER_BYTES, state_crc64(0, buf, len - TRAILER_BYTES));
}

/* l as a state file with a right body length and checksum (malloc'd, exact size). */
static uint8_t *join(const struct layout *l, size_t *len)
{
    struct state_writer w;
    state_writer_init(&w);
    state_put_bytes(&w, l->header, HEADER_BYTES);
    for (unsigned i = 0; i < l->n; i++) {
        state_put_str(&w, l->s[i].name);
        state_put_u32(&w, (uint32_t)l->s[i].len);
        state_put_bytes(&w, l->s[i].data, l->s[i].len);
    }
    state_put_u64(&w, 0);
    assert_false(w.failed);
    uint8_t *out = malloc(w.len);
    assert_non_null(out);
    memcpy(out, w.buf, w.len);
    *len = w.len;
    state_writer_free(&w);
    refix(out, *len);
    return out;
}

static uint8_t *copy_of(const void *data, size_t len)
{
    uint8_t *p = malloc(len ? len : 1);
    assert_non_null(p);
    memcpy(p, data, len);
    return p;
}

/* The offset in s just past the leading fields described by fields: 's' a
   string (u32 length + bytes), '1' '2' '4' '8' a fixed field of that size. */
static size_t offset_after(const struct sec *s, const char *fields)
{
    struct state_reader r;
    state_reader_init(&r, s->data, s->len);
    for (const char *f = fields; *f; f++) {
        uint8_t skip[8];
        if (*f == 's') {
            uint32_t n = state_get_u32(&r);
            assert_true(n <= state_remaining(&r));
            r.pos += n;
        } else {
            state_get_bytes(&r, skip, (size_t)(*f - '0'));
        }
    }
    assert_true(state_reader_ok(&r));
    return r.pos;
}

/* --- restoring ----------------------------------------------------------------------- */

enum stage { DECODE_FAILED, CREATE_FAILED, APPLY_FAILED, APPLIED };
static const char *const stage_names[] = {"decode failed", "create failed", "apply failed",
                                          "applied"};

/* A restored VM, paused, its state applied. */
struct restored {
    struct snapshot snap;
    struct vm_config cfg;
    struct vm vm;
};

/*
 * buf as a state file, restored onto a VM with the RAM of mem_path (NULL: the
 * snapshot's memory file) and the snapshot's configuration, edited by edit
 * when given. On APPLIED *out is the VM (the caller destroys it; out NULL:
 * destroyed here); on a failure the VM is destroyed and err says why.
 */
static enum stage restore(const uint8_t *buf, size_t len, const char *mem_path,
                          void (*edit)(struct vm_config *), struct restored **out, char *err,
                          size_t err_len)
{
    struct restored *r = calloc(1, sizeof(*r));
    assert_non_null(r);
    err[0] = 0;
    if (out)
        *out = NULL;
    if (snapshot_decode(&r->snap, buf, len, err, err_len)) {
        free(r);
        return DECODE_FAILED;
    }
    r->cfg = r->snap.cfg;
    if (edit)
        edit(&r->cfg);
    int fd = open(mem_path ? mem_path : g.mem_path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    struct vm_restore_source src;
    vm_restore_source_init(&src, fd, false);
    int rc = vm_create_for_restore(&r->vm, &r->cfg, NULL, &src, err, err_len);
    close(fd); /* the mapping keeps the file */
    if (rc) {
        snapshot_free(&r->snap);
        free(r);
        return CREATE_FAILED;
    }
    if (snapshot_apply(&r->vm, &r->snap, err, err_len)) {
        vm_destroy(&r->vm);
        snapshot_free(&r->snap);
        free(r);
        return APPLY_FAILED;
    }
    if (out) {
        *out = r;
    } else {
        vm_destroy(&r->vm);
        snapshot_free(&r->snap);
        free(r);
    }
    return APPLIED;
}

static void release(struct restored *r)
{
    if (!r)
        return;
    vm_destroy(&r->vm);
    snapshot_free(&r->snap);
    free(r);
}

/* A reason is one line of text: no newline, no control character (bytes
   from the file, if it quotes any, must come out escaped). */
static bool one_line(const char *err)
{
    if (!err[0])
        return false;
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            return false;
    return true;
}

static void assert_one_line(const char *what, const char *err)
{
    if (one_line(err))
        return;
    char shown[1024];
    size_t n = 0;
    for (const char *c = err; *c && n < sizeof(shown) - 5; c++)
        n += (size_t)((unsigned char)*c < 0x20 || *c == 0x7f
                          ? snprintf(shown + n, sizeof(shown) - n, "\\x%02x", (unsigned char)*c)
                          : snprintf(shown + n, sizeof(shown) - n, "%c", *c));
    fail_msg("%s: the reason is not one line of text: '%s'", what, shown);
}

/* buf restored ends at stage want with a reason holding needle. */
static void expect_edit(const char *what, const uint8_t *buf, size_t len, enum stage want,
                        const char *needle, void (*edit)(struct vm_config *), const char *mem_path)
{
    char err[512];
    enum stage got = restore(buf, len, mem_path, edit, NULL, err, sizeof(err));
    if (got != want)
        fail_msg("%s: %s, not %s ('%s')", what, stage_names[got], stage_names[want], err);
    if (want != APPLIED) {
        assert_one_line(what, err);
        if (needle && !strstr(err, needle))
            fail_msg("%s: '%s' does not say '%s'", what, err, needle);
        if (getenv("DUVISOR_TEST_VERBOSE"))
            print_message("%-44s %s: %s\n", what, stage_names[got], err);
    }
}

static void expect(const char *what, const uint8_t *buf, size_t len, enum stage want,
                   const char *needle)
{
    expect_edit(what, buf, len, want, needle, NULL, NULL);
}

/* l joined, then expected as expect() says; l is left as it was given. */
static void expect_layout(const char *what, const struct layout *l, enum stage want,
                          const char *needle)
{
    size_t len;
    uint8_t *buf = join(l, &len);
    expect(what, buf, len, want, needle);
    free(buf);
}

/* A fresh copy of the snapshot's sections to edit. */
static struct layout *fresh(void)
{
    return split(g.state, g.len);
}

/* --- tests: the round trip ----------------------------------------------------------- */

/* Names the sections in which two state files differ. */
static void report_difference(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    struct layout *la = split(a, alen), *lb = split(b, blen);
    char names[1024] = "";
    size_t used = 0;
    for (unsigned i = 0; i < la->n || i < lb->n; i++) {
        const struct sec *x = i < la->n ? &la->s[i] : NULL, *y = i < lb->n ? &lb->s[i] : NULL;
        if (x && y && !strcmp(x->name, y->name) && x->len == y->len &&
            !memcmp(x->data, y->data, x->len))
            continue;
        size_t first = 0;
        if (x && y)
            while (first < x->len && first < y->len && x->data[first] == y->data[first])
                first++;
        used += (size_t)snprintf(names + used, sizeof(names) - used, " '%s' (byte %zu)",
                                 x ? x->name : y->name, first);
        if (used >= sizeof(names))
            break;
    }
    free(la);
    free(lb);
    fail_msg("the restored VM saves differently (%zu vs %zu bytes) in:%s", alen, blen, names);
}

/* Each hart's guest time as the snapshot file has it (vcpuN: after the HSM
   state, start and arg): the instant the VM was paused. */
static void saved_guest_times(const uint8_t *file, size_t len, uint64_t *out)
{
    struct layout *l = split(file, len);
    for (unsigned h = 0; h < NHARTS; h++) {
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", h);
        out[h] = get_le64(find(l, name)->data + 4 + 8 + 8);
    }
    free(l);
}

/*
 * r, restored and paused, run on: started (when start) and left parked for a
 * while first, then resumed. Each hart must count on from count_at (not from
 * 0) and guest time continue from time_at (its last store before the pause)
 * never backwards, and from saved_time (the snapshot's instant, which a hart
 * preempted between that store and the pause reached later) without a jump;
 * then run at the real rate for 100 ms with no step of time between two
 * iterations. r is paused again at the end.
 */
static void run_on(const char *what, struct restored *r, const uint64_t *count_at,
                   const uint64_t *time_at, const uint64_t *saved_time, bool start)
{
    uint8_t *ram = r->vm.ram; /* private: poke it, not the memory file */
    for (unsigned h = 0; h < NHARTS; h++) {
        assert_int_equal(peek(ram, COUNT + 8 * h), count_at[h]);
        assert_int_equal(peek(ram, TIME + 8 * h), time_at[h]);
        if (peek(ram, BACK + 8 * h))
            fail_msg("%s: hart %u saw time go backwards before the snapshot", what, h);
        poke(ram, MAXGAP + 8 * h, 0);
    }
    if (start) {
        assert_int_equal(vm_start(&r->vm), 0);
        sleep_ms(PARKED_MS); /* parked: nothing runs, and guest time must not see this */
        for (unsigned h = 0; h < NHARTS; h++)
            assert_int_equal(peek(ram, COUNT + 8 * h), count_at[h]);
    }
    uint64_t t_resume = now_ns();
    vm_resume(&r->vm);

    /* The first values each hart stores: right after the snapshot's. */
    uint64_t count1[NHARTS], time1[NHARTS], seen_ns[NHARTS];
    bool seen[NHARTS] = {false};
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    for (unsigned left = NHARTS; left;) {
        for (unsigned h = 0; h < NHARTS; h++) {
            uint64_t c = peek(ram, COUNT + 8 * h);
            if (!seen[h] && c != count_at[h]) {
                count1[h] = c;
                time1[h] = peek(ram, TIME + 8 * h);
                seen_ns[h] = now_ns();
                seen[h] = true;
                left--;
            }
        }
        if (left && now_ns() > deadline)
            fail_msg("%s: the restored guest did not run within %d ms: hart0 %s hart1 %s", what,
                     MOVE_TIMEOUT_MS, seen[0] ? "ran" : "did not", seen[1] ? "ran" : "did not");
    }
    for (unsigned h = 0; h < NHARTS; h++) {
        if (count1[h] <= count_at[h])
            fail_msg("%s: hart %u counts from %" PRIu64 " after the restore; it stood at %" PRIu64,
                     what, h, count1[h], count_at[h]);
        if (time1[h] < time_at[h] || saved_time[h] < time_at[h])
            fail_msg("%s: hart %u: guest time went back over the save and restore (last stored "
                     "%" PRIu64 ", saved %" PRIu64 ", first after %" PRIu64 ")",
                     what, h, time_at[h], saved_time[h], time1[h]);
        int64_t jump = (int64_t)(time1[h] - saved_time[h]);
        uint64_t real_ms = (seen_ns[h] - t_resume) / 1000000ull;
        if (jump > (int64_t)((real_ms + SLACK_MS) * TICKS_PER_MS))
            fail_msg("%s: hart %u: guest time moved %" PRId64 " ticks (%.1f ms) over the save and "
                     "restore, %" PRIu64 " ms after the resume (parked %d ms before it)",
                     what, h, jump, (double)jump / (double)TICKS_PER_MS, real_ms, PARKED_MS);
    }

    /* It keeps running, time smooth and monotonic: no step between two
       iterations longer than the whole run since the resume. */
    sleep_ms(100);
    assert_int_equal(vm_pause(&r->vm), 0);
    uint64_t real_ms = (now_ns() - t_resume) / 1000000ull;
    for (unsigned h = 0; h < NHARTS; h++) {
        uint64_t c = peek(ram, COUNT + 8 * h);
        int64_t ran = (int64_t)(peek(ram, TIME + 8 * h) - time1[h]);
        if (c <= count1[h])
            fail_msg("%s: hart %u stopped counting after the restore (%" PRIu64 ")", what, h, c);
        if (ran <= 0)
            fail_msg("%s: hart %u: guest time did not advance while it ran", what, h);
        uint64_t gap = peek(ram, MAXGAP + 8 * h);
        if (gap > (real_ms + SLACK_MS) * TICKS_PER_MS)
            fail_msg("%s: hart %u: the guest saw time step %.1f ms between two iterations, in "
                     "%" PRIu64 " ms since the resume",
                     what, h, (double)gap / (double)TICKS_PER_MS, real_ms);
        if (peek(ram, BACK + 8 * h))
            fail_msg("%s: hart %u saw time go backwards %" PRIu64 " times", what, h,
                     peek(ram, BACK + 8 * h));
    }
}

/* buf restored with mem_path saves to buf again, byte for byte. */
static struct restored *restore_same(const char *what, const uint8_t *buf, size_t len,
                                     const char *mem_path)
{
    struct restored *r;
    char err[512];
    enum stage st = restore(buf, len, mem_path, NULL, &r, err, sizeof(err));
    if (st != APPLIED)
        fail_msg("%s: %s: %s", what, stage_names[st], err);
    assert_true(vm_paused(&r->vm));
    struct state_writer w;
    state_writer_init(&w);
    assert_int_equal(snapshot_encode(&r->vm, VERSION, &w, err, sizeof(err)), 0);
    if (w.len != len || memcmp(w.buf, buf, len))
        report_difference(buf, len, w.buf, w.len);
    state_writer_free(&w);
    return r;
}

/* A memory file no bigger on disk than a guest that touched a few pages needs. */
static void assert_sparse(const char *path)
{
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true((uint64_t)sb.st_size == RAM_BYTES);
    if ((uint64_t)sb.st_blocks * 512 > (2ull << 20))
        fail_msg("the memory file %s takes %llu KiB of disk", path,
                 (unsigned long long)sb.st_blocks / 2);
}

/*
 * A VM restored from the snapshot saves to the same bytes (guest time stands
 * still at the snapshot instant), then runs on: both harts count on from the
 * snapshot's values, guest time continues from the snapshot's without a jump
 * and never backwards, and the memory file is not written. That VM, paused
 * and resumed and saved again (its RAM a private mapping of the memory file,
 * not a memfd), restores the same way; and once more through a diff memory
 * file merged onto the previous one.
 */
static void test_round_trip(void **state)
{
    (void)state;
    char err[512];
    uint64_t saved[NHARTS];
    struct restored *r = restore_same("the snapshot", g.state, g.len, NULL);
    saved_guest_times(g.state, g.len, saved);
    assert_string_equal(r->snap.version, VERSION);
    assert_int_equal(r->snap.major, SNAPSHOT_FORMAT_MAJOR);
    assert_int_equal(r->snap.minor, SNAPSHOT_FORMAT_MINOR);
    run_on("restored", r, g.count0, g.time0, saved, true);
    write_seed("two_harts", g.state, g.len);

    /* Pauses right after resumes: a vCPU may not have taken the last one off
       its clock when the VM is saved. */
    for (unsigned i = 0; i < 5; i++) {
        vm_resume(&r->vm);
        assert_int_equal(vm_pause(&r->vm), 0);
    }
    uint64_t count2[NHARTS], time2[NHARTS];
    for (unsigned h = 0; h < NHARTS; h++) {
        count2[h] = peek(r->vm.ram, COUNT + 8 * h);
        time2[h] = peek(r->vm.ram, TIME + 8 * h);
    }
    char mem2[PATH_MAX + 16], mem3[PATH_MAX + 16], diff[PATH_MAX + 16];
    snprintf(mem2, sizeof(mem2), "%s/mem2", g.dir);
    snprintf(mem3, sizeof(mem3), "%s/mem3", g.dir);
    snprintf(diff, sizeof(diff), "%s/diff", g.dir);
    struct state_writer w;
    state_writer_init(&w);
    assert_int_equal(snapshot_encode(&r->vm, VERSION, &w, err, sizeof(err)), 0);
    assert_int_equal(snapshot_write_memory(&r->vm, mem2, err, sizeof(err)), 0);
    assert_sparse(mem2);
    struct restored *r3 = restore_same("the restored VM's snapshot", w.buf, w.len, mem2);
    saved_guest_times(w.buf, w.len, saved);
    assert_memory_equal(r3->vm.ram, r->vm.ram, RAM_BYTES);
    write_seed("restored_ran", w.buf, w.len);
    vm_request_stop(&r->vm, VM_STOP_SIGNAL);
    vm_join(&r->vm);
    release(r);
    run_on("restored twice", r3, count2, time2, saved, true);

    /* A diff against the memory file it was restored from, merged onto a copy of it. */
    assert_int_equal(snapshot_write_memory_diff(&r3->vm, diff, mem2, err, sizeof(err)), 0);
    assert_sparse(diff);
    int in = open(mem2, O_RDONLY), out = open(mem3, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(in >= 0 && out >= 0);
    assert_int_equal(ftruncate(out, (off_t)RAM_BYTES), 0);
    for (off_t off = 0; off < (off_t)RAM_BYTES; off += 4096) {
        uint8_t page[4096];
        assert_int_equal(pread(in, page, sizeof(page), off), (ssize_t)sizeof(page));
        static const uint8_t zero[4096];
        if (memcmp(page, zero, sizeof(page)))
            assert_int_equal(pwrite(out, page, sizeof(page), off), (ssize_t)sizeof(page));
    }
    close(in);
    close(out);
    assert_int_equal(snapshot_rebase_memory(mem3, diff, err, sizeof(err)), 0);
    state_writer_free(&w);
    state_writer_init(&w);
    assert_int_equal(snapshot_encode(&r3->vm, VERSION, &w, err, sizeof(err)), 0);
    struct restored *r4 = restore_same("restored from a rebased diff", w.buf, w.len, mem3);
    saved_guest_times(w.buf, w.len, saved);
    assert_memory_equal(r4->vm.ram, r3->vm.ram, RAM_BYTES);
    for (unsigned h = 0; h < NHARTS; h++) {
        count2[h] = peek(r3->vm.ram, COUNT + 8 * h);
        time2[h] = peek(r3->vm.ram, TIME + 8 * h);
    }
    vm_request_stop(&r3->vm, VM_STOP_SIGNAL);
    vm_join(&r3->vm);
    release(r3);
    run_on("restored from a rebased diff", r4, count2, time2, saved, true);
    vm_request_stop(&r4->vm, VM_STOP_SIGNAL);
    vm_join(&r4->vm);
    release(r4);
    state_writer_free(&w);
    unlink(mem2);
    unlink(mem3);
    unlink(diff);

    /* The first memory file still holds the snapshot's RAM. */
    int fd = open(g.mem_path, O_RDONLY);
    assert_true(fd >= 0);
    for (unsigned h = 0; h < NHARTS; h++) {
        uint64_t v;
        assert_int_equal(pread(fd, &v, 8, (off_t)(COUNT + 8 * h - RAM_BASE)), 8);
        assert_int_equal(v, g.count0[h]);
    }
    close(fd);
}

/* The file written and read back through snapshot_write_file/read_file. */
static void test_state_file(void **state)
{
    (void)state;
    char path[PATH_MAX + 16], err[512];
    snprintf(path, sizeof(path), "%s/state", g.dir);
    assert_int_equal(snapshot_write_file(path, g.state, g.len, err, sizeof(err)), 0);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, g.len);
    assert_int_equal(st.st_mode & 0777, 0600);
    struct snapshot *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    assert_int_equal(snapshot_read_file(s, path, err, sizeof(err)), 0);
    assert_int_equal(s->len, g.len);
    assert_memory_equal(s->buf, g.state, g.len);
    assert_int_equal(s->cfg.smp, NHARTS);
    assert_true(s->cfg.memory_bytes == RAM_BYTES);
    assert_string_equal(s->cfg.kernel_path, g.cfg.kernel_path);
    snapshot_free(s);

    /* Damaged on disk: the path and the reason. */
    uint8_t *bad = copy_of(g.state, g.len);
    bad[g.len / 2] ^= 0x10;
    assert_int_equal(snapshot_write_file(path, bad, g.len, err, sizeof(err)), 0);
    free(bad);
    assert_int_equal(snapshot_read_file(s, path, err, sizeof(err)), -1);
    assert_one_line("damaged file", err);
    assert_non_null(strstr(err, path));
    assert_non_null(strstr(err, "checksum"));
    assert_null(s->buf);
    unlink(path);
    assert_int_equal(snapshot_read_file(s, path, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "cannot open"));
    assert_int_equal(snapshot_read_file(s, g.dir, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    free(s);
}

/* --- tests: damage the checksum catches ---------------------------------------------- */

/* Every length short of the whole file is refused (exact-size copies: ASan
   sees any read past the end). */
static void test_truncated(void **state)
{
    (void)state;
    char err[512];
    struct snapshot *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    for (size_t len = 0; len < g.len; len++) {
        uint8_t *p = copy_of(g.state, len);
        err[0] = 0;
        if (snapshot_decode(s, p, len, err, sizeof(err)) == 0)
            fail_msg("a state file cut to %zu of %zu bytes was accepted", len, g.len);
        assert_one_line("truncated", err);
        assert_null(s->buf);
        free(p);
    }
    /* One byte too many. */
    uint8_t *p = malloc(g.len + 1);
    assert_non_null(p);
    memcpy(p, g.state, g.len);
    p[g.len] = 0;
    assert_int_equal(snapshot_decode(s, p, g.len + 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "truncated or has bytes past its end"));
    free(p);
    /* Over the size limit: refused before anything is read. */
    p = calloc(1, SNAPSHOT_MAX_BYTES + 1);
    assert_non_null(p);
    memcpy(p, g.state, g.len);
    assert_int_equal(snapshot_decode(s, p, SNAPSHOT_MAX_BYTES + 1, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "larger than"));
    free(p);
    free(s);
}

/* What refuses a flip of a bit at byte off of the header, or the body's checksum. */
static const char *flip_reason(size_t off)
{
    if (off < 8)
        return "not a duvisor snapshot";
    if (off < 12)
        return "snapshot format version";
    if (off >= 16 && off < 20)
        return "another architecture";
    if (off >= 24 && off < 32)
        return "truncated or has bytes past its end";
    return "checksum mismatch"; /* the minor version, the zero word, the body, the CRC */
}

/* Every single bit flipped, anywhere in the file, is refused. */
static void test_bit_flips(void **state)
{
    (void)state;
    char err[512];
    struct snapshot *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    uint8_t *p = copy_of(g.state, g.len);
    for (size_t bit = 0; bit < g.len * 8; bit++) {
        size_t off = bit / 8;
        p[off] ^= (uint8_t)(1u << (bit % 8));
        err[0] = 0;
        if (snapshot_decode(s, p, g.len, err, sizeof(err)) == 0)
            fail_msg("bit %zu of byte %zu flipped: accepted", bit % 8, off);
        if (!strstr(err, flip_reason(off)))
            fail_msg("bit %zu of byte %zu flipped: '%s', not '%s'", bit % 8, off, err,
                     flip_reason(off));
        assert_one_line("bit flip", err);
        p[off] ^= (uint8_t)(1u << (bit % 8));
    }
    free(p);
    free(s);
}

/* The header's fields, with the checksum made right so that each check is the
   one that refuses. */
static void test_header_fields(void **state)
{
    (void)state;
    uint8_t *p = copy_of(g.state, g.len);

    memcpy(p, "DUVISNAQ", 8);
    refix(p, g.len);
    expect("wrong magic", p, g.len, DECODE_FAILED, "not a duvisor snapshot");
    memcpy(p, g.state, 8);

    static const uint32_t majors[] = {0, 2, 0xffffffffu};
    for (unsigned i = 0; i < 3; i++) {
        put_le32(p + 8, majors[i]);
        refix(p, g.len);
        expect("another major version", p, g.len, DECODE_FAILED, "reads version 1 only");
    }
    put_le32(p + 8, SNAPSHOT_FORMAT_MAJOR);

    static const uint32_t arches[] = {0, 243 | 32u << 16, 62 | 64u << 16, 243};
    for (unsigned i = 0; i < 4; i++) {
        put_le32(p + 16, arches[i]);
        refix(p, g.len);
        expect("another architecture", p, g.len, DECODE_FAILED, "another architecture");
    }
    memcpy(p + 16, g.state + 16, 4);

    /* The body length field, one off either way, zero, huge. */
    const int64_t deltas[] = {-1, 1, -(int64_t)(g.len - HEADER_BYTES - TRAILER_BYTES),
                              INT64_MAX / 2};
    for (unsigned i = 0; i < 4; i++) {
        refix(p, g.len);
        put_le64(p + 24, get_le64(p + 24) + (uint64_t)deltas[i]);
        put_le64(p + g.len - 8, state_crc64(0, p, g.len - 8));
        expect("body length field wrong", p, g.len, DECODE_FAILED,
               "truncated or has bytes past its end");
    }

    /* A later minor version of the same major is read. */
    put_le32(p + 12, SNAPSHOT_FORMAT_MINOR + 3);
    refix(p, g.len);
    expect("a later minor version", p, g.len, APPLIED, NULL);
    free(p);
}

/* --- tests: the framing, the checksum made right ------------------------------------- */

static void test_framing(void **state)
{
    (void)state;
    struct layout *l = fresh();
    expect_layout("the snapshot as it is", l, APPLIED, NULL);

    /* The last section's length runs past the end of the body. */
    size_t len;
    uint8_t *p = join(l, &len);
    size_t last_len_at = len - TRAILER_BYTES - l->s[l->n - 1].len - 4;
    put_le32(p + last_len_at, (uint32_t)l->s[l->n - 1].len + 1);
    refix(p, len);
    expect("section length past the end", p, len, DECODE_FAILED, "runs past the end");
    put_le32(p + last_len_at, 0xffffffffu);
    refix(p, len);
    expect("section length 4 GiB", p, len, DECODE_FAILED, "runs past the end");
    free(p);

    /* The body ends inside a section's name, inside its length. */
    p = join(l, &len);
    for (size_t cut = 1; cut < 4 + strlen(l->s[0].name) + 4; cut++) {
        size_t body = 4 + strlen(l->s[0].name) + 4 + l->s[0].len + cut; /* into section 1 */
        uint8_t *q = malloc(HEADER_BYTES + body + TRAILER_BYTES);
        assert_non_null(q);
        memcpy(q, p, HEADER_BYTES + body);
        refix(q, HEADER_BYTES + body + TRAILER_BYTES);
        expect("body ends inside a section header", q, HEADER_BYTES + body + TRAILER_BYTES,
               DECODE_FAILED, "damaged");
        free(q);
    }
    free(p);

    /* A section name too long, one holding a NUL. */
    struct layout *m = fresh();
    char longname[100];
    memset(longname, 'n', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    add(m, longname, "", 0);
    expect_layout("a section name of 99 bytes", m, DECODE_FAILED, "longer than");
    free(m);
    m = fresh();
    p = join(m, &len);
    uint8_t *at = memmem(p, len, "\4\0\0\0plic", 8); /* the name, after its length */
    assert_non_null(at);
    at[4 + 2] = 0;
    refix(p, len);
    expect("a section name holding a NUL", p, len, DECODE_FAILED, "NUL");
    free(p);
    free(m);

    /* Two of one section; every name that must be there missing. */
    m = fresh();
    add(m, "plic", find(m, "plic")->data, find(m, "plic")->len);
    expect_layout("duplicate section", m, DECODE_FAILED, "two 'plic' sections");
    free(m);
    m = fresh();
    add(m, "vcpu0", find(m, "vcpu0")->data, find(m, "vcpu0")->len);
    expect_layout("duplicate vcpu section", m, DECODE_FAILED, "two 'vcpu0' sections");
    free(m);
    m = fresh();
    m->n = 0;
    expect_layout("no sections at all", m, DECODE_FAILED, "no 'machine' section");
    free(m);
    static const char *const needed_at_decode[] = {"machine", "config"};
    for (unsigned i = 0; i < 2; i++) {
        m = fresh();
        drop(m, needed_at_decode[i]);
        char want[64];
        snprintf(want, sizeof(want), "no '%s' section", needed_at_decode[i]);
        expect_layout(want, m, DECODE_FAILED, want);
        free(m);
    }
    static const char *const needed_at_apply[] = {
        "plic", "vcpu0", "vcpu1", "dev:rng0", "dev:hvc0", "dev:keyboard0", "dev:serial0"};
    for (unsigned i = 0; i < sizeof(needed_at_apply) / sizeof(needed_at_apply[0]); i++) {
        m = fresh();
        drop(m, needed_at_apply[i]);
        char want[64];
        snprintf(want, sizeof(want), "no '%s' section", needed_at_apply[i]);
        expect_layout(want, m, APPLY_FAILED, want);
        free(m);
    }

    /* Sections no VM of this shape uses. */
    static const char *const extra[] = {"bogus", "vcpu2", "dev:boot_timer0", "dev:rng1", ""};
    for (unsigned i = 0; i < sizeof(extra) / sizeof(extra[0]); i++) {
        m = fresh();
        add(m, extra[i], "abc", 3);
        char want[64];
        snprintf(want, sizeof(want), "no use for: '%s'", extra[i]);
        expect_layout("unknown extra section", m, APPLY_FAILED, want);
        free(m);
    }

    /* Sections in another order are still found. */
    m = fresh();
    struct sec tmp;
    memcpy(&tmp, &m->s[0], sizeof(tmp));
    memcpy(&m->s[0], &m->s[m->n - 1], sizeof(tmp));
    memcpy(&m->s[m->n - 1], &tmp, sizeof(tmp));
    expect_layout("sections reordered", m, APPLIED, NULL);
    free(m);

    /* More sections than a snapshot may have. */
    m = fresh();
    for (unsigned i = m->n; i <= SNAPSHOT_MAX_SECTIONS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "x%u", i);
        add(m, name, "", 0);
    }
    assert_int_equal(m->n, SNAPSHOT_MAX_SECTIONS + 1);
    expect_layout("65 sections", m, DECODE_FAILED, "more than 64 sections");
    free(m);

    /* Bytes a section's reader leaves. */
    static const char *const grown[] = {"machine",  "config",   "plic",          "vcpu1",
                                        "dev:rng0", "dev:hvc0", "dev:keyboard0", "dev:serial0"};
    for (unsigned i = 0; i < sizeof(grown) / sizeof(grown[0]); i++) {
        m = fresh();
        struct sec *s = find(m, grown[i]);
        s->data[s->len++] = 0;
        char want[80];
        snprintf(want, sizeof(want), "'%s' has 1 bytes too many", grown[i]);
        expect_layout(want, m, !strcmp(grown[i], "config") ? DECODE_FAILED : APPLY_FAILED, want);
        free(m);
    }
    /* A format 1.0 file: 'config' without the interrupt controller, VLEN and
       the console device, 'dev:hvc0' without its flag, 'vcpuN' without V and SBI state: a PLIC VM
       with its input on the UART. */
    m = fresh();
    put_le32(m->header + 12, 0);
    find(m, "config")->len -= 6 + 8 + 11; /* and 1.4's vsock CID and path, 1.5's balloon */
    find(m, "dev:hvc0")->len -= 1;
    for (unsigned h = 0; h < NHARTS; h++) { /* no V state, no SBI state */
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", h);
        struct sec *vs = find(m, name);
        vs->len = VCPU_CSRS_AT + 4 + get_le32(vs->data + VCPU_CSRS_AT) * 12;
    }
    expect_layout("a format 1.0 file", m, APPLIED, NULL);
    find(m, "dev:hvc0")->len -= 1;
    expect_layout("a format 1.0 file one byte short", m, APPLY_FAILED, "truncated");
    free(m);
    /* A format 1.4 file: 'config' without the balloon (none). */
    m = fresh();
    put_le32(m->header + 12, 4);
    find(m, "config")->len -= 11;
    expect_layout("a format 1.4 file", m, APPLIED, NULL);
    find(m, "config")->len -= 1;
    expect_layout("a format 1.4 file one byte short", m, DECODE_FAILED, "truncated");
    free(m);
    /* And sections one byte short. */
    static const char *const shrunk[] = {"machine",  "config",   "plic",          "vcpu0",
                                         "dev:rng0", "dev:hvc0", "dev:keyboard0", "dev:serial0"};
    for (unsigned i = 0; i < sizeof(shrunk) / sizeof(shrunk[0]); i++) {
        m = fresh();
        struct sec *s = find(m, shrunk[i]);
        s->len--;
        bool at_decode = !strcmp(shrunk[i], "config");
        expect_layout(shrunk[i], m, at_decode ? DECODE_FAILED : APPLY_FAILED, "truncated");
        free(m);
    }
    free(l);
}

/* l joined and restored; a reason that is not one line is counted in *bad. */
static void check_quoted(const char *what, const struct layout *l, enum stage want, unsigned *bad,
                         unsigned *cases)
{
    size_t len;
    uint8_t *buf = join(l, &len);
    char err[512];
    enum stage got = restore(buf, len, NULL, NULL, NULL, err, sizeof(err));
    free(buf);
    (*cases)++;
    if (got != want || !one_line(err)) {
        (*bad)++;
        print_message("%s: %s, want %s: reason of %zu bytes, one line: %s\n", what,
                      stage_names[got], stage_names[want], strlen(err),
                      one_line(err) ? "yes" : "no");
    }
}

/*
 * Names from the file quoted in a reason (sections, device ids) cannot break
 * it into lines or put control characters on a terminal (found by
 * tests/fuzz/fuzz_snapshot.c). Every case is tried, then the test fails if
 * any reason was not one line of text.
 */
static void test_names_in_reasons(void **state)
{
    (void)state;
    static const char *const names[] = {"evil\nsecond line", "\x1b[2Jclear", "tab\there"};
    unsigned bad = 0, cases = 0;
    for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        struct layout *m = fresh();
        add(m, names[i], "", 0);
        check_quoted("an unknown section", m, APPLY_FAILED, &bad, &cases);
        if (i == 0) { /* the fuzz harness's regression input */
            size_t len;
            uint8_t *p = join(m, &len);
            write_seed("regress_name_newline", p, len);
            free(p);
        }
        add(m, names[i], "", 0);
        check_quoted("two sections of one name", m, DECODE_FAILED, &bad, &cases);
        m->n--;
        m->s[m->n - 1].len = 0;
        size_t len;
        uint8_t *p = join(m, &len);
        put_le32(p + len - TRAILER_BYTES - 4, 100); /* the last section's length */
        refix(p, len);
        char err[512];
        enum stage got = restore(p, len, NULL, NULL, NULL, err, sizeof(err));
        free(p);
        cases++;
        if (got != DECODE_FAILED || !one_line(err)) {
            bad++;
            print_message("a section past the end: %s, reason one line: %s\n", stage_names[got],
                          one_line(err) ? "yes" : "no");
        }
        free(m);

        /* A device id in "machine". */
        m = fresh();
        struct sec *s = find(m, "machine");
        uint8_t *id = memmem(s->data, s->len, "rng0", 4);
        assert_non_null(id);
        size_t at = (size_t)(id - s->data), n = strlen(names[i]);
        uint8_t rest[MAX_SEC_BYTES];
        size_t rest_len = s->len - at - 4;
        memcpy(rest, id + 4, rest_len);
        put_le32(id - 4, (uint32_t)n);
        memcpy(id, names[i], n);
        memcpy(id + n, rest, rest_len);
        s->len = at + n + rest_len;
        check_quoted("a device id", m, APPLY_FAILED, &bad, &cases);
        free(m);
    }
    if (bad)
        fail_msg("%u of %u reasons quoting a name with a control character are not one line", bad,
                 cases);
}

/* --- tests: the sections' contents --------------------------------------------------- */

/* "machine": version string, u32 vCPUs, u64 RAM, u32 device count, ids. */
static void test_machine_section(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "machine");
    size_t vcpus_at = offset_after(s, "s");
    put_le32(s->data + vcpus_at, 3);
    expect_layout("machine: 3 vCPUs", m, APPLY_FAILED, "not as its configuration says");
    put_le32(s->data + vcpus_at, NHARTS);
    put_le64(s->data + vcpus_at + 4, RAM_BYTES * 2);
    expect_layout("machine: twice the RAM", m, APPLY_FAILED, "not as its configuration says");
    put_le64(s->data + vcpus_at + 4, RAM_BYTES);
    uint32_t ndev = get_le32(s->data + vcpus_at + 12);
    assert_true(ndev >= 5); /* serial0 boot_timer0 rng0 hvc0 keyboard0 */
    put_le32(s->data + vcpus_at + 12, ndev - 1);
    expect_layout("machine: a device fewer", m, APPLY_FAILED, "devices; this VM has");
    put_le32(s->data + vcpus_at + 12, 1000);
    expect_layout("machine: 1000 devices", m, APPLY_FAILED, "above the limit");
    put_le32(s->data + vcpus_at + 12, ndev);
    expect_layout("machine: restored as it was", m, APPLIED, NULL);
    uint8_t *id = memmem(s->data, s->len, "rng0", 4);
    assert_non_null(id);
    id[3] = '9';
    expect_layout("machine: another device id", m, APPLY_FAILED, "device 2 is 'rng9'");
    id[3] = '0';
    /* The version string over its room. */
    struct layout *v = fresh();
    s = find(v, "machine");
    uint32_t vlen = get_le32(s->data);
    uint8_t rest[MAX_SEC_BYTES];
    size_t rest_len = s->len - 4 - vlen;
    memcpy(rest, s->data + 4 + vlen, rest_len);
    put_le32(s->data, 100);
    memset(s->data + 4, 'v', 100);
    memcpy(s->data + 104, rest, rest_len);
    s->len = 104 + rest_len;
    expect_layout("machine: a version of 100 bytes", v, DECODE_FAILED, "longer than 63");
    free(v);
    free(m);
}

static void cfg_smp1(struct vm_config *cfg)
{
    cfg->smp = 1;
}

/* A 2-vCPU state onto a VM configured with 1: the machine section refuses. */
static void test_fewer_vcpus(void **state)
{
    (void)state;
    expect_edit("2 vCPUs onto a VM of 1", g.state, g.len, APPLY_FAILED,
                "2 vCPUs and 67108864 bytes of RAM, not as its configuration says", cfg_smp1, NULL);
}

static void cfg_ram128(struct vm_config *cfg)
{
    cfg->memory_bytes = 128ull << 20;
}

/* 64 MiB of state onto a VM with (a memory file of) 128 MiB. */
static void test_more_ram(void **state)
{
    (void)state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/mem128", g.dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(ftruncate(fd, 128 << 20), 0);
    close(fd);
    expect_edit("64 MiB of state onto 128 MiB", g.state, g.len, APPLY_FAILED,
                "not as its configuration says", cfg_ram128, path);
    unlink(path);
}

/* "config" is read by snapshot_decode: its counts and ranges. */
static void test_config_section(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "config");
    size_t smp_at = offset_after(s, "sss");
    size_t disks_at = smp_at + 4 + 8 + 1 + 1;
    assert_int_equal(get_le32(s->data + smp_at), NHARTS);
    assert_true(get_le64(s->data + smp_at + 4) == RAM_BYTES);
    assert_int_equal(get_le32(s->data + disks_at), 0);
    assert_int_equal(get_le32(s->data + disks_at + 4), 0);   /* NICs */
    assert_int_equal(s->data[disks_at + 8], 0);              /* irqchip: the PLIC */
    assert_int_equal(get_le32(s->data + disks_at + 9), 256); /* VLEN */
    assert_int_equal(s->data[disks_at + 13], 0);             /* --console: the UART */
    assert_int_equal(get_le32(s->data + disks_at + 14), 0);  /* vsock CID: none */
    assert_int_equal(get_le32(s->data + disks_at + 18), 0);  /* vsock path: "" */
    put_le32(s->data + disks_at + 14, 2); /* a CID that is the host's, and no path */
    expect_layout("config: vsock CID 2", m, DECODE_FAILED, "vsock guest CID 2");
    put_le32(s->data + disks_at + 14, 0);
    for (size_t b = disks_at + 22; b < disks_at + 33; b++) /* 1.5: no balloon */
        assert_int_equal(s->data[b], 0);
    assert_int_equal(disks_at + 33, s->len);
    s->data[disks_at + 22] = 2;
    expect_layout("config: a balloon flag that is not a bool", m, DECODE_FAILED, "");
    s->data[disks_at + 22] = 0;
    s->data[disks_at + 8] = 2;
    expect_layout("config: interrupt controller 2", m, DECODE_FAILED, "interrupt controller 2");
    s->data[disks_at + 8] = 0;
    static const uint32_t vlens[] = {64, 100, 2048}; /* 0 is a padded format 1.0 file's */
    for (unsigned i = 0; i < 3; i++) {
        put_le32(s->data + disks_at + 9, vlens[i]);
        expect_layout("config: a VLEN the hart cannot have", m, DECODE_FAILED, "a VLEN of");
    }
    put_le32(s->data + disks_at + 9, 256);
    s->len -= 5 + 8 + 11; /* a format 1.5 file must have them (1.0's are padded: test_framing) */
    expect_layout("config: no VLEN and console device", m, DECODE_FAILED, "truncated");
    s->len += 5 + 8 + 11;

    static const uint32_t smps[] = {0, 33, 1000, 0xffffffffu};
    for (unsigned i = 0; i < 4; i++) {
        put_le32(s->data + smp_at, smps[i]);
        expect_layout("config: smp out of range", m, DECODE_FAILED, "vCPUs (1 to 32)");
    }
    put_le32(s->data + smp_at, NHARTS);
    static const uint64_t rams[] = {0,          4096,      RAM_BYTES + 1, RAM_BYTES + 2048,
                                    1ull << 50, UINT64_MAX};
    for (unsigned i = 0; i < sizeof(rams) / sizeof(rams[0]); i++) {
        put_le64(s->data + smp_at + 4, rams[i]);
        expect_layout("config: memory out of range", m, DECODE_FAILED, "guest memory of");
    }
    put_le64(s->data + smp_at + 4, RAM_BYTES);
    s->data[smp_at + 12] = 2; /* track_dirty_pages */
    expect_layout("config: a flag of 2", m, DECODE_FAILED, "a flag is 2");
    s->data[smp_at + 12] = 0;

    put_le32(s->data + disks_at, 99);
    expect_layout("config: 99 disks", m, DECODE_FAILED, "disks 99 is above the limit 5");
    put_le32(s->data + disks_at, 6);
    expect_layout("config: 6 disks", m, DECODE_FAILED, "disks 6 is above the limit 5");
    put_le32(s->data + disks_at,
             1); /* and no disk follows (nor VLEN's 4 bytes, nor vsock's 8, nor the balloon's 11) */
    s->len -= 4 + 8 + 11;
    expect_layout("config: a disk missing", m, DECODE_FAILED, "truncated");
    s->len += 4 + 8 + 11;
    put_le32(s->data + disks_at, 0);
    put_le32(s->data + disks_at + 4, 99);
    expect_layout("config: 99 NICs", m, DECODE_FAILED, "network interfaces 99 is above");
    put_le32(s->data + disks_at + 4, 0);
    s->data[disks_at + 13] = 2;
    expect_layout("config: console device 2", m, DECODE_FAILED, "console device 2");
    s->data[disks_at + 13] = 1; /* hvc0: a VM of its own shape */
    expect_layout("config: console hvc0", m, APPLIED, NULL);
    s->data[disks_at + 13] = 0;

    /* A disk with no id; a NIC of an unknown kind. */
    struct state_writer w;
    state_writer_init(&w);
    state_put_u32(&w, 1);
    state_put_str(&w, ""); /* id */
    state_put_str(&w, "/nonexistent.img");
    state_put_bool(&w, false);
    state_put_bool(&w, true);
    state_put_str(&w, "");
    state_put_str(&w, "Unsafe");
    state_put_str(&w, "Sync");
    state_put_u32(&w, 0);
    s->len = disks_at;
    memcpy(s->data + s->len, w.buf, w.len);
    s->len += w.len;
    expect_layout("config: a disk without an id", m, DECODE_FAILED, "no id");
    state_writer_free(&w);
    state_writer_init(&w);
    state_put_u32(&w, 0);
    state_put_u32(&w, 1);
    state_put_str(&w, "eth0");
    state_put_u8(&w, 77); /* kind */
    state_put_str(&w, "");
    uint8_t mac[6] = {2, 0, 0, 0, 0, 1};
    state_put_bytes(&w, mac, 6);
    state_put_bool(&w, true);
    state_put_u32(&w, 1500);
    s->len = disks_at;
    memcpy(s->data + s->len, w.buf, w.len);
    s->len += w.len;
    expect_layout("config: a NIC of kind 77", m, DECODE_FAILED, "kind 77");
    state_writer_free(&w);

    /* A kernel path over the room for one. */
    struct layout *k = fresh();
    s = find(k, "config");
    uint32_t klen = get_le32(s->data);
    uint8_t rest[MAX_SEC_BYTES];
    size_t rest_len = s->len - 4 - klen;
    memcpy(rest, s->data + 4 + klen, rest_len);
    put_le32(s->data, VM_PATH_MAX);
    assert_true(4 + VM_PATH_MAX + rest_len <= MAX_SEC_BYTES);
    memset(s->data + 4, 'k', VM_PATH_MAX);
    memcpy(s->data + 4 + VM_PATH_MAX, rest, rest_len);
    s->len = 4 + VM_PATH_MAX + rest_len;
    expect_layout("config: a kernel path of 4096 bytes", k, DECODE_FAILED, "longer than");
    free(k);
    free(m);
}

/* "plic": u32 sources, u32 contexts, priorities, pending/claimed words, per
   context the enable words and the threshold. */
static void test_plic_section(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "plic");
    uint32_t nsources = get_le32(s->data), ncontexts = get_le32(s->data + 4);
    unsigned words = (nsources + 31) / 32;
    assert_int_equal(s->len, 8 + nsources + words * 8 + ncontexts * (words * 4 + 1));
    uint8_t orig[MAX_SEC_BYTES];
    memcpy(orig, s->data, s->len);

    put_le32(s->data, nsources + 1);
    expect_layout("plic: another source count", m, APPLY_FAILED, "");
    put_le32(s->data, 5000);
    expect_layout("plic: 5000 sources", m, APPLY_FAILED, "interrupt sources 5000 is above");
    memcpy(s->data, orig, s->len);
    put_le32(s->data + 4, 300);
    expect_layout("plic: 300 contexts", m, APPLY_FAILED, "interrupt contexts 300 is above");
    memcpy(s->data, orig, s->len);

    s->data[8 + 1] = 8; /* source 1's priority */
    expect_layout("plic: priority 8", m, APPLY_FAILED, "refuses this state");
    memcpy(s->data, orig, s->len);
    put_le32(s->data + 8 + nsources, 1); /* source 0 pending: it does not exist */
    expect_layout("plic: source 0 pending", m, APPLY_FAILED, "refuses this state");
    memcpy(s->data, orig, s->len);
    s->data[8 + nsources + words * 8 + words * 4] = 9; /* context 0's threshold */
    expect_layout("plic: threshold 9", m, APPLY_FAILED, "refuses this state");
    memcpy(s->data, orig, s->len);
    /* In range: a priority, a pending source, an enable bit and a threshold. */
    s->data[8 + 3] = 7;
    put_le32(s->data + 8 + nsources, 1u << 3);
    put_le32(s->data + 8 + nsources + words * 8, 1u << 3);
    s->data[8 + nsources + words * 8 + words * 4] = 2;
    expect_layout("plic: values in range", m, APPLIED, NULL);
    free(m);
}

/* "vcpuN": u32 HSM state, u64 start, u64 arg, u64 guest time, x1..x31,
   f0..f31, u32 CSR count, then (u32 number, u64 value) per CSR; then (minor
   1) u32 suspend kind, u64 resume address, u64 resume arg, u64 STA shmem,
   u32 STA sequence, u64 steal, u8 PTE A/D updating, u32 FWFT locks; then
   (minor 3) the PMU: u32 hardware counters configured, u16 firmware ones
   configured, u16 started, 16 x (u8 event, u64 value). */
#define VCPU_SBI_LEN (4 + 8 + 8 + 8 + 4 + 8 + 1 + 4)
#define VCPU_PMU_LEN (4 + 2 + 2 + 16 * 9)

/* Does this hart implement Svadu (henvcfg.ADUE reads back)? */
static bool hart_has_svadu(void)
{
    struct dv_machine *machine = dv_machine_create(1);
    struct dv_hart *hart = machine ? dv_hart_create(machine, 0) : NULL;
    uint64_t got = 0;
    bool has = hart && dv_csr_write(hart, DV_CSR_HUENVCFG, DV_ENVCFG_ADUE) == DV_OK &&
               dv_csr_read(hart, DV_CSR_HUENVCFG, &got) == DV_OK && (got & DV_ENVCFG_ADUE);
    if (hart)
        dv_hart_destroy(hart);
    if (machine)
        dv_machine_destroy(machine);
    return has;
}

static void test_vcpu_section(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "vcpu1");
    uint32_t ncsrs = get_le32(s->data + VCPU_CSRS_AT);
    assert_int_equal(s->len, VCPU_CSRS_AT + 4 + ncsrs * 12 + VCPU_VECTOR_BYTES + VCPU_SBI_LEN +
                                 VCPU_PMU_LEN);
    assert_int_equal(get_le32(s->data), 0); /* started */
    uint8_t orig[MAX_SEC_BYTES];
    memcpy(orig, s->data, s->len);

    /* Suspended: a retentive one, one resuming in RAM; not one resuming elsewhere. */
    size_t pmu_at = s->len - VCPU_PMU_LEN, sbi_at = pmu_at - VCPU_SBI_LEN;
    assert_int_equal(get_le64(s->data + sbi_at + 20), UINT64_MAX); /* STA off */
    put_le32(s->data, 4);
    expect_layout("vcpu: suspended, no kind", m, APPLY_FAILED, "hart state 4");
    put_le32(s->data + sbi_at, 1);
    expect_layout("vcpu: suspended, retentive", m, APPLIED, NULL);
    put_le32(s->data + sbi_at, 2);
    put_le64(s->data + sbi_at + 4, RAM_BASE + 0x100);
    expect_layout("vcpu: suspended, resuming in RAM", m, APPLIED, NULL);
    put_le64(s->data + sbi_at + 4, 0x1000);
    expect_layout("vcpu: suspended, resuming outside RAM", m, APPLY_FAILED, "hart state 4");
    put_le32(s->data + sbi_at, 3);
    put_le64(s->data + sbi_at + 4, RAM_BASE);
    expect_layout("vcpu: suspended, unknown kind", m, APPLY_FAILED, "hart state 4");
    memcpy(s->data, orig, s->len);
    put_le64(s->data + sbi_at + 20, RAM_BASE + 0x40);
    expect_layout("vcpu: STA in RAM", m, APPLIED, NULL);
    put_le64(s->data + sbi_at + 20, RAM_BASE + 0x20);
    expect_layout("vcpu: STA misaligned", m, APPLY_FAILED, "steal-time memory");
    put_le64(s->data + sbi_at + 20, RAM_BASE + RAM_BYTES);
    expect_layout("vcpu: STA past RAM", m, APPLY_FAILED, "steal-time memory");
    memcpy(s->data, orig, s->len);
    s->data[sbi_at + 40] = 2;
    expect_layout("vcpu: PTE A/D updating 2", m, APPLY_FAILED, "firmware features");
    s->data[sbi_at + 40] = 1;
    if (hart_has_svadu())
        expect_layout("vcpu: PTE A/D updating", m, APPLIED, NULL);
    else
        expect_layout("vcpu: PTE A/D updating without Svadu", m, APPLY_FAILED, "no Svadu");
    s->data[sbi_at + 40] = 0;
    put_le32(s->data + sbi_at + 41, 1u << 6);
    expect_layout("vcpu: a lock on no feature", m, APPLY_FAILED, "firmware features");
    put_le32(s->data + sbi_at + 41, 0x11);
    expect_layout("vcpu: locks", m, APPLIED, NULL);
    memcpy(s->data, orig, s->len);

    /* PMU: firmware counter 0 configured for event 6 (IPI_SENT) and started at 41. */
    put_le16(s->data + pmu_at + 4, 1);
    put_le16(s->data + pmu_at + 6, 1);
    s->data[pmu_at + 8] = 6;
    put_le64(s->data + pmu_at + 9, 41);
    expect_layout("vcpu: a started firmware counter", m, APPLIED, NULL);
    s->data[pmu_at + 8] = 22;
    expect_layout("vcpu: a firmware event past the last", m, APPLY_FAILED, "PMU counters");
    s->data[pmu_at + 8] = 6;
    put_le16(s->data + pmu_at + 4, 0);
    expect_layout("vcpu: a started counter not configured", m, APPLY_FAILED, "PMU counters");
    memcpy(s->data, orig, s->len);

    static const uint32_t hsm[] = {3, 4, 5, 99, 0xffffffffu};
    for (unsigned i = 0; i < sizeof(hsm) / sizeof(hsm[0]); i++) {
        put_le32(s->data, hsm[i]);
        char want[32];
        snprintf(want, sizeof(want), "hart state %u", hsm[i]);
        expect_layout("vcpu: an HSM state no paused VM is in", m, APPLY_FAILED, want);
    }
    /* Start pending at an address outside RAM, odd, or nowhere. */
    static const uint64_t starts[] = {0, 0x1000, RAM_BASE + 1, RAM_BASE + RAM_BYTES,
                                      UINT64_MAX - 1};
    for (unsigned i = 0; i < sizeof(starts) / sizeof(starts[0]); i++) {
        put_le32(s->data, 2);
        put_le64(s->data + 4, starts[i]);
        expect_layout("vcpu: start pending at a bad address", m, APPLY_FAILED, "hart state 2");
    }
    put_le64(s->data + 4, RAM_BASE);
    expect_layout("vcpu: start pending at RAM", m, APPLIED, NULL);
    put_le32(s->data, 1);
    expect_layout("vcpu: stopped", m, APPLIED, NULL);
    memcpy(s->data, orig, s->len);

    put_le32(s->data + VCPU_CSRS_AT, ncsrs + 1);
    expect_layout("vcpu: a CSR more", m, APPLY_FAILED, "a different set of hart registers");
    put_le32(s->data + VCPU_CSRS_AT, ncsrs - 2); /* ncsrs - 1: the list before huenvcfg */
    expect_layout("vcpu: two CSRs fewer", m, APPLY_FAILED, "a different set of hart registers");
    memcpy(s->data, orig, s->len);
    for (unsigned i = 0; i < ncsrs; i++) {
        size_t at = VCPU_CSRS_AT + 4 + i * 12;
        uint32_t csr = get_le32(s->data + at);
        put_le32(s->data + at, csr ^ 0x1);
        char want[64];
        snprintf(want, sizeof(want), "register %#x where %#x belongs", csr ^ 0x1, csr);
        expect_layout("vcpu: a wrong CSR number", m, APPLY_FAILED, want);
        put_le32(s->data + at, csr);
    }
    /* Two CSRs swapped. */
    uint8_t t[12];
    memcpy(t, s->data + VCPU_CSRS_AT + 4, 12);
    memcpy(s->data + VCPU_CSRS_AT + 4, s->data + VCPU_CSRS_AT + 16, 12);
    memcpy(s->data + VCPU_CSRS_AT + 16, t, 12);
    expect_layout("vcpu: two CSRs swapped", m, APPLY_FAILED, "where");
    memcpy(s->data, orig, s->len);
    /* Every CSR all ones: the hart takes what it can hold or refuses; no crash. */
    for (unsigned i = 0; i < ncsrs; i++) {
        put_le64(s->data + VCPU_CSRS_AT + 4 + i * 12 + 4, UINT64_MAX);
        char err[512];
        size_t len;
        uint8_t *p = join(m, &len);
        enum stage st = restore(p, len, NULL, NULL, NULL, err, sizeof(err));
        if (st == APPLY_FAILED) {
            assert_one_line("vcpu: a CSR all ones", err);
            if (!strstr(err, "refuses"))
                fail_msg("CSR %u all ones: '%s'", i, err);
        } else if (st != APPLIED) {
            fail_msg("CSR %u all ones: %s: %s", i, stage_names[st], err);
        }
        free(p);
        memcpy(s->data, orig, s->len);
    }
    free(m);
}

/* The V state ending "vcpuN" (format 1.1): restored exactly through the
   contract (vector CSRs, dv_vreg_*), refused when it does not fit the hart,
   and absent in a 1.0 file. */
static void test_vector_state(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "vcpu1");
    size_t at = VCPU_CSRS_AT + 4 + get_le32(s->data + VCPU_CSRS_AT) * 12;
    assert_int_equal(s->len, at + VCPU_VECTOR_BYTES + VCPU_SBI_LEN + VCPU_PMU_LEN);
    assert_int_equal(get_le32(s->data + at), 32); /* vlenb at the default VLEN */
    put_le64(s->data + at + 4, 0x51);             /* vtype: e32, m2, ta */
    put_le64(s->data + at + 12, 11);              /* vl */
    put_le64(s->data + at + 20, 3);               /* vstart */
    put_le64(s->data + at + 28, 5);               /* vcsr: vxrm 2, vxsat 1 */
    for (unsigned i = 0; i < 32 * 32; i++)
        s->data[at + 36 + i] = (uint8_t)(i * 37 + 1);
    char err[512];
    size_t len;
    uint8_t *p = join(m, &len);
    struct restored *r;
    enum stage st = restore(p, len, NULL, NULL, &r, err, sizeof(err));
    free(p);
    if (st != APPLIED)
        fail_msg("vector state: %s: %s", stage_names[st], err);
    struct dv_hart *h = r->vm.vcpus[1].hart;
    uint64_t v;
    static const struct {
        unsigned csr;
        uint64_t value;
    } want[] = {{DV_CSR_GUEST_VTYPE, 0x51}, {DV_CSR_GUEST_VL, 11},  {DV_CSR_GUEST_VSTART, 3},
                {DV_CSR_GUEST_VCSR, 5},     {DV_CSR_GUEST_VXRM, 2}, {DV_CSR_GUEST_VXSAT, 1}};
    for (unsigned i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        assert_int_equal(dv_csr_read(h, want[i].csr, &v), DV_OK);
        assert_int_equal(v, want[i].value);
    }
    for (unsigned reg = 0; reg < 32; reg++) {
        uint8_t bytes[32];
        assert_int_equal(dv_vreg_get(h, reg, bytes, sizeof(bytes)), DV_OK);
        for (unsigned i = 0; i < 32; i++)
            assert_int_equal(bytes[i], (uint8_t)((reg * 32 + i) * 37 + 1));
    }
    release(r);
    uint8_t orig[MAX_SEC_BYTES];
    memcpy(orig, s->data, s->len);
    put_le32(s->data + at, 64);
    expect_layout("vcpu: vector registers of another VLEN", m, APPLY_FAILED,
                  "vector registers of 64 bytes");
    memcpy(s->data, orig, s->len);
    put_le64(s->data + at + 4, 4); /* LMUL reserved */
    expect_layout("vcpu: a reserved vtype", m, APPLY_FAILED, "refuses");
    memcpy(s->data, orig, s->len);
    put_le64(s->data + at + 12, 17); /* above VLMAX 16 */
    expect_layout("vcpu: vl above VLMAX", m, APPLY_FAILED, "refuses");
    memcpy(s->data, orig, s->len);
    put_le64(s->data + at + 28, 8);
    expect_layout("vcpu: vcsr out of range", m, APPLY_FAILED, "refuses");
    free(m); /* a format 1.0 file, with no vector state: test_framing */
}

/* "dev:serial0" (uart8250_save): 7 register bytes, bool FIFO on, bool THRE
   pending, u32 count, the received bytes. */
static void test_uart_section(void **state)
{
    (void)state;
    struct layout *m = fresh();
    struct sec *s = find(m, "dev:serial0");
    assert_int_equal(s->len, 7 + 2 + 4 + get_le32(s->data + 9));
    uint8_t orig[64];
    memcpy(orig, s->data, s->len);
    size_t orig_len = s->len;

    s->data[7] = 1; /* FIFO on */
    put_le32(s->data + 9, 17);
    memset(s->data + 13, 'x', 17);
    s->len = 13 + 17;
    expect_layout("uart: 17 bytes in a FIFO of 16", m, APPLY_FAILED, "UART FIFO bytes 17");
    s->data[7] = 0; /* FIFO off: one byte at most */
    put_le32(s->data + 9, 2);
    s->len = 13 + 2;
    expect_layout("uart: 2 bytes, FIFO off", m, APPLY_FAILED, "UART FIFO bytes 2");
    s->data[7] = 1;
    put_le32(s->data + 9, 16);
    s->len = 13 + 16;
    expect_layout("uart: a full FIFO", m, APPLIED, NULL);
    memcpy(s->data, orig, orig_len);
    s->len = orig_len;
    s->data[0] = 0xff; /* IER */
    expect_layout("uart: IER out of range", m, APPLY_FAILED, "UART registers out of range");
    memcpy(s->data, orig, orig_len);
    s->data[6] = 0x10; /* MSR delta bits */
    expect_layout("uart: MSR delta out of range", m, APPLY_FAILED, "out of range");
    memcpy(s->data, orig, orig_len);
    s->data[8] = 3;
    expect_layout("uart: THRE flag 3", m, APPLY_FAILED, "a flag is 3");
    free(m);
}

/* A virtio device's section (virtio_save): u32 type, u32 queues, u32 status,
   isr, config generation, the three selectors, u64 driver features, bool
   broken, then per queue u32 num, u64 desc, avail, used, bool ready, u16
   last_avail, u16 used_idx; then the model's own state. */
#define VQ_AT        41
#define VQ_BYTES     33
#define VQ_NUM       0
#define VQ_DESC      4
#define VQ_AVAIL     12
#define VQ_USED      20
#define VQ_READY     28
#define VQ_LASTAVAIL 29

/* Queue q of s set up as a driver would: num entries, the rings at gpas. */
static void set_queue(struct sec *s, unsigned q, uint32_t num, uint64_t desc, uint64_t avail,
                      uint64_t used)
{
    uint8_t *p = s->data + VQ_AT + q * VQ_BYTES;
    put_le32(p + VQ_NUM, num);
    put_le64(p + VQ_DESC, desc);
    put_le64(p + VQ_AVAIL, avail);
    put_le64(p + VQ_USED, used);
    p[VQ_READY] = 1;
}

static void test_virtio_section(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        uint32_t type, queues;
    } devs[] = {{"dev:rng0", 4, 1}, {"dev:hvc0", 3, 2}, {"dev:keyboard0", 18, 2}};
    /* Rings in RAM the guest never touched (zeros), past pause_count's words. */
    const uint64_t desc = RAM_BASE + (32ull << 20), avail = desc + 0x1000, used = desc + 0x2000;
    for (unsigned d = 0; d < 3; d++) {
        struct layout *m = fresh();
        struct sec *s = find(m, devs[d].name);
        assert_int_equal(get_le32(s->data), devs[d].type);
        assert_int_equal(get_le32(s->data + 4), devs[d].queues);
        assert_true(s->len >= VQ_AT + devs[d].queues * VQ_BYTES);
        for (unsigned q = 0; q < devs[d].queues; q++)
            assert_int_equal(s->data[VQ_AT + q * VQ_BYTES + VQ_READY], 0); /* no driver yet */
        uint8_t orig[MAX_SEC_BYTES];
        memcpy(orig, s->data, s->len);
        unsigned last = devs[d].queues - 1;

        /* The layout is right: ready queues with rings in RAM are taken. */
        for (unsigned q = 0; q < devs[d].queues; q++)
            set_queue(s, q, 8, desc + q * 0x4000, avail + q * 0x4000, used + q * 0x4000);
        expect_layout("virtio: ready queues in RAM", m, APPLIED, NULL);
        /* And with the driver done (ACKNOWLEDGE | DRIVER | FEATURES_OK | DRIVER_OK). */
        put_le32(s->data + 8, 1 | 2 | 8 | 4);
        expect_layout("virtio: a driver's queues, DRIVER_OK", m, APPLIED, NULL);

        static const struct {
            uint32_t num;
            uint64_t desc;
            const char *what;
        } bad[] = {
            {8, 0x1000, "desc below RAM"},
            {8, RAM_BASE + RAM_BYTES, "desc at the end of RAM"},
            {8, RAM_BASE + RAM_BYTES - 64, "desc running past the end of RAM"},
            {8, UINT64_MAX - 15, "desc wrapping around"},
            {8, desc + 1, "desc misaligned"},
            {0, desc, "size 0"},
            {6, desc, "size 6"},
            {128, desc, "size above the maximum"},
        };
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
            set_queue(s, last, bad[i].num, bad[i].desc, avail, used);
            char what[80], want[80];
            snprintf(what, sizeof(what), "%s: %s", devs[d].name, bad[i].what);
            snprintf(want, sizeof(want), "queue %u: size %u or rings outside guest RAM", last,
                     bad[i].num);
            expect_layout(what, m, APPLY_FAILED, want);
        }
        set_queue(s, last, 8, desc, 0x10, used);
        expect_layout("virtio: avail ring outside RAM", m, APPLY_FAILED, "outside guest RAM");
        set_queue(s, last, 8, desc, avail, RAM_BASE + RAM_BYTES - 8);
        expect_layout("virtio: used ring past the end", m, APPLY_FAILED, "outside guest RAM");
        memcpy(s->data, orig, s->len);

        put_le32(s->data, devs[d].type ^ 0x40);
        expect_layout("virtio: another device type", m, APPLY_FAILED, "a virtio device of type");
        memcpy(s->data, orig, s->len);
        put_le32(s->data + 4, devs[d].queues + 1);
        expect_layout("virtio: another queue count", m, APPLY_FAILED, "queues, not");
        memcpy(s->data, orig, s->len);
        put_le32(s->data + 8, 0x100); /* status */
        expect_layout("virtio: a status bit that does not exist", m, APPLY_FAILED, "device status");
        put_le32(s->data + 8, 1 | 2 | 4); /* DRIVER_OK without FEATURES_OK */
        expect_layout("virtio: DRIVER_OK without FEATURES_OK", m, APPLY_FAILED, "device status");
        /* Status keeps the reserved bits a driver writes (bits 4 and 5): taken. */
        put_le32(s->data + 8, 1 | 2 | 0x30);
        expect_layout("virtio: reserved status bits a driver wrote", m, APPLIED, NULL);
        memcpy(s->data, orig, s->len);
        put_le64(s->data + 32, 1ull << 60); /* driver features */
        put_le32(s->data + 8, 1 | 2 | 8);
        expect_layout("virtio: features not offered, FEATURES_OK", m, APPLY_FAILED,
                      "does not offer");
        /* Before FEATURES_OK they are only what the driver proposed: taken. */
        put_le64(s->data + 32, 1ull << 60);
        put_le32(s->data + 8, 1 | 2);
        expect_layout("virtio: features proposed, not accepted", m, APPLIED, NULL);
        memcpy(s->data, orig, s->len);
        s->data[40] = 2; /* broken */
        expect_layout("virtio: broken flag 2", m, APPLY_FAILED, "a flag is 2");
        memcpy(s->data, orig, s->len);
        s->data[VQ_AT + VQ_READY] = 5;
        expect_layout("virtio: ready flag 5", m, APPLY_FAILED, "a flag is 5");
        memcpy(s->data, orig, s->len);
        /* Selectors out of range are what a driver may write too: taken. */
        put_le32(s->data + 20, 7);          /* device features select */
        put_le32(s->data + 28, 0xffffffff); /* queue select */
        expect_layout("virtio: selectors out of range", m, APPLIED, NULL);
        free(m);
    }

    /* keyboard0's own state after the queues: u8 select, u8 subsel, u32
       count, then (u16 type, u16 code, u32 value) per pending event. */
    struct layout *m = fresh();
    struct sec *s = find(m, "dev:keyboard0");
    size_t own = VQ_AT + 2 * VQ_BYTES;
    assert_int_equal(s->len, own + 2 + 4 + 8 * get_le32(s->data + own + 2));
    put_le32(s->data + own + 2, 129);
    expect_layout("keyboard: 129 pending events", m, APPLY_FAILED,
                  "pending input events 129 is above the limit 128");
    put_le32(s->data + own + 2, 3); /* and no events follow */
    expect_layout("keyboard: events missing", m, APPLY_FAILED, "truncated");
    put_le32(s->data + own + 2, 2);
    uint8_t ev[16] = {1, 0, 30, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    memcpy(s->data + own + 6, ev, sizeof(ev));
    s->len = own + 6 + sizeof(ev);
    expect_layout("keyboard: two pending events", m, APPLIED, NULL);
    /* Any config selector: the device answers what it has (nothing for most). */
    for (unsigned sel = 0; sel < 256; sel += 17) {
        s->data[own] = (uint8_t)sel;
        s->data[own + 1] = (uint8_t)(255 - sel);
        expect_layout("keyboard: any config selector", m, APPLIED, NULL);
    }
    free(m);
}

/* --- tests: other shapes and states, saved and restored ----------------------------- */

/* A state applied saves again, and that restores to the same bytes: whatever
   a restore takes, it keeps (the fuzz harness checks the same). */
static void assert_stable(const char *what, const uint8_t *buf, size_t len, const char *mem_path,
                          struct state_writer *out)
{
    struct restored *r;
    char err[512];
    enum stage st = restore(buf, len, mem_path, NULL, &r, err, sizeof(err));
    if (st != APPLIED)
        fail_msg("%s: %s: %s", what, stage_names[st], err);
    state_writer_init(out);
    assert_int_equal(snapshot_encode(&r->vm, VERSION, out, err, sizeof(err)), 0);
    release(r);
    st = restore(out->buf, out->len, mem_path, NULL, &r, err, sizeof(err));
    if (st != APPLIED)
        fail_msg("%s, saved again: %s: %s", what, stage_names[st], err);
    struct state_writer w;
    state_writer_init(&w);
    assert_int_equal(snapshot_encode(&r->vm, VERSION, &w, err, sizeof(err)), 0);
    release(r);
    if (w.len != out->len || memcmp(w.buf, out->buf, w.len))
        report_difference(out->buf, out->len, w.buf, w.len);
    state_writer_free(&w);
}

/* A VM of one vCPU: saved, restored identical, runs on from its count. */
static void test_one_vcpu(void **state)
{
    (void)state;
    struct vm_config *cfg = malloc(sizeof(*cfg));
    struct vm *vm = calloc(1, sizeof(*vm));
    assert_non_null(cfg);
    assert_non_null(vm);
    *cfg = g.cfg;
    cfg->smp = 1;
    char err[512], mem[PATH_MAX + 16];
    snprintf(mem, sizeof(mem), "%s/mem1", g.dir);
    if (vm_create(vm, cfg, NULL, err, sizeof(err)))
        fail_msg("vm_create: %s", err);
    assert_int_equal(vm_start(vm), 0);
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    while (peek(vm->ram, COUNT) < 1000) {
        if (now_ns() > deadline)
            fail_msg("a VM of one vCPU did not count");
        sleep_ms(1);
    }
    assert_int_equal(vm_pause(vm), 0);
    uint64_t count0 = peek(vm->ram, COUNT);
    struct state_writer a;
    state_writer_init(&a);
    assert_int_equal(snapshot_encode(vm, VERSION, &a, err, sizeof(err)), 0);
    assert_int_equal(snapshot_write_memory(vm, mem, err, sizeof(err)), 0);
    vm_request_stop(vm, VM_STOP_SIGNAL);
    vm_join(vm);
    vm_destroy(vm);
    free(vm);
    free(cfg);

    struct restored *r;
    enum stage st = restore(a.buf, a.len, mem, NULL, &r, err, sizeof(err));
    if (st != APPLIED)
        fail_msg("restoring one vCPU: %s: %s", stage_names[st], err);
    assert_int_equal(r->vm.cfg->smp, 1);
    struct state_writer b;
    state_writer_init(&b);
    assert_int_equal(snapshot_encode(&r->vm, VERSION, &b, err, sizeof(err)), 0);
    if (a.len != b.len || memcmp(a.buf, b.buf, a.len))
        report_difference(a.buf, a.len, b.buf, b.len);
    state_writer_free(&b);
    assert_int_equal(vm_start(&r->vm), 0);
    vm_resume(&r->vm);
    deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    uint64_t c;
    while ((c = peek(r->vm.ram, COUNT)) == count0) {
        if (now_ns() > deadline)
            fail_msg("the restored VM of one vCPU did not run");
        sleep_ms(1);
    }
    if (c < count0)
        fail_msg("the restored vCPU counts from %" PRIu64 ", not on from %" PRIu64, c, count0);
    vm_request_stop(&r->vm, VM_STOP_SIGNAL);
    vm_join(&r->vm);
    release(r);
    /* Onto the 2-vCPU snapshot's configuration: refused. */
    struct layout *l = split(a.buf, a.len);
    struct layout *two = fresh();
    memcpy(find(l, "config"), find(two, "config"), sizeof(struct sec));
    expect_layout("1 vCPU of state, 2 configured", l, APPLY_FAILED, "1 vCPUs and");
    free(two);
    free(l);
    write_seed("one_hart", a.buf, a.len);
    state_writer_free(&a);
    unlink(mem);
}

/* The state in buf restored and run for a while: hart 0 counts on from the
   snapshot's count; hart 1 starts over at the kernel entry when hart1_starts
   (its count restarts from 1, where its saved registers would count on from
   HUGE_COUNT), else it stays stopped. */
#define HUGE_COUNT (1ull << 60)
#define GPR_AT(n)  (4 + 8 + 8 + 8 + ((n)-1) * 8) /* xn in a vcpu section */
#define S6         22                            /* pause_count's iteration counter */

static void run_harts(const char *what, const uint8_t *buf, size_t len, bool hart1_starts)
{
    struct restored *r;
    char err[512];
    enum stage st = restore(buf, len, NULL, NULL, &r, err, sizeof(err));
    if (st != APPLIED)
        fail_msg("%s: %s: %s", what, stage_names[st], err);
    uint8_t *ram = r->vm.ram;
    assert_int_equal(vm_start(&r->vm), 0);
    vm_resume(&r->vm);
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    for (;;) {
        uint64_t c0 = peek(ram, COUNT), c1 = peek(ram, COUNT + 8);
        bool h1 = hart1_starts ? c1 != g.count0[1] && c1 < HUGE_COUNT : true;
        if (c0 > g.count0[0] + 1000 && h1)
            break;
        if (now_ns() > deadline)
            fail_msg("%s: hart 0 at %" PRIu64 " (from %" PRIu64 "), hart 1 at %" PRIu64
                     " (from %" PRIu64 ")",
                     what, c0, g.count0[0], c1, g.count0[1]);
        sleep_ms(1);
    }
    if (!hart1_starts) {
        sleep_ms(20);
        if (peek(ram, COUNT + 8) != g.count0[1])
            fail_msg("%s: hart 1 ran", what);
    }
    vm_request_stop(&r->vm, VM_STOP_SIGNAL);
    vm_join(&r->vm);
    release(r);
}

/* Devices in use (queues a driver set up, events and bytes waiting), a hart
   stopped or about to start: each restores and saves again as it was. */
static void test_busy_states(void **state)
{
    (void)state;
    const uint64_t rings = RAM_BASE + (32ull << 20);
    struct layout *m = fresh();
    static const char *const virtio[] = {"dev:rng0", "dev:hvc0", "dev:keyboard0"};
    for (unsigned d = 0; d < 3; d++) {
        struct sec *s = find(m, virtio[d]);
        uint32_t nq = get_le32(s->data + 4);
        put_le32(s->data + 8, 1 | 2 | 8 | 4); /* ACKNOWLEDGE DRIVER FEATURES_OK DRIVER_OK */
        for (unsigned q = 0; q < nq; q++) {
            uint64_t at = rings + (d * 2 + q) * 0x4000ull;
            set_queue(s, q, 8, at, at + 0x1000, at + 0x2000);
        }
    }
    struct sec *kb = find(m, "dev:keyboard0");
    size_t own = VQ_AT + 2 * VQ_BYTES;
    put_le32(kb->data + own + 2, 2);
    static const uint8_t ev[16] = {1, 0, 30, 0, 1, 0, 0, 0, 1, 0, 30, 0, 0, 0, 0, 0};
    memcpy(kb->data + own + 6, ev, sizeof(ev));
    kb->len = own + 6 + sizeof(ev);
    struct sec *uart = find(m, "dev:serial0");
    uart->data[7] = 1; /* FIFO on, three bytes in it */
    put_le32(uart->data + 9, 3);
    memcpy(uart->data + 13, "abc", 3);
    uart->len = 16;
    struct sec *plic = find(m, "plic");
    uint32_t nsources = get_le32(plic->data);
    unsigned words = (nsources + 31) / 32;
    plic->data[8 + 3] = 7;
    put_le32(plic->data + 8 + nsources + words * 8, 1u << 3);
    size_t len;
    uint8_t *p = join(m, &len);
    struct state_writer out;
    assert_stable("devices in use", p, len, NULL, &out);
    write_seed("devices_busy", out.buf, out.len);
    state_writer_free(&out);
    free(p);

    struct sec *v1 = find(m, "vcpu1");
    put_le32(v1->data, 2); /* start pending */
    put_le64(v1->data + 4, RAM_BASE);
    put_le64(v1->data + 12, 0x1234);
    put_le64(v1->data + GPR_AT(S6), HUGE_COUNT); /* what the hart would count on from */
    p = join(m, &len);
    assert_stable("hart 1 start pending", p, len, NULL, &out);
    write_seed("start_pending", out.buf, out.len);
    state_writer_free(&out);
    run_harts("hart 1 start pending", p, len, true);
    free(p);
    put_le32(v1->data, 1); /* stopped */
    p = join(m, &len);
    assert_stable("hart 1 stopped", p, len, NULL, &out);
    state_writer_free(&out);
    run_harts("hart 1 stopped", p, len, false);
    free(p);
    free(m);
}

/* --- tests: the memory file ---------------------------------------------------------- */

/* Sparse, and byte for byte the guest's RAM. */
static void test_memory_file(void **state)
{
    (void)state;
    struct stat st;
    assert_int_equal(stat(g.mem_path, &st), 0);
    assert_true((uint64_t)st.st_size == RAM_BYTES);
    uint64_t allocated = (uint64_t)st.st_blocks * 512;
    if (allocated > (2ull << 20))
        fail_msg("the memory file takes %" PRIu64 " KiB of disk for a guest that touched a few "
                 "pages of its 64 MiB",
                 allocated >> 10);
    print_message("memory file: %" PRIu64 " MiB, %" PRIu64 " KiB on disk\n",
                  (uint64_t)st.st_size >> 20, allocated >> 10);
    int fd = open(g.mem_path, O_RDONLY);
    assert_true(fd >= 0);
    uint8_t *file = mmap(NULL, RAM_BYTES, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(file != MAP_FAILED);
    if (memcmp(file, g.ram, RAM_BYTES)) {
        size_t i = 0;
        while (file[i] == g.ram[i])
            i++;
        munmap(file, RAM_BYTES);
        fail_msg("the memory file differs from guest RAM at %#zx", i);
    }
    munmap(file, RAM_BYTES);

    /* Written again into a file that held data: the holes are zeros. */
    char path[PATH_MAX + 16], err[512];
    snprintf(path, sizeof(path), "%s/mem-again", g.dir);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    uint8_t junk[4096];
    memset(junk, 0xee, sizeof(junk));
    for (off_t off = 0; off < (off_t)RAM_BYTES; off += 1 << 20)
        assert_int_equal(pwrite(fd, junk, sizeof(junk), off), (ssize_t)sizeof(junk));
    close(fd);
    assert_int_equal(snapshot_write_memory(&g.vm, path, err, sizeof(err)), 0);
    fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    file = mmap(NULL, RAM_BYTES, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    assert_true(file != MAP_FAILED);
    bool same = memcmp(file, g.ram, RAM_BYTES) == 0;
    munmap(file, RAM_BYTES);
    unlink(path);
    assert_true(same);
    /* Where it cannot be written: a reason. */
    snprintf(path, sizeof(path), "%s/no/such/dir", g.dir);
    assert_int_equal(snapshot_write_memory(&g.vm, path, err, sizeof(err)), -1);
    assert_one_line("memory file in no directory", err);
    assert_non_null(strstr(err, "cannot create"));
}

/* A memory file of another size than the snapshot's RAM, or not a file. */
static void test_memory_file_wrong(void **state)
{
    (void)state;
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s/mem-wrong", g.dir);
    static const struct {
        uint64_t size;
        const char *want;
    } sizes[] = {
        {32ull << 20, "the memory file holds 33554432 bytes, the snapshot's RAM is 67108864"},
        {RAM_BYTES - 4096, "the memory file holds 67104768 bytes"},
        {RAM_BYTES + 1, "the memory file holds 67108865 bytes"},
        {0, "the memory file holds 0 bytes"},
    };
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        assert_true(fd >= 0);
        assert_int_equal(ftruncate(fd, (off_t)sizes[i].size), 0);
        close(fd);
        expect_edit("memory file of the wrong size", g.state, g.len, CREATE_FAILED, sizes[i].want,
                    NULL, path);
    }
    unlink(path);
    expect_edit("memory file a directory", g.state, g.len, CREATE_FAILED,
                "the memory file is not a regular file", NULL, g.dir);
    /* A pipe. */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct snapshot *s = calloc(1, sizeof(*s));
    assert_non_null(s);
    char err[512];
    assert_int_equal(snapshot_decode(s, g.state, g.len, err, sizeof(err)), 0);
    struct vm *vm = calloc(1, sizeof(*vm));
    assert_non_null(vm);
    struct vm_restore_source src;
    vm_restore_source_init(&src, fds[0], false);
    assert_int_equal(vm_create_for_restore(vm, &s->cfg, NULL, &src, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a regular file"));
    close(fds[0]);
    close(fds[1]);
    free(vm);
    snapshot_free(s);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),       cmocka_unit_test(test_state_file),
        cmocka_unit_test(test_truncated),        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_header_fields),    cmocka_unit_test(test_framing),
        cmocka_unit_test(test_names_in_reasons), cmocka_unit_test(test_machine_section),
        cmocka_unit_test(test_fewer_vcpus),      cmocka_unit_test(test_more_ram),
        cmocka_unit_test(test_config_section),   cmocka_unit_test(test_plic_section),
        cmocka_unit_test(test_vcpu_section),     cmocka_unit_test(test_vector_state),
        cmocka_unit_test(test_uart_section),     cmocka_unit_test(test_virtio_section),
        cmocka_unit_test(test_one_vcpu),         cmocka_unit_test(test_busy_states),
        cmocka_unit_test(test_memory_file),      cmocka_unit_test(test_memory_file_wrong),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
