/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/hart/imsic.c and src/hart/aplic.c: the guest's AIA.
 *
 * Expected behaviour is the ratified RISC-V AIA 1.0 specification's:
 * chapter "Incoming MSI Controller" (interrupt files, seteipnum, eidelivery,
 * eithreshold, eip/eie, *topei) and chapter "Advanced Platform-Level
 * Interrupt Controller" (domaincfg, sourcecfg, the pending-bit rules of
 * "Precise effects on interrupt-pending bits", targets, genmsi, IDCs).
 * Everything is driven as a guest (MMIO, the indirect registers) and the
 * hypervisor (wires) would.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hart/aplic.h"
#include "hart/imsic.h"

/* --- IMSIC ----------------------------------------------------------------------------- */

struct lines {
    unsigned n;
    bool level[4];
};

static void line_notify(void *opaque, unsigned hart, bool line)
{
    struct lines *l = opaque;
    l->level[hart] = line;
    l->n++;
}

static uint64_t ireg_read(struct imsic *im, unsigned hart, unsigned sel)
{
    uint64_t v = 0;
    assert_true(imsic_ireg(im, hart, sel, false, 0, 0, &v));
    return v;
}

static void ireg_write(struct imsic *im, unsigned hart, unsigned sel, uint64_t value)
{
    uint64_t old;
    assert_true(imsic_ireg(im, hart, sel, true, ~0ull, value, &old));
}

static void test_imsic_seteipnum_and_topei(void **state)
{
    (void)state;
    struct lines l = {0};
    struct imsic *im = imsic_create(2, line_notify, &l);
    assert_non_null(im);
    /* an MSI to file 1 sets only its pending bit; the line needs eie and eidelivery */
    assert_true(imsic_mmio_write(im, IMSIC_PAGE + 0, 4, 42));
    assert_int_equal(ireg_read(im, 1, IMSIC_SEL_EIP0), 1ull << 42);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), 0);
    assert_int_equal(imsic_topei(im, 1, false), 0); /* not enabled */
    ireg_write(im, 1, IMSIC_SEL_EIE0, 1ull << 42);
    assert_int_equal(imsic_topei(im, 1, false), 42u << 16 | 42u);
    assert_false(imsic_line(im, 1)); /* eidelivery 0: topei shows it, SEIP does not */
    assert_int_equal(l.n, 0);
    ireg_write(im, 1, IMSIC_SEL_EIDELIVERY, 1);
    assert_true(imsic_line(im, 1));
    assert_true(l.level[1]);
    /* a lower identity is a higher priority */
    imsic_send(im, 1, 200);
    ireg_write(im, 1, IMSIC_SEL_EIE0 + 6, 1ull << (200 - 192));
    imsic_send(im, 1, 7);
    ireg_write(im, 1, IMSIC_SEL_EIE0, (1ull << 42) | (1ull << 7));
    assert_int_equal(imsic_topei(im, 1, false) >> 16, 7);
    /* claims go 7, 42, 200, then nothing; the line drops after the last */
    assert_int_equal(imsic_topei(im, 1, true), 7u << 16 | 7u);
    assert_int_equal(imsic_topei(im, 1, true) >> 16, 42);
    assert_true(imsic_line(im, 1));
    assert_int_equal(imsic_topei(im, 1, true) >> 16, 200);
    assert_false(imsic_line(im, 1));
    assert_false(l.level[1]);
    assert_int_equal(imsic_topei(im, 1, true), 0);
    assert_int_equal(ireg_read(im, 1, IMSIC_SEL_EIP0), 0);
    imsic_destroy(im);
}

