/*
 * rowops_f32_avx2.c - the encoder's row kernels (softmax_f32,
 * gelu_erf_f32) on AVX2+FMA, eight lanes at a time with the operations
 * of the scalar element functions (rowops_f32.h) in the same order, so
 * the bits are theirs. The vector exp covers |n| <= 125 (n = round(x /
 * ln 2)), where p * 2^n is a normal float and one float product gives
 * what the scalar path's double product rounds to; a vector with any lane
 * outside that (or NaN) takes the scalar path.
 */
#include <immintrin.h>

#include "tensor/kernels_impl.h"
#include "tensor/rowops_f32.h"

static inline __m256 set1(float v) { return _mm256_set1_ps(v); }

/* og_expf_poly on 8 lanes; *ok cleared when a lane is out of its range. */
static inline __m256 exp8(__m256 x, int *ok)
{
    const __m256 sign = set1(-0.0f), shift = set1(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, set1(0x1.715476p+0f), shift);
    const __m256 n = _mm256_sub_ps(z, shift), neg_n = _mm256_xor_ps(n, sign);
    const __m256 b = _mm256_fmadd_ps(neg_n, set1(0x1.7f7d1cp-20f), _mm256_fmadd_ps(neg_n, set1(0x1.62e4p-1f), x));
    if (_mm256_movemask_ps(_mm256_cmp_ps(_mm256_andnot_ps(sign, n), set1(125.0f), _CMP_NLE_UQ)))
        *ok = 0;
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 p = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(set1(0x1.0e4020p-7f), b, set1(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(set1(0x1.555e66p-3f), b, set1(0x1.fffdb6p-2f))),
        u, _mm256_fmadd_ps(set1(0x1.ffffecp-1f), b, set1(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* og_reduce16 of the 16 lanes lo, hi: (hi + lo) halved down to one. */
static inline float reduce16(__m256 lo, __m256 hi)
{
    const __m256 v = _mm256_add_ps(lo, hi);
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

void og_softmax_f32_avx2(float *x, int64_t n)
{
    __m256 vmax = set1(-INFINITY);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        vmax = _mm256_max_ps(_mm256_loadu_ps(x + i), vmax); /* a NaN lane keeps vmax, as the scalar test does */
    float lanes[8], max = -INFINITY;
    _mm256_storeu_ps(lanes, vmax);
    for (int k = 0; k < 8; k++)
        max = lanes[k] > max ? lanes[k] : max;
    for (; i < n; i++)
        max = x[i] > max ? x[i] : max;
    const __m256 vm = set1(max);
    double sum = 0.0;
    for (i = 0; i + 16 <= n; i += 16) {
        int ok = 1;
        __m256 lo = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm), &ok);
        __m256 hi = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i + 8), vm), &ok);
        if (!ok) {
            float chunk[16];
            for (int k = 0; k < 16; k++)
                chunk[k] = og_expf_poly(x[i + k] - max);
            lo = _mm256_loadu_ps(chunk);
            hi = _mm256_loadu_ps(chunk + 8);
        }
        _mm256_storeu_ps(x + i, lo);
        _mm256_storeu_ps(x + i + 8, hi);
        sum += (double)reduce16(lo, hi);
    }
    if (i < n) { /* the last chunk, padded with zeros */
        float chunk[16];
        for (int k = 0; k < 16; k++)
            chunk[k] = i + k >= n ? 0.0f : og_expf_poly(x[i + k] - max);
        for (int k = 0; i + k < n; k++)
            x[i + k] = chunk[k];
        sum += (double)og_reduce16(chunk);
    }
    const float inv = (float)(1.0 / sum);
    const __m256 vinv = set1(inv);
    for (i = 0; i + 8 <= n; i += 8)
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
    for (; i < n; i++)
        x[i] *= inv;
}

void og_gelu_erf_f32_avx2(float *x, int64_t n)
{
    const __m256 sign = set1(-0.0f), one = set1(1.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const __m256 v = _mm256_loadu_ps(x + i);
        const __m256 z = _mm256_mul_ps(v, set1(OG_SQRT1_2)), a = _mm256_andnot_ps(sign, z);
        const __m256 t = _mm256_div_ps(one, _mm256_fmadd_ps(set1(OG_ERF_P), a, one));
        __m256 poly = _mm256_fmadd_ps(set1(OG_ERF_A5), t, set1(OG_ERF_A4));
        poly = _mm256_fmadd_ps(poly, t, set1(OG_ERF_A3));
        poly = _mm256_fmadd_ps(poly, t, set1(OG_ERF_A2));
        poly = _mm256_mul_ps(t, _mm256_fmadd_ps(poly, t, set1(OG_ERF_A1)));
        int ok = 1;
        const __m256 e = exp8(_mm256_xor_ps(_mm256_mul_ps(a, a), sign), &ok);
        if (!ok) {
            for (int k = 0; k < 8; k++)
                x[i + k] = og_gelu_erf_one(x[i + k]);
            continue;
        }
        const __m256 q = _mm256_mul_ps(poly, e);
        const __m256 one_plus = _mm256_blendv_ps(q, _mm256_sub_ps(set1(2.0f), q), _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_GE_OQ));
        _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_mul_ps(set1(0.5f), v), one_plus));
    }
    for (; i < n; i++)
        x[i] = og_gelu_erf_one(x[i]);
}
