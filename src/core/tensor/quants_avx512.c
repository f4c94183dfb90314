/*
 * quants_avx512.c - the AVX-512 (F/BW/VL/DQ/VNNI) kernel table. The shared
 * x86 kernels of quants_x86.h, rebuilt here, use VNNI, their 32-wide
 * tiles (tiles_x86.h) take two rows per 512-bit vector and their F32/F16
 * kernels one zmm per 16 lanes; this file adds a 16-lane BF16 dot.
 */
#include "tensor/quants_x86.h"

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

AVX512_DOT_FLOAT(bf16, og_bf16, load16_bf16)

void og_avx512_install(og_kernels *k)
{
    x86_install_common(k);
    k->vec_dot[OG_TYPE_BF16] = avx512_vec_dot_bf16;
}
