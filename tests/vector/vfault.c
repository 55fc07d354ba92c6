/*
 * Accesses that cross into a page the hart test takes out of the G-stage
 * (SYS_LAZY: QEMU ignores it), so each faults in the middle, exits, has the
 * page mapped back and resumes from vstart; and a strlen with vle8ff whose
 * string ends just before an unmapped page (fault-only-first trims vl).
 */
#include "rt.h"

#define AREA 0x81100000ul

static void lazy(uintptr_t addr, size_t len)
{
    sys3(500, (long)addr, (long)len, 0);
}

static uint8_t out[1024];

static void show(const char *what, const void *p, size_t n)
{
    puts_(what);
    putch(' ');
    putbytes(p, n);
    putch('\n');
}

static size_t vstrlen(const char *s, uint64_t *first_vl)
{
    const char *p = s;
    *first_vl = 0;
    for (;;) {
        size_t vl;
        long idx;
        __asm__ volatile("vsetvli %0, zero, e8, m2, ta, ma\n"
                         "vle8ff.v v8, (%2)\n"
                         "csrr %0, vl\n"
                         "vmseq.vi v0, v8, 0\n"
                         "vfirst.m %1, v0\n"
                         : "=&r"(vl), "=&r"(idx)
                         : "r"(p)
                         : "memory");
        if (!*first_vl)
            *first_vl = vl;
        if (idx >= 0)
            return (size_t)(p - s) + (size_t)idx;
        p += vl;
    }
}

int main(void)
{
    uint8_t *a = map_fixed(AREA, 4 * 4096);
    for (unsigned i = 0; i < 4 * 4096; i++)
        a[i] = (uint8_t)(i * 7 + (i >> 8));
    uint8_t *edge = a + 4096; /* page 1 starts here */
    size_t vl;

    /* 1: vle8, 64 elements, 16 before the edge */
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e8, m4, ta, ma\nvle8.v v8, (%2)\nvs4r.v v8, (%3)"
                     : "=&r"(vl)
                     : "r"(64), "r"(edge - 16), "r"(out)
                     : "memory");
    show("vle8", out, 64);

    /* 2: vse32, 16 elements, 3 before the edge */
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e32, m2, ta, ma\nvid.v v8\nvse32.v v8, (%2)"
                     : "=&r"(vl)
                     : "r"(16), "r"(edge - 12)
                     : "memory");
    show("vse32", edge - 16, 80);

    /* 3: vlseg3e16: segment 5 straddles the edge */
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e16, m1, ta, ma\nvlseg3e16.v v8, (%2)\n"
                     "vs1r.v v8, (%3)\nvs1r.v v9, (%4)\nvs1r.v v10, (%5)"
                     : "=&r"(vl)
                     : "r"(8), "r"(edge - 32), "r"(out), "r"(out + 128), "r"(out + 256)
                     : "memory");
    show("vlseg3e16.0", out, 16);
    show("vlseg3e16.1", out + 128, 16);
    show("vlseg3e16.2", out + 256, 16);

    /* 4: vlse64 with stride 520 from 2 KiB before the edge */
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e64, m2, ta, ma\nvlse64.v v8, (%2), %3\nvs2r.v v8, (%4)"
                     : "=&r"(vl)
                     : "r"(6), "r"(edge - 2048), "r"(520), "r"(out)
                     : "memory");
    show("vlse64", out, 48);

    /* 5: vluxei32 with indices walking over the edge, masked */
    static uint32_t idx[8] = {4000, 4090, 4095, 4100, 8000, 12, 4096, 5000};
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e32, m1, ta, ma\nvle32.v v24, (%2)\n"
                     "li t0, 0xb7\nvmv.s.x v0, t0\nvmv.v.i v8, 0\n"
                     "vluxei32.v v8, (%3), v24, v0.t\nvse32.v v8, (%4)"
                     : "=&r"(vl)
                     : "r"(8), "r"(idx), "r"(a), "r"(out)
                     : "t0", "memory");
    show("vluxei32", out, 32);

    /* 6: a misaligned element across the edge (vle32 at edge - 6) */
    lazy(AREA + 4096, 4096);
    __asm__ volatile("vsetvli %0, %1, e32, m1, ta, ma\nvle32.v v8, (%2)\nvse32.v v8, (%3)"
                     : "=&r"(vl)
                     : "r"(4), "r"(edge - 6), "r"(out)
                     : "memory");
    show("vle32.misaligned", out, 16);

    /* 7: strlen over a string that ends 3 bytes before an unmapped page */
    uint8_t *s = map_fixed(AREA + 0x10000, 2 * 4096);
    unmap(AREA + 0x11000, 4096);
    for (unsigned len = 0; len < 200; len += 13) {
        char *str = (char *)s + 4096 - 3 - len;
        memset(str, 'x', len);
        str[len] = 0;
        uint64_t first_vl;
        size_t n = vstrlen(str, &first_vl);
        puts_("strlen ");
        putdec(len);
        putch(' ');
        putdec(n);
        putch('\n');
    }
    /* 8: vle8ff right at the edge: vl trimmed to the bytes before it */
    {
        size_t got;
        __asm__ volatile("vsetvli %0, %1, e8, m1, ta, ma\nvle8ff.v v8, (%2)\ncsrr %0, vl"
                         : "=&r"(got)
                         : "r"(32), "r"(s + 4096 - 5)
                         : "memory");
        puts_("vle8ff.vl ");
        putdec(got);
        putch('\n');
    }
    return 0;
}
