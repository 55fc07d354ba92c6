/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for src/hart/jit/x86_64.c: the x86-64 emitter.
 *
 * Every form is emitted alone into a buffer, disassembled with capstone
 * (64-bit mode, Intel syntax) and compared with the expected text and the
 * expected length. The text catches wrong opcodes, operands and REX.R/X/B
 * bits; the length catches what the text cannot show: a redundant REX, a
 * disp32 where a disp8 fits, a missing SIB. Each register position is swept
 * over all 16 registers. A few encodings are also checked byte for byte.
 *
 * Expected immediates follow capstone's style: decimal up to 9, hex above,
 * signed where capstone sign-extends (imm8 forms, 64-bit operands) and
 * unsigned at the operand size otherwise (mov r32, imm32; 81 /op with a
 * 32-bit operand; stores of 1, 2 and 4 bytes; movabs).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

/* capstone's x86.h also declares an enum x86_reg: give its tag another name here. */
#define x86_reg capstone_x86_reg
#include <capstone/capstone.h>
#undef x86_reg
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hart/jit/x86_64.h"

static const char *const R64[16] = {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
                                    "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15"};
static const char *const R32[16] = {"eax", "ecx", "edx",  "ebx",  "esp",  "ebp",  "esi",  "edi",
                                    "r8d", "r9d", "r10d", "r11d", "r12d", "r13d", "r14d", "r15d"};
static const char *const R16[16] = {"ax",  "cx",  "dx",   "bx",   "sp",   "bp",   "si",   "di",
                                    "r8w", "r9w", "r10w", "r11w", "r12w", "r13w", "r14w", "r15w"};
static const char *const R8[16] = {"al",  "cl",  "dl",   "bl",   "spl",  "bpl",  "sil",  "dil",
                                   "r8b", "r9b", "r10b", "r11b", "r12b", "r13b", "r14b", "r15b"};
static const char *const XMM[16] = {"xmm0",  "xmm1",  "xmm2",  "xmm3", "xmm4",  "xmm5",
                                    "xmm6",  "xmm7",  "xmm8",  "xmm9", "xmm10", "xmm11",
                                    "xmm12", "xmm13", "xmm14", "xmm15"};
static const char *const ALU[8] = {"add", "or", "adc", "sbb", "and", "sub", "xor", "cmp"};
static const char *const SHIFT[8] = {
    [X86_ROL] = "rol", [X86_ROR] = "ror", [X86_SHL] = "shl", [X86_SHR] = "shr", [X86_SAR] = "sar"};
static const enum x86_shift SHIFTS[] = {X86_ROL, X86_ROR, X86_SHL, X86_SHR, X86_SAR};
static const char *const CC[16] = {"o", "no", "b", "ae", "e", "ne", "be", "a",
                                   "s", "ns", "p", "np", "l", "ge", "le", "g"};

/* Displacements around the disp8/disp32 boundary and the int32 limits. */
static const int32_t DISPS[] = {0, 1, 127, 128, -128, -129, 0x12345678, INT32_MIN, INT32_MAX};
/* Immediates around the imm8/imm32 boundary and the int32 limits. */
static const int32_t IMMS[] = {0,  1,    9,    10,         127,       128,
                               -1, -128, -129, 0x12345678, INT32_MIN, INT32_MAX};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static _Alignas(64) uint8_t code[256];
static struct x86_buf buf;
static csh cs;
static unsigned long checked; /* instructions compared, reported at the end */

/* A few memory operands per register position: every base with disp 0, disp8 and disp32, and
 * every index with a varying base and scale. */
static struct x86_mem some_mems[16 * 3 + 15];
/* Every base x (no index, every index) x scale x displacement. */
static struct x86_mem all_mems[16 * 15 * 4 * COUNT(DISPS) + 16 * COUNT(DISPS)];

/* Strings returned by value, sized so that each fits in the next. */
struct num {
    char s[24];
};
struct mem_text {
    char s[64];
};
struct text {
    char s[200];
};

static struct x86_buf *fresh(void)
{
    memset(code, 0xCC, sizeof code);
    x86_init(&buf, code, sizeof code);
    return &buf;
}

/* capstone's number style, signed */
static struct num snum(int64_t v)
{
    struct num t;
    uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
    if (mag > 9)
        snprintf(t.s, sizeof t.s, "%s0x%" PRIx64, v < 0 ? "-" : "", mag);
    else
        snprintf(t.s, sizeof t.s, "%s%" PRIu64, v < 0 ? "-" : "", mag);
    return t;
}

static struct num unum(uint64_t v)
{
    struct num t;
    snprintf(t.s, sizeof t.s, v > 9 ? "0x%" PRIx64 : "%" PRIu64, v);
    return t;
}

static struct mem_text mem_text(struct x86_mem m)
{
    struct mem_text t;
    int n = snprintf(t.s, sizeof t.s, "[%s", R64[m.base]);
    if (m.index >= 0 && m.scale == 1)
        n += snprintf(t.s + n, sizeof t.s - (size_t)n, " + %s", R64[m.index]);
    else if (m.index >= 0)
        n += snprintf(t.s + n, sizeof t.s - (size_t)n, " + %s*%u", R64[m.index], m.scale);
    if (m.disp > 0)
        n += snprintf(t.s + n, sizeof t.s - (size_t)n, " + %s", snum(m.disp).s);
    else if (m.disp < 0)
        n += snprintf(t.s + n, sizeof t.s - (size_t)n, " - %s", snum(-(int64_t)m.disp).s);
    snprintf(t.s + n, sizeof t.s - (size_t)n, "]");
    return t;
}

static const char *ptr_name(unsigned size)
{
    return size == 1   ? "byte"
           : size == 2 ? "word"
           : size == 4 ? "dword"
           : size == 8 ? "qword"
                       : "xmmword";
}

/* "qword ptr [rax + 8]" */
static struct text ptr_text(unsigned size, struct x86_mem m)
{
    struct text t;
    snprintf(t.s, sizeof t.s, "%s ptr %s", ptr_name(size), mem_text(m).s);
    return t;
}

static const char *reg_name(unsigned size, int r)
{
    return size == 8 ? R64[r] : size == 4 ? R32[r] : size == 2 ? R16[r] : R8[r];
}

static const char *rw(bool w64, int r)
{
    return w64 ? R64[r] : R32[r];
}

static unsigned opsize(bool w64)
{
    return w64 ? 8 : 4;
}

/* 1 when a REX prefix is needed for REX.W or any of the registers (-1: none). */
static unsigned rex(bool w, int r1, int r2, int r3)
{
    return w || r1 >= 8 || r2 >= 8 || r3 >= 8;
}

static unsigned rex_mem(bool w, int reg, struct x86_mem m)
{
    return rex(w, reg, m.base, m.index);
}

/* ModRM + SIB + displacement bytes of a memory operand. */
static unsigned modrm_len(struct x86_mem m)
{
    unsigned n = 1;
    if (m.index >= 0 || (m.base & 7) == X86_RSP)
        n++;
    if (m.disp == 0 && (m.base & 7) != X86_RBP)
        return n;
    return n + (m.disp >= -128 && m.disp <= 127 ? 1 : 4);
}

