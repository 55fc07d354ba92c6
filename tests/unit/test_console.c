/*
 * The stdio console: input arrives whole and in order however slowly the
 * guest takes it, a full ring costs no CPU, output survives partial writes
 * and a vanished reader, Ctrl-A works, and a tty is raw while the console
 * runs and itself again afterwards (destroy, exit, fatal signal).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmm/console.h"

static atomic_int ready_calls, quit_calls;

static void on_ready(void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&ready_calls, 1);
}

static void on_quit(void *opaque)
{
    (void)opaque;
    atomic_fetch_add(&quit_calls, 1);
}

static int reset(void **state)
{
    (void)state;
    atomic_store(&ready_calls, 0);
    atomic_store(&quit_calls, 0);
    return 0;
}

static double now(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Polls cond for up to 5 s. */
#define WAIT_FOR(cond)                                                                             \
    do {                                                                                           \
        double until_ = now(CLOCK_MONOTONIC) + 5.0;                                                \
        while (!(cond) && now(CLOCK_MONOTONIC) < until_)                                           \
            sleep_ms(1);                                                                           \
        assert_true(cond);                                                                         \
    } while (0)

static void write_all(int fd, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        assert_true(n > 0);
        p += n;
        len -= (size_t)n;
    }
}

/* A console reading pipe in[0] and writing pipe out[1]. */
struct rig {
    int in[2], out[2];
    struct console *c;
};

static void rig_open(struct rig *r, enum console_escape escape)
{
    assert_int_equal(pipe(r->in), 0);
    assert_int_equal(pipe(r->out), 0);
    struct console_config cfg = {
        .in_fd = r->in[0],
        .out_fd = r->out[1],
        .escape = escape,
        .input_ready = on_ready,
        .quit = on_quit,
    };
    r->c = console_create(&cfg);
    assert_non_null(r->c);
}

static void rig_close(struct rig *r)
{
    console_destroy(r->c);
    for (int i = 0; i < 2; i++) {
        if (r->in[i] >= 0)
            close(r->in[i]);
        if (r->out[i] >= 0)
            close(r->out[i]);
    }
}

/* Feeds s, then waits until the console holds `expect` bytes (0 if none are
   expected, then gives the reader 20 ms to misbehave). */
static void feed(struct rig *r, const char *s, size_t len, size_t expect)
{
    write_all(r->in[1], s, len);
    if (expect)
        WAIT_FOR(console_pending(r->c) == expect);
    else
        sleep_ms(20);
}

static void test_input_in_order(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    assert_int_equal(console_read(r.c, (uint8_t[4]){0}, 4), 0);
    feed(&r, "hello, ", 7, 7);
    feed(&r, "guest\r\n", 7, 14);
    assert_true(atomic_load(&ready_calls) >= 1);

    uint8_t buf[32];
    assert_int_equal(console_read(r.c, buf, 5), 5);
    assert_memory_equal(buf, "hello", 5);
    assert_int_equal(console_pending(r.c), 9);
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 9);
    assert_memory_equal(buf, ", guest\r\n", 9);
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 0);
    assert_false(console_input_eof(r.c));
    rig_close(&r);
}

/* Not periodic in the ring size, so a lost or repeated ring's worth shows. */
static uint8_t pattern(size_t i)
{
    return (uint8_t)(i * 131u + (i >> 12) * 7u);
}

#define BIG (256u * 1024u)

struct writer {
    int fd;
    atomic_size_t written;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    uint8_t chunk[1000];
    for (size_t off = 0; off < BIG;) {
        size_t n = BIG - off < sizeof(chunk) ? BIG - off : sizeof(chunk);
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern(off + i);
        write_all(w->fd, chunk, n);
        off += n;
        atomic_store(&w->written, off);
    }
    close(w->fd);
    return NULL;
}

