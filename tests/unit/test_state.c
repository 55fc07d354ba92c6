/* SPDX-License-Identifier: MIT */
/*
 * Saved-state buffers (src/util/state.c): the writer's encoding, the reader's
 * bounds checks and sticky failure, and the CRC-64 the snapshot file ends with.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/state.h"

/* Every type written, read back in order, and the exact little-endian bytes. */
static void test_round_trip(void **state)
{
    (void)state;
    struct state_writer w;
    state_writer_init(&w);
    state_put_u8(&w, 0xa5);
    state_put_u16(&w, 0x1234);
    state_put_u32(&w, 0xdeadbeef);
    state_put_u64(&w, 0x0102030405060708ull);
    state_put_bool(&w, true);
    state_put_bool(&w, false);
    state_put_str(&w, "hello");
    state_put_str(&w, "");
    const uint8_t raw[3] = {9, 8, 7};
    state_put_bytes(&w, raw, sizeof(raw));
    state_put_bytes(&w, raw, 0); /* nothing */
    state_put_u64(&w, UINT64_MAX);
    assert_false(w.failed);

    static const uint8_t expect[] = {
        0xa5,                                                /* u8 */
        0x34, 0x12,                                          /* u16 */
        0xef, 0xbe, 0xad, 0xde,                              /* u32 */
        0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,      /* u64 */
        1,    0,                                             /* bools */
        5,    0,    0,    0,    'h',  'e',  'l',  'l',  'o', /* "hello" */
        0,    0,    0,    0,                                 /* "" */
        9,    8,    7,                                       /* bytes */
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    };
    assert_int_equal(w.len, sizeof(expect));
    assert_memory_equal(w.buf, expect, sizeof(expect));

    struct state_reader r;
    state_reader_init(&r, w.buf, w.len);
    assert_true(state_reader_ok(&r));
    assert_int_equal(state_remaining(&r), sizeof(expect));
    assert_int_equal(state_get_u8(&r), 0xa5);
    assert_int_equal(state_get_u16(&r), 0x1234);
    assert_int_equal(state_get_u32(&r), 0xdeadbeef);
    assert_true(state_get_u64(&r) == 0x0102030405060708ull);
    assert_true(state_get_bool(&r));
    assert_false(state_get_bool(&r));
    char s[16];
    assert_true(state_get_str(&r, s, sizeof(s)));
    assert_string_equal(s, "hello");
    assert_true(state_get_str(&r, s, sizeof(s)));
    assert_string_equal(s, "");
    uint8_t got[3];
    assert_true(state_get_bytes(&r, got, sizeof(got)));
    assert_memory_equal(got, raw, sizeof(raw));
    assert_true(state_get_u64(&r) == UINT64_MAX);
    assert_int_equal(state_remaining(&r), 0);
    assert_true(state_reader_ok(&r));
    assert_string_equal(r.why, "");
    state_writer_free(&w);
    assert_null(w.buf);
    assert_int_equal(w.len, 0);
}

/* The writer grows past its first 4 KiB, doubling, and keeps every byte. */
static void test_writer_grows(void **state)
{
    (void)state;
    struct state_writer w;
    state_writer_init(&w);
    for (uint32_t i = 0; i < 10000; i++)
        state_put_u32(&w, i * 2654435761u);
    state_put_u8(&w, 0x5a);
    assert_false(w.failed);
    assert_int_equal(w.len, 40001);
    assert_true(w.cap >= w.len);
    struct state_reader r;
    state_reader_init(&r, w.buf, w.len);
    for (uint32_t i = 0; i < 10000; i++)
        if (state_get_u32(&r) != i * 2654435761u)
            fail_msg("word %u read back wrong", i);
    assert_int_equal(state_get_u8(&r), 0x5a);
    assert_true(state_reader_ok(&r));
    state_writer_free(&w);
}

/* A put that cannot be held fails the writer, and later puts change nothing. */
static void test_writer_failure_sticks(void **state)
{
    (void)state;
    struct state_writer w;
    state_writer_init(&w);
    state_put_u32(&w, 7);
    uint8_t small[8] = {0};
    /* No buffer can grow to this: refused before any copy (small is never read). */
    state_put_bytes(&w, small, SIZE_MAX - 2);
    assert_true(w.failed);
    assert_int_equal(w.len, 4);
    state_put_u64(&w, 1);
    state_put_str(&w, "x");
    assert_true(w.failed);
    assert_int_equal(w.len, 4);
    state_writer_free(&w);
    assert_false(w.failed);
}

