/*
 * Kernel loading and initrd/device-tree placement: good Images and ELFs land
 * where the boot protocol says; lying files are refused with a reason and
 * leave guest RAM, and the guard bytes around it, untouched.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/boot.h"

#define RAM_SIZE (16ull << 20)
#define GUARD    4096u
#define FILL     0x5a
#define BASE     BOOT_RAM_BASE
#define KVA      0xffffffff80000000ull /* where a vmlinux is linked */

static uint8_t *block; /* GUARD | RAM_SIZE | GUARD */
static uint8_t *ram;

static int setup(void **state)
{
    (void)state;
    block = malloc(RAM_SIZE + 2 * GUARD);
    if (!block)
        return -1;
    ram = block + GUARD;
    memset(block, 0xa5, GUARD);
    memset(ram + RAM_SIZE, 0xa5, GUARD);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(block);
    return 0;
}

static void fill_ram(void)
{
    memset(ram, FILL, RAM_SIZE);
}

static void assert_guards(void)
{
    for (unsigned i = 0; i < GUARD; i++) {
        assert_int_equal(block[i], 0xa5);
        assert_int_equal(ram[RAM_SIZE + i], 0xa5);
    }
}

/* ram[from, to) still holds FILL (memcmp by pages: this runs over all of RAM often) */
static void assert_untouched(uint64_t from, uint64_t to)
{
    static uint8_t fill[4096];
    if (fill[0] != FILL)
        memset(fill, FILL, sizeof(fill));
    for (uint64_t at = from; at < to; at += sizeof(fill)) {
        size_t n = to - at < sizeof(fill) ? (size_t)(to - at) : sizeof(fill);
        if (memcmp(ram + at, fill, n) == 0)
            continue;
        for (size_t i = 0; i < n; i++)
            if (ram[at + i] != FILL)
                fail_msg("ram[0x%llx] was written", (unsigned long long)(at + i));
    }
}

static void put(uint8_t *p, uint64_t v, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void pattern(uint8_t *p, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 8));
}

/* ---- synthetic Linux Images ------------------------------------------------------ */

#define IMG_LEN  0x1800u
#define IMG_SIZE 0x5000u /* image_size: 0x3800 bytes of bss */
#define IMG_TEXT 0x200000u
static uint8_t img[IMG_LEN];

static void make_image(bool efi)
{
    pattern(img, sizeof(img), 1);
    if (efi) {
        memcpy(img, "MZ", 2);
        put(img + 60, 0x40, 4); /* PE header offset */
    }
    put(img + 8, IMG_TEXT, 8);
    put(img + 16, IMG_SIZE, 8);
    put(img + 24, 0, 8); /* flags: little endian */
    put(img + 32, 2, 4); /* header version 0.2 */
    memcpy(img + 48, "RISCV\0\0\0", 8);
    memcpy(img + 56, "RSC\x05", 4);
}

static void check_image_loaded(const struct boot_layout *l)
{
    assert_int_equal(l->kernel_start, BASE + IMG_TEXT);
    assert_int_equal(l->entry, BASE + IMG_TEXT);
    assert_int_equal(l->kernel_end, BASE + IMG_TEXT + IMG_SIZE);
    assert_int_equal(l->initrd_start, 0);
    assert_int_equal(l->initrd_end, 0);
    assert_memory_equal(ram + IMG_TEXT, img, IMG_LEN);
    for (unsigned i = IMG_LEN; i < IMG_SIZE; i++)
        assert_int_equal(ram[IMG_TEXT + i], 0);
    assert_untouched(0, IMG_TEXT);
    assert_untouched(IMG_TEXT + IMG_SIZE, RAM_SIZE);
    assert_guards();
}

static void test_image(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    make_image(false);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, img, IMG_LEN, &l, err, sizeof(err)), 0);
    check_image_loaded(&l);
}

static void test_image_efi_stub(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    make_image(true);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, img, IMG_LEN, &l, err, sizeof(err)), 0);
    check_image_loaded(&l);
    assert_memory_equal(ram + IMG_TEXT, "MZ", 2);
}

