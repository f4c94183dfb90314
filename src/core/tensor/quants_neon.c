/*
 * quants_neon.c - the aarch64 Advanced SIMD kernel table: Q4_0, Q4_1,
 * Q5_0, Q5_1 and Q8_0 dot products and the Q8_0/Q8_1 activation
 * quantizers; everything else (F32/F16 dots and the K formats, whose
 * scalar reference keeps ggml's x86 lane order, among them) stays scalar. Int8 dots use SDOT when the compiler targets it (e.g.
 * -march=armv8.2-a+dotprod) and widening multiplies otherwise. Integer
 * sums are exact and the float steps follow the scalar reference's order,
 * so results are the reference's bit for bit.
 */
#include <arm_neon.h>
#include <math.h>

#include "tensor/blocks.h"
#include "tensor/kernels_impl.h"
#include "tensor/packed.h"

/* acc += per-lane sums of products of a and b (lane grouping differs
 * between the two paths; only whole-vector sums are used). */
static inline int32x4_t dot_s8(int32x4_t acc, int8x16_t a, int8x16_t b)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    acc = vpadalq_s16(acc, vmull_s8(vget_low_s8(a), vget_low_s8(b)));
    return vpadalq_s16(acc, vmull_high_s8(a, b));
#endif
}

/* The 32 nibbles of a block: [0] = elements 0..15, [1] = 16..31. */
static inline void unpack_nibbles(const uint8_t *qs, int8x16_t out[2])
{
    const uint8x16_t bytes = vld1q_u8(qs);
    out[0] = vreinterpretq_s8_u8(vandq_u8(bytes, vdupq_n_u8(0x0F)));
    out[1] = vreinterpretq_s8_u8(vshrq_n_u8(bytes, 4));
}

/* Adds 16 to the codes whose fifth bit is set in qh. */
static inline void add_fifth_bits(const uint8_t qh[4], int8x16_t codes[2])
{
    static const uint8_t bit_of_lane[16] = { 1, 2, 4, 8, 16, 32, 64, 128, 1, 2, 4, 8, 16, 32, 64, 128 };
    const uint8x16_t select = vld1q_u8(bit_of_lane);
    for (int h = 0; h < 2; h++) {
        const uint8x16_t spread = vcombine_u8(vdup_n_u8(qh[2 * h]), vdup_n_u8(qh[2 * h + 1]));
        const uint8x16_t plus16 = vandq_u8(vtstq_u8(spread, select), vdupq_n_u8(0x10));
        codes[h] = vreinterpretq_s8_u8(vorrq_u8(vreinterpretq_u8_s8(codes[h]), plus16));
    }
}

/* isum[h] lane l: the exact sum of the products of elements 16h + 4l ..
 * 16h + 4l + 3, the int32 lanes of ggml's x86 kernels. */
static inline void block_isums(const int8x16_t codes[2], const int8_t *act, int32x4_t isum[2])
{
    for (int h = 0; h < 2; h++) {
        const int8x16_t y = vld1q_s8(act + 16 * h);
#if defined(__ARM_FEATURE_DOTPROD)
        isum[h] = vdotq_s32(vdupq_n_s32(0), codes[h], y);
#else
        const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(codes[h]), vget_low_s8(y)));
        const int32x4_t hi = vpaddlq_s16(vmull_high_s8(codes[h], y));
        isum[h] = vpaddq_s32(lo, hi);
#endif
    }
}

/* Per block, lane l += d * isum[l], fused: the order of quants_ref.c,
 * which these kernels reproduce bit for bit. */
static inline void accumulate(float32x4_t acc[2], float d, const int32x4_t isum[2])
{
    acc[0] = vfmaq_n_f32(acc[0], vcvtq_f32_s32(isum[0]), d);
    acc[1] = vfmaq_n_f32(acc[1], vcvtq_f32_s32(isum[1]), d);
}

/* hsum_float_8's order: halves added lanewise, then (0 + 2) + (1 + 3). */
static inline float hsum8(const float32x4_t acc[2])
{
    const float32x4_t r = vaddq_f32(acc[0], acc[1]);
    return (vgetq_lane_f32(r, 0) + vgetq_lane_f32(r, 2)) + (vgetq_lane_f32(r, 1) + vgetq_lane_f32(r, 3));
}

static inline void shift_codes(int8x16_t codes[2], int8_t by)
{
    codes[0] = vsubq_s8(codes[0], vdupq_n_s8(by));
    codes[1] = vsubq_s8(codes[1], vdupq_n_s8(by));
}

/* The codes of block b of each 32-wide format, as in quants_ref.c. */
static inline void codes_q4_0(const og_block_q4_0 *b, int8x16_t c[2])
{
    unpack_nibbles(b->qs, c);
    shift_codes(c, 8);
}

