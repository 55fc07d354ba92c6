/*
 * SBI v3.0 in the hypervisor: one file per extension (base.c time.c ipi.c
 * rfence.c hsm.c srst.c dbcn.c susp.c fwft.c sta.c legacy.c), dispatched by
 * sbi.c. The extensions
 * know nothing of threads, devices or the hart; they act through struct
 * sbi_host, which the VMM implements. Every argument comes from the guest
 * and is checked here.
 */
#ifndef DUVISOR_SBI_SBI_H
#define DUVISOR_SBI_SBI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Standard error codes (SBI spec, "Binary Encoding"). */
enum {
    SBI_SUCCESS = 0,
    SBI_ERR_FAILED = -1,
    SBI_ERR_NOT_SUPPORTED = -2,
    SBI_ERR_INVALID_PARAM = -3,
    SBI_ERR_DENIED = -4,
    SBI_ERR_INVALID_ADDRESS = -5,
    SBI_ERR_ALREADY_AVAILABLE = -6,
    SBI_ERR_ALREADY_STARTED = -7,
    SBI_ERR_ALREADY_STOPPED = -8,
    SBI_ERR_NO_SHMEM = -9,
    SBI_ERR_DENIED_LOCKED = -14,
};

/* Extension IDs. */
enum {
    SBI_EXT_BASE = 0x10,
    SBI_EXT_TIME = 0x54494d45,
    SBI_EXT_IPI = 0x735049,
    SBI_EXT_RFENCE = 0x52464e43,
    SBI_EXT_HSM = 0x48534d,
    SBI_EXT_SRST = 0x53525354,
    SBI_EXT_DBCN = 0x4442434e,
    SBI_EXT_PMU = 0x504d55,
    SBI_EXT_SUSP = 0x53555350,
    SBI_EXT_FWFT = 0x46574654,
    SBI_EXT_STA = 0x535441,
    SBI_EXT_LEGACY_LAST = 0x08, /* legacy extensions 0x00..0x08 */
};

/* Function IDs of the v0.2+ extensions. */
enum {
    SBI_BASE_GET_SPEC_VERSION = 0,
    SBI_BASE_GET_IMPL_ID = 1,
    SBI_BASE_GET_IMPL_VERSION = 2,
    SBI_BASE_PROBE_EXTENSION = 3,
    SBI_BASE_GET_MVENDORID = 4,
    SBI_BASE_GET_MARCHID = 5,
    SBI_BASE_GET_MIMPID = 6,
};
enum { SBI_TIME_SET_TIMER = 0 };
enum { SBI_IPI_SEND_IPI = 0 };
enum {
    SBI_RFENCE_FENCE_I = 0,
    SBI_RFENCE_SFENCE_VMA = 1,
    SBI_RFENCE_SFENCE_VMA_ASID = 2,
    SBI_RFENCE_HFENCE_GVMA_VMID = 3,
    SBI_RFENCE_HFENCE_GVMA = 4,
    SBI_RFENCE_HFENCE_VVMA_ASID = 5,
    SBI_RFENCE_HFENCE_VVMA = 6,
};
enum {
    SBI_HSM_HART_START = 0,
    SBI_HSM_HART_STOP = 1,
    SBI_HSM_HART_GET_STATUS = 2,
    SBI_HSM_HART_SUSPEND = 3,
};
enum { SBI_SRST_SYSTEM_RESET = 0 };
enum {
    SBI_PMU_NUM_COUNTERS = 0,
    SBI_PMU_COUNTER_GET_INFO = 1,
    SBI_PMU_COUNTER_CONFIG_MATCHING = 2,
    SBI_PMU_COUNTER_START = 3,
    SBI_PMU_COUNTER_STOP = 4,
    SBI_PMU_COUNTER_FW_READ = 5,
    SBI_PMU_COUNTER_FW_READ_HI = 6,
    SBI_PMU_SNAPSHOT_SET_SHMEM = 7,
    SBI_PMU_EVENT_GET_INFO = 8,
};
/* PMU firmware events (event_idx type 15) that sbi_pmu_count_call counts. */
enum {
    SBI_PMU_FW_SET_TIMER = 5,
    SBI_PMU_FW_IPI_SENT = 6,
    SBI_PMU_FW_FENCE_I_SENT = 8,
    SBI_PMU_FW_EVENTS = 22, /* 0..21: MISALIGNED_LOAD .. HFENCE_VVMA_ASID_RECEIVED */
};
#define SBI_PMU_FW_COUNTERS 16u /* counter indices 32..47 */
enum { SBI_DBCN_WRITE = 0, SBI_DBCN_READ = 1, SBI_DBCN_WRITE_BYTE = 2 };
enum { SBI_SUSP_SYSTEM_SUSPEND = 0 };
enum { SBI_FWFT_SET = 0, SBI_FWFT_GET = 1 };
enum { SBI_STA_SET_SHMEM = 0 };

