/*
 * CSRs: what the guest reaches with the csrr/csrw family (S-mode numbers land on the VS
 * registers, as with V=1 in the H extension) and what the hypervisor reaches
 * through dv_csr_read/dv_csr_write (the DV-Ext numbers of dvext.md).
 */
#include "hart/csr.h"
#include "hart/aia.h"
#include "hart/mmu.h"
#include "hart/vector.h"

uint64_t hart_time(const struct dv_hart *h)
{
    return dv_host_time() + h->hutimedelta;
}

uint64_t csr_guest_sip(struct dv_hart *h, uint64_t now)
{
    uint64_t sip = (h->huvip & DV_HUVIP_VSSIP) ? SIP_SSIP : 0;
    if ((h->huvip & DV_HUVIP_VSTIP) || now >= h->vstimecmp)
        sip |= SIP_STIP;
    if ((h->huvip & DV_HUVIP_VSEIP) || atomic_load_explicit(&h->plic_line, memory_order_relaxed) ||
        atomic_load_explicit(&h->aia_lines, memory_order_relaxed))
        sip |= SIP_SEIP;
    if (h->pmu.lcofip)
        sip |= SIP_LCOFIP;
    return sip;
}

/* sip.SSIP is huvip.VSSIP, as vsip.SSIP aliases hvip.VSSIP in the H extension. */
static void set_ssip(struct dv_hart *h, uint64_t sip)
{
    h->huvip = (h->huvip & ~DV_HUVIP_VSSIP) | ((sip & SIP_SSIP) ? DV_HUVIP_VSSIP : 0);
    h->pmu.lcofip = sip & SIP_LCOFIP; /* Sscofpmf: software clears (or sets) LCOFIP */
}

/* The interrupts a guest can enable: LCOFI (Sscofpmf) besides the standard three. */
#define VSIE_WRITABLE (SIP_SSIP | SIP_STIP | SIP_SEIP | SIP_LCOFIP)

static uint64_t sstatus_read(const struct dv_hart *h)
{
    uint64_t s = h->vsstatus & ~SSTATUS_SD;
    if ((s & SSTATUS_FS) == SSTATUS_FS_DIRTY || (s & SSTATUS_VS) == SSTATUS_VS_DIRTY)
        s |= SSTATUS_SD;
    return s;
}

static void sstatus_write(struct dv_hart *h, uint64_t value)
{
    uint64_t old = h->vsstatus;
    h->vsstatus = (old & ~SSTATUS_WRITABLE) | (value & SSTATUS_WRITABLE);
    if ((old ^ h->vsstatus) & (SSTATUS_SUM | SSTATUS_MXR))
        mmu_flush(h);      /* cached permissions depend on them */
    hart_request_check(h); /* SIE may have turned on */
}

static bool satp_write(struct dv_hart *h, uint64_t value)
{
    uint64_t mode = value >> 60;
    if (mode != 0 && mode != 8 && mode != 9 && mode != 10)
        return true; /* WARL: an unsupported mode leaves satp unchanged */
    h->vsatp = value & ~(0xfffull << 44 & ~(0xffffull << 44)); /* 16 ASID bits kept */
    mmu_flush(h);
    return true;
}

/*
 * The envcfg bits this hart implements for the guest: senvcfg PMM (VU
 * pointer masking; its others are senvcfg_legal's), huenvcfg PBMTE, ADUE and
 * PMM (VS). PMM is WARL: the
 * reserved value 1 leaves the field as it was. STCE reads 1 (Sstc is always
 * on). Each of these changes what a cached translation means: flush.
 */
#define HUENVCFG_WRITABLE (DV_ENVCFG_PBMTE | DV_ENVCFG_ADUE | DV_ENVCFG_PMM)
#define HUENVCFG_STCE     (1ull << 63)

