/* The 16550A console UART: registers as Linux's 8250 driver uses them. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "devices/uart8250.h"

enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2 };
enum { LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

/* What the callbacks saw. */
struct sink {
    uint8_t tx[4096];
    size_t ntx;
    size_t tx_calls;
    unsigned irq_calls;
    bool level;
    struct uart8250 *u; /* for callbacks that call back in */
    bool ack_thre_in_irq;
};

static void on_tx(void *opaque, const uint8_t *buf, size_t len)
{
    struct sink *s = opaque;
    assert_true(s->ntx + len <= sizeof(s->tx));
    memcpy(s->tx + s->ntx, buf, len);
    s->ntx += len;
    s->tx_calls++;
}

static void on_irq(void *opaque, bool level)
{
    struct sink *s = opaque;
    assert_true(level != s->level); /* only changes are reported */
    s->level = level;
    s->irq_calls++;
    if (level && s->ack_thre_in_irq) {
        /* A handler running right inside the callback: reading IIR
           acknowledges THR empty, which lowers the line again. */
        uint64_t v;
        assert_true(uart8250_read(s->u, IIR, 1, &v));
    }
}

static const struct uart8250_ops sink_ops = {.tx = on_tx, .irq = on_irq};

static struct uart8250 *make(struct sink *s)
{
    memset(s, 0, sizeof(*s));
    s->u = uart8250_create(&sink_ops, s);
    assert_non_null(s->u);
    return s->u;
}

static uint8_t rd(struct uart8250 *u, unsigned off)
{
    uint64_t v = 0xdead;
    assert_true(uart8250_read(u, off, 1, &v));
    assert_true(v <= 0xff);
    return (uint8_t)v;
}

static void wr(struct uart8250 *u, unsigned off, uint8_t v)
{
    assert_true(uart8250_write(u, off, 1, v));
}

static size_t feed(struct uart8250 *u, const char *str)
{
    return uart8250_receive(u, (const uint8_t *)str, strlen(str));
}

static void test_reset_state(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    assert_int_equal(rd(u, IER), 0);
    assert_int_equal(rd(u, IIR), 0x01);
    assert_int_equal(rd(u, LCR), 0);
    assert_int_equal(rd(u, MCR), 0);
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(rd(u, MSR), 0xb0);
    assert_int_equal(rd(u, SCR), 0);
    assert_int_equal(rd(u, RBR), 0);           /* empty */
    assert_int_equal(uart8250_rx_space(u), 1); /* FIFO off after reset */
    assert_int_equal(s.irq_calls, 0);
    assert_int_equal(s.ntx, 0);
    uart8250_destroy(u);
    uart8250_destroy(NULL);
}

static void test_thr_reaches_tx(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    const char *msg = "Hello, 8250\n";
    for (const char *p = msg; *p; p++)
        wr(u, THR, (uint8_t)*p);
    assert_int_equal(s.ntx, strlen(msg));
    assert_int_equal(s.tx_calls, strlen(msg)); /* immediately, one byte per write */
    assert_memory_equal(s.tx, msg, strlen(msg));
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(s.irq_calls, 0); /* IER is 0 */
    uart8250_destroy(u);
}

static void test_lsr_bits(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    assert_int_equal(rd(u, LSR), 0x60); /* THRE|TEMT, no data */
    assert_int_equal(feed(u, "x"), 1);
    assert_int_equal(rd(u, LSR), 0x61);
    assert_int_equal(rd(u, LSR), 0x61); /* reading LSR has no side effect */
    assert_int_equal(rd(u, RBR), 'x');
    assert_int_equal(rd(u, LSR), 0x60);
    wr(u, LSR, 0x00); /* ignored */
    assert_int_equal(rd(u, LSR), 0x60);
    uart8250_destroy(u);
}

