/* The GDB remote protocol's framing and number syntax (gdb_packet.h). */
#include "vmm/gdb_packet.h"

#include <string.h>

void gdb_rx_init(struct gdb_rx *rx)
{
    rx->state = RX_IDLE;
    rx->len = 0;
    rx->overflow = false;
}

uint8_t gdb_checksum(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint8_t sum = 0;
    for (size_t i = 0; i < len; i++)
        sum = (uint8_t)(sum + p[i]);
    return sum;
}

int gdb_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t byte)
{
    switch (rx->state) {
    case RX_IDLE:
        if (byte == '$') {
            rx->state = RX_DATA;
            rx->len = 0;
            rx->sum = 0;
            rx->overflow = false;
            return GDB_RX_NONE;
        }
        return byte == 0x03  ? GDB_RX_INTERRUPT
               : byte == '+' ? GDB_RX_ACK
               : byte == '-' ? GDB_RX_NACK
                             : GDB_RX_NONE;
    case RX_DATA:
        if (byte == '#') {
            rx->state = RX_SUM1;
            return GDB_RX_NONE;
        }
        if (byte == '$') { /* a new packet before the end of this one: start over */
            rx->len = 0;
            rx->sum = 0;
            rx->overflow = false;
            return GDB_RX_NONE;
        }
        rx->sum = (uint8_t)(rx->sum + byte);
        if (rx->len < GDB_PACKET_MAX)
            rx->data[rx->len++] = (char)byte;
        else
            rx->overflow = true;
        return GDB_RX_NONE;
    case RX_SUM1: {
        int d = gdb_hex_digit((char)byte);
        rx->got = (uint8_t)(d < 0 ? 0 : d << 4);
        rx->state = d < 0 ? RX_IDLE : RX_SUM2;
        return d < 0 ? GDB_RX_BAD : GDB_RX_NONE;
    }
    case RX_SUM2: {
        int d = gdb_hex_digit((char)byte);
        rx->state = RX_IDLE;
        if (d < 0 || (uint8_t)(rx->got | d) != rx->sum)
            return GDB_RX_BAD;
        if (rx->overflow)
            return GDB_RX_TOO_LONG;
        rx->data[rx->len] = '\0';
        return GDB_RX_PACKET;
    }
    }
    return GDB_RX_NONE;
}

static bool needs_escape(uint8_t c)
{
    return c == '$' || c == '#' || c == '}' || c == '*';
}

size_t gdb_frame(const void *data, size_t len, char *out, size_t out_len)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = data;
    size_t n = 0;
    uint8_t sum = 0;
    if (out_len < 4)
        return 0;
    out[n++] = '$';
    for (size_t i = 0; i < len; i++) {
        uint8_t c = p[i];
        if (needs_escape(c)) {
            if (n + 2 > out_len - 3)
                return 0;
            out[n++] = '}';
            sum = (uint8_t)(sum + '}');
            c ^= 0x20;
        } else if (n + 1 > out_len - 3) {
            return 0;
        }
        out[n++] = (char)c;
        sum = (uint8_t)(sum + c);
    }
    out[n++] = '#';
    out[n++] = hex[sum >> 4];
    out[n++] = hex[sum & 15];
    return n;
}

void gdb_to_hex(const void *bytes, size_t len, char *out)
{
    static const char hex[] = "0123456789abcdef";
    const uint8_t *p = bytes;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
}

int gdb_from_hex(const char *text, size_t len, void *bytes)
{
    uint8_t *out = bytes;
    for (size_t i = 0; i < len; i++) {
        int hi = gdb_hex_digit(text[2 * i]);
        int lo = hi < 0 ? -1 : gdb_hex_digit(text[2 * i + 1]);
        if (lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int gdb_parse_hex(const char **p, uint64_t *value)
{
    const char *s = *p;
    uint64_t v = 0;
    unsigned n = 0;
    int d;
    while ((d = gdb_hex_digit(*s)) >= 0) {
        if (++n > 16)
            return -1;
        v = v << 4 | (uint64_t)d;
        s++;
    }
    if (n == 0)
        return -1;
    *value = v;
    *p = s;
    return 0;
}

long gdb_unescape(char *data, size_t len)
{
    size_t out = 0;
    for (size_t i = 0; i < len; i++) {
        if (data[i] == '}') {
            if (++i == len)
                return -1;
            data[out++] = (char)(data[i] ^ 0x20);
        } else {
            data[out++] = data[i];
        }
    }
    return (long)out;
}

void gdb_reg_to_hex(uint64_t value, unsigned size, char *out)
{
    uint8_t b[8];
    for (unsigned i = 0; i < size && i < 8; i++)
        b[i] = (uint8_t)(value >> (8 * i));
    gdb_to_hex(b, size, out);
}

int gdb_reg_from_hex(const char *text, unsigned size, uint64_t *value)
{
    uint8_t b[8] = {0};
    if (size > 8 || strlen(text) < 2 * (size_t)size || gdb_from_hex(text, size, b))
        return -1;
    uint64_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * i);
    *value = v;
    return 0;
}
