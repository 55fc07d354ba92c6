/*
 * The DV-Ext contract between the hart and the hypervisor (../shared/dvext.md).
 *
 * The hypervisor sees only what DV-Ext hardware would show it: the guest's
 * registers, the DV-Ext CSRs below, one call to raise or lower a vPLIC
 * source, and dv_enter(). A native backend driving real DV-Ext CSRs could
 * implement this header without the hypervisor changing.
 *
 * Threads: a hart belongs to the thread that calls dv_enter() on it; all
 * dv_hart_* / dv_csr_* / dv_gpr_* calls on a hart come from that thread (or
 * while it is not running). dv_vipi_raise() and dv_plic_set_irq() may be
 * called from any thread.
 */
#ifndef DUVISOR_HART_DVEXT_H
#define DUVISOR_HART_DVEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- CSR numbers (dvext.md section 2) --------------------------------------------- */
enum dv_csr {
    /* user trap CSRs: filled on every exit */
    DV_CSR_UTVEC = 0x005,
    DV_CSR_USCRATCH = 0x040,
    DV_CSR_UEPC = 0x041, /* guest pc on exit; where dv_enter() resumes */
    DV_CSR_UCAUSE = 0x042,
    DV_CSR_UTVAL = 0x043,
    /* guest supervisor state (the H extension's vs* CSRs) */
    DV_CSR_HUVSSTATUS = 0x400,
    DV_CSR_HUVSIE = 0x404,
    DV_CSR_HUVSTVEC = 0x405,
    DV_CSR_HUVSSCRATCH = 0x440,
    DV_CSR_HUVSEPC = 0x441,
    DV_CSR_HUVSCAUSE = 0x442,
    DV_CSR_HUVSTVAL = 0x443,
    DV_CSR_HUVSIP = 0x444,
    DV_CSR_HUVSTIMECMP = 0x44d, /* the guest's Sstc stimecmp */
    DV_CSR_HUVSATP = 0x480,
    DV_CSR_HUVSISELECT = 0x450, /* AIA vsiselect (0x250); with dv_machine_set_aia only */
    /* timer and IPI */
    DV_CSR_VTIMECMP = 0x401,
    DV_CSR_VTIMECTL = 0x402,
    DV_CSR_VCPUID = 0x482,
    DV_CSR_VIPI0 = 0x483, /* ..VIPI3 = 0x486: write 1 to set; see dv_vipi_raise() */
    DV_CSR_VIPI3 = 0x486,
    /* HU CSRs */
    DV_CSR_HUSTATUS = 0x800,
    DV_CSR_HUIE = 0x804,
    DV_CSR_HUTIMEDELTA = 0x805,
    DV_CSR_HUCOUNTEREN = 0x806,
    DV_CSR_HUTVAL = 0x843, /* GPA >> 2; the low two bits are those of utval */
    DV_CSR_HUIP = 0x844,
    DV_CSR_HUVIP = 0x845,
    DV_CSR_HUTINST = 0x84a,
    DV_CSR_HUENVCFG = 0x80a, /* henvcfg: PBMTE b62, ADUE b61, PMM b33:32 (VS pointer masking) */
    DV_CSR_HUGATP = 0x880,
    /* the guest's own unprivileged and supervisor state that has no HU alias,
       reachable for save/restore under its architectural number */
    DV_CSR_FCSR = 0x003,
    DV_CSR_GUEST_SCOUNTEREN = 0x106,
    DV_CSR_GUEST_SENVCFG = 0x10a,
    /* the guest's instret (and cycle, which counts the same): writable by
       the hypervisor only, to restore a saved hart */
    DV_CSR_GUEST_INSTRET = 0xc02,
    /* V extension state, the guest's own numbers; vl and vtype are writable
       here (checked: a restore), vlenb accepts only its own value */
    DV_CSR_GUEST_VSTART = 0x008,
    DV_CSR_GUEST_VXSAT = 0x009,
    DV_CSR_GUEST_VXRM = 0x00a,
    DV_CSR_GUEST_VCSR = 0x00f,
    DV_CSR_GUEST_VL = 0xc20,
    DV_CSR_GUEST_VTYPE = 0xc21,
    DV_CSR_GUEST_VLENB = 0xc22,
    /* the guest's counters as M-mode would see them (Zihpm, Sscofpmf): values
       0xb00 + n (mcycle, minstret, mhpmcounter3..31; 0xb01 none), stop bits
       (mcountinhibit: bit n stops counter n) and the events of 3..31 */
    DV_CSR_HUHPMCOUNTER0 = 0xb00,
    DV_CSR_HUCOUNTINHIBIT = 0x820,
    DV_CSR_HUHPMEVENT3 = 0x823, /* ..0x83f = HUHPMEVENT31 */
};

