/* SPDX-License-Identifier: MIT */
/*
 * aia.h - the hart side of AIA (dvext.h's dv_machine_set_aia): the IMSIC
 * files and the APLIC domain of one machine, their guest-physical windows,
 * and the guest's AIA CSRs.
 */
#ifndef DUVISOR_HART_AIA_H
#define DUVISOR_HART_AIA_H

#include <stdbool.h>
#include <stdint.h>

#include "hart/csr.h"

struct dv_machine;
struct dv_hart;
struct aia;

/* Bits of dv_hart.aia_lines: who asserts the hart's SEIP. */
#define AIA_LINE_IMSIC 1u
#define AIA_LINE_APLIC 2u

/* Guest CSR numbers (S-level; VS-mode reaches the VS registers). */
#define CSR_SISELECT 0x150u
#define CSR_SIREG    0x151u
#define CSR_STOPEI   0x15cu
#define CSR_STOPI    0xdb0u

void aia_destroy(struct aia *a);
/* gpa is in the IMSIC or the APLIC window. */
bool aia_window(const struct aia *a, uint64_t gpa);
/* A guest load/store there; false: an access fault. */
bool aia_mmio(struct aia *a, uint64_t gpa, unsigned size, uint32_t *value, bool store);
void aia_set_irq(struct aia *a, unsigned source, bool level);

bool aia_guest_csr_is(unsigned csr);
/* A guest CSR instruction on an AIA CSR (op and operand as the instruction's;
   writes: the instruction writes). 0, or 1 / 2 for an illegal / virtual
   instruction exception. *old: the value read. */
int aia_guest_csr(struct dv_hart *h, unsigned csr, enum csr_op op, uint64_t operand, bool writes,
                  uint64_t *old);

#endif
