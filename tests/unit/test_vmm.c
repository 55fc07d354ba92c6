/* SPDX-License-Identifier: MIT */
/*
 * Pausing, resuming and stopping a whole VM (src/vmm/vm.c, vcpu.c), end to end.
 *
 * Each test builds a real VM with vm_create() (2 vCPUs, 64 MiB) whose "kernel"
 * is the guest image tests/guest/pause_count.S (GUEST_IMAGES_DIR/pause_count.elf,
 * built by tests/guest/guest.mk): hart 0 starts hart 1 through SBI HSM, then
 * both spin forever, each storing an iteration count and the time CSR into
 * guest RAM every iteration, plus the largest time step between two of its
 * iterations and how often (and how far) time went backwards. The test reads
 * all of that while the vCPU threads run, through its own mapping of the
 * guest RAM memfd (see word()).
 *
 * The engine is whatever the environment picks (DUVISOR_JIT=on|off): run the
 * binary both ways.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "hart/dvext.h"
#include "vmm/config.h"
#include "vmm/vm.h"

#ifndef GUEST_IMAGES_DIR
#define GUEST_IMAGES_DIR "build/guest-images"
#endif

/* tests/guest/pause_count.S */
#define RAM_BASE   0x80000000ull
#define COUNT      0x80100000ull
#define TIME       0x80100100ull
#define MAXGAP     0x80100200ull
#define BACK       0x80100300ull
#define MAXBACK    0x80100380ull
#define HSM_RESULT 0x80100400ull
#define HSM_DONE   0x80100408ull

#define NHARTS           2u
#define MOVE_TIMEOUT_MS  10000
#define TICKS_PER_MS     (DV_TIMEBASE_HZ / 1000)
#define PAUSE_MS         300 /* the long pause whose time the guest must not see */
#define MAX_JUMP_MS      100 /* the most guest time may advance over it */
#define STOP_TIMEOUT_MS  2000
#define CYCLES           20
#define MONOTONIC_CYCLES 100

struct fixture {
    struct vm_config cfg;
    struct vm vm;
    uint8_t *ram; /* a second mapping of vm.memfd: guest RAM as the test reads it */
    bool created, started, joined;
    pthread_t joiner; /* vm_join runs here, so a stop that never ends fails, not hangs */
    bool joiner_started;
    bool pinned; /* the test thread was put on one CPU: restore saved_cpus */
    cpu_set_t saved_cpus;
    _Atomic bool join_done;
    enum vm_stop join_result;
};

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

/*
 * Guest RAM words, read while the harts write them. The interpreter stores
 * guest data with plain C stores (the guest's memory model is the hardware's,
 * not C's), so TSan would pair them with the test's loads even when those are
 * atomic. The test therefore looks at the RAM through its own mapping of the
 * same memfd (the same pages, another address: TSan has no shadow pairing the
 * two), with atomic 8-byte accesses so the compiler neither tears nor caches
 * them.
 */
static uint64_t *word(struct fixture *f, uint64_t gpa)
{
    return (uint64_t *)(f->ram + (gpa - RAM_BASE));
}

static uint64_t peek(struct fixture *f, uint64_t gpa)
{
    return __atomic_load_n(word(f, gpa), __ATOMIC_RELAXED);
}

static void poke(struct fixture *f, uint64_t gpa, uint64_t value)
{
    __atomic_store_n(word(f, gpa), value, __ATOMIC_RELAXED);
}

static uint64_t count_of(struct fixture *f, unsigned hart)
{
    return peek(f, COUNT + 8 * hart);
}

static uint64_t time_of(struct fixture *f, unsigned hart)
{
    return peek(f, TIME + 8 * hart);
}

/* True once every hart's counter differs from the snapshot (and is not 0). */
static bool wait_moving(struct fixture *f, const uint64_t *from, unsigned timeout_ms)
{
    uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
    for (;;) {
        bool all = true;
        for (unsigned h = 0; h < NHARTS; h++) {
            uint64_t c = count_of(f, h);
            if (c == 0 || c == from[h])
                all = false;
        }
        if (all)
            return true;
        if (now_ns() > deadline)
            return false;
        sleep_ms(1);
    }
}

