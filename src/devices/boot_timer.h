/* SPDX-License-Identifier: MIT */
/*
 * boot_timer.h - the boot-timer: a tiny MMIO device through which the guest
 * says "I am up", so duvisor can time the guest's boot itself and print it
 * (`duvisor run --boot-timer`).
 *
 * Placement: one 4 KiB page, PLATFORM_BOOT_TIMER_BASE (0x1020_0000) in vmm/platform.h. In QEMU's
 * riscv virt map (which duvisor follows) that page is unassigned: the UART is
 * at 0x1000_0000, the virtio-mmio slots at 0x1000_1000..0x1000_8fff,
 * fw_cfg at 0x1010_0000 (0x18 bytes) and flash starts at 0x2000_0000. The
 * device tree does not describe the device, so Linux never maps or probes
 * it; only a deliberate /dev/mem access (busybox devmem in guest/init)
 * reaches it. QEMU has nothing there: a store to it raises an access fault,
 * so the guest init writes only when /proc/device-tree/model is "duvisor".
 *
 * Registers (little-endian; naturally aligned 4- or 8-byte accesses):
 *
 *   off   read                               write (32 or 64 bits)
 *   0x00  BOOT_TIMER_MAGIC ("DVBT")          BOOT_TIMER_SIGNAL_READY: the guest is
 *                                            ready; the first one is recorded
 *   0x04  BOOT_TIMER_VERSION                 ignored
 *   0x08  now: ns since the start instant    ignored
 *   0x10  ready: ns since the start instant  ignored
 *         of the first READY signal, 0 before
 *
 * Other offsets inside the page, and 1- or 2-byte or misaligned accesses,
 * read as 0 and ignore writes: a confused guest must not stop the VM. A
 * value other than READY written at 0x00 is ignored, so later signals can be
 * added. The handlers always return true.
 *
 * Times are host CLOCK_MONOTONIC. The start instant is whatever the caller
 * passes: boot_timer_process_start_ns() is taken by a constructor, before
 * main() but after the dynamic loader (about a millisecond after exec).
 *
 * Threads: the handlers may run on any vCPU thread at once; the state is
 * atomics only, and the report is written once, by the thread whose READY
 * signal won.
 */
#ifndef DUVISOR_DEVICES_BOOT_TIMER_H
#define DUVISOR_DEVICES_BOOT_TIMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/mmio.h"

#define BOOT_TIMER_SIZE         0x1000ull
#define BOOT_TIMER_MAGIC        0x54425644u /* "DVBT" in guest memory order */
#define BOOT_TIMER_VERSION      1u
#define BOOT_TIMER_SIGNAL_READY 1u

enum {
    BOOT_TIMER_REG_MAGIC = 0x00,
    BOOT_TIMER_REG_SIGNAL = 0x00,
    BOOT_TIMER_REG_VERSION = 0x04,
    BOOT_TIMER_REG_NOW = 0x08,
    BOOT_TIMER_REG_READY = 0x10,
};

/* Embedded by value in its owner (struct vm); no allocation, nothing to free. */
struct boot_timer {
    uint64_t start_ns;               /* CLOCK_MONOTONIC zero of every reported time */
    uint64_t built_ns;               /* when boot_timer_attach ran: the VM is built */
    _Atomic uint64_t first_entry_ns; /* boot_timer_first_entry(), 0 if never called */
    _Atomic uint64_t ready_ns;       /* first READY signal, 0 before */
    FILE *report;                    /* where the ready line goes; NULL: silent */
};

/* Host CLOCK_MONOTONIC in ns. */
uint64_t boot_timer_now_ns(void);
/* CLOCK_MONOTONIC when this process started running its constructors. */
uint64_t boot_timer_process_start_ns(void);

/*
 * Reset bt, record now as the time the VM was built, and place the device at
 * base on bus. Times are reported relative to start_ns; report (e.g. stderr,
 * for --boot-timer) receives one line when the guest signals ready, NULL
 * keeps quiet. The device is there either way, since the guest init writes
 * to it on every boot. 0, or -1 when the bus refuses the region.
 */
int boot_timer_attach(struct mmio_bus *bus, struct boot_timer *bt, uint64_t base, uint64_t start_ns,
                      FILE *report);

/* Optional: call on the boot vCPU's thread right before its first entry into
   the guest, to report the start latency to the first guest instruction. */
void boot_timer_first_entry(struct boot_timer *bt);

/* The MMIO handlers (struct mmio_region's read and write; opaque is bt). */
bool boot_timer_read(void *bt, uint64_t offset, unsigned size, uint64_t *value);
bool boot_timer_write(void *bt, uint64_t offset, unsigned size, uint64_t value);

/* ns since start_ns of the first READY signal, 0 if none yet. */
uint64_t boot_timer_ready_ns(const struct boot_timer *bt);

/*
 * The report line, also used for the --boot-timer output:
 *   "duvisor: boot-timer: guest ready 812.345 ms after process start
 *    (VM built 4.123 ms[, first guest instruction 4.201 ms]; monotonic start 1234.567890123 s)"
 * written as one line into buf. Returns what snprintf returns.
 */
int boot_timer_format(const struct boot_timer *bt, char *buf, size_t len);

#endif /* DUVISOR_DEVICES_BOOT_TIMER_H */
