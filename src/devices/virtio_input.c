/* SPDX-License-Identifier: MIT */
/*
 * virtio_input.c - the keyboard input device (see virtio_input.h): a config
 * space that answers select/subsel queries, a pending ring of events moved
 * one per chain into the eventq, and a statusq that is drained and ignored.
 *
 * The config space is kept as the 136 bytes the driver reads (`cfg`),
 * rebuilt whenever select or subsel changes, so a read is a copy.
 */
#include "devices/virtio_input.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util/le.h"
#include "util/state.h"

struct input_event_rec {
    uint16_t type, code;
    uint32_t value;
};

struct virtio_input {
    pthread_mutex_t lock; /* guards everything below */
    struct virtio_device *vdev;
    bool active; /* between activate and reset */

    uint8_t name[VIRTIO_INPUT_CFG_U_SIZE];
    size_t name_len;
    uint8_t cfg[VIRTIO_INPUT_CONFIG_SIZE]; /* what the driver reads now */

    struct input_event_rec pending[VIRTIO_INPUT_PENDING_MAX];
    unsigned head, count; /* oldest pending event, and how many */

    struct virtio_input_stats stats; /* events_pending is filled in on read */
    struct virtq_chain chain;        /* the chain being served (~8 KiB: off the stack) */
};

/* --- config space -------------------------------------------------------------------- */

/* Bytes of bitmap[0..len) up to and including the last nonzero one. */
static uint8_t bitmap_size(const uint8_t *bitmap, size_t len)
{
    while (len > 0 && bitmap[len - 1] == 0)
        len--;
    return (uint8_t)len;
}

/* Fill u (VIRTIO_INPUT_CFG_U_SIZE bytes, zeroed) for select/subsel: its size. */
static uint8_t fill_u(const struct virtio_input *in, uint8_t select, uint8_t subsel, uint8_t *u)
{
    switch (select) {
    case VIRTIO_INPUT_CFG_ID_NAME:
        if (subsel != 0)
            return 0;
        memcpy(u, in->name, in->name_len);
        return (uint8_t)in->name_len;
    case VIRTIO_INPUT_CFG_ID_SERIAL:
        if (subsel != 0)
            return 0;
        memcpy(u, VIRTIO_INPUT_SERIAL, sizeof(VIRTIO_INPUT_SERIAL) - 1);
        return (uint8_t)(sizeof(VIRTIO_INPUT_SERIAL) - 1);
    case VIRTIO_INPUT_CFG_ID_DEVIDS: /* struct virtio_input_devids */
        if (subsel != 0)
            return 0;
        put_le16(u + 0, VIRTIO_INPUT_BUS_VIRTUAL);
        put_le16(u + 2, VIRTIO_INPUT_VENDOR);
        put_le16(u + 4, VIRTIO_INPUT_PRODUCT);
        put_le16(u + 6, VIRTIO_INPUT_VERSION);
        return 8;
    case VIRTIO_INPUT_CFG_EV_BITS:
        if (subsel != VIRTIO_INPUT_EV_KEY)
            return 0;
        for (unsigned code = 1; code <= VIRTIO_INPUT_KEY_MAX; code++)
            u[code / 8] |= (uint8_t)(1u << (code % 8));
        return bitmap_size(u, VIRTIO_INPUT_CFG_U_SIZE);
    case VIRTIO_INPUT_CFG_PROP_BITS: /* no properties: an empty bitmap */
    case VIRTIO_INPUT_CFG_ABS_INFO:  /* no absolute axes */
    default: return 0;
    }
}

/* Rebuild in->cfg from the select and subsel it holds; lock held. */
static void rebuild_config_locked(struct virtio_input *in)
{
    uint8_t select = in->cfg[VIRTIO_INPUT_CFG_SELECT];
    uint8_t subsel = in->cfg[VIRTIO_INPUT_CFG_SUBSEL];

    memset(in->cfg, 0, sizeof(in->cfg));
    in->cfg[VIRTIO_INPUT_CFG_SELECT] = select;
    in->cfg[VIRTIO_INPUT_CFG_SUBSEL] = subsel;
    in->cfg[VIRTIO_INPUT_CFG_SIZE] = fill_u(in, select, subsel, in->cfg + VIRTIO_INPUT_CFG_U);
}

static void input_config_read(void *opaque, uint32_t offset, void *buf, unsigned len)
{
    struct virtio_input *in = opaque;

    if (offset > sizeof(in->cfg) || len > sizeof(in->cfg) - offset)
        return; /* the transport checked this already */
    pthread_mutex_lock(&in->lock);
    memcpy(buf, in->cfg + offset, len);
    pthread_mutex_unlock(&in->lock);
}

