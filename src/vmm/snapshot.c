/* Snapshot files: framing, the VM-level sections, guest memory (see snapshot.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/err.h"
#include "util/fdio.h"
#include "util/le.h"
#include "util/state.h"
#include "vmm/snapshot.h"
#include "vmm/vm.h"

static const char MAGIC[8] = {'D', 'U', 'V', 'I', 'S', 'N', 'A', 'P'};
#define ARCH_RISCV64  (243u | 64u << 16) /* EM_RISCV, XLEN */
#define HEADER_BYTES  32u
#define TRAILER_BYTES 8u
#define PAGE          4096u

/* The hart state a snapshot keeps, in the order it is written back: the
   guest's own CSRs first, the exit CSRs last. Not here: hutimedelta (guest
   time is saved instead), hugatp (the new VMM's G-stage), vcpuid (fixed),
   huip (exits not yet taken: a restored hart re-evaluates its timers). */
static const unsigned HART_CSRS[] = {
    DV_CSR_FCSR,
    DV_CSR_HUVSSTATUS,
    DV_CSR_HUVSIE,
    DV_CSR_HUVSTVEC,
    DV_CSR_HUVSSCRATCH,
    DV_CSR_HUVSEPC,
    DV_CSR_HUVSCAUSE,
    DV_CSR_HUVSTVAL,
    DV_CSR_HUVSTIMECMP,
    DV_CSR_HUVSATP,
    DV_CSR_VTIMECMP,
    DV_CSR_VTIMECTL,
    DV_CSR_HUIE,
    DV_CSR_HUCOUNTEREN,
    DV_CSR_HUVIP,
    DV_CSR_GUEST_SCOUNTEREN,
    DV_CSR_GUEST_SENVCFG,
    DV_CSR_GUEST_INSTRET,
    DV_CSR_UTVEC,
    DV_CSR_USCRATCH,
    DV_CSR_UCAUSE,
    DV_CSR_UTVAL,
    DV_CSR_HUTVAL,
    DV_CSR_HUTINST,
    DV_CSR_HUSTATUS,
    DV_CSR_UEPC,
    /* added later, so that older snapshots are this list's prefix (see below):
       envcfg, then the counters (events before values: an event write keeps
       the value, so the value written last stands) */
    DV_CSR_HUENVCFG,
    DV_CSR_HUHPMEVENT3 + 0,
    DV_CSR_HUHPMEVENT3 + 1,
    DV_CSR_HUHPMEVENT3 + 2,
    DV_CSR_HUHPMEVENT3 + 3,
    DV_CSR_HUHPMEVENT3 + 4,
    DV_CSR_HUHPMEVENT3 + 5,
    DV_CSR_HUHPMEVENT3 + 6,
    DV_CSR_HUHPMEVENT3 + 7,
    DV_CSR_HUHPMEVENT3 + 8,
    DV_CSR_HUHPMEVENT3 + 9,
    DV_CSR_HUHPMEVENT3 + 10,
    DV_CSR_HUHPMEVENT3 + 11,
    DV_CSR_HUHPMEVENT3 + 12,
    DV_CSR_HUHPMEVENT3 + 13,
    DV_CSR_HUHPMEVENT3 + 14,
    DV_CSR_HUHPMEVENT3 + 15,
    DV_CSR_HUHPMEVENT3 + 16,
    DV_CSR_HUHPMEVENT3 + 17,
    DV_CSR_HUHPMEVENT3 + 18,
    DV_CSR_HUHPMEVENT3 + 19,
    DV_CSR_HUHPMEVENT3 + 20,
    DV_CSR_HUHPMEVENT3 + 21,
    DV_CSR_HUHPMEVENT3 + 22,
    DV_CSR_HUHPMEVENT3 + 23,
    DV_CSR_HUHPMEVENT3 + 24,
    DV_CSR_HUHPMEVENT3 + 25,
    DV_CSR_HUHPMEVENT3 + 26,
    DV_CSR_HUHPMEVENT3 + 27,
    DV_CSR_HUHPMEVENT3 + 28,
    DV_CSR_HUCOUNTINHIBIT,
    DV_CSR_HUHPMCOUNTER0,
    DV_CSR_HUHPMCOUNTER0 + 2,
    DV_CSR_HUHPMCOUNTER0 + 3,
    DV_CSR_HUHPMCOUNTER0 + 4,
    DV_CSR_HUHPMCOUNTER0 + 5,
    DV_CSR_HUHPMCOUNTER0 + 6,
    DV_CSR_HUHPMCOUNTER0 + 7,
    DV_CSR_HUHPMCOUNTER0 + 8,
    DV_CSR_HUHPMCOUNTER0 + 9,
    DV_CSR_HUHPMCOUNTER0 + 10,
    DV_CSR_HUHPMCOUNTER0 + 11,
    DV_CSR_HUHPMCOUNTER0 + 12,
    DV_CSR_HUHPMCOUNTER0 + 13,
    DV_CSR_HUHPMCOUNTER0 + 14,
    DV_CSR_HUHPMCOUNTER0 + 15,
    DV_CSR_HUHPMCOUNTER0 + 16,
    DV_CSR_HUHPMCOUNTER0 + 17,
    DV_CSR_HUHPMCOUNTER0 + 18,
    DV_CSR_HUHPMCOUNTER0 + 19,
    DV_CSR_HUHPMCOUNTER0 + 20,
    DV_CSR_HUHPMCOUNTER0 + 21,
    DV_CSR_HUHPMCOUNTER0 + 22,
    DV_CSR_HUHPMCOUNTER0 + 23,
    DV_CSR_HUHPMCOUNTER0 + 24,
    DV_CSR_HUHPMCOUNTER0 + 25,
    DV_CSR_HUHPMCOUNTER0 + 26,
    DV_CSR_HUHPMCOUNTER0 + 27,
    DV_CSR_HUHPMCOUNTER0 + 28,
    DV_CSR_HUHPMCOUNTER0 + 29,
    DV_CSR_HUHPMCOUNTER0 + 30,
    DV_CSR_HUHPMCOUNTER0 + 31,
};
#define NCSRS (sizeof(HART_CSRS) / sizeof(HART_CSRS[0]))
/* The list's lengths over time: a snapshot holds one of them, and the
   registers it does not hold stay at their reset values (huenvcfg: PBMTE and
   ADUE on, what the hart did before it had the register; the counters:
   cycle and instret running from the restored instret, the others stopped). */
