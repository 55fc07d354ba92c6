/*
 * hostile.c - a hostile bare S-mode guest (with hostile_entry.S). It feeds
 * every device window and every SBI extension garbage, then checks that the
 * devices still work, and reports it is alive:
 *
 *   1. the SBI: every extension's refusals where the spec defines them, then
 *      random extension and function IDs with random arguments;
 *   2. HSM: starts at bad addresses and on bad harts, then hart 1 (smp > 1)
 *      started for real, running its own slice of garbage MMIO concurrently;
 *   3. every window of the virt map and the holes around them: every offset
 *      at every width, plain, compressed, FP, AMO and LR/SC, random values;
 *      accesses to nothing must fault (and addresses above RAM must not
 *      alias RAM), fetches from devices must fault;
 *   4. each virtio device: rounds of random feature negotiation, queues with
 *      random sizes and ring addresses, hostile descriptor chains, avail
 *      index jumps, random kicks and resets mid-flight;
 *   5. the devices again, used properly: a disk read and write, entropy, an
 *      ARP exchange through user networking, virtio-console and UART output.
 *
 * Every failed check prints "hostile: FAIL ..."; the last line is
 * "hostile: alive (seed N, traps T)", then SRST shutdown. The seed comes
 * from the kernel command line (hostile.seed=N); hostile.rounds=N sets the
 * device rounds, hostile.stride=N thins the sweep past each window's first
 * 512 bytes to one offset in N, hostile.ro=1 says the disk is read-only. Only the scratch RAM from
 * 0x81000000 up is ever handed to a device: the image, stacks and hart state below it stay intact.
 */
typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long u64;
typedef long i64;
typedef __builtin_va_list va_list;
#define va_start __builtin_va_start
#define va_arg   __builtin_va_arg
#define va_end   __builtin_va_end

#define RAM_BASE    0x80000000ul
#define SCRATCH     0x81000000ul /* devices may touch RAM from here up */
#define RINGS       SCRATCH      /* descriptor tables and rings: 64 KiB per (slot, queue) */
#define RINGS_SIZE  0x00400000ul
#define BUFS        (SCRATCH + RINGS_SIZE) /* buffers the descriptors point at */
#define BUFS_SIZE   0x00b00000ul
#define VALID       (SCRATCH + 0x00f00000ul) /* the last phase's rings and buffers */
#define SCRATCH_END 0x82000000ul
#define MAX_HARTS   8

/* The disk tests/e2e/hostile.sh makes: sector 0 holds DISK_MAGIC, sectors
   below ZONE_LO a pattern the host checks afterwards. Requests made here
   only ever write sectors from ZONE_LO up. */
#define ZONE_LO    2048ul
#define DISK_MAGIC "duvisor hostile disk"

/* The virt map duvisor implements. */
#define PLIC_BASE    0x0c000000ul
#define PLIC_SIZE    0x00400000ul
#define UART_BASE    0x10000000ul
#define VIRTIO_BASE  0x10001000ul
#define VIRTIO_SLOTS 8
#define BOOT_TIMER   0x10200000ul

/* SBI */
#define EXT_BASE          0x10ul
#define EXT_TIME          0x54494d45ul
#define EXT_IPI           0x735049ul
#define EXT_RFENCE        0x52464e43ul
#define EXT_HSM           0x48534dul
#define EXT_SRST          0x53525354ul
#define EXT_DBCN          0x4442434eul
#define EXT_PMU           0x504d55ul
#define EXT_SUSP          0x53555350ul
#define EXT_CPPC          0x43505043ul
#define EXT_STA           0x535441ul
#define EXT_FWFT          0x46574654ul
#define ERR_FAILED        -1
#define ERR_NOTSUP        -2
#define ERR_PARAM         -3
#define ERR_ADDR          -5
#define ERR_AVAIL         -6
#define ERR_DENIED        -4
#define ERR_LAST          -14 /* SBI_ERR_DENIED_LOCKED, the last code SBI 3.0 defines */
#define HSM_STARTED       0
#define HSM_STOPPED       1
#define HSM_START_PENDING 2

/* virtio-mmio */
#define V_MAGIC         0x000
#define V_VERSION       0x004
#define V_DEVICE_ID     0x008
#define V_DEV_FEATURES  0x010
#define V_DEV_FEAT_SEL  0x014
#define V_DRV_FEATURES  0x020
#define V_DRV_FEAT_SEL  0x024
#define V_QUEUE_SEL     0x030
#define V_QUEUE_NUM_MAX 0x034
#define V_QUEUE_NUM     0x038
#define V_QUEUE_READY   0x044
#define V_QUEUE_NOTIFY  0x050
#define V_INT_STATUS    0x060
#define V_INT_ACK       0x064
#define V_STATUS        0x070
#define V_DESC_LO       0x080
#define V_DESC_HI       0x084
#define V_DRIVER_LO     0x090
#define V_DRIVER_HI     0x094
#define V_DEVICE_LO     0x0a0
#define V_DEVICE_HI     0x0a4
#define V_CONFIG        0x100
#define S_ACK           1u
#define S_DRIVER        2u
#define S_DRIVER_OK     4u
#define S_FEATURES_OK   8u
#define S_NEEDS_RESET   64u
#define F_INDIRECT      (1ul << 28)
#define F_EVENT_IDX     (1ul << 29)
#define F_VERSION_1     (1ul << 32)
#define D_NEXT          1u
#define D_WRITE         2u
#define D_INDIRECT      4u
#define ID_NET          1
#define ID_BLOCK        2
#define ID_CONSOLE      3
#define ID_RNG          4
#define ID_INPUT        18

/* ---- the C runtime --------------------------------------------------------------------- */

void *memset(void *d, int c, u64 n);
void *memcpy(void *d, const void *s, u64 n);
int memcmp(const void *a, const void *b, u64 n);

void *memset(void *d, int c, u64 n)
{
    volatile u8 *p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}

void *memcpy(void *d, const void *s, u64 n)
{
    volatile u8 *p = d;
    const volatile u8 *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, u64 n)
{
    const u8 *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p - *q;
    return 0;
}

static u64 str_len(const char *s)
{
    u64 n = 0;
    while (s[n])
        n++;
    return n;
}

#define csr_read(csr)                                                                              \
    ({                                                                                             \
        u64 v_;                                                                                    \
        asm volatile("csrr %0, " #csr : "=r"(v_));                                                 \
        v_;                                                                                        \
    })
#define csr_write(csr, v) asm volatile("csrw " #csr ", %0" ::"r"((u64)(v)))

static u64 now(void)
{
    u64 t;
    asm volatile("rdtime %0" : "=r"(t));
    return t;
}
#define TICKS_PER_SEC 10000000ul

/* ---- per-hart state (tp points at it; hostile_entry.S knows its size) ----------------- */

struct hart {
    u64 traps[64]; /* by scause */
    u64 total;     /* every trap */
    u64 irqs;      /* interrupts (only while interrupts_on) */
    u64 irq_by[16];
    u64 empty_claims;
    u64 last_claim; /* the last source an external interrupt claimed */
    u64 last_cause, last_tval, last_epc;
    u64 rng; /* xorshift64* state */
    u64 accesses;
    u8 pad[1024 - 89 * 8];
};
_Static_assert(sizeof(struct hart) == 1024, "hostile_entry.S's HOSTILE_HART_SIZE");
struct hart hostile_harts[MAX_HARTS];

static struct hart *self(void)
{
    struct hart *h;
    asm volatile("mv %0, tp" : "=r"(h));
    return h;
}

#define USER_DONE 0x55534552 /* hostile_entry.S */
void hostile_user(void);
void hostile_user_back(void);
long hostile_suspend(u64 opaque);
extern u64 hostile_resumed[2];

/* Interrupts, taken only while interrupts_on() (hart 0's garbage phases):
   software and timer ones are cleared, an external one is claimed, its
   source disabled in this hart's context and completed, so that a source
   that stays high (a device nobody acknowledges) cannot keep the hart in
   here. Nothing here may take a lock the interrupted code could hold. */
static void hostile_interrupt(struct hart *h, u64 code)
{
    u64 ctx = (u64)(h - hostile_harts);
    h->irqs++;
    h->irq_by[code & 15]++;
    if (code == 1) {
        asm volatile("csrc sip, %0" ::"r"(2ul));
    } else if (code == 5) {
        asm volatile("csrw 0x14d, %0" ::"r"(~0ul)); /* stimecmp: never */
    } else if (code == 9) {
        volatile u32 *claim = (volatile u32 *)(0x0c200004ul + ctx * 0x1000);
        u32 id = *claim;
        h->last_claim = id;
        if (id) { /* completed first: a completion for a disabled source is ignored */
            volatile u32 *enable = (volatile u32 *)(0x0c002000ul + ctx * 0x80 + (id / 32) * 4);
            *claim = id;
            *enable &= ~(1u << (id % 32));
        } else if (++h->empty_claims > 1000) {
            asm volatile("csrc sie, %0" ::"r"(0x200ul)); /* SEIP without a source: stop */
        }
    } else {
        csr_write(sie, 0);
    }
    if (h->irqs > 2000000)
        csr_write(sie, 0); /* a storm nothing above ends: give up on interrupts */
}

/* The trap handler: count, then resume after the faulting instruction (its
   length from its low two bits) or, for a fetch fault, at ra. */
void hostile_trap(u64 *frame);
void hostile_trap(u64 *frame)
{
    struct hart *h = (struct hart *)frame[4];
    u64 cause = csr_read(scause), epc = csr_read(sepc), tval = csr_read(stval);

    if ((i64)cause < 0) {
        hostile_interrupt(h, cause & 63);
        return;
    }
    h->traps[cause & 63]++;
    h->total++;
    h->last_cause = cause;
    h->last_tval = tval;
    h->last_epc = epc;
    if (cause == 0 || cause == 1 || cause == 12) {
        csr_write(sepc, frame[1]);
        return;
    }
    if (cause == 8 && frame[17] == USER_DONE) { /* hostile_user's way back to S mode */
        csr_write(sepc, (u64)hostile_user_back);
        asm volatile("csrs sstatus, %0" ::"r"(0x100ul));
        return;
    }
    u16 insn = *(volatile u16 *)epc;
    csr_write(sepc, epc + ((insn & 3) == 3 ? 4 : 2));
}

static void interrupts_on(void)
{
    csr_write(sie, 0x222); /* SSIE, STIE, SEIE */
    asm volatile("csrs sstatus, %0" ::"r"(2ul));
}

static void interrupts_off(void)
{
    asm volatile("csrc sstatus, %0" ::"r"(2ul));
    csr_write(sie, 0);
}

/* ---- shared state ------------------------------------------------------------------------ */

static u64 seed = 1, rounds = 8;
static u64 stride = 1; /* hostile.stride: every offset of a window's first 512 bytes, then 1 in N */
static u64 readonly;   /* hostile.ro: the disk is read-only */
static u64 ram_end = RAM_BASE + (256ul << 20);
static u64 nharts = 1;
static char bootargs[512];
static volatile u32 print_lock;
static volatile u64 failures;
static volatile u64 release;  /* set once hart 0 has checked a start: the started hart may stop */
static volatile u64 abuse_go; /* hart 0 starts its device rounds: hart 1 joins in */
static u64 expected_irqs;     /* interrupts the last phase asks for */

/* ---- PRNG -------------------------------------------------------------------------------- */

static u64 mix(u64 x)
{
    x += 0x9e3779b97f4a7c15ul;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ul;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebul;
    return (x ^ (x >> 31)) | 1;
}

static u64 rnd(void)
{
    struct hart *h = self();
    u64 x = h->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    h->rng = x;
    return x * 0x2545f4914f6cdd1dul;
}

static u64 below(u64 n)
{
    return n ? rnd() % n : 0;
}

static int chance(u64 percent)
{
    return below(100) < percent;
}

/* A value with the shapes that break things: edges, small numbers, bits. */
static u64 garbage(void)
{
    switch (below(10)) {
    case 0: return 0;
    case 1: return ~0ul;
    case 2: return below(16);
    case 3: return 1ul << below(64);
    case 4: return (u32)rnd();
    case 5: return ~0ul - below(16);
    case 6: return 0x80000000ul + below(16);
    default: return rnd();
    }
}

/* ---- SBI and output ------------------------------------------------------------------- */

struct sbiret {
    i64 error;
    u64 value;
};

static struct sbiret sbi(u64 ext, u64 fid, u64 a0, u64 a1, u64 a2, u64 a3, u64 a4, u64 a5)
{
    register u64 r0 asm("a0") = a0;
    register u64 r1 asm("a1") = a1;
    register u64 r2 asm("a2") = a2;
    register u64 r3 asm("a3") = a3;
    register u64 r4 asm("a4") = a4;
    register u64 r5 asm("a5") = a5;
    register u64 r6 asm("a6") = fid;
    register u64 r7 asm("a7") = ext;
    asm volatile("ecall"
                 : "+r"(r0), "+r"(r1)
                 : "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
                 : "memory");
    return (struct sbiret){(i64)r0, r1};
}

#define sbi0(e, f)                sbi(e, f, 0, 0, 0, 0, 0, 0)
#define sbi1(e, f, a)             sbi(e, f, a, 0, 0, 0, 0, 0)
#define sbi2(e, f, a, b)          sbi(e, f, a, b, 0, 0, 0, 0)
#define sbi3(e, f, a, b, c)       sbi(e, f, a, b, c, 0, 0, 0)
#define sbi5(e, f, a, b, c, d, g) sbi(e, f, a, b, c, d, g, 0)

/* All output goes through DBCN (legacy putchar if that fails): neither is
   the UART, whose registers the sweep scrambles. */
static void out(const char *s, u64 n)
{
    while (n > 0) {
        struct sbiret r = sbi3(EXT_DBCN, 0, n, (u64)s, 0);
        if (r.error || r.value == 0 || r.value > n) {
            for (; n; n--, s++)
                sbi1(1, 0, (u8)*s);
            return;
        }
        s += r.value;
        n -= r.value;
    }
}

struct buf {
    char b[320];
    u64 n;
};

static void put_c(struct buf *b, char c)
{
    if (b->n < sizeof(b->b))
        b->b[b->n++] = c;
}

static void put_u(struct buf *b, u64 v, unsigned base)
{
    char t[24];
    int i = 0;
    do {
        t[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i)
        put_c(b, t[--i]);
}

/* %s %c %d %u %x (integers are read as 64 bits: pass u64 or i64) */
static void pr(const char *fmt, ...)
{
    struct buf b = {.n = 0};
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put_c(&b, *fmt);
            continue;
        }
        switch (*++fmt) {
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++)
                put_c(&b, *s);
            break;
        case 'c': put_c(&b, (char)va_arg(ap, u64)); break;
        case 'd': {
            i64 v = va_arg(ap, i64);
            if (v < 0) {
                put_c(&b, '-');
                v = -v;
            }
            put_u(&b, (u64)v, 10);
            break;
        }
        case 'u': put_u(&b, va_arg(ap, u64), 10); break;
        case 'x':
            put_c(&b, '0');
            put_c(&b, 'x');
            put_u(&b, va_arg(ap, u64), 16);
            break;
        case 0: fmt--; break;
        default: put_c(&b, *fmt); break;
        }
    }
    va_end(ap);
    while (__atomic_exchange_n(&print_lock, 1, __ATOMIC_ACQUIRE))
        ;
    out(b.b, b.n);
    __atomic_store_n(&print_lock, 0, __ATOMIC_RELEASE);
}

