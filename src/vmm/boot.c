/*
 * Kernel, initrd and device-tree placement in guest RAM (see boot.h).
 *
 * Every size and offset read from a file is checked before use, with
 * overflow-free comparisons (fits()), and everything is validated before the
 * first byte of guest RAM is written, so a rejected file leaves RAM as it was.
 *
 * Formats, from their specifications:
 *  - RISC-V Linux Image header (boot-image-header.rst), 64 bytes, little
 *    endian: code0 u32 @0, code1 u32 @4, text_offset u64 @8, image_size u64
 *    @16, flags u64 @24 (bit 0: big endian), version u32 @32, res1 u32 @36,
 *    res2 u64 @40, magic "RISCV\0\0\0" @48 (deprecated), magic2 "RSC\x05" @56,
 *    res3 u32 @60 (PE header offset in an EFI-stub Image, which begins "MZ").
 *  - ELF64 (System V gABI): the file header and PT_LOAD program headers.
 */
#include "vmm/boot.h"
#include "util/err.h"

#include <elf.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/config.h"

#define PAGE_SIZE 4096ull
#define SZ_2M     (2ull << 20)
#define MIB(x)                                                                                     \
    ((unsigned long long)(x) / (1ull << 20) + ((x) % (1ull << 20) != 0)) /* rounded up             \
                                                                          */

#define IMAGE_HDR_LEN 64u
#define ELF_HDR_LEN   64u /* sizeof(Elf64_Ehdr) */
#define ELF_PHDR_LEN  56u /* sizeof(Elf64_Phdr) */
/* A vmlinux has a handful; the cap keeps the overlap check cheap on hostile files. */
#define ELF_MAX_SEGS  32u

/* Files are byte arrays of any alignment; read little-endian fields explicitly. */
static uint64_t le(const uint8_t *p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = bytes; i-- > 0;)
        v = v << 8 | p[i];
    return v;
}

