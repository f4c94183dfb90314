/*
 * quants_ref.c - portable reference kernels for plain floats (F32, F16,
 * BF16) and the 32-wide block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1):
 * dequantization, activation quantization, dot products, and the weight
 * quantizers behind og_quantize_row_ref. Dot products reproduce the
 * summation order of llama.cpp's x86 kernels exactly (see each section);
 * the SIMD paths must return these results bit for bit.
 */
#include <float.h>
#include <math.h>

#include "base/numerics.h"
#include "tensor/blocks.h"
#include "tensor/kernels_impl.h"
#include "tensor/packed.h"

/* ---- plain floats ---- */

static void f32_to_float(const void *src, float *dst, int64_t n)
{
    memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f32_from_float(const float *x, void *dst, int64_t n)
{
    memcpy(dst, x, (size_t)n * sizeof(float));
}

static void f16_to_float(const void *src, float *dst, int64_t n)
{
    const og_fp16 *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = og_fp16_to_f32(h[i]);
}

static void f16_from_float(const float *x, void *dst, int64_t n)
{
    og_fp16 *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = og_f32_to_fp16(x[i]);
}

static void bf16_to_float(const void *src, float *dst, int64_t n)
{
    const og_bf16 *h = src;
    for (int64_t i = 0; i < n; i++)
        dst[i] = og_bf16_to_f32(h[i]);
}

static void bf16_from_float(const float *x, void *dst, int64_t n)
{
    og_bf16 *h = dst;
    for (int64_t i = 0; i < n; i++)
        h[i] = og_f32_to_bf16(x[i]);
}

/* F32 and F16 dots as ggml_vec_dot_f32/f16 run on AVX-512: four
 * accumulators of 16 lanes over steps of 64 elements (accumulator j takes
 * elements 16j..16j+15 of a step), folded as 0+2, 1+3, then 0+1, then
 * reduced in _mm512_reduce_add_ps order. Returns that sum over the first
 * np elements (np a multiple of 64). */
static inline float elem(const void *p, int64_t i, bool half)
{
    return half ? og_fp16_to_f32(((const og_fp16 *)p)[i]) : ((const float *)p)[i];
}

static OG_CLONES float steps64(const void *w, const void *a, int64_t np, bool half)
{
    float sum[4][16] = { { 0 } };
    for (int64_t i = 0; i < np; i += 64)
        for (int j = 0; j < 4; j++)
            for (int k = 0; k < 16; k++)
                sum[j][k] = fmaf(elem(w, i + 16 * j + k, half), elem(a, i + 16 * j + k, half), sum[j][k]);
    for (int k = 0; k < 16; k++) {
        sum[0][k] += sum[2][k];
        sum[1][k] += sum[3][k];
        sum[0][k] += sum[1][k];
    }
    return og_reduce16(sum[0]);
}

/* The rest of an F32 row is added to the float sum one by one. ggml's
 * source says `sumf += x[i]*y[i]`, but GCC -O3 vectorizes that loop in
 * chunks of 16 and 8 whose products are rounded before the in-order adds,
 * and fuses only the last (rem % 8) elements; that is what runs. */
static OG_CLONES void vec_dot_f32(int64_t n, float *out, const void *w_row, const void *act)
{
    const float *w = w_row, *a = act;
    const int64_t np = n & ~(int64_t)63, nu = n & ~(int64_t)7;
    float sum = steps64(w, a, np, false);
    for (int64_t i = np; i < nu; i++)
        sum += w[i] * a[i];
    for (int64_t i = nu; i < n; i++)
        sum = fmaf(w[i], a[i], sum);
    *out = sum;
}

/* ...while F16 sums its rest in double (products of halves are exact). */
static OG_CLONES void vec_dot_f16(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_fp16 *w = w_row, *a = act;
    const int64_t np = n & ~(int64_t)63;
    double sum = (double)steps64(w, a, np, true);
    for (int64_t i = np; i < n; i++)
        sum += (double)(og_fp16_to_f32(w[i]) * og_fp16_to_f32(a[i]));
    *out = (float)sum;
}

/* Batched F32/F16 products in llama.cpp's tinyBLAS order, which it uses
 * instead of vec_dot for two or more tokens: one chain of 16 lanes per
 * output over the whole row, then reduced. Rows whose length is not a
 * multiple of 16 (where tinyBLAS declines) take vec_dot. */
static OG_CLONES void gemm_float(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride,
                                 bool half)
{
    for (int32_t t = 0; t < n_tokens; t++)
        for (int64_t r = r0; r < r1; r++) {
            const void *wr = (const uint8_t *)w + (size_t)r * row_bytes;
            const void *ar = (const uint8_t *)acts + (size_t)t * act_stride;
            float *out = &y[(size_t)t * y_stride + (size_t)r];
            if (n % 16) {
                (half ? vec_dot_f16 : vec_dot_f32)(n, out, wr, ar);
                continue;
            }
            float acc[16] = { 0 };
            for (int64_t l = 0; l < n; l += 16)
                for (int k = 0; k < 16; k++)
                    acc[k] = fmaf(elem(wr, l + k, half), elem(ar, l + k, half), acc[k]);
            *out = og_reduce16(acc);
        }
}

static void gemm_f32(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1, const void *acts,
                     size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    gemm_float(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride, false);
}

static void gemm_f16(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1, const void *acts,
                     size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    gemm_float(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride, true);
}

/* BF16 accumulates in double like ggml's scalar path. */
static void vec_dot_bf16(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_bf16 *w = w_row, *a = act;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)og_bf16_to_f32(w[i]) * (double)og_bf16_to_f32(a[i]);
    *out = (float)sum;
}

