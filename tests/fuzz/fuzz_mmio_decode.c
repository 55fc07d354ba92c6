/*
 * libFuzzer harness for mmio_decode (src/vmm/mmio.c), built and run by
 * `make fuzz`: every little-endian 32-bit word of the input is decoded as a
 * hutinst value. It must not crash, and when it accepts the word the access
 * must be one the bus can carry: size 1, 2, 4 or 8, reg < 32, insn_len 2 or 4,
 * sign extension only for loads (LB/LH/LW/LD), and the fields must be
 * the ones the encoding names (opcode, funct3, rd or rs2, bit 1).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, uint32_t w, const struct mmio_access *a)
{
    fprintf(stderr,
            "fuzz_mmio_decode: %s: hutinst 0x%08x -> store %d size %u sext %d reg %u len %u\n",
            what, w, a->is_store, a->size, a->sign_extend, a->reg, a->insn_len);
    abort();
}

static void check_one(uint32_t w)
{
    struct mmio_access a;
    memset(&a, 0xa5, sizeof(a));
    if (!mmio_decode(w, &a))
        return;
    if (a.size != 1 && a.size != 2 && a.size != 4 && a.size != 8)
        fail("bad size", w, &a);
    if (a.reg >= 32)
        fail("bad register", w, &a);
    if (a.insn_len != 2 && a.insn_len != 4)
        fail("bad instruction length", w, &a);
    if (a.insn_len != ((w & 2) ? 4u : 2u))
        fail("length does not follow bit 1", w, &a);
    unsigned opcode = (w | 2) & 0x7f, funct3 = (w >> 12) & 7;
    if (opcode != (a.is_store ? 0x23u : 0x03u))
        fail("accepted a non-load/store opcode", w, &a);
    if (a.is_store) {
        if (a.sign_extend)
            fail("sign-extending store", w, &a);
        if (a.reg != ((w >> 20) & 31) || a.size != 1u << funct3)
            fail("store fields", w, &a);
    } else {
        if (a.reg != ((w >> 7) & 31) || a.size != 1u << (funct3 & 3) ||
            a.sign_extend != (funct3 < 4))
            fail("load fields", w, &a);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 4 <= size; i++)
        check_one((uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                  (uint32_t)data[i + 3] << 24);
    return 0;
}