static void test_rx_fifo(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    const char *in = "0123456789abcdefXYZW";
    wr(u, FCR, 0x01);
    assert_int_equal(uart8250_rx_space(u), 16);
    assert_int_equal(feed(u, in), 16);
    assert_int_equal(uart8250_rx_space(u), 0);
    assert_int_equal(feed(u, in + 16), 0); /* full: nothing taken */
    assert_int_equal(uart8250_receive(u, NULL, 5), 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(rd(u, RBR), (uint8_t)in[i]);
    assert_int_equal(uart8250_rx_space(u), 10);
    assert_int_equal(feed(u, in + 16), 4); /* the caller's retry */
    for (int i = 10; i < 20; i++) {
        assert_int_equal(rd(u, LSR) & 0x01, 1);
        assert_int_equal(rd(u, RBR), (uint8_t)in[i]);
    }
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(rd(u, RBR), 0);
    assert_int_equal(uart8250_rx_space(u), 16);
    assert_int_equal(uart8250_receive(u, (const uint8_t *)"", 0), 0);
    uart8250_destroy(u);
}

static void test_rx_fifo_disabled(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    /* 16450 mode: one byte at a time, nothing lost. */
    assert_int_equal(feed(u, "ab"), 1);
    assert_int_equal(uart8250_rx_space(u), 0);
    assert_int_equal(feed(u, "b"), 0);
    assert_int_equal(rd(u, RBR), 'a');
    assert_int_equal(feed(u, "b"), 1);
    assert_int_equal(rd(u, RBR), 'b');
    assert_int_equal(rd(u, LSR), 0x60);
    uart8250_destroy(u);
}

static void test_dlab(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, IER, 0x01);
    assert_int_equal(feed(u, "r"), 1);
    assert_int_equal(s.irq_calls, 1);
    wr(u, LCR, 0x83);
    wr(u, DLL, 0x0c);
    wr(u, DLM, 0x01);
    assert_int_equal(rd(u, DLL), 0x0c);
    assert_int_equal(rd(u, DLM), 0x01);
    assert_int_equal(rd(u, LSR), 0x61); /* reading DLL did not consume RBR */
    assert_int_equal(rd(u, LCR), 0x83);
    assert_int_equal(s.ntx, 0); /* writing DLL did not transmit */
    wr(u, LCR, 0x03);
    assert_int_equal(rd(u, IER), 0x01); /* writing DLM did not touch IER */
    assert_int_equal(rd(u, RBR), 'r');
    wr(u, THR, 'T');
    assert_int_equal(s.ntx, 1);
    wr(u, LCR, 0x83); /* the latch kept its value */
    assert_int_equal(rd(u, DLL), 0x0c);
    assert_int_equal(rd(u, DLM), 0x01);
    assert_int_equal(rd(u, IIR), 0x01); /* IIR is not behind the latch */
    uart8250_destroy(u);
}

static void test_iir_priorities(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, FCR, 0x01);
    assert_int_equal(rd(u, IIR), 0xc1);
    assert_int_equal(feed(u, "ab"), 2);
    assert_int_equal(rd(u, IIR), 0xc1); /* nothing enabled */
    wr(u, IER, 0x03);
    assert_int_equal(rd(u, IIR), 0xc4); /* data beats THR empty */
    assert_int_equal(rd(u, IIR), 0xc4); /* and did not acknowledge it */
    assert_int_equal(rd(u, RBR), 'a');
    assert_int_equal(rd(u, IIR), 0xc4);
    assert_int_equal(rd(u, RBR), 'b');
    assert_int_equal(rd(u, IIR), 0xc2); /* reported, so acknowledged */
    assert_int_equal(rd(u, IIR), 0xc1);
    wr(u, FCR, 0x00);
    wr(u, IER, 0x00);
    assert_int_equal(rd(u, IIR), 0x01); /* no FIFO bits */
    wr(u, IER, 0x02);
    assert_int_equal(rd(u, IIR), 0x02);
    uart8250_destroy(u);
}

