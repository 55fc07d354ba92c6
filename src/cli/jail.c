/* The jail's options, shared by `duvisor run` and Firecracker's command line. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "host/jail.h"
#include "util/err.h"

const char cli_jail_usage[] =
    "  --jail DIR        confine duvisor to DIR: its root, new namespaces (user, mount, PID,\n"
    "                    IPC, UTS, network), no other files, no capabilities. duvisor run's\n"
    "                    own files are opened before; every other path is inside DIR\n"
    "  --uid N, --gid N  the ids to run as in the jail (root's default: 65534)\n"
    "  --netns PATH      join this network namespace instead of a new one (needs root)\n"
    "  --jail-tun        bind /dev/net/tun into the jail (TAPs opened by name inside it)\n"
    "  --resource-limit no-file=N|fsize=BYTES|as=BYTES\n"
    "                    an rlimit in the jail (repeatable; no-file defaults to 2048)\n";

static int parse_id(const char *text, long *id)
{
    if (!text || *text < '0' || *text > '9')
        return -1;
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || *end || v >= 0xffffffffu)
        return -1;
    *id = (long)v;
    return 0;
}

static int parse_limit(const char *text, struct jail_config *j, char *err, size_t err_len)
{
    static const char *const names[] = {"no-file", "fsize", "as"};
    uint64_t *fields[] = {&j->no_file, &j->fsize, &j->as};
    for (unsigned i = 0; text && i < 3; i++) {
        size_t len = strlen(names[i]);
        if (strncmp(text, names[i], len) || text[len] != '=')
            continue;
        const char *value = text + len + 1;
        char *end;
        errno = 0;
        unsigned long long v = strtoull(value, &end, 10);
        if (errno || end == value || *end || *value == '-' || v == 0)
            return set_err(err, err_len, "--resource-limit %s: want a positive number, not '%s'",
                           names[i], value);
        *fields[i] = v;
        return 0;
    }
    return set_err(err, err_len, "--resource-limit takes no-file=N, fsize=N or as=N, not '%s'",
                   text ? text : "");
}

int cli_parse_jail_option(int argc, char **argv, int *i, struct jail_config *j, char *err,
                          size_t err_len)
{
    const char *value;
    if (!strcmp(argv[*i], "--jail-tun")) {
        j->tun = true;
    } else if (cli_take_value(argc, argv, i, "--jail", &value)) {
        if (!value || !*value)
            return set_err(err, err_len, "--jail needs a directory");
        j->dir = value;
    } else if (cli_take_value(argc, argv, i, "--uid", &value)) {
        if (parse_id(value, &j->uid))
            return set_err(err, err_len, "--uid takes a number, not '%s'", value ? value : "");
    } else if (cli_take_value(argc, argv, i, "--gid", &value)) {
        if (parse_id(value, &j->gid))
            return set_err(err, err_len, "--gid takes a number, not '%s'", value ? value : "");
    } else if (cli_take_value(argc, argv, i, "--netns", &value)) {
        if (!value || !*value)
            return set_err(err, err_len, "--netns needs a path");
        j->netns = value;
    } else if (cli_take_value(argc, argv, i, "--resource-limit", &value)) {
        if (parse_limit(value, j, err, err_len))
            return -1;
    } else {
        return 0;
    }
    return 1;
}

int cli_check_jail(const struct jail_config *j, char *err, size_t err_len)
{
    if (j->dir)
        return 0;
    if (j->uid >= 0 || j->gid >= 0 || j->netns || j->tun || j->no_file || j->fsize || j->as)
        return set_err(err, err_len,
                       "--uid, --gid, --netns, --jail-tun and --resource-limit need --jail DIR");
    return 0;
}
