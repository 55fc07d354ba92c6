/*
 * The GDB remote stub (gdbstub.h): GDB's remote serial protocol as
 * gdb-multiarch speaks it for riscv:rv64, over TCP or a Unix socket, one
 * client at a time, on a thread of its own.
 *
 * All-stop: while the client holds the target, every vCPU waits at the gate
 * before dv_enter() with its exit fully handled, so its registers are
 * stable and the stub reads them from its own thread (dvext.h allows it
 * while the hart does not run). A resume arms the harts' triggers (the
 * breakpoint and watchpoint lists, a step for the stepped thread), opens the
 * gate for the threads the command names and waits for the first
 * DV_EXIT_DEBUG, a Ctrl-C, or the client leaving. The time the whole VM
 * stood still is taken off guest time, as a pause's is.
 */
#include "vmm/gdbstub.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "host/sandbox.h"
#include "util/err.h"
#include "vmm/gdb_packet.h"
#include "vmm/vm.h"

#define GATE_WAIT_MS 10 /* a vCPU at the gate looks at its requests this often */

enum action { ACT_STOP, ACT_CONTINUE, ACT_STEP };

/* A breakpoint or watchpoint as the client set it: Z type 0..4. */
struct gdb_point {
    unsigned type;
    uint64_t addr, len;
};

struct gdbstub {
    struct vm *vm;
    unsigned nvcpus;
    int listen_fd, client_fd, event_fd, quit_fd;
    pthread_t thread;
    bool thread_started;
    char address[128]; /* for messages */
    char unix_path[108];

    /* the gate, shared with the vCPU threads */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    bool allowed[VM_MAX_VCPUS];
    unsigned inside; /* vCPUs between the gate and the end of their exit's handling */
    bool waiting;    /* the client waits for a stop: vCPU debug exits are reported */
    bool event;      /* a vCPU's debug exit is waiting for the stub */
    unsigned event_vcpu;
    uint64_t event_reason, event_addr;

    /* the stub thread's own */
    bool halted;         /* every vCPU at the gate: the client may look at them */
    bool connected;      /* a client came and has not been let go yet */
    bool armed;          /* some hart may have a trigger or a step armed */
    uint64_t halt_start; /* host timebase ticks when the halt completed */
    unsigned g_thread;   /* vCPU of Hg (registers, memory) */
    unsigned c_thread;   /* vCPU of Hc (old-style c/s); -1 = all */
    bool c_all;
    struct gdb_point points[DV_MAX_TRIGGERS];
    unsigned npoints;
    struct gdb_rx rx;
    char reply[GDB_PACKET_MAX + 1];
    size_t reply_len;
    char out[2 * GDB_PACKET_MAX + 8]; /* the last framed reply, for a '-' */
    size_t out_len;
};

/* --- addresses ------------------------------------------------------------------------ */

struct gdb_address {
    bool is_unix;
    char path[108];
    struct sockaddr_in6 in6;
    struct sockaddr_in in4;
    bool v6;
};

static int parse_address(const char *text, struct gdb_address *a, char *err, size_t err_len)
{
    memset(a, 0, sizeof(*a));
    if (!text)
        return set_err(err, err_len, "--gdb needs tcp:HOST:PORT or unix:PATH");
    if (!strncmp(text, "unix:", 5)) {
        size_t n = strlen(text + 5);
        if (n == 0 || n >= sizeof(a->path))
            return set_err(err, err_len, "--gdb unix:PATH: the path is empty or too long");
        a->is_unix = true;
        memcpy(a->path, text + 5, n + 1);
        return 0;
    }
    if (strncmp(text, "tcp:", 4))
        return set_err(err, err_len, "--gdb takes tcp:HOST:PORT or unix:PATH, not '%s'", text);
    const char *host = text + 4;
    const char *colon = strrchr(host, ':');
    if (!colon)
        return set_err(err, err_len, "--gdb tcp:HOST:PORT: no port in '%s'", text);
    char *end;
    errno = 0;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port > 65535)
        return set_err(err, err_len, "--gdb tcp:HOST:PORT: bad port in '%s'", text);
    char name[64];
    size_t hlen = (size_t)(colon - host);
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        host++;
        hlen -= 2;
    }
    if (hlen >= sizeof(name))
        return set_err(err, err_len, "--gdb tcp:HOST:PORT: host too long");
    memcpy(name, host, hlen);
    name[hlen] = '\0';
    if (hlen == 0 || !strcmp(name, "localhost"))
        strcpy(name, "127.0.0.1"); /* never every interface unless asked */
    a->in4.sin_family = AF_INET;
    a->in4.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, name, &a->in4.sin_addr) == 1)
        return 0;
    a->v6 = true;
    a->in6.sin6_family = AF_INET6;
    a->in6.sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, name, &a->in6.sin6_addr) == 1)
        return 0;
    return set_err(err, err_len, "--gdb tcp:HOST:PORT: HOST must be an IP address, not '%s'", name);
}

int gdbstub_check_address(const char *text, char *err, size_t err_len)
{
    struct gdb_address a;
    return parse_address(text, &a, err, err_len);
}

