/*
 * libFuzzer harness for the instruction decoder (src/hart/decode.c), built and
 * run by `make fuzz`. The input is a run of little-endian 32-bit words; each
 * is decoded as the hart would see it (a compressed one with its upper half
 * zero), and the result is checked:
 *
 *  - len is 4 for bits[1:0] == 3, else 2; raw is the bits decoded; the op and
 *    every register field are in range;
 *  - decoding is a function of the instruction's own bits: a compressed
 *    instruction decodes the same whatever follows it in the word;
 *  - for an explicit load or store, mmu_transform_insn gives what the H
 *    extension's hutinst holds: the 32-bit expansion with the address fields
 *    zeroed and bit 1 cleared for a compressed original. Decoding that
 *    expansion (bit 1 set again) gives the same operation and data register
 *    with rs1 and imm zero, and mmio_decode (the VMM's side) reads back the
 *    same register, width and instruction length. So every compressed load
 *    and store decodes as its 32-bit expansion does.
 *
 * decode.h makes no compressed-to-32-bit expansion public, so that equality
 * is only checked for loads and stores, through the transform.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hart/decode.h"
#include "hart/mmu.h"
#include "hart/ops.h"
#include "vmm/mmio.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what, uint32_t raw, const struct insn *d)
{
    fprintf(stderr,
            "fuzz_decode: %s: raw 0x%08x -> op %u rd %u rs1 %u rs2 %u rs3 %u len %u imm %d\n", what,
            raw, d->op, d->rd, d->rs1, d->rs2, d->rs3, d->len, d->imm);
    abort();
}

/* Width in bytes of an integer load or store's funct3, 0 for others. */
static unsigned access_size(const struct op_info *info)
{
    if (info->opcode == 0x03 && info->funct3 != 7)
        return 1u << (info->funct3 & 3);
    if (info->opcode == 0x23 && info->funct3 <= 3)
        return 1u << info->funct3;
    return 0;
}

static void check_transform(uint32_t raw, const struct insn *d)
{
    const struct op_info *info = &op_infos[d->op];
    uint32_t t = mmu_transform_insn(d);
    if (info->kind == KIND_OTHER) {
        if (t != 0)
            fail("transform of a non-memory op is not 0", raw, d);
        return;
    }
    if (info->kind == KIND_AMO) {
        if (((t >> 15) & 31) != 0)
            fail("AMO transform keeps rs1", raw, d);
        return;
    }
    if (t == 0)
        fail("load/store transforms to 0", raw, d);
    if (((t >> 1) & 1) != (d->len == 4 ? 1u : 0u))
        fail("transform bit 1 does not match the length", raw, d);
    if (((t >> 15) & 31) != 0)
        fail("transform keeps rs1", raw, d);

    /* The expansion decodes to the same access, address fields zero. */
    struct insn e;
    decode(t | 2, &e);
    if (e.len != 4 || e.op != d->op || e.rs1 != 0 || e.imm != 0)
        fail("expansion decodes differently", raw, d);
    if (info->kind == KIND_LOAD && e.rd != d->rd)
        fail("expansion's rd differs", raw, d);
    if (info->kind == KIND_STORE && e.rs2 != d->rs2)
        fail("expansion's rs2 differs", raw, d);

    unsigned width = access_size(info);
    struct mmio_access a;
    bool ok = mmio_decode(t, &a);
    if (!width) {
        if (ok)
            fail("mmio_decode takes a non-integer access", raw, d);
        return;
    }
    if (!ok)
        fail("mmio_decode refuses an integer load/store", raw, d);
    if (a.is_store != (info->kind == KIND_STORE) || a.size != width || a.insn_len != d->len ||
        a.reg != (a.is_store ? d->rs2 : d->rd))
        fail("mmio_decode disagrees with decode", raw, d);
}

static void check_one(uint32_t raw)
{
    struct insn d;
    memset(&d, 0xa5, sizeof(d));
    decode(raw, &d);
    if (d.len != ((raw & 3) == 3 ? 4 : 2))
        fail("wrong length", raw, &d);
    if (d.raw != raw)
        fail("raw not kept", raw, &d);
    if (d.op >= OP_COUNT)
        fail("op out of range", raw, &d);
    if (d.rd >= 32 || d.rs1 >= 32 || d.rs2 >= 32 || d.rs3 >= 32)
        fail("register out of range", raw, &d);
    if (d.op == OP_ILLEGAL)
        return;
    check_transform(raw, &d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (size_t i = 0; i + 4 <= size; i += 2) {
        uint32_t w = (uint32_t)data[i] | (uint32_t)data[i + 1] << 8 | (uint32_t)data[i + 2] << 16 |
                     (uint32_t)data[i + 3] << 24;
        if ((w & 3) == 3) {
            check_one(w);
        } else {
            check_one(w & 0xffff);
            /* what follows a compressed instruction does not change it */
            struct insn a, b;
            decode(w & 0xffff, &a);
            decode((w & 0xffff) | (w & 0xffff0000u), &b);
            b.raw &= 0xffff;
            if (memcmp(&a, &b, sizeof(a)) != 0)
                fail("compressed decode depends on the upper half", w, &b);
        }
    }
    return 0;
}