/* huhpmevent: the event in bits 7:0, and Sscofpmf's OF and inhibit bits
   (SINH: not counted in VS, the guest's S-mode; UINH: not in VU). */
/* Zicbom/Zicboz/Zicbop: the bytes one cbo.* or prefetch.* covers */
#define DV_CBO_BLOCK_SIZE 64u

#define DV_HPMEVENT_CODE 0xffull
#define DV_HPMEVENT_UINH (1ull << 60)
#define DV_HPMEVENT_SINH (1ull << 61)
#define DV_HPMEVENT_OF   (1ull << 63)
enum dv_hpm_event {
    DV_HPM_NONE = 0,
    DV_HPM_CYCLES = 1, /* the hart has no clock of its own: one cycle per instruction */
    DV_HPM_INSTRET = 2,
    DV_HPM_DTLB_LOAD_MISS = 3,  /* a load or AMO that missed the software TLB */
    DV_HPM_DTLB_STORE_MISS = 4, /* a store or AMO write that missed it */
    DV_HPM_ITLB_MISS = 5,       /* an instruction fetch that walked the tables */
    DV_HPM_EVENTS = 6,
};

/* hustatus bits */
#define DV_HUSTATUS_GVA  (1ull << 6)
#define DV_HUSTATUS_SPV  (1ull << 7)
#define DV_HUSTATUS_SPVP (1ull << 8) /* guest privilege at exit / to enter: 1 = VS, 0 = VU */
#define DV_HUSTATUS_VTVM (1ull << 20)
#define DV_HUSTATUS_VTW  (1ull << 21)
#define DV_HUSTATUS_VTSR (1ull << 22)

/* huie / huip bits: the user-level interrupts that cause exits */
#define DV_HUIP_USIP (1ull << 0)
#define DV_HUIP_UTIP (1ull << 4)
#define DV_HUIP_UEIP (1ull << 8)

/* huvip bits: interrupts injected into the guest */
#define DV_HUVIP_VSSIP (1ull << 2)
#define DV_HUVIP_VSTIP (1ull << 6)
#define DV_HUVIP_VSEIP (1ull << 10)

/* huenvcfg bits (henvcfg's): Svpbmt, Svadu, Ssnpm for VS; senvcfg.PMM is VU's */
#define DV_ENVCFG_PBMTE     (1ull << 62)
#define DV_ENVCFG_ADUE      (1ull << 61)
#define DV_ENVCFG_PMM_SHIFT 32
#define DV_ENVCFG_PMM       (3ull << DV_ENVCFG_PMM_SHIFT) /* 0 off, 2 PMLEN 7, 3 PMLEN 16 */

/* vtimectl: enable, and the user interrupt number to raise (4 = UTIP) in bits 6:1 */
#define DV_VTIMECTL_ENABLE 1ull
#define DV_VTIMECTL_UTIP   (4ull << 1)

/* hugatp: hgatp format */
#define DV_HUGATP_MODE_SHIFT  60
#define DV_HUGATP_MODE_SV39X4 8ull
#define DV_HUGATP_MODE_SV48X4 9ull
#define DV_HUGATP_VMID_SHIFT  44
#define DV_HUGATP_PPN_MASK    ((1ull << 44) - 1)

/* --- exit causes: the value of ucause that dv_enter() returns ----------------------- */
#define DV_CAUSE_INTERRUPT (1ull << 63)
enum dv_exit_cause {
    DV_EXIT_FETCH_ACCESS_FAULT = 1, /* G-stage leaf outside the registered windows */
    DV_EXIT_LOAD_ACCESS_FAULT = 5,
    DV_EXIT_STORE_ACCESS_FAULT = 7,
    DV_EXIT_ECALL_VS = 10, /* SBI call: a7 extension, a6 function; uepc points at the ecall */
    DV_EXIT_FETCH_GUEST_PAGE_FAULT = 20,
    DV_EXIT_LOAD_GUEST_PAGE_FAULT = 21,
    DV_EXIT_VIRTUAL_INSTRUCTION = 22, /* utval = instruction bits */
    DV_EXIT_STORE_GUEST_PAGE_FAULT = 23,
    DV_EXIT_DEBUG = 24, /* a debug trigger fired or a step ended (dv_debug_arm) */
};
#define DV_EXIT_USIP (DV_CAUSE_INTERRUPT | 0) /* vIPI: this hart's vipi bit was set */
#define DV_EXIT_UTIP (DV_CAUSE_INTERRUPT | 4) /* vtimer: time + hutimedelta >= vtimecmp */

