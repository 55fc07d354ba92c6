/* SPDX-License-Identifier: MIT */
/*
 * virtio_console.h - the paravirtual console (virtio 1.2, "Console Device",
 * device ID 3) with one port and no VIRTIO_CONSOLE_F_MULTIPORT, which
 * Linux's virtio_console driver turns into /dev/hvc0.
 *
 * Queues: 0 receiveq (host -> guest), 1 transmitq (guest -> host). With
 * virtio_console_ops() no feature bits are offered (no F_SIZE, no
 * F_MULTIPORT, no F_EMERG_WRITE); virtio_console_sized_ops() offers F_SIZE
 * (the interactive console: the terminal's size, which Linux hands to the
 * hvc tty, so the guest's shell gets SIGWINCH). The 12-byte config space
 * reads cols, rows (set by virtio_console_resize, 0 before),
 * max_nr_ports 1, emerg_wr 0, and writes to it are ignored.
 *
 * The host side is a backend: where guest output goes and where guest input
 * comes from (the VMM's console, a pty, a socket). The backend is the input
 * buffer; the device buffers nothing itself:
 *
 * Transmit: on a kick of the transmitq every available chain is popped, its
 *   readable buffers go to backend->write in order, and it is returned with
 *   0 bytes written. Chains are written in the order the guest made them
 *   available, one at a time, even when several vCPUs kick at once; the
 *   kick returns only once backend->write has taken everything (Linux's
 *   hvc output spins until its buffer is used, so this is what it wants).
 *
 * Receive: input moves only into buffers the guest has posted, and only as
 *   much as they hold: the device pops a receiveq chain first and then asks
 *   backend->read for at most that chain's writable bytes, straight into the
 *   guest's buffers. A chain that got bytes is returned at once (a console
 *   delivers what it has; it does not wait to fill buffers). A chain for
 *   which the backend had nothing is held, unreturned and unfilled, until the
 *   next input: at most one chain is held, so no guest buffer is lost, and
 *   bytes the buffers cannot take stay in the backend, so no input is lost.
 *   The receive side runs on virtio_console_input_ready() (new input), on a
 *   kick of the receiveq (new buffers) and on activation (input that came
 *   before the driver was ready is delivered then). A chain with no
 *   writable buffer is returned empty. A reset drops the held chain: the
 *   guest has forgotten the queue.
 *
 * Wiring:
 *     struct virtio_console *c = virtio_console_create(&backend);
 *     struct virtio_device *d = virtio_create(virtio_console_ops(), c, mem, irq, irq_opaque);
 *     virtio_console_bind(c, d);   (before the guest can reach d)
 *     ...                          (input: call virtio_console_input_ready(c))
 *     virtio_console_destroy(c) after virtio_destroy(d), once input_ready can no
 *     longer be called.
 *
 * Threads: the transport's callbacks run on vCPU threads and
 * virtio_console_input_ready() on any thread. One mutex serialises the
 * receive side, another the transmit side, so a transmit blocked in
 * backend->write never holds up input. backend->read is called with the
 * receive mutex held and backend->write with the transmit one: neither may
 * call back into this device. A reset waits for both sides, so once it
 * returns the device no longer touches the queues.
 */
#ifndef DUVISOR_DEVICES_VIRTIO_CONSOLE_H
#define DUVISOR_DEVICES_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

#include "devices/virtio.h"

enum { VIRTIO_CONSOLE_RXQ = 0, VIRTIO_CONSOLE_TXQ = 1 };

#define VIRTIO_CONSOLE_F_SIZE (1ull << 0)

/* Queue size offered for both queues (Linux posts a page per receive buffer). */
#define VIRTIO_CONSOLE_QUEUE_SIZE  64u
/* Config space: le16 cols, le16 rows, le32 max_nr_ports, le32 emerg_wr. */
#define VIRTIO_CONSOLE_CONFIG_SIZE 12u

struct virtio_console_backend {
    /* Guest output, all of buf. NULL discards it. */
    void (*write)(void *opaque, const uint8_t *buf, size_t len);
    /* Host input: up to len bytes, oldest first, into buf; never blocks; 0 when
       none. Bytes it does not return stay its own. NULL: no input. */
    size_t (*read)(void *opaque, uint8_t *buf, size_t len);
    void *opaque;
};

struct virtio_console;

/* backend is copied; NULL means neither input nor output. NULL on no memory. */
struct virtio_console *virtio_console_create(const struct virtio_console_backend *backend);
/* The transport callbacks; their opaque is the struct virtio_console. */
const struct virtio_device_ops *virtio_console_ops(void);
/* The same with F_SIZE offered. */
const struct virtio_device_ops *virtio_console_sized_ops(void);
/* The guest has sent output through the device (kept in snapshots). */
bool virtio_console_guest_wrote(const struct virtio_console *c);
/* The host terminal is cols x rows now (any thread): config space says so and,
   if that is a change, the driver gets a config interrupt. */
void virtio_console_resize(struct virtio_console *c, uint16_t cols, uint16_t rows);
/* The transport instance c serves. Before the guest can reach it. */
void virtio_console_bind(struct virtio_console *c, struct virtio_device *vdev);
/* The backend has new input (any thread): move what the posted receive buffers
   take into them now; the rest waits for the next buffers. Harmless at any
   time, also before the driver is ready (then the input waits for it). */
void virtio_console_input_ready(struct virtio_console *c);
/* After the transport is destroyed and once input_ready can no longer be
   called. NULL is fine. */
void virtio_console_destroy(struct virtio_console *c);
/* The VM pauses (true) or resumes: while paused no input reaches the guest,
   and a posted receive buffer goes back to its ring. Any thread. */
void virtio_console_pause(struct virtio_console *c, bool paused);

#endif /* DUVISOR_DEVICES_VIRTIO_CONSOLE_H */
