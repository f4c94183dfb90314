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
#include "model/attention.h"
#include "model/ops.h"

#define LANES 16
#define BLOCK 64 /* elements per step of the one-token dot product */
#define PREFETCH_BYTES (512u << 10)

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

OG_CLONES static float dot_chain(const og_fp16 *x, const float *y, int32_t n)
{
    float acc[LANES] = { 0 };
    for (int32_t l = 0; l < n; l += LANES)
        for (int k = 0; k < LANES; k++)
            acc[k] = fmaf(og_fp16_to_f32(x[l + k]), y[l + k], acc[k]);
    return og_reduce16(acc);
}

OG_CLONES static float dot_blocks(const og_fp16 *x, const float *y, int32_t n)
{
    const int32_t n_simd = n & ~(BLOCK - 1);
    float acc[4][LANES] = { { 0 } };
    for (int32_t l = 0; l < n_simd; l += BLOCK)
        for (int a = 0; a < 4; a++)
            for (int k = 0; k < LANES; k++)
                acc[a][k] = fmaf(og_fp16_to_f32(x[l + a * LANES + k]), y[l + a * LANES + k], acc[a][k]);
    double sum = fold4(acc);
    for (int32_t i = n_simd; i < n; i++)
        sum += (double)(og_fp16_to_f32(x[i]) * y[i]);
    return (float)sum;
}

OG_CLONES static void values_chain(float *out, const float *p, int32_t n_keys, const og_fp16 *v, size_t v_stride,
                                   int32_t hd, float *acc)
{
    memset(acc, 0, (size_t)hd * LANES * sizeof *acc); /* [hd][LANES] */
    for (int32_t j = 0; j < n_keys; j++) {
        const og_fp16 *row = v + (size_t)j * v_stride;
        const int lane = j % LANES;
        for (int32_t i = 0; i < hd; i++)
            acc[i * LANES + lane] = fmaf(og_fp16_to_f32(row[i]), p[j], acc[i * LANES + lane]);
    }
    for (int32_t i = 0; i < hd; i++)
        out[i] = og_reduce16(acc + (size_t)i * LANES);
}

OG_CLONES static void values_blocks(float *out, const float *p, int32_t n_keys, int32_t n_simd, const og_fp16 *v,
                                    size_t v_stride, int32_t hd, float *acc)
{
    memset(acc, 0, (size_t)hd * 4 * LANES * sizeof *acc); /* [hd][4][LANES] */
    for (int32_t j = 0; j < n_simd; j++) {
        const og_fp16 *row = v + (size_t)j * v_stride;
        const int slot = (j % BLOCK / LANES) * LANES + j % LANES;
        for (int32_t i = 0; i < hd; i++)
            acc[i * 4 * LANES + slot] = fmaf(og_fp16_to_f32(row[i]), p[j], acc[i * 4 * LANES + slot]);
    }
    for (int32_t i = 0; i < hd; i++) {
        double sum = fold4((float(*)[LANES])(acc + (size_t)i * 4 * LANES));
        for (int32_t j = n_simd; j < n_keys; j++)
            sum += (double)(og_fp16_to_f32(v[(size_t)j * v_stride + i]) * p[j]);
        out[i] = (float)sum;
    }
}

