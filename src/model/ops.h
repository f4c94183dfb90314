/*
 * ops.h - the row operations of the forward pass (norms, RoPE, softmax,
 * activations) and the threaded matrix product over the kernels.
 */
#ifndef OG_MODEL_OPS_H
#define OG_MODEL_OPS_H

#include "model/context.h"

/* y[t][r] = W_r . x[t] for t < n_tokens: W of shape [n_cols, n_rows]
 * (ne[0] = n_cols), x with rows of n_cols floats, y with rows of n_rows.
 * Activations are converted to the kernels' vec_dot type once per call. */
void og_ops_matmul(og_context *ctx, const og_gguf_tensor *w, const float *x, int32_t n_tokens, float *y);

/* The same for several weights sharing one input (Q/K/V, gate/up): the
 * input is quantized once per distinct activation type. */
void og_ops_matmul_many(og_context *ctx, const og_gguf_tensor *const *ws, float *const *ys, int n_ws,
                        const float *x, int32_t n_tokens);

/* y = x / rms(x) * weight over n, with ggml's double accumulation. */
void og_ops_rms_norm(float *y, const float *x, const float *weight, int64_t n, float eps);

/* Softmax in place, as llama.cpp computes it (see ops.c). */
void og_ops_softmax(float *x, int64_t n);

/* out = silu(gate) * up over n_rows rows of row_len. */
void og_ops_swiglu(float *out, const float *gate, const float *up, int64_t n_rows, int64_t row_len);

#if defined(__x86_64__)
/* The AVX-512 part of og_ops_swiglu (whole multiples of 16 of each row);
 * only callable when the CPU has AVX-512. */
void og_ops_swiglu_avx512(float *out, const float *gate, const float *up, int64_t n_rows, int64_t row_len);
#endif

/* Dequantizes row `row` of an embedding matrix into out. */
void og_ops_get_row(const og_kernels *k, const og_gguf_tensor *w, int64_t row, float *out);

#endif
