/* SPDX-License-Identifier: MIT */
/*
 * console.c - stdio console (see console.h for the contract).
 *
 * The reader thread alternates between two waits, both interruptible by
 * console_destroy(): for room in the ring (a condition variable that
 * console_read() signals) and for input (poll() on the input fd plus an
 * eventfd that destroy writes). It reads at most the room it has, so a read
 * byte always has a place to go and backpressure stays in the kernel.
 *
 * The saved termios lives in file-scope state, not in the console, because
 * the atexit and signal handlers must reach it with no pointer to hold.
 */
#include "host/sandbox.h"
#include "vmm/console.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#define RING_MASK (CONSOLE_INPUT_BUFFER - 1)
_Static_assert((CONSOLE_INPUT_BUFFER & RING_MASK) == 0, "ring size must be a power of two");
/* A full ring waits for this much room, so a slow consumer does not wake
   the reader once per byte. */
#define ROOM_LOW_WATER (CONSOLE_INPUT_BUFFER / 4)

struct console {
    struct console_config cfg;
    bool escape;

    pthread_t reader;
    bool has_reader;
    int stop_fd; /* eventfd: wakes the reader's poll() */

    pthread_mutex_t lock; /* ring, stopping, room_wanted */
    pthread_cond_t room;  /* signalled when console_read() frees room */
    uint8_t ring[CONSOLE_INPUT_BUFFER];
    size_t head, count;
    size_t room_wanted; /* nonzero: the reader sleeps until this much room */
    bool stopping;

    bool esc_pending;         /* reader only: last byte was a lone Ctrl-A */
    atomic_bool eof;          /* reader stopped on EOF or error */
    pthread_mutex_t out_lock; /* one console_write() at a time */
    atomic_bool out_broken;   /* EPIPE seen */
    bool owns_tty;            /* this console set the terminal raw */
};

/* --- terminal ------------------------------------------------------------------ */

static const int fatal_signals[] = {SIGHUP, SIGINT,  SIGQUIT, SIGILL, SIGABRT, SIGBUS,
                                    SIGFPE, SIGSEGV, SIGTERM, SIGSYS, SIGXCPU, SIGXFSZ};
#define NSIG_FATAL (sizeof(fatal_signals) / sizeof(fatal_signals[0]))

static pthread_mutex_t tty_lock = PTHREAD_MUTEX_INITIALIZER; /* create/destroy only */
static struct termios tty_saved;     /* written before tty_fd is published */
static struct termios tty_raw;       /* what tty_make_raw set */
static atomic_int tty_fd = -1;       /* the raw tty, -1 if none; read by handlers */
static bool tty_handled[NSIG_FATAL]; /* we installed the handler for this signal */
static pthread_once_t tty_atexit_once = PTHREAD_ONCE_INIT;

/* Async-signal-safe: an atomic load and tcsetattr. */
static void tty_restore_now(void)
{
    int fd = atomic_load(&tty_fd);
    if (fd >= 0)
        tcsetattr(fd, TCSANOW, &tty_saved);
}

static void tty_atexit(void)
{
    tty_restore_now();
}

static void tty_register_atexit(void)
{
    atexit(tty_atexit);
}

/* SA_RESETHAND has already put back the default action; the re-raised signal
   stays blocked until we return, and then does what it would have done. */
static void tty_on_signal(int sig)
{
    int saved_errno = errno;
    tty_restore_now();
    raise(sig);
    errno = saved_errno;
}