static void test_imsic_threshold_and_ids(void **state)
{
    (void)state;
    struct imsic *im = imsic_create(1, NULL, NULL);
    ireg_write(im, 0, IMSIC_SEL_EIDELIVERY, 1);
    ireg_write(im, 0, IMSIC_SEL_EIE0, ~0ull);
    imsic_send(im, 0, 10);
    /* eithreshold P: identities P and above do not count */
    ireg_write(im, 0, IMSIC_SEL_EITHRESHOLD, 10);
    assert_int_equal(imsic_topei(im, 0, false), 0);
    assert_false(imsic_line(im, 0));
    ireg_write(im, 0, IMSIC_SEL_EITHRESHOLD, 11);
    assert_int_equal(imsic_topei(im, 0, false) >> 16, 10);
    assert_true(imsic_line(im, 0));
    ireg_write(im, 0, IMSIC_SEL_EITHRESHOLD, 0);
    /* identity 0 and identities above 255 are not implemented: ignored */
    imsic_send(im, 0, 0);
    imsic_send(im, 0, 256);
    imsic_send(im, 0, 0xffffffffu);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), 1ull << 10);
    /* bit 0 of eip0/eie0 is read-only zero; eip8 and beyond read zero */
    ireg_write(im, 0, IMSIC_SEL_EIP0, ~0ull);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), ~1ull);
    ireg_write(im, 0, IMSIC_SEL_EIP0 + 8, ~0ull);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0 + 8), 0);
    /* identity 255 is the last */
    imsic_send(im, 0, 255);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0 + 6) >> 63, 1);
    /* eidelivery is WARL 0/1 (no 0x40000000 in a guest file) */
    ireg_write(im, 0, IMSIC_SEL_EIDELIVERY, 0x40000000);
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIDELIVERY), 0);
    /* reserved numbers read zero and ignore writes; odd eip/eie and numbers
       outside 0x70..0xff do not exist (the CSR access raises) */
    ireg_write(im, 0, 0x71, 5);
    assert_int_equal(ireg_read(im, 0, 0x71), 0);
    uint64_t v;
    assert_false(imsic_ireg(im, 0, 0x81, false, 0, 0, &v));
    assert_false(imsic_ireg(im, 0, 0xc1, false, 0, 0, &v));
    assert_false(imsic_ireg(im, 0, 0x30, false, 0, 0, &v));
    assert_false(imsic_ireg(im, 0, 0x100, false, 0, 0, &v));
    assert_false(imsic_ireg(im, 1, 0x70, false, 0, 0, &v)); /* no such hart */
    imsic_destroy(im);
}

static void test_imsic_mmio_rules(void **state)
{
    (void)state;
    struct imsic *im = imsic_create(2, NULL, NULL);
    uint32_t v = 1;
    /* everything reads zero; only aligned 32-bit accesses inside the files */
    assert_true(imsic_mmio_read(im, 0, 4, &v));
    assert_int_equal(v, 0);
    assert_false(imsic_mmio_write(im, 0, 8, 3));
    assert_false(imsic_mmio_write(im, 2, 4, 3));
    assert_false(imsic_mmio_write(im, 2 * IMSIC_PAGE, 4, 3));
    assert_false(imsic_mmio_read(im, 0, 1, &v));
    /* seteipnum_be is ignored (little-endian only); other offsets are read-only */
    assert_true(imsic_mmio_write(im, 4, 4, 3));
    assert_true(imsic_mmio_write(im, 8, 4, 3));
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), 0);
    assert_true(imsic_mmio_write(im, 0, 4, 3));
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), 1ull << 3);
    /* a read-modify-write of eip keeps a bit that arrived meanwhile: clear 3 only */
    imsic_send(im, 0, 4);
    uint64_t old;
    assert_true(imsic_ireg(im, 0, IMSIC_SEL_EIP0, true, 1ull << 3, 0, &old));
    assert_int_equal(old, (1ull << 3) | (1ull << 4));
    assert_int_equal(ireg_read(im, 0, IMSIC_SEL_EIP0), 1ull << 4);
    imsic_destroy(im);
}

static void test_imsic_save_restore(void **state)
{
    (void)state;
    struct lines l = {0};
    struct imsic *a = imsic_create(1, NULL, NULL), *b = imsic_create(1, line_notify, &l);
    ireg_write(a, 0, IMSIC_SEL_EIDELIVERY, 1);
    ireg_write(a, 0, IMSIC_SEL_EITHRESHOLD, 100);
    ireg_write(a, 0, IMSIC_SEL_EIE0 + 2, 1ull << 5);
    imsic_send(a, 0, 69);
    struct imsic_file_state st;
    imsic_save(a, 0, &st);
    assert_true(imsic_restore(b, 0, &st));
    assert_true(l.level[0]); /* the restored file drives its line */
    assert_int_equal(imsic_topei(b, 0, false) >> 16, 69);
    struct imsic_file_state bad = st;
    bad.eidelivery = 2;
    assert_false(imsic_restore(b, 0, &bad));
    bad = st;
    bad.eip[0] |= 1;
    assert_false(imsic_restore(b, 0, &bad));
    bad = st;
    bad.eithreshold = 256;
    assert_false(imsic_restore(b, 0, &bad));
    imsic_destroy(a);
    imsic_destroy(b);
}

