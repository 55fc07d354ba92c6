/* F and D: loads, stores and arithmetic through fpu.c, with NaN boxing. */
#ifndef DUVISOR_HART_EXEC_FP_H
#define DUVISOR_HART_EXEC_FP_H

#include "hart/exec.h"
#include "hart/fpu.h"
#include "hart/mmu.h"

static inline uint32_t f32_of(const struct dv_hart *h, unsigned r)
{
    uint64_t v = h->f[r];
    return (v >> 32) == 0xffffffffu ? (uint32_t)v : 0x7fc00000u; /* unboxed: canonical NaN */
}

static inline void set_f32(struct dv_hart *h, unsigned r, uint32_t v)
{
    h->f[r] = 0xffffffff00000000ull | v;
    fs_mark_dirty(h);
}

static inline void set_f64(struct dv_hart *h, unsigned r, uint64_t v)
{
    h->f[r] = v;
    fs_mark_dirty(h);
}

/* The rounding mode an instruction uses; false when reserved (illegal). */
static inline bool resolve_rm(const struct dv_hart *h, unsigned field, enum fp_rm *rm)
{
    unsigned r = field == 7 ? h->frm : field;
    if (r > 4)
        return false;
    *rm = (enum fp_rm)r;
    return true;
}

/* Operations that round: their rm field must name a valid mode. */
static inline bool fp_rounds(enum op op)
{
    switch (op) {
    case OP_FSGNJ_S:
    case OP_FSGNJN_S:
    case OP_FSGNJX_S:
    case OP_FSGNJ_D:
    case OP_FSGNJN_D:
    case OP_FSGNJX_D:
    case OP_FMIN_S:
    case OP_FMAX_S:
    case OP_FMIN_D:
    case OP_FMAX_D:
    case OP_FMV_X_W:
    case OP_FMV_W_X:
    case OP_FMV_X_D:
    case OP_FMV_D_X:
    case OP_FLE_S:
    case OP_FLT_S:
    case OP_FEQ_S:
    case OP_FLE_D:
    case OP_FLT_D:
    case OP_FEQ_D:
    case OP_FCLASS_S:
    case OP_FCLASS_D:
    case OP_FLW:
    case OP_FLD:
    case OP_FSW:
    case OP_FSD: return false;
    default: return true;
    }
}

/* Arithmetic: the result into f[rd] (or x[rd] for compares, moves to integer
   and conversions to integer), exception flags into *fflags. */
