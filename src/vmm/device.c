/* The device registry (see device.h). */
#include <string.h>

#include "vmm/device.h"

int vm_device_add(struct vm_devices *r, const struct vm_device *d)
{
    if (r->count == VM_MAX_DEVICES)
        return -1;
    r->dev[r->count++] = *d;
    return 0;
}

struct vm_device *vm_device_find(struct vm_devices *r, const char *id)
{
    for (unsigned i = 0; i < r->count; i++)
        if (!strcmp(r->dev[i].id, id))
            return &r->dev[i];
    return NULL;
}

void vm_devices_pause(struct vm_devices *r, bool paused)
{
    for (unsigned k = 0; k < r->count; k++) {
        /* Resume in reverse, so a device never runs while one it feeds is paused. */
        struct vm_device *d = &r->dev[paused ? k : r->count - 1 - k];
        if (d->ops->pause)
            d->ops->pause(d->opaque, paused);
    }
}

void vm_devices_destroy(struct vm_devices *r)
{
    while (r->count) {
        struct vm_device *d = &r->dev[--r->count];
        if (d->ops->destroy)
            d->ops->destroy(d->opaque);
    }
}