static void test_image_either_magic(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    make_image(false);
    memset(img + 48, 0, 8); /* magic is deprecated: magic2 alone will do */
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, img, IMG_LEN, &l, err, sizeof(err)), 0);
    check_image_loaded(&l);
    make_image(false);
    memset(img + 56, 0, 4); /* header version 0.1 had only magic */
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, img, IMG_LEN, &l, err, sizeof(err)), 0);
    check_image_loaded(&l);
}

/* ---- synthetic ELF vmlinux ------------------------------------------------------- */

#define E_CLASS     4
#define E_DATA      5
#define E_TYPE      16
#define E_MACHINE   18
#define E_ENTRY     24
#define E_PHOFF     32
#define E_PHENTSIZE 54
#define E_PHNUM     56
#define PH(i)       (64 + 56 * (i))
#define P_TYPE      0
#define P_OFFSET    8
#define P_VADDR     16
#define P_PADDR     24
#define P_FILESZ    32
#define P_MEMSZ     40

#define ELF_LEN 0x2800u
#define SEG0_SZ 0x1000u /* text: file 0x1000..0x2000 */
#define SEG1_FS 0x800u  /* data: file 0x2000..0x2800 */
#define SEG1_MS 0x3000u /* ... then bss */
static uint8_t elf[0x40000];

static void phdr(unsigned i, uint32_t type, uint64_t off, uint64_t vaddr, uint64_t paddr,
                 uint64_t filesz, uint64_t memsz)
{
    uint8_t *p = elf + PH(i);
    put(p + P_TYPE, type, 4);
    put(p + 4, 7, 4); /* RWX */
    put(p + P_OFFSET, off, 8);
    put(p + P_VADDR, vaddr, 8);
    put(p + P_PADDR, paddr, 8);
    put(p + P_FILESZ, filesz, 8);
    put(p + P_MEMSZ, memsz, 8);
    put(p + 48, 0x1000, 8);
}

static void elf_header(uint64_t entry, unsigned phnum)
{
    memset(elf, 0, 0x1000);
    memcpy(elf, "\177ELF", 4);
    elf[E_CLASS] = 2;             /* ELFCLASS64 */
    elf[E_DATA] = 1;              /* ELFDATA2LSB */
    elf[6] = 1;                   /* EV_CURRENT */
    put(elf + E_TYPE, 2, 2);      /* ET_EXEC */
    put(elf + E_MACHINE, 243, 2); /* EM_RISCV */
    put(elf + 20, 1, 4);
    put(elf + E_ENTRY, entry, 8);
    put(elf + E_PHOFF, 64, 8);
    put(elf + 52, 64, 2);
    put(elf + E_PHENTSIZE, 56, 2);
    put(elf + E_PHNUM, phnum, 2);
}

/*
 * A PT_NOTE with nonsense fields (ignored), then text and data+bss. paddr
 * variant: p_paddr in RAM (at 2 MiB and 4 MiB), p_vaddr at the kernel's link
 * address; vaddr variant: p_paddr = p_vaddr - KVA as a vmlinux has it.
 */
static void make_elf(bool paddr_in_ram)
{
    uint64_t pa = paddr_in_ram ? BASE + 0x200000 : 0;
    elf_header(KVA + 0x40, 3);
    phdr(0, 4 /* PT_NOTE */, UINT64_MAX, 1, 2, UINT64_MAX, 3);
    phdr(1, 1 /* PT_LOAD */, 0x1000, KVA, pa, SEG0_SZ, SEG0_SZ);
    phdr(2, 1, 0x2000, KVA + 0x200000, pa + 0x200000, SEG1_FS, SEG1_MS);
    pattern(elf + 0x1000, SEG0_SZ, 2);
    pattern(elf + 0x2000, SEG1_FS, 3);
}

