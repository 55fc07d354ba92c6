/*
 * G-stage page tables: the hypervisor's map from guest-physical addresses to
 * its own memory (Sv39x4 or Sv48x4, dvext.md section 5). The tables live in
 * hypervisor memory, never in guest RAM. A leaf's PPN is a host virtual
 * address >> 12, as the software hart expects.
 *
 * Format (privileged spec, "Two-Stage Address Translation"): the root is a
 * 16 KiB-aligned table of 2048 PTEs (Sv39x4 indexes it with GPA[40:30],
 * Sv48x4 with GPA[49:39]); lower tables are 4 KiB, 512 PTEs. A non-leaf PTE is
 * V=1, R=W=X=0, PPN = next table's host address >> 12. A leaf is V=1, U=1,
 * A=1, the requested R/W/X, D=1 if W, G=0, bits 63:54 zero. Leaves are 4 KiB,
 * 2 MiB or 1 GiB (never 512 GiB).
 *
 * Memory and concurrency, for whoever walks these tables (the hart):
 *  - Every table stays allocated, at the same address, until gstage_destroy(),
 *    even after it is unlinked. A walker holding a stale table pointer may
 *    finish its walk safely; it just sees an old translation until the
 *    caller fences (dv_hufence_gvma).
 *  - Each PTE changes by one 8-byte atomic release store; a new table is
 *    fully initialised before it is linked. Walkers must read PTEs with
 *    acquire loads (__atomic_load_n(pte, __ATOMIC_ACQUIRE)).
 *  - Splitting a superpage replaces it with a table that maps the same
 *    addresses, so a walker sees the same translation before and after.
 *  - Writers (map, unmap) are serialised internally; lookup takes no lock.
 */
#ifndef DUVISOR_VMM_GSTAGE_H
#define DUVISOR_VMM_GSTAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* permission bits for gstage_map (the PTE R/W/X bits) */
enum { GSTAGE_R = 1u << 1, GSTAGE_W = 1u << 2, GSTAGE_X = 1u << 3 };

/* largest VMID hgatp can hold on RV64 (14 bits) */
#define GSTAGE_VMID_MAX 0x3fffu

struct gstage;

/* mode: DV_HUGATP_MODE_SV39X4 (8) or DV_HUGATP_MODE_SV48X4 (9). NULL on bad mode or no memory. */
struct gstage *gstage_create(unsigned mode);
/* Frees every table. No map, unmap, lookup or hart walk may be running. NULL is a no-op. */
void gstage_destroy(struct gstage *g);

/* The value to write to hugatp for these tables: mode << 60 | vmid << 44 | root >> 12.
   Returns 0 (bare mode, which the hart refuses) if g is NULL or vmid > GSTAGE_VMID_MAX. */
uint64_t gstage_hugatp(const struct gstage *g, unsigned vmid);

/*
 * Map [gpa, gpa+len) to [host, host+len) with perms (GSTAGE_R|W|X; W needs R).
 * gpa, host and len must be 4 KiB aligned and gpa+len within the mode's
 * guest-physical range. Uses 1 GiB and 2 MiB leaves where both addresses
 * are aligned for them, 4 KiB leaves elsewhere. Replaces existing mappings.
 * Safe against concurrent gstage_map calls and against harts walking the
 * tables meanwhile. Returns 0, or -1 on bad arguments or no memory.
 *
 * Bad arguments (also: len 0, perms 0 or outside R|W|X, W without R, gpa+len
 * or host+len wrapping, host+len beyond what a 44-bit PPN can name) change
 * nothing. Running out of table memory part-way returns -1 with the pages
 * before the failure point mapped and the rest left as they were.
 * Replacing existing mappings needs a fence by the caller, as for unmap.
 */
int gstage_map(struct gstage *g, uint64_t gpa, void *host, uint64_t len, unsigned perms);

/* Remove mappings in [gpa, gpa+len) (4 KiB aligned); a superpage partly inside
   is split first. The caller flushes harts (dv_hufence_gvma). 0 or -1.
   Unmapping unmapped space is not an error. Bad arguments change nothing; out
   of memory while splitting returns -1 with the pages before the failure point
   unmapped and the rest left as they were. */
int gstage_unmap(struct gstage *g, uint64_t gpa, uint64_t len);

/* Where gpa maps to: 0 with *host (for gpa itself) and *perms, or -1 if unmapped.
   gpa need not be aligned; host or perms may be NULL. Lock-free. */
int gstage_lookup(struct gstage *g, uint64_t gpa, void **host, unsigned *perms);

/* Number of 4 KiB tables allocated (the 16 KiB root not included). Tables are
   only released by gstage_destroy(), so this never decreases. */
size_t gstage_table_count(const struct gstage *g);

/* Cap the number of 4 KiB tables (0: no cap, the default). Reaching it behaves
   like running out of memory; this bounds what a guest can make the
   hypervisor allocate, and lets tests exercise partial failure. */
void gstage_set_table_limit(struct gstage *g, size_t max_tables);

#endif
