/*
 * Device tree generation (see fdt.h). Bindings followed: the Devicetree
 * Specification (root, /chosen, /cpus, /memory, simple-bus) and Linux's
 * riscv/cpus.yaml, riscv,cpu-intc, sifive,plic-1.0.0, ns16550a and
 * virtio,mmio bindings.
 */
#include "vmm/fdt.h"
#include "hart/dvext.h"
#include "util/err.h"

#include <inttypes.h>
#include <libfdt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "vmm/config.h"

/* The PLIC has 1023 interrupt sources at most; source 0 means "none". */
#define PLIC_MAX_NDEV    1023u
/* The hart's S-mode external interrupt: the cause the PLIC's S-mode context raises. */
#define IRQ_S_EXT        9u
/* An IMSIC interrupt file's page, and the identities each file has. */
#define IMSIC_PAGE_BYTES 0x1000u
#define IMSIC_NUM_IDS    255u
/* Room for the extension stringlist derived from the ISA string. */
#define ISA_MAX          512u

/* ---- riscv,isa-extensions from the ISA string ---------------------------------- */

struct strlist {
    char buf[ISA_MAX];
    size_t len;
};

/* Append name[0..n) unless it is already listed. */
static bool strlist_add(struct strlist *l, const char *name, size_t n)
{
    for (size_t at = 0; at < l->len; at += strlen(l->buf + at) + 1)
        if (strlen(l->buf + at) == n && memcmp(l->buf + at, name, n) == 0)
            return true;
    if (n + 1 > sizeof(l->buf) - l->len)
        return false;
    memcpy(l->buf + l->len, name, n);
    l->buf[l->len + n] = '\0';
    l->len += n + 1;
    return true;
}

static bool strlist_add_str(struct strlist *l, const char *name)
{
    return strlist_add(l, name, strlen(name));
}

/*
 * "rv64" + single-letter extensions (starting with i, or g for
 * imafd_zicsr_zifencei), then '_'-separated multi-letter ones, the first of
 * which may follow the letters directly (ISA manual, "ISA Extension Naming
 * Conventions"). Lower case, no version numbers: what Linux 6.1 parses too.
 */
static bool isa_extensions(const char *isa, struct strlist *l)
{
    l->len = 0;
    if (strncmp(isa, "rv64", 4) != 0 || (isa[4] != 'i' && isa[4] != 'g'))
        return false;
    const char *c = isa + 4;
    for (; *c && *c != '_' && *c != 'z' && *c != 's' && *c != 'x'; c++) {
        if (*c < 'a' || *c > 'z')
            return false;
        if (*c == 'g') {
            static const char *const g[] = {"i", "m", "a", "f", "d", "zicsr", "zifencei"};
            for (size_t i = 0; i < sizeof(g) / sizeof(g[0]); i++)
                if (!strlist_add_str(l, g[i]))
                    return false;
        } else if (!strlist_add(l, c, 1)) {
            return false;
        }
    }
    while (*c) {
        if (*c == '_')
            c++;
        size_t n = strcspn(c, "_");
        if (n == 0 || *c < 'a' || *c > 'z')
            return false;
        for (size_t i = 1; i < n; i++)
            if (!((c[i] >= 'a' && c[i] <= 'z') || (c[i] >= '0' && c[i] <= '9')))
                return false;
        if (!strlist_add(l, c, n))
            return false;
        c += n;
    }
    /* The hart always has the cycle, time and instret counters. */
    return strlist_add_str(l, "zicntr");
}

/* ---- the tree ------------------------------------------------------------------- */