static uint64_t envcfg_merge(uint64_t old, uint64_t value, uint64_t writable)
{
    if ((value & DV_ENVCFG_PMM) == 1ull << DV_ENVCFG_PMM_SHIFT)
        value = (value & ~DV_ENVCFG_PMM) | (old & DV_ENVCFG_PMM);
    return (old & ~writable) | (value & writable);
}

static void senvcfg_write(struct dv_hart *h, uint64_t value)
{
    uint64_t old = h->senvcfg;
    h->senvcfg = senvcfg_legal(value) | (envcfg_merge(old, value, DV_ENVCFG_PMM) & DV_ENVCFG_PMM);
    if ((old ^ h->senvcfg) & DV_ENVCFG_PMM)
        mmu_flush(h);
}

static void huenvcfg_write(struct dv_hart *h, uint64_t value)
{
    uint64_t old = h->huenvcfg;
    h->huenvcfg = envcfg_merge(old, value, HUENVCFG_WRITABLE);
    if (old != h->huenvcfg)
        mmu_flush(h);
}

static inline uint32_t fcsr_read(const struct dv_hart *h)
{
    return h->frm << 5 | h->fflags;
}

/* Counters: hucounteren (hypervisor) then scounteren (guest kernel, for VU). */
static bool counter_allowed(struct dv_hart *h, unsigned index)
{
    if (!(h->hucounteren & (1u << index)))
        return false;
    return h->priv == PRV_VS || (h->scounteren & (1u << index));
}

/*
 * Read a guest CSR. Returns 0 ok, 1 illegal instruction, 2 virtual instruction.
 */
static int guest_read(struct dv_hart *h, unsigned csr, uint64_t *value)
{
    switch (csr) {
    case 0x001: *value = h->fflags; return 0;
    case 0x002: *value = h->frm; return 0;
    case 0x003: *value = fcsr_read(h); return 0;
    case 0x100: *value = sstatus_read(h); return 0;
    case 0x104: *value = h->vsie; return 0;
    case 0x105: *value = h->vstvec; return 0;
    case 0x106: *value = h->scounteren; return 0;
    case 0x10a: *value = h->senvcfg; return 0;
    case 0x140: *value = h->vsscratch; return 0;
    case 0x141: *value = h->vsepc; return 0;
    case 0x142: *value = h->vscause; return 0;
    case 0x143: *value = h->vstval; return 0;
    case 0x144: *value = csr_guest_sip(h, hart_time(h)); return 0;
    case 0x14d: *value = h->vstimecmp; return 0;
    case 0x180:
        if (h->hustatus & DV_HUSTATUS_VTVM)
            return 2;
        *value = h->vsatp;
        return 0;
    case 0xda0: /* scountovf: only the counters the hypervisor lets the guest see */
        *value = pmu_overflowed(h) & h->hucounteren;
        return 0;
    }
    if (csr >= 0xc00 && csr <= 0xc1f) {
        if (!counter_allowed(h, csr - 0xc00))
            return 2;
        *value = csr == 0xc01 ? hart_time(h) : pmu_counter_read(h, csr - 0xc00);
        return 0;
    }
    return vec_csr_read(h, csr, value) ? 0 : 1;
}

static void guest_write(struct dv_hart *h, unsigned csr, uint64_t value)
{
    switch (csr) {
    case 0x001:
        h->fflags = value & 0x1f;
        fs_mark_dirty(h);
        break;
    case 0x002:
        h->frm = value & 7;
        fs_mark_dirty(h);
        break;
    case 0x003:
        h->fflags = value & 0x1f;
        h->frm = (value >> 5) & 7;
        fs_mark_dirty(h);
        break;
    case 0x100: sstatus_write(h, value); break;
    case 0x104:
        h->vsie = value & VSIE_WRITABLE;
        hart_request_check(h);
        break;
    case 0x105: h->vstvec = value & ~2ull; break;
    case 0x106: h->scounteren = value & 0xffffffffu; break;
    case 0x10a: senvcfg_write(h, value); break;
    case 0x140: h->vsscratch = value; break;
    case 0x141: h->vsepc = value & ~1ull; break;
    case 0x142: h->vscause = value; break;
    case 0x143: h->vstval = value; break;
    case 0x144:
        set_ssip(h, value);
        hart_request_check(h);
        break;
    case 0x14d:
        h->vstimecmp = value;
        hart_request_check(h);
        break;
    case 0x180: satp_write(h, value); break;
    default: vec_csr_write(h, csr, value); break;
    }
}

