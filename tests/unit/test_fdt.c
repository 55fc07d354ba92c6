/* The generated device tree, read back with libfdt and checked by dtc. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/fdt.h"

#define ISA     "rv64imafdc_zicsr_zifencei_zihintpause_zba_zbb_zbs_sstc"
#define BUF_LEN 16384

static const char isa_exts[] = "i\0m\0a\0f\0d\0c\0zicsr\0zifencei\0zihintpause\0zba\0zbb\0zbs\0"
                               "sstc\0zicntr";

/* A UART, the boot-timer and three virtio slots, as a VM's registry gives them. */
static const struct fdt_device devices[] = {
    {"serial", "ns16550a", 0x10000000, 0x100, 10, 3686400},
    {"boot-timer", "duvisor,boot-timer", 0x10200000, 0x1000, 0, 0},
    {"virtio_mmio", "virtio,mmio", 0x10001000, 0x1000, 1, 0},
    {"virtio_mmio", "virtio,mmio", 0x10002000, 0x1000, 2, 0},
    {"virtio_mmio", "virtio,mmio", 0x10003000, 0x1000, 3, 0},
};
#define NDEVICES (sizeof(devices) / sizeof(devices[0]))

static struct fdt_params params(unsigned ncpus)
{
    return (struct fdt_params){
        .ncpus = ncpus,
        .ram_base = 0x80000000,
        .ram_size = 256ull << 20,
        .bootargs = "console=ttyS0 earlycon=sbi",
        .initrd_start = 0x8f000000,
        .initrd_end = 0x8f123456,
        .isa = ISA,
        .plic_base = 0xc000000,
        .plic_size = 0x600000,
        .plic_ndev = 95,
        .devices = devices,
        .ndevices = NDEVICES,
        .timebase_hz = 10000000,
    };
}

static int build(const struct fdt_params *p, void *buf)
{
    char err[256] = "";
    int n = fdt_build(p, buf, BUF_LEN, err, sizeof(err));
    if (n < 0)
        fail_msg("fdt_build: %s", err);
    assert_in_range(n, 1, BUF_LEN);
    assert_int_equal(fdt_check_full(buf, (size_t)n), 0);
    assert_int_equal(fdt_totalsize(buf), n);
    return n;
}

static int node(const void *fdt, const char *path)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0)
        fail_msg("no node %s: %s", path, fdt_strerror(off));
    return off;
}

static const void *prop(const void *fdt, int off, const char *name, int want_len)
{
    int len = -1;
    const void *v = fdt_getprop(fdt, off, name, &len);
    if (!v)
        fail_msg("no property %s", name);
    if (want_len >= 0)
        assert_int_equal(len, want_len);
    return v;
}

static uint32_t u32(const void *fdt, int off, const char *name)
{
    return fdt32_ld(prop(fdt, off, name, 4));
}

static uint64_t u64(const void *fdt, int off, const char *name)
{
    return fdt64_ld(prop(fdt, off, name, 8));
}

static void assert_str(const void *fdt, int off, const char *name, const char *want)
{
    assert_string_equal(prop(fdt, off, name, (int)strlen(want) + 1), want);
}

static void assert_empty(const void *fdt, int off, const char *name)
{
    prop(fdt, off, name, 0);
}

static void assert_reg(const void *fdt, int off, uint64_t addr, uint64_t size)
{
    const fdt64_t *reg = prop(fdt, off, "reg", 16);
    assert_int_equal(fdt64_ld(&reg[0]), addr);
    assert_int_equal(fdt64_ld(&reg[1]), size);
}

