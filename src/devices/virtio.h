/*
 * virtio over MMIO (virtio spec 1.2, "Virtio Over MMIO", version 2 only) with
 * split virtqueues. One transport (virtio_mmio.c + virtqueue.c) serves every
 * device (virtio_blk.c, virtio_net.c, virtio_console.c, virtio_rng.c).
 *
 * Everything the guest writes into a queue is hostile: addresses and lengths
 * are checked against guest RAM, loops and over-long chains are refused, and
 * a broken queue sets DEVICE_NEEDS_RESET instead of touching host memory.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_H
#define DUVISOR_DEVICES_VIRTIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct state_writer;
struct state_reader;

#define VIRTIO_MMIO_SIZE 0x200u

/* What the transport's identification registers read. */
#define VIRTIO_MMIO_MAGIC     0x74726976u /* "virt" */
#define VIRTIO_MMIO_VERSION   2u          /* modern only */
#define VIRTIO_MMIO_VENDOR_ID 0x49565544u /* "DUVI" as little-endian bytes */

/* InterruptStatus / InterruptACK bits. */
#define VIRTIO_MMIO_INT_VRING  1u /* a used buffer was returned */
#define VIRTIO_MMIO_INT_CONFIG 2u /* config changed, or NEEDS_RESET was set */

/* Limits virtio_create checks ops against. */
#define VIRTIO_MAX_QUEUES     64u
#define VIRTIO_QUEUE_SIZE_MAX 1024u

/* Device IDs. */
enum { VIRTIO_ID_NET = 1, VIRTIO_ID_BLOCK = 2, VIRTIO_ID_CONSOLE = 3, VIRTIO_ID_RNG = 4 };

/* Transport feature bits (the transport offers these itself). */
#define VIRTIO_F_INDIRECT_DESC (1ull << 28)
#define VIRTIO_F_EVENT_IDX     (1ull << 29)
#define VIRTIO_F_VERSION_1     (1ull << 32)

/* Device status bits. */
enum {
    VIRTIO_STATUS_ACKNOWLEDGE = 1,
    VIRTIO_STATUS_DRIVER = 2,
    VIRTIO_STATUS_DRIVER_OK = 4,
    VIRTIO_STATUS_FEATURES_OK = 8,
    VIRTIO_STATUS_NEEDS_RESET = 64,
    VIRTIO_STATUS_FAILED = 128,
};

/* Guest RAM as the device may see it: [gpa_base, gpa_base + size) at host. */
struct virtio_memory {
    uint8_t *host;
    uint64_t gpa_base, size;
    /* Told of every device write into guest RAM (the hart drops translated
       code made from those bytes); NULL when nobody needs to know. */
    void (*written)(void *opaque, const void *host, size_t len);
    void *written_opaque;
};

/* Devices wrote guest RAM at [host, host+len). */
static inline void virtio_memory_written(const struct virtio_memory *m, const void *host,
                                         size_t len)
{
    if (m->written && len)
        m->written(m->written_opaque, host, len);
}

/* Host pointer for [gpa, gpa+len) if it lies wholly in RAM, else NULL. */
static inline void *virtio_gpa(const struct virtio_memory *m, uint64_t gpa, uint64_t len)
{
    uint64_t off = gpa - m->gpa_base;
    if (gpa < m->gpa_base || off > m->size || len > m->size - off)
        return NULL;
    return m->host + off;
}

/* Longest descriptor chain accepted (the spec bounds it by the queue size). */
#define VIRTQ_MAX_SEGS 256u

/* One available chain, validated: readable buffers first, then writable ones. */
struct virtq_chain {
    uint16_t head;
    unsigned nout, nin; /* counts of out[] (device reads), in[] (device writes) */
    struct iovec out[VIRTQ_MAX_SEGS];
    struct iovec in[VIRTQ_MAX_SEGS];
    size_t out_len, in_len; /* total bytes of each */
};

struct virtio_device;

/* What a device provides to the transport. Callbacks run on the vCPU thread
   that accessed the transport, without the transport's lock held. */
struct virtio_device_ops {
    uint32_t device_id;
    uint64_t features; /* device-specific feature bits offered */
    unsigned num_queues;
    uint16_t queue_size_max; /* power of two, <= 1024 */
    uint32_t config_size;
    /* device config space, little endian, bounds already checked */
    void (*config_read)(void *opaque, uint32_t offset, void *buf, unsigned len);
    void (*config_write)(void *opaque, uint32_t offset, const void *buf, unsigned len);
    /* the driver set DRIVER_OK with these negotiated features */
    void (*activate)(void *opaque, uint64_t features);
    /* the driver kicked queue q */
    void (*notify)(void *opaque, unsigned q);
    /* the driver reset the device (status 0): drop in-flight work; after this
       returns the device must not touch the queues until activate again */
    void (*reset)(void *opaque);
    /* Snapshots: write / read back the device's own state (config fields it
       keeps, pending events), after the transport's. restore runs on a
       device just created from the same configuration, before activate;
       false (with the reason in the reader) refuses the snapshot. NULL:
       nothing beyond the transport's. */
    void (*save)(void *opaque, struct state_writer *w);
    bool (*restore)(void *opaque, struct state_reader *r);
};

