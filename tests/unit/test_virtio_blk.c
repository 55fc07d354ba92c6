/*
 * The block device on temporary image files, through the real virtio-mmio
 * transport, driven as Linux's virtio_mmio + virtio_blk drive it: the
 * request types, the statuses the spec asks for, malformed chains, reset
 * and destroy with requests in flight, and the reasons create refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_blk.h"
#include "support/virtio_regs.h"

/* --- a minimal virtio-mmio driver ---------------------------------------------------- */

#define RAM_BASE   0x80000000ull
#define RAM_SIZE   (4u << 20)
#define QNUM       256u
#define DESC_GPA   (RAM_BASE + 0x0000) /* 4 KiB */
#define AVAIL_GPA  (RAM_BASE + 0x1000)
#define USED_GPA   (RAM_BASE + 0x2000)
#define DATA_BASE  (RAM_BASE + 0x10000)
#define IMAGE_SIZE (4u << 20) /* 8192 sectors */
#define SECTORS    (IMAGE_SIZE / 512u)

struct drv {
    char path[PATH_MAX];
    uint8_t *ram;
    struct virtio_memory mem;
    struct virtio_blk *blk;
    struct virtio_device *dev;
    uint64_t features; /* negotiated */
    uint16_t avail_idx, used_seen, next_desc;
    uint64_t data_next;
    atomic_uint irqs;
};

struct seg {
    uint64_t gpa;
    uint32_t len;
    bool write; /* device-writable */
};

static uint8_t *host(struct drv *d, uint64_t gpa)
{
    assert_true(gpa >= RAM_BASE && gpa < RAM_BASE + RAM_SIZE);
    return d->ram + (gpa - RAM_BASE);
}