static const unsigned HART_CSRS_GENERATIONS[] = {26, NCSRS};

static bool known_csr_count(uint32_t count)
{
    for (unsigned i = 0; i < sizeof(HART_CSRS_GENERATIONS) / sizeof(unsigned); i++)
        if (count == HART_CSRS_GENERATIONS[i])
            return true;
    return false;
}

/* --- writing -------------------------------------------------------------------------- */

static void begin_section(struct state_writer *w, const char *name, size_t *len_at)
{
    state_put_str(w, name);
    *len_at = w->len;
    state_put_u32(w, 0); /* patched by end_section */
}

static void end_section(struct state_writer *w, size_t len_at)
{
    if (!w->failed)
        put_le32(w->buf + len_at, (uint32_t)(w->len - len_at - 4));
}

static void save_machine(struct vm *vm, const char *version, struct state_writer *w)
{
    state_put_str(w, version);
    state_put_u32(w, vm->cfg->smp);
    state_put_u64(w, vm->ram_size);
    state_put_u32(w, vm->devices.count);
    for (unsigned i = 0; i < vm->devices.count; i++)
        state_put_str(w, vm->devices.dev[i].id);
}

static void save_plic(struct vm *vm, struct state_writer *w, struct dv_plic_state *st)
{
    dv_plic_get_state(vm->machine, st);
    unsigned words = (st->nsources + 31) / 32;
    state_put_u32(w, st->nsources);
    state_put_u32(w, st->ncontexts);
    state_put_bytes(w, st->priority, st->nsources);
    for (unsigned i = 0; i < words; i++) {
        state_put_u32(w, st->pending[i]);
        state_put_u32(w, st->claimed[i]);
    }
    for (unsigned c = 0; c < st->ncontexts; c++) {
        for (unsigned i = 0; i < words; i++)
            state_put_u32(w, st->enable[c][i]);
        state_put_u8(w, st->threshold[c]);
    }
}

/* --irqchip aia: the APLIC domain, then per hart its IDC, its IMSIC file and
   the guest's siselect (dvext.h's dv_aia_state, plus vsiselect). */
static void save_aia(struct vm *vm, struct state_writer *w, struct dv_aia_state *st)
{
    dv_aia_get_state(vm->machine, st);
    unsigned words = (st->nsources + 31) / 32;
    state_put_u32(w, st->nsources);
    state_put_u32(w, st->nharts);
    state_put_u32(w, st->domaincfg);
    state_put_u32(w, st->genmsi);
    for (unsigned i = 1; i < st->nsources; i++) {
        state_put_u32(w, st->sourcecfg[i]);
        state_put_u32(w, st->target[i]);
    }
    for (unsigned i = 0; i < words; i++) {
        state_put_u32(w, st->pending[i]);
        state_put_u32(w, st->enable[i]);
        state_put_u32(w, st->input[i]);
    }
    for (unsigned n = 0; n < st->nharts; n++) {
        state_put_u32(w, st->hart[n].idelivery);
        state_put_u32(w, st->hart[n].iforce);
        state_put_u32(w, st->hart[n].ithreshold);
        state_put_u32(w, st->hart[n].eidelivery);
        state_put_u32(w, st->hart[n].eithreshold);
        for (unsigned i = 0; i < 4; i++) {
            state_put_u64(w, st->hart[n].eip[i]);
            state_put_u64(w, st->hart[n].eie[i]);
        }
        uint64_t sel = 0;
        dv_csr_read(vm->vcpus[n].hart, DV_CSR_HUVSISELECT, &sel);
        state_put_u64(w, sel);
    }
}

/* Guest time on v when the VM paused: what it reads again after a restore. */
static uint64_t paused_guest_time(struct vm *vm, struct vcpu *v)
{
    uint64_t delta = 0;
    dv_csr_read(v->hart, DV_CSR_HUTIMEDELTA, &delta);
    /* Pauses before this one that v has not yet taken off its clock. */
    uint64_t owed = vm->pause.paused_ticks - v->paused_applied;
    return vm->pause.start_time + delta - owed;
}

/* The V state (format 1.1), after the CSRs: vlenb, then VECTOR_CSRS in that
   order (vtype before vl, which it bounds), then v0..v31. */
static const unsigned VECTOR_CSRS[] = {DV_CSR_GUEST_VTYPE, DV_CSR_GUEST_VL, DV_CSR_GUEST_VSTART,
                                       DV_CSR_GUEST_VCSR};
#define NVCSRS (sizeof(VECTOR_CSRS) / sizeof(VECTOR_CSRS[0]))

static void save_vector(struct vcpu *v, struct state_writer *w)
{
    uint64_t vlenb = 0, value = 0;
    uint8_t reg[256];
    dv_csr_read(v->hart, DV_CSR_GUEST_VLENB, &vlenb);
    state_put_u32(w, (uint32_t)vlenb);
    for (unsigned i = 0; i < NVCSRS; i++) {
        dv_csr_read(v->hart, VECTOR_CSRS[i], &value);
        state_put_u64(w, value);
    }
    for (unsigned r = 0; r < 32; r++) {
        if (vlenb > sizeof(reg) || dv_vreg_get(v->hart, r, reg, vlenb) != DV_OK)
            memset(reg, 0, sizeof(reg));
        state_put_bytes(w, reg, vlenb);
    }
}