static int listen_on(const struct gdb_address *a, char *shown, size_t shown_len, char *err,
                     size_t err_len)
{
    int fd = socket(a->is_unix ? AF_UNIX
                    : a->v6    ? AF_INET6
                               : AF_INET,
                    SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return set_err(err, err_len, "--gdb: socket: %s", strerror(errno));
    int rc;
    if (a->is_unix) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        memcpy(un.sun_path, a->path, strlen(a->path) + 1);
        unlink(a->path); /* a stale socket of an earlier run */
        rc = bind(fd, (struct sockaddr *)&un, sizeof(un));
        snprintf(shown, shown_len, "unix:%s", a->path);
    } else {
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        rc = a->v6 ? bind(fd, (const struct sockaddr *)&a->in6, sizeof(a->in6))
                   : bind(fd, (const struct sockaddr *)&a->in4, sizeof(a->in4));
    }
    if (rc == 0)
        rc = listen(fd, 1);
    if (rc) {
        int e = errno;
        close(fd);
        return set_err(err, err_len, "--gdb: cannot listen on %s: %s",
                       a->is_unix ? a->path : "the address", strerror(e));
    }
    if (!a->is_unix) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        char host[64] = "?";
        unsigned port = 0;
        if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
            if (ss.ss_family == AF_INET) {
                const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;
                inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
                port = ntohs(s4->sin_port);
            } else {
                const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;
                inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
                port = ntohs(s6->sin6_port);
            }
        }
        snprintf(shown, shown_len, "tcp:%s:%u", host, port);
    }
    return fd;
}

/* --- the gate (vCPU threads) ------------------------------------------------------------ */

static void deadline_in_ms(struct timespec *t, long ms)
{
    clock_gettime(CLOCK_MONOTONIC, t);
    t->tv_nsec += ms * 1000000L;
    t->tv_sec += t->tv_nsec / 1000000000L;
    t->tv_nsec %= 1000000000L;
}

bool gdbstub_vcpu_may_run(struct gdbstub *g, unsigned id)
{
    pthread_mutex_lock(&g->lock);
    if (!g->allowed[id]) {
        struct timespec t;
        deadline_in_ms(&t, GATE_WAIT_MS);
        pthread_cond_timedwait(&g->changed, &g->lock, &t);
    }
    bool run = g->allowed[id];
    if (run)
        g->inside++;
    pthread_mutex_unlock(&g->lock);
    return run;
}

