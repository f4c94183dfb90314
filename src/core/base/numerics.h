/*
 * numerics.h - the floating-point building blocks whose exact rounding the
 * forward pass depends on.
 *
 * offgrid reproduces llama.cpp's CPU results bit for bit (as built for an
 * AVX-512 x86 machine). Every fused multiply-add is therefore written out
 * with fmaf() and the project builds with -ffp-contract=off, so results
 * never depend on what a compiler chooses to fuse. Hot functions carry
 * OG_CLONES: the compiler emits a baseline and an x86-64-v3 (AVX2+FMA)
 * copy, picked when the program loads; both compute identical values,
 * because fmaf() is exactly rounded either way.
 */
#ifndef OG_BASE_NUMERICS_H
#define OG_BASE_NUMERICS_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/fp16.h"

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(OG_NO_CLONES)
#define OG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define OG_CLONES
#endif

/* Which build of llama.cpp the arithmetic reproduces. Its x86 binaries
 * differ in a few places: the AVX-512 build (offgrid's default) sums fp16
 * attention products over 16 lanes, exponentiates with the AVX-512
 * variant of ggml_v_expf and sums softmax in chunks of 16; the AVX2 build
 * uses 8 lanes, the AVX2 variant and chunks of 8. Quantized products are
 * the same in both. OG_LLAMA_BUILD=avx2 in the environment selects the
 * AVX2 build's order (read once), so that tests on a machine without
 * AVX-512 can hold logits made there bit for bit. F32/F16 weight products
 * keep the AVX-512 order either way. */
typedef enum { OG_LLAMA_AVX512, OG_LLAMA_AVX2 } og_llama_build;
og_llama_build og_llama_build_order(void);

/* The sum of 16 lanes in the tree order of GCC's _mm512_reduce_add_ps
 * (halves of 8, then 4, then pairs), the order llama.cpp's AVX-512 code
 * adds its partial sums in. */
static inline float og_reduce16(const float v[16])
{
    float t8[8], t4[4];
    for (int i = 0; i < 8; i++)
        t8[i] = v[i + 8] + v[i];
    for (int i = 0; i < 4; i++)
        t4[i] = t8[i + 4] + t8[i];
    return (t4[0] + t4[2]) + (t4[1] + t4[3]);
}

/* exp(x) by the polynomial of Arm's optimized-routines (max error about
 * 1.5 ulp), evaluated operation by operation as llama.cpp's vectorized
 * softmax and SiLU do. Below about -104 it gives 0, above 88.4 infinity. */
static inline float og_expf_poly(float x)
{
    const float shift = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, shift);
    const float n = z - shift; /* round(x / ln 2) */
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    if (fabsf(n) > 192.0f)
        return n <= 0.0f ? 0.0f : INFINITY;
    const float u = b * b;
    const float p = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         fmaf(0x1.ffffecp-1f, b, 1.0f));
    /* p * 2^n, exact in double and rounded once to float: the value
     * ldexpf gives, subnormals included, without a libm call per element. */
    const uint64_t bits = (uint64_t)(1023 + (int64_t)n) << 52;
    double scale;
    memcpy(&scale, &bits, sizeof scale);
    return (float)((double)p * scale);
}

/* The AVX2 variant of the same: the polynomial without its constant
 * term, then 2^n * p + 2^n fused, with 2^n built from the exponent bits
 * while |n| <= 126 and as a product of two powers of two beyond. */
static inline float og_expf_poly_avx2(float x)
{
    const float shift = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, shift);
    const float n = z - shift;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const uint32_t e = og_f32_to_bits(z) << 23;
    const float k = og_bits_to_f32(e + 0x3F800000u); /* 2^n */
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)), u,
                         0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126.0f))
        return fmaf(j, k, k);
    const uint32_t g = n <= 0.0f ? 0x82000000u : 0u;
    const float s1 = og_bits_to_f32(g + 0x7F000000u), s2 = og_bits_to_f32(e - g);
    return fabsf(n) > 192.0f ? s1 * s1 : fmaf(s2, j, s2) * s1;
}

/* The sum of 8 lanes as ggml's AVX GGML_F32x8_REDUCE ends: halves added
 * lanewise, then two horizontal adds: ((0+4)+(1+5)) + ((2+6)+(3+7)). */
static inline float og_reduce8_hadd(const float v[8])
{
    return ((v[0] + v[4]) + (v[1] + v[5])) + ((v[2] + v[6]) + (v[3] + v[7]));
}

/* The sum of 8 lanes as ggml's hsum_float_8 (and tinyBLAS's hsum) adds
 * them: ((0+4)+(2+6)) + ((1+5)+(3+7)). */
static inline float og_reduce8(const float v[8])
{
    return ((v[0] + v[4]) + (v[2] + v[6])) + ((v[1] + v[5]) + (v[3] + v[7]));
}

#endif
