/*
 * attention_avx512.c - AVX-512 versions of the attention inner loops of
 * attention.c. They run the same operations in the same order as the
 * portable code (one fused multiply-add per product, lanes folded in the
 * same tree), so they return the same bits, only faster.
 */
#include <immintrin.h>

#include "base/expf_avx512.h"
#include "model/attention.h"
#include "tensor/kernels.h"

#include <string.h>

#define LANES 16
#define X_INLINE static inline __attribute__((always_inline))

static inline __m512 load16(const og_fp16 *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

/* The lanes of v summed in og_reduce16's tree, written out so the result
 * does not depend on the compiler's _mm512_reduce_add_ps. */
static inline float reduce16(__m512 v)
{
    const __m256 hi = _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1));
    const __m256 t8 = _mm256_add_ps(hi, _mm512_castps512_ps256(v));
    const __m128 t4 = _mm_add_ps(_mm256_extractf128_ps(t8, 1), _mm256_castps256_ps128(t8));
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

static float dot_chain(const og_fp16 *k, const float *q, int32_t n)
{
    __m512 acc = _mm512_setzero_ps();
    for (int32_t l = 0; l < n; l += LANES)
        acc = _mm512_fmadd_ps(load16(k + l), _mm512_loadu_ps(q + l), acc);
    return reduce16(acc);
}

static float dot_blocks(const og_fp16 *k, const float *q, int32_t n)
{
    const int32_t n_simd = n & ~63;
    __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
    for (int32_t l = 0; l < n_simd; l += 64)
        for (int a = 0; a < 4; a++)
            acc[a] = _mm512_fmadd_ps(load16(k + l + a * LANES), _mm512_loadu_ps(q + l + a * LANES), acc[a]);
    acc[0] = _mm512_add_ps(acc[0], acc[2]);
    acc[1] = _mm512_add_ps(acc[1], acc[3]);
    double sum = reduce16(_mm512_add_ps(acc[0], acc[1]));
    for (int32_t i = n_simd; i < n; i++)
        sum += (double)(_cvtsh_ss(k[i]) * q[i]);
    return (float)sum;
}

/* og_reduce16 of each of v[0..16), as lane j of the result: the same
 * pairs added at each level of the tree, only sixteen rows at a time.
 * Level by level, rows are paired up and each level's halves are moved
 * side by side with shuffles, so one add does the work of several. */
