/* SPDX-License-Identifier: MIT */
/*
 * The GDB remote protocol's framing and number syntax (src/vmm/gdb_packet.c),
 * with the hostile inputs a client can send: bad checksums, packets longer
 * than PacketSize, stray bytes, numbers that overflow, dangling escapes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/gdb_packet.h"

static struct gdb_rx rx;

/* Feed text; the events after each byte, only those that are not NONE. */
static unsigned feed(const char *text, size_t len, enum gdb_rx_event *ev, unsigned max)
{
    unsigned n = 0;
    for (size_t i = 0; i < len; i++) {
        enum gdb_rx_event e = gdb_rx_byte(&rx, (uint8_t)text[i]);
        if (e != GDB_RX_NONE && n < max)
            ev[n++] = e;
    }
    return n;
}

static void test_checksum_and_frame(void **state)
{
    (void)state;
    /* the protocol manual's own example: $m0,4#fd? "OK" is #9a */
    assert_int_equal(gdb_checksum("OK", 2), 0x9a);
    char out[32];
    size_t n = gdb_frame("OK", 2, out, sizeof(out));
    assert_int_equal(n, 6);
    assert_memory_equal(out, "$OK#9a", 6);
    /* '#', '$', '}' and '*' are escaped: '}' then the byte ^ 0x20, summed as sent */
    n = gdb_frame("a#b", 3, out, sizeof(out));
    out[n] = '\0';
    char want[16];
    snprintf(want, sizeof(want), "$a}%cb#%02x", '#' ^ 0x20,
             gdb_checksum("a}\x03"
                          "b",
                          4));
    assert_string_equal(out, want);
    assert_int_equal(gdb_frame("OK", 2, out, 5), 0); /* does not fit */
    assert_int_equal(gdb_frame("", 0, out, 4), 4);
}

static void test_rx_packets(void **state)
{
    (void)state;
    enum gdb_rx_event ev[8];
    gdb_rx_init(&rx);
    char pkt[64];
    snprintf(pkt, sizeof(pkt), "+$qSupported:multiprocess+#%02x",
             gdb_checksum("qSupported:multiprocess+", 24));
    assert_int_equal(feed(pkt, strlen(pkt), ev, 8), 2);
    assert_int_equal(ev[0], GDB_RX_ACK);
    assert_int_equal(ev[1], GDB_RX_PACKET);
    assert_string_equal(rx.data, "qSupported:multiprocess+");
    assert_int_equal(rx.len, 24);

    /* a wrong checksum, a non-hex one: '-' wanted, nothing delivered */
    assert_int_equal(feed("$g#00", 5, ev, 8), 1);
    assert_int_equal(ev[0], GDB_RX_BAD);
    assert_int_equal(feed("$g#zz", 5, ev, 8), 1);
    assert_int_equal(ev[0], GDB_RX_BAD);
    assert_int_equal(feed("$g#6", 4, ev, 8), 0);
    assert_int_equal(feed("x", 1, ev, 8), 1);
    assert_int_equal(ev[0], GDB_RX_BAD);
    /* after all that, the framer is in sync again */
    assert_int_equal(feed("$g#67", 5, ev, 8), 1);
    assert_int_equal(ev[0], GDB_RX_PACKET);
    assert_string_equal(rx.data, "g");

    /* Ctrl-C and acknowledgements outside packets; stray bytes ignored */
    assert_int_equal(feed("\x03zz-+", 5, ev, 8), 3);
    assert_int_equal(ev[0], GDB_RX_INTERRUPT);
    assert_int_equal(ev[1], GDB_RX_NACK);
    assert_int_equal(ev[2], GDB_RX_ACK);
    /* inside a packet 0x03 is data */
    char with3[16];
    snprintf(with3, sizeof(with3), "$a\x03#%02x", gdb_checksum("a\x03", 2));
    assert_int_equal(feed(with3, strlen(with3), ev, 8), 1);
    assert_int_equal(ev[0], GDB_RX_PACKET);
    assert_int_equal(rx.len, 2);
    /* a '$' inside a packet starts a new one */
    assert_int_equal(feed("$garbage$g#67", 13, ev, 8), 1);
    assert_string_equal(rx.data, "g");
}

static void test_rx_too_long(void **state)
{
    (void)state;
    gdb_rx_init(&rx);
    size_t len = GDB_PACKET_MAX + 100;
    char *big = malloc(len + 8);
    assert_non_null(big);
    big[0] = '$';
    memset(big + 1, 'A', len);
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + 'A');
    snprintf(big + 1 + len, 5, "#%02x", sum);
    enum gdb_rx_event ev[4];
    assert_int_equal(feed(big, 1 + len + 3, ev, 4), 1);
    assert_int_equal(ev[0], GDB_RX_TOO_LONG);
    free(big);
    /* exactly GDB_PACKET_MAX fits */
    big = malloc(GDB_PACKET_MAX + 8);
    big[0] = '$';
    memset(big + 1, 'A', GDB_PACKET_MAX);
    sum = 0;
    for (size_t i = 0; i < GDB_PACKET_MAX; i++)
        sum = (uint8_t)(sum + 'A');
    snprintf(big + 1 + GDB_PACKET_MAX, 5, "#%02x", sum);
    assert_int_equal(feed(big, 1 + GDB_PACKET_MAX + 3, ev, 4), 1);
    assert_int_equal(ev[0], GDB_RX_PACKET);
    assert_int_equal(rx.len, GDB_PACKET_MAX);
    free(big);
}

static void test_numbers(void **state)
{
    (void)state;
    const char *p = "ffffffff80371a0e,4";
    uint64_t v;
    assert_int_equal(gdb_parse_hex(&p, &v), 0);
    assert_int_equal(v, 0xffffffff80371a0eull);
    assert_int_equal(*p, ',');
    p = "10000000000000000"; /* 17 digits: overflow */
    assert_int_equal(gdb_parse_hex(&p, &v), -1);
    p = ",4";
    assert_int_equal(gdb_parse_hex(&p, &v), -1);
    p = "";
    assert_int_equal(gdb_parse_hex(&p, &v), -1);

    uint8_t b[4];
    assert_int_equal(gdb_from_hex("deadBEEF", 4, b), 0);
    assert_memory_equal(b, "\xde\xad\xbe\xef", 4);
    assert_int_equal(gdb_from_hex("dead", 4, b), -1); /* short: stops at the NUL */
    assert_int_equal(gdb_from_hex("de-d", 2, b), -1);
    char hex[17] = {0};
    gdb_reg_to_hex(0x0123456789abcdefull, 8, hex);
    assert_string_equal(hex, "efcdab8967452301"); /* little-endian, as the target's memory */
    assert_int_equal(gdb_reg_from_hex(hex, 8, &v), 0);
    assert_int_equal(v, 0x0123456789abcdefull);
    assert_int_equal(gdb_reg_from_hex("0102", 4, &v), -1);
    assert_int_equal(gdb_reg_from_hex("01020304", 4, &v), 0);
    assert_int_equal(v, 0x04030201);

    char esc[] = "a}\x03}]b";
    assert_int_equal(gdb_unescape(esc, 6), 4);
    assert_memory_equal(esc, "a#}b", 4);
    char dangling[] = "ab}";
    assert_int_equal(gdb_unescape(dangling, 3), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_and_frame),
        cmocka_unit_test(test_rx_packets),
        cmocka_unit_test(test_rx_too_long),
        cmocka_unit_test(test_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