/* [off, off + len) lies within [0, size), without overflow. */
static bool fits(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

static uint64_t align_down(uint64_t x, uint64_t a)
{
    return x & ~(a - 1);
}

static int check_ram(const uint8_t *ram, uint64_t ram_size, char *err, size_t err_len)
{
    if (!ram || ram_size == 0 || ram_size % PAGE_SIZE || ram_size > VM_MAX_MEMORY)
        return set_err(err, err_len,
                       "memory size 0x%llx is not a multiple of 4 KiB between 4 KiB and %llu GiB",
                       (unsigned long long)ram_size, VM_MAX_MEMORY >> 30);
    return 0;
}

/* ---- Linux Image ---------------------------------------------------------------- */

static bool is_image(const uint8_t *k, size_t len)
{
    return len >= IMAGE_HDR_LEN &&
           (memcmp(k + 48, "RISCV\0\0\0", 8) == 0 || memcmp(k + 56, "RSC\x05", 4) == 0);
}

/* The refusal of something that is not a kernel; what distributions ship
   instead is named, so the user knows what to do. */
static int not_a_kernel(const uint8_t *k, size_t len, char *err, size_t err_len)
{
    if (len >= 2 && k[0] == 0x1f && k[1] == 0x8b)
        return set_err(err, err_len, "kernel is gzip-compressed; decompress it to an Image first");
    if (len >= 8 && memcmp(k, "MZ", 2) == 0 && memcmp(k + 4, "zimg", 4) == 0)
        return set_err(err, err_len,
                       "kernel is a compressed EFI zboot image; extract the Image from it first");
    return set_err(err, err_len, "not a RISC-V kernel image (no RISCV magic and not ELF)");
}

static int load_image(uint8_t *ram, uint64_t ram_size, const uint8_t *k, size_t len,
                      struct boot_layout *out, char *err, size_t err_len)
{
    uint64_t text_offset = le(k + 8, 8), image_size = le(k + 16, 8), flags = le(k + 24, 8);

    if (flags & 1)
        return set_err(err, err_len, "kernel Image is big-endian (header flags 0x%llx)",
                       (unsigned long long)flags);
    /* image_size covers the bss; a file longer than it means a lying header. */
    if (image_size < len)
        return set_err(err, err_len,
                       "kernel image_size 0x%llx is smaller than the file (%zu bytes)",
                       (unsigned long long)image_size, len);
    if (text_offset % PAGE_SIZE)
        return set_err(err, err_len, "kernel text_offset 0x%llx is not 4 KiB aligned",
                       (unsigned long long)text_offset);
    if (!fits(text_offset, image_size, ram_size))
        return set_err(
            err, err_len,
            "kernel image_size 0x%llx at text_offset 0x%llx larger than memory (%llu MiB)",
            (unsigned long long)image_size, (unsigned long long)text_offset, MIB(ram_size));

    memcpy(ram + text_offset, k, len);
    memset(ram + text_offset + len, 0, image_size - len);
    out->kernel_start = out->entry = BOOT_RAM_BASE + text_offset;
    out->kernel_end = out->kernel_start + image_size;
    return 0;
}

/* ---- ELF vmlinux ---------------------------------------------------------------- */

struct seg {
    uint64_t off; /* in ram */
    uint64_t fileoff, filesz, memsz, vaddr, paddr;
};

static bool overlaps(const struct seg *a, const struct seg *b)
{
    return a->off < b->off + b->memsz && b->off < a->off + a->memsz;
}

/* The segment whose [base, base + memsz) holds addr, or NULL. */
static const struct seg *containing(const struct seg *s, unsigned n, uint64_t addr, bool phys)
{
    for (unsigned i = 0; i < n; i++) {
        uint64_t base = phys ? s[i].paddr : s[i].vaddr;
        if (addr >= base && addr - base < s[i].memsz)
            return &s[i];
    }
    return NULL;
}

static int load_elf(uint8_t *ram, uint64_t ram_size, const uint8_t *k, size_t len,
                    struct boot_layout *out, char *err, size_t err_len)
{
    if (len < ELF_HDR_LEN)
        return set_err(err, err_len, "ELF kernel is truncated (%zu bytes)", len);
    if (k[EI_CLASS] != ELFCLASS64)
        return set_err(err, err_len, "ELF kernel is not 64-bit (class %u); duvisor boots RV64",
                       k[EI_CLASS]);
    if (k[EI_DATA] != ELFDATA2LSB)
        return set_err(err, err_len, "ELF kernel is not little-endian");
    unsigned type = (unsigned)le(k + 16, 2), machine = (unsigned)le(k + 18, 2);
    if (machine != EM_RISCV)
        return set_err(err, err_len, "ELF kernel is for machine %u, not RISC-V (%u)", machine,
                       EM_RISCV);
    if (type != ET_EXEC && type != ET_DYN)
        return set_err(err, err_len, "ELF kernel is not an executable (e_type %u)", type);

    uint64_t entry = le(k + 24, 8), phoff = le(k + 32, 8);
    unsigned phentsize = (unsigned)le(k + 54, 2), phnum = (unsigned)le(k + 56, 2);
    if (phentsize != ELF_PHDR_LEN)
        return set_err(err, err_len, "ELF program header size is %u, not %u", phentsize,
                       ELF_PHDR_LEN);
    /* PN_XNUM would move the count into a section header; no kernel needs that many. */
    if (phnum == 0 || phnum >= PN_XNUM)
        return set_err(err, err_len, "ELF kernel has %u program headers", phnum);
    if (!fits(phoff, (uint64_t)phnum * ELF_PHDR_LEN, len))
        return set_err(err, err_len, "ELF program headers at 0x%llx lie past the end of the file",
                       (unsigned long long)phoff);

    struct seg s[ELF_MAX_SEGS];
    unsigned n = 0;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *ph = k + phoff + (uint64_t)i * ELF_PHDR_LEN;
        if (le(ph, 4) != PT_LOAD)
            continue;
        struct seg g = {.fileoff = le(ph + 8, 8),
                        .vaddr = le(ph + 16, 8),
                        .paddr = le(ph + 24, 8),
                        .filesz = le(ph + 32, 8),
                        .memsz = le(ph + 40, 8)};
        if (g.filesz > g.memsz)
            return set_err(err, err_len,
                           "ELF segment %u: file size 0x%llx exceeds memory size 0x%llx", i,
                           (unsigned long long)g.filesz, (unsigned long long)g.memsz);
        if (!fits(g.fileoff, g.filesz, len))
            return set_err(err, err_len,
                           "ELF segment %u: 0x%llx bytes at file offset 0x%llx lie past the end of "
                           "the file (%zu bytes)",
                           i, (unsigned long long)g.filesz, (unsigned long long)g.fileoff, len);
        if (g.memsz == 0)
            continue;
        if (n == ELF_MAX_SEGS)
            return set_err(err, err_len, "ELF kernel has more than %u loadable segments",
                           ELF_MAX_SEGS);
        s[n++] = g;
    }
    if (n == 0)
        return set_err(err, err_len, "ELF kernel has no loadable segments");

    /*
     * Physical addresses in RAM are used as they are. Otherwise (a vmlinux
     * linked at 0xffffffff80000000 has p_paddr 0 or equal to p_vaddr) the
     * image is position independent until it enables paging, so it goes at
     * the start of RAM, segments kept at their distances from the lowest.
     */
    uint64_t min_paddr = UINT64_MAX, min_vaddr = UINT64_MAX;
    for (unsigned i = 0; i < n; i++) {
        min_paddr = s[i].paddr < min_paddr ? s[i].paddr : min_paddr;
        min_vaddr = s[i].vaddr < min_vaddr ? s[i].vaddr : min_vaddr;
    }
    bool phys = min_paddr >= BOOT_RAM_BASE && min_paddr - BOOT_RAM_BASE < ram_size;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (unsigned i = 0; i < n; i++) {
        s[i].off = phys ? s[i].paddr - BOOT_RAM_BASE : s[i].vaddr - min_vaddr;
        if (!fits(s[i].off, s[i].memsz, ram_size))
            return set_err(err, err_len,
                           "ELF segment at %s 0x%llx (0x%llx bytes) lies outside the %llu MiB of "
                           "memory",
                           phys ? "paddr" : "vaddr",
                           (unsigned long long)(phys ? s[i].paddr : s[i].vaddr),
                           (unsigned long long)s[i].memsz, MIB(ram_size));
        for (unsigned j = 0; j < i; j++)
            if (overlaps(&s[i], &s[j]))
                return set_err(err, err_len, "ELF segments at 0x%llx and 0x%llx overlap",
                               (unsigned long long)(phys ? s[j].paddr : s[j].vaddr),
                               (unsigned long long)(phys ? s[i].paddr : s[i].vaddr));
        lo = s[i].off < lo ? s[i].off : lo;
        hi = s[i].off + s[i].memsz > hi ? s[i].off + s[i].memsz : hi;
    }

    /* e_entry is virtual; a kernel loaded at its physical addresses may also give it so. */
    const struct seg *e = containing(s, n, entry, false);
    uint64_t entry_off;
    if (e)
        entry_off = e->off + (entry - e->vaddr);
    else if (phys && (e = containing(s, n, entry, true)))
        entry_off = e->off + (entry - e->paddr);
    else
        return set_err(err, err_len, "ELF entry point 0x%llx is not inside a loadable segment",
                       (unsigned long long)entry);

    for (unsigned i = 0; i < n; i++) {
        memcpy(ram + s[i].off, k + s[i].fileoff, s[i].filesz);
        memset(ram + s[i].off + s[i].filesz, 0, s[i].memsz - s[i].filesz);
    }
    out->entry = BOOT_RAM_BASE + entry_off;
    out->kernel_start = BOOT_RAM_BASE + lo;
    out->kernel_end = BOOT_RAM_BASE + hi;
    return 0;
}

