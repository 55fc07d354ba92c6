/* The VM's virtio-mmio devices: disks, NICs, entropy, console. */
#ifndef DUVISOR_VMM_VIRTIO_DEVICES_H
#define DUVISOR_VMM_VIRTIO_DEVICES_H

#include <stdbool.h>
#include <stddef.h>

struct vm;

/* Create every device, register it and place it on the MMIO bus. 0, or -1
   with a reason (the devices made so far are in the registry). */
int vm_virtio_create(struct vm *vm, char *err, size_t err_len);
/* Free the slots, once the registry has destroyed the devices. */
void vm_virtio_free(struct vm *vm);
/* The fds of the open disk images and TAP devices, by disk and NIC index
   (-1: none), for a live upgrade to hand over. Still the devices'. */
void vm_virtio_open_fds(struct vm *vm, int disk_fds[], int tap_fds[]);
/* --console hvc0 and the guest uses the virtio console: stdin is its, not
   the SBI console's. */
bool vm_virtio_console_has_input(struct vm *vm);
/* --console hvc0: the console has input for the virtio console (any thread). */
void vm_virtio_console_input_ready(struct vm *vm);
/* The terminal is cols x rows (any thread). */
void vm_virtio_console_resize(struct vm *vm, unsigned cols, unsigned rows);
/* The disk registered as id, or NULL. */
struct virtio_blk *vm_virtio_disk(struct vm *vm, const char *id);

#endif
