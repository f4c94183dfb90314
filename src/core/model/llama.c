/*
 * llama.c - the llama architecture (Llama 2/3, SmolLM2, TinyStories,
 * Mistral-style): hyperparameters and tensors from GGUF, and the forward
 * pass (RMSNorm, RoPE, grouped-query attention over an fp16 KV cache,
 * SwiGLU). Weights stay in the mapped file; the context owns all buffers.
 * The body is shared with decoders that add a little to it (qwen2.c: Q/K/V
 * biases and NeoX RoPE), through the og_llama_* functions of arch.h.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "offgrid.h"
#include "base/numerics.h"
#include "model/arch.h"
#include "model/attention.h"
#include "model/context.h"
#include "model/ops.h"

/* ------------------------------------------------------------- loading */

og_status og_llama_load(og_model *m, og_error *err)
{
    og_hparams *hp = &m->hp;
    uint32_t v;
    const char *const dims[] = { "embedding_length", "block_count", "feed_forward_length", "attention.head_count" };
    int32_t *const dim_fields[] = { &hp->n_embd, &hp->n_layer, &hp->n_ff, &hp->n_head };
    og_status st_dims = og_model_require_dims(m, dims, dim_fields, (int)(sizeof dims / sizeof dims[0]), err);
    if (st_dims != OG_OK)
        return st_dims;
    hp->n_ctx_train = og_model_arch_u32(m, "context_length", &v) ? (int32_t)v : 2048;
    hp->n_head_kv = og_model_arch_u32(m, "attention.head_count_kv", &v) ? (int32_t)v : hp->n_head;
    if (hp->n_head_kv <= 0 || hp->n_head % hp->n_head_kv)
        return og_error_set(err, OG_ERR_FORMAT, "head count %d is not a multiple of the kv head count %d",
                            hp->n_head, hp->n_head_kv);
    hp->head_dim = og_model_arch_u32(m, "attention.key_length", &v) ? (int32_t)v : hp->n_embd / hp->n_head;
    hp->n_rot = og_model_arch_u32(m, "rope.dimension_count", &v) ? (int32_t)v : hp->head_dim;
    if (hp->head_dim <= 0 || hp->head_dim > 256 || hp->head_dim % 2 || hp->n_rot > hp->head_dim || hp->n_rot % 2)
        return og_error_set(err, OG_ERR_FORMAT, "invalid head dimension %d / rope dimension %d", hp->head_dim,
                            hp->n_rot);
    hp->norm_eps = 1e-5f;
    og_model_arch_f32(m, "attention.layer_norm_rms_epsilon", &hp->norm_eps);
    hp->rope_freq_base = 10000.0f;
    og_model_arch_f32(m, "rope.freq_base", &hp->rope_freq_base);
    hp->rope_freq_scale = 1.0f;
    float factor;
    og_str scaling;
    if (og_model_arch_str(m, "rope.scaling.type", &scaling) && !og_str_eq(scaling, "none") &&
        !og_str_eq(scaling, "linear"))
        return og_error_set(err, OG_ERR_UNSUPPORTED, "rope scaling '%.*s' is not supported", (int)scaling.len,
                            scaling.ptr);
    if ((og_model_arch_f32(m, "rope.scaling.factor", &factor) || og_model_arch_f32(m, "rope.scale_linear", &factor)) &&
        factor > 0.0f)
        hp->rope_freq_scale = 1.0f / factor;

    const int64_t n_embd = hp->n_embd, q_dim = (int64_t)hp->n_head * hp->head_dim,
                  kv_dim = (int64_t)hp->n_head_kv * hp->head_dim;
    og_status st;
    const og_gguf_tensor *embd = og_gguf_find_tensor(m->gguf, "token_embd.weight");
    if (!embd)
        return og_error_set(err, OG_ERR_FORMAT, "missing tensor 'token_embd.weight'");
    hp->n_vocab = (int32_t)embd->ne[1];
    if (hp->n_vocab != og_vocab_n_tokens(m->vocab))
        return og_error_set(err, OG_ERR_FORMAT, "token_embd has %d rows but the vocabulary has %d tokens",
                            hp->n_vocab, og_vocab_n_tokens(m->vocab));
    if ((st = og_model_want_tensor(m, "token_embd.weight", n_embd, hp->n_vocab, true, &m->tok_embd, err)) ||
        (st = og_model_want_tensor(m, "output_norm.weight", n_embd, 1, false, &m->output_norm, err)))
        return st;
    m->output = m->tok_embd; /* tied unless the file has its own */
    if (og_gguf_find_tensor(m->gguf, "output.weight") &&
        (st = og_model_want_tensor(m, "output.weight", n_embd, hp->n_vocab, true, &m->output, err)))
        return st;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    for (int32_t l = 0; l < hp->n_layer; l++) {
        og_layer *L = &m->layers[l];
        char name[96];
#define T(field, suffix, ne0, ne1, matrix)                                                   \
        snprintf(name, sizeof name, "blk.%d.%s.weight", l, suffix);                         \
        if ((st = og_model_want_tensor(m, name, ne0, ne1, matrix, &L->field, err)) != OG_OK)         \
            return st;
        T(attn_norm, "attn_norm", n_embd, 1, false)
        T(wq, "attn_q", n_embd, q_dim, true)
        T(wk, "attn_k", n_embd, kv_dim, true)
        T(wv, "attn_v", n_embd, kv_dim, true)
        T(wo, "attn_output", q_dim, n_embd, true)
        T(ffn_norm, "ffn_norm", n_embd, 1, false)
        T(w_gate, "ffn_gate", n_embd, hp->n_ff, true)
        T(w_up, "ffn_up", n_embd, hp->n_ff, true)
        T(w_down, "ffn_down", hp->n_ff, n_embd, true)
#undef T
    }
    return OG_OK;
}

