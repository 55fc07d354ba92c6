/*
 * Hart only (QEMU 7.2 has no Zvbb/Zvbc): every Zvbb (with Zvkb) and Zvbc
 * instruction form against a reference computed here in C, on random
 * registers, at random SEW, LMUL, vl, vstart and with and without a mask;
 * tails, masked-off and prestart elements must stay as they were. Then the
 * reserved encodings, which must trap. test_vector.c runs it at every VLEN
 * and expects the lines it lists.
 */
#include "vinsn.h"

enum form { VV, VX, VI, V }; /* V: unary, vs1 is an opcode extension */

struct op {
    const char *name;
    unsigned f6, form, imm; /* imm: vs1 field for .vi and unary forms */
    unsigned sews;          /* bit k: SEW 8 << k allowed */
    bool widen;
};

static const struct op ops[] = {
    {"vandn.vv", 0x01, VV, 0, 15, false},  {"vandn.vx", 0x01, VX, 0, 15, false},
    {"vrol.vv", 0x15, VV, 0, 15, false},   {"vrol.vx", 0x15, VX, 0, 15, false},
    {"vror.vv", 0x14, VV, 0, 15, false},   {"vror.vx", 0x14, VX, 0, 15, false},
    {"vror.vi3", 0x14, VI, 3, 15, false},  {"vror.vi45", 0x15, VI, 13, 15, false},
    {"vbrev.v", 0x12, V, 10, 15, false},   {"vbrev8.v", 0x12, V, 8, 15, false},
    {"vrev8.v", 0x12, V, 9, 15, false},    {"vclz.v", 0x12, V, 12, 15, false},
    {"vctz.v", 0x12, V, 13, 15, false},    {"vcpop.v", 0x12, V, 14, 15, false},
    {"vwsll.vv", 0x35, VV, 0, 7, true},    {"vwsll.vx", 0x35, VX, 0, 7, true},
    {"vwsll.vi5", 0x35, VI, 5, 7, true},   {"vwsll.vi27", 0x35, VI, 27, 7, true},
    {"vclmul.vv", 0x0c, VV, 0, 8, false},  {"vclmul.vx", 0x0c, VX, 0, 8, false},
    {"vclmulh.vv", 0x0d, VV, 0, 8, false}, {"vclmulh.vx", 0x0d, VX, 0, 8, false},
};

static bool is_opm(const struct op *o)
{
    return o->form == V || o->f6 == 0x0c || o->f6 == 0x0d;
}

static unsigned f3_of(const struct op *o)
{
    switch (o->form) {
    case VV: return is_opm(o) ? 2 : 0;
    case VX: return is_opm(o) ? 6 : 4;
    case VI: return 3;
    default: return 2;
    }
}

static uint64_t mask_bits(unsigned bits)
{
    return bits == 64 ? ~0ull : (1ull << bits) - 1;
}

/* The reference, written plainly (bit by bit where that is clearest). */
static uint64_t ref(const struct op *o, uint64_t a, uint64_t b, unsigned bits)
{
    uint64_t m = mask_bits(bits), r = 0;
    unsigned n;
    switch (o->f6) {
    case 0x01: return a & ~b & m;
    case 0x15:
        if (o->form == VI)
            break; /* vror.vi with uimm[5] set */
        n = (unsigned)(b % bits);
        for (unsigned k = 0; k < bits; k++)
            r |= ((a >> k) & 1) << ((k + n) % bits);
        return r;
    case 0x35: n = (unsigned)(b % (2 * bits)); return (a << n) & mask_bits(2 * bits);
    case 0x0c:
        for (unsigned k = 0; k < 64; k++)
            if ((b >> k) & 1)
                r ^= a << k;
        return r;
    case 0x0d:
        for (unsigned k = 1; k < 64; k++)
            if ((b >> k) & 1)
                r ^= a >> (64 - k);
        return r;
    case 0x12:
        switch (o->imm) {
        case 10:
            for (unsigned k = 0; k < bits; k++)
                r |= ((a >> k) & 1) << (bits - 1 - k);
            return r;
        case 8:
            for (unsigned k = 0; k < bits; k++)
                r |= ((a >> k) & 1) << ((k & ~7u) + 7 - (k & 7));
            return r;
        case 9:
            for (unsigned k = 0; k < bits / 8; k++)
                r |= ((a >> (8 * k)) & 0xff) << (bits - 8 - 8 * k);
            return r;
        case 12:
            n = 0;
            while (n < bits && !((a >> (bits - 1 - n)) & 1))
                n++;
            return n;
        case 13:
            n = 0;
            while (n < bits && !((a >> n) & 1))
                n++;
            return n;
        default:
            for (unsigned k = 0; k < bits; k++)
                r += (a >> k) & 1;
            return r;
        }
    }
    /* vror */
    n = (unsigned)(b % bits);
    for (unsigned k = 0; k < bits; k++)
        r |= ((a >> k) & 1) << ((k + bits - n) % bits);
    return r;
}

static struct vregs regs, expect;

static void fill(uint8_t *p, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)rnd();
}

/* Some elements zero, some all ones, for clz/ctz/cpop's edges. */
static void sprinkle(uint8_t *p, unsigned eb, unsigned n)
{
    for (unsigned i = 0; i + eb <= n; i += eb) {
        unsigned c = (unsigned)(rnd() % 8);
        if (c == 0)
            memset(p + i, 0, eb);
        else if (c == 1)
            memset(p + i, 0xff, eb);
    }
}