/* The emitted bytes as hex, for failure messages. */
static struct text hex(const uint8_t *p, size_t n)
{
    struct text t = {{0}};
    for (size_t i = 0; i < n && 3 * i + 3 < sizeof t.s; i++)
        snprintf(t.s + 3 * i, sizeof t.s - 3 * i, "%02x ", p[i]);
    return t;
}

static struct text disasm_one(const uint8_t *p, size_t n, uint64_t addr, size_t *len)
{
    struct text t = {"(undecodable)"};
    cs_insn *insn;
    size_t count = cs_disasm(cs, p, n, addr, 1, &insn);
    *len = 0;
    if (count == 1) {
        snprintf(t.s, sizeof t.s, "%s%s%s", insn->mnemonic, insn->op_str[0] ? " " : "",
                 insn->op_str);
        *len = insn->size;
    }
    cs_free(insn, count);
    return t;
}

/* The buffer must hold exactly one instruction of want_len bytes that reads as the formatted
 * text. */
__attribute__((format(printf, 2, 3))) static void check(unsigned want_len, const char *fmt, ...)
{
    struct text want;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(want.s, sizeof want.s, fmt, ap);
    va_end(ap);

    size_t n = x86_used(&buf), len;
    assert_false(buf.overflow);
    struct text got = disasm_one(code, n, (uint64_t)(uintptr_t)code, &len);
    if (strcmp(got.s, want.s) != 0 || len != n || n != want_len)
        fail_msg("bytes %s: got \"%s\" (%zu of %zu bytes), want \"%s\" (%u bytes)", hex(code, n).s,
                 got.s, len, n, want.s, want_len);
    checked++;
}

/* The buffer must hold exactly these bytes. */
static void check_bytes(const uint8_t *want, size_t n)
{
    if (x86_used(&buf) != n || memcmp(code, want, n) != 0)
        fail_msg("got bytes %s, want %s", hex(code, x86_used(&buf)).s, hex(want, n).s);
    checked++;
}
#define CHECK_BYTES(...)                                                                           \
    check_bytes((const uint8_t[]){__VA_ARGS__}, sizeof((uint8_t[]){__VA_ARGS__}))

static int setup(void **state)
{
    (void)state;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
        return -1;
    cs_option(cs, CS_OPT_SYNTAX, CS_OPT_SYNTAX_INTEL);

    size_t n = 0;
    static const int32_t some_disps[] = {0, -128, 0x1000};
    for (int base = 0; base < 16; base++)
        for (size_t d = 0; d < COUNT(some_disps); d++)
            some_mems[n++] = X86_MEM(base, some_disps[d]);
    for (int index = 0, base = 5; index < 16; index++, base = (base + 3) % 16)
        if (index != X86_RSP)
            some_mems[n++] = X86_MEMI(base, index, 1u << (index % 4), index % 2 ? 0 : 8);
    assert_int_equal(n, COUNT(some_mems));

    n = 0;
    for (int base = 0; base < 16; base++)
        for (size_t d = 0; d < COUNT(DISPS); d++) {
            all_mems[n++] = X86_MEM(base, DISPS[d]);
            for (int index = 0; index < 16; index++)
                for (unsigned scale = 1; scale <= 8 && index != X86_RSP; scale *= 2)
                    all_mems[n++] = X86_MEMI(base, index, scale, DISPS[d]);
        }
    assert_int_equal(n, COUNT(all_mems));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cs_close(&cs);
    printf("# %lu instructions checked\n", checked);
    return 0;
}

/* --- addressing ------------------------------------------------------------------------- */

static void test_addressing_all_modes(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(all_mems); i++) {
        struct x86_mem m = all_mems[i];
        int reg = (int)(i % 16);
        x86_load(fresh(), 8, false, reg, m);
        check(rex_mem(true, reg, m) + 1 + modrm_len(m), "mov %s, %s", R64[reg], ptr_text(8, m).s);
        x86_lea(fresh(), true, reg, m);
        check(rex_mem(true, reg, m) + 1 + modrm_len(m), "lea %s, %s", R64[reg], mem_text(m).s);
    }
}

/* The quirks, byte for byte (Intel SDM vol. 2, tables 2-2 and 2-3). */
static void test_addressing_bytes(void **state)
{
    (void)state;
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RAX, 0));
    CHECK_BYTES(0x48, 0x8B, 0x00); /* mod 00, no displacement */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RSP, 0));
    CHECK_BYTES(0x48, 0x8B, 0x04, 0x24); /* rm 100 needs a SIB: base rsp, no index */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_R12, 0));
    CHECK_BYTES(0x49, 0x8B, 0x04, 0x24); /* r12 too, REX.B */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RBP, 0));
    CHECK_BYTES(0x48, 0x8B, 0x45, 0x00); /* mod 00 rm 101 would be RIP-relative: disp8 0 */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_R13, 0));
    CHECK_BYTES(0x49, 0x8B, 0x45, 0x00);
    x86_load(fresh(), 8, false, X86_RAX, X86_MEMI(X86_R13, X86_RAX, 1, 0));
    CHECK_BYTES(0x49, 0x8B, 0x44, 0x05, 0x00); /* SIB base 101 with mod 00 would mean no base */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEMI(X86_RAX, X86_R13, 1, 0));
    CHECK_BYTES(0x4A, 0x8B, 0x04, 0x28); /* r13 as index is fine with mod 00 */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEMI(X86_RAX, X86_R12, 8, 0));
    CHECK_BYTES(0x4A, 0x8B, 0x04, 0xE0); /* r12 as index is fine (REX.X) */
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RCX, 127));
    CHECK_BYTES(0x48, 0x8B, 0x41, 0x7F);
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RCX, -128));
    CHECK_BYTES(0x48, 0x8B, 0x41, 0x80);
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RCX, 128));
    CHECK_BYTES(0x48, 0x8B, 0x81, 0x80, 0x00, 0x00, 0x00);
    x86_load(fresh(), 8, false, X86_RAX, X86_MEM(X86_RCX, -129));
    CHECK_BYTES(0x48, 0x8B, 0x81, 0x7F, 0xFF, 0xFF, 0xFF);
    x86_load(fresh(), 8, false, X86_R15, X86_MEMI(X86_RSP, X86_RBP, 4, 1));
    CHECK_BYTES(0x4C, 0x8B, 0x7C, 0xAC, 0x01);
    x86_load(fresh(), 4, false, X86_RDX, X86_MEM(X86_RBX, 0));
    CHECK_BYTES(0x8B, 0x13); /* no REX at all */
}

/* --- arithmetic ------------------------------------------------------------------------- */