static void snapshot(struct fixture *f, uint64_t *counts)
{
    for (unsigned h = 0; h < NHARTS; h++)
        counts[h] = count_of(f, h);
}

static void assert_moving(struct fixture *f)
{
    uint64_t from[NHARTS];
    snapshot(f, from);
    if (!wait_moving(f, from, MOVE_TIMEOUT_MS))
        fail_msg("counters did not move within %d ms: hart0 %" PRIu64 " hart1 %" PRIu64
                 " (HSM start done %" PRIu64 " error %" PRId64 ")",
                 MOVE_TIMEOUT_MS, count_of(f, 0), count_of(f, 1), peek(f, HSM_DONE),
                 (int64_t)peek(f, HSM_RESULT));
}

/* Paused: no counter moves for ms milliseconds. */
static void assert_frozen(struct fixture *f, unsigned ms)
{
    uint64_t before[NHARTS], after[NHARTS];
    snapshot(f, before);
    sleep_ms(ms);
    snapshot(f, after);
    for (unsigned h = 0; h < NHARTS; h++)
        if (before[h] != after[h])
            fail_msg("hart %u counted while paused: %" PRIu64 " -> %" PRIu64, h, before[h],
                     after[h]);
}

static void parked_threads(struct fixture *f, unsigned *parked, unsigned *threads)
{
    pthread_mutex_lock(&f->vm.pause.lock);
    *parked = f->vm.pause.parked;
    *threads = f->vm.pause.threads;
    pthread_mutex_unlock(&f->vm.pause.lock);
}

static uint64_t pauses_done(struct fixture *f)
{
    pthread_mutex_lock(&f->vm.pause.lock);
    uint64_t n = f->vm.pause.pauses;
    pthread_mutex_unlock(&f->vm.pause.lock);
    return n;
}

/* vm_pause succeeds within its timeout and leaves every vCPU thread parked. */
static void pause_ok(struct fixture *f)
{
    uint64_t t0 = now_ns();
    int rc = vm_pause(&f->vm);
    uint64_t ms = (now_ns() - t0) / 1000000ull;
    assert_int_equal(rc, 0);
    if (ms >= VM_PAUSE_TIMEOUT_MS)
        fail_msg("vm_pause took %" PRIu64 " ms (limit %d)", ms, VM_PAUSE_TIMEOUT_MS);
    assert_true(vm_paused(&f->vm));
    unsigned parked, threads;
    parked_threads(f, &parked, &threads);
    assert_int_equal(threads, NHARTS);
    assert_int_equal(parked, threads);
}

static void resume_ok(struct fixture *f)
{
    vm_resume(&f->vm);
    assert_false(vm_paused(&f->vm));
    assert_moving(f);
}

/* No hart ever saw time go backwards. */
static void assert_time_monotonic(struct fixture *f)
{
    for (unsigned h = 0; h < NHARTS; h++)
        if (peek(f, BACK + 8 * h))
            fail_msg("hart %u saw the time CSR go backwards %" PRIu64 " times, by up to %" PRIu64
                     " ticks (%.1f us)",
                     h, peek(f, BACK + 8 * h), peek(f, MAXBACK + 8 * h),
                     (double)peek(f, MAXBACK + 8 * h) * 1e6 / (double)DV_TIMEBASE_HZ);
}

static bool stop_fd_readable(struct fixture *f, uint64_t *value)
{
    struct pollfd p = {.fd = f->vm.stop_fd, .events = POLLIN};
    if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN))
        return false;
    return read(f->vm.stop_fd, value, sizeof(*value)) == (ssize_t)sizeof(*value);
}

static void *joiner(void *arg)
{
    struct fixture *f = arg;
    f->join_result = vm_join(&f->vm);
    atomic_store(&f->join_done, true);
    return NULL;
}

/* vm_join returns why within STOP_TIMEOUT_MS of the request, and the stop
   eventfd was written once. */
static void stop_and_join(struct fixture *f, enum vm_stop why)
{
    uint64_t t0 = now_ns();
    vm_request_stop(&f->vm, why);
    assert_int_equal(pthread_create(&f->joiner, NULL, joiner, f), 0);
    f->joiner_started = true;
    while (!atomic_load(&f->join_done)) {
        if (now_ns() - t0 > STOP_TIMEOUT_MS * 1000000ull)
            fail_msg("vm_join did not return within %d ms of the stop request", STOP_TIMEOUT_MS);
        sleep_ms(1);
    }
    pthread_join(f->joiner, NULL);
    f->joined = true;
    assert_int_equal(f->join_result, why);
    uint64_t value = 0;
    assert_true(stop_fd_readable(f, &value));
    assert_int_equal(value, 1);
}

