/*
 * attention.h - the inner loops of attention, with a portable version in
 * attention.c and an AVX-512 one in attention_avx512.c that computes the
 * same values bit for bit (same operations, same order).
 */
#ifndef OG_MODEL_ATTENTION_H
#define OG_MODEL_ATTENTION_H

#include <stddef.h>
#include <stdint.h>

#include "base/fp16.h"

/* Most query heads the multi kernels take at once. */
enum { OG_ATTN_MULTI = 4 };

typedef struct og_attn_kernels {
    /* The lanes of the fp16 products and the elements per step of the
     * one-token dot product: 16 and 64 (llama.cpp's AVX-512 build) or 8
     * and 32 (its AVX2 build); the comments below say 16 and 64. */
    int32_t lanes, block;
    /* k[0..n) . q[0..n) as one 16-lane fma chain (n % 16 == 0). */
    float (*dot_chain)(const og_fp16 *k, const float *q, int32_t n);
    /* The same with four 16-lane accumulators over blocks of 64 and the
     * remainder summed in double. */
    float (*dot_blocks)(const og_fp16 *k, const float *q, int32_t n);
    /* out[i] = sum over j < n_keys of p[j] * v[j * v_stride + i] for
     * i < hd, in the order matching dot_chain (lane j % 16) or dot_blocks
     * (blocks of 64 up to n_simd, the rest in double). scratch holds
     * 64 * hd floats. */
    void (*values_chain)(float *out, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride,
                         int32_t hd, float *scratch);
    void (*values_blocks)(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                          size_t v_stride, int32_t hd, float *scratch);
    /* scores[j] = dot_chain(keys + j * k_stride, q, hd) * scale, j < n_keys. */
    void (*scores_chain)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                         int32_t n_keys, float scale);
    /* The same with dot_blocks (one-token attention). */
    void (*scores_blocks)(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                          int32_t n_keys, float scale);
    /* og_ops_softmax over x[0..n), then each value rounded to fp16. */
    void (*softmax_fp16)(float *x, int32_t n);
    /* One token's heads that share a kv head, n_q <= OG_ATTN_MULTI of
     * them, queries at q + h * hd: scores_blocks and values_blocks for
     * each, their rows h * stride apart (scores, p) and out + h * hd, the
     * keys and values read once for all. Same values as one by one. */
    void (*scores_blocks_multi)(float *scores, size_t s_stride, const og_fp16 *keys, size_t k_stride,
                                const float *q, int n_q, int32_t hd, int32_t n_keys, float scale);
    void (*values_blocks_multi)(float *out, const float *p, size_t p_stride, int n_q, int32_t n_keys,
                                int32_t n_simd, const og_fp16 *v, size_t v_stride, int32_t hd, float *scratch);
    /* dst[i] = og_f32_to_fp16(src[i]), i < n (n % 16 == 0 for AVX-512;
     * a NaN may keep its payload). */
    void (*to_fp16)(og_fp16 *dst, const float *src, int32_t n);
    /* dst[i] = src[i] rounded to fp16 and back, i < n (n % 16 == 0 for
     * AVX-512; a NaN may keep its payload): a query as llama.cpp's fp16
     * products see it. */
    void (*round_fp16)(float *dst, const float *src, int32_t n);
} og_attn_kernels;

/* The portable versions for 16 or 8 lanes, the reference the others
 * must equal; NULL for any other lane count. */
const og_attn_kernels *og_attn_kernels_portable(int32_t lanes);

/* The AVX-512 versions, or NULL when this build or CPU lacks them. Only
 * usable for head dimensions that are multiples of 16. */
const og_attn_kernels *og_attn_kernels_avx512(void);

/* The AVX2 versions for 16 or 8 lanes, or NULL when this build or CPU
 * lacks them. Only usable for head dimensions that are multiples of 8. */
const og_attn_kernels *og_attn_kernels_avx2(int32_t lanes);

/* The fastest of them that handles heads of head_dim, in the order of
 * the llama.cpp build og_llama_build_order names. */
const og_attn_kernels *og_attn_kernels_for(int32_t head_dim);

#endif
