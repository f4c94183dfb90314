/*
 * rowops_f32.c - the portable row kernels of the encoder: softmax_f32
 * (attention's, in llama.cpp's AVX-512 order as og_ops_softmax computes
 * it by default) and gelu_erf_f32 (the exact GELU of BERT through a
 * polynomial erf). rowops_f32_avx2.c gives the same bits faster.
 */
#include "tensor/kernels_impl.h"
#include "tensor/rowops_f32.h"

/* Cloned functions are static: GCC exports the resolver of an extern
 * one whatever -fvisibility says. */
OG_CLONES static void softmax_cloned(float *x, int64_t n)
{
    float max = -INFINITY;
    for (int64_t i = 0; i < n; i++)
        max = x[i] > max ? x[i] : max;
    double sum = 0.0;
    for (int64_t i = 0; i < n; i += 16) {
        float chunk[16];
        for (int k = 0; k < 16; k++)
            chunk[k] = i + k >= n ? 0.0f : og_expf_poly(x[i + k] - max);
        for (int k = 0; k < 16 && i + k < n; k++)
            x[i + k] = chunk[k];
        sum += (double)og_reduce16(chunk);
    }
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++)
        x[i] *= inv;
}

OG_CLONES static void gelu_erf_cloned(float *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = og_gelu_erf_one(x[i]);
}

void og_softmax_f32_ref(float *x, int64_t n)
{
    softmax_cloned(x, n);
}

void og_gelu_erf_f32_ref(float *x, int64_t n)
{
    gelu_erf_cloned(x, n);
}
