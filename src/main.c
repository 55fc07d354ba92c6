/* duvisor: a user-level hypervisor for RISC-V VMs. Subcommand dispatch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "devices/net_user.h"
#include "vmm/snapshot.h"
#include "vmm/upgrade.h"

static const char main_usage[] =
    "usage: duvisor <command> [options]\n"
    "\n"
    "A user-level hypervisor for RISC-V virtual machines (delegated virtualization).\n"
    "\n"
    "commands:\n"
    "  run        boot a VM (see duvisor run --help)\n"
    "  snapshot   save a running VM's state and memory (through its --api-sock)\n"
    "  restore    run a VM from a snapshot\n"
    "  upgrade    replace a running VM's duvisor binary without stopping the guest\n"
    "  rebase-memory  merge a diff snapshot's memory onto its base\n"
    "  balloon    set a running VM's balloon target, show its statistics\n"
    "\n"
    "duvisor --api-sock PATH [options] starts a VMM driven by Firecracker's API\n"
    "(see duvisor --api-sock PATH --help).\n"
    "\n"
    "  -h, --help       show this help\n"
    "  -V, --version    show the version\n"
    "  --snapshot-version  show the snapshot format this duvisor reads\n";

struct command {
    const char *name;
    int (*main)(int argc, char **argv);
};

static const struct command commands[] = {
    {"run", cmd_run},         {"snapshot", cmd_snapshot},           {"restore", cmd_restore},
    {"upgrade", cmd_upgrade}, {"rebase-memory", cmd_rebase_memory}, {"balloon", cmd_balloon},
};

int main(int argc, char **argv)
{
    /* Installed as `firecracker`, or called with Firecracker's flags: its shape. */
    const char *base = strrchr(argv[0], '/');
    if (!strcmp(base ? base + 1 : argv[0], "firecracker"))
        return cmd_firecracker(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "--snapshot-version")) {
        /* Asked by a running duvisor before it live-upgrades to this binary. */
        printf("%u.%u\n", SNAPSHOT_FORMAT_MAJOR, SNAPSHOT_FORMAT_MINOR);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], UPGRADE_COMMAND))
        return cmd_upgrade_resume(argc - 1, argv + 1);
    if (argc == 5 && !strcmp(argv[1], NET_USER_COMMAND)) /* started by net_user_spawn */
        return net_user_helper_main(atoi(argv[2]), atoi(argv[3]), argv[4]);
    if (argc >= 2 && !strncmp(argv[1], "--", 2) && strcmp(argv[1], "--help") &&
        strcmp(argv[1], "--version"))
        return cmd_firecracker(argc, argv);
    if (argc < 2) {
        fprintf(stderr, "duvisor: no command given (see duvisor --help)\n");
        return EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "-h") || !strcmp(name, "--help")) {
        fputs(main_usage, stdout);
        return 0;
    }
    if (!strcmp(name, "-V") || !strcmp(name, "--version")) {
        printf("duvisor %s\n", DUVISOR_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(name, commands[i].name))
            return commands[i].main(argc - 1, argv + 1);
    fprintf(stderr, "duvisor: unknown command '%s' (see duvisor --help)\n", name);
    return EXIT_USAGE;
}