/* Pseudo-instructions in hutinst for faults on the guest's own page-table walk. */
#define DV_HUTINST_PTE_READ       0x00003000u
#define DV_HUTINST_PTE_WRITE      0x00003020u
/* A transformed load/store/AMO in hutinst has rs1 replaced by the Addr. Offset
   (bits 19:15): utval minus the access's own address, nonzero only for the
   second part of a misaligned access that crosses a page (H extension). */
#define DV_HUTINST_ADDR_OFFSET(t) (((t) >> 15) & 31u)

/* Errors from the calls below. */
enum dv_error {
    DV_OK = 0,
    DV_ERR_NO_CSR = -1,  /* no such CSR */
    DV_ERR_INVALID = -2, /* a value the hart refuses (e.g. a bad hugatp mode or root) */
    DV_ERR_NOMEM = -3,
    DV_ERR_LIMIT = -4, /* out of windows, harts, sources */
};

/* The timebase of `time`, vtimecmp and stimecmp. */
#define DV_TIMEBASE_HZ 10000000ull

struct dv_machine; /* what harts of one VM share: memory windows, vipi bitmap, vPLIC */
struct dv_hart;    /* one vCPU */

/* --- the machine (one per VM) ----------------------------------------------------- */
struct dv_machine *dv_machine_create(unsigned nharts);
void dv_machine_destroy(struct dv_machine *m);

/*
 * Register host memory that G-stage leaves may point into (guest RAM). Only
 * before any hart runs. A leaf whose page is not wholly inside a window is an
 * access-fault exit, never a host access.
 */
int dv_machine_add_window(struct dv_machine *m, void *host, size_t len);

/*
 * Place the vPLIC at guest-physical base (size DV_PLIC_SIZE), with sources
 * 1..nsources-1 and one S-mode context per hart (context n drives hart n's
 * VSEIP). Guest accesses to that range are handled inside the hart, without
 * an exit. Only before any hart runs.
 */
#define DV_PLIC_SIZE 0x400000ull
int dv_machine_set_plic(struct dv_machine *m, uint64_t gpa_base, unsigned nsources);
/* Raise (level=true) or lower a vPLIC source, or the APLIC's wire of that
   number when the machine has AIA instead (dv_machine_set_aia). Any thread. */
void dv_plic_set_irq(struct dv_machine *m, unsigned source, bool level);

/*
 * AIA instead of the vPLIC (ratified RISC-V AIA 1.0): one S-level IMSIC
 * interrupt file per hart (the H extension's guest interrupt file, always
 * connected, as if hstatus.VGEIN named it) at imsic_base + hart * 4 KiB, with
 * identities 1..255, which the guest reaches through siselect/sireg/stopei/
 * stopi (its vsiselect/vsireg/vstopei/vstopi) and by MSI writes to the
 * pages; and an APLIC supervisor domain (DV_APLIC_SIZE at aplic_base, wires
 * 1..nsources-1, one IDC per hart) that turns the wires of dv_plic_set_irq
 * into MSIs (domaincfg.DM = 1) or drives SEIP itself (DM = 0). The guest's
 * accesses to both windows, its claims and its MSIs never exit. Only before
 * any hart runs, and not together with dv_machine_set_plic.
 */
#define DV_IMSIC_PAGE    0x1000ull
#define DV_IMSIC_IDS     255u
#define DV_APLIC_SIZE    0x8000ull
#define DV_AIA_MAX_SRCS  1024u /* including the non-existent source 0 */
#define DV_AIA_MAX_HARTS 256u
int dv_machine_set_aia(struct dv_machine *m, uint64_t imsic_base, uint64_t aplic_base,
                       unsigned nsources);

