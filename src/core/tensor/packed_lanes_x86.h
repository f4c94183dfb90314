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
 * Q8_0 weight codes are stored as u = q + 128 and its activations
 * (OG_TYPE_Q8_0U) as qu = a + 128. vpdpbusd multiplies unsigned by signed
 * bytes, and either side can be the unsigned one; what it then adds is
 * removed by starting from a base, so the int32 sums are exact:
 *  - one token: u times a, from base = -128 * (the sum of the lane's 4
 *    activations), worked out once per call;
 *  - several tokens: qu times q, from base = -128 * (the sum of the
 *    lane's 4 weights of each row), one vector per block and lane that
 *    all the tokens of a tile share; per-token bases would be 8 broadcasts
 *    per block and token, and loads, not arithmetic, bounded that loop.
 * AVX2 turns both back into signed codes and multiplies with the sign
 * trick (|q| times the signed activation, maddubs cannot saturate there).
 * Q4_1 nibbles are unsigned already.
 */
#ifndef OG_TENSOR_PACKED_LANES_X86_H
#define OG_TENSOR_PACKED_LANES_X86_H

#include "tensor/packed.h"

enum { PL_Q8_0_BLOCK = OG_PACK_ROWS * sizeof(og_block_q8_0), PL_Q4_1_BLOCK = OG_PACK_ROWS * sizeof(og_block_q4_1) };

static inline int32_t pl_word(const void *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* Always inlined: GCC 12 at -O3 takes a function made only of prefetches
 * for one without effects and deletes the calls, which had left these
 * kernels with none at all. In gemm only a group's first tile of tokens
 * streams it from memory; the others find it in cache, where prefetches
 * only take load slots. */
X86_INLINE void pl_prefetch(const uint8_t *blk, int bytes)
{
    for (int o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)blk + X86_PF_BYTES + o, _MM_HINT_T0);
}

/* One token's activations worked out once per call (each thread's part
 * of a product) instead of once per group of rows: Q8_0's signed codes
 * and lane bases (AVX-512 only), Q4_1's scales and sums as floats. The
 * scalar fp16 conversions and the base's vpdpbusd were a third of the
 * mat-vec's work per block. */
enum { PL_PREP_BLOCKS = 512 };
typedef struct pl_prep_q4_1 {
    float d[PL_PREP_BLOCKS], s[PL_PREP_BLOCKS];
} pl_prep_q4_1;

static void pl_prepare_q4_1(const og_block_q8_1 *act, int64_t nb, pl_prep_q4_1 *prep)
{
    for (int64_t b = 0; b < nb; b++) {
        prep->d[b] = _cvtsh_ss(act[b].d);
        prep->s[b] = _cvtsh_ss(act[b].s);
    }
}

#if X86_WIDE
/* Tokens per tile: Q8_0 keeps 8 lane accumulators per token, Q4_1 also
 * its min chain, in 32 registers with the block's codes and scales. */
enum { PL_LANES = 16, PL_T_Q8_0 = 3, PL_T_Q4_1 = 2 };

/* hsum_float_8 over the lane vectors, for all 16 rows at once. */
X86_INLINE __m512 pl_hsum(const __m512 lane[8])
{
    const __m512 r0 = _mm512_add_ps(lane[0], lane[4]), r1 = _mm512_add_ps(lane[1], lane[5]);
    const __m512 r2 = _mm512_add_ps(lane[2], lane[6]), r3 = _mm512_add_ps(lane[3], lane[7]);
    return _mm512_add_ps(_mm512_add_ps(r0, r2), _mm512_add_ps(r1, r3));
}

typedef struct pl_prep_q8_0 {
    _Alignas(64) int32_t base[PL_PREP_BLOCKS * 8];
    int8_t qs[PL_PREP_BLOCKS * OG_QK];
    float d[PL_PREP_BLOCKS];
} pl_prep_q8_0;

static void pl_prepare_q8_0(const og_block_q8_0u *act, int64_t nb, pl_prep_q8_0 *prep)
{
    for (int64_t b = 0; b < nb; b++) {
        const __m256i q = _mm256_xor_si256(_mm256_loadu_si256((const __m256i *)act[b].qu), _mm256_set1_epi8((char)0x80));
        _mm256_storeu_si256((__m256i *)(prep->qs + OG_QK * b), q);
        const __m256i pairs = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
        const __m256i words = _mm256_madd_epi16(pairs, _mm256_set1_epi16(1));
        _mm256_store_si256((__m256i *)(prep->base + 8 * b), _mm256_mullo_epi32(words, _mm256_set1_epi32(-128)));
        prep->d[b] = act[b].d;
    }
}

/* One token against one group of 16 rows: u times a from the prepared
 * activation bases. */
X86_INLINE void pl_matvec_q8_0(const uint8_t *group, int64_t nb, const pl_prep_q8_0 *prep, float *y)
{
    __m512 acc[8];
    for (int k = 0; k < 8; k++)
        acc[k] = _mm512_setzero_ps();
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * PL_Q8_0_BLOCK;
        pl_prefetch(blk, PL_Q8_0_BLOCK);
        const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk)),
                                       _mm512_set1_ps(prep->d[b]));
        for (int k = 0; k < 8; k++) {
            const __m512i u = _mm512_loadu_si512((const void *)(blk + 2 * OG_PACK_ROWS + 64 * k));
            const __m512i s = _mm512_dpbusd_epi32(_mm512_set1_epi32(prep->base[8 * b + k]), u,
                                                  _mm512_set1_epi32(pl_word(prep->qs + OG_QK * b + 4 * k)));
            acc[k] = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(s), acc[k]);
        }
    }
    _mm512_storeu_ps(y, pl_hsum(acc));
}

