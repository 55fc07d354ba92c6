/* `duvisor snapshot`, `duvisor restore` and `duvisor upgrade`. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/client.h"
#include "cli/cli.h"
#include "host/sandbox.h"
#include "util/err.h"
#include "vmm/snapshot.h"
#include "vmm/upgrade.h"
#include "vmm/vmm.h"

static const char snapshot_usage[] =
    "usage: duvisor snapshot --api-sock PATH --snapshot FILE --mem FILE [--diff] [--keep-paused]\n"
    "\n"
    "Save a running VM (started with --api-sock) to two files: its state and its memory\n"
    "(sparse: untouched pages are holes). The VM is paused meanwhile and then runs on.\n"
    "\n"
    "  --api-sock PATH   the VM's control socket\n"
    "  --snapshot FILE   where the state goes (tens of KiB)\n"
    "  --mem FILE        where guest memory goes (as large as the guest's RAM, sparse)\n"
    "  --diff            write only the pages that differ from the last full snapshot's\n"
    "                    memory file (or the one the VM was restored from); merge it onto\n"
    "                    that file with duvisor rebase-memory before restoring\n"
    "  --keep-paused     leave the VM paused afterwards\n"
    "  -h, --help        show this help\n";

static const char rebase_usage[] =
    "usage: duvisor rebase-memory --base FILE --diff FILE\n"
    "\n"
    "Merge a diff snapshot's memory file onto the full memory file it is relative to (in\n"
    "place), so that the diff's state file can be restored with it.\n";

static const char restore_usage[] =
    "usage: duvisor restore --snapshot FILE --mem FILE [options]\n"
    "\n"
    "Run the VM a snapshot holds, from the instant it was taken: its disks are opened\n"
    "again by the paths they had (they must be the same size), and its clock continues.\n"
    "The memory file is mapped copy-on-write: it must stay unchanged while the VM runs.\n"
    "\n"
    "  --snapshot FILE   the state file (duvisor snapshot, or PUT /snapshot/create)\n"
    "  --mem FILE        the memory file\n"
    "  --api-sock PATH   serve the control API on this Unix socket\n"
    "  --paused          do not resume the guest (resume through the API)\n"
    "  --net-tap ID=NAME put interface ID on TAP device NAME (network_overrides)\n"
    "  --jit on|off      the execution engine (as duvisor run)\n"
    "  --seccomp off|log|on  the sandbox (as duvisor run)\n"
    "  --no-reboot       exit when the guest asks for a reboot\n"
    "  -h, --help        show this help\n";

static const char upgrade_usage[] =
    "usage: duvisor upgrade --api-sock PATH [--binary FILE]\n"
    "\n"
    "Replace the duvisor process serving PATH by a new binary (default: the one it runs)\n"
    "without stopping the guest: the VM pauses, its state and guest RAM pass to the new\n"
    "binary in the same process, which resumes it. A binary that cannot take the state\n"
    "over hands it back to the old one: the guest runs on either way.\n"
    "\n"
    "  --api-sock PATH   the VM's control socket\n"
    "  --binary FILE     the new duvisor binary\n"
    "  -h, --help        show this help\n";

/* One API call; 0 on a 2xx reply, else -1 with the reason in err. */
static int call(const char *sock, const char *method, const char *path, const char *body,
                int timeout_ms, char *err, size_t err_len)
{
    signal(SIGPIPE, SIG_IGN); /* a VMM that hangs up is an error reply, not our end */
    int status = 0;
    char reply[2048], why[512];
    if (api_client_request(sock, method, path, body, timeout_ms, &status, reply, sizeof(reply), why,
                           sizeof(why)))
        return set_err(err, err_len, "%s", why);
    if (status >= 200 && status < 300)
        return 0;
    json_t *j = json_loads(reply, 0, NULL);
    const char *fault = json_string_value(json_object_get(j, "fault_message"));
    set_err(err, err_len, "%s %s: %s", method, path, fault ? fault : reply);
    json_decref(j);
    return -1;
}