static inline void codes_q4_1(const og_block_q4_1 *b, int8x16_t c[2]) { unpack_nibbles(b->qs, c); }

static inline void codes_q5_0(const og_block_q5_0 *b, int8x16_t c[2])
{
    unpack_nibbles(b->qs, c);
    add_fifth_bits(b->qh, c);
    shift_codes(c, 16);
}

static inline void codes_q5_1(const og_block_q5_1 *b, int8x16_t c[2])
{
    unpack_nibbles(b->qs, c);
    add_fifth_bits(b->qh, c);
}

static inline void codes_q8_0(const og_block_q8_0 *b, int8x16_t c[2])
{
    c[0] = vld1q_s8(b->qs);
    c[1] = vld1q_s8(b->qs + 16);
}

/* Formats with a min fuse m * s into one float per block, in order. */
#define NEON_NO_MIN(summs, wb, ab) (void)0
#define NEON_WITH_MIN(summs, wb, ab) summs = fmaf(og_h2f((wb).m), og_h2f((ab).s), summs)

#define NEON_DOT(name, wblock, ablock, min_step, has_min)                                         \
    static void neon_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)   \
    {                                                                                            \
        const wblock *w = w_row;                                                                 \
        const ablock *a = act;                                                                   \
        float32x4_t acc[2] = { vdupq_n_f32(0.0f), vdupq_n_f32(0.0f) };                           \
        float summs = 0.0f;                                                                      \
        for (int64_t i = 0; i < n / OG_QK; i++) {                                                \
            int8x16_t codes[2];                                                                  \
            int32x4_t isum[2];                                                                   \
            codes_##name(&w[i], codes);                                                          \
            block_isums(codes, a[i].qs, isum);                                                   \
            accumulate(acc, og_h2f(w[i].d) * og_h2f(a[i].d), isum);                              \
            min_step(summs, w[i], a[i]);                                                         \
        }                                                                                        \
        *out = has_min ? hsum8(acc) + summs : hsum8(acc);                                        \
    }

NEON_DOT(q4_0, og_block_q4_0, og_block_q8_0, NEON_NO_MIN, 0)
NEON_DOT(q4_1, og_block_q4_1, og_block_q8_1, NEON_WITH_MIN, 1)
NEON_DOT(q5_0, og_block_q5_0, og_block_q8_0, NEON_NO_MIN, 0)
NEON_DOT(q5_1, og_block_q5_1, og_block_q8_1, NEON_WITH_MIN, 1)
NEON_DOT(q8_0, og_block_q8_0, og_block_q8_0, NEON_NO_MIN, 0)

/* Same bytes as the scalar reference: 127/amax, and FCVTNS rounds to
 * nearest even like rintf. Returns d; *sum gets the sum of the codes. */
static float quantize_block_q8(const float *x, int8_t *qs, int *sum)
{
    float32x4_t v[8];
    float32x4_t amax = vdupq_n_f32(0);
    for (int k = 0; k < 8; k++) {
        v[k] = vld1q_f32(x + 4 * k);
        amax = vmaxq_f32(amax, vabsq_f32(v[k]));
    }
    const float max_abs = vmaxvq_f32(amax);
    const float id = max_abs != 0.0f ? 127.0f / max_abs : 0.0f;
    int32x4_t total = vdupq_n_s32(0);
    for (int k = 0; k < 8; k += 2) {
        const int32x4_t q0 = vcvtnq_s32_f32(vmulq_n_f32(v[k], id));
        const int32x4_t q1 = vcvtnq_s32_f32(vmulq_n_f32(v[k + 1], id));
        total = vaddq_s32(total, vaddq_s32(q0, q1));
        const int16x8_t q16 = vcombine_s16(vmovn_s32(q0), vmovn_s32(q1));
        vst1_s8(qs + 4 * k, vmovn_s16(q16));
    }
    *sum = vaddvq_s32(total);
    return max_abs / 127.0f;
}

static void neon_q8_0_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int sum;
        b[i].d = og_f32_to_fp16(quantize_block_q8(x + OG_QK * i, b[i].qs, &sum));
    }
}

static void neon_q8_0u_from_float(const float *x, void *dst, int64_t n)
{
    neon_q8_0_from_float(x, dst, n);
    og_q8_0u_widen(dst, n / OG_QK);
}

static void neon_q8_1_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int sum;
        const float d = quantize_block_q8(x + OG_QK * i, b[i].qs, &sum);
        b[i].d = og_f32_to_fp16(d);
        b[i].s = og_f32_to_fp16(d * (float)sum);
    }
}

/* acc lane r += the sum of bytes 4r..4r+3 of w times those of a: one row
 * of a packed quad per lane (the widening path regroups its pairs). */