static void check_elf_loaded(const struct boot_layout *l, uint64_t at)
{
    assert_int_equal(l->entry, BASE + at + 0x40);
    assert_int_equal(l->kernel_start, BASE + at);
    assert_int_equal(l->kernel_end, BASE + at + 0x200000 + SEG1_MS);
    assert_memory_equal(ram + at, elf + 0x1000, SEG0_SZ);
    assert_memory_equal(ram + at + 0x200000, elf + 0x2000, SEG1_FS);
    for (unsigned i = SEG1_FS; i < SEG1_MS; i++)
        assert_int_equal(ram[at + 0x200000 + i], 0);
    assert_untouched(0, at);
    assert_untouched(at + SEG0_SZ, at + 0x200000);
    assert_untouched(at + 0x200000 + SEG1_MS, RAM_SIZE);
    assert_guards();
}

static void test_elf_paddr(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    make_elf(true);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    check_elf_loaded(&l, 0x200000);

    /* Identity-linked (p_vaddr = p_paddr, physical entry) loads the same. */
    make_elf(true);
    put(elf + E_ENTRY, BASE + 0x200040, 8);
    put(elf + PH(1) + P_VADDR, BASE + 0x200000, 8);
    put(elf + PH(2) + P_VADDR, BASE + 0x400000, 8);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    check_elf_loaded(&l, 0x200000);

    /* Or a physical entry point with virtual p_vaddr. */
    make_elf(true);
    put(elf + E_ENTRY, BASE + 0x200040, 8);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    check_elf_loaded(&l, 0x200000);
}

static void test_elf_vaddr(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    make_elf(false);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    check_elf_loaded(&l, 0);

    /* p_paddr = p_vaddr (no AT() in the link script): also relocated by vaddr */
    make_elf(false);
    put(elf + PH(1) + P_PADDR, KVA, 8);
    put(elf + PH(2) + P_PADDR, KVA + 0x200000, 8);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    check_elf_loaded(&l, 0);
}

/* ---- hostile kernels ------------------------------------------------------------- */

struct patch {
    unsigned at, bytes;
    uint64_t value;
};

#define WHOLE SIZE_MAX

struct hostile {
    const char *what;
    bool is_elf; /* base file: the paddr ELF, else the Image */
    size_t len;  /* bytes of it passed, or WHOLE */
    struct patch p[4];
    const char *needle;
};