/* Each read of more than is left fails with "truncated", returns 0 and zeroes its output. */
static void test_truncated_reads(void **state)
{
    (void)state;
    const uint8_t ones[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    for (unsigned kind = 0; kind < 6; kind++) {
        static const size_t need[] = {1, 2, 4, 8, 1, 5};
        for (size_t have = 0; have < need[kind]; have++) {
            struct state_reader r;
            state_reader_init(&r, ones, have);
            uint64_t v = 0;
            uint8_t out[5] = {1, 1, 1, 1, 1};
            switch (kind) {
            case 0: v = state_get_u8(&r); break;
            case 1: v = state_get_u16(&r); break;
            case 2: v = state_get_u32(&r); break;
            case 3: v = state_get_u64(&r); break;
            case 4: v = state_get_bool(&r); break;
            case 5:
                v = state_get_bytes(&r, out, sizeof(out));
                for (unsigned i = 0; i < sizeof(out); i++)
                    assert_int_equal(out[i], 0);
                break;
            }
            if (v != 0)
                fail_msg("read %u of %zu bytes returned %#llx, not 0", kind, have,
                         (unsigned long long)v);
            assert_false(state_reader_ok(&r));
            assert_string_equal(r.why, "truncated");
            assert_int_equal(state_remaining(&r), have); /* nothing consumed */
        }
    }
    /* A string whose length runs past the end; and one missing its length. */
    uint8_t str[] = {10, 0, 0, 0, 'a', 'b'};
    char out[32] = "junk";
    struct state_reader r;
    state_reader_init(&r, str, sizeof(str));
    assert_false(state_get_str(&r, out, sizeof(out)));
    assert_string_equal(r.why, "truncated");
    assert_int_equal(out[0], 0);
    state_reader_init(&r, str, 3);
    strcpy(out, "junk");
    assert_false(state_get_str(&r, out, sizeof(out)));
    assert_string_equal(r.why, "truncated");
    assert_string_equal(out, "");
    /* A count that is not there is 0. */
    state_reader_init(&r, str, 2);
    assert_int_equal(state_get_count(&r, 100, "things"), 0);
    assert_string_equal(r.why, "truncated");
}

/* The first failure is kept; after it every read is 0, even of data that is there. */
static void test_first_failure_wins(void **state)
{
    (void)state;
    const uint8_t data[] = {2, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99};
    struct state_reader r;
    state_reader_init(&r, data, sizeof(data));
    assert_false(state_get_bool(&r)); /* 2: fails */
    assert_false(state_reader_ok(&r));
    char first[sizeof(r.why)];
    strcpy(first, r.why);
    assert_non_null(strstr(first, "flag is 2"));
    size_t left = state_remaining(&r);
    assert_int_equal(left, sizeof(data) - 1);
    assert_int_equal(state_get_u8(&r), 0);
    assert_int_equal(state_get_u16(&r), 0);
    assert_int_equal(state_get_u32(&r), 0);
    assert_true(state_get_u64(&r) == 0);
    uint8_t b[2] = {7, 7};
    assert_false(state_get_bytes(&r, b, 2));
    assert_int_equal(b[0] | b[1], 0);
    assert_false(state_fail(&r, "a second reason %d", 2));
    assert_int_equal(state_get_count(&r, 0, "items"), 0);
    char s[8];
    assert_false(state_get_str(&r, s, sizeof(s)));
    assert_string_equal(r.why, first);
    assert_int_equal(state_remaining(&r), left);

    /* A reason of its own, formatted; an empty one still fails with a reason. */
    state_reader_init(&r, data, sizeof(data));
    assert_false(state_fail(&r, "value %u of %s", 5u, "x"));
    assert_string_equal(r.why, "value 5 of x");
    state_reader_init(&r, data, sizeof(data));
    assert_false(state_fail(&r, "%s", ""));
    assert_false(state_reader_ok(&r));
    assert_string_equal(r.why, "invalid state");
    /* An over-long reason is cut, not overrun. */
    char longer[400];
    memset(longer, 'z', sizeof(longer) - 1);
    longer[sizeof(longer) - 1] = 0;
    state_reader_init(&r, data, sizeof(data));
    state_fail(&r, "%s", longer);
    assert_int_equal(strlen(r.why), sizeof(r.why) - 1);
}

/* Booleans are 0 or 1 exactly. */
static void test_bool_values(void **state)
{
    (void)state;
    for (unsigned v = 0; v < 256; v++) {
        uint8_t b = (uint8_t)v;
        struct state_reader r;
        state_reader_init(&r, &b, 1);
        bool got = state_get_bool(&r);
        if (v <= 1) {
            assert_true(state_reader_ok(&r));
            assert_int_equal(got, v);
        } else {
            assert_false(state_reader_ok(&r));
            assert_false(got);
            char want[64];
            snprintf(want, sizeof(want), "a flag is %u, not 0 or 1", v);
            assert_string_equal(r.why, want);
        }
    }
}

/* Counts up to max pass; above it the reader fails naming the count and returns 0. */
static void test_count_limit(void **state)
{
    (void)state;
    static const uint32_t values[] = {0, 1, 63, 64, 65, 1000, UINT32_MAX};
    for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct state_writer w;
        state_writer_init(&w);
        state_put_u32(&w, values[i]);
        state_put_u8(&w, 42);
        struct state_reader r;
        state_reader_init(&r, w.buf, w.len);
        uint32_t got = state_get_count(&r, 64, "widgets");
        if (values[i] <= 64) {
            assert_int_equal(got, values[i]);
            assert_true(state_reader_ok(&r));
            assert_int_equal(state_get_u8(&r), 42);
        } else {
            assert_int_equal(got, 0);
            assert_false(state_reader_ok(&r));
            char want[80];
            snprintf(want, sizeof(want), "widgets %u is above the limit 64", values[i]);
            assert_string_equal(r.why, want);
            assert_int_equal(state_get_u8(&r), 0);
        }
        state_writer_free(&w);
    }
    /* max UINT32_MAX takes everything */
    uint8_t all[4] = {0xff, 0xff, 0xff, 0xff};
    struct state_reader r;
    state_reader_init(&r, all, 4);
    assert_true(state_get_count(&r, UINT32_MAX, "x") == UINT32_MAX);
    assert_true(state_reader_ok(&r));
}

