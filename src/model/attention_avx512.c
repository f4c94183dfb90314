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

/* lanes[l][i] holds the fma chain of the keys j with j % n_lanes == l;
 * the chains run over i in vectors of 16. Two lanes at a time when their
 * accumulators fit in registers, so that twice as many chains overlap. */
X_INLINE void chain_lanes(float *lanes, int lane, int n_pair, int n_lanes, const float *p, int32_t n_keys,
                          const og_fp16 *v, size_t v_stride, int32_t hd, int nb)
{
    __m512 acc[2][8];
    for (int c = 0; c < n_pair; c++)
        for (int b = 0; b < nb; b++)
            acc[c][b] = _mm512_setzero_ps();
    int32_t j = lane;
    for (; j + (n_pair - 1) < n_keys; j += n_lanes)
        for (int c = 0; c < n_pair; c++) {
            const __m512 pj = _mm512_set1_ps(p[j + c]);
            const og_fp16 *row = v + (size_t)(j + c) * v_stride;
            for (int b = 0; b < nb; b++)
                acc[c][b] = _mm512_fmadd_ps(load16(row + b * LANES), pj, acc[c][b]);
        }
    if (j < n_keys) { /* the pair's first lane has one key more */
        const __m512 pj = _mm512_set1_ps(p[j]);
        const og_fp16 *row = v + (size_t)j * v_stride;
        for (int b = 0; b < nb; b++)
            acc[0][b] = _mm512_fmadd_ps(load16(row + b * LANES), pj, acc[0][b]);
    }
    for (int c = 0; c < n_pair; c++)
        for (int b = 0; b < nb; b++)
            _mm512_storeu_ps(lanes + (size_t)(lane + c) * hd + b * LANES, acc[c][b]);
}

static void chains(float *lanes, int n_lanes, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride,
                   int32_t hd)
{
    const int nb = hd / LANES;
    if (nb <= 4) {
        for (int lane = 0; lane < n_lanes; lane += 2)
            chain_lanes(lanes, lane, 2, n_lanes, p, n_keys, v, v_stride, hd, nb);
        return;
    }
    for (int lane = 0; lane < n_lanes; lane++) {
        __m512 acc[16];
        for (int b = 0; b < nb; b++)
            acc[b] = _mm512_setzero_ps();
        for (int32_t j = lane; j < n_keys; j += n_lanes) {
            const __m512 pj = _mm512_set1_ps(p[j]);
            const og_fp16 *row = v + (size_t)j * v_stride;
            for (int b = 0; b < nb; b++)
                acc[b] = _mm512_fmadd_ps(load16(row + b * LANES), pj, acc[b]);
        }
        for (int b = 0; b < nb; b++)
            _mm512_storeu_ps(lanes + (size_t)lane * hd + b * LANES, acc[b]);
    }
}

/* out[i] = og_reduce16 over lanes[0..16)[i], vectorized over i. */
static void reduce_lanes(float *out, const float *lanes, int32_t hd)
{
    for (int32_t i = 0; i < hd; i += LANES) {
        __m512 t8[8], t4[4];
        for (int l = 0; l < 8; l++)
            t8[l] = _mm512_add_ps(_mm512_loadu_ps(lanes + (size_t)(l + 8) * hd + i),
                                  _mm512_loadu_ps(lanes + (size_t)l * hd + i));
        for (int l = 0; l < 4; l++)
            t4[l] = _mm512_add_ps(t8[l + 4], t8[l]);
        _mm512_storeu_ps(out + i, _mm512_add_ps(_mm512_add_ps(t4[0], t4[2]), _mm512_add_ps(t4[1], t4[3])));
    }
}

static void values_chain(float *out, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride, int32_t hd,
                         float *scratch)
{
    chains(scratch, LANES, p, n_keys, v, v_stride, hd);
    reduce_lanes(out, scratch, hd);
}

