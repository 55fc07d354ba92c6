/* SPDX-License-Identifier: MIT */
/* boot_timer.c - the guest's "I am up" signal (see boot_timer.h). */
#include "devices/boot_timer.h"

#include <string.h>
#include <time.h>

uint64_t boot_timer_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Taken before main(): the earliest instant the process itself can see. */
static uint64_t process_start_ns;

__attribute__((constructor(101))) static void boot_timer_note_start(void)
{
    process_start_ns = boot_timer_now_ns();
}

uint64_t boot_timer_process_start_ns(void)
{
    return process_start_ns;
}

/* ns since start, never 0 (0 means "not yet" in the atomics). */
static uint64_t since(const struct boot_timer *bt, uint64_t t)
{
    return t > bt->start_ns ? t - bt->start_ns : 1;
}

int boot_timer_attach(struct mmio_bus *bus, struct boot_timer *bt, uint64_t base, uint64_t start_ns,
                      FILE *report)
{
    memset(bt, 0, sizeof(*bt));
    bt->start_ns = start_ns;
    bt->report = report;
    bt->built_ns = since(bt, boot_timer_now_ns());
    struct mmio_region region = {
        .base = base,
        .size = BOOT_TIMER_SIZE,
        .name = "boot-timer",
        .read = boot_timer_read,
        .write = boot_timer_write,
        .opaque = bt,
    };
    return mmio_add(bus, &region);
}

void boot_timer_first_entry(struct boot_timer *bt)
{
    uint64_t expected = 0;
    atomic_compare_exchange_strong(&bt->first_entry_ns, &expected, since(bt, boot_timer_now_ns()));
}

uint64_t boot_timer_ready_ns(const struct boot_timer *bt)
{
    return atomic_load(&((struct boot_timer *)bt)->ready_ns);
}

/* Only naturally aligned words and doublewords mean anything. */
static bool access_ok(uint64_t offset, unsigned size)
{
    return (size == 4 || size == 8) && offset % size == 0 && offset < BOOT_TIMER_SIZE;
}

bool boot_timer_read(void *opaque, uint64_t offset, unsigned size, uint64_t *value)
{
    struct boot_timer *bt = opaque;
    *value = 0;
    if (!access_ok(offset, size))
        return true;
    uint64_t reg = 0;
    switch (offset & ~7ull) {
    case 0: reg = BOOT_TIMER_MAGIC | (uint64_t)BOOT_TIMER_VERSION << 32; break;
    case BOOT_TIMER_REG_NOW: reg = since(bt, boot_timer_now_ns()); break;
    case BOOT_TIMER_REG_READY: reg = atomic_load(&bt->ready_ns); break;
    }
    /* A 4-byte read of either half of a 64-bit register. */
    *value = size == 8 ? reg : (uint32_t)(reg >> (8 * (offset & 4)));
    return true;
}

bool boot_timer_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct boot_timer *bt = opaque;
    if (!access_ok(offset, size))
        return true;
    if (offset != BOOT_TIMER_REG_SIGNAL || value != BOOT_TIMER_SIGNAL_READY)
        return true;
    uint64_t expected = 0, now = since(bt, boot_timer_now_ns());
    /* Only the first READY counts: init runs again after a guest-internal
       re-exec, and another vCPU may race us. The winner reports. */
    if (!atomic_compare_exchange_strong(&bt->ready_ns, &expected, now) || !bt->report)
        return true;
    char line[256];
    boot_timer_format(bt, line, sizeof(line));
    fprintf(bt->report, "%s\n", line);
    fflush(bt->report);
    return true;
}

int boot_timer_format(const struct boot_timer *bt, char *buf, size_t len)
{
    uint64_t ready = boot_timer_ready_ns(bt);
    uint64_t entry = atomic_load(&((struct boot_timer *)bt)->first_entry_ns);
    char first[64] = "";
    if (entry)
        snprintf(first, sizeof(first), ", first guest instruction %.3f ms", entry / 1e6);
    char when[48];
    if (ready)
        snprintf(when, sizeof(when), "%.3f ms", ready / 1e6);
    else
        snprintf(when, sizeof(when), "not yet");
    return snprintf(buf, len,
                    "duvisor: boot-timer: guest ready %s after process start (VM built %.3f ms%s; "
                    "monotonic start %llu.%09llu s)",
                    when, bt->built_ns / 1e6, first,
                    (unsigned long long)(bt->start_ns / 1000000000u),
                    (unsigned long long)(bt->start_ns % 1000000000u));
}