static void restore_vector(struct vcpu *v, struct state_reader *r)
{
    if (!state_remaining(r))
        return; /* format 1.0: no vector state, the hart's reset state stays */
    uint64_t vlenb = 0;
    dv_csr_read(v->hart, DV_CSR_GUEST_VLENB, &vlenb);
    uint32_t saved = state_get_u32(r);
    if (state_reader_ok(r) && saved != vlenb) {
        state_fail(r, "vector registers of %u bytes; this hart's are %llu", saved,
                   (unsigned long long)vlenb);
        return;
    }
    for (unsigned i = 0; i < NVCSRS && state_reader_ok(r); i++) {
        uint64_t value = state_get_u64(r);
        if (state_reader_ok(r) && dv_csr_write(v->hart, VECTOR_CSRS[i], value) != DV_OK)
            state_fail(r, "the hart refuses %#llx in vector register %#x",
                       (unsigned long long)value, VECTOR_CSRS[i]);
    }
    uint8_t reg[256];
    for (unsigned i = 0; i < 32 && state_reader_ok(r); i++)
        if (state_get_bytes(r, reg, vlenb))
            dv_vreg_set(v->hart, i, reg, vlenb);
}

/* Minor 2: how a SUSPENDED hart resumes, STA's shared memory, FWFT. */
static void save_vcpu_sbi(struct vm *vm, struct vcpu *v, const struct sbi_hsm_saved *hsm,
                          struct state_writer *w)
{
    uint64_t shmem, steal;
    uint32_t sequence;
    sbi_sta_save(&vm->sbi, v->id, &shmem, &sequence, &steal);
    state_put_u32(w, (uint32_t)hsm->suspend);
    state_put_u64(w, hsm->resume_addr);
    state_put_u64(w, hsm->resume_arg);
    state_put_u64(w, shmem);
    state_put_u32(w, sequence);
    state_put_u64(w, steal);
    state_put_u8(w, vm->sbi.fwft[v->id].pte_ad_hw);
    state_put_u32(w, vm->sbi.fwft[v->id].locked);
}

/* Minor 3: the SBI PMU's counter configuration (sbi_pmu_saved). */
static void save_vcpu_pmu(struct vm *vm, struct vcpu *v, struct state_writer *w)
{
    struct sbi_pmu_saved pmu;
    sbi_pmu_save(&vm->sbi, v->id, &pmu);
    state_put_u32(w, pmu.hw_used);
    state_put_u16(w, pmu.fw_used);
    state_put_u16(w, pmu.fw_started);
    for (unsigned f = 0; f < SBI_PMU_FW_COUNTERS; f++) {
        state_put_u8(w, pmu.fw_event[f]);
        state_put_u64(w, pmu.fw_value[f]);
    }
}

static void save_vcpu(struct vm *vm, struct vcpu *v, struct state_writer *w)
{
    struct sbi_hsm_saved hsm;
    sbi_hsm_save(&vm->sbi, v->id, &hsm);
    state_put_u32(w, (uint32_t)hsm.state);
    state_put_u64(w, hsm.start);
    state_put_u64(w, hsm.arg);
    state_put_u64(w, paused_guest_time(vm, v));
    for (unsigned r = 1; r < 32; r++)
        state_put_u64(w, dv_gpr_get(v->hart, r));
    for (unsigned r = 0; r < 32; r++)
        state_put_u64(w, dv_fpr_get(v->hart, r));
    state_put_u32(w, (uint32_t)NCSRS);
    for (unsigned i = 0; i < NCSRS; i++) {
        uint64_t value = 0;
        dv_csr_read(v->hart, HART_CSRS[i], &value);
        /* An IPI asked of this vCPU and not yet served is an interrupt
           pending in the guest: keep it as one. */
        if (HART_CSRS[i] == DV_CSR_HUVIP && (atomic_load(&v->requests) & VCPU_REQ_SSIP))
            value |= DV_HUVIP_VSSIP;
        state_put_u32(w, HART_CSRS[i]);
        state_put_u64(w, value);
    }
    save_vector(v, w);
    save_vcpu_sbi(vm, v, &hsm, w);
    save_vcpu_pmu(vm, v, w);
}

int snapshot_encode(struct vm *vm, const char *version, struct state_writer *w, char *err,
                    size_t err_len)
{
    /* As Firecracker with vhost-user devices: virtiofsd's state (the guest's
       open files, its inodes) is in another process and cannot be saved. */
    if (vm->cfg->nshares)
        return set_err(err, err_len,
                       "a VM with a --share (virtio-fs) cannot be snapshotted or upgraded: "
                       "virtiofsd's state cannot be saved");
    if (!vm_paused(vm))
        return set_err(err, err_len, "the VM must be paused");
    bool aia = vm->cfg->irqchip == VM_IRQCHIP_AIA;
    void *intc = malloc(aia ? sizeof(struct dv_aia_state) : sizeof(struct dv_plic_state));
    if (!intc)
        return set_err(err, err_len, "out of memory");
    state_put_bytes(w, MAGIC, sizeof(MAGIC));
    state_put_u32(w, SNAPSHOT_FORMAT_MAJOR);
    state_put_u32(w, SNAPSHOT_FORMAT_MINOR);
    state_put_u32(w, ARCH_RISCV64);
    state_put_u32(w, 0);
    state_put_u64(w, 0); /* body length, patched below */
    size_t at;
    begin_section(w, "machine", &at);
    save_machine(vm, version, w);
    end_section(w, at);
    begin_section(w, "config", &at);
    vm_config_save(vm->cfg, w);
    end_section(w, at);
    begin_section(w, aia ? "aia" : "plic", &at);
    if (aia)
        save_aia(vm, w, intc);
    else
        save_plic(vm, w, intc);
    end_section(w, at);
    free(intc);
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        char name[16];
        snprintf(name, sizeof(name), "vcpu%u", i);
        begin_section(w, name, &at);
        save_vcpu(vm, &vm->vcpus[i], w);
        end_section(w, at);
    }
    for (unsigned i = 0; i < vm->devices.count; i++) {
        const struct vm_device *d = &vm->devices.dev[i];
        if (!d->ops->save)
            continue;
        char name[VM_DEVICE_ID_MAX + 8];
        snprintf(name, sizeof(name), "dev:%s", d->id);
        begin_section(w, name, &at);
        d->ops->save(d->opaque, w);
        end_section(w, at);
    }
    if (w->failed)
        return set_err(err, err_len, "out of memory writing the snapshot");
    put_le64(w->buf + 24, w->len - HEADER_BYTES);
    state_put_u64(w, state_crc64(0, w->buf, w->len));
    return w->failed ? set_err(err, err_len, "out of memory writing the snapshot") : 0;
}