static void test_thre_clear_and_rearm(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, IER, 0x02); /* enabling it with THR empty makes it pending */
    assert_true(s.level);
    assert_int_equal(rd(u, IIR), 0x02);
    assert_false(s.level); /* cleared by the IIR read */
    assert_int_equal(rd(u, IIR), 0x01);
    wr(u, IER, 0x02); /* unchanged enable bit: stays acknowledged */
    assert_int_equal(rd(u, IIR), 0x01);
    wr(u, THR, 'x'); /* transmits instantly: THR empty again */
    assert_true(s.level);
    wr(u, THR, 'y'); /* writing THR clears it, and it re-arms */
    assert_true(s.level);
    wr(u, IER, 0x00); /* disabling withdraws it */
    assert_false(s.level);
    assert_int_equal(rd(u, IIR), 0x01);
    wr(u, IER, 0x02); /* re-enabling: pending again */
    assert_true(s.level);
    wr(u, IER, 0x00);
    wr(u, THR, 'z'); /* with it disabled, THR writes do not latch it */
    wr(u, IER, 0x00);
    assert_int_equal(rd(u, IIR), 0x01);
    assert_int_equal(s.irq_calls, 6);
    assert_memory_equal(s.tx, "xyz", 3);
    uart8250_destroy(u);
}

static void test_irq_exactly_on_change(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, FCR, 0x01);
    assert_int_equal(feed(u, "abc"), 3);
    assert_int_equal(s.irq_calls, 0); /* not enabled */
    wr(u, IER, 0x01);
    assert_int_equal(s.irq_calls, 1);
    assert_true(s.level);
    assert_int_equal(feed(u, "d"), 1);
    wr(u, IER, 0x01);
    assert_int_equal(rd(u, RBR), 'a');
    assert_int_equal(rd(u, IIR), 0xc4);
    assert_int_equal(s.irq_calls, 1); /* still high: no call */
    rd(u, RBR);
    rd(u, RBR);
    assert_int_equal(rd(u, RBR), 'd');
    assert_int_equal(s.irq_calls, 2);
    assert_false(s.level);
    wr(u, IER, 0x03); /* THR empty */
    assert_int_equal(s.irq_calls, 3);
    assert_int_equal(feed(u, "e"), 1); /* data too: line stays high */
    assert_int_equal(s.irq_calls, 3);
    rd(u, RBR);
    assert_int_equal(s.irq_calls, 3); /* THR empty still pending */
    rd(u, IIR);
    assert_int_equal(s.irq_calls, 4);
    assert_false(s.level);
    assert_int_equal(feed(u, "f"), 1);
    assert_int_equal(s.irq_calls, 5);
    wr(u, FCR, 0x03); /* clearing the FIFO drops the data */
    assert_int_equal(s.irq_calls, 6);
    assert_false(s.level);
    uart8250_destroy(u);
}

static void test_irq_callback_reenters(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    s.ack_thre_in_irq = true;
    wr(u, IER, 0x02); /* raises; the callback's IIR read lowers it */
    assert_int_equal(s.irq_calls, 2);
    assert_false(s.level);
    wr(u, THR, '!');
    assert_int_equal(s.irq_calls, 4);
    assert_false(s.level);
    assert_int_equal(s.ntx, 1);
    uart8250_destroy(u);
}

