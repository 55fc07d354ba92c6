/*
 * A tiny runtime for the vector test programs: Linux syscalls (write, exit,
 * mmap, munmap), so the same binary runs under qemu-riscv64 user mode and on
 * duvisor's hart (tests/unit/test_vector.c answers the same ecalls).
 */
#ifndef VTEST_RT_H
#define VTEST_RT_H

#include <stddef.h>
#include <stdint.h>

static inline long sys3(long n, long a, long b, long c)
{
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static inline long sys6(long n, long a, long b, long c, long d, long e, long f)
{
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c;
    register long a3 __asm__("a3") = d, a4 __asm__("a4") = e, a5 __asm__("a5") = f;
    register long a7 __asm__("a7") = n;
    __asm__ volatile("ecall"
                     : "+r"(a0)
                     : "r"(a1), "r"(a2), "r"(a3), "r"(a4), "r"(a5), "r"(a7)
                     : "memory");
    return a0;
}

static char out_buf[4096];
static unsigned out_len;

static void flush(void)
{
    if (out_len)
        sys3(64, 1, (long)out_buf, out_len);
    out_len = 0;
}

static void putch(char c)
{
    if (out_len == sizeof(out_buf))
        flush();
    out_buf[out_len++] = c;
    if (c == '\n')
        flush();
}

static void puts_(const char *s)
{
    while (*s)
        putch(*s++);
}

static void puthex(uint64_t v, unsigned digits)
{
    for (int i = (int)digits - 1; i >= 0; i--)
        putch("0123456789abcdef"[(v >> (4 * i)) & 15]);
}

static void putdec(uint64_t v)
{
    char b[24];
    int n = 0;
    do {
        b[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        putch(b[--n]);
}

static void putbytes(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        puthex(b[i], 2);
}

static __attribute__((noreturn)) void exit_(int code)
{
    flush();
    sys3(93, code, 0, 0);
    for (;;)
        ;
}

/* Fixed anonymous mappings at addr (page-aligned). */
static void *map_fixed(uintptr_t addr, size_t len)
{
    return (void *)sys6(222, (long)addr, (long)len, 3 /* RW */, 0x32 /* PRIVATE|ANON|FIXED */,
                        -1, 0);
}

static void unmap(uintptr_t addr, size_t len)
{
    sys3(215, (long)addr, (long)len, 0);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

void *memset(void *d, int c, size_t n);
void *memset(void *d, int c, size_t n)
{
    volatile uint8_t *p = d;
    while (n--)
        *p++ = (uint8_t)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n);
void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *p = d;
    const uint8_t *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int main(void);

__attribute__((section(".text.start"), naked, noreturn)) void _start(void);
__attribute__((section(".text.start"), naked, noreturn)) void _start(void)
{
    __asm__ volatile(".option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
                     "andi sp, sp, -16\n"
                     "call vtest_main\n");
}

__attribute__((used, noreturn)) void vtest_main(void);
__attribute__((used, noreturn)) void vtest_main(void)
{
    exit_(main());
}

#endif
