/* SPDX-License-Identifier: MIT */
/*
 * imsic.h - the guests' S-level IMSIC interrupt files (RISC-V AIA 1.0,
 * chapter "Incoming MSI Controller").
 *
 * One interrupt file per hart: what the H extension calls the hart's guest
 * interrupt file, seen by the VS-mode guest through siselect/sireg/stopei
 * (aliases of vsiselect/vsireg/vstopei). Identities 1..IMSIC_NUM_IDS; lower
 * numbers have higher priority. Per file: eidelivery (0 or 1; a guest file
 * has no 0x40000000), eithreshold, and the eip/eie arrays as 64-bit words
 * (eip0, eip2, ... in RV64 numbering: word k/2 for register k).
 *
 * Memory map (offsets from the first file): file n is the 4 KiB page at
 * n * IMSIC_PAGE; seteipnum_le at +0 sets the pending bit of the identity
 * written (ignored when not implemented); seteipnum_be at +4 is ignored
 * (a little-endian-only system may); everything reads zero. Only aligned
 * 32-bit accesses are accepted (others are access faults).
 *
 * A file's line (SEIP of its hart) is eidelivery == 1 and a pending-and-
 * enabled identity below eithreshold (when not zero). Every change that can
 * move it re-evaluates it and calls notify on a change, under the file's
 * lock, on the thread that made the change.
 *
 * Threads: every function may be called from any thread (MSIs come from
 * devices' threads and other harts); one mutex per file.
 */
#ifndef DUVISOR_HART_IMSIC_H
#define DUVISOR_HART_IMSIC_H

#include <stdbool.h>
#include <stdint.h>

#define IMSIC_NUM_IDS 255u /* identities 1..255: four 64-bit eip/eie words */
#define IMSIC_WORDS   4u
#define IMSIC_PAGE    0x1000u

/* Indirect register numbers (siselect values). */
#define IMSIC_SEL_EIDELIVERY  0x70u
#define IMSIC_SEL_EITHRESHOLD 0x72u
#define IMSIC_SEL_EIP0        0x80u
#define IMSIC_SEL_EIE0        0xc0u
#define IMSIC_SEL_LAST        0xffu

struct imsic_file_state {
    uint32_t eidelivery, eithreshold;
    uint64_t eip[IMSIC_WORDS], eie[IMSIC_WORDS];
};

struct imsic;
typedef void (*imsic_notify_fn)(void *opaque, unsigned hart, bool line);

struct imsic *imsic_create(unsigned nharts, imsic_notify_fn notify, void *opaque);
void imsic_destroy(struct imsic *im);

/* An MSI with data id for hart's file: sets eip[id] if id is implemented. */
void imsic_send(struct imsic *im, unsigned hart, uint32_t id);

/* Guest MMIO at offset from the first file. false: an access fault. */
bool imsic_mmio_read(struct imsic *im, uint64_t offset, unsigned size, uint32_t *value);
bool imsic_mmio_write(struct imsic *im, uint64_t offset, unsigned size, uint32_t value);

/* stopei's value: identity << 16 | identity, or 0. claim: also clear that
   identity's pending bit, in the same step (a CSR write to stopei). */
uint32_t imsic_topei(struct imsic *im, unsigned hart, bool claim);

/*
 * sireg with siselect = sel: old value in *old, then (when write) the
 * register becomes (old & ~mask) | (bits & mask), atomically against MSIs.
 * false: sel names no register of the file (an odd eip/eie number in RV64,
 * or outside 0x70..0xff): the caller raises the exception. Reserved numbers
 * 0x71, 0x73..0x7f read zero and ignore writes.
 */
bool imsic_ireg(struct imsic *im, unsigned hart, uint64_t sel, bool write, uint64_t mask,
                uint64_t bits, uint64_t *old);

bool imsic_line(struct imsic *im, unsigned hart);

void imsic_save(struct imsic *im, unsigned hart, struct imsic_file_state *out);
/* false (nothing changed) for a value the file cannot hold. */
bool imsic_restore(struct imsic *im, unsigned hart, const struct imsic_file_state *in);

#endif