#define check(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);                                    \
            if (failures <= 60)                                                                    \
                pr("hostile: FAIL " __VA_ARGS__);                                                  \
        }                                                                                          \
    } while (0)

static void poweroff(void)
{
    sbi2(EXT_SRST, 0, 0, 0);
    sbi0(8, 0); /* legacy shutdown, if SRST failed */
    for (;;)
        asm volatile("wfi");
}

/* The same through hostile_sbi_regs: also checks that the call changed no
   register but a0 and a1 (the SBI's calling convention). */
void hostile_sbi_regs(u64 *io);
#define PAT(n) (0x5aa5000000000000ul + (u64)(n)*0x0101010101ul)

static struct sbiret sbi_checked(u64 ext, u64 fid, const u64 *a)
{
    u64 io[40];
    for (int i = 0; i < 6; i++)
        io[i] = a[i];
    io[6] = fid;
    io[7] = ext;
    hostile_sbi_regs(io);
    const u64 *x = io + 8;
    u64 tp;
    asm volatile("mv %0, tp" : "=r"(tp));
    u64 bad = 0;
    for (unsigned n = 1; n < 32; n++) {
        u64 want = n >= 12 && n <= 17 ? io[n - 10] /* a2..a7: the arguments */
                   : n == 2           ? x[2]       /* sp: checked by surviving */
                   : n == 4           ? tp
                                      : PAT(n);
        if (n != 10 && n != 11 && x[n] != want)
            bad |= 1ul << n;
    }
    check(!bad, "SBI call %x fid %x changed registers %x (bit n: xn)\n", ext, fid, bad);
    return (struct sbiret){(i64)x[10], x[11]};
}

/* ---- the device tree: bootargs and the memory size ----------------------------------- */

static u32 be32(const u8 *p)
{
    return (u32)p[0] << 24 | (u32)p[1] << 16 | (u32)p[2] << 8 | p[3];
}

static u64 be64(const u8 *p)
{
    return (u64)be32(p) << 32 | be32(p + 4);
}

static void parse_dtb(u64 dtb)
{
    const u8 *f = (const u8 *)dtb;
    if (dtb < RAM_BASE || dtb >= ram_end || be32(f) != 0xd00dfeed)
        return;
    const u8 *p = f + be32(f + 8), *end = p + be32(f + 36);
    const char *strings = (const char *)f + be32(f + 12);
    char node[32] = {0};
    int depth = 0;
    while (p < end) {
        u32 tok = be32(p);
        p += 4;
        if (tok == 1) { /* BEGIN_NODE */
            const char *name = (const char *)p;
            u64 n = str_len(name);
            if (depth == 1) {
                u64 k = n < sizeof(node) - 1 ? n : sizeof(node) - 1;
                memcpy(node, name, k);
                node[k] = 0;
            }
            depth++;
            p += (n + 4) & ~3ul;
        } else if (tok == 2) { /* END_NODE */
            depth--;
        } else if (tok == 3) { /* PROP */
            u32 len = be32(p);
            const char *name = strings + be32(p + 4);
            p += 8;
            if (depth == 2 && !memcmp(node, "chosen", 7) && !memcmp(name, "bootargs", 9)) {
                u64 k = len < sizeof(bootargs) - 1 ? len : sizeof(bootargs) - 1;
                memcpy(bootargs, p, k);
                bootargs[k] = 0;
            }
            if (depth == 2 && !memcmp(node, "memory", 6) && !memcmp(name, "reg", 4) && len >= 16)
                ram_end = be64(p) + be64(p + 8);
            p += (len + 3) & ~3ul;
        } else if (tok != 4) { /* not NOP: END or garbage */
            break;
        }
    }
}

/* The number after "key=" in bootargs (decimal or 0x hex), or dflt. */
static u64 arg_value(const char *key, u64 dflt)
{
    u64 klen = str_len(key);
    for (const char *s = bootargs; *s; s++) {
        if ((s != bootargs && s[-1] != ' ') || memcmp(s, key, klen) || s[klen] != '=')
            continue;
        const char *v = s + klen + 1;
        u64 x = 0, base = 10;
        if (v[0] == '0' && v[1] == 'x') {
            base = 16;
            v += 2;
        }
        for (;; v++) {
            u64 d;
            if (*v >= '0' && *v <= '9')
                d = (u64)(*v - '0');
            else if (base == 16 && *v >= 'a' && *v <= 'f')
                d = (u64)(*v - 'a' + 10);
            else
                break;
            x = x * base + d;
        }
        return x;
    }
    return dflt;
}

/* ---- accesses of every kind ----------------------------------------------------------- */

/* clang-format off */
/* Every kind of access: the plain loads and stores (which the assembler may
   compress), the same never and always compressed, FP, AMOs and LR/SC, and a
   load into x0, which must leave x0 zero. */
enum op {
    OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU,
    OP_SB, OP_SH, OP_SW, OP_SD,
    OP_LW4, OP_LD4, OP_SW4, OP_SD4,
    OP_CLW, OP_CLD, OP_CSW, OP_CSD,
    OP_FLW, OP_FLD, OP_FSW, OP_FSD, OP_CFLD, OP_CFSD,
    OP_AMOSWAPW, OP_AMOADDD, OP_AMOORW, OP_LRW, OP_LRD, OP_SCW, OP_SCD,
    OP_LW_X0,
    OP_COUNT,
    OP_PLAIN = OP_LW4, /* the ops below this are the plain loads and stores */
};
/* clang-format on */

static int op_stores(enum op op)
{
    switch (op) {
    case OP_SB:
    case OP_SH:
    case OP_SW:
    case OP_SD:
    case OP_SW4:
    case OP_SD4:
    case OP_CSW:
    case OP_CSD:
    case OP_FSW:
    case OP_FSD:
    case OP_CFSD:
    case OP_AMOSWAPW:
    case OP_AMOADDD:
    case OP_AMOORW:
    case OP_SCW:
    case OP_SCD: return 1;
    default: return 0;
    }
}

static unsigned op_width(enum op op)
{
    switch (op) {
    case OP_LB:
    case OP_LBU:
    case OP_SB: return 1;
    case OP_LH:
    case OP_LHU:
    case OP_SH: return 2;
    case OP_LD:
    case OP_SD:
    case OP_LD4:
    case OP_SD4:
    case OP_CLD:
    case OP_CSD:
    case OP_FLD:
    case OP_FSD:
    case OP_CFLD:
    case OP_CFSD:
    case OP_AMOADDD:
    case OP_LRD:
    case OP_SCD: return 8;
    default: return 4;
    }
}

#define LOAD(insn)   asm volatile(insn " %0, 0(%1)" : "+r"(v) : "r"(a) : "memory")
#define STORE(insn)  asm volatile(insn " %0, 0(%1)" ::"r"(v), "r"(a) : "memory")
#define NORVC        ".option push\n.option norvc\n"
#define LOAD4(insn)  asm volatile(NORVC insn " %0, 0(%1)\n.option pop" : "+r"(v) : "r"(a) : "memory")
#define STORE4(insn) asm volatile(NORVC insn " %0, 0(%1)\n.option pop" ::"r"(v), "r"(a) : "memory")
#define AMO(insn)    asm volatile(insn " %0, %2, (%1)" : "+r"(v) : "r"(a), "r"(v) : "memory")
#define CLOAD(insn)  asm volatile(insn " a4, 0(a5)" : "+r"(ra4) : "r"(ra5) : "memory")
#define CSTORE(insn) asm volatile(insn " a4, 0(a5)" ::"r"(ra4), "r"(ra5) : "memory")

