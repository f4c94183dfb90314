/*
 * attention_avx2.c - AVX2 versions of the attention inner loops of
 * attention.c, for both lane widths of llama.cpp's fp16 products (16
 * lanes as its AVX-512 build sums them, 8 as its AVX2 build does). Like
 * attention_avx512.c they run the portable code's operations in its
 * order, so they return the same bits, only vectorized: the portable
 * loops compile to scalar code at -O2.
 */
#include <immintrin.h>
#include <string.h>

#include "model/attention.h"
#include "model/ops.h"
#include "tensor/kernels.h"

#define X_INLINE static inline __attribute__((always_inline))

static inline __m256 load8h(const og_fp16 *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

/* (t4[0] + t4[2]) + (t4[1] + t4[3]): the last two levels of og_reduce16
 * and og_reduce8. */
static inline float pair_tail(__m128 t4)
{
    const __m128 t2 = _mm_add_ps(t4, _mm_movehl_ps(t4, t4));
    return _mm_cvtss_f32(_mm_add_ss(t2, _mm_movehdup_ps(t2)));
}

/* For the eight dimensions at i: sums[s] = the fused chain over the keys
 * j < n_keys with j % S == s of p[j] * v[j][i], s < S (S a multiple of
 * 8). Eight chains at a time live in registers; each pass reads runs of
 * eight consecutive keys. */
X_INLINE void residue_chains(__m256 *sums, const int S, const float *p, int32_t n_keys, const og_fp16 *v,
                             size_t v_stride, int32_t i)
{
    for (int s0 = 0; s0 < S; s0 += 8) {
        __m256 r[8];
        for (int m = 0; m < 8; m++)
            r[m] = _mm256_setzero_ps();
        int32_t j0 = s0;
        for (; j0 + 8 <= n_keys; j0 += S)
            for (int m = 0; m < 8; m++)
                r[m] = _mm256_fmadd_ps(load8h(v + (size_t)(j0 + m) * v_stride + i), _mm256_broadcast_ss(p + j0 + m),
                                       r[m]);
        for (int m = 0; j0 + m < n_keys && m < 8; m++) /* the last, partial run */
            r[m] = _mm256_fmadd_ps(load8h(v + (size_t)(j0 + m) * v_stride + i), _mm256_broadcast_ss(p + j0 + m), r[m]);
        for (int m = 0; m < 8; m++)
            sums[s0 + m] = r[m];
    }
}

/* out[0..8) = folded + the keys n_simd <= j < n_keys, as the portable
 * code adds them: each product rounded to float, the sum in double. */
X_INLINE void store_with_rest(float *out, __m256 folded, const float *p, int32_t n_simd, int32_t n_keys,
                              const og_fp16 *v, size_t v_stride, int32_t i)
{
    __m256d lo = _mm256_cvtps_pd(_mm256_castps256_ps128(folded));
    __m256d hi = _mm256_cvtps_pd(_mm256_extractf128_ps(folded, 1));
    for (int32_t j = n_simd; j < n_keys; j++) {
        const __m256 prod = _mm256_mul_ps(load8h(v + (size_t)j * v_stride + i), _mm256_broadcast_ss(p + j));
        lo = _mm256_add_pd(lo, _mm256_cvtps_pd(_mm256_castps256_ps128(prod)));
        hi = _mm256_add_pd(hi, _mm256_cvtps_pd(_mm256_extractf128_ps(prod, 1)));
    }
    _mm_storeu_ps(out, _mm256_cvtpd_ps(lo));
    _mm_storeu_ps(out + 4, _mm256_cvtpd_ps(hi));
}

static void round_fp16(float *dst, const float *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(src + i),
                                                                  _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
    for (; i < n; i++)
        dst[i] = og_fp16_to_f32(og_f32_to_fp16(src[i]));
}

static void to_fp16(og_fp16 *dst, const float *src, int32_t n)
{
    int32_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    for (; i < n; i++)
        dst[i] = og_f32_to_fp16(src[i]);
}

static void softmax_fp16(float *x, int32_t n)
{
    og_ops_softmax(x, n);
    round_fp16(x, x, n);
}

#define NV 2
#define AV_NAME(name) name##_16
#include "model/attention_avx2_lanes.h"
#undef NV
#undef AV_NAME

#define NV 1
#define AV_NAME(name) name##_8
#include "model/attention_avx2_lanes.h"
#undef NV
#undef AV_NAME

const og_attn_kernels *og_attn_kernels_avx2(int32_t lanes)
{
    if (og_kernels_for("avx2") == NULL)
        return NULL;
    return lanes == 16 ? &table_16 : lanes == 8 ? &table_8 : NULL;
}