/* ------------------------------------------------------------ forward */

/* cos/sin for each token's position and each rotated pair, computed the
 * way ggml does (theta multiplied up pair by pair in float). */
static void rope_tables(og_context *ctx, int32_t n)
{
    const og_hparams *hp = &ctx->model->hp;
    const float theta_scale = powf(hp->rope_freq_base, -2.0f / (float)hp->n_rot);
    for (int32_t t = 0; t < n; t++) {
        float *cs = ctx->rope_cache + (size_t)t * hp->n_rot;
        float theta = (float)(ctx->n_past + t);
        for (int32_t i = 0; i < hp->n_rot; i += 2) {
            const float angle = hp->rope_freq_scale * theta;
            cs[i] = cosf(angle);
            cs[i + 1] = sinf(angle);
            theta *= theta_scale;
        }
    }
}

/* Rotates the pairs of each head, fusing as llama.cpp's compiled code
 * does: adjacent pairs (its "norm" rope mode) or, NeoX style, element i
 * with element i + n_rot/2 (cs holds pair i's cos and sin at 2i, 2i+1 in
 * both). */
OG_CLONES static void rope_apply(const og_context *ctx, float *vec, int32_t n_heads, int32_t t)
{
    const og_hparams *hp = &ctx->model->hp;
    const float *cs = ctx->rope_cache + (size_t)t * hp->n_rot;
    const int32_t half = hp->n_rot / 2;
    for (int32_t h = 0; h < n_heads; h++) {
        float *x = vec + (size_t)h * hp->head_dim;
        if (hp->rope_neox) {
            for (int32_t i = 0; i < half; i++) {
                const float x0 = x[i], x1 = x[i + half];
                x[i] = fmaf(x0, cs[2 * i], -(x1 * cs[2 * i + 1]));
                x[i + half] = fmaf(x0, cs[2 * i + 1], x1 * cs[2 * i]);
            }
            continue;
        }
        for (int32_t i = 0; i < hp->n_rot; i += 2) {
            const float x0 = x[i], x1 = x[i + 1];
            x[i] = fmaf(x0, cs[i], -(x1 * cs[i + 1]));
            x[i + 1] = fmaf(x0, cs[i + 1], x1 * cs[i]);
        }
    }
}

/* x += bias over n values (ggml_add of an F32 bias row), if there is one. */
static void add_bias(float *x, const og_gguf_tensor *bias, size_t n)
{
    if (!bias)
        return;
    const float *b = bias->data;
    for (size_t i = 0; i < n; i++)
        x[i] += b[i];
}