/* Little-endian stores and loads into guest RAM (the drivers' view). */
static void put_le(struct drv *d, uint64_t gpa, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        host(d, gpa)[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(struct drv *d, uint64_t gpa, unsigned bytes)
{
    uint64_t v = 0;

    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)host(d, gpa)[i] << (8 * i);
    return v;
}

static void on_irq(void *opaque, bool level)
{
    struct drv *d = opaque;

    if (level)
        atomic_fetch_add(&d->irqs, 1);
}

static uint64_t device_features(struct drv *d)
{
    mmio_wr(d->dev, MMIO_DEVICE_FEATURES_SEL, 0);
    uint64_t f = mmio_rd(d->dev, MMIO_DEVICE_FEATURES);
    mmio_wr(d->dev, MMIO_DEVICE_FEATURES_SEL, 1);
    return f | (uint64_t)mmio_rd(d->dev, MMIO_DEVICE_FEATURES) << 32;
}

/* Linux's probe: reset, ACK, DRIVER, features (offered & wanted), FEATURES_OK,
   the queue, DRIVER_OK. */
static void drv_init(struct drv *d, uint64_t want)
{
    mmio_wr(d->dev, MMIO_STATUS, 0);
    mmio_wr(d->dev, MMIO_STATUS, 1);
    mmio_wr(d->dev, MMIO_STATUS, 1 | 2);
    d->features = device_features(d) & (want | VIRTIO_F_VERSION_1);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES_SEL, 0);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES, (uint32_t)d->features);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(d->dev, MMIO_DRIVER_FEATURES, (uint32_t)(d->features >> 32));
    mmio_wr(d->dev, MMIO_STATUS, 1 | 2 | 8);
    assert_int_equal(mmio_rd(d->dev, MMIO_STATUS), 1 | 2 | 8);

    memset(host(d, DESC_GPA), 0, DATA_BASE - DESC_GPA);
    mmio_wr(d->dev, MMIO_QUEUE_SEL, 0);
    assert_int_equal(mmio_rd(d->dev, MMIO_QUEUE_NUM_MAX), VIRTIO_BLK_QUEUE_SIZE);
    mmio_wr(d->dev, MMIO_QUEUE_NUM, QNUM);
    mmio_wr(d->dev, MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
    mmio_wr(d->dev, MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
    mmio_wr(d->dev, MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
    mmio_wr(d->dev, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(AVAIL_GPA >> 32));
    mmio_wr(d->dev, MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
    mmio_wr(d->dev, MMIO_QUEUE_USED_HIGH, (uint32_t)(USED_GPA >> 32));
    mmio_wr(d->dev, MMIO_QUEUE_READY, 1);
    mmio_wr(d->dev, MMIO_STATUS, 1 | 2 | 8 | 4);
    assert_int_equal(mmio_rd(d->dev, MMIO_STATUS), 1 | 2 | 8 | 4);
    d->avail_idx = d->used_seen = d->next_desc = 0;
}

/* Every image made, so that the group teardown removes them even after a
   failed test, which leaves the test at its first failed assertion. */
static char made[64][PATH_MAX];
static unsigned nmade;

static const char *tmpdir(void)
{
    const char *t = getenv("TMPDIR");

    return t && *t ? t : "/tmp";
}

/* A zero-filled sparse image of bytes, named in d->path. */
static void make_image(struct drv *d, off_t bytes)
{
    snprintf(d->path, sizeof(d->path), "%s/duvisor-blk-XXXXXX", tmpdir());
    int fd = mkstemp(d->path);
    assert_true(fd >= 0);
    if (nmade < 64)
        memcpy(made[nmade++], d->path, sizeof(d->path));
    assert_int_equal(ftruncate(fd, bytes), 0);
    close(fd);
}

static int remove_images(void **state)
{
    (void)state;
    for (unsigned i = 0; i < nmade; i++)
        unlink(made[i]);
    nmade = 0;
    return 0;
}

/* An image of `bytes` with the device on it, initialised by the driver with `want`. */
static void drv_open_sized(struct drv *d, off_t bytes, bool readonly, uint64_t want)
{
    char err[256] = "";

    memset(d, 0, sizeof(*d));
    make_image(d, bytes);
    d->ram = aligned_alloc(4096, RAM_SIZE);
    assert_non_null(d->ram);
    memset(d->ram, 0, RAM_SIZE);
    d->mem = (struct virtio_memory){.host = d->ram, .gpa_base = RAM_BASE, .size = RAM_SIZE};
    d->blk = virtio_blk_create(d->path, readonly, err, sizeof(err));
    assert_non_null(d->blk);
    d->dev = virtio_create(virtio_blk_ops(d->blk), d->blk, &d->mem, on_irq, d);
    assert_non_null(d->dev);
    virtio_blk_bind(d->blk, d->dev);
    assert_int_equal(mmio_rd(d->dev, MMIO_DEVICE_ID), VIRTIO_ID_BLOCK);
    drv_init(d, want);
}

static void drv_open(struct drv *d, bool readonly, uint64_t want)
{
    drv_open_sized(d, IMAGE_SIZE, readonly, want);
}

/* The documented teardown order: the device drains into the transport first. */
static void drv_close(struct drv *d)
{
    virtio_blk_destroy(d->blk);
    virtio_destroy(d->dev);
    unlink(d->path);
    free(d->ram);
}

static uint64_t alloc(struct drv *d, uint32_t len, uint8_t fill)
{
    uint64_t gpa = d->data_next ? d->data_next : DATA_BASE;

    assert_true(gpa + len <= RAM_BASE + RAM_SIZE);
    memset(host(d, gpa), fill, len);
    d->data_next = (gpa + len + 15) & ~15ull;
    return gpa;
}

/* Make the chain segs[0..n) available and kick: its head. */
static uint16_t submit(struct drv *d, const struct seg *segs, unsigned n)
{
    uint16_t head = d->next_desc;

    for (unsigned i = 0; i < n; i++) {
        uint16_t idx = (uint16_t)((head + i) % QNUM);
        uint64_t g = DESC_GPA + 16ull * idx;

        put_le(d, g, segs[i].gpa, 8);
        put_le(d, g + 8, segs[i].len, 4);
        put_le(d, g + 12, (segs[i].write ? DESC_F_WRITE : 0) | (i + 1 < n ? DESC_F_NEXT : 0), 2);
        put_le(d, g + 14, (head + i + 1) % QNUM, 2);
    }
    d->next_desc = (uint16_t)((head + n) % QNUM);
    put_le(d, AVAIL_GPA + 4 + 2ull * (d->avail_idx % QNUM), head, 2);
    d->avail_idx++;
    /* release: the ring entry before the index that publishes it */
    __atomic_store_n((uint16_t *)host(d, AVAIL_GPA + 2), d->avail_idx, __ATOMIC_RELEASE);
    mmio_wr(d->dev, MMIO_QUEUE_NOTIFY, 0);
    return head;
}

/* Wait (up to 10 s) for the next used entry: its id, and its length in *len. */
static uint32_t wait_used(struct drv *d, uint32_t *len)
{
    struct timespec pause = {0, 100000};

    for (int i = 0; i < 100000; i++) {
        uint16_t idx = __atomic_load_n((uint16_t *)host(d, USED_GPA + 2), __ATOMIC_ACQUIRE);

        if (idx != d->used_seen) {
            uint64_t e = USED_GPA + 4 + 8ull * (d->used_seen % QNUM);

            d->used_seen++;
            if (len)
                *len = (uint32_t)get_le(d, e + 4, 4);
            return (uint32_t)get_le(d, e, 4);
        }
        nanosleep(&pause, NULL);
    }
    fail_msg("no completion within 10 s");
    return 0;
}

/* Nothing more was completed for a short while. */
static void assert_no_used(struct drv *d)
{
    struct timespec pause = {0, 20000000};

    nanosleep(&pause, NULL);
    assert_int_equal(__atomic_load_n((uint16_t *)host(d, USED_GPA + 2), __ATOMIC_ACQUIRE),
                     d->used_seen);
}

/* A request header in guest RAM. */
static uint64_t header(struct drv *d, uint32_t type, uint64_t sector)
{
    uint64_t gpa = alloc(d, 16, 0);

    put_le(d, gpa, type, 4);
    put_le(d, gpa + 4, 0, 4);
    put_le(d, gpa + 8, sector, 8);
    return gpa;
}

/* The usual three-part request: header, data (device-writable for IN and
   GET_ID), status. Returns the status; *used gets the used length. */
static uint8_t request(struct drv *d, uint32_t type, uint64_t sector, uint64_t data, uint32_t len,
                       uint32_t *used)
{
    bool in = type == VIRTIO_BLK_T_IN || type == VIRTIO_BLK_T_GET_ID;
    uint64_t status = alloc(d, 1, 0xee);
    struct seg segs[3];
    unsigned n = 0;

    segs[n++] = (struct seg){header(d, type, sector), 16, false};
    if (len)
        segs[n++] = (struct seg){data, len, in};
    segs[n++] = (struct seg){status, 1, true};
    uint16_t head = submit(d, segs, n);
    uint32_t l;
    assert_int_equal(wait_used(d, &l), head);
    if (used)
        *used = l;
    return *host(d, status);
}

static uint8_t rw(struct drv *d, bool write, uint64_t sector, uint64_t data, uint32_t len)
{
    return request(d, write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN, sector, data, len, NULL);
}

/* One DISCARD / WRITE_ZEROES segment. */
struct range {
    uint64_t sector;
    uint32_t num, flags;
};

static uint8_t dwz(struct drv *d, uint32_t type, const struct range *r, unsigned n)
{
    uint64_t payload = alloc(d, 16 * n, 0);
    uint64_t status = alloc(d, 1, 0xee);

    for (unsigned i = 0; i < n; i++) {
        put_le(d, payload + 16 * i, r[i].sector, 8);
        put_le(d, payload + 16 * i + 8, r[i].num, 4);
        put_le(d, payload + 16 * i + 12, r[i].flags, 4);
    }
    struct seg segs[3] = {
        {header(d, type, 0), 16, false}, {payload, 16 * n, false}, {status, 1, true}};
    uint16_t head = submit(d, segs, 3);
    assert_int_equal(wait_used(d, NULL), head);
    return *host(d, status);
}

static uint32_t config32(struct drv *d, unsigned off)
{
    return mmio_rd(d->dev, MMIO_CONFIG + off);
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(seed * 131 + i * 7 + (i >> 9));
}

/* The image's bytes [pos, pos + len) as the host sees them. */
static void file_read(struct drv *d, off_t pos, void *buf, size_t len)
{
    int fd = open(d->path, O_RDONLY);

    assert_true(fd >= 0);
    assert_int_equal(pread(fd, buf, len, pos), (ssize_t)len);
    close(fd);
}

static void file_write(struct drv *d, off_t pos, const void *buf, size_t len)
{
    int fd = open(d->path, O_WRONLY);

    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, buf, len, pos), (ssize_t)len);
    close(fd);
}

static bool all_zero(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i])
            return false;
    return true;
}