static void test_alu_rr(void **state)
{
    (void)state;
    for (int op = 0; op < 8; op++)
        for (int w = 0; w < 2; w++)
            for (int d = 0; d < 16; d++)
                for (int s = 0; s < 16; s++) {
                    x86_alu_rr(fresh(), op, w, d, s);
                    check(rex(w, d, s, -1) + 2, "%s %s, %s", ALU[op], rw(w, d), rw(w, s));
                }
    x86_alu_rr(fresh(), X86_ADD, true, X86_RAX, X86_RCX);
    CHECK_BYTES(0x48, 0x01, 0xC8);
    x86_alu_rr(fresh(), X86_SUB, false, X86_R9, X86_RDX);
    CHECK_BYTES(0x41, 0x29, 0xD1);
}

/* The text of an 83/81 immediate. capstone prints it unsigned at the operand size for the bitwise
 * ops and for imm32 with a 32-bit operand, else signed. */
static struct num alu_imm_text(enum x86_alu op, bool w64, int32_t imm)
{
    bool imm8 = imm >= -128 && imm <= 127;
    if (op == X86_AND || op == X86_OR || op == X86_XOR)
        return unum(w64 ? (uint64_t)(int64_t)imm : (uint32_t)imm);
    return imm8 || w64 ? snum(imm) : unum((uint32_t)imm);
}

/* imul's immediate: like the arithmetic ops. */
static struct num imul_imm_text(bool w64, int32_t imm)
{
    return alu_imm_text(X86_ADD, w64, imm);
}

static unsigned alu_imm_len(int32_t imm)
{
    return imm >= -128 && imm <= 127 ? 1 : 4;
}

static void test_alu_ri(void **state)
{
    (void)state;
    for (int op = 0; op < 8; op++)
        for (int w = 0; w < 2; w++)
            for (int r = 0; r < 16; r++)
                for (size_t i = 0; i < COUNT(IMMS); i++) {
                    x86_alu_ri(fresh(), op, w, r, IMMS[i]);
                    check(rex(w, r, -1, -1) + 2 + alu_imm_len(IMMS[i]), "%s %s, %s", ALU[op],
                          rw(w, r), alu_imm_text(op, w, IMMS[i]).s);
                }
    x86_alu_ri(fresh(), X86_CMP, true, X86_RAX, -1);
    CHECK_BYTES(0x48, 0x83, 0xF8, 0xFF);
    x86_alu_ri(fresh(), X86_AND, false, X86_R8, 0x100);
    CHECK_BYTES(0x41, 0x81, 0xE0, 0x00, 0x01, 0x00, 0x00);
}

static void test_alu_mem(void **state)
{
    (void)state;
    for (int op = 0; op < 8; op++)
        for (int w = 0; w < 2; w++)
            for (size_t i = 0; i < COUNT(some_mems); i++) {
                struct x86_mem m = some_mems[i];
                for (int r = 0; r < 16; r++) {
                    unsigned len = rex_mem(w, r, m) + 1 + modrm_len(m);
                    x86_alu_rm(fresh(), op, w, r, m);
                    check(len, "%s %s, %s", ALU[op], rw(w, r), ptr_text(opsize(w), m).s);
                    x86_alu_mr(fresh(), op, w, m, r);
                    check(len, "%s %s, %s", ALU[op], ptr_text(opsize(w), m).s, rw(w, r));
                }
                for (size_t k = 0; k < COUNT(IMMS); k++) {
                    x86_alu_mi(fresh(), op, w, m, IMMS[k]);
                    check(rex_mem(w, -1, m) + 1 + modrm_len(m) + alu_imm_len(IMMS[k]), "%s %s, %s",
                          ALU[op], ptr_text(opsize(w), m).s, alu_imm_text(op, w, IMMS[k]).s);
                }
            }
    x86_alu_mi(fresh(), X86_ADD, true, X86_MEM(X86_RSP, 8), 1);
    CHECK_BYTES(0x48, 0x83, 0x44, 0x24, 0x08, 0x01);
}

static void test_test(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++)
        for (int a = 0; a < 16; a++) {
            for (int c = 0; c < 16; c++) {
                x86_test_rr(fresh(), w, a, c);
                check(rex(w, a, c, -1) + 2, "test %s, %s", rw(w, a), rw(w, c));
            }
            for (size_t i = 0; i < COUNT(IMMS); i++) {
                x86_test_ri(fresh(), w, a, IMMS[i]);
                check(rex(w, a, -1, -1) + 6, "test %s, %s", rw(w, a),
                      (w ? snum(IMMS[i]) : unum((uint32_t)IMMS[i])).s);
            }
        }
}

static void test_shifts(void **state)
{
    (void)state;
    for (size_t k = 0; k < COUNT(SHIFTS); k++)
        for (int w = 0; w < 2; w++)
            for (int r = 0; r < 16; r++) {
                for (uint8_t imm = 0; imm < (w ? 64 : 32); imm++) {
                    x86_shift_ri(fresh(), SHIFTS[k], w, r, imm);
                    check(rex(w, r, -1, -1) + 3, "%s %s, %s", SHIFT[SHIFTS[k]], rw(w, r),
                          unum(imm).s);
                }
                x86_shift_cl(fresh(), SHIFTS[k], w, r);
                check(rex(w, r, -1, -1) + 2, "%s %s, cl", SHIFT[SHIFTS[k]], rw(w, r));
            }
    x86_shift_ri(fresh(), X86_SAR, true, X86_R11, 63);
    CHECK_BYTES(0x49, 0xC1, 0xFB, 0x3F);
}

static void test_shiftx(void **state)
{
    (void)state;
    static const enum x86_shift ops[] = {X86_SHL, X86_SHR, X86_SAR};
    for (size_t k = 0; k < COUNT(ops); k++)
        for (int w = 0; w < 2; w++)
            for (int d = 0; d < 16; d++)
                for (int s = 0; s < 16; s++)
                    for (int c = 0; c < 16; c++) {
                        x86_shiftx(fresh(), ops[k], w, d, s, c);
                        check(5, "%sx %s, %s, %s", SHIFT[ops[k]], rw(w, d), rw(w, s), rw(w, c));
                    }
    x86_shiftx(fresh(), X86_SHL, true, X86_RAX, X86_RDX, X86_RCX);
    CHECK_BYTES(0xC4, 0xE2, 0xF1, 0xF7, 0xC2);
}

static void test_multiply_divide(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 16; d++) {
            for (int s = 0; s < 16; s++) {
                x86_imul_rr(fresh(), w, d, s);
                check(rex(w, d, s, -1) + 3, "imul %s, %s", rw(w, d), rw(w, s));
                for (size_t i = 0; i < COUNT(IMMS); i++) {
                    x86_imul_rri(fresh(), w, d, s, IMMS[i]);
                    check(rex(w, d, s, -1) + 2 + alu_imm_len(IMMS[i]), "imul %s, %s, %s", rw(w, d),
                          rw(w, s), imul_imm_text(w, IMMS[i]).s);
                }
            }
            for (int sign = 0; sign < 2; sign++) {
                x86_mul1(fresh(), w, sign, d);
                check(rex(w, d, -1, -1) + 2, "%s %s", sign ? "imul" : "mul", rw(w, d));
                x86_div1(fresh(), w, sign, d);
                check(rex(w, d, -1, -1) + 2, "%s %s", sign ? "idiv" : "div", rw(w, d));
            }
            x86_neg(fresh(), w, d);
            check(rex(w, d, -1, -1) + 2, "neg %s", rw(w, d));
            x86_not(fresh(), w, d);
            check(rex(w, d, -1, -1) + 2, "not %s", rw(w, d));
        }
    x86_cqo(fresh(), true);
    CHECK_BYTES(0x48, 0x99);
    check(2, "cqo");
    x86_cqo(fresh(), false);
    CHECK_BYTES(0x99);
    check(1, "cdq");
}