/* SUSP sleep types: only suspend to RAM; the rest is reserved or platform-specific. */
#define SBI_SUSP_SUSPEND_TO_RAM 0u

/* FWFT features (32-bit ids) and the set flags. */
enum {
    SBI_FWFT_MISALIGNED_EXC_DELEG = 0,
    SBI_FWFT_LANDING_PAD = 1,
    SBI_FWFT_SHADOW_STACK = 2,
    SBI_FWFT_DOUBLE_TRAP = 3,
    SBI_FWFT_PTE_AD_HW_UPDATING = 4,
    SBI_FWFT_POINTER_MASKING_PMLEN = 5,
    SBI_FWFT_FEATURES = 6, /* 6.. are reserved or platform-specific */
};
#define SBI_FWFT_SET_LOCK 1ul

/* STA: the shared structure (64 bytes, 64-byte aligned), and "disable". */
#define SBI_STA_SHMEM_SIZE    64u
#define SBI_STA_OFF_SEQUENCE  0u
#define SBI_STA_OFF_FLAGS     4u
#define SBI_STA_OFF_STEAL     8u
#define SBI_STA_OFF_PREEMPTED 16u
#define SBI_STA_DISABLED      UINT64_MAX

/* Legacy (v0.1) extension IDs; the ext is the function, a6 is ignored. */
enum {
    SBI_LEGACY_SET_TIMER = 0,
    SBI_LEGACY_CONSOLE_PUTCHAR = 1,
    SBI_LEGACY_CONSOLE_GETCHAR = 2,
    SBI_LEGACY_CLEAR_IPI = 3,
    SBI_LEGACY_SEND_IPI = 4,
    SBI_LEGACY_REMOTE_FENCE_I = 5,
    SBI_LEGACY_REMOTE_SFENCE_VMA = 6,
    SBI_LEGACY_REMOTE_SFENCE_VMA_ASID = 7,
    SBI_LEGACY_SHUTDOWN = 8,
};

/* HSM suspend types we implement (the two defaults); every other value,
   reserved or platform-specific, is refused with INVALID_PARAM as the spec
   asks for a platform-specific type that is not implemented. */
#define SBI_HSM_SUSPEND_RETENTIVE     0x00000000u
#define SBI_HSM_SUSPEND_NON_RETENTIVE 0x80000000u

/* What a SUSPENDED hart does when an interrupt wakes it (snapshots keep it). */
enum sbi_suspend_kind {
    SBI_SUSPEND_NONE = 0,
    SBI_SUSPEND_RETENTIVE = 1, /* the ecall returns SBI_SUCCESS */
    SBI_SUSPEND_RESUME = 2,    /* enter at resume_addr: HSM non-retentive or SUSP */
};

/* SRST reset reasons (types are below). */
enum { SBI_RESET_REASON_NONE = 0, SBI_RESET_REASON_SYSTEM_FAILURE = 1 };

/* Most bytes one DBCN read or write moves; the guest loops on the count. */
#define SBI_DBCN_MAX_XFER 4096u

/* HSM hart states. */
enum sbi_hsm_state {
    SBI_HSM_STARTED = 0,
    SBI_HSM_STOPPED = 1,
    SBI_HSM_START_PENDING = 2,
    SBI_HSM_STOP_PENDING = 3,
    SBI_HSM_SUSPENDED = 4,
    SBI_HSM_SUSPEND_PENDING = 5,
    SBI_HSM_RESUME_PENDING = 6,
};

/* What a remote fence asks of each target hart. */
enum sbi_fence_kind { SBI_FENCE_I, SBI_FENCE_VMA, SBI_FENCE_VMA_ASID };

/* System reset types. */
enum { SBI_RESET_SHUTDOWN = 0, SBI_RESET_COLD_REBOOT = 1, SBI_RESET_WARM_REBOOT = 2 };

#define SBI_IMPL_ID      0x4455            /* "DU": not a registered id; duvisor's own */
#define SBI_SPEC_VERSION ((3ul << 24) | 0) /* 3.0 */

