/*
 * vmrun: run a VM (duvisor or QEMU) and timestamp every line it prints, so
 * the bench scripts can measure from outside, the same way for both sides.
 *
 *   vmrun [-o LOG] [-p PIDFILE] [-T SECONDS] [-u TEXT] -- COMMAND [ARGS...]
 *
 * The clock starts right before fork(), so "process start" includes the
 * exec and the dynamic loader, as a user launching the VM would see it.
 * LOG (default stdout) gets a header line
 *
 *   # vmrun t0_mono_ns=N t0_real=SEC.USEC pid=PID
 *
 * (CLOCK_MONOTONIC and CLOCK_REALTIME at t0, for joining with times the VM
 * prints itself) and then one line per output line:
 *
 *   MS STREAM TEXT      MS: milliseconds since t0; STREAM: o (stdout) or e (stderr)
 *
 * and, when output stops for 100 ms in the middle of a line (a shell
 * prompt), that partial line once as "MS p TEXT"; the whole line still
 * follows as an o or e line if it is ever completed.
 *
 * The VM's stdin is a pipe that stays open and silent until it exits, so a
 * guest shell waits for input instead of seeing end-of-file. -p writes the
 * child's pid (for /proc readings while it runs); -u TEXT sends SIGTERM once
 * a line contains TEXT; -T sends SIGTERM after SECONDS (exit status 124).
 * A child that ignores SIGTERM gets SIGKILL 5 s later. Signals go to the
 * child's process group, which vmrun makes its own. vmrun exits with the
 * child's status (128+N if killed by signal N); SIGTERM or SIGINT sent to
 * vmrun are passed on to the child.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t forwarded_signal;

static void on_signal(int sig)
{
    forwarded_signal = sig;
}

static double now_s(clockid_t clock)
{
    struct timespec ts;
    clock_gettime(clock, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One output stream of the child, cut into lines. */
struct stream {
    int fd;
    char tag;
    char buf[65536];
    size_t len;
    bool shown;  /* the partial line in buf was already shown as a 'p' line */
    double last; /* when the last bytes arrived */
};

static FILE *out;
static double t0;

static void emit(char tag, const char *line, size_t len, double at)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    fprintf(out, "%.3f %c %.*s\n", (at - t0) * 1e3, tag, (int)len, line);
}

/* A prompt ends without a newline: show what waits in the buffer, once, as
   a 'p' line, while keeping it for the whole line that may follow. */
static void show_partial(struct stream *s)
{
    if (s->len > 0 && !s->shown) {
        emit('p', s->buf, s->len, s->last);
        s->shown = true;
    }
}

/* Read what is there; emit complete lines. True if one contained `until`. */
static bool drain(struct stream *s, const char *until, bool *eof)
{
    bool hit = false;
    ssize_t n = read(s->fd, s->buf + s->len, sizeof(s->buf) - s->len);
    double at = now_s(CLOCK_MONOTONIC);
    if (n <= 0) {
        if (n < 0 && errno == EINTR)
            return false;
        *eof = true;
        n = 0;
    }
    s->len += (size_t)n;
    size_t start = 0;
    for (size_t i = 0; i < s->len; i++) {
        if (s->buf[i] != '\n')
            continue;
        if (until && memmem(s->buf + start, i - start, until, strlen(until)))
            hit = true;
        emit(s->tag, s->buf + start, i - start, at);
        start = i + 1;
    }
    memmove(s->buf, s->buf + start, s->len - start);
    s->len -= start;
    /* A line longer than the buffer, or the last one without a newline. */
    if (s->len == sizeof(s->buf) || (*eof && s->len > 0)) {
        emit(s->tag, s->buf, s->len, at);
        s->len = 0;
    }
    if (n > 0) {
        s->shown = false;
        s->last = at;
    }
    return hit;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: vmrun [-o LOG] [-p PIDFILE] [-T SECONDS] [-u TEXT] -- COMMAND [ARGS...]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *log = NULL, *pidfile = NULL, *until = NULL;
    double timeout = 0;
    int opt;
    while ((opt = getopt(argc, argv, "+o:p:T:u:")) != -1) {
        switch (opt) {
        case 'o': log = optarg; break;
        case 'p': pidfile = optarg; break;
        case 'T': timeout = atof(optarg); break;
        case 'u': until = optarg; break;
        default: usage();
        }
    }
    if (optind >= argc)
        usage();
    out = log ? fopen(log, "w") : stdout;
    if (!out) {
        perror("vmrun: log");
        return 2;
    }
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe(in_pipe) || pipe(out_pipe) || pipe(err_pipe)) {
        perror("vmrun: pipe");
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    t0 = now_s(CLOCK_MONOTONIC);
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    pid_t pid = fork();
    if (pid < 0) {
        perror("vmrun: fork");
        return 2;
    }
    if (pid == 0) {
        setpgid(0, 0); /* its own group: our signals reach anything it starts */
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        for (int i = 0; i < 2; i++) {
            close(in_pipe[i]);
            close(out_pipe[i]);
            close(err_pipe[i]);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(argv[optind], argv + optind);
        perror("vmrun: exec");
        _exit(127);
    }
    setpgid(pid, pid); /* as the child does: whichever runs first */
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    fprintf(out, "# vmrun t0_mono_ns=%.0f t0_real=%lld.%06ld pid=%d\n", t0 * 1e9,
            (long long)real.tv_sec, real.tv_nsec / 1000, (int)pid);
    fflush(out);
    if (pidfile) {
        FILE *f = fopen(pidfile, "w");
        if (f) {
            fprintf(f, "%d\n", (int)pid);
            fclose(f);
        }
    }

    struct stream streams[2] = {{.fd = out_pipe[0], .tag = 'o'}, {.fd = err_pipe[0], .tag = 'e'}};
    bool open_[2] = {true, true}, timed_out = false;
    double term_at = 0; /* when we sent SIGTERM, 0 if not yet */
    while (open_[0] || open_[1]) {
        if (forwarded_signal && !term_at) {
            kill(-pid, forwarded_signal);
            term_at = now_s(CLOCK_MONOTONIC);
        }
        double now = now_s(CLOCK_MONOTONIC);
        if (timeout > 0 && !term_at && now - t0 > timeout) {
            timed_out = true;
            kill(-pid, SIGTERM);
            term_at = now;
        }
        if (term_at && now - term_at > 5)
            kill(-pid, SIGKILL);
        struct pollfd p[2];
        nfds_t np = 0;
        int which[2];
        for (int i = 0; i < 2; i++)
            if (open_[i]) {
                p[np] = (struct pollfd){.fd = streams[i].fd, .events = POLLIN};
                which[np++] = i;
            }
        if (poll(p, np, 100) <= 0) {
            /* 100 ms of silence: whatever is pending is a prompt. */
            for (int i = 0; i < 2; i++)
                show_partial(&streams[i]);
            fflush(out);
            continue;
        }
        for (nfds_t k = 0; k < np; k++) {
            if (!(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            bool eof = false;
            if (drain(&streams[which[k]], until, &eof) && !term_at) {
                kill(-pid, SIGTERM);
                term_at = now_s(CLOCK_MONOTONIC);
            }
            if (eof)
                open_[which[k]] = false;
        }
        fflush(out);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    close(in_pipe[1]);
    fprintf(out, "%.3f x exit %d\n", (now_s(CLOCK_MONOTONIC) - t0) * 1e3,
            WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    if (out != stdout)
        fclose(out);
    if (timed_out)
        return 124;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
