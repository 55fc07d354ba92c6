/*
 * libFuzzer harness for the hart's two engines (src/hart/): the interpreter
 * against the JIT, built and run by `make fuzz`.
 *
 * Each input becomes a short guest program in a guest code page, with
 * registers, FP state and a few CSRs from the input. It runs in two machines
 * with identical RAM: A with the interpreter alone, B with the JIT (threshold
 * and region size from the input, so most of the code is translated at
 * once), exit by exit. At every exit everything the architecture shows is
 * compared: the exit (dv_enter()'s result, ucause, uepc, utval, hutval,
 * hutinst, hustatus), x1..x31, f0..f31, fcsr, instret, the guest's own CSRs
 * (vsstatus, vsie, vstvec, vsscratch, vsepc, vscause, vstval, vsatp,
 * stimecmp, scounteren, senvcfg, huvip: the last trap it took) and every
 * byte of guest RAM; any difference aborts with both states and the code
 * printed. Then the harness does what a hypervisor would, identically in
 * both: a virtual instruction (wfi: VTW is set; time: hucounteren has CY and
 * IR only; the H-extension instructions) and a load or store outside RAM (an
 * "MMIO" access; a load gets a value made from the exit's number) are
 * stepped over; an ecall, any other exit or the 32nd ends the program. ASan
 * and UBSan catch either engine touching host memory it should not; guest
 * RAM lies between PROT_NONE guard pages, so the JIT's own (uninstrumented)
 * loads and stores past it fault too. Without a JIT for this host only A
 * runs, and only its invariants are checked (x0 is 0, no crash).
 *
 * Guest traps go to a handler at vstvec (see `handler`) that steps over the
 * trapping instruction and returns, so a program runs through its faults;
 * it ends the run with an ecall on the 64th trap, and the code pages are
 * padded with ecalls. RAM beyond the eight pages is unmapped, one data page
 * is read-only in the G-stage, and a vPLIC (no source ever raised, so no
 * interrupt) sits at PLIC_GPA. The instruction budget: the vtimer makes a
 * UTIP exit every TICK, which the harness resumes from (an exit is invisible
 * to the guest) unless the interpreter has retired INSN_BUDGET instructions
 * or run MAX_TICKS ticks in all, which makes the input a runaway: then B runs
 * a tick for crashes only and nothing more is compared. The JIT, resumed the
 * same way, must reach the interpreter's exit: past its instret, that is a
 * difference too. Guest time (for stimecmp and sip) starts at the same value
 * T0 in both machines, derived from the input; a stimecmp within the first
 * seconds after T0 could have fired at different instructions, so from such
 * an exit on nothing is compared.
 *
 * The machines (one interpreter, one JIT per threshold and region size) are
 * kept for MACHINE_LIFE inputs, each input rewriting their RAM as a
 * hypervisor's DMA would, so translated code of earlier inputs must never run
 * again; a difference is tried on new machines before it is reported and,
 * when only the used ones show it, the inputs they ran are printed too.
 * DUVISOR_FUZZ_FRESH=1 uses new machines for every input (slower).
 *
 * Input:
 *   [0]  bit 0 run in VU (else VS), 1 Sv39 (vsatp: an identity gigapage for
 *        VS at 0x80000000, the same RAM at VA 0 for VU), 2 start from the VU
 *        alias (with bits 0 and 1), 3 the alias's A and D bits (else the walk
 *        sets them), 4 hustatus.VTSR, 5 VTVM, 6 vsstatus.SUM, 7 MXR
 *   [1]  bits 0-1 vsstatus.FS, 2 G-stage Sv48x4 (else Sv39x4), 3 huvip.VSSIP,
 *        4 JIT threshold 2 (else 1), 5 unused, 6 vsstatus.SIE, 7 stimecmp 0 (else ~0)
 *   [2]  fcsr    [3] max_region: 1, 2, 3, 7, 16, 64 or 128 (b % 7)
 *   [4]  scounteren   [5] vsie (bits 1, 5, 9 from bits 0-2), senvcfg bit 7
 *   [6]  vsepc: code + 4 * b; bit 0 vsstatus.SPP, bit 1 SPIE
 *   [7]  where the code starts: code + 32 * (b % 128)
 *   [8..38]   x1..x31: one selector byte each (see reg_value)
 *   [39..70]  f0..f31: one selector byte each (see fpr_value)
 *   [71..134] eight little-endian u64s the selectors draw from
 *   then items until the input ends (at most MAX_ITEMS): a byte b and four
 *   bytes r; b < RAW_BELOW picks template b % count with its free fields
 *   from r (offsets of branches and jumps mostly short and forward, load and
 *   store offsets mostly small, CSR numbers mostly ones that exist), else r
 *   is the raw word. The rest of the two code pages is ecalls.
 *
 * DUVISOR_FUZZ_VERBOSE=1 prints each exit.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hart/dvext.h"
#include "hart/engine.h"
#include "hart/hart.h" /* x[0] read directly: dv_gpr_get(h, 0) always says 0 */
#include "vmm/gstage.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Guest-physical layout: eight pages from GUEST_BASE, the rest unmapped. */
#define PAGE        4096u
#define GUEST_BASE  UINT64_C(0x80000000)
#define CODE_GPA    GUEST_BASE              /* two pages of code */
#define HANDLER_GPA (GUEST_BASE + 2 * PAGE) /* vstvec: the trap handler below, then ecalls */
#define DATA_GPA    (GUEST_BASE + 3 * PAGE) /* two read-write data pages */
#define RODATA_GPA  (GUEST_BASE + 5 * PAGE) /* read-only in the G-stage */
#define PT_GPA      (GUEST_BASE + 6 * PAGE) /* the Sv39 root table */
#define HDATA_GPA   (GUEST_BASE + 7 * PAGE) /* the handler's: saved t5, trap count */
#define NPAGES      8u
#define PLIC_GPA    UINT64_C(0x0c000000) /* the vPLIC, served inside the hart; no source raised */
#define PLIC_SRCS   32u
#define RAM_SIZE    (NPAGES * PAGE)
#define CODE_BYTES  (2u * PAGE)
#define ECALL       0x00000073u

#define HDR         135u
#define SEL_X       8u
#define SEL_F       39u
#define POOL        71u
#define MAX_ITEMS   256u
#define RAW_BELOW   0xe0u
#define TICK        10000ull /* guest timebase ticks: 1 ms */
#define MAX_TICKS   3u
#define INSN_BUDGET 100000ull
#define MAX_EXITS   32u
#define JIT_TICKS   10000u /* the JIT chasing the interpreter's exit: 10 s */
#define HUCOUNTEREN 5u     /* CY and IR: time is a virtual-instruction exit */

static int verbose = -1;

static void *xmalloc_guarded(size_t len)
{
    uint8_t *p = mmap(NULL, len + 2 * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED || mprotect(p + PAGE, len, PROT_READ | PROT_WRITE) != 0)
        abort();
    return p + PAGE;
}

