/* Metrics (see metrics.h). */
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "vmm/metrics.h"
#include "vmm/vm.h"

static uint64_t thread_cpu_us(pthread_t thread)
{
    clockid_t clock;
    struct timespec ts;
    if (pthread_getcpuclockid(thread, &clock) != 0 || clock_gettime(clock, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void add(json_t *obj, const char *name, uint64_t value)
{
    json_t *old = json_object_get(obj, name);
    json_int_t sum = (json_int_t)value + (old ? json_integer_value(old) : 0);
    json_object_set_new(obj, name, json_integer(sum));
}

static json_t *vcpu_metrics(struct vm *vm)
{
    json_t *total = json_object(), *each = json_array();
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        struct vcpu *v = &vm->vcpus[i];
        const struct vcpu_exit_stats *e = &v->exits;
        const struct {
            const char *name;
            uint64_t value;
        } counters[] = {
            {"exit_sbi", atomic_load(&e->sbi)},
            {"exit_mmio", atomic_load(&e->mmio)},
            {"exit_ram_map", atomic_load(&e->ram_map)},
            {"exit_virtual_insn", atomic_load(&e->virtual_insn)},
            {"exit_requests", atomic_load(&e->requests)},
            {"exit_timer", atomic_load(&e->timer)},
            {"access_faults", atomic_load(&e->access_faults)},
            {"cpu_time_us", v->thread_started ? thread_cpu_us(v->thread) : 0},
        };
        json_t *one = json_pack("{s:I}", "vcpu", (json_int_t)i);
        for (size_t k = 0; k < sizeof(counters) / sizeof(counters[0]); k++) {
            add(one, counters[k].name, counters[k].value);
            add(total, counters[k].name, counters[k].value);
        }
        json_array_append_new(each, one);
    }
    json_object_set_new(total, "per_vcpu", each);
    return total;
}

static void device_metrics(struct vm *vm, json_t *root)
{
    for (unsigned i = 0; i < vm->devices.count; i++) {
        const struct vm_device *d = &vm->devices.dev[i];
        struct vm_stat stats[VM_MAX_DEV_STATS];
        unsigned n = d->ops->stats ? d->ops->stats(d->opaque, stats, VM_MAX_DEV_STATS) : 0;
        char key[VM_DEVICE_ID_MAX + 32];
        snprintf(key, sizeof(key), "%s_%s", d->ops->kind, d->id);
        json_t *one = json_object(), *sum = json_object_get(root, d->ops->kind);
        if (!sum) {
            sum = json_object();
            json_object_set_new(root, d->ops->kind, sum);
        }
        for (unsigned k = 0; k < n; k++) {
            add(one, stats[k].name, stats[k].value);
            add(sum, stats[k].name, stats[k].value);
        }
        const struct mmio_region *r = d->mmio_size ? mmio_find(&vm->bus, d->mmio_base) : NULL;
        if (r) {
            uint64_t ignored = atomic_load(&vm->bus.ignored[r - vm->bus.regions]);
            add(one, "mmio_ignored", ignored);
            add(sum, "mmio_ignored", ignored);
        }
        json_object_set_new(root, key, one);
    }
}

char *metrics_render(struct vm *vm, const struct api_target *api, uint64_t uptime_ms)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    const char *state = api->state == API_RUNNING  ? "Running"
                        : api->state == API_PAUSED ? "Paused"
                                                   : "Not started";
    json_t *root =
        json_pack("{s:I, s:{s:I, s:I}, s:{s:s, s:I, s:I}}", "utc_timestamp_ms",
                  (json_int_t)now.tv_sec * 1000 + now.tv_nsec / 1000000, "api_server", "requests",
                  (json_int_t)api->requests, "bad_requests", (json_int_t)api->bad_requests, "vmm",
                  "state", state, "uptime_ms", (json_int_t)uptime_ms, "pauses",
                  (json_int_t)(vm ? vm->pause.pauses : 0));
    if (!root)
        return NULL;
    if (vm) {
        json_object_set_new(root, "vcpu", vcpu_metrics(vm));
        device_metrics(vm, root);
    }
    char *line = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return line;
}