static void check_cpus(const void *fdt, const struct fdt_params *p)
{
    int cpus = node(fdt, "/cpus");
    assert_int_equal(u32(fdt, cpus, "#address-cells"), 1);
    assert_int_equal(u32(fdt, cpus, "#size-cells"), 0);
    assert_int_equal(u32(fdt, cpus, "timebase-frequency"), p->timebase_hz);

    unsigned count = 0;
    int off;
    fdt_for_each_subnode(off, fdt, cpus)
    {
        const char *dt = fdt_getprop(fdt, off, "device_type", NULL);
        if (dt && strcmp(dt, "cpu") == 0)
            count++;
    }
    assert_int_equal(count, p->ncpus);

    for (unsigned cpu = 0; cpu < p->ncpus; cpu++) {
        char path[64];
        snprintf(path, sizeof(path), "/cpus/cpu@%x", cpu);
        int c = node(fdt, path);
        assert_str(fdt, c, "device_type", "cpu");
        assert_int_equal(u32(fdt, c, "reg"), cpu);
        assert_str(fdt, c, "status", "okay");
        assert_str(fdt, c, "compatible", "riscv");
        assert_str(fdt, c, "riscv,isa", ISA);
        assert_str(fdt, c, "riscv,isa-base", "rv64i");
        assert_memory_equal(prop(fdt, c, "riscv,isa-extensions", sizeof(isa_exts)), isa_exts,
                            sizeof(isa_exts));
        assert_str(fdt, c, "mmu-type", "riscv,sv57");

        snprintf(path, sizeof(path), "/cpus/cpu@%x/interrupt-controller", cpu);
        int intc = node(fdt, path);
        assert_str(fdt, intc, "compatible", "riscv,cpu-intc");
        assert_int_equal(u32(fdt, intc, "#interrupt-cells"), 1);
        assert_empty(fdt, intc, "interrupt-controller");
        assert_int_equal(fdt_get_phandle(fdt, intc), FDT_PHANDLE_CPU_INTC(cpu));
    }
}

static void check_plic(const void *fdt, const struct fdt_params *p)
{
    int plic = node(fdt, "/soc/plic@c000000");
    static const char compat[] = "sifive,plic-1.0.0\0riscv,plic0";
    assert_memory_equal(prop(fdt, plic, "compatible", sizeof(compat)), compat, sizeof(compat));
    assert_reg(fdt, plic, p->plic_base, p->plic_size);
    assert_empty(fdt, plic, "interrupt-controller");
    assert_int_equal(u32(fdt, plic, "#interrupt-cells"), 1);
    assert_int_equal(u32(fdt, plic, "#address-cells"), 0);
    assert_int_equal(u32(fdt, plic, "riscv,ndev"), p->plic_ndev);
    assert_int_equal(fdt_get_phandle(fdt, plic), FDT_PHANDLE_PLIC);

    /* Context N: follow the phandle to hart N's intc, S-mode external interrupt. */
    const fdt32_t *ie = prop(fdt, plic, "interrupts-extended", (int)(8 * p->ncpus));
    for (unsigned cpu = 0; cpu < p->ncpus; cpu++) {
        int intc = fdt_node_offset_by_phandle(fdt, fdt32_ld(&ie[2 * cpu]));
        assert_true(intc >= 0);
        char path[128];
        assert_int_equal(fdt_get_path(fdt, intc, path, sizeof(path)), 0);
        char want[64];
        snprintf(want, sizeof(want), "/cpus/cpu@%x/interrupt-controller", cpu);
        assert_string_equal(path, want);
        assert_int_equal(fdt32_ld(&ie[2 * cpu + 1]), 9);
    }
}

static void check_devices(const void *fdt, const struct fdt_params *p)
{
    unsigned nvirtio = 0;
    for (unsigned i = 0; i < p->ndevices; i++) {
        const struct fdt_device *d = &p->devices[i];
        char path[64];
        snprintf(path, sizeof(path), "/soc/%s@%llx", d->name, (unsigned long long)d->base);
        int n = node(fdt, path);
        assert_str(fdt, n, "compatible", d->compatible);
        assert_reg(fdt, n, d->base, d->size);
        if (d->clock_hz)
            assert_int_equal(u32(fdt, n, "clock-frequency"), d->clock_hz);
        else
            assert_null(fdt_getprop(fdt, n, "clock-frequency", NULL));
        if (d->irq) {
            assert_int_equal(u32(fdt, n, "interrupts"), d->irq);
            assert_int_equal(u32(fdt, n, "interrupt-parent"), FDT_PHANDLE_PLIC);
        } else {
            assert_null(fdt_getprop(fdt, n, "interrupts", NULL));
        }
        nvirtio += !strcmp(d->compatible, "virtio,mmio");
    }
    /* The UART is the console. */
    if (p->ndevices)
        assert_str(fdt, node(fdt, "/chosen"), "stdout-path", "/soc/serial@10000000");
    assert_int_equal(fdt_node_offset_by_compatible(fdt, -1, "virtio,mmio") >= 0, nvirtio > 0);
}

