/*
 * quants_k_ref.c - portable reference kernels for the K formats (Q2_K,
 * Q3_K, Q4_K, Q5_K, Q6_K as weights, Q8_K as activations).
 *
 * Every K super-block is decoded into one common form: 256 small signed
 * integer codes, and per group of 16 an integer scale and an integer min,
 * with value = d * scale * code - dmin * min. Dequantization and the dot
 * product both work from that form, so each format's bit layout is
 * written down exactly once. The dot product keeps ggml's x86 order:
 * exact integer lane sums per super-block (min terms from Q8_K's bsums),
 * scaled into float lanes (og_k_mins), so the fast kernels, which must
 * equal this one, give llama.cpp's logits bit for bit.
 */
#include <math.h>

#include "tensor/blocks.h"
#include "tensor/kernels_impl.h"

#define GROUPS (OG_QK_K / 16)

typedef struct {
    int8_t code[OG_QK_K];
    int scale[GROUPS];
    int min[GROUPS];
    float d, dmin;
} k_decoded;

static void decode_q2_K(const void *blk, k_decoded *o)
{
    const og_block_q2_K *b = blk;
    o->d = og_h2f(b->d);
    o->dmin = og_h2f(b->dmin);
    for (int g = 0; g < GROUPS; g++) {
        o->scale[g] = b->scales[g] & 0x0F;
        o->min[g] = b->scales[g] >> 4;
    }
    /* Each 128-element half uses 32 bytes of qs; bit pair k of byte l is
     * element 32k + l of that half. */
    for (int half = 0; half < 2; half++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++)
                o->code[128 * half + 32 * k + l] = (int8_t)((b->qs[32 * half + l] >> (2 * k)) & 3);
}

static void decode_q3_K(const void *blk, k_decoded *o)
{
    const og_block_q3_K *b = blk;
    o->d = og_h2f(b->d);
    o->dmin = 0.0f;
    for (int g = 0; g < GROUPS; g++) {
        o->scale[g] = og_q3k_scale(g, b->scales);
        o->min[g] = 0;
    }
    /* Like Q2_K for the low bits; hmask bit (4*half + k) of byte l is the
     * third bit, and a clear bit means the code is 4 lower. */
    for (int half = 0; half < 2; half++)
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 32; l++) {
                const int low = (b->qs[32 * half + l] >> (2 * k)) & 3;
                const int high = (b->hmask[l] >> (4 * half + k)) & 1;
                o->code[128 * half + 32 * k + l] = (int8_t)(low - (high ? 0 : 4));
            }
}

/* Q4_K and Q5_K share the scale packing and the nibble order: within each
 * 64 elements, the first 32 are the low nibbles of 32 bytes of qs and the
 * next 32 the high nibbles. */
static void decode_k4_common(og_fp16 d, og_fp16 dmin, const uint8_t *scales, const uint8_t *qs,
                             k_decoded *o)
{
    o->d = og_h2f(d);
    o->dmin = og_h2f(dmin);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        og_k4_scale_min(j, scales, &sc, &m);
        o->scale[2 * j] = o->scale[2 * j + 1] = sc;
        o->min[2 * j] = o->min[2 * j + 1] = m;
    }
    for (int c = 0; c < 4; c++)
        for (int l = 0; l < 32; l++) {
            o->code[64 * c + l] = (int8_t)(qs[32 * c + l] & 0x0F);
            o->code[64 * c + 32 + l] = (int8_t)(qs[32 * c + l] >> 4);
        }
}

static void decode_q4_K(const void *blk, k_decoded *o)
{
    const og_block_q4_K *b = blk;
    decode_k4_common(b->d, b->dmin, b->scales, b->qs, o);
}

static void decode_q5_K(const void *blk, k_decoded *o)
{
    const og_block_q5_K *b = blk;
    decode_k4_common(b->d, b->dmin, b->scales, b->qs, o);
    /* Bit s of qh[l] is the fifth bit of element 32s + l. */
    for (int s = 0; s < 8; s++)
        for (int l = 0; l < 32; l++)
            o->code[32 * s + l] = (int8_t)(o->code[32 * s + l] | (((b->qh[l] >> s) & 1) << 4));
}

