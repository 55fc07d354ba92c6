/*
 * Every vector load and store form (unit-stride, strided, indexed ordered and
 * unordered, segments nf 2..8 of each, fault-only-first, whole-register,
 * mask) at random legal SEW/LMUL, vl, masks, strides and indices: a hash of
 * the register file after a load, of the memory around the access after a
 * store.
 */
#include "rt.h"

#define AREA   0x81200000ul
#define WINDOW (AREA + 12 * 1024)
#define WLEN   (10 * 1024)

static uint8_t regs[32 * 128] __attribute__((aligned(64)));
static uint64_t vlenb;

struct op {
    const char *name;
    void (*fn)(long, long);
    int kind, e, nf, ie, store;
};

#define T(id, text)                                                                                \
    static void id(long base, long stride)                                                         \
    {                                                                                              \
        register long a0 __asm__("a0") = base, a1 __asm__("a1") = stride;                          \
        __asm__ volatile(text ::"r"(a0), "r"(a1) : "memory");                                      \
    }
#include "vmem_ops.h"

static void load_all(void)
{
    __asm__ volatile("vl8re8.v v0, (%0)\nvl8re8.v v8, (%1)\nvl8re8.v v16, (%2)\nvl8re8.v v24, (%3)\n"
                     ::"r"(regs), "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb),
                     "r"(regs + 24 * vlenb)
                     : "memory");
}

static void store_all(void)
{
    __asm__ volatile("vs8r.v v0, (%0)\nvs8r.v v8, (%1)\nvs8r.v v16, (%2)\nvs8r.v v24, (%3)\n"
                     ::"r"(regs), "r"(regs + 8 * vlenb), "r"(regs + 16 * vlenb),
                     "r"(regs + 24 * vlenb)
                     : "memory");
}

static uint64_t hash(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int log2i(unsigned v)
{
    int n = 0;
    while (v > 1) {
        v >>= 1;
        n++;
    }
    return n;
}

/* A random SEW (log2 bytes) and LMUL (log2) the form accepts. */
static void pick_vtype(const struct op *o, unsigned *sew, int *lmul)
{
    for (;;) {
        *sew = (unsigned)(rnd() % 4);
        *lmul = (int)(rnd() % 7) - 3;
        if (*lmul < 0 && (8u << *sew) > (64u >> -*lmul))
            continue;
        if (o->kind == 3 || o->kind == 4)
            return;
        int emul = o->kind == 2 ? *lmul : log2i((unsigned)o->e / 8) - (int)*sew + *lmul;
        if (emul < -3 || emul > 3 || o->nf * (emul > 0 ? 1 << emul : 1) > 8)
            continue;
        if (o->kind == 2) {
            int iemul = log2i((unsigned)o->ie / 8) - (int)*sew + *lmul;
            if (iemul < -3 || iemul > 3)
                continue;
        }
        return;
    }
}

int main(void)
{
    __asm__ volatile("csrr %0, vlenb" : "=r"(vlenb));
    uint8_t *area = map_fixed(AREA, 64 * 1024);
    for (unsigned i = 0; i < 64 * 1024; i++)
        area[i] = (uint8_t)rnd();
    unsigned n = 0;
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
            const struct op *o = &ops[k];
            unsigned sew;
            int lmul;
            pick_vtype(o, &sew, &lmul);
            unsigned eb = 1u << sew, ib = (unsigned)o->ie / 8;
            uint64_t vlmax = lmul >= 0 ? (vlenb << lmul) >> sew : (vlenb >> -lmul) >> sew;
            uint64_t avl = rnd() % (vlmax + 2);
            if (o->kind == 1 && avl > 16)
                avl = rnd() % 17;
            for (unsigned i = 0; i < sizeof(regs); i++)
                regs[i] = (uint8_t)rnd();
            if (o->kind == 2) /* indices: small, aligned to the data element */
                for (unsigned i = 24 * vlenb; i < 32 * vlenb; i += ib) {
                    uint64_t v = rnd() & 0x7ff & ~(uint64_t)(eb - 1);
                    memcpy(&regs[i], &v, ib);
                }
            load_all();
            unsigned align = o->kind == 2 ? eb : (unsigned)o->e / 8;
            long base = (long)(AREA + 16 * 1024 + ((rnd() % 2048) & ~(uint64_t)(align - 1)));
            long stride = ((long)(rnd() % 5) - 2) * o->nf * (o->e / 8 ? o->e / 8 : 1);
            uint64_t vtype = (uint64_t)(lmul & 7) | sew << 3, vl;
            __asm__ volatile("vsetvl %0, %1, %2" : "=r"(vl) : "r"(avl), "r"(vtype));
            o->fn(base, stride);
            __asm__ volatile("csrr %0, vl" : "=r"(vl));
            uint64_t h;
            if (o->store) {
                h = hash((const uint8_t *)WINDOW, WLEN);
            } else {
                store_all();
                h = hash(regs, 32 * vlenb);
            }
            puts_(o->name);
            putch(' ');
            putdec(8u << sew);
            putch(' ');
            putdec((uint64_t)(lmul + 3));
            putch(' ');
            putdec(vl);
            putch(' ');
            puthex(h, 16);
            putch('\n');
            n++;
        }
    }
    puts_("done ");
    putdec(n);
    putch('\n');
    return 0;
}
