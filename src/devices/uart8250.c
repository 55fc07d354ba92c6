/* SPDX-License-Identifier: MIT */
/*
 * uart8250.c - 16550A UART model (see uart8250.h for what the guest sees).
 *
 * Every entry point takes the lock, updates the registers, and leaves
 * through unlock_and_notify(), which compares the interrupt line the
 * registers imply with the last level reported and delivers any change
 * outside the lock. Bytes for ops->tx are likewise handed over unlocked.
 */
#include "devices/uart8250.h"

#include <pthread.h>
#include <stdlib.h>

#include "util/state.h"

/* register offsets */
enum {
    REG_RBR_THR = 0, /* DLL with DLAB */
    REG_IER = 1,     /* DLM with DLAB */
    REG_IIR_FCR = 2,
    REG_LCR = 3,
    REG_MCR = 4,
    REG_LSR = 5,
    REG_MSR = 6,
    REG_SCR = 7,
};

enum {
    IER_ERBFI = 0x01, /* received data available */
    IER_ETBEI = 0x02, /* THR empty */
    IER_ELSI = 0x04,  /* line status: never raised, no receive errors */
    IER_EDSSI = 0x08, /* modem status */
    IER_MASK = 0x0f,  /* bits 7:4 read 0 (Linux probes bit 6 to spot XScale UARTs) */

    IIR_NONE = 0x01,
    IIR_THRE = 0x02,
    IIR_RDA = 0x04,
    IIR_MODEM = 0x00,
    IIR_FIFO = 0xc0,

    FCR_ENABLE = 0x01,
    FCR_CLEAR_RX = 0x02,

    LCR_DLAB = 0x80,

    MCR_DTR = 0x01,
    MCR_RTS = 0x02,
    MCR_OUT1 = 0x04,
    MCR_OUT2 = 0x08,
    MCR_LOOP = 0x10,
    MCR_MASK = 0x1f,

    LSR_DR = 0x01,
    LSR_THRE = 0x20,
    LSR_TEMT = 0x40,

    MSR_DCTS = 0x01,
    MSR_DDSR = 0x02,
    MSR_TERI = 0x04,
    MSR_DDCD = 0x08,
    MSR_CTS = 0x10,
    MSR_DSR = 0x20,
    MSR_RI = 0x40,
    MSR_DCD = 0x80,
};

struct uart8250 {
    pthread_mutex_t lock;
    struct uart8250_ops ops;
    void *opaque;

    uint8_t ier, lcr, mcr, scr, dll, dlm;
    bool fifo_enabled; /* FCR bit 0; FCR itself is write-only */
    bool thre_pending; /* THR-empty interrupt latched, see header */
    uint8_t msr_delta; /* MSR[3:0], cleared by reading MSR */

    uint8_t rx[UART8250_FIFO_SIZE];
    unsigned rx_head, rx_count;

    bool line;       /* last level reported through ops->irq */
    bool delivering; /* some thread is running the ops->irq loop */
};

static unsigned rx_capacity(const struct uart8250 *u)
{
    /* With the FIFO off the 16550A is a 16450: one holding register. */
    return u->fifo_enabled ? UART8250_FIFO_SIZE : 1u;
}

static void rx_push(struct uart8250 *u, uint8_t byte)
{
    u->rx[(u->rx_head + u->rx_count) % UART8250_FIFO_SIZE] = byte;
    u->rx_count++;
}

static uint8_t rx_pop(struct uart8250 *u)
{
    uint8_t byte;

    if (u->rx_count == 0)
        return 0;
    byte = u->rx[u->rx_head];
    u->rx_head = (u->rx_head + 1) % UART8250_FIFO_SIZE;
    u->rx_count--;
    return byte;
}

static void rx_clear(struct uart8250 *u)
{
    u->rx_head = 0;
    u->rx_count = 0;
}

/* MSR[7:4]: the modem inputs. In loopback they are wired to the MCR outputs
   (datasheet: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD); otherwise the
   console is always ready, with no ring. */
static uint8_t modem_inputs(uint8_t mcr)
{
    uint8_t in = 0;

    if (!(mcr & MCR_LOOP))
        return MSR_CTS | MSR_DSR | MSR_DCD;
    if (mcr & MCR_RTS)
        in |= MSR_CTS;
    if (mcr & MCR_DTR)
        in |= MSR_DSR;
    if (mcr & MCR_OUT1)
        in |= MSR_RI;
    if (mcr & MCR_OUT2)
        in |= MSR_DCD;
    return in;
}

