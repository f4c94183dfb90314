/*
 * generate.h - the token loop shared by `run` and `chat`: decode the
 * prompt, then sample, print and feed back one token at a time.
 */
#ifndef OG_CLI_GENERATE_H
#define OG_CLI_GENERATE_H

#include "offgrid.h"

typedef struct cli_gen_params {
    int32_t n_predict; /* -1: until end of generation or a full context */
    bool print_ids;
    og_sampler_params sampling;
} cli_gen_params;

typedef struct cli_gen_stats {
    int32_t n_prompt, n_gen;
    double prompt_seconds, gen_seconds;
} cli_gen_stats;

/* Decodes prompt[0..n_prompt) on top of what ctx holds and generates.
 * When out/n_out are given, the generated ids are appended to a malloc'd
 * array the caller frees. Errors are printed to stderr. */
og_status cli_generate(og_model *m, og_context *ctx, const og_token *prompt, int32_t n_prompt,
                       const cli_gen_params *gp, og_token **out, cli_gen_stats *stats);

/* Prints prompt and generation speed to stderr. */
void cli_print_stats(const cli_gen_stats *stats);

#endif
