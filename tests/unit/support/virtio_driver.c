/* The unit tests' minimal virtio-mmio driver: see virtio_driver.h. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "support/virtio_driver.h"

uint8_t *drv_host(struct drv *d, uint64_t gpa)
{
    assert_true(gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE);
    return d->ram + (gpa - RAM_BASE);
}

static void put16(struct drv *d, uint64_t gpa, uint16_t v)
{
    uint8_t *p = drv_host(d, gpa);
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(struct drv *d, uint64_t gpa, uint32_t v)
{
    put16(d, gpa, (uint16_t)v);
    put16(d, gpa + 2, (uint16_t)(v >> 16));
}

static void put64(struct drv *d, uint64_t gpa, uint64_t v)
{
    put32(d, gpa, (uint32_t)v);
    put32(d, gpa + 4, (uint32_t)(v >> 32));
}

static uint16_t get16(struct drv *d, uint64_t gpa)
{
    uint16_t v;
    memcpy(&v, drv_host(d, gpa), 2); /* the host is little endian, as the tests' hosts are */
    return v;
}

static uint32_t get32(struct drv *d, uint64_t gpa)
{
    return get16(d, gpa) | (uint32_t)get16(d, gpa + 2) << 16;
}

uint32_t mmio_rd(struct virtio_device *dev, uint64_t off)
{
    uint64_t v = 0;
    assert_true(virtio_mmio_read(dev, off, 4, &v));
    return (uint32_t)v;
}

void mmio_wr(struct virtio_device *dev, uint64_t off, uint32_t v)
{
    assert_true(virtio_mmio_write(dev, off, 4, v));
}

uint32_t drv_rd(struct drv *d, uint64_t off)
{
    return mmio_rd(d->dev, off);
}

void drv_wr(struct drv *d, uint64_t off, uint32_t v)
{
    mmio_wr(d->dev, off, v);
}

static void on_irq(void *opaque, bool level)
{
    struct drv *d = opaque;
    if (level)
        atomic_fetch_add(&d->irq_raises, 1);
}

/* A buffer of len bytes in guest RAM, filled with fill. */
uint64_t drv_alloc(struct drv *d, uint32_t len, uint8_t fill)
{
    uint64_t gpa = d->data_next;
    assert_true(gpa + len <= RAM_BASE + RAM_SIZE);
    memset(drv_host(d, gpa), fill, len);
    d->data_next = (gpa + len + 15) & ~15ull;
    return gpa;
}

void drv_create(struct drv *d, const struct virtio_device_ops *ops, void *opaque)
{
    memset(d, 0, sizeof(*d));
    d->memfd = memfd_create("drv-ram", MFD_CLOEXEC);
    assert_true(d->memfd >= 0 && ftruncate(d->memfd, RAM_SIZE) == 0);
    d->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, d->memfd, 0);
    assert_true(d->ram != MAP_FAILED);
    d->mem = (struct virtio_memory){.host = d->ram, .gpa_base = RAM_BASE, .size = RAM_SIZE};
    d->dev = virtio_create(ops, opaque, &d->mem, on_irq, d);
    assert_non_null(d->dev);
    d->nq = ops->num_queues;
    assert_true(d->nq <= DRV_MAX_QUEUES);
    d->data_next = DATA_BASE;
}

void drv_free(struct drv *d)
{
    virtio_destroy(d->dev);
    munmap(d->ram, RAM_SIZE);
    close(d->memfd);
}