EXEC_INLINE void fp_compute(struct dv_hart *h, const struct insn *in, enum op op, enum fp_rm rm,
                            unsigned *fflags)
{
    const uint64_t *f = h->f;
    uint64_t rs1 = h->x[in->rs1];
    unsigned d = in->rd, a = in->rs1, b = in->rs2, c = in->rs3;
    uint64_t *xd = &h->x[in->rd];
    switch (op) {
    case OP_FMADD_S:
        set_f32(h, d, f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), false, false, rm, fflags));
        break;
    case OP_FMSUB_S:
        set_f32(h, d, f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), false, true, rm, fflags));
        break;
    case OP_FNMSUB_S:
        set_f32(h, d, f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), true, false, rm, fflags));
        break;
    case OP_FNMADD_S:
        set_f32(h, d, f32_fma(f32_of(h, a), f32_of(h, b), f32_of(h, c), true, true, rm, fflags));
        break;
    case OP_FMADD_D: set_f64(h, d, f64_fma(f[a], f[b], f[c], false, false, rm, fflags)); break;
    case OP_FMSUB_D: set_f64(h, d, f64_fma(f[a], f[b], f[c], false, true, rm, fflags)); break;
    case OP_FNMSUB_D: set_f64(h, d, f64_fma(f[a], f[b], f[c], true, false, rm, fflags)); break;
    case OP_FNMADD_D: set_f64(h, d, f64_fma(f[a], f[b], f[c], true, true, rm, fflags)); break;
    case OP_FADD_S: set_f32(h, d, f32_add(f32_of(h, a), f32_of(h, b), rm, fflags)); break;
    case OP_FSUB_S: set_f32(h, d, f32_sub(f32_of(h, a), f32_of(h, b), rm, fflags)); break;
    case OP_FMUL_S: set_f32(h, d, f32_mul(f32_of(h, a), f32_of(h, b), rm, fflags)); break;
    case OP_FDIV_S: set_f32(h, d, f32_div(f32_of(h, a), f32_of(h, b), rm, fflags)); break;
    case OP_FSQRT_S: set_f32(h, d, f32_sqrt(f32_of(h, a), rm, fflags)); break;
    case OP_FADD_D: set_f64(h, d, f64_add(f[a], f[b], rm, fflags)); break;
    case OP_FSUB_D: set_f64(h, d, f64_sub(f[a], f[b], rm, fflags)); break;
    case OP_FMUL_D: set_f64(h, d, f64_mul(f[a], f[b], rm, fflags)); break;
    case OP_FDIV_D: set_f64(h, d, f64_div(f[a], f[b], rm, fflags)); break;
    case OP_FSQRT_D: set_f64(h, d, f64_sqrt(f[a], rm, fflags)); break;
    case OP_FSGNJ_S:
        set_f32(h, d, (f32_of(h, a) & 0x7fffffffu) | (f32_of(h, b) & 0x80000000u));
        break;
    case OP_FSGNJN_S:
        set_f32(h, d, (f32_of(h, a) & 0x7fffffffu) | (~f32_of(h, b) & 0x80000000u));
        break;
    case OP_FSGNJX_S: set_f32(h, d, f32_of(h, a) ^ (f32_of(h, b) & 0x80000000u)); break;
    case OP_FSGNJ_D: set_f64(h, d, (f[a] & ~(1ull << 63)) | (f[b] & (1ull << 63))); break;
    case OP_FSGNJN_D: set_f64(h, d, (f[a] & ~(1ull << 63)) | (~f[b] & (1ull << 63))); break;
    case OP_FSGNJX_D: set_f64(h, d, f[a] ^ (f[b] & (1ull << 63))); break;
    case OP_FMIN_S: set_f32(h, d, f32_min(f32_of(h, a), f32_of(h, b), fflags)); break;
    case OP_FMAX_S: set_f32(h, d, f32_max(f32_of(h, a), f32_of(h, b), fflags)); break;
    case OP_FMIN_D: set_f64(h, d, f64_min(f[a], f[b], fflags)); break;
    case OP_FMAX_D: set_f64(h, d, f64_max(f[a], f[b], fflags)); break;
    case OP_FCVT_W_S: *xd = (uint64_t)(int64_t)f32_to_i32(f32_of(h, a), rm, fflags); break;
    case OP_FCVT_WU_S: *xd = (uint64_t)sx32(f32_to_u32(f32_of(h, a), rm, fflags)); break;
    case OP_FCVT_L_S: *xd = (uint64_t)f32_to_i64(f32_of(h, a), rm, fflags); break;
    case OP_FCVT_LU_S: *xd = f32_to_u64(f32_of(h, a), rm, fflags); break;
    case OP_FCVT_W_D: *xd = (uint64_t)(int64_t)f64_to_i32(f[a], rm, fflags); break;
    case OP_FCVT_WU_D: *xd = (uint64_t)sx32(f64_to_u32(f[a], rm, fflags)); break;
    case OP_FCVT_L_D: *xd = (uint64_t)f64_to_i64(f[a], rm, fflags); break;
    case OP_FCVT_LU_D: *xd = f64_to_u64(f[a], rm, fflags); break;
    case OP_FCVT_S_W: set_f32(h, d, i32_to_f32((int32_t)rs1, rm, fflags)); break;
    case OP_FCVT_S_WU: set_f32(h, d, u32_to_f32((uint32_t)rs1, rm, fflags)); break;
    case OP_FCVT_S_L: set_f32(h, d, i64_to_f32((int64_t)rs1, rm, fflags)); break;
    case OP_FCVT_S_LU: set_f32(h, d, u64_to_f32(rs1, rm, fflags)); break;
    case OP_FCVT_D_W: set_f64(h, d, i32_to_f64((int32_t)rs1, rm, fflags)); break;
    case OP_FCVT_D_WU: set_f64(h, d, u32_to_f64((uint32_t)rs1, rm, fflags)); break;
    case OP_FCVT_D_L: set_f64(h, d, i64_to_f64((int64_t)rs1, rm, fflags)); break;
    case OP_FCVT_D_LU: set_f64(h, d, u64_to_f64(rs1, rm, fflags)); break;
    case OP_FCVT_S_D: set_f32(h, d, f64_to_f32(f[a], rm, fflags)); break;
    case OP_FCVT_D_S: set_f64(h, d, f32_to_f64(f32_of(h, a), fflags)); break;
    case OP_FMV_X_W: *xd = (uint64_t)sx32(f[a]); break;
    case OP_FMV_W_X: set_f32(h, d, (uint32_t)rs1); break;
    case OP_FMV_X_D: *xd = f[a]; break;
    case OP_FMV_D_X: set_f64(h, d, rs1); break;
    case OP_FLE_S: *xd = (uint64_t)f32_le(f32_of(h, a), f32_of(h, b), fflags); break;
    case OP_FLT_S: *xd = (uint64_t)f32_lt(f32_of(h, a), f32_of(h, b), fflags); break;
    case OP_FEQ_S: *xd = (uint64_t)f32_eq(f32_of(h, a), f32_of(h, b), fflags); break;
    case OP_FLE_D: *xd = (uint64_t)f64_le(f[a], f[b], fflags); break;
    case OP_FLT_D: *xd = (uint64_t)f64_lt(f[a], f[b], fflags); break;
    case OP_FEQ_D: *xd = (uint64_t)f64_eq(f[a], f[b], fflags); break;
    case OP_FCLASS_S: *xd = f32_class(f32_of(h, a)); break;
    case OP_FCLASS_D: *xd = f64_class(f[a]); break;
    default: __builtin_unreachable();
    }
}

