/* F, D, Zfh and Zfa: loads, stores and arithmetic through fpu.c, with NaN boxing. */
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

/* binary16 in the low bits of f[r], NaN-boxed by ones above */
static inline uint16_t f16_of(const struct dv_hart *h, unsigned r)
{
    uint64_t v = h->f[r];
    return (v >> 16) == 0xffffffffffffull ? (uint16_t)v : F16_CANONICAL_NAN;
}

static inline void set_f16(struct dv_hart *h, unsigned r, uint16_t v)
{
    h->f[r] = 0xffffffffffff0000ull | v;
    fs_mark_dirty(h);
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
    case OP_FSD:
    case OP_FSGNJ_H:
    case OP_FSGNJN_H:
    case OP_FSGNJX_H:
    case OP_FMIN_H:
    case OP_FMAX_H:
    case OP_FMV_X_H:
    case OP_FMV_H_X:
    case OP_FLE_H:
    case OP_FLT_H:
    case OP_FEQ_H:
    case OP_FCLASS_H:
    case OP_FLI_S:
    case OP_FLI_D:
    case OP_FLI_H:
    case OP_FMINM_S:
    case OP_FMAXM_S:
    case OP_FMINM_D:
    case OP_FMAXM_D:
    case OP_FMINM_H:
    case OP_FMAXM_H:
    case OP_FLEQ_S:
    case OP_FLTQ_S:
    case OP_FLEQ_D:
    case OP_FLTQ_D:
    case OP_FLEQ_H:
    case OP_FLTQ_H: return false;
    default: return true;
    }
}

/* Zfh's binary16 operations. */
static inline void fp16_compute(struct dv_hart *h, const struct insn *in, enum op op, enum fp_rm rm,
                                unsigned *fflags)
{
    uint64_t rs1 = h->x[in->rs1];
    unsigned d = in->rd, a = in->rs1, b = in->rs2, c = in->rs3;
    uint64_t *xd = &h->x[in->rd];
    uint16_t ha = f16_of(h, a), hb = f16_of(h, b);
    switch (op) {
    case OP_FMADD_H: set_f16(h, d, f16_fma(ha, hb, f16_of(h, c), false, false, rm, fflags)); break;
    case OP_FMSUB_H: set_f16(h, d, f16_fma(ha, hb, f16_of(h, c), false, true, rm, fflags)); break;
    case OP_FNMSUB_H: set_f16(h, d, f16_fma(ha, hb, f16_of(h, c), true, false, rm, fflags)); break;
    case OP_FNMADD_H: set_f16(h, d, f16_fma(ha, hb, f16_of(h, c), true, true, rm, fflags)); break;
    case OP_FADD_H: set_f16(h, d, f16_add(ha, hb, rm, fflags)); break;
    case OP_FSUB_H: set_f16(h, d, f16_sub(ha, hb, rm, fflags)); break;
    case OP_FMUL_H: set_f16(h, d, f16_mul(ha, hb, rm, fflags)); break;
    case OP_FDIV_H: set_f16(h, d, f16_div(ha, hb, rm, fflags)); break;
    case OP_FSQRT_H: set_f16(h, d, f16_sqrt(ha, rm, fflags)); break;
    case OP_FSGNJ_H: set_f16(h, d, (uint16_t)((ha & 0x7fffu) | (hb & 0x8000u))); break;
    case OP_FSGNJN_H: set_f16(h, d, (uint16_t)((ha & 0x7fffu) | (~hb & 0x8000u))); break;
    case OP_FSGNJX_H: set_f16(h, d, (uint16_t)(ha ^ (hb & 0x8000u))); break;
    case OP_FMIN_H: set_f16(h, d, f16_min(ha, hb, fflags)); break;
    case OP_FMAX_H: set_f16(h, d, f16_max(ha, hb, fflags)); break;
    case OP_FCVT_W_H: *xd = (uint64_t)(int64_t)f16_to_i32(ha, rm, fflags); break;
    case OP_FCVT_WU_H: *xd = (uint64_t)sx32(f16_to_u32(ha, rm, fflags)); break;
    case OP_FCVT_L_H: *xd = (uint64_t)f16_to_i64(ha, rm, fflags); break;
    case OP_FCVT_LU_H: *xd = f16_to_u64(ha, rm, fflags); break;
    case OP_FCVT_H_W: set_f16(h, d, i32_to_f16((int32_t)rs1, rm, fflags)); break;
    case OP_FCVT_H_WU: set_f16(h, d, u32_to_f16((uint32_t)rs1, rm, fflags)); break;
    case OP_FCVT_H_L: set_f16(h, d, i64_to_f16((int64_t)rs1, rm, fflags)); break;
    case OP_FCVT_H_LU: set_f16(h, d, u64_to_f16(rs1, rm, fflags)); break;
    case OP_FCVT_S_H: set_f32(h, d, f16_to_f32(ha, fflags)); break;
    case OP_FCVT_H_S: set_f16(h, d, f32_to_f16(f32_of(h, a), rm, fflags)); break;
    case OP_FCVT_D_H: set_f64(h, d, f16_to_f64(ha, fflags)); break;
    case OP_FCVT_H_D: set_f16(h, d, f64_to_f16(h->f[a], rm, fflags)); break;
    case OP_FMV_X_H: *xd = (uint64_t)(int64_t)(int16_t)h->f[a]; break; /* raw bits, boxed or not */
    case OP_FMV_H_X: set_f16(h, d, (uint16_t)rs1); break;
    case OP_FLE_H: *xd = (uint64_t)f16_le(ha, hb, fflags); break;
    case OP_FLT_H: *xd = (uint64_t)f16_lt(ha, hb, fflags); break;
    case OP_FEQ_H: *xd = (uint64_t)f16_eq(ha, hb, fflags); break;
    case OP_FCLASS_H: *xd = f16_class(ha); break;
    default: __builtin_unreachable();
    }
}