/* --- APLIC ----------------------------------------------------------------------------- */

#define NSRC 97u /* wires 1..96 as QEMU virt's */

struct msis {
    unsigned n;
    unsigned hart[64];
    uint32_t eiid[64];
    bool idc[4];
    unsigned idc_events;
};

static void rec_msi(void *opaque, unsigned hart, uint32_t eiid)
{
    struct msis *m = opaque;
    if (m->n < 64) {
        m->hart[m->n] = hart;
        m->eiid[m->n] = eiid;
    }
    m->n++;
}

static void rec_idc(void *opaque, unsigned hart, bool line)
{
    struct msis *m = opaque;
    m->idc[hart] = line;
    m->idc_events++;
}

static uint32_t ard(struct aplic *a, uint32_t off)
{
    uint32_t v = 0xdeadbeef;
    assert_true(aplic_read(a, off, 4, &v));
    return v;
}

static void awr(struct aplic *a, uint32_t off, uint32_t v)
{
    assert_true(aplic_write(a, off, 4, v));
}

static uint32_t sourcecfg(unsigned s)
{
    return APLIC_SOURCECFG + 4 * (s - 1);
}

static uint32_t target(unsigned s)
{
    return APLIC_TARGET + 4 * (s - 1);
}

static uint32_t idc(unsigned hart, unsigned reg)
{
    return APLIC_IDC_BASE + APLIC_IDC_STRIDE * hart + reg;
}

static struct aplic *msi_domain(struct msis *m)
{
    struct aplic *a = aplic_create(NSRC, 2, rec_msi, rec_idc, m);
    assert_non_null(a);
    awr(a, APLIC_DOMAINCFG, APLIC_DOMAINCFG_IE | APLIC_DOMAINCFG_DM);
    return a;
}

static void test_aplic_domaincfg_and_sourcecfg(void **state)
{
    (void)state;
    struct msis m = {0};
    struct aplic *a = aplic_create(NSRC, 2, rec_msi, rec_idc, &m);
    /* reset: IE = DM = 0, bits 31:24 read 0x80; BE is read-only 0 */
    assert_int_equal(ard(a, APLIC_DOMAINCFG), 0x80000000u);
    awr(a, APLIC_DOMAINCFG, 0xffffffffu);
    assert_int_equal(ard(a, APLIC_DOMAINCFG), 0x80000104u);
    /* every defined mode sticks; reserved ones and D = 1 (a leaf domain) give 0 */
    for (uint32_t mode = 0; mode < 8; mode++) {
        awr(a, sourcecfg(5), mode);
        assert_int_equal(ard(a, sourcecfg(5)), mode == 2 || mode == 3 ? 0 : mode);
    }
    awr(a, sourcecfg(5), APLIC_SOURCECFG_D | 6);
    assert_int_equal(ard(a, sourcecfg(5)), 0);
    /* sources past the last read zero; so do the MSI address registers of a
       supervisor domain */
    awr(a, sourcecfg(97), 6);
    assert_int_equal(ard(a, sourcecfg(97)), 0);
    awr(a, APLIC_MMSIADDRCFG, 0x1234);
    assert_int_equal(ard(a, APLIC_MMSIADDRCFG), 0);
    assert_int_equal(ard(a, APLIC_MMSIADDRCFG + 8), 0);
    /* an inactive source has read-only zero pending, enable and target */
    awr(a, sourcecfg(5), APLIC_SM_INACTIVE);
    awr(a, APLIC_SETIPNUM, 5);
    awr(a, APLIC_SETIENUM, 5);
    awr(a, target(5), 1u << 18 | 3);
    assert_int_equal(ard(a, APLIC_SETIP), 0);
    assert_int_equal(ard(a, APLIC_SETIE), 0);
    assert_int_equal(ard(a, target(5)), 0);
    /* only aligned 32-bit accesses */
    uint32_t v;
    assert_false(aplic_read(a, 2, 4, &v));
    assert_false(aplic_write(a, 0, 8, 1));
    assert_false(aplic_read(a, APLIC_IDC_BASE + APLIC_IDC_STRIDE * APLIC_MAX_HARTS, 4, &v));
    aplic_destroy(a);
}

