/* SPDX-License-Identifier: MIT */
/*
 * virtio_input.h - the input device (virtio 1.2, "Input Device", device
 * ID 18) as a keyboard, which Linux's virtio_input driver registers as an
 * evdev keyboard; the VT keyboard handler then sees its keys like any
 * other. Its purpose is virtio_input_send_ctrl_alt_del(): the key chord
 * that Linux's keyboard handler turns into ctrl_alt_del(), which signals
 * init (Firecracker's SendCtrlAltDel action).
 *
 * No feature bits. Config space (struct virtio_input_config, 136 bytes,
 * little endian): select (offset 0) and subsel (1) are the driver's to
 * write; size (2), reserved (3..7) and u (8..135) are read-only, and writes
 * there are ignored. What size and u read follows select and subsel:
 *     ID_NAME    (0x01, subsel 0)  the name given to virtio_input_create()
 *     ID_SERIAL  (0x02, subsel 0)  VIRTIO_INPUT_SERIAL
 *     ID_DEVIDS  (0x03, subsel 0)  bustype BUS_VIRTUAL, VIRTIO_INPUT_VENDOR,
 *                                  VIRTIO_INPUT_PRODUCT, VIRTIO_INPUT_VERSION
 *     PROP_BITS  (0x10, subsel 0)  size 0 (no input properties)
 *     EV_BITS    (0x11, EV_KEY)    bitmap of keycodes 1..VIRTIO_INPUT_KEY_MAX
 *                                  (a full keyboard), size 32
 * and size 0 with u all zero for anything else: other subsels, other event
 * types (no EV_REP, so the guest does no autorepeat; no EV_LED), ABS_INFO,
 * UNSET and unknown selects. Strings are not NUL-terminated: size is their
 * length. A reset sets select and subsel back to 0.
 *
 * Queues: 0 eventq (device -> driver), 1 statusq (driver -> device).
 *
 * Events (struct virtio_input_event: le16 type, le16 code, le32 value) go
 *   first into a bounded pending ring of VIRTIO_INPUT_PENDING_MAX events,
 *   and from there one event per eventq chain the driver made available,
 *   in order: at once when a send is called and the driver has buffers,
 *   otherwise on the next eventq kick or on activation. Buffers are popped
 *   only while events are pending. A chain with fewer than 8 writable bytes
 *   (the event may span several writable buffers; readable ones are
 *   skipped) comes back with length 0, and its event stays pending for the
 *   next chain. A send that does not fit in the ring as a whole is refused
 *   (-1) and all its events counted as dropped, so a key is never left
 *   pressed by half a sequence.
 *
 * Status: each statusq chain (LED and similar updates from the driver) is
 *   counted, its contents ignored, and returned with length 0.
 *
 * Activation and reset: events are delivered only between DRIVER_OK and a
 *   reset; events sent before DRIVER_OK stay pending and are delivered
 *   once the driver is running. A reset drops the device's queue state only
 *   (no chain is held across calls, so there is nothing to drop) and KEEPS
 *   the pending events: Linux resets the device at every probe, so clearing
 *   them would lose a Ctrl+Alt+Del sent while the guest boots. The cost: the
 *   tail of a sequence cut by a reset reaches the next driver (a release of
 *   a key it never saw pressed, which Linux's input core ignores), and a
 *   sequence pending when the guest reboots reaches the rebooted guest.
 *
 * Wiring:
 *     struct virtio_input *in = virtio_input_create("duvisor keyboard");
 *     struct virtio_device *d = virtio_create(virtio_input_ops(), in, mem, irq, irq_opaque);
 *     virtio_input_bind(in, d);      (before the guest can reach d)
 *     ...                            (any thread: virtio_input_send_ctrl_alt_del(in))
 *     virtio_destroy(d); virtio_input_destroy(in), once no send can be called.
 *
 * Threads: the transport's callbacks run on vCPU threads and the send and
 * stats calls on any thread (the API thread). One mutex serialises them
 * all, delivery included, so events reach the guest in the order they were
 * sent, and once reset returns the device no longer touches the queues.
 * Delivery pushes with the mutex held, so the interrupt callback runs with
 * it held: it must not call back into this device.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_INPUT_H
#define DUVISOR_DEVICES_VIRTIO_INPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "devices/virtio.h"

#define VIRTIO_ID_INPUT 18

/* Queues. */
#define VIRTIO_INPUT_EVENTQ     0u
#define VIRTIO_INPUT_STATUSQ    1u
/* Queue size offered (Linux posts 64 event buffers). */
#define VIRTIO_INPUT_QUEUE_SIZE 64u