static void check_tree(const void *fdt, const struct fdt_params *p)
{
    int root = node(fdt, "/");
    assert_int_equal(u32(fdt, root, "#address-cells"), 2);
    assert_int_equal(u32(fdt, root, "#size-cells"), 2);
    assert_str(fdt, root, "compatible", "riscv-virtio");
    assert_str(fdt, root, "model", "duvisor");

    int chosen = node(fdt, "/chosen");
    assert_str(fdt, chosen, "bootargs", p->bootargs);
    assert_str(fdt, chosen, "stdout-path", "/soc/serial@10000000");
    /* stdout-path must name a real node */
    assert_true(fdt_path_offset(fdt, fdt_getprop(fdt, chosen, "stdout-path", NULL)) >= 0);
    if (p->initrd_start) {
        assert_int_equal(u64(fdt, chosen, "linux,initrd-start"), p->initrd_start);
        assert_int_equal(u64(fdt, chosen, "linux,initrd-end"), p->initrd_end);
    } else {
        assert_null(fdt_getprop(fdt, chosen, "linux,initrd-start", NULL));
        assert_null(fdt_getprop(fdt, chosen, "linux,initrd-end", NULL));
    }

    int mem = node(fdt, "/memory@80000000");
    assert_str(fdt, mem, "device_type", "memory");
    assert_reg(fdt, mem, p->ram_base, p->ram_size);

    int soc = node(fdt, "/soc");
    assert_str(fdt, soc, "compatible", "simple-bus");
    assert_empty(fdt, soc, "ranges");
    assert_int_equal(u32(fdt, soc, "#address-cells"), 2);
    assert_int_equal(u32(fdt, soc, "#size-cells"), 2);

    check_cpus(fdt, p);
    check_plic(fdt, p);
    check_devices(fdt, p);
}

/* --irqchip aia: QEMU virt,aia=aplic-imsic's S-level nodes replace the PLIC. */
static void test_aia(void **state)
{
    (void)state;
    static char buf[BUF_LEN];
    struct fdt_params p = params(4);
    p.aia = true;
    p.isa = ISA "_ssaia";
    p.imsic_base = 0x28000000;
    p.aplic_base = p.plic_base = 0xd000000;
    p.plic_size = 0x8000;
    p.plic_ndev = 96;
    build(&p, buf);
    assert_true(fdt_path_offset(buf, "/soc/plic@c000000") < 0);
    int im = node(buf, "/soc/imsics@28000000");
    assert_str(buf, im, "compatible", "riscv,imsics");
    assert_reg(buf, im, 0x28000000, 4 * 0x1000);
    assert_empty(buf, im, "interrupt-controller");
    assert_empty(buf, im, "msi-controller");
    assert_int_equal(u32(buf, im, "#interrupt-cells"), 0);
    assert_int_equal(u32(buf, im, "riscv,num-ids"), 255);
    /* hart N's file signals hart N's S external interrupt (9), in hart order */
    const fdt32_t *ext = prop(buf, im, "interrupts-extended", 4 * 2 * 4);
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        assert_int_equal(fdt32_ld(&ext[2 * cpu]), FDT_PHANDLE_CPU_INTC(cpu));
        assert_int_equal(fdt32_ld(&ext[2 * cpu + 1]), 9);
    }
    int ap = node(buf, "/soc/aplic@d000000");
    assert_str(buf, ap, "compatible", "riscv,aplic");
    assert_reg(buf, ap, 0xd000000, 0x8000);
    assert_int_equal(u32(buf, ap, "msi-parent"), u32(buf, im, "phandle"));
    assert_int_equal(u32(buf, ap, "riscv,num-sources"), 96);
    assert_int_equal(u32(buf, ap, "#interrupt-cells"), 2);
    assert_null(fdt_getprop(buf, ap, "interrupts-extended", NULL)); /* MSI mode */
    /* devices: <wire IRQ_TYPE_LEVEL_HIGH> on the APLIC */
    int uart = node(buf, "/soc/serial@10000000");
    const fdt32_t *irq = prop(buf, uart, "interrupts", 8);
    assert_int_equal(fdt32_ld(&irq[0]), 10);
    assert_int_equal(fdt32_ld(&irq[1]), 4);
    assert_int_equal(u32(buf, uart, "interrupt-parent"), u32(buf, ap, "phandle"));
    /* the cpus list Ssaia */
    const char *exts = prop(buf, node(buf, "/cpus/cpu@0"), "riscv,isa-extensions", -1);
    bool found = false;
    for (const char *e = exts; *e; e += strlen(e) + 1)
        found |= !strcmp(e, "ssaia");
    assert_true(found);
}