#define TRY(expr)                                                                                  \
    do {                                                                                           \
        int rc_ = (expr);                                                                          \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

static int begin_node_at(void *fdt, const char *name, uint64_t addr)
{
    char s[64];
    snprintf(s, sizeof(s), "%s@%" PRIx64, name, addr);
    return fdt_begin_node(fdt, s);
}

/* With #address-cells = #size-cells = 2 everywhere, a reg is two 64-bit cells. */
static int prop_reg(void *fdt, uint64_t addr, uint64_t size)
{
    fdt64_t reg[2] = {cpu_to_fdt64(addr), cpu_to_fdt64(size)};
    return fdt_property(fdt, "reg", reg, sizeof(reg));
}

static int build_cpus(void *fdt, const struct fdt_params *p, const struct strlist *ext)
{
    TRY(fdt_begin_node(fdt, "cpus"));
    TRY(fdt_property_u32(fdt, "#address-cells", 1));
    TRY(fdt_property_u32(fdt, "#size-cells", 0));
    TRY(fdt_property_u32(fdt, "timebase-frequency", p->timebase_hz));
    for (unsigned cpu = 0; cpu < p->ncpus; cpu++) {
        TRY(begin_node_at(fdt, "cpu", cpu));
        TRY(fdt_property_string(fdt, "device_type", "cpu"));
        TRY(fdt_property_u32(fdt, "reg", cpu));
        TRY(fdt_property_string(fdt, "status", "okay"));
        TRY(fdt_property_string(fdt, "compatible", "riscv"));
        TRY(fdt_property_string(fdt, "riscv,isa", p->isa));
        TRY(fdt_property_string(fdt, "riscv,isa-base", "rv64i"));
        TRY(fdt_property(fdt, "riscv,isa-extensions", ext->buf, (int)ext->len));
        /* Zicbom, Zicboz, Zicbop: Linux refuses them without their block size. */
        TRY(fdt_property_u32(fdt, "riscv,cbom-block-size", DV_CBO_BLOCK_SIZE));
        TRY(fdt_property_u32(fdt, "riscv,cboz-block-size", DV_CBO_BLOCK_SIZE));
        TRY(fdt_property_u32(fdt, "riscv,cbop-block-size", DV_CBO_BLOCK_SIZE));
        /* The hart has Sv39/48/57; Linux probes down from the largest. */
        TRY(fdt_property_string(fdt, "mmu-type", p->mmu_type ? p->mmu_type : "riscv,sv57"));
        TRY(fdt_begin_node(fdt, "interrupt-controller"));
        TRY(fdt_property_string(fdt, "compatible", "riscv,cpu-intc"));
        /* #address-cells 0: an interrupt-map could name this parent; dtc warns without it. */
        TRY(fdt_property_u32(fdt, "#address-cells", 0));
        TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
        TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
        TRY(fdt_property_u32(fdt, "phandle", FDT_PHANDLE_CPU_INTC(cpu)));
        TRY(fdt_end_node(fdt));
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

/* QEMU virt,aia=aplic-imsic's S-level nodes (Linux's riscv,imsics and
   riscv,aplic bindings): the IMSIC files signal each cpu's S external
   interrupt; the APLIC forwards its wires to them as MSIs. */
static int build_aia(void *fdt, const struct fdt_params *p)
{
    fdt32_t ext[2 * VM_MAX_VCPUS];
    for (unsigned cpu = 0; cpu < p->ncpus; cpu++) {
        ext[2 * cpu] = cpu_to_fdt32(FDT_PHANDLE_CPU_INTC(cpu));
        ext[2 * cpu + 1] = cpu_to_fdt32(IRQ_S_EXT);
    }
    TRY(begin_node_at(fdt, "imsics", p->imsic_base));
    TRY(fdt_property_string(fdt, "compatible", "riscv,imsics"));
    TRY(prop_reg(fdt, p->imsic_base, (uint64_t)IMSIC_PAGE_BYTES * p->ncpus));
    TRY(fdt_property_u32(fdt, "#address-cells", 0));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 0));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(fdt_property(fdt, "msi-controller", NULL, 0));
    TRY(fdt_property_u32(fdt, "#msi-cells", 0));
    TRY(fdt_property(fdt, "interrupts-extended", ext, (int)(2 * p->ncpus * sizeof(ext[0]))));
    TRY(fdt_property_u32(fdt, "riscv,num-ids", IMSIC_NUM_IDS));
    TRY(fdt_property_u32(fdt, "phandle", FDT_PHANDLE_IMSIC));
    TRY(fdt_end_node(fdt));

    TRY(begin_node_at(fdt, "aplic", p->aplic_base));
    TRY(fdt_property_string(fdt, "compatible", "riscv,aplic"));
    TRY(prop_reg(fdt, p->aplic_base, p->plic_size));
    TRY(fdt_property_u32(fdt, "#address-cells", 0));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 2));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(fdt_property_u32(fdt, "msi-parent", FDT_PHANDLE_IMSIC));
    TRY(fdt_property_u32(fdt, "riscv,num-sources", p->plic_ndev));
    TRY(fdt_property_u32(fdt, "phandle", FDT_PHANDLE_APLIC));
    return fdt_end_node(fdt);
}

