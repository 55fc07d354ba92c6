/* SPDX-License-Identifier: MIT */
/*
 * virtio_rng.h - the entropy device (virtio 1.2, "Entropy Device", device
 * ID 4): Linux's virtio-rng driver feeds it to /dev/hwrng and the kernel's
 * pool.
 *
 * One queue (requestq), no feature bits, no config space. Each chain the
 * driver makes available is returned with its writable buffers filled, in
 * order, from the host's getrandom(2), and the used length says how many
 * bytes that is. At most VIRTIO_RNG_MAX_REQUEST bytes go into one chain,
 * so one kick costs the vCPU thread a bounded amount of work (the driver
 * simply asks again); readable buffers are ignored, so a chain without
 * writable ones comes back with length 0. getrandom() is called without
 * GRND_NONBLOCK: it only ever waits while the host's own pool is not yet
 * initialised, early in the host's boot. Should it fail (it does not on
 * Linux >= 3.17), the chain comes back with the bytes obtained so far.
 *
 * Wiring:
 *     struct virtio_rng *r = virtio_rng_create();
 *     struct virtio_device *d = virtio_create(virtio_rng_ops(), r, mem, irq, irq_opaque);
 *     virtio_rng_bind(r, d);       (before the guest can reach d)
 *     ...
 *     virtio_destroy(d); virtio_rng_destroy(r);
 *
 * Threads: the transport's callbacks may run on any vCPU thread; a mutex
 * serialises them, so once reset returns no request is in flight.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_RNG_H
#define DUVISOR_DEVICES_VIRTIO_RNG_H

#include "devices/virtio.h"

/* Most bytes written into one chain. */
#define VIRTIO_RNG_MAX_REQUEST (64u * 1024u)
/* Queue size offered (Linux keeps one request in flight). */
#define VIRTIO_RNG_QUEUE_SIZE  64u

struct virtio_rng;

/* NULL on no memory. */
struct virtio_rng *virtio_rng_create(void);
/* The transport callbacks; their opaque is the struct virtio_rng. */
const struct virtio_device_ops *virtio_rng_ops(void);
/* The transport instance r serves. Before the guest can reach it. */
void virtio_rng_bind(struct virtio_rng *r, struct virtio_device *vdev);
/* After the transport is destroyed (no callback may be running). NULL is fine. */
void virtio_rng_destroy(struct virtio_rng *r);

#endif /* DUVISOR_DEVICES_VIRTIO_RNG_H */
