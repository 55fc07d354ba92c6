/*
 * The MMIO bus: guest-physical ranges that are not RAM, each owned by a
 * device. A load or store guest-page fault outside RAM lands here, decoded
 * from hutinst (no guest-memory read).
 */
#ifndef DUVISOR_VMM_MMIO_H
#define DUVISOR_VMM_MMIO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct mmio_region {
    uint64_t base, size;
    const char *name;
    /* size is 1, 2, 4 or 8; return false when the access is not valid for the device */
    bool (*read)(void *opaque, uint64_t offset, unsigned size, uint64_t *value);
    bool (*write)(void *opaque, uint64_t offset, unsigned size, uint64_t value);
    void *opaque;
};

#define MMIO_MAX_REGIONS 16

struct mmio_bus {
    unsigned count;
    struct mmio_region regions[MMIO_MAX_REGIONS];
    /* accesses the region's device refused (width, offset), ignored as hardware does */
    _Atomic uint64_t ignored[MMIO_MAX_REGIONS];
};

/* 0, or -1 if full or overlapping. Only before vCPUs run. */
int mmio_add(struct mmio_bus *bus, const struct mmio_region *region);
const struct mmio_region *mmio_find(const struct mmio_bus *bus, uint64_t gpa);

/* A load or store as hutinst describes it. */
struct mmio_access {
    bool is_store;
    unsigned size;     /* 1, 2, 4, 8 */
    bool sign_extend;  /* loads */
    unsigned reg;      /* rd for loads, rs2 for stores */
    unsigned insn_len; /* 2 or 4: how far uepc advances */
};

/* Decode a transformed instruction; false if it is not an integer load/store. */
bool mmio_decode(uint32_t hutinst, struct mmio_access *out);

/*
 * The region that takes the access hutinst describes at gpa, decoded into
 * out; NULL if none does: no region there, not an integer load/store, or not
 * naturally aligned (gpa not a multiple of the width, or hutinst's Addr.
 * Offset nonzero: the second part of an access the hart split at a page
 * boundary), or running past the region's end. The caller makes the access
 * an access fault, as hardware does for a misaligned access to an I/O region.
 */
const struct mmio_region *mmio_route(const struct mmio_bus *bus, uint64_t gpa, uint32_t hutinst,
                                     struct mmio_access *out);

#endif
