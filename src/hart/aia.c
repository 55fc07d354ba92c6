/* SPDX-License-Identifier: MIT */
/*
 * aia.c - AIA in the hart (see aia.h, dvext.h's dv_machine_set_aia): wires
 * the IMSIC files and the APLIC domain to the machine's harts and to the
 * guest's windows and CSRs.
 *
 * Lock order: APLIC, then an IMSIC file, then the machine's lock (taken by
 * the notifications to find the hart).
 */
#include "hart/aia.h"

#include <stdlib.h>
#include <string.h>

#include "hart/aplic.h"
#include "hart/hart.h"
#include "hart/imsic.h"

struct aia {
    struct dv_machine *m;
    uint64_t imsic_base, imsic_size, aplic_base;
    struct imsic *imsic;
    struct aplic *aplic;
};

/* SEIP source bit of hart changed to line. */
static void set_line(struct dv_machine *m, unsigned hart, unsigned bit, bool line)
{
    pthread_mutex_lock(&m->lock);
    struct dv_hart *h = hart < MAX_HARTS ? m->harts[hart] : NULL;
    if (h) {
        if (line)
            atomic_fetch_or(&h->aia_lines, bit);
        else
            atomic_fetch_and(&h->aia_lines, ~bit);
        hart_wake(h);
    }
    pthread_mutex_unlock(&m->lock);
}

static void imsic_notify(void *opaque, unsigned hart, bool line)
{
    set_line(opaque, hart, AIA_LINE_IMSIC, line);
}

static void idc_notify(void *opaque, unsigned hart, bool line)
{
    set_line(opaque, hart, AIA_LINE_APLIC, line);
}

/* The APLIC's MSIs go to the hart's S-level file: hart index n is the file
   at imsic_base + n * 4 KiB, as the device tree's IMSIC node lays them out. */
static void aplic_msi(void *opaque, unsigned hart, uint32_t eiid)
{
    struct dv_machine *m = opaque;
    imsic_send(m->aia->imsic, hart, eiid);
}

int dv_machine_set_aia(struct dv_machine *m, uint64_t imsic_base, uint64_t aplic_base,
                       unsigned nsources)
{
    uint64_t imsic_size = DV_IMSIC_PAGE * m->nharts;
    if (m->plic || m->aia || (imsic_base | aplic_base) & (PAGE_SIZE - 1) ||
        m->nharts > DV_AIA_MAX_HARTS || nsources > DV_AIA_MAX_SRCS ||
        imsic_base + imsic_size < imsic_base || aplic_base + DV_APLIC_SIZE < aplic_base ||
        (imsic_base < aplic_base + DV_APLIC_SIZE && aplic_base < imsic_base + imsic_size))
        return DV_ERR_INVALID;
    struct aia *a = calloc(1, sizeof(*a));
    if (!a)
        return DV_ERR_NOMEM;
    a->m = m;
    a->imsic_base = imsic_base;
    a->imsic_size = imsic_size;
    a->aplic_base = aplic_base;
    a->imsic = imsic_create(m->nharts, imsic_notify, m);
    a->aplic = aplic_create(nsources, m->nharts, aplic_msi, idc_notify, m);
    if (!a->imsic || !a->aplic) {
        aia_destroy(a);
        return DV_ERR_INVALID;
    }
    m->aia = a;
    return DV_OK;
}

void aia_destroy(struct aia *a)
{
    if (!a)
        return;
    aplic_destroy(a->aplic);
    imsic_destroy(a->imsic);
    free(a);
}

bool aia_window(const struct aia *a, uint64_t gpa)
{
    return gpa - a->imsic_base < a->imsic_size || gpa - a->aplic_base < DV_APLIC_SIZE;
}

bool aia_mmio(struct aia *a, uint64_t gpa, unsigned size, uint32_t *value, bool store)
{
    if (gpa - a->imsic_base < a->imsic_size)
        return store ? imsic_mmio_write(a->imsic, gpa - a->imsic_base, size, *value)
                     : imsic_mmio_read(a->imsic, gpa - a->imsic_base, size, value);
    return store ? aplic_write(a->aplic, gpa - a->aplic_base, size, *value)
                 : aplic_read(a->aplic, gpa - a->aplic_base, size, value);
}

void aia_set_irq(struct aia *a, unsigned source, bool level)
{
    aplic_set_irq(a->aplic, source, level);
}

bool aia_guest_csr_is(unsigned csr)
{
    return csr == CSR_SISELECT || csr == CSR_SIREG || csr == CSR_STOPEI || csr == CSR_STOPI;
}

/* vstopi with hvictl = 0 and hviprio1/2 = 0 (the hypervisor sets neither):
   the first of SEI, SSI, STI (the default order) pending and enabled, with
   IPRIO 1 as hvictl.IPRIOM = 0 gives. */
