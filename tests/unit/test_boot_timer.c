/* The boot-timer: the guest's "I am up" signal and the line duvisor prints for it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "devices/boot_timer.h"
#include "vmm/platform.h"

static uint64_t rd(struct boot_timer *bt, uint64_t off, unsigned size)
{
    uint64_t v = 0xdeadbeef;
    assert_true(boot_timer_read(bt, off, size, &v));
    return v;
}

static void wr(struct boot_timer *bt, uint64_t off, unsigned size, uint64_t value)
{
    assert_true(boot_timer_write(bt, off, size, value));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void test_placement(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct boot_timer bt, other;
    assert_int_equal(boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, 0, NULL), 0);
    const struct mmio_region *r = mmio_find(&bus, PLATFORM_BOOT_TIMER_BASE + 0x10);
    assert_non_null(r);
    assert_ptr_equal(r->opaque, &bt);
    assert_int_equal(r->base, PLATFORM_BOOT_TIMER_BASE);
    assert_int_equal(r->size, BOOT_TIMER_SIZE);
    assert_null(mmio_find(&bus, PLATFORM_BOOT_TIMER_BASE + BOOT_TIMER_SIZE));
    /* The same page twice is refused, as any overlap. */
    assert_int_equal(boot_timer_attach(&bus, &other, PLATFORM_BOOT_TIMER_BASE + 0x800, 0, NULL),
                     -1);
    /* Clear of the UART (0x1000_0000) and of QEMU's virtio-mmio slots and fw_cfg. */
    assert_true(PLATFORM_BOOT_TIMER_BASE >= 0x10100018ull);
    assert_true(PLATFORM_BOOT_TIMER_BASE + BOOT_TIMER_SIZE <= 0x20000000ull);
}

static void test_identity_registers(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct boot_timer bt;
    assert_int_equal(boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, 0, NULL), 0);
    assert_int_equal(rd(&bt, BOOT_TIMER_REG_MAGIC, 4), BOOT_TIMER_MAGIC);
    assert_int_equal(rd(&bt, BOOT_TIMER_REG_VERSION, 4), BOOT_TIMER_VERSION);
    assert_int_equal(rd(&bt, 0, 8), BOOT_TIMER_MAGIC | (uint64_t)BOOT_TIMER_VERSION << 32);
    /* "DVBT" as the guest sees the bytes. */
    uint32_t magic = BOOT_TIMER_MAGIC;
    assert_memory_equal(&magic, "DVBT", 4);
    /* Unused offsets read zero; bytes, halves and misaligned words read zero too. */
    assert_int_equal(rd(&bt, 0x18, 8), 0);
    assert_int_equal(rd(&bt, 0xff8, 8), 0);
    assert_int_equal(rd(&bt, 0, 1), 0);
    assert_int_equal(rd(&bt, 0, 2), 0);
    assert_int_equal(rd(&bt, 2, 4), 0);
    assert_int_equal(rd(&bt, 4, 8), 0);
}

static void test_now_counts_from_start(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct boot_timer bt;
    uint64_t start = boot_timer_now_ns();
    assert_int_equal(boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, start, NULL), 0);
    uint64_t a = rd(&bt, BOOT_TIMER_REG_NOW, 8);
    sleep_ms(20);
    uint64_t b = rd(&bt, BOOT_TIMER_REG_NOW, 8);
    assert_true(a > 0 && a < 20000000u);
    assert_true(b >= a + 20000000u);
    assert_true(b < a + 2000000000u);
    /* The halves of a 64-bit register. */
    uint64_t lo = rd(&bt, BOOT_TIMER_REG_NOW, 4), hi = rd(&bt, BOOT_TIMER_REG_NOW + 4, 4);
    assert_true(lo <= UINT32_MAX && hi == 0); /* under 4.29 s since start */
    /* The process start comes from before main and is not in the future. */
    assert_true(boot_timer_process_start_ns() > 0);
    assert_true(boot_timer_process_start_ns() <= boot_timer_now_ns());
}

static void test_ready_is_recorded_once(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct boot_timer bt;
    uint64_t start = boot_timer_now_ns();
    assert_int_equal(boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, start, NULL), 0);
    assert_int_equal(rd(&bt, BOOT_TIMER_REG_READY, 8), 0);
    assert_int_equal(boot_timer_ready_ns(&bt), 0);
    /* Values other than READY, other offsets and other sizes change nothing. */
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 4, 2);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 1, BOOT_TIMER_SIGNAL_READY);
    wr(&bt, BOOT_TIMER_REG_READY, 8, BOOT_TIMER_SIGNAL_READY);
    wr(&bt, 0x100, 4, BOOT_TIMER_SIGNAL_READY);
    assert_int_equal(boot_timer_ready_ns(&bt), 0);
    sleep_ms(5);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 4, BOOT_TIMER_SIGNAL_READY);
    uint64_t ready = boot_timer_ready_ns(&bt);
    assert_true(ready >= 5000000u && ready < 5000000000u);
    assert_int_equal(rd(&bt, BOOT_TIMER_REG_READY, 8), ready);
    sleep_ms(2);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 8, BOOT_TIMER_SIGNAL_READY); /* a 64-bit store works too */
    assert_int_equal(boot_timer_ready_ns(&bt), ready);
    /* Attaching again (a guest reboot builds the VM anew) starts over. */
    struct mmio_bus bus2 = {0};
    assert_int_equal(boot_timer_attach(&bus2, &bt, PLATFORM_BOOT_TIMER_BASE, start, NULL), 0);
    assert_int_equal(boot_timer_ready_ns(&bt), 0);
}

