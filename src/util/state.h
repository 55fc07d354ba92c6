/*
 * Saved state: a byte buffer written and read field by field, little endian.
 * Every device saves its own state with these calls (next to its code); the
 * snapshot file (vmm/snapshot.c) frames the sections and checks them.
 *
 * The reader is for hostile input: every read is bounds-checked, and the
 * first failure (short data, a value out of range) makes the reader sticky
 * failed with a reason; later reads return zeros. Callers check
 * state_reader_ok() once at the end instead of after every field.
 */
#ifndef DUVISOR_UTIL_STATE_H
#define DUVISOR_UTIL_STATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct state_writer {
    uint8_t *buf;
    size_t len, cap;
    bool failed; /* out of memory: the buffer is unusable */
};

void state_writer_init(struct state_writer *w);
void state_writer_free(struct state_writer *w);
void state_put_bytes(struct state_writer *w, const void *data, size_t len);
void state_put_u8(struct state_writer *w, uint8_t v);
void state_put_u16(struct state_writer *w, uint16_t v);
void state_put_u32(struct state_writer *w, uint32_t v);
void state_put_u64(struct state_writer *w, uint64_t v);
void state_put_bool(struct state_writer *w, bool v);
/* A length-prefixed string (u32 length, no NUL). */
void state_put_str(struct state_writer *w, const char *s);

struct state_reader {
    const uint8_t *data;
    size_t len, pos;
    char why[160]; /* the first failure; "" while ok */
};

void state_reader_init(struct state_reader *r, const void *data, size_t len);
bool state_reader_ok(const struct state_reader *r);
/* Fail the reader with a reason (the first one wins); returns false. */
__attribute__((format(printf, 2, 3))) bool state_fail(struct state_reader *r, const char *fmt, ...);
bool state_get_bytes(struct state_reader *r, void *out, size_t len);
uint8_t state_get_u8(struct state_reader *r);
uint16_t state_get_u16(struct state_reader *r);
uint32_t state_get_u32(struct state_reader *r);
uint64_t state_get_u64(struct state_reader *r);
bool state_get_bool(struct state_reader *r); /* 0 or 1; anything else fails */
/* A u32 that must be <= max (a count, an index): else the reader fails and 0. */
uint32_t state_get_count(struct state_reader *r, uint32_t max, const char *what);
/* A string into out[out_len] (NUL-terminated); longer ones fail the reader. */
bool state_get_str(struct state_reader *r, char *out, size_t out_len);
/* Bytes left unread. */
size_t state_remaining(const struct state_reader *r);

/* CRC-64/XZ (ECMA-182 polynomial, reflected), as the snapshot file's check. */
uint64_t state_crc64(uint64_t crc, const void *data, size_t len);

#endif
