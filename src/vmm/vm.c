/* VM lifecycle: memory, boot image, devices, vCPU threads, and how a VM stops. */
#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "devices/uart8250.h"
#include "hart/engine.h"
#include "util/err.h"
#include "vmm/boot.h"
#include "vmm/console.h"
#include "vmm/fdt.h"
#include "vmm/gstage.h"
#include "vmm/virtio_devices.h"
#include "vmm/vm.h"

/* The whole file, or NULL with a reason. The one place user-given input files
   are checked: it exists, is a regular file, is not empty, is readable. */
static uint8_t *read_file(const char *what, const char *path, int held, size_t *len, char *err,
                          size_t err_len)
{
    /* A held file (a jailed VMM's) is read again from its start; it stays open. */
    int fd = held >= 0 ? held : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, err_len, "cannot open %s '%s': %s", what, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        set_err(err, err_len, "%s '%s' is not a regular file", what, path);
    else if (st.st_size == 0)
        set_err(err, err_len, "%s '%s' is empty", what, path);
    else if ((uint64_t)st.st_size > VM_MAX_MEMORY)
        set_err(err, err_len, "%s '%s' is larger than any guest memory", what, path);
    else if (!(buf = malloc((size_t)st.st_size)))
        set_err(err, err_len, "out of memory reading %s '%s'", what, path);
    size_t done = 0;
    while (buf && done < (size_t)st.st_size) {
        ssize_t n = pread(fd, buf + done, (size_t)st.st_size - done, (off_t)done);
        if (n <= 0) {
            set_err(err, err_len, "cannot read %s '%s'", what, path);
            free(buf);
            buf = NULL;
        } else {
            done += (size_t)n;
        }
    }
    if (held < 0)
        close(fd);
    *len = done;
    return buf;
}

/* --- devices ------------------------------------------------------------------------ */

static void uart_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct vm *vm = opaque;
    console_write(vm->console, buf, len);
}

static void uart_irq(void *opaque, bool level)
{
    struct vm *vm = opaque;
    dv_plic_set_irq(vm->machine, PLATFORM_UART_IRQ, level);
}

static void uart_pump(struct vm *vm);

static bool uart_mmio_read(void *opaque, uint64_t offset, unsigned size, uint64_t *value)
{
    struct vm *vm = opaque;
    if (offset >= UART8250_MMIO_SIZE) {
        *value = 0; /* the rest of the 256-byte window reads as zero */
        return true;
    }
    bool ok = uart8250_read(vm->uart, offset, size, value);
    if (ok && offset == 0)
        uart_pump(vm); /* the guest made room in the FIFO */
    return ok;
}

static bool uart_mmio_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct vm *vm = opaque;
    if (offset >= UART8250_MMIO_SIZE)
        return true;
    bool ok = uart8250_write(vm->uart, offset, size, value);
    /* FCR: a cleared or newly enabled FIFO has room, and no more input may
       come to say so (Linux clears it when it opens the port). */
    if (ok && offset == 2)
        uart_pump(vm);
    return ok;
}

void vm_console_pump(struct vm *vm)
{
    if (vm->cfg->console_device == VM_CONSOLE_VIRTIO)
        vm_virtio_console_input_ready(vm);
    else
        uart_pump(vm);
}

/* Console input into the UART's receive FIFO, as much as it takes. */
static void uart_pump(struct vm *vm)
{
    if (!vm->uart || vm->cfg->console_device != VM_CONSOLE_UART)
        return;
    pthread_mutex_lock(&vm->console_pump_lock);
    uint8_t buf[UART8250_FIFO_SIZE];
    size_t space = uart8250_rx_space(vm->uart);
    if (space > sizeof(buf))
        space = sizeof(buf);
    size_t n = space ? console_read(vm->console, buf, space) : 0;
    if (n)
        uart8250_receive(vm->uart, buf, n); /* fits: we asked for no more than the space */
    pthread_mutex_unlock(&vm->console_pump_lock);
}

/* --- creation ------------------------------------------------------------------------ */