static const struct hostile hostile[] = {
    /* Images */
    {"empty file", false, 0, {{0, 0, 0}}, "not a RISC-V kernel image"},
    {"header cut short", false, 63, {{0, 0, 0}}, "not a RISC-V kernel image"},
    {"no magic", false, WHOLE, {{48, 8, 0}, {56, 4, 0}}, "not a RISC-V kernel image"},
    {"image_size smaller than the file",
     false,
     WHOLE,
     {{16, 8, IMG_LEN - 1}},
     "smaller than the file"},
    {"image_size 0", false, WHOLE, {{16, 8, 0}}, "smaller than the file"},
    {"image_size larger than memory", false, WHOLE, {{16, 8, RAM_SIZE}}, "larger than memory"},
    {"image_size wraps", false, WHOLE, {{16, 8, UINT64_MAX - 0x1000}}, "larger than memory"},
    {"huge text_offset", false, WHOLE, {{8, 8, 0xfffffffffffff000ull}}, "larger than memory"},
    {"text_offset at the end of memory", false, WHOLE, {{8, 8, RAM_SIZE}}, "larger than memory"},
    {"unaligned text_offset", false, WHOLE, {{8, 8, 0x200100}}, "not 4 KiB aligned"},
    {"big-endian", false, WHOLE, {{24, 8, 1}}, "big-endian"},
    {"gzip", false, WHOLE, {{0, 2, 0x8b1f}, {48, 8, 0}, {56, 4, 0}}, "gzip"},
    {"EFI zboot", false, WHOLE, {{0, 8, 0x676d697a00005a4dull}, {48, 8, 0}, {56, 4, 0}}, "zboot"},
    /* ELF file header */
    {"ELF cut short", true, 40, {{0, 0, 0}}, "truncated"},
    {"ELF32", true, WHOLE, {{E_CLASS, 1, 1}}, "64-bit"},
    {"big-endian ELF", true, WHOLE, {{E_DATA, 1, 2}}, "little-endian"},
    {"x86-64 ELF", true, WHOLE, {{E_MACHINE, 2, 62}}, "not RISC-V"},
    {"relocatable object", true, WHOLE, {{E_TYPE, 2, 1}}, "not an executable"},
    {"odd phentsize", true, WHOLE, {{E_PHENTSIZE, 2, 32}}, "program header size"},
    {"no program headers", true, WHOLE, {{E_PHNUM, 2, 0}}, "program headers"},
    {"PN_XNUM", true, WHOLE, {{E_PHNUM, 2, 0xffff}}, "program headers"},
    {"phoff past the end", true, WHOLE, {{E_PHOFF, 8, ELF_LEN - 100}}, "past the end"},
    {"phoff wraps", true, WHOLE, {{E_PHOFF, 8, UINT64_MAX - 8}}, "past the end"},
    {"entry outside", true, WHOLE, {{E_ENTRY, 8, 0x1234}}, "entry point"},
    {"entry just past a segment", true, WHOLE, {{E_ENTRY, 8, KVA + SEG0_SZ}}, "entry point"},
    /* segments */
    {"no PT_LOAD", true, WHOLE, {{PH(1), 4, 4}, {PH(2), 4, 6}}, "no loadable"},
    {"only empty PT_LOAD",
     true,
     WHOLE,
     {{PH(1) + P_FILESZ, 8, 0}, {PH(1) + P_MEMSZ, 8, 0}, {PH(2), 4, 4}},
     "no loadable"},
    {"filesz > memsz", true, WHOLE, {{PH(1) + P_FILESZ, 8, SEG0_SZ + 1}}, "exceeds memory size"},
    {"data past the end", true, WHOLE, {{PH(2) + P_FILESZ, 8, SEG1_FS + 1}}, "past the end"},
    {"file cut short", true, ELF_LEN - 1, {{0, 0, 0}}, "past the end"},
    {"p_offset wraps", true, WHOLE, {{PH(1) + P_OFFSET, 8, UINT64_MAX - 0x10}}, "past the end"},
    {"memsz wraps", true, WHOLE, {{PH(2) + P_MEMSZ, 8, UINT64_MAX}}, "outside"},
    {"segment past the end of memory",
     true,
     WHOLE,
     {{PH(2) + P_PADDR, 8, BASE + RAM_SIZE - 0x1000}},
     "outside"},
    {"overlapping segments", true, WHOLE, {{PH(2) + P_PADDR, 8, BASE + 0x200800}}, "overlap"},
    {"same segment twice",
     true,
     WHOLE,
     {{PH(0), 4, 1},
      {PH(0) + P_OFFSET, 8, 0x1000},
      {PH(0) + P_FILESZ, 8, 0},
      {PH(0) + P_PADDR, 8, BASE + 0x200000}},
     "overlap"},
    {"vaddr segment past the end of memory",
     true,
     WHOLE,
     {{PH(1) + P_PADDR, 8, 0}, {PH(2) + P_PADDR, 8, 0}, {PH(2) + P_VADDR, 8, KVA + RAM_SIZE}},
     "outside"},
    {"vaddr segments overlap",
     true,
     WHOLE,
     {{PH(1) + P_PADDR, 8, 0}, {PH(2) + P_PADDR, 8, 0}, {PH(2) + P_VADDR, 8, KVA + 0xff8}},
     "overlap"},
};

