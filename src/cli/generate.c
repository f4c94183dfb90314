/*
 * generate.c - the generation loop used by the run and chat commands.
 */
#include "cli/generate.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "cli/cli.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

og_status cli_generate(og_model *m, og_context *ctx, const og_token *prompt, int32_t n_prompt,
                       const cli_gen_params *gp, og_token **out, cli_gen_stats *stats)
{
    og_error err = { 0 };
    og_sampler *sampler = NULL;
    og_status st = og_sampler_new(&gp->sampling, og_vocab_size(m), &sampler, &err);
    stats->n_prompt = n_prompt;
    stats->n_gen = 0;
    stats->prompt_seconds = stats->gen_seconds = 0;
    if (st != OG_OK) {
        fprintf(stderr, "offgrid: %s\n", err.message);
        return st;
    }
    for (int32_t i = 0; i < n_prompt; i++)
        og_sampler_accept(sampler, prompt[i]);
    double t0 = now_seconds();
    st = og_decode(ctx, prompt, n_prompt, false, &err);
    double t1 = now_seconds();
    stats->prompt_seconds = t1 - t0;
    og_token *generated = NULL;
    int32_t cap = 0;
    for (int32_t i = 0; st == OG_OK && (gp->n_predict < 0 || i < gp->n_predict); i++) {
        og_token t = og_sampler_sample(sampler, og_get_logits(ctx, -1));
        if (og_token_is_eog(m, t))
            break;
        og_sampler_accept(sampler, t);
        if (out) {
            if (stats->n_gen == cap) {
                cap = cap ? cap * 2 : 64;
                og_token *bigger = realloc(generated, (size_t)cap * sizeof *bigger);
                if (!bigger) {
                    st = OG_ERR_NOMEM;
                    break;
                }
                generated = bigger;
            }
            generated[stats->n_gen] = t;
        }
        stats->n_gen++;
        if (gp->print_ids) {
            printf(i ? " %d" : "%d", t);
            fflush(stdout);
        } else {
            cli_print_piece(m, t);
        }
        if (og_context_n_past(ctx) >= og_context_n_ctx(ctx)) {
            fprintf(stderr, "\noffgrid: context full (%d tokens), stopping\n", og_context_n_ctx(ctx));
            break;
        }
        st = og_decode(ctx, &t, 1, false, &err);
    }
    stats->gen_seconds = now_seconds() - t1;
    if (st != OG_OK && st != OG_ERR_NOMEM)
        fprintf(stderr, "\noffgrid: %s\n", err.message);
    og_sampler_free(sampler);
    if (out)
        *out = generated;
    else
        free(generated);
    return st;
}

void cli_print_stats(const cli_gen_stats *s)
{
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tokens/s); generated: %d tokens in %.3f s (%.1f tokens/s)\n",
            s->n_prompt, s->prompt_seconds, s->prompt_seconds > 0 ? s->n_prompt / s->prompt_seconds : 0.0,
            s->n_gen, s->gen_seconds, s->gen_seconds > 0 ? s->n_gen / s->gen_seconds : 0.0);
}