static inline __m512 reduce16x16(const __m512 v[16])
{
    __m512 t8[8], t4[4], t2[2];
    for (int m = 0; m < 8; m++) /* lanes 0-7: v[2m]'s t8, lanes 8-15: v[2m+1]'s */
        t8[m] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)),
                              _mm512_shuffle_f32x4(v[2 * m], v[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)));
    for (int m = 0; m < 4; m++) /* 128-bit chunk c: t4 of v[4m + c] */
        t4[m] = _mm512_add_ps(_mm512_shuffle_f32x4(t8[2 * m], t8[2 * m + 1], _MM_SHUFFLE(3, 1, 3, 1)),
                              _mm512_shuffle_f32x4(t8[2 * m], t8[2 * m + 1], _MM_SHUFFLE(2, 0, 2, 0)));
    for (int m = 0; m < 2; m++) /* chunk c: t2 of v[4(2m) + c], then of v[4(2m+1) + c] */
        t2[m] = _mm512_add_ps(_mm512_shuffle_ps(t4[2 * m], t4[2 * m + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                              _mm512_shuffle_ps(t4[2 * m], t4[2 * m + 1], _MM_SHUFFLE(3, 2, 3, 2)));
    /* chunk c: the sums of v[c], v[4 + c], v[8 + c], v[12 + c] */
    const __m512 sums = _mm512_add_ps(_mm512_shuffle_ps(t2[0], t2[1], _MM_SHUFFLE(2, 0, 2, 0)),
                                      _mm512_shuffle_ps(t2[0], t2[1], _MM_SHUFFLE(3, 1, 3, 1)));
    const __m512i order = _mm512_setr_epi32(0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15);
    return _mm512_permutexvar_ps(order, sums);
}

/* Lane by lane, the same tree over sixteen vectors (og_reduce16 of
 * r[0..16)[i] for each i): plain vertical adds. */
static inline __m512 tree16(const __m512 r[16])
{
    __m512 t8[8], t4[4];
    for (int l = 0; l < 8; l++)
        t8[l] = _mm512_add_ps(r[l + 8], r[l]);
    for (int l = 0; l < 4; l++)
        t4[l] = _mm512_add_ps(t8[l + 4], t8[l]);
    return _mm512_add_ps(_mm512_add_ps(t4[0], t4[2]), _mm512_add_ps(t4[1], t4[3]));
}

/* Lane k of the one-chain order takes the keys j % 16 == k; the lanes
 * are folded in og_reduce16's tree. The sixteen chains of a block of
 * dimensions advance together, key by key, in registers. */
static void values_chain(float *out, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride, int32_t hd,
                         float *scratch)
{
    (void)scratch;
    for (int32_t i = 0; i < hd; i += LANES) {
        __m512 r[16];
        for (int k = 0; k < LANES; k++)
            r[k] = _mm512_setzero_ps();
        for (int32_t base = 0; base < n_keys; base += LANES) {
            const int n_lanes = n_keys - base < LANES ? n_keys - base : LANES;
            for (int k = 0; k < n_lanes; k++)
                r[k] = _mm512_fmadd_ps(load16(v + (size_t)(base + k) * v_stride + i), _mm512_set1_ps(p[base + k]),
                                       r[k]);
        }
        _mm512_storeu_ps(out + i, tree16(r));
    }
}

/* Sixteen keys at a time: their chains are independent, so they overlap
 * instead of waiting on each other's fmadd latency, and their lanes are
 * folded together by reduce16x16. */
static void scores_chain(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                         int32_t n_keys, float scale)
{
    const __m512 vscale = _mm512_set1_ps(scale);
    int32_t j = 0;
    for (; j + 16 <= n_keys; j += 16) {
        __m512 acc[16];
        for (int a = 0; a < 16; a++) {
            const og_fp16 *key = keys + (size_t)(j + a) * k_stride;
            acc[a] = _mm512_setzero_ps();
            for (int32_t l = 0; l < hd; l += LANES)
                acc[a] = _mm512_fmadd_ps(load16(key + l), _mm512_loadu_ps(q + l), acc[a]);
        }
        _mm512_storeu_ps(scores + j, _mm512_mul_ps(reduce16x16(acc), vscale));
    }
    for (; j < n_keys; j++)
        scores[j] = dot_chain(keys + (size_t)j * k_stride, q, hd) * scale;
}

/* scores_blocks for N queries at once (hd a multiple of 64): each key's
 * vectors are loaded and widened once and multiplied into every query's
 * four chains, which are each query's own fmadds in its own order. Keys
 * go sixteen at a time, the last few too: a lane past n_keys multiplies
 * zeros and is not stored, and no lane's sum depends on another's. */
X_INLINE void scores_multi_n(float *scores, size_t s_stride, const og_fp16 *keys, size_t k_stride, const float *q,
                             const int n_q, int32_t hd, int32_t n_keys, float scale)
{
    const __m512 vscale = _mm512_set1_ps(scale);
    for (int32_t j = 0; j < n_keys; j += 16) {
        const int n_lanes = n_keys - j < 16 ? n_keys - j : 16;
        __m512 folded[OG_ATTN_MULTI][16];
        for (int a = 0; a < 16; a++) {
            if (a >= n_lanes) {
                for (int h = 0; h < n_q; h++)
                    folded[h][a] = _mm512_setzero_ps();
                continue;
            }
            const og_fp16 *key = keys + (size_t)(j + a) * k_stride;
            __m512 acc[OG_ATTN_MULTI][4];
            for (int h = 0; h < n_q; h++)
                for (int c = 0; c < 4; c++)
                    acc[h][c] = _mm512_setzero_ps();
            for (int32_t l = 0; l < hd; l += 64)
                for (int c = 0; c < 4; c++) {
                    const __m512 kv = load16(key + l + c * LANES);
                    for (int h = 0; h < n_q; h++)
                        acc[h][c] = _mm512_fmadd_ps(kv, _mm512_loadu_ps(q + (size_t)h * hd + l + c * LANES), acc[h][c]);
                }
            for (int h = 0; h < n_q; h++)
                folded[h][a] = _mm512_add_ps(_mm512_add_ps(acc[h][0], acc[h][2]), _mm512_add_ps(acc[h][1], acc[h][3]));
        }
        const __mmask16 stored = (__mmask16)((1u << n_lanes) - 1);
        for (int h = 0; h < n_q; h++)
            _mm512_mask_storeu_ps(scores + (size_t)h * s_stride + j, stored,
                                  _mm512_mul_ps(reduce16x16(folded[h]), vscale));
    }
}

/* Key j's value vector (16 dimensions at i) times each query's weight,
 * onto that query's chain a. */
X_INLINE void add_value(__m512 acc[][4], int a, const int n_q, const float *p, size_t p_stride, int32_t j,
                        const og_fp16 *v, size_t v_stride, int32_t i)
{
    const __m512 vj = load16(v + (size_t)j * v_stride + i);
    for (int h = 0; h < n_q; h++)
        acc[h][a] = _mm512_fmadd_ps(vj, _mm512_set1_ps(p[(size_t)h * p_stride + j]), acc[h][a]);
}

static inline __m512d widen_lo(__m512 x)
{
    return _mm512_cvtps_pd(_mm512_castps512_ps256(x));
}

static inline __m512d widen_hi(__m512 x)
{
    return _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1)));
}

