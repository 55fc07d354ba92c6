/*
 * The one platform map: where everything sits in guest-physical memory and
 * which interrupt each device raises. It follows QEMU's `virt` machine, so
 * kernels and payloads built for it run unchanged and comparisons with QEMU
 * are like for like. Every other module takes its addresses from here.
 */
#ifndef DUVISOR_VMM_PLATFORM_H
#define DUVISOR_VMM_PLATFORM_H

/* RAM starts where QEMU virt's does; its size is the VM's. */
#define PLATFORM_RAM_BASE 0x80000000ull

/* The interrupt controller (the vPLIC of dvext.h) and its source count. */
#define PLATFORM_PLIC_BASE 0x0c000000ull
#define PLATFORM_PLIC_NDEV 95u

/* --irqchip aia: QEMU virt's (aia=aplic-imsic) S-level IMSIC files, one
   4 KiB page per hart, and its APLIC-S domain with wires 1..96. */
#define PLATFORM_IMSIC_S_BASE   0x28000000ull
#define PLATFORM_APLIC_S_BASE   0x0d000000ull
#define PLATFORM_APLIC_NSOURCES 96u
/* The harts also have Ssaia then (the AIA CSRs). */
#define PLATFORM_ISA_AIA_SUFFIX "_ssaia"

/* The 16550 console UART. */
#define PLATFORM_UART_BASE  0x10000000ull
#define PLATFORM_UART_SIZE  0x100ull
#define PLATFORM_UART_IRQ   10u
#define PLATFORM_UART_CLOCK 3686400u

/* virtio-mmio slot i at BASE + i * STRIDE; each slot's window is a whole
   STRIDE, as the device tree describes it. Slots 0..7 are QEMU virt's own
   (IRQ 1 + i); slots 8..15 continue the windows up to 0x10010fff (virt's
   next region is fw_cfg at 0x10100000) on IRQs 40 + (i - 8), clear of the
   UART (10), virt's RTC (11), PCIe INTx (32..35) and platform bus (64..). */
#define PLATFORM_VIRTIO_BASE       0x10001000ull
#define PLATFORM_VIRTIO_STRIDE     0x1000ull
#define PLATFORM_VIRTIO_IRQ        1u
#define PLATFORM_VIRTIO_QEMU_SLOTS 8u
#define PLATFORM_VIRTIO_HIGH_IRQ   40u
#define PLATFORM_VIRTIO_SLOTS      16u

static inline unsigned platform_virtio_irq(unsigned slot)
{
    return slot < PLATFORM_VIRTIO_QEMU_SLOTS
               ? PLATFORM_VIRTIO_IRQ + slot
               : PLATFORM_VIRTIO_HIGH_IRQ + (slot - PLATFORM_VIRTIO_QEMU_SLOTS);
}

/* duvisor's boot-timer (devices/boot_timer.h): not on QEMU virt, in a hole of its map. */
#define PLATFORM_BOOT_TIMER_BASE 0x10200000ull

/* What the harts implement, as the device tree reports it (riscv,isa and,
   split, riscv,isa-extensions): RVA23's unprivileged set, and Zfh beyond
   it; its supervisor set but Sha and Ssstateen; the Zbk and Zk scalar
   crypto. The vector crypto (Zvbb, Zvbc, Zvk*) is every part of the Zvkn,
   Zvknc, Zvkng, Zvks, Zvksc and Zvksg shorthands, which are left out as Zkn
   and Zks are. Zic64b, Ziccamoa, Zicclsm and Ziccrse are properties the hart
   has by construction (64-byte blocks; AMOs and misaligned accesses anywhere
   in RAM; LR/SC pairs that succeed). */
#define PLATFORM_ISA                                                                               \
    "rv64imafdcv_zic64b_zicbom_zicbop_zicboz_ziccamoa_zicclsm_ziccrse_zicntr_zicond_zicsr_"        \
    "zifencei_zihintntl_zihintpause_zihpm_zimop_zaamo_zabha_zacas_zalrsc_zawrs_zfa_zfh_zfhmin_"    \
    "zca_zcb_zcd_zcmop_zba_zbb_zbc_zbkb_zbkc_zbkx_zbs_zknd_zkne_zknh_zksed_zksh_zkt_zvbb_zvbc_"    \
    "zve32f_zve32x_zve64d_zve64f_zve64x_zvfhmin_zvkb_zvkg_zvkned_zvknha_zvknhb_zvksed_zvksh_zvkt_" \
    "sscofpmf_ssnpm_sstc_svadu_svinval_svnapot_svpbmt"

#endif
