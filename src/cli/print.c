/*
 * print.c - printing helpers for the run and chat commands: the token
 * callback that streams generated text (or ids, or ids with their
 * log-probabilities) to stdout, the sampler with the generation
 * commands' defaults, and the timing line on stderr.
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

og_sampler_params cli_sampling_defaults(void)
{
    og_sampler_params p = og_sampler_default_params();
    p.repeat_penalty = CLI_REPEAT_PENALTY;
    return p;
}

og_sampler *cli_new_sampler(const og_model *m, const og_sampler_params *params)
{
    og_sampler *s = NULL;
    og_error err = { 0 };
    if (og_sampler_new(params, og_vocab_size(m), &s, &err) != OG_OK)
        fprintf(stderr, "offgrid: %s\n", err.message);
    return s;
}

/* " (N tokens/s)" when n tokens over seconds is a speed worth printing:
 * a prompt refused before decoding, or nothing generated, took no
 * measurable time, and dividing by it gives nonsense. */
static const char *speed(int32_t n, double seconds, char *buf, size_t cap)
{
    if (n <= 0 || !(seconds >= 1e-3))
        return "";
    snprintf(buf, cap, " (%.1f tokens/s)", n / seconds);
    return buf;
}

void cli_print_stats(const og_gen_result *r)
{
    char prompt_speed[64], gen_speed[64];
    fprintf(stderr, "prompt: %d tokens (%d reused) in %.3f s%s; generated: %d tokens in %.3f s%s%s%s\n", r->n_prompt,
            r->n_cached, r->prompt_seconds,
            speed(r->n_prompt - r->n_cached, r->prompt_seconds, prompt_speed, sizeof prompt_speed), r->n_gen,
            r->gen_seconds, speed(r->n_gen, r->gen_seconds, gen_speed, sizeof gen_speed),
            r->finish == OG_FINISH_CONTEXT_FULL ? " (context full)" : "",
            r->finish == OG_FINISH_STOP ? " (stop)" : "");
}
