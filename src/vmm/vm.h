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
#include "vmm/device.h"
#include "vmm/log.h"
#include "vmm/mmio.h"
#include "vmm/platform.h"

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

/* Why vCPUs left the guest, counted by the vCPU thread (metrics). */
struct vcpu_exit_stats {
    _Atomic uint64_t sbi, mmio, ram_map, virtual_insn, requests, timer;
    _Atomic uint64_t access_faults; /* stray accesses answered with an access fault */
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
    struct vcpu_exit_stats exits;
    uint64_t paused_applied; /* the part of pause.paused_ticks taken off this hart's time */
    int schedstat_fd;        /* this thread's /proc schedstat (STA), or -1 */
    bool sta_ticking;        /* the vtimer is armed for STA updates */
    bool suspended;          /* HSM SUSPENDED: sleep until an interrupt, do not run the guest */
};

struct console;
struct uart8250;
struct gstage;
struct virtio_slot;
struct virtio_input;
struct gdbstub;
struct virtio_balloon;

/* Pausing: every vCPU thread parks at an exit boundary; see vm_pause. */
struct vm_pause {
    pthread_mutex_t lock;
    pthread_cond_t changed; /* parked, threads or requested changed; or a stop */
    _Atomic bool requested; /* read without the lock on the vCPU fast path */
    unsigned parked;        /* vCPU threads waiting in park */
    unsigned threads;       /* vCPU threads in their loop */
    uint64_t start_time;    /* host timebase ticks when the pause began */
    /* all pauses so far, in timebase ticks: guest time skips them. Written
       under the lock; read without it on the vCPU fast path. */
    _Atomic uint64_t paused_ticks;
    uint64_t pauses; /* completed pauses (metrics) */
};

struct vm {
    const struct vm_config *cfg;
    const struct vm_restore_source *restore; /* while a restored VM is built; else NULL */
    int memfd;
    uint8_t *ram;
    uint64_t ram_size;
    struct dv_machine *machine;
    struct gstage *gstage;
    struct mmio_bus bus;
    struct vm_devices devices; /* every device, for pause, metrics and teardown */
    struct uart8250 *uart;
    struct boot_timer boot_timer;
    struct virtio_slot *virtio; /* nvirtio slots */
    unsigned nvirtio;
    struct virtio_input *keyboard; /* Ctrl+Alt+Del comes through it */
    struct virtio_console *vconsole;
    struct virtio_balloon *balloon; /* --balloon; NULL: none */
    struct console *console;
    pthread_mutex_t console_pump_lock; /* keeps console bytes in order into the UART */
    struct sbi sbi;
    struct sbi_host sbi_host;
    uint64_t entry, dtb_addr;
    _Atomic int stop; /* enum vm_stop */
    int stop_fd;      /* an eventfd written once a stop is requested; -1: none */
    struct vm_pause pause;
    struct gdbstub *gdb; /* --gdb: the stub whose gate the vCPUs pass; NULL: none */
    /* The VMM's log, for lines the guest causes (set after vm_create;
       NULL: none), and their rate limit. */
    struct vmm_log *log;
    struct vmm_log_limit guest_log_limit;
    struct vcpu vcpus[VM_MAX_VCPUS];
};

/* Build a VM from cfg (RAM, kernel, initrd, device tree, devices). 0, or -1
   with a one-line reason in err. */
int vm_create(struct vm *vm, const struct vm_config *cfg, struct console *console, char *err,
              size_t err_len);
void vm_destroy(struct vm *vm);

/* What a VM rebuilt from saved state starts from besides the state. */
struct vm_restore_source {
    int fd;      /* the memory file (a snapshot's), or guest RAM handed over (live upgrade) */
    bool shared; /* map it shared (RAM handed over: it stays the RAM); else private
                    copy-on-write, loaded lazily, the file never written */
    /* live upgrade: the disk images and TAP devices the previous binary had
       open, by disk and NIC index (duplicated, not taken); -1: open by name */
    int disk_fds[VM_MAX_DISKS];
    int tap_fds[VM_MAX_NICS];
};
/* src with no fds to hand over. */
void vm_restore_source_init(struct vm_restore_source *src, int fd, bool shared);
/* Build a VM from cfg as vm_create does, but with RAM from src (exactly
   cfg->memory_bytes long) and no kernel loaded or hart started. The VM is
   paused (vm_paused() is true): restore its state (vmm/snapshot.h), then
   vm_start and vm_resume. 0, or -1 with a reason. */
int vm_create_for_restore(struct vm *vm, const struct vm_config *cfg, struct console *console,
                          const struct vm_restore_source *src, char *err, size_t err_len);

/* The signals that stop a VM (SIGTERM, SIGINT, SIGHUP) are blocked in every
   thread and taken synchronously: block them before any thread starts. */
void vm_block_stop_signals(sigset_t *set);
bool vm_stop_signal_pending(const sigset_t *set);

/* Start the vCPU threads. 0, or -1 (then the VM is stopping, VM_STOP_FATAL). */
int vm_start(struct vm *vm);
/* After a stop was requested: join the vCPU threads; returns why it stopped. */
enum vm_stop vm_join(struct vm *vm);

/* Park every vCPU at an exit boundary, then quiesce the devices (no writes to
   guest memory, no interrupts). Waits at most VM_PAUSE_TIMEOUT_MS for the
   vCPUs; 0, or -1 when they did not all park (the VM then runs on). Any
   thread but a vCPU's. */
#define VM_PAUSE_TIMEOUT_MS 1000
int vm_pause(struct vm *vm);
/* Undo vm_pause. Guest time continues from where it stood at the pause. */
void vm_resume(struct vm *vm);
bool vm_paused(struct vm *vm);

/* Ask every vCPU to stop (any thread). The first reason given wins. */
void vm_request_stop(struct vm *vm, enum vm_stop why);

/* Move console input into the UART as far as its FIFO allows. Any thread. */
void vm_console_pump(struct vm *vm);

/* vcpu.c */
void *vcpu_thread(void *arg);
/* Park here while the VM is paused (the vCPU's own thread). */
void vcpu_park_if_paused(struct vcpu *v);
void vcpu_enter_state(struct vcpu *v, uint64_t start, uint64_t arg);
void vcpu_kick(struct vcpu *v);
void vcpu_request(struct vcpu *v, unsigned requests);
void vm_sbi_host_init(struct vm *vm);

#endif
