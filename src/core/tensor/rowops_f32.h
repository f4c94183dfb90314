/*
 * rowops_f32.h - private: the scalar element functions of the encoder's
 * row kernels (softmax_f32, gelu_erf_f32 in og_kernels). The portable
 * table (rowops_f32.c) runs them on every element, the SIMD builds
 * (rowops_f32_avx2.c) reproduce them bit for bit, operation by operation,
 * and fall back to them for the lanes a vector path does not cover.
 */
#ifndef OG_TENSOR_ROWOPS_F32_H
#define OG_TENSOR_ROWOPS_F32_H

#include "base/numerics.h"

/* erf by Abramowitz and Stegun's formula 7.1.26 (absolute error under
 * 1.5e-7 in exact arithmetic): for a >= 0,
 * 1 - erf(a) = t (a1 + t (a2 + t (a3 + t (a4 + t a5)))) exp(-a^2) with
 * t = 1 / (1 + p a). */
#define OG_ERF_P 0.3275911f
#define OG_ERF_A1 0.254829592f
#define OG_ERF_A2 -0.284496736f
#define OG_ERF_A3 1.421413741f
#define OG_ERF_A4 -1.453152027f
#define OG_ERF_A5 1.061405429f
#define OG_SQRT1_2 0.70710678118654752f

/* GELU(x) = x (1 + erf(x / sqrt 2)) / 2. With z = x / sqrt 2 and
 * q = 1 - erf(|z|), 1 + erf(z) is 2 - q for z >= 0 and q itself below:
 * no cancellation for large negative x, where PyTorch's GELU tends to 0. */
static inline float og_gelu_erf_one(float x)
{
    const float z = x * OG_SQRT1_2, a = fabsf(z);
    const float t = 1.0f / fmaf(OG_ERF_P, a, 1.0f);
    const float poly = t * fmaf(fmaf(fmaf(fmaf(OG_ERF_A5, t, OG_ERF_A4), t, OG_ERF_A3), t, OG_ERF_A2), t, OG_ERF_A1);
    const float q = poly * og_expf_poly(-(a * a));
    return 0.5f * x * (z >= 0.0f ? 2.0f - q : q);
}

#endif