/* One access; the value loaded (v unchanged if it trapped). */
static u64 access(u64 a, enum op op, u64 v)
{
    register u64 ra4 asm("a4") = v;
    register u64 ra5 asm("a5") = a;
    u64 zero = 1;

    switch (op) {
    case OP_LB: LOAD("lb"); break;
    case OP_LH: LOAD("lh"); break;
    case OP_LW: LOAD("lw"); break;
    case OP_LD: LOAD("ld"); break;
    case OP_LBU: LOAD("lbu"); break;
    case OP_LHU: LOAD("lhu"); break;
    case OP_LWU: LOAD("lwu"); break;
    case OP_SB: STORE("sb"); break;
    case OP_SH: STORE("sh"); break;
    case OP_SW: STORE("sw"); break;
    case OP_SD: STORE("sd"); break;
    case OP_LW4: LOAD4("lw"); break;
    case OP_LD4: LOAD4("ld"); break;
    case OP_SW4: STORE4("sw"); break;
    case OP_SD4: STORE4("sd"); break;
    case OP_CLW:
        CLOAD("c.lw");
        v = ra4;
        break;
    case OP_CLD:
        CLOAD("c.ld");
        v = ra4;
        break;
    case OP_CSW: CSTORE("c.sw"); break;
    case OP_CSD: CSTORE("c.sd"); break;
    case OP_FLW: asm volatile("flw ft0, 0(%0)" ::"r"(a) : "ft0", "memory"); break;
    case OP_FLD: asm volatile("fld ft0, 0(%0)" ::"r"(a) : "ft0", "memory"); break;
    case OP_FSW:
        asm volatile("fmv.w.x ft0, %0\n fsw ft0, 0(%1)" ::"r"(v), "r"(a) : "ft0", "memory");
        break;
    case OP_FSD:
        asm volatile("fmv.d.x ft0, %0\n fsd ft0, 0(%1)" ::"r"(v), "r"(a) : "ft0", "memory");
        break;
    case OP_CFLD: asm volatile("c.fld fa4, 0(a5)" ::"r"(ra5) : "fa4", "memory"); break;
    case OP_CFSD:
        asm volatile("fmv.d.x fa4, %0\n c.fsd fa4, 0(a5)" ::"r"(v), "r"(ra5) : "fa4", "memory");
        break;
    case OP_AMOSWAPW: AMO("amoswap.w"); break;
    case OP_AMOADDD: AMO("amoadd.d"); break;
    case OP_AMOORW: AMO("amoor.w"); break;
    case OP_LRW: asm volatile("lr.w %0, (%1)" : "+r"(v) : "r"(a) : "memory"); break;
    case OP_LRD: asm volatile("lr.d %0, (%1)" : "+r"(v) : "r"(a) : "memory"); break;
    case OP_SCW: AMO("sc.w"); break;
    case OP_SCD: AMO("sc.d"); break;
    case OP_LW_X0:
        asm volatile("lw x0, 0(%1)\n mv %0, x0" : "=r"(zero) : "r"(a) : "memory");
        check(zero == 0, "a load into x0 at %x left x0 = %x\n", a, zero);
        break;
    case OP_COUNT: break;
    }
    self()->accesses++;
    return v;
}

/* Did the access trap, and how: cause, stval. */
struct result {
    int trapped;
    u64 cause, tval, value;
};

static struct result try_access(u64 a, enum op op, u64 v)
{
    struct hart *h = self();
    u64 before = h->total;
    struct result r;

    r.value = access(a, op, v);
    r.trapped = h->total != before;
    r.cause = r.trapped ? h->last_cause : 0;
    r.tval = r.trapped ? h->last_tval : 0;
    return r;
}

/* An instruction fetch from a: must fault (cause 1), back at the return address. */
static void try_fetch(u64 a, const char *what)
{
    struct hart *h = self();
    u64 before = h->total;

    asm volatile("jalr ra, 0(%0)" ::"r"(a) : "ra", "memory");
    check(h->total == before + 1 && h->last_cause == 1 && h->last_tval == a,
          "fetch from %s %x: traps %u, cause %u, tval %x\n", what, a, h->total - before,
          h->last_cause, h->last_tval);
}

/* ---- plain MMIO helpers for the device phases ------------------------------------------- */

static u32 r32(u64 a)
{
    return *(volatile u32 *)a;
}

static void w32(u64 a, u32 v)
{
    *(volatile u32 *)a = v;
}

static void fence(void)
{
    asm volatile("fence rw, rw" ::: "memory");
}

/* Store values that would hand a device RAM below SCRATCH (this image, its
   stacks) are moved into the ring area: queue address low halves. */
static u64 tame_store(u64 a, u64 v)
{
    if (a >= VIRTIO_BASE && a < VIRTIO_BASE + VIRTIO_SLOTS * 0x1000ul) {
        u64 off = a & 0xfff;
        if (off >= V_DESC_LO && off < V_DEVICE_HI + 4) {
            u32 lo = (u32)v;
            if (lo >= RAM_BASE && lo < SCRATCH)
                v = (v & ~0xfffffffful) | (RINGS + (lo & (RINGS_SIZE - 1)));
        }
    }
    return v;
}

/* ---- 1. the SBI ----------------------------------------------------------------------- */

static u64 bad_addr(void)
{
    static const u64 bad[] = {0,          0x1000,     0x0c000000, 0x10000000, 0x10001000,
                              0x20000000, 0x7ffffffe, ~0ul - 1,   1ul << 40,  0x8000000000000000ul};
    switch (below(4)) {
    case 0: return ram_end + 2 * below(0x100000);
    case 1: return SCRATCH + 1 + 2 * below(0x1000); /* in RAM, but odd */
    case 2: return (rnd() | 1);
    default: return bad[below(sizeof(bad) / sizeof(bad[0]))];
    }
}

static void sbi_expect(struct sbiret r, i64 err, const char *what)
{
    check(r.error == err, "sbi %s: error %d, want %d\n", what, r.error, err);
}

/* A suspend returns once an interrupt is pending (enabled in sie, whatever
   sstatus.SIE says): a timer 1 ms ahead, SIE off so none is taken. Returns
   the sie to put back with wake_timer_off. */
static u64 wake_timer_on(void)
{
    u64 sie = csr_read(sie);
    asm volatile("csrc sstatus, %0" ::"r"(2ul));
    asm volatile("csrw 0x14d, %0" ::"r"(now() + 10000));
    csr_write(sie, 0x20);
    return sie;
}

static void wake_timer_off(u64 sie)
{
    asm volatile("csrw 0x14d, %0" ::"r"(~0ul));
    csr_write(sie, sie);
}

static struct sbiret suspend_until_timer(void)
{
    u64 sstatus = csr_read(sstatus), sie = wake_timer_on();
    struct sbiret r = sbi3(EXT_HSM, 3, 0, 0, 0);
    wake_timer_off(sie);
    if (sstatus & 2)
        asm volatile("csrs sstatus, %0" ::"r"(2ul));
    return r;
}

static void sbi_checks(void)
{
    struct sbiret r;
    static const char msg[] = "hostile: dbcn write\n";

    r = sbi0(EXT_BASE, 0);
    check(r.error == 0 && (r.value >> 31) == 0 && (r.value >> 24) >= 1,
          "base spec version: %d %x\n", r.error, r.value);
    r = sbi1(EXT_BASE, 3, 0x0badc0de);
    check(r.error == 0 && r.value == 0, "probe of an unknown EID: %d %u\n", r.error, r.value);
    r = sbi1(EXT_BASE, 3, EXT_HSM);
    check(r.error == 0 && r.value != 0, "probe HSM: %d %u\n", r.error, r.value);
    r = sbi1(EXT_BASE, 3, EXT_HSM | (1ul << 32));
    check(r.error == 0 && r.value == 0, "probe of HSM with bit 32: %d %u\n", r.error, r.value);
    sbi_expect(sbi0(EXT_BASE, 7), ERR_NOTSUP, "base fid 7");
    sbi_expect(sbi0(EXT_BASE, ~0ul), ERR_NOTSUP, "base fid -1");
    sbi_expect(sbi0(0x0badc0de, 0), ERR_NOTSUP, "unknown EID");
    sbi_expect(sbi0(EXT_BASE | (1ul << 32), 0), ERR_NOTSUP, "base EID with bit 32");
    static const u64 unimplemented[] = {EXT_CPPC, 0x09, 0x0f, 0x4e41434c, 0x0a000000, 0xffffffff};
    static const u64 implemented[] = {EXT_SUSP, EXT_FWFT, EXT_STA, EXT_PMU};
    for (unsigned i = 0; i < sizeof(implemented) / sizeof(implemented[0]); i++) {
        r = sbi1(EXT_BASE, 3, implemented[i]);
        check(r.error == 0 && r.value == 1, "probe %x: %d %u\n", implemented[i], r.error, r.value);
    }
    for (unsigned i = 0; i < sizeof(unimplemented) / sizeof(unimplemented[0]); i++) {
        r = sbi1(EXT_BASE, 3, unimplemented[i]);
        check(r.error == 0 && r.value == 0, "probe %x: %d %u\n", unimplemented[i], r.error,
              r.value);
        r = sbi0(unimplemented[i], 0);
        /* legacy EIDs 0x09..0x0f answer in a0 alone, as a negative code */
        check(r.error == ERR_NOTSUP, "EID %x: error %d, want -2\n", unimplemented[i], r.error);
    }
    /* TIME, IPI, RFENCE */
    sbi_expect(sbi0(EXT_TIME, 1), ERR_NOTSUP, "time fid 1");
    sbi_expect(sbi2(EXT_IPI, 0, 1, nharts), ERR_PARAM, "ipi to hart nharts");
    sbi_expect(sbi2(EXT_IPI, 0, 1ul << nharts, 0), ERR_PARAM, "ipi mask past the harts");
    sbi_expect(sbi2(EXT_IPI, 0, 0, ~0ul), 0, "ipi to all (base -1)");
    sbi_expect(sbi2(EXT_IPI, 0, 0, 12345), 0, "ipi with an empty mask");
    sbi_expect(sbi0(EXT_IPI, 1), ERR_NOTSUP, "ipi fid 1");
    sbi_expect(sbi2(EXT_RFENCE, 0, 1, 200), ERR_PARAM, "remote fence.i to hart 200");
    sbi_expect(sbi(EXT_RFENCE, 1, 1, 0, ~0ul - 10, 100, 0, 0), ERR_ADDR,
               "remote sfence.vma wrapping range");
    sbi_expect(sbi(EXT_RFENCE, 1, 0, ~0ul, 0, 0, 0, 0), 0, "remote sfence.vma everything");
    for (u64 fid = 3; fid <= 7; fid++)
        sbi_expect(sbi(EXT_RFENCE, fid, 1, 0, 0, 0, 0, 0), ERR_NOTSUP, "rfence hfence/unknown");
    /* SRST: refusals only (a success would end the test) */
    sbi_expect(sbi2(EXT_SRST, 0, 3, 0), ERR_PARAM, "srst type 3");
    sbi_expect(sbi2(EXT_SRST, 0, 0xeffffffful, 0), ERR_PARAM, "srst type 0xefffffff");
    sbi_expect(sbi2(EXT_SRST, 0, 0, 2), ERR_PARAM, "srst reason 2");
    sbi_expect(sbi2(EXT_SRST, 0, 1, 0xdffffffful), ERR_PARAM, "srst reason 0xdfffffff");
    sbi_expect(sbi2(EXT_SRST, 1, 0, 0), ERR_NOTSUP, "srst fid 1");
    /* DBCN */
    r = sbi3(EXT_DBCN, 0, sizeof(msg) - 1, (u64)msg, 0);
    check(r.error == 0 && r.value == sizeof(msg) - 1, "dbcn write: %d %u\n", r.error, r.value);
    sbi_expect(sbi3(EXT_DBCN, 0, 4, 0x1000, 0), ERR_PARAM, "dbcn write from below RAM");
    sbi_expect(sbi3(EXT_DBCN, 0, 4, UART_BASE, 0), ERR_PARAM, "dbcn write from the UART");
    sbi_expect(sbi3(EXT_DBCN, 0, 4, ram_end, 0), ERR_PARAM, "dbcn write from past RAM");
    sbi_expect(sbi3(EXT_DBCN, 0, 8, ram_end - 4, 0), ERR_PARAM, "dbcn write across RAM's end");
    sbi_expect(sbi3(EXT_DBCN, 0, 4, (u64)msg, 1), ERR_PARAM, "dbcn write with base_hi 1");
    sbi_expect(sbi3(EXT_DBCN, 0, ~0ul, (u64)msg, 0), ERR_PARAM, "dbcn write of 2^64-1 bytes");
    sbi_expect(sbi3(EXT_DBCN, 1, 4, 0x1000, 0), ERR_PARAM, "dbcn read into below RAM");
    sbi_expect(sbi3(EXT_DBCN, 1, 4, ram_end - 2, 0), ERR_PARAM, "dbcn read across RAM's end");
    r = sbi3(EXT_DBCN, 0, 0, 0x1000, 0);
    check(r.error == 0 && r.value == 0, "dbcn write of 0 bytes: %d %u\n", r.error, r.value);
    sbi_expect(sbi1(EXT_DBCN, 2, '\n'), 0, "dbcn write_byte");
    sbi_expect(sbi0(EXT_DBCN, 3), ERR_NOTSUP, "dbcn fid 3");
    /* HSM */
    sbi_expect(sbi3(EXT_HSM, 0, nharts, SCRATCH, 0), ERR_PARAM, "hart_start of hart nharts");
    sbi_expect(sbi3(EXT_HSM, 0, ~0ul, SCRATCH, 0), ERR_PARAM, "hart_start of hart -1");
    sbi_expect(sbi3(EXT_HSM, 0, 1ul << 32, SCRATCH, 0), ERR_PARAM, "hart_start of hart 2^32");
    r = sbi3(EXT_HSM, 0, 0, SCRATCH, 0);
    check(r.error == ERR_AVAIL || r.error == ERR_ADDR, "hart_start of myself: %d\n", r.error);
    sbi_expect(sbi1(EXT_HSM, 2, nharts), ERR_PARAM, "hart_get_status of hart nharts");
    r = sbi1(EXT_HSM, 2, 0);
    check(r.error == 0 && r.value == HSM_STARTED, "hart_get_status of myself: %d %u\n", r.error,
          r.value);
    sbi_expect(sbi3(EXT_HSM, 3, 0x12345, 0, 0), ERR_PARAM, "hart_suspend type 0x12345");
    sbi_expect(sbi3(EXT_HSM, 3, 0x7fffffff, 0, 0), ERR_PARAM, "hart_suspend type 0x7fffffff");
    sbi_expect(sbi3(EXT_HSM, 3, 0x80000001ul, SCRATCH, 0), ERR_PARAM,
               "hart_suspend type 0x80000001");
    static const u64 bad_resume[] = {0, 0x1000, UART_BASE, PLIC_BASE, SCRATCH + 1};
    for (unsigned i = 0; i < sizeof(bad_resume) / sizeof(bad_resume[0]); i++)
        sbi_expect(sbi3(EXT_HSM, 3, 0x80000000ul, bad_resume[i], 0), ERR_ADDR,
                   "non-retentive hart_suspend to a bad address");
    sbi_expect(sbi3(EXT_HSM, 3, 0x80000000ul, ram_end, 0), ERR_ADDR,
               "non-retentive hart_suspend to RAM's end");
    sbi_expect(suspend_until_timer(), 0, "retentive hart_suspend, woken by a timer");
    sbi_expect(sbi3(EXT_HSM, 3, 0x80000000u, bad_addr(), 0), ERR_ADDR,
               "non-retentive hart_suspend to a bad address");
    sbi_expect(sbi3(EXT_HSM, 3, 0x10000000u, 0, 0), ERR_PARAM, "platform-specific hart_suspend");
    /* SUSP, FWFT, STA */
    sbi_expect(sbi3(EXT_SUSP, 0, 1, RAM_BASE, 0), ERR_PARAM, "system suspend, reserved type");
    sbi_expect(sbi3(EXT_SUSP, 0, 0, bad_addr(), 0), ERR_ADDR, "system suspend to a bad address");
    r = sbi1(EXT_FWFT, 1, 0);
    check(r.error == 0 && r.value == 1, "fwft get misaligned delegation: %d %u\n", r.error,
          r.value);
    sbi_expect(sbi3(EXT_FWFT, 0, 0, 0, 0), ERR_DENIED, "fwft: misaligned delegation off");
    sbi_expect(sbi1(EXT_FWFT, 1, 6), ERR_DENIED, "fwft get of a reserved feature");
    sbi_expect(sbi3(EXT_STA, 0, RAM_BASE + 32, 0, 0), ERR_PARAM, "sta: shmem not 64-aligned");
    sbi_expect(sbi3(EXT_STA, 0, ram_end, 0, 0), ERR_ADDR, "sta: shmem outside RAM");
    sbi_expect(sbi3(EXT_STA, 0, ~0ul, ~0ul, 0), 0, "sta: off");
    sbi_expect(sbi0(EXT_HSM, 4), ERR_NOTSUP, "hsm fid 4");
    /* legacy */
    r = sbi0(2, 0);
    check(r.error >= -1 && r.error <= 255, "legacy getchar: %d\n", r.error);
    r = sbi1(4, 0, 0x1000); /* send_ipi with a hart mask pointer to nothing */
    check(r.error < 0 || self()->last_cause == 5, "legacy send_ipi, mask at 0x1000: %d\n", r.error);
    r = sbi1(5, 0, UART_BASE);
    check(r.error < 0 || self()->last_cause == 5, "legacy fence.i, mask in MMIO: %d\n", r.error);
}

