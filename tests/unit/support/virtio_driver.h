/*
 * A minimal virtio-mmio driver for unit tests, as Linux's virtio_mmio +
 * virtio_ring drive a device: a fake guest RAM, the status/feature/queue
 * handshake, split-ring chains made available, kicks, and used entries read
 * back.  Every check it makes is a cmocka assertion, so a test using it fails
 * at the first thing the device does wrong.
 *
 * Geometry: RAM_SIZE bytes of guest RAM at RAM_BASE; queue i's rings at
 * RAM_BASE + i * QAREA (descriptors +0, avail +0x1000, used +0x2000), QNUM
 * entries each; buffers from drv_alloc() start at DATA_BASE.
 */
#ifndef TESTS_UNIT_SUPPORT_VIRTIO_DRIVER_H
#define TESTS_UNIT_SUPPORT_VIRTIO_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio.h"
#include "support/virtio_regs.h"

#define RAM_BASE       0x80000000ull
#define RAM_SIZE       (1u << 20)
#define QNUM           16u                  /* entries the driver uses per queue */
#define QAREA          0x4000u              /* per queue: desc +0, avail +0x1000, used +0x2000 */
#define DATA_BASE      (RAM_BASE + 0x10000) /* buffers from here on */
#define DRV_MAX_QUEUES 4u

struct drv_queue {
    uint64_t desc, avail, used;
    uint16_t avail_idx, used_seen, next_desc;
};

struct drv {
    uint8_t *ram; /* a shared mapping of memfd, as the VM's RAM is */
    int memfd;
    struct virtio_memory mem;
    struct virtio_device *dev;
    struct drv_queue q[DRV_MAX_QUEUES];
    unsigned nq;
    uint64_t data_next;
    atomic_uint irq_raises; /* rising interrupt edges seen */
    uint64_t accept;        /* device features drv_init accepts beside VERSION_1 (0: none) */
};

/* One buffer of a chain: device-writable if write. */
struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write;
};

/* Fake RAM (zeroed) and the transport around the device (ops, opaque); drv_free undoes it. */
void drv_create(struct drv *d, const struct virtio_device_ops *ops, void *opaque);
void drv_free(struct drv *d);

/* The host address of guest address gpa (asserted inside the fake RAM). */
uint8_t *drv_host(struct drv *d, uint64_t gpa);

/* A 4-byte register read or write at offset off of d's device (asserted accepted). */
uint32_t drv_rd(struct drv *d, uint64_t off);
void drv_wr(struct drv *d, uint64_t off, uint32_t v);

/* A buffer of len bytes in guest RAM, filled with fill. */
uint64_t drv_alloc(struct drv *d, uint32_t len, uint8_t fill);

/* Reset, ACKNOWLEDGE, DRIVER, features (VERSION_1 only), FEATURES_OK, fresh zeroed
   rings for every queue, and DRIVER_OK unless driver_ok is false. */
void drv_init(struct drv *d, uint32_t device_id, bool driver_ok);
void drv_driver_ok(struct drv *d);

/* Make a chain of n segments available on queue qi (no kick): its head. */
uint16_t drv_add(struct drv *d, unsigned qi, const struct seg *segs, unsigned n);
void drv_kick(struct drv *d, unsigned qi);

/* The device's used index of queue qi. */
uint16_t drv_used_idx(struct drv *d, unsigned qi);
/* The next used entry of queue qi, if there is one. */
bool drv_get_used(struct drv *d, unsigned qi, uint16_t *id, uint32_t *len);
/* Exactly one used entry on qi, for head, of length len. */
void expect_used(struct drv *d, unsigned qi, uint16_t head, uint32_t len);
/* No used entry pending on qi. */
void expect_no_used(struct drv *d, unsigned qi);

#endif
