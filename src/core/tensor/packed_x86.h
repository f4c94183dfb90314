/*
 * packed_x86.h - private, included by quants_x86.h: the packed Q4_0 gemm
 * (layout and order in packed.h) for AVX-512 VNNI and for AVX2.
 *
 * Per group of 16 rows and block, the 4 x 64 code bytes give 8 vectors
 * of unsigned codes u = q + 8 (low and high nibbles), 4 elements of each
 * of 16 rows per 32-bit lane. Each activation word of 4 bytes, broadcast,
 * meets them in one vpdpbusd (or maddubs + madd with AVX2), which sums
 * its lane's 4 products exactly; the 8 of a block are added in int32 onto
 * base = -8 * (the sum of the block's activations), which removes the
 * +8 of u. The result is each row's exact block sum, and one fmadd per
 * block and token applies dw * da, so every output lane computes
 * fmaf((float)isum, dw * da, acc) in block order: the reference's order.
 */
#ifndef OG_TENSOR_PACKED_X86_H
#define OG_TENSOR_PACKED_X86_H

#include "tensor/packed.h"

/* Per token chunk, each activation block's base and d are computed once. */
enum { PK_BUF = 4096, PK_MAX_T = 8 };

static inline int pk_load32(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* -8 * the sum of a Q8_0 block's 32 codes, and its scale as a float. */
static inline void pk_prepare(const og_block_q8_0 *blk, int32_t *base, float *d)
{
    const __m256i y = _mm256_loadu_si256((const __m256i *)blk->qs);
    const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), y);
    *base = -8 * x86_hsum_epi32(_mm256_madd_epi16(pairs, _mm256_set1_epi16(1)));
    *d = og_fp16_to_f32(blk->d);
}

#if X86_WIDE
/* T tokens (a constant after inlining) against one group of 16 rows. */
X86_INLINE void pk_tile(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride,
                        const int32_t *base, const float *da, int T, float *y, size_t y_stride)
{
    __m512 acc[PK_MAX_T];
    for (int t = 0; t < T; t++)
        acc[t] = _mm512_setzero_ps();
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * OG_PACK_ROWS * sizeof(og_block_q4_0);
        _mm_prefetch((const char *)blk + X86_PF_BYTES, _MM_HINT_T0);
        _mm_prefetch((const char *)blk + X86_PF_BYTES + 64, _MM_HINT_T0);
        _mm_prefetch((const char *)blk + X86_PF_BYTES + 128, _MM_HINT_T0);
        _mm_prefetch((const char *)blk + X86_PF_BYTES + 192, _MM_HINT_T0);
        _mm_prefetch((const char *)blk + X86_PF_BYTES + 256, _MM_HINT_T0);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        __m512i u[8];
        for (int k = 0; k < 4; k++) {
            const __m512i raw = _mm512_loadu_si512((const void *)(blk + 2 * OG_PACK_ROWS + 64 * k));
            u[k] = _mm512_and_si512(raw, m4);
            u[k + 4] = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
        }
        for (int t = 0; t < T; t++) {
            const int8_t *aq = ((const og_block_q8_0 *)(acts + (size_t)t * act_stride) + b)->qs;
            const size_t ab = (size_t)t * (size_t)nb + (size_t)b;
            __m512i s0 = _mm512_set1_epi32(base[ab]), s1 = _mm512_setzero_si512();
            s0 = _mm512_dpbusd_epi32(s0, u[0], _mm512_set1_epi32(pk_load32(aq)));
            s1 = _mm512_dpbusd_epi32(s1, u[1], _mm512_set1_epi32(pk_load32(aq + 4)));
            s0 = _mm512_dpbusd_epi32(s0, u[2], _mm512_set1_epi32(pk_load32(aq + 8)));
            s1 = _mm512_dpbusd_epi32(s1, u[3], _mm512_set1_epi32(pk_load32(aq + 12)));
            s0 = _mm512_dpbusd_epi32(s0, u[4], _mm512_set1_epi32(pk_load32(aq + 16)));
            s1 = _mm512_dpbusd_epi32(s1, u[5], _mm512_set1_epi32(pk_load32(aq + 20)));
            s0 = _mm512_dpbusd_epi32(s0, u[6], _mm512_set1_epi32(pk_load32(aq + 24)));
            s1 = _mm512_dpbusd_epi32(s1, u[7], _mm512_set1_epi32(pk_load32(aq + 28)));
            const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(da[ab]));
            acc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(s0, s1)), d, acc[t]);
        }
    }
    for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * y_stride, acc[t]);
}
#else
/* AVX2: the two halves of 8 rows one after the other (16 registers hold
 * one half's 8 code vectors). maddubs pairs sum at most 2 * 15 * 127, and
 * eight of them 30480, so the int16 sums are exact. */