static const uint64_t WANT_ALL =
    VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE | VIRTIO_BLK_F_FLUSH | VIRTIO_BLK_F_RO |
    VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES | VIRTIO_F_EVENT_IDX | VIRTIO_F_INDIRECT_DESC;

/* --- tests --------------------------------------------------------------------------- */

static void features_and_config(void **state)
{
    struct drv d;

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t f = device_features(&d);
    assert_true(f & VIRTIO_BLK_F_SEG_MAX);
    assert_true(f & VIRTIO_BLK_F_BLK_SIZE);
    assert_true(f & VIRTIO_BLK_F_FLUSH);
    assert_false(f & VIRTIO_BLK_F_RO);
    /* TMPDIR may be a file system without hole punching: then neither is offered */
    bool dis = virtio_blk_can_discard(d.blk);
    assert_int_equal(!!(f & VIRTIO_BLK_F_DISCARD), dis);
    assert_int_equal(!!(f & VIRTIO_BLK_F_WRITE_ZEROES), dis);

    assert_int_equal(config32(&d, VIRTIO_BLK_CFG_CAPACITY), SECTORS);
    assert_int_equal(config32(&d, VIRTIO_BLK_CFG_CAPACITY + 4), 0);
    assert_int_equal(virtio_blk_capacity(d.blk), SECTORS);
    assert_int_equal(config32(&d, VIRTIO_BLK_CFG_SEG_MAX), VIRTQ_MAX_SEGS - 2);
    assert_int_equal(config32(&d, VIRTIO_BLK_CFG_BLK_SIZE), 512);
    if (dis) {
        assert_int_equal(config32(&d, VIRTIO_BLK_CFG_MAX_DISCARD_SECTORS),
                         VIRTIO_BLK_MAX_DWZ_SECTORS);
        assert_int_equal(config32(&d, VIRTIO_BLK_CFG_MAX_DISCARD_SEG), VIRTIO_BLK_MAX_DWZ_SEG);
        assert_true(config32(&d, VIRTIO_BLK_CFG_DISCARD_ALIGNMENT) >= 1);
        assert_int_equal(config32(&d, VIRTIO_BLK_CFG_MAX_WZ_SECTORS), VIRTIO_BLK_MAX_DWZ_SECTORS);
        assert_int_equal(config32(&d, VIRTIO_BLK_CFG_MAX_WZ_SEG), VIRTIO_BLK_MAX_DWZ_SEG);
        assert_int_equal(config32(&d, VIRTIO_BLK_CFG_WZ_MAY_UNMAP) & 0xff, 1);
    }
    /* One byte of capacity, as a driver may read it. */
    uint64_t v = 0;
    assert_true(virtio_mmio_read(d.dev, MMIO_CONFIG + 1, 1, &v));
    assert_int_equal(v, SECTORS >> 8);
    /* Config writes are ignored. */
    mmio_wr(d.dev, MMIO_CONFIG + VIRTIO_BLK_CFG_CAPACITY, 1);
    assert_int_equal(config32(&d, VIRTIO_BLK_CFG_CAPACITY), SECTORS);
    drv_close(&d);
}