int snapshot_write_file(const char *path, const void *data, size_t len, char *err, size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return set_err(err, err_len, "cannot create '%s': %s", path, strerror(errno));
    int rc = pwrite_full(fd, data, len, 0);
    if (close(fd) != 0)
        rc = -1;
    return rc ? set_err(err, err_len, "cannot write '%s': %s", path, strerror(errno)) : 0;
}

static bool page_is_zero(const uint8_t *p)
{
    uint64_t acc = 0;
    for (unsigned i = 0; i < PAGE; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        acc |= v;
    }
    return acc == 0;
}

/* [start, end) of RAM into fd, runs of non-zero pages only. */
static int write_range(int fd, const uint8_t *ram, uint64_t start, uint64_t end)
{
    uint64_t run = start;
    for (uint64_t p = start; p < end; p += PAGE) {
        if (!page_is_zero(ram + p))
            continue;
        if (p > run && pwrite_full(fd, ram + run, p - run, run))
            return -1;
        run = p + PAGE;
    }
    return end > run ? pwrite_full(fd, ram + run, end - run, run) : 0;
}

/* Write the parts of RAM that hold data: those the memfd has pages for (a
   fresh VM), or all of it (RAM mapped privately from a memory file). */
static int write_ram(struct vm *vm, int fd)
{
    if (vm->memfd < 0)
        return write_range(fd, vm->ram, 0, vm->ram_size);
    off_t off = 0;
    while ((uint64_t)off < vm->ram_size) {
        off_t data = lseek(vm->memfd, off, SEEK_DATA);
        if (data < 0)
            return errno == ENXIO ? 0 : -1; /* no data past off */
        off_t hole = lseek(vm->memfd, data, SEEK_HOLE);
        if (hole < 0 || (uint64_t)hole > vm->ram_size)
            hole = (off_t)vm->ram_size;
        if (write_range(fd, vm->ram, (uint64_t)data & ~(uint64_t)(PAGE - 1), (uint64_t)hole))
            return -1;
        off = hole;
    }
    return 0;
}

int snapshot_write_memory_fd(struct vm *vm, int fd)
{
    return ftruncate(fd, (off_t)vm->ram_size) == 0 ? write_ram(vm, fd) : -1;
}

int snapshot_write_memory(struct vm *vm, const char *path, char *err, size_t err_len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return set_err(err, err_len, "cannot create '%s': %s", path, strerror(errno));
    int rc = snapshot_write_memory_fd(vm, fd);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc)
        return set_err(err, err_len, "cannot write guest memory to '%s': %s", path,
                       strerror(saved));
    return 0;
}

/* --- diff memory files ------------------------------------------------------------------ */

#define DIFF_CHUNK (64u * PAGE)

/* [start, end) of RAM against the same range of base: the pages that differ go to out. */
static int diff_range(int out, int base, const uint8_t *ram, uint64_t start, uint64_t end,
                      uint8_t *buf)
{
    for (uint64_t at = start; at < end; at += DIFF_CHUNK) {
        size_t len = end - at < DIFF_CHUNK ? (size_t)(end - at) : DIFF_CHUNK;
        ssize_t n = pread(base, buf, len, (off_t)at);
        if (n < 0)
            return -1;
        memset(buf + n, 0, len - (size_t)n);
        for (size_t p = 0; p < len; p += PAGE) {
            size_t plen = len - p < PAGE ? len - p : PAGE;
            if (memcmp(ram + at + p, buf + p, plen) && pwrite_full(out, ram + at + p, plen, at + p))
                return -1;
        }
    }
    return 0;
}

/* The first extent of fd's data (what SEEK_DATA finds) or holes (SEEK_HOLE)
   at or after off, cut at end: [*start, *stop). false when there is none. */
static bool next_extent(int fd, off_t off, off_t end, int what, off_t *start, off_t *stop)
{
    off_t s = lseek(fd, off, what);
    if (s < 0 || s >= end)
        return false;
    off_t e = lseek(fd, s, what == SEEK_DATA ? SEEK_HOLE : SEEK_DATA);
    *start = s;
    *stop = e < 0 || e > end ? end : e; /* no data after a hole: ENXIO */
    return true;
}

static int write_diff(struct vm *vm, int out, int base)
{
    uint8_t *buf = malloc(DIFF_CHUNK);
    if (!buf)
        return -1;
    int rc = 0;
    off_t size = (off_t)vm->ram_size, s, e, hs, he;
    uint64_t page_mask = ~(uint64_t)(PAGE - 1);
    if (vm->memfd < 0) {
        rc = diff_range(out, base, vm->ram, 0, vm->ram_size, buf);
    } else {
        /* Every page the memfd holds; */
        for (off_t off = 0; rc == 0 && next_extent(vm->memfd, off, size, SEEK_DATA, &s, &e);
             off = e)
            rc = diff_range(out, base, vm->ram, (uint64_t)s & page_mask, (uint64_t)e, buf);
        /* the pages it never had read zero, and differ only where the base
           holds data (a base from elsewhere): compare those once too. */
        for (off_t off = 0; rc == 0 && next_extent(base, off, size, SEEK_DATA, &s, &e); off = e)
            for (off_t at = s; rc == 0 && next_extent(vm->memfd, at, e, SEEK_HOLE, &hs, &he);
                 at = he)
                rc = diff_range(out, base, vm->ram, (uint64_t)hs & page_mask, (uint64_t)he, buf);
    }
    free(buf);
    return rc;
}

