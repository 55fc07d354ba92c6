/*
 * Snapshots: a paused VM's whole state in one small file, and its RAM in
 * another (Firecracker's two files), plus the in-memory form live upgrade
 * hands to the next binary.
 *
 * The state file is written by this module alone:
 *
 *   "DUVISNAP" | u32 major | u32 minor | u32 arch (EM_RISCV | 64 << 16) |
 *   u32 0 | u64 body length | body | u64 CRC-64/XZ of everything before it
 *
 * The body is sections, each a name (u32 length + bytes), a u32 length and
 * the bytes: "machine" (the shape the file needs: version, vCPUs, RAM, the
 * device ids in order), "config", "plic", "vcpuN" per vCPU (since 1.1 ending
 * with the V state: vlenb, vtype/vl/vstart/vcsr, v0..v31), and "dev:ID"
 * for every device in the registry with state (each device writes its own,
 * next to its code, with util/state.h). Any other major version, another
 * architecture, a bad checksum, a section missing, unknown or not wholly
 * consumed, and every out-of-range value are refused with one line.
 *
 * The memory file is guest RAM byte for byte, sparse: pages the guest never
 * touched, and pages of zeros, are holes.
 */
#ifndef DUVISOR_VMM_SNAPSHOT_H
#define DUVISOR_VMM_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/config.h"

#define SNAPSHOT_FORMAT_MAJOR 1u
/* minor 1: --irqchip, VLEN and --console (config), the 'aia' section, V state (vcpuN),
   dev:hvc0's flag; 2: a vCPU's suspend, STA and FWFT state (vcpuN, after the V state);
   3: the SBI PMU's counter configuration (vcpuN, after those);
   4: the vsock device (config); 5: the balloon (config) */
#define SNAPSHOT_FORMAT_MINOR 5u
#define SNAPSHOT_MAX_BYTES    (80u << 20) /* KiB, but NICs may hold frames back */
#define SNAPSHOT_MAX_SECTIONS 64u

struct vm;
struct state_writer;

struct snapshot_section {
    char name[72];
    const uint8_t *data;
    size_t len;
    bool used;
    uint8_t *padded; /* owned: data, for a section of an older format (see snapshot.c) */
};

/* A state file, checked and split into sections. */
struct snapshot {
    uint8_t *buf; /* the whole file, owned */
    size_t len;
    unsigned major, minor;
    char version[64]; /* the duvisor that wrote it */
    struct vm_config cfg;
    unsigned nsections;
    struct snapshot_section sections[SNAPSHOT_MAX_SECTIONS];
};

/* The state of vm, which must be paused, as a state file's bytes in w.
   version names this duvisor. 0, or -1 with a reason. */
int snapshot_encode(struct vm *vm, const char *version, struct state_writer *w, char *err,
                    size_t err_len);
/* Write bytes to path (created 0600 or truncated). 0, or -1 with a reason. */
int snapshot_write_file(const char *path, const void *data, size_t len, char *err, size_t err_len);
/* Guest RAM to path as a sparse file. 0, or -1 with a reason. */
int snapshot_write_memory(struct vm *vm, const char *path, char *err, size_t err_len);
/* The same into fd (sized to the RAM first): 0, or -1 with errno set. */
int snapshot_write_memory_fd(struct vm *vm, int fd);
/* A diff memory file: only the pages that differ from base_path (the
   memory file of the VM's previous snapshot, or the one it was restored
   from), every other page a hole; zeroed pages are written as zeros.
   Merge it onto the base (snapshot_rebase_memory) to restore. */
int snapshot_write_memory_diff(struct vm *vm, const char *path, const char *base_path, char *err,
                               size_t err_len);
/* Copy every data extent of diff_path into base_path (same size). */
int snapshot_rebase_memory(const char *base_path, const char *diff_path, char *err, size_t err_len);

/* Check a state file's bytes and index its sections; s owns a copy. 0, or
   -1 with a reason (s is then empty). */
int snapshot_decode(struct snapshot *s, const void *data, size_t len, char *err, size_t err_len);
/* The same for a file. */
int snapshot_read_file(struct snapshot *s, const char *path, char *err, size_t err_len);
void snapshot_free(struct snapshot *s);

/* Put s's state into vm, built by vm_create_for_restore from s->cfg (and
   paused). Every section must be used. 0, or -1 with a reason: the VM must
   then be destroyed. */
int snapshot_apply(struct vm *vm, struct snapshot *s, char *err, size_t err_len);

#endif