static void read_write_round_trip(void **state)
{
    struct drv d;
    uint8_t file[8 * 512];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t out = alloc(&d, 8 * 512, 0);
    fill_pattern(host(&d, out), 8 * 512, 1);
    uint32_t used = 0;
    assert_int_equal(request(&d, VIRTIO_BLK_T_OUT, 10, out, 8 * 512, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 1); /* only the status was written */

    uint64_t in = alloc(&d, 8 * 512, 0xaa);
    assert_int_equal(request(&d, VIRTIO_BLK_T_IN, 10, in, 8 * 512, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 8 * 512 + 1);
    assert_memory_equal(host(&d, in), host(&d, out), 8 * 512);

    /* The write is in the file, where sector 10 says. */
    file_read(&d, 10 * 512, file, sizeof(file));
    assert_memory_equal(file, host(&d, out), sizeof(file));

    /* What the host wrote, the guest reads; the last sector too. */
    fill_pattern(file, 512, 2);
    file_write(&d, (SECTORS - 1) * 512ull, file, 512);
    assert_int_equal(rw(&d, false, SECTORS - 1, in, 512), VIRTIO_BLK_S_OK);
    assert_memory_equal(host(&d, in), file, 512);
    /* A zero-length read at the end is in range. */
    assert_int_equal(rw(&d, false, SECTORS, 0, 0), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

/* Data split over descriptors of odd sizes, header split too (any layout). */
static void scattered_buffers(void **state)
{
    struct drv d;
    uint8_t file[4 * 512];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t hdr = header(&d, VIRTIO_BLK_T_OUT, 100);
    uint64_t a = alloc(&d, 700, 0), b = alloc(&d, 1000, 0), c = alloc(&d, 348, 0);
    uint64_t st = alloc(&d, 1, 0xee);
    fill_pattern(host(&d, a), 700, 3);
    fill_pattern(host(&d, b), 1000, 4);
    fill_pattern(host(&d, c), 348, 5);
    struct seg w[6] = {{hdr, 5, false},  {hdr + 5, 11, false}, {a, 700, false},
                       {b, 1000, false}, {c, 348, false},      {st, 1, true}};
    uint16_t head = submit(&d, w, 6);
    assert_int_equal(wait_used(&d, NULL), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_OK);
    file_read(&d, 100 * 512, file, sizeof(file));
    assert_memory_equal(file, host(&d, a), 700);
    assert_memory_equal(file + 700, host(&d, b), 1000);
    assert_memory_equal(file + 1700, host(&d, c), 348);

    /* Read back into two buffers, the second also holding the status. */
    uint64_t hdr2 = header(&d, VIRTIO_BLK_T_IN, 100);
    uint64_t x = alloc(&d, 1500, 0), y = alloc(&d, 549, 0xee);
    struct seg r[3] = {{hdr2, 16, false}, {x, 1500, true}, {y, 549, true}};
    head = submit(&d, r, 3);
    uint32_t used;
    assert_int_equal(wait_used(&d, &used), head);
    assert_int_equal(used, 2049);
    assert_int_equal(*host(&d, y + 548), VIRTIO_BLK_S_OK);
    assert_memory_equal(host(&d, x), file, 1500);
    assert_memory_equal(host(&d, y), file + 1500, 548);
    drv_close(&d);
}

static void flush_after_write(void **state)
{
    struct drv d;
    uint8_t file[512];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t out = alloc(&d, 512, 0);
    fill_pattern(host(&d, out), 512, 6);
    assert_int_equal(rw(&d, true, 7, out, 512), VIRTIO_BLK_S_OK);
    uint32_t used = 0;
    assert_int_equal(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 1);
    file_read(&d, 7 * 512, file, 512);
    assert_memory_equal(file, host(&d, out), 512);
    drv_close(&d);
}

/* A driver without FLUSH gets a write-through disk: writes still work. */
static void no_flush_negotiated(void **state)
{
    struct drv d;
    uint8_t file[512];

    (void)state;
    drv_open(&d, false, VIRTIO_BLK_F_BLK_SIZE);
    assert_false(d.features & VIRTIO_BLK_F_FLUSH);
    uint64_t out = alloc(&d, 512, 0);
    fill_pattern(host(&d, out), 512, 7);
    assert_int_equal(rw(&d, true, 3, out, 512), VIRTIO_BLK_S_OK);
    file_read(&d, 3 * 512, file, 512);
    assert_memory_equal(file, host(&d, out), 512);
    /* DISCARD and WRITE_ZEROES were not negotiated: unsupported. */
    struct range r = {0, 8, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_UNSUPP);
    drv_close(&d);
}

static void get_id(void **state)
{
    struct drv d;
    char err[256];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t buf = alloc(&d, 20, 0xff);
    uint32_t used = 0;
    assert_int_equal(request(&d, VIRTIO_BLK_T_GET_ID, 0, buf, 20, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 21);
    const char *id = (const char *)host(&d, buf);
    assert_memory_equal(id, "duvisor-", 8);
    for (int i = 8; i < 20; i++)
        assert_non_null(strchr("0123456789abcdef", id[i]));

    /* A longer buffer: the ID, then zeros. */
    uint64_t big = alloc(&d, 64, 0xff);
    assert_int_equal(request(&d, VIRTIO_BLK_T_GET_ID, 0, big, 64, &used), VIRTIO_BLK_S_OK);
    assert_int_equal(used, 65);
    assert_memory_equal(host(&d, big), id, 20);
    assert_true(all_zero(host(&d, big + 20), 44));

    /* The same image under another name has the same ID; another image another. */
    char saved[20];
    memcpy(saved, id, 20);
    virtio_blk_destroy(d.blk);
    virtio_destroy(d.dev);
    char rel[PATH_MAX + 8];
    const char *base = strrchr(d.path, '/') + 1;
    snprintf(rel, sizeof(rel), "%.*s./%s", (int)(base - d.path), d.path, base);
    d.blk = virtio_blk_create(rel, true, err, sizeof(err));
    assert_non_null(d.blk);
    d.dev = virtio_create(virtio_blk_ops(d.blk), d.blk, &d.mem, on_irq, &d);
    virtio_blk_bind(d.blk, d.dev);
    drv_init(&d, WANT_ALL);
    assert_int_equal(request(&d, VIRTIO_BLK_T_GET_ID, 0, buf, 20, NULL), VIRTIO_BLK_S_OK);
    assert_memory_equal(host(&d, buf), saved, 20);
    drv_close(&d);

    struct drv e;
    drv_open(&e, false, WANT_ALL);
    buf = alloc(&e, 20, 0);
    assert_int_equal(request(&e, VIRTIO_BLK_T_GET_ID, 0, buf, 20, NULL), VIRTIO_BLK_S_OK);
    assert_memory_not_equal(host(&e, buf), saved, 20);
    drv_close(&e);
}

static void out_of_range(void **state)
{
    struct drv d;
    uint8_t before[1024], after[1024];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    uint64_t buf = alloc(&d, 1024, 0x5a);
    file_read(&d, (SECTORS - 1) * 512ull, before, 512);
    assert_int_equal(rw(&d, false, SECTORS - 1, buf, 1024), VIRTIO_BLK_S_IOERR);
    assert_int_equal(rw(&d, true, SECTORS - 1, buf, 1024), VIRTIO_BLK_S_IOERR);
    assert_int_equal(rw(&d, false, SECTORS, buf, 512), VIRTIO_BLK_S_IOERR);
    /* sector + length must not wrap around to look small */
    assert_int_equal(rw(&d, false, UINT64_MAX, buf, 512), VIRTIO_BLK_S_IOERR);
    assert_int_equal(rw(&d, true, UINT64_MAX - 1, buf, 1024), VIRTIO_BLK_S_IOERR);
    file_read(&d, (SECTORS - 1) * 512ull, after, 512);
    assert_memory_equal(before, after, 512);
    /* the file did not grow */
    struct stat st;
    assert_int_equal(stat(d.path, &st), 0);
    assert_int_equal(st.st_size, IMAGE_SIZE);
    drv_close(&d);
}

static void read_only(void **state)
{
    struct drv d;
    uint8_t file[512], orig[512];

    (void)state;
    memset(&d, 0, sizeof(d));
    drv_open(&d, true, WANT_ALL);
    assert_true(device_features(&d) & VIRTIO_BLK_F_RO);
    assert_true(d.features & VIRTIO_BLK_F_RO);
    assert_false(device_features(&d) & (VIRTIO_BLK_F_DISCARD | VIRTIO_BLK_F_WRITE_ZEROES));
    fill_pattern(orig, 512, 8);
    file_write(&d, 5 * 512, orig, 512);

    uint64_t out = alloc(&d, 512, 0x11);
    assert_int_equal(rw(&d, true, 5, out, 512), VIRTIO_BLK_S_IOERR);
    file_read(&d, 5 * 512, file, 512);
    assert_memory_equal(file, orig, 512);
    /* Reading and flushing still work. */
    uint64_t in = alloc(&d, 512, 0);
    assert_int_equal(rw(&d, false, 5, in, 512), VIRTIO_BLK_S_OK);
    assert_memory_equal(host(&d, in), orig, 512);
    assert_int_equal(request(&d, VIRTIO_BLK_T_FLUSH, 0, 0, 0, NULL), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

static void discard_punches_hole(void **state)
{
    struct drv d;
    uint8_t file[64 * 1024];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    if (!virtio_blk_can_discard(d.blk)) {
        drv_close(&d);
        skip(); /* TMPDIR cannot punch holes */
    }
    /* 64 KiB of data at 1 MiB, then 4 KiB more right after it. */
    memset(file, 0x77, sizeof(file));
    file_write(&d, 1 << 20, file, sizeof(file));
    file_write(&d, (1 << 20) + sizeof(file), file, 4096);
    int fd = open(d.path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(lseek(fd, 1 << 20, SEEK_HOLE), (1 << 20) + sizeof(file) + 4096);

    struct range r = {(1 << 20) / 512, sizeof(file) / 512, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &r, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(lseek(fd, 1 << 20, SEEK_HOLE), 1 << 20);
    assert_int_equal(lseek(fd, 1 << 20, SEEK_DATA), (1 << 20) + sizeof(file));
    close(fd);
    file_read(&d, 1 << 20, file, sizeof(file));
    assert_true(all_zero(file, sizeof(file)));
    file_read(&d, (1 << 20) + sizeof(file), file, 4096);
    assert_int_equal(file[0], 0x77);
    assert_int_equal(file[4095], 0x77);

    /* Several segments at once. */
    memset(file, 0x66, 8192);
    file_write(&d, 0, file, 8192);
    file_write(&d, 65536, file, 8192);
    struct range two[2] = {{0, 16, 0}, {128, 16, 0}};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, two, 2), VIRTIO_BLK_S_OK);
    file_read(&d, 0, file, 8192);
    assert_true(all_zero(file, 8192));
    file_read(&d, 65536, file, 8192);
    assert_true(all_zero(file, 8192));
    drv_close(&d);
}

static void discard_refusals(void **state)
{
    struct drv d;
    uint8_t file[4096];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    if (!virtio_blk_can_discard(d.blk)) {
        drv_close(&d);
        skip();
    }
    memset(file, 0x55, sizeof(file));
    file_write(&d, 0, file, sizeof(file));

    /* 5.2.6.2: unmap on a discard, or an unknown flag, is unsupported */
    struct range unmap = {0, 8, VIRTIO_BLK_WZ_F_UNMAP};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &unmap, 1), VIRTIO_BLK_S_UNSUPP);
    struct range odd = {0, 8, 2};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, &odd, 1), VIRTIO_BLK_S_UNSUPP);
    /* a good segment then one past the end: IOERR, and the first is not applied */
    struct range two[2] = {{0, 8, 0}, {SECTORS - 4, 8, 0}};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, two, 2), VIRTIO_BLK_S_IOERR);
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, two, 2), VIRTIO_BLK_S_IOERR);
    struct range wrap = {UINT64_MAX - 2, 8, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &wrap, 1), VIRTIO_BLK_S_IOERR);
    struct range huge = {0, VIRTIO_BLK_MAX_DWZ_SECTORS + 1, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &huge, 1), VIRTIO_BLK_S_IOERR);
    /* too many segments */
    static struct range many[VIRTIO_BLK_MAX_DWZ_SEG + 1];
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, many, VIRTIO_BLK_MAX_DWZ_SEG + 1),
                     VIRTIO_BLK_S_IOERR);
    file_read(&d, 0, file, sizeof(file));
    assert_int_equal(file[0], 0x55);
    assert_int_equal(file[4095], 0x55);

    /* a payload that is not whole segments */
    uint64_t payload = alloc(&d, 24, 0);
    uint64_t st = alloc(&d, 1, 0xee);
    struct seg s[3] = {
        {header(&d, VIRTIO_BLK_T_DISCARD, 0), 16, false}, {payload, 24, false}, {st, 1, true}};
    uint16_t head = submit(&d, s, 3);
    assert_int_equal(wait_used(&d, NULL), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_IOERR);
    /* a zero-sector segment is fine and does nothing */
    struct range none = {0, 0, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &none, 1), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

