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

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(OG_NO_CLONES)
#define OG_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define OG_CLONES
#endif

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

#endif