/* The interrupt line (a vPLIC source): high while InterruptStatus != 0. Called
   on whichever thread changed it (a vCPU, or a device worker inside push),
   with no transport lock held, only on changes, in order. */
typedef void (*virtio_irq_fn)(void *opaque, bool level);

/* NULL if ops are unusable (no queues, more than VIRTIO_MAX_QUEUES, a
   queue_size_max that is not a power of two <= VIRTIO_QUEUE_SIZE_MAX, a config
   space past the window) or memory runs out. ops and mem are copied. */
struct virtio_device *virtio_create(const struct virtio_device_ops *ops, void *opaque,
                                    const struct virtio_memory *mem, virtio_irq_fn irq,
                                    void *irq_opaque);
void virtio_destroy(struct virtio_device *d);

/* Guest MMIO (offsets 0..VIRTIO_MMIO_SIZE); false for an access the register
   map does not allow (then the VM reports it). */
bool virtio_mmio_read(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t *value);
bool virtio_mmio_write(struct virtio_device *d, uint64_t offset, unsigned size, uint64_t value);

/* --- for devices; any thread, serialised per queue by the transport ------------------ */

/* Take the next available chain of queue q. False when the queue is empty,
   not ready, the driver has not set DRIVER_OK, or broken (then NEEDS_RESET is
   set and the guest is told, and every pop on the device fails until reset).
   Zero-length descriptors are skipped; a chain has at most VIRTQ_MAX_SEGS
   non-empty buffers in all, and each direction at most UINT32_MAX bytes. */
bool virtio_queue_pop(struct virtio_device *d, unsigned q, struct virtq_chain *chain);
/* Return a chain to the driver with `written` bytes written into its in[]
   buffers (clamped to in_len), and interrupt the guest if it wants one
   (EVENT_IDX aware). Ignored if the queue was reset since the pop. */
void virtio_queue_push(struct virtio_device *d, unsigned q, const struct virtq_chain *chain,
                       uint32_t written);
/* The device's config space changed (e.g. capacity): ConfigGeneration moves,
   and a config interrupt if the driver is running (DRIVER_OK). */
void virtio_config_changed(struct virtio_device *d);
/* Give back the chain popped last from queue q, unused (a device that holds a
   posted buffer while the VM is paused for a snapshot): the next pop returns
   it again. */
void virtio_queue_unpop(struct virtio_device *d, unsigned q);

/* --- for devices whose queues another process serves (vhost-user) ------------------ */

/* Queue q's rings as this process maps them, checked at QueueReady. */
struct virtio_queue_rings {
    unsigned num;
    void *desc, *avail, *used;
};
/* False when q is not ready (or does not exist). */
bool virtio_queue_rings(struct virtio_device *d, unsigned q, struct virtio_queue_rings *rings);
/* The driver kicked q: the chains it made available since are the backend's
   (to be answered should it go away). Before the kick is passed on. */
void virtio_queue_backend_avail(struct virtio_device *d, unsigned q);
/* The backend returned buffers on q and asked for an interrupt: the harts
   learn what it may have written (the writable buffers of the new used
   entries), then the guest gets the interrupt. */
void virtio_queue_backend_used(struct virtio_device *d, unsigned q);
/* The backend is gone: every chain it held on q goes back to the driver
   through answer (it fills the chain's writable buffers as it likes and
   says how many bytes it wrote), with an interrupt; from here on the device
   serves q itself with virtio_queue_pop / push. */
void virtio_queue_take_over(struct virtio_device *d, unsigned q,
                            uint32_t (*answer)(void *opaque, const struct virtq_chain *c),
                            void *opaque);

/*
 * Snapshots of the transport and, through ops->save/restore, the device:
 * status, features, selectors, interrupt status and every queue's setup and
 * ring indices. The device must be quiescent (VM paused). virtio_restore
 * checks everything against this device and guest memory (a queue outside
 * RAM, a size the device does not allow, features it never offered are
 * refused, with the reason in r), re-activates a running device and then
 * notifies every ready queue, so a request the guest posted before the
 * snapshot is served even if it will never kick again (EVENT_IDX).
 */
void virtio_save(struct virtio_device *d, struct state_writer *w);
bool virtio_restore(struct virtio_device *d, struct state_reader *r);
/* Copy helpers over a chain's buffers: bytes copied. */
size_t virtq_read_out(const struct virtq_chain *c, size_t offset, void *buf, size_t len);
size_t virtq_write_in(const struct virtq_chain *c, size_t offset, const void *buf, size_t len);

#endif