void gdbstub_vcpu_left(struct gdbstub *g, unsigned id)
{
    (void)id;
    pthread_mutex_lock(&g->lock);
    g->inside--;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

void gdbstub_vcpu_debug_exit(struct gdbstub *g, unsigned id, uint64_t reason, uint64_t addr)
{
    pthread_mutex_lock(&g->lock);
    if (g->waiting && !g->event) {
        g->event = true;
        g->event_vcpu = id;
        g->event_reason = reason;
        g->event_addr = addr;
        for (unsigned i = 0; i < g->nvcpus; i++)
            g->allowed[i] = false; /* all-stop: nobody passes the gate any more */
        uint64_t one = 1;
        if (write(g->event_fd, &one, sizeof(one)) < 0) {
            /* the counter cannot overflow with one write per stop */
        }
    }
    pthread_mutex_unlock(&g->lock);
}

/* --- halting and resuming (the stub thread) ----------------------------------------------- */

static bool vm_stopping(const struct gdbstub *g)
{
    return atomic_load(&g->vm->stop) != VM_RUNNING;
}

/* Close the gate and wait until no vCPU is past it. False when the VM is
   stopping meanwhile. */
static bool halt_all(struct gdbstub *g)
{
    pthread_mutex_lock(&g->lock);
    g->waiting = false;
    for (unsigned i = 0; i < g->nvcpus; i++)
        g->allowed[i] = false;
    pthread_mutex_unlock(&g->lock);
    for (unsigned i = 0; i < g->nvcpus; i++)
        vcpu_kick(&g->vm->vcpus[i]);
    pthread_mutex_lock(&g->lock);
    while (g->inside > 0 && !vm_stopping(g)) {
        struct timespec t;
        deadline_in_ms(&t, 50);
        pthread_cond_timedwait(&g->changed, &g->lock, &t);
    }
    bool ok = g->inside == 0;
    g->event = false; /* another vCPU's stop meanwhile fires again when it runs */
    pthread_mutex_unlock(&g->lock);
    uint64_t n;
    while (read(g->event_fd, &n, sizeof(n)) == sizeof(n)) {
    }
    g->halted = ok;
    g->halt_start = dv_host_time();
    return ok;
}

static void arm_triggers(struct gdbstub *g, const enum action *act)
{
    struct dv_trigger t[DV_MAX_TRIGGERS];
    static const unsigned kind[5] = {DV_TRIGGER_EXEC, DV_TRIGGER_EXEC, DV_TRIGGER_STORE,
                                     DV_TRIGGER_LOAD, DV_TRIGGER_LOAD | DV_TRIGGER_STORE};
    for (unsigned i = 0; i < g->npoints; i++)
        t[i] = (struct dv_trigger){
            .addr = g->points[i].addr, .len = g->points[i].len, .type = kind[g->points[i].type]};
    g->armed = g->npoints > 0;
    for (unsigned i = 0; i < g->nvcpus; i++) {
        bool step = act && act[i] == ACT_STEP;
        g->armed |= step;
        dv_debug_arm(g->vm->vcpus[i].hart, t, g->npoints, step);
    }
}

/* Open the gate as act says (NULL: everyone runs, nothing armed: detach). */
static void resume(struct gdbstub *g, const enum action *act, bool client_waits)
{
    if (g->halted) {
        arm_triggers(g, act);
        /* Guest time skips the halt, as it skips a pause (vcpu_park_if_paused). */
        struct vm_pause *p = &g->vm->pause;
        pthread_mutex_lock(&p->lock);
        p->paused_ticks += dv_host_time() - g->halt_start;
        pthread_mutex_unlock(&p->lock);
    }
    g->halted = false;
    pthread_mutex_lock(&g->lock);
    g->waiting = client_waits;
    g->event = false;
    for (unsigned i = 0; i < g->nvcpus; i++)
        g->allowed[i] = !act || act[i] != ACT_STOP;
    pthread_cond_broadcast(&g->changed);
    pthread_mutex_unlock(&g->lock);
}

/* --- replies ----------------------------------------------------------------------------- */

static void send_raw(struct gdbstub *g, const char *data, size_t len)
{
    while (g->client_fd >= 0 && len > 0) {
        ssize_t n = send(g->client_fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(g->client_fd); /* gone, or not reading for SO_SNDTIMEO: drop it */
            g->client_fd = -1;
            return;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void send_packet(struct gdbstub *g, const char *data, size_t len)
{
    g->out_len = gdb_frame(data, len, g->out, sizeof(g->out));
    send_raw(g, g->out, g->out_len);
}

static void reply(struct gdbstub *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reply(struct gdbstub *g, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(g->reply, sizeof(g->reply), fmt, ap);
    va_end(ap);
    g->reply_len = n < 0 ? 0 : (size_t)n >= sizeof(g->reply) ? sizeof(g->reply) - 1 : (size_t)n;
}

static void send_reply(struct gdbstub *g)
{
    send_packet(g, g->reply, g->reply_len);
}

/* A GDB thread id is vCPU + 1 (0 and -1 mean "any" and "all"). */
static unsigned tid_of(unsigned vcpu)
{
    return vcpu + 1;
}

/* A stop: signal 5 (SIGTRAP) for the hart's debug exits, 2 (SIGINT) for a Ctrl-C. */
static void stop_reply(struct gdbstub *g, unsigned vcpu, unsigned sig, uint64_t reason,
                       uint64_t addr)
{
    g->g_thread = vcpu;
    if (reason == DV_DEBUG_LOAD || reason == DV_DEBUG_STORE) {
        const char *what = reason == DV_DEBUG_STORE ? "watch" : "rwatch";
        for (unsigned i = 0; i < g->npoints; i++) {
            const struct gdb_point *p = &g->points[i];
            if (p->type < 2 || addr < p->addr || addr - p->addr >= p->len)
                continue;
            if (p->type == 4)
                what = "awatch";
            else if ((p->type == 2) != (reason == DV_DEBUG_STORE))
                continue;
            break;
        }
        reply(g, "T%02x%s:%llx;thread:%x;", sig, what, (unsigned long long)addr, tid_of(vcpu));
    } else {
        reply(g, "T%02xthread:%x;", sig, tid_of(vcpu));
    }
    send_reply(g);
}

/* --- registers --------------------------------------------------------------------------- */

/* The register numbers of target.xml: x0..x31, pc, f0..f31, fflags, frm,
   fcsr, priv, then the guest's S-mode CSRs. */
#define REG_PC     32
#define REG_F0     33
#define REG_FFLAGS 65
#define REG_FRM    66
#define REG_FCSR   67
#define REG_PRIV   68
#define REG_CSR0   69
static const struct {
    const char *name;
    unsigned csr;
} csr_regs[] = {
    {"sstatus", DV_CSR_HUVSSTATUS},   {"sie", DV_CSR_HUVSIE},
    {"stvec", DV_CSR_HUVSTVEC},       {"scounteren", DV_CSR_GUEST_SCOUNTEREN},
    {"sscratch", DV_CSR_HUVSSCRATCH}, {"sepc", DV_CSR_HUVSEPC},
    {"scause", DV_CSR_HUVSCAUSE},     {"stval", DV_CSR_HUVSTVAL},
    {"sip", DV_CSR_HUVSIP},           {"satp", DV_CSR_HUVSATP},
};
#define NCSR_REGS (sizeof(csr_regs) / sizeof(csr_regs[0]))
#define NREGS     (REG_CSR0 + NCSR_REGS)

static unsigned reg_size(unsigned r)
{
    return r >= REG_FFLAGS && r <= REG_FCSR ? 4 : 8;
}

static uint64_t csr_get(struct dv_hart *h, unsigned csr)
{
    uint64_t v = 0;
    dv_csr_read(h, csr, &v);
    return v;
}

static bool reg_read(struct gdbstub *g, unsigned r, uint64_t *v)
{
    struct dv_hart *h = g->vm->vcpus[g->g_thread].hart;
    if (r < 32)
        *v = dv_gpr_get(h, r);
    else if (r == REG_PC)
        *v = csr_get(h, DV_CSR_UEPC);
    else if (r < REG_FFLAGS)
        *v = dv_fpr_get(h, r - REG_F0);
    else if (r == REG_FFLAGS)
        *v = csr_get(h, DV_CSR_FCSR) & 0x1f;
    else if (r == REG_FRM)
        *v = (csr_get(h, DV_CSR_FCSR) >> 5) & 7;
    else if (r == REG_FCSR)
        *v = csr_get(h, DV_CSR_FCSR) & 0xff;
    else if (r == REG_PRIV)
        *v = (csr_get(h, DV_CSR_HUSTATUS) & DV_HUSTATUS_SPVP) ? 1 : 0;
    else if (r < NREGS)
        return dv_csr_read(h, csr_regs[r - REG_CSR0].csr, v) == DV_OK;
    else
        return false;
    return true;
}

static bool reg_write(struct gdbstub *g, unsigned r, uint64_t v)
{
    struct dv_hart *h = g->vm->vcpus[g->g_thread].hart;
    uint64_t fcsr = csr_get(h, DV_CSR_FCSR);
    if (r < 32) {
        dv_gpr_set(h, r, v);
        return true;
    }
    if (r == REG_PC)
        return dv_csr_write(h, DV_CSR_UEPC, v) == DV_OK;
    if (r < REG_FFLAGS) {
        dv_fpr_set(h, r - REG_F0, v);
        return true;
    }
    if (r == REG_FFLAGS)
        return v <= 0x1f && dv_csr_write(h, DV_CSR_FCSR, (fcsr & ~0x1full) | v) == DV_OK;
    if (r == REG_FRM)
        return v <= 7 && dv_csr_write(h, DV_CSR_FCSR, (fcsr & ~0xe0ull) | v << 5) == DV_OK;
    if (r == REG_FCSR)
        return v <= 0xff && dv_csr_write(h, DV_CSR_FCSR, v) == DV_OK;
    if (r == REG_PRIV) {
        uint64_t hs = csr_get(h, DV_CSR_HUSTATUS) & ~DV_HUSTATUS_SPVP;
        return v <= 1 && dv_csr_write(h, DV_CSR_HUSTATUS, hs | (v ? DV_HUSTATUS_SPVP : 0)) == DV_OK;
    }
    if (r < NREGS)
        return dv_csr_write(h, csr_regs[r - REG_CSR0].csr, v) == DV_OK;
    return false;
}

static void cmd_read_all(struct gdbstub *g)
{
    size_t n = 0;
    for (unsigned r = 0; r < NREGS; r++) {
        uint64_t v = 0;
        unsigned size = reg_size(r);
        if (!reg_read(g, r, &v)) {
            memset(g->reply + n, 'x', 2 * size); /* unavailable */
        } else {
            gdb_reg_to_hex(v, size, g->reply + n);
        }
        n += 2 * size;
    }
    g->reply_len = n;
}

static void cmd_write_all(struct gdbstub *g, const char *p)
{
    for (unsigned r = 0; r < NREGS && *p; r++) {
        unsigned size = reg_size(r);
        uint64_t v;
        if (gdb_reg_from_hex(p, size, &v)) {
            reply(g, "E01");
            return;
        }
        reg_write(g, r, v); /* a CSR that refuses the value keeps its own, as P says */
        p += 2 * size;
    }
    reply(g, "OK");
}

static void cmd_read_reg(struct gdbstub *g, const char *p)
{
    uint64_t r, v;
    if (gdb_parse_hex(&p, &r) || *p || r >= NREGS || !reg_read(g, (unsigned)r, &v)) {
        reply(g, "E01");
        return;
    }
    gdb_reg_to_hex(v, reg_size((unsigned)r), g->reply);
    g->reply_len = 2 * reg_size((unsigned)r);
}

static void cmd_write_reg(struct gdbstub *g, const char *p)
{
    uint64_t r, v;
    if (gdb_parse_hex(&p, &r) || *p++ != '=' || r >= NREGS ||
        strlen(p) != 2 * reg_size((unsigned)r) || gdb_reg_from_hex(p, reg_size((unsigned)r), &v) ||
        !reg_write(g, (unsigned)r, v)) {
        reply(g, "E01");
        return;
    }
    reply(g, "OK");
}

/* --- memory ------------------------------------------------------------------------------- */

/* Host address of the guest-virtual [gva, gva+len) within one page, through
   the g thread's translation, RAM only (never a device). */
static uint8_t *guest_bytes(struct gdbstub *g, uint64_t gva, size_t len)
{
    uint64_t gpa;
    struct vm *vm = g->vm;
    if (dv_debug_translate(vm->vcpus[g->g_thread].hart, gva, &gpa))
        return NULL;
    uint64_t off = gpa - PLATFORM_RAM_BASE;
    if (off >= vm->ram_size || len > vm->ram_size - off)
        return NULL;
    return vm->ram + off;
}

static size_t page_chunk(uint64_t addr, size_t len)
{
    size_t left = 4096 - (size_t)(addr & 4095);
    return len < left ? len : left;
}

static bool parse_addr_len(const char **p, uint64_t *addr, uint64_t *len)
{
    return !gdb_parse_hex(p, addr) && *(*p)++ == ',' && !gdb_parse_hex(p, len);
}

static void cmd_read_mem(struct gdbstub *g, const char *p)
{
    uint64_t addr, len;
    if (!parse_addr_len(&p, &addr, &len) || *p) {
        reply(g, "E01");
        return;
    }
    size_t max = (sizeof(g->reply) - 1) / 2;
    size_t want = len < max ? (size_t)len : max, done = 0;
    while (done < want) {
        size_t n = page_chunk(addr + done, want - done);
        const uint8_t *src = guest_bytes(g, addr + done, n);
        if (!src)
            break;
        gdb_to_hex(src, n, g->reply + 2 * done);
        done += n;
    }
    if (done == 0 && want > 0) {
        reply(g, "E14"); /* nothing there but a hole or a device: EFAULT */
        return;
    }
    g->reply_len = 2 * done;
}

static void write_mem(struct gdbstub *g, uint64_t addr, const uint8_t *data, size_t len)
{
    /* Every page first, so a write that cannot complete changes nothing. */
    for (size_t done = 0; done < len;) {
        size_t n = page_chunk(addr + done, len - done);
        if (!guest_bytes(g, addr + done, n)) {
            reply(g, "E14");
            return;
        }
        done += n;
    }
    for (size_t done = 0; done < len;) {
        size_t n = page_chunk(addr + done, len - done);
        uint8_t *dst = guest_bytes(g, addr + done, n);
        memcpy(dst, data + done, n);
        dv_mem_written(g->vm->machine, dst, n); /* translated code from there is stale */
        done += n;
    }
    reply(g, "OK");
}

static void cmd_write_mem(struct gdbstub *g, char *p, size_t plen, bool binary)
{
    const char *q = p;
    uint64_t addr, len;
    if (!parse_addr_len(&q, &addr, &len) || *q++ != ':') {
        reply(g, "E01");
        return;
    }
    char *data = (char *)q;
    size_t data_len = plen - (size_t)(q - p);
    if (binary) {
        long n = gdb_unescape(data, data_len);
        if (n < 0 || (uint64_t)n != len) {
            reply(g, "E01");
            return;
        }
    } else if (len > data_len / 2 || data_len != 2 * len ||
               gdb_from_hex(data, (size_t)len, data)) { /* decoded in place: shorter */
        reply(g, "E01");
        return;
    }
    write_mem(g, addr, (const uint8_t *)data, (size_t)len);
}

/* --- breakpoints and watchpoints ---------------------------------------------------------- */

static void cmd_point(struct gdbstub *g, const char *p, bool insert)
{
    uint64_t type, addr, len;
    if (gdb_parse_hex(&p, &type) || type > 4 || *p++ != ',' || !parse_addr_len(&p, &addr, &len) ||
        (*p && *p != ';')) {
        reply(g, "E01");
        return;
    }
    if (type <= 1)
        len = 1; /* the kind (instruction length) does not matter: the pc does */
    if (len == 0 || addr + len - 1 < addr) {
        reply(g, "E01");
        return;
    }
    unsigned i = 0;
    while (i < g->npoints &&
           !(g->points[i].type == type && g->points[i].addr == addr && g->points[i].len == len))
        i++;
    if (insert && i == g->npoints) {
        if (g->npoints == DV_MAX_TRIGGERS) {
            reply(g, "E28"); /* ENOSPC: gdb says it cannot insert */
            return;
        }
        g->points[g->npoints++] =
            (struct gdb_point){.type = (unsigned)type, .addr = addr, .len = len};
    } else if (!insert && i < g->npoints) {
        g->points[i] = g->points[--g->npoints];
    }
    reply(g, "OK");
}

/* --- target description -------------------------------------------------------------------- */

static size_t target_xml(char *out, size_t out_len)
{
    static const char *const xnames[32] = {"zero", "ra", "sp",  "gp",  "tp", "t0", "t1", "t2",
                                           "fp",   "s1", "a0",  "a1",  "a2", "a3", "a4", "a5",
                                           "a6",   "a7", "s2",  "s3",  "s4", "s5", "s6", "s7",
                                           "s8",   "s9", "s10", "s11", "t3", "t4", "t5", "t6"};
    size_t n = 0;
#define PUT(...) n += (size_t)snprintf(out + n, n < out_len ? out_len - n : 0, __VA_ARGS__)
    PUT("<?xml version=\"1.0\"?>\n<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n<target>\n"
        "<architecture>riscv:rv64</architecture>\n<feature name=\"org.gnu.gdb.riscv.cpu\">\n");
    for (unsigned r = 0; r < 32; r++)
        PUT("<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" type=\"%s\"/>\n", xnames[r], r,
            r == 1               ? "code_ptr"
            : (r == 2 || r == 8) ? "data_ptr"
                                 : "int");
    PUT("<reg name=\"pc\" bitsize=\"64\" regnum=\"%u\" type=\"code_ptr\"/>\n</feature>\n", REG_PC);
    PUT("<feature name=\"org.gnu.gdb.riscv.fpu\">\n"
        "<union id=\"riscv_double\"><field name=\"float\" type=\"ieee_single\"/>"
        "<field name=\"double\" type=\"ieee_double\"/></union>\n");
    for (unsigned r = 0; r < 32; r++)
        PUT("<reg name=\"f%u\" bitsize=\"64\" regnum=\"%u\" type=\"riscv_double\"/>\n", r,
            REG_F0 + r);
    PUT("<reg name=\"fflags\" bitsize=\"32\" regnum=\"%u\" type=\"int\" group=\"float\"/>\n"
        "<reg name=\"frm\" bitsize=\"32\" regnum=\"%u\" type=\"int\" group=\"float\"/>\n"
        "<reg name=\"fcsr\" bitsize=\"32\" regnum=\"%u\" type=\"int\" group=\"float\"/>\n"
        "</feature>\n",
        REG_FFLAGS, REG_FRM, REG_FCSR);
    PUT("<feature name=\"org.gnu.gdb.riscv.virtual\">\n"
        "<reg name=\"priv\" bitsize=\"64\" regnum=\"%u\" group=\"general\"/>\n</feature>\n",
        REG_PRIV);
    PUT("<feature name=\"org.gnu.gdb.riscv.csr\">\n");
    for (unsigned i = 0; i < NCSR_REGS; i++)
        PUT("<reg name=\"%s\" bitsize=\"64\" regnum=\"%u\" group=\"system\"/>\n", csr_regs[i].name,
            REG_CSR0 + i);
    PUT("</feature>\n</target>\n");
#undef PUT
    return n;
}

static void cmd_xfer_features(struct gdbstub *g, const char *p)
{
    static const char annex[] = "target.xml:";
    static char xml[16384];
    uint64_t off, len;
    if (strncmp(p, annex, sizeof(annex) - 1)) {
        reply(g, "E00");
        return;
    }
    p += sizeof(annex) - 1;
    if (!parse_addr_len(&p, &off, &len) || *p) {
        reply(g, "E01");
        return;
    }
    size_t total = target_xml(xml, sizeof(xml));
    if (total >= sizeof(xml)) {
        reply(g, "E01");
        return;
    }
    size_t max = sizeof(g->reply) / 2 - 2; /* escapes may double the framed size */
    if (len > max)
        len = max;
    if (off >= total) {
        reply(g, "l");
        return;
    }
    size_t n = total - (size_t)off < len ? total - (size_t)off : (size_t)len;
    g->reply[0] = off + n < total ? 'm' : 'l';
    memcpy(g->reply + 1, xml + off, n);
    g->reply_len = n + 1;
}

/* --- threads and resuming ----------------------------------------------------------------- */

/* A thread id: "-1" all, "0" any, else a vCPU + 1. */
static int parse_tid(const char **p, bool *all, unsigned *vcpu, unsigned nvcpus)
{
    if (**p == '-' && (*p)[1] == '1') {
        *p += 2;
        *all = true;
        return 0;
    }
    uint64_t t;
    if (gdb_parse_hex(p, &t))
        return -1;
    *all = false;
    if (t == 0) {
        *vcpu = 0;
        return 0;
    }
    if (t > nvcpus)
        return -1;
    *vcpu = (unsigned)t - 1;
    return 0;
}

/* Start the vCPUs as act says and wait for a stop (no reply now). */
static void go(struct gdbstub *g, const enum action *act)
{
    resume(g, act, true);
}

static void cmd_vcont(struct gdbstub *g, const char *p)
{
    enum action act[VM_MAX_VCPUS];
    bool set[VM_MAX_VCPUS] = {false};
    bool any = false;
    for (unsigned i = 0; i < g->nvcpus; i++)
        act[i] = ACT_STOP;
    while (*p == ';') {
        p++;
        char a = *p++;
        enum action what;
        if (a == 'c' || a == 'C')
            what = ACT_CONTINUE;
        else if (a == 's' || a == 'S')
            what = ACT_STEP;
        else {
            reply(g, "E01");
            return;
        }
        uint64_t sig;
        if ((a == 'C' || a == 'S') && gdb_parse_hex(&p, &sig)) {
            reply(g, "E01");
            return; /* the signal is dropped: a VM has none to deliver */
        }
        bool all = true;
        unsigned vcpu = 0;
        if (*p == ':') {
            p++;
            if (parse_tid(&p, &all, &vcpu, g->nvcpus)) {
                reply(g, "E01");
                return;
            }
        }
        for (unsigned i = 0; i < g->nvcpus; i++)
            if ((all || i == vcpu) && !set[i]) {
                act[i] = what;
                set[i] = true;
                any = true;
            }
    }
    if (*p || !any) {
        reply(g, "E01");
        return;
    }
    g->reply_len = 0;
    go(g, act);
}

/* Old-style c/C/s/S [addr]: the Hc thread steps, or everyone continues. */
static void cmd_resume(struct gdbstub *g, char cmd, const char *p)
{
    uint64_t sig, addr;
    if ((cmd == 'C' || cmd == 'S') && *p) {
        if (gdb_parse_hex(&p, &sig)) {
            reply(g, "E01");
            return;
        }
        if (*p == ';')
            p++;
    }
    unsigned who = g->c_all ? g->g_thread : g->c_thread;
    if (*p) {
        if (gdb_parse_hex(&p, &addr) || *p) {
            reply(g, "E01");
            return;
        }
        dv_csr_write(g->vm->vcpus[who].hart, DV_CSR_UEPC, addr);
    }
    enum action act[VM_MAX_VCPUS];
    bool step = cmd == 's' || cmd == 'S';
    for (unsigned i = 0; i < g->nvcpus; i++)
        act[i] = step ? (i == who ? ACT_STEP : ACT_STOP) : ACT_CONTINUE;
    g->reply_len = 0;
    go(g, act);
}

static void cmd_set_thread(struct gdbstub *g, const char *p)
{
    char which = *p++;
    bool all;
    unsigned vcpu = 0;
    if ((which != 'g' && which != 'c') || parse_tid(&p, &all, &vcpu, g->nvcpus) || *p) {
        reply(g, "E01");
        return;
    }
    if (which == 'g') {
        g->g_thread = all ? 0 : vcpu;
    } else {
        g->c_all = all;
        g->c_thread = vcpu;
    }
    reply(g, "OK");
}

static void cmd_thread_alive(struct gdbstub *g, const char *p)
{
    bool all;
    unsigned vcpu;
    reply(g, parse_tid(&p, &all, &vcpu, g->nvcpus) || *p || all ? "E01" : "OK");
}

static void cmd_query(struct gdbstub *g, const char *p)
{
    if (!strncmp(p, "qSupported", 10)) {
        reply(g, "PacketSize=%x;qXfer:features:read+;vContSupported+", GDB_PACKET_MAX);
    } else if (!strncmp(p, "qXfer:features:read:", 20)) {
        cmd_xfer_features(g, p + 20);
    } else if (!strcmp(p, "qfThreadInfo")) {
        size_t n = 0;
        g->reply[n++] = 'm';
        for (unsigned i = 0; i < g->nvcpus; i++)
            n += (size_t)snprintf(g->reply + n, sizeof(g->reply) - n, "%s%x", i ? "," : "",
                                  tid_of(i));
        g->reply_len = n;
    } else if (!strcmp(p, "qsThreadInfo")) {
        reply(g, "l");
    } else if (!strcmp(p, "qC")) {
        reply(g, "QC%x", tid_of(g->g_thread));
    } else if (!strncmp(p, "qAttached", 9)) {
        reply(g, "1");
    } else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
        const char *q = p + 17;
        bool all;
        unsigned vcpu;
        char text[32];
        if (parse_tid(&q, &all, &vcpu, g->nvcpus) || *q || all) {
            reply(g, "E01");
            return;
        }
        int n = snprintf(text, sizeof(text), "vCPU %u", vcpu);
        gdb_to_hex(text, (size_t)n, g->reply);
        g->reply_len = 2 * (size_t)n;
    } else if (!strncmp(p, "qSymbol", 7)) {
        reply(g, "OK");
    } else {
        reply(g, "%s", ""); /* not supported: the empty reply */
    }
}

static void drop_client(struct gdbstub *g)
{
    if (g->client_fd >= 0)
        close(g->client_fd);
    g->client_fd = -1;
}

/* One packet while halted. Resuming commands send nothing now: their reply
   is the stop that ends them. */
static void handle_packet(struct gdbstub *g, char *p, size_t len)
{
    g->reply_len = 0;
    switch (p[0]) {
    case '?': stop_reply(g, g->g_thread, 5, 0, 0); return;
    case 'g': cmd_read_all(g); break;
    case 'G': cmd_write_all(g, p + 1); break;
    case 'p': cmd_read_reg(g, p + 1); break;
    case 'P': cmd_write_reg(g, p + 1); break;
    case 'm': cmd_read_mem(g, p + 1); break;
    case 'M': cmd_write_mem(g, p + 1, len - 1, false); break;
    case 'X': cmd_write_mem(g, p + 1, len - 1, true); break;
    case 'Z': cmd_point(g, p + 1, true); break;
    case 'z': cmd_point(g, p + 1, false); break;
    case 'H': cmd_set_thread(g, p + 1); break;
    case 'T': cmd_thread_alive(g, p + 1); break;
    case 'q': cmd_query(g, p); break;
    case 'c':
    case 'C':
    case 's':
    case 'S':
        cmd_resume(g, p[0], p + 1);
        if (g->reply_len)
            break;
        return;
    case 'v':
        if (!strcmp(p, "vCont?")) {
            reply(g, "vCont;c;C;s;S");
        } else if (!strncmp(p, "vCont;", 6)) {
            cmd_vcont(g, p + 5);
            if (!g->reply_len)
                return;
        } else {
            reply(g, "%s", ""); /* vMustReplyEmpty, vKill, vRun...: not here */
        }
        break;
    case 'D': /* detach: the guest runs on, nothing armed; gdb closes the connection */
        reply(g, "OK");
        send_reply(g);
        g->npoints = 0;
        resume(g, NULL, false);
        return;
    case 'k': /* kill: the VM powers off, as QEMU's stub quits */
        vm_request_stop(g->vm, VM_STOP_POWEROFF);
        drop_client(g);
        return;
    default: reply(g, "%s", ""); break;
    }
    send_reply(g);
}

/* --- the connection ------------------------------------------------------------------------ */

/* The client left (closed, detached, or stopped reading): the guest runs
   on with nothing armed. */
static void client_gone(struct gdbstub *g)
{
    drop_client(g);
    g->connected = false;
    g->npoints = 0;
    if (g->armed && !g->halted)
        halt_all(g); /* to disarm every hart */
    if (g->halted)
        resume(g, NULL, false);
}

static void client_accept(struct gdbstub *g)
{
    int fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    if (g->client_fd >= 0) {
        close(fd); /* one client at a time */
        return;
    }
    struct timeval tv = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* fails on Unix sockets */
    g->client_fd = fd;
    g->connected = true;
    gdb_rx_init(&g->rx);
    g->npoints = 0;
    g->g_thread = 0;
    g->c_all = true;
    g->out_len = 0;
    if (!g->halted && !halt_all(g))
        drop_client(g); /* the VM is stopping */
}

static void client_input(struct gdbstub *g)
{
    uint8_t buf[4096];
    ssize_t n = recv(g->client_fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        drop_client(g);
        return;
    }
    for (ssize_t i = 0; i < n && g->client_fd >= 0; i++) {
        switch (gdb_rx_byte(&g->rx, buf[i])) {
        case GDB_RX_PACKET:
            send_raw(g, "+", 1);
            if (g->halted) {
                handle_packet(g, g->rx.data, g->rx.len);
            } else {
                reply(g, "E01"); /* only Ctrl-C while running (all-stop) */
                send_reply(g);
            }
            break;
        case GDB_RX_BAD: send_raw(g, "-", 1); break;
        case GDB_RX_TOO_LONG:
            send_raw(g, "+", 1);
            reply(g, "E01");
            send_reply(g);
            break;
        case GDB_RX_INTERRUPT:
            if (!g->halted && halt_all(g))
                stop_reply(g, g->g_thread, 2, 0, 0);
            break;
        case GDB_RX_NACK:
            if (g->out_len)
                send_raw(g, g->out, g->out_len);
            break;
        case GDB_RX_ACK:
        case GDB_RX_NONE: break;
        }
    }
}

static void vcpu_stopped(struct gdbstub *g)
{
    uint64_t n;
    if (read(g->event_fd, &n, sizeof(n)) != sizeof(n))
        return;
    pthread_mutex_lock(&g->lock);
    bool have = g->event;
    unsigned vcpu = g->event_vcpu;
    uint64_t reason = g->event_reason, addr = g->event_addr;
    pthread_mutex_unlock(&g->lock);
    if (!have || g->halted)
        return;
    if (!halt_all(g))
        return;
    stop_reply(g, vcpu, 5, reason, addr);
}

static void *stub_thread(void *arg)
{
    struct gdbstub *g = arg;
    sandbox_enter_or_warn(SANDBOX_GDB);
    for (;;) {
        struct pollfd fds[4] = {
            {.fd = g->quit_fd, .events = POLLIN},
            {.fd = g->event_fd, .events = POLLIN},
            {.fd = g->listen_fd, .events = POLLIN},
            {.fd = g->client_fd, .events = POLLIN}, /* -1: ignored */
        };
        if (poll(fds, 4, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (fds[0].revents)
            break;
        if (fds[1].revents)
            vcpu_stopped(g);
        if (fds[3].revents && g->client_fd >= 0)
            client_input(g);
        if (fds[2].revents)
            client_accept(g);
        if (g->connected && g->client_fd < 0)
            client_gone(g);
    }
    return NULL;
}

/* --- lifetime --------------------------------------------------------------------------------- */

struct gdbstub *gdbstub_create(struct vm *vm, const char *address, bool wait, char *err,
                               size_t err_len)
{
    struct gdb_address a;
    if (parse_address(address, &a, err, err_len))
        return NULL;
    struct gdbstub *g = calloc(1, sizeof(*g));
    if (!g) {
        set_err(err, err_len, "out of memory");
        return NULL;
    }
    g->vm = vm;
    g->nvcpus = vm->cfg->smp;
    g->client_fd = g->quit_fd = g->event_fd = -1;
    g->c_all = true;
    pthread_mutex_init(&g->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&g->changed, &attr);
    pthread_condattr_destroy(&attr);
    for (unsigned i = 0; i < g->nvcpus; i++)
        g->allowed[i] = !wait;
    g->halted = wait; /* before the first instruction: nothing can be past the gate */
    g->halt_start = dv_host_time();
    if (a.is_unix)
        memcpy(g->unix_path, a.path, sizeof(g->unix_path));
    g->listen_fd = listen_on(&a, g->address, sizeof(g->address), err, err_len);
    if (g->listen_fd < 0) {
        g->unix_path[0] = '\0';
        gdbstub_destroy(g);
        return NULL;
    }
    g->event_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    g->quit_fd = eventfd(0, EFD_CLOEXEC);
    if (g->event_fd < 0 || g->quit_fd < 0 ||
        pthread_create(&g->thread, NULL, stub_thread, g) != 0) {
        set_err(err, err_len, "--gdb: cannot start the stub: %s", strerror(errno));
        gdbstub_destroy(g);
        return NULL;
    }
    g->thread_started = true;
    fprintf(stderr, "duvisor: gdb stub listening on %s%s\n", g->address,
            wait ? " (the guest waits for gdb to continue)" : "");
    return g;
}

void gdbstub_destroy(struct gdbstub *g)
{
    if (!g)
        return;
    if (g->thread_started) {
        uint64_t one = 1;
        if (write(g->quit_fd, &one, sizeof(one)) < 0) {
            /* an eventfd write of 1 cannot fail here */
        }
        pthread_join(g->thread, NULL);
    }
    if (g->client_fd >= 0)
        close(g->client_fd);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    if (g->unix_path[0])
        unlink(g->unix_path);
    if (g->event_fd >= 0)
        close(g->event_fd);
    if (g->quit_fd >= 0)
        close(g->quit_fd);
    pthread_cond_destroy(&g->changed);
    pthread_mutex_destroy(&g->lock);
    free(g);
}