/* values_blocks for N weight rows at once: each value vector is loaded
 * and widened once and multiplied into every row's chains. */
X_INLINE void values_multi_n(float *out, const float *p, size_t p_stride, const int n_q, int32_t n_keys,
                             int32_t n_simd, const og_fp16 *v, size_t v_stride, int32_t hd)
{
    const int32_t whole = n_simd / 64 * 64; /* keys of whole rounds; a last partial one is checked key by key */
    for (int32_t i = 0; i < hd; i += LANES) {
        __m512 r[OG_ATTN_MULTI][16];
        for (int k = 0; k < LANES; k++) {
            __m512 acc[OG_ATTN_MULTI][4];
            for (int h = 0; h < n_q; h++)
                for (int a = 0; a < 4; a++)
                    acc[h][a] = _mm512_setzero_ps();
            for (int32_t base = 0; base < whole; base += 64)
                for (int a = 0; a < 4; a++)
                    add_value(acc, a, n_q, p, p_stride, base + a * LANES + k, v, v_stride, i);
            for (int a = 0; a < 4; a++)
                if (whole + a * LANES + k < n_simd)
                    add_value(acc, a, n_q, p, p_stride, whole + a * LANES + k, v, v_stride, i);
            for (int h = 0; h < n_q; h++)
                r[h][k] = _mm512_add_ps(_mm512_add_ps(acc[h][0], acc[h][2]), _mm512_add_ps(acc[h][1], acc[h][3]));
        }
        __m512d lo[OG_ATTN_MULTI], hi[OG_ATTN_MULTI];
        for (int h = 0; h < n_q; h++) {
            const __m512 folded = tree16(r[h]);
            lo[h] = widen_lo(folded);
            hi[h] = widen_hi(folded);
        }
        for (int32_t j = n_simd; j < n_keys; j++) {
            const __m512 vj = load16(v + (size_t)j * v_stride + i);
            for (int h = 0; h < n_q; h++) {
                const __m512 prod = _mm512_mul_ps(vj, _mm512_set1_ps(p[(size_t)h * p_stride + j]));
                lo[h] = _mm512_add_pd(lo[h], widen_lo(prod));
                hi[h] = _mm512_add_pd(hi[h], widen_hi(prod));
            }
        }
        for (int h = 0; h < n_q; h++) {
            _mm256_storeu_ps(out + (size_t)h * hd + i, _mm512_cvtpd_ps(lo[h]));
            _mm256_storeu_ps(out + (size_t)h * hd + i + 8, _mm512_cvtpd_ps(hi[h]));
        }
    }
}

static void values_blocks_multi(float *out, const float *p, size_t p_stride, int n_q, int32_t n_keys, int32_t n_simd,
                                const og_fp16 *v, size_t v_stride, int32_t hd, float *scratch)
{
    (void)scratch;
    switch (n_q) { /* constant counts, so the loops over queries unroll; 1 to OG_ATTN_MULTI */
    case 1: values_multi_n(out, p, p_stride, 1, n_keys, n_simd, v, v_stride, hd); break;
    case 2: values_multi_n(out, p, p_stride, 2, n_keys, n_simd, v, v_stride, hd); break;
    case 3: values_multi_n(out, p, p_stride, 3, n_keys, n_simd, v, v_stride, hd); break;
    case 4: values_multi_n(out, p, p_stride, 4, n_keys, n_simd, v, v_stride, hd); break;
    default: break;
    }
}

