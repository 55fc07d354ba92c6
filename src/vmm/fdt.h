/*
 * The guest's device tree: what Linux needs to find its harts, memory,
 * interrupt controllers and devices, in the shape of QEMU's virt machine.
 * Built with libfdt's sequential-write API into a caller's buffer.
 *
 * Layout: / (#address-cells = #size-cells = 2, "riscv-virtio", model
 * "duvisor"); /chosen; /cpus/cpu@N, each with an interrupt-controller child
 * (phandle FDT_PHANDLE_CPU_INTC(N)); /memory@<ram_base>; /soc (simple-bus)
 * with plic@<base> (phandle FDT_PHANDLE_PLIC; context N is hart N's S-mode
 * external interrupt) and one node per device given (in the VM: the device
 * registry's, e.g. serial@<base> (ns16550a) and virtio_mmio@<base>).
 */
#ifndef DUVISOR_VMM_FDT_H
#define DUVISOR_VMM_FDT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FDT_PHANDLE_PLIC          1u
#define FDT_PHANDLE_CPU_INTC(cpu) (2u + (cpu))
/* With AIA the APLIC takes the PLIC's phandle: every device's parent. */
#define FDT_PHANDLE_APLIC         FDT_PHANDLE_PLIC
#define FDT_PHANDLE_IMSIC         0x100u

/* One device node under /soc: NAME@BASE with compatible, reg, and (when
   irq is not 0) interrupts routed to the PLIC. */
struct fdt_device {
    const char *name; /* "serial", "virtio_mmio", "boot-timer" */
    const char *compatible;
    uint64_t base, size;
    unsigned irq;      /* 0: none */
    uint32_t clock_hz; /* clock-frequency; 0: none */
};

struct fdt_params {
    unsigned ncpus; /* 1 .. VM_MAX_VCPUS */
    uint64_t ram_base, ram_size;
    const char *bootargs;              /* NULL: none */
    uint64_t initrd_start, initrd_end; /* 0, 0: none */
    const char *isa;                   /* "rv64imafdc_zicsr_..." */
    uint64_t plic_base, plic_size;
    unsigned plic_ndev; /* sources 1 .. plic_ndev */
    /* aia: instead of the PLIC, an S-level IMSIC (riscv,imsics, 255 ids, one
       page per cpu at imsic_base) and an APLIC in MSI mode (riscv,aplic,
       plic_ndev sources, plic_size bytes at aplic_base), as QEMU virt,aia=aplic-imsic */
    bool aia;
    uint64_t imsic_base, aplic_base;
    /* the devices, in order; the first "serial" is /chosen's stdout-path */
    const struct fdt_device *devices;
    unsigned ndevices;
    uint32_t timebase_hz;
    const char *mmu_type; /* NULL: "riscv,sv57" */
};

/* Returns the blob size written to buf (<= buf_len), or -1 with a reason in err. */
int fdt_build(const struct fdt_params *p, void *buf, size_t buf_len, char *err, size_t err_len);

#endif
