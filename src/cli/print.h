/*
 * print.h - printing helpers shared by `run` and `chat`: a token
 * callback that streams text (or ids) to stdout, and the timing line.
 */
#ifndef OG_CLI_PRINT_H
#define OG_CLI_PRINT_H

#include "offgrid.h"

/* State of the stdout printer; zero-initialize, set print_ids. */
typedef struct cli_printer {
    bool print_ids;      /* the generated ids, space-separated, instead of text */
    bool print_logprobs; /* one line a token: id, log-probability, text as JSON */
    int32_t n_printed;
    double logprob_sum;
} cli_printer;

/* An og_token_fn that prints to stdout and flushes, so output streams. */
bool cli_print_token(void *printer, const og_gen_token *token);

/* The sampling defaults of the generation commands (run, chat): the
 * library's, with a repetition penalty of CLI_REPEAT_PENALTY, as Ollama
 * uses, because small chat models otherwise loop on one sentence. The
 * library's default stays 1 (off) so its results match llama.cpp's. */
#define CLI_REPEAT_PENALTY 1.1f
og_sampler_params cli_sampling_defaults(void);

/* Makes a sampler from the command's options; prints errors itself. */
og_sampler *cli_new_sampler(const og_model *m, const og_sampler_params *params);

/* Prints the prompt and generation token counts and times to stderr,
 * with a speed only where there is something to measure: tokens decoded
 * over at least a millisecond. */
void cli_print_stats(const og_gen_result *result);

#endif
