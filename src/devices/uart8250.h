/* SPDX-License-Identifier: MIT */
/*
 * uart8250.h - the guest console: a 16550A UART as Linux's 8250 driver
 * drives it (device tree `compatible = "ns16550a"`, reg-shift 0, 1-byte
 * registers).
 *
 *   off  DLAB=0 read / write    DLAB=1
 *   0    RBR / THR              DLL
 *   1    IER                    DLM
 *   2    IIR / FCR              (same)
 *   3    LCR   4 MCR   5 LSR   6 MSR   7 SCR
 *
 * A pure device model: no threads, no file descriptors. Transmit is
 * instantaneous (each THR write is handed to ops->tx at once), so LSR THRE
 * and TEMT are always set. Receive goes through a 16-byte FIFO (one byte
 * while FCR has the FIFO disabled); the host feeds it with
 * uart8250_receive() and never loses input, because the FIFO refuses what
 * does not fit and the caller retries later.
 *
 * Interrupts (IIR, highest priority first): received data available (0x04,
 * IER bit 0, as soon as one byte is there: no trigger level, no timeout),
 * THR empty (0x02, IER bit 1), modem status (0x00, IER bit 3, only ever
 * raised by MCR changes in loopback), else none (0x01). IIR[7:6] = 11 while
 * the FIFO is enabled. THR empty becomes pending when IER bit 1 goes 0->1
 * or THR is written with it set; reading IIR while it reports THR empty, or
 * clearing IER bit 1, withdraws it. No line status interrupt: there are no
 * receive errors. The output line is not gated by MCR OUT2 (a SoC UART).
 *
 * Loopback (MCR bit 4): THR bytes go to the receive FIFO instead of
 * ops->tx, MSR[7:4] reflect MCR OUT2/OUT1/DTR/RTS as DCD/RI/DSR/CTS, and
 * the host input is disconnected (uart8250_receive() takes nothing).
 * Outside loopback MSR reports CTS|DSR|DCD (0xB0).
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the state, and the callbacks run without it, so they may call back into
 * the UART. ops->irq calls are serialised and arrive in order: whichever
 * thread changes the line delivers the change, or, if another thread is in
 * the middle of delivering, leaves the change for that thread to deliver
 * before it returns. A level that lasts shorter than a concurrent delivery
 * may thus be skipped, which a level-triggered line tolerates. ops->tx runs
 * on the thread that wrote THR; two harts writing THR at once (Linux never
 * does) means two concurrent tx calls.
 */
#ifndef DUVISOR_DEVICES_UART8250_H
#define DUVISOR_DEVICES_UART8250_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UART8250_MMIO_SIZE 8u  /* registers 0..7 */
#define UART8250_FIFO_SIZE 16u /* receive FIFO depth */

struct uart8250;

struct uart8250_ops {
    /* Bytes the guest wrote to THR, for the console. NULL discards them. */
    void (*tx)(void *opaque, const uint8_t *buf, size_t len);
    /* Drive the interrupt line (a vPLIC source). Called only on a change; the line
       starts low. NULL if unconnected. */
    void (*irq)(void *opaque, bool level);
};

/* ops is copied; NULL means no callbacks. Registers start at their reset values
   (LSR 0x60, IIR 0x01, MSR 0xB0, everything else 0, FIFO disabled). NULL on no memory. */
struct uart8250 *uart8250_create(const struct uart8250_ops *ops, void *opaque);
/* No other call on u may be running or follow. NULL is fine. Does not call ops->irq. */
void uart8250_destroy(struct uart8250 *u);

/*
 * Guest MMIO at offset (0..7) from the base, size 1; the upper bits of a
 * written value are ignored. Any other offset or size reads 0, ignores the
 * write and returns false so the caller can log it; the state is untouched.
 */
bool uart8250_read(struct uart8250 *u, uint64_t offset, unsigned size, uint64_t *value);
bool uart8250_write(struct uart8250 *u, uint64_t offset, unsigned size, uint64_t value);

/* Host input: queues what fits in the receive FIFO (nothing in loopback) and
   returns how many bytes of buf it took; the caller retries the rest later. */
size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len);
/* How many bytes uart8250_receive() would take now (0 in loopback). */
size_t uart8250_rx_space(const struct uart8250 *u);

/* Snapshots: every register and the receive FIFO. restore checks what it
   reads (false with the reason in r) and then drives the interrupt line to
   what the restored registers say. */
struct state_writer;
struct state_reader;
void uart8250_save(struct uart8250 *u, struct state_writer *w);
bool uart8250_restore(struct uart8250 *u, struct state_reader *r);

#endif /* DUVISOR_DEVICES_UART8250_H */