static void write_mcr(struct uart8250 *u, uint8_t value)
{
    uint8_t old = modem_inputs(u->mcr);
    uint8_t now = modem_inputs(value & MCR_MASK);
    uint8_t changed = old ^ now;

    u->mcr = value & MCR_MASK;
    if (changed & MSR_CTS)
        u->msr_delta |= MSR_DCTS;
    if (changed & MSR_DSR)
        u->msr_delta |= MSR_DDSR;
    if ((old & MSR_RI) && !(now & MSR_RI)) /* trailing edge only */
        u->msr_delta |= MSR_TERI;
    if (changed & MSR_DCD)
        u->msr_delta |= MSR_DDCD;
}

static void write_fcr(struct uart8250 *u, uint8_t value)
{
    bool enable = value & FCR_ENABLE;

    /* Changing the enable bit empties the FIFOs; the other bits only take
       effect with it set. Trigger level and DMA mode are not modelled: data
       interrupts as soon as one byte is there, which Linux handles the same. */
    if (enable != u->fifo_enabled || (enable && (value & FCR_CLEAR_RX)))
        rx_clear(u);
    u->fifo_enabled = enable;
}

static void write_ier(struct uart8250 *u, uint8_t value)
{
    uint8_t ier = value & IER_MASK;

    /* THR is always empty, so enabling its interrupt makes it pending at
       once (Linux's startup test expects this every time it is enabled). */
    if ((ier & IER_ETBEI) && !(u->ier & IER_ETBEI))
        u->thre_pending = true;
    if (!(ier & IER_ETBEI))
        u->thre_pending = false;
    u->ier = ier;
}

/* The highest-priority pending interrupt, as IIR[3:0] reports it. */
static uint8_t interrupt_id(const struct uart8250 *u)
{
    if ((u->ier & IER_ERBFI) && u->rx_count > 0)
        return IIR_RDA;
    if ((u->ier & IER_ETBEI) && u->thre_pending)
        return IIR_THRE;
    if ((u->ier & IER_EDSSI) && u->msr_delta)
        return IIR_MODEM;
    return IIR_NONE;
}

/* Lock held on entry, released on return. Loops because the state may
   change again while the callback runs unlocked; `delivering` keeps one
   thread at a time in here, so levels reach ops->irq in order. */
static void unlock_and_notify(struct uart8250 *u)
{
    if (!u->delivering) {
        u->delivering = true;
        for (;;) {
            bool level = interrupt_id(u) != IIR_NONE;

            if (level == u->line)
                break;
            u->line = level;
            pthread_mutex_unlock(&u->lock);
            if (u->ops.irq)
                u->ops.irq(u->opaque, level);
            pthread_mutex_lock(&u->lock);
        }
        u->delivering = false;
    }
    pthread_mutex_unlock(&u->lock);
}

struct uart8250 *uart8250_create(const struct uart8250_ops *ops, void *opaque)
{
    struct uart8250 *u = calloc(1, sizeof(*u));

    if (!u)
        return NULL;
    if (pthread_mutex_init(&u->lock, NULL) != 0) {
        free(u);
        return NULL;
    }
    if (ops)
        u->ops = *ops;
    u->opaque = opaque;
    return u;
}

void uart8250_destroy(struct uart8250 *u)
{
    if (!u)
        return;
    pthread_mutex_destroy(&u->lock);
    free(u);
}

static bool valid_access(uint64_t offset, unsigned size)
{
    return size == 1 && offset < UART8250_MMIO_SIZE;
}

static uint8_t read_reg(struct uart8250 *u, unsigned reg)
{
    bool dlab = u->lcr & LCR_DLAB;
    uint8_t v;

    switch (reg) {
    case REG_RBR_THR: return dlab ? u->dll : rx_pop(u); /* empty RBR reads 0 */
    case REG_IER: return dlab ? u->dlm : u->ier;
    case REG_IIR_FCR:
        v = interrupt_id(u);
        /* Reading IIR acknowledges THR empty, but only when it is what IIR shows. */
        if (v == IIR_THRE)
            u->thre_pending = false;
        return u->fifo_enabled ? (uint8_t)(v | IIR_FIFO) : v;
    case REG_LCR: return u->lcr;
    case REG_MCR: return u->mcr;
    case REG_LSR: return LSR_THRE | LSR_TEMT | (u->rx_count ? LSR_DR : 0);
    case REG_MSR:
        v = modem_inputs(u->mcr) | u->msr_delta;
        u->msr_delta = 0;
        return v;
    default: return u->scr; /* REG_SCR */
    }
}

bool uart8250_read(struct uart8250 *u, uint64_t offset, unsigned size, uint64_t *value)
{
    uint8_t v;

    if (!valid_access(offset, size)) {
        if (value)
            *value = 0;
        return false;
    }
    pthread_mutex_lock(&u->lock);
    v = read_reg(u, (unsigned)offset);
    unlock_and_notify(u);
    if (value)
        *value = v;
    return true;
}