static int create_memory(struct vm *vm, const struct vm_restore_source *src, char *err,
                         size_t err_len)
{
    vm->ram_size = vm->cfg->memory_bytes;
    int flags = MAP_SHARED | MAP_NORESERVE;
    int fd;
    if (src) {
        /* A memory file must hold exactly the guest's RAM: shorter would
           fault (SIGBUS) on the first touch of what is missing. */
        struct stat st;
        if (fstat(src->fd, &st) != 0 || !S_ISREG(st.st_mode))
            return set_err(err, err_len, "the memory file is not a regular file");
        if ((uint64_t)st.st_size != vm->ram_size)
            return set_err(err, err_len,
                           "the memory file holds %llu bytes, the snapshot's RAM is %llu",
                           (unsigned long long)st.st_size, (unsigned long long)vm->ram_size);
        fd = src->fd;
        if (src->shared) {
            vm->memfd = fcntl(src->fd, F_DUPFD_CLOEXEC, 0);
            if (vm->memfd < 0)
                return set_err(err, err_len, "cannot keep the memory file: %s", strerror(errno));
        } else {
            flags = MAP_PRIVATE | MAP_NORESERVE; /* pages load on first touch, copied on write */
        }
    } else {
        /* A memfd, so snapshots and live upgrade can hand guest RAM over. */
        vm->memfd = fd = memfd_create("duvisor-ram", MFD_CLOEXEC);
        if (vm->memfd < 0 || ftruncate(vm->memfd, (off_t)vm->ram_size) != 0)
            return set_err(err, err_len, "cannot create %llu MiB of guest memory: %s",
                           (unsigned long long)(vm->ram_size >> 20), strerror(errno));
    }
    vm->ram = mmap(NULL, vm->ram_size, PROT_READ | PROT_WRITE, flags, fd, 0);
    if (vm->ram == MAP_FAILED) {
        vm->ram = NULL;
        return set_err(err, err_len, "cannot map guest memory: %s", strerror(errno));
    }
    return 0;
}