/* Random calls. Only what would end the VM or this hart is steered away. */
static void sbi_garbage(unsigned n)
{
    static const u64 exts[] = {EXT_BASE, EXT_TIME, EXT_IPI,  EXT_RFENCE, EXT_HSM,     EXT_SRST,
                               EXT_DBCN, EXT_PMU,  EXT_SUSP, EXT_STA,    EXT_FWFT,    0,
                               1,        2,        3,        4,          5,           6,
                               7,        9,        0x0f,     0x11,       EXT_HSM ^ 1, 0x08000000};
    u64 bad = 0;

    for (unsigned i = 0; i < n; i++) {
        u64 ext = chance(85) ? exts[below(sizeof(exts) / sizeof(exts[0]))] : garbage();
        u64 fid = chance(80) ? below(8) : garbage();
        u64 a[6];
        for (unsigned k = 0; k < 6; k++)
            a[k] = garbage();
        if (ext == 8 || ext == EXT_SRST) {
            if (ext == 8)
                continue;                   /* legacy shutdown */
            a[0] = 3 + below(0xeffffff0ul); /* reserved reset types only */
        }
        if (ext == EXT_HSM) {
            if (fid == 1)
                fid = 2; /* hart_stop of this hart: no */
            if (fid == 0)
                a[1] = bad_addr();
            if (fid == 3 && (u32)a[0] == 0x80000000u)
                a[1] = bad_addr();
            if (fid == 3 && (u32)a[0] == 0)
                a[0] ^= 1; /* a retentive suspend with sie 0 would sleep for good */
        }
        if (ext == EXT_SUSP && (u32)a[0] == 0)
            a[1] = bad_addr(); /* a system suspend would resume at random */
        if (ext == EXT_STA && fid == 0 && a[0] != ~0ul && a[0] >= RAM_BASE && a[0] < ram_end)
            a[0] |= 32; /* no steal-time structure over the payload's memory */
        if (ext == EXT_FWFT && fid == 0 && (u32)a[0] == 4)
            a[0] ^= 5; /* hardware A/D updating would change the guest's paging */
        if (ext == EXT_DBCN && fid <= 1) {
            if (a[1] >= RAM_BASE &&
                a[1] < ram_end) /* keep RAM reads and writes small and in BUFS */
                a[1] = BUFS + below(BUFS_SIZE - 64);
            if (chance(50))
                a[0] = below(48);
        }
        if (ext == 1)
            a[0] = ' ' + below(95); /* legacy putchar: printable */
        struct sbiret r = sbi_checked(ext, fid, a);
        if (ext <= 8)
            continue; /* legacy: a0 alone, anything */
        int supported = ext == EXT_BASE || ext == EXT_TIME || ext == EXT_IPI || ext == EXT_RFENCE ||
                        ext == EXT_HSM || ext == EXT_SRST || ext == EXT_DBCN || ext == EXT_SUSP ||
                        ext == EXT_FWFT || ext == EXT_STA || ext == EXT_PMU;
        if (!supported && r.error != ERR_NOTSUP)
            bad++;
        if (r.error > 0 || r.error < ERR_LAST)
            bad++;
        if (ext == EXT_SRST)
            check(r.error == ERR_PARAM || r.error == ERR_NOTSUP,
                  "srst type %x reason %x fid %x: %d\n", a[0], a[1], fid, r.error);
        if (ext == EXT_HSM && fid == 0)
            check(r.error == ERR_PARAM || r.error == ERR_ADDR || r.error == ERR_AVAIL,
                  "hart_start %x at %x: %d\n", a[0], a[1], r.error);
    }
    check(bad == 0, "%u random SBI calls answered outside the spec's codes\n", bad);
}

/* Instructions VS mode may not execute (the H extension's, M mode's, M and
   H CSRs) are illegal instructions to it, whatever they reach on the way. */
static void privileged_checks(void)
{
    static const u32 insns[] = {
        0x22000073, /* hfence.vvma */
        0x62000073, /* hfence.gvma */
        0x6805c573, /* hlv.w a0, (a1) */
        0x6ea5c073, /* hsv.d a0, (a1) */
        0x6435c573, /* hlvx.hu a0, (a1) */
        0x30200073, /* mret */
        0x7b200073, /* dret */
        0x30002573, /* csrr a0, mstatus */
        0xf1402573, /* csrr a0, mhartid */
        0x60002573, /* csrr a0, hstatus */
        0x68051073, /* csrw hgatp, a0 */
        0x20002573, /* csrr a0, vsstatus */
        0x7c002573, /* csrr a0, 0x7c0 (custom) */
        0x34151073, /* csrw mepc, a0 */
        0xffffffff, /* reserved */
        0x0000000b, /* custom-0 */
    };
    struct hart *h = self();
    static u32 code[20] __attribute__((aligned(8)));
    for (unsigned i = 0; i < sizeof(insns) / sizeof(insns[0]); i++) {
        /* run it from a copy, with a0 and a1 pointing at scratch RAM */
        code[0] = insns[i];
        code[1] = 0x00008067; /* ret */
        asm volatile("fence.i" ::: "memory");
        u64 before = h->total;
        register u64 a0 asm("a0") = BUFS;
        register u64 a1 asm("a1") = BUFS;
        asm volatile("jalr ra, 0(%2)" : "+r"(a0), "+r"(a1) : "r"(code) : "ra", "memory");
        check(h->total == before + 1 && h->last_cause == 2,
              "instruction %x in VS: %u traps, cause %u\n", (u64)insns[i], h->total - before,
              h->last_cause);
    }
    u64 before = h->total;
    asm volatile("ebreak");
    check(h->total == before + 1 && h->last_cause == 3, "ebreak: cause %u\n", h->last_cause);
    asm volatile(".half 0"); /* the all-zeros instruction */
    check(h->total == before + 2 && h->last_cause == 2, "0x00000000: cause %u\n", h->last_cause);
}

/* A user program's SBI calls are its kernel's business: ecalls from U mode
   (cause 8) that never reach the SBI, even those that would stop the VM. */
static void user_checks(void)
{
    struct hart *h = self();
    u64 ecalls = h->traps[8], illegal = h->traps[2];
    hostile_user();
    check(h->traps[8] - ecalls == 6, "U-mode ecalls: %u of 6 reached the guest\n",
          h->traps[8] - ecalls);
    check(h->traps[2] - illegal >= 3 && h->traps[2] - illegal <= 4,
          "U-mode supervisor instructions: %u illegal-instruction traps\n", h->traps[2] - illegal);
    u64 before = h->total;
    (void)csr_read(sstatus);
    check(h->total == before, "not back in S mode after hostile_user\n");
}