int snapshot_write_memory_diff(struct vm *vm, const char *path, const char *base_path, char *err,
                               size_t err_len)
{
    int base = open(base_path, O_RDONLY | O_CLOEXEC);
    if (base < 0)
        return set_err(err, err_len, "cannot open the base memory file '%s': %s", base_path,
                       strerror(errno));
    struct stat st;
    if (fstat(base, &st) != 0 || (uint64_t)st.st_size != vm->ram_size) {
        close(base);
        return set_err(err, err_len, "the base memory file '%s' is not this VM's size", base_path);
    }
    int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (out < 0) {
        close(base);
        return set_err(err, err_len, "cannot create '%s': %s", path, strerror(errno));
    }
    int rc = ftruncate(out, (off_t)vm->ram_size) == 0 ? write_diff(vm, out, base) : -1;
    int saved = errno;
    close(base);
    if (close(out) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    return rc ? set_err(err, err_len, "cannot write the diff to '%s': %s", path, strerror(saved))
              : 0;
}

int snapshot_rebase_memory(const char *base_path, const char *diff_path, char *err, size_t err_len)
{
    int base = open(base_path, O_WRONLY | O_CLOEXEC);
    int diff = open(diff_path, O_RDONLY | O_CLOEXEC);
    struct stat bs, ds;
    int rc = -1;
    uint8_t *buf = malloc(DIFF_CHUNK);
    if (base < 0 || diff < 0 || !buf)
        set_err(err, err_len, "cannot open '%s': %s", base < 0 ? base_path : diff_path,
                strerror(errno));
    else if (fstat(base, &bs) || fstat(diff, &ds) || bs.st_size != ds.st_size)
        set_err(err, err_len, "'%s' and '%s' are not memory files of the same VM", base_path,
                diff_path);
    else
        rc = 0;
    for (off_t off = 0; rc == 0 && off < ds.st_size;) {
        off_t data = lseek(diff, off, SEEK_DATA);
        if (data < 0)
            break; /* ENXIO: no data past off */
        off_t hole = lseek(diff, data, SEEK_HOLE);
        for (off_t at = data; rc == 0 && at < hole; at += DIFF_CHUNK) {
            size_t len = hole - at < (off_t)DIFF_CHUNK ? (size_t)(hole - at) : DIFF_CHUNK;
            ssize_t n = pread(diff, buf, len, at);
            if (n != (ssize_t)len || pwrite_full(base, buf, len, (uint64_t)at))
                rc = set_err(err, err_len, "cannot merge '%s' onto '%s': %s", diff_path, base_path,
                             strerror(errno));
        }
        off = hole;
    }
    free(buf);
    if (base >= 0 && close(base) != 0 && rc == 0)
        rc = set_err(err, err_len, "cannot write '%s': %s", base_path, strerror(errno));
    if (diff >= 0)
        close(diff);
    return rc;
}

/* --- reading -------------------------------------------------------------------------- */

void snapshot_free(struct snapshot *s)
{
    for (unsigned i = 0; i < s->nsections; i++)
        free(s->sections[i].padded);
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

static struct snapshot_section *find_section(struct snapshot *s, const char *name)
{
    for (unsigned i = 0; i < s->nsections; i++)
        if (!strcmp(s->sections[i].name, name))
            return &s->sections[i];
    return NULL;
}

/* A reader over section name, marked used; NULL with a reason if it is missing. */
static bool open_section(struct snapshot *s, const char *name, struct state_reader *r, char *err,
                         size_t err_len)
{
    struct snapshot_section *sec = find_section(s, name);
    if (!sec) {
        set_err(err, err_len, "the snapshot has no '%s' section", name);
        return false;
    }
    sec->used = true;
    state_reader_init(r, sec->data, sec->len);
    return true;
}

/* The section was read whole and without a complaint. */
static int close_section(const struct state_reader *r, const char *name, char *err, size_t err_len)
{
    if (!state_reader_ok(r))
        return set_err(err, err_len, "snapshot section '%s': %s", name, r->why);
    if (state_remaining(r))
        return set_err(err, err_len, "snapshot section '%s' has %zu bytes too many", name,
                       state_remaining(r));
    return 0;
}

/* name as it may appear in a one-line reason: control characters as \\xNN. */
static const char *shown(const char *name, char *buf, size_t len)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)name; *c && n + 5 < len; c++)
        n += (size_t)snprintf(buf + n, len - n, *c < 0x20 || *c == 0x7f ? "\\x%02x" : "%c", *c);
    buf[n] = 0;
    return buf;
}

static int index_sections(struct snapshot *s, struct state_reader *body, char *err, size_t err_len)
{
    char tmp[4 * 72];
    while (state_remaining(body) && state_reader_ok(body)) {
        if (s->nsections == SNAPSHOT_MAX_SECTIONS)
            return set_err(err, err_len, "the snapshot has more than %u sections",
                           SNAPSHOT_MAX_SECTIONS);
        struct snapshot_section *sec = &s->sections[s->nsections];
        state_get_str(body, sec->name, sizeof(sec->name));
        uint32_t len = state_get_u32(body);
        if (state_reader_ok(body) && len > state_remaining(body))
            state_fail(body, "section '%s' runs past the end", shown(sec->name, tmp, sizeof(tmp)));
        if (!state_reader_ok(body))
            break;
        if (find_section(s, sec->name))
            return set_err(err, err_len, "the snapshot has two '%s' sections",
                           shown(sec->name, tmp, sizeof(tmp)));
        sec->data = body->data + body->pos;
        sec->len = len;
        body->pos += len;
        s->nsections++;
    }
    if (!state_reader_ok(body))
        return set_err(err, err_len, "the snapshot is damaged: %s", body->why);
    return 0;
}

