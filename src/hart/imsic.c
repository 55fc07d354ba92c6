/* SPDX-License-Identifier: MIT */
/* imsic.c - the guests' IMSIC interrupt files (see imsic.h for the model). */
#include "hart/imsic.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

struct imsic_file {
    pthread_mutex_t lock;
    struct imsic_file_state s;
    atomic_bool line; /* last level reported through notify */
};

struct imsic {
    unsigned nharts;
    imsic_notify_fn notify;
    void *opaque;
    struct imsic_file *files; /* [nharts] */
};

struct imsic *imsic_create(unsigned nharts, imsic_notify_fn notify, void *opaque)
{
    if (nharts == 0)
        return NULL;
    struct imsic *im = calloc(1, sizeof(*im));
    if (!im)
        return NULL;
    im->files = calloc(nharts, sizeof(*im->files));
    if (!im->files) {
        free(im);
        return NULL;
    }
    im->nharts = nharts;
    im->notify = notify;
    im->opaque = opaque;
    for (unsigned i = 0; i < nharts; i++) {
        pthread_mutex_init(&im->files[i].lock, NULL);
        atomic_init(&im->files[i].line, false);
    }
    return im;
}

void imsic_destroy(struct imsic *im)
{
    if (!im)
        return;
    for (unsigned i = 0; i < im->nharts; i++)
        pthread_mutex_destroy(&im->files[i].lock);
    free(im->files);
    free(im);
}

/* The highest-priority (lowest) pending-and-enabled identity under the
   threshold, or 0. Lock held. */
static unsigned top_identity(const struct imsic_file_state *s)
{
    for (unsigned w = 0; w < IMSIC_WORDS; w++) {
        uint64_t bits = s->eip[w] & s->eie[w];
        if (bits) {
            unsigned id = w * 64 + (unsigned)__builtin_ctzll(bits);
            return s->eithreshold == 0 || id < s->eithreshold ? id : 0;
        }
    }
    return 0;
}

/* Re-evaluate the file's line; notify on change. Lock held. */
static void update(struct imsic *im, unsigned hart)
{
    struct imsic_file *f = &im->files[hart];
    bool now = f->s.eidelivery == 1 && top_identity(&f->s) != 0;
    if (now == atomic_load_explicit(&f->line, memory_order_relaxed))
        return;
    atomic_store_explicit(&f->line, now, memory_order_release);
    if (im->notify)
        im->notify(im->opaque, hart, now);
}

void imsic_send(struct imsic *im, unsigned hart, uint32_t id)
{
    if (!im || hart >= im->nharts || id == 0 || id > IMSIC_NUM_IDS)
        return;
    struct imsic_file *f = &im->files[hart];
    pthread_mutex_lock(&f->lock);
    f->s.eip[id / 64] |= 1ull << (id % 64);
    update(im, hart);
    pthread_mutex_unlock(&f->lock);
}

static bool access_ok(const struct imsic *im, uint64_t offset, unsigned size)
{
    return im && size == 4 && (offset & 3) == 0 && offset / IMSIC_PAGE < im->nharts;
}

bool imsic_mmio_read(struct imsic *im, uint64_t offset, unsigned size, uint32_t *value)
{
    if (!access_ok(im, offset, size))
        return false;
    *value = 0; /* seteipnum_le/be and the reserved bytes all read zero */
    return true;
}

bool imsic_mmio_write(struct imsic *im, uint64_t offset, unsigned size, uint32_t value)
{
    if (!access_ok(im, offset, size))
        return false;
    if (offset % IMSIC_PAGE == 0) /* seteipnum_le; seteipnum_be (+4) is ignored */
        imsic_send(im, (unsigned)(offset / IMSIC_PAGE), value);
    return true;
}

uint32_t imsic_topei(struct imsic *im, unsigned hart, bool claim)
{
    if (!im || hart >= im->nharts)
        return 0;
    struct imsic_file *f = &im->files[hart];
    pthread_mutex_lock(&f->lock);
    unsigned id = top_identity(&f->s);
    if (claim && id) {
        f->s.eip[id / 64] &= ~(1ull << (id % 64));
        update(im, hart);
    }
    pthread_mutex_unlock(&f->lock);
    return id ? (uint32_t)id << 16 | id : 0;
}

/* Bits of eip/eie word w that name implemented identities (not 0). */
static uint64_t word_mask(unsigned w)
{
    return w == 0 ? ~1ull : ~0ull;
}

bool imsic_ireg(struct imsic *im, unsigned hart, uint64_t sel, bool write, uint64_t mask,
                uint64_t bits, uint64_t *old)
{
    if (!im || hart >= im->nharts || sel < IMSIC_SEL_EIDELIVERY || sel > IMSIC_SEL_LAST)
        return false;
    if (sel >= IMSIC_SEL_EIP0 && (sel & 1))
        return false; /* eip1, eip3, ..., eie63 do not exist in RV64 */
    struct imsic_file *f = &im->files[hart];
    uint64_t *reg64 = NULL, valid = 0;
    if (sel >= IMSIC_SEL_EIP0) {
        unsigned w = (unsigned)((sel & 0x3f) / 2);
        if (w < IMSIC_WORDS) {
            reg64 = sel >= IMSIC_SEL_EIE0 ? &f->s.eie[w] : &f->s.eip[w];
            valid = word_mask(w);
        }
    }
    pthread_mutex_lock(&f->lock);
    uint64_t v = 0;
    if (reg64)
        v = *reg64;
    else if (sel == IMSIC_SEL_EIDELIVERY)
        v = f->s.eidelivery;
    else if (sel == IMSIC_SEL_EITHRESHOLD)
        v = f->s.eithreshold;
    *old = v;
    if (write) {
        uint64_t nv = (v & ~mask) | (bits & mask);
        if (reg64)
            *reg64 = nv & valid;
        else if (sel == IMSIC_SEL_EIDELIVERY)
            f->s.eidelivery = nv & 1; /* WARL: 0 or 1 */
        else if (sel == IMSIC_SEL_EITHRESHOLD)
            f->s.eithreshold = (uint32_t)(nv & 0xff); /* WLRL: 0..255 */
        update(im, hart);
    }
    pthread_mutex_unlock(&f->lock);
    return true;
}

bool imsic_line(struct imsic *im, unsigned hart)
{
    if (!im || hart >= im->nharts)
        return false;
    return atomic_load_explicit(&im->files[hart].line, memory_order_acquire);
}

void imsic_save(struct imsic *im, unsigned hart, struct imsic_file_state *out)
{
    memset(out, 0, sizeof(*out));
    if (!im || hart >= im->nharts)
        return;
    pthread_mutex_lock(&im->files[hart].lock);
    *out = im->files[hart].s;
    pthread_mutex_unlock(&im->files[hart].lock);
}

bool imsic_restore(struct imsic *im, unsigned hart, const struct imsic_file_state *in)
{
    if (!im || hart >= im->nharts || in->eidelivery > 1 || in->eithreshold > IMSIC_NUM_IDS ||
        (in->eip[0] | in->eie[0]) & 1)
        return false;
    struct imsic_file *f = &im->files[hart];
    pthread_mutex_lock(&f->lock);
    f->s = *in;
    update(im, hart);
    pthread_mutex_unlock(&f->lock);
    return true;
}