/* --- the program -------------------------------------------------------------------- */

enum tkind {
    T_PLAIN,  /* every free bit from the input */
    T_BRANCH, /* B-type offset */
    T_JAL,    /* J-type offset */
    T_IMM,    /* I-type immediate: a load, jalr, or an AMO-free memory op */
    T_STORE,  /* S-type immediate */
    T_CSR,    /* CSR number */
    T_FP,     /* rm field */
    T_C,      /* 16 bits, every free bit from the input */
    T_CJ,     /* c.j */
    T_CB,     /* c.beqz / c.bnez */
};

struct tmpl {
    uint32_t match, mask;
    uint8_t kind;
};

#define R(m)                                                                                       \
    {                                                                                              \
        m, 0xfe00707fu, T_PLAIN                                                                    \
    }
#define I(m)                                                                                       \
    {                                                                                              \
        m, 0x0000707fu, T_PLAIN                                                                    \
    }
#define SH(m)                                                                                      \
    {                                                                                              \
        m, 0xfc00707fu, T_PLAIN                                                                    \
    }
#define U1(m)                                                                                      \
    {                                                                                              \
        m, 0xfff0707fu, T_PLAIN                                                                    \
    } /* one source register, rs2 field fixed */
#define FR(m)                                                                                      \
    {                                                                                              \
        m, 0xfe00007fu, T_FP                                                                       \
    } /* rm free */
#define F1(m)                                                                                      \
    {                                                                                              \
        m, 0xfff0007fu, T_FP                                                                       \
    } /* one source, rm free */
#define FX(m)                                                                                      \
    {                                                                                              \
        m, 0xfe00707fu, T_PLAIN                                                                    \
    } /* funct3 fixed */
#define F4(m)                                                                                      \
    {                                                                                              \
        m, 0x0600007fu, T_FP                                                                       \
    } /* fused multiply-add */
#define AMO(m)                                                                                     \
    {                                                                                              \
        m, 0xf800707fu, T_PLAIN                                                                    \
    }
#define C(m, k)                                                                                    \
    {                                                                                              \
        m, 0xe003u, k                                                                              \
    }