/* Strings: exact fit, one too long, embedded NUL, zero-sized room. */
static void test_strings(void **state)
{
    (void)state;
    struct state_writer w;
    state_writer_init(&w);
    state_put_str(&w, "abcdefg"); /* 7 bytes: fits out[8] exactly */
    struct state_reader r;
    char out[8];
    state_reader_init(&r, w.buf, w.len);
    assert_true(state_get_str(&r, out, sizeof(out)));
    assert_string_equal(out, "abcdefg");
    assert_int_equal(state_remaining(&r), 0);

    /* The same into out[7]: too long, and nothing of it consumed past the length. */
    state_reader_init(&r, w.buf, w.len);
    memset(out, 'x', sizeof(out));
    assert_false(state_get_str(&r, out, 7));
    assert_int_equal(out[0], 0);
    assert_string_equal(r.why, "a string of 7 bytes is longer than 6");
    state_writer_free(&w);

    /* An embedded NUL is refused (the string would silently shorten). */
    uint8_t nul[] = {3, 0, 0, 0, 'a', 0, 'b'};
    state_reader_init(&r, nul, sizeof(nul));
    assert_false(state_get_str(&r, out, sizeof(out)));
    assert_string_equal(r.why, "a string holds a NUL byte");
    uint8_t nul_end[] = {2, 0, 0, 0, 'a', 0};
    state_reader_init(&r, nul_end, sizeof(nul_end));
    assert_false(state_get_str(&r, out, sizeof(out)));
    assert_string_equal(r.why, "a string holds a NUL byte");

    /* A huge length is refused by the room, without reading. */
    uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    state_reader_init(&r, huge, sizeof(huge));
    assert_false(state_get_str(&r, out, sizeof(out)));
    assert_non_null(strstr(r.why, "longer than 7"));

    /* Room for the NUL alone: only the empty string fits. */
    uint8_t empty[] = {0, 0, 0, 0, 1, 0, 0, 0, 'q'};
    char one[1] = {'x'};
    state_reader_init(&r, empty, sizeof(empty));
    assert_true(state_get_str(&r, one, 1));
    assert_int_equal(one[0], 0);
    assert_false(state_get_str(&r, one, 1));
    assert_string_equal(r.why, "a string of 1 bytes is longer than 0");
}

/* CRC-64/XZ: the catalogue's check value; chunked == one-shot; empty input. */
static void test_crc64(void **state)
{
    (void)state;
    assert_true(state_crc64(0, "123456789", 9) == 0x995DC9BBDF1939FAull);
    assert_true(state_crc64(0, "", 0) == 0);
    assert_true(state_crc64(0x1234, "", 0) == 0x1234);

    uint8_t buf[3000];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    uint64_t whole = state_crc64(0, buf, sizeof(buf));
    static const size_t cuts[] = {0, 1, 7, 8, 9, 1000, 2999, 3000};
    for (unsigned i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
        uint64_t c = state_crc64(0, buf, cuts[i]);
        c = state_crc64(c, buf + cuts[i], sizeof(buf) - cuts[i]);
        assert_true(c == whole);
    }
    /* Byte by byte. */
    uint64_t c = 0;
    for (size_t i = 0; i < sizeof(buf); i++)
        c = state_crc64(c, buf + i, 1);
    assert_true(c == whole);
    /* Every single-bit change changes it. */
    for (size_t bit = 0; bit < 64 * 8; bit++) {
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_true(state_crc64(0, buf, sizeof(buf)) != whole);
        buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_writer_grows),
        cmocka_unit_test(test_writer_failure_sticks),
        cmocka_unit_test(test_truncated_reads),
        cmocka_unit_test(test_first_failure_wins),
        cmocka_unit_test(test_bool_values),
        cmocka_unit_test(test_count_limit),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_crc64),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