EXEC_INLINE enum exec_status exec_FP(struct dv_hart *h, const struct insn *in, enum op op,
                                     uint64_t pc, uint64_t *next)
{
    (void)pc;
    (void)next;
    if (!(h->vsstatus & SSTATUS_FS))
        return EXEC_ILLEGAL;
    uint64_t va = h->x[in->rs1] + (uint64_t)(int64_t)in->imm;
    uint64_t v;
    switch (op) {
    case OP_FLW:
        if (!mem_load(h, va, 4, &v, in))
            return EXEC_TRAP;
        set_f32(h, in->rd, (uint32_t)v);
        return EXEC_RETIRE;
    case OP_FLD:
        if (!mem_load(h, va, 8, &v, in))
            return EXEC_TRAP;
        set_f64(h, in->rd, v);
        return EXEC_RETIRE;
    case OP_FSW: return mem_store(h, va, 4, h->f[in->rs2], in) ? EXEC_RETIRE : EXEC_TRAP;
    case OP_FSD: return mem_store(h, va, 8, h->f[in->rs2], in) ? EXEC_RETIRE : EXEC_TRAP;
    default: break;
    }
    enum fp_rm rm = FP_RNE;
    if (fp_rounds(op) && !resolve_rm(h, in->rm, &rm))
        return EXEC_ILLEGAL;
    unsigned fflags = 0;
    fp_compute(h, in, op, rm, &fflags);
    if (fflags) {
        h->fflags |= fflags;
        fs_mark_dirty(h);
    }
    return EXEC_RETIRE;
}

#endif