static const struct tmpl templates[] = {
    /* RV64I */
    {0x00000037, 0x0000007f, T_PLAIN}, /* lui */
    {0x00000017, 0x0000007f, T_PLAIN}, /* auipc */
    {0x0000006f, 0x0000007f, T_JAL},   /* jal */
    {0x00000067, 0x0000707f, T_IMM},   /* jalr */
    {0x00000063, 0x0000707f, T_BRANCH},
    {0x00001063, 0x0000707f, T_BRANCH},
    {0x00004063, 0x0000707f, T_BRANCH},
    {0x00005063, 0x0000707f, T_BRANCH},
    {0x00006063, 0x0000707f, T_BRANCH},
    {0x00007063, 0x0000707f, T_BRANCH},
    {0x00000003, 0x0000707f, T_IMM}, /* lb lh lw ld lbu lhu lwu */
    {0x00001003, 0x0000707f, T_IMM},
    {0x00002003, 0x0000707f, T_IMM},
    {0x00003003, 0x0000707f, T_IMM},
    {0x00004003, 0x0000707f, T_IMM},
    {0x00005003, 0x0000707f, T_IMM},
    {0x00006003, 0x0000707f, T_IMM},
    {0x00000023, 0x0000707f, T_STORE}, /* sb sh sw sd */
    {0x00001023, 0x0000707f, T_STORE},
    {0x00002023, 0x0000707f, T_STORE},
    {0x00003023, 0x0000707f, T_STORE},
    I(0x00000013), /* addi slti sltiu xori ori andi */
    I(0x00002013),
    I(0x00003013),
    I(0x00004013),
    I(0x00006013),
    I(0x00007013),
    SH(0x00001013), /* slli srli srai */
    SH(0x00005013),
    SH(0x40005013),
    R(0x00000033), /* add sub sll slt sltu xor srl sra or and */
    R(0x40000033),
    R(0x00001033),
    R(0x00002033),
    R(0x00003033),
    R(0x00004033),
    R(0x00005033),
    R(0x40005033),
    R(0x00006033),
    R(0x00007033),
    I(0x0000001b), /* addiw slliw srliw sraiw */
    R(0x0000101b),
    R(0x0000501b),
    R(0x4000501b),
    R(0x0000003b), /* addw subw sllw srlw sraw */
    R(0x4000003b),
    R(0x0000103b),
    R(0x0000503b),
    R(0x4000503b),
    I(0x0000000f),                     /* fence (pause among them) */
    I(0x0000100f),                     /* fence.i */
    {0x00000073, 0xffffffff, T_PLAIN}, /* ecall */
    {0x00100073, 0xffffffff, T_PLAIN}, /* ebreak */
    {0x10200073, 0xffffffff, T_PLAIN}, /* sret */
    {0x30200073, 0xffffffff, T_PLAIN}, /* mret */
    {0x10500073, 0xffffffff, T_PLAIN}, /* wfi */
    {0x12000073, 0xfe007fff, T_PLAIN}, /* sfence.vma */
    {0x22000073, 0xfe007fff, T_PLAIN}, /* hfence.vvma */
    {0x68004073, 0xfff0707f, T_PLAIN}, /* hlv.w */
    {0x6e004073, 0xfe007fff, T_PLAIN}, /* hsv.w */
    {0x00001073, 0x0000707f, T_CSR},   /* csrrw csrrs csrrc csrrwi csrrsi csrrci */
    {0x00002073, 0x0000707f, T_CSR},
    {0x00003073, 0x0000707f, T_CSR},
    {0x00005073, 0x0000707f, T_CSR},
    {0x00006073, 0x0000707f, T_CSR},
    {0x00007073, 0x0000707f, T_CSR},
    /* M */
    R(0x02000033),
    R(0x02001033),
    R(0x02002033),
    R(0x02003033),
    R(0x02004033),
    R(0x02005033),
    R(0x02006033),
    R(0x02007033),
    R(0x0200003b),
    R(0x0200403b),
    R(0x0200503b),
    R(0x0200603b),
    R(0x0200703b),
    /* Zba */
    R(0x20002033),
    R(0x20004033),
    R(0x20006033),
    R(0x0800003b),
    R(0x2000203b),
    R(0x2000403b),
    R(0x2000603b),
    SH(0x0800101b),
    /* Zbb */
    R(0x40007033),
    R(0x40006033),
    R(0x40004033),
    U1(0x60001013),
    U1(0x60101013),
    U1(0x60201013),
    U1(0x6000101b),
    U1(0x6010101b),
    U1(0x6020101b),
    R(0x0a006033),
    R(0x0a007033),
    R(0x0a004033),
    R(0x0a005033),
    U1(0x60401013),
    U1(0x60501013),
    U1(0x0800403b),
    R(0x60001033),
    R(0x60005033),
    SH(0x60005013),
    R(0x6000103b),
    R(0x6000503b),
    R(0x6000501b),
    U1(0x28705013),
    U1(0x6b805013),
    /* Zbs */
    R(0x48001033),
    SH(0x48001013),
    R(0x48005033),
    SH(0x48005013),
    R(0x68001033),
    SH(0x68001013),
    R(0x28001033),
    SH(0x28001013),
    /* F and D */
    {0x00002007, 0x0000707f, T_IMM}, /* flw fld */
    {0x00003007, 0x0000707f, T_IMM},
    {0x00002027, 0x0000707f, T_STORE}, /* fsw fsd */
    {0x00003027, 0x0000707f, T_STORE},
    F4(0x00000043),
    F4(0x00000047),
    F4(0x0000004b),
    F4(0x0000004f),
    F4(0x02000043),
    F4(0x02000047),
    F4(0x0200004b),
    F4(0x0200004f),
    FR(0x00000053), /* fadd fsub fmul fdiv .s */
    FR(0x08000053),
    FR(0x10000053),
    FR(0x18000053),
    F1(0x58000053), /* fsqrt.s */
    FR(0x02000053), /* .d */
    FR(0x0a000053),
    FR(0x12000053),
    FR(0x1a000053),
    F1(0x5a000053),
    FX(0x20000053), /* fsgnj fsgnjn fsgnjx fmin fmax .s */
    FX(0x20001053),
    FX(0x20002053),
    FX(0x28000053),
    FX(0x28001053),
    FX(0x22000053), /* .d */
    FX(0x22001053),
    FX(0x22002053),
    FX(0x2a000053),
    FX(0x2a001053),
    F1(0xc0000053), /* fcvt.{w,wu,l,lu}.s */
    F1(0xc0100053),
    F1(0xc0200053),
    F1(0xc0300053),
    F1(0xd0000053), /* fcvt.s.{w,wu,l,lu} */
    F1(0xd0100053),
    F1(0xd0200053),
    F1(0xd0300053),
    F1(0xc2000053), /* fcvt.{w,wu,l,lu}.d */
    F1(0xc2100053),
    F1(0xc2200053),
    F1(0xc2300053),
    F1(0xd2000053), /* fcvt.d.{w,wu,l,lu} */
    F1(0xd2100053),
    F1(0xd2200053),
    F1(0xd2300053),
    F1(0x40100053), /* fcvt.s.d */
    F1(0x42000053), /* fcvt.d.s */
    U1(0xe0000053), /* fmv.x.w fmv.w.x fmv.x.d fmv.d.x */
    U1(0xf0000053),
    U1(0xe2000053),
    U1(0xf2000053),
    FX(0xa0000053), /* fle flt feq .s .d */
    FX(0xa0001053),
    FX(0xa0002053),
    FX(0xa2000053),
    FX(0xa2001053),
    FX(0xa2002053),
    U1(0xe0001053), /* fclass.s .d */
    U1(0xe2001053),
    /* A: lr sc amoswap amoadd amoxor amoand amoor amomin amomax amominu amomaxu, .w .d */
    {0x1000202f, 0xf9f0707f, T_PLAIN},
    AMO(0x1800202f),
    AMO(0x0800202f),
    AMO(0x0000202f),
    AMO(0x2000202f),
    AMO(0x6000202f),
    AMO(0x4000202f),
    AMO(0x8000202f),
    AMO(0xa000202f),
    AMO(0xc000202f),
    AMO(0xe000202f),
    {0x1000302f, 0xf9f0707f, T_PLAIN},
    AMO(0x1800302f),
    AMO(0x0800302f),
    AMO(0x0000302f),
    AMO(0x2000302f),
    AMO(0x6000302f),
    AMO(0x4000302f),
    AMO(0x8000302f),
    AMO(0xa000302f),
    AMO(0xc000302f),
    AMO(0xe000302f),
    /* C, quadrant 0 */
    C(0x0000, T_C), /* c.addi4spn */
    C(0x2000, T_C), /* c.fld */
    C(0x4000, T_C), /* c.lw */
    C(0x6000, T_C), /* c.ld */
    C(0xa000, T_C), /* c.fsd */
    C(0xc000, T_C), /* c.sw */
    C(0xe000, T_C), /* c.sd */
    /* quadrant 1 */
    C(0x0001, T_C),        /* c.addi */
    C(0x2001, T_C),        /* c.addiw */
    C(0x4001, T_C),        /* c.li */
    C(0x6001, T_C),        /* c.lui, c.addi16sp */
    {0x8001, 0xec03, T_C}, /* c.srli */
    {0x8401, 0xec03, T_C}, /* c.srai */
    {0x8801, 0xec03, T_C}, /* c.andi */
    {0x8c01, 0xfc63, T_C}, /* c.sub c.xor c.or c.and c.subw c.addw */
    {0x8c21, 0xfc63, T_C},
    {0x8c41, 0xfc63, T_C},
    {0x8c61, 0xfc63, T_C},
    {0x9c01, 0xfc63, T_C},
    {0x9c21, 0xfc63, T_C},
    C(0xa001, T_CJ), /* c.j */
    C(0xc001, T_CB), /* c.beqz */
    C(0xe001, T_CB), /* c.bnez */
    /* quadrant 2 */
    C(0x0002, T_C), /* c.slli */
    C(0x2002, T_C), /* c.fldsp */
    C(0x4002, T_C), /* c.lwsp */
    C(0x6002, T_C), /* c.ldsp */
    C(0x8002, T_C), /* c.jr c.mv c.ebreak c.jalr c.add */
    C(0xa002, T_C), /* c.fsdsp */
    C(0xc002, T_C), /* c.swsp */
    C(0xe002, T_C), /* c.sdsp */
};

/* CSR numbers a csr* instruction mostly names: every one the guest has, and a few it lacks. */
static const uint16_t csrs[] = {
    0x001, 0x002, 0x003, 0x100, 0x104, 0x105, 0x106, 0x10a, 0x140, 0x141, 0x142,
    0x143, 0x144, 0x14d, 0x180, 0xc00, 0xc01, 0xc02, 0xc03, 0x200, 0x600, 0x300,
    0x7c0, 0x5c0, 0xc80, 0x020, 0xdc0, 0x010, 0x105, 0x140, 0x100, 0x003,
};

static uint32_t b_imm(int32_t off)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 12) & 1) << 31 | ((o >> 5) & 0x3f) << 25 | ((o >> 1) & 0xf) << 8 |
           ((o >> 11) & 1) << 7;
}

static uint32_t j_imm(int32_t off)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 20) & 1) << 31 | ((o >> 1) & 0x3ff) << 21 | ((o >> 11) & 1) << 20 |
           ((o >> 12) & 0xff) << 12;
}