static int check_header(const uint8_t *p, size_t len, char *err, size_t err_len)
{
    if (len < HEADER_BYTES + TRAILER_BYTES || memcmp(p, MAGIC, sizeof(MAGIC)) != 0)
        return set_err(err, err_len, "not a duvisor snapshot");
    uint32_t major = get_le32(p + 8), arch = get_le32(p + 16);
    if (major != SNAPSHOT_FORMAT_MAJOR)
        return set_err(err, err_len,
                       "snapshot format version %u.%u; this duvisor reads version %u only", major,
                       get_le32(p + 12), SNAPSHOT_FORMAT_MAJOR);
    if (arch != ARCH_RISCV64)
        return set_err(err, err_len, "a snapshot for another architecture (%#x)", arch);
    if (get_le64(p + 24) != len - HEADER_BYTES - TRAILER_BYTES)
        return set_err(err, err_len, "the snapshot is truncated or has bytes past its end");
    if (get_le64(p + len - TRAILER_BYTES) != state_crc64(0, p, len - TRAILER_BYTES))
        return set_err(err, err_len, "the snapshot is damaged (checksum mismatch)");
    return 0;
}

static int read_machine_and_config(struct snapshot *s, char *err, size_t err_len)
{
    struct state_reader r;
    if (!open_section(s, "machine", &r, err, err_len))
        return -1;
    state_get_str(&r, s->version, sizeof(s->version));
    /* the rest of "machine" is checked against the VM in snapshot_apply */
    if (!state_reader_ok(&r))
        return set_err(err, err_len, "snapshot section 'machine': %s", r.why);
    if (!open_section(s, "config", &r, err, err_len))
        return -1;
    vm_config_init(&s->cfg);
    vm_config_restore(&s->cfg, &r);
    return close_section(&r, "config", err, err_len);
}

/* Fields added at the end of a section in a later minor version: a file of
   an older one reads as if it had them, all zero (the old behaviour). */
static const struct section_growth {
    unsigned minor; /* the first minor version that has them */
    const char *name;
    unsigned bytes;
} section_growths[] = {
    {1, "config", 6},   /* the interrupt controller (PLIC), VLEN (0: the default) and the
                           console device (UART) */
    {1, "dev:hvc0", 1}, /* the virtio console: the guest has not written to it */
    {4, "config", 8},   /* the vsock device's CID (0: none) and socket path ("") */
    {5, "config", 11},  /* no balloon */
};

static int pad_older_sections(struct snapshot *s, char *err, size_t err_len)
{
    for (size_t g = 0; g < sizeof(section_growths) / sizeof(section_growths[0]); g++) {
        const struct section_growth *grow = &section_growths[g];
        struct snapshot_section *sec = s->minor < grow->minor ? find_section(s, grow->name) : NULL;
        if (!sec)
            continue;
        uint8_t *padded = calloc(1, sec->len + grow->bytes);
        if (!padded)
            return set_err(err, err_len, "out of memory");
        memcpy(padded, sec->data, sec->len);
        free(sec->padded);
        sec->data = sec->padded = padded;
        sec->len += grow->bytes;
    }
    return 0;
}

int snapshot_decode(struct snapshot *s, const void *data, size_t len, char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    if (len > SNAPSHOT_MAX_BYTES)
        return set_err(err, err_len, "the snapshot is larger than %u MiB: not a duvisor snapshot",
                       SNAPSHOT_MAX_BYTES >> 20);
    if (check_header(data, len, err, err_len))
        return -1;
    if (!(s->buf = malloc(len)))
        return set_err(err, err_len, "out of memory");
    memcpy(s->buf, data, len);
    s->len = len;
    s->major = get_le32(s->buf + 8);
    s->minor = get_le32(s->buf + 12);
    struct state_reader body;
    state_reader_init(&body, s->buf + HEADER_BYTES, len - HEADER_BYTES - TRAILER_BYTES);
    if (index_sections(s, &body, err, err_len) || pad_older_sections(s, err, err_len) ||
        read_machine_and_config(s, err, err_len)) {
        snapshot_free(s);
        return -1;
    }
    return 0;
}