/* ---- dequantization ---- */

static void q4_0_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q4_0 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d);
        for (int j = 0; j < OG_QK / 2; j++) {
            dst[j] = (float)((b[i].qs[j] & 0x0F) - 8) * d;
            dst[j + OG_QK / 2] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void q4_1_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q4_1 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d), m = og_h2f(b[i].m);
        for (int j = 0; j < OG_QK / 2; j++) {
            dst[j] = (float)(b[i].qs[j] & 0x0F) * d + m;
            dst[j + OG_QK / 2] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

/* Element j of a Q5 block as 0..31: low nibble plus bit j of qh. */
static inline int q5_value(const uint8_t *qs, uint32_t high, int j)
{
    const int low = j < OG_QK / 2 ? (qs[j] & 0x0F) : (qs[j - OG_QK / 2] >> 4);
    return low | (int)(((high >> j) & 1) << 4);
}

static void q5_0_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q5_0 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d);
        const uint32_t high = og_q5_high_bits(b[i].qh);
        for (int j = 0; j < OG_QK; j++)
            dst[j] = (float)(q5_value(b[i].qs, high, j) - 16) * d;
    }
}

static void q5_1_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q5_1 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d), m = og_h2f(b[i].m);
        const uint32_t high = og_q5_high_bits(b[i].qh);
        for (int j = 0; j < OG_QK; j++)
            dst[j] = (float)q5_value(b[i].qs, high, j) * d + m;
    }
}

static void q8_0_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q8_0 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d);
        for (int j = 0; j < OG_QK; j++)
            dst[j] = (float)b[i].qs[j] * d;
    }
}

static void q8_1_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q8_1 *b = src;
    for (int64_t i = 0; i < n / OG_QK; i++, dst += OG_QK) {
        const float d = og_h2f(b[i].d);
        for (int j = 0; j < OG_QK; j++)
            dst[j] = (float)b[i].qs[j] * d;
    }
}

/* ---- activation quantizers ----
 * These reproduce ggml's x86 SIMD quantize_row_q8_0/q8_1 byte for byte
 * (not its scalar reference): the inverse scale is 127/amax rather than
 * 1/(amax/127), and rounding is to nearest even rather than roundf's
 * away from zero. Every ISA's from_float must give these exact bytes. */