static void test_hostile_kernels(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
        const struct hostile *h = &hostile[i];
        uint8_t *file = h->is_elf ? elf : img;
        size_t len = h->is_elf ? ELF_LEN : IMG_LEN;
        if (h->is_elf)
            make_elf(true);
        else
            make_image(false);
        for (unsigned j = 0; j < 4; j++)
            put(file + h->p[j].at, h->p[j].value, h->p[j].bytes);
        if (h->len != WHOLE)
            len = h->len;

        struct boot_layout l;
        char err[256] = "";
        fill_ram();
        int rc = boot_load_kernel(ram, RAM_SIZE, file, len, &l, err, sizeof(err));
        if (rc != -1 || !strstr(err, h->needle))
            fail_msg("%s: got %d '%s', want -1 and '%s'", h->what, rc, err, h->needle);
        assert_untouched(0, RAM_SIZE);
        assert_guards();
    }
}

static void test_too_many_segments(void **state)
{
    (void)state;
    struct boot_layout l;
    char err[256] = "";
    for (unsigned n = 32; n <= 33; n++) {
        elf_header(KVA, n);
        for (unsigned i = 0; i < n; i++)
            phdr(i, 1, 0x1000, KVA + i * 0x1000, 0, 0x10, 0x1000);
        pattern(elf + 0x1000, 0x10, 4);
        fill_ram();
        int rc = boot_load_kernel(ram, RAM_SIZE, elf, 0x1010, &l, err, sizeof(err));
        if (n == 32) {
            assert_int_equal(rc, 0);
            assert_int_equal(l.kernel_end, BASE + 32 * 0x1000);
        } else {
            assert_int_equal(rc, -1);
            assert_non_null(strstr(err, "more than 32"));
            assert_untouched(0, RAM_SIZE);
        }
        assert_guards();
    }
}

static void test_bad_memory(void **state)
{
    (void)state;
    struct boot_layout l = {0};
    char err[256] = "";
    make_image(false);
    assert_int_equal(boot_load_kernel(ram, 0, img, IMG_LEN, &l, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "memory size"));
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE - 1, img, IMG_LEN, &l, err, sizeof(err)), -1);
    assert_int_equal(boot_load_kernel(NULL, RAM_SIZE, img, IMG_LEN, &l, err, sizeof(err)), -1);
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, NULL, 0, &l, err, sizeof(err)), -1);
    assert_int_equal(boot_place(ram, 0, &l, NULL, 0, 100, err, sizeof(err)), -1);
    /* a NULL or zero-length error buffer is fine */
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, img, 10, &l, NULL, 0), -1);
}

/* ---- placement ------------------------------------------------------------------- */

static uint8_t initrd[3u << 20];

static struct boot_layout kernel_at(uint64_t start, uint64_t end)
{
    return (struct boot_layout){.entry = start, .kernel_start = start, .kernel_end = end};
}

/* The protocol's rules, and that nothing but the initrd was written outside the kernel. */
static void check_placement(const struct boot_layout *l, uint64_t ram_size, size_t initrd_len,
                            size_t dtb_size)
{
    uint64_t end = BASE + ram_size;
    assert_int_equal(l->dtb_addr % 8, 0);
    assert_true(l->dtb_max >= dtb_size && l->dtb_max % 8 == 0);
    assert_true(l->dtb_addr >= l->kernel_end);
    assert_true(l->dtb_addr + l->dtb_max <= end);
    if (initrd_len) {
        assert_int_equal(l->initrd_start % 4096, 0);
        assert_int_equal(l->initrd_end - l->initrd_start, initrd_len);
        assert_true(l->initrd_start >= l->kernel_end);
        assert_true(l->initrd_end <= l->dtb_addr);
        assert_memory_equal(ram + (l->initrd_start - BASE), initrd, initrd_len);
        assert_untouched(l->kernel_end - BASE, l->initrd_start - BASE);
        assert_untouched(l->initrd_end - BASE, ram_size);
    } else {
        assert_int_equal(l->initrd_start, 0);
        assert_int_equal(l->initrd_end, 0);
        assert_untouched(l->kernel_end - BASE, ram_size);
    }
    assert_untouched(0, l->kernel_start - BASE);
    assert_guards();
}