/* --dtb-out: by name, or on a held file's fd. 0, or -1 with errno. */
static int write_dtb(const char *path, int held, const uint8_t *dtb, size_t size)
{
    int fd = held >= 0 ? held : open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int rc = ftruncate(fd, 0) == 0 && pwrite(fd, dtb, size, 0) == (ssize_t)size ? 0 : -1;
    int saved = errno;
    if (held < 0 && close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

static int load_guest(struct vm *vm, char *err, size_t err_len)
{
    const struct vm_config *cfg = vm->cfg;
    size_t kernel_len = 0, initrd_len = 0;
    const struct vm_held_files *held = cfg->held;
    uint8_t *kernel =
        read_file("kernel", cfg->kernel_path, held ? held->kernel : -1, &kernel_len, err, err_len);
    if (!kernel)
        return -1;
    uint8_t *initrd = NULL;
    if (cfg->initrd_path[0]) {
        initrd = read_file("initrd", cfg->initrd_path, held ? held->initrd : -1, &initrd_len, err,
                           err_len);
        if (!initrd) {
            free(kernel);
            return -1;
        }
    }
    struct boot_layout layout;
    int rc = boot_load_kernel(vm->ram, vm->ram_size, kernel, kernel_len, &layout, err, err_len);
    if (rc == 0)
        rc = boot_place(vm->ram, vm->ram_size, &layout, initrd, initrd_len, 64 << 10, err, err_len);
    free(kernel);
    free(initrd);
    if (rc)
        return -1;

    char bootargs[VM_APPEND_MAX + 128];
    if (vm_config_bootargs(cfg, bootargs, sizeof(bootargs)))
        return set_err(err, err_len, "the kernel command line is too long");
    /* The device tree describes what the registry holds, in its order. */
    struct fdt_device nodes[VM_MAX_DEVICES];
    unsigned nnodes = 0;
    for (unsigned i = 0; i < vm->devices.count; i++) {
        const struct vm_device *d = &vm->devices.dev[i];
        if (d->dt_name)
            nodes[nnodes++] = (struct fdt_device){d->dt_name, d->dt_compatible, d->mmio_base,
                                                  d->dt_size, d->irq,           d->dt_clock_hz};
    }
    bool aia = cfg->irqchip == VM_IRQCHIP_AIA;
    struct fdt_params fp = {
        .ncpus = cfg->smp,
        .ram_base = PLATFORM_RAM_BASE,
        .ram_size = vm->ram_size,
        .bootargs = bootargs,
        .initrd_start = layout.initrd_start,
        .initrd_end = layout.initrd_end,
        .isa = aia ? PLATFORM_ISA PLATFORM_ISA_AIA_SUFFIX : PLATFORM_ISA,
        .plic_base = aia ? PLATFORM_APLIC_S_BASE : PLATFORM_PLIC_BASE,
        .plic_size = aia ? DV_APLIC_SIZE : DV_PLIC_SIZE,
        .plic_ndev = aia ? PLATFORM_APLIC_NSOURCES : PLATFORM_PLIC_NDEV,
        .aia = aia,
        .imsic_base = PLATFORM_IMSIC_S_BASE,
        .aplic_base = PLATFORM_APLIC_S_BASE,
        .devices = nodes,
        .ndevices = nnodes,
        .timebase_hz = DV_TIMEBASE_HZ,
        .mmu_type = "riscv,sv39", /* shortest walk; the hart also does Sv48/Sv57 */
    };
    uint8_t *dtb = vm->ram + (layout.dtb_addr - PLATFORM_RAM_BASE);
    int size = fdt_build(&fp, dtb, layout.dtb_max, err, err_len);
    if (size < 0)
        return -1;
    if (cfg->dtb_out && write_dtb(cfg->dtb_out, held ? held->dtb_out : -1, dtb, (size_t)size))
        return set_err(err, err_len, "cannot write --dtb-out '%s': %s", cfg->dtb_out,
                       strerror(errno));
    vm->entry = layout.entry;
    vm->dtb_addr = layout.dtb_addr;
    return 0;
}

static void uart_destroy(void *opaque)
{
    struct vm *vm = opaque;
    uart8250_destroy(vm->uart);
    vm->uart = NULL;
}

static void uart_save(void *opaque, struct state_writer *w)
{
    struct vm *vm = opaque;
    uart8250_save(vm->uart, w);
}

static bool uart_restore(void *opaque, struct state_reader *r)
{
    struct vm *vm = opaque;
    return uart8250_restore(vm->uart, r);
}

static const struct vm_device_ops uart_device_ops = {
    .kind = "uart", .save = uart_save, .restore = uart_restore, .destroy = uart_destroy};
static const struct vm_device_ops boot_timer_device_ops = {.kind = "boot_timer"};

static int create_devices(struct vm *vm, char *err, size_t err_len)
{
    static const struct uart8250_ops uart_ops = {.tx = uart_tx, .irq = uart_irq};
    vm->uart = uart8250_create(&uart_ops, vm);
    const struct vm_device uart_dev = {
        .id = "serial0",
        .ops = &uart_device_ops,
        .opaque = vm,
        .mmio_base = PLATFORM_UART_BASE,
        .mmio_size = PLATFORM_UART_SIZE,
        .irq = PLATFORM_UART_IRQ,
        .dt_name = "serial",
        .dt_compatible = "ns16550a",
        .dt_size = PLATFORM_UART_SIZE,
        .dt_clock_hz = PLATFORM_UART_CLOCK,
    };
    if (!vm->uart || vm_device_add(&vm->devices, &uart_dev)) {
        uart8250_destroy(vm->uart);
        vm->uart = NULL;
        return set_err(err, err_len, "cannot create the UART");
    }
    struct mmio_region uart = {
        .base = PLATFORM_UART_BASE,
        .size = PLATFORM_UART_SIZE,
        .name = "uart",
        .read = uart_mmio_read,
        .write = uart_mmio_write,
        .opaque = vm,
    };
    if (mmio_add(&vm->bus, &uart))
        return set_err(err, err_len, "cannot place the UART");
    const struct vm_device timer_dev = {
        .id = "boot_timer0",
        .ops = &boot_timer_device_ops,
        .mmio_base = PLATFORM_BOOT_TIMER_BASE,
        .mmio_size = BOOT_TIMER_SIZE,
        /* guest/init writes to it only if this node exists */
        .dt_name = "boot-timer",
        .dt_compatible = "duvisor,boot-timer",
        .dt_size = BOOT_TIMER_SIZE,
    };
    if (vm_device_add(&vm->devices, &timer_dev) ||
        boot_timer_attach(&vm->bus, &vm->boot_timer, PLATFORM_BOOT_TIMER_BASE,
                          boot_timer_process_start_ns(), vm->cfg->boot_timer ? stderr : NULL))
        return set_err(err, err_len, "cannot place the boot-timer");
    return vm_virtio_create(vm, err, err_len);
}

static int create_harts(struct vm *vm, char *err, size_t err_len)
{
    const struct vm_config *cfg = vm->cfg;
    vm->machine = dv_machine_create(cfg->smp);
    vm->gstage = gstage_create(DV_HUGATP_MODE_SV48X4);
    if (vm->machine && (cfg->jit != VM_JIT_DEFAULT || cfg->vlen)) {
        struct dv_engine_config engine;
        dv_engine_default(&engine);
        if (cfg->jit != VM_JIT_DEFAULT)
            engine.jit = cfg->jit == VM_JIT_ON;
        if (engine.jit && !dv_jit_supported())
            return set_err(err, err_len, "--jit on: this host has no JIT backend (x86-64 only)");
        if (cfg->vlen)
            engine.vlen = cfg->vlen;
        if (dv_machine_set_engine(vm->machine, &engine) != DV_OK)
            return set_err(err, err_len, "--vlen %u: the hart supports 128..1024", cfg->vlen);
    }
    if (!vm->machine || !vm->gstage ||
        dv_machine_add_window(vm->machine, vm->ram, vm->ram_size) != DV_OK ||
        (cfg->irqchip == VM_IRQCHIP_AIA
             ? dv_machine_set_aia(vm->machine, PLATFORM_IMSIC_S_BASE, PLATFORM_APLIC_S_BASE,
                                  PLATFORM_APLIC_NSOURCES + 1)
             : dv_machine_set_plic(vm->machine, PLATFORM_PLIC_BASE, PLATFORM_PLIC_NDEV + 1)) !=
            DV_OK)
        return set_err(err, err_len, "cannot set up the hart machine");
    vm_sbi_host_init(vm);
    if (sbi_init(&vm->sbi, &vm->sbi_host, 0))
        return set_err(err, err_len, "cannot set up SBI");
    for (unsigned i = 0; i < cfg->smp; i++) {
        struct vcpu *v = &vm->vcpus[i];
        v->vm = vm;
        v->id = i;
        v->schedstat_fd = -1;
        v->hart = dv_hart_create(vm->machine, i);
        if (!v->hart || dv_csr_write(v->hart, DV_CSR_HUGATP, gstage_hugatp(vm->gstage, 1)) != DV_OK)
            return set_err(err, err_len, "cannot create vcpu %u", i);
        dv_csr_write(v->hart, DV_CSR_HUIE, DV_HUIP_USIP);
        /* every counter the hart has is the guest's to read (SBI PMU programs them) */
        dv_csr_write(v->hart, DV_CSR_HUCOUNTEREN, 0xffffffffu);
        /* As SBI firmware does before the kernel runs: user mode may read
           cycle, time and instret (the vDSO's clock_gettime uses rdtime). */
        dv_csr_write(v->hart, DV_CSR_GUEST_SCOUNTEREN, 7);
    }
    return 0;
}

static void init_vm(struct vm *vm, const struct vm_config *cfg, struct console *console)
{
    memset(vm, 0, sizeof(*vm));
    vm->cfg = cfg;
    vm->memfd = -1;
    vm->stop_fd = -1;
    vm->console = console;
    pthread_mutex_init(&vm->console_pump_lock, NULL);
    pthread_mutex_init(&vm->pause.lock, NULL);
    pthread_cond_init(&vm->pause.changed, NULL);
}

int vm_create(struct vm *vm, const struct vm_config *cfg, struct console *console, char *err,
              size_t err_len)
{
    init_vm(vm, cfg, console);
    /* Devices before the guest: the device tree describes the registry. */
    if (create_memory(vm, NULL, err, err_len) || create_devices(vm, err, err_len) ||
        load_guest(vm, err, err_len) || create_harts(vm, err, err_len)) {
        vm_destroy(vm);
        return -1;
    }
    /* The boot hart starts at the kernel entry; the others wait for HSM. */
    struct vcpu *boot = &vm->vcpus[0];
    vcpu_enter_state(boot, vm->entry, vm->dtb_addr);
    boot->running = true;
    return 0;
}

void vm_restore_source_init(struct vm_restore_source *src, int fd, bool shared)
{
    src->fd = fd;
    src->shared = shared;
    for (unsigned i = 0; i < VM_MAX_DISKS; i++)
        src->disk_fds[i] = -1;
    for (unsigned i = 0; i < VM_MAX_NICS; i++)
        src->tap_fds[i] = -1;
}

int vm_create_for_restore(struct vm *vm, const struct vm_config *cfg, struct console *console,
                          const struct vm_restore_source *src, char *err, size_t err_len)
{
    init_vm(vm, cfg, console);
    vm->restore = src;
    int rc = create_memory(vm, src, err, err_len) || create_devices(vm, err, err_len) ||
             create_harts(vm, err, err_len);
    vm->restore = NULL;
    if (rc) {
        vm_destroy(vm);
        return -1;
    }
    /* Paused from the start: the state goes in before any vCPU or device
       runs, and guest time stands still until vm_resume. */
    vm->pause.requested = true;
    vm->pause.start_time = dv_host_time();
    vm_devices_pause(&vm->devices, true);
    return 0;
}

/* --jit-stats: one line per vCPU, on stderr. */
static void print_jit_stats(const struct vm *vm)
{
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
        if (!vm->vcpus[i].hart)
            continue;
        struct dv_engine_stats s;
        dv_hart_engine_stats(vm->vcpus[i].hart, &s);
        fprintf(stderr,
                "duvisor: jit vcpu %u: %" PRIu64 " regions, %" PRIu64 " guest insns, %" PRIu64
                " KiB code, %.1f ms translating (%.1f us/region), %" PRIu64 " invalidated, %" PRIu64
                " flushes; exits lookup %" PRIu64 " interp %" PRIu64 " trap %" PRIu64
                " async %" PRIu64 "\n",
                i, s.regions, s.guest_insns, s.code_bytes >> 10, (double)s.compile_ns / 1e6,
                s.regions ? (double)s.compile_ns / 1e3 / (double)s.regions : 0.0, s.invalidations,
                s.flushes, s.exits_lookup, s.exits_interp, s.exits_trap, s.exits_async);
    }
}

void vm_destroy(struct vm *vm)
{
    if (vm->cfg && vm->cfg->jit_stats)
        print_jit_stats(vm);
    for (unsigned i = 0; i < VM_MAX_VCPUS; i++) {
        if (!vm->vcpus[i].hart)
            continue;
        dv_hart_destroy(vm->vcpus[i].hart);
        /* Here, not on the vCPU thread: its filter has no close. */
        if (vm->vcpus[i].schedstat_fd >= 0)
            close(vm->vcpus[i].schedstat_fd);
    }
    if (vm->sbi.host)
        sbi_destroy(&vm->sbi);
    vm_devices_destroy(&vm->devices);
    vm_virtio_free(vm);
    if (vm->gstage)
        gstage_destroy(vm->gstage);
    if (vm->machine)
        dv_machine_destroy(vm->machine);
    if (vm->ram)
        munmap(vm->ram, vm->ram_size);
    if (vm->memfd >= 0)
        close(vm->memfd);
    pthread_mutex_destroy(&vm->console_pump_lock);
    pthread_mutex_destroy(&vm->pause.lock);
    pthread_cond_destroy(&vm->pause.changed);
    memset(vm, 0, sizeof(*vm));
    vm->memfd = -1;
    vm->stop_fd = -1;
}

/* --- running and stopping ------------------------------------------------------------ */

void vm_request_stop(struct vm *vm, enum vm_stop why)
{
    int expected = VM_RUNNING;
    bool first = atomic_compare_exchange_strong(&vm->stop, &expected, (int)why);
    for (unsigned i = 0; i < vm->cfg->smp; i++)
        vcpu_kick(&vm->vcpus[i]);
    sbi_hsm_kick(&vm->sbi);
    /* Parked vCPUs leave too. */
    pthread_mutex_lock(&vm->pause.lock);
    pthread_cond_broadcast(&vm->pause.changed);
    pthread_mutex_unlock(&vm->pause.lock);
    if (first && vm->stop_fd >= 0) {
        uint64_t one = 1;
        if (write(vm->stop_fd, &one, sizeof(one)) < 0) {
            /* cannot fail for an eventfd below its limit; the owner also polls */
        }
    }
}

void vm_block_stop_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, set, NULL);
}

