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
 * Work is split over tokens (prompts) or runs of heads (one token);
 * nothing is allocated.
 */
#include <string.h>

#include "base/numerics.h"
#include "model/context.h"
#include "model/attention.h"
#include "model/ops.h"

/* What og_attention_prefetch fetches at most: half of this CPU's 1 MiB
 * L2, so that the Q/K/V weights streaming meanwhile do not push it out. */
#define KV_PREFETCH_BYTES (512u << 10)

/* fp16 to float inside the kernels: GCC's _Float16 conversion, one
 * vcvtph2ps in the x86-64-v3 clones (exact either way); elsewhere the
 * portable bit manipulation. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
static inline float al_h2f(og_fp16 h)
{
    _Float16 f;
    memcpy(&f, &h, sizeof f);
    return (float)f;
}
#define AL_H2F al_h2f
#else
#define AL_H2F og_fp16_to_f32
#endif

#define LANES 16
#define BLOCK 64
#define AL_NAME(name) name##_16
#define AL_REDUCE_CHAIN og_reduce16
#define AL_REDUCE_FOLDED og_reduce16
#include "model/attention_lanes.h"
#undef LANES
#undef BLOCK
#undef AL_NAME
#undef AL_REDUCE_CHAIN
#undef AL_REDUCE_FOLDED

#define LANES 8
#define BLOCK 32
#define AL_NAME(name) name##_8
#define AL_REDUCE_CHAIN og_reduce8
#define AL_REDUCE_FOLDED og_reduce8_hadd
#include "model/attention_lanes.h"
#undef LANES
#undef BLOCK
#undef AL_NAME
#undef AL_REDUCE_CHAIN
#undef AL_REDUCE_FOLDED

/* The most lanes any kernel table uses (scratch sizes). */
#define MAX_LANES 16

const og_attn_kernels *og_attn_kernels_portable(int32_t lanes)
{
    return lanes == 16 ? &portable_16 : lanes == 8 ? &portable_8 : NULL;
}

const og_attn_kernels *og_attn_kernels_for(int32_t head_dim)
{
    const int32_t lanes = og_llama_build_order() == OG_LLAMA_AVX2 ? 8 : 16;
    if (lanes == 16 && head_dim % 16 == 0 && og_attn_kernels_avx512())
        return og_attn_kernels_avx512();
    if (head_dim % 8 == 0 && og_attn_kernels_avx2(lanes))
        return og_attn_kernels_avx2(lanes);
    return og_attn_kernels_portable(lanes);
}

/* The scratch of thread ith: fp16-rounded queries, the portable
 * kernels' accumulators, and the attention weights, one row per query
 * head of a run. */
typedef struct scratch {
    float *q16, *acc, *scores;
} scratch;

static scratch thread_scratch(const og_context *ctx, int ith)
{
    const size_t hd = (size_t)ctx->model->hp.head_dim;
    float *q16 = ctx->attn_scratch + (size_t)ith * ctx->attn_scratch_stride;
    float *acc = q16 + OG_ATTN_MULTI * hd;
    return (scratch){ q16, acc, acc + hd * 4 * MAX_LANES };
}

/* llama.cpp pads the key count to a multiple of 32 with zero weights,
 * which decides how many keys of one-token P.V fill blocks of 64. */
static int32_t keys_in_blocks(int32_t n_keys, int32_t block)
{
    const int32_t n_whole = (n_keys + 31) / 32 * 32 / block * block;
    return n_whole < n_keys ? n_whole : n_keys;
}

/* Prompts: llama.cpp's GEMM needs at least two tokens and, for Q.K, a
 * head dimension that is a multiple of 16; otherwise it uses its dot.
 * Token t attends to n_past + t + 1 keys, so contiguous shares would
 * give the last thread most of the work: tokens are dealt round-robin
 * (or heads, with fewer tokens than threads). */
static void attention_tokens(og_context *ctx, int32_t layer, int32_t n_tokens, int ith, int nth)
{
    const og_hparams *hp = &ctx->model->hp;
    const int32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv;
    const size_t q_dim = (size_t)hp->n_head * hd, head_stride = (size_t)ctx->n_ctx * (size_t)hd;
    const size_t layer_off = (size_t)layer * (size_t)hp->n_head_kv * head_stride;
    const float scale = 1.0f / sqrtf((float)hd);
    const og_attn_kernels *k = og_attn_kernels_for(hd);
    const bool gemm_qk = hd % k->lanes == 0;
    const scratch sc = thread_scratch(ctx, ith);
    const int64_t n_items = (int64_t)n_tokens * hp->n_head;
    for (int64_t item = 0; item < n_items; item++) {
        const int32_t t = (int32_t)(item / hp->n_head), h = (int32_t)(item % hp->n_head);
        if ((n_tokens >= nth ? t : h) % nth != ith)
            continue;
        const int32_t n_keys = ctx->n_past + t + 1; /* causal: up to this token */
        const size_t kv_off = layer_off + (size_t)(h / group) * head_stride; /* see STEP_ROPE_STORE */
        k->round_fp16(sc.q16, ctx->q + (size_t)t * q_dim + (size_t)h * hd, hd);
        (gemm_qk ? k->scores_chain : k->scores_blocks)(sc.scores, ctx->k_cache + kv_off, (size_t)hd, sc.q16, hd,
                                                       n_keys, scale);
        k->softmax_fp16(sc.scores, n_keys);
        k->values_chain(ctx->attn + (size_t)t * q_dim + (size_t)h * hd, sc.scores, n_keys, ctx->v_cache + kv_off,
                        (size_t)hd, hd, sc.acc);
    }
}