static void test_place(void **state)
{
    (void)state;
    char err[256] = "";
    size_t rd_len = (1u << 20) + 123;
    pattern(initrd, sizeof(initrd), 5);

    struct boot_layout l = kernel_at(BASE + IMG_TEXT, BASE + IMG_TEXT + IMG_SIZE);
    fill_ram();
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, rd_len, 5000, err, sizeof(err)), 0);
    check_placement(&l, RAM_SIZE, rd_len, 5000);
    /* Room enough: the DTB on the last 2 MiB boundary that holds it, the initrd right below. */
    assert_int_equal(l.dtb_addr, BASE + RAM_SIZE - (2u << 20));
    assert_int_equal(l.dtb_max, 5000);
    assert_int_equal(l.initrd_start, (l.dtb_addr - rd_len) & ~0xfffull);
    assert_int_equal(l.entry, BASE + IMG_TEXT); /* the kernel fields stay */

    l = kernel_at(BASE + IMG_TEXT, BASE + IMG_TEXT + IMG_SIZE);
    fill_ram();
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, NULL, 0, 1, err, sizeof(err)), 0);
    check_placement(&l, RAM_SIZE, 0, 1);
    assert_int_equal(l.dtb_max, 8);
}

static void test_place_tight(void **state)
{
    (void)state;
    char err[256] = "";
    pattern(initrd, sizeof(initrd), 6);
    /* Exactly enough room: kernel to the page, initrd, DTB to 8 bytes. */
    uint64_t kend = RAM_SIZE - 0x3000;
    size_t rd_len = 0x2000, dtb = 0xff9;
    struct boot_layout l = kernel_at(BASE, BASE + kend - 5);
    fill_ram();
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, rd_len, dtb, err, sizeof(err)), 0);
    check_placement(&l, RAM_SIZE, rd_len, dtb);
    assert_int_equal(l.initrd_start, BASE + kend);
    assert_int_equal(l.dtb_addr, BASE + RAM_SIZE - 0x1000);

    /* Tighter still: only an 8-byte aligned DTB leaves room for the initrd. */
    l = kernel_at(BASE, BASE + kend);
    fill_ram();
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, rd_len + 8, 0xff0, err, sizeof(err)), 0);
    check_placement(&l, RAM_SIZE, rd_len + 8, 0xff0);
    assert_int_equal(l.initrd_start, BASE + kend);
    assert_int_equal(l.dtb_addr, BASE + RAM_SIZE - 0xff0);

    /* One more byte of initrd, or of DTB, does not fit. */
    l = kernel_at(BASE, BASE + kend - 5);
    fill_ram();
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, rd_len + 1, dtb, err, sizeof(err)), -1);
    assert_string_equal(err, "initrd of 1 MiB does not fit in 16 MiB of memory with the kernel");
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, rd_len, 0x1001, err, sizeof(err)), -1);
    assert_untouched(0, RAM_SIZE);
    assert_guards();
}

/* Over a grid of sizes: success exactly when everything fits, and then the rules hold. */
static void test_place_grid(void **state)
{
    (void)state;
    char err[256] = "";
    static const uint64_t rams[] = {1u << 20, 4u << 20, RAM_SIZE};
    static const uint64_t kends[] = {0, 0x1000, 0x200000 + 12345, 0x3ff000, 0xe00000};
    static const size_t rds[] = {0, 1, 4096, 4097, 0x1fffff, 3u << 20};
    static const size_t dtbs[] = {1, 8, 4095, 0x10000, 2u << 20};
    pattern(initrd, sizeof(initrd), 7);
    for (size_t a = 0; a < sizeof(rams) / sizeof(rams[0]); a++)
        for (size_t b = 0; b < sizeof(kends) / sizeof(kends[0]); b++)
            for (size_t c = 0; c < sizeof(rds) / sizeof(rds[0]); c++)
                for (size_t d = 0; d < sizeof(dtbs) / sizeof(dtbs[0]); d++) {
                    uint64_t rs = rams[a], ke = kends[b];
                    if (ke > rs)
                        continue;
                    struct boot_layout l = kernel_at(BASE, BASE + ke);
                    uint64_t need = ((ke + 4095) & ~4095ull) + rds[c] + ((dtbs[d] + 7) & ~7ull);
                    uint64_t beyond = rs < RAM_SIZE ? rs + 4096 : rs; /* RAM past rs */
                    memset(ram, FILL, beyond);
                    int rc = boot_place(ram, rs, &l, initrd, rds[c], dtbs[d], err, sizeof(err));
                    if (need <= rs) {
                        if (rc != 0)
                            fail_msg("ram %llx kend %llx initrd %zx dtb %zx: %s",
                                     (unsigned long long)rs, (unsigned long long)ke, rds[c],
                                     dtbs[d], err);
                        check_placement(&l, rs, rds[c], dtbs[d]);
                        assert_untouched(rs, beyond);
                    } else {
                        assert_int_equal(rc, -1);
                        assert_true(strstr(err, "does not fit") != NULL);
                        assert_untouched(0, rs);
                    }
                }
    assert_guards();
}