/* The VMM side. Every callback runs on the calling vCPU's thread. */
struct sbi_host {
    void *opaque;
    unsigned nharts;
    unsigned long impl_version;
    /* guest time in timebase ticks; program the caller's timer (Sstc stimecmp) */
    uint64_t (*time)(void *opaque, unsigned hartid);
    void (*set_timer)(void *opaque, unsigned hartid, uint64_t when);
    /* console: write all bytes; read up to len without blocking (count, 0 if none) */
    void (*console_write)(void *opaque, const uint8_t *buf, size_t len);
    size_t (*console_read)(void *opaque, uint8_t *buf, size_t len);
    /* guest physical memory (RAM only): 0, or -1 when any byte is outside RAM */
    int (*read_phys)(void *opaque, uint64_t gpa, void *buf, size_t len);
    int (*write_phys)(void *opaque, uint64_t gpa, const void *buf, size_t len);
    /* a guest virtual load as the caller's VS-mode would see it (legacy calls pass pointers) */
    int (*read_virt)(void *opaque, unsigned hartid, uint64_t gva, void *buf, size_t len);
    /* set / clear the target's supervisor software interrupt (VSSIP) */
    void (*send_ipi)(void *opaque, unsigned target);
    void (*clear_ipi)(void *opaque, unsigned hartid);
    /* Perform a fence on every hart set in targets[0..nharts) and return only
       when all of them have done it (targets may include the caller; never
       called with no target). For VMA kinds, size == UINT64_MAX means the
       whole address space (sbi.c maps the spec's start 0 / size 0 form to
       it); otherwise [start, start + size) does not wrap. */
    void (*remote_fence)(void *opaque, unsigned caller, const bool *targets,
                         enum sbi_fence_kind kind, uint64_t start, uint64_t size, uint64_t asid);
    /* Wake a STOPPED hart's vCPU thread: it starts at `start` with a0 = its
       hartid and a1 = `arg`, in VS mode, with satp 0 and interrupts off. */
    void (*hart_start)(void *opaque, unsigned hartid, uint64_t start, uint64_t arg);
    /* FWFT PTE_AD_HW_UPDATING: switch the caller's hardware A/D updating
       (Svadu's henvcfg.ADUE) on or off; 0, or -1 when the hart has no Svadu
       (whatever `on` is, so calling it with the current value asks). */
    int (*set_pte_ad_hw)(void *opaque, unsigned hartid, bool on);
    /* STA: the caller's vCPU thread's time runnable but not running, in ns
       since any fixed origin (Linux: schedstat's run_delay); 0 if unknown. */
    uint64_t (*run_delay_ns)(void *opaque, unsigned hartid);
    /* The VM should shut down or reboot (type, reason as SRST). */
    void (*system_reset)(void *opaque, unsigned type, unsigned reason);
    /* PMU: the calling hart's counter CSRs (dvext.h numbers); 0 or -1 */
    int (*hart_csr_read)(void *opaque, unsigned hartid, unsigned csr, uint64_t *value);
    int (*hart_csr_write)(void *opaque, unsigned hartid, unsigned csr, uint64_t value);
};

/* PMU state (pmu.c): which counters each hart's guest configured, the
   firmware counters, and the firmware events counted per hart (any thread
   may count a "received" event for another hart). */
struct sbi_pmu_hart {
    uint32_t hw_used;             /* hardware counters 0..31 configured */
    uint16_t fw_used, fw_started; /* firmware counters 32.. */
    uint8_t fw_event[SBI_PMU_FW_COUNTERS];
    uint64_t fw_value[SBI_PMU_FW_COUNTERS]; /* when stopped; at fw_base when started */
    uint64_t fw_base[SBI_PMU_FW_COUNTERS];
};
struct sbi_pmu {
    struct sbi_pmu_hart hart[256];
    _Atomic uint64_t fw_count[256][SBI_PMU_FW_EVENTS];
};

/*
 * Per-hart HSM state, shared by all vCPU threads. hsm.c owns the state
 * machine; the VMM reads it through sbi_hsm_* below.
 */
struct sbi_hsm {
    pthread_mutex_t lock;
    pthread_cond_t changed;
    unsigned nharts;
    enum sbi_hsm_state state[256];
    uint64_t start_addr[256], start_arg[256];
    bool stop_taken[256]; /* set by HART_STOP, cleared by sbi_hsm_take_stop */
    /* while SUSPENDED: how it ends, and where a resume enters */
    enum sbi_suspend_kind suspend[256];
    uint64_t resume_addr[256], resume_arg[256];
};