/* One token: llama.cpp's dot-product order. Each thread takes a
 * contiguous run of heads, so that it reads as few kv heads as it can,
 * and the heads of a run that share a kv head go through the multi
 * kernels together, which read each key and value once for all. */
static void attention_one(og_context *ctx, int32_t layer, int32_t t, int ith, int nth)
{
    const og_hparams *hp = &ctx->model->hp;
    const int32_t hd = hp->head_dim, group = hp->n_head / hp->n_head_kv, n_keys = ctx->n_past + t + 1;
    const size_t row = (size_t)t * (size_t)hp->n_head * (size_t)hd; /* token t's queries and output */
    const size_t head_stride = (size_t)ctx->n_ctx * (size_t)hd;
    const size_t layer_off = (size_t)layer * (size_t)hp->n_head_kv * head_stride;
    const float scale = 1.0f / sqrtf((float)hd);
    const og_attn_kernels *k = og_attn_kernels_for(hd);
    const scratch sc = thread_scratch(ctx, ith);
    int64_t h, head_end;
    og_pool_split(hp->n_head, ith, nth, &h, &head_end);
    while (h < head_end) {
        const int32_t kv_head = (int32_t)h / group;
        int64_t run_end = (int64_t)(kv_head + 1) * group;
        run_end = run_end < head_end ? run_end : head_end;
        run_end = run_end < h + OG_ATTN_MULTI ? run_end : h + OG_ATTN_MULTI;
        const int n_q = (int)(run_end - h);
        k->round_fp16(sc.q16, ctx->q + row + (size_t)h * hd, n_q * hd); /* the run's queries lie side by side */
        const size_t kv_off = layer_off + (size_t)kv_head * head_stride; /* see STEP_ROPE_STORE */
        k->scores_blocks_multi(sc.scores, (size_t)ctx->n_ctx, ctx->k_cache + kv_off, (size_t)hd, sc.q16, n_q, hd,
                               n_keys, scale);
        for (int i = 0; i < n_q; i++)
            k->softmax_fp16(sc.scores + (size_t)i * ctx->n_ctx, n_keys);
        k->values_blocks_multi(ctx->attn + row + (size_t)h * hd, sc.scores, (size_t)ctx->n_ctx, n_q, n_keys,
                               keys_in_blocks(n_keys, k->block), ctx->v_cache + kv_off, (size_t)hd, hd, sc.acc);
        h = run_end;
    }
}

typedef struct attn_job {
    og_context *ctx;
    int32_t layer, n_tokens;
} attn_job;

static void attention_worker(void *arg, int ith, int nth)
{
    const attn_job *job = arg;
    if (job->n_tokens == 1) {
        attention_one(job->ctx, job->layer, 0, ith, nth);
        og_ops_prefetch_ahead(job->ctx, ith, nth);
    } else if (job->ctx->rows_as_one) {
        /* Speculative verification: each row in the one-token order, so
         * its logits equal those of one-token generation bit for bit. */
        for (int32_t t = 0; t < job->n_tokens; t++)
            attention_one(job->ctx, job->layer, t, ith, nth);
    } else {
        attention_tokens(job->ctx, job->layer, job->n_tokens, ith, nth);
    }
}

/* One token's attention reads all of this layer's keys and values, which
 * the weights streamed since the last token have pushed out of the
 * caches. Requested before the Q/K/V products, they arrive while those
 * stream instead of one miss at a time inside attention (the thread
 * stalls while it issues them, but for less than attention did: 8% off
 * SmolLM2's attention at one thread). Each thread fetches the kv heads
 * of its own run of heads into its own cache: when one thread fetched
 * them all, the others' attention took longer than its own. */
void og_attention_prefetch(const og_context *ctx, int32_t layer, int ith, int nth)
{
    const og_hparams *hp = &ctx->model->hp;
    const int32_t group = hp->n_head / hp->n_head_kv;
    const size_t head_stride = (size_t)ctx->n_ctx * (size_t)hp->head_dim;
    const size_t layer_off = (size_t)layer * (size_t)hp->n_head_kv * head_stride;
    /* A long context's later keys would only push out its first ones;
     * the kernels stream them anyway. */
    const size_t cap = KV_PREFETCH_BYTES / 2 / (size_t)hp->n_head_kv;
    size_t bytes = (size_t)ctx->n_past * (size_t)hp->head_dim * sizeof(og_fp16);
    bytes = bytes < cap ? bytes : cap;
    int64_t h, head_end;
    og_pool_split(hp->n_head, ith, nth, &h, &head_end); /* as attention_one splits them */
    if (h >= head_end)
        return;
    for (int32_t kv_head = (int32_t)h / group; kv_head <= (int32_t)(head_end - 1) / group; kv_head++) {
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
    return (size_t)OG_ATTN_MULTI * ((size_t)head_dim + (size_t)n_ctx) + (size_t)head_dim * 4 * MAX_LANES;
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

const og_attn_kernels *og_attn_kernels_avx2(int32_t lanes)
{
    (void)lanes;
    return NULL;
}
#endif