/* The per-token steps between the matrix products. Each token's row is
 * independent, so they are split over the pool like everything else
 * (for prompts; a single token runs on the calling thread). */
typedef enum step {
    STEP_NORM,       /* xb = norm(x) */
    STEP_ADD_NORM,   /* x += xb, then xb = norm(x) */
    STEP_ROPE_STORE, /* rotate q and k, store k and v in the cache */
    STEP_SWIGLU      /* hb = silu(hb) * hb2 */
} step;

typedef struct step_job {
    og_context *ctx;
    step what;
    int32_t layer;
    const float *norm_weight;
    const og_attn_kernels *attn;
} step_job;

static void step_row(void *arg, int32_t t)
{
    const step_job *job = arg;
    og_context *ctx = job->ctx;
    const og_hparams *hp = &ctx->model->hp;
    const size_t n_embd = (size_t)hp->n_embd, q_dim = (size_t)hp->n_head * hp->head_dim,
                 kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    float *x = ctx->x + t * n_embd, *xb = ctx->xb + t * n_embd;
    switch (job->what) {
    case STEP_ADD_NORM:
        for (size_t i = 0; i < n_embd; i++)
            x[i] += xb[i];
        /* fall through */
    case STEP_NORM:
        og_ops_rms_norm(xb, x, job->norm_weight, (int64_t)n_embd, hp->norm_eps);
        break;
    case STEP_ROPE_STORE: {
        const og_layer *L = &ctx->model->layers[job->layer];
        add_bias(ctx->q + t * q_dim, L->bq, q_dim);
        add_bias(ctx->k + t * kv_dim, L->bk, kv_dim);
        add_bias(ctx->v + t * kv_dim, L->bv, kv_dim);
        rope_apply(ctx, ctx->q + t * q_dim, hp->n_head, t);
        rope_apply(ctx, ctx->k + t * kv_dim, hp->n_head_kv, t);
        /* The cache is [layer][kv head][position][head dim], so that one
         * head's keys are one contiguous stream for attention to read. */
        const size_t hd = (size_t)hp->head_dim, pos = (size_t)(ctx->n_past + t);
        for (size_t h = 0; h < (size_t)hp->n_head_kv; h++) {
            const size_t base = (((size_t)job->layer * (size_t)hp->n_head_kv + h) * (size_t)ctx->n_ctx + pos) * hd;
            job->attn->to_fp16(ctx->k_cache + base, ctx->k + t * kv_dim + h * hd, (int32_t)hd);
            job->attn->to_fp16(ctx->v_cache + base, ctx->v + t * kv_dim + h * hd, (int32_t)hd);
        }
        break;
    }
    case STEP_SWIGLU: {
        const size_t off = t * (size_t)hp->n_ff;
        og_ops_swiglu(ctx->hb + off, ctx->hb + off, ctx->hb2 + off, 1, hp->n_ff);
        break;
    }
    }
}

static void run_step(og_context *ctx, step what, int32_t layer, int32_t n, const float *norm_weight)
{
    step_job job = { ctx, what, layer, norm_weight, og_attn_kernels_for(ctx->model->hp.head_dim) };
    og_ops_for_rows(ctx, n, step_row, &job);
}

typedef struct kv_prefetch_job {
    const og_context *ctx;
    int32_t layer;
} kv_prefetch_job;

static void kv_prefetch_worker(void *arg, int ith, int nth)
{
    const kv_prefetch_job *job = arg;
    og_attention_prefetch(job->ctx, job->layer, ith, nth);
}