bool csr_guest_access(struct dv_hart *h, const struct insn *in, unsigned csr, enum csr_op op,
                      uint64_t operand, bool writes, bool reads, uint64_t *old)
{
    unsigned level = (csr >> 8) & 3;
    bool read_only = (csr >> 10) == 3;
    int fault = 0;
    if (level == 3)
        fault = 1; /* M-mode CSRs do not exist for a guest */
    else if (level == 2)
        fault = ((csr >= 0x200 && csr < 0x300) || (csr >= 0x600 && csr < 0x700)) ? 2 : 1;
    else if (level == 1 && h->priv == PRV_VU)
        fault = 2;
    else if (csr <= 3 && !(h->vsstatus & SSTATUS_FS))
        fault = 1;
    else if (vec_is_csr(csr) && !(h->vsstatus & SSTATUS_VS))
        fault = 1;
    uint64_t value = 0;
    if (!fault && h->m->aia && aia_guest_csr_is(csr)) {
        /* read and write in one step: a claim, or an eip update racing MSIs */
        fault = aia_guest_csr(h, csr, op, operand, writes, &value);
        if (!fault) {
            *old = value;
            return true;
        }
    } else if (!fault) {
        fault = guest_read(h, csr, &value);
    }
    if (!fault && writes && read_only)
        fault = 1;
    if (fault) {
        raise_trap(h, fault == 2 ? EXC_VIRTUAL_INSN : EXC_ILLEGAL, in->raw);
        return false;
    }
    (void)reads; /* every CSR here reads without side effects */
    if (writes) {
        uint64_t nv = op == CSR_WRITE ? operand
                      : op == CSR_SET ? value | operand
                                      : value & ~operand;
        guest_write(h, csr, nv);
    }
    *old = value;
    return true;
}

/* --- the hypervisor's view --------------------------------------------------------- */