/* --- moves ------------------------------------------------------------------------------ */

static void test_mov_rr(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 16; d++)
            for (int s = 0; s < 16; s++) {
                x86_mov_rr(fresh(), w, d, s);
                check(rex(w, d, s, -1) + 2, "mov %s, %s", rw(w, d), rw(w, s));
            }
}

static void test_mov_ri(void **state)
{
    (void)state;
    static const uint64_t zero_extended[] = {0, 1, 0x7fffffff, 0x80000000, 0xffffffff};
    static const uint64_t sign_extended[] = {UINT64_C(0xffffffff80000000), UINT64_MAX,
                                             UINT64_C(0xfffffffffffffff0)};
    static const uint64_t full[] = {UINT64_C(0x100000000), UINT64_C(0x7fffffff80000000),
                                    UINT64_C(0x8000000000000000), UINT64_C(0xffffffff7fffffff),
                                    UINT64_C(0x123456789abcdef0)};
    for (int r = 0; r < 16; r++) {
        for (size_t i = 0; i < COUNT(zero_extended); i++) {
            x86_mov_ri(fresh(), r, zero_extended[i]);
            check(rex(false, r, -1, -1) + 5, "mov %s, %s", R32[r], unum(zero_extended[i]).s);
        }
        for (size_t i = 0; i < COUNT(sign_extended); i++) {
            x86_mov_ri(fresh(), r, sign_extended[i]);
            check(7, "mov %s, %s", R64[r], snum((int64_t)sign_extended[i]).s);
        }
        for (size_t i = 0; i < COUNT(full); i++) {
            x86_mov_ri(fresh(), r, full[i]);
            check(10, "movabs %s, %s", R64[r], unum(full[i]).s);
        }
    }
    x86_mov_ri(fresh(), X86_R9, 0xffffffff);
    CHECK_BYTES(0x41, 0xB9, 0xFF, 0xFF, 0xFF, 0xFF);
    x86_mov_ri(fresh(), X86_RAX, UINT64_MAX);
    CHECK_BYTES(0x48, 0xC7, 0xC0, 0xFF, 0xFF, 0xFF, 0xFF);
}

static void test_load(void **state)
{
    (void)state;
    static const char *const zero_ext[] = {"movzx", "movzx", "mov", "mov"};
    static const char *const sign_ext[] = {"movsx", "movsx", "movsxd", "mov"};
    for (unsigned k = 0; k < 4; k++) {
        unsigned size = 1u << k;
        for (int r = 0; r < 16; r++)
            for (size_t i = 0; i < COUNT(some_mems); i++) {
                struct x86_mem m = some_mems[i];
                unsigned escape = size <= 2; /* 0F B6/B7/BE/BF */
                x86_load(fresh(), size, false, r, m);
                check(rex_mem(size == 8, r, m) + escape + 1 + modrm_len(m), "%s %s, %s",
                      zero_ext[k], size == 8 ? R64[r] : R32[r], ptr_text(size, m).s);
                x86_load(fresh(), size, true, r, m);
                check(rex_mem(true, r, m) + escape + 1 + modrm_len(m), "%s %s, %s", sign_ext[k],
                      R64[r], ptr_text(size, m).s);
            }
    }
}

static void test_store(void **state)
{
    (void)state;
    for (unsigned k = 0; k < 4; k++) {
        unsigned size = 1u << k;
        for (size_t i = 0; i < COUNT(some_mems); i++) {
            struct x86_mem m = some_mems[i];
            unsigned prefix = size == 2;
            for (int r = 0; r < 16; r++) {
                bool byte_rex = size == 1 && r >= 4 && r <= 7; /* spl..dil, not ah..bh */
                x86_store(fresh(), size, m, r);
                check(prefix + (rex_mem(size == 8, r, m) | byte_rex) + 1 + modrm_len(m),
                      "mov %s, %s", ptr_text(size, m).s, reg_name(size, r));
            }
            for (size_t j = 0; j < COUNT(IMMS); j++) {
                int32_t imm = IMMS[j];
                uint64_t truncated =
                    size == 8 ? 0 : (uint32_t)imm & (UINT64_MAX >> (64 - 8 * size));
                x86_store_imm(fresh(), size, m, imm);
                check(
                    prefix + rex_mem(size == 8, -1, m) + 1 + modrm_len(m) + (size == 8 ? 4 : size),
                    "mov %s, %s", ptr_text(size, m).s, (size == 8 ? snum(imm) : unum(truncated)).s);
            }
        }
    }
    x86_store(fresh(), 1, X86_MEM(X86_RAX, 0), X86_RSI);
    CHECK_BYTES(0x40, 0x88, 0x30); /* without the REX this would be dh */
    x86_store(fresh(), 2, X86_MEM(X86_R8, 0), X86_RAX);
    CHECK_BYTES(0x66, 0x41, 0x89, 0x00); /* legacy prefix before REX */
}

static void test_lea(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++)
        for (int r = 0; r < 16; r++)
            for (size_t i = 0; i < COUNT(some_mems); i++) {
                struct x86_mem m = some_mems[i];
                x86_lea(fresh(), w, r, m);
                check(rex_mem(w, r, m) + 1 + modrm_len(m), "lea %s, %s", rw(w, r), mem_text(m).s);
            }
}

static void test_extend_rr(void **state)
{
    (void)state;
    for (int d = 0; d < 16; d++)
        for (int s = 0; s < 16; s++) {
            bool byte_rex = s >= 4 && s <= 7;
            x86_movsx_rr(fresh(), 1, d, s);
            check(4, "movsx %s, %s", R64[d], R8[s]);
            x86_movsx_rr(fresh(), 2, d, s);
            check(4, "movsx %s, %s", R64[d], R16[s]);
            x86_movsx_rr(fresh(), 4, d, s);
            check(3, "movsxd %s, %s", R64[d], R32[s]);
            x86_movzx_rr(fresh(), 1, d, s);
            check((rex(false, d, s, -1) | byte_rex) + 3, "movzx %s, %s", R32[d], R8[s]);
            x86_movzx_rr(fresh(), 2, d, s);
            check(rex(false, d, s, -1) + 3, "movzx %s, %s", R32[d], R16[s]);
            x86_movzx_rr(fresh(), 4, d, s);
            check(rex(false, d, s, -1) + 2, "mov %s, %s", R32[d], R32[s]);
        }
    x86_movzx_rr(fresh(), 1, X86_RAX, X86_RDI);
    CHECK_BYTES(0x40, 0x0F, 0xB6, 0xC7);
}