/* A non-retentive suspend resumes at its address with a0 = hartid, a1 = opaque. */
static void suspend_check(u64 hartid)
{
    hostile_resumed[0] = hostile_resumed[1] = ~0ul;
    u64 sie = wake_timer_on(); /* what ends the suspend */
    long r = hostile_suspend(0x5eedf00dul);
    wake_timer_off(sie);
    check(r == 1 && hostile_resumed[0] == hartid && hostile_resumed[1] == 0x5eedf00dul,
          "non-retentive suspend: %d, resumed with a0 %x a1 %x\n", r, hostile_resumed[0],
          hostile_resumed[1]);
    check(!(csr_read(sstatus) & 2) && csr_read(satp) == 0, "resumed with sstatus %x satp %x\n",
          csr_read(sstatus), csr_read(satp));
}

/* ---- 2. HSM and the second hart ------------------------------------------------------- */

void hostile_secondary_entry(void);
void hostile_secondary(u64 hartid, u64 arg);
static void garbage_slice(unsigned n);
static void device_abuse(unsigned nrounds, int strict);

#define SLICE_QUICK 0x51 /* hart 1 stops at once */
#define SLICE_RUN   0x52 /* hart 1 runs a garbage slice, then stops */

void hostile_secondary(u64 hartid, u64 arg)
{
    struct hart *h = self();

    h->rng = mix(seed * 31 + hartid + arg);
    if (arg == SLICE_RUN) {
        garbage_slice(20000);
        /* then a second hostile driver on the same devices, alongside hart 0's */
        u64 t0 = now();
        while (!abuse_go && now() - t0 < 60 * TICKS_PER_SEC)
            ;
        device_abuse(rounds / 2, 0);
        sbi2(EXT_IPI, 0, 1, 0);
        sbi(EXT_RFENCE, 1, 1, 0, 0, 0, 0, 0);
        pr("hostile: hart %u: %u accesses, %u traps\n", hartid, h->accesses, h->total);
    } else {
        check(arg == SLICE_QUICK, "hart %u started with a1 = %x\n", hartid, arg);
    }
    while (!release)
        ;
    struct sbiret r = sbi0(EXT_HSM, 1);
    check(0, "hart_stop returned %d\n", r.error);
    for (;;)
        asm volatile("wfi");
}

/* Wait (60 s at most) for hart's status to become want. */
static int wait_status(u64 hart, u64 want)
{
    u64 t0 = now();
    struct sbiret r;
    do {
        r = sbi1(EXT_HSM, 2, hart);
        if (r.error == 0 && r.value == want)
            return 1;
    } while (now() - t0 < 60 * TICKS_PER_SEC);
    check(0, "hart %u stayed in status %u (error %d), want %u\n", hart, r.value, r.error, want);
    return 0;
}

static void hsm_bad_starts(void)
{
    u64 entry = (u64)hostile_secondary_entry;
    const u64 bad[] = {0,
                       0x1000,
                       PLIC_BASE,
                       UART_BASE,
                       VIRTIO_BASE,
                       0x20000000,
                       RAM_BASE - 2,
                       ram_end,
                       ram_end + 0x1000,
                       entry + 1,
                       ~0ul - 1,
                       1ul << 41,
                       entry | (1ul << 40)};

    for (u64 hart = 1; hart < nharts; hart++) {
        for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
            sbi_expect(sbi3(EXT_HSM, 0, hart, bad[i], SLICE_QUICK), ERR_ADDR,
                       "hart_start at a bad address");
        struct sbiret r = sbi1(EXT_HSM, 2, hart);
        check(r.error == 0 && r.value == HSM_STOPPED, "hart %u after bad starts: %d %u\n", hart,
              r.error, r.value);
    }
    if (nharts == 1)
        sbi_expect(sbi3(EXT_HSM, 0, 1, entry, 0), ERR_PARAM, "hart_start of hart 1 at smp 1");
}

static void hsm_start(u64 hart, u64 arg)
{
    release = 0;
    fence();
    struct sbiret r = sbi3(EXT_HSM, 0, hart, (u64)hostile_secondary_entry, arg);
    check(r.error == 0, "hart_start of hart %u: %d\n", hart, r.error);
    r = sbi3(EXT_HSM, 0, hart, (u64)hostile_secondary_entry, arg);
    check(r.error == ERR_AVAIL, "hart_start of a started hart %u: %d\n", hart, r.error);
    r = sbi1(EXT_HSM, 2, hart);
    check(r.error == 0 && r.value != HSM_STOPPED && r.value <= HSM_START_PENDING,
          "status of hart %u just started: %d %u\n", hart, r.error, r.value);
    fence();
    release = 1;
}

/* ---- 3. every window ------------------------------------------------------------------ */

struct window {
    const char *name;
    u64 base, size;
    int hole; /* nothing there: every access must fault */
};

static struct window windows[64];
static unsigned nwindows;

static void add_window(const char *name, u64 base, u64 size, int hole)
{
    if (nwindows < sizeof(windows) / sizeof(windows[0]))
        windows[nwindows++] = (struct window){name, base, size, hole};
}

static int slot_present[VIRTIO_SLOTS];

static void make_windows(void)
{
    add_window("low hole", 0, 0x1000, 1);
    add_window("test-device hole", 0x100000, 0x1000, 1);
    add_window("rtc hole", 0x101000, 0x1000, 1);
    add_window("clint hole", 0x2000000, 0x10000, 1);
    add_window("pci-pio hole", 0x3000000, 0x10000, 1);
    add_window("plic", PLIC_BASE, PLIC_SIZE, 0);
    add_window("after-plic hole", PLIC_BASE + PLIC_SIZE, 0x1000, 1);
    add_window("below-uart hole", UART_BASE - 0x1000, 0x1000, 1);
    add_window("uart", UART_BASE, 0x100, 0);
    add_window("uart-page hole", UART_BASE + 0x100, 0xf00, 1);
    for (unsigned s = 0; s < VIRTIO_SLOTS; s++)
        add_window(slot_present[s] ? "virtio" : "empty virtio slot", VIRTIO_BASE + s * 0x1000ul,
                   0x1000, !slot_present[s]);
    add_window("after-virtio hole", VIRTIO_BASE + VIRTIO_SLOTS * 0x1000ul, 0x1000, 1);
    add_window("boot-timer", BOOT_TIMER, 0x1000, 0);
    add_window("after-boot-timer hole", BOOT_TIMER + 0x1000, 0x1000, 1);
    add_window("flash hole", 0x20000000, 0x1000, 1);
    add_window("pcie-ecam hole", 0x30000000, 0x1000, 1);
    add_window("pcie-mmio hole", 0x40000000, 0x1000, 1);
    add_window("below-RAM hole", RAM_BASE - 0x1000, 0x1000, 1);
    add_window("above-RAM hole", ram_end, 0x1000, 1);
    add_window("high hole", 0x100000000ul, 0x1000, 1);
    add_window("top hole", ~0ul - 0xfff, 0x1000, 1);
}

/* Accesses of every op at offset off of w, stores with random values. */
static void poke(const struct window *w, u64 off, enum op op)
{
    u64 a = w->base + off;
    u64 v = op_stores(op) ? tame_store(a, garbage()) : 0x5a5a5a5a5a5a5a5aul;
    struct result r = try_access(a, op, v);

    if (!w->hole)
        return;
    /* Nothing lives there: a fault, and for a plain access the right cause and address.
       (Reaching past the window's page is allowed for the last bytes.) */
    check(r.trapped, "%s %x op %u: no fault\n", w->name, a, (u64)op);
    if (r.trapped && op < OP_PLAIN && op != OP_LW_X0 && (a & 0xfff) + op_width(op) <= 0x1000) {
        u64 want = op_stores(op) ? 7 : 5;
        check(r.cause == want && r.tval == a, "%s %x op %u: cause %u tval %x, want %u %x\n",
              w->name, a, (u64)op, r.cause, r.tval, want, a);
    }
}

/* Every offset of the first `every` bytes at every width (plain), the other
   ops at a sample of offsets, and `sample` random offsets with random ops. */
static void sweep(const struct window *w, u64 every, unsigned sample)
{
    if (every > w->size)
        every = w->size;
    for (u64 off = 0; off < every; off += off < 0x200 ? 1 : stride) {
        for (enum op op = OP_LB; op < OP_PLAIN; op++)
            poke(w, off, op);
        if (off % 8 == 0 || chance(10))
            poke(w, off, (enum op)(OP_PLAIN + below(OP_COUNT - OP_PLAIN)));
    }
    for (unsigned i = 0; i < sample; i++)
        poke(w, below(w->size), (enum op)below(OP_COUNT));
}

/* Addresses above RAM that equal a RAM address in their low bits must not
   reach RAM: a canary in scratch stays unchanged. */
static void alias_checks(void)
{
    volatile u64 *canary = (volatile u64 *)(BUFS + 0x1230);
    static const unsigned bits[] = {32, 33, 34, 35, 36, 38, 39, 40, 41, 42, 44, 46,
                                    47, 48, 49, 50, 51, 52, 56, 57, 60, 62, 63};

    *canary = 0x1122334455667788ul;
    for (unsigned i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        u64 a = (u64)canary | (1ul << bits[i]);
        for (enum op op = OP_LB; op < OP_COUNT; op++) {
            struct result r = try_access(a, op, 0xdeadbeefcafef00dul);
            check(r.trapped, "alias %x (RAM + 2^%u) op %u: no fault\n", a, (u64)bits[i], (u64)op);
        }
        try_fetch(a, "an alias of RAM");
    }
    check(*canary == 0x1122334455667788ul, "the canary under the aliases reads %x\n", *canary);
    /* RAM's last bytes, then across its end */
    struct result r = try_access(ram_end - 8, OP_LD, 0);
    check(!r.trapped, "a load of RAM's last 8 bytes faulted\n");
    r = try_access(ram_end - 4, OP_LD, 0);
    check(r.trapped && r.cause == 5, "a load across RAM's end: trapped %d cause %u\n",
          (i64)r.trapped, r.cause);
    r = try_access(ram_end - 2, OP_SW, 0);
    check(r.trapped && r.cause == 7, "a store across RAM's end: trapped %d cause %u\n",
          (i64)r.trapped, r.cause);
}

static void mmio_sweep(void)
{
    for (unsigned i = 0; i < nwindows; i++) {
        const struct window *w = &windows[i];
        if (w->base == PLIC_BASE) {
            /* priorities, pending, the first contexts' enables; each context's
               threshold and claim; then random offsets over the 4 MiB */
            struct window part = *w;
            sweep(&part, 0x2400, 2000);
            for (u64 ctx = 0; ctx < 2 * nharts + 2; ctx++) {
                part.base = PLIC_BASE + 0x200000 + ctx * 0x1000;
                part.size = 0x1000;
                sweep(&part, 16, 40);
            }
            continue;
        }
        sweep(w, w->hole ? 0x100 : (w->size > 0x1000 ? 0x1000 : w->size), w->hole ? 200 : 500);
        if (w->hole || w->base == UART_BASE || (w->base >= VIRTIO_BASE && w->base < BOOT_TIMER))
            try_fetch(w->base + 8 * below(w->size / 8), w->name);
    }
    try_fetch(PLIC_BASE, "plic");
    try_fetch(BOOT_TIMER, "boot-timer");
    alias_checks();
}

/* Random accesses anywhere in the windows (hart 1's slice). */
static void garbage_slice(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        const struct window *w = &windows[below(nwindows)];
        poke(w, below(w->size), (enum op)below(OP_COUNT));
    }
}

/* ---- 4. virtio devices: hostile drivers ----------------------------------------------- */

struct vq {
    u32 num;
    u64 desc, avail, used;
    u16 idx; /* next avail idx we publish */
    u16 seen;
};

struct vdev {
    u64 base;
    u32 id, slot, nq;
    u32 qmax[8];
    u64 offered;
    u8 mac[6]; /* virtio-net */
    struct vq q[8];
};

static struct vdev devs[VIRTIO_SLOTS];
static unsigned ndevs;