static inline int32x4_t dot_rows4(int32x4_t acc, int8x16_t w, int8x16_t a)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, w, a);
#else
    const int32x4_t lo = vpaddlq_s16(vmull_s8(vget_low_s8(w), vget_low_s8(a)));
    const int32x4_t hi = vpaddlq_s16(vmull_high_s8(w, a));
    return vaddq_s32(acc, vpaddq_s32(lo, hi));
#endif
}

/* Packed Q4_0 (tensor/packed.h): per group of 16 rows, four quads of
 * rows; each lane's exact block sum, then fmaf(isum, dw * da, acc). */
static void neon_packed_gemm_q4_0(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                  const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const int64_t nb = n / OG_QK;
    row_bytes = (size_t)nb * sizeof(og_block_q4_0);
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        if (og_pack_group_rows(g, r1) < OG_PACK_ROWS) { /* a last group of 8 rows */
            og_packed_q4_0_gemm_ref(n, w, row_bytes, g, r1, acts, act_stride, n_tokens, y, y_stride);
            continue;
        }
        const uint8_t *group = (const uint8_t *)w + (size_t)g * row_bytes;
        for (int32_t t = 0; t < n_tokens; t++) {
            const og_block_q8_0 *a = (const og_block_q8_0 *)((const uint8_t *)acts + (size_t)t * act_stride);
            float32x4_t acc[4] = { vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f) };
            for (int64_t b = 0; b < nb; b++) {
                const uint8_t *blk = group + (size_t)b * OG_PACK_ROWS * sizeof(og_block_q4_0);
                int32x4_t sums[4] = { vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0), vdupq_n_s32(0) };
                for (int k = 0; k < 4; k++) {
                    int32_t lo_word, hi_word;
                    memcpy(&lo_word, a[b].qs + 4 * k, 4);
                    memcpy(&hi_word, a[b].qs + 16 + 4 * k, 4);
                    const int8x16_t alo = vreinterpretq_s8_s32(vdupq_n_s32(lo_word));
                    const int8x16_t ahi = vreinterpretq_s8_s32(vdupq_n_s32(hi_word));
                    for (int q = 0; q < 4; q++) {
                        const uint8x16_t raw = vld1q_u8(blk + 2 * OG_PACK_ROWS + 64 * k + 16 * q);
                        const int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(raw, m4)), eight);
                        const int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(raw, 4)), eight);
                        sums[q] = dot_rows4(dot_rows4(sums[q], lo, alo), hi, ahi);
                    }
                }
                const float da = og_fp16_to_f32(a[b].d);
                for (int q = 0; q < 4; q++) {
                    const float32x4_t dw = vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)blk + 4 * q)));
                    acc[q] = vfmaq_f32(acc[q], vcvtq_f32_s32(sums[q]), vmulq_n_f32(dw, da));
                }
            }
            for (int q = 0; q < 4; q++)
                vst1q_f32(y + (size_t)t * y_stride + (size_t)g + 4 * q, acc[q]);
        }
    }
}

/* Packed Q8_0 and Q4_1 (tensor/packed.h) in their plain lanes order: per
 * quad of rows, vector k of the accumulators is lane k of the 4 rows
 * (word k of the block, one dot per quad), added as hsum_float_8 at the
 * end; Q4_1 adds its min chain. Q8_0 codes are stored as q ^ 0x80. */
static inline float32x4_t lanes_hsum(const float32x4_t acc[8])
{
    const float32x4_t r0 = vaddq_f32(acc[0], acc[4]), r1 = vaddq_f32(acc[1], acc[5]);
    const float32x4_t r2 = vaddq_f32(acc[2], acc[6]), r3 = vaddq_f32(acc[3], acc[7]);
    return vaddq_f32(vaddq_f32(r0, r2), vaddq_f32(r1, r3));
}

static inline int8x16_t word_dup(const int8_t *p)
{
    int32_t word;
    memcpy(&word, p, 4);
    return vreinterpretq_s8_s32(vdupq_n_s32(word));
}

static inline float32x4_t quad_fp16(const uint8_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16((const uint16_t *)p)));
}

/* One quad q of a group of 16 rows against one activation row: the 4
 * outputs. */
typedef float32x4_t (*neon_quad_fn)(const uint8_t *group, int64_t nb, const void *act, int q);

/* Both sides come biased by 128 (weights u, activations qu: packed.h,
 * og_block_q8_0u); the signed dot product takes them back. */