static uint32_t cj_imm(int32_t off)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 11) & 1) << 12 | ((o >> 4) & 1) << 11 | ((o >> 8) & 3) << 9 |
           ((o >> 10) & 1) << 8 | ((o >> 6) & 1) << 7 | ((o >> 7) & 1) << 6 | ((o >> 1) & 7) << 3 |
           ((o >> 5) & 1) << 2;
}

static uint32_t cb_imm(int32_t off)
{
    uint32_t o = (uint32_t)off;
    return ((o >> 8) & 1) << 12 | ((o >> 3) & 3) << 10 | ((o >> 6) & 3) << 5 | ((o >> 1) & 3) << 3 |
           ((o >> 5) & 1) << 2;
}

static uint32_t mix32(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x7feb352d;
    x ^= x >> 15;
    x *= 0x846ca68b;
    x ^= x >> 16;
    return x;
}

/* A branch or jump offset: mostly short and forward, sometimes back, sometimes anything. */
static int32_t pick_offset(uint32_t h, int32_t any)
{
    switch (h & 15) {
    case 0: return any;
    case 1: return -2 * (int32_t)(1 + (h >> 4) % 8);
    default: return 2 * (int32_t)(1 + (h >> 4) % 24);
    }
}

/* The instruction for template t with free fields r: its length in bytes, bits in *out. */
static unsigned instantiate(const struct tmpl *t, uint32_t r, uint32_t *out)
{
    uint32_t h = mix32(r);
    if (t->kind >= T_C) {
        uint32_t w = ((r & 0xffff) & ~t->mask) | t->match;
        if (t->kind == T_CJ)
            w = (w & ~0x1ffcu) | cj_imm(pick_offset(h, (int32_t)(h >> 20) - 2048) & ~1);
        else if (t->kind == T_CB)
            w = (w & ~0x1c7cu) | cb_imm(pick_offset(h, (int32_t)(h >> 23) - 256) & ~1);
        *out = w & 0xffff;
        return 2;
    }
    uint32_t w = (r & ~t->mask) | t->match;
    switch (t->kind) {
    case T_BRANCH:
        w = (w & ~0xfe000f80u) | b_imm(pick_offset(h, (int32_t)(h >> 19) - 4096) & ~1);
        break;
    case T_JAL:
        w = (w & ~0xfffff000u) | j_imm(pick_offset(h, (int32_t)(h >> 11) - (1 << 20)) & ~1);
        break;
    case T_IMM:
        if (h & 3)
            w = (w & ~0xfff00000u) | (((h >> 8) % 64 - 16) & 0xfffu) << 20;
        break;
    case T_STORE:
        if (h & 3) {
            uint32_t imm = ((h >> 8) % 64 - 16) & 0xfffu;
            w = (w & ~0xfe000f80u) | (imm >> 5) << 25 | (imm & 0x1f) << 7;
        }
        break;
    case T_CSR:
        if (h & 7)
            w = (w & ~0xfff00000u) | (uint32_t)csrs[(h >> 8) % COUNT(csrs)] << 20;
        break;
    case T_FP: {
        unsigned rm = (w >> 12) & 7;
        if ((rm == 5 || rm == 6) && (h & 3))
            w = (w & ~0x7000u) | 7u << 12;
        break;
    }
    }
    *out = w;
    return 4;
}

struct program {
    uint8_t code[CODE_BYTES];
    uint64_t entry, start, vsepc, x[32], f[32]; /* entry: where the code is; start: its VA */
    uint8_t hdr[8];
    unsigned items;
    uint64_t t0;
};

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static uint64_t reg_value(uint8_t s, const uint64_t pool[8])
{
    static const uint64_t special[8] = {
        0, 1, ~0ull, 1ull << 63, ~0ull >> 1, 0x80000000ull, 0xffffffffull, 0x7fffffffull};
    switch (s >> 5) {
    case 0:
    case 1: return pool[s & 7];
    case 2: return DATA_GPA + (s & 31) * 64u;                         /* into the data pages */
    case 3: return DATA_GPA + 2 * PAGE - 16 + (s & 31);               /* near the read-only page */
    case 4: return (uint64_t)(int64_t)(int8_t)(uint8_t)(s << 3) >> 3; /* -16..15 */
    case 5: { /* into the vPLIC: priorities, pending, enables, threshold, claim */
        static const uint32_t regs[8] = {0x4,    0x8,    0x7c,     0x1000,
                                         0x2000, 0x2004, 0x200000, 0x200004};
        return PLIC_GPA + regs[s & 7] + (s >> 3 & 3);
    }
    case 6: return CODE_GPA + (s & 31) * 4u; /* for jalr */
    default: return special[s & 7];
    }
}

static uint64_t fpr_value(uint8_t s, const uint64_t pool[8])
{
    static const uint64_t doubles[8] = {0,
                                        1ull << 63,
                                        0x7ff0000000000000ull,
                                        0xfff0000000000000ull,
                                        0x7ff8000000000000ull,
                                        0x7ff0000000000001ull,
                                        0x3ff0000000000000ull,
                                        1};
    static const uint32_t singles[8] = {0,           0x80000000u, 0x7f800000u, 0xff800000u,
                                        0x7fc00000u, 0x7f800001u, 0x3f800000u, 1};
    switch (s >> 6) {
    case 0: return pool[s & 7];
    case 1: return 0xffffffff00000000ull | (uint32_t)pool[s & 7]; /* NaN-boxed single */
    case 2: return doubles[s & 7];
    default: /* a boxed single, or a badly boxed one */
        return ((s & 8) ? 0xffffffff00000000ull : 0x00000000ffff0000ull) | singles[s & 7];
    }
}

static void build(struct program *p, const uint8_t *data, size_t size)
{
    memset(p, 0, sizeof(*p));
    memcpy(p->hdr, data, 8);
    uint64_t pool[8];
    for (unsigned i = 0; i < 8; i++)
        pool[i] = le64(data + POOL + 8 * i);
    for (unsigned r = 1; r < 32; r++)
        p->x[r] = reg_value(data[SEL_X + r - 1], pool);
    for (unsigned r = 0; r < 32; r++)
        p->f[r] = fpr_value(data[SEL_F + r], pool);
    p->entry = CODE_GPA + 32u * (data[7] % 128);
    p->start = p->entry;
    if ((data[0] & 7) == 7) /* VU under Sv39 from the U alias */
        p->start -= GUEST_BASE;
    p->vsepc = CODE_GPA + 4u * data[6];

    for (unsigned i = 0; i < CODE_BYTES; i += 4)
        memcpy(p->code + i, &(uint32_t){ECALL}, 4);
    size_t at = p->entry - CODE_GPA;
    for (size_t pos = HDR; pos + 5 <= size && p->items < MAX_ITEMS; pos += 5) {
        uint32_t r = (uint32_t)data[pos + 1] | (uint32_t)data[pos + 2] << 8 |
                     (uint32_t)data[pos + 3] << 16 | (uint32_t)data[pos + 4] << 24;
        uint32_t w = r;
        unsigned len = 4;
        if (data[pos] < RAW_BELOW)
            len = instantiate(&templates[data[pos] % COUNT(templates)], r, &w);
        if (at + len > CODE_BYTES - 4)
            break; /* keep an ecall at the very end */
        memcpy(p->code + at, &w, len);
        at += len;
        p->items++;
    }
    if (at % 4) /* then a c.nop, so the ecalls after it are aligned */
        memcpy(p->code + at, &(uint16_t){0x0001}, 2);

    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < size; i++)
        h = (h ^ data[i]) * 0x100000001b3ull;
    p->t0 = (1ull << 60) + (h >> 8);
}

