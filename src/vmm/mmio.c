/* The MMIO bus and the decoding of hutinst for emulated loads and stores. */
#include "vmm/mmio.h"

#include "hart/dvext.h"

#include <stddef.h>

int mmio_add(struct mmio_bus *bus, const struct mmio_region *region)
{
    if (bus->count == MMIO_MAX_REGIONS || region->size == 0 ||
        region->base + region->size < region->base)
        return -1;
    for (unsigned i = 0; i < bus->count; i++) {
        const struct mmio_region *r = &bus->regions[i];
        if (region->base < r->base + r->size && r->base < region->base + region->size)
            return -1;
    }
    bus->regions[bus->count++] = *region;
    return 0;
}

const struct mmio_region *mmio_find(const struct mmio_bus *bus, uint64_t gpa)
{
    for (unsigned i = 0; i < bus->count; i++)
        if (gpa - bus->regions[i].base < bus->regions[i].size)
            return &bus->regions[i];
    return NULL;
}

bool mmio_decode(uint32_t hutinst, struct mmio_access *out)
{
    /* A compressed original shows as its expansion with bit 1 cleared. */
    unsigned len = (hutinst & 2) ? 4 : 2;
    unsigned opcode = (hutinst | 2) & 0x7f;
    unsigned funct3 = (hutinst >> 12) & 7;
    if (opcode == 0x03) { /* LOAD */
        if (funct3 == 7)
            return false;
        *out = (struct mmio_access){
            .is_store = false,
            .size = 1u << (funct3 & 3),
            .sign_extend = funct3 < 4,
            .reg = (hutinst >> 7) & 31,
            .insn_len = len,
        };
        return true;
    }
    if (opcode == 0x23) { /* STORE */
        if (funct3 > 3)
            return false;
        *out = (struct mmio_access){
            .is_store = true,
            .size = 1u << funct3,
            .reg = (hutinst >> 20) & 31,
            .insn_len = len,
        };
        return true;
    }
    return false;
}

const struct mmio_region *mmio_route(const struct mmio_bus *bus, uint64_t gpa, uint32_t hutinst,
                                     struct mmio_access *out)
{
    const struct mmio_region *r = mmio_find(bus, gpa);
    if (!r || !mmio_decode(hutinst, out) || DV_HUTINST_ADDR_OFFSET(hutinst) != 0 ||
        (gpa & (out->size - 1)) != 0 || out->size > r->size || gpa - r->base > r->size - out->size)
        return NULL;
    return r;
}
