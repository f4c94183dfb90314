/*
 * expf_avx512.h - og_expf_poly (numerics.h) on 16 lanes, for files built
 * with AVX-512. Every lane computes the scalar function's operations in
 * its order, so the results are the same bits.
 */
#ifndef OG_BASE_EXPF_AVX512_H
#define OG_BASE_EXPF_AVX512_H

#include <immintrin.h>

/* p * 2^n for 8 lanes, in double and rounded once, as numerics.h does. */
static inline __m256 og_scale_pow2_8(__m256 p, __m256 n)
{
    const __m512i e = _mm512_slli_epi64(_mm512_add_epi64(_mm512_cvtepi32_epi64(_mm256_cvtps_epi32(n)),
                                                         _mm512_set1_epi64(1023)), 52);
    return _mm512_cvtpd_ps(_mm512_mul_pd(_mm512_cvtps_pd(p), _mm512_castsi512_pd(e)));
}

static inline __m512 og_expf_poly16(__m512 x)
{
    const __m512 shift = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), shift);
    const __m512 n = _mm512_sub_ps(z, shift);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 big = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192.0f), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 p = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    /* lanes beyond +-192 take 0 or infinity; clamp n so 2^n stays valid */
    const __m512 nc = _mm512_min_ps(_mm512_max_ps(n, _mm512_set1_ps(-192.0f)), _mm512_set1_ps(192.0f));
    const __m512 r = _mm512_insertf32x8(_mm512_castps256_ps512(og_scale_pow2_8(_mm512_castps512_ps256(p),
                                                                                  _mm512_castps512_ps256(nc))),
                                        og_scale_pow2_8(_mm512_extractf32x8_ps(p, 1), _mm512_extractf32x8_ps(nc, 1)),
                                        1);
    const __mmask16 pos = _mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_GT_OQ);
    const __m512 special = _mm512_mask_blend_ps(pos, _mm512_setzero_ps(), _mm512_set1_ps(__builtin_inff()));
    return _mm512_mask_blend_ps(big, r, special);
}

#endif
