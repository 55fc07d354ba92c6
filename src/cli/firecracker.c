/*
 * Firecracker's process shape, so a tool that execs Firecracker can exec
 * duvisor: `duvisor --api-sock PATH [--id ID] [--config-file FILE]
 * [--no-api] ...` (or the binary named `firecracker`). The VM is configured
 * through the API or the config file; a guest reboot ends the process, as in
 * Firecracker. Flags Firecracker's tooling passes that do not apply here are
 * accepted with a log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/err.h"
#include "host/jail.h"
#include "host/sandbox.h"
#include "vmm/vmm.h"

#define DEFAULT_API_SOCK "/run/firecracker.socket"

static const char fc_usage[] =
    "usage: duvisor --api-sock PATH [options]   (Firecracker's command line)\n"
    "\n"
    "Start a VMM configured through Firecracker's REST API on a Unix socket, or\n"
    "from a Firecracker config file. A guest reboot or power-off ends the process.\n"
    "\n"
    "  --api-sock PATH        the API socket (default " DEFAULT_API_SOCK ")\n"
    "  --id ID                the instance id GET / reports (default anonymous-instance)\n"
    "  --config-file FILE     configure from FILE (the API's resources as keys) and boot\n"
    "  --no-api               no API socket (needs --config-file)\n"
    "  --boot-timer           print the guest's boot time when it signals ready\n"
    "  --log-path PATH        log to PATH instead of stderr\n"
    "  --level LEVEL          Error, Warning, Info (default), Debug, Trace or Off\n"
    "  --show-level           put the level in each log line\n"
    "  --show-log-origin      put the source file and line in each log line\n"
    "  --metrics-path PATH    write metrics (JSON lines) to PATH\n"
    "  --no-seccomp           no seccomp filters (as --seccomp off)\n"
    "  --seccomp off|log|on   duvisor's filter per thread (default on)\n"
    "  --seccomp-filter FILE, --start-time-us N, --start-time-cpu-us N,\n"
    "  --parent-cpu-time-us N, --http-api-max-payload-size N, --mmds-size-limit N\n"
    "                         accepted for compatibility; they change nothing here\n"
    "  -h, --help             show this help\n"
    "\n"
    "Confinement (paths in the API, the config file, --log-path and --api-sock are then\n"
    "inside DIR, as with Firecracker's jailer):\n";

/* Flags that take a value and do not apply to duvisor. */
static const char *const ignored_with_value[] = {
    "--seccomp-filter",
    "--start-time-us",
    "--start-time-cpu-us",
    "--parent-cpu-time-us",
    "--http-api-max-payload-size",
    "--mmds-size-limit",
};

static bool valid_instance_id(const char *id)
{
    size_t len = strlen(id);
    if (len == 0 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((id[i] >= 'a' && id[i] <= 'z') || (id[i] >= 'A' && id[i] <= 'Z') ||
              (id[i] >= '0' && id[i] <= '9') || id[i] == '-'))
            return false;
    return true;
}

static bool is_one_of(const char *arg, const char *const *names, size_t n, bool with_value)
{
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (!strncmp(arg, names[i], len) && (arg[len] == '\0' || (with_value && arg[len] == '=')))
            return true;
    }
    return false;
}

/* The value of "--name VALUE" or "--name=VALUE", or NULL if arg is not --name. */
static const char *value_of(int argc, char **argv, int *i, const char *name, bool *missing)
{
    size_t len = strlen(name);
    const char *arg = argv[*i];
    if (strncmp(arg, name, len))
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len])
        return NULL;
    if (*i + 1 >= argc) {
        *missing = true;
        return NULL;
    }
    return argv[++*i];
}

