/*
 * draft.h - `--draft MODEL` and `--draft-max N`, the speculative decoding
 * options of run, chat, bench and serve (draft.c): the option group, and
 * loading the draft and attaching it to a target context.
 */
#ifndef OG_CLI_DRAFT_H
#define OG_CLI_DRAFT_H

#include "cli/cli.h"

typedef struct cli_draft_opts {
    const char *model; /* the draft model's file or installed name; NULL: none */
    int32_t max;       /* --draft-max; 0: the library's (16) */
} cli_draft_opts;

extern const cli_option cli_draft_options[];

/* A loaded draft: its model and one context. */
typedef struct cli_draft {
    og_model *model;
    og_context *ctx;
} cli_draft;

/* Finds o->model as -m finds a model (a path or an installed name), loads
 * it and attaches a context of it (as large as ctx's, c's threads) to ctx.
 * o->model NULL: does nothing (--draft-max alone is an error). Prints cmd's errors to stderr (a draft with
 * another vocabulary is named); returns false on failure, leaving *out
 * empty. */
bool cli_draft_attach(const char *cmd, const cli_draft_opts *o, const cli_context_opts *c, og_context *ctx,
                      cli_draft *out);
/* Frees the draft; detach it first from a context that outlives it. */
void cli_draft_free(cli_draft *d);

/* "draft: N proposed, M accepted (P%)" on stderr when r drafted any. */
void cli_print_draft_stats(const og_gen_result *r);

#endif
