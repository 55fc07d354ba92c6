/*
 * The GDB remote serial protocol's framing, without sockets: packets
 * "$data#cs" with a two-digit hex checksum, acknowledgements '+' / '-', the
 * interrupt byte 0x03, escapes ('}' then byte ^ 0x20) and the hex and
 * number syntax of the commands. Every byte comes from a client that may be
 * hostile: lengths are bounded, numbers checked for overflow.
 */
#ifndef DUVISOR_VMM_GDB_PACKET_H
#define DUVISOR_VMM_GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest packet either side sends (qSupported's PacketSize). */
#define GDB_PACKET_MAX 0x4000

enum gdb_rx_event {
    GDB_RX_NONE,      /* byte consumed, nothing complete yet */
    GDB_RX_PACKET,    /* a packet with a good checksum: data/len (acknowledge with '+') */
    GDB_RX_BAD,       /* a packet with a bad checksum: answer '-' */
    GDB_RX_TOO_LONG,  /* a packet longer than GDB_PACKET_MAX: acknowledge, answer an error */
    GDB_RX_INTERRUPT, /* 0x03 outside a packet: stop the target */
    GDB_RX_ACK,       /* '+' */
    GDB_RX_NACK,      /* '-': send the last reply again */
};

struct gdb_rx {
    enum { RX_IDLE, RX_DATA, RX_SUM1, RX_SUM2 } state;
    size_t len;
    bool overflow;
    uint8_t sum, got;
    char data[GDB_PACKET_MAX + 1]; /* NUL-terminated when complete */
};

void gdb_rx_init(struct gdb_rx *rx);
/* Feed one byte; what it completed. After GDB_RX_PACKET rx->data and
   rx->len hold the packet until the next call. Bytes outside packets other
   than '+', '-' and 0x03 are ignored. */
enum gdb_rx_event gdb_rx_byte(struct gdb_rx *rx, uint8_t byte);

uint8_t gdb_checksum(const void *data, size_t len);

/* "$" data (escaped where the protocol needs it) "#cs" into out. Returns
   the framed length, or 0 if it does not fit in out_len. */
size_t gdb_frame(const void *data, size_t len, char *out, size_t out_len);

/* Hex: value of one digit (-1 if none); bytes to hex (2*len chars, no NUL). */
int gdb_hex_digit(char c);
void gdb_to_hex(const void *bytes, size_t len, char *out);
/* Exactly 2*len hex digits at text into bytes. 0, or -1. */
int gdb_from_hex(const char *text, size_t len, void *bytes);
/* A hex number of 1..16 digits at *p, advancing *p past it. 0, or -1. */
int gdb_parse_hex(const char **p, uint64_t *value);
/* Undo '}' escapes of binary data in place; the decoded length, or -1 for
   a dangling escape. */
long gdb_unescape(char *data, size_t len);

/* A little-endian register value as hex (size bytes). */
void gdb_reg_to_hex(uint64_t value, unsigned size, char *out);
/* size bytes of little-endian hex at text. 0, or -1. */
int gdb_reg_from_hex(const char *text, unsigned size, uint64_t *value);

#endif