static void discover(void)
{
    for (unsigned s = 0; s < VIRTIO_SLOTS; s++) {
        u64 base = VIRTIO_BASE + s * 0x1000ul;
        struct result r = try_access(base + V_MAGIC, OP_LWU, 0);
        if (r.trapped || r.value != 0x74726976)
            continue;
        slot_present[s] = 1;
        check(r32(base + V_VERSION) == 2, "slot %u: version %u\n", (u64)s,
              (u64)r32(base + V_VERSION));
        u32 id = r32(base + V_DEVICE_ID);
        if (id == 0)
            continue;
        struct vdev *d = &devs[ndevs++];
        d->base = base;
        d->id = id;
        d->slot = s;
        w32(base + V_STATUS, 0);
        w32(base + V_DEV_FEAT_SEL, 0);
        d->offered = r32(base + V_DEV_FEATURES);
        w32(base + V_DEV_FEAT_SEL, 1);
        d->offered |= (u64)r32(base + V_DEV_FEATURES) << 32;
        for (d->nq = 0; d->nq < 8; d->nq++) {
            w32(base + V_QUEUE_SEL, d->nq);
            d->qmax[d->nq] = r32(base + V_QUEUE_NUM_MAX);
            if (!d->qmax[d->nq])
                break;
        }
        for (int i = 0; i < 6 && id == ID_NET; i++)
            d->mac[i] = (u8)try_access(base + V_CONFIG + i, OP_LBU, 0).value;
        pr("hostile: slot %u: device %u, %u queues, features %x\n", (u64)s, (u64)id, (u64)d->nq,
           d->offered);
    }
}

/* The 64 KiB of the ring area that belongs to (slot, queue). */
static u64 qarea(const struct vdev *d, u32 q)
{
    return RINGS + ((u64)d->slot * 8 + (q & 7)) * 0x10000ul;
}

static int in_rings(u64 a, u64 len)
{
    return a >= RINGS && len <= RINGS_SIZE && a - RINGS <= RINGS_SIZE - len;
}

/* A buffer of len bytes somewhere in BUFS. */
static u64 buf_at(u64 len)
{
    if (len > BUFS_SIZE)
        len = BUFS_SIZE;
    return BUFS + below(BUFS_SIZE - len + 1);
}

/* Addresses and lengths for descriptors: mostly sensible, often not. */
static u64 desc_addr(u64 len)
{
    switch (below(16)) {
    case 0: return 0;
    case 1: return UART_BASE + below(0x9000);
    case 2: return ram_end - below(64);
    case 3: return ram_end + below(1ul << 20);
    case 4: return ~0ul - below(64);
    case 5: return BUFS | (1ul << (32 + below(31)));
    case 6: return rnd();
    case 7: return PLIC_BASE + below(PLIC_SIZE);
    default: return buf_at(len < BUFS_SIZE ? len : 16);
    }
}

static u32 desc_len(void)
{
    static const u32 lens[] = {0,          1,          2,          15,        16,       17,
                               512,        513,        4096,       65536,     1u << 20, 16u << 20,
                               0x7fffffff, 0x80000000, 0xffffffff, 0xfffffff0};
    return chance(80) ? lens[below(sizeof(lens) / sizeof(lens[0]))] : (u32)rnd();
}

static void put_desc(u64 table, u32 i, u64 addr, u32 len, u16 flags, u16 next)
{
    volatile u8 *p = (volatile u8 *)(table + 16ul * i);
    *(volatile u64 *)p = addr;
    *(volatile u32 *)(p + 8) = len;
    *(volatile u16 *)(p + 12) = flags;
    *(volatile u16 *)(p + 14) = next;
}

/* A sector for a request header: at or above ZONE_LO, in range or not. */
static u64 blk_sector(u64 capacity)
{
    switch (below(8)) {
    case 0: return capacity;
    case 1: return capacity + below(1000);
    case 2: return capacity - 1;
    case 3: return ~0ul - below(4);
    case 4: return 1ul << (54 + below(10)); /* sector * 512 overflows */
    default: return capacity > ZONE_LO ? ZONE_LO + below(capacity - ZONE_LO) : capacity;
    }
}

static u64 blk_capacity(const struct vdev *d)
{
    return r32(d->base + V_CONFIG) | (u64)r32(d->base + V_CONFIG + 4) << 32;
}

/* An ARP request from 10.0.2.15 for 10.0.2.host at e: user networking answers
   for its host (2) and DNS (3) addresses, so frames come back while the
   driver is busy tearing the queues down. */
static void make_arp(volatile u8 *e, const u8 *mac, u8 host)
{
    static const u8 head[] = {0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1};
    static const u8 ips[] = {10, 0, 2, 15, 0, 0, 0, 0, 0, 0, 10, 0, 2, 2};
    for (int i = 0; i < 6; i++) {
        e[i] = 0xff;
        e[6 + i] = mac[i];
        e[22 + i] = mac[i];
    }
    for (unsigned i = 0; i < sizeof(head); i++)
        e[12 + i] = head[i];
    for (unsigned i = 0; i < sizeof(ips); i++)
        e[28 + i] = ips[i];
    e[41] = host;
}

/* A request header (blk) or a frame / event buffer: the first out buffer. */
static u64 make_header(const struct vdev *d, u32 q, u32 *len)
{
    u64 a;
    if (d->id == ID_BLOCK) {
        static const u32 types[] = {0, 1, 4, 8, 11, 13, 2, 0xffffffff};
        u64 cap = blk_capacity(d);
        a = buf_at(512);
        *(volatile u32 *)a = chance(90) ? types[below(8)] : (u32)rnd();
        *(volatile u32 *)(a + 4) = (u32)rnd();
        *(volatile u64 *)(a + 8) = blk_sector(cap);
        /* DISCARD / WRITE_ZEROES segments behind it, if the chain is read so */
        for (unsigned s = 0; s < 31; s++) {
            volatile u8 *seg = (volatile u8 *)(a + 16 + 16 * s);
            *(volatile u64 *)seg = blk_sector(cap);
            *(volatile u32 *)(seg + 8) = chance(50) ? (u32)below(64) : (u32)garbage();
            *(volatile u32 *)(seg + 12) = chance(70) ? (u32)below(2) : (u32)garbage();
        }
        *len = chance(70) ? 16 : (chance(50) ? 16 + 16 * (u32)below(32) : desc_len() & 0xfff);
        return a;
    }
    *len = chance(80) ? 12 + (u32)below(1514) : desc_len();
    if (d->id == ID_CONSOLE || (d->id == ID_INPUT && q == 1))
        *len &= 0xff; /* console output lands on duvisor's stdout: keep it short */
    a = buf_at(*len);
    u32 fill = *len < 64 ? *len : 64;
    for (u32 k = 0; k < fill; k += 4)
        *(volatile u32 *)(a + k) = (u32)rnd();
    if (d->id == ID_NET && fill >= 26) {
        *(volatile u64 *)a = 0; /* the virtio-net header, then an Ethernet frame */
        *(volatile u32 *)(a + 8) = 0;
        *(volatile u16 *)(a + 24) = chance(50) ? 0x0608 : 0x0008; /* ARP / IPv4, big endian */
        if (q == 1 && *len >= 12 + 42 && chance(40))
            make_arp((volatile u8 *)(a + 12), d->mac, chance(70) ? 2 : (u8)rnd());
    }
    return a;
}

static int device_writes(const struct vdev *d, u32 q)
{
    return (d->id == ID_NET && q == 0) || d->id == ID_RNG || (d->id == ID_CONSOLE && q == 0) ||
           (d->id == ID_INPUT && q == 0);
}

/* Mode A: chains that are well formed as chains (RAM, NEXT links, sane
   lengths) but wrong as requests: wrong directions, sizes, zero-length
   pieces, types, sectors; sometimes through an indirect table. */
static void fill_semantic(const struct vdev *d, u32 q, u64 table, u32 n, u64 itables)
{
    u32 i = 0;
    while (i < n) {
        u32 len, chain = 1 + (u32)below(chance(5) ? n : 6); /* a long one: past VIRTQ_MAX_SEGS */
        if (i + chain > n)
            chain = n - i;
        u64 tab = table;
        u32 base = i, count = chain;
        if (chance(15) && in_rings(itables, 16ul * 8)) {
            /* an indirect table holding the chain */
            tab = itables + 16ul * 8 * below(8);
            put_desc(table, i, tab, 16 * chain, D_INDIRECT | (chance(10) ? D_WRITE : 0), 0);
            base = 0;
            if (count > 8)
                count = 8;
        }
        for (u32 j = 0; j < count; j++) {
            u64 addr;
            u32 flags = j + 1 < count ? D_NEXT : 0;
            int last = j + 1 == count;
            if (j == 0 && !device_writes(d, q)) {
                addr = make_header(d, q, &len);
            } else {
                len = chance(70) ? (u32)(1 + below(chance(50) ? 16 : 4096)) : desc_len();
                if (d->id == ID_CONSOLE || (d->id == ID_INPUT && q == 1))
                    len &= 0xff;
                if (d->id == ID_BLOCK && last && chance(80))
                    len = 1; /* the status byte */
                addr = buf_at(len);
                if (device_writes(d, q) || (d->id == ID_BLOCK && j > 0))
                    flags |= chance(85) ? D_WRITE : 0;
                else
                    flags |= chance(15) ? D_WRITE : 0;
            }
            if (chance(5))
                len = 0;
            put_desc(tab, base + j, addr, len, (u16)flags, (u16)(base + j + 1));
        }
        i += chain;
    }
}

/* Mode B: anything: bad addresses, huge lengths, loops, links out of
   range, indirect tables inside indirect tables, unknown flags. */
static void fill_structural(const struct vdev *d, u64 table, u32 n, u64 itables, int depth)
{
    for (u32 i = 0; i < n; i++) {
        u32 len = desc_len();
        u64 addr = desc_addr(len);
        u16 flags = (u16)below(8);
        u16 next;
        if (chance(5))
            flags = (u16)rnd();
        switch (below(6)) {
        case 0: next = (u16)i; break;
        case 1: next = 0; break;
        case 2: next = (u16)(n + below(100)); break;
        case 3: next = (u16)rnd(); break;
        default: next = (u16)(i + 1); break;
        }
        if ((flags & D_INDIRECT) && chance(60) && in_rings(itables, 0x400)) {
            u32 entries = 1 + (u32)below(chance(80) ? 16 : 64);
            addr = itables + 0x400 * below(4);
            len = chance(70) ? 16 * entries : desc_len();
            if (depth < 2)
                fill_structural(d, addr, entries < 64 ? entries : 64, itables + 0x1000, depth + 1);
        }
        if (d->id == ID_CONSOLE && addr >= RAM_BASE && addr < ram_end)
            len &= 0xff;
        put_desc(table, i, addr, len, flags, next);
    }
}

/* Ring addresses: this queue's own area (well placed) or not. */
static u64 ring_addr(u64 own, u64 align)
{
    switch (below(12)) {
    case 0: return own + 1 + below(align > 1 ? align - 1 : 1); /* misaligned */
    case 1: return desc_addr(16);
    case 2: return ram_end - 8;
    case 3: return (RINGS + below(RINGS_SIZE)) & ~(align - 1); /* someone else's */
    default: return own;
    }
}

static u32 log2_of(u32 x)
{
    u32 n = 0;
    while (x > 1) {
        x >>= 1;
        n++;
    }
    return n;
}

static u32 queue_num(u32 max)
{
    switch (below(10)) {
    case 0: return 0;
    case 1: return max * 2;
    case 2: return 3 + (u32)below(max);
    case 3: return (u32)garbage();
    default: return 1u << below(log2_of(max) + 1);
    }
}

static void set_queue(const struct vdev *d, u32 q, struct vq *v)
{
    u64 b = d->base;
    w32(b + V_QUEUE_SEL, q);
    w32(b + V_QUEUE_NUM, v->num);
    w32(b + V_DESC_LO, (u32)v->desc);
    w32(b + V_DESC_HI, (u32)(v->desc >> 32));
    w32(b + V_DRIVER_LO, (u32)v->avail);
    w32(b + V_DRIVER_HI, (u32)(v->avail >> 32));
    w32(b + V_DEVICE_LO, (u32)v->used);
    w32(b + V_DEVICE_HI, (u32)(v->used >> 32));
}

