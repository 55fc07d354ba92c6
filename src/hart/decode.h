/* Raw instruction bits -> struct insn (decode.c). */
#ifndef DUVISOR_HART_DECODE_H
#define DUVISOR_HART_DECODE_H

#include "hart/hart.h"

void decode(uint32_t raw, struct insn *out);

#endif