/* --- machines ----------------------------------------------------------------------- */

struct vm {
    struct dv_engine_config engine;
    struct dv_machine *m;
    struct dv_hart *h;
    struct gstage *g[2]; /* the same map as Sv39x4 and as Sv48x4 */
    uint8_t *ram;        /* RAM_SIZE bytes between guard pages */
};

static void fail_csr(const char *what, unsigned csr, int rc)
{
    fprintf(stderr, "fuzz_hart: %s %#x: %d\n", what, csr, rc);
    abort();
}

static uint64_t csr(struct dv_hart *h, unsigned n)
{
    uint64_t v = 0;
    int rc = dv_csr_read(h, n, &v);
    if (rc != DV_OK)
        fail_csr("dv_csr_read", n, rc);
    return v;
}

static void csr_set(struct dv_hart *h, unsigned n, uint64_t v)
{
    int rc = dv_csr_write(h, n, v);
    if (rc != DV_OK)
        fail_csr("dv_csr_write", n, rc);
}

/*
 * The guest's trap handler (VS mode, at vstvec). It keeps every register but
 * sscratch (which ends up holding HDATA_GPA), counts traps at HDATA + 8, and
 * steps sepc over the trapping instruction (2 or 4 bytes, from its low bits)
 * and returns; interrupts return to sepc as it is. It ends the run with an
 * ecall on the 64th trap, on an ecall from VU and on a trap inside itself (a
 * VU page it cannot read, say).
 *
 *      csrrw t6,sscratch,t6;  lui t6,0x80007;  slli t6,t6,32;  srli t6,t6,32
 *      sd t5,0(t6);  ld t5,8(t6);  addi t5,t5,1;  sd t5,8(t6)
 *      addi t5,t5,-64;  bgez t5,leave
 *      csrr t5,scause;  bltz t5,back;  addi t5,t5,-8;  beqz t5,leave
 *      csrr t5,sepc;  srli t5,t5,12;  srli t6,t6,12;  sub t5,t5,t6;  slli t6,t6,12
 *      addi t5,t5,5;  beqz t5,leave
 *      csrr t5,sepc;  lhu t5,0(t5);  andi t5,t5,3;  addi t5,t5,-3;  seqz t5,t5
 *      slli t5,t5,1;  addi t5,t5,2;  csrr t6,sepc;  add t6,t6,t5;  csrw sepc,t6
 *      lui t6,0x80007;  slli t6,t6,32;  srli t6,t6,32
 * back:  ld t5,0(t6);  csrrw t6,sscratch,t6;  sret
 * leave: ld t5,0(t6);  csrrw t6,sscratch,t6;  ecall
 */
static const uint32_t handler[] = {
    0x140f9ff3, 0x80007fb7, 0x020f9f93, 0x020fdf93, 0x01efb023, 0x008fbf03, 0x001f0f13, 0x01efb423,
    0xfc0f0f13, 0x060f5863, 0x14202f73, 0x040f4e63, 0xff8f0f13, 0x060f0063, 0x14102f73, 0x00cf5f13,
    0x00cfdf93, 0x41ff0f33, 0x00cf9f93, 0x005f0f13, 0x040f0263, 0x14102f73, 0x000f5f03, 0x003f7f13,
    0xffdf0f13, 0x001f3f13, 0x001f1f13, 0x002f0f13, 0x14102ff3, 0x01ef8fb3, 0x141f9073, 0x80007fb7,
    0x020f9f93, 0x020fdf93, 0x000fbf03, 0x140f9ff3, 0x10200073, 0x000fbf03, 0x140f9ff3, 0x00000073,
};
_Static_assert(HDATA_GPA == 0x80007000u, "the handler's lui");
_Static_assert(HDATA_GPA - HANDLER_GPA == 5 * PAGE, "the handler's page test");

static void fill_ram(uint8_t *ram, const struct program *p)
{
    memset(ram, 0, RAM_SIZE);
    memcpy(ram, p->code, CODE_BYTES);
    for (unsigned i = 0; i < PAGE; i += 4)
        memcpy(ram + (HANDLER_GPA - GUEST_BASE) + i, &(uint32_t){ECALL}, 4);
    memcpy(ram + (HANDLER_GPA - GUEST_BASE), handler, sizeof handler);
    uint64_t s = p->t0;
    for (uint64_t a = DATA_GPA; a < PT_GPA; a += 8) { /* data and read-only pages: noise */
        s += 0x9e3779b97f4a7c15ull;
        uint64_t z = s;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        z ^= z >> 31;
        memcpy(ram + (a - GUEST_BASE), &z, 8);
    }
    /* Sv39 root: VA 0x80000000.. (VPN[2] = 2) is an identity gigapage for
       VS, VA 0.. (VPN[2] = 0) the same RAM for VU, its A and D bits clear
       unless the input sets them (then the walk sets them). */
    uint64_t pte = (GUEST_BASE >> 12) << 10 | 0xf | 3u << 6; /* V R W X, A D */
    memcpy(ram + (PT_GPA - GUEST_BASE) + 2 * 8, &pte, 8);
    pte = (GUEST_BASE >> 12) << 10 | 0xf | 1u << 4 | ((p->hdr[0] & 8) ? 3u << 6 : 0);
    memcpy(ram + (PT_GPA - GUEST_BASE), &pte, 8);
}

static void map(struct gstage *g, uint8_t *ram, uint64_t gpa, unsigned pages, unsigned perms)
{
    if (gstage_map(g, gpa, ram + (gpa - GUEST_BASE), (uint64_t)pages * PAGE, perms) != 0)
        abort();
}