/* The report goes to a FILE; read it back. */
static char *report_of(struct boot_timer *bt, FILE *f)
{
    (void)bt;
    fflush(f);
    long n = ftell(f);
    assert_true(n >= 0);
    char *text = calloc(1, (size_t)n + 1);
    assert_non_null(text);
    rewind(f);
    assert_int_equal(fread(text, 1, (size_t)n, f), (size_t)n);
    fseek(f, 0, SEEK_END);
    return text;
}

static void test_report_line(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    struct mmio_bus bus = {0};
    struct boot_timer bt;
    uint64_t start = boot_timer_now_ns() - 3000000; /* pretend the process began 3 ms ago */
    assert_int_equal(boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, start, f), 0);
    char line[256];
    boot_timer_format(&bt, line, sizeof(line));
    assert_non_null(strstr(line, "guest ready not yet"));
    char *text = report_of(&bt, f);
    assert_string_equal(text, ""); /* nothing before the signal */
    free(text);

    boot_timer_first_entry(&bt);
    uint64_t entry = atomic_load(&bt.first_entry_ns);
    sleep_ms(1);
    boot_timer_first_entry(&bt); /* only the first counts */
    assert_int_equal(atomic_load(&bt.first_entry_ns), entry);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 4, BOOT_TIMER_SIGNAL_READY);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 4, BOOT_TIMER_SIGNAL_READY);
    text = report_of(&bt, f);
    /* Exactly one line, with the three instants in order. */
    assert_non_null(strstr(text, "duvisor: boot-timer: guest ready "));
    assert_ptr_equal(strchr(text, '\n'), text + strlen(text) - 1);
    double ready_ms, built_ms, entry_ms;
    unsigned long long sec, nsec;
    assert_int_equal(sscanf(text,
                            "duvisor: boot-timer: guest ready %lf ms after process start (VM built "
                            "%lf ms, first guest instruction %lf ms; monotonic start %llu.%llu s)",
                            &ready_ms, &built_ms, &entry_ms, &sec, &nsec),
                     5);
    assert_true(built_ms >= 3.0 && built_ms < 1000.0);
    assert_true(entry_ms >= built_ms && entry_ms <= ready_ms);
    assert_true(ready_ms >= entry_ms + 1.0);
    assert_int_equal(sec * 1000000000ull + nsec, start);
    free(text);
    fclose(f);
}

static void test_quiet_without_report(void **state)
{
    (void)state;
    struct mmio_bus bus = {0};
    struct boot_timer bt;
    assert_int_equal(
        boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, boot_timer_now_ns(), NULL), 0);
    wr(&bt, BOOT_TIMER_REG_SIGNAL, 4, BOOT_TIMER_SIGNAL_READY); /* must not touch a NULL FILE */
    assert_true(boot_timer_ready_ns(&bt) > 0);
    char line[256];
    boot_timer_format(&bt, line, sizeof(line));
    assert_null(strstr(line, "first guest instruction")); /* never marked */
}

/* Two vCPUs signalling at once: one report line, one recorded time. */
struct racer {
    struct boot_timer *bt;
    pthread_barrier_t *go;
};

static void *race(void *arg)
{
    struct racer *r = arg;
    pthread_barrier_wait(r->go);
    for (int i = 0; i < 1000; i++)
        boot_timer_write(r->bt, BOOT_TIMER_REG_SIGNAL, 4, BOOT_TIMER_SIGNAL_READY);
    return NULL;
}

static void test_racing_signals(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    for (int round = 0; round < 50; round++) {
        struct mmio_bus bus = {0};
        struct boot_timer bt;
        assert_int_equal(
            boot_timer_attach(&bus, &bt, PLATFORM_BOOT_TIMER_BASE, boot_timer_now_ns(), f), 0);
        long before = ftell(f);
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, 4);
        struct racer r = {&bt, &go};
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, race, &r), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
        pthread_barrier_destroy(&go);
        char *text = report_of(&bt, f);
        const char *mine = text + before;
        int lines = 0;
        for (const char *p = mine; *p; p++)
            lines += *p == '\n';
        assert_int_equal(lines, 1);
        free(text);
    }
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_placement),
        cmocka_unit_test(test_identity_registers),
        cmocka_unit_test(test_now_counts_from_start),
        cmocka_unit_test(test_ready_is_recorded_once),
        cmocka_unit_test(test_report_line),
        cmocka_unit_test(test_quiet_without_report),
        cmocka_unit_test(test_racing_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
