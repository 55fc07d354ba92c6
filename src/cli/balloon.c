/* `duvisor balloon`: a running VM's balloon through its control API. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api/client.h"
#include "cli/cli.h"
#include "util/err.h"

static const char balloon_usage[] =
    "usage: duvisor balloon --api-sock PATH [--amount-mib N] [--stats]\n"
    "\n"
    "Drive the balloon of a VM started with --balloon and --api-sock: set its target\n"
    "(the guest inflates to it, and the host gets those pages back, or deflates), and\n"
    "show its size and the guest's memory statistics (with --balloon stats=SECONDS).\n"
    "Without --amount-mib or --stats: show the balloon's configuration.\n"
    "\n"
    "  --api-sock PATH   the VM's control socket\n"
    "  --amount-mib N    the balloon's new target in MiB (PATCH /balloon)\n"
    "  --stats           print GET /balloon/statistics (after the new target, if given)\n"
    "  -h, --help        show this help\n";

/* One request: 0 on 2xx (a JSON reply printed, indented), else -1 with the reason. */
static int request(const char *sock, const char *method, const char *path, const char *body,
                   char *err, size_t err_len)
{
    int status = 0;
    char reply[4096], why[512];
    if (api_client_request(sock, method, path, body, 10000, &status, reply, sizeof(reply), why,
                           sizeof(why)))
        return set_err(err, err_len, "%s", why);
    json_t *j = json_loads(reply, 0, NULL);
    int rc = 0;
    if (status < 200 || status >= 300) {
        const char *fault = json_string_value(json_object_get(j, "fault_message"));
        rc = set_err(err, err_len, "%s %s: %s", method, path, fault ? fault : reply);
    } else if (j) {
        char *text = json_dumps(j, JSON_INDENT(2));
        if (text)
            puts(text);
        free(text);
    }
    json_decref(j);
    return rc;
}

/* A whole number of MiB up to 2^24 (no more than 16 TiB of balloon). */
static int parse_mib(const char *text, unsigned long *out)
{
    char *end = NULL;
    unsigned long n = text && *text >= '0' && *text <= '9' ? strtoul(text, &end, 10) : 0;
    if (!end || *end || n > (1ul << 24))
        return -1;
    *out = n;
    return 0;
}

int cmd_balloon(int argc, char **argv)
{
    const char *sock = NULL, *value;
    bool stats = false, set = false;
    unsigned long mib = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(balloon_usage, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--stats")) {
            stats = true;
        } else if (cli_take_value(argc, argv, &i, "--api-sock", &value)) {
            sock = value;
        } else if (cli_take_value(argc, argv, &i, "--amount-mib", &value)) {
            if (parse_mib(value, &mib)) {
                fprintf(stderr, "duvisor: --amount-mib takes a number of MiB, not '%s'\n",
                        value ? value : "");
                return EXIT_USAGE;
            }
            set = true;
        } else {
            fprintf(stderr, "duvisor: unknown option '%s' (see duvisor balloon --help)\n", argv[i]);
            return EXIT_USAGE;
        }
    }
    if (!sock || !*sock) {
        fprintf(stderr, "duvisor: --api-sock is required\n");
        return EXIT_USAGE;
    }
    signal(SIGPIPE, SIG_IGN); /* a VMM that hangs up is an error reply, not our end */
    char err[1024], body[64];
    snprintf(body, sizeof(body), "{\"amount_mib\": %lu}", mib);
    int rc = set ? request(sock, "PATCH", "/balloon", body, err, sizeof(err)) : 0;
    if (rc == 0 && stats)
        rc = request(sock, "GET", "/balloon/statistics", NULL, err, sizeof(err));
    if (rc == 0 && !set && !stats)
        rc = request(sock, "GET", "/balloon", NULL, err, sizeof(err));
    if (rc) {
        fprintf(stderr, "duvisor: %s\n", err);
        return 1;
    }
    return 0;
}