static float block_absmax(const float *x)
{
    float amax = 0.0f;
    for (int j = 0; j < OG_QK; j++) {
        const float a = fabsf(x[j]);
        amax = a > amax ? a : amax;
    }
    return amax;
}

static void q8_0_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++, x += OG_QK) {
        const float amax = block_absmax(x);
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        b[i].d = og_f32_to_fp16(amax / 127.0f);
        for (int j = 0; j < OG_QK; j++)
            b[i].qs[j] = (int8_t)rintf(x[j] * id);
    }
}

static void q8_0u_from_float(const float *x, void *dst, int64_t n)
{
    q8_0_from_float(x, dst, n);
    og_q8_0u_widen(dst, n / OG_QK);
}

static void q8_1_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / OG_QK; i++, x += OG_QK) {
        const float amax = block_absmax(x);
        const float d = amax / 127.0f;
        const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
        int sum = 0;
        for (int j = 0; j < OG_QK; j++) {
            b[i].qs[j] = (int8_t)rintf(x[j] * id);
            sum += b[i].qs[j];
        }
        b[i].d = og_f32_to_fp16(d);
        /* ggml multiplies by the float d, not the fp16-rounded one. */
        b[i].s = og_f32_to_fp16(d * (float)sum);
    }
}

/* ---- dot products ----
 * The order of ggml's AVX2 kernels (which its AVX-512 builds run for
 * these formats): per block, the exact integer sums of the products of
 * elements 4l..4l+3 (l = 0..7), each fused into float lane l with the
 * block's d = dw * da; formats with a min also fuse m * s into one float,
 * block by block; at the end the lanes are added as hsum_float_8 does.
 * The x86 kernels compute exactly this, so all paths agree bit for bit. */

/* The 32 codes of a block in element order (low nibbles, then high). */
static void codes_q4_0(const og_block_q4_0 *b, int8_t c[OG_QK])
{
    for (int j = 0; j < OG_QK / 2; j++) {
        c[j] = (int8_t)((b->qs[j] & 0x0F) - 8);
        c[j + OG_QK / 2] = (int8_t)((b->qs[j] >> 4) - 8);
    }
}

static void codes_q4_1(const og_block_q4_1 *b, int8_t c[OG_QK])
{
    for (int j = 0; j < OG_QK / 2; j++) {
        c[j] = (int8_t)(b->qs[j] & 0x0F);
        c[j + OG_QK / 2] = (int8_t)(b->qs[j] >> 4);
    }
}

static void codes_q5_0(const og_block_q5_0 *b, int8_t c[OG_QK])
{
    const uint32_t high = og_q5_high_bits(b->qh);
    for (int j = 0; j < OG_QK; j++)
        c[j] = (int8_t)(q5_value(b->qs, high, j) - 16);
}

static void codes_q5_1(const og_block_q5_1 *b, int8_t c[OG_QK])
{
    const uint32_t high = og_q5_high_bits(b->qh);
    for (int j = 0; j < OG_QK; j++)
        c[j] = (int8_t)q5_value(b->qs, high, j);
}

static void codes_q8_0(const og_block_q8_0 *b, int8_t c[OG_QK]) { memcpy(c, b->qs, OG_QK); }

/* Formats with a min add m * s per block to one float chain. */
#define REF_NO_MIN(summs, wb, ab) (void)0
#define REF_WITH_MIN(summs, wb, ab) summs = fmaf(og_h2f((wb).m), og_h2f((ab).s), summs)

#define REF_DOT(name, wblock, ablock, min_step, has_min)                                        \
    static OG_CLONES void vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act) \
    {                                                                                           \
        const wblock *w = w_row;                                                                \
        const ablock *a = act;                                                                  \
        float acc[8] = { 0 }, summs = 0.0f;                                                     \
        for (int64_t i = 0; i < n / OG_QK; i++) {                                               \
            int8_t c[OG_QK];                                                                    \
            codes_##name(&w[i], c);                                                             \
            og_lanes_block(acc, og_h2f(w[i].d) * og_h2f(a[i].d), c, a[i].qs);                  \
            min_step(summs, w[i], a[i]);                                                        \
        }                                                                                       \
        *out = has_min ? og_lanes_hsum(acc) + summs : og_lanes_hsum(acc);                      \
    }

