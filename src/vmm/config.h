/* What a VM is made of, as the user asked for it. Owned by the VM. */
#ifndef DUVISOR_VMM_CONFIG_H
#define DUVISOR_VMM_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#define VM_MAX_VCPUS      32u
#define VM_MIN_MEMORY     (16ull << 20)
#define VM_MAX_MEMORY     (64ull << 30)
#define VM_DEFAULT_MEMORY (256ull << 20)
#define VM_DEFAULT_APPEND "console=ttyS0 earlycon=sbi"

#define VM_MAX_DISKS 8u
#define VM_MAX_NICS  4u

struct vm_disk {
    char path[4096];
    bool readonly;
};

enum vm_net_kind { VM_NET_USER, VM_NET_TAP };

struct vm_nic {
    enum vm_net_kind kind;
    char options[256]; /* user: "hostfwd=tcp::8080-:80,..." ; tap: the interface name */
    uint8_t mac[6];
};

struct vm_config {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *append;      /* kernel command line */
    const char *dtb_out;     /* NULL: do not write the device tree out */
    unsigned smp;
    uint64_t memory_bytes;
    bool no_reboot;
    bool boot_timer; /* --boot-timer: print the guest boot time */
    enum vm_jit { VM_JIT_DEFAULT, VM_JIT_ON, VM_JIT_OFF } jit; /* --jit */
    bool jit_stats; /* --jit-stats: print what the JIT did at exit */
    unsigned ndisks, nnics;
    struct vm_disk disks[VM_MAX_DISKS];
    struct vm_nic nics[VM_MAX_NICS];
};

#endif