static void test_setcc_cmov(void **state)
{
    (void)state;
    for (int cc = 0; cc < 16; cc++)
        for (int d = 0; d < 16; d++) {
            x86_setcc(fresh(), cc, d);
            check((d >= 4) + 3, "set%s %s", CC[cc], R8[d]);
            for (int w = 0; w < 2; w++)
                for (int s = 0; s < 16; s++) {
                    x86_cmov(fresh(), cc, w, d, s);
                    check(rex(w, d, s, -1) + 3, "cmov%s %s, %s", CC[cc], rw(w, d), rw(w, s));
                }
        }
    x86_setcc(fresh(), X86_CC_E, X86_RSP);
    CHECK_BYTES(0x40, 0x0F, 0x94, 0xC4); /* without the REX this would be ah */
    assert_int_equal(x86_cc_invert(X86_CC_L), X86_CC_GE);
    assert_int_equal(x86_cc_invert(X86_CC_NE), X86_CC_E);
}

/* --- bit manipulation ------------------------------------------------------------------- */

static void test_bit_ops(void **state)
{
    (void)state;
    for (int w = 0; w < 2; w++)
        for (int d = 0; d < 16; d++) {
            x86_bswap(fresh(), w, d);
            check(rex(w, d, -1, -1) + 2, "bswap %s", rw(w, d));
            for (int s = 0; s < 16; s++) {
                x86_popcnt(fresh(), w, d, s);
                check(rex(w, d, s, -1) + 4, "popcnt %s, %s", rw(w, d), rw(w, s));
                x86_lzcnt(fresh(), w, d, s);
                check(rex(w, d, s, -1) + 4, "lzcnt %s, %s", rw(w, d), rw(w, s));
                x86_tzcnt(fresh(), w, d, s);
                check(rex(w, d, s, -1) + 4, "tzcnt %s, %s", rw(w, d), rw(w, s));
                for (int s2 = 0; s2 < 16; s2++) {
                    x86_andn(fresh(), w, d, s, s2);
                    check(5, "andn %s, %s, %s", rw(w, d), rw(w, s), rw(w, s2));
                }
            }
        }
    x86_popcnt(fresh(), true, X86_RAX, X86_R9);
    CHECK_BYTES(0xF3, 0x49, 0x0F, 0xB8, 0xC1); /* mandatory prefix before REX */
    x86_andn(fresh(), false, X86_R8, X86_R9, X86_R10);
    CHECK_BYTES(0xC4, 0x42, 0x30, 0xF2, 0xC2);
}

/* --- scalar floating point ------------------------------------------------------------ */

static void test_sse_moves(void **state)
{
    (void)state;
    for (int x = 0; x < 16; x++) {
        for (int r = 0; r < 16; r++) {
            x86_movq_to_xmm(fresh(), x, r);
            check(5, "movq %s, %s", XMM[x], R64[r]); /* 66 REX.W 0F 6E /r */
            x86_movq_from_xmm(fresh(), r, x);
            check(5, "movq %s, %s", R64[r], XMM[x]);
        }
        for (size_t i = 0; i < COUNT(some_mems); i++) {
            struct x86_mem m = some_mems[i];
            unsigned len = 1 + rex_mem(false, x, m) + 2 + modrm_len(m);
            x86_movsd_load(fresh(), x, m);
            check(len, "movsd %s, %s", XMM[x], ptr_text(8, m).s);
            x86_movsd_store(fresh(), m, x);
            check(len, "movsd %s, %s", ptr_text(8, m).s, XMM[x]);
        }
    }
    /* Every addressing mode. */
    for (size_t i = 0; i < COUNT(all_mems); i++) {
        struct x86_mem m = all_mems[i];
        int x = (int)(i % 16);
        unsigned len = 1 + rex_mem(false, x, m) + 2 + modrm_len(m);
        x86_movsd_load(fresh(), x, m);
        check(len, "movsd %s, %s", XMM[x], ptr_text(8, m).s);
        x86_movsd_store(fresh(), m, 15 - x);
        check(1 + rex_mem(false, 15 - x, m) + 2 + modrm_len(m), "movsd %s, %s", ptr_text(8, m).s,
              XMM[15 - x]);
    }
    x86_movsd_load(fresh(), X86_XMM8, X86_MEM(X86_R13, 0));
    CHECK_BYTES(0xF2, 0x45, 0x0F, 0x10, 0x45, 0x00); /* prefix before REX; r13 needs a disp8 */
    x86_movsd_store(fresh(), X86_MEM(X86_RSP, 0), X86_XMM0);
    CHECK_BYTES(0xF2, 0x0F, 0x11, 0x04, 0x24); /* rsp needs a SIB */
    x86_movsd_load(fresh(), X86_XMM1, X86_MEMI(X86_RDI, X86_R9, 8, 16));
    CHECK_BYTES(0xF2, 0x42, 0x0F, 0x10, 0x4C, 0xCF, 0x10);
    x86_movq_to_xmm(fresh(), X86_XMM0, X86_RAX);
    CHECK_BYTES(0x66, 0x48, 0x0F, 0x6E, 0xC0);
    x86_movq_from_xmm(fresh(), X86_R8, X86_XMM15);
    CHECK_BYTES(0x66, 0x4D, 0x0F, 0x7E, 0xF8);
}

static const struct sse_case {
    enum x86_sse op;
    const char *name;
    unsigned prefix;   /* bytes of mandatory prefix */
    unsigned mem_text; /* the size capstone prints for the memory operand */
} SSE_OPS[] = {
    {X86_ADDSD, "addsd", 1, 8},
    {X86_MULSD, "mulsd", 1, 8},
    {X86_SUBSD, "subsd", 1, 8},
    {X86_DIVSD, "divsd", 1, 8},
    {X86_SQRTSD, "sqrtsd", 1, 8},
    {X86_UCOMISD, "ucomisd", 1, 8},
    /* comisd and comiss read m64 and m32 (Intel SDM), but capstone 4 prints "xmmword"; the bytes
     * are checked below. */
    {X86_COMISD, "comisd", 1, 16},
    {X86_ADDSS, "addss", 1, 4},
    {X86_MULSS, "mulss", 1, 4},
    {X86_SUBSS, "subss", 1, 4},
    {X86_DIVSS, "divss", 1, 4},
    {X86_SQRTSS, "sqrtss", 1, 4},
    {X86_UCOMISS, "ucomiss", 0, 4},
    {X86_COMISS, "comiss", 0, 16},
};