/* A machine with one hart on its own RAM and G-stage tables, on this engine. */
static struct vm *vm_new(const struct dv_engine_config *engine)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        abort();
    vm->engine = *engine;
    vm->ram = xmalloc_guarded(RAM_SIZE);
    vm->m = dv_machine_create(1);
    if (!vm->m || dv_machine_set_engine(vm->m, engine) != DV_OK ||
        dv_machine_add_window(vm->m, vm->ram, RAM_SIZE) != DV_OK ||
        dv_machine_set_plic(vm->m, PLIC_GPA, PLIC_SRCS) != DV_OK)
        abort();
    const unsigned rwx = GSTAGE_R | GSTAGE_W | GSTAGE_X;
    for (unsigned k = 0; k < 2; k++) {
        struct gstage *g = gstage_create(k ? DV_HUGATP_MODE_SV48X4 : DV_HUGATP_MODE_SV39X4);
        if (!g)
            abort();
        map(g, vm->ram, CODE_GPA, 2, rwx);
        map(g, vm->ram, HANDLER_GPA, 1, GSTAGE_R | GSTAGE_X);
        map(g, vm->ram, DATA_GPA, 2, rwx);
        map(g, vm->ram, RODATA_GPA, 1, GSTAGE_R);
        map(g, vm->ram, PT_GPA, 2, GSTAGE_R | GSTAGE_W);
        vm->g[k] = g;
    }
    vm->h = dv_hart_create(vm->m, 0);
    if (!vm->h)
        abort();
    return vm;
}

static void vm_free(struct vm *vm)
{
    dv_hart_destroy(vm->h);
    dv_machine_destroy(vm->m);
    gstage_destroy(vm->g[0]);
    gstage_destroy(vm->g[1]);
    munmap(vm->ram - PAGE, RAM_SIZE + 2 * PAGE);
    free(vm);
}

/*
 * p's RAM and registers, on a machine new or used before: every CSR the
 * comparison looks at (and every one that decides what the guest does) is
 * written, the caches that translation fills are fenced, the LR reservation
 * dropped, and the RAM rewrite reported, so translated code from earlier
 * inputs is stale (the JIT must never run it again).
 */
static void vm_prepare(struct vm *vm, const struct program *p)
{
    const uint8_t *hd = p->hdr;
    struct dv_hart *h = vm->h;
    fill_ram(vm->ram, p);
    dv_mem_written(vm->m, vm->ram, RAM_SIZE);
    static struct dv_plic_state plic; /* all zero: what a new vPLIC holds */
    plic.nsources = PLIC_SRCS;
    plic.ncontexts = 1;
    if (dv_plic_set_state(vm->m, &plic) != DV_OK)
        abort();
    csr_set(h, DV_CSR_HUGATP, gstage_hugatp(vm->g[(hd[1] & 4) ? 1 : 0], 1));
    dv_hufence_gvma(h);
    dv_hufence_vvma(h);
    dv_fence_i(h);
    h->resv_valid = false; /* no API drops it: an earlier input's LR */
    csr_set(h, DV_CSR_HUSTATUS,
            DV_HUSTATUS_SPV | ((hd[0] & 1) ? 0 : DV_HUSTATUS_SPVP) | DV_HUSTATUS_VTW |
                ((hd[0] & 16) ? DV_HUSTATUS_VTSR : 0) | ((hd[0] & 32) ? DV_HUSTATUS_VTVM : 0));
    csr_set(h, DV_CSR_HUCOUNTEREN, HUCOUNTEREN);
    csr_set(h, DV_CSR_HUIE, DV_HUIP_UTIP);
    csr_set(h, DV_CSR_HUIP, 0);
    csr_set(h, DV_CSR_VTIMECTL, DV_VTIMECTL_ENABLE | DV_VTIMECTL_UTIP);
    csr_set(h, DV_CSR_VTIMECMP, ~0ull);
    static const unsigned zeroed[] = {DV_CSR_UCAUSE,        DV_CSR_UTVAL,     DV_CSR_HUTVAL,
                                      DV_CSR_HUTINST,       DV_CSR_HUVSCAUSE, DV_CSR_HUVSTVAL,
                                      DV_CSR_GUEST_INSTRET, DV_CSR_USCRATCH,  DV_CSR_UTVEC};
    for (unsigned i = 0; i < COUNT(zeroed); i++)
        csr_set(h, zeroed[i], 0);
    csr_set(h, DV_CSR_HUVSTVEC, HANDLER_GPA);
    csr_set(h, DV_CSR_HUVSSTATUS,
            (uint64_t)(hd[1] & 3) << 13 | ((hd[0] & 64) ? 1ull << 18 : 0) |
                ((hd[0] & 128) ? 1ull << 19 : 0) | ((hd[1] & 64) ? 2u : 0) |
                ((hd[6] & 1) ? 1u << 8 : 0) | ((hd[6] & 2) ? 1u << 5 : 0));
    csr_set(h, DV_CSR_HUVSATP, (hd[0] & 2) ? 8ull << 60 | PT_GPA >> 12 : 0);
    csr_set(h, DV_CSR_HUVSIE,
            ((hd[5] & 1) ? 2u : 0) | ((hd[5] & 2) ? 32u : 0) | ((hd[5] & 4) ? 512u : 0));
    csr_set(h, DV_CSR_HUVIP, (hd[1] & 8) ? DV_HUVIP_VSSIP : 0);
    csr_set(h, DV_CSR_HUVSTIMECMP, (hd[1] & 128) ? 0 : ~0ull);
    csr_set(h, DV_CSR_HUVSEPC, p->vsepc);
    csr_set(h, DV_CSR_HUVSSCRATCH, p->x[5] ^ p->f[5]);
    csr_set(h, DV_CSR_GUEST_SCOUNTEREN, hd[4]);
    csr_set(h, DV_CSR_GUEST_SENVCFG, hd[5] >> 7);
    csr_set(h, DV_CSR_FCSR, hd[2]);
    csr_set(h, DV_CSR_UEPC, p->start);
    for (unsigned r = 1; r < 32; r++)
        dv_gpr_set(h, r, p->x[r]);
    for (unsigned r = 0; r < 32; r++)
        dv_fpr_set(h, r, p->f[r]);
}

/* B's engine for p: the JIT, with p's threshold and region size. */
static struct dv_engine_config jit_engine(const struct program *p)
{
    static const unsigned regions[] = {1, 2, 3, 7, 16, 64, 128};
    return (struct dv_engine_config){.jit = true,
                                     .threshold = 1u + (p->hdr[1] >> 4 & 1),
                                     .max_region = regions[p->hdr[3] % COUNT(regions)]};
}

/* Machines are kept from input to input (a new JIT costs more than most runs),
   one per engine configuration, for MACHINE_LIFE inputs: then new ones, so a
   difference never needs more history than that, and no code page is
   rewritten often enough for the JIT to leave it to the interpreter (it does
   after 64 rewrites in 250 ms). DUVISOR_FUZZ_FRESH=1 makes new machines for
   every input; a difference seen on used machines is tried on new ones before
   it is reported, so a crash file reproduces alone whenever it can. */
#define MACHINE_LIFE 32u
static struct vm *pool[16];
static unsigned npool;
static int fresh = -1;

static void pool_drop(void)
{
    while (npool > 0)
        vm_free(pool[--npool]);
}

static struct vm *vm_get(const struct dv_engine_config *c)
{
    for (unsigned i = 0; i < npool; i++) {
        const struct dv_engine_config *e = &pool[i]->engine;
        if (e->jit == c->jit && e->threshold == c->threshold && e->max_region == c->max_region)
            return pool[i];
    }
    if (npool == COUNT(pool))
        abort();
    return pool[npool++] = vm_new(c);
}

