/*
 * Metrics: one JSON object per line, as Firecracker writes them (periodically
 * and on FlushMetrics): the API server's counters, the VM's state and pauses,
 * exits by cause and CPU time per vCPU, and every registered device's
 * counters, both per device ("block_rootfs") and summed per kind ("block").
 * Counters only grow.
 */
#ifndef DUVISOR_VMM_METRICS_H
#define DUVISOR_VMM_METRICS_H

#include <stdint.h>

#include "api/api.h"

struct vm;

/* Firecracker writes metrics every 60 s. */
#define METRICS_PERIOD_MS 60000

/* The line (malloc'd, no newline), or NULL on no memory. vm is NULL before
   the VM starts; called on the VMM thread, which owns the VM. */
char *metrics_render(struct vm *vm, const struct api_target *api, uint64_t uptime_ms);

#endif