static void values_blocks(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                          size_t v_stride, int32_t hd, float *scratch)
{
    /* Slot a * 16 + k takes the keys j with j % 64 == a * 16 + k. */
    chains(scratch, 4 * LANES, p, n_simd, v, v_stride, hd);
    for (int32_t i = 0; i < hd; i += LANES)
        for (int k = 0; k < LANES; k++) {
            float *s0 = scratch + (size_t)k * hd + i, *s1 = s0 + (size_t)LANES * hd;
            const float *s2 = s1 + (size_t)LANES * hd, *s3 = s2 + (size_t)LANES * hd;
            const __m512 a0 = _mm512_add_ps(_mm512_loadu_ps(s0), _mm512_loadu_ps(s2));
            const __m512 a1 = _mm512_add_ps(_mm512_loadu_ps(s1), _mm512_loadu_ps(s3));
            _mm512_storeu_ps(s0, _mm512_add_ps(a0, a1));
        }
    reduce_lanes(out, scratch, hd);
    for (int32_t i = 0; i < hd; i++) {
        double sum = out[i];
        for (int32_t j = n_simd; j < n_keys; j++)
            sum += (double)(_cvtsh_ss(v[(size_t)j * v_stride + i]) * p[j]);
        out[i] = (float)sum;
    }
}

/* Four keys at a time: their chains are independent, so they overlap
 * instead of waiting on each other's fmadd latency. */
static void scores_chain(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                         int32_t n_keys, float scale)
{
    int32_t j = 0;
    for (; j + 4 <= n_keys; j += 4) {
        const og_fp16 *k0 = keys + (size_t)j * k_stride;
        __m512 acc[4] = { _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps() };
        for (int32_t l = 0; l < hd; l += LANES) {
            const __m512 ql = _mm512_loadu_ps(q + l);
            for (int a = 0; a < 4; a++)
                acc[a] = _mm512_fmadd_ps(load16(k0 + (size_t)a * k_stride + l), ql, acc[a]);
        }
        for (int a = 0; a < 4; a++)
            scores[j + a] = reduce16(acc[a]) * scale;
    }
    for (; j < n_keys; j++)
        scores[j] = dot_chain(keys + (size_t)j * k_stride, q, hd) * scale;
}

/* dot_blocks for four keys at a time when the head is whole blocks of 64
 * (so no remainder to add in double): the same fmadds and folds per key. */
static void scores_blocks(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                          int32_t n_keys, float scale)
{
    int32_t j = 0;
    if (hd % 64 == 0)
        for (; j + 4 <= n_keys; j += 4) {
            const og_fp16 *k0 = keys + (size_t)j * k_stride;
            __m512 acc[4][4];
            for (int a = 0; a < 4; a++)
                for (int c = 0; c < 4; c++)
                    acc[a][c] = _mm512_setzero_ps();
            for (int32_t l = 0; l < hd; l += 64)
                for (int c = 0; c < 4; c++) {
                    const __m512 ql = _mm512_loadu_ps(q + l + c * LANES);
                    for (int a = 0; a < 4; a++)
                        acc[a][c] = _mm512_fmadd_ps(load16(k0 + (size_t)a * k_stride + l + c * LANES), ql, acc[a][c]);
                }
            for (int a = 0; a < 4; a++) {
                const __m512 s02 = _mm512_add_ps(acc[a][0], acc[a][2]), s13 = _mm512_add_ps(acc[a][1], acc[a][3]);
                scores[j + a] = reduce16(_mm512_add_ps(s02, s13)) * scale; /* no remainder in double */
            }
        }
    for (; j < n_keys; j++)
        scores[j] = dot_blocks(keys + (size_t)j * k_stride, q, hd) * scale;
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

static const og_attn_kernels avx512 = { dot_chain,    dot_blocks,    values_chain, values_blocks,
                                        scores_chain, scores_blocks, softmax_fp16 };

const og_attn_kernels *og_attn_kernels_avx512(void)
{
    const og_kernels *k = og_kernels_best();
    return strcmp(k->isa, "avx512") == 0 ? &avx512 : NULL;
}
