/*
 * attention.c - causal grouped-query attention over the fp16 KV cache.
 *
 * The arithmetic reproduces llama.cpp's CPU path (flash attention off,
 * fp16 cache) operation for operation, so logits match it bit for bit.
 * llama.cpp computes Q.K and P.V as fp16 matrix products whose summation
 * order depends on the batch: with two or more tokens they go through its
 * tiled GEMM (one 16-lane fused multiply-add chain per output), with one
 * token through its dot product (four 16-lane accumulators over blocks of
 * 64, the remainder summed in double). Both orders are written out here.
 * Work is split over (token, head) pairs; nothing is allocated.
 */
#include <string.h>

#include "base/numerics.h"
#include "model/context.h"
#include "model/ops.h"

#define LANES 16
#define BLOCK 64 /* elements per step of the one-token dot product */

/* Sum of x[i]*y[i] as one fmaf chain per lane (needs n % 16 == 0). */
OG_CLONES static float dot_chain(const float *x, const float *y, int32_t n)
{
    float acc[LANES] = { 0 };
    for (int32_t l = 0; l < n; l += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] = fmaf(x[l + k], y[l + k], acc[k]);
    return og_reduce16(acc);
}

/* Folds four accumulator rows the way the one-token dot product does. */
static float fold4(float acc[4][LANES])
{
    for (int k = 0; k < LANES; k++) {
        acc[0][k] += acc[2][k];
        acc[1][k] += acc[3][k];
        acc[0][k] += acc[1][k];
    }
    return og_reduce16(acc[0]);
}

/* Sum of x[i]*y[i] with four accumulators over blocks of 64, the rest in
 * double. */
OG_CLONES static float dot_blocks(const float *x, const float *y, int32_t n)
{
    const int32_t n_simd = n & ~(BLOCK - 1);
    float acc[4][LANES] = { { 0 } };
    for (int32_t l = 0; l < n_simd; l += BLOCK)
        for (int a = 0; a < 4; a++)
            for (int k = 0; k < LANES; k++)
                acc[a][k] = fmaf(x[l + a * LANES + k], y[l + a * LANES + k], acc[a][k]);
    double sum = fold4(acc);
    for (int32_t i = n_simd; i < n; i++)
        sum += (double)(x[i] * y[i]);
    return (float)sum;
}

/* Scratch of one worker thread, carved from the context's buffers. */
typedef struct scratch {
    float *q;      /* head_dim: the query rounded through fp16 */
    float *row;    /* head_dim: one key or value row widened to float */
    float *scores; /* n_ctx */
    float *acc;    /* head_dim * 4 * LANES accumulators for P.V */
} scratch;

static void widen(float *dst, const og_fp16 *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = og_fp16_to_f32(src[i]);
}

/* out[i] = sum_j p[j] * v[j][i] in the tiled-GEMM order: lane j % 16. */
OG_CLONES static void weighted_values_chain(float *out, const float *p, int32_t n_keys, const og_fp16 *v,
                                            size_t v_stride, int32_t hd, scratch *s)
{
    float *acc = s->acc; /* [hd][LANES] */
    memset(acc, 0, (size_t)hd * LANES * sizeof *acc);
    for (int32_t j = 0; j < n_keys; j++) {
        widen(s->row, v + (size_t)j * v_stride, hd);
        const int lane = j % LANES;
        for (int32_t i = 0; i < hd; i++)
            acc[i * LANES + lane] = fmaf(s->row[i], p[j], acc[i * LANES + lane]);
    }
    for (int32_t i = 0; i < hd; i++)
        out[i] = og_reduce16(acc + (size_t)i * LANES);
}

/* The same in the one-token dot product's order. llama.cpp pads the key
 * count to a multiple of 32 with zero weights, which decides how many keys
 * fall into whole blocks of 64. */