/* --- fixture ------------------------------------------------------------------------- */

static int vm_teardown(void **state);

/* A VM whose kernel is the guest image tests/guest/IMAGE.S. */
static int setup_image(void **state, const char *image)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    vm_config_init(&f->cfg);
    snprintf(f->cfg.kernel_path, sizeof(f->cfg.kernel_path), "%s/%s.elf", GUEST_IMAGES_DIR, image);
    f->cfg.append[0] = 0;
    f->cfg.smp = NHARTS;
    f->cfg.memory_bytes = strcmp(image, "sbi_suspend_big") == 0 ? 5ull << 30 : 64ull << 20;
    if (strcmp(image, "sbi_suspend_big") == 0)
        snprintf(f->cfg.kernel_path, sizeof(f->cfg.kernel_path), "%s/sbi_suspend.elf",
                 GUEST_IMAGES_DIR);
    char err[256] = "";
    /* No console: the guest never touches the UART. */
    if (vm_create(&f->vm, &f->cfg, NULL, err, sizeof(err))) {
        fprintf(stderr, "vm_create: %s\n", err);
        free(f);
        return -1;
    }
    f->created = true;
    f->vm.stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    void *ram = mmap(NULL, f->vm.ram_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->vm.memfd, 0);
    f->ram = ram == MAP_FAILED ? NULL : ram;
    if (f->vm.stop_fd < 0 || !f->ram) {
        *state = f;
        vm_teardown(state);
        *state = NULL;
        return -1;
    }
    *state = f;
    return 0;
}

static int vm_setup(void **state)
{
    return setup_image(state, "pause_count");
}

static int sbi_setup(void **state)
{
    return setup_image(state, "sbi_suspend");
}

static int sbi_big_setup(void **state)
{
    return setup_image(state, "sbi_suspend_big");
}

static int fence_setup(void **state)
{
    return setup_image(state, "fence_stop");
}

static int vm_teardown(void **state)
{
    struct fixture *f = *state;
    if (!f)
        return 0;
    if (f->joiner_started && !f->joined) {
        /* A stop that did not end the threads: resume them too, then wait. */
        vm_resume(&f->vm);
        vm_request_stop(&f->vm, VM_STOP_SIGNAL);
        pthread_join(f->joiner, NULL);
    } else if (f->started && !f->joined) {
        vm_request_stop(&f->vm, VM_STOP_SIGNAL);
        vm_join(&f->vm);
    }
    if (f->pinned)
        sched_setaffinity(0, sizeof(f->saved_cpus), &f->saved_cpus);
    int fd = f->vm.stop_fd;
    if (f->ram)
        munmap(f->ram, f->vm.ram_size);
    if (f->created)
        vm_destroy(&f->vm);
    if (fd >= 0)
        close(fd);
    free(f);
    return 0;
}

static void start(struct fixture *f)
{
    assert_int_equal(vm_start(&f->vm), 0);
    f->started = true;
}

static void start_and_wait(struct fixture *f)
{
    start(f);
    assert_moving(f);
}

/* --- tests --------------------------------------------------------------------------- */

/* Pause parks every vCPU and the guest stops; resume lets it run again. */
static void test_pause_stops_guest(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    assert_false(vm_paused(&f->vm));
    pause_ok(f);
    assert_frozen(f, 100);
    resume_ok(f);
    assert_int_equal(pauses_done(f), 1);
    unsigned parked, threads;
    parked_threads(f, &parked, &threads);
    assert_int_equal(parked, 0);
    assert_int_equal(threads, NHARTS);
}

/* While paused: each hart's count and the last time it stored before parking. */
static void paused_state(struct fixture *f, uint64_t *count0, uint64_t *time0)
{
    for (unsigned h = 0; h < NHARTS; h++) {
        count0[h] = count_of(f, h);
        time0[h] = time_of(f, h);
    }
}

