/*
 * context.c - creating a context (all buffers planned and allocated
 * once, here, so the token loop never allocates), decoding token batches
 * and handing out logits. The context owns its pool, KV cache and
 * buffers; the model must outlive it.
 */
#include "model/context.h"
#include "model/arch.h"
#include "run/generate.h"
#include "run/speculative.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "offgrid.h"
#include "base/clock.h"

og_context_params og_context_default_params(void)
{
    og_context_params p = { .n_ctx = 0, .n_batch = 0, .n_threads = 0 };
    return p;
}

static size_t plan_bytes(const og_context_plan *p)
{
    return 2 * p->kv * sizeof(og_fp16) +
           (2 * p->x + 2 * p->q + 2 * p->kv_rows + 2 * p->ff + p->attn_scratch + p->rope + p->logits) * sizeof(float) +
           p->acts;
}

static int32_t default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 && n < 256 ? (int32_t)n : 1;
}

static void resolve(const og_model *m, const og_context_params *params, int32_t *n_ctx, int32_t *n_batch,
                    int32_t *n_threads)
{
    *n_ctx = params->n_ctx > 0 ? params->n_ctx : (m->hp.n_ctx_train < 4096 ? m->hp.n_ctx_train : 4096);
    *n_batch = params->n_batch > 0 ? params->n_batch : 512;
    if (*n_batch > *n_ctx)
        *n_batch = *n_ctx;
    *n_threads = params->n_threads > 0 ? params->n_threads : default_threads();
}

uint64_t og_model_context_bytes(const og_model *m, int32_t n_ctx, int32_t n_batch)
{
    og_context_params params = { n_ctx, n_batch, 0 };
    int32_t c, b, t;
    resolve(m, &params, &c, &b, &t);
    if (!m->arch || !m->arch->plan)
        return 0;
    og_context_plan p = { 0 };
    m->arch->plan(m, c, b, t, &p);
    return plan_bytes(&p);
}

og_status og_context_new(og_model *model, const og_context_params *params, og_context **out, og_error *err)
{
    og_context_params defaults = og_context_default_params();
    if (!params)
        params = &defaults;
    if (!model || !out)
        return og_error_set(err, OG_ERR_ARG, "og_context_new: model and out are required");
    *out = NULL;
    if (!model->arch)
        return og_error_set(err, OG_ERR_ARG, "the model was loaded vocab-only and cannot run");
    if (model->arch->kind != OG_ARCH_DECODER || !model->arch->plan || !model->arch->forward)
        return og_error_set(err, OG_ERR_ARG, "'%s' is an encoder: use og_encoder_new (offgrid embed/classify)",
                            model->arch_name);
    if (params->n_ctx < 0 || params->n_batch < 0 || params->n_threads < 0 || params->n_threads > 1024 ||
        params->n_ctx > (1 << 20))
        return og_error_set(err, OG_ERR_ARG, "invalid context parameters (n_ctx %d, n_batch %d, n_threads %d)",
                            params->n_ctx, params->n_batch, params->n_threads);
    og_context *ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory");
    ctx->model = model;
    ctx->kern = og_kernels_best();
    resolve(model, params, &ctx->n_ctx, &ctx->n_batch, &ctx->n_threads);
    /* Only a count left to the library is tuned (an explicit one is kept). */
    og_thread_tuner_init(&ctx->tuner, params->n_threads == 0 ? ctx->n_threads : 1);
    og_status st = og_pool_new(ctx->n_threads, &ctx->pool, err);
    if (st != OG_OK) {
        og_context_free(ctx);
        return st;
    }
    og_context_plan p = { 0 };
    model->arch->plan(model, ctx->n_ctx, ctx->n_batch, ctx->n_threads, &p);
    ctx->k_cache = calloc(p.kv, sizeof(og_fp16));
    ctx->v_cache = calloc(p.kv, sizeof(og_fp16));
    ctx->x = malloc(p.x * sizeof(float));
    ctx->xb = malloc(p.x * sizeof(float));
    ctx->q = malloc(p.q * sizeof(float));
    ctx->attn = malloc(p.q * sizeof(float));
    ctx->k = malloc(p.kv_rows * sizeof(float));
    ctx->v = malloc(p.kv_rows * sizeof(float));
    ctx->hb = malloc(p.ff * sizeof(float));
    ctx->hb2 = malloc(p.ff * sizeof(float));
    ctx->attn_scratch = malloc(p.attn_scratch * sizeof(float));
    ctx->attn_scratch_stride = p.attn_scratch / (size_t)ctx->n_threads;
    ctx->acts = malloc(p.acts);
    ctx->act_row_cap = p.acts / (size_t)ctx->n_batch;
    ctx->rope_cache = malloc(p.rope * sizeof(float));
    ctx->logits = malloc(p.logits * sizeof(float));
    ctx->logits_cap = 1;
    ctx->tokens = malloc((size_t)ctx->n_ctx * sizeof *ctx->tokens);
    if (!ctx->k_cache || !ctx->v_cache || !ctx->x || !ctx->xb || !ctx->q || !ctx->attn || !ctx->k || !ctx->v ||
        !ctx->hb || !ctx->hb2 || !ctx->attn_scratch || !ctx->acts || !ctx->rope_cache || !ctx->logits || !ctx->tokens) {
        size_t need = plan_bytes(&p);
        int32_t n_ctx = ctx->n_ctx; /* the size in force, the default included */
        og_context_free(ctx);
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for a context of %d tokens (%.1f MiB)", n_ctx,
                            need / (1024.0 * 1024.0));
    }
    *out = ctx;
    return OG_OK;
}