static void test_loopback(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, FCR, 0x01);
    assert_int_equal(feed(u, "h"), 1); /* host byte already in the FIFO stays */
    wr(u, MCR, 0x10);
    assert_int_equal(rd(u, MCR), 0x10);
    assert_int_equal(uart8250_rx_space(u), 0); /* receiver disconnected */
    assert_int_equal(feed(u, "ignored"), 0);
    wr(u, THR, 'l');
    wr(u, THR, 'b');
    assert_int_equal(s.ntx, 0); /* nothing reached the console */
    assert_int_equal(rd(u, LSR), 0x61);
    assert_int_equal(rd(u, RBR), 'h');
    assert_int_equal(rd(u, RBR), 'l');
    assert_int_equal(rd(u, RBR), 'b');
    assert_int_equal(rd(u, LSR), 0x60);
    /* 20 bytes into a 16-byte FIFO: the overflow is lost, order kept */
    for (int i = 0; i < 20; i++)
        wr(u, THR, (uint8_t)('A' + i));
    for (int i = 0; i < 16; i++)
        assert_int_equal(rd(u, RBR), 'A' + i);
    assert_int_equal(rd(u, LSR), 0x60);
    /* 16450 mode overrun: the newest byte replaces RBR */
    wr(u, FCR, 0x00);
    wr(u, THR, '1');
    wr(u, THR, '2');
    assert_int_equal(rd(u, RBR), '2');
    assert_int_equal(rd(u, LSR), 0x60);
    /* modem lines: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD */
    rd(u, MSR);
    wr(u, MCR, 0x10 | 0x0a); /* RTS|OUT2: Linux's probe expects 0x90 */
    assert_int_equal(rd(u, MSR) & 0xf0, 0x90);
    wr(u, MCR, 0x10 | 0x05);
    assert_int_equal(rd(u, MSR) & 0xf0, 0x60);
    wr(u, MCR, 0x1f);
    assert_int_equal(rd(u, MSR) & 0xf0, 0xf0);
    wr(u, MCR, 0x10);
    assert_int_equal(rd(u, MSR) & 0xf0, 0x00);
    wr(u, MCR, 0x00);
    assert_int_equal(rd(u, MSR) & 0xf0, 0xb0);
    assert_int_equal(uart8250_rx_space(u), 1);
    wr(u, THR, 'o');
    assert_int_equal(s.ntx, 1);
    assert_int_equal(s.tx[0], 'o');
    uart8250_destroy(u);
}

static void test_modem_status(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    assert_int_equal(rd(u, MSR), 0xb0);
    wr(u, MCR, 0x0b); /* outside loopback the inputs do not follow MCR */
    assert_int_equal(rd(u, MSR), 0xb0);
    wr(u, MCR, 0x14); /* loopback, OUT1 only: CTS, DSR, DCD drop, RI rises */
    assert_int_equal(rd(u, MSR), 0x40 | 0x0b);
    assert_int_equal(rd(u, MSR), 0x40); /* deltas clear on read */
    wr(u, IER, 0x08);
    assert_int_equal(s.irq_calls, 0);
    wr(u, MCR, 0x10); /* RI trailing edge */
    assert_true(s.level);
    assert_int_equal(rd(u, IIR), 0x00);
    assert_int_equal(rd(u, IIR), 0x00); /* IIR read does not clear it */
    assert_int_equal(rd(u, MSR), 0x04);
    assert_false(s.level);
    assert_int_equal(rd(u, IIR), 0x01);
    wr(u, MCR, 0x14); /* RI leading edge: no delta */
    assert_int_equal(rd(u, MSR), 0x40);
    assert_int_equal(s.irq_calls, 2);
    uart8250_destroy(u);
}

static void test_fcr(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    wr(u, FCR, 0xc1); /* trigger level bits are accepted and ignored */
    assert_int_equal(rd(u, IIR), 0xc1);
    assert_int_equal(feed(u, "abcdefgh"), 8);
    wr(u, FCR, 0xc5); /* clear TX only */
    assert_int_equal(uart8250_rx_space(u), 8);
    wr(u, FCR, 0xc3); /* clear RX */
    assert_int_equal(uart8250_rx_space(u), 16);
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(rd(u, RBR), 0);
    assert_int_equal(rd(u, IIR), 0xc1); /* the enable bit stays */
    assert_int_equal(feed(u, "xyz"), 3);
    assert_int_equal(rd(u, RBR), 'x'); /* order survives the reset */
    wr(u, FCR, 0x00);                  /* disabling the FIFO empties it */
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(rd(u, IIR), 0x01);
    assert_int_equal(feed(u, "q"), 1);
    wr(u, FCR, 0x02); /* clear without the enable bit: ignored */
    assert_int_equal(rd(u, LSR), 0x61);
    wr(u, FCR, 0x01); /* enabling it empties it too */
    assert_int_equal(rd(u, LSR), 0x60);
    assert_int_equal(feed(u, "q"), 1);
    wr(u, FCR, 0x01); /* rewriting the same enable keeps the data */
    assert_int_equal(rd(u, RBR), 'q');
    uart8250_destroy(u);
}