static void input_config_write(void *opaque, uint32_t offset, const void *buf, unsigned len)
{
    struct virtio_input *in = opaque;
    const uint8_t *b = buf;

    if (offset > sizeof(in->cfg) || len > sizeof(in->cfg) - offset)
        return;
    pthread_mutex_lock(&in->lock);
    /* Only select and subsel are writable; the bytes of a wider write that
       land elsewhere are ignored. */
    for (unsigned i = 0; i < len; i++) {
        uint32_t at = offset + i;

        if (at == VIRTIO_INPUT_CFG_SELECT || at == VIRTIO_INPUT_CFG_SUBSEL)
            in->cfg[at] = b[i];
    }
    rebuild_config_locked(in);
    pthread_mutex_unlock(&in->lock);
}

/* --- queues -------------------------------------------------------------------------- */

/* Move pending events into eventq chains while both last; lock held. */
static void deliver_locked(struct virtio_input *in)
{
    while (in->active && in->count > 0 &&
           virtio_queue_pop(in->vdev, VIRTIO_INPUT_EVENTQ, &in->chain)) {
        const struct input_event_rec *ev = &in->pending[in->head];
        uint8_t bytes[VIRTIO_INPUT_EVENT_SIZE];
        size_t n;

        if (in->chain.in_len < VIRTIO_INPUT_EVENT_SIZE) {
            /* Too small for an event: returned empty, the event waits. */
            virtio_queue_push(in->vdev, VIRTIO_INPUT_EVENTQ, &in->chain, 0);
            in->stats.short_buffers++;
            continue;
        }
        put_le16(bytes + 0, ev->type);
        put_le16(bytes + 2, ev->code);
        put_le32(bytes + 4, ev->value);
        n = virtq_write_in(&in->chain, 0, bytes, sizeof(bytes));
        virtio_queue_push(in->vdev, VIRTIO_INPUT_EVENTQ, &in->chain, (uint32_t)n);
        in->head = (in->head + 1) % VIRTIO_INPUT_PENDING_MAX;
        in->count--;
        in->stats.events_sent++;
    }
}

/* Return every statusq chain unread; lock held. */
static void drain_status_locked(struct virtio_input *in)
{
    while (in->active && virtio_queue_pop(in->vdev, VIRTIO_INPUT_STATUSQ, &in->chain)) {
        virtio_queue_push(in->vdev, VIRTIO_INPUT_STATUSQ, &in->chain, 0);
        in->stats.status_events++;
    }
}

/* Append evs[0..n) as a unit and deliver: 0, or -1 if they do not fit. */
static int queue_events(struct virtio_input *in, const struct input_event_rec *evs, unsigned n)
{
    int ret = 0;

    pthread_mutex_lock(&in->lock);
    if (n > VIRTIO_INPUT_PENDING_MAX - in->count) {
        in->stats.events_dropped += n;
        ret = -1;
    } else {
        for (unsigned i = 0; i < n; i++)
            in->pending[(in->head + in->count + i) % VIRTIO_INPUT_PENDING_MAX] = evs[i];
        in->count += n;
        deliver_locked(in);
    }
    pthread_mutex_unlock(&in->lock);
    return ret;
}

/* The two events of a key change: the key, then SYN_REPORT. */
static void key_events(struct input_event_rec *evs, unsigned code, bool pressed)
{
    evs[0] = (struct input_event_rec){VIRTIO_INPUT_EV_KEY, (uint16_t)code, pressed ? 1u : 0u};
    evs[1] = (struct input_event_rec){VIRTIO_INPUT_EV_SYN, VIRTIO_INPUT_SYN_REPORT, 0};
}

int virtio_input_send_key(struct virtio_input *in, unsigned code, bool pressed)
{
    struct input_event_rec evs[2];

    if (code < 1 || code > VIRTIO_INPUT_KEY_MAX)
        return -1;
    key_events(evs, code, pressed);
    return queue_events(in, evs, 2);
}

int virtio_input_send_ctrl_alt_del(struct virtio_input *in)
{
    static const unsigned keys[] = {VIRTIO_INPUT_KEY_LEFTCTRL, VIRTIO_INPUT_KEY_LEFTALT,
                                    VIRTIO_INPUT_KEY_DELETE};
    struct input_event_rec evs[12];
    unsigned n = 0;

    for (unsigned i = 0; i < 3; i++, n += 2) /* press in order */
        key_events(evs + n, keys[i], true);
    for (unsigned i = 3; i-- > 0; n += 2) /* release in reverse */
        key_events(evs + n, keys[i], false);
    return queue_events(in, evs, n);
}

/* --- transport callbacks ------------------------------------------------------------- */