void og_context_free(og_context *ctx)
{
    if (!ctx)
        return;
    og_pool_free(ctx->pool);
    free(ctx->k_cache);
    free(ctx->v_cache);
    free(ctx->x);
    free(ctx->xb);
    free(ctx->q);
    free(ctx->attn);
    free(ctx->k);
    free(ctx->v);
    free(ctx->hb);
    free(ctx->hb2);
    free(ctx->attn_scratch);
    free(ctx->acts);
    free(ctx->rope_cache);
    free(ctx->logits);
    free(ctx->tokens);
    og_gen_scratch_free(ctx->gen);
    og_spec_free(ctx->spec);
    free(ctx);
}

int32_t og_context_n_ctx(const og_context *ctx) { return ctx->n_ctx; }
int32_t og_context_n_past(const og_context *ctx) { return ctx->n_past; }
const og_token *og_context_tokens(const og_context *ctx) { return ctx->tokens; }

void og_context_truncate(og_context *ctx, int32_t n_keep)
{
    if (n_keep >= 0 && n_keep < ctx->n_past)
        ctx->n_past = n_keep;
}

/* One token of generation with the thread count the tuner picks (see
 * base/thread_tuner.c: the default count must not collapse when another
 * process competes for a core). */
static og_status decode_one_tuned(og_context *ctx, og_token token, bool all_logits)
{
    og_pool_set_active(ctx->pool, og_thread_tuner_next(&ctx->tuner));
    const double t0 = og_now_seconds();
    ctx->model->arch->forward(ctx, &token, 1, all_logits);
    og_thread_tuner_record(&ctx->tuner, og_now_seconds() - t0);
    ctx->tokens[ctx->n_past++] = token;
    return OG_OK;
}

