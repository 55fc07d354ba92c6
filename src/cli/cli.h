/* Command-line front end: options in, a validated VM configuration out. */
#ifndef DUVISOR_CLI_H
#define DUVISOR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "vmm/config.h"

struct jail_config;

/* Exit status for bad user input, as every subcommand reports it. */
enum { EXIT_USAGE = 2 };

/*
 * Parse `duvisor run` options (argv[0] is "run"). Returns 0 and fills *cfg,
 * opt's api_sock and logger, and *jail (jail_config_init'd here),
 * 1 when --help was asked (usage already printed to stdout), or -1 with a
 * one-line reason in err.
 */
struct vmm_options;
int cli_parse_run(int argc, char **argv, struct vm_config *cfg, struct vmm_options *opt,
                  struct jail_config *jail, char *err, size_t err_len);
/* "Off", "Error", "Warning", "Info", "Debug", "Trace" (any case). 0, or -1. */
int cli_parse_log_level(const char *text, enum api_log_level *level);

/* "512", "512M", "2G", "1024K": a size in MiB unless suffixed. 0 on success. */
int cli_parse_size(const char *text, uint64_t *bytes);

/* Match "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past what
   it used. *value is NULL when the value is missing. */
bool cli_take_value(int argc, char **argv, int *i, const char *name, const char **value);

/* The jail's options (src/cli/jail.c): one at argv[*i] (1 if it was one, 0
   if not, -1 with a reason); then whether they fit together (0, or -1). */
int cli_parse_jail_option(int argc, char **argv, int *i, struct jail_config *j, char *err,
                          size_t err_len);
int cli_check_jail(const struct jail_config *j, char *err, size_t err_len);
extern const char cli_jail_usage[];

int cmd_run(int argc, char **argv);
/* duvisor snapshot / restore / upgrade (src/cli/snapshot.c). */
int cmd_snapshot(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_upgrade(int argc, char **argv);
int cmd_rebase_memory(int argc, char **argv);
/* duvisor balloon: a running VM's balloon (src/cli/balloon.c). */
int cmd_balloon(int argc, char **argv);
/* The new binary of a live upgrade: `duvisor __upgrade-resume FD`. */
int cmd_upgrade_resume(int argc, char **argv);
/* Firecracker's process shape: `duvisor --api-sock PATH [--config-file F] ...`. */
int cmd_firecracker(int argc, char **argv);

/* The version string the build stamps in (src/cli/version.c). */
extern const char DUVISOR_VERSION_STRING[];

#endif