static void test_hostile_access(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);
    const uint64_t bad_off[] = {8, 9, 0x100, 0xffffffff, UINT64_MAX};
    const unsigned bad_size[] = {0, 2, 3, 4, 8, 16, UINT32_MAX};
    uint64_t v;

    assert_int_equal(feed(u, "k"), 1);
    wr(u, SCR, 0x5a);
    for (size_t i = 0; i < sizeof(bad_off) / sizeof(bad_off[0]); i++) {
        v = 0x1234;
        assert_false(uart8250_read(u, bad_off[i], 1, &v));
        assert_int_equal(v, 0);
        assert_false(uart8250_write(u, bad_off[i], 1, 'X'));
        assert_false(uart8250_read(u, bad_off[i], 1, NULL));
    }
    for (size_t i = 0; i < sizeof(bad_size) / sizeof(bad_size[0]); i++)
        for (uint64_t off = 0; off < 8; off++) {
            v = 0x1234;
            assert_false(uart8250_read(u, off, bad_size[i], &v));
            assert_int_equal(v, 0);
            assert_false(uart8250_write(u, off, bad_size[i], UINT64_MAX));
        }
    /* none of that touched the state */
    assert_int_equal(s.ntx, 0);
    assert_int_equal(s.irq_calls, 0);
    assert_int_equal(rd(u, SCR), 0x5a);
    assert_int_equal(rd(u, LCR), 0);
    assert_int_equal(rd(u, LSR), 0x61);
    assert_int_equal(rd(u, RBR), 'k');
    /* only the low byte of a value counts */
    assert_true(uart8250_write(u, THR, 1, UINT64_C(0xffffffffffffff41)));
    assert_int_equal(s.ntx, 1);
    assert_int_equal(s.tx[0], 'A');
    assert_true(uart8250_read(u, LSR, 1, NULL));
    /* reserved bits read 0 */
    wr(u, IER, 0xff);
    assert_int_equal(rd(u, IER), 0x0f);
    wr(u, MCR, 0xef);
    assert_int_equal(rd(u, MCR), 0x0f);
    wr(u, MSR, 0x00); /* read-only */
    assert_int_equal(rd(u, MSR) & 0xf0, 0xb0);
    /* every value at every offset, both DLAB states: no crash, bytes only */
    for (unsigned lcr = 0; lcr < 2; lcr++)
        for (unsigned off = 0; off < 8; off++)
            for (unsigned val = 0; val < 256; val++) {
                wr(u, off, (uint8_t)val);
                wr(u, LCR, lcr ? 0x80 : 0x00);
                rd(u, off);
            }
    uart8250_destroy(u);
}

static void test_no_callbacks(void **state)
{
    (void)state;
    struct uart8250 *u = uart8250_create(NULL, NULL);
    assert_non_null(u);
    wr(u, IER, 0x0f);
    wr(u, THR, 'x');
    assert_int_equal(uart8250_receive(u, (const uint8_t *)"y", 1), 1);
    assert_int_equal(rd(u, IIR), 0x04);
    assert_int_equal(rd(u, RBR), 'y');
    uart8250_destroy(u);

    struct uart8250_ops partial = {.tx = NULL, .irq = NULL};
    u = uart8250_create(&partial, NULL);
    assert_non_null(u);
    wr(u, THR, 'x');
    uart8250_destroy(u);
}