/* FWFT, per hart (every feature is local): values and locks. */
struct sbi_fwft {
    bool pte_ad_hw;  /* PTE_AD_HW_UPDATING's value */
    unsigned locked; /* bit f: feature f is locked until the hart resets */
};

/* STA, per hart: where the shared structure is, and the steal written so far. */
struct sbi_sta {
    uint64_t shmem; /* guest-physical, or SBI_STA_DISABLED */
    uint32_t sequence;
    uint64_t steal;      /* ns, as last written */
    uint64_t delay_base; /* run_delay_ns when steal was last brought up to date */
    bool rebase;         /* restored: take delay_base afresh on the next update */
};

struct sbi {
    const struct sbi_host *host;
    struct sbi_hsm hsm;
    struct sbi_pmu pmu;
    /* Only the hart's own thread touches its entry (or anyone while paused). */
    struct sbi_fwft fwft[256];
    struct sbi_sta sta[256];
};

struct sbi_ret {
    long error;
    unsigned long value;
};

/* The ecall as the guest made it: a7 = ext, a6 = fid, a0..a5 = args. */
struct sbi_call {
    unsigned long ext, fid;
    unsigned long args[6];
    unsigned hartid;
};

/* boot_hart starts STARTED, every other hart STOPPED. 0, or -1 when
   host->nharts is 0 or > 256, boot_hart >= nharts, or the lock cannot be made.
   s->host is set only on success, so it tells sbi_destroy is due. */
int sbi_init(struct sbi *s, const struct sbi_host *host, unsigned boot_hart);
void sbi_destroy(struct sbi *s);

/*
 * Handle one call. For SBI v0.2+ extensions the guest gets a0 = error,
 * a1 = value; for legacy extensions a0 = value only (set *legacy = true;
 * value then carries the whole legacy result, a negative error code
 * included, and error repeats it when negative). legacy may be NULL.
 * Unknown extensions and functions give SBI_ERR_NOT_SUPPORTED.
 *
 * After the call returns, the VMM asks two questions of the calling hart:
 * sbi_hsm_take_stop (do not resume the guest) and sbi_hsm_suspended (do not
 * run the guest until an interrupt is pending; see there). A successful
 * SRST or legacy shutdown has called host->system_reset: do not resume.
 */
struct sbi_ret sbi_dispatch(struct sbi *s, const struct sbi_call *call, bool *legacy);

/* Used by vCPU threads: block until `hartid` is START_PENDING (or until `quit`
   returns true, checked first and whenever the state changes or sbi_hsm_kick
   is called); then take the start address and argument, mark STARTED, return
   true. Returns false when quit. quit runs under the HSM lock: it must not
   call sbi_*. Set whatever quit reads before calling sbi_hsm_kick, so no
   waiter can miss it. A hart that is STARTED waits until it has been
   stopped and started again, so call this only for a stopped hart. */
bool sbi_hsm_wait_start(struct sbi *s, unsigned hartid, uint64_t *start, uint64_t *arg,
                        bool (*quit)(void *opaque), void *opaque);
/* Wake every waiter so it re-checks quit (VM shutdown). */
void sbi_hsm_kick(struct sbi *s);
/* The calling hart did HART_STOP: its thread must stop running the guest
   and go back to sbi_hsm_wait_start. True once after a successful stop call.
   The hart is STOPPED as soon as the call succeeds, so another hart may
   already have started it again: sbi_hsm_wait_start then returns at once. */
bool sbi_hsm_take_stop(struct sbi *s, unsigned hartid);
/*
 * A successful HART_SUSPEND or SYSTEM_SUSPEND leaves the calling hart
 * SUSPENDED and returns at once (the VMM completes the ecall as usual). The
 * hart's thread must then not run the guest but sleep until an interrupt is
 * pending for the hart (sip & sie, whatever sstatus.SIE says) and call
 * sbi_hsm_wake: true when the hart must continue at *addr with a0 = hartid,
 * a1 = *arg, satp = 0 and sstatus.SIE = 0 (a non-retentive or system
 * resume); false when the ecall simply returns (retentive). Either way the
 * hart is STARTED again.
 */
bool sbi_hsm_suspended(struct sbi *s, unsigned hartid);
bool sbi_hsm_wake(struct sbi *s, unsigned hartid, uint64_t *addr, uint64_t *arg);
/* Snapshots: a hart's HSM state, where it will start (START_PENDING) or how
   it resumes (SUSPENDED: kind, address, argument). restore takes only the
   states a paused VM can be in (STARTED, STOPPED, START_PENDING with an
   address in RAM, SUSPENDED of a known kind, resuming in RAM); -1 for
   anything else. */