REF_DOT(q4_0, og_block_q4_0, og_block_q8_0, REF_NO_MIN, 0)
REF_DOT(q4_1, og_block_q4_1, og_block_q8_1, REF_WITH_MIN, 1)
REF_DOT(q5_0, og_block_q5_0, og_block_q8_0, REF_NO_MIN, 0)
REF_DOT(q5_1, og_block_q5_1, og_block_q8_1, REF_WITH_MIN, 1)
REF_DOT(q8_0, og_block_q8_0, og_block_q8_0, REF_NO_MIN, 0)

/* ---- weight quantizers (ggml's reference semantics) ---- */

/* The element of largest magnitude, sign kept: Q4_0/Q5_0 map it to the
 * most negative code so the asymmetric range is used fully. */
static float block_signed_max(const float *x)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < OG_QK; j++) {
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    }
    return max;
}

static void block_min_max(const float *x, float *min, float *max)
{
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < OG_QK; j++) {
        *min = x[j] < *min ? x[j] : *min;
        *max = x[j] > *max ? x[j] : *max;
    }
}

static int min_int(int a, int b) { return a < b ? a : b; }

static void quantize_q4_0(const float *x, og_block_q4_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK) {
        const float d = block_signed_max(x) / -8.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = og_f32_to_fp16(d);
        for (int j = 0; j < OG_QK / 2; j++) {
            /* Truncation after +8.5 is ggml's rounding; keep it for identical files. */
            const int lo = min_int(15, (int8_t)(x[j] * id + 8.5f));
            const int hi = min_int(15, (int8_t)(x[j + OG_QK / 2] * id + 8.5f));
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

static void quantize_q4_1(const float *x, og_block_q4_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK) {
        float min, max;
        block_min_max(x, &min, &max);
        const float d = (max - min) / 15.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = og_f32_to_fp16(d);
        b[i].m = og_f32_to_fp16(min);
        for (int j = 0; j < OG_QK / 2; j++) {
            const int lo = min_int(15, (int8_t)((x[j] - min) * id + 0.5f));
            const int hi = min_int(15, (int8_t)((x[j + OG_QK / 2] - min) * id + 0.5f));
            b[i].qs[j] = (uint8_t)(lo | (hi << 4));
        }
    }
}

/* Packs 32 five-bit codes into nibbles plus the qh bit mask. */
static void pack_q5(const int codes[OG_QK], uint8_t qs[OG_QK / 2], uint8_t qh[4])
{
    uint32_t high = 0;
    for (int j = 0; j < OG_QK / 2; j++) {
        qs[j] = (uint8_t)((codes[j] & 0x0F) | ((codes[j + OG_QK / 2] & 0x0F) << 4));
        high |= (uint32_t)((codes[j] >> 4) & 1) << j;
        high |= (uint32_t)((codes[j + OG_QK / 2] >> 4) & 1) << (j + OG_QK / 2);
    }
    memcpy(qh, &high, 4);
}

static void quantize_q5_0(const float *x, og_block_q5_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK) {
        const float d = block_signed_max(x) / -16.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int codes[OG_QK];
        for (int j = 0; j < OG_QK; j++)
            codes[j] = min_int(31, (int8_t)(x[j] * id + 16.5f));
        b[i].d = og_f32_to_fp16(d);
        pack_q5(codes, b[i].qs, b[i].qh);
    }
}

static void quantize_q5_1(const float *x, og_block_q5_1 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK) {
        float min, max;
        block_min_max(x, &min, &max);
        const float d = (max - min) / 31.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        int codes[OG_QK];
        /* ggml does not clamp here; 31 only guards against float excess. */
        for (int j = 0; j < OG_QK; j++)
            codes[j] = min_int(31, (uint8_t)((x[j] - min) * id + 0.5f));
        b[i].d = og_f32_to_fp16(d);
        b[i].m = og_f32_to_fp16(min);
        pack_q5(codes, b[i].qs, b[i].qh);
    }
}