bool vm_stop_signal_pending(const sigset_t *set)
{
    const struct timespec now = {0, 0};
    return sigtimedwait(set, NULL, &now) > 0;
}

int vm_start(struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        struct vcpu *v = &vm->vcpus[i];
        pthread_mutex_lock(&vm->pause.lock);
        vm->pause.threads++; /* before it runs, so a pause right away waits for it */
        pthread_mutex_unlock(&vm->pause.lock);
        if (pthread_create(&v->thread, NULL, vcpu_thread, v) != 0) {
            pthread_mutex_lock(&vm->pause.lock);
            vm->pause.threads--;
            pthread_mutex_unlock(&vm->pause.lock);
            fprintf(stderr, "duvisor: cannot start vcpu thread %u\n", i);
            vm_request_stop(vm, VM_STOP_FATAL);
            return -1;
        }
        v->thread_started = true;
    }
    return 0;
}

enum vm_stop vm_join(struct vm *vm)
{
    for (unsigned i = 0; i < vm->cfg->smp; i++) {
        if (vm->vcpus[i].thread_started)
            pthread_join(vm->vcpus[i].thread, NULL);
        vm->vcpus[i].thread_started = false;
    }
    return (enum vm_stop)atomic_load(&vm->stop);
}

/* --- pause and resume ------------------------------------------------------------------ */