static void tty_install_handlers(void)
{
    for (size_t i = 0; i < NSIG_FATAL; i++) {
        struct sigaction old, sa = {.sa_handler = tty_on_signal, .sa_flags = SA_RESETHAND};
        sigemptyset(&sa.sa_mask);
        tty_handled[i] = false;
        if (sigaction(fatal_signals[i], NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
            old.sa_handler != SIG_DFL)
            continue;
        tty_handled[i] = sigaction(fatal_signals[i], &sa, NULL) == 0;
    }
}

static void tty_remove_handlers(void)
{
    for (size_t i = 0; i < NSIG_FATAL; i++) {
        struct sigaction cur, dfl = {.sa_handler = SIG_DFL};
        sigemptyset(&dfl.sa_mask);
        /* Someone may have replaced ours since; theirs stays. */
        if (tty_handled[i] && sigaction(fatal_signals[i], NULL, &cur) == 0 &&
            !(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == tty_on_signal)
            sigaction(fatal_signals[i], &dfl, NULL);
        tty_handled[i] = false;
    }
}

/* Returns 0, or an errno value. */
static int tty_make_raw(int fd)
{
    struct termios raw;
    int err = 0;
    pthread_mutex_lock(&tty_lock);
    if (atomic_load(&tty_fd) >= 0) {
        err = EBUSY;
        goto out;
    }
    if (tcgetattr(fd, &tty_saved) != 0) {
        err = errno;
        goto out;
    }
    raw = tty_saved;
    raw.c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON);
    raw.c_oflag |= OPOST | ONLCR;
    raw.c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    raw.c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
    raw.c_cflag |= CS8;
    raw.c_cc[VMIN] = 1;
    raw.c_cc[VTIME] = 0;
    tty_raw = raw;

    pthread_once(&tty_atexit_once, tty_register_atexit);
    /* Publish first, so a signal that lands between the two calls restores. */
    atomic_store(&tty_fd, fd);
    tty_install_handlers();
    if (tcsetattr(fd, TCSANOW, &raw) != 0) {
        err = errno;
        atomic_store(&tty_fd, -1);
        tty_remove_handlers();
    }
out:
    pthread_mutex_unlock(&tty_lock);
    return err;
}

static void tty_restore(void)
{
    pthread_mutex_lock(&tty_lock);
    tty_restore_now();
    atomic_store(&tty_fd, -1);
    tty_remove_handlers();
    pthread_mutex_unlock(&tty_lock);
}

void console_release_tty(void)
{
    tty_restore_now();
}

void console_reclaim_tty(void)
{
    int fd = atomic_load(&tty_fd);
    if (fd >= 0)
        tcsetattr(fd, TCSANOW, &tty_raw);
}

/* --- output -------------------------------------------------------------------- */

static void ignore_sigpipe(void)
{
    struct sigaction old, ign = {.sa_handler = SIG_IGN};
    sigemptyset(&ign.sa_mask);
    if (sigaction(SIGPIPE, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
        old.sa_handler == SIG_DFL)
        sigaction(SIGPIPE, &ign, NULL);
}

void console_write(struct console *c, const uint8_t *buf, size_t len)
{
    if (c->cfg.out_fd < 0 || len == 0)
        return;
    pthread_mutex_lock(&c->out_lock);
    while (len > 0 && !atomic_load(&c->out_broken)) {
        ssize_t n = write(c->cfg.out_fd, buf, len);
        if (n > 0) {
            buf += n;
            len -= (size_t)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            /* Someone made the fd non-blocking (perhaps through a shared tty
               file description); wait as a blocking write would. */
            struct pollfd p = {.fd = c->cfg.out_fd, .events = POLLOUT};
            poll(&p, 1, -1);
        } else if (n < 0 && errno == EPIPE) {
            atomic_store(&c->out_broken, true);
        } else {
            break; /* another error (EIO, ENOSPC...): drop this buffer, try the next */
        }
    }
    pthread_mutex_unlock(&c->out_lock);
}

bool console_output_broken(struct console *c)
{
    return atomic_load(&c->out_broken);
}

/* --- input --------------------------------------------------------------------- */

size_t console_read(struct console *c, uint8_t *buf, size_t len)
{
    pthread_mutex_lock(&c->lock);
    size_t n = len < c->count ? len : c->count;
    for (size_t i = 0; i < n; i++)
        buf[i] = c->ring[(c->head + i) & RING_MASK];
    c->head = (c->head + n) & RING_MASK;
    c->count -= n;
    if (c->room_wanted && CONSOLE_INPUT_BUFFER - c->count >= c->room_wanted)
        pthread_cond_signal(&c->room);
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool console_window_size(const struct console *c, unsigned *cols, unsigned *rows)
{
    const int fds[2] = {c->cfg.in_fd, c->cfg.out_fd};
    for (unsigned i = 0; i < 2; i++) {
        struct winsize ws;
        if (fds[i] >= 0 && ioctl(fds[i], TIOCGWINSZ, &ws) == 0 && ws.ws_col && ws.ws_row) {
            *cols = ws.ws_col;
            *rows = ws.ws_row;
            return true;
        }
    }
    return false;
}

size_t console_pending(struct console *c)
{
    pthread_mutex_lock(&c->lock);
    size_t n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}

bool console_input_eof(struct console *c)
{
    return atomic_load(&c->eof);
}

/* Room in the ring, at least `need` bytes, sleeping while there is less;
   0 once the console is stopping. */
static size_t wait_for_room(struct console *c, size_t need)
{
    pthread_mutex_lock(&c->lock);
    if (CONSOLE_INPUT_BUFFER - c->count < need) {
        c->room_wanted = need > ROOM_LOW_WATER ? need : ROOM_LOW_WATER;
        while (!c->stopping && CONSOLE_INPUT_BUFFER - c->count < c->room_wanted)
            pthread_cond_wait(&c->room, &c->lock);
        c->room_wanted = 0;
    }
    size_t room = c->stopping ? 0 : CONSOLE_INPUT_BUFFER - c->count;
    pthread_mutex_unlock(&c->lock);
    return room;
}

/* The caller made sure it fits: only the reader adds, so room only grows. */
static void push(struct console *c, const uint8_t *buf, size_t len)
{
    if (len == 0)
        return;
    pthread_mutex_lock(&c->lock);
    for (size_t i = 0; i < len; i++)
        c->ring[(c->head + c->count + i) & RING_MASK] = buf[i];
    c->count += len;
    pthread_mutex_unlock(&c->lock);
    if (c->cfg.input_ready)
        c->cfg.input_ready(c->cfg.opaque);
}

static void print_escape_help(void)
{
    static const char help[] = "\n"
                               "duvisor console keys:\n"
                               "  Ctrl-A x       quit the VM\n"
                               "  Ctrl-A Ctrl-A  send Ctrl-A to the guest\n"
                               "  Ctrl-A h       this help\n";
    ssize_t r = write(STDERR_FILENO, help, sizeof(help) - 1);
    (void)r; /* nothing useful to do if stderr is gone */
}

/* Applies the Ctrl-A keys to in[0..n), writing what the guest gets to out.
   Produces at most n + 1 bytes (a Ctrl-A held over from the last call).
   Returns the count; *quit is set if Ctrl-A x was seen. */
static size_t filter_escape(struct console *c, const uint8_t *in, size_t n, uint8_t *out,
                            bool *quit)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (!c->esc_pending) {
            if (b == CONSOLE_ESCAPE_CHAR)
                c->esc_pending = true;
            else
                out[o++] = b;
            continue;
        }
        c->esc_pending = false;
        if (b == CONSOLE_ESCAPE_QUIT) {
            *quit = true;
        } else if (b == 'h') {
            print_escape_help();
        } else if (b == CONSOLE_ESCAPE_CHAR) {
            out[o++] = b;
        } else {
            out[o++] = CONSOLE_ESCAPE_CHAR;
            out[o++] = b;
        }
    }
    return o;
}

/* Waits until the input fd has something (data, EOF or an error) to say.
   false once the console is stopping. */
static bool wait_for_input(struct console *c)
{
    struct pollfd p[2] = {
        {.fd = c->cfg.in_fd, .events = POLLIN},
        {.fd = c->stop_fd, .events = POLLIN},
    };
    for (;;) {
        int r = poll(p, 2, -1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return false; /* cannot wait: treat like EOF rather than spin */
        if (p[1].revents)
            return false;
        if (p[0].revents)
            return true; /* POLLHUP/POLLERR/POLLNVAL too: read() reports them */
    }
}

static void *reader_main(void *arg)
{
    struct console *c = arg;
    uint8_t in[CONSOLE_INPUT_BUFFER], out[CONSOLE_INPUT_BUFFER + 1];

    sandbox_enter_or_warn(SANDBOX_CONSOLE);
    for (;;) {
        /* The held-over Ctrl-A may come out as an extra byte. */
        size_t extra = c->esc_pending ? 1 : 0;
        size_t room = wait_for_room(c, 1 + extra);
        if (room == 0)
            return NULL;
        if (!wait_for_input(c)) {
            /* stopping, or poll failed: either way the reader is done */
            pthread_mutex_lock(&c->lock);
            bool stopping = c->stopping;
            pthread_mutex_unlock(&c->lock);
            if (!stopping)
                atomic_store(&c->eof, true);
            return NULL;
        }
        ssize_t n = read(c->cfg.in_fd, in, room - extra);
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
            continue;
        if (n <= 0) {
            /* EOF, or an error such as EIO from a hung-up tty */
            if (c->esc_pending) {
                c->esc_pending = false;
                push(c, &(uint8_t){CONSOLE_ESCAPE_CHAR}, 1);
            }
            atomic_store(&c->eof, true);
            return NULL;
        }
        bool quit = false;
        if (c->escape) {
            size_t o = filter_escape(c, in, (size_t)n, out, &quit);
            push(c, out, o);
        } else {
            push(c, in, (size_t)n);
        }
        if (quit && c->cfg.quit)
            c->cfg.quit(c->cfg.opaque);
    }
}

/* --- lifetime ------------------------------------------------------------------ */

struct console *console_create(const struct console_config *cfg)
{
    ignore_sigpipe();

    struct console *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    c->stop_fd = -1;
    atomic_init(&c->eof, cfg->in_fd < 0);
    atomic_init(&c->out_broken, false);
    pthread_mutex_init(&c->lock, NULL);
    pthread_mutex_init(&c->out_lock, NULL);
    pthread_cond_init(&c->room, NULL);

    int err = 0;
    bool tty = cfg->in_fd >= 0 && isatty(cfg->in_fd);
    c->escape = cfg->escape == CONSOLE_ESCAPE_ON || (cfg->escape == CONSOLE_ESCAPE_AUTO && tty);
    if (cfg->in_fd < 0)
        return c;

    c->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (c->stop_fd < 0) {
        err = errno;
        goto fail;
    }
    if (tty) {
        err = tty_make_raw(cfg->in_fd);
        if (err)
            goto fail;
        c->owns_tty = true;
    }
    err = pthread_create(&c->reader, NULL, reader_main, c);
    if (err)
        goto fail;
    c->has_reader = true;
    return c;

fail:
    if (c->owns_tty)
        tty_restore();
    if (c->stop_fd >= 0)
        close(c->stop_fd);
    pthread_cond_destroy(&c->room);
    pthread_mutex_destroy(&c->out_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
    errno = err;
    return NULL;
}

void console_destroy(struct console *c)
{
    if (!c)
        return;
    if (c->has_reader) {
        pthread_mutex_lock(&c->lock);
        c->stopping = true;
        pthread_cond_signal(&c->room);
        pthread_mutex_unlock(&c->lock);
        uint64_t one = 1;
        ssize_t r = write(c->stop_fd, &one, sizeof(one));
        (void)r; /* an eventfd write of 1 cannot fail short of overflow */
        pthread_join(c->reader, NULL);
    }
    if (c->owns_tty)
        tty_restore();
    if (c->stop_fd >= 0)
        close(c->stop_fd);
    pthread_cond_destroy(&c->room);
    pthread_mutex_destroy(&c->out_lock);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
