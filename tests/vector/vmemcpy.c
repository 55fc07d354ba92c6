/* memcpy/memset with vle8/vse8 at every LMUL, lengths 0..300, and a sum. */
#include "rt.h"

static uint8_t src[4096], dst[4096];

#define VCOPY(LMUL)                                                                                \
    static void copy_##LMUL(uint8_t *d, const uint8_t *s, size_t n)                               \
    {                                                                                              \
        while (n) {                                                                                \
            size_t vl;                                                                             \
            __asm__ volatile("vsetvli %0, %1, e8, " #LMUL ", ta, ma\n"                             \
                             "vle8.v v8, (%2)\n"                                                   \
                             "vse8.v v8, (%3)\n"                                                   \
                             : "=&r"(vl)                                                           \
                             : "r"(n), "r"(s), "r"(d)                                              \
                             : "memory");                                                          \
            n -= vl;                                                                               \
            s += vl;                                                                               \
            d += vl;                                                                               \
        }                                                                                          \
    }
VCOPY(mf8)
VCOPY(mf4)
VCOPY(mf2)
VCOPY(m1)
VCOPY(m2)
VCOPY(m4)
VCOPY(m8)

typedef void (*copy_fn)(uint8_t *, const uint8_t *, size_t);

static uint64_t sum_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

int main(void)
{
    copy_fn fns[] = {copy_mf8, copy_mf4, copy_mf2, copy_m1, copy_m2, copy_m4, copy_m8};
    for (unsigned i = 0; i < sizeof(src); i++)
        src[i] = (uint8_t)rnd();
    for (unsigned f = 0; f < 7; f++) {
        for (size_t n = 0; n < 300; n += 7) {
            memset(dst, 0xa5, sizeof(dst));
            unsigned so = (unsigned)(rnd() % 64), doff = (unsigned)(rnd() % 64);
            fns[f](dst + doff, src + so, n);
            puts_("copy ");
            putdec(f);
            putch(' ');
            putdec(n);
            putch(' ');
            puthex(sum_bytes(dst, 512), 16);
            putch('\n');
        }
    }
    return 0;
}
