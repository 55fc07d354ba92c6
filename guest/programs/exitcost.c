/*
 * exitcost: what it costs the guest to reach the hypervisor, per operation.
 * User mode cannot make SBI calls itself, so each case is a user-visible
 * operation whose cost is, on duvisor, dominated by one VM exit, and on QEMU
 * by the matching slow path of its emulator:
 *
 *   getppid   a system call the guest kernel answers alone: no exit on
 *             duvisor, no device on QEMU. The baseline: guest-internal
 *             trap cost.
 *   uart-scr  a 1-byte load from the UART's scratch register (SCR, offset 7,
 *             no side effects), mapped through /dev/mem: one MMIO exit to
 *             the hypervisor's device model on duvisor, one MMIO dispatch
 *             through QEMU's memory API (under its I/O lock) on QEMU.
 *   sbi-putc  bytes written to /dev/hvc0, whose driver makes one SBI v0.1
 *             console_putchar call per byte: an ecall exit handled by
 *             duvisor's SBI, or a trap into OpenSBI (M mode) which drives
 *             the emulated UART on QEMU. Both then write the byte to the
 *             host console, so this includes a host write(2) per byte.
 *
 *   exitcost [N]    N operations per case (default 200000; sbi-putc does N/10)
 *
 * Prints "exitcost: CASE N ns/op X" per case, after an untimed warm-up.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UART_BASE 0x10000000ul /* QEMU virt and duvisor alike */
#define UART_SCR  7

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void report(const char *name, unsigned long n, double ns)
{
    printf("exitcost: %-8s %lu ns/op %.1f\n", name, n, ns / n);
    fflush(stdout);
}

static void bench_getppid(unsigned long n)
{
    for (unsigned long i = 0; i < n / 10; i++)
        syscall(SYS_getppid);
    double t0 = now_ns();
    for (unsigned long i = 0; i < n; i++)
        syscall(SYS_getppid); /* not getppid(): no libc may answer it from a cache */
    report("getppid", n, now_ns() - t0);
}

static int bench_uart(unsigned long n)
{
    int fd = open("/dev/mem", O_RDWR | O_SYNC);
    if (fd < 0) {
        perror("exitcost: /dev/mem (needs CONFIG_DEVMEM)");
        return 1;
    }
    volatile uint8_t *uart = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, UART_BASE);
    close(fd);
    if (uart == MAP_FAILED) {
        perror("exitcost: mmap of the UART");
        return 1;
    }
    for (unsigned long i = 0; i < n / 10; i++)
        (void)uart[UART_SCR]; /* a volatile read: it happens */
    double t0 = now_ns();
    for (unsigned long i = 0; i < n; i++)
        (void)uart[UART_SCR]; /* a volatile read: it happens */
    double ns = now_ns() - t0;
    munmap((void *)uart, 4096);
    report("uart-scr", n, ns);
    return 0;
}

/* One write per chunk; the hvc driver turns every byte into an SBI call. */
static int bench_sbi_putc(unsigned long n)
{
    int fd = open("/dev/hvc0", O_WRONLY | O_NOCTTY);
    if (fd < 0) {
        perror("exitcost: /dev/hvc0 (needs CONFIG_HVC_RISCV_SBI)");
        return 1;
    }
    static char spaces[4096];
    memset(spaces, ' ', sizeof(spaces));
    /* The spaces land on the host console, on a line of their own. */
    if (write(fd, "\n", 1) != 1)
        return 1;
    unsigned long warm = n / 10, done = 0;
    while (done < warm) {
        ssize_t k = write(fd, spaces, warm - done < sizeof(spaces) ? warm - done : sizeof(spaces));
        if (k <= 0)
            return 1;
        done += (unsigned long)k;
    }
    double t0 = now_ns();
    for (done = 0; done < n;) {
        ssize_t k = write(fd, spaces, n - done < sizeof(spaces) ? n - done : sizeof(spaces));
        if (k <= 0)
            return 1;
        done += (unsigned long)k;
    }
    double ns = now_ns() - t0;
    if (write(fd, "\n", 1) != 1)
        return 1;
    close(fd);
    usleep(100000); /* let the hvc line end before ours starts */
    report("sbi-putc", n, ns);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long n = argc > 1 ? strtoul(argv[1], NULL, 10) : 200000;
    if (n < 10) {
        fprintf(stderr, "exitcost: N must be at least 10\n");
        return 2;
    }
    int failed = 0;
    bench_getppid(n);
    failed |= bench_uart(n);
    failed |= bench_sbi_putc(n / 10);
    return failed;
}
