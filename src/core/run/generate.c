/*
 * generate.c - the token loop: decode a prompt, then sample, report and
 * feed back one token at a time. It allocates nothing per token.
 */
#include <time.h>

#include "offgrid.h"
#include "model/context.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

og_status og_generate(og_context *ctx, og_sampler *sampler, const og_token *prompt, int32_t n_prompt,
                      int32_t max_tokens, og_token_fn on_token, void *user, og_gen_stats *stats, og_error *err)
{
    og_gen_stats local;
    if (!stats)
        stats = &local;
    *stats = (og_gen_stats){ .n_prompt = n_prompt };
    if (!ctx || !sampler || !prompt || n_prompt <= 0)
        return og_error_set(err, OG_ERR_ARG, "og_generate: a context, a sampler and a non-empty prompt are needed");
    const og_model *m = ctx->model;
    for (int32_t i = 0; i < n_prompt; i++)
        og_sampler_accept(sampler, prompt[i]);
    double t0 = now_seconds();
    og_status st = og_decode(ctx, prompt, n_prompt, false, err);
    double t1 = now_seconds();
    stats->prompt_seconds = t1 - t0;
    char piece[256];
    while (st == OG_OK && (max_tokens < 0 || stats->n_gen < max_tokens)) {
        og_token t = og_sampler_sample(sampler, og_get_logits(ctx, -1));
        if (t < 0 || og_vocab_is_eog(m->vocab, t)) {
            stats->hit_eog = t >= 0;
            break;
        }
        og_sampler_accept(sampler, t);
        stats->n_gen++;
        if (on_token) {
            int32_t len = og_vocab_token_to_piece(m->vocab, t, piece, sizeof piece, false);
            if (len < 0 || len > (int32_t)sizeof piece)
                len = 0;
            if (!on_token(user, t, piece, len))
                break;
        }
        if (ctx->n_past >= ctx->n_ctx) {
            stats->context_full = true;
            break;
        }
        st = og_decode(ctx, &t, 1, false, err);
    }
    stats->gen_seconds = now_seconds() - t1;
    return st;
}
