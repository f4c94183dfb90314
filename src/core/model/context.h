/*
 * context.h - one inference session over a model: the KV cache, the work
 * buffers planned for n_batch tokens, the thread pool and the logits.
 * Private to the library.
 */
#ifndef OG_MODEL_CONTEXT_H
#define OG_MODEL_CONTEXT_H

#include "base/fp16.h"
#include "base/pool.h"
#include "base/thread_tuner.h"
#include "model/model.h"
#include "tensor/kernels.h"

/* Weights og_ops_matmul_many fuses into one pass at most. */
enum { OG_MAX_FUSED = 4 };

/* How the weights of one pass split into units of rows and bytes
 * (model/ops.c). */
typedef struct og_set_layout {
    int n;
    int64_t first_unit[OG_MAX_FUSED + 1]; /* weight i has units [first_unit[i], first_unit[i + 1]) */
    double first_byte[OG_MAX_FUSED + 1];  /* and starts that far into the set's bytes */
} og_set_layout;

/* Sizes, in elements, of every buffer a decoder's context needs: an
 * architecture's plan entry fills it (model/arch.h); the context
 * allocates it all at creation. */
typedef struct og_context_plan {
    size_t kv, x, q, kv_rows, ff, attn_scratch, acts, rope, logits;
} og_context_plan;

/* What og_generate keeps between calls (run/generate.c). */
typedef struct og_gen_scratch og_gen_scratch;

struct og_context {
    og_model *model;
    og_pool *pool;
    const og_kernels *kern;
    int32_t n_ctx, n_batch, n_threads;
    int32_t n_past;
    og_thread_tuner tuner; /* one-token passes' thread count; n_max 1 when n_threads was given */
    og_token *tokens;    /* [n_ctx] the ids in the KV cache, n_past of them */
    og_gen_scratch *gen; /* og_generate's buffers, or NULL before its first call */
    struct og_spec *spec; /* the attached draft model's state (run/speculative.c), or NULL */
    /* Set while speculative decoding verifies a batch: every row takes the
     * one-token summation order (attention, float products), so its logits
     * equal one-token generation's bit for bit. */
    bool rows_as_one;

    /* KV cache, fp16 like llama.cpp's default: [layer][kv head][position][head_dim]. */
    og_fp16 *k_cache, *v_cache;

    /* Work buffers for n_batch tokens, row-major [token][feature]. */
    float *x, *xb, *q, *k, *v, *attn, *hb, *hb2;
    float *attn_scratch; /* per thread: og_attention_scratch_floats() */
    size_t attn_scratch_stride;
    uint8_t *acts;       /* [n_batch] quantized activation rows */
    size_t act_row_cap;  /* bytes per row of acts */
    float *rope_cache;   /* [n_batch][n_rot] cos, sin pairs */

    /* The product the forward pass runs next but one (og_ops_ahead). */
    const og_gguf_tensor *ahead[OG_MAX_FUSED];
    og_set_layout ahead_layout;
    /* What each thread runs first in the next product pass (og_ops_before_next). */
    og_pool_fn before_fn;
    void *before_arg;

    float *logits;       /* n_vocab x n_logits */
    int32_t n_logits;    /* rows valid in logits after the last decode */
    int32_t logits_cap;  /* rows logits can hold */
};

/* Attention of layer over the last n_tokens rows of ctx->q, whose keys
 * and values are already in the cache; writes ctx->attn. */
void og_attention(og_context *ctx, int32_t layer, int32_t n_tokens);
/* Requests the keys and values thread ith of nth will read in
 * og_attention(ctx, layer, 1) (up to 512 KiB in all), for each thread to
 * call at the start of the Q/K/V products (og_ops_before_next). */
void og_attention_prefetch(const og_context *ctx, int32_t layer, int ith, int nth);

/* Floats of scratch one attention thread needs. */
size_t og_attention_scratch_floats(int32_t head_dim, int32_t n_ctx);

#endif