/* ggml's reference Q8_0 (used for weights): 1/d and roundf. */
static void quantize_q8_0(const float *x, og_block_q8_0 *b, int64_t nb)
{
    for (int64_t i = 0; i < nb; i++, x += OG_QK) {
        const float d = block_absmax(x) / 127.0f;
        const float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = og_f32_to_fp16(d);
        for (int j = 0; j < OG_QK; j++)
            b[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

bool og_quantize_row_ref(og_type type, const float *x, void *dst, int64_t n)
{
    if (n < 0 || (n > 0 && og_type_row_bytes(type, n) == 0))
        return false;
    const int64_t nb = n / OG_QK;
    switch (type) {
    case OG_TYPE_F32: f32_from_float(x, dst, n); return true;
    case OG_TYPE_F16: f16_from_float(x, dst, n); return true;
    case OG_TYPE_BF16: bf16_from_float(x, dst, n); return true;
    case OG_TYPE_Q4_0: quantize_q4_0(x, dst, nb); return true;
    case OG_TYPE_Q4_1: quantize_q4_1(x, dst, nb); return true;
    case OG_TYPE_Q5_0: quantize_q5_0(x, dst, nb); return true;
    case OG_TYPE_Q5_1: quantize_q5_1(x, dst, nb); return true;
    case OG_TYPE_Q8_0: quantize_q8_0(x, dst, nb); return true;
    default: return og_quantize_row_k_ref(type, x, dst, n);
    }
}

void og_ref_install(og_kernels *k)
{
    k->vec_dot[OG_TYPE_F32] = vec_dot_f32;
    k->vec_dot[OG_TYPE_F16] = vec_dot_f16;
    k->vec_dot[OG_TYPE_BF16] = vec_dot_bf16;
    k->vec_dot[OG_TYPE_Q4_0] = vec_dot_q4_0;
    k->vec_dot[OG_TYPE_Q4_1] = vec_dot_q4_1;
    k->vec_dot[OG_TYPE_Q5_0] = vec_dot_q5_0;
    k->vec_dot[OG_TYPE_Q5_1] = vec_dot_q5_1;
    k->vec_dot[OG_TYPE_Q8_0] = vec_dot_q8_0;
    k->gemm[OG_TYPE_F32] = gemm_f32;
    k->gemm[OG_TYPE_F16] = gemm_f16;
    k->gemm[OG_TYPE_Q4_0_X16] = og_packed_q4_0_gemm_ref;
    k->gemm[OG_TYPE_Q4_1_X16] = og_packed_q4_1_gemm_ref;
    k->gemm[OG_TYPE_Q8_0_X16] = og_packed_q8_0_gemm_ref;

    k->from_float[OG_TYPE_F32] = f32_from_float;
    k->from_float[OG_TYPE_F16] = f16_from_float;
    k->from_float[OG_TYPE_BF16] = bf16_from_float;
    k->from_float[OG_TYPE_Q8_0] = q8_0_from_float;
    k->from_float[OG_TYPE_Q8_0U] = q8_0u_from_float;
    k->from_float[OG_TYPE_Q8_1] = q8_1_from_float;

    k->to_float[OG_TYPE_F32] = f32_to_float;
    k->to_float[OG_TYPE_F16] = f16_to_float;
    k->to_float[OG_TYPE_BF16] = bf16_to_float;
    k->to_float[OG_TYPE_Q4_0] = q4_0_to_float;
    k->to_float[OG_TYPE_Q4_1] = q4_1_to_float;
    k->to_float[OG_TYPE_Q5_0] = q5_0_to_float;
    k->to_float[OG_TYPE_Q5_1] = q5_1_to_float;
    k->to_float[OG_TYPE_Q8_0] = q8_0_to_float;
    k->to_float[OG_TYPE_Q8_1] = q8_1_to_float;
}
