/*
 * The VM's virtio-mmio devices. Each slot pairs one transport instance
 * (struct virtio_device) with one device model and registers itself in the
 * VM's device registry; the slot's MMIO window and IRQ come from the
 * platform map. Order: disks (the root disk first), NICs, entropy, console,
 * keyboard, so the first disk is /dev/vda and the first NIC is eth0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "devices/net_user.h"
#include "devices/net_tap.h"
#include "devices/virtio.h"
#include "devices/virtio_balloon.h"
#include "devices/virtio_blk.h"
#include "devices/virtio_console.h"
#include "devices/virtio_fs.h"
#include "devices/virtio_input.h"
#include "devices/virtio_net.h"
#include "devices/virtio_rng.h"
#include "devices/virtio_vsock.h"
#include "devices/vsock_uds.h"
#include "util/err.h"
#include "vmm/console.h"
#include "vmm/virtio_devices.h"
#include "vmm/vm.h"

struct virtio_slot {
    struct vm *vm;
    unsigned irq;
    struct virtio_device *vdev;
    void *device;        /* struct virtio_blk / _net / _rng / _console / _input / _fs / _balloon */
    struct net_tap *tap; /* a TAP device, or the user-networking helper's socket */
    struct vsock_uds *vsock; /* the vsock device's Unix-socket side (it owns the model) */
    struct net_backend backend;
};

/* Devices besides disks and NICs: entropy, console, keyboard. */
#define FIXED_DEVICES 3u
/* Disks, NICs and the fixed devices fill at most QEMU virt's own eight slots
   (so /dev/vda and eth0 sit where they do on QEMU); the optional devices
   after them may use the platform's further slots. */
_Static_assert(VM_MAX_DISKS + FIXED_DEVICES <= PLATFORM_VIRTIO_QEMU_SLOTS &&
                   VM_MAX_NICS <= VM_MAX_DISKS,
               "more disks and NICs than the platform map has virtio slots for");

/* Optional devices after the fixed ones, in slot order. */
static unsigned optional_count(const struct vm_config *cfg)
{
    return cfg->nshares + (cfg->vsock_cid != 0) + (cfg->balloon.enabled ? 1u : 0u);
}

static unsigned vm_virtio_count(const struct vm *vm)
{
    return vm->cfg->ndisks + vm->cfg->nnics + FIXED_DEVICES + optional_count(vm->cfg);
}

static void slot_irq(void *opaque, bool level)
{
    struct virtio_slot *slot = opaque;
    dv_plic_set_irq(slot->vm->machine, slot->irq, level);
}

/* The slot's window is a whole page, as the device tree says; past the
   transport's registers the device refuses (and the VMM ignores) accesses. */
static bool slot_read(void *opaque, uint64_t offset, unsigned size, uint64_t *value)
{
    struct virtio_slot *slot = opaque;
    return offset < VIRTIO_MMIO_SIZE && virtio_mmio_read(slot->vdev, offset, size, value);
}

static bool slot_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct virtio_slot *slot = opaque;
    return offset < VIRTIO_MMIO_SIZE && virtio_mmio_write(slot->vdev, offset, size, value);
}

/* Devices' writes into guest RAM go to the harts' code coherence. */
static void guest_ram_written(void *opaque, const void *host, size_t len)
{
    const struct vm *vm = opaque;
    dv_mem_written(vm->machine, host, len);
}

/* --- per kind: create, and the registry's view ------------------------------------- */

/* Every kind's state is the transport's plus what the model adds (its ops). */
static void slot_save(void *opaque, struct state_writer *w)
{
    struct virtio_slot *slot = opaque;
    virtio_save(slot->vdev, w);
}

static bool slot_restore(void *opaque, struct state_reader *r)
{
    struct virtio_slot *slot = opaque;
    return virtio_restore(slot->vdev, r);
}

/* The first max of a device's n counters into out: how many. */
static unsigned copy_stats(struct vm_stat *out, unsigned max, const struct vm_stat *all, size_t n)
{
    unsigned count = n < max ? (unsigned)n : max;
    memcpy(out, all, count * sizeof(*all));
    return count;
}