og_status og_decode(og_context *ctx, const og_token *tokens, int32_t n_tokens, bool all_logits, og_error *err)
{
    if (!ctx || (!tokens && n_tokens) || n_tokens <= 0)
        return og_error_set(err, OG_ERR_ARG, "og_decode: no tokens to decode");
    if (n_tokens > ctx->n_ctx - ctx->n_past)
        return og_error_set(err, OG_ERR_CONTEXT_FULL, "context full: %d tokens cached, %d more do not fit in %d",
                            ctx->n_past, n_tokens, ctx->n_ctx);
    if (all_logits && n_tokens > ctx->n_batch)
        return og_error_set(err, OG_ERR_ARG, "all_logits needs at most n_batch (%d) tokens per call, got %d",
                            ctx->n_batch, n_tokens);
    const int32_t n_vocab = ctx->model->hp.n_vocab;
    for (int32_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return og_error_set(err, OG_ERR_ARG, "token id %d at index %d is outside the vocabulary (0..%d)",
                                tokens[i], i, n_vocab - 1);
    if (all_logits && ctx->logits_cap < ctx->n_batch) {
        /* Grown once per context, the first time all logits are asked for. */
        float *bigger = realloc(ctx->logits, (size_t)ctx->n_batch * (size_t)n_vocab * sizeof(float));
        if (!bigger)
            return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d rows of logits", ctx->n_batch);
        ctx->logits = bigger;
        ctx->logits_cap = ctx->n_batch;
    }
    if (n_tokens == 1 && ctx->tuner.n_max > 1)
        return decode_one_tuned(ctx, tokens[0], all_logits);
    og_pool_set_active(ctx->pool, ctx->n_threads); /* prompts use every thread */
    for (int32_t done = 0; done < n_tokens;) {
        int32_t n = n_tokens - done < ctx->n_batch ? n_tokens - done : ctx->n_batch;
        ctx->model->arch->forward(ctx, tokens + done, n, all_logits);
        memcpy(ctx->tokens + ctx->n_past, tokens + done, (size_t)n * sizeof *tokens);
        ctx->n_past += n;
        done += n;
    }
    return OG_OK;
}

og_status og_context_reserve_logits(og_context *ctx, int32_t rows, og_error *err)
{
    if (ctx->logits_cap >= rows)
        return OG_OK;
    float *bigger = realloc(ctx->logits, (size_t)rows * (size_t)ctx->model->hp.n_vocab * sizeof(float));
    if (!bigger)
        return og_error_set(err, OG_ERR_NOMEM, "out of memory for %d rows of logits", rows);
    ctx->logits = bigger;
    ctx->logits_cap = rows;
    return OG_OK;
}

og_status og_decode_rows(og_context *ctx, const og_token *tokens, int32_t n_tokens, og_error *err)
{
    if (n_tokens < 1 || n_tokens > ctx->logits_cap || n_tokens > ctx->n_batch)
        return og_error_set(err, OG_ERR_ARG, "og_decode_rows: %d tokens, room for 1 to %d", n_tokens,
                            ctx->logits_cap < ctx->n_batch ? ctx->logits_cap : ctx->n_batch);
    if (n_tokens > ctx->n_ctx - ctx->n_past)
        return og_error_set(err, OG_ERR_CONTEXT_FULL, "context full: %d tokens cached, %d more do not fit in %d",
                            ctx->n_past, n_tokens, ctx->n_ctx);
    for (int32_t i = 0; i < n_tokens; i++)
        if (tokens[i] < 0 || tokens[i] >= ctx->model->hp.n_vocab)
            return og_error_set(err, OG_ERR_ARG, "token id %d at index %d is outside the vocabulary", tokens[i], i);
    og_pool_set_active(ctx->pool, ctx->n_threads);
    ctx->rows_as_one = true;
    ctx->model->arch->forward(ctx, tokens, n_tokens, true);
    ctx->rows_as_one = false;
    memcpy(ctx->tokens + ctx->n_past, tokens, (size_t)n_tokens * sizeof *tokens);
    ctx->n_past += n_tokens;
    return OG_OK;
}

const float *og_get_logits(const og_context *ctx, int32_t i)
{
    if (i < 0)
        i = ctx->n_logits - 1;
    if (i < 0 || i >= ctx->n_logits)
        return NULL;
    return ctx->logits + (size_t)i * (size_t)ctx->model->hp.n_vocab;
}
