/*
 * libFuzzer harness for snapshot state files (src/vmm/snapshot.c, the
 * sections' parsers in util/state.c, vmm/config.c, hart/vplic.c, sbi/hsm.c,
 * devices/uart8250.c, virtio_mmio.c and the virtio models), built and run by
 * `make fuzz`.
 *
 * The input is a state file. The harness first makes its body-length field
 * and its CRC-64 right for the bytes it holds (so mutations get past the
 * checksum to the framing and the parsers; the magic, major version and
 * architecture are left as they are), then snapshot_decode()s it. A refusal
 * must come with a one-line reason. When the file decodes to a small VM (at
 * most 2 vCPUs and 64 MiB, no disks or NICs; others are skipped), the harness
 * builds that VM with vm_create_for_restore() on a zero memfd of its RAM size
 * and snapshot_apply()s the state; a refusal again needs a one-line reason
 * (no newline or other control character, even when it quotes the file).
 * A state that was applied must save again (snapshot_encode), and that file
 * must decode and apply onto a second VM, which must save to the same bytes:
 * whatever a restore accepts, it keeps. Then the VMs are destroyed (ASan's
 * leak check sees what an apply left behind).
 *
 * Seeds (tests/fuzz/seeds/snapshot/) are real state files written by the unit
 * test, DUVISOR_SNAPSHOT_SEEDS=tests/fuzz/seeds/snapshot build/tests/test_snapshot,
 * and the inputs of bugs it found (regress_*).
 * With DUVISOR_FUZZ_VERBOSE set in the environment each input's outcome is
 * printed (for replaying seeds and crashes).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/le.h"
#include "util/state.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define HEADER_BYTES  32u
#define TRAILER_BYTES 8u
#define MAX_VCPUS     2u
#define MAX_RAM       (64ull << 20)

static int verbose = -1;
static int memfd = -1; /* zeros; mapped privately, so it stays zeros */
static uint64_t memfd_size;
static struct snapshot snap, again;
static struct vm vm, vm2;

/* what, and err with its control characters shown as \xNN. */
static void fail(const char *what, const char *err)
{
    fprintf(stderr, "fuzz_snapshot: %s: '", what);
    for (size_t i = 0; i < 512 && err[i]; i++)
        fprintf(stderr, (unsigned char)err[i] < 0x20 || err[i] == 0x7f ? "\\x%02x" : "%c",
                (unsigned char)err[i]);
    fprintf(stderr, "'\n");
    abort();
}

/* A refusal's reason: one line of text (no newline, no control character). */
static void check_reason(const char *what, const char *err)
{
    if (!err[0] || !memchr(err, '\0', 512))
        fail(what, "");
    for (const char *c = err; *c; c++)
        if ((unsigned char)*c < 0x20 || *c == 0x7f)
            fail(what, err);
}

static void say(const char *what, const char *err)
{
    if (verbose)
        fprintf(stderr, "fuzz_snapshot: %s%s%s\n", what, err[0] ? ": " : "", err);
}

/* A VM for cfg, paused, with the state of s applied: 0, or -1 (destroyed). */
static int restore(struct vm *v, const struct vm_config *cfg, struct snapshot *s, char *err,
                   size_t err_len, bool *created)
{
    if (memfd_size != cfg->memory_bytes) {
        if (ftruncate(memfd, (off_t)cfg->memory_bytes) != 0)
            abort();
        memfd_size = cfg->memory_bytes;
    }
    struct vm_restore_source src;
    vm_restore_source_init(&src, memfd, false);
    *created = false;
    if (vm_create_for_restore(v, cfg, NULL, &src, err, err_len))
        return -1;
    *created = true;
    if (snapshot_apply(v, s, err, err_len)) {
        vm_destroy(v);
        return -1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (verbose < 0)
        verbose = getenv("DUVISOR_FUZZ_VERBOSE") != NULL;
    if (memfd < 0 && (memfd = memfd_create("fuzz-snapshot-ram", MFD_CLOEXEC)) < 0)
        abort();
    if (size < HEADER_BYTES + TRAILER_BYTES || size > SNAPSHOT_MAX_BYTES)
        return 0;
    /* An exact-size copy (ASan sees any read past the end), its framing made right. */
    uint8_t *file = malloc(size);
    if (!file)
        abort();
    memcpy(file, data, size);
    put_le64(file + 24, size - HEADER_BYTES - TRAILER_BYTES);
    put_le64(file + size - TRAILER_BYTES, state_crc64(0, file, size - TRAILER_BYTES));

    char err[512] = "";
    if (snapshot_decode(&snap, file, size, err, sizeof(err))) {
        check_reason("snapshot_decode failed without a one-line reason", err);
        if (snap.buf || snap.nsections)
            fail("snapshot_decode failed but left sections", err);
        say("decode", err);
        free(file);
        return 0;
    }
    free(file);
    const struct vm_config *cfg = &snap.cfg;
    if (cfg->smp > MAX_VCPUS || cfg->memory_bytes > MAX_RAM || cfg->ndisks || cfg->nnics) {
        say("skipped: too big a VM", "");
        snapshot_free(&snap);
        return 0;
    }
    struct vm_config c1 = snap.cfg; /* the VM keeps a pointer to its configuration */
    bool created;
    err[0] = 0;
    if (restore(&vm, &c1, &snap, err, sizeof(err), &created)) {
        check_reason(created ? "snapshot_apply failed without a one-line reason"
                             : "vm_create_for_restore failed without a one-line reason",
                     err);
        say(created ? "apply" : "create", err);
        snapshot_free(&snap);
        return 0;
    }
    /* Applied: it saves, and what it saves restores to the same state. */
    struct state_writer w1, w2;
    state_writer_init(&w1);
    state_writer_init(&w2);
    if (snapshot_encode(&vm, "fuzz", &w1, err, sizeof(err)))
        fail("an applied state does not save", err);
    vm_destroy(&vm);
    if (snapshot_decode(&again, w1.buf, w1.len, err, sizeof(err)))
        fail("the state an applied VM saves does not decode", err);
    struct vm_config c2 = again.cfg;
    if (restore(&vm2, &c2, &again, err, sizeof(err), &created))
        fail("the state an applied VM saves does not apply", err);
    if (snapshot_encode(&vm2, "fuzz", &w2, err, sizeof(err)))
        fail("a second restore does not save", err);
    if (w1.len != w2.len || memcmp(w1.buf, w2.buf, w1.len)) {
        size_t i = 0;
        while (i < w1.len && i < w2.len && w1.buf[i] == w2.buf[i])
            i++;
        snprintf(err, sizeof(err), "%zu vs %zu bytes, first difference at %zu", w1.len, w2.len, i);
        fail("a restored state saves differently the second time", err);
    }
    say("applied", "");
    vm_destroy(&vm2);
    state_writer_free(&w1);
    state_writer_free(&w2);
    snapshot_free(&again);
    snapshot_free(&snap);
    return 0;
}