/* One queue: size, rings, tables, a burst of available chains. */
static void hostile_queue(struct vdev *d, u32 q, int strict)
{
    struct vq *v = &d->q[q & 7];
    u32 max = q < d->nq ? d->qmax[q] : 256;
    u64 own = qarea(d, q);
    int mode = (int)below(3); /* 0 semantic, 1 structural, 2 ring */

    v->num = chance(85) ? 1u << below(log2_of(max) + 1) : queue_num(max);
    v->desc = chance(85) ? own : ring_addr(own, 16);
    v->avail = chance(85) ? own + 0x4000 : ring_addr(own + 0x4000, 2);
    v->used = chance(85) ? own + 0x8000 : ring_addr(own + 0x8000, 4);
    v->idx = 0;
    set_queue(d, q, v);

    u32 n = v->num <= 1024 ? v->num : 1024;
    if (in_rings(v->used, 6 + 8ul * n + 2))
        memset((void *)v->used, 0, 6 + 8ul * n + 2);
    if (in_rings(v->desc, 16ul * n)) {
        if (mode == 1)
            fill_structural(d, v->desc, n, own + 0xb000, 0);
        else
            fill_semantic(d, q, v->desc, n, own + 0xb000);
    }
    int valid = q < d->nq && v->num && v->num <= max && !(v->num & (v->num - 1)) &&
                v->desc % 16 == 0 && v->avail % 2 == 0 && v->used % 4 == 0 && v->desc >= RAM_BASE &&
                v->desc + 16ul * v->num <= ram_end && v->avail >= RAM_BASE &&
                v->avail + 6 + 2ul * v->num <= ram_end && v->used >= RAM_BASE &&
                v->used + 6 + 8ul * v->num <= ram_end;
    int enable = chance(95);
    if (enable)
        w32(d->base + V_QUEUE_READY, 1);
    u32 ready = r32(d->base + V_QUEUE_READY);
    if (strict && enable && valid && !(r32(d->base + V_STATUS) & S_NEEDS_RESET))
        check(ready == 1, "slot %u queue %u: a valid setup (num %u) did not become ready\n",
              (u64)d->slot, (u64)q, (u64)v->num);
    if (strict && q >= d->nq)
        check(ready == 0, "slot %u: queue %u past the last became ready\n", (u64)d->slot, (u64)q);

    if (!in_rings(v->avail, 6 + 2ul * n))
        return;
    volatile u16 *avail = (volatile u16 *)v->avail;
    avail[0] = chance(80) ? (u16)below(2) : (u16)rnd();
    u32 count = n ? 1 + (u32)below(n) : 0;
    for (u32 k = 0; k < count; k++)
        avail[2 + (v->idx + k) % (n ? n : 1)] =
            (u16)(mode == 2 && chance(30) ? rnd() : below(n ? n : 1));
    avail[2 + n] = (u16)rnd(); /* used_event */
    fence();
    if (mode == 2 && chance(60))
        v->idx = (u16)(chance(50) ? v->idx + n + 1 + below(100) : rnd());
    else
        v->idx = (u16)(v->idx + count);
    avail[1] = v->idx;
    fence();
}

static void kick_all(const struct vdev *d)
{
    for (u32 q = 0; q < d->nq + 2; q++)
        w32(d->base + V_QUEUE_NOTIFY, q);
    for (int i = 0; i < 3; i++)
        w32(d->base + V_QUEUE_NOTIFY, (u32)garbage());
}

static void ack_interrupts(const struct vdev *d)
{
    u32 isr = r32(d->base + V_INT_STATUS);
    w32(d->base + V_INT_ACK, chance(70) ? isr : (u32)garbage());
}

static void config_garbage(const struct vdev *d, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        u64 a = d->base + V_CONFIG + below(0x100);
        enum op op = (enum op)below(OP_PLAIN);
        access(a, op, garbage());
    }
}

/* One round of a hostile driver on d. strict: nobody else is touching the
   devices, so the transport's answers can be checked. */
static void abuse_round(struct vdev *d, int strict)
{
    u64 b = d->base;

    if (chance(80)) {
        w32(b + V_STATUS, 0);
        if (strict)
            check(r32(b + V_STATUS) == 0, "slot %u: status %x after a reset\n", (u64)d->slot,
                  (u64)r32(b + V_STATUS));
    }
    w32(b + V_STATUS, chance(90) ? S_ACK | S_DRIVER : (u32)garbage());

    /* features: a subset, or anything */
    u64 want;
    switch (below(4)) {
    case 0: want = rnd(); break;
    case 1: want = d->offered & rnd() & ~F_VERSION_1; break;
    case 2: want = (d->offered & rnd()) | F_VERSION_1 | (1ul << (33 + below(31))); break;
    default: want = (d->offered & rnd()) | F_VERSION_1; break;
    }
    w32(b + V_DEV_FEAT_SEL, (u32)garbage());
    (void)r32(b + V_DEV_FEATURES);
    w32(b + V_DRV_FEAT_SEL, 0);
    w32(b + V_DRV_FEATURES, (u32)want);
    w32(b + V_DRV_FEAT_SEL, 1);
    w32(b + V_DRV_FEATURES, (u32)(want >> 32));
    if (chance(10)) {
        u32 sel = (u32)garbage(), val = (u32)garbage();
        w32(b + V_DRV_FEAT_SEL, sel);
        w32(b + V_DRV_FEATURES, val);
        if (sel <= 1) /* what the driver now asks for */
            want = (want & ~(0xfffffffful << (32 * sel))) | (u64)val << (32 * sel);
    }
    u32 st = r32(b + V_STATUS);
    w32(b + V_STATUS, st | S_FEATURES_OK);
    u32 got = r32(b + V_STATUS);
    if (strict && st == (S_ACK | S_DRIVER)) {
        int acceptable = !(want & ~d->offered) && (want & F_VERSION_1);
        check(!!(got & S_FEATURES_OK) == acceptable,
              "slot %u: features %x (offered %x): FEATURES_OK %s\n", (u64)d->slot, want, d->offered,
              (got & S_FEATURES_OK) ? "kept" : "dropped");
    }
    if (chance(30)) {
        w32(b + V_STATUS, r32(b + V_STATUS) | S_DRIVER_OK); /* DRIVER_OK before the queues */
        if (strict && !(got & S_FEATURES_OK))
            check(!(r32(b + V_STATUS) & S_DRIVER_OK), "slot %u: DRIVER_OK without FEATURES_OK\n",
                  (u64)d->slot);
    }
    for (u32 q = 0; q < d->nq + 1; q++)
        hostile_queue(d, q, strict);
    if (chance(5)) {
        w32(b + V_QUEUE_SEL, (u32)garbage());
        w32(b + V_QUEUE_NUM, (u32)garbage());
        w32(b + V_QUEUE_READY, 1);
    }
    w32(b + V_STATUS, r32(b + V_STATUS) | S_DRIVER_OK);
    config_garbage(d, 20);
    kick_all(d);

    /* mid-flight: reset now (after a while), re-arm a live queue elsewhere, or let it run */
    switch (below(4)) {
    case 0:
        for (u64 spin = below(chance(50) ? 100 : 20000); spin; spin--)
            asm volatile("");
        w32(b + V_STATUS, 0);
        break;
    case 1: {
        u32 q = (u32)below(d->nq);
        w32(b + V_QUEUE_SEL, q);
        w32(b + V_QUEUE_READY, 0);
        hostile_queue(d, q, 0);
        kick_all(d);
        break;
    }
    default:
        for (int i = 0; i < 50; i++) {
            ack_interrupts(d);
            if (i % 10 == 0) {
                /* more work on the same rings: the index moves on */
                for (u32 q = 0; q < d->nq; q++) {
                    struct vq *v = &d->q[q];
                    if (in_rings(v->avail, 6) && v->num && v->num <= 1024) {
                        volatile u16 *avail = (volatile u16 *)v->avail;
                        avail[2 + v->idx % v->num] = (u16)below(v->num);
                        v->idx++;
                        fence();
                        avail[1] = v->idx;
                    }
                }
                kick_all(d);
            }
        }
        break;
    }
    ack_interrupts(d);
}

/* Every device line (the UART's, the virtio slots') at a random priority and
   enabled for this hart's context: the interrupt handler disables each as it
   fires, so this is done again before every device's round. */
static void plic_arm(void)
{
    u64 ctx = (u64)(self() - hostile_harts);
    for (u32 src = 1; src <= 16; src++)
        w32(PLIC_BASE + 4 * src, 1 + (u32)below(7));
    w32(PLIC_BASE + 0x2000 + ctx * 0x80, ~0u);
    w32(PLIC_BASE + 0x200000 + ctx * 0x1000, (u32)below(3));
}

static void device_abuse(unsigned nrounds, int strict)
{
    for (unsigned r = 0; r < nrounds; r++) {
        for (unsigned i = 0; i < ndevs; i++) {
            plic_arm();
            abuse_round(&devs[i], strict);
        }
    }
}

/* ---- 5. the devices, used properly ---------------------------------------------------- */

struct drv {
    struct vdev *d;
    u64 mem; /* this device's 64 KiB in VALID */
    struct vq q[2];
};

/* Reset and bring d up with VERSION_1 only and 16-entry queues in VALID. */
static int drv_init(struct drv *v, struct vdev *d, unsigned k)
{
    u64 b = d->base;
    v->d = d;
    v->mem = VALID + k * 0x10000ul;
    memset((void *)v->mem, 0, 0x10000);
    w32(b + V_STATUS, 0);
    check(r32(b + V_STATUS) == 0, "slot %u: status after reset %x\n", (u64)d->slot,
          (u64)r32(b + V_STATUS));
    w32(b + V_STATUS, S_ACK | S_DRIVER);
    w32(b + V_DRV_FEAT_SEL, 0);
    w32(b + V_DRV_FEATURES, 0);
    w32(b + V_DRV_FEAT_SEL, 1);
    w32(b + V_DRV_FEATURES, 1); /* VERSION_1 */
    w32(b + V_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK);
    if (!(r32(b + V_STATUS) & S_FEATURES_OK)) {
        check(0, "slot %u: VERSION_1 alone refused\n", (u64)d->slot);
        return 0;
    }
    for (u32 q = 0; q < d->nq && q < 2; q++) {
        struct vq *x = &v->q[q];
        x->num = 16;
        x->desc = v->mem + q * 0x1000;
        x->avail = x->desc + 0x100;
        x->used = x->desc + 0x200;
        x->idx = x->seen = 0;
        set_queue(d, q, x);
        w32(b + V_QUEUE_READY, 1);
        check(r32(b + V_QUEUE_READY) == 1, "slot %u queue %u: not ready after reset\n",
              (u64)d->slot, (u64)q);
    }
    w32(b + V_STATUS, S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
    u32 st = r32(b + V_STATUS);
    check(st == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK), "slot %u: status %x\n",
          (u64)d->slot, (u64)st);
    return st == (S_ACK | S_DRIVER | S_FEATURES_OK | S_DRIVER_OK);
}

/* Post the chain that starts at descriptor head of queue q and kick. */
static void drv_post(struct drv *v, u32 q, u16 head)
{
    struct vq *x = &v->q[q];
    volatile u16 *avail = (volatile u16 *)x->avail;
    avail[2 + x->idx % x->num] = head;
    fence();
    avail[1] = ++x->idx;
    fence();
    w32(v->d->base + V_QUEUE_NOTIFY, q);
}

/* Wait (secs at most) for the next used entry of queue q: its length, or -1. */
static i64 drv_wait(struct drv *v, u32 q, u64 secs)
{
    struct vq *x = &v->q[q];
    volatile u16 *used = (volatile u16 *)x->used;
    u64 t0 = now();
    while (used[1] == x->seen) {
        if (now() - t0 > secs * TICKS_PER_SEC)
            return -1;
    }
    fence();
    volatile u32 *elem = (volatile u32 *)(x->used + 4 + 8 * (x->seen % x->num));
    x->seen++;
    w32(v->d->base + V_INT_ACK, r32(v->d->base + V_INT_STATUS));
    return elem[1];
}

