/*
 * The VM's virtio-mmio devices. Each slot pairs one transport instance
 * (struct virtio_device) with one device model; the slot's MMIO window and
 * IRQ follow the QEMU virt map. Order: disks, NICs, entropy, console, so the
 * first --disk is /dev/vda and the first --net is eth0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/net_slirp.h"
#include "devices/net_tap.h"
#include "devices/virtio.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "vmm/console.h"
#include "vmm/virtio_devices.h"
#include "vmm/vm.h"

enum slot_kind { SLOT_BLK, SLOT_NET, SLOT_RNG, SLOT_CONSOLE };

struct virtio_slot {
    struct vm *vm;
    enum slot_kind kind;
    unsigned irq;
    struct virtio_device *vdev;
    void *device; /* struct virtio_blk / virtio_net / virtio_rng / virtio_console */
    struct net_slirp *slirp;
    struct net_tap *tap;
    struct net_backend backend;
};

unsigned vm_virtio_count(const struct vm *vm)
{
    return vm->cfg->ndisks + vm->cfg->nnics + 2;
}

static void slot_irq(void *opaque, bool level)
{
    struct virtio_slot *slot = opaque;
    dv_plic_set_irq(slot->vm->machine, slot->irq, level);
}

static bool slot_read(void *opaque, uint64_t offset, unsigned size, uint64_t *value)
{
    struct virtio_slot *slot = opaque;
    return virtio_mmio_read(slot->vdev, offset, size, value);
}

static bool slot_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct virtio_slot *slot = opaque;
    return virtio_mmio_write(slot->vdev, offset, size, value);
}

/* The virtio console writes to duvisor's stdout; its input is not connected
   (stdin belongs to ttyS0). */
static void vconsole_write(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;
    console_write(vm->console, buf, len);
}

static size_t vconsole_read(void *opaque, uint8_t *buf, size_t len)
{
    (void)opaque, (void)buf, (void)len;
    return 0;
}

/* Devices' writes into guest RAM go to the harts' code coherence. */
static void guest_ram_written(void *opaque, const void *host, size_t len)
{
    const struct vm *vm = opaque;
    dv_mem_written(vm->machine, host, len);
}

static int create_device(struct virtio_slot *slot, unsigned index, char *err, size_t err_len)
{
    const struct vm_config *cfg = slot->vm->cfg;
    const struct virtio_device_ops *ops = NULL;
    if (index < cfg->ndisks) {
        const struct vm_disk *disk = &cfg->disks[index];
        slot->kind = SLOT_BLK;
        slot->device = virtio_blk_create(disk->path, disk->readonly, err, err_len);
        if (slot->device)
            ops = virtio_blk_ops(slot->device);
    } else if (index < cfg->ndisks + cfg->nnics) {
        const struct vm_nic *nic = &cfg->nics[index - cfg->ndisks];
        slot->kind = SLOT_NET;
        if (nic->kind == VM_NET_USER) {
            slot->slirp = net_slirp_create(nic->options, err, err_len);
            if (slot->slirp)
                slot->backend = net_slirp_backend(slot->slirp);
        } else {
            slot->tap = net_tap_create(nic->options, err, err_len);
            if (slot->tap)
                slot->backend = net_tap_backend(slot->tap);
        }
        if (!slot->slirp && !slot->tap)
            return -1;
        slot->device = virtio_net_create(nic->mac, &slot->backend);
        if (slot->device) {
            ops = virtio_net_ops();
            if (slot->slirp)
                net_slirp_attach(slot->slirp, slot->device);
            else
                net_tap_attach(slot->tap, slot->device);
        }
    } else if (index == cfg->ndisks + cfg->nnics) {
        slot->kind = SLOT_RNG;
        slot->device = virtio_rng_create();
        ops = virtio_rng_ops();
    } else {
        static const struct virtio_console_backend proto = {.write = vconsole_write,
                                                            .read = vconsole_read};
        struct virtio_console_backend backend = proto;
        backend.opaque = slot->vm;
        slot->kind = SLOT_CONSOLE;
        slot->device = virtio_console_create(&backend);
        ops = virtio_console_ops();
    }
    if (!slot->device) {
        if (!*err)
            snprintf(err, err_len, "cannot create virtio device %u", index);
        return -1;
    }
    const struct virtio_memory mem = {slot->vm->ram, VM_RAM_BASE, slot->vm->ram_size,
                                      guest_ram_written, slot->vm};
    slot->vdev = virtio_create(ops, slot->device, &mem, slot_irq, slot);
    if (!slot->vdev) {
        snprintf(err, err_len, "cannot create virtio transport %u", index);
        return -1;
    }
    switch (slot->kind) {
    case SLOT_BLK: virtio_blk_bind(slot->device, slot->vdev); break;
    case SLOT_NET: virtio_net_bind(slot->device, slot->vdev); break;
    case SLOT_RNG: virtio_rng_bind(slot->device, slot->vdev); break;
    case SLOT_CONSOLE: virtio_console_bind(slot->device, slot->vdev); break;
    }
    return 0;
}

int vm_virtio_create(struct vm *vm, char *err, size_t err_len)
{
    unsigned count = vm_virtio_count(vm);
    if (count > VM_VIRTIO_SLOTS) {
        snprintf(err, err_len, "at most %u virtio devices (disks + NICs + 2)", VM_VIRTIO_SLOTS);
        return -1;
    }
    vm->virtio = calloc(count, sizeof(*vm->virtio));
    if (!vm->virtio) {
        snprintf(err, err_len, "out of memory");
        return -1;
    }
    vm->nvirtio = count;
    for (unsigned i = 0; i < count; i++) {
        struct virtio_slot *slot = &vm->virtio[i];
        slot->vm = vm;
        slot->irq = VM_VIRTIO_IRQ + i;
        err[0] = '\0';
        if (create_device(slot, i, err, err_len))
            return -1;
        const struct mmio_region region = {
            .base = VM_VIRTIO_BASE + i * VM_VIRTIO_STRIDE,
            .size = VIRTIO_MMIO_SIZE,
            .name = "virtio",
            .read = slot_read,
            .write = slot_write,
            .opaque = slot,
        };
        if (mmio_add(&vm->bus, &region)) {
            snprintf(err, err_len, "cannot place virtio device %u", i);
            return -1;
        }
    }
    return 0;
}

void vm_virtio_destroy(struct vm *vm)
{
    for (unsigned i = 0; vm->virtio && i < vm->nvirtio; i++) {
        struct virtio_slot *slot = &vm->virtio[i];
        /* Stop the backends first: they deliver into the device. */
        if (slot->slirp)
            net_slirp_destroy(slot->slirp);
        if (slot->tap)
            net_tap_destroy(slot->tap);
        if (slot->device) {
            switch (slot->kind) {
            case SLOT_BLK: virtio_blk_destroy(slot->device); break;
            case SLOT_NET: virtio_net_destroy(slot->device); break;
            case SLOT_RNG: virtio_rng_destroy(slot->device); break;
            case SLOT_CONSOLE: virtio_console_destroy(slot->device); break;
            }
        }
        if (slot->vdev)
            virtio_destroy(slot->vdev);
    }
    free(vm->virtio);
    vm->virtio = NULL;
    vm->nvirtio = 0;
}