static unsigned blk_stats(void *opaque, struct vm_stat *out, unsigned max)
{
    const struct virtio_slot *slot = opaque;
    struct virtio_blk_stats s;
    virtio_blk_get_stats(slot->device, &s);
    const struct vm_stat all[] = {
        {"read_count", s.reads},       {"write_count", s.writes},    {"flush_count", s.flushes},
        {"other_count", s.others},     {"read_bytes", s.read_bytes}, {"write_bytes", s.write_bytes},
        {"failed_requests", s.errors},
    };
    return copy_stats(out, max, all, sizeof(all) / sizeof(all[0]));
}

static void blk_pause(void *opaque, bool paused)
{
    struct virtio_slot *slot = opaque;
    virtio_blk_pause(slot->device, paused);
}

static void blk_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    /* The disk first: a worker may be pushing a completion into the transport. */
    virtio_blk_destroy(slot->device);
    virtio_destroy(slot->vdev);
}

static const struct vm_device_ops blk_device_ops = {.kind = "block",
                                                    .pause = blk_pause,
                                                    .stats = blk_stats,
                                                    .save = slot_save,
                                                    .restore = slot_restore,
                                                    .destroy = blk_destroy};

static unsigned net_stats(void *opaque, struct vm_stat *out, unsigned max)
{
    const struct virtio_slot *slot = opaque;
    struct virtio_net_stats s;
    virtio_net_get_stats(slot->device, &s);
    const struct vm_stat all[] = {
        {"tx_packets_count", s.tx_frames},
        {"tx_bytes_count", s.tx_bytes},
        {"tx_fails", s.tx_errors},
        {"tx_malformed_frames", s.tx_malformed},
        {"rx_packets_count", s.rx_frames},
        {"rx_bytes_count", s.rx_bytes},
        {"rx_dropped_backlog", s.rx_dropped_backlog},
        {"rx_dropped_too_big", s.rx_dropped_too_big},
        {"rx_dropped_inactive", s.rx_dropped_inactive},
        {"rx_malformed_chains", s.rx_malformed},
    };
    return copy_stats(out, max, all, sizeof(all) / sizeof(all[0]));
}

static void net_pause(void *opaque, bool paused)
{
    struct virtio_slot *slot = opaque;
    virtio_net_pause(slot->device, paused);
}

static void net_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    /* The backend first: it delivers into the device. */
    if (slot->tap)
        net_tap_destroy(slot->tap);
    if (slot->vdev)
        virtio_destroy(slot->vdev);
    virtio_net_destroy(slot->device);
}

static const struct vm_device_ops net_device_ops = {.kind = "net",
                                                    .pause = net_pause,
                                                    .stats = net_stats,
                                                    .save = slot_save,
                                                    .restore = slot_restore,
                                                    .destroy = net_destroy};

static void rng_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    virtio_destroy(slot->vdev);
    virtio_rng_destroy(slot->device);
}

static const struct vm_device_ops rng_device_ops = {
    .kind = "entropy", .save = slot_save, .restore = slot_restore, .destroy = rng_destroy};

static void console_destroy_slot(void *opaque)
{
    struct virtio_slot *slot = opaque;
    virtio_destroy(slot->vdev);
    virtio_console_destroy(slot->device);
}

static void console_pause(void *opaque, bool paused)
{
    struct virtio_slot *slot = opaque;
    virtio_console_pause(slot->device, paused);
}

static const struct vm_device_ops console_device_ops = {.kind = "virtio_console",
                                                        .pause = console_pause,
                                                        .save = slot_save,
                                                        .restore = slot_restore,
                                                        .destroy = console_destroy_slot};

static unsigned input_stats(void *opaque, struct vm_stat *out, unsigned max)
{
    const struct virtio_slot *slot = opaque;
    struct virtio_input_stats s;
    virtio_input_get_stats(slot->device, &s);
    const struct vm_stat all[] = {
        {"events_sent", s.events_sent},
        {"events_dropped", s.events_dropped},
        {"status_events", s.status_events},
    };
    return copy_stats(out, max, all, sizeof(all) / sizeof(all[0]));
}

static void input_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    virtio_destroy(slot->vdev);
    virtio_input_destroy(slot->device);
}