/* Config space layout. */
#define VIRTIO_INPUT_CFG_SELECT  0u
#define VIRTIO_INPUT_CFG_SUBSEL  1u
#define VIRTIO_INPUT_CFG_SIZE    2u
#define VIRTIO_INPUT_CFG_U       8u   /* the union */
#define VIRTIO_INPUT_CFG_U_SIZE  128u /* its size */
#define VIRTIO_INPUT_CONFIG_SIZE (VIRTIO_INPUT_CFG_U + VIRTIO_INPUT_CFG_U_SIZE)

/* Config selects (enum virtio_input_config_select). */
enum {
    VIRTIO_INPUT_CFG_UNSET = 0x00,
    VIRTIO_INPUT_CFG_ID_NAME = 0x01,
    VIRTIO_INPUT_CFG_ID_SERIAL = 0x02,
    VIRTIO_INPUT_CFG_ID_DEVIDS = 0x03,
    VIRTIO_INPUT_CFG_PROP_BITS = 0x10,
    VIRTIO_INPUT_CFG_EV_BITS = 0x11,
    VIRTIO_INPUT_CFG_ABS_INFO = 0x12,
};

/* The evdev codes this device uses (Linux's input-event-codes.h values),
   prefixed so they never clash with <linux/input.h>. */
enum {
    VIRTIO_INPUT_EV_SYN = 0x00,
    VIRTIO_INPUT_EV_KEY = 0x01,
    VIRTIO_INPUT_EV_REP = 0x14,
    VIRTIO_INPUT_SYN_REPORT = 0,
    VIRTIO_INPUT_KEY_LEFTCTRL = 29,
    VIRTIO_INPUT_KEY_LEFTALT = 56,
    VIRTIO_INPUT_KEY_DELETE = 111,
    VIRTIO_INPUT_BUS_VIRTUAL = 0x06,
};

/* Keycodes offered and accepted: 1..VIRTIO_INPUT_KEY_MAX. */
#define VIRTIO_INPUT_KEY_MAX 255u

/* What ID_SERIAL and ID_DEVIDS report. */
#define VIRTIO_INPUT_SERIAL  "duvisor-0"
#define VIRTIO_INPUT_VENDOR  0x4455u /* "DU" */
#define VIRTIO_INPUT_PRODUCT 0x0001u /* keyboard */
#define VIRTIO_INPUT_VERSION 0x0001u

/* Name used when virtio_input_create() is given NULL. */
#define VIRTIO_INPUT_DEFAULT_NAME "duvisor keyboard"

/* Events held for the guest at most (a Ctrl+Alt+Del is 12). */
#define VIRTIO_INPUT_PENDING_MAX 128u

/* Bytes of one struct virtio_input_event. */
#define VIRTIO_INPUT_EVENT_SIZE 8u

struct virtio_input;

struct virtio_input_stats {
    uint64_t events_sent;    /* events written into eventq buffers */
    uint64_t events_dropped; /* events refused: the pending ring was full */
    uint64_t status_events;  /* statusq chains taken from the driver */
    uint64_t short_buffers;  /* eventq chains returned empty: < 8 writable bytes */
    uint64_t events_pending; /* events in the pending ring now */
};

/* name: what ID_NAME reports (at most 128 bytes are kept), NULL for
   VIRTIO_INPUT_DEFAULT_NAME. NULL on no memory. */
struct virtio_input *virtio_input_create(const char *name);
/* The transport callbacks; their opaque is the struct virtio_input. */
const struct virtio_device_ops *virtio_input_ops(void);
/* The transport instance in serves. Before the guest can reach it. */
void virtio_input_bind(struct virtio_input *in, struct virtio_device *vdev);
/* After the transport is destroyed (no callback may be running) and once no
   thread can call a send. NULL is fine. */
void virtio_input_destroy(struct virtio_input *in);

/* Queue a key press (pressed) or release of keycode code (1..KEY_MAX),
   followed by a SYN_REPORT, and deliver what the driver has buffers for.
   0 if queued; -1 for a code out of range (nothing counted) or if the two
   events do not fit in the pending ring (both counted as dropped). */
int virtio_input_send_key(struct virtio_input *in, unsigned code, bool pressed);
/* Queue press LEFTCTRL, press LEFTALT, press DELETE, release DELETE,
   release LEFTALT, release LEFTCTRL, each followed by a SYN_REPORT (12
   events), as one unit: 0 if queued, -1 (all 12 counted as dropped) if they
   do not all fit in the pending ring. */
int virtio_input_send_ctrl_alt_del(struct virtio_input *in);

void virtio_input_get_stats(struct virtio_input *in, struct virtio_input_stats *out);

#endif /* DUVISOR_DEVICES_VIRTIO_INPUT_H */
