/*
 * generate.c - printing helpers for the run and chat commands.
 */
#include "cli/print.h"

#include <stdio.h>

bool cli_print_token(void *arg, og_token t, const char *piece, int32_t len)
{
    cli_printer *p = arg;
    if (p->print_ids)
        printf(p->n_printed ? " %d" : "%d", t);
    else
        fwrite(piece, 1, (size_t)len, stdout);
    p->n_printed++;
    fflush(stdout);
    return true;
}

og_sampler *cli_new_sampler(const og_model *m, const og_sampler_params *params)
{
    og_sampler *s = NULL;
    og_error err = { 0 };
    if (og_sampler_new(params, og_vocab_size(m), &s, &err) != OG_OK)
        fprintf(stderr, "offgrid: %s\n", err.message);
    return s;
}

void cli_print_stats(const og_gen_stats *s)
{
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tokens/s); generated: %d tokens in %.3f s (%.1f tokens/s)%s\n",
            s->n_prompt, s->prompt_seconds, s->prompt_seconds > 0 ? s->n_prompt / s->prompt_seconds : 0.0,
            s->n_gen, s->gen_seconds, s->gen_seconds > 0 ? s->n_gen / s->gen_seconds : 0.0,
            s->context_full ? " (context full)" : "");
}