/* One request: header, then (unless data is 0) 512 bytes, then the status
   byte, which must come back as want. */
static int blk_req(struct drv *v, u32 type, u64 sector, u64 data, u8 want)
{
    u64 hdr = v->mem + 0x4000, status = hdr + 0x20;
    u16 n = 0;
    *(volatile u32 *)hdr = type;
    *(volatile u32 *)(hdr + 4) = 0;
    *(volatile u64 *)(hdr + 8) = sector;
    *(volatile u8 *)status = 0xff;
    put_desc(v->q[0].desc, n, hdr, 16, D_NEXT, (u16)(n + 1));
    n++;
    if (data) {
        put_desc(v->q[0].desc, n, data, 512, (u16)(D_NEXT | (type == 0 ? D_WRITE : 0)),
                 (u16)(n + 1));
        n++;
    }
    put_desc(v->q[0].desc, n, status, 1, D_WRITE, 0);
    drv_post(v, 0, 0);
    i64 len = drv_wait(v, 0, 20);
    u8 st = *(volatile u8 *)status;
    check(len >= 1, "blk request type %u sector %u: no completion\n", (u64)type, sector);
    check(st == want, "blk request type %u sector %u: status %u, want %u\n", (u64)type, sector,
          (u64)st, (u64)want);
    return len >= 1 && st == 0;
}

static void valid_blk(struct drv *v)
{
    u64 data = v->mem + 0x5000;
    u64 cap = blk_capacity(v->d);
    check(cap > ZONE_LO, "disk of %u sectors: hostile.sh makes bigger ones\n", cap);
    if (blk_req(v, 0, 0, data, 0))
        check(!memcmp((void *)data, DISK_MAGIC, sizeof(DISK_MAGIC) - 1),
              "sector 0 does not start with \"" DISK_MAGIC "\"\n");
    /* hostile.sh finds this sector on the host */
    struct buf b = {.n = 0};
    const char *s = "hostile wrote this, seed ";
    while (*s)
        put_c(&b, *s++);
    put_u(&b, seed, 10);
    put_c(&b, '\n');
    memset((void *)(data + 0x400), 0, 512);
    memcpy((void *)(data + 0x400), b.b, b.n);
    u64 sector = cap - 1;
    /* a read-only disk (hostile.ro=1) refuses the write with IOERR */
    check(!!(v->d->offered & (1ul << 5)) == !!readonly, "disk read-only feature: %x\n",
          v->d->offered);
    blk_req(v, 1, sector, data + 0x400, readonly ? 1 : 0);
    blk_req(v, 4, 0, 0, 0); /* flush */
    memset((void *)(data + 0x800), 0, 512);
    if (blk_req(v, 0, sector, data + 0x800, 0) && !readonly)
        check(!memcmp((void *)(data + 0x800), b.b, b.n), "sector %u read back differs\n", sector);
    pr("hostile: virtio-blk ok\n");
}

static void valid_rng(struct drv *v)
{
    u64 data = v->mem + 0x4000;
    memset((void *)data, 0, 64);
    put_desc(v->q[0].desc, 0, data, 64, D_WRITE, 0);
    drv_post(v, 0, 0);
    i64 len = drv_wait(v, 0, 10);
    u64 any = 0;
    for (int i = 0; i < 8; i++)
        any |= ((volatile u64 *)data)[i];
    check(len == 64 && any, "rng: used length %d, bytes %s\n", len, any ? "random" : "zero");

    /* Once more with its interrupt on, alone, through the vPLIC all that
       garbage went to: one external interrupt, claiming the entropy's line. */
    struct hart *h = self();
    u32 irq = 1 + v->d->slot;
    for (u32 w = 0; w < 4; w++)
        w32(PLIC_BASE + 0x2000 + 4 * w, 0);
    w32(PLIC_BASE + 4 * irq, 1);
    w32(PLIC_BASE + 0x200000, 0);
    w32(PLIC_BASE + 0x2000 + 4 * (irq / 32), 1u << (irq % 32));
    w32(PLIC_BASE + 0x200004, irq); /* a claim the garbage left open */
    for (int i = 0; i < 64; i++) {  /* and a request it left pending */
        u32 id = r32(PLIC_BASE + 0x200004);
        if (!id)
            break;
        w32(PLIC_BASE + 0x200004, id);
    }
    u64 before = h->irq_by[9];
    h->last_claim = 0;
    csr_write(sie, 0x200);
    asm volatile("csrs sstatus, %0" ::"r"(2ul));
    put_desc(v->q[0].desc, 1, data, 16, D_WRITE, 0);
    drv_post(v, 0, 1);
    for (u64 t0 = now(); h->irq_by[9] == before && now() - t0 < 10 * TICKS_PER_SEC;)
        ;
    interrupts_off();
    expected_irqs += h->irq_by[9] - before;
    check(h->irq_by[9] == before + 1 && h->last_claim == irq,
          "rng: %u external interrupts, the last claiming source %u, want 1 and %u\n",
          h->irq_by[9] - before, h->last_claim, (u64)irq);
    check(drv_wait(v, 0, 10) == 16, "rng: the second request did not come back\n");
    pr("hostile: virtio-rng ok\n");
}

static void valid_console(struct drv *v)
{
    static const char msg[] = "\nhostile: virtio-console ok\n";
    u64 data = v->mem + 0x4000;
    memcpy((void *)data, msg, sizeof(msg) - 1);
    put_desc(v->q[1].desc, 0, data, sizeof(msg) - 1, 0, 0);
    drv_post(v, 1, 0);
    check(drv_wait(v, 1, 10) >= 0, "virtio-console: output not returned\n");
}

static void valid_input(struct drv *v)
{
    u64 ev = v->mem + 0x4000;
    put_desc(v->q[0].desc, 0, ev, 8, D_WRITE, 0);
    drv_post(v, 0, 0);
    *(volatile u16 *)(ev + 0x100) = 0x11; /* EV_LED */
    *(volatile u16 *)(ev + 0x102) = 0;
    *(volatile u32 *)(ev + 0x104) = 1;
    put_desc(v->q[1].desc, 0, ev + 0x100, 8, 0, 0);
    drv_post(v, 1, 0);
    check(drv_wait(v, 1, 10) >= 0, "virtio-input: status event not returned\n");
    pr("hostile: virtio-input ok\n");
}

/* An ARP request for 10.0.2.2 (user networking's host): the reply must come. */
static void valid_net(struct drv *v)
{
    for (u16 i = 0; i < 8; i++)
        put_desc(v->q[0].desc, i, v->mem + 0x4000 + 0x800ul * i, 0x800, D_WRITE, 0);
    for (u16 i = 0; i < 8; i++)
        drv_post(v, 0, i);

    volatile u8 *f = (volatile u8 *)(v->mem + 0x8000);
    memset((void *)f, 0, 12 + 60);
    make_arp(f + 12, v->d->mac, 2);
    put_desc(v->q[1].desc, 0, (u64)f, 12 + 60, 0, 0);
    drv_post(v, 1, 0);
    check(drv_wait(v, 1, 10) >= 0, "virtio-net: transmit not returned\n");

    int found = 0;
    for (int tries = 0; tries < 8 && !found; tries++) {
        i64 len = drv_wait(v, 0, 10);
        if (len < 0)
            break;
        u16 head = *(volatile u16 *)(v->q[0].used + 4 + 8 * ((v->q[0].seen - 1) % v->q[0].num));
        volatile u8 *rx = (volatile u8 *)(v->mem + 0x4000 + 0x800ul * (head & 7)) + 12;
        found = len >= 12 + 42 && rx[12] == 0x08 && rx[13] == 0x06 && rx[21] == 2 && rx[28] == 10 &&
                rx[29] == 0 && rx[30] == 2 && rx[31] == 2;
    }
    check(found, "virtio-net: no ARP reply from 10.0.2.2\n");
    if (found)
        pr("hostile: virtio-net ok\n");
}

static void valid_uart(void)
{
    static const char msg[] = "\r\nhostile: uart ok\r\n";
    volatile u8 *u = (volatile u8 *)UART_BASE;
    u[3] = 0x03; /* LCR: 8N1, DLAB off */
    u[1] = 0;    /* IER */
    u[2] = 0x07; /* FCR: FIFO on, both cleared */
    u[4] = 0x03; /* MCR: no loopback */
    for (int i = 0; i < 64 && (u[5] & 1); i++)
        (void)u[0];
    for (const char *s = msg; *s; s++) {
        int spins = 0;
        while (!(u[5] & 0x20) && spins++ < 100000)
            ;
        check(u[5] & 0x20, "uart: THR never empty\n");
        u[0] = (u8)*s;
    }
}

static void valid_devices(void)
{
    struct drv v;
    for (unsigned i = 0; i < ndevs; i++) {
        if (!drv_init(&v, &devs[i], i))
            continue;
        switch (devs[i].id) {
        case ID_BLOCK: valid_blk(&v); break;
        case ID_RNG: valid_rng(&v); break;
        case ID_CONSOLE: valid_console(&v); break;
        case ID_NET: valid_net(&v); break;
        case ID_INPUT: valid_input(&v); break;
        }
        w32(devs[i].base + V_STATUS, 0);
    }
    valid_uart();
}

/* ---- main ----------------------------------------------------------------------------- */

void hostile_main(u64 hartid, u64 dtb);
void hostile_main(u64 hartid, u64 dtb)
{
    struct hart *h = self();
    parse_dtb(dtb);
    seed = arg_value("hostile.seed", 1);
    rounds = arg_value("hostile.rounds", 8);
    stride = arg_value("hostile.stride", 1);
    readonly = arg_value("hostile.ro", 0);
    if (stride == 0)
        stride = 1;
    h->rng = mix(seed);
    while (nharts < MAX_HARTS && sbi1(EXT_HSM, 2, nharts).error == 0)
        nharts++;
    pr("\nhostile: seed %u, boot hart %u of %u, RAM to %x, %u rounds\n", seed, hartid, nharts,
       ram_end, rounds);

    sbi_checks();
    privileged_checks();
    user_checks();
    suspend_check(hartid);
    interrupts_on(); /* from here to the last phase: random timers, IPIs, device lines */
    sbi_garbage(3000);
    hsm_bad_starts();
    pr("hostile: sbi done (%u failures)\n", failures);

    discover();
    make_windows();
    if (nharts > 1)
        hsm_start(1, SLICE_RUN);
    mmio_sweep();
    pr("hostile: windows done (%u failures, %u traps)\n", failures, h->total);
    abuse_go = 1;
    device_abuse(rounds / 2, 0);
    for (u64 hart = 1; hart < nharts; hart++) {
        wait_status(hart, HSM_STOPPED);
        hsm_start(hart, SLICE_QUICK);
        wait_status(hart, HSM_STOPPED);
    }
    device_abuse(rounds - rounds / 2, 1);
    sbi_garbage(500);
    interrupts_off();
    pr("hostile: devices abused (%u failures), interrupts taken: software %u, timer %u, "
       "external %u\n",
       failures, h->irq_by[1], h->irq_by[5], h->irq_by[9]);
    u64 irqs = h->irqs;

    valid_devices();
    check(h->irqs == irqs + expected_irqs, "%u interrupts with sie = 0\n",
          h->irqs - irqs - expected_irqs);

    u64 traps = h->total;
    for (unsigned i = 1; i < MAX_HARTS; i++)
        traps += hostile_harts[i].total;
    pr("hostile: traps by cause:");
    for (u64 c = 0; c < 64; c++)
        if (h->traps[c])
            pr(" %u:%u", c, h->traps[c]);
    pr("\n");
    if (failures)
        pr("hostile: %u checks failed\n", failures);
    pr("\nhostile: alive (seed %u, traps %u)\n", seed, traps);
    poweroff();
}