static int build_plic(void *fdt, const struct fdt_params *p)
{
    static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    /* Context N is hart N's S-mode: one <intc 9> pair per hart, in hart order. */
    fdt32_t ext[2 * VM_MAX_VCPUS];
    for (unsigned cpu = 0; cpu < p->ncpus; cpu++) {
        ext[2 * cpu] = cpu_to_fdt32(FDT_PHANDLE_CPU_INTC(cpu));
        ext[2 * cpu + 1] = cpu_to_fdt32(IRQ_S_EXT);
    }
    TRY(begin_node_at(fdt, "plic", p->plic_base));
    TRY(fdt_property(fdt, "compatible", plic_compat, sizeof(plic_compat)));
    TRY(prop_reg(fdt, p->plic_base, p->plic_size));
    TRY(fdt_property_u32(fdt, "#address-cells", 0));
    TRY(fdt_property_u32(fdt, "#interrupt-cells", 1));
    TRY(fdt_property(fdt, "interrupt-controller", NULL, 0));
    TRY(fdt_property_u32(fdt, "riscv,ndev", p->plic_ndev));
    TRY(fdt_property(fdt, "interrupts-extended", ext, (int)(2 * p->ncpus * sizeof(ext[0]))));
    TRY(fdt_property_u32(fdt, "phandle", FDT_PHANDLE_PLIC));
    return fdt_end_node(fdt);
}

static int build_soc(void *fdt, const struct fdt_params *p)
{
    TRY(fdt_begin_node(fdt, "soc"));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_string(fdt, "compatible", "simple-bus"));
    TRY(fdt_property(fdt, "ranges", NULL, 0));

    if (p->aia)
        TRY(build_aia(fdt, p));
    else
        TRY(build_plic(fdt, p));

    for (unsigned i = 0; i < p->ndevices; i++) {
        const struct fdt_device *d = &p->devices[i];
        TRY(begin_node_at(fdt, d->name, d->base));
        TRY(fdt_property_string(fdt, "compatible", d->compatible));
        TRY(prop_reg(fdt, d->base, d->size));
        if (d->clock_hz)
            TRY(fdt_property_u32(fdt, "clock-frequency", d->clock_hz));
        if (d->irq && p->aia) {
            /* the APLIC's two cells: the wire, IRQ_TYPE_LEVEL_HIGH */
            fdt32_t cells[2] = {cpu_to_fdt32(d->irq), cpu_to_fdt32(4)};
            TRY(fdt_property(fdt, "interrupts", cells, sizeof(cells)));
            TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_PHANDLE_APLIC));
        } else if (d->irq) {
            TRY(fdt_property_u32(fdt, "interrupts", d->irq));
            TRY(fdt_property_u32(fdt, "interrupt-parent", FDT_PHANDLE_PLIC));
        }
        TRY(fdt_end_node(fdt));
    }
    return fdt_end_node(fdt);
}