/* After a resume: the first time each hart stores once it runs again. */
static void first_times(struct fixture *f, const uint64_t *count0, uint64_t *time1)
{
    bool seen[NHARTS] = {false};
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    for (unsigned left = NHARTS; left;) {
        for (unsigned h = 0; h < NHARTS; h++)
            if (!seen[h] && count_of(f, h) != count0[h]) {
                time1[h] = time_of(f, h);
                seen[h] = true;
                left--;
            }
        if (left && now_ns() > deadline)
            fail_msg("the guest did not run within %d ms of the resume", MOVE_TIMEOUT_MS);
    }
}

/* Guest time moved less than MAX_JUMP_MS from time0 to time1, over a pause
   of paused_ms. (Backwards is test_pause_time_monotonic's business.) */
static void assert_no_jump(const uint64_t *time0, const uint64_t *time1, uint64_t paused_ms)
{
    for (unsigned h = 0; h < NHARTS; h++) {
        int64_t jump = (int64_t)(time1[h] - time0[h]);
        if (jump >= (int64_t)(MAX_JUMP_MS * TICKS_PER_MS))
            fail_msg("hart %u: guest time moved %" PRId64 " ticks (%.1f ms) over a %" PRIu64
                     " ms pause; at most %d ms allowed",
                     h, jump, (double)jump / (double)TICKS_PER_MS, paused_ms, MAX_JUMP_MS);
    }
}

/* Guest time stands still while paused: no jump of PAUSE_MS after resume. */
static void test_pause_hides_time(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    pause_ok(f);
    uint64_t count0[NHARTS], time0[NHARTS], time1[NHARTS];
    paused_state(f, count0, time0);
    for (unsigned h = 0; h < NHARTS; h++)
        poke(f, MAXGAP + 8 * h, 0); /* safe: the guest is not running */
    uint64_t t0 = now_ns();
    sleep_ms(PAUSE_MS);
    assert_true(vm_paused(&f->vm));
    vm_resume(&f->vm);
    uint64_t paused_ms = (now_ns() - t0) / 1000000ull;
    assert_true(paused_ms >= PAUSE_MS);
    first_times(f, count0, time1);
    assert_no_jump(time0, time1, paused_ms);

    /* Time runs on at the real rate after the resume. */
    sleep_ms(100);
    pause_ok(f);
    for (unsigned h = 0; h < NHARTS; h++) {
        uint64_t ran = time_of(f, h) - time1[h];
        if (ran < 50 * TICKS_PER_MS)
            fail_msg("hart %u: guest time advanced only %.1f ms over 100 ms of running", h,
                     (double)ran / (double)TICKS_PER_MS);
        /* The guest's own view: no step between two iterations spanned the pause. */
        uint64_t gap = peek(f, MAXGAP + 8 * h);
        if (gap >= MAX_JUMP_MS * TICKS_PER_MS)
            fail_msg("hart %u: the guest saw time step %.1f ms between two iterations", h,
                     (double)gap / (double)TICKS_PER_MS);
    }
    vm_resume(&f->vm);
    assert_moving(f);
}

/* A second pause while paused and a resume while running change nothing. */
static void test_pause_twice_resume_unpaused(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);

    vm_resume(&f->vm); /* not paused */
    assert_false(vm_paused(&f->vm));
    assert_int_equal(pauses_done(f), 0);
    assert_moving(f);

    /* Paused twice for PAUSE_MS / 2 each: the second pause must neither wait nor
       restart the clock of the first, so the guest sees none of the whole time. */
    pause_ok(f);
    uint64_t count0[NHARTS], time0[NHARTS], time1[NHARTS];
    paused_state(f, count0, time0);
    uint64_t t0 = now_ns();
    sleep_ms(PAUSE_MS / 2);
    pause_ok(f); /* again: 0 at once, still parked */
    assert_frozen(f, PAUSE_MS / 2);
    vm_resume(&f->vm); /* one resume undoes both */
    assert_false(vm_paused(&f->vm));
    uint64_t paused_ms = (now_ns() - t0) / 1000000ull;
    first_times(f, count0, time1);
    assert_no_jump(time0, time1, paused_ms);
    assert_int_equal(pauses_done(f), 1);

    vm_resume(&f->vm); /* and a resume after it is nothing */
    assert_false(vm_paused(&f->vm));
    assert_int_equal(pauses_done(f), 1);
    assert_moving(f);
}

