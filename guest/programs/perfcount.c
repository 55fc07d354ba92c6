/*
 * perfcount: what `perf stat` and `perf record` need from the platform's PMU,
 * without perf itself (busybox has no perf). Through perf_event_open(2):
 *
 *   perfcount stat N     counts user-mode instructions and cycles over a loop
 *                        of exactly 4 * N + a few instructions and prints
 *                        "perfcount: instructions I cycles C loop-instructions L"
 *                        (the hart counts retired instructions through the SBI
 *                        PMU's hardware counters)
 *   perfcount sample N   samples the same loop every 100000 instructions with
 *                        an overflow interrupt (Sscofpmf) and prints
 *                        "perfcount: samples S in-loop K" (K: samples whose pc
 *                        lies inside the loop)
 *
 * Exit status 0 when the counters opened, 1 otherwise (with the errno).
 */
#include <errno.h>
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SAMPLE_PERIOD 100000
#define RING_PAGES    64 /* data pages of the sample ring: a power of two */

/* Exactly four instructions per iteration (addi, addi, xor, bnez): the loop's
   bounds are labels, so the sampler can tell its pcs from the rest. */
extern const char loop_begin[], loop_end[];
static void count_loop(uint64_t n)
{
    uint64_t acc = 0;
    __asm__ volatile(".globl loop_begin\n"
                     ".globl loop_end\n"
                     "loop_begin:\n"
                     "1: addi %0, %0, -1\n"
                     "   addi %1, %1, 3\n"
                     "   xor  %1, %1, %0\n"
                     "   bnez %0, 1b\n"
                     "loop_end:\n"
                     : "+r"(n), "+r"(acc));
}

static int open_counter(uint64_t config, uint64_t period, int group)
{
    struct perf_event_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.size = sizeof(attr);
    attr.type = PERF_TYPE_HARDWARE;
    attr.config = config;
    attr.disabled = group < 0;
    attr.exclude_kernel = 1;
    attr.exclude_hv = 1;
    if (period) {
        attr.sample_period = period;
        attr.sample_type = PERF_SAMPLE_IP;
        attr.wakeup_events = 1;
    }
    return (int)syscall(SYS_perf_event_open, &attr, 0, -1, group, 0);
}

static int stat_loop(uint64_t n)
{
    int insns = open_counter(PERF_COUNT_HW_INSTRUCTIONS, 0, -1);
    if (insns < 0) {
        printf("perfcount: instructions counter: %s\n", strerror(errno));
        return 1;
    }
    int cycles = open_counter(PERF_COUNT_HW_CPU_CYCLES, 0, insns);
    if (cycles < 0) {
        printf("perfcount: cycles counter: %s\n", strerror(errno));
        return 1;
    }
    ioctl(insns, PERF_EVENT_IOC_RESET, PERF_IOC_FLAG_GROUP);
    ioctl(insns, PERF_EVENT_IOC_ENABLE, PERF_IOC_FLAG_GROUP);
    count_loop(n);
    ioctl(insns, PERF_EVENT_IOC_DISABLE, PERF_IOC_FLAG_GROUP);
    uint64_t i = 0, c = 0;
    if (read(insns, &i, sizeof(i)) != sizeof(i) || read(cycles, &c, sizeof(c)) != sizeof(c)) {
        printf("perfcount: read: %s\n", strerror(errno));
        return 1;
    }
    printf("perfcount: instructions %llu cycles %llu loop-instructions %llu\n",
           (unsigned long long)i, (unsigned long long)c, (unsigned long long)(4 * n));
    return 0;
}

static int sample_loop(uint64_t n)
{
    int fd = open_counter(PERF_COUNT_HW_INSTRUCTIONS, SAMPLE_PERIOD, -1);
    if (fd < 0) {
        printf("perfcount: sampling counter: %s\n", strerror(errno));
        return 1;
    }
    long page = sysconf(_SC_PAGESIZE);
    size_t len = (size_t)page * (RING_PAGES + 1);
    struct perf_event_mmap_page *meta = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (meta == MAP_FAILED) {
        printf("perfcount: mmap: %s\n", strerror(errno));
        return 1;
    }
    ioctl(fd, PERF_EVENT_IOC_RESET, 0);
    ioctl(fd, PERF_EVENT_IOC_ENABLE, 0);
    count_loop(n);
    ioctl(fd, PERF_EVENT_IOC_DISABLE, 0);
    /* Walk the ring: PERF_RECORD_SAMPLE records carry the pc. */
    const uint8_t *data = (const uint8_t *)meta + page;
    uint64_t head = __atomic_load_n(&meta->data_head, __ATOMIC_ACQUIRE);
    uint64_t size = (uint64_t)page * RING_PAGES, samples = 0, in_loop = 0;
    uint64_t from = head > size ? head - size : 0;
    for (uint64_t at = from; at + sizeof(struct perf_event_header) <= head;) {
        struct perf_event_header hdr;
        memcpy(&hdr, data + at % size, sizeof(hdr));
        if (hdr.size < sizeof(hdr))
            break;
        if (hdr.type == PERF_RECORD_SAMPLE && (at + sizeof(hdr)) % size + 8 <= size) {
            uint64_t ip;
            memcpy(&ip, data + (at + sizeof(hdr)) % size, sizeof(ip));
            samples++;
            in_loop += ip >= (uintptr_t)loop_begin && ip <= (uintptr_t)loop_end;
        }
        at += hdr.size;
    }
    printf("perfcount: samples %llu in-loop %llu\n", (unsigned long long)samples,
           (unsigned long long)in_loop);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "stat") && strcmp(argv[1], "sample"))) {
        fprintf(stderr, "usage: perfcount stat|sample N\n");
        return 2;
    }
    uint64_t n = strtoull(argv[2], NULL, 0);
    if (n == 0)
        n = 1;
    return strcmp(argv[1], "stat") ? sample_loop(n) : stat_loop(n);
}
