/*
 * A VM: guest RAM, the hart machine, devices, SBI, and one thread per vCPU.
 * Everything a VM owns hangs off struct vm; there is no global state.
 */
#ifndef DUVISOR_VMM_VM_H
#define DUVISOR_VMM_VM_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "devices/boot_timer.h"
#include "hart/dvext.h"
#include "sbi/sbi.h"
#include "vmm/config.h"
#include "vmm/mmio.h"

/* The QEMU virt memory map, so kernels and payloads built for it run unchanged. */
#define VM_RAM_BASE   0x80000000ull
#define VM_PLIC_BASE  0x0c000000ull
#define VM_UART_BASE  0x10000000ull
#define VM_UART_SIZE  0x100ull
#define VM_UART_IRQ   10u
#define VM_PLIC_NDEV  95u
#define VM_UART_CLOCK 3686400u
#define VM_ISA        "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc"

/* Why a VM stopped running. */
enum vm_stop {
    VM_RUNNING = 0,
    VM_STOP_POWEROFF, /* guest shut down: exit 0 */
    VM_STOP_REBOOT,   /* guest asked for a reboot */
    VM_STOP_SIGNAL,   /* SIGTERM/SIGINT/SIGHUP, or Ctrl-A x: exit 0 after a clean stop */
    VM_STOP_FATAL,    /* a guest error the VM cannot continue from: exit 1 */
};

/* Requests one vCPU thread makes of another, delivered by vipi. */
enum {
    VCPU_REQ_SSIP = 1u << 0,    /* set the guest's supervisor software interrupt */
    VCPU_REQ_FENCE_I = 1u << 1, /* drop decoded code */
    VCPU_REQ_FENCE_VMA = 1u << 2,
};

struct vm;

struct vcpu {
    struct vm *vm;
    unsigned id;
    struct dv_hart *hart;
    pthread_t thread;
    bool thread_started;
    _Atomic unsigned requests; /* VCPU_REQ_* */
    _Atomic uint64_t req_seq;  /* bumped by requesters after setting requests */
    _Atomic uint64_t done_seq; /* the req_seq this vCPU has served */
    bool running;              /* HSM: this thread is running the guest */
};

struct console;
struct uart8250;
struct gstage;
struct virtio_slot;

struct vm {
    const struct vm_config *cfg;
    int memfd;
    uint8_t *ram;
    uint64_t ram_size;
    struct dv_machine *machine;
    struct gstage *gstage;
    struct mmio_bus bus;
    struct uart8250 *uart;
    struct boot_timer boot_timer;
    struct virtio_slot *virtio; /* nvirtio slots */
    unsigned nvirtio;
    struct console *console;
    pthread_mutex_t console_pump_lock; /* keeps console bytes in order into the UART */
    struct sbi sbi;
    struct sbi_host sbi_host;
    uint64_t entry, dtb_addr;
    _Atomic int stop; /* enum vm_stop */
    struct vcpu vcpus[VM_MAX_VCPUS];
};

/* Build a VM from cfg (RAM, kernel, initrd, device tree, devices). 0, or -1
   with a one-line reason in err. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct console *console, char *err,
              size_t err_len);
void vm_destroy(struct vm *vm);

/* The signals that stop a VM (SIGTERM, SIGINT, SIGHUP) are blocked in every
   thread and taken synchronously: block them before any thread starts. */
void vm_block_stop_signals(sigset_t *set);
bool vm_stop_signal_pending(const sigset_t *set);

/* Run until the guest stops; returns why. Starts and joins the vCPU threads. */
enum vm_stop vm_run(struct vm *vm, const sigset_t *stop_signals);

/* Ask every vCPU to stop (any thread). The first reason given wins. */
void vm_request_stop(struct vm *vm, enum vm_stop why);

/* Move console input into the UART as far as its FIFO allows. Any thread. */
void vm_console_pump(struct vm *vm);

/* vcpu.c */
void *vcpu_thread(void *arg);
void vcpu_enter_state(struct vcpu *v, uint64_t start, uint64_t arg);
void vcpu_kick(struct vcpu *v);
void vcpu_request(struct vcpu *v, unsigned requests);
void vm_sbi_host_init(struct vm *vm);

#endif
