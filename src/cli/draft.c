/*
 * draft.c - the CLI side of speculative decoding: the --draft and
 * --draft-max options every generating command shares, loading the draft
 * model (found like -m) and attaching a context of it to the target's
 * (og_context_set_draft checks the vocabularies), and the one-line
 * acceptance report. Owns the cli_draft it fills.
 */
#include <stdio.h>

#include "cli/draft.h"
#include "cli/options.h"

const cli_option cli_draft_options[] = {
    { NULL, "--draft", CLI_STRING, CLI_AT(cli_draft_opts, model, const char *), "MODEL",
      .help = "speculative decoding: a smaller model with the same\nvocabulary proposes tokens the model checks "
              "in one\npass (GGUF file or installed name); greedy output\nis unchanged, sampling keeps the model's "
              "distribution" },
    { NULL, "--draft-max", CLI_INT, CLI_AT(cli_draft_opts, max, int32_t), "N",
      .help = "most tokens the draft proposes at a time (the\nlength adapts to how many are accepted)", .def = "16",
      .min = 1, .max = 16 },
    { 0 },
};

bool cli_draft_attach(const char *cmd, const cli_draft_opts *o, const cli_context_opts *c, og_context *ctx,
                      cli_draft *out)
{
    *out = (cli_draft){ 0 };
    if (!o->model && o->max > 0) {
        fprintf(stderr, "offgrid %s: --draft-max needs --draft MODEL\n", cmd);
        return false;
    }
    if (!o->model)
        return true;
    char path[4096];
    const char *ref = o->model;
    if (!cli_find_model(cmd, &ref, path, sizeof path))
        return false;
    og_model *m = cli_load_model(ref, false);
    if (!m)
        return false;
    /* As many tokens as the target's: the draft follows its sequence. */
    cli_context_opts dc = *c;
    dc.n_ctx = og_context_n_ctx(ctx);
    og_context *d = cli_new_context(m, &dc);
    if (!d) {
        og_model_free(m);
        return false;
    }
    og_error err = { 0 };
    if (og_context_set_draft(ctx, d, o->max, &err) != OG_OK) {
        fprintf(stderr, "offgrid %s: --draft %s: %s\n", cmd, o->model, err.message);
        og_context_free(d);
        og_model_free(m);
        return false;
    }
    *out = (cli_draft){ m, d };
    return true;
}

void cli_draft_free(cli_draft *d)
{
    og_context_free(d->ctx);
    og_model_free(d->model);
    *d = (cli_draft){ 0 };
}

void cli_print_draft_stats(const og_gen_result *r)
{
    if (r->n_drafted > 0)
        fprintf(stderr, "draft: %d proposed, %d accepted (%.1f%%)\n", r->n_drafted, r->n_accepted,
                100.0 * r->acceptance);
}