void drv_init(struct drv *d, uint32_t device_id, bool driver_ok)
{
    uint64_t features;

    assert_int_equal(drv_rd(d, MMIO_MAGIC), 0x74726976);
    assert_int_equal(drv_rd(d, MMIO_VERSION), 2);
    assert_int_equal(drv_rd(d, MMIO_DEVICE_ID), device_id);
    drv_wr(d, MMIO_STATUS, 0);
    assert_int_equal(drv_rd(d, MMIO_STATUS), 0);
    drv_wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    drv_wr(d, MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
    drv_wr(d, MMIO_DEVICE_FEATURES_SEL, 1);
    features = (uint64_t)drv_rd(d, MMIO_DEVICE_FEATURES) << 32;
    drv_wr(d, MMIO_DEVICE_FEATURES_SEL, 0);
    features |= drv_rd(d, MMIO_DEVICE_FEATURES);
    assert_true(features & VIRTIO_F_VERSION_1);
    drv_wr(d, MMIO_DRIVER_FEATURES_SEL, 1);
    drv_wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(VIRTIO_F_VERSION_1 >> 32));
    drv_wr(d, MMIO_DRIVER_FEATURES_SEL, 0);
    drv_wr(d, MMIO_DRIVER_FEATURES, (uint32_t)(features & d->accept));
    drv_wr(d, MMIO_STATUS,
           VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER | VIRTIO_STATUS_FEATURES_OK);
    assert_true(drv_rd(d, MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK);

    for (unsigned i = 0; i < d->nq; i++) {
        struct drv_queue *q = &d->q[i];
        uint64_t base = RAM_BASE + i * QAREA;

        memset(drv_host(d, base), 0, QAREA);
        *q = (struct drv_queue){.desc = base, .avail = base + 0x1000, .used = base + 0x2000};
        drv_wr(d, MMIO_QUEUE_SEL, i);
        assert_int_equal(drv_rd(d, MMIO_QUEUE_READY), 0);
        assert_true(drv_rd(d, MMIO_QUEUE_NUM_MAX) >= QNUM);
        drv_wr(d, MMIO_QUEUE_NUM, QNUM);
        drv_wr(d, MMIO_QUEUE_DESC_LOW, (uint32_t)q->desc);
        drv_wr(d, MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->desc >> 32));
        drv_wr(d, MMIO_QUEUE_AVAIL_LOW, (uint32_t)q->avail);
        drv_wr(d, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(q->avail >> 32));
        drv_wr(d, MMIO_QUEUE_USED_LOW, (uint32_t)q->used);
        drv_wr(d, MMIO_QUEUE_USED_HIGH, (uint32_t)(q->used >> 32));
        drv_wr(d, MMIO_QUEUE_READY, 1);
        assert_int_equal(drv_rd(d, MMIO_QUEUE_READY), 1);
    }
    if (driver_ok)
        drv_wr(d, MMIO_STATUS, drv_rd(d, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

void drv_driver_ok(struct drv *d)
{
    drv_wr(d, MMIO_STATUS, drv_rd(d, MMIO_STATUS) | VIRTIO_STATUS_DRIVER_OK);
}

/* Make a chain of n segments available on queue qi (no kick): its head. */
uint16_t drv_add(struct drv *d, unsigned qi, const struct seg *segs, unsigned n)
{
    struct drv_queue *q = &d->q[qi];
    uint16_t head = q->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % QNUM);
        uint64_t e = q->desc + 16ull * idx;
        uint16_t flags = segs[i].write ? DESC_F_WRITE : 0;

        if (i + 1 < n)
            flags |= DESC_F_NEXT;
        put64(d, e, segs[i].gpa);
        put32(d, e + 8, segs[i].len);
        put16(d, e + 12, flags);
        put16(d, e + 14, (uint16_t)((idx + 1) % QNUM));
    }
    q->next_desc = (uint16_t)((head + n) % QNUM);
    put16(d, q->avail + 4 + 2 * (q->avail_idx % QNUM), head);
    q->avail_idx++;
    /* the ring is shared with the device, which may be popping on another thread */
    __atomic_store_n((uint16_t *)drv_host(d, q->avail + 2), q->avail_idx, __ATOMIC_RELEASE);
    return head;
}

void drv_kick(struct drv *d, unsigned qi)
{
    drv_wr(d, MMIO_QUEUE_NOTIFY, qi);
}

uint16_t drv_used_idx(struct drv *d, unsigned qi)
{
    uint16_t idx = __atomic_load_n((uint16_t *)drv_host(d, d->q[qi].used + 2), __ATOMIC_ACQUIRE);
    return idx;
}

/* The next used entry of queue qi, if there is one. */
bool drv_get_used(struct drv *d, unsigned qi, uint16_t *id, uint32_t *len)
{
    struct drv_queue *q = &d->q[qi];
    uint64_t e;

    if (drv_used_idx(d, qi) == q->used_seen)
        return false;
    e = q->used + 4 + 8ull * (q->used_seen % QNUM);
    *id = (uint16_t)get32(d, e);
    *len = get32(d, e + 4);
    q->used_seen++;
    return true;
}

/* Exactly one used entry on qi, for head, of length len. */
void expect_used(struct drv *d, unsigned qi, uint16_t head, uint32_t len)
{
    uint16_t id;
    uint32_t l;

    assert_true(drv_get_used(d, qi, &id, &l));
    assert_int_equal(id, head);
    assert_int_equal(l, len);
}

void expect_no_used(struct drv *d, unsigned qi)
{
    assert_int_equal(drv_used_idx(d, qi), d->q[qi].used_seen);
}