static const struct vm_device_ops input_device_ops = {.kind = "input",
                                                      .stats = input_stats,
                                                      .save = slot_save,
                                                      .restore = slot_restore,
                                                      .destroy = input_destroy};

static void fs_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    /* The device first: its thread raises interrupts through the transport. */
    virtio_fs_destroy(slot->device);
    virtio_destroy(slot->vdev);
}

/* No save: snapshots of a VM with a share are refused before they start. */
static const struct vm_device_ops fs_device_ops = {.kind = "fs", .destroy = fs_destroy};

static int create_fs(struct virtio_slot *slot, const struct vm_share *share, char *err,
                     size_t err_len)
{
    const struct vm *vm = slot->vm;
    const struct virtio_fs_ram ram = {
        .fd = vm->memfd, .gpa = PLATFORM_RAM_BASE, .size = vm->ram_size, .host = vm->ram};
    if (!share->daemon)
        return set_err(err, err_len, "share '%s' has no virtiofsd", share->tag);
    slot->device = virtio_fs_create(share->daemon, share->tag, &ram, err, err_len);
    return slot->device ? 0 : -1;
}

static unsigned vsock_stats(void *opaque, struct vm_stat *out, unsigned max)
{
    const struct virtio_slot *slot = opaque;
    struct virtio_vsock_stats s;
    virtio_vsock_get_stats(slot->device, &s);
    const struct vm_stat all[] = {
        {"rx_packets_count", s.rx_packets}, {"rx_bytes_count", s.rx_bytes},
        {"tx_packets_count", s.tx_packets}, {"tx_bytes_count", s.tx_bytes},
        {"conns_added", s.conns_opened},    {"conns_refused", s.conns_refused},
        {"rst_sent", s.rst_sent},           {"malformed_packets", s.malformed},
        {"credit_resets", s.credit_resets},
    };
    return copy_stats(out, max, all, sizeof(all) / sizeof(all[0]));
}

static unsigned balloon_stats(void *opaque, struct vm_stat *out, unsigned max)
{
    const struct virtio_slot *slot = opaque;
    struct virtio_balloon_stats s;
    virtio_balloon_get_stats(slot->device, &s);
    const struct vm_stat all[] = {
        {"target_pages", s.target_pages},         {"actual_pages", s.actual_pages},
        {"inflated_pages", s.inflated_pages},     {"deflated_pages", s.deflated_pages},
        {"reported_pages", s.reported_pages},     {"stats_updates", s.stats_updates},
        {"pfns_outside_ram", s.pfns_outside_ram}, {"discard_failures", s.discard_failures},
    };
    return copy_stats(out, max, all, sizeof(all) / sizeof(all[0]));
}

static void balloon_pause(void *opaque, bool paused)
{
    struct virtio_slot *slot = opaque;
    virtio_balloon_pause(slot->device, paused);
}

static void balloon_destroy(void *opaque)
{
    struct virtio_slot *slot = opaque;
    virtio_destroy(slot->vdev);
    virtio_balloon_destroy(slot->device);
}

static const struct vm_device_ops balloon_device_ops = {.kind = "balloon",
                                                        .pause = balloon_pause,
                                                        .stats = balloon_stats,
                                                        .save = slot_save,
                                                        .restore = slot_restore,
                                                        .destroy = balloon_destroy};

/* The balloon (--balloon). */
static void create_balloon(struct virtio_slot *slot, const struct virtio_device_ops **ops,
                           const struct vm_device_ops **dops, char *id, size_t id_len)
{
    const struct vm_balloon *bc = &slot->vm->cfg->balloon;
    snprintf(id, id_len, "balloon0");
    *dops = &balloon_device_ops;
    uint64_t features = (bc->deflate_on_oom ? VIRTIO_BALLOON_F_DEFLATE_ON_OOM : 0) |
                        (bc->stats_interval_s ? VIRTIO_BALLOON_F_STATS_VQ : 0) |
                        (bc->free_page_reporting ? VIRTIO_BALLOON_F_REPORTING : 0);
    struct virtio_balloon *b = virtio_balloon_create(features);
    slot->device = b;
    slot->vm->balloon = b;
    if (b) {
        *ops = virtio_balloon_ops(b);
        virtio_balloon_set_target(b, bc->amount_mib << (20 - VIRTIO_BALLOON_PFN_SHIFT));
    }
}