static void write_zeroes(void **state)
{
    struct drv d;
    uint8_t file[3 * 4096];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    if (!virtio_blk_can_discard(d.blk)) {
        drv_close(&d);
        skip();
    }
    for (uint32_t flags = 0; flags <= VIRTIO_BLK_WZ_F_UNMAP; flags++) {
        memset(file, 0x99, sizeof(file));
        file_write(&d, 0, file, sizeof(file));
        /* the middle 4 KiB plus one sector either side */
        struct range r = {8 - 1, 8 + 2, flags};
        assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, &r, 1), VIRTIO_BLK_S_OK);
        file_read(&d, 0, file, sizeof(file));
        assert_int_equal(file[4096 - 513], 0x99);
        assert_true(all_zero(file + 4096 - 512, 4096 + 1024));
        assert_int_equal(file[2 * 4096 + 512], 0x99);
        /* the guest reads zeros too */
        uint64_t in = alloc(&d, 4096, 0xcc);
        assert_int_equal(rw(&d, false, 8, in, 4096), VIRTIO_BLK_S_OK);
        assert_true(all_zero(host(&d, in), 4096));
    }
    struct stat st;
    assert_int_equal(stat(d.path, &st), 0);
    assert_int_equal(st.st_size, IMAGE_SIZE);
    drv_close(&d);
}