static void test_one_cpu(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(1);
    build(&p, buf);
    check_tree(buf, &p);
    assert_true(fdt_path_offset(buf, "/cpus/cpu@1") < 0);
}

static void test_four_cpus(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(4);
    build(&p, buf);
    check_tree(buf, &p);
    assert_true(fdt_path_offset(buf, "/cpus/cpu@4") < 0);
}

static void test_max_cpus_no_initrd_no_virtio(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(32);
    p.initrd_start = p.initrd_end = 0;
    p.ndevices = 2; /* the UART and the boot-timer only */
    build(&p, buf);
    check_tree(buf, &p);
}

static void test_no_bootargs(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(1);
    p.bootargs = NULL;
    build(&p, buf);
    assert_null(fdt_getprop(buf, node(buf, "/chosen"), "bootargs", NULL));
}

static void assert_exts(const char *isa, const char *want, size_t want_len)
{
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(1);
    p.isa = isa;
    build(&p, buf);
    int c = node(buf, "/cpus/cpu@0");
    assert_memory_equal(prop(buf, c, "riscv,isa-extensions", (int)want_len), want, want_len);
}

static void test_isa_extensions(void **state)
{
    (void)state;
    static const char g[] = "i\0m\0a\0f\0d\0zicsr\0zifencei\0c\0zba\0zicntr";
    assert_exts("rv64gc_zba", g, sizeof(g));
    /* zicntr is not repeated; the first multi-letter name may follow the letters */
    static const char i[] = "i\0zicntr\0zicsr";
    assert_exts("rv64izicntr_zicsr", i, sizeof(i));
}

