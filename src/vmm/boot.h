/*
 * Putting Linux into guest RAM: the kernel, then the initrd and room for the
 * device tree, per the RISC-V Linux boot protocol (Documentation/riscv/
 * boot.rst, boot-image-header.rst). Pure functions over a host buffer; every
 * input file is treated as hostile.
 *
 * Guest RAM is the host buffer `ram` of `ram_size` bytes and stands for the
 * guest-physical range BOOT_RAM_BASE .. BOOT_RAM_BASE + ram_size (QEMU virt
 * map). All addresses in struct boot_layout are guest-physical.
 *
 * Order of use: boot_load_kernel(), boot_place() (it fixes where the initrd
 * goes, which the device tree records), then build the device tree straight
 * into ram + (dtb_addr - BOOT_RAM_BASE) with at most dtb_max bytes, and start
 * hart 0 at entry with a0 = hartid, a1 = dtb_addr.
 */
#ifndef DUVISOR_VMM_BOOT_H
#define DUVISOR_VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/platform.h"

#define BOOT_RAM_BASE PLATFORM_RAM_BASE

/* Linux maps the device tree through a fixmap of this size at boot. */
#define BOOT_DTB_MAX (2ull << 20)

struct boot_layout {
    uint64_t entry;                    /* where hart 0 starts */
    uint64_t kernel_start, kernel_end; /* [start, end): image plus bss */
    uint64_t initrd_start, initrd_end; /* [start, end); both 0 without an initrd */
    uint64_t dtb_addr;                 /* 8-byte aligned */
    uint64_t dtb_max;                  /* bytes reserved at dtb_addr */
};

/*
 * Load a kernel file's bytes into ram: a RISC-V Linux Image (flat or EFI-stub
 * "MZ", recognised by the header magic) at BOOT_RAM_BASE + text_offset, or an
 * ELF64 RISC-V vmlinux by its PT_LOAD segments (at p_paddr if the segments
 * lie in RAM, else at BOOT_RAM_BASE + (p_vaddr - lowest p_vaddr)). Bss is
 * zeroed. Fills entry, kernel_start and kernel_end and clears the rest of
 * *out. Returns 0, or -1 with a one-line reason in err; on failure ram is
 * untouched.
 */
int boot_load_kernel(uint8_t *ram, uint64_t ram_size, const uint8_t *kernel, size_t kernel_len,
                     struct boot_layout *out, char *err, size_t err_len);

/* Whether the first len bytes of a file (BOOT_PROBE_BYTES suffice) look like
   a kernel boot_load_kernel takes: 0, or -1 with the reason in err. */
#define BOOT_PROBE_BYTES 64u
int boot_probe_kernel(const uint8_t *head, size_t len, char *err, size_t err_len);

/*
 * Copy the initrd (initrd_len 0: none) into ram and reserve dtb_size bytes
 * (the most the device tree may take, up to BOOT_DTB_MAX) for the device
 * tree, given layout->kernel_start/end. The device tree goes at the top of
 * RAM, 2 MiB aligned when that leaves room (else 4 KiB, else 8 bytes); the
 * initrd sits page aligned right below it, as far from the kernel as RAM
 * allows. Fills initrd_start/end, dtb_addr and dtb_max. Returns 0, or -1
 * with a one-line reason in err; on failure ram is untouched.
 */
int boot_place(uint8_t *ram, uint64_t ram_size, struct boot_layout *layout, const uint8_t *initrd,
               size_t initrd_len, size_t dtb_size, char *err, size_t err_len);

#endif
