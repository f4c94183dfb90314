/*
 * quants_avx512.c - the AVX-512 (F/BW/VL/DQ/VNNI) kernel table. The shared
 * x86 kernels of quants_x86.h, rebuilt here, already use 256-bit VNNI;
 * this file adds 512-bit loops that take two 32-wide blocks per step and
 * 16-lane float dots.
 */
#include "tensor/quants_x86.h"

static inline __m512i join256(__m256i lo, __m256i hi)
{
    return _mm512_inserti64x4(_mm512_castsi256_si512(lo), hi, 1);
}

/* AVX-512 has no vpsignb: negate y where x is negative, then |x|. */
static inline __m512i dot_s8s8_512(__m512i x, __m512i y)
{
    const __mmask64 negative = _mm512_movepi8_mask(x);
    const __m512i y_signed = _mm512_mask_sub_epi8(y, negative, _mm512_setzero_si512(), y);
    return _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(x), y_signed);
}

static inline __m512 pair_scales(float lo, float hi)
{
    return _mm512_insertf32x8(_mm512_set1_ps(lo), _mm256_set1_ps(hi), 1);
}

/* The odd last block, if any, goes through the 256-bit kernel. */
#define AVX512_DOT_SYMMETRIC(name, wblock, codes)                                                   \
    static void avx512_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)  \
    {                                                                                            \
        const wblock *w = w_row;                                                                 \
        const og_block_q8_0 *a = act;                                                            \
        const int64_t nb = n / OG_QK;                                                            \
        __m512 acc = _mm512_setzero_ps();                                                        \
        int64_t i = 0;                                                                           \
        for (; i + 2 <= nb; i += 2) {                                                            \
            const __m512 d = pair_scales(og_h2f(w[i].d) * og_h2f(a[i].d),                        \
                                         og_h2f(w[i + 1].d) * og_h2f(a[i + 1].d));               \
            const __m512i p = dot_s8s8_512(join256(codes(&w[i]), codes(&w[i + 1])),              \
                                           join256(x86_act_q8_0(&a[i]), x86_act_q8_0(&a[i + 1]))); \
            acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);                                \
        }                                                                                        \
        float tail = 0.0f;                                                                       \
        if (i < nb)                                                                              \
            x86_vec_dot_##name(OG_QK, &tail, &w[i], &a[i]);                                      \
        *out = _mm512_reduce_add_ps(acc) + tail;                                                 \
    }

#define AVX512_DOT_WITH_MIN(name, wblock, codes)                                                    \
    static void avx512_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)  \
    {                                                                                            \
        const wblock *w = w_row;                                                                 \
        const og_block_q8_1 *a = act;                                                            \
        const int64_t nb = n / OG_QK;                                                            \
        __m512 acc = _mm512_setzero_ps();                                                        \
        float mins = 0.0f;                                                                       \
        int64_t i = 0;                                                                           \
        for (; i + 2 <= nb; i += 2) {                                                            \
            const __m512 d = pair_scales(og_h2f(w[i].d) * og_h2f(a[i].d),                        \
                                         og_h2f(w[i + 1].d) * og_h2f(a[i + 1].d));               \
            const __m512i p = _mm512_dpbusd_epi32(_mm512_setzero_si512(),                        \
                                                  join256(codes(&w[i]), codes(&w[i + 1])),       \
                                                  join256(x86_act_q8_1(&a[i]), x86_act_q8_1(&a[i + 1]))); \
            acc = _mm512_fmadd_ps(d, _mm512_cvtepi32_ps(p), acc);                                \
            mins += og_h2f(w[i].m) * og_h2f(a[i].s) + og_h2f(w[i + 1].m) * og_h2f(a[i + 1].s);   \
        }                                                                                        \
        float tail = 0.0f;                                                                       \
        if (i < nb)                                                                              \
            x86_vec_dot_##name(OG_QK, &tail, &w[i], &a[i]);                                      \
        *out = _mm512_reduce_add_ps(acc) + mins + tail;                                          \
    }

AVX512_DOT_SYMMETRIC(q4_0, og_block_q4_0, x86_codes_q4_0)
AVX512_DOT_SYMMETRIC(q5_0, og_block_q5_0, x86_codes_q5_0)
AVX512_DOT_SYMMETRIC(q8_0, og_block_q8_0, x86_codes_q8_0)
AVX512_DOT_WITH_MIN(q4_1, og_block_q4_1, x86_codes_q4_1)
AVX512_DOT_WITH_MIN(q5_1, og_block_q5_1, x86_codes_q5_1)

static inline __m512 load16_f32(const float *p) { return _mm512_loadu_ps(p); }
static inline __m512 load16_f16(const og_fp16 *p) { return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p)); }
static inline __m512 load16_bf16(const og_bf16 *p)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p)), 16));
}

/* The remainder below 32 elements goes through the 256-bit kernel. */
#define AVX512_DOT_FLOAT(name, elem, load)                                                          \
    static void avx512_vec_dot_##name(int64_t n, float *out, const void *w_row, const void *act)  \
    {                                                                                            \
        const elem *w = w_row, *a = act;                                                         \
        __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();                           \
        int64_t i = 0;                                                                           \
        for (; i + 32 <= n; i += 32) {                                                           \
            acc0 = _mm512_fmadd_ps(load(w + i), load(a + i), acc0);                              \
            acc1 = _mm512_fmadd_ps(load(w + i + 16), load(a + i + 16), acc1);                    \
        }                                                                                        \
        float tail = 0.0f;                                                                       \
        if (i < n)                                                                               \
            x86_vec_dot_##name(n - i, &tail, w + i, a + i);                                      \
        *out = _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1)) + tail;                           \
    }

AVX512_DOT_FLOAT(f32, float, load16_f32)
AVX512_DOT_FLOAT(f16, og_fp16, load16_f16)
AVX512_DOT_FLOAT(bf16, og_bf16, load16_bf16)

void og_avx512_install(og_kernels *k)
{
    x86_install_common(k);
    k->vec_dot[OG_TYPE_Q4_0] = avx512_vec_dot_q4_0;
    k->vec_dot[OG_TYPE_Q4_1] = avx512_vec_dot_q4_1;
    k->vec_dot[OG_TYPE_Q5_0] = avx512_vec_dot_q5_0;
    k->vec_dot[OG_TYPE_Q5_1] = avx512_vec_dot_q5_1;
    k->vec_dot[OG_TYPE_Q8_0] = avx512_vec_dot_q8_0;
    k->vec_dot[OG_TYPE_F32] = avx512_vec_dot_f32;
    k->vec_dot[OG_TYPE_F16] = avx512_vec_dot_f16;
    k->vec_dot[OG_TYPE_BF16] = avx512_vec_dot_bf16;
}