void og_llama_forward(og_context *ctx, const og_token *tokens, int32_t n, bool all_logits)
{
    const og_model *m = ctx->model;
    const og_hparams *hp = &m->hp;
    const int64_t n_embd = hp->n_embd;
    for (int32_t t = 0; t < n; t++)
        og_ops_get_row(ctx->kern, m->tok_embd, tokens[t], ctx->x + (size_t)t * n_embd);
    rope_tables(ctx, n);
    /* Each product is named before the passes that precede it, so that
     * threads prefetch its start while they wait at their barriers. */
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const og_layer *L = &m->layers[l];
        const og_gguf_tensor *qkv_w[3] = { L->wq, L->wk, L->wv };
        const og_gguf_tensor *ffn_w[2] = { L->w_gate, L->w_up };
        float *qkv_out[3] = { ctx->q, ctx->k, ctx->v };
        float *ffn_out[2] = { ctx->hb, ctx->hb2 };
        /* The previous layer's FFN output is added here, fused with the norm. */
        run_step(ctx, l ? STEP_ADD_NORM : STEP_NORM, l, n, L->attn_norm->data);
        kv_prefetch_job kv_job = { ctx, l };
        if (n == 1)
            og_ops_before_next(ctx, kv_prefetch_worker, &kv_job);
        og_ops_ahead(ctx, &L->wo, 1);
        og_ops_matmul_many(ctx, qkv_w, qkv_out, 3, ctx->xb, n);
        run_step(ctx, STEP_ROPE_STORE, l, n, NULL);
        og_attention(ctx, l, n);
        og_ops_ahead(ctx, ffn_w, 2);
        og_ops_matmul(ctx, L->wo, ctx->attn, n, ctx->xb);
        run_step(ctx, STEP_ADD_NORM, l, n, L->ffn_norm->data);
        og_ops_ahead(ctx, &L->w_down, 1);
        og_ops_matmul_many(ctx, ffn_w, ffn_out, 2, ctx->xb, n);
        run_step(ctx, STEP_SWIGLU, l, n, NULL);
        if (l + 1 < hp->n_layer) {
            const og_layer *next = &m->layers[l + 1];
            const og_gguf_tensor *next_qkv[3] = { next->wq, next->wk, next->wv };
            og_ops_ahead(ctx, next_qkv, 3);
        } else {
            og_ops_ahead(ctx, &m->output, 1);
        }
        og_ops_matmul(ctx, L->w_down, ctx->hb, n, ctx->xb);
    }
    og_ops_ahead(ctx, NULL, 0);
    for (int64_t i = 0; i < (int64_t)n * n_embd; i++)
        ctx->x[i] += ctx->xb[i];
    /* Only the rows whose logits are wanted go through the output layer. */
    const int32_t first = all_logits ? 0 : n - 1, n_out = n - first;
    for (int32_t t = first; t < n; t++)
        og_ops_rms_norm(ctx->xb + (size_t)(t - first) * n_embd, ctx->x + (size_t)t * n_embd, m->output_norm->data,
                        n_embd, hp->norm_eps);
    og_ops_matmul(ctx, m->output, ctx->xb, n_out, ctx->logits);
    ctx->n_logits = n_out;
}

/* The buffers of a llama context: the fp16 KV cache, the activations of
 * n_batch tokens, per-thread attention scratch, RoPE tables, logits. */
void og_llama_plan(const og_model *m, int32_t n_ctx, int32_t n_batch, int32_t n_threads, og_context_plan *p)
{
    const og_hparams *hp = &m->hp;
    const size_t q_dim = (size_t)hp->n_head * hp->head_dim, kv_dim = (size_t)hp->n_head_kv * hp->head_dim;
    size_t max_cols = (size_t)hp->n_embd;
    if (q_dim > max_cols)
        max_cols = q_dim;
    if ((size_t)hp->n_ff > max_cols)
        max_cols = (size_t)hp->n_ff;
    p->kv = (size_t)hp->n_layer * (size_t)n_ctx * kv_dim;
    p->x = (size_t)n_batch * (size_t)hp->n_embd;
    p->q = (size_t)n_batch * q_dim;
    p->kv_rows = (size_t)n_batch * kv_dim;
    p->ff = (size_t)n_batch * (size_t)hp->n_ff;
    p->attn_scratch = (size_t)n_threads * og_attention_scratch_floats(hp->head_dim, n_ctx);
    p->acts = og_ops_acts_bytes(n_batch, (int64_t)max_cols);
    p->rope = (size_t)n_batch * (size_t)hp->n_rot;
    p->logits = (size_t)hp->n_vocab;
}

const og_arch og_arch_llama = {
    .name = "llama",
    .kind = OG_ARCH_DECODER,
    .load = og_llama_load,
    .packs_weights = true,
    .plan = og_llama_plan,
    .forward = og_llama_forward,
};