static void test_backpressure_no_loss_no_spin(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_OFF);
    struct writer w = {.fd = r.in[1]};
    r.in[1] = -1; /* the writer closes it: that is the EOF */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer_main, &w), 0);

    WAIT_FOR(console_pending(r.c) == CONSOLE_INPUT_BUFFER);
    sleep_ms(20); /* let the writer fill the pipe and block too */
    assert_true(atomic_load(&w.written) < BIG);

    /* Nobody reads: the whole process must be nearly idle. */
    double cpu0 = now(CLOCK_PROCESS_CPUTIME_ID), wall0 = now(CLOCK_MONOTONIC);
    sleep_ms(200);
    double cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu0, wall = now(CLOCK_MONOTONIC) - wall0;
    assert_true(cpu < 0.2 * wall);
    assert_int_equal(console_pending(r.c), CONSOLE_INPUT_BUFFER);

    /* Drain like a slow guest: a few bytes at a time, sometimes pausing. */
    uint8_t buf[700];
    size_t got = 0, step = 1;
    double until = now(CLOCK_MONOTONIC) + 20.0;
    while (got < BIG && now(CLOCK_MONOTONIC) < until) {
        step = step % sizeof(buf) + 97;
        size_t n = console_read(r.c, buf, step < sizeof(buf) ? step : sizeof(buf));
        for (size_t i = 0; i < n; i++)
            if (buf[i] != pattern(got + i))
                fail_msg("byte %zu: got %#x, want %#x", got + i, buf[i], pattern(got + i));
        got += n;
        if (n == 0 || got % 8 == 0)
            sleep_ms(1);
    }
    assert_int_equal(got, BIG);
    assert_int_equal(pthread_join(t, NULL), 0);
    WAIT_FOR(console_input_eof(r.c));
    assert_int_equal(console_pending(r.c), 0);
    rig_close(&r);
}

static void test_output_reaches_fd(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    console_write(r.c, (const uint8_t *)"Linux version 6\n", 16);
    console_write(r.c, (const uint8_t *)"", 0);
    char buf[32];
    assert_int_equal(read(r.out[0], buf, sizeof(buf)), 16);
    assert_memory_equal(buf, "Linux version 6\n", 16);
    assert_false(console_output_broken(r.c));
    rig_close(&r);
}

struct drainer {
    int fd;
    size_t got;
    bool ok;
};

static void *drainer_main(void *arg)
{
    struct drainer *d = arg;
    uint8_t buf[3000];
    d->ok = true;
    for (;;) {
        ssize_t n = read(d->fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return NULL;
        for (ssize_t i = 0; i < n; i++)
            d->ok &= buf[i] == pattern(d->got + (size_t)i);
        d->got += (size_t)n;
        if (d->got % 4 == 0)
            sleep_ms(1);
    }
}

/* A non-blocking output fd (as a shared tty description can be) gives
   partial writes and EAGAIN: everything still arrives, in order. */
static void test_output_partial_writes(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    int fl = fcntl(r.out[1], F_GETFL);
    assert_int_equal(fcntl(r.out[1], F_SETFL, fl | O_NONBLOCK), 0);
    struct drainer d = {.fd = r.out[0]};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, drainer_main, &d), 0);

    uint8_t *big = malloc(BIG);
    assert_non_null(big);
    for (size_t i = 0; i < BIG; i++)
        big[i] = pattern(i);
    console_write(r.c, big, BIG);
    free(big);
    close(r.out[1]);
    r.out[1] = -1;
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(d.got, BIG);
    assert_true(d.ok);
    rig_close(&r);
}

/* stdout piped into `head`, which exits: the VM carries on, output is dropped. */
static void test_output_epipe(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    close(r.out[0]);
    r.out[0] = -1;
    console_write(r.c, (const uint8_t *)"lost\n", 5);
    assert_true(console_output_broken(r.c));
    console_write(r.c, (const uint8_t *)"lost\n", 5);
    /* input still works */
    feed(&r, "k", 1, 1);
    rig_close(&r);
}

static void test_eof_keeps_pending(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    write_all(r.in[1], "bye", 3);
    close(r.in[1]);
    r.in[1] = -1;
    WAIT_FOR(console_input_eof(r.c));
    uint8_t buf[8];
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 3);
    assert_memory_equal(buf, "bye", 3);
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 0);
    console_write(r.c, (const uint8_t *)"x", 1); /* output unaffected */
    assert_int_equal(read(r.out[0], buf, 1), 1);
    rig_close(&r);
}

static void test_escape_quit(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_ON);
    feed(&r, "a\x01xb", 4, 2);
    assert_int_equal(atomic_load(&quit_calls), 1);
    uint8_t buf[8];
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "ab", 2);

    /* split across two reads */
    feed(&r, "\x01", 1, 0);
    assert_int_equal(console_pending(r.c), 0);
    feed(&r, "x", 1, 0);
    assert_int_equal(atomic_load(&quit_calls), 2);
    assert_int_equal(console_pending(r.c), 0);
    rig_close(&r);
}

static void test_escape_literal_and_others(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_ON);
    uint8_t buf[8];
    feed(&r, "\x01\x01", 2, 1);
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 0x01);

    feed(&r, "\x01q\x01", 3, 2); /* the last Ctrl-A waits for its key */
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "\x01q", 2);

    write_all(r.in[1], "\x01", 1); /* Ctrl-A Ctrl-A across reads */
    WAIT_FOR(console_pending(r.c) == 1);
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 0x01);

    feed(&r, "\x01", 1, 0);
    close(r.in[1]); /* a Ctrl-A pending at EOF goes to the guest */
    r.in[1] = -1;
    WAIT_FOR(console_input_eof(r.c));
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 1);
    assert_int_equal(buf[0], 0x01);
    assert_int_equal(atomic_load(&quit_calls), 0);
    rig_close(&r);
}

