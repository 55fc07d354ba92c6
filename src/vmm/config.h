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

struct vm_config {
    const char *kernel_path;
    const char *initrd_path; /* NULL: no initrd */
    const char *append;      /* kernel command line */
    const char *dtb_out;     /* NULL: do not write the device tree out */
    unsigned smp;
    uint64_t memory_bytes;
    bool no_reboot;
};

#endif