int dv_csr_read(struct dv_hart *h, unsigned csr, uint64_t *value)
{
    switch (csr) {
    case DV_CSR_UTVEC: *value = h->utvec; break;
    case DV_CSR_USCRATCH: *value = h->uscratch; break;
    case DV_CSR_UEPC: *value = h->uepc; break;
    case DV_CSR_UCAUSE: *value = h->ucause; break;
    case DV_CSR_UTVAL: *value = h->utval; break;
    case DV_CSR_HUVSSTATUS: *value = sstatus_read(h); break;
    case DV_CSR_HUVSIE: *value = h->vsie; break;
    case DV_CSR_HUVSTVEC: *value = h->vstvec; break;
    case DV_CSR_HUVSSCRATCH: *value = h->vsscratch; break;
    case DV_CSR_HUVSEPC: *value = h->vsepc; break;
    case DV_CSR_HUVSCAUSE: *value = h->vscause; break;
    case DV_CSR_HUVSTVAL: *value = h->vstval; break;
    case DV_CSR_HUVSIP: *value = csr_guest_sip(h, hart_time(h)); break;
    case DV_CSR_HUVSTIMECMP: *value = h->vstimecmp; break;
    case DV_CSR_HUVSATP: *value = h->vsatp; break;
    case DV_CSR_HUVSISELECT:
        if (!h->m->aia)
            return DV_ERR_NO_CSR;
        *value = h->vsiselect;
        break;
    case DV_CSR_VTIMECMP: *value = h->vtimecmp; break;
    case DV_CSR_VTIMECTL: *value = h->vtimectl; break;
    case DV_CSR_VCPUID: *value = h->vcpuid; break;
    case DV_CSR_HUSTATUS: *value = h->hustatus; break;
    case DV_CSR_HUIE: *value = h->huie; break;
    case DV_CSR_HUTIMEDELTA: *value = h->hutimedelta; break;
    case DV_CSR_HUCOUNTEREN: *value = h->hucounteren; break;
    case DV_CSR_HUTVAL: *value = h->hutval; break;
    case DV_CSR_HUIP: *value = h->huip; break;
    case DV_CSR_HUVIP: *value = h->huvip; break;
    case DV_CSR_HUTINST: *value = h->hutinst; break;
    case DV_CSR_HUGATP: *value = h->hugatp; break;
    case DV_CSR_FCSR: *value = fcsr_read(h); break;
    case DV_CSR_GUEST_SCOUNTEREN: *value = h->scounteren; break;
    case DV_CSR_GUEST_SENVCFG: *value = h->senvcfg; break;
    case DV_CSR_HUENVCFG: *value = h->huenvcfg | HUENVCFG_STCE; break;
    case DV_CSR_GUEST_INSTRET: *value = h->instret; break;
    case DV_CSR_HUCOUNTINHIBIT: *value = h->pmu.inhibit; break;
    default:
        if (csr >= DV_CSR_VIPI0 && csr <= DV_CSR_VIPI3) {
            *value = atomic_load(&h->m->vipi[csr - DV_CSR_VIPI0]);
            break;
        }
        if (vec_is_csr(csr) && vec_csr_read(h, csr, value))
            break;
        if (csr >= DV_CSR_HUHPMCOUNTER0 && csr < DV_CSR_HUHPMCOUNTER0 + PMU_COUNTERS &&
            csr != 0xb01) {
            *value = pmu_counter_read(h, csr - DV_CSR_HUHPMCOUNTER0);
            break;
        }
        if (csr >= DV_CSR_HUHPMEVENT3 && csr < DV_CSR_HUCOUNTINHIBIT + PMU_COUNTERS) {
            *value = h->pmu.event[csr - DV_CSR_HUCOUNTINHIBIT];
            break;
        }
        return DV_ERR_NO_CSR;
    }
    return DV_OK;
}