/* The per-segment limit holds on a disk big enough to exceed it. */
static void discard_limits(void **state)
{
    struct drv d;

    (void)state;
    drv_open_sized(&d, 3ll << 30, false, WANT_ALL); /* sparse: no space used */
    if (!virtio_blk_can_discard(d.blk)) {
        drv_close(&d);
        skip();
    }
    struct range max = {0, VIRTIO_BLK_MAX_DWZ_SECTORS, 0};
    struct range over = {0, VIRTIO_BLK_MAX_DWZ_SECTORS + 1, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &max, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, &over, 1), VIRTIO_BLK_S_IOERR);
    max.flags = over.flags = VIRTIO_BLK_WZ_F_UNMAP;
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, &max, 1), VIRTIO_BLK_S_OK);
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_WRITE_ZEROES, &over, 1), VIRTIO_BLK_S_IOERR);
    /* the most segments there may be */
    static struct range all[VIRTIO_BLK_MAX_DWZ_SEG];
    for (unsigned i = 0; i < VIRTIO_BLK_MAX_DWZ_SEG; i++)
        all[i] = (struct range){1024ull * i, 8, 0};
    assert_int_equal(dwz(&d, VIRTIO_BLK_T_DISCARD, all, VIRTIO_BLK_MAX_DWZ_SEG), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

static void malformed_requests(void **state)
{
    struct drv d;
    uint8_t before[1024], after[1024];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    file_read(&d, 0, before, sizeof(before));
    uint64_t buf = alloc(&d, 1024, 0x33);
    uint64_t st = alloc(&d, 1, 0xee);
    uint32_t used;
    uint16_t head;

    /* no writable byte: nowhere for a status, returned with nothing written */
    struct seg nostatus[2] = {{header(&d, VIRTIO_BLK_T_OUT, 0), 16, false}, {buf, 512, false}};
    head = submit(&d, nostatus, 2);
    assert_int_equal(wait_used(&d, &used), head);
    assert_int_equal(used, 0);
    /* only a header */
    struct seg hdr_only[1] = {{header(&d, VIRTIO_BLK_T_IN, 0), 16, false}};
    head = submit(&d, hdr_only, 1);
    assert_int_equal(wait_used(&d, &used), head);
    assert_int_equal(used, 0);

    /* a short header */
    struct seg shorthdr[2] = {{header(&d, VIRTIO_BLK_T_IN, 0), 8, false}, {st, 1, true}};
    head = submit(&d, shorthdr, 2);
    assert_int_equal(wait_used(&d, &used), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_IOERR);
    assert_int_equal(used, 1);
    /* nothing readable at all, just a writable status */
    *host(&d, st) = 0xee;
    struct seg only_status[1] = {{st, 1, true}};
    head = submit(&d, only_status, 1);
    assert_int_equal(wait_used(&d, NULL), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_IOERR);

    /* data not a multiple of 512 */
    assert_int_equal(rw(&d, true, 0, buf, 1000), VIRTIO_BLK_S_IOERR);
    assert_int_equal(request(&d, VIRTIO_BLK_T_IN, 0, buf, 513, &used), VIRTIO_BLK_S_IOERR);
    assert_int_equal(used, 514);

    /* wrong directions: a read whose data is readable, a write whose data is writable */
    *host(&d, st) = 0xee;
    struct seg rd_wrong[3] = {
        {header(&d, VIRTIO_BLK_T_IN, 0), 16, false}, {buf, 512, false}, {st, 1, true}};
    head = submit(&d, rd_wrong, 3);
    assert_int_equal(wait_used(&d, NULL), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_IOERR);
    uint64_t st2 = alloc(&d, 1, 0xee);
    struct seg wr_wrong[3] = {
        {header(&d, VIRTIO_BLK_T_OUT, 0), 16, false}, {buf, 512, true}, {st2, 1, true}};
    head = submit(&d, wr_wrong, 3);
    assert_int_equal(wait_used(&d, &used), head);
    assert_int_equal(*host(&d, st2), VIRTIO_BLK_S_IOERR);
    assert_int_equal(used, 513);
    /* a flush carrying data */
    assert_int_equal(request(&d, VIRTIO_BLK_T_FLUSH, 0, buf, 512, NULL), VIRTIO_BLK_S_IOERR);

    /* unknown types, and ones this device does not do (GET_LIFETIME, SECURE_ERASE) */
    assert_int_equal(request(&d, 2, 0, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(&d, 10, 0, buf, 512, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(&d, 14, 0, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);
    assert_int_equal(request(&d, UINT32_MAX, 0, 0, 0, NULL), VIRTIO_BLK_S_UNSUPP);

    file_read(&d, 0, after, sizeof(after));
    assert_memory_equal(before, after, sizeof(after));
    /* the device still works */
    assert_int_equal(rw(&d, true, 0, buf, 512), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

/* A chain the transport refuses (out of RAM): the device is not harmed and
   works again after the driver resets it. */
static void broken_queue_then_reset(void **state)
{
    struct drv d;

    (void)state;
    drv_open(&d, false, WANT_ALL);
    struct seg bad[2] = {{RAM_BASE + RAM_SIZE, 16, false}, {RAM_BASE + RAM_SIZE + 16, 1, true}};
    submit(&d, bad, 2);
    assert_no_used(&d);
    assert_true(mmio_rd(d.dev, MMIO_STATUS) & VIRTIO_STATUS_NEEDS_RESET);
    drv_init(&d, WANT_ALL);
    uint64_t buf = alloc(&d, 512, 0x42);
    assert_int_equal(rw(&d, true, 1, buf, 512), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

/* Many requests in flight at once: all complete, each with its own data. */
static void many_in_flight(void **state)
{
    enum { N = 64 };
    struct drv d;
    uint64_t data[N], st[N];
    uint16_t heads[N];
    bool seen[N] = {false};

    (void)state;
    drv_open(&d, false, WANT_ALL);
    for (unsigned i = 0; i < N; i++) {
        data[i] = alloc(&d, 4096, 0);
        fill_pattern(host(&d, data[i]), 4096, 100 + i);
        st[i] = alloc(&d, 1, 0xee);
        struct seg s[3] = {{header(&d, VIRTIO_BLK_T_OUT, 8ull * i), 16, false},
                           {data[i], 4096, false},
                           {st[i], 1, true}};
        heads[i] = submit(&d, s, 3);
    }
    for (unsigned n = 0; n < N; n++) {
        uint32_t id = wait_used(&d, NULL);
        unsigned i = 0;
        while (i < N && heads[i] != id)
            i++;
        assert_true(i < N);
        assert_false(seen[i]);
        seen[i] = true;
        assert_int_equal(*host(&d, st[i]), VIRTIO_BLK_S_OK);
    }
    assert_true(atomic_load(&d.irqs) > 0);
    /* read them all back, again all at once */
    d.next_desc = 0;
    for (unsigned i = 0; i < N; i++) {
        memset(host(&d, data[i]), 0, 4096);
        *host(&d, st[i]) = 0xee;
        struct seg s[3] = {{header(&d, VIRTIO_BLK_T_IN, 8ull * i), 16, false},
                           {data[i], 4096, true},
                           {st[i], 1, true}};
        submit(&d, s, 3);
    }
    for (unsigned n = 0; n < N; n++)
        wait_used(&d, NULL);
    for (unsigned i = 0; i < N; i++) {
        uint8_t want[4096];
        fill_pattern(want, 4096, 100 + i);
        assert_int_equal(*host(&d, st[i]), VIRTIO_BLK_S_OK);
        assert_memory_equal(host(&d, data[i]), want, 4096);
    }
    drv_close(&d);
}

/* A reset with requests in flight returns once they are done; after it the
   device serves the re-initialised queue. */
static void reset_with_requests_in_flight(void **state)
{
    enum { N = 32 };
    struct drv d;
    uint8_t file[4096];

    (void)state;
    drv_open(&d, false, WANT_ALL);
    for (unsigned i = 0; i < N; i++) {
        uint64_t buf = alloc(&d, 4096, (uint8_t)(i + 1));
        uint64_t st = alloc(&d, 1, 0xee);
        struct seg s[3] = {
            {header(&d, VIRTIO_BLK_T_OUT, 8ull * i), 16, false}, {buf, 4096, false}, {st, 1, true}};
        submit(&d, s, 3);
        if (i == N / 2) {
            uint64_t fst = alloc(&d, 1, 0xee);
            struct seg f[2] = {{header(&d, VIRTIO_BLK_T_FLUSH, 0), 16, false}, {fst, 1, true}};
            submit(&d, f, 2);
        }
    }
    mmio_wr(d.dev, MMIO_STATUS, 0);
    assert_int_equal(mmio_rd(d.dev, MMIO_STATUS), 0);
    /* Whatever was done is whole: each 4 KiB block is all old or all new. */
    for (unsigned i = 0; i < N; i++) {
        file_read(&d, 4096 * i, file, sizeof(file));
        assert_true(all_zero(file, sizeof(file)) || (file[0] == i + 1 && file[4095] == i + 1));
    }
    d.data_next = 0;
    drv_init(&d, WANT_ALL);

    /* Slow requests: a flush of 4 MiB the host just dirtied, then 1 MiB
       writes and more flushes. Once the first has surely been taken (1 ms),
       reset and set the queue up again at once: nothing from before the
       reset may land in the new ring, as it would if the reset returned with
       requests in flight. */
    static uint8_t dirty[IMAGE_SIZE];
    memset(dirty, 0x3c, sizeof(dirty));
    file_write(&d, 0, dirty, sizeof(dirty));
    uint64_t big = alloc(&d, 1 << 20, 0x3c);
    for (unsigned i = 0; i < 24; i++) {
        uint64_t st = alloc(&d, 1, 0xee);
        uint32_t type = i % 2 ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_FLUSH;
        struct seg s[3] = {{header(&d, type, 2048ull * (i / 2 % 4)), 16, false},
                           {big, 1 << 20, false},
                           {st, 1, true}};
        if (type == VIRTIO_BLK_T_FLUSH)
            s[1] = s[2];
        submit(&d, s, type == VIRTIO_BLK_T_FLUSH ? 2 : 3);
    }
    nanosleep(&(struct timespec){0, 1000000}, NULL);
    d.data_next = 0;
    drv_init(&d, WANT_ALL);
    assert_no_used(&d);
    uint64_t buf = alloc(&d, 512, 0);
    assert_int_equal(rw(&d, false, 0, buf, 512), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

/* Destroy with requests queued completes what it popped and returns. */
static void destroy_with_requests_in_flight(void **state)
{
    struct drv d;

    (void)state;
    drv_open(&d, false, WANT_ALL);
    for (unsigned i = 0; i < 32; i++) {
        uint64_t buf = alloc(&d, 8192, (uint8_t)i);
        uint64_t st = alloc(&d, 1, 0xee);
        struct seg s[3] = {{header(&d, VIRTIO_BLK_T_OUT, 16ull * i), 16, false},
                           {buf, 8192, false},
                           {st, 1, true}};
        submit(&d, s, 3);
    }
    drv_close(&d);
}

/* Requests made available before DRIVER_OK are served once it is set. */
static void requests_before_driver_ok(void **state)
{
    struct drv d;

    (void)state;
    drv_open(&d, false, WANT_ALL);
    /* Re-probe, stopping before DRIVER_OK, and queue a request. */
    mmio_wr(d.dev, MMIO_STATUS, 0);
    mmio_wr(d.dev, MMIO_STATUS, 1 | 2);
    mmio_wr(d.dev, MMIO_DRIVER_FEATURES_SEL, 1);
    mmio_wr(d.dev, MMIO_DRIVER_FEATURES, 1);
    mmio_wr(d.dev, MMIO_STATUS, 1 | 2 | 8);
    mmio_wr(d.dev, MMIO_QUEUE_SEL, 0);
    mmio_wr(d.dev, MMIO_QUEUE_NUM, QNUM);
    memset(host(&d, DESC_GPA), 0, DATA_BASE - DESC_GPA);
    mmio_wr(d.dev, MMIO_QUEUE_DESC_LOW, (uint32_t)DESC_GPA);
    mmio_wr(d.dev, MMIO_QUEUE_DESC_HIGH, (uint32_t)(DESC_GPA >> 32));
    mmio_wr(d.dev, MMIO_QUEUE_AVAIL_LOW, (uint32_t)AVAIL_GPA);
    mmio_wr(d.dev, MMIO_QUEUE_AVAIL_HIGH, (uint32_t)(AVAIL_GPA >> 32));
    mmio_wr(d.dev, MMIO_QUEUE_USED_LOW, (uint32_t)USED_GPA);
    mmio_wr(d.dev, MMIO_QUEUE_USED_HIGH, (uint32_t)(USED_GPA >> 32));
    mmio_wr(d.dev, MMIO_QUEUE_READY, 1);
    d.avail_idx = d.used_seen = d.next_desc = 0;
    uint64_t buf = alloc(&d, 512, 0);
    uint64_t st = alloc(&d, 1, 0xee);
    struct seg s[3] = {
        {header(&d, VIRTIO_BLK_T_IN, 0), 16, false}, {buf, 512, true}, {st, 1, true}};
    uint16_t head = submit(&d, s, 3);
    assert_no_used(&d);
    mmio_wr(d.dev, MMIO_STATUS, 1 | 2 | 8 | 4);
    assert_int_equal(wait_used(&d, NULL), head);
    assert_int_equal(*host(&d, st), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

/* The image shrank under the VM: reads past the new end fail, the VMM lives. */
static void host_file_errors(void **state)
{
    struct drv d;

    (void)state;
    drv_open(&d, false, WANT_ALL);
    assert_int_equal(truncate(d.path, IMAGE_SIZE / 2), 0);
    uint64_t buf = alloc(&d, 1024, 0);
    assert_int_equal(rw(&d, false, SECTORS - 2, buf, 1024), VIRTIO_BLK_S_IOERR);
    assert_int_equal(rw(&d, false, 0, buf, 1024), VIRTIO_BLK_S_OK);
    drv_close(&d);
}

static void create_errors(void **state)
{
    char err[256];
    struct drv d;

    (void)state;
    err[0] = 0;
    assert_null(virtio_blk_create("/nonexistent/duvisor.img", false, err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/duvisor.img"));
    assert_non_null(strstr(err, "No such file"));
    assert_null(strchr(err, '\n'));

    err[0] = 0;
    assert_null(virtio_blk_create(tmpdir(), false, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file or block device"));
    err[0] = 0;
    assert_null(virtio_blk_create(tmpdir(), true, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file or block device"));
    err[0] = 0;
    assert_null(virtio_blk_create("/dev/null", true, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file or block device"));

    make_image(&d, 1000);
    err[0] = 0;
    assert_null(virtio_blk_create(d.path, false, err, sizeof(err)));
    assert_non_null(strstr(err, "not a multiple of 512"));
    unlink(d.path);

    /* a tiny buffer still gets a terminated message */
    char tiny[8];
    assert_null(virtio_blk_create("/nonexistent", false, tiny, sizeof(tiny)));
    assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
    assert_null(virtio_blk_create("/nonexistent", false, NULL, 0));

    /* An image another VM writes is refused; two read-only users may share. */
    make_image(&d, 4096);
    struct virtio_blk *a = virtio_blk_create(d.path, false, err, sizeof(err));
    assert_non_null(a);
    err[0] = 0;
    assert_null(virtio_blk_create(d.path, false, err, sizeof(err)));
    assert_non_null(strstr(err, "in use by another"));
    assert_null(virtio_blk_create(d.path, true, err, sizeof(err)));
    virtio_blk_destroy(a);
    a = virtio_blk_create(d.path, true, err, sizeof(err));
    struct virtio_blk *b = virtio_blk_create(d.path, true, err, sizeof(err));
    assert_non_null(a);
    assert_non_null(b);
    virtio_blk_destroy(a);
    virtio_blk_destroy(b);

    /* A file we may only read: read-write is refused with a hint, ,ro works.
       (root may write anything, so there is nothing to see then.) */
    if (geteuid() != 0) {
        assert_int_equal(chmod(d.path, 0444), 0);
        err[0] = 0;
        assert_null(virtio_blk_create(d.path, false, err, sizeof(err)));
        assert_non_null(strstr(err, "cannot open read-write"));
        a = virtio_blk_create(d.path, true, err, sizeof(err));
        assert_non_null(a);
        virtio_blk_destroy(a);
    }
    unlink(d.path);
    virtio_blk_destroy(NULL);

    /* An empty image is a disk of no sectors. */
    make_image(&d, 0);
    a = virtio_blk_create(d.path, false, err, sizeof(err));
    assert_non_null(a);
    assert_int_equal(virtio_blk_capacity(a), 0);
    virtio_blk_destroy(a);
    unlink(d.path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(features_and_config),
        cmocka_unit_test(read_write_round_trip),
        cmocka_unit_test(scattered_buffers),
        cmocka_unit_test(flush_after_write),
        cmocka_unit_test(no_flush_negotiated),
        cmocka_unit_test(get_id),
        cmocka_unit_test(out_of_range),
        cmocka_unit_test(read_only),
        cmocka_unit_test(discard_punches_hole),
        cmocka_unit_test(discard_refusals),
        cmocka_unit_test(write_zeroes),
        cmocka_unit_test(discard_limits),
        cmocka_unit_test(malformed_requests),
        cmocka_unit_test(broken_queue_then_reset),
        cmocka_unit_test(many_in_flight),
        cmocka_unit_test(reset_with_requests_in_flight),
        cmocka_unit_test(destroy_with_requests_in_flight),
        cmocka_unit_test(requests_before_driver_ok),
        cmocka_unit_test(host_file_errors),
        cmocka_unit_test(create_errors),
    };
    return cmocka_run_group_tests(tests, NULL, remove_images);
}