static void input_notify(void *opaque, unsigned q)
{
    struct virtio_input *in = opaque;

    pthread_mutex_lock(&in->lock);
    if (q == VIRTIO_INPUT_EVENTQ)
        deliver_locked(in);
    else if (q == VIRTIO_INPUT_STATUSQ)
        drain_status_locked(in);
    pthread_mutex_unlock(&in->lock);
}

static void input_activate(void *opaque, uint64_t features)
{
    struct virtio_input *in = opaque;

    (void)features;
    pthread_mutex_lock(&in->lock);
    in->active = in->vdev != NULL;
    /* Events sent, and buffers made available, before DRIVER_OK. */
    deliver_locked(in);
    drain_status_locked(in);
    pthread_mutex_unlock(&in->lock);
}

static void input_reset(void *opaque)
{
    struct virtio_input *in = opaque;

    pthread_mutex_lock(&in->lock); /* waits for a delivery in flight */
    in->active = false;
    in->cfg[VIRTIO_INPUT_CFG_SELECT] = 0;
    in->cfg[VIRTIO_INPUT_CFG_SUBSEL] = 0;
    rebuild_config_locked(in);
    /* The pending events are kept: see virtio_input.h. */
    pthread_mutex_unlock(&in->lock);
}

/* Snapshots: the config selector and the events not yet delivered. */
static void input_save(void *opaque, struct state_writer *w)
{
    struct virtio_input *in = opaque;

    pthread_mutex_lock(&in->lock);
    state_put_u8(w, in->cfg[VIRTIO_INPUT_CFG_SELECT]);
    state_put_u8(w, in->cfg[VIRTIO_INPUT_CFG_SUBSEL]);
    state_put_u32(w, in->count);
    for (unsigned i = 0; i < in->count; i++) {
        const struct input_event_rec *ev = &in->pending[(in->head + i) % VIRTIO_INPUT_PENDING_MAX];
        state_put_u16(w, ev->type);
        state_put_u16(w, ev->code);
        state_put_u32(w, ev->value);
    }
    pthread_mutex_unlock(&in->lock);
}

static bool input_restore(void *opaque, struct state_reader *r)
{
    struct virtio_input *in = opaque;

    pthread_mutex_lock(&in->lock);
    in->cfg[VIRTIO_INPUT_CFG_SELECT] = state_get_u8(r);
    in->cfg[VIRTIO_INPUT_CFG_SUBSEL] = state_get_u8(r);
    rebuild_config_locked(in);
    in->head = 0;
    in->count = state_get_count(r, VIRTIO_INPUT_PENDING_MAX, "pending input events");
    for (unsigned i = 0; i < in->count; i++) {
        in->pending[i].type = state_get_u16(r);
        in->pending[i].code = state_get_u16(r);
        in->pending[i].value = state_get_u32(r);
    }
    pthread_mutex_unlock(&in->lock);
    return state_reader_ok(r);
}

static const struct virtio_device_ops input_ops = {
    .device_id = VIRTIO_ID_INPUT,
    .features = 0,
    .num_queues = 2,
    .queue_size_max = VIRTIO_INPUT_QUEUE_SIZE,
    .config_size = VIRTIO_INPUT_CONFIG_SIZE,
    .config_read = input_config_read,
    .config_write = input_config_write,
    .activate = input_activate,
    .notify = input_notify,
    .reset = input_reset,
    .save = input_save,
    .restore = input_restore,
};

const struct virtio_device_ops *virtio_input_ops(void)
{
    return &input_ops;
}

/* --- lifecycle ----------------------------------------------------------------------- */

struct virtio_input *virtio_input_create(const char *name)
{
    struct virtio_input *in = calloc(1, sizeof(*in));

    if (!in)
        return NULL;
    if (pthread_mutex_init(&in->lock, NULL) != 0) {
        free(in);
        return NULL;
    }
    if (!name)
        name = VIRTIO_INPUT_DEFAULT_NAME;
    in->name_len = strnlen(name, sizeof(in->name));
    memcpy(in->name, name, in->name_len);
    rebuild_config_locked(in); /* select UNSET: all zero; no other thread yet */
    return in;
}

void virtio_input_bind(struct virtio_input *in, struct virtio_device *vdev)
{
    pthread_mutex_lock(&in->lock);
    in->vdev = vdev;
    pthread_mutex_unlock(&in->lock);
}

void virtio_input_get_stats(struct virtio_input *in, struct virtio_input_stats *out)
{
    pthread_mutex_lock(&in->lock);
    *out = in->stats;
    out->events_pending = in->count;
    pthread_mutex_unlock(&in->lock);
}

void virtio_input_destroy(struct virtio_input *in)
{
    if (!in)
        return;
    pthread_mutex_destroy(&in->lock);
    free(in);
}
