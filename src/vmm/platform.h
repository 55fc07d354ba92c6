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

/* virtio-mmio slot i at BASE + i * STRIDE on IRQ IRQ + i; each slot's
   window is a whole STRIDE, as the device tree describes it. */
#define PLATFORM_VIRTIO_BASE   0x10001000ull
#define PLATFORM_VIRTIO_STRIDE 0x1000ull
#define PLATFORM_VIRTIO_IRQ    1u
#define PLATFORM_VIRTIO_SLOTS  8u

/* duvisor's boot-timer (devices/boot_timer.h): not on QEMU virt, in a hole of its map. */
#define PLATFORM_BOOT_TIMER_BASE 0x10200000ull

/* What the harts implement, as the device tree reports it. */
#define PLATFORM_ISA "rv64imafdcv_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc"

#endif