static float32x4_t quad_q8_0(const uint8_t *group, int64_t nb, const void *act, int q)
{
    const og_block_q8_0u *a = act;
    const uint8x16_t bias = vdupq_n_u8(0x80);
    float32x4_t acc[8];
    for (int k = 0; k < 8; k++)
        acc[k] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * OG_PACK_ROWS * sizeof(og_block_q8_0);
        const float32x4_t d = vmulq_n_f32(quad_fp16(blk + 8 * q), a[b].d);
        for (int k = 0; k < 8; k++) {
            const int8x16_t codes = vreinterpretq_s8_u8(veorq_u8(vld1q_u8(blk + 32 + 64 * k + 16 * q), bias));
            const int8x16_t act_codes =
                vreinterpretq_s8_u8(veorq_u8(vreinterpretq_u8_s8(word_dup((const int8_t *)a[b].qu + 4 * k)), bias));
            const int32x4_t sum = dot_rows4(vdupq_n_s32(0), codes, act_codes);
            acc[k] = vfmaq_f32(acc[k], d, vcvtq_f32_s32(sum));
        }
    }
    return lanes_hsum(acc);
}

static float32x4_t quad_q4_1(const uint8_t *group, int64_t nb, const void *act, int q)
{
    const og_block_q8_1 *a = act;
    const uint8x16_t m4 = vdupq_n_u8(0x0F);
    float32x4_t acc[8], summs = vdupq_n_f32(0.0f);
    for (int k = 0; k < 8; k++)
        acc[k] = vdupq_n_f32(0.0f);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * OG_PACK_ROWS * sizeof(og_block_q4_1);
        const float32x4_t d = vmulq_n_f32(quad_fp16(blk + 8 * q), og_fp16_to_f32(a[b].d));
        summs = vfmaq_n_f32(summs, quad_fp16(blk + 32 + 8 * q), og_fp16_to_f32(a[b].s));
        for (int k = 0; k < 4; k++) {
            const uint8x16_t raw = vld1q_u8(blk + 64 + 64 * k + 16 * q);
            const int8x16_t lo = vreinterpretq_s8_u8(vandq_u8(raw, m4));
            const int8x16_t hi = vreinterpretq_s8_u8(vshrq_n_u8(raw, 4));
            const int32x4_t slo = dot_rows4(vdupq_n_s32(0), lo, word_dup(a[b].qs + 4 * k));
            const int32x4_t shi = dot_rows4(vdupq_n_s32(0), hi, word_dup(a[b].qs + 16 + 4 * k));
            acc[k] = vfmaq_f32(acc[k], d, vcvtq_f32_s32(slo));
            acc[k + 4] = vfmaq_f32(acc[k + 4], d, vcvtq_f32_s32(shi));
        }
    }
    return vaddq_f32(lanes_hsum(acc), summs);
}

static void packed_lanes_gemm(neon_quad_fn quad, size_t block_bytes, int64_t n, const void *w, int64_t r0, int64_t r1,
                              const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const int64_t nb = n / OG_QK;
    const size_t row_bytes = (size_t)nb * block_bytes;
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS)
        for (int32_t t = 0; t < n_tokens; t++)
            for (int q = 0; q < 4; q++)
                vst1q_f32(y + (size_t)t * y_stride + (size_t)g + 4 * q,
                          quad((const uint8_t *)w + (size_t)g * row_bytes, nb,
                               (const uint8_t *)acts + (size_t)t * act_stride, q));
}

static void neon_packed_gemm_q8_0(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                  const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    (void)row_bytes;
    packed_lanes_gemm(quad_q8_0, sizeof(og_block_q8_0), n, w, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}

static void neon_packed_gemm_q4_1(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                  const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    (void)row_bytes;
    packed_lanes_gemm(quad_q4_1, sizeof(og_block_q4_1), n, w, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}

void og_neon_install(og_kernels *k)
{
    k->gemm[OG_TYPE_Q4_1_X16] = neon_packed_gemm_q4_1;
    k->gemm[OG_TYPE_Q8_0_X16] = neon_packed_gemm_q8_0;
    k->gemm[OG_TYPE_Q4_0_X16] = neon_packed_gemm_q4_0;
    k->vec_dot[OG_TYPE_Q4_0] = neon_vec_dot_q4_0;
    k->vec_dot[OG_TYPE_Q4_1] = neon_vec_dot_q4_1;
    k->vec_dot[OG_TYPE_Q5_0] = neon_vec_dot_q5_0;
    k->vec_dot[OG_TYPE_Q5_1] = neon_vec_dot_q5_1;
    k->vec_dot[OG_TYPE_Q8_0] = neon_vec_dot_q8_0;
    k->from_float[OG_TYPE_Q8_0] = neon_q8_0_from_float;
    k->from_float[OG_TYPE_Q8_0U] = neon_q8_0u_from_float;
    k->from_float[OG_TYPE_Q8_1] = neon_q8_1_from_float;
}