static void test_aplic_msi_edge(void **state)
{
    (void)state;
    struct msis m = {0};
    struct aplic *a = msi_domain(&m);
    awr(a, sourcecfg(10), APLIC_SM_EDGE1);
    awr(a, target(10), 1u << 18 | 0x7ff);
    assert_int_equal(ard(a, target(10)), 1u << 18 | 0x7ff); /* 11 EIID bits, Guest Index 0 */
    awr(a, target(10), 1u << 18 | 0x3f << 12 | 33);
    assert_int_equal(ard(a, target(10)), 1u << 18 | 33);
    /* a rising edge makes it pending; not enabled yet: no MSI */
    aplic_set_irq(a, 10, true);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 10);
    assert_int_equal(m.n, 0);
    /* enabling forwards it: an MSI to hart 1 with EIID 33, pending cleared */
    awr(a, APLIC_SETIENUM, 10);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.hart[0], 1);
    assert_int_equal(m.eiid[0], 33);
    assert_int_equal(ard(a, APLIC_SETIP), 0);
    /* staying high is no new edge; low then high is */
    aplic_set_irq(a, 10, true);
    aplic_set_irq(a, 10, false);
    assert_int_equal(m.n, 1);
    aplic_set_irq(a, 10, true);
    assert_int_equal(m.n, 2);
    /* setipnum_le (the MSI write port) and setip set an edge source pending */
    awr(a, APLIC_SETIPNUM_LE, 10);
    assert_int_equal(m.n, 3);
    awr(a, APLIC_SETIP, 1u << 10);
    assert_int_equal(m.n, 4);
    /* with IE = 0 pending waits; IE = 1 sends it */
    awr(a, APLIC_DOMAINCFG, APLIC_DOMAINCFG_DM);
    awr(a, APLIC_SETIPNUM, 10);
    assert_int_equal(m.n, 4);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 10);
    /* in_clrip clears it; clripnum of an inactive source does nothing */
    awr(a, APLIC_IN_CLRIP, 1u << 10);
    assert_int_equal(ard(a, APLIC_SETIP), 0);
    awr(a, APLIC_SETIPNUM, 10);
    awr(a, APLIC_DOMAINCFG, APLIC_DOMAINCFG_DM | APLIC_DOMAINCFG_IE);
    assert_int_equal(m.n, 5);
    /* a disabled source stays pending */
    awr(a, APLIC_CLRIENUM, 10);
    assert_int_equal(ard(a, APLIC_SETIE), 0);
    aplic_set_irq(a, 10, false);
    aplic_set_irq(a, 10, true);
    assert_int_equal(m.n, 5);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 10);
    /* falling-edge mode: the rectified input is inverted */
    awr(a, APLIC_CLRIPNUM, 10);
    awr(a, sourcecfg(10), APLIC_SM_EDGE0);
    awr(a, APLIC_SETIENUM, 10);
    assert_int_equal(ard(a, APLIC_IN_CLRIP) >> 10 & 1, 0); /* wire high, inverted */
    aplic_set_irq(a, 10, false);
    assert_int_equal(m.n, 6);
    aplic_destroy(a);
}

static void test_aplic_msi_level(void **state)
{
    (void)state;
    struct msis m = {0};
    struct aplic *a = msi_domain(&m);
    /* a level source already asserting when configured is seen */
    aplic_set_irq(a, 3, true);
    awr(a, sourcecfg(3), APLIC_SM_LEVEL1);
    awr(a, target(3), 0u << 18 | 5);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 3);
    assert_int_equal(ard(a, APLIC_IN_CLRIP), 1u << 3);
    awr(a, APLIC_SETIENUM, 3);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.eiid[0], 5);
    /* forwarded: not again while it stays high (no new low-to-high) */
    aplic_set_irq(a, 3, true);
    assert_int_equal(m.n, 1);
    /* Linux's retrigger: setipnum while still high sends again */
    awr(a, APLIC_SETIPNUM_LE, 3);
    assert_int_equal(m.n, 2);
    /* but not while low: a level source is never pending while low */
    aplic_set_irq(a, 3, false);
    awr(a, APLIC_SETIPNUM, 3);
    awr(a, APLIC_SETIP, 1u << 3);
    assert_int_equal(m.n, 2);
    assert_int_equal(ard(a, APLIC_SETIP), 0);
    /* pending that is cleared when the wire drops, before delivery */
    awr(a, APLIC_CLRIENUM, 3);
    aplic_set_irq(a, 3, true);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 3);
    aplic_set_irq(a, 3, false);
    assert_int_equal(ard(a, APLIC_SETIP), 0);
    /* Level0: asserted when low */
    awr(a, sourcecfg(3), APLIC_SM_LEVEL0);
    assert_int_equal(ard(a, APLIC_SETIP), 1u << 3);
    awr(a, APLIC_SETIENUM, 3);
    assert_int_equal(m.n, 3);
    aplic_destroy(a);
}

