/* Guest CSR access and the guest's view of time and interrupts (csr.c). */
#ifndef DUVISOR_HART_CSR_H
#define DUVISOR_HART_CSR_H

#include "hart/hart.h"

/* A guest CSR instruction. Returns false with h->trap set when it must trap. */
enum csr_op { CSR_WRITE, CSR_SET, CSR_CLEAR };
bool csr_guest_access(struct dv_hart *h, const struct insn *in, unsigned csr, enum csr_op op,
                      uint64_t operand, bool writes, bool reads, uint64_t *old);
uint64_t csr_guest_sip(struct dv_hart *h, uint64_t now);
uint64_t hart_time(const struct dv_hart *h);

#endif