/* Many pause/resume cycles in a row. */
static void test_pause_cycles(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    for (unsigned i = 0; i < CYCLES; i++) {
        pause_ok(f);
        assert_frozen(f, 5);
        resume_ok(f);
    }
    assert_int_equal(pauses_done(f), CYCLES);
}

/*
 * Guest time never goes backwards across a pause: each hart's time after the
 * resume is at least the last it read before parking. Fails when the time
 * taken off a hart exceeds the time it really stood parked (e.g. when the
 * pause is timed from before the vCPUs stopped running the guest).
 */
static void test_pause_time_monotonic(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    for (unsigned i = 0; i < 2 * MONOTONIC_CYCLES; i++) {
        if (i == MONOTONIC_CYCLES &&
            sched_getaffinity(0, sizeof(f->saved_cpus), &f->saved_cpus) == 0) {
            /* Then all threads on one CPU: the harts are off it, mid-guest,
               whenever this thread calls vm_pause, and each reads the time
               once more after the kick before it parks. */
            cpu_set_t one;
            CPU_ZERO(&one);
            for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
                if (CPU_ISSET(cpu, &f->saved_cpus)) {
                    CPU_SET(cpu, &one);
                    break;
                }
            f->pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
            for (unsigned h = 0; h < NHARTS; h++)
                pthread_setaffinity_np(f->vm.vcpus[h].thread, sizeof(one), &one);
        }
        pause_ok(f);
        resume_ok(f);
    }
    assert_int_equal(pauses_done(f), 2 * MONOTONIC_CYCLES);
    assert_time_monotonic(f);
}

/* A pause right after vm_start waits for both threads, whether or not hart 0
   has started hart 1 yet, and the guest carries on after the resume. */
static void test_pause_at_start(void **state)
{
    struct fixture *f = *state;
    start(f);
    pause_ok(f);
    assert_frozen(f, 50);
    resume_ok(f);
    assert_int_equal(peek(f, HSM_DONE), 1);
    assert_int_equal(peek(f, HSM_RESULT), 0);
}

/* A stop while paused ends the parked threads. */
static void test_stop_while_paused(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    pause_ok(f);
    uint64_t value;
    assert_false(stop_fd_readable(f, &value));
    stop_and_join(f, VM_STOP_SIGNAL);
    unsigned parked, threads;
    parked_threads(f, &parked, &threads);
    assert_int_equal(threads, 0);
    assert_int_equal(parked, 0);
}

/* A stop while running; the first reason wins and the eventfd is written once. */
static void test_stop_while_running(void **state)
{
    struct fixture *f = *state;
    start_and_wait(f);
    uint64_t value;
    assert_false(stop_fd_readable(f, &value));
    stop_and_join(f, VM_STOP_SIGNAL);
    vm_request_stop(&f->vm, VM_STOP_POWEROFF); /* too late: stays SIGNAL, no second write */
    assert_int_equal(atomic_load(&f->vm.stop), VM_STOP_SIGNAL);
    assert_false(stop_fd_readable(f, &value));
    uint64_t from[NHARTS];
    snapshot(f, from);
    sleep_ms(20);
    for (unsigned h = 0; h < NHARTS; h++)
        assert_int_equal(count_of(f, h), from[h]);
}

/* tests/guest/fence_stop.S */
#define FENCES0 0x80100000ull
#define FENCES1 0x80100008ull
#define STOPS   0x80100010ull
#define STARTS  0x80100018ull
#define ERROR   0x80100020ull

#define FENCE_RUN_MS   3000
#define FENCE_STALL_MS 5000  /* hart 0 completing no fence for this long: one never returned */
#define FENCE_CYCLES   20    /* hart 1 stops and is started again at least this often */
#define FENCE_MAX_MS   60000 /* a loaded host may take this long for the cycles */

/*
 * Remote fences meet a target that stops through HSM after the caller saw it
 * running, and two vCPUs fencing each other: every fence returns. (A caller
 * that waited for a stopped target to serve its request would spin until the
 * target started again, which here only the caller does.)
 */
