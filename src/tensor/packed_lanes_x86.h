/*
 * packed_lanes_x86.h - private, included by quants_x86.h: the packed Q8_0
 * and Q4_1 gemms (layout in packed.h) for AVX-512 VNNI and for AVX2.
 *
 * These keep the plain formats' order (og_lanes_block): each output has
 * 8 float lanes, lane l taking d * (the exact int32 sum of elements
 * 4l..4l+3) per block. In the packed layout code word k of a block holds
 * those 4 elements of every row of the group, so one vector op computes
 * lane k of 16 rows (8 with AVX2): vector k of the accumulators is lane k.
 * The lanes are added at the end in hsum_float_8's order, across the
 * vectors; Q4_1's min chain m * s is one more vector, fused per block.
 *
 * Q8_0 codes are stored as u = q + 128: vpdpbusd starts from
 * base = -128 * (the sum of the lane's 4 activations), so the int32 sum
 * is that of q exactly. AVX2 turns them back into q and multiplies with
 * the sign trick (|q| times the signed activation, maddubs cannot
 * saturate there). Q4_1 nibbles are unsigned already.
 */
#ifndef OG_TENSOR_PACKED_LANES_X86_H
#define OG_TENSOR_PACKED_LANES_X86_H

#include "tensor/packed.h"

enum { PL_Q8_0_BLOCK = OG_PACK_ROWS * sizeof(og_block_q8_0), PL_Q4_1_BLOCK = OG_PACK_ROWS * sizeof(og_block_q4_1) };

static inline int32_t pl_word(const int8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Always inlined: GCC 12 at -O3 takes a function made only of prefetches
 * for one without effects and deletes the calls, which had left these
 * kernels with none at all. */
X86_INLINE void pl_prefetch(const uint8_t *blk, int bytes)
{
    for (int o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)blk + X86_PF_BYTES + o, _MM_HINT_T0);
}

/* One token's activations worked out once per call (each thread's part
 * of a product) instead of once per group of rows: Q8_0's lane bases
 * (-128 times each 4-byte word's sum, which vpdpbusd's unsigned codes
 * need; AVX-512 only) and scales, Q4_1's scales and sums, as floats. The
 * scalar fp16 conversions and the base's vpdpbusd were a third of the
 * mat-vec's work per block. */
enum { PL_PREP_BLOCKS = 512 };
typedef struct pl_prep {
    _Alignas(64) int32_t base[PL_PREP_BLOCKS * 8];
    float d[PL_PREP_BLOCKS], s[PL_PREP_BLOCKS];
} pl_prep;

static void pl_prepare_q8_0(const og_block_q8_0 *act, int64_t nb, pl_prep *prep)
{
    for (int64_t b = 0; b < nb; b++) {
#if X86_WIDE
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), _mm256_loadu_si256((const __m256i *)act[b].qs));
        const __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
        _mm256_store_si256((__m256i *)(prep->base + 8 * b), _mm256_mullo_epi32(words, _mm256_set1_epi32(-128)));
#endif
        prep->d[b] = og_fp16_to_f32(act[b].d);
    }
}

static void pl_prepare_q4_1(const og_block_q8_1 *act, int64_t nb, pl_prep *prep)
{
    for (int64_t b = 0; b < nb; b++) {
        prep->d[b] = og_fp16_to_f32(act[b].d);
        prep->s[b] = og_fp16_to_f32(act[b].s);
    }
}

#if X86_WIDE
enum { PL_LANES = 16, PL_T = 2 };
typedef __m512 pl_fv;