static void vsock_pause(void *opaque, bool paused)
{
    struct virtio_slot *slot = opaque;
    virtio_vsock_pause(slot->device, paused);
}

static void vsock_destroy_slot(void *opaque)
{
    struct virtio_slot *slot = opaque;
    /* The worker first: it drives the transport. The model goes with its backend. */
    vsock_uds_stop(slot->vsock);
    if (slot->vdev)
        virtio_destroy(slot->vdev);
    vsock_uds_destroy(slot->vsock);
}

static const struct vm_device_ops vsock_device_ops = {.kind = "vsock",
                                                      .pause = vsock_pause,
                                                      .stats = vsock_stats,
                                                      .save = slot_save,
                                                      .restore = slot_restore,
                                                      .destroy = vsock_destroy_slot};

/* Optional device number index (after the keyboard and the shares): vsock, balloon. */
static int create_optional(struct virtio_slot *slot, unsigned index,
                           const struct virtio_device_ops **ops, const struct vm_device_ops **dops,
                           char *id, size_t id_len, char *err, size_t err_len)
{
    const struct vm_config *cfg = slot->vm->cfg;
    if (cfg->vsock_cid && index-- == 0) {
        snprintf(id, id_len, "vsock0");
        *dops = &vsock_device_ops;
        *ops = virtio_vsock_ops();
        slot->vsock = vsock_uds_create(cfg->vsock_cid, cfg->vsock_uds, err, err_len);
        if (!slot->vsock)
            return -1;
        slot->device = vsock_uds_device(slot->vsock);
        return 0;
    }
    if (cfg->balloon.enabled && index-- == 0) {
        create_balloon(slot, ops, dops, id, id_len);
        return slot->device ? 0 : set_err(err, err_len, "out of memory for %s", id);
    }
    return set_err(err, err_len, "no optional virtio device %u", index);
}

/* The virtio console writes to duvisor's stdout. With --console hvc0 stdin
   is its own once the guest has written to it, and the SBI console's before:
   a kernel whose hvc0 is the SBI console never writes to the virtio one. */
static void vconsole_write(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;
    console_write(vm->console, buf, len);
}

bool vm_virtio_console_has_input(struct vm *vm)
{
    return vm->cfg->console_device == VM_CONSOLE_VIRTIO && vm->vconsole &&
           virtio_console_guest_wrote(vm->vconsole);
}

static size_t vconsole_read(void *opaque, uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;
    return vm_virtio_console_has_input(vm) ? console_read(vm->console, buf, len) : 0;
}

void vm_virtio_console_input_ready(struct vm *vm)
{
    if (vm->vconsole)
        virtio_console_input_ready(vm->vconsole);
}

void vm_virtio_console_resize(struct vm *vm, unsigned cols, unsigned rows)
{
    if (vm->vconsole && vm->cfg->console_device == VM_CONSOLE_VIRTIO)
        virtio_console_resize(vm->vconsole, cols > UINT16_MAX ? UINT16_MAX : (uint16_t)cols,
                              rows > UINT16_MAX ? UINT16_MAX : (uint16_t)rows);
}

/* A NIC's backend: a TAP device, or the user-networking helper's socket;
   on a live upgrade, the fd the previous binary had open for it; in a jail,
   the one opened before it. */
static int create_net(struct virtio_slot *slot, unsigned index, const struct vm_nic *nic, char *err,
                      size_t err_len)
{
    const struct vm_held_files *held = slot->vm->cfg->held;
    int fd = slot->vm->restore ? slot->vm->restore->tap_fds[index] : held ? held->nics[index] : -1;
    if (nic->kind == VM_NET_USER) {
        int spawned = fd < 0 ? net_user_spawn("/proc/self/exe", nic->options, err, err_len) : -1;
        if (fd >= 0 || spawned >= 0)
            slot->tap = net_tap_adopt_socket(fd >= 0 ? fd : spawned, "user", err, err_len);
        if (spawned >= 0)
            close(spawned); /* the backend holds a duplicate */
    } else {
        slot->tap = net_tap_adopt(fd, nic->options, err, err_len);
    }
    if (!slot->tap)
        return -1;
    slot->backend = net_tap_backend(slot->tap);
    slot->device = virtio_net_create(nic->mac, &slot->backend);
    if (!slot->device)
        return set_err(err, err_len, "out of memory for NIC '%s'", nic->id);
    net_tap_attach(slot->tap, slot->device);
    return 0;
}

