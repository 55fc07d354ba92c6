/* SPDX-License-Identifier: MIT */
/*
 * aplic.h - the guest's APLIC supervisor-level interrupt domain (RISC-V AIA
 * 1.0, chapter "Advanced Platform-Level Interrupt Controller").
 *
 * One leaf domain (no children: sourcecfg.D cannot be set) with sources
 * 1..nsources-1 and one IDC per hart. Both delivery modes:
 *  - MSI (domaincfg.DM = 1): a pending-and-enabled source, with IE = 1, is
 *    forwarded at once through msi(hart index, EIID) and its pending bit
 *    cleared; genmsi sends an extempore MSI the same way (Busy never shows).
 *  - direct (DM = 0): each hart's IDC (idelivery, iforce, ithreshold, topi,
 *    claimi) drives that hart's SEIP through idc_notify.
 * Source modes inactive, detached, edge rise/fall, level high/low, with the
 * pending-bit rules of the spec's "Precise effects on interrupt-pending
 * bits"; writing a level mode while the rectified input is high makes the
 * source pending (which the spec allows), so a device already asserting is
 * seen. BE is read-only 0 (setipnum_be reads zero and ignores writes), the
 * MSI address registers of a machine-level domain read zero, Guest Index is
 * read-only 0, EIID has 11 bits, IPRIOLEN is 8.
 *
 * Register map: the spec's, offsets from the domain's base; IDC n at
 * APLIC_IDC_BASE + 32 * n. Only aligned 32-bit accesses (others: access
 * faults). Threads: any; one mutex. msi and idc_notify are called with it
 * held.
 */
#ifndef DUVISOR_HART_APLIC_H
#define DUVISOR_HART_APLIC_H

#include <stdbool.h>
#include <stdint.h>

#define APLIC_MAX_SOURCES 1024u /* including the non-existent source 0 */
#define APLIC_WORDS       (APLIC_MAX_SOURCES / 32u)
#define APLIC_MAX_HARTS   512u /* IDCs that fit 0x4000..0x8000 */

#define APLIC_DOMAINCFG   0x0000u
#define APLIC_SOURCECFG   0x0004u /* + 4 * (source - 1) */
#define APLIC_MMSIADDRCFG 0x1bc0u /* .. 0x1bcf: not in a supervisor domain */
#define APLIC_SETIP       0x1c00u
#define APLIC_SETIPNUM    0x1cdcu
#define APLIC_IN_CLRIP    0x1d00u
#define APLIC_CLRIPNUM    0x1ddcu
#define APLIC_SETIE       0x1e00u
#define APLIC_SETIENUM    0x1edcu
#define APLIC_CLRIE       0x1f00u
#define APLIC_CLRIENUM    0x1fdcu
#define APLIC_SETIPNUM_LE 0x2000u
#define APLIC_SETIPNUM_BE 0x2004u
#define APLIC_GENMSI      0x3000u
#define APLIC_TARGET      0x3004u /* + 4 * (source - 1) */
#define APLIC_IDC_BASE    0x4000u
#define APLIC_IDC_STRIDE  0x20u
#define APLIC_IDELIVERY   0x00u
#define APLIC_IFORCE      0x04u
#define APLIC_ITHRESHOLD  0x08u
#define APLIC_TOPI        0x18u
#define APLIC_CLAIMI      0x1cu

#define APLIC_DOMAINCFG_RO 0x80000000u
#define APLIC_DOMAINCFG_IE (1u << 8)
#define APLIC_DOMAINCFG_DM (1u << 2)
#define APLIC_SOURCECFG_D  (1u << 10)

enum aplic_sm {
    APLIC_SM_INACTIVE = 0,
    APLIC_SM_DETACHED = 1,
    APLIC_SM_EDGE1 = 4,
    APLIC_SM_EDGE0 = 5,
    APLIC_SM_LEVEL1 = 6,
    APLIC_SM_LEVEL0 = 7,
};

struct aplic_state {
    unsigned nsources, nharts; /* must match on restore */
    uint32_t domaincfg, genmsi;
    uint32_t sourcecfg[APLIC_MAX_SOURCES], target[APLIC_MAX_SOURCES];
    uint32_t pending[APLIC_WORDS], enable[APLIC_WORDS], input[APLIC_WORDS];
    uint32_t idelivery[APLIC_MAX_HARTS], iforce[APLIC_MAX_HARTS], ithreshold[APLIC_MAX_HARTS];
};

struct aplic;
typedef void (*aplic_msi_fn)(void *opaque, unsigned hart, uint32_t eiid);
typedef void (*aplic_idc_notify_fn)(void *opaque, unsigned hart, bool line);

struct aplic *aplic_create(unsigned nsources, unsigned nharts, aplic_msi_fn msi,
                           aplic_idc_notify_fn idc_notify, void *opaque);
void aplic_destroy(struct aplic *a);

bool aplic_read(struct aplic *a, uint64_t offset, unsigned size, uint32_t *value);
bool aplic_write(struct aplic *a, uint64_t offset, unsigned size, uint32_t value);
/* The wire of source (1..nsources-1) is now level. */
void aplic_set_irq(struct aplic *a, unsigned source, bool level);

void aplic_save(struct aplic *a, struct aplic_state *out);
/* false (nothing changed) for a shape or a value the domain cannot hold. */
bool aplic_restore(struct aplic *a, const struct aplic_state *in);

#endif
