/*
 * print.c - printing helpers for the run and chat commands: the token
 * callback that streams generated text (or ids, or ids with their
 * log-probabilities) to stdout, and the timing line on stderr.
 */
#include "cli/print.h"
#include "cli/cli.h"

#include <stdio.h>

bool cli_print_token(void *arg, const og_gen_token *t)
{
    cli_printer *p = arg;
    if (p->print_logprobs) {
        /* One line a token: id, log-probability, its text as JSON. */
        if (t->id < 0)
            return true;
        printf("%d\t%.6f\t", t->id, (double)t->logprob);
        fflush(stdout);
        char piece[1024];
        int32_t n = t->piece_len < (int32_t)sizeof piece - 1 ? t->piece_len : (int32_t)sizeof piece - 1;
        for (int32_t i = 0; i < n; i++)
            piece[i] = t->piece[i] ? t->piece[i] : ' ';
        piece[n] = 0;
        cli_json_str(piece);
        putchar('\n');
        p->logprob_sum += t->logprob;
    } else if (p->print_ids) {
        if (t->id < 0)
            return true;
        printf(p->n_printed ? " %d" : "%d", t->id);
    } else {
        fwrite(t->text, 1, t->text_len, stdout);
    }
    p->n_printed += t->id >= 0;
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

void cli_print_stats(const og_gen_result *r)
{
    fprintf(stderr,
            "prompt: %d tokens in %.3f s (%.1f tokens/s, %d reused); generated: %d tokens in %.3f s (%.1f tokens/s)%s%s\n",
            r->n_prompt, r->prompt_seconds, r->prompt_seconds > 0 ? (r->n_prompt - r->n_cached) / r->prompt_seconds : 0.0,
            r->n_cached, r->n_gen, r->gen_seconds, r->gen_seconds > 0 ? r->n_gen / r->gen_seconds : 0.0,
            r->finish == OG_FINISH_CONTEXT_FULL ? " (context full)" : "",
            r->finish == OG_FINISH_STOP ? " (stop)" : "");
}