static unsigned bad_cases;

static void check_op(const struct op *o, unsigned vlenb)
{
    unsigned bad = 0;
    for (unsigned t = 0; t < 24; t++) {
        unsigned k;
        do
            k = (unsigned)(rnd() % 4);
        while (!((o->sews >> k) & 1));
        unsigned bits = 8u << k, eb = bits / 8;
        int lmul_max = o->widen ? 2 : 3, lmul;
        do
            lmul = (int)(rnd() % 7) - 3;
        while (lmul > lmul_max || (lmul < 0 && bits > (64u >> -lmul)));
        uint64_t vlmax = lmul >= 0 ? (8ull * vlenb << lmul) / bits : (8ull * vlenb >> -lmul) / bits;
        uint64_t vl = rnd() % (vlmax + 1), vstart = rnd() % 3 ? 0 : rnd() % (vl + 1);
        if (t == 0)
            vl = vlmax, vstart = 0;
        unsigned vm = (unsigned)(rnd() & 1);
        uint64_t x = rnd();
        fill(regs.d, VBYTES);
        fill(regs.s2, VBYTES);
        fill(regs.s1, VBYTES);
        fill(regs.m, sizeof regs.m);
        sprinkle(regs.s2, eb, VBYTES);
        expect = regs;
        unsigned db = o->widen ? 2 * eb : eb;
        for (uint64_t i = vstart; i < vl; i++) {
            if (!vm && !((regs.m[i / 8] >> (i % 8)) & 1))
                continue;
            uint64_t a = rd_elem(regs.s2, i, eb);
            uint64_t b = o->form == VV ? rd_elem(regs.s1, i, eb)
                         : o->form == VX ? x & mask_bits(bits)
                                         : o->imm | (o->f6 == 0x15 ? 32u : 0u);
            wr_elem(expect.d, i, db, ref(o, a, b, bits));
        }
        uint32_t w = enc(o->f6, vm, VS2, o->form == VX ? XA0 : o->form == VV ? VS1 : o->imm,
                         f3_of(o), VD, OP_V);
        uint64_t traps = vrun(w, vtype_of(bits, lmul), vl, vstart, x, &regs);
        if (traps || !same(regs.d, expect.d, VBYTES)) {
            if (!bad) {
                puts_(o->name);
                puts_(": e");
                putdec(bits);
                puts_(" lmul ");
                putdec((uint64_t)(lmul + 3));
                puts_("-3 vl ");
                putdec(vl);
                puts_(" vstart ");
                putdec(vstart);
                puts_(" vm ");
                putdec(vm);
                puts_(" traps ");
                putdec(traps);
                putch('\n');
            }
            bad++;
        }
    }
    line_u(o->name, bad);
    bad_cases += bad;
}

/* A word that must trap (or not), with what it needs set up. */
static void try_word(const char *what, uint32_t w, unsigned sew_bits, int lmul, uint64_t vl)
{
    uint64_t traps = vrun(w, vtype_of(sew_bits, lmul), vl, 0, 1, &regs);
    puts_(what);
    putch(' ');
    putdec(traps);
    putch(' ');
    putdec(traps ? trapinfo[0] : 0);
    putch('\n');
}

int main(void)
{
    vinsn_init();
    unsigned vlenb = vlenb_();
    for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++)
        check_op(&ops[i], vlenb);
    line_u("total.bad", bad_cases);

    /* reserved encodings */
    try_word("vclmul.e32", enc(0x0c, 1, VS2, VS1, 2, VD, OP_V), 32, 0, 4);
    try_word("vclmulh.e8", enc(0x0d, 1, VS2, XA0, 6, VD, OP_V), 8, 0, 4);
    try_word("vwsll.e64", enc(0x35, 1, VS2, VS1, 0, VD, OP_V), 64, 0, 2);
    try_word("vwsll.m8", enc(0x35, 1, VS2, VS1, 0, VD, OP_V), 8, 3, 4);
    try_word("vwsll.vd.odd", enc(0x35, 1, VS2, VS1, 0, 9, OP_V), 16, 0, 4);
    try_word("vwsll.overlap.low", enc(0x35, 1, 8, VS1, 0, VD, OP_V), 16, 0, 4);
    try_word("vwsll.overlap.high", enc(0x35, 1, 9, VS1, 0, VD, OP_V), 16, 0, 4);
    try_word("vandn.vi", enc(0x01, 1, VS2, 3, 3, VD, OP_V), 8, 0, 4);
    try_word("vrol.masked.v0", enc(0x15, 0, VS2, VS1, 0, 0, OP_V), 8, 0, 4);
    try_word("vror.misaligned", enc(0x14, 1, 17, VS1, 0, VD, OP_V), 8, 1, 4);
    try_word("vxunary0.11", enc(0x12, 1, VS2, 11, 2, VD, OP_V), 32, 0, 4);
    try_word("vxunary0.15", enc(0x12, 1, VS2, 15, 2, VD, OP_V), 32, 0, 4);
    try_word("vclz.vx", enc(0x12, 1, VS2, 12, 6, VD, OP_V), 32, 0, 4);
    try_word("vcpop.ok", enc(0x12, 1, VS2, 14, 2, VD, OP_V), 32, 0, 4);
    return 0;
}