/* T tokens (a constant after inlining) against one group of 16 rows: qu
 * times q from the weights' lane bases, shared by the tile's tokens. */
X86_INLINE void pl_tile_q8_0(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             bool prefetch, float *y, size_t y_stride)
{
    __m512 acc[PL_T_Q8_0][8];
    for (int t = 0; t < T; t++)
        for (int k = 0; k < 8; k++)
            acc[t][k] = _mm512_setzero_ps();
    const __m512i bias = _mm512_set1_epi8((char)0x80);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * PL_Q8_0_BLOCK;
        if (prefetch)
            pl_prefetch(blk, PL_Q8_0_BLOCK);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const og_block_q8_0u *ab[PL_T_Q8_0];
        __m512 d[PL_T_Q8_0];
        for (int t = 0; t < T; t++) {
            ab[t] = (const og_block_q8_0u *)(acts + (size_t)t * act_stride) + b;
            d[t] = _mm512_mul_ps(dw, _mm512_set1_ps(ab[t]->d));
        }
        for (int k = 0; k < 8; k++) {
            const __m512i q = _mm512_xor_si512(_mm512_loadu_si512((const void *)(blk + 2 * OG_PACK_ROWS + 64 * k)), bias);
            const __m512i base = _mm512_sub_epi32(_mm512_setzero_si512(),
                                                  _mm512_dpbusd_epi32(_mm512_setzero_si512(), bias, q));
            for (int t = 0; t < T; t++) {
                const __m512i s = _mm512_dpbusd_epi32(base, _mm512_set1_epi32(pl_word(ab[t]->qu + 4 * k)), q);
                acc[t][k] = _mm512_fmadd_ps(d[t], _mm512_cvtepi32_ps(s), acc[t][k]);
            }
        }
    }
    for (int t = 0; t < T; t++)
        _mm512_storeu_ps(y + (size_t)t * y_stride, pl_hsum(acc[t]));
}

