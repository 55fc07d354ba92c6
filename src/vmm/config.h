/* What a VM is made of, as the user asked for it. Owned by the VM. */
#ifndef DUVISOR_VMM_CONFIG_H
#define DUVISOR_VMM_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VM_MAX_VCPUS      32u
#define VM_MIN_MEMORY     (16ull << 20)
#define VM_MAX_MEMORY     (64ull << 30)
#define VM_DEFAULT_MEMORY (256ull << 20)
#define VM_DEFAULT_APPEND "console=ttyS0 earlycon=sbi"
/* The default with --console hvc0: the kernel's console is the virtio one
   (earlycon=sbi still shows what comes before its driver). */
#define VM_HVC_APPEND     "console=hvc0 earlycon=sbi"

/* Disks and NICs together: the virtio slots of the platform map (8, as QEMU
   virt's) less the entropy, console and keyboard devices. */
#define VM_MAX_DISKS 5u
#define VM_MAX_NICS  4u

/* --share folders (virtio-fs), in the optional virtio slots. */
#define VM_MAX_SHARES    4u
#define VM_SHARE_TAG_MAX 36u /* the device's tag field */

#define VM_PATH_MAX       4096u
#define VM_APPEND_MAX     4096u
#define VM_ID_MAX         64u /* drive and interface ids, as the API's */
#define VM_VSOCK_PATH_MAX 96u /* a Unix socket path, with room for "_PORT" after it */

struct vm_disk {
    char id[VM_ID_MAX];
    char path[VM_PATH_MAX];
    bool readonly;
    bool root; /* the API's is_root_device: becomes /dev/vda, root= on the command line */
    char partuuid[VM_ID_MAX]; /* root by PARTUUID= instead of /dev/vda; "" when not */
    char cache_type[12];      /* the API's, kept for GET /vm/config: "Unsafe", "Writeback" */
    char io_engine[8];        /* "Sync", "Async": both are served the same way */
};

enum vm_net_kind { VM_NET_USER, VM_NET_TAP };

struct vm_nic {
    char id[VM_ID_MAX];
    enum vm_net_kind kind;
    char options[256]; /* user: "hostfwd=tcp::8080-:80,..." ; tap: the interface name */
    uint8_t mac[6];
    bool mac_set; /* given by the user, not the default */
    unsigned mtu; /* the API's, kept for GET /vm/config; 0: not given */
};

/* A host folder shared with the guest (--share PATH,tag=TAG); daemon is
   its virtiofsd, started by the VMM before the sandbox and owned by it for
   its whole life (guest reboots keep it). */
struct virtio_fs_daemon;
struct vm_share {
    char path[VM_PATH_MAX];
    char tag[VM_SHARE_TAG_MAX + 1];
    struct virtio_fs_daemon *daemon;
};

/* --balloon, PUT /balloon: a virtio balloon; the target changes at run time
   (PATCH /balloon, `duvisor balloon`). */
struct vm_balloon {
    bool enabled;
    bool deflate_on_oom;       /* the guest may take pages back under memory pressure */
    bool free_page_reporting;  /* the guest reports free pages, which go back to the host */
    unsigned stats_interval_s; /* 0: no statistics queue */
    uint32_t amount_mib;       /* the target */
};

/* Files a jailed VMM opened by name before it entered the jail (host/jail.h),
   so the VM's own files need not be inside it; -1: open by name. Owned by
   the VMM for its whole life: a guest reboot reads the kernel again from
   its fd, and the user-networking helper lives on across reboots. */
struct vm_held_files {
    int kernel, initrd, dtb_out;
    int disks[VM_MAX_DISKS];
    int nics[VM_MAX_NICS]; /* a TAP's fd, or the user-networking helper's socket */
};

/* A value: it owns its strings, so the VMM keeps one across guest reboots
   and the API edits it before the VM starts. */