static void decode_q6_K(const void *blk, k_decoded *o)
{
    const og_block_q6_K *b = blk;
    o->d = og_h2f(b->d);
    o->dmin = 0.0f;
    for (int g = 0; g < GROUPS; g++) {
        o->scale[g] = b->scales[g];
        o->min[g] = 0;
    }
    /* Per 128-element half: 64 bytes of ql (low nibbles = elements 0..63,
     * high nibbles = 64..127, each 32 bytes apart) and 32 bytes of qh
     * holding the top 2 bits of elements l, l+32, l+64, l+96. */
    for (int half = 0; half < 2; half++) {
        const uint8_t *ql = b->ql + 64 * half, *qh = b->qh + 32 * half;
        int8_t *code = o->code + 128 * half;
        for (int l = 0; l < 32; l++) {
            code[l] = (int8_t)(((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32);
            code[l + 32] = (int8_t)(((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32);
            code[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            code[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
    }
}

typedef void (*k_decode_fn)(const void *blk, k_decoded *o);

static void k_to_float(k_decode_fn decode, size_t block_bytes, const void *src, float *dst, int64_t n)
{
    const uint8_t *p = src;
    k_decoded dec;
    for (int64_t i = 0; i < n / OG_QK_K; i++, p += block_bytes, dst += OG_QK_K) {
        decode(p, &dec);
        for (int g = 0; g < GROUPS; g++) {
            /* Same operation order as ggml, so results are bit-identical. */
            const float dl = dec.d * (float)dec.scale[g];
            const float ml = dec.dmin * (float)dec.min[g];
            for (int l = 0; l < 16; l++)
                dst[16 * g + l] = dl * (float)dec.code[16 * g + l] - ml;
        }
    }
}

/* ggml's x86 summation order (og_k_mins in blocks.h), which gives its
 * logits bit for bit. The integer sums within a lane are exact, so only
 * the float steps need to follow it. */
static void k_vec_dot(k_decode_fn decode, size_t block_bytes, og_k_mins mins, int64_t n, float *out,
                      const void *w_row, const void *act)
{
    const uint8_t *p = w_row;
    const og_block_q8_K *a = act;
    k_decoded dec;
    float acc[8] = { 0 }, acc_m[4] = { 0 }, sum_m = 0.0f;
    for (int64_t i = 0; i < n / OG_QK_K; i++, p += block_bytes) {
        decode(p, &dec);
        const int16_t *bs = a[i].bsums;
        const float d = a[i].d * dec.d, dmin = -a[i].d * dec.dmin;
        if (mins == OG_KMINS_LANES8)
            for (int k = 0; k < 8; k++)
                acc[k] = fmaf(dmin, (float)(dec.min[2 * k] * bs[2 * k] + dec.min[2 * k + 1] * bs[2 * k + 1]), acc[k]);
        else if (mins == OG_KMINS_LANES4)
            /* Sub-block s's min is min[2s]; its bsums are 2s and 2s+1. */
            for (int k = 0; k < 4; k++)
                acc_m[k] = fmaf(dmin,
                                (float)(dec.min[4 * k] * (bs[4 * k] + bs[4 * k + 1]) +
                                        dec.min[4 * k + 2] * (bs[4 * k + 2] + bs[4 * k + 3])),
                                acc_m[k]);
        else if (mins == OG_KMINS_SCALAR) {
            int m = 0;
            for (int s = 0; s < 8; s++)
                m += dec.min[2 * s] * (bs[2 * s] + bs[2 * s + 1]);
            sum_m = fmaf(dmin, (float)m, sum_m);
        }
        for (int k = 0; k < 8; k++) {
            int lane = 0;
            for (int c = 0; c < 8; c++) {
                const int e = 32 * c + 4 * k;
                int s = 0;
                for (int b = 0; b < 4; b++)
                    s += dec.code[e + b] * a[i].qs[e + b];
                lane += dec.scale[e / 16] * s;
            }
            acc[k] = fmaf(d, (float)lane, acc[k]);
        }
    }
    float sum = og_lanes_hsum(acc);
    if (mins == OG_KMINS_LANES4)
        sum += (acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]);
    else if (mins == OG_KMINS_SCALAR)
        sum += sum_m;
    *out = sum;
}

#define K_FORMAT(name, block, mins)                                                            \
    static void name##_to_float(const void *src, float *dst, int64_t n)                    \
    {                                                                                      \
        k_to_float(decode_##name, sizeof(block), src, dst, n);                             \
    }                                                                                      \
    static void vec_dot_##name##_q8_K(int64_t n, float *out, const void *w, const void *a) \
    {                                                                                      \
        k_vec_dot(decode_##name, sizeof(block), mins, n, out, w, a);                             \
    }

K_FORMAT(q2_K, og_block_q2_K, OG_KMINS_LANES8)
K_FORMAT(q3_K, og_block_q3_K, OG_KMINS_NONE)
K_FORMAT(q4_K, og_block_q4_K, OG_KMINS_LANES4)
K_FORMAT(q5_K, og_block_q5_K, OG_KMINS_SCALAR)
K_FORMAT(q6_K, og_block_q6_K, OG_KMINS_NONE)

/* ggml's x86 build uses its scalar reference for Q8_K too: the scale maps
 * the signed element of largest magnitude to -127 exactly, and rounding
 * is to nearest even (ggml's nearest_int). */
static void q8_K_from_float(const float *x, void *dst, int64_t n)
{
    og_block_q8_K *b = dst;
    for (int64_t i = 0; i < n / OG_QK_K; i++, x += OG_QK_K) {
        float amax = 0.0f, max = 0.0f;
        for (int j = 0; j < OG_QK_K; j++) {
            if (fabsf(x[j]) > amax) {
                amax = fabsf(x[j]);
                max = x[j];
            }
        }
        if (amax == 0.0f) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        const float iscale = -127.0f / max;
        for (int j = 0; j < OG_QK_K; j++) {
            const int v = (int)rintf(iscale * x[j]);
            b[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int g = 0; g < GROUPS; g++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += b[i].qs[16 * g + l];
            b[i].bsums[g] = (int16_t)s;
        }
        b[i].d = 1.0f / iscale;
    }
}

static void q8_K_to_float(const void *src, float *dst, int64_t n)
{
    const og_block_q8_K *b = src;
    for (int64_t i = 0; i < n / OG_QK_K; i++, dst += OG_QK_K)
        for (int j = 0; j < OG_QK_K; j++)
            dst[j] = b[i].d * (float)b[i].qs[j];
}

void og_ref_k_install(og_kernels *k)
{
    k->vec_dot[OG_TYPE_Q2_K] = vec_dot_q2_K_q8_K;
    k->vec_dot[OG_TYPE_Q3_K] = vec_dot_q3_K_q8_K;
    k->vec_dot[OG_TYPE_Q4_K] = vec_dot_q4_K_q8_K;
    k->vec_dot[OG_TYPE_Q5_K] = vec_dot_q5_K_q8_K;
    k->vec_dot[OG_TYPE_Q6_K] = vec_dot_q6_K_q8_K;
    k->to_float[OG_TYPE_Q2_K] = q2_K_to_float;
    k->to_float[OG_TYPE_Q3_K] = q3_K_to_float;
    k->to_float[OG_TYPE_Q4_K] = q4_K_to_float;
    k->to_float[OG_TYPE_Q5_K] = q5_K_to_float;
    k->to_float[OG_TYPE_Q6_K] = q6_K_to_float;
    k->to_float[OG_TYPE_Q8_K] = q8_K_to_float;
    k->from_float[OG_TYPE_Q8_K] = q8_K_from_float;
}