X86_INLINE void pl_tile_q4_1(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep_q4_1 *prep, bool prefetch, float *y, size_t y_stride)
{
    __m512 acc[PL_T_Q4_1][8], summs[PL_T_Q4_1];
    for (int t = 0; t < T; t++) {
        summs[t] = _mm512_setzero_ps();
        for (int k = 0; k < 8; k++)
            acc[t][k] = _mm512_setzero_ps();
    }
    const __m512i m4 = _mm512_set1_epi8(0x0F);
    for (int64_t b = 0; b < nb; b++) {
        const uint8_t *blk = group + (size_t)b * PL_Q4_1_BLOCK;
        if (prefetch)
            pl_prefetch(blk, PL_Q4_1_BLOCK);
        const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)blk));
        const __m512 mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(blk + 2 * OG_PACK_ROWS)));
        const int8_t *aq[PL_T_Q4_1];
        __m512 d[PL_T_Q4_1];
        for (int t = 0; t < T; t++) {
            const og_block_q8_1 *ab = (const og_block_q8_1 *)(acts + (size_t)t * act_stride) + b;
            aq[t] = ab->qs;
            const float da = prep ? prep->d[b] : _cvtsh_ss(ab->d), sa = prep ? prep->s[b] : _cvtsh_ss(ab->s);
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
enum { PL_LANES = 8, PL_T_Q8_0 = 1, PL_T_Q4_1 = 1 };

X86_INLINE __m256 pl_hsum(const __m256 lane[8])
{
    const __m256 r0 = _mm256_add_ps(lane[0], lane[4]), r1 = _mm256_add_ps(lane[1], lane[5]);
    const __m256 r2 = _mm256_add_ps(lane[2], lane[6]), r3 = _mm256_add_ps(lane[3], lane[7]);
    return _mm256_add_ps(_mm256_add_ps(r0, r2), _mm256_add_ps(r1, r3));
}

X86_INLINE void pl_tile_q8_0(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             bool prefetch, float *y, size_t y_stride)
{
    (void)T, (void)act_stride, (void)y_stride;
    const __m256i bias = _mm256_set1_epi8((char)0x80), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[8];
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = group + (size_t)b * PL_Q8_0_BLOCK;
            if (h == 0 && prefetch)
                pl_prefetch(blk, PL_Q8_0_BLOCK);
            const og_block_q8_0u *ab = (const og_block_q8_0u *)acts + b;
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(ab->d));
            for (int k = 0; k < 8; k++) {
                const __m256i q = _mm256_xor_si256(
                    _mm256_loadu_si256((const __m256i *)(blk + 2 * OG_PACK_ROWS + 64 * k + 32 * h)), bias);
                const __m256i a = _mm256_xor_si256(_mm256_set1_epi32(pl_word(ab->qu + 4 * k)), bias);
                const __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(q, q), _mm256_sign_epi8(a, q));
                acc[k] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(_mm256_madd_epi16(p, ones)), acc[k]);
            }
        }
        _mm256_storeu_ps(y + 8 * h, pl_hsum(acc));
    }
}

X86_INLINE void pl_tile_q4_1(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                             const pl_prep_q4_1 *prep, bool prefetch, float *y, size_t y_stride)
{
    (void)T, (void)act_stride, (void)y_stride;
    const __m256i m4 = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
    for (int h = 0; h < 2; h++) {
        __m256 acc[8], summs = _mm256_setzero_ps();
        for (int k = 0; k < 8; k++)
            acc[k] = _mm256_setzero_ps();
        for (int64_t b = 0; b < nb; b++) {
            const uint8_t *blk = group + (size_t)b * PL_Q4_1_BLOCK;
            if (h == 0 && prefetch)
                pl_prefetch(blk, PL_Q4_1_BLOCK);
            const og_block_q8_1 *ab = (const og_block_q8_1 *)acts + b;
            const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 16 * h)));
            const __m256 mw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(blk + 2 * OG_PACK_ROWS + 16 * h)));
            const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(prep ? prep->d[b] : _cvtsh_ss(ab->d)));
            summs = _mm256_fmadd_ps(mw, _mm256_set1_ps(prep ? prep->s[b] : _cvtsh_ss(ab->s)), summs);
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

/* Several tokens: per chunk of tokens (their activations stay in L2),
 * every group of the range, in tiles of max_t tokens then single ones; a
 * last partial group goes through the reference. */
