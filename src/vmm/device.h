/*
 * The device registry: every device of a VM as the VMM sees them alike,
 * whatever their kind. Each entry names the device (the API's drive_id or
 * iface_id, or its kind and number), says where it sits (MMIO window and
 * interrupt, from vmm/platform.h), how the device tree describes it, and how
 * to pause it, save and restore its state, read its counters and destroy it. The registry is filled
 * while the VM is built, before any vCPU runs, and is read-only afterwards.
 */
#ifndef DUVISOR_VMM_DEVICE_H
#define DUVISOR_VMM_DEVICE_H

#include <stdbool.h>
#include <stdint.h>

struct state_writer;
struct state_reader;

#define VM_MAX_DEVICES   16u
#define VM_DEVICE_ID_MAX 64u
#define VM_MAX_DEV_STATS 16u

/* One counter of a device, for the metrics. */
struct vm_stat {
    const char *name;
    uint64_t value;
};

struct vm_device_ops {
    /* The metrics group the device's counters go under: "block", "net", ... */
    const char *kind;
    /* The VM pauses (true) or resumes: stop writing guest memory and raising
       interrupts, and wait for what is under way. NULL: nothing to do. */
    void (*pause)(void *opaque, bool paused);
    /* Fill at most max counters; returns how many. NULL: none. */
    unsigned (*stats)(void *opaque, struct vm_stat *out, unsigned max);
    /* Snapshots: write the device's state while the VM is paused, and read
       it back into a device freshly made from the same configuration (before
       any vCPU runs); restore returns false with the reason in the reader.
       The snapshot holds one section per device that has save, named by its
       id. NULL: the device has no state to keep. */
    void (*save)(void *opaque, struct state_writer *w);
    bool (*restore)(void *opaque, struct state_reader *r);
    /* Free everything; vCPUs are stopped. NULL: nothing owned. */
    void (*destroy)(void *opaque);
};

struct vm_device {
    char id[VM_DEVICE_ID_MAX];
    const struct vm_device_ops *ops;
    void *opaque;
    uint64_t mmio_base, mmio_size; /* size 0: no window */
    unsigned irq;                  /* 0: none */
    /* Its device-tree node NAME@mmio_base (NULL: none), whose reg may cover
       more than the bus window (a virtio slot's whole page). */
    const char *dt_name, *dt_compatible;
    uint64_t dt_size;
    uint32_t dt_clock_hz; /* clock-frequency; 0: none */
};

struct vm_devices {
    unsigned count;
    struct vm_device dev[VM_MAX_DEVICES];
};

/* Copy d into the registry: 0, or -1 when it is full. */
int vm_device_add(struct vm_devices *r, const struct vm_device *d);
/* The device named id, or NULL. */
struct vm_device *vm_device_find(struct vm_devices *r, const char *id);
/* Pause every device in order of creation, resume in reverse. */
void vm_devices_pause(struct vm_devices *r, bool paused);
/* Destroy every device, newest first, and empty the registry. */
void vm_devices_destroy(struct vm_devices *r);

#endif