int snapshot_read_file(struct snapshot *s, const char *path, char *err, size_t err_len)
{
    memset(s, 0, sizeof(*s));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return set_err(err, err_len, "cannot open snapshot '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return set_err(err, err_len, "snapshot '%s' is not a regular file", path);
    }
    if ((uint64_t)st.st_size > SNAPSHOT_MAX_BYTES) {
        close(fd);
        return set_err(err, err_len, "snapshot '%s' is larger than %u MiB: not a duvisor snapshot",
                       path, SNAPSHOT_MAX_BYTES >> 20);
    }
    size_t len = (size_t)st.st_size, done = 0;
    uint8_t *buf = malloc(len ? len : 1);
    while (buf && done < len) {
        ssize_t n = read(fd, buf + done, len - done);
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    close(fd);
    if (!buf)
        return set_err(err, err_len, "out of memory");
    char why[400];
    int rc = done == len ? snapshot_decode(s, buf, len, why, sizeof(why)) : -1;
    free(buf);
    if (done != len)
        return set_err(err, err_len, "cannot read snapshot '%s'", path);
    return rc ? set_err(err, err_len, "snapshot '%s': %s", path, why) : 0;
}

/* --- applying ------------------------------------------------------------------------- */

static int apply_machine(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    struct state_reader r;
    if (!open_section(s, "machine", &r, err, err_len))
        return -1;
    char version[64], id[VM_DEVICE_ID_MAX], tmp[4 * VM_DEVICE_ID_MAX];
    state_get_str(&r, version, sizeof(version));
    uint32_t nvcpus = state_get_u32(&r);
    uint64_t ram = state_get_u64(&r);
    uint32_t ndev = state_get_count(&r, VM_MAX_DEVICES, "devices");
    if (state_reader_ok(&r) && (nvcpus != vm->cfg->smp || ram != vm->ram_size))
        state_fail(&r, "%u vCPUs and %llu bytes of RAM, not as its configuration says", nvcpus,
                   (unsigned long long)ram);
    if (state_reader_ok(&r) && ndev != vm->devices.count)
        state_fail(&r, "%u devices; this VM has %u", ndev, vm->devices.count);
    for (unsigned i = 0; i < ndev && state_reader_ok(&r); i++)
        if (state_get_str(&r, id, sizeof(id)) && strcmp(id, vm->devices.dev[i].id))
            state_fail(&r, "device %u is '%s'; this VM's is '%s'", i, shown(id, tmp, sizeof(tmp)),
                       vm->devices.dev[i].id);
    return close_section(&r, "machine", err, err_len);
}

static int apply_plic(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    struct state_reader r;
    if (!open_section(s, "plic", &r, err, err_len))
        return -1;
    struct dv_plic_state *st = calloc(1, sizeof(*st));
    if (!st)
        return set_err(err, err_len, "out of memory");
    st->nsources = state_get_count(&r, DV_PLIC_MAX_SOURCES, "interrupt sources");
    st->ncontexts = state_get_count(&r, DV_PLIC_MAX_CONTEXTS, "interrupt contexts");
    unsigned words = (st->nsources + 31) / 32;
    state_get_bytes(&r, st->priority, st->nsources);
    for (unsigned i = 0; i < words; i++) {
        st->pending[i] = state_get_u32(&r);
        st->claimed[i] = state_get_u32(&r);
    }
    for (unsigned c = 0; c < st->ncontexts; c++) {
        for (unsigned i = 0; i < words; i++)
            st->enable[c][i] = state_get_u32(&r);
        st->threshold[c] = state_get_u8(&r);
    }
    if (state_reader_ok(&r) && dv_plic_set_state(vm->machine, st) != DV_OK)
        state_fail(&r, "the interrupt controller refuses this state");
    free(st);
    return close_section(&r, "plic", err, err_len);
}

static int apply_aia(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    struct state_reader r;
    if (!open_section(s, "aia", &r, err, err_len))
        return -1;
    struct dv_aia_state *st = calloc(1, sizeof(*st));
    uint64_t *sel = calloc(DV_AIA_MAX_HARTS, sizeof(*sel));
    if (!st || !sel) {
        free(st);
        free(sel);
        return set_err(err, err_len, "out of memory");
    }
    st->nsources = state_get_count(&r, DV_AIA_MAX_SRCS, "interrupt sources");
    st->nharts = state_get_count(&r, DV_AIA_MAX_HARTS, "interrupt files");
    st->domaincfg = state_get_u32(&r);
    st->genmsi = state_get_u32(&r);
    for (unsigned i = 1; i < st->nsources; i++) {
        st->sourcecfg[i] = state_get_u32(&r);
        st->target[i] = state_get_u32(&r);
    }
    for (unsigned i = 0; i < (st->nsources + 31) / 32; i++) {
        st->pending[i] = state_get_u32(&r);
        st->enable[i] = state_get_u32(&r);
        st->input[i] = state_get_u32(&r);
    }
    for (unsigned n = 0; n < st->nharts; n++) {
        st->hart[n].idelivery = state_get_u32(&r);
        st->hart[n].iforce = state_get_u32(&r);
        st->hart[n].ithreshold = state_get_u32(&r);
        st->hart[n].eidelivery = state_get_u32(&r);
        st->hart[n].eithreshold = state_get_u32(&r);
        for (unsigned i = 0; i < 4; i++) {
            st->hart[n].eip[i] = state_get_u64(&r);
            st->hart[n].eie[i] = state_get_u64(&r);
        }
        sel[n] = state_get_u64(&r);
    }
    if (state_reader_ok(&r) && st->nharts != vm->cfg->smp)
        state_fail(&r, "%u interrupt files for %u vCPUs", st->nharts, vm->cfg->smp);
    if (state_reader_ok(&r) && dv_aia_set_state(vm->machine, st) != DV_OK)
        state_fail(&r, "the interrupt controller refuses this state");
    for (unsigned n = 0; n < st->nharts && state_reader_ok(&r); n++)
        if (dv_csr_write(vm->vcpus[n].hart, DV_CSR_HUVSISELECT, sel[n]) != DV_OK)
            state_fail(&r, "the hart refuses siselect %#llx", (unsigned long long)sel[n]);
    free(st);
    free(sel);
    return close_section(&r, "aia", err, err_len);
}

/* Minor 2's SBI state of a vCPU (save_vcpu_sbi); older files have none. */
static void apply_vcpu_sbi(struct vcpu *v, unsigned minor, struct sbi_hsm_saved *hsm,
                           struct state_reader *r)
{
    struct sbi *sbi = &v->vm->sbi;
    if (minor < 2)
        return;
    hsm->suspend = (enum sbi_suspend_kind)state_get_u32(r);
    hsm->resume_addr = state_get_u64(r);
    hsm->resume_arg = state_get_u64(r);
    uint64_t shmem = state_get_u64(r);
    uint32_t sequence = state_get_u32(r);
    uint64_t steal = state_get_u64(r);
    uint8_t pte_ad_hw = state_get_u8(r);
    uint32_t locked = state_get_u32(r);
    if (!state_reader_ok(r))
        return;
    if (sbi_sta_restore(sbi, v->id, shmem, sequence, steal))
        state_fail(r, "steal-time memory at %#llx is not 64 bytes of RAM",
                   (unsigned long long)shmem);
    else if (pte_ad_hw > 1 || locked >> SBI_FWFT_FEATURES)
        state_fail(r, "firmware features %u / locks %#x", pte_ad_hw, locked);
    else if (pte_ad_hw && v->vm->sbi_host.set_pte_ad_hw(v->vm, v->id, true))
        state_fail(r, "hardware A/D updating on, and this hart has no Svadu");
    else
        sbi->fwft[v->id] = (struct sbi_fwft){.pte_ad_hw = pte_ad_hw, .locked = locked};
}

/* Minor 3's PMU configuration (save_vcpu_pmu); older files have none: no
   counter configured, as after a boot. */
static void apply_vcpu_pmu(struct vcpu *v, unsigned minor, struct state_reader *r)
{
    if (minor < 3)
        return;
    struct sbi_pmu_saved pmu;
    pmu.hw_used = state_get_u32(r);
    pmu.fw_used = state_get_u16(r);
    pmu.fw_started = state_get_u16(r);
    for (unsigned f = 0; f < SBI_PMU_FW_COUNTERS; f++) {
        pmu.fw_event[f] = state_get_u8(r);
        pmu.fw_value[f] = state_get_u64(r);
    }
    if (state_reader_ok(r) && sbi_pmu_restore(&v->vm->sbi, v->id, &pmu))
        state_fail(r, "PMU counters %#x/%#x started, firmware events beyond %u", pmu.fw_used,
                   pmu.fw_started, SBI_PMU_FW_EVENTS - 1);
}

static void apply_vcpu_regs(struct vcpu *v, unsigned minor, struct state_reader *r)
{
    struct sbi_hsm_saved hsm = {.state = (enum sbi_hsm_state)state_get_u32(r)};
    hsm.start = state_get_u64(r);
    hsm.arg = state_get_u64(r);
    uint64_t time = state_get_u64(r);
    for (unsigned i = 1; i < 32; i++)
        dv_gpr_set(v->hart, i, state_get_u64(r));
    for (unsigned i = 0; i < 32; i++)
        dv_fpr_set(v->hart, i, state_get_u64(r));
    uint32_t count = state_get_u32(r);
    if (!known_csr_count(count) && state_reader_ok(r))
        state_fail(r, "a different set of hart registers");
    for (unsigned i = 0; i < count && state_reader_ok(r); i++) {
        uint32_t csr = state_get_u32(r);
        uint64_t value = state_get_u64(r);
        if (state_reader_ok(r) && csr != HART_CSRS[i])
            state_fail(r, "register %#x where %#x belongs", csr, HART_CSRS[i]);
        else if (state_reader_ok(r) && dv_csr_write(v->hart, csr, value) != DV_OK)
            state_fail(r, "the hart refuses %#llx in register %#x", (unsigned long long)value, csr);
    }
    if (state_reader_ok(r))
        restore_vector(v, r);
    apply_vcpu_sbi(v, minor, &hsm, r);
    apply_vcpu_pmu(v, minor, r);
    if (!state_reader_ok(r))
        return;
    if (sbi_hsm_restore(&v->vm->sbi, v->id, &hsm))
        state_fail(r, "hart state %u (start %#llx, resume %#llx) is not one a paused VM can be in",
                   hsm.state, (unsigned long long)hsm.start, (unsigned long long)hsm.resume_addr);
    v->running = hsm.state == SBI_HSM_STARTED || hsm.state == SBI_HSM_SUSPENDED;
    /* Guest time continues from the snapshot instant: the VM was created
       paused at pause.start_time, and vm_resume takes the pause off. */
    dv_csr_write(v->hart, DV_CSR_HUTIMEDELTA, time - v->vm->pause.start_time);
    v->paused_applied = v->vm->pause.paused_ticks;
    /* Nothing the hart cached survives: it was made for other host memory. */
    dv_hufence_gvma(v->hart);
    dv_hufence_vvma(v->hart);
    dv_fence_i(v->hart);
}

static int apply_vcpus(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        char name[16];
        struct state_reader r;
        snprintf(name, sizeof(name), "vcpu%u", i);
        if (!open_section(s, name, &r, err, err_len))
            return -1;
        apply_vcpu_regs(&vm->vcpus[i], s->minor, &r);
        if (close_section(&r, name, err, err_len))
            return -1;
    }
    return 0;
}