static bool fence_cycles_done(struct fixture *f)
{
    return peek(f, STOPS) >= FENCE_CYCLES && peek(f, STARTS) >= FENCE_CYCLES;
}

static void test_fence_target_stops(void **state)
{
    struct fixture *f = *state;
    start(f);
    /* At least FENCE_RUN_MS and FENCE_CYCLES stop/start cycles, however slow
       the host: only a fence that stops returning fails. */
    uint64_t t0 = now_ns(), moved = t0, last = 0;
    while (now_ns() - t0 < FENCE_RUN_MS * 1000000ull || !fence_cycles_done(f)) {
        uint64_t c = peek(f, FENCES0);
        if (c != last) {
            last = c;
            moved = now_ns();
        } else if (now_ns() - moved > FENCE_STALL_MS * 1000000ull) {
            fail_msg("hart 0's remote fences stopped returning after %" PRIu64 " (hart 1: %" PRIu64
                     " fences, %" PRIu64 " stops, %" PRIu64 " starts)",
                     c, peek(f, FENCES1), peek(f, STOPS), peek(f, STARTS));
        }
        if (now_ns() - t0 > FENCE_MAX_MS * 1000000ull)
            fail_msg("hart 1 stopped %" PRIu64 " and started %" PRIu64 " times in %d ms, want %d",
                     peek(f, STOPS), peek(f, STARTS), FENCE_MAX_MS, FENCE_CYCLES);
        sleep_ms(10);
    }
    if (peek(f, ERROR))
        fail_msg("SBI call %" PRIu64 " failed with %" PRId64, peek(f, ERROR + 8),
                 (int64_t)peek(f, ERROR));
    stop_and_join(f, VM_STOP_SIGNAL);
}

/* tests/guest/sbi_suspend.S */
#define SBI_RES(n)    (0x80100000ull + 8 * (n))
#define SBI_DONE      0x80100800ull
#define SBI_SEEN      0x80100808ull
#define SBI_GO        0x80100810ull
#define SBI_DBCN_ADDR 0x80100818ull
#define SBI_STA0      0x80100a00ull
#define IDLE_MS       300
#define IDLE_CPU_MS   30

static uint64_t thread_cpu_ns(pthread_t thread)
{
    clockid_t clock;
    struct timespec ts;
    assert_int_equal(pthread_getcpuclockid(thread, &clock), 0);
    assert_int_equal(clock_gettime(clock, &ts), 0);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void wait_word(struct fixture *f, uint64_t gpa, const char *what)
{
    uint64_t deadline = now_ns() + MOVE_TIMEOUT_MS * 1000000ull;
    while (peek(f, gpa) == 0) {
        if (now_ns() > deadline) {
            for (unsigned i = 0; i < 32; i++)
                fprintf(stderr, "R%u = %#" PRIx64 "\n", i, peek(f, SBI_RES(i)));
            fail_msg("the guest never got to: %s", what);
        }
        sleep_ms(5);
    }
}

/* Both vCPU threads (and this one) on one host CPU: each waits for it. */
static void pin_to_one_cpu(struct fixture *f)
{
    if (sched_getaffinity(0, sizeof(f->saved_cpus), &f->saved_cpus) != 0)
        return;
    cpu_set_t one;
    CPU_ZERO(&one);
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++)
        if (CPU_ISSET(cpu, &f->saved_cpus)) {
            CPU_SET(cpu, &one);
            break;
        }
    f->pinned = sched_setaffinity(0, sizeof(one), &one) == 0;
}

/*
 * HSM suspend (retentive woken by an IPI and by a timer, non-retentive with
 * its entry state, SUSPENDED seen from the other hart, no CPU meanwhile),
 * SUSP (refused with another hart running, accepted alone, woken by a
 * timer), FWFT, STA under contention (both harts on one host CPU) and DBCN
 * at `dbcn_at`, expected to be RAM or not.
 */