static char *snapshot_body(const char *snapshot, const char *mem, bool diff)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "snapshot_path", snapshot, "mem_file_path", mem,
                          "snapshot_type", diff ? "Diff" : "Full");
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    return text;
}

int cmd_snapshot(int argc, char **argv)
{
    const char *sock = NULL, *snapshot = NULL, *mem = NULL, *value;
    bool keep_paused = false, diff = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(snapshot_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--keep-paused")) {
            keep_paused = true;
        } else if (!strcmp(argv[i], "--diff")) {
            diff = true;
        } else if (cli_take_value(argc, argv, &i, "--api-sock", &value)) {
            sock = value;
        } else if (cli_take_value(argc, argv, &i, "--snapshot", &value)) {
            snapshot = value;
        } else if (cli_take_value(argc, argv, &i, "--mem", &value)) {
            mem = value;
        } else {
            fprintf(stderr, "duvisor: unknown option '%s' (see duvisor snapshot --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!sock || !*sock || !snapshot || !*snapshot || !mem || !*mem) {
        fprintf(stderr, "duvisor: --api-sock, --snapshot and --mem are required\n");
        return EXIT_USAGE;
    }
    char err[1024];
    char *body = snapshot_body(snapshot, mem, diff);
    int rc = body ? call(sock, "PATCH", "/vm", "{\"state\":\"Paused\"}", 5000, err, sizeof(err))
                  : set_err(err, sizeof(err), "out of memory");
    if (rc == 0) {
        rc = call(sock, "PUT", "/snapshot/create", body, 600000, err, sizeof(err));
        char again[1024];
        /* Run on even when the snapshot failed: never leave a VM stopped by surprise. */
        if (!keep_paused &&
            call(sock, "PATCH", "/vm", "{\"state\":\"Resumed\"}", 5000, again, sizeof(again)) &&
            rc == 0) {
            snprintf(err, sizeof(err), "%s", again);
            rc = -1;
        }
    }
    free(body);
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_restore(int argc, char **argv)
{
    struct vm_config cfg;
    vm_config_init(&cfg);
    struct api_snapshot_load load = {.resume_vm = true};
    struct vmm_options opt = {.vmm_version = DUVISOR_VERSION_STRING, .restore = &load};
    const char *value;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(restore_usage, stdout);
            return 0;
        } else if (!strcmp(arg, "--paused")) {
            load.resume_vm = false;
        } else if (!strcmp(arg, "--no-reboot")) {
            cfg.no_reboot = true;
        } else if (cli_take_value(argc, argv, &i, "--snapshot", &value)) {
            load.snapshot_path = value;
        } else if (cli_take_value(argc, argv, &i, "--mem", &value)) {
            load.mem_file_path = value;
        } else if (cli_take_value(argc, argv, &i, "--api-sock", &value)) {
            opt.api_sock = value;
        } else if (cli_take_value(argc, argv, &i, "--seccomp", &value)) {
            enum sandbox_mode mode;
            if (!sandbox_parse_mode(value, &mode)) {
                fprintf(stderr, "duvisor: --seccomp takes off, log or on\n");
                return EXIT_USAGE;
            }
            cfg.seccomp = (int)mode;
        } else if (cli_take_value(argc, argv, &i, "--jit", &value)) {
            if (value && !strcmp(value, "on")) {
                cfg.jit = VM_JIT_ON;
            } else if (value && !strcmp(value, "off")) {
                cfg.jit = VM_JIT_OFF;
            } else {
                fprintf(stderr, "duvisor: --jit takes on or off, not '%s'\n", value ? value : "");
                return EXIT_USAGE;
            }
        } else if (cli_take_value(argc, argv, &i, "--net-tap", &value)) {
            char *eq = value ? strchr(value, '=') : NULL;
            if (!eq || eq == value || !eq[1] || load.noverrides == VM_MAX_NICS) {
                fprintf(stderr, "duvisor: --net-tap takes ID=TAPNAME (at most %u)\n", VM_MAX_NICS);
                return EXIT_USAGE;
            }
            *eq = 0; /* argv is ours to cut */
            load.overrides[load.noverrides++] = (struct api_net_override){value, eq + 1};
        } else {
            fprintf(stderr, "duvisor: unknown option '%s' (see duvisor restore --help)\n", arg);
            return EXIT_USAGE;
        }
    }
    if (!load.snapshot_path || !*load.snapshot_path || !load.mem_file_path ||
        !*load.mem_file_path) {
        fprintf(stderr,
                "duvisor: --snapshot and --mem are required (see duvisor restore --help)\n");
        return EXIT_USAGE;
    }
    return vmm_main(&cfg, &opt);
}