enum outcome { EXITED, RUNAWAY };

struct result {
    enum outcome outcome;
    uint64_t cause;
};

/* Guest time starts at t0. */
static void start_clock(struct vm *vm, uint64_t t0)
{
    csr_set(vm->h, DV_CSR_HUTIMEDELTA, t0 - dv_host_time());
}

/* Run until the next exit that is not the harness's tick, or until the budget:
   stop at a tick once instret reaches stop_instret or *ticks reaches max_ticks. */
static struct result run(struct vm *vm, uint64_t stop_instret, unsigned max_ticks, unsigned *ticks)
{
    struct dv_hart *h = vm->h;
    /* the other machine ran meanwhile: only this one's own time counts */
    csr_set(h, DV_CSR_VTIMECMP, dv_host_time() + csr(h, DV_CSR_HUTIMEDELTA) + TICK);
    for (;;) {
        uint64_t cause = dv_enter(h);
        if (cause != DV_EXIT_UTIP)
            return (struct result){EXITED, cause};
        if (++*ticks >= max_ticks || dv_instret(h) >= stop_instret)
            return (struct result){RUNAWAY, cause};
        csr_set(h, DV_CSR_VTIMECMP, dv_host_time() + csr(h, DV_CSR_HUTIMEDELTA) + TICK);
    }
}

/* What a hypervisor does about an exit, decided from A's state (B's is the same
   once compared) and done in both: false when the exit ends the program. A
   virtual instruction is stepped over; so is a load or store outside RAM (an
   "MMIO" access: a load gets a value made from the exit's number). */
static bool handle_exit(struct vm *vms[], unsigned n, uint64_t cause, unsigned exit_no)
{
    struct dv_hart *a = vms[0]->h;
    unsigned len;
    uint32_t tinst = (uint32_t)csr(a, DV_CSR_HUTINST);
    switch (cause) {
    case DV_EXIT_VIRTUAL_INSTRUCTION: len = (csr(a, DV_CSR_UTVAL) & 3) == 3 ? 4 : 2; break;
    case DV_EXIT_LOAD_GUEST_PAGE_FAULT:
    case DV_EXIT_STORE_GUEST_PAGE_FAULT:
        /* hutinst: the transformed load or store, bit 1 clear for a compressed one;
           0 or a pseudo-instruction (the guest's own page-table walk) cannot be stepped */
        if (tinst == 0 || tinst == DV_HUTINST_PTE_READ || tinst == DV_HUTINST_PTE_WRITE)
            return false;
        len = (tinst & 2) ? 4 : 2;
        break;
    default: return false;
    }
    uint64_t value = 0x5a5a5a5a00000000ull ^ (uint64_t)exit_no * 0x9e3779b97f4a7c15ull;
    unsigned opcode = tinst & 0x7d, rd = (tinst >> 7) & 31;
    for (unsigned k = 0; k < n; k++) {
        struct dv_hart *h = vms[k]->h;
        if (cause == DV_EXIT_LOAD_GUEST_PAGE_FAULT && opcode == 0x01) /* LOAD */
            dv_gpr_set(h, rd, value);
        else if (cause == DV_EXIT_LOAD_GUEST_PAGE_FAULT && opcode == 0x05) /* LOAD-FP */
            dv_fpr_set(h, rd, value);
        csr_set(h, DV_CSR_UEPC, csr(h, DV_CSR_UEPC) + len);
    }
    return true;
}

/* --- comparing ------------------------------------------------------------------------ */

static const struct {
    const char *name;
    unsigned csr;
} compared_csrs[] = {
    {"ucause", DV_CSR_UCAUSE},
    {"uepc", DV_CSR_UEPC},
    {"utval", DV_CSR_UTVAL},
    {"hutval", DV_CSR_HUTVAL},
    {"hutinst", DV_CSR_HUTINST},
    {"hustatus", DV_CSR_HUSTATUS},
    {"vsstatus", DV_CSR_HUVSSTATUS},
    {"vsie", DV_CSR_HUVSIE},
    {"vstvec", DV_CSR_HUVSTVEC},
    {"vsscratch", DV_CSR_HUVSSCRATCH},
    {"vsepc", DV_CSR_HUVSEPC},
    {"vscause", DV_CSR_HUVSCAUSE},
    {"vstval", DV_CSR_HUVSTVAL},
    {"vsatp", DV_CSR_HUVSATP},
    {"stimecmp", DV_CSR_HUVSTIMECMP},
    {"scounteren", DV_CSR_GUEST_SCOUNTEREN},
    {"senvcfg", DV_CSR_GUEST_SENVCFG},
    {"huvip", DV_CSR_HUVIP},
    {"fcsr", DV_CSR_FCSR},
    {"instret", DV_CSR_GUEST_INSTRET},
};

enum {
    ST_CAUSE = COUNT(compared_csrs),
    ST_X = ST_CAUSE + 1, /* x1..x31 */
    ST_F = ST_X + 31,    /* f0..f31 */
    ST_N = ST_F + 32,
};

struct state {
    uint64_t v[ST_N];
};

static void take_state(struct vm *vm, uint64_t cause, struct state *s)
{
    for (unsigned i = 0; i < COUNT(compared_csrs); i++)
        s->v[i] = csr(vm->h, compared_csrs[i].csr);
    s->v[ST_CAUSE] = cause;
    for (unsigned r = 1; r < 32; r++)
        s->v[ST_X + r - 1] = dv_gpr_get(vm->h, r);
    for (unsigned r = 0; r < 32; r++)
        s->v[ST_F + r] = dv_fpr_get(vm->h, r);
}

static void field_name(unsigned i, char *buf, size_t len)
{
    if (i < COUNT(compared_csrs))
        snprintf(buf, len, "%s", compared_csrs[i].name);
    else if (i == ST_CAUSE)
        snprintf(buf, len, "dv_enter()");
    else if (i < ST_F)
        snprintf(buf, len, "x%u", i - ST_X + 1);
    else
        snprintf(buf, len, "f%u", i - ST_F);
}

static void print_states(FILE *f, const struct state *a, const struct state *b)
{
    fprintf(f, "  %-12s %-18s %-18s\n", "", "interpreter", "JIT");
    for (unsigned i = 0; i < ST_N; i++) {
        char name[16];
        field_name(i, name, sizeof name);
        fprintf(f, "  %-12s %016" PRIx64 "   %016" PRIx64 "%s\n", name, a->v[i], b->v[i],
                a->v[i] != b->v[i] ? "   <--" : "");
    }
}