OG_CLONES static void weighted_values_blocks(float *out, const float *p, int32_t n_keys, const og_fp16 *v,
                                             size_t v_stride, int32_t hd, scratch *s)
{
    const int32_t n_padded = (n_keys + 31) / 32 * 32;
    const int32_t n_whole = n_padded & ~(BLOCK - 1);
    const int32_t n_simd = n_whole < n_keys ? n_whole : n_keys;
    float *acc = s->acc; /* [hd][4][LANES] */
    memset(acc, 0, (size_t)hd * 4 * LANES * sizeof *acc);
    for (int32_t j = 0; j < n_simd; j++) {
        widen(s->row, v + (size_t)j * v_stride, hd);
        const int slot = (j % BLOCK / LANES) * LANES + j % LANES;
        for (int32_t i = 0; i < hd; i++)
            acc[i * 4 * LANES + slot] = fmaf(s->row[i], p[j], acc[i * 4 * LANES + slot]);
    }
    for (int32_t i = 0; i < hd; i++) {
        double sum = fold4((float(*)[LANES])(acc + (size_t)i * 4 * LANES));
        for (int32_t j = n_simd; j < n_keys; j++)
            sum += (double)(og_fp16_to_f32(v[(size_t)j * v_stride + i]) * p[j]);
        out[i] = (float)sum;
    }
}

typedef struct attn_job {
    og_context *ctx;
    int32_t layer, n_tokens;
} attn_job;

static void attention_worker(void *arg, int ith, int nth)
{
    const attn_job *job = arg;
    og_context *ctx = job->ctx;
    const og_hparams *hp = &ctx->model->hp;
    const int32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const size_t q_dim = (size_t)hp->n_head * hd, kv_dim = (size_t)hp->n_head_kv * hd;
    const size_t layer_off = (size_t)job->layer * (size_t)ctx->n_ctx * kv_dim;
    const float scale = 1.0f / sqrtf((float)hd);
    /* llama.cpp's GEMM needs at least two tokens and, for Q.K, a head
     * dimension that is a multiple of 16; otherwise it uses its dot. */
    const bool gemm_qk = job->n_tokens >= 2 && hd % LANES == 0;
    const bool gemm_pv = job->n_tokens >= 2;
    scratch s = {
        .q = ctx->attn_scratch + (size_t)ith * ctx->attn_scratch_stride,
    };
    s.row = s.q + hd;
    s.acc = s.row + hd;
    s.scores = s.acc + (size_t)hd * 4 * LANES;
    int64_t begin, end;
    og_pool_split((int64_t)job->n_tokens * hp->n_head, ith, nth, &begin, &end);
    for (int64_t item = begin; item < end; item++) {
        const int32_t t = (int32_t)(item / hp->n_head), h = (int32_t)(item % hp->n_head);
        const int32_t n_keys = ctx->n_past + t + 1; /* causal: up to this token */
        const size_t kv_off = layer_off + (size_t)(h / group) * hd;
        const float *q = ctx->q + (size_t)t * q_dim + (size_t)h * hd;
        for (int32_t i = 0; i < hd; i++)
            s.q[i] = og_fp16_to_f32(og_f32_to_fp16(q[i]));
        for (int32_t j = 0; j < n_keys; j++) {
            widen(s.row, ctx->k_cache + kv_off + (size_t)j * kv_dim, hd);
            s.scores[j] = (gemm_qk ? dot_chain(s.row, s.q, hd) : dot_blocks(s.row, s.q, hd)) * scale;
        }
        og_ops_softmax(s.scores, n_keys);
        for (int32_t j = 0; j < n_keys; j++)
            s.scores[j] = og_fp16_to_f32(og_f32_to_fp16(s.scores[j]));
        float *out = ctx->attn + (size_t)t * q_dim + (size_t)h * hd;
        if (gemm_pv)
            weighted_values_chain(out, s.scores, n_keys, ctx->v_cache + kv_off, kv_dim, hd, &s);
        else
            weighted_values_blocks(out, s.scores, n_keys, ctx->v_cache + kv_off, kv_dim, hd, &s);
    }
}

size_t og_attention_scratch_floats(int32_t head_dim, int32_t n_ctx)
{
    return (size_t)head_dim * 2 + (size_t)head_dim * 4 * LANES + (size_t)n_ctx;
}

void og_attention(og_context *ctx, int32_t layer, int32_t n_tokens)
{
    attn_job job = { ctx, layer, n_tokens };
    og_pool_run(ctx->pool, attention_worker, &job);
}