static void test_sse_ops(void **state)
{
    (void)state;
    for (size_t k = 0; k < COUNT(SSE_OPS); k++) {
        const struct sse_case *c = &SSE_OPS[k];
        for (int d = 0; d < 16; d++) {
            for (int s = 0; s < 16; s++) {
                x86_sse_op_rr(fresh(), c->op, d, s);
                check(c->prefix + rex(false, d, s, -1) + 3, "%s %s, %s", c->name, XMM[d], XMM[s]);
            }
            for (size_t i = 0; i < COUNT(some_mems); i++) {
                struct x86_mem m = some_mems[i];
                x86_sse_op_rm(fresh(), c->op, d, m);
                check(c->prefix + rex_mem(false, d, m) + 2 + modrm_len(m), "%s %s, %s", c->name,
                      XMM[d], ptr_text(c->mem_text, m).s);
            }
        }
    }
    x86_sse_op_rr(fresh(), X86_ADDSD, X86_XMM9, X86_XMM10);
    CHECK_BYTES(0xF2, 0x45, 0x0F, 0x58, 0xCA);
    x86_sse_op_rr(fresh(), X86_DIVSD, X86_XMM0, X86_XMM8);
    CHECK_BYTES(0xF2, 0x41, 0x0F, 0x5E, 0xC0);
    x86_sse_op_rr(fresh(), X86_UCOMISD, X86_XMM0, X86_XMM1);
    CHECK_BYTES(0x66, 0x0F, 0x2E, 0xC1);
    x86_sse_op_rm(fresh(), X86_COMISD, X86_XMM15, X86_MEM(X86_R12, 0));
    CHECK_BYTES(0x66, 0x45, 0x0F, 0x2F, 0x3C, 0x24);
    x86_sse_op_rm(fresh(), X86_COMISS, X86_XMM2, X86_MEM(X86_RBP, -8));
    CHECK_BYTES(0x0F, 0x2F, 0x55, 0xF8);
    x86_sse_op_rm(fresh(), X86_SQRTSS, X86_XMM3, X86_MEM(X86_R12, 8));
    CHECK_BYTES(0xF3, 0x41, 0x0F, 0x51, 0x5C, 0x24, 0x08);
    x86_sse_op_rr(fresh(), X86_MULSS, X86_XMM7, X86_XMM6);
    CHECK_BYTES(0xF3, 0x0F, 0x59, 0xFE);

    /* One that does not fit writes nothing. */
    uint8_t small[4] = {0xAA, 0xAA, 0xAA, 0xAA};
    x86_init(&buf, small, 3);
    x86_sse_op_rr(&buf, X86_SUBSD, X86_XMM0, X86_XMM1);
    assert_true(buf.overflow);
    assert_int_equal(x86_used(&buf), 0);
    assert_int_equal(small[0], 0xAA);
}

static void test_fma(void **state)
{
    (void)state;
    static const enum x86_fma kinds[] = {X86_VFMADD, X86_VFMSUB, X86_VFNMADD, X86_VFNMSUB};
    static const char *const kind_name[] = {[X86_VFMADD] = "vfmadd",
                                            [X86_VFMSUB] = "vfmsub",
                                            [X86_VFNMADD] = "vfnmadd",
                                            [X86_VFNMSUB] = "vfnmsub"};
    static const enum x86_fma_order orders[] = {X86_FMA132, X86_FMA213, X86_FMA231};
    static const char *const order_name[] = {"132", "213", "231"};
    for (size_t k = 0; k < COUNT(kinds); k++)
        for (int d = 0; d < 16; d++)
            for (int s1 = 0; s1 < 16; s1++)
                for (int s2 = 0; s2 < 16; s2++) {
                    for (size_t o = 0; o < COUNT(orders); o++) {
                        x86_fma_sd(fresh(), kinds[k], orders[o], d, s1, s2);
                        check(5, "%s%ssd %s, %s, %s", kind_name[kinds[k]], order_name[o], XMM[d],
                              XMM[s1], XMM[s2]);
                    }
                    x86_fma231sd(fresh(), kinds[k], d, s1, s2);
                    check(5, "%s231sd %s, %s, %s", kind_name[kinds[k]], XMM[d], XMM[s1], XMM[s2]);
                }
    x86_fma231sd(fresh(), X86_VFMADD, X86_XMM0, X86_XMM1, X86_XMM2);
    CHECK_BYTES(0xC4, 0xE2, 0xF1, 0xB9, 0xC2); /* VEX.66.0F38.W1, vvvv = ~1 */
    x86_fma231sd(fresh(), X86_VFNMSUB, X86_XMM15, X86_XMM15, X86_XMM15);
    CHECK_BYTES(0xC4, 0x42, 0x81, 0xBF, 0xFF); /* R and B set, X clear: inverted 010 */
    x86_fma_sd(fresh(), X86_VFNMSUB, X86_FMA213, X86_XMM8, X86_XMM9, X86_XMM15);
    CHECK_BYTES(0xC4, 0x42, 0xB1, 0xAF, 0xC7);
    x86_fma_sd(fresh(), X86_VFMSUB, X86_FMA132, X86_XMM3, X86_XMM0, X86_XMM12);
    CHECK_BYTES(0xC4, 0xC2, 0xF9, 0x9B, 0xDC);
    x86_fma_sd(fresh(), X86_VFNMADD, X86_FMA213, X86_XMM1, X86_XMM2, X86_XMM3);
    CHECK_BYTES(0xC4, 0xE2, 0xE9, 0xAD, 0xCB);
}

static void test_mxcsr(void **state)
{
    (void)state;
    for (size_t i = 0; i < COUNT(some_mems); i++) {
        struct x86_mem m = some_mems[i];
        unsigned len = rex_mem(false, -1, m) + 2 + modrm_len(m);
        x86_stmxcsr(fresh(), m);
        check(len, "stmxcsr %s", ptr_text(4, m).s);
        x86_ldmxcsr(fresh(), m);
        check(len, "ldmxcsr %s", ptr_text(4, m).s);
    }
    x86_stmxcsr(fresh(), X86_MEM(X86_RSP, 0));
    CHECK_BYTES(0x0F, 0xAE, 0x1C, 0x24);
    x86_ldmxcsr(fresh(), X86_MEM(X86_R12, 8));
    CHECK_BYTES(0x41, 0x0F, 0xAE, 0x54, 0x24, 0x08);
    x86_ldmxcsr(fresh(), X86_MEM(X86_R13, 0));
    CHECK_BYTES(0x41, 0x0F, 0xAE, 0x55, 0x00);
    x86_stmxcsr(fresh(), X86_MEM(X86_RBP, -4));
    CHECK_BYTES(0x0F, 0xAE, 0x5D, 0xFC);
}

/* --- stack, fences, atomics, indirect jumps --------------------------------------------- */

static void test_misc(void **state)
{
    (void)state;
    for (int r = 0; r < 16; r++) {
        x86_push(fresh(), r);
        check(rex(false, r, -1, -1) + 1, "push %s", R64[r]);
        x86_pop(fresh(), r);
        check(rex(false, r, -1, -1) + 1, "pop %s", R64[r]);
        x86_call_r(fresh(), r);
        check(rex(false, r, -1, -1) + 2, "call %s", R64[r]);
        x86_jmp_r(fresh(), r);
        check(rex(false, r, -1, -1) + 2, "jmp %s", R64[r]);
    }
    for (size_t i = 0; i < COUNT(some_mems); i++) {
        struct x86_mem m = some_mems[i];
        x86_jmp_m(fresh(), m);
        check(rex_mem(false, -1, m) + 1 + modrm_len(m), "jmp %s", ptr_text(8, m).s);
    }
    x86_ret(fresh());
    CHECK_BYTES(0xC3);
    check(1, "ret");
    x86_int3(fresh());
    CHECK_BYTES(0xCC);
    check(1, "int3");
    x86_mfence(fresh());
    CHECK_BYTES(0x0F, 0xAE, 0xF0);
    check(3, "mfence");
}