/* f[r] as format fmt's bit pattern (NaN-boxing checked), and back */
static inline uint64_t f_of_fmt(const struct dv_hart *h, unsigned r, enum fp_fmt fmt)
{
    return fmt == FP_FMT_F64 ? h->f[r] : fmt == FP_FMT_F32 ? f32_of(h, r) : f16_of(h, r);
}

static inline void set_f_fmt(struct dv_hart *h, unsigned r, enum fp_fmt fmt, uint64_t v)
{
    if (fmt == FP_FMT_F64)
        set_f64(h, r, v);
    else if (fmt == FP_FMT_F32)
        set_f32(h, r, (uint32_t)v);
    else
        set_f16(h, r, (uint16_t)v);
}

/* Zfa: each format's run of ops has the same layout (ops_scalar.h). */
static inline void zfa_compute(struct dv_hart *h, const struct insn *in, enum op op, enum fp_rm rm,
                               unsigned *fflags)
{
    if (op == OP_FCVTMOD_W_D) {
        h->x[in->rd] = (uint64_t)f64_to_i32_modular(h->f[in->rs1], fflags);
        return;
    }
    enum fp_fmt fmt = op >= OP_FLI_H ? FP_FMT_F16 : op >= OP_FLI_D ? FP_FMT_F64 : FP_FMT_F32;
    int which = (int)op - (fmt == FP_FMT_F16 ? OP_FLI_H : fmt == FP_FMT_F64 ? OP_FLI_D : OP_FLI_S);
    uint64_t a = f_of_fmt(h, in->rs1, fmt), b = f_of_fmt(h, in->rs2, fmt);
    uint64_t *xd = &h->x[in->rd];
    switch (which + OP_FLI_S) {
    case OP_FLI_S: set_f_fmt(h, in->rd, fmt, fp_fli(fmt, in->rs1)); break;
    case OP_FMINM_S: set_f_fmt(h, in->rd, fmt, fp_minimum(fmt, a, b, false, fflags)); break;
    case OP_FMAXM_S: set_f_fmt(h, in->rd, fmt, fp_minimum(fmt, a, b, true, fflags)); break;
    case OP_FROUND_S:
        set_f_fmt(h, in->rd, fmt, fp_round_integral(fmt, a, rm, false, fflags));
        break;
    case OP_FROUNDNX_S:
        set_f_fmt(h, in->rd, fmt, fp_round_integral(fmt, a, rm, true, fflags));
        break;
    case OP_FLEQ_S: *xd = (uint64_t)fp_le_quiet(fmt, a, b, fflags); break;
    case OP_FLTQ_S: *xd = (uint64_t)fp_lt_quiet(fmt, a, b, fflags); break;
    default: __builtin_unreachable();
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
    default:
        if (op >= OP_FLI_S && op <= OP_FCVTMOD_W_D)
            zfa_compute(h, in, op, rm, fflags);
        else
            fp16_compute(h, in, op, rm, fflags);
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
    case OP_FLH:
        if (!mem_load(h, va, 2, &v, in))
            return EXEC_TRAP;
        set_f16(h, in->rd, (uint16_t)v);
        return EXEC_RETIRE;
    case OP_FSH: return mem_store(h, va, 2, h->f[in->rs2], in) ? EXEC_RETIRE : EXEC_TRAP;
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