static void print_code(FILE *f, const struct program *p)
{
    fprintf(f, "  code at %#" PRIx64 " (%u items; the rest is ecalls), entered at %#" PRIx64 ":\n",
            p->entry, p->items, p->start);
    size_t at = p->entry - CODE_GPA;
    for (unsigned i = 0; i < p->items + 1 && at + 2 <= CODE_BYTES; i++) {
        uint32_t w = 0;
        unsigned len = (p->code[at] & 3) == 3 ? 4 : 2;
        memcpy(&w, p->code + at, len);
        fprintf(f, "    %#" PRIx64 ": %0*" PRIx32 "\n", CODE_GPA + at, (int)len * 2, w);
        at += len;
    }
}

static void check_x0(struct vm *vm, const char *engine)
{
    if (vm->h->x[0] != 0) {
        fprintf(stderr, "fuzz_hart: %s: x0 is %#" PRIx64 "\n", engine, vm->h->x[0]);
        abort();
    }
}

static struct program prog;
static char *report; /* the first difference, for the caller to print */

/* A and B after the same exit: equal in everything, RAM included; false with
   `report` written at the first difference. */
static bool compare(struct vm *a, struct vm *b, unsigned exit_no, uint64_t cause_a,
                    struct result rb)
{
    struct state sa, sb;
    char what[160] = "";
    take_state(a, cause_a, &sa);
    take_state(b, rb.cause, &sb);
    if (rb.outcome != EXITED)
        snprintf(what, sizeof what, "the JIT ran past the interpreter's exit");
    for (unsigned i = 0; i < ST_N && !what[0]; i++) {
        if (sa.v[i] != sb.v[i]) {
            char name[16];
            field_name(i, name, sizeof name);
            snprintf(what, sizeof what, "%s", name);
        }
    }
    if (!what[0] && memcmp(a->ram, b->ram, RAM_SIZE) != 0) {
        size_t i = 0;
        while (a->ram[i] == b->ram[i])
            i++;
        i &= ~(size_t)7;
        uint64_t wa, wb;
        memcpy(&wa, a->ram + i, 8);
        memcpy(&wb, b->ram + i, 8);
        snprintf(what, sizeof what,
                 "RAM at %#" PRIx64 ": interpreter %016" PRIx64 ", JIT %016" PRIx64, GUEST_BASE + i,
                 wa, wb);
    }
    if (!what[0])
        return true;
    size_t len;
    FILE *f = open_memstream(&report, &len);
    if (!f)
        abort();
    fprintf(f,
            "fuzz_hart: the JIT (threshold %u, max_region %u) differs from the interpreter at "
            "exit %u: %s\n",
            b->engine.threshold, b->engine.max_region, exit_no, what);
    print_states(f, &sa, &sb);
    print_code(f, &prog);
    fclose(f);
    return false;
}

/* Run prog on A (the interpreter) and B (the JIT), exit by exit; false with
   `report` written if they differ. */
static bool run_both(bool fresh_machines)
{
    bool jit = dv_jit_supported();
    struct dv_engine_config ea = {.jit = false, .threshold = 1, .max_region = 1};
    struct dv_engine_config eb = jit_engine(&prog);
    struct vm *a = fresh_machines ? vm_new(&ea) : vm_get(&ea);
    struct vm *b = !jit ? NULL : fresh_machines ? vm_new(&eb) : vm_get(&eb);
    struct vm *vms[2] = {a, b};
    unsigned n = jit ? 2 : 1, ticks_a = 0, ticks_b = 0;
    bool same = true;

    vm_prepare(a, &prog);
    start_clock(a, prog.t0);
    if (b) {
        vm_prepare(b, &prog);
        start_clock(b, prog.t0);
    }
    for (unsigned exit_no = 1; same; exit_no++) {
        struct result ra = run(a, INSN_BUDGET, MAX_TICKS, &ticks_a);
        check_x0(a, "interpreter");
        uint64_t stimecmp = csr(a->h, DV_CSR_HUVSTIMECMP);
        /* a deadline the run may have reached part-way: when it fired depends on speed */
        bool timed = stimecmp > prog.t0 && stimecmp - prog.t0 <= 100000000ull;
        if (verbose)
            fprintf(stderr,
                    "fuzz_hart: %u items, exit %u: interpreter %s, cause %#" PRIx64
                    ", uepc %#" PRIx64 ", instret %" PRIu64 ", %u ticks%s\n",
                    prog.items, exit_no, ra.outcome == EXITED ? "exit" : "runaway", ra.cause,
                    csr(a->h, DV_CSR_UEPC), dv_instret(a->h), ticks_a,
                    timed ? "; stimecmp near T0: not compared" : "");
        if (b && (ra.outcome == RUNAWAY || timed)) {
            run(b, INSN_BUDGET, ticks_b + 1, &ticks_b); /* for crashes only */
            check_x0(b, "JIT");
            break;
        }
        if (ra.outcome == RUNAWAY)
            break;
        if (b) {
            struct result rb = run(b, dv_instret(a->h) + 1, JIT_TICKS, &ticks_b);
            check_x0(b, "JIT");
            same = compare(a, b, exit_no, ra.cause, rb);
        }
        if (exit_no == MAX_EXITS || !handle_exit(vms, n, ra.cause, exit_no))
            break;
    }
    if (fresh_machines) {
        vm_free(a);
        if (b)
            vm_free(b);
    }
    return same;
}

/* The inputs the machines ran before this one, for a difference that needs them. */
static struct {
    uint8_t data[4096];
    size_t size;
} history[MACHINE_LIFE];
static unsigned inputs_run; /* on the machines in the pool */

static void print_history(void)
{
    for (unsigned k = 0; k < inputs_run; k++) {
        fprintf(stderr, "fuzz_hart: input %u of %u before (%zu bytes): ", k + 1, inputs_run,
                history[k].size);
        for (size_t i = 0; i < history[k].size; i++)
            fprintf(stderr, "%02x", history[k].data[i]);
        fprintf(stderr, "\n");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HDR)
        return 0;
    if (verbose < 0) {
        verbose = getenv("DUVISOR_FUZZ_VERBOSE") != NULL;
        const char *f = getenv("DUVISOR_FUZZ_FRESH");
        fresh = f && strcmp(f, "0") != 0;
    }
    build(&prog, data, size);
    if (!run_both(fresh)) {
        if (!fresh) {
            /* machines used by earlier inputs: does the input do it alone? */
            char *first = report;
            report = NULL;
            if (run_both(true)) {
                fputs(first, stderr);
                fprintf(stderr,
                        "fuzz_hart: ... but not on new machines: it needs what the %u "
                        "inputs before it left in the machines (they follow, in order; "
                        "DUVISOR_FUZZ_FRESH=1 makes every run use new machines)\n",
                        inputs_run);
                print_history();
                abort();
            }
            free(first);
        }
        fputs(report, stderr);
        abort();
    }
    if (fresh)
        return 0;
    size_t kept = size < sizeof history[0].data ? size : sizeof history[0].data;
    memcpy(history[inputs_run].data, data, kept);
    history[inputs_run].size = kept;
    if (++inputs_run == MACHINE_LIFE) {
        pool_drop();
        inputs_run = 0;
    }
    return 0;
}