static void test_atomics(void **state)
{
    (void)state;
    for (unsigned size = 4; size <= 8; size += 4)
        for (size_t i = 0; i < COUNT(some_mems); i++)
            for (int r = 0; r < 16; r++) {
                struct x86_mem m = some_mems[i];
                unsigned len = rex_mem(size == 8, r, m) + 1 + modrm_len(m);
                x86_xchg_mr(fresh(), size, m, r);
                check(len, "xchg %s, %s", ptr_text(size, m).s, reg_name(size, r));
                x86_lock_xadd(fresh(), size, m, r);
                check(len + 2, "lock xadd %s, %s", ptr_text(size, m).s, reg_name(size, r));
                x86_lock_cmpxchg(fresh(), size, m, r);
                check(len + 2, "lock cmpxchg %s, %s", ptr_text(size, m).s, reg_name(size, r));
            }
    x86_lock_cmpxchg(fresh(), 8, X86_MEM(X86_RDI, 0), X86_RDX);
    CHECK_BYTES(0xF0, 0x48, 0x0F, 0xB1, 0x17);
}

/* --- control flow ----------------------------------------------------------------------- */

static uint64_t addr(const void *p)
{
    return (uint64_t)(uintptr_t)p;
}

/* A pointer `delta` bytes from p, computed as an integer: the target of a jump need not be in
 * any object. */
static const void *offset(const void *p, int64_t delta)
{
    return (const void *)(uintptr_t)(addr(p) + (uint64_t)delta);
}

static int32_t rel32_at(const uint8_t *field)
{
    return (int32_t)((uint32_t)field[0] | (uint32_t)field[1] << 8 | (uint32_t)field[2] << 16 |
                     (uint32_t)field[3] << 24);
}

/* Emits jmp, call or each jcc to target and checks the decoded target and the returned field. */
static void check_branches_to(const void *target)
{
    uint8_t *field;
    /* capstone prints the absolute target; NULL means "the end of the field" (rel32 0). */
    field = x86_jmp(fresh(), target);
    assert_ptr_equal(field, code + 1);
    check(5, "jmp 0x%" PRIx64, target ? addr(target) : addr(code + 5));
    field = x86_call(fresh(), target);
    assert_ptr_equal(field, code + 1);
    check(5, "call 0x%" PRIx64, target ? addr(target) : addr(code + 5));
    for (int cc = 0; cc < 16; cc++) {
        field = x86_jcc(fresh(), cc, target);
        assert_ptr_equal(field, code + 2);
        check(6, "j%s 0x%" PRIx64, CC[cc], target ? addr(target) : addr(code + 6));
    }
}

static void test_branches(void **state)
{
    (void)state;
    check_branches_to(NULL);
    check_branches_to(code);       /* backwards, to the instruction itself */
    check_branches_to(code + 100); /* forwards */
    /* The limits: the jmp's rel32 is INT32_MAX, the jcc's (its field ends a byte later) INT32_MIN.
     */
    check_branches_to(offset(code, 5 + (int64_t)INT32_MAX));
    check_branches_to(offset(code, 6 + (int64_t)INT32_MIN));
    check_branches_to(offset(code, -0x12345678));

    x86_jmp(fresh(), code + 0x10);
    CHECK_BYTES(0xE9, 0x0B, 0x00, 0x00, 0x00);
    x86_jcc(fresh(), X86_CC_NE, code);
    CHECK_BYTES(0x0F, 0x85, 0xFA, 0xFF, 0xFF, 0xFF);
    x86_call(fresh(), code + 5);
    CHECK_BYTES(0xE8, 0x00, 0x00, 0x00, 0x00);
}

static void test_patch_rel32(void **state)
{
    (void)state;
    /* A forward branch, emitted before its target is known, then patched. */
    fresh();
    uint8_t *to_end = x86_jcc(&buf, X86_CC_B, NULL);
    uint8_t *back_field = x86_jmp(&buf, NULL);
    x86_int3(&buf);
    uint8_t *end = buf.p;
    assert_ptr_equal(to_end, code + 2);
    assert_ptr_equal(back_field, code + 7);
    assert_int_equal(rel32_at(to_end), 0);
    x86_patch_rel32(to_end, end);
    assert_int_equal(rel32_at(to_end), end - (to_end + 4));
    x86_patch_rel32(back_field, code);
    assert_int_equal(rel32_at(back_field), -11);

    size_t len;
    struct text want;
    snprintf(want.s, sizeof want.s, "jb 0x%" PRIx64, addr(end));
    assert_string_equal(disasm_one(code, 6, addr(code), &len).s, want.s);
    snprintf(want.s, sizeof want.s, "jmp 0x%" PRIx64, addr(code));
    assert_string_equal(disasm_one(code + 6, 5, addr(code + 6), &len).s, want.s);

    /* Re-patching moves the target; the limits of the range. */
    x86_patch_rel32(back_field, offset(back_field, 4 + (int64_t)INT32_MAX));
    assert_int_equal(rel32_at(back_field), INT32_MAX);
    x86_patch_rel32(back_field, offset(back_field, 4 + (int64_t)INT32_MIN));
    assert_int_equal(rel32_at(back_field), INT32_MIN);
    assert_int_equal(code[11], 0xCC); /* the int3 after the field is untouched */
}

static void test_rel32_ok(void **state)
{
    (void)state;
    const void *end = code + 16;
    assert_true(x86_rel32_ok(end, end));
    assert_true(x86_rel32_ok(end, offset(end, INT32_MAX)));
    assert_false(x86_rel32_ok(end, offset(end, (int64_t)INT32_MAX + 1)));
    assert_true(x86_rel32_ok(end, offset(end, INT32_MIN)));
    assert_false(x86_rel32_ok(end, offset(end, (int64_t)INT32_MIN - 1)));
    assert_false(x86_rel32_ok(end, offset(end, INT64_C(1) << 40)));
    assert_false(x86_rel32_ok(end, offset(end, -(INT64_C(1) << 40))));
}

/* --- alignment and overflow ------------------------------------------------------------- */

static void test_align(void **state)
{
    (void)state;
    static const unsigned aligns[] = {1, 2, 4, 8, 16, 32, 64};
    for (size_t a = 0; a < COUNT(aligns); a++)
        for (unsigned start = 0; start < 64; start++) {
            fresh();
            buf.p = code + start;
            x86_align(&buf, aligns[a]);
            assert_false(buf.overflow);
            assert_int_equal(addr(buf.p) % aligns[a], 0);
            assert_true(buf.p - (code + start) < (ptrdiff_t)aligns[a]);
            /* Only NOPs, each decoded whole. */
            for (uint8_t *p = code + start; p < buf.p;) {
                size_t len;
                struct text t = disasm_one(p, (size_t)(buf.p - p), addr(p), &len);
                if (strncmp(t.s, "nop", 3) != 0 || len == 0)
                    fail_msg("padding at +%td: %s (%s)", p - code, t.s, hex(p, 9).s);
                p += len;
                checked++;
            }
        }
}