static void expect_error(const struct fdt_params *p, const char *needle)
{
    static uint8_t buf[BUF_LEN];
    char err[256] = "";
    int rc = fdt_build(p, buf, sizeof(buf), err, sizeof(err));
    if (rc != -1)
        fail_msg("fdt_build succeeded (%d), expected an error about '%s'", rc, needle);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void test_bad_params(void **state)
{
    (void)state;
    struct fdt_params p;
    p = params(0), expect_error(&p, "cpus");
    p = params(33), expect_error(&p, "cpus");
    static const char *const bad_isas[] = {"rv32imac",  "RV64IMAC", "rv64imac_", "rv64i__zba",
                                           "rv64i2p0m", "rv64mac",  "rv64",      "rv64i_zb-a",
                                           "rv64i_1x",  ""};
    for (size_t i = 0; i < sizeof(bad_isas) / sizeof(bad_isas[0]); i++) {
        p = params(1), p.isa = bad_isas[i];
        expect_error(&p, "ISA");
    }
    p = params(1), p.isa = NULL, expect_error(&p, "ISA");
    p = params(1), p.ram_size = 0, expect_error(&p, "memory");
    p = params(1), p.initrd_end = p.initrd_start, expect_error(&p, "initrd");
    p = params(1), p.initrd_start = 0, p.initrd_end = 0x1000, expect_error(&p, "initrd");
    p = params(1), p.initrd_end = 0, expect_error(&p, "initrd");
    p = params(1), p.initrd_end = 0x90000001, expect_error(&p, "initrd");
    p = params(1), p.plic_ndev = 0, expect_error(&p, "PLIC");
    p = params(1), p.plic_ndev = 1024, expect_error(&p, "PLIC");
    struct fdt_device bad[1];
    const struct fdt_device good = devices[0];
    bad[0] = good, bad[0].irq = 96;
    p = params(1), p.devices = bad, p.ndevices = 1, expect_error(&p, "device 0 (serial)");
    bad[0] = good, bad[0].size = 0;
    p = params(1), p.devices = bad, p.ndevices = 1, expect_error(&p, "register range");
    bad[0] = good, bad[0].base = UINT64_MAX - 0x10;
    p = params(1), p.devices = bad, p.ndevices = 1, expect_error(&p, "register range");
    bad[0] = good, bad[0].name = "a@b";
    p = params(1), p.devices = bad, p.ndevices = 1, expect_error(&p, "needs a name");
    bad[0] = good, bad[0].compatible = NULL;
    p = params(1), p.devices = bad, p.ndevices = 1, expect_error(&p, "compatible");
    p = params(1), p.devices = NULL, expect_error(&p, "no list");
    p = params(1), p.timebase_hz = 0, expect_error(&p, "timebase");
    p = params(1);
    char err[64];
    assert_int_equal(fdt_build(NULL, err, sizeof(err), err, sizeof(err)), -1);
}

static void test_buffer_too_small(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN + 64];
    struct fdt_params p = params(4);
    int need = build(&p, buf);
    char err[256] = "";
    /* Every size below the real one fails, and nothing is written past the buffer. */
    for (int len = 0; len < need; len += 1 + len / 8) {
        memset(buf, 0xa5, sizeof(buf));
        assert_int_equal(fdt_build(&p, buf, (size_t)len, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "does not fit"));
        for (size_t i = (size_t)len; i < sizeof(buf); i++)
            assert_int_equal(buf[i], 0xa5);
    }
    assert_int_equal(fdt_build(&p, buf, (size_t)need, err, sizeof(err)), need);
}

/* dtc decompiles the blob without a single warning (its checks cover bindings basics). */
static void test_dtc_clean(void **state)
{
    (void)state;
    static uint8_t buf[BUF_LEN];
    struct fdt_params p = params(4);
    int n = build(&p, buf);

    char blob[] = "/tmp/duvisor-fdt-XXXXXX";
    int fd = mkstemp(blob);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, (size_t)n), n);
    close(fd);
    char log[] = "/tmp/duvisor-dtc-XXXXXX";
    fd = mkstemp(log);
    assert_true(fd >= 0);
    close(fd);

    char cmd[256];
    snprintf(cmd, sizeof(cmd), "dtc -I dtb -O dts -o /dev/null %s 2>%s", blob, log);
    int rc = system(cmd);

    char out[4096] = "";
    FILE *f = fopen(log, "r");
    assert_non_null(f);
    size_t got = fread(out, 1, sizeof(out) - 1, f);
    out[got] = '\0';
    fclose(f);
    unlink(blob);
    unlink(log);
    if (rc != 0 || strstr(out, "Warning") || strstr(out, "ERROR") || strstr(out, "Error"))
        fail_msg("dtc (status %d) says:\n%s", rc, out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_one_cpu),     cmocka_unit_test(test_four_cpus),
        cmocka_unit_test(test_aia),         cmocka_unit_test(test_max_cpus_no_initrd_no_virtio),
        cmocka_unit_test(test_no_bootargs), cmocka_unit_test(test_isa_extensions),
        cmocka_unit_test(test_bad_params),  cmocka_unit_test(test_buffer_too_small),
        cmocka_unit_test(test_dtc_clean),
    };
    return cmocka_run_group_tests_name("fdt", tests, NULL, NULL);
}