static void add_ms(struct timespec *t, long ms)
{
    t->tv_sec += ms / 1000;
    t->tv_nsec += (ms % 1000) * 1000000L;
    if (t->tv_nsec >= 1000000000L) {
        t->tv_sec++;
        t->tv_nsec -= 1000000000L;
    }
}

int vm_pause(struct vm *vm)
{
    struct vm_pause *p = &vm->pause;
    pthread_mutex_lock(&p->lock);
    if (p->requested) {
        pthread_mutex_unlock(&p->lock);
        return 0;
    }
    p->requested = true;
    pthread_mutex_unlock(&p->lock);
    /* Out of the guest (a kick) and out of an HSM wait (a stopped hart). */
    for (unsigned i = 0; i < vm->cfg->smp; i++)
        vcpu_kick(&vm->vcpus[i]);
    sbi_hsm_kick(&vm->sbi);

    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    add_ms(&deadline, VM_PAUSE_TIMEOUT_MS);
    int rc = 0;
    pthread_mutex_lock(&p->lock);
    while (p->parked < p->threads && atomic_load(&vm->stop) == VM_RUNNING && rc == 0)
        rc = pthread_cond_timedwait(&p->changed, &p->lock, &deadline);
    bool all = p->parked >= p->threads;
    if (all) {
        /* Guest time stops now, not at the request: until they parked, the
           vCPUs ran and read the clock, and it must never go backwards. */
        p->start_time = dv_host_time();
    } else {
        /* Those that parked see time jump ahead by their wait: forward only. */
        p->requested = false;
        pthread_cond_broadcast(&p->changed);
    }
    pthread_mutex_unlock(&p->lock);
    if (!all)
        return -1;
    vm_devices_pause(&vm->devices, true);
    return 0;
}

void vm_resume(struct vm *vm)
{
    struct vm_pause *p = &vm->pause;
    pthread_mutex_lock(&p->lock);
    bool was = p->requested;
    pthread_mutex_unlock(&p->lock);
    if (!was)
        return;
    vm_devices_pause(&vm->devices, false);
    pthread_mutex_lock(&p->lock);
    p->paused_ticks += dv_host_time() - p->start_time;
    p->requested = false;
    p->pauses++;
    pthread_cond_broadcast(&p->changed);
    pthread_mutex_unlock(&p->lock);
}

bool vm_paused(struct vm *vm)
{
    pthread_mutex_lock(&vm->pause.lock);
    bool paused = vm->pause.requested;
    pthread_mutex_unlock(&vm->pause.lock);
    return paused;
}