#define PL_BATCH(name, max_t, ref)                                                                               \
    static void pl_batch_##name(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,              \
                                const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride) \
    {                                                                                                            \
        const int64_t nb = n / OG_QK;                                                                            \
        for (int32_t t0 = 0; t0 < n_tokens; t0 += X86_TOKEN_CHUNK) {                                             \
            const int32_t nt = n_tokens - t0 < X86_TOKEN_CHUNK ? n_tokens - t0 : X86_TOKEN_CHUNK;                \
            const uint8_t *a = (const uint8_t *)acts + (size_t)t0 * act_stride;                                  \
            for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {                                                    \
                float *yg = y + (size_t)t0 * y_stride + (size_t)g;                                               \
                const uint8_t *group = (const uint8_t *)w + (size_t)g * row_bytes;                               \
                if (og_pack_group_rows(g, r1) < OG_PACK_ROWS) {                                                  \
                    ref(n, w, row_bytes, g, r1, a, act_stride, nt, yg - g, y_stride);                            \
                    continue;                                                                                    \
                }                                                                                                \
                int32_t t = 0;                                                                                   \
                for (; (max_t) > 1 && t + (max_t) <= nt; t += (max_t))                                           \
                    pl_tile_##name(group, nb, a + (size_t)t * act_stride, act_stride, (max_t), t == 0,           \
                                   yg + (size_t)t * y_stride, y_stride);                                         \
                for (; t < nt; t++)                                                                              \
                    pl_tile_##name(group, nb, a + (size_t)t * act_stride, act_stride, 1, t == 0,                 \
                                   yg + (size_t)t * y_stride, y_stride);                                         \
            }                                                                                                    \
        }                                                                                                        \
    }

/* Q4_1 tiles of several tokens convert their scales themselves. */
X86_INLINE void pl_tile_q4_1_batch(const uint8_t *group, int64_t nb, const uint8_t *acts, size_t act_stride, int T,
                                   bool prefetch, float *y, size_t y_stride)
{
    pl_tile_q4_1(group, nb, acts, act_stride, T, NULL, prefetch, y, y_stride);
}

PL_BATCH(q8_0, PL_T_Q8_0, og_packed_q8_0_gemm_ref)
PL_BATCH(q4_1_batch, PL_T_Q4_1, og_packed_q4_1_gemm_ref)

/* One token, when the row fits the prepared buffers, goes through the
 * mat-vec forms (AVX-512 Q8_0: pl_matvec_q8_0). */
static void x86_packed_gemm_q8_0(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    row_bytes = og_packed_row_bytes(OG_TYPE_Q8_0_X16, n);
#if X86_WIDE
    const int64_t nb = n / OG_QK;
    if (n_tokens == 1 && nb <= PL_PREP_BLOCKS) {
        pl_prep_q8_0 prep;
        pl_prepare_q8_0(acts, nb, &prep);
        for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
            if (og_pack_group_rows(g, r1) < OG_PACK_ROWS)
                og_packed_q8_0_gemm_ref(n, w, row_bytes, g, r1, acts, act_stride, 1, y, y_stride);
            else
                pl_matvec_q8_0((const uint8_t *)w + (size_t)g * row_bytes, nb, &prep, y + g);
        }
        return;
    }
#endif
    pl_batch_q8_0(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride);
}

static void x86_packed_gemm_q4_1(int64_t n, const void *w, size_t row_bytes, int64_t r0, int64_t r1,
                                 const void *acts, size_t act_stride, int32_t n_tokens, float *y, size_t y_stride)
{
    const int64_t nb = n / OG_QK;
    row_bytes = og_packed_row_bytes(OG_TYPE_Q4_1_X16, n);
    if (n_tokens > 1 || nb > PL_PREP_BLOCKS) {
        pl_batch_q4_1_batch(n, w, row_bytes, r0, r1, acts, act_stride, n_tokens, y, y_stride);
        return;
    }
    pl_prep_q4_1 prep;
    pl_prepare_q4_1(acts, nb, &prep);
    for (int64_t g = r0; g < r1; g += OG_PACK_ROWS) {
        if (og_pack_group_rows(g, r1) < OG_PACK_ROWS)
            og_packed_q4_1_gemm_ref(n, w, row_bytes, g, r1, acts, act_stride, 1, y, y_stride);
        else
            pl_tile_q4_1((const uint8_t *)w + (size_t)g * row_bytes, nb, acts, act_stride, 1, &prep, true, y + g,
                         y_stride);
    }
}

#endif