static void test_place_bad_input(void **state)
{
    (void)state;
    char err[256] = "";
    struct boot_layout l;
    fill_ram();

    l = kernel_at(BASE, BASE + 0x1000);
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, 0, 0, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "device tree size"));
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, 0, (2u << 20) + 1, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "device tree size"));
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, NULL, 10, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "no data"));
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, SIZE_MAX, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "does not fit"));
    assert_int_equal(boot_place(ram, RAM_SIZE, NULL, initrd, 0, 100, err, sizeof(err)), -1);

    static const struct boot_layout bad[] = {
        {.kernel_start = 0, .kernel_end = 0x1000},
        {.kernel_start = BASE - 1, .kernel_end = BASE + 0x1000},
        {.kernel_start = BASE + 0x2000, .kernel_end = BASE + 0x1000},
        {.kernel_start = BASE, .kernel_end = BASE + RAM_SIZE + 1},
        {.kernel_start = UINT64_MAX - 1, .kernel_end = UINT64_MAX},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        l = bad[i];
        assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, 10, 100, err, sizeof(err)), -1);
        assert_non_null(strstr(err, "outside memory"));
    }
    /* A kernel filling memory leaves no room for the device tree. */
    l = kernel_at(BASE, BASE + RAM_SIZE);
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, NULL, 0, 100, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "device tree of 100 bytes does not fit"));
    assert_untouched(0, RAM_SIZE);
    assert_guards();
}

/* The two together, as the VMM will call them. */
static void test_load_then_place(void **state)
{
    (void)state;
    char err[256] = "";
    struct boot_layout l;
    make_elf(false);
    fill_ram();
    assert_int_equal(boot_load_kernel(ram, RAM_SIZE, elf, ELF_LEN, &l, err, sizeof(err)), 0);
    pattern(initrd, sizeof(initrd), 8);
    assert_int_equal(boot_place(ram, RAM_SIZE, &l, initrd, 3u << 20, 0x10000, err, sizeof(err)), 0);
    check_placement(&l, RAM_SIZE, 3u << 20, 0x10000);
    assert_int_equal(l.kernel_start, BASE);
    assert_memory_equal(ram, elf + 0x1000, SEG0_SZ);
    assert_memory_equal(ram + 0x200000, elf + 0x2000, SEG1_FS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_image),
        cmocka_unit_test(test_image_efi_stub),
        cmocka_unit_test(test_image_either_magic),
        cmocka_unit_test(test_elf_paddr),
        cmocka_unit_test(test_elf_vaddr),
        cmocka_unit_test(test_hostile_kernels),
        cmocka_unit_test(test_too_many_segments),
        cmocka_unit_test(test_bad_memory),
        cmocka_unit_test(test_place),
        cmocka_unit_test(test_place_tight),
        cmocka_unit_test(test_place_grid),
        cmocka_unit_test(test_place_bad_input),
        cmocka_unit_test(test_load_then_place),
    };
    return cmocka_run_group_tests_name("boot", tests, setup, teardown);
}