/* hsum_float_8 over the lane vectors, for all 16 rows at once. */
X86_INLINE __m512 pl_hsum(const __m512 lane[8])
{
    const __m512 r0 = _mm512_add_ps(lane[0], lane[4]), r1 = _mm512_add_ps(lane[1], lane[5]);
    const __m512 r2 = _mm512_add_ps(lane[2], lane[6]), r3 = _mm512_add_ps(lane[3], lane[7]);
    return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

/* T tokens (a constant after inlining) against one group of 16 rows.
 * With prep (one token), each block's lane bases and scale come from
 * pl_prepare_q8_0 instead of being worked out again for every group. */
X86_INLINE void pl_tile_q8_0(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep *prep, float *y, size_t y_stride)
{
    __m512 acc[PL_T][8];
    for (int t = 0; t < T; t++)
        for (int k = 0; k < 8; k++)
            acc[t][k] = _mm512_setzero_ps();
    const __m256i bias = _mm256_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * PL_Q8_0_BLOCK;
        pl_prefetch(blk, PL_Q8_0_BLOCK);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const int8_t *aq[PL_T];
        _Alignas(32) int32_t base_buf[PL_T][8];
        const int32_t *base[PL_T];
        __m512 d[PL_T];
        for (int t = 0; t < T; t++) {
            const og_block_q8_0 *ab = (const og_block_q8_0 *)(acts + (size_t)t * act_stride) + b;
            aq[t] = ab->qs;
            if (prep) {
                base[t] = prep->base + 8 * b;
                d[t] = _mm512_mul_ps(dw, _mm512_set1_ps(prep->d[b]));
                continue;
            }
            const __m256i sum = _mm256_dpbusd_epi32(_mm256_setzero_si256(), bias, _mm256_loadu_si256((const __m256i *)ab->qs));
            _mm256_store_si256((__m256i *)base_buf[t], _mm256_sub_epi32(_mm256_setzero_si256(), sum));
            base[t] = base_buf[t];
            d[t] = _mm512_mul_ps(dw, _mm512_set1_ps(og_fp16_to_f32(ab->d)));
        }
        for (int k = 0; k < 8; k++) {
            const __m512i u = _mm512_loadu_si512((const void *)(blk + 2 * OG_PACK_ROWS + 64 * k));
            for (int t = 0; t < T; t++) {
                const __m512i s = _mm512_dpbusd_epi32(_mm512_set1_epi32(base[t][k]), u, _mm512_set1_epi32(pl_word(aq[t] + 4 * k)));
                acc[t][k] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(s), acc[t][k]);
            }
        }
    }
    for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * y_stride, pl_hsum(acc[t]));
}

X86_INLINE void pl_tile_q4_1(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep *prep, float *y, size_t y_stride)
{
    __m512 acc[PL_T][8], summs[PL_T];
    for (int t = 0; t < T; t++) {
        summs[t] = _mm512_setzero_ps();
        for (int k = 0; k < 8; k++)
            acc[t][k] = _mm512_setzero_ps();
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * PL_Q4_1_BLOCK;
        pl_prefetch(blk, PL_Q4_1_BLOCK);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const __m512 mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 2 * OG_PACK_ROWS)));
        const int8_t *aq[PL_T];
        __m512 d[PL_T];
        for (int t = 0; t < T; t++) {
            const og_block_q8_1 *ab = (const og_block_q8_1 *)(acts + (size_t)t * act_stride) + b;
            aq[t] = ab->qs;
            const float da = prep ? prep->d[b] : og_fp16_to_f32(ab->d), sa = prep ? prep->s[b] : og_fp16_to_f32(ab->s);
            d[t] = _mm512_mul_ps(dw, _mm512_set1_ps(da));
            summs[t] = _mm512_fmadd_ps(mw, _mm512_set1_ps(sa), summs[t]);
        }
        for (int k = 0; k < 4; k++) {
            const __m512i raw = _mm512_loadu_si512((const void *)(blk + 4 * OG_PACK_ROWS + 64 * k));
            const __m512i lo = _mm512_and_si512(raw, m4), hi = _mm512_and_si512(_mm512_srli_epi16(raw, 4), m4);
            for (int t = 0; t < T; t++) {
                const __m512i zero = _mm512_setzero_si512();
                const __m512i slo = _mm512_dpbusd_epi32(zero, lo, _mm512_set1_epi32(pl_word(aq[t] + 4 * k)));
                const __m512i shi = _mm512_dpbusd_epi32(zero, hi, _mm512_set1_epi32(pl_word(aq[t] + 16 + 4 * k)));
                acc[t][k] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(slo), acc[t][k]);
                acc[t][k + 4] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(shi), acc[t][k + 4]);
            }
        }
    }
    for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * y_stride, _mm512_add_ps(pl_hsum(acc[t]), summs[t]));
}
#else
/* AVX2: the two halves of 8 rows one after the other, one token at a time
 * (8 lane accumulators fill half the registers). */
enum { PL_LANES = 8, PL_T = 1 };

X86_INLINE __m256 pl_hsum(const __m256 lane[8])
{
    const __m256 r0 = _mm256_add_ps(lane[0], lane[4]), r1 = _mm256_add_ps(lane[1], lane[5]);
    const __m256 r2 = _mm256_add_ps(lane[2], lane[6]), r3 = _mm256_add_ps(lane[3], lane[7]);
    return _mm256_add_ps(_mm256_add_ps(r0, r2), _mm256_add_ps(r1, r3));
}

X86_INLINE void pl_tile_q8_0(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep *prep, float *y, size_t y_stride)
{
    (void)T, (void)act_stride, (void)y_stride;
    const __m256i bias = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[8];
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = group + (size_t)b * PL_Q8_0_BLOCK;
            if (h == 0)
                pl_prefetch(blk, PL_Q8_0_BLOCK);
            const og_block_q8_0 *ab = (const og_block_q8_0 *)acts + b;
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(prep ? prep->d[b] : og_fp16_to_f32(ab->d)));
            for (int k = 0; k < 8; k++) {
                const __m256i q = _mm256_xor_si256(
                    _mm256_loadu_si256((const __m256i *)(blk + 2 * OG_PACK_ROWS + 64 * k + 32 * h)), bias);
                const __m256i a = _mm256_set1_epi32(pl_word(ab->qs + 4 * k));
                const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
                acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), acc[k]);
            }
        }
        _mm256_storeu_ps(y + 8 * h, pl_hsum(acc));
    }
}

