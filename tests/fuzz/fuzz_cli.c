/*
 * libFuzzer harness for `duvisor run`'s option parser (cli_parse_run in
 * src/cli/run.c), built and run by `make fuzz`. The input, split at NUL
 * bytes, is argv[1..] (argv[0] is "run"; at most 64 arguments in all). The
 * parser must not crash; on failure err holds a reason, and on success the
 * configuration keeps its invariants: a kernel path, 1..32 vCPUs, memory
 * within [VM_MIN_MEMORY, VM_MAX_MEMORY] and page aligned, at most
 * VM_MAX_DISKS disks and VM_MAX_NICS NICs (and VM_MAX_DISKS of both
 * together), every string NUL terminated inside its array, unique ids, and
 * unicast MACs. stdout (where --help prints) goes to /dev/null.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "host/jail.h"
#include "vmm/vmm.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ARGS 64

static struct vm_config cfg; /* large */
static struct jail_config jail;

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_cli: %s\n", what);
    abort();
}

static void check_str(const char *s, size_t cap, const char *what)
{
    if (!memchr(s, '\0', cap))
        fail(what);
}

/* p is NULL or one of argv's strings, or a suffix of one */
static int in_args(const char *p, const char *buf, size_t len)
{
    return !p || (p >= buf && p < buf + len);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!freopen("/dev/null", "w", stdout))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* a copy with a NUL at the end, so the last argument ends */
    char *buf = malloc(size + 1);
    char *argv[MAX_ARGS + 1];
    if (!buf)
        abort();
    memcpy(buf, data, size);
    buf[size] = '\0';
    int argc = 0;
    argv[argc++] = (char *)"run";
    for (size_t i = 0; i < size && argc < MAX_ARGS; i += strlen(buf + i) + 1)
        argv[argc++] = buf + i;
    argv[argc] = NULL;

    struct vmm_options opt = {.api_sock = (const char *)1};
    char err[512];
    memset(err, 0x5a, sizeof(err));
    int rc = cli_parse_run(argc, argv, &cfg, &opt, &jail, err, sizeof(err));
    if (rc == -1) {
        if (!memchr(err, '\0', sizeof(err)) || !err[0])
            fail("failure without a reason");
    } else if (rc == 0) {
        if (!cfg.kernel_path[0])
            fail("success without a kernel");
        if (cfg.smp < 1 || cfg.smp > VM_MAX_VCPUS)
            fail("smp out of range");
        if (cfg.memory_bytes < VM_MIN_MEMORY || cfg.memory_bytes > VM_MAX_MEMORY ||
            (cfg.memory_bytes & 0xfff))
            fail("memory out of range or not page aligned");
        if (cfg.ndisks > VM_MAX_DISKS || cfg.nnics > VM_MAX_NICS ||
            cfg.ndisks + cfg.nnics > VM_MAX_DISKS)
            fail("too many devices");
        if (cfg.jit != VM_JIT_DEFAULT && cfg.jit != VM_JIT_ON && cfg.jit != VM_JIT_OFF)
            fail("jit mode out of range");
        check_str(cfg.kernel_path, sizeof(cfg.kernel_path), "kernel path unterminated");
        check_str(cfg.initrd_path, sizeof(cfg.initrd_path), "initrd path unterminated");
        check_str(cfg.append, sizeof(cfg.append), "append unterminated");
        if (!in_args(opt.api_sock, buf, size + 1) || !in_args(cfg.dtb_out, buf, size + 1))
            fail("api_sock or dtb_out does not point into argv");
        for (unsigned i = 0; i < cfg.ndisks; i++) {
            const struct vm_disk *d = &cfg.disks[i];
            check_str(d->id, sizeof(d->id), "disk id unterminated");
            check_str(d->path, sizeof(d->path), "disk path unterminated");
            if (!d->path[0] || !d->id[0])
                fail("disk without a path or id");
            for (unsigned j = 0; j < i; j++)
                if (!strcmp(cfg.disks[j].id, d->id))
                    fail("duplicate disk id");
        }
        for (unsigned i = 0; i < cfg.nnics; i++) {
            const struct vm_nic *n = &cfg.nics[i];
            check_str(n->id, sizeof(n->id), "nic id unterminated");
            check_str(n->options, sizeof(n->options), "nic options unterminated");
            if (n->kind != VM_NET_USER && n->kind != VM_NET_TAP)
                fail("nic kind out of range");
            if (n->kind == VM_NET_TAP && !n->options[0])
                fail("tap without an interface name");
            if (n->mac[0] & 1)
                fail("multicast MAC");
            for (unsigned j = 0; j < i; j++)
                if (!strcmp(cfg.nics[j].id, n->id))
                    fail("duplicate nic id");
        }
    } else if (rc != 1) {
        fail("unexpected return value");
    }
    free(buf);
    return 0;
}
