/*
 * Hart only (it runs in VS mode and takes its own traps): vsstatus.VS, the
 * vector CSRs, vsetvl's AVL rules and vill, and vstart with arithmetic.
 * test_vector.c compares its output with what the spec says.
 */
#include "rt.h"

uint64_t trapinfo[3]; /* last scause, a scratch slot, count */

__asm__(".align 4\n"
        "vtrap:\n"
        "csrw sscratch, t0\n"
        "la t0, trapinfo\n"
        "sd t1, 8(t0)\n"
        "csrr t1, scause\n"
        "sd t1, 0(t0)\n"
        "ld t1, 16(t0)\n"
        "addi t1, t1, 1\n"
        "sd t1, 16(t0)\n"
        "csrr t1, sepc\n"
        "addi t1, t1, 4\n"
        "csrw sepc, t1\n"
        "ld t1, 8(t0)\n"
        "csrr t0, sscratch\n"
        "sret\n");
extern char vtrap[];

static void line(const char *what, uint64_t v)
{
    puts_(what);
    putch(' ');
    puthex(v, 16);
    putch('\n');
}

/* Run text; report how many traps it took and the last cause. */
#define TRY(what, text)                                                                            \
    do {                                                                                           \
        trapinfo[2] = 0;                                                                           \
        trapinfo[0] = 0;                                                                           \
        __asm__ volatile(text ::: "memory", "t0", "t1");                                          \
        puts_(what);                                                                               \
        putch(' ');                                                                                \
        putdec(trapinfo[2]);                                                                       \
        putch(' ');                                                                                \
        putdec(trapinfo[0]);                                                                       \
        putch('\n');                                                                               \
    } while (0)

static uint64_t sstatus(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, sstatus" : "=r"(v));
    return v;
}

static uint64_t vsetvl_(uint64_t avl, uint64_t vtype)
{
    uint64_t vl;
    __asm__ volatile("vsetvl %0, %1, %2" : "=r"(vl) : "r"(avl), "r"(vtype));
    return vl;
}

static uint64_t vtype_(void)
{
    uint64_t v;
    __asm__ volatile("csrr %0, vtype" : "=r"(v));
    return v;
}

