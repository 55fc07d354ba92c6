/*
 * virtqueue.h - split virtqueues (virtio 1.2, 2.7), internal to the transport.
 *
 * This layer knows rings and guest RAM, nothing of registers, status or
 * interrupts: virtio_mmio.c owns a struct virtq per queue, holds its lock
 * around every call here, and turns "broken" answers into NEEDS_RESET.
 */
#ifndef DUVISOR_DEVICES_VIRTQUEUE_H
#define DUVISOR_DEVICES_VIRTQUEUE_H

#include "devices/virtio.h"

#include <pthread.h>

/* Ring flags (2.7.5, 2.7.6, 2.7.8). */
#define VIRTQ_DESC_F_NEXT          1u
#define VIRTQ_DESC_F_WRITE         2u
#define VIRTQ_DESC_F_INDIRECT      4u
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1u
#define VIRTQ_USED_F_NO_NOTIFY     1u

/* Bytes of each part of a split queue of num entries, event fields included. */
#define VIRTQ_DESC_BYTES(num)  (16ull * (num))
#define VIRTQ_AVAIL_BYTES(num) (6ull + 2ull * (num))
#define VIRTQ_USED_BYTES(num)  (6ull + 8ull * (num))

/* Alignment the spec requires of each part (2.7, table "Virtqueue Part Alignment"). */
#define VIRTQ_DESC_ALIGN  16u
#define VIRTQ_AVAIL_ALIGN 2u
#define VIRTQ_USED_ALIGN  4u

struct virtq {
    pthread_mutex_t lock; /* guards everything below once the queue exists */

    /* what the driver programmed through the registers */
    uint32_t num;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    bool ready;

    /* resolved at enable, valid while ready */
    uint8_t *desc, *avail, *used;
    bool event_idx;
    uint16_t last_avail; /* next avail ring entry the device will take */
    uint16_t used_idx;   /* next used ring entry the device will fill */

    /* With a backend in another process (vhost-user), which chains it holds:
       per head, avail entries seen less used entries seen (so a queue can be
       taken over if the backend goes away); the next entries to look at. */
    uint16_t fwd_avail, fwd_used;
    int16_t fwd_pending[VIRTIO_QUEUE_SIZE_MAX];
};

enum virtq_pop_result { VIRTQ_EMPTY, VIRTQ_POPPED, VIRTQ_BROKEN };

/* Back to the reset state, num = num_max (the value a fresh queue reports). */
void virtq_reset(struct virtq *q, uint16_t num_max);
/* QueueReady = 1: check num and the three rings against RAM, then go live.
   False (queue stays not ready) when the driver's setup is unusable. */
bool virtq_enable(struct virtq *q, const struct virtio_memory *mem, uint16_t num_max,
                  bool event_idx);
/* Take and validate the next chain. Caller holds q->lock and q->ready. */
enum virtq_pop_result virtq_pop(struct virtq *q, const struct virtio_memory *mem,
                                struct virtq_chain *chain);
/* Publish a used entry; true if the driver wants an interrupt for it.
   Caller holds q->lock and q->ready. */
bool virtq_push(struct virtq *q, uint16_t head, uint32_t written);

/* A backend in another process (vhost-user) serves the rings. Caller holds
   q->lock and q->ready; chain is scratch space. note_avail counts the avail
   entries since the last look as held by the backend; note_used counts the
   used entries since the last look as returned, and tells mem about their
   writable buffers (the backend wrote them). */
void virtq_note_avail(struct virtq *q);
void virtq_note_used(struct virtq *q, const struct virtio_memory *mem, struct virtq_chain *chain);
/* The backend is gone: every chain it held is passed to answer (which says
   how many bytes it wrote) and returned to the driver; from here on the
   device pops the ring itself. True if the driver wants an interrupt. */
bool virtq_take_over(struct virtq *q, const struct virtio_memory *mem, struct virtq_chain *chain,
                     uint32_t (*answer)(void *opaque, const struct virtq_chain *c), void *opaque);

/* 2.7.7.2 / 2.7.10: true if moving the index from old to new_idx passes event,
   i.e. event is in [old, new_idx) modulo 2^16. */
static inline bool vring_need_event(uint16_t event, uint16_t new_idx, uint16_t old)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

#endif