static void test_escape_help(void **state)
{
    (void)state;
    int err[2];
    assert_int_equal(pipe(err), 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(err[1], STDERR_FILENO) >= 0);

    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_ON);
    feed(&r, "\x01h", 2, 0);
    assert_int_equal(console_pending(r.c), 0);
    rig_close(&r);

    dup2(saved, STDERR_FILENO);
    close(saved);
    close(err[1]);
    char text[512];
    ssize_t n = read(err[0], text, sizeof(text) - 1);
    close(err[0]);
    assert_true(n > 0);
    text[n] = 0;
    assert_non_null(strstr(text, "Ctrl-A x"));
}

/* A script piping into the VM sends Ctrl-A like any byte. */
static void test_escape_off_for_pipes(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    feed(&r, "\x01x", 2, 2);
    uint8_t buf[4];
    assert_int_equal(console_read(r.c, buf, sizeof(buf)), 2);
    assert_memory_equal(buf, "\x01x", 2);
    assert_int_equal(atomic_load(&quit_calls), 0);
    rig_close(&r);
}

static void assert_destroy_prompt(struct rig *r)
{
    double t0 = now(CLOCK_MONOTONIC);
    console_destroy(r->c);
    assert_true(now(CLOCK_MONOTONIC) - t0 < 0.5);
    r->c = NULL;
    rig_close(r);
}

static void test_destroy_while_polling(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    sleep_ms(20);
    assert_destroy_prompt(&r);
}

static void test_destroy_while_ring_full(void **state)
{
    (void)state;
    struct rig r;
    rig_open(&r, CONSOLE_ESCAPE_AUTO);
    static uint8_t lots[2 * CONSOLE_INPUT_BUFFER];
    write_all(r.in[1], lots, sizeof(lots));
    WAIT_FOR(console_pending(r.c) == CONSOLE_INPUT_BUFFER);
    sleep_ms(10);
    assert_destroy_prompt(&r);
}

static void test_no_input(void **state)
{
    (void)state;
    int out[2];
    assert_int_equal(pipe(out), 0);
    struct console *c = console_create(&(struct console_config){.in_fd = -1, .out_fd = out[1]});
    assert_non_null(c);
    assert_true(console_input_eof(c));
    assert_int_equal(console_read(c, (uint8_t[1]){0}, 1), 0);
    console_write(c, (const uint8_t *)"ok", 2);
    char buf[2];
    assert_int_equal(read(out[0], buf, 2), 2);
    console_destroy(c);
    console_destroy(NULL);
    close(out[0]);
    close(out[1]);
}

/* --- a pseudo-terminal ------------------------------------------------------------ */

struct pty {
    int master, slave;
    struct termios orig;
};

static void pty_open(struct pty *p)
{
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(p->master >= 0);
    assert_int_equal(grantpt(p->master), 0);
    assert_int_equal(unlockpt(p->master), 0);
    const char *name = ptsname(p->master);
    assert_non_null(name);
    p->slave = open(name, O_RDWR | O_NOCTTY);
    assert_true(p->slave >= 0);
    assert_int_equal(tcgetattr(p->slave, &p->orig), 0);
    /* what a login terminal looks like, so "raw" is a change */
    assert_true(p->orig.c_lflag & ICANON);
    assert_true(p->orig.c_lflag & ECHO);
}

static void pty_close(struct pty *p)
{
    close(p->slave);
    close(p->master);
}

static bool termios_equal(const struct termios *a, const struct termios *b)
{
    return a->c_iflag == b->c_iflag && a->c_oflag == b->c_oflag && a->c_cflag == b->c_cflag &&
           a->c_lflag == b->c_lflag && memcmp(a->c_cc, b->c_cc, sizeof(a->c_cc)) == 0;
}

static bool pty_restored(const struct pty *p)
{
    struct termios now_t;
    return tcgetattr(p->slave, &now_t) == 0 && termios_equal(&now_t, &p->orig);
}

static struct console *pty_console(const struct pty *p)
{
    struct console_config cfg = {
        .in_fd = p->slave,
        .out_fd = p->slave,
        .input_ready = on_ready,
        .quit = on_quit,
    };
    return console_create(&cfg);
}

/* Reads from the master until len bytes came or `secs` passed. */
static size_t master_read(int fd, char *buf, size_t len, double secs)
{
    size_t got = 0;
    double until = now(CLOCK_MONOTONIC) + secs;
    while (got < len && now(CLOCK_MONOTONIC) < until) {
        ssize_t n = read(fd, buf + got, len - got);
        if (n > 0)
            got += (size_t)n;
        else
            sleep_ms(1);
    }
    return got;
}

