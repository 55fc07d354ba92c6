/*
 * Hart-only test programs for instructions binutils 2.40 cannot assemble
 * (Zvbb, Zvbc, Zvk*): each instruction is an encoded word written to a
 * buffer and called (after fence.i), so one table drives every form, mask
 * bit and immediate. vrun() loads v8..v15 (vd), v16..v23 (vs2), v24..v31
 * (vs1) and v0 from memory, sets vtype, vl and vstart, runs the word with
 * a0 as its scalar operand and stores v8..v15 back. Illegal instructions
 * trap to vtrap, which counts them and skips the word.
 */
#ifndef VTEST_VINSN_H
#define VTEST_VINSN_H

#include <stdbool.h>

#include "rt.h"

#define VD  8
#define VS2 16
#define VS1 24
#define XA0 10 /* the scalar operand's register */

#define OP_V  0x57
#define OP_VE 0x77

uint64_t trapinfo[3]; /* last scause, a scratch slot, count */

__asm__(".align 4\n"
        "vtrap:\n"
        "csrw sscratch, t0\n"
        "la t0, trapinfo\n"
        "sd t1, 8(t0)\n"
        "csrr t1, scause\n"
        "sd t1, 0(t0)\n"
        "ld t1, 16(t0)\n"
        "addi t1, t1, 1\n"
        "sd t1, 16(t0)\n"
        "csrr t1, sepc\n"
        "addi t1, t1, 4\n"
        "csrw sepc, t1\n"
        "ld t1, 8(t0)\n"
        "csrr t0, sscratch\n"
        "sret\n");
extern char vtrap[];

static void vinsn_init(void)
{
    __asm__ volatile("csrw stvec, %0" ::"r"(vtrap));
}

static uint32_t enc(unsigned f6, unsigned vm, unsigned vs2, unsigned vs1, unsigned f3,
                    unsigned vd, unsigned opcode)
{
    return f6 << 26 | vm << 25 | vs2 << 20 | vs1 << 15 | f3 << 12 | vd << 7 | opcode;
}

/* vtype for SEW bits and log2 LMUL (-3..3), tail and mask undisturbed. */
static uint64_t vtype_of(unsigned sew_bits, int lmul)
{
    unsigned vsew = sew_bits == 8 ? 0 : sew_bits == 16 ? 1 : sew_bits == 32 ? 2 : 3;
    return vsew << 3 | (unsigned)(lmul & 7);
}

static unsigned vlenb_(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, vlenb" : "=r"(v));
    return (unsigned)v;
}

#define VBYTES (8 * 128) /* eight registers at VLEN 1024 */

struct vregs {
    uint8_t d[VBYTES], s2[VBYTES], s1[VBYTES], m[128];
};

static uint32_t insn_buf[2] __attribute__((aligned(8)));

/* Run word under (vtype, avl, vstart) on r; the number of traps it took. */
static uint64_t vrun(uint32_t word, uint64_t vtype, uint64_t avl, uint64_t vstart, uint64_t x,
                     struct vregs *r)
{
    insn_buf[0] = word;
    insn_buf[1] = 0x00008067; /* ret */
    __asm__ volatile("fence.i" ::: "memory");
    trapinfo[2] = 0;
    register uint64_t a0 __asm__("a0") = x;
    __asm__ volatile("vl8re8.v v8, (%[d])\n"
                     "vl8re8.v v16, (%[s2])\n"
                     "vl8re8.v v24, (%[s1])\n"
                     "vl1re8.v v0, (%[m])\n"
                     "vsetvl zero, %[avl], %[vt]\n"
                     "csrw vstart, %[vs]\n"
                     "jalr ra, 0(%[buf])\n"
                     "csrw vstart, zero\n" /* a trapped word leaves it set */
                     "vs8r.v v8, (%[d])\n"
                     : "+r"(a0)
                     : [d] "r"(r->d), [s2] "r"(r->s2), [s1] "r"(r->s1), [m] "r"(r->m),
                       [avl] "r"(avl), [vt] "r"(vtype), [vs] "r"(vstart), [buf] "r"(insn_buf)
                     : "memory", "ra");
    return trapinfo[2];
}

static uint64_t rd_elem(const uint8_t *p, uint64_t i, unsigned eb)
{
    uint64_t v = 0;
    for (unsigned k = 0; k < eb; k++)
        v |= (uint64_t)p[i * eb + k] << (8 * k);
    return v;
}

static void wr_elem(uint8_t *p, uint64_t i, unsigned eb, uint64_t v)
{
    for (unsigned k = 0; k < eb; k++)
        p[i * eb + k] = (uint8_t)(v >> (8 * k));
}

static bool same(const uint8_t *a, const uint8_t *b, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (a[i] != b[i])
            return false;
    return true;
}

static void line_u(const char *what, uint64_t v)
{
    puts_(what);
    putch(' ');
    putdec(v);
    putch('\n');
}

#endif