/* The AIA state a hypervisor saves and restores: the APLIC domain's registers
   and wires (so a device that drives its wire again makes no edge), and each
   hart's interrupt file. eip/eie: bit i%64 of word i/64. */
struct dv_aia_state {
    unsigned nsources, nharts; /* must match the machine's on restore */
    uint32_t domaincfg, genmsi;
    uint32_t sourcecfg[DV_AIA_MAX_SRCS], target[DV_AIA_MAX_SRCS];
    uint32_t pending[DV_AIA_MAX_SRCS / 32], enable[DV_AIA_MAX_SRCS / 32],
        input[DV_AIA_MAX_SRCS / 32];
    struct {
        uint32_t idelivery, iforce, ithreshold;
        uint32_t eidelivery, eithreshold;
        uint64_t eip[4], eie[4];
    } hart[DV_AIA_MAX_HARTS];
};
/* Only while no hart runs. 0, or DV_ERR_INVALID (no AIA; a shape or a value
   the controllers cannot hold) and nothing changed. */
int dv_aia_get_state(struct dv_machine *m, struct dv_aia_state *out);
int dv_aia_set_state(struct dv_machine *m, const struct dv_aia_state *in);

/*
 * The vPLIC's state, as its registers show it plus the gateways' claimed
 * bits (a source claimed and not yet completed): what a hypervisor saves and
 * restores. Source lines are not part of it: after a restore every device
 * drives its line again. Bitmaps are the registers' layout (bit s%32 of word
 * s/32).
 */
#define DV_PLIC_MAX_SOURCES  1024u
#define DV_PLIC_MAX_CONTEXTS 256u
#define DV_PLIC_WORDS        (DV_PLIC_MAX_SOURCES / 32u)
struct dv_plic_state {
    unsigned nsources, ncontexts; /* must match the machine's on restore */
    uint8_t priority[DV_PLIC_MAX_SOURCES];
    uint32_t pending[DV_PLIC_WORDS], claimed[DV_PLIC_WORDS];
    uint32_t enable[DV_PLIC_MAX_CONTEXTS][DV_PLIC_WORDS];
    uint8_t threshold[DV_PLIC_MAX_CONTEXTS];
};
/* Only while no hart runs. 0, or DV_ERR_INVALID (no vPLIC; a shape or a
   value the vPLIC cannot hold: a priority above 7, a bit of a source that
   does not exist) and nothing changed. */
int dv_plic_get_state(struct dv_machine *m, struct dv_plic_state *out);
int dv_plic_set_state(struct dv_machine *m, const struct dv_plic_state *in);

/* Set vcpuid's vipi bit: that hart makes exactly one USIP exit (taking the exit
   consumes the bit; several raises before it coalesce). Any thread. */
void dv_vipi_raise(struct dv_machine *m, unsigned vcpuid);

/* Host CLOCK_MONOTONIC in timebase ticks: what `time` reads before hutimedelta. */
uint64_t dv_host_time(void);

/* --- a hart (one per vCPU) ---------------------------------------------------------- */
struct dv_hart *dv_hart_create(struct dv_machine *m, unsigned vcpuid);
void dv_hart_destroy(struct dv_hart *h);

uint64_t dv_gpr_get(const struct dv_hart *h, unsigned reg); /* x0..x31; x0 reads 0 */
void dv_gpr_set(struct dv_hart *h, unsigned reg, uint64_t value);
uint64_t dv_fpr_get(const struct dv_hart *h, unsigned reg);
void dv_fpr_set(struct dv_hart *h, unsigned reg, uint64_t value);
/* Vector register v<reg> (0..31) as vlenb bytes (DV_CSR_GUEST_VLENB), element 0
   first: len must be vlenb. DV_OK, or DV_ERR_INVALID. */
int dv_vreg_get(const struct dv_hart *h, unsigned reg, void *buf, size_t len);
int dv_vreg_set(struct dv_hart *h, unsigned reg, const void *buf, size_t len);

int dv_csr_read(struct dv_hart *h, unsigned csr, uint64_t *value);
int dv_csr_write(struct dv_hart *h, unsigned csr, uint64_t value);

/*
 * Run the guest from uepc at privilege hustatus.SPVP until the next exit
 * (dvext.md section 3); return ucause. uepc, utval, hutval, hutinst and
 * hustatus are filled as that section says. Guest traps that are the guest's
 * own business (its page faults, illegal instructions, ecalls from VU, its
 * interrupts) never return.
 */