struct vm_config {
    char kernel_path[VM_PATH_MAX];
    char initrd_path[VM_PATH_MAX]; /* "": no initrd */
    char append[VM_APPEND_MAX];    /* kernel command line, without root= for a root disk */
    const char *dtb_out;           /* NULL: do not write the device tree out */
    unsigned smp;
    uint64_t memory_bytes;
    bool track_dirty_pages; /* recorded for the API; snapshots will use it */
    bool no_reboot;
    bool boot_timer; /* --boot-timer: print the guest boot time */
    enum vm_jit { VM_JIT_DEFAULT, VM_JIT_ON, VM_JIT_OFF } jit; /* --jit */
    bool jit_stats; /* --jit-stats: print what the JIT did at exit */
    unsigned vlen;  /* --vlen: the V extension's VLEN in bits (0: the hart's default) */
    /* --strict-mmio: stop the VM on an access to nothing or one a device
       refuses, instead of an access fault or an ignored access */
    bool strict_mmio;
    /* --irqchip: the guest's interrupt controller (PLIC, or AIA's IMSIC + APLIC) */
    enum vm_irqchip { VM_IRQCHIP_PLIC, VM_IRQCHIP_AIA } irqchip;
    int seccomp; /* --seccomp: enum sandbox_mode (host/sandbox.h), for the whole process */
    /* --console: which device stdin and the terminal's size go to. Output of
       both (and of the SBI console) always reaches stdout. */
    enum vm_console_device { VM_CONSOLE_UART, VM_CONSOLE_VIRTIO } console_device;
    /* --vsock / PUT /vsock: the socket device, Firecracker's hybrid design
       (devices/vsock_uds.h); vsock_cid 0: none */
    uint32_t vsock_cid;
    char vsock_uds[VM_VSOCK_PATH_MAX];
    const struct vm_held_files *held; /* NULL: every file is opened by name */
    struct vm_balloon balloon;
    unsigned ndisks, nnics, nshares;
    struct vm_share shares[VM_MAX_SHARES];
    struct vm_disk disks[VM_MAX_DISKS];
    struct vm_nic nics[VM_MAX_NICS];
};

/* Defaults: VM_DEFAULT_APPEND, 1 vCPU, VM_DEFAULT_MEMORY, no devices. */
void vm_config_init(struct vm_config *cfg);
/* Copy src into dst[dst_len]: 0, or -1 with "<what> is longer than ..." in err. */
int vm_config_copy_string(char *dst, size_t dst_len, const char *src, const char *what, char *err,
                          size_t err_len);
/* The kernel command line the guest gets: append, plus root= for a root disk.
   0, or -1 if it does not fit in out. */
int vm_config_bootargs(const struct vm_config *cfg, char *out, size_t out_len);
struct vm_disk *vm_config_find_disk(struct vm_config *cfg, const char *id);
struct vm_nic *vm_config_find_nic(struct vm_config *cfg, const char *id);
/* Add or replace (by id) a disk or NIC. The root disk is kept first; only one
   may be root. 0, or -1 with a reason in err. */
int vm_config_put_disk(struct vm_config *cfg, const struct vm_disk *disk, char *err,
                       size_t err_len);
int vm_config_put_nic(struct vm_config *cfg, const struct vm_nic *nic, char *err, size_t err_len);
/* The socket device: guest CID (3 to 2^32-2) and the host's Unix socket
   path. 0, or -1 with a reason in err (cfg unchanged). */
int vm_config_set_vsock(struct vm_config *cfg, uint64_t cid, const char *uds_path, char *err,
                        size_t err_len);
/* Snapshots: the parts of the configuration that shape the guest (memory,
   vCPUs, kernel and command line, disks, NICs, --strict-mmio, --console), not what
   belongs to one process (--jit, --dtb-out, --boot-timer, reboot policy).
   restore fills the guest-shaping fields of cfg and checks them as the CLI
   and the API would; false with the reason in the reader. */
struct state_writer;
struct state_reader;
void vm_config_save(const struct vm_config *cfg, struct state_writer *w);
bool vm_config_restore(struct vm_config *cfg, struct state_reader *r);

/* NIC number index's default MAC (52:54:00:12:34:56 + index). */
void vm_config_default_mac(const struct vm_config *cfg, unsigned index, uint8_t mac[6]);

#endif