static void run_sbi_image(struct fixture *f, uint64_t dbcn_at, bool dbcn_in_ram)
{
    poke(f, SBI_DBCN_ADDR, dbcn_at);
    pin_to_one_cpu(f); /* the vCPU threads inherit it */
    start(f);
    wait_word(f, SBI_SEEN, "hart 1's retentive suspend");
    uint64_t cpu0 = thread_cpu_ns(f->vm.vcpus[1].thread);
    sleep_ms(IDLE_MS);
    uint64_t idle = thread_cpu_ns(f->vm.vcpus[1].thread) - cpu0;
    if (idle > IDLE_CPU_MS * 1000000ull)
        fail_msg("suspended hart 1 used %" PRIu64 " ms of CPU in %d ms", idle / 1000000, IDLE_MS);
    assert_int_equal(sbi_hsm_state_of(&f->vm.sbi, 1), SBI_HSM_SUSPENDED);
    poke(f, SBI_GO, 1);
    wait_word(f, SBI_DONE, "the end");

    static const struct {
        unsigned slot;
        int64_t want;
    } expect[] = {
        {27, 0}, {29, 0},                      /* STA set_shmem on both harts */
        {0, 0},  {1, 1},                       /* MISALIGNED_EXC_DELEG reads 1 */
        {2, -4}, {3, 0},     {4, -14},         /* set 0 denied; set 1 + lock; then locked */
        {6, -2}, {7, -4},                      /* LANDING_PAD unsupported; 6 reserved */
        {8, 0},  {9, -4},                      /* hart_start; SUSP with hart 1 up: denied */
        {10, 4}, {11, 0},    {12, 2},          /* SUSPENDED seen; IPI wake, SSIP pending */
        {13, 0}, {14, 1},                      /* timer wake, not before the timer */
        {15, 4}, {16, 1},    {17, 0x1234abcd}, /* non-retentive: a0 hartid, a1 opaque */
        {18, 0}, {19, 0},                      /* satp 0, SIE 0 */
        {20, 0}, {21, 0x55}, {22, 0},          {23, 0}, {24, 1}, /* SUSP resume, after the timer */
        {31, 0},                                                 /* no unexpected trap */
    };
    for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
        int64_t got = (int64_t)peek(f, SBI_RES(expect[i].slot));
        if (got != expect[i].want)
            fail_msg("R%u = %" PRId64 ", want %" PRId64 " (R30 %#" PRIx64 ")", expect[i].slot, got,
                     expect[i].want, peek(f, SBI_RES(30)));
    }
    /* PTE_AD_HW_UPDATING: 0 with Svadu, NOT_SUPPORTED without */
    int64_t ad = (int64_t)peek(f, SBI_RES(5));
    assert_true(ad == 0 || ad == -2);
    if (dbcn_in_ram) {
        assert_int_equal(peek(f, SBI_RES(25)), 0);
        assert_int_equal(peek(f, SBI_RES(26)), 4);
    } else {
        assert_int_equal((int64_t)peek(f, SBI_RES(25)), -3);
    }
    /* Steal: both harts spun 300 ms on one host CPU, so each waited for it. */
    for (unsigned h = 0; h < NHARTS; h++) {
        uint64_t seq = peek(f, SBI_STA0 + 64 * h) & 0xffffffffu;
        uint64_t steal = peek(f, SBI_STA0 + 64 * h + 8);
        fprintf(stderr, "hart %u: steal %" PRIu64 " ms, sequence %" PRIu64 "\n", h, steal / 1000000,
                seq);
        assert_int_equal(seq % 2, 0);
        if (f->pinned && steal < 20000000ull)
            fail_msg("hart %u: steal %" PRIu64 " ns after 300 ms sharing one CPU", h, steal);
    }
    stop_and_join(f, VM_STOP_SIGNAL);
}

static void test_sbi_suspend(void **state)
{
    /* 64 MiB of RAM: 0x180000000 is nothing */
    run_sbi_image(*state, 0x180000000ull, false);
}

static void test_sbi_dbcn_above_4g(void **state)
{
    /* 5 GiB: the same address is RAM, 4 GiB above its start */
    run_sbi_image(*state, 0x180000000ull, true);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pause_stops_guest, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_pause_hides_time, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_pause_twice_resume_unpaused, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_pause_cycles, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_pause_time_monotonic, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_pause_at_start, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_paused, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_stop_while_running, vm_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_fence_target_stops, fence_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_sbi_suspend, sbi_setup, vm_teardown),
        cmocka_unit_test_setup_teardown(test_sbi_dbcn_above_4g, sbi_big_setup, vm_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