uint64_t dv_enter(struct dv_hart *h);

/*
 * Sleep without running the guest, as a WFI would, until one of: an exit
 * interrupt (this hart's vipi bit: returns DV_EXIT_USIP and consumes it, as
 * dv_enter would; the vtimer: DV_EXIT_UTIP), or a guest interrupt pending
 * and enabled in vsie, whatever vsstatus.SIE says (returns 0; nothing is
 * delivered to the guest). What an SBI suspend waits for. No CPU is used
 * meanwhile.
 */
uint64_t dv_wait_for_interrupt(struct dv_hart *h);

/* hufence.gvma / hufence.vvma: drop this hart's cached G-stage or VS-stage
   translations; dv_fence_i drops its decoded code. Remote flushes are done by
   asking the other vCPU (vipi) to call these on itself. */
void dv_hufence_gvma(struct dv_hart *h);
void dv_hufence_vvma(struct dv_hart *h);
void dv_fence_i(struct dv_hart *h);

/* A load through the guest's current translation at privilege hustatus.SPVP,
   as the H extension's HLV instructions do (the hypervisor reading a pointer
   the guest passed). 0, or -1 when any byte does not translate to RAM. */
int dv_guest_read(struct dv_hart *h, uint64_t gva, void *buf, size_t len);

/*
 * The hypervisor wrote guest RAM at [host, host+len) (device DMA, image
 * loading, restore). Every writer of guest memory other than the harts' own
 * stores calls this (the VMM's one guest-memory accessor does), so a hart
 * that caches translated guest code drops what came from those bytes. The
 * guest still needs fence.i before it may rely on fetching them, as on
 * hardware. Any thread.
 */
void dv_mem_written(struct dv_machine *m, const void *host, size_t len);

/*
 * Debugging (a debugger stub in the hypervisor), like the Sdtrig triggers
 * and dcsr.step of the debug spec but seen by the hypervisor, never the
 * guest. Triggers match guest virtual addresses (the translation in force)
 * and fire BEFORE the instruction executes: an execute trigger at its pc, a
 * load/store trigger when its access overlaps [addr, addr+len) (integer, FP
 * and atomic accesses; not vector or cache-block ones). A step stops after
 * one instruction retired or trapped into the guest, with guest interrupts
 * masked and WFI a no-op. The exit is DV_EXIT_DEBUG with uepc = the next
 * instruction to run, hutinst = enum dv_debug_reason and utval = the pc
 * (execute, step) or the first watched byte the access touched. A hart with
 * anything armed runs in the interpreter; one without pays nothing. The
 * guest's own ebreak stays the guest's breakpoint exception. Only while the
 * hart is not running.
 */
enum dv_trigger_type { DV_TRIGGER_EXEC = 1, DV_TRIGGER_LOAD = 2, DV_TRIGGER_STORE = 4 };
enum dv_debug_reason {
    DV_DEBUG_STEP = 1,
    DV_DEBUG_EXEC = 2,
    DV_DEBUG_LOAD = 3,
    DV_DEBUG_STORE = 4
};
struct dv_trigger {
    uint64_t addr, len; /* len >= 1 (ignored for DV_TRIGGER_EXEC) */
    unsigned type;      /* DV_TRIGGER_* bits */
};
#define DV_MAX_TRIGGERS 64
/* Replace h's triggers with t[0..n) and arm (step true) or disarm a single
   step from the current uepc: one that ends at the next dv_enter (an exit
   the hypervisor completed, e.g. an SBI call or emulated MMIO access, moved
   uepc or retired something) stops there at once. n = 0 and step false
   disarms everything. DV_OK, or DV_ERR_INVALID / DV_ERR_NOMEM and nothing
   changed. */
int dv_debug_arm(struct dv_hart *h, const struct dv_trigger *t, unsigned n, bool step);
/* A debugger's view of guest virtual address gva through the guest's
   current vsatp: the guest-physical address, with no side effect the guest
   can see (no A/D update, no TLB fill) and no permission check. 0, or -1 when
   gva does not translate. Only while the hart is not running. */
int dv_debug_translate(struct dv_hart *h, uint64_t gva, uint64_t *gpa);

/* Guest instructions retired by this hart (the guest's instret). */
uint64_t dv_instret(const struct dv_hart *h);

#endif