static void test_aplic_detached_and_genmsi(void **state)
{
    (void)state;
    struct msis m = {0};
    struct aplic *a = msi_domain(&m);
    awr(a, sourcecfg(7), APLIC_SM_DETACHED);
    awr(a, target(7), 1u << 18 | 9);
    awr(a, APLIC_SETIENUM, 7);
    /* the wire is ignored; the rectified input reads 0 */
    aplic_set_irq(a, 7, true);
    assert_int_equal(m.n, 0);
    assert_int_equal(ard(a, APLIC_IN_CLRIP), 0);
    awr(a, APLIC_SETIPNUM, 7);
    assert_int_equal(m.n, 1);
    assert_int_equal(m.eiid[0], 9);
    /* writes naming no active source are ignored */
    awr(a, APLIC_SETIPNUM, 0);
    awr(a, APLIC_SETIPNUM, 8);
    awr(a, APLIC_SETIPNUM, 5000);
    assert_int_equal(m.n, 1);
    /* setipnum_be: not implemented (little-endian only) */
    awr(a, APLIC_SETIPNUM_BE, 7u << 24);
    awr(a, APLIC_SETIPNUM_BE, 7);
    assert_int_equal(m.n, 1);
    /* genmsi sends at once, even with IE = 0, and reads back without Busy */
    awr(a, APLIC_DOMAINCFG, APLIC_DOMAINCFG_DM);
    awr(a, APLIC_GENMSI, 1u << 18 | 1u << 12 | 77);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.hart[1], 1);
    assert_int_equal(m.eiid[1], 77);
    assert_int_equal(ard(a, APLIC_GENMSI), 1u << 18 | 77);
    /* in direct mode genmsi is read-only zero */
    awr(a, APLIC_DOMAINCFG, 0);
    awr(a, APLIC_GENMSI, 1u << 18 | 77);
    assert_int_equal(ard(a, APLIC_GENMSI), 0);
    assert_int_equal(m.n, 2);
    aplic_destroy(a);
}