X86_INLINE void pl_tile_q4_1(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep *prep, float *y, size_t y_stride)
{
    (void)T, (void)act_stride, (void)y_stride;
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[8], summs = _mm256_setzero_ps();
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = group + (size_t)b * PL_Q4_1_BLOCK;
            if (h == 0)
                pl_prefetch(blk, PL_Q4_1_BLOCK);
            const og_block_q8_1 *ab = (const og_block_q8_1 *)acts + b;
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            const __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 2 * OG_PACK_ROWS + 16 * h)));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(prep ? prep->d[b] : og_fp16_to_f32(ab->d)));
            summs = _mm256_fmadd_ps(mw, _mm256_set1_ps(prep ? prep->s[b] : og_fp16_to_f32(ab->s)), summs);
            for (int k = 0; k < 4; k++) {
                const __m256i raw = _mm256_loadu_si256((const __m256i *)(blk + 4 * OG_PACK_ROWS + 64 * k + 32 * h));
                const __m256i lo = _mm256_and_si256(raw, m4), hi = _mm256_and_si256(_mm256_srli_epi16(raw, 4), m4);
                const __m256i plo = _mm256_maddubs_epi16(lo, _mm256_set1_epi32(pl_word(ab->qs + 4 * k)));
                const __m256i phi = _mm256_maddubs_epi16(hi, _mm256_set1_epi32(pl_word(ab->qs + 16 + 4 * k)));
                acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(plo, ones)), acc[k]);
                acc[k + 4] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(phi, ones)), acc[k + 4]);
            }
        }
        _mm256_storeu_ps(y + 8 * h, _mm256_add_ps(pl_hsum(acc), summs));
    }
}
#endif

/* Per chunk of tokens (their activations stay in L2), every group of the
 * range, in tiles of PL_T tokens then single ones. */
#define PL_GEMM(name, type, ref, act_block)                                                                      \
    static void x86_packed_gemm_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,  \
                                       const void *acts, size_t act_stride, int32_t n_tokens, float *y,     \
                                       size_t y_stride)                                                     \
    {                                                                                                        \
        const int64_t nb = n / OG_QK;                                                                        \
        row_bytes = og_packed_row_bytes(type, n);                                                                \
        pl_prep prep_buf, *prep = NULL;                                                                      \
        if (n_tokens == 1 && nb <= PL_PREP_BLOCKS) {                                             \
            pl_prepare_##name((const act_block *)acts, nb, &prep_buf);                                      \
            prep = &prep_buf;                                                                                \
        }                                                                                                    \
        for (int32_t t0 = 0; t0 < n_tokens; t0 += X86_TOKEN_CHUNK) {                                         \
            const int32_t nt = n_tokens - t0 < X86_TOKEN_CHUNK ? n_tokens - t0 : X86_TOKEN_CHUNK;            \
            const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;                              \
            for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {                                                \
                float *yg = y + (size_t)t0 * y_stride + (size_t)g;                                           \
                const uint8_t *group = (const uint8_t *)w + (size_t)g * row_bytes;                           \
                if (og_pack_group_rows(g, r1) < OG_PACK_ROWS) {                                              \
                    ref(n, w, row_bytes, g, r1, a, act_stride, nt, yg - g, y_stride);                        \
                    continue;                                                                                \
                }                                                                                            \
                if (prep) {                                                                                  \
                    pl_tile_##name(group, nb, a, act_stride, 1, prep, yg, y_stride);                         \
                    continue;                                                                                \
                }                                                                                            \
                int32_t t = 0;                                                                               \
                for (; PL_T > 1 && t + PL_T <= nt; t += PL_T)                                                \
                    pl_tile_##name(group, nb, a + (size_t)t * act_stride, act_stride, PL_T, NULL,            \
                                   yg + (size_t)t * y_stride, y_stride);                                     \
                for (; t < nt; t++)                                                                          \
                    pl_tile_##name(group, nb, a + (size_t)t * act_stride, act_stride, 1, NULL,               \
                                   yg + (size_t)t * y_stride, y_stride);                                     \
            }                                                                                                \
        }                                                                                                    \
    }

PL_GEMM(q8_0, OG_TYPE_Q8_0_X16, og_packed_q8_0_gemm_ref, og_block_q8_0)
PL_GEMM(q4_1, OG_TYPE_Q4_1_X16, og_packed_q4_1_gemm_ref, og_block_q8_1)

#endif
