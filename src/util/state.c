/* Saved-state buffers (see state.h). */
#include "util/state.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"

void state_writer_init(struct state_writer *w)
{
    *w = (struct state_writer){0};
}

void state_writer_free(struct state_writer *w)
{
    free(w->buf);
    *w = (struct state_writer){0};
}

void state_put_bytes(struct state_writer *w, const void *data, size_t len)
{
    if (w->failed || len == 0)
        return;
    if (w->cap - w->len < len) {
        size_t cap = w->cap ? w->cap : 4096;
        while (cap - w->len < len && cap < SIZE_MAX / 2)
            cap *= 2;
        uint8_t *grown = cap - w->len >= len ? realloc(w->buf, cap) : NULL;
        if (!grown) {
            w->failed = true;
            return;
        }
        w->buf = grown;
        w->cap = cap;
    }
    memcpy(w->buf + w->len, data, len);
    w->len += len;
}

void state_put_u8(struct state_writer *w, uint8_t v)
{
    state_put_bytes(w, &v, 1);
}

void state_put_u16(struct state_writer *w, uint16_t v)
{
    uint8_t b[2];
    put_le16(b, v);
    state_put_bytes(w, b, sizeof(b));
}

void state_put_u32(struct state_writer *w, uint32_t v)
{
    uint8_t b[4];
    put_le32(b, v);
    state_put_bytes(w, b, sizeof(b));
}

void state_put_u64(struct state_writer *w, uint64_t v)
{
    uint8_t b[8];
    put_le64(b, v);
    state_put_bytes(w, b, sizeof(b));
}

void state_put_bool(struct state_writer *w, bool v)
{
    state_put_u8(w, v ? 1 : 0);
}

void state_put_str(struct state_writer *w, const char *s)
{
    size_t len = strlen(s);
    state_put_u32(w, (uint32_t)len);
    state_put_bytes(w, s, len);
}

void state_reader_init(struct state_reader *r, const void *data, size_t len)
{
    *r = (struct state_reader){.data = data, .len = len};
}

bool state_reader_ok(const struct state_reader *r)
{
    return r->why[0] == 0;
}

bool state_fail(struct state_reader *r, const char *fmt, ...)
{
    if (r->why[0])
        return false;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof(r->why), fmt, ap);
    va_end(ap);
    if (!r->why[0])
        strcpy(r->why, "invalid state");
    return false;
}

bool state_get_bytes(struct state_reader *r, void *out, size_t len)
{
    if (!state_reader_ok(r) || r->len - r->pos < len) {
        state_fail(r, "truncated");
        memset(out, 0, len);
        return false;
    }
    memcpy(out, r->data + r->pos, len);
    r->pos += len;
    return true;
}

uint8_t state_get_u8(struct state_reader *r)
{
    uint8_t v;
    state_get_bytes(r, &v, 1);
    return v;
}

uint16_t state_get_u16(struct state_reader *r)
{
    uint8_t b[2];
    state_get_bytes(r, b, sizeof(b));
    return get_le16(b);
}

uint32_t state_get_u32(struct state_reader *r)
{
    uint8_t b[4];
    state_get_bytes(r, b, sizeof(b));
    return get_le32(b);
}

uint64_t state_get_u64(struct state_reader *r)
{
    uint8_t b[8];
    state_get_bytes(r, b, sizeof(b));
    return get_le64(b);
}

bool state_get_bool(struct state_reader *r)
{
    uint8_t v = state_get_u8(r);
    if (v > 1)
        state_fail(r, "a flag is %u, not 0 or 1", v);
    return v == 1;
}

uint32_t state_get_count(struct state_reader *r, uint32_t max, const char *what)
{
    uint32_t v = state_get_u32(r);
    if (v > max) {
        state_fail(r, "%s %u is above the limit %u", what, v, max);
        return 0;
    }
    return v;
}

bool state_get_str(struct state_reader *r, char *out, size_t out_len)
{
    uint32_t len = state_get_u32(r);
    out[0] = 0;
    if (!state_reader_ok(r))
        return false;
    if (len >= out_len)
        return state_fail(r, "a string of %u bytes is longer than %zu", len, out_len - 1);
    if (!state_get_bytes(r, out, len))
        return false;
    out[len] = 0;
    if (strlen(out) != len)
        return state_fail(r, "a string holds a NUL byte");
    return true;
}

size_t state_remaining(const struct state_reader *r)
{
    return r->len - r->pos;
}

uint64_t state_crc64(uint64_t crc, const void *data, size_t len)
{
    /* Bitwise with a 16-entry nibble table: a few hundred MB/s, ample for
       state files of tens of KiB (guest memory is not checksummed). */
    static const uint64_t poly = 0xc96c5795d7870f42ull; /* ECMA-182, reflected */
    uint64_t table[16];
    for (unsigned i = 0; i < 16; i++) {
        uint64_t c = i;
        for (unsigned k = 0; k < 4; k++)
            c = c & 1 ? (c >> 1) ^ poly : c >> 1;
        table[i] = c;
    }
    const uint8_t *p = data;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        crc = (crc >> 4) ^ table[crc & 15];
        crc = (crc >> 4) ^ table[crc & 15];
    }
    return ~crc;
}