int dv_csr_write(struct dv_hart *h, unsigned csr, uint64_t value)
{
    switch (csr) {
    case DV_CSR_UTVEC: h->utvec = value & ~2ull; break;
    case DV_CSR_USCRATCH: h->uscratch = value; break;
    case DV_CSR_UEPC: h->uepc = value & ~1ull; break;
    case DV_CSR_UCAUSE: h->ucause = value; break;
    case DV_CSR_UTVAL: h->utval = value; break;
    case DV_CSR_HUVSSTATUS: sstatus_write(h, value); break;
    case DV_CSR_HUVSIE: h->vsie = value & VSIE_WRITABLE; break;
    case DV_CSR_HUVSTVEC: h->vstvec = value & ~2ull; break;
    case DV_CSR_HUVSSCRATCH: h->vsscratch = value; break;
    case DV_CSR_HUVSEPC: h->vsepc = value & ~1ull; break;
    case DV_CSR_HUVSCAUSE: h->vscause = value; break;
    case DV_CSR_HUVSTVAL: h->vstval = value; break;
    case DV_CSR_HUVSIP: set_ssip(h, value); break;
    case DV_CSR_HUVSTIMECMP: h->vstimecmp = value; break;
    case DV_CSR_HUVSATP: satp_write(h, value); break;
    case DV_CSR_HUVSISELECT:
        if (!h->m->aia)
            return DV_ERR_NO_CSR;
        if (value > 0x1ff)
            return DV_ERR_INVALID;
        h->vsiselect = value;
        break;
    case DV_CSR_VTIMECMP: h->vtimecmp = value; break;
    case DV_CSR_VTIMECTL: h->vtimectl = value & 0x7f; break;
    case DV_CSR_VCPUID: return DV_ERR_INVALID; /* fixed at dv_hart_create */
    case DV_CSR_HUSTATUS: {
        const uint64_t writable = DV_HUSTATUS_GVA | DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP |
                                  DV_HUSTATUS_VTVM | DV_HUSTATUS_VTW | DV_HUSTATUS_VTSR | 0x11;
        h->hustatus = (h->hustatus & ~writable) | (value & writable);
        break;
    }
    case DV_CSR_HUIE:
        h->huie = value & (DV_HUIP_USIP | DV_HUIP_UTIP | DV_HUIP_UEIP | (1u << 16));
        break;
    case DV_CSR_HUTIMEDELTA: h->hutimedelta = value; break;
    case DV_CSR_HUCOUNTEREN: h->hucounteren = value & 0xffffffffu; break;
    case DV_CSR_HUTVAL: h->hutval = value; break;
    case DV_CSR_HUIP:
        /* USIP is the vipi doorbell: clearing it here clears this hart's bit. */
        if (!(value & DV_HUIP_USIP))
            atomic_fetch_and(&h->m->vipi[h->vcpuid / 64], ~(1ull << (h->vcpuid % 64)));
        h->huip = value & (DV_HUIP_USIP | DV_HUIP_UTIP | DV_HUIP_UEIP);
        break;
    case DV_CSR_HUVIP: h->huvip = value & (DV_HUVIP_VSSIP | DV_HUVIP_VSTIP | DV_HUVIP_VSEIP); break;
    case DV_CSR_HUTINST: h->hutinst = value; break;
    case DV_CSR_HUGATP: return mmu_set_hugatp(h, value);
    case DV_CSR_FCSR:
        h->fflags = value & 0x1f;
        h->frm = (value >> 5) & 7;
        break;
    case DV_CSR_GUEST_SCOUNTEREN: h->scounteren = value & 0xffffffffu; break;
    case DV_CSR_GUEST_SENVCFG: senvcfg_write(h, value); break;
    case DV_CSR_HUENVCFG: huenvcfg_write(h, value); break;
    case DV_CSR_GUEST_INSTRET: pmu_instret_write(h, value); break;
    case DV_CSR_HUCOUNTINHIBIT: pmu_inhibit_write(h, (uint32_t)value); break;
    default:
        if (csr >= DV_CSR_VIPI0 && csr <= DV_CSR_VIPI3) {
            /* write 1 to set: raise every vCPU named */
            for (unsigned bit = 0; bit < 64; bit++)
                if (value & (1ull << bit))
                    dv_vipi_raise(h->m, (csr - DV_CSR_VIPI0) * 64 + bit);
            break;
        }
        if (vec_is_csr(csr))
            return vec_csr_restore(h, csr, value);
        if (csr >= DV_CSR_HUHPMCOUNTER0 && csr < DV_CSR_HUHPMCOUNTER0 + PMU_COUNTERS &&
            csr != 0xb01) {
            pmu_counter_write(h, csr - DV_CSR_HUHPMCOUNTER0, value);
            hart_request_check(h); /* an overflow may be due sooner */
            break;
        }
        if (csr >= DV_CSR_HUHPMEVENT3 && csr < DV_CSR_HUCOUNTINHIBIT + PMU_COUNTERS) {
            pmu_event_write(h, csr - DV_CSR_HUCOUNTINHIBIT, value);
            hart_request_check(h);
            break;
        }
        return DV_ERR_NO_CSR;
    }
    switch (csr) {
    case DV_CSR_HUVSSTATUS:
    case DV_CSR_HUVSIE:
    case DV_CSR_HUVSIP:
    case DV_CSR_HUVSTIMECMP:
    case DV_CSR_VTIMECMP:
    case DV_CSR_VTIMECTL:
    case DV_CSR_HUIE:
    case DV_CSR_HUIP:
    case DV_CSR_HUVIP:
    case DV_CSR_HUTIMEDELTA:
    case DV_CSR_HUCOUNTINHIBIT:
        hart_request_check(
            h); /* what is pending may have changed: look before the next instruction */
        break;
    }
    return DV_OK;
}