/* Roughly what Linux's 8250 core does from probe to the first console output. */
static void test_linux_probe_sequence(void **state)
{
    (void)state;
    struct sink s;
    struct uart8250 *u = make(&s);

    /* autoconfig: scratch, IER, loopback tests */
    wr(u, SCR, 0xa5);
    assert_int_equal(rd(u, SCR), 0xa5);
    wr(u, SCR, 0x5a);
    assert_int_equal(rd(u, SCR), 0x5a);
    uint8_t saved_ier = rd(u, IER);
    wr(u, IER, 0x00);
    assert_int_equal(rd(u, IER) & 0x0f, 0x00);
    wr(u, IER, 0x0f);
    assert_int_equal(rd(u, IER) & 0x0f, 0x0f);
    wr(u, IER, saved_ier);
    uint8_t saved_mcr = rd(u, MCR);
    uint8_t saved_lcr = rd(u, LCR);
    wr(u, MCR, 0x10 | 0x0a);
    assert_int_equal(rd(u, MSR) & 0xf0, 0x90);
    wr(u, MCR, saved_mcr);
    /* FIFO type: IIR[7:6] = 3 means 16550A */
    wr(u, LCR, 0xbf);
    wr(u, FCR, 0x00); /* the EFR write of a 16650 probe lands on FCR here */
    wr(u, LCR, 0x00);
    wr(u, FCR, 0x01);
    assert_int_equal(rd(u, IIR) >> 6, 3);
    /* not a 16650 (EFR would read 0), not a 16750 (no 64-byte FIFO bit) */
    wr(u, LCR, 0x80);
    assert_int_not_equal(rd(u, IIR), 0);
    wr(u, LCR, 0xbf);
    assert_int_not_equal(rd(u, IIR), 0);
    wr(u, LCR, 0x00);
    wr(u, FCR, 0x21);
    assert_int_equal(rd(u, IIR) >> 5, 6);
    wr(u, FCR, 0x01);
    /* not an XScale UART (IER bit 6 sticks there) */
    wr(u, IER, 0x40);
    assert_int_equal(rd(u, IER) & 0x40, 0);
    wr(u, IER, 0x00);
    wr(u, LCR, saved_lcr);
    wr(u, FCR, 0x07);
    wr(u, FCR, 0x00);
    assert_int_equal(s.irq_calls, 2); /* the 0x0f IER test pulsed THR empty */
    assert_false(s.level);

    /* startup: clear FIFOs and stale interrupts */
    wr(u, FCR, 0x01);
    wr(u, FCR, 0x07);
    wr(u, FCR, 0x00);
    assert_int_not_equal(rd(u, LSR), 0xff);
    rd(u, RBR);
    rd(u, IIR);
    rd(u, MSR);
    wr(u, LCR, 0x03);
    /* THRE test: must re-assert each time IER.THRI is set */
    wr(u, IER, 0x02);
    uint8_t iir1 = rd(u, IIR);
    wr(u, IER, 0x00);
    wr(u, IER, 0x02);
    uint8_t iir = rd(u, IIR);
    wr(u, IER, 0x00);
    assert_int_equal(iir1 & 0x01, 0);
    assert_int_equal(iir & 0x01, 0); /* no UART_BUG_THRE */
    wr(u, MCR, 0x0b);                /* DTR|RTS|OUT2 */
    /* TXEN test: enabling THRI with TEMT set must show an interrupt */
    wr(u, IER, 0x02);
    assert_int_not_equal(rd(u, LSR) & 0x40, 0);
    assert_int_equal(rd(u, IIR) & 0x01, 0); /* no UART_BUG_TXEN */
    wr(u, IER, 0x00);
    rd(u, LSR);
    rd(u, RBR);
    rd(u, IIR);
    rd(u, MSR);
    wr(u, IER, 0x05); /* RX data and line status */
    assert_false(s.level);

    /* set_termios: 115200 8N1, FIFO with 8-byte trigger */
    wr(u, LCR, 0x83);
    wr(u, DLL, 0x01);
    wr(u, DLM, 0x00);
    wr(u, LCR, 0x03);
    wr(u, FCR, 0x81);
    assert_int_equal(rd(u, IIR), 0xc1);
    assert_false(s.level);

    /* console output: tx starts by enabling THRI, the handler fills THR */
    unsigned calls = s.irq_calls;
    wr(u, IER, 0x07);
    assert_true(s.level);
    assert_int_equal(rd(u, IIR), 0xc2); /* acknowledged: the line drops */
    assert_false(s.level);
    assert_int_equal(rd(u, LSR) & 0x20, 0x20);
    for (const char *p = "login: "; *p; p++)
        wr(u, THR, (uint8_t)*p);
    assert_true(s.level); /* THR empty again; the driver has nothing left */
    wr(u, IER, 0x05);     /* stop_tx */
    assert_false(s.level);
    assert_int_equal(s.irq_calls, calls + 4);
    assert_memory_equal(s.tx, "login: ", 7);

    /* console input: one interrupt, read while DR */
    assert_int_equal(feed(u, "root\n"), 5);
    assert_true(s.level);
    assert_int_equal(rd(u, IIR), 0xc4);
    char got[8] = "";
    size_t n = 0;
    while ((rd(u, LSR) & 0x01) && n < sizeof(got) - 1)
        got[n++] = (char)rd(u, RBR);
    assert_string_equal(got, "root\n");
    assert_false(s.level);
    assert_int_equal(rd(u, IIR), 0xc1);
    uart8250_destroy(u);
}