struct sbi_hsm_saved {
    enum sbi_hsm_state state;
    uint64_t start, arg;
    enum sbi_suspend_kind suspend;
    uint64_t resume_addr, resume_arg;
};
void sbi_hsm_save(struct sbi *s, unsigned hartid, struct sbi_hsm_saved *out);
int sbi_hsm_restore(struct sbi *s, unsigned hartid, const struct sbi_hsm_saved *in);

/* STA: bring the calling hart's steal time up to date in its shared
   structure (if it registered one). Call on the hart's thread before it
   runs the guest again: after a host-side wait, and periodically. */
void sbi_sta_update(struct sbi *s, unsigned hartid);
/* Snapshots: the shared structure's address, sequence and steal so far.
   restore: -1 for an address that set_shmem would refuse. */
/* PMU: a hart's counter configuration as a snapshot keeps it (the hardware
   counters' values and events are the hart's CSRs, saved with them); the
   firmware counters' values as of now. Restore: 0, or -1 (nothing changed)
   for an event, a started counter that is not configured, or a hart that
   does not exist. */
struct sbi_pmu_saved {
    uint32_t hw_used;
    uint16_t fw_used, fw_started;
    uint8_t fw_event[SBI_PMU_FW_COUNTERS];
    uint64_t fw_value[SBI_PMU_FW_COUNTERS];
};
void sbi_pmu_save(struct sbi *s, unsigned hartid, struct sbi_pmu_saved *out);
int sbi_pmu_restore(struct sbi *s, unsigned hartid, const struct sbi_pmu_saved *in);
void sbi_sta_save(struct sbi *s, unsigned hartid, uint64_t *shmem, uint32_t *sequence,
                  uint64_t *steal);
int sbi_sta_restore(struct sbi *s, unsigned hartid, uint64_t shmem, uint32_t sequence,
                    uint64_t steal);
bool sbi_sta_enabled(const struct sbi *s, unsigned hartid);
/* FWFT: a hart reset (hart start) returns its features to their reset values. */
void sbi_fwft_reset(struct sbi *s, unsigned hartid);
/* The current state (SBI_HSM_STOPPED for a hartid >= nharts). */
enum sbi_hsm_state sbi_hsm_state_of(struct sbi *s, unsigned hartid);

/* Per-extension handlers, called by sbi_dispatch. */
struct sbi_ret sbi_base(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_time(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_ipi(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_rfence(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_hsm(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_srst(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_dbcn(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_susp(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_fwft(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_sta(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_legacy(struct sbi *s, const struct sbi_call *c);
struct sbi_ret sbi_pmu(struct sbi *s, const struct sbi_call *c);
/* Firmware events (pmu.c): count one for hartid; count what a call asks for. */
void sbi_pmu_fw_event(struct sbi *s, unsigned hartid, unsigned event);
void sbi_pmu_count_call(struct sbi *s, const struct sbi_call *c);
bool sbi_extension_supported(unsigned long ext);

/* Shared by ipi.c and rfence.c: which harts a (hart_mask, hart_mask_base)
   pair names. Fills targets[0..nharts); SBI_SUCCESS or SBI_ERR_INVALID_PARAM.
   base == -1 names every hart; bit i names hart base + i; naming a hart
   >= nharts is INVALID_PARAM (targets then all false); a zero mask names none. */
long sbi_hart_mask(const struct sbi *s, unsigned long mask, unsigned long base, bool *targets);

/* Shared with legacy.c: IPI every target (ipi.c), and fence them after
   checking the range (rfence.c): SBI_SUCCESS or SBI_ERR_INVALID_ADDRESS. */
void sbi_send_ipis(struct sbi *s, const bool *targets);
long sbi_fence(struct sbi *s, unsigned caller, const bool *targets, enum sbi_fence_kind kind,
               unsigned long start, unsigned long size, unsigned long asid);

/* Shared by hsm.c and susp.c: put the caller to sleep until an interrupt
   (kind as sbi_suspend_kind). only_hart: refuse with DENIED unless every
   other hart is STOPPED (checked under the same lock as the transition). */
long sbi_hsm_suspend(struct sbi *s, unsigned caller, enum sbi_suspend_kind kind, uint64_t addr,
                     uint64_t arg, bool only_hart);
/* Where a hart may start or resume: 2-byte aligned and in guest RAM. */
bool sbi_valid_entry(struct sbi *s, unsigned long addr);

#endif