X86_INLINE void pk_tile(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride,
                        const int32_t *base, const float *da, int T, float *y, size_t y_stride)
{
    for (int h = 0; h < 2; h++) {
        __m256 acc[PK_MAX_T];
        for (int t = 0; t < T; t++)
            acc[t] = _mm256_setzero_ps();
        const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = group + (size_t)b * OG_PACK_ROWS * sizeof(og_block_q4_0);
            if (h == 0)
                for (int o = 0; o < 288; o += 64)
                    _mm_prefetch((const char *)blk + X86_PF_BYTES + o, _MM_HINT_T0);
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            __m256i u[8];
            for (int k = 0; k < 4; k++) {
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + 2 * OG_PACK_ROWS + 64 * k + 32 * h));
                u[k] = _mm256_and_si256(raw, m4);
                u[k + 4] = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
            }
            for (int t = 0; t < T; t++) {
                const int8_t *aq = ((const og_block_q8_0 *)(acts + (size_t)t * act_stride) + b)->qs;
                const size_t ab = (size_t)t * (size_t)nb + (size_t)b;
                __m256i s = _mm256_maddubs_epi16(u[0], _mm256_set1_epi32(pk_load32(aq)));
                for (int k = 1; k < 8; k++)
                    s = _mm256_add_epi16(s, _mm256_maddubs_epi16(u[k], _mm256_set1_epi32(pk_load32(aq + 4 * k))));
                const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(s, ones), _mm256_set1_epi32(base[ab]));
                const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(da[ab]));
                acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum), d, acc[t]);
            }
        }
        for (int t = 0; t < T; t++)
            _mm256_storeu_ps(y + (size_t)t * y_stride + 8 * h, acc[t]);
    }
}
#endif

/* The tokens of a chunk against one full group: tiles of 8, 4, 2, 1. */
static void pk_group(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, const int32_t *base,
                     const float *da, int32_t nt, float *y, size_t y_stride)
{
    int32_t t = 0;
#define PK_TILES(T)                                                                                          \
    for (; t + (T) <= nt; t += (T))                                                                          \
        pk_tile(group, nb, acts + (size_t)t * act_stride, act_stride, base + (size_t)t * nb, da + (size_t)t * nb, \
                (T), y + (size_t)t * y_stride, y_stride);
    PK_TILES(PK_MAX_T)
    PK_TILES(4)
    PK_TILES(2)
    PK_TILES(1)
#undef PK_TILES
}

static void x86_packed_gemm_q4_0(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const int64_t nb = n / OG_QK;
    row_bytes = (size_t)nb * sizeof(og_block_q4_0);
    if (nb <= 0 || nb > PK_BUF) {
        og_packed_q4_0_gemm_ref(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride);
        return;
    }
    int32_t base[PK_BUF];
    float da[PK_BUF];
    const int32_t chunk = (int32_t)(PK_BUF / nb);
    for (int32_t t0 = 0; t0 < n_tokens; t0 += chunk) {
        const int32_t nt = n_tokens - t0 < chunk ? n_tokens - t0 : chunk;
        const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;
        for (int32_t t = 0; t < nt; t++)
            for (int64_t b = 0; b < nb; b++)
                pk_prepare((const og_block_q8_0 *)(a + (size_t)t * act_stride) + b, &base[t * nb + b],
                           &da[t * nb + b]);
        for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
            float *yg = y + (size_t)t0 * y_stride + (size_t)g;
            if (og_pack_group_rows(g, r1) < OG_PACK_ROWS) /* a last group of 8 rows */
                og_packed_q4_0_gemm_ref(n, w, row_bytes, g, r1, a, act_stride, nt, yg - g, y_stride);
            else
                pk_group((const uint8_t *)w + (size_t)g * row_bytes, nb, a, act_stride, base, da, nt, yg, y_stride);
        }
    }
}

#endif