/* One query: slot a * 16 + k takes the keys j % 64 == a * 16 + k below
 * n_simd; the four slots of lane k are folded as (a0 + a2) + (a1 + a3),
 * then the lanes in og_reduce16's tree, and the keys from n_simd on are
 * added in double, key by key, sixteen dimensions at a time. */
static void values_blocks(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                          size_t v_stride, int32_t hd, float *scratch)
{
    (void)scratch;
    values_multi_n(out, p, 0, 1, n_keys, n_simd, v, v_stride, hd);
}

/* dot_blocks for sixteen keys at a time when the head is whole blocks of
 * 64 (so no remainder to add in double), else key by key. */
static void scores_blocks(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                          int32_t n_keys, float scale)
{
    if (hd % 64 == 0) {
        scores_multi_n(scores, 0, keys, k_stride, q, 1, hd, n_keys, scale);
        return;
    }
    for (int32_t j = 0; j < n_keys; j++)
        scores[j] = dot_blocks(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void scores_blocks_multi(float *scores, size_t s_stride, const og_fp16 *keys, size_t k_stride, const float *q,
                                int n_q, int32_t hd, int32_t n_keys, float scale)
{
    if (hd % 64 != 0) {
        for (int h = 0; h < n_q; h++)
            scores_blocks(scores + (size_t)h * s_stride, keys, k_stride, q + (size_t)h * hd, hd, n_keys, scale);
        return;
    }
    switch (n_q) { /* as in values_blocks_multi */
    case 1: scores_multi_n(scores, s_stride, keys, k_stride, q, 1, hd, n_keys, scale); break;
    case 2: scores_multi_n(scores, s_stride, keys, k_stride, q, 2, hd, n_keys, scale); break;
    case 3: scores_multi_n(scores, s_stride, keys, k_stride, q, 3, hd, n_keys, scale); break;
    case 4: scores_multi_n(scores, s_stride, keys, k_stride, q, 4, hd, n_keys, scale); break;
    default: break;
    }
}

/* og_ops_softmax's chunks of 16 (a short last one padded with zeros),
 * each chunk's sum in reduce16's tree added in double. */
static void softmax_fp16(float *x, int32_t n)
{
    __m512 vmax = _mm512_set1_ps(-__builtin_inff());
    for (int32_t i = 0; i < n; i += LANES) {
        const __mmask16 m = n - i >= LANES ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(-__builtin_inff()), m, x + i));
    }
    const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    double sum = 0.0;
    for (int32_t i = 0; i < n; i += LANES) {
        const __mmask16 m = n - i >= LANES ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 e = _mm512_maskz_mov_ps(m, og_expf_poly16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), max)));
        _mm512_mask_storeu_ps(x + i, m, e);
        sum += (double)reduce16(e);
    }
    const __m512 inv = _mm512_set1_ps((float)(1.0 / sum));
    for (int32_t i = 0; i < n; i += LANES) {
        const __mmask16 m = n - i >= LANES ? 0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 p = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv);
        const __m512 r = _mm512_cvtph_ps(_mm512_cvtps_ph(p, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
        _mm512_mask_storeu_ps(x + i, m, r);
    }
}

static void to_fp16(og_fp16 *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; i += LANES)
        _mm256_storeu_si256((__m256i *)(dst + i),
                            _mm512_cvtps_ph(_mm512_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

static void round_fp16(float *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; i += LANES)
        _mm512_storeu_ps(dst + i, _mm512_cvtph_ps(_mm512_cvtps_ph(_mm512_loadu_ps(src + i),
                                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
}

static const og_attn_kernels avx512 = { LANES, 64, dot_chain,           dot_blocks,          values_chain, values_blocks,
                                        scores_chain,        scores_blocks,       softmax_fp16, scores_blocks_multi,
                                        values_blocks_multi, to_fp16,             round_fp16 };

const og_attn_kernels *og_attn_kernels_avx512(void)
{
    const og_kernels *k = og_kernels_best();
    return strcmp(k->isa, "avx512") == 0 ? &avx512 : NULL;
}
