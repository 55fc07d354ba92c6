/*
 * The virtio-mmio register layout (virtio 1.x, section 4.2.2) and asserted
 * 4-byte register accesses, for unit tests that drive a device as a guest does.
 */
#ifndef TESTS_UNIT_SUPPORT_VIRTIO_REGS_H
#define TESTS_UNIT_SUPPORT_VIRTIO_REGS_H

#include <stdint.h>

#include "devices/virtio.h"

enum {
    MMIO_MAGIC = 0x000,
    MMIO_VERSION = 0x004,
    MMIO_DEVICE_ID = 0x008,
    MMIO_DEVICE_FEATURES = 0x010,
    MMIO_DEVICE_FEATURES_SEL = 0x014,
    MMIO_DRIVER_FEATURES = 0x020,
    MMIO_DRIVER_FEATURES_SEL = 0x024,
    MMIO_QUEUE_SEL = 0x030,
    MMIO_QUEUE_NUM_MAX = 0x034,
    MMIO_QUEUE_NUM = 0x038,
    MMIO_QUEUE_READY = 0x044,
    MMIO_QUEUE_NOTIFY = 0x050,
    MMIO_INTERRUPT_STATUS = 0x060,
    MMIO_INTERRUPT_ACK = 0x064,
    MMIO_STATUS = 0x070,
    MMIO_QUEUE_DESC_LOW = 0x080,
    MMIO_QUEUE_DESC_HIGH = 0x084,
    MMIO_QUEUE_AVAIL_LOW = 0x090,
    MMIO_QUEUE_AVAIL_HIGH = 0x094,
    MMIO_QUEUE_USED_LOW = 0x0a0,
    MMIO_QUEUE_USED_HIGH = 0x0a4,
    MMIO_CONFIG = 0x100,
};

#define DESC_F_NEXT  1u
#define DESC_F_WRITE 2u

/* A 4-byte register read or write at offset off of dev (asserted accepted). */
uint32_t mmio_rd(struct virtio_device *dev, uint64_t off);
void mmio_wr(struct virtio_device *dev, uint64_t off, uint32_t v);

#endif
