/*
 * One thread per vCPU: enter the guest, handle the exit, enter again
 * (dvext.md section 3). Other threads reach a running vCPU only through
 * requests plus a vipi, so every change to a hart happens on its own thread.
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "devices/uart8250.h"
#include "host/sandbox.h"
#include "vmm/console.h"
#include "vmm/gdbstub.h"
#include "vmm/gstage.h"
#include "vmm/virtio_devices.h"
#include "vmm/vm.h"

/* Guest-physical RAM is mapped into the G-stage lazily, a 2 MiB block at a time. */
#define LAZY_BLOCK (2ull << 20)

static uint64_t csr(struct vcpu *v, unsigned number)
{
    uint64_t value = 0;
    dv_csr_read(v->hart, number, &value);
    return value;
}

static void set_csr(struct vcpu *v, unsigned number, uint64_t value)
{
    dv_csr_write(v->hart, number, value);
}

/* Only this vCPU's thread writes its counters: no locked add needed. */
static void count(_Atomic uint64_t *counter)
{
    atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

static bool stopping(const struct vm *vm)
{
    return atomic_load(&vm->stop) != VM_RUNNING;
}

void vcpu_kick(struct vcpu *v)
{
    dv_vipi_raise(v->vm->machine, v->id);
}

void vcpu_request(struct vcpu *v, unsigned requests)
{
    atomic_fetch_or(&v->requests, requests);
    atomic_fetch_add(&v->req_seq, 1);
    vcpu_kick(v);
}

/* Another vCPU asked something of v that v has not served yet. By sequence,
   not by the request bits: a serve that read req_seq just before a request
   bumped it took that request's bits but published the older done_seq, so
   its requester still waits with no bit left to show for it. */
static bool requests_pending(struct vcpu *v)
{
    return atomic_load(&v->done_seq) < atomic_load(&v->req_seq);
}

/* Serve what other vCPUs asked of this one (on its own thread). */
static void serve_requests(struct vcpu *v)
{
    uint64_t seq = atomic_load(&v->req_seq);
    unsigned req = atomic_exchange(&v->requests, 0);
    if (req & VCPU_REQ_SSIP)
        set_csr(v, DV_CSR_HUVIP, csr(v, DV_CSR_HUVIP) | DV_HUVIP_VSSIP);
    if (req & VCPU_REQ_FENCE_I)
        dv_fence_i(v->hart);
    if (req & VCPU_REQ_FENCE_VMA)
        dv_hufence_vvma(v->hart);
    atomic_store(&v->done_seq, seq);
}

/* The guest's own trap, raised by the hypervisor (as hardware would deliver it). */
static void inject_exception(struct vcpu *v, uint64_t cause, uint64_t tval)
{
    uint64_t status = csr(v, DV_CSR_HUVSSTATUS);
    bool from_vs = csr(v, DV_CSR_HUSTATUS) & DV_HUSTATUS_SPVP;
    const uint64_t SIE = 1u << 1, SPIE = 1u << 5, SPP = 1u << 8;
    status = (status & ~(SPP | SPIE | SIE)) | (from_vs ? SPP : 0) | ((status & SIE) ? SPIE : 0);
    set_csr(v, DV_CSR_HUVSCAUSE, cause);
    set_csr(v, DV_CSR_HUVSEPC, csr(v, DV_CSR_UEPC));
    set_csr(v, DV_CSR_HUVSTVAL, tval);
    set_csr(v, DV_CSR_HUVSSTATUS, status);
    set_csr(v, DV_CSR_HUSTATUS, csr(v, DV_CSR_HUSTATUS) | DV_HUSTATUS_SPVP);
    set_csr(v, DV_CSR_UEPC, csr(v, DV_CSR_HUVSTVEC) & ~3ull);
}

static void fatal(struct vcpu *v, const char *what, uint64_t cause)
{
    fprintf(stderr, "duvisor: vcpu %u: %s (ucause %#llx)\n", v->id, what,
            (unsigned long long)cause);
    fprintf(stderr, "  pc %016llx  utval %016llx  gpa %016llx  hutinst %08llx  vsstatus %016llx\n",
            (unsigned long long)csr(v, DV_CSR_UEPC), (unsigned long long)csr(v, DV_CSR_UTVAL),
            (unsigned long long)(csr(v, DV_CSR_HUTVAL) << 2),
            (unsigned long long)csr(v, DV_CSR_HUTINST),
            (unsigned long long)csr(v, DV_CSR_HUVSSTATUS));
    fprintf(stderr, "  scause %016llx  sepc %016llx  stval %016llx  satp %016llx\n",
            (unsigned long long)csr(v, DV_CSR_HUVSCAUSE),
            (unsigned long long)csr(v, DV_CSR_HUVSEPC), (unsigned long long)csr(v, DV_CSR_HUVSTVAL),
            (unsigned long long)csr(v, DV_CSR_HUVSATP));
    for (unsigned r = 1; r < 32; r++)
        fprintf(stderr, "  x%-2u %016llx%s", r, (unsigned long long)dv_gpr_get(v->hart, r),
                r % 4 == 3 ? "\n" : "");
    fprintf(stderr, "\n");
    vm_request_stop(v->vm, VM_STOP_FATAL);
}

enum access_result {
    ACCESS_DONE,   /* RAM mapped, or the device answered (or ignored it) */
    ACCESS_STRAY,  /* no RAM and no device there, or not a plain, aligned load/store */
    ACCESS_FAILED, /* the host could not map RAM: the VM cannot go on */
};

/* A device access the device does not implement (width, offset, a read-only
   register): hardware ignores the write and reads zero. Counted per window,
   and said at --level debug (rate-limited: the guest decides how often). */
static bool ignore_access(struct vcpu *v, const struct mmio_region *region,
                          const struct mmio_access *acc, uint64_t offset)
{
    struct vm *vm = v->vm;
    struct mmio_bus *bus = &vm->bus;
    if (vm->cfg->strict_mmio)
        return false;
    atomic_fetch_add_explicit(&bus->ignored[region - bus->regions], 1, memory_order_relaxed);
    uint64_t dropped;
    char more[64] = "";
    if (vm->log && vmm_log_enabled(vm->log, API_LOG_DEBUG) &&
        vmm_log_limit_take(&vm->guest_log_limit, &dropped)) {
        if (dropped)
            snprintf(more, sizeof(more), " (%llu more before this, not logged)",
                     (unsigned long long)dropped);
        vmm_log_at(vm->log, API_LOG_DEBUG, "vcpu", __FILE__, __LINE__,
                   "vcpu %u: %u-byte %s at 0x%llx (%s+0x%llx) ignored: the device has no such "
                   "register (pc %016llx)%s",
                   v->id, acc->size, acc->is_store ? "write" : "read",
                   (unsigned long long)(region->base + offset), region->name,
                   (unsigned long long)offset, (unsigned long long)csr(v, DV_CSR_UEPC), more);
    }
    return true;
}

static enum access_result emulate_mmio(struct vcpu *v, uint64_t gpa)
{
    struct vm *vm = v->vm;
    struct mmio_access acc;
    const struct mmio_region *region =
        mmio_route(&vm->bus, gpa, (uint32_t)csr(v, DV_CSR_HUTINST), &acc);
    if (!region)
        return ACCESS_STRAY; /* no device, or one no device takes (misaligned, say) */
    uint64_t offset = gpa - region->base;
    count(&v->exits.mmio);
    if (acc.is_store) {
        uint64_t value = dv_gpr_get(v->hart, acc.reg);
        if (acc.size < 8)
            value &= (1ull << (8 * acc.size)) - 1;
        if (!region->write(region->opaque, offset, acc.size, value) &&
            !ignore_access(v, region, &acc, offset))
            return ACCESS_STRAY;
    } else {
        uint64_t value = 0;
        if (!region->read(region->opaque, offset, acc.size, &value)) {
            if (!ignore_access(v, region, &acc, offset))
                return ACCESS_STRAY;
            value = 0;
        }
        if (acc.sign_extend && acc.size < 8) {
            unsigned shift = 64 - 8 * acc.size;
            value = (uint64_t)((int64_t)(value << shift) >> shift);
        }
        dv_gpr_set(v->hart, acc.reg, value);
    }
    set_csr(v, DV_CSR_UEPC, csr(v, DV_CSR_UEPC) + acc.insn_len);
    return ACCESS_DONE;
}

/* A guest-page fault: map RAM lazily, or emulate MMIO. */
static enum access_result guest_page_fault(struct vcpu *v, uint64_t cause)
{
    struct vm *vm = v->vm;
    /* hutval drops the low two bits; the page offset is the same in the
       guest virtual address, so utval supplies them, except for a fault on
       the guest's page-table walk (a PTE's address, whose low bits are 0). */
    uint64_t hutinst = csr(v, DV_CSR_HUTINST);
    bool walk = hutinst == DV_HUTINST_PTE_READ || hutinst == DV_HUTINST_PTE_WRITE;
    uint64_t gpa = csr(v, DV_CSR_HUTVAL) << 2 | (walk ? 0 : csr(v, DV_CSR_UTVAL) & 3);
    if (gpa - PLATFORM_RAM_BASE < vm->ram_size) {
        uint64_t block = (gpa - PLATFORM_RAM_BASE) & ~(LAZY_BLOCK - 1);
        uint64_t len = vm->ram_size - block < LAZY_BLOCK ? vm->ram_size - block : LAZY_BLOCK;
        if (gstage_map(vm->gstage, PLATFORM_RAM_BASE + block, vm->ram + block, len,
                       GSTAGE_R | GSTAGE_W | GSTAGE_X))
            return ACCESS_FAILED;
        count(&v->exits.ram_map);
        dv_hufence_gvma(v->hart);
        return ACCESS_DONE; /* re-execute the access */
    }
    if (cause == DV_EXIT_FETCH_GUEST_PAGE_FAULT)
        return ACCESS_STRAY;
    return emulate_mmio(v, gpa);
}

/* What hardware does for an access to nothing: an access fault to the guest
   (instruction 1, load 5, store/AMO 7) with the faulting address in stval. */
static void access_fault(struct vcpu *v, uint64_t cause)
{
    uint64_t fault = cause == DV_EXIT_FETCH_GUEST_PAGE_FAULT  ? 1
                     : cause == DV_EXIT_LOAD_GUEST_PAGE_FAULT ? 5
                                                              : 7;
    count(&v->exits.access_faults);
    inject_exception(v, fault, csr(v, DV_CSR_UTVAL));
}

static void handle_sbi(struct vcpu *v)
{
    struct sbi_call call = {
        .ext = dv_gpr_get(v->hart, 17),
        .fid = dv_gpr_get(v->hart, 16),
        .hartid = v->id,
    };
    for (unsigned i = 0; i < 6; i++)
        call.args[i] = dv_gpr_get(v->hart, 10 + i);
    bool legacy = false;
    struct sbi_ret ret = sbi_dispatch(&v->vm->sbi, &call, &legacy);
    if (sbi_hsm_take_stop(&v->vm->sbi, v->id)) {
        v->running = false;
        return;
    }
    /* A suspend completes the ecall now; the vCPU loop then sleeps until
       an interrupt and, for a non-retentive one, enters at its address. */
    v->suspended = sbi_hsm_suspended(&v->vm->sbi, v->id);
    if (legacy) {
        dv_gpr_set(v->hart, 10, ret.error ? (uint64_t)ret.error : ret.value);
    } else {
        dv_gpr_set(v->hart, 10, (uint64_t)ret.error);
        dv_gpr_set(v->hart, 11, ret.value);
    }
    set_csr(v, DV_CSR_UEPC, csr(v, DV_CSR_UEPC) + 4);
}

/* One exit. False when this vCPU must stop running the guest. */
static bool handle_exit(struct vcpu *v, uint64_t cause)
{
    switch (cause) {
    case DV_EXIT_ECALL_VS:
        count(&v->exits.sbi);
        handle_sbi(v);
        return true;
    case DV_EXIT_FETCH_GUEST_PAGE_FAULT:
    case DV_EXIT_LOAD_GUEST_PAGE_FAULT:
    case DV_EXIT_STORE_GUEST_PAGE_FAULT:
        switch (guest_page_fault(v, cause)) {
        case ACCESS_DONE: return true;
        case ACCESS_STRAY:
            if (!v->vm->cfg->strict_mmio) {
                access_fault(v, cause);
                return true;
            }
            fatal(v, "guest access outside RAM and every device (--strict-mmio)", cause);
            return false;
        case ACCESS_FAILED: break;
        }
        fatal(v, "cannot map guest RAM", cause);
        return false;
    case DV_EXIT_VIRTUAL_INSTRUCTION:
        /* Something the guest may not do (e.g. an H-extension instruction):
           it sees an illegal instruction, as without the H extension. */
        count(&v->exits.virtual_insn);
        inject_exception(v, 2, csr(v, DV_CSR_UTVAL));
        return true;
    case DV_EXIT_USIP:
        count(&v->exits.requests);
        serve_requests(v);
        return true;
    case DV_EXIT_DEBUG:
        if (!v->vm->gdb)
            break;
        gdbstub_vcpu_debug_exit(v->vm->gdb, v->id, csr(v, DV_CSR_HUTINST), csr(v, DV_CSR_UTVAL));
        return true;
    case DV_EXIT_UTIP:
        count(&v->exits.timer);
        set_csr(v, DV_CSR_VTIMECTL, 0);
        return true; /* the loop re-arms it for STA if that is on */
    }
    fatal(v, "unexpected exit", cause);
    return false;
}

/* A stopped hart's HSM wait ends early for a stop or a pause. */
static bool hsm_wait_over(void *opaque)
{
    struct vm *vm = opaque;
    return stopping(vm) || atomic_load_explicit(&vm->pause.requested, memory_order_relaxed);
}

void vcpu_park_if_paused(struct vcpu *v)
{
    struct vm_pause *p = &v->vm->pause;
    /* Nothing to park for, and no pause this vCPU still has to take off its
       clock (one that ended before it got here: a restored VM resumes while
       its vCPU threads are still starting). */
    if (!atomic_load_explicit(&p->requested, memory_order_acquire) &&
        atomic_load_explicit(&p->paused_ticks, memory_order_acquire) == v->paused_applied)
        return;
    pthread_mutex_lock(&p->lock);
    if (p->requested) {
        p->parked++;
        pthread_cond_broadcast(&p->changed);
        while (p->requested && !stopping(v->vm))
            pthread_cond_wait(&p->changed, &p->lock);
        p->parked--;
    }
    uint64_t skip = p->paused_ticks - v->paused_applied;
    v->paused_applied = p->paused_ticks;
    pthread_mutex_unlock(&p->lock);
    /* Guest time stood still while paused: no jump, no timer storm. */
    if (skip)
        set_csr(v, DV_CSR_HUTIMEDELTA, csr(v, DV_CSR_HUTIMEDELTA) - skip);
}

/* The SBI entry state, for the boot hart, HSM start and a non-retentive
   resume alike: a0 hartid, a1 arg, VS mode, satp 0, SIE 0, nothing cached. */
void vcpu_enter_state(struct vcpu *v, uint64_t start, uint64_t arg)
{
    dv_gpr_set(v->hart, 10, v->id);
    dv_gpr_set(v->hart, 11, arg);
    set_csr(v, DV_CSR_UEPC, start);
    set_csr(v, DV_CSR_HUSTATUS, DV_HUSTATUS_SPV | DV_HUSTATUS_SPVP);
    set_csr(v, DV_CSR_HUVSATP, 0);
    set_csr(v, DV_CSR_HUVSSTATUS, csr(v, DV_CSR_HUVSSTATUS) & ~(1ull << 1));
    dv_hufence_vvma(v->hart);
    dv_fence_i(v->hart);
}

/* FWFT PTE_AD_HW_UPDATING: henvcfg.ADUE, if the hart has Svadu (the bit
   reads back as written). 0, or -1 without Svadu. */
static int set_pte_ad_hw(struct vcpu *v, bool on)
{
    uint64_t envcfg = 0;
    if (dv_csr_read(v->hart, DV_CSR_HUENVCFG, &envcfg) != DV_OK)
        return -1;
    uint64_t with = envcfg | DV_ENVCFG_ADUE, got = 0;
    if (dv_csr_write(v->hart, DV_CSR_HUENVCFG, with) != DV_OK ||
        dv_csr_read(v->hart, DV_CSR_HUENVCFG, &got) != DV_OK || !(got & DV_ENVCFG_ADUE)) {
        dv_csr_write(v->hart, DV_CSR_HUENVCFG, envcfg);
        return -1;
    }
    if (!on)
        dv_csr_write(v->hart, DV_CSR_HUENVCFG, envcfg & ~DV_ENVCFG_ADUE);
    return 0;
}

/* STA needs the vCPU back now and then to write its steal time, even from
   a guest that makes no exit: the vtimer, every STA_PERIOD of guest time. */
#define STA_PERIOD (DV_TIMEBASE_HZ / 50)

static void sta_tick(struct vcpu *v)
{
    struct sbi *sbi = &v->vm->sbi;
    if (!sbi_sta_enabled(sbi, v->id)) {
        if (v->sta_ticking) {
            set_csr(v, DV_CSR_HUIE, csr(v, DV_CSR_HUIE) & ~DV_HUIP_UTIP);
            set_csr(v, DV_CSR_VTIMECTL, 0);
            v->sta_ticking = false;
        }
        return;
    }
    uint64_t huie = csr(v, DV_CSR_HUIE);
    if ((huie & DV_HUIP_UTIP) && (csr(v, DV_CSR_VTIMECTL) & DV_VTIMECTL_ENABLE))
        return; /* armed, not yet due */
    v->sta_ticking = true;
    sbi_sta_update(sbi, v->id);
    uint64_t delta = csr(v, DV_CSR_HUTIMEDELTA);
    set_csr(v, DV_CSR_VTIMECMP, dv_host_time() + delta + STA_PERIOD);
    set_csr(v, DV_CSR_VTIMECTL, DV_VTIMECTL_ENABLE | DV_VTIMECTL_UTIP);
    set_csr(v, DV_CSR_HUIE, huie | DV_HUIP_UTIP);
}

/*
 * A suspended hart (HSM suspend, system suspend): sleep until an interrupt
 * is pending for it, whatever its sstatus.SIE says. Requests, pauses and
 * stops reach it as vipi exits; the loop serves them and comes back here.
 */
static void wait_while_suspended(struct vcpu *v)
{
    uint64_t cause = dv_wait_for_interrupt(v->hart);
    if (cause == DV_EXIT_USIP) {
        count(&v->exits.requests);
        serve_requests(v);
        return;
    }
    if (cause == DV_EXIT_UTIP) {
        set_csr(v, DV_CSR_VTIMECTL, 0); /* STA's tick: no writes while suspended */
        return;
    }
    uint64_t addr, arg;
    if (sbi_hsm_wake(&v->vm->sbi, v->id, &addr, &arg))
        vcpu_enter_state(v, addr, arg);
    v->suspended = false;
    /* Sleeping is not runnable: only the wait for a CPU after the wake-up
       is stolen, and the guest sees it as soon as it runs. */
    sbi_sta_update(&v->vm->sbi, v->id);
}

/* --gdb: pass the stub's gate, serving other vCPUs' requests while it is
   closed (a remote fence waits for them). False: not now. */
static bool gdb_gate(struct vcpu *v)
{
    if (gdbstub_vcpu_may_run(v->vm->gdb, v->id)) {
        vcpu_park_if_paused(v); /* the halt just ended is guest time to skip, before it runs */
        return true;
    }
    if (requests_pending(v))
        serve_requests(v);
    return false;
}

void *vcpu_thread(void *arg)
{
    struct vcpu *v = arg;
    struct vm *vm = v->vm;
    /* STA's run_delay, opened while the thread may still open files (a
       thread of this vCPU before it, if any, had its own). */
    if (v->schedstat_fd >= 0)
        close(v->schedstat_fd);
    v->schedstat_fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
    sandbox_enter_or_warn(SANDBOX_VCPU);
    if (v->id == 0)
        boot_timer_first_entry(&vm->boot_timer);       /* the boot hart enters next */
    v->suspended = sbi_hsm_suspended(&vm->sbi, v->id); /* a restored hart may be */
    while (!stopping(vm)) {
        vcpu_park_if_paused(v);
        if (stopping(vm))
            break;
        if (!v->running) {
            uint64_t start, start_arg;
            if (!sbi_hsm_wait_start(&vm->sbi, v->id, &start, &start_arg, hsm_wait_over, vm))
                continue; /* a stop or a pause: the loop sees which */
            vcpu_enter_state(v, start, start_arg);
            set_pte_ad_hw(v, false); /* a hart start resets FWFT features */
            v->running = true;
        }
        if (v->suspended) {
            wait_while_suspended(v);
            continue;
        }
        sta_tick(v);
        if (vm->gdb && !gdb_gate(v))
            continue; /* the loop looks for a stop, a pause, an HSM change */
        uint64_t cause = dv_enter(v->hart);
        bool go_on = !stopping(vm) && handle_exit(v, cause);
        if (vm->gdb)
            gdbstub_vcpu_left(vm->gdb, v->id);
        if (!go_on)
            break;
    }
    /* Nobody may wait on a vCPU that has left: serve what is pending. */
    atomic_store(&v->done_seq, UINT64_MAX);
    pthread_mutex_lock(&vm->pause.lock);
    vm->pause.threads--;
    pthread_cond_broadcast(&vm->pause.changed);
    pthread_mutex_unlock(&vm->pause.lock);
    return NULL;
}

/* --- the SBI host: what SBI calls do to the VM ------------------------------------------ */

static struct vm *host_vm(void *opaque)
{
    return opaque;
}

static uint64_t host_time(void *opaque, unsigned hartid)
{
    uint64_t delta = 0;
    dv_csr_read(host_vm(opaque)->vcpus[hartid].hart, DV_CSR_HUTIMEDELTA, &delta);
    return dv_host_time() + delta;
}

static void host_set_timer(void *opaque, unsigned hartid, uint64_t when)
{
    /* The caller's own Sstc compare register: the timer then needs no exit at all. */
    dv_csr_write(host_vm(opaque)->vcpus[hartid].hart, DV_CSR_HUVSTIMECMP, when);
}

/* A VM without a console (tests) writes nowhere and reads nothing. */
static void host_console_write(void *opaque, const uint8_t *buf, size_t len)
{
    if (host_vm(opaque)->console)
        console_write(host_vm(opaque)->console, buf, len);
}

/* The SBI console's input: stdin, shared with the UART; with --console hvc0
   only until the guest writes to the virtio console (virtio_devices.c). */
static size_t host_console_read(void *opaque, uint8_t *buf, size_t len)
{
    struct vm *vm = host_vm(opaque);
    return vm_virtio_console_has_input(vm) ? 0 : console_read(vm->console, buf, len);
    return host_vm(opaque)->console ? console_read(host_vm(opaque)->console, buf, len) : 0;
}

/* Host address of guest RAM [gpa, gpa+len), or NULL if any of it is not RAM. */
static uint8_t *ram_ptr(struct vm *vm, uint64_t gpa, uint64_t len)
{
    uint64_t off = gpa - PLATFORM_RAM_BASE;
    if (off >= vm->ram_size || len > vm->ram_size - off)
        return NULL;
    return vm->ram + off;
}

static int host_read_phys(void *opaque, uint64_t gpa, void *buf, size_t len)
{
    const uint8_t *p = ram_ptr(host_vm(opaque), gpa, len);
    if (!p)
        return -1;
    memcpy(buf, p, len);
    return 0;
}

static int host_write_phys(void *opaque, uint64_t gpa, const void *buf, size_t len)
{
    struct vm *vm = host_vm(opaque);
    uint8_t *p = ram_ptr(vm, gpa, len);
    if (!p)
        return -1;
    memcpy(p, buf, len);
    dv_mem_written(vm->machine, p, len);
    return 0;
}

static int host_read_virt(void *opaque, unsigned hartid, uint64_t gva, void *buf, size_t len)
{
    return dv_guest_read(host_vm(opaque)->vcpus[hartid].hart, gva, buf, len);
}

static void host_send_ipi(void *opaque, unsigned target)
{
    vcpu_request(&host_vm(opaque)->vcpus[target], VCPU_REQ_SSIP);
}

static void host_clear_ipi(void *opaque, unsigned hartid)
{
    struct vcpu *v = &host_vm(opaque)->vcpus[hartid];
    set_csr(v, DV_CSR_HUVIP, csr(v, DV_CSR_HUVIP) & ~DV_HUVIP_VSSIP);
}

static void host_remote_fence(void *opaque, unsigned caller, const bool *targets,
                              enum sbi_fence_kind kind, uint64_t start, uint64_t size,
                              uint64_t asid)
{
    (void)start, (void)size, (void)asid; /* every flush is a full flush: always correct */
    struct vm *vm = host_vm(opaque);
    unsigned req = kind == SBI_FENCE_I ? VCPU_REQ_FENCE_I : VCPU_REQ_FENCE_VMA;
    uint64_t wait_for[VM_MAX_VCPUS] = {0};
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        if (!targets[i])
            continue;
        if (i == caller) {
            if (req == VCPU_REQ_FENCE_I)
                dv_fence_i(vm->vcpus[i].hart);
            else
                dv_hufence_vvma(vm->vcpus[i].hart);
            continue;
        }
        enum sbi_hsm_state st = sbi_hsm_state_of(&vm->sbi, i);
        if (st != SBI_HSM_STARTED && st != SBI_HSM_SUSPENDED)
            continue; /* a stopped hart flushes everything when it starts */
        atomic_fetch_or(&vm->vcpus[i].requests, req);
        wait_for[i] = atomic_fetch_add(&vm->vcpus[i].req_seq, 1) + 1;
        vcpu_kick(&vm->vcpus[i]);
    }
    /* Wait for every target, serving our own requests meanwhile so that two
       vCPUs fencing each other cannot deadlock. */
    struct vcpu *self = &vm->vcpus[caller];
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        while (wait_for[i] && atomic_load(&vm->vcpus[i].done_seq) < wait_for[i] && !stopping(vm)) {
            /* A target that stopped through HSM meanwhile serves nothing until
               it starts again, and then it flushes everything anyway. */
            enum sbi_hsm_state st = sbi_hsm_state_of(&vm->sbi, i);
            if (st != SBI_HSM_STARTED && st != SBI_HSM_SUSPENDED)
                break;
            if (requests_pending(self))
                serve_requests(self);
            /* A pause parks the targets: park here too (nothing of the guest
               is half written), or the pause would wait for this loop. */
            vcpu_park_if_paused(self);
            sched_yield();
        }
    }
}