int boot_load_kernel(uint8_t *ram, uint64_t ram_size, const uint8_t *kernel, size_t kernel_len,
                     struct boot_layout *out, char *err, size_t err_len)
{
    if (check_ram(ram, ram_size, err, err_len))
        return -1;
    if (!kernel || !out)
        return set_err(err, err_len, "no kernel given");
    *out = (struct boot_layout){0};

    const uint8_t *k = kernel;
    size_t len = kernel_len;
    if (len >= SELFMAG && memcmp(k, ELFMAG, SELFMAG) == 0)
        return load_elf(ram, ram_size, k, len, out, err, err_len);
    if (is_image(k, len))
        return load_image(ram, ram_size, k, len, out, err, err_len);
    return not_a_kernel(k, len, err, err_len);
}

int boot_probe_kernel(const uint8_t *head, size_t len, char *err, size_t err_len)
{
    if ((len >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0) || is_image(head, len))
        return 0;
    return not_a_kernel(head, len, err, err_len);
}

/* ---- initrd and device tree ----------------------------------------------------- */

int boot_place(uint8_t *ram, uint64_t ram_size, struct boot_layout *layout, const uint8_t *initrd,
               size_t initrd_len, size_t dtb_size, char *err, size_t err_len)
{
    if (check_ram(ram, ram_size, err, err_len))
        return -1;
    if (!layout)
        return set_err(err, err_len, "no boot layout given");
    if (!initrd && initrd_len)
        return set_err(err, err_len, "initrd of %zu bytes has no data", initrd_len);
    if (layout->kernel_start < BOOT_RAM_BASE || layout->kernel_end < layout->kernel_start ||
        layout->kernel_end - BOOT_RAM_BASE > ram_size)
        return set_err(err, err_len, "kernel at [0x%llx, 0x%llx) lies outside memory",
                       (unsigned long long)layout->kernel_start,
                       (unsigned long long)layout->kernel_end);
    if (dtb_size == 0 || dtb_size > BOOT_DTB_MAX)
        return set_err(err, err_len, "device tree size %zu is not between 1 byte and %llu MiB",
                       dtb_size, BOOT_DTB_MAX >> 20);

    /* Offsets into ram from here on; all are <= ram_size, so sums cannot overflow. */
    uint64_t dtb_max = (dtb_size + 7) & ~7ull;
    uint64_t free_start = align_down(layout->kernel_end - BOOT_RAM_BASE + PAGE_SIZE - 1, PAGE_SIZE);
    if (free_start > ram_size || dtb_max > ram_size - free_start)
        return set_err(err, err_len,
                       "device tree of %zu bytes does not fit in %llu MiB of memory "
                       "with the kernel",
                       dtb_size, MIB(ram_size));
    if (initrd_len > ram_size - free_start - dtb_max)
        return set_err(err, err_len,
                       "initrd of %llu MiB does not fit in %llu MiB of memory with the kernel",
                       MIB(initrd_len), MIB(ram_size));

    /*
     * Device tree at the top, on a 2 MiB boundary when that leaves room (the
     * kernel maps it early by 2 MiB pages; QEMU places it so too), else on a
     * page, else on the 8 bytes the protocol asks for: the last always fits,
     * by the check above. The initrd ends right below it: as far from the
     * kernel as RAM allows, and page aligned as Linux frees it by pages.
     */
    static const uint64_t aligns[] = {SZ_2M, PAGE_SIZE, 8};
    uint64_t dtb = 0;
    for (unsigned i = 0; i < sizeof(aligns) / sizeof(aligns[0]); i++) {
        dtb = align_down(ram_size - dtb_max, aligns[i]);
        if (dtb >= free_start && dtb - free_start >= initrd_len)
            break;
    }
    uint64_t rd = align_down(dtb - initrd_len, PAGE_SIZE);
    if (initrd_len) {
        memcpy(ram + rd, initrd, initrd_len);
        layout->initrd_start = BOOT_RAM_BASE + rd;
        layout->initrd_end = layout->initrd_start + initrd_len;
    } else {
        layout->initrd_start = layout->initrd_end = 0;
    }
    layout->dtb_addr = BOOT_RAM_BASE + dtb;
    layout->dtb_max = dtb_max;
    return 0;
}