static int apply_devices(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    for (unsigned i = 0; i < vm->devices.count; i++) {
        const struct vm_device *d = &vm->devices.dev[i];
        if (!d->ops->restore)
            continue;
        char name[VM_DEVICE_ID_MAX + 8];
        struct state_reader r;
        snprintf(name, sizeof(name), "dev:%s", d->id);
        if (!open_section(s, name, &r, err, err_len))
            return -1;
        d->ops->restore(d->opaque, &r);
        if (close_section(&r, name, err, err_len))
            return -1;
    }
    return 0;
}

int snapshot_apply(struct vm *vm, struct snapshot *s, char *err, size_t err_len)
{
    char tmp[4 * 72];
    for (unsigned i = 0; i < s->nsections; i++)
        s->sections[i].used = !strcmp(s->sections[i].name, "config");
    /* The interrupt controller before the devices: they drive its lines again. */
    bool aia = vm->cfg->irqchip == VM_IRQCHIP_AIA;
    if (apply_machine(vm, s, err, err_len) ||
        (aia ? apply_aia(vm, s, err, err_len) : apply_plic(vm, s, err, err_len)) ||
        apply_vcpus(vm, s, err, err_len) || apply_devices(vm, s, err, err_len))
        return -1;
    for (unsigned i = 0; i < s->nsections; i++)
        if (!s->sections[i].used)
            return set_err(err, err_len, "the snapshot has a section this VM has no use for: '%s'",
                           shown(s->sections[i].name, tmp, sizeof(tmp)));
    return 0;
}
