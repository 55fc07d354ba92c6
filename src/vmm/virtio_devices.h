/* The VM's virtio-mmio devices: disks, NICs, entropy, console. */
#ifndef DUVISOR_VMM_VIRTIO_DEVICES_H
#define DUVISOR_VMM_VIRTIO_DEVICES_H

#include <stddef.h>

struct vm;

/* QEMU virt: slot i at 0x10001000 + i * 0x1000 on IRQ 1 + i. */
#define VM_VIRTIO_BASE   0x10001000ull
#define VM_VIRTIO_STRIDE 0x1000ull
#define VM_VIRTIO_IRQ    1u
#define VM_VIRTIO_SLOTS  8u

/* How many slots the configuration uses (for the device tree). */
unsigned vm_virtio_count(const struct vm *vm);
/* Create every device and place it on the MMIO bus. 0, or -1 with a reason. */
int vm_virtio_create(struct vm *vm, char *err, size_t err_len);
void vm_virtio_destroy(struct vm *vm);

#endif