static int parse(int argc, char **argv, struct vmm_options *opt, bool *no_api, int *seccomp,
                 struct jail_config *jail, char *err, size_t err_len)
{
    opt->logger.level = API_LOG_INFO;
    bool level_given = false;
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i], *v;
        bool missing = false;
        int jail_rc;
        if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
            fputs(fc_usage, stdout);
            fputs(cli_jail_usage, stdout);
            return 1;
        } else if ((jail_rc = cli_parse_jail_option(argc, argv, &i, jail, err, err_len)) != 0) {
            if (jail_rc < 0)
                return -1;
        } else if (!strcmp(arg, "--no-api")) {
            *no_api = true;
        } else if (!strcmp(arg, "--boot-timer")) {
            opt->boot_timer = true;
        } else if (!strcmp(arg, "--show-level")) {
            opt->logger.show_level = true;
        } else if (!strcmp(arg, "--show-log-origin")) {
            opt->logger.show_log_origin = true;
        } else if ((v = value_of(argc, argv, &i, "--api-sock", &missing))) {
            opt->api_sock = v;
        } else if ((v = value_of(argc, argv, &i, "--id", &missing))) {
            if (!valid_instance_id(v))
                return set_err(err, err_len, "--id '%s': 1 to 64 characters of A-Z, a-z, 0-9 and -",
                               v);
            opt->id = v;
        } else if ((v = value_of(argc, argv, &i, "--config-file", &missing))) {
            opt->config_file = v;
        } else if ((v = value_of(argc, argv, &i, "--log-path", &missing))) {
            opt->logger.set = true;
            snprintf(opt->logger.log_path, sizeof(opt->logger.log_path), "%s", v);
        } else if ((v = value_of(argc, argv, &i, "--level", &missing))) {
            if (cli_parse_log_level(v, &opt->logger.level))
                return set_err(err, err_len,
                               "--level '%s': use Error, Warning, Info, Debug, "
                               "Trace or Off",
                               v);
            level_given = true;
        } else if ((v = value_of(argc, argv, &i, "--metrics-path", &missing))) {
            opt->metrics.set = true;
            snprintf(opt->metrics.metrics_path, sizeof(opt->metrics.metrics_path), "%s", v);
        } else if (!strcmp(arg, "--no-seccomp")) {
            *seccomp = SANDBOX_OFF;
        } else if ((v = value_of(argc, argv, &i, "--seccomp", &missing))) {
            enum sandbox_mode mode;
            if (!sandbox_parse_mode(v, &mode))
                return set_err(err, err_len, "--seccomp takes off, log or on, not '%s'", v);
            *seccomp = (int)mode;
        } else if (is_one_of(arg, ignored_with_value,
                             sizeof(ignored_with_value) / sizeof(ignored_with_value[0]), true)) {
            if (!strchr(arg, '=') && ++i >= argc)
                return set_err(err, err_len, "%s needs a value", arg);
            fprintf(stderr, "duvisor: %s: accepted, no effect here\n", arg);
        } else {
            return set_err(err, err_len, "unknown option '%s' (see duvisor --api-sock --help)",
                           arg);
        }
        if (missing)
            return set_err(err, err_len, "%s needs a value", arg);
    }
    if (level_given && !opt->logger.set)
        opt->logger.set = true; /* a level alone filters stderr */
    if (*no_api && !opt->config_file)
        return set_err(err, err_len, "--no-api needs --config-file");
    if (*no_api && opt->api_sock)
        return set_err(err, err_len, "--no-api and --api-sock exclude each other");
    return cli_check_jail(jail, err, err_len);
}

int cmd_firecracker(int argc, char **argv)
{
    struct jail_config jail;
    jail_config_init(&jail);
    struct vmm_options opt = {
        .firecracker = true, .vmm_version = DUVISOR_VERSION_STRING, .jail = &jail};
    bool no_api = false;
    char err[512];
    int seccomp = (int)sandbox_default_mode();
    int rc = parse(argc, argv, &opt, &no_api, &seccomp, &jail, err, sizeof(err));
    if (rc == 1)
        return 0;
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        return EXIT_USAGE;
    }
    if (!no_api && !opt.api_sock)
        opt.api_sock = DEFAULT_API_SOCK;
    struct vm_config cfg;
    vm_config_init(&cfg);
    /* Firecracker's default machine: 1 vCPU, 128 MiB. */
    cfg.memory_bytes = 128ull << 20;
    cfg.boot_timer = opt.boot_timer;
    cfg.seccomp = seccomp;
    return vmm_main(&cfg, &opt);
}