/* Make slot `index`'s device model; fills *ops, *dops and id. */
static int create_model(struct virtio_slot *slot, unsigned index,
                        const struct virtio_device_ops **ops, const struct vm_device_ops **dops,
                        char *id, size_t id_len, char *err, size_t err_len)
{
    const struct vm_config *cfg = slot->vm->cfg;
    if (index < cfg->ndisks) {
        const struct vm_disk *disk = &cfg->disks[index];
        snprintf(id, id_len, "%s", disk->id);
        *dops = &blk_device_ops;
        const struct vm_held_files *held = cfg->held;
        int fd = slot->vm->restore ? slot->vm->restore->disk_fds[index]
                 : held            ? held->disks[index]
                                   : -1;
        slot->device = virtio_blk_adopt(fd, disk->path, disk->readonly, err, err_len);
        if (!slot->device)
            return -1;
        *ops = virtio_blk_ops(slot->device);
        return 0;
    }
    index -= cfg->ndisks;
    if (index < cfg->nnics) {
        snprintf(id, id_len, "%s", cfg->nics[index].id);
        *dops = &net_device_ops;
        *ops = virtio_net_ops();
        return create_net(slot, index, &cfg->nics[index], err, err_len);
    }
    index -= cfg->nnics;
    if (index == 0) {
        snprintf(id, id_len, "rng0");
        *dops = &rng_device_ops;
        *ops = virtio_rng_ops();
        slot->device = virtio_rng_create();
    } else if (index == 1) {
        const struct virtio_console_backend backend = {
            .write = vconsole_write, .read = vconsole_read, .opaque = slot->vm};
        snprintf(id, id_len, "hvc0");
        *dops = &console_device_ops;
        *ops = cfg->console_device == VM_CONSOLE_VIRTIO ? virtio_console_sized_ops()
                                                        : virtio_console_ops();
        slot->device = virtio_console_create(&backend);
        slot->vm->vconsole = slot->device;
    } else if (index == 2) {
        snprintf(id, id_len, "keyboard0");
        *dops = &input_device_ops;
        *ops = virtio_input_ops();
        slot->device = virtio_input_create("duvisor keyboard");
        slot->vm->keyboard = slot->device;
    } else if (index - FIXED_DEVICES < cfg->nshares) {
        const struct vm_share *share = &cfg->shares[index - FIXED_DEVICES];
        snprintf(id, id_len, "fs%u", index - FIXED_DEVICES);
        *dops = &fs_device_ops;
        *ops = virtio_fs_ops();
        return create_fs(slot, share, err, err_len);
    } else {
        return create_optional(slot, index - FIXED_DEVICES - cfg->nshares, ops, dops, id, id_len,
                               err, err_len);
    }
    return slot->device ? 0 : set_err(err, err_len, "out of memory for %s", id);
}

static void bind_model(struct virtio_slot *slot, const struct vm_device_ops *dops,
                       const struct virtio_memory *mem)
{
    if (dops == &blk_device_ops)
        virtio_blk_bind(slot->device, slot->vdev);
    else if (dops == &net_device_ops)
        virtio_net_bind(slot->device, slot->vdev);
    else if (dops == &rng_device_ops)
        virtio_rng_bind(slot->device, slot->vdev);
    else if (dops == &console_device_ops)
        virtio_console_bind(slot->device, slot->vdev);
    else if (dops == &fs_device_ops)
        virtio_fs_bind(slot->device, slot->vdev);
    else if (dops == &vsock_device_ops)
        virtio_vsock_bind(slot->device, slot->vdev);
    else if (dops == &balloon_device_ops)
        virtio_balloon_bind(slot->device, slot->vdev, mem);
    else
        virtio_input_bind(slot->device, slot->vdev);
}

