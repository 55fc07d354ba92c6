/* SPDX-License-Identifier: MIT */
/*
 * console.h - the host side of the guest console, as `qemu -nographic`
 * users know it: guest output goes to stdout, the keyboard (or a pipe) goes
 * to the guest, and Ctrl-A x leaves.
 *
 * Input: a reader thread moves bytes from the input fd into a ring of
 * CONSOLE_INPUT_BUFFER bytes and then calls cfg->input_ready. The VMM pulls
 * them with console_read(), which never blocks, whenever it has room for
 * them (on input_ready, and again each time the guest empties the UART's
 * receive FIFO). No input is ever lost: while the ring is full the reader
 * stops reading, so the kernel's pipe or tty buffer holds the rest and, in
 * the end, the writer blocks. The waiting reader sleeps on a condition
 * variable until console_read() frees a quarter of the ring, so a guest
 * that never reads costs no CPU. EOF (or a read error) on the input ends
 * the reader but not the VM, as in QEMU; bytes already read stay readable.
 *
 * Output: console_write() writes everything, retrying partial writes, EINTR
 * and EAGAIN (then waiting in poll()). It blocks only as long as the output
 * does not drain, like any write to stdout. Calls from several threads are
 * serialised, so one buffer is never interleaved with another. If the
 * output is a pipe whose reader has gone (EPIPE), output from then on is
 * dropped and console_output_broken() says so. console_create() therefore
 * sets SIGPIPE to SIG_IGN, process-wide and for good, unless the process
 * already handles or ignores it: a console must not kill the VM.
 *
 * Terminal: when the input fd is a tty, console_create() puts it in raw
 * mode (no echo, no line editing, no signals from ^C/^Z/^\: those keys go
 * to the guest, no CR/NL translation on input, 8-bit) but keeps output
 * processing (OPOST|ONLCR), so a bare "\n" from the guest still starts a
 * new line. Typed-ahead input is kept (TCSANOW, not TCSAFLUSH). The
 * original settings come back on console_destroy(), on exit() (an atexit
 * handler) and on fatal signals (HUP INT QUIT ILL ABRT BUS FPE SEGV TERM
 * SYS XCPU XFSZ): for each of these whose action is the default one,
 * console_create() installs a handler that restores the terminal and
 * re-raises the signal with the default action. Signals the process already
 * handles are left to their handler, which should end in console_destroy()
 * or exit(). SIGKILL and SIGSTOP cannot be caught: `stty sane` repairs the
 * terminal then. Only one console at a time may own a tty.
 *
 * Escape (on by default when the input is a tty): Ctrl-A x calls cfg->quit;
 * Ctrl-A Ctrl-A sends one Ctrl-A to the guest; Ctrl-A h prints the keys to
 * stderr; Ctrl-A followed by any other byte sends both bytes, and a Ctrl-A
 * left pending at EOF is sent alone.
 *
 * Threads: console_read, console_pending, console_write and the two state
 * queries may be called from any thread at any time between create and
 * destroy. input_ready and quit run on the reader thread with no console
 * lock held, so they may call console_read(); they must not call
 * console_destroy() (it joins that thread): quit should ask the VM to stop,
 * and whoever tears the VM down destroys the console.
 */
#ifndef DUVISOR_VMM_CONSOLE_H
#define DUVISOR_VMM_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Input ring size: how much the reader takes ahead of the guest. */
#define CONSOLE_INPUT_BUFFER 4096u

/* The escape prefix (Ctrl-A) and the byte after it that quits. */
#define CONSOLE_ESCAPE_CHAR 0x01u
#define CONSOLE_ESCAPE_QUIT 'x'

enum console_escape {
    CONSOLE_ESCAPE_AUTO = 0, /* on if in_fd is a tty */
    CONSOLE_ESCAPE_ON,
    CONSOLE_ESCAPE_OFF,
};

struct console;

struct console_config {
    int in_fd;  /* usually 0; -1: no input, no reader thread */
    int out_fd; /* usually 1; -1: output is discarded */
    enum console_escape escape;
    /* Bytes were added to the input ring. Reader thread; NULL: nobody is told. */
    void (*input_ready)(void *opaque);
    /* The user typed Ctrl-A x. Reader thread; NULL: the keys are swallowed. */
    void (*quit)(void *opaque);
    void *opaque;
};

/*
 * Takes over the terminal if in_fd is a tty and starts the reader thread.
 * The fds stay the caller's: they are neither closed nor made non-blocking.
 * NULL with errno set on failure (EBUSY: another console owns a tty), and
 * then nothing was changed but, possibly, SIGPIPE.
 */
struct console *console_create(const struct console_config *cfg);
/* Stops the reader (even while it waits in poll or for room) and restores
   the terminal. Not from input_ready or quit. NULL is a no-op. */
void console_destroy(struct console *c);

/* Live upgrade: give the terminal back its own settings before exec (the
   next binary's console takes it over again), or take it back when the exec
   failed. No-ops without a terminal. */
void console_release_tty(void);
void console_reclaim_tty(void);

/* All of buf to the output; see above for errors. */
void console_write(struct console *c, const uint8_t *buf, size_t len);
/* Up to len pending input bytes, oldest first; 0 when none. Never blocks. */
size_t console_read(struct console *c, uint8_t *buf, size_t len);
/* Input bytes console_read() would return now. */
size_t console_pending(struct console *c);

/* The terminal's size (the input's, else the output's): false when neither
   is a terminal or it reports no size. */
bool console_window_size(const struct console *c, unsigned *cols, unsigned *rows);

/* The reader met EOF or a read error and has stopped (pending bytes stay). */
bool console_input_eof(struct console *c);
/* The output failed with EPIPE; console_write() now discards. */
bool console_output_broken(struct console *c);

#endif /* DUVISOR_VMM_CONSOLE_H */