int main(void)
{
    __asm__ volatile("csrw stvec, %0" ::"r"(vtrap));
    /* VS Off: every vector instruction and vector CSR is illegal */
    __asm__ volatile("li t0, 0x600\ncsrc sstatus, t0" ::: "t0");
    line("off.sstatus.vs", (sstatus() >> 9) & 3);
    TRY("off.vsetvli", "vsetvli t0, zero, e8, m1, ta, ma");
    TRY("off.vadd", "vadd.vv v1, v2, v3");
    TRY("off.vle", "vle8.v v1, (sp)");
    TRY("off.vl1r", "vl1r.v v1, (sp)");
    TRY("off.csrr.vl", "csrr t0, vl");
    TRY("off.csrr.vlenb", "csrr t0, vlenb");
    TRY("off.csrw.vxrm", "csrwi vxrm, 1");
    TRY("off.csrr.vcsr", "csrr t0, vcsr");
    line("off.sstatus.vs", (sstatus() >> 9) & 3);
    /* Initial: an instruction makes it Dirty, with SD */
    __asm__ volatile("li t0, 0x200\ncsrs sstatus, t0" ::: "t0");
    line("initial.vs", (sstatus() >> 9) & 3);
    TRY("initial.vsetvli", "vsetvli t0, zero, e8, m1, ta, ma");
    line("dirty.vs", (sstatus() >> 9) & 3);
    line("dirty.sd", sstatus() >> 63);
    /* Clean: a CSR write makes it Dirty */
    __asm__ volatile("li t0, 0x600\ncsrc sstatus, t0\nli t0, 0x400\ncsrs sstatus, t0" ::: "t0");
    line("clean.vs", (sstatus() >> 9) & 3);
    line("clean.sd", sstatus() >> 63);
    TRY("clean.csrw", "csrwi vxrm, 2");
    line("clean.after.vs", (sstatus() >> 9) & 3);
    uint64_t v;
    __asm__ volatile("csrr %0, vcsr" : "=r"(v));
    line("vcsr", v);
    __asm__ volatile("csrwi vcsr, 7\ncsrr %0, vxsat" : "=r"(v));
    line("vxsat", v);
    __asm__ volatile("csrr %0, vxrm" : "=r"(v));
    line("vxrm", v);
    TRY("vl.write", "csrw vl, zero");
    TRY("vtype.write", "csrw vtype, zero");
    TRY("vlenb.write", "csrw vlenb, zero");
    __asm__ volatile("csrr %0, vlenb" : "=r"(v));
    line("vlenb", v);
    uint64_t vlenb = v;
    /* AVL rules */
    __asm__ volatile("vsetvli %0, zero, e32, m1, ta, ma" : "=r"(v));
    line("avl.x0.rd", v == vlenb / 4);
    __asm__ volatile("vsetivli zero, 3, e32, m1, ta, ma\nvsetvli zero, zero, e16, mf2, ta, ma\n"
                     "csrr %0, vl"
                     : "=r"(v));
    line("avl.keep", v);
    line("avl.big", vsetvl_(1000000, 0x18 /* e64 m1 */) == vlenb / 8);
    line("avl.exact", vsetvl_(2, 0x18));
    __asm__ volatile("vsetivli %0, 31, e8, m8, tu, mu" : "=r"(v));
    line("vsetivli", v);
    line("vtype.policy", (vsetvl_(1, 0xc0 | 0x18), vtype_()));
    /* vill */
    line("vill.lmul4", (vsetvl_(4, 4), vtype_()));
    __asm__ volatile("csrr %0, vl" : "=r"(v));
    line("vill.vl", v);
    line("vill.e64mf8", (vsetvl_(4, 0x1d), vtype_()));
    line("vill.e32mf4", (vsetvl_(4, 0x16), vtype_()));
    line("ok.e16mf4", (vsetvl_(4, 0x0e), vtype_()));
    line("vill.sew128", (vsetvl_(4, 0x20), vtype_()));
    line("vill.bit8", (vsetvl_(4, 0x100), vtype_()));
    line("vill.bit63", (vsetvl_(4, 1ull << 63), vtype_()));
    TRY("vill.vadd", "vadd.vv v1, v2, v3");
    TRY("vill.vle", "vle8.v v1, (sp)");
    TRY("vill.vl1r", "vl1r.v v1, (sp)");
    TRY("vill.vmv1r", "vmv1r.v v1, v2");
    /* vstart: arithmetic resumes there; reductions refuse it */
    static uint8_t buf[64];
    __asm__ volatile("vsetivli zero, 8, e8, m1, ta, ma\nvmv.v.i v1, 5\nvmv.v.i v2, 1\n"
                     "csrwi vstart, 3\nvadd.vv v1, v1, v2\nvse8.v v1, (%0)" ::"r"(buf)
                     : "memory");
    putbytes(buf, 8);
    putch('\n');
    __asm__ volatile("csrr %0, vstart" : "=r"(v));
    line("vstart.after", v);
    TRY("vstart.vredsum", "csrwi vstart, 1\nvredsum.vs v1, v2, v3");
    __asm__ volatile("csrr %0, vstart" : "=r"(v));
    line("vstart.kept", v);
    __asm__ volatile("csrwi vstart, 0");
    /* register-group rules */
    __asm__ volatile("vsetivli zero, 4, e8, m2, ta, ma");
    TRY("misaligned.group", ".insn r 0x57, 0, 0, x1, x2, x4"); /* vadd.vv v1, v4, v2 at m2 */
    TRY("masked.v0", "vadd.vv v0, v2, v4, v0.t");
    __asm__ volatile("vsetivli zero, 4, e8, m1, ta, ma");
    TRY("widen.overlap", "vwadd.vv v2, v2, v4");
    TRY("widen.ok.high", "vwadd.vv v2, v3, v4");
    TRY("slideup.overlap", "vslideup.vi v2, v2, 1");
    TRY("gather.overlap", "vrgather.vv v2, v3, v2");
    TRY("compress.masked", ".insn r 0x57, 2, 0x2e, x2, x3, x4"); /* vcompress, vm=0 */
    /* .rtz conversions equal the plain ones under frm = RTZ (QEMU 7.2 cannot run them) */
    static const float fin[8] = {2.5f, -2.5f, 1e10f, -1e10f, 0.75f, -0.0f, 65535.9f, 3e9f};
    static const double din[4] = {2.5, -3.75, 1e30, 123456789.99};
    static const char *const rtz_names[] = {"rtz.x.f", "rtz.xu.f", "rtz.wx.f", "rtz.wxu.f",
                                            "rtz.nx.f", "rtz.nxu.f", "rtz.n16.f"};
    for (unsigned k = 0; k < 7; k++) {
        uint64_t same, f1, f2;
        __asm__ volatile("vsetivli zero, 8, e32, m1, ta, ma\nvle32.v v16, (%0)\n"
                         "vsetivli zero, 4, e64, m1, ta, ma\nvle64.v v18, (%1)" ::"r"(fin),
                         "r"(din)
                         : "memory");
        __asm__ volatile("fsrmi 0\ncsrwi fflags, 0" ::: "memory");
        switch (k) {
        case 0: __asm__ volatile("vsetivli zero, 8, e32, m1, ta, ma\nvfcvt.rtz.x.f.v v8, v16"); break;
        case 1: __asm__ volatile("vsetivli zero, 8, e32, m1, ta, ma\nvfcvt.rtz.xu.f.v v8, v16"); break;
        case 2: __asm__ volatile("vsetivli zero, 4, e32, m1, ta, ma\nvfwcvt.rtz.x.f.v v8, v16"); break;
        case 3: __asm__ volatile("vsetivli zero, 4, e32, m1, ta, ma\nvfwcvt.rtz.xu.f.v v8, v16"); break;
        case 4: __asm__ volatile("vsetivli zero, 4, e32, m1, ta, ma\nvfncvt.rtz.x.f.w v8, v18"); break;
        case 5: __asm__ volatile("vsetivli zero, 4, e32, m1, ta, ma\nvfncvt.rtz.xu.f.w v8, v18"); break;
        default: __asm__ volatile("vsetivli zero, 8, e16, m1, ta, ma\nvfncvt.rtz.x.f.w v8, v16"); break;
        }
        __asm__ volatile("frflags %0\nfsrmi 1\ncsrwi fflags, 0" : "=r"(f1));
        switch (k) {
        case 0: __asm__ volatile("vfcvt.x.f.v v12, v16"); break;
        case 1: __asm__ volatile("vfcvt.xu.f.v v12, v16"); break;
        case 2: __asm__ volatile("vfwcvt.x.f.v v12, v16"); break;
        case 3: __asm__ volatile("vfwcvt.xu.f.v v12, v16"); break;
        case 4: __asm__ volatile("vfncvt.x.f.w v12, v18"); break;
        case 5: __asm__ volatile("vfncvt.xu.f.w v12, v18"); break;
        default: __asm__ volatile("vfncvt.x.f.w v12, v16"); break;
        }
        __asm__ volatile("frflags %0\nfsrmi 0\nvsetivli zero, 1, e64, m1, ta, ma\n"
                         "vmv.x.s t0, v8\nvmv.x.s t1, v12\nxor %1, t0, t1\n"
                         "vslidedown.vi v8, v8, 1\nvslidedown.vi v12, v12, 1\n"
                         "vmv.x.s t0, v8\nvmv.x.s t1, v12\nxor t0, t0, t1\nor %1, %1, t0"
                         : "=r"(f2), "=r"(same)
                         :
                         : "t0", "t1");
        puts_(rtz_names[k]);
        putch(' ');
        putdec(same == 0 && f1 == f2);
        putch(' ');
        puthex(f1, 2);
        putch('\n');
    }
    /* FS Off: vector FP is illegal, vector integer is not */
    __asm__ volatile("li t0, 0x6000\ncsrc sstatus, t0" ::: "t0");
    TRY("fs.off.vfadd", "vsetivli zero, 4, e32, m1, ta, ma\nvfadd.vv v1, v2, v3");
    TRY("fs.off.vfmv.f.s", "vfmv.f.s fa0, v2");
    TRY("fs.off.vadd", "vadd.vv v1, v2, v3");
    __asm__ volatile("li t0, 0x2000\ncsrs sstatus, t0" ::: "t0");
    /* SEW 8 and 16 FP (no Zvfh) */
    TRY("e16.vfadd", "vsetivli zero, 4, e16, m1, ta, ma\nvfadd.vv v1, v2, v3");
    TRY("e8.vfwcvt", "vsetivli zero, 4, e8, m1, ta, ma\nvfwcvt.f.x.v v2, v4");
    TRY("e16.vfwcvt.f.x", "vsetivli zero, 4, e16, m1, ta, ma\nvfwcvt.f.x.v v2, v4");
    return 0;
}