/* Free what a slot that failed half-way holds (its registry entry does not exist yet). */
static void discard_slot(struct virtio_slot *slot, const struct vm_device_ops *dops)
{
    if (slot->device && dops)
        dops->destroy(slot);
    else if (slot->vdev)
        virtio_destroy(slot->vdev);
}

static int create_slot(struct vm *vm, struct virtio_slot *slot, unsigned index, char *err,
                       size_t err_len)
{
    slot->vm = vm;
    slot->irq = platform_virtio_irq(index);
    const struct virtio_device_ops *ops = NULL;
    const struct vm_device_ops *dops = NULL;
    struct vm_device dev = {
        .mmio_base = PLATFORM_VIRTIO_BASE + index * PLATFORM_VIRTIO_STRIDE,
        .mmio_size = PLATFORM_VIRTIO_STRIDE,
        .irq = slot->irq,
        .dt_name = "virtio_mmio",
        .dt_compatible = "virtio,mmio",
        .dt_size = PLATFORM_VIRTIO_STRIDE,
    };
    err[0] = '\0';
    if (create_model(slot, index, &ops, &dops, dev.id, sizeof(dev.id), err, err_len)) {
        if (slot->device)
            discard_slot(slot, dops);
        else if (slot->tap) /* a NIC whose backend came up but not its device */
            net_tap_destroy(slot->tap);
        return -1;
    }
    const struct virtio_memory mem = {vm->ram, PLATFORM_RAM_BASE, vm->ram_size, guest_ram_written,
                                      vm};
    slot->vdev = virtio_create(ops, slot->device, &mem, slot_irq, slot);
    if (!slot->vdev) {
        discard_slot(slot, dops);
        return set_err(err, err_len, "cannot create the virtio transport of %s", dev.id);
    }
    bind_model(slot, dops, &mem);
    dev.ops = dops;
    dev.opaque = slot;
    const struct mmio_region region = {
        .base = dev.mmio_base,
        .size = dev.mmio_size,
        .name = "virtio",
        .read = slot_read,
        .write = slot_write,
        .opaque = slot,
    };
    if (vm_device_add(&vm->devices, &dev)) {
        discard_slot(slot, dops);
        return set_err(err, err_len, "too many devices");
    }
    if (mmio_add(&vm->bus, &region))
        return set_err(err, err_len, "cannot place virtio device %s", dev.id);
    return 0;
}

int vm_virtio_create(struct vm *vm, char *err, size_t err_len)
{
    unsigned count = vm_virtio_count(vm);
    if (count > PLATFORM_VIRTIO_SLOTS)
        return set_err(err, err_len, "%u virtio devices, the platform has %u slots", count,
                       PLATFORM_VIRTIO_SLOTS);
    vm->virtio = calloc(count, sizeof(*vm->virtio));
    if (!vm->virtio)
        return set_err(err, err_len, "out of memory");
    vm->nvirtio = count;
    for (unsigned i = 0; i < count; i++)
        if (create_slot(vm, &vm->virtio[i], i, err, err_len))
            return -1;
    return 0;
}

void vm_virtio_free(struct vm *vm)
{
    free(vm->virtio);
    vm->virtio = NULL;
    vm->nvirtio = 0;
}

void vm_virtio_open_fds(struct vm *vm, int disk_fds[], int tap_fds[])
{
    for (unsigned i = 0; i < VM_MAX_DISKS; i++)
        disk_fds[i] = i < vm->cfg->ndisks ? virtio_blk_fd(vm->virtio[i].device) : -1;
    for (unsigned i = 0; i < VM_MAX_NICS; i++) {
        const struct virtio_slot *slot = &vm->virtio[vm->cfg->ndisks + i];
        tap_fds[i] = i < vm->cfg->nnics && slot->tap ? net_tap_fd(slot->tap) : -1;
    }
}

struct virtio_blk *vm_virtio_disk(struct vm *vm, const char *id)
{
    struct vm_device *d = vm_device_find(&vm->devices, id);
    if (!d || d->ops != &blk_device_ops)
        return NULL;
    return ((struct virtio_slot *)d->opaque)->device;
}