static void test_overflow(void **state)
{
    (void)state;
    uint8_t small[16];
    memset(small, 0xAA, sizeof small);

    /* Exactly full is not an overflow. */
    x86_init(&buf, small, 10);
    x86_mov_ri(&buf, X86_RAX, UINT64_C(0x123456789abcdef0));
    assert_false(buf.overflow);
    assert_int_equal(x86_used(&buf), 10);

    /* An instruction that does not fit writes nothing, not even its first bytes. */
    x86_init(&buf, small, 12);
    x86_mov_ri(&buf, X86_RAX, UINT64_C(0x123456789abcdef0));
    x86_mov_ri(&buf, X86_RAX, UINT64_C(0x123456789abcdef0));
    assert_true(buf.overflow);
    assert_int_equal(x86_used(&buf), 10);
    assert_int_equal(small[10], 0xAA);
    assert_int_equal(small[11], 0xAA);

    /* Once overflowed, even an instruction that would fit is dropped. */
    x86_ret(&buf);
    assert_int_equal(x86_used(&buf), 10);
    assert_int_equal(small[10], 0xAA);
    assert_null(x86_jmp(&buf, NULL));
    assert_null(x86_jcc(&buf, X86_CC_E, small));
    assert_null(x86_call(&buf, small));
    x86_align(&buf, 16);
    assert_int_equal(x86_used(&buf), 10);
    assert_true(buf.overflow);

    /* A jump that does not fit returns NULL. */
    memset(small, 0xAA, sizeof small);
    x86_init(&buf, small, 4);
    assert_null(x86_jmp(&buf, NULL));
    assert_true(buf.overflow);
    assert_int_equal(small[0], 0xAA);

    /* Padding that does not fit overflows too (code is 64-byte aligned: 3 bytes to pad). */
    memset(code, 0xAA, sizeof code);
    x86_init(&buf, code + 61, 2);
    x86_align(&buf, 16);
    assert_true(buf.overflow);
    assert_int_equal(x86_used(&buf), 0);
    assert_int_equal(code[61], 0xAA);

    /* An empty buffer. */
    x86_init(&buf, small, 0);
    x86_int3(&buf);
    assert_true(buf.overflow);
    assert_int_equal(small[0], 0xAA);
}

/* --- invalid use ----------------------------------------------------------------------- */

/* Runs `emit` in a child process, which must die of a failed assert. */
static void expect_assert(void (*emit_invalid)(void), const char *what)
{
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (!freopen("/dev/null", "w", stderr)) /* the expected assert message is noise */
            _exit(2);
        emit_invalid();
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
        fail_msg("%s: no assert (status 0x%x)", what, status);
}

static void emit_rsp_index(void)
{
    x86_load(fresh(), 8, false, X86_RAX, X86_MEMI(X86_RAX, X86_RSP, 1, 0));
}

static void emit_bad_scale(void)
{
    x86_lea(fresh(), true, X86_RAX, X86_MEMI(X86_RAX, X86_RCX, 3, 0));
}

static void emit_bad_register(void)
{
    x86_mov_rr(fresh(), true, X86_RAX, (enum x86_reg)16);
}

static void emit_bad_store_size(void)
{
    x86_store(fresh(), 3, X86_MEM(X86_RAX, 0), X86_RCX);
}

static void emit_bad_load_size(void)
{
    x86_load(fresh(), 16, false, X86_RAX, X86_MEM(X86_RAX, 0));
}

static void emit_bad_atomic_size(void)
{
    x86_lock_xadd(fresh(), 2, X86_MEM(X86_RAX, 0), X86_RCX);
}

static void emit_bad_shift_count(void)
{
    x86_shift_ri(fresh(), X86_SHL, false, X86_RAX, 32);
}

static void emit_far_jump(void)
{
    x86_jmp(fresh(), offset(code, 6 + (int64_t)INT32_MAX));
}

static void emit_bad_align(void)
{
    x86_align(fresh(), 12);
}

static void emit_bad_xmm(void)
{
    x86_sse_op_rr(fresh(), X86_ADDSD, X86_XMM0, (enum x86_xmm)16);
}

static void emit_bad_sse_op(void)
{
    x86_sse_op_rr(fresh(), (enum x86_sse)(X86_COMISS + 1), X86_XMM0, X86_XMM1);
}

static void emit_bad_fma_kind(void)
{
    x86_fma231sd(fresh(), (enum x86_fma)1, X86_XMM0, X86_XMM1, X86_XMM2);
}

static void emit_bad_fma_order(void)
{
    x86_fma_sd(fresh(), X86_VFMADD, (enum x86_fma_order)0xC9, X86_XMM0, X86_XMM1, X86_XMM2);
}

static void test_invalid_use_asserts(void **state)
{
    (void)state;
#ifdef NDEBUG
    skip(); /* the emitter's asserts are compiled out */
#endif
    expect_assert(emit_rsp_index, "rsp as index");
    expect_assert(emit_bad_scale, "scale 3");
    expect_assert(emit_bad_register, "register 16");
    expect_assert(emit_bad_store_size, "store of 3 bytes");
    expect_assert(emit_bad_load_size, "load of 16 bytes");
    expect_assert(emit_bad_atomic_size, "xadd of 2 bytes");
    expect_assert(emit_bad_shift_count, "shl r32 by 32");
    expect_assert(emit_far_jump, "jmp out of rel32 range");
    expect_assert(emit_bad_align, "align 12");
    expect_assert(emit_bad_xmm, "xmm16");
    expect_assert(emit_bad_sse_op, "sse op out of range");
    expect_assert(emit_bad_fma_kind, "fma kind 1");
    expect_assert(emit_bad_fma_order, "fma order 0xC9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_addressing_all_modes),
        cmocka_unit_test(test_addressing_bytes),
        cmocka_unit_test(test_alu_rr),
        cmocka_unit_test(test_alu_ri),
        cmocka_unit_test(test_alu_mem),
        cmocka_unit_test(test_test),
        cmocka_unit_test(test_shifts),
        cmocka_unit_test(test_shiftx),
        cmocka_unit_test(test_multiply_divide),
        cmocka_unit_test(test_mov_rr),
        cmocka_unit_test(test_mov_ri),
        cmocka_unit_test(test_load),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_lea),
        cmocka_unit_test(test_extend_rr),
        cmocka_unit_test(test_setcc_cmov),
        cmocka_unit_test(test_bit_ops),
        cmocka_unit_test(test_sse_moves),
        cmocka_unit_test(test_sse_ops),
        cmocka_unit_test(test_fma),
        cmocka_unit_test(test_mxcsr),
        cmocka_unit_test(test_misc),
        cmocka_unit_test(test_atomics),
        cmocka_unit_test(test_branches),
        cmocka_unit_test(test_patch_rel32),
        cmocka_unit_test(test_rel32_ok),
        cmocka_unit_test(test_align),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_invalid_use_asserts),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