int cmd_upgrade(int argc, char **argv)
{
    const char *sock = NULL, *binary = NULL, *value;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(upgrade_usage, stdout);
            return 0;
        } else if (cli_take_value(argc, argv, &i, "--api-sock", &value)) {
            sock = value;
        } else if (cli_take_value(argc, argv, &i, "--binary", &value)) {
            binary = value;
        } else {
            fprintf(stderr, "duvisor: unknown option '%s' (see duvisor upgrade --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!sock || !*sock || (binary && !*binary)) {
        fprintf(stderr, "duvisor: --api-sock is required (see duvisor upgrade --help)\n");
        return EXIT_USAGE;
    }
    json_t *j = binary ? json_pack("{s:s}", "binary", binary) : json_object();
    char *body = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    char err[1024];
    int rc = body ? call(sock, "PUT", "/upgrade", body, 30000, err, sizeof(err))
                  : set_err(err, sizeof(err), "out of memory");
    free(body);
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_rebase_memory(int argc, char **argv)
{
    const char *base = NULL, *diff = NULL, *value;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(rebase_usage, stdout);
            return 0;
        } else if (cli_take_value(argc, argv, &i, "--base", &value)) {
            base = value;
        } else if (cli_take_value(argc, argv, &i, "--diff", &value)) {
            diff = value;
        } else {
            fprintf(stderr, "duvisor: unknown option '%s' (see duvisor rebase-memory --help)\n",
                    argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!base || !*base || !diff || !*diff) {
        fprintf(stderr, "duvisor: --base and --diff are required\n");
        return EXIT_USAGE;
    }
    char err[1024];
    if (snapshot_rebase_memory(base, diff, err, sizeof(err))) {
        fprintf(stderr, "duvisor: %s\n", err);
        return EXIT_USAGE;
    }
    return 0;
}

int cmd_upgrade_resume(int argc, char **argv)
{
    char *end = NULL;
    long fd = argc == 2 ? strtol(argv[1], &end, 10) : -1;
    if (fd < 0 || !end || *end) {
        fprintf(stderr, "duvisor: %s is started by a live upgrade, not by hand\n", UPGRADE_COMMAND);
        return EXIT_USAGE;
    }
    static struct upgrade_handover h; /* read by the VMM for its whole life */
    uint8_t *state = NULL;
    size_t len = 0;
    char err[512];
    if (upgrade_read((int)fd, &h, &state, &len, err, sizeof(err))) {
        fprintf(stderr, "duvisor: live upgrade: %s\n", err);
        return 1;
    }
    struct vm_config cfg;
    vm_config_init(&cfg);
    cfg.jit = (enum vm_jit)h.jit;
    cfg.jit_stats = h.jit_stats;
    cfg.no_reboot = h.no_reboot;
    cfg.boot_timer = h.boot_timer;
    cfg.seccomp = h.seccomp;
    struct vmm_options opt = {
        .api_sock = h.api_sock[0] ? h.api_sock : NULL,
        .id = h.id[0] ? h.id : NULL,
        .firecracker = h.firecracker,
        .boot_timer = h.boot_timer,
        .vmm_version = DUVISOR_VERSION_STRING,
        .logger = h.logger,
        .metrics = h.metrics,
        .handover = &h,
        .handover_state = state,
        .handover_state_len = len,
    };
    if (h.seccomp != SANDBOX_OFF)
        sandbox_vmm_filter_inherited();
    int rc = vmm_main(&cfg, &opt);
    free(state);
    return rc;
}