static int build(void *fdt, int len, const struct fdt_params *p, const struct strlist *ext)
{
    TRY(fdt_create(fdt, len));
    TRY(fdt_finish_reservemap(fdt));
    TRY(fdt_begin_node(fdt, ""));
    TRY(fdt_property_u32(fdt, "#address-cells", 2));
    TRY(fdt_property_u32(fdt, "#size-cells", 2));
    TRY(fdt_property_string(fdt, "compatible", "riscv-virtio"));
    TRY(fdt_property_string(fdt, "model", "duvisor"));

    TRY(fdt_begin_node(fdt, "chosen"));
    if (p->bootargs)
        TRY(fdt_property_string(fdt, "bootargs", p->bootargs));
    for (unsigned i = 0; i < p->ndevices; i++) {
        if (!strcmp(p->devices[i].name, "serial")) {
            char stdout_path[64];
            snprintf(stdout_path, sizeof(stdout_path), "/soc/serial@%" PRIx64, p->devices[i].base);
            TRY(fdt_property_string(fdt, "stdout-path", stdout_path));
            break;
        }
    }
    if (p->initrd_start || p->initrd_end) {
        TRY(fdt_property_u64(fdt, "linux,initrd-start", p->initrd_start));
        TRY(fdt_property_u64(fdt, "linux,initrd-end", p->initrd_end));
    }
    TRY(fdt_end_node(fdt));

    TRY(build_cpus(fdt, p, ext));

    TRY(begin_node_at(fdt, "memory", p->ram_base));
    TRY(fdt_property_string(fdt, "device_type", "memory"));
    TRY(prop_reg(fdt, p->ram_base, p->ram_size));
    TRY(fdt_end_node(fdt));

    TRY(build_soc(fdt, p));
    TRY(fdt_end_node(fdt));
    return fdt_finish(fdt);
}

/* [base, base + size) is non-empty and does not wrap. */
static bool range_ok(uint64_t base, uint64_t size)
{
    return size && base + size - 1 >= base;
}

int fdt_build(const struct fdt_params *p, void *buf, size_t buf_len, char *err, size_t err_len)
{
    if (!p || !buf)
        return set_err(err, err_len, "no device tree parameters or buffer");
    if (p->ncpus < 1 || p->ncpus > VM_MAX_VCPUS)
        return set_err(err, err_len, "%u cpus: must be 1 to %u", p->ncpus, VM_MAX_VCPUS);
    struct strlist ext;
    if (!p->isa || !isa_extensions(p->isa, &ext))
        return set_err(err, err_len,
                       "ISA string '%s' is not rv64i or rv64g and lower-case extensions",
                       p->isa ? p->isa : "(null)");
    if (!range_ok(p->ram_base, p->ram_size))
        return set_err(err, err_len, "memory at 0x%" PRIx64 " of 0x%" PRIx64 " bytes is not valid",
                       p->ram_base, p->ram_size);
    if ((p->initrd_start || p->initrd_end) &&
        (p->initrd_end <= p->initrd_start || p->initrd_start < p->ram_base ||
         p->initrd_end - p->ram_base > p->ram_size))
        return set_err(err, err_len,
                       "initrd [0x%" PRIx64 ", 0x%" PRIx64 ") is empty or not inside memory",
                       p->initrd_start, p->initrd_end);
    if (!range_ok(p->plic_base, p->plic_size) || p->plic_ndev < 1 || p->plic_ndev > PLIC_MAX_NDEV)
        return set_err(err, err_len, "PLIC needs a register range and 1 to %u sources",
                       PLIC_MAX_NDEV);
    if (p->ndevices && !p->devices)
        return set_err(err, err_len, "%u devices and no list of them", p->ndevices);
    for (unsigned i = 0; i < p->ndevices; i++) {
        const struct fdt_device *d = &p->devices[i];
        if (!d->name || !*d->name || strchr(d->name, '@') || strchr(d->name, '/') ||
            !d->compatible || !range_ok(d->base, d->size) || d->irq > p->plic_ndev)
            return set_err(err, err_len,
                           "device %u (%s) needs a name, a compatible string, a register range "
                           "and an interrupt of at most %u",
                           i, d->name ? d->name : "(null)", p->plic_ndev);
    }
    if (p->timebase_hz == 0)
        return set_err(err, err_len, "timebase frequency is 0");

    int len = buf_len > INT_MAX ? INT_MAX : (int)buf_len;
    int rc = build(buf, len, p, &ext);
    if (rc == -FDT_ERR_NOSPACE)
        return set_err(err, err_len, "device tree does not fit in %zu bytes", buf_len);
    if (rc < 0)
        return set_err(err, err_len, "building the device tree: %s", fdt_strerror(rc));
    return (int)fdt_totalsize(buf);
}
