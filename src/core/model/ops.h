/*
 * ops.h - the row operations of the forward pass (norms, RoPE, softmax,
 * activations) and the threaded matrix product over the kernels.
 */
#ifndef OG_MODEL_OPS_H
#define OG_MODEL_OPS_H

#include "model/context.h"

/* Bytes of the quantized activation buffer for n_batch tokens of rows up
 * to max_cols elements: fp16 rows (2 bytes an element, more than any
 * quantized row) or the interleaved Q8_K groups of prompts, whichever is
 * larger (eight tokens' groups outweigh a small batch's fp16 rows). */
size_t og_ops_acts_bytes(int32_t n_batch, int64_t max_cols);

/* y[t][r] = W_r . x[t] for t < n_tokens: W of shape [n_cols, n_rows]
 * (ne[0] = n_cols), x with rows of n_cols floats, y with rows of n_rows.
 * Activations are converted to the kernels' vec_dot type once per call. */
void og_ops_matmul(og_context *ctx, const og_gguf_tensor *w, const float *x, int32_t n_tokens, float *y);

/* The same for several weights sharing one input (Q/K/V, gate/up): the
 * input is quantized once per distinct activation type. */
void og_ops_matmul_many(og_context *ctx, const og_gguf_tensor *const *ws, float *const *ys, int n_ws,
                        const float *x, int32_t n_tokens);

/* Names the product the forward pass runs after its next pass or two
 * (n_ws <= OG_MAX_FUSED weights, as og_ops_matmul_many will get them;
 * none with n_ws = 0). Until the next call, threads that finish their
 * share of a one-token pass early prefetch the start of their share of it
 * while they wait, so that the barriers of these short passes do not
 * leave the memory bus idle. A hint: results never depend on it. */
void og_ops_ahead(og_context *ctx, const og_gguf_tensor *const *ws, int n_ws);

/* Called by thread ith of nth at the end of its share of a one-token
 * pass: hands the pool the start of its share of the product named by
 * og_ops_ahead. */
void og_ops_prefetch_ahead(const og_context *ctx, int ith, int nth);

/* Has each thread run fn(arg, ith, nth) at the start of its share of the
 * next og_ops_matmul(_many) pass, then forgets it: for prefetches a later
 * pass wants in each thread's own cache, issued while the weights stream. */
void og_ops_before_next(og_context *ctx, og_pool_fn fn, void *arg);

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
/* y = (x - mean(x)) / sqrt(var(x) + eps) * weight + bias over n (the
 * LayerNorm of BERT-family encoders); sums in double, like rms_norm. */
void og_ops_layer_norm(float *y, const float *x, const float *weight, const float *bias, int64_t n, float eps);

/* x[r][i] += bias[i] over n_rows rows of row_len. */
void og_ops_add_bias(float *x, const float *bias, int64_t n_rows, int64_t row_len);

/* x = x * (1 + erf(x / sqrt(2))) / 2 in place: the exact GELU of PyTorch's
 * nn.GELU() and of BERT's "gelu" (not ggml's tanh approximation). */
void og_ops_gelu_erf(float *x, int64_t n);

/* Runs row(arg, t) for t in [0, n) split over the context's pool (on the
 * calling thread alone for a handful of rows, where waking workers costs
 * more than it saves). */
typedef void (*og_ops_row_fn)(void *arg, int32_t t);
void og_ops_for_rows(og_context *ctx, int32_t n, og_ops_row_fn row, void *arg);

/* Dequantizes row `row` of an embedding matrix into out. */
void og_ops_get_row(const og_kernels *k, const og_gguf_tensor *w, int64_t row, float *out);

#endif
