/*
 * libFuzzer harness for the kernel loader (src/vmm/boot.c), built and run by
 * `make fuzz`. The input is a 3-byte header, then a file split in two:
 *
 *   [0..1]  little-endian u16: the initrd is the last (u16 % (len + 1)) bytes
 *           of the file, the kernel the rest (0: no initrd)
 *   [2]     device-tree reserve: 0 -> 0 bytes, else (b << 12) bytes, b 255 ->
 *           BOOT_DTB_MAX + 1 (over the limit)
 *
 * into 4 MiB of guest RAM (allocated once). boot_load_kernel, and boot_place
 * when that succeeds, must not crash; on success the layout must lie within
 * RAM: the kernel in [BOOT_RAM_BASE, end of RAM) with the entry inside it, the
 * initrd page aligned, holding the initrd's bytes, not overlapping the kernel
 * or the device tree, and the device tree 8-byte aligned with at least the
 * room asked for, up to the end of RAM. A failure must leave a reason in err.
 * With DUVISOR_FUZZ_VERBOSE set in the environment each input's outcome is
 * printed (for replaying seeds and crashes).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define RAM_SIZE (4ull << 20)

static uint8_t *ram;
static int verbose = -1;

static void fail(const char *what, const struct boot_layout *l)
{
    fprintf(stderr,
            "fuzz_boot: %s: entry 0x%llx kernel [0x%llx, 0x%llx) initrd [0x%llx, 0x%llx) dtb "
            "0x%llx + 0x%llx\n",
            what, (unsigned long long)l->entry, (unsigned long long)l->kernel_start,
            (unsigned long long)l->kernel_end, (unsigned long long)l->initrd_start,
            (unsigned long long)l->initrd_end, (unsigned long long)l->dtb_addr,
            (unsigned long long)l->dtb_max);
    abort();
}

static int overlap(uint64_t a0, uint64_t a1, uint64_t b0, uint64_t b1)
{
    return a0 < b1 && b0 < a1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3)
        return 0;
    if (verbose < 0)
        verbose = getenv("DUVISOR_FUZZ_VERBOSE") != NULL;
    if (!ram) {
        ram = malloc(RAM_SIZE);
        if (!ram)
            abort();
    }
    const uint64_t lo = BOOT_RAM_BASE, hi = BOOT_RAM_BASE + RAM_SIZE;
    size_t file_len = size - 3;
    size_t initrd_len = (size_t)(data[0] | data[1] << 8) % (file_len + 1);
    size_t kernel_len = file_len - initrd_len;
    size_t dtb_size = data[2] == 255 ? (size_t)BOOT_DTB_MAX + 1 : (size_t)data[2] << 12;
    const uint8_t *kernel = data + 3, *initrd = kernel + kernel_len;

    /* copies: the harness owns exact-size heap blocks, so ASan sees any over-read */
    uint8_t *k = malloc(kernel_len ? kernel_len : 1), *i = malloc(initrd_len ? initrd_len : 1);
    if (!k || !i)
        abort();
    memcpy(k, kernel, kernel_len);
    memcpy(i, initrd, initrd_len);

    struct boot_layout l;
    char err[256];
    memset(&l, 0xa5, sizeof(l));
    err[0] = '\0';
    if (boot_load_kernel(ram, RAM_SIZE, k, kernel_len, &l, err, sizeof(err))) {
        if (!err[0] || !memchr(err, '\0', sizeof(err)))
            fail("boot_load_kernel failed without a reason", &l);
        if (verbose)
            fprintf(stderr, "fuzz_boot: load: %s\n", err);
        goto out;
    }
    if (l.kernel_start < lo || l.kernel_start > l.kernel_end || l.kernel_end > hi)
        fail("kernel outside RAM", &l);
    if (l.entry < l.kernel_start || l.entry >= l.kernel_end)
        fail("entry outside the kernel", &l);
    if (l.initrd_start || l.initrd_end || l.dtb_addr || l.dtb_max)
        fail("boot_load_kernel left initrd/dtb fields set", &l);

    err[0] = '\0';
    if (boot_place(ram, RAM_SIZE, &l, initrd_len ? i : NULL, initrd_len, dtb_size, err,
                   sizeof(err))) {
        if (!err[0] || !memchr(err, '\0', sizeof(err)))
            fail("boot_place failed without a reason", &l);
        if (verbose)
            fprintf(stderr, "fuzz_boot: place: %s\n", err);
        goto out;
    }
    if (dtb_size > BOOT_DTB_MAX)
        fail("boot_place took a device tree over BOOT_DTB_MAX", &l);
    if (l.dtb_addr & 7)
        fail("device tree not 8-byte aligned", &l);
    if (l.dtb_addr < lo || l.dtb_addr > hi || l.dtb_max > hi - l.dtb_addr)
        fail("device tree outside RAM", &l);
    if (l.dtb_max < dtb_size)
        fail("less device-tree room than asked", &l);
    if (overlap(l.dtb_addr, l.dtb_addr + l.dtb_max, l.kernel_start, l.kernel_end))
        fail("device tree overlaps the kernel", &l);
    if (initrd_len) {
        if (l.initrd_start < lo || l.initrd_start > l.initrd_end || l.initrd_end > hi)
            fail("initrd outside RAM", &l);
        if (l.initrd_end - l.initrd_start != initrd_len)
            fail("initrd size wrong", &l);
        if (l.initrd_start & 0xfff)
            fail("initrd not page aligned", &l);
        if (overlap(l.initrd_start, l.initrd_end, l.kernel_start, l.kernel_end))
            fail("initrd overlaps the kernel", &l);
        if (overlap(l.initrd_start, l.initrd_end, l.dtb_addr, l.dtb_addr + l.dtb_max))
            fail("initrd overlaps the device tree", &l);
        if (memcmp(ram + (l.initrd_start - lo), i, initrd_len) != 0)
            fail("initrd bytes not in RAM", &l);
    } else if (l.initrd_start || l.initrd_end) {
        fail("initrd placed without one", &l);
    }
    if (verbose)
        fprintf(stderr,
                "fuzz_boot: ok: entry 0x%llx kernel [0x%llx, 0x%llx) initrd [0x%llx, 0x%llx) dtb "
                "0x%llx + 0x%llx\n",
                (unsigned long long)l.entry, (unsigned long long)l.kernel_start,
                (unsigned long long)l.kernel_end, (unsigned long long)l.initrd_start,
                (unsigned long long)l.initrd_end, (unsigned long long)l.dtb_addr,
                (unsigned long long)l.dtb_max);
out:
    free(k);
    free(i);
    return 0;
}