static void host_hart_start(void *opaque, unsigned hartid, uint64_t start, uint64_t arg)
{
    (void)opaque, (void)hartid, (void)start, (void)arg; /* the target thread picks it up */
}

static int host_set_pte_ad_hw(void *opaque, unsigned hartid, bool on)
{
    return set_pte_ad_hw(&host_vm(opaque)->vcpus[hartid], on);
}

/* schedstat: "<ns on the CPU> <ns runnable, waiting for it> <timeslices>". */
static uint64_t host_run_delay_ns(void *opaque, unsigned hartid)
{
    struct vcpu *v = &host_vm(opaque)->vcpus[hartid];
    char buf[96];
    if (v->schedstat_fd < 0)
        return 0;
    ssize_t n = pread(v->schedstat_fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long on_cpu = 0, delay = 0;
    return sscanf(buf, "%llu %llu", &on_cpu, &delay) == 2 ? delay : 0;
}

static void host_system_reset(void *opaque, unsigned type, unsigned reason)
{
    (void)reason;
    vm_request_stop(host_vm(opaque),
                    type == SBI_RESET_SHUTDOWN ? VM_STOP_POWEROFF : VM_STOP_REBOOT);
}

static int host_hart_csr_read(void *opaque, unsigned hartid, unsigned csr, uint64_t *value)
{
    return dv_csr_read(host_vm(opaque)->vcpus[hartid].hart, csr, value) == DV_OK ? 0 : -1;
}

static int host_hart_csr_write(void *opaque, unsigned hartid, unsigned csr, uint64_t value)
{
    return dv_csr_write(host_vm(opaque)->vcpus[hartid].hart, csr, value) == DV_OK ? 0 : -1;
}

void vm_sbi_host_init(struct vm *vm)
{
    vm->sbi_host = (struct sbi_host){
        .opaque = vm,
        .nharts = vm->cfg->smp,
        .impl_version = 1,
        .time = host_time,
        .set_timer = host_set_timer,
        .console_write = host_console_write,
        .console_read = host_console_read,
        .read_phys = host_read_phys,
        .write_phys = host_write_phys,
        .read_virt = host_read_virt,
        .send_ipi = host_send_ipi,
        .clear_ipi = host_clear_ipi,
        .remote_fence = host_remote_fence,
        .hart_start = host_hart_start,
        .set_pte_ad_hw = host_set_pte_ad_hw,
        .run_delay_ns = host_run_delay_ns,
        .system_reset = host_system_reset,
        .hart_csr_read = host_hart_csr_read,
        .hart_csr_write = host_hart_csr_write,
    };
}