static void scores_chain(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                         int32_t n_keys, float scale)
{
    for (int32_t j = 0; j < n_keys; j++)
        scores[j] = dot_chain(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void scores_blocks(float *scores, const og_fp16 *keys, size_t k_stride, const float *q, int32_t hd,
                          int32_t n_keys, float scale)
{
    for (int32_t j = 0; j < n_keys; j++)
        scores[j] = dot_blocks(keys + (size_t)j * k_stride, q, hd) * scale;
}

static void softmax_fp16(float *x, int32_t n)
{
    og_ops_softmax(x, n);
    for (int32_t j = 0; j < n; j++)
        x[j] = og_fp16_to_f32(og_f32_to_fp16(x[j]));
}

static void to_fp16(og_fp16 *dst, const float *src, int32_t n)
{
    for (int32_t i = 0; i < n; i++)
        dst[i] = og_f32_to_fp16(src[i]);
}

static const og_attn_kernels portable = { dot_chain,     dot_blocks,   values_chain, values_blocks, scores_chain,
                                          scores_blocks, softmax_fp16, to_fp16 };

const og_attn_kernels *og_attn_kernels_portable(void)
{
    return &portable;
}

const og_attn_kernels *og_attn_kernels_for(int32_t head_dim)
{
    return head_dim % LANES == 0 && og_attn_kernels_avx512() ? og_attn_kernels_avx512() : &portable;
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
    const size_t q_dim = (size_t)hp->n_head * hd, head_stride = (size_t)ctx->n_ctx * (size_t)hd;
    const size_t layer_off = (size_t)job->layer * (size_t)hp->n_head_kv * head_stride;
    const float scale = 1.0f / sqrtf((float)hd);
    /* llama.cpp's GEMM needs at least two tokens and, for Q.K, a head
     * dimension that is a multiple of 16; otherwise it uses its dot. */
    const bool gemm_qk = job->n_tokens >= 2 && hd % LANES == 0;
    const bool gemm_pv = job->n_tokens >= 2;
    const og_attn_kernels *k = og_attn_kernels_for(hd);
    float *q16 = ctx->attn_scratch + (size_t)ith * ctx->attn_scratch_stride;
    float *acc = q16 + hd, *scores = acc + (size_t)hd * 4 * LANES;
    /* Token t attends to n_past + t + 1 keys, so contiguous shares would
     * give the last thread most of the work: tokens are dealt round-robin. */
    const int64_t n_items = (int64_t)job->n_tokens * hp->n_head;
    /* With fewer tokens than threads, each thread takes a contiguous run
     * of heads instead, so that it reads as few kv heads as it can. */
    int64_t head_begin = 0, head_end = hp->n_head;
    if (job->n_tokens < nth)
        og_pool_split(hp->n_head, ith, nth, &head_begin, &head_end);
    for (int64_t item = 0; item < n_items; item++) {
        const int32_t t = (int32_t)(item / hp->n_head), h = (int32_t)(item % hp->n_head);
        if (job->n_tokens >= nth ? t % nth != ith : h < head_begin || h >= head_end)
            continue;
        const int32_t n_keys = ctx->n_past + t + 1; /* causal: up to this token */
        const size_t kv_off = layer_off + (size_t)(h / group) * head_stride; /* see STEP_ROPE_STORE */
        const float *q = ctx->q + (size_t)t * q_dim + (size_t)h * hd;
        og_fp16 *q_half = (og_fp16 *)acc; /* acc is free until the values */
        k->to_fp16(q_half, q, hd);
        for (int32_t i = 0; i < hd; i++)
            q16[i] = og_fp16_to_f32(q_half[i]);
        const og_fp16 *keys = ctx->k_cache + kv_off;
        (gemm_qk ? k->scores_chain : k->scores_blocks)(scores, keys, (size_t)hd, q16, hd, n_keys, scale);
        k->softmax_fp16(scores, n_keys);
        float *out = ctx->attn + (size_t)t * q_dim + (size_t)h * hd;
        const og_fp16 *values = ctx->v_cache + kv_off;
        if (gemm_pv) {
            k->values_chain(out, scores, n_keys, values, (size_t)hd, hd, acc);
        } else {
            /* llama.cpp pads the key count to a multiple of 32 with zero
             * weights, which decides how many keys fill blocks of 64. */
            const int32_t n_whole = (n_keys + 31) / 32 * 32 / BLOCK * BLOCK;
            k->values_blocks(out, scores, n_keys, n_whole < n_keys ? n_whole : n_keys, values, (size_t)hd, hd,
                             acc);
        }
    }
}

/* One token's attention reads all of this layer's keys and values, which
 * the weights streamed since the last token have pushed out of the
 * caches; fetching them while the Q/K/V products stream hides the wait.
 * (Also with several threads: from the caller's cache the others get
 * them sooner than from memory.) */
void og_attention_prefetch(const og_context *ctx, int32_t layer)
{
    const og_hparams *hp = &ctx->model->hp;
    const size_t head_stride = (size_t)ctx->n_ctx * (size_t)hp->head_dim;
    const size_t layer_off = (size_t)layer * (size_t)hp->n_head_kv * head_stride;
    /* At most half of L2 in all: a long context's later keys would only
     * push out its first ones, and the kernels stream them anyway. */
    const size_t cap = PREFETCH_BYTES / 2 / (size_t)hp->n_head_kv;
    size_t bytes = (size_t)ctx->n_past * (size_t)hp->head_dim * sizeof(og_fp16);
    bytes = bytes < cap ? bytes : cap;
    for (int32_t kv_head = 0; kv_head < hp->n_head_kv; kv_head++) {
        const char *k = (const char *)(ctx->k_cache + layer_off + (size_t)kv_head * head_stride);
        const char *v = (const char *)(ctx->v_cache + layer_off + (size_t)kv_head * head_stride);
        for (size_t b = 0; b < bytes; b += 64) {
            __builtin_prefetch(k + b, 0, 3);
            __builtin_prefetch(v + b, 0, 3);
        }
    }
}

size_t og_attention_scratch_floats(int32_t head_dim, int32_t n_ctx)
{
    return (size_t)head_dim + (size_t)head_dim * 4 * LANES + (size_t)n_ctx;
}

void og_attention(og_context *ctx, int32_t layer, int32_t n_tokens)
{
    attn_job job = { ctx, layer, n_tokens };
    og_pool_run(ctx->pool, attention_worker, &job);
}

#if !defined(__x86_64__)
const og_attn_kernels *og_attn_kernels_avx512(void)
{
    return NULL;
}
#endif