/* A console thread feeding input while a vCPU thread drains it. */
#define STRESS_BYTES 20000

struct stress {
    struct uart8250 *u;
    atomic_int in_irq;
    atomic_uint irq_calls;
    atomic_bool level;
    atomic_bool bad;
};

static void stress_irq(void *opaque, bool level)
{
    struct stress *st = opaque;
    if (atomic_fetch_add(&st->in_irq, 1) != 0)
        atomic_store(&st->bad, true); /* calls overlapped */
    if (atomic_exchange(&st->level, level) == level)
        atomic_store(&st->bad, true); /* not a change */
    atomic_fetch_add(&st->irq_calls, 1);
    atomic_fetch_sub(&st->in_irq, 1);
}

static void *stress_feeder(void *arg)
{
    struct stress *st = arg;
    uint8_t buf[7];
    unsigned sent = 0;
    while (sent < STRESS_BYTES) {
        size_t len = sizeof(buf);
        if (len > STRESS_BYTES - sent)
            len = STRESS_BYTES - sent;
        for (size_t i = 0; i < len; i++)
            buf[i] = (uint8_t)(sent + i);
        sent += (unsigned)uart8250_receive(st->u, buf, len);
    }
    return NULL;
}

static void test_stress_two_threads(void **state)
{
    (void)state;
    struct stress st = {0};
    const struct uart8250_ops ops = {.irq = stress_irq};
    st.u = uart8250_create(&ops, &st);
    assert_non_null(st.u);
    wr(st.u, FCR, 0x07);
    wr(st.u, IER, 0x01);

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stress_feeder, &st), 0);
    for (unsigned got = 0; got < STRESS_BYTES;) {
        if (rd(st.u, LSR) & 0x01) {
            assert_int_equal(rd(st.u, RBR), (uint8_t)got);
            got++;
        }
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_false(atomic_load(&st.bad));
    assert_false(atomic_load(&st.level)); /* the final level got through */
    assert_int_equal(rd(st.u, IIR), 0xc1);
    assert_true(atomic_load(&st.irq_calls) >= 2);
    assert_true(atomic_load(&st.irq_calls) % 2 == 0);
    uart8250_destroy(st.u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reset_state),
        cmocka_unit_test(test_thr_reaches_tx),
        cmocka_unit_test(test_lsr_bits),
        cmocka_unit_test(test_rx_fifo),
        cmocka_unit_test(test_rx_fifo_disabled),
        cmocka_unit_test(test_dlab),
        cmocka_unit_test(test_iir_priorities),
        cmocka_unit_test(test_thre_clear_and_rearm),
        cmocka_unit_test(test_irq_exactly_on_change),
        cmocka_unit_test(test_irq_callback_reenters),
        cmocka_unit_test(test_loopback),
        cmocka_unit_test(test_modem_status),
        cmocka_unit_test(test_fcr),
        cmocka_unit_test(test_hostile_access),
        cmocka_unit_test(test_no_callbacks),
        cmocka_unit_test(test_linux_probe_sequence),
        cmocka_unit_test(test_stress_two_threads),
    };
    return cmocka_run_group_tests_name("uart8250", tests, NULL, NULL);
}
