/*
 * The VMM: the long-lived object around a VM. It owns the configuration,
 * the console, the log, the metrics, the control API and the current VM,
 * and outlives guest reboots. Its thread (the process's main thread) waits
 * in one event loop: epoll over a signalfd (SIGTERM, SIGINT, SIGHUP), an
 * eventfd the VM writes when it stops, an eventfd for API requests and the
 * console's quit, and a timerfd for periodic metrics. Every API request is
 * served on this thread, so the configuration and the VM's lifecycle have
 * one owner; the API thread only carries requests here and waits.
 */
#ifndef DUVISOR_VMM_VMM_H
#define DUVISOR_VMM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/api.h"
#include "vmm/config.h"

struct upgrade_handover;
struct jail_config;

struct vmm_options {
    const char *api_sock;    /* NULL: no API */
    const char *id;          /* --id (Firecracker's instance id) */
    const char *config_file; /* Firecracker config file: applied, then the VM boots */
    bool start_now;          /* the configuration is complete (duvisor run): boot at once */
    bool firecracker;        /* Firecracker's process shape: a guest reboot ends the VMM */
    bool boot_timer;         /* --boot-timer */
    /* duvisor restore: load this snapshot instead of booting (NULL: none) */
    const struct api_snapshot_load *restore;
    /* a live upgrade's new binary: take the VM over (vmm/upgrade.h) */
    const struct upgrade_handover *handover;
    const uint8_t *handover_state;
    size_t handover_state_len;
    const char *vmm_version;
    /* --jail: confine the process before any thread starts (host/jail.h);
       NULL or no dir: none */
    const struct jail_config *jail;
    struct api_logger logger;   /* --log-path / --level; .set: configured */
    struct api_metrics metrics; /* --metrics-path */
    const char *gdb;            /* --gdb tcp:HOST:PORT|unix:PATH: a GDB stub per boot; NULL: none */
    bool gdb_wait; /* --gdb-wait: each boot waits for gdb before its first instruction */
};

/* Run the VMM until the guest powers off, a stop signal, or (without a VM)
   the API socket's owner stops it. cfg is copied. Returns the exit status:
   0, 1 after a fatal guest error, 2 for bad input from the user. */
int vmm_main(const struct vm_config *cfg, const struct vmm_options *opt);

#endif