static void test_pty_raw_then_restored(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    struct console *c = pty_console(&p);
    assert_non_null(c);

    struct termios t;
    assert_int_equal(tcgetattr(p.slave, &t), 0);
    assert_false(t.c_lflag & (ICANON | ECHO | ISIG | IEXTEN));
    assert_false(t.c_iflag & (ICRNL | IXON | ISTRIP));
    assert_true(t.c_oflag & OPOST);
    assert_true(t.c_oflag & ONLCR);
    assert_int_equal(t.c_cflag & CSIZE, CS8);
    assert_int_equal(t.c_cc[VMIN], 1);

    /* ^C and CR reach the guest untouched, nothing is echoed */
    write_all(p.master, "\x03ls\r", 4);
    WAIT_FOR(console_pending(c) == 4);
    uint8_t buf[16];
    assert_int_equal(console_read(c, buf, sizeof(buf)), 4);
    assert_memory_equal(buf, "\x03ls\r", 4);

    /* the escape is on by default on a tty */
    write_all(p.master, "\x01x", 2);
    WAIT_FOR(atomic_load(&quit_calls) == 1);
    assert_int_equal(console_pending(c), 0);

    /* a bare "\n" from the guest still starts a new line */
    console_write(c, (const uint8_t *)"ok\n", 3);
    char out[8];
    assert_int_equal(fcntl(p.master, F_SETFL, fcntl(p.master, F_GETFL) | O_NONBLOCK), 0);
    assert_int_equal(master_read(p.master, out, 4, 2.0), 4);
    assert_memory_equal(out, "ok\r\n", 4);
    assert_int_equal(master_read(p.master, out, 1, 0.1), 0); /* no echo of the input */

    /* one console per tty */
    errno = 0;
    assert_null(pty_console(&p));
    assert_int_equal(errno, EBUSY);
    assert_false(pty_restored(&p));

    console_destroy(c);
    assert_true(pty_restored(&p));

    /* and the tty can be taken again */
    c = pty_console(&p);
    assert_non_null(c);
    console_destroy(c);
    assert_true(pty_restored(&p));
    pty_close(&p);
}

static struct console *child_console; /* reachable at exit: not a leak */

/* In a child: take the pty, then end by `how`. The parent checks the terminal. */
static void run_child(struct pty *p, int how, int *status)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_console = pty_console(p);
        if (!child_console)
            _exit(100);
        struct termios t;
        if (tcgetattr(p->slave, &t) != 0 || (t.c_lflag & ICANON))
            _exit(101);
        if (how == 0)
            exit(0);
        kill(getpid(), how);
        sleep_ms(2000);
        _exit(102);
    }
    assert_int_equal(waitpid(pid, status, 0), pid);
}

static void test_pty_restored_on_exit(void **state)
{
    (void)state;
    struct pty p;
    pty_open(&p);
    int status;
    run_child(&p, 0, &status);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(pty_restored(&p));
    pty_close(&p);
}

static void test_pty_restored_on_fatal_signal(void **state)
{
    (void)state;
    static const int sigs[] = {SIGTERM, SIGHUP, SIGINT};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
        struct pty p;
        pty_open(&p);
        int status;
        run_child(&p, sigs[i], &status);
        /* the signal still kills, with its own number */
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), sigs[i]);
        assert_true(pty_restored(&p));
        pty_close(&p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_input_in_order, reset),
        cmocka_unit_test_setup(test_backpressure_no_loss_no_spin, reset),
        cmocka_unit_test_setup(test_output_reaches_fd, reset),
        cmocka_unit_test_setup(test_output_partial_writes, reset),
        cmocka_unit_test_setup(test_output_epipe, reset),
        cmocka_unit_test_setup(test_eof_keeps_pending, reset),
        cmocka_unit_test_setup(test_escape_quit, reset),
        cmocka_unit_test_setup(test_escape_literal_and_others, reset),
        cmocka_unit_test_setup(test_escape_help, reset),
        cmocka_unit_test_setup(test_escape_off_for_pipes, reset),
        cmocka_unit_test_setup(test_destroy_while_polling, reset),
        cmocka_unit_test_setup(test_destroy_while_ring_full, reset),
        cmocka_unit_test_setup(test_no_input, reset),
        cmocka_unit_test_setup(test_pty_raw_then_restored, reset),
        cmocka_unit_test_setup(test_pty_restored_on_exit, reset),
        cmocka_unit_test_setup(test_pty_restored_on_fatal_signal, reset),
    };
    return cmocka_run_group_tests_name("console", tests, NULL, NULL);
}