/* Returns true if `*out` is a byte to hand to ops->tx. */
static bool write_reg(struct uart8250 *u, unsigned reg, uint8_t v, uint8_t *out)
{
    bool dlab = u->lcr & LCR_DLAB;

    switch (reg) {
    case REG_RBR_THR:
        if (dlab) {
            u->dll = v;
            return false;
        }
        /* The byte leaves at once, so THR is empty again right away. */
        u->thre_pending = u->ier & IER_ETBEI;
        if (!(u->mcr & MCR_LOOP)) {
            *out = v;
            return true;
        }
        if (u->rx_count < rx_capacity(u))
            rx_push(u, v);
        else if (!u->fifo_enabled) /* 16450 overrun: the new byte replaces RBR */
            u->rx[u->rx_head] = v;
        /* else FIFO overrun: the new byte is lost (OE is not modelled) */
        return false;
    case REG_IER:
        if (dlab)
            u->dlm = v;
        else
            write_ier(u, v);
        return false;
    case REG_IIR_FCR: write_fcr(u, v); return false;
    case REG_LCR: u->lcr = v; return false;
    case REG_MCR: write_mcr(u, v); return false;
    case REG_SCR: u->scr = v; return false;
    default: return false; /* LSR and MSR: writes are factory test only */
    }
}

bool uart8250_write(struct uart8250 *u, uint64_t offset, unsigned size, uint64_t value)
{
    uint8_t byte = 0;
    bool send;

    if (!valid_access(offset, size))
        return false;
    pthread_mutex_lock(&u->lock);
    send = write_reg(u, (unsigned)offset, (uint8_t)value, &byte);
    if (send && u->ops.tx) {
        /* Out before the THR-empty interrupt it re-arms is signalled. */
        pthread_mutex_unlock(&u->lock);
        u->ops.tx(u->opaque, &byte, 1);
        pthread_mutex_lock(&u->lock);
    }
    unlock_and_notify(u);
    return true;
}

static size_t rx_space_locked(const struct uart8250 *u)
{
    if (u->mcr & MCR_LOOP) /* receiver input disconnected */
        return 0;
    return rx_capacity(u) - u->rx_count;
}

size_t uart8250_receive(struct uart8250 *u, const uint8_t *buf, size_t len)
{
    size_t n;

    if (!buf)
        return 0;
    pthread_mutex_lock(&u->lock);
    n = rx_space_locked(u);
    if (n > len)
        n = len;
    for (size_t i = 0; i < n; i++)
        rx_push(u, buf[i]);
    unlock_and_notify(u);
    return n;
}

size_t uart8250_rx_space(const struct uart8250 *u)
{
    /* The object is never const itself; const only says the state is unchanged. */
    struct uart8250 *m = (struct uart8250 *)u;
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = rx_space_locked(m);
    pthread_mutex_unlock(&m->lock);
    return n;
}

void uart8250_save(struct uart8250 *u, struct state_writer *w)
{
    pthread_mutex_lock(&u->lock);
    const uint8_t regs[] = {u->ier, u->lcr, u->mcr, u->scr, u->dll, u->dlm, u->msr_delta};
    state_put_bytes(w, regs, sizeof(regs));
    state_put_bool(w, u->fifo_enabled);
    state_put_bool(w, u->thre_pending);
    state_put_u32(w, u->rx_count);
    for (unsigned i = 0; i < u->rx_count; i++)
        state_put_u8(w, u->rx[(u->rx_head + i) % UART8250_FIFO_SIZE]);
    pthread_mutex_unlock(&u->lock);
}

bool uart8250_restore(struct uart8250 *u, struct state_reader *r)
{
    uint8_t regs[7];
    state_get_bytes(r, regs, sizeof(regs));
    bool fifo = state_get_bool(r), thre = state_get_bool(r);
    unsigned count = state_get_count(r, fifo ? UART8250_FIFO_SIZE : 1u, "UART FIFO bytes");
    uint8_t rx[UART8250_FIFO_SIZE];
    state_get_bytes(r, rx, count);
    if (state_reader_ok(r) && ((regs[0] & ~IER_MASK) || (regs[2] & ~MCR_MASK) || regs[6] > 0xf))
        state_fail(r, "UART registers out of range");
    if (!state_reader_ok(r))
        return false;
    pthread_mutex_lock(&u->lock);
    u->ier = regs[0];
    u->lcr = regs[1];
    u->mcr = regs[2];
    u->scr = regs[3];
    u->dll = regs[4];
    u->dlm = regs[5];
    u->msr_delta = regs[6];
    u->fifo_enabled = fifo;
    u->thre_pending = thre;
    u->rx_head = 0;
    u->rx_count = count;
    for (unsigned i = 0; i < count; i++)
        u->rx[i] = rx[i];
    u->line = false;
    unlock_and_notify(u);
    return true;
}