static uint64_t stopi(struct dv_hart *h)
{
    static const unsigned order[] = {9, 1, 5};
    uint64_t pending = csr_guest_sip(h, hart_time(h)) & h->vsie;
    for (unsigned i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (pending & (1ull << order[i]))
            return (uint64_t)order[i] << 16 | 1;
    return 0;
}

int aia_guest_csr(struct dv_hart *h, unsigned csr, enum csr_op op, uint64_t operand, bool writes,
                  uint64_t *old)
{
    struct aia *a = h->m->aia;
    /* the bits a write changes, and to what */
    uint64_t mask = op == CSR_WRITE ? ~0ull : operand;
    uint64_t bits = op == CSR_CLEAR ? 0 : operand;
    switch (csr) {
    case CSR_SISELECT:
        *old = h->vsiselect;
        if (writes)
            h->vsiselect = ((h->vsiselect & ~mask) | (bits & mask)) & 0x1ff; /* WARL, 9 bits */
        return 0;
    case CSR_SIREG:
        /* 0x30..0x3f (iprio) and everything but the file's registers are
           inaccessible at VS level: a virtual instruction exception */
        return imsic_ireg(a->imsic, h->vcpuid, h->vsiselect, writes, mask, bits, old) ? 0 : 2;
    case CSR_STOPEI: *old = imsic_topei(a->imsic, h->vcpuid, writes); return 0;
    case CSR_STOPI:
        if (writes)
            return 1; /* read-only */
        *old = stopi(h);
        return 0;
    }
    return 1;
}

int dv_aia_get_state(struct dv_machine *m, struct dv_aia_state *out)
{
    if (!m->aia)
        return DV_ERR_INVALID;
    struct aplic_state *s = malloc(sizeof(*s));
    if (!s)
        return DV_ERR_NOMEM;
    memset(out, 0, sizeof(*out));
    aplic_save(m->aia->aplic, s);
    out->nsources = s->nsources;
    out->nharts = s->nharts;
    out->domaincfg = s->domaincfg;
    out->genmsi = s->genmsi;
    memcpy(out->sourcecfg, s->sourcecfg, sizeof(out->sourcecfg));
    memcpy(out->target, s->target, sizeof(out->target));
    memcpy(out->pending, s->pending, sizeof(out->pending));
    memcpy(out->enable, s->enable, sizeof(out->enable));
    memcpy(out->input, s->input, sizeof(out->input));
    for (unsigned n = 0; n < s->nharts; n++) {
        struct imsic_file_state f;
        imsic_save(m->aia->imsic, n, &f);
        out->hart[n].idelivery = s->idelivery[n];
        out->hart[n].iforce = s->iforce[n];
        out->hart[n].ithreshold = s->ithreshold[n];
        out->hart[n].eidelivery = f.eidelivery;
        out->hart[n].eithreshold = f.eithreshold;
        memcpy(out->hart[n].eip, f.eip, sizeof(f.eip));
        memcpy(out->hart[n].eie, f.eie, sizeof(f.eie));
    }
    free(s);
    return DV_OK;
}

static bool all_zero(const void *p, size_t len)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < len; i++)
        if (b[i])
            return false;
    return true;
}

int dv_aia_set_state(struct dv_machine *m, const struct dv_aia_state *in)
{
    if (!m->aia || in->nharts != m->nharts)
        return DV_ERR_INVALID;
    struct aplic_state *s = calloc(1, sizeof(*s));
    if (!s)
        return DV_ERR_NOMEM;
    s->nsources = in->nsources;
    s->nharts = in->nharts;
    s->domaincfg = in->domaincfg;
    s->genmsi = in->genmsi;
    memcpy(s->sourcecfg, in->sourcecfg, sizeof(s->sourcecfg));
    memcpy(s->target, in->target, sizeof(s->target));
    memcpy(s->pending, in->pending, sizeof(s->pending));
    memcpy(s->enable, in->enable, sizeof(s->enable));
    memcpy(s->input, in->input, sizeof(s->input));
    bool ok = true;
    struct imsic_file_state f[DV_AIA_MAX_HARTS];
    for (unsigned n = 0; n < DV_AIA_MAX_HARTS; n++) {
        bool exists = n < in->nharts;
        s->idelivery[n] = in->hart[n].idelivery;
        s->iforce[n] = in->hart[n].iforce;
        s->ithreshold[n] = in->hart[n].ithreshold;
        f[n] = (struct imsic_file_state){.eidelivery = in->hart[n].eidelivery,
                                         .eithreshold = in->hart[n].eithreshold};
        memcpy(f[n].eip, in->hart[n].eip, sizeof(f[n].eip));
        memcpy(f[n].eie, in->hart[n].eie, sizeof(f[n].eie));
        if (!exists && !all_zero(&in->hart[n], sizeof(in->hart[n])))
            ok = false;
        if (exists && (f[n].eidelivery > 1 || f[n].eithreshold > DV_IMSIC_IDS ||
                       (f[n].eip[0] | f[n].eie[0]) & 1))
            ok = false;
    }
    /* The APLIC checks its part and sends nothing it should not; the files
       were checked above, so restoring them cannot fail half way. */
    ok = ok && aplic_restore(m->aia->aplic, s);
    for (unsigned n = 0; ok && n < in->nharts; n++)
        imsic_restore(m->aia->imsic, n, &f[n]);
    free(s);
    return ok ? DV_OK : DV_ERR_INVALID;
}
