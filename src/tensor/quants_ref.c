/*
 * quants_ref.c - portable reference kernels for plain floats (F32, F16,
 * BF16) and the 32-wide block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1):
 * dequantization, activation quantization, dot products, and the weight
 * quantizers behind og_quantize_row_ref. Dot products work like ggml's:
 * an exact integer dot per block, then scaled by the two block scales.
 */
#include <float.h>
#include <math.h>

#include "tensor/blocks.h"
#include "tensor/kernels_impl.h"

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

/* Float dots accumulate in double like ggml's scalar path, so the
 * reference is the more accurate side of any comparison. */
static void vec_dot_f32(int64_t n, float *out, const void *w_row, const void *act)
{
    const float *w = w_row, *a = act;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)w[i] * (double)a[i];
    *out = (float)sum;
}

static void vec_dot_f16(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_fp16 *w = w_row, *a = act;
    double sum = 0;
    for (int64_t i = 0; i < n; i++)
        sum += (double)og_fp16_to_f32(w[i]) * (double)og_fp16_to_f32(a[i]);
    *out = (float)sum;
}

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

/* ---- dot products ---- */

static void vec_dot_q4_0_q8_0(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q4_0 *w = w_row;
    const og_block_q8_0 *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int isum = 0;
        for (int j = 0; j < OG_QK / 2; j++) {
            isum += ((w[i].qs[j] & 0x0F) - 8) * a[i].qs[j];
            isum += ((w[i].qs[j] >> 4) - 8) * a[i].qs[j + OG_QK / 2];
        }
        sum += (float)isum * og_h2f(w[i].d) * og_h2f(a[i].d);
    }
    *out = sum;
}

static void vec_dot_q4_1_q8_1(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q4_1 *w = w_row;
    const og_block_q8_1 *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int isum = 0;
        for (int j = 0; j < OG_QK / 2; j++) {
            isum += (w[i].qs[j] & 0x0F) * a[i].qs[j];
            isum += (w[i].qs[j] >> 4) * a[i].qs[j + OG_QK / 2];
        }
        sum += (float)isum * og_h2f(w[i].d) * og_h2f(a[i].d) + og_h2f(w[i].m) * og_h2f(a[i].s);
    }
    *out = sum;
}

static void vec_dot_q5_0_q8_0(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q5_0 *w = w_row;
    const og_block_q8_0 *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        const uint32_t high = og_q5_high_bits(w[i].qh);
        int isum = 0;
        for (int j = 0; j < OG_QK; j++)
            isum += (q5_value(w[i].qs, high, j) - 16) * a[i].qs[j];
        sum += (float)isum * og_h2f(w[i].d) * og_h2f(a[i].d);
    }
    *out = sum;
}

static void vec_dot_q5_1_q8_1(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q5_1 *w = w_row;
    const og_block_q8_1 *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        const uint32_t high = og_q5_high_bits(w[i].qh);
        int isum = 0;
        for (int j = 0; j < OG_QK; j++)
            isum += q5_value(w[i].qs, high, j) * a[i].qs[j];
        sum += (float)isum * og_h2f(w[i].d) * og_h2f(a[i].d) + og_h2f(w[i].m) * og_h2f(a[i].s);
    }
    *out = sum;
}

static void vec_dot_q8_0_q8_0(int64_t n, float *out, const void *w_row, const void *act)
{
    const og_block_q8_0 *w = w_row;
    const og_block_q8_0 *a = act;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / OG_QK; i++) {
        int isum = 0;
        for (int j = 0; j < OG_QK; j++)
            isum += w[i].qs[j] * a[i].qs[j];
        sum += (float)isum * og_h2f(w[i].d) * og_h2f(a[i].d);
    }
    *out = sum;
}

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
    default: return false;
    }
}

void og_ref_install(og_kernels *k)
{
    k->vec_dot[OG_TYPE_F32] = vec_dot_f32;
    k->vec_dot[OG_TYPE_F16] = vec_dot_f16;
    k->vec_dot[OG_TYPE_BF16] = vec_dot_bf16;
    k->vec_dot[OG_TYPE_Q4_0] = vec_dot_q4_0_q8_0;
    k->vec_dot[OG_TYPE_Q4_1] = vec_dot_q4_1_q8_1;
    k->vec_dot[OG_TYPE_Q5_0] = vec_dot_q5_0_q8_0;
    k->vec_dot[OG_TYPE_Q5_1] = vec_dot_q5_1_q8_1;
    k->vec_dot[OG_TYPE_Q8_0] = vec_dot_q8_0_q8_0;

    k->from_float[OG_TYPE_F32] = f32_from_float;
    k->from_float[OG_TYPE_F16] = f16_from_float;
    k->from_float[OG_TYPE_BF16] = bf16_from_float;
    k->from_float[OG_TYPE_Q8_0] = q8_0_from_float;
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