static void test_aplic_direct_mode(void **state)
{
    (void)state;
    struct msis m = {0};
    struct aplic *a = aplic_create(NSRC, 2, rec_msi, rec_idc, &m);
    awr(a, APLIC_DOMAINCFG, APLIC_DOMAINCFG_IE);
    awr(a, sourcecfg(1), APLIC_SM_EDGE1);
    awr(a, sourcecfg(2), APLIC_SM_LEVEL1);
    awr(a, sourcecfg(40), APLIC_SM_DETACHED);
    /* IPRIO 0 becomes 1; the hart index is kept */
    awr(a, target(1), 1u << 18 | 0);
    assert_int_equal(ard(a, target(1)), 1u << 18 | 1);
    awr(a, target(2), 1u << 18 | 5);
    awr(a, target(40), 0u << 18 | 3);
    awr(a, APLIC_SETIE, 0x6);
    awr(a, APLIC_SETIE + 4, 1u << 8);
    /* no idelivery: topi shows, the line does not */
    aplic_set_irq(a, 2, true);
    assert_int_equal(ard(a, idc(1, APLIC_TOPI)), 2u << 16 | 5);
    assert_false(m.idc[1]);
    awr(a, idc(1, APLIC_IDELIVERY), 1);
    assert_true(m.idc[1]);
    assert_false(m.idc[0]);
    /* priority: the smaller number wins over the lower id */
    aplic_set_irq(a, 1, true);
    assert_int_equal(ard(a, idc(1, APLIC_TOPI)), 1u << 16 | 1);
    /* ithreshold P hides priorities P and above */
    awr(a, idc(1, APLIC_ITHRESHOLD), 1);
    assert_int_equal(ard(a, idc(1, APLIC_TOPI)), 0);
    assert_false(m.idc[1]);
    awr(a, idc(1, APLIC_ITHRESHOLD), 0);
    /* claimi claims the edge source (pending cleared) ... */
    assert_int_equal(ard(a, idc(1, APLIC_CLAIMI)), 1u << 16 | 1);
    assert_int_equal(ard(a, APLIC_SETIP) & 2, 0);
    /* ... but a level source stays pending while its wire is high */
    assert_int_equal(ard(a, idc(1, APLIC_CLAIMI)), 2u << 16 | 5);
    assert_int_equal(ard(a, idc(1, APLIC_TOPI)), 2u << 16 | 5);
    /* in direct mode a level's pending bit follows the wire: setip/clrip do nothing */
    awr(a, APLIC_CLRIPNUM, 2);
    assert_int_equal(ard(a, APLIC_SETIP) & 4, 4);
    aplic_set_irq(a, 2, false);
    assert_int_equal(ard(a, APLIC_SETIP) & 4, 0);
    awr(a, APLIC_SETIPNUM, 2);
    assert_int_equal(ard(a, APLIC_SETIP) & 4, 0);
    assert_false(m.idc[1]);
    /* a detached source for hart 0 */
    awr(a, idc(0, APLIC_IDELIVERY), 1);
    awr(a, APLIC_SETIPNUM, 40);
    assert_true(m.idc[0]);
    assert_int_equal(ard(a, idc(0, APLIC_CLAIMI)), 40u << 16 | 3);
    assert_false(m.idc[0]);
    /* iforce: a spurious interrupt; a claim of 0 clears iforce */
    awr(a, idc(0, APLIC_IFORCE), 1);
    assert_true(m.idc[0]);
    assert_int_equal(ard(a, idc(0, APLIC_CLAIMI)), 0);
    assert_int_equal(ard(a, idc(0, APLIC_IFORCE)), 0);
    assert_false(m.idc[0]);
    /* IE = 0 holds every line low; IDCs of no hart read zero */
    awr(a, idc(0, APLIC_IFORCE), 1);
    awr(a, APLIC_DOMAINCFG, 0);
    assert_false(m.idc[0]);
    awr(a, idc(3, APLIC_IDELIVERY), 1);
    assert_int_equal(ard(a, idc(3, APLIC_IDELIVERY)), 0);
    /* no MSIs in direct mode */
    assert_int_equal(m.n, 0);
    aplic_destroy(a);
}

static void test_aplic_save_restore(void **state)
{
    (void)state;
    struct msis m = {0}, m2 = {0};
    struct aplic *a = msi_domain(&m);
    awr(a, sourcecfg(4), APLIC_SM_LEVEL1);
    awr(a, target(4), 1u << 18 | 12);
    aplic_set_irq(a, 4, true);
    struct aplic_state *st = malloc(sizeof(*st));
    aplic_save(a, st);
    struct aplic *b = aplic_create(NSRC, 2, rec_msi, rec_idc, &m2);
    assert_true(aplic_restore(b, st));
    /* the wire is part of the state: driving it high again is no edge */
    aplic_set_irq(b, 4, true);
    awr(b, APLIC_SETIENUM, 4);
    assert_int_equal(m2.n, 1); /* it was pending at the save: forwarded on enable */
    aplic_set_irq(b, 4, true);
    assert_int_equal(m2.n, 1);
    /* shapes and values it cannot hold are refused */
    struct aplic_state *bad = malloc(sizeof(*bad));
    *bad = *st;
    bad->sourcecfg[4] = 2;
    assert_false(aplic_restore(b, bad));
    *bad = *st;
    bad->nsources = 50;
    assert_false(aplic_restore(b, bad));
    *bad = *st;
    bad->enable[0] |= 1u << 9; /* an inactive source */
    assert_false(aplic_restore(b, bad));
    *bad = *st;
    bad->idelivery[5] = 1; /* no such hart */
    assert_false(aplic_restore(b, bad));
    free(bad);
    free(st);
    aplic_destroy(a);
    aplic_destroy(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_imsic_seteipnum_and_topei),
        cmocka_unit_test(test_imsic_threshold_and_ids),
        cmocka_unit_test(test_imsic_mmio_rules),
        cmocka_unit_test(test_imsic_save_restore),
        cmocka_unit_test(test_aplic_domaincfg_and_sourcecfg),
        cmocka_unit_test(test_aplic_msi_edge),
        cmocka_unit_test(test_aplic_msi_level),
        cmocka_unit_test(test_aplic_detached_and_genmsi),
        cmocka_unit_test(test_aplic_direct_mode),
        cmocka_unit_test(test_aplic_save_restore),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
